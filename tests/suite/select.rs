//! A prompt selects its skill from triggers, deterministically, with a score.

use std::path::Path;

use skillrun::skill::{Skill, select};

use super::support::seed_path;

fn skills() -> Vec<Skill> {
    let other = Skill::parse(
        Path::new("skills/release-notes/SKILL.md"),
        "---\nname: release-notes\ndescription: Use when asked to \"write release notes\" or \"summarize a release\".\n---\n\nBody.\n",
    )
    .expect("parses");
    vec![Skill::load(&seed_path()).expect("seed"), other]
}

#[test]
fn postmortem_prompts_select_postmortem() {
    let skills = skills();
    for prompt in [
        "write a postmortem for the auth outage",
        "document the incident where config changes broke prod deployments",
        "root cause analysis of the billing data corruption",
        "incident review for last Tuesday",
        "Write a Postmortem for the payment outage",
        // The trigger's verb said with another: "document an incident".
        "write an incident summary for the login crash",
        "draft the incident doc for the cache outage",
    ] {
        let sel = select(prompt, &skills).unwrap_or_else(|| panic!("{prompt:?} selects nothing"));
        assert_eq!(sel.skill, "postmortem", "{prompt:?}");
        assert!(sel.score >= 0.75, "{prompt:?}: {sel:?}");
    }
}

#[test]
fn other_prompts_select_other_skills_or_nothing() {
    let skills = skills();
    assert_eq!(
        select("write release notes for 2.1", &skills).map(|s| s.skill),
        Some("release-notes".to_string())
    );
    for prompt in [
        "write a haiku about rust",
        "document the API",
        "create a new file",
        // The trigger's noun without any verb asking for a document.
        "how many incidents did we have",
        "",
    ] {
        assert_eq!(select(prompt, &skills), None, "{prompt:?}");
    }
}

#[test]
fn selection_is_deterministic() {
    let skills = skills();
    let a = select("incident review for last Tuesday", &skills);
    for _ in 0..10 {
        assert_eq!(select("incident review for last Tuesday", &skills), a);
    }
}
