//! [`ArmClient`]: the Azure Resource Manager client of one subscription, and its [`ClientBuilder`]
//! (docs/ARCHITECTURE.md, "Construction: a loaded config, one builder").

use std::sync::Arc;
use std::time::Duration;

use cloudkit_core::{
    BufferedResponse, HttpRequest, Method, Operation, Pipeline, PipelineBuilder, Url, encode_unreserved,
};
use cloudkit_cred_chain::azure::AzureConfig;
use cloudkit_waiter::WaiterConfig;
use serde::de::DeserializeOwned;

use crate::error::{AZURE_ARM_RETRY_CLASSIFIER, ArmError, ArmErrorParser, Result};
use crate::{Providers, ResourceGroups, Resources, SERVICE, Subscriptions, VirtualMachines};

/// The default settings of long-running operations: the delay before each poll is the service's
/// `Retry-After`, or the 60 s the ARM RPC prescribes when it sends none, kept between `min_delay`
/// (1 s) and `max_delay` (10 min, the RPC's longest `Retry-After`); a one-hour deadline.
pub fn default_lro_config() -> WaiterConfig {
    WaiterConfig::new(Duration::from_secs(1), Duration::from_secs(600), Duration::from_secs(3600))
}

/// The Azure Resource Manager client: subscriptions, resource groups, virtual machines, any
/// resource generically, resource providers — all on one pipeline (bearer tokens of the ARM
/// scope, retries with [`AZURE_ARM_RETRY_CLASSIFIER`], typed [`ArmError`]s). Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_azure_arm::{ArmClient, AzureConfig};
/// use futures::TryStreamExt;
/// // DefaultAzureCredential-equivalent chain; AZURE_SUBSCRIPTION_ID names the subscription
/// let config = AzureConfig::loader().load().await?;
/// let rm = ArmClient::new(&config)?;
/// let groups: Vec<_> = rm.resource_groups().list().into_items(Default::default()).try_collect().await?;
/// for rg in groups {
///     println!("{} {}", rg.name, rg.location);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ArmClient {
    pub(crate) inner: Arc<ClientInner>,
}

#[derive(Debug)]
pub(crate) struct ClientInner {
    pub(crate) pipeline: Pipeline,
    pub(crate) endpoint: Url,
    pub(crate) subscription_id: Option<String>,
    pub(crate) lro: WaiterConfig,
}

/// Builds an [`ArmClient`] from an [`AzureConfig`], with overrides.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use cloudkit_azure_arm::{ArmClient, AzureConfig, default_lro_config};
/// let config = AzureConfig::loader().load().await?;
/// let rm = ArmClient::builder(&config)
///     .subscription_id("00000000-0000-0000-0000-000000000000")
///     .lro_config(default_lro_config().max_wait(Duration::from_secs(1800)))
///     .build()?;
/// # let _ = rm; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "call .build()"]
pub struct ClientBuilder {
    /// The pipeline, preset by the config (ARM bearer signer, HTTP client, retry, quota,
    /// timeouts) with the ARM error parser and retry classifier.
    pipeline: PipelineBuilder,
    config: AzureConfig,
    endpoint: Option<Url>,
    subscription_id: Option<String>,
    lro: WaiterConfig,
}

impl ClientBuilder {
    cloudkit_core::client_builder_overrides!(
        /// The ARM endpoint (default: the config's, `https://management.azure.com`). Its tokens are
        /// asked for the endpoint's own audience, `<scheme>://<host>[:port]/.default`
        /// (`https://management.usgovcloudapi.net/.default`; `https://management.azure.com/.default`
        /// for the public cloud and a loopback emulator), unless the config loader was given a
        /// `resource_manager_scope`, which is kept ([`AzureConfig::resource_manager_scope_for`]).
        endpoint
    );

    /// The subscription (default: the config's, from `AZURE_SUBSCRIPTION_ID`).
    pub fn subscription_id(mut self, id: impl Into<String>) -> Self {
        self.subscription_id = Some(id.into());
        self
    }

    /// How long-running operations poll (default [`default_lro_config`]): the delay before each
    /// poll is the service's `Retry-After` (else 60 s) kept between `min_delay` and `max_delay`;
    /// `max_wait` is the deadline, `max_attempts` an optional poll limit.
    pub fn lro_config(mut self, config: WaiterConfig) -> Self {
        self.lro = config;
        self
    }

    /// Builds the client; fails when the endpoint cannot carry tokens (not https, except a
    /// loopback emulator allowed by the config).
    pub fn build(self) -> Result<ArmClient> {
        let overridden = self.endpoint.is_some();
        let endpoint = self.endpoint.unwrap_or_else(|| self.config.resource_manager_endpoint().clone());
        let endpoint = self
            .config
            .validate_resource_manager_endpoint(endpoint)
            .map_err(|e| ArmError::invalid_input("NewClient", e.to_string()))?;
        let mut pipeline = self.pipeline;
        if overridden {
            // The override's own token audience, unless the loader named the scope.
            pipeline = pipeline.signer(self.config.resource_manager_signer_for(&endpoint));
        }
        let pipeline = pipeline.build()?;
        let subscription_id = self
            .subscription_id
            .or_else(|| self.config.subscription_id().map(str::to_owned))
            .filter(|s| !s.trim().is_empty());
        Ok(ArmClient { inner: Arc::new(ClientInner { pipeline, endpoint, subscription_id, lro: self.lro }) })
    }
}

impl ArmClient {
    /// A client for the config's endpoint and subscription (`builder(config).build()`).
    pub fn new(config: &AzureConfig) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A builder preset from `config`, for overrides (endpoint, subscription, HTTP client, retry,
    /// timeouts, long-running-operation polling).
    pub fn builder(config: &AzureConfig) -> ClientBuilder {
        let pipeline = config
            .resource_manager_pipeline_builder(SERVICE)
            .error_parser(Arc::new(ArmErrorParser))
            .classifier(Arc::new(AZURE_ARM_RETRY_CLASSIFIER));
        ClientBuilder {
            pipeline,
            config: config.clone(),
            endpoint: None,
            subscription_id: None,
            lro: default_lro_config(),
        }
    }

    /// The same client for another subscription (same pipeline, token cache and settings).
    pub fn with_subscription(&self, subscription_id: impl Into<String>) -> Self {
        let i = &self.inner;
        ArmClient {
            inner: Arc::new(ClientInner {
                pipeline: i.pipeline.clone(),
                endpoint: i.endpoint.clone(),
                subscription_id: Some(subscription_id.into()),
                lro: i.lro,
            }),
        }
    }

    /// The ARM endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The subscription, when known.
    pub fn subscription_id(&self) -> Option<&str> {
        self.inner.subscription_id.as_deref()
    }

    /// The pipeline (retries, timeouts, signer).
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The polling settings of long-running operations.
    pub fn lro_config(&self) -> &WaiterConfig {
        &self.inner.lro
    }

    /// Subscriptions (`Microsoft.Resources/subscriptions`, api-version 2022-12-01).
    pub fn subscriptions(&self) -> Subscriptions {
        Subscriptions { client: self.clone() }
    }

    /// Resource groups of the subscription (api-version 2025-04-01).
    pub fn resource_groups(&self) -> ResourceGroups {
        ResourceGroups { client: self.clone() }
    }

    /// Virtual machines of the subscription (`Microsoft.Compute`, api-version 2025-04-01).
    pub fn virtual_machines(&self) -> VirtualMachines {
        VirtualMachines { client: self.clone() }
    }

    /// Any resource, by id, with bodies as `serde_json::Value` (what `az resource` does).
    pub fn resources(&self) -> Resources {
        Resources { client: self.clone() }
    }

    /// Resource providers (their resource types and api-versions).
    pub fn providers(&self) -> Providers {
        Providers { client: self.clone() }
    }

    /// The subscription, or an input error naming `operation`.
    pub(crate) fn subscription(&self, operation: &'static str) -> Result<&str> {
        self.subscription_id().ok_or_else(|| {
            ArmError::invalid_input(
                operation,
                "no subscription id: set AZURE_SUBSCRIPTION_ID, or give one to `AzureConfig::loader().subscription_id(..)` \
                 or `ArmClient::builder(..).subscription_id(..)`",
            )
        })
    }

    /// `{endpoint}{path}?{query}`; `path` segments must already be encoded (see [`segment`]).
    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        cloudkit_core::endpoint_url(&self.inner.endpoint, path, query)
    }

    /// A URL the service handed out (`nextLink`, `Location`, `Azure-AsyncOperation`), followed as
    /// given (relative ones against the endpoint) — but only on the endpoint's own scheme, host and
    /// port: the request carries the bearer token, and ARM hands out its own URLs only, so a URL
    /// elsewhere is refused before anything is sent (as redirects are, issue 15).
    pub(crate) fn follow(&self, operation: &'static str, link: &str) -> Result<Url> {
        let endpoint = &self.inner.endpoint;
        let url = endpoint
            .join(link.trim())
            .map_err(|e| ArmError::decode(operation, format!("the service sent an unusable URL ({e})")))?;
        let same_origin = url.scheme() == endpoint.scheme()
            && url.host_str() == endpoint.host_str()
            && url.port_or_known_default() == endpoint.port_or_known_default();
        if !same_origin {
            return Err(ArmError::decode(
                operation,
                format!(
                    "the service sent a URL on another origin ({}://{}), not the endpoint's ({}://{}); \
                     the token is not sent there",
                    url.scheme(),
                    url.host_str().unwrap_or("?"),
                    endpoint.scheme(),
                    endpoint.host_str().unwrap_or("?"),
                ),
            ));
        }
        Ok(url)
    }

    /// Sends one request of `operation` (idempotent unless `op` says otherwise) and reads the
    /// whole answer.
    pub(crate) async fn send(
        &self,
        operation: &'static str,
        op: Option<Operation>,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<BufferedResponse> {
        let op = op.unwrap_or_else(|| Operation::new(operation));
        let mut request = HttpRequest::new(method, url);
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body).map_err(|e| ArmError::invalid_input(operation, e.to_string()))?;
            request = request.with_json_body(bytes);
        }
        Ok(self.inner.pipeline.send_buffered(&op, request).await?)
    }

    /// GET `url` and decode the JSON answer.
    pub(crate) async fn get_json<T: DeserializeOwned>(&self, operation: &'static str, url: Url) -> Result<T> {
        let response = self.send(operation, None, Method::GET, url, None).await?;
        decode(operation, &response.body)
    }
}

/// Decodes a JSON answer of `operation`.
pub(crate) fn decode<T: DeserializeOwned>(operation: &'static str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| ArmError::decode(operation, format!("the response is not the expected JSON: {e}")))
}

/// One path segment, RFC 3986-encoded (resource group and resource names).
pub(crate) fn segment(name: &str) -> String {
    encode_unreserved(name)
}

/// Refuses an empty name (it would address the parent collection instead).
pub(crate) fn require(operation: &'static str, what: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(ArmError::invalid_input(operation, format!("the {what} is empty")));
    }
    Ok(())
}

/// The `tag` and `tags` setters of a builder with a `tags: BTreeMap<String, String>` field; the
/// doc of `tags` says what an empty map does.
macro_rules! tag_setters {
    ($builder:ident, $tags_doc:literal) => {
        impl $builder {
            /// Adds a tag.
            pub fn tag(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
                self.tags.insert(name.into(), value.into());
                self
            }

            #[doc = $tags_doc]
            pub fn tags(mut self, tags: std::collections::BTreeMap<String, String>) -> Self {
                self.tags = tags;
                self
            }
        }
    };
}
pub(crate) use tag_setters;
