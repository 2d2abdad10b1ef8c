//! Tests of the git tools: `git_log`, `git_show`, `git_releases`, against the real `git`.

use serde_json::{Value, json};
use skillrun::tools::{Registry, Sandbox, ToolError, ToolResult};

use super::support::GitRepo;

fn call(repo: &GitRepo, tool: &str, args: Value) -> Result<ToolResult, ToolError> {
    let sandbox = Sandbox::open(repo.path()).unwrap();
    Registry::standard().call(&sandbox, tool, args)
}

fn ok(repo: &GitRepo, tool: &str, args: Value) -> ToolResult {
    match call(repo, tool, args.clone()) {
        Ok(r) => r,
        Err(e) => panic!("{tool} {args} failed: {e}"),
    }
}

/// What `git log` prints for the same selection, in the tool's text format.
fn git_log_text(repo: &GitRepo, args: &[&str]) -> String {
    let mut full = vec!["log", "--format=%h %as %an %s", "--abbrev=7"];
    full.extend_from_slice(args);
    let out = repo.git(&full);
    if out.is_empty() {
        String::new()
    } else {
        format!("{out}\n")
    }
}

fn shas(r: &ToolResult) -> Vec<String> {
    r.data["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["sha"].as_str().unwrap().to_string())
        .collect()
}

/// Seven commits by three people over a month, with a folder, a rename and a merge.
fn history() -> GitRepo {
    let mut r = GitRepo::new();
    r.commit(
        &[("README.md", "# demo\n")],
        "Initial commit",
        "Alice Example <alice@example.com>",
        "2024-01-01",
    );
    r.commit(
        &[
            ("src/lib.rs", "pub fn a() {}\n"),
            ("src/util.rs", "pub fn u() {}\n"),
        ],
        "Add library\n\nThe body mentions Frobnicate.",
        "Bob Builder <bob@builder.dev>",
        "2024-01-05",
    );
    r.commit(
        &[("docs/guide.md", "guide\n")],
        "docs: add guide",
        "Carol Fixer <carol@example.com>",
        "2024-01-10",
    );
    r.git(&["mv", "src/util.rs", "src/helpers.rs"]);
    r.commit(
        &[],
        "Rename util to helpers",
        "Bob Builder <bob@builder.dev>",
        "2024-01-15",
    );
    r.commit(
        &[("src/lib.rs", "pub fn a() {}\npub fn b() {}\n")],
        "Fix bug in a()",
        "Alice Example <alice@example.com>",
        "2024-01-20",
    );
    r.commit(
        &[("README.md", "# demo\n\nMore.\n")],
        "Update readme",
        "Carol Fixer <carol@example.com>",
        "2024-01-25",
    );
    r.commit(
        &[("src/helpers.rs", "pub fn u() {}\npub fn v() {}\n")],
        "helpers: add v",
        "Bob Builder <bob@builder.dev>",
        "2024-02-01",
    );
    r
}

#[test]
fn log_lists_all_commits_like_git() {
    let r = history();
    let res = ok(&r, "git_log", json!({}));
    assert_eq!(res.text, git_log_text(&r, &[]));
    assert_eq!(
        res.commit.as_deref(),
        Some(r.git(&["rev-parse", "HEAD"]).as_str())
    );
    assert_eq!(res.data["next_cursor"], Value::Null);
    let first = &res.data["commits"][0];
    assert_eq!(first["sha"], json!(r.git(&["rev-parse", "HEAD"])));
    assert_eq!(first["author"], json!("Bob Builder"));
    // The registry's sanitiser redacts e-mail addresses in what a model sees.
    assert_eq!(first["email"], json!("[REDACTED:email]"));
    assert_eq!(first["date"], json!("2024-02-01T12:07:00Z"));
    assert_eq!(first["subject"], json!("helpers: add v"));
    assert_eq!(first["short"].as_str().unwrap().len(), 7);
}

#[test]
fn log_filters_match_git() {
    let r = history();
    let cases: Vec<(Value, Vec<&str>)> = vec![
        (json!({"path": "src/lib.rs"}), vec!["--", "src/lib.rs"]),
        (json!({"path": "src"}), vec!["--", "src"]),
        (json!({"path": "src/"}), vec!["--", "src"]),
        (
            json!({"path": "docs/guide.md"}),
            vec!["--", "docs/guide.md"],
        ),
        (
            json!({"path": "src/helpers.rs"}),
            vec!["--", "src/helpers.rs"],
        ),
        (json!({"path": "src/util.rs"}), vec!["--", "src/util.rs"]),
        (json!({"path": "nope.txt"}), vec!["--", "nope.txt"]),
        (
            json!({"grep": "FROBNICATE"}),
            vec!["-i", "--grep=FROBNICATE"],
        ),
        (
            json!({"grep": "^(fix|docs)"}),
            vec!["-i", "-E", "--grep=^(fix|docs)"],
        ),
        (json!({"author": "BOB"}), vec!["-i", "--author=bob"]),
        (
            json!({"author": "example.com"}),
            vec!["--author=example.com"],
        ),
        (
            json!({"since": "2024-01-10"}),
            vec!["--since=2024-01-10T00:00:00Z"],
        ),
        (
            json!({"until": "2024-01-10"}),
            vec!["--until=2024-01-10T23:59:59Z"],
        ),
        (
            json!({"since": "2024-01-05", "until": "2024-01-20", "author": "alice"}),
            vec![
                "--since=2024-01-05T00:00:00Z",
                "--until=2024-01-20T23:59:59Z",
                "--author=alice",
            ],
        ),
        (json!({"rev": "HEAD~3"}), vec!["HEAD~3"]),
        (
            json!({"rev": "HEAD~3", "path": "src"}),
            vec!["HEAD~3", "--", "src"],
        ),
    ];
    for (args, git_args) in cases {
        let res = ok(&r, "git_log", args.clone());
        let expected = git_log_text(&r, &git_args);
        let expected = if expected.is_empty() {
            "no commits match\n".to_string()
        } else {
            expected
        };
        assert_eq!(res.text, expected, "args {args}");
    }
}

#[test]
fn log_paginates_without_gaps_or_duplicates() {
    let r = history();
    let all = shas(&ok(&r, "git_log", json!({})));
    assert_eq!(all.len(), 7);
    let mut seen = Vec::new();
    let mut cursor = Value::Null;
    let mut pages = 0;
    loop {
        let res = ok(&r, "git_log", json!({"limit": 2, "cursor": cursor}));
        let page = shas(&res);
        assert!(!page.is_empty() && page.len() <= 2);
        seen.extend(page);
        pages += 1;
        cursor = res.data["next_cursor"].clone();
        if cursor.is_null() {
            break;
        }
        assert!(res.text.contains(cursor.as_str().unwrap()), "{}", res.text);
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, all);

    // With a filter, pages follow the filtered list; a page boundary at the end is exact.
    let filtered = shas(&ok(&r, "git_log", json!({"path": "src"})));
    assert_eq!(filtered.len(), 4);
    let p1 = ok(&r, "git_log", json!({"path": "src", "limit": 2}));
    let p2 = ok(
        &r,
        "git_log",
        json!({"path": "src", "limit": 2, "cursor": p1.data["next_cursor"]}),
    );
    assert_eq!(p2.data["next_cursor"], Value::Null);
    assert_eq!([shas(&p1), shas(&p2)].concat(), filtered);
}

#[test]
fn log_rejects_bad_arguments_with_clear_messages() {
    let r = history();
    let invalid = |args: Value, needle: &str| match call(&r, "git_log", args.clone()) {
        Err(ToolError::InvalidArguments { message, .. }) => {
            assert!(message.contains(needle), "{args}: {message}")
        }
        other => panic!("{args}: expected InvalidArguments, got {other:?}"),
    };
    invalid(json!({"bogus": 1}), "bogus");
    invalid(json!({"limit": "x"}), "limit");
    invalid(json!({"limit": 0}), "limit");
    invalid(json!({"limit": 201}), "200");
    invalid(json!({"since": "yesterday"}), "since");
    invalid(json!({"until": "2024-13-01"}), "until");
    invalid(json!({"cursor": "garbage"}), "cursor");
    invalid(json!({"rev": "v1..v2"}), "is a range; give one revision");
    invalid(json!({"cursor": format!("{}:x", "a".repeat(40))}), "cursor");
    invalid(json!({"cursor": format!("{}:3", "a".repeat(40))}), "cursor");
    match call(&r, "git_log", json!({"grep": "a("})) {
        Err(ToolError::Regex { message }) => assert!(message.contains("grep"), "{message}"),
        other => panic!("expected Regex, got {other:?}"),
    }
    match call(&r, "git_log", json!({"rev": "no-such-branch"})) {
        Err(ToolError::NotFound { what }) => assert!(what.contains("no-such-branch"), "{what}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    // Said in words, with what to give instead, not in the git library's terms.
    for (rev, says) in [
        ("HEAD~999", "the history before it is not that long"),
        ("no-such-branch", "no commit, branch or tag has that name"),
    ] {
        match call(&r, "git_show", json!({"commit": rev})) {
            Err(ToolError::NotFound { what }) => assert_eq!(
                what,
                format!(
                    "revision `{rev}`: {says}; give a sha (at least 7 hex digits), a tag or a branch"
                )
            ),
            other => panic!("expected NotFound, got {other:?}"),
        }
    }
    assert!(matches!(
        call(&r, "git_log", json!({"path": "../etc/passwd"})),
        Err(ToolError::PathRefused { .. })
    ));
    assert!(
        ok(&r, "git_log", json!({"limit": 200})).data["commits"]
            .as_array()
            .unwrap()
            .len()
            == 7
    );
}

#[test]
fn empty_repository_and_non_git_folder_say_so() {
    let r = GitRepo::new();
    for (tool, args) in [
        ("git_log", json!({})),
        ("git_show", json!({"commit": "HEAD"})),
        ("git_releases", json!({"commit": "HEAD"})),
    ] {
        match call(&r, tool, args) {
            Err(ToolError::NotFound { what }) => {
                assert!(what.contains("no commits yet"), "{tool}: {what}")
            }
            other => panic!("{tool}: expected NotFound, got {other:?}"),
        }
    }
    let plain = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::open(plain.path()).unwrap();
    match Registry::standard().call(&sandbox, "git_log", json!({})) {
        Err(ToolError::Repository { message }) => {
            assert!(message.contains("not a git repository"), "{message}")
        }
        other => panic!("expected Repository, got {other:?}"),
    }
}

#[test]
fn shallow_clone_walks_to_the_boundary() {
    let r = history();
    let clone_dir = tempfile::tempdir().unwrap();
    let url = format!("file://{}", r.path().display());
    let dest = clone_dir.path().join("shallow");
    r.git(&["clone", "-q", "--depth", "2", &url, dest.to_str().unwrap()]);
    let sandbox = Sandbox::open(&dest).unwrap();
    let reg = Registry::standard();
    let res = reg.call(&sandbox, "git_log", json!({})).unwrap();
    assert_eq!(
        res.data["commits"].as_array().unwrap().len(),
        2,
        "{}",
        res.text
    );
    let res = reg
        .call(&sandbox, "git_log", json!({"path": "src"}))
        .unwrap();
    assert_eq!(
        res.data["commits"].as_array().unwrap().len(),
        2,
        "{}",
        res.text
    );
    // The boundary commit is shown against the empty tree, without crashing.
    let res = reg
        .call(&sandbox, "git_show", json!({"commit": "HEAD~1"}))
        .unwrap();
    assert!(res.text.contains("Update readme"), "{}", res.text);
    let res = reg
        .call(&sandbox, "git_releases", json!({"commit": "HEAD"}))
        .unwrap();
    // The clone brought no tag: the tool says so rather than "not released".
    assert!(
        res.text.contains("this repository has no tags at all"),
        "{}",
        res.text
    );
    assert_eq!(res.data["tags_in_repository"], 0);
}

/// The patch part of `git show` for `rev`, to compare with the tool's.
fn git_patch(repo: &GitRepo, rev: &str, path: Option<&str>) -> String {
    let mut args = vec![
        "show",
        "--format=",
        "--abbrev=7",
        "-M",
        "--first-parent",
        "--no-color",
        rev,
    ];
    if let Some(p) = path {
        args.extend(["--", p]);
    }
    format!("{}\n", repo.git(&args))
}

fn files(r: &ToolResult) -> Vec<Value> {
    r.data["files"].as_array().unwrap().clone()
}

#[test]
fn show_root_and_normal_commits_match_git() {
    let r = history();
    let root = r.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let res = ok(&r, "git_show", json!({"commit": root}));
    assert_eq!(
        res.text,
        format!(
            "commit {root}\nAuthor: Alice Example <[REDACTED:email]>\nDate:   2024-01-01T12:01:00Z\n\n    Initial commit\n\n\
             README.md | +1 -0\n1 file changed, +1 -0\n\n{}",
            git_patch(&r, &root, None)
        )
    );
    assert_eq!(res.commit.as_deref(), Some(root.as_str()));
    assert_eq!(
        files(&res),
        vec![
            json!({"path": "README.md", "status": "added", "added": 1, "removed": 0, "binary": false})
        ]
    );

    let second = r.git(&["rev-parse", "HEAD~5"]);
    let res = ok(&r, "git_show", json!({"commit": &second[..8]}));
    assert!(
        res.text
            .contains("    Add library\n    \n    The body mentions Frobnicate.\n"),
        "{}",
        res.text
    );
    assert!(
        res.text.ends_with(&git_patch(&r, &second, None)),
        "{}",
        res.text
    );
    assert_eq!(
        res.data["message"],
        json!("Add library\n\nThe body mentions Frobnicate.\n")
    );
    assert_eq!(res.data["sha"], json!(second));
    assert_eq!(res.data["author"], json!("Bob Builder"));

    // Every commit's patch equals git's.
    for rev in r.git(&["rev-list", "HEAD"]).lines() {
        let res = ok(&r, "git_show", json!({"commit": rev}));
        assert!(
            res.text.ends_with(&git_patch(&r, rev, None)),
            "{rev}:\n{}",
            res.text
        );
    }
}

#[test]
fn show_rename_and_path_filter() {
    let r = history();
    let rename = r.git(&["rev-parse", "HEAD~3"]);
    let res = ok(&r, "git_show", json!({"commit": rename}));
    assert_eq!(
        files(&res),
        vec![
            json!({"path": "src/helpers.rs", "status": "renamed", "added": 0, "removed": 0, "binary": false, "old_path": "src/util.rs"})
        ]
    );
    assert!(
        res.text.contains("src/util.rs => src/helpers.rs | +0 -0\n"),
        "{}",
        res.text
    );
    assert!(
        res.text.ends_with(&git_patch(&r, &rename, None)),
        "{}",
        res.text
    );

    // A folder filter keeps only the files under it.
    let lib = r.git(&["rev-parse", "HEAD~5"]);
    let res = ok(&r, "git_show", json!({"commit": lib, "path": "src"}));
    let paths: Vec<_> = files(&res)
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(paths, ["src/lib.rs", "src/util.rs"]);
    let res = ok(&r, "git_show", json!({"commit": lib, "path": "src/lib.rs"}));
    assert_eq!(files(&res).len(), 1);
    assert!(
        res.text.ends_with(&git_patch(&r, &lib, Some("src/lib.rs"))),
        "{}",
        res.text
    );
    let res = ok(&r, "git_show", json!({"commit": lib, "path": "docs"}));
    assert!(files(&res).is_empty());
    assert!(res.text.contains("no changes to `docs`"), "{}", res.text);
}

/// Hunk headers name the function line above each hunk, by git's default rule (a line that
/// starts with a letter, `_` or `$`, cut at 80 bytes, trailing space dropped), as `git show`
/// does: the tool's patch is git's, byte for byte.
#[test]
fn show_names_the_function_above_each_hunk_as_git_does() {
    let body = |n: usize| -> String { (0..n).map(|i| format!("    x{i} = {i}\n")).collect() };
    let long_head = format!("static int {}(struct probe *pr)   \n", "a_name".repeat(16));
    let before = format!(
        "BASE = 1\n\n\ndef backoff(attempt):\n{}    return BASE\n\n\ndef call(send):\n{}    return send()\n",
        body(12),
        body(12)
    );
    let after = before
        .replace("    x6 = 6\n    x7", "    x6 = 60\n    x7")
        .replace("    return send()", "    return send(timeout=5)");
    let c_before = format!("#include <x.h>\n{long_head}{{\n{}}}\n", body(10));
    let c_after = c_before.replace("    x8 = 8", "    x8 = 80");
    let mut r = GitRepo::new();
    r.commit(
        &[("retry.py", &before), ("probe.c", &c_before)],
        "start",
        "A <a@x.io>",
        "2024-03-01",
    );
    let c = r.commit(
        &[("retry.py", &after), ("probe.c", &c_after)],
        "change",
        "A <a@x.io>",
        "2024-03-02",
    );
    let res = ok(&r, "git_show", json!({"commit": c}));
    let git = git_patch(&r, &c, None);
    assert!(git.contains("@@ def backoff(attempt):\n"), "{git}");
    assert!(git.contains("@@ def call(send):\n"), "{git}");
    assert!(res.text.ends_with(&git), "{}\n----\n{git}", res.text);
}

#[test]
fn show_modification_deletion_and_binary() {
    let mut r = GitRepo::new();
    r.commit(
        &[
            (
                "a.txt",
                "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n",
            ),
            ("gone.txt", "bye\n"),
        ],
        "start",
        "A <a@x.io>",
        "2024-03-01",
    );
    r.git(&["rm", "-q", "gone.txt"]);
    let c = r.commit(
        &[
            (
                "a.txt",
                "1\nTWO\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\nFOURTEEN\n15",
            ),
            ("img.bin", "\u{0}\u{1}\u{2}binary"),
        ],
        "mixed",
        "A <a@x.io>",
        "2024-03-02",
    );
    let res = ok(&r, "git_show", json!({"commit": c}));
    assert_eq!(
        files(&res),
        vec![
            json!({"path": "a.txt", "status": "modified", "added": 3, "removed": 3, "binary": false}),
            json!({"path": "gone.txt", "status": "deleted", "added": 0, "removed": 1, "binary": false}),
            json!({"path": "img.bin", "status": "added", "added": 0, "removed": 0, "binary": true}),
        ]
    );
    assert!(
        res.text.contains(
            "a.txt | +3 -3\ngone.txt | +0 -1\nimg.bin | binary\n3 files changed, +3 -4\n"
        ),
        "{}",
        res.text
    );
    assert!(
        res.text.ends_with(&git_patch(&r, &c, None)),
        "{}\n----\n{}",
        res.text,
        git_patch(&r, &c, None)
    );
}

#[test]
fn show_merge_diffs_against_first_parent() {
    let mut r = GitRepo::new();
    r.commit(&[("a.txt", "a\n")], "base", "A <a@x.io>", "2024-03-01");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.commit(
        &[("b.txt", "b\n")],
        "feature work",
        "B <b@x.io>",
        "2024-03-02",
    );
    r.git(&["checkout", "-q", "main"]);
    r.commit(&[("c.txt", "c\n")], "main work", "A <a@x.io>", "2024-03-03");
    r.merge("feature", "Merge feature");
    let merge = r.git(&["rev-parse", "HEAD"]);
    let res = ok(&r, "git_show", json!({"commit": "HEAD"}));
    assert_eq!(res.data["sha"], json!(merge));
    assert_eq!(res.data["parents"].as_array().unwrap().len(), 2);
    assert!(res.text.contains("Merge: "), "{}", res.text);
    assert_eq!(
        files(&res),
        vec![
            json!({"path": "b.txt", "status": "added", "added": 1, "removed": 0, "binary": false})
        ]
    );
    assert!(
        res.text.ends_with(&git_patch(&r, &merge, None)),
        "{}",
        res.text
    );
    // git_log lists the merge and both sides, newest first, like git.
    assert_eq!(ok(&r, "git_log", json!({})).text, git_log_text(&r, &[]));
}

#[test]
fn show_errors() {
    let r = history();
    match call(&r, "git_show", json!({"commit": "deadbeefdead"})) {
        Err(ToolError::NotFound { what }) => assert!(what.contains("deadbeefdead"), "{what}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
    match call(&r, "git_show", json!({})) {
        Err(ToolError::InvalidArguments { message, .. }) => {
            assert!(message.contains("commit"), "{message}")
        }
        other => panic!("expected InvalidArguments, got {other:?}"),
    }
    assert!(matches!(
        call(&r, "git_show", json!({"commit": "HEAD", "path": "/etc"})),
        Err(ToolError::PathRefused { .. })
    ));
}

#[test]
fn releases_lightweight_and_annotated_tags() {
    let mut r = GitRepo::new();
    let c1 = r.commit(&[("a", "1\n")], "one", "A <a@x.io>", "2024-05-01");
    r.tag("v1.0.0");
    let c2 = r.commit(&[("a", "2\n")], "two", "A <a@x.io>", "2024-05-02");
    // An annotated tag dated later than its commit.
    let out = std::process::Command::new("git")
        .args(["tag", "-a", "v1.1.0", "-m", "release 1.1.0"])
        .current_dir(r.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_COMMITTER_NAME", "Rel")
        .env("GIT_COMMITTER_EMAIL", "rel@x.io")
        .env("GIT_COMMITTER_DATE", "2024-05-04T10:00:00Z")
        .status()
        .unwrap();
    assert!(out.success());
    let c3 = r.commit(&[("a", "3\n")], "three", "A <a@x.io>", "2024-05-03");
    r.tag("v1.2.0");
    let c4 = r.commit(&[("a", "4\n")], "four", "A <a@x.io>", "2024-05-05");

    let res = ok(&r, "git_releases", json!({"commit": c2}));
    assert_eq!(
        res.text,
        format!(
            "commit {} (2024-05-02) is in 2 tags: v1.2.0 (2024-05-03), v1.1.0 (2024-05-04); first release: v1.2.0 on 2024-05-03\n",
            &c2[..7]
        )
    );
    assert_eq!(res.commit.as_deref(), Some(c2.as_str()));
    assert_eq!(
        res.data["first_release"],
        json!({"name": "v1.2.0", "date": "2024-05-03"})
    );
    assert_eq!(
        res.data["tags"][1],
        json!({"name": "v1.1.0", "date": "2024-05-04", "commit": c2, "prerelease": false})
    );

    // The set of tags equals `git tag --contains` for every commit.
    for c in [&c1, &c2, &c3, &c4] {
        let res = ok(&r, "git_releases", json!({"commit": c}));
        let mut names: Vec<String> = res.data["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        let git: Vec<String> = r
            .git(&["tag", "--contains", c])
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(names, git, "{c}");
    }

    let res = ok(&r, "git_releases", json!({"commit": "HEAD"}));
    assert_eq!(
        res.text,
        format!(
            "commit {} (2024-05-05) is in no tag: not released\n",
            &c4[..7]
        )
    );
    assert_eq!(res.data["first_release"], Value::Null);
    assert_eq!(res.data["tags"], json!([]));

    let res = ok(&r, "git_releases", json!({"commit": "v1.0.0"}));
    assert_eq!(res.data["commit"], json!(c1));
    assert_eq!(res.data["first_release"]["name"], json!("v1.0.0"));

    match call(&r, "git_releases", json!({"commit": "v9"})) {
        Err(ToolError::NotFound { what }) => assert!(what.contains("v9"), "{what}"),
        other => panic!("expected NotFound, got {other:?}"),
    }
}

#[test]
fn releases_set_pre_releases_apart() {
    let mut r = GitRepo::new();
    r.commit(&[("a", "1\n")], "one", "A <a@x.io>", "2024-05-01");
    r.tag("v1.0.0");
    let c2 = r.commit(&[("a", "2\n")], "two", "A <a@x.io>", "2024-05-02");
    r.tag("v1.1.0-rc1");
    r.commit(&[("a", "3\n")], "three", "A <a@x.io>", "2024-05-03");
    r.tag("v1.1.0");
    let c4 = r.commit(&[("a", "4\n")], "four", "A <a@x.io>", "2024-05-04");
    r.tag("v1.2.0-beta.1");

    // Carried by a release candidate first, then released.
    let res = ok(&r, "git_releases", json!({"commit": c2}));
    assert_eq!(
        res.text,
        format!(
            "commit {} (2024-05-02) is in 3 tags: v1.1.0-rc1 (2024-05-02, pre-release), v1.1.0 (2024-05-03), v1.2.0-beta.1 (2024-05-04, pre-release); first release: v1.1.0 on 2024-05-03 (after the pre-release v1.1.0-rc1 on 2024-05-02)\n",
            &c2[..7]
        )
    );
    assert_eq!(
        res.data["first_release"],
        json!({"name": "v1.1.0", "date": "2024-05-03"})
    );
    assert_eq!(
        res.data["first_prerelease"],
        json!({"name": "v1.1.0-rc1", "date": "2024-05-02"})
    );
    assert_eq!(res.data["tags"][0]["prerelease"], json!(true));
    assert_eq!(res.data["tags"][1]["prerelease"], json!(false));
    assert_eq!(res.data["prereleases_are_releases"], json!(false));

    // Only in a pre-release so far: not released.
    let res = ok(&r, "git_releases", json!({"commit": c4}));
    assert_eq!(
        res.text,
        format!(
            "commit {} (2024-05-04) is in 1 tag: v1.2.0-beta.1 (2024-05-04, pre-release); in no release yet, only in pre-releases; first pre-release: v1.2.0-beta.1 on 2024-05-04\n",
            &c4[..7]
        )
    );
    assert_eq!(res.data["first_release"], Value::Null);
    assert_eq!(res.data["first_prerelease"]["name"], json!("v1.2.0-beta.1"));
}

#[test]
fn releases_of_a_repository_that_tags_only_pre_releases_are_its_pre_releases() {
    let mut r = GitRepo::new();
    let c1 = r.commit(&[("a", "1\n")], "one", "A <a@x.io>", "2025-08-01");
    r.tag("v2025.08-devel");
    r.commit(&[("a", "2\n")], "two", "A <a@x.io>", "2025-09-01");
    r.tag("v2025.09-devel");
    let res = ok(&r, "git_releases", json!({"commit": c1}));
    assert_eq!(
        res.data["first_release"],
        json!({"name": "v2025.08-devel", "date": "2025-08-01"})
    );
    assert_eq!(res.data["prereleases_are_releases"], json!(true));
    assert!(
        res.text.ends_with(
            "first release: v2025.08-devel on 2025-08-01 (this repository tags only pre-releases, so they count as releases)\n"
        ),
        "{}",
        res.text
    );
}

#[test]
fn releases_count_a_cherry_pick_to_a_release_branch() {
    let mut r = GitRepo::new();
    r.commit(&[("a", "1\n")], "one", "A <a@x.io>", "2024-05-01");
    r.tag("v1.0");
    r.git(&["checkout", "-q", "-b", "release-1.0"]);
    r.git(&["checkout", "-q", "main"]);
    r.commit(&[("b", "1\n")], "other work", "A <a@x.io>", "2024-05-02");
    let fix = r.commit(&[("a", "2\n")], "fix the thing", "B <b@x.io>", "2024-05-03");
    r.tag("v1.1");
    r.git(&["checkout", "-q", "release-1.0"]);
    r.git(&[
        "-c",
        "user.name=Stable",
        "-c",
        "user.email=stable@x.io",
        "cherry-pick",
        "-x",
        &fix,
    ]);
    let copy = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    r.tag("v1.0.1");
    r.git(&["checkout", "-q", "main"]);

    let res = ok(&r, "git_releases", json!({"commit": fix}));
    assert_eq!(
        res.text,
        format!(
            "commit {} (2024-05-03) is in 2 tags: v1.1 (2024-05-03), v1.0.1 ({}, through its copy {}); first release: v1.1 on 2024-05-03\n",
            &fix[..7],
            r.git(&["log", "-1", "--format=%cs", "v1.0.1"]).trim(),
            &copy[..7]
        )
    );
    assert_eq!(res.data["tags"][1]["through_copy"], json!(copy));
    assert_eq!(res.data["tags"][0].get("through_copy"), None);
    // git counts only the commit itself.
    assert_eq!(r.git(&["tag", "--contains", &fix]).trim(), "v1.1");

    // The same subject by its author at another time, or by someone else, is no copy.
    r.git(&["checkout", "-q", "-b", "other", "v1.0"]);
    r.commit(&[("a", "3\n")], "fix the thing", "B <b@x.io>", "2024-05-04");
    r.tag("o1");
    r.commit(&[("a", "4\n")], "fix the thing", "C <c@x.io>", "2024-05-05");
    r.tag("o2");
    let res = ok(&r, "git_releases", json!({"commit": fix}));
    let names: Vec<&str> = res.data["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["v1.1", "v1.0.1"], "{}", res.text);

    // The same change by its author under the same subject, made again at another time
    // (as `git revert` on a release branch does, which dates the commit anew), is a copy.
    r.git(&["checkout", "-q", "-b", "again", "v1.0"]);
    let again = r.commit(&[("a", "2\n")], "fix the thing", "B <b@x.io>", "2024-05-06");
    r.tag("v1.0.2");
    let res = ok(&r, "git_releases", json!({"commit": fix}));
    let tag = res.data["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "v1.0.2")
        .unwrap_or_else(|| panic!("{}", res.text));
    assert_eq!(tag["through_copy"], json!(again), "{}", res.text);
}

#[test]
fn releases_list_the_earliest_tags_and_the_first_release_in_the_text() {
    let mut r = GitRepo::new();
    let c1 = r.commit(&[("a", "0\n")], "zero", "A <a@x.io>", "2024-01-01");
    for i in 1..=25 {
        let content = format!("{i}\n");
        let date = format!("2024-02-{i:02}");
        r.commit(&[("a", content.as_str())], "step", "A <a@x.io>", &date);
        r.tag(&format!("v1.0-rc{i}"));
    }
    r.commit(&[("a", "final\n")], "release", "A <a@x.io>", "2024-03-01");
    r.tag("v1.0");
    let res = ok(&r, "git_releases", json!({"commit": c1}));
    assert!(
        res.text.contains("v1.0-rc20 (2024-02-20, pre-release), v1.0 (2024-03-01), and 5 more; first release: v1.0 on 2024-03-01"),
        "{}",
        res.text
    );
    assert!(!res.text.contains("v1.0-rc21"), "{}", res.text);
    assert_eq!(res.data["tags"].as_array().unwrap().len(), 26);
}

#[test]
fn releases_found_past_a_committer_clock_set_back() {
    // The walk for the tags stops a while before the commit's date; a later commit whose
    // clock was set back by weeks must not hide the release that contains both.
    let mut r = GitRepo::new();
    r.commit(&[("a", "0\n")], "zero", "A <a@x.io>", "2023-01-01");
    r.tag("v0.9");
    let c1 = r.commit(&[("a", "1\n")], "one", "A <a@x.io>", "2024-05-10");
    r.commit(&[("a", "2\n")], "two", "A <a@x.io>", "2024-03-01");
    r.tag("v1.0");
    let res = ok(&r, "git_releases", json!({"commit": c1}));
    assert_eq!(
        res.data["first_release"]["name"],
        json!("v1.0"),
        "{}",
        res.text
    );
    assert_eq!(r.git(&["tag", "--contains", &c1]).trim(), "v1.0");
}

#[test]
fn releases_with_branches_only_count_tags_that_contain_the_commit() {
    let mut r = GitRepo::new();
    r.commit(&[("a", "1\n")], "base", "A <a@x.io>", "2024-06-01");
    r.git(&["checkout", "-q", "-b", "side"]);
    let side = r.commit(&[("b", "1\n")], "side", "A <a@x.io>", "2024-06-02");
    r.tag("side-tag");
    r.git(&["checkout", "-q", "main"]);
    r.commit(&[("c", "1\n")], "main", "A <a@x.io>", "2024-06-03");
    r.tag("v2");
    let res = ok(&r, "git_releases", json!({"commit": side}));
    assert_eq!(
        res.data["tags"].as_array().unwrap().len(),
        1,
        "{}",
        res.text
    );
    assert_eq!(res.data["first_release"]["name"], json!("side-tag"));
    r.merge("side", "merge");
    r.tag("v3");
    let res = ok(&r, "git_releases", json!({"commit": side}));
    let names: Vec<_> = res.data["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names.len(), 2, "{}", res.text);
}

/// A history of many small commits over nested folders (one with a non-ASCII name), with a
/// merge, for the changed-path filters and the paginated path log.
fn wide_history() -> GitRepo {
    let mut r = GitRepo::new();
    let dirs = ["src/a", "src/b", "docs", "src/ünï", "tests/deep/er"];
    for i in 0..120 {
        let dir = dirs[i % dirs.len()];
        let file = format!("{dir}/f{}.txt", i % 7);
        let content = format!("line {i}\n");
        let date = format!("2024-{:02}-{:02}", 1 + i / 28, 1 + i % 28);
        r.commit(
            &[(file.as_str(), content.as_str())],
            &format!("change {i}"),
            "Alice Example <alice@example.com>",
            &date,
        );
        if i == 60 {
            r.git(&["checkout", "-q", "-b", "side", "HEAD~3"]);
            r.commit(
                &[("src/a/side.txt", "side\n")],
                "side change",
                "Bob Builder <bob@builder.dev>",
                "2024-03-04",
            );
            r.git(&["checkout", "-q", "main"]);
            r.merge("side", "merge side");
        }
    }
    r
}

const FILTER_PATHS: &[&str] = &[
    "src",
    "src/a",
    "src/a/f1.txt",
    "src/b/f3.txt",
    "docs",
    "docs/f0.txt",
    "src/ünï/f2.txt",
    "src/ünï",
    "tests/deep/er/f4.txt",
    "tests/deep",
    "nope/missing.txt",
    "src/a/side.txt",
];

#[test]
fn changed_path_filters_agree_with_git() {
    use skillrun::commitgraph::ChangedPaths;
    let r = wide_history();
    let dot_git = r.path().join(".git");
    assert!(ChangedPaths::open(&dot_git).is_none(), "no graph yet");
    let all: Vec<String> = r
        .git(&["rev-list", "--all"])
        .lines()
        .map(String::from)
        .collect();
    // Files each commit changed against its first parent (all files for the root).
    let changed: Vec<(String, Vec<String>)> = all
        .iter()
        .map(|sha| {
            let parents = r.git(&["rev-list", "--parents", "-n1", sha]);
            let files = if parents.split(' ').count() > 1 {
                r.git(&[
                    "-c",
                    "core.quotePath=false",
                    "diff",
                    "--name-only",
                    &format!("{sha}^1"),
                    sha,
                ])
            } else {
                r.git(&[
                    "-c",
                    "core.quotePath=false",
                    "ls-tree",
                    "-r",
                    "--name-only",
                    sha,
                ])
            };
            (sha.clone(), files.lines().map(String::from).collect())
        })
        .collect();
    // Version 1 (git's default), version 2, and a split chain.
    let writes: [&[&str]; 3] = [
        &["commit-graph", "write", "--reachable", "--changed-paths"],
        &[
            "-c",
            "commitGraph.changedPathsVersion=2",
            "commit-graph",
            "write",
            "--reachable",
            "--changed-paths",
        ],
        &[
            "commit-graph",
            "write",
            "--reachable",
            "--changed-paths",
            "--split",
        ],
    ];
    for write in writes {
        let info = dot_git.join("objects/info");
        let _ = std::fs::remove_file(info.join("commit-graph"));
        let _ = std::fs::remove_dir_all(info.join("commit-graphs"));
        r.git(write);
        let graph = ChangedPaths::open(&dot_git).expect("filters are read");
        let (mut ruled_out, mut untouched) = (0usize, 0usize);
        for path in FILTER_PATHS {
            for (sha, files) in &changed {
                let touched = files
                    .iter()
                    .any(|f| f == path || f.starts_with(&format!("{path}/")));
                let id = gix::ObjectId::from_hex(sha.as_bytes()).unwrap();
                let answer = graph.maybe_changed(&id, path);
                if touched {
                    assert_ne!(
                        answer,
                        Some(false),
                        "{write:?}: {sha} changed {path} but its filter says no"
                    );
                } else {
                    untouched += 1;
                    ruled_out += usize::from(answer == Some(false));
                }
            }
        }
        assert!(
            ruled_out * 10 >= untouched * 9,
            "{write:?}: only {ruled_out} of {untouched} untouched pairs ruled out"
        );
        // A commit outside the graph has no filter.
        let outside = gix::ObjectId::from_hex(&[b'0'; 40]).unwrap();
        assert_eq!(graph.maybe_changed(&outside, "src"), None);
    }
}

/// Every sha `git_log` lists for `args`, following cursors page by page; and the cursors.
fn log_pages(repo: &GitRepo, args: Value) -> (Vec<String>, Vec<String>) {
    let (mut shas, mut cursors) = (Vec::new(), Vec::new());
    let mut cursor = Value::Null;
    loop {
        let mut a = args.clone();
        if !cursor.is_null() {
            a["cursor"] = cursor.clone();
        }
        let res = ok(repo, "git_log", a);
        for c in res.data["commits"].as_array().unwrap() {
            shas.push(c["sha"].as_str().unwrap().to_string());
        }
        cursor = res.data["next_cursor"].clone();
        match cursor.as_str() {
            Some(c) => cursors.push(c.to_string()),
            None => return (shas, cursors),
        }
    }
}

#[test]
fn path_log_pages_match_git_with_and_without_filters() {
    let r = wide_history();
    let dot_git = r.path().join(".git");
    let writes: [&[&str]; 3] = [
        &[],
        &["commit-graph", "write", "--reachable", "--changed-paths"],
        &[
            "-c",
            "commitGraph.changedPathsVersion=2",
            "commit-graph",
            "write",
            "--reachable",
            "--changed-paths",
        ],
    ];
    for write in writes {
        let info = dot_git.join("objects/info");
        let _ = std::fs::remove_file(info.join("commit-graph"));
        if !write.is_empty() {
            r.git(write);
        }
        for path in FILTER_PATHS.iter().chain(&["src/a/f1.txt/below"]) {
            let expected: Vec<String> = r
                .git(&["log", "--format=%H", "--", path])
                .lines()
                .map(String::from)
                .collect();
            let (whole, _) = log_pages(&r, json!({"path": path, "limit": 200}));
            // git drops the merge that only brought `side.txt` in (it is TREESAME to its second
            // parent); git_log lists commits that changed the path against their first parent.
            if *path != "src/a/side.txt" {
                assert_eq!(whole, expected, "{write:?} {path}: one page");
            }
            let (paged, cursors) = log_pages(&r, json!({"path": path, "limit": 3}));
            assert_eq!(paged, whole, "{write:?} {path}: pages of 3");
            for c in cursors {
                assert!(c.starts_with("f."), "{c}: a frontier cursor");
            }
        }
    }
    // The whole log, paged, crosses the merge with two commits pending.
    let expected: Vec<String> = r
        .git(&["log", "--format=%H"])
        .lines()
        .map(String::from)
        .collect();
    let (paged, cursors) = log_pages(&r, json!({"limit": 1}));
    assert_eq!(paged, expected);
    assert!(
        cursors.iter().any(|c| c.matches('.').count() == 2),
        "{cursors:?}"
    );
    // A frontier cursor is validated like the others.
    let e = call(&r, "git_log", json!({"cursor": "f.zz"})).unwrap_err();
    assert!(e.to_string().contains("cursor"), "{e}");
    let e = call(
        &r,
        "git_log",
        json!({"cursor": format!("f.{}", "b".repeat(40))}),
    )
    .unwrap_err();
    assert!(e.to_string().contains("cursor"), "{e}");
    let too_many = vec!["c".repeat(40); 33].join(".");
    let e = call(&r, "git_log", json!({"cursor": format!("f.{too_many}")})).unwrap_err();
    assert!(e.to_string().contains("cursor"), "{e}");
}

#[test]
fn messages_in_a_legacy_encoding_read_as_git_log_shows_them() {
    let mut repo = GitRepo::new();
    repo.commit(
        &[("m.py", "def f(n):\n    return 2 ** n\n")],
        "Add f",
        "Ana Lima <ana@example.com>",
        "2024-01-10",
    );
    let commit_bytes = |repo: &GitRepo, message: &[u8], config: &[&str]| {
        let file = repo.path().join(".git").join("MSG");
        std::fs::write(&file, message).expect("write");
        let mut args: Vec<&str> = vec!["-c", "user.name=Bo", "-c", "user.email=bo@example.com"];
        args.extend_from_slice(config);
        args.extend_from_slice(&["commit", "-q", "-a", "-F", file.to_str().expect("utf-8")]);
        repo.git(&args);
    };
    // Committed with `i18n.commitEncoding`: the commit says ISO-8859-1 in its header.
    repo.write("m.py", "def f(n):\n    return 2 ** n + 1\n");
    commit_bytes(
        &repo,
        b"Fix caf\xe9 outage: restore f\n",
        &["-c", "i18n.commitEncoding=ISO-8859-1"],
    );
    // The same bytes with no header, as old tools committed them.
    repo.write("m.py", "def f(n):\n    return 2 ** n + 2\n");
    commit_bytes(&repo, b"Tune caf\xe9 menu\n", &[]);

    let r = ok(&repo, "git_log", json!({"limit": 2}));
    let subjects: Vec<&str> = r.data["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["subject"].as_str().unwrap())
        .collect();
    // git re-encodes a commit that names its encoding; one that does not, it prints as raw
    // bytes, which are read here as Windows-1252.
    assert_eq!(
        repo.git(&["log", "--encoding=UTF-8", "--format=%s", "-1", "HEAD~1"]),
        "Fix café outage: restore f"
    );
    assert_eq!(subjects, ["Tune café menu", "Fix café outage: restore f"]);
    let shown = ok(&repo, "git_show", json!({"commit": "HEAD~1"}));
    assert!(shown.text.contains("Fix café outage"), "{}", shown.text);

    // The incident search reads the same text.
    let gix_repo = gix::open_opts(repo.path(), gix::open::Options::isolated()).unwrap();
    let fixes = skillrun::trace::find_fixes(&gix_repo, "the café outage", 3).unwrap();
    assert_eq!(
        fixes.first().map(|f| f.subject.as_str()),
        Some("Fix café outage: restore f"),
        "{fixes:?}"
    );
}

/// A sweep of many files: the text's stat lists the first hundred and says how many more,
/// so the total stays in view; the JSON lists every file.
#[test]
fn git_show_lists_the_first_hundred_files_of_a_sweep() {
    let mut r = GitRepo::new();
    let files: Vec<(String, String)> = (0..130)
        .map(|i| (format!("src/f{i:03}.c"), "int x;\n".to_string()))
        .collect();
    let pairs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let sweep = r.commit(&pairs, "add many files", "A <a@x.io>", "2024-05-01");
    let show = ok(&r, "git_show", json!({"commit": sweep}));
    assert!(
        show.text.contains(
            "src/f099.c | +1 -0\n[... 30 more files; the structured result lists every one ...]\n130 files changed, +130 -0\n"
        ) && !show.text.contains("src/f100.c | "),
        "{}",
        show.text
    );
    assert_eq!(show.data["files"].as_array().map(Vec::len), Some(130));
}

/// A patch applied weeks after it was written: `git_show` gives both days, the commit date
/// only when it is another day.
#[test]
fn git_show_gives_the_commit_date_when_it_is_another_day() {
    let mut r = GitRepo::new();
    let same = r.commit(&[("a", "1\n")], "one", "A <a@x.io>", "2024-05-01");
    let applied = r.commit_applied(
        &[("a", "2\n")],
        "two",
        "A <a@x.io>",
        "2024-05-02",
        "2024-06-20",
    );
    let show = ok(&r, "git_show", json!({"commit": applied}));
    assert!(
        show.text
            .contains("Date:   2024-05-02T12:02:00Z\nCommitted: 2024-06-20T12:02:00Z\n\n"),
        "{}",
        show.text
    );
    assert_eq!(show.data["committed"], json!("2024-06-20T12:02:00Z"));
    let show = ok(&r, "git_show", json!({"commit": same}));
    assert!(!show.text.contains("Committed:"), "{}", show.text);
    assert_eq!(show.data["committed"], json!("2024-05-01T12:01:00Z"));
}

/// A commit written at 01:30 in UTC+02:00 is of the 24th where its author was, and the 23rd
/// in UTC: the tools give the date git gives, in the zone it was written in.
#[test]
fn dates_are_given_in_the_zone_they_were_written_in() {
    let mut r = GitRepo::new();
    r.commit(&[("a", "1\n")], "one", "A <a@x.io>", "2024-05-01");
    r.write("a", "2\n");
    let when = "2024-05-24T01:30:00+02:00";
    let status = std::process::Command::new("git")
        .args(["commit", "-qam", "two"])
        .current_dir(r.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "A")
        .env("GIT_AUTHOR_EMAIL", "a@x.io")
        .env("GIT_AUTHOR_DATE", when)
        .env("GIT_COMMITTER_NAME", "A")
        .env("GIT_COMMITTER_EMAIL", "a@x.io")
        .env("GIT_COMMITTER_DATE", when)
        .status()
        .expect("git commit");
    assert!(status.success());
    r.tag("v1.0");
    assert_eq!(
        r.git(&["log", "-1", "--date=short", "--format=%ad"]).trim(),
        "2024-05-24"
    );
    let log = ok(&r, "git_log", json!({"limit": 1}));
    assert!(log.text.contains(" 2024-05-24 A two"), "{}", log.text);
    assert_eq!(log.data["commits"][0]["date"], json!(when));
    let show = ok(&r, "git_show", json!({"commit": "HEAD"}));
    assert!(
        show.text.contains(&format!("Date:   {when}\n")),
        "{}",
        show.text
    );
    let releases = ok(&r, "git_releases", json!({"commit": "HEAD"}));
    assert_eq!(
        releases.data["first_release"],
        json!({"name": "v1.0", "date": "2024-05-24"})
    );
}
