//! The checker: a valid postmortem passes, each rule fails on its own example with its rule
//! id and line, and a real-world variant of the template gets a short list.

use std::path::Path;

use skillrun::diag::{Finding, Severity};
use skillrun::repo::RepoFacts;
use skillrun::skill::Skill;
use skillrun::{Document, check};

use super::support::{PaymentsRepo, payments_repo, seed_path, valid_postmortem};

const DOC_PATH: &str = "docs/postmortems/regression-payment-retry-thundering-herd.md";

fn seed() -> Skill {
    Skill::load(&seed_path()).expect("seed loads")
}

fn run(doc: &str, repo: Option<&RepoFacts>) -> Vec<Finding> {
    run_at(doc, repo, DOC_PATH)
}

fn run_at(doc: &str, repo: Option<&RepoFacts>, path: &str) -> Vec<Finding> {
    let skill = seed();
    let contract = skill.contract.as_ref().expect("seed has a template");
    check(
        contract,
        Document {
            text: doc,
            path: Some(Path::new(path)),
        },
        repo,
    )
}

/// (rule, line, severity) of each finding.
fn summary(findings: &[Finding]) -> Vec<(&'static str, usize, Severity)> {
    findings
        .iter()
        .map(|f| (f.rule, f.line, f.severity))
        .collect()
}

/// 1-based line of the first line holding `needle`.
fn line_of(doc: &str, needle: &str) -> usize {
    doc.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in document"))
        + 1
}

struct Fixture {
    p: PaymentsRepo,
    facts: RepoFacts,
    doc: String,
}

fn fixture() -> Fixture {
    let p = payments_repo();
    let facts = RepoFacts::open(p.repo.path()).expect("repo opens");
    let doc = valid_postmortem(&p.bug, &p.fix);
    Fixture { p, facts, doc }
}

fn replace_once(doc: &str, from: &str, to: &str) -> String {
    assert!(doc.contains(from), "{from:?} not in document");
    doc.replacen(from, to, 1)
}

use Severity::{Error, Warning};

#[test]
fn valid_postmortem_passes_with_and_without_repo() {
    let f = fixture();
    assert_eq!(summary(&run(&f.doc, Some(&f.facts))), vec![]);
    // Without the repository its forge is unknown, so the link to it is an outside link.
    let forge_link = line_of(&f.doc, "https://github.com/acme/payments/commit/");
    assert_eq!(
        summary(&run(&f.doc, None)),
        vec![("link", forge_link, Error)]
    );
}

#[test]
fn title_must_follow_template() {
    let f = fixture();
    let doc = replace_once(&f.doc, "# Postmortem: Payment", "# Payment");
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("structure.title", 1, Error)]
    );
    let doc = replace_once(
        &f.doc,
        "# Postmortem: Payment Retry Thundering Herd",
        "# Postmortem:",
    );
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("structure.title", 1, Error)]
    );
}

#[test]
fn missing_section_is_reported_where_it_belongs() {
    let f = fixture();
    let start = f.doc.find("## Why It Escaped").expect("section");
    let end = f.doc.find("## Fix").expect("section");
    let doc = format!("{}{}", &f.doc[..start], &f.doc[end..]);
    let findings = run(&doc, Some(&f.facts));
    assert_eq!(
        summary(&findings),
        vec![("structure.missing-section", line_of(&doc, "## Fix"), Error)]
    );
    assert_eq!(findings[0].message, "missing section `## Why It Escaped`");
    assert!(
        findings[0]
            .hint
            .as_deref()
            .is_some_and(|h| h.starts_with("add it after `## Root Cause`")),
        "{findings:?}"
    );
}

#[test]
fn sections_out_of_order() {
    let f = fixture();
    let em = f.doc.find("## Error Manifestation").expect("em");
    let rc = f.doc.find("## Root Cause").expect("rc");
    let why = f.doc.find("## Why It Escaped").expect("why");
    let doc = format!(
        "{}{}{}{}",
        &f.doc[..em],
        &f.doc[rc..why],
        &f.doc[em..rc],
        &f.doc[why..]
    );
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![(
            "structure.section-order",
            line_of(&doc, "## Error Manifestation"),
            Error
        )]
    );
}

#[test]
fn empty_section() {
    let f = fixture();
    let doc = replace_once(
        &f.doc,
        "The retry policy assumed retries from many instances were uncorrelated. Linear backoff\nsynchronised them, and the gateway's 429 responses were retried immediately.\n",
        "",
    );
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![(
            "structure.empty-section",
            line_of(&doc, "## Root Cause"),
            Error
        )]
    );
}

/// A section that holds only an HTML comment renders empty; a heading inside a block quote
/// or a list item is part of it, not the section.
#[test]
fn a_comment_fills_no_section_and_a_quoted_heading_is_no_section() {
    let f = fixture();
    let cause = "The retry policy assumed retries from many instances were uncorrelated. Linear backoff\nsynchronised them, and the gateway's 429 responses were retried immediately.\n";
    for filler in ["<!-- TODO -->\n", "<!-- TODO: the cause,\nonce known -->\n"] {
        let doc = replace_once(&f.doc, cause, filler);
        assert_eq!(
            summary(&run(&doc, Some(&f.facts))),
            vec![(
                "structure.empty-section",
                line_of(&doc, "## Root Cause"),
                Error
            )],
            "{filler:?}"
        );
    }
    // Text beside a comment still fills it.
    let doc = replace_once(&f.doc, cause, &format!("<!-- checked -->\n\n{cause}"));
    assert_eq!(summary(&run(&doc, Some(&f.facts))), vec![]);

    for quoted in ["> ## Root Cause", "- ## Root Cause"] {
        let doc = replace_once(&f.doc, "## Root Cause", quoted);
        let rules: Vec<&str> = summary(&run(&doc, Some(&f.facts)))
            .into_iter()
            .map(|(rule, _, _)| rule)
            .collect();
        assert!(
            rules.contains(&"structure.missing-section"),
            "{quoted}: {rules:?}"
        );
    }
}

#[test]
fn heading_level_differs() {
    let f = fixture();
    let doc = replace_once(&f.doc, "## Fix", "### Fix");
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("structure.heading-level", line_of(&doc, "### Fix"), Warning)]
    );
}

#[test]
fn table_missing_columns_empty() {
    let f = fixture();
    let table_start = f.doc.find("| Date").expect("timeline table");
    let table_end = f.doc.find("## Prevention").expect("prevention");
    let doc = format!(
        "{}- 2024-12-03: the change was merged\n\n{}",
        &f.doc[..table_start],
        &f.doc[table_end..]
    );
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("table.missing", line_of(&doc, "## Timeline"), Error)]
    );

    let doc = replace_once(&f.doc, "| Date       | Event ", "| Date       | What  ");
    let findings = run(&doc, Some(&f.facts));
    assert_eq!(
        summary(&findings),
        vec![("table.columns", line_of(&doc, "| Date"), Error)]
    );
    assert_eq!(
        findings[0].message,
        "`Timeline` table lacks column `Event` (it has Date | What)"
    );

    let doc = format!(
        "{}| Date | Event |\n| ---- | ----- |\n\n{}",
        &f.doc[..table_start],
        &f.doc[table_end..]
    );
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("table.empty", line_of(&doc, "| Date | Event |"), Error)]
    );
}

#[test]
fn table_values_and_dates() {
    let f = fixture();
    let doc = replace_once(&f.doc, "| Test | ☐ ", "| Code | ☐ ");
    let findings = run(&doc, Some(&f.facts));
    assert_eq!(
        summary(&findings),
        vec![("table.value", line_of(&doc, "| Code |"), Error)]
    );
    assert_eq!(
        findings[0].message,
        "Type \"Code\" is not one of Test, CI, Process, Docs"
    );

    let doc = replace_once(&f.doc, "| 2024-12-05 | `v1.1.1`", "| yesterday  | `v1.1.1`");
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("table.date", line_of(&doc, "| yesterday"), Warning)]
    );
}

#[test]
fn a_paragraph_written_right_under_a_table_is_named_as_a_row() {
    // With no blank line between, GitHub renders the paragraph as one more row: the finding
    // says so, instead of judging its empty cells against the column's choices.
    let f = fixture();
    let doc = replace_once(
        &f.doc,
        "| CI   | ✅     |\n",
        "| CI   | ✅     |\nThe owners review these actions monthly.\n",
    );
    let findings = run(&doc, Some(&f.facts));
    assert_eq!(
        summary(&findings),
        vec![("table.row", line_of(&doc, "The owners review"), Error)]
    );
    assert_eq!(
        findings[0].message,
        "\"The owners review these actions monthly.\" is read as a row of the `Prevention` table, not as a paragraph"
    );
    assert_eq!(
        findings[0].hint.as_deref(),
        Some("leave a blank line between a table and the text under it")
    );
    // With the blank line it is a paragraph, and the document passes.
    let doc = replace_once(
        &f.doc,
        "| CI   | ✅     |\n",
        "| CI   | ✅     |\n\nThe owners review these actions monthly.\n",
    );
    assert_eq!(summary(&run(&doc, Some(&f.facts))), vec![]);
}

#[test]
fn placeholders_and_guidance_must_not_survive() {
    let f = fixture();
    let doc = replace_once(&f.doc, "| 2024-12-05 | `v1.1.1`", "| [date]     | `v1.1.1`");
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("placeholder", line_of(&doc, "[date]"), Error)]
    );
    let doc = replace_once(
        &f.doc,
        "Payments failed for part",
        "2-3 sentences: payments failed for part",
    );
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("placeholder", line_of(&doc, "2-3 sentences"), Error)]
    );
}

#[test]
fn secrets_and_pii_are_refused_without_being_echoed() {
    let f = fixture();
    let key = "AKIAZ3MHQ4TN7XK2P5WQ";
    let doc = replace_once(
        &f.doc,
        "See [the retry policy]",
        &format!("The gateway key {key} was rotated.\nSee [the retry policy]"),
    );
    let findings = run(&doc, Some(&f.facts));
    assert_eq!(
        summary(&findings),
        vec![("secret", line_of(&doc, key), Error)]
    );
    assert!(!findings[0].to_string().contains(key), "{}", findings[0]);
    assert!(
        findings[0].message.contains("AWS access key"),
        "{}",
        findings[0]
    );

    let doc = replace_once(
        &f.doc,
        "Checkout returned",
        "Reported to ops-team@example.com: checkout returned",
    );
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("pii", line_of(&doc, "ops-team@"), Error)]
    );
}

#[test]
fn links_only_into_the_repository_or_its_forge() {
    let f = fixture();
    let doc = replace_once(
        &f.doc,
        "See [the retry policy]",
        "![graph](https://evil.example/pixel.png?d=abc)\nSee [the retry policy]",
    );
    let findings = run(&doc, Some(&f.facts));
    assert_eq!(
        summary(&findings),
        vec![("link", line_of(&doc, "![graph]"), Error)]
    );
    assert_eq!(
        findings[0].message,
        "image from outside host `evil.example`"
    );

    // A bare URL in text counts too; so does a link to another repository on the same forge.
    let doc = replace_once(
        &f.doc,
        "See [the retry policy]",
        "Details at https://paste.example/x and [elsewhere](https://github.com/other/repo).\nSee [the retry policy]",
    );
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![
            ("link", line_of(&doc, "paste.example"), Error),
            ("link", line_of(&doc, "paste.example"), Error)
        ]
    );
}

/// `.mailmap` gives a person's name as the project writes it: naming them so is naming them.
#[test]
fn blameless_reads_the_names_mailmap_gives() {
    let mut p = payments_repo();
    p.repo.commit(
        &[(
            ".mailmap",
            "Robert Real <bob.real@example.com> Bob Builder <bob@example.com>\n",
        )],
        "Add a mailmap",
        "Alice Example <alice@example.com>",
        "2024-12-06",
    );
    let facts = RepoFacts::open(p.repo.path()).expect("repo opens");
    let doc = replace_once(
        &valid_postmortem(&p.bug, &p.fix),
        "The retry policy assumed",
        "Robert Real assumed the retry policy assumed",
    );
    let findings = run(&doc, Some(&facts));
    assert_eq!(
        summary(&findings),
        vec![("blameless", line_of(&doc, "Robert Real assumed"), Error)]
    );
}

#[test]
fn blameless_with_repo_authors_and_without_repo_handles() {
    let f = fixture();
    let doc = replace_once(
        &f.doc,
        "The retry policy assumed",
        "Bob Builder assumed the retry policy assumed",
    );
    let findings = run(&doc, Some(&f.facts));
    assert_eq!(
        summary(&findings),
        vec![("blameless", line_of(&doc, "Bob Builder assumed"), Error)]
    );
    assert_eq!(
        findings[0].message,
        "`Root Cause` names a person (Bob Builder)"
    );

    let doc = replace_once(
        &f.doc,
        "The retry policy assumed",
        "As @bob wrote, the retry policy assumed",
    );
    assert_eq!(
        summary(&run(&doc, None)),
        vec![
            ("blameless", line_of(&doc, "@bob"), Error),
            ("link", line_of(&doc, "https://github.com/acme"), Error)
        ]
    );
    // In the timeline, people may be named.
    assert!(f.doc.contains("by Bob Builder made backoff linear"));
}

#[test]
fn a_one_word_name_counts_as_the_history_writes_it() {
    // rdma-core has an author named `Work`: "work requests" and "Work-request" are words,
    // not that person; `Heiner` is a person wherever the document names them.
    let mut f = fixture();
    f.p.repo.commit(
        &[("NOTES", "a\n")],
        "notes",
        "Work <work@example.com>",
        "2024-12-06",
    );
    f.p.repo.commit(
        &[("NOTES", "b\n")],
        "notes",
        "Heiner <h@example.com>",
        "2024-12-07",
    );
    let facts = RepoFacts::open(f.p.repo.path()).expect("repo opens");
    let doc = replace_once(
        &f.doc,
        "The retry policy assumed",
        "Posted work requests and a Work-request queue show the retry policy assumed",
    );
    assert_eq!(summary(&run(&doc, Some(&facts))), vec![]);
    let doc = replace_once(
        &f.doc,
        "The retry policy assumed",
        "As Heiner noted, the retry policy assumed",
    );
    let findings = run(&doc, Some(&facts));
    assert_eq!(
        summary(&findings),
        vec![("blameless", line_of(&doc, "As Heiner noted"), Error)]
    );
    assert_eq!(findings[0].message, "`Root Cause` names a person (Heiner)");
}

#[test]
fn specific_citations_must_exist() {
    let f = fixture();
    let fix7 = &f.p.fix[..7];
    let doc = replace_once(
        &f.doc,
        &format!("Commit {fix7} restored"),
        "Commit 1234abc restored",
    );
    let findings = run(&doc, Some(&f.facts));
    assert_eq!(
        summary(&findings),
        vec![("specific.unknown-commit", line_of(&doc, "1234abc"), Error)]
    );

    let doc = replace_once(
        &f.doc,
        "(../../src/payments/retry.rs)",
        "(../../src/payments/gone.rs)",
    );
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("specific.unknown-path", line_of(&doc, "gone.rs"), Error)]
    );

    let doc = replace_once(&f.doc, "it shipped in `v1.1.1`", "it shipped in `v9.9.9`");
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("specific.unknown-tag", line_of(&doc, "v9.9.9"), Warning)]
    );

    let bare = "# Postmortem: Something Broke\n\n## Summary\n\nIt broke.\n\n## Error Manifestation\n\nErrors.\n\n## Root Cause\n\nAn assumption.\n\n## Why It Escaped\n\nNo test.\n\n## Fix\n\nA change.\n\n## Timeline\n\n| Date | Event |\n|---|---|\n| 2024-12-03 | broke |\n\n## Prevention\n\n| Action | Type | Status |\n|---|---|---|\n| Add a test | Test | ☐ |\n";
    assert_eq!(
        summary(&run(bare, Some(&f.facts))),
        vec![("specific.no-citation", 1, Error)]
    );
    assert_eq!(
        summary(&run(bare, None)),
        vec![("specific.no-citation", 1, Warning)]
    );
}

/// A postmortem as people write them on a forge: it cites the pull requests that brought
/// the bug in and fixed it, by number and by link, and its Prevention cells carry notes.
#[test]
fn pull_requests_the_history_names_are_citations() {
    let mut p = payments_repo();
    p.repo.commit(
        &[(
            "src/payments/retry.rs",
            "pub fn backoff(n: u32) -> u64 { 100 }\n",
        )],
        "Cap the retry backoff (#4321)\n\nFixes #4300",
        "Carol Fixer <carol@example.com>",
        "2024-12-09",
    );
    let facts = RepoFacts::open(p.repo.path()).expect("repo opens");
    let doc = |fix: &str, prevention: &str| {
        format!(
            "# Postmortem: Something Broke\n\n## Summary\n\nIt broke.\n\n## Error Manifestation\n\nErrors.\n\n## Root Cause\n\nAn assumption.\n\n## Why It Escaped\n\nNo test.\n\n## Fix\n\n{fix}\n\n## Timeline\n\n| Date | Event |\n|---|---|\n| 2024-12-03 | broke |\n\n## Prevention\n\n| Action | Type | Status |\n|---|---|---|\n{prevention}\n"
        )
    };
    let noted =
        "| Add a test | Test + CI | ✅ Done (#4321) |\n| Document the cap | Docs | ☐ planned |";
    for fix in [
        "PR #4321 capped the backoff.",
        "[The fix](https://github.com/acme/payments/pull/4321) capped the backoff.",
        "The report, #4300, was closed by the fix.",
    ] {
        assert_eq!(
            summary(&run(&doc(fix, noted), Some(&facts))),
            vec![],
            "{fix}"
        );
    }
    // A number no commit message names is not a citation, and a link to another
    // repository's pull request is an outside link.
    let plain = "| Add a test | Test | ☐ |";
    assert_eq!(
        summary(&run(
            &doc("PR #9999 capped the backoff.", plain),
            Some(&facts)
        )),
        vec![("specific.no-citation", 1, Error)]
    );
    let other = doc(
        "[The fix](https://github.com/other/payments/pull/4321) capped it.",
        plain,
    );
    assert_eq!(
        summary(&run(&other, Some(&facts))),
        vec![
            ("specific.no-citation", 1, Error),
            ("link", line_of(&other, "other/payments"), Error)
        ]
    );
    // The template's own list of choices is not a choice.
    let unchosen = doc(
        "PR #4321 capped the backoff.",
        "| Add a test | Test | ✅/☐ |",
    );
    assert_eq!(
        summary(&run(&unchosen, Some(&facts))),
        vec![
            ("actionable", line_of(&unchosen, "| Action |"), Error),
            ("table.value", line_of(&unchosen, "✅/☐"), Error)
        ]
    );
}

#[test]
fn actionable_needs_a_complete_prevention_row() {
    let f = fixture();
    let doc = replace_once(
        &f.doc,
        "| Add a gateway mock that answers 429 to the tests |",
        "|                                                  |",
    );
    let doc = replace_once(
        &doc,
        "| Require a test change for `src/payments/retry.rs` |",
        "|  |",
    );
    assert_eq!(
        summary(&run(&doc, Some(&f.facts))),
        vec![("actionable", line_of(&doc, "| Action"), Error)]
    );
}

#[test]
fn file_name_convention() {
    let f = fixture();
    assert_eq!(
        summary(&run_at(
            &f.doc,
            Some(&f.facts),
            "docs/postmortems/Payment Outage.md"
        )),
        vec![("convention.file-name", 1, Warning)]
    );
}

#[test]
fn real_world_variant_gets_a_short_precise_list() {
    let f = fixture();
    let bug7 = &f.p.bug[..7];
    let doc = format!(
        "# Postmortem: Retry storm

## Summary

Commit {bug7} made retries in `src/payments/retry.rs` linear.

## Error Manifestation

Errors at checkout.

## Root Cause

Retries were assumed to be uncorrelated.

## Why It Escaped

No load test with a rate-limited gateway.

## Fix

Exponential backoff restored.

## Regression Tests

`tests/retry_test.rs` now covers a 429 storm.

## Timeline

| Date | PR | Change |
|------|----|--------|
| 2024-12-03 | #482 | backoff made linear |
| 2024-12-05 | #490 | backoff restored |
"
    );
    let findings = run(&doc, Some(&f.facts));
    assert_eq!(
        summary(&findings),
        vec![
            ("table.columns", line_of(&doc, "| Date | PR |"), Error),
            ("structure.missing-section", doc.lines().count(), Error),
        ]
    );
    assert_eq!(
        findings[0].message,
        "`Timeline` table lacks column `Event` (it has Date | PR | Change)"
    );
    assert_eq!(findings[1].message, "missing section `## Prevention`");
}

#[test]
fn bom_and_crlf_documents_check_like_plain_ones() {
    let f = fixture();
    let crlf = format!("\u{feff}{}", f.doc.replace('\n', "\r\n"));
    let text = skillrun::text::decode(crlf.as_bytes(), 1 << 20).expect("decodes");
    assert_eq!(text, f.doc);
    assert_eq!(summary(&run(&text, Some(&f.facts))), vec![]);
}

#[test]
fn empty_and_garbage_documents_get_findings_not_panics() {
    for doc in [
        "",
        "\n\n",
        "|||\n|-|\n",
        "# \n## \n",
        "```\nunclosed",
        "<!--",
        "[x]: <>\n",
    ] {
        let findings = run(doc, None);
        assert!(
            findings.iter().any(|f| f.rule == "structure.title"),
            "{doc:?}: {findings:?}"
        );
    }
}
