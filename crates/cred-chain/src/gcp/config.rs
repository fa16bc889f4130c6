//! [`GcpConfig`]: credentials, project, storage endpoint and HTTP settings for Google clients.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use cloudkit_core::{
    HttpClientConfig, HttpRequest, HttpSend, Method, Pipeline, PipelineBuilder, ReqwestSend, RetryConfig, RetryQuota,
    TimeoutConfig, Url,
};
use cloudkit_signer::gcp::{ServiceAccountKey, SharedBlobSigner};
use google_cloud_auth::credentials::{Credentials, external_account, impersonated, mds, service_account, user_account};
use serde_json::Value;

use super::auth::{BearerTokenSigner, GoogleAuthBlobSigner};
use super::env::GcpEnv;

/// The public GCS endpoint.
pub const DEFAULT_STORAGE_ENDPOINT: &str = "https://storage.googleapis.com";

/// The public Compute Engine API v1 base URL (the discovery document's `rootUrl` + `servicePath`).
pub const DEFAULT_COMPUTE_ENDPOINT: &str = "https://compute.googleapis.com/compute/v1/";

/// The environment variable that overrides the Compute Engine endpoint: gcloud's property
/// `api_endpoint_overrides/compute` (`gcloud config set api_endpoint_overrides/compute URL`), read
/// from the environment as every gcloud property is (`CLOUDSDK_<SECTION>_<PROPERTY>`). Its value is
/// the API base, e.g. `https://compute.googleapis.com/compute/v1/`.
pub const COMPUTE_ENDPOINT_ENV: &str = "CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE";

/// cloudkit's own name for the Compute Engine endpoint override, read when
/// [`COMPUTE_ENDPOINT_ENV`] is unset (the tests' fake Compute server prints it).
pub const COMPUTE_ENDPOINT_ENV_ALIAS: &str = "CLOUDKIT_GCE_ENDPOINT";

/// The OAuth scope of Compute Engine clients when the loader was not given
/// [`scopes`](GcpConfigLoader::scopes): Compute Engine's own scope, narrower than
/// `cloud-platform` (every Compute Engine method accepts it).
pub const COMPUTE_SCOPE: &str = "https://www.googleapis.com/auth/compute";

/// How long the metadata server gets to answer the project-id question.
const METADATA_TIMEOUT: Duration = Duration::from_secs(2);

/// Where the credentials came from (shown in errors and logs; never contains secrets).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialSource {
    /// `STORAGE_EMULATOR_HOST` was set: anonymous access to the emulator.
    Emulator(String),
    /// Anonymous access, asked for explicitly.
    Anonymous,
    /// Credentials passed to the loader.
    Explicit,
    /// The file named by `GOOGLE_APPLICATION_CREDENTIALS`.
    EnvironmentFile(PathBuf),
    /// gcloud's well-known ADC file.
    WellKnownFile(PathBuf),
    /// The metadata server (GCE, GKE, Cloud Run, …).
    MetadataServer,
}

impl fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialSource::Emulator(host) => write!(f, "anonymous (STORAGE_EMULATOR_HOST={host})"),
            CredentialSource::Anonymous => f.write_str("anonymous"),
            CredentialSource::Explicit => f.write_str("explicit credentials"),
            CredentialSource::EnvironmentFile(p) => write!(f, "GOOGLE_APPLICATION_CREDENTIALS ({})", p.display()),
            CredentialSource::WellKnownFile(p) => write!(f, "gcloud ADC file ({})", p.display()),
            CredentialSource::MetadataServer => f.write_str("the metadata server"),
        }
    }
}

/// Credentials for Google APIs.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum GcpCredentials {
    /// No authentication (emulators, public buckets).
    Anonymous,
    /// google-cloud-auth credentials (token caching and refresh included).
    Google {
        /// The credentials.
        credentials: Credentials,
    },
}

impl GcpCredentials {
    /// Wraps google-cloud-auth credentials.
    pub fn google(credentials: Credentials) -> Self {
        GcpCredentials::Google { credentials }
    }

    /// Whether these are anonymous.
    pub fn is_anonymous(&self) -> bool {
        matches!(self, GcpCredentials::Anonymous)
    }
}

/// Why the Google configuration could not be loaded.
///
/// `Display` is one line saying what and why (the I/O error's text for
/// [`GcpConfigError::CredentialsFile`], so `source()` continues below it).
#[derive(Debug)]
#[non_exhaustive]
pub enum GcpConfigError {
    /// A credentials file could not be read.
    CredentialsFile {
        /// The file.
        path: PathBuf,
        /// Which setting named it.
        origin: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The credentials are unusable (bad JSON, unknown `type`, missing fields). Never contains
    /// key material.
    InvalidCredentials {
        /// Where they came from.
        source_desc: String,
        /// What is wrong.
        message: String,
    },
    /// The credentials cannot sign blobs (authorized_user, external_account, anonymous).
    CannotSign {
        /// Where the credentials came from.
        source_desc: String,
        /// Why.
        message: String,
    },
    /// The endpoint is not a valid URL.
    InvalidEndpoint {
        /// The value given.
        endpoint: String,
        /// Why it was refused.
        message: String,
    },
    /// The HTTP client could not be built (the transport error says so itself).
    Http(cloudkit_core::TransportError),
}

impl std::fmt::Display for GcpConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CredentialsFile { path, origin, source } => {
                write!(f, "could not read the credentials file {} (from {origin}): {source}", path.display())
            }
            Self::InvalidCredentials { source_desc, message } => {
                write!(f, "invalid Google credentials from {source_desc}: {message}")
            }
            Self::CannotSign { source_desc, message } => {
                write!(f, "credentials from {source_desc} cannot sign URLs: {message}")
            }
            Self::InvalidEndpoint { endpoint, message } => write!(f, "invalid endpoint {endpoint:?}: {message}"),
            Self::Http(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for GcpConfigError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::CredentialsFile { source, .. } => {
                cloudkit_core::unshown_source(&self.to_string(), std::error::Error::source(source))
            }
            Self::Http(e) => std::error::Error::source(e),
            Self::InvalidCredentials { .. } | Self::CannotSign { .. } | Self::InvalidEndpoint { .. } => None,
        }
    }
}

/// Everything a Google client needs: credentials, project, endpoint, HTTP and retry settings.
/// Cheap to clone.
#[derive(Clone)]
pub struct GcpConfig {
    credentials: GcpCredentials,
    /// The same credentials with the [`COMPUTE_SCOPE`], for Compute Engine clients (`None`: use
    /// `credentials`, the caller chose the scopes or the credentials).
    compute_credentials: Option<GcpCredentials>,
    source: CredentialSource,
    source_detail: String,
    credentials_json: Option<Arc<Value>>,
    project_id: Option<String>,
    storage_endpoint: Url,
    emulator: bool,
    compute_endpoint: Url,
    /// Whether the compute endpoint was named explicitly (loader or [`COMPUTE_ENDPOINT_ENV`]).
    compute_endpoint_explicit: bool,
    http: Arc<dyn HttpSend>,
    retry: RetryConfig,
    timeouts: TimeoutConfig,
    quota: Arc<RetryQuota>,
}

impl fmt::Debug for GcpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GcpConfig")
            .field("source", &self.source_detail)
            .field("project_id", &self.project_id)
            .field("storage_endpoint", &self.storage_endpoint.as_str())
            .field("emulator", &self.emulator)
            .field("compute_endpoint", &self.compute_endpoint.as_str())
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl GcpConfig {
    /// A loader reading the process environment.
    pub fn loader() -> GcpConfigLoader {
        GcpConfigLoader::default()
    }

    /// The credentials.
    pub fn credentials(&self) -> &GcpCredentials {
        &self.credentials
    }

    /// Where the credentials came from.
    pub fn credential_source(&self) -> &CredentialSource {
        &self.source
    }

    /// Where the credentials came from and, for the metadata-server fallback, what was tried
    /// before it (shown in token errors).
    pub fn credential_source_detail(&self) -> &str {
        &self.source_detail
    }

    /// The project id, when one was found.
    pub fn project_id(&self) -> Option<&str> {
        self.project_id.as_deref()
    }

    /// The storage endpoint (`https://storage.googleapis.com`, or the emulator).
    pub fn storage_endpoint(&self) -> &Url {
        &self.storage_endpoint
    }

    /// Whether the endpoint is an emulator (`STORAGE_EMULATOR_HOST`).
    pub fn is_emulator(&self) -> bool {
        self.emulator
    }

    /// The Compute Engine API base URL: [`DEFAULT_COMPUTE_ENDPOINT`], or the override from
    /// [`GcpConfigLoader::compute_endpoint`], [`COMPUTE_ENDPOINT_ENV`] or
    /// [`COMPUTE_ENDPOINT_ENV_ALIAS`], in that order (always ending in `/`).
    pub fn compute_endpoint(&self) -> &Url {
        &self.compute_endpoint
    }

    /// The signing step of Compute Engine clients: like [`bearer_signer`](Self::bearer_signer),
    /// bearer tokens over https only, except plain http to the compute endpoint when it was named
    /// explicitly ([`GcpConfigLoader::compute_endpoint`], [`COMPUTE_ENDPOINT_ENV`] or
    /// [`COMPUTE_ENDPOINT_ENV_ALIAS`]) *and* is a
    /// loopback host (`127.0.0.0/8`, `::1`, `localhost`): a local fake or emulator.
    ///
    /// Its tokens have the scope [`COMPUTE_SCOPE`] when the loader was given no
    /// [`scopes`](GcpConfigLoader::scopes) and ADC found the credentials (a credentials file or
    /// JSON, or the metadata server); the loader's `scopes(..)` apply as given, and credentials
    /// passed with [`GcpConfigLoader::credentials`] are used as they are.
    pub fn compute_bearer_signer(&self) -> BearerTokenSigner {
        let credentials = self.compute_credentials.as_ref().unwrap_or(&self.credentials).clone();
        let signer = BearerTokenSigner::new(credentials).with_context(self.source_detail.clone());
        if self.compute_endpoint_explicit && is_loopback(&self.compute_endpoint) {
            signer.allow_plain_http_to(&self.compute_endpoint)
        } else {
            signer
        }
    }

    /// A pipeline builder for a Compute Engine client: [`pipeline_builder`](Self::pipeline_builder)
    /// with the [`compute_bearer_signer`](Self::compute_bearer_signer).
    pub fn compute_pipeline_builder(&self, service: &'static str) -> PipelineBuilder {
        self.pipeline_builder(service).signer(Arc::new(self.compute_bearer_signer()))
    }

    cloudkit_core::config_accessors!();

    /// The retry quota shared by this config's clients.
    pub fn retry_quota(&self) -> Arc<RetryQuota> {
        self.quota.clone()
    }

    /// The signing step of this config's clients: bearer tokens from these credentials (nothing
    /// for anonymous access), over https only, or plain http to the emulator named by
    /// `STORAGE_EMULATOR_HOST` ([`BearerTokenSigner::check_url`]). Clients check an endpoint
    /// override with it when they are built.
    pub fn bearer_signer(&self) -> BearerTokenSigner {
        let signer = BearerTokenSigner::new(self.credentials.clone()).with_context(self.source_detail.clone());
        if self.emulator { signer.allow_plain_http_to(&self.storage_endpoint) } else { signer }
    }

    /// A pipeline builder for `service` that authenticates with these credentials
    /// ([`bearer_signer`](Self::bearer_signer)), preset with this config's HTTP client, retry
    /// settings, shared retry quota and timeouts. The client adds its service's error parser and
    /// retry classifier, applies its overrides and builds (docs/ARCHITECTURE.md, "Construction").
    pub fn pipeline_builder(&self, service: &'static str) -> PipelineBuilder {
        Pipeline::builder(service)
            .http(self.http.clone())
            .signer(Arc::new(self.bearer_signer()))
            .retry(self.retry.clone())
            .quota(self.quota.clone())
            .timeouts(self.timeouts.clone())
    }

    /// A signer for V4 signed URLs: the service-account key itself (local RSA) when the
    /// credentials file holds one, else google-cloud-auth's signer (IAM `signBlob`) for the
    /// metadata server and impersonated credentials. User and external-account credentials
    /// cannot sign.
    pub fn blob_signer(&self) -> Result<SharedBlobSigner, GcpConfigError> {
        let source_desc = self.source.to_string();
        if self.credentials.is_anonymous() {
            return Err(GcpConfigError::CannotSign {
                source_desc,
                message: "anonymous credentials have no key; pass a service-account key".into(),
            });
        }
        let cannot = |message: String| GcpConfigError::CannotSign { source_desc: source_desc.clone(), message };
        match self.credentials_json.as_deref() {
            Some(json) => match json.get("type").and_then(Value::as_str) {
                Some("service_account") => {
                    let key = ServiceAccountKey::from_json(&json.to_string()).map_err(|e| cannot(e.to_string()))?;
                    Ok(Arc::new(key))
                }
                Some("impersonated_service_account") => {
                    let signer =
                        impersonated::Builder::new(json.clone()).build_signer().map_err(|e| cannot(e.to_string()))?;
                    Ok(Arc::new(GoogleAuthBlobSigner::new(signer)))
                }
                Some(other) => Err(cannot(format!("`{other}` credentials cannot sign; use a service account"))),
                None => Err(cannot("the credentials file has no `type`".into())),
            },
            None if self.source == CredentialSource::MetadataServer => {
                let signer = mds::Builder::default().build_signer().map_err(|e| cannot(e.to_string()))?;
                Ok(Arc::new(GoogleAuthBlobSigner::new(signer)))
            }
            None => Err(cannot("explicit credentials: pass a blob signer or a service-account key".into())),
        }
    }
}

/// The value of `STORAGE_EMULATOR_HOST` as a base URL (`localhost:9000` → `http://localhost:9000`).
pub fn emulator_endpoint(value: &str) -> Result<Url, GcpConfigError> {
    let value = value.trim();
    let text = if value.contains("://") { value.to_owned() } else { format!("http://{value}") };
    let mut url = Url::parse(&text)
        .map_err(|e| GcpConfigError::InvalidEndpoint { endpoint: value.to_owned(), message: e.to_string() })?;
    if url.cannot_be_a_base() || url.host_str().is_none() {
        return Err(GcpConfigError::InvalidEndpoint { endpoint: value.to_owned(), message: "no host".into() });
    }
    let path = url.path().trim_end_matches('/').to_owned();
    url.set_path(&path);
    url.set_query(None);
    Ok(url)
}

/// Whether `url`'s host is a loopback address or `localhost`.
fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A compute endpoint as a base URL (its path ends in `/`, no query or fragment).
fn compute_base(value: &str) -> Result<Url, GcpConfigError> {
    let value = value.trim();
    let mut url = Url::parse(value).map_err(|e| invalid_endpoint(value, e))?;
    if url.cannot_be_a_base() || url.host_str().is_none() || !matches!(url.scheme(), "http" | "https") {
        return Err(GcpConfigError::InvalidEndpoint {
            endpoint: cloudkit_core::redact_url(&url),
            message: "expected an http(s) URL with a host".into(),
        });
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

/// Loads a [`GcpConfig`] (see the [module docs](super) for the order).
#[derive(Default)]
pub struct GcpConfigLoader {
    env: Option<GcpEnv>,
    http: Option<Arc<dyn HttpSend>>,
    credentials: Option<GcpCredentials>,
    credentials_json: Option<String>,
    anonymous: bool,
    project_id: Option<String>,
    endpoint: Option<Url>,
    compute_endpoint: Option<Url>,
    retry: Option<RetryConfig>,
    timeouts: Option<TimeoutConfig>,
    scopes: Option<Vec<String>>,
}

/// Never shows the credentials JSON (it holds a private key) or the credentials themselves.
impl std::fmt::Debug for GcpConfigLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GcpConfigLoader")
            .field("env", &self.env)
            .field("credentials", &self.credentials.as_ref().map(|_| "** set **"))
            .field("credentials_json", &self.credentials_json.as_ref().map(|_| "** redacted **"))
            .field("anonymous", &self.anonymous)
            .field("project_id", &self.project_id)
            .field("endpoint", &self.endpoint)
            .field("compute_endpoint", &self.compute_endpoint)
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl GcpConfigLoader {
    /// The environment to read (default: the process environment).
    pub fn env(mut self, env: GcpEnv) -> Self {
        self.env = Some(env);
        self
    }

    /// Use these credentials instead of ADC.
    pub fn credentials(mut self, credentials: GcpCredentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Use the credentials in this JSON (a service-account key, an authorized-user file, …)
    /// instead of ADC.
    pub fn credentials_json(mut self, json: impl Into<String>) -> Self {
        self.credentials_json = Some(json.into());
        self
    }

    /// No authentication.
    pub fn anonymous(mut self) -> Self {
        self.anonymous = true;
        self
    }

    /// The project id (wins over the environment).
    pub fn project_id(mut self, project: impl Into<String>) -> Self {
        self.project_id = Some(project.into());
        self
    }

    /// The storage endpoint (wins over `STORAGE_EMULATOR_HOST`; credentials still come from ADC
    /// unless [`anonymous`](Self::anonymous) is set). With credentials it must be https: bearer
    /// tokens never go over plain http, except to the emulator named by `STORAGE_EMULATOR_HOST`
    /// ([`load`](Self::load) refuses a plain-http endpoint with [`GcpConfigError::InvalidEndpoint`]).
    pub fn storage_endpoint(mut self, endpoint: Url) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    /// The Compute Engine API base URL (wins over [`COMPUTE_ENDPOINT_ENV`] and
    /// [`COMPUTE_ENDPOINT_ENV_ALIAS`]; default
    /// [`DEFAULT_COMPUTE_ENDPOINT`]). With credentials it must be https, or plain http to a
    /// loopback host (`127.0.0.1`, `::1`, `localhost`: a local fake); [`load`](Self::load) refuses
    /// any other plain-http endpoint with [`GcpConfigError::InvalidEndpoint`].
    pub fn compute_endpoint(mut self, endpoint: Url) -> Self {
        self.compute_endpoint = Some(endpoint);
        self
    }

    // `http`, `retry`, `timeouts`.
    cloudkit_core::config_loader_overrides!();

    /// OAuth scopes of every client of the config (default: google-cloud-auth's
    /// `cloud-platform`, and [`COMPUTE_SCOPE`] for Compute Engine clients).
    pub fn scopes<I: IntoIterator<Item = S>, S: Into<String>>(mut self, scopes: I) -> Self {
        self.scopes = Some(scopes.into_iter().map(Into::into).collect());
        self
    }

    /// Resolves credentials, project and endpoint.
    // Boxed (see `cloudkit_core::BoxFuture`): a large future, awaited from several crates.
    #[inline(never)]
    pub fn load(self) -> cloudkit_core::BoxFuture<'static, Result<GcpConfig, GcpConfigError>> {
        Box::pin(self.load_inner())
    }

    async fn load_inner(self) -> Result<GcpConfig, GcpConfigError> {
        cloudkit_core::install_default_crypto_provider();
        let env = self.env.clone().unwrap_or_else(GcpEnv::real);
        let http = match self.http.clone() {
            Some(h) => h,
            None => ReqwestSend::shared(&HttpClientConfig::default()).map_err(GcpConfigError::Http)?,
        };
        let emulator_host = env.get("STORAGE_EMULATOR_HOST");
        let (mut storage_endpoint, emulator) = match (&self.endpoint, &emulator_host) {
            (Some(ep), _) => (ep.clone(), false),
            (None, Some(host)) => (emulator_endpoint(host)?, true),
            (None, None) => (
                Url::parse(DEFAULT_STORAGE_ENDPOINT).map_err(|e| invalid_endpoint(DEFAULT_STORAGE_ENDPOINT, e))?,
                false,
            ),
        };
        if storage_endpoint.path() == "/" {
            storage_endpoint.set_path("");
        }

        let compute_from_env = env
            .get(COMPUTE_ENDPOINT_ENV)
            .filter(|v| !v.trim().is_empty())
            .or_else(|| env.get(COMPUTE_ENDPOINT_ENV_ALIAS).filter(|v| !v.trim().is_empty()));
        let (compute_endpoint, compute_endpoint_explicit) = match (&self.compute_endpoint, compute_from_env) {
            (Some(ep), _) => (compute_base(ep.as_str())?, true),
            (None, Some(value)) => (compute_base(&value)?, true),
            (None, None) => (compute_base(DEFAULT_COMPUTE_ENDPOINT)?, false),
        };

        let (credentials, source, json) = if let Some(c) = self.credentials.clone() {
            (c, CredentialSource::Explicit, None)
        } else if let Some(text) = &self.credentials_json {
            let json = parse_json(text, "explicit credentials JSON")?;
            let c = self.build_from_json(&json, "explicit credentials JSON")?;
            (c, CredentialSource::Explicit, Some(json))
        } else if self.anonymous {
            (GcpCredentials::Anonymous, CredentialSource::Anonymous, None)
        } else if let (true, Some(host)) = (emulator, &emulator_host) {
            (GcpCredentials::Anonymous, CredentialSource::Emulator(host.clone()), None)
        } else {
            self.adc(&env).await?
        };

        // Compute Engine clients get their own scope unless the caller chose scopes or credentials.
        // Built on first use: google-cloud-auth starts fetching a token as soon as credentials are
        // built, and a config used only for storage needs no Compute token.
        let compute_scopes = || Some(vec![COMPUTE_SCOPE.to_owned()]);
        let compute_credentials = if self.scopes.is_some() {
            None
        } else if let Some(json) = &json {
            let (json, source_desc) = (json.clone(), source.to_string());
            Some(LazyCredentials::wrap(move || Self::build_scoped(&json, &source_desc, compute_scopes())))
        } else if source == CredentialSource::MetadataServer {
            let host = env.get("GCE_METADATA_HOST");
            Some(LazyCredentials::wrap(move || Self::metadata_credentials(host.clone(), compute_scopes())))
        } else {
            None // explicit credentials, anonymous access, the storage emulator
        };

        let project_id = match self.project_id.clone() {
            Some(p) => Some(p),
            None => {
                let from_env = env.get("GOOGLE_CLOUD_PROJECT").or_else(|| env.get("GCLOUD_PROJECT"));
                let from_file = json.as_ref().and_then(|j| {
                    j.get("project_id").or_else(|| j.get("quota_project_id")).and_then(Value::as_str).map(str::to_owned)
                });
                match from_env.or(from_file) {
                    Some(p) => Some(p),
                    None if source == CredentialSource::MetadataServer => metadata_project_id(&env, &http).await,
                    None => None,
                }
            }
        };
        let source_detail = match &source {
            CredentialSource::MetadataServer => {
                let host = env.get("GCE_METADATA_HOST").unwrap_or_else(|| "metadata.google.internal".into());
                let well_known =
                    env.well_known_file().map_or_else(|| "(no HOME)".to_owned(), |p| p.display().to_string());
                format!(
                    "the metadata server at {host} (tried first: GOOGLE_APPLICATION_CREDENTIALS: unset; \
                     gcloud ADC file {well_known}: not found; STORAGE_EMULATOR_HOST: unset)"
                )
            }
            other => other.to_string(),
        };
        tracing::debug!(source = %source_detail, ?project_id, endpoint = %storage_endpoint, "loaded Google configuration");
        let config = GcpConfig {
            credentials,
            compute_credentials,
            source,
            source_detail,
            credentials_json: json.map(Arc::new),
            project_id,
            storage_endpoint,
            emulator,
            compute_endpoint,
            compute_endpoint_explicit,
            http,
            retry: self.retry.clone().unwrap_or_else(RetryConfig::standard),
            timeouts: self.timeouts.clone().unwrap_or_default(),
            quota: Arc::new(RetryQuota::default()),
        };
        // Bearer tokens never go over plain http to an endpoint the caller did not name as the
        // emulator: refused here, and again by the signer on every request.
        config.bearer_signer().check_url(&config.storage_endpoint).map_err(|e| GcpConfigError::InvalidEndpoint {
            endpoint: cloudkit_core::redact_url(&config.storage_endpoint),
            message: e.to_string(),
        })?;
        config.compute_bearer_signer().check_url(&config.compute_endpoint).map_err(|e| {
            GcpConfigError::InvalidEndpoint {
                endpoint: cloudkit_core::redact_url(&config.compute_endpoint),
                message: e.to_string(),
            }
        })?;
        Ok(config)
    }

    async fn adc(&self, env: &GcpEnv) -> Result<(GcpCredentials, CredentialSource, Option<Value>), GcpConfigError> {
        if let Some(path) = env.get("GOOGLE_APPLICATION_CREDENTIALS") {
            let path = PathBuf::from(path);
            let source = CredentialSource::EnvironmentFile(path.clone());
            let text = cloudkit_core::internal::blocking::read_to_string(&path).await.map_err(|e| {
                GcpConfigError::CredentialsFile {
                    path: path.clone(),
                    origin: "GOOGLE_APPLICATION_CREDENTIALS",
                    source: e,
                }
            })?;
            let json = parse_json(&text, &source.to_string())?;
            let c = self.build_from_json(&json, &source.to_string())?;
            return Ok((c, source, Some(json)));
        }
        if let Some(path) = env.well_known_file() {
            match cloudkit_core::internal::blocking::read_to_string(&path).await {
                Ok(text) => {
                    let source = CredentialSource::WellKnownFile(path);
                    let json = parse_json(&text, &source.to_string())?;
                    let c = self.build_from_json(&json, &source.to_string())?;
                    return Ok((c, source, Some(json)));
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(GcpConfigError::CredentialsFile {
                        path,
                        origin: "the gcloud well-known file",
                        source: e,
                    });
                }
            }
        }
        // As google-cloud-auth does: fall back to the metadata server without probing; a missing
        // server surfaces on the first request with an error naming what was tried.
        let credentials = Self::metadata_credentials(env.get("GCE_METADATA_HOST"), self.scopes.clone())?;
        Ok((credentials, CredentialSource::MetadataServer, None))
    }

    /// The metadata server's credentials (`host`: the environment's `GCE_METADATA_HOST`), with
    /// `scopes` (`None`: the server's default).
    fn metadata_credentials(
        host: Option<String>,
        scopes: Option<Vec<String>>,
    ) -> Result<GcpCredentials, GcpConfigError> {
        let mut builder = mds::Builder::default();
        if let Some(scopes) = scopes {
            builder = builder.with_scopes(scopes);
        }
        // The loader's environment names the metadata host (google-cloud-auth reads only the
        // process's `GCE_METADATA_HOST`), so a fake environment reaches a fake metadata server.
        if let Some(host) = host.filter(|h| !h.trim().is_empty()) {
            let host = host.trim();
            let endpoint = if host.contains("://") { host.to_owned() } else { format!("http://{host}") };
            builder = builder.with_endpoint(endpoint);
        }
        let credentials = builder.build().map_err(|e| GcpConfigError::InvalidCredentials {
            source_desc: "the metadata server (no GOOGLE_APPLICATION_CREDENTIALS, no gcloud ADC file)".into(),
            message: e.to_string(),
        })?;
        Ok(GcpCredentials::google(credentials))
    }

    fn build_from_json(&self, json: &Value, source_desc: &str) -> Result<GcpCredentials, GcpConfigError> {
        Self::build_scoped(json, source_desc, self.scopes.clone())
    }

    /// Credentials from a credentials JSON with `scopes` (`None`: google-cloud-auth's default).
    fn build_scoped(
        json: &Value,
        source_desc: &str,
        scopes: Option<Vec<String>>,
    ) -> Result<GcpCredentials, GcpConfigError> {
        let invalid =
            |message: String| GcpConfigError::InvalidCredentials { source_desc: source_desc.to_owned(), message };
        let kind = json.get("type").and_then(Value::as_str).ok_or_else(|| invalid("no `type` field".into()))?;
        let built: Result<Credentials, google_cloud_auth::build_errors::Error> = match kind {
            "service_account" => {
                let mut b = service_account::Builder::new(json.clone());
                if let Some(s) = scopes {
                    b = b.with_access_specifier(service_account::AccessSpecifier::from_scopes(s));
                }
                b.build()
            }
            "authorized_user" => {
                let mut b = user_account::Builder::new(json.clone());
                if let Some(s) = scopes {
                    b = b.with_scopes(s);
                }
                b.build()
            }
            "impersonated_service_account" => {
                let mut b = impersonated::Builder::new(json.clone());
                if let Some(s) = scopes {
                    b = b.with_scopes(s);
                }
                b.build()
            }
            "external_account" => {
                let mut b = external_account::Builder::new(json.clone());
                if let Some(s) = scopes {
                    b = b.with_scopes(s);
                }
                b.build()
            }
            other => {
                return Err(invalid(format!(
                    "unsupported credentials type `{other}` (expected service_account, authorized_user, \
                     impersonated_service_account or external_account)"
                )));
            }
        };
        // google-cloud-auth's build errors describe fields, never their values.
        built.map(GcpCredentials::google).map_err(|e| invalid(e.to_string()))
    }
}

/// Credentials built on their first use (by then inside the runtime that google-cloud-auth's token
/// refresh needs), then shared by every clone; a build failure is the credentials error of every
/// request.
struct LazyCredentials {
    build: Box<dyn Fn() -> Result<GcpCredentials, GcpConfigError> + Send + Sync>,
    built: std::sync::OnceLock<Result<Credentials, String>>,
}

impl LazyCredentials {
    fn wrap(build: impl Fn() -> Result<GcpCredentials, GcpConfigError> + Send + Sync + 'static) -> GcpCredentials {
        GcpCredentials::google(Credentials::from(LazyCredentials {
            build: Box::new(build),
            built: std::sync::OnceLock::new(),
        }))
    }

    fn get(&self) -> &Result<Credentials, String> {
        self.built.get_or_init(|| match (self.build)() {
            Ok(GcpCredentials::Google { credentials }) => Ok(credentials),
            Ok(GcpCredentials::Anonymous) => Err("no credentials".to_owned()),
            Err(e) => Err(e.to_string()),
        })
    }
}

impl fmt::Debug for LazyCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LazyCredentials").field("built", &self.built.get().map(Result::is_ok)).finish_non_exhaustive()
    }
}

impl google_cloud_auth::credentials::CredentialsProvider for LazyCredentials {
    async fn headers(
        &self,
        extensions: http::Extensions,
    ) -> Result<
        google_cloud_auth::credentials::CacheableResource<http::HeaderMap>,
        google_cloud_auth::errors::CredentialsError,
    > {
        match self.get() {
            Ok(credentials) => credentials.headers(extensions).await,
            Err(message) => Err(google_cloud_auth::errors::CredentialsError::from_msg(false, message.clone())),
        }
    }

    async fn universe_domain(&self) -> Option<String> {
        match self.get() {
            Ok(credentials) => credentials.universe_domain().await,
            Err(_) => None,
        }
    }
}

fn invalid_endpoint(endpoint: &str, e: url::ParseError) -> GcpConfigError {
    GcpConfigError::InvalidEndpoint { endpoint: endpoint.to_owned(), message: e.to_string() }
}

fn parse_json(text: &str, source_desc: &str) -> Result<Value, GcpConfigError> {
    serde_json::from_str(text).map_err(|e| GcpConfigError::InvalidCredentials {
        source_desc: source_desc.to_owned(),
        // serde_json's message has a line/column and a category, not the file's content.
        message: format!("not valid JSON ({e})"),
    })
}

/// The largest answer to the project-id question read (project ids have at most 30 characters).
const METADATA_MAX_BODY: usize = 1024;

/// The project id from the metadata server, through the pipeline: one attempt (off Google Cloud
/// the probe must end quickly) within [`METADATA_TIMEOUT`], the answer read up to
/// [`METADATA_MAX_BODY`]. `None` on any failure: the project then stays unknown.
async fn metadata_project_id(env: &GcpEnv, http: &Arc<dyn HttpSend>) -> Option<String> {
    let host = env.get("GCE_METADATA_HOST").unwrap_or_else(|| "metadata.google.internal".into());
    let url = Url::parse(&format!("http://{host}/computeMetadata/v1/project/project-id")).ok()?;
    let request = HttpRequest::new(Method::GET, url).header("metadata-flavor", "Google").ok()?;
    let pipeline = Pipeline::builder("GCEMetadata")
        .http(http.clone())
        .retry(RetryConfig::disabled())
        .timeouts(TimeoutConfig { attempt: Some(METADATA_TIMEOUT), operation: Some(METADATA_TIMEOUT) })
        .build()
        .ok()?;
    let operation = cloudkit_core::Operation::new("GetProjectId").max_response_body(METADATA_MAX_BODY);
    let response = match pipeline.send_buffered(&operation, request).await {
        Ok(response) => response,
        Err(e) => {
            tracing::debug!(error = %e, "no project id from the metadata server");
            return None;
        }
    };
    let project = String::from_utf8(response.body.to_vec()).ok()?.trim().to_owned();
    (!project.is_empty()).then_some(project)
}
