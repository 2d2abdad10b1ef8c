//! Contracts come from each skill's own template, generically.

use std::path::Path;

use skillrun::skill::Skill;
use skillrun::{Document, check};

use super::support::seed_path;

#[test]
fn seed_contract_snapshot() {
    let skill = Skill::load(&seed_path()).expect("seed loads");
    let contract = skill.contract.expect("seed has a template");
    insta::assert_snapshot!(
        "postmortem_contract",
        serde_json::to_string_pretty(&contract).expect("serializes")
    );
}

const RELEASE_NOTES: &str = r#"---
name: release-notes
description: Write release notes for a tagged version. Use when asked to "write release notes" or "summarize a release".
applyTo: 'docs/releases/**'
---

# Release notes

## Template

Put them in `docs/releases/` as `notes-<version>.md`.

```markdown
# Release Notes: [version]

## Highlights

One paragraph for people who read nothing else.

## Changes

| Area   | Change   | Kind                 |
| ------ | -------- | -------------------- |
| [area] | [change] | Feature/Fix/Breaking |

## Upgrading

Steps a user must take, or "none".
```
"#;

#[test]
fn a_second_skill_gets_its_own_contract() {
    let skill = Skill::parse(Path::new("skills/release-notes/SKILL.md"), RELEASE_NOTES)
        .expect("toy skill parses");
    let c = skill.contract.as_ref().expect("toy skill has a template");
    let title = c.title.as_ref().expect("title");
    assert_eq!(title.prefix, "Release Notes:");
    let sections: Vec<&str> = c.sections.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(sections, vec!["Highlights", "Changes", "Upgrading"]);
    let table = c.sections[1].table.as_ref().expect("changes table");
    let cols: Vec<(&str, Vec<&str>)> = table
        .columns
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.allowed.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        cols,
        vec![
            ("Area", vec![]),
            ("Change", vec![]),
            ("Kind", vec!["Feature", "Fix", "Breaking"])
        ]
    );
    assert_eq!(c.placeholders, vec!["[version]", "[area]", "[change]"]);
    assert_eq!(c.folders, vec!["docs/releases/"]);
    let file = c.file_name.as_ref().expect("file name pattern");
    assert!(file.matches("notes-2-1-0.md"));
    assert!(!file.matches("regression-x.md"));
    // No quality section in this skill: only the runtime's own rules apply.
    assert!(!c.quality.blameless && !c.quality.specific && !c.quality.actionable);

    let good = "# Release Notes: 2.1.0\n\n## Highlights\n\nFaster sync.\n\n## Changes\n\n| Area | Change | Kind |\n|---|---|---|\n| sync | parallel fetch | Feature |\n\n## Upgrading\n\nNone.\n";
    let path = Path::new("docs/releases/notes-2-1-0.md");
    let findings = check(
        c,
        Document {
            text: good,
            path: Some(path),
        },
        None,
    );
    assert_eq!(findings, vec![]);
    assert!(skill.applies_to(path));

    let bad = good
        .replace("| Feature |", "| Chore |")
        .replace("## Upgrading\n\nNone.\n", "");
    let rules: Vec<(&str, usize)> = check(
        c,
        Document {
            text: &bad,
            path: Some(path),
        },
        None,
    )
    .iter()
    .map(|f| (f.rule, f.line))
    .collect();
    assert_eq!(
        rules,
        vec![("structure.missing-section", 11), ("table.value", 11)]
    );
}

#[test]
fn a_template_block_is_found_whatever_the_case_of_its_language() {
    for info in ["Markdown", "MD", "markdown title=template", "TEXT"] {
        let text = RELEASE_NOTES.replacen("```markdown", &format!("```{info}"), 1);
        assert_ne!(text, RELEASE_NOTES);
        let skill =
            Skill::parse(Path::new("skills/release-notes/SKILL.md"), &text).expect("parses");
        let c = skill
            .contract
            .as_ref()
            .unwrap_or_else(|| panic!("```{info}: no template"));
        assert_eq!(c.sections.len(), 3, "```{info}");
    }
    let rust = RELEASE_NOTES.replacen("```markdown", "```rust", 1);
    let skill = Skill::parse(Path::new("skills/release-notes/SKILL.md"), &rust).expect("parses");
    assert!(skill.contract.is_none(), "a code sample is not a template");
}

/// A template heading below `##` is not required of a document, and a template with no `##`
/// section holds a document to its title only: `skills lint` says both.
#[test]
fn lint_names_template_headings_that_check_nothing() {
    use skillrun::skill::lint::{LintOptions, lint};
    let warnings = |text: &str| -> Vec<String> {
        let skill = Skill::parse(Path::new("skills/release-notes/SKILL.md"), text).expect("parses");
        lint(&skill, &LintOptions::default())
            .into_iter()
            .filter(|f| f.rule == "skill.template")
            .map(|f| f.message)
            .collect()
    };
    assert_eq!(warnings(RELEASE_NOTES), Vec::<String>::new());
    let sub = RELEASE_NOTES.replacen(
        "## Upgrading",
        "### Breaking\n\n[breaking]\n\n## Upgrading",
        1,
    );
    assert_ne!(sub, RELEASE_NOTES);
    assert_eq!(
        warnings(&sub),
        ["template heading `### Breaking` is not checked: a document is held to the `##` sections"]
    );
    let no_sections = "---\nname: release-notes\ndescription: Notes.\n---\n\n## Template\n\n```markdown\n# Notes: [version]\n\nText.\n```\n";
    assert_eq!(
        warnings(no_sections),
        ["the template has no `##` section, so `check` holds a document to its title only"]
    );
}

#[test]
fn a_skill_without_template_has_no_contract() {
    let text =
        "---\nname: haiku\ndescription: Write a haiku.\n---\n\n# Haiku\n\nFive, seven, five.\n";
    let skill = Skill::parse(Path::new("skills/haiku/SKILL.md"), text).expect("parses");
    assert!(skill.contract.is_none());
}

#[test]
fn apply_to_matches_the_file_or_a_folder_holding_it() {
    let skill = Skill::load(&seed_path()).expect("seed loads");
    assert!(skill.applies_to(Path::new("docs/postmortems/regression-x.md")));
    assert!(skill.applies_to(Path::new("postmortem-2024.md")));
    assert!(!skill.applies_to(Path::new("docs/adr/0001-use-rust.md")));
}
