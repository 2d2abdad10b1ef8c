//! Releases on real histories: `git_releases` against `git tag --contains`, and what the
//! "When to Invoke" gate decides for real regressions.
//!
//! Input: `SKILLRUN_RELEASES_REAL=/tmp/dpdk[,/tmp/nvme-cli,...]`, local clones (work trees
//! or bare) of public projects whose commits carry `Fixes: <sha>` trailers and whose
//! releases are tagged. `SKILLRUN_RELEASES_PAIRS` (default 80) sets how many of the newest
//! resolvable `Fixes:` pairs are read per repository (the same pairs as `benches/trace.rs`).
//!
//! For each pair, the introducing commit (the first target that resolves) and the fix are
//! each looked up with the `git_releases` tool, in-process, and with `git tag --contains`;
//! the sets of tag names must be equal. Then the gate's question, from the tool's answer:
//! did a tag carry the introducing commit without the fix? Counted once over every tag, as
//! the gate did before pre-releases were set apart, and once over releases only, as it does
//! now (a repository that tags nothing but pre-releases counts them).
//!
//! Run: `SKILLRUN_RELEASES_REAL=/tmp/dpdk cargo bench --bench releases`. Prints a markdown
//! table for BENCHMARKS.md.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillrun::tools::{Registry, Sandbox, is_prerelease};

mod common;
use common::{fixes_pairs, git};

/// Real-history pairs read per repository, newest first.
const DEFAULT_PAIRS: usize = 80;

/// A tag as the bench reads it from the tool's answer.
struct Tag {
    name: String,
    prerelease: bool,
}

/// What `git_releases` and `git tag --contains` said of one commit.
struct Lookup {
    tags: Vec<Tag>,
    prereleases_are_releases: bool,
    ours: Duration,
    git: Duration,
    same_as_git: bool,
}

fn lookup(dir: &Path, registry: &Registry, sandbox: &Sandbox, commit: &str) -> Lookup {
    let t = Instant::now();
    let res = registry
        .call(sandbox, "git_releases", json!({ "commit": commit }))
        .unwrap_or_else(|e| panic!("git_releases {commit}: {e}"));
    let ours = t.elapsed();
    let t = Instant::now();
    let out = git(dir, &["tag", "--contains", commit]);
    let git_time = t.elapsed();
    let tags: Vec<Tag> = res.data["tags"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|t| Tag {
            name: t["name"].as_str().unwrap_or_default().to_string(),
            prerelease: t["prerelease"] == Value::Bool(true),
        })
        .collect();
    let names: BTreeSet<&str> = tags.iter().map(|t| t.name.as_str()).collect();
    let from_git: BTreeSet<&str> = out.lines().collect();
    Lookup {
        same_as_git: names == from_git,
        prereleases_are_releases: res.data["prereleases_are_releases"] == Value::Bool(true),
        tags,
        ours,
        git: git_time,
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn ms(d: Duration) -> String {
    format!("{:.0} ms", d.as_secs_f64() * 1e3)
}

fn real(dir: &Path, wanted: usize) -> String {
    let repo = gix::open_opts(dir, gix::open::Options::isolated())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let pairs = fixes_pairs(dir, &repo, wanted);
    let sandbox = Sandbox::open(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let registry = Registry::standard();
    let all_tags = git(dir, &["tag"]);
    let tag_count = all_tags.lines().count();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    let (mut lookups, mut equal) = (0, 0);
    let (mut shipped_any_tag, mut shipped_release, mut pre_only) = (0, 0, 0);
    let mut examples: Vec<String> = Vec::new();
    for (fix, targets) in &pairs {
        let mut targets: Vec<&String> = targets.iter().collect();
        targets.sort();
        let intro = targets[0];
        let bug = lookup(dir, &registry, &sandbox, intro);
        let fixed = lookup(dir, &registry, &sandbox, fix);
        for l in [&bug, &fixed] {
            lookups += 1;
            equal += usize::from(l.same_as_git);
            ours.push(l.ours);
            theirs.push(l.git);
        }
        let fixed_names: BTreeSet<&str> = fixed.tags.iter().map(|t| t.name.as_str()).collect();
        let without_fix: Vec<&Tag> = bug
            .tags
            .iter()
            .filter(|t| !fixed_names.contains(t.name.as_str()))
            .collect();
        let any = !without_fix.is_empty();
        let release = without_fix
            .iter()
            .any(|t| !t.prerelease || bug.prereleases_are_releases);
        shipped_any_tag += usize::from(any);
        shipped_release += usize::from(release);
        if any && !release {
            pre_only += 1;
            if examples.len() < 2 {
                let names: Vec<&str> = without_fix.iter().map(|t| t.name.as_str()).collect();
                examples.push(format!("{} ({})", &fix[..12], names.join(", ")));
            }
        }
    }
    // A mirror's folder is often `<name>/repo` or `<name>/.git`: name it by its project.
    let name = dir
        .components()
        .rev()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .find(|c| c != "repo" && c != ".git")
        .unwrap_or_default();
    let pre_tags = all_tags.lines().filter(|t| is_prerelease(t)).count();
    eprintln!("{name}: near misses only because pre-releases do not count: {examples:?}");
    format!(
        "| {name} | {tag_count} ({pre_tags}) | {} | {equal}/{lookups} | {} | {} | {shipped_any_tag} | {shipped_release} | {pre_only} |",
        pairs.len(),
        ms(median(ours)),
        ms(median(theirs)),
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    let Ok(dirs) = std::env::var("SKILLRUN_RELEASES_REAL") else {
        eprintln!(
            "SKILLRUN_RELEASES_REAL is not set: give local clones of projects with `Fixes:` trailers and release tags, comma-separated"
        );
        return;
    };
    let wanted = std::env::var("SKILLRUN_RELEASES_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_PAIRS);
    println!(
        "| repository | tags (pre-releases) | pairs | tag sets equal to `git tag --contains` | `git_releases` median | `git tag --contains` median | a tag carried the bug without the fix | a release did (the gate) | near miss only because pre-releases do not count |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|");
    for d in dirs.split(',').filter(|d| !d.is_empty()) {
        println!("{}", real(Path::new(d), wanted));
    }
}
