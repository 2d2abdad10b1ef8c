//! `skillrun mcp`: the real binary, spoken to over stdio as an MCP client would.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use skillrun::tools::Registry;

use super::support::{GitRepo, payments_repo, valid_postmortem};

/// How long one answer may take before the test fails (a debug build on 2 cores).
const ANSWER: Duration = Duration::from_secs(20);
const AWS_KEY: &str = "AKIAZ3MHQ4TN7XK2P5WQ";

/// A running `skillrun mcp` and the lines it wrote.
struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<Result<Value, String>>,
    /// Messages read while waiting for another id.
    held: Vec<Value>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    fn start(repo: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_skillrun"))
            .args(["mcp", "--repo"])
            .arg(repo)
            .env("SKILLRUN_SKILLS_DIR", "/nonexistent/skillrun-test-skills")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("skillrun mcp starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // Every stdout line must be one JSON-RPC message.
                let msg = serde_json::from_str::<Value>(&line)
                    .map_err(|e| format!("stdout line is not JSON ({e}): {line}"));
                if tx.send(msg).is_err() {
                    break;
                }
            }
        });
        let mut stderr = child.stderr.take().expect("stderr");
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = stderr.read_to_string(&mut s);
            s
        });
        Server {
            stdin: child.stdin.take(),
            child,
            lines,
            held: Vec::new(),
            stderr: Some(stderr),
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(bytes).expect("write to the server");
        stdin.flush().expect("flush");
    }

    fn send(&mut self, msg: &Value) {
        let mut line = msg.to_string().into_bytes();
        line.push(b'\n');
        self.send_raw(&line);
    }

    fn next(&mut self) -> Value {
        match self.lines.recv_timeout(ANSWER) {
            Ok(Ok(v)) => v,
            Ok(Err(e)) => panic!("{e}"),
            Err(RecvTimeoutError::Timeout) => panic!("no answer within {ANSWER:?}"),
            Err(RecvTimeoutError::Disconnected) => {
                panic!("the server closed stdout; stderr: {}", self.finish_stderr())
            }
        }
    }

    /// The answer whose id is `id`.
    fn answer(&mut self, id: &Value) -> Value {
        if let Some(i) = self.held.iter().position(|m| &m["id"] == id) {
            return self.held.remove(i);
        }
        loop {
            let msg = self.next();
            if &msg["id"] == id {
                return msg;
            }
            self.held.push(msg);
        }
    }

    fn request(&mut self, id: u64, method: &str, params: Value) -> Value {
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.answer(&json!(id))
    }

    /// The `result` of a request that must succeed.
    fn ok(&mut self, id: u64, method: &str, params: Value) -> Value {
        let answer = self.request(id, method, params);
        assert!(answer.get("error").is_none(), "{method} failed: {answer}");
        answer["result"].clone()
    }

    fn initialize(&mut self, version: &str) -> Value {
        let result = self.ok(
            0,
            "initialize",
            json!({"protocolVersion": version, "capabilities": {},
                   "clientInfo": {"name": "skillrun-tests", "version": "1"}}),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        result
    }

    fn call(&mut self, id: u64, tool: &str, args: Value) -> Value {
        self.ok(id, "tools/call", json!({"name": tool, "arguments": args}))
    }

    fn finish_stderr(&mut self) -> String {
        self.stderr
            .take()
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Close stdin and wait for the server to exit.
    fn close(&mut self) -> (std::process::ExitStatus, String) {
        drop(self.stdin.take());
        let deadline = Instant::now() + ANSWER;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return (status, self.finish_stderr());
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit after stdin closed"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A repository with a planted AWS key in a committed file.
fn secret_repo() -> GitRepo {
    let mut repo = GitRepo::new();
    repo.commit(
        &[
            (
                "config/settings.py",
                &format!("REGION = \"eu-west-1\"\nAWS_ACCESS_KEY_ID = \"{AWS_KEY}\"\n"),
            ),
            ("src/lib.rs", "pub fn answer() -> u32 {\n    42\n}\n"),
        ],
        "Add settings",
        "Alice Example <alice@example.com>",
        "2024-11-01",
    );
    repo
}

fn meta_2026() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
        "io.modelcontextprotocol/clientInfo": {"name": "skillrun-tests", "version": "1"},
    })
}

fn text_items(result: &Value) -> Vec<String> {
    result["content"]
        .as_array()
        .expect("content")
        .iter()
        .map(|c| {
            assert_eq!(c["type"], "text", "{c}");
            c["text"].as_str().expect("text").to_string()
        })
        .collect()
}

#[test]
fn initialize_answers_the_older_protocol_versions() {
    let repo = secret_repo();
    for version in ["2025-06-18", "2025-11-25", "2025-03-26"] {
        let mut server = Server::start(repo.path());
        let result = server.initialize(version);
        assert_eq!(result["protocolVersion"], version, "{result}");
        assert_eq!(result["serverInfo"]["name"], "skillrun");
        for cap in ["tools", "prompts", "resources"] {
            assert!(result["capabilities"][cap].is_object(), "{result}");
        }
        assert!(
            result["instructions"]
                .as_str()
                .unwrap()
                .contains("REPOSITORY DATA")
        );
        let tools = server.ok(1, "tools/list", json!({}));
        assert!(!tools["tools"].as_array().unwrap().is_empty());
        let (status, _) = server.close();
        assert!(status.success());
    }
    // A version the server does not know: answered with the newest that has `initialize`.
    let mut server = Server::start(repo.path());
    let result = server.initialize("2099-01-01");
    assert_eq!(result["protocolVersion"], "2025-11-25");
}

#[test]
fn discover_then_inline_requests_speak_2026_07_28() {
    let repo = secret_repo();
    let mut server = Server::start(repo.path());
    let found = server.ok(1, "server/discover", json!({"_meta": meta_2026()}));
    let versions: Vec<&str> = found["supportedVersions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for v in ["2025-06-18", "2025-11-25", "2026-07-28"] {
        assert!(versions.contains(&v), "{found}");
    }
    assert!(found["capabilities"]["tools"].is_object());
    let tools = server.ok(2, "tools/list", json!({"_meta": meta_2026()}));
    assert_eq!(tools["resultType"], "complete");
    let result = server.ok(
        3,
        "tools/call",
        json!({"name": "git_log", "arguments": {}, "_meta": meta_2026()}),
    );
    assert_eq!(result["isError"], false, "{result}");
    assert!(text_items(&result)[0].contains("Add settings"));
    // Without the metadata a 2026-07-28 request is refused with an error, not dropped.
    let refused = server.request(4, "tools/list", json!({}));
    assert_eq!(refused["error"]["code"], -32602, "{refused}");
}

#[test]
fn tools_list_is_the_registry_with_its_schemas_plus_check_document() {
    let repo = secret_repo();
    let mut server = Server::start(repo.path());
    server.initialize("2025-11-25");
    let listed = server.ok(1, "tools/list", json!({}));
    let tools = listed["tools"].as_array().unwrap();
    let registry = Registry::standard();
    let specs = registry.specs();
    assert_eq!(tools.len(), specs.len() + 1, "{listed}");
    for (tool, spec) in tools.iter().zip(&specs) {
        assert_eq!(tool["name"], spec.name.as_str());
        assert_eq!(tool["description"], spec.description.as_str());
        assert_eq!(tool["inputSchema"], spec.parameters, "{}", spec.name);
        assert_eq!(tool["annotations"]["readOnlyHint"], true);
    }
    let check = tools.last().unwrap();
    assert_eq!(check["name"], "check_document");
    assert_eq!(check["inputSchema"]["additionalProperties"], false);
    assert_eq!(
        check["inputSchema"]["properties"]["markdown"]["type"],
        "string"
    );
}

#[test]
fn read_file_is_redacted_enveloped_and_structured() {
    let repo = secret_repo();
    let mut server = Server::start(repo.path());
    server.initialize("2025-06-18");
    server.send(&json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
        "params": {"name": "read_file", "arguments": {"path": "config/settings.py"}}}));
    let answer = server.answer(&json!(1));
    assert!(
        !answer.to_string().contains(AWS_KEY),
        "the key leaked: {answer}"
    );
    let result = &answer["result"];
    assert_eq!(result["isError"], false, "{result}");
    let texts = text_items(result);
    assert_eq!(texts.len(), 2, "{result}");
    assert!(texts[0].starts_with("<<<REPOSITORY DATA "), "{}", texts[0]);
    assert!(texts[0].contains("source: tool=read_file"));
    assert!(
        texts[0].contains("[REDACTED:aws-access-key]"),
        "{}",
        texts[0]
    );
    assert!(texts[0].contains("REGION = \"eu-west-1\""));
    // The same JSON as text, and as structuredContent.
    let structured = &result["structuredContent"];
    assert_eq!(
        &serde_json::from_str::<Value>(&texts[1]).unwrap(),
        structured
    );
    assert_eq!(structured["path"], "config/settings.py");
    assert!(structured["text"].as_str().unwrap().contains("[REDACTED:"));
    assert_eq!(
        result["_meta"]["skillrun/provenance"]["redacted"],
        json!(1),
        "{result}"
    );
}

#[test]
fn a_failing_tool_is_an_is_error_result_the_model_can_act_on() {
    let repo = secret_repo();
    let mut server = Server::start(repo.path());
    server.initialize("2025-11-25");
    let refused = server.call(1, "read_file", json!({"path": "/etc/passwd"}));
    assert_eq!(refused["isError"], true, "{refused}");
    let text = &text_items(&refused)[0];
    assert!(text.contains("refused"), "{text}");
    assert!(text.contains("relative to the repository root"), "{text}");

    let wrong = server.call(2, "git_blame", json!({"file": "src/lib.rs"}));
    assert_eq!(wrong["isError"], true, "{wrong}");
    let text = &text_items(&wrong)[0];
    assert!(text.contains("invalid arguments for `git_blame`"), "{text}");

    let missing = server.call(3, "read_file", json!({"path": "no/such/file.rs"}));
    assert_eq!(missing["isError"], true, "{missing}");
}

#[test]
fn unknown_tools_methods_and_malformed_requests_are_json_rpc_errors() {
    let repo = secret_repo();
    let mut server = Server::start(repo.path());
    server.initialize("2025-11-25");

    let unknown = server.request(1, "tools/call", json!({"name": "rm_rf", "arguments": {}}));
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");
    let message = unknown["error"]["message"].as_str().unwrap();
    assert!(message.contains("unknown tool `rm_rf`"), "{message}");
    assert!(message.contains("read_file") && message.contains("check_document"));

    let method = server.request(2, "tools/destroy", json!({}));
    assert_eq!(method["error"]["code"], -32601, "{method}");

    let params = server.request(3, "tools/call", json!("not an object"));
    assert_eq!(params["error"]["code"], -32602, "{params}");

    let args = server.request(
        4,
        "tools/call",
        json!({"name": "read_file", "arguments": [1]}),
    );
    assert_eq!(args["error"]["code"], -32602, "{args}");

    server.send(&json!({"jsonrpc": "1.0", "id": 5, "method": "ping"}));
    let version = server.answer(&json!(5));
    assert_eq!(version["error"]["code"], -32600, "{version}");

    // After every error, the next request is answered.
    let pong = server.request(6, "ping", json!({}));
    assert_eq!(pong["result"], json!({}), "{pong}");
}

#[test]
fn a_malformed_line_and_an_oversized_message_get_errors_and_the_server_reads_on() {
    let repo = secret_repo();
    let mut server = Server::start(repo.path());
    server.initialize("2025-11-25");

    server.send_raw(b"{this is not json\n");
    let parse = server.next();
    assert_eq!(parse["error"]["code"], -32700, "{parse}");
    assert_eq!(parse["id"], Value::Null);
    assert_eq!(server.request(1, "ping", json!({}))["result"], json!({}));

    server.send_raw(b"[1, 2]\n");
    let batch = server.next();
    assert_eq!(batch["error"]["code"], -32600, "{batch}");

    // Over the 4 MiB limit: discarded as it streams in, answered with its id.
    let big = "x".repeat(skillrun::mcp::MAX_MESSAGE_BYTES + 1024);
    let line = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":77,\"method\":\"tools/call\",\"params\":{{\"name\":\"check_document\",\"arguments\":{{\"markdown\":\"{big}\"}}}}}}\n"
    );
    server.send_raw(line.as_bytes());
    let too_big = server.answer(&json!(77));
    assert_eq!(too_big["error"]["code"], -32600, "{too_big}");
    assert!(
        too_big["error"]["message"]
            .as_str()
            .unwrap()
            .contains("too large")
    );
    let tools = server.ok(2, "tools/list", json!({}));
    assert!(tools["tools"].is_array());

    // A message just under the limit is read whole.
    let doc = "y".repeat(skillrun::mcp::MAX_DOCUMENT_BYTES + 10);
    let over_doc = server.call(3, "check_document", json!({"markdown": doc}));
    assert_eq!(over_doc["isError"], true, "document limit");
}

#[test]
fn two_thousand_pipelined_requests_are_all_answered() {
    let repo = secret_repo();
    let mut server = Server::start(repo.path());
    server.initialize("2025-11-25");
    const N: u64 = 2000;
    let mut batch = Vec::new();
    for id in 1..=N {
        let msg = match id % 4 {
            0 => json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                "params": {"name": "read_file", "arguments": {"path": "src/lib.rs"}}}),
            1 => json!({"jsonrpc": "2.0", "id": id, "method": "tools/list"}),
            2 => json!({"jsonrpc": "2.0", "id": id, "method": "ping"}),
            _ => json!({"jsonrpc": "2.0", "id": id, "method": "prompts/list"}),
        };
        batch.extend_from_slice(msg.to_string().as_bytes());
        batch.push(b'\n');
    }
    // One write of every request before reading any answer.
    let mut stdin = server.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        stdin.write_all(&batch).expect("write the batch");
        stdin
    });
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    while seen.len() < N as usize {
        assert!(Instant::now() < deadline, "{} of {N} answered", seen.len());
        let msg = server.next();
        assert!(msg.get("error").is_none(), "{msg}");
        if msg["id"].as_u64().unwrap().is_multiple_of(4) {
            assert_eq!(msg["result"]["isError"], false, "{msg}");
        }
        assert!(
            seen.insert(msg["id"].as_u64().unwrap()),
            "answered twice: {msg}"
        );
    }
    assert_eq!(seen, (1..=N).collect());
    server.stdin = Some(writer.join().expect("writer"));
    let (status, _) = server.close();
    assert!(status.success());
}

#[test]
fn closing_stdin_ends_the_server_cleanly() {
    let repo = secret_repo();
    // Mid-session.
    let mut server = Server::start(repo.path());
    server.initialize("2025-11-25");
    server.ok(1, "tools/list", json!({}));
    let (status, stderr) = server.close();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("session ended"), "{stderr}");
    // Before any message.
    let mut server = Server::start(repo.path());
    let (status, stderr) = server.close();
    assert!(status.success(), "{status}: {stderr}");
    // A notification before the session started is dropped, not fatal.
    let mut server = Server::start(repo.path());
    server.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
    let result = server.initialize("2025-06-18");
    assert_eq!(result["protocolVersion"], "2025-06-18");
}

/// The prompt's argument is named for postmortems; for a skill of another kind its text
/// speaks of a request, not of an incident.
#[test]
fn a_prompt_for_another_kind_of_skill_speaks_of_the_request() {
    let repo = secret_repo();
    std::fs::create_dir_all(repo.path().join("skills/decision")).unwrap();
    std::fs::write(
        repo.path().join("skills/decision/SKILL.md"),
        "---\nname: decision\ndescription: Record an architecture decision.\n---\n\n# Decisions\n\n## Template\n\n```markdown\n# ADR: [title]\n\n## Decision\n\n[decision]\n```\n",
    )
    .unwrap();
    let mut server = Server::start(repo.path());
    server.initialize("2025-11-25");
    let text = |server: &mut Server, id: u64, name: &str, args: Value| {
        let got = server.ok(id, "prompts/get", json!({"name": name, "arguments": args}));
        got["messages"][0]["content"]["text"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let asked = text(
        &mut server,
        1,
        "decision",
        json!({"incident": "move the queue to NATS"}),
    );
    assert!(
        asked.contains("The request:\n\nmove the queue to NATS"),
        "{asked}"
    );
    assert!(!asked.contains("incident"), "{asked}");
    let bare = text(&mut server, 2, "decision", json!({}));
    assert!(
        bare.contains("Nothing was asked yet: ask the user what the document is for"),
        "{bare}"
    );
    let postmortem = text(
        &mut server,
        3,
        "postmortem",
        json!({"incident": "500s after v1.1.0"}),
    );
    assert!(
        postmortem.contains("The incident:\n\n500s after v1.1.0"),
        "{postmortem}"
    );
}

#[test]
fn each_skill_is_a_prompt_and_its_files_are_resources() {
    let repo = secret_repo();
    let mut server = Server::start(repo.path());
    server.initialize("2025-11-25");

    let prompts = server.ok(1, "prompts/list", json!({}));
    let postmortem = prompts["prompts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "postmortem")
        .unwrap_or_else(|| panic!("no postmortem prompt: {prompts}"))
        .clone();
    assert!(
        postmortem["description"]
            .as_str()
            .unwrap()
            .contains("postmortem")
    );
    assert_eq!(postmortem["arguments"][0]["name"], "incident");

    let got = server.ok(
        2,
        "prompts/get",
        json!({"name": "postmortem", "arguments": {"incident": "checkout returned 500 after v1.1.0"}}),
    );
    let message = &got["messages"][0];
    assert_eq!(message["role"], "user");
    let text = message["content"]["text"].as_str().unwrap();
    assert!(
        text.contains("checkout returned 500 after v1.1.0"),
        "{text}"
    );
    assert!(text.contains("## Template"), "{text}");
    assert!(text.contains("# Postmortem: [Brief Title]"), "{text}");
    assert!(text.contains("check_document"), "{text}");

    let unknown = server.request(3, "prompts/get", json!({"name": "nope"}));
    assert_eq!(unknown["error"]["code"], -32602, "{unknown}");

    let resources = server.ok(4, "resources/list", json!({}));
    let uris: Vec<&str> = resources["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["uri"].as_str().unwrap())
        .collect();
    assert!(uris.contains(&"skill://postmortem/SKILL.md"), "{uris:?}");
    assert!(uris.contains(&"skill://postmortem/template.md"), "{uris:?}");

    let skill_md = server.ok(
        5,
        "resources/read",
        json!({"uri": "skill://postmortem/SKILL.md"}),
    );
    let content = &skill_md["contents"][0];
    assert_eq!(content["mimeType"], "text/markdown");
    let text = content["text"].as_str().unwrap();
    assert!(text.starts_with("---\n") && text.contains("name: postmortem"));

    let template = server.ok(
        6,
        "resources/read",
        json!({"uri": "skill://postmortem/template.md"}),
    );
    let text = template["contents"][0]["text"].as_str().unwrap();
    assert!(text.starts_with("# Postmortem: [Brief Title]"), "{text}");
    assert!(text.contains("## Timeline"));

    let missing = server.request(7, "resources/read", json!({"uri": "skill://nope/SKILL.md"}));
    assert!(missing["error"].is_object(), "{missing}");
}

#[test]
fn check_document_returns_findings_against_the_repository() {
    let payments = payments_repo();
    let mut server = Server::start(payments.repo.path());
    server.initialize("2025-11-25");
    let good = server.call(
        1,
        "check_document",
        json!({"markdown": valid_postmortem(&payments.bug, &payments.fix),
               "path": "docs/postmortems/regression-retry-storm.md"}),
    );
    assert_eq!(good["isError"], false, "{good}");
    assert_eq!(good["structuredContent"]["skill"], "postmortem");
    assert_eq!(good["structuredContent"]["errors"], 0, "{good}");

    let bad = server.call(
        2,
        "check_document",
        json!({"markdown": "# Postmortem: Outage\n\n## Summary\n\nBob Builder broke it in deadbee.\n",
               "skill": "postmortem"}),
    );
    assert_eq!(bad["isError"], false, "findings are a result: {bad}");
    let data = &bad["structuredContent"];
    assert!(data["errors"].as_u64().unwrap() > 0, "{data}");
    let rules: Vec<&str> = data["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(
        rules.iter().any(|r| r.starts_with("structure")),
        "{rules:?}"
    );
    let texts = text_items(&bad);
    assert!(texts[0].contains("error"), "{}", texts[0]);
    assert_eq!(&serde_json::from_str::<Value>(&texts[1]).unwrap(), data);

    let no_skill = server.call(
        3,
        "check_document",
        json!({"markdown": "# x", "skill": "nope"}),
    );
    assert_eq!(no_skill["isError"], true, "{no_skill}");
}

/// A folder inside a repository is refused, naming the repository's top, as `run` does; a
/// plain folder is served with a warning, since only the git tools need a repository.
#[test]
fn the_server_says_at_start_when_the_folder_is_not_a_repository() {
    let p = payments_repo();
    let inside = p.repo.path().join("src");
    let top = p.repo.path().canonicalize().expect("canonical");
    // The server started on `dir` with no client: its exit code and what it said.
    let start = |dir: &Path| {
        let out = Command::new(env!("CARGO_BIN_EXE_skillrun"))
            .args(["mcp", "--repo"])
            .arg(dir)
            .env("SKILLRUN_SKILLS_DIR", "/nonexistent/skillrun-test-skills")
            .stdin(Stdio::null())
            .output()
            .expect("runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stderr) = start(&inside);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "not the top of a git repository but inside {0}; pass --repo {0}",
            top.display()
        )),
        "{stderr}"
    );

    let plain = tempfile::tempdir().expect("tmp");
    let (code, stderr) = start(plain.path());
    assert_eq!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("not a git repository")
            && stderr.contains("the git tools will answer with this error"),
        "{stderr}"
    );
}
