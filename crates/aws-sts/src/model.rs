//! Reading STS response bodies (`<XResponse><XResult>…</XResult><ResponseMetadata>
//! <RequestId>…`) from a [`cloudkit_core::internal::xml`] tree, without serde. Values are trimmed.
//! Secrets go from the body straight into [`SecretString`]s; error messages name elements,
//! never the text of a credential.

use cloudkit_core::SecretString;
use cloudkit_core::internal::date::parse_rfc3339;
use cloudkit_core::internal::xml::{Element, XmlError};
use cloudkit_signer::aws::Credentials;

use crate::error::StsError;
use crate::types::AssumedRoleUser;

/// A body that is not the expected XML, as a decode error naming what is wrong.
fn malformed(operation: &'static str, e: &XmlError) -> StsError {
    StsError::decode(operation, format!("unexpected STS response: {e}"))
}

/// The root element of a response body.
pub(crate) fn parse<'a>(operation: &'static str, body: &'a [u8]) -> Result<Element<'a>, StsError> {
    Element::parse(body).map_err(|e| malformed(operation, &e))
}

/// The `<XResult>` element of a response.
pub(crate) fn result<'e, 'a>(
    operation: &'static str,
    root: &'e Element<'a>,
    name: &str,
) -> Result<&'e Element<'a>, StsError> {
    root.required(name).map_err(|e| malformed(operation, &e))
}

/// `<ResponseMetadata><RequestId>`.
pub(crate) fn request_id(root: &Element<'_>) -> Option<String> {
    root.child("ResponseMetadata").and_then(|m| optional(m, "RequestId"))
}

/// The trimmed text of the child `name`, if there is one.
pub(crate) fn optional(parent: &Element<'_>, name: &str) -> Option<String> {
    parent.child_text(name).map(|t| t.trim().to_owned())
}

/// The trimmed text of the child `name`, or a decode error naming it.
pub(crate) fn required(operation: &'static str, parent: &Element<'_>, name: &str) -> Result<String, StsError> {
    required_text(operation, parent, name).map(str::to_owned)
}

fn required_text<'e>(operation: &'static str, parent: &'e Element<'_>, name: &str) -> Result<&'e str, StsError> {
    parent.required_text(name).map(str::trim).map_err(|e| malformed(operation, &e))
}

/// `<PackedPolicySize>`.
pub(crate) fn packed_policy_size(operation: &'static str, result: &Element<'_>) -> Result<Option<u32>, StsError> {
    result.child_parse("PackedPolicySize").map_err(|e| malformed(operation, &e))
}

/// `<AssumedRoleUser>`: both fields are required when the element is there.
pub(crate) fn assumed_role_user(
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
pub(crate) fn credentials(
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
        StsError::decode(operation, format!("credential expiration `{expiration}` is not an RFC 3339 time"))
    })?;
    Ok(Credentials::new(access_key_id, secret_access_key, session_token, Some(expiry), provider))
}
