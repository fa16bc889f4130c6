//! [`ArmError`]: typed variants for the Azure Resource Manager error codes callers match on, the
//! [`ArmErrorParser`] that reads ARM's JSON error bodies (`{"error":{"code","message",…}}`, leniently:
//! also the doubled `error.error` of some specs and a flat `{"code","message"}`), and the retry
//! classifier [`AZURE_ARM_RETRY_CLASSIFIER`].
//!
//! Every error carries the request id (`x-ms-request-id`, [`ArmError::request_id`]) and, when the
//! service sent one, the correlation id (`x-ms-correlation-request-id`,
//! [`ArmError::correlation_id`]); both are shown by `Display`.

use cloudkit_core::{CodeClassifier, Error, HeaderMap, ParseError, ServiceErrorDetails, StatusCode};
use serde::Deserialize;

/// Which ARM error codes are worth retrying (docs/ARCHITECTURE.md, "The request pipeline"):
/// `TooManyRequests`, `SubscriptionRequestsThrottled`, `TenantRequestsThrottled`,
/// `ResourceRequestsThrottled` and `OperationNotAllowedThrottled` are throttling; `InternalServerError`,
/// `ServiceUnavailable`, `GatewayTimeout`, `RetryableError` and `HttpRequestTimeout` are transient;
/// every other code is decided by its status (429 throttling; 408, 500, 502, 503, 504 transient).
/// The pipeline honours `Retry-After` on a retried answer.
///
/// ```
/// use cloudkit_azure_arm::AZURE_ARM_RETRY_CLASSIFIER;
/// use cloudkit_core::{ClassifyRetry, RetryClass, StatusCode};
/// let c = AZURE_ARM_RETRY_CLASSIFIER;
/// assert_eq!(c.classify(StatusCode::TOO_MANY_REQUESTS, Some("SubscriptionRequestsThrottled")), RetryClass::Throttling);
/// assert_eq!(c.classify(StatusCode::INTERNAL_SERVER_ERROR, Some("InternalServerError")), RetryClass::Transient);
/// assert_eq!(c.classify(StatusCode::NOT_FOUND, Some("ResourceGroupNotFound")), RetryClass::Fatal);
/// ```
pub const AZURE_ARM_RETRY_CLASSIFIER: CodeClassifier = CodeClassifier::new(
    &[
        "TooManyRequests",
        "SubscriptionRequestsThrottled",
        "TenantRequestsThrottled",
        "ResourceRequestsThrottled",
        "OperationNotAllowedThrottled",
    ],
    &["InternalServerError", "ServiceUnavailable", "GatewayTimeout", "RetryableError", "HttpRequestTimeout"],
);

/// The codes of a refused or expired token (HTTP 401).
const AUTHENTICATION_CODES: &[&str] = &[
    "InvalidAuthenticationToken",
    "ExpiredAuthenticationToken",
    "AuthenticationFailed",
    "InvalidAuthenticationTokenTenant",
    "InvalidAuthenticationTokenAudience",
    "AuthenticationFailedMissingToken",
];

/// What `Display` and the message carry for the correlation id.
const CORRELATION_PREFIX: &str = "(correlation id ";

/// The ARM error body, any of its shapes.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct WireError {
    #[serde(default)]
    pub(crate) code: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) target: Option<String>,
    #[serde(default)]
    pub(crate) error: Option<Box<WireError>>,
}

impl WireError {
    /// The innermost `error` object with a code or message (`{"error":{"error":{…}}}` included).
    pub(crate) fn innermost(&self) -> &WireError {
        let mut e = self;
        while let Some(inner) = &e.error {
            if e.code.is_some() && inner.code.is_none() {
                break;
            }
            e = inner;
        }
        e
    }
}

/// The code and message of an ARM error body (`None` when the body is not one).
pub(crate) fn parse_error_body(body: &[u8]) -> (Option<String>, Option<String>) {
    match serde_json::from_slice::<WireError>(body) {
        Ok(wire) => {
            let e = wire.innermost();
            let message = match (&e.message, &e.target) {
                (Some(m), Some(t)) if !m.contains(t.as_str()) => Some(format!("{m} (target {t})")),
                (m, _) => m.clone(),
            };
            (e.code.clone().filter(|c| !c.is_empty()), message.filter(|m| !m.trim().is_empty()))
        }
        Err(_) => {
            let text = String::from_utf8_lossy(body).trim().to_owned();
            (None, (!text.is_empty()).then(|| cloudkit_core::internal::excerpt(&text, 500)))
        }
    }
}

pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|v| !v.is_empty())
}

/// Adds ` (correlation id …)` to a message (the core error has no field for it).
pub(crate) fn with_correlation(message: Option<String>, headers: &HeaderMap) -> Option<String> {
    match header(headers, "x-ms-correlation-request-id") {
        Some(id) => Some(match message {
            Some(m) => format!("{m} {CORRELATION_PREFIX}{id})"),
            None => format!("{CORRELATION_PREFIX}{id})"),
        }),
        None => message,
    }
}

/// Parses ARM's JSON error bodies into the code and message, the request id from
/// `x-ms-request-id` and the correlation id from `x-ms-correlation-request-id` (appended to the
/// message as `(correlation id …)`, so `Display` shows it). A body that is not JSON becomes the
/// message (cut to 500 characters); a HEAD answer has no body and no code.
#[derive(Clone, Copy, Debug, Default)]
pub struct ArmErrorParser;

impl ParseError for ArmErrorParser {
    fn parse(&self, _status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let (code, message) = parse_error_body(body);
        ServiceErrorDetails {
            code,
            message: with_correlation(message, headers),
            request_id: header(headers, "x-ms-request-id").map(str::to_owned),
        }
    }
}

/// The error of every ARM client call. Each variant keeps the full [`cloudkit_core::Error`]
/// (status, code, message, request id, retryability); the accessors (`core`, `status`, `code`,
/// `message`, `request_id`, `is_retryable`, `is_throttling`) are the same in every cloudkit
/// client crate, plus [`correlation_id`](Self::correlation_id).
///
/// ```
/// # fn handle(e: cloudkit_azure_arm::ArmError) {
/// use cloudkit_azure_arm::ArmError;
/// match e {
///     ArmError::ResourceGroupNotFound(_) | ArmError::ResourceNotFound(_) => println!("missing"),
///     ArmError::OperationFailed(e) => println!("the operation failed: {e}"),
///     other => println!("failed: {other} (correlation id {:?})", other.correlation_id()),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ArmError {
    /// `ResourceGroupNotFound` (HTTP 404).
    #[error(transparent)]
    ResourceGroupNotFound(Error),
    /// `ResourceNotFound` (HTTP 404), also `NotFound` codes of resource providers.
    #[error(transparent)]
    ResourceNotFound(Error),
    /// Another HTTP 404 (`SubscriptionNotFound`, `InvalidResourceNamespace`, no code …).
    #[error(transparent)]
    NotFound(Error),
    /// `AuthorizationFailed` / HTTP 403: the identity lacks the role assignment.
    #[error(transparent)]
    AuthorizationFailed(Error),
    /// HTTP 401 (`InvalidAuthenticationToken`, `ExpiredAuthenticationToken`, …): the token was
    /// refused.
    #[error(transparent)]
    AuthenticationFailed(Error),
    /// HTTP 409 (`Conflict`, `OperationNotAllowed` on a resource being changed, …) and HTTP 412.
    #[error(transparent)]
    Conflict(Error),
    /// HTTP 429 or a throttling code, after the pipeline's retries (which honour `Retry-After`).
    #[error(transparent)]
    Throttled(Error),
    /// A long-running operation ended `Failed` or `Canceled` (or its `Location` answered with an
    /// error): the code and message are the operation's, the message says which status.
    #[error(transparent)]
    OperationFailed(Error),
    /// A long-running operation or a waiter did not finish before its deadline (`max_wait`) or
    /// attempt limit; the message is the waiter's (its name, what it waited on, the last poll).
    #[error(transparent)]
    WaitTimeout(Error),
    /// A listing stopped on a page-bookkeeping failure (the service returned a `nextLink` twice,
    /// or the starting token is malformed); a failed page is its own variant instead.
    #[error(transparent)]
    Pagination(#[from] cloudkit_paginate::PaginationError),
    /// Anything else (other service errors, transport, timeouts, credentials, invalid input …).
    #[error(transparent)]
    Other(Error),
}

cloudkit_core::service_error_accessors!(
    ArmError {
        ResourceGroupNotFound,
        ResourceNotFound,
        NotFound,
        AuthorizationFailed,
        AuthenticationFailed,
        Conflict,
        Throttled,
        OperationFailed,
        WaitTimeout,
        Other,
    },
    service = crate::SERVICE
);

impl ArmError {
    /// Classifies a core error by its service code and status into the typed variants.
    pub fn from_core(e: Error) -> Self {
        let status = e.status().map(|s| s.as_u16());
        let code = e.code().unwrap_or_default().to_owned();
        if e.is_throttling() || AZURE_ARM_RETRY_CLASSIFIER.is_throttling_code(&code) || status == Some(429) {
            return ArmError::Throttled(e);
        }
        match (code.as_str(), status) {
            ("ResourceGroupNotFound", _) => ArmError::ResourceGroupNotFound(e),
            ("ResourceNotFound" | "NotFound", _) => ArmError::ResourceNotFound(e),
            (c, _) if AUTHENTICATION_CODES.contains(&c) => ArmError::AuthenticationFailed(e),
            (_, Some(401)) => ArmError::AuthenticationFailed(e),
            ("AuthorizationFailed" | "LinkedAuthorizationFailed", _) | (_, Some(403)) => {
                ArmError::AuthorizationFailed(e)
            }
            (_, Some(404)) => ArmError::NotFound(e),
            ("Conflict", _) | (_, Some(409 | 412)) => ArmError::Conflict(e),
            _ => ArmError::Other(e),
        }
    }

    /// The correlation id (`x-ms-correlation-request-id`) of the answer, when the service sent
    /// one: with the request id, what Azure support asks for.
    pub fn correlation_id(&self) -> Option<&str> {
        let message = self.message()?;
        let start = message.rfind(CORRELATION_PREFIX)? + CORRELATION_PREFIX.len();
        message[start..].strip_suffix(')')
    }

    /// Whether the resource (or its resource group) does not exist.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ArmError::ResourceGroupNotFound(_) | ArmError::ResourceNotFound(_) | ArmError::NotFound(_))
    }
}

cloudkit_waiter::error_code_from_accessor!(ArmError);

/// The result of ARM client calls.
pub type Result<T, E = ArmError> = std::result::Result<T, E>;
