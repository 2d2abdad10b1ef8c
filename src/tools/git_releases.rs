//! `git_releases`: which tags contain a commit, and the first release that shipped it.

use std::collections::{HashMap, HashSet};

use gix::ObjectId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::git_log::format_date;
use super::{Ctx, RepoTool, ToolError, ToolOutput, resolve_commit};

pub struct GitReleases;

/// Arguments of `git_releases`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The commit (sha, short sha, tag or branch).
    pub commit: String,
}

/// A tag peeled to its commit, dated.
struct TagInfo {
    name: String,
    commit: ObjectId,
    /// Tagger date of an annotated tag, else the tagged commit's committer date.
    date: i64,
}

fn commit_time(repo: &gix::Repository, id: ObjectId) -> Result<i64, ToolError> {
    let c = repo
        .find_commit(id)
        .map_err(|e| ToolError::git("reading a commit", e))?;
    c.time()
        .map(|t| t.seconds)
        .map_err(|e| ToolError::git("reading a commit's date", e))
}

/// Every tag that peels to a commit. Tags of trees or blobs are skipped.
fn tags(ctx: &Ctx<'_>, repo: &gix::Repository) -> Result<Vec<TagInfo>, ToolError> {
    let platform = repo
        .references()
        .map_err(|e| ToolError::git("listing tags", e))?;
    let iter = platform
        .tags()
        .map_err(|e| ToolError::git("listing tags", e))?;
    let mut out = Vec::new();
    for r in iter {
        ctx.check_deadline()?;
        let Ok(mut r) = r else { continue };
        let name = r.name().shorten().to_string();
        let id = match r.try_id() {
            Some(id) => id.detach(),
            None => match r.peel_to_id() {
                Ok(id) => id.detach(),
                Err(_) => continue,
            },
        };
        let Ok(obj) = repo.find_object(id) else {
            continue;
        };
        let tagger_time = if obj.kind == gix::object::Kind::Tag {
            let tag = obj.clone().into_tag();
            tag.tagger()
                .ok()
                .flatten()
                .and_then(|s| s.time().ok())
                .map(|t| t.seconds)
        } else {
            None
        };
        let Ok(commit) = obj.peel_to_commit() else {
            continue;
        };
        let date = match tagger_time {
            Some(t) => t,
            None => commit.time().map(|t| t.seconds).unwrap_or(0),
        };
        out.push(TagInfo {
            name,
            commit: commit.id,
            date,
        });
    }
    Ok(out)
}

/// The tag commits that have `target` as an ancestor-or-self. One walk over the history of
/// all tags (each commit once), then the descendants of `target` along the recorded edges.
fn containing(
    ctx: &Ctx<'_>,
    repo: &gix::Repository,
    target: ObjectId,
    tips: &HashSet<ObjectId>,
) -> Result<HashSet<ObjectId>, ToolError> {
    if tips.is_empty() {
        return Ok(HashSet::new());
    }
    let walk = repo
        .rev_walk(tips.iter().copied())
        .all()
        .map_err(|e| ToolError::git("walking history", e))?;
    let mut children: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
    let mut seen_target = false;
    for (n, info) in walk.enumerate() {
        if n % 256 == 0 {
            ctx.check_deadline()?;
        }
        let info = info.map_err(|e| ToolError::git("walking history", e))?;
        if info.id == target {
            seen_target = true;
            // The target's own ancestors cannot contain it.
            continue;
        }
        for p in info.parent_ids.iter() {
            children.entry(*p).or_default().push(info.id);
        }
    }
    let mut found = HashSet::new();
    if !seen_target {
        return Ok(found);
    }
    let mut stack = vec![target];
    let mut visited: HashSet<ObjectId> = HashSet::from([target]);
    while let Some(id) = stack.pop() {
        if tips.contains(&id) {
            found.insert(id);
        }
        if let Some(kids) = children.get(&id) {
            for k in kids {
                if visited.insert(*k) {
                    stack.push(*k);
                }
            }
        }
    }
    Ok(found)
}

impl RepoTool for GitReleases {
    type Params = Params;
    const NAME: &'static str = "git_releases";
    const DESCRIPTION: &'static str = "The tags that contain a commit, the first release (earliest tag) that shipped it, and that tag's date.";

    fn run(&self, ctx: &Ctx<'_>, p: Params) -> Result<ToolOutput, ToolError> {
        if p.commit.trim().is_empty() {
            return Err(ToolError::InvalidArguments {
                tool: Self::NAME.into(),
                message: "field `commit`: empty; give a sha, tag or branch".into(),
            });
        }
        let repo = ctx.sandbox.repo()?;
        let target = resolve_commit(&repo, Some(p.commit.trim()))?.id;
        let target_date = commit_time(&repo, target)?;
        let all = tags(ctx, &repo)?;
        let tips: HashSet<ObjectId> = all.iter().map(|t| t.commit).collect();
        let hits = containing(ctx, &repo, target, &tips)?;
        let mut inside: Vec<&TagInfo> = all.iter().filter(|t| hits.contains(&t.commit)).collect();
        inside.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.name.cmp(&b.name)));

        let sha = target.to_hex().to_string();
        let short = target.to_hex_with_len(7).to_string();
        let mut text = format!("commit {short} ({})", format_date(target_date));
        let first = inside.first();
        match first {
            None => text.push_str(" is in no tag: not released\n"),
            Some(f) => {
                let list: Vec<String> = inside
                    .iter()
                    .map(|t| format!("{} ({})", t.name, format_date(t.date)))
                    .collect();
                text.push_str(&format!(
                    " is in {} tag{}: {}; first release: {} on {}\n",
                    inside.len(),
                    if inside.len() == 1 { "" } else { "s" },
                    list.join(", "),
                    f.name,
                    format_date(f.date)
                ));
            }
        }
        let data = json!({
            "commit": sha,
            "date": format_date(target_date),
            "tags": inside
                .iter()
                .map(|t| json!({
                    "name": t.name,
                    "date": format_date(t.date),
                    "commit": t.commit.to_hex().to_string(),
                }))
                .collect::<Vec<_>>(),
            "first_release": first.map(|f| json!({"name": f.name, "date": format_date(f.date)})),
        });
        Ok(ToolOutput::new(text, data).at(sha))
    }
}
