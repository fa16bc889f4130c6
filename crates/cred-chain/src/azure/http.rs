//! Shared settings and the HTTP calls of the identity sources.

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::{AccessToken, Secret};
use cloudkit_core::{
    HeaderMap, HttpClientConfig, HttpRequest, HttpSend, Method, Operation, ParseError, Pipeline, ReqwestSend,
    RetryConfig, ServiceErrorDetails, StatusCode, TimeoutConfig, Url, request_id_from_headers,
};
use serde::Deserialize;
use time::OffsetDateTime;

use super::{AzureEnv, DEFAULT_AUTHORITY_HOST, SourceError};

/// What every identity source needs: the environment, the HTTP client, and endpoint overrides
/// (for sovereign clouds, AKS pod identity and tests).
#[derive(Clone, Debug, Default)]
pub struct IdentityOptions {
    /// Environment variables (default: the real environment).
    pub env: AzureEnv,
    /// The HTTP client (default: one shared reqwest client).
    pub http: Option<Arc<dyn HttpSend>>,
    /// The Entra authority (default: `AZURE_AUTHORITY_HOST`, else `https://login.microsoftonline.com`).
    pub authority_host: Option<Url>,
    /// The IMDS base URL (default: `AZURE_POD_IDENTITY_AUTHORITY_HOST`, else `http://169.254.169.254`).
    pub imds_endpoint: Option<Url>,
    /// The Azure CLI program (default `az`, looked up on the env's `PATH`).
    pub az_program: Option<String>,
    /// How long the Azure CLI may take (default 10 s).
    pub cli_timeout: Option<Duration>,
}

impl IdentityOptions {
    /// Options reading the given environment.
    pub fn with_env(env: AzureEnv) -> Self {
        Self { env, ..Self::default() }
    }

    pub(crate) fn http(&self) -> Result<Arc<dyn HttpSend>, SourceError> {
        match &self.http {
            Some(h) => Ok(h.clone()),
            None => ReqwestSend::shared(&HttpClientConfig::default())
                .map_err(|e| SourceError::Failed(format!("cannot build the HTTP client: {e}"))),
        }
    }

    /// The authority: the option, else `AZURE_AUTHORITY_HOST`, else the public cloud. It must be
    /// https (plain http only to a loopback host, for tests).
    pub(crate) fn authority(&self) -> Result<Url, SourceError> {
        let url = match &self.authority_host {
            Some(u) => u.clone(),
            None => {
                let text = self.env.get("AZURE_AUTHORITY_HOST").unwrap_or_else(|| DEFAULT_AUTHORITY_HOST.to_owned());
                let text = if text.contains("://") { text } else { format!("https://{text}") };
                Url::parse(&text).map_err(|e| SourceError::Failed(format!("AZURE_AUTHORITY_HOST {text:?}: {e}")))?
            }
        };
        if url.scheme() != "https" && !cloudkit_signer::azure::endpoint_allows_plain_http(&url) {
            return Err(SourceError::Failed(format!("the authority host must use https, not {url}")));
        }
        Ok(url)
    }

    pub(crate) fn pipeline(&self, timeout: Duration, attempts: u32) -> Result<Pipeline, SourceError> {
        Pipeline::builder("AzureIdentity")
            .http(self.http()?)
            .error_parser(Arc::new(IdentityErrorParser))
            .retry(RetryConfig::standard().with_max_attempts(attempts).with_quota(false))
            .timeouts(TimeoutConfig { attempt: Some(timeout), operation: Some(timeout * (attempts + 1)) })
            .build()
            .map_err(|e| SourceError::Failed(e.to_string()))
    }
}

#[derive(Deserialize)]
struct TokenJson {
    #[serde(alias = "accessToken")]
    access_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    expires_on: Option<serde_json::Value>,
    error: Option<String>,
    error_description: Option<String>,
}

fn as_i64(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Parses the token JSON of Entra, IMDS, App Service and the Azure CLI (`access_token` /
/// `accessToken`; `expires_on` unix seconds as number or string, else `expires_in`).
pub(crate) fn parse_token(body: &[u8], what: &str) -> Result<AccessToken, SourceError> {
    let json: TokenJson = serde_json::from_slice(body)
        .map_err(|e| SourceError::Failed(format!("{what} returned a response that is not token JSON: {e}")))?;
    let token = json.access_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        SourceError::Failed(format!(
            "{what} returned no access token{}",
            json.error.map(|e| format!(": {e}")).unwrap_or_default()
        ))
    })?;
    let now = OffsetDateTime::now_utc();
    let expires_on = if let Some(on) = json.expires_on.as_ref().and_then(as_i64) {
        OffsetDateTime::from_unix_timestamp(on).map_err(|_| SourceError::Failed(format!("{what}: bad expires_on")))?
    } else if let Some(secs) = json.expires_in.as_ref().and_then(as_i64) {
        now.checked_add(
            Duration::from_secs(u64::try_from(secs).unwrap_or(0)).try_into().unwrap_or(time::Duration::ZERO),
        )
        .ok_or_else(|| SourceError::Failed(format!("{what}: expires_in {secs} is out of range")))?
    } else {
        return Err(SourceError::Failed(format!("{what} returned a token without an expiry")));
    };
    let _ = json.error_description;
    Ok(AccessToken::new(Secret::new(token), expires_on))
}

/// The error parser of every identity endpoint (Entra, IMDS, App Service): an error body is never
/// quoted (it may echo the request, a token or a header value), only what identifies the error:
/// the OAuth `error` code (`invalid_client`, `invalid_request` …) as the code, and Entra's
/// `AADSTSnnnn` error number from `error_description` as the message, when they look like codes.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct IdentityErrorParser;

impl ParseError for IdentityErrorParser {
    fn parse(&self, _status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let json = serde_json::from_slice::<TokenJson>(body).ok();
        let code = json.as_ref().and_then(|j| j.error.clone()).filter(|c| looks_like_code(c));
        let message = json.and_then(|j| j.error_description).and_then(|d| aadsts_number(&d));
        ServiceErrorDetails { code, message, request_id: request_id_from_headers(headers) }
    }
}

fn looks_like_code(code: &str) -> bool {
    !code.is_empty() && code.len() <= 64 && code.chars().all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// `AADSTS7000215` from `AADSTS7000215: Invalid client secret provided. …`.
fn aadsts_number(description: &str) -> Option<String> {
    let digits: String =
        description.trim_start().strip_prefix("AADSTS")?.chars().take_while(char::is_ascii_digit).collect();
    (!digits.is_empty() && digits.len() <= 10).then(|| format!("AADSTS{digits}"))
}

/// What an identity endpoint's error may show: the status and the error code, never the body.
pub(crate) fn identity_error(what: &str, e: &cloudkit_core::Error) -> String {
    match e.status() {
        Some(status) => {
            let code = e.code().map(|c| format!(" {c}")).unwrap_or_default();
            let number = e.message().map(|m| format!(" ({m})")).unwrap_or_default();
            format!("{what} answered HTTP {}{code}{number}", status.as_u16())
        }
        None => format!("{what}: {e}"),
    }
}

/// POSTs a client-credentials form to `{authority}/{tenant}/oauth2/v2.0/token`.
pub(crate) async fn request_entra_token(
    options: &IdentityOptions,
    tenant: &str,
    form: &[(&str, &str)],
    what: &str,
) -> Result<AccessToken, SourceError> {
    if tenant.is_empty() || !tenant.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.') {
        return Err(SourceError::Failed(format!("{what}: invalid tenant id {tenant:?}")));
    }
    let authority = options.authority()?;
    let base = authority.as_str().trim_end_matches('/');
    let url = Url::parse(&format!("{base}/{tenant}/oauth2/v2.0/token"))
        .map_err(|e| SourceError::Failed(format!("{what}: bad token URL: {e}")))?;
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
    let mut request = HttpRequest::new(Method::POST, url).with_body(body);
    request
        .insert_header("content-type", "application/x-www-form-urlencoded")
        .map_err(|e| SourceError::Failed(e.to_string()))?;
    let pipeline = options.pipeline(Duration::from_secs(30), 3)?;
    match pipeline.send_buffered(&Operation::new("GetToken").idempotent(true), request).await {
        Ok(r) => parse_token(&r.body, what),
        Err(e) => Err(SourceError::Failed(identity_error(&format!("{what}: Entra ID"), &e))),
    }
}
