//! Object operations: PutObject, GetObject, HeadObject, DeleteObject, DeleteObjects, CopyObject,
//! GetObjectTagging, PutObjectTagging.

use std::time::SystemTime;

use bytes::Bytes;
use cloudkit_core::{Body, ByteStream, Method, Operation, TransportError, TransportErrorKind, internal::xml};

use crate::checksum::{
    ChecksumAlgorithm, Hasher, Verified, body_checksum, e_tag_check, response_checksum, verifying, verifying_e_tag,
};
use crate::client::{ObjectRef, Req, S3Client, header_str, header_string};
use crate::error::S3Error;
use crate::model::{self, from_xml};
use crate::types::{
    Conditions, ContentRange, CopySource, MetadataDirective, ObjectAttributes, ObjectMetadata, ServerSideEncryption,
    Tag, tagging_query,
};

/// Most keys one DeleteObjects request may carry.
pub const MAX_DELETE_OBJECTS: usize = 1000;

/// Setters for the attributes an upload gives the new object.
macro_rules! attribute_setters {
    () => {
        /// `Content-Type`.
        pub fn content_type(mut self, v: impl Into<String>) -> Self {
            self.attrs.content_type = Some(v.into());
            self
        }
        /// `Cache-Control`.
        pub fn cache_control(mut self, v: impl Into<String>) -> Self {
            self.attrs.cache_control = Some(v.into());
            self
        }
        /// `Content-Disposition`.
        pub fn content_disposition(mut self, v: impl Into<String>) -> Self {
            self.attrs.content_disposition = Some(v.into());
            self
        }
        /// `Content-Encoding`.
        pub fn content_encoding(mut self, v: impl Into<String>) -> Self {
            self.attrs.content_encoding = Some(v.into());
            self
        }
        /// `Content-Language`.
        pub fn content_language(mut self, v: impl Into<String>) -> Self {
            self.attrs.content_language = Some(v.into());
            self
        }
        /// `Expires`.
        pub fn expires(mut self, v: ::std::time::SystemTime) -> Self {
            self.attrs.expires = Some(v);
            self
        }
        /// Adds one user metadata entry (`x-amz-meta-<name>`; names are lowercased, values must be
        /// printable US-ASCII, at most 2 KiB in total).
        pub fn metadata(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
            self.attrs.metadata.push((name.into(), value.into()));
            self
        }
        /// The storage class (`STANDARD`, `STANDARD_IA`, `INTELLIGENT_TIERING`, `GLACIER_IR`, …).
        pub fn storage_class(mut self, v: impl Into<String>) -> Self {
            self.attrs.storage_class = Some(v.into());
            self
        }
        /// Adds a tag (`x-amz-tagging`).
        pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
            self.attrs.tagging.push($crate::types::Tag::new(key, value));
            self
        }
        /// Server-side encryption (SSE-S3 `AES256` or SSE-KMS `aws:kms`).
        pub fn server_side_encryption(mut self, v: $crate::ServerSideEncryption) -> Self {
            self.attrs.sse = Some(v);
            self
        }
        /// The KMS key for SSE-KMS.
        pub fn sse_kms_key_id(mut self, v: impl Into<String>) -> Self {
            self.attrs.sse_kms_key_id = Some(v.into());
            self
        }
        /// The KMS encryption context (base64 JSON).
        pub fn sse_kms_encryption_context(mut self, v: impl Into<String>) -> Self {
            self.attrs.sse_kms_context = Some(v.into());
            self
        }
        /// Whether to use an S3 Bucket Key for SSE-KMS.
        pub fn bucket_key_enabled(mut self, v: bool) -> Self {
            self.attrs.bucket_key_enabled = Some(v);
            self
        }
        /// A canned ACL (`private`, `public-read`, `bucket-owner-full-control`, …).
        pub fn acl(mut self, v: impl Into<String>) -> Self {
            self.attrs.acl = Some(v.into());
            self
        }
        /// Object Lock legal hold (`x-amz-object-lock-legal-hold: ON|OFF`; the bucket needs Object Lock).
        pub fn object_lock_legal_hold(mut self, on: bool) -> Self {
            self.attrs.lock_legal_hold = Some(on);
            self
        }
        /// Object Lock retention mode (`GOVERNANCE` or `COMPLIANCE`), with
        /// `object_lock_retain_until`.
        pub fn object_lock_mode(mut self, mode: impl Into<String>) -> Self {
            self.attrs.lock_mode = Some(mode.into());
            self
        }
        /// Object Lock retention date.
        pub fn object_lock_retain_until(mut self, t: ::std::time::SystemTime) -> Self {
            self.attrs.lock_retain_until = Some(t);
            self
        }
    };
}
pub(crate) use attribute_setters;

/// Setters of a read (GetObject, HeadObject): part, version and conditions.
macro_rules! read_setters {
    ($conditions:ident) => {
        /// One part of a multipart object (1-based); HeadObject then reports `parts_count`.
        pub fn part_number(mut self, n: u32) -> Self {
            self.part_number = Some(n);
            self
        }
        /// A specific version.
        pub fn version_id(mut self, v: impl Into<String>) -> Self {
            self.version_id = Some(v.into());
            self
        }
        /// Only if the ETag matches (else `PreconditionFailed`).
        pub fn if_match(mut self, etag: impl Into<String>) -> Self {
            self.$conditions.if_match = Some(etag.into());
            self
        }
        /// Only if the ETag differs (else `NotModified`).
        pub fn if_none_match(mut self, etag: impl Into<String>) -> Self {
            self.$conditions.if_none_match = Some(etag.into());
            self
        }
        /// Only if modified since `t` (else `NotModified`).
        pub fn if_modified_since(mut self, t: SystemTime) -> Self {
            self.$conditions.if_modified_since = Some(t);
            self
        }
        /// Only if not modified since `t` (else `PreconditionFailed`).
        pub fn if_unmodified_since(mut self, t: SystemTime) -> Self {
            self.$conditions.if_unmodified_since = Some(t);
            self
        }
    };
}

/// Setters of the conditions on the object a write replaces (PutObject, CopyObject,
/// CompleteMultipartUpload, the managed upload).
macro_rules! write_condition_setters {
    () => {
        /// `If-None-Match: *`: create only; the write fails with
        /// [`S3Error::PreconditionFailed`](crate::S3Error::PreconditionFailed) if the key exists
        /// when it completes.
        pub fn if_none_match_any(mut self) -> Self {
            self.conditions.if_none_match = Some("*".to_owned());
            self
        }
        /// `If-Match: <etag>`: replace only the object with this ETag (else `PreconditionFailed`).
        pub fn if_match(mut self, etag: impl Into<String>) -> Self {
            self.conditions.if_match = Some(etag.into());
            self
        }
    };
}
pub(crate) use write_condition_setters;

/// Setters of the source of a server-side copy (CopyObject, UploadPartCopy).
macro_rules! copy_source_setters {
    () => {
        /// The source object.
        pub fn copy_source(mut self, bucket: impl Into<String>, key: impl Into<String>) -> Self {
            self.source = Some($crate::types::CopySource { bucket: bucket.into(), key: key.into(), version_id: None });
            self
        }
        /// A specific version of the source (after [`copy_source`](Self::copy_source)).
        pub fn copy_source_version_id(mut self, v: impl Into<String>) -> Self {
            if let Some(s) = self.source.as_mut() {
                s.version_id = Some(v.into());
            }
            self
        }
        /// Copy only if the source's ETag matches.
        pub fn copy_source_if_match(mut self, etag: impl Into<String>) -> Self {
            self.source_conditions.if_match = Some(etag.into());
            self
        }
        /// Copy only if the source's ETag differs.
        pub fn copy_source_if_none_match(mut self, etag: impl Into<String>) -> Self {
            self.source_conditions.if_none_match = Some(etag.into());
            self
        }
        /// Copy only if the source was modified since `t`.
        pub fn copy_source_if_modified_since(mut self, t: ::std::time::SystemTime) -> Self {
            self.source_conditions.if_modified_since = Some(t);
            self
        }
        /// Copy only if the source was not modified since `t`.
        pub fn copy_source_if_unmodified_since(mut self, t: ::std::time::SystemTime) -> Self {
            self.source_conditions.if_unmodified_since = Some(t);
            self
        }
    };
}
pub(crate) use copy_source_setters;

/// Whether an upload body gets a CRC32C in [`ChecksumMode::WhenRequired`]: every body cloudkit
/// sends is replayable (in memory, or a file read again from disk), so the checksum is computed
/// before the body is sent, and sent as a header every S3-compatible store accepts. The service
/// stores it, which is what lets a later download be verified (issue 15: an object uploaded
/// without one could be read back corrupt without anyone noticing). A file body would otherwise
/// have no protection at all in transit (it is signed as `UNSIGNED-PAYLOAD`).
///
/// [`ChecksumMode::WhenRequired`]: crate::ChecksumMode::WhenRequired
pub(crate) fn unprotected_body(mode: crate::ChecksumMode, _body: &Body) -> bool {
    mode == crate::ChecksumMode::WhenRequired
}

/// Decides and computes the checksum of an upload body: the caller's; else CRC32C when the mode
/// sends checksums on every upload, or (`protect_files`) in `WhenRequired` (see
/// [`unprotected_body`]).
pub(crate) async fn upload_checksum(
    client: &S3Client,
    op: &'static str,
    explicit: Option<(ChecksumAlgorithm, Option<String>)>,
    protect_files: bool,
    body: &Body,
    req: &mut Req,
) -> Result<Option<(ChecksumAlgorithm, String)>, S3Error> {
    let mode = client.inner.checksum_mode;
    let (algorithm, value) = match explicit {
        Some((a, Some(v))) => (a, v),
        Some((a, None)) => (a, compute_checksum(a, body, op).await?),
        None if mode.sends_on_upload() || (protect_files && unprotected_body(mode, body)) => {
            (ChecksumAlgorithm::Crc32c, compute_checksum(ChecksumAlgorithm::Crc32c, body, op).await?)
        }
        None => return Ok(None),
    };
    req.header(algorithm.header(), &value)?;
    req.header("x-amz-sdk-checksum-algorithm", algorithm.as_str())?;
    Ok(Some((algorithm, value)))
}

async fn compute_checksum(algorithm: ChecksumAlgorithm, body: &Body, op: &'static str) -> Result<String, S3Error> {
    body_checksum(body, Box::new(Hasher::new(algorithm)))
        .await
        .map_err(|e| S3Error::invalid_input(op, format!("could not read the body to checksum it: {e}")))
}

// ---------------------------------------------------------------------------------------------
// PutObject

/// A PutObject request; see [`S3Client::put_object`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct PutObject {
    object: ObjectRef,
    body: Body,
    pub(crate) attrs: ObjectAttributes,
    pub(crate) conditions: Conditions,
    checksum: Option<(ChecksumAlgorithm, Option<String>)>,
    content_md5: bool,
}

/// What PutObject returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PutObjectOutput {
    /// The ETag of the new object.
    pub e_tag: Option<String>,
    /// The version id (versioned buckets).
    pub version_id: Option<String>,
    /// The checksum that was sent and that S3 checked (algorithm, base64 value).
    pub checksum: Option<(ChecksumAlgorithm, String)>,
    /// The server-side encryption applied.
    pub server_side_encryption: Option<ServerSideEncryption>,
    /// The KMS key used.
    pub sse_kms_key_id: Option<String>,
}

impl S3Client {
    /// Uploads an object in one request (up to 5 GiB; use multipart above a few MiB).
    ///
    /// ```no_run
    /// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), cloudkit_aws_s3::S3Error> {
    /// let out = s3
    ///     .put_object("bucket", "reports/2026.csv")
    ///     .body("a,b\n1,2\n")
    ///     .content_type("text/csv")
    ///     .metadata("owner", "finance")
    ///     .if_none_match_any() // create only: refuse to overwrite
    ///     .send()
    ///     .await?;
    /// println!("etag {:?}", out.e_tag);
    /// # Ok(()) }
    /// ```
    pub fn put_object(&self, bucket: impl Into<String>, key: impl Into<String>) -> PutObject {
        PutObject {
            object: self.object_ref(bucket, key),
            body: Body::Empty,
            attrs: ObjectAttributes::default(),
            conditions: Conditions::default(),
            checksum: None,
            content_md5: false,
        }
    }
}

impl PutObject {
    /// The body: `Bytes`, `Vec<u8>`, `&'static str`, `String` or a `FileRegion` (streamed from
    /// disk, never buffered).
    pub fn body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    attribute_setters!();

    write_condition_setters!();

    /// Sends a checksum of this algorithm (computed by the client) whatever the checksum mode.
    pub fn checksum_algorithm(mut self, algorithm: ChecksumAlgorithm) -> Self {
        self.checksum = Some((algorithm, None));
        self
    }

    /// Sends a checksum the caller computed (base64).
    pub fn checksum(mut self, algorithm: ChecksumAlgorithm, value: impl Into<String>) -> Self {
        self.checksum = Some((algorithm, Some(value.into())));
        self
    }

    /// Also sends `Content-MD5` (S3-compatible stores that do not know flexible checksums).
    pub fn content_md5(mut self, yes: bool) -> Self {
        self.content_md5 = yes;
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<PutObjectOutput, S3Error> {
        const OP: &str = "PutObject";
        let url = self.object.url(OP, &[])?;
        let mut req = Req::new(OP, Method::PUT, url);
        self.attrs.apply(&mut req)?;
        self.conditions.apply(&mut req, "")?;
        let checksum = upload_checksum(&self.object.client, OP, self.checksum, true, &self.body, &mut req).await?;
        // S3 requires an integrity check on uploads under Object Lock: Content-MD5 when no
        // flexible checksum is sent (what "when required" means for this operation).
        let lock = self.attrs.lock_legal_hold.is_some() || self.attrs.lock_mode.is_some();
        if self.content_md5 || (lock && checksum.is_none()) {
            let md5 = body_checksum(&self.body, Box::new(cloudkit_core::Md5::default()))
                .await
                .map_err(|e| S3Error::invalid_input(OP, format!("could not read the body: {e}")))?;
            req.header("content-md5", &md5)?;
        }
        req.header("content-length", &self.body.len().to_string())?;
        let request = req.request.with_body(self.body);
        let op = Operation::new(OP).idempotent(!self.conditions.is_conditional());
        let r = self.object.client.send(op, request).await?;
        Ok(PutObjectOutput {
            e_tag: header_string(&r.headers, "etag"),
            version_id: header_string(&r.headers, "x-amz-version-id"),
            checksum,
            server_side_encryption: header_str(&r.headers, "x-amz-server-side-encryption")
                .map(ServerSideEncryption::parse),
            sse_kms_key_id: header_string(&r.headers, "x-amz-server-side-encryption-aws-kms-key-id"),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// GetObject / HeadObject

/// A GetObject request; see [`S3Client::get_object`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct GetObject {
    object: ObjectRef,
    range: Option<String>,
    part_number: Option<u32>,
    version_id: Option<String>,
    conditions: Conditions,
    overrides: Vec<(&'static str, String)>,
    /// Whether the body's checksum is verified here (the transfer manager verifies full-object
    /// checksums over its parallel parts itself).
    pub(crate) verify: bool,
}

/// What GetObject returns: metadata and the streaming body.
#[derive(Debug)]
#[non_exhaustive]
pub struct GetObjectOutput {
    /// The object's metadata (and the `Content-Range` of a ranged read).
    pub metadata: ObjectMetadata,
    /// The body, streaming. When what it carries can be verified (see
    /// [`checksum_verified`](Self::checksum_verified)), a mismatch ends the stream with an error
    /// whose source is a [`ChecksumMismatchError`](crate::ChecksumMismatchError).
    pub body: ByteStream,
    /// What the body is verified against as it streams: a flexible checksum the server sent (a
    /// full-object checksum when the whole object is read, a part's own on a `part_number` read
    /// of an object with a composite checksum), or, when the whole object is read from a store
    /// that sent no checksum, the multipart ETag of an object a
    /// [`TransferManager`](crate::TransferManager) uploaded ([`Verified::MultipartETag`]).
    /// `None`: nothing is verified.
    pub checksum_verified: Option<Verified>,
}

impl GetObjectOutput {
    /// Reads the whole body into memory; a checksum mismatch is [`S3Error::ChecksumMismatch`].
    pub async fn collect(self) -> Result<Bytes, S3Error> {
        collect_body(self.body).await
    }
}

/// Reads a GetObject body into memory, turning a checksum mismatch into
/// [`S3Error::ChecksumMismatch`].
pub async fn collect_body(body: ByteStream) -> Result<Bytes, S3Error> {
    body.collect().await.map_err(|e| S3Error::from_body_error("GetObject", e))
}

impl S3Client {
    /// Downloads an object (streaming).
    ///
    /// ```no_run
    /// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), cloudkit_aws_s3::S3Error> {
    /// let first_kib = s3.get_object("bucket", "big.bin").range(0..=1023).send().await?.collect().await?;
    /// # let _ = first_kib; Ok(()) }
    /// ```
    pub fn get_object(&self, bucket: impl Into<String>, key: impl Into<String>) -> GetObject {
        GetObject {
            object: self.object_ref(bucket, key),
            range: None,
            part_number: None,
            version_id: None,
            conditions: Conditions::default(),
            overrides: Vec::new(),
            verify: true,
        }
    }
}

impl GetObject {
    /// Bytes `start..=end` (inclusive, as HTTP ranges are).
    pub fn range(mut self, range: std::ops::RangeInclusive<u64>) -> Self {
        self.range = Some(format!("bytes={}-{}", range.start(), range.end()));
        self
    }

    /// Bytes from `start` to the end.
    pub fn range_from(mut self, start: u64) -> Self {
        self.range = Some(format!("bytes={start}-"));
        self
    }

    /// The last `len` bytes.
    pub fn range_suffix(mut self, len: u64) -> Self {
        self.range = Some(format!("bytes=-{len}"));
        self
    }

    /// A raw `Range` header value.
    pub fn range_header(mut self, value: impl Into<String>) -> Self {
        self.range = Some(value.into());
        self
    }

    read_setters!(conditions);

    /// `response-content-type` override.
    pub fn response_content_type(mut self, v: impl Into<String>) -> Self {
        self.overrides.push(("response-content-type", v.into()));
        self
    }
    /// `response-content-disposition` override.
    pub fn response_content_disposition(mut self, v: impl Into<String>) -> Self {
        self.overrides.push(("response-content-disposition", v.into()));
        self
    }
    /// `response-content-encoding` override.
    pub fn response_content_encoding(mut self, v: impl Into<String>) -> Self {
        self.overrides.push(("response-content-encoding", v.into()));
        self
    }
    /// `response-content-language` override.
    pub fn response_content_language(mut self, v: impl Into<String>) -> Self {
        self.overrides.push(("response-content-language", v.into()));
        self
    }
    /// `response-cache-control` override.
    pub fn response_cache_control(mut self, v: impl Into<String>) -> Self {
        self.overrides.push(("response-cache-control", v.into()));
        self
    }
    /// `response-expires` override.
    pub fn response_expires(mut self, v: impl Into<String>) -> Self {
        self.overrides.push(("response-expires", v.into()));
        self
    }

    /// Sends the request; the body streams. 304 is [`S3Error::NotModified`], 412
    /// [`S3Error::PreconditionFailed`], 416 [`S3Error::InvalidRange`].
    ///
    /// The body resumes by itself: when it breaks off (a reset connection, a body cut short, no
    /// bytes for the HTTP client's read-idle timeout), the rest is fetched with a ranged GET from
    /// the last byte received to the end of what was asked for, with `If-Match` on the ETag of
    /// this response (and the same version id), up to the client's retry attempts. If the object
    /// changed in between, the body ends with an error of kind
    /// [`TransportErrorKind::ObjectChanged`](cloudkit_core::TransportErrorKind::ObjectChanged)
    /// ([`S3Error::ObjectChanged`] through [`GetObjectOutput::collect`]): two versions are never
    /// spliced. A response without an ETag (and no version id asked for) is not resumed. The
    /// checksum (see [`ChecksumMode`](crate::ChecksumMode)) is verified over the resumed body.
    pub async fn send(self) -> Result<GetObjectOutput, S3Error> {
        const OP: &str = "GetObject";
        let mode = self.object.client.inner.checksum_mode;
        let r = self.request(mode.verifies()).await?;
        let metadata = ObjectMetadata::from_headers(&r.headers);
        let status = r.status.as_u16();
        // Where the body sits in the object.
        let content_range = match (status, metadata.content_range.as_deref()) {
            (206, Some(v)) => Some(ContentRange::parse(v).ok_or_else(|| {
                S3Error::decode(OP, format!("the response has an unusable Content-Range `{}`", v.escape_debug()))
            })?),
            _ => None,
        };
        let (start, end, covers_whole) = match content_range {
            Some(cr) => {
                if metadata.content_length.is_some_and(|len| len != cr.len()) {
                    return Err(S3Error::decode(
                        OP,
                        format!(
                            "the Content-Length {} does not match the Content-Range of {} bytes",
                            metadata.content_length.unwrap_or_default(),
                            cr.len()
                        ),
                    ));
                }
                (cr.first, Some(cr.last + 1), cr.first == 0 && cr.total == Some(cr.last + 1))
            }
            // A 206 without a range (multipart/byteranges) is not resumed or verified.
            None if status == 206 => (0, None, false),
            None => (0, metadata.content_length, true),
        };
        let mut body = r.body;
        let resumable = status == 200 || content_range.is_some();
        if resumable && (metadata.e_tag.is_some() || self.version_id.is_some()) {
            let reopen = self.reopener(metadata.e_tag.clone(), end);
            let retry = self.object.client.inner.pipeline.retry_config().clone();
            body = cloudkit_core::resuming(body, start, end, reopen, retry);
        }
        let mut checksum_verified = None;
        if self.verify && mode.verifies() {
            // Without a checksum, the multipart ETag of a whole object the TransferManager
            // uploaded (its part size is in the metadata).
            let e_tag = match (covers_whole && self.part_number.is_none(), end) {
                (true, Some(size)) => e_tag_check(&metadata, size),
                _ => None,
            };
            match (response_checksum(&r.headers, self.part_number.is_some(), covers_whole), e_tag) {
                (Some((algorithm, expected)), _) => {
                    body = verifying(body, algorithm, expected);
                    checksum_verified = Some(Verified::Checksum(algorithm));
                }
                (None, Some(check)) => {
                    body = verifying_e_tag(body, check);
                    checksum_verified = Some(Verified::MultipartETag);
                }
                (None, None)
                    if mode == crate::ChecksumMode::Required && self.range.is_none() && self.part_number.is_none() =>
                {
                    return Err(S3Error::ChecksumUnavailable {
                        operation: OP,
                        reason: "the response has no full-object checksum to verify".into(),
                    });
                }
                (None, None) => {}
            }
        }
        Ok(GetObjectOutput { metadata, body, checksum_verified })
    }

    /// Sends the GET as configured (`x-amz-checksum-mode: ENABLED` when `ask_checksum`) and
    /// returns the response as it comes: no resume, no verification.
    async fn request(&self, ask_checksum: bool) -> Result<cloudkit_core::HttpResponse, S3Error> {
        const OP: &str = "GetObject";
        let part = self.part_number.map(|n| n.to_string());
        let mut query: Vec<(&str, Option<&str>)> = Vec::new();
        if let Some(p) = &part {
            query.push(("partNumber", Some(p)));
        }
        for (k, v) in &self.overrides {
            query.push((k, Some(v)));
        }
        if let Some(v) = &self.version_id {
            query.push(("versionId", Some(v)));
        }
        let url = self.object.url(OP, &query)?;
        let mut req = Req::new(OP, Method::GET, url);
        req.opt("range", self.range.as_deref())?;
        self.conditions.apply(&mut req, "")?;
        if ask_checksum {
            req.header("x-amz-checksum-mode", "ENABLED")?;
        }
        self.object.client.send_streaming(Operation::new(OP), req.request).await
    }

    /// Opens the object again at an absolute offset, up to `end` (exclusive; the object's end
    /// when unknown), pinned to `e_tag` with `If-Match` (and to the version asked for).
    fn reopener(&self, e_tag: Option<String>, end: Option<u64>) -> cloudkit_core::ReopenAt {
        let object = self.object.clone();
        let version_id = self.version_id.clone();
        Box::new(move |offset: u64| {
            let get = GetObject {
                object: object.clone(),
                range: Some(match end {
                    Some(end) => format!("bytes={offset}-{}", end.saturating_sub(1)),
                    None => format!("bytes={offset}-"),
                }),
                part_number: None,
                version_id: version_id.clone(),
                conditions: Conditions { if_match: e_tag.clone(), ..Conditions::default() },
                overrides: Vec::new(),
                verify: false,
            };
            let e_tag = e_tag.clone();
            Box::pin(async move { get.reopen_at(offset, e_tag.as_deref()).await })
        })
    }

    /// The ranged GET of a resume: the same version, starting exactly at `offset`.
    async fn reopen_at(self, offset: u64, e_tag: Option<&str>) -> Result<ByteStream, TransportError> {
        let r = match self.request(false).await {
            Ok(r) => r,
            Err(S3Error::PreconditionFailed(_)) => return Err(cloudkit_core::object_changed()),
            Err(e) => {
                return Err(TransportError::new(
                    TransportErrorKind::Other,
                    "the ranged GET to resume the download failed",
                )
                .with_source(e));
            }
        };
        let metadata = ObjectMetadata::from_headers(&r.headers);
        // A store that ignores If-Match (s3s-fs) still says which version it sent.
        if let (Some(expected), Some(got)) = (e_tag, metadata.e_tag.as_deref())
            && expected != got
        {
            return Err(cloudkit_core::object_changed());
        }
        let first = metadata.content_range.as_deref().and_then(ContentRange::parse).map(|cr| cr.first);
        if r.status.as_u16() != 206 || first != Some(offset) {
            return Err(TransportError::new(
                TransportErrorKind::Other,
                format!("the service did not answer the ranged GET to resume the download at byte {offset}"),
            ));
        }
        Ok(r.body)
    }
}

/// A HeadObject request; see [`S3Client::head_object`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct HeadObject {
    object: ObjectRef,
    part_number: Option<u32>,
    version_id: Option<String>,
    conditions: Conditions,
}

impl S3Client {
    /// Reads an object's metadata. A missing object is [`S3Error::NotFound`] (HEAD responses
    /// have no body, so no `NoSuchKey` code).
    pub fn head_object(&self, bucket: impl Into<String>, key: impl Into<String>) -> HeadObject {
        HeadObject {
            object: self.object_ref(bucket, key),
            part_number: None,
            version_id: None,
            conditions: Conditions::default(),
        }
    }
}

impl HeadObject {
    read_setters!(conditions);

    /// Sends the request.
    pub async fn send(self) -> Result<ObjectMetadata, S3Error> {
        const OP: &str = "HeadObject";
        let part = self.part_number.map(|n| n.to_string());
        let mut query: Vec<(&str, Option<&str>)> = Vec::new();
        if let Some(p) = &part {
            query.push(("partNumber", Some(p)));
        }
        if let Some(v) = &self.version_id {
            query.push(("versionId", Some(v)));
        }
        let url = self.object.url(OP, &query)?;
        let mut req = Req::new(OP, Method::HEAD, url);
        self.conditions.apply(&mut req, "")?;
        if self.object.client.inner.checksum_mode.verifies() {
            req.header("x-amz-checksum-mode", "ENABLED")?;
        }
        let r = self.object.client.send(Operation::new(OP), req.request).await?;
        Ok(ObjectMetadata::from_headers(&r.headers))
    }
}

// ---------------------------------------------------------------------------------------------
// DeleteObject / DeleteObjects

/// A DeleteObject request; see [`S3Client::delete_object`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct DeleteObject {
    object: ObjectRef,
    version_id: Option<String>,
    if_match: Option<String>,
}

/// What DeleteObject returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteObjectOutput {
    /// Whether a delete marker was created or removed (versioned buckets).
    pub delete_marker: bool,
    /// The version id of the delete marker or of the deleted version.
    pub version_id: Option<String>,
}

impl S3Client {
    /// Deletes an object. Deleting a missing key succeeds (S3 semantics).
    pub fn delete_object(&self, bucket: impl Into<String>, key: impl Into<String>) -> DeleteObject {
        DeleteObject { object: self.object_ref(bucket, key), version_id: None, if_match: None }
    }
}

impl DeleteObject {
    /// Deletes this version permanently.
    pub fn version_id(mut self, v: impl Into<String>) -> Self {
        self.version_id = Some(v.into());
        self
    }

    /// Deletes only if the ETag matches (conditional delete).
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.if_match = Some(etag.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<DeleteObjectOutput, S3Error> {
        const OP: &str = "DeleteObject";
        let mut query: Vec<(&str, Option<&str>)> = Vec::new();
        if let Some(v) = &self.version_id {
            query.push(("versionId", Some(v)));
        }
        let url = self.object.url(OP, &query)?;
        let mut req = Req::new(OP, Method::DELETE, url);
        req.opt("if-match", self.if_match.as_deref())?;
        let r = self.object.client.send(Operation::new(OP), req.request).await?;
        Ok(DeleteObjectOutput {
            delete_marker: header_str(&r.headers, "x-amz-delete-marker") == Some("true"),
            version_id: header_string(&r.headers, "x-amz-version-id"),
        })
    }
}

/// One object to delete in a DeleteObjects request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectIdentifier {
    /// The key.
    pub key: String,
    /// A version to delete permanently.
    pub version_id: Option<String>,
}

/// A DeleteObjects request; see [`S3Client::delete_objects`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct DeleteObjects {
    client: S3Client,
    bucket: String,
    objects: Vec<ObjectIdentifier>,
    quiet: bool,
}

/// One key DeleteObjects deleted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeletedObject {
    /// The key.
    pub key: String,
    /// The version deleted.
    pub version_id: Option<String>,
    /// Whether a delete marker was involved.
    pub delete_marker: bool,
    /// The delete marker's version id.
    pub delete_marker_version_id: Option<String>,
}

/// One key DeleteObjects could not delete.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteObjectError {
    /// The key.
    pub key: String,
    /// The version.
    pub version_id: Option<String>,
    /// The S3 error code (`AccessDenied`, `InternalError`, …).
    pub code: String,
    /// The message.
    pub message: Option<String>,
}

/// What DeleteObjects returns: what was deleted (empty in quiet mode) and per-key errors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeleteObjectsOutput {
    /// Deleted keys (not reported in quiet mode).
    pub deleted: Vec<DeletedObject>,
    /// Keys that could not be deleted; the request itself succeeded.
    pub errors: Vec<DeleteObjectError>,
}

impl S3Client {
    /// Deletes up to 1000 keys in one request; per-key failures are in
    /// [`DeleteObjectsOutput::errors`]. More than 1000 keys is an input error (nothing is sent).
    pub fn delete_objects(&self, bucket: impl Into<String>) -> DeleteObjects {
        DeleteObjects { client: self.clone(), bucket: bucket.into(), objects: Vec::new(), quiet: false }
    }
}

impl DeleteObjects {
    /// Adds a key.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.objects.push(ObjectIdentifier { key: key.into(), version_id: None });
        self
    }

    /// Adds keys.
    pub fn keys<I, S>(mut self, keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.objects.extend(keys.into_iter().map(|k| ObjectIdentifier { key: k.into(), version_id: None }));
        self
    }

    /// Adds a specific version of a key.
    pub fn object(mut self, key: impl Into<String>, version_id: Option<String>) -> Self {
        self.objects.push(ObjectIdentifier { key: key.into(), version_id });
        self
    }

    /// Quiet mode: only errors are reported.
    pub fn quiet(mut self, quiet: bool) -> Self {
        self.quiet = quiet;
        self
    }

    /// Sends the request (with the `Content-MD5` S3 requires for this operation).
    pub async fn send(self) -> Result<DeleteObjectsOutput, S3Error> {
        const OP: &str = "DeleteObjects";
        if self.objects.is_empty() {
            return Err(S3Error::invalid_input(OP, "DeleteObjects needs at least one key"));
        }
        if self.objects.len() > MAX_DELETE_OBJECTS {
            return Err(S3Error::invalid_input(
                OP,
                format!(
                    "{} keys given; DeleteObjects takes at most {MAX_DELETE_OBJECTS} per request",
                    self.objects.len()
                ),
            ));
        }
        let url = self.client.url(OP, &self.bucket, None, &[("delete", None)])?;
        let mut xml = String::from("<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">");
        if self.quiet {
            xml.push_str("<Quiet>true</Quiet>");
        }
        for o in &self.objects {
            xml.push_str("<Object><Key>");
            xml.push_str(&xml::escape(&o.key));
            xml.push_str("</Key>");
            if let Some(v) = &o.version_id {
                xml.push_str("<VersionId>");
                xml.push_str(&xml::escape(v));
                xml.push_str("</VersionId>");
            }
            xml.push_str("</Object>");
        }
        xml.push_str("</Delete>");
        let body = Bytes::from(xml);
        let mut req = Req::new(OP, Method::POST, url);
        req.header("content-type", "application/xml")?;
        req.header("content-md5", &cloudkit_core::md5_base64(&body))?;
        let r = self.client.send(Operation::new(OP), req.request.with_body(body)).await?;
        let parsed: model::DeleteResult = from_xml(OP, &r.body)?;
        Ok(DeleteObjectsOutput {
            deleted: parsed
                .deleted
                .into_iter()
                .map(|d| DeletedObject {
                    key: d.key.unwrap_or_default(),
                    version_id: d.version_id,
                    delete_marker: d.delete_marker.unwrap_or(false),
                    delete_marker_version_id: d.delete_marker_version_id,
                })
                .collect(),
            errors: parsed
                .error
                .into_iter()
                .map(|e| DeleteObjectError {
                    key: e.key.unwrap_or_default(),
                    version_id: e.version_id,
                    code: e.code.unwrap_or_default(),
                    message: e.message,
                })
                .collect(),
        })
    }
}

// ---------------------------------------------------------------------------------------------
// CopyObject

/// A CopyObject request; see [`S3Client::copy_object`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct CopyObject {
    object: ObjectRef,
    source: Option<CopySource>,
    directive: Option<MetadataDirective>,
    tagging_replace: bool,
    attrs: ObjectAttributes,
    source_conditions: Conditions,
    conditions: Conditions,
}

/// What CopyObject returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CopyObjectOutput {
    /// The new object's ETag.
    pub e_tag: Option<String>,
    /// When the copy was made.
    pub last_modified: Option<SystemTime>,
    /// The new version id.
    pub version_id: Option<String>,
    /// The source version that was copied.
    pub copy_source_version_id: Option<String>,
    /// CRC32C of the copy, if S3 reports one.
    pub checksum_crc32c: Option<String>,
}

impl S3Client {
    /// Copies an object server-side (up to 5 GiB; use UploadPartCopy above). Set the source
    /// with [`CopyObject::copy_source`]. A failure S3 reports inside a 200 response is
    /// returned as an error (and retried when its code is retryable).
    pub fn copy_object(&self, bucket: impl Into<String>, key: impl Into<String>) -> CopyObject {
        CopyObject {
            object: self.object_ref(bucket, key),
            source: None,
            directive: None,
            tagging_replace: false,
            attrs: ObjectAttributes::default(),
            source_conditions: Conditions::default(),
            conditions: Conditions::default(),
        }
    }
}

impl CopyObject {
    copy_source_setters!();

    /// `COPY` (keep the source's metadata, the default) or `REPLACE` (use this request's).
    pub fn metadata_directive(mut self, d: MetadataDirective) -> Self {
        self.directive = Some(d);
        self
    }

    /// Replace the tags with this request's (`x-amz-tagging-directive: REPLACE`).
    pub fn replace_tags(mut self) -> Self {
        self.tagging_replace = true;
        self
    }

    attribute_setters!();

    write_condition_setters!();

    /// Sends the request.
    pub async fn send(self) -> Result<CopyObjectOutput, S3Error> {
        const OP: &str = "CopyObject";
        let source = self.source.ok_or_else(|| S3Error::invalid_input(OP, "CopyObject needs a copy_source"))?;
        crate::addressing::check_bucket_name(&source.bucket).map_err(|m| S3Error::invalid_input(OP, m))?;
        let url = self.object.url(OP, &[])?;
        let mut req = Req::new(OP, Method::PUT, url);
        req.header("x-amz-copy-source", &source.header_value())?;
        if let Some(d) = self.directive {
            req.header("x-amz-metadata-directive", d.as_str())?;
        }
        if self.tagging_replace {
            req.header("x-amz-tagging-directive", "REPLACE")?;
        }
        self.attrs.apply(&mut req)?;
        self.source_conditions.apply(&mut req, "x-amz-copy-source-")?;
        self.conditions.apply(&mut req, "")?;
        let op = Operation::new(OP).body_error_check(model::error_in_200).idempotent(!self.conditions.is_conditional());
        let r = self.object.client.send(op, req.request).await?;
        let parsed: model::CopyResultXml = from_xml(OP, &r.body)?;
        Ok(CopyObjectOutput {
            e_tag: parsed.e_tag,
            last_modified: parsed.last_modified,
            version_id: header_string(&r.headers, "x-amz-version-id"),
            copy_source_version_id: header_string(&r.headers, "x-amz-copy-source-version-id"),
            checksum_crc32c: parsed.checksum_crc32c,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Tagging

impl S3Client {
    /// Reads an object's tags.
    pub async fn get_object_tagging(&self, bucket: &str, key: &str) -> Result<Vec<Tag>, S3Error> {
        const OP: &str = "GetObjectTagging";
        let url = self.url(OP, bucket, Some(key), &[("tagging", None)])?;
        let r = self.send(Operation::new(OP), Req::new(OP, Method::GET, url).request).await?;
        let parsed: model::TaggingXml = from_xml(OP, &r.body)?;
        Ok(parsed.tags.into_iter().map(|t| Tag { key: t.key, value: t.value }).collect())
    }

    /// Replaces an object's tags (at most 10).
    pub async fn put_object_tagging(&self, bucket: &str, key: &str, tags: &[Tag]) -> Result<(), S3Error> {
        const OP: &str = "PutObjectTagging";
        let url = self.url(OP, bucket, Some(key), &[("tagging", None)])?;
        let mut xml = String::from("<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>");
        for t in tags {
            xml.push_str(&format!(
                "<Tag><Key>{}</Key><Value>{}</Value></Tag>",
                xml::escape(&t.key),
                xml::escape(&t.value)
            ));
        }
        xml.push_str("</TagSet></Tagging>");
        let body = Bytes::from(xml);
        let mut req = Req::new(OP, Method::PUT, url);
        req.header("content-type", "application/xml")?;
        req.header("content-md5", &cloudkit_core::md5_base64(&body))?;
        self.send(Operation::new(OP), req.request.with_body(body)).await?;
        Ok(())
    }
}

/// Tags in `x-amz-tagging` form (`k1=v1&k2=v2`), e.g. for presigned PUTs.
pub fn encode_tagging(tags: &[Tag]) -> String {
    tagging_query(tags)
}
