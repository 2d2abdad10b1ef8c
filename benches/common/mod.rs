//! What the benches share: running `git`, and the `Fixes:` pairs of real histories.

// Each bench is its own crate and uses part of this module.
#![allow(dead_code)]

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

/// `git args` in `dir` (a work tree or a bare repository), with no user or system config.
pub fn git_cmd(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    cmd
}

/// [`git_cmd`]'s stdout. Panics with git's stderr when it fails: a bench input is broken.
pub fn git(dir: &Path, args: &[&str]) -> String {
    stdout_of(git_cmd(dir, args), args)
}

/// Run a `git` command (`args` name it in a panic) and return its stdout. Panics with git's
/// stderr when it fails.
pub fn stdout_of(mut cmd: Command, args: &[&str]) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("git {args:?}: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `Fixes:` targets named by a message (abbreviated shas).
pub fn fixes_targets(message: &str) -> Vec<String> {
    message
        .lines()
        .filter_map(|l| {
            let l = l.trim_start();
            let rest = l
                .strip_prefix("Fixes:")
                .or_else(|| l.strip_prefix("fixes:"))?;
            let mut w = rest.split_whitespace().next()?;
            if w == "commit" {
                w = rest.split_whitespace().nth(1)?;
            }
            let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
            (w.len() >= 7 && w.chars().all(|c| c.is_ascii_hexdigit())).then(|| w.to_string())
        })
        .collect()
}

/// The `wanted` newest non-merge commits of `HEAD` (git log order) whose `Fixes:` trailers
/// name a commit of `repo`, each with the full shas of the commits named.
pub fn fixes_pairs(
    dir: &Path,
    repo: &gix::Repository,
    wanted: usize,
) -> Vec<(String, HashSet<String>)> {
    let log = git(
        dir,
        &["log", "--no-merges", "--format=%H%x00%B%x01", "HEAD"],
    );
    let mut pairs = Vec::new();
    for entry in log.split('\u{1}') {
        if pairs.len() >= wanted {
            break;
        }
        let Some((sha, body)) = entry.trim_start().split_once('\0') else {
            continue;
        };
        let mut targets = HashSet::new();
        for t in fixes_targets(body) {
            if let Ok(id) = repo.rev_parse_single(format!("{t}^{{commit}}").as_str()) {
                targets.insert(id.detach().to_string());
            }
        }
        if !targets.is_empty() {
            pairs.push((sha.to_string(), targets));
        }
    }
    pairs
}
