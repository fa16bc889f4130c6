//! AWS credentials, region and configuration.
//!
//! Start with [`AwsConfig::loader`]: it resolves the profile, region, endpoints, retry settings
//! and a cached [default credentials chain](chain::DefaultCredentialsChain) (explicit →
//! environment → profile → web identity → container → IMDS). Every AWS client is built from the
//! loaded [`AwsConfig`] (`AwsConfig::pipeline_builder` presets its request pipeline).
//!
//! The providers that call STS ([`sts::AssumeRoleProvider`],
//! [`web_identity::WebIdentityTokenProvider`]) use the `cloudkit-aws-sts` client; use that crate
//! (`cloudkit::sts` in the facade) to call STS yourself.

pub mod container;
pub mod imds;
pub mod sso;
pub mod sts;
pub mod web_identity;

mod os;
mod provider_config;

pub mod cache;
pub mod chain;
pub mod config;
pub mod environment;
pub mod process;
pub mod profile;
pub mod profile_provider;
pub mod region;
pub mod session;

pub use os::{Env, Fs};
pub use provider_config::ProviderConfig;

pub use cache::{CredentialsCache, ManualTimeSource, SystemTimeSource, TimeSource};
pub use chain::{CredentialsProviderChain, DefaultCredentialsChain};
pub use config::{AwsConfig, AwsConfigError, AwsConfigLoader};
pub use environment::EnvironmentCredentialsProvider;
pub use process::CredentialProcessProvider;
pub use profile::{ProfileFileError, ProfileSet};
pub use profile_provider::ProfileCredentialsProvider;
pub use region::{RegionError, RegionSource};
pub use session::AssumeRoleConfigBuilder;
