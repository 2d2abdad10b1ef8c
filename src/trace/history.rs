//! The history a trace walks: commit facts and changes, cached for the length of one trace;
//! blame; and looking through a blamed commit that only re-indented, reflowed, moved or
//! cosmetically rewrote a line, or rewrote it in a sweeping change or a cleanup, to the
//! commit before it, unless the rewrite brought in a word the fix takes out.

use std::collections::{HashMap, HashSet};

use gix::ObjectId;

use super::FixEdit;
use super::lines::normalized;
use super::named::subject_words;
use super::{
    CommitFacts, LineDiff, MAX_FILES, TraceError, facts, file_changes, git_err, line_diff,
    read_text, short_hex,
};
use crate::diff::FileChange;
use crate::odb::ObjectReader;
use crate::tools::RepoPath;
use crate::tools::git_blame::{BlameRequest, blame_lines};

/// Times a blamed commit that only moved or re-indented a line is looked through.
const MAX_FOLLOW_DEPTH: usize = 4;

/// A line moved from elsewhere counts as moved only if it is at least this long (normalised).
const MIN_MOVED_LINE_CHARS: usize = 16;

/// A commit changing at least this many files counts as a sweeping change (looked through).
const SWEEP_MIN_FILES: usize = 12;

/// Files a commit with a cleanup-like subject must change to be looked through like a sweep.
const CLEANUP_MIN_FILES: usize = 2;

/// A sweeping change is looked through to the replaced line at least this similar.
pub(super) const MIN_SWEEP_SIMILARITY: f64 = 0.3;

/// A blamed commit is looked through when the line it replaced in the same hunk shares at
/// least this share of tokens with the line (a rename, a cast, a reflow).
pub(super) const MIN_COSMETIC_SIMILARITY: f64 = 0.85;

/// For a hunk whose removed and added lines are the same text but for whitespace and line
/// breaks, the length of each added line without whitespace; empty for any other hunk.
fn reflowed(d: &LineDiff<'_>, b: std::ops::Range<u32>, a: std::ops::Range<u32>) -> Vec<usize> {
    let old: Vec<u8> = b.flat_map(|i| normalized(d.old[i as usize])).collect();
    let new: Vec<Vec<u8>> = a.map(|i| normalized(d.new[i as usize])).collect();
    if old.is_empty() || new.concat() != old {
        return Vec::new();
    }
    new.iter().map(Vec::len).collect()
}

/// Per-commit facts needed to look through moves and re-indents, cached.
/// Where a commit removed a line: old path, 0-based old line, new path, hunk index.
type RemovedAt = (String, u32, String, usize);

struct HunkFacts {
    new: std::ops::Range<u32>,
    old_path: String,
    removed: Vec<(u32, Vec<u8>, Vec<u8>)>,
    /// For a hunk that only changes whitespace and line breaks (a reformat that splits or
    /// joins lines), the length of each added line without whitespace; empty otherwise.
    reflowed: Vec<usize>,
}

/// Replaced lines a blamed line is compared with, around its place in the hunk: a rewrite
/// of thousands of lines is not compared in full for each line blamed on it.
const MAX_REPLACED_COMPARED: usize = 128;

impl HunkFacts {
    /// The removed lines to compare added line `line` with: all of them in a hunk of at
    /// most [`MAX_REPLACED_COMPARED`], else that many around the same share of the hunk.
    fn near(&self, line: u32) -> std::ops::Range<usize> {
        let n = self.removed.len();
        if n <= MAX_REPLACED_COMPARED {
            return 0..n;
        }
        let added = self.new.len().max(1);
        let k = line.saturating_sub(self.new.start) as usize;
        let at = k * n / added;
        let hi = (at + MAX_REPLACED_COMPARED / 2).clamp(MAX_REPLACED_COMPARED, n);
        hi - MAX_REPLACED_COMPARED..hi
    }

    /// In a reflowed hunk, the removed line that held the start of added line `line`: its
    /// index in [`Self::removed`].
    pub(super) fn reflowed_from(&self, line: u32) -> Option<usize> {
        let k = line.checked_sub(self.new.start)? as usize;
        if k >= self.reflowed.len() || self.reflowed[k] == 0 {
            return None;
        }
        let offset: usize = self.reflowed[..k].iter().sum();
        let mut end = 0;
        self.removed.iter().position(|(_, norm, _)| {
            end += norm.len();
            offset < end
        })
    }
}

/// What one commit changed, as looking through it needs: its removed lines by text, its
/// hunks by file, and what it added.
pub(super) struct CommitChanges {
    /// normalised removed line -> where: (old path, 0-based old line, new path, hunk index)
    removed: HashMap<Vec<u8>, Vec<RemovedAt>>,
    /// new path -> its hunks: new-side line range, old path, removed lines (0-based old
    /// index, normalised text, text as written)
    hunks: HashMap<String, Vec<HunkFacts>>,
    /// normalised added lines
    pub(super) added_text: Vec<u8>,
    parent: Option<ObjectId>,
    /// Files it changed, generated files left out.
    pub(super) files: usize,
    /// File names (last path component) of the files it created.
    created: HashSet<String>,
    /// Changed files past the first [`MAX_FILES`], diffed only when a line is followed
    /// into one of them (a sweeping change of hundreds of files).
    rest: Vec<FileChange>,
}

impl CommitChanges {
    /// Diff one changed file into the hunks and removed lines.
    pub(super) fn add_file(
        &mut self,
        repo: &gix::Repository,
        fc: &FileChange,
    ) -> Result<(), TraceError> {
        let (Some(o), Some(nw)) = (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
        else {
            return Ok(());
        };
        let d = line_diff(&o, &nw);
        for (h, (b, a)) in d.hunks.iter().enumerate() {
            self.hunks
                .entry(fc.new_path.clone())
                .or_default()
                .push(HunkFacts {
                    new: a.clone(),
                    old_path: fc.old_path.clone(),
                    removed: b
                        .clone()
                        .map(|i| {
                            let l = d.old[i as usize];
                            (i, normalized(l), l.to_vec())
                        })
                        .collect(),
                    reflowed: reflowed(&d, b.clone(), a.clone()),
                });
            for i in b.clone() {
                let norm = normalized(d.old[i as usize]);
                if !norm.is_empty() {
                    self.removed.entry(norm).or_default().push((
                        fc.old_path.clone(),
                        i,
                        fc.new_path.clone(),
                        h,
                    ));
                }
            }
            for i in a.clone() {
                self.added_text.extend_from_slice(d.new[i as usize]);
            }
        }
        Ok(())
    }
}

pub(super) struct Tracer<'r> {
    pub(super) repo: &'r gix::Repository,
    /// Object reads of blame, keeping every delta base it resolves.
    odb: ObjectReader<'r>,
    changes: HashMap<ObjectId, Option<CommitChanges>>,
    facts: HashMap<ObjectId, CommitFacts>,
    /// The fix corrects formatting (indentation, whitespace, markup): a commit that only
    /// re-indented or rewrote a line is then what wrote the wrong form, so blamed lines are
    /// not followed through it.
    pub(super) formatting_fix: bool,
}

impl<'r> Tracer<'r> {
    /// A walker for one trace: its caches live as long as it does.
    pub(super) fn new(repo: &'r gix::Repository) -> Self {
        Tracer {
            repo,
            odb: ObjectReader::new(repo).remembering(),
            changes: HashMap::new(),
            facts: HashMap::new(),
            formatting_fix: false,
        }
    }

    pub(super) fn facts(&mut self, id: ObjectId) -> Result<&CommitFacts, TraceError> {
        if !self.facts.contains_key(&id) {
            let f = facts(self.repo, id)?;
            self.facts.insert(id, f);
        }
        self.facts
            .get(&id)
            .ok_or_else(|| git_err("caching a commit", "missing"))
    }

    /// What `id` changed, unless it is a merge (whose change against its first parent is
    /// its branch's commits, which a walk meets on their own) or its parent is missing
    /// from this clone.
    pub(super) fn own_change(&mut self, id: ObjectId) -> Result<Option<OwnChange>, TraceError> {
        let f = self.facts(id)?;
        let (tree, time, parents) = (f.tree, f.commit_time, f.parents.clone());
        let parent_tree = match parents[..] {
            [] => None,
            [p] if self.repo.has_object(p) => Some(self.facts(p)?.tree),
            _ => return Ok(None),
        };
        Ok(Some(OwnChange {
            tree,
            parent_tree,
            time,
        }))
    }

    pub(super) fn changes(&mut self, id: ObjectId) -> Result<Option<&CommitChanges>, TraceError> {
        if !self.changes.contains_key(&id) {
            let f = self.facts(id)?;
            let (parent, tree) = (f.parents.first().copied(), f.tree);
            let c = match parent {
                Some(p) if self.repo.has_object(p) => {
                    let ptree = self.facts(p)?.tree;
                    let mut files = file_changes(self.repo, ptree, tree)?;
                    let created = files
                        .iter()
                        .filter(|fc| fc.old.is_none())
                        .map(|fc| file_name(&fc.new_path).to_string())
                        .collect();
                    let n = files.len();
                    // Generated files (a translation per language, a lock file) come along
                    // with a change; they do not make it a sweep of the code.
                    let written = files
                        .iter()
                        .filter(|fc| !super::lines::is_generated(&fc.new_path))
                        .count();
                    let rest = files.split_off(n.min(MAX_FILES));
                    let mut c = CommitChanges {
                        removed: HashMap::new(),
                        hunks: HashMap::new(),
                        added_text: Vec::new(),
                        parent: Some(p),
                        files: written,
                        created,
                        rest,
                    };
                    for fc in &files {
                        c.add_file(self.repo, fc)?;
                    }
                    Some(c)
                }
                _ => None,
            };
            self.changes.insert(id, c);
        }
        Ok(self.changes.get(&id).and_then(Option::as_ref))
    }

    /// [`Self::changes`] of `id`, with `path` diffed even when it is past the first
    /// [`MAX_FILES`] changed files.
    pub(super) fn changes_at(
        &mut self,
        id: ObjectId,
        path: &str,
    ) -> Result<Option<&CommitChanges>, TraceError> {
        self.changes(id)?;
        let repo = self.repo;
        if let Some(Some(c)) = self.changes.get_mut(&id)
            && let Some(i) = c.rest.iter().position(|fc| fc.new_path == path)
        {
            let fc = c.rest.swap_remove(i);
            c.add_file(repo, &fc)?;
        }
        Ok(self.changes.get(&id).and_then(Option::as_ref))
    }

    /// Whether commit `id` created a file named like `path` (a root commit created all).
    pub(super) fn created(&mut self, id: ObjectId, path: &str) -> Result<bool, TraceError> {
        if self.facts(id)?.parents.is_empty() {
            return Ok(true);
        }
        Ok(self
            .changes(id)?
            .is_some_and(|c| c.created.contains(file_name(path))))
    }

    /// Blame 0-based `lines` of `path` at `suspect`: (line index, commit, source path, line
    /// index in the source file).
    pub(super) fn blame(
        &mut self,
        path: &str,
        suspect: ObjectId,
        lines: &[u32],
    ) -> Result<Vec<(u32, ObjectId, String, u32)>, TraceError> {
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        let mut sorted = lines.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let err = |e: &dyn std::fmt::Display| git_err(&format!("blaming {path}"), e);
        let tree = self.facts(suspect)?.tree;
        let entry = self
            .repo
            .find_tree(tree)
            .map_err(|e| err(&e))?
            .lookup_entry_by_path(path)
            .map_err(|e| err(&e))?
            .ok_or_else(|| err(&format!("`{path}` is not in {suspect}")))?;
        let blob = self
            .repo
            .find_blob(entry.object_id())
            .map_err(|e| err(&e))?
            .detach()
            .data;
        let algorithm = self.repo.diff_algorithm().map_err(|e| err(&e))?;
        let repo_path = RepoPath::from_tree(path);
        let req = BlameRequest {
            repo: self.repo,
            odb: &self.odb,
            start: suspect,
            path: &repo_path,
            blob: &blob,
            lines: &sorted,
            algorithm,
        };
        let blamed = blame_lines(req, &|| Ok(())).map_err(|e| err(&e))?;
        Ok(blamed
            .into_iter()
            .map(|b| {
                let src = b.source_path.unwrap_or_else(|| path.to_string());
                (b.line, b.commit, src, b.source_line)
            })
            .collect())
    }

    /// Follow a blamed line through commits that only re-indented it in place, reflowed it
    /// (split or joined lines and changed nothing else), moved it from another file, or
    /// rewrote it cosmetically or in a sweeping change. `line` is its 0-based index in the
    /// blamed commit's version of `path`. A line moved within its file is not looked
    /// through: a refactor that moves code is often the change that broke it. Nor is a
    /// rewrite that brought in a word `edit` (how the fix changes the line) takes out.
    pub(super) fn follow(
        &mut self,
        mut commit: ObjectId,
        mut path: String,
        mut line: u32,
        text: &[u8],
        edit: &FixEdit,
    ) -> Result<(ObjectId, Vec<String>), TraceError> {
        let mut hops = Vec::new();
        let norm = normalized(text);
        if norm.len() < 4 || self.formatting_fix {
            return Ok((commit, hops));
        }
        let mut norm = norm;
        // The line as written, for token similarity (the normalised text glues tokens).
        let mut raw = text.to_vec();
        for _ in 0..MAX_FOLLOW_DEPTH {
            let cleanup = is_cleanup_subject(&self.facts(commit)?.subject);
            let Some(ch) = self.changes_at(commit, &path)? else {
                break;
            };
            let Some(parent) = ch.parent else { break };
            let hunk = ch
                .hunks
                .get(&path)
                .and_then(|hs| hs.iter().position(|h| h.new.contains(&line)));
            let places = ch.removed.get(&norm);
            let in_place = places.and_then(|ps| {
                ps.iter()
                    .find(|(_, _, np, h)| *np == path && Some(*h) == hunk)
            });
            // A reformat that split or joined lines: the removed line that held the start
            // of this one.
            let reflow = in_place
                .is_none()
                .then(|| {
                    let h = ch.hunks.get(&path)?.get(hunk?)?;
                    let (ol, n, text) = h.removed.get(h.reflowed_from(line)?)?;
                    Some((h.old_path.clone(), *ol, (n.clone(), text.clone())))
                })
                .flatten();
            let from_other_file = places.and_then(|ps| {
                ps.iter().find(|(op, _, np, _)| {
                    *np != path && *op != path && norm.len() >= MIN_MOVED_LINE_CHARS
                })
            });
            // The line of the same hunk it replaced most like this one, and how alike.
            let closest = hunk
                .and_then(|i| ch.hunks.get(&path)?.get(i))
                .and_then(|h| {
                    let words = tokens(&raw);
                    let (ol, n, text, sim) = h.removed[h.near(line)]
                        .iter()
                        .map(|(ol, n, text)| (*ol, n, text, share(&tokens(text), &words)))
                        .max_by(|a, b| a.3.total_cmp(&b.3))?;
                    Some((&h.old_path, ol, n, text, sim))
                });
            let replaced = |min: f64| {
                closest
                    .filter(|c| c.4 >= min)
                    .map(|(p, ol, n, text, _)| (p.clone(), ol, (n.clone(), text.clone())))
            };
            // A sweeping change (many files, small edits: an API rename, a header switch), or
            // a cleanup by its subject that changed a few files, rewrote the line: look
            // through it to the most similar line it replaced.
            let sweeping = (ch.files >= SWEEP_MIN_FILES
                || (cleanup && ch.files >= CLEANUP_MIN_FILES))
                .then(|| replaced(MIN_SWEEP_SIMILARITY))
                .flatten();
            // A cosmetic rewrite in place (a rename, a cast, a reflow): the line it replaced
            // in the same hunk shares nearly all its tokens. Looked through to that line.
            let cosmetic = sweeping
                .is_none()
                .then(|| replaced(MIN_COSMETIC_SIMILARITY))
                .flatten();
            // A rewrite that brought into the line a word the fix takes out is what the fix
            // corrects ("use -f instead of -e", then "use grep -e instead of grep -f"): it
            // is the cause, not a change to look past.
            if in_place.is_none()
                && reflow.is_none()
                && from_other_file.is_none()
                && let Some((_, _, (_, replaced))) = sweeping.as_ref().or(cosmetic.as_ref())
                && let Some(word) = brought_and_undone(replaced, &raw, edit)
            {
                hops.push(format!(
                    "{} rewrote the line, bringing in `{word}`, which the fix takes out",
                    short_hex(&commit)
                ));
                break;
            }
            let files = ch.files;
            let same = (norm.clone(), raw.clone());
            let (what, old_path, old_line, old_text) =
                match (in_place, reflow, from_other_file, sweeping) {
                    (None, Some((op, ol, text)), _, _) => {
                        ("only reflowed".to_string(), op, ol, text)
                    }
                    (None, None, None, None) => match cosmetic {
                        Some((op, ol, text)) => {
                            ("only cosmetically rewrote".to_string(), op, ol, text)
                        }
                        None => break,
                    },
                    (Some((op, ol, _, _)), _, _, _) => {
                        ("only re-indented".to_string(), op.clone(), *ol, same)
                    }
                    (None, None, Some((op, ol, _, _)), _) => (
                        "only moved from another file".to_string(),
                        op.clone(),
                        *ol,
                        same,
                    ),
                    (None, None, None, Some((op, ol, text))) => (
                        if files >= SWEEP_MIN_FILES {
                            format!("is a sweeping change of {files} files that rewrote")
                        } else {
                            format!("is a cleanup of {files} files that rewrote")
                        },
                        op,
                        ol,
                        text,
                    ),
                };
            let blamed = self.blame(&old_path, parent, &[old_line])?;
            let Some((_, origin, src, src_line)) = blamed.into_iter().next() else {
                break;
            };
            hops.push(format!("{} {what} the line", short_hex(&commit)));
            commit = origin;
            path = src;
            line = src_line;
            (norm, raw) = old_text;
        }
        Ok((commit, hops))
    }
}

/// Whether a fix's subject says it corrects formatting: indentation, whitespace, alignment
/// of text or markup ("fix indentation", "Fix formatting of advertise bitmask"). A format
/// string (`printf`) is code, not formatting.
pub(super) fn is_formatting_subject(subject: &str) -> bool {
    let s = subject.to_lowercase();
    let words: Vec<&str> = s
        .split(|c: char| !c.is_alphanumeric() && c != '-')
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        matches!(
            *w,
            "formatting"
                | "indentation"
                | "indention"
                | "indent"
                | "whitespace"
                | "whitespaces"
                | "markup"
                | "mark-up"
        ) || *w == "white" && words.get(i + 1) == Some(&"space")
    })
}

/// Subject words that mark a mechanical change (a header switch, a rename, a removal).
/// "Refactor" and "consolidate" are left out: such changes are often the cause.
const CLEANUP_WORDS: &[&str] = &[
    "move",
    "remove",
    "use",
    "convert",
    "clean",
    "cleanup",
    "rename",
    "replace",
    "switch",
    "unify",
    "flatten",
    "simplify",
    "drop",
    "uapi",
    "style",
    "whitespace",
    "warnings",
];

/// Whether a subject (after its subsystem prefix) reads like a cleanup: a
/// [`CLEANUP_WORDS`] word and no "fix".
fn is_cleanup_subject(subject: &str) -> bool {
    let words = subject_words(subject);
    CLEANUP_WORDS.iter().any(|w| words.contains(*w))
        && !words.contains("fix")
        && !words.contains("fixes")
}

/// The last component of a path.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The longest word a rewrite of a line (`before` to `after`) brought in that the fix
/// takes out again (see [`FixEdit`]), counting repeats: a line with `-f` twice after the
/// rewrite and once before it brought one `-f` in.
fn brought_and_undone(before: &[u8], after: &[u8], edit: &FixEdit) -> Option<String> {
    let before = token_counts(before);
    token_counts(after)
        .into_iter()
        .filter(|(t, n)| before.get(t).copied().unwrap_or(0) < *n && edit.undone.contains(t))
        .map(|(t, _)| t)
        .max_by(|a, b| a.len().cmp(&b.len()).then_with(|| b.cmp(a)))
        .map(|t| String::from_utf8_lossy(&t).into_owned())
}

/// The identifier-ish words of a line, each with how often it occurs.
pub(super) fn token_counts(l: &[u8]) -> HashMap<Vec<u8>, usize> {
    let mut m: HashMap<Vec<u8>, usize> = HashMap::new();
    for t in l
        .split(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
        .filter(|t| !t.is_empty())
    {
        *m.entry(t.to_vec()).or_default() += 1;
    }
    m
}

/// The identifier-ish words of a line.
fn tokens(l: &[u8]) -> HashSet<Vec<u8>> {
    token_counts(l).into_keys().collect()
}

/// Share of the words of two lines ([`tokens`]) that both hold (0 to 1; 0 when either has
/// none).
fn share(a: &HashSet<Vec<u8>>, b: &HashSet<Vec<u8>>) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let both = a.intersection(b).count();
    both as f64 / (a.len() + b.len() - both) as f64
}

/// Commits a rule walks back from the fix at most, looking for the change it wants.
const MAX_RULE_WALK: usize = 5_000;

/// The commits of `start`'s history, newest first by commit time, [`MAX_RULE_WALK`] at
/// most.
pub(super) fn newest_first(
    repo: &gix::Repository,
    start: ObjectId,
) -> Result<impl Iterator<Item = Result<ObjectId, TraceError>> + '_, TraceError> {
    let walk = repo
        .rev_walk([start])
        .sorting(gix::revision::walk::Sorting::ByCommitTime(
            gix::traverse::commit::simple::CommitTimeOrder::NewestFirst,
        ))
        .all()
        .map_err(|e| git_err("walking history", e))?;
    Ok(walk.take(MAX_RULE_WALK).map(|info| {
        info.map(|i| i.id)
            .map_err(|e| git_err("walking history", e))
    }))
}

/// What a commit that is not a merge changed: its tree and its parent's (none for a root
/// commit), and when it was committed.
pub(super) struct OwnChange {
    pub(super) tree: ObjectId,
    pub(super) parent_tree: Option<ObjectId>,
    pub(super) time: i64,
}

/// The object at `path` of `tree` (the tree itself for ""), if it is there.
pub(super) fn entry_at(
    repo: &gix::Repository,
    tree: ObjectId,
    path: &str,
) -> Result<Option<ObjectId>, TraceError> {
    if path.is_empty() {
        return Ok(Some(tree));
    }
    Ok(repo
        .find_tree(tree)
        .map_err(|e| git_err("reading a tree", e))?
        .lookup_entry_by_path(path)
        .map_err(|e| git_err("reading a tree", e))?
        .map(|e| e.object_id()))
}

/// Whether commit `id` changed one of `paths` (against its first parent).
pub(super) fn touches_any(
    t: &mut Tracer<'_>,
    id: ObjectId,
    paths: &[String],
) -> Result<bool, TraceError> {
    let f = t.facts(id)?;
    let (tree, parent) = (f.tree, f.parents.first().copied());
    let Some(parent) = parent.filter(|p| t.repo.has_object(*p)) else {
        return Ok(false);
    };
    let ptree = t.facts(parent)?.tree;
    Ok(file_changes(t.repo, ptree, tree)?
        .iter()
        .any(|c| paths.contains(&c.new_path) || paths.contains(&c.old_path)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatting_fixes_by_their_subject() {
        for s in [
            "hwclock: fix indentation",
            "Makefile: fix indention",
            "ethtool.8: Fix formatting of advertise bitmask",
            "doc: fix markup error",
            "xlate: Drop extra whitespace",
            "fix white space in help",
        ] {
            assert!(is_formatting_subject(s), "{s}");
        }
        for s in [
            "landlock.h: Fix printf format for size_t",
            "extensions: recent: Fix format string for unsigned values",
            "ping: fix overflow on negative -i",
            "indentify the device",
        ] {
            assert!(!is_formatting_subject(s), "{s}");
        }
    }

    #[test]
    fn a_line_of_a_long_rewrite_is_compared_with_the_lines_around_its_place() {
        let hunk = |removed: u32, start: u32, added: u32| HunkFacts {
            new: start..start + added,
            old_path: "big.c".into(),
            removed: (0..removed).map(|i| (i, Vec::new(), Vec::new())).collect(),
            reflowed: Vec::new(),
        };
        // A short hunk: every removed line.
        assert_eq!(hunk(40, 10, 90).near(60), 0..40);
        // 20,000 lines rewritten one for one: the window holds the line's own counterpart.
        let h = hunk(20_000, 100, 20_000);
        for k in [0, 1, 63, 64, 9_999, 19_936, 19_999] {
            let w = h.near(100 + k);
            assert_eq!(w.len(), MAX_REPLACED_COMPARED, "{k}");
            assert!(w.contains(&(k as usize)), "{k}: {w:?}");
        }
        // Twice as many lines as it replaced: the same share of the hunk.
        let w = hunk(1_000, 0, 2_000).near(1_000);
        assert!(w.contains(&500), "{w:?}");
    }

    #[test]
    fn lines_compare_by_their_words() {
        // Words are split at spaces too: a renamed function and its type leave three of
        // seven words in common, enough for a sweeping rename.
        let similarity = |a: &[u8], b: &[u8]| share(&tokens(a), &tokens(b));
        let sim = similarity(
            b"void libnvmf_context_free(struct libnvmf_context *fctx)",
            b"void nvmf_context_free(struct nvmf_context *fctx)",
        );
        assert!(sim >= MIN_SWEEP_SIMILARITY, "{sim}");
        // A new branch before the line is not cosmetic, one word of five though it is.
        let sim = similarity(
            b"} else if (nla_type(attr) != IFLA_BRIDGE_VLAN_INFO)",
            b"if (nla_type(attr) != IFLA_BRIDGE_VLAN_INFO)",
        );
        assert!(sim < MIN_COSMETIC_SIMILARITY, "{sim}");
    }
}
