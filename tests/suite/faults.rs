//! Fault injection: a broken model server, a repository changing under the run, a full disk,
//! SIGINT. Each ends with a clear error, no partial document, and the run folder kept.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use skillrun::agent::{self, Budget, Outcome, RunOptions, RunReport};
use skillrun::model::{OpenAiModel, RetryPolicy};
use skillrun::skill::Skill;

use super::support::{payments_repo, seed_path, valid_postmortem};

fn completion(message: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "c", "object": "chat.completion", "created": 1, "model": "m",
        "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    }))
}

fn call(id: &str, name: &str, args: String) -> ResponseTemplate {
    completion(json!({"role": "assistant", "content": null,
        "tool_calls": [{"id": id, "type": "function", "function": {"name": name, "arguments": args}}]}))
}

fn submit(doc: &str) -> ResponseTemplate {
    call(
        "submit",
        "submit_document",
        json!({"markdown": doc, "slug": "payment-retry"}).to_string(),
    )
}

/// Something done to the world before the server answers request number N.
type SideEffect = (usize, Box<dyn FnMut() + Send>);

/// Answers from a queue, running a side effect before the answer with the same index.
struct Script {
    answers: Mutex<VecDeque<ResponseTemplate>>,
    before: Mutex<Vec<SideEffect>>,
    seen: Mutex<usize>,
}

impl Respond for Script {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = {
            let mut seen = self.seen.lock().expect("lock");
            *seen += 1;
            *seen
        };
        for (at, f) in self.before.lock().expect("lock").iter_mut() {
            if *at == n {
                f();
            }
        }
        self.answers
            .lock()
            .expect("lock")
            .pop_front()
            .unwrap_or_else(|| completion(json!({"role": "assistant", "content": "done"})))
    }
}

async fn scripted(answers: Vec<ResponseTemplate>, before: Vec<SideEffect>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(Script {
            answers: Mutex::new(answers.into()),
            before: Mutex::new(before),
            seen: Mutex::new(0),
        })
        .mount(&server)
        .await;
    server
}

async fn run(base_url: &str, repo: &Path) -> RunReport {
    let skill = Skill::load(&seed_path()).expect("seed");
    let retry = RetryPolicy {
        attempts: 2,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(20),
        timeout: Duration::from_secs(5),
    };
    let mut model = OpenAiModel::new(base_url, "m", None, retry).expect("model");
    let opts = RunOptions {
        prompt: "write a postmortem for the payment outage".into(),
        repo: repo.to_path_buf(),
        skill: &skill,
        budget: Budget::default(),
        runs_dir: None,
        force: false,
        apply_guardrails: false,
    };
    agent::run(&mut model, opts, &mut |_| {})
        .await
        .expect("run")
}

fn postmortem_dir_is_empty(repo: &Path) -> bool {
    std::fs::read_dir(repo.join("docs/postmortems")).map_or(true, |mut d| d.next().is_none())
}

fn assert_failed_and_kept(report: &RunReport, says: &str, repo: &Path) {
    match &report.outcome {
        Outcome::Failed { reason, .. } => assert!(reason.contains(says), "{reason}"),
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(postmortem_dir_is_empty(repo), "a document was written");
    assert!(report.run_dir.join("transcript.jsonl").is_file());
    let outcome =
        std::fs::read_to_string(report.run_dir.join("outcome.json")).expect("outcome kept");
    assert!(outcome.contains("\"outcome\": \"failed\""), "{outcome}");
}

/// A server that answers every request with a body that stops halfway.
fn dropping_server() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming().take(8) {
            let Ok(mut s) = stream else { continue };
            let mut buf = [0u8; 65536];
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            let _ = s.read(&mut buf);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 5000\r\n\r\n{\"id\":\"chatcmpl\",\"choices\":[");
            let _ = s.flush();
            drop(s);
        }
    });
    format!("http://{addr}/v1")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_dropped_mid_body() {
    let p = payments_repo();
    let report = run(&dropping_server(), p.repo.path()).await;
    assert_failed_and_kept(&report, "the answer broke off", p.repo.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn no_server_listening() {
    let p = payments_repo();
    // A port that was free a moment ago: nothing listens on it now.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let report = run(&format!("http://{addr}/v1"), p.repo.path()).await;
    assert_failed_and_kept(
        &report,
        &format!(
            "kept failing after 2 attempts; last: cannot connect to http://{addr}/v1/chat/completions (connection refused): is the server running and listening there?"
        ),
        p.repo.path(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_https_url_for_a_plain_http_server_says_what_tls_found() {
    let p = payments_repo();
    let server = scripted(vec![], vec![]).await;
    let https = server.uri().replacen("http://", "https://", 1);
    let report = run(&format!("{https}/v1"), p.repo.path()).await;
    assert_failed_and_kept(
        &report,
        &format!("last: cannot connect to {https}/v1/chat/completions: received corrupt message"),
        p.repo.path(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn truncated_json() {
    let p = payments_repo();
    let server = scripted(
        vec![ResponseTemplate::new(200).set_body_raw(
            r#"{"id":"c","object":"chat.completion","choices":[{"index":0,"mess"#,
            "application/json",
        )],
        vec![],
    )
    .await;
    let report = run(&format!("{}/v1", server.uri()), p.repo.path()).await;
    assert_failed_and_kept(
        &report,
        "the model server's answer is not a chat completion",
        p.repo.path(),
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_megabytes_of_arguments_are_refused_and_the_run_goes_on() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let huge = json!({"pattern": "x".repeat(10 * 1024 * 1024)}).to_string();
    let server = scripted(vec![call("c1", "search_files", huge), submit(&doc)], vec![]).await;
    let report = run(&format!("{}/v1", server.uri()), p.repo.path()).await;
    assert!(
        matches!(report.outcome, Outcome::Written { .. }),
        "{report:?}"
    );
    let second: Value = server.received_requests().await.expect("recorded")[1]
        .body_json()
        .expect("json");
    let answer = second["messages"]
        .as_array()
        .expect("msgs")
        .last()
        .expect("tool")["content"]
        .clone();
    assert_eq!(
        answer,
        json!(format!(
            "error: invalid arguments for `search_files`: {} bytes, over the 1048576-byte limit",
            10 * 1024 * 1024 + 14
        ))
    );
    // The refused arguments are not sent back with the history: the request stays small.
    let raw_second = &server.received_requests().await.expect("recorded")[1].body;
    assert!(raw_second.len() < 200_000, "{} bytes", raw_second.len());
    assert!(
        second
            .to_string()
            .contains("bytes of arguments, over the 1048576-byte limit"),
        "the call keeps a note of its size"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn files_that_vanish_during_the_run_are_a_tool_error_not_a_crash() {
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let file: PathBuf = p.repo.path().join("src/payments/retry.rs");
    let gone = file.clone();
    let args = json!({"path": "src/payments/retry.rs"}).to_string();
    let server = scripted(
        vec![
            call("c1", "read_file", args.clone()),
            call("c2", "git_blame", args),
            submit(&doc),
        ],
        // Before the second answer, the file disappears from the work tree.
        vec![(
            2,
            Box::new(move || {
                let _ = std::fs::remove_file(&gone);
            }),
        )],
    )
    .await;
    let report = run(&format!("{}/v1", server.uri()), p.repo.path()).await;
    assert!(
        matches!(report.outcome, Outcome::Written { .. }),
        "{report:?}"
    );
    assert!(!file.exists());
    let transcript =
        std::fs::read_to_string(report.run_dir.join("transcript.jsonl")).expect("transcript");
    assert!(
        transcript.contains("\"name\":\"read_file\",\"ok\":true"),
        "{transcript}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_disk_for_the_run_folder() {
    if std::process::Command::new("unshare")
        .args(["-rm", "true"])
        .status()
        .map_or(true, |s| !s.success())
    {
        eprintln!("SKIPPED: this machine cannot make a private mount namespace (unshare -rm)");
        return;
    }
    let p = payments_repo();
    let doc = valid_postmortem(&p.bug, &p.fix);
    let server = scripted(
        vec![call("c1", "git_log", "{}".into()), submit(&doc)],
        vec![],
    )
    .await;
    let runs = tempfile::tempdir().expect("tmp");
    let bin = assert_cmd::cargo::cargo_bin("skillrun");
    // A 32 KiB tmpfs: the transcript outgrows it during the first turns.
    let script = format!(
        "mount -t tmpfs -o size=32k tmpfs {runs} && exec {bin} run 'write a postmortem for the payment outage' --model openai:m --base-url {url}/v1 --repo {repo} --runs-dir {runs}",
        runs = runs.path().display(),
        bin = bin.display(),
        url = server.uri(),
        repo = p.repo.path().display(),
    );
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("unshare")
            .args(["-rm", "sh", "-c", &script])
            .env("SKILLRUN_SKILLS_DIR", "/nonexistent")
            .output()
            .expect("runs")
    })
    .await
    .expect("joined");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot write the run folder"), "{stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    // Said once, with what to do.
    assert_eq!(
        stderr.matches("No space left on device").count(),
        1,
        "{stderr}"
    );
    assert!(
        stderr.contains("--runs-dir keeps the run logs elsewhere"),
        "{stderr}"
    );
    assert!(postmortem_dir_is_empty(p.repo.path()));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigint_stops_the_run_and_keeps_its_folder() {
    let p = payments_repo();
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            completion(json!({"role": "assistant", "content": "late"}))
                .set_delay(Duration::from_secs(60)),
        )
        .mount(&server)
        .await;
    let runs = tempfile::tempdir().expect("tmp");
    let child = std::process::Command::new(assert_cmd::cargo::cargo_bin("skillrun"))
        .args([
            "run",
            "write a postmortem for the payment outage",
            "--model",
            "openai:m",
            "--base-url",
        ])
        .arg(format!("{}/v1", server.uri()))
        .arg("--repo")
        .arg(p.repo.path())
        .arg("--runs-dir")
        .arg(runs.path())
        .env("SKILLRUN_SKILLS_DIR", "/nonexistent")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let pid = child.id().to_string();
    // Wait until the request is in flight, then interrupt.
    for _ in 0..100 {
        if !server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().expect("wait"))
        .await
        .expect("joined");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("failed: interrupted"), "{stderr}");
    assert!(postmortem_dir_is_empty(p.repo.path()));
    let run_dir = std::fs::read_dir(runs.path())
        .expect("runs")
        .next()
        .expect("one run")
        .expect("entry")
        .path();
    let outcome = std::fs::read_to_string(run_dir.join("outcome.json")).expect("outcome");
    assert!(outcome.contains("\"reason\": \"interrupted\""), "{outcome}");
}

#[test]
fn a_model_that_cannot_be_reached_as_configured_is_refused_before_the_run() {
    let p = payments_repo();
    let refused = |args: &[&str], env_key: Option<&str>, says: &str| {
        let runs = tempfile::tempdir().expect("tmp");
        let mut cmd = super::support::skillrun();
        cmd.args(["run", "write a postmortem for the payment outage"])
            .args(args)
            .arg("--repo")
            .arg(p.repo.path())
            .arg("--runs-dir")
            .arg(runs.path())
            .env_remove("OPENAI_API_KEY")
            .env_remove("OPENAI_BASE_URL")
            // Should a request go out after all, it fails on loopback instead of leaving
            // the machine.
            .env("HTTPS_PROXY", "http://127.0.0.1:9")
            .env("HTTP_PROXY", "http://127.0.0.1:9");
        if let Some(key) = env_key {
            cmd.env("OPENAI_API_KEY", key);
        }
        cmd.assert().code(2).stderr(predicates::str::contains(says));
        assert!(
            std::fs::read_dir(runs.path())
                .expect("runs")
                .next()
                .is_none(),
            "no run folder for a run that never started"
        );
    };
    refused(
        &["--model", "openai:gpt-4o-mini"],
        None,
        "OPENAI_API_KEY is not set, and https://api.openai.com/v1 needs it",
    );
    // An empty key is no key.
    refused(
        &["--model", "openai:gpt-4o-mini"],
        Some(" "),
        "OPENAI_API_KEY is not set",
    );
    refused(
        &["--model", "openai:m", "--base-url", "localhost:8000"],
        Some("k"),
        "base URL \"localhost:8000\" is not http or https",
    );
    // A key no HTTP header can carry fails here, not as five failed requests.
    refused(
        &["--model", "openai:m", "--base-url", "http://127.0.0.1:9/v1"],
        Some("sk-first\nsk-second"),
        "OPENAI_API_KEY holds a character an HTTP header cannot carry",
    );
    refused(
        &["--model", "ollama:m", "--base-url", "not a url"],
        None,
        "base URL \"not a url\" is not a URL",
    );
}
