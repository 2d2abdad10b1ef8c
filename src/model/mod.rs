//! Models: whatever answers a chat-completions request with text or tool calls.
//!
//! The conversation is kept in the OpenAI chat-completions wire format (async-openai's
//! types), so every backend, the transcript and recordings share one shape. The agent loop
//! asks a [`Model`] for the next assistant message; backends differ only in how they answer.

pub mod adversary;
pub mod offline;
pub mod openai;
pub mod replay;

use std::future::Future;
use std::pin::Pin;

use async_openai::types::chat::{
    ChatCompletionResponseMessage, CompletionUsage, CreateChatCompletionRequest,
};

pub use openai::{OpenAiModel, RetryPolicy};

/// One answer of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelTurn {
    pub message: ChatCompletionResponseMessage,
    pub usage: Option<CompletionUsage>,
    pub finish_reason: Option<String>,
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
            ModelError::Config(format!(
                "--model {s:?} is not one of: offline, openai:MODEL, ollama:MODEL, replay:DIR"
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
            Some(("replay", d)) if !d.is_empty() => Ok(ModelSpec::Replay { dir: d.to_string() }),
            _ => Err(bad()),
        }
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
