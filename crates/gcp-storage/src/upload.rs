//! `objects.insert`: simple media, multipart (metadata + data) and resumable uploads.
//!
//! Resumable uploads send chunks of a multiple of 256 KiB, hold one chunk in memory at most, and
//! after an interrupted chunk ask the session how much it persisted (`Content-Range: bytes */…`)
//! and continue from there. A session can also be resumed later from its URL
//! ([`ResumableUpload::resume`]). Every request, chunks included, goes through the client's
//! pipeline (docs/ARCHITECTURE.md, "The request pipeline"): a chunk's `308 Resume Incomplete` is
//! a declared success status, and a chunk is tried once, its recovery being the protocol's own.

use std::path::Path;

use bytes::{Bytes, BytesMut};
use cloudkit_core::{Error, ErrorKind, HttpRequest, Method, Operation, Url};
use futures::{Stream, StreamExt};
use serde::Serialize;

use crate::checksum::Hasher;
use crate::client::{CHUNK_QUANTUM, StorageClient, add_query, decode_json};
use crate::error::GcsError;
use crate::object::precondition_setters;
use crate::types::{Object, ObjectMetadata, Preconditions};

/// Every upload request, the session's chunks included, is part of `objects.insert`.
const OP: &str = "objects.insert";

/// Which upload protocol to use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum UploadType {
    /// Multipart below the client's resumable threshold, resumable at or above it.
    #[default]
    Auto,
    /// `uploadType=media`: the body is the data; no metadata besides the content type.
    Media,
    /// `uploadType=multipart`: a JSON metadata part and the data, in one request.
    Multipart,
    /// `uploadType=resumable`: a session and chunks.
    Resumable,
}

/// `objects.insert` (upload).
#[derive(Clone, Debug)]
#[must_use = "call .send_bytes(), .send_file() or .send_stream()"]
pub struct InsertObject {
    client: StorageClient,
    bucket: String,
    name: String,
    metadata: ObjectMetadata,
    preconditions: Preconditions,
    upload_type: UploadType,
    chunk_size: usize,
    send_checksums: bool,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct UploadMetadata<'a> {
    name: &'a str,
    #[serde(flatten)]
    metadata: &'a ObjectMetadata,
    #[serde(skip_serializing_if = "Option::is_none")]
    crc32c: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    md5_hash: Option<String>,
}

impl InsertObject {
    /// The content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.metadata.content_type = Some(content_type.into());
        self
    }

    /// A user metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.metadata.insert(key.into(), Some(value.into()));
        self
    }

    /// All writable metadata at once.
    pub fn object_metadata(mut self, metadata: ObjectMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// The upload protocol (default [`UploadType::Auto`]).
    pub fn upload_type(mut self, upload_type: UploadType) -> Self {
        self.upload_type = upload_type;
        self
    }

    /// The resumable chunk size (rounded down to a multiple of 256 KiB, at least 256 KiB).
    pub fn chunk_size(mut self, size: usize) -> Self {
        self.chunk_size = (size / CHUNK_QUANTUM).max(1) * CHUNK_QUANTUM;
        self
    }

    /// Whether to send CRC32C/MD5 for GCS to verify (default true).
    pub fn send_checksums(mut self, send: bool) -> Self {
        self.send_checksums = send;
        self
    }

    precondition_setters!();

    /// `<endpoint>/upload/storage/v1/b/<bucket>/o?uploadType=…[&name=…]&<preconditions>`.
    fn insert_url(&self, upload_type: &str, name_in_query: bool) -> Url {
        let mut url = self.client.upload_url(&["b", &self.bucket, "o"]);
        let mut pairs = vec![("uploadType", upload_type.to_owned())];
        if name_in_query {
            pairs.push(("name", self.name.clone()));
        }
        pairs.extend(self.preconditions.pairs());
        add_query(&mut url, pairs);
        url
    }

    /// Uploads in-memory data (multipart, or resumable when large or asked for).
    pub async fn send_bytes(self, data: Bytes) -> Result<Object, GcsError> {
        let kind = match self.upload_type {
            UploadType::Auto if (data.len() as u64) < self.client.inner.upload.resumable_threshold => {
                UploadType::Multipart
            }
            UploadType::Auto => UploadType::Resumable,
            other => other,
        };
        match kind {
            UploadType::Media => self.media(data).await,
            UploadType::Resumable => {
                let total = data.len() as u64;
                self.send_stream(futures::stream::iter([Ok(data)]), Some(total)).await
            }
            _ => self.multipart(data).await,
        }
    }

    /// Uploads a file, streaming it (one chunk in memory at most).
    pub async fn send_file(self, path: impl AsRef<Path>) -> Result<Object, GcsError> {
        let path = path.as_ref();
        let io = |e: std::io::Error| GcsError::invalid_input(OP, format!("{}: {e}", path.display()));
        let file = tokio::fs::File::open(path).await.map_err(io)?;
        let size = file.metadata().await.map_err(io)?.len();
        let small = size < self.client.inner.upload.resumable_threshold;
        match self.upload_type {
            UploadType::Media | UploadType::Multipart => {
                let data = tokio::fs::read(path).await.map_err(io)?;
                self.send_bytes(Bytes::from(data)).await
            }
            UploadType::Auto if small => {
                let data = tokio::fs::read(path).await.map_err(io)?;
                self.multipart(Bytes::from(data)).await
            }
            _ => self.send_stream(reader_stream(file), Some(size)).await,
        }
    }

    /// Uploads any stream of chunks with a resumable session, holding at most one chunk in
    /// memory. `size` (when known) lets the last chunk be marked exactly.
    pub async fn send_stream<S>(self, stream: S, size: Option<u64>) -> Result<Object, GcsError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + Unpin,
    {
        let mut upload = self.start_resumable(size).await?;
        upload.upload_stream(stream).await
    }

    /// Starts a resumable session (for callers that drive the chunks themselves or want to
    /// store the session URL to resume later).
    pub async fn start_resumable(self, size: Option<u64>) -> Result<ResumableUpload, GcsError> {
        let url = self.insert_url("resumable", true);
        let body = UploadMetadata { name: &self.name, metadata: &self.metadata, crc32c: None, md5_hash: None };
        let mut request = crate::client::json_request(Method::POST, url, &body, OP)?;
        if let Some(ct) = &self.metadata.content_type {
            set_header(&mut request, "x-upload-content-type", ct)?;
        }
        if let Some(n) = size {
            set_header(&mut request, "x-upload-content-length", &n.to_string())?;
        }
        let response = self.client.send(OP, self.preconditions.makes_write_idempotent(), request).await?;
        let location = response
            .header("location")
            .ok_or_else(|| GcsError::decode(OP, "the resumable session response has no Location"))?;
        let session = Url::parse(location).map_err(|e| GcsError::decode(OP, format!("bad session URL: {e}")))?;
        Ok(ResumableUpload {
            client: self.client.clone(),
            session,
            offset: 0,
            total: size,
            chunk_size: self.chunk_size,
            hasher: Some(Hasher::default()),
            send_checksums: self.send_checksums,
        })
    }

    async fn media(self, data: Bytes) -> Result<Object, GcsError> {
        let url = self.insert_url("media", true);
        let mut hasher = Hasher::default();
        hasher.update(&data);
        let mut request = HttpRequest::new(Method::POST, url).with_body(data);
        let ct = self.metadata.content_type.as_deref().unwrap_or("application/octet-stream");
        set_header(&mut request, "content-type", ct)?;
        if self.send_checksums {
            set_header(&mut request, "x-goog-hash", &format!("crc32c={},md5={}", hasher.crc32c(), hasher.md5()))?;
        }
        let object: Object = self.client.send_json(OP, self.preconditions.makes_write_idempotent(), request).await?;
        check_uploaded(OP, &object, &hasher)?;
        Ok(object)
    }

    async fn multipart(self, data: Bytes) -> Result<Object, GcsError> {
        let url = self.insert_url("multipart", false);
        let mut hasher = Hasher::default();
        hasher.update(&data);
        let meta = UploadMetadata {
            name: &self.name,
            metadata: &self.metadata,
            crc32c: self.send_checksums.then(|| hasher.crc32c()),
            md5_hash: self.send_checksums.then(|| hasher.md5()),
        };
        let json = serde_json::to_vec(&meta).map_err(|e| GcsError::invalid_input(OP, e.to_string()))?;
        let boundary = format!("cloudkit_{:016x}{:016x}", fastrand_u64(), fastrand_u64());
        let ct = self.metadata.content_type.as_deref().unwrap_or("application/octet-stream");
        let mut body = BytesMut::with_capacity(data.len() + json.len() + 256);
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n").as_bytes(),
        );
        body.extend_from_slice(&json);
        body.extend_from_slice(format!("\r\n--{boundary}\r\nContent-Type: {ct}\r\n\r\n").as_bytes());
        body.extend_from_slice(&data);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut request = HttpRequest::new(Method::POST, url).with_body(body.freeze());
        set_header(&mut request, "content-type", &format!("multipart/related; boundary={boundary}"))?;
        let object: Object = self.client.send_json(OP, self.preconditions.makes_write_idempotent(), request).await?;
        check_uploaded(OP, &object, &hasher)?;
        Ok(object)
    }
}

/// Sets a header of an upload request (a value HTTP cannot carry is the caller's input).
fn set_header(request: &mut HttpRequest, name: &str, value: &str) -> Result<(), GcsError> {
    request.insert_header(name, value).map_err(|e| GcsError::invalid_input(OP, e.to_string()))
}

/// A pseudo-random u64 for multipart boundaries (not security-relevant).
fn fastrand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher as _};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish()
}

/// Compares the CRC32C GCS reports for the new object with the one computed while sending.
fn check_uploaded(op: &'static str, object: &Object, hasher: &Hasher) -> Result<(), GcsError> {
    if let Some(remote) = &object.crc32c {
        let local = hasher.crc32c();
        if remote != &local {
            return Err(GcsError::ChecksumMismatch {
                operation: op,
                algorithm: "crc32c",
                expected: local,
                actual: remote.clone(),
            });
        }
    }
    Ok(())
}

/// Streams an `AsyncRead` in 256 KiB reads.
pub(crate) fn reader_stream<R>(reader: R) -> impl Stream<Item = std::io::Result<Bytes>> + Send + Unpin
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
{
    cloudkit_core::read_chunks(reader, CHUNK_QUANTUM)
}

/// Where a resumable session stands.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum UploadStatus {
    /// GCS holds the first `persisted` bytes.
    Incomplete {
        /// Bytes persisted.
        persisted: u64,
    },
    /// The upload finished.
    Complete(Box<Object>),
}

/// A resumable upload session. `Debug` shows the session URL without its query (the
/// `upload_id` authorizes the upload).
pub struct ResumableUpload {
    client: StorageClient,
    session: Url,
    offset: u64,
    total: Option<u64>,
    chunk_size: usize,
    /// The running checksum of everything sent; `None` after a resume from a URL (the earlier
    /// bytes were sent by someone else).
    hasher: Option<Hasher>,
    send_checksums: bool,
}

impl std::fmt::Debug for ResumableUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResumableUpload")
            .field("session", &cloudkit_core::redact_url(&self.session))
            .field("offset", &self.offset)
            .field("total", &self.total)
            .field("chunk_size", &self.chunk_size)
            .finish_non_exhaustive()
    }
}

impl ResumableUpload {
    /// Reattaches to a session started earlier (possibly by another process), asking it how
    /// much it already holds.
    pub async fn resume(client: &StorageClient, session_url: Url, total: Option<u64>) -> Result<Self, GcsError> {
        let mut upload = Self {
            client: client.clone(),
            session: session_url,
            offset: 0,
            total,
            chunk_size: client.inner.upload.chunk_size,
            hasher: None,
            send_checksums: false,
        };
        match upload.query_status().await? {
            UploadStatus::Incomplete { persisted } => upload.offset = persisted,
            UploadStatus::Complete(o) => upload.offset = o.size.unwrap_or(0),
        }
        Ok(upload)
    }

    /// The session URL (store it to resume after a crash; it is a bearer credential for this
    /// upload: keep it private).
    pub fn session_url(&self) -> &Url {
        &self.session
    }

    /// Bytes GCS has confirmed so far.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Sets the chunk size (a multiple of 256 KiB).
    pub fn set_chunk_size(&mut self, size: usize) {
        self.chunk_size = (size / CHUNK_QUANTUM).max(1) * CHUNK_QUANTUM;
    }

    /// Asks the session how much it holds (`PUT` with `Content-Range: bytes */total`). A status
    /// query changes nothing, so the pipeline retries it like any idempotent call.
    pub async fn query_status(&mut self) -> Result<UploadStatus, GcsError> {
        let range = match self.total {
            Some(t) => format!("bytes */{t}"),
            None => "bytes */*".to_owned(),
        };
        let status = self.put(Operation::new(OP).accept_statuses(&[308]), range, Bytes::new(), None).await?;
        if let UploadStatus::Incomplete { persisted } = &status {
            self.offset = *persisted;
        }
        Ok(status)
    }

    /// Cancels the session (`DELETE`); GCS answers 499, which counts as success here.
    pub async fn cancel(self) -> Result<(), GcsError> {
        self.delete_session(cancel_operation()).await
    }

    /// Drops the session after a failure, once, best effort (an abandoned session expires by
    /// itself after a week).
    async fn cancel_session(&self) {
        if let Err(e) = self.delete_session(cancel_operation().max_attempts(1)).await {
            tracing::debug!(error = %e, "cancelling the resumable session failed (it expires by itself)");
        }
    }

    async fn delete_session(&self, operation: Operation) -> Result<(), GcsError> {
        let request = HttpRequest::new(Method::DELETE, self.session.clone());
        self.client.pipeline().send_buffered(&operation, request).await?;
        Ok(())
    }

    /// Sends everything `stream` yields (after the bytes already persisted: the caller passes
    /// the data starting at [`offset`](Self::offset)) and finishes the upload.
    pub async fn upload_stream<S>(&mut self, mut stream: S) -> Result<Object, GcsError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + Unpin,
    {
        let chunk_size = self.chunk_size;
        let mut pending = BytesMut::new();
        let mut ended = false;
        loop {
            while !ended && pending.len() < chunk_size {
                match stream.next().await {
                    Some(Ok(b)) => pending.extend_from_slice(&b),
                    Some(Err(e)) => {
                        // Nothing was finalized: drop the session so no partial object can appear.
                        self.cancel_session().await;
                        return Err(GcsError::Other(
                            Error::new(ErrorKind::InvalidInput, crate::SERVICE, OP)
                                .with_message(format!("reading the upload source failed: {e}"))
                                .with_source(e),
                        ));
                    }
                    None => ended = true,
                }
            }
            let take = pending.len().min(chunk_size);
            let chunk = pending.split_to(take).freeze();
            let is_last = ended && pending.is_empty();
            if let Some(o) = self.upload_chunk(chunk, is_last).await? {
                return Ok(o);
            }
            if is_last {
                return Err(GcsError::decode(OP, "the last chunk did not complete the upload"));
            }
        }
    }

    /// Sends one chunk starting at [`offset`](Self::offset). Every chunk but the last must be
    /// a multiple of 256 KiB. Returns the object once the last chunk is in.
    ///
    /// A chunk is sent once per try (the pipeline does not resend it blindly): when a try fails
    /// in a way the pipeline classifies as retryable (a reset connection, a timeout, 5xx, 429),
    /// the upload waits the pipeline's backoff, asks the session how much it holds and sends the
    /// rest from there, at most [`UploadSettings::max_resumes`](crate::UploadSettings) times.
    /// Other failures (a 4xx, an expired session) end the upload.
    pub async fn upload_chunk(&mut self, chunk: Bytes, is_last: bool) -> Result<Option<Object>, GcsError> {
        if !is_last && !chunk.len().is_multiple_of(CHUNK_QUANTUM) {
            return Err(GcsError::invalid_input(OP, "resumable chunks before the last must be multiples of 256 KiB"));
        }
        if let Some(h) = &mut self.hasher {
            h.update(&chunk);
        }
        let chunk_start = self.offset;
        let chunk_end = chunk_start + chunk.len() as u64; // exclusive
        let total = if is_last { Some(chunk_end) } else { self.total };
        let max_resumes = self.client.inner.upload.max_resumes;
        let retry = self.client.pipeline().retry_config().clone();
        let mut failures = 0u32;
        loop {
            let from = self.offset;
            if from < chunk_start || from > chunk_end {
                return Err(GcsError::decode(
                    OP,
                    format!("the session reports {from} bytes, outside the chunk {chunk_start}..{chunk_end} in hand"),
                ));
            }
            let slice = chunk.slice(usize::try_from(from - chunk_start).unwrap_or(0)..);
            let range = match (slice.is_empty(), is_last, total) {
                (true, true, Some(t)) => format!("bytes */{t}"),
                (true, false, _) => return Ok(None),
                (false, true, Some(t)) => format!("bytes {from}-{}/{t}", chunk_end - 1),
                (false, _, Some(t)) => format!("bytes {from}-{}/{t}", chunk_end - 1),
                (false, _, None) => format!("bytes {from}-{}/*", chunk_end - 1),
                (true, true, None) => format!("bytes */{chunk_end}"),
            };
            let hash = match (&self.hasher, is_last && self.send_checksums) {
                (Some(h), true) => Some(format!("crc32c={}", h.crc32c())),
                _ => None,
            };
            let chunk_operation = Operation::new(OP).accept_statuses(&[308]).max_attempts(1);
            let failure = match self.put(chunk_operation, range, slice, hash).await {
                Ok(UploadStatus::Complete(object)) => return self.completed(*object, chunk_end).map(Some),
                Ok(UploadStatus::Incomplete { persisted }) => {
                    self.offset = persisted;
                    if persisted >= chunk_end && !is_last {
                        return Ok(None);
                    }
                    if persisted < from {
                        return Err(GcsError::decode(
                            OP,
                            format!("the session went back from {from} to {persisted} bytes"),
                        ));
                    }
                    // The server kept less than was sent: send the rest of the chunk.
                    continue;
                }
                Err(e) if e.is_retryable() => e,
                Err(e) => return Err(e),
            };
            failures += 1;
            if failures > max_resumes {
                return Err(failure);
            }
            tracing::info!(failures, offset = self.offset, error = %failure, "resumable chunk interrupted; querying the session");
            tokio::time::sleep(retry.backoff(failures)).await;
            // Ask the session where it stands (with the pipeline's retries), then continue from there.
            if let UploadStatus::Complete(object) = self.query_status().await? {
                return self.completed(*object, chunk_end).map(Some);
            }
        }
    }

    /// The finished upload: its CRC32C must be the one computed while sending.
    fn completed(&mut self, object: Object, chunk_end: u64) -> Result<Object, GcsError> {
        if let Some(h) = &self.hasher {
            check_uploaded(OP, &object, h)?;
        }
        self.offset = object.size.unwrap_or(chunk_end);
        Ok(object)
    }

    /// One PUT to the session URL through the pipeline: 308 (Resume Incomplete) says how much
    /// the session holds, 200/201 carries the object. The session URL authorizes the upload by
    /// itself; the pipeline's bearer token goes along, as with the official clients.
    async fn put(
        &self,
        operation: Operation,
        content_range: String,
        body: Bytes,
        hash: Option<String>,
    ) -> Result<UploadStatus, GcsError> {
        let mut request = HttpRequest::new(Method::PUT, self.session.clone()).with_body(body);
        set_header(&mut request, "content-range", &content_range)?;
        if let Some(h) = hash {
            set_header(&mut request, "x-goog-hash", &h)?;
        }
        let response = self.client.pipeline().send_buffered(&operation, request).await?;
        if response.status.as_u16() == 308 {
            let persisted = response
                .header("range")
                .and_then(|r| r.trim().strip_prefix("bytes=0-"))
                .and_then(|n| n.parse::<u64>().ok())
                .map_or(0, |last| last + 1);
            return Ok(UploadStatus::Incomplete { persisted });
        }
        decode_json::<Object>(OP, &response.body).map(|o| UploadStatus::Complete(Box::new(o)))
    }
}

/// The session `DELETE`: GCS answers a successful cancellation with 499.
fn cancel_operation() -> Operation {
    Operation::new(OP).accept_statuses(&[499])
}

impl StorageClient {
    /// `objects.insert`: uploads an object.
    ///
    /// ```no_run
    /// # async fn demo(client: cloudkit_gcp_storage::StorageClient) -> Result<(), cloudkit_gcp_storage::GcsError> {
    /// // create-only, with metadata; large files go resumable in 8 MiB chunks
    /// let object = client
    ///     .insert_object("b", "data/report.csv")
    ///     .content_type("text/csv")
    ///     .metadata("origin", "cloudkit")
    ///     .if_generation_match(0)
    ///     .send_file("report.csv")
    ///     .await?;
    /// println!("generation {:?}", object.generation);
    /// # Ok(()) }
    /// ```
    pub fn insert_object(&self, bucket: impl Into<String>, name: impl Into<String>) -> InsertObject {
        InsertObject {
            client: self.clone(),
            bucket: bucket.into(),
            name: name.into(),
            metadata: ObjectMetadata::default(),
            preconditions: Preconditions::default(),
            upload_type: UploadType::Auto,
            chunk_size: self.inner.upload.chunk_size,
            send_checksums: true,
        }
    }
}
