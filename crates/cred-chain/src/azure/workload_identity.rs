//! `WorkloadIdentityCredential`: a federated token file (AKS workload identity) exchanged for an
//! Entra token.

use std::path::PathBuf;

use azure_core::credentials::AccessToken;

use super::cache::TokenCache;
use super::http::request_entra_token;
use super::{FetchToken, IdentityOptions, SourceError, cached_credential, single_scope};

/// Reads `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID` and `AZURE_TENANT_ID`; the file is
/// re-read on every refresh (it is rotated). Unavailable when they are not set.
#[derive(Debug)]
pub struct WorkloadIdentityCredential {
    config: Option<(String, String, PathBuf)>,
    options: IdentityOptions,
    cache: TokenCache,
}

impl WorkloadIdentityCredential {
    /// Reads the variables from `options.env`.
    pub fn new(options: IdentityOptions) -> Self {
        let env = &options.env;
        let config =
            match (env.get("AZURE_TENANT_ID"), env.get("AZURE_CLIENT_ID"), env.get("AZURE_FEDERATED_TOKEN_FILE")) {
                (Some(t), Some(c), Some(f)) => Some((t, c, PathBuf::from(f))),
                _ => None,
            };
        Self { config, options, cache: TokenCache::default() }
    }
}

#[async_trait::async_trait]
impl FetchToken for WorkloadIdentityCredential {
    fn name(&self) -> &'static str {
        "WorkloadIdentityCredential"
    }
    async fn fetch(&self, scopes: &[&str]) -> Result<AccessToken, SourceError> {
        let scope = single_scope(scopes)?;
        let Some((tenant, client, file)) = &self.config else {
            return Err(SourceError::Unavailable(
                "AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID and AZURE_TENANT_ID are not all set".into(),
            ));
        };
        let assertion = cloudkit_core::internal::blocking::read_to_string(file).await.map_err(|e| {
            SourceError::Failed(format!("cannot read AZURE_FEDERATED_TOKEN_FILE {}: {e}", file.display()))
        })?;
        request_entra_token(
            &self.options,
            tenant,
            &[
                ("client_id", client),
                ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ("client_assertion", assertion.trim()),
                ("scope", scope),
                ("grant_type", "client_credentials"),
            ],
            "WorkloadIdentityCredential",
        )
        .await
    }
}
cached_credential!(WorkloadIdentityCredential);
