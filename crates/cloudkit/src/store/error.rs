//! One error type across every object store backend.

use cloudkit_core::BoxError;
#[cfg(any(feature = "aws-s3", feature = "azure-blob", feature = "gcp-storage"))]
use cloudkit_core::{ErrorKind, ServiceError};

/// What went wrong, in terms that mean the same on S3, Azure Blob, GCS, a local disk and memory.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The object (or bucket/container) does not exist.
    NotFound {
        /// The key.
        key: String,
        /// The backend's error.
        source: Option<BoxError>,
    },
    /// A create-only write or copy found the destination already there.
    AlreadyExists {
        /// The key.
        key: String,
        /// The backend's error.
        source: Option<BoxError>,
    },
    /// A condition (if-match, if-none-match on a write) did not hold.
    PreconditionFailed {
        /// The key.
        key: String,
        /// The backend's error.
        source: Option<BoxError>,
    },
    /// A conditional read found the object unchanged (if-none-match matched).
    NotModified {
        /// The key.
        key: String,
        /// The backend's error.
        source: Option<BoxError>,
    },
    /// The caller is not allowed to do this.
    PermissionDenied {
        /// What was refused.
        message: String,
        /// The backend's error.
        source: Option<BoxError>,
    },
    /// The caller's credentials were missing, invalid or expired.
    Unauthenticated {
        /// What failed.
        message: String,
        /// The backend's error.
        source: Option<BoxError>,
    },
    /// The service is rate-limiting the caller (after cloudkit's own retries).
    Throttled {
        /// The backend's error.
        source: Option<BoxError>,
    },
    /// The input was rejected before anything was sent (bad key, bad range, bad URL, …).
    InvalidInput {
        /// What is wrong.
        message: String,
    },
    /// The backend cannot do this (e.g. signed URLs on a local disk).
    NotSupported {
        /// The operation.
        operation: &'static str,
        /// The backend.
        backend: &'static str,
    },
    /// The range asked for lies outside the object.
    InvalidRange {
        /// The key.
        key: String,
    },
    /// The object was replaced while it was being read: a download that broke off could not be
    /// resumed from the same version (nothing was spliced from two versions). Read it again.
    ObjectChanged {
        /// The key.
        key: String,
        /// The backend's error.
        source: Option<BoxError>,
    },
    /// Any other backend failure; the source keeps the details (status, code, request id).
    Provider {
        /// The backend.
        backend: &'static str,
        /// The backend's error.
        source: BoxError,
    },
    /// The network or the disk failed.
    Transport {
        /// The backend.
        backend: &'static str,
        /// The underlying error.
        source: BoxError,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound { key, .. } => write!(f, "not found: {key}"),
            Self::AlreadyExists { key, .. } => write!(f, "already exists: {key}"),
            Self::PreconditionFailed { key, .. } => write!(f, "precondition failed for {key}"),
            Self::NotModified { key, .. } => write!(f, "not modified: {key}"),
            Self::PermissionDenied { message, .. } => write!(f, "permission denied: {message}"),
            Self::Unauthenticated { message, .. } => write!(f, "unauthenticated: {message}"),
            Self::Throttled { .. } => write!(f, "throttled by the service"),
            Self::InvalidInput { message } => write!(f, "invalid input: {message}"),
            Self::NotSupported { operation, backend } => write!(f, "{backend} does not support {operation}"),
            Self::InvalidRange { key } => write!(f, "range not satisfiable for {key}"),
            Self::ObjectChanged { key, .. } => write!(f, "{key} changed while it was being read"),
            Self::Provider { backend, source } => write!(f, "{backend} error: {source}"),
            Self::Transport { backend, source } => write!(f, "{backend} I/O error: {source}"),
        }
    }
}

/// The wrapped error is the source unless `Display` already printed its text (then the first
/// layer below it that was not printed: [`cloudkit_core::unshown_source`]), so an error-chain
/// printer shows each text once. The variants' `source` fields keep the provider's error.
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let shown = self.to_string();
        match self {
            Self::NotFound { source, .. }
            | Self::AlreadyExists { source, .. }
            | Self::PreconditionFailed { source, .. }
            | Self::NotModified { source, .. }
            | Self::PermissionDenied { source, .. }
            | Self::Unauthenticated { source, .. }
            | Self::Throttled { source, .. }
            | Self::ObjectChanged { source, .. } => unshown(&shown, source.as_ref()),
            Self::Provider { source, .. } | Self::Transport { source, .. } => unshown(&shown, Some(source)),
            _ => None,
        }
    }
}

/// What `source()` returns for an error whose `Display` is `shown` and which wraps `cause`: the
/// cause, unless `shown` already prints its text (then the first layer below it that was not
/// printed; [`cloudkit_core::unshown_source`]). Store and compute errors alike.
pub(crate) fn unshown<'a>(shown: &str, cause: Option<&'a BoxError>) -> Option<&'a (dyn std::error::Error + 'static)> {
    cloudkit_core::unshown_source(shown, cause.map(|c| c.as_ref() as &(dyn std::error::Error + 'static)))
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
    // `cause()`, not `source()`: the transport error is the wrapped one even when the core
    // error's `Display` already shows its text.
    let mut source = core.cause().map(|c| c as &(dyn std::error::Error + 'static));
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
