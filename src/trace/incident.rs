//! From a described incident to the commits that most likely fixed it.

use std::collections::{HashMap, HashSet};

use gix::ObjectId;

use super::references::{Role, find_references, issue_numbers, named_commits, own_forge_repos};
use super::{
    FixCandidate, TraceError, Walked, facts, file_changes, git_err, short_hex, walk_messages, ymd,
};

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
pub(super) const MAX_INCIDENT_SCAN: usize = 200_000;
/// Points per keyword in the subject, in the body, in a changed path.
const P_SUBJECT: f64 = 3.0;
const P_BODY: f64 = 1.0;
const P_PATH: f64 = 2.0;
/// Points for a fix word in the subject, and for a revert.
const P_FIX_WORD: f64 = 2.0;
const P_REVERT: f64 = 1.5;
/// Points for the commit the incident names as the fix ("the bug fixed by 1c4e790"): the
/// asker said which one it is, so it leads whatever the words match.
const P_NAMED_FIX: f64 = 100.0;
/// Points for a commit that the incident points at through what it names: its message
/// names the commit the incident says brought the problem in ("Fixes: 52a6e45"), or refers
/// to the issue the incident names ("Closes #482").
const P_POINTED: f64 = 50.0;
/// Points per pair of the incident's adjacent keywords that a message holds as a phrase
/// (the second right after the first), times the pair's mean weight: "memory balloon" in
/// a message tells more than "memory" and "balloon" apart.
const P_PHRASE: f64 = 2.0;
/// Words the second keyword of a phrase may come after the first: 1, right after. With 2
/// ("memory in balloon"), `cli: fix buffer sizing` held "cli buffer" and outranked the
/// `cli: fix regression in buffer sizing` a request for "the cli buffer sizing regression"
/// means.
const PHRASE_GAP: usize = 1;
/// Score per fix word (`regression`, `revert`, ...) the incident and the subject both use.
/// These words are not keywords, but the one the asker chose picks among fixes of the same
/// thing, ahead of most of what recency gives ([`P_RECENT`]).
const P_ECHOED_FIX_WORD: f64 = 1.5;
/// Points for a commit made when the search starts, halving every
/// [`RECENT_HALF_LIFE_DAYS`] before it: a postmortem is mostly written soon after its fix.
const P_RECENT: f64 = 2.0;
const RECENT_HALF_LIFE_DAYS: f64 = 180.0;
/// When the incident gives its date, recency counts from that date instead: a fix made the
/// day after it gets these points, halving every [`AFTER_DATE_HALF_LIFE_DAYS`] after it and
/// every [`BEFORE_DATE_HALF_LIFE_DAYS`] before it (a fix made before the incident is rarer,
/// not impossible: a fix that had not shipped yet).
const P_NEAR_DATE: f64 = 4.0;
const AFTER_DATE_HALF_LIFE_DAYS: f64 = 60.0;
const BEFORE_DATE_HALF_LIFE_DAYS: f64 = 14.0;
/// Seconds in a day.
const DAY_SECS: i64 = 86_400;
/// Letters a stem needs to stand for its keyword: shorter ones begin too many other words.
const MIN_STEM_LEN: usize = 4;

/// The earliest date (`YYYY-MM-DD`) written in an incident description: "the 2024-11-26
/// payment outage", "reported on 2024-11-26". Whatever it says of the incident (when it
/// happened, was seen, or reported), the incident was under way by then. Dates that have not
/// begun anywhere yet are left out.
pub fn incident_date(incident: &str) -> Option<jiff::civil::Date> {
    dates_in(incident)
        .into_iter()
        // A date still to come is a slip of the keys, not when anything happened.
        .filter(|d| !super::is_future(*d))
        .min()
}

/// The real dates written as `YYYY-MM-DD` in `text`, in order.
pub fn dates_in(text: &str) -> Vec<jiff::civil::Date> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .filter(|w| {
            let b = w.as_bytes();
            b.len() == 10 && b[4] == b'-' && b[7] == b'-'
        })
        .filter_map(|w| w.parse::<jiff::civil::Date>().ok())
        .collect()
}

/// Lowercased keywords of an incident description.
pub fn incident_keywords(incident: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    // A command-line option (`-c1`, `--all`) names what broke as its own token; cut into
    // words, `c1` would be too short to count and `all` too common.
    for raw in incident.split_whitespace() {
        let w = raw
            .trim_matches(|c: char| !(c.is_alphanumeric() || c == '-'))
            .to_lowercase();
        if is_option(&w) && !out.contains(&w) {
            out.push(w);
        }
    }
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

/// Whether `word` is a command-line option: one or two dashes, then a letter, then letters,
/// digits or dashes (`-c1`, `--list-columns`).
fn is_option(word: &str) -> bool {
    let rest = word.strip_prefix("--").or_else(|| word.strip_prefix('-'));
    rest.is_some_and(|r| {
        r.starts_with(|c: char| c.is_ascii_alphabetic())
            && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    })
}

/// The part of `keyword` that other forms of the word begin with: its English (Snowball)
/// stem when that is a prefix of it and [`MIN_STEM_LEN`] letters long ("crashes" and "crashing"
/// give "crash", "cgroups" gives "cgroup"), else the keyword itself ("memory", whose stem
/// "memori" begins no form of it).
fn stem_of(stemmer: &rust_stemmers::Stemmer, keyword: &str) -> String {
    let stem = stemmer.stem(keyword);
    if stem.len() >= MIN_STEM_LEN && keyword.starts_with(stem.as_ref()) {
        stem.into_owned()
    } else {
        keyword.to_string()
    }
}

/// Commits of a merged branch taken for a merge named as the fix, at most.
const MAX_BRANCH_COMMITS: usize = 50;

/// The commits, merges left out, that the merge `id` brought in (reachable from its
/// second parent and not from its first), newest first; none when `id` is not a merge.
pub fn branch_commits(repo: &gix::Repository, id: ObjectId) -> Result<Vec<ObjectId>, TraceError> {
    let f = facts(repo, id)?;
    let [first, second, ..] = f.parents[..] else {
        return Ok(Vec::new());
    };
    let walk = repo
        .rev_walk([second])
        .with_hidden([first])
        .all()
        .map_err(|e| git_err("walking a merged branch", e))?;
    let mut out = Vec::new();
    for info in walk {
        let info = info.map_err(|e| git_err("walking a merged branch", e))?;
        if info.parent_ids.len() < 2 {
            out.push(info.id);
            if out.len() == MAX_BRANCH_COMMITS {
                break;
            }
        }
    }
    Ok(out)
}

/// The stems that match the keywords of an incident description ([`incident_keywords`])
/// in other forms of their word, as [`find_fixes`] matches them: "crashes" gives "crash".
pub fn incident_stems(incident: &str) -> Vec<String> {
    stems_of(&incident_keywords(incident))
}

/// Each keyword's stem (see [`stem_of`]).
fn stems_of(keywords: &[String]) -> Vec<String> {
    let stemmer = rust_stemmers::Stemmer::create(rust_stemmers::Algorithm::English);
    keywords.iter().map(|k| stem_of(&stemmer, k)).collect()
}

/// How many of `stems` ([`incident_stems`]) begin a word of `text`, a lowercase text.
pub fn stems_held(text: &str, stems: &[String]) -> usize {
    word_hits(text, stems).len()
}

/// The indexes of the keywords (given by their stems) that begin a word of `text`.
fn word_hits(text: &str, stems: &[String]) -> Vec<usize> {
    stems
        .iter()
        .enumerate()
        .filter(|(_, k)| {
            text.match_indices(k.as_str())
                .any(|(i, _)| i == 0 || !text.as_bytes()[i - 1].is_ascii_alphanumeric())
        })
        .map(|(i, _)| i)
        .collect()
}

/// The pairs of adjacent keywords (given by their stems, in the incident's order) that
/// `message` (lowercased) holds as a phrase: a word beginning with the first, then within
/// [`PHRASE_GAP`] words one beginning with the second. Each with the message's own two
/// words, as it writes them ("ping crashed" for the keywords `ping crashing`).
fn phrases_held(message: &str, stems: &[String]) -> Vec<(usize, usize, String)> {
    if stems.len() < 2 {
        return Vec::new();
    }
    let tokens: Vec<&str> = message
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    (1..stems.len())
        .map(|b| (b - 1, b))
        .filter_map(|(a, b)| {
            tokens.iter().enumerate().find_map(|(i, t)| {
                if !t.starts_with(stems[a].as_str()) {
                    return None;
                }
                let u = tokens[i + 1..tokens.len().min(i + 1 + PHRASE_GAP)]
                    .iter()
                    .find(|u| u.starts_with(stems[b].as_str()))?;
                Some((a, b, format!("{t} {u}")))
            })
        })
        .collect()
}

/// A commit whose message holds a keyword of the incident.
struct Hit {
    /// Its place in the walk, newest first.
    n: usize,
    /// Its commit time (seconds).
    time: i64,
    id: ObjectId,
    /// Keywords (indexes) in the subject, and those only in the body.
    in_subject: Vec<usize>,
    in_body: Vec<usize>,
    /// The subject's first fix word (`fix`, `revert`, ...).
    fix_word: Option<String>,
    /// Fix words the subject and the incident both use.
    echoed: Vec<String>,
    revert: bool,
    /// Adjacent keyword pairs of the incident that the message holds as a phrase.
    /// With the message's own words.
    phrases: Vec<(usize, usize, String)>,
    /// The incident names this commit as the fix.
    named_fix: bool,
    /// How surely, and why, the incident points at this commit through a commit or issue
    /// it names.
    pointers: (f64, Vec<String>),
}

/// How much each keyword counts: by how rare it is among the `scanned` messages
/// (`holding[k]` of them hold keyword `k`), scaled so that the keywords weigh 1 on average.
/// A word that most commits use ("fails", "device") tells little of which one fixed the
/// incident; a name few use ("lsclocks", "WakeAllowed") tells much.
fn keyword_weights(holding: &[usize], scanned: usize) -> Vec<f64> {
    let idf: Vec<f64> = holding
        .iter()
        .map(|&h| ((scanned as f64 + 1.0) / (h as f64 + 1.0)).ln())
        .collect();
    let mean = idf.iter().sum::<f64>() / idf.len().max(1) as f64;
    if mean <= 0.0 {
        return vec![1.0; holding.len()];
    }
    idf.iter().map(|w| w / mean).collect()
}

/// The versions an incident names that are tags of `repo` ("5.83", "v1.10.1", "2.40" of
/// "(v~2.40+)"), and every commit those releases hold.
fn named_releases(repo: &gix::Repository, incident: &str) -> Result<HashSet<ObjectId>, TraceError> {
    let mut tips = Vec::new();
    for token in incident.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.')) {
        let token = token.trim_end_matches('.');
        let number = token.strip_prefix('v').unwrap_or(token);
        let is_version = number.contains('.')
            && number
                .split('.')
                .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()));
        if !is_version {
            continue;
        }
        for name in [token.to_string(), format!("v{number}"), number.to_string()] {
            let Ok(Some(mut r)) = repo.try_find_reference(&format!("refs/tags/{name}")) else {
                continue;
            };
            let commit = r
                .peel_to_id()
                .ok()
                .and_then(|id| id.object().ok())
                .and_then(|o| o.peel_to_commit().ok());
            if let Some(commit) = commit {
                tips.push(commit.id);
                break;
            }
        }
    }
    let mut held = HashSet::new();
    if tips.is_empty() {
        return Ok(held);
    }
    let walk = repo
        .rev_walk(tips)
        .all()
        .map_err(|e| git_err("walking history", e))?;
    for (n, info) in walk.enumerate() {
        if n >= MAX_INCIDENT_SCAN {
            break;
        }
        held.insert(info.map_err(|e| git_err("walking history", e))?.id);
    }
    Ok(held)
}

/// The commits that most likely fixed the incident described by `incident`, best first,
/// searched in the history of `HEAD`. What the text names leads: a commit it gives as the
/// fix, then commits whose message names a commit it gives as the cause or refers to an
/// issue it gives (see `references`); the words rank the rest and break ties.
pub fn find_fixes(
    repo: &gix::Repository,
    incident: &str,
    limit: usize,
) -> Result<Vec<FixCandidate>, TraceError> {
    let head = repo.head_id().map_err(|_| TraceError::Empty)?.detach();
    find_fixes_from(repo, head, incident, limit)
}

/// [`find_fixes`] in the history of `tip` rather than of `HEAD`: the search as it would
/// have gone when `tip` was the newest commit.
pub fn find_fixes_from(
    repo: &gix::Repository,
    tip: ObjectId,
    incident: &str,
    limit: usize,
) -> Result<Vec<FixCandidate>, TraceError> {
    let mut named = named_commits(repo, incident);
    let issues = issue_numbers(incident);
    // A sha the incident names is looked up as a commit, not matched as a word.
    let keywords: Vec<String> = incident_keywords(incident)
        .into_iter()
        .filter(|k| !named.iter().any(|n| &n.written == k))
        .collect();
    if keywords.is_empty() && named.is_empty() && issues.is_empty() {
        return Err(TraceError::NoKeywords);
    }
    let own = if issues.is_empty() {
        Vec::new()
    } else {
        own_forge_repos(repo, incident)
    };
    let refs = find_references(repo, tip, &named, &issues, &own, MAX_INCIDENT_SCAN)?;
    for (k, n) in named.iter_mut().enumerate() {
        let subject = facts(repo, n.id)?.subject.to_lowercase();
        let subject_is_fix = subject
            .split(|c: char| !c.is_alphanumeric())
            .any(|w| FIX_WORDS.contains(&w));
        n.resolve(subject_is_fix, !refs.naming[k].is_empty());
    }
    // A merge named as the fix stands for the commits its branch brought in: one of them
    // made the change, and the merge's own message names only the branch.
    let mut named_fixes: Vec<ObjectId> = Vec::new();
    let mut via_merge: HashMap<ObjectId, ObjectId> = HashMap::new();
    for n in named.iter().filter(|n| n.role == Role::Fix) {
        let branch = branch_commits(repo, n.id)?;
        if branch.is_empty() {
            named_fixes.push(n.id);
        }
        for c in branch {
            via_merge.insert(c, n.id);
            named_fixes.push(c);
        }
    }
    let causes: HashSet<ObjectId> = named
        .iter()
        .filter(|n| n.role == Role::Cause)
        .map(|n| n.id)
        .collect();
    // Per commit: how surely the incident points at it (the strongest pointer), and why.
    let mut pointed: HashMap<ObjectId, (f64, Vec<String>)> = HashMap::new();
    let mut point = |id: ObjectId, weight: f64, why: String| {
        let e = pointed.entry(id).or_insert((0.0, Vec::new()));
        e.0 = e.0.max(weight);
        e.1.push(why);
    };
    for (k, n) in named.iter().enumerate() {
        if n.role != Role::Cause {
            continue;
        }
        for id in &refs.naming[k] {
            point(
                *id,
                1.0,
                format!(
                    "its message names `{}`, which the incident says brought the problem in",
                    n.written
                ),
            );
        }
    }
    for (id, (weight, why)) in refs.issue {
        point(id, weight, why);
    }
    let stems = stems_of(&keywords);
    let incident_lower = incident.to_lowercase();
    let incident_fix_words: HashSet<&str> = incident_lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| FIX_WORDS.contains(w))
        .collect();
    let released = named_releases(repo, incident)?;
    let dated = incident_date(incident).and_then(|d| {
        let z = d.to_zoned(jiff::tz::TimeZone::UTC).ok()?;
        Some((d, z.timestamp().as_second()))
    });

    // Every commit whose message holds a keyword, and how many hold each keyword.
    let mut hits: Vec<Hit> = Vec::new();
    let mut holding = vec![0usize; keywords.len()];
    let mut scanned = 0usize;
    let mut tip_time: Option<i64> = None;
    let time = |c: &gix::Commit<'_>| c.time().map_or(0, |t| t.seconds);
    for walked in walk_messages(repo, tip, MAX_INCIDENT_SCAN)? {
        let Walked {
            n,
            info,
            commit,
            message: msg,
        } = walked?;
        scanned += 1;
        if n == 0 {
            tip_time = Some(time(&commit));
        }
        let (subject, body) = msg.split_once('\n').unwrap_or((msg.as_str(), ""));
        let in_subject = word_hits(subject, &stems);
        let in_body: Vec<usize> = word_hits(body, &stems)
            .into_iter()
            .filter(|k| !in_subject.contains(k))
            .collect();
        let named_fix = named_fixes.contains(&info.id);
        let pointers = pointed.remove(&info.id).unwrap_or_default();
        if in_subject.is_empty() && in_body.is_empty() && !named_fix && pointers.1.is_empty() {
            continue;
        }
        for &k in in_subject.iter().chain(&in_body) {
            holding[k] += 1;
        }
        // A merge brings in a branch's commits, which are candidates on their own; its
        // message names the branch ("Merge branch 'fix-minix-probe'"), not a change. Its
        // words still count in how common each keyword is.
        if info.parent_ids.len() > 1 && !named_fix {
            continue;
        }
        // A release the incident names ("5.83 regression", "crashes in 2.41") shipped the
        // problem, so what it already holds did not fix it.
        if released.contains(&info.id) && !named_fix {
            continue;
        }
        // The commit the incident says brought the problem in did not fix it.
        if causes.contains(&info.id) {
            continue;
        }
        let words: Vec<&str> = subject
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let phrases = phrases_held(&msg, &stems);
        let fix_word = words
            .iter()
            .find(|w| FIX_WORDS.contains(w))
            .map(|w| w.to_string());
        let mut echoed: Vec<String> = words
            .iter()
            .filter(|w| incident_fix_words.contains(*w))
            .map(|w| w.to_string())
            .collect();
        echoed.sort_unstable();
        echoed.dedup();
        hits.push(Hit {
            n,
            id: info.id,
            in_subject,
            in_body,
            fix_word,
            echoed,
            revert: subject.starts_with("revert") || body.contains("this reverts commit"),
            time: time(&commit),
            named_fix,
            pointers,
            phrases,
        });
    }
    let weights = keyword_weights(&holding, scanned);
    let names = |ks: &[usize]| {
        ks.iter()
            .map(|&k| keywords[k].as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    // (score, recency rank, id, reasons)
    let mut scored: Vec<(f64, usize, ObjectId, Vec<String>)> = Vec::new();
    for h in hits {
        let weight = |ks: &[usize]| ks.iter().map(|&k| weights[k]).sum::<f64>();
        let mut score = P_SUBJECT * weight(&h.in_subject) + P_BODY * weight(&h.in_body);
        let mut reasons = Vec::new();
        if h.named_fix {
            score += P_NAMED_FIX;
            reasons.push(match via_merge.get(&h.id) {
                Some(merge) => format!(
                    "the incident names as the fix the merge {}, which brought this commit in",
                    short_hex(merge)
                ),
                None => "the incident names this commit as the fix".to_string(),
            });
        }
        if !h.pointers.1.is_empty() {
            score += P_POINTED * h.pointers.0;
            reasons.extend(h.pointers.1);
        }
        if !h.in_subject.is_empty() {
            reasons.push(format!("subject mentions {}", names(&h.in_subject)));
        }
        for (a, b, said) in &h.phrases {
            score += P_PHRASE * (weights[*a] + weights[*b]) / 2.0;
            reasons.push(format!("message says \"{said}\""));
        }
        if !h.in_body.is_empty() {
            reasons.push(format!("message mentions {}", names(&h.in_body)));
        }
        if let Some(w) = &h.fix_word {
            score += P_FIX_WORD;
            reasons.push(format!("subject says `{w}`"));
        }
        if !h.echoed.is_empty() {
            score += P_ECHOED_FIX_WORD * h.echoed.len() as f64;
            reasons.push(format!(
                "subject says {}, as the incident does",
                h.echoed
                    .iter()
                    .map(|w| format!("`{w}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if h.revert {
            score += P_REVERT;
            reasons.push("it is a revert".into());
        }
        if let Some((date, at)) = dated {
            // Days from the incident's date to the commit: after it, or before it.
            let after = (h.time - at) as f64 / DAY_SECS as f64;
            let (half_life, days) = if after >= 0.0 {
                (AFTER_DATE_HALF_LIFE_DAYS, after)
            } else {
                (BEFORE_DATE_HALF_LIFE_DAYS, -after)
            };
            score += P_NEAR_DATE * 0.5f64.powf(days / half_life);
            if days < half_life {
                let (n, side) = (days as i64, if after >= 0.0 { "after" } else { "before" });
                reasons.push(format!(
                    "committed {n} day{} {side} {date}, the incident's date",
                    if n == 1 { "" } else { "s" }
                ));
            }
        } else {
            let days = (tip_time.unwrap_or(h.time) - h.time).max(0) / DAY_SECS;
            score += P_RECENT * 0.5f64.powf(days as f64 / RECENT_HALF_LIFE_DAYS);
            if (days as f64) < RECENT_HALF_LIFE_DAYS {
                reasons.push(format!(
                    "committed {days} day{} before the newest commit searched",
                    if days == 1 { "" } else { "s" }
                ));
            }
        }
        scored.push((score, h.n, h.id, reasons));
    }
    // A fix the incident names that the history searched does not hold (another branch, or
    // past the scan's end) is still the one the asker means.
    let held: HashSet<ObjectId> = scored.iter().map(|s| s.2).collect();
    for id in named_fixes.iter().filter(|id| !held.contains(*id)) {
        scored.push((
            P_NAMED_FIX,
            usize::MAX,
            *id,
            vec!["the incident names this commit as the fix (outside the history searched)".into()],
        ));
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.truncate(limit.max(1) * PATH_CHECK_FACTOR);
    let mut out = Vec::new();
    for (mut score, n, id, mut reasons) in scored {
        let cf = facts(repo, id)?;
        if let Some(&p) = cf.parents.first()
            && repo.has_object(p)
        {
            let ptree = facts(repo, p)?.tree;
            let paths: Vec<String> = file_changes(repo, ptree, cf.tree)?
                .into_iter()
                .map(|c| c.new_path.to_lowercase())
                .collect();
            // A commit that only writes postmortems tells the incident in the request's own
            // words, and fixed nothing.
            if !paths.is_empty()
                && paths.iter().all(|p| is_postmortem_document(p))
                && !named_fixes.contains(&id)
            {
                continue;
            }
            let joined = paths.join("\n");
            let ph = word_hits(&joined, &stems);
            if !ph.is_empty() {
                score += P_PATH * ph.iter().map(|&k| weights[k]).sum::<f64>();
                reasons.push(format!("changes paths matching {}", names(&ph)));
            }
        }
        out.push((
            score,
            n,
            FixCandidate {
                commit: id.to_string(),
                short: short_hex(&id),
                subject: cf.subject.clone(),
                date: ymd(cf.author_time, cf.author_offset),
                // Shown to three decimals, as a trace's candidates are; ranked on the whole.
                score: (score * 1000.0).round() / 1000.0,
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

/// Whether `path` (lowercased) is a postmortem: a markdown file named for one or kept in a
/// folder named for them (`docs/postmortems/`, `incidents/`).
fn is_postmortem_document(path: &str) -> bool {
    (path.ends_with(".md") || path.ends_with(".markdown"))
        && (path.contains("postmortem")
            || path.contains("post-mortem")
            || path.contains("post_mortem")
            || path
                .split('/')
                .rev()
                .skip(1)
                .any(|d| d.contains("incident")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postmortem_documents_by_name_or_folder() {
        assert!(is_postmortem_document("docs/postmortems/regression-x.md"));
        assert!(is_postmortem_document("incidents/2024-12-06-cache.md"));
        assert!(is_postmortem_document("docs/post-mortem-auth.md"));
        assert!(!is_postmortem_document("docs/incident-response.rst"));
        assert!(!is_postmortem_document("src/incident.rs"));
        assert!(!is_postmortem_document("readme.md"));
    }

    #[test]
    fn phrases_are_adjacent_keywords_in_order() {
        let stems: Vec<String> = ["memory", "balloon", "freez"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        // Each with the message's own words, not the incident's stems or keywords.
        assert_eq!(
            phrases_held("balloon: the memory balloon freezes the guest", &stems),
            vec![
                (0, 1, "memory balloon".to_string()),
                (1, 2, "balloon freezes".to_string())
            ]
        );
        // A word between, or the other order, is no phrase.
        assert_eq!(phrases_held("memory in balloon", &stems), vec![]);
        assert_eq!(phrases_held("balloon memory", &stems), vec![]);
    }

    #[test]
    fn keywords_drop_skill_words() {
        assert_eq!(
            incident_keywords("write a postmortem for the payment outage"),
            vec!["payment".to_string()]
        );
    }

    #[test]
    fn a_command_line_option_is_a_keyword_of_its_own() {
        assert_eq!(
            incident_keywords("`ping -c1` no longer works (--list-columns)"),
            [
                "-c1",
                "--list-columns",
                "ping",
                "longer",
                "works",
                "list",
                "columns"
            ]
        );
        // Dashes alone, a negative number or a dash between words are no options.
        assert_eq!(
            incident_keywords("timeout - the -5 offset, re-read"),
            ["timeout", "offset", "read"]
        );
    }
}
