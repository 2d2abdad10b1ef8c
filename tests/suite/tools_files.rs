//! `search_files`, `read_file` and `scan_postmortems` over real repositories.

use std::path::Path;

use serde_json::{Value, json};
use skillrun::tools::{MAX_FILE_BYTES, Registry, Sandbox, ToolError, ToolResult};

use super::support::GitRepo;

fn call(dir: &Path, tool: &str, args: Value) -> Result<ToolResult, ToolError> {
    let sandbox = Sandbox::open(dir).unwrap();
    Registry::standard().call(&sandbox, tool, args)
}

fn ok(dir: &Path, tool: &str, args: Value) -> ToolResult {
    call(dir, tool, args).unwrap_or_else(|e| panic!("{tool} failed: {e}"))
}

fn err(dir: &Path, tool: &str, args: Value) -> String {
    match call(dir, tool, args) {
        Ok(r) => panic!("{tool} should fail, gave:\n{}", r.text),
        Err(e) => e.to_string(),
    }
}

/// `path:line:text` lines of a search, without the summary line.
fn match_lines(r: &ToolResult) -> Vec<String> {
    r.text
        .lines()
        .filter(|l| !l.contains(" matches in ") && !l.contains(" match in "))
        .map(str::to_string)
        .collect()
}

fn sorted_git_grep(repo: &GitRepo, args: &[&str]) -> Vec<String> {
    let mut full = vec!["grep", "-n"];
    full.extend_from_slice(args);
    let out = std::process::Command::new("git")
        .args(&full)
        .current_dir(repo.path())
        .output()
        .unwrap();
    let mut lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    lines.sort_by(|a, b| {
        let key = |s: &str| {
            let mut it = s.splitn(3, ':');
            let p = it.next().unwrap_or("").to_string();
            let n: u64 = it.next().unwrap_or("0").parse().unwrap_or(0);
            (p, n)
        };
        key(a).cmp(&key(b))
    });
    lines
}

fn code_repo() -> (GitRepo, String) {
    let mut repo = GitRepo::new();
    let first = repo.commit(
        &[
            ("src/main.c", "int main() {\n  return retry(3);\n}\n"),
            (
                "src/retry.c",
                "int retry(int n) {\n  // retry with backoff\n  return n;\n}\n",
            ),
            ("src/a-b/x.c", "int retry_x;\n"),
            ("docs/notes.md", "retry notes\n"),
            (".gitignore", "build/\n*.log\n"),
        ],
        "first",
        "Alice <a@example.com>",
        "2024-01-01",
    );
    repo.commit(
        &[("src/retry.c", "int attempt(int n) {\n  return n;\n}\n")],
        "rename",
        "Alice <a@example.com>",
        "2024-01-02",
    );
    repo.write("build/out.c", "retry in build\n");
    repo.write("debug.log", "retry in log\n");
    repo.write(".hidden/h.c", "retry hidden\n");
    std::fs::write(repo.path().join("src/blob.bin"), b"retry\0\x01\x02binary").unwrap();
    (repo, first)
}

/// A file with CRLF line endings: `$` matches at the end of its lines, as `^` does at their
/// start, in the work tree and at a revision.
#[test]
fn an_end_anchor_matches_lines_that_end_in_crlf() {
    let (repo, _) = code_repo();
    std::fs::write(repo.path().join("win.cfg"), "k=1\r\nj=2\r\n").unwrap();
    let r = ok(repo.path(), "search_files", json!({"pattern": "k=1$"}));
    assert_eq!(r.data["matches"][0]["path"], json!("win.cfg"), "{}", r.text);
    assert_eq!(r.data["matches"][0]["text"], json!("k=1"), "{}", r.text);
    repo.git(&["add", "win.cfg"]);
    repo.git(&[
        "-c",
        "user.name=A",
        "-c",
        "user.email=a@example.com",
        "commit",
        "-qm",
        "cfg",
    ]);
    let r = ok(
        repo.path(),
        "search_files",
        json!({"pattern": "^j=2$", "rev": "HEAD"}),
    );
    assert_eq!(r.data["matches"][0]["path"], json!("win.cfg"), "{}", r.text);
}

#[test]
fn search_matches_git_grep_in_the_work_tree_and_skips_ignored_hidden_binary() {
    let (repo, _) = code_repo();
    let r = ok(repo.path(), "search_files", json!({"pattern": "retry"}));
    let ours = match_lines(&r);
    assert_eq!(ours, sorted_git_grep(&repo, &["retry"]), "{}", r.text);
    assert!(
        !r.text.contains("build/") && !r.text.contains("debug.log") && !r.text.contains(".hidden")
    );
    assert!(!r.text.contains("blob.bin"), "{}", r.text);
    assert!(
        r.text
            .trim_end()
            .ends_with(&format!("{} matches in 3 files", ours.len())),
        "{}",
        r.text
    );
    assert_eq!(r.data["truncated"], json!(false));
    assert_eq!(r.data["matches"].as_array().unwrap().len(), ours.len());
    assert_eq!(r.data["matches"][0]["path"], json!("docs/notes.md"));
    assert!(r.commit.is_none());
}

#[test]
fn search_at_a_revision_reads_that_tree() {
    let (repo, first) = code_repo();
    let r = ok(
        repo.path(),
        "search_files",
        json!({"pattern": "retry", "rev": first}),
    );
    assert_eq!(
        match_lines(&r),
        sorted_git_grep(&repo, &["retry", &first])
            .iter()
            .map(|l| l[first.len() + 1..].to_string())
            .collect::<Vec<_>>()
    );
    assert!(
        r.text.contains("src/retry.c:2:  // retry with backoff"),
        "{}",
        r.text
    );
    assert_eq!(r.commit.as_deref(), Some(first.as_str()));
    let head = ok(
        repo.path(),
        "search_files",
        json!({"pattern": "backoff", "rev": "HEAD"}),
    );
    assert!(head.text.starts_with("0 matches"), "{}", head.text);
}

#[test]
fn search_glob_limit_and_argument_errors() {
    let (repo, _) = code_repo();
    let r = ok(
        repo.path(),
        "search_files",
        json!({"pattern": "retry", "glob": "src/*.c"}),
    );
    assert_eq!(
        match_lines(&r),
        sorted_git_grep(&repo, &["retry", "--", "src/*.c"])
            .into_iter()
            .filter(|l| !l.starts_with("src/a-b/"))
            .collect::<Vec<_>>()
    );
    let md = ok(
        repo.path(),
        "search_files",
        json!({"pattern": "retry", "glob": "*.md"}),
    );
    assert_eq!(
        match_lines(&md),
        vec!["docs/notes.md:1:retry notes".to_string()]
    );

    let r = ok(
        repo.path(),
        "search_files",
        json!({"pattern": "retry", "limit": 1}),
    );
    assert_eq!(match_lines(&r).len(), 1);
    assert!(
        r.text
            .contains("(limit reached: narrow the pattern or glob)"),
        "{}",
        r.text
    );
    assert_eq!(r.data["truncated"], json!(true));

    let e = err(repo.path(), "search_files", json!({"pattern": "(retry"}));
    assert!(
        e.starts_with("invalid regular expression:") && e.contains("unclosed group"),
        "{e}"
    );
    assert!(!e.contains('\n'), "{e}");
    let e = err(
        repo.path(),
        "search_files",
        json!({"pattern": "x", "glob": "src/[a"}),
    );
    assert!(e.contains("`glob`"), "{e}");
}

#[test]
fn search_survives_a_non_utf8_file_name() {
    use std::os::unix::ffi::OsStrExt;
    let (repo, _) = code_repo();
    let name = std::ffi::OsStr::from_bytes(b"src/bad\xff\xfename.c");
    std::fs::write(repo.path().join(name), "retry odd\n").unwrap();
    let r = ok(repo.path(), "search_files", json!({"pattern": "retry odd"}));
    assert_eq!(match_lines(&r).len(), 1, "{}", r.text);
    assert!(r.text.contains(":1:retry odd"), "{}", r.text);
}

#[test]
fn read_file_ranges_and_revisions() {
    let (repo, first) = code_repo();
    let r = ok(repo.path(), "read_file", json!({"path": "src/retry.c"}));
    assert!(
        r.text.starts_with("src/retry.c (lines 1-3 of 3)\n"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("1| int attempt(int n) {\n2|   return n;\n3| }\n"),
        "{}",
        r.text
    );
    assert_eq!(r.data["total_lines"], json!(3));
    assert_eq!(r.data["rev"], Value::Null);

    let r = ok(
        repo.path(),
        "read_file",
        json!({"path": "src/retry.c", "rev": first, "start_line": 2, "end_line": 3}),
    );
    assert!(
        r.text.starts_with("src/retry.c (lines 2-3 of 4)"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .contains("2|   // retry with backoff\n3|   return n;\n"),
        "{}",
        r.text
    );
    assert_eq!(r.data["rev"], json!(first));
    assert_eq!(r.commit.as_deref(), Some(first.as_str()));
    assert_eq!(
        r.data["text"],
        json!("  // retry with backoff\n  return n;\n")
    );

    let e = err(
        repo.path(),
        "read_file",
        json!({"path": "src/retry.c", "start_line": 0}),
    );
    assert!(e.contains("`start_line`"), "{e}");
    let e = err(
        repo.path(),
        "read_file",
        json!({"path": "src/retry.c", "start_line": 3, "end_line": 2}),
    );
    assert!(e.contains("`end_line`"), "{e}");
    let e = err(
        repo.path(),
        "read_file",
        json!({"path": "src/retry.c", "start_line": 9}),
    );
    assert!(e.contains("`start_line`") && e.contains("3 lines"), "{e}");
    let e = err(repo.path(), "read_file", json!({"path": "src"}));
    assert!(
        e.contains("is a folder") && e.contains("retry.c") && e.contains("a-b/"),
        "{e}"
    );
    let e = err(
        repo.path(),
        "read_file",
        json!({"path": "src", "rev": "HEAD"}),
    );
    assert!(e.contains("is a folder") && e.contains("retry.c"), "{e}");
    let e = err(
        repo.path(),
        "read_file",
        json!({"path": "nope.c", "rev": "HEAD"}),
    );
    assert!(e.contains("does not exist"), "{e}");
}

#[test]
fn read_file_refuses_big_binary_and_escaping_paths() {
    let (repo, _) = code_repo();
    let big = vec![b'a'; MAX_FILE_BYTES as usize + 1];
    std::fs::write(repo.path().join("big.txt"), &big).unwrap();
    let e = err(repo.path(), "read_file", json!({"path": "big.txt"}));
    assert!(e.contains("over the") && e.contains("limit"), "{e}");
    assert!(e.contains("git_log with this `path`"), "{e}");
    // search_files does not read it either, and says so rather than reporting no match.
    let r = ok(repo.path(), "search_files", json!({"pattern": "aaa"}));
    assert!(
        r.text.contains("Not searched, over 8 MiB: big.txt."),
        "{}",
        r.text
    );
    assert_eq!(r.data["not_searched_too_large"], json!(["big.txt"]));
    let r = ok(
        repo.path(),
        "search_files",
        json!({"pattern": "aaa", "glob": "*.c"}),
    );
    assert!(!r.text.contains("Not searched"), "{}", r.text);
    let e = err(repo.path(), "read_file", json!({"path": "src/blob.bin"}));
    assert!(e.contains("binary"), "{e}");

    std::fs::write(repo.path().join("latin1.txt"), b"caf\xe9\nok\n").unwrap();
    let r = ok(repo.path(), "read_file", json!({"path": "latin1.txt"}));
    assert!(
        r.text.contains("not valid UTF-8") && r.text.contains("1| caf\u{FFFD}"),
        "{}",
        r.text
    );

    std::os::unix::fs::symlink("/etc/passwd", repo.path().join("passwd")).unwrap();
    let e = err(repo.path(), "read_file", json!({"path": "passwd"}));
    assert!(e.contains("refused") && e.contains("outside"), "{e}");
    std::os::unix::fs::symlink("/etc", repo.path().join("etc")).unwrap();
    let e = err(repo.path(), "read_file", json!({"path": "etc/hostname"}));
    assert!(e.contains("refused"), "{e}");
    let e = err(repo.path(), "read_file", json!({"path": ".git/config"}));
    assert!(e.contains("refused"), "{e}");
    let e = err(repo.path(), "read_file", json!({"path": "../x"}));
    assert!(e.contains("refused"), "{e}");
    // Search does not follow the symlinked folder out of the root either.
    let r = ok(repo.path(), "search_files", json!({"pattern": "root"}));
    assert!(
        !r.text.contains("etc/") && !r.text.contains("passwd"),
        "{}",
        r.text
    );
}

#[test]
fn read_file_in_a_bare_repo_and_a_plain_folder() {
    let (repo, first) = code_repo();
    let parent = tempfile::tempdir().unwrap();
    let bare = parent.path().join("bare.git");
    repo.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let r = ok(&bare, "read_file", json!({"path": "src/retry.c"}));
    assert!(r.text.contains("attempt"), "{}", r.text);
    assert!(r.commit.is_some());
    let r = ok(
        &bare,
        "read_file",
        json!({"path": "src/retry.c", "rev": first}),
    );
    assert!(r.text.contains("backoff"), "{}", r.text);
    let r = ok(&bare, "search_files", json!({"pattern": "attempt"}));
    assert_eq!(
        match_lines(&r),
        vec!["src/retry.c:1:int attempt(int n) {".to_string()]
    );

    let plain = tempfile::tempdir().unwrap();
    std::fs::write(plain.path().join("a.txt"), "hello\n").unwrap();
    let r = ok(plain.path(), "read_file", json!({"path": "a.txt"}));
    assert!(r.text.contains("1| hello"), "{}", r.text);
    let e = err(
        plain.path(),
        "read_file",
        json!({"path": "a.txt", "rev": "HEAD"}),
    );
    assert!(e.contains("`rev` needs a git repository"), "{e}");
    let r = ok(plain.path(), "search_files", json!({"pattern": "hel+o"}));
    assert_eq!(match_lines(&r), vec!["a.txt:1:hello".to_string()]);
}

#[test]
fn read_file_symlink_and_submodule_entries_at_a_revision() {
    let mut other = GitRepo::new();
    other.commit(
        &[("lib.c", "int lib;\n")],
        "lib",
        "Bob <b@example.com>",
        "2024-01-01",
    );
    let mut repo = GitRepo::new();
    repo.commit(
        &[("a.txt", "a\n")],
        "a",
        "Bob <b@example.com>",
        "2024-01-01",
    );
    std::os::unix::fs::symlink("a.txt", repo.path().join("link")).unwrap();
    repo.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        other.path().to_str().unwrap(),
        "sub",
    ]);
    repo.commit(&[], "link and sub", "Bob <b@example.com>", "2024-01-02");
    let r = ok(
        repo.path(),
        "read_file",
        json!({"path": "link", "rev": "HEAD"}),
    );
    assert!(
        r.text.contains("symlink") && r.text.contains("1| a.txt"),
        "{}",
        r.text
    );
    let e = err(
        repo.path(),
        "read_file",
        json!({"path": "sub", "rev": "HEAD"}),
    );
    assert!(e.contains("is a submodule"), "{e}");
    let r = ok(
        repo.path(),
        "search_files",
        json!({"pattern": "lib", "rev": "HEAD"}),
    );
    assert!(r.text.starts_with("0 matches"), "{}", r.text);
}

fn postmortem_repo() -> (GitRepo, String, String) {
    let mut repo = GitRepo::new();
    let bug = repo.commit(
        &[("src/payments/retry.rs", "fn backoff() {}\n")],
        "Optimize payment retry",
        "Bob <b@example.com>",
        "2024-12-03",
    );
    let other = repo.commit(
        &[("src/cache/lru.rs", "fn evict() {}\n")],
        "Cache tweak",
        "Bob <b@example.com>",
        "2024-12-04",
    );
    let retry_doc = format!(
        "---\ndate: 2024-12-05\n---\n# Payment Retry Storm\n\nCaused by {} in `src/payments/retry.rs`.\nSee [code](../../src/payments/retry.rs) and `src/missing.rs`.\n",
        &bug[..7]
    );
    let cache_doc = format!(
        "# Cache eviction storm during checkout\n\nCommit {} changed eviction; payment checkout latency rose, storm of retries in checkout.\n",
        &other[..10]
    );
    repo.commit(
        &[
            ("docs/postmortems/retry.md", &retry_doc),
            ("incidents/2024-12-06-cache.md", &cache_doc),
            ("incidents/README.md", "# How we write incidents\n"),
        ],
        "postmortems",
        "Bob <b@example.com>",
        "2024-12-07",
    );
    (repo, bug, other)
}

#[test]
fn scan_postmortems_lists_folders_titles_dates_and_citations() {
    let (repo, bug, other) = postmortem_repo();
    let r = ok(repo.path(), "scan_postmortems", json!({}));
    assert_eq!(
        r.data["folders"],
        json!(["docs/postmortems", "incidents"]),
        "{}",
        r.text
    );
    let docs = r.data["documents"].as_array().unwrap();
    assert_eq!(docs.len(), 2, "{}", r.text);
    assert_eq!(docs[0]["path"], json!("docs/postmortems/retry.md"));
    assert_eq!(docs[0]["title"], json!("Payment Retry Storm"));
    assert_eq!(docs[0]["date"], json!("2024-12-05"));
    assert_eq!(docs[0]["commits"], json!([bug]));
    assert_eq!(docs[0]["files"], json!(["src/payments/retry.rs"]));
    assert_eq!(
        docs[1]["title"],
        json!("Cache eviction storm during checkout")
    );
    assert_eq!(docs[1]["date"], json!("2024-12-06"));
    assert_eq!(docs[1]["commits"], json!([other]));
    assert!(
        r.text
            .contains("docs/postmortems/retry.md — Payment Retry Storm (2024-12-05)"),
        "{}",
        r.text
    );
    assert!(r.text.contains("cites: commits"), "{}", r.text);
    assert!(docs[0].get("score").is_none());

    // The same from a bare clone (HEAD's tree).
    let parent = tempfile::tempdir().unwrap();
    let bare = parent.path().join("bare.git");
    repo.git(&["clone", "-q", "--bare", ".", bare.to_str().unwrap()]);
    let b = ok(&bare, "scan_postmortems", json!({}));
    assert_eq!(b.data["folders"], r.data["folders"]);
    assert_eq!(b.data["documents"], r.data["documents"]);
}

#[test]
fn scan_postmortems_ranks_a_shared_commit_above_word_overlap() {
    let (repo, bug, _) = postmortem_repo();
    // Words match the cache document best; the sha is the retry document's.
    let query = format!(
        "checkout storm eviction latency payment, maybe {}",
        &bug[..9]
    );
    let r = ok(repo.path(), "scan_postmortems", json!({"query": query}));
    let docs = r.data["documents"].as_array().unwrap();
    assert_eq!(
        docs[0]["path"],
        json!("docs/postmortems/retry.md"),
        "{}",
        r.text
    );
    assert!(docs[0]["score"].as_f64().unwrap() > docs[1]["score"].as_f64().unwrap());
    assert!(docs[1]["score"].as_f64().unwrap() > 0.0);
    assert!(r.text.contains("because cites commit"), "{}", r.text);

    let r = ok(
        repo.path(),
        "scan_postmortems",
        json!({"query": "checkout eviction"}),
    );
    let docs = r.data["documents"].as_array().unwrap();
    assert_eq!(
        docs[0]["path"],
        json!("incidents/2024-12-06-cache.md"),
        "{}",
        r.text
    );
    assert_eq!(docs[1]["score"], json!(0.0));
    let r = ok(
        repo.path(),
        "scan_postmortems",
        json!({"query": "why src/payments/retry.rs"}),
    );
    assert_eq!(
        r.data["documents"][0]["path"],
        json!("docs/postmortems/retry.md"),
        "{}",
        r.text
    );
}

#[test]
fn scan_postmortems_without_a_folder_says_so() {
    let (repo, _) = code_repo();
    let r = ok(repo.path(), "scan_postmortems", json!({"query": "retry"}));
    assert!(
        r.text
            .starts_with("No postmortem folder found. Checked: docs/postmortems/"),
        "{}",
        r.text
    );
    assert_eq!(r.data["folders"], json!([]));
    let plain = tempfile::tempdir().unwrap();
    let r = ok(plain.path(), "scan_postmortems", json!({}));
    assert!(
        r.text.starts_with("No postmortem folder found."),
        "{}",
        r.text
    );
}

#[test]
fn scan_postmortems_finds_reports_kept_outside_a_named_folder() {
    let mut repo = GitRepo::new();
    let bug = repo.commit(
        &[("src/node.rs", "pub fn sync() {}\n")],
        "Add block sync",
        "A <a@example.com>",
        "2021-05-01",
    );
    let short = &bug[..10];
    repo.commit(
        &[
            ("README.md", "# Node\n\n## Outage handling\n\nRestart it.\n"),
            (
                "CHANGELOG.md",
                "# Changelog\n\n## 1.2\n\n### Outage\n\n- Fixed the root cause of a crash.\n",
            ),
            (
                "reports/2021/mainnet-halt.md",
                &format!("# Mainnet halt: post-mortem\n\n{short} stopped block sync.\n"),
            ),
            (
                "ops/db-failover.md",
                "# Database failover\n\n## Impact\n\nWrites failed.\n\n## Root Cause\n\nA timeout.\n",
            ),
            ("2022-05-01-outage.md", "# Outage on 2022-05-01\n\nThe API was down.\n"),
            ("notes/design.md", "# Design\n\n## Root cause of slowness\n\nNone.\n"),
        ],
        "Add reports",
        "A <a@example.com>",
        "2022-06-01",
    );
    let r = ok(
        repo.path(),
        "scan_postmortems",
        json!({"query": "mainnet halt"}),
    );
    assert_eq!(
        r.data["folders"],
        json!([".", "ops", "reports/2021"]),
        "{}",
        r.text
    );
    let paths: Vec<&str> = r.data["documents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths[0], "reports/2021/mainnet-halt.md", "{}", r.text);
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "2022-05-01-outage.md",
            "ops/db-failover.md",
            "reports/2021/mainnet-halt.md"
        ]
    );
    assert_eq!(
        r.data["documents"][0]["commits"],
        json!([bug]),
        "{}",
        r.text
    );
}

#[test]
fn read_file_without_end_line_stops_before_the_cut_and_says_how_to_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let long: String = (1..=2000).map(|i| format!("line number {i}\n")).collect();
    std::fs::write(dir.path().join("long.txt"), long).unwrap();
    let r = ok(dir.path(), "read_file", json!({"path": "long.txt"}));
    assert_eq!(r.omitted_lines, 0, "{}", r.text);
    let end = r.data["end_line"].as_u64().unwrap();
    assert!(end > 100 && end < 2000, "{end}");
    assert!(
        r.text
            .contains(&format!("continue with start_line={}", end + 1)),
        "{}",
        r.text
    );
    let r = ok(
        dir.path(),
        "read_file",
        json!({"path": "long.txt", "start_line": 1999}),
    );
    assert!(
        r.text.starts_with("long.txt (lines 1999-2000 of 2000)\n"),
        "{}",
        r.text
    );
    assert!(
        r.text
            .ends_with("1999| line number 1999\n2000| line number 2000\n"),
        "{}",
        r.text
    );
}
