//! One error type across every object store backend.

use cloudkit_core::BoxError;
#[cfg(any(feature = "aws-s3", feature = "azure-blob", feature = "gcp-storage"))]
use cloudkit_core::{ErrorKind, ServiceError};

neutral_error! {
    /// What went wrong, in terms that mean the same on S3, Azure Blob, GCS, a local disk and memory.
    #[derive(Debug)]
    #[non_exhaustive]
    pub enum Error for backend {
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
        /// The network or the disk failed.
        Transport {
            /// The backend.
            backend: &'static str,
            /// The underlying error.
            source: BoxError,
        },
    }
    fn fmt(&self, f) {
        Self::NotFound { key, .. } => write!(f, "not found: {key}"),
        Self::AlreadyExists { key, .. } => write!(f, "already exists: {key}"),
        Self::PreconditionFailed { key, .. } => write!(f, "precondition failed for {key}"),
        Self::NotModified { key, .. } => write!(f, "not modified: {key}"),
        Self::InvalidRange { key } => write!(f, "range not satisfiable for {key}"),
        Self::ObjectChanged { key, .. } => write!(f, "{key} changed while it was being read"),
        Self::Transport { backend, source } => write!(f, "{backend} I/O error: {source}"),
    }
    sources: [
        NotFound.source,
        AlreadyExists.source,
        PreconditionFailed.source,
        NotModified.source,
        ObjectChanged.source,
    ],
    required_sources: [Transport.source],
}

/// Declares a neutral error enum (the store's [`Error`] and compute's `Error`): its own variants,
/// then the ones every neutral API has, written once here with their docs and `Display` text —
/// `PermissionDenied`, `Unauthenticated`, `Throttled`, `InvalidInput`, and, named after `for
/// WHO` (`backend`, `provider`), `NotSupported { operation, WHO }` and `Provider { WHO, source }`.
///
/// It implements `Display` (the own variants' arms given after `fn fmt(&self, f)`) and
/// `std::error::Error`: `source()` is the wrapped error — the shared variants' `source`, and the
/// own variants' fields listed in `sources` (an `Option<BoxError>`) and `required_sources` (a
/// `BoxError`) — unless `Display` already printed its text (then the first layer below that was
/// not printed: [`unshown`]), so an error-chain printer shows each text once.
macro_rules! neutral_error {
    (
        $(#[$attr:meta])*
        pub enum $name:ident for $who:ident { $($own:tt)* }
        fn fmt(&self, $f:ident) { $($arms:tt)* }
        sources: [$($opt:ident . $opt_field:ident),* $(,)?],
        required_sources: [$($req:ident . $req_field:ident),* $(,)?] $(,)?
    ) => {
        $(#[$attr])*
        pub enum $name {
            $($own)*
            /// The caller is not allowed to do this.
            PermissionDenied {
                /// What was refused.
                message: String,
                #[doc = concat!("The ", stringify!($who), "'s error.")]
                source: Option<::cloudkit_core::BoxError>,
            },
            /// The caller's credentials were missing, invalid or expired.
            Unauthenticated {
                /// What failed.
                message: String,
                #[doc = concat!("The ", stringify!($who), "'s error.")]
                source: Option<::cloudkit_core::BoxError>,
            },
            /// The service is rate-limiting the caller (after cloudkit's own retries).
            Throttled {
                #[doc = concat!("The ", stringify!($who), "'s error.")]
                source: Option<::cloudkit_core::BoxError>,
            },
            /// The input was rejected before anything was sent (a bad key, range, URL, id, count, …).
            InvalidInput {
                /// What is wrong.
                message: String,
            },
            #[doc = concat!(
                "The ", stringify!($who), " cannot do this (signed URLs on a local disk, resizing in memory, …)."
            )]
            NotSupported {
                /// The operation.
                operation: &'static str,
                #[doc = concat!("The ", stringify!($who), ".")]
                $who: &'static str,
            },
            #[doc = concat!(
                "Any other ", stringify!($who), " failure; the source keeps the details (status, code, request id)."
            )]
            Provider {
                #[doc = concat!("The ", stringify!($who), ".")]
                $who: &'static str,
                #[doc = concat!("The ", stringify!($who), "'s error.")]
                source: ::cloudkit_core::BoxError,
            },
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, $f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self {
                    Self::PermissionDenied { message, .. } => write!($f, "permission denied: {message}"),
                    Self::Unauthenticated { message, .. } => write!($f, "unauthenticated: {message}"),
                    Self::Throttled { .. } => write!($f, "throttled by the service"),
                    Self::InvalidInput { message } => write!($f, "invalid input: {message}"),
                    Self::NotSupported { operation, $who: who } => write!($f, "{who} does not support {operation}"),
                    Self::Provider { $who: who, source } => write!($f, "{who} error: {source}"),
                    $($arms)*
                }
            }
        }

        /// The wrapped error is the source unless `Display` already printed its text (then the
        /// first layer below it that was not printed:
        /// [`cloudkit::core::unshown_source`](crate::core::unshown_source)),
        /// so an error-chain printer shows each text once. The variants' fields keep the wrapped
        /// error.
        impl ::std::error::Error for $name {
            fn source(&self) -> Option<&(dyn ::std::error::Error + 'static)> {
                #[allow(unreachable_patterns)]
                let cause = match self {
                    Self::PermissionDenied { source, .. }
                    | Self::Unauthenticated { source, .. }
                    | Self::Throttled { source, .. } => source.as_ref(),
                    Self::Provider { source, .. } => Some(source),
                    $(Self::$opt { $opt_field: cause, .. } => cause.as_ref(),)*
                    $(Self::$req { $req_field: cause, .. } => Some(cause),)*
                    _ => None,
                };
                $crate::store::error::unshown(&self.to_string(), cause)
            }
        }
    };
}
pub(crate) use neutral_error;

/// What `source()` returns for an error whose `Display` is `shown` and which wraps `cause`: the
/// cause, unless `shown` already prints its text (then the first layer below it that was not
/// printed; [`cloudkit::core::unshown_source`](crate::core::unshown_source)).
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
