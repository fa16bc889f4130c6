//! `Session::azure()`: resolves how to reach and authenticate to a storage account once, and
//! hands out Blob clients sharing one connection pool.

use std::sync::Arc;

use cloudkit_azure_blob::{BlobAuth, BlobClientConfig, BlobError, BlobServiceClient};
use cloudkit_core::{HttpClientConfig, HttpSend, ReqwestSend, Url};
use cloudkit_cred_chain::azure::{DefaultAzureCredential, TokenCredential};
use cloudkit_signer::azure::AccountKey;

use super::Session;

impl Session {
    /// An Azure session builder.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), cloudkit::azure_blob::BlobError> {
    /// use cloudkit::session::Session;
    /// // AZURE_STORAGE_CONNECTION_STRING, else AZURE_STORAGE_ACCOUNT (+ AZURE_STORAGE_KEY, else
    /// // DefaultAzureCredential)
    /// let session = Session::azure().load()?;
    /// let blobs = session.blob_service();
    /// # let _ = blobs; Ok(()) }
    /// ```
    pub fn azure() -> AzureSessionBuilder {
        AzureSessionBuilder::default()
    }
}

/// Builder of [`AzureSession`].
#[derive(Default)]
pub struct AzureSessionBuilder {
    connection_string: Option<String>,
    account: Option<String>,
    account_key: Option<String>,
    endpoint: Option<Url>,
    credential: Option<Arc<dyn TokenCredential>>,
    allow_loopback_http: bool,
    config: BlobClientConfig,
}

impl std::fmt::Debug for AzureSessionBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AzureSessionBuilder")
            .field("account", &self.account)
            .field("endpoint", &self.endpoint.as_ref().map(Url::as_str))
            .field("has_connection_string", &self.connection_string.is_some())
            .field("has_account_key", &self.account_key.is_some())
            .finish_non_exhaustive()
    }
}

impl AzureSessionBuilder {
    /// A connection string (wins over everything else).
    pub fn connection_string(mut self, text: impl Into<String>) -> Self {
        self.connection_string = Some(text.into());
        self
    }
    /// The storage account.
    pub fn account(mut self, name: impl Into<String>) -> Self {
        self.account = Some(name.into());
        self
    }
    /// The account key (SharedKey).
    pub fn account_key(mut self, key: impl Into<String>) -> Self {
        self.account_key = Some(key.into());
        self
    }
    /// The blob endpoint (default `https://{account}.blob.core.windows.net`).
    pub fn endpoint(mut self, url: Url) -> Self {
        self.endpoint = Some(url);
        self
    }
    /// A token credential (default: [`DefaultAzureCredential`] when no key is given).
    pub fn credential(mut self, credential: Arc<dyn TokenCredential>) -> Self {
        self.credential = Some(credential);
        self
    }
    /// Allow tokens over plain http to a loopback emulator endpoint (off by default).
    pub fn emulator(mut self, allow_loopback_http: bool) -> Self {
        self.allow_loopback_http = allow_loopback_http;
        self
    }
    /// Client settings (retries, timeouts, HTTP client).
    pub fn client_config(mut self, config: BlobClientConfig) -> Self {
        self.config = config;
        self
    }

    /// Resolves the settings (nothing is contacted yet).
    pub fn load(self) -> Result<AzureSession, BlobError> {
        let invalid = |m: String| {
            BlobError::Other(cloudkit_core::Error::invalid_input(cloudkit_azure_blob::SERVICE, "Session", m))
        };
        let http: Arc<dyn HttpSend> = match &self.config.http {
            Some(h) => h.clone(),
            None => ReqwestSend::shared(&HttpClientConfig::default()).map_err(|e| invalid(e.to_string()))?,
        };
        let mut config = self.config.clone();
        config.http = Some(http);
        config.allow_loopback_http_for_tokens = self.allow_loopback_http;
        let env_cs = std::env::var(cloudkit_azure_blob::CONNECTION_STRING_ENV).ok().filter(|s| !s.is_empty());
        let explicit = self.account_key.is_some() || self.credential.is_some() || self.account.is_some();
        let cs = self.connection_string.clone().or(if explicit { None } else { env_cs });
        let mut credential = self.credential.clone();
        let blob = if let Some(cs) = cs {
            BlobServiceClient::from_connection_string_with(&cs, config)?
        } else {
            let account = self
                .account
                .clone()
                .or_else(|| std::env::var("AZURE_STORAGE_ACCOUNT").ok().filter(|s| !s.is_empty()))
                .ok_or_else(|| {
                    invalid(
                        "no storage account: set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT, or call \
                         .connection_string()/.account()"
                            .into(),
                    )
                })?;
            let endpoint = match &self.endpoint {
                Some(u) => u.clone(),
                None => Url::parse(&format!("https://{account}.blob.core.windows.net"))
                    .map_err(|e| invalid(format!("account {account:?}: {e}")))?,
            };
            let key = self
                .account_key
                .clone()
                .or_else(|| if self.credential.is_none() { std::env::var("AZURE_STORAGE_KEY").ok() } else { None })
                .filter(|s| !s.is_empty());
            let auth = match key {
                Some(k) => BlobAuth::SharedKey(AccountKey::new(account, k).map_err(|e| invalid(e.to_string()))?),
                None => {
                    let c = credential.get_or_insert_with(|| Arc::new(DefaultAzureCredential::new())).clone();
                    BlobAuth::Token(c)
                }
            };
            BlobServiceClient::new(endpoint, auth, config)?
        };
        Ok(AzureSession { blob, credential })
    }
}

/// A resolved Azure session.
#[derive(Clone, Debug)]
pub struct AzureSession {
    blob: BlobServiceClient,
    credential: Option<Arc<dyn TokenCredential>>,
}

impl AzureSession {
    /// The Blob service client.
    pub fn blob_service(&self) -> BlobServiceClient {
        self.blob.clone()
    }

    /// The token credential, when the session uses one.
    pub fn credential(&self) -> Option<Arc<dyn TokenCredential>> {
        self.credential.clone()
    }

    /// An `ObjectStore` on one container.
    pub fn store(&self, container: impl Into<String>) -> crate::store::AzureBlobStore {
        crate::store::AzureBlobStore::new(self.blob.container_client(container))
    }
}
