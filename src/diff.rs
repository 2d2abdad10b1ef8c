//! Changed files between two trees, as `git_show` shows them and the tracer reads them.

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::object::tree::diff::ChangeDetached;
use gix::objs::tree::EntryMode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Added,
    Modified,
    Deleted,
    Renamed,
}

impl Status {
    /// The word git uses in `--name-status` output, spelled out.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Added => "added",
            Status::Modified => "modified",
            Status::Deleted => "deleted",
            Status::Renamed => "renamed",
        }
    }
}

/// One changed file: where it was, where it is, and its objects with their modes (`None`:
/// the side where it does not exist).
#[derive(Debug, Clone)]
pub struct FileChange {
    /// Path before the change (the same as `new_path` unless renamed or copied).
    pub old_path: String,
    /// Path after the change (for a deletion, where it was).
    pub new_path: String,
    pub status: Status,
    pub old: Option<(ObjectId, EntryMode)>,
    pub new: Option<(ObjectId, EntryMode)>,
    /// Whether both paths are valid UTF-8, so that `old_path` and `new_path` name the files
    /// exactly (otherwise they are lossy, for display only).
    pub exact_paths: bool,
}

impl FileChange {
    /// The object before the change, if the file existed.
    pub fn old_id(&self) -> Option<ObjectId> {
        self.old.map(|(id, _)| id)
    }

    /// The object after the change, if the file still exists.
    pub fn new_id(&self) -> Option<ObjectId> {
        self.new.map(|(id, _)| id)
    }

    /// Whether every side present is a regular or executable file (not a symlink or a
    /// submodule): what has lines to diff and blame.
    pub fn is_blob_change(&self) -> bool {
        [self.old, self.new]
            .iter()
            .flatten()
            .all(|(_, mode)| mode.is_blob())
    }
}

fn is_file(mode: EntryMode) -> bool {
    !mode.is_tree()
}

/// The changed files (not folders) of a tree diff, by path. A file that became a folder, or
/// the reverse, is a deletion or an addition of the file; a copy is an addition (its source
/// stays in place).
pub fn changes_of(list: Vec<ChangeDetached>) -> Vec<FileChange> {
    type Side = Option<(ObjectId, EntryMode)>;
    // A change at one path: its status follows from which sides are files.
    let at = |location: &gix::bstr::BStr, old: Side, new: Side| {
        let path = location.to_str_lossy().into_owned();
        let exact_paths = location.to_str().is_ok();
        let old = old.filter(|(_, m)| is_file(*m));
        let new = new.filter(|(_, m)| is_file(*m));
        let status = match (old, new) {
            (None, None) => return None,
            (None, Some(_)) => Status::Added,
            (Some(_), None) => Status::Deleted,
            (Some(_), Some(_)) => Status::Modified,
        };
        Some(FileChange {
            old_path: path.clone(),
            new_path: path,
            status,
            old,
            new,
            exact_paths,
        })
    };
    let mut out = Vec::new();
    for c in list {
        let change = match c {
            ChangeDetached::Addition {
                location,
                entry_mode,
                id,
                ..
            } => at(location.as_ref(), None, Some((id, entry_mode))),
            ChangeDetached::Deletion {
                location,
                entry_mode,
                id,
                ..
            } => at(location.as_ref(), Some((id, entry_mode)), None),
            ChangeDetached::Modification {
                location,
                previous_entry_mode,
                previous_id,
                entry_mode,
                id,
            } => at(
                location.as_ref(),
                Some((previous_id, previous_entry_mode)),
                Some((id, entry_mode)),
            ),
            ChangeDetached::Rewrite {
                source_location,
                source_entry_mode,
                source_id,
                entry_mode,
                id,
                location,
                copy,
                ..
            } if is_file(entry_mode) => Some(FileChange {
                new_path: location.to_str_lossy().into_owned(),
                old_path: source_location.to_str_lossy().into_owned(),
                // A copy leaves the source in place: for the reader it is a new file.
                status: if copy { Status::Added } else { Status::Renamed },
                old: (!copy).then_some((source_id, source_entry_mode)),
                new: Some((id, entry_mode)),
                exact_paths: location.to_str().is_ok() && source_location.to_str().is_ok(),
            }),
            ChangeDetached::Rewrite { .. } => None,
        };
        out.extend(change);
    }
    out.sort_by(|a, b| a.new_path.cmp(&b.new_path));
    out
}
