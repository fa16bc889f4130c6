//! Multipart uploads: CreateMultipartUpload, UploadPart, UploadPartCopy,
//! CompleteMultipartUpload, AbortMultipartUpload.

use std::time::SystemTime;

use bytes::Bytes;
use cloudkit_core::{Body, Method, Operation, Url, internal::xml};

use crate::checksum::{ChecksumAlgorithm, ChecksumType};
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
    checksum_type: Option<ChecksumType>,
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
    /// The checksum type the upload uses (`FULL_OBJECT` or `COMPOSITE`), if the service says.
    pub checksum_type: Option<String>,
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
            checksum_type: None,
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

    /// The kind of checksum the object gets (`x-amz-checksum-type`), with
    /// [`checksum_algorithm`](Self::checksum_algorithm):
    /// [`ChecksumType::FullObject`] (CRC32, CRC32C or CRC64NVME) gives the object one checksum of
    /// all its bytes, which any download can verify, also over parallel byte ranges; finish the
    /// upload with [`CompleteMultipartUpload::full_object_checksum`] (the CRC of the whole
    /// object, which the [`TransferManager`](crate::TransferManager) combines from the parts'
    /// CRCs). [`ChecksumType::Composite`] (S3's default for CRC32/CRC32C/SHA) gives a checksum
    /// of the parts' checksums. AWS documents `FULL_OBJECT` since 2025; moto 5 honours it;
    /// stores that do not know the header ignore it (s3s-fs: the object then has no checksum).
    ///
    /// ```no_run
    /// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), cloudkit_aws_s3::S3Error> {
    /// use cloudkit_aws_s3::{ChecksumAlgorithm, ChecksumType};
    /// let up = s3
    ///     .create_multipart_upload("bucket", "big.bin")
    ///     .checksum_algorithm(ChecksumAlgorithm::Crc32)
    ///     .checksum_type(ChecksumType::FullObject)
    ///     .send()
    ///     .await?;
    /// # let _ = up; Ok(()) }
    /// ```
    pub fn checksum_type(mut self, t: ChecksumType) -> Self {
        self.checksum_type = Some(t);
        self
    }

    /// Shorthand for [`checksum_type`](Self::checksum_type)`(ChecksumType::FullObject)` (`true`)
    /// or no checksum type (`false`, the service's default).
    pub fn full_object_checksum(mut self, yes: bool) -> Self {
        self.checksum_type = yes.then_some(ChecksumType::FullObject);
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
        if let Some(t) = self.checksum_type {
            req.header("x-amz-checksum-type", t.as_str())?;
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
            checksum_type: header_string(&r.headers, "x-amz-checksum-type"),
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
    /// by streaming it once more, never by buffering. In
    /// [`ChecksumMode::WhenRequired`](crate::ChecksumMode) a part carries a checksum only when
    /// asked ([`UploadPart::checksum_algorithm`], with the same algorithm given to
    /// [`CreateMultipartUpload::checksum_algorithm`]), as the
    /// [`TransferManager`](crate::TransferManager) does for file parts.
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
        // Not `protect_files`: a part's checksum must use the algorithm the upload was created
        // with, which this request does not know (the transfer manager sets both).
        let checksum =
            upload_checksum(&self.upload.object.client, OP, self.checksum, false, &self.body, &mut req).await?;
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
    /// The object's CRC32 (full-object or composite, see `checksum_type`).
    pub checksum_crc32: Option<String>,
    /// The object's CRC64NVME (always full-object).
    pub checksum_crc64nvme: Option<String>,
    /// The object's SHA-256 (composite).
    pub checksum_sha256: Option<String>,
    /// `FULL_OBJECT` or `COMPOSITE`.
    pub checksum_type: Option<String>,
}

impl S3Client {
    /// Completes a multipart upload from its parts (sorted by part number before sending).
    /// S3 may report a failure in a 200 response after a long wait: that is returned as an
    /// error, and retried when its code is retryable (`InternalError`, `SlowDown`). A retry that
    /// finds the upload gone because an earlier attempt completed it (its answer was lost) is
    /// recognized by the object's ETag and returns success. With a condition
    /// ([`if_none_match_any`](CompleteMultipartUpload::if_none_match_any),
    /// [`if_match`](CompleteMultipartUpload::if_match)) the request is retried only after
    /// throttling or a failed connection.
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
    /// The checksum of the whole object's bytes (`x-amz-checksum-<algorithm>` with
    /// `x-amz-checksum-type: FULL_OBJECT`), for uploads created with
    /// [`ChecksumType::FullObject`](crate::ChecksumType::FullObject): S3 checks it against the
    /// parts (a mismatch fails the completion).
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
        let op = Operation::new(OP).body_error_check(model::error_in_200).idempotent(!self.conditions.is_conditional());
        let r = match self.upload.object.client.send(op, req.request.with_body(Bytes::from(xml))).await {
            Ok(r) => r,
            Err(S3Error::NoSuchUpload(e)) if e.attempts() > 1 => return self.completed_by_an_earlier_attempt(e).await,
            Err(e) => return Err(e),
        };
        let p: model::CompleteMultipartUploadResult = from_xml(OP, &r.body)?;
        Ok(CompleteMultipartUploadOutput {
            location: p.location,
            bucket: p.bucket,
            key: p.key,
            e_tag: p.e_tag,
            version_id: header_string(&r.headers, "x-amz-version-id"),
            checksum_crc32c: p.checksum_crc32c,
            checksum_crc32: p.checksum_crc32,
            checksum_crc64nvme: p.checksum_crc64nvme,
            checksum_sha256: p.checksum_sha256,
            checksum_type: p.checksum_type,
        })
    }
}

impl CompleteMultipartUpload {
    /// A retried CompleteMultipartUpload that finds no upload: an earlier attempt may have
    /// completed it (the answer was lost: a reset, a timeout, a 5xx after the work was done).
    /// Then the object under the key has the ETag a completion of exactly these parts gives
    /// (`md5(md5(part 1) ‖ … ‖ md5(part N))-N`, when the parts' ETags are MD5s) and the upload
    /// did succeed; anything else is the `NoSuchUpload` it is.
    async fn completed_by_an_earlier_attempt(
        self,
        error: cloudkit_core::Error,
    ) -> Result<CompleteMultipartUploadOutput, S3Error> {
        let Some(expected) = multipart_e_tag(&self.parts) else {
            return Err(S3Error::NoSuchUpload(error));
        };
        let object = &self.upload.object;
        let head = match object.client.head_object(&object.bucket, &object.key).send().await {
            Ok(head) => head,
            Err(_) => return Err(S3Error::NoSuchUpload(error)),
        };
        if head.e_tag.as_deref().map(|t| t.trim_matches('"')) != Some(expected.as_str()) {
            return Err(S3Error::NoSuchUpload(error));
        }
        tracing::info!(bucket = %object.bucket, key = %object.key, upload_id = %self.upload.upload_id,
            "CompleteMultipartUpload was retried after an attempt that completed the upload");
        Ok(CompleteMultipartUploadOutput {
            location: None,
            bucket: Some(object.bucket.clone()),
            key: Some(object.key.clone()),
            e_tag: head.e_tag,
            version_id: head.version_id,
            checksum_crc32c: None,
            checksum_crc32: None,
            checksum_crc64nvme: None,
            checksum_sha256: None,
            checksum_type: head.checksum_type,
        })
    }
}

/// The ETag S3 gives a multipart object made of `parts` (sorted): the MD5 of the parts' binary
/// MD5s, `-` the number of parts. `None` when a part's ETag is not an MD5 (SSE-KMS, SSE-C, other
/// stores).
fn multipart_e_tag(parts: &[CompletedPart]) -> Option<String> {
    let e_tags: Vec<&str> = parts.iter().map(|p| p.e_tag.as_str()).collect();
    crate::checksum::multipart_e_tag_of(&e_tags)
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
