//! The offline investigator end to end: the demo, the near-miss gate, the addendum.

use std::path::Path;

use predicates::prelude::*;

use super::support::{GitRepo, skillrun};

fn postmortem_files(repo: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo.join("docs/postmortems"))
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Runs the postmortem skill offline on `repo` with `args` after the prompt, checks that it
/// printed where it wrote, and returns the one document it wrote (its path and text).
fn run_one(repo: &Path, prompt: &str, args: &[&str]) -> (std::path::PathBuf, String) {
    skillrun()
        .args(["run", prompt])
        .args(args)
        .arg("--repo")
        .arg(repo)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("docs/postmortems/regression-"));
    let files = postmortem_files(repo);
    assert_eq!(files.len(), 1, "{files:?}");
    // The run log is kept in the repository, out of git's way: only the document is new.
    let status = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(repo)
        .output()
        .expect("git status");
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(!status.contains(".skillrun"), "{status}");
    let path = repo.join("docs/postmortems").join(&files[0]);
    let text = std::fs::read_to_string(&path).expect("document");
    (path, text)
}

/// Runs the postmortem skill on `repo` without `--force`, and checks that it declined the
/// problem as a near miss, saying each of `says`, and wrote nothing; then runs it again with
/// `--force` and returns the document written on request.
fn declined_then_forced(repo: &Path, says: &[&str]) -> String {
    let mut run = skillrun()
        .args(["run", "write a postmortem for the retry storm", "--repo"])
        .arg(repo)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "declined: near miss: every release that contains",
        ));
    for s in says {
        run = run.stdout(predicate::str::contains(*s));
    }
    assert!(postmortem_files(repo).is_empty());
    // Under --quiet, stdout carries only a written document's path: a decline says why on
    // stderr rather than nothing at all.
    skillrun()
        .args([
            "run",
            "write a postmortem for the retry storm",
            "--quiet",
            "--repo",
        ])
        .arg(repo)
        .assert()
        .code(0)
        .stdout("")
        .stderr(predicate::str::starts_with("declined: near miss:"));
    run_one(repo, "write a postmortem for the retry storm", &["--force"]).1
}

/// A small service: a healthy retry, the commit that breaks it, the fix; `v1.0.0` before the
/// break, `v1.2.0` after the fix, and `tag_between` (if any) between the break and the fix.
fn retry_repo(tag_between: Option<&str>) -> (GitRepo, String, String) {
    retry_repo_with(|repo| {
        if let Some(tag) = tag_between {
            repo.tag(tag);
        }
    })
}

/// [`retry_repo`], with what `between` does to the repository after the break and before
/// the fix.
fn retry_repo_with(between: impl FnOnce(&mut GitRepo)) -> (GitRepo, String, String) {
    let mut repo = GitRepo::new();
    repo.commit(
        &[
            (
                "src/retry.py",
                "def backoff(n):\n    return 0.2 * (2 ** n)\n",
            ),
            ("tests/test_retry.py", "def test_grows():\n    pass\n"),
        ],
        "Add retry client with exponential backoff",
        "Ana Lima <ana@example.com>",
        "2024-01-10",
    );
    repo.tag("v1.0.0");
    let bug = repo.commit(
        &[(
            "src/retry.py",
            "def backoff(n):\n    return 0.2 * (n + 1)\n",
        )],
        "Optimize retry backoff",
        "Ben Cole <ben@example.com>",
        "2024-02-01",
    );
    between(&mut repo);
    let fix = repo.commit(
        &[(
            "src/retry.py",
            "def backoff(n):\n    return 0.2 * (2 ** n) + jitter()\n",
        )],
        "Fix retry storm: restore exponential backoff",
        "Cy Dore <cy@example.com>",
        "2024-02-05",
    );
    repo.tag("v1.2.0");
    (repo, bug, fix)
}

/// A retry client (by Ana), the commit that makes its backoff linear (by Ben) and the fix (by
/// Cy), with these `subjects` and `dates`, each tagged as `tags` says; the repository, the
/// breaking commit and the fix.
fn retry_history(
    subjects: [&str; 3],
    dates: [&str; 3],
    tags: [Option<&str>; 3],
) -> (GitRepo, String, String) {
    let mut repo = GitRepo::new();
    let bodies = [
        "def backoff(n):\n    return 0.2 * (2 ** n)\n",
        "def backoff(n):\n    return 0.2 * (n + 1)\n",
        "def backoff(n):\n    return 0.2 * (2 ** n) + jitter()\n",
    ];
    let authors = [
        "Ana Lima <ana@example.com>",
        "Ben Cole <ben@example.com>",
        "Cy Dore <cy@example.com>",
    ];
    let mut shas = Vec::new();
    for i in 0..3 {
        shas.push(repo.commit(
            &[("src/retry.py", bodies[i])],
            subjects[i],
            authors[i],
            dates[i],
        ));
        if let Some(t) = tags[i] {
            repo.tag(t);
        }
    }
    let fix = shas.pop().unwrap_or_default();
    let bug = shas.pop().unwrap_or_default();
    (repo, bug, fix)
}

#[test]
fn demo_writes_a_checked_postmortem_offline() {
    let dir = tempfile::tempdir().expect("tmp");
    let sample = dir.path().join("sample");
    let out = skillrun()
        .arg("demo")
        .arg(&sample)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8_lossy(&out).to_string();
    assert!(!out.contains("FAILED"), "{out}");
    let written = postmortem_files(&sample);
    assert_eq!(written.len(), 2, "{written:?}");
    let new = written
        .iter()
        .find(|n| !n.contains("cache-stampede"))
        .expect("new document");
    let path = sample.join("docs/postmortems").join(new);
    let text = std::fs::read_to_string(&path).expect("document");

    // The same checks a user would run.
    skillrun()
        .args(["check"])
        .arg(&path)
        .arg("--repo")
        .arg(&sample)
        .assert()
        .code(0);
    let git = |args: &[&str]| {
        let o = std::process::Command::new("git")
            .args(args)
            .current_dir(&sample)
            .output()
            .expect("git");
        String::from_utf8_lossy(&o.stdout).trim().to_string()
    };
    let intro = git(&[
        "log",
        "--format=%h",
        "--abbrev=7",
        "-1",
        "--grep=Optimize payment retry logic",
    ]);
    let fix = git(&[
        "log",
        "--format=%h",
        "--abbrev=7",
        "-1",
        "--grep=Fix payment retry storm",
    ]);
    assert!(
        text.contains(&intro),
        "introducing commit {intro} missing:\n{text}"
    );
    assert!(text.contains(&fix), "fix {fix} missing:\n{text}");
    assert!(
        text.contains("v1.2.0"),
        "first bad release missing:\n{text}"
    );
    // The summary says first what broke, in the fix's words; the symptom section quotes
    // the fix's account and does not repeat its subject.
    let subject = "Fix payment retry storm: restore exponential backoff with jitter";
    assert!(
        section(&text, "Summary").trim_start().starts_with(&format!(
            "Commit `{fix}` (2024-11-27) fixed this problem: \"{subject}\". It most likely came in with commit `{intro}` ("
        )),
        "{text}"
    );
    let symptom = section(&text, "Error Manifestation");
    assert!(
        symptom.contains("From the fix's description: \"Checkout failed with")
            && !symptom.contains(subject),
        "{symptom}"
    );
    // One cause stands clear in the demo: no close call is written.
    assert!(!text.contains("close call"), "{text}");
    assert!(!text.contains(skillrun::demo::DEMO_KEY));
    assert!(
        !text.contains("attacker.example") && !text.contains("Marco Rossi"),
        "{text}"
    );
    // Nothing else in the work tree changed: only the new document (and the run folder).
    let status = git(&["status", "--porcelain", "--untracked-files=all"]);
    let changed: Vec<&str> = status
        .lines()
        .filter(|l| !l.contains(".skillrun/"))
        .collect();
    assert_eq!(
        changed,
        vec![format!("?? docs/postmortems/{new}")],
        "{status}"
    );
}

#[test]
fn a_near_miss_is_declined_unless_forced() {
    let (repo, _, _) = retry_repo(None);
    let doc = declined_then_forced(repo.path(), &["(v1.2.0) also contains the fix"]);
    // Written on request, it still says no release carried the problem alone.
    assert!(
        doc.contains("No release carried the problem without the fix")
            && doc.contains("shipped it only together with the fix"),
        "{doc}"
    );
    assert!(!doc.contains("were exposed"), "{doc}");
}

#[test]
fn a_problem_only_a_release_candidate_carried_is_a_near_miss() {
    // The break shipped in `v1.2.0-rc1`, a release candidate; the fix came before `v1.2.0`.
    let (repo, _, _) = retry_repo(Some("v1.2.0-rc1"));
    // Written on request, it names the release candidate that carried the problem.
    let doc = declined_then_forced(
        repo.path(),
        &[
            "(v1.2.0) also contains the fix",
            "(only the pre-release v1.2.0-rc1 carried it)",
        ],
    );
    assert!(
        doc.contains("No release carried the problem without the fix")
            && doc.contains("The pre-release `v1.2.0-rc1` (2024-02-01) carried it"),
        "{doc}"
    );
    assert!(
        doc.contains("| pre-release `v1.2.0-rc1` carried `"),
        "{doc}"
    );
    assert!(!doc.contains("were exposed"), "{doc}");
}

#[test]
fn a_fix_cherry_picked_into_the_release_makes_a_near_miss() {
    // The release branch was cut at the release candidate that carried the break, and the
    // fix reached it as a cherry-pick before `v1.2.0` was tagged from it.
    let (repo, _, fix) = retry_repo(Some("v1.2.0-rc1"));
    repo.git(&["tag", "-d", "v1.2.0"]);
    repo.git(&["checkout", "-q", "-b", "release-1.2", "v1.2.0-rc1"]);
    let status = std::process::Command::new("git")
        .args(["cherry-pick", "-x", &fix])
        .current_dir(repo.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_COMMITTER_NAME", "Stable Team")
        .env("GIT_COMMITTER_EMAIL", "stable@example.com")
        .env("GIT_COMMITTER_DATE", "2024-02-06T12:00:00Z")
        .status()
        .expect("git");
    assert!(status.success());
    let copy = repo.git(&["rev-parse", "--short=7", "HEAD"]);
    repo.tag("v1.2.0");
    repo.git(&["checkout", "-q", "main"]);
    // Written on request, the timeline says how the release got the fix.
    let doc = declined_then_forced(
        repo.path(),
        &[
            "(v1.2.0) also contains the fix",
            "(only the pre-release v1.2.0-rc1 carried it)",
        ],
    );
    assert!(
        doc.contains(&format!(
            "| `v1.2.0` released with the fix (as its cherry-pick `{copy}`) |"
        )),
        "{doc}"
    );
}

/// A project that stopped tagging: its newest tag is years older than the change. No tag
/// holding the change says nothing of whether a release shipped it.
#[test]
fn tags_a_year_older_than_the_cause_cannot_tell_whether_it_shipped() {
    let (repo, bug, _) = retry_history(
        [
            "Add retry client with exponential backoff",
            "Optimize retry backoff",
            "Fix retry storm: restore exponential backoff",
        ],
        ["2021-01-10", "2024-02-01", "2024-02-05"],
        [Some("v1.0.0"), None, None],
    );
    skillrun()
        .args(["run", "write a postmortem for the retry storm", "--repo"])
        .arg(repo.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(format!(
            "declined: cannot tell whether the problem shipped: no tag contains {}, and the newest release, `v1.0.0` (2021-01-10), is more than a year older than it",
            bug
        )));
    assert!(postmortem_files(repo.path()).is_empty());
    let (_, text) = run_one(
        repo.path(),
        "write a postmortem for the retry storm",
        &["--force"],
    );
    assert!(
        text.contains(&format!("Whether a release carried `{}` is unknown: no tag holds it, and the newest release, `v1.0.0` (2021-01-10), is more than a year older", &bug[..7])),
        "{text}"
    );
    assert!(
        !text.contains("only builds made between it and the fix"),
        "{text}"
    );
    assert!(
        text.contains("No tag shows which release carries the fix"),
        "{text}"
    );
}

#[test]
fn a_fix_no_release_carries_yet_is_written_as_such() {
    let (repo, _, _) = retry_repo(Some("v1.1.0"));
    repo.git(&["tag", "-d", "v1.2.0"]);
    let (_, doc) = run_one(repo.path(), "write a postmortem for the retry storm", &[]);
    assert!(
        doc.contains("; release `v1.1.0` (2024-02-01) shipped it. No release carries the fix yet.")
            && doc.contains(
                "the fix describes the problem only as \"Fix retry storm: restore exponential backoff\". How many users hit it: unknown."
            )
            && doc.contains(
                "Users of release `v1.1.0` (2024-02-01) and of every release since were exposed: no release carries the fix yet"
            )
            && doc.contains("No release carries it yet."),
        "{doc}"
    );
    assert!(
        !doc.contains("no release yet") && !doc.contains("released with the fix"),
        "{doc}"
    );
}

#[test]
fn a_pre_release_that_carries_the_fix_is_named_when_no_release_does() {
    let (repo, _, fix) = retry_repo(Some("v1.1.0"));
    repo.git(&["tag", "-d", "v1.2.0"]);
    repo.git(&["tag", "v1.2.0-rc1", &fix]);
    let (_, doc) = run_one(repo.path(), "write a postmortem for the retry storm", &[]);
    for said in [
        "No release carries the fix yet; the pre-release `v1.2.0-rc1` (2024-02-05) carries it.",
        "no release carries the fix yet; the pre-release `v1.2.0-rc1` (2024-02-05) carries it",
        "No release carries it yet; the pre-release `v1.2.0-rc1` (2024-02-05) carries it.",
        "| 2024-02-05 | pre-release `v1.2.0-rc1` carried the fix |",
    ] {
        assert!(doc.contains(said), "{said}\n{doc}");
    }
}

#[test]
fn the_first_report_is_an_issue_the_fix_closes_or_a_report_it_credits() {
    let closing = |refs: &str| {
        let (repo, _, _) = retry_history(
            [
                "Add retry client with exponential backoff",
                "Optimize retry backoff",
                &format!("Fix retry storm: restore exponential backoff\n\n{refs}"),
            ],
            ["2024-01-10", "2024-02-01", "2024-02-05"],
            [Some("v1.0.0"), Some("v1.1.0"), Some("v1.2.0")],
        );
        let (_, doc) = run_one(repo.path(), "write a postmortem for the retry storm", &[]);
        doc
    };
    let doc = closing(
        "Closes: https://github.com/o/r/issues/596\nCloses: https://github.com/o/r/pull/597",
    );
    assert!(
        doc.contains("| unknown | First user report: issue #596, which `")
            && !doc.contains("#597, which"),
        "{doc}"
    );
    // A fix that closes only its own pull request names no report.
    let doc = closing("Closes: https://github.com/o/r/pull/597");
    assert!(
        doc.contains("| unknown | First user report (not recorded in the repository) |"),
        "{doc}"
    );
    // A fix that credits a reporter says a report was made, without naming anyone.
    let doc = closing("Reported-by: Dee Reporter <dee@example.com>");
    assert!(
        doc.contains("credits a report in its message (its date is not in the repository) |")
            && !doc.contains("Dee Reporter"),
        "{doc}"
    );
}

#[test]
fn the_timeline_dates_a_change_by_when_it_was_committed() {
    // The cause was written in January and applied in March: the Timeline puts it in
    // March, and says when it was written.
    let mut repo = GitRepo::new();
    repo.commit(
        &[(
            "src/retry.py",
            "def backoff(n):\n    return 0.2 * (2 ** n)\n",
        )],
        "Add retry client with exponential backoff",
        "Ana Lima <ana@example.com>",
        "2024-01-10",
    );
    repo.tag("v1.0.0");
    let bug = repo.commit_applied(
        &[(
            "src/retry.py",
            "def backoff(n):\n    return 0.2 * (n + 1)\n",
        )],
        "Optimize retry backoff",
        "Ben Cole <ben@example.com>",
        "2024-01-15",
        "2024-03-01",
    );
    repo.tag("v1.1.0");
    repo.commit(
        &[(
            "src/retry.py",
            "def backoff(n):\n    return 0.2 * (2 ** n) + jitter()\n",
        )],
        "Fix retry storm: restore exponential backoff",
        "Cy Dore <cy@example.com>",
        "2024-03-05",
    );
    repo.tag("v1.2.0");
    let (_, doc) = run_one(repo.path(), "write a postmortem for the retry storm", &[]);
    assert!(
        doc.contains(&format!(
            "| 2024-03-01 | `{}` introduced the change (written 2024-01-15) |",
            &bug[..7]
        )),
        "{doc}"
    );
    // The fix was committed the day it was written: its row says one date.
    assert!(
        doc.contains("| 2024-03-05 | `") && !doc.contains("fixed it (written"),
        "{doc}"
    );
}

#[test]
fn a_fix_whose_trailers_name_two_causes_says_which_it_follows() {
    let (repo, conns, queue) = two_limits_repo(|c, q| {
        format!(
            "Fix rejected connections: restore the limits\n\nFixes: {} (\"Lower the connection limit\")\nFixes: {} (\"Lower the queue limit\")",
            &c[..12],
            &q[..12]
        )
    });
    let (_, doc) = run_one(
        repo.path(),
        "write a postmortem for the rejected connections",
        &[],
    );
    let root = section(&doc, "Root Cause");
    let (first, other, other_subject) =
        if root.contains(&format!("Tracing leads to `{}`", &conns[..7])) {
            (&conns, &queue, "Lower the queue limit")
        } else {
            (&queue, &conns, "Lower the connection limit")
        };
    assert!(
        root.contains(&format!(
            "The fix's trailers also name `{}` (2024-02-0",
            &other[..7]
        )) && root.contains(&format!(
            ", \"{other_subject}\") as a cause; this document follows `{}`, and what it says of releases holds for that commit only.",
            &first[..7]
        )),
        "{root}"
    );
    // Not also called a close call.
    assert!(!root.contains("close call"), "{root}");
}

#[test]
fn an_existing_postmortem_of_the_same_cause_gets_an_addendum() {
    let (mut repo, _, fix) = retry_repo(Some("v1.1.0"));
    let old = format!(
        "# Postmortem: Retry storm\n\n## Summary\n\nFixed by `{}`.\n",
        &fix[..7]
    );
    repo.commit(
        &[("docs/postmortems/regression-retry-storm.md", &old)],
        "Add postmortem for the retry storm",
        "Cy Dore <cy@example.com>",
        "2024-02-06",
    );
    skillrun()
        .args(["run", "write a postmortem for the retry storm", "--repo"])
        .arg(repo.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("appended an addendum to"));
    assert_eq!(
        postmortem_files(repo.path()),
        vec!["regression-retry-storm.md"]
    );
    let now = std::fs::read_to_string(
        repo.path()
            .join("docs/postmortems/regression-retry-storm.md"),
    )
    .expect("doc");
    assert!(now.starts_with(&old), "old bytes kept");
    assert!(now[old.len()..].contains("\n## Addendum ("), "{now}");
    assert!(now.contains("### Root Cause"), "{now}");

    // The same request again finds the same facts: they are not appended a second time.
    skillrun()
        .args(["run", "write a postmortem for the retry storm", "--repo"])
        .arg(repo.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "regression-retry-storm.md already holds these findings, from an earlier run; nothing appended",
        ));
    let again = std::fs::read_to_string(
        repo.path()
            .join("docs/postmortems/regression-retry-storm.md"),
    )
    .expect("doc");
    assert_eq!(again, now);
}

/// A postmortem that names a commit only in passing (another incident's document, saying
/// the words of its request also fit it) does not cover that commit's incident: the run
/// writes its own document rather than an addendum to the other.
/// A project that squash-merges pull requests writes its postmortems about them: "PR #15
/// restored the backoff", a link to the pull request, no sha.
#[test]
fn a_postmortem_that_cites_the_fix_s_pull_request_covers_it() {
    let (repo, _, _) = retry_history(
        [
            "Add retry client with exponential backoff (#3)",
            "Optimize retry backoff (#12)",
            "Fix retry storm: restore exponential backoff (#15)\n\nFixes #14",
        ],
        ["2024-01-10", "2024-02-01", "2024-02-05"],
        [Some("v1.0.0"), Some("v1.1.0"), Some("v1.2.0")],
    );
    repo.git(&["remote", "add", "origin", "https://github.com/acme/pay.git"]);
    let linked = "# Postmortem: Retry storm\n\n## Summary\n\nRetries stormed the gateway until [the fix](https://github.com/acme/pay/pull/15) restored the backoff.\n";
    let numbered = "# Postmortem: Retry storm\n\n## Summary\n\nRetries stormed the gateway; reported in #14.\n";
    for old in [linked, numbered] {
        let path = repo
            .path()
            .join("docs/postmortems/regression-retry-storm.md");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, old).unwrap();
        skillrun()
            .args(["run", "write a postmortem for the retry storm", "--repo"])
            .arg(repo.path())
            .assert()
            .code(0)
            .stdout(predicate::str::contains("appended an addendum to"));
        assert_eq!(
            postmortem_files(repo.path()),
            vec!["regression-retry-storm.md"]
        );
        let now = std::fs::read_to_string(&path).expect("doc");
        assert!(now.starts_with(old), "old bytes kept");
    }
    // A document that cites both the change that broke it and the fix already says what a
    // run finds: nothing is appended.
    let both = "# Postmortem: Retry storm\n\n## Summary\n\n#12 made the backoff linear; #15 restored it.\n";
    let path = repo
        .path()
        .join("docs/postmortems/regression-retry-storm.md");
    std::fs::write(&path, both).unwrap();
    skillrun()
        .args(["run", "write a postmortem for the retry storm", "--repo"])
        .arg(repo.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "regression-retry-storm.md already documents this problem: it cites both the introducing commit and the fix; nothing appended",
        ));
    assert_eq!(std::fs::read_to_string(&path).expect("doc"), both);
    // A pull request of another repository is not this one's #15.
    let other = "# Postmortem: Retry storm\n\n## Summary\n\nSee [the fix](https://github.com/other/pay/pull/15).\n";
    let path = repo
        .path()
        .join("docs/postmortems/regression-retry-storm.md");
    std::fs::write(&path, other).unwrap();
    let out = skillrun()
        .args(["tools", "call", "--repo"])
        .arg(repo.path())
        .args(["scan_postmortems", "{}"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8_lossy(&out);
    assert!(
        out.contains("cites: nothing found in the repository"),
        "{out}"
    );
}

#[test]
fn a_commit_named_in_passing_does_not_make_a_postmortem_cover_it() {
    let (mut repo, _, fix) = retry_repo(Some("v1.1.0"));
    let first = repo.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let other = format!(
        "# Postmortem: Log rotation\n\n## Summary\n\nCommit `{}` broke the log rotation.\n\n## Fix\n\nThe words also fit `{}`; if that fixed the incident, this document is about another change.\n",
        &first.trim()[..7],
        &fix[..7]
    );
    repo.commit(
        &[("docs/postmortems/regression-log-rotation.md", &other)],
        "Add postmortem for the log rotation",
        "Cy Dore <cy@example.com>",
        "2024-02-06",
    );
    let before = postmortem_files(repo.path());
    skillrun()
        .args(["run", "write a postmortem for the retry storm", "--repo"])
        .arg(repo.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("appended an addendum").not());
    let after = postmortem_files(repo.path());
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert_eq!(
        std::fs::read_to_string(
            repo.path()
                .join("docs/postmortems/regression-log-rotation.md")
        )
        .expect("doc"),
        other
    );
}

#[test]
fn guardrails_are_proposed_and_written_on_request() {
    let (repo, _, _) = retry_repo(Some("v1.1.0"));
    let (path, doc) = run_one(
        repo.path(),
        "write a postmortem for the retry storm",
        &["--apply-guardrails"],
    );
    let name = path.file_name().expect("name").to_string_lossy();
    let slug = name
        .trim_start_matches("regression-")
        .trim_end_matches(".md");
    assert!(
        doc.contains(&format!(".github/instructions/{slug}.instructions.md")),
        "{doc}"
    );
    let guard = std::fs::read_to_string(
        repo.path()
            .join(format!(".github/instructions/{slug}.instructions.md")),
    )
    .expect("guardrail written");
    assert!(
        guard.starts_with("---\napplyTo: 'src/retry.py'\n---\n"),
        "{guard}"
    );
}

/// Two commits that each lowered one limit, released in `v1.1.0`, and a fix that restores
/// both, one line each, released in `v1.2.0`, its message made from the two causes' shas:
/// the repository and the two causes (connections, queue).
fn two_limits_repo(fix_message: impl FnOnce(&str, &str) -> String) -> (GitRepo, String, String) {
    let limits =
        |conns: &str, queue: &str| format!("int max_conns = {conns};\nint max_queue = {queue};\n");
    let mut repo = GitRepo::new();
    repo.commit(
        &[("src/limits.c", &limits("128", "64"))],
        "Add connection and queue limits",
        "Ana Lima <ana@example.com>",
        "2024-01-10",
    );
    repo.tag("v1.0.0");
    let conns = repo.commit(
        &[("src/limits.c", &limits("12", "64"))],
        "Lower the connection limit",
        "Ben Cole <ben@example.com>",
        "2024-02-01",
    );
    let queue = repo.commit(
        &[("src/limits.c", &limits("12", "6"))],
        "Lower the queue limit",
        "Cy Dore <cy@example.com>",
        "2024-02-03",
    );
    repo.tag("v1.1.0");
    repo.commit(
        &[("src/limits.c", &limits("128", "64"))],
        &fix_message(&conns, &queue),
        "Ana Lima <ana@example.com>",
        "2024-02-20",
    );
    repo.tag("v1.2.0");
    (repo, conns, queue)
}

#[test]
fn a_close_call_between_two_causes_is_written_down() {
    // Two commits each lowered one limit; the fix restores both, one line each.
    let (repo, conns, queue) =
        two_limits_repo(|_, _| "Fix rejected connections: restore the limits".to_string());
    let (path, doc) = run_one(
        repo.path(),
        "write a postmortem for the rejected connections",
        &[],
    );
    // Whichever of the two the document names as the cause, it names the other as a close
    // second, so a reader checks both.
    let root = section(&doc, "Root Cause");
    assert!(root.contains("Tracing was a close call"), "{doc}");
    assert!(
        root.contains(&conns[..7]) && root.contains(&queue[..7]),
        "{root}"
    );
    skillrun()
        .arg("check")
        .arg(&path)
        .arg("--repo")
        .arg(repo.path())
        .assert()
        .code(0);
}

/// The text of the document's `## Fix` section.
/// The body of the document's section `## {heading}`, up to the next section.
fn section<'d>(doc: &'d str, heading: &str) -> &'d str {
    doc.split(&format!("## {heading}\n"))
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_else(|| panic!("no section {heading}: {doc}"))
}

fn fix_section(doc: &str) -> &str {
    section(doc, "Fix")
}

/// A date in the request is when the incident was under way: it goes into the Timeline,
/// and a commit made after it is not taken as the cause, which the document says.
#[test]
fn a_date_in_the_request_joins_the_timeline_and_bounds_the_cause() {
    let (repo, bug, _) = retry_repo(Some("v1.1.0"));
    let (path, doc) = run_one(
        repo.path(),
        "write a postmortem for the retry storm seen on 2024-02-03",
        &[],
    );
    assert!(
        section(&doc, "Timeline")
            .contains("| 2024-02-03 | The incident, on the date the request gives |"),
        "{doc}"
    );
    assert!(
        section(&doc, "Root Cause").contains(&format!("`{}`", &bug[..7])),
        "{doc}"
    );
    std::fs::remove_file(&path).expect("remove");

    // A date still to come is a slip: the run warns, and the document does not carry it.
    skillrun()
        .args([
            "run",
            "write a postmortem for the retry storm seen on 2999-02-03",
            "--repo",
        ])
        .arg(repo.path())
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "warning: the request's date 2999-02-03 has not come yet",
        ));
    let files = postmortem_files(repo.path());
    assert_eq!(files.len(), 1, "{files:?}");
    let path = repo.path().join("docs/postmortems").join(&files[0]);
    let doc = std::fs::read_to_string(&path).expect("doc");
    assert!(!doc.contains("2999"), "{doc}");
    assert!(
        section(&doc, "Root Cause").contains(&format!("`{}`", &bug[..7])),
        "{doc}"
    );
    std::fs::remove_file(&path).expect("remove");

    // A report before the bad commit: the trace leaves it out and the document says so.
    let (_, doc) = run_one(
        repo.path(),
        "write a postmortem for the retry storm reported 2024-01-20",
        &[],
    );
    let root = section(&doc, "Root Cause");
    assert!(
        root.contains(&format!(
            "`{}` came up in the trace too, but it was made after the date the request gives (2024-01-20), so it was not taken as the cause.",
            &bug[..7]
        )),
        "{doc}"
    );
    assert!(root.contains("Tracing leads to `"), "{doc}");
    assert!(
        !root.contains(&format!("Tracing leads to `{}`", &bug[..7])),
        "{doc}"
    );
}

/// The best match for the request's words is a fix whose lines all came after the date the
/// request gives: it did not fix what was seen then, so the next likely fix is traced, and
/// the document says why the first was passed over.
#[test]
fn a_likely_fix_whose_causes_all_came_after_the_date_is_passed_over() {
    let mut repo = GitRepo::new();
    let ana = "Ana Lima <ana@example.com>";
    repo.commit(
        &[("src/cache.py", "def evict(n):\n    return n\n")],
        "Add the cache",
        ana,
        "2023-01-01",
    );
    let cause = repo.commit(
        &[("src/cache.py", "def evict(n):\n    return n // 2\n")],
        "Evict half the cache at once",
        ana,
        "2023-02-01",
    );
    let fix = repo.commit(
        &[("src/cache.py", "def evict(n):\n    return n // 8\n")],
        "Fix cache stall: evict less at once",
        ana,
        "2023-03-10",
    );
    repo.commit(
        &[("src/queue.py", "def drain(q):\n    return q.pop()\n")],
        "Add an eviction queue",
        ana,
        "2023-06-01",
    );
    let later = repo.commit(
        &[("src/queue.py", "def drain(q):\n    return q.pop(0)\n")],
        "Fix cache eviction stall under load in the queue",
        ana,
        "2023-06-10",
    );
    let (_, doc) = run_one(
        repo.path(),
        "write a postmortem for the cache eviction stall under load of 2023-03-01",
        &["--force"],
    );
    let fix_text = fix_section(&doc);
    assert!(
        fix_text.contains(&format!(
            "`{}` (\"Fix cache eviction stall under load in the queue\") matched the request's words first, but the commits its lines led to were all made after 2023-03-01, the date the request gives, so it did not fix this incident. `{}` was taken as the fix",
            &later[..7],
            &fix[..7]
        )),
        "{doc}"
    );
    assert!(
        section(&doc, "Root Cause").contains(&format!("Tracing leads to `{}`", &cause[..7])),
        "{doc}"
    );
    // `skillrun trace` passes it over the same way, and says so.
    let out = skillrun()
        .args([
            "trace",
            "--json",
            "--incident",
            "the cache eviction stall under load",
        ])
        .args(["--reported", "2023-03-01", "--repo"])
        .arg(repo.path())
        .output()
        .expect("runs");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["fix"], serde_json::json!(fix), "{v}");
    assert_eq!(
        v["likely_fixes"][0]["commit"],
        serde_json::json!(later),
        "{v}"
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!(
            "note: passed over the likely fix {} (Fix cache eviction stall under load in the queue)",
            &later[..12]
        )),
        "{out:?}"
    );
}

/// The commit the document finds to have caused the problem is not offered as a fix that
/// might have been the one, though the request's words fit it too.
#[test]
fn the_cause_is_not_offered_as_another_possible_fix() {
    let (repo, bug, fix) = retry_repo(None);
    let (_, doc) = run_one(
        repo.path(),
        "write a postmortem for the retry backoff storm",
        &["--force"],
    );
    let found = fix_section(&doc);
    assert!(
        found.contains(&format!("`{}` was taken as the fix", &fix[..7])),
        "{doc}"
    );
    assert!(
        section(&doc, "Summary").contains(&format!("came in with commit `{}` (", &bug[..7])),
        "{doc}"
    );
    assert!(!found.contains(&bug[..7]), "{found}");
}

/// A fix word the request shares with the fix's subject is why that commit was taken,
/// and the document says whose subject it is.
#[test]
fn the_document_says_the_fix_was_taken_for_its_subject_word() {
    let (repo, _, fix) = retry_repo(None);
    let (_, doc) = run_one(
        repo.path(),
        "write a postmortem for: fix the retry storm",
        &["--force"],
    );
    assert!(
        fix_section(&doc).contains(&format!(
            "`{}` was taken as the fix because its subject says `fix`, as the request does.",
            &fix[..7]
        )),
        "{doc}"
    );
}

#[test]
fn the_document_says_how_the_fix_was_found() {
    let (mut repo, bug, fix) = retry_repo(None);
    // A newer commit whose words fit "the retry storm" as well.
    let other = repo.commit(
        &[(
            "tests/test_retry.py",
            "def test_grows():\n    assert backoff(3) > backoff(2)\n",
        )],
        "Fix retry storm test: check that backoff grows",
        "Ana Lima <ana@example.com>",
        "2024-03-01",
    );
    // Found by the words: the document says so and names the other commits they fit.
    let (path, doc) = run_one(
        repo.path(),
        "write a postmortem for the retry storm",
        &["--force"],
    );
    let found = fix_section(&doc);
    assert!(
        found.contains(
            "was taken as the fix by searching the commit messages for the request's words"
        ) && found.contains("The words also fit"),
        "{doc}"
    );
    let taken = [&fix, &other]
        .into_iter()
        .find(|c| found.contains(&format!("`{}` was taken", &c[..7])))
        .expect("the fix taken is named");
    let passed_over = if taken == &fix { &other } else { &fix };
    assert!(found.contains(&passed_over[..7]), "{found}");
    std::fs::remove_file(path).unwrap();

    // Named by the request: the document is about that fix whatever the words fit.
    let (_, doc) = run_one(
        repo.path(),
        &format!(
            "write a postmortem for the retry storm fixed by {}",
            &fix[..10]
        ),
        &["--force"],
    );
    assert!(
        fix_section(&doc).contains(&format!("The request named `{}` as the fix.", &fix[..7])),
        "{doc}"
    );
    assert!(doc.contains(&bug[..7]), "{doc}");
}

#[test]
fn a_fix_subject_that_names_only_the_change_leaves_the_title_to_the_request() {
    let (repo, bug, fix) = retry_history(
        [
            "Add retry client with exponential backoff",
            "Optimize retry backoff",
            "Restore exponential retry backoff\n\nCheckout failed under the gateway's rate limits: retries came too fast.",
        ],
        ["2024-01-10", "2024-02-01", "2024-02-05"],
        [Some("v1.0.0"), Some("v1.1.0"), Some("v1.2.0")],
    );
    let (path, text) = run_one(
        repo.path(),
        "write a postmortem for: checkout fails under the gateway's rate limits",
        &[],
    );
    assert!(
        text.starts_with("# Postmortem: Checkout fails under the gateway's rate limits\n"),
        "{text}"
    );
    assert_eq!(
        path.file_name().and_then(|n| n.to_str()),
        Some("regression-checkout-fails-under-the-gateways-rate.md")
    );
    assert!(
        text.contains(&bug[..7]) && text.contains(&fix[..7]),
        "{text}"
    );
}

#[test]
fn a_run_that_finds_no_fix_says_why() {
    let (repo, _, _) = retry_repo(None);
    skillrun()
        .args(["run", "write a postmortem for the zqxv outage", "--repo"])
        .arg(repo.path())
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "failed: the model stopped without submitting a valid document; it said: \"I could not trace this incident to a fix commit (not found: no commit matches the incident's keywords",
        ))
        .stderr(predicate::str::contains("Naming the fix in the request"));
    assert!(postmortem_files(repo.path()).is_empty());
}

#[test]
fn the_root_cause_is_the_fix_authors_account_or_unknown() {
    // The fix says nothing of the cause: the document says it is unknown.
    let (repo, bug, _) = retry_repo(Some("v1.1.0"));
    let (_, doc) = run_one(repo.path(), "write a postmortem for the retry storm", &[]);
    let root = section(&doc, "Root Cause");
    assert!(
        root.contains(&format!("Tracing leads to `{}`", &bug[..7]))
            && root.contains(
                "Which design assumption the change broke is not written in the history: unknown."
            ),
        "{root}"
    );
    // The Root Cause written when a later fix caps the backoff, with this message body.
    let capped = |body: &str| {
        let (mut repo, _, _) = retry_repo(None);
        repo.commit(
            &[(
                "src/retry.py",
                "def backoff(n):\n    return min(0.2 * (2 ** n), 30)\n",
            )],
            &format!("Fix retry storm after long outages: cap the backoff\n\n{body}"),
            "Cy Dore <cy@example.com>",
            "2024-03-05",
        );
        repo.tag("v1.3.0");
        let (_, doc) = run_one(
            repo.path(),
            "write a postmortem for the retry storm after long outages",
            &["--force"],
        );
        section(&doc, "Root Cause").to_string()
    };
    // The fix explains it: the document quotes that explanation, not the rest of the message.
    let root = capped(
        "Seen in production on Monday.\n\nThe gateway dropped clients because the uncapped backoff\noverflowed its timeout after ten retries.\n\nSigned-off-by: Cy Dore <cy@example.com>",
    );
    assert!(
        root.contains("The fix explains the cause: \"The gateway dropped clients because the uncapped backoff overflowed its timeout after ten retries.\""),
        "{root}"
    );
    assert!(
        !root.contains("Seen in production") && !root.contains("unknown"),
        "{root}"
    );
    // The fix tells only how the code went wrong: quoted as that, the cause still unknown.
    let root =
        capped("backoff() grows without a cap, so ten retries outlast the gateway's timeout.\n");
    assert!(
        root.contains("Which design assumption the change broke is not named in the history: unknown. The fix's message says: \"backoff() grows without a cap, so ten retries outlast the gateway's timeout.\""),
        "{root}"
    );
}

#[test]
fn a_close_call_whose_newer_change_was_taken_says_so() {
    let (repo, older, newer, _) =
        super::trace::limits_history(["4", "100", "64"], ["4", "50", "64"]);
    let (_, doc) = run_one(
        repo.path(),
        "write a postmortem for: limits: restore the default limits",
        &["--force"],
    );
    let root = section(&doc, "Root Cause");
    assert!(
        root.contains(&format!(
            "Tracing was a close call: `{}` scored 115% of `{}`'s score, but it is older, and of two changes traced nearly alike the newer is taken",
            &older[..7],
            &newer[..7]
        )),
        "{root}"
    );
}

#[test]
fn why_it_escaped_counts_a_test_written_before_the_release() {
    // The change came without a test; one that names the function followed it the next
    // day, before the release that shipped the change, and did not catch it either.
    let (repo, bug, _) = retry_repo_with(|repo| {
        repo.commit(
            &[(
                "tests/test_retry.py",
                "def test_positive():\n    assert backoff(0) > 0\n",
            )],
            "Test the retry delay",
            "Ben Cole <ben@example.com>",
            "2024-02-02",
        );
        repo.tag("v1.1.0");
    });
    let (_, doc) = run_one(repo.path(), "write a postmortem for the retry storm", &[]);
    let text = section(&doc, "Why It Escaped");
    assert!(
        text.contains(&format!(
            "At `{}`, no test in the repository named `backoff`, the function the fix changed. By `v1.1.0`, the first release with the change, tests named it (`tests/test_retry.py`), and none of them caught the change.",
            &bug[..7]
        )),
        "{text}"
    );
    assert!(!text.contains("no test checked it directly"), "{text}");
}

#[test]
fn why_it_escaped_says_plainly_that_a_doc_only_cause_changed_no_code() {
    // The cause changed only a manual page: the section must not read as if it had
    // changed code ("changed no source file without changing any test").
    let mut repo = GitRepo::new();
    repo.commit(
        &[
            ("src/tool.c", "int main(void) { return 0; }\n"),
            (
                "man/tool.8",
                ".TH TOOL 8\n.SH OPTIONS\n.B --wait\nwait for it\n",
            ),
        ],
        "Add tool and its manual page",
        "Ana Lima <ana@example.com>",
        "2024-01-10",
    );
    repo.tag("v1.0.0");
    let bug = repo.commit(
        &[(
            "man/tool.8",
            ".TH TOOL 8\n.SH OPTIONS\n.B --wait\nwait for it\n.B --retry-count\nhow often to retry\n",
        )],
        "man: document the retry option",
        "Ben Cole <ben@example.com>",
        "2024-02-01",
    );
    repo.tag("v1.1.0");
    let fix = repo.commit(
        &[(
            "man/tool.8",
            ".TH TOOL 8\n.SH OPTIONS\n.B --wait\nwait for it\n.B --retries\nhow often to retry\n",
        )],
        "man: fix the retry option's name",
        "Cy Dore <cy@example.com>",
        "2024-02-05",
    );
    repo.tag("v1.2.0");
    let (_, doc) = run_one(
        repo.path(),
        "write a postmortem for the wrong retry option name in the manual",
        &[],
    );
    assert!(doc.contains(&bug[..7]) && doc.contains(&fix[..7]), "{doc}");
    let text = section(&doc, "Why It Escaped");
    assert!(
        text.contains(&format!(
            "Commit `{}` changed no source file, besides 1 doc file, and no test.",
            &bug[..7]
        )),
        "{text}"
    );
    assert!(!text.contains("without changing any test"), "{text}");
}

#[test]
fn why_it_escaped_names_the_test_gap() {
    // No test named the function the fix changed, and the fix added none.
    let (repo, bug, fix) = retry_repo(Some("v1.1.0"));
    let (_, doc) = run_one(repo.path(), "write a postmortem for the retry storm", &[]);

    let text = section(&doc, "Why It Escaped");
    assert!(
        text.contains(&format!(
            "At `{}`, no test in the repository named `backoff`, the function the fix changed, nor did any by `v1.1.0`, the first release with the change, so no test checked it directly.",
            &bug[..7]
        )) && text.contains("The fix itself changed no test file."),
        "{text}"
    );
    assert!(
        doc.contains(&format!(
            "| Add a regression test for the behaviour restored in `{}` | Test | ☐ |",
            &fix[..7]
        )),
        "{doc}"
    );

    // A test named it but did not catch the change; the fix came with a test.
    let mut repo = GitRepo::new();
    repo.commit(
        &[
            (
                "src/retry.py",
                "def backoff(n):\n    return 0.2 * (2 ** n)\n",
            ),
            (
                "tests/test_retry.py",
                "def test_grows():\n    assert backoff(1) > backoff(0)\n",
            ),
        ],
        "Add retry client with exponential backoff",
        "Ana Lima <ana@example.com>",
        "2024-01-10",
    );
    repo.tag("v1.0.0");
    let bug = repo.commit(
        &[(
            "src/retry.py",
            "def backoff(n):\n    return 0.2 * (n + 1)\n",
        )],
        "Optimize retry backoff",
        "Ben Cole <ben@example.com>",
        "2024-02-01",
    );
    repo.tag("v1.1.0");
    let fix = repo.commit(
        &[
            ("src/retry.py", "def backoff(n):\n    return 0.2 * (2 ** n)\n"),
            (
                "tests/test_retry.py",
                "def test_grows():\n    assert backoff(1) > backoff(0)\n\n\ndef test_doubles():\n    assert backoff(2) == 2 * backoff(1)\n",
            ),
        ],
        "Fix retry storm: restore exponential backoff",
        "Cy Dore <cy@example.com>",
        "2024-02-05",
    );
    repo.tag("v1.2.0");
    let (_, doc) = run_one(repo.path(), "write a postmortem for the retry storm", &[]);
    let text = section(&doc, "Why It Escaped");
    assert!(
        text.contains(&format!(
            "At `{}`, tests named `backoff`, the function the fix changed (`tests/test_retry.py`), and none of them caught the change.",
            &bug[..7]
        )) && text.contains("The fix came with test changes (`tests/test_retry.py`)."),
        "{text}"
    );
    // The Fix section's counts are those of the code it names; the test beside it is said.
    assert!(
        doc.contains(&format!(
            "Commit `{}` (\"Fix retry storm: restore exponential backoff\") changed `src/retry.py` (+1 -1), besides 1 test file.",
            &fix[..7]
        )),
        "{doc}"
    );
    assert!(
        doc.contains(&format!(
            "| Regression test for the behaviour restored in `{}` (`tests/test_retry.py`, with the fix) | Test | ✅ |",
            &fix[..7]
        )),
        "{doc}"
    );
}

/// Every entry under `dir`, recursively, as paths relative to it.
fn entries(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .expect("read dir")
            .filter_map(Result::ok)
        {
            let p = e.path();
            out.push(p.strip_prefix(dir).expect("inside").display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_skill_of_another_kind_writes_into_its_own_folder_not_a_postmortem_folder() {
    let (repo, _, _) = retry_repo(Some("v1.1.0"));
    std::fs::create_dir_all(repo.path().join("docs/postmortems")).expect("mkdir");
    std::fs::write(
        repo.path().join("docs/postmortems/README.md"),
        "# Postmortems\n",
    )
    .expect("write");
    let skills = tempfile::tempdir().expect("tmp");
    let seed = std::fs::read_to_string(super::support::seed_path()).expect("seed");
    let prose = "Detect the project's postmortem directory (commonly `docs/postmortems/` or equivalent). Name: `regression-<short-description>.md`.";
    assert!(
        seed.contains(prose),
        "the seed skill's folder sentence changed"
    );
    let own = seed
        .replace("name: postmortem", "name: incident-report")
        .replace(
            prose,
            "Put it in `docs/incident-reports/`. Name: `report-<short-description>.md`.",
        );
    std::fs::create_dir_all(skills.path().join("incident-report")).expect("mkdir");
    std::fs::write(skills.path().join("incident-report/SKILL.md"), own).expect("write");
    skillrun()
        .arg("--skills")
        .arg(skills.path())
        .args([
            "run",
            "write a postmortem for the retry storm",
            "--skill",
            "incident-report",
        ])
        .arg("--repo")
        .arg(repo.path())
        .assert()
        .success();
    let written = entries(&repo.path().join("docs/incident-reports"));
    assert_eq!(written.len(), 1, "{written:?}");
    assert!(written[0].starts_with("report-"), "{written:?}");
    assert_eq!(
        entries(&repo.path().join("docs/postmortems")),
        ["README.md"],
        "nothing written into the postmortem folder"
    );
}

/// A fix whose subject runs to kilobytes: the tools cut the line, not the result around it,
/// so the trace still names the fix and its cause, and the run writes its document.
#[test]
fn a_subject_of_kilobytes_does_not_hide_the_fix() {
    let long = format!(
        "Fix retry storm {}",
        "because the limit was raised ".repeat(220)
    );
    let (repo, bug, fix) = retry_history(
        [
            "Add retry client with exponential backoff",
            "Optimize retry backoff",
            &long,
        ],
        ["2024-01-10", "2024-02-01", "2024-02-05"],
        [Some("v1.0.0"), Some("v1.1.0"), Some("v1.2.0")],
    );
    let out = skillrun()
        .args(["tools", "call", "git_log", r#"{"limit":1}"#, "--repo"])
        .arg(repo.path())
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&fix[..7]), "{text}");
    assert!(text.contains("more characters ...]"), "{text}");
    let out = skillrun()
        .args(["tools", "call", "trace_regression"])
        .arg(format!(r#"{{"fix":"{}"}}"#, &fix[..7]))
        .arg("--repo")
        .arg(repo.path())
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!text.contains("omitted"), "{text}");
    assert!(
        text.contains(&format!("most likely introduced by {}", &bug[..12])),
        "{text}"
    );
    skillrun()
        .args([
            "run",
            &format!(
                "write a postmortem for the regression fixed by {}",
                &fix[..7]
            ),
        ])
        .arg("--repo")
        .arg(repo.path())
        .assert()
        .success();
    assert_eq!(entries(&repo.path().join("docs/postmortems")).len(), 1);
}

#[test]
fn a_committed_symlink_cannot_carry_the_run_logs_out_of_the_repository() {
    let (repo, _, _) = retry_repo(None);
    let outside = tempfile::tempdir().expect("tmp");
    for link in [".skillrun", ".skillrun/runs"] {
        let _ = std::fs::remove_dir_all(repo.path().join(".skillrun"));
        let _ = std::fs::remove_file(repo.path().join(".skillrun"));
        if link == ".skillrun/runs" {
            std::fs::create_dir(repo.path().join(".skillrun")).expect("mkdir");
        }
        std::os::unix::fs::symlink(outside.path(), repo.path().join(link)).expect("symlink");
        skillrun()
            .args(["run", "write a postmortem for the retry storm", "--repo"])
            .arg(repo.path())
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "{link} is a symbolic link in the repository, and the run logs stay inside it"
            )));
        assert!(
            entries(outside.path()).is_empty(),
            "{link}: written outside: {:?}",
            entries(outside.path())
        );
        let docs = repo.path().join("docs/postmortems");
        assert!(
            !docs.exists() || entries(&docs).is_empty(),
            "no document written"
        );
    }
}

#[test]
fn a_run_refuses_a_folder_whose_document_would_land_in_the_wrong_place() {
    let (repo, _, _) = retry_repo(None);
    let refused = |dir: &Path, says: &str| {
        let before = entries(dir);
        skillrun()
            .args(["run", "write a postmortem for the retry storm", "--repo"])
            .arg(dir)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says));
        assert_eq!(entries(dir), before, "nothing written in {}", dir.display());
    };

    // A bare clone has no work tree: the document would go into the git folder.
    let (_parent, bare) = repo.clone_with(&["--bare"]);
    refused(
        &bare,
        "is a bare repository: it has no work tree to write the document into; clone it",
    );

    // A folder inside the repository: the run names the repository's top.
    let top = repo.path().canonicalize().expect("canonical");
    refused(
        &repo.path().join("src"),
        &format!(
            "not the top of a git repository but inside {0}; pass --repo {0}",
            top.display()
        ),
    );

    // SHA-256 object names, which gix does not read: said as such, not "not a repository".
    let sha256 = GitRepo::new();
    sha256.git(&["init", "-q", "--object-format=sha256", "s256"]);
    let s256 = sha256.path().join("s256");
    refused(&s256, "uses git's SHA-256 object format");
    skillrun()
        .args(["trace", "--fix", "HEAD", "--repo"])
        .arg(&s256)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "uses git's SHA-256 object format, which skillrun cannot read yet",
        ));

    // A plain folder, or a repository with no commits: no history to investigate, so the
    // model is not asked to spend its turns on the git tools' errors.
    let plain = tempfile::tempdir().expect("tmp");
    refused(plain.path(), "not a git repository (\"");
    let empty = GitRepo::new();
    empty.git(&["init", "-q", "fresh"]);
    refused(
        &empty.path().join("fresh"),
        "has no commits yet: there is no history to investigate",
    );

    // An empty prompt is a usage error, before any skill is chosen.
    skillrun()
        .args(["run", "  ", "--skill", "postmortem", "--repo"])
        .arg(repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("the prompt is empty"));
}

#[test]
fn a_document_that_cannot_be_written_stops_the_run_and_keeps_the_checked_draft() {
    let (repo, _, _) = retry_repo(Some("v1.1.0"));
    // Where the document goes is a file, so no draft can ever be written there.
    repo.write("docs/postmortems", "not a folder\n");
    let out = skillrun()
        .args([
            "run",
            "write a postmortem for the retry storm",
            "--json",
            "--repo",
        ])
        .arg(repo.path())
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    let report = lines.last().expect("report");
    assert_eq!(report["outcome"], "failed", "{report}");
    let reason = report["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with(
            "the document passed the checks but could not be written: cannot create docs/postmortems"
        ),
        "{reason}"
    );
    // One submission: a write error is not the model's to repair, so it is not asked to.
    let submits = lines.iter().filter(|l| l["event"] == "submitted").count();
    assert_eq!(submits, 1, "{lines:?}");
    let draft = report["draft"].as_str().expect("draft kept");
    assert!(reason.ends_with(draft), "{reason}");
    let text = std::fs::read_to_string(draft).expect("draft");
    assert!(text.starts_with("# Postmortem: "), "{text}");
    assert_eq!(
        std::fs::read_to_string(repo.path().join("docs/postmortems")).expect("file"),
        "not a folder\n"
    );
    // The progress lines do not call a draft that passed every check "rejected".
    skillrun()
        .args(["run", "write a postmortem for the retry storm", "--repo"])
        .arg(repo.path())
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "submit_document: passed the checks (0 warnings) but was not written",
        ))
        .stderr(predicate::str::contains("rejected (0 errors").not());
}

#[test]
fn a_clone_without_tags_or_history_says_what_to_fetch() {
    let (repo, _, _) = retry_repo(Some("v1.1.0"));

    // CI checkouts often come without tags: the gate cannot tell a near miss from a
    // release, and says how to let it.
    let (_no_tags, path) = repo.clone_with(&["--no-tags"]);
    skillrun()
        .args(["run", "write a postmortem for the retry storm", "--repo"])
        .arg(&path)
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "declined: cannot tell whether the problem shipped: this repository has no tags",
        ))
        .stdout(predicate::str::contains("git fetch --tags"));
    assert!(postmortem_files(&path).is_empty());
    // The same history with its tags ships the problem in v1.1.0.
    run_one(repo.path(), "write a postmortem for the retry storm", &[]);

    // A one-commit clone has no parent of the fix to trace in.
    let (_shallow, path) = repo.clone_with(&["--depth", "1"]);
    skillrun()
        .args(["run", "write a postmortem for the retry storm", "--repo"])
        .arg(&path)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "parent is not in this shallow clone, so there is nothing to blame in; fetch the history (`git fetch --unshallow`",
        ))
        .stderr(predicate::str::contains("Naming the fix").not());
    assert!(postmortem_files(&path).is_empty());
}

#[test]
fn why_it_escaped_names_a_method_whose_head_is_far_above_the_change() {
    let body = |call: &str| {
        format!(
            "pub struct Gic;\n\nimpl Gic {{\n    pub fn restore(&self) {{\n        load();\n    }}\n\n    pub fn save_state(&self) -> u32 {{\n        let a = 1;\n        let b = 2;\n        let c = 3;\n        let d = 4;\n        let e = 5;\n        let f = 6;\n        {call}\n    }}\n}}\n"
        )
    };
    let mut repo = GitRepo::new();
    repo.commit(
        &[("src/gic.rs", &body("save(a, b)"))],
        "Add GIC state saving",
        "Ana Lima <ana@example.com>",
        "2024-01-10",
    );
    repo.tag("v1.0.0");
    let bug = repo.commit(
        &[("src/gic.rs", &body("save(a)"))],
        "Simplify GIC state saving",
        "Ben Cole <ben@example.com>",
        "2024-02-01",
    );
    repo.tag("v1.1.0");
    repo.commit(
        &[("src/gic.rs", &body("save(a, b)"))],
        "Fix lost GIC state on save: pass both registers",
        "Cy Dore <cy@example.com>",
        "2024-02-05",
    );
    repo.tag("v1.2.0");
    // git's hunk header shows the `impl` line, not the method.
    let show = repo.git(&["show", "--format=", "HEAD"]);
    assert!(show.contains("@@ impl Gic {"), "{show}");

    let (_, doc) = run_one(
        repo.path(),
        "write a postmortem for the lost GIC state",
        &[],
    );
    assert!(
        doc.contains(&format!(
            "At `{}`, no test in the repository named `save_state`, the function the fix changed",
            &bug[..7]
        )),
        "{doc}"
    );
}

#[test]
fn a_name_another_document_holds_is_not_taken_over() {
    let (repo, _, fix) = retry_repo(Some("v1.1.0"));
    let (first, _) = run_one(repo.path(), "write a postmortem for the retry storm", &[]);
    // Another incident's document under the same name, citing none of these commits.
    let other = "# Postmortem: Retry storm in the mailer\n\nAnother incident.\n";
    std::fs::write(&first, other).expect("write");
    skillrun()
        .args(["run", "write a postmortem for the retry storm", "--repo"])
        .arg(repo.path())
        .assert()
        .code(0);
    let stem = first.file_stem().expect("name").to_string_lossy();
    assert_eq!(
        postmortem_files(repo.path()),
        [format!("{stem}-{}.md", &fix[..7]), format!("{stem}.md")]
    );
    assert_eq!(std::fs::read_to_string(&first).expect("kept"), other);
}

#[test]
fn prevention_follows_a_moved_file_and_drops_a_removed_one() {
    let (mut repo, _, _) = retry_repo(Some("v1.1.0"));
    let (first, doc) = run_one(repo.path(), "write a postmortem for the retry storm", &[]);
    assert!(
        section(&doc, "Prevention")
            .contains("Require a test change in CI when `src/retry.py` changes"),
        "{doc}"
    );
    std::fs::remove_file(&first).expect("remove");

    // After the fix the file moved twice: the rule follows it to its name today.
    repo.git(&["mv", "src/retry.py", "src/retry_client.py"]);
    repo.commit(
        &[],
        "Rename the retry module",
        "Ana Lima <ana@example.com>",
        "2024-03-01",
    );
    std::fs::create_dir_all(repo.path().join("src/net")).expect("mkdir");
    repo.git(&["mv", "src/retry_client.py", "src/net/retry.py"]);
    repo.commit(
        &[],
        "Move networking code under net",
        "Ana Lima <ana@example.com>",
        "2024-03-02",
    );
    let (first, doc) = run_one(
        repo.path(),
        "write a postmortem for the retry storm",
        &["--apply-guardrails"],
    );
    let rows = section(&doc, "Prevention");
    assert!(
        rows.contains("Require a test change in CI when `src/net/retry.py` changes"),
        "{rows}"
    );
    let guardrails = repo.path().join(".github/instructions");
    let written: Vec<_> = std::fs::read_dir(&guardrails)
        .expect("guardrail written")
        .collect();
    assert_eq!(written.len(), 1);
    std::fs::remove_file(&first).expect("remove");
    std::fs::remove_dir_all(&guardrails).expect("remove");

    // Removed: a rule scoped to it would never fire, so none is proposed.
    repo.git(&["rm", "-q", "src/net/retry.py"]);
    repo.commit(
        &[],
        "Drop the retry module",
        "Ana Lima <ana@example.com>",
        "2024-03-03",
    );
    let (_, doc) = run_one(
        repo.path(),
        "write a postmortem for the retry storm",
        &["--apply-guardrails"],
    );
    let rows = section(&doc, "Prevention");
    assert!(!rows.contains("Require a test change in CI"), "{rows}");
    assert!(
        rows.contains("| Add a regression test for the behaviour restored in"),
        "{rows}"
    );
    assert!(!guardrails.exists());
}

/// A run that fails says why once, on its last lines, not also as a progress line.
#[test]
fn a_failed_run_says_why_once() {
    let (repo, _, _) = retry_repo(Some("v1.1.0"));
    let out = skillrun()
        .args(["run", "write a postmortem for the zzqx outage", "--repo"])
        .arg(repo.path())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr
            .matches("the model stopped without submitting")
            .count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("\nfailed: the model stopped"), "{stderr}");
}
