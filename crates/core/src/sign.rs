//! The signing step a provider plugs into the pipeline. It runs on every attempt, so each retry
//! carries a fresh timestamp and, after a credential refresh, fresh credentials.

use async_trait::async_trait;
use http::StatusCode;

use crate::error::{BoxError, ServiceErrorDetails};
use crate::request::HttpRequest;

/// Why a request could not be signed.
///
/// `Display` includes the wrapped error's text, so [`source`](std::error::Error::source) skips it
/// and returns the wrapped error's own source; [`SignError::cause`] is the wrapped error.
#[derive(Debug)]
#[non_exhaustive]
pub enum SignError {
    /// Credentials could not be loaded (no provider found any, or a refresh failed).
    Credentials(BoxError),
    /// The request could not be signed with the credentials at hand.
    Signing(BoxError),
}

impl SignError {
    /// The wrapped error, for downcasting.
    pub fn cause(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        match self {
            SignError::Credentials(e) | SignError::Signing(e) => e.as_ref(),
        }
    }
}

impl std::fmt::Display for SignError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignError::Credentials(e) => write!(f, "could not load credentials: {e}"),
            SignError::Signing(e) => write!(f, "could not sign the request: {e}"),
        }
    }
}

impl std::error::Error for SignError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let cause: &(dyn std::error::Error + 'static) = self.cause();
        cause.source()
    }
}

/// Signs (or authorizes) a request in place: SigV4, Azure SharedKey, a bearer token, …
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Sign: Send + Sync + std::fmt::Debug {
    /// Adds the authentication headers or query parameters to `request`.
    async fn sign(&self, request: &mut HttpRequest) -> Result<(), SignError>;

    /// A note for the error the pipeline returns when the service refuses a request this signer
    /// signed, given the answer's `status` and parsed error `details` (code, message, request id):
    /// which credentials signed it (SigV4: `signed with credentials from the environment
    /// (AWS_ACCESS_KEY_ID)` on 401, 403 and AWS authentication codes). Never a key or a token.
    /// Called only for error answers; the default is `None`.
    fn refusal_note(&self, status: StatusCode, details: &ServiceErrorDetails) -> Option<String> {
        let _ = (status, details);
        None
    }

    /// Called when the service answered `401 Unauthorized` to a request this signer signed: a
    /// signer whose credentials can be replaced before they expire (a bearer token revoked or
    /// rotated early) drops the ones that were refused, so that its next [`sign`](Self::sign)
    /// loads fresh ones, and returns `true`; the pipeline then sends the request once more, at
    /// once (a 401 means the request was not carried out, so this is safe for any operation).
    /// At most once per operation. The default keeps the credentials and returns `false`.
    fn credentials_refused(&self, status: StatusCode, details: &ServiceErrorDetails) -> bool {
        let _ = (status, details);
        false
    }
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
