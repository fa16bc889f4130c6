//! # cloudkit
//!
//! Drive AWS, Azure and Google Cloud from Rust, and write storage and compute code once for all
//! of them.
//!
//! - [`store`]: the provider-neutral [`ObjectStore`](store::ObjectStore) trait with S3, Azure Blob,
//!   GCS, local-disk and in-memory backends, one [`Error`](store::Error) type, validated keys,
//!   streaming uploads and downloads, [`store::from_url`], and a conformance suite (feature
//!   `conformance`).
//! - [`compute`]: the provider-neutral [`Compute`](compute::Compute) trait with EC2, Azure and
//!   Compute Engine backends and an in-memory one, a neutral [`InstanceState`](compute::InstanceState) and waiting with a deadline.
//! - [`session`]: boto3-style sessions (`Session::aws()`, `Session::azure()`, `Session::gcp()`) that
//!   resolve credentials, region and endpoints once and hand out clients.
//! - Provider clients re-exported under one dependency: `s3`, `ec2`, `azure_blob`, `azure_arm`, `gcs`, `gce`
//!   (each behind its feature; the default build has only the local and memory stores).
//! - Feature `mock`: `MockObjectStore` and `MockCompute` (mockall) for your unit tests, and
//!   [`testing`]: `ReplayHttp` canned responses to build any provider client on.
//!
//! Everything a facade signature mentions is reachable through `cloudkit::…`; a project needs no
//! other cloudkit crate in its `Cargo.toml`. The modules and the crates behind them:
//!
//! | module | crate | what |
//! |---|---|---|
//! | [`store`], [`compute`], [`session`] | `cloudkit` | the neutral APIs and sessions |
//! | `aws` | `cloudkit-cred-chain` (`aws`) + `cloudkit-signer` | `AwsConfig`, the credential chain, `Credentials` |
//! | `s3`, `ec2`, `sts` | `cloudkit-aws-s3`, `cloudkit-aws-ec2`, `cloudkit-aws-sts` | the AWS clients |
//! | `azure_identity` | `cloudkit-cred-chain` (`azure`) | `AzureConfig`, `DefaultAzureCredential` |
//! | `azure_blob` | `cloudkit-azure-blob` | the Blob client |
//! | `azure_arm` | `cloudkit-azure-arm` | Azure Resource Manager: resource groups, VMs, any resource |
//! | `gcp` | `cloudkit-cred-chain` (`gcp`) | `GcpConfig`, Application Default Credentials |
//! | `gcs` | `cloudkit-gcp-storage` | the Cloud Storage client |
//! | `gce` | `cloudkit-gcp-compute` | the Compute Engine client |
//! | [`paginate`], [`waiter`] | `cloudkit-paginate`, `cloudkit-waiter` | paginator streams, waiter configuration and errors |
//! | [`core`] | `cloudkit-core` | the pipeline: [`RetryConfig`], [`TimeoutConfig`], errors, bodies |
//! | `testing` (feature `mock`) | `cloudkit-core` (`test-util`) | `ReplayHttp`, `Canned`, `TestServer` |
//!
//! The provider modules' own pages are the provider crates' docs; their examples name the crate
//! (`cloudkit_aws_s3::S3Client`), which a facade user writes as `cloudkit::s3::S3Client`.
//!
//! | feature | what it adds |
//! |---|---|
//! | *(none)* | `LocalFileSystem`, `InMemory`, `InMemoryCompute`, `file://` and `memory://` URLs |
//! | `aws-s3` | `cloudkit::s3`, `S3Store`, `s3://`, `Session::aws()` |
//! | `aws-ec2` | `cloudkit::ec2`, `Ec2Compute`, `Session::aws()` |
//! | `aws-any` | `cloudkit::aws_dynamic`, `Session::aws().client("dynamodb")` (any service, from botocore's models) |
//! | `azure-blob` | `cloudkit::azure_blob`, `AzureBlobStore`, `az://`, `Session::azure()` |
//! | `azure-arm` | `cloudkit::azure_arm`, `AzureCompute`, `Session::azure().arm()` / `.compute(..)` |
//! | `gcp-storage` | `cloudkit::gcs`, `GcsStore`, `gs://`, `Session::gcp()` |
//! | `gcp-compute` | `cloudkit::gce`, `GceCompute`, `Session::gcp().compute_engine()` / `.compute(..)` |
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

#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod compute;
pub mod session;
pub mod store;

#[cfg(test)]
mod docs_rs;
#[cfg(test)]
mod futures_are_send;

/// The shared request pipeline (retries, timeouts, errors, bodies), re-exported.
pub use cloudkit_core as core;

/// Paginators as streams: `PaginationConfig`, `PageStream`, `ItemStream`, `ResumeToken`
/// (`cloudkit-paginate`; every provider's `into_pages` / `into_items` returns these).
pub use cloudkit_paginate as paginate;

/// Waiting for a state with a deadline: `WaiterConfig` and `WaiterError` (`cloudkit-waiter`; every
/// provider waiter and `Compute::wait_for_state` are built on it).
pub use cloudkit_waiter as waiter;

/// How clients retry: attempts, backoff, the retry quota (`cloudkit::core::RetryConfig`).
pub use cloudkit_core::RetryConfig;

/// Connect, attempt, operation and read-idle timeouts (`cloudkit::core::TimeoutConfig`).
pub use cloudkit_core::TimeoutConfig;

/// Test support for clients (feature `mock`): canned HTTP responses to build any provider client
/// on, and a loopback HTTP server for code that needs a real endpoint.
///
/// Give a client a [`ReplayHttp`](testing::ReplayHttp) as its HTTP client, push the responses it
/// should see, and inspect the requests it sent (the example uses S3: feature `aws-s3`):
///
/// ```
/// # #[cfg(not(feature = "aws-s3"))] fn main() {}
/// # #[cfg(feature = "aws-s3")]
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use cloudkit::aws::Credentials;
/// use cloudkit::session::Session;
/// use cloudkit::testing::{Canned, ReplayHttp};
///
/// let http = Arc::new(ReplayHttp::new());
/// http.push(Canned::status(200, "hello").with_header("etag", "\"abc\""));
/// let session = Session::aws()
///     .region("us-east-1")
///     .credentials(Credentials::from_keys("AKIDEXAMPLE", "secret"))
///     .configure(|loader| loader.http(http.clone()))
///     .load()
///     .await?;
/// let body = session.s3()?.get_object("bucket", "key.txt").send().await?.collect().await?;
/// assert_eq!(&body[..], b"hello");
/// assert_eq!(http.requests()[0].method, "GET");
/// # Ok(()) }
/// ```
#[cfg(feature = "mock")]
#[cfg_attr(docsrs, doc(cfg(feature = "mock")))]
pub mod testing {
    pub use cloudkit_core::testing::{Canned, RecordedRequest, ReplayHttp, TestServer};
}

/// AWS configuration and credentials: `AwsConfig`, the default chain, assume-role, profiles,
/// [`Credentials`](aws::Credentials) for static keys and [`ProvideCredentials`](aws::ProvideCredentials)
/// for your own source (`cloudkit-cred-chain` and `cloudkit-signer`).
#[cfg(feature = "_aws")]
#[cfg_attr(docsrs, doc(cfg(any(feature = "aws-s3", feature = "aws-ec2", feature = "aws-any"))))]
pub mod aws {
    pub use cloudkit_cred_chain::aws::*;
    pub use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials, SharedCredentialsProvider};

    /// SigV4 signing and presigning (`cloudkit-signer`'s `aws` module): `SigV4Signer`, `presign`,
    /// `SigningSettings`, clock-skew correction.
    pub mod signing {
        pub use cloudkit_signer::aws::*;
    }
}

/// Google Cloud configuration and credentials (`GcpConfig`, ADC, `STORAGE_EMULATOR_HOST`).
#[cfg(feature = "_gcp")]
#[cfg_attr(docsrs, doc(cfg(any(feature = "gcp-storage", feature = "gcp-compute"))))]
pub use cloudkit_cred_chain::gcp;

/// Google Compute Engine (`cloudkit-gcp-compute`): instances, zone operations, zones, machine types.
#[cfg(feature = "gcp-compute")]
#[cfg_attr(docsrs, doc(cfg(feature = "gcp-compute")))]
pub use cloudkit_gcp_compute as gce;

/// The Google Cloud Storage client (`cloudkit-gcp-storage`).
#[cfg(feature = "gcp-storage")]
#[cfg_attr(docsrs, doc(cfg(feature = "gcp-storage")))]
pub use cloudkit_gcp_storage as gcs;

/// The AWS STS client (`cloudkit-aws-sts`): AssumeRole, AssumeRoleWithWebIdentity, GetCallerIdentity.
#[cfg(feature = "_aws")]
#[cfg_attr(docsrs, doc(cfg(any(feature = "aws-s3", feature = "aws-ec2", feature = "aws-any"))))]
pub use cloudkit_aws_sts as sts;

/// The Amazon S3 client (`cloudkit-aws-s3`).
#[cfg(feature = "aws-s3")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws-s3")))]
pub use cloudkit_aws_s3 as s3;

/// Azure Blob Storage (feature `azure-blob`).
#[cfg(feature = "azure-blob")]
#[cfg_attr(docsrs, doc(cfg(feature = "azure-blob")))]
pub use cloudkit_azure_blob as azure_blob;

/// Azure configuration and credentials: `AzureConfig`, `DefaultAzureCredential` and its sources
/// (features `azure-blob`, `azure-arm`).
#[cfg(feature = "_azure")]
#[cfg_attr(docsrs, doc(cfg(any(feature = "azure-blob", feature = "azure-arm"))))]
pub use cloudkit_cred_chain::azure as azure_identity;

/// Azure Resource Manager (`cloudkit-azure-arm`): subscriptions, resource groups, virtual machines,
/// any resource by id, long-running operations.
#[cfg(feature = "azure-arm")]
#[cfg_attr(docsrs, doc(cfg(feature = "azure-arm")))]
pub use cloudkit_azure_arm as azure_arm;

/// The Amazon EC2 client (`cloudkit-aws-ec2`).
#[cfg(feature = "aws-ec2")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws-ec2")))]
pub use cloudkit_aws_ec2 as ec2;

/// Any AWS service from botocore's models (`cloudkit-aws-dynamic`): `DynamicClient`, the
/// client `Session::aws().client("dynamodb")` returns.
#[cfg(feature = "aws-any")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws-any")))]
pub use cloudkit_aws_dynamic as aws_dynamic;
