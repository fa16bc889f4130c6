//! [`AzureConfig`]: the storage account, how its requests are authorized, the blob endpoint, the
//! Azure Resource Manager settings (token credential, subscription, endpoint) and the HTTP, retry
//! and timeout settings every Azure client is built from (docs/ARCHITECTURE.md, "Construction: a
//! loaded config, one builder").
//!
//! The order in which they are resolved is on [`AzureConfigLoader`].

use std::fmt;
use std::sync::Arc;

use cloudkit_core::{
    HttpClientConfig, HttpSend, NoSign, Pipeline, PipelineBuilder, ReqwestSend, RetryConfig, RetryQuota, Sign,
    TimeoutConfig, TransportError, Url,
};
use cloudkit_signer::azure::{
    AccountKey, AzureSignError, BearerTokenSigner, ConnectionString, STORAGE_SCOPE, SasSigner, SasToken,
    SharedKeySigner,
};

use super::{AzureEnv, DefaultAzureCredential, IdentityOptions, TokenCredential};

/// The environment variable holding a storage connection string.
pub const CONNECTION_STRING_ENV: &str = "AZURE_STORAGE_CONNECTION_STRING";
/// The environment variable naming the storage account.
pub const ACCOUNT_ENV: &str = "AZURE_STORAGE_ACCOUNT";
/// The environment variable holding the account key (SharedKey).
pub const ACCOUNT_KEY_ENV: &str = "AZURE_STORAGE_KEY";
/// The environment variable holding a SAS token.
pub const SAS_TOKEN_ENV: &str = "AZURE_STORAGE_SAS_TOKEN";
/// The environment variable naming the default subscription of Azure Resource Manager clients (as
/// in the Azure CLI and the SDK samples).
pub const SUBSCRIPTION_ID_ENV: &str = "AZURE_SUBSCRIPTION_ID";
/// The environment variable overriding the Azure Resource Manager endpoint (sovereign clouds,
/// e.g. `https://management.chinacloudapi.cn`, or a local fake).
pub const RESOURCE_MANAGER_ENDPOINT_ENV: &str = "AZURE_RESOURCE_MANAGER_ENDPOINT";
/// The Azure Resource Manager endpoint of the public cloud.
pub const DEFAULT_RESOURCE_MANAGER_ENDPOINT: &str = "https://management.azure.com";
/// The token scope of the public cloud's Azure Resource Manager.
pub const RESOURCE_MANAGER_SCOPE: &str = "https://management.azure.com/.default";

/// How storage requests are authorized. Every Azure storage client is built from it (through
/// [`AzureConfig`]). `Debug` shows no key and no SAS signature.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum StorageAuth {
    /// SharedKey with the account key (also signs service and account SAS).
    SharedKey(AccountKey),
    /// A SAS appended to every request.
    Sas(SasToken),
    /// Entra tokens from a `TokenCredential` (https only, except a loopback emulator allowed with
    /// [`AzureConfigLoader::allow_loopback_http`]).
    Token(Arc<dyn TokenCredential>),
    /// No authorization (public containers).
    Anonymous,
}

impl StorageAuth {
    /// The name of the scheme: `SharedKey`, `SAS`, `Token` or `Anonymous`.
    pub fn kind(&self) -> &'static str {
        match self {
            StorageAuth::SharedKey(_) => "SharedKey",
            StorageAuth::Sas(_) => "SAS",
            StorageAuth::Token(_) => "Token",
            StorageAuth::Anonymous => "Anonymous",
        }
    }

    /// The signing step of every request (bearer tokens over plain http only to a loopback host,
    /// and only with `allow_loopback_http`).
    pub fn signer(&self, allow_loopback_http: bool) -> Arc<dyn Sign> {
        match self {
            StorageAuth::SharedKey(key) => Arc::new(SharedKeySigner::new(key.clone())),
            StorageAuth::Sas(token) => Arc::new(SasSigner::new(token.clone())),
            StorageAuth::Token(credential) => Arc::new(
                BearerTokenSigner::new(credential.clone(), STORAGE_SCOPE).allow_loopback_http(allow_loopback_http),
            ),
            StorageAuth::Anonymous => Arc::new(NoSign),
        }
    }
}

/// Why the Azure configuration could not be loaded. `Display` is one line and never contains a
/// key, a SAS signature or a connection string. It includes the signer error's text for the
/// connection-string and key variants, so `source()` is `None` for them (those errors have no
/// further cause).
#[derive(Debug)]
#[non_exhaustive]
pub enum AzureConfigError {
    /// A connection string does not parse (or its key is not base64).
    InvalidConnectionString {
        /// Where it came from (`the loader's connection string` or the variable).
        origin: &'static str,
        /// What is wrong.
        source: AzureSignError,
    },
    /// An account key is not base64.
    InvalidAccountKey {
        /// Where it came from (`the loader's account key` or the variable).
        origin: &'static str,
        /// What is wrong.
        source: AzureSignError,
    },
    /// Neither a connection string nor an account was found (and the authorization is not a token
    /// credential, which Azure Resource Manager clients can use without an account).
    NoAccount,
    /// The blob endpoint cannot be used (not http(s), or plain http with bearer tokens).
    InvalidEndpoint {
        /// The endpoint, without its query.
        endpoint: String,
        /// Why it was refused.
        message: String,
    },
    /// The Azure Resource Manager endpoint cannot be used (not https, except a loopback emulator
    /// with `allow_loopback_http`).
    InvalidResourceManagerEndpoint {
        /// The endpoint, without its query.
        endpoint: String,
        /// Why it was refused.
        message: String,
    },
    /// The HTTP client could not be built (the transport error says so itself).
    Http(TransportError),
}

impl std::fmt::Display for AzureConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidConnectionString { origin, source } | Self::InvalidAccountKey { origin, source } => {
                write!(f, "{origin}: {source}")
            }
            Self::NoAccount => f.write_str(
                "no storage account: set AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT, or give the loader \
                 a connection string, an account or a blob endpoint",
            ),
            Self::InvalidEndpoint { endpoint, message } => write!(f, "invalid blob endpoint {endpoint}: {message}"),
            Self::InvalidResourceManagerEndpoint { endpoint, message } => {
                write!(f, "invalid Azure Resource Manager endpoint {endpoint}: {message}")
            }
            Self::Http(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for AzureConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::InvalidConnectionString { source, .. } | Self::InvalidAccountKey { source, .. } => {
                cloudkit_core::unshown_source(&self.to_string(), std::error::Error::source(source))
            }
            Self::Http(e) => std::error::Error::source(e),
            Self::NoAccount | Self::InvalidEndpoint { .. } | Self::InvalidResourceManagerEndpoint { .. } => None,
        }
    }
}

/// Everything an Azure client needs: the storage account, the authorization, the blob endpoint
/// (storage clients); the token credential, the default subscription and the endpoint (Azure
/// Resource Manager clients); the shared HTTP client, retry and timeout settings. Cheap to clone (clients built from one
/// config and its clones share the connection pool and the retry quota). `Debug` shows no secret.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_cred_chain::azure::{AzureConfig, AzureEnv, StorageAuth};
///
/// // Tests use a fake environment; real programs just call `AzureConfig::loader().load().await?`.
/// let env = AzureEnv::from_pairs([("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true")]);
/// let config = AzureConfig::loader().env(env).load().await?;
/// assert_eq!(config.account(), Some("devstoreaccount1"));
/// assert_eq!(config.blob_endpoint().map(|u| u.as_str()), Some("http://127.0.0.1:10000/devstoreaccount1"));
/// assert!(matches!(config.auth(), StorageAuth::SharedKey(_)));
/// assert!(!format!("{config:?}").contains("Eby8"), "no key in Debug");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AzureConfig {
    account: Option<String>,
    auth: StorageAuth,
    auth_source: &'static str,
    blob_endpoint: Option<Url>,
    token_credential: Arc<dyn TokenCredential>,
    subscription_id: Option<String>,
    resource_manager_endpoint: Url,
    resource_manager_scope: Option<String>,
    http: Arc<dyn HttpSend>,
    retry: RetryConfig,
    timeouts: TimeoutConfig,
    quota: Arc<RetryQuota>,
    allow_loopback_http: bool,
}

impl fmt::Debug for AzureConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AzureConfig")
            .field("account", &self.account)
            .field("auth", &self.auth.kind())
            .field("auth_source", &self.auth_source)
            .field("blob_endpoint", &self.blob_endpoint.as_ref().map(Url::as_str))
            .field("subscription_id", &self.subscription_id)
            .field("resource_manager_endpoint", &self.resource_manager_endpoint.as_str())
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .field("allow_loopback_http", &self.allow_loopback_http)
            .finish_non_exhaustive()
    }
}

impl AzureConfig {
    /// A loader reading the process environment (see [`AzureConfigLoader`] for the order).
    pub fn loader() -> AzureConfigLoader {
        AzureConfigLoader::default()
    }

    /// The storage account name, when known.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// How requests are authorized.
    pub fn auth(&self) -> &StorageAuth {
        &self.auth
    }

    /// Where the authorization came from (`AZURE_STORAGE_CONNECTION_STRING`, `the loader's
    /// account key`, `DefaultAzureCredential` …); never a secret.
    pub fn auth_source(&self) -> &'static str {
        self.auth_source
    }

    /// The token credential, when requests carry Entra tokens.
    pub fn credential(&self) -> Option<Arc<dyn TokenCredential>> {
        match &self.auth {
            StorageAuth::Token(c) => Some(c.clone()),
            _ => None,
        }
    }

    /// The blob endpoint (`https://{account}.blob.core.windows.net`, or Azurite's path-style
    /// `http://127.0.0.1:10000/devstoreaccount1`), without a trailing `/` or query; `None` when
    /// no storage account is configured (a config for Azure Resource Manager only: storage clients
    /// then fail with [`AzureConfigError::NoAccount`]'s message).
    pub fn blob_endpoint(&self) -> Option<&Url> {
        self.blob_endpoint.as_ref()
    }

    /// The token credential of Azure Resource Manager clients: the loader's credential, else the
    /// storage authorization's when it is a token credential (one token cache), else a
    /// [`DefaultAzureCredential`] on the loader's environment and HTTP client (nothing is fetched
    /// until the first request).
    pub fn token_credential(&self) -> Arc<dyn TokenCredential> {
        self.token_credential.clone()
    }

    /// The default subscription of Azure Resource Manager clients: the loader's, else
    /// `AZURE_SUBSCRIPTION_ID`.
    pub fn subscription_id(&self) -> Option<&str> {
        self.subscription_id.as_deref()
    }

    /// The Azure Resource Manager endpoint: the loader's, else `AZURE_RESOURCE_MANAGER_ENDPOINT`,
    /// else [`DEFAULT_RESOURCE_MANAGER_ENDPOINT`]; without a trailing `/` or query.
    pub fn resource_manager_endpoint(&self) -> &Url {
        &self.resource_manager_endpoint
    }

    /// The token scope of Azure Resource Manager requests: the loader's
    /// [`resource_manager_scope`](AzureConfigLoader::resource_manager_scope), else
    /// `https://management.azure.com/.default` for the public cloud and for a loopback emulator,
    /// else `<scheme>://<host>[:port]/.default` of the endpoint (sovereign clouds,
    /// `https://management.chinacloudapi.cn/.default`).
    pub fn resource_manager_scope(&self) -> String {
        self.resource_manager_scope_for(&self.resource_manager_endpoint)
    }

    /// The token scope of Azure Resource Manager requests sent to `endpoint` (a client's endpoint
    /// override): the loader's [`resource_manager_scope`](AzureConfigLoader::resource_manager_scope)
    /// when one was given, else the scope derived from `endpoint` as
    /// [`resource_manager_scope`](Self::resource_manager_scope) derives it from the config's.
    pub fn resource_manager_scope_for(&self, endpoint: &Url) -> String {
        match &self.resource_manager_scope {
            Some(scope) => scope.clone(),
            None => resource_manager_scope(endpoint),
        }
    }

    /// The signing step of Azure Resource Manager requests: bearer tokens of
    /// [`resource_manager_scope`](Self::resource_manager_scope) from
    /// [`token_credential`](Self::token_credential), https only (plain http only to a loopback
    /// emulator with `allow_loopback_http`), without the Storage headers.
    pub fn resource_manager_signer(&self) -> Arc<dyn Sign> {
        Arc::new(self.resource_manager_bearer())
    }

    /// [`resource_manager_signer`](Self::resource_manager_signer) for requests sent to `endpoint`
    /// (a client's endpoint override): tokens of
    /// [`resource_manager_scope_for`](Self::resource_manager_scope_for)`(endpoint)`, so an ARM
    /// client pointed at a sovereign cloud's endpoint asks for that cloud's audience.
    pub fn resource_manager_signer_for(&self, endpoint: &Url) -> Arc<dyn Sign> {
        Arc::new(self.resource_manager_bearer_with(self.resource_manager_scope_for(endpoint)))
    }

    fn resource_manager_bearer(&self) -> BearerTokenSigner {
        self.resource_manager_bearer_with(self.resource_manager_scope())
    }

    fn resource_manager_bearer_with(&self, scope: String) -> BearerTokenSigner {
        BearerTokenSigner::new(self.token_credential.clone(), scope)
            .allow_loopback_http(self.allow_loopback_http)
            .storage_headers(false)
    }

    /// Checks that `endpoint` can carry this config's Azure Resource Manager tokens (https, or
    /// plain http to a loopback emulator with `allow_loopback_http`) and returns it without a
    /// trailing `/`, query or fragment. Clients call it on an endpoint override.
    pub fn validate_resource_manager_endpoint(&self, endpoint: Url) -> Result<Url, AzureConfigError> {
        validate_resource_manager_endpoint(endpoint, self.allow_loopback_http)
    }

    /// A pipeline builder for an Azure Resource Manager `service`, preset with the
    /// [`resource_manager_signer`](Self::resource_manager_signer), the HTTP client, retry
    /// settings, the shared retry quota and timeouts. The client adds its error parser and retry
    /// classifier.
    pub fn resource_manager_pipeline_builder(&self, service: &'static str) -> PipelineBuilder {
        self.pipeline_builder(service).signer(self.resource_manager_signer())
    }

    cloudkit_core::config_accessors!();

    /// The retry quota shared by this config's clients.
    pub fn retry_quota(&self) -> Arc<RetryQuota> {
        self.quota.clone()
    }

    /// Whether bearer tokens may go over plain http to a loopback emulator.
    pub fn allows_loopback_http(&self) -> bool {
        self.allow_loopback_http
    }

    /// The signing step for this config's authorization.
    pub fn signer(&self) -> Arc<dyn Sign> {
        self.auth.signer(self.allow_loopback_http)
    }

    /// Checks that `endpoint` can be used with this authorization (http or https; https for
    /// bearer tokens unless a loopback emulator is allowed) and returns it without a trailing `/`
    /// or query. Clients call it on an endpoint override.
    pub fn validate_endpoint(&self, endpoint: Url) -> Result<Url, AzureConfigError> {
        validate_endpoint(endpoint, &self.auth, self.allow_loopback_http)
    }

    /// A pipeline builder for `service` preset with this config's signer, HTTP client, retry
    /// settings, shared retry quota and timeouts. The client adds its service's error parser and
    /// retry classifier, applies its overrides and builds.
    pub fn pipeline_builder(&self, service: &'static str) -> PipelineBuilder {
        Pipeline::builder(service)
            .http(self.http())
            .signer(self.signer())
            .retry(self.retry_config())
            .quota(self.retry_quota())
            .timeouts(self.timeout_config())
    }
}

fn resource_manager_scope(endpoint: &Url) -> String {
    let public = endpoint.host_str().is_some_and(|h| h.eq_ignore_ascii_case("management.azure.com"));
    if public || cloudkit_signer::azure::endpoint_allows_plain_http(endpoint) {
        return RESOURCE_MANAGER_SCOPE.to_owned();
    }
    let origin = endpoint.origin().ascii_serialization();
    format!("{origin}/.default")
}

fn validate_resource_manager_endpoint(mut endpoint: Url, allow_loopback_http: bool) -> Result<Url, AzureConfigError> {
    let invalid = |endpoint: &Url, message: String| AzureConfigError::InvalidResourceManagerEndpoint {
        endpoint: cloudkit_core::redact_url(endpoint),
        message,
    };
    if endpoint.cannot_be_a_base() || endpoint.host_str().is_none() {
        return Err(invalid(&endpoint, "the endpoint has no host".into()));
    }
    let plain_ok = endpoint.scheme() == "http"
        && allow_loopback_http
        && cloudkit_signer::azure::endpoint_allows_plain_http(&endpoint);
    if endpoint.scheme() != "https" && !plain_ok {
        let message = if endpoint.scheme() == "http" && cloudkit_signer::azure::endpoint_allows_plain_http(&endpoint) {
            "bearer tokens are only sent over https; for a local fake call `allow_loopback_http(true)` on \
             `AzureConfig::loader()` (or `.emulator(true)` on the Azure session)"
        } else {
            "bearer tokens are only sent over https (plain http only to a loopback emulator with \
             `allow_loopback_http(true)`)"
        };
        return Err(invalid(&endpoint, message.into()));
    }
    let trimmed = endpoint.path().trim_end_matches('/').to_owned();
    endpoint.set_path(&trimmed);
    endpoint.set_query(None);
    endpoint.set_fragment(None);
    Ok(endpoint)
}

fn validate_endpoint(
    mut endpoint: Url,
    auth: &StorageAuth,
    allow_loopback_http: bool,
) -> Result<Url, AzureConfigError> {
    let invalid = |endpoint: &Url, message: String| AzureConfigError::InvalidEndpoint {
        endpoint: cloudkit_core::redact_url(endpoint),
        message,
    };
    if endpoint.scheme() != "https" && endpoint.scheme() != "http" {
        return Err(invalid(&endpoint, "the blob endpoint must be http or https".into()));
    }
    if endpoint.cannot_be_a_base() || endpoint.host_str().is_none() {
        return Err(invalid(&endpoint, "the blob endpoint has no host".into()));
    }
    if let StorageAuth::Token(credential) = auth {
        BearerTokenSigner::new(credential.clone(), STORAGE_SCOPE)
            .allow_loopback_http(allow_loopback_http)
            .check_url(&endpoint)
            .map_err(|e| invalid(&endpoint, e.to_string()))?;
    }
    let trimmed = endpoint.path().trim_end_matches('/').to_owned();
    endpoint.set_path(&trimmed);
    endpoint.set_query(None);
    endpoint.set_fragment(None);
    Ok(endpoint)
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

/// Loads an [`AzureConfig`].
///
/// [`load`](Self::load) resolves the account, the authorization and the endpoint once, in this order
/// (the first that applies wins):
///
/// 1. a connection string given to the loader;
/// 2. unless the loader was given an account or an authorization (key, SAS, credential,
///    anonymous): `AZURE_STORAGE_CONNECTION_STRING`;
/// 3. the account (the loader's, else `AZURE_STORAGE_ACCOUNT`, else the first part of the blob
///    endpoint) with the loader's account key, SAS, token credential or anonymous access, else
///    `AZURE_STORAGE_KEY` (SharedKey), else `AZURE_STORAGE_SAS_TOKEN` (SAS), else Entra tokens
///    from [`DefaultAzureCredential`].
///
/// The blob endpoint is the loader's, else the connection string's, else
/// `https://{account}.blob.core.windows.net`. The environment is read through [`AzureEnv`], so tests
/// never touch the real one.
///
/// A config for Azure Resource Manager only needs no storage account: with no account, no key and
/// no SAS the authorization is a token credential ([`DefaultAzureCredential`] unless the loader
/// was given one), [`AzureConfig::blob_endpoint`] is `None`, and only storage clients fail
/// (with [`AzureConfigError::NoAccount`]'s message). Azure Resource Manager settings:
/// [`subscription_id`](Self::subscription_id) (else `AZURE_SUBSCRIPTION_ID`),
/// [`resource_manager_endpoint`](Self::resource_manager_endpoint) (else
/// `AZURE_RESOURCE_MANAGER_ENDPOINT`, else `https://management.azure.com`); the Entra authority
/// follows `AZURE_AUTHORITY_HOST`.
#[derive(Default)]
pub struct AzureConfigLoader {
    env: Option<AzureEnv>,
    http: Option<Arc<dyn HttpSend>>,
    retry: Option<RetryConfig>,
    timeouts: Option<TimeoutConfig>,
    connection_string: Option<String>,
    account: Option<String>,
    account_key: Option<String>,
    sas: Option<SasToken>,
    credential: Option<Arc<dyn TokenCredential>>,
    anonymous: bool,
    blob_endpoint: Option<Url>,
    subscription_id: Option<String>,
    resource_manager_endpoint: Option<Url>,
    resource_manager_scope: Option<String>,
    allow_loopback_http: bool,
}

/// Never shows the connection string, the account key or the SAS signature.
impl fmt::Debug for AzureConfigLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let set = |on: bool| if on { "** set **" } else { "unset" };
        f.debug_struct("AzureConfigLoader")
            .field("env", &self.env)
            .field("connection_string", &set(self.connection_string.is_some()))
            .field("account", &self.account)
            .field("account_key", &set(self.account_key.is_some()))
            .field("sas", &self.sas)
            .field("credential", &set(self.credential.is_some()))
            .field("anonymous", &self.anonymous)
            .field("blob_endpoint", &self.blob_endpoint.as_ref().map(cloudkit_core::redact_url))
            .field("subscription_id", &self.subscription_id)
            .field("resource_manager_endpoint", &self.resource_manager_endpoint.as_ref().map(cloudkit_core::redact_url))
            .field("resource_manager_scope", &self.resource_manager_scope)
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .field("allow_loopback_http", &self.allow_loopback_http)
            .finish_non_exhaustive()
    }
}

/// What the resolution found.
struct Resolved {
    account: Option<String>,
    auth: StorageAuth,
    source: &'static str,
    endpoint: Option<Url>,
}

impl AzureConfigLoader {
    /// The environment to read (default: the process environment).
    pub fn env(mut self, env: AzureEnv) -> Self {
        self.env = Some(env);
        self
    }

    // `http` (also used by the default `DefaultAzureCredential`), `retry`, `timeouts`.
    cloudkit_core::config_loader_overrides!();

    /// A connection string (account key, SAS or `UseDevelopmentStorage=true`); wins over every
    /// other authorization setting and the environment.
    pub fn connection_string(mut self, text: impl Into<String>) -> Self {
        self.connection_string = Some(text.into());
        self
    }

    /// The storage account (wins over `AZURE_STORAGE_ACCOUNT`; `AZURE_STORAGE_CONNECTION_STRING` is
    /// then not read).
    pub fn account(mut self, name: impl Into<String>) -> Self {
        self.account = Some(name.into());
        self
    }

    /// The account key (base64): SharedKey authorization.
    pub fn account_key(mut self, key: impl Into<String>) -> Self {
        self.account_key = Some(key.into());
        self
    }

    /// A SAS token (the query string, with or without `?`) appended to every request.
    pub fn sas_token(mut self, sas: impl Into<String>) -> Self {
        self.sas = Some(SasToken::from_query(sas));
        self
    }

    /// A generated SAS appended to every request.
    pub fn sas(mut self, sas: SasToken) -> Self {
        self.sas = Some(sas);
        self
    }

    /// A token credential for Entra tokens (default, when no key or SAS is found:
    /// [`DefaultAzureCredential`]).
    pub fn credential(mut self, credential: Arc<dyn TokenCredential>) -> Self {
        self.credential = Some(credential);
        self
    }

    /// No authorization (public containers).
    pub fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// The blob endpoint (wins over the connection string's; default
    /// `https://{account}.blob.core.windows.net`).
    pub fn blob_endpoint(mut self, endpoint: Url) -> Self {
        self.blob_endpoint = Some(endpoint);
        self
    }

    /// The default subscription of Azure Resource Manager clients (wins over
    /// `AZURE_SUBSCRIPTION_ID`).
    pub fn subscription_id(mut self, id: impl Into<String>) -> Self {
        self.subscription_id = Some(id.into());
        self
    }

    /// The Azure Resource Manager endpoint (wins over `AZURE_RESOURCE_MANAGER_ENDPOINT`; default
    /// `https://management.azure.com`). Sovereign clouds: `https://management.chinacloudapi.cn`,
    /// `https://management.usgovcloudapi.net` (with `AZURE_AUTHORITY_HOST` for their Entra
    /// authority).
    pub fn resource_manager_endpoint(mut self, endpoint: Url) -> Self {
        self.resource_manager_endpoint = Some(endpoint);
        self
    }

    /// The token scope of Azure Resource Manager requests, for clouds whose token audience differs
    /// from their endpoint (default: derived from the endpoint, see
    /// [`AzureConfig::resource_manager_scope`]).
    pub fn resource_manager_scope(mut self, scope: impl Into<String>) -> Self {
        self.resource_manager_scope = Some(scope.into());
        self
    }

    /// Allows bearer tokens over plain http to a loopback emulator endpoint (default false).
    pub fn allow_loopback_http(mut self, allow: bool) -> Self {
        self.allow_loopback_http = allow;
        self
    }

    /// Resolves the account, authorization and endpoint (nothing is contacted; a token
    /// credential fetches its first token on the first request).
    pub async fn load(self) -> Result<AzureConfig, AzureConfigError> {
        let env = self.env.clone().unwrap_or_else(AzureEnv::real);
        let http = match &self.http {
            Some(h) => h.clone(),
            None => ReqwestSend::shared(&HttpClientConfig::default()).map_err(AzureConfigError::Http)?,
        };
        let resolved = self.resolve(&env, &http)?;
        let endpoint =
            match resolved.endpoint.clone().or_else(|| self.blob_endpoint.clone()) {
                Some(endpoint) => Some(endpoint),
                None => match resolved.account.as_deref() {
                    Some(account) => {
                        let text = format!("https://{account}.blob.core.windows.net");
                        Some(Url::parse(&text).map_err(|e| AzureConfigError::InvalidEndpoint {
                            endpoint: text,
                            message: e.to_string(),
                        })?)
                    }
                    // Azure Resource Manager needs no account, only a token credential.
                    None if matches!(resolved.auth, StorageAuth::Token(_)) => None,
                    None => return Err(AzureConfigError::NoAccount),
                },
            };
        let blob_endpoint = match endpoint {
            Some(endpoint) => Some(validate_endpoint(endpoint, &resolved.auth, self.allow_loopback_http)?),
            None => None,
        };
        let account = match &resolved.auth {
            StorageAuth::SharedKey(key) => Some(key.account().to_owned()),
            _ => resolved.account.or_else(|| blob_endpoint.as_ref().and_then(account_from_endpoint)),
        };
        let token_credential: Arc<dyn TokenCredential> = match (&self.credential, &resolved.auth) {
            (Some(credential), _) => credential.clone(),
            (None, StorageAuth::Token(credential)) => credential.clone(),
            (None, _) => {
                let options =
                    IdentityOptions { env: env.clone(), http: Some(http.clone()), ..IdentityOptions::default() };
                Arc::new(DefaultAzureCredential::builder().options(options).build())
            }
        };
        let subscription_id = self.subscription_id.clone().or_else(|| env.get(SUBSCRIPTION_ID_ENV));
        let arm_endpoint = match self.resource_manager_endpoint.clone() {
            Some(endpoint) => endpoint,
            None => {
                let text = env
                    .get(RESOURCE_MANAGER_ENDPOINT_ENV)
                    .unwrap_or_else(|| DEFAULT_RESOURCE_MANAGER_ENDPOINT.to_owned());
                Url::parse(text.trim()).map_err(|e| AzureConfigError::InvalidResourceManagerEndpoint {
                    endpoint: format!("{RESOURCE_MANAGER_ENDPOINT_ENV} value"),
                    message: e.to_string(),
                })?
            }
        };
        let resource_manager_endpoint = validate_resource_manager_endpoint(arm_endpoint, self.allow_loopback_http)?;
        tracing::debug!(
            account = account.as_deref().unwrap_or("-"),
            auth = resolved.auth.kind(),
            source = resolved.source,
            endpoint = blob_endpoint.as_ref().map_or("-", Url::as_str),
            resource_manager_endpoint = %resource_manager_endpoint,
            subscription = subscription_id.as_deref().unwrap_or("-"),
            "resolved the Azure configuration"
        );
        Ok(AzureConfig {
            account,
            auth: resolved.auth,
            auth_source: resolved.source,
            blob_endpoint,
            token_credential,
            subscription_id,
            resource_manager_endpoint,
            resource_manager_scope: self.resource_manager_scope.clone(),
            http,
            retry: self.retry.unwrap_or_else(RetryConfig::standard),
            timeouts: self.timeouts.unwrap_or_default(),
            quota: Arc::new(RetryQuota::default()),
            allow_loopback_http: self.allow_loopback_http,
        })
    }

    /// Account, authorization and (from a connection string or the loader) the endpoint. The
    /// loader's endpoint wins over a connection string's.
    fn resolve(&self, env: &AzureEnv, http: &Arc<dyn HttpSend>) -> Result<Resolved, AzureConfigError> {
        if let Some(text) = &self.connection_string {
            return self.resolve_connection_string(text, "the loader's connection string");
        }
        let explicit = self.account.is_some()
            || self.account_key.is_some()
            || self.sas.is_some()
            || self.credential.is_some()
            || self.anonymous;
        if !explicit && let Some(text) = env.get(CONNECTION_STRING_ENV) {
            return self.resolve_connection_string(&text, CONNECTION_STRING_ENV);
        }
        let account = self.account.clone().or_else(|| env.get(ACCOUNT_ENV));
        let endpoint = self.blob_endpoint.clone();
        let account = account.or_else(|| endpoint.as_ref().and_then(account_from_endpoint));
        let shared_key = |key: &str, origin: &'static str| {
            let account = account.clone().ok_or(AzureConfigError::NoAccount)?;
            AccountKey::new(account, key)
                .map(StorageAuth::SharedKey)
                .map_err(|source| AzureConfigError::InvalidAccountKey { origin, source })
        };
        let (auth, source) = if let Some(key) = &self.account_key {
            (shared_key(key, "the loader's account key")?, "the loader's account key")
        } else if let Some(sas) = &self.sas {
            (StorageAuth::Sas(sas.clone()), "the loader's SAS")
        } else if let Some(credential) = &self.credential {
            (StorageAuth::Token(credential.clone()), "the loader's token credential")
        } else if self.anonymous {
            (StorageAuth::Anonymous, "anonymous (the loader)")
        } else if let Some(key) = env.get(ACCOUNT_KEY_ENV) {
            (shared_key(&key, ACCOUNT_KEY_ENV)?, ACCOUNT_KEY_ENV)
        } else if let Some(sas) = env.get(SAS_TOKEN_ENV) {
            (StorageAuth::Sas(SasToken::from_query(sas)), SAS_TOKEN_ENV)
        } else {
            // No account is fine here: Azure Resource Manager clients need only the token credential;
            // `load` leaves the blob endpoint unset and storage clients report the missing account.
            let options = IdentityOptions { env: env.clone(), http: Some(http.clone()), ..IdentityOptions::default() };
            let credential = DefaultAzureCredential::builder().options(options).build();
            (StorageAuth::Token(Arc::new(credential)), "DefaultAzureCredential")
        };
        Ok(Resolved { account, auth, source, endpoint })
    }

    fn resolve_connection_string(&self, text: &str, origin: &'static str) -> Result<Resolved, AzureConfigError> {
        let invalid = |source| AzureConfigError::InvalidConnectionString { origin, source };
        let cs = ConnectionString::parse(text).map_err(invalid)?;
        let endpoint = match &self.blob_endpoint {
            Some(endpoint) => endpoint.clone(),
            None => cs.blob_endpoint().map_err(invalid)?,
        };
        let auth = if let Some(key) = cs.account_key() {
            StorageAuth::SharedKey(key.clone())
        } else if let Some(sas) = cs.sas() {
            StorageAuth::Sas(sas.clone())
        } else {
            StorageAuth::Anonymous
        };
        Ok(Resolved { account: cs.account_name().map(str::to_owned), auth, source: origin, endpoint: Some(endpoint) })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use cloudkit_signer::azure::{DEVELOPMENT_ACCOUNT_KEY, DEVELOPMENT_BLOB_ENDPOINT};

    use super::*;

    const KEY: &str = "c2VjcmV0LWtleS12YWx1ZQ==";

    fn env<const N: usize>(pairs: [(&str, &str); N]) -> AzureEnv {
        AzureEnv::from_pairs(pairs)
    }

    async fn load(loader: AzureConfigLoader) -> Result<AzureConfig, AzureConfigError> {
        loader.load().await
    }

    fn url(text: &str) -> Url {
        Url::parse(text).unwrap()
    }

    #[tokio::test]
    async fn a_connection_string_in_code_wins_over_everything() {
        let config = load(
            AzureConfig::loader()
                .env(env([(CONNECTION_STRING_ENV, "AccountName=envacct;AccountKey=AAAA")]))
                .connection_string(format!(
                    "AccountName=codeacct;AccountKey={KEY};EndpointSuffix=core.chinacloudapi.cn"
                ))
                .account_key("ignored")
                .credential(Arc::new(DefaultAzureCredential::new())),
        )
        .await
        .unwrap();
        assert_eq!(config.account(), Some("codeacct"));
        assert!(matches!(config.auth(), StorageAuth::SharedKey(k) if k.account() == "codeacct"));
        assert_eq!(config.blob_endpoint().unwrap().as_str(), "https://codeacct.blob.core.chinacloudapi.cn/");
        assert_eq!(config.auth_source(), "the loader's connection string");
        let shown = format!("{config:?}");
        assert!(!shown.contains(KEY), "{shown}");
    }

    #[tokio::test]
    async fn the_environment_connection_string_then_account_with_key_sas_or_token() {
        let config = load(AzureConfig::loader().env(env([
            (CONNECTION_STRING_ENV, "UseDevelopmentStorage=true"),
            (ACCOUNT_ENV, "other"),
            (ACCOUNT_KEY_ENV, KEY),
        ])))
        .await
        .unwrap();
        assert_eq!(config.account(), Some("devstoreaccount1"));
        assert_eq!(config.blob_endpoint().unwrap().as_str(), DEVELOPMENT_BLOB_ENDPOINT);
        assert_eq!(config.auth_source(), CONNECTION_STRING_ENV);
        assert!(matches!(config.auth(), StorageAuth::SharedKey(_)));

        let config =
            load(AzureConfig::loader().env(env([(ACCOUNT_ENV, "acct"), (ACCOUNT_KEY_ENV, KEY)]))).await.unwrap();
        assert!(matches!(config.auth(), StorageAuth::SharedKey(k) if k.account() == "acct"));
        assert_eq!(config.blob_endpoint().unwrap().as_str(), "https://acct.blob.core.windows.net/");
        assert_eq!(config.auth_source(), ACCOUNT_KEY_ENV);

        let config = load(
            AzureConfig::loader().env(env([(ACCOUNT_ENV, "acct"), (SAS_TOKEN_ENV, "?sv=2025-11-05&sig=SECRETSIG")])),
        )
        .await
        .unwrap();
        let StorageAuth::Sas(sas) = config.auth() else { panic!("{config:?}") };
        assert_eq!(sas.as_query(), "sv=2025-11-05&sig=SECRETSIG");
        assert!(!format!("{config:?} {:?}", config.auth()).contains("SECRETSIG"));

        let config = load(AzureConfig::loader().env(env([(ACCOUNT_ENV, "acct")]))).await.unwrap();
        assert!(matches!(config.auth(), StorageAuth::Token(_)));
        assert!(config.credential().is_some());
        assert_eq!(config.auth_source(), "DefaultAzureCredential");
    }

    #[tokio::test]
    async fn code_settings_skip_the_environment_connection_string() {
        let e = env([(CONNECTION_STRING_ENV, "UseDevelopmentStorage=true"), (ACCOUNT_KEY_ENV, KEY)]);
        // an account in code: the key comes from the environment
        let config = load(AzureConfig::loader().env(e.clone()).account("mine")).await.unwrap();
        assert!(matches!(config.auth(), StorageAuth::SharedKey(k) if k.account() == "mine"));
        // a credential in code: AZURE_STORAGE_KEY is not read
        let config = load(
            AzureConfig::loader()
                .env(e.clone())
                .account("mine")
                .credential(Arc::new(DefaultAzureCredential::new()))
                .blob_endpoint(url("https://mine.blob.core.windows.net/")),
        )
        .await
        .unwrap();
        assert!(matches!(config.auth(), StorageAuth::Token(_)));
        assert_eq!(config.blob_endpoint().unwrap().as_str(), "https://mine.blob.core.windows.net/");
        // anonymous against an emulator: the account comes from the endpoint's path
        let config = load(
            AzureConfig::loader().env(e).anonymous().blob_endpoint(url("http://127.0.0.1:10000/devstoreaccount1/?x=1")),
        )
        .await
        .unwrap();
        assert!(matches!(config.auth(), StorageAuth::Anonymous));
        assert_eq!(config.account(), Some("devstoreaccount1"));
        assert_eq!(
            config.blob_endpoint().unwrap().as_str(),
            "http://127.0.0.1:10000/devstoreaccount1",
            "no slash, no query"
        );
    }

    #[tokio::test]
    async fn settings_pass_to_the_pipeline_builder() {
        let retry = RetryConfig::standard().with_max_attempts(7);
        let timeouts = TimeoutConfig { attempt: Some(Duration::from_secs(3)), operation: None };
        let config = load(
            AzureConfig::loader()
                .env(env([]))
                .connection_string("UseDevelopmentStorage=true")
                .retry(retry)
                .timeouts(timeouts.clone()),
        )
        .await
        .unwrap();
        assert_eq!(config.retry_config().max_attempts(), 7);
        assert_eq!(config.timeout_config(), timeouts);
        let pipeline = config.pipeline_builder("AzureBlob").build().unwrap();
        assert_eq!(pipeline.retry_config().max_attempts(), 7);
        assert!(Arc::ptr_eq(pipeline.quota(), &config.retry_quota()), "clients share the config's quota");
        assert!(Arc::ptr_eq(&config.clone().http(), &config.http()), "clones share the HTTP client");
    }

    #[tokio::test]
    async fn errors_are_one_line_and_hold_no_secret() {
        // No account: a config for Azure Resource Manager (token credential), no blob endpoint.
        let config = load(AzureConfig::loader().env(env([]))).await.unwrap();
        assert!(config.blob_endpoint().is_none() && config.account().is_none());
        assert!(matches!(config.auth(), StorageAuth::Token(_)));
        let e = load(AzureConfig::loader().env(env([])).sas_token("sig=x")).await.unwrap_err();
        assert!(matches!(e, AzureConfigError::NoAccount), "a SAS needs an account: {e}");
        let e =
            load(AzureConfig::loader().env(env([(CONNECTION_STRING_ENV, "AccountName=a;AccountKey=!!not-base64!!")])))
                .await
                .unwrap_err();
        assert!(matches!(e, AzureConfigError::InvalidConnectionString { .. }), "{e}");
        assert!(e.to_string().starts_with(CONNECTION_STRING_ENV), "{e}");
        assert!(!e.to_string().contains("not-base64"), "{e}");
        let e = load(AzureConfig::loader().env(env([])).account("a").account_key("!!nope!!")).await.unwrap_err();
        assert!(matches!(e, AzureConfigError::InvalidAccountKey { .. }), "{e}");
        assert!(!e.to_string().contains("nope"), "{e}");
        let e = load(AzureConfig::loader().env(env([])).account_key(KEY)).await.unwrap_err();
        assert!(matches!(e, AzureConfigError::NoAccount), "a key needs an account: {e}");
        let e = load(AzureConfig::loader().env(env([])).anonymous().blob_endpoint(url("ftp://host/acct")))
            .await
            .unwrap_err();
        assert!(matches!(e, AzureConfigError::InvalidEndpoint { .. }), "{e}");
        for e in [
            AzureConfigError::NoAccount.to_string(),
            load(AzureConfig::loader().env(env([(CONNECTION_STRING_ENV, "garbage")]))).await.unwrap_err().to_string(),
        ] {
            assert!(!e.contains('\n'), "{e}");
        }
    }

    #[tokio::test]
    async fn tokens_over_plain_http_only_to_an_explicitly_allowed_loopback_emulator() {
        let credential: Arc<dyn TokenCredential> = Arc::new(DefaultAzureCredential::new());
        let emulator = url("http://127.0.0.1:10000/devstoreaccount1");
        let loader =
            || AzureConfig::loader().env(env([])).credential(credential.clone()).blob_endpoint(emulator.clone());
        let e = load(loader()).await.unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
        // Issue 16, point 4: the error names the fix.
        assert!(e.to_string().contains("call `.emulator(true)` on the Azure session"), "{e}");
        assert!(e.to_string().contains("or connect with a connection string"), "{e}");
        let config = load(loader().allow_loopback_http(true)).await.unwrap();
        assert!(config.allows_loopback_http());
        let e = config.validate_endpoint(url("http://example.com/acct")).unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
        assert_eq!(
            config.validate_endpoint(url("https://acct.blob.core.windows.net/?sig=x")).unwrap().as_str(),
            "https://acct.blob.core.windows.net/"
        );
        // SharedKey over plain http is fine (Azurite)
        let config = load(
            AzureConfig::loader()
                .env(env([]))
                .account("devstoreaccount1")
                .account_key(DEVELOPMENT_ACCOUNT_KEY)
                .blob_endpoint(emulator.clone()),
        )
        .await
        .unwrap();
        assert_eq!(config.blob_endpoint(), Some(&emulator));
        let loader_shown = format!(
            "{:?}",
            AzureConfig::loader().account_key(KEY).connection_string("AccountKey=zzz").sas_token("sig=SIG")
        );
        assert!(
            !loader_shown.contains(KEY) && !loader_shown.contains("zzz") && !loader_shown.contains("SIG"),
            "{loader_shown}"
        );
    }

    #[tokio::test]
    async fn resource_manager_settings_without_a_storage_account() {
        // Defaults: the public endpoint and scope, no subscription.
        let config = load(AzureConfig::loader().env(env([]))).await.unwrap();
        assert_eq!(config.resource_manager_endpoint().as_str(), "https://management.azure.com/");
        assert_eq!(config.resource_manager_scope(), RESOURCE_MANAGER_SCOPE);
        assert_eq!(config.subscription_id(), None);
        // The environment.
        let config = load(AzureConfig::loader().env(env([
            (SUBSCRIPTION_ID_ENV, "sub-env"),
            (RESOURCE_MANAGER_ENDPOINT_ENV, "https://management.chinacloudapi.cn/"),
        ])))
        .await
        .unwrap();
        assert_eq!(config.subscription_id(), Some("sub-env"));
        assert_eq!(config.resource_manager_scope(), "https://management.chinacloudapi.cn/.default");
        let config = load(AzureConfig::loader().env(env([])).resource_manager_scope("https://x.example/.default"))
            .await
            .unwrap();
        assert_eq!(config.resource_manager_scope(), "https://x.example/.default");
        // The loader wins; a loopback fake over http only when allowed, with the public scope.
        let fake = url("http://127.0.0.1:8443/");
        let loader = || {
            AzureConfig::loader()
                .env(env([(SUBSCRIPTION_ID_ENV, "sub-env")]))
                .subscription_id("sub-code")
                .resource_manager_endpoint(fake.clone())
        };
        let e = load(loader()).await.unwrap_err();
        assert!(matches!(e, AzureConfigError::InvalidResourceManagerEndpoint { .. }), "{e}");
        assert!(e.to_string().contains("allow_loopback_http(true)"), "{e}");
        let config = load(loader().allow_loopback_http(true)).await.unwrap();
        assert_eq!(config.subscription_id(), Some("sub-code"));
        assert_eq!(config.resource_manager_endpoint().as_str(), "http://127.0.0.1:8443/");
        assert_eq!(config.resource_manager_scope(), RESOURCE_MANAGER_SCOPE);
        assert!(config.validate_resource_manager_endpoint(url("http://example.com")).is_err());
        // A storage config still has a token credential for Azure Resource Manager.
        let config = load(AzureConfig::loader().env(env([(CONNECTION_STRING_ENV, "UseDevelopmentStorage=true")])))
            .await
            .unwrap();
        assert!(matches!(config.auth(), StorageAuth::SharedKey(_)));
        let _ = config.token_credential();
        let _ = config.resource_manager_pipeline_builder("ARM").build().unwrap();
        // The loader's credential is the one used for both.
        let credential: Arc<dyn TokenCredential> = Arc::new(DefaultAzureCredential::new());
        let config = load(AzureConfig::loader().env(env([])).credential(credential.clone())).await.unwrap();
        assert!(Arc::ptr_eq(&config.token_credential(), &credential));
        assert!(config.blob_endpoint().is_none());
    }
}
