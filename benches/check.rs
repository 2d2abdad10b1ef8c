//! `check` throughput: 1,000 postmortems checked against the postmortem contract, without and
//! with a repository (the history-backed rules), plus the skill load and contract derivation.
//!
//! Run: `cargo bench --bench check` (prints a markdown table for BENCHMARKS.md).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use skillrun::repo::RepoFacts;
use skillrun::skill::Skill;
use skillrun::{Document, Rules, check};

mod common;
use common::{git_cmd, stdout_of};

/// Documents per run.
const DOCS: usize = 1_000;
/// Runs per measurement; the median is reported.
const RUNS: usize = 7;

/// `git args` in `dir` as the one author, on `date`.
fn git(dir: &Path, args: &[&str], date: &str) -> String {
    let mut cmd = git_cmd(dir, args);
    cmd.env("GIT_AUTHOR_NAME", "Dev Ada Smith")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Dev Ada Smith")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", date)
        .env("GIT_COMMITTER_DATE", date);
    stdout_of(cmd, args).trim().to_string()
}

/// A small repository with 50 commits and 5 tags; returns it and its commit shas.
fn repo() -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let p = dir.path();
    git(p, &["init", "-q", "-b", "main"], "2024-01-01T00:00:00Z");
    let mut shas = Vec::new();
    for i in 0..50 {
        let file = p.join(format!("src/mod{}/file{i}.rs", i % 5));
        std::fs::create_dir_all(file.parent().unwrap_or(p)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&file, format!("pub fn f{i}() {{}}\n")).unwrap_or_else(|e| panic!("{e}"));
        let date = format!("2024-01-{:02}T12:00:00Z", 1 + i % 28);
        git(p, &["add", "-A"], &date);
        git(p, &["commit", "-q", "-m", &format!("change {i}")], &date);
        shas.push(git(p, &["rev-parse", "HEAD"], &date));
        if i % 10 == 9 {
            git(p, &["tag", &format!("v1.{}.0", i / 10)], &date);
        }
    }
    (dir, shas)
}

fn document(i: usize, shas: &[String]) -> String {
    let bug = &shas[i % shas.len()][..7];
    let fix = &shas[(i + 7) % shas.len()][..7];
    let file = i % 50;
    let module = file % 5;
    let tag = (i % 5).min(4);
    format!(
        "# Postmortem: Incident {i}

## Summary

Commit {bug} changed `src/mod{module}/file{file}.rs`; release `v1.{tag}.0` shipped it to users.

## Error Manifestation

Requests failed with `error {i}: connection reset` for an unknown share of users.

## Root Cause

The module assumed its caller retried; after {bug} nothing did.

## Why It Escaped

No test covered the path in `src/mod{module}/`.

## Fix

Commit {fix} restored the retry.

## Timeline

| Date       | Event                        |
| ---------- | ---------------------------- |
| 2024-01-03 | {bug} merged by Dev Ada Smith |
| 2024-01-09 | {fix} fixed it               |

## Prevention

| Action                   | Type | Status |
| ------------------------ | ---- | ------ |
| Add a test for case {i}  | Test | ☐      |
| Document the contract    | Docs | ✅     |
"
    )
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn time<F: FnMut()>(mut f: F) -> Duration {
    median(
        (0..RUNS)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

fn main() {
    let seed = Path::new(env!("CARGO_MANIFEST_DIR")).join("skills/postmortem/SKILL.md");
    let load = time(|| {
        black_box(Skill::load(&seed).unwrap_or_else(|e| panic!("{e}")));
    });
    let skill = Skill::load(&seed).unwrap_or_else(|e| panic!("{e}"));
    let contract = skill
        .contract
        .as_ref()
        .unwrap_or_else(|| panic!("no contract"));

    let (dir, shas) = repo();
    let facts = RepoFacts::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let docs: Vec<String> = (0..DOCS).map(|i| document(i, &shas)).collect();
    let bytes: usize = docs.iter().map(String::len).sum();

    let mut errors = 0;
    let without = time(|| {
        errors = 0;
        for d in &docs {
            let f = check(
                contract,
                Document {
                    text: d,
                    path: None,
                },
                None,
            );
            errors += f.iter().filter(|f| f.is_error()).count();
        }
    });
    let errors_without = errors;
    let with = time(|| {
        errors = 0;
        let rules = Rules::new(contract, Some(&facts));
        for d in &docs {
            let f = rules.check(Document {
                text: d,
                path: None,
            });
            errors += f.iter().filter(|f| f.is_error()).count();
        }
    });
    let open = time(|| {
        black_box(RepoFacts::open(dir.path()).unwrap_or_else(|e| panic!("{e}")));
    });

    println!("| what | median of {RUNS} runs | per document |");
    println!("|---|---|---|");
    println!("| load + derive contract of the postmortem skill | {load:.2?} | |");
    println!(
        "| check {DOCS} documents ({} KiB), no repository | {without:.2?} | {:.1?} |",
        bytes / 1024,
        without / DOCS as u32
    );
    println!(
        "| check {DOCS} documents, with `--repo` (50 commits) | {with:.2?} | {:.1?} |",
        with / DOCS as u32
    );
    println!("| open repository facts (50 commits) | {open:.2?} | |");
    println!();
    println!("errors found: {errors_without} without repository, {errors} with (expected 0 and 0)");
}
