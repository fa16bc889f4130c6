//! Managed transfers (the equivalent of boto3's `s3transfer`): [`TransferManager`] uploads a
//! file, a [`Bytes`] buffer or any [`AsyncRead`], and downloads to a file, to memory or to any
//! [`AsyncWrite`], switching to multipart uploads and parallel ranged downloads above
//! [`TransferConfig::multipart_threshold`].
//!
//! - Uploads at or above the threshold go multipart, `concurrency` parts at a time. A file is
//!   sent as [`FileRegion`] parts streamed from disk (never buffered); a reader is read part by
//!   part, so memory stays at most `part_size × concurrency`. The part size grows automatically
//!   so that no upload needs more than 10,000 parts. Any failure aborts the multipart upload, so
//!   no orphaned parts are left behind (also when the transfer future is dropped, inside a Tokio
//!   runtime).
//! - Downloads start with a ranged GET of the first part, which gives the size and the ETag;
//!   the other parts are fetched by parallel ranged GETs carrying `If-Match: <ETag>`, so an object
//!   replaced during the download fails with [`TransferError::ObjectChanged`] instead of mixing
//!   two versions. Files are written part by part at their offsets into a temporary file that is
//!   renamed into place at the end (a failed download leaves no partial file); writers receive
//!   the parts in order, with a reorder window of at most `concurrency` parts.
//! - Progress callbacks receive the bytes done and the total (when known).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use cloudkit_core::{Body, ByteStream, FileRegion, internal::blocking};
use futures::future::Either;
use futures::stream::{FuturesUnordered, StreamExt, TryStreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::checksum::{ChecksumAlgorithm, ChecksumMismatchError};
use crate::client::Client;
use crate::error::S3Error;
use crate::multipart::{CompletedPart, MAX_PART_NUMBER};
use crate::object::attribute_setters;
use crate::types::{ObjectAttributes, ObjectMetadata};

const MIB: u64 = 1024 * 1024;

/// The smallest part S3 accepts (except for the last part): 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 * MIB;

/// The largest part S3 accepts: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;

/// How many times a part whose body broke off mid-stream is fetched again.
const PART_BODY_ATTEMPTS: u32 = 3;

/// Progress of one transfer, as passed to the progress callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes transferred so far (never decreases).
    pub transferred: u64,
    /// The size of the object, when known (always for files, bytes and downloads; for an
    /// upload from a reader only once it reached its end).
    pub total: Option<u64>,
}

/// A progress callback: called from the transfer's tasks after every part (uploads) or chunk
/// (downloads); keep it cheap.
pub type ProgressCallback = Arc<dyn Fn(Progress) + Send + Sync>;

/// Settings of managed transfers.
///
/// ```
/// use cloudkit_aws_s3::TransferConfig;
/// let config = TransferConfig::default()
///     .with_multipart_threshold(16 << 20)
///     .with_part_size(16 << 20)
///     .with_concurrency(4)
///     .with_progress(|p| eprintln!("{} of {:?} bytes", p.transferred, p.total));
/// assert_eq!(config.part_size, 16 << 20);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct TransferConfig {
    /// Uploads of at least this many bytes go multipart; downloads of larger objects use
    /// parallel ranged GETs. Default 8 MiB.
    pub multipart_threshold: u64,
    /// The part size (default 8 MiB, at least 5 MiB); grown automatically so that an upload of
    /// known size needs at most 10,000 parts.
    pub part_size: u64,
    /// How many parts are in flight at once (default 8).
    pub concurrency: usize,
    /// Called with the progress of every transfer (unless the transfer sets its own).
    pub progress: Option<ProgressCallback>,
}

impl Default for TransferConfig {
    fn default() -> Self {
        Self { multipart_threshold: 8 * MIB, part_size: 8 * MIB, concurrency: 8, progress: None }
    }
}

impl fmt::Debug for TransferConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TransferConfig")
            .field("multipart_threshold", &self.multipart_threshold)
            .field("part_size", &self.part_size)
            .field("concurrency", &self.concurrency)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

impl TransferConfig {
    /// Sets [`multipart_threshold`](Self::multipart_threshold).
    pub fn with_multipart_threshold(mut self, bytes: u64) -> Self {
        self.multipart_threshold = bytes;
        self
    }

    /// Sets [`part_size`](Self::part_size) (values below 5 MiB are raised to 5 MiB).
    pub fn with_part_size(mut self, bytes: u64) -> Self {
        self.part_size = bytes;
        self
    }

    /// Sets [`concurrency`](Self::concurrency) (0 counts as 1).
    pub fn with_concurrency(mut self, parts: usize) -> Self {
        self.concurrency = parts;
        self
    }

    /// Sets the progress callback.
    pub fn with_progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.progress = Some(Arc::new(callback));
        self
    }

    fn parts_in_flight(&self) -> usize {
        self.concurrency.max(1)
    }

    /// The part size used for an object of `size` bytes (`None`: unknown): the configured size
    /// (at least 5 MiB), grown to a whole number of MiB so that at most 10,000 parts are needed.
    pub fn effective_part_size(&self, size: Option<u64>) -> Result<u64, TransferError> {
        let mut part = self.part_size.max(MIN_PART_SIZE);
        if let Some(size) = size {
            let needed = size.div_ceil(u64::from(MAX_PART_NUMBER));
            if needed > part {
                part = needed.div_ceil(MIB) * MIB;
            }
            if part > MAX_PART_SIZE {
                return Err(TransferError::TooLarge { size });
            }
        }
        Ok(part.min(MAX_PART_SIZE))
    }
}

/// Why a managed transfer failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// An S3 request failed (after the pipeline's retries). A failed multipart upload has been
    /// aborted.
    #[error(transparent)]
    S3(#[from] S3Error),
    /// Reading the source or writing the destination failed.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (with the path, when there is one).
        context: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The object was replaced while it was being downloaded (a ranged GET with `If-Match` on
    /// the ETag of the first part failed, or answered with another ETag).
    #[error("s3://{bucket}/{key} changed during the download (it no longer has ETag {e_tag})")]
    ObjectChanged {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The ETag the download started with.
        e_tag: String,
    },
    /// A ranged GET answered with a different number of bytes than the range asked for.
    #[error("s3://{bucket}/{key}: the bytes {start}..{end} came back as {received} bytes")]
    SizeMismatch {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// First byte of the range.
        start: u64,
        /// End of the range (exclusive).
        end: u64,
        /// Bytes received.
        received: u64,
    },
    /// The object is too large for a multipart upload (more than 10,000 parts of 5 GiB).
    #[error("{size} bytes cannot be uploaded in at most 10,000 parts of at most 5 GiB")]
    TooLarge {
        /// The size (or the bytes read so far, for a reader).
        size: u64,
    },
}

impl TransferError {
    fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        TransferError::Io { context: context.into(), source }
    }

    /// The S3 error, when an S3 request failed.
    pub fn s3(&self) -> Option<&S3Error> {
        match self {
            TransferError::S3(e) => Some(e),
            _ => None,
        }
    }

    /// Whether the object (or bucket) does not exist.
    pub fn is_not_found(&self) -> bool {
        self.s3().is_some_and(S3Error::is_not_found)
    }
}

/// Runs managed uploads and downloads with one [`Client`] and one [`TransferConfig`]. Cheap to
/// clone.
///
/// ```no_run
/// # async fn demo(s3: cloudkit_aws_s3::Client) -> Result<(), cloudkit_aws_s3::TransferError> {
/// use cloudkit_aws_s3::{TransferConfig, TransferManager};
///
/// let transfers = TransferManager::with_config(
///     s3.clone(),
///     TransferConfig::default().with_progress(|p| eprintln!("{}/{:?}", p.transferred, p.total)),
/// );
/// // Multipart above 8 MiB, parts streamed from disk, 8 at a time; aborted on failure.
/// let up = transfers.upload_file("bucket", "backups/db.tar", "/tmp/db.tar").content_type("application/x-tar").send().await?;
/// println!("uploaded {} bytes in {} part(s)", up.size, up.parts);
///
/// // Parallel ranged GETs, If-Match on the ETag, written to a temporary file then renamed.
/// let down = transfers.download_file("bucket", "backups/db.tar", "/tmp/db-copy.tar").await?;
/// println!("downloaded {} bytes", down.size);
///
/// // Into memory, or into any AsyncWrite.
/// let bytes = transfers.download("bucket", "small.json").to_bytes().await?;
/// let mut sink = tokio::io::sink(); // any AsyncWrite: a socket, a pipe, a compressor …
/// transfers.download("bucket", "small.json").to_writer(&mut sink).await?;
/// # let _ = bytes; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct TransferManager {
    client: Client,
    config: TransferConfig,
}

impl Client {
    /// A [`TransferManager`] with the default [`TransferConfig`].
    pub fn transfer_manager(&self) -> TransferManager {
        TransferManager::new(self.clone())
    }
}

impl TransferManager {
    /// A transfer manager with the default settings.
    pub fn new(client: Client) -> Self {
        Self::with_config(client, TransferConfig::default())
    }

    /// A transfer manager with these settings.
    pub fn with_config(client: Client, config: TransferConfig) -> Self {
        Self { client, config }
    }

    /// The settings.
    pub fn config(&self) -> &TransferConfig {
        &self.config
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    fn upload(&self, bucket: String, key: String, source: Source) -> Upload {
        Upload {
            client: self.client.clone(),
            config: self.config.clone(),
            bucket,
            key,
            source,
            attrs: ObjectAttributes::default(),
            condition: None,
        }
    }

    /// Uploads the file at `path` (multipart at or above the threshold, with the parts streamed
    /// from disk).
    pub fn upload_file(&self, bucket: impl Into<String>, key: impl Into<String>, path: impl Into<PathBuf>) -> Upload {
        self.upload(bucket.into(), key.into(), Source::File(path.into()))
    }

    /// Uploads an in-memory buffer (parts are zero-copy slices of it).
    pub fn upload_bytes(&self, bucket: impl Into<String>, key: impl Into<String>, data: impl Into<Bytes>) -> Upload {
        self.upload(bucket.into(), key.into(), Source::Bytes(data.into()))
    }

    /// Uploads everything `reader` yields, part by part (at most `concurrency` parts in memory).
    /// Its size is unknown in advance, so the part size does not grow: a stream longer than
    /// 10,000 × `part_size` fails with [`TransferError::TooLarge`] (and the upload is aborted).
    pub fn upload_reader(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        reader: impl AsyncRead + Send + Unpin + 'static,
    ) -> Upload {
        self.upload(bucket.into(), key.into(), Source::Reader(Box::new(reader)))
    }

    /// A download of `bucket/key`; finish it with [`Download::to_file`], [`Download::to_bytes`]
    /// or [`Download::to_writer`].
    pub fn download(&self, bucket: impl Into<String>, key: impl Into<String>) -> Download {
        Download {
            client: self.client.clone(),
            config: self.config.clone(),
            bucket: bucket.into(),
            key: key.into(),
            version_id: None,
        }
    }

    /// Downloads `bucket/key` into the file at `path` (see [`Download::to_file`]).
    pub async fn download_file(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Result<DownloadOutput, TransferError> {
        self.download(bucket, key).to_file(path).await
    }
}

// ---------------------------------------------------------------------------------------------
// Progress

struct ProgressTracker {
    done: AtomicU64,
    total: AtomicU64,
    callback: Option<ProgressCallback>,
}

const UNKNOWN: u64 = u64::MAX;

impl ProgressTracker {
    fn new(callback: Option<ProgressCallback>, total: Option<u64>) -> Self {
        Self { done: AtomicU64::new(0), total: AtomicU64::new(total.unwrap_or(UNKNOWN)), callback }
    }

    fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        self.report(done);
    }

    fn report(&self, done: u64) {
        if let Some(cb) = &self.callback {
            let total = self.total.load(Ordering::Relaxed);
            cb(Progress { transferred: done, total: (total != UNKNOWN).then_some(total) });
        }
    }

    fn start(&self) {
        self.report(self.done.load(Ordering::Relaxed));
    }
}

// ---------------------------------------------------------------------------------------------
// Uploads

enum Source {
    File(PathBuf),
    Bytes(Bytes),
    Reader(Box<dyn AsyncRead + Send + Unpin>),
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::File(p) => write!(f, "File({p:?})"),
            Source::Bytes(b) => write!(f, "Bytes({} bytes)", b.len()),
            Source::Reader(_) => f.write_str("Reader"),
        }
    }
}

/// A managed upload; see [`TransferManager::upload_file`]. Takes the same object attributes as
/// [`Client::put_object`] (content type, metadata, storage class, tags, encryption …).
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct Upload {
    client: Client,
    config: TransferConfig,
    bucket: String,
    key: String,
    source: Source,
    attrs: ObjectAttributes,
    condition: Option<WriteCondition>,
}

/// A condition on the object being replaced, applied to the PutObject or to the
/// CompleteMultipartUpload that makes the upload visible.
#[derive(Clone, Debug, PartialEq, Eq)]
enum WriteCondition {
    /// `If-None-Match: *`: only if no object has the key.
    NoneMatchAny,
    /// `If-Match: etag`: only if the current object has this ETag.
    Match(String),
}

/// What a managed upload returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadOutput {
    /// The new object's ETag.
    pub e_tag: Option<String>,
    /// Its version id (versioned buckets).
    pub version_id: Option<String>,
    /// Bytes uploaded.
    pub size: u64,
    /// 0 for a single PutObject, else the number of parts.
    pub parts: u32,
}

/// Applies upload attributes to a PutObject / CreateMultipartUpload builder.
macro_rules! with_attributes {
    ($builder:expr, $a:expr) => {{
        let a = $a;
        let mut b = $builder;
        if let Some(v) = &a.content_type {
            b = b.content_type(v.clone());
        }
        if let Some(v) = &a.cache_control {
            b = b.cache_control(v.clone());
        }
        if let Some(v) = &a.content_disposition {
            b = b.content_disposition(v.clone());
        }
        if let Some(v) = &a.content_encoding {
            b = b.content_encoding(v.clone());
        }
        if let Some(v) = &a.content_language {
            b = b.content_language(v.clone());
        }
        if let Some(v) = a.expires {
            b = b.expires(v);
        }
        for (k, v) in &a.metadata {
            b = b.metadata(k.clone(), v.clone());
        }
        if let Some(v) = &a.storage_class {
            b = b.storage_class(v.clone());
        }
        for t in &a.tagging {
            b = b.tag(t.key.clone(), t.value.clone());
        }
        if let Some(v) = &a.sse {
            b = b.server_side_encryption(v.clone());
        }
        if let Some(v) = &a.sse_kms_key_id {
            b = b.sse_kms_key_id(v.clone());
        }
        if let Some(v) = &a.sse_kms_context {
            b = b.sse_kms_encryption_context(v.clone());
        }
        if let Some(v) = a.bucket_key_enabled {
            b = b.bucket_key_enabled(v);
        }
        if let Some(v) = &a.acl {
            b = b.acl(v.clone());
        }
        if let Some(v) = a.lock_legal_hold {
            b = b.object_lock_legal_hold(v);
        }
        if let Some(v) = &a.lock_mode {
            b = b.object_lock_mode(v.clone());
        }
        if let Some(v) = a.lock_retain_until {
            b = b.object_lock_retain_until(v);
        }
        b
    }};
}

impl Upload {
    attribute_setters!();

    /// A progress callback for this transfer only (instead of the config's).
    pub fn on_progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.config.progress = Some(Arc::new(callback));
        self
    }

    /// Create-only: the upload fails with [`S3Error::PreconditionFailed`] if the key exists
    /// (`If-None-Match: *` on the PutObject or the CompleteMultipartUpload; parts uploaded before
    /// the check are aborted).
    pub fn if_none_match_any(mut self) -> Self {
        self.condition = Some(WriteCondition::NoneMatchAny);
        self
    }

    /// Replace only the object with this ETag, else [`S3Error::PreconditionFailed`].
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.condition = Some(WriteCondition::Match(etag.into()));
        self
    }

    /// Runs the upload.
    pub async fn send(self) -> Result<UploadOutput, TransferError> {
        let Upload { client, config, bucket, key, source, attrs, condition } = self;
        let threshold = config.multipart_threshold;
        let ctx = UploadCtx { client, config, bucket, key, attrs, condition };
        match source {
            Source::File(path) => {
                let size = blocking::metadata(&path)
                    .await
                    .map_err(|e| TransferError::io(format!("reading the size of {}", path.display()), e))?
                    .len();
                let progress = ProgressTracker::new(ctx.config.progress.clone(), Some(size));
                progress.start();
                if size < threshold {
                    return ctx.put(Body::File(FileRegion::new(path, 0, size)), &progress).await;
                }
                let part_size = ctx.config.effective_part_size(Some(size))?;
                let parts = PartSource::File { path, offset: 0, size };
                ctx.multipart(parts, part_size, &progress).await
            }
            Source::Bytes(data) => {
                let size = data.len() as u64;
                let progress = ProgressTracker::new(ctx.config.progress.clone(), Some(size));
                progress.start();
                if size < threshold {
                    return ctx.put(Body::Bytes(data), &progress).await;
                }
                let part_size = ctx.config.effective_part_size(Some(size))?;
                ctx.multipart(PartSource::Bytes(data), part_size, &progress).await
            }
            Source::Reader(mut reader) => {
                let progress = ProgressTracker::new(ctx.config.progress.clone(), None);
                progress.start();
                let part_size = ctx.config.effective_part_size(None)?;
                // Read up to the threshold to choose between one PutObject and a multipart upload.
                let first_len = usize::try_from(threshold.max(1)).unwrap_or(usize::MAX);
                let first = read_full(&mut reader, first_len).await?;
                if (first.len() as u64) < threshold {
                    progress.set_total(first.len() as u64);
                    return ctx.put(Body::Bytes(first), &progress).await;
                }
                let parts = PartSource::Reader { reader, pending: first, eof: false };
                ctx.multipart(parts, part_size, &progress).await
            }
        }
    }
}

/// Reads until `limit` bytes or the end of the stream.
async fn read_full(reader: &mut (dyn AsyncRead + Send + Unpin), limit: usize) -> Result<Bytes, TransferError> {
    let mut buf = BytesMut::with_capacity(limit.min(64 * MIB as usize));
    while buf.len() < limit {
        let want = (limit - buf.len()).min(1 << 20);
        let n = (&mut *reader)
            .take(want as u64)
            .read_buf(&mut buf)
            .await
            .map_err(|e| TransferError::io("reading the upload source", e))?;
        if n == 0 {
            break;
        }
    }
    Ok(buf.freeze())
}

enum PartSource {
    File { path: PathBuf, offset: u64, size: u64 },
    Bytes(Bytes),
    Reader { reader: Box<dyn AsyncRead + Send + Unpin>, pending: Bytes, eof: bool },
}

impl PartSource {
    /// The next part's body, or `None` at the end.
    async fn next_part(&mut self, part_size: u64) -> Result<Option<Body>, TransferError> {
        let ps = usize::try_from(part_size).unwrap_or(usize::MAX);
        match self {
            PartSource::File { path, offset, size } => {
                if *offset >= *size {
                    return Ok(None);
                }
                let len = part_size.min(*size - *offset);
                let region = FileRegion::new(path.clone(), *offset, len);
                *offset += len;
                Ok(Some(Body::File(region)))
            }
            PartSource::Bytes(data) => {
                if data.is_empty() {
                    return Ok(None);
                }
                let n = ps.min(data.len());
                Ok(Some(Body::Bytes(data.split_to(n))))
            }
            PartSource::Reader { reader, pending, eof } => {
                if pending.len() >= ps || (*eof && !pending.is_empty()) {
                    let n = ps.min(pending.len());
                    return Ok(Some(Body::Bytes(pending.split_to(n))));
                }
                if *eof {
                    return Ok(None);
                }
                let rest = std::mem::take(pending);
                let more = read_full(reader.as_mut(), ps - rest.len()).await?;
                if more.len() < ps - rest.len() {
                    *eof = true;
                }
                let part = if rest.is_empty() {
                    more
                } else {
                    let mut b = BytesMut::with_capacity(rest.len() + more.len());
                    b.extend_from_slice(&rest);
                    b.extend_from_slice(&more);
                    b.freeze()
                };
                Ok((!part.is_empty()).then(|| Body::Bytes(part)))
            }
        }
    }
}

struct UploadCtx {
    client: Client,
    config: TransferConfig,
    bucket: String,
    key: String,
    attrs: ObjectAttributes,
    condition: Option<WriteCondition>,
}

/// Aborts a multipart upload if the transfer is dropped before it finished (cancellation):
/// the abort runs on the current Tokio runtime.
struct AbortOnDrop {
    armed: Option<(Client, String, String, String)>,
}

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        if let Some((client, bucket, key, upload_id)) = self.armed.take()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            handle.spawn(async move {
                if let Err(e) = client.abort_multipart_upload(&bucket, &key, &upload_id).send().await {
                    tracing::warn!(%bucket, %key, %upload_id, error = %e, "could not abort a cancelled multipart upload");
                }
            });
        }
    }
}

impl UploadCtx {
    async fn put(&self, body: Body, progress: &ProgressTracker) -> Result<UploadOutput, TransferError> {
        let size = body.len();
        let mut put = with_attributes!(self.client.put_object(&self.bucket, &self.key), &self.attrs).body(body);
        put = match &self.condition {
            None => put,
            Some(WriteCondition::NoneMatchAny) => put.if_none_match_any(),
            Some(WriteCondition::Match(etag)) => put.if_match(etag.clone()),
        };
        let out = put.send().await?;
        progress.add(size);
        Ok(UploadOutput { e_tag: out.e_tag, version_id: out.version_id, size, parts: 0 })
    }

    async fn multipart(
        &self,
        mut parts: PartSource,
        part_size: u64,
        progress: &ProgressTracker,
    ) -> Result<UploadOutput, TransferError> {
        let mut create = with_attributes!(self.client.create_multipart_upload(&self.bucket, &self.key), &self.attrs);
        if self.client.checksum_mode().sends_on_upload() {
            create = create.checksum_algorithm(ChecksumAlgorithm::Crc32c);
        }
        let upload_id = create.send().await?.upload_id;
        let mut guard = AbortOnDrop {
            armed: Some((self.client.clone(), self.bucket.clone(), self.key.clone(), upload_id.clone())),
        };
        let result = self.upload_parts(&mut parts, part_size, &upload_id, progress).await;
        let result = match result {
            Ok((completed, size)) => {
                let n = completed.len() as u32;
                let mut complete =
                    self.client.complete_multipart_upload(&self.bucket, &self.key, &upload_id).parts(completed);
                complete = match &self.condition {
                    None => complete,
                    Some(WriteCondition::NoneMatchAny) => complete.if_none_match_any(),
                    Some(WriteCondition::Match(etag)) => complete.if_match(etag.clone()),
                };
                complete
                    .send()
                    .await
                    .map(|out| UploadOutput { e_tag: out.e_tag, version_id: out.version_id, size, parts: n })
                    .map_err(TransferError::from)
            }
            Err(e) => Err(e),
        };
        guard.armed = None;
        if result.is_err() {
            // No orphaned parts: abort (the in-flight parts were dropped before this point).
            if let Err(e) = self.client.abort_multipart_upload(&self.bucket, &self.key, &upload_id).send().await
                && !matches!(e, S3Error::NoSuchUpload(_))
            {
                tracing::warn!(bucket = %self.bucket, key = %self.key, %upload_id, error = %e,
                    "could not abort the failed multipart upload");
            }
        }
        result
    }

    async fn upload_parts(
        &self,
        parts: &mut PartSource,
        part_size: u64,
        upload_id: &str,
        progress: &ProgressTracker,
    ) -> Result<(Vec<CompletedPart>, u64), TransferError> {
        let concurrency = self.config.parts_in_flight();
        let mut in_flight = FuturesUnordered::new();
        let mut completed = Vec::new();
        let mut size = 0u64;
        let mut number = 0u32;
        loop {
            while in_flight.len() >= concurrency {
                if let Some(done) = in_flight.next().await {
                    completed.push(done?);
                }
            }
            // Keep the parts in flight moving while the next one is read.
            let next = {
                let read = parts.next_part(part_size);
                futures::pin_mut!(read);
                loop {
                    if in_flight.is_empty() {
                        break read.await;
                    }
                    match futures::future::select(read.as_mut(), in_flight.next()).await {
                        Either::Left((r, _)) => break r,
                        Either::Right((Some(done), _)) => completed.push(done?),
                        Either::Right((None, _)) => {}
                    }
                }
            }?;
            let Some(body) = next else { break };
            number += 1;
            if number > MAX_PART_NUMBER {
                return Err(TransferError::TooLarge { size: size + body.len() });
            }
            let len = body.len();
            size += len;
            let n = number;
            let request = self.client.upload_part(&self.bucket, &self.key, upload_id, n).body(body);
            in_flight.push(async move {
                let out = request.send().await?;
                progress.add(len);
                Ok::<_, TransferError>(out.completed_part(n))
            });
        }
        while let Some(done) = in_flight.next().await {
            completed.push(done?);
        }
        if completed.is_empty() {
            // An empty reader that hit the threshold of 0: S3 needs at least one part.
            let out = self.client.upload_part(&self.bucket, &self.key, upload_id, 1).body(Bytes::new()).send().await?;
            completed.push(out.completed_part(1));
        }
        progress.set_total(size);
        Ok((completed, size))
    }
}

// ---------------------------------------------------------------------------------------------
// Downloads

/// A managed download; see [`TransferManager::download`].
#[derive(Debug)]
#[must_use = "finish with .to_file(), .to_bytes() or .to_writer()"]
pub struct Download {
    client: Client,
    config: TransferConfig,
    bucket: String,
    key: String,
    version_id: Option<String>,
}

/// What a managed download returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadOutput {
    /// The object's metadata (from the first GET; `content_length` is the object's size).
    pub metadata: ObjectMetadata,
    /// Bytes downloaded (the object's size).
    pub size: u64,
    /// How many GET requests fetched it (1 below the threshold).
    pub parts: u32,
}

/// The first GET of a download.
struct FirstPart {
    metadata: ObjectMetadata,
    body: ByteStream,
    size: u64,
    /// The bytes the first body carries.
    first_len: u64,
    e_tag: Option<String>,
}

/// A byte range `[start, end)` of the object.
#[derive(Clone, Copy, Debug)]
struct Span {
    start: u64,
    end: u64,
}

/// Where the chunks of one part go.
enum PartSink<'a, W: ?Sized> {
    /// A file, written at the chunks' offsets in blocks of up to [`FILE_WRITE_BUFFER`] bytes
    /// (blocking writes of the buffer itself, on Tokio's blocking pool: no second copy).
    File { file: Option<std::fs::File>, path: &'a Path, buf: BytesMut, buf_at: u64 },
    /// A buffer (parts that wait for their turn to be written in order).
    Memory(BytesMut),
    /// The destination writer itself (the first part, in order).
    Writer(&'a mut W),
}

impl<W: AsyncWrite + Unpin + ?Sized> PartSink<'_, W> {
    async fn put(&mut self, at: u64, chunk: &[u8]) -> Result<(), TransferError> {
        match self {
            PartSink::File { buf, buf_at, .. } => {
                let contiguous = *buf_at + buf.len() as u64 == at;
                if !buf.is_empty() && (!contiguous || buf.len() + chunk.len() > FILE_WRITE_BUFFER) {
                    self.flush_file().await?;
                }
                if let PartSink::File { buf, buf_at, .. } = self {
                    if buf.is_empty() {
                        *buf_at = at;
                        buf.reserve(FILE_WRITE_BUFFER.max(chunk.len()));
                    }
                    buf.extend_from_slice(chunk);
                }
                Ok(())
            }
            PartSink::Memory(buf) => {
                buf.extend_from_slice(chunk);
                Ok(())
            }
            PartSink::Writer(w) => w.write_all(chunk).await.map_err(|e| TransferError::io("writing the download", e)),
        }
    }
}

impl<W: ?Sized> PartSink<'_, W> {
    /// Writes out what a file sink buffered.
    async fn flush_file(&mut self) -> Result<(), TransferError> {
        if let PartSink::File { file, path, buf, buf_at } = self
            && !buf.is_empty()
        {
            let io = |e| TransferError::io(format!("writing {}", path.display()), e);
            let Some(mut f) = file.take() else {
                return Err(io(std::io::Error::other("the file was lost by an earlier failed write")));
            };
            let data = buf.split().freeze();
            let at = *buf_at;
            let (f, result) = blocking::run(move || {
                use std::io::{Seek, Write};
                let result = f.seek(std::io::SeekFrom::Start(at)).and_then(|_| f.write_all(&data));
                (f, result)
            })
            .await
            .map_err(io)?;
            result.map_err(io)?;
            *file = Some(f);
            *buf_at = at + buf.len() as u64;
        }
        Ok(())
    }
}

/// Downloads to a file are written in blocks of up to this size (fewer, larger writes).
const FILE_WRITE_BUFFER: usize = 1024 * 1024;

/// A body error as a transfer error (a checksum mismatch stays typed).
fn body_error(e: cloudkit_core::TransportError) -> TransferError {
    if let Some(m) = std::error::Error::source(&e).and_then(|s| s.downcast_ref::<ChecksumMismatchError>()) {
        return TransferError::S3(S3Error::ChecksumMismatch {
            operation: "GetObject",
            algorithm: m.algorithm,
            expected: m.expected.clone(),
            actual: m.actual.clone(),
        });
    }
    TransferError::S3(S3Error::Other(
        cloudkit_core::Error::new(cloudkit_core::ErrorKind::Transport, "S3", "GetObject")
            .with_source(e)
            .with_retryable(true),
    ))
}

impl Download {
    /// Downloads a specific version.
    pub fn version_id(mut self, version_id: impl Into<String>) -> Self {
        self.version_id = Some(version_id.into());
        self
    }

    /// A progress callback for this transfer only (instead of the config's).
    pub fn on_progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.config.progress = Some(Arc::new(callback));
        self
    }

    fn part_size(&self) -> u64 {
        self.config.part_size.max(MIN_PART_SIZE)
    }

    fn get(&self) -> crate::object::GetObject {
        let mut g = self.client.get_object(&self.bucket, &self.key);
        if let Some(v) = &self.version_id {
            g = g.version_id(v.clone());
        }
        g
    }

    /// The first GET: the first part (or the whole object, up to the threshold).
    async fn first_part(&self) -> Result<FirstPart, TransferError> {
        let first_span = self.config.multipart_threshold.max(1);
        let out = match self.get().range(0..=first_span - 1).send().await {
            Ok(out) => out,
            // An empty object has no byte 0.
            Err(S3Error::InvalidRange(_)) => self.get().send().await?,
            Err(e) => return Err(e.into()),
        };
        let ranged = out.metadata.content_range.is_some();
        let size = out.metadata.object_size().or(out.metadata.content_length).unwrap_or(0);
        let first_len = if ranged { out.metadata.content_length.unwrap_or(size.min(first_span)) } else { size };
        let e_tag = out.metadata.e_tag.clone();
        Ok(FirstPart { metadata: out.metadata, body: out.body, size, first_len, e_tag })
    }

    /// Every span: the first one (served by the first GET) and the rest, `part_size` each.
    fn spans(&self, first: &FirstPart) -> Vec<Span> {
        let ps = self.part_size();
        let mut spans = vec![Span { start: 0, end: first.first_len }];
        let mut start = first.first_len;
        while start < first.size {
            let end = (start + ps).min(first.size);
            spans.push(Span { start, end });
            start = end;
        }
        spans
    }

    fn changed(&self, e_tag: &str) -> TransferError {
        TransferError::ObjectChanged { bucket: self.bucket.clone(), key: self.key.clone(), e_tag: e_tag.to_owned() }
    }

    /// A ranged GET of `span` with `If-Match` on the ETag.
    async fn open(&self, span: Span, e_tag: Option<&str>) -> Result<ByteStream, TransferError> {
        let mut g = self.get().range(span.start..=span.end - 1);
        if let Some(t) = e_tag {
            g = g.if_match(t.to_owned());
        }
        let out = match g.send().await {
            Ok(out) => out,
            Err(S3Error::PreconditionFailed(_)) => return Err(self.changed(e_tag.unwrap_or_default())),
            Err(e) => return Err(e.into()),
        };
        if let (Some(expected), Some(got)) = (e_tag, out.metadata.e_tag.as_deref())
            && expected != got
        {
            return Err(self.changed(expected));
        }
        Ok(out.body)
    }

    /// Fetches one span into `sink`. A body that breaks off is resumed from where it stopped
    /// (up to 3 attempts, each a ranged GET with `If-Match`).
    async fn fetch<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        span: Span,
        mut initial: Option<ByteStream>,
        e_tag: Option<&str>,
        progress: &ProgressTracker,
        sink: &mut PartSink<'_, W>,
    ) -> Result<(), TransferError> {
        let want = span.end - span.start;
        let mut got = 0u64;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut body = match initial.take() {
                Some(b) => b,
                None if got >= want => return Ok(()),
                None => self.open(Span { start: span.start + got, end: span.end }, e_tag).await?,
            };
            let mut failure = None;
            while let Some(chunk) = body.next().await {
                match chunk {
                    Ok(chunk) => {
                        let len = chunk.len() as u64;
                        if got + len > want {
                            return Err(self.size_mismatch(span, got + len));
                        }
                        sink.put(span.start + got, &chunk).await?;
                        got += len;
                        progress.add(len);
                    }
                    Err(e) => {
                        failure = Some(e);
                        break;
                    }
                }
            }
            match failure {
                None if got == want => return Ok(()),
                None => return Err(self.size_mismatch(span, got)),
                Some(e) if attempt < PART_BODY_ATTEMPTS && want > 0 => {
                    tracing::debug!(bucket = %self.bucket, key = %self.key, start = span.start + got, error = %e,
                        "the body of a GET broke off; resuming with a ranged GET");
                }
                Some(e) => return Err(body_error(e)),
            }
        }
    }

    fn size_mismatch(&self, span: Span, received: u64) -> TransferError {
        TransferError::SizeMismatch {
            bucket: self.bucket.clone(),
            key: self.key.clone(),
            start: span.start,
            end: span.end,
            received,
        }
    }

    fn output(metadata: ObjectMetadata, size: u64, parts: usize) -> DownloadOutput {
        let mut metadata = metadata;
        metadata.content_length = Some(size);
        metadata.content_range = None;
        DownloadOutput { metadata, size, parts: u32::try_from(parts).unwrap_or(u32::MAX) }
    }

    /// Downloads into the file at `path`: the parts are written at their offsets into a
    /// temporary file next to it (`concurrency` ranged GETs at a time; memory does not depend
    /// on the object's size), which is renamed to `path` once everything arrived. On failure
    /// the temporary file is removed and `path` is left untouched.
    pub async fn to_file(self, path: impl AsRef<Path>) -> Result<DownloadOutput, TransferError> {
        let path = path.as_ref();
        let temp = temp_path(path);
        match self.to_temp_file(&temp).await {
            Ok(out) => match blocking::rename(&temp, path).await {
                Ok(()) => Ok(out),
                Err(e) => {
                    let _ = blocking::remove_file(&temp).await;
                    Err(TransferError::io(format!("renaming {} to {}", temp.display(), path.display()), e))
                }
            },
            Err(e) => {
                let _ = blocking::remove_file(&temp).await;
                Err(e)
            }
        }
    }

    async fn to_temp_file(&self, temp: &Path) -> Result<DownloadOutput, TransferError> {
        let first = self.first_part().await?;
        let progress = ProgressTracker::new(self.config.progress.clone(), Some(first.size));
        progress.start();
        let (target, size) = (temp.to_owned(), first.size);
        blocking::run(move || {
            let file = std::fs::File::create(target).map_err(|e| ("creating", e))?;
            file.set_len(size).map_err(|e| ("sizing", e))
        })
        .await
        .map_err(|e| TransferError::io(format!("creating {}", temp.display()), e))?
        .map_err(|(what, e)| TransferError::io(format!("{what} {}", temp.display()), e))?;
        let spans = self.spans(&first);
        let FirstPart { metadata, body, size, e_tag, .. } = first;
        let e_tag = e_tag.as_deref();
        let mut initial = Some(body);
        let progress = &progress;
        let parts = spans.iter().map(|span| (*span, initial.take()));
        futures::stream::iter(parts)
            .map(|(span, initial)| async move {
                let io = |e| TransferError::io(format!("writing {}", temp.display()), e);
                let target = temp.to_owned();
                let file =
                    blocking::run_io(move || std::fs::OpenOptions::new().write(true).open(target)).await.map_err(io)?;
                let mut sink: PartSink<'_, tokio::io::Sink> =
                    PartSink::File { file: Some(file), path: temp, buf: BytesMut::new(), buf_at: span.start };
                self.fetch(span, initial, e_tag, progress, &mut sink).await?;
                sink.flush_file().await
            })
            .buffer_unordered(self.config.parts_in_flight())
            .try_collect::<()>()
            .await?;
        let target = temp.to_owned();
        blocking::run_io(move || std::fs::OpenOptions::new().write(true).open(target)?.sync_all())
            .await
            .map_err(|e| TransferError::io(format!("syncing {}", temp.display()), e))?;
        Ok(Self::output(metadata, size, spans.len()))
    }

    /// Downloads into memory (parallel ranged GETs above the threshold).
    pub async fn to_bytes(self) -> Result<Bytes, TransferError> {
        let mut out = Vec::new();
        self.to_writer(&mut out).await?;
        Ok(Bytes::from(out))
    }

    /// Downloads into `writer`, in order. An object up to the threshold streams straight into
    /// the writer; a larger one is fetched by `concurrency` ranged GETs running ahead of the
    /// writer, so at most `concurrency` parts (plus the one being written) are held in memory.
    /// The writer is flushed at the end.
    pub async fn to_writer<W>(self, writer: &mut W) -> Result<DownloadOutput, TransferError>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let first = self.first_part().await?;
        let progress = ProgressTracker::new(self.config.progress.clone(), Some(first.size));
        progress.start();
        let spans = self.spans(&first);
        let FirstPart { metadata, body, size, e_tag, .. } = first;
        let e_tag = e_tag.as_deref();
        let progress = &progress;
        if spans.len() == 1 {
            // One GET: stream straight into the writer.
            let mut sink = PartSink::Writer(&mut *writer);
            self.fetch(spans[0], Some(body), e_tag, progress, &mut sink).await?;
        } else {
            let this = &self;
            let mut initial = Some(body);
            let parts = spans.iter().map(|span| (*span, initial.take()));
            let mut parts = futures::stream::iter(parts)
                .map(|(span, initial)| async move {
                    let capacity = usize::try_from(span.end - span.start).unwrap_or(0);
                    let mut sink: PartSink<'_, tokio::io::Sink> = PartSink::Memory(BytesMut::with_capacity(capacity));
                    this.fetch(span, initial, e_tag, progress, &mut sink).await?;
                    match sink {
                        PartSink::Memory(buf) => Ok::<_, TransferError>(buf.freeze()),
                        _ => Ok(Bytes::new()),
                    }
                })
                .buffered(self.config.parts_in_flight());
            while let Some(part) = parts.try_next().await? {
                writer.write_all(&part).await.map_err(|e| TransferError::io("writing the download", e))?;
            }
        }
        writer.flush().await.map_err(|e| TransferError::io("writing the download", e))?;
        Ok(Self::output(metadata, size, spans.len()))
    }
}

/// A temporary name next to `path` (same directory, so the final rename is atomic).
fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let name = path.file_name().map_or_else(|| "download".into(), |n| n.to_string_lossy().into_owned());
    let unique =
        format!(".{name}.{}-{nanos:x}-{}.cloudkit-part", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
    path.with_file_name(unique)
}

#[cfg(test)]
#[path = "transfer_tests.rs"]
mod tests;
