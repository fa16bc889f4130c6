//! The Python tutorial's Azure management snippet in Rust:
//!
//! ```python
//! credential = DefaultAzureCredential()
//! rm = ResourceManagementClient(credential, sub_id)
//! for rg in rm.resource_groups.list():
//!     print(rg.name, rg.location)
//! ```
//!
//! then every virtual machine of the subscription with its power state.
//!
//! Credentials come from the `DefaultAzureCredential`-equivalent chain (environment service
//! principal, workload identity, managed identity, `az login`), the subscription from
//! `AZURE_SUBSCRIPTION_ID`. The test command runs it against the project's fake ARM server
//! (Microsoft's documented example responses, not a live service), which needs plain http on
//! loopback: `CLOUDKIT_AZURE_EMULATOR=1` allows that.
//!
//! ```text
//! AZURE_SUBSCRIPTION_ID=… az login && cargo run --example azure_resource_groups
//! CLOUDKIT_AZURE_EMULATOR=1 scripts/with-fake.sh arm cargo run --example azure_resource_groups
//! ```
//!
//! Exits non-zero on failure.

use std::process::ExitCode;

use cloudkit::session::Session;
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("azure_resource_groups failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // credential = DefaultAzureCredential(); rm = ResourceManagementClient(credential, sub_id)
    let emulator = std::env::var_os("CLOUDKIT_AZURE_EMULATOR").is_some();
    let session = Session::azure().emulator(emulator).load().await?;
    let rm = session.arm()?;
    println!("subscription {}", rm.subscription_id().unwrap_or("(none: set AZURE_SUBSCRIPTION_ID)"));

    // for rg in rm.resource_groups.list(): print(rg.name, rg.location)
    let mut groups = rm.resource_groups().list().into_items(Default::default());
    let mut count = 0;
    while let Some(rg) = groups.try_next().await? {
        println!("{} {}", rg.name, rg.location);
        count += 1;
    }
    println!("{count} resource group(s)");

    // for vm in compute.virtual_machines.list_all(): print(vm.name, power state)
    let vms = rm.virtual_machines();
    let mut all = vms.list_all().into_items(Default::default());
    while let Some(vm) = all.try_next().await? {
        let group = vm.resource_group().unwrap_or("?").to_owned();
        let power = match vm.power_state() {
            Some(state) => state.to_string(),
            None => vms
                .instance_view(&group, &vm.name)
                .send()
                .await?
                .power_state()
                .map_or("unknown".into(), |p| p.to_string()),
        };
        println!("  vm {} in {group} ({}): {power}", vm.name, vm.location);
    }
    Ok(())
}
