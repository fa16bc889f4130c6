//! `objects.insert`: simple media, multipart (metadata + data) and resumable uploads.
//!
//! Resumable uploads send chunks of a multiple of 256 KiB, hold one chunk in memory at most, and
//! after an interrupted chunk ask the session how much it persisted (`Content-Range: bytes */…`)
//! and continue from there. A session can also be resumed later from its URL
//! ([`ResumableUpload::resume`]). Every request, chunks included, goes through the client's
//! pipeline (docs/ARCHITECTURE.md, "The request pipeline"): a chunk's `308 Resume Incomplete` is
//! a declared success status, and a chunk is tried once, its recovery being the protocol's own.
//! A session that keeps answering 308 without taking any bytes ends the upload
//! ([`GcsError::UploadStalled`]), and an upload found complete (by a chunk's answer or a status
//! query) is checked against what was sent: size, CRC32C and MD5.
//!
//! Conditional single-request uploads (`ifGenerationMatch`, e.g. create-only `0`) are retried by
//! the pipeline; when a resent request meets a 412, the first one may have written the object and
//! lost its answer, so the live object is compared with what was sent (size, CRC32C, MD5, content
//! type and metadata) and, when it is that write, returned as the success it was.

use std::path::Path;

use bytes::{Bytes, BytesMut};
use cloudkit_core::{Error, ErrorKind, HttpRequest, Method, Operation, StatusCode, Url};
use futures::{Stream, StreamExt};
use serde::Serialize;

use crate::checksum::Hasher;
use crate::client::{CHUNK_QUANTUM, StorageClient, check_segment, decode_json};
use crate::error::GcsError;
use crate::object::precondition_setters;
use crate::types::{Object, ObjectMetadata, Preconditions};

/// Every upload request, the session's chunks included, is part of `objects.insert`.
const OP: &str = "objects.insert";

/// The largest answer an upload request reads: a `308` or the new object's resource (a few KiB;
/// GCS limits custom metadata to 8 KiB).
const MAX_UPLOAD_RESPONSE: usize = 1024 * 1024;

/// How many `308` answers in a row may take none of the bytes sent before the upload gives up.
const MAX_STALLED_ANSWERS: u32 = 3;

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

    /// `<endpoint>/upload/storage/v1/b/<bucket>/o?uploadType=…[&name=…]&<preconditions>`. The
    /// object name must be one that the other calls can address (not empty, `.` or `..`).
    fn insert_url(&self, upload_type: &str, name_in_query: bool) -> Result<Url, GcsError> {
        check_segment(OP, &self.name)?;
        let mut url = self.client.upload_url(OP, &["b", &self.bucket, "o"])?;
        let mut pairs = vec![("uploadType", upload_type.to_owned())];
        if name_in_query {
            pairs.push(("name", self.name.clone()));
        }
        pairs.extend(self.preconditions.pairs());
        cloudkit_core::append_query(&mut url, pairs);
        Ok(url)
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
    /// memory. `size` (when known) lets the last chunk be marked exactly. When the future is
    /// dropped before the end, the session is cancelled in a background task on the current
    /// Tokio runtime ([`cloudkit_core::cleanups_finished`] waits for it).
    pub async fn send_stream<S>(self, stream: S, size: Option<u64>) -> Result<Object, GcsError>
    where
        S: Stream<Item = std::io::Result<Bytes>> + Send + Unpin,
    {
        let mut upload = self.start_resumable(size).await?;
        // Dropped before the end (cancelled): the session is cancelled in the background.
        let (client, session) = (upload.client.clone(), upload.session.clone());
        let guard = cloudkit_core::CleanupOnDrop::new(move || async move {
            if let Err(e) = delete_session(&client, &session, cancel_operation()).await {
                tracing::debug!(error = %e, "cancelling a dropped upload's session failed (it expires by itself)");
            }
        });
        let result = upload.upload_stream(stream).await;
        guard.disarm();
        result
    }

    /// Starts a resumable session (for callers that drive the chunks themselves or want to
    /// store the session URL to resume later).
    pub async fn start_resumable(self, size: Option<u64>) -> Result<ResumableUpload, GcsError> {
        let url = self.insert_url("resumable", true)?;
        let body = UploadMetadata { name: &self.name, metadata: &self.metadata, crc32c: None, md5_hash: None };
        let mut request = crate::client::json_request(Method::POST, url, &body, OP)?;
        if let Some(ct) = &self.metadata.content_type {
            set_header(&mut request, "x-upload-content-type", ct)?;
        }
        if let Some(n) = size {
            set_header(&mut request, "x-upload-content-length", &n.to_string())?;
        }
        // Starting a session writes nothing: resending it is safe.
        let operation = Operation::new(OP).max_response_body(MAX_UPLOAD_RESPONSE);
        let response = self.client.pipeline().send_buffered(&operation, request).await?;
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
            hashed: 0,
            send_checksums: self.send_checksums,
        })
    }

    async fn media(self, data: Bytes) -> Result<Object, GcsError> {
        let size = data.len() as u64;
        let url = self.insert_url("media", true)?;
        let mut hasher = Hasher::default();
        hasher.update(&data);
        let mut request = HttpRequest::new(Method::POST, url).with_body(data);
        let ct = self.metadata.content_type.as_deref().unwrap_or("application/octet-stream");
        set_header(&mut request, "content-type", ct)?;
        if self.send_checksums {
            set_header(&mut request, "x-goog-hash", &format!("crc32c={},md5={}", hasher.crc32c(), hasher.md5()))?;
        }
        self.send_single(request, &hasher, size).await
    }

    async fn multipart(self, data: Bytes) -> Result<Object, GcsError> {
        let size = data.len() as u64;
        let url = self.insert_url("multipart", false)?;
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
        self.send_single(request, &hasher, size).await
    }

    /// Sends a media or multipart upload and checks what GCS stored. Resent by the pipeline only
    /// when pinned to a generation (a resend of an unconditional insert could write twice); a
    /// 412 after a resend is checked against the live object (see [`own_write`](Self::own_write)).
    async fn send_single(&self, request: HttpRequest, hasher: &Hasher, size: u64) -> Result<Object, GcsError> {
        let operation = Operation::new(OP)
            .idempotent(self.preconditions.makes_write_idempotent())
            .max_response_body(MAX_UPLOAD_RESPONSE);
        let object = match self.client.pipeline().send_buffered(&operation, request).await.map_err(GcsError::from) {
            Ok(response) => decode_json::<Object>(OP, &response.body)?,
            Err(GcsError::PreconditionFailed(e)) if e.attempts() > 1 => return self.own_write(e, hasher, size).await,
            Err(e) => return Err(e),
        };
        check_uploaded(OP, &object, hasher)?;
        Ok(object)
    }

    /// A resent conditional insert failed its precondition: the first send may have written the
    /// object and lost its answer (a 5xx or a reset after the write), so its own write now fails
    /// the condition. When the live object is exactly what was sent (size, CRC32C, MD5, content
    /// type, metadata), that write succeeded and the object is returned; otherwise the 412 stands.
    async fn own_write(&self, precondition: Error, hasher: &Hasher, size: u64) -> Result<Object, GcsError> {
        let failed = GcsError::PreconditionFailed(precondition);
        let live = match self.client.get_object(self.bucket.clone(), self.name.clone()).send().await {
            Ok(live) => live,
            Err(e) => {
                tracing::debug!(error = %e, "could not read the object back after a 412 on a resent insert");
                return Err(failed);
            }
        };
        let wanted = &self.metadata;
        let ours = live.size == Some(size)
            && live.crc32c.as_deref() == Some(hasher.crc32c().as_str())
            && live.md5_hash.as_deref().is_none_or(|m| m == hasher.md5())
            && wanted.content_type.as_ref().is_none_or(|ct| live.content_type.as_ref() == Some(ct))
            && wanted.metadata.iter().all(|(k, v)| v.as_ref().is_none_or(|v| live.metadata.get(k) == Some(v)));
        if ours {
            tracing::info!(
                generation = ?live.generation,
                "a resent conditional insert met its own earlier write (412): the upload succeeded"
            );
            Ok(live)
        } else {
            Err(failed)
        }
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

/// Compares the CRC32C and MD5 GCS reports for the new object (each when reported; composite
/// objects have no MD5) with those computed while sending.
fn check_uploaded(op: &'static str, object: &Object, hasher: &Hasher) -> Result<(), GcsError> {
    let pairs = [("CRC32C", &object.crc32c, hasher.crc32c()), ("MD5", &object.md5_hash, hasher.md5())];
    for (algorithm, remote, local) in pairs {
        if let Some(remote) = remote
            && remote != &local
        {
            return Err(GcsError::ChecksumMismatch {
                operation: op,
                algorithm,
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
    /// bytes were sent by someone else) or after chunks that left a gap.
    hasher: Option<Hasher>,
    /// How many bytes from the start `hasher` covers.
    hashed: u64,
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
    /// much it already holds. The bytes sent before cannot be checked by this process: a session
    /// completed after a resume is checked only as far as GCS itself checks it.
    pub async fn resume(client: &StorageClient, session_url: Url, total: Option<u64>) -> Result<Self, GcsError> {
        let mut upload = Self {
            client: client.clone(),
            session: session_url,
            offset: 0,
            total,
            chunk_size: client.inner.upload.chunk_size,
            hasher: None,
            hashed: 0,
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
    ///
    /// A session found complete is checked like a completing chunk: the object's size, CRC32C and
    /// MD5 must be those of the bytes this upload sent ([`GcsError::ChecksumMismatch`], or an
    /// error saying how many bytes GCS holds, otherwise) — a last chunk whose answer was lost is
    /// not taken on trust.
    pub async fn query_status(&mut self) -> Result<UploadStatus, GcsError> {
        let range = match self.total {
            Some(t) => format!("bytes */{t}"),
            None => "bytes */*".to_owned(),
        };
        let status = self.put(Operation::new(OP).accept_statuses(&[308]), range, Bytes::new(), None).await?;
        match &status {
            UploadStatus::Incomplete { persisted } => self.offset = *persisted,
            UploadStatus::Complete(object) => self.verify_complete(object)?,
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
        delete_session(&self.client, &self.session, operation).await
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
                    Some(Err(e)) => return Err(self.source_failed(e).await),
                    None => ended = true,
                }
            }
            let take = pending.len().min(chunk_size);
            let chunk = pending.split_to(take).freeze();
            let is_last = ended && pending.is_empty();
            if let Some(o) = self.upload_chunk(chunk, is_last).await? {
                // The session knew the total and completed with this chunk: the data must end here.
                while !is_last && pending.is_empty() {
                    match stream.next().await {
                        Some(Ok(b)) => pending.extend_from_slice(&b),
                        Some(Err(e)) => return Err(self.source_failed(e).await),
                        None => break,
                    }
                }
                if !pending.is_empty() {
                    return Err(GcsError::decode(
                        OP,
                        format!("the session completed after {} bytes, before the end of the data", self.offset),
                    ));
                }
                return Ok(o);
            }
            if is_last {
                return Err(GcsError::decode(OP, "the last chunk did not complete the upload"));
            }
        }
    }

    /// The upload source failed: nothing was finalized, so the session is dropped (no partial
    /// object can appear) and the read error is returned.
    async fn source_failed(&self, e: std::io::Error) -> GcsError {
        self.cancel_session().await;
        GcsError::Other(
            Error::new(ErrorKind::InvalidInput, crate::SERVICE, OP)
                .with_message(format!("reading the upload source failed: {e}")),
        )
    }

    /// Sends one chunk starting at [`offset`](Self::offset). Every chunk but the last must be
    /// a multiple of 256 KiB. Returns the object once the last chunk is in.
    ///
    /// A chunk is sent once per try (the pipeline does not resend it blindly): when a try fails
    /// in a way the pipeline classifies as retryable (a reset connection, a timeout, 5xx, 429),
    /// the upload waits the pipeline's backoff, asks the session how much it holds and sends the
    /// rest from there, at most [`UploadSettings::max_resumes`](crate::UploadSettings) times.
    /// Other failures (a 4xx, an expired session) end the upload, and so does a session that
    /// answers `308` three times in a row without taking any of the bytes sent
    /// ([`GcsError::UploadStalled`]). The finished object is checked against what was sent
    /// (size, CRC32C, MD5), however its completion was learnt.
    pub async fn upload_chunk(&mut self, chunk: Bytes, is_last: bool) -> Result<Option<Object>, GcsError> {
        if !is_last && !chunk.len().is_multiple_of(CHUNK_QUANTUM) {
            return Err(GcsError::invalid_input(OP, "resumable chunks before the last must be multiples of 256 KiB"));
        }
        let chunk_start = self.offset;
        let chunk_end = chunk_start + chunk.len() as u64; // exclusive
        self.hash_chunk(&chunk, chunk_start);
        let total = if is_last { Some(chunk_end) } else { self.total };
        let max_resumes = self.client.inner.upload.max_resumes;
        let retry = self.client.pipeline().retry_config().clone();
        let mut failures = 0u32;
        let mut stalled = 0u32;
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
                Ok(UploadStatus::Complete(object)) => return self.completed(*object).map(Some),
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
                    if persisted > from {
                        stalled = 0;
                    } else {
                        // Nothing of what was sent was kept: resend, but not forever.
                        stalled += 1;
                        if stalled >= MAX_STALLED_ANSWERS {
                            return Err(self.stalled(persisted, stalled));
                        }
                        tokio::time::sleep(retry.backoff(stalled)).await;
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
                return self.completed(*object).map(Some);
            }
        }
    }

    /// Feeds the part of a chunk starting at `chunk_start` that the running checksum has not
    /// seen yet (a chunk resent from an earlier offset is not counted twice; a gap ends the
    /// checksum).
    fn hash_chunk(&mut self, chunk: &[u8], chunk_start: u64) {
        let Some(hasher) = &mut self.hasher else { return };
        if chunk_start > self.hashed {
            tracing::debug!(chunk_start, hashed = self.hashed, "chunks left a gap: the upload cannot be checked");
            self.hasher = None;
            return;
        }
        let seen = usize::try_from(self.hashed - chunk_start).unwrap_or(usize::MAX);
        if let Some(new) = chunk.get(seen..) {
            hasher.update(new);
            self.hashed += new.len() as u64;
        }
    }

    /// The session took nothing `answers` times in a row.
    fn stalled(&self, persisted: u64, answers: u32) -> GcsError {
        let total = self.total.map_or_else(|| "?".to_owned(), |t| t.to_string());
        GcsError::UploadStalled(
            Error::new(ErrorKind::Service, crate::SERVICE, OP)
                .with_status(StatusCode::PERMANENT_REDIRECT)
                .with_message(format!(
                    "the resumable session answered 308 {answers} times in a row without taking any of the bytes \
                     sent (it holds {persisted} of {total})"
                )),
        )
    }

    /// The finished upload, checked against what was sent.
    fn completed(&mut self, object: Object) -> Result<Object, GcsError> {
        self.verify_complete(&object)?;
        self.offset = object.size.unwrap_or(self.hashed);
        Ok(object)
    }

    /// A completed object must be the bytes this upload sent: CRC32C and MD5 (when GCS reports
    /// them) and size. Nothing to compare after a [`resume`](Self::resume) from a URL.
    fn verify_complete(&self, object: &Object) -> Result<(), GcsError> {
        let Some(hasher) = &self.hasher else { return Ok(()) };
        check_uploaded(OP, object, hasher)?;
        match object.size {
            Some(size) if size != self.hashed => Err(GcsError::decode(
                OP,
                format!("the upload completed with {size} bytes, but {} were sent", self.hashed),
            )),
            _ => Ok(()),
        }
    }

    /// One PUT to the session URL through the pipeline (its timeouts, and a capped answer): 308
    /// (Resume Incomplete) says how much the session holds, 200/201 carries the object. The
    /// session URL authorizes the upload by itself; the pipeline's bearer token goes along, as
    /// with the official clients.
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
        let operation = operation.max_response_body(MAX_UPLOAD_RESPONSE);
        let response = self.client.pipeline().send_buffered(&operation, request).await?;
        if response.status.as_u16() == 308 {
            let persisted = response
                .header("range")
                .and_then(|r| r.trim().strip_prefix("bytes=0-"))
                .and_then(|n| n.parse::<u64>().ok())
                .and_then(|last| last.checked_add(1))
                .unwrap_or(0);
            return Ok(UploadStatus::Incomplete { persisted });
        }
        decode_json::<Object>(OP, &response.body).map(|o| UploadStatus::Complete(Box::new(o)))
    }
}

/// Cancels the resumable session at `session` (`DELETE`).
async fn delete_session(client: &StorageClient, session: &Url, operation: Operation) -> Result<(), GcsError> {
    let request = HttpRequest::new(Method::DELETE, session.clone());
    client.pipeline().send_buffered(&operation.max_response_body(MAX_UPLOAD_RESPONSE), request).await?;
    Ok(())
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
