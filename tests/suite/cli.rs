//! The real binary: exit codes, formats, and what a user reads.

use predicates::prelude::*;

use super::support::{GitRepo, payments_repo, skillrun, valid_postmortem};

#[test]
fn check_exit_codes_and_formats() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    p.repo
        .write("docs/postmortems/regression-payment-retry.md", &doc);
    p.repo.write(
        "docs/postmortems/regression-bad.md",
        &doc.replace("| Test |", "| Code |"),
    );

    skillrun()
        .current_dir(p.repo.path())
        .args([
            "check",
            "docs/postmortems/regression-payment-retry.md",
            "--repo",
            ".",
        ])
        .assert()
        .code(0)
        .stdout("0 errors, 0 warnings in 1 file\n");

    skillrun()
        .current_dir(p.repo.path())
        .args(["check", "docs/postmortems/regression-bad.md", "--repo", "."])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "docs/postmortems/regression-bad.md:43: error[table.value]: Type \"Code\" is not one of Test, CI, Process, Docs",
        ));

    let out = skillrun()
        .current_dir(p.repo.path())
        .args([
            "check",
            "docs/postmortems/regression-bad.md",
            "docs/postmortems/regression-payment-retry.md",
            "--format",
            "json",
            "--repo",
            ".",
        ])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!(v["errors"], 1);
    assert_eq!(v["files"][0]["skill"], "postmortem");
    // In GitHub Actions, each finding is a workflow command placed on its line, by the path
    // from the repository's root wherever the command runs.
    skillrun()
        .current_dir(p.repo.path().join("docs"))
        .args(["check", "postmortems/regression-bad.md", "--format", "github", "--repo"])
        .arg(p.repo.path())
        .assert()
        .code(1)
        .stdout(predicate::str::starts_with(
            "::error file=docs/postmortems/regression-bad.md,line=43,title=table.value::Type \"Code\" is not one of Test, CI, Process, Docs (hint: use one of Test / CI / Process / Docs)\n",
        ));
    assert_eq!(v["files"][0]["findings"][0]["rule"], "table.value");
    assert_eq!(v["files"][0]["findings"][0]["line"], 43);
    assert_eq!(v["files"][1]["findings"], serde_json::json!([]));
}

#[test]
fn check_usage_and_io_errors_exit_2() {
    let dir = tempfile::tempdir().expect("tmp");
    std::fs::write(dir.path().join("notes.md"), "# Notes\n").expect("write");
    std::fs::write(
        dir.path().join("postmortem-bad.md"),
        b"# Postmortem: x\n\xff\n",
    )
    .expect("write");
    let big = "x".repeat(2 << 20);
    std::fs::write(dir.path().join("postmortem-big.md"), big).expect("write");

    skillrun()
        .current_dir(dir.path())
        .args(["check", "notes.md"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "notes.md: no skill's applyTo matches this path; pass --skill NAME (skills with a template: postmortem)",
        ));
    skillrun()
        .current_dir(dir.path())
        .args(["check", "missing-postmortem.md"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "missing-postmortem.md: no such file or folder",
        ));
    skillrun()
        .current_dir(dir.path())
        .args(["check", "postmortem-bad.md"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "postmortem-bad.md: file is not UTF-8",
        ));
    // The JSON report names what was not checked, beside what was.
    let out = skillrun()
        .current_dir(dir.path())
        .args([
            "check",
            "postmortem-bad.md",
            "missing-postmortem.md",
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let not_checked: Vec<&str> = v["not_checked"]
        .as_array()
        .expect("not_checked")
        .iter()
        .map(|m| m.as_str().expect("message"))
        .collect();
    assert_eq!(not_checked.len(), 2, "{v}");
    assert!(
        not_checked[1].contains("postmortem-bad.md: file is not UTF-8"),
        "{v}"
    );
    assert_eq!(
        not_checked[0], "missing-postmortem.md: no such file or folder",
        "{v}"
    );
    skillrun()
        .current_dir(dir.path())
        .args(["check", "postmortem-big.md"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "postmortem-big.md: file is over the 1048576-byte limit; split or shorten it",
        ))
        // Only the limit's worth is read: no size is claimed for the file.
        .stderr(predicate::str::contains("1048577").not());
    skillrun()
        .current_dir(dir.path())
        .args(["check", "notes.md", "--skill", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no skill named \"nope\"; skills found: postmortem",
        ));
    skillrun()
        .current_dir(dir.path())
        .args(["check", "notes.md", "--skill", "postmortem", "--repo", "."])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a git repository"));
    skillrun().args(["check"]).assert().code(2);
    skillrun().args(["frobnicate"]).assert().code(2);
}

/// A named pipe nobody writes to: reading it would wait forever.
#[cfg(unix)]
#[test]
fn a_named_pipe_is_refused_not_waited_on() {
    let dir = tempfile::tempdir().expect("tmp");
    let fifo = dir.path().join("pipe-postmortem.md");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    skillrun()
        .current_dir(dir.path())
        .args(["check", "pipe-postmortem.md"])
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "pipe-postmortem.md: cannot read: not a regular file",
        ));
    let cases = dir.path().join("cases");
    std::fs::create_dir(&cases).expect("mkdir");
    std::fs::rename(&fifo, cases.join("case.yaml")).expect("move");
    skillrun()
        .arg("eval")
        .arg(&cases)
        .timeout(std::time::Duration::from_secs(60))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("case.yaml: not a regular file"));
}

#[test]
fn check_a_folder_checks_the_documents_under_it() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    p.repo
        .write("docs/postmortems/regression-payment-retry.md", &doc);
    p.repo.write(
        "docs/postmortems/regression-bad.md",
        &doc.replace("| Test |", "| Code |"),
    );
    // Not documents: the folder's README, a template, a hidden folder, a file outside
    // what the skill applies to. Each would fail the checks if it were taken for one.
    p.repo.write(
        "docs/postmortems/README.md",
        "# Postmortems\n\nOne per incident.\n",
    );
    p.repo.write(
        "docs/postmortems/postmortem-template.md",
        "# Postmortem: TITLE\n",
    );
    p.repo
        .write("docs/postmortems/.drafts/regression-x.md", "# draft\n");
    p.repo.write("docs/notes.md", "# Notes\n");

    let out = skillrun()
        .current_dir(p.repo.path())
        .args(["check", "docs", "--format", "json", "--repo", "."])
        .assert()
        .code(1)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&out).expect("json");
    let paths: Vec<&str> = v["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f["path"].as_str().expect("path"))
        .collect();
    assert_eq!(
        paths,
        [
            "docs/postmortems/regression-bad.md",
            "docs/postmortems/regression-payment-retry.md"
        ]
    );
    assert_eq!(v["errors"], 1, "{v}");

    // A path that is not there is said to be missing, and no count of nothing follows.
    skillrun()
        .current_dir(p.repo.path())
        .args(["check", "docs/postmortems/regression-nope.md"])
        .assert()
        .code(2)
        .stdout("")
        .stderr(predicate::str::contains(
            "docs/postmortems/regression-nope.md: no such file or folder",
        ));

    // From elsewhere, a relative path is the repository's when --repo is given.
    let elsewhere = tempfile::tempdir().expect("tempdir");
    skillrun()
        .current_dir(elsewhere.path())
        .args([
            "check",
            "docs/postmortems/regression-payment-retry.md",
            "--repo",
        ])
        .arg(p.repo.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("0 errors, 0 warnings in 1 file"));
    skillrun()
        .current_dir(elsewhere.path())
        .args(["check", "docs/postmortems/regression-nope.md", "--repo"])
        .arg(p.repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "docs/postmortems/regression-nope.md: no such file or folder (nor under --repo",
        ));

    // A skill's document folder with nothing in it yet passes with a note: a CI job set up
    // before the first postmortem does not fail.
    let fresh = GitRepo::new();
    std::fs::create_dir_all(fresh.path().join("docs/postmortems")).expect("mkdir");
    skillrun()
        .current_dir(fresh.path())
        .args([
            "check",
            "docs/postmortems",
            "--repo",
            ".",
            "--format",
            "github",
        ])
        .assert()
        .code(0)
        .stderr(predicate::str::contains(
            "note: docs/postmortems: no postmortem document in it yet; nothing to check",
        ));

    // Any other folder with no document in it is an error, not a silent pass.
    skillrun()
        .current_dir(p.repo.path())
        .args(["check", "src"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "src: no markdown document under it that a skill applies to (skills with a template: postmortem (**/*postmortem*))",
        ));
}

#[test]
fn skills_list_show_match() {
    skillrun()
        .args(["skills", "list"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("postmortem"));
    skillrun()
        .args(["skills", "show", "postmortem"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "## Prevention  table: Action | Type (Test/CI/Process/Docs) | Status (✅/☐)",
        ));
    skillrun()
        .args(["skills", "match", "write a postmortem for the auth outage"])
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("postmortem (score 1.00"));
    skillrun()
        .args(["skills", "match", "write a haiku about rust"])
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "no skill matches \"write a haiku about rust\"; skills available:\n  postmortem",
        ));
}

/// Without a folder, `skills lint` lints the repository's and the user's skills, not the
/// ones built into skillrun, which the user cannot edit.
#[test]
fn skills_lint_leaves_out_the_built_in_skills() {
    let dir = tempfile::tempdir().expect("tmp");
    let out = skillrun()
        .current_dir(dir.path())
        .env("SKILLRUN_SKILLS_DIR", dir.path().join("none"))
        .args(["skills", "lint"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8_lossy(&out);
    assert!(!out.contains("<builtin>"), "{out}");
    assert!(
        out.ends_with("0 skill files linted: 0 errors, 0 warnings\n"),
        "{out}"
    );
}

#[test]
fn skills_lint_reports_file_and_line_and_skips_broken_skills() {
    let dir = tempfile::tempdir().expect("tmp");
    let write = |name: &str, text: &str| {
        let d = dir.path().join(name);
        std::fs::create_dir_all(&d).expect("mkdir");
        std::fs::write(d.join("SKILL.md"), text).expect("write");
    };
    write(
        "good",
        "---\nname: good\ndescription: A good skill.\n---\nbody\n",
    );
    write("bad-name", "---\nname: Bad\ndescription: d\n---\n");
    write("no-yaml", "# just markdown\n");

    let assert = skillrun()
        .args(["skills", "lint"])
        .arg(dir.path())
        .assert()
        .code(1);
    let out = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        out.contains("bad-name/SKILL.md:2: error[skill.name]: name \"Bad\""),
        "{out}"
    );
    assert!(
        out.contains("no-yaml/SKILL.md:1: error[skill.load]: no front matter"),
        "{out}"
    );
    assert!(
        out.ends_with("3 skill files linted: 2 errors, 0 warnings\n"),
        "{out}"
    );

    // In CI: annotations placed by the path from the repository's root, or JSON.
    let assert = skillrun()
        .args(["skills", "--repo"])
        .arg(dir.path())
        .args(["lint", "--format", "github"])
        .arg(dir.path())
        .assert()
        .code(1);
    let out = String::from_utf8_lossy(&assert.get_output().stdout).to_string();
    assert!(
        out.lines().any(|l| l
            .starts_with("::error file=bad-name/SKILL.md,line=2,title=skill.name::name \"Bad\"")),
        "{out}"
    );
    let assert = skillrun()
        .args(["skills", "lint", "--format", "json"])
        .arg(dir.path())
        .assert()
        .code(1);
    let report: serde_json::Value =
        serde_json::from_slice(&assert.get_output().stdout).expect("JSON");
    assert_eq!(
        (
            &report["skill_files"],
            &report["errors"],
            &report["warnings"]
        ),
        (
            &serde_json::json!(3),
            &serde_json::json!(2),
            &serde_json::json!(0)
        )
    );
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule"))
        .collect();
    assert_eq!(rules, ["skill.name", "skill.load"]);

    // Discovery reports the broken ones and keeps the good one.
    skillrun()
        .args(["--skills"])
        .arg(dir.path())
        .args(["skills", "list"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("good "))
        .stdout(predicate::str::contains("postmortem"))
        .stderr(predicate::str::contains("(skill skipped)"));

    skillrun()
        .args(["skills", "lint"])
        .arg(dir.path().join("good"))
        .assert()
        .code(0);

    // A SKILL.md stands for its folder; a missing path is named as missing.
    skillrun()
        .args(["skills", "lint"])
        .arg(dir.path().join("good/SKILL.md"))
        .assert()
        .code(0)
        .stdout(predicate::str::ends_with(
            "1 skill file linted: 0 errors, 0 warnings\n",
        ));
    skillrun()
        .args(["skills", "lint"])
        .arg(dir.path().join("bad-name/SKILL.md"))
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            "bad-name/SKILL.md:2: error[skill.name]: name \"Bad\"",
        ));
    skillrun()
        .args(["skills", "lint"])
        .arg(dir.path().join("nowhere"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nowhere: no such file or folder"));
}

/// Usage mistakes exit 2 before anything runs, with an error that says what is expected.
#[test]
fn usage_mistakes_exit_2_and_name_what_is_expected() {
    // A run of no turns could only fail: refused while parsing, and no run folder is made.
    let p = payments_repo();
    // A request given no time would fail at once, five times over.
    for cmd in [&["run", "x"][..], &["eval", "evals"][..]] {
        skillrun()
            .args(cmd)
            .args(["--request-timeout", "0"])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "invalid value '0' for '--request-timeout <SECS>': a request needs at least 1 second",
            ));
    }
    // A tool's arguments may follow its name; they must be an object.
    skillrun()
        .args(["tools", "call", "git_log", r#"{"limit": 1}"#, "--repo"])
        .arg(p.repo.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("more commits: pass cursor"));
    skillrun()
        .args(["tools", "call", "git_log", "--args", "[1]", "--repo"])
        .arg(p.repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the arguments must be a JSON object, as {\"limit\": 2}, not [1]",
        ));
    skillrun()
        .args([
            "run",
            "write a postmortem for the payment outage",
            "--max-turns",
            "0",
        ])
        .arg("--repo")
        .arg(p.repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid value '0' for '--max-turns <N>': a run needs at least 1 turn",
        ));
    assert!(!p.repo.path().join(".skillrun").exists());

    // trace needs one of --fix and --incident, and names both.
    skillrun()
        .args(["trace", "--repo"])
        .arg(p.repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--fix <FIX>|--incident <TEXT>"));
    skillrun()
        .args([
            "trace",
            "--fix",
            "HEAD",
            "--incident",
            "payment outage",
            "--repo",
        ])
        .arg(p.repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the argument '--fix <FIX>' cannot be used with '--incident <TEXT>'",
        ));

    // An unknown tool is a usage mistake, unlike a tool that fails (exit 1).
    skillrun()
        .args(["tools", "call", "nosuch", "--repo"])
        .arg(p.repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "unknown tool `nosuch`; the tools are: git_log, git_show,",
        ))
        .stderr(predicate::str::contains("trace_regression"));
}

#[test]
fn demo_without_a_folder_builds_its_sample_in_the_temp_dir() {
    // TMPDIR is where a user's system keeps temporary files; the test gives it its own, so
    // that the sample is removed with it.
    let tmp = tempfile::tempdir().expect("tmp");
    // Run as an installed program: outside `cargo run`, which sets CARGO.
    let out = skillrun()
        .arg("demo")
        .env("TMPDIR", tmp.path())
        .env_remove("CARGO")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("postmortem"))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8_lossy(&out);
    let built: Vec<_> = std::fs::read_dir(tmp.path())
        .expect("read temp dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(built.len(), 1, "{built:?}");
    let sample = &built[0];
    let name = sample.file_name().unwrap().to_string_lossy().to_string();
    assert!(name.starts_with("skillrun-demo-"), "{name}");
    assert!(out.contains(&sample.display().to_string()), "{out}");
    assert!(sample.join("docs/postmortems").is_dir(), "{out}");
    // The offline investigator counts no tokens, and its progress lines say none.
    assert!(out.contains("\nturn 1\n"), "{out}");
    assert!(!out.contains("tokens"), "{out}");
    // `cargo run --release --` is mentioned only to someone who ran it that way.
    assert!(!out.contains("cargo run"), "{out}");
}

/// The bash completion script, loaded in a real bash, completes subcommands and their flags.
#[test]
fn the_bash_completion_script_completes_commands_and_flags() {
    let out = skillrun()
        .args(["completions", "bash"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let dir = tempfile::tempdir().expect("tmp");
    let script = dir.path().join("skillrun.bash");
    std::fs::write(&script, out).expect("write");
    let complete = |words: &[&str]| {
        let line = format!(
            "source {}; COMP_WORDS=({}); COMP_CWORD={}; _skillrun skillrun {} {}; echo \"${{COMPREPLY[@]}}\"",
            script.display(),
            words.join(" "),
            words.len() - 1,
            words[words.len() - 1],
            words[words.len() - 2],
        );
        let out = std::process::Command::new("bash")
            .args(["--norc", "--noprofile", "-c", &line])
            .output()
            .expect("bash runs");
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(complete(&["skillrun", "tr"]), "trace");
    assert_eq!(
        complete(&["skillrun", "trace", "--rep"]),
        "--repo --reported"
    );
    skillrun()
        .args(["completions", "nushell"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "possible values: bash, elvish, fish, powershell, zsh",
        ));
}

/// The offline investigator writes postmortems: a skill of another kind is refused before
/// the run starts, naming the sections it cannot write and how to run it with a model.
#[test]
fn the_offline_model_refuses_a_skill_it_cannot_write_before_the_run() {
    let skills = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(skills.path().join("decision")).expect("mkdir");
    std::fs::write(
        skills.path().join("decision/SKILL.md"),
        "---\nname: decision\ndescription: Record an architecture decision.\n---\n\n# Decision records\n\n## Template\n\n```markdown\n# ADR: [title]\n\n## Summary\n\n[summary]\n\n## Decision\n\n[decision]\n```\n",
    )
    .expect("write");
    let p = payments_repo();
    skillrun()
        .arg("--skills")
        .arg(skills.path())
        .args(["run", "record the decision to move the queue", "--skill", "decision", "--repo"])
        .arg(p.repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "the offline investigator (the default model) writes postmortems only, and skill `decision` asks for `## Decision`; run it with a model: --model openai:MODEL",
        ));
    assert!(!p.repo.path().join(".skillrun").exists(), "no run started");

    // A skill with no template at all: the error says how to give it one.
    std::fs::create_dir_all(skills.path().join("notes")).expect("mkdir");
    std::fs::write(
        skills.path().join("notes/SKILL.md"),
        "---\nname: notes\ndescription: Take notes.\n---\n\n# Notes\n\nWrite notes.\n",
    )
    .expect("write");
    skillrun()
        .arg("--skills")
        .arg(skills.path())
        .args(["run", "take notes", "--skill", "notes", "--repo"])
        .arg(p.repo.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "skill `notes` has no `## Template`, so there is no document to check or write; give its SKILL.md a `## Template` section",
        ));
}

/// A skill of the user's own with no `applyTo`, whose template says its documents go to
/// `docs/decisions/`: `check docs/decisions` checks the documents there, and fails on one that
/// misses a section, instead of calling the folder empty.
#[test]
fn check_of_a_skills_own_folder_checks_its_documents_without_apply_to() {
    let skills = tempfile::tempdir().expect("tmp");
    std::fs::create_dir_all(skills.path().join("decision")).expect("mkdir");
    std::fs::write(
        skills.path().join("decision/SKILL.md"),
        "---\nname: decision\ndescription: Record an architecture decision.\n---\n\n# Decision records\n\n## Template\n\nPut it in `docs/decisions/`. Name: `adr-<short-description>.md`.\n\n```markdown\n# ADR: [title]\n\n## Context\n\n[context]\n\n## Decision\n\n[decision]\n\n## Consequences\n\n[consequences]\n```\n",
    )
    .expect("write");
    let repo = GitRepo::new();
    let docs = repo.path().join("docs/decisions");
    std::fs::create_dir_all(&docs).expect("mkdir");
    std::fs::write(
        docs.join("adr-queue.md"),
        "# ADR: Queue on NATS\n\n## Context\n\nThe queue drops messages under load.\n\n## Consequences\n\nOne more service to run.\n",
    )
    .expect("write");
    let check = |dir: &str| {
        skillrun()
            .arg("--skills")
            .arg(skills.path())
            .current_dir(repo.path())
            .args(["check", dir, "--repo", "."])
            .assert()
    };
    check("docs/decisions")
        .code(1)
        .stdout(predicate::str::contains("adr-queue.md"))
        .stdout(predicate::str::contains("Decision"))
        .stderr(predicate::str::contains("nothing to check").not());
    std::fs::write(
        docs.join("adr-queue.md"),
        "# ADR: Queue on NATS\n\n## Context\n\nThe queue drops messages under load.\n\n## Decision\n\nMove the queue to NATS.\n\n## Consequences\n\nOne more service to run.\n",
    )
    .expect("write");
    check("docs/decisions").code(0);
    std::fs::remove_file(docs.join("adr-queue.md")).expect("rm");
    check("docs/decisions")
        .code(0)
        .stderr(predicate::str::contains(
            "no decision document in it yet; nothing to check",
        ));
}

/// `--skills` takes a folder of skills, one skill's folder or its `SKILL.md`. A path that is
/// none of them is an error of the command; a folder reached twice is read once; and of two
/// skills of one name that the user wrote, the one not used is named.
#[test]
fn skills_paths_are_checked_read_once_and_a_hidden_skill_is_named() {
    let write = |dir: &std::path::Path, name: &str, description: &str| {
        std::fs::create_dir_all(dir.join(name)).expect("mkdir");
        std::fs::write(
            dir.join(name).join("SKILL.md"),
            format!("---\nname: {name}\ndescription: {description}\n---\n\n# {name}\n"),
        )
        .expect("write");
    };
    let a = tempfile::tempdir().expect("tmp");
    let b = tempfile::tempdir().expect("tmp");
    write(a.path(), "adr", "Record a decision, from the first folder.");
    write(
        b.path(),
        "adr",
        "Record a decision, from the second folder.",
    );

    skillrun()
        .args(["--skills", "/nonexistent/skills", "skills", "list"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "--skills: skills folder /nonexistent/skills does not exist",
        ));
    skillrun()
        .arg("--skills")
        .arg(a.path().join("adr/SKILL.md"))
        .args(["skills", "list"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("adr"));
    skillrun()
        .arg("--skills")
        .arg(a.path())
        .arg("--skills")
        .arg(b.path())
        .args(["skills", "show", "adr"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("from the first folder"))
        .stderr(predicate::str::contains(format!(
            "note: {} is not used: a skill of the same name comes first ({})",
            b.path().join("adr/SKILL.md").display(),
            a.path().join("adr/SKILL.md").display()
        )));

    // The repository's skills/ given again as --skills: its broken skill is reported once.
    let repo = GitRepo::new();
    std::fs::create_dir_all(repo.path().join("skills/broken")).expect("mkdir");
    std::fs::write(
        repo.path().join("skills/broken/SKILL.md"),
        "no front matter\n",
    )
    .expect("write");
    let out = skillrun()
        .current_dir(repo.path())
        .args(["--skills", "skills", "skills", "list"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("no front matter").count(), 1, "{stderr}");
}
