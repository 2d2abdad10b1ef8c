//! Properties over generated inputs: the sandbox never leaves the root, redaction is
//! idempotent and never lets a secret through, the envelope always holds its content, and
//! any answer a model server sends is either read as a message or refused, never a panic.

use std::os::unix::fs::symlink;
use std::path::Path;

use proptest::prelude::*;

use skillrun::redact::Redactor;
use skillrun::tools::Sandbox;
use skillrun::untrusted::{CLOSE_MARK, Envelope, OPEN_MARK, sanitize};

/// Path-like strings built from pieces that matter: `..`, `.git`, symlinks, separators.
fn path_strategy() -> impl Strategy<Value = String> {
    let part = prop_oneof![
        Just("..".to_string()),
        Just(".".to_string()),
        Just(".git".to_string()),
        Just(".GIT".to_string()),
        Just("".to_string()),
        Just("out".to_string()),
        Just("in".to_string()),
        Just("file.txt".to_string()),
        Just("passwd".to_string()),
        Just("~".to_string()),
        Just("C:".to_string()),
        "[a-z\\\\\\x00%]{1,6}",
    ];
    (any::<bool>(), prop::collection::vec(part, 0..6)).prop_map(|(abs, parts)| {
        let p = parts.join("/");
        if abs { format!("/{p}") } else { p }
    })
}

fn fixture() -> (tempfile::TempDir, tempfile::TempDir) {
    let root = tempfile::tempdir().expect("root");
    let outside = tempfile::tempdir().expect("outside");
    std::fs::write(outside.path().join("passwd"), "secret").expect("write");
    std::fs::create_dir_all(root.path().join("in")).expect("mkdir");
    std::fs::create_dir_all(root.path().join(".git")).expect("mkdir");
    std::fs::write(root.path().join("in/file.txt"), "inside").expect("write");
    symlink(outside.path(), root.path().join("out")).expect("symlink");
    symlink(outside.path().join("passwd"), root.path().join("in/passwd")).expect("symlink");
    symlink(root.path().join(".git"), root.path().join("in/gitlink")).expect("symlink");
    (root, outside)
}

proptest! {
    // Each case builds its own fixture folder: fewer cases, same coverage of the pieces.
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn path_resolution_never_leaves_the_root(path in path_strategy()) {
        let (root, _outside) = fixture();
        let sandbox = Sandbox::open(root.path()).expect("sandbox");
        let real_root = root.path().canonicalize().expect("canonical");
        if let Ok(p) = sandbox.resolve(&path) {
            let s = p.as_str();
            prop_assert!(!s.starts_with('/'));
            prop_assert!(!s.split('/').any(|c| c == ".." || c.eq_ignore_ascii_case(".git")));
            if let Ok(real) = sandbox.worktree_file(&p) {
                prop_assert!(real.starts_with(&real_root), "{path:?} -> {real:?}");
                prop_assert!(!real.starts_with(real_root.join(".git")), "{path:?} -> {real:?}");
                prop_assert!(!Path::new(&real).ends_with("passwd") || real.starts_with(&real_root));
            }
        }
    }
}

/// Text with secrets planted among arbitrary characters.
fn text_with_secrets() -> impl Strategy<Value = (String, Vec<String>)> {
    let secret = prop_oneof![
        "AKIA[A-Z2-7]{16}",
        "ghp_[A-Za-z0-9]{36}",
        "glpat-[A-Za-z0-9_-]{20}",
        "xoxb-[0-9]{11}-[0-9]{12}-[A-Za-z0-9]{24}",
        "sk_live_[A-Za-z0-9]{24}",
        "eyJ[A-Za-z0-9_-]{12}\\.eyJ[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]{20}",
    ]
    // Twelve identical characters in a row read as a stand-in (`000000000000`), by design;
    // random tokens all but never hold them, but the shrinker makes them.
    .prop_filter("a run of twelve identical characters is a stand-in", |s| {
        !s.as_bytes()
            .windows(12)
            .any(|w| w.iter().all(|&b| b == w[0]))
    });
    let filler = "[ -~\\n\u{00e9}\u{200b}]{0,40}";
    prop::collection::vec((filler, secret), 0..4).prop_map(|pairs| {
        let mut text = String::new();
        let mut secrets = Vec::new();
        for (f, s) in pairs {
            text.push_str(&f);
            text.push(' ');
            text.push_str(&s);
            text.push(' ');
            secrets.push(s);
        }
        (text, secrets)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn redaction_is_idempotent_and_lets_no_secret_through((text, secrets) in text_with_secrets()) {
        let r = Redactor::global();
        let once = r.redact(&text);
        let twice = r.redact(&once.text);
        prop_assert_eq!(&twice.text, &once.text);
        prop_assert_eq!(twice.total(), 0);
        for s in &secrets {
            prop_assert!(!once.text.contains(s.as_str()), "{s} survived in {:?}", once.text);
        }
        prop_assert!(r.find(&once.text).is_empty());
    }

    #[test]
    fn redaction_of_any_text_is_idempotent(text in "\\PC{0,200}") {
        let r = Redactor::global();
        let once = r.redact(&text);
        prop_assert_eq!(r.redact(&once.text).text, once.text);
    }

    #[test]
    fn the_envelope_holds_any_content(text in "(\\PC|<<<|>>>|</tool>|<system>|\u{E0041}|\u{202E}){0,80}", boundary in "[0-9a-f]{32}") {
        let env = Envelope::with_boundary(boundary.clone());
        let (clean, _) = sanitize(&text, Some(&boundary));
        let wrapped = env.wrap("read_file", &serde_json::json!({"path": "x"}), None, &clean);
        prop_assert_eq!(env.unwrap(&wrapped), Some(clean.as_str()));
        prop_assert_eq!(wrapped.matches(OPEN_MARK).count(), 1);
        prop_assert_eq!(wrapped.matches(CLOSE_MARK).count(), 1);
        prop_assert_eq!(wrapped.matches(boundary.as_str()).count(), 2);
        prop_assert!(!clean.chars().any(skillrun::untrusted::is_invisible));
        // Sanitising is stable: what it produced is left as it is.
        prop_assert_eq!(sanitize(&clean, Some(&boundary)).0, clean);
    }
}

/// JSON trees built from the names and shapes a chat completion has, in any arrangement.
fn answer_strategy() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let key = prop_oneof![
        Just("id"),
        Just("object"),
        Just("created"),
        Just("model"),
        Just("choices"),
        Just("index"),
        Just("message"),
        Just("finish_reason"),
        Just("role"),
        Just("content"),
        Just("refusal"),
        Just("tool_calls"),
        Just("type"),
        Just("function"),
        Just("name"),
        Just("arguments"),
        Just("parameters"),
        Just("text"),
        Just("usage"),
        Just("prompt_tokens"),
        Just("completion_tokens"),
        Just("total_tokens"),
        Just("error"),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        prop_oneof![
            Just("stop".to_string()),
            Just("tool_calls".to_string()),
            Just("function".to_string()),
            Just("git_log".to_string()),
            Just("assistant".to_string()),
            Just("<tool_call>{\"name\": \"git_log\"}</tool_call>".to_string()),
            Just("```json\n{\"name\": \"read_file\", \"arguments\": {}}\n```".to_string()),
            "\\PC{0,12}",
        ]
        .prop_map(Value::from),
    ];
    let tree = leaf.prop_recursive(5, 64, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..6).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    });
    // Most answers have the outline right and the inside wrong; some are anything at all.
    prop_oneof![
        1 => tree.clone(),
        3 => (tree.clone(), tree.clone(), tree.clone(), tree).prop_map(|(message, calls, finish, usage)| {
            let mut message = match message {
                Value::Object(o) => o,
                other => [("content".to_string(), other)].into_iter().collect(),
            };
            message.insert("tool_calls".into(), calls);
            serde_json::json!({
                "choices": [{"message": message, "finish_reason": finish}, usage.clone()],
                "usage": usage,
            })
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn any_server_answer_is_read_as_a_message_or_refused(answer in answer_strategy()) {
        let mut repaired = answer.clone();
        skillrun::model::compat::normalize(
            &mut repaired,
            1,
            &["git_log", "read_file"],
            &mut std::collections::HashSet::new(),
        );
        if let Some(message) = repaired.pointer("/choices/0/message").filter(|m| m.is_object()) {
            // The whole answer reads, not only its message.
            let whole = serde_json::from_value::<
                async_openai::types::chat::CreateChatCompletionResponse,
            >(repaired.clone());
            prop_assert!(whole.is_ok(), "{repaired} -> {whole:?}");
            let read = serde_json::from_value::<
                async_openai::types::chat::ChatCompletionResponseMessage,
            >(message.clone());
            prop_assert!(read.is_ok(), "{message} -> {read:?}");
            let read = read.unwrap_or_else(|_| unreachable!());
            for call in read.tool_calls.iter().flatten() {
                if let async_openai::types::chat::ChatCompletionMessageToolCalls::Function(f) = call {
                    prop_assert!(!f.id.is_empty());
                    prop_assert!(!f.function.arguments.trim().is_empty());
                }
            }
        }
    }
}
