//! [`S3Error`]: typed variants for the S3 error codes callers match on, each keeping the full
//! [`cloudkit_core::Error`] (status, code, message, request id, retryability).

use cloudkit_aws_protocol::AWS_RETRY_CLASSIFIER;
use cloudkit_core::{Error, ErrorKind};

/// The error of every S3 client call.
///
/// Variants name the conditions people branch on; each keeps the underlying
/// [`cloudkit_core::Error`] (see [`S3Error::core`]) with the HTTP status, the S3 error code, the
/// message and the request id; the accessors (`core`, `status`, `code`, `request_id`,
/// `is_retryable`, `is_throttling`) are the same in every cloudkit client crate.
///
/// ```
/// # fn handle(e: cloudkit_aws_s3::S3Error) {
/// use cloudkit_aws_s3::S3Error;
/// match e {
///     S3Error::NoSuchKey(_) | S3Error::NotFound(_) => println!("no such object"),
///     S3Error::PreconditionFailed(_) => println!("someone else changed it"),
///     other => println!("S3 failed: {other}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum S3Error {
    /// `NoSuchKey`: the object does not exist (GET, tagging, copy source …).
    #[error(transparent)]
    NoSuchKey(Error),
    /// `NoSuchBucket`: the bucket does not exist.
    #[error(transparent)]
    NoSuchBucket(Error),
    /// `NoSuchUpload`: the multipart upload does not exist (completed or aborted).
    #[error(transparent)]
    NoSuchUpload(Error),
    /// `BucketAlreadyExists`: someone else owns a bucket of that name.
    #[error(transparent)]
    BucketAlreadyExists(Error),
    /// `BucketAlreadyOwnedByYou`: you already own it (outside us-east-1).
    #[error(transparent)]
    BucketAlreadyOwnedByYou(Error),
    /// `BucketNotEmpty`: a bucket with objects cannot be deleted.
    #[error(transparent)]
    BucketNotEmpty(Error),
    /// `AccessDenied` (or a body-less 403).
    #[error(transparent)]
    AccessDenied(Error),
    /// HTTP 412 `PreconditionFailed`: an `If-Match`, `If-None-Match: *` or
    /// `If-Unmodified-Since` condition was not met.
    #[error(transparent)]
    PreconditionFailed(Error),
    /// HTTP 304: an `If-None-Match` / `If-Modified-Since` GET or HEAD found the object unchanged.
    #[error(transparent)]
    NotModified(Error),
    /// HTTP 416 `InvalidRange`: the range starts beyond the end of the object.
    #[error(transparent)]
    InvalidRange(Error),
    /// A body-less 404 (HEAD requests): the object or bucket does not exist.
    #[error(transparent)]
    NotFound(Error),
    /// The data received does not match the checksum the server sent: the download is corrupt.
    #[error("S3.{operation} failed: {algorithm} checksum mismatch: the server sent {expected}, the data has {actual}")]
    ChecksumMismatch {
        /// The operation.
        operation: &'static str,
        /// The algorithm (`CRC32C`, `SHA256`, …).
        algorithm: &'static str,
        /// The value the server sent (base64).
        expected: String,
        /// The value computed over the bytes received (base64).
        actual: String,
    },
    /// [`ChecksumMode::Required`](crate::ChecksumMode::Required) and nothing the service sent
    /// can be verified (no full-object checksum, a composite checksum without part checksums):
    /// the data was not handed out as verified.
    #[error("S3.{operation} failed: checksum mode is Required but {reason}")]
    ChecksumUnavailable {
        /// The operation.
        operation: &'static str,
        /// Why nothing could be verified.
        reason: String,
    },
    /// The object changed while it was being read: a download that broke off was to be resumed
    /// with `If-Match` on the ETag first read, and the service answered that the object no
    /// longer has it (412, or another ETag). Nothing was spliced from two versions. The error's
    /// source is a [`TransportError`](cloudkit_core::TransportError) of kind
    /// [`TransportErrorKind::ObjectChanged`](cloudkit_core::TransportErrorKind::ObjectChanged),
    /// which is also what a streaming body yields in that case.
    #[error(transparent)]
    ObjectChanged(Error),
    /// `SlowDown` / throttling (after the pipeline's retries).
    #[error(transparent)]
    Throttled(Error),
    /// A listing stopped on a page-bookkeeping failure (the service returned a continuation token
    /// twice, or the starting token is malformed); a failed page is its own variant instead.
    #[error(transparent)]
    Pagination(#[from] cloudkit_paginate::PaginationError),
    /// Any other failure: other service errors, transport errors, timeouts, credentials,
    /// invalid input, undecodable responses.
    #[error(transparent)]
    Other(Error),
}

impl S3Error {
    /// Classifies a core error by its S3 error code and status.
    pub fn from_core(error: Error) -> Self {
        if error.kind() != ErrorKind::Service {
            return S3Error::Other(error);
        }
        let status = error.status();
        match (error.code(), status.map(|s| s.as_u16())) {
            (Some("NoSuchKey"), _) => S3Error::NoSuchKey(error),
            (Some("NoSuchBucket"), _) => S3Error::NoSuchBucket(error),
            (Some("NoSuchUpload"), _) => S3Error::NoSuchUpload(error),
            (Some("BucketAlreadyExists"), _) => S3Error::BucketAlreadyExists(error),
            (Some("BucketAlreadyOwnedByYou"), _) => S3Error::BucketAlreadyOwnedByYou(error),
            (Some("BucketNotEmpty"), _) => S3Error::BucketNotEmpty(error),
            (Some("AccessDenied" | "Forbidden"), _) => S3Error::AccessDenied(error),
            (_, Some(304)) | (Some("NotModified"), _) => S3Error::NotModified(error),
            (_, Some(412)) | (Some("PreconditionFailed"), _) => S3Error::PreconditionFailed(error),
            (_, Some(416)) | (Some("InvalidRange"), _) => S3Error::InvalidRange(error),
            (Some("NotFound"), _) => S3Error::NotFound(error),
            (_, Some(404)) => S3Error::NotFound(error),
            _ if error.is_throttling() || error.code().is_some_and(|c| AWS_RETRY_CLASSIFIER.is_throttling_code(c)) => {
                S3Error::Throttled(error)
            }
            _ => S3Error::Other(error),
        }
    }

    /// Whether the object or bucket was not found (`NoSuchKey`, `NoSuchBucket`, a 404 HEAD).
    pub fn is_not_found(&self) -> bool {
        matches!(self, S3Error::NoSuchKey(_) | S3Error::NoSuchBucket(_) | S3Error::NotFound(_))
    }
}

cloudkit_core::service_error_accessors!(
    S3Error {
        NoSuchKey,
        NoSuchBucket,
        NoSuchUpload,
        BucketAlreadyExists,
        BucketAlreadyOwnedByYou,
        BucketNotEmpty,
        AccessDenied,
        PreconditionFailed,
        NotModified,
        InvalidRange,
        NotFound,
        ObjectChanged,
        Throttled,
        Other,
    },
    service = crate::SERVICE,
    body_errors
);

cloudkit_waiter::error_code_from_accessor!(S3Error);

#[cfg(test)]
mod tests {
    use cloudkit_core::{ServiceErrorDetails, StatusCode};

    use super::*;

    fn service(status: u16, code: &str) -> Error {
        Error::new(ErrorKind::Service, "S3", "Op")
            .with_status(StatusCode::from_u16(status).unwrap())
            .with_details(ServiceErrorDetails { code: Some(code.into()), message: None, request_id: Some("R".into()) })
    }

    #[test]
    fn codes_map_to_variants() {
        assert!(matches!(S3Error::from(service(404, "NoSuchKey")), S3Error::NoSuchKey(_)));
        assert!(matches!(S3Error::from(service(404, "NoSuchBucket")), S3Error::NoSuchBucket(_)));
        assert!(matches!(S3Error::from(service(404, "NoSuchUpload")), S3Error::NoSuchUpload(_)));
        assert!(matches!(S3Error::from(service(409, "BucketAlreadyExists")), S3Error::BucketAlreadyExists(_)));
        assert!(matches!(S3Error::from(service(409, "BucketAlreadyOwnedByYou")), S3Error::BucketAlreadyOwnedByYou(_)));
        assert!(matches!(S3Error::from(service(409, "BucketNotEmpty")), S3Error::BucketNotEmpty(_)));
        assert!(matches!(S3Error::from(service(403, "AccessDenied")), S3Error::AccessDenied(_)));
        assert!(matches!(S3Error::from(service(403, "Forbidden")), S3Error::AccessDenied(_)));
        assert!(matches!(S3Error::from(service(412, "PreconditionFailed")), S3Error::PreconditionFailed(_)));
        assert!(matches!(S3Error::from(service(304, "NotModified")), S3Error::NotModified(_)));
        assert!(matches!(S3Error::from(service(416, "InvalidRange")), S3Error::InvalidRange(_)));
        assert!(matches!(S3Error::from(service(503, "SlowDown")), S3Error::Throttled(_)));
        assert!(matches!(S3Error::from(service(404, "NotFound")), S3Error::NotFound(_)));
        assert!(matches!(S3Error::from(service(400, "InvalidArgument")), S3Error::Other(_)));
        let e = S3Error::from(service(404, "NoSuchKey"));
        assert_eq!(e.code(), Some("NoSuchKey"));
        assert_eq!(e.request_id(), Some("R"));
        assert_eq!(cloudkit_waiter::ErrorCode::error_code(&e), Some("NoSuchKey"));
        assert!(e.is_not_found());
    }
}
