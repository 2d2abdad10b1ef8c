//! Record and replay: real-model transcripts that run in CI with no network.
//!
//! [`Recorder`] wraps any model and saves each exchange as `<key>.json` in a folder, where the
//! key is the SHA-256 of the request in a normal form: the `model` field emptied and every
//! occurrence of the run's envelope boundary (the 32 hex digits after `<<<REPOSITORY DATA `
//! in the system prompt, random per run) replaced by a fixed token. [`ReplayModel`] answers
//! from such a folder; a request with no recording fails with a message naming the case, the
//! turn and the key.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use async_openai::types::chat::{
    ChatCompletionResponseMessage, CompletionUsage, CreateChatCompletionRequest,
};
use regex::Regex;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Model, ModelError, ModelFuture, ModelTurn};

/// What replaces the envelope boundary before hashing.
pub const BOUNDARY_TOKEN: &str = "BOUNDARY";

/// One saved exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Recording {
    /// The case (or run label) it was recorded for.
    pub case: String,
    pub turn: u32,
    pub key: String,
    /// The model that answered.
    pub model: String,
    pub message: ChatCompletionResponseMessage,
    #[serde(default)]
    pub usage: Option<CompletionUsage>,
    #[serde(default)]
    pub finish_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
}

fn boundary_regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"<<<REPOSITORY DATA ([0-9a-f]{32})>>>").unwrap_or_else(|_| unreachable!())
    })
}

/// The request's key: SHA-256 (hex) of its normal form.
pub fn request_key(request: &CreateChatCompletionRequest) -> String {
    let mut value = serde_json::to_value(request).unwrap_or(serde_json::Value::Null);
    if let Some(o) = value.as_object_mut() {
        o.insert("model".into(), serde_json::Value::String(String::new()));
    }
    let mut text = value.to_string();
    let boundaries: Vec<String> = boundary_regex()
        .captures_iter(&text)
        .filter_map(|c| c.get(1).map(|m| m.as_str().to_string()))
        .collect();
    for b in boundaries {
        text = text.replace(&b, BOUNDARY_TOKEN);
    }
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The turn of a request: assistant messages so far, plus one.
fn turn_of(request: &CreateChatCompletionRequest) -> u32 {
    let n = request
        .messages
        .iter()
        .filter(|m| {
            matches!(
                m,
                async_openai::types::chat::ChatCompletionRequestMessage::Assistant(_)
            )
        })
        .count();
    u32::try_from(n).unwrap_or(u32::MAX).saturating_add(1)
}

/// Saves every exchange of the wrapped model in `dir`.
pub struct Recorder {
    inner: Box<dyn Model>,
    dir: PathBuf,
    case: String,
}

impl Recorder {
    pub fn new(inner: Box<dyn Model>, dir: &Path, case: &str) -> Recorder {
        Recorder {
            inner,
            dir: dir.to_path_buf(),
            case: case.to_string(),
        }
    }
}

impl Model for Recorder {
    fn name(&self) -> String {
        self.inner.name()
    }

    fn next<'a>(&'a mut self, request: &'a CreateChatCompletionRequest) -> ModelFuture<'a> {
        Box::pin(async move {
            let turn = self.inner.next(request).await?;
            let key = request_key(request);
            let rec = Recording {
                case: self.case.clone(),
                turn: turn_of(request),
                key: key.clone(),
                model: self.inner.name(),
                message: turn.message.clone(),
                usage: turn.usage.clone(),
                finish_reason: turn.finish_reason.clone(),
                reasoning: turn.reasoning.clone(),
            };
            let path = self.dir.join(format!("{key}.json"));
            std::fs::create_dir_all(&self.dir)
                .and_then(|()| {
                    std::fs::write(
                        &path,
                        serde_json::to_string_pretty(&rec).unwrap_or_default(),
                    )
                })
                .map_err(|e| {
                    ModelError::Config(format!("cannot save the recording {}: {e}", path.display()))
                })?;
            Ok(turn)
        })
    }
}

/// Answers from recordings; never touches the network.
pub struct ReplayModel {
    dir: PathBuf,
    case: String,
}

impl ReplayModel {
    /// Recordings in `dir`; `case` names the run in error messages.
    pub fn new(dir: &Path, case: &str) -> ReplayModel {
        ReplayModel {
            dir: dir.to_path_buf(),
            case: case.to_string(),
        }
    }

    fn answer(&self, request: &CreateChatCompletionRequest) -> Result<ModelTurn, ModelError> {
        let key = request_key(request);
        let turn = turn_of(request);
        let path = self.dir.join(format!("{key}.json"));
        let text = std::fs::read_to_string(&path).map_err(|_| {
            ModelError::Config(format!(
                "replay: no recording for case `{}`, turn {turn} (request {}) in {}; record it with `skillrun eval --record DIR --model MODEL`",
                self.case,
                &key[..16],
                self.dir.display()
            ))
        })?;
        let rec: Recording = serde_json::from_str(&text).map_err(|e| {
            ModelError::Config(format!(
                "replay: {} is not a recording: {e}",
                path.display()
            ))
        })?;
        Ok(ModelTurn {
            message: rec.message,
            usage: rec.usage,
            finish_reason: rec.finish_reason,
            reasoning: rec.reasoning,
        })
    }
}

impl Model for ReplayModel {
    fn name(&self) -> String {
        format!("replay:{}", self.dir.display())
    }

    fn next<'a>(&'a mut self, request: &'a CreateChatCompletionRequest) -> ModelFuture<'a> {
        let answer = self.answer(request);
        Box::pin(async move { answer })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_openai::types::chat::ChatCompletionRequestSystemMessage;

    fn request(boundary: &str, model: &str) -> CreateChatCompletionRequest {
        CreateChatCompletionRequest {
            model: model.into(),
            messages: vec![
                ChatCompletionRequestSystemMessage::from(
                    format!("data between <<<REPOSITORY DATA {boundary}>>> and <<<END REPOSITORY DATA {boundary}>>>").as_str(),
                )
                .into(),
            ],
            ..Default::default()
        }
    }

    #[test]
    fn the_key_ignores_the_boundary_and_the_model_name() {
        let a = request("0123456789abcdef0123456789abcdef", "openai:x");
        let b = request("fedcba9876543210fedcba9876543210", "replay:dir");
        assert_eq!(request_key(&a), request_key(&b));
        let mut c = request("0123456789abcdef0123456789abcdef", "x");
        c.temperature = Some(0.5);
        assert_ne!(request_key(&a), request_key(&c));
    }
}
