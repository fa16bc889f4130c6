//! Wire types: the XML bodies S3 sends and receives, kept apart from the public types.
//!
//! Responses are decoded with quick-xml's serde deserializer straight from the response bytes
//! (entities such as `&amp;` in keys are resolved by it); request bodies are small and written
//! by hand with [`xml_escape`].

use std::time::SystemTime;

use serde::Deserialize;

use crate::error::S3Error;

/// Decodes an XML response body.
pub(crate) fn from_xml<'de, T: Deserialize<'de>>(operation: &'static str, body: &'de [u8]) -> Result<T, S3Error> {
    cloudkit_cred_chain::aws::protocol::decode_xml(body)
        .map_err(|e| S3Error::decode(operation, format!("unexpected XML response: {e}")))
}

/// Escapes text for an XML element or attribute.
pub(crate) fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c => out.push(c),
        }
    }
    out
}

/// Parses an ISO 8601 timestamp as S3 writes them in XML (`2009-10-12T17:50:30.000Z`).
pub(crate) fn parse_iso8601(s: &str) -> Option<SystemTime> {
    let t = time::OffsetDateTime::parse(s.trim(), &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.into())
}

/// Formats a time as an HTTP date (`If-Modified-Since`).
pub(crate) fn http_date(t: SystemTime) -> String {
    httpdate::fmt_http_date(t)
}

/// Parses an HTTP date header value.
pub(crate) fn parse_http_date(s: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(s).ok()
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct OwnerXml {
    #[serde(rename = "ID")]
    pub(crate) id: Option<String>,
    pub(crate) display_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListAllMyBucketsResult {
    pub(crate) owner: Option<OwnerXml>,
    #[serde(default)]
    pub(crate) buckets: BucketsXml,
    pub(crate) continuation_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BucketsXml {
    #[serde(default)]
    pub(crate) bucket: Vec<BucketXml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BucketXml {
    pub(crate) name: String,
    pub(crate) creation_date: Option<String>,
    pub(crate) bucket_region: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct LocationConstraintXml {
    #[serde(rename = "$text", default)]
    pub(crate) value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListBucketResult {
    pub(crate) name: Option<String>,
    pub(crate) prefix: Option<String>,
    pub(crate) delimiter: Option<String>,
    pub(crate) max_keys: Option<u32>,
    pub(crate) key_count: Option<u32>,
    #[serde(default)]
    pub(crate) is_truncated: bool,
    pub(crate) next_continuation_token: Option<String>,
    pub(crate) start_after: Option<String>,
    pub(crate) encoding_type: Option<String>,
    #[serde(default)]
    pub(crate) contents: Vec<ObjectXml>,
    #[serde(default)]
    pub(crate) common_prefixes: Vec<PrefixXml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ObjectXml {
    pub(crate) key: String,
    pub(crate) last_modified: Option<String>,
    #[serde(rename = "ETag")]
    pub(crate) e_tag: Option<String>,
    pub(crate) size: Option<u64>,
    pub(crate) storage_class: Option<String>,
    #[serde(default)]
    pub(crate) checksum_algorithm: Vec<String>,
    pub(crate) checksum_type: Option<String>,
    pub(crate) owner: Option<OwnerXml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PrefixXml {
    pub(crate) prefix: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeleteResult {
    #[serde(default)]
    pub(crate) deleted: Vec<DeletedXml>,
    #[serde(default)]
    pub(crate) error: Vec<DeleteErrorXml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeletedXml {
    pub(crate) key: Option<String>,
    pub(crate) version_id: Option<String>,
    pub(crate) delete_marker: Option<bool>,
    pub(crate) delete_marker_version_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct DeleteErrorXml {
    pub(crate) key: Option<String>,
    pub(crate) version_id: Option<String>,
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CopyResultXml {
    #[serde(rename = "ETag")]
    pub(crate) e_tag: Option<String>,
    pub(crate) last_modified: Option<String>,
    #[serde(rename = "ChecksumCRC32C")]
    pub(crate) checksum_crc32c: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TaggingXml {
    #[serde(default)]
    pub(crate) tag_set: TagSetXml,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagSetXml {
    #[serde(default)]
    pub(crate) tag: Vec<TagXml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagXml {
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct InitiateMultipartUploadResult {
    pub(crate) bucket: Option<String>,
    pub(crate) key: Option<String>,
    pub(crate) upload_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct CompleteMultipartUploadResult {
    pub(crate) location: Option<String>,
    pub(crate) bucket: Option<String>,
    pub(crate) key: Option<String>,
    #[serde(rename = "ETag")]
    pub(crate) e_tag: Option<String>,
    #[serde(rename = "ChecksumCRC32C")]
    pub(crate) checksum_crc32c: Option<String>,
    #[serde(rename = "ChecksumSHA256")]
    pub(crate) checksum_sha256: Option<String>,
    pub(crate) checksum_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListMultipartUploadsResult {
    pub(crate) next_key_marker: Option<String>,
    pub(crate) next_upload_id_marker: Option<String>,
    #[serde(default)]
    pub(crate) is_truncated: bool,
    pub(crate) encoding_type: Option<String>,
    #[serde(default)]
    pub(crate) upload: Vec<UploadXml>,
    #[serde(default)]
    pub(crate) common_prefixes: Vec<PrefixXml>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UploadXml {
    pub(crate) key: String,
    pub(crate) upload_id: String,
    pub(crate) initiated: Option<String>,
    pub(crate) storage_class: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ListPartsResult {
    pub(crate) next_part_number_marker: Option<String>,
    #[serde(default)]
    pub(crate) is_truncated: bool,
    #[serde(default)]
    pub(crate) part: Vec<PartXml>,
    pub(crate) storage_class: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PartXml {
    pub(crate) part_number: u32,
    pub(crate) last_modified: Option<String>,
    #[serde(rename = "ETag")]
    pub(crate) e_tag: Option<String>,
    pub(crate) size: Option<u64>,
    #[serde(rename = "ChecksumCRC32C")]
    pub(crate) checksum_crc32c: Option<String>,
    #[serde(rename = "ChecksumSHA256")]
    pub(crate) checksum_sha256: Option<String>,
}

/// Finds an `<Error>` document in a 200 response body (CopyObject, UploadPartCopy and
/// CompleteMultipartUpload report late failures that way).
pub(crate) fn error_in_200(body: &[u8]) -> Option<cloudkit_core::ServiceErrorDetails> {
    let head = String::from_utf8_lossy(&body[..body.len().min(512)]);
    let trimmed = head.trim_start();
    let after_decl = match trimmed.strip_prefix("<?xml") {
        Some(rest) => rest.split_once("?>").map_or("", |(_, r)| r).trim_start(),
        None => trimmed,
    };
    if after_decl.starts_with("<Error>") || after_decl.starts_with("<Error ") {
        cloudkit_cred_chain::aws::protocol::parse_xml_error(body)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_documents_in_200_bodies_are_found() {
        let body = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\n<Error>\n  <Code>InternalError</Code>\n  <Message>We encountered an internal error. Please try again.</Message>\n  <RequestId>656c76696e6727732072657175657374</RequestId>\n</Error>";
        let d = error_in_200(body).unwrap();
        assert_eq!(d.code.as_deref(), Some("InternalError"));
        let ok =
            b"<?xml version=\"1.0\"?><CompleteMultipartUploadResult><ETag>\"x\"</ETag></CompleteMultipartUploadResult>";
        assert!(error_in_200(ok).is_none());
        assert!(error_in_200(b"").is_none());
    }

    #[test]
    fn escaping_and_dates() {
        assert_eq!(xml_escape("a&b<c>\"d'\n"), "a&amp;b&lt;c&gt;&quot;d&apos;&#10;");
        let t = parse_iso8601("2009-10-12T17:50:30.000Z").unwrap();
        assert_eq!(t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs(), 1_255_369_830);
        assert_eq!(http_date(t), "Mon, 12 Oct 2009 17:50:30 GMT");
    }
}
