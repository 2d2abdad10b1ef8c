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
//! that moves code is often the cause), nor one whose rewrite brought in a word the fix
//! takes out (the rewrite is what the fix corrects). An add-only fix is traced through the
//! blamed context around the insertion and the head of the function it touches (context
//! that dates from the file's creation counts less). The fix message (with cause-naming trailers stripped
//! when asked) names causes elsewhere: commit ids ("since commit X", "reverts commit X"),
//! quoted subjects, `Revert "..."` subjects, functions (the latest change to their
//! definition, not to a prototype, also in files the fix does not touch) and subsystem
//! prefixes (`tc: fq:`); an earlier commit to the same files with a near-identical subject
//! is an incomplete fix this one completes. `Revert "Revert "X""` is credited to X.
//! Another fix by the same author committed within a day (likely a patch of the same
//! series) counts less. A fix that removes what is no longer used ("remove unused
//! variable") is traced to the newest change that took the uses out of the files beside
//! it (out of its own file, for a name those files still use), which left the lines the
//! fix deletes unused; one that adds an existing file to a build list (`Makefile.am`,
//! `meson.build`) to the change that brought the file in; one that only adds `#include`
//! lines to the change that first used what the header declares. Of two candidates scored
//! nearly alike, the newer comes first unless the older has more to do with the names the
//! message gives. Candidates dated after the bug's first report are discarded.
//!
//! [`find_fixes`] goes one step earlier: from a described incident to the commits that most
//! likely fixed it: the commit it names as the fix, the commit whose message names the
//! cause or the issue it names, else the best match of its words.
//!
//! All git access is in-process (gix); nothing here starts a process.
//!
//! This module holds the scoring ([`trace`]); its parts: `history` walks and blames history
//! and looks through cosmetic commits, `message` reads the fix message, `lines` says what
//! kind of file and line it is looking at, `named` finds what the message names in history
//! and the tree, `docs` handles fixes that only document or export names, `incident`
//! finds fixes from a description (`references`: the shas and issue numbers it names),
//! `unused` finds what left a name unused, `listed` what brought in a file a build list
//! lacked, `include` what used a header's names without it, and `szz` is the benchmark's
//! baseline.

mod docs;
mod history;
mod incident;
mod include;
mod lines;
mod listed;
mod message;
mod named;
mod references;
mod szz;
mod unused;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use gix::ObjectId;
use gix::bstr::ByteSlice;
use gix::diff::blob::{Algorithm, Diff, InternedInput};
use serde::{Deserialize, Serialize};

use crate::diff::{FileChange, changes_of};
use crate::text::commit_text;

pub use incident::{
    branch_commits, dates_in, find_fixes, find_fixes_from, incident_date, incident_keywords,
    incident_stems, stems_held,
};
pub use lines::{function_name, has_function_heads, is_generated, is_test, is_test_or_doc};
pub use message::{strip_cause_trailers, subject_parts};
pub use references::{fixed_by, is_sha_word, issue_numbers, unknown_shas};
pub use szz::plain_szz;

use docs::{Listing, documented_names, name_sites};
use history::{Tracer, touches_any};
use lines::{Lang, function_head, is_noise, is_trivial, lang_of, normalized};
use message::{
    ShaRef, message_identifiers, prose_shas, quoted_subjects, subsystem_prefix, trailer_shas,
};
use named::{find_definitions, find_subjects, similar_subjects, subject_words};

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

/// Non-trivial context lines blamed on each side of an add-only hunk.
const CONTEXT_LINES: usize = 3;

/// Weight of a code line that holds a name a fix only documents or exports: the change
/// that brought the name into the code left it undocumented or unexported.
const W_DOCUMENTED_NAME: f64 = 1.0;

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

/// Weight of the newest commit that took out uses of a name a fix removes as unused: it
/// left the name unused, which is what the fix repairs.
const W_LAST_USE_REMOVED: f64 = 5.0;

/// Weight of the newest commit that brought in a file a fix adds to a build list
/// (`Makefile.am`, `meson.build`): it left the file out of the list.
const W_LISTED_FILE_CREATED: f64 = 5.0;

/// Weight of the commit that brought in a file a fix deletes when the file has no lines to
/// blame (empty or binary): a file committed by mistake.
const W_DELETED_FILE_CREATED: f64 = 5.0;

/// Weight of the newest commit that wrote into a file a use of a name declared by the
/// header a fix adds to it (`size_t` for `<stddef.h>`): it left the include out.
const W_INCLUDED_NAME_USED: f64 = 5.0;

/// Weight of an earlier commit whose subject shares most words with the fix's (an
/// incomplete earlier fix, completed by this one); times the share of shared words.
const W_SIMILAR_SUBJECT: f64 = 4.0;

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

/// Share of the first candidate's score at which a newer second candidate is put first.
const F_NEAR_TIE: f64 = 0.85;

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
    /// What the reader should know about how far the trace could see (a shallow clone,
    /// candidates left out as made after the first report).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Commits (12 hex digits) the fix's lines led to that were made after the first report
    /// ([`TraceOptions::reported_at`]) and so are not candidates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub after_report: Vec<String>,
}

/// A runner-up scoring at least this share of the first candidate makes the trace a close
/// call. Over the benchmark's 1,672 fixes (BENCHMARKS.md), a fifth are close calls by this
/// measure, and the first candidate is right for 39% of them against 70% of the others.
pub const CLOSE_CALL: f64 = 0.7;

impl Trace {
    /// Whether every commit the fix's lines led to was made after the first report
    /// ([`TraceOptions::reported_at`]): then this fix did not fix a bug seen then.
    pub fn only_after_report(&self) -> bool {
        self.candidates.is_empty() && !self.after_report.is_empty()
    }

    /// The second candidate, when it scores close enough to the first ([`CLOSE_CALL`]) that
    /// the first is a weak lead: a reader should check both.
    pub fn runner_up(&self) -> Option<&Candidate> {
        let [first, second, ..] = self.candidates.as_slice() else {
            return None;
        };
        (first.score > 0.0 && second.score >= CLOSE_CALL * first.score).then_some(second)
    }
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
        "{sha}'s parent is not in this shallow clone, so there is nothing to blame in; fetch the history (`git fetch --unshallow`, or `fetch-depth: 0` with actions/checkout) and trace again"
    )]
    Shallow { sha: String },
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
    #[error(
        "`{given}` is not a date: give when the bug was first reported as YYYY-MM-DD (that whole day, in any time zone) or an RFC 3339 time such as 2024-01-11T09:30:00Z"
    )]
    ReportedDate { given: String },
    #[error(
        "`{given}` has not come yet: give when the bug was first reported or seen, as YYYY-MM-DD"
    )]
    ReportedFuture { given: String },
}

/// Hours the last time zone to reach a date (UTC-12) is behind UTC: a report date counts
/// until that date ends there.
const LATEST_ZONE_HOURS: i8 = 12;
/// Characters of a report date that is not one, quoted back in the error.
const MAX_QUOTED_DATE_CHARS: usize = 80;

/// When a bug was first reported, as given (`--reported`, the tool's `reported`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reported {
    /// The latest moment it can mean, in unix seconds ([`TraceOptions::reported_at`]).
    pub at: i64,
    /// Its day: the date given, or a time's date in UTC (what [`find_fixes`] reads).
    pub day: jiff::civil::Date,
}

/// Hours the earliest time zone (UTC+14) is ahead of UTC: a date is still to come only
/// when it has not begun there.
const EARLIEST_ZONE_HOURS: i64 = 14;

/// Whether `day` has not begun yet in any time zone: a date no incident can have.
pub fn is_future(day: jiff::civil::Date) -> bool {
    let earliest_today = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(EARLIEST_ZONE_HOURS))
        .map(|t| t.to_zoned(jiff::tz::TimeZone::UTC).date());
    earliest_today.is_ok_and(|today| day > today)
}

impl std::str::FromStr for Reported {
    type Err = TraceError;

    /// A date (`2024-01-11`) runs to its end in the last time zone to reach it (UTC-12), so
    /// a commit made earlier that day anywhere is kept; a time (RFC 3339, with its offset)
    /// is taken as given.
    fn from_str(text: &str) -> Result<Self, TraceError> {
        let text = text.trim();
        let bad = || TraceError::ReportedDate {
            given: text.chars().take(MAX_QUOTED_DATE_CHARS).collect(),
        };
        let future = || TraceError::ReportedFuture {
            given: text.chars().take(MAX_QUOTED_DATE_CHARS).collect(),
        };
        if let Ok(t) = text.parse::<jiff::Timestamp>() {
            if t > jiff::Timestamp::now() {
                return Err(future());
            }
            return Ok(Reported {
                at: t.as_second(),
                day: t.to_zoned(jiff::tz::TimeZone::UTC).date(),
            });
        }
        let day: jiff::civil::Date = text.parse().map_err(|_| bad())?;
        if is_future(day) {
            return Err(future());
        }
        let end = day
            .tomorrow()
            .map_err(|_| bad())?
            .at(LATEST_ZONE_HOURS, 0, 0, 0)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map_err(|_| bad())?;
        Ok(Reported {
            at: end.timestamp().as_second() - 1,
            day,
        })
    }
}

impl Reported {
    /// `incident` with this day after it, unless it gives a date of its own: the search
    /// for the fix reads the incident's date from its text ([`incident_date`]).
    pub fn dating(&self, incident: &str) -> String {
        if incident_date(incident).is_some() {
            incident.to_string()
        } else {
            format!("{incident} {}", self.day)
        }
    }
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
    /// The UTC offset (seconds east) the author date was written in.
    author_offset: i32,
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

/// A commit of a history walk, with its message lowercased.
struct Walked<'r> {
    /// Its place in the walk, newest first.
    n: usize,
    info: gix::revision::walk::Info<'r>,
    commit: gix::Commit<'r>,
    message: String,
}

/// `tip`'s history newest first, `max` commits at most, each with its lowercased message:
/// what the incident search reads.
fn walk_messages<'r>(
    repo: &'r gix::Repository,
    tip: ObjectId,
    max: usize,
) -> Result<impl Iterator<Item = Result<Walked<'r>, TraceError>> + 'r, TraceError> {
    let walk = repo
        .rev_walk([tip])
        .all()
        .map_err(|e| git_err("walking history", e))?;
    Ok(walk.take(max).enumerate().map(|(n, info)| {
        let info = info.map_err(|e| git_err("walking history", e))?;
        let commit = info.object().map_err(|e| git_err("reading a commit", e))?;
        let message = {
            let d = commit
                .decode()
                .map_err(|e| git_err("reading a commit", e))?;
            commit_text(d.message, d.encoding.map(|e| e.as_ref())).to_lowercase()
        };
        Ok(Walked {
            n,
            info,
            commit,
            message,
        })
    }))
}

fn facts(repo: &gix::Repository, id: ObjectId) -> Result<CommitFacts, TraceError> {
    let commit = repo
        .find_commit(id)
        .map_err(|e| git_err("reading a commit", e))?;
    let d = commit
        .decode()
        .map_err(|e| git_err("decoding a commit", e))?;
    let message = commit_text(d.message, d.encoding.map(|e| e.as_ref())).into_owned();
    let subject = message.lines().next().unwrap_or("").trim().to_string();
    let commit_time = d
        .committer()
        .ok()
        .and_then(|s| s.time().ok())
        .map_or(0, |t| t.seconds);
    let (author_time, author_offset) = d
        .author()
        .ok()
        .and_then(|s| s.time().ok())
        .map_or((commit_time, 0), |t| (t.seconds, t.offset));
    let author_email = d
        .author()
        .map(|a| a.email.to_str_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    Ok(CommitFacts {
        parents: d.parents().collect(),
        message,
        subject,
        author_time,
        author_offset,
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
            reason: if repo.head_id().is_err() {
                "the repository has no commits yet".into()
            } else {
                let said = e.to_string();
                number_reason(rev)
                    .filter(|_| !said.contains("mbiguous"))
                    .unwrap_or_else(|| revision_reason(&said))
            },
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

/// Digits of the longest pull request or issue number read as one: a bare number this
/// long could as well be a short sha (git's shortest abbreviation has 7 digits), so
/// without a `#` it must be shorter.
const MAX_NUMBER_DIGITS: usize = 7;

/// A revision that failed to resolve and reads as a pull request or issue number (`#1466`,
/// `1466`): the way to reach the commits behind it.
fn number_reason(rev: &str) -> Option<String> {
    let n = rev.strip_prefix('#').unwrap_or(rev);
    let numeric =
        !n.is_empty() && n.len() <= MAX_NUMBER_DIGITS && n.bytes().all(|b| b.is_ascii_digit());
    (numeric && (rev.starts_with('#') || n.len() < MAX_NUMBER_DIGITS)).then(|| {
        format!(
            "it reads as a pull request or issue number, not a commit; `--incident \"#{n}\"` finds the commits that made or fixed it"
        )
    })
}

/// Why git could not resolve a revision, in words rather than gix's internals
/// (`delegate.traverse(NthAncestor(100)) failed, input="~100"`).
pub(crate) fn revision_reason(gix_says: &str) -> String {
    if gix_says.contains("mbiguous") {
        "the short sha fits several objects; give more of its digits".into()
    } else if gix_says.contains("NthAncestor") {
        "the history before it is not that long".into()
    } else if gix_says.contains("NthParent") || gix_says.contains("unknown navigation") {
        "that commit has no such parent".into()
    } else {
        "no commit, branch or tag has that name".into()
    }
}

/// The date of a git time in its own zone, as `git log --date=short` shows it.
fn ymd(seconds: i64, offset: i32) -> String {
    crate::tools::git_log::format_date(seconds, offset)
}

fn short_hex(id: &ObjectId) -> String {
    id.to_hex_with_len(12).to_string()
}

// ---------------------------------------------------------------------------------------
// Diffs

/// Every change between two trees, renames followed (see [`crate::diff::changes_of`]).
fn tree_changes(
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
    Ok(changes_of(list))
}

/// The changed regular files between two trees, by path: symlinks and submodules have no
/// lines to blame.
fn file_changes(
    repo: &gix::Repository,
    old_tree: ObjectId,
    new_tree: ObjectId,
) -> Result<Vec<FileChange>, TraceError> {
    let mut out = tree_changes(repo, old_tree, new_tree)?;
    // A path that is not UTF-8 cannot be looked up by its lossy name: such a file is left
    // out of the trace rather than failing it.
    out.retain(|c| c.is_blob_change() && c.exact_paths);
    Ok(out)
}

/// What a fix changed that has no lines to blame.
#[derive(Default)]
struct WithoutLines {
    /// In words (`changes the symbolic link `cur``), for a note when nothing is found.
    kinds: Vec<String>,
    /// Files whose name is not UTF-8, which cannot be looked up by name.
    unnamed: Vec<String>,
    /// A symbolic link's target or a submodule's commit the fix replaced: path, the object
    /// it replaced, and what it is.
    replaced: Vec<(String, ObjectId, &'static str)>,
}

fn without_lines(
    repo: &gix::Repository,
    old_tree: ObjectId,
    new_tree: ObjectId,
) -> Result<WithoutLines, TraceError> {
    let mut out = WithoutLines::default();
    for c in tree_changes(repo, old_tree, new_tree)? {
        let modes: Vec<gix::object::tree::EntryMode> =
            [c.old, c.new].iter().flatten().map(|(_, m)| *m).collect();
        let path = &c.new_path;
        let what = if modes.iter().any(|m| m.is_commit()) {
            out.kinds.push(format!(
                "moves the submodule `{path}` to another commit (trace the fix inside the submodule)"
            ));
            Some("submodule")
        } else if modes.iter().any(|m| m.is_link()) {
            out.kinds
                .push(format!("changes the symbolic link `{path}`"));
            Some("symbolic link")
        } else {
            if !c.exact_paths {
                out.unnamed.push(path.clone());
            } else if let (Some((a, ma)), Some((b, mb))) = (c.old, c.new)
                && a == b
            {
                out.kinds.push(if ma == mb {
                    format!("renames `{}` to `{path}` without changing it", c.old_path)
                } else {
                    format!("changes only the mode of `{path}`")
                });
            }
            None
        };
        if let (Some(what), Some((old, _))) = (what, c.old)
            && c.exact_paths
        {
            out.replaced.push((c.old_path.clone(), old, what));
        }
    }
    Ok(out)
}

/// The newest commit of `start`'s history that set `path` to `id`: what blame would name for
/// a symbolic link's target or a submodule's commit, which have no lines of their own.
fn set_to(
    t: &mut Tracer<'_>,
    start: ObjectId,
    path: &str,
    id: ObjectId,
) -> Result<Option<ObjectId>, TraceError> {
    for c in history::newest_first(t.repo, start)? {
        let c = c?;
        let f = t.facts(c)?;
        let (tree, parent) = (f.tree, f.parents.first().copied());
        if history::entry_at(t.repo, tree, path)? != Some(id) {
            continue;
        }
        let before = match parent.filter(|p| t.repo.has_object(*p)) {
            Some(p) => {
                let ptree = t.facts(p)?.tree;
                history::entry_at(t.repo, ptree, path)?
            }
            None => None,
        };
        if before != Some(id) {
            return Ok(Some(c));
        }
    }
    Ok(None)
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
    /// Names the fix message gives whose function this commit last changed.
    named: BTreeSet<String>,
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

/// Lines of one changed file to blame, with why.
///
/// A hunk that changes only comments is skipped when `code_changed` (the fix changes code
/// elsewhere); otherwise (a comment-only fix) its comment lines count as changed lines. In a
/// `formatting` fix, a line only re-indented counts as changed.
fn lines_to_blame(
    d: &LineDiff<'_>,
    lang: Lang,
    code_changed: bool,
    formatting: bool,
) -> Vec<(u32, Role)> {
    let mut want: BTreeMap<u32, Role> = BTreeMap::new();
    let mut put = |line: u32, role: Role| {
        let e = want.entry(line).or_insert(role);
        if role < *e {
            *e = role;
        }
    };
    for (b, a) in &d.hunks {
        // A formatting fix is about the form of its lines: one it only re-indented counts.
        let added: HashSet<Vec<u8>> = if formatting {
            HashSet::new()
        } else {
            a.clone().map(|i| normalized(d.new[i as usize])).collect()
        };
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

/// How the fix changes one line of its parent: the words it takes out of it, counted (a
/// word the line has twice and its replacement lines once is taken out once). Empty for a
/// line the fix does not change.
#[derive(Default)]
pub(super) struct FixEdit {
    pub(super) undone: HashSet<Vec<u8>>,
}

impl FixEdit {
    /// How the fix's hunk holding old line `line` changes it. `added` keeps each hunk's
    /// counted words, so a hunk of thousands of lines is read once, not once a line.
    fn of(
        d: &LineDiff<'_>,
        line: u32,
        added: &mut HashMap<usize, HashMap<Vec<u8>, usize>>,
    ) -> FixEdit {
        let (Some(k), Some(old)) = (
            d.hunks.iter().position(|(b, _)| b.contains(&line)),
            d.old.get(line as usize),
        ) else {
            return FixEdit::default();
        };
        let added = added.entry(k).or_insert_with(|| {
            let mut words: HashMap<Vec<u8>, usize> = HashMap::new();
            for i in d.hunks[k].1.clone() {
                for (t, n) in history::token_counts(d.new[i as usize]) {
                    *words.entry(t).or_default() += n;
                }
            }
            words
        });
        let undone = history::token_counts(old)
            .into_iter()
            .filter(|(t, n)| added.get(t).copied().unwrap_or(0) < *n)
            .map(|(t, _)| t)
            .collect();
        FixEdit { undone }
    }
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
    let want = lines_to_blame(&d, lang, code_changed, t.formatting_fix);
    let lines: Vec<u32> = want.iter().map(|(l, _)| *l).collect();
    let roles: HashMap<u32, Role> = want.into_iter().collect();
    let mut added_words = HashMap::new();
    for (line, commit, src, src_line) in t.blame(&fc.old_path, parent, &lines)? {
        let role = roles.get(&line).copied().unwrap_or(Role::Changed);
        let text = d
            .old
            .get(line as usize)
            .map(|l| l.to_vec())
            .unwrap_or_default();
        let edit = if role == Role::Changed {
            FixEdit::of(&d, line, &mut added_words)
        } else {
            FixEdit::default()
        };
        let (origin, hops) = if matches!(role, Role::Changed | Role::Context(_)) {
            t.follow(commit, src, src_line, &text, &edit)?
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

/// Traces the likely fixes of an incident (best first, from [`find_fixes`]) until one leads
/// somewhere before the first report, and returns its index and trace: a fix whose lines
/// lead only to commits made after the report ([`Trace::only_after_report`]) did not fix a
/// bug seen then, so the next is traced. When every one is like that, the first's trace is
/// returned. `before_each` runs before each trace (a caller's deadline); `None` when
/// `fixes` is empty.
pub fn trace_likely_fix<E: From<TraceError>>(
    repo: &gix::Repository,
    fixes: &[FixCandidate],
    opts: &TraceOptions,
    mut before_each: impl FnMut() -> Result<(), E>,
) -> Result<Option<(usize, Trace)>, E> {
    let mut first = None;
    let mut root = None;
    for (k, f) in fixes.iter().enumerate() {
        before_each()?;
        let t = match trace(repo, &f.commit, opts) {
            Ok(t) => t,
            // The first commit of the history fixed nothing: the next likely fix is asked.
            Err(e @ TraceError::RootCommit { .. }) => {
                root.get_or_insert(e);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        if !t.only_after_report() {
            return Ok(Some((k, t)));
        }
        first.get_or_insert((k, t));
    }
    match (first, root) {
        (None, Some(e)) => Err(e.into()),
        (first, _) => Ok(first),
    }
}

/// Commits of a merged branch named in [`merge_note`].
const MERGE_COMMITS_NAMED: usize = 5;

/// What a trace of a merge is: the change of everything its branch brought in, with the
/// branch's own commits (the newest [`MERGE_COMMITS_NAMED`]) named for a narrower trace.
fn merge_note(
    repo: &gix::Repository,
    merge: ObjectId,
    first: ObjectId,
    second: ObjectId,
    changes: &[FileChange],
) -> String {
    let branch: Vec<String> = incident::branch_commits(repo, merge)
        .unwrap_or_default()
        .iter()
        .take(MERGE_COMMITS_NAMED + 1)
        .map(short_hex)
        .collect();
    let listed = match branch.len() {
        0 => String::new(),
        n if n > MERGE_COMMITS_NAMED => format!(
            " (among them {}, ...)",
            branch[..MERGE_COMMITS_NAMED].join(", ")
        ),
        _ => format!(" ({})", branch.join(", ")),
    };
    let mut note = format!(
        "{} is a merge: what is traced is the whole change its branch brought in; to trace one fix, trace the branch's commit that made it{listed}, listed by `git log --oneline {}..{}`",
        short_hex(&merge),
        short_hex(&first),
        short_hex(&second),
    );
    // A file the merge left unlike both parents was changed in the merge itself (a conflict
    // resolved, or an edit made while merging): no commit of the branch made that.
    let own: Vec<&str> = facts(repo, second)
        .ok()
        .map(|s| {
            changes
                .iter()
                .filter(|c| c.new.is_some())
                .filter(|c| {
                    history::entry_at(repo, s.tree, &c.new_path).ok().flatten() != c.new_id()
                })
                .map(|c| c.new_path.as_str())
                .take(MERGE_COMMITS_NAMED)
                .collect()
        })
        .unwrap_or_default();
    if !own.is_empty() {
        note.push_str(&format!(
            "; the merge itself changed {} beyond both parents, which no commit of the branch did",
            own.iter()
                .map(|p| format!("`{p}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    note
}

/// Trace the fix `fix` back to the commits that most likely introduced the bug.
pub fn trace(repo: &gix::Repository, fix: &str, opts: &TraceOptions) -> Result<Trace, TraceError> {
    let fix_id = resolve(repo, fix)?;
    let mut t = Tracer::new(repo);
    let f = facts(repo, fix_id)?;
    let Some(&parent) = f.parents.first() else {
        return Err(TraceError::RootCommit {
            sha: fix_id.to_string(),
        });
    };
    if !repo.has_object(parent) {
        return Err(TraceError::Shallow {
            sha: fix_id.to_string(),
        });
    }
    // The message heuristics read the prose only: a cause trailer counts once, in step 1,
    // and not again as a sha or a quoted subject in the message.
    let message = strip_cause_trailers(&f.message);
    t.formatting_fix = history::is_formatting_subject(message.lines().next().unwrap_or(""));
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

    // A fix that only adds documentation or exports: the changes that brought the names it
    // documents or exports into the code.
    if let Some((names, listing)) = documented_names(repo, &changes)?
        && !names.is_empty()
    {
        let what = match listing {
            Listing::Docs => "documents",
            Listing::Exports => "exports",
        };
        for (path, sites, name) in name_sites(repo, parent_tree, &names)? {
            let lines: Vec<u32> = sites.iter().map(|(l, _)| *l).collect();
            let texts: HashMap<u32, Vec<u8>> = sites.into_iter().collect();
            for (line, commit, src, src_line) in t.blame(&path, parent, &lines)? {
                let text = texts.get(&line).map_or(&[][..], |l| l.as_slice());
                let (origin, _) = t.follow(commit, src, src_line, text, &FixEdit::default())?;
                board.add_line(
                    origin,
                    W_DOCUMENTED_NAME,
                    format!("brought `{name}`, which the fix {what}, into {path}"),
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
                ShaRef::PartlyReverted => (
                    W_REVERT,
                    format!("the fix message says it partly reverts {sha}"),
                ),
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

    // A merge's subject names its branch ("Merge branch 'lsclocks/fixes' of ..."), which
    // other merges share word for word: not a related fix.
    let similar = if f.parents.len() > 1 {
        Vec::new()
    } else {
        similar_subjects(repo, parent, &f.subject)?
    };
    for (id, share) in similar {
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
                board.acc.entry(commit).or_default().named.insert(ident);
            }
        }
    }

    // A fix that removes what is no longer used: the change that took its last uses out.
    if unused::is_unused_subject(&f.subject) {
        let names = unused::vanished_names(repo, parent_tree, &changes)?;
        // What took the uses out came after something the fix deletes was written.
        let mut not_before = i64::MAX;
        let blamed: Vec<ObjectId> = board
            .acc
            .iter()
            .filter(|(_, a)| a.lines > 0.0)
            .map(|(id, _)| *id)
            .collect();
        for id in blamed {
            not_before = not_before.min(t.facts(id)?.commit_time);
        }
        if not_before == i64::MAX {
            not_before = 0;
        }
        if let Some((id, name)) = unused::last_use_removed(&mut t, parent, &names, not_before)? {
            board.add(
                id,
                W_LAST_USE_REMOVED,
                format!("took out uses of `{name}`, which the fix removes as no longer used"),
            );
        }
    }

    // A fix that adds files to a build list: the change that brought them in unlisted.
    let listed = listed::newly_listed(repo, parent_tree, &changes)?;
    if let Some((id, path)) = listed::newest_creator(&mut t, parent, &listed)? {
        board.add(
            id,
            W_LISTED_FILE_CREATED,
            format!("brought in `{path}`, which the fix adds to a build list"),
        );
    }

    // A fix that repoints a symbolic link or moves a submodule: the commit that set what it
    // replaces, as blame would name the commit that wrote a changed line.
    let lineless = without_lines(repo, parent_tree, f.tree)?;
    for (path, old, what) in lineless.replaced.iter().take(MAX_FILES) {
        if let Some(c) = set_to(&mut t, parent, path, *old)? {
            board.add(
                c,
                W_CHANGED,
                format!("set the {what} `{path}` to what the fix changes"),
            );
        }
    }

    // A fix that deletes a file with no lines to blame (an empty file, a binary committed by
    // mistake): the change that brought it in.
    let mut unblamable: Vec<String> = Vec::new();
    for fc in changes
        .iter()
        .filter(|fc| fc.new.is_none() && fc.is_blob_change())
    {
        let nothing_to_blame = read_text(repo, fc.old_id())?.is_none_or(|text| text.is_empty());
        if nothing_to_blame && fc.exact_paths {
            unblamable.push(fc.old_path.clone());
        }
    }
    if let Some((id, path)) = listed::newest_creator(&mut t, parent, &unblamable)? {
        board.add(
            id,
            W_DELETED_FILE_CREATED,
            format!("brought in `{path}`, which the fix deletes and which has no lines to blame"),
        );
    }

    // A fix that only adds `#include` lines: the change that started using, in the file, a
    // name the header declares.
    if let Some(includes) = include::added_includes(repo, &changes)? {
        let mut newest: Option<(i64, ObjectId, String)> = None;
        for (file, header) in includes {
            let names = include::declared_names(repo, parent_tree, &file, &header)?;
            if let Some((id, name)) = include::newest_use(&mut t, parent, &file, &names)? {
                let time = t.facts(id)?.commit_time;
                if newest.as_ref().is_none_or(|(n, _, _)| time > *n) {
                    let why = format!(
                        "wrote a use of `{name}` into {file}, which `{header}`, the header the fix includes, declares"
                    );
                    newest = Some((time, id, why));
                }
            }
        }
        if let Some((_, id, why)) = newest {
            board.add(id, W_INCLUDED_NAME_USED, why);
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
    // Each candidate with how many of the names the fix message gives its change touches or
    // whose function it last changed.
    let mut ranked: Vec<(Candidate, usize)> = Vec::new();
    // Where a shallow clone's history stops, blame takes the boundary commit for the author
    // of every older line: what it is blamed for is no evidence.
    let boundary: HashSet<ObjectId> = repo
        .shallow_commits()
        .ok()
        .flatten()
        .map(|c| c.iter().copied().collect())
        .unwrap_or_default();
    let mut notes = Vec::new();
    let mut after_report: Vec<String> = Vec::new();
    let ids: Vec<ObjectId> = board.acc.keys().copied().collect();
    for id in ids {
        if id == fix_id {
            continue;
        }
        let cf = t.facts(id)?;
        let (subject, atime, ctime) = (cf.subject.clone(), cf.author_time, cf.commit_time);
        let aoffset = cf.author_offset;
        if ctime > f.commit_time.max(f.author_time) + 86_400 && atime > f.author_time {
            continue;
        }
        if let Some(r) = opts.reported_at
            && atime.min(ctime) > r
        {
            after_report.push(short_hex(&id));
            continue;
        }
        let Some(mut a) = board.acc.remove(&id) else {
            continue;
        };
        if boundary.contains(&id) && a.lines > 0.0 {
            notes.push(format!(
                "this clone is shallow and its history stops at {} (\"{subject}\"), which blame takes for the author of every older line, so what it is blamed for is left out; fetch the history (`git fetch --unshallow`) and trace again",
                short_hex(&id)
            ));
            a.score -= a.lines;
            a.lines = 0.0;
            a.evidence.retain(|e, _| !e.starts_with("blamed for"));
            if a.score <= 0.0 {
                continue;
            }
        }
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
        // What the fix itself says of the commit (a trailer, a revert, its message naming it)
        // comes first, so a shortened list keeps it.
        evidence.sort_by_key(|e| !e.starts_with("the fix"));
        let mut factor = 1.0;
        let mut named = a.named.clone();
        if a.lines > 0.0 {
            let ch = t.changes(id)?;
            if let Some(ch) = ch {
                let hits: Vec<&String> = idents
                    .iter()
                    .filter(|i| ch.added_text.find(i.as_bytes()).is_some())
                    .collect();
                named.extend(hits.iter().map(|s| s.to_string()));
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
        let candidate = Candidate {
            commit: id.to_string(),
            short: short_hex(&id),
            subject,
            date: ymd(atime, aoffset),
            score: (score * 1000.0).round() / 1000.0,
            evidence,
        };
        ranked.push((candidate, named.len()));
    }
    ranked.sort_by(|(a, _), (b, _)| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| b.date.cmp(&a.date))
            .then_with(|| a.commit.cmp(&b.commit))
    });
    // Two candidates that the lines weigh nearly alike, neither named by the fix: the newer
    // change is the likelier cause (a bug is found sooner after it came in than later),
    // unless the older one's change has more to do with the names the fix message gives.
    if let [(first, first_named), (second, second_named), ..] = &mut ranked[..]
        && second.score >= F_NEAR_TIE * first.score
        && second.date > first.date
        && *second_named >= *first_named
        && ![&*first, &*second]
            .iter()
            .any(|c| c.evidence.iter().any(|e| e.starts_with("the fix")))
    {
        second.evidence.insert(
            0,
            format!(
                "scores within {:.0}% of {} and is newer, so it is put first",
                (1.0 - F_NEAR_TIE) * 100.0,
                first.short
            ),
        );
        std::mem::swap(first, second);
    }
    let mut ranked: Vec<Candidate> = ranked.into_iter().map(|(c, _)| c).collect();
    ranked.truncate(opts.max_candidates.max(1));
    if let [first, second, ..] = f.parents[..] {
        notes.push(merge_note(repo, fix_id, first, second, &changes));
    }
    if !lineless.unnamed.is_empty() {
        notes.push(format!(
            "left out: {} file(s) whose name is not UTF-8 ({}), which cannot be looked up by name",
            lineless.unnamed.len(),
            lineless.unnamed.join(", ")
        ));
    }
    if ranked.is_empty() && !lineless.kinds.is_empty() {
        notes.push(format!(
            "nothing to blame: the fix {}",
            lineless.kinds.join(", and ")
        ));
    }
    after_report.sort_unstable();
    if !after_report.is_empty() {
        notes.push(format!(
            "left out as made after the first report: {}",
            after_report.join(", ")
        ));
    }
    Ok(Trace {
        fix: fix_id.to_string(),
        fix_subject: f.subject.clone(),
        candidates: ranked,
        notes,
        after_report,
    })
}

#[cfg(test)]
mod tests {
    use super::{Reported, TraceError};

    #[test]
    fn a_report_date_runs_to_its_end_in_every_time_zone() {
        let at = |t: &str| t.parse::<Reported>().map(|r| r.at);
        // 2024-01-11 ends, in UTC-12, at 2024-01-12 12:00 UTC.
        assert_eq!(at("2024-01-11").unwrap(), 1_705_060_799);
        assert_eq!(at(" 2024-01-11\n").unwrap(), 1_705_060_799);
        // A time is taken with its offset; its day is its date in UTC.
        assert_eq!(at("2024-01-11T09:30:00+02:00").unwrap(), 1_704_958_200);
        assert_eq!(at("2024-01-11T07:30:00Z").unwrap(), 1_704_958_200);
        let late: Reported = "2024-01-11T23:30:00-05:00".parse().unwrap();
        assert_eq!(late.day.to_string(), "2024-01-12");
        assert_eq!(late.dating("the outage"), "the outage 2024-01-12");
        assert_eq!(
            late.dating("the outage of 2024-01-10"),
            "the outage of 2024-01-10"
        );
        for bad in [
            "",
            "yesterday",
            "2024-02-30",
            "11/01/2024",
            "2024-01-11T25:00:00Z",
        ] {
            let e = at(bad).unwrap_err();
            assert!(matches!(e, TraceError::ReportedDate { .. }), "{bad}: {e:?}");
        }
        // A date or time still to come cannot be when anything was reported.
        for future in ["2999-01-01", "2999-01-01T00:00:00Z"] {
            let e = at(future).unwrap_err();
            assert!(
                matches!(e, TraceError::ReportedFuture { .. }),
                "{future}: {e:?}"
            );
            assert!(e.to_string().contains("has not come yet"), "{e}");
        }
    }
}
