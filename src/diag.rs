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
