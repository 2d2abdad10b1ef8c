//! Any bytes as a tool call (tool index, then JSON arguments) on a small repository: a result
//! or an error, never a panic, and nothing read from outside the repository.
#![no_main]

use std::path::PathBuf;
use std::process::Command;
use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use skillrun::tools::{Registry, Sandbox};

static REPO: LazyLock<PathBuf> = LazyLock::new(|| {
    let dir = std::env::temp_dir().join(format!("skillrun-fuzz-repo-{}", std::process::id()));
    let _ = std::fs::create_dir_all(dir.join("src"));
    let _ = std::fs::write(dir.join("src/a.txt"), "hello\nworld\n");
    let _ = std::os::unix::fs::symlink("/etc/passwd", dir.join("src/link"));
    let git = |args: &[&str]| {
        let _ = Command::new("git")
            .args(args)
            .current_dir(&dir)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "F")
            .env("GIT_AUTHOR_EMAIL", "f@example.com")
            .env("GIT_COMMITTER_NAME", "F")
            .env("GIT_COMMITTER_EMAIL", "f@example.com")
            .output();
    };
    git(&["init", "-q", "-b", "main"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "init"]);
    git(&["tag", "v1"]);
    dir
});
static SANDBOX: LazyLock<Sandbox> =
    LazyLock::new(|| Sandbox::open(&REPO).unwrap_or_else(|e| panic!("sandbox: {e}")));
static REGISTRY: LazyLock<Registry> = LazyLock::new(Registry::standard);

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let names = REGISTRY.names();
    let name = names[usize::from(pick) % names.len()];
    let Ok(args) = serde_json::from_slice::<serde_json::Value>(rest) else {
        return;
    };
    if let Ok(result) = REGISTRY.call(&SANDBOX, name, args) {
        assert!(!result.text.contains("root:x:0:0"), "read outside the repository via {name}");
    }
    if let Ok(path) = std::str::from_utf8(rest) {
        if let Ok(p) = SANDBOX.resolve(path) {
            assert!(!p.as_str().split('/').any(|c| c == ".."));
        }
    }
});
