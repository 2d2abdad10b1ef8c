//! Fixtures: real git repositories in temp dirs, the real binary, and documents.

use std::path::{Path, PathBuf};
use std::process::Command;

use tempfile::TempDir;

/// A git repository built with the real `git`, commit by commit, with fixed dates so shas are
/// the same on every run.
pub struct GitRepo {
    pub dir: TempDir,
    tick: u32,
}

impl GitRepo {
    pub fn new() -> GitRepo {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = GitRepo { dir, tick: 0 };
        repo.git(&["init", "-q", "-b", "main"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn write(&self, path: &str, content: &str) {
        let p = self.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, content).expect("write");
    }

    /// Write `files`, commit them as `author` (`Name <email>`) on `date` (`YYYY-MM-DD`),
    /// and return the full sha.
    pub fn commit(
        &mut self,
        files: &[(&str, &str)],
        message: &str,
        author: &str,
        date: &str,
    ) -> String {
        self.commit_applied(files, message, author, date, date)
    }

    /// [`GitRepo::commit`] of a change written on `written` and committed on `committed`,
    /// as a patch applied or a branch rebased later is.
    pub fn commit_applied(
        &mut self,
        files: &[(&str, &str)],
        message: &str,
        author: &str,
        written: &str,
        committed: &str,
    ) -> String {
        for (path, content) in files {
            self.write(path, content);
        }
        self.tick += 1;
        let when = format!("{written}T12:{:02}:00Z", self.tick % 60);
        let landed = format!("{committed}T12:{:02}:00Z", self.tick % 60);
        let (name, email) = author.split_once(" <").expect("Name <email>");
        let email = email.trim_end_matches('>');
        let out = Command::new("git")
            .args(["add", "-A"])
            .current_dir(self.path())
            .status()
            .expect("git add");
        assert!(out.success());
        let status = Command::new("git")
            .args(["commit", "-q", "--allow-empty", "-m", message])
            .current_dir(self.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", name)
            .env("GIT_AUTHOR_EMAIL", email)
            .env("GIT_AUTHOR_DATE", &when)
            .env("GIT_COMMITTER_NAME", name)
            .env("GIT_COMMITTER_EMAIL", email)
            .env("GIT_COMMITTER_DATE", &landed)
            .status()
            .expect("git commit");
        assert!(status.success());
        self.git(&["rev-parse", "HEAD"])
    }

    pub fn tag(&self, name: &str) {
        self.git(&["tag", name]);
    }

    /// `git clone FLAGS file://<this repository>` into a new temp folder, as `<temp>/c`:
    /// shallow (`--depth`), tagless (`--no-tags`) or bare clones, as users have them.
    pub fn clone_with(&self, flags: &[&str]) -> (TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let dest = dir.path().join("c");
        let status = Command::new("git")
            .args(["clone", "-q"])
            .args(flags)
            .arg(format!("file://{}", self.path().display()))
            .arg(&dest)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .status()
            .expect("git clone runs");
        assert!(status.success(), "git clone {flags:?} failed");
        (dir, dest)
    }

    /// Merge `branch` into the current branch with a merge commit saying `message`.
    pub fn merge(&self, branch: &str, message: &str) {
        self.merge_with(&["-m", message, branch]);
    }

    /// Start merging `branch` and stop before the commit, to edit what the merge holds.
    pub fn merge_without_commit(&self, branch: &str) {
        self.merge_with(&["--no-commit", branch]);
    }

    fn merge_with(&self, args: &[&str]) {
        let mut all = vec![
            "-c",
            "user.name=M",
            "-c",
            "user.email=m@x.io",
            "merge",
            "-q",
            "--no-ff",
        ];
        all.extend_from_slice(args);
        self.git(&all);
    }
}

/// The payment-retry incident: a healthy client, the commit that made backoff linear, the
/// release that shipped it, the fix and the release with the fix.
pub struct PaymentsRepo {
    pub repo: GitRepo,
    pub bug: String,
    pub fix: String,
}

pub fn payments_repo() -> PaymentsRepo {
    let mut repo = GitRepo::new();
    repo.commit(
        &[
            (
                "src/payments/retry.rs",
                "pub fn backoff(n: u32) -> u64 { 100 * 2u64.pow(n) }\n",
            ),
            ("tests/retry_test.rs", "#[test] fn grows() {}\n"),
            ("README.md", "# payments\n"),
        ],
        "Add payment client with exponential backoff",
        "Alice Example <alice@example.com>",
        "2024-11-01",
    );
    repo.tag("v1.0.0");
    let bug = repo.commit(
        &[(
            "src/payments/retry.rs",
            "pub fn backoff(n: u32) -> u64 { 100 * u64::from(n) }\n",
        )],
        "Optimize payment retry logic",
        "Bob Builder <bob@example.com>",
        "2024-12-03",
    );
    repo.tag("v1.1.0");
    let fix = repo.commit(
        &[(
            "src/payments/retry.rs",
            "pub fn backoff(n: u32) -> u64 { 100 * 2u64.pow(n) + jitter() }\n",
        )],
        "Restore exponential backoff with jitter",
        "Carol Fixer <carol@example.com>",
        "2024-12-05",
    );
    repo.tag("v1.1.1");
    repo.git(&[
        "remote",
        "add",
        "origin",
        "https://github.com/acme/payments.git",
    ]);
    PaymentsRepo { repo, bug, fix }
}

/// A postmortem that meets every rule for [`payments_repo`].
pub fn valid_postmortem(bug: &str, fix: &str) -> String {
    let (bug, fix) = (&bug[..7], &fix[..7]);
    format!(
        "# Postmortem: Payment Retry Thundering Herd

## Summary

Payments failed for part of the traffic after {bug} changed retry backoff in
`src/payments/retry.rs` from exponential to linear; release `v1.1.0` shipped it and
the gateway's rate limit turned retries into user-facing errors.

## Error Manifestation

Checkout returned `HTTP 500: upstream rate limited (429)` in production. How many users
were affected is unknown from the repository alone.

## Root Cause

The retry policy assumed retries from many instances were uncorrelated. Linear backoff
synchronised them, and the gateway's 429 responses were retried immediately.

## Why It Escaped

The change to `src/payments/retry.rs` came without a change to `tests/retry_test.rs`,
and no test exercised a gateway that answers 429.

## Fix

Commit {fix} restored exponential backoff and added jitter; it shipped in `v1.1.1`.
See [the retry policy](../../src/payments/retry.rs) and
[the fix](https://github.com/acme/payments/commit/{fix}).

## Timeline

| Date       | Event                                      |
| ---------- | ------------------------------------------ |
| 2024-12-03 | {bug} by Bob Builder made backoff linear   |
| 2024-12-03 | `v1.1.0` released with the change          |
| 2024-12-05 | {fix} restored exponential backoff         |
| 2024-12-05 | `v1.1.1` released with the fix             |

## Prevention

| Action                                          | Type | Status |
| ----------------------------------------------- | ---- | ------ |
| Add a gateway mock that answers 429 to the tests | Test | ☐      |
| Require a test change for `src/payments/retry.rs` | CI   | ✅     |
"
    )
}

/// The `skillrun` binary, isolated from the user's own skills.
pub fn skillrun() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::cargo_bin("skillrun").expect("binary built");
    cmd.env("SKILLRUN_SKILLS_DIR", "/nonexistent/skillrun-test-skills");
    cmd
}

/// The shipped postmortem skill, as a file path.
pub fn seed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("skills/postmortem/SKILL.md")
}
