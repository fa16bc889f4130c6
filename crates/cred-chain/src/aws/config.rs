//! The resolved AWS configuration every AWS client is built from: [`AwsConfig`].
//!
//! Resolution, in [`AwsConfigLoader::load`]:
//! - profile: code → `AWS_PROFILE` → `default` (a profile chosen by name must exist);
//! - region: code → `AWS_REGION` → `AWS_DEFAULT_REGION` → profile `region` → IMDS; a missing
//!   region is an error ([`RegionError`]);
//! - credentials: code (if given) → the [default chain](super::chain), wrapped in a
//!   [`CredentialsCache`] (loaded lazily on first use, refreshed before expiry); a profile chosen
//!   in code ([`AwsConfigLoader::profile`]) takes the environment providers out of the chain, as
//!   in botocore, so it wins over `AWS_ACCESS_KEY_ID`; one chosen through `AWS_PROFILE` does not;
//! - endpoints, per service: code → `AWS_ENDPOINT_URL_<SERVICE>` → `AWS_ENDPOINT_URL` → the
//!   profile's `[services]` section → profile `endpoint_url`;
//!   `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` (or profile `ignore_configured_endpoint_urls`)
//!   turns off the environment and profile ones;
//! - retries: code → `AWS_MAX_ATTEMPTS` / profile `max_attempts` (a positive integer; anything
//!   else is an error) and `AWS_RETRY_MODE` / profile `retry_mode`: `standard`; `legacy` and
//!   `adaptive` are accepted but run as `standard` (cloudkit implements only standard mode; a
//!   tracing note says so);
//! - timeouts: code, else [`TimeoutConfig::default`];
//! - HTTP client: code, else the provider config's, else a new shared reqwest client.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use cloudkit_aws_protocol::{AWS_RETRY_CLASSIFIER, AwsErrorParser};
use cloudkit_core::{
    BoxFuture, HttpClientConfig, HttpSend, Pipeline, PipelineBuilder, ReqwestSend, RetryConfig, RetryQuota,
    TimeoutConfig, TransportError, Url,
};
use cloudkit_signer::aws::{ClockSkew, Credentials, CredentialsError, SharedCredentialsProvider, SigV4Signer};

use super::cache::{CredentialsCache, TimeSource};
use super::chain::DefaultCredentialsChain;
use super::os::Env;
use super::profile::{Profile, ProfileFileError, ProfileSet, selected_profile_name};
use super::provider_config::ProviderConfig;
use super::region::{RegionError, RegionSource, resolve_region};

/// The configuration could not be resolved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsConfigError {
    /// A profile file is malformed or unreadable.
    #[error(transparent)]
    ProfileFile(#[from] ProfileFileError),
    /// The profile chosen by name (code or `AWS_PROFILE`) does not exist.
    #[error("the AWS profile `{profile}` was not found in {files}")]
    ProfileNotFound {
        /// The profile.
        profile: String,
        /// The files looked at.
        files: String,
    },
    /// A profile setting is wrong.
    #[error("profile `{profile}`: {message}")]
    InvalidProfile {
        /// The profile.
        profile: String,
        /// What is wrong.
        message: String,
    },
    /// No region, or an invalid one.
    #[error(transparent)]
    Region(#[from] RegionError),
    /// An endpoint override is not a usable URL.
    #[error("invalid endpoint URL {value:?} from {source_name}: {message}")]
    InvalidEndpoint {
        /// Where it came from (`AWS_ENDPOINT_URL_S3`, `profile dev endpoint_url`, code, …).
        source_name: String,
        /// The value.
        value: String,
        /// Why it is rejected.
        message: String,
    },
    /// `AWS_MAX_ATTEMPTS` / `max_attempts` is not a positive integer.
    #[error("invalid max attempts {value:?} from {source_name}: expected a whole number of at least 1")]
    InvalidMaxAttempts {
        /// Where it came from.
        source_name: String,
        /// The value.
        value: String,
    },
    /// `AWS_RETRY_MODE` / `retry_mode` is not `standard`, `legacy` or `adaptive`.
    #[error("invalid retry mode {value:?} from {source_name}: expected standard, legacy or adaptive")]
    InvalidRetryMode {
        /// Where it came from.
        source_name: String,
        /// The value.
        value: String,
    },
    /// The default HTTP client could not be built (the transport error says so itself).
    #[error(transparent)]
    Http(TransportError),
    /// A credentials provider could not be set up (e.g. an invalid role for `assume_role`).
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
}

/// Credentials given in code: fixed [`Credentials`] or any [`SharedCredentialsProvider`].
pub trait IntoCredentialsProvider {
    /// Converts into a shared provider.
    fn into_provider(self) -> SharedCredentialsProvider;
}

impl IntoCredentialsProvider for Credentials {
    fn into_provider(self) -> SharedCredentialsProvider {
        Arc::new(self)
    }
}

impl IntoCredentialsProvider for SharedCredentialsProvider {
    fn into_provider(self) -> SharedCredentialsProvider {
        self
    }
}

/// Endpoint overrides.
#[derive(Clone)]
struct Endpoints {
    code: Option<Url>,
    ignore_configured: bool,
    env: Env,
    /// `[services]` section entries: lower-case service key → endpoint_url.
    services: HashMap<String, Url>,
    profile: Option<Url>,
}

impl fmt::Debug for Endpoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoints")
            .field("code", &self.code.as_ref().map(Url::as_str))
            .field("ignore_configured", &self.ignore_configured)
            .field("services", &self.services.iter().map(|(k, v)| (k, v.as_str())).collect::<HashMap<_, _>>())
            .field("profile", &self.profile.as_ref().map(Url::as_str))
            .finish()
    }
}

/// `AWS_ENDPOINT_URL_<SERVICE>`: upper case, spaces and `-` → `_`.
fn env_service_key(service_id: &str) -> String {
    service_id.trim().to_ascii_uppercase().replace([' ', '-'], "_")
}

/// The key in a `[services]` section: lower case, spaces and `-` → `_`.
fn profile_service_key(service_id: &str) -> String {
    service_id.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

fn parse_endpoint(value: &str, source_name: impl Into<String>) -> Result<Url, AwsConfigError> {
    let source_name = source_name.into();
    let invalid = |message: String| AwsConfigError::InvalidEndpoint {
        source_name: source_name.clone(),
        value: value.to_owned(),
        message,
    };
    let url = Url::parse(value.trim()).map_err(|e| invalid(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(invalid("expected an http(s) URL with a host".to_owned()));
    }
    Ok(url)
}

impl Endpoints {
    fn resolve(&self, service_id: &str) -> Result<Option<Url>, AwsConfigError> {
        if let Some(url) = &self.code {
            return Ok(Some(url.clone()));
        }
        if self.ignore_configured {
            return Ok(None);
        }
        let var = format!("AWS_ENDPOINT_URL_{}", env_service_key(service_id));
        if let Some(v) = self.env.get_non_empty(&var) {
            return parse_endpoint(&v, var).map(Some);
        }
        if let Some(v) = self.env.get_non_empty("AWS_ENDPOINT_URL") {
            return parse_endpoint(&v, "AWS_ENDPOINT_URL").map(Some);
        }
        if let Some(url) = self.services.get(&profile_service_key(service_id)) {
            return Ok(Some(url.clone()));
        }
        Ok(self.profile.clone())
    }
}

fn truthy(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

/// The resolved configuration (cheap to clone; clones share the credentials cache, the HTTP
/// client and the retry quotas). `Debug` shows no secrets.
#[derive(Clone)]
pub struct AwsConfig {
    region: String,
    region_source: RegionSource,
    profile_name: String,
    credentials: SharedCredentialsProvider,
    endpoints: Endpoints,
    retry: RetryConfig,
    timeouts: TimeoutConfig,
    http: Arc<dyn HttpSend>,
    quotas: Arc<Mutex<HashMap<String, Arc<RetryQuota>>>>,
    provider_config: ProviderConfig,
    time_source: Option<Arc<dyn TimeSource>>,
    clock_skew: ClockSkew,
}

impl fmt::Debug for AwsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsConfig")
            .field("region", &self.region)
            .field("region_source", &self.region_source)
            .field("profile", &self.profile_name)
            .field("credentials", &self.credentials)
            .field("endpoints", &self.endpoints)
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .field("clock_skew", &self.clock_skew)
            .finish_non_exhaustive()
    }
}

impl AwsConfig {
    /// A loader resolving everything from code, the environment and the profile files.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudkit_cred_chain::aws::{AwsConfig, Env, Fs, ProviderConfig};
    /// use cloudkit_signer::aws::ProvideCredentials;
    ///
    /// // Tests use a fake environment and fake files; real programs just call
    /// // `AwsConfig::loader().load().await?`.
    /// let http = cloudkit_core::ReqwestSend::shared(&Default::default())?;
    /// let provider_config = ProviderConfig::with_http(http)
    ///     .env(Env::from_pairs([("HOME", "/home/me"), ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000")]))
    ///     .fs(Fs::from_files([(
    ///         "/home/me/.aws/credentials",
    ///         "[staging]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secret\nregion = eu-west-1\n",
    ///     )]));
    /// let config = AwsConfig::loader().provider_config(provider_config).profile("staging").load().await?;
    /// assert_eq!(config.region(), "eu-west-1");
    /// assert_eq!(config.endpoint_url("S3").unwrap().as_str(), "http://127.0.0.1:9000/");
    /// let creds = config.credentials_provider().provide_credentials().await?;
    /// assert_eq!(creds.access_key_id(), "AKIDEXAMPLE");
    /// # Ok(()) }
    /// ```
    pub fn loader() -> AwsConfigLoader {
        AwsConfigLoader::default()
    }

    /// The (cached) credentials provider.
    pub fn credentials_provider(&self) -> SharedCredentialsProvider {
        self.credentials.clone()
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// Where the region came from.
    pub fn region_source(&self) -> &RegionSource {
        &self.region_source
    }

    /// The selected profile's name.
    pub fn profile_name(&self) -> &str {
        &self.profile_name
    }

    /// The endpoint override for a service (`"S3"`, `"EC2"`, `"STS"`, …: the service id used in
    /// `AWS_ENDPOINT_URL_<SERVICE>`); `None` means the service's default endpoint. An invalid
    /// per-service environment value is logged and ignored (use
    /// [`try_endpoint_url`](Self::try_endpoint_url) to get the error).
    pub fn endpoint_url(&self, service_env_id: &str) -> Option<Url> {
        match self.endpoints.resolve(service_env_id) {
            Ok(url) => url,
            Err(error) => {
                tracing::warn!(%error, service = service_env_id, "ignoring an invalid endpoint override");
                None
            }
        }
    }

    /// Like [`endpoint_url`](Self::endpoint_url), reporting invalid values.
    pub fn try_endpoint_url(&self, service_env_id: &str) -> Result<Option<Url>, AwsConfigError> {
        self.endpoints.resolve(service_env_id)
    }

    cloudkit_core::config_accessors!();

    /// The provider config the credential providers use (env, fs, http, region, STS endpoint).
    pub fn provider_config(&self) -> &ProviderConfig {
        &self.provider_config
    }

    /// The retry quota of `service`, shared by every client of this config (and its clones).
    pub fn retry_quota(&self, service: &str) -> Arc<RetryQuota> {
        let mut quotas = self.quotas.lock().unwrap_or_else(|p| p.into_inner());
        quotas.entry(service.to_owned()).or_default().clone()
    }

    /// The correction of the signing clock shared by every client built from this config (and
    /// its clones): set from the `Date` of a clock-skew answer (`RequestTimeTooSkewed`,
    /// `SignatureDoesNotMatch` with a `Date` minutes away, …), after which the request is signed
    /// again and retried (see `cloudkit_signer::aws::ClockSkew`).
    pub fn clock_skew(&self) -> &ClockSkew {
        &self.clock_skew
    }

    /// A pipeline builder for `service_name` signing with SigV4 under `signing_name` (e.g. `"S3"`,
    /// `"s3"`), preset with this config's HTTP client, retry settings, shared retry quota and
    /// timeouts, the AWS XML error parser and the AWS retry classifier, and the config's
    /// [`clock_skew`](Self::clock_skew) (the signer signs with it; the parser and the classifier,
    /// wrapped in `ClockSkewParser` / `ClockSkewClassifier`, correct it from a clock-skew answer
    /// and retry). A client's `ClientBuilder` applies its overrides to it and builds.
    pub fn pipeline_builder(&self, service_name: &'static str, signing_name: &str) -> PipelineBuilder {
        let signer = SigV4Signer::new(self.credentials_provider(), self.region.clone(), signing_name.to_owned())
            .with_clock_skew(self.clock_skew.clone());
        self.pipeline_builder_with_signer(service_name, signer)
    }

    /// Like [`pipeline_builder`](Self::pipeline_builder) with a signer configured by the caller
    /// (payload mode, `x-amz-content-sha256` …). The clock-skew correction uses the signer's
    /// handle: give the signer `.with_clock_skew(config.clock_skew().clone())` to share the
    /// config's.
    pub fn pipeline_builder_with_signer(&self, service_name: &'static str, signer: SigV4Signer) -> PipelineBuilder {
        let skew = signer.clock_skew().clone();
        Pipeline::builder(service_name)
            .http(self.http())
            .signer(Arc::new(signer))
            .error_parser(skew.error_parser(Arc::new(AwsErrorParser)))
            .classifier(skew.classifier(Arc::new(AWS_RETRY_CLASSIFIER)))
            .retry(self.retry_config())
            .quota(self.retry_quota(service_name))
            .timeouts(self.timeout_config())
    }

    /// A copy using `provider` for credentials (wrapped in a new cache); region, endpoints,
    /// HTTP client, retry settings and quotas are shared.
    pub fn with_credentials_provider(&self, provider: SharedCredentialsProvider) -> AwsConfig {
        let mut cache = CredentialsCache::new(provider);
        if let Some(time) = &self.time_source {
            cache = cache.with_time_source(time.clone());
        }
        AwsConfig { credentials: Arc::new(cache), ..self.clone() }
    }
}

/// Builds an [`AwsConfig`] (see [`AwsConfig::loader`]).
#[derive(Default)]
pub struct AwsConfigLoader {
    profile: Option<String>,
    region: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
    endpoint_url: Option<String>,
    http: Option<Arc<dyn HttpSend>>,
    retry: Option<RetryConfig>,
    timeouts: Option<TimeoutConfig>,
    provider_config: Option<ProviderConfig>,
    time_source: Option<Arc<dyn TimeSource>>,
}

impl fmt::Debug for AwsConfigLoader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AwsConfigLoader")
            .field("profile", &self.profile)
            .field("region", &self.region)
            .field("credentials", &self.credentials)
            .field("endpoint_url", &self.endpoint_url)
            .field("retry", &self.retry)
            .field("timeouts", &self.timeouts)
            .finish_non_exhaustive()
    }
}

impl AwsConfigLoader {
    /// The profile to use (instead of `AWS_PROFILE` / `default`); it must exist.
    ///
    /// An explicitly chosen profile wins over environment keys, as in botocore
    /// (`boto3.Session(profile_name=…)`): the environment credential providers
    /// (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, and the `AWS_WEB_IDENTITY_TOKEN_FILE` web
    /// identity) leave the [default chain](super::chain), which becomes: explicit
    /// [`credentials`](Self::credentials) → the profile → container → IMDS. A profile chosen only
    /// through `AWS_PROFILE` leaves them in, and environment keys sign first. Region, endpoints
    /// and retry settings from the environment still win over the profile's either way.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudkit_cred_chain::aws::{AwsConfig, Env, Fs, ProviderConfig};
    /// use cloudkit_signer::aws::ProvideCredentials;
    ///
    /// let http = cloudkit_core::ReqwestSend::shared(&Default::default())?;
    /// let fake = |env: &[(&'static str, &'static str)]| {
    ///     let mut pairs = vec![("HOME", "/home/me"), ("AWS_REGION", "eu-west-1")];
    ///     pairs.extend_from_slice(env);
    ///     ProviderConfig::with_http(http.clone()).env(Env::from_pairs(pairs)).fs(Fs::from_files([(
    ///         "/home/me/.aws/credentials",
    ///         "[staging]\naws_access_key_id = AKIDSTAGING\naws_secret_access_key = s\n",
    ///     )]))
    /// };
    /// let keys = [("AWS_ACCESS_KEY_ID", "AKIDENV"), ("AWS_SECRET_ACCESS_KEY", "s")];
    ///
    /// // chosen in code: the profile signs
    /// let config = AwsConfig::loader().provider_config(fake(&keys)).profile("staging").load().await?;
    /// assert_eq!(config.credentials_provider().provide_credentials().await?.access_key_id(), "AKIDSTAGING");
    ///
    /// // chosen through AWS_PROFILE: the environment keys sign
    /// let with_env_profile = [keys[0], keys[1], ("AWS_PROFILE", "staging")];
    /// let config = AwsConfig::loader().provider_config(fake(&with_env_profile)).load().await?;
    /// assert_eq!(config.credentials_provider().provide_credentials().await?.access_key_id(), "AKIDENV");
    /// # Ok(()) }
    /// ```
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.profile = Some(name.into());
        self
    }

    /// The region (wins over every other source).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Credentials given in code: [`Credentials`] or a [`SharedCredentialsProvider`]; they are
    /// tried first.
    pub fn credentials(mut self, credentials: impl IntoCredentialsProvider) -> Self {
        self.credentials = Some(credentials.into_provider());
        self
    }

    /// An endpoint for every service (wins over environment and profile overrides).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.endpoint_url = Some(url.into());
        self
    }

    // `http`, `retry` (wins over `AWS_MAX_ATTEMPTS` / the profile) and `timeouts`.
    cloudkit_core::config_loader_overrides!();

    /// The environment, files and HTTP client the providers see (tests: fake env and files).
    pub fn provider_config(mut self, config: ProviderConfig) -> Self {
        self.provider_config = Some(config);
        self
    }

    /// The clock of the credentials cache (tests).
    pub fn time_source(mut self, time: Arc<dyn TimeSource>) -> Self {
        self.time_source = Some(time);
        self
    }

    /// Resolves everything (see the [module docs](self)). Credentials are loaded lazily, on first use.
    // Boxed (see `cloudkit_core::BoxFuture`): one of the largest futures, awaited from several crates.
    #[inline(never)]
    pub fn load(self) -> BoxFuture<'static, Result<AwsConfig, AwsConfigError>> {
        Box::pin(self.load_inner())
    }

    async fn load_inner(self) -> Result<AwsConfig, AwsConfigError> {
        let mut pc = match self.provider_config {
            Some(pc) => pc,
            None => {
                let http = match &self.http {
                    Some(h) => h.clone(),
                    None => ReqwestSend::shared(&HttpClientConfig::default()).map_err(AwsConfigError::Http)?,
                };
                ProviderConfig::with_http(http)
            }
        };
        if let Some(http) = &self.http {
            pc.http = http.clone();
        }
        let profiles = Arc::new(ProfileSet::load(&pc.env, &pc.fs).await?);
        let profile_from_code = self.profile.as_deref().is_some_and(|p| !p.trim().is_empty());
        let (profile_name, explicit) = selected_profile_name(self.profile.as_deref(), &pc.env);
        let profile = profiles.profile(&profile_name);
        if profile.is_none() && explicit && profile_name != "default" {
            return Err(AwsConfigError::ProfileNotFound { profile: profile_name, files: profiles.describe_files() });
        }

        let endpoints = endpoints(self.endpoint_url.as_deref(), &pc.env, &profiles, profile)?;
        let sts_endpoint = endpoints.resolve("STS")?;
        let retry = match self.retry {
            Some(r) => r,
            None => retry_from(&pc.env, profile)?,
        };

        // The region chain may ask IMDS, which does not need the STS endpoint or a region.
        let (region, region_source) =
            resolve_region(self.region.as_deref(), &pc, profile, &profile_name, &profiles.describe_files()).await?;
        tracing::debug!(region = %region, source = ?region_source, profile = %profile_name, "resolved AWS region");
        pc.region = Some(region.clone());
        pc.sts_endpoint = sts_endpoint;

        let mut chain = DefaultCredentialsChain::builder().profile_set(profiles.clone());
        if profile_from_code {
            // Chosen in code: the environment providers leave the chain (botocore's rule); a
            // profile from `AWS_PROFILE` is found by the profile provider and env keys still win.
            chain = chain.profile_name(profile_name.clone());
        }
        if let Some(explicit) = self.credentials {
            chain = chain.explicit(explicit);
        }
        let chain = chain.build(&pc);
        let mut cache = CredentialsCache::new(Arc::new(chain));
        if let Some(time) = &self.time_source {
            cache = cache.with_time_source(time.clone());
        }
        Ok(AwsConfig {
            region,
            region_source,
            profile_name,
            credentials: Arc::new(cache),
            endpoints,
            retry,
            timeouts: self.timeouts.unwrap_or_default(),
            http: pc.http.clone(),
            quotas: Arc::default(),
            provider_config: pc,
            time_source: self.time_source,
            clock_skew: ClockSkew::new(),
        })
    }
}

fn endpoints(
    code: Option<&str>,
    env: &Env,
    profiles: &ProfileSet,
    profile: Option<&Profile>,
) -> Result<Endpoints, AwsConfigError> {
    let code = code.map(|c| parse_endpoint(c, "code (AwsConfig::loader().endpoint_url)")).transpose()?;
    let ignore_configured = env.get_non_empty("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS").is_some_and(|v| truthy(&v))
        || profile.and_then(|p| p.get_non_empty("ignore_configured_endpoint_urls")).is_some_and(truthy);
    let mut services = HashMap::new();
    let mut profile_url = None;
    if let Some(p) = profile {
        if let Some(name) = p.get_non_empty("services") {
            let Some(section) = profiles.services(name) else {
                return Err(AwsConfigError::InvalidProfile {
                    profile: p.name().to_owned(),
                    message: format!("services = {name}, but there is no [services {name}] section"),
                });
            };
            for key in section.keys() {
                let Some(url) = section.sub_properties(key).and_then(|sub| sub.get("endpoint_url").cloned()) else {
                    continue;
                };
                let source = format!("[services {name}] {key}.endpoint_url");
                services.insert(profile_service_key(key), parse_endpoint(&url, source)?);
            }
        }
        if let Some(url) = p.get_non_empty("endpoint_url") {
            profile_url = Some(parse_endpoint(url, format!("profile `{}` endpoint_url", p.name()))?);
        }
    }
    let endpoints = Endpoints { code, ignore_configured, env: env.clone(), services, profile: profile_url };
    // Validate the global environment override now rather than on first use.
    if endpoints.code.is_none()
        && !endpoints.ignore_configured
        && let Some(v) = env.get_non_empty("AWS_ENDPOINT_URL")
    {
        parse_endpoint(&v, "AWS_ENDPOINT_URL")?;
    }
    Ok(endpoints)
}

fn setting(env: &Env, var: &str, profile: Option<&Profile>, key: &str) -> Option<(String, String)> {
    if let Some(v) = env.get_non_empty(var) {
        return Some((v, var.to_owned()));
    }
    let p = profile?;
    p.get_non_empty(key).map(|v| (v.to_owned(), format!("profile `{}` {key}", p.name())))
}

/// Retry settings from `AWS_MAX_ATTEMPTS` / `max_attempts` and `AWS_RETRY_MODE` / `retry_mode`.
fn retry_from(env: &Env, profile: Option<&Profile>) -> Result<RetryConfig, AwsConfigError> {
    let mut retry = RetryConfig::standard();
    if let Some((mode, source_name)) = setting(env, "AWS_RETRY_MODE", profile, "retry_mode") {
        match mode.trim().to_ascii_lowercase().as_str() {
            "standard" => {}
            "legacy" | "adaptive" => tracing::info!(
                mode = %mode.trim(),
                source = %source_name,
                "retry mode accepted, but cloudkit implements only `standard` retries; using standard"
            ),
            _ => return Err(AwsConfigError::InvalidRetryMode { source_name, value: mode }),
        }
    }
    if let Some((value, source_name)) = setting(env, "AWS_MAX_ATTEMPTS", profile, "max_attempts") {
        match value.trim().parse::<u32>() {
            Ok(n) if n >= 1 => retry = retry.with_max_attempts(n),
            _ => return Err(AwsConfigError::InvalidMaxAttempts { source_name, value }),
        }
    }
    Ok(retry)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cloudkit_core::testing::ReplayHttp;

    use super::*;
    use crate::aws::profile_provider::test_util::*;

    async fn load(env: &[(&str, &str)], config: &str, creds: &str) -> Result<AwsConfig, AwsConfigError> {
        load_with(AwsConfig::loader(), env, config, creds).await
    }

    async fn load_with(
        loader: AwsConfigLoader,
        env: &[(&str, &str)],
        config: &str,
        creds: &str,
    ) -> Result<AwsConfig, AwsConfigError> {
        let pc = provider_config(Arc::new(ReplayHttp::new()), env, config, creds);
        loader.provider_config(pc).load().await
    }

    #[tokio::test]
    async fn region_chain_order() {
        let cfg = "[default]\nregion = from-profile\n[profile other]\nregion = other-profile\n";
        let all = [("AWS_REGION", "from-aws-region"), ("AWS_DEFAULT_REGION", "from-default-region")];
        let c = load_with(AwsConfig::loader().region("from-code"), &all, cfg, "").await.unwrap();
        assert_eq!((c.region(), c.region_source()), ("from-code", &RegionSource::Code));
        let c = load(&all, cfg, "").await.unwrap();
        assert_eq!((c.region(), c.region_source()), ("from-aws-region", &RegionSource::AwsRegion));
        let c = load(&all[1..], cfg, "").await.unwrap();
        assert_eq!((c.region(), c.region_source()), ("from-default-region", &RegionSource::AwsDefaultRegion));
        let c = load(&[], cfg, "").await.unwrap();
        assert_eq!((c.region(), c.region_source()), ("from-profile", &RegionSource::Profile("default".into())));
        let c = load(&[("AWS_PROFILE", "other")], cfg, "").await.unwrap();
        assert_eq!(c.region(), "other-profile");
        assert_eq!(c.provider_config().region.as_deref(), Some("other-profile"));
    }

    #[tokio::test]
    async fn region_falls_back_to_imds_last() {
        use cloudkit_core::testing::Canned;

        use crate::aws::{Env, Fs};
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, "IMDSTOKEN"));
        http.push(Canned::status(200, "ap-south-1"));
        let pc = ProviderConfig::with_http(http.clone())
            .env(Env::from_pairs([("HOME", HOME)]))
            .fs(Fs::from_files([(format!("{HOME}/.aws/config"), "[default]\noutput = json\n".to_owned())]));
        let c = AwsConfig::loader().provider_config(pc).load().await.unwrap();
        assert_eq!((c.region(), c.region_source()), ("ap-south-1", &RegionSource::Imds));
        let reqs = http.requests();
        assert!(reqs.iter().any(|r| r.url.path() == "/latest/meta-data/placement/region"), "{reqs:?}");
    }

    #[tokio::test]
    async fn missing_region_names_every_source() {
        let e = load(&[], "", "").await.unwrap_err();
        let shown = e.to_string();
        assert!(matches!(e, AwsConfigError::Region(RegionError::Missing { .. })));
        for needle in
            ["region(..)", "AWS_REGION", "AWS_DEFAULT_REGION", "profile `default`", "/home/tester/.aws/config", "IMDS"]
        {
            assert!(shown.contains(needle), "missing {needle}: {shown}");
        }
        let e = load(&[("AWS_REGION", "eu west 1")], "", "").await.unwrap_err();
        assert!(matches!(e, AwsConfigError::Region(RegionError::Invalid { .. })), "{e}");
    }

    #[tokio::test]
    async fn selected_profile_must_exist() {
        let e = load(&[("AWS_REGION", "r"), ("AWS_PROFILE", "ghost")], "", "").await.unwrap_err();
        assert!(matches!(e, AwsConfigError::ProfileNotFound { .. }), "{e}");
        let e = load_with(AwsConfig::loader().profile("ghost"), &[("AWS_REGION", "r")], "", "").await.unwrap_err();
        assert!(e.to_string().contains("`ghost` was not found"), "{e}");
        let e = load(&[("AWS_REGION", "r")], "[profile x\n", "").await.unwrap_err();
        assert!(matches!(e, AwsConfigError::ProfileFile(_)) && e.to_string().contains("config:1"), "{e}");
    }

    const ENDPOINT_CONFIG: &str = "[default]\nregion = r\nendpoint_url = http://profile-global:1\nservices = local\n\
        [services local]\ns3 =\n  endpoint_url = http://profile-s3:2\nelastic_beanstalk =\n  endpoint_url = http://profile-eb:3\n";

    #[tokio::test]
    async fn endpoint_resolution_order() {
        let env = [("AWS_ENDPOINT_URL_S3", "http://env-s3:4"), ("AWS_ENDPOINT_URL", "http://env-global:5")];
        let c = load_with(AwsConfig::loader().endpoint_url("http://code:6"), &env, ENDPOINT_CONFIG, "").await.unwrap();
        assert_eq!(c.endpoint_url("S3").unwrap().as_str(), "http://code:6/");
        let c = load(&env, ENDPOINT_CONFIG, "").await.unwrap();
        assert_eq!(c.endpoint_url("S3").unwrap().as_str(), "http://env-s3:4/");
        assert_eq!(c.endpoint_url("EC2").unwrap().as_str(), "http://env-global:5/");
        let c = load(&[], ENDPOINT_CONFIG, "").await.unwrap();
        assert_eq!(c.endpoint_url("S3").unwrap().as_str(), "http://profile-s3:2/");
        assert_eq!(c.endpoint_url("Elastic Beanstalk").unwrap().as_str(), "http://profile-eb:3/");
        assert_eq!(c.endpoint_url("EC2").unwrap().as_str(), "http://profile-global:1/");
        // STS endpoint handed to the credential providers
        assert_eq!(c.provider_config().sts_endpoint.as_ref().map(Url::as_str), Some("http://profile-global:1/"));
        // service ids: upper case, spaces to underscores
        let c = load(&[("AWS_ENDPOINT_URL_ELASTIC_BEANSTALK", "http://env-eb:7")], "[default]\nregion = r\n", "")
            .await
            .unwrap();
        assert_eq!(c.endpoint_url("Elastic Beanstalk").unwrap().as_str(), "http://env-eb:7/");
        assert_eq!(c.endpoint_url("S3"), None);
        // ignoring configured endpoints keeps only the code one
        let mut ignore = env.to_vec();
        ignore.push(("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"));
        let c = load(&ignore, ENDPOINT_CONFIG, "").await.unwrap();
        assert_eq!(c.endpoint_url("S3"), None);
        assert_eq!(c.provider_config().sts_endpoint, None);
        let c =
            load_with(AwsConfig::loader().endpoint_url("http://code:6"), &ignore, ENDPOINT_CONFIG, "").await.unwrap();
        assert_eq!(c.endpoint_url("S3").unwrap().as_str(), "http://code:6/");
        let ignoring =
            ENDPOINT_CONFIG.replace("services = local\n", "services = local\nignore_configured_endpoint_urls = true\n");
        let c = load(&[], &ignoring, "").await.unwrap();
        assert_eq!(c.endpoint_url("S3"), None);
    }

    #[tokio::test]
    async fn invalid_endpoints_are_errors() {
        let e = load(&[("AWS_REGION", "r"), ("AWS_ENDPOINT_URL", "not a url")], "", "").await.unwrap_err();
        assert!(
            matches!(e, AwsConfigError::InvalidEndpoint { .. }) && e.to_string().contains("AWS_ENDPOINT_URL"),
            "{e}"
        );
        let e = load(&[("AWS_REGION", "r"), ("AWS_ENDPOINT_URL_STS", "ftp://x")], "", "").await.unwrap_err();
        assert!(e.to_string().contains("AWS_ENDPOINT_URL_STS"), "{e}");
        let c = load(&[("AWS_REGION", "r"), ("AWS_ENDPOINT_URL_S3", "::")], "", "").await.unwrap();
        assert_eq!(c.endpoint_url("S3"), None);
        assert!(c.try_endpoint_url("S3").is_err());
        let e = load(&[], "[default]\nregion = r\nservices = nope\n", "").await.unwrap_err();
        assert!(e.to_string().contains("no [services nope] section"), "{e}");
    }

    #[tokio::test]
    async fn retry_settings() {
        let r = [("AWS_REGION", "r")];
        assert_eq!(load(&r, "", "").await.unwrap().retry_config().max_attempts(), 3);
        let c =
            load(&[("AWS_REGION", "r"), ("AWS_MAX_ATTEMPTS", "7")], "[default]\nmax_attempts = 2\n", "").await.unwrap();
        assert_eq!(c.retry_config().max_attempts(), 7);
        let c = load(&r, "[default]\nmax_attempts = 2\nretry_mode = adaptive\n", "").await.unwrap();
        assert_eq!(c.retry_config().max_attempts(), 2);
        for bad in ["0", "-1", "three", "4294967296"] {
            let e = load(&[("AWS_REGION", "r"), ("AWS_MAX_ATTEMPTS", bad)], "", "").await.unwrap_err();
            assert!(matches!(e, AwsConfigError::InvalidMaxAttempts { .. }), "{bad}: {e}");
            assert!(e.to_string().contains("AWS_MAX_ATTEMPTS"), "{e}");
        }
        let e = load(&r, "[default]\nmax_attempts = 0\n", "").await.unwrap_err();
        assert!(e.to_string().contains("profile `default` max_attempts"), "{e}");
        for ok in ["standard", "legacy", "ADAPTIVE"] {
            let c = load(&[("AWS_REGION", "r"), ("AWS_RETRY_MODE", ok)], "", "").await.unwrap();
            assert_eq!(c.retry_config(), RetryConfig::standard());
        }
        let e = load(&[("AWS_REGION", "r"), ("AWS_RETRY_MODE", "yolo")], "", "").await.unwrap_err();
        assert!(matches!(e, AwsConfigError::InvalidRetryMode { .. }), "{e}");
        // code wins and skips the environment
        let c = load_with(
            AwsConfig::loader().retry(RetryConfig::disabled()),
            &[("AWS_REGION", "r"), ("AWS_MAX_ATTEMPTS", "9")],
            "",
            "",
        )
        .await
        .unwrap();
        assert_eq!(c.retry_config().max_attempts(), 1);
    }

    #[tokio::test]
    async fn credentials_explicit_and_cached() {
        let env = [("AWS_REGION", "r"), ("AWS_ACCESS_KEY_ID", "AKIDENV"), ("AWS_SECRET_ACCESS_KEY", "ENVSECRET")];
        let c = load(&env, "", "").await.unwrap();
        assert_eq!(c.credentials_provider().provide_credentials().await.unwrap().access_key_id(), "AKIDENV");
        let c =
            load_with(AwsConfig::loader().credentials(Credentials::from_keys("AKIDCODE", "CODESECRET")), &env, "", "")
                .await
                .unwrap();
        assert_eq!(c.credentials_provider().provide_credentials().await.unwrap().access_key_id(), "AKIDCODE");
        let shared: SharedCredentialsProvider = Arc::new(Credentials::from_keys("AKIDSHARED", "s"));
        let c = load_with(AwsConfig::loader().credentials(shared), &env, "", "").await.unwrap();
        assert_eq!(c.credentials_provider().provide_credentials().await.unwrap().access_key_id(), "AKIDSHARED");
        let shown = format!("{c:?}");
        assert!(!shown.contains("ENVSECRET") && !shown.contains("CODESECRET"), "{shown}");
    }

    #[tokio::test]
    async fn debug_of_config_shows_no_secrets() {
        let env = [
            ("AWS_REGION", "r"),
            ("AWS_ACCESS_KEY_ID", "AKIDENV"),
            ("AWS_SECRET_ACCESS_KEY", "ENVSECRET"),
            ("AWS_SESSION_TOKEN", "ENVTOKEN"),
        ];
        let c = load(&env, "[default]\naws_secret_access_key = PROFILESECRET\n", "").await.unwrap();
        c.credentials_provider().provide_credentials().await.unwrap();
        let shown = format!("{c:?} {c:#?}");
        assert!(shown.contains("AKIDENV"), "{shown}");
        for secret in ["ENVSECRET", "ENVTOKEN", "PROFILESECRET"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
    }

    /// A config from environment keys only (region eu-west-1), over `http`.
    async fn env_config(http: &Arc<ReplayHttp>) -> AwsConfig {
        let env = [("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "AKIDENV"), ("AWS_SECRET_ACCESS_KEY", "s")];
        AwsConfig::loader().provider_config(provider_config(http.clone(), &env, "", "")).load().await.unwrap()
    }

    #[tokio::test]
    async fn quotas_are_shared_per_service_and_pipeline_signs() {
        use cloudkit_core::testing::Canned;
        use cloudkit_core::{HttpRequest, Method, Operation};

        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, "ok"));
        let c = env_config(&http).await;
        let clone = c.clone();
        assert!(Arc::ptr_eq(&c.retry_quota("S3"), &clone.retry_quota("S3")));
        assert!(!Arc::ptr_eq(&c.retry_quota("S3"), &c.retry_quota("EC2")));
        let pipeline = c.pipeline_builder("EC2", "ec2").build().unwrap();
        let req = HttpRequest::new(Method::GET, "http://ec2.test/?Action=DescribeRegions".parse().unwrap());
        pipeline.send_buffered(&Operation::new("DescribeRegions"), req).await.unwrap();
        let sent = &http.requests()[0];
        assert_eq!(signed_with(&sent.headers), "AKIDENV");
        let auth = sent.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(auth.contains("/eu-west-1/ec2/aws4_request"), "{auth}");
    }

    const STAGING: &str = "[staging]\naws_access_key_id = AKIDSTAGING\naws_secret_access_key = STAGINGSECRET\n";
    const ENV_KEYS: [(&str, &str); 3] =
        [("AWS_REGION", "eu-west-1"), ("AWS_ACCESS_KEY_ID", "AKIDENV"), ("AWS_SECRET_ACCESS_KEY", "ENVSECRET")];

    /// Sends one request through an EC2 pipeline of a config loaded over `env` and the STAGING
    /// credentials file; returns the access key id that signed it.
    async fn key_that_signs(loader: AwsConfigLoader, env: &[(&str, &str)]) -> String {
        use cloudkit_core::testing::Canned;
        use cloudkit_core::{HttpRequest, Method, Operation};

        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, "ok"));
        let c = loader.provider_config(provider_config(http.clone(), env, "", STAGING)).load().await.unwrap();
        let pipeline = c.pipeline_builder("EC2", "ec2").build().unwrap();
        let req = HttpRequest::new(Method::POST, "http://ec2.test/".parse().unwrap());
        pipeline.send_buffered(&Operation::new("DescribeRegions"), req).await.unwrap();
        signed_with(&http.requests()[0].headers)
    }

    /// Issue 16, point 5: with `AWS_ACCESS_KEY_ID` set, `profile("staging")` signs with the
    /// profile's key (botocore: an explicit profile removes the environment provider);
    /// `AWS_PROFILE=staging` alone leaves the environment keys first.
    #[tokio::test]
    async fn an_explicit_profile_signs_over_environment_keys() {
        assert_eq!(key_that_signs(AwsConfig::loader().profile("staging"), &ENV_KEYS).await, "AKIDSTAGING");
        let mut env = ENV_KEYS.to_vec();
        env.push(("AWS_PROFILE", "staging"));
        assert_eq!(key_that_signs(AwsConfig::loader(), &env).await, "AKIDENV");
        // the profile from code wins over AWS_PROFILE, and still over the env keys
        env.push(("AWS_PROFILE", "default"));
        assert_eq!(key_that_signs(AwsConfig::loader().profile("staging"), &env).await, "AKIDSTAGING");
        assert_eq!(key_that_signs(AwsConfig::loader(), &ENV_KEYS).await, "AKIDENV");
    }

    /// Issue 16, point 5: a 403 from a signed call says which credential source signed it, and
    /// never shows a secret.
    #[tokio::test]
    async fn a_refused_request_names_the_credential_source() {
        use cloudkit_core::testing::Canned;
        use cloudkit_core::{HttpRequest, Method, Operation};

        let denied = "<Error><Code>InvalidAccessKeyId</Code><Message>The AWS Access Key Id you provided does not \
                      exist in our records.</Message><RequestId>R1</RequestId></Error>";
        for (loader, env, expected) in [
            (
                AwsConfig::loader(),
                ENV_KEYS.to_vec(),
                "signed with credentials from the environment (AWS_ACCESS_KEY_ID)",
            ),
            (
                AwsConfig::loader().profile("staging"),
                ENV_KEYS.to_vec(),
                "signed with credentials from profile `staging` (shared config/credentials files)",
            ),
            (
                AwsConfig::loader().credentials(Credentials::from_keys("AKIDCODE", "CODESECRET")),
                ENV_KEYS.to_vec(),
                "signed with credentials from code (credentials given explicitly)",
            ),
        ] {
            let http = Arc::new(ReplayHttp::new());
            http.push(Canned::status(403, denied));
            let c = loader.provider_config(provider_config(http.clone(), &env, "", STAGING)).load().await.unwrap();
            let pipeline = c.pipeline_builder("S3", "s3").build().unwrap();
            let req = HttpRequest::new(Method::GET, "http://s3.test/bucket/key".parse().unwrap());
            let e = pipeline.send_buffered(&Operation::new("GetObject"), req).await.unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(shown.contains(expected), "{shown}");
            assert!(e.to_string().contains("InvalidAccessKeyId"), "{e}");
            for secret in ["ENVSECRET", "STAGINGSECRET", "CODESECRET"] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
        }
        // an error that is not about credentials gets no note
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(404, "<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>"));
        let c = AwsConfig::loader().provider_config(provider_config(http.clone(), &ENV_KEYS, "", "")).load().await;
        let pipeline = c.unwrap().pipeline_builder("S3", "s3").build().unwrap();
        let req = HttpRequest::new(Method::GET, "http://s3.test/bucket/key".parse().unwrap());
        let e = pipeline.send_buffered(&Operation::new("GetObject"), req).await.unwrap_err();
        assert!(!e.to_string().contains("signed with"), "{e}");
    }

    /// Issue 15, defect 10: loading credentials was outside every timeout, and the cache held its
    /// lock while a slow source ran, so every request waited. Through a pipeline built from an
    /// `AwsConfig` (cache + default chain), a hung `credential_process` fails the request with a
    /// timeout at the operation timeout; the next request loads again instead of waiting forever.
    #[cfg(unix)]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hung_credential_process_fails_the_request_at_the_operation_timeout() {
        use std::time::Duration;

        use cloudkit_core::{ErrorKind, HttpRequest, Method, Operation};

        let http = Arc::new(ReplayHttp::new());
        let pc = provider_config(
            http.clone(),
            &[("AWS_REGION", "eu-west-1")],
            "[default]\ncredential_process = sleep 30\n",
            "",
        );
        let c = AwsConfig::loader()
            .provider_config(pc)
            .timeouts(TimeoutConfig { attempt: Some(Duration::from_secs(5)), operation: Some(Duration::from_secs(1)) })
            .load()
            .await
            .unwrap();
        let pipeline = c.pipeline_builder("EC2", "ec2").build().unwrap();
        for _ in 0..2 {
            let started = std::time::Instant::now();
            let req = HttpRequest::new(Method::POST, "http://ec2.test/".parse().unwrap());
            let e = pipeline.send_buffered(&Operation::new("DescribeRegions"), req).await.unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
            assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        }
        assert!(http.requests().is_empty(), "nothing was sent unsigned");
    }

    /// Clock skew through a config's pipeline: an `AuthFailure` whose `Date` is 30 minutes behind
    /// corrects the config's clock (shared by every client of the config) and is retried once.
    #[tokio::test(start_paused = true)]
    async fn a_clock_skew_answer_corrects_the_configs_clock_and_is_retried() {
        use std::time::{Duration, SystemTime};

        use cloudkit_core::internal::date::{format_iso8601_basic, http_date};
        use cloudkit_core::testing::Canned;
        use cloudkit_core::{HttpRequest, Method, Operation};

        let http = Arc::new(ReplayHttp::new());
        let c = env_config(&http).await;
        let server_time = SystemTime::now() - Duration::from_secs(1800);
        let skewed = "<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate \
                      the provided access credentials</Message></Error></Errors></Response>";
        http.push(Canned::status(401, skewed).with_header("date", &http_date(server_time).unwrap()));
        http.push(Canned::status(200, "ok"));
        let pipeline = c.pipeline_builder("EC2", "ec2").build().unwrap();
        let req = HttpRequest::new(Method::POST, "http://ec2.test/".parse().unwrap());
        pipeline.send_buffered(&Operation::new("DescribeRegions"), req).await.unwrap();
        let reqs = http.requests();
        assert_eq!(reqs.len(), 2);
        let signed = reqs[1].headers["x-amz-date"].to_str().unwrap();
        assert_eq!(&signed[..11], &format_iso8601_basic(server_time).unwrap()[..11], "signed with the server's hour");
        assert!(c.clock_skew().offset_millis() < -1_790_000, "{:?}", c.clock_skew());
        assert_eq!(c.clone().clock_skew().offset_millis(), c.clock_skew().offset_millis(), "clones share it");
    }
}
