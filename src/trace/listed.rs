//! A fix that adds a file to a build list ("build: add list.h to file list in
//! Makefile.am", "Add missing header files for source distribution", a language added to
//! gettext's `po/LINGUAS`). The file was there already; the change that created it
//! without listing it is the cause, and the list's lines, all the fix touches, were
//! written by others.

use std::collections::HashSet;

use gix::ObjectId;

use super::history::{Tracer, entry_at, newest_first};
use super::{FileChange, TraceError, git_err, line_diff, read_text};

/// Files looked for per fix, at most.
const MAX_FILES: usize = 16;

/// Whether `path` is a file that lists other files for a build, a package or a linker.
fn is_build_list(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "Makefile"
            | "Makefile.am"
            | "Makefile.in"
            | "GNUmakefile"
            | "Kbuild"
            | "meson.build"
            | "CMakeLists.txt"
            | "MANIFEST.in"
            | "LINGUAS"
    ) || [".spec", ".spec.in", ".mk", ".cmake"]
        .iter()
        .any(|ext| name.ends_with(ext))
}

/// The words of `line` that look like file names: letters, digits and `_./+-`, with a dot
/// followed by a letter or digit.
fn file_words(line: &[u8]) -> impl Iterator<Item = &str> + '_ {
    line.split(|b| !(b.is_ascii_alphanumeric() || b"_./+-".contains(b)))
        .filter_map(|w| std::str::from_utf8(w).ok())
        .map(|w| w.trim_start_matches("./").trim_end_matches('.'))
        .filter(|w| {
            w.rsplit_once('.').is_some_and(|(stem, ext)| {
                !stem.is_empty()
                    && !ext.is_empty()
                    && ext.bytes().all(|b| b.is_ascii_alphanumeric())
            })
        })
}

/// The files of the fix's parent tree (`parent_tree`) that the fix newly names in a build
/// list: a file name on an added line of a list, not on a line the fix removed from one
/// (a name moved or re-wrapped), read from the list's folder or from the top.
pub(super) fn newly_listed(
    repo: &gix::Repository,
    parent_tree: ObjectId,
    changes: &[FileChange],
) -> Result<Vec<String>, TraceError> {
    let mut removed: HashSet<String> = HashSet::new();
    let mut added: Vec<(String, String)> = Vec::new();
    // A list the fix creates names everything it lists for the first time: no file of it
    // was left out by an earlier change.
    for fc in changes
        .iter()
        .filter(|fc| fc.old.is_some() && is_build_list(&fc.new_path))
    {
        let (Some(old), Some(new)) = (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
        else {
            continue;
        };
        let d = line_diff(&old, &new);
        let dir = fc.new_path.rsplit_once('/').map_or("", |(d, _)| d);
        // gettext's `po/LINGUAS` lists languages, each the `.po` file of that name.
        let languages = fc.new_path.rsplit('/').next() == Some("LINGUAS");
        let words = |line: &[u8]| -> Vec<String> {
            if languages {
                let line = String::from_utf8_lossy(line);
                let line = line.split('#').next().unwrap_or_default();
                line.split_whitespace().map(|w| format!("{w}.po")).collect()
            } else {
                file_words(line).map(str::to_string).collect()
            }
        };
        for (before, after) in &d.hunks {
            for i in before.clone() {
                removed.extend(words(d.old[i as usize]));
            }
            for i in after.clone() {
                for w in words(d.new[i as usize]) {
                    added.push((dir.to_string(), w));
                }
            }
        }
    }
    let tree = repo
        .find_tree(parent_tree)
        .map_err(|e| git_err("reading a tree", e))?;
    let mut out: Vec<String> = Vec::new();
    for (dir, word) in added {
        if removed.contains(&word) || out.len() >= MAX_FILES {
            continue;
        }
        let within = if dir.is_empty() {
            None
        } else {
            Some(format!("{dir}/{word}"))
        };
        for path in within.into_iter().chain([word.clone()]) {
            let is_file = tree
                .lookup_entry_by_path(&path)
                .map_err(|e| git_err("reading a tree", e))?
                .is_some_and(|e| e.mode().is_blob());
            if is_file {
                if !out.contains(&path) {
                    out.push(path);
                }
                break;
            }
        }
    }
    Ok(out)
}

/// The newest of the commits before `start` (inclusive) that brought one of `paths` into
/// the tree, with that path.
pub(super) fn newest_creator(
    t: &mut Tracer<'_>,
    start: ObjectId,
    paths: &[String],
) -> Result<Option<(ObjectId, String)>, TraceError> {
    if paths.is_empty() {
        return Ok(None);
    }
    let repo = t.repo;
    for id in newest_first(repo, start)? {
        let id = id?;
        let Some(c) = t.own_change(id)? else { continue };
        if c.parent_tree == Some(c.tree) {
            continue;
        }
        for path in paths {
            let before = match c.parent_tree {
                Some(p) => entry_at(repo, p, path)?.is_some(),
                None => false,
            };
            if !before && entry_at(repo, c.tree, path)?.is_some() {
                return Ok(Some((id, path.clone())));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_lists_by_name() {
        for p in [
            "Makefile.am",
            "include/Makefile.am",
            "src/meson.build",
            "CMakeLists.txt",
            "rpm/libnl.spec.in",
        ] {
            assert!(is_build_list(p), "{p}");
        }
        for p in ["src/main.c", "README.md", "debian/control", "Makefile.c"] {
            assert!(!is_build_list(p), "{p}");
        }
    }

    #[test]
    fn file_names_on_a_list_line() {
        let words: Vec<&str> = file_words(b"\t\t  json_print.c json_print.h \\\n").collect();
        assert_eq!(words, ["json_print.c", "json_print.h"]);
        let words: Vec<&str> = file_words(b"\tnetlink/route/link/macsec.h \\\n").collect();
        assert_eq!(words, ["netlink/route/link/macsec.h"]);
        let words: Vec<&str> = file_words(b"sources = files('./lib.c', 'v1.2')").collect();
        assert_eq!(words, ["lib.c", "v1.2"]);
    }
}
