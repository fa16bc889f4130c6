//! Container credentials: the ECS task role endpoint and EKS Pod Identity.
//!
//! - `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (ECS) is appended to `http://169.254.170.2`.
//! - Otherwise `AWS_CONTAINER_CREDENTIALS_FULL_URI`, which must be `https`, or `http` to a host
//!   whose every address is loopback (`127.0.0.0/8`, `::1`), `169.254.170.2` (ECS),
//!   `169.254.170.23` or `fd00:ec2::23` (EKS Pod Identity).
//! - The `Authorization` header comes from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (re-read on
//!   every load) or `AWS_CONTAINER_AUTHORIZATION_TOKEN`.
//!
//! Timeouts are short (5 s per attempt, 3 attempts). The connect timeout is the shared HTTP
//! client's (3.1 s by default); the 5 s attempt limit bounds it as well.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_cred_chain::aws::ProviderConfig;
//! use cloudkit_cred_chain::aws::container::ContainerCredentialsProvider;
//! use cloudkit_signer::aws::ProvideCredentials;
//!
//! let provider = ContainerCredentialsProvider::new(&ProviderConfig::real()?);
//! let credentials = provider.provide_credentials().await?;
//! # let _ = credentials; Ok(()) }
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cloudkit_core::{
    HeaderMap, HttpRequest, Method, Operation, ParseError, Pipeline, RetryConfig, SecretString, ServiceErrorDetails,
    StatusCode, TimeoutConfig, Url, request_id_from_headers,
};
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials};

use super::ProviderConfig;
use cloudkit_core::internal::date::parse_rfc3339;
use cloudkit_core::internal::json::{JsonError, Value};

const PROVIDER_NAME: &str = "ContainerCredentials";
/// The ECS credentials endpoint that `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` is relative to.
pub const ECS_ENDPOINT: &str = "http://169.254.170.2";
/// Time limit of one attempt.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per load.
pub const MAX_ATTEMPTS: u32 = 3;
/// The largest answer read (1 MiB; the credentials document is well under 4 KiB). A longer one
/// is an error.
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// Credentials from the ECS/EKS container credentials endpoint.
///
/// Loading returns `NotLoaded` when neither URI variable is set and `InvalidConfiguration` for a
/// full URI that is not allowed. Every load calls the endpoint: wrap the provider in the chain's
/// credentials cache.
#[derive(Clone)]
pub struct ContainerCredentialsProvider {
    config: ProviderConfig,
}

impl std::fmt::Debug for ContainerCredentialsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration's environment may hold the authorization token: not shown.
        f.debug_struct("ContainerCredentialsProvider").finish_non_exhaustive()
    }
}

impl ContainerCredentialsProvider {
    /// A provider reading its settings from `config.env` at every load.
    pub fn new(config: &ProviderConfig) -> Self {
        Self { config: config.clone() }
    }

    fn pipeline(&self) -> Result<Pipeline, CredentialsError> {
        Pipeline::builder("ContainerCredentials")
            .http(self.config.http.clone())
            .error_parser(Arc::new(ContainerErrorParser))
            .retry(
                RetryConfig::standard()
                    .with_max_attempts(MAX_ATTEMPTS)
                    .with_initial_backoff(Duration::from_millis(500)),
            )
            .timeouts(TimeoutConfig {
                attempt: Some(ATTEMPT_TIMEOUT),
                operation: Some(ATTEMPT_TIMEOUT * MAX_ATTEMPTS + Duration::from_secs(5)),
            })
            .build()
            .map_err(|e| CredentialsError::provider_error(PROVIDER_NAME, e.to_string(), Some(Box::new(e))))
    }

    /// The endpoint credentials are fetched from, after validation. `Ok(None)` when no URI
    /// variable is set.
    pub async fn endpoint(&self) -> Result<Option<Url>, CredentialsError> {
        let env = &self.config.env;
        if let Some(relative) = env.get_non_empty("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            let relative = relative.trim();
            let sep = if relative.starts_with('/') { "" } else { "/" };
            let url = Url::parse(&format!("{ECS_ENDPOINT}{sep}{relative}")).map_err(|e| {
                CredentialsError::invalid_configuration(
                    PROVIDER_NAME,
                    format!("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI `{relative}` does not form a URL: {e}"),
                )
            })?;
            return Ok(Some(url));
        }
        let Some(full) = env.get_non_empty("AWS_CONTAINER_CREDENTIALS_FULL_URI") else {
            return Ok(None);
        };
        let url = Url::parse(full.trim()).map_err(|e| {
            CredentialsError::invalid_configuration(
                PROVIDER_NAME,
                format!("AWS_CONTAINER_CREDENTIALS_FULL_URI is not a valid URL: {e}"),
            )
        })?;
        validate_full_uri(&url).await?;
        Ok(Some(url))
    }

    async fn authorization(&self) -> Result<Option<SecretString>, CredentialsError> {
        let env = &self.config.env;
        let (token, source) = if let Some(file) = env.get_non_empty("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            let path = PathBuf::from(file);
            let text = self.config.fs.read_to_string(&path).await.map_err(|e| {
                CredentialsError::provider_error(
                    PROVIDER_NAME,
                    format!("could not read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE {}", path.display()),
                    Some(Box::new(e)),
                )
            })?;
            // A trailing newline from `echo` is not part of the token.
            (SecretString::new(text.trim_end_matches(['\r', '\n'])), "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
        } else if let Some(token) = env.get_non_empty("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            (SecretString::new(token), "AWS_CONTAINER_AUTHORIZATION_TOKEN")
        } else {
            return Ok(None);
        };
        if token.expose().contains(['\r', '\n']) {
            return Err(CredentialsError::invalid_configuration(
                PROVIDER_NAME,
                format!("the authorization token from {source} contains a line break"),
            ));
        }
        Ok(Some(token))
    }
}

/// Checks a full URI: `https`, or `http` to a host whose every address is allowed.
async fn validate_full_uri(url: &Url) -> Result<(), CredentialsError> {
    let refuse = |why: String| {
        CredentialsError::invalid_configuration(
            PROVIDER_NAME,
            format!(
                "AWS_CONTAINER_CREDENTIALS_FULL_URI {}: {why}; it must be https, or http to a loopback address, \
                 169.254.170.2, 169.254.170.23 or fd00:ec2::23",
                cloudkit_core::redact_url(url)
            ),
        )
    };
    match url.scheme() {
        "https" => return Ok(()),
        "http" => {}
        other => return Err(refuse(format!("scheme `{other}` is not allowed"))),
    }
    let addresses: Vec<IpAddr> = match url.host() {
        Some(url::Host::Ipv4(ip)) => vec![IpAddr::V4(ip)],
        Some(url::Host::Ipv6(ip)) => vec![IpAddr::V6(ip)],
        Some(url::Host::Domain(name)) => {
            let port = url.port_or_known_default().unwrap_or(80);
            match tokio::net::lookup_host((name, port)).await {
                Ok(addrs) => addrs.map(|a| a.ip()).collect(),
                Err(e) => return Err(refuse(format!("host `{name}` could not be resolved ({e})"))),
            }
        }
        None => return Err(refuse("no host".into())),
    };
    if addresses.is_empty() {
        return Err(refuse("the host resolves to no address".into()));
    }
    if let Some(bad) = addresses.iter().find(|ip| !is_allowed_ip(**ip)) {
        return Err(refuse(format!("address {bad} is not allowed")));
    }
    Ok(())
}

/// Whether `ip` may serve container credentials over plain http.
pub fn is_allowed_ip(ip: IpAddr) -> bool {
    const ECS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 2);
    const EKS: Ipv4Addr = Ipv4Addr::new(169, 254, 170, 23);
    const EKS_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x23);
    match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4 == ECS || v4 == EKS,
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_allowed_ip(IpAddr::V4(v4));
            }
            v6.is_loopback() || v6 == EKS_V6
        }
    }
}

/// The endpoint's error body: `{"code": "...", "message": "..."}`.
#[derive(Clone, Copy, Debug, Default)]
struct ContainerErrorParser;

impl ParseError for ContainerErrorParser {
    fn parse(&self, _status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let request_id = request_id_from_headers(headers);
        let fields = Value::parse(body).and_then(|doc| Ok((doc.string_field("code")?, doc.string_field("message")?)));
        match fields {
            Ok((code, message)) => ServiceErrorDetails { code, message, request_id },
            Err(_) => {
                let text = cloudkit_core::internal::excerpt(&String::from_utf8_lossy(body), 300);
                ServiceErrorDetails { code: None, message: (!text.is_empty()).then_some(text), request_id }
            }
        }
    }
}

/// The JSON credentials document of the container endpoint and of IMDS: `AccessKeyId`,
/// `SecretAccessKey`, `Token`, `Expiration`, and (IMDS only) `Code`.
pub(super) struct CredentialsDocument {
    pub(super) code: Option<String>,
    pub(super) access_key_id: String,
    pub(super) secret_access_key: String,
    pub(super) token: Option<String>,
    pub(super) expiration: Option<String>,
}

impl CredentialsDocument {
    /// Reads the document; errors name the field, never a value.
    pub(super) fn parse(body: &[u8]) -> Result<Self, JsonError> {
        let doc = Value::parse(body)?;
        Ok(Self {
            code: doc.string_field("Code")?,
            access_key_id: doc.required_str("AccessKeyId")?.to_owned(),
            secret_access_key: doc.required_str("SecretAccessKey")?.to_owned(),
            token: doc.string_field("Token")?,
            expiration: doc.string_field("Expiration")?,
        })
    }
}

#[async_trait]
impl ProvideCredentials for ContainerCredentialsProvider {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        let Some(url) = self.endpoint().await? else {
            return Err(CredentialsError::not_loaded(
                PROVIDER_NAME,
                "neither AWS_CONTAINER_CREDENTIALS_RELATIVE_URI nor AWS_CONTAINER_CREDENTIALS_FULL_URI is set",
            ));
        };
        let mut request = HttpRequest::new(Method::GET, url);
        let header_error = |e: cloudkit_core::InvalidHeader| {
            CredentialsError::invalid_configuration(PROVIDER_NAME, format!("bad authorization token: {}", e.reason))
        };
        request.insert_header("accept", "application/json").map_err(header_error)?;
        if let Some(token) = self.authorization().await? {
            request.insert_header("authorization", token.expose()).map_err(header_error)?;
        }
        let response = self
            .pipeline()?
            .send_buffered(&Operation::new("GetCredentials").max_response_body(MAX_RESPONSE_BODY), request)
            .await
            .map_err(|e| CredentialsError::provider_error(PROVIDER_NAME, e.to_string(), Some(Box::new(e))))?;
        let wire = CredentialsDocument::parse(&response.body).map_err(|e| {
            CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("the container endpoint's answer is not the expected JSON: {e}"),
                None,
            )
        })?;
        let expiry = match wire.expiration.as_deref() {
            None => None,
            Some(text) => Some(parse_rfc3339(text).ok_or_else(|| {
                CredentialsError::provider_error(
                    PROVIDER_NAME,
                    format!("Expiration `{text}` is not an RFC 3339 time"),
                    None,
                )
            })?),
        };
        Ok(Credentials::new(
            wire.access_key_id,
            SecretString::new(wire.secret_access_key),
            wire.token.map(SecretString::new),
            expiry,
            "container",
        )
        .with_source("container (the ECS/EKS credentials endpoint)"))
    }
}

#[cfg(test)]
mod tests {
    //! No emulator exists for the ECS/EKS credentials endpoint: these tests serve the documented
    //! JSON from an in-process HTTP server (`cloudkit_core::testing::TestServer`) and use a
    //! full URI on 127.0.0.1, which the allow-list accepts.

    use std::sync::atomic::{AtomicU32, Ordering};

    use cloudkit_core::testing::{Canned, ReplayHttp, TestServer};
    use cloudkit_core::{HttpClientConfig, HttpSend, ReqwestSend};

    use super::*;
    use crate::aws::{Env, Fs};

    const OK: &str = r#"{"AccessKeyId":"ASIACONTAINER","SecretAccessKey":"containersecret","Token":"containertoken","Expiration":"2030-05-01T12:00:00Z","RoleArn":"arn:aws:iam::123456789012:role/task"}"#;

    fn real_http() -> Arc<dyn HttpSend> {
        ReqwestSend::shared(&HttpClientConfig::default()).unwrap()
    }

    fn cfg(pairs: &[(&str, &str)]) -> ProviderConfig {
        ProviderConfig::with_http(real_http())
            .env(Env::from_pairs(pairs.iter().copied()))
            .fs(Fs::from_files::<&str, &str>([]))
    }

    #[tokio::test]
    async fn nothing_set_is_not_loaded() {
        let e = ContainerCredentialsProvider::new(&cfg(&[])).provide_credentials().await.unwrap_err();
        assert!(e.is_not_loaded(), "{e}");
    }

    #[tokio::test]
    async fn relative_uri_goes_to_the_ecs_address_and_wins_over_full() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, OK));
        let config = ProviderConfig::with_http(http.clone()).env(Env::from_pairs([
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/abc?x=1"),
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://evil.example.com/"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "Basic abc"),
        ]));
        let creds = ContainerCredentialsProvider::new(&config).provide_credentials().await.unwrap();
        assert_eq!(creds.access_key_id(), "ASIACONTAINER");
        assert_eq!(creds.secret_access_key().expose(), "containersecret");
        assert_eq!(creds.session_token().unwrap().expose(), "containertoken");
        assert_eq!(creds.expiry(), parse_rfc3339("2030-05-01T12:00:00Z"));
        let req = &http.requests()[0];
        assert_eq!(req.url.as_str(), "http://169.254.170.2/v2/credentials/abc?x=1");
        assert_eq!(req.headers["authorization"], "Basic abc");
    }

    #[tokio::test]
    async fn full_uri_allow_list() {
        for ok in [
            "http://127.0.0.1:8080/creds",
            "http://127.0.0.2/creds",
            "http://[::1]/creds",
            "http://169.254.170.2/creds",
            "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials",
            "http://localhost:9911/creds",
            "https://creds.example.com/anything",
        ] {
            let p = ContainerCredentialsProvider::new(&cfg(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", ok)]));
            assert!(p.endpoint().await.unwrap().is_some(), "{ok}");
        }
        for bad in [
            "http://169.254.169.254/latest",
            "http://10.0.0.1/creds",
            "http://[fd00:ec2::254]/creds",
            "ftp://127.0.0.1/creds",
            "http://host.invalid/creds",
            "not a url",
        ] {
            let p = ContainerCredentialsProvider::new(&cfg(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", bad)]));
            let e = p.provide_credentials().await.unwrap_err();
            assert!(matches!(e, CredentialsError::InvalidConfiguration { .. }), "{bad}: {e:?}");
        }
    }

    #[tokio::test]
    async fn served_credentials_with_token_file_reread_each_load() {
        let server = TestServer::start(|req| match req.headers.get("authorization").and_then(|v| v.to_str().ok()) {
            Some("token-1" | "token-2") => Canned::status(200, OK),
            _ => Canned::status(401, r#"{"code":"AccessDenied","message":"bad token"}"#),
        })
        .unwrap();
        let dir = std::env::temp_dir().join(format!("cloudkit-container-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let token_file = dir.join("token");
        std::fs::write(&token_file, "token-1\n").unwrap();
        let uri = server.url("/v1/credentials").to_string();
        let config = ProviderConfig::with_http(real_http()).env(Env::from_pairs([
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", token_file.to_str().unwrap()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "ignored-because-file-wins"),
        ]));
        let p = ContainerCredentialsProvider::new(&config);
        assert_eq!(p.provide_credentials().await.unwrap().access_key_id(), "ASIACONTAINER");
        std::fs::write(&token_file, "token-2").unwrap();
        p.provide_credentials().await.unwrap();
        std::fs::write(&token_file, "wrong").unwrap();
        let e = p.provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::ProviderError { .. }));
        assert!(e.to_string().contains("AccessDenied") && e.to_string().contains("bad token"), "{e}");
        let seen: Vec<_> =
            server.requests().iter().map(|r| r.headers["authorization"].to_str().unwrap().to_owned()).collect();
        assert_eq!(seen, ["token-1", "token-2", "wrong"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn token_with_line_break_is_refused() {
        let p = ContainerCredentialsProvider::new(&cfg(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:1/creds"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "abc\r\nx-injected: 1"),
        ]));
        let e = p.provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::InvalidConfiguration { .. }), "{e:?}");
        assert!(!e.to_string().contains("x-injected"), "the token is not echoed: {e}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn server_errors_are_retried_a_few_times() {
        let calls = Arc::new(AtomicU32::new(0));
        let counter = calls.clone();
        let server = TestServer::start(move |_| {
            if counter.fetch_add(1, Ordering::SeqCst) == 0 {
                Canned::status(500, r#"{"code":"InternalError","message":"try again"}"#)
            } else {
                Canned::status(200, OK)
            }
        })
        .unwrap();
        let uri = server.url("/creds").to_string();
        let p = ContainerCredentialsProvider::new(&cfg(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str())]));
        p.provide_credentials().await.unwrap();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn secrets_stay_out_of_errors_and_debug() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(
            200,
            r#"{"AccessKeyId":"A","SecretAccessKey":"SEKRET","Token":"TOKVAL","Expiration":"garbage"}"#,
        ));
        let config = ProviderConfig::with_http(http.clone()).env(Env::from_pairs([
            ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/c"),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "AUTHSECRET"),
        ]));
        let p = ContainerCredentialsProvider::new(&config);
        let e = p.provide_credentials().await.unwrap_err();
        let shown = format!("{e} {e:?} {p:?}");
        for secret in ["SEKRET", "TOKVAL", "AUTHSECRET"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }

    /// Issue 15, defect 13: the endpoint's answer was read up to the pipeline's default (64 MiB).
    /// More than 1 MiB is an error now.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_huge_answer_is_an_error() {
        let huge = format!("{{\"pad\":\"{}\"}}", " ".repeat(MAX_RESPONSE_BODY));
        let server = TestServer::start(move |_| Canned::status(200, huge.clone())).unwrap();
        let uri = server.url("/creds").to_string();
        let p = ContainerCredentialsProvider::new(&cfg(&[("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str())]));
        let e = p.provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::ProviderError { .. }), "{e:?}");
        assert!(e.to_string().contains("larger than the 1048576 bytes"), "{e}");
        assert_eq!(server.requests().len(), 1, "not retried");
    }

    /// Issue 15, defect 16: a redirect is not followed; the authorization token goes nowhere else.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_authorization_token_never_follows_a_redirect() {
        let elsewhere = TestServer::start(|_| Canned::status(200, OK)).unwrap();
        let target = elsewhere.url("/creds").to_string();
        let server = TestServer::start(move |_| Canned::status(302, "").with_header("location", &target)).unwrap();
        let uri = server.url("/creds").to_string();
        let p = ContainerCredentialsProvider::new(&cfg(&[
            ("AWS_CONTAINER_CREDENTIALS_FULL_URI", uri.as_str()),
            ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "AUTHSECRET"),
        ]));
        let e = p.provide_credentials().await.unwrap_err();
        assert!(e.to_string().contains("302"), "{e}");
        assert!(elsewhere.requests().is_empty(), "{:?}", elsewhere.requests());
        assert_eq!(server.requests()[0].headers["authorization"], "AUTHSECRET");
    }
}
