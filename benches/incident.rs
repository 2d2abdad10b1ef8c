//! Incident search on real history: from a bug report's title to the commits that fixed it.
//!
//! `find_fixes` is the first step of a postmortem asked for in words ("write a postmortem
//! for the lsclocks RTC time bug"). This bench measures it on real reports: GitHub issues
//! whose fixing commits name them (`Fixes: #N`, `Closes: https://github.com/O/R/issues/N`),
//! with the title, the reporter's own words, as the incident text.
//!
//! `benches/incident-reports.tsv` lists 76 such reports from nine projects (repository,
//! fixing commits, issue). The titles and the clones are not part of this repository; the
//! input is a file that adds them:
//!
//! `SKILLRUN_INCIDENTS=incidents.tsv cargo bench --bench incident`
//!
//! Each line but `#` comments: `<git dir>\t<fix shas, comma-separated>\t<issue url>\t<issue
//! title>`, for instance built with `gh issue view URL --json title -q .title` for each
//! listed issue and a local clone of each repository. The search runs as of 14 days after the newest fix
//! (`SKILLRUN_INCIDENTS_DAYS` sets another delay): from the commit of `HEAD`'s first-parent
//! line at that date, or from the first one that contains a fix when it was merged later,
//! so the history it searches is the one a postmortem written then would see.
//!
//! Beside it, in the same run, what a person would type with the same keywords: `git log
//! -i -E --grep` for commits whose message holds any keyword, newest first, and the same
//! with `--all-match` (every keyword), falling back to any keyword when no commit has all.
//! *Top-1*: the first commit returned fixed the issue; *top-5*: one of the first five did.
//! `SKILLRUN_INCIDENTS_VERBOSE=1` prints every report with the rank of its fix.
//!
//! `SKILLRUN_INCIDENTS_DATED=dates.tsv` (lines of `<issue url>\t<YYYY-MM-DD>`, the day the
//! issue was opened, for instance from `gh issue view URL --json createdAt`) asks with that
//! date after the title, as someone who knows when the incident happened would write it.
//!
//! `SKILLRUN_INCIDENTS_BY_NUMBER=1` asks by the issue's number instead of its title ("write a
//! postmortem for issue #482", the number taken from the url), as someone who has the report
//! at hand would; `git log` then greps for `#482`, `issues/482` and `pull/482`. The reports were chosen because their
//! fixes refer to them, so this measures how the references are followed (merged branches,
//! follow-up commits, other numbers), not how often a fix names its report.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use skillrun::trace::{find_fixes_from, incident_keywords};

/// Days after the newest fix at which the search is run, unless `SKILLRUN_INCIDENTS_DAYS`
/// says otherwise.
const DAYS_AFTER: i64 = 14;

/// Seconds in a day.
const DAY_SECS: i64 = 86_400;

/// Commits each method returns.
const SHOWN: usize = 5;

/// The methods compared, in the order of a [`Tally`] triple.
const METHODS: [&str; 3] = [
    "`find_fixes`",
    "`git log --grep`, any keyword",
    "`git log --grep --all-match`, else any",
];

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The tip the search runs from: `HEAD`'s first-parent line as of `days` days after the
/// newest fix, moved on to the first commit of that line that contains a fix.
fn tip(dir: &Path, fixes: &[String], days: i64) -> Option<String> {
    let newest = fixes
        .iter()
        .filter_map(|f| {
            git(dir, &["show", "-s", "--format=%ct", f])
                .trim()
                .parse::<i64>()
                .ok()
        })
        .max()?;
    let before = format!("--before={}", newest + days * DAY_SECS);
    let at = git(dir, &["rev-list", "--first-parent", "-n1", &before, "HEAD"])
        .trim()
        .to_string();
    let contains = |t: &str| {
        fixes.iter().any(|f| {
            Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(["merge-base", "--is-ancestor", f, t])
                .status()
                .is_ok_and(|s| s.success())
        })
    };
    if !at.is_empty() && contains(&at) {
        return Some(at);
    }
    // A fix merged later: the oldest first-parent commit that descends from it.
    fixes
        .iter()
        .filter_map(|f| {
            git(
                dir,
                &[
                    "rev-list",
                    "--first-parent",
                    "--ancestry-path",
                    &format!("{f}..HEAD"),
                ],
            )
            .lines()
            .last()
            .map(str::to_string)
        })
        .find(|t| contains(t))
}

/// `git log -i -E --grep=KW ...` from `tip`, newest first, with `--all-match` when `all`.
fn git_grep_log(dir: &Path, tip: &str, keywords: &[String], all: bool) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "log".into(),
        "-i".into(),
        "-E".into(),
        "--format=%H".into(),
        format!("-n{SHOWN}"),
    ];
    if all {
        args.push("--all-match".into());
    }
    for k in keywords {
        args.push(format!("--grep={k}"));
    }
    args.push(tip.to_string());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    git(dir, &args).lines().map(str::to_string).collect()
}

#[derive(Default)]
struct Tally {
    n: usize,
    top1: usize,
    top5: usize,
    time: Duration,
}

impl Tally {
    fn add(&mut self, ranked: &[String], fixes: &[String], took: Duration) -> Option<usize> {
        let rank = ranked.iter().position(|c| fixes.contains(c));
        self.n += 1;
        self.top1 += usize::from(rank == Some(0));
        self.top5 += usize::from(rank.is_some_and(|r| r < SHOWN));
        self.time += took;
        rank
    }

    fn row(&self, what: &str, method: &str) -> String {
        let n = self.n.max(1) as f64;
        format!(
            "| {what} ({}) | {method} | {:.3} | {:.3} | {:.0} ms |",
            self.n,
            self.top1 as f64 / n,
            self.top5 as f64 / n,
            self.time.as_secs_f64() * 1000.0 / n
        )
    }
}

fn main() {
    let Some(file) = std::env::var_os("SKILLRUN_INCIDENTS") else {
        eprintln!(
            "incident bench: set SKILLRUN_INCIDENTS to a file of reports \
             (<git dir>\\t<fix shas>\\t<issue url>\\t<title> per line); nothing to do"
        );
        return;
    };
    let verbose = std::env::var_os("SKILLRUN_INCIDENTS_VERBOSE").is_some();
    let by_number = std::env::var_os("SKILLRUN_INCIDENTS_BY_NUMBER").is_some();
    let days = std::env::var("SKILLRUN_INCIDENTS_DAYS")
        .ok()
        .and_then(|d| d.parse().ok())
        .unwrap_or(DAYS_AFTER);
    let dated: std::collections::HashMap<String, String> =
        std::env::var("SKILLRUN_INCIDENTS_DATED")
            .ok()
            .map(|f| std::fs::read_to_string(f).unwrap_or_default())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .filter(|(_, d)| d.len() == 10)
            .map(|(u, d)| (u.to_string(), d.to_string()))
            .collect();
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("reading {}: {e}", Path::new(&file).display()));
    // Per repository: ours, git any keyword, git all keywords.
    let mut tallies: BTreeMap<String, [Tally; 3]> = BTreeMap::new();
    let mut skipped = 0;
    for line in text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
    {
        let cols: Vec<&str> = line.split('\t').collect();
        let [dir, shas, url, title] = cols[..] else {
            panic!(
                "{}: a line needs 4 tab-separated columns: {line}",
                Path::new(&file).display()
            );
        };
        let dir = Path::new(dir);
        let fixes: Vec<String> = shas.split(',').map(str::to_string).collect();
        let number = url
            .trim_end_matches('/')
            .rsplit('/')
            .next()
            .unwrap_or_default();
        let (asked, keywords) = if by_number {
            (
                format!("write a postmortem for issue #{number}"),
                vec![format!("(#|issues/|pull/){number}([^0-9]|$)")],
            )
        } else if let Some(date) = dated.get(url) {
            (format!("{title} {date}"), incident_keywords(title))
        } else {
            (title.to_string(), incident_keywords(title))
        };
        let Some(tip) = tip(dir, &fixes, days) else {
            skipped += 1;
            continue;
        };
        if keywords.is_empty() {
            skipped += 1;
            continue;
        }
        let name = url.split('/').nth(4).unwrap_or("?").to_string();
        let t = tallies.entry(name).or_default();
        let repo = gix::open(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let tip_id =
            gix::ObjectId::from_hex(tip.as_bytes()).unwrap_or_else(|e| panic!("{tip}: {e}"));
        let start = Instant::now();
        let ours: Vec<String> = find_fixes_from(&repo, tip_id, &asked, SHOWN)
            .unwrap_or_default()
            .into_iter()
            .map(|c| c.commit)
            .collect();
        let r0 = t[0].add(&ours, &fixes, start.elapsed());
        let start = Instant::now();
        let any = git_grep_log(dir, &tip, &keywords, false);
        let r1 = t[1].add(&any, &fixes, start.elapsed());
        let start = Instant::now();
        let mut all = git_grep_log(dir, &tip, &keywords, true);
        if all.is_empty() {
            all = any;
        }
        let r2 = t[2].add(&all, &fixes, start.elapsed());
        if verbose {
            eprintln!("{:?} {:?} {:?} {url} {asked:?} {keywords:?}", r0, r1, r2);
        }
    }
    println!(
        "\n### Incident search: issue {} -> fixing commit, {days} days after the fix \
         ({skipped} reports skipped)\n",
        if by_number { "number" } else { "title" }
    );
    println!("| reports | method | top-1 | top-5 | time per report |");
    println!("|---|---|--:|--:|--:|");
    let mut total: [Tally; 3] = Default::default();
    for (name, t) in &tallies {
        for (i, method) in METHODS.iter().enumerate() {
            println!("{}", t[i].row(name, method));
            total[i].n += t[i].n;
            total[i].top1 += t[i].top1;
            total[i].top5 += t[i].top5;
            total[i].time += t[i].time;
        }
    }
    for (i, method) in METHODS.iter().enumerate() {
        println!("{}", total[i].row("all", method));
    }
}
