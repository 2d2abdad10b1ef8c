//! Any bytes as the stdin of `skillrun mcp`, read by its line transport with a small line
//! limit (the first byte picks it): never a panic or a hang, at most one message handed on
//! per line, and everything written back is a whole JSON-RPC error reply, one per line.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use rmcp::transport::Transport;
use skillrun::mcp::LineTransport;
use tokio::io::AsyncReadExt;

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
});

/// Error codes the transport answers with: parse error, invalid request, invalid params.
const CODES: [i64; 3] = [-32700, -32600, -32602];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, input)) = data.split_first() else {
        return;
    };
    let max = 16 + usize::from(pick) * 16;
    let lines = input.split(|b| *b == b'\n').count();
    RUNTIME.block_on(async {
        let (server_out, mut client_in) = tokio::io::duplex(64 * 1024);
        let reader = tokio::spawn(async move {
            let mut out = Vec::new();
            client_in
                .read_to_end(&mut out)
                .await
                .unwrap_or_else(|e| panic!("reading replies: {e}"));
            out
        });
        let mut transport = LineTransport::new(input, server_out, max);
        let mut handed_on = 0usize;
        while transport.receive().await.is_some() {
            handed_on += 1;
            assert!(handed_on <= lines, "more messages than lines");
        }
        drop(transport);
        let out = reader.await.unwrap_or_else(|e| panic!("reader task: {e}"));
        assert!(
            out.is_empty() || out.ends_with(b"\n"),
            "a reply cut in half"
        );
        let mut replies = 0usize;
        for line in out.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
            let reply: serde_json::Value = serde_json::from_slice(line)
                .unwrap_or_else(|e| panic!("a reply that is not JSON ({e}): {line:?}"));
            assert_eq!(reply["jsonrpc"], "2.0", "{reply}");
            let code = reply["error"]["code"].as_i64();
            assert!(code.is_some_and(|c| CODES.contains(&c)), "{reply}");
            replies += 1;
        }
        assert!(handed_on + replies <= lines, "more answers than lines");
    });
});
