//! `git_log`: commits, newest first, filtered and paginated.

use std::collections::HashMap;

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::prelude::FindExt;
use gix::revision::walk::Sorting;
use gix::traverse::commit::simple::CommitTimeOrder;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, MAX_LOG_LIMIT, RepoPath, RepoTool, ToolError, ToolOutput, resolve_commit};

pub struct GitLog;

/// Arguments of `git_log`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// Revision to start from (branch, tag or sha). Default: HEAD.
    pub rev: Option<String>,
    /// Only commits that changed this path (a file or folder, relative to the repository root).
    pub path: Option<String>,
    /// Only commits whose message matches this regular expression (case-insensitive).
    pub grep: Option<String>,
    /// Only commits at or after this date (YYYY-MM-DD).
    pub since: Option<String>,
    /// Only commits at or before this date (YYYY-MM-DD).
    pub until: Option<String>,
    /// Only commits whose author name or e-mail contains this text (case-insensitive).
    pub author: Option<String>,
    /// Commits per page (default 50, at most 200).
    pub limit: Option<usize>,
    /// Continue from a previous page: the `next_cursor` it returned.
    pub cursor: Option<String>,
}

/// Default page size.
const DEFAULT_LIMIT: usize = 50;
/// Delta-base cache of a path-filtered walk.
const PACK_CACHE_BYTES: usize = 64 * 1024 * 1024;
/// Longest regular expression accepted, in bytes.
const MAX_REGEX_BYTES: usize = 1024;

fn invalid(message: impl Into<String>) -> ToolError {
    ToolError::InvalidArguments {
        tool: GitLog::NAME.to_string(),
        message: message.into(),
    }
}

/// `YYYY-MM-DD` (UTC) of a unix time.
pub(super) fn format_date(seconds: i64) -> String {
    match jiff::Timestamp::from_second(seconds) {
        Ok(t) => t.strftime("%Y-%m-%d").to_string(),
        Err(_) => "unknown-date".to_string(),
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (UTC) of a unix time.
pub(super) fn format_datetime(seconds: i64) -> String {
    match jiff::Timestamp::from_second(seconds) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => "unknown-date".to_string(),
    }
}

/// The first line of a message, trimmed.
pub(super) fn subject_of(message: &str) -> String {
    message
        .trim_start()
        .lines()
        .next()
        .unwrap_or("")
        .trim_end()
        .to_string()
}

/// Unix time of the start of `date` (UTC), for `field` (`since`/`until`).
fn parse_day(field: &str, date: &str) -> Result<i64, ToolError> {
    let bad = |why: String| {
        invalid(format!(
            "field `{field}`: `{}` is not a date ({why}); use YYYY-MM-DD, for example 2024-12-03",
            date.chars().take(40).collect::<String>()
        ))
    };
    let trimmed = date.trim();
    if trimmed.len() != 10 {
        return Err(bad("expected 10 characters".into()));
    }
    let d: jiff::civil::Date = trimmed
        .parse()
        .map_err(|e: jiff::Error| bad(e.to_string()))?;
    let ts = d
        .to_zoned(jiff::tz::TimeZone::UTC)
        .map_err(|e| bad(e.to_string()))?
        .timestamp();
    Ok(ts.as_second())
}

/// Where a page starts: the walk's first commit and how many matches earlier pages returned.
fn parse_cursor(cursor: &str) -> Result<(ObjectId, usize), ToolError> {
    let bad = || {
        invalid(format!(
            "field `cursor`: `{}` is not a cursor from git_log; pass the `next_cursor` of the previous page unchanged, or omit it to start over",
            cursor.chars().take(100).collect::<String>()
        ))
    };
    let (sha, skip) = cursor.split_once(':').ok_or_else(bad)?;
    if sha.len() != 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let id = ObjectId::from_hex(sha.as_bytes()).map_err(|_| bad())?;
    let skip: usize = skip.parse().map_err(|_| bad())?;
    Ok((id, skip))
}

struct Filters {
    path: Option<RepoPath>,
    grep: Option<regex::Regex>,
    since: Option<i64>,
    /// Exclusive: the start of the day after `until`.
    until: Option<i64>,
    author: Option<String>,
}

/// The ids along one path (root tree, then each component's entry) across commits, computed
/// lazily and cached, so deciding whether a commit changed the path usually stops at the
/// first level where the commit and its parent agree.
struct PathIndex<'r> {
    repo: &'r gix::Repository,
    components: Vec<Vec<u8>>,
    /// Commit -> ids known so far: `[root tree, entry of component 1, ...]` (`None`: absent).
    chains: HashMap<ObjectId, Vec<Option<ObjectId>>>,
    /// The commit-graph, when there is one: root tree ids without reading commits.
    graph: Option<gix::commitgraph::Graph>,
    buf: Vec<u8>,
}

impl<'r> PathIndex<'r> {
    fn new(repo: &'r gix::Repository, path: &RepoPath) -> Self {
        PathIndex {
            repo,
            components: path
                .as_str()
                .split('/')
                .map(|c| c.as_bytes().to_vec())
                .collect(),
            chains: HashMap::new(),
            graph: repo.commit_graph_if_enabled().ok().flatten(),
            buf: Vec::new(),
        }
    }

    /// The id at `level` of `commit`'s chain (0: its root tree).
    fn level(&mut self, commit: ObjectId, level: usize) -> Result<Option<ObjectId>, ToolError> {
        if !self.chains.contains_key(&commit) {
            let from_graph = self
                .graph
                .as_ref()
                .and_then(|g| g.commit_by_id(commit))
                .map(|c| c.root_tree_id().to_owned());
            let tree = if let Some(tree) = from_graph {
                tree
            } else {
                let mut iter = self
                    .repo
                    .objects
                    .find_commit_iter(&commit, &mut self.buf)
                    .map_err(|e| ToolError::git("reading a commit", e))?;
                iter.tree_id()
                    .map_err(|e| ToolError::git("decoding a commit", e))?
            };
            self.chains.insert(commit, vec![Some(tree)]);
        }
        loop {
            let known = self.chains.get(&commit).map_or(0, Vec::len);
            if known > level {
                return Ok(self.chains.get(&commit).and_then(|c| c[level]));
            }
            let parent = self.chains.get(&commit).and_then(|c| c[known - 1]);
            let next = match parent {
                None => None,
                Some(tree) => self.entry(tree, known - 1)?,
            };
            if let Some(chain) = self.chains.get_mut(&commit) {
                chain.push(next);
            }
        }
    }

    /// The id of component `index` inside `tree`, if present (and `tree` is a tree).
    fn entry(&mut self, tree: ObjectId, index: usize) -> Result<Option<ObjectId>, ToolError> {
        let name = self.components[index].as_slice();
        let iter = match self.repo.objects.find_tree_iter(&tree, &mut self.buf) {
            Ok(iter) => iter,
            // Not a tree: the path goes through a file, so the component is absent.
            Err(_) => return Ok(None),
        };
        for e in iter {
            let e = e.map_err(|e| ToolError::git("decoding a tree", e))?;
            if e.filename.as_bytes() == name {
                return Ok(Some(e.oid.to_owned()));
            }
        }
        Ok(None)
    }

    /// Whether `commit` changed the path relative to its first parent (or, for a root commit,
    /// whether the path exists).
    fn changed(
        &mut self,
        commit: ObjectId,
        first_parent: Option<ObjectId>,
    ) -> Result<bool, ToolError> {
        let depth = self.components.len();
        // A parent missing from a shallow clone counts as absent.
        let parent = first_parent.filter(|p| self.repo.has_object(p));
        let result = match parent {
            None => self.level(commit, depth)?.is_some(),
            Some(parent) => {
                let mut changed = false;
                for level in 0..=depth {
                    let (a, b) = (self.level(commit, level)?, self.level(parent, level)?);
                    if a == b {
                        break;
                    }
                    if level == depth {
                        changed = true;
                        break;
                    }
                    if a.is_none() || b.is_none() {
                        // One side lacks a folder on the way: compare the full paths.
                        changed = self.level(commit, depth)? != self.level(parent, depth)?;
                        break;
                    }
                }
                changed
            }
        };
        // The walk goes backwards: a commit already decided is not needed again.
        self.chains.remove(&commit);
        Ok(result)
    }
}

impl RepoTool for GitLog {
    type Params = Params;
    const NAME: &'static str = "git_log";
    const DESCRIPTION: &'static str = "List commits, newest first: sha, author, date, subject. Filter by path, message regex, dates and author; paginate with cursor.";

    fn run(&self, ctx: &Ctx<'_>, p: Params) -> Result<ToolOutput, ToolError> {
        let limit = match p.limit {
            None => DEFAULT_LIMIT,
            Some(0) => return Err(invalid("field `limit`: must be at least 1")),
            Some(n) if n > MAX_LOG_LIMIT => {
                return Err(invalid(format!(
                    "field `limit`: {n} is over the maximum of {MAX_LOG_LIMIT}; ask for at most {MAX_LOG_LIMIT} and page with `cursor`"
                )));
            }
            Some(n) => n,
        };
        let grep = match p.grep.as_deref() {
            None | Some("") => None,
            Some(g) => {
                if g.len() > MAX_REGEX_BYTES {
                    return Err(ToolError::Regex {
                        message: format!(
                            "the pattern is {} bytes, over the {MAX_REGEX_BYTES}-byte limit",
                            g.len()
                        ),
                    });
                }
                Some(
                    regex::RegexBuilder::new(g)
                        .case_insensitive(true)
                        .multi_line(true)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| ToolError::Regex {
                            message: format!("`grep`: {e}"),
                        })?,
                )
            }
        };
        let since = p
            .since
            .as_deref()
            .map(|d| parse_day("since", d))
            .transpose()?;
        let until = p
            .until
            .as_deref()
            .map(|d| parse_day("until", d).map(|t| t + 86_400))
            .transpose()?;
        if let (Some(s), Some(u)) = (since, until)
            && s >= u
        {
            return Err(invalid("`since` is after `until`; no commit can match"));
        }
        let path = match p.path.as_deref() {
            None => None,
            Some(raw) => {
                let rp = ctx.sandbox.resolve(raw)?;
                if rp.as_str().is_empty() {
                    None
                } else {
                    Some(rp)
                }
            }
        };
        let filters = Filters {
            path,
            grep,
            since,
            until,
            author: p.author.filter(|a| !a.is_empty()).map(|a| a.to_lowercase()),
        };
        let cursor = p.cursor.as_deref().map(parse_cursor).transpose()?;

        let mut repo = ctx.sandbox.repo()?;
        if filters.path.is_some() {
            // Path filters read every commit's trees: a hash-map delta-base cache makes that
            // several times faster than the default small list.
            repo.objects.set_pack_cache(|| {
                Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(
                    PACK_CACHE_BYTES,
                ))
            });
        }
        let (start, skip) = match cursor {
            Some((id, skip)) => {
                let c = repo.find_commit(id).map_err(|_| {
                    invalid("field `cursor`: its commit is not in this repository; omit `cursor` to start over")
                })?;
                (c.id, skip)
            }
            None => (resolve_commit(&repo, p.rev.as_deref())?.id, 0),
        };
        walk(ctx, &repo, start, skip, limit, &filters)
    }
}

fn walk(
    ctx: &Ctx<'_>,
    repo: &gix::Repository,
    start: ObjectId,
    skip: usize,
    limit: usize,
    f: &Filters,
) -> Result<ToolOutput, ToolError> {
    let walk = repo
        .rev_walk([start])
        .sorting(Sorting::ByCommitTime(CommitTimeOrder::NewestFirst))
        .all()
        .map_err(|e| ToolError::git("walking history", e))?;
    let mut index = f.path.as_ref().map(|p| PathIndex::new(repo, p));
    let mut matched = 0usize;
    let mut commits: Vec<Value> = Vec::new();
    let mut text = String::new();
    let mut more = false;
    for (n, info) in walk.enumerate() {
        if n % 256 == 0 {
            ctx.check_deadline()?;
        }
        let info = info.map_err(|e| ToolError::git("walking history", e))?;
        if let Some(index) = index.as_mut() {
            let first_parent = info.parent_ids.first().copied();
            if !index.changed(info.id, first_parent)? {
                continue;
            }
        }
        let commit = repo
            .find_commit(info.id)
            .map_err(|e| ToolError::git("reading a commit", e))?;
        let decoded = commit
            .decode()
            .map_err(|e| ToolError::git("decoding a commit", e))?;
        let committer = decoded
            .committer()
            .map_err(|e| ToolError::git("decoding a commit", e))?;
        let ctime = committer.time().map(|t| t.seconds).unwrap_or(0);
        if f.since.is_some_and(|s| ctime < s) || f.until.is_some_and(|u| ctime >= u) {
            continue;
        }
        let author = decoded
            .author()
            .map_err(|e| ToolError::git("decoding a commit", e))?;
        if let Some(needle) = &f.author {
            let name = author.name.to_str_lossy().to_lowercase();
            let email = author.email.to_str_lossy().to_lowercase();
            if !name.contains(needle.as_str()) && !email.contains(needle.as_str()) {
                continue;
            }
        }
        let message = decoded.message.to_str_lossy();
        if let Some(re) = &f.grep
            && !re.is_match(&message)
        {
            continue;
        }
        matched += 1;
        if matched <= skip {
            continue;
        }
        if commits.len() == limit {
            more = true;
            break;
        }
        let sha = info.id.to_hex().to_string();
        let short = info.id.to_hex_with_len(7).to_string();
        let atime = author.time().map(|t| t.seconds).unwrap_or(ctime);
        let name = author.name.to_str_lossy().trim().to_string();
        let email = author.email.to_str_lossy().trim().to_string();
        let subject = subject_of(&message);
        text.push_str(&format!(
            "{short} {} {name} {subject}\n",
            format_date(atime)
        ));
        commits.push(json!({
            "sha": sha,
            "short": short,
            "author": name,
            "email": email,
            "date": format_datetime(atime),
            "subject": subject,
        }));
    }
    let next_cursor = more.then(|| format!("{}:{}", start.to_hex(), skip + commits.len()));
    if commits.is_empty() {
        text.push_str(if skip > 0 {
            "no more commits\n"
        } else {
            "no commits match\n"
        });
    }
    if let Some(c) = &next_cursor {
        text.push_str(&format!("[more commits: pass cursor \"{c}\"]\n"));
    }
    Ok(ToolOutput::new(
        text,
        json!({ "commits": commits, "next_cursor": next_cursor }),
    )
    .at(start.to_hex().to_string()))
}
