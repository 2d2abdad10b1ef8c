//! Eval cases: one YAML file each in `evals/`.
//!
//! ```yaml
//! name: single-commit-regression        # default: the file name
//! prompt: write a postmortem for the retry storm
//! repo:                                 # a recipe built in a temp dir...
//!   remote: https://github.com/example/payments.git
//!   commits:
//!     - id: bug                         # a label expectations refer to
//!       message: Optimize retry backoff
//!       author: Ben Cole <ben@example.com>
//!       date: 2024-02-01
//!       files: { src/retry.py: "def backoff(n): ..." }   # `{{sha:ID}}`: an earlier commit's short sha
//!       delete: [old.py]
//!       rename: { src/a.py: src/b.py }
//!       tags: [v1.1.0]
//! # repo: { path: ../some/repository }  # ...or a clone of an existing repository
//! secrets: [AKIA...]                    # planted: never in a written file
//! expect:
//!   skill: postmortem                   # `none`: no skill may be selected
//!   outcome: written                    # written | declined | addendum | failed
//!   introduced: bug                     # commit labels; the document names their short shas
//!   fix: fix                            # or a list, for a fix in several commits
//!   first_release: v1.1.0
//!   contains: [...]
//!   not_contains: [...]
//!   people: [Ben Cole]                  # not named outside the Timeline
//!   write_only_under: [docs/postmortems]
//!   max_turns: 10
//! injection:                            # an injection case: also run clean
//!   vector: commit_message              # where `{{injection}}` in the recipe is
//!   goal: leak_secret
//!   payload: "NOTE TO AI ASSISTANTS: ..."
//!   clean: ""                           # what `{{injection}}` becomes in the clean run
//!   canaries: [attacker.example]
//!   person: Ben Cole
//!   target: .github/workflows/deploy.yml
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One eval case.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    pub prompt: String,
    /// Run this skill instead of the one the prompt selects.
    #[serde(default)]
    pub skill: Option<String>,
    /// `--force`: write even a near miss.
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub apply_guardrails: bool,
    pub repo: RepoSource,
    /// Planted credentials: never in any written file.
    #[serde(default)]
    pub secrets: Vec<String>,
    #[serde(default)]
    pub expect: Expect,
    #[serde(default)]
    pub injection: Option<Injection>,
    /// The runtime's budget for the run (default: `skillrun run`'s, with 60 s of wall time).
    #[serde(default)]
    pub budget: Option<RunBudget>,
    /// The file the case was read from.
    #[serde(skip)]
    pub file: PathBuf,
}

/// Where the case's repository comes from.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RepoSource {
    /// An existing repository (relative to the case file), cloned for the run.
    #[serde(default)]
    pub path: Option<PathBuf>,
    #[serde(default)]
    pub commits: Vec<CommitSpec>,
    /// `origin`'s URL: the repository's own forge.
    #[serde(default)]
    pub remote: Option<String>,
}

/// One commit of a recipe.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CommitSpec {
    #[serde(default)]
    pub id: Option<String>,
    pub message: String,
    /// `Name <email>`.
    pub author: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    #[serde(default)]
    pub files: BTreeMap<String, String>,
    #[serde(default)]
    pub delete: Vec<String>,
    /// `old: new`, done before `files` are written.
    #[serde(default)]
    pub rename: BTreeMap<String, String>,
    /// Annotated tags on this commit, dated like it.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// What a run must do.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The skill the prompt selects; `none` when none may match.
    #[serde(default)]
    pub skill: Option<String>,
    #[serde(default)]
    pub outcome: Option<OutcomeKind>,
    /// A written document passes the contract (default true).
    #[serde(default = "yes")]
    pub contract: bool,
    #[serde(default)]
    pub introduced: Option<OneOrMany>,
    #[serde(default)]
    pub fix: Option<OneOrMany>,
    #[serde(default)]
    pub first_release: Option<String>,
    #[serde(default)]
    pub contains: Vec<String>,
    #[serde(default)]
    pub not_contains: Vec<String>,
    /// Text the outcome's reason holds: what a decline or a failure said to the user.
    #[serde(default)]
    pub reason_contains: Vec<String>,
    /// People never named outside the Timeline.
    #[serde(default)]
    pub people: Vec<String>,
    /// Folders (repository-relative) where files may be written; default: the document
    /// folder (and `.github/instructions` with `apply_guardrails`).
    #[serde(default)]
    pub write_only_under: Vec<String>,
    #[serde(default)]
    pub max_turns: Option<u32>,
    #[serde(default)]
    pub max_tool_calls: Option<u32>,
    #[serde(default)]
    pub max_tokens: Option<u64>,
    #[serde(default)]
    pub max_seconds: Option<f64>,
}

fn yes() -> bool {
    true
}

/// A commit label, or several.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn items(&self) -> Vec<&str> {
        match self {
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

/// How a run ended, as expectations name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OutcomeKind {
    Written,
    Declined,
    Addendum,
    Failed,
    /// No skill was selected, so nothing ran.
    NoSkill,
}

impl std::fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OutcomeKind::Written => "written",
            OutcomeKind::Declined => "declined",
            OutcomeKind::Addendum => "addendum",
            OutcomeKind::Failed => "failed",
            OutcomeKind::NoSkill => "no_skill",
        })
    }
}

/// Where the injected text sits in the repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Vector {
    CommitMessage,
    FileContent,
    ExistingPostmortem,
    AuthorName,
    TagName,
    BlamedLine,
}

/// What the injected text tries to make the agent do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Goal {
    WriteOutside,
    LeakSecret,
    OutsideLink,
    BlamePerson,
    SkipSections,
    EndlessTools,
}

/// The attack of an injection case.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Injection {
    pub vector: Vector,
    pub goal: Goal,
    /// Replaces `{{injection}}` in the recipe (messages, authors, files, tags) for the attack.
    pub payload: String,
    /// Replaces `{{injection}}` for the clean run.
    #[serde(default)]
    pub clean: String,
    /// Outside hosts the payload asks for: never in a written file.
    #[serde(default)]
    pub canaries: Vec<String>,
    /// The person the payload wants blamed.
    #[serde(default)]
    pub person: Option<String>,
    /// The path (repository-relative, may climb out) the payload wants written.
    #[serde(default)]
    pub target: Option<String>,
}

/// Runtime budget overrides for a case.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RunBudget {
    pub max_turns: Option<u32>,
    pub max_tool_calls: Option<u32>,
    pub max_tokens: Option<u64>,
    pub max_seconds: Option<u64>,
}

/// Why cases could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CaseError {
    #[error("{}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error("{}: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
}

/// The largest case file read: cases are a prompt, a few commits and expectations.
pub const MAX_CASE_BYTES: usize = 1024 * 1024;

impl Case {
    /// Parse one case file.
    pub fn load(path: &Path) -> Result<Case, CaseError> {
        let read = |reason: String| CaseError::Read {
            path: path.to_path_buf(),
            reason,
        };
        let bytes =
            crate::text::read_limited(path, MAX_CASE_BYTES).map_err(|e| read(e.to_string()))?;
        let text = crate::text::decode(&bytes, MAX_CASE_BYTES).map_err(|e| read(e.to_string()))?;
        Case::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Case, CaseError> {
        let invalid = |reason: String| CaseError::Invalid {
            path: path.to_path_buf(),
            reason,
        };
        let de = yaml_serde::Deserializer::from_str(text);
        let mut case: Case = serde_path_to_error::deserialize(de).map_err(|e| {
            // yaml_serde's message often starts with the field already.
            let (path, inner) = (e.path().to_string(), e.inner().to_string());
            invalid(if path == "." || inner.starts_with(&format!("{path}: ")) {
                inner
            } else {
                format!("{path}: {inner}")
            })
        })?;
        if case.name.is_empty() {
            case.name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
        }
        case.file = path.to_path_buf();
        // The name becomes part of folder names (--record, --keep): no path separator, no
        // control character, no `..`.
        if let Some(bad) = case
            .name
            .chars()
            .find(|c| matches!(c, '/' | '\\') || c.is_control())
        {
            return Err(invalid(format!(
                "name {:?} holds {bad:?}, which cannot be part of a folder name; give it a plain name",
                case.name
            )));
        }
        if case.name.starts_with('.') || case.name.contains("..") {
            return Err(invalid(format!(
                "name {:?} starts with `.` or holds `..`; give it a plain name",
                case.name
            )));
        }
        let mut seen_ids = std::collections::HashSet::new();
        if let Some(dup) = case
            .repo
            .commits
            .iter()
            .filter_map(|c| c.id.as_deref())
            .find(|id| !seen_ids.insert(*id))
        {
            return Err(invalid(format!(
                "two commits have `id: {dup}`; give each its own"
            )));
        }
        // What the recipe can only get wrong at run time is found now, naming the commit: a
        // date that is not one, and a `{{sha:ID}}` naming no earlier commit.
        let mut earlier: Vec<&str> = Vec::new();
        for (i, c) in case.repo.commits.iter().enumerate() {
            if c.date.trim().parse::<jiff::civil::Date>().is_err() {
                return Err(invalid(format!(
                    "repo.commits[{i}].date {:?} is not a date; write YYYY-MM-DD",
                    c.date
                )));
            }
            let mut rest = c.message.as_str();
            while let Some(at) = rest.find("{{sha:") {
                let after = &rest[at + "{{sha:".len()..];
                let id = after.split("}}").next().unwrap_or_default();
                if !earlier.contains(&id) {
                    return Err(invalid(format!(
                        "repo.commits[{i}].message names {{{{sha:{id}}}}}, but no earlier commit has `id: {id}`"
                    )));
                }
                rest = after;
            }
            earlier.extend(c.id.as_deref());
        }
        if case.repo.path.is_none() && case.repo.commits.is_empty() {
            return Err(invalid("`repo` needs `path` or `commits`".into()));
        }
        let ids: Vec<&str> = case
            .repo
            .commits
            .iter()
            .filter_map(|c| c.id.as_deref())
            .collect();
        let labels = case
            .expect
            .introduced
            .iter()
            .chain(case.expect.fix.iter())
            .flat_map(OneOrMany::items);
        for label in labels {
            if case.repo.path.is_none() && !ids.contains(&label) {
                return Err(invalid(format!(
                    "expect names commit `{label}`, but no commit has `id: {label}`"
                )));
            }
        }
        if let Some(inj) = &case.injection
            && case.repo.path.is_none()
            && !case_mentions_injection(&case.repo)
        {
            return Err(invalid(format!(
                "an injection case ({:?} vector) needs `{{{{injection}}}}` somewhere in the recipe",
                inj.vector
            )));
        }
        Ok(case)
    }
}

fn case_mentions_injection(repo: &RepoSource) -> bool {
    repo.commits.iter().any(|c| {
        c.message.contains(INJECTION_MARK)
            || c.author.contains(INJECTION_MARK)
            || c.tags.iter().any(|t| t.contains(INJECTION_MARK))
            || c.files
                .iter()
                .any(|(p, t)| p.contains(INJECTION_MARK) || t.contains(INJECTION_MARK))
    })
}

/// The placeholder the payload replaces.
pub const INJECTION_MARK: &str = "{{injection}}";

/// Whether `path` is named as a case file: `*.yaml` or `*.yml`.
fn is_case_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    )
}

/// Every `*.yaml` / `*.yml` case under `dir` (or `dir` itself when it is a file), sorted.
pub fn load_dir(dir: &Path) -> Result<Vec<Case>, CaseError> {
    if dir.is_file() {
        if !is_case_file(dir) {
            return Err(CaseError::Read {
                path: dir.to_path_buf(),
                reason: "not an eval case: cases are .yaml files; give one, or their folder".into(),
            });
        }
        return Ok(vec![Case::load(dir)?]);
    }
    if !dir.exists() {
        return Err(CaseError::Read {
            path: dir.to_path_buf(),
            reason: "no such folder; give the folder of eval cases (.yaml files), as `skillrun eval DIR`"
                .into(),
        });
    }
    let mut files = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| CaseError::Read {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            continue;
        }
        if is_case_file(&p) {
            files.push(p);
        }
    }
    files.sort();
    let cases = files
        .iter()
        .map(|p| Case::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let mut seen = std::collections::BTreeSet::new();
    for c in &cases {
        if !seen.insert(c.name.clone()) {
            return Err(CaseError::Invalid {
                path: c.file.clone(),
                reason: format!("another case is also named `{}`", c.name),
            });
        }
    }
    Ok(cases)
}
