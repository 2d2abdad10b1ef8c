//! A fix that removes what nothing uses any more ("remove unused variable", "drop the no
//! longer needed helper"). The lines it deletes were written long ago and were right then:
//! the change that broke them is the one that took out their last uses, which blame of the
//! deleted lines never reaches. So: the names the fix's deletions leave nowhere in their
//! file, and the newest commit before the fix that took uses of one of them out of the
//! files beside it. A name those files still use (an `err`, a `retry` label) is a local
//! one: only its own file's history tells when it stopped being used there.

use std::collections::HashSet;
use std::sync::LazyLock;

use gix::ObjectId;
use regex::Regex;

use super::history::{Tracer, entry_at, newest_first};
use super::lines::{count_word, is_test_or_doc};
use super::named::folder_files;
use super::{FileChange, TraceError, file_changes, line_diff, read_text};

/// Names looked for per fix, at most (the first ones by file and line).
const MAX_NAMES: usize = 24;

/// Words of the languages themselves, which a deletion can leave nowhere in a small file
/// without being what the fix removes.
const KEYWORDS: &[&str] = &[
    "auto", "bool", "break", "case", "char", "const", "continue", "def", "default", "define", "do",
    "double", "elif", "else", "endif", "enum", "extern", "false", "float", "fn", "for", "goto",
    "if", "ifdef", "ifndef", "impl", "import", "in", "include", "inline", "int", "let", "long",
    "match", "mut", "none", "null", "pub", "return", "self", "short", "signed", "sizeof", "static",
    "struct", "switch", "true", "typedef", "union", "unsigned", "use", "void", "volatile", "while",
];

/// Whether a fix's subject says it removes what is no longer used.
pub(super) fn is_unused_subject(subject: &str) -> bool {
    static UNUSED: LazyLock<Regex> = LazyLock::new(|| {
        #[allow(clippy::expect_used, reason = "a fixed pattern, exercised by the tests")]
        Regex::new(
            r"(?i)\b(unused|no longer (used|needed|required|referenced|set|called)|not used any ?more|dead code|left ?overs?)\b",
        )
        .expect("static regex")
    });
    UNUSED.is_match(subject)
}

/// The identifiers of `line`: letters, digits and `_`, not starting with a digit, two
/// characters or more, language keywords left out.
fn identifiers(line: &[u8]) -> impl Iterator<Item = &str> + '_ {
    line.split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
        .filter(|w| w.len() >= 2 && !w[0].is_ascii_digit())
        .filter_map(|w| std::str::from_utf8(w).ok())
        .filter(|w| !KEYWORDS.contains(&w.to_ascii_lowercase().as_str()))
}

/// A name the fix removes as unused.
pub(super) struct Vanished {
    /// The folder of the file it went from ("" for the repository's root).
    dir: String,
    name: String,
    /// The file it went from, when other files of its folder still use the name: then only
    /// uses taken out of this file left it unused.
    only_in: Option<String>,
}

/// The names the fix's deletions leave nowhere in their (code) file: what the fix removes
/// as unused. `parent_tree` is the fix's parent's, whose other files tell whether a name is
/// local to its file.
pub(super) fn vanished_names(
    repo: &gix::Repository,
    parent_tree: ObjectId,
    changes: &[FileChange],
) -> Result<Vec<Vanished>, TraceError> {
    let mut out: Vec<Vanished> = Vec::new();
    for fc in changes {
        if is_test_or_doc(&fc.new_path) || fc.old.is_none() || fc.new.is_none() {
            continue;
        }
        let (Some(old), Some(new)) = (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
        else {
            continue;
        };
        let d = line_diff(&old, &new);
        let dir = match fc.new_path.rsplit_once('/') {
            Some((dir, _)) => dir.to_string(),
            None => String::new(),
        };
        // Every word the file still has, read once.
        let kept: HashSet<&[u8]> = new
            .split(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .collect();
        let first = out.len();
        for (before, _) in &d.hunks {
            for i in before.clone() {
                for name in identifiers(d.old[i as usize]) {
                    if out.len() < MAX_NAMES
                        && !kept.contains(name.as_bytes())
                        && !out.iter().any(|v| v.dir == dir && v.name == name)
                    {
                        out.push(Vanished {
                            dir: dir.clone(),
                            name: name.to_string(),
                            only_in: None,
                        });
                    }
                }
            }
        }
        if out.len() > first {
            let names: Vec<&str> = out[first..].iter().map(|v| v.name.as_str()).collect();
            let used = used_beside(repo, parent_tree, &dir, &fc.new_path, &names)?;
            for v in &mut out[first..] {
                if used.contains(v.name.as_str()) {
                    v.only_in = Some(fc.new_path.clone());
                }
            }
        }
    }
    Ok(out)
}

/// Which of `names` the other files of folder `dir` in `tree` use (not `path`, not files in
/// subfolders, not tests or docs).
fn used_beside(
    repo: &gix::Repository,
    tree: ObjectId,
    dir: &str,
    path: &str,
    names: &[&str],
) -> Result<HashSet<String>, TraceError> {
    let mut used = HashSet::new();
    for (sibling, oid) in folder_files(repo, tree, dir)? {
        if used.len() == names.len() {
            break;
        }
        if sibling == path || is_test_or_doc(&sibling) {
            continue;
        }
        let Some(text) = read_text(repo, Some(oid))? else {
            continue;
        };
        for n in names {
            if !used.contains(*n) && count_word(&text, n) > 0 {
                used.insert((*n).to_string());
            }
        }
    }
    Ok(used)
}

/// The newest commit before `start` (inclusive) that took uses of one of `names` out of
/// the code files under their folder (out of its own file, for a local name), with the
/// name. Commits made before `not_before` (seconds), when none of the lines the fix deletes
/// had been written yet, are not looked at.
pub(super) fn last_use_removed(
    t: &mut Tracer<'_>,
    start: ObjectId,
    names: &[Vanished],
    not_before: i64,
) -> Result<Option<(ObjectId, String)>, TraceError> {
    if names.is_empty() {
        return Ok(None);
    }
    let repo = t.repo;
    let mut dirs: Vec<&str> = names.iter().map(|v| v.dir.as_str()).collect();
    dirs.sort_unstable();
    dirs.dedup();
    for id in newest_first(repo, start)? {
        let id = id?;
        let Some(c) = t.own_change(id)? else { continue };
        if c.time < not_before {
            break;
        }
        let Some(ptree) = c.parent_tree else { continue };
        let mut touched = Vec::new();
        for dir in &dirs {
            if entry_at(repo, c.tree, dir)? != entry_at(repo, ptree, dir)? {
                touched.push(*dir);
            }
        }
        if touched.is_empty() {
            continue;
        }
        for fc in file_changes(repo, ptree, c.tree)? {
            if is_test_or_doc(&fc.new_path) {
                continue;
            }
            let under = |dir: &str| dir.is_empty() || fc.old_path.starts_with(&format!("{dir}/"));
            let wanted: Vec<&String> = names
                .iter()
                .filter(|v| touched.contains(&v.dir.as_str()) && under(&v.dir))
                .filter(|v| v.only_in.as_ref().is_none_or(|p| *p == fc.old_path))
                .map(|v| &v.name)
                .collect();
            if wanted.is_empty() {
                continue;
            }
            let (Some(old), Some(new)) =
                (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
            else {
                continue;
            };
            if let Some(name) = wanted
                .into_iter()
                .find(|n| count_word(&new, n) < count_word(&old, n))
            {
                return Ok(Some((id, name.clone())));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_that_remove_what_is_unused() {
        for s in [
            "tools/depmod: remove set but unused timeval",
            "meson: remove no longer used HAVE_DECL___GLIBC__",
            "bnxt_re/lib: Remove the unused function",
            "nvme-print: Remove left overs from refactoring",
            "print-tree: remove dead code",
        ] {
            assert!(is_unused_subject(s), "{s}");
        }
        for s in [
            "tests: avoid \"-Wunused-parameter\" warning",
            "ping: Fix regression in -c1",
            "use the return value",
        ] {
            assert!(!is_unused_subject(s), "{s}");
        }
    }

    #[test]
    fn identifiers_leave_out_numbers_and_keywords() {
        let names: Vec<&str> =
            identifiers(b"\tstatic inline uint32_t get_sz(void) { 0x10 }").collect();
        assert_eq!(names, ["uint32_t", "get_sz"]);
    }
}
