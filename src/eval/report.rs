//! The suite's reports: JUnit XML, JSON, and a markdown summary for a CI step summary.

use std::time::Duration;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::{Suite, Variant};

fn pct(r: Option<f64>) -> String {
    r.map_or_else(|| "–".to_string(), |r| format!("{:.0}%", r * 100.0))
}

/// JUnit XML: one testsuite, a testcase per case, variant and repeat; a failure says what
/// was expected and what was seen.
pub fn junit(suite: &Suite) -> Result<String, String> {
    let mut report = Report::new("skillrun-eval");
    let mut ts = TestSuite::new(format!("skillrun eval --model {}", suite.model));
    for r in &suite.runs {
        let failures = r.failures(suite.safety_only);
        let status = if failures.is_empty() {
            TestCaseStatus::success()
        } else {
            // The harness could not run the case (its repository, the model): an error, as
            // JUnit counts them apart from failed expectations.
            let kind = if r.error.is_some() {
                NonSuccessKind::Error
            } else {
                NonSuccessKind::Failure
            };
            let mut s = TestCaseStatus::non_success(kind);
            s.set_message(failures.first().cloned().unwrap_or_default());
            s.set_type(if r.error.is_some() { "error" } else { "eval" });
            s.set_description(failures.join("\n"));
            s
        };
        let mut tc = TestCase::new(r.id.testcase(), status);
        tc.set_classname(format!("eval.{}", r.id.case));
        tc.set_time(Duration::from_secs_f64(r.seconds.max(0.0)));
        tc.set_system_out(format!(
            "outcome: {} ({})\nturns: {}, tool calls: {}, tokens: {}\n",
            r.outcome, r.detail, r.turns, r.tool_calls, r.tokens
        ));
        ts.add_test_case(tc);
    }
    ts.set_time(Duration::from_secs_f64(suite.overall.wall_seconds.max(0.0)));
    report.add_test_suite(ts);
    report.to_string().map_err(|e| e.to_string())
}

/// The whole suite as pretty JSON.
pub fn json(suite: &Suite) -> String {
    serde_json::to_string_pretty(suite).unwrap_or_default()
}

/// A markdown summary: the three rates, a row per case, then the failures.
pub fn markdown(suite: &Suite) -> String {
    let o = &suite.overall;
    let mut md = String::new();
    md.push_str(&format!("## skillrun eval — `{}`\n\n", suite.model));
    md.push_str(&format!(
        "**{}/{} runs passed** ({}) in {:.1} s with {} job(s){}.\n\n",
        o.passed,
        o.runs,
        pct(Some(o.pass_rate)),
        o.wall_seconds,
        suite.jobs,
        if suite.safety_only {
            "; the adversary is graded on the runtime's guarantees only"
        } else {
            ""
        }
    ));
    md.push_str("| utility | utility under attack | attack success rate | secrets leaked | guarantee violations | turns | tool calls | tokens |\n");
    md.push_str("| --- | --- | --- | --- | --- | --- | --- | --- |\n");
    md.push_str(&format!(
        "| {} | {} | {} ({}/{}) | {} | {} | {} | {} | {} |\n\n",
        pct(o.utility),
        pct(o.utility_under_attack),
        pct(o.attack_success_rate),
        o.successful_attacks,
        o.attacks,
        o.secrets_leaked,
        o.violations,
        o.turns,
        o.tool_calls,
        o.tokens
    ));
    md.push_str("| case | injection | runs passed | utility | under attack | ASR | seconds |\n");
    md.push_str("| --- | --- | --- | --- | --- | --- | --- |\n");
    for c in &suite.cases {
        // As the case file spells them (`commit_message → write_outside`).
        let inj = c.injection.map_or_else(
            || "–".to_string(),
            |(v, g)| format!("{} → {}", spelled(&v), spelled(&g)),
        );
        md.push_str(&format!(
            "| {}{} | {} | {}/{} | {} | {} | {} | {:.2} |\n",
            if c.passed == c.runs { "" } else { "❌ " },
            // A `|` in a name would end its cell.
            c.name.replace('|', "\\|"),
            inj,
            c.passed,
            c.runs,
            pct(c.utility),
            pct(c.utility_under_attack),
            pct(c.attack_success_rate),
            c.seconds
        ));
    }
    let failed: Vec<_> = suite.runs.iter().filter(|r| !r.passed).collect();
    if !failed.is_empty() {
        md.push_str("\n### Failures\n\n");
        for r in failed {
            md.push_str(&format!("- **{}**", r.id.testcase()));
            if r.id.variant == Variant::Attack {
                md.push_str(" (attacked)");
            }
            md.push('\n');
            for f in r.failures(suite.safety_only) {
                md.push_str(&format!("  - {}\n", f.replace('\n', " ")));
            }
        }
    }
    md
}

/// A case-file word as the case file spells it: its serde name (`commit_message`).
fn spelled<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}
