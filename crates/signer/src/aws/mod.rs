//! AWS: credential values, the credential-provider trait, and SigV4 signing.
//!
//! Signing is done by `aws-sigv4`; this module feeds it our [`Credentials`] and
//! [`HttpRequest`](cloudkit_core::HttpRequest)s:
//! - [`sign_request`]: header signing (`authorization`, `x-amz-date`, session token,
//!   `x-amz-content-sha256` for S3), any service and region, payload modes ([`PayloadMode`]);
//! - [`presign`]: presigned URLs, valid from 1 second to 7 days;
//! - [`SigV4Signer`]: the pipeline's signing step, fetching credentials on every attempt;
//! - [`ClockSkew`]: the signing clock's correction from the service's `Date` after a clock-skew
//!   answer, with the error-parser and classifier wrappers that make the pipeline retry it.
//!
//! S3 needs its own path rules (encoded once, never normalized): use [`SigningSettings::s3`]
//! (or the signing name `s3`, which picks them automatically).

mod credentials;
mod settings;
mod sign;
mod signer;
mod skew;
mod uri;

#[cfg(test)]
mod tests;

#[cfg(feature = "mock")]
pub use credentials::MockProvideCredentials;
pub use credentials::{Credentials, CredentialsError, ProvideCredentials, SharedCredentialsProvider};
pub use settings::{PathEncoding, PayloadMode, SigningSettings};
pub use sign::{MAX_PRESIGN_EXPIRY, PresignedRequest, SigningError, presign, sign_request};
pub use signer::{AUTH_FAILURE_CODES, SigV4Signer, is_auth_failure};
pub use skew::{
    CLOCK_SKEW_ERROR_CODES, ClockSkew, ClockSkewClassifier, ClockSkewParser, SKEW_CORRECTION_THRESHOLD,
    SKEW_RETRY_WINDOW, is_clock_skew_code,
};
