//! Any bytes as a `SKILL.md`: decoding, front matter, lint and contract derivation must
//! return a value or an error, never panic or hang.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use skillrun::skill::Skill;
use skillrun::skill::lint::{LintOptions, lint};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = skillrun::text::decode(data, skillrun::skill::MAX_SKILL_BYTES) else {
        return;
    };
    if let Ok(skill) = Skill::parse(Path::new("skills/fuzz/SKILL.md"), &text) {
        let _ = lint(&skill, &LintOptions::default());
        let _ = skill.applies_to(Path::new("docs/postmortems/x.md"));
    }
});
