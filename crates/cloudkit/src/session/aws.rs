//! The AWS session: `Session::aws().profile("staging").region("eu-west-1").load().await?`.

use cloudkit_aws_sts::{StsClient, StsError};
use cloudkit_core::RetryConfig;
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
    /// The profile of `~/.aws/config` / `~/.aws/credentials` to use (default: `AWS_PROFILE`, else
    /// `default`); it must exist.
    ///
    /// As in boto3 (`boto3.Session(profile_name="staging")`), a profile chosen here wins over
    /// environment keys: with `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` set, the session still
    /// signs with the profile's credentials (botocore takes its environment provider out of the
    /// chain for an explicit profile; cloudkit takes out the environment keys and the
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` web identity). A profile chosen only through `AWS_PROFILE`
    /// does not: environment keys sign first, as in botocore. Explicit
    /// [`credentials`](Self::credentials) win over both. See
    /// [`AwsConfigLoader::profile`](cloudkit_cred_chain::aws::AwsConfigLoader::profile).
    ///
    /// A request the service refuses (401/403, `InvalidAccessKeyId`, `ExpiredToken`, …) says
    /// which credentials signed it: `… (request id …; not retryable; signed with credentials from
    /// profile `staging` (shared config/credentials files))`.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudkit::session::Session;
    /// // signs with the `staging` profile's keys even if AWS_ACCESS_KEY_ID is set
    /// let session = Session::aws().profile("staging").load().await?;
    /// # let _ = session; Ok(()) }
    /// ```
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

    /// Retry settings for every client of the session (boto3:
    /// `Config(retries={"max_attempts": 5, "mode": "standard"})`); wins over `AWS_MAX_ATTEMPTS`,
    /// `AWS_RETRY_MODE` and the profile's `max_attempts` / `retry_mode`. Default: standard mode,
    /// 3 attempts, unless those say otherwise.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudkit::RetryConfig;
    /// use cloudkit::session::Session;
    /// let session = Session::aws().retry_config(RetryConfig::standard().with_max_attempts(5)).load().await?;
    /// let sts = session.sts()?; // 5 attempts, like every other client of the session
    /// # let _ = sts; Ok(()) }
    /// ```
    pub fn retry_config(mut self, retry: RetryConfig) -> Self {
        self.loader = self.loader.retry(retry);
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
///
/// boto3's first lines translate one to one:
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit::session::Session;
///
/// // session = boto3.Session(profile_name="dev", region_name="us-east-1")
/// let session = Session::aws().profile("dev").region("us-east-1").load().await?;
/// # #[cfg(feature = "aws-s3")]
/// let s3 = session.s3_resource()?; // s3 = session.resource("s3")
/// # #[cfg(feature = "aws-ec2")]
/// let ec2 = session.ec2_resource()?; // ec2 = session.resource("ec2")
/// let sts = session.sts()?; // sts = session.client("sts")
/// # Ok(()) }
/// ```
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
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-s3")))]
    pub fn s3(&self) -> Result<cloudkit_aws_s3::S3Client, cloudkit_aws_s3::S3Error> {
        cloudkit_aws_s3::S3Client::new(&self.config)
    }

    /// The S3 service resource, boto3's `session.resource("s3")`: [`Bucket`](crate::s3::Bucket)
    /// and [`Object`](crate::s3::resource::Object) handles over this session's S3 client.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use std::path::Path;
    /// use cloudkit::session::Session;
    ///
    /// let session = Session::aws().profile("dev").region("us-east-1").load().await?;
    /// let s3 = session.s3_resource()?; // s3 = session.resource("s3")
    /// let bucket = s3.bucket("my-bucket"); // s3.Bucket("my-bucket")
    /// // bucket.upload_file("hello.txt", "hello.txt"): the file first, then the key
    /// bucket.upload_file(Path::new("hello.txt"), "hello.txt").send().await?;
    /// let sts = session.sts()?; // sts = session.client("sts")
    /// println!("{}", sts.get_caller_identity().await?.account);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "aws-s3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-s3")))]
    pub fn s3_resource(&self) -> Result<cloudkit_aws_s3::S3Resource, cloudkit_aws_s3::S3Error> {
        Ok(cloudkit_aws_s3::S3Resource::new(self.s3()?))
    }

    /// An [`ObjectStore`](crate::store::ObjectStore) on one bucket.
    #[cfg(feature = "aws-s3")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-s3")))]
    pub fn store(&self, bucket: impl Into<String>) -> Result<crate::store::S3Store, cloudkit_aws_s3::S3Error> {
        Ok(crate::store::S3Store::new(self.s3()?, bucket))
    }

    /// A client for any AWS service in botocore's models, boto3's `session.client("dynamodb")`:
    /// `call("PutItem", json!({..}))`, `paginate(..)`, `waiter(..)` (see
    /// [`DynamicClient`](cloudkit_aws_dynamic::DynamicClient)).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudkit::session::Session;
    /// let session = Session::aws().region("us-east-1").load().await?;
    /// let ddb = session.client("dynamodb")?;
    /// let tables = ddb.call("ListTables", cloudkit::aws_dynamic::json!({})).await?;
    /// println!("{}", tables["TableNames"]);
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "aws-any")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-any")))]
    pub fn client(
        &self,
        service: &str,
    ) -> Result<cloudkit_aws_dynamic::DynamicClient, cloudkit_aws_dynamic::DynamicError> {
        cloudkit_aws_dynamic::DynamicClient::new(&self.config, service)
    }

    /// An EC2 client.
    #[cfg(feature = "aws-ec2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-ec2")))]
    pub fn ec2(&self) -> Result<cloudkit_aws_ec2::Ec2Client, cloudkit_aws_ec2::Ec2Error> {
        cloudkit_aws_ec2::Ec2Client::new(&self.config)
    }

    /// The EC2 service resource, boto3's `session.resource("ec2")`: `instances().all()`,
    /// `instances().filter(..)`, `create_instances(..)` and [`Instance`](cloudkit_aws_ec2::resource::Instance)
    /// handles over this session's EC2 client.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::TryStreamExt;
    /// use cloudkit::session::Session;
    ///
    /// let session = Session::aws().profile("dev").region("us-east-1").load().await?;
    /// let ec2 = session.ec2_resource()?; // ec2 = session.resource("ec2")
    /// let mut instances = ec2.instances().all(); // ec2.instances.all()
    /// while let Some(instance) = instances.try_next().await? {
    ///     println!("{} {:?}", instance.id(), instance.state());
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "aws-ec2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-ec2")))]
    pub fn ec2_resource(&self) -> Result<cloudkit_aws_ec2::resource::Ec2Resource, cloudkit_aws_ec2::Ec2Error> {
        Ok(cloudkit_aws_ec2::resource::Ec2Resource::new(self.ec2()?))
    }

    /// The neutral compute API on this session's region.
    #[cfg(feature = "aws-ec2")]
    #[cfg_attr(docsrs, doc(cfg(feature = "aws-ec2")))]
    pub fn compute(&self) -> Result<crate::compute::Ec2Compute, cloudkit_aws_ec2::Ec2Error> {
        Ok(crate::compute::Ec2Compute::new(self.ec2()?))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cloudkit_core::testing::{Canned, ReplayHttp};
    use cloudkit_cred_chain::aws::{Env, Fs, ProviderConfig};

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

    const STAGING: &str = "[staging]\naws_access_key_id = AKIDSTAGING\naws_secret_access_key = STAGINGSECRET\n";

    /// A builder over a fake environment (env keys AKIDSESSION, region eu-west-2, the `staging`
    /// profile in the credentials file, `extra` variables added) with `http`.
    fn builder(http: &Arc<ReplayHttp>, extra: &[(&str, &str)]) -> AwsSessionBuilder {
        let mut pairs = vec![
            ("HOME", "/home/tester"),
            ("AWS_REGION", "eu-west-2"),
            ("AWS_ACCESS_KEY_ID", "AKIDSESSION"),
            ("AWS_SECRET_ACCESS_KEY", "SESSIONSECRET"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        pairs.extend_from_slice(extra);
        let provider_config = ProviderConfig::with_http(http.clone())
            .env(Env::from_pairs(pairs))
            .fs(Fs::from_files([("/home/tester/.aws/credentials", STAGING)]));
        Session::aws().configure(|loader| loader.provider_config(provider_config))
    }

    fn credential_of(request: &cloudkit_core::testing::RecordedRequest) -> String {
        let auth = request.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
        auth.split("Credential=").nth(1).and_then(|c| c.split('/').next()).unwrap_or("").to_owned()
    }

    /// Issue 16, point 5: `Session::aws().profile("staging")` signs with the profile's keys even
    /// with `AWS_ACCESS_KEY_ID` set (botocore: an explicit profile takes the environment provider
    /// out of the chain); `AWS_PROFILE=staging` alone leaves the environment keys first.
    #[tokio::test]
    async fn an_explicit_profile_wins_over_environment_keys() {
        let http = Arc::new(ReplayHttp::new());
        for _ in 0..3 {
            http.push(Canned::status(
                200,
                "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>a</Arn><UserId>u</UserId>\
                 <Account>1</Account></GetCallerIdentityResult></GetCallerIdentityResponse>",
            ));
        }
        let explicit = builder(&http, &[]).profile("staging").load().await.unwrap();
        explicit.sts().unwrap().get_caller_identity().await.unwrap();
        let from_env = builder(&http, &[("AWS_PROFILE", "staging")]).load().await.unwrap();
        from_env.sts().unwrap().get_caller_identity().await.unwrap();
        let both = builder(&http, &[("AWS_PROFILE", "default")]).profile("staging").load().await.unwrap();
        both.sts().unwrap().get_caller_identity().await.unwrap();
        let keys: Vec<String> = http.requests().iter().map(credential_of).collect();
        assert_eq!(keys, ["AKIDSTAGING", "AKIDSESSION", "AKIDSTAGING"]);
    }

    /// Issue 16, point 5: a 403 from a signed call names the credential source, never the secret.
    #[tokio::test]
    async fn a_refused_call_names_the_credential_source() {
        let http = Arc::new(ReplayHttp::new());
        let denied = "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The \
                      security token included in the request is invalid.</Message></Error>\
                      <RequestId>r-1</RequestId></ErrorResponse>";
        http.push(Canned::status(403, denied));
        http.push(Canned::status(403, denied));
        let e = builder(&http, &[]).load().await.unwrap().sts().unwrap().get_caller_identity().await.unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("signed with credentials from the environment (AWS_ACCESS_KEY_ID)"), "{shown}");
        let e = builder(&http, &[]).profile("staging").load().await.unwrap().sts().unwrap();
        let e = e.get_caller_identity().await.unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(shown.contains("signed with credentials from profile `staging`"), "{shown}");
        for secret in ["SESSIONSECRET", "STAGINGSECRET"] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        // the same note from S3 and EC2: one place (the SigV4 signer) for every AWS client
        #[cfg(any(feature = "aws-s3", feature = "aws-ec2"))]
        let session = builder(&http, &[]).profile("staging").load().await.unwrap();
        #[cfg(any(feature = "aws-s3", feature = "aws-ec2"))]
        let note = "signed with credentials from profile `staging` (shared config/credentials files)";
        #[cfg(feature = "aws-s3")]
        {
            http.push(Canned::status(403, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"));
            let e = session.s3().unwrap().get_object("b", "k").send().await.unwrap_err();
            assert!(e.to_string().contains(note) && e.to_string().contains("AccessDenied"), "{e}");
        }
        #[cfg(feature = "aws-ec2")]
        {
            http.push(Canned::status(
                401,
                "<Response><Errors><Error><Code>AuthFailure</Code><Message>AWS was not able to validate the \
                 provided access credentials</Message></Error></Errors></Response>",
            ));
            let e = session.ec2().unwrap().describe_instances().send().await.unwrap_err();
            assert!(e.to_string().contains(note) && e.to_string().contains("AuthFailure"), "{e}");
        }
        let _ = session;
    }

    /// Issue 16, point 7: retry settings on the session builder reach every client, and win over
    /// `AWS_MAX_ATTEMPTS`.
    #[tokio::test]
    async fn retry_settings_on_the_session_builder() {
        let http = Arc::new(ReplayHttp::new());
        let session = builder(&http, &[("AWS_MAX_ATTEMPTS", "7")])
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .load()
            .await
            .unwrap();
        assert_eq!(session.config().retry_config().max_attempts(), 2);
        assert_eq!(session.sts().unwrap().pipeline().retry_config().max_attempts(), 2);
        #[cfg(feature = "aws-s3")]
        assert_eq!(session.s3().unwrap().pipeline().retry_config().max_attempts(), 2);
        #[cfg(feature = "aws-ec2")]
        assert_eq!(session.ec2().unwrap().pipeline().retry_config().max_attempts(), 2);
        let default = builder(&http, &[("AWS_MAX_ATTEMPTS", "7")]).load().await.unwrap();
        assert_eq!(default.config().retry_config().max_attempts(), 7);
    }

    /// Issue 16, point 7: `session.resource("s3")` / `session.resource("ec2")` twins over the
    /// session's clients (same endpoint, credentials and settings).
    #[cfg(all(feature = "aws-s3", feature = "aws-ec2"))]
    #[tokio::test]
    async fn resources_from_the_session() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(
            200,
            "<ListAllMyBucketsResult><Buckets><Bucket><Name>one</Name></Bucket><Bucket><Name>two</Name></Bucket>\
             </Buckets></ListAllMyBucketsResult>",
        ));
        http.push(Canned::status(
            200,
            "<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceId>i-1</instanceId>\
             <instanceState><code>16</code><name>running</name></instanceState></item></instancesSet></item>\
             </reservationSet></DescribeInstancesResponse>",
        ));
        let session = builder(&http, &[("AWS_ENDPOINT_URL", "http://aws.test:4566")]).load().await.unwrap();
        let s3 = session.s3_resource().unwrap();
        assert_eq!(s3.client().endpoint(), session.s3().unwrap().endpoint());
        let names: Vec<String> = s3.buckets().await.unwrap().iter().map(|b| b.name().to_owned()).collect();
        assert_eq!(names, ["one", "two"]);
        assert_eq!(s3.object("one", "k").key(), "k");
        let ec2 = session.ec2_resource().unwrap();
        let instances: Vec<_> = futures::TryStreamExt::try_collect::<Vec<_>>(ec2.instances().all()).await.unwrap();
        assert_eq!(instances[0].id(), "i-1");
        let reqs = http.requests();
        assert_eq!(reqs.len(), 2);
        assert!(reqs.iter().all(|r| credential_of(r) == "AKIDSESSION" && r.url.host_str() == Some("aws.test")));
    }
}
