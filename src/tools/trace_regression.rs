//! `trace_regression`: from a fix commit (or a described incident) to the commits that most
//! likely introduced the bug, ranked with evidence. See [`crate::trace`].

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Ctx, RepoTool, ToolError, ToolOutput};
use crate::trace::{self, Trace, TraceError, TraceOptions};

pub struct TraceRegression;

/// Candidates the tool reports (the text must stay small enough for a model to read).
const TOOL_MAX_CANDIDATES: usize = 5;
/// Evidence lines kept per candidate.
const TOOL_MAX_EVIDENCE: usize = 4;
/// Characters kept per evidence line.
const TOOL_MAX_EVIDENCE_CHARS: usize = 160;
/// Characters kept of a commit subject (a subject of kilobytes would be cut by the result's
/// line limit in the middle of its JSON string).
const TOOL_MAX_SUBJECT_CHARS: usize = 300;
/// Likely fixes reported for an incident.
const TOOL_MAX_FIXES: usize = 5;
/// Characters of an incident description read at most.
const MAX_INCIDENT_CHARS: usize = 2_000;

/// Arguments of `trace_regression`. Give exactly one of `fix` and `incident`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The commit that fixed the bug (sha, short sha or ref); its bug-introducing commits
    /// are traced.
    pub fix: Option<String>,
    /// A description of the incident, when the fix is not known: the likely fix commits are
    /// found first (a sha it names as the fix; a commit whose message names a sha it names as
    /// the cause, or an issue number it names; else message and path search, reverts, fix
    /// subjects), then the best is traced. A date in it (`YYYY-MM-DD`, when the incident
    /// happened or was reported) makes fixes made soon after that date rank higher.
    pub incident: Option<String>,
    /// When the bug was first reported or seen, if known (`YYYY-MM-DD`, or an RFC 3339 time
    /// such as `2024-01-11T09:30:00Z`): commits made after it cannot have introduced it and
    /// are left out.
    pub reported: Option<String>,
}

impl From<TraceError> for ToolError {
    fn from(e: TraceError) -> Self {
        match e {
            TraceError::NotFound { .. }
            | TraceError::RootCommit { .. }
            | TraceError::Shallow { .. } => ToolError::NotFound {
                what: e.to_string(),
            },
            TraceError::NoKeywords => ToolError::InvalidArguments {
                tool: TraceRegression::NAME.into(),
                message: format!("field `incident`: {e}"),
            },
            TraceError::ReportedDate { .. } | TraceError::ReportedFuture { .. } => {
                ToolError::InvalidArguments {
                    tool: TraceRegression::NAME.into(),
                    message: format!("field `reported`: {e}"),
                }
            }
            TraceError::Empty => ToolError::NotFound {
                what: e.to_string(),
            },
            TraceError::Git { .. } => ToolError::Repository {
                message: e.to_string(),
            },
        }
    }
}

/// `s` cut to `max` characters, with `...` when something was left out.
fn shorten(s: &mut String, max: usize) {
    if let Some((end, _)) = s.char_indices().nth(max) {
        s.truncate(end);
        s.push_str("...");
    }
}

/// The trace cut to what a model should read.
fn compact(mut t: Trace) -> Trace {
    t.candidates.truncate(TOOL_MAX_CANDIDATES);
    shorten(&mut t.fix_subject, TOOL_MAX_SUBJECT_CHARS);
    for c in &mut t.candidates {
        shorten(&mut c.subject, TOOL_MAX_SUBJECT_CHARS);
        c.evidence.truncate(TOOL_MAX_EVIDENCE);
        for e in &mut c.evidence {
            shorten(e, TOOL_MAX_EVIDENCE_CHARS);
        }
    }
    t
}

fn summary(t: &Trace) -> String {
    let mut text = trace_summary(t);
    for note in &t.notes {
        text.push_str(&format!("Note: {note}.\n"));
    }
    text
}

fn trace_summary(t: &Trace) -> String {
    match t.candidates.first() {
        Some(c) => {
            let mut text = format!(
                "Fix {} (\"{}\"): most likely introduced by {} (\"{}\", {}, score {:.2}); {} candidate(s).\n",
                &t.fix[..t.fix.len().min(12)],
                t.fix_subject,
                c.short,
                c.subject,
                c.date,
                c.score,
                t.candidates.len()
            );
            if let Some(r) = t.runner_up() {
                let how = if r.score > c.score {
                    "scores higher but is older, and the newer change comes first"
                } else {
                    "scores nearly as high"
                };
                text.push_str(&format!(
                    "Close call: {} (\"{}\", {}, score {:.2}) {how}; check both.\n",
                    r.short, r.subject, r.date, r.score
                ));
            }
            text
        }
        None if t.only_after_report() => format!(
            "Fix {} (\"{}\"): no introducing commit found before the first report: every commit its lines led to was made after it.\n",
            &t.fix[..t.fix.len().min(12)],
            t.fix_subject
        ),
        None => format!(
            "Fix {} (\"{}\"): no introducing commit found (the fix only adds new files, or its lines could not be blamed).\n",
            &t.fix[..t.fix.len().min(12)],
            t.fix_subject
        ),
    }
}

fn with_json(mut text: String, data: &Value) -> String {
    let body = serde_json::to_string_pretty(data).unwrap_or_else(|_| "{}".into());
    text.push_str("```json\n");
    text.push_str(&body);
    text.push_str("\n```\n");
    text
}

impl RepoTool for TraceRegression {
    type Params = Params;
    const NAME: &'static str = "trace_regression";
    const DESCRIPTION: &'static str = "Regression tracing: from a fix commit (`fix`) to the commits that most likely introduced the bug, ranked with evidence (blame of the lines the fix changed, past whitespace, moves and renames; causes named in the fix message; Fixes: trailers). Or give `incident` (a description) to find the likely fix commits first and trace the best one. Give exactly one of the two; add `reported` (a date) when it is known when the bug was first seen, to leave out commits made after it.";

    fn run(&self, ctx: &Ctx<'_>, p: Params) -> Result<ToolOutput, ToolError> {
        let invalid = |message: &str| ToolError::InvalidArguments {
            tool: Self::NAME.into(),
            message: message.into(),
        };
        let fix = p.fix.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let incident = p
            .incident
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let reported = p
            .reported
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::parse::<trace::Reported>)
            .transpose()?;
        let repo = ctx.sandbox.repo()?;
        let opts = TraceOptions {
            ignore_trailers: false,
            max_candidates: TOOL_MAX_CANDIDATES,
            reported_at: reported.map(|r| r.at),
        };
        match (fix, incident) {
            (Some(_), Some(_)) => Err(invalid(
                "give either `fix` (a commit) or `incident` (a description), not both",
            )),
            (None, None) => Err(invalid(
                "give `fix` (the commit that fixed the bug) or `incident` (a description of it)",
            )),
            (Some(fix), None) => {
                ctx.check_deadline()?;
                let t = compact(trace::trace(&repo, fix, &opts)?);
                ctx.check_deadline()?;
                let data = serde_json::to_value(&t).map_err(|e| ToolError::Io {
                    message: format!("encoding the result: {e}"),
                })?;
                let text = with_json(summary(&t), &data);
                Ok(ToolOutput::new(text, data).at(t.fix.clone()))
            }
            (None, Some(incident)) => {
                let mut incident: String = incident.chars().take(MAX_INCIDENT_CHARS).collect();
                // A date given only as `reported` dates the search as well.
                if let Some(r) = reported {
                    incident = r.dating(&incident);
                }
                ctx.check_deadline()?;
                let mut fixes = trace::find_fixes(&repo, &incident, TOOL_MAX_FIXES)?;
                for f in &mut fixes {
                    shorten(&mut f.subject, TOOL_MAX_SUBJECT_CHARS);
                }
                ctx.check_deadline()?;
                // A likely fix whose lines lead only to commits made after the first report
                // is passed over for the next (`trace::trace_likely_fix`).
                let Some((k, t)) =
                    trace::trace_likely_fix(&repo, &fixes, &opts, || ctx.check_deadline())?
                else {
                    return Err(ToolError::NotFound {
                        what: "no commit matches the incident's keywords; try other words (a component, a file, an error message) or give `fix`".into(),
                    });
                };
                let t = compact(t);
                let best = &fixes[k];
                let passed_over = &fixes[..k];
                let passed: Vec<&str> = passed_over.iter().map(|f| f.commit.as_str()).collect();
                let mut data = json!({"fixes": fixes, "trace": t});
                let mut text = format!(
                    "Likely fix for the incident: {} (\"{}\", {}), of {} candidate fix(es).\n",
                    best.short,
                    best.subject,
                    best.date,
                    fixes.len(),
                );
                let unknown = trace::unknown_shas(&repo, &incident);
                if !unknown.is_empty() {
                    text.push_str(&format!(
                        "Note: the incident names {}, which {} no commit of this repository; the fix was looked for by its other words.\n",
                        unknown.join(", "),
                        if unknown.len() == 1 { "is" } else { "are" }
                    ));
                    data["unknown_commits"] = json!(unknown);
                }
                if !passed.is_empty() {
                    data["passed_over"] = json!(passed);
                    let (their, it) = if passed_over.len() == 1 {
                        ("its", "it")
                    } else {
                        ("their", "they")
                    };
                    text.push_str(&format!(
                        "Passed over {}: the commits {their} lines led to were all made after the first report, so {it} did not fix a bug seen then.\n",
                        passed_over
                            .iter()
                            .map(|f| format!("{} (\"{}\")", f.short, f.subject))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ));
                }
                text.push_str(&summary(&t));
                let text = with_json(text, &data);
                Ok(ToolOutput::new(text, data).at(t.fix.clone()))
            }
        }
    }
}
