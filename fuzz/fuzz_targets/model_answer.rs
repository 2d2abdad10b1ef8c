//! Any bytes as a model server's answer, read as a run reads one: the first byte picks
//! whether the rest is the whole answer (JSON) or the text of the assistant's message inside
//! an answer's outline (where tool calls written as text are looked for). Never a panic;
//! whatever has a message afterwards parses whole as async-openai's response type, with
//! every tool call holding a non-empty id, unique in the answer, and non-empty arguments.
#![no_main]

use std::collections::HashSet;

use async_openai::types::chat::{ChatCompletionMessageToolCalls, CreateChatCompletionResponse};
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};
use skillrun::model::compat::normalize;

const TOOLS: [&str; 3] = ["git_log", "read_file", "submit_document"];

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut answer = if mode % 2 == 0 {
        let Ok(v) = serde_json::from_slice::<Value>(rest) else {
            return;
        };
        v
    } else {
        let text = String::from_utf8_lossy(rest);
        json!({"choices": [{"message": {"role": "assistant", "content": text}}]})
    };
    normalize(&mut answer, 1, &TOOLS, &mut HashSet::new());
    if answer.pointer("/choices/0/message").is_none_or(|m| !m.is_object()) {
        return;
    }
    let read: CreateChatCompletionResponse = serde_json::from_value(answer.clone())
        .unwrap_or_else(|e| panic!("{answer} does not read: {e}"));
    let mut ids = HashSet::new();
    for choice in &read.choices {
        for call in choice.message.tool_calls.iter().flatten() {
            if let ChatCompletionMessageToolCalls::Function(f) = call {
                assert!(!f.id.is_empty(), "{answer}");
                assert!(ids.insert(f.id.clone()), "id used twice: {answer}");
                assert!(!f.function.arguments.trim().is_empty(), "{answer}");
            }
        }
    }
});
