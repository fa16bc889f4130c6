//! [`StsError`]: typed variants for the STS error codes callers act on, each keeping the full
//! [`cloudkit_core::Error`]; and [`STS_RETRY_CLASSIFIER`], the codes STS retries.

use cloudkit_aws_protocol::{AWS_THROTTLING_CODES, AWS_TRANSIENT_CODES};
use cloudkit_core::{CodeClassifier, Error, ErrorKind};

use crate::SERVICE;

/// `codes` followed by `extra`, as an array of `N` codes (`N` = `codes.len() + 1`).
const fn with_code<const N: usize>(codes: &[&'static str], extra: &'static str) -> [&'static str; N] {
    let mut out = [extra; N];
    let mut i = 0;
    while i < codes.len() {
        out[i] = codes[i];
        i += 1;
    }
    out
}

/// The AWS transient codes and `IDPCommunicationError` (STS could not reach the identity
/// provider: the AWS SDKs retry it).
const STS_TRANSIENT_CODES: [&str; AWS_TRANSIENT_CODES.len() + 1] =
    with_code(AWS_TRANSIENT_CODES, "IDPCommunicationError");

/// The retry classifier of STS: the AWS throttling codes, and the AWS transient codes plus
/// `IDPCommunicationError`, then the status. The pipeline retries with it; no STS call has a
/// retry loop of its own (docs/ARCHITECTURE.md, "The request pipeline").
///
/// ```
/// use cloudkit_core::{ClassifyRetry, RetryClass, StatusCode};
/// use cloudkit_aws_sts::STS_RETRY_CLASSIFIER;
/// assert_eq!(STS_RETRY_CLASSIFIER.classify(StatusCode::BAD_REQUEST, Some("IDPCommunicationError")), RetryClass::Transient);
/// assert_eq!(STS_RETRY_CLASSIFIER.classify(StatusCode::BAD_REQUEST, Some("Throttling")), RetryClass::Throttling);
/// assert_eq!(STS_RETRY_CLASSIFIER.classify(StatusCode::FORBIDDEN, Some("AccessDenied")), RetryClass::Fatal);
/// ```
pub const STS_RETRY_CLASSIFIER: CodeClassifier = CodeClassifier::new(AWS_THROTTLING_CODES, &STS_TRANSIENT_CODES);

/// Why an STS call failed. Every variant carries the full [`cloudkit_core::Error`] (status,
/// code, message, request id, attempts; see [`StsError::core`]); the variants name the codes
/// callers act on. The accessors are the same in every cloudkit client crate.
///
/// ```
/// # fn handle(e: cloudkit_aws_sts::StsError) {
/// use cloudkit_aws_sts::StsError;
/// match e {
///     StsError::AccessDenied(_) => println!("the role's trust policy does not allow us"),
///     StsError::ExpiredToken(_) => println!("refresh the source credentials"),
///     other if other.is_retryable() => println!("try again later: {other}"),
///     other => println!("STS failed: {other}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StsError {
    /// The input was rejected before anything was sent (bad session name, duration, region, …).
    #[error(transparent)]
    InvalidInput(Error),
    /// `AccessDenied`: the caller may not assume the role (trust policy, external id, …).
    #[error(transparent)]
    AccessDenied(Error),
    /// `ExpiredToken` / `ExpiredTokenException`: the source credentials or the web identity token expired.
    #[error(transparent)]
    ExpiredToken(Error),
    /// `InvalidIdentityToken`: the web identity token was refused.
    #[error(transparent)]
    InvalidIdentityToken(Error),
    /// `IDPCommunicationError`: STS could not reach the identity provider (retried by the
    /// pipeline; this is what is left after the last attempt).
    #[error(transparent)]
    IdpCommunicationError(Error),
    /// `IDPRejectedClaim`: the identity provider rejected the token's claims.
    #[error(transparent)]
    IdpRejectedClaim(Error),
    /// `RegionDisabled`: STS is not activated in this region for the account.
    #[error(transparent)]
    RegionDisabled(Error),
    /// `MalformedPolicyDocument`: the session policy is not valid.
    #[error(transparent)]
    MalformedPolicyDocument(Error),
    /// `PackedPolicyTooLarge`: the session policies and tags are too large.
    #[error(transparent)]
    PackedPolicyTooLarge(Error),
    /// `InvalidClientTokenId` / `SignatureDoesNotMatch` / `IncompleteSignature`: the source
    /// credentials are wrong.
    #[error(transparent)]
    InvalidCredentials(Error),
    /// Throttling (after the pipeline's retries).
    #[error(transparent)]
    Throttled(Error),
    /// Any other failure (transport, timeout, other codes, undecodable response).
    #[error(transparent)]
    Other(Error),
}

impl StsError {
    /// Classifies a core error by its STS error code.
    pub fn from_core(e: Error) -> Self {
        match e.code() {
            Some("AccessDenied") => StsError::AccessDenied(e),
            Some("ExpiredToken" | "ExpiredTokenException") => StsError::ExpiredToken(e),
            Some("InvalidIdentityToken") => StsError::InvalidIdentityToken(e),
            Some("IDPCommunicationError") => StsError::IdpCommunicationError(e),
            Some("IDPRejectedClaim") => StsError::IdpRejectedClaim(e),
            Some("RegionDisabledException" | "RegionDisabled") => StsError::RegionDisabled(e),
            Some("MalformedPolicyDocument" | "MalformedPolicyDocumentException") => {
                StsError::MalformedPolicyDocument(e)
            }
            Some("PackedPolicyTooLarge" | "PackedPolicyTooLargeException") => StsError::PackedPolicyTooLarge(e),
            Some("InvalidClientTokenId" | "SignatureDoesNotMatch" | "IncompleteSignature" | "AuthFailure") => {
                StsError::InvalidCredentials(e)
            }
            code if e.is_throttling() || code.is_some_and(|c| STS_RETRY_CLASSIFIER.is_throttling_code(c)) => {
                StsError::Throttled(e)
            }
            _ if e.kind() == ErrorKind::InvalidInput => StsError::InvalidInput(e),
            _ => StsError::Other(e),
        }
    }

    /// An input error for `operation` (nothing was sent).
    pub(crate) fn invalid_input(operation: &'static str, message: impl Into<String>) -> Self {
        StsError::InvalidInput(Error::invalid_input(SERVICE, operation, message))
    }

    /// A response that could not be decoded.
    pub(crate) fn decode(operation: &'static str, message: impl Into<String>) -> Self {
        StsError::Other(Error::decode(SERVICE, operation, message))
    }
}

cloudkit_core::service_error_accessors!(StsError {
    InvalidInput,
    AccessDenied,
    ExpiredToken,
    InvalidIdentityToken,
    IdpCommunicationError,
    IdpRejectedClaim,
    RegionDisabled,
    MalformedPolicyDocument,
    PackedPolicyTooLarge,
    InvalidCredentials,
    Throttled,
    Other,
});

impl From<Error> for StsError {
    fn from(error: Error) -> Self {
        StsError::from_core(error)
    }
}
