//! `AzureCliCredential`: `az account get-access-token`.

use std::path::PathBuf;
use std::time::Duration;

use azure_core::credentials::AccessToken;

use super::cache::TokenCache;
use super::http::parse_token;
use super::{FetchToken, IdentityOptions, SourceError, cached_credential, single_scope};

/// Runs `az account get-access-token --output json --scope <scope>` (az 2.54+, which prints
/// `expires_on`). The program is looked up on the `PATH` of [`IdentityOptions::env`]; it runs
/// with a cleared environment except `PATH`, `HOME` and `AZURE_CONFIG_DIR`.
#[derive(Debug)]
pub struct AzureCliCredential {
    options: IdentityOptions,
    tenant: Option<String>,
    cache: TokenCache,
}

impl AzureCliCredential {
    /// A credential using the signed-in Azure CLI account.
    pub fn new(options: IdentityOptions) -> Self {
        Self { options, tenant: None, cache: TokenCache::default() }
    }

    /// Asks for a token of this tenant (`--tenant`).
    pub fn tenant(mut self, tenant: impl Into<String>) -> Self {
        self.tenant = Some(tenant.into());
        self
    }

    fn program(&self) -> Option<PathBuf> {
        let name = self.options.az_program.clone().unwrap_or_else(|| "az".into());
        if name.contains('/') {
            return Some(PathBuf::from(name));
        }
        let path = self.options.env.get("PATH")?;
        std::env::split_paths(&path).map(|d| d.join(&name)).find(|p| p.is_file())
    }
}

fn valid_arg(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-._:/".contains(c))
}

#[async_trait::async_trait]
impl FetchToken for AzureCliCredential {
    fn name(&self) -> &'static str {
        "AzureCliCredential"
    }
    async fn fetch(&self, scopes: &[&str]) -> Result<AccessToken, SourceError> {
        let scope = single_scope(scopes)?;
        if !valid_arg(scope) {
            return Err(SourceError::Failed(format!("invalid scope {scope:?}")));
        }
        let program =
            self.program().ok_or_else(|| SourceError::Unavailable("Azure CLI (az) not found on PATH".into()))?;
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(["account", "get-access-token", "--output", "json", "--scope", scope]);
        if let Some(t) = &self.tenant {
            if !valid_arg(t) {
                return Err(SourceError::Failed(format!("invalid tenant {t:?}")));
            }
            cmd.args(["--tenant", t]);
        }
        cmd.env_clear();
        if let Some(path) = self.options.env.get("PATH") {
            cmd.env("PATH", path);
        }
        for var in ["HOME", "AZURE_CONFIG_DIR"] {
            if let Some(v) = self.options.env.get(var) {
                cmd.env(var, v);
            }
        }
        cmd.kill_on_drop(true).stdin(std::process::Stdio::null());
        let timeout = self.options.cli_timeout.unwrap_or(Duration::from_secs(10));
        let output = match tokio::time::timeout(timeout, cmd.output()).await {
            Err(_) => return Err(SourceError::Failed(format!("Azure CLI did not answer within {timeout:?}"))),
            Ok(Err(e)) => return Err(SourceError::Unavailable(format!("cannot run {}: {e}", program.display()))),
            Ok(Ok(o)) => o,
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_owned();
            if stderr.contains("az login") || stderr.contains("az account set") {
                return Err(SourceError::Unavailable(format!("Azure CLI is not signed in: {first}")));
            }
            return Err(SourceError::Failed(format!("Azure CLI failed ({}): {first}", output.status)));
        }
        parse_token(&output.stdout, "Azure CLI")
    }
}
cached_credential!(AzureCliCredential);
