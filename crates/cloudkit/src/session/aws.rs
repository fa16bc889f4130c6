//! The AWS session: `Session::aws().profile("staging").region("eu-west-1").load().await?`.

use cloudkit_aws_sts::{StsClient, StsError};
use cloudkit_cred_chain::aws::{AwsConfig, AwsConfigError, AwsConfigLoader};
use cloudkit_signer::aws::Credentials;

use super::Session;

impl Session {
    /// Starts building an AWS session (credentials, region and endpoints from the default chain
    /// unless set here).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudkit::session::Session;
    /// let session = Session::aws().profile("staging").region("eu-west-1").load().await?;
    /// let me = session.sts()?.get_caller_identity().await?;
    /// let cross_account = session.assume_role("arn:aws:iam::123456789012:role/reader", "nightly-report")?;
    /// # #[cfg(feature = "aws-s3")]
    /// let s3 = cross_account.s3()?;
    /// # #[cfg(feature = "aws-ec2")]
    /// let ec2 = cross_account.ec2()?;
    /// # let _ = me; Ok(()) }
    /// ```
    pub fn aws() -> AwsSessionBuilder {
        AwsSessionBuilder { loader: AwsConfig::loader() }
    }
}

/// Builds an [`AwsSession`].
#[derive(Debug)]
pub struct AwsSessionBuilder {
    loader: AwsConfigLoader,
}

impl AwsSessionBuilder {
    /// The profile of `~/.aws/config` / `~/.aws/credentials` to use (default: `AWS_PROFILE`, else `default`).
    pub fn profile(mut self, name: impl Into<String>) -> Self {
        self.loader = self.loader.profile(name);
        self
    }

    /// The region (default: `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile, instance metadata).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.loader = self.loader.region(region);
        self
    }

    /// Explicit credentials (the default chain is not consulted).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.loader = self.loader.credentials(credentials);
        self
    }

    /// An endpoint for every service (e.g. a local emulator).
    pub fn endpoint_url(mut self, url: impl Into<String>) -> Self {
        self.loader = self.loader.endpoint_url(url);
        self
    }

    /// Full control over the configuration loader.
    pub fn configure(mut self, f: impl FnOnce(AwsConfigLoader) -> AwsConfigLoader) -> Self {
        self.loader = f(self.loader);
        self
    }

    /// Resolves credentials, region and endpoints.
    pub async fn load(self) -> Result<AwsSession, AwsConfigError> {
        Ok(AwsSession { config: self.loader.load().await? })
    }
}

/// A resolved AWS configuration that hands out clients sharing one connection pool.
#[derive(Clone, Debug)]
pub struct AwsSession {
    config: AwsConfig,
}

impl AwsSession {
    /// A session over an already loaded configuration.
    pub fn from_config(config: AwsConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &AwsConfig {
        &self.config
    }

    /// The region.
    pub fn region(&self) -> &str {
        self.config.region()
    }

    /// A session for `role_arn` whose credentials come from STS AssumeRole (signed with this
    /// session's credentials) and refresh themselves before they expire.
    pub fn assume_role(
        &self,
        role_arn: impl Into<String>,
        session_name: impl Into<String>,
    ) -> Result<AwsSession, AwsConfigError> {
        Ok(Self { config: self.config.assume_role(role_arn, session_name)? })
    }

    /// An STS client with this session's credentials, region, STS endpoint (`AWS_ENDPOINT_URL_STS`,
    /// `AWS_ENDPOINT_URL`, the profile's, else `https://sts.{region}.amazonaws.com`), HTTP client,
    /// retry and timeout settings.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudkit::session::Session;
    /// let session = Session::aws().load().await?;
    /// let me = session.sts()?.get_caller_identity().await?;
    /// println!("account {}", me.account);
    /// # Ok(()) }
    /// ```
    pub fn sts(&self) -> Result<StsClient, StsError> {
        let config = &self.config;
        let mut builder = StsClient::builder()
            .region(config.region())
            .credentials(config.credentials_provider())
            .clock_skew(config.clock_skew().clone())
            .http(config.http())
            .retry(config.retry_config())
            .timeouts(config.timeout_config());
        if let Some(endpoint) = config.endpoint_url("STS") {
            builder = builder.endpoint(endpoint);
        }
        builder.build()
    }

    /// An S3 client.
    #[cfg(feature = "aws-s3")]
    pub fn s3(&self) -> Result<cloudkit_aws_s3::S3Client, cloudkit_aws_s3::S3Error> {
        cloudkit_aws_s3::S3Client::new(&self.config)
    }

    /// An [`ObjectStore`](crate::store::ObjectStore) on one bucket.
    #[cfg(feature = "aws-s3")]
    pub fn store(&self, bucket: impl Into<String>) -> Result<crate::store::S3Store, cloudkit_aws_s3::S3Error> {
        Ok(crate::store::S3Store::new(self.s3()?, bucket))
    }

    /// An EC2 client.
    #[cfg(feature = "aws-ec2")]
    pub fn ec2(&self) -> Result<cloudkit_aws_ec2::Ec2Client, cloudkit_aws_ec2::Ec2Error> {
        cloudkit_aws_ec2::Ec2Client::new(&self.config)
    }

    /// The neutral compute API on this session's region.
    #[cfg(feature = "aws-ec2")]
    pub fn compute(&self) -> Result<crate::compute::Ec2Compute, cloudkit_aws_ec2::Ec2Error> {
        Ok(crate::compute::Ec2Compute::new(self.ec2()?))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cloudkit_core::testing::{Canned, ReplayHttp};
    use cloudkit_cred_chain::aws::{Env, ProviderConfig};

    use super::*;

    async fn session(http: &Arc<ReplayHttp>, extra: &[(&str, &str)]) -> AwsSession {
        let mut pairs = vec![
            ("HOME", "/nonexistent-cloudkit-home"),
            ("AWS_REGION", "eu-west-2"),
            ("AWS_ACCESS_KEY_ID", "AKIDSESSION"),
            ("AWS_SECRET_ACCESS_KEY", "SESSIONSECRET"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        pairs.extend_from_slice(extra);
        let provider_config = ProviderConfig::with_http(http.clone()).env(Env::from_pairs(pairs));
        Session::aws().configure(|loader| loader.provider_config(provider_config)).load().await.unwrap()
    }

    #[tokio::test]
    async fn sts_client_from_the_session_config() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(
            200,
            "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/a</Arn>\
             <UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
        ));
        let sts = session(&http, &[("AWS_MAX_ATTEMPTS", "7")]).await.sts().unwrap();
        assert_eq!(sts.endpoint().as_str(), "https://sts.eu-west-2.amazonaws.com/");
        assert_eq!(sts.region(), "eu-west-2");
        assert_eq!(sts.pipeline().retry_config().max_attempts(), 7);
        assert_eq!(sts.get_caller_identity().await.unwrap().account, "123456789012");
        let sent = &http.requests()[0];
        let auth = sent.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        assert!(auth.contains("Credential=AKIDSESSION/") && auth.contains("/eu-west-2/sts/aws4_request"), "{auth}");
        assert!(!format!("{sts:?}").contains("SESSIONSECRET"));

        let sts = session(&http, &[("AWS_ENDPOINT_URL_STS", "http://sts.test:4566")]).await.sts().unwrap();
        assert_eq!(sts.endpoint().as_str(), "http://sts.test:4566/");
    }
}
