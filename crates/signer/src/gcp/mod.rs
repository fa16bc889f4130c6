//! Google Cloud Storage: V4 signed URLs (`GOOG4-RSA-SHA256`).
//!
//! - [`ServiceAccountKey`]: a service-account key file, signing locally with `ring`
//!   (RSA-PKCS1-v1.5-SHA256); its `Debug` never shows the private key.
//! - [`SignBlob`]: the signing seam; `cloudkit-cred-chain`'s `gcp` feature implements it over
//!   google-cloud-auth's signer (IAM `signBlob`) for credentials that cannot sign locally.
//! - [`prepare`] / [`sign_url`]: canonical request, string to sign and URL for path-style,
//!   virtual-hosted and bucket-bound hostnames, extra headers and query parameters, expiry up to
//!   7 days; [`sign_post_policy`] for HTML-form uploads. Validated against Google's public
//!   conformance vectors.

mod key;
mod post_policy;
mod v4;

#[cfg(test)]
mod tests;

pub use key::{ServiceAccountKey, SharedBlobSigner, SignBlob};
pub use post_policy::{PolicyCondition, PostPolicy, PostPolicyRequest, sign_post_policy};
pub use v4::{
    DEFAULT_HOST, MAX_SIGNED_URL_EXPIRY, PreparedSignedUrl, SignedUrl, SignedUrlRequest, UrlStyle, prepare, sign_url,
};

/// Why a GCS signed URL could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SigningError {
    /// The service-account key is unusable (the message never contains key material).
    #[error("invalid service-account key: {0}")]
    InvalidKey(String),
    /// The request cannot be signed (expiry over 7 days, bad header name, …).
    #[error("invalid signed URL request: {0}")]
    InvalidRequest(String),
    /// The signing operation failed (local RSA or the remote signBlob call).
    #[error("signing failed: {0}")]
    Sign(String),
}
