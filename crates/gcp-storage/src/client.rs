//! [`StorageClient`]: the GCS JSON API client, its [`ClientBuilder`] and its settings.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cloudkit_core::{BufferedResponse, HttpRequest, Method, Operation, Pipeline, PipelineBuilder, Url};
use cloudkit_cred_chain::gcp::{BearerTokenSigner, GcpConfig};
use cloudkit_signer::gcp::{SharedBlobSigner, SignedUrl, SignedUrlRequest, UrlStyle, sign_url};
use serde::de::DeserializeOwned;

use crate::error::{GCS_RETRY_CLASSIFIER, GcsError, GcsErrorParser};
use crate::resource::BucketHandle;

/// GCS requires every resumable chunk but the last to be a multiple of this (256 KiB).
pub const CHUNK_QUANTUM: usize = 256 * 1024;

/// The project buckets are created in and listed from on an emulator when none is configured.
const EMULATOR_PROJECT: &str = "cloudkit-emulator";

/// Upload tuning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadSettings {
    /// Resumable chunk size, a multiple of 256 KiB (default 8 MiB). One chunk is the most an
    /// upload holds in memory.
    pub chunk_size: usize,
    /// Uploads of at least this many bytes go resumable; smaller ones go multipart (default
    /// 16 MiB, as the official clients).
    pub resumable_threshold: u64,
    /// How many times an interrupted resumable upload queries the session and resumes before
    /// giving up (default 5).
    pub max_resumes: u32,
}

impl Default for UploadSettings {
    fn default() -> Self {
        Self { chunk_size: 8 * 1024 * 1024, resumable_threshold: 16 * 1024 * 1024, max_resumes: 5 }
    }
}

/// Options of a signed URL made by the client.
#[derive(Clone, Debug, Default)]
pub struct SignedUrlOptions {
    /// Headers the request must carry (signed), e.g. `content-type` for a PUT.
    pub headers: Vec<(String, String)>,
    /// Extra query parameters (signed), e.g. `response-content-disposition`.
    pub query: Vec<(String, String)>,
    /// Path-style (default), virtual-hosted or a bucket-bound hostname.
    pub url_style: UrlStyle,
}

/// The Google Cloud Storage client: one async method per JSON API operation, builder-style
/// inputs, typed outputs. Cheap to clone (clones share the connection pool).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_cred_chain::gcp::GcpConfig;
/// use cloudkit_gcp_storage::StorageClient;
///
/// // ADC, or the emulator when STORAGE_EMULATOR_HOST is set.
/// let config = GcpConfig::loader().load().await?;
/// let client = StorageClient::new(&config)?;
/// client.insert_object("my-bucket", "hello.txt").content_type("text/plain").send_bytes("hi".into()).await?;
/// let bytes = client.download_object("my-bucket", "hello.txt").send().await?.bytes().await?;
/// assert_eq!(&bytes[..], b"hi");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct StorageClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) pipeline: Pipeline,
    pub(crate) endpoint: Url,
    pub(crate) project: Option<String>,
    pub(crate) emulator: bool,
    pub(crate) signer: Result<SharedBlobSigner, String>,
    pub(crate) upload: UploadSettings,
    pub(crate) verify_checksums: bool,
}

impl fmt::Debug for StorageClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StorageClient")
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("project", &self.inner.project)
            .field("emulator", &self.inner.emulator)
            .field("upload", &self.inner.upload)
            .finish_non_exhaustive()
    }
}

/// Builds a [`StorageClient`] from a loaded [`GcpConfig`], with overrides (docs/ARCHITECTURE.md,
/// "Construction"): the shared `endpoint`, `http`, `retry` and `timeouts`, and the GCS settings
/// (upload settings, checksum verification, blob signer, project).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_cred_chain::gcp::GcpConfig;
/// use cloudkit_gcp_storage::{StorageClient, UploadSettings};
///
/// let config = GcpConfig::loader().load().await?;
/// let client = StorageClient::builder(&config)
///     .project("billing-project")
///     .upload_settings(UploadSettings { chunk_size: 16 * 1024 * 1024, ..UploadSettings::default() })
///     .build()?;
/// # let _ = client;
/// # Ok(()) }
/// ```
#[must_use = "call .build()"]
pub struct ClientBuilder {
    pipeline: PipelineBuilder,
    endpoint: Url,
    project: Option<String>,
    emulator: bool,
    signer: Result<SharedBlobSigner, String>,
    upload: UploadSettings,
    verify_checksums: bool,
    /// The config's signing step, to check an endpoint override before any token is sent.
    bearer: BearerTokenSigner,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("pipeline", &self.pipeline)
            .field("endpoint", &self.endpoint.as_str())
            .field("project", &self.project)
            .field("emulator", &self.emulator)
            .field("blob_signer", &self.signer.is_ok())
            .field("upload", &self.upload)
            .field("verify_checksums", &self.verify_checksums)
            .finish()
    }
}

impl ClientBuilder {
    cloudkit_core::client_builder_overrides!(
        /// The storage root, e.g. `https://storage.googleapis.com` or an emulator's URL (default:
        /// the config's, which follows `STORAGE_EMULATOR_HOST`). With credentials it must be https
        /// (or the `STORAGE_EMULATOR_HOST` emulator): [`build`](Self::build) refuses to send bearer
        /// tokens over plain http anywhere else.
        endpoint
    );

    /// Upload tuning (default [`UploadSettings::default`]). The chunk size must be a positive
    /// multiple of 256 KiB; [`build`](Self::build) refuses others.
    pub fn upload_settings(mut self, settings: UploadSettings) -> Self {
        self.upload = settings;
        self
    }

    /// Whether whole-object downloads check the CRC32C (or MD5) GCS reports (default true).
    pub fn checksum_verification(mut self, verify: bool) -> Self {
        self.verify_checksums = verify;
        self
    }

    /// The signer of V4 signed URLs and POST policies (default: the config's credentials when
    /// they can sign, e.g. a [`ServiceAccountKey`](cloudkit_signer::gcp::ServiceAccountKey)).
    pub fn blob_signer(mut self, signer: SharedBlobSigner) -> Self {
        self.signer = Ok(signer);
        self
    }

    /// The project buckets are created in and listed from (default: the config's).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<StorageClient, GcsError> {
        let chunk = self.upload.chunk_size;
        if chunk == 0 || !chunk.is_multiple_of(CHUNK_QUANTUM) {
            return Err(GcsError::invalid_input(
                "build",
                format!("chunk size {chunk} is not a positive multiple of 256 KiB (262144)"),
            ));
        }
        self.bearer.check_url(&self.endpoint).map_err(|e| GcsError::invalid_input("build", e.to_string()))?;
        Ok(StorageClient {
            inner: Arc::new(Inner {
                pipeline: self.pipeline.build()?,
                endpoint: self.endpoint,
                project: self.project,
                emulator: self.emulator,
                signer: self.signer,
                upload: self.upload,
                verify_checksums: self.verify_checksums,
            }),
        })
    }
}

impl StorageClient {
    /// A client from a loaded [`GcpConfig`] (ADC credentials or the emulator, project,
    /// endpoint, shared HTTP client, retry settings): `StorageClient::builder(config).build()`.
    pub fn new(config: &GcpConfig) -> Result<Self, GcsError> {
        Self::builder(config).build()
    }

    /// A [`ClientBuilder`] preset from `config`, for overrides.
    pub fn builder(config: &GcpConfig) -> ClientBuilder {
        ClientBuilder {
            pipeline: config
                .pipeline_builder(crate::SERVICE)
                .error_parser(Arc::new(GcsErrorParser))
                .classifier(Arc::new(GCS_RETRY_CLASSIFIER)),
            endpoint: config.storage_endpoint().clone(),
            project: config.project_id().map(str::to_owned),
            emulator: config.is_emulator(),
            signer: config.blob_signer().map_err(|e| e.to_string()),
            upload: UploadSettings::default(),
            verify_checksums: true,
            bearer: config.bearer_signer(),
        }
    }

    /// The project (for bucket insert/list).
    pub fn project(&self) -> Option<&str> {
        self.inner.project.as_deref()
    }

    /// The storage endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// Whether the endpoint is an emulator.
    pub fn is_emulator(&self) -> bool {
        self.inner.emulator
    }

    /// Whether the client can sign URLs (a service-account key or a remote signer is set).
    pub fn has_blob_signer(&self) -> bool {
        self.inner.signer.is_ok()
    }

    /// The upload settings.
    pub fn upload_settings(&self) -> &UploadSettings {
        &self.inner.upload
    }

    /// A handle on a bucket, Python-style: `client.bucket("b").blob("hello.txt")`.
    pub fn bucket(&self, name: impl Into<String>) -> BucketHandle {
        BucketHandle::new(self.clone(), name.into())
    }

    /// A V4 signed URL for `method` on `bucket`/`object` valid for `expires_in` (≤ 7 days),
    /// signed locally with a service-account key or remotely (IAM signBlob).
    pub async fn signed_url(
        &self,
        method: Method,
        bucket: &str,
        object: Option<&str>,
        expires_in: Duration,
        options: SignedUrlOptions,
    ) -> Result<SignedUrl, GcsError> {
        let signer = self.blob_signer()?;
        let mut request = SignedUrlRequest::new(method, bucket, object, expires_in).url_style(options.url_style);
        let ep = &self.inner.endpoint;
        let authority = match (ep.host_str(), ep.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_owned(),
            _ => cloudkit_signer::gcp::DEFAULT_HOST.to_owned(),
        };
        request = request.endpoint(format!("{}://{authority}", ep.scheme()));
        for (k, v) in options.headers {
            request = request.header(k, v);
        }
        for (k, v) in options.query {
            request = request.query(k, v);
        }
        Ok(sign_url(&request, signer.as_ref()).await?)
    }

    /// A V4 POST policy (HTML-form upload), signed like [`signed_url`](Self::signed_url).
    pub async fn post_policy(
        &self,
        request: &cloudkit_signer::gcp::PostPolicyRequest,
    ) -> Result<cloudkit_signer::gcp::PostPolicy, GcsError> {
        let signer = self.blob_signer()?;
        Ok(cloudkit_signer::gcp::sign_post_policy(request, signer.as_ref()).await?)
    }

    /// The blob signer, or why there is none.
    fn blob_signer(&self) -> Result<&SharedBlobSigner, GcsError> {
        self.inner.signer.as_ref().map_err(|why| {
            GcsError::Signing(cloudkit_signer::gcp::SigningError::Sign(format!("no blob signer: {why}")))
        })
    }

    /// The project for `buckets.insert`/`buckets.list`: `explicit`, the client's, or a fixed one
    /// on an emulator (which ignores it).
    pub(crate) fn project_for(&self, op: &'static str, explicit: Option<String>) -> Result<String, GcsError> {
        explicit
            .or_else(|| self.inner.project.clone())
            .or_else(|| self.inner.emulator.then(|| EMULATOR_PROJECT.to_owned()))
            .ok_or_else(|| GcsError::invalid_input(op, "no project: set GOOGLE_CLOUD_PROJECT or pass .project(..)"))
    }

    // ----- request plumbing -----

    /// `<endpoint>/storage/v1/<segments…>` with each segment percent-encoded (`/` → `%2F`), so
    /// a bucket or object name is always exactly one path segment. Names that a URL cannot hold
    /// as a segment (empty, `.` or `..`: URL parsers drop or resolve them, and the request would
    /// reach another resource, e.g. another bucket) are refused as invalid input of `op`.
    pub(crate) fn json_url(&self, op: &'static str, segments: &[&str]) -> Result<Url, GcsError> {
        self.url_with_prefix(op, &["storage", "v1"], segments)
    }

    /// `<endpoint>/upload/storage/v1/<segments…>`, checked like [`json_url`](Self::json_url).
    pub(crate) fn upload_url(&self, op: &'static str, segments: &[&str]) -> Result<Url, GcsError> {
        self.url_with_prefix(op, &["upload", "storage", "v1"], segments)
    }

    fn url_with_prefix(&self, op: &'static str, prefix: &[&str], segments: &[&str]) -> Result<Url, GcsError> {
        for segment in segments {
            check_segment(op, segment)?;
        }
        let mut url = self.inner.endpoint.clone();
        url.set_query(None);
        url.set_fragment(None);
        let mut path =
            url.path_segments_mut().map_err(|()| GcsError::invalid_input(op, "the endpoint URL cannot have a path"))?;
        path.pop_if_empty();
        path.extend(prefix.iter().chain(segments.iter()));
        drop(path);
        Ok(url)
    }

    pub(crate) async fn send(
        &self,
        op: &'static str,
        idempotent: bool,
        request: HttpRequest,
    ) -> Result<BufferedResponse, GcsError> {
        let operation = Operation::new(op).idempotent(idempotent);
        Ok(self.inner.pipeline.send_buffered(&operation, request).await?)
    }

    pub(crate) async fn send_json<T: DeserializeOwned>(
        &self,
        op: &'static str,
        idempotent: bool,
        request: HttpRequest,
    ) -> Result<T, GcsError> {
        let response = self.send(op, idempotent, request).await?;
        decode_json(op, &response.body)
    }

    /// The request pipeline (signing, retries, timeouts) every call of this client goes through.
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }
}

/// Refuses a bucket or object name that cannot be one URL path segment: empty, `.` or `..`
/// (the `url` crate drops such segments, and servers resolve them, so `objects.get` of `..`
/// would read the bucket's listing and a bucket named `..` would address another bucket). Any
/// other name, `a/../b` and `%2e%2e` included, is percent-encoded into a single segment.
pub(crate) fn check_segment(op: &'static str, segment: &str) -> Result<(), GcsError> {
    match segment {
        "" => Err(GcsError::invalid_input(op, "a bucket or object name is empty")),
        "." | ".." => Err(GcsError::invalid_input(
            op,
            format!("the name {segment:?} is not a valid bucket or object name (it would leave its bucket in the URL)"),
        )),
        _ => Ok(()),
    }
}

/// Decodes a JSON body.
pub(crate) fn decode_json<T: DeserializeOwned>(op: &'static str, body: &[u8]) -> Result<T, GcsError> {
    serde_json::from_slice(body).map_err(|e| GcsError::decode(op, format!("unexpected JSON from GCS: {e}")))
}

/// A JSON request body.
pub(crate) fn json_request(
    method: Method,
    url: Url,
    body: &impl serde::Serialize,
    op: &'static str,
) -> Result<HttpRequest, GcsError> {
    let bytes = serde_json::to_vec(body).map_err(|e| GcsError::invalid_input(op, e.to_string()))?;
    let mut request = HttpRequest::new(method, url).with_body(Bytes::from(bytes));
    request
        .insert_header("content-type", "application/json; charset=UTF-8")
        .map_err(|e| GcsError::invalid_input(op, e.to_string()))?;
    Ok(request)
}
