//! Models: whatever answers a chat-completions request with text or tool calls.
//!
//! The conversation is kept in the OpenAI chat-completions wire format (async-openai's
//! types), so every backend, the transcript and recordings share one shape. The agent loop
//! asks a [`Model`] for the next assistant message; backends differ only in how they answer.

pub mod adversary;
pub mod compat;
pub mod offline;
pub mod openai;
pub mod replay;

use std::future::Future;
use std::pin::Pin;

use async_openai::types::chat::{
    ChatCompletionMessageToolCall, ChatCompletionMessageToolCalls, ChatCompletionResponseMessage,
    CompletionUsage, CreateChatCompletionRequest, FunctionCall, Role,
};
use serde_json::Value;

pub use openai::{OpenAiModel, RetryPolicy};

/// A failed request that is about to be made again.
#[derive(Debug, Clone, PartialEq)]
pub struct Retrying {
    /// The attempt that failed, from 1.
    pub attempt: u32,
    /// Attempts allowed in all.
    pub attempts: u32,
    /// How long until the next one.
    pub wait: std::time::Duration,
    /// Why the attempt failed.
    pub why: String,
}

/// Told of each [`Retrying`], so that a run waiting on a server that does not answer says
/// so rather than sitting silent.
#[derive(Clone)]
pub struct RetryHook(pub std::sync::Arc<dyn Fn(&Retrying) + Send + Sync>);

impl std::fmt::Debug for RetryHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetryHook")
    }
}

/// One answer of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTurn {
    pub message: ChatCompletionResponseMessage,
    pub usage: Option<CompletionUsage>,
    pub finish_reason: Option<String>,
    /// The thinking a reasoning model sent beside its message, kept for the transcript.
    pub reasoning: Option<String>,
}

/// An assistant turn calling `calls` (name, arguments), for the scripted models. Ids are
/// `{prefix}_{turn}_{i}`: unique within a conversation when `turn` counts the turns.
pub fn tool_call_turn(prefix: &str, turn: usize, calls: Vec<(&str, Value)>) -> ModelTurn {
    let tool_calls = calls
        .into_iter()
        .enumerate()
        .map(|(i, (name, args))| {
            ChatCompletionMessageToolCalls::Function(ChatCompletionMessageToolCall {
                id: format!("{prefix}_{turn}_{i}"),
                function: FunctionCall {
                    name: name.to_string(),
                    arguments: args.to_string(),
                },
            })
        })
        .collect();
    assistant_turn(None, Some(tool_calls), "tool_calls")
}

/// An assistant turn that only says `text` (and so ends the model's part).
pub fn text_turn(text: &str) -> ModelTurn {
    assistant_turn(Some(text.to_string()), None, "stop")
}

fn assistant_turn(
    content: Option<String>,
    tool_calls: Option<Vec<ChatCompletionMessageToolCalls>>,
    finish: &str,
) -> ModelTurn {
    #[allow(
        deprecated,
        reason = "async-openai's struct still carries the deprecated function_call field"
    )]
    let message = ChatCompletionResponseMessage {
        content,
        refusal: None,
        tool_calls,
        annotations: None,
        role: Role::Assistant,
        function_call: None,
        audio: None,
    };
    ModelTurn {
        message,
        usage: None,
        finish_reason: Some(finish.to_string()),
        reasoning: None,
    }
}

/// Why a model could not answer. Messages say what to do; none carries an API key.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("the model server refused the credentials (HTTP 401): check OPENAI_API_KEY for {url}")]
    Unauthorized { url: String },
    #[error("the model server says the account has no quota left (HTTP {status}): {message}")]
    Quota { status: u16, message: String },
    #[error("model `{model}` was not found at {url} (HTTP 404): check --model{hint}")]
    ModelNotFound {
        model: String,
        url: String,
        hint: String,
    },
    #[error("the model server rejected the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("the model server kept failing after {attempts} attempts; last: {last}")]
    Unavailable { attempts: u32, last: String },
    #[error("the model server's answer is not a chat completion: {0}")]
    BadResponse(String),
    /// The server's TLS certificate is not one this machine trusts; retrying cannot help.
    #[error(
        "the model server's certificate is not trusted ({url}): {why}; if a proxy inspects TLS, name its certificate authority in SSL_CERT_FILE"
    )]
    Certificate { url: String, why: String },
    /// The model's chat template has no system role (Gemma 2, some Mistral templates).
    #[error("the model takes no system message (HTTP {status}): {message}")]
    NoSystemRole { status: u16, message: String },
    /// The request was refused as longer than the model's context window.
    #[error(
        "the conversation does not fit the model's context window (HTTP {status}): {message}; give the model a larger context window (for a local server, its context-size setting)"
    )]
    ContextFull { status: u16, message: String },
    /// The server hands this model no tools: the model has no tool-calling template, or the
    /// server was started without tool calling. A run cannot go on without tools.
    #[error(
        "the model server offers this model no tool calling (HTTP {status}): {message}; a run needs it: choose a model made for tool use (Ollama's library marks them `tools`), start llama.cpp's server with --jinja or vLLM with --enable-auto-tool-choice and --tool-call-parser, or run with --model offline, which needs no server"
    )]
    NoTools { status: u16, message: String },
    #[error("{0}")]
    Config(String),
}

/// A boxed future, so backends can live behind `dyn Model`.
pub type ModelFuture<'a> = Pin<Box<dyn Future<Output = Result<ModelTurn, ModelError>> + Send + 'a>>;

/// A chat model that may call tools.
pub trait Model: Send {
    /// A short name for logs and transcripts (`openai:gpt-4o`).
    fn name(&self) -> String;
    /// The next assistant message for `request`.
    fn next<'a>(&'a mut self, request: &'a CreateChatCompletionRequest) -> ModelFuture<'a>;
}

/// The `--model` choices.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSpec {
    /// The deterministic investigator that needs no server.
    Offline,
    /// Any OpenAI-compatible server; `base_url` defaults to `OPENAI_BASE_URL` or OpenAI.
    OpenAi { model: String },
    /// Ollama's OpenAI-compatible endpoint on this machine.
    Ollama { model: String },
    /// Recorded exchanges in a folder.
    Replay { dir: String },
}

/// Ollama's OpenAI-compatible endpoint.
pub const OLLAMA_BASE_URL: &str = "http://localhost:11434/v1";
/// OpenAI's endpoint, when neither `--base-url` nor `OPENAI_BASE_URL` says otherwise.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";

impl std::str::FromStr for ModelSpec {
    type Err = ModelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            // What was probably meant: a bare model name is a server's model, and a bare
            // kind lacks its model.
            let hint = match s.split_once(':') {
                None if matches!(s, "openai" | "ollama") => {
                    format!("; name the model, e.g. {s}:{}", example_model(s))
                }
                None if s == "replay" => "; name the folder, e.g. replay:recordings".into(),
                Some((kind @ ("openai" | "ollama" | "replay"), "")) => {
                    format!(
                        "; name the {} after `{kind}:`",
                        if kind == "replay" { "folder" } else { "model" }
                    )
                }
                // `llama3:8b`, a tagged model name, is a model too.
                _ if !s.is_empty() => {
                    format!("; for a model named {s:?}, give openai:{s} or ollama:{s}")
                }
                _ => String::new(),
            };
            ModelError::Config(format!(
                "--model {s:?} is not one of: offline, openai:MODEL, ollama:MODEL, replay:DIR{hint}"
            ))
        };
        match s.split_once(':') {
            None if s == "offline" => Ok(ModelSpec::Offline),
            Some(("openai", m)) if !m.is_empty() => Ok(ModelSpec::OpenAi {
                model: m.to_string(),
            }),
            Some(("ollama", m)) if !m.is_empty() => Ok(ModelSpec::Ollama {
                model: m.to_string(),
            }),
            // Checked here, so that a wrong folder is a usage error before any run.
            Some(("replay", d)) if !d.is_empty() && !std::path::Path::new(d).is_dir() => {
                Err(ModelError::Config(format!(
                    "replay: {d} is not a folder of recordings; record one with `skillrun eval --record {d}`"
                )))
            }
            Some(("replay", d)) if !d.is_empty() => Ok(ModelSpec::Replay { dir: d.to_string() }),
            _ => Err(bad()),
        }
    }
}

/// A model name to show in an example of the `kind:MODEL` form.
fn example_model(kind: &str) -> &'static str {
    if kind == "ollama" {
        "qwen2.5-coder"
    } else {
        "gpt-4o"
    }
}

/// How to reach a model, besides its spec.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// `--base-url`; for `openai:` the default is `$OPENAI_BASE_URL`, else OpenAI's.
    pub base_url: Option<String>,
    pub retry: RetryPolicy,
    /// For the offline investigator: mark the guardrail item done (the runtime writes it).
    pub apply_guardrails: bool,
    /// For `replay:DIR`: the sub-folder and the name recordings are kept under.
    pub replay_case: Option<(String, String)>,
    /// For a model behind a server: told of each request that failed and is made again.
    pub on_retry: Option<RetryHook>,
}

impl ModelSpec {
    /// The model this spec names. The API key comes from `OPENAI_API_KEY`, never from a
    /// flag or a file.
    pub fn build(&self, conn: &Connection) -> Result<Box<dyn Model>, ModelError> {
        Ok(match self {
            ModelSpec::Offline => Box::new(offline::OfflineModel::new(conn.apply_guardrails)),
            ModelSpec::Replay { dir } => {
                let (sub, case) = conn
                    .replay_case
                    .clone()
                    .unwrap_or_else(|| (String::new(), "run".to_string()));
                Box::new(replay::ReplayModel::new(
                    &std::path::Path::new(dir).join(sub),
                    &case,
                ))
            }
            ModelSpec::OpenAi { model } => {
                let base = conn
                    .base_url
                    .clone()
                    .or_else(|| std::env::var("OPENAI_BASE_URL").ok())
                    .unwrap_or_else(|| OPENAI_BASE_URL.to_string());
                let key = std::env::var("OPENAI_API_KEY")
                    .ok()
                    .filter(|k| !k.trim().is_empty());
                // OpenAI's own endpoint answers nothing without a key: say so before the
                // first request. Local servers (vLLM, llama.cpp, LM Studio) need none.
                if key.is_none() && base.trim_end_matches('/') == OPENAI_BASE_URL {
                    return Err(ModelError::Config(format!(
                        "OPENAI_API_KEY is not set, and {OPENAI_BASE_URL} needs it: export it, give --base-url for another OpenAI-compatible server (e.g. http://localhost:8000/v1), or run with --model offline"
                    )));
                }
                Box::new(
                    OpenAiModel::new(&base, model, key, conn.retry.clone())?
                        .with_retry_hook(conn.on_retry.clone()),
                )
            }
            ModelSpec::Ollama { model } => {
                let base = conn
                    .base_url
                    .clone()
                    .unwrap_or_else(|| OLLAMA_BASE_URL.to_string());
                Box::new(
                    OpenAiModel::new(&base, model, None, conn.retry.clone())?
                        .with_retry_hook(conn.on_retry.clone())
                        .labelled("ollama"),
                )
            }
        })
    }
}

impl std::fmt::Display for ModelSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelSpec::Offline => f.write_str("offline"),
            ModelSpec::OpenAi { model } => write!(f, "openai:{model}"),
            ModelSpec::Ollama { model } => write!(f, "ollama:{model}"),
            ModelSpec::Replay { dir } => write!(f, "replay:{dir}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Connection, ModelSpec};

    #[test]
    fn a_model_spec_that_is_not_one_says_what_was_likely_meant() {
        for (given, hint) in [
            (
                "gpt-4o",
                "; for a model named \"gpt-4o\", give openai:gpt-4o or ollama:gpt-4o",
            ),
            (
                "llama3:8b",
                "; for a model named \"llama3:8b\", give openai:llama3:8b or ollama:llama3:8b",
            ),
            ("ollama", "; name the model, e.g. ollama:qwen2.5-coder"),
            ("openai:", "; name the model after `openai:`"),
            ("replay:", "; name the folder after `replay:`"),
        ] {
            let err = given.parse::<ModelSpec>().expect_err(given).to_string();
            assert!(err.ends_with(hint), "{given}: {err}");
        }
        assert!(matches!("offline".parse(), Ok(ModelSpec::Offline)));
    }

    #[test]
    fn a_model_is_named_as_its_spec() {
        for spec in ["ollama:qwen2.5-coder", "openai:gpt-4o"] {
            let model = spec
                .parse::<ModelSpec>()
                .expect("spec")
                .build(&Connection {
                    base_url: Some("http://127.0.0.1:9/v1".into()),
                    ..Connection::default()
                })
                .expect("model");
            assert_eq!(model.name(), spec);
        }
    }
}
