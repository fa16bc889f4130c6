//! [`S3Client`]: the S3 client, its [`ClientBuilder`] and the request plumbing every operation
//! shares.

use std::fmt;
use std::sync::Arc;

use cloudkit_core::{BufferedResponse, HttpRequest, HttpResponse, Method, Operation, Pipeline, PipelineBuilder, Url};
use cloudkit_cred_chain::aws::AwsConfig;
use cloudkit_signer::aws::{ClockSkew, SharedCredentialsProvider};

use crate::addressing::{Addressing, AddressingStyle, check_bucket_name, check_key};
use crate::checksum::ChecksumMode;
use crate::error::S3Error;

/// The S3 client: one async method per S3 operation, builder-style inputs, typed outputs.
///
/// Built from a loaded [`AwsConfig`] (docs/ARCHITECTURE.md, "Construction"): [`S3Client::new`],
/// or [`S3Client::builder`] for overrides. Cheap to clone (clones share the connection pool,
/// credentials cache and retry quota).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_aws_s3::{PaginationConfig, S3Client};
/// use cloudkit_cred_chain::aws::AwsConfig;
/// use futures::TryStreamExt;
///
/// // credentials, region and endpoint (AWS_ENDPOINT_URL_S3 …) from the environment and profiles
/// let config = AwsConfig::loader().load().await?;
/// let s3 = S3Client::new(&config)?;
/// s3.put_object("my-bucket", "hello.txt").body("hello").content_type("text/plain").send().await?;
/// let object = s3.get_object("my-bucket", "hello.txt").send().await?;
/// assert_eq!(&object.collect().await?[..], b"hello");
///
/// let mut objects = s3.list_objects_v2("my-bucket").prefix("logs/").into_objects(PaginationConfig::default());
/// while let Some(object) = objects.try_next().await? {
///     println!("{} {}", object.key, object.size);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct S3Client {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pipeline: Pipeline,
    pub(crate) region: String,
    pub(crate) addressing: Addressing,
    pub(crate) checksum_mode: ChecksumMode,
    /// The config's credentials, for presigned URLs (the pipeline signs requests itself).
    pub(crate) credentials: SharedCredentialsProvider,
    /// The config's signing-clock correction (set from clock-skew answers), for presigned URLs.
    pub(crate) clock_skew: ClockSkew,
}

impl fmt::Debug for S3Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("S3Client")
            .field("region", &self.inner.region)
            .field("endpoint", &self.inner.addressing.endpoint.as_str())
            .field("addressing", &self.inner.addressing.style)
            .field("checksum_mode", &self.inner.checksum_mode)
            .finish_non_exhaustive()
    }
}

/// Builds an [`S3Client`] from an [`AwsConfig`] with overrides; see [`S3Client::builder`].
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_aws_s3::{ChecksumMode, S3Client};
/// use cloudkit_core::{RetryConfig, Url};
/// use cloudkit_cred_chain::aws::AwsConfig;
///
/// let config = AwsConfig::loader().load().await?;
/// let minio = S3Client::builder(&config)
///     .endpoint(Url::parse("http://127.0.0.1:9000")?)
///     .force_path_style(true)
///     .checksum_mode(ChecksumMode::WhenRequired)
///     .retry(RetryConfig::standard().with_max_attempts(5))
///     .build()?;
/// # let _ = minio; Ok(()) }
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    pipeline: PipelineBuilder,
    region: String,
    endpoint: Option<Url>,
    addressing: AddressingStyle,
    checksum_mode: Option<ChecksumMode>,
    credentials: SharedCredentialsProvider,
    clock_skew: ClockSkew,
}

impl ClientBuilder {
    cloudkit_core::client_builder_overrides!(
        /// A custom endpoint (MinIO, s3s, moto, a VPC endpoint …) instead of the config's
        /// (`AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, the profile) or AWS's regional one. Requests
        /// then go path-style unless [`addressing_style`](Self::addressing_style) says otherwise, and
        /// checksums default to [`ChecksumMode::WhenRequired`].
        endpoint
    );

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

    /// Builds the client; a malformed endpoint is an input error.
    pub fn build(self) -> Result<S3Client, S3Error> {
        let addressing = Addressing::new(&self.region, self.endpoint, self.addressing)
            .map_err(|m| S3Error::invalid_input("Client", m))?;
        let checksum_mode = self.checksum_mode.unwrap_or(if addressing.custom {
            ChecksumMode::WhenRequired
        } else {
            ChecksumMode::WhenSupported
        });
        let pipeline = self.pipeline.build().map_err(S3Error::Other)?;
        Ok(S3Client {
            inner: Arc::new(Inner {
                pipeline,
                region: self.region,
                addressing,
                checksum_mode,
                credentials: self.credentials,
                clock_skew: self.clock_skew,
            }),
        })
    }
}

impl S3Client {
    /// A client from shared AWS configuration: its credentials, region, retry and timeout
    /// settings, HTTP client and `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` endpoint
    /// (= `S3Client::builder(config).build()`).
    pub fn new(config: &AwsConfig) -> Result<S3Client, S3Error> {
        Self::builder(config).build()
    }

    /// A [`ClientBuilder`] preset from shared AWS configuration, to override the endpoint, HTTP
    /// client, retry settings, timeouts, addressing style or checksum mode before building.
    pub fn builder(config: &AwsConfig) -> ClientBuilder {
        ClientBuilder {
            pipeline: config.pipeline_builder(crate::SERVICE, "s3"),
            region: config.region().to_owned(),
            endpoint: config.endpoint_url("S3"),
            addressing: AddressingStyle::Auto,
            checksum_mode: None,
            credentials: config.credentials_provider(),
            clock_skew: config.clock_skew().clone(),
        }
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

/// The object a request is about: the client that sends it, the bucket and the key.
#[derive(Clone, Debug)]
pub(crate) struct ObjectRef {
    pub(crate) client: S3Client,
    pub(crate) bucket: String,
    pub(crate) key: String,
}

impl ObjectRef {
    /// The object's URL, with `query`.
    pub(crate) fn url(&self, op: &'static str, query: &[(&str, Option<&str>)]) -> Result<Url, S3Error> {
        self.client.url(op, &self.bucket, Some(&self.key), query)
    }
}

impl S3Client {
    /// The object `key` of `bucket`, for a request builder.
    pub(crate) fn object_ref(&self, bucket: impl Into<String>, key: impl Into<String>) -> ObjectRef {
        ObjectRef { client: self.clone(), bucket: bucket.into(), key: key.into() }
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

    /// An HTTP-date header; a time an HTTP date cannot write (before 1970, after 9999) is an input
    /// error, not a panic.
    pub(crate) fn date(&mut self, name: &str, t: std::time::SystemTime) -> Result<(), S3Error> {
        let value = cloudkit_core::internal::date::http_date(t)
            .ok_or_else(|| S3Error::invalid_input(self.op, format!("`{name}` must be a time between 1970 and 9999")))?;
        self.header(name, &value)
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
