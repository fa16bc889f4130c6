//! IAM Identity Center (SSO) credentials: the access token that `aws sso login` cached in
//! `~/.aws/sso/cache/<sha1 hex of the session name, or of the start URL for legacy profiles>.json`
//! is exchanged for role credentials at the SSO portal
//! (`GET https://portal.sso.{region}.amazonaws.com/federation/credentials`).
//!
//! **Not supported:** refreshing the SSO access token through SSO-OIDC (`CreateToken` with the
//! cached refresh token). An expired token is refused with an error asking the user to run
//! `aws sso login` again.
//!
//! The portal endpoint can be overridden with `AWS_ENDPOINT_URL_SSO` (then `AWS_ENDPOINT_URL`)
//! or [`SsoCredentialsProvider::with_endpoint`].
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_cred_chain::aws::ProviderConfig;
//! use cloudkit_cred_chain::aws::sso::{SsoCredentialsProvider, SsoProfileConfig};
//! use cloudkit_signer::aws::ProvideCredentials;
//!
//! let sso = SsoProfileConfig {
//!     session_name: Some("my-sso".into()),
//!     start_url: "https://d-123.awsapps.com/start".into(),
//!     sso_region: "eu-west-1".into(),
//!     account_id: "123456789012".into(),
//!     role_name: "ReadOnly".into(),
//! };
//! let provider = SsoCredentialsProvider::new(sso, &ProviderConfig::real()?);
//! let credentials = provider.provide_credentials().await?;
//! # let _ = credentials; Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cloudkit_core::{
    HeaderMap, HttpRequest, Method, Operation, ParseError, Pipeline, RetryConfig, SecretString, ServiceErrorDetails,
    StatusCode, Url, request_id_from_headers,
};
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials};
use sha1::{Digest, Sha1};

use super::ProviderConfig;
use cloudkit_core::internal::date::parse_rfc3339;
use cloudkit_core::internal::json::{JsonError, Value};

const PROVIDER_NAME: &str = "SSO";

/// The largest portal answer read (1 MiB; the credentials document is well under 4 KiB). A longer
/// one is an error.
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// The SSO settings of a profile (`sso_session` section or legacy `sso_*` keys).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoProfileConfig {
    /// The `sso_session` name; `None` for legacy profiles (the token cache is then keyed by the start URL).
    pub session_name: Option<String>,
    /// `sso_start_url`.
    pub start_url: String,
    /// `sso_region`: the region of the SSO portal.
    pub sso_region: String,
    /// `sso_account_id`.
    pub account_id: String,
    /// `sso_role_name`.
    pub role_name: String,
}

impl SsoProfileConfig {
    /// The file name of the cached token: sha1 hex of the session name, else of the start URL.
    pub fn cache_file_name(&self) -> String {
        let key = self.session_name.as_deref().unwrap_or(&self.start_url);
        format!("{}.json", hex::encode(Sha1::digest(key.as_bytes())))
    }

    fn login_hint(&self) -> String {
        match &self.session_name {
            Some(session) => format!("run `aws sso login --sso-session {session}`"),
            None => "run `aws sso login` for this profile".to_owned(),
        }
    }
}

/// Role credentials from the SSO portal, using the token cached by `aws sso login`.
///
/// Every load reads the cache file and calls the portal: wrap the provider in the chain's
/// credentials cache. Failures are `ProviderError`s (a configured SSO profile that does not
/// work stops the chain).
#[derive(Clone)]
pub struct SsoCredentialsProvider {
    sso: SsoProfileConfig,
    config: ProviderConfig,
    endpoint: Option<Url>,
}

impl std::fmt::Debug for SsoCredentialsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration's environment is not shown (it may hold secrets).
        f.debug_struct("SsoCredentialsProvider")
            .field("sso", &self.sso)
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .finish_non_exhaustive()
    }
}

impl SsoCredentialsProvider {
    /// A provider for the role `sso.role_name` in account `sso.account_id`.
    pub fn new(sso: SsoProfileConfig, config: &ProviderConfig) -> Self {
        Self { sso, config: config.clone(), endpoint: None }
    }

    /// Sends portal requests to `endpoint` instead of `https://portal.sso.{region}.amazonaws.com`.
    pub fn with_endpoint(mut self, endpoint: Url) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// The token cache file this provider reads.
    pub fn cache_path(&self) -> Result<PathBuf, CredentialsError> {
        let home = self.config.env.home_dir().ok_or_else(|| {
            CredentialsError::invalid_configuration(
                PROVIDER_NAME,
                "cannot find the SSO token cache: no home directory (HOME / USERPROFILE)",
            )
        })?;
        Ok(home.join(".aws").join("sso").join("cache").join(self.sso.cache_file_name()))
    }

    fn portal_endpoint(&self) -> Result<Url, CredentialsError> {
        if let Some(url) = &self.endpoint {
            return Ok(url.clone());
        }
        for var in ["AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL"] {
            if let Some(value) = self.config.env.get_non_empty(var) {
                return Url::parse(value.trim()).map_err(|e| {
                    CredentialsError::invalid_configuration(PROVIDER_NAME, format!("{var} is not a valid URL: {e}"))
                });
            }
        }
        let region = &self.sso.sso_region;
        if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(CredentialsError::invalid_configuration(
                PROVIDER_NAME,
                format!("sso_region `{region}` is not a valid region name"),
            ));
        }
        Url::parse(&format!("https://portal.sso.{region}.amazonaws.com/"))
            .map_err(|e| CredentialsError::invalid_configuration(PROVIDER_NAME, e.to_string()))
    }

    async fn cached_token(&self) -> Result<SecretString, CredentialsError> {
        let path = self.cache_path()?;
        let bytes = self.config.fs.read(&path).await.map_err(|e| {
            CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("no cached SSO token at {} ({e}); {} first", path.display(), self.sso.login_hint()),
                None,
            )
        })?;
        let cached = CachedToken::parse(&bytes).map_err(|e| {
            CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("the SSO token cache {} is not valid JSON ({e}); {}", path.display(), self.sso.login_hint()),
                None,
            )
        })?;
        let expires_at = parse_rfc3339(&cached.expires_at).ok_or_else(|| {
            CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("`expiresAt` in {} is not an RFC 3339 time; {}", path.display(), self.sso.login_hint()),
                None,
            )
        })?;
        if expires_at <= SystemTime::now() {
            return Err(CredentialsError::provider_error(
                PROVIDER_NAME,
                format!(
                    "the SSO access token expired at {}; {} (refreshing it through SSO-OIDC is not supported)",
                    cached.expires_at,
                    self.sso.login_hint()
                ),
                None,
            ));
        }
        let token = SecretString::new(cached.access_token);
        if token.is_empty() {
            return Err(CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("the SSO token cache {} has an empty accessToken; {}", path.display(), self.sso.login_hint()),
                None,
            ));
        }
        Ok(token)
    }
}

/// The token cache file written by `aws sso login` (other fields are ignored).
struct CachedToken {
    access_token: String,
    expires_at: String,
}

impl CachedToken {
    fn parse(bytes: &[u8]) -> Result<Self, JsonError> {
        let doc = Value::parse(bytes)?;
        Ok(Self {
            access_token: doc.required_str("accessToken")?.to_owned(),
            expires_at: doc.required_str("expiresAt")?.to_owned(),
        })
    }
}

/// GetRoleCredentials' `roleCredentials`.
struct RoleCredentials {
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    /// Milliseconds since the epoch.
    expiration: i64,
}

impl RoleCredentials {
    fn parse(body: &[u8]) -> Result<Self, JsonError> {
        let doc = Value::parse(body)?;
        let rc = doc.required_object("roleCredentials")?;
        Ok(Self {
            access_key_id: rc.required_str("accessKeyId")?.to_owned(),
            secret_access_key: rc.required_str("secretAccessKey")?.to_owned(),
            session_token: rc.string_field("sessionToken")?,
            expiration: rc.required_i64("expiration")?,
        })
    }
}

/// The portal's error shape: `x-amzn-ErrorType` header and/or `{"__type": ..., "message": ...}`.
#[derive(Clone, Copy, Debug, Default)]
struct PortalErrorParser;

impl ParseError for PortalErrorParser {
    fn parse(&self, _status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let doc = Value::parse(body).ok();
        let text = |name| doc.as_ref().and_then(|d| d.string_field(name).ok().flatten());
        let header_code = headers.get("x-amzn-errortype").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let code = header_code
            .or_else(|| text("__type"))
            .map(|c| c.split([':', '#']).find(|p| !p.is_empty() && !p.contains('.')).unwrap_or(&c).to_owned());
        let message = text("message").or_else(|| text("Message"));
        ServiceErrorDetails { code, message, request_id: request_id_from_headers(headers) }
    }
}

#[async_trait]
impl ProvideCredentials for SsoCredentialsProvider {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        let token = self.cached_token().await?;
        let mut url = self
            .portal_endpoint()?
            .join("federation/credentials")
            .map_err(|e| CredentialsError::invalid_configuration(PROVIDER_NAME, e.to_string()))?;
        url.query_pairs_mut()
            .append_pair("account_id", &self.sso.account_id)
            .append_pair("role_name", &self.sso.role_name);
        let mut request = HttpRequest::new(Method::GET, url);
        request.insert_header("x-amz-sso_bearer_token", token.expose()).map_err(|_| {
            CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("the cached SSO token has characters HTTP headers cannot carry; {}", self.sso.login_hint()),
                None,
            )
        })?;
        let pipeline = Pipeline::builder("SSO")
            .http(self.config.http.clone())
            .error_parser(Arc::new(PortalErrorParser))
            .retry(RetryConfig::standard())
            .build()
            .map_err(|e| CredentialsError::provider_error(PROVIDER_NAME, e.to_string(), Some(Box::new(e))))?;
        let op = Operation::new("GetRoleCredentials").max_response_body(MAX_RESPONSE_BODY);
        let response = pipeline.send_buffered(&op, request).await.map_err(|e| {
            let hint = if e.status() == Some(StatusCode::UNAUTHORIZED) || e.code() == Some("UnauthorizedException") {
                format!("; the SSO session is no longer valid: {}", self.sso.login_hint())
            } else {
                String::new()
            };
            CredentialsError::provider_error(PROVIDER_NAME, format!("{e}{hint}"), Some(Box::new(e)))
        })?;
        let rc = RoleCredentials::parse(&response.body).map_err(|e| {
            CredentialsError::provider_error(PROVIDER_NAME, format!("unexpected SSO portal answer: {e}"), None)
        })?;
        // Milliseconds since the epoch; a value no clock can hold is refused, not added blindly.
        let expiry = match u64::try_from(rc.expiration) {
            Ok(ms) => Some(UNIX_EPOCH.checked_add(Duration::from_millis(ms)).ok_or_else(|| {
                CredentialsError::provider_error(
                    PROVIDER_NAME,
                    format!("unexpected SSO portal answer: expiration {ms} is out of range"),
                    None,
                )
            })?),
            Err(_) => None,
        };
        Ok(Credentials::new(
            rc.access_key_id,
            SecretString::new(rc.secret_access_key),
            rc.session_token.map(SecretString::new),
            expiry,
            "sso",
        )
        .with_source(format!("SSO (account {}, role {})", self.sso.account_id, self.sso.role_name)))
    }
}

#[cfg(test)]
mod tests {
    //! No emulator exists for the SSO portal: the portal is an in-process HTTP server
    //! (`cloudkit_core::testing::TestServer`) serving the documented JSON, reached through
    //! `AWS_ENDPOINT_URL_SSO`. The token cache is a fake file system.

    use cloudkit_core::testing::{Canned, ReplayHttp, TestServer};
    use cloudkit_core::{HttpClientConfig, HttpSend, ReqwestSend};

    use super::*;
    use crate::aws::{Env, Fs};

    fn sso(session: Option<&str>) -> SsoProfileConfig {
        SsoProfileConfig {
            session_name: session.map(str::to_owned),
            start_url: "https://d-92671207e4.awsapps.com/start".into(),
            sso_region: "us-east-1".into(),
            account_id: "123456789012".into(),
            role_name: "ReadOnly".into(),
        }
    }

    fn token_json(expires: &str) -> String {
        format!(
            r#"{{"startUrl":"https://d-92671207e4.awsapps.com/start","region":"us-east-1","accessToken":"SSOACCESSTOKEN","expiresAt":"{expires}"}}"#
        )
    }

    const PORTAL_OK: &str = r#"{"roleCredentials":{"accessKeyId":"ASIASSO","secretAccessKey":"ssosecret","sessionToken":"ssotoken","expiration":1893456000000}}"#;

    #[test]
    fn cache_file_is_sha1_of_session_name_or_start_url() {
        // sha1("my-sso") and sha1 of the start URL (as the AWS CLI names the files).
        assert_eq!(sso(Some("my-sso")).cache_file_name(), format!("{}.json", hex::encode(Sha1::digest(b"my-sso"))));
        assert_eq!(
            sso(None).cache_file_name(),
            format!("{}.json", hex::encode(Sha1::digest(b"https://d-92671207e4.awsapps.com/start")))
        );
        assert_eq!(hex::encode(Sha1::digest(b"abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn portal_exchange_against_a_served_portal() {
        let server = TestServer::start(|req| {
            let ok = req.url.path() == "/federation/credentials"
                && req.headers.get("x-amz-sso_bearer_token").is_some_and(|v| v == "SSOACCESSTOKEN");
            if ok { Canned::status(200, PORTAL_OK) } else { Canned::status(403, "{}") }
        })
        .unwrap();
        let config = sso(Some("my-sso"));
        let cache = PathBuf::from("/home/u/.aws/sso/cache").join(config.cache_file_name());
        let endpoint = server.base_url().to_string();
        let pc = ProviderConfig::with_http(ReqwestSend::shared(&HttpClientConfig::default()).unwrap())
            .env(Env::from_pairs([("HOME", "/home/u"), ("AWS_ENDPOINT_URL_SSO", endpoint.as_str())]))
            .fs(Fs::from_files([(cache, token_json("2099-01-01T00:00:00Z"))]));
        let creds = SsoCredentialsProvider::new(config, &pc).provide_credentials().await.unwrap();
        assert_eq!(creds.access_key_id(), "ASIASSO");
        assert_eq!(creds.secret_access_key().expose(), "ssosecret");
        assert_eq!(creds.session_token().unwrap().expose(), "ssotoken");
        assert_eq!(creds.expiry(), Some(UNIX_EPOCH + Duration::from_secs(1_893_456_000)));
        let req = &server.requests()[0];
        let q: Vec<(String, String)> = req.url.query_pairs().into_owned().collect();
        assert_eq!(q, [("account_id".into(), "123456789012".into()), ("role_name".into(), "ReadOnly".into())]);
    }

    #[tokio::test]
    async fn default_portal_url_and_legacy_cache_key() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, PORTAL_OK));
        let mut config = sso(None);
        config.sso_region = "eu-west-1".into();
        let cache = PathBuf::from("/h/.aws/sso/cache").join(config.cache_file_name());
        let pc = ProviderConfig::with_http(http.clone() as Arc<dyn HttpSend>)
            .env(Env::from_pairs([("HOME", "/h")]))
            .fs(Fs::from_files([(cache, token_json("2099-01-01T00:00:00Z"))]));
        SsoCredentialsProvider::new(config, &pc).provide_credentials().await.unwrap();
        let req = &http.requests()[0];
        assert_eq!(
            req.url.as_str(),
            "https://portal.sso.eu-west-1.amazonaws.com/federation/credentials?account_id=123456789012&role_name=ReadOnly"
        );
        assert_eq!(req.method, Method::GET);
    }

    #[tokio::test]
    async fn expired_or_missing_token_asks_for_sso_login() {
        let http = Arc::new(ReplayHttp::new());
        let config = sso(Some("my-sso"));
        let cache = PathBuf::from("/h/.aws/sso/cache").join(config.cache_file_name());
        let pc = ProviderConfig::with_http(http.clone() as Arc<dyn HttpSend>)
            .env(Env::from_pairs([("HOME", "/h")]))
            .fs(Fs::from_files([(cache, token_json("2020-01-01T00:00:00Z"))]));
        let e = SsoCredentialsProvider::new(config.clone(), &pc).provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::ProviderError { .. }), "{e:?}");
        let text = e.to_string();
        assert!(text.contains("expired") && text.contains("aws sso login --sso-session my-sso"), "{text}");
        assert!(!text.contains("SSOACCESSTOKEN"));

        let pc = pc.fs(Fs::from_files::<&str, &str>([]));
        let e = SsoCredentialsProvider::new(config, &pc).provide_credentials().await.unwrap_err();
        assert!(e.to_string().contains("no cached SSO token") && e.to_string().contains("aws sso login"), "{e}");
        assert!(!e.is_not_loaded());
        assert!(http.requests().is_empty());
    }

    #[tokio::test]
    async fn unauthorized_portal_answer_is_typed_and_hints_login() {
        let http = Arc::new(ReplayHttp::new());
        http.push(
            Canned::status(401, r#"{"message":"Session token not found or invalid"}"#)
                .with_header("x-amzn-errortype", "UnauthorizedException:http://internal.amazon.com/coral/"),
        );
        let config = sso(Some("s"));
        let cache = PathBuf::from("/h/.aws/sso/cache").join(config.cache_file_name());
        let pc = ProviderConfig::with_http(http.clone() as Arc<dyn HttpSend>)
            .env(Env::from_pairs([("HOME", "/h")]))
            .fs(Fs::from_files([(cache, token_json("2099-01-01T00:00:00Z"))]));
        let e = SsoCredentialsProvider::new(config, &pc).provide_credentials().await.unwrap_err();
        let text = format!("{e} {e:?}");
        assert!(text.contains("UnauthorizedException") && text.contains("aws sso login"), "{text}");
        assert!(!text.contains("SSOACCESSTOKEN"), "{text}");
        assert_eq!(http.requests()[0].headers["x-amz-sso_bearer_token"], "SSOACCESSTOKEN");
    }

    fn provider_for(server: &TestServer) -> SsoCredentialsProvider {
        let config = sso(Some("s"));
        let cache = PathBuf::from("/h/.aws/sso/cache").join(config.cache_file_name());
        let pc = ProviderConfig::with_http(ReqwestSend::shared(&HttpClientConfig::default()).unwrap())
            .env(Env::from_pairs([("HOME", "/h")]))
            .fs(Fs::from_files([(cache, token_json("2099-01-01T00:00:00Z"))]));
        SsoCredentialsProvider::new(config, &pc).with_endpoint(server.base_url())
    }

    /// Issue 15, defect 13: the portal's answer was read up to the pipeline's default (64 MiB).
    /// More than 1 MiB is an error now.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_huge_portal_answer_is_an_error() {
        let huge = format!("{{\"pad\":\"{}\"}}", " ".repeat(MAX_RESPONSE_BODY));
        let server = TestServer::start(move |_| Canned::status(200, huge.clone())).unwrap();
        let e = provider_for(&server).provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::ProviderError { .. }), "{e:?}");
        assert!(e.to_string().contains("larger than the 1048576 bytes"), "{e}");
        assert_eq!(server.requests().len(), 1, "not retried");
    }

    /// Issue 15, defect 16: a redirect from the portal is not followed; the bearer token goes
    /// nowhere else.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_bearer_token_never_follows_a_redirect() {
        let elsewhere = TestServer::start(|_| Canned::status(200, PORTAL_OK)).unwrap();
        let target = elsewhere.url("/federation/credentials").to_string();
        let server = TestServer::start(move |_| Canned::status(307, "").with_header("location", &target)).unwrap();
        let e = provider_for(&server).provide_credentials().await.unwrap_err();
        assert!(e.to_string().contains("307"), "{e}");
        assert!(elsewhere.requests().is_empty(), "{:?}", elsewhere.requests());
    }
}
