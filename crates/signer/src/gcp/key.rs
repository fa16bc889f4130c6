//! Service-account keys and the blob-signing seam.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use base64::Engine as _;
use cloudkit_core::SecretString;
use ring::rand::SystemRandom;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};

use super::SigningError;

/// Signs bytes with RSA-PKCS1-v1.5-SHA256 for a service account: locally with its private key
/// ([`ServiceAccountKey`]) or remotely (IAM `signBlob`, through google-cloud-auth's signer in
/// `cloudkit-cred-chain`'s `gcp` feature).
#[async_trait]
pub trait SignBlob: Send + Sync + fmt::Debug {
    /// The service account's email (the `X-Goog-Credential` principal).
    async fn client_email(&self) -> Result<String, SigningError>;

    /// The RSA-SHA256 signature of `data`.
    async fn sign_blob(&self, data: &[u8]) -> Result<Vec<u8>, SigningError>;
}

/// A shareable blob signer.
pub type SharedBlobSigner = Arc<dyn SignBlob>;

/// A service-account key (the JSON file `gcloud iam service-accounts keys create` writes),
/// able to sign locally. `Debug` never shows the private key.
#[derive(Clone)]
pub struct ServiceAccountKey {
    client_email: String,
    project_id: Option<String>,
    private_key_id: Option<String>,
    private_key: SecretString,
    key_pair: Arc<RsaKeyPair>,
}

#[derive(serde::Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    project_id: Option<String>,
    private_key_id: Option<String>,
    private_key: Option<String>,
}

impl ServiceAccountKey {
    /// Parses a service-account key file's JSON.
    ///
    /// ```
    /// # fn demo(json: &str) -> Result<(), cloudkit_signer::gcp::SigningError> {
    /// let key = cloudkit_signer::gcp::ServiceAccountKey::from_json(json)?;
    /// println!("signing as {}", key.client_email());
    /// # Ok(()) }
    /// ```
    pub fn from_json(json: &str) -> Result<Self, SigningError> {
        let file: KeyFile = serde_json::from_str(json)
            .map_err(|e| SigningError::InvalidKey(format!("not a service-account key file: {e}")))?;
        if let Some(kind) = file.kind.as_deref()
            && kind != "service_account"
        {
            return Err(SigningError::InvalidKey(format!(
                "credentials of type `{kind}` cannot sign locally (need `service_account`)"
            )));
        }
        let client_email =
            file.client_email.ok_or_else(|| SigningError::InvalidKey("the key file has no `client_email`".into()))?;
        let pem =
            file.private_key.ok_or_else(|| SigningError::InvalidKey("the key file has no `private_key`".into()))?;
        Self::from_pem(client_email, &pem).map(|k| Self {
            project_id: file.project_id,
            private_key_id: file.private_key_id,
            ..k
        })
    }

    /// A key from an email and a PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(client_email: impl Into<String>, pem: &str) -> Result<Self, SigningError> {
        let der = pem_to_der(pem)?;
        let key_pair = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| SigningError::InvalidKey(format!("the private key is not a usable RSA PKCS#8 key: {e}")))?;
        Ok(Self {
            client_email: client_email.into(),
            project_id: None,
            private_key_id: None,
            private_key: SecretString::new(pem.to_owned()),
            key_pair: Arc::new(key_pair),
        })
    }

    /// The service account's email.
    pub fn client_email(&self) -> &str {
        &self.client_email
    }

    /// The project the key belongs to, when the file says.
    pub fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// The key id, when the file says.
    pub fn private_key_id(&self) -> Option<&str> {
        self.private_key_id.as_deref()
    }

    /// The PEM private key (a secret; never printed by `Debug`).
    pub fn private_key(&self) -> &SecretString {
        &self.private_key
    }

    /// Signs `data` with RSA-PKCS1-v1.5-SHA256.
    pub fn sign_sync(&self, data: &[u8]) -> Result<Vec<u8>, SigningError> {
        let mut signature = vec![0u8; self.key_pair.public().modulus_len()];
        self.key_pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), data, &mut signature)
            .map_err(|_| SigningError::Sign("RSA signing failed".into()))?;
        Ok(signature)
    }
}

impl fmt::Debug for ServiceAccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceAccountKey")
            .field("client_email", &self.client_email)
            .field("project_id", &self.project_id)
            .field("private_key_id", &self.private_key_id)
            .field("private_key", &"** redacted **")
            .finish()
    }
}

#[async_trait]
impl SignBlob for ServiceAccountKey {
    async fn client_email(&self) -> Result<String, SigningError> {
        Ok(self.client_email.clone())
    }

    async fn sign_blob(&self, data: &[u8]) -> Result<Vec<u8>, SigningError> {
        self.sign_sync(data)
    }
}

fn pem_to_der(pem: &str) -> Result<Vec<u8>, SigningError> {
    let body: String =
        pem.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with("-----")).collect::<Vec<_>>().concat();
    if !pem.contains("-----BEGIN PRIVATE KEY-----") {
        return Err(SigningError::InvalidKey("expected a PKCS#8 PEM key (-----BEGIN PRIVATE KEY-----)".into()));
    }
    base64::engine::general_purpose::STANDARD
        .decode(body.as_bytes())
        .map_err(|_| SigningError::InvalidKey("the PEM private key is not valid base64".into()))
}
