//! One error type across every object store backend.

use cloudkit_core::BoxError;
#[cfg(any(feature = "aws-s3", feature = "azure-blob", feature = "gcp-storage"))]
use cloudkit_core::{ErrorKind, ServiceError};

/// What went wrong, in terms that mean the same on S3, Azure Blob, GCS, a local disk and memory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The object (or bucket/container) does not exist.
    #[error("not found: {key}")]
    NotFound {
        /// The key.
        key: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// A create-only write or copy found the destination already there.
    #[error("already exists: {key}")]
    AlreadyExists {
        /// The key.
        key: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// A condition (if-match, if-none-match on a write) did not hold.
    #[error("precondition failed for {key}")]
    PreconditionFailed {
        /// The key.
        key: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// A conditional read found the object unchanged (if-none-match matched).
    #[error("not modified: {key}")]
    NotModified {
        /// The key.
        key: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The caller is not allowed to do this.
    #[error("permission denied: {message}")]
    PermissionDenied {
        /// What was refused.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The caller's credentials were missing, invalid or expired.
    #[error("unauthenticated: {message}")]
    Unauthenticated {
        /// What failed.
        message: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The service is rate-limiting the caller (after cloudkit's own retries).
    #[error("throttled by the service")]
    Throttled {
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// The input was rejected before anything was sent (bad key, bad range, bad URL, …).
    #[error("invalid input: {message}")]
    InvalidInput {
        /// What is wrong.
        message: String,
    },
    /// The backend cannot do this (e.g. signed URLs on a local disk).
    #[error("{backend} does not support {operation}")]
    NotSupported {
        /// The operation.
        operation: &'static str,
        /// The backend.
        backend: &'static str,
    },
    /// The range asked for lies outside the object.
    #[error("range not satisfiable for {key}")]
    InvalidRange {
        /// The key.
        key: String,
    },
    /// The object was replaced while it was being read: a download that broke off could not be
    /// resumed from the same version (nothing was spliced from two versions). Read it again.
    #[error("{key} changed while it was being read")]
    ObjectChanged {
        /// The key.
        key: String,
        /// The backend's error.
        #[source]
        source: Option<BoxError>,
    },
    /// Any other backend failure; the source keeps the details (status, code, request id).
    #[error("{backend} error: {source}")]
    Provider {
        /// The backend.
        backend: &'static str,
        /// The backend's error.
        #[source]
        source: BoxError,
    },
    /// The network or the disk failed.
    #[error("{backend} I/O error: {source}")]
    Transport {
        /// The backend.
        backend: &'static str,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
}

impl Error {
    /// Shorthand for a `NotFound` without source.
    pub fn not_found(key: impl Into<String>) -> Self {
        Error::NotFound { key: key.into(), source: None }
    }

    /// Shorthand for an `InvalidInput`.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Error::InvalidInput { message: message.into() }
    }

    /// Whether this is a `NotFound`.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::NotFound { .. })
    }
}

/// Maps a provider client's error on `key` to the neutral error, from what its core error says
/// (kind, status, throttling). Each backend handles the few service codes whose meaning the status
/// does not carry (S3 `InvalidAccessKeyId`, Azure `BlobAlreadyExists`, GCS `409`, …) and passes
/// everything else here, so every backend maps alike.
#[cfg(any(feature = "aws-s3", feature = "azure-blob", feature = "gcp-storage"))]
pub(crate) fn from_service_error<E: ServiceError>(backend: &'static str, key: &str, e: E) -> Error {
    let kind = e.core().map(cloudkit_core::Error::kind);
    let status = e.core().and_then(cloudkit_core::Error::status).map(|s| s.as_u16());
    if kind == Some(ErrorKind::InvalidInput) {
        return Error::InvalidInput { message: e.to_string() };
    }
    let throttling = e.is_throttling();
    let changed = e.core().is_some_and(changed_under_read);
    let key = key.to_owned();
    let source: BoxError = Box::new(e);
    if changed {
        return Error::ObjectChanged { key, source: Some(source) };
    }
    match (kind, status) {
        (Some(ErrorKind::Credentials | ErrorKind::Signing), _) | (_, Some(401)) => {
            Error::Unauthenticated { message: key, source: Some(source) }
        }
        (_, Some(403)) => Error::PermissionDenied { message: key, source: Some(source) },
        (_, Some(404)) => Error::NotFound { key, source: Some(source) },
        (_, Some(304)) => Error::NotModified { key, source: Some(source) },
        (_, Some(412)) => Error::PreconditionFailed { key, source: Some(source) },
        (_, Some(416)) => Error::InvalidRange { key },
        _ if throttling => Error::Throttled { source: Some(source) },
        (Some(ErrorKind::Transport | ErrorKind::Timeout), _) => Error::Transport { backend, source },
        _ => Error::Provider { backend, source },
    }
}

/// Whether a provider error says a resumed read found the object changed (a transport error of
/// kind `ObjectChanged` somewhere in its sources).
#[cfg(any(feature = "aws-s3", feature = "azure-blob", feature = "gcp-storage"))]
fn changed_under_read(core: &cloudkit_core::Error) -> bool {
    let mut source = std::error::Error::source(core);
    while let Some(e) = source {
        if e.downcast_ref::<cloudkit_core::TransportError>()
            .is_some_and(|t| t.kind() == cloudkit_core::TransportErrorKind::ObjectChanged)
        {
            return true;
        }
        source = e.source();
    }
    false
}

/// A `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(all(test, feature = "aws-s3"))]
mod tests {
    use super::*;

    /// Issue 15: a resumed read that found the object replaced is `ObjectChanged` in the neutral
    /// layer too, whether it surfaces from the provider error or from the body stream.
    #[tokio::test]
    async fn a_changed_object_is_object_changed() {
        let e = cloudkit_aws_s3::S3Error::from_body_error("GetObject", cloudkit_core::object_changed());
        assert!(matches!(from_service_error("s3", "k", e), Error::ObjectChanged { key, .. } if key == "k"));

        let body = cloudkit_core::ByteStream::new(futures::stream::iter(vec![Err(cloudkit_core::object_changed())]));
        let result = super::super::GetResult {
            meta: super::super::ObjectMeta::new(super::super::ObjectKey::parse("k").unwrap(), 0),
            range: 0..0,
            body,
        };
        assert!(matches!(result.bytes().await, Err(Error::ObjectChanged { .. })));
    }
}
