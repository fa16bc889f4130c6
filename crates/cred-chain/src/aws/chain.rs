//! The default credential chain.
//!
//! Order: explicit credentials (if given) → environment → profile → web identity (env) →
//! container → EC2 instance metadata. A profile chosen in code
//! ([`profile_name`](DefaultCredentialsChainBuilder::profile_name)) takes the environment
//! providers out, as botocore does for `Session(profile_name=…)`: explicit → profile → container →
//! IMDS, so `AWS_ACCESS_KEY_ID` / `AWS_WEB_IDENTITY_TOKEN_FILE` cannot override the profile asked
//! for. A profile chosen only through `AWS_PROFILE` leaves them in (environment keys first, as in
//! botocore). A provider answering
//! [`NotLoaded`](CredentialsError::NotLoaded) hands on to the next; any other error stops the
//! chain (a broken profile is reported, not skipped) and says which providers were tried before.
//! When every provider says `NotLoaded`, the error lists each one with its reason.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use cloudkit_cred_chain::aws::{Env, Fs, ProviderConfig};
//! use cloudkit_cred_chain::aws::chain::DefaultCredentialsChain;
//! use cloudkit_signer::aws::ProvideCredentials;
//! # let http = cloudkit_core::ReqwestSend::shared(&Default::default()).unwrap();
//! let config = ProviderConfig::with_http(http)
//!     .env(Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_SECRET_ACCESS_KEY", "s")]))
//!     .fs(Fs::from_files::<&str, &str>([]));
//! let chain = DefaultCredentialsChain::builder().build(&config);
//! assert_eq!(chain.provide_credentials().await.unwrap().provider_name(), "environment");
//! # }
//! ```

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use cloudkit_core::summarize_list;
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials, SharedCredentialsProvider};

use super::container::ContainerCredentialsProvider;
use super::environment::EnvironmentCredentialsProvider;
use super::imds::ImdsCredentialsProvider;
use super::profile::ProfileSet;
use super::profile_provider::ProfileCredentialsProvider;
use super::provider_config::ProviderConfig;
use super::web_identity::WebIdentityTokenProvider;

const NAME: &str = "default chain";

/// Tries providers in order until one has credentials.
#[derive(Clone)]
pub struct CredentialsProviderChain {
    providers: Vec<(&'static str, SharedCredentialsProvider)>,
}

impl fmt::Debug for CredentialsProviderChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.providers.iter().map(|(n, _)| n)).finish()
    }
}

impl CredentialsProviderChain {
    /// A chain starting with `provider`, named `name` in logs and errors.
    pub fn first_try(name: &'static str, provider: SharedCredentialsProvider) -> Self {
        Self { providers: vec![(name, provider)] }
    }

    /// Adds `provider` after the others.
    pub fn or_else(mut self, name: &'static str, provider: SharedCredentialsProvider) -> Self {
        self.providers.push((name, provider));
        self
    }

    /// The provider names, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.providers.iter().map(|(n, _)| *n).collect()
    }
}

#[async_trait]
impl ProvideCredentials for CredentialsProviderChain {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        let mut tried: Vec<String> = Vec::new();
        for (name, provider) in &self.providers {
            match provider.provide_credentials().await {
                Ok(credentials) => {
                    tracing::info!(
                        provider = name,
                        source = credentials.source(),
                        access_key_id = credentials.access_key_id(),
                        "loaded AWS credentials"
                    );
                    return Ok(credentials);
                }
                Err(CredentialsError::NotLoaded { reason, .. }) => {
                    tracing::debug!(provider = name, %reason, "no credentials here, trying the next provider");
                    tried.push(format!("{name}: {reason}"));
                }
                Err(error) => {
                    tracing::warn!(provider = name, %error, "credential provider failed; stopping the chain");
                    return Err(with_tried(error, &tried));
                }
            }
        }
        Err(CredentialsError::not_loaded(
            NAME,
            format!("no provider in the chain found credentials — {}", summarize_list(&tried, TRIED_MAX_LEN)),
        ))
    }
}

/// How long the list of providers tried may get in an error message: whole entries are left out
/// beyond it, and the message says how many ("… and 2 more").
const TRIED_MAX_LEN: usize = 1000;

/// Adds "tried before: …" to a stopping error, keeping its variant.
fn with_tried(error: CredentialsError, tried: &[String]) -> CredentialsError {
    if tried.is_empty() {
        return error;
    }
    let note = format!(" (tried before: {})", summarize_list(tried, TRIED_MAX_LEN));
    match error {
        CredentialsError::InvalidConfiguration { provider, message } => {
            CredentialsError::InvalidConfiguration { provider, message: message + &note }
        }
        CredentialsError::ProviderError { provider, message, source } => {
            CredentialsError::ProviderError { provider, message: message + &note, source }
        }
        other => other,
    }
}

/// The standard chain (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct DefaultCredentialsChain {
    chain: CredentialsProviderChain,
}

/// Builds a [`DefaultCredentialsChain`].
#[derive(Default)]
pub struct DefaultCredentialsChainBuilder {
    explicit: Option<SharedCredentialsProvider>,
    profile_name: Option<String>,
    profiles: Option<Arc<ProfileSet>>,
}

impl fmt::Debug for DefaultCredentialsChainBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DefaultCredentialsChainBuilder")
            .field("explicit", &self.explicit)
            .field("profile_name", &self.profile_name)
            .finish_non_exhaustive()
    }
}

impl DefaultCredentialsChainBuilder {
    /// Credentials (or a provider) given in code, tried first.
    pub fn explicit(mut self, provider: SharedCredentialsProvider) -> Self {
        self.explicit = Some(provider);
        self
    }

    /// The profile to use instead of `AWS_PROFILE` / `default`: an explicit choice, so the
    /// environment providers (`AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`, and the
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` web identity) leave the chain and the profile's credentials
    /// are used even when the environment has keys (botocore's `create_credential_resolver`
    /// removes its `EnvProvider` for a profile given to the session). Without this call the
    /// profile comes from `AWS_PROFILE` (else `default`) and environment keys still win.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use cloudkit_cred_chain::aws::{Env, Fs, ProviderConfig};
    /// use cloudkit_cred_chain::aws::chain::DefaultCredentialsChain;
    /// use cloudkit_signer::aws::ProvideCredentials;
    /// # let http = cloudkit_core::ReqwestSend::shared(&Default::default()).unwrap();
    /// let config = ProviderConfig::with_http(http)
    ///     .env(Env::from_pairs([("HOME", "/home/me"), ("AWS_ACCESS_KEY_ID", "AKIDENV"), ("AWS_SECRET_ACCESS_KEY", "s")]))
    ///     .fs(Fs::from_files([("/home/me/.aws/credentials", "[staging]\naws_access_key_id = AKIDSTAGING\naws_secret_access_key = s\n")]));
    /// let chain = DefaultCredentialsChain::builder().profile_name("staging").build(&config);
    /// assert_eq!(chain.names(), ["profile", "container", "imds"]);
    /// assert_eq!(chain.provide_credentials().await.unwrap().access_key_id(), "AKIDSTAGING");
    /// # }
    /// ```
    pub fn profile_name(mut self, name: impl Into<String>) -> Self {
        self.profile_name = Some(name.into());
        self
    }

    /// Profile files already parsed (otherwise the profile provider reads them once).
    pub fn profile_set(mut self, profiles: Arc<ProfileSet>) -> Self {
        self.profiles = Some(profiles);
        self
    }

    /// Builds the chain over `config`'s env, files and HTTP client.
    pub fn build(self, config: &ProviderConfig) -> DefaultCredentialsChain {
        let mut profile = ProfileCredentialsProvider::new(config.clone());
        // botocore: "An explicitly provided profile will negate an EnvProvider."
        let explicit_profile = self.profile_name.is_some();
        if let Some(name) = self.profile_name {
            profile = profile.profile_name(name);
        }
        if let Some(profiles) = self.profiles {
            profile = profile.profile_set(profiles);
        }
        let mut providers: Vec<(&'static str, SharedCredentialsProvider)> = Vec::with_capacity(6);
        if let Some(explicit) = self.explicit {
            providers.push(("explicit", explicit));
        }
        if !explicit_profile {
            providers.push(("environment", Arc::new(EnvironmentCredentialsProvider::new(config.env.clone()))));
        }
        providers.push(("profile", Arc::new(profile)));
        if !explicit_profile {
            providers.push(("web identity", Arc::new(WebIdentityTokenProvider::from_env(config))));
        }
        providers.push(("container", Arc::new(ContainerCredentialsProvider::new(config))));
        providers.push(("imds", Arc::new(ImdsCredentialsProvider::new(config))));
        DefaultCredentialsChain { chain: CredentialsProviderChain { providers } }
    }
}

impl DefaultCredentialsChain {
    /// A builder.
    pub fn builder() -> DefaultCredentialsChainBuilder {
        DefaultCredentialsChainBuilder::default()
    }

    /// The provider names in the order they are tried.
    pub fn names(&self) -> Vec<&'static str> {
        self.chain.names()
    }
}

#[async_trait]
impl ProvideCredentials for DefaultCredentialsChain {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        self.chain.provide_credentials().await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cloudkit_core::testing::ReplayHttp;

    use super::*;
    use crate::aws::profile_provider::test_util::*;

    async fn run(env: &[(&str, &str)], config: &str, creds: &str) -> Result<Credentials, CredentialsError> {
        let pc = provider_config(Arc::new(ReplayHttp::new()), env, config, creds);
        DefaultCredentialsChain::builder().build(&pc).provide_credentials().await
    }

    const ENV_KEYS: [(&str, &str); 2] = [("AWS_ACCESS_KEY_ID", "AKIDENV"), ("AWS_SECRET_ACCESS_KEY", "senv")];
    const PROFILE_KEYS: &str = "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = sprofile\n";

    #[tokio::test]
    async fn order_explicit_env_profile() {
        let pc = provider_config(Arc::new(ReplayHttp::new()), &ENV_KEYS, "", PROFILE_KEYS);
        let explicit =
            DefaultCredentialsChain::builder().explicit(Arc::new(Credentials::from_keys("AKIDCODE", "s"))).build(&pc);
        assert_eq!(explicit.names(), ["explicit", "environment", "profile", "web identity", "container", "imds"]);
        assert_eq!(explicit.provide_credentials().await.unwrap().access_key_id(), "AKIDCODE");
        // environment wins over the profile, even with AWS_PROFILE set
        let mut env = ENV_KEYS.to_vec();
        env.push(("AWS_PROFILE", "default"));
        assert_eq!(run(&env, "", PROFILE_KEYS).await.unwrap().access_key_id(), "AKIDENV");
        assert_eq!(run(&[], "", PROFILE_KEYS).await.unwrap().access_key_id(), "AKIDPROFILE");
    }

    /// Issue 16, point 5: a profile chosen in code wins over environment keys (botocore removes
    /// its `EnvProvider` for `Session(profile_name=…)`); one chosen through `AWS_PROFILE` does not.
    #[tokio::test]
    async fn an_explicit_profile_takes_the_environment_out_of_the_chain() {
        let staging = "[staging]\naws_access_key_id = AKIDSTAGING\naws_secret_access_key = sstaging\n";
        let mut env = ENV_KEYS.to_vec();
        env.push(("AWS_WEB_IDENTITY_TOKEN_FILE", "/token"));
        env.push(("AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/web"));
        let pc = provider_config(Arc::new(ReplayHttp::new()), &env, "", staging);
        let chain = DefaultCredentialsChain::builder().profile_name("staging").build(&pc);
        assert_eq!(chain.names(), ["profile", "container", "imds"]);
        let c = chain.provide_credentials().await.unwrap();
        assert_eq!(c.access_key_id(), "AKIDSTAGING");
        assert_eq!(c.source(), "profile `staging` (shared config/credentials files)");
        // explicit credentials in code still come first
        let chain = DefaultCredentialsChain::builder()
            .explicit(Arc::new(Credentials::from_keys("AKIDCODE", "s")))
            .profile_name("staging")
            .build(&pc);
        assert_eq!(chain.names(), ["explicit", "profile", "container", "imds"]);
        assert_eq!(chain.provide_credentials().await.unwrap().access_key_id(), "AKIDCODE");
        // AWS_PROFILE alone: the environment keys sign, as in botocore
        let mut env = ENV_KEYS.to_vec();
        env.push(("AWS_PROFILE", "staging"));
        let c = run(&env, "", staging).await.unwrap();
        assert_eq!(c.access_key_id(), "AKIDENV");
        assert_eq!(c.source(), "the environment (AWS_ACCESS_KEY_ID)");
        // no env keys: AWS_PROFILE selects the profile
        assert_eq!(run(&[("AWS_PROFILE", "staging")], "", staging).await.unwrap().access_key_id(), "AKIDSTAGING");
    }

    #[tokio::test]
    async fn a_broken_provider_stops_the_chain() {
        // half-set env keys: an error, even though the profile has keys
        let e = run(&[("AWS_ACCESS_KEY_ID", "AKID")], "", PROFILE_KEYS).await.unwrap_err();
        assert!(matches!(e, CredentialsError::InvalidConfiguration { provider: "environment", .. }), "{e}");
        // a broken profile stops the chain, and the error says what was tried before
        let e = run(&[("AWS_PROFILE", "missing")], "", PROFILE_KEYS).await.unwrap_err();
        let shown = e.to_string();
        assert!(matches!(e, CredentialsError::InvalidConfiguration { provider: "profile", .. }), "{e}");
        assert!(shown.contains("`missing` not found") && shown.contains("tried before: environment"), "{shown}");
    }

    #[tokio::test]
    async fn all_not_loaded_lists_every_provider() {
        let e = run(&[], "", "").await.unwrap_err();
        assert!(e.is_not_loaded());
        let shown = e.to_string();
        for name in ["environment:", "profile:", "web identity:", "container:", "imds:"] {
            assert!(shown.contains(name), "missing {name} in {shown}");
        }
        assert!(shown.contains("AWS_ACCESS_KEY_ID"), "{shown}");
    }

    #[tokio::test]
    async fn debug_shows_no_secrets() {
        let pc = provider_config(Arc::new(ReplayHttp::new()), &ENV_KEYS, "", PROFILE_KEYS);
        let chain = DefaultCredentialsChain::builder()
            .explicit(Arc::new(Credentials::from_keys("AKIDCODE", "TOPSECRET")))
            .build(&pc);
        let shown = format!("{chain:?}");
        assert!(!shown.contains("TOPSECRET") && !shown.contains("senv") && !shown.contains("sprofile"), "{shown}");
    }

    /// A provider that never has credentials, with a long reason.
    #[derive(Debug)]
    struct Nothing(&'static str);

    #[async_trait]
    impl ProvideCredentials for Nothing {
        async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
            Err(CredentialsError::not_loaded(self.0, "nothing configured here ".repeat(12).trim_end().to_owned()))
        }
    }

    /// Issue 16, point 2: the list of what was tried is cut after whole entries, saying how many
    /// were left out, never in the middle of a word.
    #[tokio::test]
    async fn the_list_of_what_was_tried_is_cut_after_whole_entries() {
        let names = ["p1", "p2", "p3", "p4", "p5", "p6", "p7", "p8", "p9", "p10", "p11", "p12"];
        let mut chain = CredentialsProviderChain::first_try(names[0], Arc::new(Nothing(names[0])));
        for name in &names[1..] {
            chain = chain.or_else(name, Arc::new(Nothing(name)));
        }
        let shown = chain.provide_credentials().await.unwrap_err().to_string();
        assert!(shown.len() < 1200, "{}", shown.len());
        assert!(shown.contains("no provider in the chain found credentials — p1: nothing configured here"), "{shown}");
        let kept = names.iter().filter(|n| shown.contains(&format!("{n}: nothing"))).count();
        assert!(kept >= 2 && kept < names.len(), "{shown}");
        assert!(shown.ends_with(&format!("; … and {} more)", names.len() - kept)), "{shown}");
        assert!(shown.contains("nothing configured here; … and"), "entries are whole: {shown}");
    }
}
