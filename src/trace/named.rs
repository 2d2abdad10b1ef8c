//! Finding what the fix message names: commits by a subject it quotes or reverts, earlier
//! commits whose subject is nearly the fix's, and the definitions of the functions it
//! mentions.

use std::collections::{BTreeSet, HashMap, HashSet};

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::lines::{
    Lang, defines, function_body, has_body, is_function_head, is_test_or_doc, lang_of,
};
use super::message::split_prefix;
use super::{TraceError, git_err, read_text, split_lines};

/// Commits scanned for quoted or reverted subjects.
const MAX_SUBJECT_SCAN: usize = 50_000;

/// Definition lines blamed per message identifier.
const MAX_DEFINITION_LINES: usize = 3;

/// Definitions of one identifier read at most, to find the one in the fix's own files.
const MAX_DEFINITION_SCAN: usize = 32;

/// Share of subject words two subjects must have in common to count as similar.
const MIN_SUBJECT_SIMILARITY: f64 = 0.6;

/// Words two subjects must have in common to count as similar.
const MIN_SHARED_WORDS: usize = 4;

/// Commits before the fix scanned for similar subjects.
const MAX_SIMILAR_SCAN: usize = 3_000;

/// Commits before `start` whose subject equals one of `wanted` (case-insensitive).
pub(super) fn find_subjects(
    repo: &gix::Repository,
    start: ObjectId,
    wanted: &[(String, f64, String)],
) -> Result<Vec<(ObjectId, String, f64)>, TraceError> {
    let mut left: HashMap<String, (f64, String)> = wanted
        .iter()
        .map(|(s, w, why)| (s.to_lowercase(), (*w, why.clone())))
        .collect();
    let mut out = Vec::new();
    let walk = repo
        .rev_walk([start])
        .all()
        .map_err(|e| git_err("walking history", e))?;
    for (n, info) in walk.enumerate() {
        if n >= MAX_SUBJECT_SCAN || left.is_empty() {
            break;
        }
        let info = info.map_err(|e| git_err("walking history", e))?;
        if info.parent_ids.len() > 1 {
            // A merge's subject names a branch, not a change.
            continue;
        }
        let commit = info.object().map_err(|e| git_err("reading a commit", e))?;
        let msg = commit
            .message_raw()
            .map_err(|e| git_err("reading a commit", e))?;
        let subject = msg
            .lines()
            .next()
            .unwrap_or_default()
            .to_str_lossy()
            .trim()
            .to_lowercase();
        if let Some((w, why)) = left.remove(&subject) {
            out.push((info.id, why, w));
        }
    }
    Ok(out)
}

/// Significant words of a subject: lowercased, without its subsystem prefix.
pub(super) fn subject_words(subject: &str) -> HashSet<String> {
    split_prefix(subject)
        .1
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.len() >= 2)
        .map(str::to_lowercase)
        .collect()
}

/// Earlier commits (within [`MAX_SIMILAR_SCAN`]) whose subject is mostly the fix's, with the
/// share of words in common.
pub(super) fn similar_subjects(
    repo: &gix::Repository,
    start: ObjectId,
    subject: &str,
) -> Result<Vec<(ObjectId, f64)>, TraceError> {
    let mine = subject_words(subject);
    if mine.len() < MIN_SHARED_WORDS {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let walk = repo
        .rev_walk([start])
        .all()
        .map_err(|e| git_err("walking history", e))?;
    for info in walk.take(MAX_SIMILAR_SCAN) {
        let info = info.map_err(|e| git_err("walking history", e))?;
        let commit = info.object().map_err(|e| git_err("reading a commit", e))?;
        let msg = commit
            .message_raw()
            .map_err(|e| git_err("reading a commit", e))?;
        let theirs = subject_words(&msg.lines().next().unwrap_or_default().to_str_lossy());
        let shared = mine.intersection(&theirs).count();
        let share = shared as f64 / mine.len().max(theirs.len()) as f64;
        // The same words again are a routine subject ("update version"), not a related fix.
        if shared >= MIN_SHARED_WORDS && share >= MIN_SUBJECT_SIMILARITY && theirs != mine {
            out.push((info.id, share));
        }
    }
    Ok(out)
}

/// The files directly in folder `dir` of `tree` ("" for its root), as (path, blob), in the
/// tree's order; none when `dir` is not a folder there. Names that are not UTF-8 are left
/// out.
pub(super) fn folder_files(
    repo: &gix::Repository,
    tree: ObjectId,
    dir: &str,
) -> Result<Vec<(String, ObjectId)>, TraceError> {
    let tree = repo
        .find_tree(tree)
        .map_err(|e| git_err("reading a tree", e))?;
    let sub = if dir.is_empty() {
        tree
    } else {
        match tree
            .lookup_entry_by_path(dir)
            .map_err(|e| git_err("looking up a folder", e))?
        {
            Some(e) if e.mode().is_tree() => repo
                .find_tree(e.object_id())
                .map_err(|e| git_err("reading a tree", e))?,
            _ => return Ok(Vec::new()),
        }
    };
    let decoded = sub.decode().map_err(|e| git_err("decoding a tree", e))?;
    Ok(decoded
        .entries
        .iter()
        .filter(|e| e.mode.is_blob())
        .filter_map(|e| {
            let name = e.filename.to_str().ok()?;
            let path = if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            };
            Some((path, e.oid.to_owned()))
        })
        .collect())
}

/// Function bodies of `idents` in the fix's files and their sibling files (same folders),
/// as (path, 0-based lines, ident). A name the fix's files define is taken from there only;
/// a name defined in several sibling files and not in the fix's is left out.
pub(super) fn find_definitions(
    repo: &gix::Repository,
    tree: ObjectId,
    idents: &[String],
    fix_paths: &[String],
) -> Result<Vec<(String, Vec<u32>, String)>, TraceError> {
    let dirs: BTreeSet<&str> = fix_paths
        .iter()
        .map(|p| p.rsplit_once('/').map_or("", |(d, _)| d))
        .collect();
    let mut out = Vec::new();
    let mut per_ident: HashMap<&str, usize> = HashMap::new();
    for dir in dirs {
        for (path, oid) in folder_files(repo, tree, dir)? {
            let lang = lang_of(&path);
            if lang == Lang::Other || is_test_or_doc(&path) {
                continue;
            }
            let Some(data) = read_text(repo, Some(oid))? else {
                continue;
            };
            for ident in idents {
                if per_ident.get(ident.as_str()).copied().unwrap_or(0) >= MAX_DEFINITION_SCAN {
                    continue;
                }
                if data.find(ident.as_bytes()).is_none() {
                    continue;
                }
                let lines = split_lines(&data);
                for (i, l) in lines.iter().enumerate() {
                    if is_function_head(l, lang)
                        && defines(l, ident, lang)
                        && has_body(&lines, i, lang)
                    {
                        out.push((path.clone(), function_body(&lines, i, lang), ident.clone()));
                        *per_ident.entry(ident.as_str()).or_default() += 1;
                        break;
                    }
                }
            }
        }
    }
    // A definition in the fix's own files is the one the message means. Elsewhere, a name
    // defined in several files (a static `verify()` in each) points at none of them.
    let mut own: HashSet<String> = HashSet::new();
    let mut elsewhere: HashMap<String, usize> = HashMap::new();
    for (p, _, i) in &out {
        if fix_paths.contains(p) {
            own.insert(i.clone());
        } else {
            *elsewhere.entry(i.clone()).or_default() += 1;
        }
    }
    let mut kept: HashMap<String, usize> = HashMap::new();
    out.retain(|(p, _, i)| {
        let wanted =
            fix_paths.contains(p) || !own.contains(i) && elsewhere.get(i).copied() == Some(1);
        if !wanted {
            return false;
        }
        let n = kept.entry(i.clone()).or_default();
        *n += 1;
        *n <= MAX_DEFINITION_LINES
    });
    Ok(out)
}
