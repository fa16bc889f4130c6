//! The neutral `Compute` trait on EC2 (moto), through the boto3-style `Session`: create, list with
//! state and tag filters, get, stop/start/reboot, wait for states, terminate, and the typed errors
//! the trait contract promises (invalid state, wait failure, not found, foreign ids); and the neutral
//! Compute conformance suite (`cloudkit::compute::conformance`, the one `InMemoryCompute` passes and
//! `AzureCompute` must pass) on EC2.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use cloudkit::compute::{Compute, CreateInstances, Error, InstanceFilter, InstanceId, InstanceState, conformance};
use cloudkit::session::{AwsSession, Session};
use cloudkit_tests::testbed::{self, Emulator};
use cloudkit_tests::{aws, unique_name};
use futures::TryStreamExt;

async fn session() -> AwsSession {
    // A fake environment: no real HOME or credentials are read.
    let env = aws::static_keys_env(aws::MOTO_ACCESS_KEY_ID, aws::MOTO_SECRET_ACCESS_KEY);
    Session::aws()
        .region("us-east-1")
        .endpoint_url(testbed::endpoint(Emulator::Moto))
        .configure(|l| l.provider_config(aws::provider_config(env)))
        .load()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_lifecycle_through_the_neutral_trait() {
    let compute: Arc<dyn Compute> = Arc::new(session().await.compute().unwrap());
    assert_eq!(compute.provider(), "ec2");
    let run = unique_name("compute");
    let created = compute
        .create_instances(
            CreateInstances::new("ami-12c6146b", "t3.micro")
                .count(2)
                .tag("run", &run)
                .user_data(b"#!/bin/sh\necho hi\n".to_vec()),
        )
        .await
        .unwrap();
    assert_eq!(created.len(), 2);
    let id = created[0].id.clone();
    assert_eq!(id.provider, "ec2");
    assert_eq!(id.location, "us-east-1");
    assert!(id.id.starts_with("i-"));

    let running = compute.wait_for_state(&id, InstanceState::Running, Duration::from_secs(120)).await.unwrap();
    assert_eq!(running.state, InstanceState::Running);
    assert_eq!(running.raw_state, "running");
    assert_eq!(running.size.as_deref(), Some("t3.micro"));
    assert_eq!(running.tags.get("run"), Some(&run));

    let mine = InstanceFilter::default().tag("run", &run);
    let listed: Vec<_> =
        compute.list_instances(mine.clone().state(InstanceState::Running)).try_collect().await.unwrap();
    assert_eq!(listed.len(), 2);

    compute.stop(&id).await.unwrap();
    let stopped = compute.wait_for_state(&id, InstanceState::Stopped, Duration::from_secs(120)).await.unwrap();
    assert_eq!(stopped.state, InstanceState::Stopped);
    assert!(matches!(compute.reboot(&id).await, Err(Error::InvalidState { state: InstanceState::Stopped, .. })));
    let stopped_only: Vec<_> =
        compute.list_instances(mine.clone().state(InstanceState::Stopped)).try_collect().await.unwrap();
    assert_eq!(stopped_only.iter().map(|i| &i.id).collect::<Vec<_>>(), vec![&id]);

    compute.start(&id).await.unwrap();
    compute.wait_for_state(&id, InstanceState::Running, Duration::from_secs(120)).await.unwrap();
    compute.reboot(&id).await.unwrap();

    for instance in &created {
        compute.terminate(&instance.id).await.unwrap();
    }
    let gone = compute.wait_for_state(&id, InstanceState::Terminated, Duration::from_secs(120)).await.unwrap();
    assert_eq!(gone.state, InstanceState::Terminated);

    // The contract: a terminated instance cannot be started, and waiting for running fails fast.
    assert!(matches!(compute.start(&id).await, Err(Error::InvalidState { state: InstanceState::Terminated, .. })));
    let err = compute.wait_for_state(&id, InstanceState::Running, Duration::from_secs(120)).await.unwrap_err();
    assert!(matches!(err, Error::WaitFailed { reached: InstanceState::Terminated, .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_errors_are_typed() {
    let compute = session().await.compute().unwrap();
    let missing = InstanceId::new("ec2", "us-east-1", "i-0123456789abcdef0");
    assert!(matches!(compute.get_instance(&missing).await, Err(Error::NotFound { .. })));
    let foreign = InstanceId::new("ec2", "eu-west-1", "i-0123456789abcdef0");
    assert!(matches!(compute.get_instance(&foreign).await, Err(Error::InvalidInput { .. })));
    let other_provider = InstanceId::new("memory", "us-east-1", "vm-1");
    assert!(matches!(compute.terminate(&other_provider).await, Err(Error::InvalidInput { .. })));
    let zero = CreateInstances::new("ami-12c6146b", "t3.micro").count(0);
    assert!(matches!(compute.create_instances(zero).await, Err(Error::InvalidInput { .. })));
}

/// Issue 16, point 3: waiting for an instance EC2 does not know times out naming the instance, the
/// state waited for and the last error seen (`InvalidInstanceID.NotFound`), not "still unknown".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_wait_timeout_shows_the_last_error() {
    let compute = session().await.compute().unwrap();
    let missing = InstanceId::new("ec2", "us-east-1", "i-0123456789abcdef0");
    let err = compute.wait_for_state(&missing, InstanceState::Running, Duration::from_secs(3)).await.unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with(
            "waiting for instance ec2:us-east-1:i-0123456789abcdef0 to be running timed out after 3s; last error: \
             EC2.DescribeInstances failed: HTTP 400 InvalidInstanceID.NotFound"
        ),
        "{shown}"
    );
    let Error::Timeout { last: InstanceState::Unknown, last_error: Some(last), .. } = &err else { panic!("{err:?}") };
    let ec2 = last.downcast_ref::<cloudkit::ec2::Ec2Error>().expect("the provider's error");
    assert_eq!(ec2.code(), Some("InvalidInstanceID.NotFound"));
}

/// The provider-neutral conformance suite: the same checks as for `InMemoryCompute`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ec2_passes_the_compute_conformance_suite() {
    let compute: Arc<dyn Compute> = Arc::new(session().await.compute().unwrap());
    let setup =
        conformance::Setup::new("ami-12c6146b", "t3.micro", InstanceId::new("ec2", "us-east-1", "i-0123456789abcdef0"))
            .max_wait(Duration::from_secs(120))
            // EC2's waiters poll every 15 s: a 5 s deadline may return after one delay.
            .short_wait(Duration::from_secs(5), Duration::from_secs(30));
    conformance::run_all(compute, &setup).await;
}
