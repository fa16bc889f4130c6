//! # cloudkit-cred-chain
//!
//! Resolves what a cloudkit client needs before it can send a request: credentials (cached and
//! refreshed before they expire), region, endpoints and retry settings.
//!
//! - feature `aws`: the AWS default credential chain and [`aws::AwsConfig`].

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "gcp")]
pub mod gcp;
