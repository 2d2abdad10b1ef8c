//! What OpenAI-compatible servers answer that OpenAI's own schema does not allow, and the
//! tool schemas all of them accept.
//!
//! async-openai's response types follow OpenAI's schema to the letter, and one field out of
//! line fails the whole answer. Servers that call themselves compatible differ in small ways,
//! each of which used to end a run with "not a chat completion":
//!
//! - a `finish_reason` outside OpenAI's five (`eos_token` from text-generation-inference,
//!   `end_turn` through some routers, an empty string from some proxies);
//! - tool calls without `type`, or with an empty, missing or repeated `id` (some vLLM and
//!   Ollama versions, hosted aggregators);
//! - `arguments` sent as a JSON object instead of a string, or as `""` for a call without
//!   arguments;
//! - `content` as a list of parts (`[{"type": "text", "text": ...}]`, as Mistral's reasoning
//!   models send);
//! - no `id`, `created`, `object` or `role` (or a role other than the assistant's), or
//!   `usage` with counts missing;
//! - tool calls written as text in `content`, with `tool_calls` empty: models whose chat
//!   template the server does not parse (Ollama's qwen2.5-coder answers
//!   `{"name": "read_file", "arguments": {...}}`; Hermes-style models wrap the same in
//!   `<tool_call>` tags; Llama 3 names the arguments `parameters`).
//!
//! [`normalize`] puts these right on the JSON value before it is parsed, so a run goes on as
//! it would against OpenAI. What the model said is not changed: the text, the tool names and
//! the arguments' content are kept as sent.
//!
//! Some fields go the other way: what a server attaches to an answer outside OpenAI's
//! schema and refuses the next request without. DeepSeek's thinking mode sends
//! `reasoning_content` on the message ("Missing `reasoning_content` field in the assistant
//! message"), OpenRouter `reasoning_details`, and Gemini 3 a signature on each tool call
//! (`extra_content.google.thought_signature`: "Function call is missing a
//! thought_signature"). [`Carried`] keeps them from each answer and puts them back on the same
//! message and call in every later request to that server.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

/// The finish reasons async-openai parses.
const KNOWN_FINISH: [&str; 5] = [
    "stop",
    "length",
    "tool_calls",
    "content_filter",
    "function_call",
];

/// What a run keeps from answer to answer to read the next one and write the next request.
#[derive(Debug, Default)]
pub struct Session {
    /// Answers read so far, numbering the tool-call ids made up for servers that send none.
    answers: u64,
    /// The tool-call ids of the conversation: an id a server uses again is replaced, so each
    /// names one call.
    ids: HashSet<String>,
    /// What the answers carried outside OpenAI's schema.
    carried: Carried,
}

impl Session {
    /// Repairs `answer` ([`normalize`]), keeps what it carries ([`Carried::keep`]), and
    /// returns its finish reason as the server sent it.
    pub fn read(&mut self, answer: &mut Value, tools: &[&str]) -> Option<String> {
        self.answers += 1;
        let finish = normalize(answer, self.answers, tools, &mut self.ids);
        self.carried.keep(answer);
        finish
    }

    /// Puts back on `request` (serialised) what earlier answers carried.
    pub fn prepare(&self, request: &mut Value) {
        self.carried.put_back(request);
    }
}

/// Repairs `answer` (a parsed chat-completions response) in place and returns the first
/// choice's finish reason as the server sent it. `turn` numbers the answer within the run,
/// so the tool-call ids made up for it are new; `ids` holds the conversation's ids so far,
/// and gets this answer's. `tools` are the names the request offered: text in `content` is
/// read as tool calls only when it is nothing but calls of these.
pub fn normalize(
    answer: &mut Value,
    turn: u64,
    tools: &[&str],
    ids: &mut HashSet<String>,
) -> Option<String> {
    let obj = answer.as_object_mut()?;
    // Only what a run reads is kept, each in the type async-openai wants.
    obj.retain(|k, _| {
        ["id", "object", "created", "model", "choices", "usage"].contains(&k.as_str())
    });
    text_field(obj, "id", "");
    text_field(obj, "model", "");
    text_field(obj, "object", "chat.completion");
    // Seconds since 1970 as async-openai wants them (a u32); some servers send a float.
    let created = obj
        .get("created")
        .and_then(Value::as_f64)
        .filter(|c| c.is_finite() && *c >= 0.0 && *c <= f64::from(u32::MAX))
        .map_or(0, |c| c as u32);
    obj.insert("created".into(), Value::from(created));
    let usage = obj.get("usage").and_then(usage_counts);
    obj.insert("usage".into(), usage.unwrap_or(Value::Null));

    // A run asks for one choice and reads the first; the others are not repaired, so they go.
    let choices = obj.get_mut("choices").and_then(Value::as_array_mut)?;
    choices.truncate(1);
    let choice = choices.first_mut().and_then(Value::as_object_mut)?;
    choice.retain(|k, _| ["index", "message", "finish_reason"].contains(&k.as_str()));
    if !choice.get("index").is_some_and(Value::is_u64) {
        choice.insert("index".into(), Value::from(0));
    }
    let finish = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_string)
        .filter(|f| !f.is_empty());
    if !finish.as_deref().is_some_and(|f| KNOWN_FINISH.contains(&f)) {
        choice.insert("finish_reason".into(), Value::Null);
    }
    if let Some(message) = choice.get_mut("message").and_then(Value::as_object_mut) {
        message_fields(message, turn, tools, ids);
    }
    finish
}

/// When a message has no tool calls and its content is calls written as text, moves them to
/// `tool_calls`. Text inside `<tool_call>` tags is taken whatever surrounds it (the text
/// outside stays the content); otherwise the whole content, less a code fence around it,
/// must be call objects of offered tools, so an answer that only quotes or discusses one is
/// left alone.
fn calls_in_content(message: &mut Map<String, Value>, tools: &[&str]) {
    if message
        .get("tool_calls")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty())
    {
        return;
    }
    let Some(text) = message.get("content").and_then(Value::as_str) else {
        return;
    };
    let (calls, rest) = if text.contains(TAG_OPEN) {
        let mut calls = Vec::new();
        let mut rest = String::new();
        let mut tail = text;
        while let Some(start) = tail.find(TAG_OPEN) {
            rest.push_str(&tail[..start]);
            let inner = &tail[start + TAG_OPEN.len()..];
            let (body, after) = inner.find(TAG_CLOSE).map_or((inner, ""), |end| {
                (&inner[..end], &inner[end + TAG_CLOSE.len()..])
            });
            let Some(found) = call_objects(body, tools) else {
                return;
            };
            calls.extend(found);
            tail = after;
        }
        rest.push_str(tail);
        (calls, rest.trim().to_string())
    } else {
        match call_objects(without_fence(text), tools) {
            Some(calls) => (calls, String::new()),
            None => return,
        }
    };
    if calls.is_empty() {
        return;
    }
    message.insert("tool_calls".into(), Value::Array(calls));
    message.insert(
        "content".into(),
        if rest.is_empty() {
            Value::Null
        } else {
            Value::from(rest)
        },
    );
}

const TAG_OPEN: &str = "<tool_call>";
const TAG_CLOSE: &str = "</tool_call>";

/// The text inside one code fence that is all of `text`, or `text`.
fn without_fence(text: &str) -> &str {
    let t = text.trim();
    let Some(inner) = t.strip_prefix("```").and_then(|r| r.strip_suffix("```")) else {
        return t;
    };
    // The fence's language tag, if any, runs to the first line end.
    match inner.split_once('\n') {
        Some((tag, body)) if !tag.contains(['{', '[']) => body,
        _ => inner,
    }
}

/// `text` as one or more JSON call objects (or lists of them) naming offered tools, in the
/// wire shape of `tool_calls` entries; None when anything in it is something else.
fn call_objects(text: &str, tools: &[&str]) -> Option<Vec<Value>> {
    let mut calls = Vec::new();
    for value in serde_json::Deserializer::from_str(text).into_iter::<Value>() {
        let value = value.ok()?;
        let items = match value {
            Value::Array(items) => items,
            one => vec![one],
        };
        for item in items {
            let obj = item.as_object()?;
            let name = obj.get("name").and_then(Value::as_str)?;
            if !tools.contains(&name) {
                return None;
            }
            let arguments = obj
                .get("arguments")
                .or_else(|| obj.get("parameters"))
                .cloned()
                .unwrap_or(Value::Null);
            calls.push(serde_json::json!({
                "type": "function",
                "function": {"name": name, "arguments": arguments},
            }));
        }
    }
    Some(calls)
}

/// Makes `key` a string: `default` when it is missing or null, a number or other value as
/// its JSON text.
fn text_field(obj: &mut Map<String, Value>, key: &str, default: &str) {
    let text = match obj.get(key) {
        Some(Value::String(_)) => return,
        None | Some(Value::Null) => default.to_string(),
        Some(other) => other.to_string(),
    };
    obj.insert(key.into(), Value::from(text));
}

/// `usage` with its three counts, the missing ones worked out or zero; None when the server
/// gave no counts at all. The details some servers add in their own shapes are dropped: a
/// run reads only the counts.
fn usage_counts(usage: &Value) -> Option<Value> {
    let count = |k: &str| {
        usage
            .get(k)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
    };
    let (prompt, completion, total) = (
        count("prompt_tokens"),
        count("completion_tokens"),
        count("total_tokens"),
    );
    if prompt.is_none() && completion.is_none() && total.is_none() {
        return None;
    }
    let (prompt, completion) = (prompt.unwrap_or(0), completion.unwrap_or(0));
    let total = total.unwrap_or(prompt.saturating_add(completion));
    Some(serde_json::json!({
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total,
    }))
}

fn message_fields(
    message: &mut Map<String, Value>,
    turn: u64,
    tools: &[&str],
    ids: &mut HashSet<String>,
) {
    // An answer is the assistant's, whatever role a server writes on it.
    message.insert("role".into(), Value::from("assistant"));
    // Fields a run never reads, which servers fill in shapes of their own.
    for unread in ["annotations", "audio", "function_call"] {
        message.remove(unread);
    }
    if !message
        .get("refusal")
        .is_none_or(|r| r.is_string() || r.is_null())
    {
        message.remove("refusal");
    }
    let content = match message.get("content") {
        Some(Value::Array(parts)) => Some(text_of_parts(parts)),
        Some(Value::String(_) | Value::Null) | None => None,
        Some(other) => Some(Some(other.to_string())),
    };
    if let Some(text) = content {
        message.insert("content".into(), text.map_or(Value::Null, Value::from));
    }
    calls_in_content(message, tools);
    match message.get_mut("tool_calls") {
        Some(Value::Array(calls)) => tool_calls(calls, turn, ids),
        Some(_) => {
            message.remove("tool_calls");
        }
        None => {}
    }
}

/// The text parts of a content list, joined; None when it has none.
fn text_of_parts(parts: &[Value]) -> Option<String> {
    let texts: Vec<&str> = parts
        .iter()
        .filter_map(|p| match p {
            Value::String(s) => Some(s.as_str()),
            Value::Object(o) if o.get("type").is_none_or(|t| t == "text") => {
                o.get("text").and_then(Value::as_str)
            }
            _ => None,
        })
        .collect();
    (!texts.is_empty()).then(|| texts.concat())
}

fn tool_calls(calls: &mut Vec<Value>, turn: u64, seen: &mut HashSet<String>) {
    calls.retain(|c| c.get("function").is_some_and(Value::is_object));
    for (i, call) in calls.iter_mut().enumerate() {
        let Some(call) = call.as_object_mut() else {
            continue;
        };
        if !call.get("type").is_some_and(|t| t == "function") {
            call.insert("type".into(), Value::from("function"));
        }
        let id = match call.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let id = if id.is_empty() || !seen.insert(id.clone()) {
            let made = format!("call_{turn}_{i}");
            seen.insert(made.clone());
            made
        } else {
            id
        };
        call.insert("id".into(), Value::from(id));
        let Some(function) = call.get_mut("function").and_then(Value::as_object_mut) else {
            continue;
        };
        if !function.get("name").is_some_and(Value::is_string) {
            function.insert("name".into(), Value::from(""));
        }
        let arguments = match function.get("arguments") {
            Some(Value::String(s)) if !s.trim().is_empty() => s.clone(),
            None | Some(Value::Null) | Some(Value::String(_)) => "{}".to_string(),
            Some(other) => other.to_string(),
        };
        function.insert("arguments".into(), Value::from(arguments));
    }
}

/// A tool's argument schema in the subset of JSON Schema that every chat-completions server
/// takes: `$ref`s to `$defs` written out in place, and optional fields typed by what they
/// hold (`"string"`, not `["string", "null"]`, and no `anyOf` with `null`), which Gemini's
/// API refuses and small local models read worse. An optional field is still optional: it
/// is not `required`, and a `null` sent for it is taken as absent.
pub fn portable_schema(schema: &Value) -> Value {
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let mut out = schema.clone();
    if let Some(o) = out.as_object_mut() {
        o.remove("$defs");
    }
    portable_node(&mut out, &defs, 0);
    out
}

/// How deep `$ref`s are written out: a recursive type stops there.
const MAX_SCHEMA_DEPTH: usize = 16;

fn portable_node(node: &mut Value, defs: &Value, depth: usize) {
    let Some(obj) = node.as_object_mut() else {
        return;
    };
    // An optional value's `anyOf` with `null` becomes the value, which may be a `$ref`,
    // whose definition may hold another such `anyOf`: repeat until neither is left.
    for _ in 0..MAX_SCHEMA_DEPTH {
        let mut changed = false;
        for key in ["anyOf", "oneOf"] {
            let Some(Value::Array(options)) = obj.get(key) else {
                continue;
            };
            let kept: Vec<Value> = options
                .iter()
                .filter(|o| o.get("type").is_none_or(|t| t != "null"))
                .cloned()
                .collect();
            if kept.len() == options.len() {
                continue;
            }
            changed = true;
            match <[Value; 1]>::try_from(kept) {
                Ok([Value::Object(only)]) => {
                    obj.remove(key);
                    for (k, v) in only {
                        obj.entry(k).or_insert(v);
                    }
                }
                Ok([other]) => {
                    obj.insert(key.into(), Value::Array(vec![other]));
                }
                Err(kept) => {
                    obj.insert(key.into(), Value::Array(kept));
                }
            }
        }
        if let Some(target) = obj
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
            .and_then(|name| defs.get(name))
            .and_then(Value::as_object)
        {
            let target = target.clone();
            obj.remove("$ref");
            for (k, v) in target {
                obj.entry(k).or_insert(v);
            }
            changed = true;
        }
        if !changed {
            break;
        }
    }
    if let Some(types) = obj.get("type").and_then(Value::as_array) {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        let single = (kept.len() == 1).then(|| kept[0].clone());
        obj.insert("type".into(), single.unwrap_or(Value::Array(kept)));
    }
    if depth >= MAX_SCHEMA_DEPTH {
        return;
    }
    if let Some(Value::Object(children)) = obj.get_mut("properties") {
        for child in children.values_mut() {
            portable_node(child, defs, depth + 1);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(child) = obj.get_mut(key) {
            portable_node(child, defs, depth + 1);
        }
    }
    for key in ["anyOf", "oneOf", "allOf"] {
        if let Some(Value::Array(options)) = obj.get_mut(key) {
            for child in options {
                portable_node(child, defs, depth + 1);
            }
        }
    }
}

/// Fields a server puts on its message that it wants back on that message.
const MESSAGE_FIELDS: [&str; 2] = ["reasoning_content", "reasoning_details"];
/// Fields a server puts on a tool call that it wants back on that call.
const CALL_FIELDS: [&str; 1] = ["extra_content"];

/// What the answers of a run carried outside OpenAI's schema, to send back with them.
#[derive(Debug, Default)]
pub struct Carried {
    /// By [`message_key`].
    messages: HashMap<String, Map<String, Value>>,
    /// By tool-call id.
    calls: HashMap<String, Map<String, Value>>,
}

impl Carried {
    /// Keeps what `answer` (after [`normalize`]) carries for its message and its calls.
    pub fn keep(&mut self, answer: &Value) {
        let Some(message) = answer.pointer("/choices/0/message") else {
            return;
        };
        let fields = pick(message, &MESSAGE_FIELDS);
        if let (false, Some(key)) = (fields.is_empty(), message_key(message)) {
            self.messages.insert(key, fields);
        }
        for call in message
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let fields = pick(call, &CALL_FIELDS);
            if let (false, Some(id)) = (fields.is_empty(), call.get("id").and_then(Value::as_str)) {
                self.calls.insert(id.to_string(), fields);
            }
        }
    }

    /// Puts back what was kept on the assistant messages and tool calls of `request` (a
    /// serialised chat-completions request).
    pub fn put_back(&self, request: &mut Value) {
        if self.messages.is_empty() && self.calls.is_empty() {
            return;
        }
        let Some(messages) = request.get_mut("messages").and_then(Value::as_array_mut) else {
            return;
        };
        for message in messages {
            if message.get("role").is_none_or(|r| r != "assistant") {
                continue;
            }
            if let Some(fields) = message_key(message).and_then(|k| self.messages.get(&k))
                && let Some(obj) = message.as_object_mut()
            {
                obj.extend(fields.clone());
            }
            for call in message
                .get_mut("tool_calls")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                let id = call.get("id").and_then(Value::as_str).map(str::to_string);
                if let Some(fields) = id.and_then(|id| self.calls.get(&id))
                    && let Some(obj) = call.as_object_mut()
                {
                    obj.extend(fields.clone());
                }
            }
        }
    }
}

/// The non-null `fields` of `value`.
fn pick(value: &Value, fields: &[&str]) -> Map<String, Value> {
    fields
        .iter()
        .filter_map(|f| {
            value
                .get(*f)
                .filter(|v| !v.is_null())
                .map(|v| (f.to_string(), v.clone()))
        })
        .collect()
}

/// What identifies an assistant message, in an answer or as sent back in a request: its first
/// tool call's id (unique in a run once [`normalize`] has made the ids whole), or its text.
fn message_key(message: &Value) -> Option<String> {
    if let Some(id) = message
        .pointer("/tool_calls/0/id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
    {
        return Some(format!("call:{id}"));
    }
    message
        .get("content")
        .and_then(Value::as_str)
        .map(|text| format!("text:{text}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use std::collections::HashSet;

    use super::normalize;

    const TOOLS: &[&str] = &["git_log", "read_file", "submit_document"];

    /// The (name, arguments) of the calls `content` is read as, and what stays content.
    fn read_as_calls(content: &str) -> (Vec<(String, String)>, serde_json::Value) {
        let mut answer = json!({"choices": [{"message": {"role": "assistant",
            "content": content}, "finish_reason": "stop"}]});
        normalize(&mut answer, 2, TOOLS, &mut HashSet::new());
        let message = &answer["choices"][0]["message"];
        let calls = message["tool_calls"]
            .as_array()
            .map(|calls| {
                calls
                    .iter()
                    .map(|c| {
                        (
                            c["function"]["name"].as_str().unwrap().to_string(),
                            c["function"]["arguments"].as_str().unwrap().to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        (calls, message["content"].clone())
    }

    #[test]
    fn calls_written_as_text_are_read_as_calls() {
        let log = ("git_log".to_string(), "{\"limit\":3}".to_string());
        // Ollama's qwen2.5-coder: the bare object.
        assert_eq!(
            read_as_calls(r#"{"name": "git_log", "arguments": {"limit": 3}}"#),
            (vec![log.clone()], json!(null))
        );
        // In a fence, and Llama 3's `parameters`.
        assert_eq!(
            read_as_calls("```json\n{\"name\": \"git_log\", \"parameters\": {\"limit\": 3}}\n```"),
            (vec![log.clone()], json!(null))
        );
        // Hermes tags, two calls, text around them kept; the second with no arguments.
        assert_eq!(
            read_as_calls(
                "Let me look.\n<tool_call>\n{\"name\": \"git_log\", \"arguments\": {\"limit\": 3}}\n</tool_call>\n<tool_call>{\"name\": \"read_file\"}</tool_call>"
            ),
            (
                vec![log.clone(), ("read_file".to_string(), "{}".to_string())],
                json!("Let me look.")
            )
        );
        // A list, and objects one after another.
        assert_eq!(
            read_as_calls(
                r#"[{"name": "git_log", "arguments": {"limit": 3}}] {"name": "git_log", "arguments": "{\"limit\":3}"}"#
            )
            .0,
            vec![log.clone(), log]
        );
    }

    #[test]
    fn text_that_is_not_only_calls_of_offered_tools_stays_text() {
        for content in [
            // Prose around an object without tags: it may be quoting one.
            r#"I would call {"name": "git_log", "arguments": {}} next."#,
            // A tool the request did not offer.
            r#"{"name": "shell", "arguments": {"command": "rm -rf /"}}"#,
            // JSON that is not a call.
            r#"{"limit": 3}"#,
            "# Postmortem\n\nThe fix is abc123.",
            "<tool_call>{\"name\": \"shell\"}</tool_call>",
        ] {
            assert_eq!(
                read_as_calls(content),
                (vec![], json!(content)),
                "{content}"
            );
        }
    }

    #[test]
    fn what_an_answer_carries_goes_back_on_the_same_message_and_call_only() {
        let mut carried = super::Carried::default();
        // OpenRouter's reasoning_details on a text answer; nothing on a plain one.
        carried.keep(&json!({"choices": [{"message": {"role": "assistant",
            "content": "Looking.", "reasoning_details": [{"type": "reasoning.encrypted", "data": "x"}]}}]}));
        carried
            .keep(&json!({"choices": [{"message": {"role": "assistant", "content": "Plain."}}]}));
        let mut request = json!({"messages": [
            {"role": "user", "content": "Looking."},
            {"role": "assistant", "content": "Looking."},
            {"role": "assistant", "content": "Plain."},
            {"role": "assistant", "content": null, "tool_calls": [{"id": "c9", "type": "function",
                "function": {"name": "git_log", "arguments": "{}"}}]}
        ]});
        let before = request.clone();
        carried.put_back(&mut request);
        assert_eq!(
            request["messages"][1]["reasoning_details"],
            json!([{"type": "reasoning.encrypted", "data": "x"}])
        );
        for i in [0, 2, 3] {
            assert_eq!(request["messages"][i], before["messages"][i], "{i}");
        }
    }

    #[test]
    fn an_id_a_server_uses_again_in_a_later_answer_is_replaced() {
        let mut session = super::Session::default();
        let answer = || {
            json!({"choices": [{"message": {"tool_calls": [
                {"id": "call_0", "type": "function", "function": {"name": "git_log", "arguments": "{}"}}
            ]}}]})
        };
        let (mut first, mut second) = (answer(), answer());
        session.read(&mut first, TOOLS);
        session.read(&mut second, TOOLS);
        let id = |a: &serde_json::Value| a["choices"][0]["message"]["tool_calls"][0]["id"].clone();
        assert_eq!(id(&first), "call_0");
        assert_eq!(id(&second), "call_2_0");
    }

    #[test]
    fn an_answer_as_openai_sends_it_is_left_as_it_is() {
        let answer = json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_700_000_000,
            "model": "gpt-4o",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null, "refusal": null,
                "tool_calls": [{"id": "call_a", "type": "function",
                    "function": {"name": "git_log", "arguments": "{\"limit\":5}"}}]}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}
        });
        let mut repaired = answer.clone();
        assert_eq!(
            normalize(&mut repaired, 1, TOOLS, &mut HashSet::new()).as_deref(),
            Some("tool_calls")
        );
        assert_eq!(repaired, answer);
    }

    #[test]
    fn ids_types_and_arguments_are_made_whole() {
        let mut answer = json!({
            "choices": [{"finish_reason": "eos_token", "message": {
                "tool_calls": [
                    {"function": {"name": "git_log", "arguments": {"limit": 5}}},
                    {"id": "", "type": null, "function": {"name": "list_files", "arguments": ""}},
                    {"id": "x", "function": {"name": "a", "arguments": "{}"}},
                    {"id": "x", "function": {"name": "b"}},
                    {"id": 7, "function": {"name": "c", "arguments": null}},
                    "not a call"
                ]}}],
            "usage": {"prompt_tokens": 10}
        });
        assert_eq!(
            normalize(&mut answer, 3, TOOLS, &mut HashSet::new()).as_deref(),
            Some("eos_token")
        );
        let choice = &answer["choices"][0];
        assert_eq!(choice["finish_reason"], json!(null));
        assert_eq!(choice["message"]["role"], "assistant");
        let calls = choice["message"]["tool_calls"].as_array().unwrap();
        let got: Vec<(&str, &str, &str)> = calls
            .iter()
            .map(|c| {
                assert_eq!(c["type"], "function");
                (
                    c["id"].as_str().unwrap(),
                    c["function"]["name"].as_str().unwrap(),
                    c["function"]["arguments"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                ("call_3_0", "git_log", "{\"limit\":5}"),
                ("call_3_1", "list_files", "{}"),
                ("x", "a", "{}"),
                ("call_3_3", "b", "{}"),
                ("7", "c", "{}"),
            ]
        );
        assert_eq!(
            answer["usage"],
            json!({"prompt_tokens": 10, "completion_tokens": 0, "total_tokens": 10})
        );
        assert_eq!(answer["object"], "chat.completion");
        assert_eq!(answer["created"], 0);
    }

    #[test]
    fn content_parts_are_joined_and_the_thinking_left_out() {
        let mut answer = json!({"choices": [{"message": {"role": "assistant", "content": [
            {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
            {"type": "text", "text": "The fix is "},
            {"type": "text", "text": "abc123."}
        ]}, "finish_reason": ""}]});
        assert_eq!(normalize(&mut answer, 1, TOOLS, &mut HashSet::new()), None);
        assert_eq!(
            answer["choices"][0]["message"]["content"],
            "The fix is abc123."
        );

        // A call written in a text part is read as a call too.
        let mut answer = json!({"choices": [{"message": {"content": [
            {"type": "text", "text": "{\"name\": \"read_file\", \"arguments\": {}}"}
        ]}}]});
        normalize(&mut answer, 4, TOOLS, &mut HashSet::new());
        let message = &answer["choices"][0]["message"];
        assert_eq!(message["content"], json!(null));
        assert_eq!(message["tool_calls"][0]["function"]["name"], "read_file");
        assert_eq!(message["tool_calls"][0]["id"], "call_4_0");
    }

    #[test]
    fn tool_schemas_sent_to_models_have_no_refs_and_no_null_types() {
        let mut specs = crate::tools::Registry::standard().specs();
        specs.push(crate::agent::submit_spec());
        for spec in &specs {
            let schema = super::portable_schema(&spec.parameters);
            let text = schema.to_string();
            for absent in ["$ref", "$defs", "\"null\"", "anyOf", "oneOf"] {
                assert!(!text.contains(absent), "{}: {absent} in {text}", spec.name);
            }
            // Every property keeps its description and a type.
            for (name, p) in schema["properties"].as_object().expect("properties") {
                assert!(p["description"].is_string(), "{}.{name}: {p}", spec.name);
                assert!(p["type"].is_string(), "{}.{name}: {p}", spec.name);
            }
            assert_eq!(
                schema["required"], spec.parameters["required"],
                "{}",
                spec.name
            );
        }
        let submit = super::portable_schema(&crate::agent::submit_spec().parameters);
        let guardrail = &submit["properties"]["guardrail"];
        assert_eq!(guardrail["type"], "object");
        assert_eq!(
            guardrail["required"],
            serde_json::json!(["paths", "instructions"])
        );
        assert!(
            guardrail["description"]
                .as_str()
                .is_some_and(|d| d.starts_with("A scoped instruction file proposed")),
            "the field's own description wins over its type's: {guardrail}"
        );
        assert_eq!(submit["properties"]["slug"]["type"], "string");
    }
}
