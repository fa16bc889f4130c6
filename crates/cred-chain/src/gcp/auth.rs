//! Pipeline signing with Google credentials, and remote blob signing for V4 signed URLs.

use async_trait::async_trait;
use cloudkit_core::{HttpRequest, Sign, SignError, Url};
use cloudkit_signer::gcp::{SignBlob, SigningError};
use google_cloud_auth::credentials::CacheableResource;

use super::config::GcpCredentials;

/// The pipeline's signing step for Google APIs: adds `authorization: Bearer …` (and
/// `x-goog-user-project` when a quota project is set) from google-cloud-auth, which caches the
/// token and refreshes it before expiry. Anonymous credentials add nothing.
///
/// A token goes over https only: a request to a plain-http URL is refused
/// ([`PlainHttpRefused`], a signing error, before any token is fetched), unless the URL is on the
/// one origin allowed by [`allow_plain_http_to`](Self::allow_plain_http_to) — the emulator named
/// by `STORAGE_EMULATOR_HOST`, which [`GcpConfig`](super::GcpConfig) sets.
#[derive(Clone, Debug)]
pub struct BearerTokenSigner {
    credentials: GcpCredentials,
    context: Option<String>,
    plain_http_origin: Option<url::Origin>,
}

impl BearerTokenSigner {
    /// A signer for these credentials.
    pub fn new(credentials: GcpCredentials) -> Self {
        Self { credentials, context: None, plain_http_origin: None }
    }

    /// Says where the credentials came from (and what else was tried) in token errors.
    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    /// Allows plain http to the origin (scheme, host and port) of `endpoint`: an emulator the
    /// caller named explicitly. Every other plain-http URL is still refused.
    pub fn allow_plain_http_to(mut self, endpoint: &Url) -> Self {
        self.plain_http_origin = (endpoint.scheme() == "http").then(|| endpoint.origin());
        self
    }

    /// Checks that this signer may authorize a request to `url`: always for anonymous
    /// credentials (nothing is sent), else https, or plain http to the allowed emulator origin.
    pub fn check_url(&self, url: &Url) -> Result<(), PlainHttpRefused> {
        if self.credentials.is_anonymous() || url.scheme() == "https" {
            return Ok(());
        }
        if url.scheme() == "http" && self.plain_http_origin.as_ref().is_some_and(|o| *o == url.origin()) {
            return Ok(());
        }
        Err(PlainHttpRefused { scheme: url.scheme().to_owned(), host: url.host_str().unwrap_or_default().to_owned() })
    }
}

/// A Google bearer token would have gone to a URL that is not https (and not the emulator named by
/// `STORAGE_EMULATOR_HOST`): anyone on the path could read and reuse it. Nothing was sent.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "refusing to send Google credentials over {scheme}:// to {host}: bearer tokens go over https only \
     (plain http only to the emulator named by STORAGE_EMULATOR_HOST, to a loopback compute endpoint named \
     explicitly, or with anonymous credentials)"
)]
pub struct PlainHttpRefused {
    scheme: String,
    host: String,
}

/// A token could not be obtained: where the credentials came from, and why. `Display` includes
/// the google-cloud-auth error's text, so `source()` continues below it.
#[derive(Debug)]
struct TokenError {
    context: String,
    source: google_cloud_auth::errors::CredentialsError,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Google credentials from {}: {}", self.context, self.source)
    }
}

impl std::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        cloudkit_core::unshown_source(&self.to_string(), std::error::Error::source(&self.source))
    }
}

#[async_trait]
impl Sign for BearerTokenSigner {
    async fn sign(&self, request: &mut HttpRequest) -> Result<(), SignError> {
        let GcpCredentials::Google { credentials, .. } = &self.credentials else {
            return Ok(());
        };
        self.check_url(&request.url).map_err(|e| SignError::Signing(Box::new(e)))?;
        match credentials.headers(http::Extensions::new()).await {
            Ok(CacheableResource::New { data, .. }) => {
                for (name, value) in &data {
                    request.headers.insert(name.clone(), value.clone());
                }
                Ok(())
            }
            Ok(CacheableResource::NotModified) => {
                Err(SignError::Credentials("google-cloud-auth returned no headers (NotModified)".into()))
            }
            Err(e) => Err(SignError::Credentials(Box::new(TokenError {
                context: self.context.clone().unwrap_or_else(|| "explicit credentials".into()),
                source: e,
            }))),
        }
    }
}

/// [`SignBlob`] over google-cloud-auth's signer: local RSA for service-account keys, the IAM
/// `signBlob` API for metadata-server and impersonated credentials.
#[derive(Clone, Debug)]
pub struct GoogleAuthBlobSigner {
    signer: google_cloud_auth::signer::Signer,
}

impl GoogleAuthBlobSigner {
    /// Wraps a google-cloud-auth signer.
    pub fn new(signer: google_cloud_auth::signer::Signer) -> Self {
        Self { signer }
    }
}

#[async_trait]
impl SignBlob for GoogleAuthBlobSigner {
    async fn client_email(&self) -> Result<String, SigningError> {
        self.signer
            .client_email()
            .await
            .map_err(|e| SigningError::Sign(format!("could not get the signer's email: {e}")))
    }

    async fn sign_blob(&self, data: &[u8]) -> Result<Vec<u8>, SigningError> {
        self.signer.sign(data).await.map(|b| b.to_vec()).map_err(|e| SigningError::Sign(e.to_string()))
    }
}
