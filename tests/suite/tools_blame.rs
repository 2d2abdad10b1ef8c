//! `git_blame` against real repositories, with `git blame --porcelain` as the oracle.

use serde_json::{Value, json};
use skillrun::tools::{Registry, Sandbox, ToolError, ToolResult};

use super::support::GitRepo;

const ALICE: &str = "Alice Example <alice@example.com>";
const BOB: &str = "Bob Builder <bob@example.com>";
const CAROL: &str = "Carol Fixer <carol@example.com>";

fn blame(repo: &GitRepo, args: Value) -> Result<ToolResult, ToolError> {
    let sandbox = Sandbox::open(repo.path()).expect("sandbox");
    Registry::standard().call(&sandbox, "git_blame", args)
}

fn blame_ok(repo: &GitRepo, args: Value) -> ToolResult {
    blame(repo, args.clone()).unwrap_or_else(|e| panic!("git_blame {args} failed: {e}"))
}

fn blame_err(repo: &GitRepo, args: Value) -> ToolError {
    match blame(repo, args.clone()) {
        Ok(r) => panic!("git_blame {args} should fail, got:\n{}", r.text),
        Err(e) => e,
    }
}

/// `(final line number, full sha)` for every line `git blame --porcelain` reports.
fn oracle(repo: &GitRepo, args: &[&str]) -> Vec<(u32, String)> {
    let mut full = vec!["blame", "--porcelain"];
    full.extend_from_slice(args);
    let out = repo.git(&full);
    let mut lines = Vec::new();
    for l in out.lines() {
        let mut parts = l.split(' ');
        let (Some(sha), Some(_orig), Some(fin)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if sha.len() == 40
            && sha.bytes().all(|b| b.is_ascii_hexdigit())
            && let Ok(n) = fin.parse::<u32>()
        {
            lines.push((n, sha.to_string()));
        }
    }
    lines
}

/// `(line, commit)` pairs of a result's data.
fn blamed(result: &ToolResult) -> Vec<(u32, String)> {
    result.data["lines"]
        .as_array()
        .expect("lines array")
        .iter()
        .map(|l| {
            (
                l["line"].as_u64().expect("line") as u32,
                l["commit"].as_str().expect("commit").to_string(),
            )
        })
        .collect()
}

/// A file changed by three authors over four commits, line by line.
struct History {
    repo: GitRepo,
    c1: String,
    c2: String,
    c3: String,
    c4: String,
}

fn history() -> History {
    let mut repo = GitRepo::new();
    let c1 = repo.commit(
        &[
            (
                "src/retry.rs",
                "fn a() {}\nfn b() {}\nfn c() {}\nfn d() {}\nfn e() {}\n",
            ),
            ("README.md", "# retry\n"),
        ],
        "Add retry",
        ALICE,
        "2024-11-01",
    );
    let c2 = repo.commit(
        &[(
            "src/retry.rs",
            "fn a() {}\nfn b2() {}\nfn c() {}\nfn d() {}\nfn e() {}\n",
        )],
        "Change b",
        BOB,
        "2024-12-03",
    );
    let c3 = repo.commit(
        &[(
            "src/retry.rs",
            "fn a() {}\nfn b2() {}\nfn c() {}\nfn new() {}\nfn d() {}\nfn e3() {}\n",
        )],
        "Add new, change e",
        CAROL,
        "2024-12-05",
    );
    // A commit that does not touch the file.
    let c4 = repo.commit(
        &[("README.md", "# retry\n\nMore.\n")],
        "Docs",
        ALICE,
        "2024-12-06",
    );
    History {
        repo,
        c1,
        c2,
        c3,
        c4,
    }
}

#[test]
fn whole_file_matches_git_blame_per_line() {
    let h = history();
    let r = blame_ok(&h.repo, json!({"path": "src/retry.rs"}));
    let expected = oracle(&h.repo, &["--", "src/retry.rs"]);
    assert_eq!(expected.len(), 6);
    assert_eq!(blamed(&r), expected);
    // And the expected attribution, spelled out.
    let commits: Vec<&str> = expected.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(commits, [&h.c1, &h.c2, &h.c1, &h.c3, &h.c1, &h.c3]);

    assert_eq!(r.data["path"], "src/retry.rs");
    assert_eq!(r.data["rev"], h.c4.as_str());
    assert_eq!(r.data["truncated"], false);
    assert_eq!(r.commit.as_deref(), Some(h.c4.as_str()));
    let first = &r.data["lines"][0];
    assert_eq!(first["author"], "Alice Example");
    assert_eq!(first["date"], "2024-11-01");
    assert_eq!(first["text"], "fn a() {}");
    assert_eq!(r.data["lines"][5]["author"], "Carol Fixer");
    assert_eq!(r.data["lines"][5]["date"], "2024-12-05");

    // The text: `<short sha> <author> <date> <line>| <text>`, one line per file line.
    let text_lines: Vec<&str> = r.text.lines().collect();
    assert_eq!(text_lines.len(), 6, "{}", r.text);
    assert_eq!(
        text_lines[1],
        format!("{} Bob Builder 2024-12-03 2| fn b2() {{}}", &h.c2[..8])
    );
    assert_eq!(
        text_lines[3],
        format!("{} Carol Fixer 2024-12-05 4| fn new() {{}}", &h.c3[..8])
    );
}

#[test]
fn a_range_blames_only_those_lines() {
    let h = history();
    let r = blame_ok(
        &h.repo,
        json!({"path": "src/retry.rs", "start_line": 2, "end_line": 4}),
    );
    let expected = oracle(&h.repo, &["-L", "2,4", "--", "src/retry.rs"]);
    assert_eq!(
        expected.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [2, 3, 4]
    );
    assert_eq!(blamed(&r), expected);
    assert_eq!(r.text.lines().count(), 3, "{}", r.text);
    assert!(
        r.text
            .lines()
            .next()
            .unwrap_or("")
            .contains(" 2| fn b2() {}"),
        "{}",
        r.text
    );

    // Only a start: to the end of the file.
    let r = blame_ok(&h.repo, json!({"path": "src/retry.rs", "start_line": 5}));
    assert_eq!(
        blamed(&r),
        oracle(&h.repo, &["-L", "5,", "--", "src/retry.rs"])
    );

    // Only an end: from the first line.
    let r = blame_ok(&h.repo, json!({"path": "src/retry.rs", "end_line": 1}));
    assert_eq!(blamed(&r), vec![(1, h.c1.clone())]);
}

#[test]
fn an_end_past_the_file_is_clamped_and_said() {
    let h = history();
    let r = blame_ok(
        &h.repo,
        json!({"path": "src/retry.rs", "start_line": 5, "end_line": 500}),
    );
    assert_eq!(
        blamed(&r),
        oracle(&h.repo, &["-L", "5,6", "--", "src/retry.rs"])
    );
    assert!(r.text.contains("past the end"), "{}", r.text);
    assert_eq!(r.data["end_line"], 6);
}

#[test]
fn bad_ranges_name_the_field() {
    let h = history();
    let cases = [
        (
            json!({"path": "src/retry.rs", "start_line": 0}),
            "start_line",
        ),
        (json!({"path": "src/retry.rs", "end_line": 0}), "end_line"),
        (
            json!({"path": "src/retry.rs", "start_line": 7}),
            "start_line",
        ),
        (
            json!({"path": "src/retry.rs", "start_line": 4, "end_line": 2}),
            "start_line",
        ),
        (
            json!({"path": "src/retry.rs", "start_line": -1}),
            "start_line",
        ),
        (
            json!({"path": "src/retry.rs", "end_line": "ten"}),
            "end_line",
        ),
    ];
    for (args, field) in cases {
        let e = blame_err(&h.repo, args.clone());
        assert!(
            matches!(e, ToolError::InvalidArguments { .. }),
            "{args}: {e:?}"
        );
        assert!(e.to_string().contains(field), "{args}: {e}");
    }
}

#[test]
fn rev_blames_an_older_version() {
    let h = history();
    for rev in [h.c2.as_str(), "HEAD~2", &h.c2[..10]] {
        let r = blame_ok(&h.repo, json!({"path": "src/retry.rs", "rev": rev}));
        let expected = oracle(&h.repo, &[&h.c2, "--", "src/retry.rs"]);
        assert_eq!(expected.len(), 5);
        assert_eq!(blamed(&r), expected, "rev {rev}");
        assert_eq!(r.data["rev"], h.c2.as_str());
        assert_eq!(r.commit.as_deref(), Some(h.c2.as_str()));
        assert_eq!(r.data["lines"][1]["text"], "fn b2() {}");
    }
    let e = blame_err(
        &h.repo,
        json!({"path": "src/retry.rs", "rev": "no-such-branch"}),
    );
    assert!(matches!(e, ToolError::NotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("no-such-branch"), "{e}");
}

#[test]
fn a_missing_path_is_not_found_naming_path_and_rev() {
    let h = history();
    let e = blame_err(&h.repo, json!({"path": "src/nope.rs"}));
    assert!(matches!(e, ToolError::NotFound { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("src/nope.rs") && msg.contains("HEAD"), "{msg}");

    // Present at HEAD, absent at an older revision.
    h.repo.git(&["tag", "old", &h.c1]);
    let mut repo = h.repo;
    repo.commit(&[("src/later.rs", "x\n")], "Later", BOB, "2024-12-07");
    let e = blame_err(&repo, json!({"path": "src/later.rs", "rev": "old"}));
    assert!(matches!(e, ToolError::NotFound { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(msg.contains("src/later.rs") && msg.contains("old"), "{msg}");
}

#[test]
fn a_folder_is_refused_clearly() {
    let h = history();
    for path in ["src", "src/", "", "."] {
        let e = blame_err(&h.repo, json!({"path": path}));
        assert!(
            matches!(e, ToolError::InvalidArguments { .. }),
            "{path}: {e:?}"
        );
        let msg = e.to_string();
        assert!(
            msg.contains("folder") || msg.contains("root"),
            "{path}: {msg}"
        );
    }
}

#[test]
fn a_binary_file_is_refused_clearly() {
    let mut repo = GitRepo::new();
    repo.commit(
        &[("logo.png", "\u{89}PNG\r\n\u{1a}\n\0\0\0\rIHDR")],
        "Logo",
        ALICE,
        "2024-11-01",
    );
    let e = blame_err(&repo, json!({"path": "logo.png"}));
    assert!(
        e.to_string().contains("binary file, blame is for text"),
        "{e}"
    );
}

#[test]
fn non_utf8_lines_are_decoded_lossily() {
    let mut repo = GitRepo::new();
    std::fs::write(repo.path().join("latin1.txt"), b"caf\xe9\nplain\n").expect("write");
    let sha = repo.commit(&[], "Latin-1", ALICE, "2024-11-01");
    let r = blame_ok(&repo, json!({"path": "latin1.txt"}));
    assert_eq!(blamed(&r), vec![(1, sha.clone()), (2, sha)]);
    assert_eq!(r.data["lines"][0]["text"], "caf\u{fffd}");
    assert!(r.text.contains("1| caf\u{fffd}"), "{}", r.text);
}

#[test]
fn a_file_without_final_newline_and_crlf_lines() {
    let mut repo = GitRepo::new();
    repo.commit(
        &[("a.txt", "one\r\ntwo\r\nthree")],
        "One",
        ALICE,
        "2024-11-01",
    );
    repo.commit(
        &[("a.txt", "one\r\nTWO\r\nthree")],
        "Two",
        BOB,
        "2024-11-02",
    );
    let r = blame_ok(&repo, json!({"path": "a.txt"}));
    assert_eq!(blamed(&r), oracle(&repo, &["--", "a.txt"]));
    let texts: Vec<&str> = r.data["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["text"].as_str().expect("text"))
        .collect();
    assert_eq!(texts, ["one", "TWO", "three"]);
}

#[test]
fn an_empty_file_has_no_lines() {
    let mut repo = GitRepo::new();
    repo.commit(&[("empty.txt", "")], "Empty", ALICE, "2024-11-01");
    let r = blame_ok(&repo, json!({"path": "empty.txt"}));
    assert_eq!(r.data["lines"], json!([]));
    assert!(r.text.contains("empty"), "{}", r.text);
}

#[test]
fn renames_are_followed_like_git() {
    let mut repo = GitRepo::new();
    let body: String = (1..=20)
        .map(|i| format!("line number {i} of the module\n"))
        .collect();
    let c1 = repo.commit(&[("old.rs", &body)], "Add", ALICE, "2024-11-01");
    repo.git(&["mv", "old.rs", "new.rs"]);
    let mut changed = body.replace("line number 20 of", "line twenty of");
    changed.push_str("appended\n");
    let c2 = repo.commit(
        &[("new.rs", &changed)],
        "Rename and change",
        BOB,
        "2024-11-02",
    );
    let r = blame_ok(&repo, json!({"path": "new.rs"}));
    let expected = oracle(&repo, &["--", "new.rs"]);
    assert_eq!(blamed(&r), expected);
    assert_eq!(expected[0].1, c1);
    assert_eq!(expected[20].1, c2);
}

/// Merge `branch` into the current branch with a merge commit, `extra` flags before it.
fn merge(repo: &GitRepo, branch: &str, extra: &[&str]) {
    let mut args = vec![
        "-c",
        "user.name=M",
        "-c",
        "user.email=m@x",
        "merge",
        "-q",
        "--no-ff",
        "--no-edit",
    ];
    args.extend_from_slice(extra);
    args.push(branch);
    repo.git(&args);
}

#[test]
fn merges_match_git() {
    let mut repo = GitRepo::new();
    let base: String = (1..=10).map(|i| format!("l{i}\n")).collect();
    repo.commit(&[("f.txt", &base)], "Base", ALICE, "2024-11-01");
    repo.git(&["checkout", "-q", "-b", "side"]);
    repo.commit(
        &[("f.txt", &base.replace("l2\n", "side2\n"))],
        "Side",
        BOB,
        "2024-11-02",
    );
    repo.git(&["checkout", "-q", "main"]);
    repo.commit(
        &[("f.txt", &base.replace("l9\n", "main9\n"))],
        "Main",
        CAROL,
        "2024-11-03",
    );
    merge(&repo, "side", &[]);
    let r = blame_ok(&repo, json!({"path": "f.txt"}));
    assert_eq!(blamed(&r), oracle(&repo, &["--", "f.txt"]));
}

/// Merges where one parent has the same file: the file changed only on the merged branch,
/// only on main while a branch was merged in, and on a branch of a branch; and a merge that
/// takes one side's version of a file both sides changed. Every blame equals git's.
#[test]
fn merges_with_one_unchanged_side_match_git() {
    let mut repo = GitRepo::new();
    let base: String = (1..=12).map(|i| format!("l{i}\n")).collect();
    let other: String = (1..=6).map(|i| format!("o{i}\n")).collect();
    repo.commit(
        &[("f.txt", &base), ("g.txt", &other)],
        "Base",
        ALICE,
        "2024-11-01",
    );
    // f.txt changes on a branch only (the merge's f.txt is the branch's); g.txt on main.
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let f1 = base.replace("l3\n", "feature3\n");
    repo.commit(&[("f.txt", &f1)], "Feature", BOB, "2024-11-02");
    repo.git(&["checkout", "-q", "-b", "nested"]);
    let f2 = f1.replace("l7\n", "nested7\n");
    repo.commit(&[("f.txt", &f2)], "Nested", CAROL, "2024-11-03");
    repo.git(&["checkout", "-q", "feature"]);
    merge(&repo, "nested", &[]);
    repo.git(&["checkout", "-q", "main"]);
    repo.commit(
        &[("g.txt", &other.replace("o2\n", "main2\n"))],
        "Main",
        CAROL,
        "2024-11-04",
    );
    merge(&repo, "feature", &[]);
    // f.txt changes on main while a branch that does not touch it is merged in.
    repo.commit(
        &[("f.txt", &f2.replace("l11\n", "main11\n"))],
        "Main again",
        ALICE,
        "2024-11-05",
    );
    repo.git(&["checkout", "-q", "-b", "docs", "HEAD~1"]);
    repo.commit(&[("docs.txt", "docs\n")], "Docs", BOB, "2024-11-06");
    repo.git(&["checkout", "-q", "main"]);
    merge(&repo, "docs", &[]);
    // Both sides change g.txt; the merge keeps main's version.
    repo.git(&["checkout", "-q", "-b", "rival"]);
    repo.commit(
        &[("g.txt", &other.replace("o5\n", "rival5\n"))],
        "Rival",
        BOB,
        "2024-11-07",
    );
    repo.git(&["checkout", "-q", "main"]);
    repo.commit(
        &[("g.txt", &other.replace("o4\n", "main4\n"))],
        "Main g",
        CAROL,
        "2024-11-08",
    );
    merge(&repo, "rival", &["-s", "ours"]);
    assert_eq!(repo.git(&["rev-list", "--merges", "--count", "HEAD"]), "4");
    for path in ["f.txt", "g.txt"] {
        let r = blame_ok(&repo, json!({"path": path}));
        assert_eq!(blamed(&r), oracle(&repo, &["--", path]), "{path}");
        let part = blame_ok(&repo, json!({"path": path, "start_line": 2, "end_line": 5}));
        assert_eq!(
            blamed(&part),
            oracle(&repo, &["-L", "2,5", "--", path]),
            "{path} 2-5"
        );
    }
}

#[test]
fn many_lines_cap_the_data_and_say_so() {
    let mut repo = GitRepo::new();
    let body: String = (1..=2500).map(|i| format!("row {i}\n")).collect();
    repo.commit(&[("big.txt", &body)], "Big", ALICE, "2024-11-01");
    let r = blame_ok(&repo, json!({"path": "big.txt"}));
    assert_eq!(r.data["truncated"], true);
    assert_eq!(r.data["lines"].as_array().map(Vec::len), Some(2000));
    assert!(r.omitted_lines > 0, "the registry cuts the text");
    assert!(r.text.contains("row 2500"), "the tail is kept");
    // A narrow range is not truncated.
    let r = blame_ok(
        &repo,
        json!({"path": "big.txt", "start_line": 2400, "end_line": 2410}),
    );
    assert_eq!(r.data["truncated"], false);
    assert_eq!(r.data["lines"].as_array().map(Vec::len), Some(11));
    assert_eq!(r.data["lines"][0]["text"], "row 2400");
}

#[test]
fn argument_errors_name_the_field() {
    let h = history();
    let e = blame_err(&h.repo, json!({"path": 3}));
    assert!(matches!(e, ToolError::InvalidArguments { .. }), "{e:?}");
    assert!(e.to_string().contains("path"), "{e}");

    let e = blame_err(&h.repo, json!({}));
    assert!(matches!(e, ToolError::InvalidArguments { .. }), "{e:?}");
    assert!(e.to_string().contains("path"), "{e}");

    let e = blame_err(&h.repo, json!({"path": "src/retry.rs", "line": 3}));
    assert!(matches!(e, ToolError::InvalidArguments { .. }), "{e:?}");
    assert!(e.to_string().contains("line"), "{e}");
}

#[test]
fn paths_outside_the_repository_are_refused() {
    let h = history();
    for path in ["../etc/passwd", "/etc/passwd", ".git/config"] {
        let e = blame_err(&h.repo, json!({"path": path}));
        assert!(matches!(e, ToolError::PathRefused { .. }), "{path}: {e:?}");
    }
}

#[test]
fn an_empty_repository_is_not_found() {
    let repo = GitRepo::new();
    let e = blame_err(&repo, json!({"path": "README.md"}));
    assert!(matches!(e, ToolError::NotFound { .. }), "{e:?}");
}

/// A file edited many times (insertions, deletions, replacements, moved blocks) among
/// commits to other files; a second file renamed half-way; a third changed on a merged
/// branch.
fn busy_history() -> GitRepo {
    let mut repo = GitRepo::new();
    let mut lines: Vec<String> = (0..40).map(|i| format!("line {i}")).collect();
    let mut seed: u64 = 7;
    let mut next = |n: usize| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) as usize) % n.max(1)
    };
    let authors = [ALICE, BOB, CAROL];
    for i in 0..60 {
        let text = |l: &[String]| l.join("\n") + "\n";
        match i % 4 {
            0 => {
                let at = next(lines.len() + 1);
                lines.insert(at, format!("inserted {i}"));
            }
            1 if lines.len() > 5 => {
                let at = next(lines.len());
                lines.remove(at);
            }
            2 => {
                let at = next(lines.len());
                lines[at] = format!("replaced {i}");
            }
            _ => {
                repo.commit(
                    &[("other/noise.txt", format!("noise {i}\n").as_str())],
                    &format!("noise {i}"),
                    authors[i % 3],
                    "2024-02-01",
                );
                continue;
            }
        }
        let body = text(&lines);
        let name = if i < 30 {
            "src/old_name.rs"
        } else {
            "src/new_name.rs"
        };
        if i == 30 {
            repo.git(&["mv", "src/old_name.rs", "src/new_name.rs"]);
        }
        repo.commit(
            &[
                ("src/busy.rs", body.as_str()),
                (name, format!("{body}// {i}\n").as_str()),
            ],
            &format!("edit {i}"),
            authors[i % 3],
            "2024-03-01",
        );
    }
    repo
}

#[test]
fn changed_path_filters_give_the_same_blame_as_git() {
    let repo = busy_history();
    let info = repo.path().join(".git/objects/info");
    for write in [
        &["commit-graph", "write", "--reachable", "--changed-paths"][..],
        &[
            "-c",
            "commitGraph.changedPathsVersion=2",
            "commit-graph",
            "write",
            "--reachable",
            "--changed-paths",
        ][..],
    ] {
        let _ = std::fs::remove_file(info.join("commit-graph"));
        repo.git(write);
        for path in ["src/busy.rs", "src/new_name.rs", "other/noise.txt"] {
            let whole = blame_ok(&repo, json!({"path": path}));
            assert_eq!(blamed(&whole), oracle(&repo, &["--", path]), "{path}");
            if path == "other/noise.txt" {
                // One line, added outside the root commit: nothing more to narrow.
                continue;
            }
            let part = blame_ok(
                &repo,
                json!({"path": path, "start_line": 5, "end_line": 17}),
            );
            assert_eq!(
                blamed(&part),
                oracle(&repo, &["-L", "5,17", "--", path]),
                "{path} 5-17"
            );
            let older = blame_ok(&repo, json!({"path": path, "rev": "HEAD~7"}));
            assert_eq!(
                blamed(&older),
                oracle(&repo, &["HEAD~7", "--", path]),
                "{path} at HEAD~7"
            );
        }
    }
}
