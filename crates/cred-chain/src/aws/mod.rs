//! AWS credentials, region and configuration.

mod os;
mod provider_config;

pub use os::{Env, Fs};
pub use provider_config::ProviderConfig;
