//! [`PaginationError`].

use crate::ParseResumeTokenError;

/// Why a pagination stream ended with an error.
///
/// The stream yields the error as its last item.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PaginationError<E> {
    /// Fetching a page failed; the fetch function's error is kept as the source.
    #[error("fetching a page failed")]
    Source(#[source] E),
    /// The service returned a next token it had already returned during this listing; following
    /// it would loop forever.
    #[error("the service returned the token `{token}` twice; stopping instead of looping")]
    RepeatedToken {
        /// The repeated token.
        token: String,
    },
    /// [`PaginationConfig::starting_token`](crate::PaginationConfig::starting_token) looks like
    /// an encoded [`ResumeToken`](crate::ResumeToken) but is malformed.
    #[error("invalid starting token `{token}`")]
    InvalidStartingToken {
        /// The starting token as given.
        token: String,
        /// What is wrong with it.
        #[source]
        source: ParseResumeTokenError,
    },
}

impl<E> PaginationError<E> {
    /// The fetch function's error, if that is why the stream stopped.
    pub fn source_error(&self) -> Option<&E> {
        match self {
            Self::Source(e) => Some(e),
            _ => None,
        }
    }

    /// Consumes the error and returns the fetch function's error, if that is why the stream
    /// stopped.
    pub fn into_source_error(self) -> Option<E> {
        match self {
            Self::Source(e) => Some(e),
            _ => None,
        }
    }
}
