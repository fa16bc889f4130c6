//! `EnvironmentCredential` (client secret or client certificate from `AZURE_*` variables) and
//! `ClientSecretCredential`.

use std::path::PathBuf;

use azure_core::credentials::{AccessToken, Secret};
use base64::Engine;

use super::cache::TokenCache;
use super::http::request_entra_token;
use super::{FetchToken, IdentityOptions, SourceError, cached_credential, single_scope};

/// A service principal with a client secret (Entra client-credentials flow).
#[derive(Debug)]
pub struct ClientSecretCredential {
    tenant_id: String,
    client_id: String,
    secret: Secret,
    options: IdentityOptions,
    cache: TokenCache,
}

impl ClientSecretCredential {
    /// A credential for this tenant, client id and secret.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        secret: Secret,
        options: IdentityOptions,
    ) -> Self {
        Self { tenant_id: tenant_id.into(), client_id: client_id.into(), secret, options, cache: TokenCache::default() }
    }
}

#[async_trait::async_trait]
impl FetchToken for ClientSecretCredential {
    fn name(&self) -> &'static str {
        "ClientSecretCredential"
    }
    async fn fetch(&self, scopes: &[&str]) -> Result<AccessToken, SourceError> {
        let scope = single_scope(scopes)?;
        request_entra_token(
            &self.options,
            &self.tenant_id,
            &[
                ("client_id", &self.client_id),
                ("client_secret", self.secret.secret()),
                ("scope", scope),
                ("grant_type", "client_credentials"),
            ],
            "ClientSecretCredential",
        )
        .await
    }
}
cached_credential!(ClientSecretCredential);

#[derive(Debug)]
enum EnvKind {
    Secret { tenant: String, client: String, secret: Secret },
    Certificate { tenant: String, client: String, path: PathBuf, password: bool },
    Missing(String),
}

/// Reads `AZURE_TENANT_ID` + `AZURE_CLIENT_ID` + `AZURE_CLIENT_SECRET`, or
/// `AZURE_CLIENT_CERTIFICATE_PATH` (a PEM file with the certificate and an unencrypted PKCS#8 or
/// PKCS#1 RSA key) instead of the secret. Unavailable when they are not set.
#[derive(Debug)]
pub struct EnvironmentCredential {
    kind: EnvKind,
    options: IdentityOptions,
    cache: TokenCache,
}

impl EnvironmentCredential {
    /// Reads the variables from `options.env`.
    pub fn new(options: IdentityOptions) -> Self {
        let env = &options.env;
        let kind = match (env.get("AZURE_TENANT_ID"), env.get("AZURE_CLIENT_ID")) {
            (Some(tenant), Some(client)) => {
                if let Some(secret) = env.get("AZURE_CLIENT_SECRET") {
                    EnvKind::Secret { tenant, client, secret: Secret::new(secret) }
                } else if let Some(path) = env.get("AZURE_CLIENT_CERTIFICATE_PATH") {
                    EnvKind::Certificate {
                        tenant,
                        client,
                        path: PathBuf::from(path),
                        password: env.get("AZURE_CLIENT_CERTIFICATE_PASSWORD").is_some(),
                    }
                } else {
                    EnvKind::Missing("AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH is not set".into())
                }
            }
            _ => EnvKind::Missing("AZURE_TENANT_ID and AZURE_CLIENT_ID are not both set".into()),
        };
        Self { kind, options, cache: TokenCache::default() }
    }
}

#[async_trait::async_trait]
impl FetchToken for EnvironmentCredential {
    fn name(&self) -> &'static str {
        "EnvironmentCredential"
    }
    async fn fetch(&self, scopes: &[&str]) -> Result<AccessToken, SourceError> {
        let scope = single_scope(scopes)?;
        match &self.kind {
            EnvKind::Missing(why) => Err(SourceError::Unavailable(why.clone())),
            EnvKind::Secret { tenant, client, secret } => {
                request_entra_token(
                    &self.options,
                    tenant,
                    &[
                        ("client_id", client),
                        ("client_secret", secret.secret()),
                        ("scope", scope),
                        ("grant_type", "client_credentials"),
                    ],
                    "EnvironmentCredential (client secret)",
                )
                .await
            }
            EnvKind::Certificate { tenant, client, path, password } => {
                if *password {
                    return Err(SourceError::Failed(
                        "password-protected certificates (AZURE_CLIENT_CERTIFICATE_PASSWORD) are not supported; \
                         use an unencrypted PEM"
                            .into(),
                    ));
                }
                let pem = cloudkit_core::internal::blocking::read_to_string(path).await.map_err(|e| {
                    SourceError::Failed(format!("cannot read AZURE_CLIENT_CERTIFICATE_PATH {}: {e}", path.display()))
                })?;
                let authority = self.options.authority()?;
                let aud = format!("{}/{tenant}/oauth2/v2.0/token", authority.as_str().trim_end_matches('/'));
                let assertion = client_assertion(&pem, client, &aud)?;
                request_entra_token(
                    &self.options,
                    tenant,
                    &[
                        ("client_id", client),
                        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                        ("client_assertion", &assertion),
                        ("scope", scope),
                        ("grant_type", "client_credentials"),
                    ],
                    "EnvironmentCredential (client certificate)",
                )
                .await
            }
        }
    }
}
cached_credential!(EnvironmentCredential);

fn pem_block(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let b64: String = pem[start..stop].chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD.decode(b64).ok()
}

/// A signed RS256 client assertion (JWT) for the Entra client-credentials flow.
pub(crate) fn client_assertion(pem: &str, client_id: &str, audience: &str) -> Result<String, SourceError> {
    use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    use sha1::Digest;
    let bad = |m: &str| SourceError::Failed(format!("client certificate: {m}"));
    let cert = pem_block(pem, "CERTIFICATE").ok_or_else(|| bad("no CERTIFICATE block in the PEM file"))?;
    let key = if let Some(der) = pem_block(pem, "PRIVATE KEY") {
        RsaKeyPair::from_pkcs8(&der).map_err(|e| bad(&format!("the PKCS#8 key is not a usable RSA key ({e})")))?
    } else if let Some(der) = pem_block(pem, "RSA PRIVATE KEY") {
        RsaKeyPair::from_der(&der).map_err(|e| bad(&format!("the PKCS#1 key is not a usable RSA key ({e})")))?
    } else {
        return Err(bad("no unencrypted PRIVATE KEY / RSA PRIVATE KEY block in the PEM file"));
    };
    let b64url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let x5t = b64url.encode(sha1::Sha1::digest(&cert));
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", "x5t": x5t});
    let jti = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
    let claims = serde_json::json!({
        "aud": audience, "iss": client_id, "sub": client_id, "jti": jti, "nbf": now, "iat": now, "exp": now + 600,
    });
    let signing_input = format!("{}.{}", b64url.encode(header.to_string()), b64url.encode(claims.to_string()));
    let mut sig = vec![0u8; key.public().modulus_len()];
    key.sign(&RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), signing_input.as_bytes(), &mut sig)
        .map_err(|_| bad("RSA signing failed"))?;
    Ok(format!("{signing_input}.{}", b64url.encode(sig)))
}

#[cfg(test)]
pub(crate) mod tests_support {
    pub(crate) fn private_key_der(pem: &str) -> Vec<u8> {
        super::pem_block(pem, "PRIVATE KEY").unwrap_or_default()
    }
}
