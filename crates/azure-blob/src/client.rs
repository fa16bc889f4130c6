//! [`BlobServiceClient`]: the account-level client and how it authenticates.

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use cloudkit_core::{
    HttpClientConfig, HttpRequest, HttpSend, Method, Pipeline, ReqwestSend, RetryConfig, Sign, TimeoutConfig, Url,
};
use cloudkit_signer::azure::{
    AccountKey, BearerTokenSigner, ConnectionString, STORAGE_API_VERSION, STORAGE_SCOPE, SasSigner, SasToken,
    SharedKeySigner,
};

use crate::error::{BlobError, Result};
use crate::{BlobClient, ContainerClient, SERVICE};

/// The environment variable holding a connection string.
pub const CONNECTION_STRING_ENV: &str = "AZURE_STORAGE_CONNECTION_STRING";

/// How requests are authorized.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum BlobAuth {
    /// SharedKey with the account key (also signs service SAS).
    SharedKey(AccountKey),
    /// A SAS appended to every request.
    Sas(SasToken),
    /// Entra tokens from a `TokenCredential` (https only, except an explicit loopback emulator).
    Token(Arc<dyn TokenCredential>),
    /// No authorization (public containers).
    Anonymous,
}

/// Settings of a [`BlobServiceClient`].
#[derive(Clone, Debug)]
pub struct BlobClientConfig {
    /// The shared HTTP client (default: a new reqwest client).
    pub http: Option<Arc<dyn HttpSend>>,
    /// Retries (default: standard, 3 attempts).
    pub retry: RetryConfig,
    /// Timeouts.
    pub timeouts: TimeoutConfig,
    /// Allow bearer tokens over plain http to a loopback emulator (default false).
    pub allow_loopback_http_for_tokens: bool,
}

impl Default for BlobClientConfig {
    fn default() -> Self {
        Self {
            http: None,
            retry: RetryConfig::standard(),
            timeouts: TimeoutConfig::default(),
            allow_loopback_http_for_tokens: false,
        }
    }
}

/// The Blob service of one storage account.
///
/// ```no_run
/// # async fn demo() -> Result<(), cloudkit_azure_blob::BlobError> {
/// use cloudkit_azure_blob::BlobServiceClient;
/// use futures::TryStreamExt;
/// // Azurite: "UseDevelopmentStorage=true", or AZURE_STORAGE_CONNECTION_STRING via from_env()
/// let service = BlobServiceClient::from_connection_string("UseDevelopmentStorage=true")?;
/// let container = service.container_client("photos");
/// container.create().send().await?;
/// container.blob_client("cat.txt").put("meow").content_type("text/plain").send().await?;
/// let names: Vec<String> = service.list_containers().into_items(Default::default()).map_ok(|c| c.name).try_collect().await?;
/// # let _ = names; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct BlobServiceClient {
    pub(crate) inner: Arc<ClientInner>,
}

#[derive(Debug)]
pub(crate) struct ClientInner {
    pub(crate) pipeline: Pipeline,
    pub(crate) endpoint: Url,
    pub(crate) account: Option<String>,
    pub(crate) auth: BlobAuth,
}

impl BlobServiceClient {
    /// A client for `endpoint` (e.g. `https://acct.blob.core.windows.net` or Azurite's
    /// `http://127.0.0.1:10000/devstoreaccount1`).
    pub fn new(endpoint: Url, auth: BlobAuth, config: BlobClientConfig) -> Result<Self> {
        let invalid = |m: String| BlobError::invalid_input("NewClient", m);
        if endpoint.scheme() != "https" && endpoint.scheme() != "http" {
            return Err(invalid(format!("the endpoint must be http(s): {endpoint}")));
        }
        let signer: Arc<dyn Sign> = match &auth {
            BlobAuth::SharedKey(k) => Arc::new(SharedKeySigner::new(k.clone())),
            BlobAuth::Sas(t) => Arc::new(SasSigner::new(t.clone())),
            BlobAuth::Token(c) => {
                let s = BearerTokenSigner::new(c.clone(), STORAGE_SCOPE)
                    .allow_loopback_http(config.allow_loopback_http_for_tokens);
                s.check_url(&endpoint).map_err(|e| invalid(e.to_string()))?;
                Arc::new(s)
            }
            BlobAuth::Anonymous => Arc::new(VersionOnly),
        };
        let http = match config.http {
            Some(h) => h,
            None => ReqwestSend::shared(&HttpClientConfig::default()).map_err(|e| {
                BlobError::Other(
                    cloudkit_core::Error::new(cloudkit_core::ErrorKind::Transport, SERVICE, "NewClient").with_source(e),
                )
            })?,
        };
        let pipeline = Pipeline::builder(SERVICE)
            .http(http)
            .signer(signer)
            .error_parser(Arc::new(crate::AzureErrorParser))
            .retry(config.retry)
            .timeouts(config.timeouts)
            .build()?;
        let account = match &auth {
            BlobAuth::SharedKey(k) => Some(k.account().to_owned()),
            _ => account_from_endpoint(&endpoint),
        };
        let mut endpoint = endpoint;
        let trimmed = endpoint.path().trim_end_matches('/').to_owned();
        endpoint.set_path(&trimmed);
        endpoint.set_query(None);
        Ok(Self { inner: Arc::new(ClientInner { pipeline, endpoint, account, auth }) })
    }

    /// From a connection string (account key, SAS or `UseDevelopmentStorage=true`).
    pub fn from_connection_string(text: &str) -> Result<Self> {
        Self::from_connection_string_with(text, BlobClientConfig::default())
    }

    /// From a connection string, with settings.
    pub fn from_connection_string_with(text: &str, config: BlobClientConfig) -> Result<Self> {
        let invalid = |m: String| BlobError::invalid_input("NewClient", m);
        let cs = ConnectionString::parse(text).map_err(|e| invalid(e.to_string()))?;
        let endpoint = cs.blob_endpoint().map_err(|e| invalid(e.to_string()))?;
        let auth = if let Some(k) = cs.account_key() {
            BlobAuth::SharedKey(k.clone())
        } else if let Some(s) = cs.sas() {
            BlobAuth::Sas(s.clone())
        } else {
            BlobAuth::Anonymous
        };
        Self::new(endpoint, auth, config)
    }

    /// From `AZURE_STORAGE_CONNECTION_STRING`.
    pub fn from_env() -> Result<Self> {
        let text = std::env::var(CONNECTION_STRING_ENV)
            .map_err(|_| BlobError::invalid_input("NewClient", format!("{CONNECTION_STRING_ENV} is not set")))?;
        Self::from_connection_string(&text)
    }

    /// With an account key.
    pub fn with_shared_key(endpoint: Url, key: AccountKey) -> Result<Self> {
        Self::new(endpoint, BlobAuth::SharedKey(key), BlobClientConfig::default())
    }

    /// With a SAS.
    pub fn with_sas(endpoint: Url, sas: SasToken) -> Result<Self> {
        Self::new(endpoint, BlobAuth::Sas(sas), BlobClientConfig::default())
    }

    /// With Entra tokens (e.g. `cloudkit_cred_chain::azure::DefaultAzureCredential`).
    pub fn with_token_credential(endpoint: Url, credential: Arc<dyn TokenCredential>) -> Result<Self> {
        Self::new(endpoint, BlobAuth::Token(credential), BlobClientConfig::default())
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The account name, when known.
    pub fn account(&self) -> Option<&str> {
        self.inner.account.as_deref()
    }

    /// How requests are authorized.
    pub fn auth(&self) -> &BlobAuth {
        &self.inner.auth
    }

    /// The pipeline (retries, timeouts, signer).
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// A client for one container.
    pub fn container_client(&self, container: impl Into<String>) -> ContainerClient {
        ContainerClient::new(self.clone(), container.into())
    }

    /// A client for one blob.
    pub fn blob_client(&self, container: impl Into<String>, blob: impl Into<String>) -> BlobClient {
        self.container_client(container).blob_client(blob)
    }

    /// `{endpoint}{path}` with `query` (pairs are encoded).
    pub(crate) fn url(&self, path: &str, query: &[(&str, &str)]) -> Url {
        let mut url = self.inner.endpoint.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}{path}"));
        if !query.is_empty() {
            let mut q = url.query_pairs_mut();
            for (k, v) in query {
                q.append_pair(k, v);
            }
        }
        // Azure wants %20 rather than + in query values.
        if let Some(q) = url.query().map(|q| q.replace('+', "%20")) {
            url.set_query(Some(&q));
        }
        url
    }

    pub(crate) fn request(&self, method: Method, path: &str, query: &[(&str, &str)]) -> HttpRequest {
        let mut r = HttpRequest::new(method, self.url(path, query));
        r.headers.insert("x-ms-version", cloudkit_core::HeaderValue::from_static(STORAGE_API_VERSION));
        r
    }
}

/// Anonymous access still sends `x-ms-version`.
#[derive(Debug)]
struct VersionOnly;

#[async_trait::async_trait]
impl Sign for VersionOnly {
    async fn sign(&self, _request: &mut HttpRequest) -> std::result::Result<(), cloudkit_core::SignError> {
        Ok(())
    }
}

/// `acct` from `https://acct.blob.core.windows.net`, or the first path segment of a path-style
/// (emulator) endpoint.
fn account_from_endpoint(endpoint: &Url) -> Option<String> {
    let host = endpoint.host_str()?;
    if let Some((first, _)) = host.split_once(".blob.") {
        return Some(first.to_owned());
    }
    endpoint.path_segments()?.find(|s| !s.is_empty()).map(str::to_owned)
}

/// Percent-encodes a container or blob name for a URL path (`/` in blob names is kept).
pub(crate) fn encode_path(name: &str) -> String {
    const SET: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~').remove(b'/');
    percent_encoding::utf8_percent_encode(name, SET).to_string()
}
