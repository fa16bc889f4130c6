//! The neutral `Compute` on Compute Engine (`GceCompute`), through the boto3-style `Session::gcp()`,
//! against the in-process fake Compute Engine of `cloudkit_tests::gce`.
//!
//! **These are Google's documented shapes served by a fake, not a live service** (no Compute Engine
//! emulator exists; see `tests/src/gce.rs`). Tokens come from the real ADC path (a service-account
//! key file; google-cloud-auth signs its own JWT for the scope, which the fake verifies), so bearer
//! auth, zone operations, paging and the instance state machine run over the real code. The
//! conformance suite is the one `InMemoryCompute`, `Ec2Compute` (moto) and `AzureCompute` pass.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use cloudkit::compute::{
    Compute, CreateInstances, Error, GceCompute, InstanceFilter, InstanceId, InstanceState, conformance,
};
use cloudkit::gce::{ComputeClient, WaiterConfig};
use cloudkit::session::{GcpSession, Session};
use cloudkit_tests::gce::{GceFake, PROJECT};
use futures::TryStreamExt;

async fn session(fake: &GceFake) -> GcpSession {
    Session::gcp().configure(|l| l.env(fake.gcp_env())).load().await.unwrap()
}

/// `GceCompute` in `zone` (or all zones), with fast polling for the fake.
async fn compute(fake: &GceFake, zone: Option<&str>) -> GceCompute {
    let session = session(fake).await;
    let fast = WaiterConfig::new(Duration::from_millis(5), Duration::from_millis(20), Duration::from_secs(30));
    let client = ComputeClient::builder(session.config()).operation_config(fast).build().unwrap();
    GceCompute::new(client, zone).unwrap().poll_interval(Duration::from_millis(10))
}

const ZONE: &str = "us-central1-a";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gce_passes_the_compute_conformance_suite() {
    let fake = GceFake::start().unwrap();
    let compute = Arc::new(compute(&fake, Some(ZONE)).await);
    let setup = conformance::Setup::new(
        "projects/debian-cloud/global/images/family/debian-12",
        "e2-micro",
        InstanceId::new("gce", format!("{PROJECT}/{ZONE}"), "no-such-instance"),
    )
    .foreign_ids(vec![
        InstanceId::new("gce", format!("another-project/{ZONE}"), "vm-1"),
        InstanceId::new("gce", format!("{PROJECT}/europe-west1-b"), "vm-1"),
        InstanceId::new("ec2", "us-east-1", "i-0123456789abcdef0"),
    ])
    .max_wait(Duration::from_secs(30))
    .short_wait(Duration::from_millis(500), Duration::from_secs(5));
    conformance::run_all(compute, &setup).await;
    assert!(fake.requests().iter().all(|r| r.path.starts_with("/compute/v1/projects/")), "only Compute calls");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ids_states_labels_and_all_zones() {
    let fake = GceFake::start().unwrap();
    fake.add_instance(ZONE, "web-1", "RUNNING", &[("env", "prod")]);
    fake.add_instance("europe-west1-b", "batch-1", "TERMINATED", &[("env", "batch")]);
    let everywhere = compute(&fake, None).await;

    // one stream across zones (aggregated list), ids scoped by project and zone
    let all: Vec<_> = everywhere.list_instances(InstanceFilter::default()).try_collect().await.unwrap();
    let ids: Vec<String> = all.iter().map(|i| i.id.to_string()).collect();
    assert!(ids.contains(&format!("gce:{PROJECT}/{ZONE}/web-1")), "{ids:?}");
    assert!(ids.contains(&format!("gce:{PROJECT}/europe-west1-b/batch-1")), "{ids:?}");
    let batch = all.iter().find(|i| i.id.id == "batch-1").unwrap();
    assert_eq!((batch.state, batch.raw_state.as_str()), (InstanceState::Stopped, "TERMINATED"));
    let prod: Vec<_> =
        everywhere.list_instances(InstanceFilter::default().tag("env", "prod")).try_collect().await.unwrap();
    assert_eq!(prod.iter().map(|i| i.id.id.as_str()).collect::<Vec<_>>(), ["web-1"]);

    // creating needs a zone; labels follow Compute Engine's rules; user data is the startup script
    let request = || CreateInstances::new("projects/debian-cloud/global/images/family/debian-12", "e2-micro");
    let nowhere = everywhere.create_instances(request()).await;
    assert!(matches!(&nowhere, Err(Error::InvalidInput { message }) if message.contains("zone")), "{nowhere:?}");
    let in_zone = compute(&fake, Some(ZONE)).await;
    let bad_label = in_zone.create_instances(request().tag("Team", "x")).await;
    assert!(matches!(bad_label, Err(Error::InvalidInput { .. })), "{bad_label:?}");
    let key = in_zone.create_instances(request().key_name("my-key")).await;
    assert!(matches!(key, Err(Error::NotSupported { .. })), "{key:?}");
    let created = in_zone
        .create_instances(request().tag("Name", "app").tag("team", "web").user_data("#!/bin/sh\necho hi\n").count(2))
        .await
        .unwrap();
    let names: Vec<&str> = created.iter().map(|i| i.id.id.as_str()).collect();
    assert_eq!(names, ["app-1", "app-2"]);
    let insert = fake.requests_to("POST", "/instances").into_iter().last().unwrap();
    let body = insert.json();
    assert_eq!(body["labels"]["team"], "web");
    assert!(body["metadata"]["items"].to_string().contains("startup-script"), "{body}");
}
