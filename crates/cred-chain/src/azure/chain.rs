//! The `DefaultAzureCredential`-equivalent chain.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use azure_core::credentials::{AccessToken, TokenCredential, TokenRequestOptions};

use super::cache::TokenCache;
use super::{
    AzureCliCredential, EnvironmentCredential, FetchToken, IdentityOptions, ManagedIdentityCredential,
    ManagedIdentityId, SourceError, WorkloadIdentityCredential,
};

const NONE: usize = usize::MAX;

/// Environment → workload identity → managed identity → Azure CLI, like the Python SDK's
/// `DefaultAzureCredential` on Linux. The first source that returns a token is remembered and
/// used from then on. A source that is not configured is skipped; one that is configured but
/// fails stops the chain. Either way, the error lists every source tried and why it failed.
#[derive(Debug)]
pub struct DefaultAzureCredential {
    sources: Vec<Arc<dyn FetchToken>>,
    chosen: AtomicUsize,
    cache: TokenCache,
}

/// Builder of [`DefaultAzureCredential`].
#[derive(Debug, Default)]
pub struct DefaultAzureCredentialBuilder {
    options: IdentityOptions,
    exclude_environment: bool,
    exclude_workload_identity: bool,
    exclude_managed_identity: bool,
    exclude_cli: bool,
    managed_identity_id: Option<ManagedIdentityId>,
}

impl DefaultAzureCredentialBuilder {
    /// Environment, HTTP client and endpoint overrides.
    pub fn options(mut self, options: IdentityOptions) -> Self {
        self.options = options;
        self
    }
    /// Skips [`EnvironmentCredential`].
    pub fn exclude_environment(mut self, exclude: bool) -> Self {
        self.exclude_environment = exclude;
        self
    }
    /// Skips [`WorkloadIdentityCredential`].
    pub fn exclude_workload_identity(mut self, exclude: bool) -> Self {
        self.exclude_workload_identity = exclude;
        self
    }
    /// Skips [`ManagedIdentityCredential`].
    pub fn exclude_managed_identity(mut self, exclude: bool) -> Self {
        self.exclude_managed_identity = exclude;
        self
    }
    /// Skips [`AzureCliCredential`].
    pub fn exclude_cli(mut self, exclude: bool) -> Self {
        self.exclude_cli = exclude;
        self
    }
    /// The user-assigned managed identity (default: `AZURE_CLIENT_ID` as a client id, as Python does).
    pub fn managed_identity(mut self, id: ManagedIdentityId) -> Self {
        self.managed_identity_id = Some(id);
        self
    }

    /// Builds the chain (nothing is contacted until the first `get_token`).
    pub fn build(self) -> DefaultAzureCredential {
        let o = self.options;
        let mut sources: Vec<Arc<dyn FetchToken>> = Vec::new();
        if !self.exclude_environment {
            sources.push(Arc::new(EnvironmentCredential::new(o.clone())));
        }
        if !self.exclude_workload_identity {
            sources.push(Arc::new(WorkloadIdentityCredential::new(o.clone())));
        }
        if !self.exclude_managed_identity {
            let id = self.managed_identity_id.or_else(|| o.env.get("AZURE_CLIENT_ID").map(ManagedIdentityId::ClientId));
            sources.push(Arc::new(ManagedIdentityCredential::new(id, o.clone())));
        }
        if !self.exclude_cli {
            sources.push(Arc::new(AzureCliCredential::new(o)));
        }
        DefaultAzureCredential { sources, chosen: AtomicUsize::new(NONE), cache: TokenCache::default() }
    }
}

impl DefaultAzureCredential {
    /// A builder (exclusions, options).
    pub fn builder() -> DefaultAzureCredentialBuilder {
        DefaultAzureCredentialBuilder::default()
    }

    /// The chain over the real environment, all sources included.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// The names of the sources, in order.
    pub fn source_names(&self) -> Vec<&'static str> {
        self.sources.iter().map(|s| s.name()).collect()
    }

    /// The source that produced the last token, once one has.
    pub fn chosen_source(&self) -> Option<&'static str> {
        self.sources.get(self.chosen.load(Ordering::Relaxed)).map(|s| s.name())
    }

    async fn fetch(&self, scopes: &[&str]) -> Result<AccessToken, SourceError> {
        let chosen = self.chosen.load(Ordering::Relaxed);
        if let Some(source) = self.sources.get(chosen) {
            return source.fetch(scopes).await;
        }
        if self.sources.is_empty() {
            return Err(SourceError::Unavailable("every source is excluded".into()));
        }
        let mut attempts = Vec::new();
        for (i, source) in self.sources.iter().enumerate() {
            match source.fetch(scopes).await {
                Ok(token) => {
                    self.chosen.store(i, Ordering::Relaxed);
                    tracing::debug!(source = source.name(), "DefaultAzureCredential: got a token");
                    return Ok(token);
                }
                Err(SourceError::Unavailable(why)) => attempts.push(format!("{}: unavailable: {why}", source.name())),
                Err(SourceError::Failed(why)) => {
                    attempts.push(format!("{}: failed: {why}", source.name()));
                    return Err(SourceError::Failed(all_failed(&attempts, true)));
                }
            }
        }
        Err(SourceError::Unavailable(all_failed(&attempts, false)))
    }
}

fn all_failed(attempts: &[String], stopped: bool) -> String {
    let head = if stopped {
        "failed to get a token (the chain stopped at a configured source that failed)"
    } else {
        "failed to get a token from any source"
    };
    // One line, whole entries: beyond the limit the message says how many were left out.
    format!("{head}: {}", cloudkit_core::summarize_list(attempts, 1000))
}

impl Default for DefaultAzureCredential {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait::async_trait]
impl TokenCredential for DefaultAzureCredential {
    async fn get_token(
        &self,
        scopes: &[&str],
        options: Option<TokenRequestOptions<'_>>,
    ) -> azure_core::Result<AccessToken> {
        self.cache
            .get_or_refresh(scopes, options.as_ref(), || self.fetch(scopes))
            .await
            .map_err(|e| e.into_azure("DefaultAzureCredential"))
    }
}
