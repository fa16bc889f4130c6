//! Web identity credentials (EKS IRSA, GitHub Actions OIDC, …): an OIDC token read from a file,
//! exchanged for role credentials with STS `AssumeRoleWithWebIdentity`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_cred_chain::aws::ProviderConfig;
//! use cloudkit_cred_chain::aws::web_identity::WebIdentityTokenProvider;
//! use cloudkit_signer::aws::ProvideCredentials;
//!
//! // reads AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN and AWS_ROLE_SESSION_NAME
//! let provider = WebIdentityTokenProvider::from_env(&ProviderConfig::real()?);
//! let credentials = provider.provide_credentials().await?;
//! # let _ = credentials; Ok(()) }
//! ```

use std::path::PathBuf;

use async_trait::async_trait;
use cloudkit_aws_sts::AssumeRoleWithWebIdentityRequest;
use cloudkit_core::SecretString;
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials};

use super::ProviderConfig;
use super::sts::{client, sts_region, unix_millis};

const PROVIDER_NAME: &str = "WebIdentityToken";

/// Credentials from a web identity token file via STS `AssumeRoleWithWebIdentity` (unsigned), in
/// the provider config's region, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else `us-east-1`; the
/// endpoint as for every STS call of the providers (see [`sts`](super::sts)).
///
/// The token file is read on every load (through the [`Fs`](super::Fs) seam), because the
/// platform rotates it. Every load calls STS: wrap the provider in the chain's credentials cache.
#[derive(Clone)]
pub struct WebIdentityTokenProvider {
    source: Source,
    config: ProviderConfig,
}

impl std::fmt::Debug for WebIdentityTokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The configuration's environment is not shown (it may hold secrets).
        f.debug_struct("WebIdentityTokenProvider").field("source", &self.source).finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
enum Source {
    Env,
    Static { token_file: PathBuf, role_arn: String, session_name: Option<String> },
}

impl WebIdentityTokenProvider {
    /// Configured by `AWS_WEB_IDENTITY_TOKEN_FILE`, `AWS_ROLE_ARN` and optional
    /// `AWS_ROLE_SESSION_NAME` (read from `config.env` at each load). When either of the first
    /// two is unset, loading returns `NotLoaded`.
    pub fn from_env(config: &ProviderConfig) -> Self {
        Self { source: Source::Env, config: config.clone() }
    }

    /// Configured explicitly (profiles with `web_identity_token_file` + `role_arn`). Without a
    /// session name, `cloudkit-web-identity-<unix millis>` is used.
    pub fn new(
        token_file: PathBuf,
        role_arn: impl Into<String>,
        session_name: Option<String>,
        config: &ProviderConfig,
    ) -> Self {
        Self { source: Source::Static { token_file, role_arn: role_arn.into(), session_name }, config: config.clone() }
    }

    fn settings(&self) -> Result<(PathBuf, String, Option<String>), CredentialsError> {
        match &self.source {
            Source::Static { token_file, role_arn, session_name } => {
                Ok((token_file.clone(), role_arn.clone(), session_name.clone()))
            }
            Source::Env => {
                let env = &self.config.env;
                let file = env.get_non_empty("AWS_WEB_IDENTITY_TOKEN_FILE");
                let role = env.get_non_empty("AWS_ROLE_ARN");
                match (file, role) {
                    (Some(file), Some(role)) => {
                        Ok((PathBuf::from(file), role, env.get_non_empty("AWS_ROLE_SESSION_NAME")))
                    }
                    (None, _) => {
                        Err(CredentialsError::not_loaded(PROVIDER_NAME, "AWS_WEB_IDENTITY_TOKEN_FILE is not set"))
                    }
                    (Some(_), None) => Err(CredentialsError::not_loaded(
                        PROVIDER_NAME,
                        "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not",
                    )),
                }
            }
        }
    }
}

#[async_trait]
impl ProvideCredentials for WebIdentityTokenProvider {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        let (token_file, role_arn, session_name) = self.settings()?;
        let token = self.config.fs.read_to_string(&token_file).await.map_err(|e| {
            CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("could not read the web identity token file {}", token_file.display()),
                Some(Box::new(e)),
            )
        })?;
        let token = SecretString::new(token.trim());
        if token.is_empty() {
            return Err(CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("the web identity token file {} is empty", token_file.display()),
                None,
            ));
        }
        let session_name = session_name.unwrap_or_else(|| format!("cloudkit-web-identity-{}", unix_millis()));
        let sts = client(&self.config, &sts_region(&self.config, None), None, PROVIDER_NAME)?;
        let request = AssumeRoleWithWebIdentityRequest::new(role_arn.clone(), session_name, token);
        match sts.assume_role_with_web_identity(request).await {
            Ok(out) => Ok(out.credentials.with_source(format!("web identity (role {role_arn})"))),
            Err(e) => Err(CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("could not assume role {role_arn} with a web identity: {e}"),
                Some(Box::new(e)),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cloudkit_core::HttpSend;
    use cloudkit_core::testing::{Canned, ReplayHttp};

    use super::*;
    use crate::aws::{Env, Fs};

    const OK: &str = "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
        <AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>websecret</SecretAccessKey>\
        <SessionToken>webtoken</SessionToken><Expiration>2030-01-01T00:00:00Z</Expiration></Credentials>\
        </AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>";

    fn form_value(body: &[u8], key: &str) -> Option<String> {
        url::form_urlencoded::parse(body).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
    }

    #[tokio::test]
    async fn unset_env_is_not_loaded() {
        let http: Arc<dyn HttpSend> = Arc::new(ReplayHttp::new());
        let cfg = ProviderConfig::with_http(http.clone()).env(Env::from_pairs::<&str, &str>([]));
        let e = WebIdentityTokenProvider::from_env(&cfg).provide_credentials().await.unwrap_err();
        assert!(e.is_not_loaded(), "{e}");
        let cfg = ProviderConfig::with_http(http).env(Env::from_pairs([("AWS_WEB_IDENTITY_TOKEN_FILE", "/t")]));
        let e = WebIdentityTokenProvider::from_env(&cfg).provide_credentials().await.unwrap_err();
        assert!(e.is_not_loaded() && e.to_string().contains("AWS_ROLE_ARN"), "{e}");
    }

    #[tokio::test]
    async fn env_configured_provider_calls_sts_with_the_file_token() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, OK));
        let cfg = ProviderConfig::with_http(http.clone())
            .env(Env::from_pairs([
                ("AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/secrets/token"),
                ("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/irsa"),
                ("AWS_REGION", "eu-central-1"),
            ]))
            .fs(Fs::from_files([("/var/run/secrets/token", "jwt-one\n")]));
        let creds = WebIdentityTokenProvider::from_env(&cfg).provide_credentials().await.unwrap();
        assert_eq!(creds.access_key_id(), "ASIAWEB");
        let req = &http.requests()[0];
        assert_eq!(req.url.as_str(), "https://sts.eu-central-1.amazonaws.com/");
        assert!(!req.headers.contains_key("authorization"));
        assert_eq!(form_value(&req.body, "WebIdentityToken").as_deref(), Some("jwt-one"));
        assert_eq!(form_value(&req.body, "RoleArn").as_deref(), Some("arn:aws:iam::123456789012:role/irsa"));
        let session = form_value(&req.body, "RoleSessionName").unwrap();
        assert!(session.starts_with("cloudkit-web-identity-"), "{session}");
    }

    #[tokio::test]
    async fn token_file_is_read_on_every_load() {
        // A real temporary file, rewritten between loads, as the kubelet rotates it.
        let dir = std::env::temp_dir().join(format!("cloudkit-web-identity-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("token");
        std::fs::write(&file, "first-token").unwrap();
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, OK));
        http.push(Canned::status(200, OK));
        let cfg = ProviderConfig::with_http(http.clone()).env(Env::from_pairs::<&str, &str>([])).fs(Fs::real());
        let p = WebIdentityTokenProvider::new(
            file.clone(),
            "arn:aws:iam::123456789012:role/irsa",
            Some("my-session".into()),
            &cfg,
        );
        p.provide_credentials().await.unwrap();
        std::fs::write(&file, "second-token").unwrap();
        p.provide_credentials().await.unwrap();
        let reqs = http.requests();
        assert_eq!(form_value(&reqs[0].body, "WebIdentityToken").as_deref(), Some("first-token"));
        assert_eq!(form_value(&reqs[1].body, "WebIdentityToken").as_deref(), Some("second-token"));
        assert_eq!(form_value(&reqs[1].body, "RoleSessionName").as_deref(), Some("my-session"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn missing_or_empty_token_file_is_an_error_not_a_fall_through() {
        let http = Arc::new(ReplayHttp::new());
        let cfg = ProviderConfig::with_http(http.clone())
            .env(Env::from_pairs::<&str, &str>([]))
            .fs(Fs::from_files([("/empty", "  \n")]));
        let p = WebIdentityTokenProvider::new("/missing".into(), "arn:aws:iam::123456789012:role/x", None, &cfg);
        let e = p.provide_credentials().await.unwrap_err();
        assert!(!e.is_not_loaded() && e.to_string().contains("/missing"), "{e}");
        let p = WebIdentityTokenProvider::new("/empty".into(), "arn:aws:iam::123456789012:role/x", None, &cfg);
        let e = p.provide_credentials().await.unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        assert!(http.requests().is_empty());
    }

    #[tokio::test]
    async fn sts_rejection_is_a_provider_error_without_the_token() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(
            400,
            "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>\
             <Message>Couldn't retrieve verification key from your identity provider</Message></Error>\
             <RequestId>r1</RequestId></ErrorResponse>",
        ));
        let cfg = ProviderConfig::with_http(http.clone())
            .env(Env::from_pairs::<&str, &str>([]))
            .fs(Fs::from_files([("/tok", "SECRETJWTVALUE")]));
        let p = WebIdentityTokenProvider::new("/tok".into(), "arn:aws:iam::123456789012:role/x", None, &cfg);
        let e = p.provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::ProviderError { .. }));
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("InvalidIdentityToken"), "{shown}");
        assert!(!shown.contains("SECRETJWTVALUE"), "{shown}");
    }
}
