//! `skillrun mcp` round-trip latency, measured as a client sees it: the real binary (release
//! build) over stdio pipes, one request written, its answer read, then the next.
//!
//! Run: `cargo bench --bench mcp`. Builds a small git repository in a temp dir, starts the
//! server, opens a session with `initialize` (2025-11-25), warms up, then times `ping`,
//! `tools/list` and a small `read_file` (`tools/call`, a 30-line file) sequentially, and
//! finally 2,000 requests written at once (pipelined). Prints a markdown table for
//! BENCHMARKS.md.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Timed round trips per measurement.
const ROUNDS: usize = 2000;
/// Untimed round trips first.
const WARMUP: usize = 200;
/// Requests in the pipelined run.
const PIPELINED: usize = 2000;

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Alice Example")
        .env("GIT_AUTHOR_EMAIL", "alice@example.com")
        .env("GIT_COMMITTER_NAME", "Alice Example")
        .env("GIT_COMMITTER_EMAIL", "alice@example.com")
        .status()
        .unwrap_or_else(|e| panic!("git {args:?}: {e}"));
    assert!(status.success(), "git {args:?} failed");
}

struct Server {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    line: String,
    next_id: u64,
}

impl Server {
    fn start(repo: &Path) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_skillrun"))
            .args(["mcp", "--repo"])
            .arg(repo)
            .env("SKILLRUN_SKILLS_DIR", "/nonexistent/skillrun-bench-skills")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start skillrun mcp: {e}"));
        let stdin = child.stdin.take().unwrap_or_else(|| panic!("stdin"));
        let stdout = BufReader::new(child.stdout.take().unwrap_or_else(|| panic!("stdout")));
        Server {
            child,
            stdin,
            stdout,
            line: String::new(),
            next_id: 0,
        }
    }

    fn write(&mut self, method: &str, params: &Value) -> u64 {
        self.next_id += 1;
        let msg = json!({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params});
        let mut bytes = msg.to_string().into_bytes();
        bytes.push(b'\n');
        self.stdin
            .write_all(&bytes)
            .unwrap_or_else(|e| panic!("write: {e}"));
        self.next_id
    }

    fn read(&mut self) -> Value {
        self.line.clear();
        let n = self
            .stdout
            .read_line(&mut self.line)
            .unwrap_or_else(|e| panic!("read: {e}"));
        assert!(n > 0, "the server closed stdout");
        serde_json::from_str(&self.line).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.line))
    }

    /// One round trip; the answer is checked, the time returned.
    fn round_trip(&mut self, method: &str, params: &Value) -> (Duration, usize) {
        let start = Instant::now();
        let id = self.write(method, params);
        let answer = self.read();
        let took = start.elapsed();
        assert_eq!(answer["id"], id, "{answer}");
        assert!(answer.get("error").is_none(), "{answer}");
        assert_ne!(answer["result"]["isError"], true, "{answer}");
        (took, self.line.len())
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

fn measure(server: &mut Server, label: &str, method: &str, params: &Value) {
    for _ in 0..WARMUP {
        server.round_trip(method, params);
    }
    let mut times = Vec::with_capacity(ROUNDS);
    let mut bytes = 0;
    for _ in 0..ROUNDS {
        let (t, b) = server.round_trip(method, params);
        times.push(t);
        bytes = b;
    }
    times.sort();
    let mean = times.iter().sum::<Duration>() / times.len() as u32;
    println!(
        "| {label} | {} | {} | {} | {} | {} | {bytes} |",
        us(percentile(&times, 0.5)),
        us(percentile(&times, 0.99)),
        us(mean),
        us(times[0]),
        us(times[times.len() - 1]),
    );
}

fn main() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let repo = tmp.path();
    let body: String = (1..=30)
        .map(|i| format!("pub fn f{i}(x: u32) -> u32 {{ x + {i} }}\n"))
        .collect();
    std::fs::create_dir_all(repo.join("src")).unwrap_or_else(|e| panic!("mkdir: {e}"));
    std::fs::write(repo.join("src/lib.rs"), body).unwrap_or_else(|e| panic!("write: {e}"));
    git(repo, &["init", "-q", "-b", "main"]);
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-q", "-m", "Add lib"]);

    let mut server = Server::start(repo);
    server.round_trip(
        "initialize",
        &json!({"protocolVersion": "2025-11-25", "capabilities": {},
                "clientInfo": {"name": "bench", "version": "1"}}),
    );
    server
        .stdin
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
        .unwrap_or_else(|e| panic!("write: {e}"));

    println!(
        "{ROUNDS} sequential round trips each after {WARMUP} warm-up ones, {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| request | median | p99 | mean | min | max | answer bytes |");
    println!("|---|--:|--:|--:|--:|--:|--:|");
    measure(&mut server, "`ping`", "ping", &json!({}));
    measure(
        &mut server,
        "`tools/list` (8 tools)",
        "tools/list",
        &json!({}),
    );
    measure(
        &mut server,
        "`tools/call` `read_file` (30-line file)",
        "tools/call",
        &json!({"name": "read_file", "arguments": {"path": "src/lib.rs"}}),
    );

    // Pipelined: every request written before any answer is read (a writer thread keeps the
    // pipes from filling up on both sides).
    let start = Instant::now();
    let first = server.next_id + 1;
    let mut batch = Vec::new();
    for i in 0..PIPELINED {
        let msg = json!({"jsonrpc": "2.0", "id": first + i as u64, "method": "tools/call",
            "params": {"name": "read_file", "arguments": {"path": "src/lib.rs"}}});
        batch.extend_from_slice(msg.to_string().as_bytes());
        batch.push(b'\n');
    }
    server.next_id += PIPELINED as u64;
    let mut stdin = server.stdin;
    let writer = std::thread::spawn(move || {
        stdin
            .write_all(&batch)
            .unwrap_or_else(|e| panic!("write: {e}"));
        stdin
    });
    let mut answered = 0;
    let mut stdout = server.stdout;
    let mut line = String::new();
    while answered < PIPELINED {
        line.clear();
        let n = stdout
            .read_line(&mut line)
            .unwrap_or_else(|e| panic!("read: {e}"));
        assert!(n > 0, "the server closed stdout");
        answered += 1;
    }
    let took = start.elapsed();
    println!();
    println!(
        "{PIPELINED} pipelined `read_file` calls: all answered in {:.1} ms ({:.0} calls/s)",
        took.as_secs_f64() * 1e3,
        PIPELINED as f64 / took.as_secs_f64()
    );
    let stdin = writer.join().unwrap_or_else(|_| panic!("writer thread"));
    drop(stdin);
    let status = server.child.wait().unwrap_or_else(|e| panic!("wait: {e}"));
    assert!(status.success(), "skillrun mcp exited with {status}");
}
