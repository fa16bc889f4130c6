//! [`ComputeClient`]: the Compute Engine API v1 client of one project, and its [`ClientBuilder`]
//! (docs/ARCHITECTURE.md, "Construction: a loaded config, one builder").

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use cloudkit_core::{
    BufferedResponse, HttpRequest, Method, Operation, Pipeline, PipelineBuilder, TimeoutConfig, Url, encode_unreserved,
};
use cloudkit_cred_chain::gcp::{BearerTokenSigner, GcpConfig};
use cloudkit_waiter::WaiterConfig;
use serde::de::DeserializeOwned;

use crate::error::{GCE_RETRY_CLASSIFIER, GceError, GceErrorParser, Result};
use crate::{Instances, MachineTypes, SERVICE, ZoneOperations, Zones};

/// The default settings of [`Operation::wait`](crate::Operation::wait): first poll at once, then
/// 2 s growing (jittered doubling) to 30 s between polls of `zoneOperations.wait` (which itself
/// blocks up to 2 minutes server-side), a 10-minute deadline, no attempt limit.
pub fn default_operation_config() -> WaiterConfig {
    WaiterConfig::new(Duration::from_secs(2), Duration::from_secs(30), Duration::from_secs(600))
}

/// The attempt timeout of each `zoneOperations.wait` call while the client has the default time
/// limits: the service holds the call up to about 2 minutes, longer than the pipeline's default
/// 60 s attempt timeout. Limits chosen with `.timeouts(..)` (builder or config loader) apply to
/// wait calls as they are; either way [`Operation::wait`](crate::Operation::wait) cuts a wait call
/// at its deadline.
pub const WAIT_CALL_TIMEOUT: Duration = Duration::from_secs(150);

/// The time limits of `zoneOperations.wait` calls: the client's own when they were chosen
/// (`.timeouts(..)` on the builder or the config loader), else [`WAIT_CALL_TIMEOUT`] per attempt
/// and three times that for the call with its retries.
pub(crate) fn wait_call_timeouts(client: &TimeoutConfig) -> TimeoutConfig {
    if *client == TimeoutConfig::default() {
        TimeoutConfig { attempt: Some(WAIT_CALL_TIMEOUT), operation: Some(WAIT_CALL_TIMEOUT.saturating_mul(3)) }
    } else {
        client.clone()
    }
}

/// The Compute Engine client: instances, zone operations, zones and machine types of one
/// project, on one pipeline (bearer tokens from the Google credential chain, retries with
/// [`GCE_RETRY_CLASSIFIER`], typed [`GceError`]s). Cheap to clone.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_gcp_compute::{ComputeClient, GcpConfig};
/// use futures::TryStreamExt;
/// let config = GcpConfig::loader().load().await?; // ADC + GOOGLE_CLOUD_PROJECT
/// let compute = ComputeClient::new(&config)?;
/// let mut instances = compute.instances().list("us-central1-a").into_items(Default::default());
/// while let Some(instance) = instances.try_next().await? {
///     println!("{} {}", instance.name, instance.status);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ComputeClient {
    pub(crate) inner: Arc<ClientInner>,
}

pub(crate) struct ClientInner {
    pub(crate) pipeline: Pipeline,
    /// The pipeline of `zoneOperations.wait` calls: the same HTTP client, signer, retries and
    /// quota, with [`wait_call_timeouts`].
    pub(crate) wait_pipeline: Pipeline,
    pub(crate) endpoint: Url,
    pub(crate) project: Option<String>,
    pub(crate) operations: WaiterConfig,
}

impl fmt::Debug for ComputeClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ComputeClient")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("project", &self.inner.project)
            .field("operations", &self.inner.operations)
            .finish_non_exhaustive()
    }
}

/// Builds a [`ComputeClient`] from a [`GcpConfig`], with overrides (the shared `endpoint`,
/// `http`, `retry`, `timeouts`, and the project and operation polling).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use cloudkit_gcp_compute::{ComputeClient, GcpConfig, default_operation_config};
/// let config = GcpConfig::loader().load().await?;
/// let compute = ComputeClient::builder(&config)
///     .project("my-proj")
///     .operation_config(default_operation_config().max_wait(Duration::from_secs(300)))
///     .build()?;
/// # let _ = compute; Ok(()) }
/// ```
#[must_use = "call .build()"]
pub struct ClientBuilder {
    /// The pipeline, preset by the config (bearer signer, HTTP client, retry, quota, timeouts)
    /// with the Google error parser and the Compute retry classifier.
    pipeline: PipelineBuilder,
    endpoint: Url,
    project: Option<String>,
    operations: WaiterConfig,
    /// The signing step, to check an endpoint override before any token is sent.
    bearer: BearerTokenSigner,
    /// The config, for the pipeline of `zoneOperations.wait` calls.
    config: GcpConfig,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("pipeline", &self.pipeline)
            .field("endpoint", &self.endpoint.as_str())
            .field("project", &self.project)
            .field("operations", &self.operations)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    cloudkit_core::client_builder_overrides!(
        /// The API base URL (default: the config's [`GcpConfig::compute_endpoint`],
        /// `https://compute.googleapis.com/compute/v1/` unless the loader's `compute_endpoint`,
        /// `CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE` or `CLOUDKIT_GCE_ENDPOINT` say otherwise). With
        /// credentials it must be https, or the loopback endpoint the config named (plain http);
        /// [`build`](Self::build) refuses others.
        endpoint
    );

    /// The project (default: the config's, from `GOOGLE_CLOUD_PROJECT`, the credentials file or
    /// the metadata server).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// How [`Operation::wait`](crate::Operation::wait) polls (default
    /// [`default_operation_config`]): `min_delay`/`max_delay` between polls, `max_wait` the deadline.
    pub fn operation_config(mut self, config: WaiterConfig) -> Self {
        self.operations = config;
        self
    }

    /// Builds the client; fails when the endpoint cannot carry tokens (plain http other than the
    /// loopback endpoint the config allows) or is not a base URL.
    pub fn build(self) -> Result<ComputeClient> {
        let mut endpoint = self.endpoint;
        if endpoint.cannot_be_a_base() || endpoint.host_str().is_none() {
            return Err(GceError::invalid_input("NewClient", "the endpoint is not an http(s) base URL"));
        }
        if !endpoint.path().ends_with('/') {
            let path = format!("{}/", endpoint.path());
            endpoint.set_path(&path);
        }
        endpoint.set_query(None);
        endpoint.set_fragment(None);
        self.bearer.check_url(&endpoint).map_err(|e| GceError::invalid_input("NewClient", e.to_string()))?;
        let project = self.project.filter(|p| !p.trim().is_empty());
        let pipeline = self.pipeline.build()?;
        let wait_pipeline = pipeline_builder(&self.config)
            .http(pipeline.http().clone())
            .retry(pipeline.retry_config().clone())
            .timeouts(wait_call_timeouts(pipeline.timeout_config()))
            .build()?;
        Ok(ComputeClient {
            inner: Arc::new(ClientInner { pipeline, wait_pipeline, endpoint, project, operations: self.operations }),
        })
    }
}

impl ComputeClient {
    /// A client for the config's endpoint and project (`builder(config).build()`).
    pub fn new(config: &GcpConfig) -> Result<Self> {
        Self::builder(config).build()
    }

    /// A builder preset from `config`, for overrides.
    pub fn builder(config: &GcpConfig) -> ClientBuilder {
        ClientBuilder {
            pipeline: pipeline_builder(config),
            endpoint: config.compute_endpoint().clone(),
            project: config.project_id().map(str::to_owned),
            operations: default_operation_config(),
            bearer: config.compute_bearer_signer(),
            config: config.clone(),
        }
    }

    /// The same client for another project (same pipeline, token cache and settings).
    pub fn with_project(&self, project: impl Into<String>) -> Self {
        let i = &self.inner;
        ComputeClient {
            inner: Arc::new(ClientInner {
                pipeline: i.pipeline.clone(),
                wait_pipeline: i.wait_pipeline.clone(),
                endpoint: i.endpoint.clone(),
                project: Some(project.into()),
                operations: i.operations,
            }),
        }
    }

    /// The API base URL.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The project, when known.
    pub fn project(&self) -> Option<&str> {
        self.inner.project.as_deref()
    }

    /// The pipeline (retries, timeouts, signer).
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// The polling settings of [`Operation::wait`](crate::Operation::wait).
    pub fn operation_config(&self) -> &WaiterConfig {
        &self.inner.operations
    }

    /// Instances (`compute.instances.*`), Python's `compute_v1.InstancesClient()`.
    pub fn instances(&self) -> Instances {
        Instances { client: self.clone(), project: None }
    }

    /// Zone operations (`compute.zoneOperations.get` / `wait`).
    pub fn zone_operations(&self) -> ZoneOperations {
        ZoneOperations { client: self.clone(), project: None }
    }

    /// Zones (`compute.zones.list`).
    pub fn zones(&self) -> Zones {
        Zones { client: self.clone(), project: None }
    }

    /// Machine types (`compute.machineTypes.list`).
    pub fn machine_types(&self) -> MachineTypes {
        MachineTypes { client: self.clone(), project: None }
    }

    /// The project: `explicit`, else the client's, else an input error naming `operation`.
    pub(crate) fn project_for(&self, operation: &'static str, explicit: Option<&str>) -> Result<String> {
        explicit.or(self.inner.project.as_deref()).filter(|p| !p.trim().is_empty()).map(str::to_owned).ok_or_else(
            || {
                GceError::invalid_input(
                    operation,
                    "no project: set GOOGLE_CLOUD_PROJECT, or give one to `GcpConfig::loader().project_id(..)`, \
                     `ComputeClient::builder(..).project(..)` or the call's `.project(..)`",
                )
            },
        )
    }

    /// `{endpoint}{segments joined by /}?{query}`; each segment is one RFC 3986-encoded path
    /// segment. Empty, `.` and `..` names are refused (they would address another resource).
    pub(crate) fn url(&self, operation: &'static str, segments: &[&str], query: &[(&str, String)]) -> Result<Url> {
        let mut path = self.inner.endpoint.path().to_owned();
        for (i, segment) in segments.iter().enumerate() {
            if segment.trim().is_empty() || *segment == "." || *segment == ".." {
                return Err(GceError::invalid_input(
                    operation,
                    format!("the name {segment:?} is not a valid project, zone, instance or operation name"),
                ));
            }
            if i > 0 {
                path.push('/');
            }
            path.push_str(&encode_unreserved(segment));
        }
        let mut url = self.inner.endpoint.clone();
        url.set_path(&path);
        cloudkit_core::append_query(&mut url, query.iter().map(|(k, v)| (k, v)));
        Ok(url)
    }

    /// Sends one request and reads the whole answer. `idempotent` is true for reads and for
    /// mutating calls that carry a `requestId` (the service ignores a retried duplicate).
    pub(crate) async fn send(
        &self,
        operation: &'static str,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<BufferedResponse> {
        let op = Operation::new(operation).idempotent(true);
        let mut request = HttpRequest::new(method, url);
        if let Some(body) = body {
            let bytes = serde_json::to_vec(body).map_err(|e| GceError::invalid_input(operation, e.to_string()))?;
            request = request.with_json_body(bytes);
        }
        let pipeline =
            if operation == "zoneOperations.wait" { &self.inner.wait_pipeline } else { &self.inner.pipeline };
        Ok(pipeline.send_buffered(&op, request).await?)
    }

    /// Sends one request and decodes the JSON answer.
    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        url: Url,
        body: Option<&serde_json::Value>,
    ) -> Result<T> {
        let response = self.send(operation, method, url, body).await?;
        decode(operation, &response.body)
    }
}

/// The pipeline builder of a Compute client: the config's (compute bearer signer, HTTP client,
/// retries, quota, timeouts) with the Google error parser and the Compute retry classifier.
fn pipeline_builder(config: &GcpConfig) -> PipelineBuilder {
    config
        .compute_pipeline_builder(SERVICE)
        .error_parser(Arc::new(GceErrorParser))
        .classifier(Arc::new(GCE_RETRY_CLASSIFIER))
}

/// Decodes a JSON answer of `operation`.
pub(crate) fn decode<T: DeserializeOwned>(operation: &'static str, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body)
        .map_err(|e| GceError::decode(operation, format!("the response is not the expected JSON: {e}")))
}

/// A random (version 4) UUID for `requestId`: the service ignores a second request with the
/// same id, so a retried mutating call cannot run twice. Never the all-zero UUID.
pub fn new_request_id() -> String {
    let mut bytes = [0u8; 16];
    for b in &mut bytes {
        *b = fastrand::u8(..);
    }
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}
