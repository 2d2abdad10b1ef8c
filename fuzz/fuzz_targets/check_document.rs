//! Any text as a document checked against the postmortem contract: findings, never a panic.
#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use skillrun::skill::{Contract, Skill};
use skillrun::{Document, check};

static CONTRACT: LazyLock<Contract> = LazyLock::new(|| {
    Skill::builtin("postmortem")
        .and_then(|s| s.contract)
        .unwrap_or_else(|| panic!("the postmortem skill has a contract"))
});

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let findings = check(
        &CONTRACT,
        Document {
            text,
            path: Some(Path::new("docs/postmortems/regression-fuzz.md")),
        },
        None,
    );
    for f in findings {
        assert!(f.line >= 1, "line numbers start at 1: {f:?}");
    }
});
