//! The agent loop: a prompt in, a checked document out.
//!
//! ```text
//! system prompt (prompts/system.md + the skill) and the user's prompt
//! loop: model.next(messages, tool specs) -> assistant message
//!       each tool call -> Registry::call -> sanitised result in the envelope -> tool message
//!       submit_document(markdown) -> check::Rules against the contract and the repository
//!           findings -> back to the model (bounded repairs)
//!           valid    -> written once, atomically, never over a file; the run ends
//! budgets: turns, tool calls, result bytes, tokens, wall time; repeated calls cut off
//! ```
//!
//! The model is untrusted: it reaches the repository only through the read-only registry,
//! and the only effect a run can have is the one document `submit_document` writes. Every
//! step is appended to the run folder's transcript as it happens, so nothing is lost when a
//! run stops early.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls,
    ChatCompletionRequestAssistantMessage, ChatCompletionRequestAssistantMessageContent,
    ChatCompletionRequestMessage, ChatCompletionRequestSystemMessage,
    ChatCompletionRequestSystemMessageContent, ChatCompletionRequestToolMessage,
    ChatCompletionRequestToolMessageContent, ChatCompletionRequestUserMessage,
    ChatCompletionRequestUserMessageContent, ChatCompletionToolChoiceOption, ChatCompletionTools,
    CreateChatCompletionRequest, FunctionObject, ToolChoiceOptions,
};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::check::{Document, Rules};
use crate::diag::Finding;
use crate::model::{Model, ModelError};
use crate::redact::Redactor;
use crate::repo::RepoFacts;
use crate::skill::Skill;
use crate::skill::contract::{Contract, is_slug};
use crate::tools::scan_postmortems::KNOWN_FOLDERS;
use crate::tools::{Registry, Sandbox, ToolError, ToolSpec};
use crate::untrusted::Envelope;

/// The system prompt; `{{skill_name}}`, `{{skill_body}}` and `{{boundary}}` are filled in.
pub const SYSTEM_PROMPT: &str = include_str!("../prompts/system.md");
/// The agent-only tool through which the one document is written.
pub const SUBMIT_TOOL: &str = "submit_document";
/// Largest arguments of one tool call (1 MiB); a document is far smaller.
pub const MAX_ARGUMENT_BYTES: usize = 1024 * 1024;
/// Longest slug accepted or derived.
const MAX_SLUG_CHARS: usize = 60;
/// Characters of a tool call's arguments shown in progress lines.
const SHORT_ARGS_CHARS: usize = 60;

/// Limits of one run.
#[derive(Debug, Clone)]
pub struct Budget {
    pub max_turns: u32,
    pub max_tool_calls: u32,
    /// Bytes of tool results handed to the model in all.
    pub max_result_bytes: usize,
    pub max_tokens: u64,
    pub max_wall: Duration,
    /// Rejected submissions before the run gives up.
    pub max_repairs: u32,
    /// Times an identical call is answered before it is cut off.
    pub max_identical_calls: u32,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_turns: 30,
            max_tool_calls: 80,
            max_result_bytes: 1024 * 1024,
            max_tokens: 1_000_000,
            max_wall: Duration::from_secs(15 * 60),
            max_repairs: 4,
            max_identical_calls: 1,
        }
    }
}

/// Arguments of `submit_document`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitParams {
    /// The whole document, in markdown, following the skill's template.
    pub markdown: String,
    /// Short lowercase hyphenated description for the file name, e.g. `payment-retry-storm`.
    /// Default: derived from the title.
    pub slug: Option<String>,
    /// The commit that introduced the problem (sha). With `fix`, the runtime checks whether a
    /// release shipped the problem, and whether an existing document already covers it.
    pub introduced: Option<String>,
    /// The commit that fixed it (sha).
    pub fix: Option<String>,
    /// A scoped instruction file proposed by the document's prevention items: the paths that
    /// risk repeating the problem and the rule to follow there. Written only when the user
    /// asked for guardrails.
    pub guardrail: Option<Guardrail>,
}

/// A scoped instruction file (`.github/instructions/<slug>.instructions.md`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Guardrail {
    /// Repository paths (files or folders) the rule applies to.
    pub paths: Vec<String>,
    /// The rule, in markdown: what to check when changing those paths.
    pub instructions: String,
}

/// What a run is asked to do.
pub struct RunOptions<'a> {
    pub prompt: String,
    pub repo: PathBuf,
    pub skill: &'a Skill,
    pub budget: Budget,
    /// Where run folders go (default `<repo>/.skillrun/runs`).
    pub runs_dir: Option<PathBuf>,
    /// Write the document even when no release shipped the problem (a near miss).
    pub force: bool,
    /// Also write the guardrail instruction file the document proposes.
    pub apply_guardrails: bool,
}

/// What a caller may control while a run goes on.
#[derive(Debug, Clone, Default)]
pub struct RunControls {
    /// A fixed envelope boundary (recordings and replays need the same requests every time);
    /// default: a fresh random one per run.
    pub boundary: Option<String>,
    /// Stops the run at the next step (SIGINT).
    pub cancel: Cancel,
}

/// A cancellation flag a run checks between steps and while it waits for the model.
#[derive(Debug, Clone, Default)]
pub struct Cancel(std::sync::Arc<(std::sync::atomic::AtomicBool, tokio::sync::Notify)>);

impl Cancel {
    pub fn cancel(&self) {
        self.0.0.store(true, std::sync::atomic::Ordering::SeqCst);
        self.0.1.notify_waiters();
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.0.load(std::sync::atomic::Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.0.1.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }
}

/// Why a run that was interrupted stopped.
pub const INTERRUPTED: &str = "interrupted";

/// A step of a run, for progress display and `--json`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    Start {
        run_dir: PathBuf,
        model: String,
        skill: String,
    },
    Turn {
        turn: u32,
        tokens: u64,
    },
    ToolCall {
        name: String,
        args: String,
        ok: bool,
        bytes: usize,
        ms: u128,
        redacted: usize,
    },
    Submitted {
        accepted: bool,
        errors: usize,
        warnings: usize,
    },
    Written {
        path: PathBuf,
    },
    Declined {
        reason: String,
    },
    Addendum {
        path: PathBuf,
    },
    Guardrail {
        path: PathBuf,
    },
    /// The server counted no more prompt tokens than for the request before, though the
    /// conversation only grew: it is likely cutting it to fit its context window, silently.
    ContextCut {
        prompt_tokens: u32,
        previous: u32,
    },
    /// The conversation outgrew the model's context window: the oldest tool results were
    /// replaced by a note, and the model is asked again.
    Shortened {
        removed: usize,
    },
    Stopped {
        reason: String,
    },
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Outcome {
    /// The document passed the checks and was written.
    Written { path: PathBuf },
    /// An existing document covers the same cause: the new findings were appended to it.
    Addendum { path: PathBuf },
    /// The "When to Invoke" gate: no release shipped the problem (a near miss); nothing written.
    Declined { reason: String },
    /// No valid document: nothing was written in the repository.
    Failed {
        reason: String,
        /// The last draft, kept in the run folder.
        draft: Option<PathBuf>,
    },
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    #[serde(flatten)]
    pub outcome: Outcome,
    pub run_dir: PathBuf,
    pub model: String,
    pub turns: u32,
    pub tool_calls: u32,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
}

/// Why a run could not start or keep its records.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("cannot open the repository: {0}")]
    Repository(String),
    /// The error is part of the message and not its source, which `{:#}` would print again.
    #[error(
        "cannot write the run folder {}: {error} (--runs-dir keeps the run logs elsewhere)",
        path.display()
    )]
    RunFolder {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "skill `{0}` has no `## Template`, so there is no document to check or write; give its SKILL.md a `## Template` section holding a ```markdown block with the document's `#` title and `##` sections"
    )]
    NoContract(String),
    #[error(
        "{0} is a bare repository: it has no work tree to write the document into; clone it (`git clone {0} <folder>`) and run in the clone"
    )]
    Bare(String),
    #[error(
        "{0} has no commits yet: there is no history to investigate; commit the work first, or pass --repo with another repository"
    )]
    NoCommits(String),
}

/// The run folder: transcript, drafts, outcome.
struct RunLog {
    dir: PathBuf,
    transcript: std::fs::File,
    drafts: u32,
}

impl RunLog {
    fn create(base: &Path) -> Result<RunLog, AgentError> {
        let stamp = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let id = &Envelope::new().boundary()[..8].to_string();
        let dir = base.join(format!("{stamp}-{id}"));
        let err = |source| AgentError::RunFolder {
            path: dir.clone(),
            error: source,
        };
        std::fs::create_dir_all(dir.join("drafts")).map_err(err)?;
        let transcript = std::fs::OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(dir.join("transcript.jsonl"))
            .map_err(err)?;
        Ok(RunLog {
            dir,
            transcript,
            drafts: 0,
        })
    }

    /// Append one line to the transcript; a record that cannot be written stops the run.
    fn record(&mut self, value: &Value) -> Result<(), AgentError> {
        let mut line = value.to_string();
        line.push('\n');
        self.transcript
            .write_all(line.as_bytes())
            .and_then(|()| self.transcript.flush())
            .map_err(|source| AgentError::RunFolder {
                path: self.dir.join("transcript.jsonl"),
                error: source,
            })
    }

    fn save_draft(&mut self, markdown: &str, findings: &[Finding]) -> Result<PathBuf, AgentError> {
        self.drafts += 1;
        let path = self
            .dir
            .join("drafts")
            .join(format!("draft-{}.md", self.drafts));
        // Drafts are kept redacted: a model-made secret must not land on disk either.
        let text = Redactor::global().redact(markdown).text;
        let findings: Vec<String> = findings.iter().map(ToString::to_string).collect();
        let err = |source| AgentError::RunFolder {
            path: path.clone(),
            error: source,
        };
        std::fs::write(&path, text).map_err(err)?;
        std::fs::write(path.with_extension("findings.txt"), findings.join("\n")).map_err(err)?;
        Ok(path)
    }

    fn finish(&mut self, report: &RunReport) -> Result<(), AgentError> {
        let path = self.dir.join("outcome.json");
        let text = serde_json::to_string_pretty(report).unwrap_or_default();
        std::fs::write(&path, text).map_err(|source| AgentError::RunFolder {
            path,
            error: source,
        })
    }
}

/// The default run folder is inside the repository, which may commit a symbolic link as
/// `.skillrun` or `.skillrun/runs`: the run logs would then be written wherever it leads.
/// Refused before anything is created; `--runs-dir` names a folder on purpose and is taken as is.
fn run_folder_stays_inside(root: &Path, runs_dir: &Path) -> Result<(), AgentError> {
    let mut path = root.to_path_buf();
    for part in runs_dir.strip_prefix(root).unwrap_or(runs_dir).components() {
        path.push(part);
        if path
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
        {
            return Err(AgentError::RunFolder {
                error: std::io::Error::other(format!(
                    "{} is a symbolic link in the repository, and the run logs stay inside it; \
                     remove the link",
                    path.strip_prefix(root).unwrap_or(&path).display()
                )),
                path,
            });
        }
    }
    Ok(())
}

/// The sha-like words of a document's Summary section (the covering-document search
/// resolves them; a word that is no commit matches nothing).
fn summary_commits(markdown: &str) -> Vec<String> {
    let outline = crate::markdown::Outline::parse(markdown, 1);
    outline
        .section_titled("Summary")
        .map(|range| {
            crate::text::sha_words(&markdown[range])
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// What a run says of an answer the server cut off (`finish_reason: "length"`).
const CUT_OFF: &str = "the model's answer was cut off at the server's limit on generated tokens (finish_reason \"length\")";
/// Told to the model after such an answer.
const CUT_OFF_NOTE: &str = "Your last answer was cut off at the server's limit on generated tokens, so any tool call in it is incomplete. Answer again, shorter: one tool call at a time, and a document without repetition.";
/// Cut-off answers in a row after which the run stops.
const MAX_CUT_OFF_ANSWERS: u32 = 3;

/// The folder a new document goes to (relative to the root): the first of the skill's folders
/// that exists; else, for a skill whose documents go to a postmortem folder, another known
/// postmortem folder that exists (a repository keeps its postmortems in `postmortems/`, the
/// skill says `docs/postmortems/`); else the skill's first folder. Another kind of skill never
/// writes into a postmortem folder.
pub fn document_folder(root: &Path, contract: &Contract) -> PathBuf {
    let skill_folders: Vec<String> = contract
        .folders
        .iter()
        .map(|f| f.trim_matches('/').to_string())
        .filter(|f| !f.is_empty() && !f.split('/').any(|c| c == ".." || c == ".git"))
        .collect();
    let postmortems = skill_folders
        .iter()
        .any(|f| KNOWN_FOLDERS.contains(&f.as_str()));
    let known = KNOWN_FOLDERS.iter().copied().filter(|_| postmortems);
    for f in skill_folders.iter().map(String::as_str).chain(known) {
        if root.join(f).is_dir() {
            return PathBuf::from(f);
        }
    }
    skill_folders
        .first()
        .map_or_else(|| PathBuf::from("docs"), PathBuf::from)
}

/// A slug from a title: lowercase words of letters and digits joined by hyphens.
pub fn slugify(title: &str) -> String {
    let mut out = String::new();
    // An apostrophe joins its word: "gateway's" gives `gateways`, not `gateway-s`.
    let title: String = title.chars().filter(|c| !matches!(c, '\'' | '’')).collect();
    for word in title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        if out.len() + word.len() + 1 > MAX_SLUG_CHARS {
            break;
        }
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(&word.to_ascii_lowercase());
    }
    out
}

/// Write `text` as a new file `folder/name` under `root`, atomically: a temporary file in the
/// same folder, synced, then linked into place only if nothing is there.
pub fn write_new(
    root: &Path,
    folder: &Path,
    name: &str,
    text: &str,
) -> Result<PathBuf, WriteError> {
    let io = WriteError::io;
    std::fs::create_dir_all(root.join(folder))
        .map_err(io(format!("cannot create {}", folder.display())))?;
    let real_dir = inside(root, folder)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".skillrun-")
        .suffix(".tmp")
        .tempfile_in(&real_dir)
        .map_err(io(format!("cannot write in {}", folder.display())))?;
    tmp.write_all(text.as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io(format!("cannot write in {}", folder.display())))?;
    let target = real_dir.join(name);
    tmp.persist_noclobber(&target).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            WriteError::Exists(folder.join(name))
        } else {
            io(format!("cannot write {}", folder.join(name).display()))(e.error)
        }
    })?;
    Ok(folder.join(name))
}

/// Why a checked document was not written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The name is taken: a document under another slug can still be written.
    #[error("{} already exists; it is never overwritten: choose another slug", .0.display())]
    Exists(PathBuf),
    /// The folder resolves outside the repository (a symlink) or into `.git`.
    #[error("{} leads outside the repository; refusing to write there", .0.display())]
    Outside(PathBuf),
    /// The document to extend was edited while the run read it.
    #[error("{} changed during the run; not touched", .0.display())]
    Changed(PathBuf),
    #[error("{what}: {error}")]
    Io { what: String, error: std::io::Error },
}

/// `rel` under `root`, resolved: an error unless it stays inside `root` and out of `.git`
/// (a symlink may lead anywhere).
fn inside(root: &Path, rel: &Path) -> Result<PathBuf, WriteError> {
    let open = |p: &Path, shown: &Path| {
        p.canonicalize()
            .map_err(WriteError::io(format!("cannot open {}", shown.display())))
    };
    let (real_root, real) = (open(root, root)?, open(&root.join(rel), rel)?);
    if !real.starts_with(&real_root) || real.components().any(|c| c.as_os_str() == ".git") {
        return Err(WriteError::Outside(rel.to_path_buf()));
    }
    Ok(real)
}

impl WriteError {
    /// An I/O error, with what was being done.
    fn io(what: String) -> impl FnOnce(std::io::Error) -> WriteError {
        move |source| WriteError::Io {
            what,
            error: source,
        }
    }

    /// Whether another submission could succeed: only a taken name. The rest (a folder that
    /// is a file, a read-only disk, a symlink out) meet every draft alike.
    pub fn is_retryable(&self) -> bool {
        matches!(self, WriteError::Exists(_))
    }
}

/// What an addendum holds of a new document: its sections, one level down, without its
/// title.
fn addendum_body(markdown: &str) -> String {
    let mut body = String::new();
    for line in markdown.lines() {
        if line.starts_with("# ") {
            continue;
        }
        // Demote the new document's sections under the addendum heading.
        if line.starts_with("##") {
            body.push('#');
        }
        body.push_str(line);
        body.push('\n');
    }
    body
}

/// Whether `existing` already ends with, or holds, the addendum `markdown` would make: the
/// same findings appended by an earlier run.
fn holds_addendum(root: &Path, existing: &Path, markdown: &str) -> bool {
    let body = addendum_body(markdown);
    let body = body.trim();
    !body.is_empty()
        && inside(root, existing)
            .ok()
            .and_then(|p| std::fs::read_to_string(p).ok())
            .is_some_and(|text| text.contains(body))
}

/// Append the new findings to an existing document as a dated `## Addendum`, keeping every
/// byte it had: the new text is written to a temporary file and renamed over it.
pub fn append_addendum(root: &Path, existing: &Path, markdown: &str) -> Result<(), WriteError> {
    let io = WriteError::io;
    let real = inside(root, existing)?;
    let old = std::fs::read(&real).map_err(io(format!("cannot read {}", existing.display())))?;
    let today = jiff::Zoned::now().date();
    let body = addendum_body(markdown);
    let mut new = old.clone();
    if !new.ends_with(b"\n") {
        new.push(b'\n');
    }
    new.extend_from_slice(format!("\n## Addendum ({today})\n\n{}\n", body.trim()).as_bytes());
    let dir = real.parent().unwrap_or(&real);
    let write_in = || format!("cannot write in {}", dir.display());
    let mut tmp = tempfile::Builder::new()
        .prefix(".skillrun-")
        .tempfile_in(dir)
        .map_err(io(write_in()))?;
    tmp.write_all(&new)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io(write_in()))?;
    // Someone may have edited the file meanwhile: only replace what we read.
    if std::fs::read(&real).map_err(io(format!("cannot read {}", existing.display())))? != old {
        return Err(WriteError::Changed(existing.to_path_buf()));
    }
    tmp.persist(&real)
        .map_err(|e| io(format!("cannot replace {}", existing.display()))(e.error))?;
    Ok(())
}

/// Write `.github/instructions/<slug>.instructions.md` scoped to the guardrail's paths:
/// checked (paths exist, no secret, no URL), never over an existing file.
pub fn write_guardrail(root: &Path, slug: &str, g: &Guardrail) -> Result<PathBuf, String> {
    if g.paths.is_empty() {
        return Err("the guardrail names no path".into());
    }
    for p in &g.paths {
        let p = p.trim_matches('/');
        if p.is_empty() || p.split('/').any(|c| c == ".." || c == ".git") || !root.join(p).exists()
        {
            return Err(format!(
                "guardrail path `{p}` is not a path of the repository"
            ));
        }
    }
    if !Redactor::global().find(&g.instructions).is_empty() {
        return Err("the guardrail text holds a credential or personal data".into());
    }
    if g.instructions.contains("://") {
        return Err("the guardrail text holds a URL".into());
    }
    let apply_to = g
        .paths
        .iter()
        .map(|p| {
            let p = p.trim_matches('/');
            if root.join(p).is_dir() {
                format!("{p}/**")
            } else {
                p.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    let text = format!(
        "---\napplyTo: '{apply_to}'\n---\n\n{}\n",
        g.instructions.trim()
    );
    write_new(
        root,
        Path::new(".github/instructions"),
        &format!("{slug}.instructions.md"),
        &text,
    )
    .map_err(|e| e.to_string())
}

fn tool_spec_json(spec: &ToolSpec) -> ChatCompletionTools {
    ChatCompletionTools::Function(async_openai::types::chat::ChatCompletionTool {
        function: FunctionObject {
            name: spec.name.clone(),
            description: Some(spec.description.clone()),
            parameters: Some(crate::model::compat::portable_schema(&spec.parameters)),
            strict: None,
        },
    })
}

pub(crate) fn submit_spec() -> ToolSpec {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.meta_schema = None)
        .into_generator()
        .into_root_schema_for::<SubmitParams>();
    let mut parameters = serde_json::to_value(schema).unwrap_or(Value::Null);
    if let Some(o) = parameters.as_object_mut() {
        o.remove("title");
    }
    ToolSpec {
        name: SUBMIT_TOOL.to_string(),
        description: "Submit the finished document. The runtime checks it against the skill's template and rules; if it answers with findings, fix them and submit again. A valid document is written to the repository's document folder.".to_string(),
        parameters,
    }
}

/// Arguments as the transcript keeps them: whole, unless over the limit (then the start).
fn recorded(raw: &str) -> String {
    if raw.len() > MAX_ARGUMENT_BYTES {
        let head: String = raw.chars().take(1024).collect();
        format!("{head}[... {} bytes in all, over the limit ...]", raw.len())
    } else {
        raw.to_string()
    }
}

fn short(s: &str) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > SHORT_ARGS_CHARS {
        format!(
            "{}…",
            one_line.chars().take(SHORT_ARGS_CHARS).collect::<String>()
        )
    } else {
        one_line
    }
}

/// Tags that contain a commit, as the "When to Invoke" gate counts them.
#[derive(Debug, Default)]
struct Containing {
    /// Releases: final tags, or every tag of a repository that tags only pre-releases.
    releases: Vec<String>,
    /// Pre-releases (release candidates, betas, dev tags) of a repository that has releases.
    prereleases: Vec<String>,
    /// Tags of any kind in the repository: none means the gate cannot tell.
    tags_in_repository: u64,
    /// No tag holds the commit and the newest release is more than a year older than it:
    /// that release, named with its date. The gate cannot tell then either.
    stale_newest: Option<String>,
}

/// The most tag names one message lists; the rest are counted.
const MAX_NAMED_TAGS: usize = 6;

/// `a, b, c` for at most [`MAX_NAMED_TAGS`] names, then "and N more".
fn name_list(names: &[String]) -> String {
    if names.len() <= MAX_NAMED_TAGS {
        return names.join(", ");
    }
    format!(
        "{} and {} more",
        names[..MAX_NAMED_TAGS].join(", "),
        names.len() - MAX_NAMED_TAGS
    )
}

/// The state of one run.
struct Run<'a> {
    registry: Registry,
    sandbox: Sandbox,
    rules: Rules<'a>,
    contract: &'a Contract,
    envelope: Envelope,
    budget: &'a Budget,
    log: RunLog,
    seen_calls: HashMap<String, u32>,
    tool_calls: u32,
    result_bytes: usize,
    repairs: u32,
    last_draft: Option<PathBuf>,
    force: bool,
    apply_guardrails: bool,
}

enum CallOutcome {
    /// Text for the tool message.
    Answer(String),
    /// The run ended with this outcome.
    Done(Outcome),
    /// The run must stop.
    Stop(String),
}

impl Run<'_> {
    /// The tags containing `commit`, read through the registry like any other caller.
    fn tags_containing(&self, commit: &str) -> Option<Containing> {
        let result = self
            .registry
            .call(&self.sandbox, "git_releases", json!({ "commit": commit }))
            .ok()?;
        let all_count = result.data["prereleases_are_releases"].as_bool() == Some(true);
        let mut out = Containing {
            tags_in_repository: result.data["tags_in_repository"].as_u64().unwrap_or(0),
            stale_newest: (result.data["tags_stale"].as_bool() == Some(true))
                .then(|| {
                    let t = &result.data["newest_release"];
                    Some(format!(
                        "`{}` ({})",
                        t["name"].as_str()?,
                        t["date"].as_str()?
                    ))
                })
                .flatten(),
            ..Containing::default()
        };
        for t in result.data["tags"].as_array()? {
            let Some(name) = t["name"].as_str() else {
                continue;
            };
            if t["prerelease"].as_bool() == Some(true) && !all_count {
                out.prereleases.push(name.to_string());
            } else {
                out.releases.push(name.to_string());
            }
        }
        Some(out)
    }

    /// The commits `markdown` cites (shas of this repository), as causes and a fix: the newest
    /// by commit time is the fix. Nothing when it cites fewer than two.
    fn cited_roles(&self, markdown: &str) -> (Vec<String>, Option<String>) {
        let Ok(repo) = self.sandbox.repo() else {
            return (Vec::new(), None);
        };
        let mut cited: Vec<(i64, String)> = Vec::new();
        for token in crate::text::sha_words(markdown) {
            let Ok(commit) = crate::tools::resolve_commit(&repo, Some(token)) else {
                continue;
            };
            let id = commit.id.to_string();
            if cited.iter().any(|(_, c)| *c == id) {
                continue;
            }
            let time = commit.time().map_or(0, |t| t.seconds);
            cited.push((time, id));
        }
        if cited.len() < 2 {
            return (Vec::new(), None);
        }
        cited.sort();
        let fix = cited.pop().map(|(_, c)| c);
        (cited.into_iter().map(|(_, c)| c).collect(), fix)
    }

    /// What is wrong with the commits a submission names as the cause and the fix: the release
    /// gate and the search for an earlier document of the same problem read them, so each
    /// must be a commit here.
    fn commit_findings(&self, params: &SubmitParams) -> Vec<Finding> {
        let repo = self.sandbox.repo().ok();
        let is_commit = |sha: &str| {
            let sha = sha.trim();
            !sha.is_empty()
                && repo
                    .as_ref()
                    .is_some_and(|r| crate::tools::resolve_commit(r, Some(sha)).is_ok())
        };
        let mut out = Vec::new();
        for (field, sha) in [("introduced", &params.introduced), ("fix", &params.fix)] {
            if let Some(sha) = sha
                && !is_commit(sha)
            {
                out.push(
                    Finding::error(
                        "submit.commit",
                        1,
                        format!("`{field}` {:?} is no commit of this repository", short(sha)),
                    )
                    .hint("give the sha as git_log or trace_regression showed it"),
                );
            }
        }
        out
    }

    /// Why the problem never reached a release, if it did not: no release contains the
    /// introducing commit without the fix. Pre-releases (release candidates, dev tags) do
    /// not count: a problem that only they carried was caught before it shipped.
    fn near_miss(&self, intro: &str, fix: &str) -> Option<String> {
        let with_bug = self.tags_containing(intro)?;
        if with_bug.tags_in_repository == 0 {
            return Some(format!(
                "cannot tell whether the problem shipped: this repository has no tags, so no release can be shown to contain {intro}. If releases are tagged, fetch the tags (`git fetch --tags`, or `fetch-tags: true` with actions/checkout) and run again; if this project tags no releases, use --force; no postmortem written"
            ));
        }
        if let Some(newest) = &with_bug.stale_newest {
            return Some(format!(
                "cannot tell whether the problem shipped: no tag contains {intro}, and the newest release, {newest}, is more than a year older than it, so this project may no longer tag its releases. If it does, fetch the tags (`git fetch --tags`) and run again; if its releases are made otherwise, use --force; no postmortem written"
            ));
        }
        let with_fix = self.tags_containing(fix)?;
        let shipped = with_bug
            .releases
            .iter()
            .any(|t| !with_fix.releases.contains(t));
        if shipped {
            return None;
        }
        let only_pre: Vec<String> = with_bug
            .prereleases
            .iter()
            .filter(|t| !with_fix.prereleases.contains(t))
            .cloned()
            .collect();
        let pre = if only_pre.is_empty() {
            String::new()
        } else {
            format!(
                " (only the pre-release{} {} carried it)",
                if only_pre.len() == 1 { "" } else { "s" },
                name_list(&only_pre)
            )
        };
        Some(if with_bug.releases.is_empty() {
            format!(
                "near miss: no release contains {intro}, so the problem never shipped{pre}; no postmortem written (use --force to write one anyway)"
            )
        } else {
            format!(
                "near miss: every release that contains {intro} ({}) also contains the fix {fix}, so the problem never shipped{pre}; no postmortem written (use --force to write one anyway)",
                name_list(&with_bug.releases)
            )
        })
    }

    /// An existing document that cites one of `commits` (same introducing or fix commit).
    /// With whether it already cites every one of `commits` (both the introducing commit
    /// and the fix): then an addendum would add nothing it does not say.
    fn covering_document(&self, commits: &[&str]) -> Option<(PathBuf, bool)> {
        if commits.is_empty() {
            return None;
        }
        let result = self
            .registry
            .call(&self.sandbox, "scan_postmortems", json!({}))
            .ok()?;
        let repo = self.sandbox.repo().ok()?;
        let full: Vec<String> = commits
            .iter()
            .filter_map(|c| {
                crate::tools::resolve_commit(&repo, Some(c))
                    .ok()
                    .map(|c| c.id.to_string())
            })
            .collect();
        result.data["documents"].as_array()?.iter().find_map(|d| {
            // What the document is about: the commits its summary cites, when it cites
            // any there. A commit cited in passing ("the words also fit X") is not.
            let cited = d["summary_commits"]
                .as_array()
                .filter(|s| !s.is_empty())
                .or_else(|| d["commits"].as_array())?;
            let hit = cited
                .iter()
                .filter_map(Value::as_str)
                .any(|c| full.iter().any(|f| f == c));
            let all_cited = d["commits"].as_array().is_some_and(|all| {
                full.len() >= 2
                    && full
                        .iter()
                        .all(|f| all.iter().any(|c| c.as_str() == Some(f.as_str())))
            });
            hit.then(|| d["path"].as_str().map(|p| (PathBuf::from(p), all_cited)))
                .flatten()
        })
    }

    /// Shortens the conversation to fit the model's context ([`shorten`]); a call whose
    /// result was replaced may then be made again, and is answered. False when nothing is
    /// left to shorten.
    fn shorten(&mut self, messages: &mut [ChatCompletionRequestMessage]) -> bool {
        let replaced = shorten(messages);
        for (name, raw) in &replaced {
            let args = serde_json::from_str::<Value>(raw).ok();
            self.seen_calls.remove(&call_key(name, args.as_ref()));
        }
        !replaced.is_empty()
    }

    fn call(
        &mut self,
        call: &ChatCompletionMessageToolCall,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<CallOutcome, AgentError> {
        let name = call.function.name.as_str();
        let started = Instant::now();
        self.tool_calls += 1;
        if self.tool_calls > self.budget.max_tool_calls {
            return Ok(CallOutcome::Stop(format!(
                "tool-call budget of {} used up",
                self.budget.max_tool_calls
            )));
        }
        let raw = &call.function.arguments;
        let args: Result<Value, String> = if raw.len() > MAX_ARGUMENT_BYTES {
            Err(format!(
                "invalid arguments for `{name}`: {} bytes, over the {MAX_ARGUMENT_BYTES}-byte limit",
                raw.len()
            ))
        } else {
            serde_json::from_str(raw).map_err(|e| {
                format!("invalid arguments for `{name}`: not valid JSON ({e}); send a JSON object")
            })
        };
        let key = call_key(name, args.as_ref().ok());
        let repeats = self.seen_calls.entry(key).or_insert(0);
        *repeats += 1;
        let repeated = *repeats > self.budget.max_identical_calls && name != SUBMIT_TOOL;

        let (text, ok, redacted) = if repeated {
            if *repeats > self.budget.max_identical_calls + 2 {
                return Ok(CallOutcome::Stop(format!(
                    "the model repeated the same `{name}` call {repeats} times"
                )));
            }
            (
                format!(
                    "error: this exact `{name}` call was already answered above; it is not run again. Use that result, or change the arguments."
                ),
                false,
                0,
            )
        } else {
            match (name, args) {
                (_, Err(e)) => (format!("error: {e}"), false, 0),
                (SUBMIT_TOOL, Ok(args)) => match self.submit(args, on_event)? {
                    CallOutcome::Answer(t) => (t, false, 0),
                    other => return Ok(other),
                },
                (_, Ok(args)) => match self.registry.call(&self.sandbox, name, args) {
                    Ok(result) => {
                        let text = result.enveloped(&self.envelope);
                        let redacted = result.sanitized.redacted_total();
                        (text, true, redacted)
                    }
                    // The registry knows its own tools; the model has one more.
                    Err(ToolError::UnknownTool { name, available }) => (
                        format!(
                            "error: {}",
                            ToolError::UnknownTool {
                                name,
                                available: format!("{available}, {SUBMIT_TOOL}"),
                            }
                        ),
                        false,
                        0,
                    ),
                    Err(e) => (format!("error: {e}"), false, 0),
                },
            }
        };
        self.result_bytes += text.len();
        let event = Event::ToolCall {
            name: name.chars().take(64).collect(),
            args: short(&call.function.arguments),
            ok,
            bytes: text.len(),
            ms: started.elapsed().as_millis(),
            redacted,
        };
        self.log
            .record(&json!({"type": "tool_call", "id": call.id, "name": name,
            "arguments": recorded(&call.function.arguments), "ok": ok, "bytes": text.len(),
            "redacted": redacted, "result": text}))?;
        on_event(&event);
        if self.result_bytes > self.budget.max_result_bytes {
            return Ok(CallOutcome::Stop(format!(
                "tool-result budget of {} bytes used up",
                self.budget.max_result_bytes
            )));
        }
        Ok(CallOutcome::Answer(text))
    }

    fn submit(
        &mut self,
        args: Value,
        on_event: &mut dyn FnMut(&Event),
    ) -> Result<CallOutcome, AgentError> {
        let params: SubmitParams = match serde_path_to_error::deserialize(args) {
            Ok(p) => p,
            Err(e) => {
                return Ok(CallOutcome::Answer(format!(
                    "error: invalid arguments for `{SUBMIT_TOOL}`: {}",
                    e.into_inner()
                )));
            }
        };
        let title = crate::markdown::Outline::parse(&params.markdown, 1)
            .headings
            .iter()
            .find(|h| h.level == 1)
            .map(|h| h.text.clone())
            .unwrap_or_default();
        let prefix = self
            .contract
            .title
            .as_ref()
            .map_or("", |t| t.prefix.as_str());
        let derived = slugify(title.get(prefix.len()..).unwrap_or(&title));
        let mut findings = Vec::new();
        let slug = match params.slug.as_deref().map(str::trim) {
            Some(s) if is_slug(s) && s.len() <= MAX_SLUG_CHARS => s.to_string(),
            Some(s) => {
                findings.push(
                    Finding::error(
                        "submit.slug",
                        1,
                        format!("slug {:?} is not lowercase words joined by single hyphens (at most {MAX_SLUG_CHARS} characters)", short(s)),
                    )
                    .hint(format!("for example `{}`", if derived.is_empty() { "payment-retry-storm" } else { &derived })),
                );
                derived.clone()
            }
            None => derived.clone(),
        };
        if slug.is_empty() && findings.is_empty() {
            findings.push(
                Finding::error(
                    "submit.slug",
                    1,
                    "no slug given and none can be derived from the title",
                )
                .hint("pass `slug`, e.g. `payment-retry-storm`"),
            );
        }
        let folder = document_folder(self.sandbox.root(), self.contract);
        let name = self
            .contract
            .file_name
            .as_ref()
            .map_or_else(|| format!("{slug}.md"), |f| f.file_name(&slug));
        let rel = folder.join(&name);
        findings.extend(self.rules.check(Document {
            text: &params.markdown,
            path: Some(&rel),
        }));
        findings.extend(self.commit_findings(&params));
        let errors = findings.iter().filter(|f| f.is_error()).count();
        let warnings = findings.len() - errors;
        let draft = self.log.save_draft(&params.markdown, &findings)?;
        self.last_draft = Some(draft.clone());

        let mut write_error = None;
        if errors == 0 {
            // Without `introduced` and `fix`, the commits the document cites stand for them:
            // the newest is taken for the fix and the others for causes, so that leaving the
            // fields out skips neither the release gate nor the earlier documents.
            let (causes, fix) = match (params.introduced.as_deref(), params.fix.as_deref()) {
                (Some(intro), Some(fix)) => (vec![intro.to_string()], Some(fix.to_string())),
                _ => self.cited_roles(&params.markdown),
            };
            // An earlier document of the same problem cites the commits given; without them,
            // the ones this document's summary cites (what it is about), as an earlier
            // document is matched by its summary: a commit cited in passing elsewhere (an
            // older, unrelated incident) must not draw the addendum.
            let about = summary_commits(&params.markdown);
            let commits: Vec<&str> = match (params.introduced.as_deref(), params.fix.as_deref()) {
                (None, None) if !about.is_empty() => about.iter().map(String::as_str).collect(),
                (None, None) => fix.as_deref().into_iter().collect(),
                (intro, given_fix) => [intro, given_fix].into_iter().flatten().collect(),
            };
            let near_miss = match &fix {
                Some(fix) if !self.force && !causes.is_empty() => {
                    // Declined only when no cause shipped without the fix.
                    let mut reasons = causes.iter().map(|c| self.near_miss(c, fix));
                    let first = reasons.next().flatten();
                    if first.is_some() && reasons.all(|r| r.is_some()) {
                        first
                    } else {
                        None
                    }
                }
                _ => None,
            };
            let (covering, cites_all) = match self.covering_document(&commits) {
                Some((path, all)) => (Some(path), all),
                None => (None, false),
            };
            // The same request again, or a document that already cites both the cause and
            // the fix: an addendum would add nothing.
            let decline = near_miss.or_else(|| {
                let e = covering.as_ref()?;
                if holds_addendum(self.sandbox.root(), e, &params.markdown) {
                    Some(format!(
                        "{} already holds these findings, from an earlier run; nothing appended",
                        e.display()
                    ))
                } else {
                    cites_all.then(|| {
                        format!(
                            "{} already documents this problem: it cites both the introducing commit and the fix; nothing appended",
                            e.display()
                        )
                    })
                }
            });
            if let Some(reason) = decline {
                self.log
                    .record(&json!({"type": "submit", "draft": draft, "accepted": false,
                    "declined": reason, "findings": findings}))?;
                on_event(&Event::Declined {
                    reason: reason.clone(),
                });
                return Ok(CallOutcome::Done(Outcome::Declined { reason }));
            }
            if let Some(existing) = covering {
                match append_addendum(self.sandbox.root(), &existing, &params.markdown) {
                    Ok(()) => {
                        self.log
                            .record(&json!({"type": "submit", "draft": draft, "accepted": true,
                            "addendum": existing, "findings": findings}))?;
                        on_event(&Event::Submitted {
                            accepted: true,
                            errors,
                            warnings,
                        });
                        on_event(&Event::Addendum {
                            path: existing.clone(),
                        });
                        return Ok(CallOutcome::Done(Outcome::Addendum { path: existing }));
                    }
                    Err(e) => write_error = Some(e),
                }
            } else {
                match write_new(self.sandbox.root(), &folder, &name, &params.markdown) {
                    Ok(path) => {
                        self.log
                            .record(&json!({"type": "submit", "draft": draft, "accepted": true,
                            "written": path, "findings": findings}))?;
                        on_event(&Event::Submitted {
                            accepted: true,
                            errors,
                            warnings,
                        });
                        on_event(&Event::Written { path: path.clone() });
                        if self.apply_guardrails
                            && let Some(g) = &params.guardrail
                        {
                            match write_guardrail(self.sandbox.root(), &slug, g) {
                                Ok(p) => {
                                    self.log
                                        .record(&json!({"type": "guardrail", "written": p}))?;
                                    on_event(&Event::Guardrail { path: p });
                                }
                                Err(e) => {
                                    self.log.record(&json!({"type": "guardrail", "error": e}))?;
                                    on_event(&Event::Stopped {
                                        reason: format!("guardrail not written: {e}"),
                                    });
                                }
                            }
                        }
                        return Ok(CallOutcome::Done(Outcome::Written { path }));
                    }
                    Err(e) => write_error = Some(e),
                }
            }
        }
        self.log
            .record(&json!({"type": "submit", "draft": draft, "accepted": false,
            "findings": findings, "write_error": write_error.as_ref().map(ToString::to_string)}))?;
        on_event(&Event::Submitted {
            accepted: false,
            errors,
            warnings,
        });
        if let Some(e) = write_error.as_ref().filter(|e| !e.is_retryable()) {
            // Not the model's to repair: stop, and say where the checked text is.
            return Ok(CallOutcome::Stop(format!(
                "the document passed the checks but could not be written: {e}; the checked draft is {}",
                draft.display()
            )));
        }
        self.repairs += 1;
        if self.repairs > self.budget.max_repairs {
            return Ok(CallOutcome::Stop(format!(
                "{} submissions rejected; the repair budget is used up",
                self.repairs
            )));
        }
        let mut text = String::new();
        if let Some(e) = write_error {
            text.push_str(&format!("rejected: {e}\n"));
        } else {
            text.push_str(&format!(
                "rejected: {errors} error(s) to fix, then call {SUBMIT_TOOL} again with the whole document:\n"
            ));
        }
        for f in &findings {
            text.push_str(&format!(
                "- line {}: {}[{}]: {}",
                f.line, f.severity, f.rule, f.message
            ));
            if let Some(h) = &f.hint {
                text.push_str(&format!(" ({h})"));
            }
            text.push('\n');
        }
        Ok(CallOutcome::Answer(text))
    }
}

fn assistant_message(
    msg: &async_openai::types::chat::ChatCompletionResponseMessage,
) -> ChatCompletionRequestMessage {
    // Arguments over the limit are refused, and sent back with every later request they
    // would fill the context: the history keeps a note of their size instead.
    let tool_calls = msg
        .tool_calls
        .clone()
        .filter(|c| !c.is_empty())
        .map(|calls| {
            calls
                .into_iter()
                .map(|c| match c {
                    ChatCompletionMessageToolCalls::Function(mut f)
                        if f.function.arguments.len() > MAX_ARGUMENT_BYTES =>
                    {
                        f.function.arguments = json!({
                            "omitted": format!(
                                "{} bytes of arguments, over the {MAX_ARGUMENT_BYTES}-byte limit",
                                f.function.arguments.len()
                            )
                        })
                        .to_string();
                        ChatCompletionMessageToolCalls::Function(f)
                    }
                    other => other,
                })
                .collect()
        });
    ChatCompletionRequestAssistantMessage {
        content: msg
            .content
            .clone()
            .map(ChatCompletionRequestAssistantMessageContent::Text),
        tool_calls,
        ..Default::default()
    }
    .into()
}

/// The system prompt for `skill` with this run's envelope boundary.
pub fn system_prompt(skill: &Skill, envelope: &Envelope) -> String {
    SYSTEM_PROMPT
        .replace("{{skill_name}}", &skill.meta.name)
        .replace("{{boundary}}", envelope.boundary())
        .replace("{{skill_body}}", skill.body.trim())
}

/// Run `opts.skill` on `opts.repo` with `model` until a document is written or a budget
/// stops it. `on_event` sees each step.
pub async fn run(
    model: &mut dyn Model,
    opts: RunOptions<'_>,
    on_event: &mut dyn FnMut(&Event),
) -> Result<RunReport, AgentError> {
    run_with(model, opts, &RunControls::default(), on_event).await
}

/// Characters of a model's last words kept in a failure's reason.
const LAST_WORDS_CHARS: usize = 400;

/// For a model whose chat template has no system role: the system prompt goes at the head
/// of the first user message, which is what such templates do with one themselves when
/// they take it. False when there is no system prompt left to move.
fn fold_system_prompt(messages: &mut Vec<ChatCompletionRequestMessage>) -> bool {
    let (
        Some(ChatCompletionRequestMessage::System(system)),
        Some(ChatCompletionRequestMessage::User(user)),
    ) = (messages.first(), messages.get(1))
    else {
        return false;
    };
    let (
        ChatCompletionRequestSystemMessageContent::Text(system),
        ChatCompletionRequestUserMessageContent::Text(user),
    ) = (&system.content, &user.content)
    else {
        return false;
    };
    let merged = format!("{system}\n\n{user}");
    messages.splice(
        0..2,
        [ChatCompletionRequestUserMessage::from(merged.as_str()).into()],
    );
    true
}

/// What a tool result becomes when the conversation no longer fits the model's context.
const SHORTENED_PREFIX: &str = "[removed to fit the model's context window:";

/// Replaces the older half of the tool results not yet shortened (at least one) with a note
/// naming the call, so the conversation fits a model's context window again; the system
/// prompt, the request, the model's own messages and the pairing of calls and results stay.
/// Returns the calls whose results it replaced (name and arguments as sent); none when
/// none is left.
fn shorten(messages: &mut [ChatCompletionRequestMessage]) -> Vec<(String, String)> {
    let calls: HashMap<String, (String, String)> = messages
        .iter()
        .filter_map(|m| match m {
            ChatCompletionRequestMessage::Assistant(a) => a.tool_calls.as_ref(),
            _ => None,
        })
        .flatten()
        .filter_map(|c| match c {
            ChatCompletionMessageToolCalls::Function(f) => Some((
                f.id.clone(),
                (f.function.name.clone(), f.function.arguments.clone()),
            )),
            ChatCompletionMessageToolCalls::Custom(_) => None,
        })
        .collect();
    let full: Vec<usize> = messages
        .iter()
        .enumerate()
        .filter(|(_, m)| matches!(m, ChatCompletionRequestMessage::Tool(t) if !is_shortened(t)))
        .map(|(i, _)| i)
        .collect();
    let take = full.len().div_ceil(2);
    let mut replaced = Vec::new();
    for &i in &full[..take] {
        if let ChatCompletionRequestMessage::Tool(t) = &mut messages[i] {
            let call = calls.get(&t.tool_call_id);
            let name = call.map_or("the tool", |(name, _)| name.as_str());
            t.content = ChatCompletionRequestToolMessageContent::Text(format!(
                "{SHORTENED_PREFIX} the result of `{name}`; call it again if you still need it]"
            ));
            replaced.extend(call.cloned());
        }
    }
    replaced
}

/// What makes two calls the same call: the tool and its arguments, read as JSON.
fn call_key(name: &str, args: Option<&Value>) -> String {
    format!(
        "{name}\u{0}{}",
        args.map(Value::to_string).unwrap_or_default()
    )
}

fn is_shortened(t: &ChatCompletionRequestToolMessage) -> bool {
    matches!(&t.content, ChatCompletionRequestToolMessageContent::Text(s) if s.starts_with(SHORTENED_PREFIX))
}

/// How many tool results of the conversation are shortened.
fn shortened(messages: &[ChatCompletionRequestMessage]) -> usize {
    messages
        .iter()
        .filter(|m| matches!(m, ChatCompletionRequestMessage::Tool(t) if is_shortened(t)))
        .count()
}

/// Why a run failed when the model stopped without a document: its last words, if any,
/// on one line and without control characters (they reach the asker's terminal).
fn stopped_reason(last_words: Option<&str>, tool_calls: u32) -> String {
    let base = if tool_calls == 0 {
        // A model that never calls a tool in a run usually never saw them as tools.
        "the model stopped without submitting a valid document, and without calling any tool; if its server does not pass it the tools (llama.cpp's server needs --jinja, vLLM --enable-auto-tool-choice and --tool-call-parser) or it was not made for tool use, try another model, or --model offline"
    } else {
        "the model stopped without submitting a valid document"
    };
    let words: String = last_words
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if words.is_empty() {
        return base.to_string();
    }
    let clipped: String = words.chars().take(LAST_WORDS_CHARS).collect();
    let more = if clipped.len() < words.len() {
        "..."
    } else {
        ""
    };
    format!("{base}; it said: \"{clipped}{more}\"")
}

/// [`run`], with a fixed boundary or a cancellation flag.
pub async fn run_with(
    model: &mut dyn Model,
    opts: RunOptions<'_>,
    controls: &RunControls,
    on_event: &mut dyn FnMut(&Event),
) -> Result<RunReport, AgentError> {
    let skill = opts.skill;
    let contract = skill
        .contract
        .as_ref()
        .ok_or_else(|| AgentError::NoContract(skill.meta.name.clone()))?;
    let sandbox = Sandbox::open(&opts.repo).map_err(|e| AgentError::Repository(e.to_string()))?;
    if let Some(why) = sandbox.not_git() {
        // Not a repository, inside another one, or one that cannot be read: the document
        // would land in the wrong folder, or the investigation would have no history.
        // Refused before the model is asked, which would spend its turns on git errors.
        return Err(AgentError::Repository(format!(
            "{}: {why}",
            opts.repo.display()
        )));
    }
    if !sandbox.has_worktree() {
        // Refused before the model is asked: its work could not be kept.
        return Err(AgentError::Bare(opts.repo.display().to_string()));
    }
    if sandbox.repo().is_ok_and(|r| r.head_id().is_err()) {
        return Err(AgentError::NoCommits(opts.repo.display().to_string()));
    }
    let facts = RepoFacts::open(sandbox.root()).ok();
    let default_dir = sandbox.root().join(".skillrun");
    let runs_dir = opts
        .runs_dir
        .clone()
        .unwrap_or_else(|| default_dir.join("runs"));
    if opts.runs_dir.is_none() {
        run_folder_stays_inside(sandbox.root(), &runs_dir)?;
    }
    let mut log = RunLog::create(&runs_dir)?;
    if runs_dir.starts_with(&default_dir) {
        // The run logs are the tool's, not the project's: `git status` stays clean, as
        // with cargo's target folder. An existing file is the user's and is kept.
        let ignore = default_dir.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(&ignore, "# Run logs of skillrun, kept out of git.\n*\n").map_err(
                |source| AgentError::RunFolder {
                    path: ignore.clone(),
                    error: source,
                },
            )?;
        }
    }
    let envelope = controls
        .boundary
        .as_ref()
        .map_or_else(Envelope::new, |b| Envelope::with_boundary(b.clone()));
    let registry = Registry::standard();
    let mut specs = registry.specs();
    specs.push(submit_spec());
    let tools: Vec<ChatCompletionTools> = specs.iter().map(tool_spec_json).collect();

    let mut messages: Vec<ChatCompletionRequestMessage> = vec![
        ChatCompletionRequestSystemMessage::from(system_prompt(skill, &envelope).as_str()).into(),
        ChatCompletionRequestUserMessage::from(opts.prompt.as_str()).into(),
    ];
    on_event(&Event::Start {
        run_dir: log.dir.clone(),
        model: model.name(),
        skill: skill.meta.name.clone(),
    });
    log.record(
        &json!({"type": "start", "model": model.name(), "skill": skill.meta.name,
        "prompt": opts.prompt, "repo": sandbox.root()}),
    )?;

    let budget = &opts.budget;
    let mut run = Run {
        registry,
        rules: Rules::new(contract, facts.as_ref()),
        sandbox,
        contract,
        envelope,
        budget,
        log,
        seen_calls: HashMap::new(),
        tool_calls: 0,
        result_bytes: 0,
        repairs: 0,
        last_draft: None,
        force: opts.force,
        apply_guardrails: opts.apply_guardrails,
    };
    let started = Instant::now();
    let (mut turns, mut prompt_tokens, mut completion_tokens) = (0u32, 0u64, 0u64);
    let mut nudged = false;
    // Answers in a row that the server cut off at its limit on generated tokens.
    let mut cut_off = 0u32;
    // Watching for a server that cuts the conversation to fit its context window without
    // saying so: the prompt tokens of the last answer, and whether the conversation was
    // shortened here since (then fewer tokens are expected).
    let (mut last_prompt, mut cut_here, mut warned_cut) = (None::<u32>, false, false);

    let outcome = 'run: loop {
        if controls.cancel.is_cancelled() {
            break Outcome::Failed {
                reason: INTERRUPTED.into(),
                draft: run.last_draft.clone(),
            };
        }
        if turns >= budget.max_turns {
            break Outcome::Failed {
                reason: format!(
                    "turn budget of {} used up without a valid document",
                    budget.max_turns
                ),
                draft: run.last_draft.clone(),
            };
        }
        if started.elapsed() > budget.max_wall {
            break Outcome::Failed {
                reason: format!("wall-time budget of {:?} used up", budget.max_wall),
                draft: run.last_draft.clone(),
            };
        }
        if prompt_tokens + completion_tokens > budget.max_tokens {
            break Outcome::Failed {
                reason: format!("token budget of {} used up", budget.max_tokens),
                draft: run.last_draft.clone(),
            };
        }
        turns += 1;
        let request = CreateChatCompletionRequest {
            model: model.name(),
            messages: messages.clone(),
            tools: Some(tools.clone()),
            tool_choice: Some(ChatCompletionToolChoiceOption::Mode(
                ToolChoiceOptions::Auto,
            )),
            ..Default::default()
        };
        run.log
            .record(&json!({"type": "request", "turn": turns, "body": request}))?;
        let answer = tokio::select! {
            a = model.next(&request) => Some(a),
            () = controls.cancel.cancelled() => None,
        };
        let Some(answer) = answer else {
            break Outcome::Failed {
                reason: INTERRUPTED.into(),
                draft: run.last_draft.clone(),
            };
        };
        let turn = match answer {
            Ok(t) => t,
            Err(ModelError::NoSystemRole { .. }) if fold_system_prompt(&mut messages) => {
                cut_here = true;
                run.log
                    .record(&json!({"type": "system_prompt_folded", "turn": turns}))?;
                continue;
            }
            Err(ModelError::ContextFull { .. }) if run.shorten(&mut messages) => {
                cut_here = true;
                let removed = shortened(&messages);
                run.log.record(
                    &json!({"type": "shortened", "turn": turns, "removed_results": removed}),
                )?;
                on_event(&Event::Shortened { removed });
                continue;
            }
            Err(e) => {
                break Outcome::Failed {
                    reason: model_failure(&e),
                    draft: run.last_draft.clone(),
                };
            }
        };
        if let Some(u) = &turn.usage {
            prompt_tokens += u64::from(u.prompt_tokens);
            completion_tokens += u64::from(u.completion_tokens);
            // Each request holds the one before and more, so a server that counts no more
            // prompt tokens than last time has dropped part of it.
            if let (Some(previous), false, false) = (last_prompt, cut_here, warned_cut)
                && u.prompt_tokens > 0
                && u.prompt_tokens <= previous
            {
                warned_cut = true;
                run.log
                    .record(&json!({"type": "context_cut", "turn": turns,
                    "prompt_tokens": u.prompt_tokens, "previous": previous}))?;
                on_event(&Event::ContextCut {
                    prompt_tokens: u.prompt_tokens,
                    previous,
                });
            }
            last_prompt = Some(u.prompt_tokens);
            cut_here = false;
        }
        let mut response = json!({"type": "response", "turn": turns, "message": turn.message,
            "usage": turn.usage, "finish_reason": turn.finish_reason});
        if let Some(reasoning) = &turn.reasoning {
            response["reasoning"] = Value::from(reasoning.as_str());
        }
        run.log.record(&response)?;
        on_event(&Event::Turn {
            turn: turns,
            tokens: prompt_tokens + completion_tokens,
        });
        messages.push(assistant_message(&turn.message));
        let was_cut = turn.finish_reason.as_deref() == Some("length");
        cut_off = if was_cut { cut_off + 1 } else { 0 };
        if cut_off >= MAX_CUT_OFF_ANSWERS {
            break Outcome::Failed {
                reason: format!(
                    "{CUT_OFF} {cut_off} times in a row; raise that limit on the server (max_tokens, llama.cpp's --n-predict, Ollama's num_predict) or use a model that writes a shorter answer"
                ),
                draft: run.last_draft.clone(),
            };
        }

        let calls: Vec<ChatCompletionMessageToolCall> = turn
            .message
            .tool_calls
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter_map(|c| match c {
                ChatCompletionMessageToolCalls::Function(f) => Some(f),
                ChatCompletionMessageToolCalls::Custom(_) => None,
            })
            .collect();
        if calls.is_empty() {
            if nudged && !was_cut {
                break Outcome::Failed {
                    reason: stopped_reason(turn.message.content.as_deref(), run.tool_calls),
                    draft: run.last_draft.clone(),
                };
            }
            if was_cut {
                messages.push(ChatCompletionRequestUserMessage::from(CUT_OFF_NOTE).into());
                continue;
            }
            nudged = true;
            messages.push(
                ChatCompletionRequestUserMessage::from(format!(
                    "Nothing has been written. Investigate with the tools if needed, then call `{SUBMIT_TOOL}` with the whole document."
                ))
                .into(),
            );
            continue;
        }
        for call in &calls {
            if controls.cancel.is_cancelled() {
                break 'run Outcome::Failed {
                    reason: INTERRUPTED.into(),
                    draft: run.last_draft.clone(),
                };
            }
            match run.call(call, on_event)? {
                CallOutcome::Answer(text) => messages.push(
                    ChatCompletionRequestToolMessage {
                        content: ChatCompletionRequestToolMessageContent::Text(text),
                        tool_call_id: call.id.clone(),
                    }
                    .into(),
                ),
                CallOutcome::Done(outcome) => break 'run outcome,
                CallOutcome::Stop(reason) => {
                    break 'run Outcome::Failed {
                        reason,
                        draft: run.last_draft.clone(),
                    };
                }
            }
        }
        if was_cut {
            // Its calls' arguments are likely cut short too: say why, not only that they
            // are not JSON.
            messages.push(ChatCompletionRequestUserMessage::from(CUT_OFF_NOTE).into());
        }
    };
    if let Outcome::Failed { reason, .. } = &outcome {
        on_event(&Event::Stopped {
            reason: reason.clone(),
        });
    }
    let report = RunReport {
        outcome,
        run_dir: run.log.dir.clone(),
        model: model.name(),
        turns,
        tool_calls: run.tool_calls,
        prompt_tokens,
        completion_tokens,
    };
    run.log
        .record(&json!({"type": "outcome", "report": report}))?;
    run.log.finish(&report)?;
    Ok(report)
}

fn model_failure(e: &ModelError) -> String {
    format!("model error: {e}")
}

#[cfg(test)]
mod tests {
    /// A model learns what each tool is for from the system prompt as well as from its
    /// schema: a tool added to the registry is named there too.
    #[test]
    fn the_system_prompt_names_every_repository_tool() {
        for name in crate::tools::Registry::standard().names() {
            assert!(
                super::SYSTEM_PROMPT.contains(&format!("`{name}`")),
                "prompts/system.md does not name `{name}`"
            );
        }
    }

    #[test]
    fn a_stop_reports_the_models_last_words_on_one_clean_line() {
        assert_eq!(
            super::stopped_reason(None, 3),
            "the model stopped without submitting a valid document"
        );
        assert_eq!(
            super::stopped_reason(Some("I could not\n\ttrace it \u{1b}[31m"), 3),
            "the model stopped without submitting a valid document; it said: \"I could not trace it [31m\""
        );
        let long = "x".repeat(super::LAST_WORDS_CHARS + 5);
        assert!(super::stopped_reason(Some(&long), 3).ends_with("x...\""));
        let never = super::stopped_reason(Some("Here is the postmortem."), 0);
        assert!(
            never.starts_with("the model stopped without submitting a valid document, and without calling any tool; "),
            "{never}"
        );
        assert!(never.contains("--jinja"), "{never}");
        assert!(
            never.ends_with("; it said: \"Here is the postmortem.\""),
            "{never}"
        );
    }
}
