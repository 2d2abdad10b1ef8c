//! `git_releases`: which tags contain a commit, and the first release that shipped it.

use std::collections::{HashMap, HashSet};

use gix::ObjectId;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

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

/// A newest tag this much older than a commit no tag holds (a year) says the project may
/// have stopped tagging its releases.
const STALE_TAG_SECONDS: i64 = 365 * 24 * 3600;

/// A tag peeled to its commit, dated.
struct TagInfo {
    name: String,
    commit: ObjectId,
    /// Tagger date of an annotated tag, else the tagged commit's committer date.
    date: i64,
    /// The UTC offset (seconds east) that date was written in.
    offset: i32,
    /// The name reads as a pre-release ([`is_prerelease`]).
    prerelease: bool,
}

/// Words that mark a pre-release when they follow a version number in a tag's name:
/// `v20.11-rc2`, `1.0.0-beta.2`, `1.43.0-dev`, `v2.13-pre3`, `E2FSPROGS-1_33-WIP-0325`.
/// `start` marks where a version's development began (util-linux tags `v2.42-start` on the
/// main line a month before `v2.41` is released from it): no user runs it as a release.
const PRERELEASE_WORDS: &[&str] = &[
    "rc", "alpha", "beta", "pre", "preview", "dev", "devel", "wip", "snapshot", "nightly", "start",
];

/// Whether a tag's name reads as a pre-release: a word such as `rc`, `beta`, `dev` or
/// `snapshot` (the list above) after a number of its version, or a lone `a`/`b` between two numbers (`1.0a1`, `v3.0-a.2`). Words
/// before any number are the project's name (`dev-tools-1.0` is a release), and a letter
/// ending a version is one (`v2.12b`).
pub fn is_prerelease(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    let mut tokens: Vec<&str> = Vec::new();
    let mut start = None;
    let mut digit = false;
    for (i, c) in lower.char_indices() {
        let kind = if c.is_ascii_digit() {
            Some(true)
        } else if c.is_ascii_alphabetic() {
            Some(false)
        } else {
            None
        };
        match (start, kind) {
            (Some(s), Some(k)) if k != digit => {
                tokens.push(&lower[s..i]);
                start = Some(i);
                digit = k;
            }
            (Some(s), None) => {
                tokens.push(&lower[s..i]);
                start = None;
            }
            (None, Some(k)) => {
                start = Some(i);
                digit = k;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        tokens.push(&lower[s..]);
    }
    let is_number = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    // A tag that is nothing but such a word (`start`, `nightly`) marks a point of
    // development, not a release.
    if let [only] = tokens[..]
        && PRERELEASE_WORDS.contains(&only)
    {
        return true;
    }
    let mut after_number = false;
    for (i, t) in tokens.iter().enumerate() {
        if is_number(t) {
            after_number = true;
            continue;
        }
        if !after_number {
            continue;
        }
        if PRERELEASE_WORDS.contains(t) {
            return true;
        }
        let between_numbers =
            is_number(tokens[i - 1]) && tokens.get(i + 1).is_some_and(|n| is_number(n));
        if (*t == "a" || *t == "b") && between_numbers {
            return true;
        }
    }
    false
}

fn commit_time(repo: &gix::Repository, id: ObjectId) -> Result<(i64, i32), ToolError> {
    let c = repo
        .find_commit(id)
        .map_err(|e| ToolError::git("reading a commit", e))?;
    c.time()
        .map(|t| (t.seconds, t.offset))
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
                .map(|t| (t.seconds, t.offset))
        } else {
            None
        };
        let Ok(commit) = obj.peel_to_commit() else {
            continue;
        };
        let (date, offset) = match tagger_time {
            Some(t) => t,
            None => commit
                .time()
                .map(|t| (t.seconds, t.offset))
                .unwrap_or((0, 0)),
        };
        out.push(TagInfo {
            prerelease: is_prerelease(&name),
            name,
            commit: commit.id,
            date,
            offset,
        });
    }
    Ok(out)
}

/// Tags the text lists at most, earliest first (besides the first release and pre-release);
/// the data lists every one.
const MAX_LISTED_TAGS: usize = 20;

/// How much older than a commit one of its descendants may claim to be (a committer's clock
/// set wrong): the walk for the tags containing a commit stops this far before its date.
const CLOCK_SKEW_SECS: i64 = 365 * 86_400;

/// Who wrote a commit, when, and its subject: a cherry-pick or a rebase keeps all three.
#[derive(PartialEq, Eq)]
struct Authorship {
    email: Vec<u8>,
    time: i64,
    subject: Vec<u8>,
}

fn authorship(commit: &gix::Commit<'_>) -> Option<Authorship> {
    let author = commit.author().ok()?;
    let message = commit.message_raw().ok()?;
    let subject = message.split(|&b| b == b'\n').next().unwrap_or_default();
    Some(Authorship {
        email: author.email.to_vec(),
        time: author.time().ok()?.seconds,
        subject: subject.trim_ascii().to_vec(),
    })
}

/// Commits of the target's author and subject, dated otherwise, whose change is compared
/// with the target's in one search.
const MAX_PRINTS: usize = 16;

/// Largest file a [`change_print`] reads; a change to a bigger one has no print.
const MAX_PRINT_BLOB_BYTES: u64 = 1024 * 1024;

/// What a commit changes, whatever it was applied on, as `git patch-id` reads a patch: for
/// each changed file, by path, the lines it removed and added (line numbers, context and
/// whitespace left out), hashed. A cherry-pick has the commit's print, and so has the same
/// revert made again on a release branch, which git dates anew. `None` for a merge, a root
/// commit, or a change too large to read.
fn change_print(repo: &gix::Repository, commit: &gix::Commit<'_>) -> Option<u64> {
    use std::hash::{Hash as _, Hasher as _};
    let mut parents = commit.parent_ids();
    let parent = parents.next()?;
    if parents.next().is_some() {
        return None;
    }
    let old = parent.object().ok()?.peel_to_tree().ok()?;
    let new = commit.tree().ok()?;
    let list = repo
        .diff_tree_to_tree(Some(&old), Some(&new), Some(gix::diff::Options::default()))
        .ok()?;
    let mut changes = crate::diff::changes_of(list);
    changes.sort_by(|a, b| a.new_path.cmp(&b.new_path));
    let read = |id: Option<ObjectId>| -> Option<Vec<u8>> {
        let Some(id) = id else {
            return Some(Vec::new());
        };
        (repo.find_header(id).ok()?.size() <= MAX_PRINT_BLOB_BYTES)
            .then(|| repo.find_blob(id).ok().map(|b| b.data.clone()))?
    };
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for c in &changes {
        c.new_path.hash(&mut h);
        let (before, after) = (read(c.old_id())?, read(c.new_id())?);
        let input = gix::diff::blob::InternedInput::new(before.as_slice(), after.as_slice());
        let mut diff =
            gix::diff::blob::Diff::compute(gix::diff::blob::Algorithm::Histogram, &input);
        diff.postprocess_lines(&input);
        let line = |token: &gix::diff::blob::Token| -> Vec<u8> {
            input.interner[*token]
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect()
        };
        for hunk in diff.hunks() {
            for t in &input.before[hunk.before.start as usize..hunk.before.end as usize] {
                (b'-', line(t)).hash(&mut h);
            }
            for t in &input.after[hunk.after.start as usize..hunk.after.end as usize] {
                (b'+', line(t)).hash(&mut h);
            }
        }
    }
    Some(h.finish())
}

/// The tag commits that contain `target`, each with `None` when `target` is its ancestor
/// (or itself) and `Some(copy)` when only a copy of it is: a commit with the same author,
/// author date and subject, as a cherry-pick to a release branch or a rebase makes, or with
/// the same author, subject and change ([`change_print`]) dated otherwise, as the same
/// revert made on a release branch.
///
/// One walk down from all tags, newest first, to [`CLOCK_SKEW_SECS`] before the target's
/// dates (so the cost grows with the history since the target, not with all of it; only a
/// descendant whose clock was a year wrong is missed), then the descendants of `target` and
/// of its copies along the recorded edges.
fn containing(
    ctx: &Ctx<'_>,
    repo: &gix::Repository,
    target: &gix::Commit<'_>,
    tips: &HashSet<ObjectId>,
) -> Result<HashMap<ObjectId, Option<ObjectId>>, ToolError> {
    let mut found = HashMap::new();
    if tips.is_empty() {
        return Ok(found);
    }
    let own = authorship(target);
    let since = own
        .as_ref()
        .map_or(i64::MAX, |a| a.time)
        .min(target.time().map_or(i64::MAX, |t| t.seconds))
        .saturating_sub(CLOCK_SKEW_SECS);
    let walk = repo
        .rev_walk(tips.iter().copied())
        .sorting(gix::revision::walk::Sorting::ByCommitTimeCutoff {
            order: gix::traverse::commit::simple::CommitTimeOrder::NewestFirst,
            seconds: since,
        })
        .all()
        .map_err(|e| ToolError::git("walking history", e))?;
    let mut children: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
    let mut seen_target = false;
    let mut copies = Vec::new();
    let mut own_print: Option<Option<u64>> = None;
    let mut prints_left = MAX_PRINTS + 1;
    for (n, info) in walk.enumerate() {
        if n % 256 == 0 {
            ctx.check_deadline()?;
        }
        let info = info.map_err(|e| ToolError::git("walking history", e))?;
        if info.id == target.id {
            seen_target = true;
            // The target's own ancestors cannot contain it.
            continue;
        }
        if let Some(own) = &own
            && let Ok(commit) = info.object()
            && let Some(theirs) = authorship(&commit)
            && theirs.email == own.email
            && theirs.subject == own.subject
            && (theirs.time == own.time || {
                // Dated otherwise: the same change made again. Read only for a commit of
                // the same author and subject, and for a few: a routine subject ("update
                // translations") could come back hundreds of times.
                prints_left = prints_left.saturating_sub(1);
                let mine = *own_print.get_or_insert_with(|| change_print(repo, target));
                prints_left > 0 && mine.is_some() && change_print(repo, &commit) == mine
            })
        {
            copies.push(info.id);
        }
        for p in info.parent_ids.iter() {
            children.entry(*p).or_default().push(info.id);
        }
    }
    let starts = seen_target
        .then_some((target.id, None))
        .into_iter()
        .chain(copies.into_iter().map(|c| (c, Some(c))));
    let mut visited: HashSet<ObjectId> = HashSet::new();
    for (start, via) in starts {
        let mut stack = vec![start];
        visited.insert(start);
        while let Some(id) = stack.pop() {
            if tips.contains(&id) {
                found.entry(id).or_insert(via);
            }
            if let Some(kids) = children.get(&id) {
                for k in kids {
                    if visited.insert(*k) {
                        stack.push(*k);
                    }
                }
            }
        }
    }
    Ok(found)
}

impl RepoTool for GitReleases {
    type Params = Params;
    const NAME: &'static str = "git_releases";
    const DESCRIPTION: &'static str = "The tags that contain a commit or a copy of it (a cherry-pick to a release branch: same author, author date and subject; or the same author, subject and change made again, as a revert on a release branch), and the first release (earliest release tag) that shipped it, with its date. Release candidates, betas and dev tags are marked as pre-releases and are not releases, unless the repository tags nothing else.";

    fn run(&self, ctx: &Ctx<'_>, p: Params) -> Result<ToolOutput, ToolError> {
        if p.commit.trim().is_empty() {
            return Err(ToolError::InvalidArguments {
                tool: Self::NAME.into(),
                message: "field `commit`: empty; give a sha, tag or branch".into(),
            });
        }
        let repo = ctx.sandbox.repo()?;
        let target_commit = resolve_commit(&repo, Some(p.commit.trim()))?;
        let target = target_commit.id;
        let target_date = commit_time(&repo, target)?;
        let all = tags(ctx, &repo)?;
        let tips: HashSet<ObjectId> = all.iter().map(|t| t.commit).collect();
        let hits = containing(ctx, &repo, &target_commit, &tips)?;
        let via = |t: &TagInfo| hits.get(&t.commit).copied().flatten();
        let mut inside: Vec<&TagInfo> = all
            .iter()
            .filter(|t| hits.contains_key(&t.commit))
            .collect();
        inside.sort_by(|a, b| a.date.cmp(&b.date).then_with(|| a.name.cmp(&b.name)));
        // A project that tags nothing but pre-releases ships them: they are its releases.
        let prereleases_are_releases = !all.is_empty() && all.iter().all(|t| t.prerelease);
        let first = inside
            .iter()
            .find(|t| prereleases_are_releases || !t.prerelease);
        let first_pre = inside.iter().find(|t| t.prerelease);

        // The newest release, when it is more than a year older than the commit: tags
        // then say little of whether the commit shipped.
        let newest = all
            .iter()
            .filter(|t| prereleases_are_releases || !t.prerelease)
            .max_by(|a, b| a.date.cmp(&b.date).then_with(|| a.name.cmp(&b.name)));
        let stale = newest.filter(|t| target_date.0 - t.date > STALE_TAG_SECONDS);
        let sha = target.to_hex().to_string();
        let short = target.to_hex_with_len(7).to_string();
        let mut text = format!(
            "commit {short} ({})",
            format_date(target_date.0, target_date.1)
        );
        if all.is_empty() {
            text.push_str(
                " is in no tag, and this repository has no tags at all: a clone made without \
                 them (`git fetch --tags` brings them), or a project that tags no releases\n",
            );
        } else if inside.is_empty() {
            match stale {
                Some(t) => text.push_str(&format!(
                    " is in no tag, and the newest tag, {} ({}), is more than a year older: \
                     a project that no longer tags its releases, or not released\n",
                    t.name,
                    format_date(t.date, t.offset)
                )),
                None => text.push_str(" is in no tag: not released\n"),
            }
        } else {
            // The earliest tags, and the first release and pre-release wherever they fall;
            // the data has them all.
            let shown: Vec<&&TagInfo> = inside
                .iter()
                .enumerate()
                .filter(|(i, t)| {
                    *i < MAX_LISTED_TAGS
                        || first.is_some_and(|f| std::ptr::eq(*f, **t))
                        || first_pre.is_some_and(|p| std::ptr::eq(*p, **t))
                })
                .map(|(_, t)| t)
                .collect();
            let mut list: Vec<String> = shown
                .iter()
                .map(|t| {
                    let pre = if t.prerelease { ", pre-release" } else { "" };
                    let copy = via(t).map_or(String::new(), |c| {
                        format!(", through its copy {}", c.to_hex_with_len(7))
                    });
                    format!("{} ({}{pre}{copy})", t.name, format_date(t.date, t.offset))
                })
                .collect();
            if inside.len() > shown.len() {
                list.push(format!("and {} more", inside.len() - shown.len()));
            }
            text.push_str(&format!(
                " is in {} tag{}: {}; ",
                inside.len(),
                if inside.len() == 1 { "" } else { "s" },
                list.join(", "),
            ));
            match (first, first_pre) {
                (Some(f), Some(p)) if p.date < f.date && !prereleases_are_releases => {
                    text.push_str(&format!(
                        "first release: {} on {} (after the pre-release {} on {})\n",
                        f.name,
                        format_date(f.date, f.offset),
                        p.name,
                        format_date(p.date, p.offset)
                    ));
                }
                (Some(f), _) if prereleases_are_releases => text.push_str(&format!(
                    "first release: {} on {} (this repository tags only pre-releases, so they count as releases)\n",
                    f.name,
                    format_date(f.date, f.offset)
                )),
                (Some(f), _) => text.push_str(&format!(
                    "first release: {} on {}\n",
                    f.name,
                    format_date(f.date, f.offset)
                )),
                (None, Some(p)) => text.push_str(&format!(
                    "in no release yet, only in pre-releases; first pre-release: {} on {}\n",
                    p.name,
                    format_date(p.date, p.offset)
                )),
                (None, None) => text.push_str("not released\n"),
            }
        }
        let named = |t: Option<&&TagInfo>| {
            t.map_or(
                Value::Null,
                |t| json!({"name": t.name, "date": format_date(t.date, t.offset)}),
            )
        };
        let data = json!({
            "commit": sha,
            "date": format_date(target_date.0, target_date.1),
            "tags": inside
                .iter()
                .map(|t| {
                    let mut tag = json!({
                        "name": t.name,
                        "date": format_date(t.date, t.offset),
                        "commit": t.commit.to_hex().to_string(),
                        "prerelease": t.prerelease,
                    });
                    if let Some(c) = via(t) {
                        tag["through_copy"] = json!(c.to_hex().to_string());
                    }
                    tag
                })
                .collect::<Vec<_>>(),
            "first_release": named(first),
            "first_prerelease": named(first_pre),
            "prereleases_are_releases": prereleases_are_releases,
            "tags_in_repository": all.len(),
            "newest_release": named(newest.as_ref()),
            "tags_stale": inside.is_empty() && stale.is_some(),
        });
        Ok(ToolOutput::new(text, data).at(sha))
    }
}

#[cfg(test)]
mod tests {
    use super::is_prerelease;

    #[test]
    fn pre_release_names_of_real_projects() {
        for name in [
            "v20.11-rc2",
            "v6.1-rc3",
            "0.8-rc1",
            "NETWORKMANAGER_0_7_0_RC2",
            "libnl3_2_27rc1",
            "v2.0.0rc1",
            "1.43.0-dev",
            "v1.16.0-dev",
            "v2026.05-devel",
            "v2.13-pre3",
            "v2.12pre",
            "E2FSPROGS-1_33-WIP-0325",
            "v1.0.0-beta2",
            "1.0.0-beta.2",
            "1.0.0-alpha",
            "v3.0-a.2",
            "2.0a1",
            "2.0b3",
            "archive/debian/1.47.3_rc2-1",
            "v5.0-preview.1",
            "v0.9-snapshot",
            "v2.42-start",
            "7.0-start",
            // A tag of the word alone: iputils marks its initial import `start`.
            "start",
            "nightly",
        ] {
            assert!(is_prerelease(name), "{name} is a pre-release");
        }
        for name in [
            "v20.11",
            "v1.4.1r0",
            "1.30.4",
            "0.9.8.8",
            "android-10.0.0_r1",
            "android-cts-9.0_r17",
            "aml_tz3_313110000",
            "5.22",
            "utils-3.25",
            "s20140519",
            "20240905",
            "v2.12b",
            "v2.9i",
            "v2.11r",
            "debian/56.0-1",
            "libnl3_4_0",
            "E2FSPROGS-1_26",
            "dev-tools-1.0",
            "beta-channel",
            "start-1.0",
            "latest",
            "",
        ] {
            assert!(!is_prerelease(name), "{name} is not a pre-release");
        }
    }
}
