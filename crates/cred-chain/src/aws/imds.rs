//! EC2 instance metadata (IMDS), version 2 only: a session token from `PUT /latest/api/token`,
//! cached and reused until 120 s before it expires, sent as `x-aws-ec2-metadata-token` on every
//! `GET`. There is no fallback to IMDSv1.
//!
//! The token is cached in core's single-flight [`RefreshCache`]: however many tasks ask at once,
//! one token request is made; when it fails, the tasks that waited for it share its failure
//! instead of each asking again, and the next attempt waits for the cache's backoff (1 s,
//! doubling up to 30 s).
//!
//! Rules (as in aws-config):
//! - `AWS_EC2_METADATA_DISABLED=true` turns IMDS off: nothing is sent.
//! - Endpoint: `AWS_EC2_METADATA_SERVICE_ENDPOINT`, else `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6`
//!   → `http://[fd00:ec2::254]`, else `http://169.254.169.254`.
//! - 1 s per attempt (connect included), 4 attempts; 5xx and 401 are retried (401 drops the token
//!   and gets a new one); transport failures and timeouts are **not** retried, so a program off
//!   EC2 gives up after about a second.
//! - A 403 on the token request means IMDS is disabled on the instance.
//! - Answers are read up to 1 MiB ([`MAX_RESPONSE_BODY`]); a longer one is a
//!   [`Decode`](ImdsError::Decode) error. Redirects are not followed (a 3xx is an error status), so
//!   the session token never leaves for another host.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_cred_chain::aws::ProviderConfig;
//! use cloudkit_cred_chain::aws::imds::{self, ImdsClient};
//!
//! let config = ProviderConfig::real()?;
//! let instance_id = ImdsClient::new(&config).get("/latest/meta-data/instance-id").await?;
//! let region = imds::region(&config).await;
//! println!("{instance_id} in {region:?}");
//! # Ok(()) }
//! ```

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use cloudkit_core::{
    HttpRequest, HttpSend, Method, RefreshCache, RefreshFailed, RetryConfig, SecretString, StatusCode, TimeSource,
    TransportError, TransportErrorKind, Url,
};
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials};
use tokio::time::Instant;

use super::ProviderConfig;
use super::container::CredentialsDocument;
use cloudkit_core::internal::date::parse_rfc3339;

/// The IPv4 endpoint.
pub const IPV4_ENDPOINT: &str = "http://169.254.169.254";
/// The IPv6 endpoint.
pub const IPV6_ENDPOINT: &str = "http://[fd00:ec2::254]";
/// The token lifetime requested (6 h, the longest IMDS grants).
pub const TOKEN_TTL: Duration = Duration::from_secs(21_600);
/// The shortest token lifetime IMDS grants.
pub const MIN_TOKEN_TTL: Duration = Duration::from_secs(1);
/// A token is replaced this long before it expires.
pub const TOKEN_REFRESH_BUFFER: Duration = Duration::from_secs(120);
/// Time limit of one attempt (connect, request and response).
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(1);
/// Attempts per request.
pub const MAX_ATTEMPTS: u32 = 4;

const TOKEN_PATH: &str = "/latest/api/token";
const TOKEN_TTL_HEADER: &str = "x-aws-ec2-metadata-token-ttl-seconds";
const TOKEN_HEADER: &str = "x-aws-ec2-metadata-token";
/// The largest IMDS answer read (1 MiB; metadata documents are a few KiB).
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// Why an IMDS request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImdsError {
    /// IMDS is turned off (`AWS_EC2_METADATA_DISABLED`, or a 403 on the token request).
    #[error("IMDS is disabled: {reason}")]
    Disabled {
        /// Why.
        reason: String,
    },
    /// The endpoint setting is not usable.
    #[error("invalid IMDS endpoint `{endpoint}`: {reason}")]
    InvalidEndpoint {
        /// The value configured.
        endpoint: String,
        /// What is wrong.
        reason: String,
    },
    /// IMDS could not be reached (not on EC2, or a container with hop limit 1). Not retried.
    #[error("IMDS is unreachable (not on EC2, or the metadata hop limit is too low for a container)")]
    Unreachable {
        /// The transport failure.
        #[source]
        source: TransportError,
    },
    /// IMDS did not answer in time. Not retried.
    #[error("IMDS did not answer within {after:?} (in a container, the instance's metadata hop limit may be 1)")]
    Timeout {
        /// The limit.
        after: Duration,
    },
    /// The path does not exist (e.g. no instance profile is attached).
    #[error("IMDS has nothing at {path}")]
    NotFound {
        /// The path asked for.
        path: String,
    },
    /// IMDS answered with an error status (after retries, for 5xx and 401).
    #[error("IMDS answered HTTP {status} for {path}{}", if *attempts > 1 { format!(" (gave up after {attempts} attempts)") } else { String::new() })]
    ErrorResponse {
        /// The status.
        status: u16,
        /// The path asked for.
        path: String,
        /// Attempts made.
        attempts: u32,
    },
    /// The answer was not what IMDS documents.
    #[error("unexpected IMDS answer for {path}: {message}")]
    Decode {
        /// The path asked for.
        path: String,
        /// What was wrong.
        message: String,
    },
}

impl ImdsError {
    /// Whether the error means "there is no usable IMDS here" (disabled, unreachable, timed
    /// out): credential and region providers treat it as "nothing found".
    pub fn is_unavailable(&self) -> bool {
        matches!(self, ImdsError::Disabled { .. } | ImdsError::Unreachable { .. } | ImdsError::Timeout { .. })
    }
}

/// A session token and when it expires.
#[derive(Clone)]
struct SessionToken {
    value: SecretString,
    expires: SystemTime,
}

impl SessionToken {
    fn expiry(&self) -> Option<SystemTime> {
        Some(self.expires)
    }
}

/// Why no token came: a retryable status, another failure, or (from the cache) a failure a
/// moment ago that is not repeated yet.
enum TokenError {
    Status(u16),
    Failed(ImdsError),
    Recent(RefreshFailed),
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenError::Status(status) => write!(f, "IMDS answered HTTP {status} for {TOKEN_PATH}"),
            TokenError::Failed(e) => e.fmt(f),
            TokenError::Recent(r) => r.fmt(f),
        }
    }
}

impl From<RefreshFailed> for TokenError {
    fn from(failed: RefreshFailed) -> Self {
        TokenError::Recent(failed)
    }
}

/// The failure of the last token request, kept typed (the cache keeps only its message).
#[derive(Clone)]
enum LastFailure {
    Status(u16),
    Failed(ImdsError),
}

/// Tokio's clock as a [`TimeSource`], so token lifetimes and the cache's backoff follow paused
/// test clocks like the attempt timeouts do.
#[derive(Debug)]
struct TokioClock {
    start: Instant,
    start_system: SystemTime,
}

impl TokioClock {
    fn new() -> Self {
        Self { start: Instant::now(), start_system: SystemTime::now() }
    }
}

impl TimeSource for TokioClock {
    fn now(&self) -> SystemTime {
        let elapsed = Instant::now().saturating_duration_since(self.start);
        self.start_system.checked_add(elapsed).unwrap_or(self.start_system)
    }
}

/// The token cache of a client and its clones.
struct TokenCache {
    cache: RefreshCache<SessionToken>,
    last_failure: std::sync::Mutex<Option<LastFailure>>,
}

/// An IMDSv2 client. Cheap to clone; clones share the cached token.
#[derive(Clone)]
pub struct ImdsClient {
    http: Arc<dyn HttpSend>,
    endpoint: Result<Url, ImdsError>,
    disabled: Option<String>,
    retry: RetryConfig,
    attempt_timeout: Duration,
    token_ttl: Duration,
    token: Arc<TokenCache>,
}

impl std::fmt::Debug for ImdsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImdsClient")
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("disabled", &self.disabled)
            .field("retry", &self.retry)
            .field("attempt_timeout", &self.attempt_timeout)
            .finish_non_exhaustive()
    }
}

impl Clone for ImdsError {
    fn clone(&self) -> Self {
        match self {
            ImdsError::Disabled { reason } => ImdsError::Disabled { reason: reason.clone() },
            ImdsError::InvalidEndpoint { endpoint, reason } => {
                ImdsError::InvalidEndpoint { endpoint: endpoint.clone(), reason: reason.clone() }
            }
            ImdsError::Unreachable { source } => {
                ImdsError::Unreachable { source: TransportError::new(source.kind(), source.to_string()) }
            }
            ImdsError::Timeout { after } => ImdsError::Timeout { after: *after },
            ImdsError::NotFound { path } => ImdsError::NotFound { path: path.clone() },
            ImdsError::ErrorResponse { status, path, attempts } => {
                ImdsError::ErrorResponse { status: *status, path: path.clone(), attempts: *attempts }
            }
            ImdsError::Decode { path, message } => ImdsError::Decode { path: path.clone(), message: message.clone() },
        }
    }
}

enum Attempt {
    Done(String),
    /// Try again after the backoff, and not before `not_before` (the token cache's backoff).
    Retry {
        status: u16,
        not_before: Duration,
    },
}

fn token_cache() -> Arc<TokenCache> {
    Arc::new(TokenCache {
        cache: RefreshCache::new(SessionToken::expiry, TOKEN_REFRESH_BUFFER, TOKEN_REFRESH_BUFFER)
            .with_time_source(Arc::new(TokioClock::new())),
        last_failure: std::sync::Mutex::new(None),
    })
}

impl ImdsClient {
    /// A client configured from `config.env` (see the module docs).
    pub fn new(config: &ProviderConfig) -> Self {
        let env = &config.env;
        let disabled = env
            .get_non_empty("AWS_EC2_METADATA_DISABLED")
            .filter(|v| v.trim().eq_ignore_ascii_case("true"))
            .map(|_| "AWS_EC2_METADATA_DISABLED is true".to_owned());
        let endpoint = match env.get_non_empty("AWS_EC2_METADATA_SERVICE_ENDPOINT") {
            Some(value) => Url::parse(value.trim()).map_err(|e| ImdsError::InvalidEndpoint {
                endpoint: value.clone(),
                reason: format!("AWS_EC2_METADATA_SERVICE_ENDPOINT is not a URL ({e})"),
            }),
            None => match env.get_non_empty("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE") {
                Some(mode) if mode.trim().eq_ignore_ascii_case("ipv6") => parse_builtin(IPV6_ENDPOINT),
                Some(mode) if mode.trim().eq_ignore_ascii_case("ipv4") => parse_builtin(IPV4_ENDPOINT),
                None => parse_builtin(IPV4_ENDPOINT),
                Some(mode) => Err(ImdsError::InvalidEndpoint {
                    endpoint: mode.clone(),
                    reason: "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE must be IPv4 or IPv6".into(),
                }),
            },
        };
        Self {
            http: config.http.clone(),
            endpoint,
            disabled,
            retry: RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS).with_quota(false),
            attempt_timeout: ATTEMPT_TIMEOUT,
            token_ttl: TOKEN_TTL,
            token: token_cache(),
        }
    }

    /// Replaces the endpoint (e.g. from the profile's `ec2_metadata_service_endpoint`).
    pub fn with_endpoint(mut self, endpoint: Url) -> Self {
        self.endpoint = Ok(endpoint);
        self
    }

    /// Replaces the retry settings (only attempts and backoff are used).
    pub fn with_retry_config(mut self, retry: RetryConfig) -> Self {
        self.retry = retry;
        self
    }

    /// Replaces the per-attempt time limit.
    pub fn with_attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// Replaces the token lifetime requested, kept within what IMDS grants ([`MIN_TOKEN_TTL`] to
    /// [`TOKEN_TTL`]; whole seconds).
    pub fn with_token_ttl(mut self, ttl: Duration) -> Self {
        self.token_ttl = Duration::from_secs(ttl.as_secs()).clamp(MIN_TOKEN_TTL, TOKEN_TTL);
        self
    }

    /// The endpoint in use.
    pub fn endpoint(&self) -> Result<&Url, ImdsError> {
        self.endpoint.as_ref().map_err(Clone::clone)
    }

    /// `GET path` (e.g. `/latest/meta-data/instance-id`) with the session token; the body as text.
    pub async fn get(&self, path: &str) -> Result<String, ImdsError> {
        if let Some(reason) = &self.disabled {
            return Err(ImdsError::Disabled { reason: reason.clone() });
        }
        let url = self.endpoint()?.join(path).map_err(|e| ImdsError::InvalidEndpoint {
            endpoint: path.to_owned(),
            reason: format!("cannot append the path ({e})"),
        })?;
        let mut attempt = 1;
        let mut waited_for_backoff = false;
        loop {
            let (failure, not_before) = match self.attempt_get(&url, path).await? {
                Attempt::Done(body) => return Ok(body),
                Attempt::Retry { status, not_before } => (status, not_before),
            };
            // A retry that met the token cache's backoff after an earlier failure sent nothing:
            // it waits for the backoff once and tries again without counting. (A first attempt
            // that shared the failure of a request it waited for counts: that was its answer.)
            if attempt > 1 && !not_before.is_zero() && !waited_for_backoff {
                waited_for_backoff = true;
                tokio::time::sleep(not_before).await;
                continue;
            }
            waited_for_backoff = false;
            if attempt >= self.retry.max_attempts() {
                return Err(ImdsError::ErrorResponse { status: failure, path: path.to_owned(), attempts: attempt });
            }
            let delay = self.retry.backoff(attempt).max(not_before);
            tracing::debug!(attempt, status = failure, delay_ms = delay.as_millis() as u64, "retrying IMDS request");
            tokio::time::sleep(delay).await;
            attempt += 1;
        }
    }

    async fn attempt_get(&self, url: &Url, path: &str) -> Result<Attempt, ImdsError> {
        let token = match self.token(url).await? {
            Ok(token) => token,
            Err((status, not_before)) => return Ok(Attempt::Retry { status, not_before }),
        };
        let mut request = HttpRequest::new(Method::GET, url.clone());
        request.insert_header(TOKEN_HEADER, token.expose()).map_err(|_| ImdsError::Decode {
            path: TOKEN_PATH.to_owned(),
            message: "the token has characters HTTP headers cannot carry".into(),
        })?;
        let (status, body) = self.send(request, path).await?;
        match status.as_u16() {
            200..=299 => String::from_utf8(body.to_vec())
                .map(Attempt::Done)
                .map_err(|_| ImdsError::Decode { path: path.to_owned(), message: "not UTF-8 text".into() }),
            401 => {
                tracing::debug!("IMDS refused the session token; getting a new one");
                self.token.cache.invalidate();
                Ok(Attempt::Retry { status: 401, not_before: Duration::ZERO })
            }
            404 => Err(ImdsError::NotFound { path: path.to_owned() }),
            s @ 500..=599 => Ok(Attempt::Retry { status: s, not_before: Duration::ZERO }),
            s => Err(ImdsError::ErrorResponse { status: s, path: path.to_owned(), attempts: 1 }),
        }
    }

    /// The cached token, or a new one (one request for every task asking at once).
    /// `Ok(Err((status, not_before)))`: a retryable failure (5xx), not to be retried before
    /// `not_before` has passed.
    async fn token(&self, base: &Url) -> Result<Result<SecretString, (u16, Duration)>, ImdsError> {
        let loaded = self.token.cache.get_or_refresh(|| self.fetch_token(base)).await;
        match loaded {
            Ok(token) => Ok(Ok(token.value)),
            Err(TokenError::Status(status)) => Ok(Err((status, Duration::ZERO))),
            Err(TokenError::Failed(e)) => Err(e),
            Err(TokenError::Recent(recent)) => {
                // The request a moment ago failed (perhaps while this task waited for it): its
                // failure, typed, instead of another request.
                let last = self.token.last_failure.lock().unwrap_or_else(|p| p.into_inner()).clone();
                match last {
                    Some(LastFailure::Status(status)) => Ok(Err((status, recent.retry_in))),
                    Some(LastFailure::Failed(e)) => Err(e),
                    None => Err(ImdsError::Decode { path: TOKEN_PATH.to_owned(), message: recent.to_string() }),
                }
            }
        }
    }

    /// One token request.
    async fn fetch_token(&self, base: &Url) -> Result<SessionToken, TokenError> {
        let fetched = self.request_token(base).await;
        let failure = match &fetched {
            Ok(_) => None,
            Err(TokenError::Status(status)) => Some(LastFailure::Status(*status)),
            Err(TokenError::Failed(e)) => Some(LastFailure::Failed(e.clone())),
            Err(TokenError::Recent(_)) => return fetched,
        };
        *self.token.last_failure.lock().unwrap_or_else(|p| p.into_inner()) = failure;
        fetched
    }

    async fn request_token(&self, base: &Url) -> Result<SessionToken, TokenError> {
        let failed = TokenError::Failed;
        let url = base
            .join(TOKEN_PATH)
            .map_err(|e| failed(ImdsError::InvalidEndpoint { endpoint: base.to_string(), reason: e.to_string() }))?;
        let mut request = HttpRequest::new(Method::PUT, url);
        request
            .insert_header(TOKEN_TTL_HEADER, &self.token_ttl.as_secs().to_string())
            .map_err(|e| failed(ImdsError::Decode { path: TOKEN_PATH.to_owned(), message: e.to_string() }))?;
        let requested_at = self.token.cache.time_source().now();
        let (status, body) = self.send(request, TOKEN_PATH).await.map_err(failed)?;
        match status.as_u16() {
            200..=299 => {}
            403 => {
                return Err(failed(ImdsError::Disabled {
                    reason: "the token request was refused with HTTP 403 (IMDS is turned off on this instance)".into(),
                }));
            }
            s @ 500..=599 => return Err(TokenError::Status(s)),
            s => {
                return Err(failed(ImdsError::ErrorResponse { status: s, path: TOKEN_PATH.to_owned(), attempts: 1 }));
            }
        }
        let value = String::from_utf8(body.to_vec()).map_err(|_| {
            failed(ImdsError::Decode { path: TOKEN_PATH.to_owned(), message: "token is not text".into() })
        })?;
        let value = SecretString::new(value.trim());
        if value.is_empty() {
            return Err(failed(ImdsError::Decode { path: TOKEN_PATH.to_owned(), message: "empty token".into() }));
        }
        // The TTL is at most 6 h: no overflow.
        let expires = requested_at.checked_add(self.token_ttl).unwrap_or(requested_at);
        Ok(SessionToken { value, expires })
    }

    async fn send(&self, request: HttpRequest, path: &str) -> Result<(StatusCode, cloudkit_core::Bytes), ImdsError> {
        let exchange = async {
            let response = self.http.send(request).await?;
            let status = response.status;
            // One byte more than allowed tells a body at the limit from a longer one.
            let body = response.body.collect_limited(MAX_RESPONSE_BODY.saturating_add(1)).await?;
            Ok::<_, TransportError>((status, body))
        };
        let (status, body) = match tokio::time::timeout(self.attempt_timeout, exchange).await {
            Err(_) => return Err(ImdsError::Timeout { after: self.attempt_timeout }),
            Ok(Err(e)) if e.kind() == TransportErrorKind::Timeout => {
                return Err(ImdsError::Timeout { after: self.attempt_timeout });
            }
            Ok(Err(e)) => return Err(ImdsError::Unreachable { source: e }),
            Ok(Ok(answer)) => answer,
        };
        if body.len() > MAX_RESPONSE_BODY {
            return Err(ImdsError::Decode {
                path: path.to_owned(),
                message: format!("the answer is larger than {MAX_RESPONSE_BODY} bytes"),
            });
        }
        Ok((status, body))
    }
}

fn parse_builtin(url: &str) -> Result<Url, ImdsError> {
    Url::parse(url).map_err(|e| ImdsError::InvalidEndpoint { endpoint: url.to_owned(), reason: e.to_string() })
}

/// The instance's region from `/latest/meta-data/placement/region`; `None` when IMDS is
/// disabled, unreachable or answers something unusable.
pub async fn region(config: &ProviderConfig) -> Option<String> {
    region_from(&ImdsClient::new(config)).await
}

/// [`region`] with a given client.
pub async fn region_from(client: &ImdsClient) -> Option<String> {
    match client.get("/latest/meta-data/placement/region").await {
        Ok(text) => {
            let region = text.trim();
            let valid = !region.is_empty() && region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            valid.then(|| region.to_owned())
        }
        Err(e) => {
            tracing::debug!(error = %e, "no region from IMDS");
            None
        }
    }
}

const PROVIDER_NAME: &str = "Ec2InstanceMetadata";
const CREDENTIALS_PATH: &str = "/latest/meta-data/iam/security-credentials/";

/// Credentials of the instance profile, from IMDSv2.
///
/// Loading returns `NotLoaded` when IMDS is disabled, unreachable or the instance has no
/// instance profile; other failures are `ProviderError`s. Credentials that IMDS hands out
/// already expired (during an IMDS outage) get their expiry moved to now + 10–15 min with a
/// warning ("static stability"), and if IMDS fails after an earlier success, the last
/// credentials are returned the same way. Every load calls IMDS: wrap the provider in the
/// chain's credentials cache.
#[derive(Debug, Clone)]
pub struct ImdsCredentialsProvider {
    client: ImdsClient,
    last: Arc<std::sync::Mutex<Option<Credentials>>>,
}

impl ImdsCredentialsProvider {
    /// A provider with a client configured from `config`.
    pub fn new(config: &ProviderConfig) -> Self {
        Self::with_client(ImdsClient::new(config))
    }

    /// A provider using `client`.
    pub fn with_client(client: ImdsClient) -> Self {
        Self { client, last: Arc::new(std::sync::Mutex::new(None)) }
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        let not_loaded = |e: ImdsError| {
            if e.is_unavailable() || matches!(e, ImdsError::NotFound { .. }) {
                CredentialsError::not_loaded(PROVIDER_NAME, e.to_string())
            } else {
                CredentialsError::provider_error(PROVIDER_NAME, e.to_string(), Some(Box::new(e)))
            }
        };
        let listing = self.client.get(CREDENTIALS_PATH).await.map_err(not_loaded)?;
        let Some(role) = listing.lines().map(str::trim).find(|l| !l.is_empty()) else {
            return Err(CredentialsError::not_loaded(PROVIDER_NAME, "the instance has no instance profile"));
        };
        if role.contains(['/', '?', '#']) || role.contains("..") {
            return Err(CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("IMDS returned an unusable role name `{role}`"),
                None,
            ));
        }
        let path = format!("{CREDENTIALS_PATH}{role}");
        let text = self.client.get(&path).await.map_err(|e| {
            CredentialsError::provider_error(PROVIDER_NAME, format!("role {role}: {e}"), Some(Box::new(e)))
        })?;
        let wire = CredentialsDocument::parse(text.as_bytes()).map_err(|e| {
            CredentialsError::provider_error(PROVIDER_NAME, format!("role {role}: unexpected JSON ({e})"), None)
        })?;
        // moto's metadata server omits `Code`; EC2 always sends it.
        if let Some(code) = wire.code.as_deref()
            && code != "Success"
        {
            return Err(CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("IMDS could not provide credentials for role {role}: Code {code}"),
                None,
            ));
        }
        let expiry = match wire.expiration.as_deref() {
            Some(text) => Some(parse_rfc3339(text).ok_or_else(|| {
                CredentialsError::provider_error(PROVIDER_NAME, format!("Expiration `{text}` is not RFC 3339"), None)
            })?),
            None => None,
        };
        let credentials = Credentials::new(
            wire.access_key_id,
            SecretString::new(wire.secret_access_key),
            wire.token.map(SecretString::new),
            expiry,
            "imds",
        )
        .with_source(format!("IMDS (EC2 instance profile role {role})"));
        Ok(extend_if_expired(credentials, SystemTime::now()))
    }
}

/// Static stability: credentials already expired at `now` get a new expiry 10–15 min ahead.
fn extend_if_expired(credentials: Credentials, now: SystemTime) -> Credentials {
    match credentials.expiry() {
        Some(expiry) if expiry <= now => {
            let extra = Duration::from_secs(600 + fastrand::u64(0..=300));
            tracing::warn!(
                access_key_id = credentials.access_key_id(),
                "IMDS returned expired credentials; using them for {} more minutes. \
                 Refreshing will be attempted again then",
                extra.as_secs() / 60
            );
            credentials.with_expiry(Some(now + extra))
        }
        _ => credentials,
    }
}

#[async_trait]
impl ProvideCredentials for ImdsCredentialsProvider {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        match self.load().await {
            Ok(credentials) => {
                *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(credentials.clone());
                Ok(credentials)
            }
            Err(e) => {
                let last = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
                match last {
                    Some(previous) => {
                        tracing::warn!(error = %e, "IMDS failed; reusing the last credentials it gave");
                        let now = SystemTime::now();
                        let stale = previous.expiry().is_some_and(|x| x <= now);
                        Ok(if stale { extend_if_expired(previous, now) } else { previous })
                    }
                    _ => Err(e),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    //! Request shape and parsing use `ReplayHttp`; the token flow (reuse, refresh, 401, 403,
    //! retries) runs against an in-process HTTP server (`TestServer`) playing IMDS, since moto's
    //! metadata endpoint accepts any token. The moto integration test is tests/tests/aws_imds_moto.rs.

    use std::sync::atomic::{AtomicU32, Ordering};

    use cloudkit_core::testing::{Canned, RecordedRequest, ReplayHttp, TestServer};
    use cloudkit_core::{HttpClientConfig, ReqwestSend};

    use super::*;
    use crate::aws::Env;

    const CREDS: &str = r#"{"Code":"Success","LastUpdated":"2026-01-01T00:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAIMDS","SecretAccessKey":"imdssecret","Token":"imdstoken","Expiration":"2099-01-01T00:00:00Z"}"#;

    fn replay_config(http: Arc<ReplayHttp>, pairs: &[(&str, &str)]) -> ProviderConfig {
        ProviderConfig::with_http(http as Arc<dyn HttpSend>).env(Env::from_pairs(pairs.iter().copied()))
    }

    /// Attempt timeout for tests against the in-process server that do not test timeouts: a busy
    /// CI machine may take longer than IMDS's real 1 s to answer.
    const SLOW_MACHINE_TIMEOUT: Duration = Duration::from_secs(15);

    fn server_config(server: &TestServer) -> ProviderConfig {
        let endpoint = server.base_url().to_string();
        ProviderConfig::with_http(ReqwestSend::shared(&HttpClientConfig::default()).unwrap())
            .env(Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint)]))
    }

    /// An IMDS double: tokens `t1`, `t2`, …; `valid` says which token GETs accept.
    fn imds_server(valid: impl Fn(&str) -> bool + Send + Sync + 'static) -> (TestServer, Arc<AtomicU32>) {
        let issued = Arc::new(AtomicU32::new(0));
        let counter = issued.clone();
        let server = TestServer::start(move |req: &RecordedRequest| {
            if req.method == Method::PUT && req.url.path() == TOKEN_PATH {
                if req.headers.get(TOKEN_TTL_HEADER).is_none() {
                    return Canned::status(400, "missing ttl");
                }
                let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
                return Canned::status(200, format!("t{n}")).with_header(TOKEN_TTL_HEADER, "21600");
            }
            let token = req.headers.get(TOKEN_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            if !valid(token) {
                return Canned::status(401, "");
            }
            match req.url.path() {
                "/latest/meta-data/iam/security-credentials/" => Canned::status(200, "my-role\n"),
                "/latest/meta-data/iam/security-credentials/my-role" => Canned::status(200, CREDS),
                "/latest/meta-data/placement/region" => Canned::status(200, "eu-north-1"),
                _ => Canned::status(404, ""),
            }
        })
        .unwrap();
        (server, issued)
    }

    /// IMDS under `config` is disabled: a client call is `Disabled`, the credentials provider
    /// hands on (`NotLoaded`) saying so.
    async fn assert_disabled(config: &ProviderConfig) {
        let client = ImdsClient::new(config).with_attempt_timeout(SLOW_MACHINE_TIMEOUT);
        let e = client.get("/latest/meta-data/instance-id").await.unwrap_err();
        assert!(matches!(e, ImdsError::Disabled { .. }), "{e:?}");
        let provider =
            ImdsCredentialsProvider::with_client(ImdsClient::new(config).with_attempt_timeout(SLOW_MACHINE_TIMEOUT));
        let e = provider.provide_credentials().await.unwrap_err();
        assert!(e.is_not_loaded() && e.to_string().contains("disabled"), "{e}");
    }

    #[tokio::test]
    async fn disabled_by_env_sends_nothing() {
        let http = Arc::new(ReplayHttp::new());
        let config = replay_config(http.clone(), &[("AWS_EC2_METADATA_DISABLED", "TRUE")]);
        assert_disabled(&config).await;
        assert_eq!(region(&config).await, None);
        assert!(http.requests().is_empty());
    }

    #[test]
    fn endpoint_selection() {
        let http = Arc::new(ReplayHttp::new());
        let ep = |pairs: &[(&str, &str)]| {
            ImdsClient::new(&replay_config(http.clone(), pairs)).endpoint().map(|u| u.as_str().to_owned())
        };
        assert_eq!(ep(&[]).unwrap(), "http://169.254.169.254/");
        assert_eq!(ep(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6")]).unwrap(), "http://[fd00:ec2::254]/");
        assert_eq!(
            ep(&[
                ("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv6"),
                ("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://127.0.0.1:1338")
            ])
            .unwrap(),
            "http://127.0.0.1:1338/"
        );
        assert!(matches!(
            ep(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE", "IPv5")]),
            Err(ImdsError::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            ep(&[("AWS_EC2_METADATA_SERVICE_ENDPOINT", "::bad")]),
            Err(ImdsError::InvalidEndpoint { .. })
        ));
    }

    #[tokio::test]
    async fn request_shape_and_credentials_parse() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, "TOKEN-A"));
        http.push(Canned::status(200, "my-role"));
        http.push(Canned::status(200, CREDS));
        let config = replay_config(http.clone(), &[]);
        let creds = ImdsCredentialsProvider::new(&config).provide_credentials().await.unwrap();
        assert_eq!(creds.access_key_id(), "ASIAIMDS");
        assert_eq!(creds.secret_access_key().expose(), "imdssecret");
        assert_eq!(creds.session_token().unwrap().expose(), "imdstoken");
        assert_eq!(creds.expiry(), parse_rfc3339("2099-01-01T00:00:00Z"));
        let reqs = http.requests();
        assert_eq!(reqs[0].method, Method::PUT);
        assert_eq!(reqs[0].url.as_str(), "http://169.254.169.254/latest/api/token");
        assert_eq!(reqs[0].headers[TOKEN_TTL_HEADER], "21600");
        assert_eq!(reqs[1].method, Method::GET);
        assert_eq!(reqs[1].url.path(), "/latest/meta-data/iam/security-credentials/");
        assert_eq!(reqs[1].headers[TOKEN_HEADER], "TOKEN-A");
        assert_eq!(reqs[2].url.path(), "/latest/meta-data/iam/security-credentials/my-role");
        assert_eq!(reqs[2].headers[TOKEN_HEADER], "TOKEN-A", "the token is reused");
        assert_eq!(reqs.len(), 3);
    }

    #[tokio::test]
    async fn connect_errors_and_timeouts_are_not_retried() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::error(TransportErrorKind::Connect));
        let config = replay_config(http.clone(), &[]);
        let e = ImdsClient::new(&config).get("/latest/meta-data/instance-id").await.unwrap_err();
        assert!(matches!(e, ImdsError::Unreachable { .. }), "{e:?}");
        assert_eq!(http.requests().len(), 1);
        let e = ImdsCredentialsProvider::new(&config).provide_credentials().await;
        assert!(e.unwrap_err().is_not_loaded());

        // A real refused connection (nothing listens on the port) maps to the same error (the
        // single attempt is proven with the canned transport above, without wall-clock timing).
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let config = ProviderConfig::with_http(ReqwestSend::shared(&HttpClientConfig::default()).unwrap())
            .env(Env::from_pairs([("AWS_EC2_METADATA_SERVICE_ENDPOINT", format!("http://127.0.0.1:{port}"))]));
        let e = ImdsClient::new(&config).get("/latest/meta-data/instance-id").await.unwrap_err();
        assert!(matches!(e, ImdsError::Unreachable { .. }), "{e:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn attempt_timeout_is_one_second_and_not_retried() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::hang());
        let config = replay_config(http.clone(), &[]);
        let started = Instant::now();
        let e = ImdsClient::new(&config).get("/latest/meta-data/instance-id").await.unwrap_err();
        assert!(matches!(e, ImdsError::Timeout { .. }), "{e:?}");
        assert_eq!(started.elapsed(), Duration::from_secs(1));
        assert_eq!(http.requests().len(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn server_errors_are_retried_up_to_four_attempts() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(503, "")); // token PUT
        http.push(Canned::status(200, "tok"));
        http.push(Canned::status(500, "")); // GET
        http.push(Canned::status(502, ""));
        http.push(Canned::status(500, ""));
        let config = replay_config(http.clone(), &[]);
        let e = ImdsClient::new(&config).get("/latest/meta-data/instance-id").await.unwrap_err();
        assert!(matches!(e, ImdsError::ErrorResponse { status: 500, attempts: 4, .. }), "{e:?}");
        assert_eq!(http.requests().len(), 5);

        http.push(Canned::status(200, "tok"));
        http.push(Canned::status(503, ""));
        http.push(Canned::status(200, "i-0123"));
        let client = ImdsClient::new(&config);
        assert_eq!(client.get("/latest/meta-data/instance-id").await.unwrap(), "i-0123");
        assert_eq!(http.requests().len(), 8);
    }

    /// Issue 15, defect 11: the token cache held its lock while one task asked for a token; when
    /// that failed, every task that had queued behind it sent its own request, one after another.
    /// Now the waiting tasks share the failure: fifty callers, one token request.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_callers_share_one_failed_token_request() {
        let server = TestServer::start(|req| {
            if req.method == Method::PUT {
                std::thread::sleep(Duration::from_millis(200));
                return Canned::status(500, "");
            }
            Canned::status(200, "i-0123")
        })
        .unwrap();
        let client = ImdsClient::new(&server_config(&server))
            .with_attempt_timeout(SLOW_MACHINE_TIMEOUT)
            .with_retry_config(RetryConfig::disabled());
        let callers: Vec<_> = (0..50)
            .map(|_| {
                let client = client.clone();
                tokio::spawn(async move { client.get("/latest/meta-data/instance-id").await })
            })
            .collect();
        for caller in callers {
            let e = caller.await.unwrap().unwrap_err();
            assert!(matches!(e, ImdsError::ErrorResponse { status: 500, .. }), "{e:?}");
        }
        assert_eq!(server.requests().len(), 1, "one token request for fifty callers");
    }

    /// A typed failure of the token request (here: IMDS unreachable) is shared the same way and
    /// keeps its kind, so the credentials provider still hands on to the next source.
    #[tokio::test]
    async fn a_shared_failure_keeps_its_kind() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::error(TransportErrorKind::Connect));
        let client = ImdsClient::new(&replay_config(http.clone(), &[]));
        for _ in 0..3 {
            let e = client.get("/latest/meta-data/instance-id").await.unwrap_err();
            assert!(matches!(e, ImdsError::Unreachable { .. }), "{e:?}");
        }
        let provider = ImdsCredentialsProvider::with_client(client);
        assert!(provider.provide_credentials().await.unwrap_err().is_not_loaded());
        assert_eq!(http.requests().len(), 1, "within the backoff nothing is sent again");
    }

    /// Issue 15, defect 13: answers were cut at 1 MiB without a word (a longer token or document
    /// was used truncated). A longer answer is a decode error.
    #[tokio::test]
    async fn an_answer_over_one_mebibyte_is_a_decode_error() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, "tok"));
        http.push(Canned::status(200, "i".repeat(MAX_RESPONSE_BODY + 1)));
        let client = ImdsClient::new(&replay_config(http.clone(), &[]));
        let e = client.get("/latest/meta-data/instance-id").await.unwrap_err();
        assert!(matches!(&e, ImdsError::Decode { path, .. } if path == "/latest/meta-data/instance-id"), "{e:?}");
        assert!(e.to_string().contains("larger than 1048576 bytes") && !e.is_unavailable(), "{e}");
        http.push(Canned::status(200, "i".repeat(MAX_RESPONSE_BODY)));
        assert_eq!(client.get("/latest/meta-data/instance-id").await.unwrap().len(), MAX_RESPONSE_BODY);

        // a huge credentials document is a provider error, not "no credentials here"
        http.push(Canned::status(200, "tok"));
        http.push(Canned::status(200, "role"));
        http.push(Canned::status(200, format!("{{\"pad\":\"{}\"}}", " ".repeat(MAX_RESPONSE_BODY))));
        let e =
            ImdsCredentialsProvider::new(&replay_config(http.clone(), &[])).provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::ProviderError { .. }), "{e:?}");
    }

    /// Issue 15, defect 15: `with_token_ttl(Duration::MAX)` panicked adding it to the clock. The
    /// TTL is kept within what IMDS grants (1 s to 6 h).
    #[tokio::test(start_paused = true)]
    async fn token_ttl_is_kept_within_what_imds_grants() {
        for (ttl, sent) in [(Duration::MAX, "21600"), (Duration::ZERO, "1"), (Duration::from_millis(90_500), "90")] {
            let http = Arc::new(ReplayHttp::new());
            http.push(Canned::status(200, "tok"));
            http.push(Canned::status(200, "i-0123"));
            let client = ImdsClient::new(&replay_config(http.clone(), &[])).with_token_ttl(ttl);
            assert_eq!(client.get("/latest/meta-data/instance-id").await.unwrap(), "i-0123");
            assert_eq!(http.requests()[0].headers[TOKEN_TTL_HEADER], sent);
        }
    }

    /// Issue 15, defect 16: redirects were followed, and the session token went along to the
    /// redirect target. IMDS never redirects: a 3xx is an error, and nothing reaches the target.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_session_token_never_follows_a_redirect() {
        let elsewhere = TestServer::start(|_| Canned::status(200, "i-elsewhere")).unwrap();
        let target = elsewhere.url("/latest/meta-data/instance-id").to_string();
        let server = TestServer::start(move |req| {
            if req.method == Method::PUT {
                return Canned::status(200, "SESSIONTOKEN");
            }
            Canned::status(302, "").with_header("location", &target)
        })
        .unwrap();
        let client = ImdsClient::new(&server_config(&server)).with_attempt_timeout(SLOW_MACHINE_TIMEOUT);
        let e = client.get("/latest/meta-data/instance-id").await.unwrap_err();
        assert!(matches!(e, ImdsError::ErrorResponse { status: 302, .. }), "{e:?}");
        assert!(elsewhere.requests().is_empty(), "the redirect target was contacted: {:?}", elsewhere.requests());
        let get = server.requests().into_iter().find(|r| r.method == Method::GET).unwrap();
        assert_eq!(get.headers[TOKEN_HEADER], "SESSIONTOKEN");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn token_is_reused_across_requests() {
        let (server, issued) = imds_server(|t| t.starts_with('t'));
        let client = ImdsClient::new(&server_config(&server)).with_attempt_timeout(SLOW_MACHINE_TIMEOUT);
        for _ in 0..3 {
            assert_eq!(client.get("/latest/meta-data/placement/region").await.unwrap(), "eu-north-1");
        }
        assert_eq!(issued.load(Ordering::SeqCst), 1);
        let puts = server.requests().iter().filter(|r| r.method == Method::PUT).count();
        assert_eq!(puts, 1);
        // a new client has its own token
        assert_eq!(
            region_from(&ImdsClient::new(&server_config(&server)).with_attempt_timeout(SLOW_MACHINE_TIMEOUT))
                .await
                .as_deref(),
            Some("eu-north-1")
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unauthorized_drops_the_token_and_gets_a_new_one() {
        // Only the second token is accepted: the first GET gets 401, the client fetches `t2`.
        let (server, issued) = imds_server(|t| t == "t2");
        let client = ImdsClient::new(&server_config(&server)).with_attempt_timeout(SLOW_MACHINE_TIMEOUT);
        assert_eq!(client.get("/latest/meta-data/placement/region").await.unwrap(), "eu-north-1");
        assert_eq!(issued.load(Ordering::SeqCst), 2);
        let tokens: Vec<_> = server
            .requests()
            .iter()
            .filter(|r| r.method == Method::GET)
            .map(|r| r.headers[TOKEN_HEADER].to_str().unwrap().to_owned())
            .collect();
        assert_eq!(tokens, ["t1", "t2"]);
    }

    #[tokio::test(start_paused = true)]
    async fn token_is_refreshed_120_seconds_before_its_ttl_ends() {
        let http = Arc::new(ReplayHttp::new());
        let client = ImdsClient::new(&replay_config(http.clone(), &[])).with_token_ttl(Duration::from_secs(300));
        http.push(Canned::status(200, "first"));
        http.push(Canned::status(200, "a"));
        client.get("/x").await.unwrap();
        tokio::time::advance(Duration::from_secs(179)).await;
        http.push(Canned::status(200, "b"));
        client.get("/x").await.unwrap();
        tokio::time::advance(Duration::from_secs(2)).await; // 181 s: within 120 s of 300 s
        http.push(Canned::status(200, "second"));
        http.push(Canned::status(200, "c"));
        client.get("/x").await.unwrap();
        let reqs = http.requests();
        let methods: Vec<_> = reqs.iter().map(|r| r.method.as_str().to_owned()).collect();
        assert_eq!(methods, ["PUT", "GET", "GET", "PUT", "GET"]);
        assert_eq!(reqs[0].headers[TOKEN_TTL_HEADER], "300");
        assert_eq!(reqs[4].headers[TOKEN_HEADER], "second");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn forbidden_token_request_means_disabled() {
        let server = TestServer::start(|_| Canned::status(403, "")).unwrap();
        let config = server_config(&server);
        assert_disabled(&config).await;
        assert_eq!(server.requests().len(), 2, "one PUT per call, no retries");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn credentials_from_the_token_flow() {
        let (server, _) = imds_server(|t| t == "t1");
        let client = ImdsClient::new(&server_config(&server)).with_attempt_timeout(SLOW_MACHINE_TIMEOUT);
        let creds = ImdsCredentialsProvider::with_client(client).provide_credentials().await.unwrap();
        assert_eq!(creds.access_key_id(), "ASIAIMDS");
        assert!(server.requests().iter().filter(|r| r.method == Method::GET).all(|r| r.headers[TOKEN_HEADER] == "t1"));
    }

    /// A provider whose IMDS (on `http`) answers a token, the role `role` and `document`.
    fn provider_answering(http: &Arc<ReplayHttp>, document: &str) -> ImdsCredentialsProvider {
        http.push(Canned::status(200, "tok"));
        http.push(Canned::status(200, "role"));
        http.push(Canned::status(200, document.to_owned()));
        ImdsCredentialsProvider::new(&replay_config(http.clone(), &[]))
    }

    #[tokio::test(start_paused = true)]
    async fn expired_credentials_are_extended_with_a_warning() {
        let expired = r#"{"Code":"Success","AccessKeyId":"ASIAOLD","SecretAccessKey":"s","Token":"t","Expiration":"2000-01-01T00:00:00Z"}"#;
        let http = Arc::new(ReplayHttp::new());
        let provider = provider_answering(&http, expired);
        let before = SystemTime::now();
        let creds = provider.provide_credentials().await.unwrap();
        let expiry = creds.expiry().unwrap();
        assert!(expiry >= before + Duration::from_secs(600), "{expiry:?}");
        assert!(expiry <= SystemTime::now() + Duration::from_secs(900), "{expiry:?}");

        // IMDS failing later: the last credentials are reused instead of failing the caller.
        for _ in 0..4 {
            http.push(Canned::status(500, ""));
        }
        let again = provider.provide_credentials().await.unwrap();
        assert_eq!(again.access_key_id(), "ASIAOLD");
    }

    #[tokio::test]
    async fn bad_code_and_missing_profile() {
        let http = Arc::new(ReplayHttp::new());
        let provider = provider_answering(
            &http,
            r#"{"Code":"AssumeRoleUnauthorizedAccess","AccessKeyId":"","SecretAccessKey":""}"#,
        );
        let e = provider.provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::ProviderError { .. }), "{e:?}");
        assert!(e.to_string().contains("AssumeRoleUnauthorizedAccess"), "{e}");

        http.push(Canned::status(200, "tok"));
        http.push(Canned::status(404, ""));
        let e =
            ImdsCredentialsProvider::new(&replay_config(http.clone(), &[])).provide_credentials().await.unwrap_err();
        assert!(e.is_not_loaded(), "no instance profile: {e}");
    }

    #[tokio::test]
    async fn secrets_stay_out_of_debug() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, "SESSIONTOKENSECRET"));
        http.push(Canned::status(200, "us-west-2"));
        let client = ImdsClient::new(&replay_config(http.clone(), &[]));
        client.get("/latest/meta-data/placement/region").await.unwrap();
        let provider = ImdsCredentialsProvider::with_client(client.clone());
        let shown = format!("{client:?} {provider:?}");
        assert!(!shown.contains("SESSIONTOKENSECRET"), "{shown}");
    }
}
