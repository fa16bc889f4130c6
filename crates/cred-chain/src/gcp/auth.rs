//! Pipeline signing with Google credentials, and remote blob signing for V4 signed URLs.

use async_trait::async_trait;
use cloudkit_core::{HttpRequest, Sign, SignError};
use cloudkit_signer::gcp::{SignBlob, SigningError};
use google_cloud_auth::credentials::CacheableResource;

use super::config::GcpCredentials;

/// The pipeline's signing step for Google APIs: adds `authorization: Bearer …` (and
/// `x-goog-user-project` when a quota project is set) from google-cloud-auth, which caches the
/// token and refreshes it before expiry. Anonymous credentials add nothing.
#[derive(Clone, Debug)]
pub struct BearerTokenSigner {
    credentials: GcpCredentials,
    context: Option<String>,
}

impl BearerTokenSigner {
    /// A signer for these credentials.
    pub fn new(credentials: GcpCredentials) -> Self {
        Self { credentials, context: None }
    }

    /// Says where the credentials came from (and what else was tried) in token errors.
    pub fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }
}

/// A token could not be obtained: where the credentials came from, and why.
#[derive(Debug, thiserror::Error)]
#[error("Google credentials from {context}: {source}")]
struct TokenError {
    context: String,
    #[source]
    source: google_cloud_auth::errors::CredentialsError,
}

#[async_trait]
impl Sign for BearerTokenSigner {
    async fn sign(&self, request: &mut HttpRequest) -> Result<(), SignError> {
        let GcpCredentials::Google { credentials, .. } = &self.credentials else {
            return Ok(());
        };
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
