//! cloudkit's runnable examples live next to this file; run one with
//! `cargo run --example NAME` from the workspace root (see the README).
