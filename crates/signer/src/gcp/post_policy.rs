//! GCS V4 POST policies: signed HTML-form uploads (`GOOG4-RSA-SHA256`).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use base64::Engine as _;

use super::v4::{DEFAULT_HOST, MAX_SIGNED_URL_EXPIRY};
use super::{SignBlob, SigningError, UrlStyle};

/// A condition of a POST policy besides the exact-match fields.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyCondition {
    /// `["starts-with", "$field", "prefix"]`.
    StartsWith(String, String),
    /// `["content-length-range", min, max]`.
    ContentLengthRange(u64, u64),
}

/// What a POST policy allows: an upload of `object` into `bucket` until it expires.
#[derive(Clone, Debug)]
pub struct PostPolicyRequest {
    /// The bucket.
    pub bucket: String,
    /// The object name (the form's `key`).
    pub object: String,
    /// Validity (at most 7 days).
    pub expires_in: Duration,
    /// The signing time (default: now).
    pub time: Option<SystemTime>,
    /// Form fields that must match exactly (`content-type`, `x-goog-meta-*`, `acl`, …).
    pub fields: BTreeMap<String, String>,
    /// Other conditions.
    pub conditions: Vec<PolicyCondition>,
    /// Where the form posts.
    pub url_style: UrlStyle,
    /// The scheme (default `https`).
    pub scheme: Option<String>,
}

impl PostPolicyRequest {
    /// A policy for uploading `object` into `bucket`, valid for `expires_in`.
    pub fn new(bucket: impl Into<String>, object: impl Into<String>, expires_in: Duration) -> Self {
        Self {
            bucket: bucket.into(),
            object: object.into(),
            expires_in,
            time: None,
            fields: BTreeMap::new(),
            conditions: Vec::new(),
            url_style: UrlStyle::PathStyle,
            scheme: None,
        }
    }

    /// Adds an exact-match form field.
    pub fn field(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.fields.insert(name.into(), value.into());
        self
    }

    /// Adds a condition.
    pub fn condition(mut self, condition: PolicyCondition) -> Self {
        self.conditions.push(condition);
        self
    }
}

/// A signed POST policy: the form's action URL and its fields (including `policy` and
/// `x-goog-signature`). `Debug` hides the signature.
#[derive(Clone)]
pub struct PostPolicy {
    /// The form's action URL.
    pub url: String,
    /// The form fields to send with the file.
    pub fields: BTreeMap<String, String>,
    /// The policy document before base64 encoding.
    pub policy_json: String,
}

impl std::fmt::Debug for PostPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: BTreeMap<&str, &str> = self
            .fields
            .iter()
            .map(|(k, v)| {
                (k.as_str(), if k.eq_ignore_ascii_case("x-goog-signature") { "** redacted **" } else { v.as_str() })
            })
            .collect();
        f.debug_struct("PostPolicy").field("url", &self.url).field("fields", &fields).finish_non_exhaustive()
    }
}

/// Signs a POST policy with `signer`.
///
/// ```
/// # async fn demo(key: &cloudkit_signer::gcp::ServiceAccountKey) -> Result<(), cloudkit_signer::gcp::SigningError> {
/// use std::time::Duration;
/// use cloudkit_signer::gcp::{PolicyCondition, PostPolicyRequest, sign_post_policy};
/// let request = PostPolicyRequest::new("my-bucket", "uploads/photo.jpg", Duration::from_secs(600))
///     .field("content-type", "image/jpeg")
///     .condition(PolicyCondition::ContentLengthRange(0, 10 << 20));
/// let policy = sign_post_policy(&request, key).await?;
/// println!("<form action=\"{}\"> with {} fields", policy.url, policy.fields.len());
/// # Ok(()) }
/// ```
pub async fn sign_post_policy(request: &PostPolicyRequest, signer: &dyn SignBlob) -> Result<PostPolicy, SigningError> {
    if request.expires_in > MAX_SIGNED_URL_EXPIRY || request.expires_in.as_secs() == 0 {
        return Err(SigningError::InvalidRequest("a POST policy is valid for 1 second to 7 days".into()));
    }
    super::v4::check_bucket(&request.bucket)?;
    let email = signer.client_email().await?;
    let now = super::v4::signing_time(request.time)?;
    let datetime = super::v4::compact(now)?;
    let credential = format!("{email}/{}/auto/storage/goog4_request", &datetime[..8]);
    // Cannot overflow: the signing time is before year 9999 and the expiry at most 7 days.
    let expiration = now + request.expires_in;
    let expiration = cloudkit_core::internal::date::format_rfc3339(SystemTime::from(expiration))
        .ok_or_else(|| SigningError::InvalidRequest("the policy expiry is out of range".into()))?;

    let mut conditions: Vec<String> = request
        .conditions
        .iter()
        .map(|c| match c {
            PolicyCondition::StartsWith(field, prefix) => {
                format!("[\"starts-with\",{},{}]", json_string(field), json_string(prefix))
            }
            PolicyCondition::ContentLengthRange(min, max) => format!("[\"content-length-range\",{min},{max}]"),
        })
        .collect();
    for (k, v) in &request.fields {
        conditions.push(format!("{{{}:{}}}", json_string(k), json_string(v)));
    }
    for (k, v) in [
        ("bucket", request.bucket.as_str()),
        ("key", request.object.as_str()),
        ("x-goog-date", datetime.as_str()),
        ("x-goog-credential", credential.as_str()),
        ("x-goog-algorithm", "GOOG4-RSA-SHA256"),
    ] {
        conditions.push(format!("{{{}:{}}}", json_string(k), json_string(v)));
    }
    let policy_json =
        format!("{{\"conditions\":[{}],\"expiration\":{}}}", conditions.join(","), json_string(&expiration));
    let policy = base64::engine::general_purpose::STANDARD.encode(policy_json.as_bytes());
    let signature = hex::encode(signer.sign_blob(policy.as_bytes()).await?);

    let scheme = request.scheme.as_deref().unwrap_or("https");
    let url = match &request.url_style {
        UrlStyle::PathStyle => format!("{scheme}://{DEFAULT_HOST}/{}/", request.bucket),
        UrlStyle::VirtualHostedStyle => format!("{scheme}://{}.{DEFAULT_HOST}/", request.bucket),
        UrlStyle::BucketBoundHostname(h) => format!("{scheme}://{}/", h.trim_end_matches('/')),
    };
    let mut fields = request.fields.clone();
    fields.insert("key".into(), request.object.clone());
    fields.insert("x-goog-algorithm".into(), "GOOG4-RSA-SHA256".into());
    fields.insert("x-goog-credential".into(), credential);
    fields.insert("x-goog-date".into(), datetime);
    fields.insert("x-goog-signature".into(), signature);
    fields.insert("policy".into(), policy);
    Ok(PostPolicy { url, fields, policy_json })
}

/// A JSON string with non-ASCII characters escaped as `\uXXXX`, as Google's libraries write
/// policy documents.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    cloudkit_core::internal::json::write_str_ascii(&mut out, s);
    out
}
