//! Regression tracing: accuracy and speed.
//!
//! Two parts, each run when its input is given:
//!
//! * Synthetic (`SKILLRUN_BENCH_REPO=/tmp/bench100k`, the repository made by
//!   `../shared/tools/make-bench-repo /tmp/bench100k --commits 100000`; without it a
//!   20,000-commit repository is generated in a temp dir): for every `.oracle.json` pair,
//!   `trace` with trailers ignored; top-1 accuracy against the oracle and the wall time per
//!   trace (open, blame, rank: offline end to end, in-process).
//! * Real history (`SKILLRUN_TRACE_REAL=/tmp/rdma-core[,/tmp/libnl]`, local clones of public
//!   C projects whose commits carry `Fixes: <sha>` trailers). Protocol: pairs are commits
//!   with `Fixes: <abbrev sha>` trailers whose sha resolves to a commit; the
//!   `SKILLRUN_TRACE_PAIRS` (default 200) newest such fixes (git log order) are traced with
//!   trailers ignored (the message heuristics see the message with `Fixes:`/`Reverts:`-style
//!   trailers stripped). Top-1 accuracy: the best candidate is one of the fix's `Fixes:`
//!   targets; top-3: one of them is among the first three candidates (what a model
//!   reading the ranked list sees); any rank: one of them is a candidate at all (up to 20),
//!   which bounds what any reordering of the candidates could reach. Precision/recall/F1 over the reported "introducing" set, which is the top-1
//!   candidate (one commit per fix; a fix with several targets can then reach recall 1/k).
//!   Baseline, same run and same blame engine: plain SZZ = every commit blamed in the fix's
//!   parent for a deleted or changed line of a non-test, non-doc file (its set), and its
//!   best single pick = the most-blamed commit. Each trace opens its own repository handle,
//!   as a CLI run or a tool call does, so the time per fix includes opening it.
//!
//! Run: `SKILLRUN_TRACE_REAL=/tmp/rdma-core cargo bench --bench trace`. Prints markdown
//! tables for BENCHMARKS.md. The bench runs `git` to list pairs; tracing itself is
//! in-process gix.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use skillrun::trace::{TraceOptions, find_fixes, plain_szz, trace};

mod common;
use common::{fixes_pairs, git};

/// Commits generated when no synthetic repository is given.
const DEFAULT_COMMITS: &str = "20000";
/// Arbitrary commits of the synthetic repository traced for the timing's spread.
const ARBITRARY_SAMPLE: usize = 20;
/// Real-history fixes traced per repository, newest first.
const DEFAULT_PAIRS: usize = 200;

fn open(dir: &Path) -> gix::Repository {
    let mut repo = gix::open_opts(dir, gix::open::Options::isolated())
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    repo.object_cache_size_if_unset(16 * 1024 * 1024);
    repo
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

fn synthetic() {
    let (_tmp, dir) = match std::env::var_os("SKILLRUN_BENCH_REPO") {
        Some(d) => (None, PathBuf::from(d)),
        None => {
            let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
            let dir = tmp.path().join("bench");
            let tool =
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/make-bench-repo");
            let st = Command::new(tool)
                .arg(&dir)
                .args(["--commits", DEFAULT_COMMITS])
                .status()
                .unwrap_or_else(|e| panic!("make-bench-repo runs: {e}"));
            assert!(st.success());
            (Some(tmp), dir)
        }
    };
    let oracle_path = PathBuf::from(format!("{}.oracle.json", dir.display()));
    let oracle: Vec<serde_json::Value> = serde_json::from_str(
        &std::fs::read_to_string(&oracle_path).unwrap_or_else(|e| panic!("oracle: {e}")),
    )
    .unwrap_or_else(|e| panic!("oracle json: {e}"));
    let commits = git(&dir, &["rev-list", "--count", "HEAD"]);
    let t0 = Instant::now();
    let repo = open(&dir);
    let open_time = t0.elapsed();
    let opts = TraceOptions {
        ignore_trailers: true,
        ..TraceOptions::default()
    };
    let (mut right, mut times, mut szz_right, mut szz_times) = (0, Vec::new(), 0, Vec::new());
    let mut first_cold = Duration::ZERO;
    for (i, pair) in oracle.iter().enumerate() {
        let fix = pair["fix"]
            .as_str()
            .unwrap_or_else(|| panic!("oracle pair without fix"));
        let want = pair["introduced"]
            .as_str()
            .unwrap_or_else(|| panic!("oracle pair without introduced"));
        let t = Instant::now();
        // End to end: a fresh repository handle each time (no warm object cache).
        let repo_fresh = open(&dir);
        let tr = trace(&repo_fresh, fix, &opts).unwrap_or_else(|e| panic!("trace: {e}"));
        let el = t.elapsed();
        if i == 0 {
            first_cold = el;
        }
        times.push(el);
        if tr.candidates.first().map(|c| c.commit.as_str()) == Some(want) {
            right += 1;
        } else {
            eprintln!(
                "miss: fix {fix} want {want} got {:?}",
                tr.candidates.first()
            );
        }
        let t = Instant::now();
        let s = plain_szz(&repo, fix).unwrap_or_else(|e| panic!("szz: {e}"));
        szz_times.push(t.elapsed());
        if s.first().map(|c| c.0.as_str()) == Some(want) {
            szz_right += 1;
        }
    }
    let max = times.iter().max().copied().unwrap_or_default();
    println!(
        "\n### Synthetic: {} ({} commits, {} oracle pairs)\n",
        dir.display(),
        commits.trim(),
        oracle.len()
    );
    println!("| | top-1 right | median per fix | slowest fix |");
    println!("|---|---|---|---|");
    println!(
        "| trace --ignore-trailers | {right}/{} | {:.1} ms | {:.1} ms |",
        oracle.len(),
        median(times).as_secs_f64() * 1e3,
        max.as_secs_f64() * 1e3
    );
    println!(
        "| plain SZZ | {szz_right}/{} | {:.1} ms | |",
        oracle.len(),
        median(szz_times).as_secs_f64() * 1e3
    );
    // Arbitrary commits (not planted fixes): their context lines can date from the root
    // commit, so blame walks the whole history of the file.
    let all = git(&dir, &["rev-list", "--no-merges", "HEAD"]);
    let shas: Vec<&str> = all.lines().collect();
    let step = (shas.len() / ARBITRARY_SAMPLE).max(1);
    let mut arb = Vec::new();
    for sha in shas.iter().step_by(step).take(ARBITRARY_SAMPLE) {
        let t = Instant::now();
        let _ = trace(&open(&dir), sha, &opts);
        arb.push(t.elapsed());
    }
    let arb_max = arb.iter().max().copied().unwrap_or_default();
    println!(
        "\n{} arbitrary commits (every {step}th): median {:.0} ms, slowest {:.0} ms",
        arb.len(),
        median(arb).as_secs_f64() * 1e3,
        arb_max.as_secs_f64() * 1e3
    );
    let t = Instant::now();
    let fixes = find_fixes(&repo, "the payments retry loop outage", 5)
        .unwrap_or_else(|e| panic!("find_fixes: {e}"));
    let incident_time = t.elapsed();
    let t = Instant::now();
    if let Some(best) = fixes.first() {
        trace(&repo, &best.commit, &TraceOptions::default())
            .unwrap_or_else(|e| panic!("trace: {e}"));
    }
    println!(
        "\n`find_fixes` (\"the payments retry loop outage\", every commit scanned): {:.0} ms, then \
         its best fix traced in {:.1} ms",
        incident_time.as_secs_f64() * 1e3,
        t.elapsed().as_secs_f64() * 1e3
    );
    println!(
        "\n(open: {:.1} ms; first trace, cold: {:.1} ms)",
        open_time.as_secs_f64() * 1e3,
        first_cold.as_secs_f64() * 1e3
    );
}

struct Tally {
    fixes: usize,
    top1: usize,
    top3: usize,
    /// A target is among the candidates at all: what a perfect reordering would reach.
    listed: usize,
    set_size: usize,
    set_hits: usize,
    targets: usize,
    target_hits: usize,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            fixes: 0,
            top1: 0,
            top3: 0,
            listed: 0,
            set_size: 0,
            set_hits: 0,
            targets: 0,
            target_hits: 0,
        }
    }

    /// `ranked`: the method's picks, best first; `set`: what it reports as introducing.
    fn add(&mut self, ranked: &[String], set: &[String], targets: &HashSet<String>) {
        self.fixes += 1;
        if ranked.first().is_some_and(|b| targets.contains(b)) {
            self.top1 += 1;
        }
        if ranked.iter().take(3).any(|c| targets.contains(c)) {
            self.top3 += 1;
        }
        if ranked.iter().any(|c| targets.contains(c)) {
            self.listed += 1;
        }
        self.set_size += set.len();
        self.set_hits += set.iter().filter(|s| targets.contains(*s)).count();
        self.targets += targets.len();
        self.target_hits += targets.iter().filter(|t| set.contains(t)).count();
    }

    fn row(&self, name: &str, time: Duration) -> String {
        let p = self.set_hits as f64 / self.set_size.max(1) as f64;
        let r = self.target_hits as f64 / self.targets.max(1) as f64;
        let f1 = if p + r > 0.0 {
            2.0 * p * r / (p + r)
        } else {
            0.0
        };
        format!(
            "| {name} | {} | {:.3} | {:.3} | {:.3} | {p:.3} | {r:.3} | {f1:.3} | {:.0} ms |",
            self.fixes,
            self.top1 as f64 / self.fixes.max(1) as f64,
            self.top3 as f64 / self.fixes.max(1) as f64,
            self.listed as f64 / self.fixes.max(1) as f64,
            time.as_secs_f64() * 1e3 / self.fixes.max(1) as f64
        )
    }
}

fn real(dir: &Path, pairs_wanted: usize) {
    let repo = open(dir);
    let pairs = fixes_pairs(dir, &repo, pairs_wanted);
    let opts = TraceOptions {
        ignore_trailers: true,
        max_candidates: 20,
        ..TraceOptions::default()
    };
    let (mut ours, mut szz) = (Tally::new(), Tally::new());
    let (mut t_ours, mut t_szz) = (Duration::ZERO, Duration::ZERO);
    let verbose = std::env::var_os("SKILLRUN_TRACE_VERBOSE").is_some();
    // Development aid: every fix's candidates as JSON lines.
    let mut dump = std::env::var_os("SKILLRUN_TRACE_DUMP")
        .map(|p| std::fs::File::create(p).unwrap_or_else(|e| panic!("dump file: {e}")));
    for (fix, targets) in &pairs {
        let t = Instant::now();
        // A fresh handle per trace, as each CLI run and tool call gets: no gix cache stays
        // warm from one fix to the next.
        let tr = trace(&open(dir), fix, &opts);
        t_ours += t.elapsed();
        let cands = tr.map(|t| t.candidates).unwrap_or_default();
        let best = cands.first().map(|c| c.commit.clone());
        let set: Vec<String> = best.iter().cloned().collect();
        let ranked: Vec<String> = cands.iter().map(|c| c.commit.clone()).collect();
        ours.add(&ranked, &set, targets);
        let t = Instant::now();
        let s = plain_szz(&open(dir), fix).unwrap_or_default();
        t_szz += t.elapsed();
        let sbest = s.first().map(|c| c.0.clone());
        let sset: Vec<String> = s.iter().map(|c| c.0.clone()).collect();
        szz.add(&sset, &sset, targets);
        if let Some(dump) = &mut dump {
            use std::io::Write;
            let msg = |sha: &str| {
                repo.rev_parse_single(sha)
                    .ok()
                    .and_then(|id| id.object().ok())
                    .and_then(|o| o.try_into_commit().ok())
                    .and_then(|c| c.message_raw().ok().map(|m| m.to_string()))
                    .unwrap_or_default()
            };
            let messages: Vec<String> = cands.iter().map(|c| msg(&c.commit)).collect();
            let line = serde_json::json!({"fix": fix, "targets": targets, "candidates": cands, "szz": s,
                "fix_message": skillrun::trace::strip_cause_trailers(&msg(fix)), "messages": messages});
            writeln!(dump, "{line}").unwrap_or_else(|e| panic!("dump: {e}"));
        }
        if verbose {
            let ok = best.as_ref().is_some_and(|b| targets.contains(b));
            let rank = cands.iter().position(|c| targets.contains(&c.commit));
            eprintln!(
                "{} fix {} targets {:?} rank {:?} szz_ok {} | {:?}",
                if ok { "OK  " } else { "MISS" },
                &fix[..12],
                targets.iter().map(|t| &t[..12]).collect::<Vec<_>>(),
                rank,
                sbest.as_ref().is_some_and(|b| targets.contains(b)),
                cands
                    .iter()
                    .take(3)
                    .map(|c| format!("{} {:.2} {}", &c.short, c.score, c.subject))
                    .collect::<Vec<_>>()
            );
        }
    }
    println!(
        "\n### Real history: {} ({} newest resolvable `Fixes:` pairs, trailers hidden)\n",
        dir.display(),
        pairs.len()
    );
    println!(
        "| method | fixes | top-1 | top-3 | any rank | precision | recall | F1 | time per fix |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!("{}", ours.row("trace (set = top-1)", t_ours));
    println!(
        "{}",
        szz.row("plain SZZ (set = all blamed; top-1 = most blamed)", t_szz)
    );
}

fn main() {
    let pairs = std::env::var("SKILLRUN_TRACE_PAIRS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_PAIRS);
    if let Ok(list) = std::env::var("SKILLRUN_TRACE_REAL") {
        for d in list.split(',').filter(|d| !d.is_empty()) {
            real(Path::new(d), pairs);
        }
    }
    if std::env::var_os("SKILLRUN_TRACE_SKIP_SYNTHETIC").is_none() {
        synthetic();
    }
}
