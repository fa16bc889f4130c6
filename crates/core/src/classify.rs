//! Which failures are worth retrying (docs/ARCHITECTURE.md, "The request pipeline"; after the AWS
//! SDKs' "standard" retry mode).
//!
//! The HTTP part is the same for every service: 429 is throttling; 408, 500, 502, 503 and 504 are
//! transient; connect errors are always retried, other transport failures only for idempotent
//! requests. The error *codes* that mean "slow down" or "try again" belong to each service: a
//! provider crate installs its own [`ClassifyRetry`] (usually a [`CodeClassifier`] with its
//! codes) on its pipeline. Nothing here knows AWS, Azure or Google codes.

use std::fmt;

use http::StatusCode;

use crate::error::TransportErrorKind;

/// How a failed attempt is classified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryClass {
    /// The service is overloaded or rate-limiting the caller: retry after backing off.
    Throttling,
    /// A transient fault (5xx, connection error, timeout): retry.
    Transient,
    /// A timeout: retried only for idempotent requests; costs more retry quota.
    Timeout,
    /// Retrying cannot help (client errors, signature errors, …).
    Fatal,
}

impl RetryClass {
    /// Whether the attempt may be retried.
    pub fn is_retryable(self) -> bool {
        !matches!(self, RetryClass::Fatal)
    }
}

/// Classifies an error response of one service from its status and the service's error code.
///
/// A client installs its service's classifier with
/// [`PipelineBuilder::classifier`](crate::PipelineBuilder::classifier).
pub trait ClassifyRetry: Send + Sync + fmt::Debug {
    /// The class of an error response with `status` and the parsed error `code`.
    fn classify(&self, status: StatusCode, code: Option<&str>) -> RetryClass;
}

/// A classifier from two lists of a service's error codes, falling back on the status
/// ([`classify_status`]): the shape every provider's classifier has.
///
/// ```
/// use cloudkit_core::{ClassifyRetry, CodeClassifier, RetryClass, StatusCode};
/// const EXAMPLE: CodeClassifier = CodeClassifier::new(&["SlowDown"], &["InternalError"]);
/// assert_eq!(EXAMPLE.classify(StatusCode::SERVICE_UNAVAILABLE, Some("SlowDown")), RetryClass::Throttling);
/// assert_eq!(EXAMPLE.classify(StatusCode::BAD_REQUEST, Some("InternalError")), RetryClass::Transient);
/// assert_eq!(EXAMPLE.classify(StatusCode::NOT_FOUND, Some("NoSuchKey")), RetryClass::Fatal);
/// assert_eq!(CodeClassifier::STATUS_ONLY.classify(StatusCode::TOO_MANY_REQUESTS, None), RetryClass::Throttling);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CodeClassifier {
    throttling: &'static [&'static str],
    transient: &'static [&'static str],
}

impl CodeClassifier {
    /// Codes that mean "slow down" and codes that mean a transient server fault.
    pub const fn new(throttling: &'static [&'static str], transient: &'static [&'static str]) -> Self {
        Self { throttling, transient }
    }

    /// No codes: the status alone decides (the pipeline's default).
    pub const STATUS_ONLY: CodeClassifier = CodeClassifier::new(&[], &[]);

    /// Whether `code` is one of this service's throttling codes.
    pub fn is_throttling_code(&self, code: &str) -> bool {
        self.throttling.contains(&code)
    }

    /// Whether `code` is one of this service's transient-fault codes.
    pub fn is_transient_code(&self, code: &str) -> bool {
        self.transient.contains(&code)
    }
}

impl ClassifyRetry for CodeClassifier {
    fn classify(&self, status: StatusCode, code: Option<&str>) -> RetryClass {
        match code {
            Some(code) if self.is_throttling_code(code) => RetryClass::Throttling,
            Some(code) if self.is_transient_code(code) => RetryClass::Transient,
            _ => classify_status(status),
        }
    }
}

/// The class of an error status alone: 429 throttling; 408, 500, 502, 503, 504 transient; every
/// other status (other 4xx, 501) fatal.
pub fn classify_status(status: StatusCode) -> RetryClass {
    match status.as_u16() {
        429 => RetryClass::Throttling,
        408 | 500 | 502 | 503 | 504 => RetryClass::Transient,
        _ => RetryClass::Fatal,
    }
}

/// Classifies a transport failure. Connect errors are always safe to retry (nothing reached the
/// server); other failures are retried only when the request is idempotent.
pub fn classify_transport(kind: TransportErrorKind, idempotent: bool) -> RetryClass {
    match kind {
        TransportErrorKind::Connect => RetryClass::Transient,
        TransportErrorKind::Timeout if idempotent => RetryClass::Timeout,
        TransportErrorKind::Request | TransportErrorKind::Body if idempotent => RetryClass::Transient,
        _ => RetryClass::Fatal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        for s in [500, 502, 503, 504, 408] {
            assert_eq!(classify_status(StatusCode::from_u16(s).unwrap()), RetryClass::Transient);
        }
        assert_eq!(classify_status(StatusCode::TOO_MANY_REQUESTS), RetryClass::Throttling);
        for s in [400, 401, 403, 404, 409, 412, 416, 501] {
            assert_eq!(classify_status(StatusCode::from_u16(s).unwrap()), RetryClass::Fatal, "{s}");
        }
    }

    #[test]
    fn codes_win_over_statuses() {
        const SERVICE: CodeClassifier = CodeClassifier::new(&["SlowDown", "RequestLimitExceeded"], &["RequestTimeout"]);
        assert_eq!(SERVICE.classify(StatusCode::SERVICE_UNAVAILABLE, Some("SlowDown")), RetryClass::Throttling);
        assert_eq!(SERVICE.classify(StatusCode::BAD_REQUEST, Some("RequestLimitExceeded")), RetryClass::Throttling);
        assert_eq!(SERVICE.classify(StatusCode::BAD_REQUEST, Some("RequestTimeout")), RetryClass::Transient);
        assert_eq!(SERVICE.classify(StatusCode::FORBIDDEN, Some("SignatureDoesNotMatch")), RetryClass::Fatal);
        // another service's code means nothing here
        assert_eq!(SERVICE.classify(StatusCode::BAD_REQUEST, Some("ServerBusy")), RetryClass::Fatal);
        assert_eq!(CodeClassifier::STATUS_ONLY.classify(StatusCode::BAD_REQUEST, Some("SlowDown")), RetryClass::Fatal);
    }

    #[test]
    fn transport() {
        assert!(classify_transport(TransportErrorKind::Connect, false).is_retryable());
        assert!(!classify_transport(TransportErrorKind::Timeout, false).is_retryable());
        assert_eq!(classify_transport(TransportErrorKind::Timeout, true), RetryClass::Timeout);
        assert!(!classify_transport(TransportErrorKind::Request, false).is_retryable());
        assert!(classify_transport(TransportErrorKind::Request, true).is_retryable());
        assert!(!classify_transport(TransportErrorKind::Other, true).is_retryable());
    }
}
