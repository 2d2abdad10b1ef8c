//! Choosing a skill for a prompt, deterministically and with a score.
//!
//! A skill's triggers are its name, the phrases quoted in its description ("write a
//! postmortem") and the lines of its "Example Prompts" section. A trigger matches when the
//! prompt holds most of the trigger's content words; common verbs alone never match, since a
//! trigger needs at least two of its content words, or its one distinctive word, in the
//! prompt. Those common verbs stand for each other ("create an incident review" matches
//! "document an incident").

use std::collections::BTreeSet;

use serde::Serialize;

use super::Skill;
use crate::markdown::Outline;

/// Least share of a trigger's content words that the prompt must hold.
pub const MIN_TRIGGER_COVERAGE: f64 = 0.75;

/// Words that carry no meaning for selection.
const STOPWORDS: &[&str] = &[
    "a", "an", "the", "for", "of", "to", "in", "on", "at", "by", "with", "about", "and", "or",
    "is", "was", "were", "be", "that", "this", "where", "when", "which", "who", "it", "its", "our",
    "we", "my", "me", "please", "can", "you", "from", "last", "into", "after",
];

/// Verbs that say "do something" without saying what: never enough on their own.
const WEAK_WORDS: &[&str] = &[
    "write", "create", "make", "document", "analyze", "analyse", "generate", "draft", "do", "run",
    "produce", "give", "help",
];

/// The skill chosen for a prompt and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Selection {
    pub skill: String,
    /// 0 to 1: the share of the best trigger's content words found in the prompt.
    pub score: f64,
    /// The trigger that matched best.
    pub trigger: String,
}

/// Content words: lowercase, split on anything not alphanumeric, stop words dropped, a plural
/// `s` removed.
pub fn words(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .map(str::to_lowercase)
        .filter(|w| !w.is_empty() && !STOPWORDS.contains(&w.as_str()))
        .map(|w| stem(&w))
        .collect()
}

fn stem(word: &str) -> String {
    let keep = ["ss", "is", "us"];
    if word.len() > 4 && word.ends_with('s') && !keep.iter().any(|k| word.ends_with(k)) {
        word[..word.len() - 1].to_string()
    } else {
        word.to_string()
    }
}

/// Everything in a skill that says when to use it.
pub fn triggers(skill: &Skill) -> Vec<String> {
    let mut out = vec![skill.meta.name.replace('-', " ")];
    // Phrases quoted in the description.
    let desc = &skill.meta.description;
    for quote in ['"', '\u{201c}'] {
        let close = if quote == '"' { '"' } else { '\u{201d}' };
        let mut rest = desc.as_str();
        while let Some(start) = rest.find(quote) {
            let after = &rest[start + quote.len_utf8()..];
            let Some(end) = after.find(close) else { break };
            out.push(after[..end].to_string());
            rest = &after[end + close.len_utf8()..];
        }
    }
    // Lines of an "Example Prompts" section, in its code blocks or lists.
    let outline = Outline::parse(&skill.body, skill.body_line);
    if let Some(idx) = outline
        .headings
        .iter()
        .position(|h| h.text.to_lowercase().contains("example prompt"))
    {
        let range = outline.section_range(idx);
        for block in outline
            .code_blocks
            .iter()
            .filter(|b| range.contains(&b.range.start))
        {
            for line in block.text.lines() {
                let line = line.trim().trim_start_matches('>').trim();
                if !line.is_empty() {
                    out.push(line.to_string());
                }
            }
        }
        for para in outline
            .paragraphs
            .iter()
            .filter(|p| range.contains(&p.offset))
        {
            out.push(para.text.trim_start_matches('>').trim().to_string());
        }
    }
    out
}

/// How well `prompt` matches `trigger`: the share of the trigger's content words in the
/// prompt, or 0 when too little of it is there to count.
pub fn trigger_score(prompt: &BTreeSet<String>, trigger: &str) -> f64 {
    let want = words(trigger);
    if want.is_empty() {
        return 0.0;
    }
    // The verb of a trigger may be said with another: "write an incident review" asks
    // what "document an incident" does. A weak word still never counts as strong.
    let asks = prompt.iter().any(|w| WEAK_WORDS.contains(&w.as_str()));
    let found: Vec<&String> = want
        .iter()
        .filter(|w| prompt.contains(*w) || (asks && WEAK_WORDS.contains(&w.as_str())))
        .collect();
    let strong = found
        .iter()
        .filter(|w| !WEAK_WORDS.contains(&w.as_str()))
        .count();
    let enough = if want.len() == 1 {
        strong == 1
    } else {
        found.len() >= 2 && strong >= 1
    };
    let coverage = found.len() as f64 / want.len() as f64;
    if enough && coverage >= MIN_TRIGGER_COVERAGE {
        coverage
    } else {
        0.0
    }
}

/// The best skill for `prompt`, if any trigger of any skill matches. Ties go to the skill
/// found first.
pub fn select<'a>(prompt: &str, skills: impl IntoIterator<Item = &'a Skill>) -> Option<Selection> {
    let prompt_words = words(prompt);
    let mut best: Option<Selection> = None;
    for skill in skills {
        for trigger in triggers(skill) {
            let score = trigger_score(&prompt_words, &trigger);
            if score > 0.0 && best.as_ref().is_none_or(|b| score > b.score) {
                best = Some(Selection {
                    skill: skill.meta.name.clone(),
                    score,
                    trigger,
                });
            }
        }
    }
    best
}
