//! Runs the in-process fake ARM server of `cloudkit_tests::arm` as a process, for the example
//! `azure_resource_groups` in the test command (`scripts/with-fake.sh arm`).
//!
//! **Microsoft's documented example responses served by a fake, not a live service.** Prints the
//! environment that points the Azure credential chain and the ARM client at it
//! (`AZURE_TENANT_ID=…`, …, `AZURE_RESOURCE_MANAGER_ENDPOINT=…`), then `READY`, and serves until it
//! is killed.

use std::io::Write;

use cloudkit_tests::arm::ArmFake;

fn main() -> std::io::Result<()> {
    let fake = ArmFake::start()?;
    fake.set_retry_after(0);
    fake.add_resource_group("web-rg", "eastus", &[("env", "prod")]);
    fake.add_vm("web-rg", "web-1", "eastus", "PowerState/running");
    fake.add_vm("web-rg", "web-2", "eastus", "PowerState/deallocated");
    let mut out = std::io::stdout().lock();
    for (key, value) in fake.env() {
        writeln!(out, "{key}={value}")?;
    }
    writeln!(out, "READY")?;
    out.flush()?;
    drop(out);
    // The fake serves on its own threads; keep it (and this process) alive until killed.
    loop {
        std::thread::park();
    }
}
