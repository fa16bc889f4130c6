//! Long-running operations: one generic [`Poller`] for every ARM call that may finish later
//! (resource-group delete, every virtual-machine action and create, generic put/patch/delete).
//!
//! The rules (ARM RPC `async-api-reference.md`, summarised in `src/testdata/ARM-REFERENCE.md`):
//!
//! | initial answer | how it is polled | done when | failed when |
//! |---|---|---|---|
//! | 200/201 to a PUT with a body | GET the resource | `provisioningState` is `Succeeded` (or absent) | `Failed` / `Canceled` |
//! | any 201/202 with `Azure-AsyncOperation` | GET that URL (status body) | `status` is `Succeeded` | `Failed` / `Canceled` (with the body's `error`) |
//! | 202 with `Location` (no `Azure-AsyncOperation`) | GET that URL | it answers 200 or 204 | it answers 4xx/5xx with a CloudError |
//! | 200/204 to a POST, DELETE or PATCH | — | at once | — |
//!
//! Before each poll the poller waits for the last answer's `Retry-After` (seconds), or the 60 s
//! the RPC prescribes when there is none, kept between the configuration's `min_delay` and
//! `max_delay`; the wait runs through `cloudkit-waiter` (waiter `LongRunningOperation`, the
//! resource as its description) with the configuration's deadline (`max_wait`). URLs from the
//! service are followed as given. A PUT or PATCH ends by reading the resource (the final state
//! via the original URI); a POST or DELETE returns nothing.
//!
//! A 4xx/5xx from an `Azure-AsyncOperation` URL is a failure to *read* the status and is returned
//! as such (after the pipeline's retries), not as [`ArmError::OperationFailed`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use cloudkit_core::{BufferedResponse, Bytes, Error, ErrorKind, HeaderMap, Method, ServiceErrorDetails, Url};
use cloudkit_waiter::{Acceptor, AcceptorState, Waiter, WaiterConfig, WaiterError};
use serde::Deserialize;
use tokio::time::Instant;

use crate::client::ArmClient;
use crate::error::{ArmError, Result, header, with_correlation};

/// The delay between polls when the service sends no `Retry-After` (ARM RPC).
pub const DEFAULT_POLL_DELAY: Duration = Duration::from_secs(60);

/// The name of the waiter behind every [`Poller`], as in its errors.
pub const LRO_WAITER: &str = "LongRunningOperation";

/// What kind of request started the operation (it decides where the final state comes from).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LroKind {
    /// PUT: poll the resource's provisioning state; the final state is the resource.
    Put,
    /// PATCH: the final state is the resource.
    Patch,
    /// POST (an action) or DELETE: nothing to return.
    PostOrDelete,
    /// POST of a generic action that may return a result: the first answer's body (200), or,
    /// after a 202, the body of the `Location` URL once done (with only `Azure-AsyncOperation`:
    /// the status body's `properties`).
    Action,
}

/// Where the operation is polled.
#[derive(Clone, Debug)]
enum Monitor {
    /// An `Azure-AsyncOperation` status URL.
    AsyncOperation(Url),
    /// A `Location` URL (202 = running, 200/204 = done).
    Location(Url),
    /// The resource itself (its `provisioningState`).
    Resource(Url),
}

/// One poll's verdict.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum PollStatus {
    /// Still running (`InProgress`, `Accepted`, `Creating`, a 202 …); the text is the status seen.
    Running(String),
    /// Finished successfully.
    Succeeded,
    /// Ended `Failed` or `Canceled` (the status, the operation's code and message).
    Failed {
        /// `Failed` or `Canceled` (or the HTTP status of a failed `Location` poll).
        status: String,
        /// The operation's error code.
        code: Option<String>,
        /// The operation's error message (with the correlation id, when sent).
        message: Option<String>,
        /// The `x-ms-request-id` of the poll.
        request_id: Option<String>,
    },
}

/// The body of an `Azure-AsyncOperation` status URL.
#[derive(Debug, Deserialize)]
struct OperationStatusBody {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    error: Option<crate::error::WireError>,
}

/// A resource's provisioning state (`properties.provisioningState`, some RPs put it at the top).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvisioningBody {
    #[serde(default)]
    properties: Option<ProvisioningProperties>,
    #[serde(default)]
    provisioning_state: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvisioningProperties {
    #[serde(default)]
    provisioning_state: Option<String>,
}

fn provisioning_state(body: &[u8]) -> Option<String> {
    let b: ProvisioningBody = serde_json::from_slice(body).ok()?;
    b.properties.and_then(|p| p.provisioning_state).or(b.provisioning_state)
}

fn terminal(status: &str) -> Option<bool> {
    match status.to_ascii_lowercase().as_str() {
        "succeeded" => Some(true),
        "failed" | "canceled" | "cancelled" => Some(false),
        _ => None,
    }
}

/// A long-running operation that was started: [`wait`](Self::wait) for its result (Python's
/// `.result()`), or drop it (the operation goes on in Azure).
///
/// ```no_run
/// # async fn demo(rm: cloudkit_azure_arm::ArmClient) -> Result<(), cloudkit_azure_arm::ArmError> {
/// let poller = rm.virtual_machines().deallocate("my-rg", "my-vm").begin().await?;
/// println!("started: {}", poller.resource());
/// poller.wait().await?;
/// # Ok(()) }
/// ```
#[must_use = "call .wait() for the result, or drop the poller to let the operation run on"]
pub struct Poller<T> {
    client: ArmClient,
    operation: &'static str,
    resource: String,
    kind: LroKind,
    resource_url: Url,
    initial: BufferedResponse,
    config: WaiterConfig,
    decode: fn(&'static str, &[u8]) -> Result<T>,
}

impl<T> std::fmt::Debug for Poller<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Poller")
            .field("operation", &self.operation)
            .field("resource", &self.resource)
            .field("initial_status", &self.initial.status.as_u16())
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Poller<T> {
    /// Starts the operation: sends the request and returns a poller on its first answer.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn begin(
        client: ArmClient,
        operation: &'static str,
        resource: String,
        kind: LroKind,
        method: Method,
        url: Url,
        body: Option<serde_json::Value>,
        decode: fn(&'static str, &[u8]) -> Result<T>,
    ) -> Result<Self> {
        // PUT and DELETE are idempotent in ARM; POST actions and PATCH are not resent after a 5xx.
        let idempotent = matches!(method, Method::PUT | Method::DELETE | Method::GET);
        let op = cloudkit_core::Operation::new(operation).idempotent(idempotent);
        let resource_url = url.clone();
        let initial = client.send(operation, Some(op), method, url, body.as_ref()).await?;
        let config = *client.lro_config();
        Ok(Self { client, operation, resource, kind, resource_url, initial, config, decode })
    }

    // The polling settings of this operation (default: the client's
    // [`lro_config`](crate::ClientBuilder::lro_config)): `config`, `max_wait` (the deadline of
    // [`wait`](Self::wait)), `delay`, `min_delay`, `max_delay`, `max_attempts`, `waiter_config`.
    cloudkit_waiter::waiter_settings!();

    /// What the operation works on (`virtual machine my-rg/my-vm`).
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The HTTP status of the first answer (200/201/202/204).
    pub fn initial_status(&self) -> u16 {
        self.initial.status.as_u16()
    }

    /// The `Azure-AsyncOperation` URL of the first answer, when there is one.
    pub fn async_operation_url(&self) -> Option<&str> {
        header(&self.initial.headers, "azure-asyncoperation")
    }

    /// The `Location` URL of the first answer, when there is one.
    pub fn location_url(&self) -> Option<&str> {
        header(&self.initial.headers, "location")
    }

    /// Whether the first answer already finished the operation (nothing to poll).
    pub fn is_done(&self) -> bool {
        matches!(self.first_monitor(), Ok(None))
    }

    /// Where to poll after the first answer; `None` when it finished the operation.
    fn first_monitor(&self) -> Result<Option<Monitor>> {
        let headers = &self.initial.headers;
        let status = self.initial.status.as_u16();
        if let Some(link) = header(headers, "azure-asyncoperation") {
            return Ok(Some(Monitor::AsyncOperation(self.client.follow(self.operation, link)?)));
        }
        match (self.kind, status) {
            (LroKind::Put, 200 | 201) => match provisioning_state(&self.initial.body) {
                Some(state) if terminal(&state).is_none() => Ok(Some(Monitor::Resource(self.resource_url.clone()))),
                _ => Ok(None),
            },
            (_, 202) | (LroKind::Patch, 201) => match header(headers, "location") {
                Some(link) => Ok(Some(Monitor::Location(self.client.follow(self.operation, link)?))),
                None if self.kind == LroKind::Put => Ok(Some(Monitor::Resource(self.resource_url.clone()))),
                None if status == 202 => Err(ArmError::decode(
                    self.operation,
                    "the service accepted the long-running operation (202) without a Location or Azure-AsyncOperation header",
                )),
                None => Ok(None),
            },
            _ => Ok(None),
        }
    }

    /// Polls until the operation finishes and returns its result: the resource for a PUT or
    /// PATCH, `()` for a POST action or a DELETE. `Failed`/`Canceled` is
    /// [`ArmError::OperationFailed`] with the operation's code and message; the deadline is
    /// [`ArmError::WaitTimeout`].
    pub async fn wait(self) -> Result<T> {
        let Some(monitor) = self.first_monitor()? else {
            // A PUT whose first answer was final, a 200/204 action or delete: the first body.
            if self.kind == LroKind::Put
                && let Some(state) = provisioning_state(&self.initial.body)
                && terminal(&state) == Some(false)
            {
                let failed = PollStatus::Failed {
                    status: state,
                    code: None,
                    message: with_correlation(None, &self.initial.headers),
                    request_id: header(&self.initial.headers, "x-ms-request-id").map(str::to_owned),
                };
                return Err(self.failed_error(&failed));
            }
            if matches!(self.kind, LroKind::Put | LroKind::Patch)
                && self.initial.body.iter().all(u8::is_ascii_whitespace)
            {
                // A PUT or PATCH answered without a body: the final state is the resource.
                let response =
                    self.client.send(self.operation, None, Method::GET, self.resource_url.clone(), None).await?;
                return (self.decode)(self.operation, &response.body);
            }
            return (self.decode)(self.operation, &self.initial.body);
        };
        let config = self.config;
        if config.min_delay.is_zero() || config.max_delay < config.min_delay {
            return Err(ArmError::invalid_input(
                self.operation,
                "the long-running-operation config needs 0 < min_delay <= max_delay",
            ));
        }
        let state = Arc::new(Mutex::new(PollState {
            monitor,
            retry_after: retry_after_of(&self.initial.headers),
            deadline: None,
            last_answer: None,
            final_body: None,
            last_body: None,
        }));
        let mut inner = WaiterConfig::new(Duration::from_nanos(1), Duration::from_nanos(1), config.max_wait);
        if let Some(n) = config.max_attempts {
            inner = inner.max_attempts(n);
        }
        let acceptors = vec![
            Acceptor::output(AcceptorState::Success, "the operation succeeded", |s: &PollStatus| {
                matches!(s, PollStatus::Succeeded)
            }),
            Acceptor::output(AcceptorState::Failure, "the operation failed or was canceled", |s: &PollStatus| {
                matches!(s, PollStatus::Failed { .. })
            }),
        ];
        let waiter = Waiter::new(LRO_WAITER, inner, acceptors).resource(self.resource.clone());
        let outcome = waiter.wait(|| poll_once(self.client.clone(), self.operation, state.clone(), config)).await;
        match outcome {
            Ok(_) => {}
            Err(WaiterError::FailureState { last: Ok(failed), .. }) => return Err(self.failed_error(&failed)),
            Err(WaiterError::UnexpectedError { source, .. }) => return Err(source),
            Err(e) => {
                let message = e.to_string();
                let kind = match e {
                    WaiterError::InvalidConfig { .. } => ErrorKind::InvalidInput,
                    _ => ErrorKind::Timeout,
                };
                return Err(ArmError::WaitTimeout(
                    Error::new(kind, crate::SERVICE, self.operation).with_message(message),
                ));
            }
        }
        // Where the final state comes from: the resource for PUT/PATCH, nothing for POST/DELETE.
        match self.kind {
            LroKind::PostOrDelete => (self.decode)(self.operation, &[]),
            LroKind::Action => {
                let last = state.lock().map(|mut s| s.last_body.take()).unwrap_or(None).unwrap_or_default();
                let body = match (self.async_operation_url(), self.location_url()) {
                    // Polled on the status URL: the result is at the Location URL (ARM RPC).
                    (Some(_), Some(link)) => {
                        let url = self.client.follow(self.operation, link)?;
                        self.client.send(self.operation, None, Method::GET, url, None).await?.body
                    }
                    (Some(_), None) => action_result_of_status(&last),
                    // Polled on the Location URL: its final answer is the result.
                    (None, _) => last,
                };
                (self.decode)(self.operation, &body)
            }
            LroKind::Put | LroKind::Patch => {
                let body = match state.lock().map(|mut s| s.final_body.take()).unwrap_or(None) {
                    Some(body) => body,
                    None => {
                        self.client.send(self.operation, None, Method::GET, self.resource_url.clone(), None).await?.body
                    }
                };
                (self.decode)(self.operation, &body)
            }
        }
    }

    fn failed_error(&self, failed: &PollStatus) -> ArmError {
        let PollStatus::Failed { status, code, message, request_id } = failed else {
            return ArmError::decode(self.operation, "not a failure");
        };
        let text = match message {
            Some(m) => format!("the long-running operation on {} ended {status}: {m}", self.resource),
            None => format!("the long-running operation on {} ended {status}", self.resource),
        };
        ArmError::OperationFailed(Error::new(ErrorKind::Service, crate::SERVICE, self.operation).with_details(
            ServiceErrorDetails {
                code: code.clone().or_else(|| Some(status.clone())),
                message: Some(text),
                request_id: request_id.clone(),
            },
        ))
    }
}

struct PollState {
    monitor: Monitor,
    retry_after: Option<Duration>,
    deadline: Option<Instant>,
    /// When the last answer arrived (the delay counts from there).
    last_answer: Option<Instant>,
    /// The body of a resource poll that reached `Succeeded` (a PUT's final state).
    final_body: Option<Bytes>,
    /// The body of the status or `Location` poll that said the operation succeeded (an action's
    /// result).
    last_body: Option<Bytes>,
}

fn retry_after_of(headers: &HeaderMap) -> Option<Duration> {
    let seconds = header(headers, "retry-after")?;
    match seconds.parse::<u64>() {
        Ok(s) => Some(Duration::from_secs(s)),
        Err(_) => cloudkit_core::retry_after(headers, SystemTime::now()),
    }
}

/// One poll: waits for the last `Retry-After` (kept within the config and the deadline), GETs
/// the monitor URL and says where the operation is.
async fn poll_once(
    client: ArmClient,
    operation: &'static str,
    state: Arc<Mutex<PollState>>,
    config: WaiterConfig,
) -> Result<PollStatus> {
    let (monitor, poll_at) = {
        let mut s = state.lock().map_err(|_| ArmError::decode(operation, "poll state poisoned"))?;
        let now = Instant::now();
        // A deadline too far away to add to the clock means none.
        let deadline = *s.deadline.get_or_insert_with(|| now.checked_add(config.max_wait).unwrap_or(now));
        let wanted = s.retry_after.unwrap_or(DEFAULT_POLL_DELAY).clamp(config.min_delay, config.max_delay);
        let base = s.last_answer.unwrap_or(now);
        let at = base.checked_add(wanted).unwrap_or(deadline);
        let at = if now.checked_add(config.max_wait).is_none() { at } else { at.min(deadline) };
        (s.monitor.clone(), at)
    };
    tokio::time::sleep_until(poll_at).await;
    let (url, is_location) = match &monitor {
        Monitor::AsyncOperation(u) | Monitor::Resource(u) => (u.clone(), false),
        Monitor::Location(u) => (u.clone(), true),
    };
    let response = client.send(operation, None, Method::GET, url, None).await;
    let response = match response {
        Ok(r) => r,
        Err(e) if is_location && location_failure(&e) => {
            let core = e.core();
            return Ok(PollStatus::Failed {
                status: core
                    .and_then(|c| c.status())
                    .map_or_else(|| "Failed".to_owned(), |s| format!("Failed (HTTP {})", s.as_u16())),
                code: e.code().map(str::to_owned),
                message: e.message().map(str::to_owned),
                request_id: e.request_id().map(str::to_owned),
            });
        }
        Err(e) => return Err(e),
    };
    let request_id = header(&response.headers, "x-ms-request-id").map(str::to_owned);
    let mut s = state.lock().map_err(|_| ArmError::decode(operation, "poll state poisoned"))?;
    s.retry_after = retry_after_of(&response.headers);
    s.last_answer = Some(Instant::now());
    match monitor {
        Monitor::AsyncOperation(_) => {
            let body: OperationStatusBody = crate::client::decode(operation, &response.body)?;
            let status = body.status.unwrap_or_default();
            match terminal(&status) {
                Some(true) => {
                    s.last_body = Some(response.body.clone());
                    Ok(PollStatus::Succeeded)
                }
                Some(false) => {
                    let (code, message) = match &body.error {
                        Some(e) => {
                            let e = e.innermost();
                            (e.code.clone(), e.message.clone())
                        }
                        None => (None, None),
                    };
                    Ok(PollStatus::Failed {
                        status,
                        code,
                        message: with_correlation(message, &response.headers),
                        request_id,
                    })
                }
                None => Ok(PollStatus::Running(if status.is_empty() { "(no status)".to_owned() } else { status })),
            }
        }
        Monitor::Location(_) => {
            if response.status.as_u16() == 202 {
                if let Some(link) = header(&response.headers, "location") {
                    s.monitor = Monitor::Location(client.follow(operation, link)?);
                }
                return Ok(PollStatus::Running("Accepted (HTTP 202)".to_owned()));
            }
            s.last_body = Some(response.body.clone());
            Ok(PollStatus::Succeeded)
        }
        Monitor::Resource(_) => {
            let state_text = provisioning_state(&response.body);
            match state_text.as_deref().map(terminal) {
                None | Some(Some(true)) => {
                    s.final_body = Some(response.body.clone());
                    Ok(PollStatus::Succeeded)
                }
                Some(Some(false)) => Ok(PollStatus::Failed {
                    status: state_text.unwrap_or_default(),
                    code: None,
                    message: with_correlation(None, &response.headers),
                    request_id,
                }),
                Some(None) => Ok(PollStatus::Running(state_text.unwrap_or_default())),
            }
        }
    }
}

/// Whether an error from a `Location` poll is the operation's failure (a 4xx/5xx answer the
/// pipeline did not retry away), rather than a failure to reach the service.
fn location_failure(e: &ArmError) -> bool {
    let Some(core) = e.core() else { return false };
    core.kind() == ErrorKind::Service
        && core.status().is_some_and(|s| s.as_u16() >= 400 && !matches!(s.as_u16(), 401 | 403 | 429))
}

/// The result of an action polled on its `Azure-AsyncOperation` URL alone: the status body's
/// `properties` (ARM RPC: "the result of the operation"), or nothing.
fn action_result_of_status(body: &[u8]) -> Bytes {
    let properties = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|mut v| v.get_mut("properties").map(serde_json::Value::take));
    match properties {
        Some(p) if !p.is_null() => Bytes::from(serde_json::to_vec(&p).unwrap_or_default()),
        _ => Bytes::new(),
    }
}

/// An action's result: its JSON body, or `Value::Null` when it has none (204, an empty 200/202).
pub(crate) fn decode_json_or_null(operation: &'static str, body: &[u8]) -> Result<serde_json::Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(serde_json::Value::Null);
    }
    crate::client::decode(operation, body)
}

/// `()` for operations with no result.
pub(crate) fn decode_unit(_operation: &'static str, _body: &[u8]) -> Result<()> {
    Ok(())
}

/// JSON for operations that return the resource.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(operation: &'static str, body: &[u8]) -> Result<T> {
    crate::client::decode(operation, body)
}
