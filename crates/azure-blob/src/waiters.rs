//! Waiters on `cloudkit-waiter` (docs/ARCHITECTURE.md, "Waiting").
//!
//! | waiter | poll | success | failure | retry |
//! |---|---|---|---|---|
//! | [`BlobClient::wait_until_copy_complete`] | Get Blob Properties | copy status `success` | `failed`, `aborted`, no copy status | `pending` |
//!
//! Defaults ([`default_copy_waiter_config`]): delays from 100 ms growing to 5 s, a 10 minute
//! deadline. An error of the poll itself (the blob is gone, access denied) stops the wait.

use std::time::Duration;

use cloudkit_core::{Error, ErrorKind};
use cloudkit_waiter::{Acceptor, AcceptorState, FinalPoll, Waiter, WaiterConfig, WaiterError};

use crate::blob::{BlobClient, BlobProperties};
use crate::error::{BlobError, Result};

/// The default settings of the copy waiter: 100 ms to 5 s between polls, a 10 minute deadline.
pub fn default_copy_waiter_config() -> WaiterConfig {
    WaiterConfig::new(Duration::from_millis(100), Duration::from_secs(5), Duration::from_secs(600))
}

/// Waits for a blob's pending copy to finish; see [`BlobClient::wait_until_copy_complete`].
#[derive(Debug)]
#[must_use = "call .wait()"]
pub struct CopyWaiter {
    blob: BlobClient,
    config: WaiterConfig,
}

impl BlobClient {
    /// Waits until the copy into this blob (Copy Blob, see
    /// [`start_copy_from_url`](Self::start_copy_from_url)) has finished: success on copy status
    /// `success`, failure on `failed` or `aborted` (or a blob that was never a copy target),
    /// another poll on `pending`.
    ///
    /// ```no_run
    /// # async fn demo(blob: cloudkit_azure_blob::BlobClient, source: cloudkit_core::Url) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// blob.start_copy_from_url(&source, &Default::default()).await?;
    /// let done = blob.wait_until_copy_complete().max_wait(Duration::from_secs(3600)).wait().await?;
    /// println!("copied: {:?}", done.output().map(|p| p.size));
    /// # Ok(()) }
    /// ```
    pub fn wait_until_copy_complete(&self) -> CopyWaiter {
        CopyWaiter { blob: self.clone(), config: default_copy_waiter_config() }
    }
}

fn copy_status_is(state: AcceptorState, status: &'static str) -> Acceptor<BlobProperties, BlobError> {
    Acceptor::output(state, format!("copy status is {status}"), move |p: &BlobProperties| {
        p.copy_status.as_deref() == Some(status)
    })
}

impl CopyWaiter {
    cloudkit_waiter::waiter_settings!();

    /// The acceptors this waiter uses.
    pub fn acceptors(&self) -> Vec<Acceptor<BlobProperties, BlobError>> {
        vec![
            copy_status_is(AcceptorState::Success, "success"),
            copy_status_is(AcceptorState::Failure, "failed"),
            copy_status_is(AcceptorState::Failure, "aborted"),
            copy_status_is(AcceptorState::Retry, "pending"),
            Acceptor::output(AcceptorState::Failure, "the blob has no copy status", |p: &BlobProperties| {
                p.copy_status.is_none()
            }),
        ]
    }

    /// Polls until the copy has finished; see [`cloudkit_waiter::WaiterError`] for the ways it
    /// ends.
    pub async fn wait(
        self,
    ) -> std::result::Result<FinalPoll<BlobProperties, BlobError>, WaiterError<BlobProperties, BlobError>> {
        let resource = format!("blob {}/{}", self.blob.container().name(), self.blob.name());
        let waiter = Waiter::new("CopyComplete", self.config, self.acceptors()).resource(resource);
        waiter.wait(|| self.blob.get_properties()).await
    }

    /// Polls until the copy has finished and returns the blob's properties; the end of a wait
    /// that did not succeed becomes a [`BlobError`] naming the copy status.
    pub(crate) async fn wait_for_properties(self) -> Result<BlobProperties> {
        match self.wait().await {
            Ok(done) => done.into_result(),
            Err(e) => Err(copy_wait_error(e)),
        }
    }
}

/// A [`BlobError`] for a copy wait that did not reach `success`.
fn copy_wait_error(e: WaiterError<BlobProperties, BlobError>) -> BlobError {
    let error = |kind: ErrorKind, message: String| {
        BlobError::Other(Error::new(kind, crate::SERVICE, "CopyBlob").with_message(message))
    };
    let status = |p: &BlobProperties| p.copy_status.clone().unwrap_or_else(|| "(none)".to_owned());
    let summary = e.to_string();
    match e {
        WaiterError::UnexpectedError { source, .. } | WaiterError::FailureState { last: Err(source), .. } => source,
        WaiterError::FailureState { last: Ok(p), .. } => {
            error(ErrorKind::Service, format!("the copy ended with status {}", status(&p)))
        }
        WaiterError::Timeout { last: Ok(p), .. } | WaiterError::MaxAttemptsExceeded { last: Ok(p), .. } => {
            error(ErrorKind::Timeout, format!("{summary}; the copy status is still {}", status(&p)))
        }
        WaiterError::Timeout { last: Err(source), .. } | WaiterError::MaxAttemptsExceeded { last: Err(source), .. } => {
            source
        }
        WaiterError::InvalidConfig { reason, .. } => BlobError::invalid_input("CopyBlob", reason),
        _ => error(ErrorKind::Service, summary),
    }
}
