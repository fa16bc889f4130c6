//! What to sign with: region, service, payload hashing, path encoding and time.

use std::time::SystemTime;

/// How the request body is represented in the signature (the last line of the canonical request).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PayloadMode {
    /// The SHA-256 of the in-memory body. A file body is not read: it is signed as
    /// `UNSIGNED-PAYLOAD`, unless the request already carries `x-amz-content-sha256`, whose
    /// value is then used as the payload hash. Presigned URLs always use `UNSIGNED-PAYLOAD`
    /// in this mode (the body is not known when the URL is made).
    #[default]
    Signed,
    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature (streaming uploads, files).
    Unsigned,
    /// A SHA-256 the caller computed already (lowercase hex).
    Precomputed(String),
}

/// How the URL path enters the canonical request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum PathEncoding {
    /// Every service but S3: the (already encoded) path is encoded a second time and
    /// normalized (`.`/`..` segments removed).
    #[default]
    Double,
    /// S3: the path is encoded once and never normalized, so keys with spaces, `+`, `%`,
    /// unicode, `//` or `..` sign exactly as they are sent.
    S3,
}

/// Settings for one signature.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use cloudkit_signer::aws::{PathEncoding, PayloadMode, SigningSettings};
///
/// let sts = SigningSettings::new("us-east-1", "sts");
/// assert_eq!(sts.path_encoding, PathEncoding::Double);
///
/// let s3 = SigningSettings::s3("eu-west-1")
///     .with_payload(PayloadMode::Unsigned)
///     .with_time(SystemTime::UNIX_EPOCH + Duration::from_secs(1_369_353_600));
/// assert_eq!(s3.path_encoding, PathEncoding::S3);
/// assert!(s3.set_content_sha256_header);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SigningSettings {
    /// The region in the credential scope (`us-east-1`, …).
    pub region: String,
    /// The signing name of the service (`s3`, `sts`, `ec2`, …).
    pub service: String,
    /// How the body is hashed.
    pub payload: PayloadMode,
    /// The signing time; `None` means "now". Set it for reproducible signatures.
    pub time: Option<SystemTime>,
    /// Whether the payload hash is also sent (and signed) as `x-amz-content-sha256` (S3 needs
    /// it). A request that already carries that header always keeps it.
    pub set_content_sha256_header: bool,
    /// How the path is encoded in the canonical request.
    pub path_encoding: PathEncoding,
}

impl SigningSettings {
    /// Settings for `service` in `region`: signed payload, signing time "now".
    ///
    /// The signing names `s3` and `s3-outposts` get the S3 rules of [`SigningSettings::s3`]
    /// (single path encoding, `x-amz-content-sha256`), because no other rules work for S3;
    /// every other service gets double path encoding and no content-hash header.
    pub fn new(region: impl Into<String>, service: impl Into<String>) -> Self {
        let service = service.into();
        let is_s3 = matches!(service.as_str(), "s3" | "s3-outposts");
        Self {
            region: region.into(),
            service,
            payload: PayloadMode::Signed,
            time: None,
            set_content_sha256_header: is_s3,
            path_encoding: if is_s3 { PathEncoding::S3 } else { PathEncoding::Double },
        }
    }

    /// The S3 preset: service `s3`, single path encoding without normalization, and the
    /// `x-amz-content-sha256` header.
    pub fn s3(region: impl Into<String>) -> Self {
        Self::new(region, "s3")
    }

    /// Sets the payload mode.
    pub fn with_payload(mut self, payload: PayloadMode) -> Self {
        self.payload = payload;
        self
    }

    /// Signs as of `time` instead of now (reproducible output, tests, presigning ahead).
    pub fn with_time(mut self, time: SystemTime) -> Self {
        self.time = Some(time);
        self
    }

    /// Whether to send the payload hash as `x-amz-content-sha256`.
    pub fn with_content_sha256_header(mut self, set: bool) -> Self {
        self.set_content_sha256_header = set;
        self
    }

    /// Sets the path encoding rules.
    pub fn with_path_encoding(mut self, path_encoding: PathEncoding) -> Self {
        self.path_encoding = path_encoding;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_gets_s3_rules_and_others_do_not() {
        let s3 = SigningSettings::new("us-east-1", "s3");
        assert_eq!(s3, SigningSettings::s3("us-east-1"));
        assert_eq!(s3.path_encoding, PathEncoding::S3);
        assert!(s3.set_content_sha256_header);
        let sts = SigningSettings::new("us-east-1", "sts");
        assert_eq!(sts.path_encoding, PathEncoding::Double);
        assert!(!sts.set_content_sha256_header);
        assert_eq!(sts.payload, PayloadMode::Signed);
        assert_eq!(sts.time, None);
    }
}
