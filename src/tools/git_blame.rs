//! `git_blame`: for each line of a file, the commit that last changed it.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use gix::bstr::ByteSlice;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{Ctx, MAX_FILE_BYTES, RepoTool, ToolError, ToolOutput, resolve_commit};

pub struct GitBlame;

/// Lines the structured result carries at most; `truncated` says when more were blamed.
pub const MAX_DATA_LINES: usize = 2_000;

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
        let options = gix::repository::blame_file::Options {
            ranges,
            // Follow renames, as `git blame` does.
            rewrites: Some(gix::diff::Rewrites::default()),
            ..Default::default()
        };
        let outcome = repo
            .blame_file(path.as_str().as_bytes().as_bstr(), commit_id, options)
            .map_err(|e| ToolError::git(&format!("blaming `{path}` at `{rev_name}`"), e))?;
        ctx.check_deadline()?;

        // Line texts of the blamed file, by 0-based index.
        let texts: Vec<&[u8]> = outcome
            .blob
            .split_inclusive(|b| *b == b'\n')
            .map(|l| l.strip_suffix(b"\n").unwrap_or(l))
            .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
            .collect();

        let mut infos: HashMap<gix::ObjectId, CommitInfo> = HashMap::new();
        let mut text = String::new();
        let mut lines = Vec::new();
        let mut blamed = 0usize;
        let width = end.to_string().len();
        for entry in &outcome.entries {
            ctx.check_deadline()?;
            let info = match infos.entry(entry.commit_id) {
                Entry::Occupied(o) => o.into_mut(),
                Entry::Vacant(v) => v.insert(commit_info(&repo, entry.commit_id)?),
            };
            let from = entry.start_in_blamed_file;
            for idx in from..from + entry.len.get() {
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
                        "commit": entry.commit_id.to_string(),
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
