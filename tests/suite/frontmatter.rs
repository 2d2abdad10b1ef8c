//! Loading skills: the seed with every field, and malformed front matter, each a one-line
//! error naming `file:line`.

use std::path::Path;

use skillrun::skill::lint::{LintOptions, lint};
use skillrun::skill::{Skill, StringList};

use super::support::seed_path;

#[test]
fn seed_loads_with_every_field() {
    let skill = Skill::load(&seed_path()).expect("seed loads");
    let m = &skill.meta;
    assert_eq!(m.name, "postmortem");
    assert!(
        m.description
            .starts_with("Write a postmortem for a regression")
    );
    assert_eq!(m.kind.as_deref(), Some("skill"));
    assert_eq!(m.lifecycle.as_deref(), Some("stable"));
    assert_eq!(m.inheritance.as_deref(), Some("inheritable"));
    assert_eq!(m.tier.as_deref(), Some("standard"));
    assert_eq!(m.apply_to, Some(StringList::One("**/*postmortem*".into())));
    assert_eq!(m.currency.as_deref(), Some("2026-04-22"));
    assert_eq!(m.last_reviewed.as_deref(), Some("2026-04-30"));
    assert!(m.extra.is_empty(), "{:?}", m.extra);
    assert_eq!(skill.body_line, 12);
    assert!(skill.body.starts_with("\n# Postmortem Writing"));
    // The shipped file is the user's skill, byte for byte, and the built-in copy is the same.
    let builtin = Skill::builtin("postmortem").expect("builtin");
    assert_eq!(builtin.body, skill.body);
    assert_eq!(builtin.meta, skill.meta);
}

#[test]
fn seed_lints_clean_within_its_review_window() {
    let skill = Skill::load(&seed_path()).expect("seed loads");
    let opts = LintOptions {
        review_window_days: 180,
        today: "2026-06-01".parse().expect("date"),
    };
    assert_eq!(lint(&skill, &opts), vec![]);
    let late = LintOptions {
        today: "2027-06-01".parse().expect("date"),
        ..opts
    };
    let findings = lint(&skill, &late);
    let got: Vec<(&str, usize, bool)> = findings
        .iter()
        .map(|f| (f.rule, f.line, f.is_error()))
        .collect();
    assert_eq!(got, vec![("skill.review", 10, false)]);
}

#[test]
fn unknown_fields_and_agent_skills_fields_are_kept() {
    let text = "---\nname: demo\ndescription: d\nlicense: MIT\ncompatibility: needs git\nmetadata:\n  owner: sre\nallowed-tools: Bash(git:*) Read\nx-custom: [1, 2]\n---\nbody\n";
    let skill = Skill::parse(Path::new("s/demo/SKILL.md"), text).expect("parses");
    assert_eq!(skill.meta.license.as_deref(), Some("MIT"));
    assert_eq!(skill.meta.compatibility.as_deref(), Some("needs git"));
    assert!(
        skill
            .meta
            .metadata
            .as_ref()
            .is_some_and(|m| m.contains_key("owner"))
    );
    assert_eq!(
        skill.meta.allowed_tools.as_ref().map(|a| a.items(' ')),
        Some(vec!["Bash(git:*)".to_string(), "Read".to_string()])
    );
    assert!(skill.meta.extra.contains_key("x-custom"));
    assert_eq!(skill.body, "body\n");
}

/// A malformed skill: its text, the line the error must name, and words the message must hold.
struct Case {
    what: &'static str,
    folder: &'static str,
    text: String,
    line: usize,
    says: &'static str,
}

fn case(what: &'static str, text: &str, line: usize, says: &'static str) -> Case {
    Case {
        what,
        folder: "demo",
        text: text.to_string(),
        line,
        says,
    }
}

fn cases() -> Vec<Case> {
    let ok = "name: demo\ndescription: A demo skill.\n";
    let long_name = "a".repeat(65);
    let long_desc = "d".repeat(1025);
    let bomb = {
        let mut s = String::from(
            "name: demo\ndescription: d\na: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n",
        );
        for (i, prev) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().enumerate() {
            let name = ["b", "c", "d", "e", "f", "g", "h", "i"][i];
            s.push_str(&format!("{name}: &{name} [*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev},*{prev}]\n"));
        }
        format!("---\n{s}---\nbody\n")
    };
    vec![
        case("empty file", "", 1, "file is empty"),
        case("only blank lines", "\n\n\n", 1, "file is empty"),
        case("no front matter", "# Title\n\nbody\n", 1, "no front matter"),
        case(
            "never closed",
            &format!("---\n{ok}body\n"),
            1,
            "never closed",
        ),
        case(
            "bad indentation",
            "---\nname: demo\n  description: x\n---\n",
            3,
            "invalid YAML",
        ),
        case(
            "tab indentation",
            "---\nname: demo\ndescription:\n\t- x\n---\n",
            4,
            "(a tab: YAML indents with spaces)",
        ),
        case(
            "unterminated quote",
            // Where the quote opens; the parser's lines are the file's.
            "---\nname: \"demo\ndescription: d\n---\n",
            2,
            "end of stream at line 4 column 1, while scanning a quoted scalar at line 2 column 7",
        ),
        case(
            "duplicate key",
            "---\nname: demo\nname: demo2\ndescription: d\n---\n",
            3,
            "duplicate",
        ),
        case(
            "a list, not a mapping",
            "---\n- name\n- description\n---\n",
            2,
            "must be a mapping",
        ),
        case(
            "a scalar, not a mapping",
            "---\njust text\n---\n",
            2,
            "must be a mapping",
        ),
        case(
            "empty front matter",
            "---\n---\nbody\n",
            1,
            "no `name` field",
        ),
        case(
            "missing name",
            "---\ndescription: d\n---\n",
            1,
            "no `name` field",
        ),
        case(
            "missing description",
            "---\nname: demo\n---\n",
            1,
            "no `description` field",
        ),
        case(
            "name is a list",
            "---\nname: [a, b]\ndescription: d\n---\n",
            2,
            "`name` must be a string",
        ),
        case(
            "metadata not a mapping",
            &format!("---\n{ok}metadata: 3\n---\n"),
            4,
            "`metadata` must be a mapping",
        ),
        case(
            "applyTo is a mapping",
            &format!("---\n{ok}applyTo: {{a: 1}}\n---\n"),
            4,
            "`applyTo` must be a string or a list",
        ),
        case(
            "allowed-tools list of numbers",
            &format!("---\n{ok}allowed-tools: [1, 2]\n---\n"),
            4,
            "`allowed-tools` must be a string or a list",
        ),
        case(
            "key is not a string",
            &format!("---\n{ok}[a, b]: c\n---\n"),
            2,
            "keys must be strings",
        ),
        case(
            "uppercase name",
            "---\nname: Demo\ndescription: d\n---\n",
            2,
            "lowercase",
        ),
        case(
            "double hyphen",
            "---\nname: de--mo\ndescription: d\n---\n",
            2,
            "two hyphens",
        ),
        case(
            "leading hyphen",
            "---\nname: -demo\ndescription: d\n---\n",
            2,
            "hyphen",
        ),
        case(
            "name too long",
            &format!("---\nname: {long_name}\ndescription: d\n---\n"),
            2,
            "over 64",
        ),
        case(
            "name differs from folder",
            "---\nname: other\ndescription: d\n---\n",
            2,
            "differs from its folder",
        ),
        case(
            "empty description",
            "---\nname: demo\ndescription: ''\n---\n",
            3,
            "description is empty",
        ),
        case(
            "description too long",
            &format!("---\nname: demo\ndescription: {long_desc}\n---\n"),
            3,
            "over 1024",
        ),
        case(
            "invalid applyTo glob",
            &format!("---\n{ok}applyTo: '[a-'\n---\n"),
            4,
            "applyTo glob",
        ),
        case(
            "invalid lastReviewed",
            &format!("---\n{ok}lastReviewed: 2026-02-30\n---\n"),
            4,
            "not a valid date",
        ),
        case(
            "currency not a date",
            &format!("---\n{ok}currency: soon\n---\n"),
            4,
            "not a valid date",
        ),
        case("alias bomb", &bomb, 1, "repetition limit exceeded"),
    ]
}

/// The error a user sees for a skill file: the load error, or the first lint error.
fn first_error(path: &Path, text: &str) -> Option<String> {
    match Skill::parse(path, text) {
        Err(e) => Some(e.to_string()),
        Ok(skill) => lint(&skill, &LintOptions::default())
            .into_iter()
            .find(|f| f.is_error())
            .map(|f| f.to_string().lines().next().unwrap_or_default().to_string()),
    }
}

#[test]
fn malformed_front_matter_each_get_one_line_error_with_file_and_line() {
    let cases = cases();
    assert!(cases.len() >= 20);
    for c in cases {
        let path = Path::new("skills").join(c.folder).join("SKILL.md");
        let err = first_error(&path, &c.text).unwrap_or_else(|| panic!("{}: accepted", c.what));
        let prefix = format!("skills/{}/SKILL.md:{}: ", c.folder, c.line);
        assert!(
            err.starts_with(&prefix),
            "{}: {err:?} should start with {prefix:?}",
            c.what
        );
        assert!(
            err.contains(c.says),
            "{}: {err:?} should say {:?}",
            c.what,
            c.says
        );
        assert!(
            !err.contains('\n'),
            "{}: {err:?} is more than one line",
            c.what
        );
    }
}

#[test]
fn non_utf8_and_oversized_files_are_refused_clearly() {
    let dir = tempfile::tempdir().expect("tmp");
    let skill_dir = dir.path().join("demo");
    std::fs::create_dir_all(&skill_dir).expect("mkdir");
    let file = skill_dir.join("SKILL.md");

    std::fs::write(&file, b"---\nname: demo\ndescription: caf\xe9\n---\n").expect("write");
    let err = Skill::load(&file).expect_err("not UTF-8").to_string();
    assert!(
        err.ends_with(
            "SKILL.md:3: file is not UTF-8 (invalid byte at offset 31); save it as UTF-8"
        ),
        "{err}"
    );

    let big = format!(
        "---\nname: demo\ndescription: d\n---\n{}",
        "x".repeat(2 << 20)
    );
    std::fs::write(&file, big).expect("write");
    let err = Skill::load(&file).expect_err("too large").to_string();
    assert!(err.contains("SKILL.md:1: file is"), "{err}");
    assert!(err.contains("over the 1048576-byte limit"), "{err}");

    std::fs::write(
        &file,
        "\u{feff}---\r\nname: demo\r\ndescription: d\r\n---\r\nbody\r\n",
    )
    .expect("write");
    let skill = Skill::load(&file).expect("BOM and CRLF load");
    assert_eq!(skill.meta.name, "demo");
    assert_eq!(skill.body, "body\n");
}
