//! The SigV4 signing step of the request pipeline.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use cloudkit_core::{HeaderMap, HttpRequest, Method, ServiceErrorDetails, Sign, SignError, StatusCode, Url};

use super::credentials::{CredentialsSource, SharedCredentialsProvider};
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
/// When the service refuses a signed request (HTTP 401 or 403, or an authentication code from
/// [`AUTH_FAILURE_CODES`]: `InvalidAccessKeyId`, `SignatureDoesNotMatch`, `ExpiredToken`,
/// `AccessDenied`, …), the pipeline's error carries the note `signed with credentials from
/// {source}`, where `{source}` is [`Credentials::source`](super::Credentials::source) of the
/// credentials this signer signed with last (`the environment (AWS_ACCESS_KEY_ID)`, ``profile
/// `staging` (shared config/credentials files)``, …). Keys and tokens never appear.
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
    /// Where the credentials of the last signature came from (shared by clones).
    signed_with: Arc<Mutex<Option<CredentialsSource>>>,
}

/// AWS error codes that mean the service refused the request's credentials or signature,
/// whatever the status (`ExpiredToken` and `RequestExpired` come with a 400).
pub const AUTH_FAILURE_CODES: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthFailure",
    "ExpiredToken",
    "ExpiredTokenException",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "InvalidClientTokenId",
    "InvalidSecurity",
    "InvalidToken",
    "MissingAuthenticationToken",
    "RequestExpired",
    "SignatureDoesNotMatch",
    "TokenRefreshRequired",
    "UnauthorizedOperation",
    "UnrecognizedClientException",
];

/// Whether an AWS error answer means the request's credentials or signature were refused: HTTP
/// 401 or 403, or one of [`AUTH_FAILURE_CODES`].
///
/// ```
/// use cloudkit_core::StatusCode;
/// use cloudkit_signer::aws::is_auth_failure;
/// assert!(is_auth_failure(StatusCode::FORBIDDEN, Some("AccessDenied")));
/// assert!(is_auth_failure(StatusCode::BAD_REQUEST, Some("ExpiredToken")));
/// assert!(!is_auth_failure(StatusCode::NOT_FOUND, Some("NoSuchKey")));
/// ```
pub fn is_auth_failure(status: StatusCode, code: Option<&str>) -> bool {
    status == StatusCode::UNAUTHORIZED
        || status == StatusCode::FORBIDDEN
        || code.is_some_and(|c| AUTH_FAILURE_CODES.contains(&c))
}

impl SigV4Signer {
    /// A signer for `service` in `region` (see [`SigningSettings::new`] for the defaults).
    pub fn new(provider: SharedCredentialsProvider, region: impl Into<String>, service: impl Into<String>) -> Self {
        Self::with_settings(provider, SigningSettings::new(region, service))
    }

    /// A signer with explicit settings. A fixed [`SigningSettings::time`] is used for every
    /// request (tests only: a real service refuses stale signatures).
    pub fn with_settings(provider: SharedCredentialsProvider, settings: SigningSettings) -> Self {
        Self { provider, settings, skew: ClockSkew::new(), signed_with: Arc::default() }
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

    /// Where the credentials of the last request this signer (or a clone) signed came from
    /// ([`Credentials::source`](super::Credentials::source)); `None` before the first.
    pub fn last_credentials_source(&self) -> Option<String> {
        self.signed_with.lock().unwrap_or_else(|p| p.into_inner()).as_ref().map(|s| s.as_str().to_owned())
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
        sign_request(request, &credentials, &self.settings_now()).map_err(|e| SignError::Signing(Box::new(e)))?;
        let source = credentials.source_handle();
        let mut last = self.signed_with.lock().unwrap_or_else(|p| p.into_inner());
        if last.as_ref() != Some(&source) {
            *last = Some(source);
        }
        Ok(())
    }

    fn refusal_note(&self, status: StatusCode, details: &ServiceErrorDetails) -> Option<String> {
        if !is_auth_failure(status, details.code.as_deref()) {
            return None;
        }
        let last = self.signed_with.lock().unwrap_or_else(|p| p.into_inner());
        Some(format!("signed with credentials from {}", last.as_ref()?))
    }
}
