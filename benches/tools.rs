//! Repository tools against `git` on a large synthetic history: `git_blame` of a whole file
//! vs `git blame --porcelain`, `git_log` with a path vs `git log -- PATH`, and `search_files`
//! vs `git grep`, each without and with a commit-graph (`--changed-paths`).
//!
//! Run: `SKILLRUN_BENCH_REPO=/tmp/bench100k cargo bench --bench tools`, the repository made
//! by `../shared/tools/make-bench-repo /tmp/bench100k --commits 100000`. Without
//! `SKILLRUN_BENCH_REPO` a 20,000-commit repository is generated in a temp dir first.
//! Prints a markdown table for BENCHMARKS.md. The tools run in-process; the bench itself
//! runs `git` for the baselines and to pick inputs. With `SKILLRUN_BENCH_BLAME_EXPERIMENTS=1`
//! it instead times gix's blame under different cache, diff and rename settings; with
//! `SKILLRUN_BENCH_BLAME_FILES=a,b,c` it blames those files of `SKILLRUN_BENCH_REPO` as the
//! repository is (say a real, merge-heavy history) against `git blame --porcelain`.

use std::collections::{BTreeSet, HashMap};
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillrun::tools::{Registry, Sandbox, ToolError};

mod common;
use common::{git, git_cmd};

/// Timed runs per measurement (after one warm-up run); the median is reported.
const RUNS: usize = 3;
/// Commits generated when no repository is given.
const DEFAULT_COMMITS: &str = "20000";
/// Recent commits looked at to pick the busiest file.
const RECENT: &str = "5000";
/// Page size for `git_log` (its maximum).
const LOG_PAGE: usize = 200;

/// The repository to measure: `SKILLRUN_BENCH_REPO`, or a generated one (kept alive by the
/// returned temp dir).
fn bench_repo() -> (PathBuf, Option<tempfile::TempDir>) {
    if let Ok(dir) = std::env::var("SKILLRUN_BENCH_REPO") {
        let dir = PathBuf::from(dir);
        assert!(
            dir.join(".git").exists(),
            "SKILLRUN_BENCH_REPO={} is not a git work tree",
            dir.display()
        );
        return (dir, None);
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let out = tmp.path().join("repo");
    let generator = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/make-bench-repo");
    eprintln!(
        "SKILLRUN_BENCH_REPO is not set: generating a {DEFAULT_COMMITS}-commit repository at {} with {} (set SKILLRUN_BENCH_REPO to measure a 100,000-commit one)",
        out.display(),
        generator.display()
    );
    let status = Command::new("python3")
        .arg(&generator)
        .arg(&out)
        .args(["--commits", DEFAULT_COMMITS])
        .status()
        .unwrap_or_else(|e| panic!("running {}: {e}", generator.display()));
    assert!(status.success(), "{} failed", generator.display());
    (out, Some(tmp))
}

/// The file changed most often in the last `RECENT` commits.
fn busiest_file(dir: &Path) -> String {
    let names = git(
        dir,
        &[
            "log",
            "-n",
            RECENT,
            "--name-only",
            "--format=",
            "--no-renames",
        ],
    );
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for name in names.lines().filter(|l| !l.is_empty()) {
        *counts.entry(name).or_default() += 1;
    }
    let (name, _) = counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .unwrap_or_else(|| panic!("no changed files in the last {RECENT} commits"));
    name.to_string()
}

/// A pattern with a handful of matches in the work tree (under `search_files`' 200-match
/// cap, so both sides read every file): the first identifier on a line of `path`.
fn rare_pattern(dir: &Path, path: &str) -> String {
    let text =
        std::fs::read_to_string(dir.join(path)).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let ident = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .find(|w| w.len() > 8 && w.starts_with('v') && w.contains('_'))
        .unwrap_or("helper_7");
    ident.to_string()
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

/// Median of `RUNS` runs after one warm-up; an error stops the measurement.
fn time<T>(mut f: impl FnMut() -> Result<T, String>) -> Result<(Duration, T), String> {
    black_box(f()?);
    let mut times = Vec::with_capacity(RUNS);
    let mut last = None;
    for _ in 0..RUNS {
        let start = Instant::now();
        let out = f()?;
        times.push(start.elapsed());
        last = Some(out);
    }
    let last = last.ok_or("no runs")?;
    Ok((median(times), last))
}

fn run_git(dir: &Path, args: &[&str]) -> Result<String, String> {
    let out = git_cmd(dir, args)
        .output()
        .map_err(|e| format!("git {args:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn call(sandbox: &Sandbox, tool: &str, args: Value) -> Result<Value, String> {
    Registry::standard()
        .call(sandbox, tool, args)
        .map(|r| r.data)
        .map_err(|e: ToolError| format!("{tool}: {e}"))
}

/// Every commit `git_log` returns for `path`, page by page.
fn log_all_pages(sandbox: &Sandbox, path: &str) -> Result<Vec<String>, String> {
    let mut shas = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut args = json!({"path": path, "limit": LOG_PAGE});
        if let Some(c) = &cursor {
            args["cursor"] = json!(c);
        }
        let data = call(sandbox, "git_log", args)?;
        let commits = data["commits"].as_array().cloned().unwrap_or_default();
        shas.extend(
            commits
                .iter()
                .filter_map(|c| c["sha"].as_str().map(str::to_string)),
        );
        match data["next_cursor"].as_str() {
            Some(c) if !commits.is_empty() => cursor = Some(c.to_string()),
            _ => return Ok(shas),
        }
    }
}

struct Row {
    graph: bool,
    what: String,
    git_cmd: String,
    git: Result<Duration, String>,
    tool: Result<Duration, String>,
    note: String,
}

fn ms(d: &Result<Duration, String>) -> String {
    match d {
        Ok(d) => format!("{:.0} ms", d.as_secs_f64() * 1000.0),
        Err(e) => format!("error: {}", e.lines().next().unwrap_or("")),
    }
}

fn set_commit_graph(dir: &Path, on: bool) {
    let info = dir.join(".git/objects/info");
    let _ = std::fs::remove_file(info.join("commit-graph"));
    let _ = std::fs::remove_dir_all(info.join("commit-graphs"));
    if on {
        git(
            dir,
            &["commit-graph", "write", "--reachable", "--changed-paths"],
        );
    }
}

/// `git_blame` of the whole of `path` against `git blame --porcelain`, with the per-line
/// commits compared.
fn blame_row(dir: &Path, sandbox: &Sandbox, graph: bool, path: &str) -> Row {
    let git_blame = time(|| run_git(dir, &["blame", "--porcelain", "--", path]));
    let tool_blame = time(|| call(sandbox, "git_blame", json!({"path": path})));
    let note = match (&git_blame, &tool_blame) {
        (Ok((_, porcelain)), Ok((_, data))) => {
            let git_lines: Vec<&str> = porcelain
                .lines()
                .filter_map(|l| {
                    let mut p = l.split(' ');
                    let sha = p.next()?;
                    // A header line: a full sha and two line numbers (a content line starts
                    // with a tab, so its first word never passes).
                    let is_sha = sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit());
                    (is_sha && p.next().is_some() && p.next().is_some()).then_some(sha)
                })
                .collect();
            let ours: Vec<&str> = data["lines"]
                .as_array()
                .map(|a| a.iter().filter_map(|l| l["commit"].as_str()).collect())
                .unwrap_or_default();
            let n = ours.len().min(git_lines.len());
            let differ = ours[..n]
                .iter()
                .zip(&git_lines[..n])
                .filter(|(a, b)| a != b)
                .count();
            if differ == 0 {
                format!(
                    "{} lines; per-line commits equal git's (first {n} compared)",
                    git_lines.len()
                )
            } else {
                format!(
                    "{} lines; {differ} of the first {n} name a DIFFERENT commit than git",
                    git_lines.len()
                )
            }
        }
        _ => String::new(),
    };
    Row {
        graph,
        what: "git_blame, whole file".into(),
        git_cmd: format!("git blame --porcelain -- {path}"),
        git: git_blame.map(|(d, _)| d),
        tool: tool_blame.map(|(d, _)| d),
        note,
    }
}

fn measure(dir: &Path, graph: bool, path: &str, pattern: &str) -> Vec<Row> {
    set_commit_graph(dir, graph);
    let sandbox = Sandbox::open(dir).unwrap_or_else(|e| panic!("sandbox: {e}"));
    let mut rows = Vec::new();

    rows.push(blame_row(dir, &sandbox, graph, path));

    // Log with a path, first page: both sides limited to the same count.
    let page = LOG_PAGE.to_string();
    let git_page = time(|| run_git(dir, &["log", "-n", &page, "--format=%H", "--", path]));
    let tool_page = time(|| {
        call(
            &sandbox,
            "git_log",
            json!({"path": path, "limit": LOG_PAGE}),
        )
    });
    let note = match (&git_page, &tool_page) {
        (Ok((_, out)), Ok((_, data))) => {
            let theirs: Vec<&str> = out.lines().collect();
            let ours: Vec<&str> = data["commits"]
                .as_array()
                .map(|a| a.iter().filter_map(|c| c["sha"].as_str()).collect())
                .unwrap_or_default();
            format!(
                "{} commits; {}",
                ours.len(),
                if ours == theirs {
                    "same list as git"
                } else {
                    "list DIFFERS from git's"
                }
            )
        }
        _ => String::new(),
    };
    rows.push(Row {
        graph,
        what: format!("git_log path, first page (limit {LOG_PAGE})"),
        git_cmd: format!("git log -n {LOG_PAGE} --format=%H -- {path}"),
        git: git_page.map(|(d, _)| d),
        tool: tool_page.map(|(d, _)| d),
        note,
    });

    // Log with a path, whole history: git in one go, the tool page by page.
    let git_all = time(|| run_git(dir, &["log", "--format=%H", "--", path]));
    let tool_all = time(|| log_all_pages(&sandbox, path));
    let note = match (&git_all, &tool_all) {
        (Ok((_, out)), Ok((_, ours))) => {
            let theirs: BTreeSet<&str> = out.lines().collect();
            let ours_set: BTreeSet<&str> = ours.iter().map(String::as_str).collect();
            format!(
                "{} commits in {} pages; {}",
                ours.len(),
                ours.len().div_ceil(LOG_PAGE),
                if ours_set == theirs {
                    "same set as git"
                } else {
                    "set DIFFERS from git's"
                }
            )
        }
        _ => String::new(),
    };
    rows.push(Row {
        graph,
        what: format!("git_log path, all pages of {LOG_PAGE}"),
        git_cmd: format!("git log --format=%H -- {path}"),
        git: git_all.map(|(d, _)| d),
        tool: tool_all.map(|(d, _)| d),
        note,
    });

    // Search of the work tree.
    let git_grep = time(|| {
        // `git grep` exits 1 when nothing matches; that is not an error here.
        let out = git_cmd(dir, &["grep", "-n", "-e", pattern])
            .output()
            .map_err(|e| format!("git grep: {e}"))?;
        Ok(String::from_utf8_lossy(&out.stdout).lines().count())
    });
    let tool_grep = time(|| call(&sandbox, "search_files", json!({"pattern": pattern})));
    let (tool, note) = match (&git_grep, tool_grep) {
        (_, Err(e)) if e.contains("not available") => (
            Err("search_files not available yet".to_string()),
            "skipped: search_files is not implemented in this build".to_string(),
        ),
        (Ok((_, n)), Ok((d, data))) => (
            Ok(d),
            format!(
                "pattern `{pattern}`: git {n} matches, tool {} (truncated: {})",
                data["matches"].as_array().map_or(0, Vec::len),
                data["truncated"]
            ),
        ),
        (_, Ok((d, _))) => (Ok(d), String::new()),
        (_, Err(e)) => (Err(e), String::new()),
    };
    rows.push(Row {
        graph,
        what: "search_files, work tree".into(),
        git_cmd: format!("git grep -n -e {pattern}"),
        git: git_grep.map(|(d, _)| d),
        tool,
        note,
    });
    rows
}

/// Delta-base (pack) cache of a handle, for [`blame_experiments`].
#[derive(Clone, Copy)]
enum PackCache {
    /// gix's default with `max-performance`: a static 64-entry LRU (`uluru`).
    Default,
    None,
    /// A memory-capped hash map of this many bytes (what `core.deltaBaseCacheLimit` selects).
    Capped(usize),
}

/// `SKILLRUN_BENCH_BLAME_EXPERIMENTS=1`: gix's blame of `path` under different settings, to
/// find where its time goes (object cache, pack cache, commit-graph, diff algorithm, renames).
fn blame_experiments(dir: &Path, path: &str) {
    use gix::bstr::ByteSlice;
    type Variant = (
        &'static str,
        usize,
        PackCache,
        bool,
        Option<gix::diff::blob::Algorithm>,
    );
    let mib = 1 << 20;
    let variants: Vec<Variant> = vec![
        (
            "as the tool: objects 16 MiB, renames",
            16 * mib,
            PackCache::Default,
            true,
            None,
        ),
        ("no object cache", 0, PackCache::Default, true, None),
        (
            "object cache 256 MiB",
            256 * mib,
            PackCache::Default,
            true,
            None,
        ),
        (
            "no rename tracking",
            16 * mib,
            PackCache::Default,
            false,
            None,
        ),
        (
            "myers",
            16 * mib,
            PackCache::Default,
            true,
            Some(gix::diff::blob::Algorithm::Myers),
        ),
        ("no pack cache", 16 * mib, PackCache::None, true, None),
        (
            "pack cache: hashmap 32 MiB",
            16 * mib,
            PackCache::Capped(32 * mib),
            true,
            None,
        ),
        (
            "pack cache: hashmap 96 MiB",
            16 * mib,
            PackCache::Capped(96 * mib),
            true,
            None,
        ),
    ];
    for graph in [false, true] {
        set_commit_graph(dir, graph);
        for &(name, cache, pack, renames, algo) in &variants {
            // A fresh handle per run, as the tool gets: no cache carried over between runs.
            let r = time(|| {
                let mut repo = gix::open_opts(dir, gix::open::Options::isolated())
                    .map_err(|e| e.to_string())?;
                repo.object_cache_size(cache);
                match pack {
                    PackCache::Default => {}
                    PackCache::None => repo.objects.unset_pack_cache(),
                    PackCache::Capped(bytes) => repo.objects.set_pack_cache(move || {
                        Box::new(gix::odb::pack::cache::lru::MemoryCappedHashmap::new(bytes))
                    }),
                }
                let head = repo.head_id().map_err(|e| e.to_string())?.detach();
                let options = gix::repository::blame_file::Options {
                    diff_algorithm: algo,
                    rewrites: renames.then(gix::diff::Rewrites::default),
                    ..Default::default()
                };
                repo.blame_file(path.as_bytes().as_bstr(), head, options)
                    .map_err(|e| e.to_string())
            });
            match r {
                Ok((d, out)) => println!(
                    "graph {graph:5} | {name:40} | {:6.0} ms | {:?}",
                    d.as_secs_f64() * 1000.0,
                    out.statistics
                ),
                Err(e) => println!("graph {graph:5} | {name:40} | error {e}"),
            }
        }
    }
    set_commit_graph(dir, false);
}

/// `SKILLRUN_BENCH_BLAME_FILES=a,b,c`: whole-file blame of each against git, on the
/// repository as it is (commit-graph or not), e.g. a real, merge-heavy history.
fn blame_files(dir: &Path, files: &str) {
    let sandbox = Sandbox::open(dir).unwrap_or_else(|e| panic!("sandbox: {e}"));
    let graph = dir.join(".git/objects/info/commit-graph").exists()
        || dir.join(".git/objects/info/commit-graphs").exists();
    let git_version = git(dir, &["--version"]);
    println!(
        "Repository: `{}` as it is (commit-graph: {}). {}; median of {RUNS} runs after a warm-up, in-process tool calls.\n",
        dir.display(),
        if graph { "yes" } else { "no" },
        git_version.trim()
    );
    println!("| file | git | tool | tool / git | notes |");
    println!("| --- | ---: | ---: | ---: | --- |");
    for path in files.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let r = blame_row(dir, &sandbox, graph, path);
        println!(
            "| `{path}` | {} | {} | {} | {} |",
            ms(&r.git),
            ms(&r.tool),
            ratio(&r),
            r.note
        );
    }
}

fn ratio(r: &Row) -> String {
    match (&r.git, &r.tool) {
        (Ok(g), Ok(t)) if !g.is_zero() => format!("{:.2}×", t.as_secs_f64() / g.as_secs_f64()),
        _ => "–".into(),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing to parse.
    let (dir, _tmp) = bench_repo();
    if std::env::var_os("SKILLRUN_BENCH_BLAME_EXPERIMENTS").is_some() {
        let path = busiest_file(&dir);
        blame_experiments(&dir, &path);
        return;
    }
    if let Ok(files) = std::env::var("SKILLRUN_BENCH_BLAME_FILES") {
        blame_files(&dir, &files);
        return;
    }
    let commits = git(&dir, &["rev-list", "--count", "HEAD"]);
    let path = busiest_file(&dir);
    let changes = git(&dir, &["rev-list", "--count", "HEAD", "--", &path]);
    let lines = std::fs::read_to_string(dir.join(&path))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    let pattern = rare_pattern(&dir, &path);
    let git_version = git(&dir, &["--version"]);
    // How the objects are packed matters: `git fast-import` (the generator) deltifies each
    // object against the one written before it (trees against their previous version), in
    // chains up to 50 deep, and its pack is large; `git repack -a -d -f` makes it several
    // times smaller.
    let pack_kib: u64 = git(&dir, &["count-objects", "-v"])
        .lines()
        .find_map(|l| l.strip_prefix("size-pack: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    eprintln!(
        "repository {} ({} commits); file {path} ({} commits touch it, {lines} lines)",
        dir.display(),
        commits.trim(),
        changes.trim()
    );

    let mut rows = measure(&dir, false, &path, &pattern);
    rows.extend(measure(&dir, true, &path, &pattern));
    set_commit_graph(&dir, false);

    println!(
        "Repository: `{}`, {} commits, pack {} MiB; file `{path}`: {} commits touch it, {lines} lines. {}; median of {RUNS} runs after a warm-up.\n",
        dir.display(),
        commits.trim(),
        pack_kib / 1024,
        changes.trim(),
        git_version.trim()
    );
    println!("| commit-graph | tool | git baseline | git | tool time | tool / git | notes |");
    println!("| --- | --- | --- | ---: | ---: | ---: | --- |");
    for r in &rows {
        println!(
            "| {} | {} | `{}` | {} | {} | {} | {} |",
            if r.graph { "yes (changed paths)" } else { "no" },
            r.what,
            r.git_cmd,
            ms(&r.git),
            ms(&r.tool),
            ratio(r),
            r.note
        );
    }
}
