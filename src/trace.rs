//! Regression tracing: from a fix commit to the commit that introduced the bug, ranked with
//! evidence.
//!
//! The start is SZZ: blame, in the fix's parent, the lines the fix deleted or changed. Past
//! it: lines whose change is only whitespace or comments are set aside (a comment-only fix is
//! blamed on its comments), test and doc files are set aside (used only when nothing else
//! is left), renames are followed by blame, and a blamed commit that only re-indented the
//! line in place, moved it from another file, rewrote it cosmetically in place (the line it
//! replaced shares nearly all its tokens) or as part of a sweeping change (many files) is
//! looked through to the commit before it; a line moved within its file is not (a refactor
//! that moves code is often the cause). An add-only fix is traced through the blamed context
//! around the insertion and the head of the function it touches (context that dates from
//! the file's creation counts less). The fix message (with cause-naming trailers stripped
//! when asked) names causes elsewhere: commit ids ("since commit X", "reverts commit X"),
//! quoted subjects, `Revert "..."` subjects, functions (the latest change to their
//! definition, not to a prototype, also in files the fix does not touch) and subsystem
//! prefixes (`tc: fq:`); an earlier commit to the same files with a near-identical subject
//! is an incomplete fix this one completes. `Revert "Revert "X""` is credited to X.
//! Another fix by the same author committed within a day (likely a patch of the same
//! series) counts less. Candidates dated after the bug's first report are discarded.
//!
//! [`find_fixes`] goes one step earlier: from a described incident to the commits that most
//! likely fixed it.
//!
//! All git access is in-process (gix); nothing here starts a process.

use std::collections::{BTreeMap, HashMap, HashSet};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::diff::blob::{Algorithm, Diff, InternedInput};
use serde::{Deserialize, Serialize};

use crate::diff::{FileChange, changes_of};
use crate::odb::ObjectReader;
use crate::tools::RepoPath;
use crate::tools::git_blame::{BlameRequest, blame_lines};

/// Candidates a trace returns unless told otherwise.
pub const DEFAULT_MAX_CANDIDATES: usize = 10;
/// Changed files of a fix that are blamed at most (the first ones by path).
const MAX_FILES: usize = 40;
/// Lines blamed per file at most.
const MAX_LINES_PER_FILE: usize = 400;
/// Largest file read (8 MiB).
const MAX_BLOB_BYTES: u64 = 8 * 1024 * 1024;
/// Bytes looked at to call a file binary.
const BINARY_PROBE_BYTES: usize = 8000;
/// Times a blamed commit that only moved or re-indented a line is looked through.
const MAX_FOLLOW_DEPTH: usize = 4;
/// A line moved from elsewhere counts as moved only if it is at least this long (normalised).
const MIN_MOVED_LINE_CHARS: usize = 16;
/// A commit changing at least this many files counts as a sweeping change (looked through).
const SWEEP_MIN_FILES: usize = 12;
/// Files a commit with a cleanup-like subject must change to be looked through like a sweep.
const CLEANUP_MIN_FILES: usize = 2;
/// A sweeping change is looked through to the replaced line at least this similar.
const MIN_SWEEP_SIMILARITY: f64 = 0.3;
/// A blamed commit is looked through when the line it replaced in the same hunk shares at
/// least this share of tokens with the line (a rename, a cast, a reflow).
const MIN_COSMETIC_SIMILARITY: f64 = 0.85;
/// Non-trivial context lines blamed on each side of an add-only hunk.
const CONTEXT_LINES: usize = 3;
/// Lines scanned upward for the head of the enclosing function.
const MAX_FUNCTION_SCAN: usize = 400;
/// Names a documentation-only fix adds that are looked up in the code, at most.
const MAX_DOC_NAMES: usize = 8;
/// Code lines blamed for each name a documentation-only fix adds, at most.
const MAX_NAME_SITES: usize = 3;
/// Weight of a code line that holds a name a documentation-only fix adds: the change that
/// brought the name into the code left it undocumented.
const W_DOCUMENTED_NAME: f64 = 1.0;
/// Code files read when looking for the names a documentation-only fix adds, at most.
const MAX_NAME_SCAN_FILES: usize = 20_000;
/// Commits scanned for quoted or reverted subjects.
const MAX_SUBJECT_SCAN: usize = 50_000;
/// Identifiers from the fix message looked up at most.
const MAX_MESSAGE_IDENTS: usize = 6;
/// Definition lines blamed per message identifier.
const MAX_DEFINITION_LINES: usize = 3;
/// Definitions of one identifier read at most, to find the one in the fix's own files.
const MAX_DEFINITION_SCAN: usize = 32;

/// Weight of a deleted or changed line blamed to a commit.
const W_CHANGED: f64 = 1.0;
/// Weight of a deleted or changed line that is only punctuation (`}`, `break;`).
const W_TRIVIAL: f64 = 0.2;
/// Weight of the nearest context line of an add-only hunk (farther ones get less).
const W_CONTEXT: f64 = 0.6;
/// Weight of the enclosing function's head line of an add-only hunk.
const W_FUNCTION: f64 = 0.4;
/// Weight of the enclosing function's head line of a hunk that changes lines: a change to
/// the function's signature (a new parameter, a new return convention) that its body was
/// not brought in line with.
const W_CHANGED_FUNCTION: f64 = 0.2;
/// Weight of a commit named by a `Fixes:` or `Reverts:` trailer.
const W_TRAILER: f64 = 100.0;
/// Weight of a commit whose id the fix message names in prose, saying nothing more of it.
const W_MESSAGE_SHA: f64 = 30.0;
/// Weight of a commit the fix message says brought the bug in ("X introduced this
/// regression", "broken since X").
const W_MESSAGE_CAUSE: f64 = 100.0;
/// A commit the message names as related work ("a fix based on X", "a similar issue as in
/// X"): a hint, like one blamed line, not the 30 of a plain mention.
const W_MESSAGE_REFERENCE: f64 = 1.0;
/// Taken off a named commit's weight for each other commit the message named before it.
const W_LATER_NAMED: f64 = 0.01;
/// Weight of a commit the fix reverts (`Revert "subject"`, "This reverts commit X").
const W_REVERT: f64 = 60.0;
/// Weight of a commit whose subject the fix message quotes.
const W_QUOTED_SUBJECT: f64 = 30.0;
/// Weight of the latest change to a function the fix message names, in a file the fix
/// touches.
const W_DEFINITION: f64 = 0.5;
/// Weight of the latest change to a function the fix message names, defined in a file the
/// fix does not touch (a cross-file cause), when the fix only adds code: its own lines then
/// say little and the cause is likelier elsewhere.
const W_CROSS_FILE: f64 = 3.0;
/// The same, when the fix also changes or deletes code, whose blame is direct evidence: the
/// function named in another file is then more often a helper the message mentions in
/// passing (an allocator in a leak report, a parser whose error string the fix frees).
const W_CROSS_FILE_BESIDE_CHANGES: f64 = 1.0;
/// Lines a function head may span before its body opens.
const MAX_HEAD_LINES: usize = 12;
/// Lines of a named function blamed at most.
const MAX_BODY_LINES: usize = 300;
/// Weight of an earlier commit whose subject shares most words with the fix's (an
/// incomplete earlier fix, completed by this one); times the share of shared words.
const W_SIMILAR_SUBJECT: f64 = 4.0;
/// Share of subject words two subjects must have in common to count as similar.
const MIN_SUBJECT_SIMILARITY: f64 = 0.6;
/// Words two subjects must have in common to count as similar.
const MIN_SHARED_WORDS: usize = 4;
/// Commits before the fix scanned for similar subjects.
const MAX_SIMILAR_SCAN: usize = 3_000;
/// Bonus factor for a blamed commit whose own change touches a function the message names.
const F_IDENT: f64 = 0.35;
/// Factor on the weight of a context or function-head line blamed to the commit that
/// created the file.
const F_CREATED_CONTEXT: f64 = 0.7;
/// Bonus factor for a blamed commit that shares the fix's subsystem prefix.
const F_PREFIX: f64 = 0.15;
/// Bonus factor for a blamed commit that changed the fix's files itself (not only moved them).
const F_SAME_FILE: f64 = 0.05;
/// Factor on a candidate that is likely another patch of the fix's own series (a fix by
/// the same author, committed within [`SERIES_WINDOW_SECS`]): on the four histories of
/// BENCHMARKS.md none of the 29 such candidates was a `Fixes:` target.
const F_SERIES_SIBLING: f64 = 0.3;
/// How close in commit time two patches of one series are taken to be.
const SERIES_WINDOW_SECS: i64 = 86_400;

/// How to trace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceOptions {
    /// Ignore `Fixes:`/`Reverts:`-style trailers (as the accuracy benchmark does). Either
    /// way the message heuristics read the message without them: a trailer read counts
    /// once, as a trailer.
    pub ignore_trailers: bool,
    /// Candidates returned at most.
    pub max_candidates: usize,
    /// When the bug was first reported (unix seconds): candidates committed later are
    /// discarded.
    pub reported_at: Option<i64>,
}

impl Default for TraceOptions {
    fn default() -> Self {
        TraceOptions {
            ignore_trailers: false,
            max_candidates: DEFAULT_MAX_CANDIDATES,
            reported_at: None,
        }
    }
}

/// One possible bug-introducing commit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Full sha.
    pub commit: String,
    /// 12-hex-digit sha.
    pub short: String,
    pub subject: String,
    /// Author date, `YYYY-MM-DD`.
    pub date: String,
    /// Points of evidence (a blamed line is worth about 1; a trailer 100).
    pub score: f64,
    /// Why, one short line each.
    pub evidence: Vec<String>,
}

/// The result of [`trace`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    /// Full sha of the fix.
    pub fix: String,
    pub fix_subject: String,
    /// Best first.
    pub candidates: Vec<Candidate>,
}

/// A commit that likely fixed a described incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FixCandidate {
    pub commit: String,
    pub short: String,
    pub subject: String,
    pub date: String,
    pub score: f64,
    pub reasons: Vec<String>,
}

/// Why a trace failed; each message says what to do.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error(
        "`{rev}` does not name a commit in this repository: {reason}; give a sha (at least 7 hex digits) or a ref"
    )]
    NotFound { rev: String, reason: String },
    #[error(
        "{sha} is a root commit: it has no parent to blame in; give the commit that fixed the bug"
    )]
    RootCommit { sha: String },
    #[error(
        "reading the repository ({context}): {message}; check that it is a readable git repository"
    )]
    Git { context: String, message: String },
    #[error(
        "the incident description has no usable keywords; describe it with words from the code or commits (a component, an error, a symptom)"
    )]
    NoKeywords,
    #[error("the repository has no commits; nothing to trace")]
    Empty,
}

fn git_err(context: &str, e: impl std::fmt::Display) -> TraceError {
    TraceError::Git {
        context: context.to_string(),
        message: e.to_string(),
    }
}

// ---------------------------------------------------------------------------------------
// Commit facts

struct CommitFacts {
    parents: Vec<ObjectId>,
    message: String,
    subject: String,
    author_time: i64,
    commit_time: i64,
    /// The author's email, lowercased.
    author_email: String,
    tree: ObjectId,
}

impl CommitFacts {
    /// Whether this commit is likely another patch of the same series as `fix`: a fix
    /// itself, by the same author, committed within [`SERIES_WINDOW_SECS`] of it. A series
    /// that fixes several bugs of one driver rewrites the same lines patch after patch, and
    /// the blame of a later patch lands on an earlier one.
    fn is_series_sibling_of(&self, fix: &CommitFacts) -> bool {
        let words = subject_words(&self.subject);
        !fix.author_email.is_empty()
            && self.author_email == fix.author_email
            && (self.commit_time - fix.commit_time).abs() < SERIES_WINDOW_SECS
            && (words.contains("fix") || words.contains("fixes"))
    }
}

fn facts(repo: &gix::Repository, id: ObjectId) -> Result<CommitFacts, TraceError> {
    let commit = repo
        .find_commit(id)
        .map_err(|e| git_err("reading a commit", e))?;
    let d = commit
        .decode()
        .map_err(|e| git_err("decoding a commit", e))?;
    let message = d.message.to_str_lossy().into_owned();
    let subject = message.lines().next().unwrap_or("").trim().to_string();
    let commit_time = d
        .committer()
        .ok()
        .and_then(|s| s.time().ok())
        .map_or(0, |t| t.seconds);
    let author_time = d
        .author()
        .ok()
        .and_then(|s| s.time().ok())
        .map_or(commit_time, |t| t.seconds);
    let author_email = d
        .author()
        .map(|a| a.email.to_str_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    Ok(CommitFacts {
        parents: d.parents().collect(),
        message,
        subject,
        author_time,
        commit_time,
        author_email,
        tree: d.tree(),
    })
}

fn resolve(repo: &gix::Repository, rev: &str) -> Result<ObjectId, TraceError> {
    let rev = rev.trim();
    if rev.is_empty() || rev.starts_with('-') || rev.contains(['\0', '\n']) {
        return Err(TraceError::NotFound {
            rev: rev.to_string(),
            reason: "not a revision".into(),
        });
    }
    let id = repo
        .rev_parse_single(rev)
        .map_err(|e| TraceError::NotFound {
            rev: rev.to_string(),
            reason: e.to_string(),
        })?;
    let commit = id
        .object()
        .map_err(|e| git_err("reading an object", e))?
        .peel_to_commit()
        .map_err(|_| TraceError::NotFound {
            rev: rev.to_string(),
            reason: "it names an object that is not a commit".into(),
        })?;
    Ok(commit.id)
}

fn ymd(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| "????-??-??".into())
}

fn short_hex(id: &ObjectId) -> String {
    id.to_hex_with_len(12).to_string()
}

// ---------------------------------------------------------------------------------------
// Message reading

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
fn trailer_shas(message: &str) -> Vec<String> {
    message.lines().filter_map(cause_trailer_sha).collect()
}

/// How the fix message refers to a commit by its id, weakest first.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum ShaRef {
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
}

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
fn prose_shas(message: &str) -> Vec<(String, ShaRef)> {
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
        let how = if before.iter().any(|b| b.contains("revert")) {
            ShaRef::Reverted
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
fn quoted_subjects(message: &str) -> Vec<String> {
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

/// The subsystem prefix of a subject (`tc: fq:` of `tc: fq: fix ...`), lowercased.
fn subsystem_prefix(subject: &str) -> Option<String> {
    let mut prefix = String::new();
    let mut rest = subject.trim();
    while let Some(i) = rest.find(": ") {
        let head = &rest[..i];
        if head.is_empty()
            || head.len() > 40
            || head.contains(' ') && head.split_whitespace().count() > 2
        {
            break;
        }
        prefix.push_str(&head.to_ascii_lowercase());
        prefix.push_str(": ");
        rest = &rest[i + 2..];
    }
    (!prefix.is_empty()).then(|| prefix.trim_end().to_string())
}

/// Identifiers the message names as code: `name()` or words with `_` or camelCase inner
/// capitals that look like symbols.
fn message_identifiers(message: &str) -> Vec<String> {
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

// ---------------------------------------------------------------------------------------
// Lines

/// Test or documentation files, set aside by the blame.
pub fn is_test_or_doc(path: &str) -> bool {
    is_test(path) || is_doc(path)
}

/// The folders of path `p`, without the file name.
fn folders(p: &str) -> impl Iterator<Item = &str> {
    let n = p.matches('/').count();
    p.split('/').take(n)
}

/// Test files: under a test folder (`tests/`, `t/`, `selftests/`, `__tests__/`, ...), or
/// named as tests are (`test_x.c`, `test-x.c`, `x_test.go`, `x.test.js`, `x_spec.rb`,
/// `x.t`).
pub fn is_test(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    let dir_hit = folders(&p).any(|d| {
        matches!(
            d,
            "t" | "test"
                | "tests"
                | "testsuite"
                | "selftests"
                | "unittests"
                | "testing"
                | "testdata"
                | "spec"
                | "__tests__"
        )
    });
    let test_name = name.starts_with("test_")
        || name.starts_with("test-")
        || name.contains("_test.")
        || name.contains(".test.")
        || name.contains("_tests.")
        || name.contains(".spec.")
        || name.contains("_spec.")
        || name.ends_with(".t");
    dir_hit || test_name
}

/// Documentation and project metadata: under a doc folder, a manual page or a text
/// document (also as an `.in` template, `iptables.8.in`), or a file such as `NEWS` or
/// `CODEOWNERS`.
fn is_doc(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    let name = p.rsplit('/').next().unwrap_or(&p);
    let dir_hit =
        folders(&p).any(|d| matches!(d, "doc" | "docs" | "documentation" | "man" | "examples"));
    let stem = name.strip_suffix(".in").unwrap_or(name);
    let doc_ext = [
        ".md", ".rst", ".txt", ".adoc", ".pod", ".man", ".1", ".3", ".5", ".7", ".8", ".html",
    ]
    .iter()
    .any(|e| stem.ends_with(e))
        && name != "cmakelists.txt";
    let meta = matches!(
        name,
        "changelog"
            | "news"
            | "authors"
            | "maintainers"
            | "readme"
            | "copying"
            | "license"
            | "credits"
            | "contributors"
            | "codeowners"
            | ".mailmap"
    );
    dir_hit || doc_ext || meta
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    CLike,
    Hash,
    Other,
}

fn lang_of(path: &str) -> Lang {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = name.rsplit('.').next().unwrap_or("");
    match ext {
        "c" | "h" | "cc" | "cpp" | "cxx" | "hpp" | "rs" | "go" | "java" | "js" | "ts" | "cs"
        | "swift" | "kt" | "scala" | "m" | "proto" => Lang::CLike,
        "py" | "sh" | "rb" | "pl" | "yml" | "yaml" | "toml" | "cmake" | "mk" | "pyx" | "pxd" => {
            Lang::Hash
        }
        _ if name == "cmakelists.txt" || name == "makefile" => Lang::Hash,
        _ => Lang::Other,
    }
}

/// The line without any whitespace: what "same modulo whitespace" compares.
fn normalized(line: &[u8]) -> Vec<u8> {
    line.iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect()
}

/// Blank or comment-only.
fn is_noise(line: &[u8], lang: Lang) -> bool {
    let t = line.trim();
    if t.is_empty() {
        return true;
    }
    match lang {
        Lang::CLike => {
            t.starts_with(b"//")
                || t.starts_with(b"/*")
                || t.starts_with(b"*")
                || t.ends_with(b"*/") && !t.contains_str("/*") && t.len() < 3
        }
        Lang::Hash => t.starts_with(b"#"),
        Lang::Other => false,
    }
}

/// Only punctuation or a bare keyword: `}`, `{`, `} else {`, `break;`, `return;`.
fn is_trivial(line: &[u8]) -> bool {
    let t = normalized(line);
    if t.iter().all(|b| b"{}()[];,".contains(b)) {
        return true;
    }
    matches!(
        t.as_slice(),
        b"}else{"
            | b"else"
            | b"else{"
            | b"break;"
            | b"return;"
            | b"continue;"
            | b"default:"
            | b"returnret;"
            | b"return0;"
            | b"end"
            | b"fi"
            | b"done"
            | b"pass"
    )
}

/// Whether `line` looks like the head of a function definition.
fn is_function_head(line: &[u8], lang: Lang) -> bool {
    let t = line.trim_end();
    if t.is_empty() {
        return false;
    }
    match lang {
        Lang::Hash => {
            t.trim_start().starts_with(b"def ") || t.trim_start().starts_with(b"function ")
        }
        _ => {
            let s = t.trim_start();
            if s.starts_with(b"fn ") || s.contains_str(" fn ") || s.starts_with(b"func ") {
                return true;
            }
            let first = t[0];
            (first.is_ascii_alphabetic() || first == b'_')
                && t.contains(&b'(')
                && !t.ends_with(b";")
                && !t.starts_with(b"if ")
                && !t.starts_with(b"return")
                && !t.contains_str(" = ")
        }
    }
}

// ---------------------------------------------------------------------------------------
// Diffs

/// The changed regular files between two trees (see [`crate::diff::changes_of`]), by path:
/// symlinks and submodules have no lines to blame.
fn file_changes(
    repo: &gix::Repository,
    old_tree: ObjectId,
    new_tree: ObjectId,
) -> Result<Vec<FileChange>, TraceError> {
    let old = repo
        .find_tree(old_tree)
        .map_err(|e| git_err("reading a tree", e))?;
    let new = repo
        .find_tree(new_tree)
        .map_err(|e| git_err("reading a tree", e))?;
    let opts = gix::diff::Options::default().with_rewrites(Some(gix::diff::Rewrites::default()));
    let list = repo
        .diff_tree_to_tree(Some(&old), Some(&new), Some(opts))
        .map_err(|e| git_err("comparing trees", e))?;
    let mut out = changes_of(list);
    // A path that is not UTF-8 cannot be looked up by its lossy name: such a file is left
    // out of the trace rather than failing it.
    out.retain(|c| c.is_blob_change() && c.exact_paths);
    Ok(out)
}

fn read_text(repo: &gix::Repository, id: Option<ObjectId>) -> Result<Option<Vec<u8>>, TraceError> {
    let Some(id) = id else {
        return Ok(Some(Vec::new()));
    };
    let header = repo
        .find_header(id)
        .map_err(|e| git_err("reading a file", e))?;
    if header.size() > MAX_BLOB_BYTES {
        return Ok(None);
    }
    let blob = repo
        .find_blob(id)
        .map_err(|e| git_err("reading a file", e))?;
    let data = blob.data.clone();
    if data[..data.len().min(BINARY_PROBE_BYTES)].contains(&0) {
        return Ok(None);
    }
    Ok(Some(data))
}

/// A line-level diff: hunks as (old range, new range) of 0-based line indices.
struct LineDiff<'a> {
    old: Vec<&'a [u8]>,
    new: Vec<&'a [u8]>,
    hunks: Vec<(std::ops::Range<u32>, std::ops::Range<u32>)>,
}

fn split_lines(data: &[u8]) -> Vec<&[u8]> {
    data.split_inclusive(|b| *b == b'\n').collect()
}

fn line_diff<'a>(old: &'a [u8], new: &'a [u8]) -> LineDiff<'a> {
    let input = InternedInput::new(old, new);
    let mut diff = Diff::compute(Algorithm::Histogram, &input);
    diff.postprocess_lines(&input);
    let hunks = diff.hunks().map(|h| (h.before, h.after)).collect();
    LineDiff {
        old: split_lines(old),
        new: split_lines(new),
        hunks,
    }
}

// ---------------------------------------------------------------------------------------
// Scoring

#[derive(Default)]
struct Acc {
    score: f64,
    lines: f64,
    evidence: BTreeMap<String, usize>,
    files: HashSet<String>,
}

#[derive(Default)]
struct Board {
    acc: HashMap<ObjectId, Acc>,
}

impl Board {
    fn add(&mut self, id: ObjectId, weight: f64, evidence: String) {
        let a = self.acc.entry(id).or_default();
        a.score += weight;
        *a.evidence.entry(evidence).or_default() += 1;
    }

    fn add_line(&mut self, id: ObjectId, weight: f64, evidence: String, path: &str) {
        let a = self.acc.entry(id).or_default();
        a.score += weight;
        a.lines += weight;
        a.files.insert(path.to_string());
        *a.evidence.entry(evidence).or_default() += 1;
    }
}

/// Blamed lines count with diminishing returns past the first: how many lines a commit is
/// blamed for grows with the size of the fix as much as with the evidence, and forty lines
/// of an old rewrite should not outweigh the commit the message names (30).
const LINES_EXPONENT: f64 = 0.75;

/// A candidate's summed line weight, damped by [`LINES_EXPONENT`] above 1.
fn damped_lines(lines: f64) -> f64 {
    if lines > 1.0 {
        lines.powf(LINES_EXPONENT)
    } else {
        lines
    }
}

/// For a hunk whose removed and added lines are the same text but for whitespace and line
/// breaks, the length of each added line without whitespace; empty for any other hunk.
fn reflowed(d: &LineDiff<'_>, b: std::ops::Range<u32>, a: std::ops::Range<u32>) -> Vec<usize> {
    let old: Vec<u8> = b.flat_map(|i| normalized(d.old[i as usize])).collect();
    let new: Vec<Vec<u8>> = a.map(|i| normalized(d.new[i as usize])).collect();
    if old.is_empty() || new.concat() != old {
        return Vec::new();
    }
    new.iter().map(Vec::len).collect()
}

/// Why a line is blamed.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Role {
    Changed,
    Context(u8),
    Function,
    Trivial,
    ChangedFunction,
}

impl Role {
    fn weight(self) -> f64 {
        match self {
            Role::Changed => W_CHANGED,
            Role::Trivial => W_TRIVIAL,
            Role::Context(d) => W_CONTEXT / f64::from(d.max(1)),
            Role::Function => W_FUNCTION,
            Role::ChangedFunction => W_CHANGED_FUNCTION,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Role::Changed => "changed line",
            Role::Trivial => "changed punctuation line",
            Role::Context(_) => "context line of an added hunk",
            Role::Function => "head of the function the fix touches",
            Role::ChangedFunction => "head of the function the fix changes",
        }
    }
}

/// Per-commit facts needed to look through moves and re-indents, cached.
/// Where a commit removed a line: old path, 0-based old line, new path, hunk index.
type RemovedAt = (String, u32, String, usize);

struct HunkFacts {
    new: std::ops::Range<u32>,
    old_path: String,
    removed: Vec<(u32, Vec<u8>, Vec<u8>)>,
    /// For a hunk that only changes whitespace and line breaks (a reformat that splits or
    /// joins lines), the length of each added line without whitespace; empty otherwise.
    reflowed: Vec<usize>,
}

impl HunkFacts {
    /// In a reflowed hunk, the removed line that held the start of added line `line`: its
    /// index in [`Self::removed`].
    fn reflowed_from(&self, line: u32) -> Option<usize> {
        let k = line.checked_sub(self.new.start)? as usize;
        if k >= self.reflowed.len() || self.reflowed[k] == 0 {
            return None;
        }
        let offset: usize = self.reflowed[..k].iter().sum();
        let mut end = 0;
        self.removed.iter().position(|(_, norm, _)| {
            end += norm.len();
            offset < end
        })
    }
}

struct CommitChanges {
    /// normalised removed line -> where: (old path, 0-based old line, new path, hunk index)
    removed: HashMap<Vec<u8>, Vec<RemovedAt>>,
    /// new path -> its hunks: new-side line range, old path, removed lines (0-based old
    /// index, normalised text, text as written)
    hunks: HashMap<String, Vec<HunkFacts>>,
    /// normalised added lines
    added_text: Vec<u8>,
    parent: Option<ObjectId>,
    files: usize,
    /// File names (last path component) of the files it created.
    created: HashSet<String>,
    /// Changed files past the first [`MAX_FILES`], diffed only when a line is followed
    /// into one of them (a sweeping change of hundreds of files).
    rest: Vec<FileChange>,
}

impl CommitChanges {
    /// Diff one changed file into the hunks and removed lines.
    fn add_file(&mut self, repo: &gix::Repository, fc: &FileChange) -> Result<(), TraceError> {
        let (Some(o), Some(nw)) = (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
        else {
            return Ok(());
        };
        let d = line_diff(&o, &nw);
        for (h, (b, a)) in d.hunks.iter().enumerate() {
            self.hunks
                .entry(fc.new_path.clone())
                .or_default()
                .push(HunkFacts {
                    new: a.clone(),
                    old_path: fc.old_path.clone(),
                    removed: b
                        .clone()
                        .map(|i| {
                            let l = d.old[i as usize];
                            (i, normalized(l), l.to_vec())
                        })
                        .collect(),
                    reflowed: reflowed(&d, b.clone(), a.clone()),
                });
            for i in b.clone() {
                let norm = normalized(d.old[i as usize]);
                if !norm.is_empty() {
                    self.removed.entry(norm).or_default().push((
                        fc.old_path.clone(),
                        i,
                        fc.new_path.clone(),
                        h,
                    ));
                }
            }
            for i in a.clone() {
                self.added_text.extend_from_slice(d.new[i as usize]);
            }
        }
        Ok(())
    }
}

struct Tracer<'r> {
    repo: &'r gix::Repository,
    /// Object reads of blame, keeping every delta base it resolves.
    odb: ObjectReader<'r>,
    changes: HashMap<ObjectId, Option<CommitChanges>>,
    facts: HashMap<ObjectId, CommitFacts>,
}

impl<'r> Tracer<'r> {
    fn facts(&mut self, id: ObjectId) -> Result<&CommitFacts, TraceError> {
        if !self.facts.contains_key(&id) {
            let f = facts(self.repo, id)?;
            self.facts.insert(id, f);
        }
        self.facts
            .get(&id)
            .ok_or_else(|| git_err("caching a commit", "missing"))
    }

    fn changes(&mut self, id: ObjectId) -> Result<Option<&CommitChanges>, TraceError> {
        if !self.changes.contains_key(&id) {
            let f = self.facts(id)?;
            let (parent, tree) = (f.parents.first().copied(), f.tree);
            let c = match parent {
                Some(p) if self.repo.has_object(p) => {
                    let ptree = self.facts(p)?.tree;
                    let mut files = file_changes(self.repo, ptree, tree)?;
                    let created = files
                        .iter()
                        .filter(|fc| fc.old.is_none())
                        .map(|fc| file_name(&fc.new_path).to_string())
                        .collect();
                    let n = files.len();
                    let rest = files.split_off(n.min(MAX_FILES));
                    let mut c = CommitChanges {
                        removed: HashMap::new(),
                        hunks: HashMap::new(),
                        added_text: Vec::new(),
                        parent: Some(p),
                        files: n,
                        created,
                        rest,
                    };
                    for fc in &files {
                        c.add_file(self.repo, fc)?;
                    }
                    Some(c)
                }
                _ => None,
            };
            self.changes.insert(id, c);
        }
        Ok(self.changes.get(&id).and_then(Option::as_ref))
    }

    /// [`Self::changes`] of `id`, with `path` diffed even when it is past the first
    /// [`MAX_FILES`] changed files.
    fn changes_at(
        &mut self,
        id: ObjectId,
        path: &str,
    ) -> Result<Option<&CommitChanges>, TraceError> {
        self.changes(id)?;
        let repo = self.repo;
        if let Some(Some(c)) = self.changes.get_mut(&id)
            && let Some(i) = c.rest.iter().position(|fc| fc.new_path == path)
        {
            let fc = c.rest.swap_remove(i);
            c.add_file(repo, &fc)?;
        }
        Ok(self.changes.get(&id).and_then(Option::as_ref))
    }

    /// Whether commit `id` created a file named like `path` (a root commit created all).
    fn created(&mut self, id: ObjectId, path: &str) -> Result<bool, TraceError> {
        if self.facts(id)?.parents.is_empty() {
            return Ok(true);
        }
        Ok(self
            .changes(id)?
            .is_some_and(|c| c.created.contains(file_name(path))))
    }

    /// Blame 0-based `lines` of `path` at `suspect`: (line index, commit, source path, line
    /// index in the source file).
    fn blame(
        &mut self,
        path: &str,
        suspect: ObjectId,
        lines: &[u32],
    ) -> Result<Vec<(u32, ObjectId, String, u32)>, TraceError> {
        if lines.is_empty() {
            return Ok(Vec::new());
        }
        let mut sorted = lines.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let err = |e: &dyn std::fmt::Display| git_err(&format!("blaming {path}"), e);
        let tree = self.facts(suspect)?.tree;
        let entry = self
            .repo
            .find_tree(tree)
            .map_err(|e| err(&e))?
            .lookup_entry_by_path(path)
            .map_err(|e| err(&e))?
            .ok_or_else(|| err(&format!("`{path}` is not in {suspect}")))?;
        let blob = self
            .repo
            .find_blob(entry.object_id())
            .map_err(|e| err(&e))?
            .detach()
            .data;
        let algorithm = self.repo.diff_algorithm().map_err(|e| err(&e))?;
        let repo_path = RepoPath::from_tree(path);
        let req = BlameRequest {
            repo: self.repo,
            odb: &self.odb,
            start: suspect,
            path: &repo_path,
            blob: &blob,
            lines: &sorted,
            algorithm,
        };
        let blamed = blame_lines(req, &|| Ok(())).map_err(|e| err(&e))?;
        Ok(blamed
            .into_iter()
            .map(|b| {
                let src = b.source_path.unwrap_or_else(|| path.to_string());
                (b.line, b.commit, src, b.source_line)
            })
            .collect())
    }

    /// Follow a blamed line through commits that only re-indented it in place, reflowed it
    /// (split or joined lines and changed nothing else), moved it from another file, or
    /// rewrote it cosmetically or in a sweeping change. `line` is its 0-based index in the
    /// blamed commit's version of `path`. A line moved within its file is not looked
    /// through: a refactor that moves code is often the change that broke it.
    fn follow(
        &mut self,
        mut commit: ObjectId,
        mut path: String,
        mut line: u32,
        text: &[u8],
    ) -> Result<(ObjectId, Vec<String>), TraceError> {
        let mut hops = Vec::new();
        let norm = normalized(text);
        if norm.len() < 4 {
            return Ok((commit, hops));
        }
        let mut norm = norm;
        // The line as written, for token similarity (the normalised text glues tokens).
        let mut raw = text.to_vec();
        for _ in 0..MAX_FOLLOW_DEPTH {
            let cleanup = is_cleanup_subject(&self.facts(commit)?.subject);
            let Some(ch) = self.changes_at(commit, &path)? else {
                break;
            };
            let Some(parent) = ch.parent else { break };
            let hunk = ch
                .hunks
                .get(&path)
                .and_then(|hs| hs.iter().position(|h| h.new.contains(&line)));
            let places = ch.removed.get(&norm);
            let in_place = places.and_then(|ps| {
                ps.iter()
                    .find(|(_, _, np, h)| *np == path && Some(*h) == hunk)
            });
            // A reformat that split or joined lines: the removed line that held the start
            // of this one.
            let reflow = in_place
                .is_none()
                .then(|| {
                    let h = ch.hunks.get(&path)?.get(hunk?)?;
                    let (ol, n, text) = h.removed.get(h.reflowed_from(line)?)?;
                    Some((h.old_path.clone(), *ol, (n.clone(), text.clone())))
                })
                .flatten();
            let from_other_file = places.and_then(|ps| {
                ps.iter().find(|(op, _, np, _)| {
                    *np != path && *op != path && norm.len() >= MIN_MOVED_LINE_CHARS
                })
            });
            // A sweeping change (many files, small edits: an API rename, a header switch), or
            // a cleanup by its subject that changed a few files, rewrote the line: look
            // through it to the most similar line it replaced.
            let sweeping = (ch.files >= SWEEP_MIN_FILES
                || (cleanup && ch.files >= CLEANUP_MIN_FILES))
                .then(|| {
                    let h = ch.hunks.get(&path)?.get(hunk?)?;
                    let (ol, text, sim) = h
                        .removed
                        .iter()
                        .map(|(ol, n, text)| (*ol, (n, text), similarity(text, &raw)))
                        .max_by(|a, b| a.2.total_cmp(&b.2))?;
                    (sim >= MIN_SWEEP_SIMILARITY)
                        .then(|| (h.old_path.clone(), ol, (text.0.clone(), text.1.clone())))
                })
                .flatten();
            // A cosmetic rewrite in place (a rename, a cast, a reflow): the line it replaced
            // in the same hunk shares nearly all its tokens. Looked through to that line.
            let cosmetic = sweeping.is_none().then(|| {
                let h = ch.hunks.get(&path)?.get(hunk?)?;
                let (ol, text, sim) = h
                    .removed
                    .iter()
                    .map(|(ol, n, text)| (*ol, (n, text), similarity(text, &raw)))
                    .max_by(|a, b| a.2.total_cmp(&b.2))?;
                (sim >= MIN_COSMETIC_SIMILARITY)
                    .then(|| (h.old_path.clone(), ol, (text.0.clone(), text.1.clone())))
            });
            let cosmetic = cosmetic.flatten();
            let files = ch.files;
            let same = (norm.clone(), raw.clone());
            let (what, old_path, old_line, old_text) =
                match (in_place, reflow, from_other_file, sweeping) {
                    (None, Some((op, ol, text)), _, _) => {
                        ("only reflowed".to_string(), op, ol, text)
                    }
                    (None, None, None, None) => match cosmetic {
                        Some((op, ol, text)) => {
                            ("only cosmetically rewrote".to_string(), op, ol, text)
                        }
                        None => break,
                    },
                    (Some((op, ol, _, _)), _, _, _) => {
                        ("only re-indented".to_string(), op.clone(), *ol, same)
                    }
                    (None, None, Some((op, ol, _, _)), _) => (
                        "only moved from another file".to_string(),
                        op.clone(),
                        *ol,
                        same,
                    ),
                    (None, None, None, Some((op, ol, text))) => (
                        if files >= SWEEP_MIN_FILES {
                            format!("is a sweeping change of {files} files that rewrote")
                        } else {
                            format!("is a cleanup of {files} files that rewrote")
                        },
                        op,
                        ol,
                        text,
                    ),
                };
            let blamed = self.blame(&old_path, parent, &[old_line])?;
            let Some((_, origin, src, src_line)) = blamed.into_iter().next() else {
                break;
            };
            hops.push(format!("{} {what} the line", short_hex(&commit)));
            commit = origin;
            path = src;
            line = src_line;
            (norm, raw) = old_text;
        }
        Ok((commit, hops))
    }
}

/// Subject words that mark a mechanical change (a header switch, a rename, a removal).
/// "Refactor" and "consolidate" are left out: such changes are often the cause.
const CLEANUP_WORDS: &[&str] = &[
    "move",
    "remove",
    "use",
    "convert",
    "clean",
    "cleanup",
    "rename",
    "replace",
    "switch",
    "unify",
    "flatten",
    "simplify",
    "drop",
    "uapi",
    "style",
    "whitespace",
    "warnings",
];

/// Whether a subject (after its subsystem prefix) reads like a cleanup: a
/// [`CLEANUP_WORDS`] word and no "fix".
fn is_cleanup_subject(subject: &str) -> bool {
    let words = subject_words(subject);
    CLEANUP_WORDS.iter().any(|w| words.contains(*w))
        && !words.contains("fix")
        && !words.contains("fixes")
}

/// The last component of a path.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// Share of identifier-ish tokens two normalised lines have in common (0 to 1).
fn similarity(a: &[u8], b: &[u8]) -> f64 {
    let toks = |l: &[u8]| -> HashSet<Vec<u8>> {
        l.split(|c| !(c.is_ascii_alphanumeric() || *c == b'_'))
            .filter(|t| !t.is_empty())
            .map(<[u8]>::to_vec)
            .collect()
    };
    let (ta, tb) = (toks(a), toks(b));
    if ta.is_empty() || tb.is_empty() {
        return 0.0;
    }
    ta.intersection(&tb).count() as f64 / ta.union(&tb).count() as f64
}

/// The head of the function that line `at` of `lines` sits in: scanned upward, at most
/// [`MAX_FUNCTION_SCAN`] lines, stopping at the end of an earlier function.
fn function_head(lines: &[&[u8]], at: usize, lang: Lang) -> Option<u32> {
    let mut i = at.min(lines.len());
    let mut scanned = 0;
    while i > 0 && scanned < MAX_FUNCTION_SCAN {
        i -= 1;
        scanned += 1;
        let l = lines[i];
        if is_function_head(l, lang) {
            return Some(i as u32);
        }
        if l.starts_with(b"}") {
            return None;
        }
    }
    None
}

/// Lines of one changed file to blame, with why.
///
/// A hunk that changes only comments is skipped when `code_changed` (the fix changes code
/// elsewhere); otherwise (a comment-only fix) its comment lines count as changed lines.
fn lines_to_blame(d: &LineDiff<'_>, lang: Lang, code_changed: bool) -> Vec<(u32, Role)> {
    let mut want: BTreeMap<u32, Role> = BTreeMap::new();
    let mut put = |line: u32, role: Role| {
        let e = want.entry(line).or_insert(role);
        if role < *e {
            *e = role;
        }
    };
    for (b, a) in &d.hunks {
        let added: HashSet<Vec<u8>> = a.clone().map(|i| normalized(d.new[i as usize])).collect();
        let meaningful: Vec<u32> = b
            .clone()
            .filter(|&i| {
                let line = d.old[i as usize];
                !is_noise(line, lang) && !added.contains(&normalized(line))
            })
            .collect();
        let comments: Vec<u32> = b
            .clone()
            .filter(|&i| {
                let line = d.old[i as usize];
                !line.trim().is_empty() && !added.contains(&normalized(line))
            })
            .collect();
        // A hunk that only deletes blank lines, in a fix that changes no code: the blank
        // lines are what the fix is about ("remove an extra blank line").
        let only_blank_deleted = !code_changed
            && a.is_empty()
            && !b.is_empty()
            && b.clone().all(|i| d.old[i as usize].trim().is_empty());
        if only_blank_deleted {
            for i in b.clone() {
                put(i, Role::Changed);
            }
        } else if meaningful.is_empty() && !comments.is_empty() {
            if !code_changed {
                for i in comments {
                    put(i, Role::Changed);
                }
            }
        } else if !meaningful.is_empty() {
            if let Some(h) = function_head(&d.old, b.start as usize, lang) {
                put(h, Role::ChangedFunction);
            }
            for i in meaningful {
                let line = d.old[i as usize];
                put(
                    i,
                    if is_trivial(line) {
                        Role::Trivial
                    } else {
                        Role::Changed
                    },
                );
            }
        } else {
            // Add-only: blame meaningful lines around the insertion, and the function head.
            let at = b.start as usize;
            let mut found = 0u8;
            let mut i = at;
            while i > 0 && found < CONTEXT_LINES as u8 {
                i -= 1;
                let l = d.old[i];
                if !is_noise(l, lang) && !is_trivial(l) {
                    found += 1;
                    put(i as u32, Role::Context(found));
                }
            }
            let mut found = 0u8;
            let mut i = at;
            while i < d.old.len() && found < CONTEXT_LINES as u8 {
                let l = d.old[i];
                if !is_noise(l, lang) && !is_trivial(l) {
                    found += 1;
                    put(i as u32, Role::Context(found));
                }
                i += 1;
            }
            if let Some(h) = function_head(&d.old, at, lang) {
                put(h, Role::Function);
            }
        }
    }
    let mut out: Vec<(u32, Role)> = want.into_iter().collect();
    if out.len() > MAX_LINES_PER_FILE {
        out.sort_by_key(|(_, r)| *r);
        out.truncate(MAX_LINES_PER_FILE);
    }
    out
}

/// Whether the fix deletes or changes a code line (not blank, not a comment, not only
/// re-indented) in a non-test, non-doc file.
fn changes_code(repo: &gix::Repository, changes: &[FileChange]) -> Result<bool, TraceError> {
    for fc in changes.iter().filter(|c| c.old.is_some()).take(MAX_FILES) {
        if is_test_or_doc(&fc.new_path) {
            continue;
        }
        let (Some(old), Some(new)) = (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
        else {
            continue;
        };
        let lang = lang_of(&fc.old_path);
        let d = line_diff(&old, &new);
        for (b, a) in &d.hunks {
            let added: HashSet<Vec<u8>> =
                a.clone().map(|i| normalized(d.new[i as usize])).collect();
            if b.clone().any(|i| {
                let line = d.old[i as usize];
                !is_noise(line, lang) && !added.contains(&normalized(line))
            }) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

/// Blame the lines of one changed file that the fix deleted or changed (or the context of
/// what it added) in the fix's parent, onto `board`.
fn blame_change(
    t: &mut Tracer<'_>,
    board: &mut Board,
    fc: &FileChange,
    parent: ObjectId,
    code_changed: bool,
) -> Result<(), TraceError> {
    let repo = t.repo;
    let (Some(old), Some(new)) = (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
    else {
        return Ok(());
    };
    let lang = lang_of(&fc.old_path);
    let d = line_diff(&old, &new);
    let want = lines_to_blame(&d, lang, code_changed);
    let lines: Vec<u32> = want.iter().map(|(l, _)| *l).collect();
    let roles: HashMap<u32, Role> = want.into_iter().collect();
    for (line, commit, src, src_line) in t.blame(&fc.old_path, parent, &lines)? {
        let role = roles.get(&line).copied().unwrap_or(Role::Changed);
        let text = d
            .old
            .get(line as usize)
            .map(|l| l.to_vec())
            .unwrap_or_default();
        let (origin, hops) = if matches!(role, Role::Changed | Role::Context(_)) {
            t.follow(commit, src, src_line, &text)?
        } else {
            (commit, Vec::new())
        };
        let mut ev = format!("blamed for a {} in {}", role.label(), fc.old_path);
        if let Some(h) = hops.last() {
            ev.push_str(&format!(" ({h})"));
        }
        let mut weight = role.weight();
        // Context around an insertion that dates from the file's creation says little: it
        // is the default for every old line.
        if matches!(
            role,
            Role::Context(_) | Role::Function | Role::ChangedFunction
        ) && t.created(origin, &fc.old_path)?
        {
            weight *= F_CREATED_CONTEXT;
            ev.push_str(" (the commit that created the file)");
        }
        board.add_line(origin, weight, ev, &fc.old_path);
    }
    Ok(())
}

/// Trace the fix `fix` back to the commits that most likely introduced the bug.
pub fn trace(repo: &gix::Repository, fix: &str, opts: &TraceOptions) -> Result<Trace, TraceError> {
    let fix_id = resolve(repo, fix)?;
    let mut t = Tracer {
        repo,
        odb: ObjectReader::new(repo).remembering(),
        changes: HashMap::new(),
        facts: HashMap::new(),
    };
    let f = facts(repo, fix_id)?;
    let Some(&parent) = f.parents.first() else {
        return Err(TraceError::RootCommit {
            sha: fix_id.to_string(),
        });
    };
    if !repo.has_object(parent) {
        return Err(TraceError::RootCommit {
            sha: fix_id.to_string(),
        });
    }
    // The message heuristics read the prose only: a cause trailer counts once, in step 1,
    // and not again as a sha or a quoted subject in the message.
    let message = strip_cause_trailers(&f.message);
    let mut board = Board::default();

    // 1. Trailers that name the cause.
    if !opts.ignore_trailers {
        for sha in trailer_shas(&f.message) {
            if let Ok(id) = resolve(repo, &sha) {
                board.add(id, W_TRAILER, format!("the fix's trailer names it ({sha})"));
            }
        }
    }

    // 2. SZZ and past it: blame the fix's deleted and changed lines in its parent.
    let parent_tree = t.facts(parent)?.tree;
    let changes = file_changes(repo, parent_tree, f.tree)?;
    let fix_paths: Vec<String> = changes
        .iter()
        .filter(|c| c.old.is_some())
        .map(|c| c.old_path.clone())
        .collect();
    let code_changed = changes_code(repo, &changes)?;
    // Code files first; test and doc files only when the code gave nothing to blame.
    for docs in [false, true] {
        if docs && board.acc.values().any(|a| a.lines > 0.0) {
            break;
        }
        for fc in changes.iter().filter(|c| c.old.is_some()).take(MAX_FILES) {
            if is_test_or_doc(&fc.new_path) == docs {
                blame_change(&mut t, &mut board, fc, parent, code_changed)?;
            }
        }
    }

    // A fix that only adds documentation: the changes that brought the names it documents
    // into the code.
    if let Some(names) = documented_names(repo, &changes)?
        && !names.is_empty()
    {
        for (path, sites, name) in name_sites(repo, parent_tree, &names)? {
            let lines: Vec<u32> = sites.iter().map(|(l, _)| *l).collect();
            let texts: HashMap<u32, Vec<u8>> = sites.into_iter().collect();
            for (line, commit, src, src_line) in t.blame(&path, parent, &lines)? {
                let text = texts.get(&line).map_or(&[][..], |l| l.as_slice());
                let (origin, _) = t.follow(commit, src, src_line, text)?;
                board.add_line(
                    origin,
                    W_DOCUMENTED_NAME,
                    format!("brought `{name}`, which the fix documents, into {path}"),
                    &path,
                );
            }
        }
    }

    // 3. The message: commit ids, reverts, quoted subjects. Each mention of an id counts
    // (a commit the message keeps coming back to is what it is about); a quoted subject
    // counts only for a commit not already named by id (`commit X ("subject")` is one
    // mention).
    let mut named: HashSet<ObjectId> = HashSet::new();
    for (sha, how) in prose_shas(&message) {
        if let Ok(id) = resolve(repo, &sha)
            && id != fix_id
        {
            let (w, why) = match how {
                ShaRef::Reverted => (W_REVERT, format!("the fix message says it reverts {sha}")),
                ShaRef::Cause => (
                    W_MESSAGE_CAUSE,
                    format!("the fix message says {sha} brought the bug in"),
                ),
                ShaRef::Named => (W_MESSAGE_SHA, format!("the fix message names {sha}")),
                ShaRef::Reference => (
                    W_MESSAGE_REFERENCE,
                    format!("the fix message refers to {sha} as related work"),
                ),
            };
            // A message names the cause first: each commit first named later weighs a
            // little less, enough to order two that are named alike.
            let later = if named.contains(&id) { 0 } else { named.len() };
            board.add(id, w - W_LATER_NAMED * later as f64, why);
            named.insert(id);
        }
    }
    let mut subject_wanted: Vec<(String, f64, String)> = Vec::new();
    if let Some(rest) = f.subject.strip_prefix("Revert \"") {
        let s = rest.trim_end_matches('"').to_string();
        subject_wanted.push((s, W_REVERT, "the fix reverts it".into()));
    }
    for q in quoted_subjects(&message) {
        if q != f.subject {
            subject_wanted.push((
                q,
                W_QUOTED_SUBJECT,
                "the fix message quotes its subject".into(),
            ));
        }
    }
    if !subject_wanted.is_empty() {
        for (id, why, w) in find_subjects(repo, parent, &subject_wanted)? {
            if !named.contains(&id) {
                board.add(id, w, why);
            }
        }
    }

    for (id, share) in similar_subjects(repo, parent, &f.subject)? {
        // Only an earlier change to the same files: an incomplete fix this one completes.
        if !touches_any(&mut t, id, &fix_paths)? {
            continue;
        }
        board.add(
            id,
            W_SIMILAR_SUBJECT * share,
            format!(
                "its subject shares {:.0}% of its words with the fix's",
                share * 100.0
            ),
        );
    }

    // 4. Functions the message names: their latest change, in the fix's files or beside them.
    let idents = message_identifiers(&message);
    if !idents.is_empty() {
        let defs = find_definitions(repo, parent_tree, &idents, &fix_paths)?;
        for (path, body, ident) in defs {
            let mut newest: Option<(i64, ObjectId)> = None;
            for (_, commit, _, _) in t.blame(&path, parent, &body)? {
                let time = t.facts(commit)?.commit_time;
                if newest.is_none_or(|(n, _)| time > n) {
                    newest = Some((time, commit));
                }
            }
            if let Some((_, commit)) = newest {
                let other_file = !fix_paths.contains(&path);
                let (w, where_) = if other_file && code_changed {
                    (W_CROSS_FILE_BESIDE_CHANGES, "in another file, ")
                } else if other_file {
                    (W_CROSS_FILE, "in another file, ")
                } else {
                    (W_DEFINITION, "")
                };
                board.add_line(
                    commit,
                    w,
                    format!("last changed `{ident}()`, which the message names ({where_}{path})"),
                    &path,
                );
            }
        }
    }

    // A blamed `Revert "Revert "X""` re-applied X: the lines are X's.
    let mut reapplied: Vec<(ObjectId, String)> = Vec::new();
    let ids: Vec<ObjectId> = board.acc.keys().copied().collect();
    for id in ids {
        if let Some(inner) = t.facts(id)?.subject.strip_prefix("Revert \"Revert \"") {
            reapplied.push((id, inner.trim_end_matches('"').to_string()));
        }
    }
    for (id, original) in reapplied {
        let start = t.facts(id)?.parents.first().copied();
        let Some(start) = start else { continue };
        let wanted = [(original, 0.0, String::new())];
        if let Some((orig, _, _)) = find_subjects(repo, start, &wanted)?.into_iter().next()
            && let Some(mut a) = board.acc.remove(&id)
        {
            let ev = a.evidence.into_iter().map(|(e, n)| {
                (
                    format!("{e} (via {}, which re-applied it)", short_hex(&id)),
                    n,
                )
            });
            a.evidence = ev.collect();
            let into = board.acc.entry(orig).or_default();
            into.score += a.score;
            into.lines += a.lines;
            into.files.extend(a.files);
            into.evidence.extend(a.evidence);
        }
    }

    // 5. Rank: bonuses, discards, order.
    let prefix = subsystem_prefix(&f.subject);
    let mut ranked: Vec<Candidate> = Vec::new();
    let ids: Vec<ObjectId> = board.acc.keys().copied().collect();
    for id in ids {
        if id == fix_id {
            continue;
        }
        let cf = t.facts(id)?;
        let (subject, atime, ctime) = (cf.subject.clone(), cf.author_time, cf.commit_time);
        if ctime > f.commit_time.max(f.author_time) + 86_400 && atime > f.author_time {
            continue;
        }
        if let Some(r) = opts.reported_at
            && atime.min(ctime) > r
        {
            continue;
        }
        let Some(a) = board.acc.remove(&id) else {
            continue;
        };
        let mut score = a.score - a.lines + damped_lines(a.lines);
        let mut evidence: Vec<String> = a
            .evidence
            .iter()
            .map(|(e, n)| {
                if *n > 1 {
                    format!("{e} (x{n})")
                } else {
                    e.clone()
                }
            })
            .collect();
        let mut factor = 1.0;
        if a.lines > 0.0 {
            let ch = t.changes(id)?;
            if let Some(ch) = ch {
                let hits: Vec<&String> = idents
                    .iter()
                    .filter(|i| ch.added_text.find(i.as_bytes()).is_some())
                    .collect();
                if !hits.is_empty() {
                    factor += F_IDENT;
                    evidence.push(format!(
                        "its change touches `{}` named in the fix message",
                        hits.iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join("`, `")
                    ));
                }
                if ch.files > 0 && a.files.len() > 1 {
                    factor += F_SAME_FILE;
                }
            }
            if let (Some(p), Some(cp)) = (&prefix, subsystem_prefix(&subject))
                && (cp.starts_with(p.as_str()) || p.starts_with(cp.as_str()))
            {
                factor += F_PREFIX;
                evidence.push(format!("same subsystem prefix `{cp}`"));
            }
        }
        score *= factor;
        if t.facts(id)?.is_series_sibling_of(&f) {
            score *= F_SERIES_SIBLING;
            evidence.insert(
                0,
                "a fix by the same author committed within a day of this one, likely from \
                 the same series (counts less)"
                    .to_string(),
            );
        }
        evidence.truncate(6);
        ranked.push(Candidate {
            commit: id.to_string(),
            short: short_hex(&id),
            subject,
            date: ymd(atime),
            score: (score * 1000.0).round() / 1000.0,
            evidence,
        });
    }
    ranked.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.date.cmp(&a.date))
            .then_with(|| a.commit.cmp(&b.commit))
    });
    ranked.truncate(opts.max_candidates.max(1));
    Ok(Trace {
        fix: fix_id.to_string(),
        fix_subject: f.subject.clone(),
        candidates: ranked,
    })
}

/// Commits before `start` whose subject equals one of `wanted` (case-insensitive).
fn find_subjects(
    repo: &gix::Repository,
    start: ObjectId,
    wanted: &[(String, f64, String)],
) -> Result<Vec<(ObjectId, String, f64)>, TraceError> {
    let mut left: HashMap<String, (f64, String)> = wanted
        .iter()
        .map(|(s, w, why)| (s.to_lowercase(), (*w, why.clone())))
        .collect();
    let mut out = Vec::new();
    let walk = repo
        .rev_walk([start])
        .all()
        .map_err(|e| git_err("walking history", e))?;
    for (n, info) in walk.enumerate() {
        if n >= MAX_SUBJECT_SCAN || left.is_empty() {
            break;
        }
        let info = info.map_err(|e| git_err("walking history", e))?;
        let commit = info.object().map_err(|e| git_err("reading a commit", e))?;
        let msg = commit
            .message_raw()
            .map_err(|e| git_err("reading a commit", e))?;
        let subject = msg
            .lines()
            .next()
            .unwrap_or_default()
            .to_str_lossy()
            .trim()
            .to_lowercase();
        if let Some((w, why)) = left.remove(&subject) {
            out.push((info.id, why, w));
        }
    }
    Ok(out)
}

/// Whether commit `id` changed one of `paths` (against its first parent).
fn touches_any(t: &mut Tracer<'_>, id: ObjectId, paths: &[String]) -> Result<bool, TraceError> {
    let f = t.facts(id)?;
    let (tree, parent) = (f.tree, f.parents.first().copied());
    let Some(parent) = parent.filter(|p| t.repo.has_object(*p)) else {
        return Ok(false);
    };
    let ptree = t.facts(parent)?.tree;
    Ok(file_changes(t.repo, ptree, tree)?
        .iter()
        .any(|c| paths.contains(&c.new_path) || paths.contains(&c.old_path)))
}

/// Significant words of a subject: lowercased, without its subsystem prefix.
fn subject_words(subject: &str) -> HashSet<String> {
    let rest = match subsystem_prefix(subject) {
        Some(p) => &subject[p.len().min(subject.len())..],
        None => subject,
    };
    rest.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| w.len() >= 2)
        .map(str::to_lowercase)
        .collect()
}

/// Earlier commits (within [`MAX_SIMILAR_SCAN`]) whose subject is mostly the fix's, with the
/// share of words in common.
fn similar_subjects(
    repo: &gix::Repository,
    start: ObjectId,
    subject: &str,
) -> Result<Vec<(ObjectId, f64)>, TraceError> {
    let mine = subject_words(subject);
    if mine.len() < MIN_SHARED_WORDS {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let walk = repo
        .rev_walk([start])
        .all()
        .map_err(|e| git_err("walking history", e))?;
    for info in walk.take(MAX_SIMILAR_SCAN) {
        let info = info.map_err(|e| git_err("walking history", e))?;
        let commit = info.object().map_err(|e| git_err("reading a commit", e))?;
        let msg = commit
            .message_raw()
            .map_err(|e| git_err("reading a commit", e))?;
        let theirs = subject_words(&msg.lines().next().unwrap_or_default().to_str_lossy());
        let shared = mine.intersection(&theirs).count();
        let share = shared as f64 / mine.len().max(theirs.len()) as f64;
        // The same words again are a routine subject ("update version"), not a related fix.
        if shared >= MIN_SHARED_WORDS && share >= MIN_SUBJECT_SIMILARITY && theirs != mine {
            out.push((info.id, share));
        }
    }
    Ok(out)
}

/// Function bodies of `idents` in the fix's files and their sibling files (same folders),
/// as (path, 0-based lines, ident). A name the fix's files define is taken from there only;
/// a name defined in several sibling files and not in the fix's is left out.
fn find_definitions(
    repo: &gix::Repository,
    tree: ObjectId,
    idents: &[String],
    fix_paths: &[String],
) -> Result<Vec<(String, Vec<u32>, String)>, TraceError> {
    let dirs: std::collections::BTreeSet<&str> = fix_paths
        .iter()
        .map(|p| p.rsplit_once('/').map_or("", |(d, _)| d))
        .collect();
    let tree = repo
        .find_tree(tree)
        .map_err(|e| git_err("reading a tree", e))?;
    let mut out = Vec::new();
    let mut per_ident: HashMap<&str, usize> = HashMap::new();
    for dir in dirs {
        let sub = if dir.is_empty() {
            tree.clone()
        } else {
            match tree
                .lookup_entry_by_path(dir)
                .map_err(|e| git_err("looking up a folder", e))?
            {
                Some(e) if e.mode().is_tree() => repo
                    .find_tree(e.object_id())
                    .map_err(|e| git_err("reading a tree", e))?,
                _ => continue,
            }
        };
        let decoded = sub.decode().map_err(|e| git_err("decoding a tree", e))?;
        for entry in &decoded.entries {
            if !entry.mode.is_blob() {
                continue;
            }
            let Ok(name) = entry.filename.to_str() else {
                continue;
            };
            let path = if dir.is_empty() {
                name.to_string()
            } else {
                format!("{dir}/{name}")
            };
            let lang = lang_of(&path);
            if lang == Lang::Other || is_test_or_doc(&path) {
                continue;
            }
            let Some(data) = read_text(repo, Some(entry.oid.to_owned()))? else {
                continue;
            };
            for ident in idents {
                if per_ident.get(ident.as_str()).copied().unwrap_or(0) >= MAX_DEFINITION_SCAN {
                    continue;
                }
                if data.find(ident.as_bytes()).is_none() {
                    continue;
                }
                let lines = split_lines(&data);
                for (i, l) in lines.iter().enumerate() {
                    if is_function_head(l, lang) && defines(l, ident) && has_body(&lines, i, lang) {
                        out.push((path.clone(), function_body(&lines, i, lang), ident.clone()));
                        *per_ident.entry(ident.as_str()).or_default() += 1;
                        break;
                    }
                }
            }
        }
    }
    // A definition in the fix's own files is the one the message means. Elsewhere, a name
    // defined in several files (a static `verify()` in each) points at none of them.
    let mut own: HashSet<String> = HashSet::new();
    let mut elsewhere: HashMap<String, usize> = HashMap::new();
    for (p, _, i) in &out {
        if fix_paths.contains(p) {
            own.insert(i.clone());
        } else {
            *elsewhere.entry(i.clone()).or_default() += 1;
        }
    }
    let mut kept: HashMap<String, usize> = HashMap::new();
    out.retain(|(p, _, i)| {
        let wanted =
            fix_paths.contains(p) || !own.contains(i) && elsewhere.get(i).copied() == Some(1);
        if !wanted {
            return false;
        }
        let n = kept.entry(i.clone()).or_default();
        *n += 1;
        *n <= MAX_DEFINITION_LINES
    });
    Ok(out)
}

/// 0-based lines of the function whose head is at `head`: to the first `}` at column 0
/// (or, for indentation languages, the next unindented line), [`MAX_BODY_LINES`] at most.
fn function_body(lines: &[&[u8]], head: usize, lang: Lang) -> Vec<u32> {
    let mut out = vec![head as u32];
    for (i, l) in lines.iter().enumerate().skip(head + 1).take(MAX_BODY_LINES) {
        let end = match lang {
            Lang::Hash => !l.trim().is_empty() && !l.starts_with(b" ") && !l.starts_with(b"\t"),
            _ => l.starts_with(b"}"),
        };
        if end {
            if lang != Lang::Hash {
                out.push(i as u32);
            }
            break;
        }
        if !l.trim().is_empty() {
            out.push(i as u32);
        }
    }
    out
}

/// Whether the function head at `head` opens a body (`{` comes before any `;`), not a
/// declaration such as a prototype in a header.
fn has_body(lines: &[&[u8]], head: usize, lang: Lang) -> bool {
    if lang != Lang::CLike {
        return true;
    }
    for l in lines.iter().skip(head).take(MAX_HEAD_LINES) {
        for &b in l.iter() {
            match b {
                b'{' => return true,
                b';' => return false,
                _ => {}
            }
        }
    }
    false
}

/// Whether the head line `l` defines `ident` (the name right before `(`).
fn defines(l: &[u8], ident: &str) -> bool {
    let mut from = 0;
    while let Some(p) = l[from..].find(ident.as_bytes()) {
        let at = from + p;
        let before_ok = at == 0 || !(l[at - 1].is_ascii_alphanumeric() || l[at - 1] == b'_');
        let after = &l[at + ident.len()..];
        let after_ok = after.trim_start().starts_with(b"(") || after.trim_start().starts_with(b"<");
        if before_ok && after_ok {
            return true;
        }
        from = at + ident.len();
    }
    false
}

// ---------------------------------------------------------------------------------------
// Documentation-only fixes

/// Page text with roff font switches (`\fB`, `\f(CW`) and escaped hyphens (`\-`) undone, so that
/// `\-\-show\-exports` reads as `--show-exports`.
fn unescape_doc(text: &[u8]) -> String {
    let text = String::from_utf8_lossy(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.peek() {
            Some('-') => {
                out.push('-');
                chars.next();
            }
            // `\fB`, and `\f(CW` for a two-letter font name.
            Some('f') => {
                chars.next();
                let skip = if chars.next_if_eq(&'(').is_some() {
                    2
                } else {
                    1
                };
                for _ in 0..skip {
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// The names written in `text` that look like code: long options (`--show-exports`, kept
/// as `show-exports`) and identifiers with an inner `_` (`MLX5DV_CONTEXT_MASK_X`), four
/// characters at least.
fn code_names(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    for w in text.split(|c: char| !word(c)) {
        let option = w.starts_with("--");
        let name = w.trim_start_matches('-').trim_end_matches(['-', '_']);
        let snake = name.trim_start_matches('_').contains('_');
        if name.len() >= 4
            && name.starts_with(|c: char| c.is_ascii_alphabetic())
            && (option || snake && !name.contains('-'))
            && !out.iter().any(|o| o == name)
        {
            out.push(name.to_string());
        }
    }
    out
}

/// A fix that only adds to the documentation, without deleting or changing a line of it,
/// documents what an earlier change left out. Its names ([`code_names`]) that the pages
/// did not have before are what that change brought in. `None` for any other fix.
fn documented_names(
    repo: &gix::Repository,
    changes: &[FileChange],
) -> Result<Option<Vec<String>>, TraceError> {
    if changes.is_empty() || changes.len() > MAX_FILES {
        return Ok(None);
    }
    let mut before = String::new();
    let mut added = String::new();
    for fc in changes {
        if fc.new.is_none() || !is_doc(&fc.new_path) || is_test(&fc.new_path) {
            return Ok(None);
        }
        let (Some(old), Some(new)) = (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
        else {
            return Ok(None);
        };
        let d = line_diff(&old, &new);
        if d.hunks.iter().any(|(b, _)| !b.is_empty()) {
            return Ok(None);
        }
        before.push_str(&unescape_doc(&old));
        for (_, a) in &d.hunks {
            for i in a.clone() {
                added.push_str(&unescape_doc(d.new[i as usize]));
            }
        }
    }
    let mut names: Vec<String> = code_names(&added)
        .into_iter()
        .filter(|n| !before.contains(n.as_str()))
        .collect();
    names.truncate(MAX_DOC_NAMES);
    Ok(Some(names))
}

/// Whether `name` occurs in `line` as a whole name: no letter, digit or `_` either side,
/// nor a `-` after it (one before it is an option's dashes).
fn holds_name(line: &[u8], name: &str) -> bool {
    let part = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut from = 0;
    while let Some(p) = line[from..].find(name.as_bytes()) {
        let at = from + p;
        let end = at + name.len();
        if (at == 0 || !part(line[at - 1])) && line.get(end).is_none_or(|b| !part(*b) && *b != b'-')
        {
            return true;
        }
        from = end;
    }
    false
}

/// A code line that holds a name: 0-based index and text.
type Site = (u32, Vec<u8>);

/// Code lines of `tree` that hold each of `names` ([`MAX_NAME_SITES`] each at most): (path,
/// lines, name).
fn name_sites(
    repo: &gix::Repository,
    tree: ObjectId,
    names: &[String],
) -> Result<Vec<(String, Vec<Site>, String)>, TraceError> {
    let tree = repo
        .find_tree(tree)
        .map_err(|e| git_err("reading a tree", e))?;
    let files = tree
        .traverse()
        .breadthfirst
        .files()
        .map_err(|e| git_err("listing a tree", e))?;
    let mut found: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    let code = files.iter().filter(|e| {
        e.filepath.to_str().is_ok_and(|path| {
            e.mode.is_blob() && lang_of(path) != Lang::Other && !is_test_or_doc(path)
        })
    });
    for e in code.take(MAX_NAME_SCAN_FILES) {
        if names
            .iter()
            .all(|n| found.get(n.as_str()) >= Some(&MAX_NAME_SITES))
        {
            break;
        }
        let Some(data) = read_text(repo, Some(e.oid))? else {
            continue;
        };
        for name in names {
            let n = found.entry(name.as_str()).or_default();
            if *n >= MAX_NAME_SITES || data.find(name.as_bytes()).is_none() {
                continue;
            }
            let lines: Vec<Site> = split_lines(&data)
                .iter()
                .enumerate()
                .filter(|(_, l)| holds_name(l, name))
                .map(|(i, l)| (i as u32, l.to_vec()))
                .take(MAX_NAME_SITES - *n)
                .collect();
            if !lines.is_empty() {
                *n += lines.len();
                out.push((e.filepath.to_string(), lines, name.clone()));
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// Plain SZZ, the baseline

/// Plain SZZ, as the accuracy benchmark's baseline: every commit blamed (in the fix's parent)
/// for a line the fix deleted or changed in a non-test, non-doc file, with its line count,
/// most-blamed first. No whitespace, move or message handling.
pub fn plain_szz(repo: &gix::Repository, fix: &str) -> Result<Vec<(String, usize)>, TraceError> {
    let fix_id = resolve(repo, fix)?;
    let f = facts(repo, fix_id)?;
    let Some(&parent) = f.parents.first() else {
        return Err(TraceError::RootCommit {
            sha: fix_id.to_string(),
        });
    };
    let mut t = Tracer {
        repo,
        odb: ObjectReader::new(repo).remembering(),
        changes: HashMap::new(),
        facts: HashMap::new(),
    };
    let parent_tree = facts(repo, parent)?.tree;
    let mut counts: HashMap<ObjectId, usize> = HashMap::new();
    for fc in file_changes(repo, parent_tree, f.tree)?
        .iter()
        .filter(|c| c.old.is_some())
        .take(MAX_FILES)
    {
        if is_test_or_doc(&fc.new_path) {
            continue;
        }
        let (Some(old), Some(new)) = (read_text(repo, fc.old_id())?, read_text(repo, fc.new_id())?)
        else {
            continue;
        };
        let d = line_diff(&old, &new);
        let lines: Vec<u32> = d.hunks.iter().flat_map(|(b, _)| b.clone()).collect();
        for (_, commit, _, _) in t.blame(&fc.old_path, parent, &lines)? {
            *counts.entry(commit).or_default() += 1;
        }
    }
    let mut out: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(id, n)| (id.to_string(), n))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    Ok(out)
}

// ---------------------------------------------------------------------------------------
// From an incident to its likely fixes

/// Words that carry no search meaning in an incident description.
const STOP_WORDS: &[&str] = &[
    "the",
    "a",
    "an",
    "and",
    "or",
    "of",
    "to",
    "in",
    "on",
    "for",
    "with",
    "that",
    "this",
    "was",
    "were",
    "is",
    "are",
    "be",
    "been",
    "it",
    "its",
    "at",
    "by",
    "from",
    "as",
    "into",
    "about",
    "after",
    "before",
    "during",
    "when",
    "what",
    "which",
    "who",
    "why",
    "how",
    "our",
    "we",
    "us",
    "me",
    "my",
    "you",
    "your",
    "please",
    "hit",
    "hits",
    "caused",
    "cause",
    "causes",
    "last",
    "week",
    "yesterday",
    "today",
    "some",
    "all",
    "any",
    "there",
    "their",
    "then",
    "than",
    "did",
    "does",
    "do",
    "had",
    "has",
    "have",
    "not",
    "no",
    "can",
    "could",
    "would",
    "should",
    "will",
    "just",
    "also",
    "very",
    "more",
    "most",
    "one",
    "two",
    "new",
    "old",
    // skill words
    "write",
    "writing",
    "draft",
    "postmortem",
    "post",
    "mortem",
    "incident",
    "outage",
    "regression",
    "report",
    "analysis",
    "analyze",
    "analyse",
    "investigate",
    "investigation",
    "root",
    "rca",
    "summary",
    "summarize",
    "explain",
    "find",
    "trace",
    "bug",
    "issue",
    "problem",
    "broke",
    "broken",
    "break",
    "failure",
    "failures",
    "fail",
    "failed",
    "error",
    "errors",
    "fix",
    "fixed",
    "commit",
    "commits",
    "review",
    "document",
    "doc",
    "storm",
];

/// Subject words that mark a fix.
const FIX_WORDS: &[&str] = &[
    "fix",
    "fixes",
    "fixed",
    "revert",
    "restore",
    "regression",
    "repair",
    "correct",
    "avoid",
    "prevent",
];

/// Commits whose paths are checked, per returned fix.
const PATH_CHECK_FACTOR: usize = 5;
/// Commits scanned by [`find_fixes`] at most.
const MAX_INCIDENT_SCAN: usize = 200_000;
/// Points per keyword in the subject, in the body, in a changed path.
const P_SUBJECT: f64 = 3.0;
const P_BODY: f64 = 1.0;
const P_PATH: f64 = 2.0;
/// Points for a fix word in the subject, and for a revert.
const P_FIX_WORD: f64 = 2.0;
const P_REVERT: f64 = 1.5;
/// Score per fix word (`regression`, `revert`, ...) the incident and the subject both use;
/// a tie-break between fixes of the same thing, as these words are not keywords.
const P_ECHOED_FIX_WORD: f64 = 0.5;

/// Lowercased keywords of an incident description.
pub fn incident_keywords(incident: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in incident.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
        let w = w.to_lowercase();
        if w.len() < 3 || STOP_WORDS.contains(&w.as_str()) || w.chars().all(|c| c.is_ascii_digit())
        {
            continue;
        }
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

fn word_hits(text: &str, keywords: &[String]) -> Vec<String> {
    keywords
        .iter()
        .filter(|k| {
            text.match_indices(k.as_str())
                .any(|(i, _)| i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric())
        })
        .cloned()
        .collect()
}

/// The commits that most likely fixed the incident described by `incident`, best first.
pub fn find_fixes(
    repo: &gix::Repository,
    incident: &str,
    limit: usize,
) -> Result<Vec<FixCandidate>, TraceError> {
    let keywords = incident_keywords(incident);
    if keywords.is_empty() {
        return Err(TraceError::NoKeywords);
    }
    let incident_lower = incident.to_lowercase();
    let incident_fix_words: HashSet<&str> = incident_lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| FIX_WORDS.contains(w))
        .collect();
    let head = repo.head_id().map_err(|_| TraceError::Empty)?.detach();
    let walk = repo
        .rev_walk([head])
        .all()
        .map_err(|e| git_err("walking history", e))?;
    // (score, recency rank, id, subject, reasons)
    let mut scored: Vec<(f64, usize, ObjectId, String, Vec<String>)> = Vec::new();
    for (n, info) in walk.enumerate() {
        if n >= MAX_INCIDENT_SCAN {
            break;
        }
        let info = info.map_err(|e| git_err("walking history", e))?;
        let commit = info.object().map_err(|e| git_err("reading a commit", e))?;
        let msg = commit
            .message_raw()
            .map_err(|e| git_err("reading a commit", e))?
            .to_str_lossy()
            .to_lowercase();
        let (subject, body) = msg.split_once('\n').unwrap_or((msg.as_str(), ""));
        let sh = word_hits(subject, &keywords);
        let bh: Vec<String> = word_hits(body, &keywords)
            .into_iter()
            .filter(|k| !sh.contains(k))
            .collect();
        if sh.is_empty() && bh.is_empty() {
            continue;
        }
        let mut score = P_SUBJECT * sh.len() as f64 + P_BODY * bh.len() as f64;
        let mut reasons = Vec::new();
        if !sh.is_empty() {
            reasons.push(format!("subject mentions {}", sh.join(", ")));
        }
        if !bh.is_empty() {
            reasons.push(format!("message mentions {}", bh.join(", ")));
        }
        let sw: Vec<&str> = subject
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        if let Some(w) = sw.iter().find(|w| FIX_WORDS.contains(w)) {
            score += P_FIX_WORD;
            reasons.push(format!("subject says `{w}`"));
        }
        let mut echoed: Vec<&str> = sw
            .iter()
            .copied()
            .filter(|w| incident_fix_words.contains(w))
            .collect();
        echoed.sort_unstable();
        echoed.dedup();
        if !echoed.is_empty() {
            score += P_ECHOED_FIX_WORD * echoed.len() as f64;
            reasons.push(format!(
                "subject says {}, as the incident does",
                echoed
                    .iter()
                    .map(|w| format!("`{w}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if subject.starts_with("revert") || body.contains("this reverts commit") {
            score += P_REVERT;
            reasons.push("it is a revert".into());
        }
        scored.push((score, n, info.id, subject.to_string(), reasons));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(limit.max(1) * PATH_CHECK_FACTOR);
    let mut out = Vec::new();
    for (mut score, n, id, _, mut reasons) in scored {
        let cf = facts(repo, id)?;
        if let Some(&p) = cf.parents.first()
            && repo.has_object(p)
        {
            let ptree = facts(repo, p)?.tree;
            let paths: Vec<String> = file_changes(repo, ptree, cf.tree)?
                .into_iter()
                .map(|c| c.new_path.to_lowercase())
                .collect();
            let joined = paths.join("\n");
            let ph = word_hits(&joined, &keywords);
            if !ph.is_empty() {
                score += P_PATH * ph.len() as f64;
                reasons.push(format!("changes paths matching {}", ph.join(", ")));
            }
        }
        out.push((
            score,
            n,
            FixCandidate {
                commit: id.to_string(),
                short: short_hex(&id),
                subject: cf.subject.clone(),
                date: ymd(cf.author_time),
                score,
                reasons,
            },
        ));
    }
    out.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    Ok(out
        .into_iter()
        .map(|(_, _, c)| c)
        .take(limit.max(1))
        .collect())
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
    fn prefixes_and_identifiers() {
        assert_eq!(
            subsystem_prefix("tc: fq: fix rate").as_deref(),
            Some("tc: fq:")
        );
        assert_eq!(subsystem_prefix("fix the thing"), None);
        let ids = message_identifiers("Since parse_config() returns NULL, call foo_bar.");
        assert_eq!(ids, vec!["parse_config".to_string(), "foo_bar".to_string()]);
        assert!(is_test_or_doc("tests/a.rs"));
        assert!(is_test_or_doc("testsuite/test-hash.c"));
        assert!(is_test_or_doc("tools/testing/selftests/net/a.sh"));
        assert!(is_test_or_doc("lib/test-strbuf.c"));
        assert!(!is_test_or_doc("app/test-pmd/testpmd.c"));
        assert!(is_test_or_doc("docs/x.md"));
        assert!(!is_test_or_doc("src/a.c"));
        assert!(is_test_or_doc(".mailmap"));
        assert!(is_test_or_doc(".github/CODEOWNERS"));
        // Test suites by folder or by name, manual pages also as `.in` templates.
        assert!(is_test("t/t0001-init.sh"));
        assert!(is_test("extensions/libxt_tcp.t"));
        assert!(is_test("spec/models/user_spec.rb"));
        assert!(!is_test("tc/q_fq.c"));
        assert!(is_test_or_doc("iptables/iptables-save.8.in"));
        assert!(is_test_or_doc("extensions/libxt_mark.man"));
        assert!(!is_test_or_doc("configure.ac.in"));
        // A build file that happens to end in `.txt`.
        assert!(!is_test_or_doc("providers/mlx5/CMakeLists.txt"));
    }

    #[test]
    fn documented_names_are_read_through_roff_and_matched_whole() {
        assert_eq!(
            unescape_doc(br"\fB\-\-show\-exports\fR and \fIfile\fP \(em x"),
            r"--show-exports and file \(em x"
        );
        assert_eq!(unescape_doc(br"\f(CW\-\-dry\-run\fP"), "--dry-run");
        let names = code_names(
            "--show-exports, -e, --all, --quiet MLX5DV_CONTEXT_MASK_X, ex_a, __x_y, a-b_c, dry-run",
        );
        assert_eq!(
            names,
            ["show-exports", "quiet", "MLX5DV_CONTEXT_MASK_X", "ex_a"]
        );
        assert!(holds_name(br#"{"show-exports", 0},"#, "show-exports"));
        assert!(holds_name(b"\"  --show-exports\\n\"", "show-exports"));
        assert!(!holds_name(b"--show-exports-all", "show-exports"));
        assert!(!holds_name(b"do_show-exports", "show-exports"));
        assert!(holds_name(b"x = MASK_X;", "MASK_X"));
        assert!(!holds_name(b"x = MASK_XY;", "MASK_X"));
    }

    #[test]
    fn a_commit_id_is_read_with_what_its_clause_says_of_it() {
        use ShaRef::{Cause, Named, Reference, Reverted};
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

    #[test]
    fn lines_compare_by_their_words() {
        // Words are split at spaces too: a renamed function and its type leave three of
        // seven words in common, enough for a sweeping rename.
        let sim = similarity(
            b"void libnvmf_context_free(struct libnvmf_context *fctx)",
            b"void nvmf_context_free(struct nvmf_context *fctx)",
        );
        assert!(sim >= MIN_SWEEP_SIMILARITY, "{sim}");
        // A new branch before the line is not cosmetic, one word of five though it is.
        let sim = similarity(
            b"} else if (nla_type(attr) != IFLA_BRIDGE_VLAN_INFO)",
            b"if (nla_type(attr) != IFLA_BRIDGE_VLAN_INFO)",
        );
        assert!(sim < MIN_COSMETIC_SIMILARITY, "{sim}");
    }

    #[test]
    fn keywords_drop_skill_words() {
        assert_eq!(
            incident_keywords("write a postmortem for the payment outage"),
            vec!["payment".to_string()]
        );
    }
}
