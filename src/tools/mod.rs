//! Read-only repository tools: one registry serves the agent loop, the MCP server and
//! `skillrun tools call`.
//!
//! Each tool is a [`RepoTool`]: a params struct deriving `schemars::JsonSchema` (its doc
//! comments become the schema's descriptions) and a `run` over the [`Sandbox`]. The
//! [`Registry`] decodes arguments (an error names the field), runs the tool, cuts the result
//! to the limits below, and sanitises it ([`crate::untrusted`]): secrets redacted, invisible
//! Unicode escaped, markers and role tags defused. Git is read in-process with gix; no tool
//! starts a process or opens a connection.

pub mod sandbox;

pub(crate) mod git_blame;
pub(crate) mod git_log;
mod git_releases;
mod git_show;
mod read_file;
pub mod scan_postmortems;
mod search_files;
mod trace_regression;

use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use git_releases::is_prerelease;
pub use sandbox::{RepoPath, Sandbox};

use crate::untrusted::{Envelope, Sanitized, sanitize, sanitize_json};

/// Bytes of text one result may hand to a model (16 KiB); head and tail are kept.
pub const MAX_RESULT_BYTES: usize = 16 * 1024;
/// Lines of text one result may hand to a model; head and tail are kept.
pub const MAX_RESULT_LINES: usize = 400;
/// Characters of one line of a result kept (its start); a longer line (a commit subject of
/// kilobytes, minified code) is cut, so that it does not push the lines around it out.
pub const MAX_RESULT_LINE_CHARS: usize = 2000;
/// Characters of one string of a result's structured data kept (its start): the data goes to
/// MCP clients beside the text, and a megabyte commit message must not ride along whole.
pub const MAX_DATA_STRING_CHARS: usize = 8 * 1024;
/// Matches one search returns at most.
pub const MAX_SEARCH_MATCHES: usize = 200;
/// Largest file a tool reads (8 MiB).
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;
/// Wall time one call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// Commits one `git_log` page returns at most.
pub const MAX_LOG_LIMIT: usize = 200;

/// Why a tool call failed. The message is written for the model (or person) who called it:
/// what was wrong and what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    #[error("unknown tool `{name}`; available tools: {available}")]
    UnknownTool { name: String, available: String },
    #[error("invalid arguments for `{tool}`: {message}")]
    InvalidArguments { tool: String, message: String },
    #[error("path `{path}` refused: {reason}")]
    PathRefused { path: String, reason: String },
    #[error("not found: {what}")]
    NotFound { what: String },
    #[error("{message}")]
    Repository { message: String },
    #[error("invalid regular expression: {message}")]
    Regex { message: String },
    #[error("{message}")]
    TooLarge { message: String },
    #[error("{message}")]
    Io { message: String },
    #[error(
        "the call took longer than {seconds} s and was stopped; narrow it (a path, a smaller limit)"
    )]
    Timeout { seconds: u64 },
}

impl ToolError {
    pub fn git(context: &str, e: impl std::fmt::Display) -> ToolError {
        ToolError::Repository {
            message: format!("{context}: {e}"),
        }
    }
}

/// What a tool produced, before sanitising: a text for the model and the same facts as JSON.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub text: String,
    pub data: Value,
    /// The commit the result was read at, when there is one (provenance).
    pub commit: Option<String>,
}

impl ToolOutput {
    pub fn new(text: String, data: Value) -> Self {
        ToolOutput {
            text,
            data,
            commit: None,
        }
    }

    pub fn at(mut self, commit: impl Into<String>) -> Self {
        self.commit = Some(commit.into());
        self
    }
}

/// A sanitised result, ready for a model or an MCP client.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolResult {
    pub tool: String,
    pub args: Value,
    pub commit: Option<String>,
    /// Sanitised, cut text.
    pub text: String,
    /// Sanitised structured result.
    pub data: Value,
    /// Lines omitted from `text` by the limits.
    pub omitted_lines: usize,
    pub sanitized: Sanitized,
}

impl ToolResult {
    /// The text inside the run's envelope, as the model sees it.
    pub fn enveloped(&self, envelope: &Envelope) -> String {
        envelope.wrap(&self.tool, &self.args, self.commit.as_deref(), &self.text)
    }
}

/// Per-call context: the sandbox and the deadline.
pub struct Ctx<'a> {
    pub sandbox: &'a Sandbox,
    deadline: Instant,
}

impl Ctx<'_> {
    /// Fail with [`ToolError::Timeout`] once the call's time is up; long loops call this.
    pub fn check_deadline(&self) -> Result<(), ToolError> {
        if Instant::now() > self.deadline {
            Err(ToolError::Timeout {
                seconds: CALL_TIMEOUT.as_secs(),
            })
        } else {
            Ok(())
        }
    }
}

/// A tool over the repository.
pub trait RepoTool: Send + Sync {
    type Params: DeserializeOwned + JsonSchema;
    const NAME: &'static str;
    const DESCRIPTION: &'static str;
    fn run(&self, ctx: &Ctx<'_>, params: Self::Params) -> Result<ToolOutput, ToolError>;
}

/// The object-safe face of a tool, for the registry.
pub trait Tool: Send + Sync {
    fn name(&self) -> &'static str;
    fn description(&self) -> &'static str;
    /// JSON Schema of the arguments.
    fn parameters(&self) -> Value;
    fn call(&self, ctx: &Ctx<'_>, args: Value) -> Result<ToolOutput, ToolError>;
}

impl<T: RepoTool> Tool for T {
    fn name(&self) -> &'static str {
        T::NAME
    }

    fn description(&self) -> &'static str {
        T::DESCRIPTION
    }

    fn parameters(&self) -> Value {
        let settings = schemars::generate::SchemaSettings::draft2020_12().with(|s| {
            s.meta_schema = None;
        });
        let schema = settings
            .into_generator()
            .into_root_schema_for::<T::Params>();
        let mut v = serde_json::to_value(schema).unwrap_or(Value::Null);
        if let Some(obj) = v.as_object_mut() {
            obj.remove("title");
        }
        v
    }

    fn call(&self, ctx: &Ctx<'_>, args: Value) -> Result<ToolOutput, ToolError> {
        let args = if args.is_null() {
            Value::Object(Default::default())
        } else {
            args
        };
        let params: T::Params = serde_path_to_error::deserialize(args).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner().to_string();
            ToolError::InvalidArguments {
                tool: T::NAME.to_string(),
                // serde's own message often names the field already (`unknown field `x``).
                message: if path == "." || inner.contains(&format!("`{path}`")) {
                    inner
                } else {
                    format!("field `{path}`: {inner}")
                },
            }
        })?;
        self.run(ctx, params)
    }
}

/// The name, description and argument schema of a tool, as `tools list` prints them and a
/// model receives them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub parameters: Value,
}

/// Every repository tool, once.
pub struct Registry {
    tools: Vec<Box<dyn Tool>>,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::standard()
    }
}

impl Registry {
    /// The seven repository tools.
    pub fn standard() -> Registry {
        Registry {
            tools: vec![
                Box::new(git_log::GitLog),
                Box::new(git_show::GitShow),
                Box::new(git_blame::GitBlame),
                Box::new(search_files::SearchFiles),
                Box::new(read_file::ReadFile),
                Box::new(scan_postmortems::ScanPostmortems),
                Box::new(git_releases::GitReleases),
                Box::new(trace_regression::TraceRegression),
            ],
        }
    }

    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools
            .iter()
            .map(|t| ToolSpec {
                name: t.name().to_string(),
                description: t.description().to_string(),
                parameters: t.parameters(),
            })
            .collect()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.tools.iter().map(|t| t.name()).collect()
    }

    /// Run tool `name` with `args`, then cut and sanitise its result.
    pub fn call(
        &self,
        sandbox: &Sandbox,
        name: &str,
        args: Value,
    ) -> Result<ToolResult, ToolError> {
        let tool = self
            .tools
            .iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| ToolError::UnknownTool {
                name: name.chars().take(64).collect(),
                available: self.names().join(", "),
            })?;
        let ctx = Ctx {
            sandbox,
            deadline: Instant::now() + CALL_TIMEOUT,
        };
        let output = tool.call(&ctx, args.clone()).map_err(|e| match e {
            // In a partial clone, a repository error is most likely an object it left out
            // (gix says "could not be found", or cannot diff a blob it lacks): say what to do.
            ToolError::Repository { message }
                if sandbox
                    .repo()
                    .is_ok_and(|r| crate::repo::is_partial_clone(&r)) =>
            {
                ToolError::Repository {
                    message: format!("{message}; {}", crate::repo::PARTIAL_CLONE_HINT),
                }
            }
            other => other,
        })?;
        let (cut, omitted_lines) = truncate(&output.text, MAX_RESULT_BYTES, MAX_RESULT_LINES);
        let (text, mut sanitized) = sanitize(&cut, None);
        let (data, data_stats) = sanitize_json(&cut_strings(&output.data), None);
        // Count what the model would otherwise have seen in either form once: take the larger.
        for (k, v) in data_stats.redacted {
            let e = sanitized.redacted.entry(k).or_default();
            *e = (*e).max(v);
        }
        sanitized.neutralised = sanitized.neutralised.max(data_stats.neutralised);
        sanitized.invisible = sanitized.invisible.max(data_stats.invisible);
        let (args, _) = sanitize_json(&args, None);
        Ok(ToolResult {
            tool: name.to_string(),
            args,
            commit: output.commit,
            text,
            data,
            omitted_lines,
            sanitized,
        })
    }
}

/// Cut `text` to `max_bytes` and `max_lines`, keeping the head and the tail (errors are often
/// at the end) and saying how much was left out: `[... omitted 812 of 1068 lines ...]`.
pub fn truncate(text: &str, max_bytes: usize, max_lines: usize) -> (String, usize) {
    // Several lines: cut the long ones first, so one does not push out the rest. A text of
    // one line keeps its two edges instead (below).
    let cut;
    let text = if text.trim_end().contains('\n')
        && text.split('\n').any(|l| l.len() > MAX_RESULT_LINE_CHARS)
    {
        cut = cut_long_lines(text);
        cut.as_str()
    } else {
        text
    };
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    if text.len() <= max_bytes && lines.len() <= max_lines {
        return (text.to_string(), 0);
    }
    let budget = max_bytes / 2;
    let (mut head, mut head_bytes) = (0, 0);
    while head < lines.len() && head < max_lines / 2 && head_bytes + lines[head].len() <= budget {
        head_bytes += lines[head].len();
        head += 1;
    }
    let (mut tail, mut tail_bytes) = (0, 0);
    while tail < lines.len() - head
        && tail < max_lines / 2
        && tail_bytes + lines[lines.len() - 1 - tail].len() <= budget
    {
        tail_bytes += lines[lines.len() - 1 - tail].len();
        tail += 1;
    }
    let omitted = lines.len() - head - tail;
    let mut out = String::with_capacity(head_bytes + tail_bytes + 64);
    for l in &lines[..head] {
        out.push_str(l);
    }
    if head == 0 && tail == 0 {
        // One enormous line: keep its edges by characters.
        let chars: Vec<char> = text.chars().collect();
        let keep = budget / 4;
        let start: String = chars.iter().take(keep).collect();
        let end: String = chars[chars.len().saturating_sub(keep)..].iter().collect();
        return (
            format!(
                "{start}\n[... omitted {} of {} characters ...]\n{end}",
                chars.len().saturating_sub(2 * keep),
                chars.len()
            ),
            lines.len(),
        );
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&format!(
        "[... omitted {omitted} of {} lines ...]\n",
        lines.len()
    ));
    for l in &lines[lines.len() - tail..] {
        out.push_str(l);
    }
    (out, omitted)
}

/// `text` with every line longer than [`MAX_RESULT_LINE_CHARS`] characters cut to its start
/// and a note of what was left out.
fn cut_long_lines(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_RESULT_BYTES * 4));
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&cut_chars(line, MAX_RESULT_LINE_CHARS));
    }
    out
}

/// `s` cut to its first `max` characters, with how many were left out.
fn cut_chars(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => s.into(),
        Some((end, _)) => format!(
            "{} [... line cut: {} more characters ...]",
            &s[..end],
            s[end..].chars().count()
        )
        .into(),
    }
}

/// A result's structured data with every string longer than [`MAX_DATA_STRING_CHARS`] cut.
fn cut_strings(value: &Value) -> std::borrow::Cow<'_, Value> {
    fn long(v: &Value) -> bool {
        match v {
            Value::String(s) => s.len() > MAX_DATA_STRING_CHARS,
            Value::Array(a) => a.iter().any(long),
            Value::Object(o) => o.values().any(long),
            _ => false,
        }
    }
    fn cut(v: &Value) -> Value {
        match v {
            Value::String(s) => Value::String(cut_chars(s, MAX_DATA_STRING_CHARS).into_owned()),
            Value::Array(a) => Value::Array(a.iter().map(cut).collect()),
            Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), cut(v))).collect()),
            other => other.clone(),
        }
    }
    if long(value) {
        std::borrow::Cow::Owned(cut(value))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// Resolve `rev` (default `HEAD`) to a commit.
pub fn resolve_commit<'r>(
    repo: &'r gix::Repository,
    rev: Option<&str>,
) -> Result<gix::Commit<'r>, ToolError> {
    let rev = rev.unwrap_or("HEAD");
    if rev.starts_with('-') || rev.contains(['\0', '\n']) {
        return Err(ToolError::InvalidArguments {
            tool: "rev".into(),
            message: format!("`{rev}` is not a revision"),
        });
    }
    let id = repo.rev_parse_single(rev).map_err(|e| {
        if rev == "HEAD" && repo.head_id().is_err() {
            ToolError::NotFound {
                what: "the repository has no commits yet".into(),
            }
        } else {
            ToolError::NotFound {
                what: format!(
                    "revision `{rev}`: {}; give a sha (at least 7 hex digits), a tag or a branch",
                    crate::trace::revision_reason(&e.to_string())
                ),
            }
        }
    })?;
    id.object()
        .map_err(|e| ToolError::git("reading object", e))?
        .peel_to_commit()
        .map_err(|_| ToolError::NotFound {
            what: format!("`{rev}` does not name a commit"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_keeps_head_and_tail_and_counts() {
        let text: String = (1..=1000).map(|i| format!("line {i}\n")).collect();
        let (cut, omitted) = truncate(&text, 1 << 20, 100);
        assert_eq!(omitted, 900);
        assert!(cut.starts_with("line 1\nline 2\n"));
        assert!(cut.contains("[... omitted 900 of 1000 lines ...]\nline 951\n"));
        assert!(cut.ends_with("line 1000\n"));
        assert_eq!(truncate("short\n", 100, 100), ("short\n".to_string(), 0));
        let (cut, _) = truncate(&"x".repeat(10_000), 1000, 100);
        assert!(
            cut.contains("[... omitted 9750 of 10000 characters ...]"),
            "{cut}"
        );
    }

    /// A line of kilobytes (a commit subject, minified code) among short ones is cut to its
    /// start; the lines around it stay.
    #[test]
    fn a_long_line_is_cut_and_does_not_push_out_the_others() {
        let subject = "Fix limit regression because x=1 ".repeat(200);
        let text =
            format!("commit abc\nAuthor: A\n\n    {subject}\n\ndiff --git a/x b/x\n-old\n+new\n");
        let (cut, omitted) = truncate(&text, MAX_RESULT_BYTES, MAX_RESULT_LINES);
        assert_eq!(omitted, 0, "{cut}");
        assert!(
            cut.starts_with("commit abc\nAuthor: A\n\n    Fix limit regression"),
            "{cut}"
        );
        assert!(cut.ends_with("-old\n+new\n"), "{cut}");
        assert!(
            cut.contains(&format!(
                " [... line cut: {} more characters ...]\n",
                subject.len() + 4 - MAX_RESULT_LINE_CHARS
            )),
            "{cut}"
        );
        let one_mb = format!("head\n{}\n", "y".repeat(1 << 20));
        let (cut, _) = truncate(&one_mb, MAX_RESULT_BYTES, MAX_RESULT_LINES);
        assert!(cut.starts_with("head\nyyy"), "{}", &cut[..40]);
        assert!(cut.len() < MAX_RESULT_BYTES, "{}", cut.len());

        let data = serde_json::json!({"message": "m".repeat(1 << 20), "n": [1, "short"]});
        let data = cut_strings(&data);
        let message = data["message"].as_str().unwrap();
        assert!(
            message.len() < MAX_DATA_STRING_CHARS + 100,
            "{}",
            message.len()
        );
        assert!(message.ends_with("more characters ...]"));
        assert_eq!(data["n"], serde_json::json!([1, "short"]));
    }
}
