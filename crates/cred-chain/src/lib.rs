//! # cloudkit-cred-chain
//!
//! The configuration layer (docs/ARCHITECTURE.md, "Crates and layers"): resolves what a cloudkit
//! client needs before it can send a request — credentials (cached and refreshed before they
//! expire), region or project or account, endpoints, the shared HTTP client, retry and timeout
//! settings — into one config per cloud that every client of that cloud is built from.
//!
//! - feature `aws`: [`aws::AwsConfig`] (errors: [`aws::AwsConfigError`]) and the AWS default
//!   credential chain (environment, profiles, web identity, containers, IMDS, SSO,
//!   `credential_process`, assume-role). The STS client the assume-role and web identity providers
//!   call is the `cloudkit-aws-sts` crate; the AWS wire protocol (XML errors, Query bodies, the
//!   retry classifier) is `cloudkit-aws-protocol`.
//! - feature `azure`: `azure::AzureConfig` and the Azure credential chain.
//! - feature `gcp`: `gcp::GcpConfig` and Google Application Default Credentials.
//!
//! ```
//! # #[cfg(not(feature = "aws"))] fn main() {}
//! # #[cfg(feature = "aws")]
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_cred_chain::aws::{AwsConfig, Env, ProviderConfig};
//!
//! // A fake environment; real programs call `AwsConfig::loader().load().await?`.
//! let http = cloudkit_core::ReqwestSend::shared(&Default::default())?;
//! let env = Env::from_pairs([
//!     ("HOME", "/nonexistent"),
//!     ("AWS_REGION", "eu-west-1"),
//!     ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
//!     ("AWS_SECRET_ACCESS_KEY", "secret"),
//!     ("AWS_EC2_METADATA_DISABLED", "true"),
//! ]);
//! let config = AwsConfig::loader().provider_config(ProviderConfig::with_http(http).env(env)).load().await?;
//! assert_eq!(config.region(), "eu-west-1");
//! # Ok(()) }
//! ```

#[cfg(feature = "aws")]
pub mod aws;
#[cfg(feature = "azure")]
pub mod azure;
#[cfg(feature = "gcp")]
pub mod gcp;
