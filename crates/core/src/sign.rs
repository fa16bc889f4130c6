//! The signing step a provider plugs into the pipeline. It runs on every attempt, so each retry
//! carries a fresh timestamp and, after a credential refresh, fresh credentials.

use async_trait::async_trait;

use crate::error::BoxError;
use crate::request::HttpRequest;

/// Why a request could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// Credentials could not be loaded (no provider found any, or a refresh failed).
    #[error("could not load credentials: {0}")]
    Credentials(#[source] BoxError),
    /// The request could not be signed with the credentials at hand.
    #[error("could not sign the request: {0}")]
    Signing(#[source] BoxError),
}

/// Signs (or authorizes) a request in place: SigV4, Azure SharedKey, a bearer token, …
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Sign: Send + Sync + std::fmt::Debug {
    /// Adds the authentication headers or query parameters to `request`.
    async fn sign(&self, request: &mut HttpRequest) -> Result<(), SignError>;
}

/// Sends requests unsigned (anonymous access, emulators that accept anything).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoSign;

#[async_trait]
impl Sign for NoSign {
    async fn sign(&self, _request: &mut HttpRequest) -> Result<(), SignError> {
        Ok(())
    }
}
