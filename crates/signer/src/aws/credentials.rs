//! AWS credential values and the trait every credential source implements.

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use async_trait::async_trait;
use cloudkit_core::{BoxError, SecretString};

/// AWS credentials: an access key id, a secret access key, an optional session token and an
/// optional expiry. `Debug` never shows the secret or the token.
///
/// ```
/// use cloudkit_signer::aws::Credentials;
/// let c = Credentials::new("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG", Some("SESSIONVALUE".into()), None, "example");
/// let shown = format!("{c:?}");
/// assert!(shown.contains("AKIDEXAMPLE") && !shown.contains("wJalr") && !shown.contains("SESSIONVALUE"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    access_key_id: String,
    secret_access_key: SecretString,
    session_token: Option<SecretString>,
    expiry: Option<SystemTime>,
    provider_name: &'static str,
    source: Option<Arc<str>>,
}

impl Credentials {
    /// Credentials from their parts. `provider_name` says where they came from (for logs).
    pub fn new(
        access_key_id: impl Into<String>,
        secret_access_key: impl Into<SecretString>,
        session_token: Option<SecretString>,
        expiry: Option<SystemTime>,
        provider_name: &'static str,
    ) -> Self {
        Self {
            access_key_id: access_key_id.into(),
            secret_access_key: secret_access_key.into(),
            session_token,
            expiry,
            provider_name,
            source: None,
        }
    }

    /// A copy that says where it came from in words, for errors and logs: `the environment
    /// (AWS_ACCESS_KEY_ID)`, ``profile `staging` (shared config/credentials files)``,
    /// `assume-role arn:aws:iam::123456789012:role/reader`, … (never a key or a token). A signed
    /// request the service refuses names it (see [`source`](Self::source)).
    ///
    /// ```
    /// use cloudkit_signer::aws::Credentials;
    /// let c = Credentials::from_keys("AKID", "secret").with_source("a vault lookup");
    /// assert_eq!(c.source(), "a vault lookup");
    /// assert_eq!(Credentials::from_keys("AKID", "secret").source(), "code (credentials given explicitly)");
    /// ```
    pub fn with_source(mut self, source: impl Into<Arc<str>>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// Where the credentials came from, in words (set with [`with_source`](Self::with_source);
    /// else the [`provider_name`](Self::provider_name)). Not secret: errors from a request these
    /// credentials signed and the service refused say `signed with credentials from {source}`.
    pub fn source(&self) -> &str {
        self.source.as_deref().unwrap_or(self.provider_name)
    }

    /// The [`source`](Self::source) as a cheap handle, for signers that remember it.
    pub(crate) fn source_handle(&self) -> CredentialsSource {
        CredentialsSource { provider_name: self.provider_name, description: self.source.clone() }
    }

    /// Long-lived credentials given in code.
    pub fn from_keys(access_key_id: impl Into<String>, secret_access_key: impl Into<SecretString>) -> Self {
        Self::new(access_key_id, secret_access_key, None, None, "static")
            .with_source("code (credentials given explicitly)")
    }

    /// The access key id (not secret).
    pub fn access_key_id(&self) -> &str {
        &self.access_key_id
    }

    /// The secret access key.
    pub fn secret_access_key(&self) -> &SecretString {
        &self.secret_access_key
    }

    /// The session token of temporary credentials.
    pub fn session_token(&self) -> Option<&SecretString> {
        self.session_token.as_ref()
    }

    /// When the credentials stop working (`None`: they do not expire).
    pub fn expiry(&self) -> Option<SystemTime> {
        self.expiry
    }

    /// Where the credentials came from (`environment`, `profile`, `imds`, …).
    pub fn provider_name(&self) -> &'static str {
        self.provider_name
    }

    /// A copy with another expiry (used by providers that extend stale IMDS credentials).
    pub fn with_expiry(mut self, expiry: Option<SystemTime>) -> Self {
        self.expiry = expiry;
        self
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field("session_token", &self.session_token.as_ref().map(|_| "** redacted **"))
            .field("expiry", &self.expiry)
            .field("provider_name", &self.provider_name)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AWS credentials {} from {}", self.access_key_id, self.source())
    }
}

/// Where a set of [`Credentials`] came from: cheap to clone, no secret inside. `Display` is
/// [`Credentials::source`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CredentialsSource {
    provider_name: &'static str,
    description: Option<Arc<str>>,
}

impl CredentialsSource {
    /// The description ([`Credentials::source`]).
    pub(crate) fn as_str(&self) -> &str {
        self.description.as_deref().unwrap_or(self.provider_name)
    }
}

impl fmt::Display for CredentialsSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why credentials could not be provided.
///
/// The default chain moves on to the next provider only on [`CredentialsError::NotLoaded`];
/// every other variant stops the chain (a broken profile is reported, not skipped).
///
/// `Display` is one line. A [`CredentialsError::ProviderError`] message often quotes its
/// underlying error (`could not assume role r: STS.AssumeRole failed: …`); `source()` then skips
/// what the message already shows ([`cloudkit_core::unshown_source`]), so an error-chain printer
/// never repeats it. The `source` field keeps the underlying error for downcasting.
#[derive(Debug)]
#[non_exhaustive]
pub enum CredentialsError {
    /// This source has no credentials to offer (e.g. the environment variables are not set).
    NotLoaded {
        /// The provider's name.
        provider: &'static str,
        /// Why nothing was found.
        reason: String,
    },
    /// The source is configured, but wrongly (bad profile, loop in role chain, bad URI …).
    InvalidConfiguration {
        /// The provider's name.
        provider: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The source failed to produce credentials (STS error, process exited non-zero, …).
    ProviderError {
        /// The provider's name.
        provider: &'static str,
        /// What failed.
        message: String,
        /// The underlying error.
        source: Option<BoxError>,
    },
    /// The source did not answer in time.
    TimedOut {
        /// The provider's name.
        provider: &'static str,
        /// How long it was given.
        after: std::time::Duration,
    },
}

impl fmt::Display for CredentialsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotLoaded { provider, reason } => write!(f, "{provider}: no credentials ({reason})"),
            Self::InvalidConfiguration { provider, message } => {
                write!(f, "{provider}: invalid configuration: {message}")
            }
            Self::ProviderError { provider, message, .. } => write!(f, "{provider}: {message}"),
            Self::TimedOut { provider, after } => write!(f, "{provider}: timed out after {after:?}"),
        }
    }
}

impl std::error::Error for CredentialsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::ProviderError { source: Some(source), .. } => {
                let cause: &(dyn std::error::Error + 'static) = source.as_ref();
                cloudkit_core::unshown_source(&self.to_string(), Some(cause))
            }
            _ => None,
        }
    }
}

impl CredentialsError {
    /// A "nothing here, try the next source" error.
    pub fn not_loaded(provider: &'static str, reason: impl Into<String>) -> Self {
        CredentialsError::NotLoaded { provider, reason: reason.into() }
    }

    /// A configuration error.
    pub fn invalid_configuration(provider: &'static str, message: impl Into<String>) -> Self {
        CredentialsError::InvalidConfiguration { provider, message: message.into() }
    }

    /// A provider failure with its cause.
    pub fn provider_error(provider: &'static str, message: impl Into<String>, source: Option<BoxError>) -> Self {
        CredentialsError::ProviderError { provider, message: message.into(), source }
    }

    /// Whether the chain should try the next provider.
    pub fn is_not_loaded(&self) -> bool {
        matches!(self, CredentialsError::NotLoaded { .. })
    }
}

/// A credentials cache reports a load that failed a moment ago instead of repeating it (see
/// `cloudkit_core::RefreshCache`).
impl From<cloudkit_core::RefreshFailed> for CredentialsError {
    fn from(failed: cloudkit_core::RefreshFailed) -> Self {
        CredentialsError::ProviderError { provider: "credentials cache", message: failed.to_string(), source: None }
    }
}

/// A source of AWS credentials (environment, profile, STS, IMDS, …).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProvideCredentials: Send + Sync + fmt::Debug {
    /// Loads (or returns cached) credentials.
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError>;
}

/// A shared credentials provider.
pub type SharedCredentialsProvider = Arc<dyn ProvideCredentials>;

/// Fixed credentials are their own provider.
#[async_trait]
impl ProvideCredentials for Credentials {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        Ok(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_show() {
        let c = Credentials::new("AKID", "supersecret", Some(SecretString::new("sessiontok")), None, "test");
        for shown in [format!("{c:?}"), format!("{c}"), format!("{c:#?}")] {
            assert!(!shown.contains("supersecret"), "{shown}");
            assert!(!shown.contains("sessiontok"), "{shown}");
            assert!(shown.contains("AKID"));
        }
    }

    #[tokio::test]
    async fn static_credentials_provide_themselves() {
        let c = Credentials::from_keys("AKID", "secret");
        assert_eq!(c.provide_credentials().await.unwrap(), c);
    }

    #[test]
    fn not_loaded_is_the_only_fall_through() {
        assert!(CredentialsError::not_loaded("env", "unset").is_not_loaded());
        assert!(!CredentialsError::invalid_configuration("profile", "loop").is_not_loaded());
    }
}
