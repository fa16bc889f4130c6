//! cloudkit's runnable examples live next to this file; run one with
//! `cargo run --example NAME` from the workspace root (see the README).
//!
//! This package stands for a user's project: it depends on the `cloudkit` facade alone (plus tokio
//! and futures, as the README says), so every example, the tests in `tests/` and the README's Rust
//! code (compiled below as doctests) show that the facade is enough.

/// The README's Rust snippets, compiled (and run unless marked `no_run`) as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeSnippets;
