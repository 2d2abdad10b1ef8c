//! What an incident description points at directly: commits it names by sha ("the bug fixed
//! by 1c4e790", "broken since 52a6e45") and issues it names by number ("issue #482", a
//! forge's issue or pull-request address). [`super::find_fixes`] ranks what these point at
//! above any match of words: the asker said which change or report they mean.

use std::collections::{HashMap, HashSet};

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::incident::MAX_INCIDENT_SCAN;
use super::message::trailer_shas;
use super::{TraceError, Walked, git_err, short_hex, walk_messages};

/// Hex digits a sha needs to be read as one (git's shortest default abbreviation).
const MIN_SHA_LEN: usize = 7;
/// Hex digits of a full sha (SHA-256 repositories; SHA-1 has 40).
const MAX_SHA_LEN: usize = 64;
/// Words before a sha that are read for what the incident says of it.
const ROLE_WINDOW: usize = 4;
/// Commits of a merged branch credited with the merge's reference, at most.
const MAX_BRANCH_COMMITS: usize = 100;

/// What the incident says of a commit it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// "fixed by X", "the fix X": the commit is the fix.
    Fix,
    /// "introduced by X", "broken since X", "regression from X": a commit that names it
    /// fixed the incident.
    Cause,
    /// Nothing said: decided by the commit itself (see [`NamedCommit::resolve`]).
    Unsaid,
}

/// A commit the incident names by sha.
#[derive(Debug, Clone)]
pub(super) struct NamedCommit {
    pub id: ObjectId,
    /// The sha as the incident wrote it, lowercased.
    pub written: String,
    pub role: Role,
}

/// Whether `word` reads as an abbreviated or full sha.
pub fn is_sha_word(word: &str) -> bool {
    (MIN_SHA_LEN..=MAX_SHA_LEN).contains(&word.len()) && word.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What the words just before a sha say of it: the nearest word that tells, within
/// [`ROLE_WINDOW`] words of the same sentence.
fn role_before(words_before: &[&str]) -> Role {
    for (k, raw) in words_before.iter().rev().enumerate() {
        if k >= ROLE_WINDOW {
            break;
        }
        // A sentence that ended before the sha says nothing of it.
        if k > 0 && raw.ends_with(['.', '!', '?', ';']) {
            break;
        }
        let w: String = raw
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        let fix = ["fix", "resolv", "solv", "repair", "patch"];
        let cause = [
            "introduc", "caus", "brok", "break", "regress", "culprit", "bisect", "blame",
        ];
        if fix.iter().any(|p| w.starts_with(p)) || w == "reverted" {
            return Role::Fix;
        }
        if cause.iter().any(|p| w.starts_with(p)) || w == "since" || w == "after" {
            return Role::Cause;
        }
    }
    Role::Unsaid
}

/// The words of `text` written as a commit id, lowercased, each with its index among the
/// text's words.
fn sha_words(text: &str) -> impl Iterator<Item = (usize, String)> + '_ {
    text.split_whitespace().enumerate().filter_map(|(i, raw)| {
        let token = raw
            .trim_matches(|c: char| !c.is_ascii_alphanumeric())
            .to_ascii_lowercase();
        is_sha_word(&token).then_some((i, token))
    })
}

/// The commit `token` names in `repo`, if any.
fn commit_named(repo: &gix::Repository, token: &str) -> Option<ObjectId> {
    repo.rev_parse_single(token)
        .ok()
        .and_then(|id| id.object().ok())
        .and_then(|o| o.peel_to_commit().ok())
        .map(|c| c.id)
}

/// The commits `incident` names by sha that `repo` has, with what it says of each.
pub(super) fn named_commits(repo: &gix::Repository, incident: &str) -> Vec<NamedCommit> {
    let words: Vec<&str> = incident.split_whitespace().collect();
    let mut out: Vec<NamedCommit> = Vec::new();
    for (i, token) in sha_words(incident) {
        let Some(id) = commit_named(repo, &token) else {
            continue;
        };
        if out.iter().any(|n| n.id == id) {
            continue;
        }
        out.push(NamedCommit {
            id,
            written: token,
            role: role_before(&words[..i]),
        });
    }
    out
}

/// The words of `text` written as a commit id (a digit among them, so that "defaced" is a
/// word) that name no commit of `repo`: a mistyped sha, or one of another repository.
pub fn unknown_shas(repo: &gix::Repository, text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (_, token) in sha_words(text) {
        if token.bytes().any(|b| b.is_ascii_digit())
            && commit_named(repo, &token).is_none()
            && !out.contains(&token)
        {
            out.push(token);
        }
    }
    out
}

impl NamedCommit {
    /// The role of a commit the incident named without saying what it was: the fix when
    /// its subject says it fixes something or no commit names it, else the cause of what
    /// the commits that name it fixed.
    pub(super) fn resolve(&mut self, subject_is_fix: bool, named_by_others: bool) {
        if self.role == Role::Unsaid {
            self.role = if subject_is_fix || !named_by_others {
                Role::Fix
            } else {
                Role::Cause
            };
        }
    }
}

/// A reference to an issue or pull request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct IssueRef {
    pub number: u64,
    /// The forge repository (`owner/name`, lowercased) of an address
    /// (`https://github.com/owner/name/issues/482`); `None` for `#482` and the like, which
    /// mean the repository the text belongs to.
    pub repo: Option<String>,
}

/// Issue and pull-request references in `text`: `#482`, `GH-482`, `issue 482`, `pr 482`,
/// and forge addresses ending `issues/482` or `pull/482`.
pub(super) fn issue_refs(text: &str) -> Vec<IssueRef> {
    let lower = text.to_lowercase();
    let bytes = lower.as_bytes();
    let mut out: Vec<IssueRef> = Vec::new();
    let digits_at = |i: usize| -> Option<u64> {
        let end = bytes[i..]
            .iter()
            .position(|b| !b.is_ascii_digit())
            .map_or(bytes.len(), |p| i + p);
        // A number glued to letters ("#12abc") is not an issue number.
        if end == i || bytes.get(end).is_some_and(u8::is_ascii_alphabetic) {
            return None;
        }
        lower[i..end].parse().ok()
    };
    for marker in ["#", "gh-", "/issues/", "/pull/", "issue ", "pr "] {
        let address = marker.starts_with('/');
        for (at, _) in lower.match_indices(marker) {
            // The marker must start a word: `a#1` or `spr 3` are not references.
            if !address && at > 0 && bytes[at - 1].is_ascii_alphanumeric() {
                continue;
            }
            let mut start = at + marker.len();
            // "issue #482", "PR #12".
            if marker.ends_with(' ') && bytes.get(start) == Some(&b'#') {
                start += 1;
            }
            let Some(number) = digits_at(start) else {
                continue;
            };
            // An address names its repository: the two path parts before `/issues/`.
            let repo = address
                .then(|| {
                    let path = lower[..at].rsplit([' ', '(', '<', '\n']).next()?;
                    let mut parts = path.rsplit('/');
                    let name = parts.next()?;
                    let owner = parts.next()?;
                    (!owner.is_empty() && !name.is_empty()).then(|| format!("{owner}/{name}"))
                })
                .flatten();
            let r = IssueRef { number, repo };
            if !out.contains(&r) {
                out.push(r);
            }
        }
    }
    out
}

/// The issue and pull-request numbers `text` refers to, each once: `#482`, `GH-482`,
/// `issue 482`, `pr 482`, or a forge address ending `issues/482` or `pull/482`.
pub fn issue_numbers(text: &str) -> Vec<u64> {
    let mut out: Vec<u64> = Vec::new();
    for r in issue_refs(text) {
        if !out.contains(&r.number) {
            out.push(r.number);
        }
    }
    out
}

/// The forge repositories (`owner/name`, lowercased) that are this one: those of the
/// addresses `incident` gives, and of the repository's remotes that live on a forge (a
/// `scheme://host/owner/name` or `user@host:owner/name` address; a local path is no
/// forge).
pub(super) fn own_forge_repos(repo: &gix::Repository, incident: &str) -> Vec<String> {
    let mut out: Vec<String> = issue_refs(incident)
        .into_iter()
        .filter_map(|r| r.repo)
        .collect();
    for name in repo.remote_names() {
        let Ok(remote) = repo.find_remote(name.as_bstr()) else {
            continue;
        };
        let Some(url) = remote.url(gix::remote::Direction::Fetch) else {
            continue;
        };
        let url = url.to_bstring().to_string().to_lowercase();
        let on_forge = (url.contains("://") && !url.starts_with("file://"))
            || (url.contains('@') && url.contains(':'));
        if !on_forge {
            continue;
        }
        let path = url.trim_end_matches('/').trim_end_matches(".git");
        let mut parts = path.rsplit(['/', ':']);
        if let (Some(name), Some(owner)) = (parts.next(), parts.next())
            && !name.is_empty()
            && !owner.is_empty()
        {
            out.push(format!("{owner}/{name}"));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether `message` (lowercased) names a commit whose full hex is `hex`: a word of at
/// least [`MIN_SHA_LEN`] hex digits that begins it.
fn message_names(message: &str, hex: &str) -> bool {
    message
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|w| is_sha_word(w) && hex.starts_with(w))
}

/// What a walk of the history found that points at the incident's named commits and
/// issues.
#[derive(Debug, Default)]
pub(super) struct References {
    /// Commits whose message names each named commit (by index into the named list).
    pub naming: Vec<Vec<ObjectId>>,
    /// Commits tied to an issue the incident names, with how surely (1 for a reference
    /// that means this repository, [`FOREIGN_ADDRESS_WEIGHT`] for an address whose
    /// repository cannot be told apart from another project's) and why: their own message
    /// refers to it, or a merge that refers to it brought them in.
    pub issue: HashMap<ObjectId, (f64, String)>,
}

/// Messages that must link to one forge repository before it is taken as this one, when no
/// remote says.
const MIN_OWN_LINKS: usize = 3;
/// A forge repository linked to at least 1/`OWN_LINK_SHARE` as often as the most linked one
/// is taken as this one too, when no remote says.
const OWN_LINK_SHARE: usize = 4;

/// How much an address of an issue counts when the repository's own forge address is not
/// known: `https://github.com/dtolnay/thiserror/pull/354` in a dependency bump is another
/// project's #354, while `Fixes #354` means this one's.
pub(super) const FOREIGN_ADDRESS_WEIGHT: f64 = 0.5;

/// How surely a reference in a commit message means the issue `number` of this repository,
/// whose forge addresses are `own` (empty when unknown): `None` when it does not.
fn reference_weight(r: &IssueRef, number: u64, own: &[String]) -> Option<f64> {
    if r.number != number {
        return None;
    }
    match &r.repo {
        None => Some(1.0),
        Some(repo) if own.contains(repo) => Some(1.0),
        Some(_) if own.is_empty() => Some(FOREIGN_ADDRESS_WEIGHT),
        Some(_) => None,
    }
}

/// Walk the history of `tip` (at most `max` commits) for the commits that name `named`
/// or refer to `issues` of this repository, whose forge addresses are `own` (when empty,
/// the repositories the messages link to most, if at least [`MIN_OWN_LINKS`] of them do).
pub(super) fn find_references(
    repo: &gix::Repository,
    tip: ObjectId,
    named: &[NamedCommit],
    issues: &[u64],
    own: &[String],
    max: usize,
) -> Result<References, TraceError> {
    let mut found = References {
        naming: vec![Vec::new(); named.len()],
        ..References::default()
    };
    if named.is_empty() && issues.is_empty() {
        return Ok(found);
    }
    let hexes: Vec<String> = named.iter().map(|n| n.id.to_string()).collect();
    let named_ids: HashSet<ObjectId> = named.iter().map(|n| n.id).collect();
    let mut merges: Vec<(ObjectId, ObjectId, ObjectId, u64, f64)> = Vec::new();
    // Commits (with their parents) whose message refers to an issue asked about, and how
    // many messages link to each forge repository.
    let mut referring: Vec<(ObjectId, Vec<ObjectId>, Vec<IssueRef>)> = Vec::new();
    let mut linked: HashMap<String, usize> = HashMap::new();
    for walked in walk_messages(repo, tip, max)? {
        let Walked {
            info, message: msg, ..
        } = walked?;
        if !named_ids.contains(&info.id) {
            for (k, hex) in hexes.iter().enumerate() {
                if message_names(&msg, hex) {
                    found.naming[k].push(info.id);
                }
            }
        }
        if issues.is_empty() {
            continue;
        }
        let mut refs = issue_refs(&msg);
        let mut seen: Vec<&str> = Vec::new();
        for r in &refs {
            if let Some(repo) = r.repo.as_deref()
                && !seen.contains(&repo)
            {
                seen.push(repo);
                *linked.entry(repo.to_string()).or_default() += 1;
            }
        }
        refs.retain(|r| issues.contains(&r.number));
        if !refs.is_empty() {
            referring.push((info.id, info.parent_ids.to_vec(), refs));
        }
    }
    // Without a forge remote, the repositories most often linked to are taken as this one:
    // a project links its own issues far more often than any other project's. Every one
    // linked at least a quarter as often as the first counts, since a project that moved
    // (karelzak/util-linux to util-linux/util-linux) links to both of its names.
    let inferred: Vec<String>;
    let own = if own.is_empty() {
        let top = linked.values().copied().max().unwrap_or(0);
        inferred = linked
            .iter()
            .filter(|(_, n)| **n >= MIN_OWN_LINKS && **n * OWN_LINK_SHARE >= top)
            .map(|(repo, _)| repo.clone())
            .collect();
        &inferred
    } else {
        own
    };
    for (id, parents, refs) in referring {
        let best = refs
            .iter()
            .filter_map(|r| reference_weight(r, r.number, own).map(|w| (w, r.number)))
            .max_by(|a, b| a.0.total_cmp(&b.0));
        let Some((weight, n)) = best else {
            continue;
        };
        match parents.as_slice() {
            [first, second, ..] => merges.push((id, *first, *second, n, weight)),
            _ => {
                let why = if weight < 1.0 {
                    format!("its message links #{n} by an address that may be another project's")
                } else {
                    format!("its message refers to #{n}, as the incident does")
                };
                found.issue.entry(id).or_insert((weight, why));
            }
        }
    }
    // A merge that refers to the issue ("Merge pull request #482 from ...") brought in the
    // branch that fixed it; the merge itself changes nothing of its own.
    for (merge, first, second, n, weight) in merges {
        let walk = repo
            .rev_walk([second])
            .with_hidden([first])
            .all()
            .map_err(|e| git_err("walking a merged branch", e))?;
        for info in walk.take(MAX_BRANCH_COMMITS) {
            let info = info.map_err(|e| git_err("walking a merged branch", e))?;
            if info.parent_ids.len() > 1 {
                continue;
            }
            found.issue.entry(info.id).or_insert_with(|| {
                (
                    weight,
                    format!(
                        "merged by `{}`, which refers to #{n}, as the incident does",
                        short_hex(&merge)
                    ),
                )
            });
        }
    }
    Ok(found)
}

/// The commits of `HEAD`'s history whose cause-naming trailer (`Fixes: <sha>`) names
/// `commit`, with their subjects: `commit` is then a cause, and a user who passed it as the
/// fix likely meant one of these. Only commits made after it (a day's clock skew allowed)
/// are read.
pub fn fixed_by(
    repo: &gix::Repository,
    commit: ObjectId,
) -> Result<Vec<(ObjectId, String)>, TraceError> {
    // A fix committed on a machine whose clock ran behind the cause's still counts.
    const FIXED_AFTER_SKEW_SECS: i64 = 86_400;
    let head = repo.head_id().map_err(|_| TraceError::Empty)?.detach();
    let since = repo
        .find_commit(commit)
        .ok()
        .and_then(|c| c.time().ok())
        .map_or(0, |t| t.seconds)
        .saturating_sub(FIXED_AFTER_SKEW_SECS);
    let walk = repo
        .rev_walk([head])
        .sorting(gix::revision::walk::Sorting::ByCommitTimeCutoff {
            order: gix::traverse::commit::simple::CommitTimeOrder::NewestFirst,
            seconds: since,
        })
        .all()
        .map_err(|e| git_err("walking history", e))?;
    let hex = commit.to_string();
    let mut out = Vec::new();
    for info in walk.take(MAX_INCIDENT_SCAN) {
        let info = info.map_err(|e| git_err("walking history", e))?;
        if info.id == commit {
            continue;
        }
        let c = info.object().map_err(|e| git_err("reading a commit", e))?;
        let Ok(message) = c.message_raw() else {
            continue;
        };
        let message = message.to_str_lossy();
        if trailer_shas(&message)
            .iter()
            .any(|s| hex.starts_with(s.as_str()))
        {
            let subject = message
                .lines()
                .next()
                .unwrap_or_default()
                .trim()
                .to_string();
            out.push((info.id, subject));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_nearest_telling_word() {
        let role = |text: &str| {
            let words: Vec<&str> = text.split_whitespace().collect();
            role_before(&words)
        };
        assert_eq!(role("the bug fixed by"), Role::Fix);
        assert_eq!(role("write a postmortem for the fix"), Role::Fix);
        assert_eq!(role("the regression introduced by"), Role::Cause);
        assert_eq!(role("GROUP column empty after commit"), Role::Cause);
        assert_eq!(role("broken since"), Role::Cause);
        // The nearest word decides: the regression was fixed by the commit named.
        assert_eq!(role("the regression fixed by"), Role::Fix);
        assert_eq!(role("write a postmortem for"), Role::Unsaid);
        // A sentence that ended before the sha says nothing of it.
        assert_eq!(role("it broke. see"), Role::Unsaid);
    }

    #[test]
    fn issue_numbers_are_read_in_their_usual_forms() {
        assert_eq!(issue_numbers("postmortem for issue #482"), vec![482]);
        assert_eq!(issue_numbers("see GH-17 and PR 9"), vec![17, 9]);
        assert_eq!(
            issue_numbers("https://github.com/o/r/issues/3694 and https://github.com/o/r/pull/12"),
            vec![3694, 12]
        );
        assert_eq!(issue_numbers("Closes #3694."), vec![3694]);
        // Not references: a number glued to letters, a `#` inside a word, a plain number.
        assert!(issue_numbers("#12abc a#1 in 2024 error 404").is_empty());
    }

    #[test]
    fn addresses_name_their_repository() {
        assert_eq!(
            issue_refs("See https://github.com/dtolnay/thiserror/pull/354 and fixes #12"),
            vec![
                IssueRef {
                    number: 12,
                    repo: None
                },
                IssueRef {
                    number: 354,
                    repo: Some("dtolnay/thiserror".into())
                },
            ]
        );
        let foreign = IssueRef {
            number: 354,
            repo: Some("dtolnay/thiserror".into()),
        };
        let ours = IssueRef {
            number: 354,
            repo: None,
        };
        let own = vec!["example/app".to_string()];
        assert_eq!(reference_weight(&ours, 354, &own), Some(1.0));
        assert_eq!(reference_weight(&foreign, 354, &own), None);
        assert_eq!(
            reference_weight(&foreign, 354, &[]),
            Some(FOREIGN_ADDRESS_WEIGHT)
        );
        assert_eq!(reference_weight(&ours, 355, &[]), None);
    }

    #[test]
    fn a_message_names_a_commit_by_any_long_enough_prefix() {
        let hex = "1c4e790b17d3aa0b8a1f2d3c4e5f60718293a4b5";
        assert!(message_names("fixes: 1c4e790b17d3 (\"ping: x\")", hex));
        assert!(message_names("this reverts commit 1c4e790.", hex));
        assert!(!message_names("see 1c4e79 for more", hex));
        assert!(!message_names("fixes: 1c4e791b17d3", hex));
    }
}
