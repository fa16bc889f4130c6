//! Which failures are worth retrying (DESIGN §3, after the AWS SDKs' "standard" retry mode).

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

/// Error codes that mean "slow down", across AWS, Azure and Google.
const THROTTLING_CODES: &[&str] = &[
    // AWS (botocore / aws-sdk-rust standard mode)
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
    // Azure
    "ServerBusy",
    "OperationTimedOut",
    // Google
    "rateLimitExceeded",
    "userRateLimitExceeded",
    "backendError",
];

/// Error codes that mean a transient server-side fault.
const TRANSIENT_CODES: &[&str] = &["RequestTimeout", "RequestTimeoutException", "InternalError"];

/// Whether `code` is a throttling error code.
pub fn is_throttling_code(code: &str) -> bool {
    THROTTLING_CODES.contains(&code)
}

/// Whether `code` is a transient (retryable, not throttling) error code.
pub fn is_transient_code(code: &str) -> bool {
    TRANSIENT_CODES.contains(&code)
}

/// Classifies an error response from its status and the provider's error code.
///
/// Never retried: other 4xx (including signature errors such as `SignatureDoesNotMatch` and
/// `AuthFailure`), and 501 Not Implemented.
pub fn classify_response(status: StatusCode, code: Option<&str>) -> RetryClass {
    if let Some(code) = code {
        if is_throttling_code(code) {
            return RetryClass::Throttling;
        }
        if is_transient_code(code) {
            return RetryClass::Transient;
        }
    }
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
            assert_eq!(classify_response(StatusCode::from_u16(s).unwrap(), None), RetryClass::Transient);
        }
        assert_eq!(classify_response(StatusCode::TOO_MANY_REQUESTS, None), RetryClass::Throttling);
        for s in [400, 401, 403, 404, 409, 412, 416, 501] {
            assert_eq!(classify_response(StatusCode::from_u16(s).unwrap(), None), RetryClass::Fatal, "{s}");
        }
    }

    #[test]
    fn codes_win_over_statuses() {
        assert_eq!(classify_response(StatusCode::SERVICE_UNAVAILABLE, Some("SlowDown")), RetryClass::Throttling);
        assert_eq!(classify_response(StatusCode::BAD_REQUEST, Some("RequestLimitExceeded")), RetryClass::Throttling);
        assert_eq!(classify_response(StatusCode::BAD_REQUEST, Some("RequestTimeout")), RetryClass::Transient);
        assert_eq!(classify_response(StatusCode::FORBIDDEN, Some("SignatureDoesNotMatch")), RetryClass::Fatal);
        assert_eq!(classify_response(StatusCode::SERVICE_UNAVAILABLE, Some("ServerBusy")), RetryClass::Throttling);
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
