//! Plain SZZ, the accuracy benchmark's baseline.

use std::collections::HashMap;

use gix::ObjectId;

use super::history::Tracer;
use super::lines::{is_doc, is_test};
use super::{MAX_FILES, TraceError, facts, file_changes, line_diff, read_text, resolve};

/// Plain SZZ, as the accuracy benchmark's baseline: every commit blamed (in the fix's parent)
/// for a line the fix deleted or changed in a non-test, non-doc file, with its line count,
/// most-blamed first. No whitespace, move or message handling. Generated files (lock files,
/// translations), which `trace` also sets aside, stay in: the baseline keeps its own
/// definition.
pub fn plain_szz(repo: &gix::Repository, fix: &str) -> Result<Vec<(String, usize)>, TraceError> {
    let fix_id = resolve(repo, fix)?;
    let f = facts(repo, fix_id)?;
    let Some(&parent) = f.parents.first() else {
        return Err(TraceError::RootCommit {
            sha: fix_id.to_string(),
        });
    };
    let mut t = Tracer::new(repo);
    let parent_tree = facts(repo, parent)?.tree;
    let mut counts: HashMap<ObjectId, usize> = HashMap::new();
    for fc in file_changes(repo, parent_tree, f.tree)?
        .iter()
        .filter(|c| c.old.is_some())
        .take(MAX_FILES)
    {
        if is_test(&fc.new_path) || is_doc(&fc.new_path) {
            continue;
        }
        let (Some(old), Some(new)) = (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
        else {
            continue;
        };
        let d = line_diff(&old, &new);
        let lines: Vec<u32> = d.hunks.iter().flat_map(|(b, _)| b.clone()).collect();
        for (_, commit, _, _) in t.blame(&fc.old_path, parent, &lines)? {
            *counts.entry(commit).or_default() += 1;
        }
    }
    let mut out: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(id, n)| (id.to_string(), n))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}
