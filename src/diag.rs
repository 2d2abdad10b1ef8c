//! Findings: what the linter and the checker report, one type for both.

use std::fmt;
use std::path::PathBuf;

use serde::Serialize;

/// How much a finding matters: errors fail `check` and `skills lint`, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One problem in a file: which rule, how bad, where, what, and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable rule id, e.g. `structure.missing-section` or `secret`.
    pub rule: &'static str,
    pub severity: Severity,
    /// The file the finding is about, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    /// 1-based line.
    pub line: usize,
    pub message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl Finding {
    pub fn error(rule: &'static str, line: usize, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: Severity::Error,
            path: None,
            line,
            message: message.into(),
            hint: None,
        }
    }

    pub fn warning(rule: &'static str, line: usize, message: impl Into<String>) -> Self {
        Finding {
            severity: Severity::Warning,
            ..Finding::error(rule, line, message)
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn at(mut self, path: impl Into<PathBuf>) -> Self {
        self.path = Some(path.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `path:line: severity[rule]: message` on one line; the hint, if any, on the next.
impl Finding {
    /// The finding as a GitHub Actions workflow command, which the Actions log and a pull
    /// request's diff show on the file and line:
    /// `::error file=docs/x.md,line=43,title=table.value::Type "Code" is not ...`.
    pub fn github_annotation(&self) -> String {
        // Workflow commands end at a newline and split properties at `,` and `::`.
        let data = |s: &str| {
            s.replace('%', "%25")
                .replace('\r', "%0D")
                .replace('\n', "%0A")
        };
        let property = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut props = Vec::new();
        if let Some(path) = &self.path {
            props.push(format!("file={}", property(&path.to_string_lossy())));
        }
        props.push(format!("line={}", self.line.max(1)));
        props.push(format!("title={}", property(self.rule)));
        let mut message = self.message.clone();
        if let Some(hint) = &self.hint {
            message.push_str(&format!(" (hint: {hint})"));
        }
        format!("::{level} {}::{}", props.join(","), data(&message))
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(path) = &self.path {
            write!(f, "{}:", path.display())?;
        }
        write!(
            f,
            "{}: {}[{}]: {}",
            self.line, self.severity, self.rule, self.message
        )?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  = hint: {hint}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_github_annotation_escapes_what_would_end_or_split_it() {
        let mut f = Finding::error(
            "table.value",
            43,
            "Type \"Code\" is 100% wrong,\nsee: below",
        )
        .hint("use one of Test / CI");
        f.path = Some("docs/a,b:c.md".into());
        assert_eq!(
            f.github_annotation(),
            "::error file=docs/a%2Cb%3Ac.md,line=43,title=table.value::Type \"Code\" is 100%25 wrong,%0Asee: below (hint: use one of Test / CI)"
        );
        let w = Finding::warning("skill.review", 0, "old");
        assert_eq!(
            w.github_annotation(),
            "::warning line=1,title=skill.review::old"
        );
    }
}
