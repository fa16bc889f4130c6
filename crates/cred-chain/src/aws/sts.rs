//! The credential providers that call STS `AssumeRole`: [`AssumeRoleProvider`], behind `role_arn`
//! profiles and session-level assume-role (the web identity provider is in
//! [`web_identity`](super::web_identity)).
//!
//! The STS client itself is the `cloudkit-aws-sts` crate (`cloudkit::sts` in the facade). The
//! providers here build their clients from the [`ProviderConfig`]: its HTTP client, and the endpoint
//! `config.sts_endpoint`, else `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else STS's regional
//! endpoint `https://sts.{region}.amazonaws.com`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cloudkit_aws_sts::{AssumeRoleRequest, StsClient, StsError};
use cloudkit_core::Url;
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials, SharedCredentialsProvider};

use super::ProviderConfig;

/// The region STS calls use when none is configured (STS's global endpoint lives there).
pub const DEFAULT_STS_REGION: &str = "us-east-1";

/// The region of a provider's STS calls: the provider config's, else `AWS_REGION`, else
/// `AWS_DEFAULT_REGION`, else `profile_region`, else [`DEFAULT_STS_REGION`].
pub(crate) fn sts_region(config: &ProviderConfig, profile_region: Option<&str>) -> String {
    config
        .region
        .clone()
        .or_else(|| config.env.get_non_empty("AWS_REGION"))
        .or_else(|| config.env.get_non_empty("AWS_DEFAULT_REGION"))
        .or_else(|| profile_region.map(str::to_owned))
        .unwrap_or_else(|| DEFAULT_STS_REGION.to_owned())
}

/// An STS client for a credential provider: `config`'s HTTP client, the endpoint resolved from
/// `config` (see the [module docs](self)), signed with `credentials` (unsigned without). A bad
/// region or endpoint is an `InvalidConfiguration` of `provider`.
pub(crate) fn client(
    config: &ProviderConfig,
    region: &str,
    credentials: Option<SharedCredentialsProvider>,
    provider: &'static str,
) -> Result<StsClient, CredentialsError> {
    let mut builder = StsClient::builder().region(region).http(config.http.clone());
    if let Some(credentials) = credentials {
        builder = builder.credentials(credentials);
    }
    if let Some(endpoint) = endpoint_override(config, provider)? {
        builder = builder.endpoint(endpoint);
    }
    builder.build().map_err(|e| invalid_config(provider, &e))
}

/// `config.sts_endpoint`, else `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`; `None`: the
/// regional endpoint.
fn endpoint_override(config: &ProviderConfig, provider: &'static str) -> Result<Option<Url>, CredentialsError> {
    if let Some(url) = &config.sts_endpoint {
        return Ok(Some(url.clone()));
    }
    for var in ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"] {
        if let Some(value) = config.env.get_non_empty(var) {
            return Url::parse(value.trim()).map(Some).map_err(|e| {
                CredentialsError::invalid_configuration(provider, format!("{var} is not a valid URL: {e}"))
            });
        }
    }
    Ok(None)
}

/// An STS input error (found before anything was sent) as an `InvalidConfiguration` of `provider`.
pub(crate) fn invalid_config(provider: &'static str, e: &StsError) -> CredentialsError {
    let message = e.message().map(str::to_owned).unwrap_or_else(|| e.to_string());
    CredentialsError::invalid_configuration(provider, message)
}

/// Milliseconds since the Unix epoch, for default session names.
pub(crate) fn unix_millis() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default()
}

/// Credentials from `AssumeRole`, signed with a source provider's credentials (profiles with
/// `role_arn`, session-level assume-role). Every call to
/// [`provide_credentials`](ProvideCredentials::provide_credentials) calls STS: wrap the provider
/// in the chain's credentials cache. Its failures are `ProviderError`s (never `NotLoaded`): a
/// configured role that cannot be assumed stops the chain.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use cloudkit_cred_chain::aws::ProviderConfig;
/// use cloudkit_cred_chain::aws::sts::AssumeRoleProvider;
/// use cloudkit_signer::aws::{Credentials, ProvideCredentials};
///
/// let config = ProviderConfig::real()?.region("eu-west-1");
/// let source = Arc::new(Credentials::from_keys("AKIDEXAMPLE", "secret"));
/// let provider = AssumeRoleProvider::builder("arn:aws:iam::123456789012:role/deploy")
///     .session_name("deploy")
///     .external_id("shared-secret-id")
///     .duration(Duration::from_secs(3600))
///     .build(source, &config)?;
/// let credentials = provider.provide_credentials().await?;
/// # let _ = credentials; Ok(()) }
/// ```
#[derive(Debug)]
pub struct AssumeRoleProvider {
    client: StsClient,
    request: AssumeRoleRequest,
}

/// Builds an [`AssumeRoleProvider`].
#[derive(Clone, Debug)]
pub struct AssumeRoleProviderBuilder {
    request: AssumeRoleRequest,
    session_name: Option<String>,
    region: Option<String>,
}

impl AssumeRoleProvider {
    /// A builder for assuming `role_arn`.
    pub fn builder(role_arn: impl Into<String>) -> AssumeRoleProviderBuilder {
        AssumeRoleProviderBuilder {
            request: AssumeRoleRequest::new(role_arn, String::new()),
            session_name: None,
            region: None,
        }
    }

    /// The role this provider assumes.
    pub fn role_arn(&self) -> &str {
        &self.request.role_arn
    }

    /// The session name used.
    pub fn session_name(&self) -> &str {
        &self.request.role_session_name
    }
}

impl AssumeRoleProviderBuilder {
    /// The session name (default `cloudkit-session-<unix millis>`).
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.session_name = Some(name.into());
        self
    }

    /// The external id the role requires.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.request.external_id = Some(external_id.into());
        self
    }

    /// The session duration (900 s – 43 200 s).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.request.duration = Some(duration);
        self
    }

    /// An inline session policy.
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.request.policy = Some(policy.into());
        self
    }

    /// The STS region (default: `config.region`, else `us-east-1`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Builds the provider; `source` supplies the credentials that sign `AssumeRole`.
    /// Invalid settings (session name, external id, duration, region) are `InvalidConfiguration`.
    pub fn build(
        self,
        source: SharedCredentialsProvider,
        config: &ProviderConfig,
    ) -> Result<AssumeRoleProvider, CredentialsError> {
        let mut request = self.request;
        request.role_session_name = self.session_name.unwrap_or_else(|| format!("cloudkit-session-{}", unix_millis()));
        request.validate().map_err(|e| invalid_config(PROVIDER_NAME, &e))?;
        let region = self.region.or_else(|| config.region.clone()).unwrap_or_else(|| DEFAULT_STS_REGION.to_owned());
        let client = client(config, &region, Some(source), PROVIDER_NAME)?;
        Ok(AssumeRoleProvider { client, request })
    }
}

const PROVIDER_NAME: &str = "AssumeRole";

#[async_trait]
impl ProvideCredentials for AssumeRoleProvider {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        match self.client.assume_role(self.request.clone()).await {
            Ok(out) => Ok(out.credentials.with_source(format!("assume-role {}", self.request.role_arn))),
            Err(e) => Err(CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("could not assume role {}: {e}", self.request.role_arn),
                Some(Box::new(e)),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cloudkit_aws_sts::validate_session_name;
    use cloudkit_core::HttpSend;
    use cloudkit_core::testing::{Canned, ReplayHttp};

    use super::*;
    use crate::aws::Env;
    use crate::aws::profile_provider::test_util::canned_assume_role;

    fn config(http: Arc<ReplayHttp>) -> ProviderConfig {
        ProviderConfig::with_http(http as Arc<dyn HttpSend>).env(Env::from_pairs::<&str, &str>([]))
    }

    fn source() -> SharedCredentialsProvider {
        Arc::new(Credentials::from_keys("AKIDSOURCE", "sourcesecret"))
    }

    #[test]
    fn endpoint_resolution_order() {
        let http: Arc<dyn HttpSend> = Arc::new(ReplayHttp::new());
        let endpoint = |cfg: &ProviderConfig| client(cfg, "eu-west-1", None, "test").unwrap().endpoint().to_string();
        let env = Env::from_pairs([("AWS_ENDPOINT_URL", "http://generic:1"), ("AWS_ENDPOINT_URL_STS", "http://sts:2")]);
        let cfg = ProviderConfig::with_http(http.clone()).env(env.clone());
        assert_eq!(endpoint(&cfg), "http://sts:2/");
        let cfg = cfg.sts_endpoint(Url::parse("http://explicit:3").unwrap());
        assert_eq!(endpoint(&cfg), "http://explicit:3/");
        let cfg =
            ProviderConfig::with_http(http.clone()).env(Env::from_pairs([("AWS_ENDPOINT_URL", "http://generic:1")]));
        assert_eq!(endpoint(&cfg), "http://generic:1/");
        let cfg = ProviderConfig::with_http(http.clone()).env(Env::from_pairs::<&str, &str>([]));
        assert_eq!(endpoint(&cfg), "https://sts.eu-west-1.amazonaws.com/");
        let cfg = ProviderConfig::with_http(http.clone()).env(Env::from_pairs([("AWS_ENDPOINT_URL_STS", "not a url")]));
        let e = client(&cfg, "eu-west-1", None, "test").unwrap_err();
        assert!(
            matches!(e, CredentialsError::InvalidConfiguration { .. })
                && e.to_string().contains("AWS_ENDPOINT_URL_STS"),
            "{e}"
        );
        let cfg = ProviderConfig::with_http(http).env(Env::from_pairs::<&str, &str>([]));
        let e = client(&cfg, "eu-west-1/evil", None, "test").unwrap_err();
        assert!(
            matches!(e, CredentialsError::InvalidConfiguration { .. }) && e.to_string().contains("eu-west-1/evil"),
            "{e}"
        );
    }

    #[test]
    fn sts_region_order() {
        let http: Arc<dyn HttpSend> = Arc::new(ReplayHttp::new());
        let env = Env::from_pairs([("AWS_REGION", "from-aws-region"), ("AWS_DEFAULT_REGION", "from-default")]);
        let cfg = ProviderConfig::with_http(http.clone()).env(env);
        assert_eq!(sts_region(&cfg.clone().region("known"), Some("profile")), "known");
        assert_eq!(sts_region(&cfg, Some("profile")), "from-aws-region");
        let cfg =
            ProviderConfig::with_http(http.clone()).env(Env::from_pairs([("AWS_DEFAULT_REGION", "from-default")]));
        assert_eq!(sts_region(&cfg, Some("profile")), "from-default");
        let cfg = ProviderConfig::with_http(http).env(Env::from_pairs::<&str, &str>([]));
        assert_eq!(sts_region(&cfg, Some("profile")), "profile");
        assert_eq!(sts_region(&cfg, None), DEFAULT_STS_REGION);
    }

    #[tokio::test]
    async fn assume_role_provider_errors_are_provider_errors() {
        let http = Arc::new(ReplayHttp::new());
        canned_assume_role(&http, "ASIAIOSFODNN7EXAMPLE");
        http.push(Canned::status(
            403,
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
             <Code>AccessDenied</Code><Message>nope</Message></Error><RequestId>req-err-1</RequestId></ErrorResponse>",
        ));
        let cfg = config(http.clone()).region("ap-south-1");
        let provider =
            AssumeRoleProvider::builder("arn:aws:iam::123456789012:role/demo").build(source(), &cfg).unwrap();
        assert!(provider.session_name().starts_with("cloudkit-session-"));
        validate_session_name("t", provider.session_name()).unwrap();
        let creds = provider.provide_credentials().await.unwrap();
        assert_eq!(creds.access_key_id(), "ASIAIOSFODNN7EXAMPLE");
        assert!(http.requests()[0].headers["authorization"].to_str().unwrap().contains("/ap-south-1/sts/"));
        let e = provider.provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::ProviderError { .. }), "{e:?}");
        assert!(!e.is_not_loaded());
        assert!(e.to_string().contains("AccessDenied"), "{e}");

        let bad = AssumeRoleProvider::builder("arn:aws:iam::123456789012:role/demo")
            .duration(Duration::from_secs(60))
            .build(source(), &cfg)
            .unwrap_err();
        assert!(matches!(bad, CredentialsError::InvalidConfiguration { .. }), "{bad:?}");
        let bad = AssumeRoleProvider::builder("arn:aws:iam::123456789012:role/demo")
            .session_name("bad name!")
            .build(source(), &cfg)
            .unwrap_err();
        assert!(bad.to_string().contains("bad name!"), "{bad}");
    }

    #[tokio::test]
    async fn source_credential_failure_is_a_provider_error() {
        #[derive(Debug)]
        struct Broken;
        #[async_trait]
        impl ProvideCredentials for Broken {
            async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
                Err(CredentialsError::not_loaded("env", "unset"))
            }
        }
        let http = Arc::new(ReplayHttp::new());
        let provider = AssumeRoleProvider::builder("arn:aws:iam::123456789012:role/demo")
            .build(Arc::new(Broken), &config(http.clone()))
            .unwrap();
        let e = provider.provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::ProviderError { .. }), "{e:?}");
        assert!(http.requests().is_empty());
    }
}
