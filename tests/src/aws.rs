//! AWS setup shared by the tests against moto, the signature-checking moto (`moto-auth`) and s3s-fs.
//!
//! Everything here runs over real HTTP but reads nothing from the real process environment or HOME:
//! configurations are built from a fake [`Env`] holding exactly the values a test means.
//!
//! ```no_run
//! # async fn demo() {
//! use cloudkit_tests::aws;
//!
//! let config = aws::moto_config().await; // an `AwsConfig` for moto with static keys
//! let s3 = aws::moto_s3_client().await; // a cloudkit-aws-s3 `S3Client` built from such a config
//! let bucket = aws::create_bucket(&s3, "ck-demo").await; // a bucket with a unique name
//! aws::delete_bucket_with_objects(&s3, &bucket).await;
//! # let _ = config;
//! # }
//! ```

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use cloudkit_aws_s3::{ChecksumMode, ListObjectsV2, PaginationConfig, S3Client};
use cloudkit_core::{
    ByteStream, HeaderMap, HttpClientConfig, HttpRequest, HttpResponse, HttpSend, Method, ParseError, Pipeline,
    ReqwestSend, RetryConfig, ServiceErrorDetails, StatusCode, TransportError, TransportErrorKind,
};
use cloudkit_cred_chain::aws::{AwsConfig, Env, ProviderConfig};
use cloudkit_signer::aws::{Credentials, SigV4Signer};
use futures::StreamExt;
use futures::TryStreamExt;

use crate::testbed::{self, Emulator};

/// The region every test uses (moto's default).
pub const REGION: &str = "us-east-1";

/// The access key id used against the no-auth moto, which accepts any key.
pub const MOTO_ACCESS_KEY_ID: &str = "testing";

/// The secret used against the no-auth moto, which accepts any key.
pub const MOTO_SECRET_ACCESS_KEY: &str = "testing";

/// The HOME of the fake environments: a directory that does not exist, so no profile file is read.
pub const FAKE_HOME: &str = "/home/cloudkit-it";

/// The real HTTP transport (reqwest), with default settings.
///
/// # Panics
/// When the transport cannot be built.
pub fn http() -> Arc<dyn HttpSend> {
    ReqwestSend::shared(&HttpClientConfig::default()).unwrap_or_else(|e| panic!("could not build the HTTP client: {e}"))
}

/// A [`ProviderConfig`] over real HTTP whose environment is exactly `pairs` (nothing is read from the
/// process environment). The filesystem is the default one; tests that need fake profile files or a
/// real token file set it with `.fs(…)`.
pub fn provider_config<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> ProviderConfig {
    ProviderConfig::with_http(http()).env(Env::from_pairs(pairs))
}

/// The environment of a process that has nothing but static keys: `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, instance metadata disabled and a [`FAKE_HOME`].
pub fn static_keys_env(access_key_id: &str, secret_access_key: &str) -> Vec<(String, String)> {
    vec![
        ("AWS_ACCESS_KEY_ID".to_owned(), access_key_id.to_owned()),
        ("AWS_SECRET_ACCESS_KEY".to_owned(), secret_access_key.to_owned()),
        ("AWS_EC2_METADATA_DISABLED".to_owned(), "true".to_owned()),
        ("HOME".to_owned(), FAKE_HOME.to_owned()),
    ]
}

/// An [`AwsConfig`] loaded from a fake environment: `AWS_ENDPOINT_URL=endpoint`, the given static
/// keys, `AWS_REGION=`[`REGION`], instance metadata disabled and a [`FAKE_HOME`].
///
/// # Panics
/// When the configuration does not load.
pub async fn aws_config(endpoint: &str, access_key_id: &str, secret_access_key: &str) -> AwsConfig {
    let mut env = static_keys_env(access_key_id, secret_access_key);
    env.push(("AWS_ENDPOINT_URL".to_owned(), endpoint.to_owned()));
    env.push(("AWS_REGION".to_owned(), REGION.to_owned()));
    AwsConfig::loader()
        .provider_config(provider_config(env))
        .load()
        .await
        .unwrap_or_else(|e| panic!("could not load the AwsConfig for {endpoint}: {e}"))
}

/// An [`AwsConfig`] for the no-auth moto (see [`aws_config`]).
///
/// # Panics
/// When moto is not configured (run `scripts/testbed.sh up`) or the configuration does not load.
pub async fn moto_config() -> AwsConfig {
    aws_config(&testbed::endpoint(Emulator::Moto), MOTO_ACCESS_KEY_ID, MOTO_SECRET_ACCESS_KEY).await
}

/// An [`AwsConfig`] for the signature-checking moto with its IAM key (see [`aws_config`]).
///
/// # Panics
/// When moto-auth is not configured (run `scripts/testbed.sh up`) or the configuration does not load.
pub async fn moto_auth_config() -> AwsConfig {
    let (key_id, secret) = moto_auth_keys();
    aws_config(&testbed::endpoint(Emulator::MotoAuth), &key_id, &secret).await
}

/// An [`AwsConfig`] for s3s-fs with its key (see [`aws_config`]).
///
/// # Panics
/// When s3s-fs is not configured (run `scripts/testbed.sh up`) or the configuration does not load.
pub async fn s3s_config() -> AwsConfig {
    let (key_id, secret) = s3s_keys();
    aws_config(&testbed::endpoint(Emulator::S3s), &key_id, &secret).await
}

/// The access key id and secret of moto-auth's IAM user (`CLOUDKIT_TEST_MOTO_AUTH_*`).
pub fn moto_auth_keys() -> (String, String) {
    (moto_auth_access_key_id(), testbed::var("CLOUDKIT_TEST_MOTO_AUTH_SECRET_ACCESS_KEY"))
}

/// The access key id of moto-auth's IAM user, for pairing with a wrong secret.
pub fn moto_auth_access_key_id() -> String {
    testbed::var("CLOUDKIT_TEST_MOTO_AUTH_ACCESS_KEY_ID")
}

/// moto-auth's valid credentials.
pub fn moto_auth_credentials() -> Credentials {
    let (key_id, secret) = moto_auth_keys();
    Credentials::from_keys(key_id, secret)
}

/// The access key id and secret s3s-fs accepts (`CLOUDKIT_TEST_S3S_*`).
pub fn s3s_keys() -> (String, String) {
    (s3s_access_key_id(), testbed::var("CLOUDKIT_TEST_S3S_SECRET_ACCESS_KEY"))
}

/// The access key id s3s-fs accepts, for pairing with a wrong secret.
pub fn s3s_access_key_id() -> String {
    testbed::var("CLOUDKIT_TEST_S3S_ACCESS_KEY_ID")
}

/// s3s-fs's valid credentials.
pub fn s3s_credentials() -> Credentials {
    let (key_id, secret) = s3s_keys();
    Credentials::from_keys(key_id, secret)
}

/// A cloudkit-aws-s3 [`S3Client`] built from `config` the way programs build one
/// (`S3Client::builder(&config)`: its endpoint, so path-style URLs as the emulators need, its
/// credentials and region), with `checksum_mode` when given (else the default).
///
/// # Panics
/// When the client cannot be built.
pub fn s3_client(config: &AwsConfig, checksum_mode: Option<ChecksumMode>) -> S3Client {
    let mut builder = S3Client::builder(config);
    if let Some(mode) = checksum_mode {
        builder = builder.checksum_mode(mode);
    }
    builder.build().unwrap_or_else(|e| panic!("could not build the S3 client: {e}"))
}

/// An [`S3Client`] for the no-auth moto (default checksum mode).
pub async fn moto_s3_client() -> S3Client {
    moto_s3_client_with(None).await
}

/// An [`S3Client`] for the no-auth moto with the given checksum mode.
pub async fn moto_s3_client_with(checksum_mode: Option<ChecksumMode>) -> S3Client {
    s3_client(&moto_config().await, checksum_mode)
}

/// An [`S3Client`] for the signature-checking moto, signing with `credentials`.
pub async fn moto_auth_s3_client(credentials: Credentials) -> S3Client {
    let config = moto_auth_config().await.with_credentials_provider(Arc::new(credentials));
    s3_client(&config, None)
}

/// An [`S3Client`] for s3s-fs, signing with `credentials`, with the given checksum mode.
pub async fn s3s_s3_client(credentials: Credentials, checksum_mode: Option<ChecksumMode>) -> S3Client {
    let config = s3s_config().await.with_credentials_provider(Arc::new(credentials));
    s3_client(&config, checksum_mode)
}

/// Creates a bucket named [`unique_name`](crate::unique_name)`(label)` and returns its name.
///
/// # Panics
/// When CreateBucket fails, with a hint to start the emulators.
pub async fn create_bucket(s3: &S3Client, label: &str) -> String {
    let bucket = crate::unique_name(label);
    s3.create_bucket(&bucket).send().await.unwrap_or_else(|e| {
        panic!("CreateBucket {bucket} on {} failed ({e}); is it up? run `scripts/testbed.sh up`", s3.endpoint())
    });
    bucket
}

/// The keys of every object `listing` lists (all pages).
///
/// # Panics
/// When a page cannot be listed.
pub async fn object_keys(listing: ListObjectsV2) -> Vec<String> {
    listing.into_objects(PaginationConfig::default()).map_ok(|o| o.key).try_collect().await.unwrap()
}

/// Deletes every object of `bucket` one DeleteObject at a time, then the bucket.
///
/// # Panics
/// When any of those calls fails.
pub async fn delete_bucket_with_objects(s3: &S3Client, bucket: &str) {
    for k in object_keys(s3.list_objects_v2(bucket)).await {
        s3.delete_object(bucket, &k).send().await.unwrap();
    }
    s3.delete_bucket(bucket).await.unwrap();
}

/// Reads `<Code>` and `<Message>` from an AWS XML error body (query protocol and S3 alike), for raw
/// [`Pipeline`]s that do not use the SDK's own error parser.
#[derive(Debug)]
pub struct XmlErrors;

/// The text of the first `<name>…</name>` element of `body`.
pub fn xml_tag(body: &str, name: &str) -> Option<String> {
    let start = body.find(&format!("<{name}>"))? + name.len() + 2;
    let end = body[start..].find(&format!("</{name}>"))? + start;
    Some(body[start..end].to_owned())
}

impl ParseError for XmlErrors {
    fn parse(&self, _status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let body = String::from_utf8_lossy(body);
        ServiceErrorDetails {
            code: xml_tag(&body, "Code"),
            message: xml_tag(&body, "Message"),
            request_id: cloudkit_core::request_id_from_headers(headers),
        }
    }
}

/// A raw `cloudkit_core` [`Pipeline`] named `name` that signs with SigV4 (`credentials`, [`REGION`],
/// `service`), parses errors with [`XmlErrors`] and makes exactly one attempt, so that a refused
/// signature shows up as the error itself.
///
/// # Panics
/// When the pipeline cannot be built.
pub fn sigv4_pipeline(name: &'static str, credentials: Credentials, service: &str) -> Pipeline {
    Pipeline::builder(name)
        .signer(Arc::new(SigV4Signer::new(Arc::new(credentials), REGION, service)))
        .error_parser(Arc::new(XmlErrors))
        .retry(RetryConfig::standard().with_max_attempts(1))
        .build()
        .unwrap()
}

/// The real HTTP transport with GET response bodies that break off or arrive corrupt on purpose:
/// the `n`-th GET (in the order they are sent) delivers only the first bytes of its body and then
/// fails as a reset connection does, so downloads can be seen resuming against a real server; or
/// ([`BreakingHttp::with_flips`]) one byte of its body is flipped, as a faulty network or
/// proxy would, so downloads can be seen catching corruption. Every GET (method, `Range`,
/// `If-Match`) is recorded.
///
/// ```no_run
/// # async fn demo() {
/// use cloudkit_tests::aws::{self, BreakingHttp};
///
/// let http = BreakingHttp::new([(0, 1 << 20)]); // the first GET breaks off after 1 MiB
/// let s3 = aws::s3_client_over(&aws::moto_config().await, http.clone(), None);
/// # let _ = s3;
/// # }
/// ```
#[derive(Debug)]
pub struct BreakingHttp {
    inner: Arc<dyn HttpSend>,
    /// (index of the GET, bytes delivered before the break), in GET order.
    breaks: Mutex<VecDeque<(usize, u64)>>,
    /// (index of the GET, offset in its body of the byte flipped).
    flips: Mutex<Vec<(usize, u64)>>,
    gets: Mutex<Vec<RecordedGet>>,
}

/// A GET [`BreakingHttp`] sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordedGet {
    /// The `Range` header.
    pub range: Option<String>,
    /// The `If-Match` header.
    pub if_match: Option<String>,
    /// The query (`partNumber=…`, `versionId=…`).
    pub query: Option<String>,
}

impl BreakingHttp {
    /// Breaks the body of each listed GET (its 0-based index among the GETs sent) after the
    /// given number of bytes.
    pub fn new(breaks: impl IntoIterator<Item = (usize, u64)>) -> Arc<Self> {
        Self::with_flips(breaks, [])
    }

    /// Also flips one byte (XOR `0x01`) of the body of each listed GET (its 0-based index among
    /// the GETs sent, the byte's offset in that body).
    pub fn with_flips(
        breaks: impl IntoIterator<Item = (usize, u64)>,
        flips: impl IntoIterator<Item = (usize, u64)>,
    ) -> Arc<Self> {
        let mut breaks: Vec<(usize, u64)> = breaks.into_iter().collect();
        breaks.sort_unstable();
        Arc::new(Self {
            inner: http(),
            breaks: Mutex::new(breaks.into()),
            flips: Mutex::new(flips.into_iter().collect()),
            gets: Mutex::new(Vec::new()),
        })
    }

    /// The GETs sent so far.
    pub fn gets(&self) -> Vec<RecordedGet> {
        self.gets.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// `body` with the byte at `offset` flipped (XOR `0x01`).
fn flipped_at(body: ByteStream, offset: u64) -> ByteStream {
    let stream = futures::stream::unfold((body, 0u64), move |(mut body, at)| async move {
        match body.next().await? {
            Ok(chunk) => {
                let len = chunk.len() as u64;
                let chunk = if (at..at + len).contains(&offset) {
                    let mut bytes = chunk.to_vec();
                    bytes[(offset - at) as usize] ^= 0x01;
                    cloudkit_core::Bytes::from(bytes)
                } else {
                    chunk
                };
                Some((Ok(chunk), (body, at + len)))
            }
            Err(e) => Some((Err(e), (body, at))),
        }
    });
    ByteStream::new(stream)
}

/// `body` passed through up to `limit` bytes, then a reset.
fn broken_after(body: ByteStream, limit: u64) -> ByteStream {
    let stream = futures::stream::unfold((body, 0u64, false), move |(mut body, sent, done)| async move {
        if done {
            return None;
        }
        match body.next().await {
            Some(Ok(chunk)) => {
                let room = limit.saturating_sub(sent);
                if (chunk.len() as u64) < room {
                    let n = chunk.len() as u64;
                    Some((Ok(chunk), (body, sent + n, false)))
                } else if room > 0 {
                    Some((Ok(chunk.slice(..room as usize)), (body, limit, false)))
                } else {
                    let reset = TransportError::new(TransportErrorKind::Body, "injected: connection reset mid-body");
                    Some((Err(reset), (body, sent, true)))
                }
            }
            Some(Err(e)) => Some((Err(e), (body, sent, true))),
            None => None,
        }
    });
    ByteStream::new(stream)
}

impl HttpSend for BreakingHttp {
    fn send<'life0, 'async_trait>(
        &'life0 self,
        request: HttpRequest,
    ) -> Pin<Box<dyn Future<Output = Result<HttpResponse, TransportError>> + Send + 'async_trait>>
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(async move {
            let mut flip = None;
            let limit = if request.method == Method::GET {
                let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
                let mut gets = self.gets.lock().unwrap_or_else(|p| p.into_inner());
                let index = gets.len();
                gets.push(RecordedGet {
                    range: header("range"),
                    if_match: header("if-match"),
                    query: request.url.query().map(str::to_owned),
                });
                drop(gets);
                flip = self
                    .flips
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .iter()
                    .find(|(at, _)| *at == index)
                    .map(|(_, offset)| *offset);
                let mut breaks = self.breaks.lock().unwrap_or_else(|p| p.into_inner());
                match breaks.front() {
                    Some(&(at, limit)) if at == index => {
                        breaks.pop_front();
                        Some(limit)
                    }
                    _ => None,
                }
            } else {
                None
            };
            let mut response = self.inner.send(request).await?;
            if let Some(offset) = flip
                && response.status.is_success()
            {
                response.body = flipped_at(response.body, offset);
            }
            if let Some(limit) = limit
                && response.status.is_success()
            {
                response.body = broken_after(response.body, limit);
            }
            Ok(response)
        })
    }
}

/// [`s3_client`] sending through `http` (e.g. a [`BreakingHttp`]).
///
/// # Panics
/// When the client cannot be built.
pub fn s3_client_over(config: &AwsConfig, http: Arc<dyn HttpSend>, checksum_mode: Option<ChecksumMode>) -> S3Client {
    let mut builder = S3Client::builder(config).http(http);
    if let Some(mode) = checksum_mode {
        builder = builder.checksum_mode(mode);
    }
    builder.build().unwrap_or_else(|e| panic!("could not build the S3 client: {e}"))
}
