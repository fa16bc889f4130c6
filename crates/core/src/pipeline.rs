//! The request pipeline every provider shares: sign → send → classify → retry with backoff →
//! return the response or a typed [`Error`].

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use tokio::time::Instant;
use tracing::Instrument;

use crate::BoxFuture;
use crate::body::ByteStream;
use crate::classify::{ClassifyRetry, CodeClassifier, RetryClass, classify_transport};
use crate::error::{Error, ErrorKind, ServiceErrorDetails, TransportError, TransportErrorKind};
use crate::request::{HttpRequest, HttpResponse};
use crate::retry::{RetryConfig, RetryQuota, retry_after};
use crate::send::{HttpClientConfig, HttpSend, ReqwestSend};
use crate::sign::{NoSign, Sign, SignError};

/// Largest error body read to find the provider's code and message.
const MAX_ERROR_BODY: usize = 1024 * 1024;

/// Largest successful response body [`Pipeline::send_buffered`] reads unless the operation says
/// otherwise ([`Operation::max_response_body`]): 64 MiB, far above any listing or metadata answer;
/// object data streams ([`Pipeline::send_streaming`]) and is not limited here.
pub const DEFAULT_MAX_RESPONSE_BODY: usize = 64 * 1024 * 1024;

/// Extracts the provider's error code, message and request id from an error response.
pub trait ParseError: Send + Sync + fmt::Debug {
    /// Parses an error response (`body` is at most 1 MiB of it).
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails;
}

/// A parser that knows only the common request-id headers and uses the body text as message.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainErrorParser;

impl ParseError for PlainErrorParser {
    fn parse(&self, _status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let text = String::from_utf8_lossy(body).trim().to_owned();
        ServiceErrorDetails {
            code: None,
            message: (!text.is_empty()).then_some(text),
            request_id: request_id_from_headers(headers),
        }
    }
}

/// The request id from the usual headers (`x-amz-request-id`, `x-amzn-requestid`,
/// `x-ms-request-id`, `x-guploader-uploadid`).
pub fn request_id_from_headers(headers: &HeaderMap) -> Option<String> {
    ["x-amz-request-id", "x-amzn-requestid", "x-ms-request-id", "x-guploader-uploadid"]
        .iter()
        .find_map(|h| headers.get(*h).and_then(|v| v.to_str().ok()).map(str::to_owned))
}

/// Time limits of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimeoutConfig {
    /// Limit for one attempt: sending the request and receiving the response headers (and the
    /// whole body for buffered operations). Default 60 s.
    pub attempt: Option<Duration>,
    /// Limit for the whole operation, all attempts and backoff delays included. Default 5 min.
    pub operation: Option<Duration>,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        Self { attempt: Some(Duration::from_secs(60)), operation: Some(Duration::from_secs(300)) }
    }
}

impl TimeoutConfig {
    /// No limits (the connect and read-idle timeouts of the HTTP client still apply).
    pub fn none() -> Self {
        Self { attempt: None, operation: None }
    }
}

/// A check run on the body of a successful response, for services that report some failures
/// with a 200 status (S3 CompleteMultipartUpload, CopyObject).
pub type BodyErrorCheck = fn(&[u8]) -> Option<ServiceErrorDetails>;

/// How the pipeline should treat one operation.
#[derive(Clone, Debug)]
pub struct Operation {
    name: Cow<'static, str>,
    idempotent: bool,
    body_error: Option<BodyErrorCheck>,
    accept: &'static [u16],
    max_attempts: Option<u32>,
    max_body: usize,
}

impl Operation {
    /// An operation named `name` (e.g. `GetObject`). Idempotent by default.
    pub fn new(name: impl Into<Cow<'static, str>>) -> Self {
        Self {
            name: name.into(),
            idempotent: true,
            body_error: None,
            accept: &[],
            max_attempts: None,
            max_body: DEFAULT_MAX_RESPONSE_BODY,
        }
    }

    /// The largest successful response body a buffered send reads (default
    /// [`DEFAULT_MAX_RESPONSE_BODY`]); a longer one is a [`ErrorKind::Decode`] error, never an
    /// unbounded allocation.
    pub fn max_response_body(mut self, bytes: usize) -> Self {
        self.max_body = bytes;
        self
    }

    /// Statuses outside 2xx that mean success for this operation, e.g. GCS's `308 Resume
    /// Incomplete` for a resumable-upload chunk. Their responses are returned like 2xx ones.
    pub fn accept_statuses(mut self, statuses: &'static [u16]) -> Self {
        self.accept = statuses;
        self
    }

    /// At most this many attempts for this operation (at least 1), whatever the pipeline's retry
    /// settings say: for steps whose recovery is part of the protocol (a resumable-upload chunk
    /// asks the session how much arrived instead of resending blindly).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts.max(1));
        self
    }

    fn is_success(&self, status: StatusCode) -> bool {
        status.is_success() || self.accept.contains(&status.as_u16())
    }

    /// Whether sending the request twice is safe (default: true). A non-idempotent operation (a
    /// create that must not run twice, a create-only write) is retried only when the request
    /// certainly did not take effect: a connection that could not be made, or a throttling answer.
    /// A timeout, a reset connection or a 5xx may hide a write that succeeded, and a retry could
    /// turn it into a false "already exists", so those end the operation.
    pub fn idempotent(mut self, idempotent: bool) -> Self {
        self.idempotent = idempotent;
        self
    }

    /// Checks successful bodies for embedded errors (only for buffered sends).
    pub fn body_error_check(mut self, check: BodyErrorCheck) -> Self {
        self.body_error = Some(check);
        self
    }

    /// The operation's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A response whose body was read completely.
#[derive(Clone, Debug)]
pub struct BufferedResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
}

impl BufferedResponse {
    /// A header value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends requests for one service with signing, retries and timeouts.
///
/// Cheap to clone; clones share the connection pool and the retry quota.
///
/// ```no_run
/// # async fn demo() -> Result<(), cloudkit_core::Error> {
/// use cloudkit_core::{HttpRequest, Operation, Pipeline};
/// let pipeline = Pipeline::builder("Example").build()?;
/// let request = HttpRequest::new(http::Method::GET, "http://127.0.0.1:9000/".parse().unwrap());
/// let response = pipeline.send_buffered(&Operation::new("Ping"), request).await?;
/// println!("{} bytes", response.body.len());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Pipeline {
    inner: Arc<Inner>,
}

struct Inner {
    service: Cow<'static, str>,
    http: Arc<dyn HttpSend>,
    signer: Arc<dyn Sign>,
    errors: Arc<dyn ParseError>,
    classifier: Arc<dyn ClassifyRetry>,
    retry: RetryConfig,
    quota: Arc<RetryQuota>,
    timeouts: TimeoutConfig,
}

impl fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pipeline")
            .field("service", &self.inner.service)
            .field("signer", &self.inner.signer)
            .field("classifier", &self.inner.classifier)
            .field("retry", &self.inner.retry)
            .field("timeouts", &self.inner.timeouts)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Pipeline`].
#[derive(Debug)]
pub struct PipelineBuilder {
    service: Cow<'static, str>,
    http: Option<Arc<dyn HttpSend>>,
    signer: Arc<dyn Sign>,
    errors: Arc<dyn ParseError>,
    classifier: Arc<dyn ClassifyRetry>,
    retry: RetryConfig,
    quota: Option<Arc<RetryQuota>>,
    timeouts: TimeoutConfig,
}

impl PipelineBuilder {
    /// The HTTP seam (default: a new [`ReqwestSend`] with default settings; share one per session).
    pub fn http(mut self, http: Arc<dyn HttpSend>) -> Self {
        self.http = Some(http);
        self
    }

    /// The signing step (default: [`NoSign`]).
    pub fn signer(mut self, signer: Arc<dyn Sign>) -> Self {
        self.signer = signer;
        self
    }

    /// The provider's error-body parser (default: [`PlainErrorParser`]).
    pub fn error_parser(mut self, errors: Arc<dyn ParseError>) -> Self {
        self.errors = errors;
        self
    }

    /// The service's retry classifier: which of its error codes mean throttling or a transient
    /// fault (default: [`CodeClassifier::STATUS_ONLY`], the status alone decides).
    pub fn classifier(mut self, classifier: Arc<dyn ClassifyRetry>) -> Self {
        self.classifier = classifier;
        self
    }

    /// Retry settings.
    pub fn retry(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// A retry quota shared with other pipelines (default: a new full one).
    pub fn quota(mut self, quota: Arc<RetryQuota>) -> Self {
        self.quota = Some(quota);
        self
    }

    /// Time limits.
    pub fn timeouts(mut self, timeouts: TimeoutConfig) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// Builds the pipeline.
    pub fn build(self) -> Result<Pipeline, Error> {
        let http = match self.http {
            Some(http) => http,
            None => ReqwestSend::shared(&HttpClientConfig::default())
                .map_err(|e| Error::new(ErrorKind::Transport, self.service.clone(), "build").with_source(e))?,
        };
        Ok(Pipeline {
            inner: Arc::new(Inner {
                service: self.service,
                http,
                signer: self.signer,
                errors: self.errors,
                classifier: self.classifier,
                retry: self.retry,
                quota: self.quota.unwrap_or_default(),
                timeouts: self.timeouts,
            }),
        })
    }
}

/// The overrides every provider crate's `ClientBuilder` offers, with the same names and docs in
/// every crate: `http`, `retry` and `timeouts`, applied to the builder's `pipeline:
/// PipelineBuilder` field (preset from the provider's loaded config). With `endpoint` after its
/// doc comment (which says the default and what `build` checks), also the `endpoint(Url)` setter
/// of the builder's `endpoint` field (a `Url` preset from the config, or an `Option<Url>` that
/// `build` resolves). The builder adds its service's own settings itself.
///
/// ```
/// use cloudkit_core::{Pipeline, PipelineBuilder, RetryConfig, Url};
///
/// pub struct ClientBuilder {
///     pipeline: PipelineBuilder,
///     endpoint: Option<Url>,
/// }
///
/// impl ClientBuilder {
///     cloudkit_core::client_builder_overrides!(
///         /// The endpoint (default: the config's).
///         endpoint
///     );
/// }
///
/// let builder = ClientBuilder { pipeline: Pipeline::builder("Example"), endpoint: None }
///     .retry(RetryConfig::disabled())
///     .endpoint("http://127.0.0.1:9000".parse().unwrap());
/// assert_eq!(builder.endpoint.unwrap().port(), Some(9000));
/// assert_eq!(builder.pipeline.build().unwrap().retry_config().max_attempts(), 1);
/// ```
#[macro_export]
macro_rules! client_builder_overrides {
    () => {
        /// The HTTP client (default: the config's shared one, so every client of a config shares
        /// one connection pool). Tests pass a `ReplayHttp` here.
        pub fn http(mut self, http: ::std::sync::Arc<dyn $crate::HttpSend>) -> Self {
            self.pipeline = self.pipeline.http(http);
            self
        }

        /// Retry settings (default: the config's).
        pub fn retry(mut self, retry: $crate::RetryConfig) -> Self {
            self.pipeline = self.pipeline.retry(retry);
            self
        }

        /// Attempt and operation time limits (default: the config's).
        pub fn timeouts(mut self, timeouts: $crate::TimeoutConfig) -> Self {
            self.pipeline = self.pipeline.timeouts(timeouts);
            self
        }
    };
    ($(#[$doc:meta])+ endpoint) => {
        $crate::client_builder_overrides!();

        $(#[$doc])+
        pub fn endpoint(mut self, endpoint: $crate::Url) -> Self {
            self.endpoint = ::core::convert::From::from(endpoint);
            self
        }
    };
}

/// The HTTP, retry and timeout settings every provider config loader (`AwsConfigLoader`,
/// `AzureConfigLoader`, `GcpConfigLoader`) takes, with the same names as the client builders'
/// overrides: `http`, `retry`, `timeouts`. The loader has fields `http: Option<Arc<dyn HttpSend>>`,
/// `retry: Option<RetryConfig>` and `timeouts: Option<TimeoutConfig>`.
#[macro_export]
macro_rules! config_loader_overrides {
    () => {
        /// The HTTP client, shared by every client built from the config (default: a new reqwest
        /// client with default settings, one connection pool).
        pub fn http(mut self, http: ::std::sync::Arc<dyn $crate::HttpSend>) -> Self {
            self.http = ::core::option::Option::Some(http);
            self
        }

        /// Retry settings for every client of the config (default: standard mode, 3 attempts,
        /// unless the provider's environment says otherwise).
        pub fn retry(mut self, retry: $crate::RetryConfig) -> Self {
            self.retry = ::core::option::Option::Some(retry);
            self
        }

        /// Attempt and operation time limits for every client of the config (default:
        /// [`TimeoutConfig::default`]($crate::TimeoutConfig::default)).
        pub fn timeouts(mut self, timeouts: $crate::TimeoutConfig) -> Self {
            self.timeouts = ::core::option::Option::Some(timeouts);
            self
        }
    };
}

/// The accessors every loaded provider config (`AwsConfig`, `AzureConfig`, `GcpConfig`) has for
/// what its clients share: `http()`, `retry_config()`, `timeout_config()`. The config has fields
/// `http: Arc<dyn HttpSend>`, `retry: RetryConfig` and `timeouts: TimeoutConfig`.
#[macro_export]
macro_rules! config_accessors {
    () => {
        /// The shared HTTP client (one connection pool for every client of this config).
        pub fn http(&self) -> ::std::sync::Arc<dyn $crate::HttpSend> {
            self.http.clone()
        }

        /// Retry settings.
        pub fn retry_config(&self) -> $crate::RetryConfig {
            self.retry.clone()
        }

        /// Attempt and operation time limits.
        pub fn timeout_config(&self) -> $crate::TimeoutConfig {
            self.timeouts.clone()
        }
    };
}

enum Failure {
    Transport(TransportError),
    Timeout(Duration),
    Status { status: StatusCode, headers: HeaderMap, details: ServiceErrorDetails },
    TooLarge { limit: usize },
}

impl Pipeline {
    /// A builder for the service named `service` (used in errors and logs: `S3`, `EC2`, …).
    pub fn builder(service: impl Into<Cow<'static, str>>) -> PipelineBuilder {
        PipelineBuilder {
            service: service.into(),
            http: None,
            signer: Arc::new(NoSign),
            errors: Arc::new(PlainErrorParser),
            classifier: Arc::new(CodeClassifier::STATUS_ONLY),
            retry: RetryConfig::standard(),
            quota: None,
            timeouts: TimeoutConfig::default(),
        }
    }

    /// The service name.
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// The HTTP seam, to share with other clients of the same session.
    pub fn http(&self) -> &Arc<dyn HttpSend> {
        &self.inner.http
    }

    /// The retry settings.
    pub fn retry_config(&self) -> &RetryConfig {
        &self.inner.retry
    }

    /// The retry quota.
    pub fn quota(&self) -> &Arc<RetryQuota> {
        &self.inner.quota
    }

    /// The time limits.
    pub fn timeout_config(&self) -> &TimeoutConfig {
        &self.inner.timeouts
    }

    /// A pipeline identical to this one but for its signing step (e.g. presigned or anonymous calls).
    pub fn with_signer(&self, signer: Arc<dyn Sign>) -> Pipeline {
        let i = &self.inner;
        Pipeline {
            inner: Arc::new(Inner {
                service: i.service.clone(),
                http: i.http.clone(),
                signer,
                errors: i.errors.clone(),
                classifier: i.classifier.clone(),
                retry: i.retry.clone(),
                quota: i.quota.clone(),
                timeouts: i.timeouts.clone(),
            }),
        }
    }

    /// Sends `request` and reads the whole response body (retries cover body read failures).
    /// Error statuses become an [`Error`] of kind [`ErrorKind::Service`].
    pub async fn send_buffered(&self, op: &Operation, request: HttpRequest) -> Result<BufferedResponse, Error> {
        let response = self.execute(op, request, true).await?;
        // The body was read (and capped) inside the attempt; this only takes it out of the stream.
        let body = response.body.collect().await.map_err(|e| self.transport_error(op, e, 1, false))?;
        Ok(BufferedResponse { status: response.status, headers: response.headers, body })
    }

    /// Sends `request` and returns as soon as the response headers arrive; the body streams
    /// (with the client's read-idle timeout). Use for downloads.
    pub async fn send_streaming(&self, op: &Operation, request: HttpRequest) -> Result<HttpResponse, Error> {
        self.execute(op, request, false).await
    }

    /// The request loop behind both `send_*` methods, boxed (see [`BoxFuture`]): it is the largest
    /// future in the SDK and every client awaits it.
    #[inline(never)]
    fn execute<'a>(
        &'a self,
        op: &'a Operation,
        request: HttpRequest,
        buffer: bool,
    ) -> BoxFuture<'a, Result<HttpResponse, Error>> {
        let span = tracing::debug_span!(
            "cloudkit.request",
            service = %self.inner.service,
            operation = %op.name,
            method = %request.method,
            url = %request.redacted_url(),
        );
        Box::pin(self.execute_inner(op, request, buffer).instrument(span))
    }

    async fn execute_inner(&self, op: &Operation, request: HttpRequest, buffer: bool) -> Result<HttpResponse, Error> {
        let inner = &self.inner;
        let started = Instant::now();
        // An operation timeout too large to add to the clock (`Duration::MAX`) means none.
        let deadline = inner.timeouts.operation.and_then(|d| started.checked_add(d));
        let max_attempts = op.max_attempts.unwrap_or_else(|| inner.retry.max_attempts());
        let mut spent_quota = 0u32;
        let mut attempt = 0u32;
        let mut fresh_credentials_tried = false;
        loop {
            attempt += 1;
            let mut req = request.clone();
            // Loading credentials counts against the operation timeout: a slow credential source
            // (a hung `credential_process`, an unreachable metadata service) cannot hold the
            // request past it.
            let signed = match deadline {
                Some(d) => {
                    tokio::time::timeout(d.saturating_duration_since(Instant::now()), inner.signer.sign(&mut req))
                        .await
                        .map_err(|_| self.signing_timeout(op, d - started, attempt))?
                }
                None => inner.signer.sign(&mut req).await,
            };
            signed.map_err(|e| self.sign_error(op, e, attempt))?;

            let attempt_limit = match (inner.timeouts.attempt, deadline) {
                (Some(a), Some(d)) => Some(a.min(d.saturating_duration_since(Instant::now()))),
                (Some(a), None) => Some(a),
                (None, Some(d)) => Some(d.saturating_duration_since(Instant::now())),
                (None, None) => None,
            };
            let outcome = self.attempt_once(op, req, buffer);
            let outcome = match attempt_limit {
                Some(limit) => match tokio::time::timeout(limit, outcome).await {
                    Ok(result) => result,
                    Err(_) => Err(Failure::Timeout(limit)),
                },
                None => outcome.await,
            };

            let failure = match outcome {
                Ok(response) => {
                    if inner.retry.uses_quota() {
                        inner.quota.release(spent_quota);
                    }
                    tracing::debug!(attempt, status = response.status.as_u16(), "request succeeded");
                    return Ok(response);
                }
                Err(f) => f,
            };

            // Credentials the service refused (a token revoked or rotated before its expiry): once
            // per operation, the signer drops them and the request goes again with fresh ones.
            if let Failure::Status { status: StatusCode::UNAUTHORIZED, details, .. } = &failure
                && !fresh_credentials_tried
                && deadline.is_none_or(|d| Instant::now() < d)
                && inner.signer.credentials_refused(StatusCode::UNAUTHORIZED, details)
            {
                fresh_credentials_tried = true;
                tracing::info!(attempt, "the credentials were refused; sending once more with fresh ones");
                continue;
            }

            let (class, server_delay) = match &failure {
                Failure::Transport(e) => (classify_transport(e.kind(), op.idempotent), None),
                Failure::Timeout(_) => (classify_transport(TransportErrorKind::Timeout, op.idempotent), None),
                Failure::Status { status, headers, details } => (
                    inner.classifier.classify(*status, details.code.as_deref()),
                    retry_after(headers, SystemTime::now()),
                ),
                Failure::TooLarge { .. } => (RetryClass::Fatal, None),
            };
            // A 5xx after a non-idempotent request may hide a write that took effect: only a
            // throttling answer (the service did not process it) is safe to send again.
            let may_retry = class.is_retryable()
                && (op.idempotent || !matches!(failure, Failure::Status { .. }) || class == RetryClass::Throttling);

            // The signer may say which credentials signed a request the service refused.
            let refusal = match &failure {
                Failure::Status { status, details, .. } => inner.signer.refusal_note(*status, details),
                _ => None,
            };
            let give_up = |note: Option<&'static str>| {
                let err = self.failure_error(op, failure, class, attempt);
                match (note, refusal) {
                    (Some(note), Some(refusal)) => err.with_note(format!("{note}; {refusal}")),
                    (Some(note), None) => err.with_note(note),
                    (None, Some(refusal)) => err.with_note(refusal),
                    (None, None) => err,
                }
            };

            if !class.is_retryable() {
                tracing::debug!(attempt, ?class, "not retrying: the failure is not retryable");
                return Err(give_up(None));
            }
            if !may_retry {
                tracing::debug!(
                    attempt,
                    ?class,
                    "not retrying: the request is not idempotent and may have taken effect"
                );
                return Err(give_up(Some("not retried: the request is not idempotent")));
            }
            if attempt >= max_attempts {
                tracing::debug!(attempt, ?class, "not retrying: attempts exhausted");
                return Err(give_up(None));
            }
            if inner.retry.uses_quota() {
                match inner.quota.acquire(class) {
                    Some(cost) => spent_quota += cost,
                    None => {
                        tracing::warn!(attempt, "not retrying: the retry quota is exhausted");
                        return Err(give_up(Some("retry quota exhausted: the service keeps failing")));
                    }
                }
            }
            let backoff = inner.retry.backoff(attempt);
            let delay = match server_delay {
                Some(d) => d.min(inner.retry.max_backoff()),
                None => backoff,
            };
            if let Some(deadline) = deadline
                && Instant::now() + delay >= deadline
            {
                tracing::debug!(attempt, "not retrying: the operation timeout would pass first");
                return Err(give_up(Some("operation timeout reached")));
            }
            tracing::info!(
                attempt,
                ?class,
                delay_ms = delay.as_millis() as u64,
                server_requested = server_delay.is_some(),
                "retrying after a retryable failure"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn attempt_once(&self, op: &Operation, req: HttpRequest, buffer: bool) -> Result<HttpResponse, Failure> {
        let response = self.inner.http.send(req).await.map_err(Failure::Transport)?;
        let HttpResponse { status, headers, body } = response;
        if op.is_success(status) {
            if !buffer {
                return Ok(HttpResponse { status, headers, body });
            }
            let bytes = collect_capped(body, op.max_body).await?;
            if let Some(check) = op.body_error
                && let Some(mut details) = check(&bytes)
            {
                if details.request_id.is_none() {
                    details.request_id = request_id_from_headers(&headers);
                }
                return Err(Failure::Status { status, headers, details });
            }
            return Ok(HttpResponse { status, headers, body: ByteStream::from_bytes(bytes) });
        }
        // Error bodies are small; a failure to read one still leaves the status to act on.
        let bytes = body.collect_limited(MAX_ERROR_BODY).await.unwrap_or_default();
        let mut details = self.inner.errors.parse(status, &headers, &bytes);
        if details.request_id.is_none() {
            details.request_id = request_id_from_headers(&headers);
        }
        Err(Failure::Status { status, headers, details })
    }

    fn failure_error(&self, op: &Operation, failure: Failure, class: RetryClass, attempts: u32) -> Error {
        let retryable = class.is_retryable();
        match failure {
            Failure::Transport(e) => self.transport_error(op, e, attempts, retryable),
            Failure::Timeout(limit) => Error::new(ErrorKind::Timeout, self.inner.service.clone(), op.name.clone())
                .with_message(format!("no response within {limit:?}"))
                .with_retryable(retryable)
                .with_attempts(attempts),
            Failure::TooLarge { limit } => Error::decode(
                self.inner.service.clone(),
                op.name.clone(),
                format!("the response body is larger than the {limit} bytes this operation reads"),
            )
            .with_attempts(attempts),
            Failure::Status { status, details, .. } => {
                Error::new(ErrorKind::Service, self.inner.service.clone(), op.name.clone())
                    .with_status(status)
                    .with_details(details)
                    .with_retryable(retryable)
                    .with_throttling(class == RetryClass::Throttling)
                    .with_attempts(attempts)
            }
        }
    }

    fn transport_error(&self, op: &Operation, e: TransportError, attempts: u32, retryable: bool) -> Error {
        let kind = if e.kind() == TransportErrorKind::Timeout { ErrorKind::Timeout } else { ErrorKind::Transport };
        Error::new(kind, self.inner.service.clone(), op.name.clone())
            .with_source(e)
            .with_retryable(retryable)
            .with_attempts(attempts)
    }

    fn signing_timeout(&self, op: &Operation, limit: Duration, attempts: u32) -> Error {
        Error::new(ErrorKind::Timeout, self.inner.service.clone(), op.name.clone())
            .with_message(format!("credentials were not available within the operation timeout ({limit:?})"))
            .with_attempts(attempts.saturating_sub(1))
    }

    fn sign_error(&self, op: &Operation, e: SignError, attempts: u32) -> Error {
        let kind = match e {
            SignError::Credentials(_) => ErrorKind::Credentials,
            _ => ErrorKind::Signing,
        };
        Error::new(kind, self.inner.service.clone(), op.name.clone())
            .with_source(e)
            .with_attempts(attempts.saturating_sub(1))
    }
}

/// Reads a successful body, refusing one longer than `limit` before it is all in memory.
async fn collect_capped(body: ByteStream, limit: usize) -> Result<Bytes, Failure> {
    let bytes = body.collect_limited(limit.saturating_add(1)).await.map_err(Failure::Transport)?;
    if bytes.len() > limit {
        return Err(Failure::TooLarge { limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use async_trait::async_trait;
    use http::Method;

    use super::*;
    use crate::testing::{Canned, ReplayHttp};

    fn request() -> HttpRequest {
        HttpRequest::new(Method::GET, "http://127.0.0.1:1/bucket/key".parse().unwrap())
    }

    fn pipeline(http: Arc<ReplayHttp>, retry: RetryConfig) -> Pipeline {
        Pipeline::builder("Test").http(http).retry(retry).build().unwrap()
    }

    #[tokio::test(start_paused = true)]
    async fn retryable_503_is_retried_then_succeeds() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(503, "busy"));
        http.push(Canned::status(200, "ok"));
        let p = pipeline(http.clone(), RetryConfig::standard());
        let r = p.send_buffered(&Operation::new("Get"), request()).await.unwrap();
        assert_eq!(&r.body[..], b"ok");
        assert_eq!(http.requests().len(), 2);
        assert_eq!(p.quota().available(), 500, "a successful retry returns its tokens");
    }

    #[tokio::test(start_paused = true)]
    async fn client_error_400_is_not_retried() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(400, "bad"));
        http.push(Canned::status(200, "never sent"));
        let p = pipeline(http.clone(), RetryConfig::standard());
        let e = p.send_buffered(&Operation::new("Get"), request()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Service);
        assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
        assert!(!e.is_retryable());
        assert_eq!(e.attempts(), 1);
        assert_eq!(http.requests().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn attempts_are_bounded_and_reported() {
        let http = Arc::new(ReplayHttp::new());
        for _ in 0..5 {
            http.push(Canned::status(500, "oops"));
        }
        let p = pipeline(http.clone(), RetryConfig::standard());
        let e = p.send_buffered(&Operation::new("Get"), request()).await.unwrap_err();
        assert_eq!(http.requests().len(), 3);
        assert_eq!(e.attempts(), 3);
        assert!(e.is_retryable());
        assert!(e.to_string().contains("gave up after 3 attempts"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_obeyed() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(503, "slow down").with_header("retry-after", "7"));
        http.push(Canned::status(200, "ok"));
        let p = pipeline(http.clone(), RetryConfig::standard().with_initial_backoff(Duration::from_millis(1)));
        let start = Instant::now();
        p.send_buffered(&Operation::new("Get"), request()).await.unwrap();
        let waited = start.elapsed();
        assert!(waited >= Duration::from_secs(7) && waited < Duration::from_secs(8), "{waited:?}");
        let times = http.request_times();
        assert!(times[1] - times[0] >= Duration::from_secs(7));
    }

    #[tokio::test(start_paused = true)]
    async fn retry_after_is_capped_by_max_backoff() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(429, "").with_header("retry-after", "3600"));
        http.push(Canned::status(200, "ok"));
        let p = pipeline(http.clone(), RetryConfig::standard());
        let start = Instant::now();
        p.send_buffered(&Operation::new("Get"), request()).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(20));
    }

    #[tokio::test(start_paused = true)]
    async fn backoff_delays_stay_within_bounds() {
        let http = Arc::new(ReplayHttp::new());
        for _ in 0..4 {
            http.push(Canned::status(503, ""));
        }
        http.push(Canned::status(200, "ok"));
        let retry = RetryConfig::standard().with_max_attempts(5);
        let p = pipeline(http.clone(), retry.clone());
        p.send_buffered(&Operation::new("Get"), request()).await.unwrap();
        let t = http.request_times();
        for n in 1..t.len() {
            let gap = t[n] - t[n - 1];
            assert!(gap <= retry.backoff_ceiling(n as u32), "retry {n}: {gap:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn quota_stops_retries_after_sustained_failures() {
        let http = Arc::new(ReplayHttp::new());
        for _ in 0..100 {
            http.push(Canned::status(503, ""));
        }
        let quota = Arc::new(RetryQuota::new(12)); // two retries' worth
        let p = Pipeline::builder("Test")
            .http(http.clone())
            .retry(RetryConfig::standard().with_max_attempts(10))
            .quota(quota.clone())
            .build()
            .unwrap();
        let e = p.send_buffered(&Operation::new("Get"), request()).await.unwrap_err();
        assert_eq!(http.requests().len(), 3, "first attempt + 2 retries paid by the quota");
        assert!(e.to_string().contains("retry quota exhausted"), "{e}");
        // the next failing call is not retried at all
        let e = p.send_buffered(&Operation::new("Get"), request()).await.unwrap_err();
        assert_eq!(e.attempts(), 1);
        assert_eq!(http.requests().len(), 4);
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_code_in_body_is_retried() {
        #[derive(Debug)]
        struct CodeParser;
        impl ParseError for CodeParser {
            fn parse(&self, _: StatusCode, _: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
                ServiceErrorDetails { code: Some(String::from_utf8_lossy(body).into_owned()), ..Default::default() }
            }
        }
        const EC2_LIKE: CodeClassifier = CodeClassifier::new(&["RequestLimitExceeded"], &[]);
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(400, "RequestLimitExceeded"));
        http.push(Canned::status(200, "ok"));
        let p = Pipeline::builder("EC2")
            .http(http.clone())
            .error_parser(Arc::new(CodeParser))
            .classifier(Arc::new(EC2_LIKE))
            .build()
            .unwrap();
        p.send_buffered(&Operation::new("DescribeInstances"), request()).await.unwrap();
        assert_eq!(http.requests().len(), 2);

        // exhausted: the error says it was throttling
        for _ in 0..3 {
            http.push(Canned::status(400, "RequestLimitExceeded"));
        }
        let e = p.send_buffered(&Operation::new("DescribeInstances"), request()).await.unwrap_err();
        assert!(e.is_throttling() && e.is_retryable(), "{e}");

        // a code the service's classifier does not know is not retried
        let other = Pipeline::builder("Other").http(http.clone()).error_parser(Arc::new(CodeParser)).build().unwrap();
        http.push(Canned::status(400, "RequestLimitExceeded"));
        let e = other.send_buffered(&Operation::new("Get"), request()).await.unwrap_err();
        assert!(!e.is_throttling() && !e.is_retryable());
        assert_eq!(e.attempts(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn accepted_statuses_are_success_and_max_attempts_bounds_one_operation() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(308, "").with_header("range", "bytes=0-9"));
        let p = pipeline(http.clone(), RetryConfig::standard());
        let op = Operation::new("UploadChunk").accept_statuses(&[308]);
        let r = p.send_buffered(&op, request()).await.unwrap();
        assert_eq!(r.status.as_u16(), 308);
        assert_eq!(r.header("range"), Some("bytes=0-9"));

        // without the declaration a 308 is an error
        http.push(Canned::status(308, ""));
        let e = p.send_buffered(&Operation::new("Other"), request()).await.unwrap_err();
        assert_eq!(e.status().map(|s| s.as_u16()), Some(308));

        http.push(Canned::status(503, ""));
        http.push(Canned::status(200, "never sent"));
        let e = p.send_buffered(&op.clone().max_attempts(1), request()).await.unwrap_err();
        assert_eq!(e.attempts(), 1);
        assert!(e.is_retryable(), "the caller decides how to recover");
        assert_eq!(http.requests().len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn error_200_body_is_detected_and_retried() {
        fn check(body: &[u8]) -> Option<ServiceErrorDetails> {
            body.starts_with(b"<Error>")
                .then(|| ServiceErrorDetails { code: Some("InternalError".into()), ..Default::default() })
        }
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, "<Error>"));
        http.push(Canned::status(200, "<Done/>"));
        let p = Pipeline::builder("Test")
            .http(http.clone())
            .classifier(Arc::new(CodeClassifier::new(&[], &["InternalError"])))
            .build()
            .unwrap();
        let op = Operation::new("CompleteMultipartUpload").body_error_check(check);
        let r = p.send_buffered(&op, request()).await.unwrap();
        assert_eq!(&r.body[..], b"<Done/>");
        assert_eq!(http.requests().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn connect_errors_are_retried_even_for_non_idempotent_requests() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::error(TransportErrorKind::Connect));
        http.push(Canned::status(200, "ok"));
        let p = pipeline(http.clone(), RetryConfig::standard());
        p.send_buffered(&Operation::new("Post").idempotent(false), request()).await.unwrap();
        assert_eq!(http.requests().len(), 2);

        http.push(Canned::error(TransportErrorKind::Request));
        let e = p.send_buffered(&Operation::new("Post").idempotent(false), request()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Transport);
        assert_eq!(e.attempts(), 1);
    }

    /// Issue 15, defect 19: a 5xx after a non-idempotent request (a create) may hide a write that
    /// took effect; it is not retried (a retry turned a success into a false "already exists").
    /// Throttling (the service did not process it) and connect errors still are.
    #[tokio::test(start_paused = true)]
    async fn non_idempotent_requests_are_retried_only_when_nothing_happened() {
        const SERVICE: CodeClassifier = CodeClassifier::new(&["SlowDown"], &["InternalError"]);
        #[derive(Debug)]
        struct BodyIsCode;
        impl ParseError for BodyIsCode {
            fn parse(&self, _: StatusCode, _: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
                ServiceErrorDetails { code: Some(String::from_utf8_lossy(body).into_owned()), ..Default::default() }
            }
        }
        let http = Arc::new(ReplayHttp::new());
        let p = Pipeline::builder("Test")
            .http(http.clone())
            .error_parser(Arc::new(BodyIsCode))
            .classifier(Arc::new(SERVICE))
            .build()
            .unwrap();
        let create = Operation::new("CreateThing").idempotent(false);

        http.push(Canned::status(500, "InternalError"));
        let e = p.send_buffered(&create, request()).await.unwrap_err();
        assert_eq!((e.attempts(), e.status().map(|s| s.as_u16())), (1, Some(500)));
        assert!(e.to_string().contains("not idempotent"), "{e}");
        assert_eq!(http.requests().len(), 1);

        http.push(Canned::status(503, "SlowDown"));
        http.push(Canned::status(200, "ok"));
        p.send_buffered(&create, request()).await.unwrap();
        assert_eq!(http.requests().len(), 3, "throttling is retried");
        http.push(Canned::error(TransportErrorKind::Connect));
        http.push(Canned::status(200, "ok"));
        p.send_buffered(&create, request()).await.unwrap();
        assert_eq!(http.requests().len(), 5, "a connect error is retried");

        // the same 500 on an idempotent operation is retried
        http.push(Canned::status(500, "InternalError"));
        http.push(Canned::status(200, "ok"));
        p.send_buffered(&Operation::new("GetThing"), request()).await.unwrap();
        assert_eq!(http.requests().len(), 7);
    }

    /// Issue 15, defect 13: successful bodies were read without a limit.
    #[tokio::test(start_paused = true)]
    async fn buffered_bodies_are_capped_per_operation() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, "0123456789abcdef"));
        let p = pipeline(http.clone(), RetryConfig::standard());
        let e = p.send_buffered(&Operation::new("List").max_response_body(10), request()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Decode);
        assert!(e.to_string().contains("larger than the 10 bytes"), "{e}");
        assert_eq!(http.requests().len(), 1, "not retried");
        http.push(Canned::status(200, "0123456789"));
        let ok = p.send_buffered(&Operation::new("List").max_response_body(10), request()).await.unwrap();
        assert_eq!(ok.body.len(), 10);
    }

    /// Issue 15, defect 10: loading credentials was outside every timeout; a hung source held
    /// the request forever.
    #[tokio::test(start_paused = true)]
    async fn credential_loading_counts_against_the_operation_timeout() {
        #[derive(Debug)]
        struct Hangs;
        #[async_trait]
        impl Sign for Hangs {
            async fn sign(&self, _: &mut HttpRequest) -> Result<(), SignError> {
                futures::future::pending::<()>().await;
                Ok(())
            }
        }
        let http = Arc::new(ReplayHttp::new());
        let p = Pipeline::builder("Test")
            .http(http.clone())
            .signer(Arc::new(Hangs))
            .timeouts(TimeoutConfig { attempt: Some(Duration::from_secs(2)), operation: Some(Duration::from_secs(5)) })
            .build()
            .unwrap();
        let start = Instant::now();
        let e = p.send_buffered(&Operation::new("Get"), request()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert_eq!(start.elapsed(), Duration::from_secs(5));
        assert!(http.requests().is_empty());
    }

    /// Issue 15, defect 15: `TimeoutConfig { operation: Some(Duration::MAX) }` panicked
    /// (`Instant + Duration` overflow); it means no operation limit.
    #[tokio::test(start_paused = true)]
    async fn an_unbounded_operation_timeout_is_no_limit_not_a_panic() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, "ok"));
        let p = Pipeline::builder("Test")
            .http(http.clone())
            .timeouts(TimeoutConfig { attempt: Some(Duration::MAX), operation: Some(Duration::MAX) })
            .build()
            .unwrap();
        p.send_buffered(&Operation::new("Get"), request()).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn attempt_timeout_applies_and_idempotent_requests_retry() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::hang());
        http.push(Canned::status(200, "ok"));
        let p = Pipeline::builder("Test")
            .http(http.clone())
            .timeouts(TimeoutConfig { attempt: Some(Duration::from_secs(2)), operation: None })
            .build()
            .unwrap();
        let start = Instant::now();
        p.send_buffered(&Operation::new("Get"), request()).await.unwrap();
        assert!(start.elapsed() >= Duration::from_secs(2));

        http.push(Canned::hang());
        let e = p.send_buffered(&Operation::new("Put").idempotent(false), request()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(!e.is_retryable());
    }

    #[tokio::test(start_paused = true)]
    async fn operation_timeout_bounds_all_attempts() {
        let http = Arc::new(ReplayHttp::new());
        for _ in 0..10 {
            http.push(Canned::hang());
        }
        let p = Pipeline::builder("Test")
            .http(http.clone())
            .retry(RetryConfig::standard().with_max_attempts(10))
            .timeouts(TimeoutConfig { attempt: Some(Duration::from_secs(4)), operation: Some(Duration::from_secs(10)) })
            .build()
            .unwrap();
        let start = Instant::now();
        let e = p.send_buffered(&Operation::new("Get"), request()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Timeout);
        assert!(start.elapsed() <= Duration::from_secs(10), "{:?}", start.elapsed());
    }

    #[tokio::test(start_paused = true)]
    async fn signer_runs_on_every_attempt() {
        #[derive(Debug, Default)]
        struct Counting(AtomicU32);
        #[async_trait]
        impl Sign for Counting {
            async fn sign(&self, request: &mut HttpRequest) -> Result<(), SignError> {
                let n = self.0.fetch_add(1, Ordering::SeqCst) + 1;
                request.insert_header("x-attempt", &n.to_string()).map_err(|e| SignError::Signing(e.into()))
            }
        }
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(500, ""));
        http.push(Canned::status(200, "ok"));
        let signer = Arc::new(Counting::default());
        let p = Pipeline::builder("Test").http(http.clone()).signer(signer.clone()).build().unwrap();
        p.send_buffered(&Operation::new("Get"), request()).await.unwrap();
        let reqs = http.requests();
        assert_eq!(reqs[0].headers["x-attempt"], "1");
        assert_eq!(reqs[1].headers["x-attempt"], "2");
    }

    /// Issue 16, point 5: the signer's note on a refused request ends up on the error, next to
    /// the pipeline's own note; other failures get none.
    #[tokio::test(start_paused = true)]
    async fn the_signers_refusal_note_is_added_to_the_error() {
        #[derive(Debug)]
        struct Noting;
        #[async_trait]
        impl Sign for Noting {
            async fn sign(&self, _: &mut HttpRequest) -> Result<(), SignError> {
                Ok(())
            }
            fn refusal_note(&self, status: StatusCode, details: &ServiceErrorDetails) -> Option<String> {
                (status != StatusCode::NOT_FOUND).then(|| format!("signed by test ({:?})", details.message))
            }
        }
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(403, "denied"));
        http.push(Canned::status(404, "missing"));
        http.push(Canned::status(403, "denied"));
        let p = Pipeline::builder("Test").http(http.clone()).signer(Arc::new(Noting)).build().unwrap();
        let e = p.send_buffered(&Operation::new("Get"), request()).await.unwrap_err();
        assert!(e.to_string().contains("not retryable; signed by test (Some(\"denied\")))"), "{e}");
        let e = p.send_buffered(&Operation::new("Get"), request()).await.unwrap_err();
        assert!(!e.to_string().contains("signed by"), "{e}");
        // with the pipeline's own note (a non-idempotent request), both are kept
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(503, "busy"));
        let p = Pipeline::builder("Test").http(http.clone()).signer(Arc::new(Noting)).build().unwrap();
        let e = p.send_buffered(&Operation::new("Put").idempotent(false), request()).await.unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("not retried: the request is not idempotent; signed by test (Some(\"busy\"))"), "{e}");
    }

    /// A 401 lets the signer drop refused credentials and the request go once more at once, even
    /// a non-idempotent one; a second 401 is the error. A signer that keeps its credentials gets
    /// no second send.
    #[tokio::test(start_paused = true)]
    async fn refused_credentials_are_replaced_once() {
        #[derive(Debug, Default)]
        struct Replacing {
            signed: AtomicU32,
            refused: AtomicU32,
        }
        #[async_trait]
        impl Sign for Replacing {
            async fn sign(&self, request: &mut HttpRequest) -> Result<(), SignError> {
                let n = self.signed.fetch_add(1, Ordering::SeqCst) + 1;
                let token = format!("token-{}", self.refused.load(Ordering::SeqCst));
                request.insert_header("x-signed", &format!("{n} {token}")).map_err(|e| SignError::Signing(e.into()))
            }
            fn credentials_refused(&self, status: StatusCode, _: &ServiceErrorDetails) -> bool {
                assert_eq!(status, StatusCode::UNAUTHORIZED);
                self.refused.fetch_add(1, Ordering::SeqCst);
                true
            }
        }
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(401, "expired"));
        http.push(Canned::status(200, "ok"));
        let signer = Arc::new(Replacing::default());
        let p = Pipeline::builder("Test")
            .http(http.clone())
            .signer(signer.clone())
            .retry(RetryConfig::disabled())
            .build()
            .unwrap();
        let op = Operation::new("Create").idempotent(false);
        assert_eq!(&p.send_buffered(&op, request()).await.unwrap().body[..], b"ok");
        let sent: Vec<String> =
            http.requests().iter().map(|r| r.headers["x-signed"].to_str().unwrap().to_owned()).collect();
        assert_eq!(sent, ["1 token-0", "2 token-1"], "sent again at once, with the replaced credentials");

        http.push(Canned::status(401, "no"));
        http.push(Canned::status(401, "still no"));
        let e = p.send_buffered(&op, request()).await.unwrap_err();
        assert_eq!(e.status(), Some(StatusCode::UNAUTHORIZED), "{e}");
        assert_eq!(e.attempts(), 2, "{e}");
        assert_eq!(http.requests().len(), 4, "one replacement per operation");
        assert_eq!(signer.refused.load(Ordering::SeqCst), 2);

        // the default keeps the credentials: one send
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(401, "no"));
        let p = Pipeline::builder("Test").http(http.clone()).signer(Arc::new(NoSign)).build().unwrap();
        assert!(p.send_buffered(&Operation::new("Get"), request()).await.is_err());
        assert_eq!(http.requests().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn signing_failures_are_typed_and_not_sent() {
        #[derive(Debug)]
        struct NoCreds;
        #[async_trait]
        impl Sign for NoCreds {
            async fn sign(&self, _: &mut HttpRequest) -> Result<(), SignError> {
                Err(SignError::Credentials("no credentials found".into()))
            }
        }
        let http = Arc::new(ReplayHttp::new());
        let p = Pipeline::builder("Test").http(http.clone()).signer(Arc::new(NoCreds)).build().unwrap();
        let e = p.send_buffered(&Operation::new("Get"), request()).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Credentials);
        assert!(http.requests().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn streaming_send_returns_the_body_unread() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, "streamed body"));
        let p = pipeline(http.clone(), RetryConfig::standard());
        let r = p.send_streaming(&Operation::new("GetObject"), request()).await.unwrap();
        assert_eq!(&r.body.collect().await.unwrap()[..], b"streamed body");
    }
}
