//! The behaviour suite every [`Compute`] backend must pass (feature `conformance`).
//!
//! The checks follow the trait's documented contract and nothing provider-specific: instance ids are
//! only compared and passed back (the backend's [`Setup`] supplies the ids it cannot know about), the
//! instances a run creates carry a run-unique tag and every listing is narrowed to it, and the neutral
//! states are the only states looked at. Where providers legitimately differ the suite accepts each
//! documented behaviour:
//! - a terminated instance may stay visible as [`InstanceState::Terminated`] (EC2, memory) or be
//!   forgotten (Azure deletes the VM): `get_instance` then answers [`Error::NotFound`], and an action
//!   on it may be [`Error::InvalidState`] or [`Error::NotFound`] — never a success or a provider error;
//! - one `create_instances` call with `count > 1` ([`Setup::create_many`]), or one call per instance.
//!
//! Each check panics with a message naming the backend and the broken behaviour. The instances are
//! terminated at the end of the lifecycle check; a check that panics half-way may leave instances
//! behind (tagged `cloudkit-conformance=<run>`).
//!
//! ```no_run
//! # async fn demo() {
//! use std::sync::Arc;
//! use cloudkit::compute::{InMemoryCompute, InstanceId, conformance};
//! let setup = conformance::Setup::new("image-1", "small", InstanceId::new("memory", "local", "vm-ffffffff"));
//! conformance::run_all(Arc::new(InMemoryCompute::new("local")), &setup).await;
//! # }
//! ```
// This module is a test suite shipped as a library: failing loudly is its job.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::TryStreamExt;

use super::{Compute, CreateInstances, Error, Instance, InstanceFilter, InstanceId, InstanceState};

/// The tag key every instance of a run carries (its value is the run's name).
pub const RUN_TAG: &str = "cloudkit-conformance";

/// What the suite needs from a backend, and the choices it leaves to it.
#[derive(Clone, Debug)]
pub struct Setup {
    /// The image to create instances from (an AMI id, an image reference …).
    pub image: String,
    /// The size to create them with (instance type, VM size …).
    pub size: String,
    /// An id in this backend's scope (its provider and location) naming no instance.
    pub missing_id: InstanceId,
    /// Ids outside this backend's scope (another location or subscription, another provider); every
    /// operation on them must be [`Error::InvalidInput`]. Default: the missing id in another location,
    /// and in another provider.
    pub foreign_ids: Vec<InstanceId>,
    /// Whether one `create_instances` call may create several instances (default true).
    pub create_many: bool,
    /// The deadline of each wait for a state that will come (default 300 s).
    pub max_wait: Duration,
    /// The deadline of the wait that must time out (default 3 s).
    pub short_wait: Duration,
    /// How much longer than its deadline a wait may take to return (default 30 s: a provider's
    /// waiter may finish its current delay or request).
    pub deadline_slack: Duration,
    /// How long a wait for a ruled-out state may take to fail (default 60 s; "fail fast").
    pub fail_fast_within: Duration,
}

impl Setup {
    /// Creates with `image` and `size`; `missing_id` is an id in scope that names no instance.
    pub fn new(image: impl Into<String>, size: impl Into<String>, missing_id: InstanceId) -> Self {
        let elsewhere = InstanceId::new(
            missing_id.provider.clone(),
            format!("{}-elsewhere", missing_id.location),
            missing_id.id.clone(),
        );
        let other_provider = InstanceId::new(
            format!("{}-other", missing_id.provider),
            missing_id.location.clone(),
            missing_id.id.clone(),
        );
        Self {
            image: image.into(),
            size: size.into(),
            missing_id,
            foreign_ids: vec![elsewhere, other_provider],
            create_many: true,
            max_wait: Duration::from_secs(300),
            short_wait: Duration::from_secs(3),
            deadline_slack: Duration::from_secs(30),
            fail_fast_within: Duration::from_secs(60),
        }
    }

    /// Replaces the foreign ids.
    pub fn foreign_ids(mut self, ids: Vec<InstanceId>) -> Self {
        self.foreign_ids = ids;
        self
    }

    /// Whether one call may create several instances.
    pub fn create_many(mut self, yes: bool) -> Self {
        self.create_many = yes;
        self
    }

    /// The deadline of the waits that must succeed.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// The deadline of the wait that must time out, and how much later it may return.
    pub fn short_wait(mut self, short_wait: Duration, slack: Duration) -> Self {
        self.short_wait = short_wait;
        self.deadline_slack = slack;
        self
    }
}

/// A run-unique name (`run-<hex>`) for the tag of the instances a run creates.
pub fn run_name() -> String {
    format!("run-{:08x}", fastrand::u32(..))
}

/// Runs every check against `compute`.
pub async fn run_all(compute: Arc<dyn Compute>, setup: &Setup) {
    let c = compute.as_ref();
    errors(c, setup).await;
    lifecycle(c, setup, &run_name()).await;
}

/// The instances carrying the run's tag (and in `states`, when not empty), by id.
async fn listed(compute: &dyn Compute, run: &str, states: &[InstanceState]) -> BTreeSet<InstanceId> {
    let mut filter = InstanceFilter::default().tag(RUN_TAG, run);
    for s in states {
        filter = filter.state(*s);
    }
    let b = compute.provider();
    let found: Vec<Instance> = compute
        .list_instances(filter.clone())
        .try_collect()
        .await
        .unwrap_or_else(|e| panic!("{b}: list_instances({filter:?}): {e}"));
    for i in &found {
        assert!(filter.matches(i), "{b}: list_instances returned {i:?}, which does not pass {filter:?}");
        assert_eq!(i.id.provider, b, "{b}: a listed id names another provider: {}", i.id);
    }
    let ids: BTreeSet<InstanceId> = found.iter().map(|i| i.id.clone()).collect();
    assert_eq!(ids.len(), found.len(), "{b}: list_instances returned an instance twice: {found:?}");
    ids
}

async fn wait(compute: &dyn Compute, setup: &Setup, id: &InstanceId, target: InstanceState) -> Instance {
    let b = compute.provider();
    let reached = compute
        .wait_for_state(id, target, setup.max_wait)
        .await
        .unwrap_or_else(|e| panic!("{b}: wait_for_state({id}, {target}): {e}"));
    assert_eq!(reached.state, target, "{b}: wait_for_state({id}, {target}) returned {reached:?}");
    assert_eq!(&reached.id, id, "{b}: wait_for_state returned another instance");
    reached
}

/// Whether `result` is what an action on a terminated (possibly forgotten) instance may answer.
fn refused_as_gone<T: std::fmt::Debug>(result: &Result<T, Error>) -> bool {
    matches!(
        result,
        Err(Error::InvalidState { state: InstanceState::Terminated | InstanceState::Terminating, .. })
            | Err(Error::NotFound { .. })
    )
}

/// create → list (tag and state filters) → get → stop / start / reboot (and their idempotent
/// repeats) → wait for each state → terminate → wait terminated, then what a terminated instance
/// answers. Creates two instances tagged [`RUN_TAG`]`=run`.
pub async fn lifecycle(compute: &dyn Compute, setup: &Setup, run: &str) {
    let b = compute.provider();
    let request = || {
        CreateInstances::new(setup.image.clone(), setup.size.clone()).tag(RUN_TAG, run).tag("purpose", "conformance")
    };
    let created: Vec<Instance> = if setup.create_many {
        compute.create_instances(request().count(2)).await.unwrap_or_else(|e| panic!("{b}: create_instances: {e}"))
    } else {
        let mut all =
            compute.create_instances(request()).await.unwrap_or_else(|e| panic!("{b}: create_instances: {e}"));
        all.extend(compute.create_instances(request()).await.unwrap_or_else(|e| panic!("{b}: create_instances: {e}")));
        all
    };
    assert_eq!(created.len(), 2, "{b}: asked for 2 instances, got {created:?}");
    let (first, second) = (created[0].id.clone(), created[1].id.clone());
    assert_ne!(first, second, "{b}: two instances with one id");
    for i in &created {
        assert_eq!(i.id.provider, b, "{b}: a created id names another provider: {}", i.id);
        assert!(
            matches!(i.state, InstanceState::Pending | InstanceState::Running),
            "{b}: a new instance is pending or running, not {:?}",
            i.state
        );
        assert_eq!(i.tags.get(RUN_TAG).map(String::as_str), Some(run), "{b}: creation tags: {:?}", i.tags);
    }

    // running, with what was asked for
    for id in [&first, &second] {
        let running = wait(compute, setup, id, InstanceState::Running).await;
        assert!(!running.raw_state.is_empty(), "{b}: the provider's state name is kept");
        assert_eq!(running.tags.get(RUN_TAG).map(String::as_str), Some(run), "{b}: tags of {id}");
        assert_eq!(running.tags.get("purpose").map(String::as_str), Some("conformance"), "{b}: tags of {id}");
        if let Some(size) = &running.size {
            assert_eq!(size, &setup.size, "{b}: the size of {id}");
        }
    }
    let got = compute.get_instance(&first).await.unwrap_or_else(|e| panic!("{b}: get_instance({first}): {e}"));
    assert_eq!((&got.id, got.state), (&first, InstanceState::Running), "{b}: get_instance");

    let both: BTreeSet<InstanceId> = [first.clone(), second.clone()].into();
    assert_eq!(listed(compute, run, &[]).await, both, "{b}: listing by the run's tag");
    assert_eq!(listed(compute, run, &[InstanceState::Running]).await, both, "{b}: listing running by tag");
    assert!(listed(compute, run, &[InstanceState::Stopped]).await.is_empty(), "{b}: nothing is stopped yet");
    let absent = format!("{run}-absent");
    assert!(listed(compute, &absent, &[]).await.is_empty(), "{b}: a tag value nobody has lists nothing");

    // the deadline: waiting for a state that does not come times out, in time
    short_wait_times_out(compute, setup, &first).await;

    // stop, and its idempotent repeat; a stopped instance cannot be rebooted
    compute.stop(&first).await.unwrap_or_else(|e| panic!("{b}: stop({first}): {e}"));
    wait(compute, setup, &first, InstanceState::Stopped).await;
    compute.stop(&first).await.unwrap_or_else(|e| panic!("{b}: stop on a stopped instance must succeed: {e}"));
    assert_eq!(
        compute.get_instance(&first).await.unwrap().state,
        InstanceState::Stopped,
        "{b}: stopping a stopped instance changes nothing"
    );
    let reboot = compute.reboot(&first).await;
    assert!(matches!(reboot, Err(Error::InvalidState { .. })), "{b}: reboot of a stopped instance: {reboot:?}");
    assert_eq!(
        listed(compute, run, &[InstanceState::Stopped]).await,
        [first.clone()].into(),
        "{b}: listing stopped by tag"
    );
    assert_eq!(
        listed(compute, run, &[InstanceState::Running]).await,
        [second.clone()].into(),
        "{b}: listing running by tag"
    );
    assert_eq!(
        listed(compute, run, &[InstanceState::Running, InstanceState::Stopped]).await,
        both,
        "{b}: several states are alternatives"
    );

    // start, its idempotent repeat, reboot
    compute.start(&first).await.unwrap_or_else(|e| panic!("{b}: start({first}): {e}"));
    wait(compute, setup, &first, InstanceState::Running).await;
    compute.start(&first).await.unwrap_or_else(|e| panic!("{b}: start on a running instance must succeed: {e}"));
    compute.reboot(&first).await.unwrap_or_else(|e| panic!("{b}: reboot({first}): {e}"));
    wait(compute, setup, &first, InstanceState::Running).await;

    // terminate
    for id in [&first, &second] {
        compute.terminate(id).await.unwrap_or_else(|e| panic!("{b}: terminate({id}): {e}"));
    }
    for id in [&first, &second] {
        wait(compute, setup, id, InstanceState::Terminated).await;
    }
    terminated_is_final(compute, setup, &first).await;
    assert!(listed(compute, run, &[InstanceState::Running]).await.is_empty(), "{b}: nothing of the run runs");
    for i in listed_instances(compute, run).await {
        assert_eq!(i.state, InstanceState::Terminated, "{b}: a listed instance of the run is not terminated: {i:?}");
    }
}

async fn listed_instances(compute: &dyn Compute, run: &str) -> Vec<Instance> {
    compute.list_instances(InstanceFilter::default().tag(RUN_TAG, run)).try_collect().await.unwrap()
}

/// On a running instance, waiting `short_wait` for `Stopped` (which nothing asked for, and which
/// `Running` does not rule out) is [`Error::Timeout`], returned within the deadline and its slack.
pub async fn short_wait_times_out(compute: &dyn Compute, setup: &Setup, running: &InstanceId) {
    let b = compute.provider();
    let started = Instant::now();
    let result = compute.wait_for_state(running, InstanceState::Stopped, setup.short_wait).await;
    let took = started.elapsed();
    let shown = result.as_ref().err().map(ToString::to_string).unwrap_or_default();
    match result {
        Err(Error::Timeout { id, target, last, last_error, .. }) => {
            assert_eq!(target, InstanceState::Stopped, "{b}: Timeout names the target");
            assert_eq!(last, InstanceState::Running, "{b}: Timeout names the last state seen");
            assert!(id.contains(&running.id), "{b}: Timeout names the instance: {id}");
            assert!(last_error.is_none(), "{b}: the polls succeeded, yet the last error is {last_error:?}");
            assert!(
                shown.contains(&id) && shown.contains("stopped") && shown.contains("running"),
                "{b}: Display names the instance, the awaited state and the last one: {shown}"
            );
        }
        other => panic!("{b}: waiting {:?} for a state that does not come: {other:?}", setup.short_wait),
    }
    assert!(
        took <= setup.short_wait + setup.deadline_slack,
        "{b}: a wait with a {:?} deadline took {took:?}",
        setup.short_wait
    );
}

/// A terminated instance stays terminated (or gone): it cannot be started, stopped or rebooted,
/// terminating it again is harmless, and waiting for it to run fails fast.
pub async fn terminated_is_final(compute: &dyn Compute, setup: &Setup, id: &InstanceId) {
    let b = compute.provider();
    match compute.get_instance(id).await {
        Ok(i) => assert_eq!(i.state, InstanceState::Terminated, "{b}: a terminated instance reads as {i:?}"),
        Err(Error::NotFound { .. }) => {}
        Err(e) => panic!("{b}: get_instance of a terminated instance: {e:?}"),
    }
    let start = compute.start(id).await;
    assert!(refused_as_gone(&start), "{b}: start of a terminated instance: {start:?}");
    let stop = compute.stop(id).await;
    assert!(refused_as_gone(&stop), "{b}: stop of a terminated instance: {stop:?}");
    let reboot = compute.reboot(id).await;
    assert!(refused_as_gone(&reboot), "{b}: reboot of a terminated instance: {reboot:?}");
    let again = compute.terminate(id).await;
    assert!(
        again.is_ok() || matches!(again, Err(Error::NotFound { .. })),
        "{b}: terminating a terminated instance is harmless: {again:?}"
    );
    let started = Instant::now();
    let waited = compute.wait_for_state(id, InstanceState::Running, setup.max_wait).await;
    assert!(
        matches!(
            waited,
            Err(Error::WaitFailed {
                target: InstanceState::Running,
                reached: InstanceState::Terminated | InstanceState::Terminating,
                ..
            }) | Err(Error::NotFound { .. })
        ),
        "{b}: waiting for a terminated instance to run: {waited:?}"
    );
    assert!(
        started.elapsed() <= setup.fail_fast_within,
        "{b}: waiting for a ruled-out state must fail fast, took {:?}",
        started.elapsed()
    );
    let done = compute.wait_for_state(id, InstanceState::Terminated, setup.max_wait).await;
    assert!(
        matches!(&done, Ok(i) if i.state == InstanceState::Terminated),
        "{b}: waiting for a terminated instance to be terminated: {done:?}"
    );
}

/// Typed errors: an unknown id is `NotFound`, ids outside the backend's scope and requests no
/// provider accepts are `InvalidInput`. Creates nothing.
pub async fn errors(compute: &dyn Compute, setup: &Setup) {
    let b = compute.provider();
    let missing = &setup.missing_id;
    assert_eq!(missing.provider, b, "{b}: Setup::missing_id must be in the backend's scope");
    let got = compute.get_instance(missing).await;
    assert!(matches!(got, Err(Error::NotFound { .. })), "{b}: get_instance of an unknown id: {got:?}");
    let stop = compute.stop(missing).await;
    assert!(matches!(stop, Err(Error::NotFound { .. })), "{b}: stop of an unknown id: {stop:?}");
    let start = compute.start(missing).await;
    assert!(matches!(start, Err(Error::NotFound { .. })), "{b}: start of an unknown id: {start:?}");
    let reboot = compute.reboot(missing).await;
    assert!(matches!(reboot, Err(Error::NotFound { .. })), "{b}: reboot of an unknown id: {reboot:?}");

    for foreign in &setup.foreign_ids {
        let invalid = |what: &str, r: &Result<(), Error>| {
            assert!(matches!(r, Err(Error::InvalidInput { .. })), "{b}: {what}({foreign}) of a foreign id: {r:?}");
        };
        invalid("get_instance", &compute.get_instance(foreign).await.map(|_| ()));
        invalid("start", &compute.start(foreign).await);
        invalid("stop", &compute.stop(foreign).await);
        invalid("reboot", &compute.reboot(foreign).await);
        invalid("terminate", &compute.terminate(foreign).await);
        invalid(
            "wait_for_state",
            &compute.wait_for_state(foreign, InstanceState::Running, setup.short_wait).await.map(|_| ()),
        );
    }

    let zero = compute.create_instances(CreateInstances::new(setup.image.clone(), setup.size.clone()).count(0)).await;
    assert!(matches!(zero, Err(Error::InvalidInput { .. })), "{b}: creating 0 instances: {zero:?}");
    let no_image = compute.create_instances(CreateInstances::new(" ", setup.size.clone())).await;
    assert!(matches!(no_image, Err(Error::InvalidInput { .. })), "{b}: creating without an image: {no_image:?}");
    let no_size = compute.create_instances(CreateInstances::new(setup.image.clone(), "")).await;
    assert!(matches!(no_size, Err(Error::InvalidInput { .. })), "{b}: creating without a size: {no_size:?}");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::InMemoryCompute;

    #[tokio::test]
    async fn in_memory_compute_passes() {
        let setup = Setup::new("image-1", "small", InstanceId::new("memory", "conformance", "vm-ffffffff"))
            .max_wait(Duration::from_secs(10))
            .short_wait(Duration::from_millis(300), Duration::from_secs(5));
        run_all(Arc::new(InMemoryCompute::new("conformance")), &setup).await;
        // one instance per call works as well
        let one_by_one = setup.clone().create_many(false);
        lifecycle(&InMemoryCompute::new("conformance"), &one_by_one, &run_name()).await;
    }
}
