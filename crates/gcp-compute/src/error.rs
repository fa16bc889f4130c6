//! [`GceError`]: typed variants for the Compute Engine errors callers match on, the
//! [`GceErrorParser`] that reads Google's JSON error envelope
//! (`{"error":{"code","message","errors":[{"reason","domain","message"}],"status"}}`), the retry
//! classifier [`GCE_RETRY_CLASSIFIER`], and the failure of an operation that ended `DONE` with
//! `error.errors` ([`OperationErrors`]).

use std::fmt;

use cloudkit_core::{
    CodeClassifier, Error, ErrorKind, HeaderMap, ParseError, ServiceErrorDetails, StatusCode, request_id_from_headers,
};
use serde::Deserialize;

/// Which Compute Engine error reasons are worth retrying (docs/ARCHITECTURE.md, "The request
/// pipeline"): `rateLimitExceeded`, `userRateLimitExceeded` and `RESOURCE_EXHAUSTED` are
/// throttling; `backendError`, `internalError`, `INTERNAL`, `UNAVAILABLE` and `DEADLINE_EXCEEDED`
/// are transient; every other reason is decided by its status (429 throttling; 408, 500, 502,
/// 503, 504 transient). Mutating calls carry a `requestId`, so a retried insert or stop is
/// ignored by the service when the first attempt got through.
///
/// ```
/// use cloudkit_gcp_compute::GCE_RETRY_CLASSIFIER;
/// use cloudkit_core::{ClassifyRetry, RetryClass, StatusCode};
/// let c = GCE_RETRY_CLASSIFIER;
/// assert_eq!(c.classify(StatusCode::FORBIDDEN, Some("rateLimitExceeded")), RetryClass::Throttling);
/// assert_eq!(c.classify(StatusCode::INTERNAL_SERVER_ERROR, Some("backendError")), RetryClass::Transient);
/// assert_eq!(c.classify(StatusCode::NOT_FOUND, Some("notFound")), RetryClass::Fatal);
/// ```
pub const GCE_RETRY_CLASSIFIER: CodeClassifier = CodeClassifier::new(
    &["rateLimitExceeded", "userRateLimitExceeded", "RESOURCE_EXHAUSTED"],
    &["backendError", "internalError", "INTERNAL", "UNAVAILABLE", "DEADLINE_EXCEEDED"],
);

/// The quota reasons (`errors[].reason`, the `status` or an operation error's `code`).
const QUOTA_CODES: &[&str] = &["quotaExceeded", "QUOTA_EXCEEDED", "ZONE_RESOURCE_POOL_EXHAUSTED"];

/// Parses Google's JSON error envelope: the code is the first `errors[].reason` (the v1 list),
/// else `status` (`NOT_FOUND`, …), else the reason the HTTP status implies; the message is
/// `error.message`. A body that is not the envelope becomes the message (cut to 500 characters).
#[derive(Clone, Copy, Debug, Default)]
pub struct GceErrorParser;

#[derive(Deserialize)]
struct Envelope {
    error: Option<EnvelopeError>,
}

#[derive(Deserialize)]
struct EnvelopeError {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    errors: Vec<EnvelopeItem>,
}

#[derive(Deserialize)]
struct EnvelopeItem {
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    message: Option<String>,
}

/// The code and message of a Google JSON error body (also a batch-style array of envelopes).
pub(crate) fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    let parsed = serde_json::from_slice::<Envelope>(body)
        .ok()
        .or_else(|| serde_json::from_slice::<Vec<Envelope>>(body).ok().and_then(|v| v.into_iter().next()))
        .and_then(|e| e.error);
    match parsed {
        Some(inner) => {
            let first = inner.errors.into_iter().next();
            let reason = first.as_ref().and_then(|i| i.reason.clone()).filter(|r| !r.is_empty());
            let code = reason.or(inner.status.filter(|s| !s.is_empty()));
            let message = inner.message.or_else(|| first.and_then(|i| i.message)).filter(|m| !m.trim().is_empty());
            (code, message)
        }
        None => {
            let text = String::from_utf8_lossy(body).trim().to_owned();
            (None, (!text.is_empty()).then(|| cloudkit_core::internal::excerpt(&text, 500)))
        }
    }
}

impl ParseError for GceErrorParser {
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let (code, message) = parse_error_body(body);
        let code = code.or_else(|| cloudkit_core::internal::google::reason_for_status(status).map(str::to_owned));
        ServiceErrorDetails { code, message, request_id: request_id_from_headers(headers) }
    }
}

/// One entry of a finished operation's `error.errors[]`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OperationErrorEntry {
    /// The error type identifier (`QUOTA_EXCEEDED`, `RESOURCE_NOT_FOUND`, …).
    #[serde(default)]
    pub code: String,
    /// The human-readable message.
    #[serde(default)]
    pub message: Option<String>,
    /// The field of the request that caused the error, when known.
    #[serde(default)]
    pub location: Option<String>,
}

/// What a failed operation reported: every `error.errors[]` entry and the
/// `httpErrorStatusCode`/`httpErrorMessage` of the failure. Reachable from
/// [`GceError::operation_errors`]; it is the [`cause`](cloudkit_core::Error::cause) of the core
/// error in [`GceError::OperationFailed`], whose message already shows the entries (so this
/// type's own `Display` only counts them).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationErrors {
    /// The operation's name (`operation-1700000000000-…`).
    pub operation: String,
    /// Its `operationType` (`insert`, `stop`, …).
    pub operation_type: Option<String>,
    /// Its `targetLink` (the instance it worked on).
    pub target_link: Option<String>,
    /// `error.errors[]`, in order.
    pub errors: Vec<OperationErrorEntry>,
    /// `httpErrorStatusCode` (e.g. 404), when the operation carried one.
    pub http_error_status_code: Option<u16>,
    /// `httpErrorMessage` (e.g. `NOT FOUND`), when the operation carried one.
    pub http_error_message: Option<String>,
}

impl fmt::Display for OperationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "operation {} ended DONE with {} error(s)", self.operation, self.errors.len())
    }
}

impl std::error::Error for OperationErrors {}

impl OperationErrors {
    /// The message of the core error: each entry as `CODE: message`, joined by `; `.
    pub(crate) fn summary(&self) -> String {
        let entries: Vec<String> = self
            .errors
            .iter()
            .map(|e| match &e.message {
                Some(m) => format!("{}: {m}", e.code),
                None => e.code.clone(),
            })
            .collect();
        let mut text = format!("operation {} finished with errors: ", self.operation);
        text.push_str(&cloudkit_core::summarize_list(&entries, 1000));
        if let Some(t) = &self.operation_type {
            text.push_str(&format!(" (operationType {t})"));
        }
        text
    }
}

/// The error of every Compute Engine client call. Each variant keeps the full
/// [`cloudkit_core::Error`] (status, code — the `errors[].reason`, `notFound`, … —, message,
/// request id, retryability); the accessors (`core`, `into_core`, `status`, `code`, `message`,
/// `request_id`, `is_retryable`, `is_throttling`) are the same in every cloudkit client crate.
///
/// ```
/// # fn handle(e: cloudkit_gcp_compute::GceError) {
/// use cloudkit_gcp_compute::GceError;
/// match e {
///     GceError::NotFound(_) => println!("no such instance"),
///     GceError::OperationFailed(_) => {
///         for entry in e.operation_errors().map(|o| o.errors.as_slice()).unwrap_or_default() {
///             println!("{}: {:?}", entry.code, entry.message);
///         }
///     }
///     other => println!("failed: {other}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GceError {
    /// HTTP 404 `notFound`: the project, zone, instance or operation does not exist.
    #[error(transparent)]
    NotFound(Error),
    /// HTTP 409 `alreadyExists`: an instance with that name exists (other 409s too).
    #[error(transparent)]
    AlreadyExists(Error),
    /// HTTP 400 `resourceNotReady`: the resource is busy with another operation.
    #[error(transparent)]
    ResourceNotReady(Error),
    /// `quotaExceeded` / `QUOTA_EXCEEDED` (HTTP 403): the project's quota is used up.
    #[error(transparent)]
    QuotaExceeded(Error),
    /// HTTP 429 or `rateLimitExceeded` / `userRateLimitExceeded` / `RESOURCE_EXHAUSTED`, after the
    /// pipeline's retries.
    #[error(transparent)]
    Throttled(Error),
    /// HTTP 403 `forbidden` / `insufficientPermissions`: the identity lacks the permission.
    #[error(transparent)]
    PermissionDenied(Error),
    /// HTTP 401: no or an invalid token.
    #[error(transparent)]
    Unauthenticated(Error),
    /// HTTP 412 `conditionNotMet`: a stale `labelFingerprint` or metadata `fingerprint`.
    #[error(transparent)]
    PreconditionFailed(Error),
    /// An operation ended `DONE` with `error.errors`: the core error's code is the first entry's
    /// code, its status the `httpErrorStatusCode`, its message every entry;
    /// [`operation_errors`](Self::operation_errors) has them typed.
    #[error(transparent)]
    OperationFailed(Error),
    /// An operation or a waiter did not finish before its deadline (`max_wait`) or attempt limit;
    /// the message is the waiter's (its name, what it waited on, the last poll).
    #[error(transparent)]
    WaitTimeout(Error),
    /// A listing stopped on a page-bookkeeping failure (the service returned a `nextPageToken`
    /// twice, or the starting token is malformed); a failed page is its own variant instead.
    #[error(transparent)]
    Pagination(#[from] cloudkit_paginate::PaginationError),
    /// Anything else (other service errors, transport, timeouts, credentials, invalid input, …).
    #[error(transparent)]
    Other(Error),
}

cloudkit_core::service_error_accessors!(
    GceError {
        NotFound,
        AlreadyExists,
        ResourceNotReady,
        QuotaExceeded,
        Throttled,
        PermissionDenied,
        Unauthenticated,
        PreconditionFailed,
        OperationFailed,
        WaitTimeout,
        Other,
    },
    service = crate::SERVICE
);

impl GceError {
    /// Classifies a core error by its service code and status into the typed variants.
    pub fn from_core(e: Error) -> Self {
        if e.kind() != ErrorKind::Service {
            return GceError::Other(e);
        }
        let code = e.code().unwrap_or_default().to_owned();
        if QUOTA_CODES.contains(&code.as_str()) {
            return GceError::QuotaExceeded(e);
        }
        if e.is_throttling() || GCE_RETRY_CLASSIFIER.is_throttling_code(&code) {
            return GceError::Throttled(e);
        }
        match (code.as_str(), e.status().map(|s| s.as_u16())) {
            (_, Some(429)) => GceError::Throttled(e),
            ("notFound" | "NOT_FOUND", _) | (_, Some(404)) => GceError::NotFound(e),
            ("alreadyExists" | "ALREADY_EXISTS", _) | (_, Some(409)) => GceError::AlreadyExists(e),
            ("resourceNotReady", _) => GceError::ResourceNotReady(e),
            ("conditionNotMet" | "FAILED_PRECONDITION", _) | (_, Some(412)) => GceError::PreconditionFailed(e),
            (_, Some(401)) => GceError::Unauthenticated(e),
            (_, Some(403)) => GceError::PermissionDenied(e),
            _ => GceError::Other(e),
        }
    }

    /// Whether the resource does not exist (404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, GceError::NotFound(_))
    }

    /// The typed `error.errors` of an [`OperationFailed`](Self::OperationFailed) error.
    pub fn operation_errors(&self) -> Option<&OperationErrors> {
        match self {
            GceError::OperationFailed(e) => e.cause()?.downcast_ref::<OperationErrors>(),
            _ => None,
        }
    }

    /// An operation that ended `DONE` with errors.
    pub(crate) fn operation_failed(operation: &'static str, failure: OperationErrors) -> Self {
        let mut error = Error::new(ErrorKind::Service, crate::SERVICE, operation).with_message(failure.summary());
        if let Some(first) = failure.errors.first().filter(|e| !e.code.is_empty()) {
            error = error.with_code(first.code.clone());
        }
        if let Some(status) = failure.http_error_status_code.and_then(|s| StatusCode::from_u16(s).ok()) {
            error = error.with_status(status);
        }
        GceError::OperationFailed(error.with_retryable(false).with_source(failure))
    }
}

cloudkit_waiter::error_code_from_accessor!(GceError);

/// The result of Compute Engine client calls.
pub type Result<T, E = GceError> = std::result::Result<T, E>;
