//! Bearer-token authorization from any azure_core `TokenCredential`.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use async_trait::async_trait;
use azure_core::credentials::{TokenCredential, TokenRequestOptions};
use cloudkit_core::{HeaderValue, HttpRequest, ServiceErrorDetails, Sign, SignError, StatusCode, Url};
use time::OffsetDateTime;

use super::AzureSignError;

/// The scope of Azure Storage data-plane tokens.
pub const STORAGE_SCOPE: &str = "https://storage.azure.com/.default";

/// Whether `url` may carry a bearer token over plain http: only a loopback host
/// (`127.0.0.0/8`, `::1`, `localhost`), i.e. a local emulator.
pub fn endpoint_allows_plain_http(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// What a [`BearerTokenSigner`] puts in the context of a token request
/// ([`TokenRequestOptions`]`::method_options.context`) after the service refused a token (401):
/// the refused token's expiry. cloudkit's own credentials (`cloudkit_cred_chain::azure`) then drop
/// their cached token when it is that one and fetch a new one; other credentials may ignore it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RefusedToken {
    /// `expires_on` of the token the service refused.
    pub expires_on: OffsetDateTime,
}

/// Adds `Authorization: Bearer <token>` from a `TokenCredential` (the credential caches and
/// refreshes tokens). Refuses plain-http URLs, unless [`BearerTokenSigner::allow_loopback_http`]
/// was set *and* the host is loopback (an emulator explicitly configured by the caller).
///
/// When the service answers 401 (a token revoked or rotated before its expiry), the next token
/// request carries [`RefusedToken`] and the pipeline sends the request once more.
#[derive(Clone, Debug)]
pub struct BearerTokenSigner {
    credential: Arc<dyn TokenCredential>,
    scopes: Vec<String>,
    allow_loopback_http: bool,
    storage_headers: bool,
    /// The expiry of the last token handed out, and of a refused one not yet replaced.
    tokens: Arc<Mutex<Tokens>>,
}

#[derive(Debug, Default)]
struct Tokens {
    last: Option<OffsetDateTime>,
    refused: Option<OffsetDateTime>,
}

impl BearerTokenSigner {
    /// A signer asking `credential` for tokens of `scope` (usually [`STORAGE_SCOPE`]).
    pub fn new(credential: Arc<dyn TokenCredential>, scope: impl Into<String>) -> Self {
        Self {
            credential,
            scopes: vec![scope.into()],
            allow_loopback_http: false,
            storage_headers: true,
            tokens: Arc::default(),
        }
    }

    fn tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether to add the Storage headers `x-ms-date` and `x-ms-version` (default true, for the
    /// Storage data plane). Azure Resource Manager versions its APIs with the `api-version` query
    /// parameter instead, so its clients turn this off.
    pub fn storage_headers(mut self, on: bool) -> Self {
        self.storage_headers = on;
        self
    }

    /// Allows plain http to loopback hosts (emulators). Off by default.
    pub fn allow_loopback_http(mut self, allow: bool) -> Self {
        self.allow_loopback_http = allow;
        self
    }

    /// Checks that a token may be sent to `url`.
    pub fn check_url(&self, url: &Url) -> Result<(), AzureSignError> {
        if url.scheme() == "https" {
            return Ok(());
        }
        if url.scheme() == "http" && self.allow_loopback_http && endpoint_allows_plain_http(url) {
            return Ok(());
        }
        let refusing = format!(
            "bearer tokens are only sent over https (refusing {}://{})",
            url.scheme(),
            url.host_str().unwrap_or("")
        );
        let fix = if url.scheme() == "http" && endpoint_allows_plain_http(url) {
            "; for a local emulator such as Azurite, call `.emulator(true)` on the Azure session (or \
             `allow_loopback_http(true)` on `AzureConfig::loader()`), or connect with a connection string \
             (its account key works over http)"
        } else {
            "; use an https endpoint (plain http is allowed only to a loopback emulator, with `.emulator(true)` on \
             the Azure session or `allow_loopback_http(true)` on `AzureConfig::loader()`)"
        };
        Err(AzureSignError::Refused(format!("{refusing}{fix}")))
    }
}

#[async_trait]
impl Sign for BearerTokenSigner {
    async fn sign(&self, request: &mut HttpRequest) -> Result<(), SignError> {
        self.check_url(&request.url).map_err(|e| SignError::Signing(Box::new(e)))?;
        let scopes: Vec<&str> = self.scopes.iter().map(String::as_str).collect();
        let refused = self.tokens().refused;
        let options = refused.map(|expires_on| {
            let mut options = TokenRequestOptions::default();
            options.method_options.context.insert(RefusedToken { expires_on });
            options
        });
        let token =
            self.credential.get_token(&scopes, options).await.map_err(|e| SignError::Credentials(Box::new(e)))?;
        {
            let mut tokens = self.tokens();
            tokens.last = Some(token.expires_on);
            if tokens.refused.is_some_and(|r| r != token.expires_on) {
                tokens.refused = None;
            }
        }
        if self.storage_headers {
            super::shared_key::set_standard_headers(request, SystemTime::now())
                .map_err(|e| SignError::Signing(Box::new(e)))?;
        }
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.token.secret()))
            .map_err(|e| SignError::Signing(Box::new(AzureSignError::Refused(e.to_string()))))?;
        value.set_sensitive(true);
        request.headers.insert(cloudkit_core::HeaderName::from_static("authorization"), value);
        Ok(())
    }

    fn credentials_refused(&self, status: StatusCode, _details: &ServiceErrorDetails) -> bool {
        if status != StatusCode::UNAUTHORIZED {
            return false;
        }
        let mut tokens = self.tokens();
        tokens.refused = tokens.last;
        tokens.refused.is_some()
    }
}
