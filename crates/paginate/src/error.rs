//! [`PaginationError`].

use std::borrow::Cow;
use std::fmt;

use crate::ParseResumeTokenError;

/// A page-bookkeeping failure that ended a listing: the service returned a token twice, or the
/// starting token is malformed.
///
/// A failed page fetch is *not* a `PaginationError`: the streams yield the fetch function's own
/// error type `E` unchanged, and a bookkeeping failure is turned into `E` with
/// `E: From<PaginationError>` (every provider error enum has a `Pagination` variant for it). So a
/// paginator over S3 yields `S3Error`, and `matches!(e, S3Error::NoSuchBucket(_))` works directly.
///
/// `Display` is one line naming the service, the operation and the cause, e.g.
/// `S3.ListObjectsV2 failed: the service returned the continuation token "abc" twice; stopping
/// instead of looping`. It includes everything there is to say, so
/// [`source`](std::error::Error::source) is `None`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaginationError {
    service: Cow<'static, str>,
    operation: Cow<'static, str>,
    kind: PaginationErrorKind,
}

/// What went wrong in a [`PaginationError`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PaginationErrorKind {
    /// The service returned a next token it had already returned during this listing; following
    /// it would loop forever.
    RepeatedToken {
        /// The repeated token.
        token: String,
    },
    /// [`PaginationConfig::starting_token`](crate::PaginationConfig::starting_token) looks like
    /// an encoded [`ResumeToken`](crate::ResumeToken) but is malformed.
    InvalidStartingToken {
        /// The starting token as given.
        token: String,
        /// What is wrong with it.
        reason: ParseResumeTokenError,
    },
}

impl PaginationError {
    /// A bookkeeping failure of `service`'s `operation`.
    pub fn new(
        service: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
        kind: PaginationErrorKind,
    ) -> Self {
        Self { service: service.into(), operation: operation.into(), kind }
    }

    /// The service (`S3`, `EC2`, `AzureBlob`, `GCS`, …).
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The list operation (`ListObjectsV2`, `DescribeInstances`, `objects.list`, …).
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// What went wrong.
    pub fn kind(&self) -> &PaginationErrorKind {
        &self.kind
    }

    /// The repeated token, if that is why the listing stopped.
    pub fn repeated_token(&self) -> Option<&str> {
        match &self.kind {
            PaginationErrorKind::RepeatedToken { token } => Some(token),
            PaginationErrorKind::InvalidStartingToken { .. } => None,
        }
    }
}

impl fmt::Display for PaginationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} failed: ", self.service, self.operation)?;
        match &self.kind {
            PaginationErrorKind::RepeatedToken { token } => {
                write!(f, "the service returned the continuation token {token:?} twice; stopping instead of looping")
            }
            PaginationErrorKind::InvalidStartingToken { token, reason } => {
                write!(f, "invalid starting token {token:?}: {reason}")
            }
        }
    }
}

/// The cause's text is part of `Display`, so there is no further source.
impl std::error::Error for PaginationError {}
