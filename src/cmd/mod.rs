//! The subcommands, one module each.

pub(crate) mod check;
pub(crate) mod demo;
pub(crate) mod eval;
pub(crate) mod run;
pub(crate) mod skills;
pub(crate) mod tools;
pub(crate) mod trace;

use std::path::{Path, PathBuf};

/// `file` relative to `root`, when it is inside it; otherwise as given.
pub(crate) fn relative_to(file: &Path, root: Option<&Path>) -> PathBuf {
    let Some(root) = root else {
        return file.to_path_buf();
    };
    match (file.canonicalize(), root.canonicalize()) {
        (Ok(f), Ok(r)) => f
            .strip_prefix(&r)
            .map_or_else(|_| file.to_path_buf(), Path::to_path_buf),
        _ => file.to_path_buf(),
    }
}
