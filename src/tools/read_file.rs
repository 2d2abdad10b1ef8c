//! `read_file`: a file, or a range of its lines, from the work tree or a revision.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::json;

use super::{
    Ctx, MAX_FILE_BYTES, MAX_RESULT_BYTES, MAX_RESULT_LINES, RepoPath, RepoTool, ToolError,
    ToolOutput, resolve_commit,
};

pub struct ReadFile;

/// Arguments of `read_file`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The file, relative to the repository root.
    pub path: String,
    /// Read the file as it was at this revision instead of from the work tree.
    pub rev: Option<String>,
    /// First line to return (1-based, inclusive).
    pub start_line: Option<u32>,
    /// Last line to return (1-based, inclusive).
    pub end_line: Option<u32>,
}

/// Entries of a folder listed in the "is a folder" error at most.
const MAX_LISTED_ENTRIES: usize = 50;

/// The bytes of the file and what to say about them.
struct Content {
    bytes: Vec<u8>,
    note: Option<String>,
}

fn invalid(message: String) -> ToolError {
    ToolError::InvalidArguments {
        tool: ReadFile::NAME.into(),
        message,
    }
}

fn too_large(path: &RepoPath, size: u64) -> ToolError {
    ToolError::TooLarge {
        message: format!(
            "`{path}` is {size} bytes, over the {MAX_FILE_BYTES}-byte limit of read_file and search_files, so neither reads it; git_log with this `path` lists the commits that changed it"
        ),
    }
}

fn folder_error(path: &RepoPath, mut entries: Vec<String>) -> ToolError {
    entries.sort();
    let total = entries.len();
    let mut listed = entries
        .into_iter()
        .take(MAX_LISTED_ENTRIES)
        .collect::<Vec<_>>()
        .join(", ");
    if total > MAX_LISTED_ENTRIES {
        listed.push_str(&format!(", ... ({} more)", total - MAX_LISTED_ENTRIES));
    }
    let shown = if path.as_str().is_empty() {
        "."
    } else {
        path.as_str()
    };
    invalid(format!(
        "field `path`: `{shown}` is a folder, not a file; it holds: {listed}. Read one of its files"
    ))
}

impl RepoTool for ReadFile {
    type Params = Params;
    const NAME: &'static str = "read_file";
    const DESCRIPTION: &'static str =
        "Read a text file (or a range of its lines, numbered) from the work tree or at a revision.";

    fn run(&self, ctx: &Ctx<'_>, p: Params) -> Result<ToolOutput, ToolError> {
        if p.start_line == Some(0) {
            return Err(invalid(
                "field `start_line`: lines are numbered from 1".into(),
            ));
        }
        if p.end_line == Some(0) {
            return Err(invalid(
                "field `end_line`: lines are numbered from 1".into(),
            ));
        }
        if let (Some(s), Some(e)) = (p.start_line, p.end_line)
            && e < s
        {
            return Err(invalid(format!(
                "field `end_line`: {e} is before start_line {s}; give end_line >= start_line"
            )));
        }
        let path = ctx.sandbox.resolve(&p.path)?;
        let (content, commit) = if p.rev.is_none() && ctx.sandbox.has_worktree() {
            (read_worktree(ctx, &path)?, None)
        } else {
            let (c, sha) = read_rev(ctx, &path, p.rev.as_deref())?;
            (c, Some(sha))
        };
        render(&path, content, commit, p.start_line, p.end_line)
    }
}

fn read_worktree(ctx: &Ctx<'_>, path: &RepoPath) -> Result<Content, ToolError> {
    let real = ctx.sandbox.worktree_file(path)?;
    let io_err = |e: std::io::Error| ToolError::Io {
        message: format!("`{path}`: {e}"),
    };
    let meta = std::fs::metadata(&real).map_err(io_err)?;
    if meta.is_dir() {
        let mut entries = Vec::new();
        for entry in std::fs::read_dir(&real).map_err(io_err)?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == ".git" {
                continue;
            }
            let dir = entry.file_type().is_ok_and(|t| t.is_dir());
            entries.push(if dir { format!("{name}/") } else { name });
        }
        return Err(folder_error(path, entries));
    }
    if !meta.is_file() {
        return Err(invalid(format!(
            "field `path`: `{path}` is not a regular file (a device, socket or pipe)"
        )));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_large(path, meta.len()));
    }
    let bytes = std::fs::read(&real).map_err(io_err)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_large(path, bytes.len() as u64));
    }
    Ok(Content { bytes, note: None })
}

fn read_rev(
    ctx: &Ctx<'_>,
    path: &RepoPath,
    rev: Option<&str>,
) -> Result<(Content, String), ToolError> {
    let repo = ctx.sandbox.repo().map_err(|e| match rev {
        Some(_) => ToolError::Repository {
            message: format!(
                "`rev` needs a git repository: {e}; leave out `rev` to read the work tree"
            ),
        },
        None => e,
    })?;
    let commit = resolve_commit(&repo, rev)?;
    let sha = commit.id.to_string();
    let short = &sha[..sha.len().min(12)];
    let tree = commit
        .tree()
        .map_err(|e| ToolError::git("reading the commit's tree", e))?;
    let list_tree = |t: &gix::Tree<'_>| -> Vec<String> {
        t.iter()
            .filter_map(Result::ok)
            .map(|e| {
                let name = e.filename().to_string();
                if e.mode().is_tree() {
                    format!("{name}/")
                } else {
                    name
                }
            })
            .collect()
    };
    if path.as_str().is_empty() {
        return Err(folder_error(path, list_tree(&tree)));
    }
    let entry = tree
        .lookup_entry_by_path(path.as_str())
        .map_err(|e| ToolError::git("looking up the path", e))?
        .ok_or_else(|| ToolError::NotFound {
            what: format!(
                "`{path}` does not exist at {short}; list files with search_files or check the path"
            ),
        })?;
    let mode = entry.mode();
    if mode.is_commit() {
        return Err(invalid(format!(
            "field `path`: `{path}` is a submodule (commit {}) at {short}; its files live in another repository",
            entry.object_id()
        )));
    }
    if mode.is_tree() {
        let sub = entry
            .object()
            .map_err(|e| ToolError::git("reading the folder", e))?
            .into_tree();
        return Err(folder_error(path, list_tree(&sub)));
    }
    let header = repo
        .find_header(entry.object_id())
        .map_err(|e| ToolError::git("reading the file", e))?;
    if header.size() > MAX_FILE_BYTES {
        return Err(too_large(path, header.size()));
    }
    let object = entry
        .object()
        .map_err(|e| ToolError::git("reading the file", e))?;
    let bytes = object.detach().data;
    let note = if mode.is_link() {
        Some(format!(
            "`{path}` is a symlink at {short}; its target is shown (read the target path to see its content)"
        ))
    } else {
        None
    };
    Ok((Content { bytes, note }, sha))
}

fn render(
    path: &RepoPath,
    content: Content,
    commit: Option<String>,
    start_line: Option<u32>,
    end_line: Option<u32>,
) -> Result<ToolOutput, ToolError> {
    if content.bytes.contains(&0) {
        return Err(invalid(format!(
            "field `path`: `{path}` is a binary file (it holds NUL bytes); read_file shows text only"
        )));
    }
    let mut notes: Vec<String> = content.note.into_iter().collect();
    let text = match String::from_utf8(content.bytes) {
        Ok(s) => s,
        Err(e) => {
            notes.push("not valid UTF-8: invalid bytes are shown as \u{FFFD}".into());
            String::from_utf8_lossy(e.as_bytes()).into_owned()
        }
    };
    let body = text.strip_suffix('\n').unwrap_or(&text);
    let lines: Vec<&str> = if text.is_empty() {
        Vec::new()
    } else {
        body.split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .collect()
    };
    let total = lines.len();
    let start = start_line.unwrap_or(1) as usize;
    if total == 0 {
        if start > 1 {
            return Err(invalid(format!("field `start_line`: `{path}` is empty")));
        }
        let header = format!("{path} (empty file)");
        return Ok(finish(
            path,
            commit,
            header,
            notes,
            String::new(),
            0,
            0,
            0,
            String::new(),
        ));
    }
    if start > total {
        return Err(invalid(format!(
            "field `start_line`: {start} is past the end; `{path}` has {total} lines"
        )));
    }
    let mut end = match end_line {
        Some(e) => (e as usize).min(total),
        None => total,
    };
    // Without an explicit end, stop where the result would be cut anyway and say how to go on.
    if end_line.is_none() {
        let budget = MAX_RESULT_BYTES - 512;
        let mut bytes = 0;
        let mut stop = start - 1;
        while stop < end && stop - (start - 1) < MAX_RESULT_LINES - 4 {
            bytes += lines[stop].len() + 10;
            if bytes > budget && stop > start - 1 {
                break;
            }
            stop += 1;
        }
        if stop < end {
            end = stop;
            notes.push(format!(
                "more follows: continue with start_line={}",
                end + 1
            ));
        }
    }
    let width = end.to_string().len();
    let mut numbered = String::new();
    let mut raw = String::new();
    for (i, line) in lines[start - 1..end].iter().enumerate() {
        numbered.push_str(&format!("{:>width$}| {line}\n", start + i));
        raw.push_str(line);
        raw.push('\n');
    }
    let header = format!("{path} (lines {start}-{end} of {total})");
    Ok(finish(
        path, commit, header, notes, numbered, start, end, total, raw,
    ))
}

#[allow(clippy::too_many_arguments)]
fn finish(
    path: &RepoPath,
    commit: Option<String>,
    header: String,
    notes: Vec<String>,
    numbered: String,
    start: usize,
    end: usize,
    total: usize,
    raw: String,
) -> ToolOutput {
    let mut text = header;
    if let Some(sha) = &commit {
        text.push_str(&format!(" at {}", &sha[..sha.len().min(12)]));
    }
    text.push('\n');
    for n in &notes {
        text.push_str(&format!("note: {n}\n"));
    }
    text.push_str(&numbered);
    let mut data = json!({
        "path": path.as_str(),
        "rev": commit,
        "start_line": start,
        "end_line": end,
        "total_lines": total,
        "text": raw,
    });
    if !notes.is_empty()
        && let Some(obj) = data.as_object_mut()
    {
        obj.insert("notes".into(), json!(notes));
    }
    let out = ToolOutput::new(text, data);
    match commit {
        Some(sha) => out.at(sha),
        None => out,
    }
}
