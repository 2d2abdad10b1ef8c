//! `git_blame`: for each line of a file, the commit that last changed it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use gix::bstr::ByteSlice;
use gix::prelude::FindExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::git_log::{PathIndex, Walk};
use super::{Ctx, MAX_FILE_BYTES, RepoPath, RepoTool, ToolError, ToolOutput, resolve_commit};
use crate::text::commit_text;

pub struct GitBlame;

/// Lines the structured result carries at most; `truncated` says when more were blamed.
pub const MAX_DATA_LINES: usize = 2_000;

/// Lines being blamed: (line in the blamed file, line in the version at hand), 0-based.
type LinePairs = Vec<(u32, u32)>;

/// Blame by runs of lines: (first line, 0-based; number of lines; commit).
type Runs = Vec<(u32, u32, gix::ObjectId)>;

/// Commits walked between two deadline checks.
const DEADLINE_CHECK_COMMITS: usize = 256;

/// Bytes git looks at to decide a file is binary (a NUL byte among them).
const BINARY_PROBE_BYTES: usize = 8000;

/// Arguments of `git_blame`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The file, relative to the repository root.
    pub path: String,
    /// Revision to blame at. Default: HEAD.
    pub rev: Option<String>,
    /// First line to blame (1-based, inclusive).
    pub start_line: Option<u32>,
    /// Last line to blame (1-based, inclusive).
    pub end_line: Option<u32>,
}

/// Who and when, for one blamed commit.
struct CommitInfo {
    short: String,
    author: String,
    date: String,
}

impl RepoTool for GitBlame {
    type Params = Params;
    const NAME: &'static str = "git_blame";
    const DESCRIPTION: &'static str = "For each line of a file at a revision: the commit that last changed it, its author and date, and the line. Narrow with start_line/end_line.";

    fn run(&self, ctx: &Ctx<'_>, p: Params) -> Result<ToolOutput, ToolError> {
        let invalid = |message: String| ToolError::InvalidArguments {
            tool: Self::NAME.into(),
            message,
        };
        if let Some(0) = p.start_line {
            return Err(invalid(
                "field `start_line`: lines are numbered from 1; give 1 or more".into(),
            ));
        }
        if let Some(0) = p.end_line {
            return Err(invalid(
                "field `end_line`: lines are numbered from 1; give 1 or more".into(),
            ));
        }
        if let (Some(s), Some(e)) = (p.start_line, p.end_line)
            && s > e
        {
            return Err(invalid(format!(
                "field `start_line` ({s}) is after `end_line` ({e}); give start_line <= end_line"
            )));
        }

        let path = ctx.sandbox.resolve(&p.path)?;
        if path.as_str().is_empty() {
            return Err(invalid(
                "field `path`: give a file, not the repository root".into(),
            ));
        }
        let repo = ctx.sandbox.repo()?;
        let rev_name = p.rev.as_deref().unwrap_or("HEAD");
        let commit = resolve_commit(&repo, p.rev.as_deref())?;
        let commit_id = commit.id;

        // Look the path up first, so a missing path, a folder or a binary file get a clear
        // answer rather than blame's own error.
        let tree = commit
            .tree()
            .map_err(|e| ToolError::git("reading the commit's tree", e))?;
        let entry = tree
            .lookup_entry_by_path(path.as_str())
            .map_err(|e| ToolError::git("looking up the path", e))?
            .ok_or_else(|| ToolError::NotFound {
                what: format!(
                    "`{path}` does not exist at `{rev_name}` ({}); check the path with search_files or git_log",
                    commit_id.to_hex_with_len(12)
                ),
            })?;
        let mode = entry.mode();
        if mode.is_tree() {
            return Err(ToolError::InvalidArguments {
                tool: Self::NAME.into(),
                message: format!(
                    "field `path`: `{path}` is a folder at `{rev_name}`; blame needs a file inside it"
                ),
            });
        }
        if mode.is_commit() {
            return Err(ToolError::InvalidArguments {
                tool: Self::NAME.into(),
                message: format!(
                    "field `path`: `{path}` is a submodule at `{rev_name}`; blame works on files of this repository"
                ),
            });
        }
        if mode.is_link() {
            return Err(ToolError::InvalidArguments {
                tool: Self::NAME.into(),
                message: format!(
                    "field `path`: `{path}` is a symlink at `{rev_name}`; blame the file it points to"
                ),
            });
        }
        let header = repo
            .find_header(entry.object_id())
            .map_err(|e| ToolError::git("reading the file", e))?;
        if header.size() > MAX_FILE_BYTES {
            return Err(ToolError::TooLarge {
                message: format!(
                    "`{path}` is {} bytes at `{rev_name}`, over the {MAX_FILE_BYTES}-byte limit; blame is not available for it",
                    header.size()
                ),
            });
        }
        let blob = repo
            .find_object(entry.object_id())
            .map_err(|e| ToolError::git("reading the file", e))?
            .detach()
            .data;
        if blob[..blob.len().min(BINARY_PROBE_BYTES)].contains(&0) {
            return Err(ToolError::InvalidArguments {
                tool: Self::NAME.into(),
                message: format!(
                    "field `path`: `{path}` is a binary file, blame is for text; use git_log with the path to see who changed it"
                ),
            });
        }
        let line_count =
            u32::try_from(blob.split_inclusive(|b| *b == b'\n').count()).map_err(|_| {
                ToolError::TooLarge {
                    message: format!("`{path}` has too many lines to blame"),
                }
            })?;
        if line_count == 0 {
            let data = json!({
                "path": path.as_str(),
                "rev": commit_id.to_string(),
                "lines": [],
                "truncated": false,
            });
            return Ok(ToolOutput::new(
                format!("`{path}` is empty at `{rev_name}`; nothing to blame\n"),
                data,
            )
            .at(commit_id.to_string()));
        }
        let start = p.start_line.unwrap_or(1);
        if start > line_count {
            return Err(invalid(format!(
                "field `start_line`: {start} is past the end of `{path}`, which has {line_count} lines at `{rev_name}`"
            )));
        }
        // An end past the file is clamped to its last line (and said so below).
        let end = p.end_line.unwrap_or(line_count).min(line_count);
        let clamped = p.end_line.is_some_and(|e| e > line_count);

        ctx.check_deadline()?;
        let algorithm = repo
            .diff_algorithm()
            .map_err(|e| ToolError::git("reading diff.algorithm", e))?;
        let odb = crate::odb::ObjectReader::new(&repo);
        let wanted: Vec<u32> = ((start - 1)..end).collect();
        let req = BlameRequest {
            repo: &repo,
            odb: &odb,
            start: commit_id,
            path: &path,
            blob: &blob,
            lines: &wanted,
            algorithm,
        };
        let blamed = blame_lines(req, &|| ctx.check_deadline())?;
        let entries = runs_of(blamed.iter().map(|b| (b.line, b.commit)).collect());
        let blamed_blob = blob;
        ctx.check_deadline()?;

        // Line texts of the blamed file, by 0-based index.
        let texts: Vec<&[u8]> = blamed_blob
            .split_inclusive(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\n").unwrap_or(l))
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .collect();

        let mut infos: HashMap<gix::ObjectId, CommitInfo> = HashMap::new();
        let mut text = String::new();
        let mut lines = Vec::new();
        let mut blamed = 0usize;
        let width = end.to_string().len();
        for &(from, len, commit) in &entries {
            ctx.check_deadline()?;
            let info = match infos.entry(commit) {
                Entry::Occupied(o) => o.into_mut(),
                Entry::Vacant(v) => v.insert(commit_info(&repo, commit)?),
            };
            for idx in from..from + len {
                let line_no = idx + 1;
                if line_no < start || line_no > end {
                    continue;
                }
                let line = texts
                    .get(idx as usize)
                    .map(|l| String::from_utf8_lossy(l))
                    .unwrap_or_default();
                text.push_str(&format!(
                    "{} {} {} {line_no:>width$}| {line}\n",
                    info.short, info.author, info.date
                ));
                if lines.len() < MAX_DATA_LINES {
                    lines.push(json!({
                        "line": line_no,
                        "commit": commit.to_string(),
                        "author": info.author,
                        "date": info.date,
                        "text": line,
                    }));
                }
                blamed += 1;
            }
        }
        if clamped {
            text.push_str(&format!(
                "[end_line was past the end of the file; blamed up to its last line, {line_count}]\n"
            ));
        }
        // Where a shallow clone's history stops, blame takes that commit for the author of
        // every older line.
        let mut boundary: Vec<String> = repo
            .shallow_commits()
            .ok()
            .flatten()
            .map(|b| {
                entries
                    .iter()
                    .map(|&(_, _, c)| c)
                    .filter(|c| b.contains(c))
                    .map(|c| c.to_hex_with_len(7).to_string())
                    .collect()
            })
            .unwrap_or_default();
        boundary.dedup();
        if let Some(first) = boundary.first() {
            text.push_str(&format!(
                "[{first} is where this shallow clone's history stops: it stands for the author of every older line; fetch the history (`git fetch --unshallow`) to blame them]\n"
            ));
        }
        let truncated = blamed > lines.len();
        let data = json!({
            "path": path.as_str(),
            "rev": commit_id.to_string(),
            "start_line": start,
            "end_line": end,
            "total_lines": line_count,
            "lines": lines,
            "truncated": truncated,
            "shallow_boundary": boundary,
        });
        Ok(ToolOutput::new(text, data).at(commit_id.to_string()))
    }
}

/// One blamed line: `line` (0-based) of the file at the commit blame started from, the
/// `commit` that last changed it, and where the line is in that commit's version:
/// `source_path` (`None`: the same path) and `source_line` (0-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlamedLine {
    pub line: u32,
    pub commit: gix::ObjectId,
    pub source_path: Option<String>,
    pub source_line: u32,
}

/// What to blame: `lines` (0-based, ascending, without repeats) of `blob`, the file `path` at
/// commit `start`, diffing versions with `algorithm`.
#[derive(Clone, Copy)]
pub(crate) struct BlameRequest<'a> {
    pub repo: &'a gix::Repository,
    pub odb: &'a crate::odb::ObjectReader<'a>,
    pub start: gix::ObjectId,
    pub path: &'a RepoPath,
    pub blob: &'a [u8],
    pub lines: &'a [u32],
    pub algorithm: gix::diff::blob::Algorithm,
}

/// Blame what `req` asks for.
///
/// The walk of [`blame_linear`] first; where it cannot go on (a merge with a parent whose
/// tree it cannot read, a path that is not a file in the parent, more than
/// [`MAX_SPLIT_MERGES`] merges to split) gix-blame takes over for the lines still
/// unblamed; when the walk runs out, gix-blame blames them all from `start`. Renames and
/// merges are followed as `git blame` follows them. `check` is called every few hundred
/// commits and between stages: an error from it (a deadline) stops the blame.
pub(crate) fn blame_lines(
    req: BlameRequest<'_>,
    check: &dyn Fn() -> Result<(), ToolError>,
) -> Result<Vec<BlamedLine>, ToolError> {
    let BlameRequest {
        odb,
        start,
        path,
        lines,
        algorithm,
        ..
    } = req;
    if lines.is_empty() {
        return Ok(Vec::new());
    }
    match blame_linear(req, check)? {
        Linear::Done(blamed) => return Ok(blamed),
        Linear::Stopped {
            at,
            renamed,
            blamed,
            rest,
        } => {
            check()?;
            if let Some(all) = finish_with_gix(odb, path, renamed, at, blamed, &rest, algorithm)? {
                return Ok(all);
            }
        }
        Linear::GiveUp => {}
    }
    check()?;
    // gix-blame from the start: it follows renames and merges, as `git blame`.
    let outcome = odb
        .blame_lines(
            path.as_str().as_bytes().as_bstr(),
            start,
            lines,
            Some(algorithm),
        )
        .map_err(|e| ToolError::git(&format!("blaming `{path}` at {start}"), e))?;
    let wanted: std::collections::HashSet<u32> = lines.iter().copied().collect();
    let mut out = Vec::with_capacity(lines.len());
    for e in &outcome.entries {
        for k in 0..e.len.get() {
            let line = e.start_in_blamed_file + k;
            if wanted.contains(&line) {
                out.push(BlamedLine {
                    line,
                    commit: e.commit_id,
                    source_path: e
                        .source_file_name
                        .as_ref()
                        .map(|s| s.to_str_lossy().into_owned()),
                    source_line: e.start_in_source_file + k,
                });
            }
        }
    }
    out.sort_unstable_by_key(|b| b.line);
    Ok(out)
}

/// How far the linear blame got.
enum Linear {
    /// Every line blamed.
    Done(Vec<BlamedLine>),
    /// Stopped at commit `at`, where the walk cannot go on: a merge whose file differs from
    /// every parent's with a parent whose tree cannot be read (or with no merges left to
    /// split), or a path that is not a file in the parent.
    /// `blamed`: the lines blamed so far; `rest`: (line in the blamed file, line in `at`'s
    /// version) still to blame, by the latter.
    Stopped {
        at: gix::ObjectId,
        /// The file's path at `at`, when a rename was followed to get there.
        renamed: Option<RepoPath>,
        blamed: Vec<BlamedLine>,
        rest: Vec<(u32, u32)>,
    },
    /// The walk ran out before every line was blamed: blame from the start with gix-blame.
    GiveUp,
}

/// Merges that changed the file on more than one side that one blame splits between their
/// parents itself; past that many, gix-blame takes the rest.
const MAX_SPLIT_MERGES: usize = 64;

#[cfg(test)]
thread_local! {
    /// Merges split by [`blame_from`] on this thread, for the tests to see the path taken.
    static MERGES_SPLIT: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Rename detections run by [`find_rename_source`] on this thread.
    static RENAME_SEARCHES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Line diffs computed by [`line_hunks`] on this thread.
    static LINE_DIFFS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    /// Versions of a file read by [`Version::bytes`] on this thread.
    static VERSIONS_READ: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Blame of `req.lines` (0-based, of `req.blob`, the file at `req.start`) along the path's
/// history: the commits that changed the path (found as `git_log` finds them, skipping with
/// the commit-graph's changed-path filters when it has them, as `git blame` does), each
/// diffed with its parent's version to pass unchanged lines back. At a merge whose file is
/// the same as one parent's, everything passes to that parent; at a merge whose file differs
/// from every parent's, each line passes to the first parent whose version has it unchanged
/// and the walk goes on from each parent with its lines; lines no parent has are the
/// merge's own. That is how `git blame` treats merges. Where the file is added while
/// another goes and rename detection pairs them, the walk goes on at the old path, as
/// `git blame` does.
fn blame_linear(
    req: BlameRequest<'_>,
    check: &dyn Fn() -> Result<(), ToolError>,
) -> Result<Linear, ToolError> {
    let unblamed = req.lines.iter().map(|&l| (l, l)).collect();
    let mut budget = MAX_SPLIT_MERGES;
    // The blob's id, for a reader that remembers diffs by the ids of their two sides.
    let id = req
        .odb
        .remembers()
        .then(|| {
            gix::objs::compute_hash(req.repo.object_hash(), gix::objs::Kind::Blob, req.blob).ok()
        })
        .flatten();
    let current = Version {
        id,
        data: Some(req.blob.to_vec()),
    };
    blame_from(&req, req.start, None, current, unblamed, check, &mut budget)
}

/// The walk of [`blame_linear`] from commit `start`, where the file is `current` (at
/// `renamed`, or the request's path) and `unblamed` holds (line in the blamed file, line
/// in `current`), by the latter. `budget`: merges it may still split.
fn blame_from(
    req: &BlameRequest<'_>,
    start: gix::ObjectId,
    mut renamed: Option<RepoPath>,
    mut current: Version,
    mut unblamed: LinePairs,
    check: &dyn Fn() -> Result<(), ToolError>,
    budget: &mut usize,
) -> Result<Linear, ToolError> {
    let BlameRequest {
        repo,
        odb,
        path,
        algorithm,
        ..
    } = *req;
    let mut index = PathIndex::new(repo, odb, renamed.as_ref().unwrap_or(path));
    let mut depth = index.depth();
    let mut walk = Walk::new(repo, odb, &[start])?;
    let mut blamed: Vec<BlamedLine> = Vec::with_capacity(unblamed.len());
    let mut n = 0usize;
    while let Some(p) = walk.pop() {
        if n.is_multiple_of(DEADLINE_CHECK_COMMITS) {
            check()?;
        }
        n += 1;
        let parent_count = p.facts.parents.len();
        if parent_count > 1 {
            // A merge: as `git blame`, every line goes to the first parent with the same
            // file, and history follows that parent only.
            let mine = index.level(p.id, p.facts.tree, depth)?;
            let mut same = None;
            let mut sides = Vec::with_capacity(parent_count);
            for &parent in &p.facts.parents {
                let Some(tree) = walk.tree_of(parent)? else {
                    continue;
                };
                let entry = index.level(parent, tree, depth)?;
                if entry == mine {
                    same = Some(parent);
                    break;
                }
                sides.push((parent, tree, entry));
            }
            index.forget(p.id);
            if let Some(parent) = same {
                walk.expand_only(parent)?;
                continue;
            }
            // The file differs from every parent's. Split it between them, unless a
            // parent's tree cannot be read or the budget is spent: gix-blame.
            let stop = |blamed, rest, renamed| {
                Ok(Linear::Stopped {
                    at: p.id,
                    renamed,
                    blamed,
                    rest,
                })
            };
            if *budget == 0 || sides.len() != parent_count {
                return stop(blamed, unblamed, renamed);
            }
            let here = renamed.clone().unwrap_or_else(|| path.clone());
            let mut versions = Vec::with_capacity(sides.len());
            for (parent, tree, entry) in sides {
                // A parent that lacks the file had it under another name (a rename on that
                // side), or not at all (another project's tree merged in): as `git blame`,
                // its lines pass to it at the old name, or none pass to it.
                let (entry, side_path) = match entry {
                    Some(entry) => (entry, renamed.clone()),
                    None => match rename_source(repo, odb, tree, p.facts.tree, &here)? {
                        Some(src) => {
                            let mut src_index = PathIndex::new(repo, odb, &src);
                            let src_depth = src_index.depth();
                            match src_index.level(parent, tree, src_depth)? {
                                Some(entry) => (entry, Some(src)),
                                None => continue,
                            }
                        }
                        None => continue,
                    },
                };
                let mut version = Version::of(entry);
                if version.bytes(odb).is_none() {
                    return stop(blamed, unblamed, renamed);
                }
                versions.push((parent, version, side_path));
            }
            *budget -= 1;
            #[cfg(test)]
            MERGES_SPLIT.with(|m| m.set(m.get() + 1));
            let mut rest = std::mem::take(&mut unblamed);
            let mut passed_on = Vec::new();
            for (parent, mut old, side_path) in versions {
                if rest.is_empty() {
                    break;
                }
                let Some(hunks) = line_hunks(odb, &mut old, &mut current, algorithm) else {
                    return stop(blamed, rest, renamed);
                };
                let (passed, kept) = pass_back(&hunks, rest)?;
                rest = kept;
                if !passed.is_empty() {
                    passed_on.push((parent, old, side_path, passed));
                }
            }
            blamed.extend(blamed_on(p.id, renamed.as_ref(), rest));
            for (parent, old, side_path, lines) in passed_on {
                check()?;
                match blame_from(req, parent, side_path, old, lines, check, budget)? {
                    Linear::Done(b) => blamed.extend(b),
                    Linear::Stopped {
                        at,
                        renamed,
                        blamed: b,
                        rest,
                    } => match finish_with_gix(odb, path, renamed, at, b, &rest, algorithm)? {
                        Some(all) => blamed.extend(all),
                        None => return Ok(Linear::GiveUp),
                    },
                    Linear::GiveUp => return Ok(Linear::GiveUp),
                }
            }
            blamed.sort_unstable_by_key(|b| b.line);
            return Ok(Linear::Done(blamed));
        }
        let first = walk.first_parent(&p)?;
        if !index.changed(p.id, p.facts.tree, parent_count, first)? {
            walk.expand(&p)?;
            continue;
        }
        let parent_entry = match first {
            Some((parent, tree)) => index.level(parent, tree, depth)?,
            None => None,
        };
        // The file's path at `p`, for the lines blamed on `p`.
        let here = renamed.clone();
        let mut from = None;
        let parent_entry = match (parent_entry, first) {
            (Some(entry), _) => entry,
            // Added here while another file went: a rename, when rename detection (as
            // `git blame` and gix-blame do it) pairs the two. History goes on at the old path.
            (None, Some((parent, parent_tree)))
                if let Some(src) = rename_source(
                    repo,
                    odb,
                    parent_tree,
                    p.facts.tree,
                    renamed.as_ref().unwrap_or(path),
                )? =>
            {
                let mut src_index = PathIndex::new(repo, odb, &src);
                let src_depth = src_index.depth();
                let Some(entry) = src_index.level(parent, parent_tree, src_depth)? else {
                    return Ok(Linear::Stopped {
                        at: p.id,
                        renamed,
                        blamed,
                        rest: unblamed,
                    });
                };
                index = src_index;
                depth = src_depth;
                from = Some(src);
                entry
            }
            // A root commit, the edge of a shallow clone, or the file's creation: the rest
            // is from here.
            (None, _) => {
                blamed.extend(blamed_on(
                    p.id,
                    here.as_ref(),
                    std::mem::take(&mut unblamed),
                ));
                break;
            }
        };
        // The parent's version is read only when the diff is not remembered.
        let mut old = Version::of(parent_entry);
        let Some(hunks) = line_hunks(odb, &mut old, &mut current, algorithm) else {
            // Not a file in the parent (a folder or a submodule): leave it to gix-blame.
            return Ok(Linear::Stopped {
                at: p.id,
                renamed,
                blamed,
                rest: unblamed,
            });
        };
        let (passed, changed) = pass_back(&hunks, std::mem::take(&mut unblamed))?;
        blamed.extend(blamed_on(p.id, here.as_ref(), changed));
        unblamed = passed;
        current = old;
        if from.is_some() {
            renamed = from;
        }
        if unblamed.is_empty() {
            break;
        }
        walk.expand(&p)?;
    }
    if !unblamed.is_empty() {
        return Ok(Linear::GiveUp);
    }
    blamed.sort_unstable_by_key(|b| b.line);
    Ok(Linear::Done(blamed))
}

/// `lines` ((line in the blamed file, line in `commit`'s version at `path`, or the blamed
/// path when `None`)) blamed on `commit`.
fn blamed_on(
    commit: gix::ObjectId,
    path: Option<&RepoPath>,
    lines: LinePairs,
) -> impl Iterator<Item = BlamedLine> {
    let source_path = path.map(|r| r.as_str().to_string());
    lines.into_iter().map(move |(line, cur)| BlamedLine {
        line,
        commit,
        source_path: source_path.clone(),
        source_line: cur,
    })
}

/// A version of the blamed file: its blob id when known, and its bytes once read.
struct Version {
    id: Option<gix::ObjectId>,
    data: Option<Vec<u8>>,
}

impl Version {
    /// The blob `id`, not read yet.
    fn of(id: gix::ObjectId) -> Self {
        Version {
            id: Some(id),
            data: None,
        }
    }

    /// Its bytes, read on first use; `None` when its id is not a blob.
    fn bytes(&mut self, odb: &crate::odb::ObjectReader<'_>) -> Option<&[u8]> {
        if self.data.is_none() {
            let id = self.id?;
            #[cfg(test)]
            VERSIONS_READ.with(|n| n.set(n.get() + 1));
            let mut buf = Vec::new();
            let blob = odb.find_blob(&id, &mut buf).ok()?;
            self.data = Some(blob.data.to_vec());
        }
        self.data.as_deref()
    }
}

/// The hunks of the line diff from `old` to `new`, as (lines before, lines after); `None`
/// when either is not a blob. A trace blames the lines it follows one at a time through
/// the same history, so with both ids known a remembering reader keeps the hunks, and a
/// version is read only when a diff it is part of is not remembered.
fn line_hunks(
    odb: &crate::odb::ObjectReader<'_>,
    old: &mut Version,
    new: &mut Version,
    algorithm: gix::diff::blob::Algorithm,
) -> Option<crate::odb::Hunks> {
    let ids = (old.id, new.id);
    let mut diff = || {
        #[cfg(test)]
        LINE_DIFFS.with(|n| n.set(n.get() + 1));
        let (Some(before), Some(after)) = (old.bytes(odb), new.bytes(odb)) else {
            return Err(());
        };
        let input = gix::diff::blob::InternedInput::new(before, after);
        let mut diff = gix::diff::blob::Diff::compute(algorithm, &input);
        diff.postprocess_lines(&input);
        Ok(diff.hunks().map(|h| (h.before, h.after)).collect())
    };
    match ids {
        (Some(o), Some(n)) => odb.line_hunks(o, n, diff).ok(),
        _ => diff().ok().map(crate::odb::Hunks::from),
    }
}

/// Sort `lines` ((line in the blamed file, line in `current`), by the latter) by the
/// `hunks` of the change from `old` to `current`: those it left alone, with their line in
/// `old`, and those it changed, as they were.
fn pass_back(
    hunks: &[(std::ops::Range<u32>, std::ops::Range<u32>)],
    lines: LinePairs,
) -> Result<(LinePairs, LinePairs), ToolError> {
    // Walk the hunks and the lines (both ordered by line in `current`).
    let mut hunks = hunks.iter().peekable();
    // Old line = new line + shift, for lines after the last hunk passed.
    let mut shift: i64 = 0;
    let mut passed = Vec::with_capacity(lines.len());
    let mut changed = Vec::new();
    for (line, cur) in lines {
        while let Some((before, after)) = hunks.peek() {
            if after.end <= cur {
                shift = i64::from(before.end) - i64::from(after.end);
                hunks.next();
            } else {
                break;
            }
        }
        let in_hunk = hunks
            .peek()
            .is_some_and(|(_, after)| after.start <= cur && cur < after.end);
        if in_hunk {
            changed.push((line, cur));
        } else {
            let old_line = u32::try_from(i64::from(cur) + shift).map_err(|_| {
                ToolError::git("blaming", "a line mapped before the start of the file")
            })?;
            passed.push((line, old_line));
        }
    }
    Ok((passed, changed))
}

/// `(first line, count, commit)` runs of per-line blame.
fn runs_of(mut blamed: Vec<(u32, gix::ObjectId)>) -> Runs {
    blamed.sort_unstable_by_key(|&(line, _)| line);
    let mut runs: Runs = Vec::new();
    for (line, commit) in blamed {
        match runs.last_mut() {
            Some((from, len, c)) if *c == commit && *from + *len == line => *len += 1,
            _ => runs.push((line, 1, commit)),
        }
    }
    runs
}

/// Blame the lines `rest` left by the linear walk (see [`Linear::Stopped`]) with gix-blame,
/// starting at `at`, and add them to `blamed`. `None` if gix-blame did not account for
/// every one of them.
fn finish_with_gix(
    odb: &crate::odb::ObjectReader<'_>,
    path: &RepoPath,
    renamed: Option<RepoPath>,
    at: gix::ObjectId,
    mut blamed: Vec<BlamedLine>,
    rest: &[(u32, u32)],
    algorithm: gix::diff::blob::Algorithm,
) -> Result<Option<Vec<BlamedLine>>, ToolError> {
    if !rest.is_empty() {
        let path = renamed.as_ref().unwrap_or(path);
        // `rest` is ordered by its line in `at`'s version.
        let lines: Vec<u32> = rest.iter().map(|&(_, cur)| cur).collect();
        let outcome = odb
            .blame_lines(
                path.as_str().as_bytes().as_bstr(),
                at,
                &lines,
                Some(algorithm),
            )
            .map_err(|e| ToolError::git(&format!("blaming `{path}` at {at}"), e))?;
        let line_of: HashMap<u32, u32> = rest.iter().map(|&(line, cur)| (cur, line)).collect();
        let before = blamed.len();
        for e in &outcome.entries {
            for k in 0..e.len.get() {
                if let Some(&line) = line_of.get(&(e.start_in_blamed_file + k)) {
                    blamed.push(BlamedLine {
                        line,
                        commit: e.commit_id,
                        source_path: e
                            .source_file_name
                            .as_ref()
                            .map(|s| s.to_str_lossy().into_owned())
                            .or_else(|| renamed.as_ref().map(|r| r.as_str().to_string())),
                        source_line: e.start_in_source_file + k,
                    });
                }
            }
        }
        if blamed.len() - before != rest.len() {
            return Ok(None);
        }
    }
    blamed.sort_unstable_by_key(|b| b.line);
    Ok(Some(blamed))
}

/// The path `path` (of tree `new`) had in tree `old`, when rename detection pairs it with a
/// file that went, with [`crate::odb::blame_rewrites`], as gix-blame does.
fn rename_source(
    repo: &gix::Repository,
    odb: &crate::odb::ObjectReader<'_>,
    old: gix::ObjectId,
    new: gix::ObjectId,
    path: &RepoPath,
) -> Result<Option<RepoPath>, ToolError> {
    let source = odb.rename_source(old, new, path.as_str().as_bytes(), || {
        find_rename_source(repo, odb, old, new, path)
    })?;
    Ok(source.map(|s| RepoPath::from_tree(&String::from_utf8_lossy(&s))))
}

/// The file of tree `old` that `path`, added in tree `new`, was renamed from: the files
/// `old` has and `new` lacks, paired with `path` by the rename detection blame uses. As
/// `git blame` does (`single_follow`), only `path` is looked for: pairing every added file
/// with every removed one costs seconds where a commit moved or regenerated many files,
/// or where a merge's parent is another project's tree.
fn find_rename_source(
    repo: &gix::Repository,
    odb: &crate::odb::ObjectReader<'_>,
    old: gix::ObjectId,
    new: gix::ObjectId,
    path: &RepoPath,
) -> Result<Option<Vec<u8>>, ToolError> {
    use gix::diff::tree::visit::Change;
    use gix::object::tree::diff::ChangeDetached;
    #[cfg(test)]
    RENAME_SEARCHES.with(|n| n.set(n.get() + 1));
    let find = |id| {
        repo.find_tree(id)
            .map_err(|e| ToolError::git("reading a tree", e))
    };
    let (old_tree, new_tree) = (find(old)?, find(new)?);
    let options = gix::diff::Options::default().with_rewrites(None);
    let changes = repo
        .diff_tree_to_tree(&old_tree, &new_tree, Some(options))
        .map_err(|e| ToolError::git("comparing trees", e))?;
    let mut tracker = gix::diff::rewrites::Tracker::new(crate::odb::blame_rewrites());
    let mut added = false;
    for change in changes {
        match change {
            ChangeDetached::Deletion {
                location,
                entry_mode,
                id,
                ..
            } if entry_mode.is_blob() => {
                let change = Change::Deletion {
                    entry_mode,
                    oid: id,
                    relation: None,
                };
                tracker.try_push_change(change, location.as_ref());
            }
            ChangeDetached::Addition {
                location,
                entry_mode,
                id,
                ..
            } if entry_mode.is_blob() && location == path.as_str().as_bytes() => {
                let change = Change::Addition {
                    entry_mode,
                    oid: id,
                    relation: None,
                };
                tracker.try_push_change(change, location.as_ref());
                added = true;
            }
            _ => {}
        }
    }
    if !added {
        return Ok(None);
    }
    let mut cache = repo
        .diff_resource_cache_for_tree_diff()
        .map_err(|e| ToolError::git("preparing a rename check", e))?;
    let mut source = None;
    tracker
        .emit(
            |dest, src| {
                if let Some(src) = src
                    && src.kind == gix::diff::rewrites::tracker::visit::SourceKind::Rename
                    && dest.location == path.as_str().as_bytes()
                {
                    source = Some(src.location.to_vec());
                }
                std::ops::ControlFlow::Continue(())
            },
            &mut cache,
            odb,
            |_| Ok::<_, std::convert::Infallible>(()),
        )
        .map_err(|e| ToolError::git("checking for a rename", e))?;
    Ok(source)
}

/// Short sha, author name and author date (`YYYY-MM-DD`, in the author's time zone) of a commit.
fn commit_info(repo: &gix::Repository, id: gix::ObjectId) -> Result<CommitInfo, ToolError> {
    let commit = repo
        .find_commit(id)
        .map_err(|e| ToolError::git("reading a blamed commit", e))?;
    let decoded = commit
        .decode()
        .map_err(|e| ToolError::git("reading a commit's author", e))?;
    let author = decoded
        .author()
        .map_err(|e| ToolError::git("reading a commit's author", e))?;
    let name = commit_text(author.name, decoded.encoding.map(|e| e.as_ref())).into_owned();
    let date = author
        .time()
        .ok()
        .and_then(|t| format_date(t.seconds, t.offset))
        .unwrap_or_else(|| "????-??-??".into());
    Ok(CommitInfo {
        short: id.to_hex_with_len(8).to_string(),
        author: name,
        date,
    })
}

fn format_date(seconds: i64, offset: i32) -> Option<String> {
    let ts = jiff::Timestamp::from_second(seconds).ok()?;
    let tz = jiff::tz::TimeZone::fixed(jiff::tz::Offset::from_seconds(offset).ok()?);
    Some(ts.to_zoned(tz).strftime("%Y-%m-%d").to_string())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{BlameRequest, BlamedLine, RepoPath, blame_lines, format_date};

    /// The project's isolated git runner (no user configuration), as one test author.
    fn git(dir: &Path, args: &[&str]) -> String {
        crate::eval::fixture::git(dir, args, ("T", "t@example.com"), "2024-01-01")
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn write(dir: &Path, path: &str, text: &str) {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    }

    fn commit(dir: &Path, message: &str) {
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-q", "-m", message]);
    }

    /// `git blame --porcelain` as blamed lines: 0-based final line, commit, the path in the
    /// blamed commit when it differs from `path`, 0-based line there.
    fn porcelain(dir: &Path, rev: &str, path: &str) -> Vec<BlamedLine> {
        let out = git(dir, &["blame", "--porcelain", rev, "--", path]);
        let mut names = std::collections::HashMap::new();
        let mut lines: Vec<BlamedLine> = Vec::new();
        for l in out.lines() {
            let parts: Vec<&str> = l.split(' ').collect();
            if parts.len() >= 3
                && parts[0].len() == 40
                && parts[0].bytes().all(|b| b.is_ascii_hexdigit())
            {
                lines.push(BlamedLine {
                    line: parts[2].parse::<u32>().expect("final line") - 1,
                    commit: gix::ObjectId::from_hex(parts[0].as_bytes()).expect("sha"),
                    source_path: None,
                    source_line: parts[1].parse::<u32>().expect("source line") - 1,
                });
            } else if let Some(name) = l.strip_prefix("filename ") {
                let last = lines.last().expect("a header before its filename");
                names.insert(last.commit, name.to_string());
            }
        }
        for b in &mut lines {
            b.source_path = names.get(&b.commit).filter(|n| *n != path).cloned();
        }
        lines
    }

    /// The subject of the commit `git blame` gives for each 1-based line of `path` at HEAD.
    fn blamed_subjects(dir: &Path, path: &str) -> impl Fn(usize) -> String {
        let subjects: Vec<String> = porcelain(dir, "HEAD", path)
            .iter()
            .map(|b| {
                let sha = b.commit.to_string();
                git(dir, &["log", "-1", "--format=%s", &sha])
                    .trim()
                    .to_string()
            })
            .collect();
        move |line| subjects[line - 1].clone()
    }

    /// Blame every line of `path` at HEAD, then every other line (as the tracer asks), and
    /// compare commit, source path and source line with `git blame --porcelain`.
    fn assert_blame_matches_git(dir: &Path, path: &str) {
        let repo = gix::open(dir).expect("open");
        let odb = crate::odb::ObjectReader::new(&repo);
        let head = repo.head_id().expect("head").detach();
        let algorithm = repo.diff_algorithm().expect("algorithm");
        let blob = std::fs::read(dir.join(path)).expect("read");
        let n = blob.iter().filter(|b| **b == b'\n').count() as u32;
        let all: Vec<u32> = (0..n).collect();
        let repo_path = RepoPath::from_tree(path);
        let req = BlameRequest {
            repo: &repo,
            odb: &odb,
            start: head,
            path: &repo_path,
            blob: &blob,
            lines: &all,
            algorithm,
        };
        let ours = blame_lines(req, &|| Ok(())).expect("blame");
        assert_eq!(ours, porcelain(dir, "HEAD", path), "{path}");
        let some: Vec<u32> = (0..n).step_by(2).collect();
        let part = blame_lines(
            BlameRequest {
                lines: &some,
                ..req
            },
            &|| Ok(()),
        )
        .expect("blame");
        let expected: Vec<BlamedLine> = porcelain(dir, "HEAD", path)
            .into_iter()
            .filter(|b| b.line % 2 == 0)
            .collect();
        assert_eq!(part, expected, "{path}, every other line");
    }

    /// History across a directory move (with an edit in the moving commit), and a file added
    /// while an unrelated one is deleted: every line's commit, source path and source line
    /// match `git blame`, whichever way the blame went.
    #[test]
    fn blame_across_a_directory_move_matches_git_line_by_line() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        git(dir, &["init", "-q"]);
        let a: Vec<String> = (1..=30).map(|i| format!("int a_{i} = {i};\n")).collect();
        write(dir, "lib/net/a.c", &a.concat());
        write(dir, "lib/net/b.c", "int b = 1;\nint c = 2;\n");
        write(dir, "notes.txt", "nothing to see\n");
        commit(dir, "add the net library");
        let mut a2 = a.clone();
        a2[2] = "int a_3 = 33;\n".into();
        a2.insert(10, "int inserted = 0;\n".into());
        write(dir, "lib/net/a.c", &a2.concat());
        commit(dir, "net: change a_3");
        git(dir, &["mv", "lib/net", "drivers"]);
        let mut a3 = a2.clone();
        a3[20] = "int a_20 = 2020;\n".into();
        write(dir, "drivers/a.c", &a3.concat());
        commit(dir, "move the net library to drivers");
        git(dir, &["rm", "-q", "notes.txt"]);
        write(dir, "drivers/c.c", "int c_only = 3;\nint c_two = 4;\n");
        commit(dir, "drop the notes, add c.c");
        let mut a4 = a3.clone();
        a4[25] = "int a_25 = 2525;\n".into();
        write(dir, "drivers/a.c", &a4.concat());
        commit(dir, "drivers: change a_25");

        for path in ["drivers/a.c", "drivers/b.c", "drivers/c.c"] {
            assert_blame_matches_git(dir, path);
        }
        // The moved lines reach the first commit under their old path.
        let a_blame = porcelain(dir, "HEAD", "drivers/a.c");
        assert_eq!(a_blame[0].source_path.as_deref(), Some("lib/net/a.c"));
    }

    /// A trace blames the lines it follows one at a time, through the same commits. With a
    /// reader that remembers, the rename in a directory move is looked for once, and each
    /// version of the file diffed with the one before once, not once per line: a commit
    /// that regenerated many files made a trace take minutes, and a file with a long
    /// history tens of seconds. Each line still matches `git blame`.
    #[test]
    fn a_remembering_reader_looks_for_renames_and_diffs_once() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        git(dir, &["init", "-q"]);
        let a: Vec<String> = (1..=12).map(|i| format!("int a_{i} = {i};\n")).collect();
        write(dir, "lib/a.c", &a.concat());
        write(dir, "lib/b.c", "int b = 1;\n");
        commit(dir, "add the library");
        let mut a2 = a.clone();
        a2[2] = "int a_3 = 33;\n".into();
        write(dir, "lib/a.c", &a2.concat());
        commit(dir, "change a_3");
        git(dir, &["mv", "lib", "drivers"]);
        a2[5] = "int a_6 = 66;\n".into();
        write(dir, "drivers/a.c", &a2.concat());
        commit(dir, "move the library to drivers");

        let repo = gix::open(dir).expect("open");
        let head = repo.head_id().expect("head").detach();
        let algorithm = repo.diff_algorithm().expect("algorithm");
        let blob = std::fs::read(dir.join("drivers/a.c")).expect("read");
        let path = RepoPath::from_tree("drivers/a.c");
        let expected = porcelain(dir, "HEAD", "drivers/a.c");
        let count = |odb: &crate::odb::ObjectReader<'_>| {
            let searches = super::RENAME_SEARCHES.with(|n| n.get());
            let diffs = super::LINE_DIFFS.with(|n| n.get());
            let reads = super::VERSIONS_READ.with(|n| n.get());
            for (line, want) in expected.iter().enumerate() {
                let req = BlameRequest {
                    repo: &repo,
                    odb,
                    start: head,
                    path: &path,
                    blob: &blob,
                    lines: &[line as u32],
                    algorithm,
                };
                let got = blame_lines(req, &|| Ok(())).expect("blame");
                assert_eq!(got, std::slice::from_ref(want), "line {line}");
            }
            (
                super::RENAME_SEARCHES.with(|n| n.get()) - searches,
                super::LINE_DIFFS.with(|n| n.get()) - diffs,
                super::VERSIONS_READ.with(|n| n.get()) - reads,
            )
        };
        // Every line's blame passes the move; those older than "change a_3" go on to it.
        // A remembering reader reads a version only for a diff it has not made yet.
        assert_eq!(count(&crate::odb::ObjectReader::new(&repo)), (12, 23, 23));
        assert_eq!(
            count(&crate::odb::ObjectReader::new(&repo).remembering()),
            (1, 2, 2)
        );
    }

    /// Merges whose file differs from every parent's (both sides changed it, and one merge
    /// changed it itself), one inside the other: every line's commit, source path and
    /// source line match `git blame`.
    #[test]
    fn blame_through_merges_that_changed_the_file_matches_git_line_by_line() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        let mut f: Vec<String> = (1..=40).map(|i| format!("int v_{i} = {i};\n")).collect();
        // Set line `i` of `f` to `v` and commit it.
        let change = |f: &mut Vec<String>, i: usize, v: &str, message: &str| {
            f[i - 1] = format!("int v_{i} = {v};\n");
            write(dir, "src/v.c", &f.concat());
            commit(dir, message);
        };
        write(dir, "src/v.c", &f.concat());
        commit(dir, "add v.c");
        // A side branch changes lines 5 and 30.
        git(dir, &["checkout", "-q", "-b", "side"]);
        let mut side = f.clone();
        change(&mut side, 5, "55", "side: v_5");
        change(&mut side, 30, "3030", "side: v_30");
        // Main changes lines 10 and 20, and a second branch from there changes line 15.
        git(dir, &["checkout", "-q", "main"]);
        change(&mut f, 10, "1010", "main: v_10");
        git(dir, &["checkout", "-q", "-b", "other"]);
        let mut other = f.clone();
        change(&mut other, 15, "1515", "other: v_15");
        git(dir, &["checkout", "-q", "main"]);
        change(&mut f, 20, "2020", "main: v_20");
        // Merge side, changing line 35 in the merge itself.
        git(dir, &["merge", "-q", "--no-ff", "--no-commit", "side"]);
        let mut merged = std::fs::read_to_string(dir.join("src/v.c")).expect("read");
        merged = merged.replace("int v_35 = 35;", "int v_35 = 3535;");
        write(dir, "src/v.c", &merged);
        commit(dir, "merge side, with v_35");
        // Merge other, then one more change on main.
        git(
            dir,
            &["merge", "-q", "--no-ff", "-m", "merge other", "other"],
        );
        let mut last = std::fs::read_to_string(dir.join("src/v.c")).expect("read");
        last = last.replace("int v_1 = 1;", "int v_1 = 11;");
        write(dir, "src/v.c", &last);
        commit(dir, "main: v_1");

        let before = super::MERGES_SPLIT.with(|m| m.get());
        assert_blame_matches_git(dir, "src/v.c");
        // Both merges were split here, not handed to gix-blame (twice: all lines, then
        // every other line).
        assert_eq!(super::MERGES_SPLIT.with(|m| m.get()) - before, 4);
        // Each change is its own commit's, the merge's own edit the merge's.
        let subject = blamed_subjects(dir, "src/v.c");
        assert_eq!(subject(5), "side: v_5");
        assert_eq!(subject(15), "other: v_15");
        assert_eq!(subject(35), "merge side, with v_35");
        assert_eq!(subject(40), "add v.c");
    }

    /// Merges where a parent lacks the file: another project's history merged in (the
    /// merge also edits the file), and a side branch that renamed the file while the main
    /// line changed it. The walk splits both merges itself, passing no lines to the other
    /// project and the renamed side's lines to it under the old name, and every line
    /// matches `git blame`. gix-blame took 43 s on such a merge in NetworkManager's history.
    #[test]
    fn blame_through_merges_where_a_parent_lacks_the_file_matches_git() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path();
        git(dir, &["init", "-q", "-b", "main"]);
        let lines = |prefix: &str| -> Vec<String> {
            (1..=20)
                .map(|i| format!("int {prefix}_{i} = {i};\n"))
                .collect()
        };
        let mut f = lines("v");
        write(dir, "src/v.c", &f.concat());
        commit(dir, "add v.c");
        // Another project, with a history of its own, merged into ours.
        git(dir, &["checkout", "-q", "--orphan", "vendor"]);
        git(dir, &["rm", "-q", "-r", "--cached", "."]);
        std::fs::remove_dir_all(dir.join("src")).expect("rm");
        write(dir, "vendor/lib.c", &lines("lib").concat());
        commit(dir, "vendor: import lib");
        git(dir, &["checkout", "-q", "main"]);
        f[3] = "int v_4 = 44;\n".into();
        write(dir, "src/v.c", &f.concat());
        commit(dir, "main: v_4");
        git(
            dir,
            &[
                "merge",
                "-q",
                "--no-ff",
                "--no-commit",
                "--allow-unrelated-histories",
                "vendor",
            ],
        );
        f[7] = "int v_8 = 88;\n".into();
        write(dir, "src/v.c", &f.concat());
        commit(dir, "merge vendor, with v_8");
        // A side branch renames the file and changes it; main changes it too.
        git(dir, &["checkout", "-q", "-b", "side"]);
        git(dir, &["mv", "src/v.c", "src/w.c"]);
        let mut side = f.clone();
        side[11] = "int v_12 = 1212;\n".into();
        write(dir, "src/w.c", &side.concat());
        commit(dir, "side: rename to w.c, v_12");
        git(dir, &["checkout", "-q", "main"]);
        f[15] = "int v_16 = 1616;\n".into();
        write(dir, "src/v.c", &f.concat());
        commit(dir, "main: v_16");
        git(dir, &["merge", "-q", "--no-ff", "--no-commit", "side"]);
        let mut merged = std::fs::read_to_string(dir.join("src/w.c")).expect("read");
        merged = merged.replace("int v_18 = 18;", "int v_18 = 1818;");
        write(dir, "src/w.c", &merged);
        commit(dir, "merge side, with v_18");

        let before = super::MERGES_SPLIT.with(|m| m.get());
        assert_blame_matches_git(dir, "src/w.c");
        // Both merges split here, for all lines and then every other line.
        assert_eq!(super::MERGES_SPLIT.with(|m| m.get()) - before, 4);
        let subject = blamed_subjects(dir, "src/w.c");
        assert_eq!(subject(4), "main: v_4");
        assert_eq!(subject(8), "merge vendor, with v_8");
        assert_eq!(subject(12), "side: rename to w.c, v_12");
        assert_eq!(subject(16), "main: v_16");
        assert_eq!(subject(18), "merge side, with v_18");
        assert_eq!(subject(1), "add v.c");
        let blame = porcelain(dir, "HEAD", "src/w.c");
        assert_eq!(blame[0].source_path.as_deref(), Some("src/v.c"));
    }

    #[test]
    fn dates_use_the_author_offset() {
        assert_eq!(format_date(0, 0).as_deref(), Some("1970-01-01"));
        assert_eq!(format_date(0, -3600).as_deref(), Some("1969-12-31"));
        assert_eq!(format_date(1_733_400_000, 0).as_deref(), Some("2024-12-05"));
    }
}
