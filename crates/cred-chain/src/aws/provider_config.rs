//! What every credential provider gets: the environment, the file system and the shared HTTP
//! client, each replaceable in tests.

use std::sync::Arc;

use cloudkit_core::{HttpClientConfig, HttpSend, ReqwestSend, TransportError, Url};

use super::os::{Env, Fs};

/// Shared inputs of the credential and region providers.
#[derive(Clone, Debug)]
pub struct ProviderConfig {
    /// Environment variables.
    pub env: Env,
    /// File reads (profile files, token files, the SSO cache).
    pub fs: Fs,
    /// The HTTP client (STS, IMDS, container endpoint, SSO portal).
    pub http: Arc<dyn HttpSend>,
    /// The region already known (STS calls need one), if any.
    pub region: Option<String>,
    /// An STS endpoint override resolved from the configuration (`AWS_ENDPOINT_URL_STS`,
    /// `AWS_ENDPOINT_URL`, profile `endpoint_url`); `None` means "resolve it yourself".
    pub sts_endpoint: Option<Url>,
}

impl ProviderConfig {
    /// The real environment and file system, with a new default HTTP client.
    pub fn real() -> Result<Self, TransportError> {
        Ok(Self::with_http(ReqwestSend::shared(&HttpClientConfig::default())?))
    }

    /// The real environment and file system with the given HTTP client.
    pub fn with_http(http: Arc<dyn HttpSend>) -> Self {
        Self { env: Env::real(), fs: Fs::real(), http, region: None, sts_endpoint: None }
    }

    /// Replaces the environment.
    pub fn env(mut self, env: Env) -> Self {
        self.env = env;
        self
    }

    /// Replaces the file system.
    pub fn fs(mut self, fs: Fs) -> Self {
        self.fs = fs;
        self
    }

    /// Sets the known region.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Sets the STS endpoint override.
    pub fn sts_endpoint(mut self, endpoint: Url) -> Self {
        self.sts_endpoint = Some(endpoint);
        self
    }
}
