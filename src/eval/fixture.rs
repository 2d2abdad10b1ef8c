//! Fixture repositories: a case's recipe built with the `git` command in a temp dir, with
//! fixed authors, dates and config, so the shas are the same on every machine and every run
//! (the pattern of `crate::demo`). These are the harness's own repositories, not untrusted
//! input to the tools: building them with a subprocess is fine.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::case::{CommitSpec, INJECTION_MARK, RepoSource};

/// Why a fixture could not be built.
#[derive(Debug, thiserror::Error)]
#[error("fixture: {0}")]
pub struct FixtureError(pub String);

/// A built repository and the shas of its labelled commits.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub path: PathBuf,
    pub commits: BTreeMap<String, String>,
}

/// Build `source` at `dir` (which must not exist yet), with `{{injection}}` replaced by
/// `injection`. `base` is the folder of the case file (for `path:` repositories).
pub fn build(
    source: &RepoSource,
    dir: &Path,
    injection: &str,
    base: &Path,
) -> Result<Fixture, FixtureError> {
    if let Some(path) = &source.path {
        let from = base.join(path);
        let parent = dir.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(|e| FixtureError(e.to_string()))?;
        git(
            parent,
            &[
                "clone",
                "-q",
                "--no-hardlinks",
                &from.to_string_lossy(),
                &dir.to_string_lossy(),
            ],
            ("eval", "eval@example.com"),
            "2024-01-01",
        )?;
        return Ok(Fixture {
            path: dir.to_path_buf(),
            commits: BTreeMap::new(),
        });
    }
    std::fs::create_dir_all(dir).map_err(|e| FixtureError(format!("{}: {e}", dir.display())))?;
    let first = source
        .commits
        .first()
        .map_or("2024-01-01", |c| c.date.as_str());
    let who = ("eval", "eval@example.com");
    git(dir, &["init", "-q", "-b", "main"], who, first)?;
    let mut commits = BTreeMap::new();
    for c in &source.commits {
        let sha = commit(dir, c, injection, &commits)?;
        if let Some(id) = &c.id {
            commits.insert(id.clone(), sha);
        }
    }
    if let Some(remote) = &source.remote {
        git(dir, &["remote", "add", "origin", remote], who, first)?;
    }
    Ok(Fixture {
        path: dir.to_path_buf(),
        commits,
    })
}

fn fill(text: &str, injection: &str) -> String {
    text.replace(INJECTION_MARK, injection)
}

/// `{{sha:ID}}` replaced by the short sha of the earlier commit labelled `ID`.
fn fill_shas(text: &str, commits: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (id, sha) in commits {
        out = out.replace(&format!("{{{{sha:{id}}}}}"), sha.get(..7).unwrap_or(sha));
    }
    out
}

/// A repository-relative path that stays inside the repository.
fn inside(dir: &Path, rel: &str) -> Result<PathBuf, FixtureError> {
    if rel.is_empty() || rel.starts_with('/') || rel.split('/').any(|c| c == ".." || c == ".git") {
        return Err(FixtureError(format!("path {rel:?} leaves the repository")));
    }
    Ok(dir.join(rel))
}

fn commit(
    dir: &Path,
    c: &CommitSpec,
    injection: &str,
    earlier: &BTreeMap<String, String>,
) -> Result<String, FixtureError> {
    let author = fill(&c.author, injection);
    let (name, email) = author
        .split_once(" <")
        .map(|(n, e)| (n.trim().to_string(), e.trim_end_matches('>').to_string()))
        .ok_or_else(|| FixtureError(format!("author {author:?} is not `Name <email>`")))?;
    let who = (name.as_str(), email.as_str());
    let io = |e: std::io::Error| FixtureError(e.to_string());
    for (from, to) in &c.rename {
        let (from, to) = (inside(dir, from)?, inside(dir, to)?);
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p).map_err(io)?;
        }
        std::fs::rename(&from, &to)
            .map_err(|e| FixtureError(format!("rename {}: {e}", from.display())))?;
    }
    for path in &c.delete {
        std::fs::remove_file(inside(dir, path)?)
            .map_err(|e| FixtureError(format!("delete {path}: {e}")))?;
    }
    for (path, text) in &c.files {
        let p = inside(dir, &fill(path, injection))?;
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&p, fill_shas(&fill(text, injection), earlier)).map_err(io)?;
    }
    git(dir, &["add", "-A"], who, &c.date)?;
    git(
        dir,
        &[
            "commit",
            "-q",
            "--allow-empty",
            "-m",
            &fill(&c.message, injection),
        ],
        who,
        &c.date,
    )?;
    for tag in &c.tags {
        let tag = fill(tag, injection);
        git(
            dir,
            &["tag", "-a", &tag, "-m", &format!("Release {tag}")],
            who,
            &c.date,
        )?;
    }
    git(dir, &["rev-parse", "HEAD"], who, &c.date)
}

/// Run `git` in `dir` as `who` (name, e-mail) on `date` (`YYYY-MM-DD`), isolated from the
/// machine's git configuration: the same inputs give the same shas everywhere. Used for the
/// eval fixtures and the demo repository, never on a user's repository.
pub fn git(
    dir: &Path,
    args: &[&str],
    who: (&str, &str),
    date: &str,
) -> Result<String, FixtureError> {
    let when = format!("{date}T10:00:00+00:00");
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", who.0)
        .env("GIT_AUTHOR_EMAIL", who.1)
        .env("GIT_COMMITTER_NAME", who.0)
        .env("GIT_COMMITTER_EMAIL", who.1)
        .env("GIT_AUTHOR_DATE", &when)
        .env("GIT_COMMITTER_DATE", &when)
        .output()
        .map_err(|e| FixtureError(format!("git is needed to build fixtures: {e}")))?;
    if !out.status.success() {
        return Err(FixtureError(format!(
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
