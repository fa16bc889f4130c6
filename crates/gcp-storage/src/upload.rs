//! `objects.insert`: simple media, multipart (metadata + data) and resumable uploads.
//!
//! Resumable uploads send chunks of a multiple of 256 KiB, hold one chunk in memory at most, and
//! after an interrupted chunk ask the session how much it persisted (`Content-Range: bytes */…`)
//! and continue from there. A session can also be resumed later from its URL
//! ([`ResumableUpload::resume`]).

use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use cloudkit_core::{Error, ErrorKind, HttpRequest, HttpSend, Method, StatusCode, Url};
use futures::{Stream, StreamExt};
use serde::Serialize;

use crate::checksum::Hasher;
use crate::client::{CHUNK_QUANTUM, StorageClient, add_query, decode_json};
use crate::error::{GcsError, GcsErrorParser};
use crate::object::precondition_setters;
use crate::types::{Object, ObjectMetadata, Preconditions};
use cloudkit_core::ParseError as _;

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

    fn op(&self) -> &'static str {
        "objects.insert"
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
        let io = |e: std::io::Error| GcsError::invalid_input("objects.insert", format!("{}: {e}", path.display()));
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
        let op = self.op();
        let mut url = self.client.upload_url(&["b", &self.bucket, "o"]);
        let mut pairs: Vec<(&str, String)> = vec![("uploadType", "resumable".into()), ("name", self.name.clone())];
        pairs.extend(self.preconditions.pairs());
        add_query(&mut url, pairs.iter().map(|(k, v)| (*k, v.as_str())));
        let body = UploadMetadata { name: &self.name, metadata: &self.metadata, crc32c: None, md5_hash: None };
        let mut request = crate::client::json_request(Method::POST, url, &body, op)?;
        if let Some(ct) = &self.metadata.content_type {
            request
                .insert_header("x-upload-content-type", ct)
                .map_err(|e| GcsError::invalid_input(op, e.to_string()))?;
        }
        if let Some(n) = size {
            request
                .insert_header("x-upload-content-length", &n.to_string())
                .map_err(|e| GcsError::invalid_input(op, e.to_string()))?;
        }
        let response = self.client.send(op, self.preconditions.makes_write_idempotent(), request).await?;
        let location = response
            .header("location")
            .ok_or_else(|| GcsError::decode(op, "the resumable session response has no Location"))?;
        let session = Url::parse(location).map_err(|e| GcsError::decode(op, format!("bad session URL: {e}")))?;
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
        let op = self.op();
        let mut url = self.client.upload_url(&["b", &self.bucket, "o"]);
        let mut pairs: Vec<(&str, String)> = vec![("uploadType", "media".into()), ("name", self.name.clone())];
        pairs.extend(self.preconditions.pairs());
        add_query(&mut url, pairs.iter().map(|(k, v)| (*k, v.as_str())));
        let mut hasher = Hasher::default();
        hasher.update(&data);
        let mut request = HttpRequest::new(Method::POST, url).with_body(data);
        let ct = self.metadata.content_type.as_deref().unwrap_or("application/octet-stream");
        request.insert_header("content-type", ct).map_err(|e| GcsError::invalid_input(op, e.to_string()))?;
        if self.send_checksums {
            request
                .insert_header("x-goog-hash", &format!("crc32c={},md5={}", hasher.crc32c(), hasher.md5()))
                .map_err(|e| GcsError::invalid_input(op, e.to_string()))?;
        }
        let object: Object = self.client.send_json(op, self.preconditions.makes_write_idempotent(), request).await?;
        check_uploaded(op, &object, &hasher)?;
        Ok(object)
    }

    async fn multipart(self, data: Bytes) -> Result<Object, GcsError> {
        let op = self.op();
        let mut url = self.client.upload_url(&["b", &self.bucket, "o"]);
        let mut pairs: Vec<(&str, String)> = vec![("uploadType", "multipart".into())];
        pairs.extend(self.preconditions.pairs());
        add_query(&mut url, pairs.iter().map(|(k, v)| (*k, v.as_str())));
        let mut hasher = Hasher::default();
        hasher.update(&data);
        let meta = UploadMetadata {
            name: &self.name,
            metadata: &self.metadata,
            crc32c: self.send_checksums.then(|| hasher.crc32c()),
            md5_hash: self.send_checksums.then(|| hasher.md5()),
        };
        let json = serde_json::to_vec(&meta).map_err(|e| GcsError::invalid_input(op, e.to_string()))?;
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
        request
            .insert_header("content-type", &format!("multipart/related; boundary={boundary}"))
            .map_err(|e| GcsError::invalid_input(op, e.to_string()))?;
        let object: Object = self.client.send_json(op, self.preconditions.makes_write_idempotent(), request).await?;
        check_uploaded(op, &object, &hasher)?;
        Ok(object)
    }
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

enum ChunkFailure {
    /// Worth querying the session and resuming (connection reset, 5xx, 408, 429).
    Retryable(GcsError),
    /// Not (session gone, 4xx).
    Fatal(GcsError),
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

    /// Asks the session how much it holds (`PUT` with `Content-Range: bytes */total`).
    pub async fn query_status(&mut self) -> Result<UploadStatus, GcsError> {
        let range = match self.total {
            Some(t) => format!("bytes */{t}"),
            None => "bytes */*".to_owned(),
        };
        match self.put(range, Bytes::new(), None).await {
            Ok(status) => {
                if let UploadStatus::Incomplete { persisted } = &status {
                    self.offset = *persisted;
                }
                Ok(status)
            }
            Err(ChunkFailure::Retryable(e) | ChunkFailure::Fatal(e)) => Err(e),
        }
    }

    /// Cancels the session (`DELETE`); GCS answers 499, which counts as success here.
    pub async fn cancel(self) -> Result<(), GcsError> {
        let request = HttpRequest::new(Method::DELETE, self.session.clone());
        let http: Arc<dyn HttpSend> = self.client.pipeline().http().clone();
        let response = http.send(request).await.map_err(|e| transport("objects.insert", e))?;
        match response.status.as_u16() {
            200..=299 | 499 => Ok(()),
            _ => Err(status_error(response.status, &response.headers, &[])),
        }
    }

    async fn cancel_session(&self) {
        let http = self.client.pipeline().http().clone();
        if let Err(e) = http.send(HttpRequest::new(Method::DELETE, self.session.clone())).await {
            tracing::debug!(error = %e, "cancelling the resumable session failed (it expires by itself)");
        }
    }

    /// Sends everything `stream` yields (after the bytes already persisted: the caller passes
    /// the data starting at [`offset`](Self::offset)) and finishes the upload.
    pub async fn upload_stream<S>(&mut self, mut stream: S) -> Result<Object, GcsError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + Unpin,
    {
        let op = "objects.insert";
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
                            Error::new(ErrorKind::InvalidInput, crate::SERVICE, op)
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
                return Err(GcsError::decode(op, "the last chunk did not complete the upload"));
            }
        }
    }

    /// Sends one chunk starting at [`offset`](Self::offset). Every chunk but the last must be
    /// a multiple of 256 KiB. Returns the object once the last chunk is in. An interrupted
    /// chunk is resumed from what the session reports it holds.
    pub async fn upload_chunk(&mut self, chunk: Bytes, is_last: bool) -> Result<Option<Object>, GcsError> {
        let op = "objects.insert";
        if !is_last && !chunk.len().is_multiple_of(CHUNK_QUANTUM) {
            return Err(GcsError::invalid_input(op, "resumable chunks before the last must be multiples of 256 KiB"));
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
                    op,
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
            let failure = match self.put(range, slice, hash).await {
                Ok(UploadStatus::Complete(object)) => {
                    if let Some(h) = &self.hasher {
                        check_uploaded(op, &object, h)?;
                    }
                    self.offset = object.size.unwrap_or(chunk_end);
                    return Ok(Some(*object));
                }
                Ok(UploadStatus::Incomplete { persisted }) => {
                    self.offset = persisted;
                    if persisted >= chunk_end && !is_last {
                        return Ok(None);
                    }
                    if persisted < from {
                        return Err(GcsError::decode(
                            op,
                            format!("the session went back from {from} to {persisted} bytes"),
                        ));
                    }
                    // The server kept less than was sent: send the rest of the chunk.
                    continue;
                }
                Err(ChunkFailure::Fatal(e)) => return Err(e),
                Err(ChunkFailure::Retryable(e)) => e,
            };
            failures += 1;
            if failures > max_resumes {
                return Err(failure);
            }
            tracing::info!(failures, offset = self.offset, "resumable chunk interrupted; querying the session");
            tokio::time::sleep(retry.backoff(failures)).await;
            // Ask the session where it stands, then continue from there.
            match self.query_status().await {
                Ok(UploadStatus::Complete(object)) => return Ok(Some(*object)),
                Ok(UploadStatus::Incomplete { .. }) => {}
                Err(e) => {
                    tracing::info!(error = %e, "querying the session failed; retrying");
                }
            }
        }
    }

    /// One PUT to the session URL. The session URL authorizes the upload by itself, so it goes
    /// straight to the HTTP seam (the pipeline treats 308 as an error and drops its `Range`).
    async fn put(
        &self,
        content_range: String,
        body: Bytes,
        hash: Option<String>,
    ) -> Result<UploadStatus, ChunkFailure> {
        let op = "objects.insert";
        let mut request = HttpRequest::new(Method::PUT, self.session.clone()).with_body(body);
        request
            .insert_header("content-range", &content_range)
            .map_err(|e| ChunkFailure::Fatal(GcsError::invalid_input(op, e.to_string())))?;
        if let Some(h) = hash {
            request
                .insert_header("x-goog-hash", &h)
                .map_err(|e| ChunkFailure::Fatal(GcsError::invalid_input(op, e.to_string())))?;
        }
        let http = self.client.pipeline().http().clone();
        let response = http.send(request).await.map_err(|e| ChunkFailure::Retryable(transport(op, e)))?;
        let status = response.status;
        let headers = response.headers;
        let body = response.body.collect().await.map_err(|e| ChunkFailure::Retryable(transport(op, e)))?;
        match status.as_u16() {
            308 => {
                let persisted = headers
                    .get("range")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|r| r.trim().strip_prefix("bytes=0-"))
                    .and_then(|n| n.parse::<u64>().ok())
                    .map_or(0, |last| last + 1);
                Ok(UploadStatus::Incomplete { persisted })
            }
            200 | 201 => decode_json::<Object>(op, &body)
                .map(|o| UploadStatus::Complete(Box::new(o)))
                .map_err(ChunkFailure::Fatal),
            408 | 429 | 500..=599 => Err(ChunkFailure::Retryable(status_error(status, &headers, &body))),
            _ => Err(ChunkFailure::Fatal(status_error(status, &headers, &body))),
        }
    }
}

fn transport(op: &'static str, e: cloudkit_core::TransportError) -> GcsError {
    GcsError::Other(Error::new(ErrorKind::Transport, crate::SERVICE, op).with_retryable(true).with_source(e))
}

fn status_error(status: StatusCode, headers: &cloudkit_core::HeaderMap, body: &[u8]) -> GcsError {
    let details = GcsErrorParser.parse(status, headers, body);
    GcsError::from(
        Error::new(ErrorKind::Service, crate::SERVICE, "objects.insert").with_status(status).with_details(details),
    )
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
