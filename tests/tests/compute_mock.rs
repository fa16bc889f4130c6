//! Users' unit tests of code that drives VMs, with `MockCompute` (feature `mock`).

use std::time::Duration;

use cloudkit::compute::{Compute, Error, Instance, InstanceId, InstanceState, MockCompute};

/// The user's code under test: restart an instance, waiting until it is stopped in between.
async fn restart(compute: &dyn Compute, id: &InstanceId) -> Result<Instance, Error> {
    compute.stop(id).await?;
    compute.wait_for_state(id, InstanceState::Stopped, Duration::from_secs(300)).await?;
    compute.start(id).await?;
    compute.wait_for_state(id, InstanceState::Running, Duration::from_secs(300)).await
}

fn instance(id: &InstanceId, state: InstanceState) -> Instance {
    Instance {
        id: id.clone(),
        state,
        raw_state: state.to_string(),
        size: None,
        image: None,
        private_ip: None,
        public_ip: None,
        launch_time: None,
        tags: Default::default(),
    }
}

#[tokio::test]
async fn restart_stops_waits_starts_and_waits() {
    let id = InstanceId::new("ec2", "us-east-1", "i-1");
    let mut compute = MockCompute::new();
    let mut seq = mockall::Sequence::new();
    compute.expect_stop().times(1).in_sequence(&mut seq).returning(|_| Ok(()));
    compute
        .expect_wait_for_state()
        .withf(|_, target, _| *target == InstanceState::Stopped)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|id, state, _| Ok(instance(id, state)));
    compute.expect_start().times(1).in_sequence(&mut seq).returning(|_| Ok(()));
    compute
        .expect_wait_for_state()
        .withf(|_, target, _| *target == InstanceState::Running)
        .times(1)
        .in_sequence(&mut seq)
        .returning(|id, state, _| Ok(instance(id, state)));
    assert_eq!(restart(&compute, &id).await.unwrap().state, InstanceState::Running);
}

#[tokio::test]
async fn restart_reports_a_terminated_instance() {
    let id = InstanceId::new("ec2", "us-east-1", "i-1");
    let mut compute = MockCompute::new();
    compute.expect_stop().returning(|id| {
        Err(Error::InvalidState { id: id.to_string(), state: InstanceState::Terminated, action: "stop" })
    });
    assert!(matches!(restart(&compute, &id).await, Err(Error::InvalidState { .. })));
}
