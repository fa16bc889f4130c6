//! Shared settings and the HTTP calls of the identity sources.

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::{AccessToken, Secret};
use cloudkit_core::{
    HttpClientConfig, HttpRequest, HttpSend, Method, Operation, Pipeline, ReqwestSend, RetryConfig, TimeoutConfig, Url,
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

/// A short error description from an Entra error body (never the request, which has secrets).
fn entra_error(body: &[u8]) -> String {
    match serde_json::from_slice::<TokenJson>(body) {
        Ok(j) => {
            let first_line = j.error_description.unwrap_or_default().lines().next().unwrap_or_default().to_owned();
            format!("{}: {first_line}", j.error.unwrap_or_else(|| "error".into()))
        }
        Err(_) => String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned(),
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
        Err(e) => Err(SourceError::Failed(match e.status() {
            Some(s) => format!(
                "{what}: Entra ID refused the request (HTTP {}): {}",
                s.as_u16(),
                e.message().map(|m| entra_error(m.as_bytes())).unwrap_or_default()
            ),
            None => format!("{what}: {e}"),
        })),
    }
}
