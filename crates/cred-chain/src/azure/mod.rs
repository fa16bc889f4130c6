//! Azure configuration and credentials.
//!
//! [`AzureConfig`] (from [`AzureConfig::loader`]) resolves the storage account, how requests are
//! authorized ([`StorageAuth`]: SharedKey, SAS, Entra token or anonymous), the blob endpoint, the
//! Azure Resource Manager settings (token credential, `AZURE_SUBSCRIPTION_ID`,
//! `AZURE_RESOURCE_MANAGER_ENDPOINT`) and the HTTP, retry and timeout settings once; every Azure
//! client is built from it.
//!
//! The credentials: a `DefaultAzureCredential`-equivalent chain and each of its sources, all
//! implementing azure_core's [`TokenCredential`] (so they also plug into the official crates).
//!
//! Order (the Python SDK's, for the sources that exist on Linux):
//! [`EnvironmentCredential`] (client secret, or client certificate) → [`WorkloadIdentityCredential`]
//! → [`ManagedIdentityCredential`] (App Service `IDENTITY_ENDPOINT`, else IMDS) →
//! [`AzureCliCredential`]. Each can be excluded; when all fail the error lists every source and why.
//! Tokens are cached per scope (one `cloudkit_core::RefreshCache` each) and refreshed from 5
//! minutes before they expire, one refresh at a time; a failed early refresh keeps the token.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use azure_core::credentials::TokenCredential;
//! use cloudkit_cred_chain::azure::{AzureConfig, DefaultAzureCredential};
//! // AZURE_STORAGE_CONNECTION_STRING, else AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY,
//! // AZURE_STORAGE_SAS_TOKEN or DefaultAzureCredential
//! let config = AzureConfig::loader().load().await?;
//! println!("{:?} via {}", config.account(), config.auth_source());
//! let credential = DefaultAzureCredential::builder().exclude_cli(true).build();
//! let token = credential.get_token(&["https://storage.azure.com/.default"], None).await?;
//! # let _ = token; Ok(()) }
//! ```

mod cache;
mod chain;
mod cli;
mod config;
mod environment;
mod http;
mod managed_identity;
mod workload_identity;

use std::collections::HashMap;
use std::sync::Arc;

pub use azure_core::credentials::{AccessToken, Secret, TokenCredential, TokenRequestOptions};
pub use chain::{DefaultAzureCredential, DefaultAzureCredentialBuilder};
pub use cli::AzureCliCredential;
pub use config::{
    ACCOUNT_ENV, ACCOUNT_KEY_ENV, AzureConfig, AzureConfigError, AzureConfigLoader, CONNECTION_STRING_ENV,
    DEFAULT_RESOURCE_MANAGER_ENDPOINT, RESOURCE_MANAGER_ENDPOINT_ENV, RESOURCE_MANAGER_SCOPE, SAS_TOKEN_ENV,
    SUBSCRIPTION_ID_ENV, StorageAuth,
};
pub use environment::{ClientSecretCredential, EnvironmentCredential};
pub use http::IdentityOptions;
pub use managed_identity::{IMDS_ENDPOINT, ManagedIdentityCredential, ManagedIdentityId};
pub use workload_identity::WorkloadIdentityCredential;

/// Default Microsoft Entra authority.
pub const DEFAULT_AUTHORITY_HOST: &str = "https://login.microsoftonline.com";

/// Environment variables: the real process environment or a fixed map (tests never mutate the
/// real environment). `Debug` shows variable names only.
#[derive(Clone, Default)]
pub struct AzureEnv {
    fake: Option<Arc<HashMap<String, String>>>,
}

impl std::fmt::Debug for AzureEnv {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.fake {
            None => f.write_str("AzureEnv::real"),
            Some(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                f.debug_struct("AzureEnv::fake").field("variables", &keys).finish()
            }
        }
    }
}

impl AzureEnv {
    /// The real process environment.
    pub fn real() -> Self {
        Self { fake: None }
    }

    /// Only these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { fake: Some(Arc::new(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())) }
    }

    /// A variable, `None` when unset or empty.
    pub fn get(&self, key: &str) -> Option<String> {
        let v = match &self.fake {
            Some(m) => m.get(key).cloned(),
            None => std::env::var(key).ok(),
        };
        v.filter(|v| !v.trim().is_empty())
    }
}

/// Why one source could not produce a token.
#[derive(Clone, Debug)]
pub(crate) enum SourceError {
    /// Not configured here: the chain tries the next source.
    Unavailable(String),
    /// Configured but failed (bad secret, rejected assertion …): the chain stops.
    Failed(String),
}

/// A token cache reports a fetch that failed a moment ago instead of repeating it.
impl From<cloudkit_core::RefreshFailed> for SourceError {
    fn from(failed: cloudkit_core::RefreshFailed) -> Self {
        SourceError::Failed(failed.to_string())
    }
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}

impl SourceError {
    fn message(&self) -> &str {
        match self {
            SourceError::Unavailable(m) | SourceError::Failed(m) => m,
        }
    }
    pub(crate) fn into_azure(self, source: &str) -> azure_core::Error {
        azure_core::Error::with_message(
            azure_core::error::ErrorKind::Credential,
            format!("{source}: {}", self.message()),
        )
    }
}

/// One source of tokens (without caching).
#[async_trait::async_trait]
pub(crate) trait FetchToken: Send + Sync + std::fmt::Debug {
    fn name(&self) -> &'static str;
    async fn fetch(&self, scopes: &[&str]) -> Result<AccessToken, SourceError>;
}

pub(crate) fn single_scope<'a>(scopes: &[&'a str]) -> Result<&'a str, SourceError> {
    match scopes {
        [one] => Ok(*one),
        _ => Err(SourceError::Failed(format!("exactly one scope is supported, got {}", scopes.len()))),
    }
}

macro_rules! cached_credential {
    ($ty:ty) => {
        #[async_trait::async_trait]
        impl azure_core::credentials::TokenCredential for $ty {
            async fn get_token(
                &self,
                scopes: &[&str],
                options: Option<azure_core::credentials::TokenRequestOptions<'_>>,
            ) -> azure_core::Result<azure_core::credentials::AccessToken> {
                let name = crate::azure::FetchToken::name(self);
                self.cache
                    .get_or_refresh(scopes, options.as_ref(), || crate::azure::FetchToken::fetch(self, scopes))
                    .await
                    .map_err(|e| e.into_azure(name))
            }
        }
    };
}
pub(crate) use cached_credential;

#[cfg(test)]
mod tests;
