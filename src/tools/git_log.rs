//! `git_log`: commits, newest first, filtered and paginated.

use std::collections::{BinaryHeap, HashMap, HashSet};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::prelude::FindExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::commitgraph::{ChangedPaths, PathKeys};
use crate::odb::ObjectReader;
use crate::text::commit_text;

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
/// Longest regular expression accepted, in bytes.
const MAX_REGEX_BYTES: usize = 1024;

fn invalid(message: impl Into<String>) -> ToolError {
    ToolError::InvalidArguments {
        tool: GitLog::NAME.to_string(),
        message: message.into(),
    }
}

/// A git time as it was written: a unix time and the offset from UTC (seconds east) of
/// the zone its author or tagger was in. Dates are shown in that zone, as git shows them.
fn zoned(seconds: i64, offset: i32) -> Option<jiff::Zoned> {
    let t = jiff::Timestamp::from_second(seconds).ok()?;
    let zone = jiff::tz::Offset::from_seconds(offset).unwrap_or(jiff::tz::Offset::UTC);
    Some(t.to_zoned(jiff::tz::TimeZone::fixed(zone)))
}

/// `YYYY-MM-DD` of a git time, in its own zone (as `git log --date=short` shows it).
pub(crate) fn format_date(seconds: i64, offset: i32) -> String {
    zoned(seconds, offset).map_or_else(
        || "unknown-date".to_string(),
        |z| z.strftime("%Y-%m-%d").to_string(),
    )
}

/// RFC 3339 of a git time, in its own zone: `2024-05-24T01:30:00+02:00`, or with `Z` for
/// UTC.
pub(super) fn format_datetime(seconds: i64, offset: i32) -> String {
    zoned(seconds, offset).map_or_else(
        || "unknown-date".to_string(),
        |z| {
            if offset == 0 {
                z.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
            } else {
                z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
            }
        },
    )
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

/// Most pending commits a cursor carries; a larger frontier falls back to `<start>:<skip>`.
const MAX_CURSOR_TIPS: usize = 32;
/// Prefix of a cursor that carries the walk's frontier.
const FRONTIER_PREFIX: &str = "f.";
/// Bytes of a hex SHA-1.
const HEX_ID_BYTES: usize = 40;

/// Where a page starts.
#[derive(Debug, PartialEq)]
enum Cursor {
    /// Walk from `start` again and skip the first `skip` matches (`<sha>:<skip>`).
    Restart { start: ObjectId, skip: usize },
    /// Resume the walk from its pending commits, newest first (`f.<sha>.<sha>...`).
    Frontier(Vec<ObjectId>),
}

impl Cursor {
    fn encode(&self) -> String {
        match self {
            Cursor::Restart { start, skip } => format!("{}:{skip}", start.to_hex()),
            Cursor::Frontier(tips) => {
                let hex: Vec<String> = tips.iter().map(|t| t.to_hex().to_string()).collect();
                format!("{FRONTIER_PREFIX}{}", hex.join("."))
            }
        }
    }
}

fn parse_hex_id(hex: &str) -> Option<ObjectId> {
    if hex.len() != HEX_ID_BYTES || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    ObjectId::from_hex(hex.as_bytes()).ok()
}

fn parse_cursor(cursor: &str) -> Result<Cursor, ToolError> {
    let bad = || {
        invalid(format!(
            "field `cursor`: `{}` is not a cursor from git_log; pass the `next_cursor` of the previous page unchanged, or omit it to start over",
            cursor.chars().take(100).collect::<String>()
        ))
    };
    if let Some(list) = cursor.strip_prefix(FRONTIER_PREFIX) {
        let tips: Vec<ObjectId> = list
            .split('.')
            .map(parse_hex_id)
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        if tips.is_empty() || tips.len() > MAX_CURSOR_TIPS {
            return Err(bad());
        }
        return Ok(Cursor::Frontier(tips));
    }
    let (sha, skip) = cursor.split_once(':').ok_or_else(bad)?;
    let start = parse_hex_id(sha).ok_or_else(bad)?;
    let skip: usize = skip.parse().map_err(|_| bad())?;
    Ok(Cursor::Restart { start, skip })
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
pub(super) struct PathIndex<'r> {
    odb: &'r ObjectReader<'r>,
    components: Vec<Vec<u8>>,
    /// Commit -> ids known so far: `[root tree, entry of component 1, ...]` (`None`: absent).
    chains: HashMap<ObjectId, Vec<Option<ObjectId>>>,
    /// The changed-path Bloom filters of the commit-graph, when it has them.
    bloom: Option<(ChangedPaths, PathKeys)>,
}

impl<'r> PathIndex<'r> {
    pub(super) fn new(
        repo: &'r gix::Repository,
        odb: &'r ObjectReader<'r>,
        path: &RepoPath,
    ) -> Self {
        PathIndex {
            odb,
            components: path
                .as_str()
                .split('/')
                .map(|c| c.as_bytes().to_vec())
                .collect(),
            chains: HashMap::new(),
            bloom: ChangedPaths::open(repo.common_dir()).map(|c| (c, PathKeys::new(path.as_str()))),
        }
    }

    /// Components of the path.
    pub(super) fn depth(&self) -> usize {
        self.components.len()
    }

    /// The id at `level` of `commit`'s chain (0: its root tree).
    pub(super) fn level(
        &mut self,
        commit: ObjectId,
        root_tree: ObjectId,
        level: usize,
    ) -> Result<Option<ObjectId>, ToolError> {
        let chain = self
            .chains
            .entry(commit)
            .or_insert_with(|| vec![Some(root_tree)]);
        if chain.len() > level {
            return Ok(chain[level]);
        }
        let mut chain = std::mem::take(chain);
        while chain.len() <= level {
            let known = chain.len();
            let next = match chain[known - 1] {
                None => None,
                Some(tree) => self.entry(tree, known - 1)?,
            };
            chain.push(next);
        }
        let found = chain[level];
        self.chains.insert(commit, chain);
        Ok(found)
    }

    /// The id of component `index` inside `tree`, if present (and `tree` is a tree).
    fn entry(&mut self, tree: ObjectId, index: usize) -> Result<Option<ObjectId>, ToolError> {
        self.odb
            .tree_entry(tree, &self.components[index])
            .map_err(|e| ToolError::git("decoding a tree", e))
    }

    /// Drops what is known of `commit`'s path (the walk is past it).
    pub(super) fn forget(&mut self, commit: ObjectId) {
        self.chains.remove(&commit);
    }

    /// Whether `commit` (root tree `tree`, `parent_count` parents) changed the path relative
    /// to its first parent `first` (with its root tree), or, for a root commit or a parent
    /// missing from a shallow clone, whether the path exists.
    pub(super) fn changed(
        &mut self,
        commit: ObjectId,
        tree: ObjectId,
        parent_count: usize,
        first: Option<(ObjectId, ObjectId)>,
    ) -> Result<bool, ToolError> {
        // As git: the filter speaks for the diff against the only parent; root commits and
        // merges read trees.
        if parent_count == 1
            && let Some((bloom, keys)) = &self.bloom
            && bloom.maybe_changed_keys(&commit, keys) == Some(false)
        {
            self.chains.remove(&commit);
            return Ok(false);
        }
        let depth = self.components.len();
        let result = match first {
            None => self.level(commit, tree, depth)?.is_some(),
            Some((parent, ptree)) => {
                let mut changed = false;
                for level in 0..=depth {
                    let (a, b) = (
                        self.level(commit, tree, level)?,
                        self.level(parent, ptree, level)?,
                    );
                    if a == b {
                        break;
                    }
                    if level == depth {
                        changed = true;
                        break;
                    }
                    if a.is_none() || b.is_none() {
                        // One side lacks a folder on the way: compare the full paths.
                        changed =
                            self.level(commit, tree, depth)? != self.level(parent, ptree, depth)?;
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

/// What the walk needs of a commit: read from the commit-graph when it has the commit,
/// otherwise decoded once from the object database.
pub(super) struct Facts {
    time: i64,
    pub(super) tree: ObjectId,
    pub(super) parents: Vec<ObjectId>,
}

/// A commit waiting in the walk's queue: newest committer time first, then first queued
/// first (git's order for equal times).
pub(super) struct Pending {
    time: i64,
    seq: u64,
    pub(super) id: ObjectId,
    pub(super) facts: Facts,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        self.time == other.time && self.seq == other.seq
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.time
            .cmp(&other.time)
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// History newest first by committer time, as `git log` walks it, with the queue exposed so
/// a page can hand on where it stopped.
pub(super) struct Walk<'r> {
    repo: &'r gix::Repository,
    odb: &'r ObjectReader<'r>,
    graph: Option<gix::commitgraph::Graph>,
    queue: BinaryHeap<Pending>,
    seen: HashSet<ObjectId>,
    seq: u64,
    /// Facts of parents read to decide on a commit, kept for queueing them.
    loaded: HashMap<ObjectId, Facts>,
    buf: Vec<u8>,
}

impl<'r> Walk<'r> {
    pub(super) fn new(
        repo: &'r gix::Repository,
        odb: &'r ObjectReader<'r>,
        tips: &[ObjectId],
    ) -> Result<Self, ToolError> {
        let mut walk = Walk {
            repo,
            odb,
            graph: repo.commit_graph_if_enabled().ok().flatten(),
            queue: BinaryHeap::new(),
            seen: HashSet::new(),
            seq: 0,
            loaded: HashMap::new(),
            buf: Vec::new(),
        };
        for tip in tips {
            if walk.seen.insert(*tip) {
                let facts = walk.facts(*tip)?;
                walk.push(*tip, facts);
            }
        }
        Ok(walk)
    }

    fn push(&mut self, id: ObjectId, facts: Facts) {
        self.seq += 1;
        self.queue.push(Pending {
            time: facts.time,
            seq: self.seq,
            id,
            facts,
        });
    }

    fn facts(&mut self, id: ObjectId) -> Result<Facts, ToolError> {
        if let Some(graph) = &self.graph
            && let Some(c) = graph.commit_by_id(id)
        {
            let parents: Option<Vec<ObjectId>> = c
                .iter_parents()
                .map(|p| p.ok().map(|pos| graph.id_at(pos).to_owned()))
                .collect();
            if let Some(parents) = parents {
                return Ok(Facts {
                    time: i64::try_from(c.committer_timestamp()).unwrap_or(i64::MAX),
                    tree: c.root_tree_id().to_owned(),
                    parents,
                });
            }
        }
        let odb = self.odb;
        let buf = &mut self.buf;
        let f = odb.commit_facts(id, || -> Result<_, ToolError> {
            let iter = odb
                .find_commit_iter(&id, buf)
                .map_err(|e| ToolError::git("reading a commit", e))?;
            let mut tree = None;
            let mut parents = Vec::new();
            let mut time = 0;
            for token in iter {
                use gix::objs::commit::ref_iter::Token;
                match token.map_err(|e| ToolError::git("decoding a commit", e))? {
                    Token::Tree { id } => tree = Some(id),
                    Token::Parent { id } => parents.push(id),
                    Token::Author { .. } => {}
                    Token::Committer { signature } => {
                        time = signature.seconds();
                        break;
                    }
                    _ => break,
                }
            }
            let tree = tree.ok_or_else(|| ToolError::git("decoding a commit", "it has no tree"))?;
            Ok(crate::odb::CommitFacts {
                tree,
                parents,
                time,
            })
        })?;
        Ok(Facts {
            time: f.time,
            tree: f.tree,
            parents: f.parents,
        })
    }

    /// The next commit to look at.
    pub(super) fn pop(&mut self) -> Option<Pending> {
        self.queue.pop()
    }

    /// The first parent of `p` with its root tree; `None` for a root commit or a parent
    /// missing from a shallow clone.
    pub(super) fn first_parent(
        &mut self,
        p: &Pending,
    ) -> Result<Option<(ObjectId, ObjectId)>, ToolError> {
        let Some(&parent) = p.facts.parents.first() else {
            return Ok(None);
        };
        Ok(self.tree_of(parent)?.map(|tree| (parent, tree)))
    }

    /// The root tree of commit `id` (a parent of the commit being looked at), kept for
    /// queueing it; `None` when it is missing from a shallow clone.
    pub(super) fn tree_of(&mut self, id: ObjectId) -> Result<Option<ObjectId>, ToolError> {
        if let Some(f) = self.loaded.get(&id) {
            return Ok(Some(f.tree));
        }
        if let Some(q) = self.queue.iter().find(|q| q.id == id) {
            return Ok(Some(q.facts.tree));
        }
        match self.facts(id) {
            Ok(f) => {
                let tree = f.tree;
                if !self.seen.contains(&id) {
                    self.loaded.insert(id, f);
                }
                Ok(Some(tree))
            }
            Err(_) if !self.repo.has_object(id) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Queue the parents of `p` not seen before.
    pub(super) fn expand(&mut self, p: &Pending) -> Result<(), ToolError> {
        self.expand_to(&p.facts.parents)
    }

    /// Queue only `parent` of the commit just looked at (history simplified to one side of
    /// a merge, as `git blame` does when that side has the same file).
    pub(super) fn expand_only(&mut self, parent: ObjectId) -> Result<(), ToolError> {
        self.expand_to(&[parent])
    }

    fn expand_to(&mut self, parents: &[ObjectId]) -> Result<(), ToolError> {
        for &parent in parents {
            if !self.seen.insert(parent) {
                continue;
            }
            let facts = match self.loaded.remove(&parent) {
                Some(f) => f,
                None => match self.facts(parent) {
                    Ok(f) => f,
                    // Missing from a shallow clone: the walk ends there.
                    Err(_) if !self.repo.has_object(parent) => continue,
                    Err(e) => return Err(e),
                },
            };
            self.push(parent, facts);
        }
        self.loaded.clear();
        Ok(())
    }

    /// The queued commits in the order the walk would take them.
    fn frontier(&self) -> Vec<ObjectId> {
        let mut pending: Vec<&Pending> = self.queue.iter().collect();
        pending.sort_by(|a, b| b.cmp(a));
        pending.into_iter().map(|p| p.id).collect()
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
        let path = ctx.sandbox.resolve_filter(p.path.as_deref())?;
        let filters = Filters {
            path,
            grep,
            since,
            until,
            author: p.author.filter(|a| !a.is_empty()).map(|a| a.to_lowercase()),
        };
        let cursor = p.cursor.as_deref().map(parse_cursor).transpose()?;
        if let Some(rev) = p.rev.as_deref().filter(|r| r.contains("..")) {
            return Err(invalid(format!(
                "field `rev`: `{rev}` is a range; give one revision, the newest of the range, and `since` or `until` to bound the dates"
            )));
        }

        // The walk reads commits and trees through an `ObjectReader`, which keeps the delta
        // bases it resolves: the path filter reads every commit's trees.
        let repo = ctx.sandbox.repo()?;
        let (tips, skip) = match cursor {
            Some(cursor) => {
                let (tips, skip) = match cursor {
                    Cursor::Restart { start, skip } => (vec![start], skip),
                    Cursor::Frontier(tips) => (tips, 0),
                };
                for tip in &tips {
                    repo.find_commit(*tip).map_err(|_| {
                        invalid("field `cursor`: its commit is not in this repository; omit `cursor` to start over")
                    })?;
                }
                (tips, skip)
            }
            None => (vec![resolve_commit(&repo, p.rev.as_deref())?.id], 0),
        };
        walk(ctx, &repo, &tips, skip, limit, &filters)
    }
}

/// A commit listed on a page: its author time and offset, author name, e-mail, message.
type PageEntry = ((i64, i32), String, String, String);

/// Author time, name, e-mail and message of `pending` when it passes the filters.
fn page_entry(
    repo: &gix::Repository,
    walk: &mut Walk<'_>,
    index: Option<&mut PathIndex<'_>>,
    pending: &Pending,
    f: &Filters,
) -> Result<Option<PageEntry>, ToolError> {
    if let Some(index) = index {
        let first = walk.first_parent(pending)?;
        let count = pending.facts.parents.len();
        if !index.changed(pending.id, pending.facts.tree, count, first)? {
            return Ok(None);
        }
    }
    let commit = repo
        .find_commit(pending.id)
        .map_err(|e| ToolError::git("reading a commit", e))?;
    let decoded = commit
        .decode()
        .map_err(|e| ToolError::git("decoding a commit", e))?;
    let committer = decoded
        .committer()
        .map_err(|e| ToolError::git("decoding a commit", e))?;
    let ctime = committer.time().map(|t| t.seconds).unwrap_or(0);
    if f.since.is_some_and(|s| ctime < s) || f.until.is_some_and(|u| ctime >= u) {
        return Ok(None);
    }
    let author = decoded
        .author()
        .map_err(|e| ToolError::git("decoding a commit", e))?;
    let encoding = decoded.encoding.map(|e| e.as_ref());
    if let Some(needle) = &f.author {
        let name = commit_text(author.name, encoding).to_lowercase();
        let email = author.email.to_str_lossy().to_lowercase();
        if !name.contains(needle.as_str()) && !email.contains(needle.as_str()) {
            return Ok(None);
        }
    }
    let message = commit_text(decoded.message, encoding);
    if let Some(re) = &f.grep
        && !re.is_match(&message)
    {
        return Ok(None);
    }
    let atime = author
        .time()
        .map(|t| (t.seconds, t.offset))
        .unwrap_or((ctime, 0));
    let name = commit_text(author.name, encoding).trim().to_string();
    let email = author.email.to_str_lossy().trim().to_string();
    Ok(Some((atime, name, email, message.into_owned())))
}

fn walk(
    ctx: &Ctx<'_>,
    repo: &gix::Repository,
    tips: &[ObjectId],
    skip: usize,
    limit: usize,
    f: &Filters,
) -> Result<ToolOutput, ToolError> {
    let start = tips[0];
    let odb = ObjectReader::new(repo);
    let mut walk = Walk::new(repo, &odb, tips)?;
    let mut index = f.path.as_ref().map(|p| PathIndex::new(repo, &odb, p));
    let mut matched = 0usize;
    let mut commits: Vec<Value> = Vec::new();
    let mut text = String::new();
    let mut stopped_at: Option<Vec<ObjectId>> = None;
    let mut n = 0usize;
    while let Some(pending) = walk.pop() {
        if n.is_multiple_of(256) {
            ctx.check_deadline()?;
        }
        n += 1;
        let id = pending.id;
        let keep = page_entry(repo, &mut walk, index.as_mut(), &pending, f)?;
        if let Some((author_time, name, email, message)) = keep {
            matched += 1;
            if matched > skip {
                if commits.len() == limit {
                    // Where the next page starts: this commit and everything still queued.
                    let mut frontier = vec![id];
                    frontier.extend(walk.frontier());
                    stopped_at = Some(frontier);
                    break;
                }
                let sha = id.to_hex().to_string();
                let short = id.to_hex_with_len(7).to_string();
                let subject = subject_of(&message);
                text.push_str(&format!(
                    "{short} {} {name} {subject}\n",
                    format_date(author_time.0, author_time.1)
                ));
                commits.push(json!({
                    "sha": sha,
                    "short": short,
                    "author": name,
                    "email": email,
                    "date": format_datetime(author_time.0, author_time.1),
                    "subject": subject,
                }));
            }
        }
        walk.expand(&pending)?;
    }
    let next_cursor = stopped_at.map(|frontier| {
        if frontier.len() <= MAX_CURSOR_TIPS {
            Cursor::Frontier(frontier).encode()
        } else {
            Cursor::Restart {
                start,
                skip: skip + commits.len(),
            }
            .encode()
        }
    });
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
