//! Credentials from the environment: `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and the
//! optional `AWS_SESSION_TOKEN` (or the legacy `AWS_SECURITY_TOKEN`).

use async_trait::async_trait;
use cloudkit_core::SecretString;
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials};

use super::os::Env;

const NAME: &str = "environment";

/// Reads static credentials from environment variables.
///
/// - none of the variables set → [`CredentialsError::NotLoaded`] (the chain moves on);
/// - a key id without a secret (or a secret without a key id) →
///   [`CredentialsError::InvalidConfiguration`].
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudkit_cred_chain::aws::Env;
/// use cloudkit_cred_chain::aws::environment::EnvironmentCredentialsProvider;
/// use cloudkit_signer::aws::ProvideCredentials;
/// let env = Env::from_pairs([("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_SECRET_ACCESS_KEY", "secret")]);
/// let creds = EnvironmentCredentialsProvider::new(env).provide_credentials().await.unwrap();
/// assert_eq!(creds.access_key_id(), "AKID");
/// # }
/// ```
#[derive(Clone)]
pub struct EnvironmentCredentialsProvider {
    env: Env,
}

impl std::fmt::Debug for EnvironmentCredentialsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // the (possibly fake) environment holds secrets: never show it
        f.write_str("EnvironmentCredentialsProvider")
    }
}

impl EnvironmentCredentialsProvider {
    /// A provider reading `env`.
    pub fn new(env: Env) -> Self {
        Self { env }
    }
}

#[async_trait]
impl ProvideCredentials for EnvironmentCredentialsProvider {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        let key_id = self.env.get_non_empty("AWS_ACCESS_KEY_ID");
        let secret = self.env.get_non_empty("AWS_SECRET_ACCESS_KEY");
        match (key_id, secret) {
            (None, None) => {
                Err(CredentialsError::not_loaded(NAME, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"))
            }
            (Some(_), None) => Err(CredentialsError::invalid_configuration(
                NAME,
                "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not",
            )),
            (None, Some(_)) => Err(CredentialsError::invalid_configuration(
                NAME,
                "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not",
            )),
            (Some(id), Some(secret)) => {
                let token = self
                    .env
                    .get_non_empty("AWS_SESSION_TOKEN")
                    .or_else(|| self.env.get_non_empty("AWS_SECURITY_TOKEN"))
                    .map(|t| SecretString::new(t.trim()));
                Ok(Credentials::new(id.trim(), SecretString::new(secret.trim()), token, None, NAME)
                    .with_source("the environment (AWS_ACCESS_KEY_ID)"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn provide(pairs: &[(&str, &str)]) -> Result<Credentials, CredentialsError> {
        EnvironmentCredentialsProvider::new(Env::from_pairs(pairs.iter().copied())).provide_credentials().await
    }

    #[tokio::test]
    async fn forms() {
        let c = provide(&[("AWS_ACCESS_KEY_ID", "AKID"), ("AWS_SECRET_ACCESS_KEY", "s"), ("AWS_SESSION_TOKEN", "t")])
            .await
            .unwrap();
        assert_eq!((c.access_key_id(), c.secret_access_key().expose()), ("AKID", "s"));
        assert_eq!(c.session_token().map(SecretString::expose), Some("t"));
        assert_eq!(c.provider_name(), "environment");
        let legacy =
            provide(&[("AWS_ACCESS_KEY_ID", "A"), ("AWS_SECRET_ACCESS_KEY", "s"), ("AWS_SECURITY_TOKEN", "old")])
                .await
                .unwrap();
        assert_eq!(legacy.session_token().map(SecretString::expose), Some("old"));
        assert!(provide(&[]).await.unwrap_err().is_not_loaded());
        assert!(
            provide(&[("AWS_ACCESS_KEY_ID", ""), ("AWS_SECRET_ACCESS_KEY", " ")]).await.unwrap_err().is_not_loaded()
        );
        let half = provide(&[("AWS_ACCESS_KEY_ID", "AKID")]).await.unwrap_err();
        assert!(matches!(half, CredentialsError::InvalidConfiguration { .. }), "{half}");
        let other_half = provide(&[("AWS_SECRET_ACCESS_KEY", "SECRETVALUE")]).await.unwrap_err();
        assert!(matches!(other_half, CredentialsError::InvalidConfiguration { .. }));
        assert!(!other_half.to_string().contains("SECRETVALUE"));
    }
}
