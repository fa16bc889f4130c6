//! [`StsClient`] and its [`ClientBuilder`]: one async method per STS operation, over the shared
//! request pipeline.

use std::fmt;
use std::sync::Arc;

use cloudkit_aws_protocol::{AwsErrorParser, QUERY_CONTENT_TYPE, QueryBody};
use cloudkit_core::{Bytes, HttpRequest, Method, NoSign, Operation, Pipeline, PipelineBuilder, Sign, Url};
use cloudkit_signer::aws::{ClockSkew, SharedCredentialsProvider, SigV4Signer};

use crate::error::{STS_RETRY_CLASSIFIER, StsError};
use crate::model;
use crate::types::{
    AssumeRoleOutput, AssumeRoleRequest, AssumeRoleWithWebIdentityOutput, AssumeRoleWithWebIdentityRequest,
    GetCallerIdentityOutput,
};
use crate::{API_VERSION, SERVICE, SIGNING_NAME};

/// The largest STS answer read: the documents are a few KiB; a longer body is a decode error.
pub const MAX_RESPONSE_BODY: usize = 1024 * 1024;

/// An STS client on the shared [`Pipeline`] (retries, timeouts, typed errors).
///
/// Requests are signed with SigV4 when credentials are given, unsigned otherwise (only
/// `AssumeRoleWithWebIdentity` works unsigned). Cheap to clone; `Debug` shows no secret.
///
/// STS sits below the configuration layer (cloudkit's credential providers call it), so the
/// client is built from parts with [`StsClient::builder`]; from a loaded configuration, the
/// facade's `AwsSession::sts()` does that.
#[derive(Clone)]
pub struct StsClient {
    inner: Arc<Inner>,
}

struct Inner {
    pipeline: Pipeline,
    endpoint: Url,
    region: String,
}

impl fmt::Debug for StsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StsClient")
            .field("region", &self.inner.region)
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("pipeline", &self.inner.pipeline)
            .finish()
    }
}

/// `https://sts.{region}.amazonaws.com/`, STS's regional endpoint.
pub fn default_endpoint(region: &str) -> Result<Url, StsError> {
    let valid = !region.is_empty() && region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(StsError::invalid_input("build", format!("`{region}` is not a valid AWS region name")));
    }
    Url::parse(&format!("https://sts.{region}.amazonaws.com/"))
        .map_err(|e| StsError::invalid_input("build", format!("cannot build the STS endpoint for `{region}`: {e}")))
}

/// Builds an [`StsClient`] from parts: [`region`](Self::region) (required),
/// [`credentials`](Self::credentials) (optional: without them requests are unsigned),
/// [`endpoint`](Self::endpoint) (default: the regional endpoint), and the overrides every cloudkit
/// `ClientBuilder` has (`http`, `retry`, `timeouts`; defaults: a new HTTP client, standard retries,
/// no time limits).
///
/// ```
/// use std::sync::Arc;
/// use cloudkit_aws_sts::StsClient;
/// use cloudkit_core::RetryConfig;
/// use cloudkit_signer::aws::Credentials;
///
/// let sts = StsClient::builder()
///     .region("eu-west-1")
///     .credentials(Arc::new(Credentials::from_keys("AKIDEXAMPLE", "secret")))
///     .retry(RetryConfig::standard().with_max_attempts(5))
///     .build()?;
/// assert_eq!(sts.endpoint().as_str(), "https://sts.eu-west-1.amazonaws.com/");
/// # Ok::<(), cloudkit_aws_sts::StsError>(())
/// ```
#[derive(Debug)]
pub struct ClientBuilder {
    pipeline: PipelineBuilder,
    region: Option<String>,
    credentials: Option<SharedCredentialsProvider>,
    endpoint: Option<Url>,
    clock_skew: Option<ClockSkew>,
}

impl ClientBuilder {
    /// The region: the SigV4 signing region and, without an [`endpoint`](Self::endpoint), the
    /// regional endpoint's.
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// The credentials that sign requests (default: none, requests are sent unsigned, which only
    /// `AssumeRoleWithWebIdentity` accepts).
    pub fn credentials(mut self, credentials: SharedCredentialsProvider) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// The correction of the signing clock (default: one of the client's own). Share a config's
    /// (`AwsConfig::clock_skew`) so that a correction learnt by one client serves all: a
    /// clock-skew answer (`RequestExpired`, `SignatureDoesNotMatch` with a `Date` minutes away, …)
    /// corrects it and the request is signed again and retried.
    pub fn clock_skew(mut self, skew: ClockSkew) -> Self {
        self.clock_skew = Some(skew);
        self
    }

    cloudkit_core::client_builder_overrides!(
        /// The endpoint (default: `https://sts.{region}.amazonaws.com/`).
        endpoint
    );

    /// Builds the client. Fails with [`StsError::InvalidInput`] without a region, for a malformed
    /// region or a non-http(s) endpoint.
    pub fn build(self) -> Result<StsClient, StsError> {
        let Some(region) = self.region else {
            return Err(StsError::invalid_input("build", "an STS client needs a region"));
        };
        let endpoint = match self.endpoint {
            Some(url) => url,
            None => default_endpoint(&region)?,
        };
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.cannot_be_a_base() {
            return Err(StsError::invalid_input("build", format!("`{endpoint}` is not an http(s) endpoint")));
        }
        let skew = self.clock_skew.unwrap_or_default();
        let signer: Arc<dyn Sign> = match self.credentials {
            Some(provider) => {
                Arc::new(SigV4Signer::new(provider, region.clone(), SIGNING_NAME).with_clock_skew(skew.clone()))
            }
            None => Arc::new(NoSign),
        };
        let pipeline = self
            .pipeline
            .signer(signer)
            .error_parser(skew.error_parser(Arc::new(AwsErrorParser)))
            .classifier(skew.classifier(Arc::new(STS_RETRY_CLASSIFIER)))
            .build()
            .map_err(StsError::from_core)?;
        Ok(StsClient { inner: Arc::new(Inner { pipeline, endpoint, region }) })
    }
}

impl StsClient {
    /// A builder (see [`ClientBuilder`]).
    pub fn builder() -> ClientBuilder {
        ClientBuilder {
            // The error parser and the classifier (wrapped for clock-skew correction) are set in
            // `build`.
            pipeline: Pipeline::builder(SERVICE),
            region: None,
            credentials: None,
            endpoint: None,
            clock_skew: None,
        }
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The request pipeline (retry settings, HTTP client).
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// `AssumeRole`: temporary credentials for `request.role_arn`, signed with the client's credentials.
    pub async fn assume_role(&self, request: AssumeRoleRequest) -> Result<AssumeRoleOutput, StsError> {
        const OP: &str = "AssumeRole";
        request.validate()?;
        let body = self.call(OP, request.body()).await?;
        let root = model::parse(OP, &body)?;
        let result = model::result(OP, &root, "AssumeRoleResult")?;
        Ok(AssumeRoleOutput {
            credentials: model::credentials(OP, result, "sts-assume-role")?,
            assumed_role_user: model::assumed_role_user(OP, result)?,
            packed_policy_size: model::packed_policy_size(OP, result)?,
            source_identity: model::optional(result, "SourceIdentity"),
            request_id: model::request_id(&root),
        })
    }

    /// `AssumeRoleWithWebIdentity`: temporary credentials for an OIDC token. `IDPCommunicationError`
    /// is retried by the pipeline (see [`STS_RETRY_CLASSIFIER`]), as the AWS SDKs do.
    pub async fn assume_role_with_web_identity(
        &self,
        request: AssumeRoleWithWebIdentityRequest,
    ) -> Result<AssumeRoleWithWebIdentityOutput, StsError> {
        const OP: &str = "AssumeRoleWithWebIdentity";
        request.validate()?;
        let body = self.call(OP, request.body()).await?;
        let root = model::parse(OP, &body)?;
        let result = model::result(OP, &root, "AssumeRoleWithWebIdentityResult")?;
        Ok(AssumeRoleWithWebIdentityOutput {
            credentials: model::credentials(OP, result, "sts-web-identity")?,
            assumed_role_user: model::assumed_role_user(OP, result)?,
            subject_from_web_identity_token: model::optional(result, "SubjectFromWebIdentityToken"),
            audience: model::optional(result, "Audience"),
            provider: model::optional(result, "Provider"),
            packed_policy_size: model::packed_policy_size(OP, result)?,
            source_identity: model::optional(result, "SourceIdentity"),
            request_id: model::request_id(&root),
        })
    }

    /// `GetCallerIdentity`: who the client's credentials belong to.
    pub async fn get_caller_identity(&self) -> Result<GetCallerIdentityOutput, StsError> {
        const OP: &str = "GetCallerIdentity";
        let body = self.call(OP, QueryBody::new(OP, API_VERSION).into_bytes()).await?;
        let root = model::parse(OP, &body)?;
        let result = model::result(OP, &root, "GetCallerIdentityResult")?;
        Ok(GetCallerIdentityOutput {
            user_id: model::required(OP, result, "UserId")?,
            account: model::required(OP, result, "Account")?,
            arn: model::required(OP, result, "Arn")?,
            request_id: model::request_id(&root),
        })
    }

    async fn call(&self, operation: &'static str, body: Bytes) -> Result<Bytes, StsError> {
        let mut request = HttpRequest::new(Method::POST, self.inner.endpoint.clone()).with_body(body);
        request
            .insert_header("content-type", QUERY_CONTENT_TYPE)
            .map_err(|e| StsError::invalid_input(operation, e.to_string()))?;
        let op = Operation::new(operation).max_response_body(MAX_RESPONSE_BODY);
        let response = self.inner.pipeline.send_buffered(&op, request).await?;
        Ok(response.body)
    }
}
