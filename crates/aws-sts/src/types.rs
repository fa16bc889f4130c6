//! The inputs and outputs of the STS operations, and the checks an input passes before it is sent.

use std::fmt;
use std::time::Duration;

use cloudkit_aws_protocol::QueryBody;
use cloudkit_core::{Bytes, SecretString};
use cloudkit_signer::aws::Credentials;

use crate::error::StsError;
use crate::{API_VERSION, MAX_DURATION, MIN_DURATION};

/// The `duration` and `policy` setters both AssumeRole requests have.
macro_rules! session_setters {
    () => {
        /// Sets the session duration (900 s – 43 200 s, within the role's maximum).
        pub fn duration(mut self, duration: Duration) -> Self {
            self.duration = Some(duration);
            self
        }

        /// Sets an inline session policy (JSON) that narrows the role's permissions.
        pub fn policy(mut self, policy: impl Into<String>) -> Self {
            self.policy = Some(policy.into());
            self
        }
    };
}

/// Input of [`StsClient::assume_role`](crate::StsClient::assume_role).
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

    session_setters!();

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

    /// Checks the input as [`StsClient::assume_role`](crate::StsClient::assume_role) does before
    /// sending: the role ARN, the session name, the external id and the duration.
    pub fn validate(&self) -> Result<(), StsError> {
        const OP: &str = "AssumeRole";
        validate_role_session(OP, &self.role_arn, &self.role_session_name, self.duration)?;
        if let Some(id) = &self.external_id {
            validate_external_id(OP, id)?;
        }
        Ok(())
    }

    pub(crate) fn body(&self) -> Bytes {
        let mut body = role_session_body("AssumeRole", &self.role_arn, &self.role_session_name);
        if let Some(id) = &self.external_id {
            body.push("ExternalId", id);
        }
        push_session_limits(&mut body, self.duration, self.policy.as_deref());
        for (i, arn) in self.policy_arns.iter().enumerate() {
            body.push(&format!("PolicyArns.member.{}.arn", i + 1), arn);
        }
        if let Some(s) = &self.source_identity {
            body.push("SourceIdentity", s);
        }
        body.into_bytes()
    }
}

/// Input of [`StsClient::assume_role_with_web_identity`](crate::StsClient::assume_role_with_web_identity).
/// `Debug` hides the token.
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

    session_setters!();

    /// Sets the OAuth 2.0 provider id.
    pub fn provider_id(mut self, provider_id: impl Into<String>) -> Self {
        self.provider_id = Some(provider_id.into());
        self
    }

    /// Checks the input as
    /// [`StsClient::assume_role_with_web_identity`](crate::StsClient::assume_role_with_web_identity)
    /// does before sending: the role ARN, the session name, the token and the duration.
    pub fn validate(&self) -> Result<(), StsError> {
        const OP: &str = "AssumeRoleWithWebIdentity";
        validate_role_session(OP, &self.role_arn, &self.role_session_name, self.duration)?;
        if self.web_identity_token.expose().trim().is_empty() {
            return Err(StsError::invalid_input(OP, "the web identity token is empty"));
        }
        Ok(())
    }

    pub(crate) fn body(&self) -> Bytes {
        let mut body = role_session_body("AssumeRoleWithWebIdentity", &self.role_arn, &self.role_session_name);
        body.push("WebIdentityToken", self.web_identity_token.expose().trim());
        push_session_limits(&mut body, self.duration, self.policy.as_deref());
        if let Some(p) = &self.provider_id {
            body.push("ProviderId", p);
        }
        body.into_bytes()
    }
}

/// `Action`, `Version`, `RoleArn` and `RoleSessionName`, the start of both AssumeRole bodies.
fn role_session_body(action: &str, role_arn: &str, role_session_name: &str) -> QueryBody {
    QueryBody::new(action, API_VERSION).param("RoleArn", role_arn).param("RoleSessionName", role_session_name)
}

/// `DurationSeconds` and `Policy`, when set.
fn push_session_limits(body: &mut QueryBody, duration: Option<Duration>, policy: Option<&str>) {
    if let Some(d) = duration {
        body.push("DurationSeconds", &d.as_secs().to_string());
    }
    if let Some(p) = policy {
        body.push("Policy", p);
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

/// Output of [`StsClient::assume_role`](crate::StsClient::assume_role).
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

/// Output of [`StsClient::assume_role_with_web_identity`](crate::StsClient::assume_role_with_web_identity).
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

/// Output of [`StsClient::get_caller_identity`](crate::StsClient::get_caller_identity).
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

/// Checks an STS session name: 2–64 characters of `[A-Za-z0-9_+=,.@-]`.
///
/// ```
/// use cloudkit_aws_sts::validate_session_name;
/// assert!(validate_session_name("AssumeRole", "nightly-deploy").is_ok());
/// assert!(validate_session_name("AssumeRole", "has space").is_err());
/// ```
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

/// The checks both AssumeRole requests share: the role ARN, the session name and the duration.
fn validate_role_session(
    operation: &'static str,
    role_arn: &str,
    session_name: &str,
    duration: Option<Duration>,
) -> Result<(), StsError> {
    validate_role_arn(operation, role_arn)?;
    validate_session_name(operation, session_name)?;
    if let Some(d) = duration {
        validate_duration(operation, d)?;
    }
    Ok(())
}

pub(crate) fn validate_duration(operation: &'static str, duration: Duration) -> Result<(), StsError> {
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
