//! The sandbox every repository tool works in: read-only, confined to the repository root.
//!
//! A path from a model is untrusted. [`Sandbox::resolve`] refuses, with a message that says
//! what to do instead: absolute paths, `..`, NUL bytes, backslashes, overlong paths, `.git`
//! internals, and (for the work tree) symlinks that lead out of the root.

use std::path::{Component, Path, PathBuf};

use super::ToolError;
use crate::repo::NotARepo;

/// Longest path accepted, in bytes.
pub const MAX_PATH_BYTES: usize = 4096;
/// Longest path component accepted, in bytes.
pub const MAX_COMPONENT_BYTES: usize = 255;

/// A repository root and, when it is a git repository, a handle to it.
pub struct Sandbox {
    /// Canonical root of the work tree (or of the git dir for a bare repository).
    root: PathBuf,
    repo: Option<gix::ThreadSafeRepository>,
    /// Why the folder is not a readable git repository, when it is not.
    not_git: Option<NotARepo>,
}

impl std::fmt::Debug for Sandbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sandbox")
            .field("root", &self.root)
            .field("git", &self.repo.is_some())
            .finish()
    }
}

/// A path checked to stay inside the repository: relative, `/`-separated, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoPath(String);

impl RepoPath {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A path read from a git tree or diff of the repository, which is relative and
    /// normalised already: nothing a caller typed.
    pub(crate) fn from_tree(path: &str) -> RepoPath {
        RepoPath(path.to_string())
    }
}

impl std::fmt::Display for RepoPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Sandbox {
    /// Open `dir`. A folder that is not a git repository still works for the work-tree
    /// tools; the git tools then answer with a clear error.
    pub fn open(dir: &Path) -> Result<Sandbox, ToolError> {
        let root = dir.canonicalize().map_err(|e| ToolError::Repository {
            message: format!("{}: cannot open the folder: {e}", dir.display()),
        })?;
        if !root.is_dir() {
            return Err(ToolError::Repository {
                message: format!("{}: not a folder", dir.display()),
            });
        }
        let opts = gix::open::Options::isolated();
        let (repo, not_git) = match gix::ThreadSafeRepository::open_opts(&root, opts) {
            Ok(r) => (Some(r), None),
            Err(e) => (None, Some(NotARepo::explain(&root, &e))),
        };
        Ok(Sandbox {
            root,
            repo,
            not_git,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The repository, for the git tools.
    pub fn repo(&self) -> Result<gix::Repository, ToolError> {
        match &self.repo {
            Some(r) => {
                let mut repo = r.to_thread_local();
                repo.object_cache_size_if_unset(16 * 1024 * 1024);
                Ok(repo)
            }
            None => Err(ToolError::Repository {
                message: format!(
                    "{}: {}; the git tools need a git repository",
                    self.root.display(),
                    self.not_git
                        .as_ref()
                        .map_or_else(|| "not a git repository".to_string(), ToString::to_string)
                ),
            }),
        }
    }

    /// Why the folder is not a readable git repository, when it is not.
    pub fn not_git(&self) -> Option<&NotARepo> {
        self.not_git.as_ref()
    }

    /// Whether the repository has a work tree (bare repositories do not).
    pub fn has_worktree(&self) -> bool {
        match &self.repo {
            Some(r) => r.work_dir().is_some(),
            None => true,
        }
    }

    /// An optional path filter given by a model: `None` when absent or when it names the
    /// whole repository (`""`, `"."`), else the checked path.
    pub fn resolve_filter(&self, path: Option<&str>) -> Result<Option<RepoPath>, ToolError> {
        match path {
            None => Ok(None),
            Some(raw) => {
                let rp = self.resolve(raw)?;
                Ok((!rp.as_str().is_empty()).then_some(rp))
            }
        }
    }

    /// Check a path given by a model and normalise it. `""` and `"."` mean the root.
    pub fn resolve(&self, path: &str) -> Result<RepoPath, ToolError> {
        let refuse = |reason: &str| ToolError::PathRefused {
            path: shorten(path),
            reason: reason.to_string(),
        };
        if path.len() > MAX_PATH_BYTES {
            return Err(refuse(&format!(
                "path is {} bytes, over the {MAX_PATH_BYTES}-byte limit",
                path.len()
            )));
        }
        if path.contains('\0') {
            return Err(refuse("path contains a NUL byte"));
        }
        if path.contains('\\') {
            return Err(refuse("use forward slashes (`a/b.rs`), not backslashes"));
        }
        if path.starts_with('/') || path.starts_with('~') || has_drive_prefix(path) {
            return Err(refuse(
                "absolute paths are refused; give a path relative to the repository root",
            ));
        }
        let mut parts: Vec<&str> = Vec::new();
        for part in path.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    return Err(refuse(
                        "`..` is refused; give a path relative to the repository root",
                    ));
                }
                p if p.len() > MAX_COMPONENT_BYTES => {
                    return Err(refuse(&format!(
                        "a path component is over {MAX_COMPONENT_BYTES} bytes"
                    )));
                }
                p => parts.push(p),
            }
        }
        if parts.iter().any(|p| p.eq_ignore_ascii_case(".git")) {
            return Err(refuse(
                "`.git` internals are refused; use the git tools (git_log, git_show, git_blame)",
            ));
        }
        Ok(RepoPath(parts.join("/")))
    }

    /// The on-disk file for a checked path, after following symlinks: refused when it leads
    /// out of the root or into `.git`.
    pub fn worktree_file(&self, path: &RepoPath) -> Result<PathBuf, ToolError> {
        if !self.has_worktree() {
            return Err(ToolError::Repository {
                message: "this is a bare repository: it has no work tree; pass `rev` (for example `HEAD`)".into(),
            });
        }
        let joined = self.root.join(path.as_str());
        let real = joined.canonicalize().map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ToolError::NotFound {
                what: format!("`{path}` does not exist in the work tree"),
            },
            _ => ToolError::Io {
                message: format!("`{path}`: {e}"),
            },
        })?;
        self.confine(path, &real)?;
        Ok(real)
    }

    /// Refuse a real (canonical) path outside the root or inside `.git`.
    pub fn confine(&self, path: &RepoPath, real: &Path) -> Result<(), ToolError> {
        let refuse = |reason: &str| ToolError::PathRefused {
            path: shorten(path.as_str()),
            reason: reason.to_string(),
        };
        let Ok(inside) = real.strip_prefix(&self.root) else {
            return Err(refuse("it is a symlink that leads outside the repository"));
        };
        if inside
            .components()
            .any(|c| matches!(c, Component::Normal(n) if n.eq_ignore_ascii_case(".git")))
        {
            return Err(refuse("it leads into `.git`; use the git tools"));
        }
        Ok(())
    }
}

fn has_drive_prefix(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':'
}

/// A path quoted in an error, cut to a readable length.
fn shorten(path: &str) -> String {
    const SHOWN: usize = 120;
    let clean: String = path
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    if clean.chars().count() > SHOWN {
        format!("{}…", clean.chars().take(SHOWN).collect::<String>())
    } else {
        clean
    }
}
