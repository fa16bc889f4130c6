//! SigV4 header signing and presigned URLs, computed by `aws-sigv4`.

use std::fmt;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest, SignatureLocation,
    SigningParams, UriPathNormalizationMode,
};
use aws_smithy_runtime_api::client::identity::Identity;
use cloudkit_core::{BoxError, HeaderMap, HeaderName, HeaderValue, HttpRequest, Method, Url, redact_url};

use super::credentials::Credentials;
use super::settings::{PathEncoding, PayloadMode, SigningSettings};
use super::uri;

/// The longest validity SigV4 allows for a presigned URL: 7 days.
pub const MAX_PRESIGN_EXPIRY: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The latest signing time accepted (end of year 9999: the signature's date has four digits).
const MAX_SIGNING_SECS: u64 = 253_402_300_799;

const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Why a request could not be signed. No variant ever carries a secret, a session token or a
/// header value. `Display` is one line; for [`SigningError::Signing`] it includes the
/// `aws-sigv4` error's text, so `source()` continues below it.
#[derive(Debug)]
#[non_exhaustive]
pub enum SigningError {
    /// A presigned URL's validity must be at least one second and at most 7 days.
    InvalidExpiry {
        /// The expiry that was asked for.
        expires_in: Duration,
    },
    /// The request cannot be signed as it is (no host, a header value that is not ASCII …).
    InvalidRequest {
        /// What is wrong.
        reason: String,
    },
    /// The signing settings are unusable (empty region or service, a time out of range …).
    InvalidSettings {
        /// What is wrong.
        reason: String,
    },
    /// `aws-sigv4` refused to sign.
    Signing {
        /// The underlying error.
        source: BoxError,
    },
}

impl std::fmt::Display for SigningError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidExpiry { expires_in } => {
                write!(f, "presigned URL expiry must be between 1 second and 7 days (604800 s), got {expires_in:?}")
            }
            Self::InvalidRequest { reason } => write!(f, "cannot sign the request: {reason}"),
            Self::InvalidSettings { reason } => write!(f, "invalid signing settings: {reason}"),
            Self::Signing { source } => write!(f, "SigV4 signing failed: {source}"),
        }
    }
}

impl std::error::Error for SigningError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Signing { source } => {
                let cause: &(dyn std::error::Error + 'static) = source.as_ref();
                cloudkit_core::unshown_source(&self.to_string(), cause.source())
            }
            Self::InvalidExpiry { .. } | Self::InvalidRequest { .. } | Self::InvalidSettings { .. } => None,
        }
    }
}

impl SigningError {
    fn request(reason: impl Into<String>) -> Self {
        SigningError::InvalidRequest { reason: reason.into() }
    }

    fn settings(reason: impl Into<String>) -> Self {
        SigningError::InvalidSettings { reason: reason.into() }
    }
}

/// A presigned request: send `method` to `url` with `headers` (the headers that were signed,
/// `host` aside) and no authentication of your own.
///
/// The URL is a bearer credential until it expires: `Debug` shows it without its query.
#[derive(Clone)]
pub struct PresignedRequest {
    /// The method the URL was signed for.
    pub method: Method,
    /// The URL, signature included.
    pub url: Url,
    /// Headers that were signed and must be sent as they are.
    pub headers: HeaderMap,
}

impl fmt::Debug for PresignedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresignedRequest")
            .field("method", &self.method)
            .field("url", &format_args!("{} (query redacted)", redact_url(&self.url)))
            .field("headers", &self.headers)
            .finish()
    }
}

/// Signs `request` in place with SigV4: adds `authorization`, `x-amz-date`, the session token
/// header when the credentials have one, and `x-amz-content-sha256` when the settings ask for it.
///
/// The URL's path and query are first rewritten into the strict SigV4 encoding (the bytes that
/// are sent are the bytes that are signed). Earlier signing headers are replaced, so a request
/// can be signed again (every retry is).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use cloudkit_core::{HttpRequest, Method};
/// use cloudkit_signer::aws::{Credentials, SigningSettings, sign_request};
///
/// let credentials = Credentials::from_keys("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
/// let mut request = HttpRequest::new(Method::GET, "https://examplebucket.s3.amazonaws.com/test.txt".parse()?)
///     .header("range", "bytes=0-9")?;
/// let settings = SigningSettings::s3("us-east-1")
///     .with_time(SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600)); // 2013-05-24
/// sign_request(&mut request, &credentials, &settings)?;
/// let auth = request.headers["authorization"].to_str()?;
/// assert!(auth.ends_with("Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sign_request(
    request: &mut HttpRequest,
    credentials: &Credentials,
    settings: &SigningSettings,
) -> Result<(), SigningError> {
    check_url(&request.url)?;
    let time = signing_time(settings)?;
    uri::canonicalize(&mut request.url, false);
    for name in ["authorization", "x-amz-date", "x-amz-security-token"] {
        request.headers.remove(name);
    }
    let given_hash = match request.headers.remove("x-amz-content-sha256") {
        Some(v) => Some(v.to_str().map_err(|_| SigningError::request("x-amz-content-sha256 is not ASCII"))?.to_owned()),
        None => None,
    };

    let instructions = {
        let body = match (&settings.payload, request.body.as_bytes()) {
            (PayloadMode::Precomputed(hash), _) => SignableBody::Precomputed(hash.clone()),
            (PayloadMode::Unsigned, _) => SignableBody::UnsignedPayload,
            (PayloadMode::Signed, Some(bytes)) => SignableBody::Bytes(bytes),
            (PayloadMode::Signed, None) => match &given_hash {
                Some(hash) => SignableBody::Precomputed(hash.clone()),
                None => SignableBody::UnsignedPayload,
            },
        };
        let mut sigv4 = sigv4_settings(settings);
        if settings.set_content_sha256_header || given_hash.is_some() {
            sigv4.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
        }
        let headers = header_pairs(&request.headers)?;
        let signable = SignableRequest::new(request.method.as_str(), request.url.as_str(), headers.into_iter(), body)
            .map_err(|e| SigningError::Signing { source: Box::new(e) })?;
        compute(signable, credentials, settings, time, sigv4)?
    };

    let (headers, params) = instructions.into_parts();
    debug_assert!(params.is_empty());
    for header in headers {
        let name = HeaderName::from_bytes(header.name().as_bytes())
            .map_err(|_| SigningError::request(format!("aws-sigv4 produced a bad header name `{}`", header.name())))?;
        let mut value = HeaderValue::from_str(header.value()).map_err(|_| {
            SigningError::request(format!("the signed `{}` header is not a valid header value", header.name()))
        })?;
        value.set_sensitive(header.sensitive() || name == "authorization");
        request.headers.insert(name, value);
    }
    Ok(())
}

/// Presigns a request: returns a URL that carries the signature in its query, valid for
/// `expires_in` (1 second to 7 days) from the signing time.
///
/// `headers` are signed too and must be sent with the URL (use an empty map for a plain
/// GET/PUT URL). The payload is `UNSIGNED-PAYLOAD` unless the settings hold a precomputed hash;
/// no checksum header or parameter is ever added. An earlier presignature in `url` is replaced.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use cloudkit_core::{HeaderMap, Method};
/// use cloudkit_signer::aws::{Credentials, SigningSettings, presign};
///
/// let credentials = Credentials::from_keys("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
/// let settings = SigningSettings::s3("us-east-1")
///     .with_time(SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600));
/// let url = "https://examplebucket.s3.amazonaws.com/test.txt".parse()?;
/// let presigned = presign(Method::GET, &url, &HeaderMap::new(), &credentials, &settings, Duration::from_secs(86400))?;
/// assert!(presigned.url.as_str().ends_with(
///     "X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"));
///
/// // more than 7 days is refused
/// assert!(presign(Method::GET, &url, &HeaderMap::new(), &credentials, &settings, Duration::from_secs(604801)).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn presign(
    method: Method,
    url: &Url,
    headers: &HeaderMap,
    credentials: &Credentials,
    settings: &SigningSettings,
    expires_in: Duration,
) -> Result<PresignedRequest, SigningError> {
    if expires_in.as_secs() == 0 || expires_in > MAX_PRESIGN_EXPIRY {
        return Err(SigningError::InvalidExpiry { expires_in });
    }
    check_url(url)?;
    let time = signing_time(settings)?;
    let mut url = url.clone();
    uri::canonicalize(&mut url, true);

    let instructions = {
        let body = match &settings.payload {
            PayloadMode::Precomputed(hash) => SignableBody::Precomputed(hash.clone()),
            PayloadMode::Signed | PayloadMode::Unsigned => SignableBody::Precomputed(UNSIGNED_PAYLOAD.to_owned()),
        };
        let mut sigv4 = sigv4_settings(settings);
        sigv4.signature_location = SignatureLocation::QueryParams;
        sigv4.expires_in = Some(Duration::from_secs(expires_in.as_secs()));
        // A presigned URL never carries a checksum: the body is the URL holder's choice.
        sigv4.payload_checksum_kind = PayloadChecksumKind::NoHeader;
        let pairs = header_pairs(headers)?;
        let signable = SignableRequest::new(method.as_str(), url.as_str(), pairs.into_iter(), body)
            .map_err(|e| SigningError::Signing { source: Box::new(e) })?;
        compute(signable, credentials, settings, time, sigv4)?
    };

    let (_, params) = instructions.into_parts();
    let mut query = url.query().unwrap_or_default().to_owned();
    for (name, value) in params {
        if !query.is_empty() {
            query.push('&');
        }
        query.push_str(&uri::encode(name.as_bytes()));
        query.push('=');
        query.push_str(&uri::encode(value.as_bytes()));
    }
    url.set_query(Some(&query));
    Ok(PresignedRequest { method, url, headers: headers.clone() })
}

fn compute(
    signable: SignableRequest<'_>,
    credentials: &Credentials,
    settings: &SigningSettings,
    time: SystemTime,
    sigv4: aws_sigv4::http_request::SigningSettings,
) -> Result<aws_sigv4::http_request::SigningInstructions, SigningError> {
    let identity = identity(credentials);
    let params: SigningParams<'_> = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&settings.region)
        .name(&settings.service)
        .time(time)
        .settings(sigv4)
        .build()
        .map_err(|e| SigningError::Signing { source: Box::new(e) })?
        .into();
    let (instructions, _signature) = aws_sigv4::http_request::sign(signable, &params)
        .map_err(|e| SigningError::Signing { source: Box::new(e) })?
        .into_parts();
    Ok(instructions)
}

/// Our credential values as the `Identity` aws-sigv4 signs with (expiry left out: whether
/// credentials are still valid is the provider's business, not the signature's).
fn identity(credentials: &Credentials) -> Identity {
    aws_credential_types::Credentials::new(
        credentials.access_key_id(),
        credentials.secret_access_key().expose(),
        credentials.session_token().map(|t| t.expose().to_owned()),
        None,
        "cloudkit",
    )
    .into()
}

fn sigv4_settings(settings: &SigningSettings) -> aws_sigv4::http_request::SigningSettings {
    let mut s = aws_sigv4::http_request::SigningSettings::default();
    let (encoding, normalization) = match settings.path_encoding {
        PathEncoding::Double => (PercentEncodingMode::Double, UriPathNormalizationMode::Enabled),
        PathEncoding::S3 => (PercentEncodingMode::Single, UriPathNormalizationMode::Disabled),
    };
    s.percent_encoding_mode = encoding;
    s.uri_path_normalization_mode = normalization;
    s.payload_checksum_kind = PayloadChecksumKind::NoHeader;
    s.session_token_mode = SessionTokenMode::Include;
    s
}

fn signing_time(settings: &SigningSettings) -> Result<SystemTime, SigningError> {
    for (what, value) in [("region", &settings.region), ("service", &settings.service)] {
        if value.is_empty() || value.bytes().any(|b| b == b'/' || !b.is_ascii_graphic()) {
            return Err(SigningError::settings(format!(
                "the {what} `{value}` is empty or has `/`, spaces or non-ASCII"
            )));
        }
    }
    if let PayloadMode::Precomputed(hash) = &settings.payload
        && (hash.is_empty() || !hash.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(SigningError::settings("the precomputed payload hash is empty or not printable ASCII"));
    }
    let time = settings.time.unwrap_or_else(SystemTime::now);
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(since) if since.as_secs() <= MAX_SIGNING_SECS => Ok(time),
        _ => Err(SigningError::settings("the signing time must lie between 1970 and 9999")),
    }
}

fn check_url(url: &Url) -> Result<(), SigningError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(SigningError::request(format!("only http and https URLs can be signed, not `{}`", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(SigningError::request("the URL has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(SigningError::request("the URL must not carry a user name or password"));
    }
    Ok(())
}

fn header_pairs(headers: &HeaderMap) -> Result<Vec<(&str, &str)>, SigningError> {
    headers
        .iter()
        .map(|(name, value)| {
            value.to_str().map(|v| (name.as_str(), v)).map_err(|_| {
                SigningError::request(format!(
                    "the value of header `{name}` is not visible ASCII (encode it, e.g. RFC 2047, before signing)"
                ))
            })
        })
        .collect()
}
