//! AWS STS (Security Token Service): `AssumeRole`, `AssumeRoleWithWebIdentity` and
//! `GetCallerIdentity` over the AWS Query protocol, and [`AssumeRoleProvider`], the credentials
//! provider behind `role_arn` profiles and session-level assume-role.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::sync::Arc;
//! use cloudkit_cred_chain::aws::ProviderConfig;
//! use cloudkit_cred_chain::aws::sts::{AssumeRoleRequest, StsClient};
//! use cloudkit_signer::aws::Credentials;
//!
//! let config = ProviderConfig::real()?;
//! let source = Arc::new(Credentials::from_keys("AKIDEXAMPLE", "secret"));
//! let sts = StsClient::new(&config, "eu-west-1", Some(source))?;
//! let me = sts.get_caller_identity().await?;
//! println!("calling as {} in account {}", me.arn, me.account);
//! let out = sts
//!     .assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/deploy", "deploy-session"))
//!     .await?;
//! println!("temporary key {}", out.credentials.access_key_id());
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use cloudkit_core::{
    Bytes, Error, ErrorKind, HttpRequest, Method, NoSign, Operation, Pipeline, RetryConfig, SecretString, Sign, Url,
};
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials, SharedCredentialsProvider, SigV4Signer};

use super::ProviderConfig;
use cloudkit_aws_protocol::{AwsErrorParser, QUERY_CONTENT_TYPE, QueryBody};

/// The STS API version of every request.
pub const STS_API_VERSION: &str = "2011-06-15";
/// Shortest session STS grants.
pub const MIN_DURATION: Duration = Duration::from_secs(900);
/// Longest session STS grants (roles allow at most their `MaxSessionDuration`, 1 h by default).
pub const MAX_DURATION: Duration = Duration::from_secs(43_200);

const SERVICE: &str = "STS";

/// Why an STS call failed. Every variant carries the full [`cloudkit_core::Error`] (status,
/// code, message, request id, attempts); the variants name the codes callers act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StsError {
    /// The input was rejected before anything was sent (bad session name, duration, …).
    #[error(transparent)]
    InvalidInput(Error),
    /// `AccessDenied`: the caller may not assume the role (trust policy, external id, …).
    #[error(transparent)]
    AccessDenied(Error),
    /// `ExpiredToken` / `ExpiredTokenException`: the source credentials or the web identity token expired.
    #[error(transparent)]
    ExpiredToken(Error),
    /// `InvalidIdentityToken`: the web identity token was refused.
    #[error(transparent)]
    InvalidIdentityToken(Error),
    /// `IDPCommunicationError`: STS could not reach the identity provider (retryable).
    #[error(transparent)]
    IdpCommunicationError(Error),
    /// `IDPRejectedClaim`: the identity provider rejected the token's claims.
    #[error(transparent)]
    IdpRejectedClaim(Error),
    /// `RegionDisabled`: STS is not activated in this region for the account.
    #[error(transparent)]
    RegionDisabled(Error),
    /// `MalformedPolicyDocument`: the session policy is not valid.
    #[error(transparent)]
    MalformedPolicyDocument(Error),
    /// `PackedPolicyTooLarge`: the session policies and tags are too large.
    #[error(transparent)]
    PackedPolicyTooLarge(Error),
    /// `InvalidClientTokenId` / `SignatureDoesNotMatch` / `IncompleteSignature`: the source
    /// credentials are wrong.
    #[error(transparent)]
    InvalidCredentials(Error),
    /// Any other failure (transport, timeout, other codes, undecodable response).
    #[error(transparent)]
    Other(Error),
}

impl StsError {
    fn from_error(e: Error) -> Self {
        match e.code() {
            Some("AccessDenied") => StsError::AccessDenied(e),
            Some("ExpiredToken" | "ExpiredTokenException") => StsError::ExpiredToken(e),
            Some("InvalidIdentityToken") => StsError::InvalidIdentityToken(e),
            Some("IDPCommunicationError") => StsError::IdpCommunicationError(e),
            Some("IDPRejectedClaim") => StsError::IdpRejectedClaim(e),
            Some("RegionDisabledException" | "RegionDisabled") => StsError::RegionDisabled(e),
            Some("MalformedPolicyDocument" | "MalformedPolicyDocumentException") => {
                StsError::MalformedPolicyDocument(e)
            }
            Some("PackedPolicyTooLarge" | "PackedPolicyTooLargeException") => StsError::PackedPolicyTooLarge(e),
            Some("InvalidClientTokenId" | "SignatureDoesNotMatch" | "IncompleteSignature" | "AuthFailure") => {
                StsError::InvalidCredentials(e)
            }
            _ if e.kind() == ErrorKind::InvalidInput => StsError::InvalidInput(e),
            _ => StsError::Other(e),
        }
    }

    fn invalid_input(operation: &'static str, message: impl Into<String>) -> Self {
        StsError::InvalidInput(Error::invalid_input(SERVICE, operation, message))
    }

    /// The underlying error.
    pub fn error(&self) -> &Error {
        match self {
            StsError::InvalidInput(e)
            | StsError::AccessDenied(e)
            | StsError::ExpiredToken(e)
            | StsError::InvalidIdentityToken(e)
            | StsError::IdpCommunicationError(e)
            | StsError::IdpRejectedClaim(e)
            | StsError::RegionDisabled(e)
            | StsError::MalformedPolicyDocument(e)
            | StsError::PackedPolicyTooLarge(e)
            | StsError::InvalidCredentials(e)
            | StsError::Other(e) => e,
        }
    }

    /// The underlying error, by value.
    pub fn into_error(self) -> Error {
        match self {
            StsError::InvalidInput(e)
            | StsError::AccessDenied(e)
            | StsError::ExpiredToken(e)
            | StsError::InvalidIdentityToken(e)
            | StsError::IdpCommunicationError(e)
            | StsError::IdpRejectedClaim(e)
            | StsError::RegionDisabled(e)
            | StsError::MalformedPolicyDocument(e)
            | StsError::PackedPolicyTooLarge(e)
            | StsError::InvalidCredentials(e)
            | StsError::Other(e) => e,
        }
    }

    /// The STS error code, if STS answered with one.
    pub fn code(&self) -> Option<&str> {
        self.error().code()
    }

    /// Whether retrying later could help (`IDPCommunicationError`, throttling, 5xx, transport).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StsError::IdpCommunicationError(_)) || self.error().is_retryable()
    }
}

/// Input of [`StsClient::assume_role`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssumeRoleRequest {
    /// The role to assume (`arn:aws:iam::123456789012:role/name`).
    pub role_arn: String,
    /// The session name (2–64 characters of `[A-Za-z0-9_+=,.@-]`), visible in CloudTrail.
    pub role_session_name: String,
    /// The external id the role's trust policy requires, if any.
    pub external_id: Option<String>,
    /// How long the credentials last (900 s – 43 200 s; STS default 1 h).
    pub duration: Option<Duration>,
    /// An inline session policy (JSON) that narrows the role's permissions.
    pub policy: Option<String>,
    /// Managed session policies (ARNs) that narrow the role's permissions.
    pub policy_arns: Vec<String>,
    /// The source identity to stamp on the session.
    pub source_identity: Option<String>,
}

impl AssumeRoleRequest {
    /// A request for `role_arn` with session name `role_session_name`.
    pub fn new(role_arn: impl Into<String>, role_session_name: impl Into<String>) -> Self {
        Self {
            role_arn: role_arn.into(),
            role_session_name: role_session_name.into(),
            external_id: None,
            duration: None,
            policy: None,
            policy_arns: Vec::new(),
            source_identity: None,
        }
    }

    /// Sets the external id.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.external_id = Some(external_id.into());
        self
    }

    /// Sets the session duration.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }

    /// Sets an inline session policy.
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.policy = Some(policy.into());
        self
    }

    /// Adds a managed session policy.
    pub fn policy_arn(mut self, arn: impl Into<String>) -> Self {
        self.policy_arns.push(arn.into());
        self
    }

    /// Sets the source identity.
    pub fn source_identity(mut self, source_identity: impl Into<String>) -> Self {
        self.source_identity = Some(source_identity.into());
        self
    }

    fn validate(&self) -> Result<(), StsError> {
        const OP: &str = "AssumeRole";
        validate_role_arn(OP, &self.role_arn)?;
        validate_session_name(OP, &self.role_session_name)?;
        if let Some(id) = &self.external_id {
            validate_external_id(OP, id)?;
        }
        if let Some(d) = self.duration {
            validate_duration(OP, d)?;
        }
        Ok(())
    }

    fn body(&self) -> Bytes {
        let mut body = QueryBody::new("AssumeRole", STS_API_VERSION)
            .param("RoleArn", &self.role_arn)
            .param("RoleSessionName", &self.role_session_name);
        if let Some(id) = &self.external_id {
            body.push("ExternalId", id);
        }
        if let Some(d) = self.duration {
            body.push("DurationSeconds", &d.as_secs().to_string());
        }
        if let Some(p) = &self.policy {
            body.push("Policy", p);
        }
        for (i, arn) in self.policy_arns.iter().enumerate() {
            body.push(&format!("PolicyArns.member.{}.arn", i + 1), arn);
        }
        if let Some(s) = &self.source_identity {
            body.push("SourceIdentity", s);
        }
        body.into_bytes()
    }
}

/// Input of [`StsClient::assume_role_with_web_identity`]. `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssumeRoleWithWebIdentityRequest {
    /// The role to assume.
    pub role_arn: String,
    /// The session name (2–64 characters of `[A-Za-z0-9_+=,.@-]`).
    pub role_session_name: String,
    /// The OIDC token (e.g. the EKS service-account token).
    pub web_identity_token: SecretString,
    /// How long the credentials last (900 s – 43 200 s).
    pub duration: Option<Duration>,
    /// An inline session policy (JSON).
    pub policy: Option<String>,
    /// The OAuth 2.0 provider (only for Login with Amazon / Facebook tokens).
    pub provider_id: Option<String>,
}

impl fmt::Debug for AssumeRoleWithWebIdentityRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AssumeRoleWithWebIdentityRequest")
            .field("role_arn", &self.role_arn)
            .field("role_session_name", &self.role_session_name)
            .field("web_identity_token", &self.web_identity_token)
            .field("duration", &self.duration)
            .field("policy", &self.policy)
            .field("provider_id", &self.provider_id)
            .finish()
    }
}

impl AssumeRoleWithWebIdentityRequest {
    /// A request for `role_arn` with session name `role_session_name` and `token`.
    pub fn new(
        role_arn: impl Into<String>,
        role_session_name: impl Into<String>,
        token: impl Into<SecretString>,
    ) -> Self {
        Self {
            role_arn: role_arn.into(),
            role_session_name: role_session_name.into(),
            web_identity_token: token.into(),
            duration: None,
            policy: None,
            provider_id: None,
        }
    }

    /// Sets the session duration.
    pub fn duration(mut self, duration: Duration) -> Self {
        self.duration = Some(duration);
        self
    }

    /// Sets an inline session policy.
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.policy = Some(policy.into());
        self
    }

    /// Sets the OAuth 2.0 provider id.
    pub fn provider_id(mut self, provider_id: impl Into<String>) -> Self {
        self.provider_id = Some(provider_id.into());
        self
    }

    fn validate(&self) -> Result<(), StsError> {
        const OP: &str = "AssumeRoleWithWebIdentity";
        validate_role_arn(OP, &self.role_arn)?;
        validate_session_name(OP, &self.role_session_name)?;
        if self.web_identity_token.expose().trim().is_empty() {
            return Err(StsError::invalid_input(OP, "the web identity token is empty"));
        }
        if let Some(d) = self.duration {
            validate_duration(OP, d)?;
        }
        Ok(())
    }

    fn body(&self) -> Bytes {
        let mut body = QueryBody::new("AssumeRoleWithWebIdentity", STS_API_VERSION)
            .param("RoleArn", &self.role_arn)
            .param("RoleSessionName", &self.role_session_name)
            .param("WebIdentityToken", self.web_identity_token.expose().trim());
        if let Some(d) = self.duration {
            body.push("DurationSeconds", &d.as_secs().to_string());
        }
        if let Some(p) = &self.policy {
            body.push("Policy", p);
        }
        if let Some(p) = &self.provider_id {
            body.push("ProviderId", p);
        }
        body.into_bytes()
    }
}

/// The identity STS created for an assumed-role session.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct AssumedRoleUser {
    /// `arn:aws:sts::<account>:assumed-role/<role>/<session>`.
    pub arn: String,
    /// `<role id>:<session name>`.
    pub assumed_role_id: String,
}

/// Output of [`StsClient::assume_role`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AssumeRoleOutput {
    /// The temporary credentials (with their expiry).
    pub credentials: Credentials,
    /// The session's identity.
    pub assumed_role_user: Option<AssumedRoleUser>,
    /// How full the packed session policy is, in percent of the limit.
    pub packed_policy_size: Option<u32>,
    /// The source identity, if one was set.
    pub source_identity: Option<String>,
    /// The STS request id.
    pub request_id: Option<String>,
}

/// Output of [`StsClient::assume_role_with_web_identity`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct AssumeRoleWithWebIdentityOutput {
    /// The temporary credentials (with their expiry).
    pub credentials: Credentials,
    /// The session's identity.
    pub assumed_role_user: Option<AssumedRoleUser>,
    /// The token's `sub` claim.
    pub subject_from_web_identity_token: Option<String>,
    /// The token's audience (`aud`).
    pub audience: Option<String>,
    /// The token's issuer.
    pub provider: Option<String>,
    /// How full the packed session policy is, in percent of the limit.
    pub packed_policy_size: Option<u32>,
    /// The source identity, if one was set.
    pub source_identity: Option<String>,
    /// The STS request id.
    pub request_id: Option<String>,
}

/// Output of [`StsClient::get_caller_identity`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GetCallerIdentityOutput {
    /// The unique id of the caller.
    pub user_id: String,
    /// The account id.
    pub account: String,
    /// The caller's ARN.
    pub arn: String,
    /// The STS request id.
    pub request_id: Option<String>,
}

/// An STS client on the shared [`Pipeline`] (retries, timeouts, typed errors).
///
/// Requests are signed with SigV4 when source credentials are given, unsigned otherwise (only
/// `AssumeRoleWithWebIdentity` works unsigned).
#[derive(Clone, Debug)]
pub struct StsClient {
    pipeline: Pipeline,
    endpoint: Url,
    region: String,
}

impl StsClient {
    /// A client for `region`. The endpoint is `config.sts_endpoint`, else `AWS_ENDPOINT_URL_STS`,
    /// else `AWS_ENDPOINT_URL`, else `https://sts.{region}.amazonaws.com`. `credentials: None`
    /// sends requests unsigned.
    ///
    /// Fails with [`StsError::InvalidInput`] for a malformed region or endpoint override.
    pub fn new(
        config: &ProviderConfig,
        region: impl Into<String>,
        credentials: Option<SharedCredentialsProvider>,
    ) -> Result<Self, StsError> {
        let region = region.into();
        if region.is_empty() || !region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(StsError::invalid_input("new", format!("`{region}` is not a valid AWS region name")));
        }
        let endpoint = resolve_endpoint(config, &region)?;
        let signer: Arc<dyn Sign> = match credentials {
            Some(provider) => Arc::new(SigV4Signer::new(provider, region.clone(), "sts")),
            None => Arc::new(NoSign),
        };
        let pipeline = Pipeline::builder(SERVICE)
            .http(config.http.clone())
            .signer(signer)
            .error_parser(Arc::new(AwsErrorParser))
            .classifier(Arc::new(cloudkit_aws_protocol::AWS_RETRY_CLASSIFIER))
            .retry(RetryConfig::standard())
            .build()
            .map_err(StsError::Other)?;
        Ok(Self { pipeline, endpoint, region })
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.endpoint
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// `AssumeRole`: temporary credentials for `request.role_arn`, signed with the source credentials.
    pub async fn assume_role(&self, request: AssumeRoleRequest) -> Result<AssumeRoleOutput, StsError> {
        const OP: &str = "AssumeRole";
        request.validate()?;
        let body = self.call(OP, request.body()).await?;
        let root = wire::parse(OP, &body)?;
        let result = wire::result(OP, &root, "AssumeRoleResult")?;
        Ok(AssumeRoleOutput {
            credentials: wire::credentials(OP, result, "sts-assume-role")?,
            assumed_role_user: wire::assumed_role_user(OP, result)?,
            packed_policy_size: wire::packed_policy_size(OP, result)?,
            source_identity: wire::optional(result, "SourceIdentity"),
            request_id: wire::request_id(&root),
        })
    }

    /// `AssumeRoleWithWebIdentity`: temporary credentials for an OIDC token. Retried a few times
    /// on `IDPCommunicationError`, as the AWS SDKs do.
    pub async fn assume_role_with_web_identity(
        &self,
        request: AssumeRoleWithWebIdentityRequest,
    ) -> Result<AssumeRoleWithWebIdentityOutput, StsError> {
        const OP: &str = "AssumeRoleWithWebIdentity";
        request.validate()?;
        let retry = self.pipeline.retry_config().clone();
        let mut attempt = 1;
        let body = loop {
            match self.call(OP, request.body()).await {
                Err(StsError::IdpCommunicationError(e)) if attempt < retry.max_attempts() => {
                    tracing::debug!(attempt, error = %e, "STS could not reach the identity provider; retrying");
                    tokio::time::sleep(retry.backoff(attempt)).await;
                    attempt += 1;
                }
                other => break other?,
            }
        };
        let root = wire::parse(OP, &body)?;
        let result = wire::result(OP, &root, "AssumeRoleWithWebIdentityResult")?;
        Ok(AssumeRoleWithWebIdentityOutput {
            credentials: wire::credentials(OP, result, "sts-web-identity")?,
            assumed_role_user: wire::assumed_role_user(OP, result)?,
            subject_from_web_identity_token: wire::optional(result, "SubjectFromWebIdentityToken"),
            audience: wire::optional(result, "Audience"),
            provider: wire::optional(result, "Provider"),
            packed_policy_size: wire::packed_policy_size(OP, result)?,
            source_identity: wire::optional(result, "SourceIdentity"),
            request_id: wire::request_id(&root),
        })
    }

    /// `GetCallerIdentity`: who the source credentials belong to.
    pub async fn get_caller_identity(&self) -> Result<GetCallerIdentityOutput, StsError> {
        const OP: &str = "GetCallerIdentity";
        let body = self.call(OP, QueryBody::new(OP, STS_API_VERSION).into_bytes()).await?;
        let root = wire::parse(OP, &body)?;
        let result = wire::result(OP, &root, "GetCallerIdentityResult")?;
        Ok(GetCallerIdentityOutput {
            user_id: wire::required(OP, result, "UserId")?,
            account: wire::required(OP, result, "Account")?,
            arn: wire::required(OP, result, "Arn")?,
            request_id: wire::request_id(&root),
        })
    }

    async fn call(&self, operation: &'static str, body: Bytes) -> Result<Bytes, StsError> {
        let mut request = HttpRequest::new(Method::POST, self.endpoint.clone()).with_body(body);
        request
            .insert_header("content-type", QUERY_CONTENT_TYPE)
            .map_err(|e| StsError::Other(Error::invalid_input(SERVICE, operation, e.to_string())))?;
        let response =
            self.pipeline.send_buffered(&Operation::new(operation), request).await.map_err(StsError::from_error)?;
        Ok(response.body)
    }
}

fn resolve_endpoint(config: &ProviderConfig, region: &str) -> Result<Url, StsError> {
    if let Some(url) = &config.sts_endpoint {
        return Ok(url.clone());
    }
    for var in ["AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"] {
        if let Some(value) = config.env.get_non_empty(var) {
            return Url::parse(value.trim())
                .map_err(|e| StsError::invalid_input("new", format!("{var} is not a valid URL: {e}")));
        }
    }
    let default = format!("https://sts.{region}.amazonaws.com/");
    Url::parse(&default).map_err(|e| StsError::invalid_input("new", format!("bad STS endpoint {default}: {e}")))
}

/// Checks an STS session name: 2–64 characters of `[A-Za-z0-9_+=,.@-]`.
pub fn validate_session_name(operation: &'static str, name: &str) -> Result<(), StsError> {
    let ok_chars = name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if !(2..=64).contains(&name.len()) || !ok_chars {
        return Err(StsError::invalid_input(
            operation,
            format!("role session name `{name}` must be 2-64 characters of letters, digits and _+=,.@-"),
        ));
    }
    Ok(())
}

fn validate_duration(operation: &'static str, duration: Duration) -> Result<(), StsError> {
    if duration < MIN_DURATION || duration > MAX_DURATION || duration.subsec_nanos() != 0 {
        return Err(StsError::invalid_input(
            operation,
            format!(
                "session duration {duration:?} must be a whole number of seconds between {} and {}",
                MIN_DURATION.as_secs(),
                MAX_DURATION.as_secs()
            ),
        ));
    }
    Ok(())
}

fn validate_external_id(operation: &'static str, id: &str) -> Result<(), StsError> {
    let ok_chars = id.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@:/-".contains(c));
    if !(2..=1224).contains(&id.len()) || !ok_chars {
        return Err(StsError::invalid_input(
            operation,
            "external id must be 2-1224 characters of letters, digits and _+=,.@:/-",
        ));
    }
    Ok(())
}

fn validate_role_arn(operation: &'static str, arn: &str) -> Result<(), StsError> {
    if arn.len() < 20 || arn.len() > 2048 || arn.chars().any(char::is_control) {
        return Err(StsError::invalid_input(operation, format!("`{arn}` is not a valid role ARN")));
    }
    Ok(())
}

pub(crate) fn unix_millis() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default()
}

mod wire {
    //! Reading STS response bodies (`<XResponse><XResult>…</XResult><ResponseMetadata>
    //! <RequestId>…`) from a [`cloudkit_core::internal::xml`] tree, without serde. Values are trimmed.
    //! Secrets go from the body straight into [`SecretString`]s; error messages name elements,
    //! never the text of a credential.

    use cloudkit_core::internal::date::parse_rfc3339;
    use cloudkit_core::internal::xml::{Element, XmlError};
    use cloudkit_core::{Error, SecretString};
    use cloudkit_signer::aws::Credentials;

    use super::{AssumedRoleUser, SERVICE, StsError};

    /// A body that is not the expected XML, as a decode error naming what is wrong.
    fn malformed(operation: &'static str, e: &XmlError) -> StsError {
        StsError::Other(Error::decode(SERVICE, operation, format!("unexpected STS response: {e}")))
    }

    /// The root element of a response body.
    pub(super) fn parse<'a>(operation: &'static str, body: &'a [u8]) -> Result<Element<'a>, StsError> {
        Element::parse(body).map_err(|e| malformed(operation, &e))
    }

    /// The `<XResult>` element of a response.
    pub(super) fn result<'e, 'a>(
        operation: &'static str,
        root: &'e Element<'a>,
        name: &str,
    ) -> Result<&'e Element<'a>, StsError> {
        root.required(name).map_err(|e| malformed(operation, &e))
    }

    /// `<ResponseMetadata><RequestId>`.
    pub(super) fn request_id(root: &Element<'_>) -> Option<String> {
        root.child("ResponseMetadata").and_then(|m| optional(m, "RequestId"))
    }

    /// The trimmed text of the child `name`, if there is one.
    pub(super) fn optional(parent: &Element<'_>, name: &str) -> Option<String> {
        parent.child_text(name).map(|t| t.trim().to_owned())
    }

    /// The trimmed text of the child `name`, or a decode error naming it.
    pub(super) fn required(operation: &'static str, parent: &Element<'_>, name: &str) -> Result<String, StsError> {
        required_text(operation, parent, name).map(str::to_owned)
    }

    fn required_text<'e>(operation: &'static str, parent: &'e Element<'_>, name: &str) -> Result<&'e str, StsError> {
        parent.required_text(name).map(str::trim).map_err(|e| malformed(operation, &e))
    }

    /// `<PackedPolicySize>`.
    pub(super) fn packed_policy_size(operation: &'static str, result: &Element<'_>) -> Result<Option<u32>, StsError> {
        result.child_parse("PackedPolicySize").map_err(|e| malformed(operation, &e))
    }

    /// `<AssumedRoleUser>`: both fields are required when the element is there.
    pub(super) fn assumed_role_user(
        operation: &'static str,
        result: &Element<'_>,
    ) -> Result<Option<AssumedRoleUser>, StsError> {
        let Some(user) = result.child("AssumedRoleUser") else {
            return Ok(None);
        };
        Ok(Some(AssumedRoleUser {
            arn: required(operation, user, "Arn")?,
            assumed_role_id: required(operation, user, "AssumedRoleId")?,
        }))
    }

    /// `<Credentials>`: `AccessKeyId`, `SecretAccessKey` and `Expiration` are required,
    /// `SessionToken` is optional.
    pub(super) fn credentials(
        operation: &'static str,
        result: &Element<'_>,
        provider: &'static str,
    ) -> Result<Credentials, StsError> {
        let credentials = result.required("Credentials").map_err(|e| malformed(operation, &e))?;
        let access_key_id = required(operation, credentials, "AccessKeyId")?;
        let secret_access_key = SecretString::new(required_text(operation, credentials, "SecretAccessKey")?);
        let session_token = credentials.child_text("SessionToken").map(|t| SecretString::new(t.trim()));
        let expiration = required_text(operation, credentials, "Expiration")?;
        let expiry = parse_rfc3339(expiration).ok_or_else(|| {
            StsError::Other(Error::decode(
                SERVICE,
                operation,
                format!("credential expiration `{expiration}` is not an RFC 3339 time"),
            ))
        })?;
        Ok(Credentials::new(access_key_id, secret_access_key, session_token, Some(expiry), provider))
    }
}

/// Credentials from `AssumeRole`, signed with a source provider's credentials (profiles with
/// `role_arn`, session-level assume-role). Every call to
/// [`provide_credentials`](ProvideCredentials::provide_credentials) calls STS: wrap the provider
/// in the chain's credentials cache. Its failures are `ProviderError`s (never `NotLoaded`): a
/// configured role that cannot be assumed stops the chain.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::sync::Arc;
/// use std::time::Duration;
/// use cloudkit_cred_chain::aws::ProviderConfig;
/// use cloudkit_cred_chain::aws::sts::AssumeRoleProvider;
/// use cloudkit_signer::aws::{Credentials, ProvideCredentials};
///
/// let config = ProviderConfig::real()?.region("eu-west-1");
/// let source = Arc::new(Credentials::from_keys("AKIDEXAMPLE", "secret"));
/// let provider = AssumeRoleProvider::builder("arn:aws:iam::123456789012:role/deploy")
///     .session_name("deploy")
///     .external_id("shared-secret-id")
///     .duration(Duration::from_secs(3600))
///     .build(source, &config)?;
/// let credentials = provider.provide_credentials().await?;
/// # let _ = credentials; Ok(()) }
/// ```
#[derive(Debug)]
pub struct AssumeRoleProvider {
    client: StsClient,
    request: AssumeRoleRequest,
}

/// Builds an [`AssumeRoleProvider`].
#[derive(Clone, Debug)]
pub struct AssumeRoleProviderBuilder {
    request: AssumeRoleRequest,
    session_name: Option<String>,
    region: Option<String>,
}

/// The region STS calls use when none is configured (STS's global endpoint lives there).
pub const DEFAULT_STS_REGION: &str = "us-east-1";

impl AssumeRoleProvider {
    /// A builder for assuming `role_arn`.
    pub fn builder(role_arn: impl Into<String>) -> AssumeRoleProviderBuilder {
        AssumeRoleProviderBuilder {
            request: AssumeRoleRequest::new(role_arn, String::new()),
            session_name: None,
            region: None,
        }
    }

    /// The role this provider assumes.
    pub fn role_arn(&self) -> &str {
        &self.request.role_arn
    }

    /// The session name used.
    pub fn session_name(&self) -> &str {
        &self.request.role_session_name
    }
}

impl AssumeRoleProviderBuilder {
    /// The session name (default `cloudkit-session-<unix millis>`).
    pub fn session_name(mut self, name: impl Into<String>) -> Self {
        self.session_name = Some(name.into());
        self
    }

    /// The external id the role requires.
    pub fn external_id(mut self, external_id: impl Into<String>) -> Self {
        self.request.external_id = Some(external_id.into());
        self
    }

    /// The session duration (900 s – 43 200 s).
    pub fn duration(mut self, duration: Duration) -> Self {
        self.request.duration = Some(duration);
        self
    }

    /// An inline session policy.
    pub fn policy(mut self, policy: impl Into<String>) -> Self {
        self.request.policy = Some(policy.into());
        self
    }

    /// The STS region (default: `config.region`, else `us-east-1`).
    pub fn region(mut self, region: impl Into<String>) -> Self {
        self.region = Some(region.into());
        self
    }

    /// Builds the provider; `source` supplies the credentials that sign `AssumeRole`.
    /// Invalid settings (session name, external id, duration, region) are `InvalidConfiguration`.
    pub fn build(
        self,
        source: SharedCredentialsProvider,
        config: &ProviderConfig,
    ) -> Result<AssumeRoleProvider, CredentialsError> {
        let mut request = self.request;
        request.role_session_name = self.session_name.unwrap_or_else(|| format!("cloudkit-session-{}", unix_millis()));
        request.validate().map_err(|e| invalid_config(&e))?;
        let region = self.region.or_else(|| config.region.clone()).unwrap_or_else(|| DEFAULT_STS_REGION.to_owned());
        let client = StsClient::new(config, region, Some(source)).map_err(|e| invalid_config(&e))?;
        Ok(AssumeRoleProvider { client, request })
    }
}

fn invalid_config(e: &StsError) -> CredentialsError {
    let message = e.error().message().map(str::to_owned).unwrap_or_else(|| e.to_string());
    CredentialsError::invalid_configuration(PROVIDER_NAME, message)
}

const PROVIDER_NAME: &str = "AssumeRole";

#[async_trait]
impl ProvideCredentials for AssumeRoleProvider {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        match self.client.assume_role(self.request.clone()).await {
            Ok(out) => Ok(out.credentials),
            Err(e) => Err(CredentialsError::provider_error(
                PROVIDER_NAME,
                format!("could not assume role {}: {e}", self.request.role_arn),
                Some(Box::new(e)),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use cloudkit_core::testing::{Canned, ReplayHttp};
    use cloudkit_core::{HttpSend, StatusCode};

    use super::*;
    use crate::aws::Env;

    const ASSUME_ROLE_OK: &str = r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <SourceIdentity>Alice</SourceIdentity>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>
      <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <SessionToken>SESSIONTOKENVALUE</SessionToken>
      <Expiration>2019-11-09T13:34:41Z</Expiration>
    </Credentials>
    <PackedPolicySize>6</PackedPolicySize>
  </AssumeRoleResult>
  <ResponseMetadata>
    <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
  </ResponseMetadata>
</AssumeRoleResponse>"#;

    const WEB_IDENTITY_OK: &str = r#"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</SubjectFromWebIdentityToken>
    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>
      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>WEBSESSIONTOKEN</SessionToken>
      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>
      <Expiration>2014-10-24T23:00:23.5Z</Expiration>
      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>
    </Credentials>
    <SourceIdentity>SourceIdentityValue</SourceIdentity>
    <Provider>www.amazon.com</Provider>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata>
    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>
  </ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>"#;

    fn error_xml(code: &str, message: &str) -> String {
        format!(
            "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type>\
             <Code>{code}</Code><Message>{message}</Message></Error><RequestId>req-err-1</RequestId></ErrorResponse>"
        )
    }

    fn config(http: Arc<ReplayHttp>) -> ProviderConfig {
        ProviderConfig::with_http(http as Arc<dyn HttpSend>).env(Env::from_pairs::<&str, &str>([]))
    }

    fn source() -> SharedCredentialsProvider {
        Arc::new(Credentials::from_keys("AKIDSOURCE", "sourcesecret"))
    }

    fn form(body: &[u8]) -> Vec<(String, String)> {
        url::form_urlencoded::parse(body).into_owned().collect()
    }

    #[tokio::test]
    async fn assume_role_request_shape_and_parse() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, ASSUME_ROLE_OK));
        let sts = StsClient::new(&config(http.clone()), "eu-west-1", Some(source())).unwrap();
        assert_eq!(sts.endpoint().as_str(), "https://sts.eu-west-1.amazonaws.com/");
        let out = sts
            .assume_role(
                AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "TestAR")
                    .external_id("ext-id+1/=")
                    .duration(Duration::from_secs(1800))
                    .policy_arn("arn:aws:iam::aws:policy/ReadOnlyAccess"),
            )
            .await
            .unwrap();
        let req = &http.requests()[0];
        assert_eq!(req.method, Method::POST);
        assert_eq!(req.headers["content-type"], QUERY_CONTENT_TYPE);
        let auth = req.headers["authorization"].to_str().unwrap();
        assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDSOURCE/"), "{auth}");
        assert!(auth.contains("/eu-west-1/sts/aws4_request"), "{auth}");
        let pairs = form(&req.body);
        let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Action"), Some("AssumeRole"));
        assert_eq!(get("Version"), Some("2011-06-15"));
        assert_eq!(get("RoleArn"), Some("arn:aws:iam::123456789012:role/demo"));
        assert_eq!(get("RoleSessionName"), Some("TestAR"));
        assert_eq!(get("ExternalId"), Some("ext-id+1/="));
        assert_eq!(get("DurationSeconds"), Some("1800"));
        assert_eq!(get("PolicyArns.member.1.arn"), Some("arn:aws:iam::aws:policy/ReadOnlyAccess"));
        let body = std::str::from_utf8(&req.body).unwrap();
        assert!(body.starts_with("Action=AssumeRole&Version=2011-06-15&"), "{body}");

        assert_eq!(out.credentials.access_key_id(), "ASIAIOSFODNN7EXAMPLE");
        assert_eq!(out.credentials.secret_access_key().expose(), "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
        assert_eq!(out.credentials.session_token().unwrap().expose(), "SESSIONTOKENVALUE");
        assert_eq!(out.credentials.expiry(), Some(UNIX_EPOCH + Duration::from_secs(1_573_306_481)));
        assert_eq!(out.credentials.provider_name(), "sts-assume-role");
        let user = out.assumed_role_user.unwrap();
        assert_eq!(user.arn, "arn:aws:sts::123456789012:assumed-role/demo/TestAR");
        assert_eq!(user.assumed_role_id, "ARO123EXAMPLE123:TestAR");
        assert_eq!(out.packed_policy_size, Some(6));
        assert_eq!(out.source_identity.as_deref(), Some("Alice"));
        assert_eq!(out.request_id.as_deref(), Some("c6104cbe-af31-11e0-8154-cbc7ccf896c7"));
    }

    #[tokio::test]
    async fn web_identity_is_unsigned_and_parsed() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, WEB_IDENTITY_OK));
        let sts = StsClient::new(&config(http.clone()), "us-east-1", None).unwrap();
        let out = sts
            .assume_role_with_web_identity(AssumeRoleWithWebIdentityRequest::new(
                "arn:aws:iam::123456789012:role/FederatedWebIdentityRole",
                "app1",
                "eyJhbGciOiJSUzI1NiJ9.payload.sig\n",
            ))
            .await
            .unwrap();
        let req = &http.requests()[0];
        assert!(!req.headers.contains_key("authorization"));
        let pairs = form(&req.body);
        assert!(pairs.contains(&("Action".into(), "AssumeRoleWithWebIdentity".into())));
        assert!(pairs.contains(&("WebIdentityToken".into(), "eyJhbGciOiJSUzI1NiJ9.payload.sig".into())));
        assert_eq!(out.credentials.access_key_id(), "ASgeIAIOSFODNN7EXAMPLE");
        assert_eq!(out.credentials.provider_name(), "sts-web-identity");
        assert_eq!(out.credentials.expiry(), Some(UNIX_EPOCH + Duration::from_millis(1_414_191_623_500)));
        assert_eq!(out.provider.as_deref(), Some("www.amazon.com"));
        assert_eq!(out.subject_from_web_identity_token.as_deref(), Some("amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A"));
        assert_eq!(out.audience.as_deref(), Some("client.5498841531868486423.1548@apps.example.com"));
    }

    #[tokio::test]
    async fn get_caller_identity_parses() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(
            200,
            "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/Alice</Arn>\
             <UserId>AIDACKCEVSQ6C2EXAMPLE</UserId><Account>123456789012</Account></GetCallerIdentityResult>\
             <ResponseMetadata><RequestId>01234567-89ab</RequestId></ResponseMetadata></GetCallerIdentityResponse>",
        ));
        let sts = StsClient::new(&config(http.clone()), "us-east-1", Some(source())).unwrap();
        let me = sts.get_caller_identity().await.unwrap();
        assert_eq!(me.account, "123456789012");
        assert_eq!(me.arn, "arn:aws:iam::123456789012:user/Alice");
        assert_eq!(me.user_id, "AIDACKCEVSQ6C2EXAMPLE");
        assert_eq!(me.request_id.as_deref(), Some("01234567-89ab"));
        assert_eq!(&http.requests()[0].body[..], b"Action=GetCallerIdentity&Version=2011-06-15");
    }

    #[tokio::test]
    async fn error_codes_become_typed_errors() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(403, error_xml("AccessDenied", "not authorized to perform sts:AssumeRole")));
        let sts = StsClient::new(&config(http.clone()), "us-east-1", Some(source())).unwrap();
        let e = sts.assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1")).await.unwrap_err();
        assert!(matches!(e, StsError::AccessDenied(_)), "{e:?}");
        assert_eq!(e.code(), Some("AccessDenied"));
        assert_eq!(e.error().status(), Some(StatusCode::FORBIDDEN));
        assert_eq!(e.error().request_id(), Some("req-err-1"));
        assert!(!e.is_retryable());
        assert!(e.to_string().contains("STS.AssumeRole failed: HTTP 403 AccessDenied"), "{e}");
        assert_eq!(http.requests().len(), 1, "AccessDenied is not retried");

        http.push(Canned::status(
            400,
            error_xml("ExpiredToken", "The security token included in the request is expired"),
        ));
        let e = sts.get_caller_identity().await.unwrap_err();
        assert!(matches!(e, StsError::ExpiredToken(_)), "{e:?}");

        http.push(Canned::status(400, error_xml("RegionDisabledException", "STS is not activated")));
        let e = sts.get_caller_identity().await.unwrap_err();
        assert!(matches!(e, StsError::RegionDisabled(_)), "{e:?}");

        http.push(Canned::status(400, error_xml("MalformedPolicyDocument", "bad policy")));
        let e = sts
            .assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1").policy("{"))
            .await
            .unwrap_err();
        assert!(matches!(e, StsError::MalformedPolicyDocument(_)), "{e:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn throttling_is_retried_by_the_pipeline() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(400, error_xml("Throttling", "Rate exceeded")));
        http.push(Canned::status(200, ASSUME_ROLE_OK));
        let sts = StsClient::new(&config(http.clone()), "us-east-1", Some(source())).unwrap();
        sts.assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1")).await.unwrap();
        assert_eq!(http.requests().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn idp_communication_error_is_retried_then_typed() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(400, error_xml("IDPCommunicationError", "could not reach the IdP")));
        http.push(Canned::status(200, WEB_IDENTITY_OK));
        let sts = StsClient::new(&config(http.clone()), "us-east-1", None).unwrap();
        let req = AssumeRoleWithWebIdentityRequest::new("arn:aws:iam::123456789012:role/web", "s1", "token");
        sts.assume_role_with_web_identity(req.clone()).await.unwrap();
        assert_eq!(http.requests().len(), 2);

        for _ in 0..3 {
            http.push(Canned::status(400, error_xml("IDPCommunicationError", "could not reach the IdP")));
        }
        let e = sts.assume_role_with_web_identity(req).await.unwrap_err();
        assert!(matches!(e, StsError::IdpCommunicationError(_)), "{e:?}");
        assert!(e.is_retryable());
        assert_eq!(http.requests().len(), 5);
    }

    #[tokio::test]
    async fn invalid_input_is_refused_before_sending() {
        let http = Arc::new(ReplayHttp::new());
        let sts = StsClient::new(&config(http.clone()), "us-east-1", Some(source())).unwrap();
        let arn = "arn:aws:iam::123456789012:role/demo";
        for bad in [
            AssumeRoleRequest::new(arn, "x"),
            AssumeRoleRequest::new(arn, "has space"),
            AssumeRoleRequest::new(arn, "a".repeat(65)),
            AssumeRoleRequest::new(arn, "ok-name").duration(Duration::from_secs(899)),
            AssumeRoleRequest::new(arn, "ok-name").duration(Duration::from_secs(43_201)),
            AssumeRoleRequest::new(arn, "ok-name").external_id("x"),
            AssumeRoleRequest::new("", "ok-name"),
        ] {
            let e = sts.assume_role(bad.clone()).await.unwrap_err();
            assert!(matches!(e, StsError::InvalidInput(_)), "{bad:?}: {e:?}");
            assert_eq!(e.error().kind(), ErrorKind::InvalidInput);
        }
        for good in ["ab", "user@example.com", "a_b+c=d,e.f-g", &"a".repeat(64)] {
            validate_session_name("t", good).unwrap();
        }
        validate_duration("t", Duration::from_secs(900)).unwrap();
        validate_duration("t", Duration::from_secs(43_200)).unwrap();
        let e = sts
            .assume_role_with_web_identity(AssumeRoleWithWebIdentityRequest::new(arn, "ok-name", "  "))
            .await
            .unwrap_err();
        assert!(matches!(e, StsError::InvalidInput(_)));
        assert!(http.requests().is_empty(), "nothing was sent");
    }

    #[test]
    fn endpoint_resolution_order() {
        let http: Arc<dyn HttpSend> = Arc::new(ReplayHttp::new());
        let env = Env::from_pairs([("AWS_ENDPOINT_URL", "http://generic:1"), ("AWS_ENDPOINT_URL_STS", "http://sts:2")]);
        let cfg = ProviderConfig::with_http(http.clone()).env(env.clone());
        assert_eq!(StsClient::new(&cfg, "eu-west-1", None).unwrap().endpoint().as_str(), "http://sts:2/");
        let cfg = cfg.sts_endpoint(Url::parse("http://explicit:3").unwrap());
        assert_eq!(StsClient::new(&cfg, "eu-west-1", None).unwrap().endpoint().as_str(), "http://explicit:3/");
        let cfg =
            ProviderConfig::with_http(http.clone()).env(Env::from_pairs([("AWS_ENDPOINT_URL", "http://generic:1")]));
        assert_eq!(StsClient::new(&cfg, "eu-west-1", None).unwrap().endpoint().as_str(), "http://generic:1/");
        let cfg = ProviderConfig::with_http(http.clone()).env(Env::from_pairs([("AWS_ENDPOINT_URL_STS", "not a url")]));
        assert!(matches!(StsClient::new(&cfg, "eu-west-1", None), Err(StsError::InvalidInput(_))));
        let cfg = ProviderConfig::with_http(http).env(Env::from_pairs::<&str, &str>([]));
        assert!(matches!(StsClient::new(&cfg, "eu-west-1/evil", None), Err(StsError::InvalidInput(_))));
    }

    #[tokio::test]
    async fn assume_role_provider_errors_are_provider_errors() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, ASSUME_ROLE_OK));
        http.push(Canned::status(403, error_xml("AccessDenied", "nope")));
        let cfg = config(http.clone()).region("ap-south-1");
        let provider =
            AssumeRoleProvider::builder("arn:aws:iam::123456789012:role/demo").build(source(), &cfg).unwrap();
        assert!(provider.session_name().starts_with("cloudkit-session-"));
        validate_session_name("t", provider.session_name()).unwrap();
        let creds = provider.provide_credentials().await.unwrap();
        assert_eq!(creds.access_key_id(), "ASIAIOSFODNN7EXAMPLE");
        assert!(http.requests()[0].headers["authorization"].to_str().unwrap().contains("/ap-south-1/sts/"));
        let e = provider.provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::ProviderError { .. }), "{e:?}");
        assert!(!e.is_not_loaded());
        assert!(e.to_string().contains("AccessDenied"), "{e}");

        let bad = AssumeRoleProvider::builder("arn:aws:iam::123456789012:role/demo")
            .duration(Duration::from_secs(60))
            .build(source(), &cfg)
            .unwrap_err();
        assert!(matches!(bad, CredentialsError::InvalidConfiguration { .. }), "{bad:?}");
        let bad = AssumeRoleProvider::builder("arn:aws:iam::123456789012:role/demo")
            .session_name("bad name!")
            .build(source(), &cfg)
            .unwrap_err();
        assert!(bad.to_string().contains("bad name!"), "{bad}");
    }

    #[tokio::test]
    async fn source_credential_failure_is_a_provider_error() {
        #[derive(Debug)]
        struct Broken;
        #[async_trait]
        impl ProvideCredentials for Broken {
            async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
                Err(CredentialsError::not_loaded("env", "unset"))
            }
        }
        let http = Arc::new(ReplayHttp::new());
        let provider = AssumeRoleProvider::builder("arn:aws:iam::123456789012:role/demo")
            .build(Arc::new(Broken), &config(http.clone()))
            .unwrap();
        let e = provider.provide_credentials().await.unwrap_err();
        assert!(matches!(e, CredentialsError::ProviderError { .. }), "{e:?}");
        assert!(http.requests().is_empty());
    }

    #[tokio::test]
    async fn secrets_stay_out_of_debug_and_errors() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, ASSUME_ROLE_OK));
        let sts = StsClient::new(&config(http.clone()), "us-east-1", Some(source())).unwrap();
        let out = sts.assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1")).await.unwrap();
        let shown = format!("{out:?} {sts:?}");
        assert!(!shown.contains("wJalrXUtnFEMI") && !shown.contains("SESSIONTOKENVALUE"), "{shown}");
        assert!(!shown.contains("sourcesecret"), "{shown}");
        let req = AssumeRoleWithWebIdentityRequest::new("arn:aws:iam::123456789012:role/web", "s1", "TOPSECRETJWT");
        assert!(!format!("{req:?}").contains("TOPSECRETJWT"));
    }

    fn assume_role_with_credentials(credentials: &str) -> String {
        format!(
            "<AssumeRoleResponse><AssumeRoleResult><Credentials>{credentials}</Credentials></AssumeRoleResult>\
             </AssumeRoleResponse>"
        )
    }

    async fn assume_role_replying(body: impl Into<Bytes>) -> Result<AssumeRoleOutput, StsError> {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, body));
        let sts = StsClient::new(&config(http), "us-east-1", Some(source())).unwrap();
        sts.assume_role(AssumeRoleRequest::new("arn:aws:iam::123456789012:role/demo", "s1")).await
    }

    #[tokio::test]
    async fn entities_cdata_and_whitespace_in_responses() {
        let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
            <AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><AssumeRoleResult>\
            <SourceIdentity>Alice &amp; Bob</SourceIdentity>\
            <AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/a&#x26;b/s1</Arn>\
            <AssumedRoleId>\n   ARO1:s1\n  </AssumedRoleId></AssumedRoleUser>\
            <Credentials><AccessKeyId> ASIAENTITY </AccessKeyId>\
            <SecretAccessKey>se&#99;ret&lt;&gt;/+</SecretAccessKey>\
            <SessionToken><![CDATA[tok&en]]></SessionToken>\
            <Expiration>\n2030-01-01T00:00:00Z\n</Expiration></Credentials>\
            <PackedPolicySize> 12 </PackedPolicySize></AssumeRoleResult>\
            <ResponseMetadata><RequestId>req-&quot;1&quot;</RequestId></ResponseMetadata></AssumeRoleResponse>";
        let out = assume_role_replying(body.to_owned()).await.unwrap();
        assert_eq!(out.credentials.access_key_id(), "ASIAENTITY");
        assert_eq!(out.credentials.secret_access_key().expose(), "secret<>/+");
        assert_eq!(out.credentials.session_token().unwrap().expose(), "tok&en");
        assert_eq!(out.credentials.expiry(), Some(UNIX_EPOCH + Duration::from_secs(1_893_456_000)));
        assert_eq!(out.source_identity.as_deref(), Some("Alice & Bob"));
        let user = out.assumed_role_user.unwrap();
        assert_eq!(user.arn, "arn:aws:sts::123456789012:assumed-role/a&b/s1");
        assert_eq!(user.assumed_role_id, "ARO1:s1");
        assert_eq!(out.packed_policy_size, Some(12));
        assert_eq!(out.request_id.as_deref(), Some("req-\"1\""));
    }

    #[tokio::test]
    async fn optional_parts_may_be_absent() {
        let body = assume_role_with_credentials(
            "<AccessKeyId>ASIAMIN</AccessKeyId><SecretAccessKey>s</SecretAccessKey>\
             <Expiration>2030-01-01T00:00:00Z</Expiration>",
        );
        let out = assume_role_replying(body).await.unwrap();
        assert_eq!(out.credentials.access_key_id(), "ASIAMIN");
        assert!(out.credentials.session_token().is_none());
        assert!(out.assumed_role_user.is_none());
        assert_eq!((out.packed_policy_size, out.source_identity, out.request_id), (None, None, None));
    }

    #[tokio::test]
    async fn a_missing_credential_field_is_a_decode_error_naming_it() {
        const SECRET: &str = "VERYSECRETKEYVALUE";
        const TOKEN: &str = "VERYSECRETTOKEN";
        let fields = [
            ("AccessKeyId", "ASIAFIELD".to_owned()),
            ("SecretAccessKey", SECRET.to_owned()),
            ("Expiration", "2030-01-01T00:00:00Z".to_owned()),
        ];
        for (missing, _) in &fields {
            let mut xml = format!("<SessionToken>{TOKEN}</SessionToken>");
            for (name, value) in fields.iter().filter(|(n, _)| n != missing) {
                xml.push_str(&format!("<{name}>{value}</{name}>"));
            }
            let e = assume_role_replying(assume_role_with_credentials(&xml)).await.unwrap_err();
            assert!(matches!(e, StsError::Other(_)), "{e:?}");
            assert_eq!(e.error().kind(), ErrorKind::Decode);
            let shown = format!("{e} {e:?}");
            assert!(shown.contains(&format!("<Credentials> has no <{missing}>")), "{shown}");
            assert!(!shown.contains(SECRET) && !shown.contains(TOKEN), "{shown}");
        }

        let e = assume_role_replying(
            "<AssumeRoleResponse><AssumeRoleResult></AssumeRoleResult></AssumeRoleResponse>".to_owned(),
        )
        .await
        .unwrap_err();
        assert!(e.to_string().contains("<AssumeRoleResult> has no <Credentials>"), "{e}");

        let e = assume_role_replying(assume_role_with_credentials(&format!(
            "<AccessKeyId>A</AccessKeyId><SecretAccessKey>{SECRET}</SecretAccessKey><Expiration>soon</Expiration>"
        )))
        .await
        .unwrap_err();
        assert_eq!(e.error().kind(), ErrorKind::Decode);
        assert!(e.to_string().contains("credential expiration `soon` is not an RFC 3339 time"), "{e}");
        assert!(!format!("{e} {e:?}").contains(SECRET));

        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(
            200,
            "<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn</Arn><UserId>u</UserId>\
             </GetCallerIdentityResult></GetCallerIdentityResponse>",
        ));
        let sts = StsClient::new(&config(http), "us-east-1", Some(source())).unwrap();
        let e = sts.get_caller_identity().await.unwrap_err();
        assert_eq!(e.error().kind(), ErrorKind::Decode);
        assert!(e.to_string().contains("<GetCallerIdentityResult> has no <Account>"), "{e}");
    }

    #[tokio::test]
    async fn malformed_responses_are_decode_errors() {
        let complete = ASSUME_ROLE_OK;
        let bad_size = complete.replace("<PackedPolicySize>6<", "<PackedPolicySize>six<");
        let partial_user = complete.replace("<AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>", "");
        for body in [
            String::new(),
            "not xml".to_owned(),
            complete[..complete.len() / 2].to_owned(),
            complete.replace("</SessionToken>", "</Session>"),
            complete.replace("SESSIONTOKENVALUE", "SESSION&unknown;TOKEN"),
            format!("{complete}<Extra/>"),
            bad_size,
            partial_user,
            "{\"AssumeRoleResult\": {}}".to_owned(),
        ] {
            let e = assume_role_replying(body.clone()).await.unwrap_err();
            assert!(matches!(e, StsError::Other(_)), "{body}: {e:?}");
            assert_eq!(e.error().kind(), ErrorKind::Decode, "{body}");
            assert!(e.to_string().contains("unexpected STS response"), "{e}");
            assert!(!format!("{e} {e:?}").contains("wJalrXUtnFEMI"), "{e:?}");
        }
        let mut not_utf8 = ASSUME_ROLE_OK.as_bytes().to_vec();
        let at = ASSUME_ROLE_OK.find("Alice").unwrap();
        not_utf8[at] = 0xff;
        let e = assume_role_replying(not_utf8).await.unwrap_err();
        assert_eq!(e.error().kind(), ErrorKind::Decode);
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }

    #[tokio::test]
    async fn garbage_response_is_a_decode_error() {
        let http = Arc::new(ReplayHttp::new());
        http.push(Canned::status(200, "<html>not sts</html>"));
        let sts = StsClient::new(&config(http.clone()), "us-east-1", Some(source())).unwrap();
        let e = sts.get_caller_identity().await.unwrap_err();
        assert_eq!(e.error().kind(), ErrorKind::Decode);
    }
}
