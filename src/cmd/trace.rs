//! `skillrun trace`: from a fix (or a described incident) to the commit that introduced the bug.

use std::path::Path;

use anyhow::{Result, bail};

use crate::EXIT_FINDINGS;

/// Likely fix commits `skillrun trace --incident` lists before tracing the best one.
const LIKELY_FIXES_SHOWN: usize = 5;
/// Reasons printed under each likely fix.
const LIKELY_FIX_REASONS: usize = 3;
/// Lines of evidence printed under each candidate.
const EVIDENCE_SHOWN: usize = 4;

/// A field of the trace as printed: secrets redacted, as the `trace_regression` tool does, and
/// control characters (a line break in a file name or a subject) escaped, so that one field
/// stays on its line and no file name can print a line of its own.
fn shown(text: &str) -> String {
    let redacted = skillrun::redact::Redactor::global().redact(text).text;
    let mut out = String::with_capacity(redacted.len());
    for c in redacted.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The line that stands for what a list of `len` left out after `shown`, if anything.
fn more_than(len: usize, shown: usize) -> Option<String> {
    (len > shown).then(|| format!("and {} more (--json lists all)", len - shown))
}

pub(crate) fn cmd_trace(
    repo: &Path,
    fix: Option<&str>,
    incident: Option<&str>,
    ignore_trailers: bool,
    reported: Option<skillrun::trace::Reported>,
    json: bool,
) -> Result<u8> {
    let git = skillrun::repo::open(repo)?;
    // An object a partial clone left out stops the trace: say why, and what to do.
    let partial = skillrun::repo::is_partial_clone(&git);
    let hint = |e: skillrun::trace::TraceError| -> anyhow::Error {
        match e {
            skillrun::trace::TraceError::Git { .. } if partial => {
                anyhow::anyhow!("{e}; {}", skillrun::repo::PARTIAL_CLONE_HINT)
            }
            e => e.into(),
        }
    };
    let opts = skillrun::trace::TraceOptions {
        ignore_trailers,
        reported_at: reported.map(|r| r.at),
        ..Default::default()
    };
    let (fixes, trace) = match (fix, incident) {
        (Some(f), _) => {
            let mut trace = skillrun::trace::trace(&git, f, &opts).map_err(hint)?;
            // A cause passed as the fix: a later commit's trailer says it fixes this one.
            if !ignore_trailers && let Ok(id) = trace.fix.parse::<gix::ObjectId>() {
                for (by, subject) in skillrun::trace::fixed_by(&git, id)? {
                    let by = by.to_hex_with_len(12);
                    trace.notes.push(format!(
                        "{} is itself named as the cause by {by} (\"{subject}\"), whose `Fixes:` trailer names it; to trace that fix, pass --fix {by}",
                        id.to_hex_with_len(12),
                    ));
                }
            }
            (Vec::new(), trace)
        }
        (None, Some(text)) => {
            let text = reported.map_or_else(|| text.to_string(), |r| r.dating(text));
            for sha in skillrun::trace::unknown_shas(&git, &text) {
                eprintln!(
                    "note: the incident names {sha}, which is no commit of this repository; the fix is looked for by its other words"
                );
            }
            let fixes =
                skillrun::trace::find_fixes(&git, &text, LIKELY_FIXES_SHOWN).map_err(hint)?;
            // As the trace_regression tool does, a likely fix whose lines lead only to
            // commits made after the first report is passed over for the next.
            let Some((k, trace)) =
                skillrun::trace::trace_likely_fix(&git, &fixes, &opts, || anyhow::Ok(()))?
            else {
                bail!(
                    "no commit looks like the fix for {text:?}; name the fix's sha or the issue number its message refers to in the text, or pass --fix SHA"
                );
            };
            for f in &fixes[..k] {
                eprintln!(
                    "note: passed over the likely fix {} ({}): its lines lead only to commits made after the first report",
                    f.short,
                    shown(&f.subject)
                );
            }
            (fixes, trace)
        }
        (None, None) => bail!("pass --fix SHA or --incident TEXT"),
    };
    if json {
        // With --incident, the likely fixes (and why each) come first; the trace's own
        // fields stay where a --fix run puts them.
        let mut value = serde_json::to_value(&trace)?;
        if !fixes.is_empty()
            && let Some(map) = value.as_object_mut()
        {
            map.insert("likely_fixes".into(), serde_json::to_value(&fixes)?);
        }
        // Secrets redacted and invisible characters shown, as in the tool's result.
        let (value, _) = skillrun::untrusted::sanitize_json(&value, None);
        out!("{}", serde_json::to_string_pretty(&value)?);
        // As in text: no introducing commit found is a finding, whichever the format.
        return Ok(if trace.candidates.is_empty() {
            EXIT_FINDINGS
        } else {
            0
        });
    }
    if !fixes.is_empty() {
        out!("likely fixes:");
        for f in &fixes {
            out!(
                "  {} {} {} (score {:.2})",
                f.short,
                f.date,
                shown(&f.subject),
                f.score
            );
            for why in f.reasons.iter().take(LIKELY_FIX_REASONS) {
                out!("      - {}", shown(why));
            }
            if let Some(more) = more_than(f.reasons.len(), LIKELY_FIX_REASONS) {
                out!("      - {more}");
            }
        }
        out!("");
    }
    out!(
        "fix {} {}",
        &trace.fix[..12.min(trace.fix.len())],
        shown(&trace.fix_subject)
    );
    for note in &trace.notes {
        eprintln!("note: {}", shown(note));
    }
    if trace.candidates.is_empty() {
        out!("no introducing commit found");
        return Ok(EXIT_FINDINGS);
    }
    for c in &trace.candidates {
        out!(
            "  {:>6.2}  {} {} {}",
            c.score,
            c.short,
            c.date,
            shown(&c.subject)
        );
        for e in c.evidence.iter().take(EVIDENCE_SHOWN) {
            out!("          - {}", shown(e));
        }
        if let Some(more) = more_than(c.evidence.len(), EVIDENCE_SHOWN) {
            out!("          - {more}");
        }
    }
    if let Some(r) = trace.runner_up() {
        let share = r.score / trace.candidates[0].score;
        let older = if share > 1.0 {
            " but is older, and the newer change comes first"
        } else {
            ""
        };
        out!(
            "close call: {} scores {:.0}% of the first{older}; check both",
            r.short,
            100.0 * share
        );
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::more_than;

    #[test]
    fn what_a_shortened_list_leaves_out_is_counted() {
        assert_eq!(more_than(3, 3), None);
        assert_eq!(more_than(2, 3), None);
        assert_eq!(
            more_than(5, 3).as_deref(),
            Some("and 2 more (--json lists all)")
        );
    }
}
