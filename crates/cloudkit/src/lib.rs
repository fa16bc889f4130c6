//! # cloudkit
//!
//! Drive AWS, Azure and Google Cloud from Rust, and write storage and compute code once for all
//! of them.
//!
//! - [`store`]: the provider-neutral [`ObjectStore`](store::ObjectStore) trait with S3, Azure Blob,
//!   GCS, local-disk and in-memory backends, one [`Error`](store::Error) type, validated keys,
//!   streaming uploads and downloads, [`store::from_url`], and a conformance suite (feature
//!   `conformance`).
//! - [`compute`]: the provider-neutral [`Compute`](compute::Compute) trait with an EC2 backend and an
//!   in-memory one, a neutral [`InstanceState`](compute::InstanceState) and waiting with a deadline.
//! - [`session`]: boto3-style sessions (`Session::aws()`, `Session::azure()`, `Session::gcp()`) that
//!   resolve credentials, region and endpoints once and hand out clients.
//! - Provider clients re-exported under one dependency: `s3`, `ec2`, `azure_blob`, `gcs`
//!   (each behind its feature; the default build has only the local and memory stores).
//! - Feature `mock`: `MockObjectStore` and `MockCompute` (mockall) for your unit tests.
//!
//! | feature | what it adds |
//! |---|---|
//! | *(none)* | `LocalFileSystem`, `InMemory`, `InMemoryCompute`, `file://` and `memory://` URLs |
//! | `aws-s3` | `cloudkit::s3`, `S3Store`, `s3://`, `Session::aws()` |
//! | `aws-ec2` | `cloudkit::ec2`, `Ec2Compute`, `Session::aws()` |
//! | `azure-blob` | `cloudkit::azure_blob`, `AzureBlobStore`, `az://`, `Session::azure()` |
//! | `gcp-storage` | `cloudkit::gcs`, `GcsStore`, `gs://`, `Session::gcp()` |
//! | `aws`, `azure`, `gcp`, `full` | the providers' features together |
//! | `mock`, `conformance` | test support |
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudkit::store::Result<()> {
//! use cloudkit::store::{ObjectKey, ObjectStoreExt};
//! let (store, prefix) = cloudkit::store::from_url("memory://").await?;
//! let key = prefix.join("hello.txt")?;
//! store.put(&key, "hi".into()).await?;
//! assert_eq!(store.list_all(&prefix).await?.len(), 1);
//! # Ok(()) }
//! ```

pub mod compute;
pub mod session;
pub mod store;

#[cfg(test)]
mod futures_are_send;

/// The shared request pipeline (retries, timeouts, errors), re-exported.
pub use cloudkit_core as core;

/// Google Cloud configuration and credentials (`GcpConfig`, ADC, `STORAGE_EMULATOR_HOST`).
#[cfg(feature = "gcp-storage")]
pub use cloudkit_cred_chain::gcp;

/// The Google Cloud Storage client (`cloudkit-gcp-storage`).
#[cfg(feature = "gcp-storage")]
pub use cloudkit_gcp_storage as gcs;

/// AWS configuration and credentials (`AwsConfig`, the default chain, assume-role, …).
#[cfg(feature = "_aws")]
pub use cloudkit_cred_chain::aws;

/// The AWS STS client (`cloudkit-aws-sts`): AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity.
#[cfg(feature = "_aws")]
pub use cloudkit_aws_sts as sts;

/// The Amazon S3 client (`cloudkit-aws-s3`).
#[cfg(feature = "aws-s3")]
pub use cloudkit_aws_s3 as s3;

/// Azure Blob Storage (feature `azure-blob`).
#[cfg(feature = "azure-blob")]
pub use cloudkit_azure_blob as azure_blob;

/// Azure credentials: `DefaultAzureCredential` and its sources (feature `azure-blob`).
#[cfg(feature = "azure-blob")]
pub use cloudkit_cred_chain::azure as azure_identity;

/// The Amazon EC2 client (`cloudkit-aws-ec2`).
#[cfg(feature = "aws-ec2")]
pub use cloudkit_aws_ec2 as ec2;
