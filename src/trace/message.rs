//! Reading the fix message: the trailers that name the cause (stripped when they are to be
//! ignored), commit ids in prose and what their clause says of them, quoted subjects, the
//! subsystem prefix and the function names it mentions.

use std::collections::HashSet;

/// Identifiers from the fix message looked up at most.
const MAX_MESSAGE_IDENTS: usize = 6;

/// Trailer keys that name the cause, lowercased with their colon.
const CAUSE_TRAILERS: &[&str] = &[
    "fixes:",
    "reverts:",
    "revert:",
    "introduced-by:",
    "caused-by:",
    "regressed-by:",
];

/// The sha a cause-naming trailer line names (`Fixes: 0123abcd ("...")`), if it is one.
fn cause_trailer_sha(line: &str) -> Option<String> {
    let l = line.trim_start();
    let lower = l.to_ascii_lowercase();
    let key = CAUSE_TRAILERS.iter().find(|k| lower.starts_with(**k))?;
    let mut words = l[key.len()..].split_whitespace();
    let mut w = words.next()?;
    if w.eq_ignore_ascii_case("commit") {
        w = words.next()?;
    }
    let w = w.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    (w.len() >= 7 && w.len() <= 40 && w.chars().all(|c| c.is_ascii_hexdigit()))
        .then(|| w.to_ascii_lowercase())
}

/// Whether `line` starts a trailer (`Key-Word: value`).
fn looks_like_trailer(line: &str) -> bool {
    line.split_once(": ").is_some_and(|(k, _)| {
        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// The message without cause-naming trailers (a wrapped `("subject ...")` continuation goes
/// with its trailer).
pub fn strip_cause_trailers(message: &str) -> String {
    let mut out = Vec::new();
    let mut in_trailer = false;
    for line in message.lines() {
        if in_trailer {
            if line.contains("\")") {
                in_trailer = false;
                continue;
            }
            if !(line.trim().is_empty() || looks_like_trailer(line)) {
                continue;
            }
            in_trailer = false;
        }
        if cause_trailer_sha(line).is_some() {
            in_trailer = line.contains("(\"") && !line.contains("\")");
            continue;
        }
        out.push(line);
    }
    out.join("\n")
}

/// Shas named by cause-naming trailers.
pub(super) fn trailer_shas(message: &str) -> Vec<String> {
    message.lines().filter_map(cause_trailer_sha).collect()
}

/// How the fix message refers to a commit by its id, weakest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(super) enum ShaRef {
    /// Named as another change the fix draws on or follows ("a fix based on X", "a
    /// similar issue as in X", "exposed by X", "cherry picked from commit X").
    Reference,
    /// Named, nothing more ("commit X changed ...").
    Named,
    /// Named as the change that brought the bug in ("X introduced this regression",
    /// "broken since X").
    Cause,
    /// Named as the change the fix reverts.
    Reverted,
    /// Named as a change the fix reverts in part ("this partially reverts X", "the patch
    /// mostly reverts X").
    PartlyReverted,
}

/// Words that, just before "revert" or joined to it by a hyphen, say the revert is of a
/// part.
const PART_WORDS: &[&str] = &["partial", "partially", "partly", "mostly", "part"];

/// Word stems that, in the clause naming a commit, say it brought the bug in.
const CAUSE_WORDS: &[&str] = &["regress", "broke", "caused", "culprit"];
/// "Introduced" says it too when the clause also names a bug ("introduced a leak"), and
/// not alone ("introduced more precise timing").
const BUG_WORDS: &[&str] = &[
    "bug", "issue", "problem", "leak", "crash", "race", "deadlock", "overflow", "error", "failure",
    "breakage",
];

/// Word stems that, just before a commit id, say the fix only refers to it: it builds on
/// it, repeats it elsewhere, or was only brought to light by it.
const REFERENCE_WORDS: &[&str] = &[
    "similar",
    "based",
    "reuse",
    "solution",
    "already",
    "attempt",
    "exposed",
    "surfaced",
    "reinstat",
    "cherry",
    "inspired",
    "analogous",
    "likewise",
];
/// How many words before an id [`REFERENCE_WORDS`] are looked for.
const REFERENCE_WINDOW: usize = 6;

/// Hex words of 7 to 40 digits in prose, with how the message refers to each: "revert"
/// or "since" just before, or a clause that [`says_cause`] (quoted text and other
/// parentheses left out: a quoted subject's "introduce" says nothing of the bug).
pub(super) fn prose_shas(message: &str) -> Vec<(String, ShaRef)> {
    let lower = message.to_ascii_lowercase();
    let mut out = Vec::new();
    // (byte offset in `lower`, word)
    let words: Vec<(usize, &str)> = lower
        .split_whitespace()
        .map(|w| (w.as_ptr() as usize - lower.as_ptr() as usize, w))
        .collect();
    for (i, &(at, raw)) in words.iter().enumerate() {
        let w = raw.trim_matches(|c: char| !c.is_ascii_alphanumeric());
        if !((7..=40).contains(&w.len())
            && w.chars().all(|c| c.is_ascii_hexdigit())
            && w.chars().any(|c| c.is_ascii_digit())
            && w.chars().any(|c| c.is_ascii_alphabetic()))
        {
            continue;
        }
        let before: Vec<&str> = words[i.saturating_sub(3)..i]
            .iter()
            .map(|(_, w)| *w)
            .collect();
        let how = if let Some(r) = before.iter().position(|b| b.contains("revert")) {
            // "partially reverts X", "partial revert of X", "mostly reverts X".
            let part = |w: &str| {
                w.split(|c: char| !c.is_ascii_alphanumeric())
                    .any(|piece| PART_WORDS.contains(&piece))
            };
            let said_before = words[..i - before.len() + r]
                .last()
                .is_some_and(|(_, w)| part(w));
            if said_before || part(before[r]) {
                ShaRef::PartlyReverted
            } else {
                ShaRef::Reverted
            }
        } else if before.contains(&"since") || says_cause(&clause_of(&lower, at)) {
            ShaRef::Cause
        } else if refers_only(&words[..i]) {
            ShaRef::Reference
        } else {
            ShaRef::Named
        };
        out.push((w.to_string(), how));
    }
    out
}

/// Whether the words just before an id, in its sentence, say the fix only refers to it.
fn refers_only(before: &[(usize, &str)]) -> bool {
    before
        .iter()
        .rev()
        .take(REFERENCE_WINDOW)
        .take_while(|(_, w)| !w.ends_with('.'))
        .any(|(_, w)| {
            let w = w.trim_start_matches(|c: char| !c.is_ascii_alphanumeric());
            REFERENCE_WORDS.iter().any(|r| w.starts_with(r))
        })
}

/// Whether a (lowercase) clause says the commit it names brought the bug in.
fn says_cause(clause: &str) -> bool {
    CAUSE_WORDS.iter().any(|c| clause.contains(c))
        || (clause.contains("introduc") && BUG_WORDS.iter().any(|b| clause.contains(b)))
}

/// The clause of `text` around byte `at`: its sentence without quoted or parenthesised
/// text, or, when `at` is inside parentheses, what the parentheses hold.
fn clause_of(text: &str, at: usize) -> String {
    let starts = [". ", ".\n", "\n\n", "; "];
    let start = starts
        .iter()
        .filter_map(|p| text[..at].rfind(p).map(|i| i + p.len()))
        .max()
        .unwrap_or(0);
    let end = starts
        .iter()
        .filter_map(|p| text[at..].find(p).map(|i| at + i))
        .min()
        .unwrap_or(text.len());
    let sentence = &text[start..end];
    let at = at - start;
    let open = sentence[..at].rfind('(');
    if let Some(o) = open
        && sentence[o..at].find(')').is_none()
    {
        let close = sentence[at..].find(')').map_or(sentence.len(), |c| at + c);
        return sentence[o + 1..close].to_string();
    }
    // A parenthesis right after the id that is not a quoted subject speaks of it:
    // "918e824 (which brought the regression)".
    let word_end = sentence[at..]
        .find(char::is_whitespace)
        .map_or(sentence.len(), |e| at + e);
    let after = sentence[word_end..].trim_start();
    let mut plain = String::with_capacity(sentence.len());
    if let Some(inner) = after.strip_prefix('(')
        && !inner.starts_with('"')
    {
        plain.push_str(&inner[..inner.find(')').unwrap_or(inner.len())]);
        plain.push(' ');
    }
    let (mut paren, mut quoted) = (0usize, false);
    for c in sentence.chars() {
        match c {
            '"' => quoted = !quoted,
            '(' if !quoted => paren += 1,
            ')' if !quoted && paren > 0 => paren -= 1,
            _ if paren == 0 && !quoted => plain.push(c),
            _ => {}
        }
    }
    plain
}

/// Texts in double quotes of at least three words (quoted commit subjects).
pub(super) fn quoted_subjects(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    let joined = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut rest = joined.as_str();
    while let Some(start) = rest.find('"') {
        let after = &rest[start + 1..];
        let Some(end) = after.find('"') else { break };
        let q = after[..end].trim();
        if q.split_whitespace().count() >= 3 && q.len() <= 200 {
            out.push(q.to_string());
        }
        rest = &after[end + 1..];
    }
    out
}

/// The subsystem prefix of a subject (`tc: fq:` of `tc: fq: fix ...`), lowercased. In a
/// Conventional Commits subject the scope is the subsystem (`vmm:` of `fix(vmm): ...`), and
/// a bare type that says what kind of change it is (`fix:`, `feat:`, `chore:`) names none.
pub(super) fn subsystem_prefix(subject: &str) -> Option<String> {
    split_prefix(subject).0
}

/// [`subsystem_prefix`] of `subject`, and the rest of the subject after every head read.
pub(super) fn split_prefix(subject: &str) -> (Option<String>, &str) {
    let (heads, rest) = subject_parts(subject);
    let prefix: String = heads
        .iter()
        .map(|h| format!("{}: ", h.to_ascii_lowercase()))
        .collect();
    (
        (!prefix.is_empty()).then(|| prefix.trim_end().to_string()),
        rest,
    )
}

/// A commit subject's subsystem heads as written (`libblkid`, `zfs` of "libblkid: zfs: fix
/// ..."; `vsock` of a Conventional Commits "fix(vsock): ..."; a bare "fix: " is no head),
/// and the rest of the subject.
pub fn subject_parts(subject: &str) -> (Vec<&str>, &str) {
    let mut heads = Vec::new();
    let mut rest = subject.trim();
    while let Some(i) = rest.find(": ") {
        let head = &rest[..i];
        if head.is_empty()
            || head.len() > 40
            || head.contains(' ') && head.split_whitespace().count() > 2
        {
            break;
        }
        rest = &rest[i + 2..];
        match conventional_type(&head.to_ascii_lowercase()) {
            Some(Some(_)) => {
                // Lowercasing keeps byte offsets, so the scope is found in `head` itself.
                let open = head.find('(').map_or(0, |o| o + 1);
                let close = head.rfind(')').unwrap_or(head.len()).max(open);
                heads.push(head[open..close].trim());
            }
            Some(None) => {}
            None => heads.push(head),
        }
    }
    (heads, rest)
}

/// Change types of Conventional Commits that no project names a folder after.
const CHANGE_TYPES: &[&str] = &["feat", "fix", "chore", "refactor", "style", "perf"];

/// A Conventional Commits head (lowercased): `Some(Some(scope))` for `type(scope)` or
/// `type(scope)!`, `Some(None)` for a bare change type, `None` for anything else (`tc`,
/// `docs`: a folder as often as a type).
fn conventional_type(head: &str) -> Option<Option<&str>> {
    let head = head.strip_suffix('!').unwrap_or(head);
    match head.split_once('(') {
        Some((kind, scope)) => {
            let scope = scope.strip_suffix(')')?.trim();
            let is_word = |w: &str| !w.is_empty() && w.bytes().all(|b| b.is_ascii_lowercase());
            (is_word(kind) && !scope.is_empty() && !scope.contains(['(', ')']))
                .then_some(Some(scope))
        }
        None => CHANGE_TYPES.contains(&head).then_some(None),
    }
}

/// Identifiers the message names as code: `name()` or words with `_` or camelCase inner
/// capitals that look like symbols.
pub(super) fn message_identifiers(message: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let bytes = message.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i].is_ascii_alphabetic() || bytes[i] == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let w = &message[start..i];
            let called = message[i..].starts_with("()") || message[i..].starts_with('(');
            let snake = w.contains('_') && w.trim_matches('_').len() >= 4;
            if (called && w.len() >= 3 || snake)
                && !w.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                && seen.insert(w.to_string())
            {
                out.push(w.to_string());
            }
        } else {
            i += 1;
        }
    }
    out.truncate(MAX_MESSAGE_IDENTS);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailers_are_stripped_with_their_wrapped_subject() {
        let m = "net: fix foo\n\nBody text.\n\nFixes: 0123456789ab (\"net: add\n the foo\")\nSigned-off-by: A <a@b>\n";
        let s = strip_cause_trailers(m);
        assert!(!s.contains("0123456789ab"), "{s}");
        assert!(!s.contains("the foo"), "{s}");
        assert!(s.contains("Signed-off-by"), "{s}");
        assert_eq!(trailer_shas(m), vec!["0123456789ab".to_string()]);
    }

    #[test]
    fn prefixes_and_identifiers_of_a_message() {
        assert_eq!(
            subsystem_prefix("tc: fq: fix rate").as_deref(),
            Some("tc: fq:")
        );
        assert_eq!(subsystem_prefix("fix the thing"), None);
        // Conventional Commits: the scope is the subsystem, a bare change type is none.
        assert_eq!(
            subsystem_prefix("fix(vmm): drop the lock").as_deref(),
            Some("vmm:")
        );
        assert_eq!(
            subsystem_prefix("feat(vmm)!: new API").as_deref(),
            Some("vmm:")
        );
        assert_eq!(subsystem_prefix("fix: drop the lock"), None);
        assert_eq!(
            subsystem_prefix("chore: net: bump").as_deref(),
            Some("net:")
        );
        assert_eq!(
            subsystem_prefix("docs: fix a link").as_deref(),
            Some("docs:")
        );
        assert_eq!(
            subsystem_prefix("tests: fix output").as_deref(),
            Some("tests:")
        );
        let ids = message_identifiers("Since parse_config() returns NULL, call foo_bar.");
        assert_eq!(ids, vec!["parse_config".to_string(), "foo_bar".to_string()]);
    }

    #[test]
    fn a_commit_id_is_read_with_what_its_clause_says_of_it() {
        use ShaRef::{Cause, Named, PartlyReverted, Reference, Reverted};
        let cases: &[(&str, &[(&str, ShaRef)])] = &[
            // The clause that names the bug is the one outside the parentheses.
            (
                "84ca65c (fix for 67e070d) introduced this regression.",
                &[("84ca65c", Cause), ("67e070d", Named)],
            ),
            // "Introduced" alone is a feature, not the bug.
            (
                "Later e594ca5 introduced more precise timing. Then 854873b unified it.",
                &[("e594ca5", Named), ("854873b", Named)],
            ),
            (
                "Regression was introduced in d141cb6 as the condition was wrong.",
                &[("d141cb6", Cause)],
            ),
            // A quoted subject's words are the subject's, not the message's.
            (
                "Commit 0a1b2c3d (\"net: introduce the leak-free pool\") changed the order.",
                &[("0a1b2c3d", Named)],
            ),
            (
                "The bug was introduced by commit 0a1b2c3d; it also touched 9f8e7d6c.",
                &[("0a1b2c3d", Cause), ("9f8e7d6c", Named)],
            ),
            ("Broken since 0a1b2c3d.", &[("0a1b2c3d", Cause)]),
            // A parenthesis right after the id speaks of it, unless it quotes a subject.
            (
                "Restore what was added in 918e824 (which brought a regression) as is.",
                &[("918e824", Cause)],
            ),
            (
                "Restore 918e824 (\"ping: fix the regression\") as is.",
                &[("918e824", Named)],
            ),
            (
                "This reverts commit 0a1b2c3d4e5f.",
                &[("0a1b2c3d4e5f", Reverted)],
            ),
            (
                "The patch mostly reverts a04be557.",
                &[("a04be557", PartlyReverted)],
            ),
            (
                "This partially reverts commit 0a1b2c3d4e5f.",
                &[("0a1b2c3d4e5f", PartlyReverted)],
            ),
            (
                "This is a partial revert of 0a1b2c3d4e5f.",
                &[("0a1b2c3d4e5f", PartlyReverted)],
            ),
            (
                "Partial-revert 0a1b2c3d4e5f.",
                &[("0a1b2c3d4e5f", PartlyReverted)],
            ),
            // Another word that starts like "part" says nothing of the revert.
            (
                "A particular revert, 0a1b2c3d4e5f, went in first.",
                &[("0a1b2c3d4e5f", Reverted)],
            ),
            // Related work named just before the id: the fix builds on it or repeats it.
            (
                "This is a fix based on 9baf3bf0e77d but applied to the nft variant.",
                &[("9baf3bf0e77d", Reference)],
            ),
            (
                "It's a similar issue as in commit 3f4f1dda, when calling the parser.",
                &[("3f4f1dda", Reference)],
            ),
            (
                "Exposed by commit eab75ed36a4f2, but belongs to commit a7f1e208cdf9c.",
                &[("eab75ed36a4f2", Reference), ("a7f1e208cdf9c", Named)],
            ),
            (
                "Fix the leak.\n\n(cherry picked from commit 80ab12cd34ef)",
                &[("80ab12cd34ef", Reference)],
            ),
            // The window ends at the sentence before.
            (
                "Nothing similar was tried before. Commit 0a1b2c3d changed the order.",
                &[("0a1b2c3d", Named)],
            ),
            // Hex words without a digit or without a letter are not ids.
            ("The deadbeef value and 12345678 are not commits.", &[]),
        ];
        for (message, want) in cases {
            let want: Vec<(String, ShaRef)> = want
                .iter()
                .map(|(sha, how)| (sha.to_string(), *how))
                .collect();
            assert_eq!(prose_shas(message), want, "{message}");
        }
    }
}
