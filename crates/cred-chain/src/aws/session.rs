//! Session-level assume-role: from one [`AwsConfig`], a new one whose credentials come from STS
//! `AssumeRole` (signed with the first config's credentials), cached and refreshed before they
//! expire — the boto3 cross-account pattern.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cloudkit_cred_chain::aws::config::AwsConfigError> {
//! use std::time::Duration;
//! use cloudkit_cred_chain::aws::AwsConfig;
//! let base = AwsConfig::loader().load().await?;
//! let prod = base.assume_role("arn:aws:iam::123456789012:role/deploy", "nightly-deploy")?;
//! let audited = base
//!     .assume_role_builder("arn:aws:iam::210987654321:role/audit")
//!     .session_name("audit")
//!     .external_id("partner-42")
//!     .duration(Duration::from_secs(3600))
//!     .build()?;
//! # let _ = (prod, audited); Ok(()) }
//! ```

use std::sync::Arc;
use std::time::Duration;

use super::config::{AwsConfig, AwsConfigError};
use super::sts::{AssumeRoleProvider, AssumeRoleProviderBuilder};

impl AwsConfig {
    /// A config for `role_arn` (session name `session_name`); everything but the credentials is
    /// shared with `self`.
    pub fn assume_role(
        &self,
        role_arn: impl Into<String>,
        session_name: impl Into<String>,
    ) -> Result<AwsConfig, AwsConfigError> {
        self.assume_role_builder(role_arn).session_name(session_name).build()
    }

    /// A builder for an assumed-role config with an external id, a duration or a policy.
    pub fn assume_role_builder(&self, role_arn: impl Into<String>) -> AssumeRoleConfigBuilder<'_> {
        AssumeRoleConfigBuilder {
            base: self,
            provider: AssumeRoleProvider::builder(role_arn).region(self.region().to_owned()),
        }
    }
}

/// Builds an assumed-role [`AwsConfig`] (see [`AwsConfig::assume_role_builder`]).
#[derive(Debug)]
pub struct AssumeRoleConfigBuilder<'a> {
    base: &'a AwsConfig,
    provider: AssumeRoleProviderBuilder,
}

impl AssumeRoleConfigBuilder<'_> {
    /// The role session name (default `cloudkit-session-<unix millis>`).
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.provider = self.provider.session_name(name);
        self
    }

    /// The external id the role's trust policy requires.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.provider = self.provider.external_id(external_id);
        self
    }

    /// The session duration (900 s – 43 200 s, within the role's maximum).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.provider = self.provider.duration(duration);
        self
    }

    /// An inline session policy (JSON).
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.provider = self.provider.policy(policy);
        self
    }

    /// Builds the new config. Invalid settings are an [`AwsConfigError::Credentials`]; STS is only
    /// called when credentials are first needed.
    pub fn build(self) -> Result<AwsConfig, AwsConfigError> {
        let provider = self.provider.build(self.base.credentials_provider(), self.base.provider_config())?;
        Ok(self.base.with_credentials_provider(Arc::new(provider)))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cloudkit_core::testing::ReplayHttp;

    use super::*;
    use crate::aws::profile_provider::test_util::*;

    #[tokio::test]
    async fn assumed_config_signs_assume_role_with_the_base_credentials() {
        let http = Arc::new(ReplayHttp::new());
        canned_assume_role(&http, "ASIASESSION");
        let pc = provider_config(
            http.clone(),
            &[("AWS_REGION", "eu-west-2"), ("AWS_ACCESS_KEY_ID", "AKIDBASE"), ("AWS_SECRET_ACCESS_KEY", "s")],
            "",
            "",
        );
        let base = AwsConfig::loader().provider_config(pc).endpoint_url("http://endpoint.test").load().await.unwrap();
        let assumed = base
            .assume_role_builder("arn:aws:iam::123456789012:role/cross")
            .session_name("nightly")
            .external_id("ext-42")
            .duration(Duration::from_secs(900))
            .build()
            .unwrap();
        assert_eq!(assumed.region(), "eu-west-2");
        assert_eq!(assumed.endpoint_url("S3"), base.endpoint_url("S3"));
        // twice: the second comes from the cache
        for _ in 0..2 {
            let c = assumed.credentials_provider().provide_credentials().await.unwrap();
            assert_eq!(c.access_key_id(), "ASIASESSION");
        }
        let reqs = http.requests();
        assert_eq!(reqs.len(), 1);
        assert_eq!(reqs[0].url.as_str(), "http://endpoint.test/");
        assert_eq!(signed_with(&reqs[0].headers), "AKIDBASE");
        assert_eq!(form_value(&reqs[0].body, "RoleSessionName").as_deref(), Some("nightly"));
        assert_eq!(form_value(&reqs[0].body, "ExternalId").as_deref(), Some("ext-42"));
        assert_eq!(form_value(&reqs[0].body, "DurationSeconds").as_deref(), Some("900"));
        // the base config is unchanged
        assert_eq!(base.credentials_provider().provide_credentials().await.unwrap().access_key_id(), "AKIDBASE");
        // invalid settings are reported at build time
        let e = base.assume_role("arn:aws:iam::1:role/r", "bad session name!").unwrap_err();
        assert!(matches!(e, AwsConfigError::Credentials(_)), "{e}");
    }
}
