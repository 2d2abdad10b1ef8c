//! `git_show`: one commit's message, stat and (truncated) patch.

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::diff::blob::{Algorithm, Diff, InternedInput};
use gix::objs::tree::EntryMode;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::git_log::format_datetime;
use super::{Ctx, MAX_FILE_BYTES, RepoTool, ToolError, ToolOutput, resolve_commit};
use crate::diff::{FileChange, Status, changes_of};
use crate::text::commit_text;

pub struct GitShow;

/// Arguments of `git_show`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The commit (sha, short sha, tag or branch).
    pub commit: String,
    /// Only the changes to this path (a file or folder).
    pub path: Option<String>,
}

/// The patch text stops growing past this size (the registry cuts far earlier; this bounds
/// memory and time).
const MAX_PATCH_BYTES: usize = 2 * 1024 * 1024;
/// Files the text's stat lists, at most: a sweep of hundreds would push the total, and the
/// patch, out of what a tool result shows. The JSON lists every file.
const MAX_STAT_FILES: usize = 100;
/// Lines of context around each change, like `git diff`.
const CONTEXT: u32 = 3;
/// Bytes git inspects to decide a file is binary.
const BINARY_SNIFF_BYTES: usize = 8000;

fn under(path: &str, prefix: &str) -> bool {
    path == prefix
        || (path.len() > prefix.len()
            && path.starts_with(prefix)
            && path.as_bytes()[prefix.len()] == b'/')
}

fn read_blob(
    repo: &gix::Repository,
    side: Option<(ObjectId, EntryMode)>,
) -> Result<Option<Vec<u8>>, ToolError> {
    let Some((id, mode)) = side else {
        return Ok(Some(Vec::new()));
    };
    if mode.is_commit() {
        // A submodule: its "content" is the commit it points to.
        return Ok(Some(format!("Subproject commit {id}\n").into_bytes()));
    }
    let header = repo
        .find_header(id)
        .map_err(|e| ToolError::git("reading a file", e))?;
    if header.size() > MAX_FILE_BYTES {
        return Ok(None);
    }
    let blob = repo
        .find_blob(id)
        .map_err(|e| ToolError::git("reading a file", e))?;
    Ok(Some(blob.data.clone()))
}

fn is_binary(data: &[u8]) -> bool {
    data[..data.len().min(BINARY_SNIFF_BYTES)].contains(&0)
}

/// `start,len` of a hunk side as git prints it (`start` is 0-based here).
fn hunk_range(start: u32, len: u32) -> String {
    match len {
        0 => format!("{start},0"),
        1 => format!("{}", start + 1),
        _ => format!("{},{len}", start + 1),
    }
}

fn push_line(out: &mut String, prefix: char, line: &[u8]) {
    out.push(prefix);
    out.push_str(&line.to_str_lossy());
    if !line.ends_with(b"\n") {
        out.push_str("\n\\ No newline at end of file\n");
    }
}

/// Bytes of a function line git prints after a hunk's range at most.
const FUNC_LINE_BYTES: usize = 80;

/// The function line git's default rule takes from `line`: one that starts with a letter,
/// `_` or `$`, cut at [`FUNC_LINE_BYTES`] and stripped of trailing whitespace.
fn func_line(line: &[u8]) -> Option<&[u8]> {
    let first = *line.first()?;
    if !(first.is_ascii_alphabetic() || first == b'_' || first == b'$') {
        return None;
    }
    let cut = &line[..line.len().min(FUNC_LINE_BYTES)];
    let end = cut
        .iter()
        .rposition(|b| !b.is_ascii_whitespace() && *b != 0x0b)
        .map_or(0, |p| p + 1);
    Some(&cut[..end])
}

/// Unified hunks of a line diff, with [`CONTEXT`] lines around each change. Each hunk's
/// header names the nearest line above it that git's default rule takes for a function
/// (`@@ -5,8 +5,8 @@ def backoff(attempt):`), as `git show` prints it.
fn write_hunks(out: &mut String, diff: &Diff, input: &InternedInput<&[u8]>) {
    let hunks: Vec<_> = diff.hunks().collect();
    let before_len = input.before.len() as u32;
    let line = |t| input.interner[t];
    // The function line found for the last hunk, and where its search stopped: the next
    // hunk searches down to there and keeps it when nothing nearer matches.
    let mut func: Option<&[u8]> = None;
    let mut searched_to: u32 = 0;
    let mut i = 0;
    while i < hunks.len() {
        let mut j = i;
        while j + 1 < hunks.len() && hunks[j + 1].before.start - hunks[j].before.end <= 2 * CONTEXT
        {
            j += 1;
        }
        let pre = CONTEXT.min(hunks[i].before.start);
        let bstart = hunks[i].before.start - pre;
        let astart = hunks[i].after.start - pre;
        let post = CONTEXT.min(before_len - hunks[j].before.end);
        let bend = hunks[j].before.end + post;
        let aend = hunks[j].after.end + post;
        if let Some(found) = (searched_to..bstart)
            .rev()
            .find_map(|l| func_line(line(input.before[l as usize])))
        {
            func = Some(found);
        }
        searched_to = bstart;
        out.push_str(&format!(
            "@@ -{} +{} @@",
            hunk_range(bstart, bend - bstart),
            hunk_range(astart, aend - astart)
        ));
        if let Some(f) = func {
            out.push(' ');
            out.push_str(&f.to_str_lossy());
        }
        out.push('\n');
        let mut pos = bstart;
        for h in &hunks[i..=j] {
            for &t in &input.before[pos as usize..h.before.start as usize] {
                push_line(out, ' ', line(t));
            }
            for &t in &input.before[h.before.start as usize..h.before.end as usize] {
                push_line(out, '-', line(t));
            }
            for &t in &input.after[h.after.start as usize..h.after.end as usize] {
                push_line(out, '+', line(t));
            }
            pos = h.before.end;
        }
        for &t in &input.before[pos as usize..bend as usize] {
            push_line(out, ' ', line(t));
        }
        i = j + 1;
    }
}

fn short(id: &ObjectId) -> String {
    id.to_hex_with_len(7).to_string()
}

fn mode_str(mode: EntryMode) -> String {
    format!("{:06o}", mode.value())
}

/// The `diff --git` header lines of one file.
fn file_header(f: &FileChange) -> String {
    let mut h = format!("diff --git a/{} b/{}\n", f.old_path, f.new_path);
    let zero = "0000000";
    match (&f.old, &f.new) {
        (None, Some((id, mode))) => {
            h.push_str(&format!(
                "new file mode {}\nindex {zero}..{}\n",
                mode_str(*mode),
                short(id)
            ));
        }
        (Some((id, mode)), None) => {
            h.push_str(&format!(
                "deleted file mode {}\nindex {}..{zero}\n",
                mode_str(*mode),
                short(id)
            ));
        }
        (Some((oid, omode)), Some((nid, nmode))) => {
            if f.status == Status::Renamed {
                if oid == nid {
                    h.push_str("similarity index 100%\n");
                }
                h.push_str(&format!(
                    "rename from {}\nrename to {}\n",
                    f.old_path, f.new_path
                ));
            }
            if omode != nmode {
                h.push_str(&format!(
                    "old mode {}\nnew mode {}\n",
                    mode_str(*omode),
                    mode_str(*nmode)
                ));
            }
            if oid != nid {
                if omode == nmode {
                    h.push_str(&format!(
                        "index {}..{} {}\n",
                        short(oid),
                        short(nid),
                        mode_str(*nmode)
                    ));
                } else {
                    h.push_str(&format!("index {}..{}\n", short(oid), short(nid)));
                }
            }
        }
        (None, None) => {}
    }
    h
}

impl RepoTool for GitShow {
    type Params = Params;
    const NAME: &'static str = "git_show";
    const DESCRIPTION: &'static str = "Show one commit: author, date (and the commit date when it is another day), full message, changed files with added/removed line counts, and the patch (truncated).";

    fn run(&self, ctx: &Ctx<'_>, p: Params) -> Result<ToolOutput, ToolError> {
        if p.commit.trim().is_empty() {
            return Err(ToolError::InvalidArguments {
                tool: Self::NAME.into(),
                message: "field `commit`: empty; give a sha, tag or branch".into(),
            });
        }
        let filter = ctx
            .sandbox
            .resolve_filter(p.path.as_deref())?
            .map(|rp| rp.as_str().to_string());
        let repo = ctx.sandbox.repo()?;
        let commit = resolve_commit(&repo, Some(p.commit.trim()))?;
        let sha = commit.id.to_hex().to_string();
        let decoded = commit
            .decode()
            .map_err(|e| ToolError::git("decoding the commit", e))?;
        let author = decoded
            .author()
            .map_err(|e| ToolError::git("decoding the commit", e))?;
        let encoding = decoded.encoding.map(|e| e.as_ref());
        let name = commit_text(author.name, encoding).trim().to_string();
        let email = author.email.to_str_lossy().trim().to_string();
        let date = author.time().map_or_else(
            |_| format_datetime(0, 0),
            |t| format_datetime(t.seconds, t.offset),
        );
        // When it entered the history, when that is another day than it was written (a
        // patch applied or rebased later).
        let committed = decoded
            .committer()
            .ok()
            .and_then(|c| c.time().ok())
            .map(|t| format_datetime(t.seconds, t.offset));
        let committed_later = committed
            .as_deref()
            .filter(|c| c.get(..10) != date.get(..10));
        let message = commit_text(decoded.message, encoding).into_owned();
        let parents: Vec<ObjectId> = decoded.parents().collect();
        let tree = commit
            .tree()
            .map_err(|e| ToolError::git("reading the commit's tree", e))?;
        // Merges are shown against their first parent; a root commit (or a shallow boundary)
        // against the empty tree.
        let parent_tree = match parents.first() {
            Some(pid) if repo.has_object(pid) => Some(
                repo.find_commit(*pid)
                    .and_then(|c| c.tree())
                    .map_err(|e| ToolError::git("reading the parent commit", e))?,
            ),
            _ => None,
        };
        let opts =
            gix::diff::Options::default().with_rewrites(Some(gix::diff::Rewrites::default()));
        let list = repo
            .diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), Some(opts))
            .map_err(|e| ToolError::git("comparing trees", e))?;
        let mut files = changes_of(list);
        if let Some(prefix) = &filter {
            files.retain(|f| under(&f.new_path, prefix) || under(&f.old_path, prefix));
        }

        let mut text = format!("commit {sha}\n");
        if parents.len() > 1 {
            let ps: Vec<String> = parents.iter().map(short).collect();
            text.push_str(&format!(
                "Merge: {} (diff against the first parent)\n",
                ps.join(" ")
            ));
        }
        text.push_str(&format!("Author: {name} <{email}>\nDate:   {date}\n"));
        if let Some(c) = committed_later {
            text.push_str(&format!("Committed: {c}\n"));
        }
        // Where a shallow clone's history stops, its parent is missing: the diff is against
        // nothing, so every file reads as added by it.
        let boundary = parents.first().is_some_and(|p| !repo.has_object(p));
        if boundary {
            text.push_str("Note: a shallow clone's history stops at this commit, so it is shown as adding every file it holds; fetch the history (`git fetch --unshallow`) to see what it changed\n");
        }
        text.push('\n');
        for l in message.trim_end().lines() {
            text.push_str("    ");
            text.push_str(l);
            text.push('\n');
        }
        text.push('\n');

        let mut stat = String::new();
        let mut patch = String::new();
        let mut entries: Vec<Value> = Vec::new();
        let (mut total_add, mut total_del) = (0u64, 0u64);
        let mut patch_cut = false;
        for (i, f) in files.iter().enumerate() {
            ctx.check_deadline()?;
            let old = read_blob(&repo, f.old)?;
            let new = read_blob(&repo, f.new)?;
            let shown = if f.status == Status::Renamed {
                format!("{} => {}", f.old_path, f.new_path)
            } else {
                f.new_path.clone()
            };
            let (binary, added, removed) = match (&old, &new) {
                (Some(o), Some(n)) if !is_binary(o) && !is_binary(n) => {
                    let input = InternedInput::new(o.as_slice(), n.as_slice());
                    let mut diff = Diff::compute(Algorithm::Myers, &input);
                    diff.postprocess_lines(&input);
                    let (a, r) = (diff.count_additions(), diff.count_removals());
                    if !patch_cut {
                        patch.push_str(&file_header(f));
                        if a + r > 0 {
                            let (from, to) = (
                                if f.old.is_some() {
                                    format!("a/{}", f.old_path)
                                } else {
                                    "/dev/null".into()
                                },
                                if f.new.is_some() {
                                    format!("b/{}", f.new_path)
                                } else {
                                    "/dev/null".into()
                                },
                            );
                            patch.push_str(&format!("--- {from}\n+++ {to}\n"));
                            write_hunks(&mut patch, &diff, &input);
                        }
                    }
                    (false, a, r)
                }
                _ => {
                    if !patch_cut {
                        patch.push_str(&file_header(f));
                        if old.as_ref().is_none_or(|o| !o.is_empty())
                            || new.as_ref().is_none_or(|n| !n.is_empty())
                        {
                            let from = if f.old.is_some() {
                                format!("a/{}", f.old_path)
                            } else {
                                "/dev/null".into()
                            };
                            let to = if f.new.is_some() {
                                format!("b/{}", f.new_path)
                            } else {
                                "/dev/null".into()
                            };
                            patch.push_str(&format!("Binary files {from} and {to} differ\n"));
                        }
                    }
                    (true, 0, 0)
                }
            };
            if patch.len() > MAX_PATCH_BYTES && !patch_cut {
                patch_cut = true;
                patch.push_str("[... patch cut at 2 MB; pass `path` to see one file ...]\n");
            }
            total_add += u64::from(added);
            total_del += u64::from(removed);
            if i < MAX_STAT_FILES {
                stat.push_str(&if binary {
                    format!("{shown} | binary\n")
                } else {
                    format!("{shown} | +{added} -{removed}\n")
                });
            }
            let mut entry = json!({
                "path": f.new_path,
                "status": f.status.as_str(),
                "added": added,
                "removed": removed,
                "binary": binary,
            });
            if f.status == Status::Renamed
                && let Some(obj) = entry.as_object_mut()
            {
                obj.insert("old_path".into(), json!(f.old_path));
            }
            entries.push(entry);
        }
        if files.is_empty() {
            text.push_str(match &filter {
                Some(prefix) => {
                    stat = format!("no changes to `{prefix}` in this commit\n");
                    &stat
                }
                None => "no file changes\n",
            });
        } else {
            text.push_str(&stat);
            if files.len() > MAX_STAT_FILES {
                text.push_str(&format!(
                    "[... {} more files; the structured result lists every one ...]\n",
                    files.len() - MAX_STAT_FILES
                ));
            }
            text.push_str(&format!(
                "{} file{} changed, +{total_add} -{total_del}\n\n",
                files.len(),
                if files.len() == 1 { "" } else { "s" }
            ));
            text.push_str(&patch);
        }
        Ok(ToolOutput::new(
            text,
            json!({
                "sha": sha,
                "author": name,
                "email": email,
                "date": date,
                "committed": committed,
                "message": message,
                "parents": parents.iter().map(|p| p.to_hex().to_string()).collect::<Vec<_>>(),
                "shallow_boundary": boundary,
                "files": entries,
            }),
        )
        .at(sha.clone()))
    }
}
