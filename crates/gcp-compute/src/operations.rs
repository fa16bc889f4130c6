//! Zone operations: what every mutating call returns, and how to wait for it.
//!
//! Every mutating method (insert, start, stop, reset, suspend, resume, delete, setLabels,
//! setMetadata) answers at once (HTTP 200) with an Operation resource whose `status` is
//! `PENDING`, `RUNNING` or `DONE`. [`Operation::wait`] (alias [`Operation::result`], Python's
//! `operation.result()`) polls `zoneOperations.wait` — which blocks up to about 2 minutes
//! server-side but may return early and still unfinished, on a best-effort basis — through
//! `cloudkit-waiter` (waiter [`OPERATION_WAITER`], the operation as its description) until
//! `DONE`, with the client's [`operation_config`](crate::ComputeClient::operation_config)
//! (2 s growing to 30 s between polls, a 10-minute deadline; overridable per call). It falls
//! back to `zoneOperations.get` when the service refuses `wait` (HTTP 405/501), and polls with
//! `get` from the start after [`Operation::poll_with_get`]. Then:
//!
//! - `DONE` with a non-empty `error.errors` → [`GceError::OperationFailed`]
//!   ([`GceError::operation_errors`] has every entry's code and message, and the
//!   `httpErrorStatusCode`);
//! - `DONE` without errors → the final [`OperationResource`] (`target_link` is the instance);
//! - the deadline → [`GceError::WaitTimeout`] (the operation goes on in Google Cloud).
//!
//! An HTTP error on the first call means no operation was created; it is returned by `send()`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use cloudkit_core::{Error, ErrorKind, Method};
use cloudkit_waiter::{Acceptor, AcceptorState, Waiter, WaiterConfig, WaiterError};
use tokio::time::Instant;

use crate::client::ComputeClient;
use crate::error::{GceError, Result};
use crate::model::{OperationResource, OperationStatus};

/// The name of the waiter behind [`Operation::wait`], as in its errors.
pub const OPERATION_WAITER: &str = "ZoneOperationDone";

/// Zone operations (`compute.zoneOperations.*`) of a project ([`ComputeClient::zone_operations`]).
#[derive(Clone, Debug)]
pub struct ZoneOperations {
    pub(crate) client: ComputeClient,
    pub(crate) project: Option<String>,
}

impl ZoneOperations {
    /// The same handle on another project (default: the client's).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// `zoneOperations.get`: the operation's current state.
    pub fn get(&self, zone: impl Into<String>, operation: impl Into<String>) -> GetZoneOperation {
        GetZoneOperation {
            client: self.client.clone(),
            project: self.project.clone(),
            zone: zone.into(),
            operation: operation.into(),
            wait: false,
        }
    }

    /// `zoneOperations.wait`: one server-side wait (up to about 2 minutes, best effort); the
    /// answer may still be unfinished. For the whole wait use [`operation`](Self::operation)`.wait()`.
    pub fn wait(&self, zone: impl Into<String>, operation: impl Into<String>) -> GetZoneOperation {
        GetZoneOperation { wait: true, ..self.get(zone, operation) }
    }

    /// A handle on an operation known by name (e.g. from another process), to [`Operation::wait`]
    /// for it. Fails only when no project is known.
    pub fn operation(&self, zone: impl Into<String>, operation: impl Into<String>) -> Result<Operation> {
        let project = self.client.project_for("zoneOperations.wait", self.project.as_deref())?;
        let zone = zone.into();
        let resource = OperationResource {
            name: operation.into(),
            zone: Some(format!("projects/{project}/zones/{zone}")),
            status: OperationStatus::Pending,
            ..Default::default()
        };
        Ok(Operation::new(self.client.clone(), project, zone, resource))
    }
}

/// `zoneOperations.get` or `zoneOperations.wait` ([`ZoneOperations::get`], [`ZoneOperations::wait`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct GetZoneOperation {
    client: ComputeClient,
    project: Option<String>,
    zone: String,
    operation: String,
    wait: bool,
}

impl GetZoneOperation {
    /// Sends the request.
    pub async fn send(self) -> Result<OperationResource> {
        let op = if self.wait { "zoneOperations.wait" } else { "zoneOperations.get" };
        let project = self.client.project_for(op, self.project.as_deref())?;
        poll(&self.client, op, &project, &self.zone, &self.operation, self.wait).await
    }
}

async fn poll(
    client: &ComputeClient,
    op: &'static str,
    project: &str,
    zone: &str,
    operation: &str,
    wait: bool,
) -> Result<OperationResource> {
    let mut segments = vec!["projects", project, "zones", zone, "operations", operation];
    if wait {
        segments.push("wait");
    }
    let url = client.url(op, &segments, &[])?;
    let method = if wait { Method::POST } else { Method::GET };
    client.send_json(op, method, url, None).await
}

/// A started zone operation: [`wait`](Self::wait) for it (Python's `operation.result()`), or
/// drop it (the operation goes on in Google Cloud).
///
/// ```no_run
/// # async fn demo(compute: cloudkit_gcp_compute::ComputeClient) -> Result<(), cloudkit_gcp_compute::GceError> {
/// let operation = compute.instances().stop("us-central1-a", "web-1").send().await?;
/// println!("{} is {}", operation.name(), operation.status());
/// let done = operation.wait().await?; // GceError::OperationFailed if it ended with errors
/// println!("{:?}", done.target_link);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
#[must_use = "call .wait() for the result, or drop it to let the operation run on"]
pub struct Operation {
    client: ComputeClient,
    project: String,
    zone: String,
    resource: OperationResource,
    config: WaiterConfig,
    seed: Option<u64>,
    use_get: bool,
}

impl Operation {
    cloudkit_waiter::waiter_settings!(seed);

    pub(crate) fn new(client: ComputeClient, project: String, zone: String, resource: OperationResource) -> Self {
        let zone = resource.zone_name().map(str::to_owned).unwrap_or(zone);
        let config = *client.operation_config();
        Operation { client, project, zone, resource, config, seed: None, use_get: false }
    }

    /// The operation's name (what `zoneOperations.get`/`wait` take).
    pub fn name(&self) -> &str {
        &self.resource.name
    }

    /// The zone's short name.
    pub fn zone(&self) -> &str {
        &self.zone
    }

    /// The project.
    pub fn project(&self) -> &str {
        &self.project
    }

    /// The status of the last answer seen.
    pub fn status(&self) -> &OperationStatus {
        &self.resource.status
    }

    /// The Operation resource of the last answer seen.
    pub fn resource(&self) -> &OperationResource {
        &self.resource
    }

    /// Consumes the handle and returns the Operation resource of the last answer seen.
    pub fn into_resource(self) -> OperationResource {
        self.resource
    }

    /// Poll with `zoneOperations.get` (with the backoff between polls) instead of `wait`.
    pub fn poll_with_get(mut self) -> Self {
        self.use_get = true;
        self
    }

    /// Python's `operation.result()`: the same as [`wait`](Self::wait).
    pub async fn result(self) -> Result<OperationResource> {
        self.wait().await
    }

    /// Polls until the operation is `DONE`: `zoneOperations.wait` (it blocks up to about 2 minutes
    /// server-side, best effort, and may return unfinished), or `zoneOperations.get` after
    /// [`poll_with_get`](Self::poll_with_get) or when the service refuses `wait` (HTTP 405/501);
    /// through `cloudkit-waiter` ([`OPERATION_WAITER`]) with the client's
    /// [`operation_config`](ComputeClient::operation_config) (2 s growing to 30 s between polls, a
    /// 10-minute deadline; overridable here with `max_wait`, `min_delay`, …). Returns the final
    /// resource (`target_link` is the instance), or [`GceError::OperationFailed`] (`DONE` with
    /// `error.errors`; [`GceError::operation_errors`] has them), [`GceError::WaitTimeout`] (the
    /// deadline passed; the operation goes on in Google Cloud), or the error of a failed poll.
    ///
    /// Each `wait` call (the service holds it up to about 2 minutes) is cut at the deadline, so
    /// `wait()` returns at `max_wait` even while a call is held; it is also bounded by the
    /// client's time limits ([`WAIT_CALL_TIMEOUT`](crate::WAIT_CALL_TIMEOUT) per attempt by
    /// default, or the `.timeouts(..)` chosen). A `wait` call cut by either limit counts as an
    /// unfinished answer (as one the service returns early): the next poll follows, and at the
    /// deadline one last `zoneOperations.get` reads the state.
    pub async fn wait(self) -> Result<OperationResource> {
        if self.resource.is_done() {
            return finish(self.resource);
        }
        let description = format!("operation {} in {}/{}", self.resource.name, self.project, self.zone);
        let acceptors = vec![
            Acceptor::output(
                AcceptorState::Success,
                "the operation is DONE without errors",
                |o: &OperationResource| o.is_done() && !o.has_errors(),
            ),
            Acceptor::output(
                AcceptorState::Failure,
                "the operation is DONE with error.errors",
                |o: &OperationResource| o.has_errors(),
            ),
            Acceptor::output(AcceptorState::Retry, "the operation is PENDING or RUNNING", |o: &OperationResource| {
                !o.is_done()
            }),
        ];
        let mut waiter = Waiter::new(OPERATION_WAITER, self.config, acceptors).resource(description);
        if let Some(seed) = self.seed {
            waiter = waiter.with_seed(seed);
        }
        let use_get = Arc::new(AtomicBool::new(self.use_get));
        // Taken before the waiter starts its clock, so it is never later than the waiter's: at the
        // waiter's last poll (at its deadline) no time is left here, and that poll is a `get`.
        let deadline = Instant::now().checked_add(self.config.max_wait);
        let last_seen = Arc::new(Mutex::new(self.resource.clone()));
        let (client, project, zone, name) = (self.client, self.project, self.zone, self.resource.name);
        let outcome = waiter
            .wait(|| {
                let (client, project, zone, name, use_get, last_seen) =
                    (client.clone(), project.clone(), zone.clone(), name.clone(), use_get.clone(), last_seen.clone());
                async move {
                    let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
                    let result = if !use_get.load(Ordering::Relaxed) && left.is_none_or(|l| !l.is_zero()) {
                        let call = poll(&client, "zoneOperations.wait", &project, &zone, &name, true);
                        let answer = match left {
                            Some(left) => tokio::time::timeout(left, call).await.ok(),
                            None => Some(call.await),
                        };
                        match answer {
                            // Cut at the deadline: unfinished as far as we know.
                            None => return Ok(lock(&last_seen).clone()),
                            // Cut by the client's time limits: the same.
                            Some(Err(e)) if e.core().is_some_and(|c| c.kind() == ErrorKind::Timeout) => {
                                tracing::debug!(operation = %name, "zoneOperations.wait timed out; polling again");
                                return Ok(lock(&last_seen).clone());
                            }
                            Some(Err(e)) if matches!(e.status().map(|s| s.as_u16()), Some(405 | 501)) => {
                                tracing::debug!(operation = %name, "zoneOperations.wait refused; polling with get");
                                use_get.store(true, Ordering::Relaxed);
                                None
                            }
                            Some(other) => Some(other),
                        }
                    } else {
                        None
                    };
                    let result = match result {
                        Some(result) => result,
                        None => poll(&client, "zoneOperations.get", &project, &zone, &name, false).await,
                    };
                    if let Ok(resource) = &result {
                        *lock(&last_seen) = resource.clone();
                    }
                    result
                }
            })
            .await;
        match outcome {
            Ok(done) => finish(done.into_result()?),
            Err(WaiterError::FailureState { last: Ok(failed), .. }) => finish(failed),
            Err(WaiterError::UnexpectedError { source, .. }) => Err(source),
            Err(e) => {
                let message = e.to_string();
                let kind = match e {
                    WaiterError::InvalidConfig { .. } => ErrorKind::InvalidInput,
                    _ => ErrorKind::Timeout,
                };
                Err(GceError::WaitTimeout(
                    Error::new(kind, crate::SERVICE, "zoneOperations.wait").with_message(message),
                ))
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A `DONE` operation: itself, or its errors.
fn finish(resource: OperationResource) -> Result<OperationResource> {
    if resource.has_errors() {
        return Err(GceError::operation_failed("zoneOperations.wait", resource.failure()));
    }
    Ok(resource)
}
