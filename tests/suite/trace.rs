//! Regression tracing (`skillrun::trace`) and the `trace_regression` tool, on real git
//! repositories: the hard cases by hand, and a small `make-bench-repo` history with its
//! oracle.

use std::path::Path;
use std::process::Command;

use predicates::prelude::*;
use serde_json::{Value, json};
use skillrun::tools::{Registry, Sandbox, ToolError};
use skillrun::trace::{Candidate, Trace, TraceOptions, find_fixes, trace};

use super::support::GitRepo;

const ANA: &str = "Ana Dev <ana@example.com>";
const BO: &str = "Bo Dev <bo@example.com>";

fn open(dir: &Path) -> gix::Repository {
    gix::open_opts(dir, gix::open::Options::isolated()).unwrap()
}

fn run(dir: &Path, fix: &str, ignore_trailers: bool) -> Trace {
    let opts = TraceOptions {
        ignore_trailers,
        ..TraceOptions::default()
    };
    trace(&open(dir), fix, &opts).unwrap()
}

fn best(t: &Trace) -> &str {
    t.candidates
        .first()
        .map(|c| c.commit.as_str())
        .unwrap_or_else(|| panic!("no candidates: {t:#?}"))
}

/// Whether a candidate's evidence has a line containing `what`.
fn says(c: &Candidate, what: &str) -> bool {
    c.evidence.iter().any(|e| e.contains(what))
}

/// A C file with a few functions; `limit` is the body line the cause changes.
fn server_c(limit: &str, extra: &str) -> String {
    format!(
        "#include \"server.h\"\n\
         \n\
         static int queue_len(struct server *s)\n\
         {{\n\
         \treturn s->queued;\n\
         }}\n\
         \n\
         int accept_conn(struct server *s, int fd)\n\
         {{\n\
         \tstruct conn *c = conn_new(fd);\n\
         {limit}\
         \tlist_add(&s->conns, &c->node);\n\
         \ts->queued++;\n\
         \treturn 0;\n\
         }}\n\
         \n\
         void drop_conn(struct server *s, struct conn *c)\n\
         {{\n\
         \tlist_del(&c->node);\n\
         \tconn_free(c);\n\
         {extra}\
         }}\n"
    )
}

/// Commit `server_c(limit, extra)` as `src/server.c`; its sha.
fn server_commit(
    r: &mut GitRepo,
    limit: &str,
    extra: &str,
    message: &str,
    author: &str,
    date: &str,
) -> String {
    r.commit(
        &[("src/server.c", &server_c(limit, extra))],
        message,
        author,
        date,
    )
}

/// A server whose accept limit a second commit tightened (128 to 12): the repository and
/// that commit, the cause a fix restoring the limit is traced to.
fn tightened_limit_repo() -> (GitRepo, String) {
    let mut r = GitRepo::new();
    server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "",
        "server: tighten the accept limit",
        BO,
        "2024-02-01",
    );
    (r, cause)
}

/// A repository whose first commit adds `server_c("", "")`.
fn server_repo() -> GitRepo {
    let mut r = GitRepo::new();
    server_commit(
        &mut r,
        "",
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    r
}

#[test]
fn changed_line_is_blamed_to_its_commit() {
    let mut r = GitRepo::new();
    server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "",
        "server: tighten the accept queue",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[("README.md", "docs\n")],
        "docs: readme",
        ANA,
        "2024-02-10",
    );
    let fix = server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: restore the accept queue length\n\nFixes: 0000000000 (\"bogus\")\n",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert_eq!(t.fix, fix);
    assert_eq!(t.fix_subject, "server: restore the accept queue length");
    let c = &t.candidates[0];
    assert_eq!(c.subject, "server: tighten the accept queue");
    assert_eq!(c.date, "2024-02-01");
    assert_eq!(c.short.len(), 12);
    assert!(says(c, "changed line"), "{c:?}");
}

#[test]
fn removing_an_extra_blank_line_is_traced_to_the_commit_that_added_it() {
    let mut r = GitRepo::new();
    server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n\n\n",
        "\tlog_drop(c);\n",
        "server: log dropped connections",
        BO,
        "2024-02-01",
    );
    let fix = server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n\n",
        "\tlog_drop(c);\n",
        "server: remove an extra blank line",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
}

#[test]
fn a_fix_that_also_adds_its_author_to_the_mailmap_is_traced_through_its_code() {
    let mailmap = |extra: &str| {
        let mut m: String = (0..12)
            .map(|i| format!("Dev {i:02} <dev{i:02}@example.com>\n"))
            .collect();
        m.insert_str(m.len() / 2, extra);
        m
    };
    let (mut r, cause) = tightened_limit_repo();
    let list = r.commit(
        &[(".mailmap", &mailmap(""))],
        "mailmap: add list of contributors",
        BO,
        "2024-03-01",
    );
    // The fix restores the limit and, as many projects ask, adds its author to `.mailmap`:
    // the lines around that insertion say nothing about the bug.
    let fix = r.commit(
        &[
            (
                "src/server.c",
                &server_c("\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n", ""),
            ),
            (".mailmap", &mailmap("New Dev <new@example.com>\n")),
        ],
        "server: restore the accept limit",
        "New Dev <new@example.com>",
        "2024-04-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(t.candidates.iter().all(|c| c.commit != list), "{t:#?}");
}

#[test]
fn a_fix_that_also_updates_lock_files_and_translations_is_traced_through_its_code() {
    let lock = |v: u32| -> String {
        (0..10)
            .map(|i| format!("[[package]]\nname = \"dep{i}\"\nversion = \"1.{v}.{i}\"\n\n"))
            .collect()
    };
    let po = |v: &str| format!("msgid \"busy\"\nmsgstr \"besetzt{v}\"\n");
    let (mut r, cause) = tightened_limit_repo();
    let bump = r.commit(
        &[("Cargo.lock", &lock(1)), ("po/de.po", &po(""))],
        "Update dependencies and translations",
        BO,
        "2024-03-01",
    );
    // The fix restores the limit; the same commit refreshes the lock file and a
    // translation, whose old lines are the tools' output, not the bug.
    let fix = r.commit(
        &[
            (
                "src/server.c",
                &server_c("\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n", ""),
            ),
            ("Cargo.lock", &lock(2)),
            ("po/de.po", &po("!")),
        ],
        "server: restore the accept limit",
        ANA,
        "2024-04-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(t.candidates.iter().all(|c| c.commit != bump), "{t:#?}");
}

#[test]
fn add_only_fix_is_traced_through_its_context() {
    let mut r = server_repo();
    // The cause: a rewrite of drop_conn that forgets to update the queue count.
    let cause = server_commit(
        &mut r,
        "",
        "\tstats_note_drop(s->stats, c->fd);\n\tmetrics_emit(s, \"drop\");\n",
        "server: report dropped connections",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[("src/other.c", "int other(void) { return 1; }\n")],
        "other: add",
        ANA,
        "2024-02-05",
    );
    let fix = server_commit(
        &mut r,
        "",
        "\tstats_note_drop(s->stats, c->fd);\n\ts->queued--;\n\tmetrics_emit(s, \"drop\");\n",
        "server: decrement the queue when a connection drops",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(says(&t.candidates[0], "context line"), "{t:#?}");
}

/// `src/tool.c` with the options `opts` (one table entry and one help line each).
fn tool_c(opts: &[&str]) -> String {
    let table: String = opts
        .iter()
        .map(|o| format!("\t{{\"{o}\", no_argument, 0, 0}},\n"))
        .collect();
    let help: String = opts.iter().map(|o| format!("\t\"  --{o}\\n\"\n")).collect();
    format!(
        "#include <getopt.h>\n\
         \n\
         static const struct option options[] = {{\n\
         {table}\
         \t{{NULL, 0, 0, 0}},\n\
         }};\n\
         \n\
         static const char usage[] =\n\
         {help}\
         \t\"\";\n"
    )
}

#[test]
fn a_fix_that_documents_an_option_is_traced_to_the_change_that_added_it() {
    let mut r = GitRepo::new();
    let page = ".TH TOOL 8\n.SH OPTIONS\n.TP\n\\fB\\-\\-verbose\\fR\nSay more.\n.SH EXIT STATUS\nZero on success.\n";
    r.commit(
        &[("src/tool.c", &tool_c(&["verbose"])), ("man/tool.8", page)],
        "tool: add the verbose option",
        ANA,
        "2024-01-01",
    );
    // The cause: a new option that the manual page never got.
    let cause = r.commit(
        &[("src/tool.c", &tool_c(&["verbose", "dry-run"]))],
        "tool: add a dry run",
        BO,
        "2024-02-01",
    );
    let page_v2 = page.replace("Zero on success.", "Zero on success, 1 on a bad option.");
    r.commit(
        &[("man/tool.8", &page_v2)],
        "man: tool.8: describe the exit status",
        ANA,
        "2024-02-10",
    );
    let documented = page_v2.replace(
        "Say more.\n",
        "Say more.\n.TP\n\\fB\\-\\-dry\\-run\\fR\nChange nothing.\n",
    );
    let fix = r.commit(
        &[("man/tool.8", &documented)],
        "man: tool.8: document the dry run option",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(
        says(
            &t.candidates[0],
            "brought `dry-run`, which the fix documents"
        ),
        "{t:#?}"
    );

    // A page fix that rewrites a line it had is not documenting something new.
    let reworded = documented.replace(
        "Change nothing.",
        "Change nothing; print what would change.",
    );
    let fix2 = r.commit(
        &[("man/tool.8", &reworded)],
        "man: tool.8: say what a dry run prints",
        ANA,
        "2024-03-05",
    );
    let t = run(r.path(), &fix2, true);
    assert_eq!(best(&t), fix, "{t:#?}");
    assert!(
        t.candidates
            .iter()
            .all(|c| !says(c, "which the fix documents")),
        "{t:#?}"
    );
}

#[test]
fn a_fix_that_exports_a_function_is_traced_to_the_change_that_added_it() {
    let mut r = GitRepo::new();
    let map = "LIBQ_1.0 {\n\tglobal:\n\t\tq_open;\n\tlocal: *;\n};\n";
    let lib_v1 = "int q_open(void)\n{\n\treturn 0;\n}\n";
    r.commit(
        &[("src/libq.map", map), ("src/lib/q.c", lib_v1)],
        "libq: the first version",
        ANA,
        "2024-01-01",
    );
    // The cause: a new library function, declared and defined, that the version script
    // never exported.
    let lib_v2 = format!("{lib_v1}\nint q_close_all(int flags)\n{{\n\treturn flags;\n}}\n");
    let cause = r.commit(
        &[
            ("src/lib/q.c", &lib_v2),
            (
                "src/include/q.h",
                "int q_open(void);\nint q_close_all(int flags);\n",
            ),
        ],
        "libq: close every queue at once",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[("src/lib/q.c", &lib_v2.replace("return 0;", "return 1;"))],
        "libq: open reports success as 1",
        ANA,
        "2024-02-10",
    );
    let fix = r.commit(
        &[(
            "src/libq.map",
            &map.replace("q_open;\n", "q_open;\n\t\tq_close_all;\n"),
        )],
        "libq: export the close call",
        ANA,
        "2024-03-01",
    );
    // Blame of the version script's lines around the new one gives the first version.
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(
        says(
            &t.candidates[0],
            "brought `q_close_all`, which the fix exports"
        ),
        "{t:#?}"
    );
}

#[test]
fn the_change_to_the_signature_of_the_function_a_fix_changes_is_a_candidate() {
    let keys = |head: &str| {
        format!(
            "#include <errno.h>\n\nint {head}\n{{\n\tlong key = search(type);\n\n\
             \tif (key < 0)\n\t\treturn -errno;\n\treturn key;\n}}\n"
        )
    };
    let mut r = GitRepo::new();
    let first = r.commit(
        &[("src/keys.c", &keys("lookup_key(const char *type)"))],
        "keys: look keys up",
        ANA,
        "2024-01-01",
    );
    // The cause: the key now goes out through `keyp`, but the body still returns it.
    let cause = r.commit(
        &[(
            "src/keys.c",
            &keys("lookup_key(const char *type, long *keyp)"),
        )],
        "keys: return errors only",
        BO,
        "2024-02-01",
    );
    let fixed = keys("lookup_key(const char *type, long *keyp)")
        .replace("\treturn key;\n", "\t*keyp = key;\n\treturn 0;\n");
    let fix = r.commit(
        &[("src/keys.c", &fixed)],
        "keys: hand the key back through keyp",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(
        best(&t),
        first,
        "the changed line is the first commit's: {t:#?}"
    );
    let c = t.candidates.iter().find(|c| c.commit == cause);
    assert!(
        c.is_some_and(|c| says(c, "head of the function the fix changes")),
        "{t:#?}"
    );
}

#[test]
fn cause_in_another_file_is_found_from_the_message() {
    let mut r = GitRepo::new();
    let config_v1 = "#include \"config.h\"\n\nlong parse_limit(const char *s)\n{\n\tlong v = strtol(s, NULL, 10);\n\treturn v > 0 ? v : 128;\n}\n";
    r.commit(
        &[
            ("src/config.c", config_v1),
            ("src/server.c", &server_c("", "")),
        ],
        "initial import",
        ANA,
        "2024-01-01",
    );
    let config_v2 = "#include \"config.h\"\n\nlong parse_limit(const char *s)\n{\n\tlong v = strtol(s, NULL, 10);\n\treturn v;\n}\n";
    let cause = r.commit(
        &[("src/config.c", config_v2)],
        "config: stop defaulting the limit",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[("src/util.c", "int util(void) { return 0; }\n")],
        "util: add",
        ANA,
        "2024-02-03",
    );
    let fix = server_commit(
        &mut r,
        "\tif (s->limit <= 0)\n\t\ts->limit = 128;\n",
        "",
        "server: guard against a zero limit\n\nparse_limit() returns 0 for an empty setting now, and the\naccept path trusted it.\n",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(
        t.candidates[0]
            .evidence
            .iter()
            .any(|e| e.contains("parse_limit") && e.contains("another file")),
        "{t:#?}"
    );
}

/// A queue whose header has a slot-size helper and whose code calls it, or not.
fn queue_files(calls_helper: bool) -> [(&'static str, String); 2] {
    let size = if calls_helper {
        "queue_slot_size()"
    } else {
        "cfg->slot_size"
    };
    [
        (
            "src/queue.h",
            "#include <stddef.h>\n\nstatic inline size_t queue_slot_size(void)\n{\n\treturn 16;\n}\n\nint queue_init(struct queue *q, const struct cfg *cfg);\n".to_string(),
        ),
        (
            "src/queue.c",
            format!("#include \"queue.h\"\n\nint queue_init(struct queue *q, const struct cfg *cfg)\n{{\n\tq->slot = {size};\n\treturn 0;\n}}\n"),
        ),
    ]
}

#[test]
fn a_fix_that_removes_an_unused_helper_is_traced_to_the_change_that_took_its_last_use() {
    let mut r = GitRepo::new();
    let files = queue_files(true);
    let added = r.commit(
        &[(files[0].0, &files[0].1), (files[1].0, &files[1].1)],
        "queue: add the slot queue",
        ANA,
        "2024-01-01",
    );
    let files = queue_files(false);
    let cause = r.commit(
        &[(files[1].0, &files[1].1)],
        "queue: size slots from the config",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[("src/util.c", "int util(void) { return 0; }\n")],
        "util: add",
        ANA,
        "2024-02-03",
    );
    let header = "#include <stddef.h>\n\nint queue_init(struct queue *q, const struct cfg *cfg);\n";
    let fix = r.commit(
        &[("src/queue.h", header)],
        "queue: remove the unused slot size helper",
        ANA,
        "2024-03-01",
    );
    // Blame of the deleted lines gives the commit that wrote the helper; the one that took
    // its last call out is what left it unused.
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(
        says(&t.candidates[0], "took out uses of `queue_slot_size`"),
        "{t:#?}"
    );
    assert!(t.candidates.iter().any(|c| c.commit == added), "{t:#?}");

    // A helper that was never called: the commit that added it is the cause, even where a
    // helper of that name was called and taken out long before it was written again.
    let mut r = GitRepo::new();
    let files = queue_files(true);
    r.commit(
        &[(files[0].0, &files[0].1), (files[1].0, &files[1].1)],
        "queue: add the slot queue",
        ANA,
        "2023-06-01",
    );
    let files = queue_files(false);
    r.commit(
        &[(files[1].0, &files[1].1), ("src/queue.h", header)],
        "queue: size slots from the config",
        BO,
        "2023-07-01",
    );
    let added = r.commit(
        &[(files[0].0, &files[0].1)],
        "queue: add a header",
        BO,
        "2024-02-01",
    );
    let fix = r.commit(
        &[("src/queue.h", header)],
        "queue: remove the unused slot size helper",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), added, "{t:#?}");
    assert!(
        !t.candidates.iter().any(|c| says(c, "took out uses")),
        "{t:#?}"
    );
}

/// An extension file whose `parse` sets `err` (and reads it, or not), with a `retry` label
/// that a `goto` uses, or not.
fn ext_ip6(reads_err: bool, has_err: bool, jumps: bool) -> String {
    let decl = if has_err { "\tint err;\n" } else { "" };
    let call = if has_err {
        "\terr = lookup(s);\n"
    } else {
        "\tlookup(s);\n"
    };
    let check = if reads_err {
        "\tif (err)\n\t\treturn -1;\n"
    } else {
        ""
    };
    let jump = if jumps {
        "\tif (busy(s))\n\t\tgoto retry;\n"
    } else {
        ""
    };
    format!("int parse(const char *s)\n{{\n{decl}retry:\n{call}{check}{jump}\treturn 0;\n}}\n")
}

#[test]
fn a_local_name_left_unused_is_traced_in_its_own_file() {
    // `err` is set and never read from the start. A later commit deletes another file of
    // the folder that used an `err` of its own; that did not leave this one unused.
    let mut r = GitRepo::new();
    let other = "int mangle(const char *s)\n{\n\tint err;\n\n\terr = lookup(s);\n\tif (err != 0)\n\t\treturn err;\n\treturn 0;\n}\n";
    let tcp = "int tcp(const char *s)\n{\n\tint err = lookup(s);\n\n\treturn err;\n}\n";
    let added = r.commit(
        &[
            ("ext/ip6.c", &ext_ip6(false, true, true)),
            ("ext/mangle.c", other),
            ("ext/tcp.c", tcp),
        ],
        "ext: add the ip6 match",
        ANA,
        "2024-01-01",
    );
    std::fs::remove_file(r.path().join("ext/mangle.c")).expect("remove");
    r.commit(&[], "ext: drop the mangle extension", BO, "2024-02-01");
    let fix = r.commit(
        &[("ext/ip6.c", &ext_ip6(false, false, true))],
        "ext: ip6: drop unused variables",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), added, "{t:#?}");
    assert!(
        !t.candidates.iter().any(|c| says(c, "took out uses")),
        "{t:#?}"
    );

    // A `retry` label whose last `goto` a later commit took out of the same file is still
    // traced to that commit, though the folder's other files have labels of that name.
    let mut r = GitRepo::new();
    let other =
        "int tcp(const char *s)\n{\nretry:\n\tif (busy(s))\n\t\tgoto retry;\n\treturn 0;\n}\n";
    r.commit(
        &[
            ("ext/ip6.c", &ext_ip6(true, true, true)),
            ("ext/tcp.c", other),
        ],
        "ext: add the ip6 match",
        ANA,
        "2024-01-01",
    );
    let cause = r.commit(
        &[("ext/ip6.c", &ext_ip6(true, true, false))],
        "ext: ip6: lookups no longer wait",
        BO,
        "2024-02-01",
    );
    let without_label = ext_ip6(true, true, false).replace("retry:\n", "");
    let fix = r.commit(
        &[("ext/ip6.c", &without_label)],
        "ext: ip6: remove unused retry label",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(says(&t.candidates[0], "took out uses of `retry`"), "{t:#?}");
}

#[test]
fn a_fix_that_adds_a_file_to_a_build_list_is_traced_to_the_change_that_brought_it_in() {
    let mut r = GitRepo::new();
    r.commit(
        &[
            (
                "Makefile.am",
                "bin_PROGRAMS = app\napp_SOURCES = main.c util.c util.h\n",
            ),
            (
                "main.c",
                "#include \"util.h\"\n\nint main(void)\n{\n\treturn util();\n}\n",
            ),
            ("util.c", "int util(void) { return 0; }\n"),
            ("util.h", "int util(void);\n"),
        ],
        "initial import",
        ANA,
        "2024-01-01",
    );
    let cause = r.commit(
        &[
            ("list.h", "struct list { struct list *next; };\n"),
            ("main.c", "#include \"util.h\"\n#include \"list.h\"\n\nint main(void)\n{\n\treturn util();\n}\n"),
        ],
        "app: add a list type",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[("util.c", "int util(void) { return 1; }\n")],
        "util: return one",
        ANA,
        "2024-02-10",
    );
    let fix = r.commit(
        &[(
            "Makefile.am",
            "bin_PROGRAMS = app\napp_SOURCES = main.c util.c util.h \\\n\tlist.h\n",
        )],
        "build: add list.h to the file list",
        ANA,
        "2024-03-01",
    );
    // Blame of the re-wrapped list line gives the import; the commit that brought list.h in
    // without listing it is the cause.
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(says(&t.candidates[0], "brought in `list.h`"), "{t:#?}");

    // Re-wrapping the list names no new file.
    let fix = r.commit(
        &[(
            "Makefile.am",
            "bin_PROGRAMS = app\napp_SOURCES = main.c \\\n\tutil.c util.h list.h\n",
        )],
        "build: wrap the file list",
        ANA,
        "2024-03-02",
    );
    let t = run(r.path(), &fix, true);
    assert!(
        !t.candidates.iter().any(|c| says(c, "build list")),
        "{t:#?}"
    );

    // A new list names its files for the first time: none was left out of it.
    let fix = r.commit(
        &[
            ("CMakeLists.txt", "add_executable(app main.c util.c list.h)\n"),
            ("main.c", "#include \"util.h\"\n#include \"list.h\"\n\nint main(void)\n{\n\treturn util() + 1;\n}\n"),
        ],
        "build: fix the exit code and add a CMake build",
        ANA,
        "2024-03-03",
    );
    let t = run(r.path(), &fix, true);
    assert!(
        !t.candidates.iter().any(|c| says(c, "build list")),
        "{t:#?}"
    );
}

#[test]
fn a_fix_that_deletes_a_file_with_no_lines_is_traced_to_the_change_that_brought_it_in() {
    let mut r = GitRepo::new();
    r.commit(
        &[
            ("Makefile", "app: main.c\n\tcc -o app main.c\n"),
            ("main.c", "int main(void)\n{\n\treturn 0;\n}\n"),
        ],
        "initial import",
        ANA,
        "2024-01-01",
    );
    let cause = r.commit(
        &[
            ("main.c", "int main(void)\n{\n\treturn 1;\n}\n"),
            ("main.", ""),
        ],
        "app: exit with one",
        BO,
        "2024-02-01",
    );
    let blob = r.commit(
        &[("app.o", "\u{7f}ELF\u{0}\u{1}\u{2}")],
        "app: add a usage line",
        BO,
        "2024-02-05",
    );
    r.commit(
        &[("Makefile", "app: main.c\n\tcc -O2 -o app main.c\n")],
        "build: optimise",
        ANA,
        "2024-02-10",
    );
    std::fs::remove_file(r.path().join("main.")).expect("remove");
    let fix = r.commit(
        &[],
        "remove an empty file committed by mistake",
        ANA,
        "2024-03-01",
    );
    // The empty file has no line to blame: the change that brought it in is the cause.
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(says(&t.candidates[0], "brought in `main.`"), "{t:#?}");

    // A binary file has no lines either.
    std::fs::remove_file(r.path().join("app.o")).expect("remove");
    let fix = r.commit(&[], "remove a stray object file", ANA, "2024-03-02");
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), blob, "{t:#?}");
    assert!(says(&t.candidates[0], "brought in `app.o`"), "{t:#?}");

    // A deleted file with lines is traced by blaming them, not by this rule.
    std::fs::remove_file(r.path().join("Makefile")).expect("remove");
    let fix = r.commit(&[], "build: drop the Makefile", ANA, "2024-03-03");
    let t = run(r.path(), &fix, true);
    assert!(
        !t.candidates
            .iter()
            .any(|c| says(c, "which the fix deletes")),
        "{t:#?}"
    );
}

#[test]
fn a_language_added_to_linguas_is_traced_to_the_translation_it_lists() {
    let mut r = GitRepo::new();
    r.commit(
        &[
            ("po/LINGUAS", "# languages\nde\n"),
            ("po/de.po", "msgid \"ping\"\nmsgstr \"ping\"\n"),
        ],
        "i18n: German",
        ANA,
        "2024-01-01",
    );
    let cause = r.commit(
        &[("po/fr.po", "msgid \"ping\"\nmsgstr \"ping\"\n")],
        "Added translation (French)",
        BO,
        "2024-02-01",
    );
    let fix = r.commit(
        &[("po/LINGUAS", "# languages\nde\nfr\n")],
        "po/LINGUAS: add the missing French",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(says(&t.candidates[0], "brought in `po/fr.po`"), "{t:#?}");
}

/// `src/buf.h` with these include lines and this type for a buffer's length.
fn buf_h(includes: &str, len_type: &str) -> String {
    format!(
        "#ifndef BUF_H\n#define BUF_H\n\n{includes}\n/* A growable buffer. */\n\nstruct buf {{\n\tchar *data;\n\t{len_type} len;\n}};\n\nint buf_grow(struct buf *b, int extra);\n\n#endif\n"
    )
}

#[test]
fn a_fix_that_adds_a_missing_include_is_traced_to_the_first_use_of_what_it_declares() {
    let mut r = GitRepo::new();
    r.commit(
        &[("src/buf.h", &buf_h("#include <stdint.h>\n", "int"))],
        "buf: add a growable buffer",
        ANA,
        "2024-01-01",
    );
    let cause = r.commit(
        &[("src/buf.h", &buf_h("#include <stdint.h>\n", "size_t"))],
        "buf: lengths are sizes",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[("src/util.c", "int util(void) { return 0; }\n")],
        "util: add",
        ANA,
        "2024-02-10",
    );
    let fix = r.commit(
        &[(
            "src/buf.h",
            &buf_h("#include <stddef.h>\n#include <stdint.h>\n", "size_t"),
        )],
        "buf: add missing stddef.h include",
        ANA,
        "2024-03-01",
    );
    // Blame of the lines around the new include gives the commit that created the file.
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(
        says(&t.candidates[0], "wrote a use of `size_t` into src/buf.h"),
        "{t:#?}"
    );
}

/// `src/limits.c` with these limits (burst, rate, queue), each in a function of its own.
fn limits_c(values: [&str; 3]) -> String {
    let [burst, rate, queue] = values;
    format!(
        "#include \"limits.h\"\n\nint burst_limit(void)\n{{\n\treturn {burst};\n}}\n\nint rate_limit(void)\n{{\n\treturn {rate};\n}}\n\nint queue_limit(void)\n{{\n\treturn {queue};\n}}\n"
    )
}

/// A history of `src/limits.c`: an import, an older change (sharing the fix's subsystem
/// prefix) and a newer one to these values, and a fix back to the first; the repository,
/// the older and the newer change and the fix.
pub(crate) fn limits_history(
    older: [&str; 3],
    newer: [&str; 3],
) -> (GitRepo, String, String, String) {
    limits_history_with(
        (older, "limits: tune for small hosts"),
        (newer, "Lower the rate for slow links"),
        "limits: restore the default limits",
    )
}

/// [`limits_history`] with these subjects for the older and the newer change and this
/// message for the fix.
fn limits_history_with(
    (older, older_subject): ([&str; 3], &str),
    (newer, newer_subject): ([&str; 3], &str),
    fix_message: &str,
) -> (GitRepo, String, String, String) {
    let first = ["8", "100", "64"];
    let mut r = GitRepo::new();
    r.commit(
        &[("src/limits.c", &limits_c(first))],
        "initial import",
        ANA,
        "2024-01-01",
    );
    let o = r.commit(
        &[("src/limits.c", &limits_c(older))],
        older_subject,
        ANA,
        "2024-02-01",
    );
    let n = r.commit(
        &[("src/limits.c", &limits_c(newer))],
        newer_subject,
        BO,
        "2024-03-01",
    );
    let fix = r.commit(
        &[("src/limits.c", &limits_c(first))],
        fix_message,
        ANA,
        "2024-04-01",
    );
    (r, o, n, fix)
}

#[test]
fn of_two_causes_traced_nearly_alike_the_newer_comes_first() {
    // One line each; the older change's shared prefix weighs it a little more.
    let (r, older, newer, fix) = limits_history(["4", "100", "64"], ["4", "50", "64"]);
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), newer, "{t:#?}");
    assert!(
        says(&t.candidates[0], "and is newer, so it is put first"),
        "{t:#?}"
    );
    assert_eq!(t.candidates[1].commit, older, "{t:#?}");
    assert!(t.candidates[1].score > t.candidates[0].score, "{t:#?}");
    // The tool's summary says why the higher score comes second.
    let out = Registry::standard()
        .call(
            &Sandbox::open(r.path()).unwrap(),
            "trace_regression",
            json!({"fix": fix}),
        )
        .unwrap();
    assert!(
        out.text
            .contains("scores higher but is older, and the newer change comes first"),
        "{}",
        out.text
    );

    // Two lines against one: the older change keeps its place.
    let (r, older, _, fix) = limits_history(["4", "100", "32"], ["4", "50", "32"]);
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), older, "{t:#?}");
    assert!(
        !t.candidates.iter().any(|c| says(c, "so it is put first")),
        "{t:#?}"
    );
}

#[test]
fn of_two_causes_traced_nearly_alike_the_one_that_touches_what_the_message_names_comes_first() {
    // The older change brought in the name the fix's message blames; the newer one shares
    // the fix's subsystem prefix. They score within the near tie, and the older one leads.
    let (r, older, newer, fix) = limits_history_with(
        (
            ["burst_min", "100", "64"],
            "Lower the burst for small hosts",
        ),
        (
            ["burst_min", "50", "64"],
            "limits: lower the rate for slow links",
        ),
        "limits: restore the default limits\n\nburst_min starved bursty senders.",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), older, "{t:#?}");
    assert!(
        says(&t.candidates[0], "its change touches `burst_min`"),
        "{t:#?}"
    );
    assert_eq!(t.candidates[1].commit, newer, "{t:#?}");
    assert!(
        t.candidates[1].score >= 0.85 * t.candidates[0].score,
        "a near tie: {t:#?}"
    );
    assert!(
        !t.candidates.iter().any(|c| says(c, "so it is put first")),
        "{t:#?}"
    );
}

#[test]
fn a_function_name_that_many_files_define_points_at_the_fix_s_own() {
    let plugin = |check: &str| {
        format!(
            "#include \"plugin.h\"\n\nstatic int verify(const struct setting *s)\n{{\n\
             \tif (!s)\n\t\treturn -1;\n{check}\treturn 0;\n}}\n"
        )
    };
    let mut r = GitRepo::new();
    r.commit(
        &[
            ("src/plugins/adsl.c", &plugin("")),
            ("src/plugins/bond.c", &plugin("")),
            ("src/plugins/wifi.c", &plugin("")),
            ("src/plugins/vlan.c", "int vlan_id(void) { return 1; }\n"),
        ],
        "plugins: add",
        ANA,
        "2024-01-01",
    );
    let cause = r.commit(
        &[(
            "src/plugins/wifi.c",
            &plugin("\tif (!s->ssid[0])\n\t\treturn -1;\n"),
        )],
        "plugins: wifi: refuse empty names",
        BO,
        "2024-02-01",
    );
    // A later change to the `verify()` of two other plugins.
    let elsewhere = r.commit(
        &[
            (
                "src/plugins/adsl.c",
                &plugin("\tif (s->mtu > 1500)\n\t\treturn -1;\n"),
            ),
            (
                "src/plugins/bond.c",
                &plugin("\tif (s->mtu > 9000)\n\t\treturn -1;\n"),
            ),
        ],
        "plugins: check the MTU",
        BO,
        "2024-02-10",
    );
    let fix = r.commit(
        &[(
            "src/plugins/wifi.c",
            &plugin("\tif (!s->ssid)\n\t\treturn -1;\n"),
        )],
        "plugins: wifi: fix verify() for hidden networks",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(says(&t.candidates[0], "src/plugins/wifi.c"), "{t:#?}");
    assert!(t.candidates.iter().all(|c| c.commit != elsewhere), "{t:#?}");

    // A fix in a file without `verify()`: the name is in three others, so in none of them.
    let fix2 = r.commit(
        &[("src/plugins/vlan.c", "int vlan_id(void) { return 0; }\n")],
        "plugins: vlan: start ids at 0 as verify() expects",
        ANA,
        "2024-03-05",
    );
    let t = run(r.path(), &fix2, true);
    assert!(
        t.candidates.iter().all(|c| !says(c, "`verify()`")),
        "{t:#?}"
    );
}

#[test]
fn a_helper_the_message_names_does_not_outweigh_the_changed_lines() {
    // The fix changes a line the cause wrote, and its message names the helper whose error
    // string it frees; that helper's latest change, in a file the fix does not touch, is
    // not the cause.
    let mut r = GitRepo::new();
    let opt_v1 = "#include \"opt.h\"\n\nchar *parse_opt(const char *s, int *out)\n{\n\t*out = atoi(s);\n\treturn NULL;\n}\n";
    r.commit(
        &[("src/opt.c", opt_v1), ("src/server.c", &server_c("", ""))],
        "initial import",
        ANA,
        "2024-01-01",
    );
    let read = "\tchar *err = parse_opt(s->arg, &s->limit);\n";
    let cause = r.commit(
        &[(
            "src/server.c",
            &server_c(&format!("{read}\tif (err)\n\t\treturn -EINVAL;\n"), ""),
        )],
        "server: read the limit from the connection's option",
        BO,
        "2024-02-01",
    );
    let opt_v2 = opt_v1.replace(
        "\t*out = atoi(s);\n\treturn NULL;\n",
        "\tif (!*s)\n\t\treturn xstrdup(\"empty option\");\n\t*out = atoi(s);\n\treturn NULL;\n",
    );
    let helper = r.commit(
        &[("src/opt.c", &opt_v2)],
        "opt: report errors as strings",
        ANA,
        "2024-02-10",
    );
    let fix = r.commit(
        &[(
            "src/server.c",
            &server_c(
                &format!("{read}\tif (err) {{\n\t\tfree(err);\n\t\treturn -EINVAL;\n\t}}\n"),
                "",
            ),
        )],
        "server: free the error string from parse_opt()\n\nparse_opt() returns an allocated error string, which the accept path\nleaked.\n",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    let named = t
        .candidates
        .iter()
        .find(|c| c.commit == helper)
        .unwrap_or_else(|| panic!("the named helper's change is still listed: {t:#?}"));
    assert!(
        named
            .evidence
            .iter()
            .any(|e| e.contains("parse_opt") && e.contains("another file")),
        "{t:#?}"
    );
}

/// A cause, then two commits by one author on one day: `earlier` (subject given) rewrites
/// two of the cause's lines, and the fix changes those two and a third line of the cause.
/// Returns (cause, earlier, the trace of the fix).
fn same_day_pair(earlier_subject: &str) -> (String, String, Trace) {
    let mut r = GitRepo::new();
    server_commit(
        &mut r,
        "",
        "",
        "server: accept connections",
        BO,
        "2024-01-01",
    );
    let check = |a: &str, b: &str, c: &str| {
        format!(
            "\tif (queue_len(s) > {a})\n\t\treturn -EBUSY;\n\tif (s->conns_open >= {b})\n\t\treturn -EMFILE;\n\ts->backlog = {c};\n"
        )
    };
    let cause = server_commit(
        &mut r,
        &check("12", "64", "8"),
        "",
        "server: limit the accept queue",
        BO,
        "2024-02-01",
    );
    let earlier = server_commit(
        &mut r,
        &check("s->max_queue", "s->max_conns", "8"),
        "",
        earlier_subject,
        ANA,
        "2024-03-01",
    );
    let fix = server_commit(
        &mut r,
        &check("s->max_queue - 1", "s->max_conns - 1", "s->max_queue"),
        "",
        "server: fix off-by-one in the accept checks\n\nThe queue and connection checks let one more in than configured,\nand the backlog ignored the configured queue.\n",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    (cause, earlier, t)
}

#[test]
fn an_earlier_patch_of_the_same_series_is_not_the_cause() {
    // A series of fixes applied together: the first patch is a sibling, not the cause, even
    // though it holds more of the blamed lines.
    let (cause, sibling, t) = same_day_pair("server: fix hard-coded limits in accept");
    assert_eq!(best(&t), cause, "{t:#?}");
    let sib = t
        .candidates
        .iter()
        .find(|c| c.commit == sibling)
        .unwrap_or_else(|| panic!("the sibling patch is still listed: {t:#?}"));
    assert!(says(sib, "same series"), "{t:#?}");
}

#[test]
fn a_same_day_change_that_is_not_a_fix_can_be_the_cause() {
    // The author's own feature from earlier that day is a usual cause of a quick fix.
    let (_, feature, t) = same_day_pair("server: make the accept limits configurable");
    assert_eq!(best(&t), feature, "{t:#?}");
    assert!(
        t.candidates[0]
            .evidence
            .iter()
            .all(|e| !e.contains("same series")),
        "{t:#?}"
    );
}

#[test]
fn rename_between_cause_and_fix_is_followed() {
    let mut r = GitRepo::new();
    server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "",
        "server: tighten the accept queue",
        BO,
        "2024-02-01",
    );
    r.git(&["mv", "src/server.c", "src/listener.c"]);
    r.commit(&[], "server: rename to listener", ANA, "2024-02-10");
    let fix = r.commit(
        &[(
            "src/listener.c",
            &server_c("\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n", ""),
        )],
        "listener: restore the accept queue length",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
}

#[test]
fn whitespace_reformat_on_top_of_the_cause_is_looked_through() {
    let mut r = GitRepo::new();
    server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "",
        "server: tighten the accept queue",
        BO,
        "2024-02-01",
    );
    // Re-indent every line with spaces instead of tabs.
    let reformatted =
        server_c("\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n", "").replace('\t', "    ");
    let reformat = r.commit(
        &[("src/server.c", &reformatted)],
        "style: spaces, not tabs",
        ANA,
        "2024-02-15",
    );
    let fixed = reformatted.replace("> 12)", "> 128)");
    let fix = r.commit(
        &[("src/server.c", &fixed)],
        "server: restore the accept queue length",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(
        t.candidates.iter().all(|c| c.commit != reformat),
        "the reformat is looked through: {t:#?}"
    );
    assert!(says(&t.candidates[0], "re-indented"), "{t:#?}");
}

#[test]
fn a_fix_of_indentation_blames_the_commit_that_wrote_it_not_the_one_before() {
    let mut r = GitRepo::new();
    server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    // A later change re-indents the limit check with spaces while it adds a log line.
    let wrote = server_commit(
        &mut r,
        "    if (queue_len(s) > 128)\n        return -EBUSY;\n",
        "\tlog_drop(c);\n",
        "server: log dropped connections",
        BO,
        "2024-02-01",
    );
    let fix = server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "\tlog_drop(c);\n",
        "server: fix indentation",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), wrote, "{t:#?}");
    assert!(says(&t.candidates[0], "changed line"), "{t:#?}");
}

#[test]
fn a_revert_names_the_reverted_commit() {
    let mut r = server_repo();
    let cause = server_commit(
        &mut r,
        "\tprefetch_conn(c);\n",
        "",
        "server: prefetch new connections",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[("src/util.c", "int util(void) { return 0; }\n")],
        "util: add",
        ANA,
        "2024-02-03",
    );
    r.git(&[
        "-c",
        "user.name=Ana",
        "-c",
        "user.email=ana@example.com",
        "revert",
        "--no-edit",
        &cause,
    ]);
    let fix = r.git(&["rev-parse", "HEAD"]);
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(says(&t.candidates[0], "revert"), "{t:#?}");
}

#[test]
fn the_commit_the_message_says_brought_the_bug_in_is_the_cause() {
    // The fix changes a line of a later commit and names that commit twice; its message
    // says an earlier one introduced the regression. That statement outweighs the blame.
    let mut r = server_repo();
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "",
        "server: limit the accept queue",
        BO,
        "2024-02-01",
    );
    let later = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EAGAIN;\n",
        "",
        "server: return EAGAIN when the queue is full",
        ANA,
        "2024-03-01",
    );
    let message = format!(
        "server: free the connection when the queue is full\n\n\
         Commit {} introduced this regression: a full queue leaks the new connection.\n\
         Commit {} (\"server: return EAGAIN when the queue is full\") kept the leak;\n\
         the error code of {} stays as it is.\n",
        &cause[..10],
        &later[..10],
        &later[..10],
    );
    let fix = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn conn_refuse(c, -EAGAIN);\n",
        "",
        &message,
        BO,
        "2024-04-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(says(&t.candidates[0], "brought the bug in"), "{t:#?}");
    // The later commit is still a candidate: named twice, its quoted subject not counted
    // again, and blamed for the changed line.
    let l = t.candidates.iter().find(|c| c.commit == later).unwrap();
    assert!(!says(l, "quotes its subject"), "{t:#?}");
}

#[test]
fn a_commit_the_message_names_as_related_work_does_not_outweigh_the_blame() {
    // The fix repeats, in `accept_conn`, a fix made earlier in `drop_conn`, and says so.
    // The commit it builds on is a hint; the commit whose line it changes leads.
    let mut r = server_repo();
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "",
        "server: limit the accept queue",
        BO,
        "2024-02-01",
    );
    let earlier_fix = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "\ts->queued--;\n",
        "server: count a dropped connection out of the queue",
        ANA,
        "2024-03-01",
    );
    let message = format!(
        "server: free the connection when the queue is full\n\n\
         This is a fix based on {} but applied to the accept path.\n",
        &earlier_fix[..12],
    );
    let fix = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn conn_refuse(c, -EBUSY);\n",
        "\ts->queued--;\n",
        &message,
        BO,
        "2024-04-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    let related = t.candidates.iter().find(|c| c.commit == earlier_fix);
    assert!(related.is_some_and(|c| says(c, "related work")), "{t:#?}");
}

#[test]
fn many_lines_of_an_old_rewrite_do_not_outweigh_the_commit_the_message_names() {
    // The fix rewrites a 40-line table an early commit wrote; its message names the later
    // commit whose change made the table wrong. Forty blamed lines count for less than forty
    // times one, and the named commit leads.
    let table = |v: &str| -> String {
        (0..40)
            .map(|i| format!("\t{{ .id = {i}, .mask = {v} }},\n"))
            .collect()
    };
    let file = |v: &str, check: &str| {
        format!(
            "static const struct rule rules[] = {{\n{}}};\n\nint match(int id, int m)\n{{\n{check}}}\n",
            table(v)
        )
    };
    let mut r = GitRepo::new();
    r.commit(
        &[(
            "src/rules.c",
            &file("0xff", "\treturn rules[id].mask & m;\n"),
        )],
        "rules: add the rule table",
        ANA,
        "2024-01-01",
    );
    let cause = r.commit(
        &[(
            "src/rules.c",
            &file("0xff", "\treturn rules[id].mask == m;\n"),
        )],
        "rules: compare masks exactly",
        BO,
        "2024-02-01",
    );
    let message = format!(
        "rules: widen the masks\n\n\
         Commit {} compares masks exactly, so the table's 0xff masks no longer\n\
         match a wider request. Widen every mask in the table.\n",
        &cause[..12]
    );
    let fix = r.commit(
        &[(
            "src/rules.c",
            &file("0xffff", "\treturn rules[id].mask == m;\n"),
        )],
        &message,
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
}

#[test]
fn of_two_commits_named_alike_the_one_named_first_leads() {
    // The fix adds a new file, so nothing is blamed: the two commits its message names are
    // the only candidates, and the message names the cause first.
    let mut r = server_repo();
    let first = server_commit(
        &mut r,
        "\topen_path(s->path);\n",
        "",
        "server: accept a path to a socket",
        BO,
        "2024-02-01",
    );
    let second = server_commit(
        &mut r,
        "\tpread_path(s->path);\n",
        "",
        "server: read the socket path with pread",
        ANA,
        "2024-03-01",
    );
    let fix = r.commit(
        &[(
            "src/fifo.c",
            "int is_fifo(int fd) { return lseek(fd, 0, 1) < 0; }\n",
        )],
        &format!(
            "server: refuse a FIFO as the socket path\n\n\
             Commit {} allowed any path, but not a FIFO.\n\n\
             Commit {} handled some cases, not all of them.\n",
            &first[..10],
            &second[..10]
        ),
        BO,
        "2024-04-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), first, "{t:#?}");
    assert_eq!(t.candidates.len(), 2, "{t:#?}");
}

#[test]
fn trailers_count_unless_ignored_and_later_candidates_are_dropped() {
    let mut r = GitRepo::new();
    let named = server_commit(
        &mut r,
        "",
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    let blamed = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "",
        "server: limit the accept queue",
        BO,
        "2024-02-01",
    );
    let fix = r.commit(
        &[(
            "src/server.c",
            &server_c("\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n", ""),
        )],
        &format!(
            "server: fix the accept queue\n\nFixes: {} (\"server: accept connections\")\n",
            &named[..12]
        ),
        ANA,
        "2024-03-01",
    );
    let with = run(r.path(), &fix, false);
    assert_eq!(best(&with), named, "{with:#?}");
    assert!(says(&with.candidates[0], "trailer"));
    // Counted once, as the trailer: not again as a sha or a subject the message names.
    assert!(
        with.candidates[0]
            .evidence
            .iter()
            .all(|e| !e.contains("fix message")),
        "{with:#?}"
    );
    // Hidden trailer: neither the sha nor the quoted subject is read.
    let without = run(r.path(), &fix, true);
    assert_eq!(best(&without), blamed, "{without:#?}");
    assert!(
        without
            .candidates
            .iter()
            .all(|c| !says(c, "trailer") && !says(c, "fix message")),
        "{without:#?}"
    );
    // A first report before the blamed commit discards it.
    let opts = TraceOptions {
        ignore_trailers: true,
        reported_at: Some(1_705_000_000), // 2024-01-11
        ..TraceOptions::default()
    };
    let early = trace(&open(r.path()), &fix, &opts).unwrap();
    assert!(
        early.candidates.iter().all(|c| c.commit != blamed),
        "{early:#?}"
    );
    // JSON shape.
    let v: Value = serde_json::to_value(&with).unwrap();
    assert_eq!(v["fix"], json!(fix));
    assert!(v["candidates"][0]["score"].is_number());
    assert!(v["candidates"][0]["evidence"].is_array());
}

#[test]
fn test_and_doc_changes_are_set_aside_and_errors_say_what_to_do() {
    let mut r = GitRepo::new();
    let first = r.commit(
        &[
            (
                "src/server.c",
                &server_c("\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n", ""),
            ),
            (
                "tests/server_test.c",
                "int t(void) { return check(128); }\n",
            ),
        ],
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "",
        "server: tighten the accept queue",
        BO,
        "2024-02-01",
    );
    let fix = r.commit(
        &[
            (
                "src/server.c",
                &server_c("\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n", ""),
            ),
            (
                "tests/server_test.c",
                "int t(void) { return check(128) && check(129); }\n",
            ),
        ],
        "server: restore the accept queue length",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause);
    assert!(
        t.candidates.iter().all(|c| !says(c, "server_test.c")),
        "{t:#?}"
    );

    let repo = open(r.path());
    let e = trace(&repo, "deadbeefdeadbeef", &TraceOptions::default()).unwrap_err();
    assert!(e.to_string().contains("give a sha"), "{e}");
    let e = trace(&repo, &first, &TraceOptions::default()).unwrap_err();
    assert!(e.to_string().contains("root commit"), "{e}");
}

#[test]
fn a_file_whose_name_is_not_utf8_does_not_stop_the_trace() {
    use std::os::unix::ffi::OsStrExt;
    let mut r = GitRepo::new();
    let odd = r.path().join(std::ffi::OsStr::from_bytes(b"legacy\xff.c"));
    let body = |n: u32| format!("int legacy(void)\n{{\n\treturn {n};\n}}\n");
    std::fs::write(&odd, body(1)).unwrap();
    server_commit(
        &mut r,
        "",
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    std::fs::write(&odd, body(2)).unwrap();
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "",
        "server: tighten the accept queue",
        BO,
        "2024-02-01",
    );
    std::fs::write(&odd, body(3)).unwrap();
    let fix = server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: restore the accept queue length",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
}

#[test]
fn find_fixes_passes_over_the_commit_that_wrote_the_postmortem() {
    let mut r = GitRepo::new();
    r.commit(
        &[("src/Check.fs", "let rec check xs =\n    List.map id xs\n")],
        "Type-check list literals (#1234)",
        ANA,
        "2024-01-01",
    );
    let fix = r.commit(
        &[(
            "src/Check.fs",
            "let check xs =\n    List.rev (List.rev xs)\n",
        )],
        "Make list checking tail-recursive (#1301)\n\nBig list literals overflowed the stack.",
        BO,
        "2024-02-01",
    );
    // The postmortem tells the incident in the words a later request uses.
    let written = r.commit(
        &[(
            "docs/postmortems/regression-list-literal-stack-overflow.md",
            "# Postmortem: Compiler stack overflow on big list literals\n\nFixed by #1301.\n",
        )],
        "Add postmortem: compiler stack overflow on big list literals",
        ANA,
        "2024-03-01",
    );
    let repo = open(r.path());
    let fixes = find_fixes(
        &repo,
        "the compiler crashes with a stack overflow on big list literals",
        3,
    )
    .unwrap();
    assert_eq!(fixes[0].commit, fix, "{fixes:#?}");
    assert!(fixes.iter().all(|f| f.commit != written), "{fixes:#?}");
    // Named as the fix, it is still taken: the asker says so.
    let named = find_fixes(
        &repo,
        &format!("the list overflow fixed by {}", &written[..10]),
        3,
    )
    .unwrap();
    assert_eq!(named[0].commit, written, "{named:#?}");
}

#[test]
fn find_fixes_ranks_the_fix_for_an_incident() {
    let mut r = GitRepo::new();
    r.commit(
        &[("src/payments/retry.c", "int retry(void) { return 3; }\n")],
        "payments: add retries",
        ANA,
        "2024-01-01",
    );
    let fix = r.commit(
        &[(
            "src/payments/retry.c",
            "int retry(void) { return backoff(3); }\n",
        )],
        "payments: fix retry storm on checkout",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[("src/auth/login.c", "int login(void) { return 0; }\n")],
        "auth: add login",
        ANA,
        "2024-03-01",
    );
    let repo = open(r.path());
    let fixes = find_fixes(
        &repo,
        "write a postmortem for the retry storm that hit checkout",
        3,
    )
    .unwrap();
    assert_eq!(fixes[0].commit, fix, "{fixes:#?}");
    assert!(!fixes[0].reasons.is_empty());
    let e = find_fixes(&repo, "write the postmortem", 3).unwrap_err();
    assert!(e.to_string().contains("keywords"), "{e}");
}

/// Fixes of the same thing with near-identical subjects: the one that says "regression", as
/// the incident does, comes first; without that word the newest comes first.
#[test]
fn find_fixes_prefers_the_fix_that_echoes_the_incidents_words() {
    let mut r = GitRepo::new();
    r.commit(
        &[("src/cli/buf.c", "int size(void) { return 64; }\n")],
        "cli: add buffers",
        ANA,
        "2024-01-01",
    );
    let regression = r.commit(
        &[("src/cli/buf.c", "int size(void) { return 128; }\n")],
        "cli: fix regression in buffer sizing",
        BO,
        "2024-02-01",
    );
    let newer = r.commit(
        &[("src/cli/buf.c", "int size(void) { return 256; }\n")],
        "cli: fix buffer sizing",
        ANA,
        "2024-03-01",
    );
    let repo = open(r.path());
    let fixes = find_fixes(&repo, "the cli buffer sizing regression", 3).unwrap();
    assert_eq!(fixes[0].commit, regression, "{fixes:#?}");
    assert!(
        fixes[0]
            .reasons
            .iter()
            .any(|r| r.contains("`regression`, as the incident does")),
        "{fixes:#?}"
    );
    let fixes = find_fixes(&repo, "the cli buffer sizing outage", 3).unwrap();
    assert_eq!(fixes[0].commit, newer, "{fixes:#?}");
}

/// A word most commits use counts for little beside a name few use: the fix that names
/// the hotplug code outranks a newer fix whose subject holds two words of the incident
/// that twenty other commits hold too.
#[test]
fn find_fixes_weighs_rare_words_over_common_ones() {
    let mut r = GitRepo::new();
    for i in 0..20 {
        r.commit(
            &[(
                "src/driver/ids.c",
                format!("int ids[] = {{ {i} }};\n").as_str(),
            )],
            &format!("driver: add device id {i}"),
            ANA,
            &format!("2024-01-{:02}", i + 1),
        );
    }
    let fix = r.commit(
        &[("src/hotplug/events.c", "int events(void) { return 1; }\n")],
        "hotplug: fix lost events",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[("src/driver/probe.c", "int probe(void) { return 0; }\n")],
        "driver: fix device probe order",
        ANA,
        "2024-02-02",
    );
    let repo = open(r.path());
    let fixes = find_fixes(&repo, "device driver hotplug", 3).unwrap();
    assert_eq!(fixes[0].commit, fix, "{fixes:#?}");
}

/// A report's "crashes" finds the subject's "crash": keywords are matched by their stem.
#[test]
fn find_fixes_matches_other_forms_of_a_word() {
    let mut r = GitRepo::new();
    let fix = r.commit(
        &[("src/queue.c", "int pop(void) { return 0; }\n")],
        "queue: fix crash when empty",
        ANA,
        "2024-01-01",
    );
    r.commit(
        &[("src/queue.c", "int pop(void) { return 1; }\n")],
        "queue: fix the empty check",
        BO,
        "2024-01-02",
    );
    let repo = open(r.path());
    let fixes = find_fixes(&repo, "the queue crashes when empty", 3).unwrap();
    assert_eq!(fixes[0].commit, fix, "{fixes:#?}");
    assert_eq!(
        fixes[0].reasons[0], "subject mentions queue, crashes, empty",
        "the reasons name the keywords as the incident wrote them: {fixes:#?}"
    );
}

/// Of two commits about the incident, a fix of the last weeks outranks one from years ago
/// whose message mentions one more of its words: a postmortem is mostly asked for soon
/// after its fix.
#[test]
fn find_fixes_prefers_a_recent_fix() {
    let mut r = GitRepo::new();
    let old = r.commit(
        &[("src/cache.c", "int evict(void) { return 0; }\n")],
        "cache: fix eviction\n\nThe eviction lost entries under heavy pressure.",
        ANA,
        "2019-01-01",
    );
    r.commit(
        &[("src/log.c", "int log(void) { return 0; }\n")],
        "log: add levels",
        ANA,
        "2023-06-01",
    );
    let recent = r.commit(
        &[("src/cache.c", "int evict(void) { return 1; }\n")],
        "cache: fix eviction",
        BO,
        "2024-03-01",
    );
    r.commit(
        &[("src/log.c", "int log(void) { return 1; }\n")],
        "log: quieter",
        ANA,
        "2024-03-10",
    );
    let repo = open(r.path());
    let fixes = find_fixes(&repo, "cache eviction under pressure", 3).unwrap();
    assert_eq!(fixes[0].commit, recent, "{fixes:#?}");
    assert_eq!(fixes[1].commit, old, "{fixes:#?}");
    assert!(
        fixes[0]
            .reasons
            .iter()
            .any(|r| r.contains("days before the newest commit")),
        "{fixes:#?}"
    );
}

/// Two fixes with the same words, a year apart: asked with a date, the one made soon after
/// that date leads, though the other is newer; asked without, the newer leads.
#[test]
fn find_fixes_counts_recency_from_the_incidents_date() {
    let mut r = GitRepo::new();
    r.commit(
        &[("src/cache.c", "int evict(void) { return 0; }\n")],
        "cache: add eviction",
        ANA,
        "2022-01-01",
    );
    let then = r.commit(
        &[("src/cache.c", "int evict(void) { return 1; }\n")],
        "cache: fix eviction stall",
        BO,
        "2023-03-05",
    );
    let later = r.commit(
        &[("src/cache.c", "int evict(void) { return 2; }\n")],
        "cache: fix eviction stall",
        BO,
        "2024-03-01",
    );
    let repo = open(r.path());
    let undated = find_fixes(&repo, "the cache eviction stall", 3).unwrap();
    assert_eq!(undated[0].commit, later, "{undated:#?}");
    let dated = find_fixes(&repo, "the cache eviction stall of 2023-03-02", 3).unwrap();
    assert_eq!(dated[0].commit, then, "{dated:#?}");
    assert!(
        dated[0]
            .reasons
            .iter()
            .any(|r| r == "committed 3 days after 2023-03-02, the incident's date"),
        "{dated:#?}"
    );
    let next_day = find_fixes(&repo, "the cache eviction stall of 2023-03-04", 3).unwrap();
    assert!(
        next_day[0]
            .reasons
            .iter()
            .any(|r| r == "committed 1 day after 2023-03-04, the incident's date"),
        "{next_day:#?}"
    );
    // A date the text gives wrong (here, past every commit) costs the search nothing but
    // its recency: the words still find the fixes.
    let future = find_fixes(&repo, "the cache eviction stall of 2030-01-01", 3).unwrap();
    assert_eq!(future[0].commit, later, "{future:#?}");
    assert_eq!(future[1].commit, then, "{future:#?}");
    // The tool: a date given only as `reported` dates the search as well.
    let out = call(
        r.path(),
        json!({"incident": "the cache eviction stall", "reported": "2023-03-02T08:00:00Z"}),
    )
    .unwrap();
    assert_eq!(out.data["fixes"][0]["commit"], json!(then), "{}", out.text);
    // And the CLI's --reported.
    let out = super::support::skillrun()
        .args(["trace", "--json", "--incident", "the cache eviction stall"])
        .args(["--reported", "2023-03-02", "--repo"])
        .arg(r.path())
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["likely_fixes"][0]["commit"], json!(then), "{v}");
}

/// Two fixes hold the same words; the older holds them as the incident's phrase ("memory
/// balloon"), the newer apart, and recency alone would pick the newer.
#[test]
fn find_fixes_prefers_the_fix_that_holds_the_incidents_phrase() {
    let mut r = GitRepo::new();
    r.commit(
        &[
            ("src/balloon.rs", "fn inflate() {}\n"),
            ("src/memory.rs", "fn map() {}\n"),
        ],
        "vmm: add devices",
        ANA,
        "2024-01-01",
    );
    let phrase = r.commit(
        &[("src/balloon.rs", "fn inflate() { check(); }\n")],
        "balloon: fix a guest freeze\n\nInflating the memory balloon past the guest's RAM froze it.",
        BO,
        "2024-02-01",
    );
    let apart = r.commit(
        &[("src/memory.rs", "fn map() { check(); }\n")],
        "memory: fix a guest freeze\n\nA hotplug while the balloon was inflating froze it.",
        BO,
        "2024-02-10",
    );
    let repo = open(r.path());
    let fixes = find_fixes(&repo, "Expanding memory balloon causes VM to freeze", 3).unwrap();
    assert_eq!(fixes[0].commit, phrase, "{fixes:#?}");
    assert!(
        fixes[0]
            .reasons
            .iter()
            .any(|r| r == "message says \"memory balloon\""),
        "{fixes:#?}"
    );
    assert!(fixes.iter().any(|f| f.commit == apart), "{fixes:#?}");
}

#[test]
fn find_fixes_skips_what_the_release_the_incident_names_already_held() {
    let mut r = GitRepo::new();
    let old = r.commit(
        &[("sys-utils/mount.c", "int nofail(void) { return 0; }\n")],
        "mount: fix nofail option regression with kubernetes",
        ANA,
        "2024-01-10",
    );
    r.tag("v2.41");
    r.commit(
        &[("misc/log.c", "int log(void) { return 0; }\n")],
        "log: add levels",
        ANA,
        "2024-03-01",
    );
    let fix = r.commit(
        &[("sys-utils/mount.c", "int nofail(void) { return 1; }\n")],
        "mount: restore the nofail exit status",
        BO,
        "2024-03-20",
    );
    let repo = open(r.path());
    // 2.41 shipped the regression, so the commit it already held is not the fix.
    let fixes = find_fixes(
        &repo,
        "mount nofail option regression with 2.41 using kubernetes",
        3,
    )
    .unwrap();
    assert_eq!(fixes[0].commit, fix, "{fixes:#?}");
    assert!(fixes.iter().all(|f| f.commit != old), "{fixes:#?}");
    // Without a version, the older commit matches the words best.
    let fixes = find_fixes(&repo, "mount nofail option regression using kubernetes", 3).unwrap();
    assert_eq!(fixes[0].commit, old, "{fixes:#?}");
}

/// A command-line option the report names (`ping -c1`) is matched as written: a fix that
/// names it outranks a newer one that only shares the tool's name.
#[test]
fn find_fixes_matches_a_command_line_option() {
    let mut r = GitRepo::new();
    r.commit(
        &[("ping/ping.c", "int count;\n")],
        "ping: add the ping tool",
        ANA,
        "2024-01-01",
    );
    let fix = r.commit(
        &[("ping/ping.c", "int count = 1;\n")],
        "ping: fix exit after one reply with -c1",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[("ping/ping.c", "int count = 1;\nint interval;\n")],
        "ping: fix the interval rounding",
        BO,
        "2024-03-01",
    );
    let repo = open(r.path());
    let fixes = find_fixes(&repo, "`ping -c1` no longer works", 3).unwrap();
    assert_eq!(fixes[0].commit, fix, "{fixes:#?}");
}

#[test]
fn find_fixes_names_the_branch_commit_not_its_merge() {
    let mut r = GitRepo::new();
    r.commit(
        &[("src/probe.c", "int probe_minix(void) { return 1; }\n")],
        "probe: add minix",
        ANA,
        "2024-01-01",
    );
    r.git(&["checkout", "-q", "-b", "fix-minix-probe"]);
    let fix = r.commit(
        &[("src/probe.c", "int probe_minix(void) { return check(); }\n")],
        "probe: minix: check the magic before the zone count\n\nAn erofs superblock was taken for minix.",
        BO,
        "2024-03-01",
    );
    r.git(&["checkout", "-q", "main"]);
    r.commit(
        &[("src/log.c", "int log(void) { return 0; }\n")],
        "log: add levels",
        ANA,
        "2024-03-02",
    );
    r.merge("fix-minix-probe", "Merge branch 'fix-minix-probe' of https://example.com/probe\n\n* fix-minix-probe:\n  probe: minix: check the magic before the zone count");
    let repo = open(r.path());
    let fixes = find_fixes(&repo, "minix probe false positive on erofs", 3).unwrap();
    assert_eq!(fixes[0].commit, fix, "{fixes:#?}");
    assert!(
        fixes.iter().all(|f| !f.subject.starts_with("Merge")),
        "{fixes:#?}"
    );

    // Another branch merged the same way, so two merges share their subject's words.
    r.git(&["checkout", "-q", "-b", "minix-zones"]);
    let second = r.commit(
        &[(
            "src/probe.c",
            "int probe_minix(void) { return check() && zones(); }
",
        )],
        "probe: minix: count the zones of the right superblock",
        BO,
        "2024-04-01",
    );
    r.git(&["checkout", "-q", "main"]);
    r.merge(
        "minix-zones",
        "Merge branch 'minix-zones' of https://example.com/probe",
    );
    let merge = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    let repo = open(r.path());

    // A merge named as the fix stands for its branch's commits, and says so.
    let fixes = find_fixes(
        &repo,
        &format!("the minix outage fixed by {}", &merge[..10]),
        3,
    )
    .unwrap();
    assert_eq!(fixes[0].commit, second, "{fixes:#?}");
    assert!(
        fixes[0].reasons[0].contains(&format!("the merge {}", &merge[..12])),
        "{fixes:#?}"
    );

    // Traced itself, a merge is the change its branch brought in: no other merge is a
    // candidate for sharing its subject's words, and a note names the branch's commits.
    let t = trace(&repo, &merge, &TraceOptions::default()).unwrap();
    assert_eq!(t.candidates[0].commit, fix, "{t:#?}");
    assert!(
        t.candidates
            .iter()
            .all(|c| !c.evidence.iter().any(|e| e.contains("subject shares"))),
        "{t:#?}"
    );
    assert!(
        t.notes
            .iter()
            .any(|n| n.contains("is a merge") && n.contains(&second[..12])),
        "{t:#?}"
    );
    assert!(
        t.notes.iter().all(|n| !n.contains("the merge itself")),
        "{t:#?}"
    );

    // A merge that changes a file beyond both parents (an edit made while merging) says
    // so: no commit of the branch made that change.
    r.git(&["checkout", "-q", "-b", "minix-docs"]);
    r.commit(
        &[("docs/probe.md", "Minix probing.\n")],
        "docs: describe the minix probe",
        BO,
        "2024-05-01",
    );
    r.git(&["checkout", "-q", "main"]);
    r.merge_without_commit("minix-docs");
    r.write(
        "src/probe.c",
        "int probe_minix(void) { return check() && zones() && magic(); }\n",
    );
    r.git(&["add", "src/probe.c"]);
    r.git(&[
        "-c",
        "user.name=M",
        "-c",
        "user.email=m@x.io",
        "commit",
        "-qm",
        "Merge branch 'minix-docs', checking the magic too",
    ]);
    let evil = r.git(&["rev-parse", "HEAD"]).trim().to_string();
    let t = trace(&open(r.path()), &evil, &TraceOptions::default()).unwrap();
    assert!(
        t.notes.iter().any(|n| n.ends_with(
            "; the merge itself changed `src/probe.c` beyond both parents, which no commit of the branch did"
        )),
        "{t:#?}"
    );
}

/// `skillrun trace --incident`: the likely fixes, each with why, then the trace of the first;
/// `--json` carries both.
#[test]
fn the_cli_lists_the_likely_fixes_with_their_reasons() {
    let (r, cause, _, fix) = named_repo();
    super::support::skillrun()
        .args(["trace", "--repo"])
        .arg(r.path())
        .args([
            "--incident",
            &format!("the cache outage fixed by {}", &fix[..8]),
        ])
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "likely fixes:\n  {} ",
            &fix[..12]
        )))
        .stdout(predicates::str::contains(
            "      - the incident names this commit as the fix",
        ));
    let out = super::support::skillrun()
        .args(["trace", "--json", "--repo"])
        .arg(r.path())
        .args([
            "--incident",
            &format!("the cache outage fixed by {}", &fix[..8]),
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["fix"], json!(fix), "{v}");
    assert_eq!(v["likely_fixes"][0]["commit"], json!(fix), "{v}");
    assert_eq!(v["candidates"][0]["commit"], json!(cause), "{v}");
    // Scores to three decimals, as the candidates' are.
    for f in v["likely_fixes"].as_array().unwrap() {
        let score = f["score"].as_f64().unwrap();
        assert_eq!(score, (score * 1000.0).round() / 1000.0, "{f}");
    }
    // Nothing found: the error says how to name the fix.
    super::support::skillrun()
        .args(["trace", "--repo"])
        .arg(r.path())
        .args(["--incident", "zqxv"])
        .assert()
        .failure()
        .stderr(predicates::str::contains(
            "name the fix's sha or the issue number",
        ));
}

/// A timeout fix whose words match the incident, and a fix in another part whose words do
/// not, with the commit that caused it: the tests of what an incident names directly.
fn named_repo() -> (GitRepo, String, String, String) {
    let mut r = GitRepo::new();
    r.commit(
        &[
            ("src/net/timeout.c", "int timeout(void) { return 30; }\n"),
            ("src/cache.c", "int cache_size(void) { return 64; }\n"),
        ],
        "net, cache: add",
        ANA,
        "2024-01-01",
    );
    let cause = r.commit(
        &[("src/cache.c", "int cache_size(void) { return 0; }\n")],
        "cache: size from the config",
        ANA,
        "2024-02-01",
    );
    let other = r.commit(
        &[("src/net/timeout.c", "int timeout(void) { return 60; }\n")],
        "net: fix the connection timeout crash",
        BO,
        "2024-03-01",
    );
    let fix = r.commit(
        &[("src/cache.c", "int cache_size(void) { return 64; }\n")],
        &format!(
            "cache: restore the default size\n\nFixes: {} (\"cache: size from the config\")",
            &cause[..12]
        ),
        BO,
        "2024-03-05",
    );
    (r, cause, other, fix)
}

#[test]
fn find_fixes_takes_the_commit_the_incident_names_as_the_fix() {
    let (mut r, cause, other, fix) = named_repo();
    let repo = open(r.path());
    // The words fit the timeout fix; the asker named the cache fix.
    let text = format!(
        "postmortem for the connection timeout crash fixed by {}",
        &fix[..9]
    );
    let fixes = find_fixes(&repo, &text, 3).unwrap();
    assert_eq!(fixes[0].commit, fix, "{fixes:#?}");
    assert!(
        fixes[0].reasons[0].contains("names this commit as the fix"),
        "{fixes:#?}"
    );
    assert!(fixes.iter().any(|f| f.commit == other), "{fixes:#?}");
    // A sha alone is enough, and one the asker gives for the fix is taken even when its
    // subject has no fix word and a later commit names it.
    let fixes = find_fixes(&repo, &format!("write a postmortem for the fix {cause}"), 3).unwrap();
    assert_eq!(fixes[0].commit, cause, "{fixes:#?}");
    // A fix on a branch HEAD does not hold.
    r.git(&["checkout", "-q", "-b", "hotfix"]);
    let hotfix = r.commit(
        &[("src/cache.c", "int cache_size(void) { return 128; }\n")],
        "cache: raise the size",
        BO,
        "2024-04-01",
    );
    r.git(&["checkout", "-q", "main"]);
    let fixes = find_fixes(&repo, &format!("the outage fixed by {}", &hotfix[..10]), 3).unwrap();
    assert_eq!(fixes[0].commit, hotfix, "{fixes:#?}");
    // A sha that names no commit is only a word, which no message holds.
    let fixes = find_fixes(&repo, "the outage fixed by 0123456789ab", 3).unwrap();
    assert!(fixes.is_empty(), "{fixes:#?}");
}

#[test]
fn find_fixes_follows_a_named_cause_to_the_commit_that_names_it() {
    let (r, cause, _, fix) = named_repo();
    let repo = open(r.path());
    for text in [
        format!("the connection timeout crash introduced by {}", &cause[..7]),
        format!("connection timeout crash since {cause}"),
        // Nothing said: a commit that a later one names, and whose subject fixes nothing,
        // is the cause.
        format!(
            "write a postmortem for {} and the connection timeout crash",
            &cause[..8]
        ),
    ] {
        let fixes = find_fixes(&repo, &text, 3).unwrap();
        assert_eq!(fixes[0].commit, fix, "{text}: {fixes:#?}");
        assert!(
            fixes[0]
                .reasons
                .iter()
                .any(|r| r.contains("which the incident says brought the problem in")),
            "{fixes:#?}"
        );
        assert!(
            fixes.iter().all(|f| f.commit != cause),
            "{text}: {fixes:#?}"
        );
    }
}

#[test]
fn find_fixes_finds_the_commit_that_refers_to_the_issue() {
    let mut r = GitRepo::new();
    r.commit(
        &[("src/login.c", "int login(void) { return 0; }\n")],
        "login: add",
        ANA,
        "2024-01-01",
    );
    let closes = r.commit(
        &[("src/login.c", "int login(void) { return check(); }\n")],
        "login: check the token first\n\nCloses: https://github.com/example/app/issues/42",
        BO,
        "2024-02-01",
    );
    r.commit(
        &[(
            "src/login.c",
            "int login(void) { return check() && fresh(); }\n",
        )],
        "login: fix the crash when the session expires (#7)",
        BO,
        "2024-03-01",
    );
    r.git(&["checkout", "-q", "-b", "contributor/session"]);
    let branch = r.commit(
        &[("src/session.c", "int session(void) { return 1; }\n")],
        "session: keep the cookie across restarts",
        ANA,
        "2024-03-02",
    );
    r.git(&["checkout", "-q", "main"]);
    r.commit(&[("README", "app\n")], "readme", ANA, "2024-03-03");
    r.merge(
        "contributor/session",
        "Merge pull request #43 from contributor/session\n\nsession: keep the cookie",
    );
    let repo = open(r.path());
    // The words fit the later crash fix; the issue number points at the commit that closed it.
    for text in [
        "postmortem for issue #42: login crash when the session expires",
        "login crash when the session expires https://github.com/example/app/issues/42",
    ] {
        let fixes = find_fixes(&repo, text, 3).unwrap();
        assert_eq!(fixes[0].commit, closes, "{text}: {fixes:#?}");
        assert!(
            fixes[0].reasons.iter().any(|r| r.contains("#42")),
            "{fixes:#?}"
        );
    }
    // The incident's own address says which repository the commit's address is.
    let fixes = find_fixes(
        &repo,
        "login crash https://github.com/example/app/issues/42",
        3,
    )
    .unwrap();
    assert!(
        fixes[0].reasons[0].contains("its message refers to #42, as the incident does"),
        "{fixes:#?}"
    );
    // Another project's #42, linked from a newer commit whose subject says "fix". Without a
    // forge remote, which repository an address means is unknown, so both links count
    // alike and the newer fix comes first.
    let foreign = r.commit(
        &[("deps.txt", "libfoo 2\n")],
        "deps: fix the build with libfoo 2\n\nSee https://github.com/other/libfoo/issues/42",
        ANA,
        "2024-04-01",
    );
    let repo = open(r.path());
    let fixes = find_fixes(&repo, "write a postmortem for issue #42", 3).unwrap();
    assert_eq!(fixes[0].commit, foreign, "{fixes:#?}");
    assert!(
        fixes[0].reasons[0].contains("by an address that may be another project's"),
        "{fixes:#?}"
    );
    // The forge remote says which repository this is: the other project's #42 is left out.
    r.git(&["remote", "add", "origin", "git@github.com:example/app.git"]);
    let repo = open(r.path());
    let fixes = find_fixes(&repo, "write a postmortem for issue #42", 3).unwrap();
    assert_eq!(fixes[0].commit, closes, "{fixes:#?}");
    assert!(fixes.iter().all(|f| f.commit != foreign), "{fixes:#?}");
    // With no remote, the repository the history links to most is taken as this one.
    r.git(&["remote", "remove", "origin"]);
    for n in [5, 6] {
        r.commit(
            &[("NEWS", &format!("release {n}\n"))],
            &format!("news: release {n}\n\nCloses: https://github.com/example/app/issues/{n}"),
            ANA,
            &format!("2024-04-0{n}"),
        );
    }
    let repo = open(r.path());
    let fixes = find_fixes(&repo, "write a postmortem for issue #42", 3).unwrap();
    assert_eq!(fixes[0].commit, closes, "{fixes:#?}");
    assert!(fixes.iter().all(|f| f.commit != foreign), "{fixes:#?}");

    // A pull request merged with a reference: its branch's commit, not the merge.
    let fixes = find_fixes(&repo, "write a postmortem for PR #43", 3).unwrap();
    assert_eq!(fixes[0].commit, branch, "{fixes:#?}");
    assert!(fixes[0].reasons[0].contains("merged by"), "{fixes:#?}");
    assert!(
        fixes.iter().all(|f| !f.subject.starts_with("Merge")),
        "{fixes:#?}"
    );
}

fn call(dir: &Path, args: Value) -> Result<skillrun::tools::ToolResult, ToolError> {
    Registry::standard().call(&Sandbox::open(dir).unwrap(), "trace_regression", args)
}

/// The fenced JSON block of a tool text.
fn json_block(text: &str) -> Value {
    let start = text.find("```json\n").expect("json block") + 8;
    let end = text[start..].find("\n```").expect("block end") + start;
    serde_json::from_str(&text[start..end]).unwrap()
}

#[test]
fn the_tool_traces_a_fix_and_an_incident_and_refuses_bad_arguments() {
    let mut r = GitRepo::new();
    server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "",
        "server: tighten the accept queue",
        BO,
        "2024-02-01",
    );
    let fix = server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: fix rejected connections under load",
        ANA,
        "2024-03-01",
    );
    assert!(Registry::standard().names().contains(&"trace_regression"));

    let out = call(r.path(), json!({"fix": &fix[..10]})).unwrap();
    assert_eq!(out.data["fix"], json!(fix));
    assert_eq!(out.data["candidates"][0]["commit"], json!(cause));
    assert_eq!(json_block(&out.text), out.data, "{}", out.text);
    assert!(
        out.text
            .lines()
            .next()
            .unwrap()
            .contains("most likely introduced by")
    );
    assert_eq!(out.commit.as_deref(), Some(fix.as_str()));

    let out = call(
        r.path(),
        json!({"incident": "postmortem for the rejected connections"}),
    )
    .unwrap();
    assert_eq!(out.data["fixes"][0]["commit"], json!(fix), "{}", out.text);
    assert_eq!(out.data["trace"]["candidates"][0]["commit"], json!(cause));
    assert_eq!(json_block(&out.text), out.data);
    assert!(out.data.get("unknown_commits").is_none(), "{}", out.text);

    // A sha the incident gives that names no commit is said to, and the words still serve.
    let out = call(
        r.path(),
        json!({"incident": "the rejected connections of the defaced page, fixed by deadbee1"}),
    )
    .unwrap();
    assert_eq!(out.data["fixes"][0]["commit"], json!(fix), "{}", out.text);
    assert_eq!(out.data["unknown_commits"], json!(["deadbee1"]));
    assert!(
        out.text.contains(
            "Note: the incident names deadbee1, which is no commit of this repository; the fix was looked for by its other words."
        ),
        "{}",
        out.text
    );
    super::support::skillrun()
        .args([
            "trace",
            "--incident",
            "the rejected connections, fixed by deadbee1",
            "--repo",
        ])
        .arg(r.path())
        .assert()
        .success()
        .stderr(predicates::str::contains(
            "note: the incident names deadbee1, which is no commit of this repository",
        ));

    for (args, needle) in [
        (json!({}), "give `fix`"),
        (json!({"fix": fix, "incident": "x"}), "not both"),
        (json!({"fix": "HEAD", "limit": 3}), "unknown field"),
        (json!({"fix": 42}), "fix"),
        (json!({"incident": "the postmortem"}), "keywords"),
    ] {
        let e = call(r.path(), args.clone()).unwrap_err();
        assert!(
            matches!(e, ToolError::InvalidArguments { .. }),
            "{args}: {e:?}"
        );
        assert!(e.to_string().contains(needle), "{args}: {e}");
    }
    let e = call(r.path(), json!({"fix": "0123456789abcdef"})).unwrap_err();
    assert!(matches!(e, ToolError::NotFound { .. }), "{e:?}");
}

/// A first report before the blamed commit: the tool and the CLI leave that commit out,
/// and say so; a date that is not one is refused, naming the forms that are.
#[test]
fn a_first_report_date_leaves_out_later_commits_and_says_so() {
    let mut r = GitRepo::new();
    server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12)\n\t\treturn -EBUSY;\n",
        "",
        "server: tighten the accept queue",
        BO,
        "2024-02-01",
    );
    let fix = server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        "server: fix rejected connections under load",
        ANA,
        "2024-03-01",
    );
    // Reported the day the cause landed: it may have come first, so it stays.
    let same_day = call(r.path(), json!({"fix": fix, "reported": "2024-02-01"})).unwrap();
    assert_eq!(same_day.data["candidates"][0]["commit"], json!(cause));
    assert!(
        same_day.data.get("after_report").is_none(),
        "{}",
        same_day.text
    );

    // Reported the month before: the cause is left out, and the text says which commit.
    let early = call(r.path(), json!({"fix": fix, "reported": "2024-01-15"})).unwrap();
    // Reported before anything the fix's lines lead to: nothing is left, and the summary
    // says why rather than blaming the fix's shape.
    let before_all = call(r.path(), json!({"fix": fix, "reported": "2023-06-01"})).unwrap();
    assert!(
        before_all.text.contains(
            "no introducing commit found before the first report: every commit its lines led to was made after it."
        ),
        "{}",
        before_all.text
    );
    // Asked by incident with such a date, the first commit of the history ranks among the
    // likely fixes (nearest the date); it has no parent to trace, so the next is traced.
    let by_incident = call(
        r.path(),
        json!({"incident": "the server connections outage", "reported": "2023-06-01"}),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        by_incident.data["trace"].is_object(),
        "{}",
        by_incident.text
    );
    // A date still to come is refused, as a date that is none.
    let e = call(r.path(), json!({"fix": fix, "reported": "2999-01-01"})).unwrap_err();
    assert!(
        e.to_string()
            .contains("field `reported`: `2999-01-01` has not come yet"),
        "{e}"
    );
    let candidates = early.data["candidates"].as_array().unwrap();
    assert!(
        candidates.iter().all(|c| c["commit"] != json!(cause)),
        "{}",
        early.text
    );
    assert_eq!(
        early.data["after_report"],
        json!([&cause[..12]]),
        "{}",
        early.text
    );
    assert!(
        early.text.contains(&format!(
            "Note: left out as made after the first report: {}.",
            &cause[..12]
        )),
        "{}",
        early.text
    );
    // A time with its offset is read as given: 2024-02-01 00:30 at UTC+02:00 is the evening
    // before in UTC, before the cause's commit time.
    let timed = call(
        r.path(),
        json!({"fix": fix, "reported": "2024-02-01T00:30:00+02:00"}),
    )
    .unwrap();
    assert_eq!(
        timed.data["after_report"],
        json!([&cause[..12]]),
        "{}",
        timed.text
    );

    let e = call(r.path(), json!({"fix": fix, "reported": "last tuesday"})).unwrap_err();
    assert!(matches!(e, ToolError::InvalidArguments { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("field `reported`: `last tuesday` is not a date"),
        "{e}"
    );

    // The CLI: --reported, the note on stderr, the commit listed in --json.
    let out = super::support::skillrun()
        .args([
            "trace",
            "--json",
            "--reported",
            "2024-01-15",
            "--fix",
            &fix,
            "--repo",
        ])
        .arg(r.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["after_report"], json!([&cause[..12]]), "{v}");
    assert!(
        v["candidates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["commit"] != json!(cause))
    );
    super::support::skillrun()
        .args(["trace", "--reported", "2024-01-15", "--fix", &fix, "--repo"])
        .arg(r.path())
        .assert()
        .stderr(predicates::str::contains(format!(
            "note: left out as made after the first report: {}",
            &cause[..12]
        )));
    super::support::skillrun()
        .args(["trace", "--reported", "2024-13-01", "--fix", &fix, "--repo"])
        .arg(r.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "`2024-13-01` is not a date: give when the bug was first reported as YYYY-MM-DD",
        ));
    // A revision that names nothing is said in words, not in the git library's terms.
    for (rev, says) in [
        ("HEAD~100", "the history before it is not that long"),
        ("HEAD^3", "that commit has no such parent"),
        ("no-such-branch", "no commit, branch or tag has that name"),
        (
            "#1466",
            "it reads as a pull request or issue number, not a commit; `--incident \"#1466\"` finds the commits that made or fixed it",
        ),
    ] {
        super::support::skillrun()
            .args(["trace", "--fix", rev, "--repo"])
            .arg(r.path())
            .assert()
            .code(2)
            .stderr(predicates::str::contains(format!(
                "`{rev}` does not name a commit in this repository: {says}; give a sha"
            )));
    }
}

#[test]
fn a_cause_passed_as_the_fix_is_pointed_to_the_commit_that_fixed_it() {
    let (mut r, cause) = tightened_limit_repo();
    let fix = server_commit(
        &mut r,
        "\tif (queue_len(s) > 128)\n\t\treturn -EBUSY;\n",
        "",
        &format!(
            "server: restore the accept limit\n\nFixes: {} (\"server: tighten the accept limit\")",
            &cause[..12]
        ),
        ANA,
        "2024-03-01",
    );
    // What the fix says of its cause leads the evidence, so a shortened list keeps it.
    let t = run(r.path(), &fix, false);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(
        t.candidates[0].evidence[0].starts_with("the fix's trailer names it")
            && t.candidates[0].evidence.len() > 1,
        "{t:#?}"
    );
    let note = format!(
        "note: {} is itself named as the cause by {} (\"server: restore the accept limit\"), whose `Fixes:` trailer names it; to trace that fix, pass --fix {}",
        &cause[..12],
        &fix[..12],
        &fix[..12]
    );
    super::support::skillrun()
        .args(["trace", "--fix", &cause[..7], "--repo"])
        .arg(r.path())
        .assert()
        .success()
        .stderr(predicates::str::contains(note));
    // The fix itself draws no such note, and neither does a run that hides trailers.
    for args in [
        vec!["trace", "--fix", &fix[..7]],
        vec!["trace", "--ignore-trailers", "--fix", &cause[..7]],
    ] {
        super::support::skillrun()
            .args(&args)
            .arg("--repo")
            .arg(r.path())
            .assert()
            .stderr(predicates::str::contains("is itself named as the cause").not());
    }
}

#[test]
fn make_bench_repo_pairs_are_traced_to_their_true_commit() {
    let tool = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/tools/make-bench-repo");
    if !tool.exists() {
        eprintln!("skipped: {} is not here", tool.display());
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("bench");
    let st = Command::new(&tool)
        .arg(&dir)
        .args(["--commits", "2000", "--files", "60", "--bugs", "25"])
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let oracle: Vec<Value> = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("bench.oracle.json")).unwrap(),
    )
    .unwrap();
    assert!(oracle.len() >= 10, "{}", oracle.len());
    let repo = open(&dir);
    let opts = TraceOptions {
        ignore_trailers: true,
        ..TraceOptions::default()
    };
    for pair in &oracle {
        let fix = pair["fix"].as_str().unwrap();
        let t = trace(&repo, fix, &opts).unwrap();
        assert_eq!(
            t.candidates.first().map(|c| c.commit.as_str()),
            pair["introduced"].as_str(),
            "fix {fix}: {t:#?}"
        );
    }
}

#[test]
fn a_prototype_in_a_header_is_not_the_named_function() {
    let mut r = GitRepo::new();
    let config_v1 = "#include \"config.h\"\n\nlong parse_limit(const char *s,\n\t\t int base)\n{\n\tlong v = strtol(s, NULL, base);\n\treturn v > 0 ? v : 128;\n}\n";
    let header_v1 = "#ifndef CONFIG_H\n#define CONFIG_H\nlong parse_limit(const char *s,\n\t\t int base);\nint config_load(void);\n#endif\n";
    r.commit(
        &[
            ("src/config.c", config_v1),
            ("src/config.h", header_v1),
            ("src/server.c", &server_c("", "")),
        ],
        "initial import",
        ANA,
        "2024-01-01",
    );
    let config_v2 = config_v1.replace("v > 0 ? v : 128", "v");
    let cause = r.commit(
        &[("src/config.c", &config_v2)],
        "config: stop defaulting the limit",
        BO,
        "2024-02-01",
    );
    // A later, unrelated declaration below the multi-line prototype.
    let header_v2 = header_v1.replace(
        "int config_load(void);\n",
        "int config_load(void);\nint config_reload(void);\n",
    );
    let header_change = r.commit(
        &[("src/config.h", &header_v2)],
        "config: declare config_reload",
        ANA,
        "2024-02-10",
    );
    let fix = server_commit(
        &mut r,
        "\tif (s->limit <= 0)\n\t\ts->limit = 128;\n",
        "",
        "server: guard against a zero limit\n\nparse_limit() returns 0 for an empty setting now, and the\naccept path trusted it.\n",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(
        t.candidates.iter().all(|c| c.commit != header_change),
        "a prototype is not a definition: {t:#?}"
    );
}

#[test]
fn a_reformat_that_splits_the_cause_line_is_looked_through() {
    let mut r = server_repo();
    let cause = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12 && s->accepting && !s->draining && conn_ok(c))\n\t\treturn -EBUSY;\n",
        "",
        "server: refuse connections past the queue limit",
        BO,
        "2024-02-01",
    );
    // A reformat wraps the long condition over three lines; nothing but spacing changes.
    let reformat = server_commit(
        &mut r,
        "\tif (queue_len(s) > 12 &&\n\t    s->accepting &&\n\t    !s->draining && conn_ok(c))\n\t\treturn -EBUSY;\n",
        "",
        "server: wrap lines at 80 columns",
        ANA,
        "2024-02-10",
    );
    let fix = server_commit(
        &mut r,
        "\tif (queue_len(s) > 128 &&\n\t    s->accepting &&\n\t    !s->draining && conn_ok(c))\n\t\treturn -EBUSY;\n",
        "",
        "server: let the queue grow to 128",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(says(&t.candidates[0], "only reflowed"), "{t:#?}");
    assert!(t.candidates.iter().all(|c| c.commit != reformat), "{t:#?}");
}

#[test]
fn a_cosmetic_rewrite_on_top_of_the_cause_is_looked_through() {
    let check = |limit: &str| {
        format!(
            "\tif (queue_len(s) > {limit} && s->state == SERVER_RUNNING && !s->draining)\n\t\treturn -EBUSY;\n"
        )
    };
    let mut r = GitRepo::new();
    server_commit(
        &mut r,
        &check("128"),
        "",
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    let cause = server_commit(
        &mut r,
        &check("12"),
        "",
        "server: tighten the accept queue",
        BO,
        "2024-02-01",
    );
    // The same condition, wrapped in a branch hint: one token more, same meaning.
    let hinted = |limit: &str| {
        check(limit)
            .replace("if (queue_len", "if (unlikely(queue_len")
            .replace("draining)", "draining))")
    };
    let cosmetic = server_commit(
        &mut r,
        &hinted("12"),
        "",
        "server: annotate the unlikely paths",
        ANA,
        "2024-02-15",
    );
    let fix = server_commit(
        &mut r,
        &hinted("128"),
        "",
        "server: restore the accept queue length",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(
        t.candidates.iter().all(|c| c.commit != cosmetic),
        "the cosmetic rewrite is looked through: {t:#?}"
    );
    assert!(says(&t.candidates[0], "cosmetically"), "{t:#?}");
}

#[test]
fn a_small_cleanup_on_top_of_the_cause_is_looked_through() {
    let check = |cond: &str| format!("\tif ({cond})\n\t\treturn -EBUSY;\n");
    let mut r = GitRepo::new();
    r.commit(
        &[
            ("src/server.c", &server_c("", "")),
            ("src/server.h", "#define SERVER_RUNNING 1\n"),
        ],
        "server: accept connections",
        ANA,
        "2024-01-01",
    );
    let cause = r.commit(
        &[(
            "src/server.c",
            &server_c(
                &check("queue_len(s) > 12 && s->state == SERVER_RUNNING"),
                "",
            ),
        )],
        "server: limit the accept queue",
        BO,
        "2024-02-01",
    );
    // Two files, a mechanical subject, half the tokens of the line renamed.
    let cleanup = r.commit(
        &[
            (
                "src/server.c",
                &server_c(
                    &check("srv_queue_len(s) > 12 && s->state == SRV_STATE_RUNNING"),
                    "",
                ),
            ),
            ("src/server.h", "#define SRV_STATE_RUNNING 1\n"),
        ],
        "server: rename the state constants",
        ANA,
        "2024-02-15",
    );
    let fix = r.commit(
        &[(
            "src/server.c",
            &server_c(
                &check("srv_queue_len(s) > 128 && s->state == SRV_STATE_RUNNING"),
                "",
            ),
        )],
        "server: restore the accept queue length",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(says(&t.candidates[0], "is a cleanup of 2 files"), "{t:#?}");
    assert!(
        t.candidates.iter().all(|c| c.commit != cleanup),
        "the cleanup is looked through: {t:#?}"
    );
}

#[test]
fn a_cosmetic_rewrite_that_brought_in_what_the_fix_takes_out_is_the_cause() {
    // A cosmetic rewrite: `grep -e` became `grep -f` (one word of thirteen), and the fix
    // turns it back. `-f` is in the line twice after the rewrite and once before.
    let makefile = |flag: &str| {
        format!(
            "all: personality.h\n\n\
             personality.h:\n\
             \t@$(CPP) personality.c | grep {flag} \"PER_[A-Z0-9]* =.*,\" | cut -d \"=\" -f 1 \\\n\
             \t| sed \"s/.$$/,/\" > personality.h\n"
        )
    };
    let mut r = GitRepo::new();
    let first = r.commit(
        &[("Makefile", &makefile("-e"))],
        "Makefile: generate personality.h",
        ANA,
        "2024-01-01",
    );
    let rewrite = r.commit(
        &[("Makefile", &makefile("-f"))],
        "Makefile: use -f instead of -e for Solaris versions of test",
        BO,
        "2024-02-01",
    );
    let fix = r.commit(
        &[("Makefile", &makefile("-e"))],
        "Makefile: use grep -e instead of grep -f",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), rewrite, "{t:#?}");
    assert!(
        says(
            &t.candidates[0],
            "rewrote the line, bringing in `f`, which the fix takes out"
        ),
        "{t:#?}"
    );
    assert!(
        !t.candidates
            .iter()
            .any(|c| c.commit == first && says(c, "changed line")),
        "{t:#?}"
    );
}

#[test]
fn a_cleanup_that_brought_in_what_the_fix_takes_out_is_the_cause() {
    // A cleanup of two files: `(void)call(...)` became `VOID_RET(int, call(...))`, and the
    // fix takes the wrapper off again to check the result.
    let stressor = |call: &str| {
        format!(
            "#include \"stress.h\"\n\n\
             static int stress_sched(void)\n{{\n\
             \t{call}\n\
             \treturn 0;\n}}\n"
        )
    };
    let mut r = GitRepo::new();
    let first = r.commit(
        &[
            (
                "stress-sched.c",
                &stressor("(void)sched_setscheduler(pid, policy, &param);"),
            ),
            (
                "stress.h",
                "#define VOID_RET(t, x) do { t r = x; (void)r; } while (0)\n",
            ),
        ],
        "stress-sched: exercise sched_setscheduler",
        ANA,
        "2024-01-01",
    );
    let cleanup = r.commit(
        &[
            (
                "stress-sched.c",
                &stressor("VOID_RET(int, sched_setscheduler(pid, policy, &param));"),
            ),
            (
                "stress-yield.c",
                "#include \"stress.h\"\n\nint y(void) { VOID_RET(int, sched_yield()); return 0; }\n",
            ),
        ],
        "stress-*: use VOID_RET for return voidifications",
        BO,
        "2024-02-01",
    );
    let fix = r.commit(
        &[(
            "stress-sched.c",
            &stressor("if (sched_setscheduler(pid, policy, &param) < 0) return -1;"),
        )],
        "stress-sched: check the result of sched_setscheduler again",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cleanup, "{t:#?}");
    assert!(says(&t.candidates[0], "bringing in `VOID_RET`"), "{t:#?}");
    assert!(
        !t.candidates
            .iter()
            .any(|c| c.commit == first && says(c, "changed line")),
        "{t:#?}"
    );
}

fn pairs(v: &[(String, String)]) -> Vec<(&str, &str)> {
    v.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect()
}

/// A fix that changes a function's head, on top of a sweeping rename of `files` files
/// (the API prefix `nvmf_` to `libnvmf_`, in the function's name and its type), traced.
/// Returns (the commit that wrote the function, the rename, the trace).
fn traced_through_a_prefix_rename(files: usize) -> (String, String, Trace) {
    let fabrics = |prefix: &str, extra: &str| {
        format!(
            "#include \"fabrics.h\"\n\
             \n\
             void {prefix}context_free(struct {prefix}context *fctx{extra})\n\
             {{\n\
             \tfree(fctx->key);\n\
             \tfree(fctx);\n\
             }}\n"
        )
    };
    let user = |i: usize, prefix: &str| format!("int user_{i}(struct {prefix}context *c);\n");
    // The renamed files sort before `src/fabrics.c`, so it is the last one the rename changed.
    let names: Vec<String> = (0..files).map(|i| format!("src/a{i:03}.c")).collect();
    let mut r = GitRepo::new();
    let mut base: Vec<(String, String)> = names
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), user(i, "nvmf_")))
        .collect();
    base.push(("src/fabrics.c".into(), "#include \"fabrics.h\"\n".into()));
    r.commit(
        &pairs(&base),
        "fabrics: start the library",
        ANA,
        "2024-01-01",
    );
    let cause = r.commit(
        &[("src/fabrics.c", &fabrics("nvmf_", ""))],
        "fabrics: add nvmf_context_free",
        BO,
        "2024-02-01",
    );
    let mut renamed = base.clone();
    for (i, (_, text)) in renamed.iter_mut().enumerate().take(files) {
        *text = user(i, "libnvmf_");
    }
    renamed.pop();
    renamed.push(("src/fabrics.c".into(), fabrics("libnvmf_", "")));
    let rename = r.commit(
        &pairs(&renamed),
        "library: rename the nvmf_ API prefix to libnvmf_",
        ANA,
        "2024-03-01",
    );
    let fix = r.commit(
        &[("src/fabrics.c", &fabrics("libnvmf_", ", bool keep_key"))],
        "fabrics: let callers keep the key",
        BO,
        "2024-04-01",
    );
    let t = run(r.path(), &fix, true);
    (cause, rename, t)
}

#[test]
fn a_sweeping_rename_of_a_name_and_its_type_is_looked_through() {
    // The rename changes two of the line's five words: looked through by its words, not
    // by its text with the spaces taken out, where the words run together.
    let (cause, rename, t) = traced_through_a_prefix_rename(14);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(t.candidates.iter().all(|c| c.commit != rename), "{t:#?}");
    assert!(
        says(&t.candidates[0], "sweeping change of 15 files"),
        "{t:#?}"
    );
    // The same rename over more files than a commit's first 40: the followed file is
    // diffed even when it comes after them.
    let (cause, rename, t) = traced_through_a_prefix_rename(45);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(t.candidates.iter().all(|c| c.commit != rename), "{t:#?}");
}

#[test]
fn a_change_that_regenerates_many_translations_is_not_a_sweep() {
    // A pull request that changed four source files and regenerated thirteen translation
    // files (one a language) wrote the bad line: it is the cause, not a sweep of the code to
    // look through.
    const LANGS: [&str; 13] = [
        "cs", "de", "es", "fr", "it", "ja", "ko", "pl", "pt-BR", "ru", "tr", "zh-Hans", "zh-Hant",
    ];
    let xlf = |v: u32| -> Vec<(String, String)> {
        LANGS
            .iter()
            .map(|l| {
                (
                    format!("src/xlf/Strings.{l}.xlf"),
                    format!("<trans-unit id=\"retry\"><source>Retry {v}</source></trans-unit>\n"),
                )
            })
            .collect()
    };
    let retry = |delay: &str| {
        format!("module Retry\n\nlet maxAttempts = 5\n\nlet delay attempt =\n    {delay}\n")
    };
    let mut r = GitRepo::new();
    let mut first = xlf(1);
    first.push(("src/Retry.fs".into(), retry("100 * pown 2 attempt")));
    for m in ["Client", "Config", "Log"] {
        first.push((
            format!("src/{m}.fs"),
            format!("module {m}\n\nlet version = 1\n"),
        ));
    }
    r.commit(&pairs(&first), "Retry failed calls", ANA, "2024-01-01");
    let mut pr = xlf(2);
    pr.push(("src/Retry.fs".into(), retry("100 * attempt")));
    for m in ["Client", "Config", "Log"] {
        pr.push((
            format!("src/{m}.fs"),
            format!("module {m}\n\nlet version = 2\n"),
        ));
    }
    let cause = r.commit(
        &pairs(&pr),
        "Read the retry settings from the config (#12)",
        BO,
        "2024-02-01",
    );
    let fix = r.commit(
        &[("src/Retry.fs", &retry("100 * pown 2 attempt"))],
        "Retry: back off exponentially again",
        ANA,
        "2024-03-01",
    );
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), cause, "{t:#?}");
    assert!(
        t.candidates.iter().all(|c| !says(c, "sweeping change")),
        "{t:#?}"
    );
}

/// Connection and queue limits, lowered by two commits, and a fix that restores both: the
/// `conns_lines` connection limits (the first commit's) and the one queue limit (the
/// second's).
fn limits_repo(conns_lines: usize) -> (GitRepo, String, String, String) {
    let file = |conns: &str, queue: &str| {
        let mut s = String::new();
        for i in 0..conns_lines {
            s.push_str(&format!("int max_conns_{i} = {conns};\n"));
        }
        s.push_str(&format!("int max_queue = {queue};\n"));
        s
    };
    let mut r = GitRepo::new();
    r.commit(
        &[("src/limits.c", &file("128", "64"))],
        "limits: add connection and queue limits",
        ANA,
        "2024-01-01",
    );
    let conns = r.commit(
        &[("src/limits.c", &file("12", "64"))],
        "limits: lower the connection limits",
        BO,
        "2024-02-01",
    );
    let queue = r.commit(
        &[("src/limits.c", &file("12", "6"))],
        "limits: lower the queue limit",
        ANA,
        "2024-02-10",
    );
    let fix = r.commit(
        &[("src/limits.c", &file("128", "64"))],
        "limits: restore the limits that rejected connections",
        BO,
        "2024-03-01",
    );
    (r, conns, queue, fix)
}

#[test]
fn a_runner_up_close_to_the_first_candidate_is_called_out() {
    // One blamed line each: either could be the cause, and the tool and the CLI say so.
    let (r, conns, queue, fix) = limits_repo(1);
    let t = run(r.path(), &fix, true);
    let mut top2: Vec<&str> = t
        .candidates
        .iter()
        .take(2)
        .map(|c| c.commit.as_str())
        .collect();
    top2.sort();
    let mut want = vec![conns.as_str(), queue.as_str()];
    want.sort();
    assert_eq!(top2, want, "{t:#?}");
    let runner_up = t.runner_up().expect("a close call");
    assert_eq!(runner_up.commit, t.candidates[1].commit);
    let out = call(r.path(), json!({"fix": fix})).unwrap();
    assert!(
        out.text
            .contains(&format!("Close call: {}", runner_up.short)),
        "{}",
        out.text
    );
    super::support::skillrun()
        .args(["trace", "--ignore-trailers", "--repo"])
        .arg(r.path())
        .args(["--fix", &fix])
        .assert()
        .success()
        .stdout(predicates::str::contains(format!(
            "close call: {} scores",
            runner_up.short
        )));

    // Four lines against one: the first candidate stands clear, and nothing is said.
    let (r, conns, _, fix) = limits_repo(4);
    let t = run(r.path(), &fix, true);
    assert_eq!(best(&t), conns, "{t:#?}");
    assert!(t.candidates.len() >= 2, "{t:#?}");
    assert_eq!(t.runner_up(), None, "{t:#?}");
    let out = call(r.path(), json!({"fix": fix})).unwrap();
    assert!(!out.text.contains("Close call"), "{}", out.text);
    super::support::skillrun()
        .args(["trace", "--ignore-trailers", "--repo"])
        .arg(r.path())
        .args(["--fix", &fix])
        .assert()
        .success()
        .stdout(predicates::str::contains("close call").not());
}

#[test]
fn a_shallow_clone_is_traced_only_as_far_as_its_history_goes() {
    let mut repo = GitRepo::new();
    repo.commit(&[("README.md", "# svc\n")], "Start", ANA, "2024-01-01");
    let added = repo.commit(
        &[(
            "src/retry.py",
            "def backoff(n):\n    return 0.2 * (2 ** n)\n",
        )],
        "Add retry backoff",
        ANA,
        "2024-01-10",
    );
    let bug = repo.commit(
        &[(
            "src/retry.py",
            "def backoff(n):\n    return 0.2 * (n + 1)\n",
        )],
        "Optimize retry backoff",
        BO,
        "2024-02-01",
    );
    repo.commit(
        &[(
            "src/retry.py",
            "def backoff(n):\n    return 0.2 * (2 ** n) + jitter()\n",
        )],
        "Fix retry storm: restore exponential backoff",
        ANA,
        "2024-02-05",
    );
    let traced = |depth: u32| {
        let (clone, path) = repo.clone_with(&["--depth", &depth.to_string()]);
        let out = super::support::skillrun()
            .args(["trace", "--fix", "HEAD", "--json", "--repo"])
            .arg(path)
            .output()
            .expect("runs");
        (out, clone)
    };

    // Depth 1: the fix's parent is not there at all.
    let (out, _keep) = traced(1);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("parent is not in this shallow clone") && err.contains("--unshallow"),
        "{err}"
    );

    // Depth 3: the history stops at `added`, which blame takes for the author of every
    // older line. The cause is found, and the boundary is no candidate, said in a note.
    let (out, _keep) = traced(3);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t: Trace = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(best(&t), bug);
    assert!(t.candidates.iter().all(|c| c.commit != added), "{t:#?}");
    assert_eq!(t.notes.len(), 1, "{t:#?}");
    assert!(t.notes[0].contains("this clone is shallow"), "{t:#?}");

    // The tools a model reads say so too: git_show of the boundary shows it adding every
    // file, and git_blame credits it with every older line.
    let (_keep, path) = repo.clone_with(&["--depth", "3"]);
    let tool = |name: &str, args: Value| {
        let out = super::support::skillrun()
            .args(["tools", "call", name, &args.to_string(), "--json", "--repo"])
            .arg(&path)
            .output()
            .expect("runs");
        assert!(out.status.success(), "{out:?}");
        serde_json::from_slice::<Value>(&out.stdout).expect("json")
    };
    let shown = tool("git_show", json!({"commit": &added[..7]}));
    assert!(
        shown["text"]
            .as_str()
            .unwrap()
            .contains("Note: a shallow clone's history stops at this commit"),
        "{shown}"
    );
    assert_eq!(shown["data"]["shallow_boundary"], json!(true), "{shown}");
    let blamed = tool("git_blame", json!({"path": "src/retry.py"}));
    assert!(
        blamed["text"].as_str().unwrap().contains(&format!(
            "[{} is where this shallow clone's history stops",
            &added[..7]
        )),
        "{blamed}"
    );
    assert_eq!(
        tool("git_show", json!({"commit": "HEAD"}))["data"]["shallow_boundary"],
        json!(false)
    );

    // The whole history: `added` is a candidate like any other commit, and no note.
    let t = run(repo.path(), "HEAD", true);
    assert_eq!(best(&t), bug);
    assert!(t.candidates.iter().any(|c| c.commit == added), "{t:#?}");
    assert!(t.notes.is_empty());
}

/// What `skillrun trace` prints comes from the repository: a file name with a line break must
/// not print a candidate line of its own, and a token in a subject is redacted, as in the
/// `trace_regression` tool's result.
#[test]
fn the_printed_trace_keeps_each_field_on_its_line_and_redacts_secrets() {
    let token = concat!("ghp_", "R8sT2vWq9LmZ4xK7nB3cJ6hF1dG5yP0aE8uQ");
    let name = "a.py\n    9.99  0123456789ab 2024-01-01 rewrote auth (REAL CAUSE)\nz";
    let mut r = GitRepo::new();
    r.commit(
        &[(name, "limit = 10\nretries = 3\n")],
        "Add the client",
        "Ana Lima <ana@example.com>",
        "2024-01-10",
    );
    let cause = r.commit(
        &[(name, "limit = 100\nretries = 3\n")],
        &format!("Raise the limit (token {token})"),
        "Ben Cole <ben@example.com>",
        "2024-02-01",
    );
    let fix = r.commit(
        &[(name, "limit = 10\nretries = 3\n")],
        "Fix the limit regression",
        "Cy Dore <cy@example.com>",
        "2024-02-05",
    );
    let out = super::support::skillrun()
        .args(["trace", "--fix", &fix, "--repo"])
        .arg(r.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!("{} ", &cause[..12])),
        "traced to the cause: {text}"
    );
    assert!(!text.contains(token), "{text}");
    assert!(text.contains("[REDACTED:github-token]"), "{text}");
    assert!(
        !text.lines().any(|l| l.trim_start().starts_with("9.99")),
        "a file name printed a line of its own: {text}"
    );
    assert!(text.contains(r"a.py\n    9.99"), "{text}");

    let out = super::support::skillrun()
        .args(["trace", "--json", "--fix", &fix, "--repo"])
        .arg(r.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    let json = String::from_utf8(out.stdout).unwrap();
    assert!(!json.contains(token), "{json}");
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["candidates"][0]["commit"], json!(cause), "{v}");
}

/// A fix that only adds a new file has no introducing commit: `trace` says so and exits 1,
/// in text and in JSON alike, so a script can tell it from a traced fix.
#[test]
fn no_introducing_commit_exits_one_in_text_and_in_json() {
    let mut r = GitRepo::new();
    r.commit(
        &[("src/a.c", "int a(void) { return 1; }\n")],
        "Add a",
        "Ana Lima <ana@example.com>",
        "2024-01-10",
    );
    let fix = r.commit(
        &[("src/b.c", "int b(void) { return 2; }\n")],
        "Fix the build: add the missing b.c",
        "Ben Cole <ben@example.com>",
        "2024-02-01",
    );
    super::support::skillrun()
        .args(["trace", "--fix", &fix, "--repo"])
        .arg(r.path())
        .assert()
        .code(1)
        .stdout(predicate::str::contains("no introducing commit found"));
    let out = super::support::skillrun()
        .args(["trace", "--json", "--fix", &fix, "--repo"])
        .arg(r.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["candidates"], json!([]), "{v}");

    // No commit at all: said as such, not as a name nothing has.
    let empty = GitRepo::new();
    empty.git(&["init", "-q", "fresh"]);
    super::support::skillrun()
        .args(["trace", "--fix", "HEAD", "--repo"])
        .arg(empty.path().join("fresh"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "`HEAD` does not name a commit in this repository: the repository has no commits yet",
        ));
}

/// A fix that repoints a symbolic link or moves a submodule has no lines to blame: the
/// candidate is the commit that set what it replaces. One that only changes a mode has none,
/// and the note says why.
#[test]
fn links_submodules_and_modes_are_traced_or_explained() {
    let mut r = GitRepo::new();
    r.commit(
        &[
            ("lib/a.py", "A = 1\n"),
            ("lib/b.py", "B = 2\n"),
            ("run.sh", "echo hi\n"),
        ],
        "Add the library",
        "Ana Lima <ana@example.com>",
        "2024-01-10",
    );
    std::os::unix::fs::symlink("lib/b.py", r.path().join("cur")).unwrap();
    let link = r.commit(
        &[],
        "Point cur at b",
        "Ben Cole <ben@example.com>",
        "2024-01-20",
    );
    r.commit(
        &[("lib/c.py", "C = 3\n")],
        "Add c",
        "Ana Lima <ana@example.com>",
        "2024-01-25",
    );
    std::fs::remove_file(r.path().join("cur")).unwrap();
    std::os::unix::fs::symlink("lib/a.py", r.path().join("cur")).unwrap();
    let relink = r.commit(
        &[],
        "Fix cur: point it at a",
        "Cy Dore <cy@example.com>",
        "2024-02-01",
    );
    let traced = |fix: &str| -> Value {
        let out = super::support::skillrun()
            .args(["trace", "--json", "--fix", fix, "--repo"])
            .arg(r.path())
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let v = traced(&relink);
    assert_eq!(v["candidates"][0]["commit"], json!(link), "{v}");
    assert_eq!(
        v["candidates"][0]["evidence"][0],
        json!("set the symbolic link `cur` to what the fix changes"),
        "{v}"
    );

    // A submodule moved to another commit (a gitlink, as `git submodule` records it).
    let pin = |sha: &str, subject: &str| {
        r.git(&[
            "update-index",
            "--add",
            "--cacheinfo",
            &format!("160000,{sha},vendor/lib"),
        ]);
        r.git(&[
            "-c",
            "user.name=Ana Lima",
            "-c",
            "user.email=ana@example.com",
            "commit",
            "-qm",
            subject,
        ]);
        r.git(&["rev-parse", "HEAD"]).trim().to_string()
    };
    let old = pin(&"1".repeat(40), "Add the lib submodule at an old version");
    let bump = pin(
        &"2".repeat(40),
        "Fix the crash by moving lib to a newer version",
    );
    let v = traced(&bump);
    assert_eq!(v["candidates"][0]["commit"], json!(old), "{v}");
    assert_eq!(
        v["candidates"][0]["evidence"][0],
        json!("set the submodule `vendor/lib` to what the fix changes"),
        "{v}"
    );

    r.git(&["update-index", "--chmod=+x", "run.sh"]);
    r.git(&[
        "-c",
        "user.name=Cy Dore",
        "-c",
        "user.email=cy@example.com",
        "commit",
        "-qm",
        "Fix run.sh not executable",
    ]);
    let v = traced("HEAD");
    assert_eq!(v["candidates"], json!([]), "{v}");
    assert_eq!(
        v["notes"],
        json!(["nothing to blame: the fix changes only the mode of `run.sh`"]),
        "{v}"
    );
}

/// A partial clone (`git clone --filter=blob:none`) lacks the older versions of its files: the
/// trace and the tools say it is a partial clone and what to do, not only that an object could
/// not be found.
#[test]
fn a_partial_clone_is_named_when_an_object_is_missing() {
    let mut r = GitRepo::new();
    r.commit(
        &[("src/retry.py", "def backoff(n):\n    return 2 ** n\n")],
        "Add retry",
        "Ana Lima <ana@example.com>",
        "2024-01-10",
    );
    r.commit(
        &[("src/retry.py", "def backoff(n):\n    return n + 1\n")],
        "Optimize retry",
        "Ben Cole <ben@example.com>",
        "2024-02-01",
    );
    r.commit(
        &[("src/retry.py", "def backoff(n):\n    return 2 ** n + 1\n")],
        "Fix retry storm",
        "Cy Dore <cy@example.com>",
        "2024-02-05",
    );
    r.git(&["config", "uploadpack.allowfilter", "true"]);
    let parent = tempfile::tempdir().unwrap();
    let url = format!("file://{}", r.path().display());
    let out = Command::new("git")
        .args(["clone", "-q", "--filter=blob:none", &url, "partial"])
        .current_dir(parent.path())
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let partial = parent.path().join("partial");
    let says = "this is a partial clone (`git clone --filter`)";
    super::support::skillrun()
        .args(["trace", "--fix", "HEAD", "--repo"])
        .arg(&partial)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(says));
    super::support::skillrun()
        .args([
            "tools",
            "call",
            "git_blame",
            r#"{"path":"src/retry.py","rev":"HEAD~1"}"#,
            "--repo",
        ])
        .arg(&partial)
        .assert()
        .failure()
        .stderr(predicate::str::contains(says));
}
