//! Redaction throughput: one pass of every rule over 1 MiB of ordinary and adversarial text.
//!
//! Run: `cargo bench --bench redact` (prints a markdown table for BENCHMARKS.md).

use std::time::{Duration, Instant};

use skillrun::redact::Redactor;

const MIB: usize = 1 << 20;
/// Runs per input; the median is reported.
const RUNS: usize = 5;

fn fill(unit: &str) -> String {
    unit.repeat(MIB / unit.len() + 1)
}

fn main() {
    let mut seed = 0x2545_f491_4f6c_dd1d_u64;
    let base64: String = (0..MIB)
        .map(|_| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
            char::from(alphabet[(seed % 64) as usize])
        })
        .collect();
    let cases = [
        (
            "code",
            fill(
                "fn token_refresh(&mut self) -> Result<()> { let url = \"https://github.com/o/r\"; // retry 3 times, see src/payments/retry.rs (3f2a9c1)\n",
            ),
        ),
        ("base64", base64),
        ("letters", "a".repeat(MIB)),
        ("at-signs", fill("a@b.")),
        ("assignments", fill("token=")),
        ("colons", fill("x://u:")),
        ("begin", fill("-----BEGIN PRIVATE KEY-----\n")),
        ("unicode", fill("Grüße aus Köln — 東京 ✓ ")),
        ("eyJ", fill("eyJabc.")),
        (
            "dense",
            fill("password=Xk9#mP2$vL7q bob@example.com https://u:pw@h\n"),
        ),
    ];
    println!("| input (1 MiB) | matches | median of {RUNS} |");
    println!("|---|--:|--:|");
    for (name, text) in cases {
        let mut times: Vec<Duration> = Vec::new();
        let mut found = 0;
        for _ in 0..RUNS {
            let started = Instant::now();
            found = Redactor::global().find(&text).len();
            times.push(started.elapsed());
        }
        times.sort();
        println!("| {name} | {found} | {:.1?} |", times[RUNS / 2]);
    }
}
