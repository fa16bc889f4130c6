//! [`BlobServiceClient`]: the account-level client, and its [`ClientBuilder`]
//! (docs/ARCHITECTURE.md, "Construction: a loaded config, one builder").

use std::sync::Arc;

use cloudkit_core::{HttpRequest, Method, Pipeline, PipelineBuilder, Url};
use cloudkit_cred_chain::azure::{AzureConfig, StorageAuth};
use cloudkit_signer::azure::STORAGE_API_VERSION;

use crate::error::{AZURE_RETRY_CLASSIFIER, AzureErrorParser, BlobError, Result};
use crate::{BlobClient, ContainerClient, SERVICE};

/// The Blob service of one storage account.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_azure_blob::BlobServiceClient;
/// use cloudkit_cred_chain::azure::AzureConfig;
/// use futures::TryStreamExt;
/// // Azurite: AZURE_STORAGE_CONNECTION_STRING="UseDevelopmentStorage=true"
/// let config = AzureConfig::loader().load().await?;
/// let service = BlobServiceClient::new(&config)?;
/// let container = service.container_client("photos");
/// container.create().send().await?;
/// container.blob_client("cat.txt").put("meow").content_type("text/plain").send().await?;
/// let names: Vec<String> = service.list_containers().into_items(Default::default()).map_ok(|c| c.name).try_collect().await?;
/// # let _ = names; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct BlobServiceClient {
    pub(crate) inner: Arc<ClientInner>,
}

#[derive(Debug)]
pub(crate) struct ClientInner {
    pub(crate) pipeline: Pipeline,
    pub(crate) endpoint: Url,
    pub(crate) account: Option<String>,
    pub(crate) auth: StorageAuth,
}

/// Builds a [`BlobServiceClient`] from an [`AzureConfig`], with overrides.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_azure_blob::BlobServiceClient;
/// use cloudkit_core::RetryConfig;
/// use cloudkit_cred_chain::azure::AzureConfig;
/// let config = AzureConfig::loader().connection_string("UseDevelopmentStorage=true").load().await?;
/// let service = BlobServiceClient::builder(&config)
///     .endpoint("http://127.0.0.1:10001/devstoreaccount1".parse()?)
///     .retry(RetryConfig::standard().with_max_attempts(5))
///     .build()?;
/// # let _ = service; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "call .build()"]
pub struct ClientBuilder {
    /// The pipeline, preset by the config (signer, HTTP client, retry, quota, timeouts) with the
    /// Blob error parser and retry classifier.
    pipeline: PipelineBuilder,
    config: AzureConfig,
    endpoint: Option<Url>,
}

impl ClientBuilder {
    cloudkit_core::client_builder_overrides!(
        /// The blob endpoint (default: the config's), e.g. `https://acct.blob.core.windows.net` or
        /// Azurite's `http://127.0.0.1:10000/devstoreaccount1`.
        endpoint
    );

    /// Builds the client; fails when the endpoint cannot be used with the config's authorization
    /// (not http(s), or bearer tokens over plain http).
    pub fn build(self) -> Result<BlobServiceClient> {
        // A config loaded for Azure Resource Manager only has no storage account and no endpoint.
        let endpoint = self.endpoint.or_else(|| self.config.blob_endpoint().cloned()).ok_or_else(|| {
            BlobError::invalid_input("NewClient", cloudkit_cred_chain::azure::AzureConfigError::NoAccount.to_string())
        })?;
        let endpoint = self
            .config
            .validate_endpoint(endpoint)
            .map_err(|e| BlobError::invalid_input("NewClient", e.to_string()))?;
        let pipeline = self.pipeline.build()?;
        Ok(BlobServiceClient {
            inner: Arc::new(ClientInner {
                pipeline,
                endpoint,
                account: self.config.account().map(str::to_owned),
                auth: self.config.auth().clone(),
            }),
        })
    }
}

impl BlobServiceClient {
    /// A client for the config's account and endpoint (`builder(config).build()`).
    pub fn new(config: &AzureConfig) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A builder preset from `config`, for overrides (endpoint, HTTP client, retry, timeouts).
    pub fn builder(config: &AzureConfig) -> ClientBuilder {
        let pipeline = config
            .pipeline_builder(SERVICE)
            .error_parser(Arc::new(AzureErrorParser))
            .classifier(Arc::new(AZURE_RETRY_CLASSIFIER));
        ClientBuilder { pipeline, config: config.clone(), endpoint: None }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The account name, when known.
    pub fn account(&self) -> Option<&str> {
        self.inner.account.as_deref()
    }

    /// How requests are authorized.
    pub fn auth(&self) -> &StorageAuth {
        &self.inner.auth
    }

    /// The pipeline (retries, timeouts, signer).
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// A client for one container.
    pub fn container_client(&self, container: impl Into<String>) -> ContainerClient {
        ContainerClient::new(self.clone(), container.into())
    }

    /// A client for one blob.
    pub fn blob_client(&self, container: impl Into<String>, blob: impl Into<String>) -> BlobClient {
        self.container_client(container).blob_client(blob)
    }

    /// `{endpoint}{path}` with `query` (values RFC 3986-encoded: a space is `%20`, as Azure wants).
    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        cloudkit_core::endpoint_url(&self.inner.endpoint, path, query)
    }

    pub(crate) fn request(&self, method: Method, path: &str, query: &[(&str, &str)]) -> HttpRequest {
        let mut r = HttpRequest::new(method, self.url(path, query));
        r.headers.insert("x-ms-version", cloudkit_core::HeaderValue::from_static(STORAGE_API_VERSION));
        r
    }
}
