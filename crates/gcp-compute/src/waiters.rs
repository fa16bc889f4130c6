//! Instance waiters on `instances.get`, with the vocabulary of the EC2 and ARM waiters.
//!
//! | waiter | success | failure | retry | delay, attempts |
//! |---|---|---|---|---|
//! | `wait_until_running` (`InstanceRunning`) | `RUNNING` | `STOPPING`, `PENDING_STOP`, `SUSPENDING`, `DEPROVISIONING` | anything else | 5 s, 60 |
//! | `wait_until_stopped` (`InstanceStopped`) | `TERMINATED` or `STOPPED` | — | anything else | 5 s, 60 |
//! | `wait_until_terminated` (`InstanceTerminated`) | `TERMINATED` | — | anything else | 5 s, 60 |
//! | `wait_until_deleted` (`InstanceDeleted`) | a 404 (`notFound`) | — | the instance still answers | 5 s, 60 |
//!
//! As EC2's `InstanceRunning` fails on `stopping`/`shutting-down` but retries on `stopped`, an
//! instance on its way down fails `wait_until_running` at once, while a `TERMINATED` (stopped) or
//! `SUSPENDED` one is polled again: right after `start`/`resume` returns its operation, the
//! instance may still report its old status. Between polls the delay follows the Smithy backoff (first retry after 5 s, jittered
//! doubling up to 60 s); the wait ends after 60 polls or at the deadline (`max_wait`, 10 minutes),
//! whichever comes first. An error no acceptor matches ends the wait. Everything is overridable
//! per call.
//!
//! ```no_run
//! # async fn demo(compute: cloudkit_gcp_compute::ComputeClient) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! let instances = compute.instances();
//! instances.start("us-central1-a", "web-1").send().await?; // do not wait for the operation…
//! let done = instances.wait_until_running("us-central1-a", "web-1").max_wait(Duration::from_secs(300)).wait().await?;
//! println!("running after {} polls", done.attempts);
//! # Ok(()) }
//! ```

use std::time::Duration;

use cloudkit_waiter::{Acceptor, AcceptorState, Waiter};
/// Re-exports of the waiter types that appear in this module's API.
pub use cloudkit_waiter::{FinalPoll, WaiterConfig, WaiterError};

use crate::error::GceError;
use crate::instances::Instances;
use crate::model::{Instance, InstanceStatus};

/// The error of an instance wait that did not succeed.
pub type GceWaiterError = WaiterError<Instance, GceError>;

/// The longest delay between two polls.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// The number of attempts of every instance waiter.
pub const MAX_ATTEMPTS: u32 = 60;

/// The delay of the instance waiters.
pub const DELAY: Duration = Duration::from_secs(5);

/// The default configuration: first retry after `delay`, jittered doubling up to [`MAX_DELAY`],
/// at most [`MAX_ATTEMPTS`] polls, a 10-minute deadline.
pub fn default_config(delay: Duration) -> WaiterConfig {
    WaiterConfig::polling(delay, MAX_DELAY, MAX_ATTEMPTS).max_wait(Duration::from_secs(600))
}

/// Which instance waiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstanceWaiterKind {
    /// `InstanceRunning`.
    Running,
    /// `InstanceStopped` (`TERMINATED` or `STOPPED`).
    Stopped,
    /// `InstanceTerminated`.
    Terminated,
    /// `InstanceDeleted`.
    Deleted,
}

type InstanceAcceptor = Acceptor<Instance, GceError>;

fn status_in(state: AcceptorState, statuses: Vec<InstanceStatus>) -> InstanceAcceptor {
    let names: Vec<&str> = statuses.iter().map(InstanceStatus::as_str).collect();
    let description = format!("the status is {}", names.join(" or "));
    Acceptor::output(state, description, move |i: &Instance| statuses.contains(&i.status))
}

impl InstanceWaiterKind {
    /// The waiter's name, as in errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::Running => "InstanceRunning",
            Self::Stopped => "InstanceStopped",
            Self::Terminated => "InstanceTerminated",
            Self::Deleted => "InstanceDeleted",
        }
    }

    /// The acceptors, in order.
    pub fn acceptors(self) -> Vec<InstanceAcceptor> {
        match self {
            Self::Running => vec![
                status_in(AcceptorState::Success, vec![InstanceStatus::Running]),
                status_in(
                    AcceptorState::Failure,
                    vec![
                        InstanceStatus::Stopping,
                        InstanceStatus::PendingStop,
                        InstanceStatus::Suspending,
                        InstanceStatus::Deprovisioning,
                    ],
                ),
            ],
            Self::Stopped => {
                vec![status_in(AcceptorState::Success, vec![InstanceStatus::Terminated, InstanceStatus::Stopped])]
            }
            Self::Terminated => vec![status_in(AcceptorState::Success, vec![InstanceStatus::Terminated])],
            Self::Deleted => vec![
                Acceptor::error(AcceptorState::Success, "the instance is gone (404)", |e: &GceError| e.is_not_found()),
                Acceptor::output(AcceptorState::Retry, "the instance still exists", |_: &Instance| true),
            ],
        }
    }
}

/// An instance waiter ([`Instances::wait_until_running`] and friends).
#[derive(Clone, Debug)]
#[must_use = "call .wait()"]
pub struct InstanceWaiter {
    instances: Instances,
    zone: String,
    name: String,
    kind: InstanceWaiterKind,
    config: WaiterConfig,
    seed: Option<u64>,
}

impl InstanceWaiter {
    cloudkit_waiter::waiter_settings!(seed);

    /// Which waiter.
    pub fn kind(&self) -> InstanceWaiterKind {
        self.kind
    }

    /// Polls `instances.get` until the acceptors say success or failure, or the budget runs
    /// out. For `wait_until_deleted` the final poll's result is the 404 error.
    pub async fn wait(self) -> Result<FinalPoll<Instance, GceError>, GceWaiterError> {
        let resource = format!("instance {}/{}", self.zone, self.name);
        let waiter = Waiter::new(self.kind.name(), self.config, self.kind.acceptors())
            .resource(resource)
            .with_optional_seed(self.seed);
        let (instances, zone, name) = (self.instances, self.zone, self.name);
        waiter.wait(|| instances.get(zone.clone(), name.clone()).send()).await
    }
}

impl Instances {
    fn waiter(&self, kind: InstanceWaiterKind, zone: String, name: String) -> InstanceWaiter {
        InstanceWaiter { instances: self.clone(), zone, name, kind, config: default_config(DELAY), seed: None }
    }

    /// Waits until the instance is `RUNNING`; fails when it is going down (`STOPPING`,
    /// `PENDING_STOP`, `SUSPENDING`, `DEPROVISIONING`); a `TERMINATED` or `SUSPENDED` instance is
    /// polled again (it may be about to start) until the deadline (5 s, 60 attempts, 10 minutes).
    pub fn wait_until_running(&self, zone: impl Into<String>, name: impl Into<String>) -> InstanceWaiter {
        self.waiter(InstanceWaiterKind::Running, zone.into(), name.into())
    }

    /// Waits until the instance is stopped: `TERMINATED` (what a stopped VM reports) or `STOPPED`.
    pub fn wait_until_stopped(&self, zone: impl Into<String>, name: impl Into<String>) -> InstanceWaiter {
        self.waiter(InstanceWaiterKind::Stopped, zone.into(), name.into())
    }

    /// Waits until the instance is `TERMINATED`.
    pub fn wait_until_terminated(&self, zone: impl Into<String>, name: impl Into<String>) -> InstanceWaiter {
        self.waiter(InstanceWaiterKind::Terminated, zone.into(), name.into())
    }

    /// Waits until `instances.get` answers 404.
    pub fn wait_until_deleted(&self, zone: impl Into<String>, name: impl Into<String>) -> InstanceWaiter {
        self.waiter(InstanceWaiterKind::Deleted, zone.into(), name.into())
    }
}
