//! Public types shared by several operations: object attributes set on upload, object metadata
//! read back, tags, server-side encryption, conditions.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::SystemTime;

use cloudkit_core::HeaderMap;

use crate::addressing::encode_query;
use crate::client::{Req, header_str, header_string};
use crate::error::S3Error;
use cloudkit_core::internal::date::parse_http_date;

/// Largest total size of user metadata (names and values), as S3 enforces.
pub const MAX_USER_METADATA_BYTES: usize = 2048;

/// Server-side encryption (`x-amz-server-side-encryption`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerSideEncryption {
    /// SSE-S3 (`AES256`).
    Aes256,
    /// SSE-KMS (`aws:kms`); the key id goes in `sse_kms_key_id`.
    AwsKms,
    /// DSSE-KMS (`aws:kms:dsse`).
    AwsKmsDsse,
    /// A value this client does not know.
    Other(String),
}

impl ServerSideEncryption {
    /// The header value.
    pub fn as_str(&self) -> &str {
        match self {
            ServerSideEncryption::Aes256 => "AES256",
            ServerSideEncryption::AwsKms => "aws:kms",
            ServerSideEncryption::AwsKmsDsse => "aws:kms:dsse",
            ServerSideEncryption::Other(s) => s,
        }
    }

    pub(crate) fn parse(s: &str) -> Self {
        match s {
            "AES256" => ServerSideEncryption::Aes256,
            "aws:kms" => ServerSideEncryption::AwsKms,
            "aws:kms:dsse" => ServerSideEncryption::AwsKmsDsse,
            other => ServerSideEncryption::Other(other.to_owned()),
        }
    }
}

/// A tag (key and value) of an object (the same type as EC2's tags).
pub use cloudkit_aws_protocol::Tag;

/// What an upload sets on the new object (PutObject, CreateMultipartUpload, CopyObject with
/// `REPLACE`).
#[derive(Clone, Debug, Default)]
pub(crate) struct ObjectAttributes {
    pub(crate) content_type: Option<String>,
    pub(crate) cache_control: Option<String>,
    pub(crate) content_disposition: Option<String>,
    pub(crate) content_encoding: Option<String>,
    pub(crate) content_language: Option<String>,
    pub(crate) expires: Option<SystemTime>,
    pub(crate) metadata: Vec<(String, String)>,
    pub(crate) storage_class: Option<String>,
    pub(crate) tagging: Vec<Tag>,
    pub(crate) sse: Option<ServerSideEncryption>,
    pub(crate) sse_kms_key_id: Option<String>,
    pub(crate) sse_kms_context: Option<String>,
    pub(crate) bucket_key_enabled: Option<bool>,
    pub(crate) acl: Option<String>,
    pub(crate) lock_legal_hold: Option<bool>,
    pub(crate) lock_mode: Option<String>,
    pub(crate) lock_retain_until: Option<SystemTime>,
}

impl ObjectAttributes {
    pub(crate) fn apply(&self, req: &mut Req) -> Result<(), S3Error> {
        req.opt("content-type", self.content_type.as_deref())?;
        req.opt("cache-control", self.cache_control.as_deref())?;
        req.opt("content-disposition", self.content_disposition.as_deref())?;
        req.opt("content-encoding", self.content_encoding.as_deref())?;
        req.opt("content-language", self.content_language.as_deref())?;
        if let Some(t) = self.expires {
            req.date("expires", t)?;
        }
        apply_metadata(req, &self.metadata)?;
        req.opt("x-amz-storage-class", self.storage_class.as_deref())?;
        if !self.tagging.is_empty() {
            req.header("x-amz-tagging", &tagging_query(&self.tagging))?;
        }
        if let Some(sse) = &self.sse {
            req.header("x-amz-server-side-encryption", sse.as_str())?;
        }
        req.opt("x-amz-server-side-encryption-aws-kms-key-id", self.sse_kms_key_id.as_deref())?;
        req.opt("x-amz-server-side-encryption-context", self.sse_kms_context.as_deref())?;
        if let Some(b) = self.bucket_key_enabled {
            req.header("x-amz-server-side-encryption-bucket-key-enabled", if b { "true" } else { "false" })?;
        }
        req.opt("x-amz-acl", self.acl.as_deref())?;
        if let Some(on) = self.lock_legal_hold {
            req.header("x-amz-object-lock-legal-hold", if on { "ON" } else { "OFF" })?;
        }
        req.opt("x-amz-object-lock-mode", self.lock_mode.as_deref())?;
        if let Some(t) = self.lock_retain_until {
            let t = cloudkit_core::internal::date::format_rfc3339(t)
                .ok_or_else(|| S3Error::invalid_input(req.op, "retain-until date outside the years 0000-9999"))?;
            req.header("x-amz-object-lock-retain-until-date", &t)?;
        }
        Ok(())
    }
}

/// Sets `x-amz-meta-*` headers after checking names, values and the 2 KiB limit.
pub(crate) fn apply_metadata(req: &mut Req, metadata: &[(String, String)]) -> Result<(), S3Error> {
    let mut total = 0;
    for (name, value) in metadata {
        let lower = name.to_ascii_lowercase();
        if lower.is_empty() || !lower.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.!#$%&'*+^`|~".contains(&b)) {
            return Err(S3Error::invalid_input(
                req.op,
                format!("user metadata name `{name}` is not a valid HTTP header name token"),
            ));
        }
        if !value.bytes().all(|b| (0x20..0x7f).contains(&b) || b == b'\t') {
            return Err(S3Error::invalid_input(
                req.op,
                format!(
                    "user metadata `{name}` has a value that is not printable US-ASCII (S3 only stores ASCII values)"
                ),
            ));
        }
        total += lower.len() + value.len();
        req.header(&format!("x-amz-meta-{lower}"), value)?;
    }
    if total > MAX_USER_METADATA_BYTES {
        return Err(S3Error::invalid_input(
            req.op,
            format!("user metadata is {total} bytes; S3 allows at most {MAX_USER_METADATA_BYTES}"),
        ));
    }
    Ok(())
}

/// `k1=v1&k2=v2`, URL-encoded, for `x-amz-tagging`.
pub(crate) fn tagging_query(tags: &[Tag]) -> String {
    let mut out = String::new();
    for (i, t) in tags.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        let _ = write!(out, "{}={}", encode_query(&t.key), encode_query(&t.value));
    }
    out
}

/// Conditions of a read (GetObject, HeadObject), of a write on the object it replaces (PutObject,
/// CopyObject, CompleteMultipartUpload) or of a copy source.
#[derive(Clone, Debug, Default)]
pub(crate) struct Conditions {
    pub(crate) if_match: Option<String>,
    pub(crate) if_none_match: Option<String>,
    pub(crate) if_modified_since: Option<SystemTime>,
    pub(crate) if_unmodified_since: Option<SystemTime>,
}

impl Conditions {
    /// Whether a write with these conditions must not be sent twice: a retry after a write that
    /// took effect would find the object it wrote itself (`If-None-Match: *` fails, `If-Match`
    /// sees the new ETag) and report a false `PreconditionFailed`. Such writes are
    /// `Operation::idempotent(false)`: retried only after throttling or a failed connection.
    pub(crate) fn is_conditional(&self) -> bool {
        self.if_match.is_some()
            || self.if_none_match.is_some()
            || self.if_modified_since.is_some()
            || self.if_unmodified_since.is_some()
    }

    pub(crate) fn apply(&self, req: &mut Req, prefix: &str) -> Result<(), S3Error> {
        req.opt(&format!("{prefix}if-match"), self.if_match.as_deref())?;
        req.opt(&format!("{prefix}if-none-match"), self.if_none_match.as_deref())?;
        if let Some(t) = self.if_modified_since {
            req.date(&format!("{prefix}if-modified-since"), t)?;
        }
        if let Some(t) = self.if_unmodified_since {
            req.date(&format!("{prefix}if-unmodified-since"), t)?;
        }
        Ok(())
    }
}

/// An object's metadata as HeadObject and GetObject return it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ObjectMetadata {
    /// `Content-Length` of this response (the range's length for a ranged GET).
    pub content_length: Option<u64>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// The entity tag, quotes included (`"d41d8cd98f00b204e9800998ecf8427e"`).
    pub e_tag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<SystemTime>,
    /// `Cache-Control`.
    pub cache_control: Option<String>,
    /// `Content-Disposition`.
    pub content_disposition: Option<String>,
    /// `Content-Encoding`.
    pub content_encoding: Option<String>,
    /// `Content-Language`.
    pub content_language: Option<String>,
    /// `Content-Range` of a ranged GET (`bytes 0-99/1234`).
    pub content_range: Option<String>,
    /// `Expires`, as sent.
    pub expires: Option<String>,
    /// User metadata (`x-amz-meta-*`), names lowercased without the prefix.
    pub metadata: BTreeMap<String, String>,
    /// Storage class (absent for STANDARD).
    pub storage_class: Option<String>,
    /// Version id, on versioned buckets.
    pub version_id: Option<String>,
    /// Whether the version is a delete marker.
    pub delete_marker: bool,
    /// Server-side encryption in force.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// The KMS key id for SSE-KMS.
    pub sse_kms_key_id: Option<String>,
    /// The algorithm of SSE-C, customer-provided keys
    /// (`x-amz-server-side-encryption-customer-algorithm`).
    pub sse_customer_algorithm: Option<String>,
    /// `x-amz-checksum-crc32c`.
    pub checksum_crc32c: Option<String>,
    /// `x-amz-checksum-crc32`.
    pub checksum_crc32: Option<String>,
    /// `x-amz-checksum-crc64nvme`.
    pub checksum_crc64nvme: Option<String>,
    /// `x-amz-checksum-sha256`.
    pub checksum_sha256: Option<String>,
    /// `x-amz-checksum-sha1`.
    pub checksum_sha1: Option<String>,
    /// `x-amz-checksum-type` (`FULL_OBJECT` or `COMPOSITE`).
    pub checksum_type: Option<String>,
    /// Number of parts of a multipart object (when asked with `part_number`).
    pub parts_count: Option<u32>,
    /// Number of tags (`x-amz-tagging-count`).
    pub tag_count: Option<u32>,
    /// `x-amz-request-id`.
    pub request_id: Option<String>,
}

impl ObjectMetadata {
    pub(crate) fn from_headers(h: &HeaderMap) -> Self {
        let metadata = h
            .iter()
            .filter_map(|(name, value)| {
                let n = name.as_str().strip_prefix("x-amz-meta-")?;
                Some((n.to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            })
            .collect();
        Self {
            content_length: header_str(h, "content-length").and_then(|v| v.parse().ok()),
            content_type: header_string(h, "content-type"),
            e_tag: header_string(h, "etag"),
            last_modified: header_str(h, "last-modified").and_then(parse_http_date),
            cache_control: header_string(h, "cache-control"),
            content_disposition: header_string(h, "content-disposition"),
            content_encoding: header_string(h, "content-encoding"),
            content_language: header_string(h, "content-language"),
            content_range: header_string(h, "content-range"),
            expires: header_string(h, "expires"),
            metadata,
            storage_class: header_string(h, "x-amz-storage-class"),
            version_id: header_string(h, "x-amz-version-id"),
            delete_marker: header_str(h, "x-amz-delete-marker") == Some("true"),
            server_side_encryption: header_str(h, "x-amz-server-side-encryption").map(ServerSideEncryption::parse),
            sse_kms_key_id: header_string(h, "x-amz-server-side-encryption-aws-kms-key-id"),
            sse_customer_algorithm: header_string(h, "x-amz-server-side-encryption-customer-algorithm"),
            checksum_crc32c: header_string(h, "x-amz-checksum-crc32c"),
            checksum_crc32: header_string(h, "x-amz-checksum-crc32"),
            checksum_crc64nvme: header_string(h, "x-amz-checksum-crc64nvme"),
            checksum_sha256: header_string(h, "x-amz-checksum-sha256"),
            checksum_sha1: header_string(h, "x-amz-checksum-sha1"),
            checksum_type: header_string(h, "x-amz-checksum-type"),
            parts_count: header_str(h, "x-amz-mp-parts-count").and_then(|v| v.parse().ok()),
            tag_count: header_str(h, "x-amz-tagging-count").and_then(|v| v.parse().ok()),
            request_id: header_string(h, "x-amz-request-id"),
        }
    }

    /// The total object size: from `Content-Range` for a ranged GET, else `Content-Length`.
    pub fn object_size(&self) -> Option<u64> {
        match &self.content_range {
            Some(r) => r.rsplit_once('/').and_then(|(_, total)| total.parse().ok()),
            None => self.content_length,
        }
    }
}

/// A `Content-Range: bytes <first>-<last>/<total>` value, checked: `first <= last`, and
/// `last < total` when the total is known (`*` is unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ContentRange {
    /// The first byte.
    pub(crate) first: u64,
    /// The last byte (inclusive).
    pub(crate) last: u64,
    /// The object's size.
    pub(crate) total: Option<u64>,
}

impl ContentRange {
    /// Parses a header value; `None` if it is not a well-formed, consistent single range.
    pub(crate) fn parse(value: &str) -> Option<Self> {
        fn number(s: &str) -> Option<u64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        }
        let rest = value.trim().strip_prefix("bytes ")?.trim_start();
        let (range, total) = rest.split_once('/')?;
        let (first, last) = range.split_once('-')?;
        let (first, last) = (number(first)?, number(last)?);
        let total = if total == "*" { None } else { Some(number(total)?) };
        if first > last || total.is_some_and(|t| last >= t) {
            return None;
        }
        Some(Self { first, last, total })
    }

    /// The number of bytes in the range.
    pub(crate) fn len(&self) -> u64 {
        self.last - self.first + 1
    }
}

/// Where to copy from (`x-amz-copy-source`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopySource {
    /// The source bucket.
    pub bucket: String,
    /// The source key.
    pub key: String,
    /// A specific version of the source.
    pub version_id: Option<String>,
}

impl CopySource {
    /// The header value: `bucket/key` with the key percent-encoded, plus `?versionId=`.
    pub(crate) fn header_value(&self) -> String {
        let mut v = format!("{}/{}", self.bucket, crate::addressing::encode_key(&self.key));
        if let Some(id) = &self.version_id {
            v.push_str("?versionId=");
            v.push_str(&encode_query(id));
        }
        v
    }
}

/// The metadata directive of CopyObject.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MetadataDirective {
    /// Keep the source's metadata and content headers (S3's default).
    #[default]
    Copy,
    /// Use the metadata and content headers of the request.
    Replace,
}

impl MetadataDirective {
    /// The header value.
    pub fn as_str(self) -> &'static str {
        match self {
            MetadataDirective::Copy => "COPY",
            MetadataDirective::Replace => "REPLACE",
        }
    }
}

#[cfg(test)]
mod tests {
    use cloudkit_core::{Method, Url};

    use super::*;

    fn req() -> Req {
        Req::new("PutObject", Method::PUT, Url::parse("http://h/b/k").unwrap())
    }

    #[test]
    fn metadata_is_validated() {
        let mut r = req();
        apply_metadata(&mut r, &[("Color".into(), "blue".into())]).unwrap();
        assert_eq!(r.request.headers["x-amz-meta-color"], "blue");
        assert!(apply_metadata(&mut req(), &[("bad name".into(), "v".into())]).is_err());
        assert!(apply_metadata(&mut req(), &[("ok".into(), "caf\u{e9}".into())]).is_err());
        assert!(apply_metadata(&mut req(), &[("ok".into(), "line\nbreak".into())]).is_err());
        assert!(apply_metadata(&mut req(), &[("big".into(), "x".repeat(2100))]).is_err());
    }

    #[test]
    fn tagging_and_copy_source_are_encoded() {
        assert_eq!(tagging_query(&[Tag::new("a b", "c&d"), Tag::new("k", "v")]), "a%20b=c%26d&k=v");
        let src = CopySource { bucket: "b".into(), key: "dir/a b+c%.txt".into(), version_id: Some("v1".into()) };
        assert_eq!(src.header_value(), "b/dir/a%20b%2Bc%25.txt?versionId=v1");
    }

    #[test]
    fn content_ranges_are_parsed_strictly() {
        let r = ContentRange::parse("bytes 0-9/100").unwrap();
        assert_eq!((r.first, r.last, r.total, r.len()), (0, 9, Some(100), 10));
        assert_eq!(ContentRange::parse("bytes 5-5/*").unwrap().total, None);
        let big = ContentRange::parse("bytes 0-8388607/4611686018427387904").unwrap();
        assert_eq!(big.total, Some(1 << 62));
        for bad in [
            "bytes 9-0/100",
            "bytes 0-100/100",
            "bytes 0-9/",
            "bytes -9/100",
            "bytes +0-9/100",
            "0-9/100",
            "bytes 0-9/18446744073709551616",
            "bytes 0-9",
            "bytes */100",
        ] {
            assert_eq!(ContentRange::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn metadata_from_headers() {
        let mut h = HeaderMap::new();
        h.insert("content-length", "10".parse().unwrap());
        h.insert("content-range", "bytes 0-9/100".parse().unwrap());
        h.insert("x-amz-meta-color", "blue".parse().unwrap());
        h.insert("etag", "\"abc\"".parse().unwrap());
        h.insert("last-modified", "Mon, 12 Oct 2009 17:50:00 GMT".parse().unwrap());
        let m = ObjectMetadata::from_headers(&h);
        assert_eq!(m.object_size(), Some(100));
        assert_eq!(m.metadata.get("color").map(String::as_str), Some("blue"));
        assert_eq!(m.e_tag.as_deref(), Some("\"abc\""));
        assert!(m.last_modified.is_some());
    }
}
