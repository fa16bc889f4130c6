//! [`BlobError`]: typed variants for the Blob error codes callers match on, the
//! [`AzureErrorParser`] that reads Azure's XML error bodies and the `x-ms-error-code` header, and
//! the Blob service's retry classifier [`AZURE_RETRY_CLASSIFIER`].

use std::ops::Range;

use cloudkit_core::{CodeClassifier, Error, HeaderMap, ParseError, ServiceErrorDetails, StatusCode};

/// Which Blob error codes are worth retrying (docs/ARCHITECTURE.md, "The request pipeline"):
/// `ServerBusy` is throttling; `OperationTimedOut` and `InternalError` are transient; every other
/// code is decided by its status (429 throttling; 408, 500, 502, 503, 504 transient). Installed
/// on every [`BlobServiceClient`](crate::BlobServiceClient)'s pipeline.
///
/// ```
/// use cloudkit_azure_blob::AZURE_RETRY_CLASSIFIER;
/// use cloudkit_core::{ClassifyRetry, RetryClass, StatusCode};
/// assert_eq!(AZURE_RETRY_CLASSIFIER.classify(StatusCode::SERVICE_UNAVAILABLE, Some("ServerBusy")), RetryClass::Throttling);
/// assert_eq!(AZURE_RETRY_CLASSIFIER.classify(StatusCode::INTERNAL_SERVER_ERROR, Some("OperationTimedOut")), RetryClass::Transient);
/// assert_eq!(AZURE_RETRY_CLASSIFIER.classify(StatusCode::NOT_FOUND, Some("BlobNotFound")), RetryClass::Fatal);
/// ```
pub const AZURE_RETRY_CLASSIFIER: CodeClassifier =
    CodeClassifier::new(&["ServerBusy"], &["OperationTimedOut", "InternalError"]);

/// Parses `<Error><Code>…</Code><Message>…</Message></Error>` bodies, falling back on the
/// `x-ms-error-code` header (HEAD responses have no body).
#[derive(Clone, Copy, Debug, Default)]
pub struct AzureErrorParser;

fn tag<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let close = format!("</{name}>");
    let start = body.find(&open)? + open.len();
    let end = start + body[start..].find(&close)?;
    Some(&body[start..end])
}

impl ParseError for AzureErrorParser {
    fn parse(&self, _status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let text = String::from_utf8_lossy(body);
        let header_code = headers.get("x-ms-error-code").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let code = tag(&text, "Code").map(|c| c.trim().to_owned()).or(header_code);
        let message = tag(&text, "Message")
            .map(|m| m.lines().next().unwrap_or_default().trim().to_owned())
            .filter(|m| !m.is_empty());
        ServiceErrorDetails {
            code,
            message,
            request_id: headers.get("x-ms-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned),
        }
    }
}

/// The error of every Blob client call. Each variant keeps the full [`cloudkit_core::Error`]
/// (status, code, message, request id, retryability); the accessors (`core`, `status`, `code`,
/// `message`, `request_id`, `is_retryable`, `is_throttling`) are the same in every cloudkit
/// client crate.
///
/// ```
/// # fn handle(e: cloudkit_azure_blob::BlobError) {
/// use cloudkit_azure_blob::BlobError;
/// match e {
///     BlobError::BlobNotFound(_) | BlobError::ContainerNotFound(_) => println!("missing"),
///     BlobError::ConditionNotMet(_) => println!("changed by someone else"),
///     other => println!("failed: {other}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BlobError {
    /// `BlobNotFound`.
    #[error(transparent)]
    BlobNotFound(Error),
    /// `ContainerNotFound`.
    #[error(transparent)]
    ContainerNotFound(Error),
    /// `ContainerAlreadyExists`.
    #[error(transparent)]
    ContainerAlreadyExists(Error),
    /// `BlobAlreadyExists` (also a create-only write, `If-None-Match: *`, that found a blob).
    #[error(transparent)]
    BlobAlreadyExists(Error),
    /// `AuthenticationFailed` (bad key or signature, expired SAS) or HTTP 401.
    #[error(transparent)]
    AuthenticationFailed(Error),
    /// `AuthorizationFailure` / `AuthorizationPermissionMismatch` … (HTTP 403, e.g. a SAS without
    /// the needed permission).
    #[error(transparent)]
    AuthorizationFailure(Error),
    /// `ConditionNotMet` / HTTP 412.
    #[error(transparent)]
    ConditionNotMet(Error),
    /// HTTP 304 (an `If-None-Match` read found the blob unchanged).
    #[error(transparent)]
    NotModified(Error),
    /// `InvalidRange` / HTTP 416.
    #[error(transparent)]
    InvalidRange(Error),
    /// `ServerBusy`, `OperationTimedOut`, HTTP 429/503 throttling (after the retries).
    #[error(transparent)]
    Throttled(Error),
    /// A 404 without a more precise code.
    #[error(transparent)]
    NotFound(Error),
    /// The data does not match the MD5 the service stored or returned.
    #[error("AzureBlob.{operation} failed: MD5 mismatch: the service has {expected}, the data has {actual}")]
    ChecksumMismatch {
        /// The operation.
        operation: &'static str,
        /// The algorithm (`MD5`).
        algorithm: &'static str,
        /// The service's value (base64).
        expected: String,
        /// The computed value (base64).
        actual: String,
    },
    /// The blob changed while it was being read: a download that broke off could not be resumed
    /// because the blob no longer has the entity tag it had when the read started (a ranged Get
    /// Blob with `If-Match` answered 412). Nothing was spliced from two versions. The core error
    /// has kind [`ErrorKind::Transport`](cloudkit_core::ErrorKind::Transport) and a
    /// [`TransportError`](cloudkit_core::TransportError) source of kind
    /// [`TransportErrorKind::ObjectChanged`](cloudkit_core::TransportErrorKind::ObjectChanged).
    #[error(transparent)]
    ObjectChanged(Error),
    /// A ranged read answered with other bytes than asked for: another `Content-Range`, or a
    /// body of another length.
    #[error(
        "AzureBlob.{operation} failed: asked for bytes {}..{}, received bytes {}..{}",
        requested.start,
        requested.end,
        received.start,
        received.end
    )]
    RangeMismatch {
        /// The operation.
        operation: &'static str,
        /// The bytes asked for (end exclusive).
        requested: Range<u64>,
        /// The bytes the service answered with (end exclusive).
        received: Range<u64>,
    },
    /// A listing stopped on a page-bookkeeping failure (the service returned a `NextMarker`
    /// twice, or the starting token is malformed); a failed page is its own variant instead.
    #[error(transparent)]
    Pagination(#[from] cloudkit_paginate::PaginationError),
    /// Anything else (other service errors, transport, timeouts, credentials, invalid input …).
    #[error(transparent)]
    Other(Error),
}

cloudkit_core::service_error_accessors!(
    BlobError {
        BlobNotFound,
        ContainerNotFound,
        ContainerAlreadyExists,
        BlobAlreadyExists,
        AuthenticationFailed,
        AuthorizationFailure,
        ConditionNotMet,
        NotModified,
        InvalidRange,
        Throttled,
        NotFound,
        ObjectChanged,
        Other,
    },
    service = crate::SERVICE,
    body_errors
);

impl BlobError {
    /// Classifies a core error by its service code and status into the typed variants.
    pub fn from_core(e: Error) -> Self {
        let status = e.status().map(|s| s.as_u16());
        let code = e.code().unwrap_or_default().to_owned();
        if e.is_throttling() || AZURE_RETRY_CLASSIFIER.is_throttling_code(&code) || code == "OperationTimedOut" {
            return BlobError::Throttled(e);
        }
        match (code.as_str(), status) {
            (_, Some(304)) => BlobError::NotModified(e),
            ("BlobNotFound", _) => BlobError::BlobNotFound(e),
            ("ContainerNotFound", _) => BlobError::ContainerNotFound(e),
            ("ContainerAlreadyExists", _) => BlobError::ContainerAlreadyExists(e),
            ("BlobAlreadyExists", _) => BlobError::BlobAlreadyExists(e),
            ("AuthenticationFailed", _) | (_, Some(401)) => BlobError::AuthenticationFailed(e),
            ("ConditionNotMet", _) | (_, Some(412)) => BlobError::ConditionNotMet(e),
            ("InvalidRange", _) | (_, Some(416)) => BlobError::InvalidRange(e),
            (_, Some(403)) => BlobError::AuthorizationFailure(e),
            (_, Some(404)) => BlobError::NotFound(e),
            _ => BlobError::Other(e),
        }
    }
}

/// The result of Blob client calls.
pub type Result<T, E = BlobError> = std::result::Result<T, E>;
