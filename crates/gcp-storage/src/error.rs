//! [`GcsError`]: typed variants for the GCS errors callers match on, and the JSON error-body
//! parser the pipeline uses to classify them (`rateLimitExceeded` → throttling, …).

use cloudkit_core::{
    CodeClassifier, Error, ErrorKind, HeaderMap, ParseError, ServiceErrorDetails, StatusCode, request_id_from_headers,
};
use serde::Deserialize;

/// The error of every GCS client call.
///
/// The variants for service answers keep the underlying [`cloudkit_core::Error`] (status, reason,
/// message, request id, retryability, attempts); [`ChecksumMismatch`](GcsError::ChecksumMismatch)
/// and [`Signing`](GcsError::Signing) carry their own fields. The accessors (`core`, `into_core`,
/// `status`, `code` — the GCS error *reason*, `notFound`, `rateLimitExceeded`, … —, `message`,
/// `request_id`, `is_retryable`, `is_throttling`) are the same in every cloudkit client crate
/// (docs/ARCHITECTURE.md, "Errors"); throttling after the pipeline's retries is
/// [`Throttled`](GcsError::Throttled), as everywhere.
///
/// ```
/// # fn handle(e: cloudkit_gcp_storage::GcsError) {
/// use cloudkit_gcp_storage::GcsError;
/// match e {
///     GcsError::NotFound(_) => println!("no such object or bucket"),
///     GcsError::PreconditionFailed(_) => println!("the generation changed"),
///     other => println!("GCS failed: {other}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GcsError {
    /// HTTP 404 `notFound`: the bucket or object does not exist.
    #[error(transparent)]
    NotFound(Error),
    /// HTTP 409 `conflict` / `alreadyExists` (bucket name taken, bucket not empty, …).
    #[error(transparent)]
    Conflict(Error),
    /// HTTP 412 `conditionNotMet`: an `ifGenerationMatch`-style precondition failed.
    #[error(transparent)]
    PreconditionFailed(Error),
    /// HTTP 304: an `ifGenerationNotMatch` / `ifMetagenerationNotMatch` read found no change.
    #[error(transparent)]
    NotModified(Error),
    /// HTTP 403 `forbidden`: the caller lacks permission.
    #[error(transparent)]
    Forbidden(Error),
    /// HTTP 401: missing or invalid credentials.
    #[error(transparent)]
    Unauthenticated(Error),
    /// HTTP 429 or `rateLimitExceeded` / `userRateLimitExceeded` (after the pipeline's retries).
    #[error(transparent)]
    Throttled(Error),
    /// HTTP 416: the range lies outside the object.
    #[error(transparent)]
    InvalidRange(Error),
    /// The data does not match its checksum: the transfer is corrupt. Uploads compare the
    /// CRC32C computed while sending with the one GCS stored; whole-object downloads compare the
    /// CRC32C (or MD5) GCS reported with the bytes received, when the last byte has arrived.
    #[error("GCS.{operation} failed: {algorithm} mismatch: expected {expected}, got {actual}")]
    ChecksumMismatch {
        /// The operation (`objects.insert`, `objects.get`).
        operation: &'static str,
        /// `CRC32C` or `MD5`.
        algorithm: &'static str,
        /// The value the data should have (base64): computed while uploading, reported by GCS
        /// for a download.
        expected: String,
        /// The value found (base64): stored by GCS for an upload, computed over the bytes
        /// received for a download.
        actual: String,
    },
    /// A download broke off and, when it was resumed from the last byte received, GCS said the
    /// object is no longer the generation first read (`ifGenerationMatch` failed, or another
    /// generation or checksum came back): nothing was spliced from two versions. The core error
    /// is of kind `Transport` and its source a [`cloudkit_core::TransportError`] of kind
    /// [`ObjectChanged`](cloudkit_core::TransportErrorKind::ObjectChanged).
    #[error(transparent)]
    ObjectChanged(Error),
    /// A resumable upload session answered `308 Resume Incomplete` several times in a row
    /// without taking any of the bytes sent; the upload stops instead of resending forever.
    #[error(transparent)]
    UploadStalled(Error),
    /// A signed URL could not be made.
    /// (`Display` includes the signing error's text, so it is not also the
    /// [`source`](std::error::Error::source).)
    #[error("GCS signed URL: {0}")]
    Signing(cloudkit_signer::gcp::SigningError),
    /// A listing stopped on a page-bookkeeping failure (GCS returned a `nextPageToken` twice, or
    /// the starting token is malformed); a failed page is its own variant instead.
    #[error(transparent)]
    Pagination(#[from] cloudkit_paginate::PaginationError),
    /// Any other failure: other service errors, transport errors, timeouts, credentials, invalid
    /// input, undecodable responses.
    #[error(transparent)]
    Other(Error),
}

impl GcsError {
    /// Whether this is a 404.
    pub fn is_not_found(&self) -> bool {
        matches!(self, GcsError::NotFound(_))
    }
}

cloudkit_core::service_error_accessors!(
    GcsError {
        NotFound,
        Conflict,
        PreconditionFailed,
        NotModified,
        Forbidden,
        Unauthenticated,
        Throttled,
        InvalidRange,
        ObjectChanged,
        UploadStalled,
        Other,
    },
    service = crate::SERVICE,
    body_errors
);

impl GcsError {
    /// Classifies a core error by its service code and status into the typed variants.
    pub fn from_core(e: Error) -> Self {
        if e.kind() != ErrorKind::Service {
            return GcsError::Other(e);
        }
        let code = e.code().unwrap_or_default();
        if e.is_throttling() || GCS_RETRY_CLASSIFIER.is_throttling_code(code) {
            return GcsError::Throttled(e);
        }
        match e.status().map(|s| s.as_u16()) {
            Some(404) => GcsError::NotFound(e),
            Some(409) => GcsError::Conflict(e),
            Some(412) => GcsError::PreconditionFailed(e),
            Some(304) => GcsError::NotModified(e),
            Some(403) => GcsError::Forbidden(e),
            Some(401) => GcsError::Unauthenticated(e),
            Some(416) => GcsError::InvalidRange(e),
            _ => GcsError::Other(e),
        }
    }
}

impl From<cloudkit_signer::gcp::SigningError> for GcsError {
    fn from(error: cloudkit_signer::gcp::SigningError) -> Self {
        GcsError::Signing(error)
    }
}

/// The GCS error reasons that mean throttling (`rateLimitExceeded`, `userRateLimitExceeded`) and
/// transient faults (`backendError`, `internalError`), for the pipeline's retries.
pub const GCS_RETRY_CLASSIFIER: CodeClassifier =
    CodeClassifier::new(&["rateLimitExceeded", "userRateLimitExceeded"], &["backendError", "internalError"]);

/// Parses GCS JSON error bodies: `{"error":{"code":404,"message":"…","errors":[{"reason":"notFound"}]}}`.
/// Body-less errors (HEAD-like calls, some emulators) get the reason their status implies.
#[derive(Clone, Copy, Debug, Default)]
pub struct GcsErrorParser;

#[derive(Deserialize)]
struct ErrorBody {
    error: Option<ErrorInner>,
}

#[derive(Deserialize)]
struct ErrorInner {
    message: Option<String>,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    reason: Option<String>,
    message: Option<String>,
}

impl ParseError for GcsErrorParser {
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let request_id = request_id_from_headers(headers);
        let parsed = serde_json::from_slice::<ErrorBody>(body).ok().and_then(|b| b.error);
        let (code, message) = match parsed {
            Some(inner) => {
                let first = inner.errors.into_iter().next();
                let reason = first.as_ref().and_then(|i| i.reason.clone());
                let message = inner.message.or_else(|| first.and_then(|i| i.message));
                (reason, message)
            }
            None => {
                let text = String::from_utf8_lossy(body).trim().to_owned();
                (None, (!text.is_empty() && text.len() < 2000).then_some(text))
            }
        };
        let code = code.or_else(|| cloudkit_core::internal::google::reason_for_status(status).map(str::to_owned));
        ServiceErrorDetails { code, message, request_id }
    }
}
