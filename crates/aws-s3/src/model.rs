//! Wire types: the XML bodies S3 sends and receives, kept apart from the public types.
//!
//! Responses are read into a [`cloudkit_core::internal::xml::Element`] tree straight from the response
//! bytes (entities such as `&amp;` in keys are resolved there, and text is kept exactly as sent:
//! S3 keys may begin or end with spaces); each wire type then picks its fields with a plain
//! [`FromXml::from_xml`]. Request bodies are small and written by hand with
//! [`cloudkit_core::internal::xml::escape`].
//!
//! Fields follow S3's element names. A field S3 always sends is required (its absence is a
//! decode error naming it); everything else is optional, and lists take zero or more repeated
//! elements.

use std::time::SystemTime;

use cloudkit_core::internal::xml::{Element, XmlError};

use crate::error::S3Error;

use cloudkit_core::internal::date::parse_rfc3339;

/// A wire type decoded from an XML element.
pub(crate) trait FromXml: Sized {
    /// Reads the value from its element (for a whole response, the root element).
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError>;
}

/// Decodes an XML response body.
pub(crate) fn from_xml<T: FromXml>(operation: &'static str, body: &[u8]) -> Result<T, S3Error> {
    Element::parse(body)
        .and_then(|root| T::from_xml(&root))
        .map_err(|e| S3Error::decode(operation, format!("unexpected XML response: {e}")))
}

/// Every child named `name`, decoded (zero or more).
fn list<T: FromXml>(e: &Element<'_>, name: &str) -> Result<Vec<T>, XmlError> {
    e.children_named(name).map(T::from_xml).collect()
}

/// The child named `name`, decoded, if present.
fn optional<T: FromXml>(e: &Element<'_>, name: &str) -> Result<Option<T>, XmlError> {
    e.child(name).map(T::from_xml).transpose()
}

/// A child holding an RFC 3339 time; `None` when absent or not a valid time (S3's timestamps
/// are informational, so a malformed one is dropped rather than failing the response).
fn child_time(e: &Element<'_>, name: &str) -> Option<SystemTime> {
    e.child_text(name).and_then(parse_rfc3339)
}

/// `<Owner>` (ListBuckets, ListObjectsV2 with `fetch-owner`).
#[derive(Debug, Default)]
pub(crate) struct OwnerXml {
    pub(crate) id: Option<String>,
    pub(crate) display_name: Option<String>,
}

impl FromXml for OwnerXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self { id: e.child_string("ID"), display_name: e.child_string("DisplayName") })
    }
}

/// ListBuckets: `<ListAllMyBucketsResult>`.
#[derive(Debug, Default)]
pub(crate) struct ListAllMyBucketsResult {
    pub(crate) owner: Option<OwnerXml>,
    /// `<Buckets><Bucket>…</Bucket>…</Buckets>`.
    pub(crate) buckets: Vec<BucketXml>,
    pub(crate) continuation_token: Option<String>,
}

impl FromXml for ListAllMyBucketsResult {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        let buckets = e.children_in("Buckets", "Bucket").map(BucketXml::from_xml).collect::<Result<_, _>>()?;
        Ok(Self { owner: optional(e, "Owner")?, buckets, continuation_token: e.child_string("ContinuationToken") })
    }
}

/// `<Bucket>` in ListBuckets.
#[derive(Debug, Default)]
pub(crate) struct BucketXml {
    pub(crate) name: String,
    pub(crate) creation_date: Option<SystemTime>,
    pub(crate) bucket_region: Option<String>,
}

impl FromXml for BucketXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            name: e.required_string("Name")?,
            creation_date: child_time(e, "CreationDate"),
            bucket_region: e.child_string("BucketRegion"),
        })
    }
}

/// GetBucketLocation: `<LocationConstraint>region</LocationConstraint>`.
#[derive(Debug, Default)]
pub(crate) struct LocationConstraintXml {
    /// The element's text; `None` when it is empty.
    pub(crate) value: Option<String>,
}

impl FromXml for LocationConstraintXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self { value: (!e.text().is_empty()).then(|| e.text().to_owned()) })
    }
}

/// ListObjectsV2: `<ListBucketResult>`.
#[derive(Debug, Default)]
pub(crate) struct ListBucketResult {
    pub(crate) name: Option<String>,
    pub(crate) prefix: Option<String>,
    pub(crate) delimiter: Option<String>,
    pub(crate) max_keys: Option<u32>,
    pub(crate) key_count: Option<u32>,
    pub(crate) is_truncated: bool,
    pub(crate) next_continuation_token: Option<String>,
    pub(crate) start_after: Option<String>,
    pub(crate) encoding_type: Option<String>,
    pub(crate) contents: Vec<ObjectXml>,
    pub(crate) common_prefixes: Vec<PrefixXml>,
}

impl FromXml for ListBucketResult {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            name: e.child_string("Name"),
            prefix: e.child_string("Prefix"),
            delimiter: e.child_string("Delimiter"),
            max_keys: e.child_parse("MaxKeys")?,
            key_count: e.child_parse("KeyCount")?,
            is_truncated: e.child_bool("IsTruncated")?.unwrap_or(false),
            next_continuation_token: e.child_string("NextContinuationToken"),
            start_after: e.child_string("StartAfter"),
            encoding_type: e.child_string("EncodingType"),
            contents: list(e, "Contents")?,
            common_prefixes: list(e, "CommonPrefixes")?,
        })
    }
}

/// `<Contents>` in ListObjectsV2.
#[derive(Debug, Default)]
pub(crate) struct ObjectXml {
    pub(crate) key: String,
    pub(crate) last_modified: Option<SystemTime>,
    pub(crate) e_tag: Option<String>,
    pub(crate) size: Option<u64>,
    pub(crate) storage_class: Option<String>,
    pub(crate) checksum_algorithm: Vec<String>,
    pub(crate) checksum_type: Option<String>,
    pub(crate) owner: Option<OwnerXml>,
}

impl FromXml for ObjectXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            key: e.required_string("Key")?,
            last_modified: child_time(e, "LastModified"),
            e_tag: e.child_string("ETag"),
            size: e.child_parse("Size")?,
            storage_class: e.child_string("StorageClass"),
            checksum_algorithm: e.children_named("ChecksumAlgorithm").map(|c| c.text().to_owned()).collect(),
            checksum_type: e.child_string("ChecksumType"),
            owner: optional(e, "Owner")?,
        })
    }
}

/// `<CommonPrefixes>` in ListObjectsV2 and ListMultipartUploads.
#[derive(Debug, Default)]
pub(crate) struct PrefixXml {
    pub(crate) prefix: String,
}

impl FromXml for PrefixXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self { prefix: e.required_string("Prefix")? })
    }
}

/// DeleteObjects: `<DeleteResult>`.
#[derive(Debug, Default)]
pub(crate) struct DeleteResult {
    pub(crate) deleted: Vec<DeletedXml>,
    pub(crate) error: Vec<DeleteErrorXml>,
}

impl FromXml for DeleteResult {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self { deleted: list(e, "Deleted")?, error: list(e, "Error")? })
    }
}

/// `<Deleted>` in DeleteObjects.
#[derive(Debug, Default)]
pub(crate) struct DeletedXml {
    pub(crate) key: Option<String>,
    pub(crate) version_id: Option<String>,
    pub(crate) delete_marker: Option<bool>,
    pub(crate) delete_marker_version_id: Option<String>,
}

impl FromXml for DeletedXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            key: e.child_string("Key"),
            version_id: e.child_string("VersionId"),
            delete_marker: e.child_bool("DeleteMarker")?,
            delete_marker_version_id: e.child_string("DeleteMarkerVersionId"),
        })
    }
}

/// `<Error>` in DeleteObjects.
#[derive(Debug, Default)]
pub(crate) struct DeleteErrorXml {
    pub(crate) key: Option<String>,
    pub(crate) version_id: Option<String>,
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
}

impl FromXml for DeleteErrorXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            key: e.child_string("Key"),
            version_id: e.child_string("VersionId"),
            code: e.child_string("Code"),
            message: e.child_string("Message"),
        })
    }
}

/// CopyObject `<CopyObjectResult>` and UploadPartCopy `<CopyPartResult>`.
#[derive(Debug, Default)]
pub(crate) struct CopyResultXml {
    pub(crate) e_tag: Option<String>,
    pub(crate) last_modified: Option<SystemTime>,
    pub(crate) checksum_crc32c: Option<String>,
}

impl FromXml for CopyResultXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            e_tag: e.child_string("ETag"),
            last_modified: child_time(e, "LastModified"),
            checksum_crc32c: e.child_string("ChecksumCRC32C"),
        })
    }
}

/// GetObjectTagging: `<Tagging>`.
#[derive(Debug, Default)]
pub(crate) struct TaggingXml {
    /// `<TagSet><Tag>…</Tag>…</TagSet>`.
    pub(crate) tags: Vec<TagXml>,
}

impl FromXml for TaggingXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        let tags = e.children_in("TagSet", "Tag").map(TagXml::from_xml).collect::<Result<_, _>>()?;
        Ok(Self { tags })
    }
}

/// `<Tag>` in GetObjectTagging.
#[derive(Debug, Default)]
pub(crate) struct TagXml {
    pub(crate) key: String,
    pub(crate) value: String,
}

impl FromXml for TagXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self { key: e.required_string("Key")?, value: e.child_string("Value").unwrap_or_default() })
    }
}

/// CreateMultipartUpload: `<InitiateMultipartUploadResult>`.
#[derive(Debug, Default)]
pub(crate) struct InitiateMultipartUploadResult {
    pub(crate) bucket: Option<String>,
    pub(crate) key: Option<String>,
    pub(crate) upload_id: String,
}

impl FromXml for InitiateMultipartUploadResult {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            bucket: e.child_string("Bucket"),
            key: e.child_string("Key"),
            upload_id: e.required_string("UploadId")?,
        })
    }
}

/// CompleteMultipartUpload: `<CompleteMultipartUploadResult>`.
#[derive(Debug, Default)]
pub(crate) struct CompleteMultipartUploadResult {
    pub(crate) location: Option<String>,
    pub(crate) bucket: Option<String>,
    pub(crate) key: Option<String>,
    pub(crate) e_tag: Option<String>,
    pub(crate) checksum_crc32c: Option<String>,
    pub(crate) checksum_crc32: Option<String>,
    pub(crate) checksum_crc64nvme: Option<String>,
    pub(crate) checksum_sha256: Option<String>,
    pub(crate) checksum_type: Option<String>,
}

impl FromXml for CompleteMultipartUploadResult {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            location: e.child_string("Location"),
            bucket: e.child_string("Bucket"),
            key: e.child_string("Key"),
            e_tag: e.child_string("ETag"),
            checksum_crc32c: e.child_string("ChecksumCRC32C"),
            checksum_crc32: e.child_string("ChecksumCRC32"),
            checksum_crc64nvme: e.child_string("ChecksumCRC64NVME"),
            checksum_sha256: e.child_string("ChecksumSHA256"),
            checksum_type: e.child_string("ChecksumType"),
        })
    }
}

/// ListMultipartUploads: `<ListMultipartUploadsResult>`.
#[derive(Debug, Default)]
pub(crate) struct ListMultipartUploadsResult {
    pub(crate) next_key_marker: Option<String>,
    pub(crate) next_upload_id_marker: Option<String>,
    pub(crate) is_truncated: bool,
    pub(crate) encoding_type: Option<String>,
    pub(crate) upload: Vec<UploadXml>,
    pub(crate) common_prefixes: Vec<PrefixXml>,
}

impl FromXml for ListMultipartUploadsResult {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            next_key_marker: e.child_string("NextKeyMarker"),
            next_upload_id_marker: e.child_string("NextUploadIdMarker"),
            is_truncated: e.child_bool("IsTruncated")?.unwrap_or(false),
            encoding_type: e.child_string("EncodingType"),
            upload: list(e, "Upload")?,
            common_prefixes: list(e, "CommonPrefixes")?,
        })
    }
}

/// `<Upload>` in ListMultipartUploads.
#[derive(Debug, Default)]
pub(crate) struct UploadXml {
    pub(crate) key: String,
    pub(crate) upload_id: String,
    pub(crate) initiated: Option<SystemTime>,
    pub(crate) storage_class: Option<String>,
}

impl FromXml for UploadXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            key: e.required_string("Key")?,
            upload_id: e.required_string("UploadId")?,
            initiated: child_time(e, "Initiated"),
            storage_class: e.child_string("StorageClass"),
        })
    }
}

/// ListParts: `<ListPartsResult>`.
#[derive(Debug, Default)]
pub(crate) struct ListPartsResult {
    pub(crate) next_part_number_marker: Option<String>,
    pub(crate) is_truncated: bool,
    pub(crate) part: Vec<PartXml>,
    pub(crate) storage_class: Option<String>,
}

impl FromXml for ListPartsResult {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            next_part_number_marker: e.child_string("NextPartNumberMarker"),
            is_truncated: e.child_bool("IsTruncated")?.unwrap_or(false),
            part: list(e, "Part")?,
            storage_class: e.child_string("StorageClass"),
        })
    }
}

/// `<Part>` in ListParts.
#[derive(Debug, Default)]
pub(crate) struct PartXml {
    pub(crate) part_number: u32,
    pub(crate) last_modified: Option<SystemTime>,
    pub(crate) e_tag: Option<String>,
    pub(crate) size: Option<u64>,
    pub(crate) checksum_crc32c: Option<String>,
    pub(crate) checksum_sha256: Option<String>,
}

impl FromXml for PartXml {
    fn from_xml(e: &Element<'_>) -> Result<Self, XmlError> {
        Ok(Self {
            part_number: e.required("PartNumber")?.parse_text()?,
            last_modified: child_time(e, "LastModified"),
            e_tag: e.child_string("ETag"),
            size: e.child_parse("Size")?,
            checksum_crc32c: e.child_string("ChecksumCRC32C"),
            checksum_sha256: e.child_string("ChecksumSHA256"),
        })
    }
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
        cloudkit_aws_protocol::parse_xml_error(body)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use cloudkit_core::ErrorKind;

    use super::*;

    fn decode<T: FromXml>(body: &str) -> T {
        from_xml("Test", body.as_bytes()).unwrap()
    }

    /// A decode failure as the caller sees it: a typed `Decode` error, never a panic.
    fn decode_error<T: FromXml + std::fmt::Debug>(body: &str) -> String {
        let e = from_xml::<T>("Test", body.as_bytes()).unwrap_err();
        let core = e.core().unwrap();
        assert_eq!(core.kind(), ErrorKind::Decode, "{e}");
        assert_eq!(core.operation(), "Test");
        core.message().unwrap().to_owned()
    }

    fn at(secs: u64) -> Option<SystemTime> {
        Some(UNIX_EPOCH + Duration::from_secs(secs))
    }

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
        assert_eq!(cloudkit_core::internal::xml::escape("a&b<c>\"d'\n"), "a&amp;b&lt;c&gt;&quot;d&apos;&#10;");
        let t = parse_rfc3339("2009-10-12T17:50:30.000Z").unwrap();
        assert_eq!(t.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs(), 1_255_369_830);
        assert_eq!(cloudkit_core::internal::date::http_date(t).as_deref(), Some("Mon, 12 Oct 2009 17:50:30 GMT"));
    }

    #[test]
    fn list_buckets() {
        let r: ListAllMyBucketsResult = decode(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Owner><ID>bcaf1ffd86f461ca5fb16fd081034f</ID><DisplayName>webfile</DisplayName></Owner>
  <Buckets>
    <Bucket><Name>quotes</Name><CreationDate>2006-02-03T16:45:09.000Z</CreationDate><BucketRegion>us-west-2</BucketRegion></Bucket>
    <Bucket><Name>samples</Name><CreationDate>not a date</CreationDate></Bucket>
  </Buckets>
  <ContinuationToken>AbCd</ContinuationToken>
</ListAllMyBucketsResult>"#,
        );
        let owner = r.owner.unwrap();
        assert_eq!(owner.id.as_deref(), Some("bcaf1ffd86f461ca5fb16fd081034f"));
        assert_eq!(owner.display_name.as_deref(), Some("webfile"));
        assert_eq!(r.buckets.len(), 2);
        assert_eq!(r.buckets[0].name, "quotes");
        assert_eq!(r.buckets[0].creation_date, at(1_138_985_109));
        assert_eq!(r.buckets[0].bucket_region.as_deref(), Some("us-west-2"));
        assert_eq!(r.buckets[1].name, "samples");
        assert_eq!(r.buckets[1].creation_date, None, "a malformed date is dropped, as before");
        assert_eq!(r.continuation_token.as_deref(), Some("AbCd"));

        let empty: ListAllMyBucketsResult =
            decode("<ListAllMyBucketsResult><Owner><ID>x</ID></Owner><Buckets/></ListAllMyBucketsResult>");
        assert!(empty.buckets.is_empty());
        assert!(empty.continuation_token.is_none());
        let bare: ListAllMyBucketsResult = decode("<ListAllMyBucketsResult/>");
        assert!(bare.buckets.is_empty() && bare.owner.is_none());

        let msg = decode_error::<ListAllMyBucketsResult>(
            "<ListAllMyBucketsResult><Buckets><Bucket><CreationDate>2006-02-03T16:45:09.000Z</CreationDate></Bucket></Buckets></ListAllMyBucketsResult>",
        );
        assert_eq!(msg, "unexpected XML response: <Bucket> has no <Name>");
    }

    #[test]
    fn bucket_location() {
        let r: LocationConstraintXml = decode(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">eu-west-1</LocationConstraint>"#,
        );
        assert_eq!(r.value.as_deref(), Some("eu-west-1"));
        let us: LocationConstraintXml =
            decode(r#"<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>"#);
        assert_eq!(us.value, None);
        assert_eq!(decode::<LocationConstraintXml>("<LocationConstraint></LocationConstraint>").value, None);
    }

    const LIST_V2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>example-bucket</Name>
  <Prefix>photos/</Prefix>
  <KeyCount>3</KeyCount>
  <MaxKeys>1000</MaxKeys>
  <Delimiter>/</Delimiter>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <StartAfter>photos/a</StartAfter>
  <Contents>
    <Key>photos/Tom &amp; Jerry &lt;1&gt;.jpg</Key>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>
    <ChecksumAlgorithm>CRC32C</ChecksumAlgorithm>
    <ChecksumAlgorithm>SHA256</ChecksumAlgorithm>
    <ChecksumType>FULL_OBJECT</ChecksumType>
    <Size>434234</Size>
    <StorageClass>STANDARD</StorageClass>
    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>mtd</DisplayName></Owner>
  </Contents>
  <Contents><Key>  photos/padded  </Key><Size>0</Size></Contents>
  <Contents><Key>photos/caf&#xE9;&#10;</Key><Size> 7 </Size></Contents>
  <CommonPrefixes><Prefix>photos/2006/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix> photos/spaced /</Prefix></CommonPrefixes>
</ListBucketResult>"#;

    #[test]
    fn list_objects_v2() {
        let r: ListBucketResult = decode(LIST_V2);
        assert_eq!(r.name.as_deref(), Some("example-bucket"));
        assert_eq!(r.prefix.as_deref(), Some("photos/"));
        assert_eq!(r.delimiter.as_deref(), Some("/"));
        assert_eq!(r.key_count, Some(3));
        assert_eq!(r.max_keys, Some(1000));
        assert!(r.is_truncated);
        assert_eq!(r.next_continuation_token.as_deref(), Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="));
        assert_eq!(r.start_after.as_deref(), Some("photos/a"));
        assert_eq!(r.encoding_type, None);
        assert_eq!(r.contents.len(), 3);
        let o = &r.contents[0];
        assert_eq!(o.key, "photos/Tom & Jerry <1>.jpg", "entities are resolved");
        assert_eq!(o.last_modified, at(1_255_369_830));
        assert_eq!(o.e_tag.as_deref(), Some("\"fba9dede5f27731c9771645a39863328\""));
        assert_eq!(o.checksum_algorithm, ["CRC32C", "SHA256"]);
        assert_eq!(o.checksum_type.as_deref(), Some("FULL_OBJECT"));
        assert_eq!(o.size, Some(434_234));
        assert_eq!(o.storage_class.as_deref(), Some("STANDARD"));
        assert_eq!(o.owner.as_ref().and_then(|o| o.display_name.as_deref()), Some("mtd"));
        assert_eq!(r.contents[1].key, "  photos/padded  ", "keys keep leading and trailing spaces");
        assert!(r.contents[1].checksum_algorithm.is_empty() && r.contents[1].owner.is_none());
        assert_eq!(r.contents[2].key, "photos/café\n");
        assert_eq!(r.contents[2].size, Some(7), "numbers ignore surrounding whitespace");
        let prefixes: Vec<&str> = r.common_prefixes.iter().map(|p| p.prefix.as_str()).collect();
        assert_eq!(prefixes, ["photos/2006/", " photos/spaced /"]);
    }

    #[test]
    fn empty_listing() {
        let r: ListBucketResult = decode(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>empty</Name><Prefix></Prefix><KeyCount>0</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated></ListBucketResult>"#,
        );
        assert_eq!(r.name.as_deref(), Some("empty"));
        assert_eq!(r.prefix.as_deref(), Some(""), "an empty element is an empty string, not absent");
        assert_eq!(r.key_count, Some(0));
        assert!(!r.is_truncated);
        assert!(r.contents.is_empty() && r.common_prefixes.is_empty());
        assert!(r.next_continuation_token.is_none());
        let bare: ListBucketResult = decode("<ListBucketResult/>");
        assert!(!bare.is_truncated && bare.contents.is_empty() && bare.name.is_none());
    }

    #[test]
    fn listing_with_interleaved_elements_keeps_every_entry() {
        let r: ListBucketResult = decode(
            "<ListBucketResult><Contents><Key>a</Key></Contents><CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes><Contents><Key>b</Key></Contents><IsTruncated>1</IsTruncated></ListBucketResult>",
        );
        let keys: Vec<&str> = r.contents.iter().map(|o| o.key.as_str()).collect();
        assert_eq!(keys, ["a", "b"]);
        assert_eq!(r.common_prefixes.len(), 1);
        assert!(r.is_truncated, "XML Schema booleans: 1 is true");
    }

    #[test]
    fn listing_errors_are_typed_not_panics() {
        let cases = [
            ("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>", "<Contents> has no <Key>"),
            (
                "<ListBucketResult><CommonPrefixes></CommonPrefixes></ListBucketResult>",
                "<CommonPrefixes> has no <Prefix>",
            ),
            (
                "<ListBucketResult><Contents><Key>k</Key><Size>big</Size></Contents></ListBucketResult>",
                "<Size> holds `big`, which is not a valid u64",
            ),
            (
                "<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>",
                "<Size> holds `-1`, which is not a valid u64",
            ),
            (
                "<ListBucketResult><KeyCount></KeyCount></ListBucketResult>",
                "<KeyCount> holds ``, which is not a valid u32",
            ),
            (
                "<ListBucketResult><IsTruncated>yes</IsTruncated></ListBucketResult>",
                "<IsTruncated> holds `yes`, which is not a boolean",
            ),
        ];
        for (body, expected) in cases {
            assert_eq!(
                decode_error::<ListBucketResult>(body),
                format!("unexpected XML response: {expected}"),
                "{body}"
            );
        }
        for body in ["", "not xml", "<ListBucketResult><Contents>", "<ListBucketResult>&nbsp;</ListBucketResult>"] {
            let msg = decode_error::<ListBucketResult>(body);
            assert!(msg.starts_with("unexpected XML response: "), "{msg}");
        }
        let mut invalid_utf8 = b"<ListBucketResult><Name>".to_vec();
        invalid_utf8.extend_from_slice(&[0xff, 0xfe]);
        invalid_utf8.extend_from_slice(b"</Name></ListBucketResult>");
        assert!(from_xml::<ListBucketResult>("Test", &invalid_utf8).is_err());
    }

    #[test]
    fn delete_objects_result() {
        let r: DeleteResult = decode(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted><Key>sample1.txt</Key></Deleted>
  <Deleted><Key> a&amp;b </Key><VersionId>v1</VersionId><DeleteMarker>true</DeleteMarker><DeleteMarkerVersionId>dm1</DeleteMarkerVersionId></Deleted>
  <Error><Key>sample2.txt</Key><VersionId>v2</VersionId><Code>AccessDenied</Code><Message>Access Denied</Message></Error>
</DeleteResult>"#,
        );
        assert_eq!(r.deleted.len(), 2);
        assert_eq!(r.deleted[0].key.as_deref(), Some("sample1.txt"));
        assert_eq!(r.deleted[0].delete_marker, None);
        assert_eq!(r.deleted[1].key.as_deref(), Some(" a&b "));
        assert_eq!(r.deleted[1].version_id.as_deref(), Some("v1"));
        assert_eq!(r.deleted[1].delete_marker, Some(true));
        assert_eq!(r.deleted[1].delete_marker_version_id.as_deref(), Some("dm1"));
        assert_eq!(r.error.len(), 1);
        let e = &r.error[0];
        assert_eq!(e.key.as_deref(), Some("sample2.txt"));
        assert_eq!(e.version_id.as_deref(), Some("v2"));
        assert_eq!(e.code.as_deref(), Some("AccessDenied"));
        assert_eq!(e.message.as_deref(), Some("Access Denied"));
        let quiet: DeleteResult = decode(r#"<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"/>"#);
        assert!(quiet.deleted.is_empty() && quiet.error.is_empty());
        let msg = decode_error::<DeleteResult>(
            "<DeleteResult><Deleted><DeleteMarker>maybe</DeleteMarker></Deleted></DeleteResult>",
        );
        assert!(msg.contains("<DeleteMarker>"), "{msg}");
    }

    #[test]
    fn copy_results() {
        let r: CopyResultXml = decode(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<CopyObjectResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LastModified>2009-10-28T22:32:00.000Z</LastModified><ETag>"9b2cf535f27731c974343645a3985328"</ETag><ChecksumCRC32C>yZRlqg==</ChecksumCRC32C></CopyObjectResult>"#,
        );
        assert_eq!(r.e_tag.as_deref(), Some("\"9b2cf535f27731c974343645a3985328\""));
        assert_eq!(r.last_modified, at(1_256_769_120));
        assert_eq!(r.checksum_crc32c.as_deref(), Some("yZRlqg=="));
        let part: CopyResultXml = decode(
            "<CopyPartResult><LastModified>2011-04-11T20:34:56.000Z</LastModified><ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyPartResult>",
        );
        assert_eq!(part.e_tag.as_deref(), Some("\"9b2cf535f27731c974343645a3985328\""));
        assert!(part.last_modified.is_some() && part.checksum_crc32c.is_none());
    }

    #[test]
    fn tagging() {
        let r: TaggingXml = decode(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <TagSet>
    <Tag><Key>tag1</Key><Value>val1</Value></Tag>
    <Tag><Key> a&amp;b </Key><Value> x&lt;y </Value></Tag>
    <Tag><Key>empty</Key><Value></Value></Tag>
    <Tag><Key>novalue</Key></Tag>
  </TagSet>
</Tagging>"#,
        );
        let tags: Vec<(&str, &str)> = r.tags.iter().map(|t| (t.key.as_str(), t.value.as_str())).collect();
        assert_eq!(tags, [("tag1", "val1"), (" a&b ", " x<y "), ("empty", ""), ("novalue", "")]);
        assert!(decode::<TaggingXml>("<Tagging><TagSet/></Tagging>").tags.is_empty());
        assert!(decode::<TaggingXml>("<Tagging/>").tags.is_empty());
        assert_eq!(
            decode_error::<TaggingXml>("<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>"),
            "unexpected XML response: <Tag> has no <Key>"
        );
    }

    #[test]
    fn initiate_multipart_upload() {
        let r: InitiateMultipartUploadResult = decode(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<InitiateMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>example-bucket</Bucket>
  <Key> my movie.m2ts </Key>
  <UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId>
</InitiateMultipartUploadResult>"#,
        );
        assert_eq!(r.bucket.as_deref(), Some("example-bucket"));
        assert_eq!(r.key.as_deref(), Some(" my movie.m2ts "));
        assert_eq!(r.upload_id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
        assert_eq!(
            decode_error::<InitiateMultipartUploadResult>(
                "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key></InitiateMultipartUploadResult>"
            ),
            "unexpected XML response: <InitiateMultipartUploadResult> has no <UploadId>"
        );
    }

    #[test]
    fn complete_multipart_upload() {
        let r: CompleteMultipartUploadResult = decode(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Location>http://Example-Bucket.s3.region.amazonaws.com/Example-Object</Location>
  <Bucket>Example-Bucket</Bucket>
  <Key>Example&#x20;Object&amp;</Key>
  <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
  <ChecksumCRC32C>Ohd6rQ==-9</ChecksumCRC32C>
  <ChecksumSHA256>n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=</ChecksumSHA256>
  <ChecksumType>COMPOSITE</ChecksumType>
</CompleteMultipartUploadResult>"#,
        );
        assert_eq!(r.location.as_deref(), Some("http://Example-Bucket.s3.region.amazonaws.com/Example-Object"));
        assert_eq!(r.bucket.as_deref(), Some("Example-Bucket"));
        assert_eq!(r.key.as_deref(), Some("Example Object&"));
        assert_eq!(r.e_tag.as_deref(), Some("\"3858f62230ac3c915f300c664312c11f-9\""));
        assert_eq!(r.checksum_crc32c.as_deref(), Some("Ohd6rQ==-9"));
        assert_eq!(r.checksum_sha256.as_deref(), Some("n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="));
        assert_eq!(r.checksum_type.as_deref(), Some("COMPOSITE"));
        let minimal: CompleteMultipartUploadResult = decode("<CompleteMultipartUploadResult/>");
        assert!(minimal.e_tag.is_none() && minimal.location.is_none());
    }

    #[test]
    fn list_multipart_uploads() {
        let r: ListMultipartUploadsResult = decode(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>bucket</Bucket>
  <KeyMarker></KeyMarker>
  <UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>my-movie.m2ts</NextKeyMarker>
  <NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker>
  <EncodingType>url</EncodingType>
  <MaxUploads>3</MaxUploads>
  <IsTruncated>true</IsTruncated>
  <Upload>
    <Key>my-divisor</Key>
    <UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId>
    <Initiator><ID>arn:aws:iam::111122223333:user/user1-11111a31-17b5-4fb7-9df5-b111111f13de</ID><DisplayName>user1</DisplayName></Initiator>
    <Owner><ID>75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a</ID><DisplayName>OwnerDisplayName</DisplayName></Owner>
    <StorageClass>STANDARD</StorageClass>
    <Initiated>2010-11-10T20:48:33.000Z</Initiated>
  </Upload>
  <Upload><Key> spaced&amp;key </Key><UploadId>b</UploadId></Upload>
  <CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes>
</ListMultipartUploadsResult>"#,
        );
        assert_eq!(r.next_key_marker.as_deref(), Some("my-movie.m2ts"));
        assert_eq!(r.next_upload_id_marker.as_deref(), Some("YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ"));
        assert_eq!(r.encoding_type.as_deref(), Some("url"));
        assert!(r.is_truncated);
        assert_eq!(r.upload.len(), 2);
        assert_eq!(r.upload[0].key, "my-divisor");
        assert_eq!(r.upload[0].upload_id, "XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw");
        assert_eq!(r.upload[0].initiated, at(1_289_422_113));
        assert_eq!(r.upload[0].storage_class.as_deref(), Some("STANDARD"));
        assert_eq!(r.upload[1].key, " spaced&key ");
        assert!(r.upload[1].initiated.is_none());
        assert_eq!(r.common_prefixes.len(), 1);
        assert_eq!(r.common_prefixes[0].prefix, "photos/");

        let empty: ListMultipartUploadsResult =
            decode("<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>");
        assert!(!empty.is_truncated && empty.upload.is_empty() && empty.next_key_marker.is_none());
        assert_eq!(
            decode_error::<ListMultipartUploadsResult>(
                "<ListMultipartUploadsResult><Upload><Key>k</Key></Upload></ListMultipartUploadsResult>"
            ),
            "unexpected XML response: <Upload> has no <UploadId>"
        );
    }

    #[test]
    fn list_parts() {
        let r: ListPartsResult = decode(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>example-bucket</Bucket>
  <Key>example-object</Key>
  <UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId>
  <PartNumberMarker>1</PartNumberMarker>
  <NextPartNumberMarker>3</NextPartNumberMarker>
  <MaxParts>2</MaxParts>
  <IsTruncated>true</IsTruncated>
  <Part>
    <PartNumber>2</PartNumber>
    <LastModified>2010-11-10T20:48:34.000Z</LastModified>
    <ETag>"7778aef83f66abc1fa1e8477f296d394"</ETag>
    <Size>10485760</Size>
    <ChecksumCRC32C>AAAAAA==</ChecksumCRC32C>
  </Part>
  <Part>
    <PartNumber>3</PartNumber>
    <ETag>"aaaa18db4cc2f85cedef654fccc4a4x8"</ETag>
    <Size>10485760</Size>
    <ChecksumSHA256>47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=</ChecksumSHA256>
  </Part>
  <StorageClass>STANDARD</StorageClass>
</ListPartsResult>"#,
        );
        assert_eq!(r.next_part_number_marker.as_deref(), Some("3"));
        assert!(r.is_truncated);
        assert_eq!(r.storage_class.as_deref(), Some("STANDARD"));
        assert_eq!(r.part.len(), 2);
        let p = &r.part[0];
        assert_eq!(p.part_number, 2);
        assert_eq!(p.last_modified, at(1_289_422_114));
        assert_eq!(p.e_tag.as_deref(), Some("\"7778aef83f66abc1fa1e8477f296d394\""));
        assert_eq!(p.size, Some(10_485_760));
        assert_eq!(p.checksum_crc32c.as_deref(), Some("AAAAAA=="));
        assert_eq!(r.part[1].part_number, 3);
        assert_eq!(r.part[1].checksum_sha256.as_deref(), Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="));

        let empty: ListPartsResult = decode("<ListPartsResult><IsTruncated>false</IsTruncated></ListPartsResult>");
        assert!(empty.part.is_empty() && !empty.is_truncated);
        assert_eq!(
            decode_error::<ListPartsResult>("<ListPartsResult><Part><ETag>x</ETag></Part></ListPartsResult>"),
            "unexpected XML response: <Part> has no <PartNumber>"
        );
        assert_eq!(
            decode_error::<ListPartsResult>(
                "<ListPartsResult><Part><PartNumber>x</PartNumber></Part></ListPartsResult>"
            ),
            "unexpected XML response: <PartNumber> holds `x`, which is not a valid u32"
        );
    }
}
