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
//! the tags that contain the commit itself must be the same (the tool also counts tags that
//! contain only a copy of it, a cherry-pick, which git does not). Then the gate's question,
//! from the tool's answer: did a tag carry the introducing commit without the fix? Counted
//! over every tag and the commits themselves (what `git tag --contains` tells), over
//! releases only (pre-releases set apart; a repository that tags nothing but pre-releases
//! counts them), and over releases with copies counted, as the gate does.
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
    /// Reached only through a copy of the commit (a cherry-pick), which git does not count.
    through_copy: bool,
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
            through_copy: t.get("through_copy").is_some(),
        })
        .collect();
    let names: BTreeSet<&str> = tags
        .iter()
        .filter(|t| !t.through_copy)
        .map(|t| t.name.as_str())
        .collect();
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
    // The gate's verdict three ways: every tag and the commits themselves (what `git tag
    // --contains` tells), then releases only, then releases with copies counted (the gate).
    let mut shipped = [0usize; 3];
    let mut with_copy = 0;
    // Verdicts the copies turned: shipped (a release had a copy of the bug) and near miss
    // (every release with the bug had a copy of the fix).
    let (mut turned_shipped, mut turned_near) = (0, 0);
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
            with_copy += usize::from(l.tags.iter().any(|t| t.through_copy));
            ours.push(l.ours);
            theirs.push(l.git);
        }
        let carried = |releases_only: bool, copies: bool| {
            let is_release =
                |t: &Tag, l: &Lookup| !releases_only || !t.prerelease || l.prereleases_are_releases;
            let fixed_names: BTreeSet<&str> = fixed
                .tags
                .iter()
                .filter(|t| copies || !t.through_copy)
                .map(|t| t.name.as_str())
                .collect();
            bug.tags
                .iter()
                .filter(|t| (copies || !t.through_copy) && is_release(t, &bug))
                .filter(|t| !fixed_names.contains(t.name.as_str()))
                .map(|t| t.name.clone())
                .collect::<Vec<_>>()
        };
        let verdicts = [
            carried(false, false),
            carried(true, false),
            carried(true, true),
        ];
        for (n, v) in shipped.iter_mut().zip(&verdicts) {
            *n += usize::from(!v.is_empty());
        }
        turned_shipped += usize::from(verdicts[1].is_empty() && !verdicts[2].is_empty());
        turned_near += usize::from(!verdicts[1].is_empty() && verdicts[2].is_empty());
        if !verdicts[1].is_empty() && verdicts[2].is_empty() && examples.len() < 2 {
            examples.push(format!("{} ({})", &fix[..12], verdicts[1].join(", ")));
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
    eprintln!("{name}: near misses because the fix's copy is in the release: {examples:?}");
    format!(
        "| {name} | {tag_count} ({pre_tags}) | {} | {equal}/{lookups} | {with_copy} | {} | {} | {} | {} | {} (+{turned_shipped} -{turned_near}) |",
        pairs.len(),
        ms(median(ours)),
        ms(median(theirs)),
        shipped[0],
        shipped[1],
        shipped[2],
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
        "| repository | tags (pre-releases) | pairs | tags of the commit itself equal to `git tag --contains` | lookups that found a copy | `git_releases` median | `git tag --contains` median | shipped: a tag had the bug without the fix | a release did | a release did, copies counted (the gate) |"
    );
    println!("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|");
    for d in dirs.split(',').filter(|d| !d.is_empty()) {
        println!("{}", real(Path::new(d), wanted));
    }
}
