//! Waiters mirroring the official EC2 definitions (`waiters-2.json` / Smithy `@waitable`).
//!
//! | waiter | polls | success | failure | retry | delay, attempts |
//! |---|---|---|---|---|---|
//! | `instance_exists` | DescribeInstances | a reservation is returned | — | `InvalidInstanceID.NotFound` | 5 s, 40 |
//! | `instance_running` | DescribeInstances | all `running` | any `shutting-down`, `terminated`, `stopping` | `InvalidInstanceID.NotFound` | 15 s, 40 |
//! | `instance_stopped` | DescribeInstances | all `stopped` | any `pending`, `terminated` | — | 15 s, 40 |
//! | `instance_terminated` | DescribeInstances | all `terminated` | any `pending`, `stopping` | — | 15 s, 40 |
//! | `instance_status_ok` | DescribeInstanceStatus | all instance checks `ok` | — | `InvalidInstanceID.NotFound` | 15 s, 40 |
//! | `system_status_ok` | DescribeInstanceStatus | all system checks `ok` | — | — | 15 s, 40 |
//!
//! An output no acceptor matches means "poll again"; an error no acceptor matches ends the wait.
//! Between polls the delay follows the Smithy backoff (`cloudkit_waiter::Backoff`): the first retry
//! waits the official delay, later ones a jittered, doubling delay up to `max_delay` (120 s). The wait
//! ends after 40 polls or at the deadline (`max_wait`, default 40 × the official delay: 10 minutes for
//! most waiters), whichever comes first. Everything is overridable per call.
//!
//! ```no_run
//! # async fn demo(ec2: cloudkit_aws_ec2::Ec2Client) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! let done = ec2
//!     .wait_until_instance_running()
//!     .instance_id("i-0123456789abcdef0")
//!     .max_wait(Duration::from_secs(300))
//!     .wait()
//!     .await?;
//! println!("running after {} polls", done.attempts);
//! # Ok(()) }
//! ```

use std::time::Duration;

use cloudkit_waiter::{Acceptor, AcceptorState, Waiter, all_equal, any_equal};
/// Re-exports of the waiter types that appear in this module's API.
pub use cloudkit_waiter::{FinalPoll, WaiterConfig, WaiterError};

use crate::client::Ec2Client;
use crate::error::Ec2Error;
use crate::instance::{
    DescribeInstanceStatus, DescribeInstanceStatusOutput, DescribeInstances, DescribeInstancesOutput,
};
use crate::types::Filter;

/// The error of an EC2 wait that did not succeed.
pub type Ec2WaiterError<T> = WaiterError<T, Ec2Error>;

/// The longest delay between two polls (as in aws-sdk-rust's EC2 waiters).
pub const MAX_DELAY: Duration = Duration::from_secs(120);

/// The official number of attempts of every EC2 instance waiter.
pub const MAX_ATTEMPTS: u32 = 40;

/// The default configuration for a waiter whose official delay is `delay`: first retry after `delay`,
/// jittered doubling up to [`MAX_DELAY`], at most [`MAX_ATTEMPTS`] polls, deadline `delay × 40`.
pub fn default_config(delay: Duration) -> WaiterConfig {
    WaiterConfig::polling(delay, MAX_DELAY, MAX_ATTEMPTS)
}

/// Which DescribeInstances-based waiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum InstanceWaiterKind {
    /// `instance_exists`.
    Exists,
    /// `instance_running`.
    Running,
    /// `instance_stopped`.
    Stopped,
    /// `instance_terminated`.
    Terminated,
}

impl InstanceWaiterKind {
    /// The waiter's name, as in errors (`InstanceRunning`, as botocore names it).
    pub fn name(self) -> &'static str {
        match self {
            Self::Exists => "InstanceExists",
            Self::Running => "InstanceRunning",
            Self::Stopped => "InstanceStopped",
            Self::Terminated => "InstanceTerminated",
        }
    }

    /// The official delay (5 s for `instance_exists`, 15 s for the others).
    pub fn delay(self) -> Duration {
        match self {
            Self::Exists => Duration::from_secs(5),
            _ => Duration::from_secs(15),
        }
    }

    /// The official acceptors, in order.
    pub fn acceptors(self) -> Vec<Acceptor<DescribeInstancesOutput, Ec2Error>> {
        fn all(state: &'static str) -> Acceptor<DescribeInstancesOutput, Ec2Error> {
            Acceptor::output(
                AcceptorState::Success,
                format!("all instances are {state}"),
                move |o: &DescribeInstancesOutput| all_equal(o.state_names(), state),
            )
        }
        fn fail_any(state: &'static str) -> Acceptor<DescribeInstancesOutput, Ec2Error> {
            Acceptor::output(
                AcceptorState::Failure,
                format!("an instance is {state}"),
                move |o: &DescribeInstancesOutput| any_equal(o.state_names(), state),
            )
        }
        fn retry_not_found() -> Acceptor<DescribeInstancesOutput, Ec2Error> {
            Acceptor::error_code(AcceptorState::Retry, "InvalidInstanceID.NotFound")
        }
        match self {
            Self::Exists => vec![
                Acceptor::output(AcceptorState::Success, "the instance exists", |o: &DescribeInstancesOutput| {
                    !o.reservations.is_empty()
                }),
                retry_not_found(),
            ],
            Self::Running => vec![
                all("running"),
                fail_any("shutting-down"),
                fail_any("terminated"),
                fail_any("stopping"),
                retry_not_found(),
            ],
            Self::Stopped => vec![all("stopped"), fail_any("pending"), fail_any("terminated")],
            Self::Terminated => vec![all("terminated"), fail_any("pending"), fail_any("stopping")],
        }
    }
}

/// Which DescribeInstanceStatus-based waiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StatusWaiterKind {
    /// `instance_status_ok`.
    InstanceStatusOk,
    /// `system_status_ok`.
    SystemStatusOk,
}

impl StatusWaiterKind {
    /// The waiter's name, as in errors (`InstanceStatusOk`, as botocore names it).
    pub fn name(self) -> &'static str {
        match self {
            Self::InstanceStatusOk => "InstanceStatusOk",
            Self::SystemStatusOk => "SystemStatusOk",
        }
    }

    /// The official delay (15 s).
    pub fn delay(self) -> Duration {
        Duration::from_secs(15)
    }

    /// The official acceptors, in order.
    pub fn acceptors(self) -> Vec<Acceptor<DescribeInstanceStatusOutput, Ec2Error>> {
        match self {
            Self::InstanceStatusOk => vec![
                Acceptor::output(
                    AcceptorState::Success,
                    "all instance status checks are ok",
                    |o: &DescribeInstanceStatusOutput| {
                        all_equal(o.instance_statuses.iter().map(|s| s.instance_status.as_deref()), Some("ok"))
                    },
                ),
                Acceptor::error_code(AcceptorState::Retry, "InvalidInstanceID.NotFound"),
            ],
            Self::SystemStatusOk => vec![Acceptor::output(
                AcceptorState::Success,
                "all system status checks are ok",
                |o: &DescribeInstanceStatusOutput| {
                    all_equal(o.instance_statuses.iter().map(|s| s.system_status.as_deref()), Some("ok"))
                },
            )],
        }
    }
}

/// The settings and `wait` of a waiter polling a describe request (`request`) whose answer is
/// `$output`, with the acceptors of its `kind`.
macro_rules! instance_waiter_settings {
    ($output:ident) => {
        cloudkit_waiter::waiter_settings!(seed);

        /// Polls until the official acceptors of the waiter's kind end the wait, or the budget runs
        /// out.
        pub async fn wait(self) -> Result<FinalPoll<$output, Ec2Error>, Ec2WaiterError<$output>> {
            let waiter = Waiter::new(self.kind.name(), self.config, self.kind.acceptors())
                .resource(self.request.selection())
                .with_optional_seed(self.seed);
            let request = self.request;
            waiter.wait(|| request.clone().send()).await
        }

        /// Adds an instance id to wait for.
        pub fn instance_id(mut self, id: impl Into<String>) -> Self {
            self.request = self.request.instance_id(id);
            self
        }

        /// Adds instance ids to wait for.
        pub fn instance_ids<I, S>(mut self, ids: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.request = self.request.instance_ids(ids);
            self
        }

        /// Adds a filter to the polled request.
        pub fn filter(mut self, filter: Filter) -> Self {
            self.request = self.request.filter(filter);
            self
        }
    };
}

/// What a describe request selects, as waiter errors name it (at most 5 ids, then how many more).
pub(crate) fn describe_selection(ids: &[String], filters: usize) -> String {
    let with_filters = match filters {
        0 => String::new(),
        1 => " matching 1 filter".to_owned(),
        n => format!(" matching {n} filters"),
    };
    match ids {
        [] if filters == 0 => "all instances".to_owned(),
        [] => format!("the instances{with_filters}"),
        [one] => format!("instance {one}{with_filters}"),
        many => {
            let shown = many.iter().take(5).map(String::as_str).collect::<Vec<_>>().join(", ");
            let more = if many.len() > 5 { format!(" and {} more", many.len() - 5) } else { String::new() };
            format!("instances {shown}{more}{with_filters}")
        }
    }
}

/// A DescribeInstances-based waiter ([`Ec2Client::wait_until_instance_running`] and friends).
#[derive(Clone, Debug)]
#[must_use = "call .wait()"]
pub struct InstanceWaiter {
    request: DescribeInstances,
    kind: InstanceWaiterKind,
    config: WaiterConfig,
    seed: Option<u64>,
}

impl InstanceWaiter {
    /// A waiter of `kind` polling `request`, with the official defaults.
    pub fn new(request: DescribeInstances, kind: InstanceWaiterKind) -> Self {
        Self { request, kind, config: default_config(kind.delay()), seed: None }
    }

    instance_waiter_settings!(DescribeInstancesOutput);
}

/// A DescribeInstanceStatus-based waiter ([`Ec2Client::wait_until_instance_status_ok`],
/// [`Ec2Client::wait_until_system_status_ok`]).
#[derive(Clone, Debug)]
#[must_use = "call .wait()"]
pub struct InstanceStatusWaiter {
    request: DescribeInstanceStatus,
    kind: StatusWaiterKind,
    config: WaiterConfig,
    seed: Option<u64>,
}

impl InstanceStatusWaiter {
    /// A waiter of `kind` polling `request`, with the official defaults.
    pub fn new(request: DescribeInstanceStatus, kind: StatusWaiterKind) -> Self {
        Self { request, kind, config: default_config(kind.delay()), seed: None }
    }

    instance_waiter_settings!(DescribeInstanceStatusOutput);

    /// Polls stopped and pending instances too (`IncludeAllInstances`), so they keep the wait going
    /// instead of being absent from the answer.
    pub fn include_all_instances(mut self, include: bool) -> Self {
        self.request = self.request.include_all_instances(include);
        self
    }
}

/// The client's `wait_until_*` methods: each makes its waiter on a fresh describe request.
macro_rules! waiter_methods {
    ($($(#[$doc:meta])+ $name:ident => $waiter:ident($describe:ident, $kind:expr);)+) => {
        impl Ec2Client {
            $(
                $(#[$doc])+
                pub fn $name(&self) -> $waiter {
                    $waiter::new(self.$describe(), $kind)
                }
            )+
        }
    };
}

waiter_methods! {
    /// Waits until the instances exist (5 s delay, 40 attempts; retries on `InvalidInstanceID.NotFound`).
    wait_until_instance_exists => InstanceWaiter(describe_instances, InstanceWaiterKind::Exists);
    /// Waits until every instance is `running`; fails fast when one is `shutting-down`, `terminated`
    /// or `stopping`; retries on `InvalidInstanceID.NotFound` (15 s, 40 attempts).
    wait_until_instance_running => InstanceWaiter(describe_instances, InstanceWaiterKind::Running);
    /// Waits until every instance is `stopped`; fails fast on `pending` or `terminated` (15 s, 40).
    wait_until_instance_stopped => InstanceWaiter(describe_instances, InstanceWaiterKind::Stopped);
    /// Waits until every instance is `terminated`; fails fast on `pending` or `stopping` (15 s, 40).
    wait_until_instance_terminated => InstanceWaiter(describe_instances, InstanceWaiterKind::Terminated);
    /// Waits until every instance status check is `ok` (15 s, 40; retries on
    /// `InvalidInstanceID.NotFound`).
    wait_until_instance_status_ok => InstanceStatusWaiter(describe_instance_status, StatusWaiterKind::InstanceStatusOk);
    /// Waits until every system status check is `ok` (15 s, 40).
    wait_until_system_status_ok => InstanceStatusWaiter(describe_instance_status, StatusWaiterKind::SystemStatusOk);
}
