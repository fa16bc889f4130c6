//! Objects: metadata, download (range, generation, preconditions, verified checksums, resumed
//! after a broken connection), delete, patch, rewrite (looping on `rewriteToken`), compose.

use std::sync::Arc;

use bytes::Bytes;
use cloudkit_core::{
    ByteStream, HeaderMap, HttpRequest, Method, Operation, ReopenAt, StatusCode, TransportError, TransportErrorKind,
    Url, object_changed, resuming,
};
use futures::FutureExt;
use serde::{Deserialize, Serialize};

use crate::checksum::{hashes_from_headers, verify_download};
use crate::client::{StorageClient, json_request};
use crate::error::GcsError;
use crate::types::{Object, ObjectMetadata, Preconditions};

/// The generation/metageneration precondition setters of every object call, and
/// `preconditions(..)` to set them all at once.
macro_rules! precondition_setters {
    () => {
        precondition_setters! {
            @each
            /// Only if the live generation is this one (`0`: only if the object does not exist).
            if_generation_match,
            /// Only if the live generation is not this one.
            if_generation_not_match,
            /// Only if the metageneration is this one.
            if_metageneration_match,
            /// Only if the metageneration is not this one.
            if_metageneration_not_match,
        }

        /// All preconditions at once.
        pub fn preconditions(mut self, p: Preconditions) -> Self {
            self.preconditions = p;
            self
        }
    };
    (@each $($(#[$doc:meta])* $field:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $field(mut self, value: i64) -> Self {
                self.preconditions.$field = Some(value);
                self
            }
        )*
    };
}
pub(crate) use precondition_setters;

/// `generation(g)`: the call works on that generation instead of the live one.
macro_rules! generation_setter {
    () => {
        /// A specific generation (default: the live one).
        pub fn generation(mut self, generation: i64) -> Self {
            self.generation = Some(generation);
            self
        }
    };
}

/// `<endpoint>/storage/v1/b/<bucket>/o/<object>?<pairs>&generation=…&<preconditions>` (the
/// object name one path segment, `/` as `%2F`; names that cannot be one are refused).
fn object_url(
    client: &StorageClient,
    op: &'static str,
    bucket: &str,
    object: &str,
    mut pairs: Vec<(&'static str, String)>,
    generation: Option<i64>,
    preconditions: &Preconditions,
) -> Result<Url, GcsError> {
    let mut url = client.json_url(op, &["b", bucket, "o", object])?;
    pairs.extend(generation.map(|g| ("generation", g.to_string())));
    pairs.extend(preconditions.pairs());
    cloudkit_core::append_query(&mut url, pairs);
    Ok(url)
}

/// [`object_url`] of a request builder with `client`, `bucket`, `object`, `generation` and
/// `preconditions` fields.
macro_rules! own_object_url {
    ($self:ident, $op:literal, $pairs:expr) => {
        object_url(&$self.client, $op, &$self.bucket, &$self.object, $pairs, $self.generation, &$self.preconditions)
    };
}

/// A byte range of a download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// Bytes `start..=end`.
    Inclusive(u64, u64),
    /// From `start` to the end.
    From(u64),
    /// The last `n` bytes.
    Last(u64),
}

impl ByteRange {
    fn header(self) -> String {
        match self {
            ByteRange::Inclusive(a, b) => format!("bytes={a}-{b}"),
            ByteRange::From(a) => format!("bytes={a}-"),
            ByteRange::Last(n) => format!("bytes=-{n}"),
        }
    }
}

/// `objects.get?alt=media`: a streaming download.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct DownloadObject {
    client: StorageClient,
    bucket: String,
    object: String,
    generation: Option<i64>,
    range: Option<ByteRange>,
    preconditions: Preconditions,
}

/// A download in progress.
///
/// The body is safe to read to the end: when the connection breaks off (a reset, a truncated
/// body, a stall past the read timeout) it resumes from the last byte received with a ranged
/// request pinned to the generation first read (`ifGenerationMatch`), within the client's retry
/// budget; if the object changed meanwhile the body ends with an error of kind
/// [`ObjectChanged`](cloudkit_core::TransportErrorKind::ObjectChanged)
/// ([`GcsError::ObjectChanged`] from [`bytes`](Self::bytes)) instead of splicing two versions.
/// A body covering the whole object is checked against the CRC32C (or MD5) GCS reported,
/// across resumes.
#[derive(Debug)]
pub struct Download {
    /// The HTTP status (200, or 206 for a range).
    pub status: StatusCode,
    /// The object's generation (`x-goog-generation`).
    pub generation: Option<i64>,
    /// The metageneration (`x-goog-metageneration`).
    pub metageneration: Option<i64>,
    /// The content type.
    pub content_type: Option<String>,
    /// The `Content-Range` of a ranged read (`bytes 0-9/100`).
    pub content_range: Option<String>,
    /// The object's size when known (`x-goog-stored-content-length`, the range's total, or
    /// the length of a whole-object read).
    pub object_size: Option<u64>,
    /// The response headers.
    pub headers: HeaderMap,
    /// The bytes, resumed after a broken connection; for whole-object reads, the stream fails at
    /// its end if the CRC32C (or MD5) GCS reported does not match the data.
    pub body: ByteStream,
}

impl Download {
    /// Reads everything (and verifies the checksum: corrupt data is
    /// [`GcsError::ChecksumMismatch`], an object replaced while a broken download was resumed
    /// is [`GcsError::ObjectChanged`]).
    pub async fn bytes(self) -> Result<Bytes, GcsError> {
        self.body.collect().await.map_err(|e| GcsError::from_body_error("objects.get", e))
    }
}

fn header_num<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<T> {
    headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

/// `bytes a-b/total` → `(a, b + 1, total)` (`total` `None` for `*`).
fn parse_content_range(value: &str) -> Option<(u64, u64, Option<u64>)> {
    let (range, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let (a, b): (u64, u64) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    let end = b.checked_add(1).filter(|end| *end > a)?;
    Some((a, end, total.trim().parse().ok()))
}

/// Where a response's body lies in the object: `(start, end)`, `end` exclusive when known.
/// `None` when the body is not the stored bytes at known offsets: compressed on the wire, or
/// decompressed from a gzip-stored object (GCS's transcoding, whose hashes are of the stored
/// bytes and which ignores ranges), or another status.
fn body_span(status: StatusCode, headers: &HeaderMap) -> Option<(u64, Option<u64>)> {
    let transcoded = headers
        .get("x-goog-stored-content-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| !v.eq_ignore_ascii_case("identity"));
    if headers.get("content-encoding").is_some() || transcoded {
        return None;
    }
    match status.as_u16() {
        200 => Some((0, header_num(headers, "content-length"))),
        206 => {
            let (start, end, _) = parse_content_range(headers.get("content-range")?.to_str().ok()?)?;
            Some((start, Some(end)))
        }
        _ => None,
    }
}

impl DownloadObject {
    generation_setter!();
    /// Only a byte range (206; checksum-verified only when the range covers the whole object,
    /// since GCS's hashes are of the whole object).
    pub fn range(mut self, range: ByteRange) -> Self {
        self.range = Some(range);
        self
    }

    precondition_setters!();

    /// Starts the download; the body streams (and resumes after a broken connection, see
    /// [`Download`]).
    pub async fn send(self) -> Result<Download, GcsError> {
        let pairs = vec![("alt", "media".to_owned())];
        let url = own_object_url!(self, "objects.get", pairs)?;
        let mut request = HttpRequest::new(Method::GET, url);
        if let Some(r) = self.range {
            request
                .insert_header("range", &r.header())
                .map_err(|e| GcsError::invalid_input("objects.get", e.to_string()))?;
        }
        let response = self
            .client
            .pipeline()
            .send_streaming(&Operation::new("objects.get"), request)
            .await
            .map_err(GcsError::from)?;
        let headers = response.headers;
        let content_range = headers.get("content-range").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let whole = response.status == StatusCode::OK;
        let range_total = content_range.as_deref().and_then(parse_content_range).and_then(|(_, _, total)| total);
        let object_size = header_num(&headers, "x-goog-stored-content-length")
            .or(range_total)
            .or_else(|| if whole { header_num(&headers, "content-length") } else { None });
        let generation = header_num(&headers, "x-goog-generation");
        let span = body_span(response.status, &headers);
        let (crc32c, md5) = hashes_from_headers(&headers);

        // Resume only when the version first read can be recognised again: by its generation
        // (GCS always sends it), or at least by its checksum (servers that send no generation).
        let pinned = self.generation.or(generation);
        let body = match span {
            Some((start, end)) if pinned.is_some() || crc32c.is_some() || md5.is_some() => {
                let resume = Arc::new(Resume {
                    client: self.client.clone(),
                    bucket: self.bucket,
                    object: self.object,
                    generation: self.generation,
                    pinned,
                    crc32c,
                    md5,
                    end,
                });
                let reopen: ReopenAt = Box::new(move |offset| {
                    let resume = resume.clone();
                    async move { resume.reopen(offset).await }.boxed()
                });
                resuming(response.body, start, end, reopen, self.client.pipeline().retry_config().clone())
            }
            _ => response.body,
        };
        let covers_object = whole || matches!((span, object_size), (Some((0, Some(end))), Some(size)) if end == size);
        let body = if covers_object && span.is_some() && self.client.inner.verify_checksums {
            verify_download(body, &headers)
        } else {
            body
        };
        Ok(Download {
            status: response.status,
            generation,
            metageneration: header_num(&headers, "x-goog-metageneration"),
            content_type: headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned),
            content_range,
            object_size,
            headers,
            body,
        })
    }
}

/// What a broken download needs to pick up again: the object, the version first read (its
/// generation, or failing that its checksums) and the end of the range first asked for.
struct Resume {
    client: StorageClient,
    bucket: String,
    object: String,
    /// The generation the caller asked for (`generation=`), if any.
    generation: Option<i64>,
    /// The generation first read, when known.
    pinned: Option<i64>,
    crc32c: Option<String>,
    md5: Option<String>,
    end: Option<u64>,
}

impl Resume {
    /// A ranged GET from `offset` to the original end, pinned with `ifGenerationMatch` to the
    /// generation first read; a changed (or deleted) object is [`object_changed`].
    async fn reopen(&self, offset: u64) -> Result<ByteStream, TransportError> {
        let failed = |e: GcsError| match e {
            GcsError::PreconditionFailed(_) | GcsError::NotFound(_) => object_changed(),
            other => TransportError::new(
                TransportErrorKind::Other,
                format!("resuming the download at byte {offset} failed: {other}"),
            ),
        };
        // A server that sends no generation with the bytes: learn it from the metadata, whose
        // checksums must still be those of the version first read.
        let generation = match self.pinned {
            Some(g) => g,
            None => {
                let mut get = self.client.get_object(self.bucket.clone(), self.object.clone());
                if let Some(g) = self.generation {
                    get = get.generation(g);
                }
                let object = get.send().await.map_err(failed)?;
                if self.changed(object.crc32c.as_deref(), object.md5_hash.as_deref()) {
                    return Err(object_changed());
                }
                object.generation.ok_or_else(|| {
                    TransportError::new(
                        TransportErrorKind::Other,
                        "GCS reported no generation to resume the download at",
                    )
                })?
            }
        };
        // A generation asked for by number cannot change (only vanish: 404); the live object is
        // pinned with `ifGenerationMatch`.
        let preconditions = Preconditions {
            if_generation_match: self.generation.is_none().then_some(generation),
            ..Preconditions::default()
        };
        let pairs = vec![("alt", "media".to_owned())];
        let url =
            object_url(&self.client, "objects.get", &self.bucket, &self.object, pairs, self.generation, &preconditions)
                .map_err(failed)?;
        let range = match self.end {
            Some(end) => format!("bytes={offset}-{}", end.saturating_sub(1)),
            None => format!("bytes={offset}-"),
        };
        let request = HttpRequest::new(Method::GET, url)
            .header("range", &range)
            .map_err(|e| TransportError::new(TransportErrorKind::Other, e.to_string()))?;
        let response = self
            .client
            .pipeline()
            .send_streaming(&Operation::new("objects.get"), request)
            .await
            .map_err(|e| failed(GcsError::from(e)))?;
        let headers = &response.headers;
        // Servers that ignore preconditions: the answer itself must still be the same version.
        let generation_now: Option<i64> = header_num(headers, "x-goog-generation");
        let (crc32c, md5) = hashes_from_headers(headers);
        if generation_now.is_some_and(|g| g != generation) || self.changed(crc32c.as_deref(), md5.as_deref()) {
            return Err(object_changed());
        }
        let start = match response.status.as_u16() {
            206 => {
                headers.get("content-range").and_then(|v| v.to_str().ok()).and_then(parse_content_range).map(|r| r.0)
            }
            200 => Some(0),
            _ => None,
        };
        if start != Some(offset) {
            return Err(TransportError::new(
                TransportErrorKind::Other,
                format!("the resumed download did not start at byte {offset} (HTTP {})", response.status.as_u16()),
            ));
        }
        Ok(response.body)
    }

    /// Whether checksums seen now differ from those of the version first read.
    fn changed(&self, crc32c: Option<&str>, md5: Option<&str>) -> bool {
        let differs = |first: &Option<String>, now: Option<&str>| matches!((first, now), (Some(a), Some(b)) if a != b);
        differs(&self.crc32c, crc32c) || differs(&self.md5, md5)
    }
}

/// `objects.get` (metadata).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct GetObject {
    client: StorageClient,
    bucket: String,
    object: String,
    generation: Option<i64>,
    preconditions: Preconditions,
}

impl GetObject {
    generation_setter!();
    precondition_setters!();

    /// Fetches the metadata.
    pub async fn send(self) -> Result<Object, GcsError> {
        let url = own_object_url!(self, "objects.get", Vec::new())?;
        self.client.send_json("objects.get", true, HttpRequest::new(Method::GET, url)).await
    }
}

/// `objects.delete`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct DeleteObject {
    client: StorageClient,
    bucket: String,
    object: String,
    generation: Option<i64>,
    preconditions: Preconditions,
}

impl DeleteObject {
    generation_setter!();
    precondition_setters!();

    /// Deletes. A missing object is [`GcsError::NotFound`].
    pub async fn send(self) -> Result<(), GcsError> {
        let url = own_object_url!(self, "objects.delete", Vec::new())?;
        self.client.send("objects.delete", true, HttpRequest::new(Method::DELETE, url)).await.map(drop)
    }
}

/// `objects.patch`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct PatchObject {
    client: StorageClient,
    bucket: String,
    object: String,
    metadata: ObjectMetadata,
    preconditions: Preconditions,
}

impl PatchObject {
    /// The fields to change (`None` fields are left alone; a `None` metadata value removes it).
    pub fn metadata(mut self, metadata: ObjectMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    precondition_setters!();

    /// Applies the patch.
    pub async fn send(self) -> Result<Object, GcsError> {
        let url = object_url(
            &self.client,
            "objects.patch",
            &self.bucket,
            &self.object,
            Vec::new(),
            None,
            &self.preconditions,
        )?;
        let request = json_request(Method::PATCH, url, &self.metadata, "objects.patch")?;
        let idempotent = self.preconditions.if_metageneration_match.is_some();
        self.client.send_json("objects.patch", idempotent, request).await
    }
}

/// `objects.rewrite`: copies an object (any size, across buckets, locations and storage
/// classes), looping on `rewriteToken` until GCS reports `done`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct RewriteObject {
    client: StorageClient,
    source_bucket: String,
    source_object: String,
    source_generation: Option<i64>,
    dest_bucket: String,
    dest_object: String,
    metadata: Option<ObjectMetadata>,
    max_bytes_per_call: Option<u64>,
    preconditions: Preconditions,
}

/// One `objects.rewrite` response.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RewriteResponse {
    /// Whether the copy is complete.
    #[serde(default)]
    pub done: bool,
    /// The token to continue with.
    #[serde(default)]
    pub rewrite_token: Option<String>,
    /// The new object, once done.
    #[serde(default)]
    pub resource: Option<Object>,
}

impl RewriteObject {
    /// Copy this source generation.
    pub fn source_generation(mut self, generation: i64) -> Self {
        self.source_generation = Some(generation);
        self
    }

    /// Metadata for the destination (default: the source's).
    pub fn metadata(mut self, metadata: ObjectMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// `maxBytesRewrittenPerCall` (multiple of 1 MiB; GCS's choice by default).
    pub fn max_bytes_per_call(mut self, n: u64) -> Self {
        self.max_bytes_per_call = Some(n);
        self
    }

    precondition_setters!();

    /// Runs the rewrite to completion; returns the destination object.
    pub async fn send(self) -> Result<Object, GcsError> {
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let mut url = self.client.json_url(
                "objects.rewrite",
                &[
                    "b",
                    &self.source_bucket,
                    "o",
                    &self.source_object,
                    "rewriteTo",
                    "b",
                    &self.dest_bucket,
                    "o",
                    &self.dest_object,
                ],
            )?;
            let mut pairs = self.preconditions.pairs();
            if let Some(g) = self.source_generation {
                pairs.push(("sourceGeneration", g.to_string()));
            }
            if let Some(n) = self.max_bytes_per_call {
                pairs.push(("maxBytesRewrittenPerCall", n.to_string()));
            }
            if let Some(t) = &token {
                pairs.push(("rewriteToken", t.clone()));
            }
            cloudkit_core::append_query(&mut url, pairs);
            let metadata = self.metadata.clone().unwrap_or_default();
            let request = json_request(Method::POST, url, &metadata, "objects.rewrite")?;
            // Not idempotent, even with `ifGenerationMatch`: a call resent after one that copied
            // (but whose answer was lost) would find its own copy and fail with a false 412. It
            // is retried only when it certainly did nothing (throttling, no connection).
            let response: RewriteResponse = self.client.send_json("objects.rewrite", false, request).await?;
            if response.done {
                return response.resource.ok_or_else(|| GcsError::decode("objects.rewrite", "done without a resource"));
            }
            match response.rewrite_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Err(GcsError::decode("objects.rewrite", "not done and no rewriteToken")),
            }
        }
        Err(GcsError::decode("objects.rewrite", "rewrite did not finish after 10000 calls"))
    }
}

/// `objects.compose`: concatenates up to 32 objects of one bucket into one.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct ComposeObject {
    client: StorageClient,
    bucket: String,
    destination: String,
    sources: Vec<ComposeSource>,
    metadata: ObjectMetadata,
    preconditions: Preconditions,
}

#[derive(Clone, Debug, Serialize)]
struct ComposeSource {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    generation: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ComposeBody<'a> {
    source_objects: &'a [ComposeSource],
    destination: &'a ObjectMetadata,
}

impl ComposeObject {
    /// Appends a source object.
    pub fn source(mut self, name: impl Into<String>) -> Self {
        self.sources.push(ComposeSource { name: name.into(), generation: None });
        self
    }

    /// Appends a source object at a generation.
    pub fn source_generation(mut self, name: impl Into<String>, generation: i64) -> Self {
        self.sources.push(ComposeSource { name: name.into(), generation: Some(generation.to_string()) });
        self
    }

    /// The destination's metadata (content type, …).
    pub fn metadata(mut self, metadata: ObjectMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    precondition_setters!();

    /// Composes.
    pub async fn send(self) -> Result<Object, GcsError> {
        if self.sources.is_empty() || self.sources.len() > 32 {
            return Err(GcsError::invalid_input(
                "objects.compose",
                format!("compose takes 1 to 32 sources, not {}", self.sources.len()),
            ));
        }
        let mut url =
            self.client.json_url("objects.compose", &["b", &self.bucket, "o", &self.destination, "compose"])?;
        cloudkit_core::append_query(&mut url, self.preconditions.pairs());
        let body = ComposeBody { source_objects: &self.sources, destination: &self.metadata };
        let request = json_request(Method::POST, url, &body, "objects.compose")?;
        // Not idempotent, even with `ifGenerationMatch`: see `RewriteObject::send`.
        self.client.send_json("objects.compose", false, request).await
    }
}

impl StorageClient {
    /// `objects.get`: an object's metadata.
    pub fn get_object(&self, bucket: impl Into<String>, object: impl Into<String>) -> GetObject {
        GetObject {
            client: self.clone(),
            bucket: bucket.into(),
            object: object.into(),
            generation: None,
            preconditions: Preconditions::default(),
        }
    }

    /// `objects.get?alt=media`: downloads an object (streaming).
    ///
    /// ```no_run
    /// # async fn demo(client: cloudkit_gcp_storage::StorageClient) -> Result<(), cloudkit_gcp_storage::GcsError> {
    /// use cloudkit_gcp_storage::ByteRange;
    /// let head = client.download_object("b", "big.bin").range(ByteRange::Inclusive(0, 1023)).send().await?;
    /// let first_kib = head.bytes().await?;
    /// # Ok(()) }
    /// ```
    pub fn download_object(&self, bucket: impl Into<String>, object: impl Into<String>) -> DownloadObject {
        DownloadObject {
            client: self.clone(),
            bucket: bucket.into(),
            object: object.into(),
            generation: None,
            range: None,
            preconditions: Preconditions::default(),
        }
    }

    /// `objects.delete`.
    pub fn delete_object(&self, bucket: impl Into<String>, object: impl Into<String>) -> DeleteObject {
        DeleteObject {
            client: self.clone(),
            bucket: bucket.into(),
            object: object.into(),
            generation: None,
            preconditions: Preconditions::default(),
        }
    }

    /// `objects.patch`: updates metadata.
    pub fn patch_object(&self, bucket: impl Into<String>, object: impl Into<String>) -> PatchObject {
        PatchObject {
            client: self.clone(),
            bucket: bucket.into(),
            object: object.into(),
            metadata: ObjectMetadata::default(),
            preconditions: Preconditions::default(),
        }
    }

    /// `objects.rewrite`: copies `source_bucket/source_object` to `dest_bucket/dest_object`.
    pub fn rewrite_object(
        &self,
        source_bucket: impl Into<String>,
        source_object: impl Into<String>,
        dest_bucket: impl Into<String>,
        dest_object: impl Into<String>,
    ) -> RewriteObject {
        RewriteObject {
            client: self.clone(),
            source_bucket: source_bucket.into(),
            source_object: source_object.into(),
            source_generation: None,
            dest_bucket: dest_bucket.into(),
            dest_object: dest_object.into(),
            metadata: None,
            max_bytes_per_call: None,
            preconditions: Preconditions::default(),
        }
    }

    /// `objects.compose`.
    pub fn compose_object(&self, bucket: impl Into<String>, destination: impl Into<String>) -> ComposeObject {
        ComposeObject {
            client: self.clone(),
            bucket: bucket.into(),
            destination: destination.into(),
            sources: Vec::new(),
            metadata: ObjectMetadata::default(),
            preconditions: Preconditions::default(),
        }
    }
}
