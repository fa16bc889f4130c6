//! The AWS session: `Session::aws().profile("staging").region("eu-west-1").load().await?`.

use cloudkit_cred_chain::aws::{AwsConfig, AwsConfigLoader, ConfigError};
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
    /// let s3 = session.s3()?;
    /// let cross_account = session.assume_role("arn:aws:iam::123456789012:role/reader", "nightly-report")?;
    /// let ec2 = cross_account.ec2()?;
    /// # let _ = (s3, ec2); Ok(()) }
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
    pub async fn load(self) -> Result<AwsSession, ConfigError> {
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
    ) -> Result<AwsSession, ConfigError> {
        Ok(Self { config: self.config.assume_role(role_arn, session_name)? })
    }

    /// An S3 client.
    #[cfg(feature = "aws-s3")]
    pub fn s3(&self) -> Result<cloudkit_aws_s3::Client, cloudkit_aws_s3::S3Error> {
        cloudkit_aws_s3::Client::new(&self.config)
    }

    /// The neutral object store on `bucket`.
    #[cfg(feature = "aws-s3")]
    pub fn object_store(&self, bucket: impl Into<String>) -> Result<crate::store::S3Store, cloudkit_aws_s3::S3Error> {
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
