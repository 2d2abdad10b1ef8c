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

/// `finding` as a GitHub Actions annotation on `file`, which GitHub places by its path from
/// the repository's root.
pub(crate) fn github_annotation(
    finding: &skillrun::diag::Finding,
    file: &Path,
    root: Option<&Path>,
) -> String {
    let mut at_root = finding.clone();
    at_root.path = Some(relative_to(file, root));
    at_root.github_annotation()
}
