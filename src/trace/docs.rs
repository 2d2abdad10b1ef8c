//! Documentation-only fixes: the names a fix adds to the pages, and the code lines that
//! hold them (the change that brought a name into the code left it undocumented). A fix
//! that only adds names to an export list (a linker version script, a `.sym` file) is read
//! the same way: the change that brought a name in left it unexported.

use std::collections::HashMap;

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::lines::{Lang, is_doc, is_test, is_test_or_doc, lang_of};
use super::{MAX_FILES, TraceError, git_err, line_diff, read_text, split_lines};
use crate::diff::FileChange;

/// Names a documentation-only fix adds that are looked up in the code, at most.
const MAX_DOC_NAMES: usize = 8;

/// Code lines blamed for each name a documentation-only fix adds, at most.
const MAX_NAME_SITES: usize = 3;

/// Code files read when looking for the names a documentation-only fix adds, at most.
const MAX_NAME_SCAN_FILES: usize = 20_000;

/// Page text with roff font switches (`\fB`, `\f(CW`) and escaped hyphens (`\-`) undone, so that
/// `\-\-show\-exports` reads as `--show-exports`.
fn unescape_doc(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('-') => {
                out.push('-');
                chars.next();
            }
            // `\fB`, and `\f(CW` for a two-letter font name.
            Some('f') => {
                chars.next();
                let skip = if chars.next_if_eq(&'(').is_some() {
                    2
                } else {
                    1
                };
                for _ in 0..skip {
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The names written in `text` that look like code: long options (`--show-exports`, kept
/// as `show-exports`) and identifiers with an inner `_` (`MLX5DV_CONTEXT_MASK_X`), four
/// characters at least.
fn code_names(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    for w in text.split(|c: char| !word(c)) {
        let option = w.starts_with("--");
        let name = w.trim_start_matches('-').trim_end_matches(['-', '_']);
        let snake = name.trim_start_matches('_').contains('_');
        if name.len() >= 4
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && (option || snake && !name.contains('-'))
            && !out.iter().any(|o| o == name)
        {
            out.push(name.to_string());
        }
    }
    out
}

/// Whether `path` lists the names a library exports: a linker version script or
/// definition file, a `.sym` list, a Debian symbols file.
fn is_export_list(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    [
        ".sym", ".map", ".map.in", ".symbols", ".def", ".exports", ".ver",
    ]
    .iter()
    .any(|ext| name.ends_with(ext) && name.len() > ext.len())
}

/// What a fix that only adds names writes them into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Listing {
    /// The documentation.
    Docs,
    /// An export list (at least one of the files).
    Exports,
}

/// A fix that only adds to the documentation or to export lists, without deleting or
/// changing a line of them, documents or exports what an earlier change left out. Its
/// names ([`code_names`]) that the files did not have before are what that change brought
/// in. `None` for any other fix.
pub(super) fn documented_names(
    repo: &gix::Repository,
    changes: &[FileChange],
) -> Result<Option<(Vec<String>, Listing)>, TraceError> {
    if changes.is_empty() || changes.len() > MAX_FILES {
        return Ok(None);
    }
    let mut before = String::new();
    let mut added = String::new();
    let mut listing = Listing::Docs;
    for fc in changes {
        if fc.new.is_none() || is_test(&fc.new_path) {
            return Ok(None);
        }
        if is_export_list(&fc.new_path) {
            listing = Listing::Exports;
        } else if !is_doc(&fc.new_path) {
            return Ok(None);
        }
        let (Some(old), Some(new)) = (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
        else {
            return Ok(None);
        };
        let d = line_diff(&old, &new);
        if d.hunks.iter().any(|(b, _)| !b.is_empty()) {
            return Ok(None);
        }
        before.push_str(&unescape_doc(&old));
        for (_, a) in &d.hunks {
            for i in a.clone() {
                added.push_str(&unescape_doc(d.new[i as usize]));
            }
        }
    }
    let mut names: Vec<String> = code_names(&added)
        .into_iter()
        .filter(|n| !before.contains(n.as_str()))
        .collect();
    names.truncate(MAX_DOC_NAMES);
    Ok(Some((names, listing)))
}

/// Whether `name` occurs in `line` as a whole name: no letter, digit or `_` either side,
/// nor a `-` after it (one before it is an option's dashes).
fn holds_name(line: &[u8], name: &str) -> bool {
    let part = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(p) = line[from..].find(name.as_bytes()) {
        let at = from + p;
        let end = at + name.len();
        if (at == 0 || !part(line[at - 1])) && line.get(end).is_none_or(|b| !part(*b) && *b != b'-')
        {
            return true;
        }
        from = end;
    }
    false
}

/// A code line that holds a name: 0-based index and text.
type Site = (u32, Vec<u8>);

/// Code lines of `tree` that hold each of `names` ([`MAX_NAME_SITES`] each at most): (path,
/// lines, name).
pub(super) fn name_sites(
    repo: &gix::Repository,
    tree: ObjectId,
    names: &[String],
) -> Result<Vec<(String, Vec<Site>, String)>, TraceError> {
    let tree = repo
        .find_tree(tree)
        .map_err(|e| git_err("reading a tree", e))?;
    let files = tree
        .traverse()
        .breadthfirst
        .files()
        .map_err(|e| git_err("listing a tree", e))?;
    let mut found: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    let code = files.iter().filter(|e| {
        e.filepath.to_str().is_ok_and(|path| {
            e.mode.is_blob() && lang_of(path) != Lang::Other && !is_test_or_doc(path)
        })
    });
    for e in code.take(MAX_NAME_SCAN_FILES) {
        if names
            .iter()
            .all(|n| found.get(n.as_str()) >= Some(&MAX_NAME_SITES))
        {
            break;
        }
        let Some(data) = read_text(repo, Some(e.oid))? else {
            continue;
        };
        for name in names {
            let n = found.entry(name.as_str()).or_default();
            if *n >= MAX_NAME_SITES || data.find(name.as_bytes()).is_none() {
                continue;
            }
            let lines: Vec<Site> = split_lines(&data)
                .iter()
                .enumerate()
                .filter(|(_, l)| holds_name(l, name))
                .map(|(i, l)| (i as u32, l.to_vec()))
                .take(MAX_NAME_SITES - *n)
                .collect();
            if !lines.is_empty() {
                *n += lines.len();
                out.push((e.filepath.to_string(), lines, name.clone()));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_lists_by_name() {
        for p in [
            "libnl-3.sym",
            "src/libnvme-mi.map",
            "libibverbs/libibverbs.map.in",
            "debian/libibmad5.symbols",
            "win/q.def",
        ] {
            assert!(is_export_list(p), "{p}");
        }
        for p in ["src/map.c", "docs/sym", ".map", "README.md"] {
            assert!(!is_export_list(p), "{p}");
        }
    }

    #[test]
    fn documented_names_are_read_through_roff_and_matched_whole() {
        assert_eq!(
            unescape_doc(br"\fB\-\-show\-exports\fR and \fIfile\fP \(em x"),
            r"--show-exports and file \(em x"
        );
        assert_eq!(unescape_doc(br"\f(CW\-\-dry\-run\fP"), "--dry-run");
        let names = code_names(
            "--show-exports, -e, --all, --quiet MLX5DV_CONTEXT_MASK_X, ex_a, __x_y, a-b_c, dry-run",
        );
        assert_eq!(
            names,
            ["show-exports", "quiet", "MLX5DV_CONTEXT_MASK_X", "ex_a"]
        );
        assert!(holds_name(br#"{"show-exports", 0},"#, "show-exports"));
        assert!(holds_name(b"\"  --show-exports\\n\"", "show-exports"));
        assert!(!holds_name(b"--show-exports-all", "show-exports"));
        assert!(!holds_name(b"do_show-exports", "show-exports"));
        assert!(holds_name(b"x = MASK_X;", "MASK_X"));
        assert!(!holds_name(b"x = MASK_XY;", "MASK_X"));
    }
}
