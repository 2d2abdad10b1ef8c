//! One test binary for the whole suite (one link step instead of one per file).
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a failed fixture step should stop the test with its message"
)]

mod suite;
