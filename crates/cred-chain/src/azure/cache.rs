//! Per-scope token cache: one [`RefreshCache`] per scope (docs/ARCHITECTURE.md, "What lives in
//! core"): refreshed from 5 minutes before expiry (the advisory window: one caller refreshes, the
//! others keep the cached token, and a failed refresh keeps the still-valid token), mandatory
//! [`MANDATORY_WINDOW`] before expiry, one refresh at a time per scope.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use azure_core::credentials::{AccessToken, TokenRequestOptions};
use cloudkit_core::{RefreshCache, SystemTimeSource, TimeSource};
use cloudkit_signer::azure::RefusedToken;

use super::SourceError;

/// Tokens are refreshed from this long before they expire (the advisory window).
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Inside this window before expiry a token is no longer handed out: callers wait for the refresh
/// (a request signed with a token about to expire could arrive after it has).
pub(crate) const MANDATORY_WINDOW: Duration = Duration::from_secs(30);

fn expiry(token: &AccessToken) -> Option<SystemTime> {
    Some(SystemTime::from(token.expires_on))
}

#[derive(Debug)]
pub(crate) struct TokenCache {
    scopes: Mutex<HashMap<String, Arc<RefreshCache<AccessToken>>>>,
    time: Arc<dyn TimeSource>,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self { scopes: Mutex::default(), time: Arc::new(SystemTimeSource) }
    }
}

impl TokenCache {
    /// A cache reading `time` (tests).
    #[cfg(test)]
    pub(crate) fn with_time_source(time: Arc<dyn TimeSource>) -> Self {
        Self { scopes: Mutex::default(), time }
    }

    fn scope(&self, key: &str) -> Arc<RefreshCache<AccessToken>> {
        let mut scopes = self.scopes.lock().unwrap_or_else(|p| p.into_inner());
        scopes
            .entry(key.to_owned())
            .or_insert_with(|| {
                Arc::new(
                    RefreshCache::new(expiry, REFRESH_MARGIN, MANDATORY_WINDOW).with_time_source(self.time.clone()),
                )
            })
            .clone()
    }

    /// The cached token of `scopes` while it is fresh, else the result of `fetch` (see the
    /// module docs). When `options` carry a [`RefusedToken`] (the service refused a token before
    /// its expiry) and the cached token is that one, it is dropped and a new one fetched; a token
    /// fetched since is kept (one refetch for many refused requests).
    pub(crate) async fn get_or_refresh<F, Fut>(
        &self,
        scopes: &[&str],
        options: Option<&TokenRequestOptions<'_>>,
        fetch: F,
    ) -> Result<AccessToken, SourceError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<AccessToken, SourceError>>,
    {
        let cache = self.scope(&scopes.join(" "));
        if let Some(refused) = options.and_then(|o| o.method_options.context.value::<RefusedToken>())
            && cache.cached().is_some_and(|t| t.expires_on == refused.expires_on)
        {
            tracing::debug!("the service refused the cached token; fetching a new one");
            cache.invalidate();
        }
        cache.get_or_refresh(fetch).await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use azure_core::credentials::Secret;
    use cloudkit_core::ManualTimeSource;
    use time::OffsetDateTime;

    use super::*;

    const SCOPE: &str = "https://storage.azure.com/.default";

    fn token(value: &str, expires: SystemTime) -> AccessToken {
        AccessToken::new(Secret::new(value.to_owned()), OffsetDateTime::from(expires))
    }

    #[tokio::test]
    async fn refreshes_in_the_advisory_window_and_keeps_a_valid_token_when_the_refresh_fails() {
        let clock = Arc::new(ManualTimeSource::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
        let cache = TokenCache::with_time_source(clock.clone());
        let fetches = AtomicUsize::new(0);
        let fetch = |ok: bool| {
            let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
            let expires = clock.now() + Duration::from_secs(3600);
            async move {
                if ok {
                    Ok(token(&format!("t{n}"), expires))
                } else {
                    Err(SourceError::Failed("refresh failed".into()))
                }
            }
        };
        let get = |ok| cache.get_or_refresh(&[SCOPE], None, move || fetch(ok));

        assert_eq!(get(true).await.unwrap().token.secret(), "t1");
        clock.advance(Duration::from_secs(3600 - 301)); // 5 min 1 s left: still fresh
        assert_eq!(get(false).await.unwrap().token.secret(), "t1");
        assert_eq!(fetches.load(Ordering::SeqCst), 1, "fresh: no fetch");
        clock.advance(Duration::from_secs(2)); // 4 min 59 s left: advisory refresh, which fails
        assert_eq!(get(false).await.unwrap().token.secret(), "t1", "the still-valid token is served");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
        clock.advance(Duration::from_secs(299 - 29)); // 29 s left: mandatory, the failure is returned
        let e = get(false).await.unwrap_err();
        assert_eq!(e.to_string(), "refresh failed");
        // within a second no new fetch: the failure is reported again (issue 15, defect 11)
        assert!(get(true).await.unwrap_err().to_string().contains("refresh failed"));
        assert_eq!(fetches.load(Ordering::SeqCst), 3);
        clock.advance(Duration::from_secs(1));
        assert_eq!(get(true).await.unwrap().token.secret(), "t4");
        // another scope has its own token
        let other =
            cache.get_or_refresh(&["https://management.azure.com/.default"], None, || fetch(true)).await.unwrap();
        assert_eq!(other.token.secret(), "t5");
        assert_eq!(get(false).await.unwrap().token.secret(), "t4");
    }

    /// A token the service refused (401) is dropped once and a new one fetched, even while it is
    /// fresh; requests refused with the old token after that do not fetch again.
    #[tokio::test]
    async fn a_refused_token_is_replaced_once() {
        let clock = Arc::new(ManualTimeSource::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
        let cache = TokenCache::with_time_source(clock.clone());
        let fetches = AtomicUsize::new(0);
        let fetch = || {
            let n = fetches.fetch_add(1, Ordering::SeqCst) + 1;
            let expires = clock.now() + Duration::from_secs(3600 + n as u64);
            async move { Ok(token(&format!("t{n}"), expires)) }
        };
        let refused = |t: &AccessToken| {
            let mut options = TokenRequestOptions::default();
            options.method_options.context.insert(RefusedToken { expires_on: t.expires_on });
            options
        };
        let t1 = cache.get_or_refresh(&[SCOPE], None, fetch).await.unwrap();
        assert_eq!(cache.get_or_refresh(&[SCOPE], None, fetch).await.unwrap().token.secret(), "t1");
        let t2 = cache.get_or_refresh(&[SCOPE], Some(&refused(&t1)), fetch).await.unwrap();
        assert_eq!(t2.token.secret(), "t2", "the refused token is replaced");
        let again = cache.get_or_refresh(&[SCOPE], Some(&refused(&t1)), fetch).await.unwrap();
        assert_eq!(again.token.secret(), "t2", "already replaced: no second fetch");
        assert_eq!(fetches.load(Ordering::SeqCst), 2);
    }
}
