//! # cloudkit-aws-sts
//!
//! AWS STS (Security Token Service) over the AWS Query protocol: `AssumeRole`,
//! `AssumeRoleWithWebIdentity` and `GetCallerIdentity`, on the shared request pipeline (SigV4
//! signing, retries with [`STS_RETRY_CLASSIFIER`], typed [`StsError`]s).
//!
//! STS sits below the configuration layer: `cloudkit-cred-chain`'s credential providers
//! (`AssumeRoleProvider`, the web identity provider, `role_arn` profiles) call it, so an
//! [`StsClient`] is built from parts ([`StsClient::builder`]) rather than from an `AwsConfig`.
//! With a loaded configuration, the facade's `AwsSession::sts()` builds one from the session's
//! credentials, region, endpoint, HTTP client, retry and timeout settings.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use cloudkit_aws_sts::{AssumeRoleRequest, StsClient};
//! use cloudkit_core::testing::{Canned, ReplayHttp};
//! use cloudkit_signer::aws::Credentials;
//!
//! // A canned answer stands in for STS here; real programs leave out `.http(..)`.
//! let http = Arc::new(ReplayHttp::new());
//! http.push(Canned::status(
//!     200,
//!     "<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>ASIAEXAMPLE</AccessKeyId>\
//!      <SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>\
//!      <Expiration>2030-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>",
//! ));
//! let sts = StsClient::builder()
//!     .region("eu-west-1")
//!     .credentials(Arc::new(Credentials::from_keys("AKIDEXAMPLE", "secret")))
//!     .http(http)
//!     .build()?;
//! let out = sts
//!     .assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/deploy", "deploy-session"))
//!     .await?;
//! assert_eq!(out.credentials.access_key_id(), "ASIAEXAMPLE");
//! # Ok(()) }
//! ```

mod client;
mod error;
mod model;
mod types;

#[cfg(test)]
mod futures_are_send;
#[cfg(test)]
mod tests;

use std::time::Duration;

pub use client::{ClientBuilder, MAX_RESPONSE_BODY, StsClient, default_endpoint};
pub use error::{STS_RETRY_CLASSIFIER, StsError};
pub use types::{
    AssumeRoleOutput, AssumeRoleRequest, AssumeRoleWithWebIdentityOutput, AssumeRoleWithWebIdentityRequest,
    AssumedRoleUser, GetCallerIdentityOutput, validate_session_name,
};

/// The service name used in errors and logs.
pub const SERVICE: &str = "STS";

/// The SigV4 signing name of STS.
pub const SIGNING_NAME: &str = "sts";

/// The STS API version of every request.
pub const API_VERSION: &str = "2011-06-15";

/// Shortest session STS grants.
pub const MIN_DURATION: Duration = Duration::from_secs(900);

/// Longest session STS grants (roles allow at most their `MaxSessionDuration`, 1 h by default).
pub const MAX_DURATION: Duration = Duration::from_secs(43_200);
