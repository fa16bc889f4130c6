//! boto3-style sessions: one entry point per provider that resolves credentials, region and
//! endpoints once and hands out clients that share one connection pool.
//!
//! `Session` is a namespace: `Session::aws()`, and `Session::azure()` / `Session::gcp()` when
//! their features are enabled.

/// The entry point to provider sessions (see the module docs).
#[derive(Clone, Copy, Debug)]
pub struct Session;

#[cfg(feature = "_aws")]
mod aws;
#[cfg(feature = "_azure")]
mod azure;
#[cfg(feature = "_aws")]
#[cfg_attr(docsrs, doc(cfg(any(feature = "aws-s3", feature = "aws-ec2", feature = "aws-any"))))]
pub use aws::{AwsSession, AwsSessionBuilder};
#[cfg(feature = "_azure")]
#[cfg_attr(docsrs, doc(cfg(any(feature = "azure-blob", feature = "azure-arm"))))]
pub use azure::{AzureSession, AzureSessionBuilder};

#[cfg(feature = "_gcp")]
mod gcp;
#[cfg(feature = "_gcp")]
#[cfg_attr(docsrs, doc(cfg(any(feature = "gcp-storage", feature = "gcp-compute"))))]
pub use gcp::{GcpSession, GcpSessionBuilder};
