//! Per-scope token cache: refresh 5 minutes before expiry, one refresh at a time per scope, keep
//! a still-valid token when a refresh fails.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::AccessToken;
use time::OffsetDateTime;
use tokio::sync::Mutex;

use super::SourceError;

/// Tokens are refreshed this long before they expire.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);

#[derive(Debug, Default)]
pub(crate) struct TokenCache {
    slots: std::sync::Mutex<HashMap<String, Arc<Mutex<Option<AccessToken>>>>>,
}

impl TokenCache {
    fn slot(&self, key: &str) -> Arc<Mutex<Option<AccessToken>>> {
        let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.entry(key.to_owned()).or_default().clone()
    }

    pub(crate) async fn get_or_refresh<F, Fut>(&self, scopes: &[&str], fetch: F) -> Result<AccessToken, SourceError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, SourceError>>,
    {
        let slot = self.slot(&scopes.join(" "));
        let mut guard = slot.lock().await;
        let now = OffsetDateTime::now_utc();
        if let Some(t) = guard.as_ref()
            && t.expires_on > now + REFRESH_MARGIN
        {
            return Ok(t.clone());
        }
        match fetch().await {
            Ok(t) => {
                *guard = Some(t.clone());
                Ok(t)
            }
            Err(e) => match guard.as_ref() {
                Some(old) if old.expires_on > now => {
                    tracing::warn!("token refresh failed; using the cached token until it expires");
                    Ok(old.clone())
                }
                _ => Err(e),
            },
        }
    }
}
