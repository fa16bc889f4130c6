//! Empty on purpose: cargo compiles every dependency of Cargo.toml whether or not it is used,
//! so this project's cold build is the third-party part of the cloudkit project it was made from.
fn main() {}
