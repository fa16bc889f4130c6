//! [`Client`]: the S3 client, its settings and the request plumbing every operation shares.

use std::fmt;
use std::sync::Arc;

use cloudkit_core::{BufferedResponse, HttpRequest, HttpResponse, Method, Operation, Pipeline, Url};
use cloudkit_signer::aws::SharedCredentialsProvider;

use crate::addressing::{Addressing, AddressingStyle, check_bucket_name, check_key};
use crate::checksum::ChecksumMode;
use crate::error::S3Error;

/// The S3 client: one async method per S3 operation, builder-style inputs, typed outputs.
///
/// Cheap to clone (clones share the connection pool, credentials cache and retry quota).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_aws_s3::Client;
/// use cloudkit_cred_chain::aws::AwsConfig;
/// use futures::TryStreamExt;
///
/// // credentials, region and endpoint (AWS_ENDPOINT_URL_S3 …) from the environment and profiles
/// let config = AwsConfig::loader().load().await?;
/// let s3 = Client::new(&config)?;
/// s3.put_object("my-bucket", "hello.txt").body("hello").content_type("text/plain").send().await?;
/// let object = s3.get_object("my-bucket", "hello.txt").send().await?;
/// assert_eq!(&object.collect().await?[..], b"hello");
///
/// let mut objects = s3.list_objects_v2("my-bucket").prefix("logs/").into_objects();
/// while let Some(object) = objects.try_next().await? {
///     println!("{} {}", object.key, object.size);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pipeline: Pipeline,
    pub(crate) region: String,
    pub(crate) addressing: Addressing,
    pub(crate) checksum_mode: ChecksumMode,
    pub(crate) credentials: Option<SharedCredentialsProvider>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("region", &self.inner.region)
            .field("endpoint", &self.inner.addressing.endpoint.as_str())
            .field("addressing", &self.inner.addressing.style)
            .field("checksum_mode", &self.inner.checksum_mode)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Client`] from its parts (a pipeline that signs for `s3`, a region, an optional
/// endpoint). [`Client::new`] does this from an `AwsConfig`.
#[derive(Debug)]
pub struct ClientBuilder {
    pipeline: Pipeline,
    region: String,
    endpoint: Option<Url>,
    addressing: AddressingStyle,
    checksum_mode: Option<ChecksumMode>,
    credentials: Option<SharedCredentialsProvider>,
}

impl ClientBuilder {
    /// A custom endpoint (MinIO, s3s, moto, a VPC endpoint …). Requests then go path-style
    /// unless [`addressing_style`](Self::addressing_style) says otherwise, and checksums
    /// default to [`ChecksumMode::WhenRequired`].
    pub fn endpoint(mut self, endpoint: Url) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// Sets an optional endpoint.
    pub fn endpoint_opt(mut self, endpoint: Option<Url>) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// How buckets are addressed (default [`AddressingStyle::Auto`]).
    pub fn addressing_style(mut self, style: AddressingStyle) -> Self {
        self.addressing = style;
        self
    }

    /// Shorthand for `addressing_style(AddressingStyle::Path)` (`force_path_style` in the AWS SDKs).
    pub fn force_path_style(self, force: bool) -> Self {
        if force { self.addressing_style(AddressingStyle::Path) } else { self.addressing_style(AddressingStyle::Auto) }
    }

    /// When checksums are computed and verified (default: [`ChecksumMode::WhenSupported`] on
    /// AWS, [`ChecksumMode::WhenRequired`] on a custom endpoint).
    pub fn checksum_mode(mut self, mode: ChecksumMode) -> Self {
        self.checksum_mode = Some(mode);
        self
    }

    /// The credentials used for presigned URLs (the pipeline signs ordinary requests itself).
    pub fn credentials(mut self, credentials: SharedCredentialsProvider) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Builds the client; a malformed endpoint is an input error.
    pub fn build(self) -> Result<Client, S3Error> {
        let addressing = Addressing::new(&self.region, self.endpoint, self.addressing)
            .map_err(|m| S3Error::invalid_input("Client", m))?;
        let checksum_mode = self.checksum_mode.unwrap_or(if addressing.custom {
            ChecksumMode::WhenRequired
        } else {
            ChecksumMode::WhenSupported
        });
        Ok(Client {
            inner: Arc::new(Inner {
                pipeline: self.pipeline,
                region: self.region,
                addressing,
                checksum_mode,
                credentials: self.credentials,
            }),
        })
    }
}

impl Client {
    /// A client from shared AWS configuration: its credentials, region, retry and timeout
    /// settings, HTTP client and `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` endpoint.
    pub fn new(config: &cloudkit_cred_chain::aws::AwsConfig) -> Result<Client, S3Error> {
        Self::builder_from_config(config)?.build()
    }

    /// A [`ClientBuilder`] preset from shared AWS configuration, to change the addressing
    /// style or checksum mode before building.
    pub fn builder_from_config(config: &cloudkit_cred_chain::aws::AwsConfig) -> Result<ClientBuilder, S3Error> {
        let pipeline = config.pipeline_builder("S3", "s3").build().map_err(S3Error::Other)?;
        Ok(Client::builder(pipeline, config.region())
            .endpoint_opt(config.endpoint_url("S3"))
            .credentials(config.credentials_provider()))
    }

    /// A builder from parts: a pipeline (which signs with SigV4 for `s3` and parses errors with
    /// `AwsErrorParser`) and a region.
    pub fn builder(pipeline: Pipeline, region: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            pipeline,
            region: region.into(),
            endpoint: None,
            addressing: AddressingStyle::Auto,
            checksum_mode: None,
            credentials: None,
        }
    }

    /// Shorthand for `Client::builder(pipeline, region).endpoint_opt(endpoint).build()`.
    pub fn from_parts(pipeline: Pipeline, region: impl Into<String>, endpoint: Option<Url>) -> Result<Client, S3Error> {
        Self::builder(pipeline, region).endpoint_opt(endpoint).build()
    }

    /// The region requests are signed for.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The checksum mode in force.
    pub fn checksum_mode(&self) -> ChecksumMode {
        self.inner.checksum_mode
    }

    /// The endpoint (without bucket).
    pub fn endpoint(&self) -> &Url {
        &self.inner.addressing.endpoint
    }

    /// The URL of an object (or of the bucket when `key` is `None`), as this client addresses it.
    pub fn object_url(&self, bucket: &str, key: Option<&str>) -> Result<Url, S3Error> {
        self.url("ObjectUrl", bucket, key, &[])
    }

    /// The pipeline, for operations this client does not cover.
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    pub(crate) fn url(
        &self,
        op: &'static str,
        bucket: &str,
        key: Option<&str>,
        query: &[(&str, Option<&str>)],
    ) -> Result<Url, S3Error> {
        check_bucket_name(bucket).map_err(|m| S3Error::invalid_input(op, m))?;
        if let Some(key) = key {
            check_key(key).map_err(|m| S3Error::invalid_input(op, m))?;
        }
        self.inner.addressing.url(Some(bucket), key, query).map_err(|m| S3Error::invalid_input(op, m))
    }

    pub(crate) fn service_url(&self, op: &'static str, query: &[(&str, Option<&str>)]) -> Result<Url, S3Error> {
        self.inner.addressing.url(None, None, query).map_err(|m| S3Error::invalid_input(op, m))
    }

    pub(crate) async fn send(&self, op: Operation, request: HttpRequest) -> Result<BufferedResponse, S3Error> {
        self.inner.pipeline.send_buffered(&op, request).await.map_err(S3Error::from_core)
    }

    pub(crate) async fn send_streaming(&self, op: Operation, request: HttpRequest) -> Result<HttpResponse, S3Error> {
        self.inner.pipeline.send_streaming(&op, request).await.map_err(S3Error::from_core)
    }
}

/// A request under construction: validates header values coming from callers.
pub(crate) struct Req {
    pub(crate) op: &'static str,
    pub(crate) request: HttpRequest,
}

impl Req {
    pub(crate) fn new(op: &'static str, method: Method, url: Url) -> Self {
        Self { op, request: HttpRequest::new(method, url) }
    }

    pub(crate) fn header(&mut self, name: &str, value: &str) -> Result<(), S3Error> {
        self.request.insert_header(name, value).map_err(|e| S3Error::invalid_input(self.op, e.to_string()))
    }

    pub(crate) fn opt(&mut self, name: &str, value: Option<&str>) -> Result<(), S3Error> {
        match value {
            Some(v) => self.header(name, v),
            None => Ok(()),
        }
    }
}

/// Header value accessors for responses.
pub(crate) fn header_str<'a>(headers: &'a cloudkit_core::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

pub(crate) fn header_string(headers: &cloudkit_core::HeaderMap, name: &str) -> Option<String> {
    header_str(headers, name).map(str::to_owned)
}
