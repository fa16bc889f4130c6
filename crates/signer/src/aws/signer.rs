//! The SigV4 signing step of the request pipeline.

use std::time::Duration;

use async_trait::async_trait;
use cloudkit_core::{HeaderMap, HttpRequest, Method, Sign, SignError, Url};

use super::credentials::SharedCredentialsProvider;
use super::settings::{PathEncoding, PayloadMode, SigningSettings};
use super::sign::{PresignedRequest, SigningError, presign, sign_request};
use super::skew::ClockSkew;

/// Signs every request of a [`Pipeline`](cloudkit_core::Pipeline) with SigV4.
///
/// On every attempt it asks the provider for credentials (the provider caches; the signer
/// does not, so a refreshed key is used at once) and signs with the current time, corrected by
/// its [`ClockSkew`] (see [`with_clock_skew`](Self::with_clock_skew): a pipeline whose error
/// parser and classifier watch the same handle corrects the clock from a clock-skew answer and
/// retries).
///
/// ```no_run
/// # async fn demo() -> Result<(), cloudkit_core::Error> {
/// use std::sync::Arc;
/// use cloudkit_core::{HttpRequest, Method, Operation, Pipeline};
/// use cloudkit_signer::aws::{Credentials, SigV4Signer};
///
/// let provider = Arc::new(Credentials::from_keys("AKIDEXAMPLE", "secret"));
/// let signer = SigV4Signer::new(provider, "us-east-1", "s3"); // S3 rules come with the name `s3`
/// let pipeline = Pipeline::builder("S3").signer(Arc::new(signer)).build()?;
/// let request = HttpRequest::new(Method::GET, "http://127.0.0.1:9000/".parse().unwrap());
/// let response = pipeline.send_buffered(&Operation::new("ListBuckets"), request).await?;
/// # let _ = response; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct SigV4Signer {
    provider: SharedCredentialsProvider,
    settings: SigningSettings,
    skew: ClockSkew,
}

impl SigV4Signer {
    /// A signer for `service` in `region` (see [`SigningSettings::new`] for the defaults).
    pub fn new(provider: SharedCredentialsProvider, region: impl Into<String>, service: impl Into<String>) -> Self {
        Self::with_settings(provider, SigningSettings::new(region, service))
    }

    /// A signer with explicit settings. A fixed [`SigningSettings::time`] is used for every
    /// request (tests only: a real service refuses stale signatures).
    pub fn with_settings(provider: SharedCredentialsProvider, settings: SigningSettings) -> Self {
        Self { provider, settings, skew: ClockSkew::new() }
    }

    /// Signs with the clock of `skew` (shared: a correction made through any clone of the handle
    /// applies to the next signature). Default: a handle of its own, at offset zero.
    pub fn with_clock_skew(mut self, skew: ClockSkew) -> Self {
        self.skew = skew;
        self
    }

    /// The clock-skew handle this signer signs with.
    pub fn clock_skew(&self) -> &ClockSkew {
        &self.skew
    }

    /// Sets the payload mode.
    pub fn with_payload(mut self, payload: PayloadMode) -> Self {
        self.settings.payload = payload;
        self
    }

    /// Whether to send the payload hash as `x-amz-content-sha256`.
    pub fn with_content_sha256_header(mut self, set: bool) -> Self {
        self.settings.set_content_sha256_header = set;
        self
    }

    /// Sets the path encoding rules.
    pub fn with_path_encoding(mut self, path_encoding: PathEncoding) -> Self {
        self.settings.path_encoding = path_encoding;
        self
    }

    /// The settings requests are signed with.
    pub fn settings(&self) -> &SigningSettings {
        &self.settings
    }

    /// The credentials provider.
    pub fn provider(&self) -> &SharedCredentialsProvider {
        &self.provider
    }

    /// Presigns a request with freshly provided credentials (see [`presign`](super::presign)),
    /// at the skew-corrected time.
    pub async fn presign(
        &self,
        method: Method,
        url: &Url,
        headers: &HeaderMap,
        expires_in: Duration,
    ) -> Result<PresignedRequest, SignError> {
        let credentials = self.provider.provide_credentials().await.map_err(|e| SignError::Credentials(Box::new(e)))?;
        presign(method, url, headers, &credentials, &self.settings_now(), expires_in)
            .map_err(|e: SigningError| SignError::Signing(Box::new(e)))
    }
}

impl SigV4Signer {
    /// The settings to sign with now: a fixed [`SigningSettings::time`] stays, else the clock
    /// corrected for skew.
    fn settings_now(&self) -> std::borrow::Cow<'_, SigningSettings> {
        match self.settings.time {
            Some(_) => std::borrow::Cow::Borrowed(&self.settings),
            None => std::borrow::Cow::Owned(self.settings.clone().with_time(self.skew.now())),
        }
    }
}

#[async_trait]
impl Sign for SigV4Signer {
    async fn sign(&self, request: &mut HttpRequest) -> Result<(), SignError> {
        let credentials = self.provider.provide_credentials().await.map_err(|e| SignError::Credentials(Box::new(e)))?;
        sign_request(request, &credentials, &self.settings_now()).map_err(|e| SignError::Signing(Box::new(e)))
    }
}
