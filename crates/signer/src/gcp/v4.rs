//! GCS V4 signed URLs (GOOG4-RSA-SHA256).

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use cloudkit_core::{encode_path, encode_unreserved};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use url::Url;

use super::{SignBlob, SigningError};

/// The longest validity GCS accepts for a V4 signed URL: 7 days.
pub const MAX_SIGNED_URL_EXPIRY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The default endpoint host.
pub const DEFAULT_HOST: &str = "storage.googleapis.com";

/// How the bucket appears in the URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlStyle {
    /// `https://storage.googleapis.com/<bucket>/<object>` (default).
    #[default]
    PathStyle,
    /// `https://<bucket>.storage.googleapis.com/<object>`.
    VirtualHostedStyle,
    /// `https://<hostname>/<object>`: a CNAME bound to the bucket (e.g. `mydomain.tld`).
    BucketBoundHostname(String),
}

/// What to sign: a method on a bucket or object, valid for a while.
///
/// ```
/// use std::time::Duration;
/// use cloudkit_signer::gcp::SignedUrlRequest;
/// let request = SignedUrlRequest::new(cloudkit_core::Method::GET, "my-bucket", Some("hello.txt"), Duration::from_secs(600))
///     .header("x-goog-meta-origin", "cloudkit")
///     .query("response-content-type", "text/plain");
/// # let _ = request;
/// ```
#[derive(Clone, Debug)]
pub struct SignedUrlRequest {
    /// The HTTP method the URL allows.
    pub method: cloudkit_core::Method,
    /// The bucket.
    pub bucket: String,
    /// The object (`None` for bucket-level URLs such as a listing).
    pub object: Option<String>,
    /// Validity (at most [`MAX_SIGNED_URL_EXPIRY`]).
    pub expires_in: Duration,
    /// The signing time (default: now).
    pub time: Option<SystemTime>,
    /// Extra headers the request must carry (signed). `host` is added automatically.
    pub headers: BTreeMap<String, String>,
    /// Extra query parameters (signed).
    pub query: BTreeMap<String, String>,
    /// Path-style, virtual-hosted or bucket-bound hostname.
    pub url_style: UrlStyle,
    /// The endpoint: a host (`storage.googleapis.com`, `localhost:8080`) or a URL
    /// (`http://localhost:9000`). Default `storage.googleapis.com`.
    pub endpoint: Option<String>,
    /// The scheme when `endpoint` has none (default `https`).
    pub scheme: Option<String>,
    /// A non-default universe domain (`storage.<domain>` becomes the endpoint unless `endpoint`
    /// is set).
    pub universe_domain: Option<String>,
}

impl SignedUrlRequest {
    /// A request for `method` on `bucket`/`object`, valid for `expires_in`.
    pub fn new(
        method: cloudkit_core::Method,
        bucket: impl Into<String>,
        object: Option<&str>,
        expires_in: Duration,
    ) -> Self {
        Self {
            method,
            bucket: bucket.into(),
            object: object.map(str::to_owned),
            expires_in,
            time: None,
            headers: BTreeMap::new(),
            query: BTreeMap::new(),
            url_style: UrlStyle::PathStyle,
            endpoint: None,
            scheme: None,
            universe_domain: None,
        }
    }

    /// Adds a header the request must carry.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(name.into(), value.into());
        self
    }

    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.insert(name.into(), value.into());
        self
    }

    /// Sets the URL style.
    pub fn url_style(mut self, style: UrlStyle) -> Self {
        self.url_style = style;
        self
    }

    /// Sets the endpoint (host, `host:port` or URL).
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the scheme used when the endpoint has none.
    pub fn scheme(mut self, scheme: impl Into<String>) -> Self {
        self.scheme = Some(scheme.into());
        self
    }

    /// Sets a non-default universe domain (e.g. `domain.com`).
    pub fn universe_domain(mut self, domain: impl Into<String>) -> Self {
        self.universe_domain = Some(domain.into());
        self
    }

    /// Sets the signing time.
    pub fn time(mut self, time: SystemTime) -> Self {
        self.time = Some(time);
        self
    }
}

/// The pieces of a V4 signature before the RSA step (exposed for tests and debugging).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PreparedSignedUrl {
    /// The canonical request.
    pub canonical_request: String,
    /// The string to sign.
    pub string_to_sign: String,
    /// The URL without `X-Goog-Signature`.
    pub url_without_signature: String,
}

/// A signed URL, and the headers a client must send with it. `Debug` leaves the query (with its
/// signature) out: the URL works as a password until it expires.
#[derive(Clone)]
pub struct SignedUrl {
    /// The URL (parsed, so a default port such as `:443` is dropped).
    pub url: Url,
    /// The URL exactly as signed (keeps an explicit endpoint's port).
    pub url_text: String,
    /// The signed headers other than `host`, which the request must carry unchanged.
    pub headers: BTreeMap<String, String>,
    /// The canonical request that was signed.
    pub canonical_request: String,
    /// The string that was signed.
    pub string_to_sign: String,
}

impl std::fmt::Debug for SignedUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut shown = self.url.clone();
        shown.set_query(None);
        f.debug_struct("SignedUrl")
            .field("url", &format_args!("{shown}?** signed query redacted **"))
            .field("headers", &self.headers)
            .finish_non_exhaustive()
    }
}

/// The signing time as a date, rejecting times that cannot be written as a V4 timestamp
/// (before 1970, or so late that the expiry would pass year 9999) instead of panicking.
pub(crate) fn signing_time(time: Option<SystemTime>) -> Result<OffsetDateTime, SigningError> {
    let time = time.unwrap_or_else(SystemTime::now);
    let secs = time
        .duration_since(SystemTime::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .ok_or_else(|| SigningError::InvalidRequest("the signing time is before 1970".into()))?;
    let at = OffsetDateTime::from_unix_timestamp(secs)
        .map_err(|_| SigningError::InvalidRequest("the signing time is out of range".into()))?;
    if at.year() > 9998 {
        return Err(SigningError::InvalidRequest("the signing time is out of range".into()));
    }
    Ok(at)
}

/// `20261123T100000Z`, the form the signature's date fields take.
pub(crate) fn compact(t: OffsetDateTime) -> Result<String, SigningError> {
    cloudkit_core::internal::date::format_iso8601_basic(SystemTime::from(t))
        .ok_or_else(|| SigningError::InvalidRequest("the signing time is out of range".into()))
}

/// Builds the canonical request, string to sign and unsigned URL for `request` signed by `email`.
pub fn prepare(request: &SignedUrlRequest, email: &str) -> Result<PreparedSignedUrl, SigningError> {
    if request.expires_in > MAX_SIGNED_URL_EXPIRY {
        return Err(SigningError::InvalidRequest(format!(
            "expiry of {} s exceeds the 7-day maximum (604800 s)",
            request.expires_in.as_secs()
        )));
    }
    if request.expires_in.as_secs() == 0 {
        return Err(SigningError::InvalidRequest("expiry must be at least 1 second".into()));
    }
    check_bucket(&request.bucket)?;
    if let Some(object) = &request.object {
        check_object(object)?;
    }
    let time = signing_time(request.time)?;
    let datetime = compact(time)?;
    let date = &datetime[..8];
    let scope = format!("{date}/auto/storage/goog4_request");

    // Endpoint: scheme and authority for the URL; host without port for the `host` header.
    let (scheme, authority) = match request.endpoint.as_deref() {
        Some(ep) => match ep.split_once("://") {
            Some((s, rest)) => (s.to_owned(), rest.trim_end_matches('/').to_owned()),
            None => (request.scheme.clone().unwrap_or_else(|| "https".into()), ep.trim_end_matches('/').to_owned()),
        },
        None => (
            request.scheme.clone().unwrap_or_else(|| "https".into()),
            request.universe_domain.as_ref().map_or_else(|| DEFAULT_HOST.to_owned(), |u| format!("storage.{u}")),
        ),
    };
    // RFC 3986: object paths keep their `/`; query names and values encode every reserved byte.
    let object_path = request.object.as_deref().map(encode_path);
    let bucket = &request.bucket;
    let (url_authority, path) = match &request.url_style {
        UrlStyle::PathStyle => (
            authority.clone(),
            match &object_path {
                Some(o) => format!("/{bucket}/{o}"),
                None => format!("/{bucket}"),
            },
        ),
        UrlStyle::VirtualHostedStyle => {
            (format!("{bucket}.{authority}"), format!("/{}", object_path.clone().unwrap_or_default()))
        }
        UrlStyle::BucketBoundHostname(h) => {
            let h = h.split_once("://").map_or(h.as_str(), |(_, r)| r).trim_end_matches('/');
            (h.to_owned(), format!("/{}", object_path.clone().unwrap_or_default()))
        }
    };
    let host = strip_port(&url_authority);

    // Headers: lowercase names, trimmed values with inner whitespace collapsed.
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &request.headers {
        let name = name.trim().to_ascii_lowercase();
        if name.is_empty() || name.contains(['\n', '\r', ':']) {
            return Err(SigningError::InvalidRequest(format!("invalid header name {name:?}")));
        }
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        headers.insert(name, value);
    }
    headers.insert("host".into(), host.to_owned());
    let signed_headers = headers.keys().cloned().collect::<Vec<_>>().join(";");
    let payload = headers.get("x-goog-content-sha256").cloned().unwrap_or_else(|| "UNSIGNED-PAYLOAD".into());

    let mut query: Vec<(String, String)> = vec![
        ("X-Goog-Algorithm".into(), "GOOG4-RSA-SHA256".into()),
        ("X-Goog-Credential".into(), format!("{email}/{scope}")),
        ("X-Goog-Date".into(), datetime.clone()),
        ("X-Goog-Expires".into(), request.expires_in.as_secs().to_string()),
        ("X-Goog-SignedHeaders".into(), signed_headers.clone()),
    ];
    for (k, v) in &request.query {
        query.push((k.clone(), v.clone()));
    }
    let mut encoded: Vec<(String, String)> =
        query.iter().map(|(k, v)| (encode_unreserved(k), encode_unreserved(v))).collect();
    encoded.sort();
    let canonical_query = encoded.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");

    let mut canonical_headers = String::new();
    for (k, v) in &headers {
        canonical_headers.push_str(k);
        canonical_headers.push(':');
        canonical_headers.push_str(v);
        canonical_headers.push('\n');
    }
    let canonical_request = format!(
        "{}\n{path}\n{canonical_query}\n{canonical_headers}\n{signed_headers}\n{payload}",
        request.method.as_str()
    );
    let string_to_sign =
        format!("GOOG4-RSA-SHA256\n{datetime}\n{scope}\n{}", hex::encode(Sha256::digest(canonical_request.as_bytes())));
    let url_without_signature = format!("{scheme}://{url_authority}{path}?{canonical_query}");
    Ok(PreparedSignedUrl { canonical_request, string_to_sign, url_without_signature })
}

/// Signs `request` with `signer` (a local [`ServiceAccountKey`](super::ServiceAccountKey) or a
/// remote signer) and returns the URL.
///
/// ```
/// # async fn demo(key_json: &str) -> Result<(), cloudkit_signer::gcp::SigningError> {
/// use std::time::Duration;
/// use cloudkit_signer::gcp::{ServiceAccountKey, SignedUrlRequest, sign_url};
/// let key = ServiceAccountKey::from_json(key_json)?;
/// let request = SignedUrlRequest::new(cloudkit_core::Method::GET, "my-bucket", Some("a/b.txt"), Duration::from_secs(3600));
/// let signed = sign_url(&request, &key).await?;
/// println!("{}", signed.url);
/// # Ok(()) }
/// ```
pub async fn sign_url(request: &SignedUrlRequest, signer: &dyn SignBlob) -> Result<SignedUrl, SigningError> {
    let email = signer.client_email().await?;
    let prepared = prepare(request, &email)?;
    let signature = signer.sign_blob(prepared.string_to_sign.as_bytes()).await?;
    let url = format!("{}&X-Goog-Signature={}", prepared.url_without_signature, hex::encode(signature));
    let url_text = url;
    let url =
        Url::parse(&url_text).map_err(|e| SigningError::InvalidRequest(format!("the signed URL is invalid: {e}")))?;
    let mut headers: BTreeMap<String, String> = request
        .headers
        .iter()
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.split_whitespace().collect::<Vec<_>>().join(" ")))
        .collect();
    headers.remove("host");
    Ok(SignedUrl {
        url,
        url_text,
        headers,
        canonical_request: prepared.canonical_request,
        string_to_sign: prepared.string_to_sign,
    })
}

/// A bucket name goes into the URL as it is (path, or host for virtual-hosted URLs): only the
/// characters GCS allows in bucket names (ASCII letters, digits, `-`, `_`, `.`), and not `.` or
/// `..`, which a URL parser would resolve away.
pub(crate) fn check_bucket(bucket: &str) -> Result<(), SigningError> {
    if bucket.is_empty() {
        return Err(SigningError::InvalidRequest("the bucket name is empty".into()));
    }
    if bucket == "." || bucket == ".." || !bucket.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)) {
        return Err(SigningError::InvalidRequest(format!("{bucket:?} is not a valid bucket name")));
    }
    Ok(())
}

/// The XML API keeps an object name's `/` in the URL path, so a `.` or `..` segment would be
/// resolved by every URL parser (`b/../other/x` → `/other/x`, another bucket). Such names are
/// refused; anything else (`%2e%2e` included) is percent-encoded and stays in the bucket.
fn check_object(object: &str) -> Result<(), SigningError> {
    if object.split('/').any(|segment| segment == "." || segment == "..") {
        return Err(SigningError::InvalidRequest(format!(
            "the object name {object:?} has a `.` or `..` segment, which would leave the bucket in a signed URL"
        )));
    }
    Ok(())
}

fn strip_port(authority: &str) -> &str {
    if authority.starts_with('[') {
        // IPv6 literal: keep the brackets, drop a port after them.
        return authority.find(']').map_or(authority, |i| &authority[..=i]);
    }
    match authority.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => authority,
    }
}
