//! The neutral `Compute` on Azure virtual machines (`AzureCompute`), through the boto3-style
//! `Session::azure()`, against the in-process fake ARM server of `cloudkit_tests::arm`.
//!
//! **These are Microsoft's documented example responses served by a fake, not a live service**
//! (no ARM emulator exists; see `tests/src/arm.rs`). Tokens come from the real credential chain
//! (the environment's client secret against the fake's Entra endpoint), so the whole path — token,
//! ARM requests, long-running operations, paging — runs over the real code. The conformance suite
//! is the one `InMemoryCompute` and `Ec2Compute` (moto) pass.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use cloudkit::azure_arm::{ArmClient, WaiterConfig};
use cloudkit::compute::{
    AzureCompute, Compute, CreateInstances, Error, InstanceFilter, InstanceId, InstanceState, conformance,
};
use cloudkit::session::{AzureSession, Session};
use cloudkit_tests::arm::{ArmFake, SUBSCRIPTION_ID};
use futures::TryStreamExt;

/// A session whose credential chain and ARM endpoint are the fake's.
async fn session(fake: &ArmFake) -> AzureSession {
    Session::azure()
        .configure(|l| l.env(fake.azure_env()).resource_manager_endpoint(fake.endpoint()))
        .emulator(true)
        .load()
        .await
        .unwrap()
}

/// `AzureCompute` on one resource group, with fast polling for the fake.
async fn compute(fake: &ArmFake, group: &str) -> AzureCompute {
    let session = session(fake).await;
    let fast = WaiterConfig::new(Duration::from_millis(5), Duration::from_millis(20), Duration::from_secs(30));
    let client = ArmClient::builder(session.config()).lro_config(fast).build().unwrap();
    AzureCompute::new(client, SUBSCRIPTION_ID, Some(group))
        .network_interface(format!(
            "/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{group}/providers/Microsoft.Network/networkInterfaces/nic-1"
        ))
        .admin("azureuser", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC0 test@cloudkit")
        .poll_interval(Duration::from_millis(10))
}

const GROUP: &str = "conformance-rg";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_passes_the_compute_conformance_suite() {
    let fake = ArmFake::start().unwrap();
    fake.set_retry_after(0);
    fake.add_resource_group(GROUP, "westus", &[]);
    let compute = Arc::new(compute(&fake, GROUP).await);
    let other_subscription = "72ac930a-f34e-42d8-b06d-dc2a9e12ed71";
    let setup = conformance::Setup::new(
        "Canonical:ubuntu-24_04-lts:server:latest",
        "Standard_B1s",
        InstanceId::new("azure", format!("{SUBSCRIPTION_ID}/{GROUP}"), "no-such-vm"),
    )
    .foreign_ids(vec![
        InstanceId::new("azure", format!("{other_subscription}/{GROUP}"), "vm-1"),
        InstanceId::new("azure", format!("{SUBSCRIPTION_ID}/another-group"), "vm-1"),
        InstanceId::new("ec2", "us-east-1", "i-0123456789abcdef0"),
    ])
    .create_many(false)
    .max_wait(Duration::from_secs(30))
    .short_wait(Duration::from_millis(500), Duration::from_secs(5));
    conformance::run_all(compute, &setup).await;
    // one token for the whole run: the chain's cache
    assert_eq!(fake.token_fetches(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_states_and_what_azure_cannot_express() {
    let fake = ArmFake::start().unwrap();
    fake.set_retry_after(0);
    fake.add_vm("myResourceGroup", "vm2", "westus", "PowerState/deallocated");
    let compute = compute(&fake, "myResourceGroup").await;

    // the seeded running VM of Microsoft's VirtualMachines_Get example, and a deallocated one
    let all: Vec<_> = compute.list_instances(InstanceFilter::default()).try_collect().await.unwrap();
    let ids: Vec<String> = all.iter().map(|i| i.id.to_string()).collect();
    assert!(ids.contains(&format!("azure:{SUBSCRIPTION_ID}/myResourceGroup/myVM")), "{ids:?}");
    let vm2 = all.iter().find(|i| i.id.id == "vm2").unwrap();
    assert_eq!((vm2.state, vm2.raw_state.as_str()), (InstanceState::Stopped, "deallocated"));
    let stopped: Vec<_> =
        compute.list_instances(InstanceFilter::default().state(InstanceState::Stopped)).try_collect().await.unwrap();
    assert_eq!(stopped.iter().map(|i| i.id.id.as_str()).collect::<Vec<_>>(), ["vm2"]);

    // stop = deallocate (the state that stops billing)
    let my_vm: InstanceId = format!("azure:{SUBSCRIPTION_ID}/myResourceGroup/myVM").parse().unwrap();
    compute.stop(&my_vm).await.unwrap();
    assert!(fake.requests().iter().any(|r| r.method == "POST" && r.path.ends_with("/virtualMachines/myVM/deallocate")));
    assert_eq!(fake.vm_power_state("myResourceGroup", "myVM").as_deref(), Some("PowerState/deallocated"));

    // what the neutral request cannot say on Azure
    let request = || CreateInstances::new("Canonical:ubuntu-24_04-lts:server:latest", "Standard_B1s");
    let many = compute.create_instances(request().count(2)).await;
    assert!(matches!(many, Err(Error::NotSupported { .. })), "{many:?}");
    let key = compute.create_instances(request().key_name("my-key")).await;
    assert!(matches!(key, Err(Error::NotSupported { .. })), "{key:?}");
    // user data (cloud-init) has no place in the minimal VM definition: refused, nothing sent
    let sent = fake.requests().len();
    let user_data =
        compute.create_instances(request().user_data(b"#cloud-config\nruncmd: [touch /tmp/x]\n".to_vec())).await;
    assert!(
        matches!(&user_data, Err(Error::NotSupported { operation, provider: "azure" }) if operation.contains("user data")),
        "{user_data:?}"
    );
    assert!(!format!("{user_data:?}").contains("cloud-config"), "the user data is not echoed: {user_data:?}");
    assert_eq!(fake.requests().len(), sent, "refused before any request");
    let image = compute.create_instances(CreateInstances::new("ubuntu", "Standard_B1s")).await;
    assert!(matches!(image, Err(Error::InvalidInput { .. })), "{image:?}");
    // without a network interface nothing is sent
    let before = fake.requests().len();
    let session = session(&fake).await;
    let bare = session.compute(SUBSCRIPTION_ID, Some("myResourceGroup")).unwrap();
    let nic = bare.create_instances(request()).await;
    assert!(matches!(&nic, Err(Error::InvalidInput { message }) if message.contains("network interface")), "{nic:?}");
    assert_eq!(fake.requests().len(), before);
    // a subscription-wide backend lists every group but creates nowhere
    let wide = session.compute(SUBSCRIPTION_ID, None).unwrap();
    let listed: Vec<_> = wide.list_instances(InstanceFilter::default()).try_collect().await.unwrap();
    assert!(listed.len() >= 2, "{listed:?}");
    let nowhere = wide.create_instances(request()).await;
    assert!(
        matches!(&nowhere, Err(Error::InvalidInput { message }) if message.contains("resource group")),
        "{nowhere:?}"
    );
}
