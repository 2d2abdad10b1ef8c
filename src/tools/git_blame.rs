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

pub struct GitBlame;

/// Lines the structured result carries at most; `truncated` says when more were blamed.
pub const MAX_DATA_LINES: usize = 2_000;

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
        let ranges = if start == 1 && end == line_count {
            gix::blame::BlameRanges::WholeFile
        } else {
            gix::blame::BlameRanges::from_one_based_inclusive_range(start..=end)
                .map_err(|e| invalid(format!("line range {start}..={end}: {e}")))?
        };
        let algorithm = repo
            .diff_algorithm()
            .map_err(|e| ToolError::git("reading diff.algorithm", e))?;
        let odb = crate::odb::ObjectReader::new(&repo);
        let linear = blame_linear(
            ctx,
            &repo,
            &odb,
            commit_id,
            &path,
            &blob,
            (start - 1)..end,
            algorithm,
        )?;
        let finished = match linear {
            Linear::Done(runs) => Some(runs),
            // gix-blame takes over where the walk stopped, for the lines still unblamed.
            Linear::Stopped { at, blamed, rest } => {
                ctx.check_deadline()?;
                finish_with_gix(&odb, &path, at, blamed, &rest, algorithm)?
            }
            Linear::GiveUp => None,
        };
        let (entries, blamed_blob): (Runs, Vec<u8>) = match finished {
            Some(entries) => (entries, blob),
            None => {
                // gix-blame from the start: it follows renames and merges, as `git blame`.
                let outcome = odb
                    .blame_file(
                        path.as_str().as_bytes().as_bstr(),
                        commit_id,
                        ranges,
                        Some(algorithm),
                    )
                    .map_err(|e| ToolError::git(&format!("blaming `{path}` at `{rev_name}`"), e))?;
                let entries = outcome
                    .entries
                    .iter()
                    .map(|e| (e.start_in_blamed_file, e.len.get(), e.commit_id))
                    .collect();
                (entries, outcome.blob)
            }
        };
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
        let truncated = blamed > lines.len();
        let data = json!({
            "path": path.as_str(),
            "rev": commit_id.to_string(),
            "start_line": start,
            "end_line": end,
            "total_lines": line_count,
            "lines": lines,
            "truncated": truncated,
        });
        Ok(ToolOutput::new(text, data).at(commit_id.to_string()))
    }
}

/// How far the linear blame got.
enum Linear {
    /// Every line blamed.
    Done(Runs),
    /// Stopped at commit `at`, where the history is not linear for the file: a merge whose
    /// file differs from every parent's, or an addition in a commit that also removes a
    /// file (a possible rename). `blamed`: (line, commit) so far; `rest`: (line in the blamed
    /// file, line in `at`'s version) still to blame, by the latter.
    Stopped {
        at: gix::ObjectId,
        blamed: Vec<(u32, gix::ObjectId)>,
        rest: Vec<(u32, u32)>,
    },
    /// The walk ran out before every line was blamed: blame from the start with gix-blame.
    GiveUp,
}

/// Blame of `lines` (0-based, of `blob`, the file at `start`) along the path's linear
/// history: the commits that changed the path (found as `git_log` finds them, skipping with
/// the commit-graph's changed-path filters when it has them, as `git blame` does), each
/// diffed with its parent's version to pass unchanged lines back. At a merge whose file is
/// the same as one parent's, everything passes to that parent, as in `git blame`.
#[allow(clippy::too_many_arguments)]
fn blame_linear(
    ctx: &Ctx<'_>,
    repo: &gix::Repository,
    odb: &crate::odb::ObjectReader<'_>,
    start: gix::ObjectId,
    path: &RepoPath,
    blob: &[u8],
    lines: std::ops::Range<u32>,
    algorithm: gix::diff::blob::Algorithm,
) -> Result<Linear, ToolError> {
    let mut index = PathIndex::new(repo, odb, path);
    let depth = index.depth();
    let mut walk = Walk::new(repo, odb, &[start])?;
    // Lines not blamed yet: (line in the blamed file, line in `current`), by the latter.
    let mut unblamed: Vec<(u32, u32)> = lines.map(|l| (l, l)).collect();
    let mut blamed: Vec<(u32, gix::ObjectId)> = Vec::with_capacity(unblamed.len());
    let mut current: Vec<u8> = blob.to_vec();
    let mut buf = Vec::new();
    let mut n = 0usize;
    while let Some(p) = walk.pop() {
        if n.is_multiple_of(DEADLINE_CHECK_COMMITS) {
            ctx.check_deadline()?;
        }
        n += 1;
        let parent_count = p.facts.parents.len();
        if parent_count > 1 {
            // A merge: as `git blame`, every line goes to the first parent with the same
            // file, and history follows that parent only. A file that differs from every
            // parent mixes both sides: gix-blame.
            let mine = index.level(p.id, p.facts.tree, depth)?;
            let mut same = None;
            for &parent in &p.facts.parents {
                let Some(tree) = walk.tree_of(parent)? else {
                    continue;
                };
                if index.level(parent, tree, depth)? == mine {
                    same = Some(parent);
                    break;
                }
            }
            index.forget(p.id);
            match same {
                Some(parent) => {
                    walk.expand_only(parent)?;
                    continue;
                }
                None => {
                    return Ok(Linear::Stopped {
                        at: p.id,
                        blamed,
                        rest: unblamed,
                    });
                }
            }
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
        let Some(parent_entry) = parent_entry else {
            if let Some((_, parent_tree)) = first
                && removes_a_file(repo, parent_tree, p.facts.tree)?
            {
                // Added here while another file went: maybe a rename, which gix-blame follows.
                return Ok(Linear::Stopped {
                    at: p.id,
                    blamed,
                    rest: unblamed,
                });
            }
            // A root commit (or the edge of a shallow clone): the rest is from here.
            blamed.extend(unblamed.drain(..).map(|(line, _)| (line, p.id)));
            break;
        };
        let old = match odb.find_blob(&parent_entry, &mut buf) {
            Ok(b) => b.data.to_vec(),
            // Not a file in the parent (a folder or a submodule): leave it to gix-blame.
            Err(_) => {
                return Ok(Linear::Stopped {
                    at: p.id,
                    blamed,
                    rest: unblamed,
                });
            }
        };
        let input = gix::diff::blob::InternedInput::new(old.as_slice(), current.as_slice());
        let mut diff = gix::diff::blob::Diff::compute(algorithm, &input);
        diff.postprocess_lines(&input);
        // Walk the hunks and the unblamed lines (both ordered by line in `current`).
        let mut hunks = diff.hunks().peekable();
        // Old line = new line + shift, for lines after the last hunk passed.
        let mut shift: i64 = 0;
        let mut still = Vec::with_capacity(unblamed.len());
        for (line, cur) in unblamed.drain(..) {
            while let Some(h) = hunks.peek() {
                if h.after.end <= cur {
                    shift = i64::from(h.before.end) - i64::from(h.after.end);
                    hunks.next();
                } else {
                    break;
                }
            }
            let in_hunk = hunks
                .peek()
                .is_some_and(|h| h.after.start <= cur && cur < h.after.end);
            if in_hunk {
                blamed.push((line, p.id));
            } else {
                let old_line = u32::try_from(i64::from(cur) + shift).map_err(|_| {
                    ToolError::git("blaming", "a line mapped before the start of the file")
                })?;
                still.push((line, old_line));
            }
        }
        unblamed = still;
        current = old;
        if unblamed.is_empty() {
            break;
        }
        walk.expand(&p)?;
    }
    if !unblamed.is_empty() {
        return Ok(Linear::GiveUp);
    }
    Ok(Linear::Done(runs_of(blamed)))
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
    at: gix::ObjectId,
    mut blamed: Vec<(u32, gix::ObjectId)>,
    rest: &[(u32, u32)],
    algorithm: gix::diff::blob::Algorithm,
) -> Result<Option<Runs>, ToolError> {
    if rest.is_empty() {
        return Ok(Some(runs_of(blamed)));
    }
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
                blamed.push((line, e.commit_id));
            }
        }
    }
    Ok((blamed.len() - before == rest.len()).then(|| runs_of(blamed)))
}

/// Whether going from tree `old` to tree `new` deletes (or renames) a file.
fn removes_a_file(
    repo: &gix::Repository,
    old: gix::ObjectId,
    new: gix::ObjectId,
) -> Result<bool, ToolError> {
    let find = |id| {
        repo.find_tree(id)
            .map_err(|e| ToolError::git("reading a tree", e))
    };
    let (old, new) = (find(old)?, find(new)?);
    let changes = repo
        .diff_tree_to_tree(&old, &new, None)
        .map_err(|e| ToolError::git("comparing trees", e))?;
    Ok(changes.iter().any(|c| {
        matches!(
            c,
            gix::object::tree::diff::ChangeDetached::Deletion { .. }
                | gix::object::tree::diff::ChangeDetached::Rewrite { .. }
        )
    }))
}

/// Short sha, author name and author date (`YYYY-MM-DD`, in the author's time zone) of a commit.
fn commit_info(repo: &gix::Repository, id: gix::ObjectId) -> Result<CommitInfo, ToolError> {
    let commit = repo
        .find_commit(id)
        .map_err(|e| ToolError::git("reading a blamed commit", e))?;
    let author = commit
        .author()
        .map_err(|e| ToolError::git("reading a commit's author", e))?;
    let name = author.name.to_str_lossy().into_owned();
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
    use super::format_date;

    #[test]
    fn dates_use_the_author_offset() {
        assert_eq!(format_date(0, 0).as_deref(), Some("1970-01-01"));
        assert_eq!(format_date(0, -3600).as_deref(), Some("1969-12-31"));
        assert_eq!(format_date(1_733_400_000, 0).as_deref(), Some("2024-12-05"));
    }
}
