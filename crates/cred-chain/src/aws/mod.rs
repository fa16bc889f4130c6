//! AWS credentials, region and configuration.
//!
//! Start with [`AwsConfig::loader`]: it resolves the profile, region, endpoints, retry settings
//! and a cached [default credentials chain](chain::DefaultCredentialsChain) (explicit →
//! environment → profile → web identity → container → IMDS).

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
pub use config::{AwsConfig, AwsConfigLoader, ConfigError};
pub use environment::EnvironmentCredentialsProvider;
pub use process::CredentialProcessProvider;
pub use profile::{ProfileFileError, ProfileSet};
pub use profile_provider::ProfileCredentialsProvider;
pub use region::{RegionError, RegionSource};
pub use session::AssumeRoleConfigBuilder;
