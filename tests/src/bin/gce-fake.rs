//! Runs the in-process fake Compute Engine of `cloudkit_tests::gce` (with its OAuth token endpoint and
//! metadata server) as a process, for examples and tools in the test command (`scripts/with-fake.sh gce`).
//!
//! **Google's documented shapes served by a fake, not a live service.** Prints the environment that
//! points the ADC chain and a Compute client at it, then `READY`, and serves until it is killed:
//! - `GOOGLE_APPLICATION_CREDENTIALS`: the repository's test service-account key (Google's V4 signing
//!   test key), written to a temp directory with `token_uri` = the fake's `/token`;
//! - `GOOGLE_CLOUD_PROJECT`: `ck-fake-project`;
//! - `GCE_METADATA_HOST`: the fake's metadata server (used only when no credentials file is found);
//! - `CLOUDKIT_GCE_ENDPOINT`: `http://127.0.0.1:<port>/compute/v1/`, the Compute endpoint (the name the
//!   facade wires to the Compute client's endpoint override; plain http to loopback);
//! - `CLOUDKIT_GCE_FAKE_DIR`: the temp directory holding the key files (removed by the script).
//!
//! Seeded with `web-1` (RUNNING, `env=prod`) and `web-2` (TERMINATED) in `us-central1-a` and `batch-1`
//! (RUNNING) in `us-central1-b`; lists page 2 items at a time, operations finish after 2 polls.

use std::io::Write;

use cloudkit_tests::gce::GceFake;

fn main() -> std::io::Result<()> {
    let fake = GceFake::start()?;
    fake.add_instance("us-central1-a", "web-1", "RUNNING", &[("env", "prod")]);
    fake.add_instance("us-central1-a", "web-2", "TERMINATED", &[("env", "prod")]);
    fake.add_instance("us-central1-b", "batch-1", "RUNNING", &[("env", "batch")]);
    let mut out = std::io::stdout().lock();
    for (key, value) in fake.env() {
        writeln!(out, "{key}={value}")?;
    }
    if let Some(dir) = fake.service_account_key_file().parent() {
        writeln!(out, "CLOUDKIT_GCE_FAKE_DIR={}", dir.display())?;
    }
    writeln!(out, "READY")?;
    out.flush()?;
    drop(out);
    // The fake serves on its own threads; keep it (and this process) alive until killed.
    loop {
        std::thread::park();
    }
}
