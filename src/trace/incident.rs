//! From a described incident to the commits that most likely fixed it.

use std::collections::HashSet;

use gix::ObjectId;
use gix::bstr::ByteSlice;

use super::{FixCandidate, TraceError, facts, file_changes, git_err, short_hex, ymd};

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
    fn keywords_drop_skill_words() {
        assert_eq!(
            incident_keywords("write a postmortem for the payment outage"),
            vec!["payment".to_string()]
        );
    }
}
