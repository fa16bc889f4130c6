//! Poll-until-state waiters: acceptors, jittered exponential backoff and a deadline.
//!
//! A [`Waiter`] polls an operation (EC2 `DescribeInstances`, S3 `HeadObject`, …) until one of
//! its [`Acceptor`]s says the wait is over, the way botocore's `waiters-2.json` and Smithy's
//! `@waitable` waiters work:
//!
//! - acceptors match the poll's output ([`Acceptor::output`], with [`all_equal`] and
//!   [`any_equal`] for list paths), its error code ([`Acceptor::error_code`] via the
//!   [`ErrorCode`] trait), or any error/success, and move the wait to
//!   [`AcceptorState::Success`], [`AcceptorState::Failure`] or [`AcceptorState::Retry`];
//! - between polls the waiter sleeps per the Smithy spec's jittered exponential [`Backoff`]
//!   between `min_delay` and `max_delay`;
//! - the wait ends at `max_wait` (with a last poll at the deadline) or after `max_attempts`
//!   polls, and every error names the waiter, the resource, the failure state or the timeout, and
//!   carries (and shows) the last observed result ([`WaiterError`]).
//!
//! The crate knows nothing about HTTP. Time comes from `tokio::time`, so tests can run on a
//! paused clock (`#[tokio::test(start_paused = true)]`).
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use cloudkit_waiter::{Acceptor, AcceptorState, ErrorCode, Waiter, WaiterConfig, WaiterError};
//!
//! #[derive(Debug)]
//! struct Ec2Error(&'static str);
//! impl std::fmt::Display for Ec2Error {
//!     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.0) }
//! }
//! impl std::error::Error for Ec2Error {}
//! impl ErrorCode for Ec2Error {
//!     fn error_code(&self) -> Option<&str> { Some(self.0) }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let waiter = Waiter::new(
//!     "InstanceTerminated",
//!     WaiterConfig::default().min_delay(Duration::from_secs(15)).max_delay(Duration::from_secs(120)),
//!     vec![
//!         Acceptor::output(AcceptorState::Success, "instance state is terminated", |s: &&str| *s == "terminated"),
//!         Acceptor::output(AcceptorState::Failure, "instance state is pending", |s: &&str| *s == "pending"),
//!         Acceptor::error_code(AcceptorState::Retry, "InvalidInstanceID.NotFound"),
//!     ],
//! )
//! .resource("instance i-0abc");
//!
//! // The instance came back to life: the wait fails fast, naming the state.
//! let states = ["shutting-down", "pending"];
//! let mut next = states.iter().copied();
//! let error = waiter
//!     .wait(|| {
//!         let state = next.next().unwrap_or("pending");
//!         async move { Ok::<_, Ec2Error>(state) }
//!     })
//!     .await
//!     .unwrap_err();
//! assert_eq!(
//!     error.to_string(),
//!     "waiter InstanceTerminated for instance i-0abc reached failure state `instance state is pending` after 2 attempts"
//! );
//! assert!(matches!(error, WaiterError::FailureState { last: Ok("pending"), .. }));
//! # }
//! ```

mod acceptor;
mod backoff;
mod config;
mod error;
mod waiter;

pub use acceptor::{Acceptor, AcceptorState, ErrorCode, all_equal, any_equal};
pub use backoff::Backoff;
pub use config::WaiterConfig;
pub use error::WaiterError;
pub use waiter::{FinalPoll, Waiter};

/// Test helpers (feature `test-util`).
#[cfg(any(test, feature = "test-util"))]
pub mod testing {
    use std::time::Duration;

    use crate::WaiterConfig;

    /// Polling for unit tests on canned answers: 1 ms growing to 5 ms between polls, a 60 s
    /// deadline (never reached by a test that passes).
    pub fn fast_config() -> WaiterConfig {
        WaiterConfig::new(Duration::from_millis(1), Duration::from_millis(5), Duration::from_secs(60))
    }
}

#[cfg(test)]
mod tests;
