//! Credentials from the shared config and credentials files.
//!
//! The profile is the one named in code, else `AWS_PROFILE`, else `default`. A missing `default`
//! profile (or a selected profile holding no credentials at all) is
//! [`NotLoaded`](CredentialsError::NotLoaded); a missing profile chosen by name is an error.
//!
//! Supported profile forms, resolved like the AWS SDKs:
//! - static keys: `aws_access_key_id`, `aws_secret_access_key`, optional `aws_session_token`;
//! - `role_arn` + `source_profile` (several hops; a repeated profile is a loop error; on every hop
//!   after the first, static keys win over `role_arn`; a `source_profile` naming the profile
//!   itself means its own static keys), or `role_arn` + `credential_source` (`Environment`,
//!   `Ec2InstanceMetadata`, `EcsContainer`; both sources set is an error), with
//!   `role_session_name`, `external_id` and `duration_seconds`;
//! - `web_identity_token_file` + `role_arn` (+ `role_session_name`);
//! - `sso_session` (with an `[sso-session]` section) or the legacy `sso_start_url` form, with
//!   `sso_account_id` and `sso_role_name` (a half-configured SSO profile is an error);
//! - `credential_process`.
//!
//! `mfa_serial` is not supported (it needs an interactive prompt). The AssumeRole hops call STS
//! in the provider config's region, else `AWS_REGION` / `AWS_DEFAULT_REGION`, else the selected
//! profile's `region`, else `us-east-1`; the endpoint is the provider config's `sts_endpoint`
//! (which [`AwsConfig`](super::AwsConfig) fills from its endpoint resolution).
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use cloudkit_cred_chain::aws::{Env, Fs, ProviderConfig};
//! use cloudkit_cred_chain::aws::profile_provider::ProfileCredentialsProvider;
//! use cloudkit_signer::aws::ProvideCredentials;
//! # let http = cloudkit_core::ReqwestSend::shared(&Default::default()).unwrap();
//! let config = ProviderConfig::with_http(http)
//!     .env(Env::from_pairs([("HOME", "/home/me"), ("AWS_PROFILE", "dev")]))
//!     .fs(Fs::from_files([("/home/me/.aws/credentials", "[dev]\naws_access_key_id = AKID\naws_secret_access_key = s\n")]));
//! let creds = ProfileCredentialsProvider::new(config).provide_credentials().await.unwrap();
//! assert_eq!(creds.access_key_id(), "AKID");
//! # }
//! ```

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cloudkit_core::SecretString;
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials, SharedCredentialsProvider};
use tokio::sync::OnceCell;

use super::container::ContainerCredentialsProvider;
use super::environment::EnvironmentCredentialsProvider;
use super::imds::ImdsCredentialsProvider;
use super::process::CredentialProcessProvider;
use super::profile::{Profile, ProfileSet, selected_profile_name};
use super::provider_config::ProviderConfig;
use super::sso::{SsoCredentialsProvider, SsoProfileConfig};
use super::sts::{AssumeRoleProvider, sts_region};
use super::web_identity::WebIdentityTokenProvider;

const NAME: &str = "profile";

/// A named base source of `credential_source`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialSource {
    /// `Environment`: the environment variables.
    Environment,
    /// `Ec2InstanceMetadata`: IMDS.
    Ec2InstanceMetadata,
    /// `EcsContainer`: the container credentials endpoint.
    EcsContainer,
}

/// Where a profile chain starts. `Debug` shows a `credential_process` command's program only
/// (its arguments may carry secrets), as [`CredentialProcessProvider`] does.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BaseSource {
    /// Static keys of profile `profile`.
    StaticKeys {
        /// The profile holding them.
        profile: String,
        /// The credentials (Debug redacts them).
        credentials: Credentials,
    },
    /// A `credential_source`.
    Named(CredentialSource),
    /// `web_identity_token_file` + `role_arn`.
    WebIdentity {
        /// The token file.
        token_file: PathBuf,
        /// The role to assume.
        role_arn: String,
        /// The session name.
        session_name: Option<String>,
    },
    /// An SSO profile.
    Sso(SsoSettings),
    /// `credential_process`.
    Process {
        /// The profile.
        profile: String,
        /// The command line.
        command: String,
    },
}

impl std::fmt::Debug for BaseSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BaseSource::StaticKeys { profile, credentials } => {
                f.debug_struct("StaticKeys").field("profile", profile).field("credentials", credentials).finish()
            }
            BaseSource::Named(source) => f.debug_tuple("Named").field(source).finish(),
            BaseSource::WebIdentity { token_file, role_arn, session_name } => f
                .debug_struct("WebIdentity")
                .field("token_file", token_file)
                .field("role_arn", role_arn)
                .field("session_name", session_name)
                .finish(),
            BaseSource::Sso(sso) => f.debug_tuple("Sso").field(sso).finish(),
            BaseSource::Process { profile, command } => f
                .debug_struct("Process")
                .field("profile", profile)
                .field("program", &command.split_whitespace().next().unwrap_or(""))
                .finish_non_exhaustive(),
        }
    }
}

/// The SSO settings of a profile (mirrors [`SsoProfileConfig`], which is handed to the SSO provider).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SsoSettings {
    /// The `sso_session` name (`None` for the legacy form).
    pub session_name: Option<String>,
    /// `sso_start_url`.
    pub start_url: String,
    /// `sso_region`.
    pub sso_region: String,
    /// `sso_account_id`.
    pub account_id: String,
    /// `sso_role_name`.
    pub role_name: String,
}

/// One AssumeRole hop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleStep {
    /// The profile defining the hop.
    pub profile: String,
    /// `role_arn`.
    pub role_arn: String,
    /// `role_session_name`.
    pub session_name: Option<String>,
    /// `external_id`.
    pub external_id: Option<String>,
    /// `duration_seconds`.
    pub duration: Option<Duration>,
}

/// A resolved profile chain: a base source, then AssumeRole hops in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileChain {
    /// Where credentials start.
    pub base: BaseSource,
    /// The roles assumed one after the other (each signed with the previous credentials).
    pub roles: Vec<RoleStep>,
}

fn invalid(message: impl Into<String>) -> CredentialsError {
    CredentialsError::invalid_configuration(NAME, message)
}

/// Resolves the chain starting at profile `start` (pure: nothing is called).
pub fn resolve_chain(profiles: &ProfileSet, start: &str) -> Result<ProfileChain, CredentialsError> {
    let mut visited: Vec<String> = Vec::new();
    let mut roles = Vec::new();
    let mut name = start.to_owned();
    let base = loop {
        let Some(profile) = profiles.profile(&name) else {
            if visited.is_empty() {
                if name == "default" {
                    return Err(CredentialsError::not_loaded(
                        NAME,
                        format!("no `default` profile in {}", profiles.describe_files()),
                    ));
                }
                return Err(invalid(format!("profile `{name}` not found in {}", profiles.describe_files())));
            }
            return Err(invalid(format!(
                "profile `{name}` (source_profile of `{}`) not found in {}",
                visited.last().map_or("", String::as_str),
                profiles.describe_files()
            )));
        };
        if visited.contains(&name) {
            visited.push(name);
            return Err(invalid(format!("source_profile loop: {}", visited.join(" -> "))));
        }
        visited.push(name.clone());
        if visited.len() > 1
            && let Some(credentials) = static_keys(profile)?
        {
            break BaseSource::StaticKeys { profile: name, credentials };
        }
        let Some(role) = role_step(profile)? else {
            match base_source(profiles, profile)? {
                Some(base) => break base,
                None if visited.len() == 1 => {
                    return Err(CredentialsError::not_loaded(NAME, format!("profile `{name}` has no credentials")));
                }
                None => {
                    return Err(invalid(format!(
                        "profile `{name}` (source_profile of `{}`) has no credentials",
                        visited.get(visited.len() - 2).map_or("", String::as_str)
                    )));
                }
            }
        };
        roles.push(role);
        match (profile.get_non_empty("source_profile"), profile.get_non_empty("credential_source")) {
            (Some(_), Some(_)) => {
                return Err(invalid(format!(
                    "profile `{name}` sets both source_profile and credential_source for role_arn; set only one"
                )));
            }
            (None, None) => {
                return Err(invalid(format!(
                    "profile `{name}` has role_arn but neither source_profile nor credential_source"
                )));
            }
            (Some(source), None) if source == name => match static_keys(profile)? {
                Some(credentials) => break BaseSource::StaticKeys { profile: name, credentials },
                None => {
                    return Err(invalid(format!("profile `{name}` is its own source_profile but has no static keys")));
                }
            },
            (Some(source), None) => name = source.to_owned(),
            (None, Some(source)) => break BaseSource::Named(parse_credential_source(&name, source)?),
        }
    };
    roles.reverse();
    Ok(ProfileChain { base, roles })
}

fn parse_credential_source(profile: &str, value: &str) -> Result<CredentialSource, CredentialsError> {
    match value {
        "Environment" => Ok(CredentialSource::Environment),
        "Ec2InstanceMetadata" => Ok(CredentialSource::Ec2InstanceMetadata),
        "EcsContainer" => Ok(CredentialSource::EcsContainer),
        other => Err(invalid(format!(
            "profile `{profile}`: credential_source `{other}` is not one of Environment, Ec2InstanceMetadata, EcsContainer"
        ))),
    }
}

fn static_keys(profile: &Profile) -> Result<Option<Credentials>, CredentialsError> {
    let id = profile.get_non_empty("aws_access_key_id");
    let secret = profile.get_non_empty("aws_secret_access_key");
    match (id, secret) {
        (None, None) => Ok(None),
        (Some(id), Some(secret)) => Ok(Some(
            Credentials::new(
                id,
                SecretString::new(secret),
                profile.get_non_empty("aws_session_token").map(SecretString::new),
                None,
                NAME,
            )
            .with_source(format!("profile `{}` (shared config/credentials files)", profile.name())),
        )),
        (Some(_), None) => {
            Err(invalid(format!("profile `{}` has aws_access_key_id but no aws_secret_access_key", profile.name())))
        }
        (None, Some(_)) => {
            Err(invalid(format!("profile `{}` has aws_secret_access_key but no aws_access_key_id", profile.name())))
        }
    }
}

/// The AssumeRole hop of a profile (`None` when it has no `role_arn`, or when the `role_arn`
/// belongs to `web_identity_token_file`).
fn role_step(profile: &Profile) -> Result<Option<RoleStep>, CredentialsError> {
    if profile.get_non_empty("web_identity_token_file").is_some() {
        return Ok(None);
    }
    let Some(role_arn) = profile.get_non_empty("role_arn") else { return Ok(None) };
    let duration = match profile.get_non_empty("duration_seconds") {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(secs) if secs > 0 => Some(Duration::from_secs(secs)),
            _ => {
                return Err(invalid(format!(
                    "profile `{}`: duration_seconds `{v}` is not a positive number of seconds",
                    profile.name()
                )));
            }
        },
    };
    Ok(Some(RoleStep {
        profile: profile.name().to_owned(),
        role_arn: role_arn.to_owned(),
        session_name: profile.get_non_empty("role_session_name").map(str::to_owned),
        external_id: profile.get_non_empty("external_id").map(str::to_owned),
        duration,
    }))
}

/// The base source of a profile without an AssumeRole hop, in the SDKs' order:
/// web identity → SSO → credential_process → static keys.
fn base_source(profiles: &ProfileSet, profile: &Profile) -> Result<Option<BaseSource>, CredentialsError> {
    let name = profile.name();
    if let Some(token_file) = profile.get_non_empty("web_identity_token_file") {
        let Some(role_arn) = profile.get_non_empty("role_arn") else {
            return Err(invalid(format!("profile `{name}` has web_identity_token_file but no role_arn")));
        };
        return Ok(Some(BaseSource::WebIdentity {
            token_file: PathBuf::from(token_file),
            role_arn: role_arn.to_owned(),
            session_name: profile.get_non_empty("role_session_name").map(str::to_owned),
        }));
    }
    if let Some(sso) = sso_settings(profiles, profile)? {
        return Ok(Some(BaseSource::Sso(sso)));
    }
    if let Some(command) = profile.get_non_empty("credential_process") {
        return Ok(Some(BaseSource::Process { profile: name.to_owned(), command: command.to_owned() }));
    }
    Ok(static_keys(profile)?.map(|credentials| BaseSource::StaticKeys { profile: name.to_owned(), credentials }))
}

const SSO_KEYS: [&str; 5] = ["sso_session", "sso_start_url", "sso_region", "sso_account_id", "sso_role_name"];

fn sso_settings(profiles: &ProfileSet, profile: &Profile) -> Result<Option<SsoSettings>, CredentialsError> {
    let name = profile.name();
    if SSO_KEYS.iter().all(|k| profile.get_non_empty(k).is_none()) {
        return Ok(None);
    }
    let mut missing = Vec::new();
    let (session_name, start_url, sso_region) = match profile.get_non_empty("sso_session") {
        Some(session) => {
            let Some(section) = profiles.sso_session(session) else {
                return Err(invalid(format!(
                    "profile `{name}`: sso_session `{session}` has no [sso-session {session}] section"
                )));
            };
            let mut pick = |key: &'static str| -> Result<String, CredentialsError> {
                let from_session = section.get_non_empty(key);
                if let (Some(s), Some(p)) = (from_session, profile.get_non_empty(key))
                    && s != p
                {
                    return Err(invalid(format!(
                        "profile `{name}`: {key} differs from the one in [sso-session {session}]"
                    )));
                }
                Ok(match from_session {
                    Some(v) => v.to_owned(),
                    None => {
                        missing.push(format!("{key} (in [sso-session {session}])"));
                        String::new()
                    }
                })
            };
            let start_url = pick("sso_start_url")?;
            let region = pick("sso_region")?;
            (Some(session.to_owned()), start_url, region)
        }
        None => {
            let mut pick = |key: &'static str| match profile.get_non_empty(key) {
                Some(v) => v.to_owned(),
                None => {
                    missing.push(key.to_owned());
                    String::new()
                }
            };
            let start_url = pick("sso_start_url");
            let region = pick("sso_region");
            (None, start_url, region)
        }
    };
    let mut pick = |key: &'static str| match profile.get_non_empty(key) {
        Some(v) => v.to_owned(),
        None => {
            missing.push(key.to_owned());
            String::new()
        }
    };
    let account_id = pick("sso_account_id");
    let role_name = pick("sso_role_name");
    if !missing.is_empty() {
        return Err(invalid(format!("profile `{name}` is an incomplete SSO profile: missing {}", missing.join(", "))));
    }
    Ok(Some(SsoSettings { session_name, start_url, sso_region, account_id, role_name }))
}

/// Credentials from the shared files (see the [module docs](self)).
pub struct ProfileCredentialsProvider {
    config: ProviderConfig,
    profile_name: Option<String>,
    profiles: OnceCell<Arc<ProfileSet>>,
    resolved: OnceCell<SharedCredentialsProvider>,
}

impl fmt::Debug for ProfileCredentialsProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProfileCredentialsProvider")
            .field("profile_name", &self.profile_name)
            .field("resolved", &self.resolved.get())
            .finish_non_exhaustive()
    }
}

impl ProfileCredentialsProvider {
    /// A provider reading the files through `config` (its env, fs and HTTP client).
    pub fn new(config: ProviderConfig) -> Self {
        Self { config, profile_name: None, profiles: OnceCell::new(), resolved: OnceCell::new() }
    }

    /// Uses profile `name` instead of `AWS_PROFILE` / `default`.
    pub fn profile_name(mut self, name: impl Into<String>) -> Self {
        self.profile_name = Some(name.into());
        self
    }

    /// Uses files already parsed (the config loader shares one parse).
    pub fn profile_set(self, profiles: Arc<ProfileSet>) -> Self {
        let _ = self.profiles.set(profiles);
        self
    }

    async fn profiles(&self) -> Result<&Arc<ProfileSet>, CredentialsError> {
        self.profiles
            .get_or_try_init(|| async {
                ProfileSet::load(&self.config.env, &self.config.fs)
                    .await
                    .map(Arc::new)
                    .map_err(|e| invalid(e.to_string()))
            })
            .await
    }

    async fn build(&self) -> Result<SharedCredentialsProvider, CredentialsError> {
        let profiles = self.profiles().await?;
        let (name, _) = selected_profile_name(self.profile_name.as_deref(), &self.config.env);
        let chain = resolve_chain(profiles, &name)?;
        let region = sts_region(&self.config, profiles.profile(&name).and_then(|p| p.get_non_empty("region")));
        tracing::debug!(profile = %name, base = base_kind(&chain.base), hops = chain.roles.len(), "resolved profile chain");
        build_chain(&chain, &self.config, &region)
    }
}

fn base_kind(base: &BaseSource) -> &'static str {
    match base {
        BaseSource::StaticKeys { .. } => "static keys",
        BaseSource::Named(CredentialSource::Environment) => "credential_source Environment",
        BaseSource::Named(CredentialSource::Ec2InstanceMetadata) => "credential_source Ec2InstanceMetadata",
        BaseSource::Named(CredentialSource::EcsContainer) => "credential_source EcsContainer",
        BaseSource::WebIdentity { .. } => "web identity",
        BaseSource::Sso(_) => "sso",
        BaseSource::Process { .. } => "credential_process",
    }
}

/// Builds the providers of a resolved chain: the base, then one AssumeRole provider per hop,
/// each using the previous provider as its source.
pub fn build_chain(
    chain: &ProfileChain,
    config: &ProviderConfig,
    sts_region: &str,
) -> Result<SharedCredentialsProvider, CredentialsError> {
    let mut provider: SharedCredentialsProvider = match &chain.base {
        BaseSource::StaticKeys { credentials, .. } => Arc::new(credentials.clone()),
        BaseSource::Named(CredentialSource::Environment) => {
            Arc::new(EnvironmentCredentialsProvider::new(config.env.clone()))
        }
        BaseSource::Named(CredentialSource::Ec2InstanceMetadata) => Arc::new(ImdsCredentialsProvider::new(config)),
        BaseSource::Named(CredentialSource::EcsContainer) => Arc::new(ContainerCredentialsProvider::new(config)),
        BaseSource::WebIdentity { token_file, role_arn, session_name } => {
            Arc::new(WebIdentityTokenProvider::new(token_file.clone(), role_arn.clone(), session_name.clone(), config))
        }
        BaseSource::Sso(s) => Arc::new(SsoCredentialsProvider::new(
            SsoProfileConfig {
                session_name: s.session_name.clone(),
                start_url: s.start_url.clone(),
                sso_region: s.sso_region.clone(),
                account_id: s.account_id.clone(),
                role_name: s.role_name.clone(),
            },
            config,
        )),
        BaseSource::Process { profile, command } => Arc::new(CredentialProcessProvider::new(profile, command)),
    };
    for step in &chain.roles {
        let mut builder = AssumeRoleProvider::builder(step.role_arn.clone()).region(sts_region.to_owned());
        if let Some(name) = &step.session_name {
            builder = builder.session_name(name.clone());
        }
        if let Some(id) = &step.external_id {
            builder = builder.external_id(id.clone());
        }
        if let Some(duration) = step.duration {
            builder = builder.duration(duration);
        }
        provider = Arc::new(builder.build(provider, config)?);
    }
    Ok(provider)
}

#[async_trait]
impl ProvideCredentials for ProfileCredentialsProvider {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        let provider = self.resolved.get_or_try_init(|| self.build()).await?;
        provider.provide_credentials().await
    }
}

#[cfg(test)]
pub(crate) mod test_util {
    use std::sync::Arc;

    use cloudkit_core::testing::{Canned, ReplayHttp};

    use crate::aws::{Env, Fs, ProviderConfig};

    pub(crate) const HOME: &str = "/home/tester";

    /// A minimal STS AssumeRole response for `key_id` (the full API reference sample is tested in
    /// `cloudkit-aws-sts`): the secret is `secret-of-{key_id}`, the token `token-of-{key_id}`.
    fn assume_role_xml(key_id: &str) -> String {
        format!(
            "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult><Credentials>\
             <AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>secret-of-{key_id}</SecretAccessKey>\
             <SessionToken>token-of-{key_id}</SessionToken><Expiration>2099-11-09T13:34:41Z</Expiration>\
             </Credentials></AssumeRoleResult></AssumeRoleResponse>"
        )
    }

    pub(crate) fn canned_assume_role(http: &ReplayHttp, key_id: &str) {
        http.push(Canned::status(200, assume_role_xml(key_id)).with_header("content-type", "text/xml"));
    }

    /// A provider config with a fake HOME holding `config` and `credentials`, extra env pairs,
    /// IMDS disabled, and the replay HTTP client.
    pub(crate) fn provider_config(
        http: Arc<ReplayHttp>,
        env: &[(&str, &str)],
        config: &str,
        credentials: &str,
    ) -> ProviderConfig {
        let mut pairs = vec![("HOME", HOME), ("AWS_EC2_METADATA_DISABLED", "true")];
        pairs.extend_from_slice(env);
        ProviderConfig::with_http(http).env(Env::from_pairs(pairs)).fs(Fs::from_files([
            (format!("{HOME}/.aws/config"), config.to_owned()),
            (format!("{HOME}/.aws/credentials"), credentials.to_owned()),
            ("/tokens/web".to_owned(), "header.payload.sig".to_owned()),
        ]))
    }

    pub(crate) fn form_value(body: &[u8], key: &str) -> Option<String> {
        url::form_urlencoded::parse(body).find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
    }

    pub(crate) fn signed_with(headers: &cloudkit_core::HeaderMap) -> String {
        let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        auth.split("Credential=").nth(1).and_then(|r| r.split('/').next()).unwrap_or("").to_owned()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cloudkit_core::testing::ReplayHttp;

    use super::test_util::*;
    use super::*;
    use crate::aws::profile::FileKind;

    fn set(config: &str, credentials: &str) -> ProfileSet {
        let mut s = ProfileSet::default();
        s.parse_into(config, FileKind::Config, "config").unwrap();
        s.parse_into(credentials, FileKind::Credentials, "credentials").unwrap();
        s
    }

    async fn provide(
        env: &[(&str, &str)],
        config: &str,
        credentials: &str,
        profile: Option<&str>,
    ) -> (Result<Credentials, CredentialsError>, Arc<ReplayHttp>) {
        let http = Arc::new(ReplayHttp::new());
        provide_with(http, env, config, credentials, profile).await
    }

    async fn provide_with(
        http: Arc<ReplayHttp>,
        env: &[(&str, &str)],
        config: &str,
        credentials: &str,
        profile: Option<&str>,
    ) -> (Result<Credentials, CredentialsError>, Arc<ReplayHttp>) {
        let pc =
            provider_config(http.clone(), env, config, credentials).sts_endpoint("http://sts.test/".parse().unwrap());
        let mut p = ProfileCredentialsProvider::new(pc);
        if let Some(name) = profile {
            p = p.profile_name(name);
        }
        (p.provide_credentials().await, http)
    }

    const KEYS: &str = "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = sdefault\n\
                        [dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = sdev\naws_session_token = tdev\n";

    #[tokio::test]
    async fn static_keys_and_profile_selection() {
        let (c, _) = provide(&[], "", KEYS, None).await;
        assert_eq!(c.unwrap().access_key_id(), "AKIDDEFAULT");
        let (c, _) = provide(&[("AWS_PROFILE", "dev")], "", KEYS, None).await;
        let c = c.unwrap();
        assert_eq!(c.access_key_id(), "AKIDDEV");
        assert_eq!(c.session_token().map(SecretString::expose), Some("tdev"));
        // code beats AWS_PROFILE
        let (c, _) = provide(&[("AWS_PROFILE", "dev")], "", KEYS, Some("default")).await;
        assert_eq!(c.unwrap().access_key_id(), "AKIDDEFAULT");
        // keys in the config file work too
        let (c, _) =
            provide(&[], "[profile cfg]\naws_access_key_id = AKIDCFG\naws_secret_access_key = s\n", "", Some("cfg"))
                .await;
        assert_eq!(c.unwrap().access_key_id(), "AKIDCFG");
    }

    #[tokio::test]
    async fn missing_profiles() {
        let (e, _) = provide(&[], "", "", None).await;
        assert!(e.unwrap_err().is_not_loaded());
        let (e, _) = provide(&[], "[default]\nregion = eu-west-1\n", "", None).await;
        assert!(e.unwrap_err().is_not_loaded(), "a default profile without credentials hands on");
        let (e, _) = provide(&[("AWS_PROFILE", "nope")], "", KEYS, None).await;
        let e = e.unwrap_err();
        assert!(matches!(e, CredentialsError::InvalidConfiguration { .. }), "{e}");
        assert!(
            e.to_string().contains("`nope` not found") && e.to_string().contains("/home/tester/.aws/config"),
            "{e}"
        );
        let (e, _) = provide(&[], "", "[default]\naws_access_key_id = AKID\n", None).await;
        assert!(e.unwrap_err().to_string().contains("no aws_secret_access_key"));
        let (e, _) = provide(&[], "[default\n", "", None).await;
        assert!(e.unwrap_err().to_string().contains("/home/tester/.aws/config:1"));
    }

    const CHAIN_CONFIG: &str = "[profile a]\nrole_arn = arn:aws:iam::123456789012:role/A\nsource_profile = b\n\
        role_session_name = sess-a\nexternal_id = ext-a\nduration_seconds = 1800\n\
        [profile b]\nrole_arn = arn:aws:iam::123456789012:role/B\nsource_profile = base\n";
    const CHAIN_CREDS: &str = "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = sbase\n";

    #[tokio::test]
    async fn multi_hop_role_chain_signs_each_hop_with_the_previous_credentials() {
        let http = Arc::new(ReplayHttp::new());
        canned_assume_role(&http, "ASIAHOP1");
        canned_assume_role(&http, "ASIAHOP2");
        let (c, http) = provide_with(http, &[("AWS_REGION", "eu-west-1")], CHAIN_CONFIG, CHAIN_CREDS, Some("a")).await;
        let c = c.unwrap();
        assert_eq!(c.access_key_id(), "ASIAHOP2");
        assert_eq!(c.secret_access_key().expose(), "secret-of-ASIAHOP2");
        let reqs = http.requests();
        assert_eq!(reqs.len(), 2);
        // hop 1: role B, signed with the base profile's static keys
        assert_eq!(form_value(&reqs[0].body, "Action").as_deref(), Some("AssumeRole"));
        assert_eq!(form_value(&reqs[0].body, "RoleArn").as_deref(), Some("arn:aws:iam::123456789012:role/B"));
        assert!(form_value(&reqs[0].body, "ExternalId").is_none());
        assert!(form_value(&reqs[0].body, "DurationSeconds").is_none());
        assert_eq!(signed_with(&reqs[0].headers), "AKIDBASE");
        assert!(!reqs[0].headers.contains_key("x-amz-security-token"));
        // hop 2: role A, with its settings, signed with hop 1's credentials
        assert_eq!(form_value(&reqs[1].body, "RoleArn").as_deref(), Some("arn:aws:iam::123456789012:role/A"));
        assert_eq!(form_value(&reqs[1].body, "RoleSessionName").as_deref(), Some("sess-a"));
        assert_eq!(form_value(&reqs[1].body, "ExternalId").as_deref(), Some("ext-a"));
        assert_eq!(form_value(&reqs[1].body, "DurationSeconds").as_deref(), Some("1800"));
        assert_eq!(signed_with(&reqs[1].headers), "ASIAHOP1");
        assert_eq!(
            reqs[1].headers.get("x-amz-security-token").and_then(|v| v.to_str().ok()),
            Some("token-of-ASIAHOP1")
        );
        // the STS region is the known region
        let auth = reqs[1].headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(auth.contains("/eu-west-1/sts/aws4_request"), "{auth}");
    }

    #[test]
    fn chain_resolution_forms() {
        let s = set(CHAIN_CONFIG, CHAIN_CREDS);
        let chain = resolve_chain(&s, "a").unwrap();
        assert!(matches!(&chain.base, BaseSource::StaticKeys { profile, .. } if profile == "base"));
        let arns: Vec<&str> = chain.roles.iter().map(|r| r.role_arn.as_str()).collect();
        assert_eq!(arns, ["arn:aws:iam::123456789012:role/B", "arn:aws:iam::123456789012:role/A"]);
        assert_eq!(chain.roles[1].duration, Some(Duration::from_secs(1800)));

        // static keys win on a later hop, but not on the first
        let s = set(
            "[profile a]\nrole_arn = arn:A\nsource_profile = b\naws_access_key_id = IGNORED\naws_secret_access_key = x\n\
             [profile b]\nrole_arn = arn:B\nsource_profile = c\naws_access_key_id = AKIDB\naws_secret_access_key = sb\n",
            "",
        );
        let chain = resolve_chain(&s, "a").unwrap();
        assert_eq!(chain.roles.len(), 1);
        assert!(
            matches!(&chain.base, BaseSource::StaticKeys { credentials, .. } if credentials.access_key_id() == "AKIDB")
        );

        // source_profile naming itself = its own static keys
        let s = set(
            "[profile me]\nrole_arn = arn:ME\nsource_profile = me\naws_access_key_id = AKIDME\naws_secret_access_key = s\n",
            "",
        );
        let chain = resolve_chain(&s, "me").unwrap();
        assert_eq!(chain.roles.len(), 1);
        assert!(
            matches!(&chain.base, BaseSource::StaticKeys { credentials, .. } if credentials.access_key_id() == "AKIDME")
        );

        // credential_source
        for (value, expected) in [
            ("Environment", CredentialSource::Environment),
            ("Ec2InstanceMetadata", CredentialSource::Ec2InstanceMetadata),
            ("EcsContainer", CredentialSource::EcsContainer),
        ] {
            let s = set(&format!("[profile r]\nrole_arn = arn:R\ncredential_source = {value}\n"), "");
            let chain = resolve_chain(&s, "r").unwrap();
            assert_eq!(chain.base, BaseSource::Named(expected));
            assert_eq!(chain.roles.len(), 1);
        }
        let s = set("[profile r]\nrole_arn = arn:R\ncredential_source = Moon\n", "");
        assert!(resolve_chain(&s, "r").unwrap_err().to_string().contains("`Moon`"));
        let s = set("[profile r]\nrole_arn = arn:R\ncredential_source = Environment\nsource_profile = x\n", "");
        assert!(resolve_chain(&s, "r").unwrap_err().to_string().contains("both source_profile and credential_source"));
        let s = set("[profile r]\nrole_arn = arn:R\n", "");
        assert!(
            resolve_chain(&s, "r").unwrap_err().to_string().contains("neither source_profile nor credential_source")
        );
        let s = set("[profile r]\nrole_arn = arn:R\nsource_profile = r\n", "");
        assert!(resolve_chain(&s, "r").unwrap_err().to_string().contains("no static keys"));
        let s = set("[profile r]\nrole_arn = arn:R\nsource_profile = ghost\n", "");
        assert!(resolve_chain(&s, "r").unwrap_err().to_string().contains("`ghost` (source_profile of `r`) not found"));
        let s = set("[profile r]\nrole_arn = arn:R\nsource_profile = x\n[profile x]\nregion = r\n", "");
        assert!(
            resolve_chain(&s, "r").unwrap_err().to_string().contains("`x` (source_profile of `r`) has no credentials")
        );
        let s = set("[profile r]\nrole_arn = arn:R\nsource_profile = me\nduration_seconds = soon\n", "");
        assert!(resolve_chain(&s, "r").unwrap_err().to_string().contains("duration_seconds `soon`"));
    }

    #[test]
    fn loops_are_detected() {
        let s = set(
            "[profile a]\nrole_arn = arn:A\nsource_profile = b\n[profile b]\nrole_arn = arn:B\nsource_profile = c\n\
             [profile c]\nrole_arn = arn:C\nsource_profile = a\n",
            "",
        );
        let e = resolve_chain(&s, "a").unwrap_err();
        assert!(matches!(e, CredentialsError::InvalidConfiguration { .. }));
        assert!(e.to_string().contains("loop: a -> b -> c -> a"), "{e}");
    }

    #[tokio::test]
    async fn credential_source_environment_signs_with_env_keys() {
        let http = Arc::new(ReplayHttp::new());
        canned_assume_role(&http, "ASIAENVROLE");
        let env = [("AWS_ACCESS_KEY_ID", "AKIDENV"), ("AWS_SECRET_ACCESS_KEY", "senv")];
        let (c, http) = provide_with(
            http,
            &env,
            "[default]\nrole_arn = arn:aws:iam::1:role/R\ncredential_source = Environment\n",
            "",
            None,
        )
        .await;
        assert_eq!(c.unwrap().access_key_id(), "ASIAENVROLE");
        assert_eq!(signed_with(&http.requests()[0].headers), "AKIDENV");
    }

    #[tokio::test]
    async fn credential_process_profile() {
        let config = "[profile p]\ncredential_process = printf '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"s\"}'\n\
                      [profile bad]\ncredential_process = exit 7\n";
        let (c, _) = provide(&[], config, "", Some("p")).await;
        assert_eq!(c.unwrap().access_key_id(), "AKIDPROC");
        let (e, _) = provide(&[], config, "", Some("bad")).await;
        let e = e.unwrap_err();
        assert!(e.to_string().contains("profile `bad`") && e.to_string().contains("code 7"), "{e}");
    }

    #[tokio::test]
    async fn web_identity_profile() {
        let config = "[profile w]\nweb_identity_token_file = /tokens/web\nrole_arn = arn:aws:iam::1:role/W\nrole_session_name = ws\n";
        let s = set(config, "");
        assert_eq!(
            resolve_chain(&s, "w").unwrap(),
            ProfileChain {
                base: BaseSource::WebIdentity {
                    token_file: PathBuf::from("/tokens/web"),
                    role_arn: "arn:aws:iam::1:role/W".into(),
                    session_name: Some("ws".into()),
                },
                roles: vec![],
            }
        );
        let http = Arc::new(ReplayHttp::new());
        http.push(cloudkit_core::testing::Canned::status(
            200,
            "<AssumeRoleWithWebIdentityResponse><AssumeRoleWithWebIdentityResult><Credentials>\
             <AccessKeyId>ASIAWEB</AccessKeyId><SecretAccessKey>x</SecretAccessKey><SessionToken>t</SessionToken>\
             <Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult>\
             </AssumeRoleWithWebIdentityResponse>",
        ));
        let (c, http) = provide_with(http, &[], config, "", Some("w")).await;
        assert_eq!(c.unwrap().access_key_id(), "ASIAWEB");
        let req = &http.requests()[0];
        assert_eq!(form_value(&req.body, "WebIdentityToken").as_deref(), Some("header.payload.sig"));
        assert_eq!(form_value(&req.body, "RoleSessionName").as_deref(), Some("ws"));
        let s = set("[profile w]\nweb_identity_token_file = /t\n", "");
        assert!(resolve_chain(&s, "w").unwrap_err().to_string().contains("no role_arn"));
    }

    #[test]
    fn sso_profiles() {
        let s = set(
            "[profile new]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = Dev\n\
             [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = eu-west-1\n\
             [profile legacy]\nsso_start_url = https://old.awsapps.com/start\nsso_region = us-east-1\n\
             sso_account_id = 1\nsso_role_name = R\n\
             [profile half]\nsso_start_url = https://x/start\nsso_account_id = 1\n\
             [profile nosession]\nsso_session = ghost\nsso_account_id = 1\nsso_role_name = R\n\
             [profile mismatch]\nsso_session = corp\nsso_region = us-west-2\nsso_account_id = 1\nsso_role_name = R\n\
             [profile halfsession]\nsso_session = corp\nsso_account_id = 1\n",
            "",
        );
        assert_eq!(
            resolve_chain(&s, "new").unwrap().base,
            BaseSource::Sso(SsoSettings {
                session_name: Some("corp".into()),
                start_url: "https://corp.awsapps.com/start".into(),
                sso_region: "eu-west-1".into(),
                account_id: "111122223333".into(),
                role_name: "Dev".into(),
            })
        );
        assert!(matches!(
            resolve_chain(&s, "legacy").unwrap().base,
            BaseSource::Sso(SsoSettings { session_name: None, .. })
        ));
        let e = resolve_chain(&s, "half").unwrap_err().to_string();
        assert!(e.contains("incomplete SSO profile") && e.contains("sso_region") && e.contains("sso_role_name"), "{e}");
        assert!(resolve_chain(&s, "nosession").unwrap_err().to_string().contains("[sso-session ghost]"));
        assert!(resolve_chain(&s, "mismatch").unwrap_err().to_string().contains("sso_region differs"));
        let e = resolve_chain(&s, "halfsession").unwrap_err().to_string();
        assert!(e.contains("sso_role_name") && !e.contains("sso_start_url"), "{e}");
    }

    #[tokio::test]
    async fn debug_shows_no_secrets() {
        let http = Arc::new(ReplayHttp::new());
        let pc =
            provider_config(http, &[], "", "[default]\naws_access_key_id = AKID\naws_secret_access_key = TOPSECRET\n");
        let p = ProfileCredentialsProvider::new(pc);
        p.provide_credentials().await.unwrap();
        let shown = format!("{p:?}");
        assert!(shown.contains("AKID") && !shown.contains("TOPSECRET"), "{shown}");
    }

    /// Issue 15, defect 18: a resolved chain's `Debug` printed a `credential_process` command line
    /// whole (the provider itself shows the program only); arguments may carry secrets.
    #[test]
    fn debug_of_a_process_chain_shows_the_program_only() {
        let s = set("[profile p]\ncredential_process = /usr/bin/helper --token SECRETARG\n", "");
        let chain = resolve_chain(&s, "p").unwrap();
        let shown = format!("{chain:?} {chain:#?}");
        assert!(shown.contains("/usr/bin/helper") && !shown.contains("SECRETARG"), "{shown}");
    }
}
