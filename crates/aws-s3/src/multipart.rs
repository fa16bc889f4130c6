//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload, AbortMultipartUpload.

use std::time::SystemTime;

use bytes::Bytes;
use cloudkit_core::{Body, Method, Operation, Url, internal::xml};

use crate::checksum::ChecksumAlgorithm;
use crate::client::{ObjectRef, Req, S3Client, header_str, header_string};
use crate::error::S3Error;
use crate::model::{self, from_xml};
use crate::object::{attribute_setters, copy_source_setters, upload_checksum, write_condition_setters};
use crate::types::{Conditions, CopySource, ObjectAttributes, ServerSideEncryption};

/// Largest part number S3 accepts.
pub const MAX_PART_NUMBER: u32 = 10_000;

/// A CreateMultipartUpload request; see [`S3Client::create_multipart_upload`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct CreateMultipartUpload {
    object: ObjectRef,
    pub(crate) attrs: ObjectAttributes,
    checksum_algorithm: Option<ChecksumAlgorithm>,
    full_object_checksum: bool,
}

/// What CreateMultipartUpload returns.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateMultipartUploadOutput {
    /// The bucket.
    pub bucket: String,
    /// The key.
    pub key: String,
    /// The upload id every other multipart call needs.
    pub upload_id: String,
    /// Server-side encryption applied.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// The checksum algorithm the upload uses, if any.
    pub checksum_algorithm: Option<String>,
}

impl S3Client {
    /// Starts a multipart upload. Takes the same object attributes as PutObject.
    ///
    /// ```no_run
    /// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), cloudkit_aws_s3::S3Error> {
    /// use cloudkit_aws_s3::{CompletedPart, FileRegion};
    /// let up = s3.create_multipart_upload("bucket", "big.bin").content_type("application/octet-stream").send().await?;
    /// let part = s3
    ///     .upload_part("bucket", "big.bin", &up.upload_id, 1)
    ///     .body(FileRegion::new("/tmp/big.bin", 0, 8 << 20))
    ///     .send()
    ///     .await?;
    /// s3.complete_multipart_upload("bucket", "big.bin", &up.upload_id)
    ///     .part(part.completed_part(1))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn create_multipart_upload(&self, bucket: impl Into<String>, key: impl Into<String>) -> CreateMultipartUpload {
        CreateMultipartUpload {
            object: self.object_ref(bucket, key),
            attrs: ObjectAttributes::default(),
            checksum_algorithm: None,
            full_object_checksum: false,
        }
    }
}

impl CreateMultipartUpload {
    attribute_setters!();

    /// The checksum algorithm every part must then carry (`x-amz-checksum-algorithm`).
    pub fn checksum_algorithm(mut self, a: ChecksumAlgorithm) -> Self {
        self.checksum_algorithm = Some(a);
        self
    }

    /// Ask for a full-object checksum (`x-amz-checksum-type: FULL_OBJECT`, CRC32C only) instead
    /// of a composite one.
    pub fn full_object_checksum(mut self, yes: bool) -> Self {
        self.full_object_checksum = yes;
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<CreateMultipartUploadOutput, S3Error> {
        const OP: &str = "CreateMultipartUpload";
        let url = self.object.url(OP, &[("uploads", None)])?;
        let mut req = Req::new(OP, Method::POST, url);
        self.attrs.apply(&mut req)?;
        if let Some(a) = self.checksum_algorithm {
            req.header("x-amz-checksum-algorithm", a.as_str())?;
        }
        if self.full_object_checksum {
            req.header("x-amz-checksum-type", "FULL_OBJECT")?;
        }
        let r = self.object.client.send(Operation::new(OP).idempotent(false), req.request).await?;
        let p: model::InitiateMultipartUploadResult = from_xml(OP, &r.body)?;
        if p.upload_id.is_empty() {
            return Err(S3Error::decode(OP, "the response has an empty UploadId"));
        }
        Ok(CreateMultipartUploadOutput {
            bucket: p.bucket.unwrap_or(self.object.bucket),
            key: p.key.unwrap_or(self.object.key),
            upload_id: p.upload_id,
            server_side_encryption: header_str(&r.headers, "x-amz-server-side-encryption")
                .map(ServerSideEncryption::parse),
            checksum_algorithm: header_string(&r.headers, "x-amz-checksum-algorithm"),
        })
    }
}

/// The multipart upload a request is about.
#[derive(Clone, Debug)]
struct UploadRef {
    object: ObjectRef,
    upload_id: String,
}

impl UploadRef {
    /// The URL of the upload (`?uploadId=…`) or, with a part number, of one of its parts
    /// (`?partNumber=…&uploadId=…`; a number outside 1..=10000 is an input error).
    fn url(&self, op: &'static str, part_number: Option<u32>) -> Result<Url, S3Error> {
        let part = part_number.map(|n| check_part_number(op, n).map(|()| n.to_string())).transpose()?;
        let mut query = Vec::with_capacity(2);
        if let Some(p) = &part {
            query.push(("partNumber", Some(p.as_str())));
        }
        query.push(("uploadId", Some(self.upload_id.as_str())));
        self.object.url(op, &query)
    }
}

impl S3Client {
    fn upload_ref(&self, bucket: impl Into<String>, key: impl Into<String>, upload_id: impl Into<String>) -> UploadRef {
        UploadRef { object: self.object_ref(bucket, key), upload_id: upload_id.into() }
    }
}

fn check_part_number(op: &'static str, n: u32) -> Result<(), S3Error> {
    if (1..=MAX_PART_NUMBER).contains(&n) {
        Ok(())
    } else {
        Err(S3Error::invalid_input(op, format!("part number {n} is outside 1..=10000")))
    }
}

/// An UploadPart request; see [`S3Client::upload_part`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct UploadPart {
    upload: UploadRef,
    part_number: u32,
    body: Body,
    checksum: Option<(ChecksumAlgorithm, Option<String>)>,
}

/// What UploadPart returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadPartOutput {
    /// The part's ETag (needed to complete the upload).
    pub e_tag: Option<String>,
    /// The checksum sent with the part (algorithm, base64 value).
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

impl UploadPartOutput {
    /// The [`CompletedPart`] for CompleteMultipartUpload.
    pub fn completed_part(&self, part_number: u32) -> CompletedPart {
        CompletedPart { part_number, e_tag: self.e_tag.clone().unwrap_or_default(), checksum: self.checksum.clone() }
    }
}

impl S3Client {
    /// Uploads one part (5 MiB–5 GiB, the last may be smaller). A
    /// [`FileRegion`](cloudkit_core::FileRegion) body is streamed from disk and re-read on
    /// retries; the CRC32C (in [`ChecksumMode::WhenSupported`](crate::ChecksumMode)) is computed
    /// by streaming it once more, never by buffering.
    pub fn upload_part(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        upload_id: impl Into<String>,
        part_number: u32,
    ) -> UploadPart {
        UploadPart { upload: self.upload_ref(bucket, key, upload_id), part_number, body: Body::Empty, checksum: None }
    }
}

impl UploadPart {
    /// The part's bytes.
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// Sends a checksum of this algorithm whatever the checksum mode (required when the upload
    /// was created with `checksum_algorithm`).
    pub fn checksum_algorithm(mut self, a: ChecksumAlgorithm) -> Self {
        self.checksum = Some((a, None));
        self
    }

    /// Sends a checksum the caller computed (base64).
    pub fn checksum(mut self, a: ChecksumAlgorithm, value: impl Into<String>) -> Self {
        self.checksum = Some((a, Some(value.into())));
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<UploadPartOutput, S3Error> {
        const OP: &str = "UploadPart";
        let url = self.upload.url(OP, Some(self.part_number))?;
        let mut req = Req::new(OP, Method::PUT, url);
        let checksum = upload_checksum(&self.upload.object.client, OP, self.checksum, &self.body, &mut req).await?;
        req.header("content-length", &self.body.len().to_string())?;
        let r = self.upload.object.client.send(Operation::new(OP), req.request.with_body(self.body)).await?;
        Ok(UploadPartOutput { e_tag: header_string(&r.headers, "etag"), checksum })
    }
}

/// An UploadPartCopy request; see [`S3Client::upload_part_copy`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct UploadPartCopy {
    upload: UploadRef,
    part_number: u32,
    source: Option<CopySource>,
    range: Option<(u64, u64)>,
    source_conditions: Conditions,
}

/// What UploadPartCopy returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadPartCopyOutput {
    /// The part's ETag.
    pub e_tag: Option<String>,
    /// When the part was copied.
    pub last_modified: Option<SystemTime>,
    /// The source version copied.
    pub copy_source_version_id: Option<String>,
}

impl UploadPartCopyOutput {
    /// The [`CompletedPart`] for CompleteMultipartUpload.
    pub fn completed_part(&self, part_number: u32) -> CompletedPart {
        CompletedPart { part_number, e_tag: self.e_tag.clone().unwrap_or_default(), checksum: None }
    }
}

impl S3Client {
    /// Copies a byte range of an existing object as one part (server-side).
    pub fn upload_part_copy(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        upload_id: impl Into<String>,
        part_number: u32,
    ) -> UploadPartCopy {
        UploadPartCopy {
            upload: self.upload_ref(bucket, key, upload_id),
            part_number,
            source: None,
            range: None,
            source_conditions: Conditions::default(),
        }
    }
}

impl UploadPartCopy {
    copy_source_setters!();

    /// The source bytes `start..=end` (default: the whole source).
    pub fn copy_source_range(mut self, range: std::ops::RangeInclusive<u64>) -> Self {
        self.range = Some((*range.start(), *range.end()));
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<UploadPartCopyOutput, S3Error> {
        const OP: &str = "UploadPartCopy";
        let url = self.upload.url(OP, Some(self.part_number))?;
        let source = self.source.ok_or_else(|| S3Error::invalid_input(OP, "UploadPartCopy needs a copy_source"))?;
        let mut req = Req::new(OP, Method::PUT, url);
        req.header("x-amz-copy-source", &source.header_value())?;
        if let Some((s, e)) = self.range {
            req.header("x-amz-copy-source-range", &format!("bytes={s}-{e}"))?;
        }
        self.source_conditions.apply(&mut req, "x-amz-copy-source-")?;
        let op = Operation::new(OP).body_error_check(model::error_in_200);
        let r = self.upload.object.client.send(op, req.request).await?;
        let p: model::CopyResultXml = from_xml(OP, &r.body)?;
        Ok(UploadPartCopyOutput {
            e_tag: p.e_tag,
            last_modified: p.last_modified,
            copy_source_version_id: header_string(&r.headers, "x-amz-copy-source-version-id"),
        })
    }
}

/// A part as CompleteMultipartUpload lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletedPart {
    /// The part number.
    pub part_number: u32,
    /// The ETag UploadPart returned.
    pub e_tag: String,
    /// The part's checksum, when the upload uses checksums.
    pub checksum: Option<(ChecksumAlgorithm, String)>,
}

/// A CompleteMultipartUpload request; see [`S3Client::complete_multipart_upload`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct CompleteMultipartUpload {
    upload: UploadRef,
    parts: Vec<CompletedPart>,
    pub(crate) conditions: Conditions,
    full_object_checksum: Option<(ChecksumAlgorithm, String)>,
}

/// What CompleteMultipartUpload returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompleteMultipartUploadOutput {
    /// The object's URL.
    pub location: Option<String>,
    /// The bucket.
    pub bucket: Option<String>,
    /// The key.
    pub key: Option<String>,
    /// The object's ETag (`"<md5 of md5s>-<parts>"`).
    pub e_tag: Option<String>,
    /// The new version id.
    pub version_id: Option<String>,
    /// The object's CRC32C (full-object or composite, see `checksum_type`).
    pub checksum_crc32c: Option<String>,
    /// The object's SHA-256 (composite).
    pub checksum_sha256: Option<String>,
    /// `FULL_OBJECT` or `COMPOSITE`.
    pub checksum_type: Option<String>,
}

impl S3Client {
    /// Completes a multipart upload from its parts (sorted by part number before sending).
    /// S3 may report a failure in a 200 response after a long wait: that is returned as an
    /// error, and retried when its code is retryable (`InternalError`, `SlowDown`).
    pub fn complete_multipart_upload(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        upload_id: impl Into<String>,
    ) -> CompleteMultipartUpload {
        CompleteMultipartUpload {
            upload: self.upload_ref(bucket, key, upload_id),
            parts: Vec::new(),
            conditions: Conditions::default(),
            full_object_checksum: None,
        }
    }
}

impl CompleteMultipartUpload {
    /// Adds a part.
    pub fn part(mut self, part: CompletedPart) -> Self {
        self.parts.push(part);
        self
    }
    /// Adds parts.
    pub fn parts(mut self, parts: impl IntoIterator<Item = CompletedPart>) -> Self {
        self.parts.extend(parts);
        self
    }
    write_condition_setters!();
    /// The full-object checksum of the whole object, for uploads created with
    /// `full_object_checksum(true)`.
    pub fn full_object_checksum(mut self, a: ChecksumAlgorithm, value: impl Into<String>) -> Self {
        self.full_object_checksum = Some((a, value.into()));
        self
    }

    /// Sends the request.
    pub async fn send(mut self) -> Result<CompleteMultipartUploadOutput, S3Error> {
        const OP: &str = "CompleteMultipartUpload";
        if self.parts.is_empty() {
            return Err(S3Error::invalid_input(OP, "CompleteMultipartUpload needs at least one part"));
        }
        for p in &self.parts {
            check_part_number(OP, p.part_number)?;
        }
        self.parts.sort_by_key(|p| p.part_number);
        let url = self.upload.url(OP, None)?;
        let mut xml = String::from("<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        for p in &self.parts {
            xml.push_str("<Part>");
            if let Some((a, v)) = &p.checksum {
                // <ChecksumCRC32C>, <ChecksumSHA256>, … <ChecksumCRC64NVME>
                let tag = a.as_str();
                xml.push_str(&format!("<Checksum{tag}>{}</Checksum{tag}>", xml::escape(v)));
            }
            xml.push_str(&format!(
                "<ETag>{}</ETag><PartNumber>{}</PartNumber></Part>",
                xml::escape(&p.e_tag),
                p.part_number
            ));
        }
        xml.push_str("</CompleteMultipartUpload>");
        let mut req = Req::new(OP, Method::POST, url);
        req.header("content-type", "application/xml")?;
        self.conditions.apply(&mut req, "")?;
        if let Some((a, v)) = &self.full_object_checksum {
            req.header(a.header(), v)?;
            req.header("x-amz-checksum-type", "FULL_OBJECT")?;
        }
        let op = Operation::new(OP).body_error_check(model::error_in_200);
        let r = self.upload.object.client.send(op, req.request.with_body(Bytes::from(xml))).await?;
        let p: model::CompleteMultipartUploadResult = from_xml(OP, &r.body)?;
        Ok(CompleteMultipartUploadOutput {
            location: p.location,
            bucket: p.bucket,
            key: p.key,
            e_tag: p.e_tag,
            version_id: header_string(&r.headers, "x-amz-version-id"),
            checksum_crc32c: p.checksum_crc32c,
            checksum_sha256: p.checksum_sha256,
            checksum_type: p.checksum_type,
        })
    }
}

/// An AbortMultipartUpload request; see [`S3Client::abort_multipart_upload`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct AbortMultipartUpload {
    upload: UploadRef,
}

impl S3Client {
    /// Aborts a multipart upload, deleting its parts. An unknown upload is
    /// [`S3Error::NoSuchUpload`].
    pub fn abort_multipart_upload(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        upload_id: impl Into<String>,
    ) -> AbortMultipartUpload {
        AbortMultipartUpload { upload: self.upload_ref(bucket, key, upload_id) }
    }
}

impl AbortMultipartUpload {
    /// Sends the request.
    pub async fn send(self) -> Result<(), S3Error> {
        const OP: &str = "AbortMultipartUpload";
        let url = self.upload.url(OP, None)?;
        self.upload.object.client.send(Operation::new(OP), Req::new(OP, Method::DELETE, url).request).await?;
        Ok(())
    }
}
