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
//! - Downloads first learn the object's size, ETag and checksum: HeadObject (with
//!   `x-amz-checksum-mode: ENABLED`) unless [`ChecksumMode::Off`](crate::ChecksumMode::Off), else
//!   a ranged GET of the first part. The sizes the service announces are checked before anything
//!   is planned from them (a `Content-Range` total must be consistent and at most 10,000 × 5 GiB).
//!   The parts are then fetched by parallel GETs carrying `If-Match: <ETag>`, so an object
//!   replaced during the download fails with [`TransferError::ObjectChanged`] instead of mixing
//!   two versions; a part whose body breaks off resumes from its last byte (see
//!   [`GetObject::send`](crate::GetObject::send)).
//! - Multipart uploads get a full-object CRC32 (`x-amz-checksum-type: FULL_OBJECT`, unless
//!   [`ChecksumMode::Off`](crate::ChecksumMode::Off)) and record their part size in the object's
//!   metadata ([`PART_SIZE_METADATA`](crate::PART_SIZE_METADATA)); see the crate docs.
//! - Verification (unless `Off`): an object stored with a full-object checksum is checked over
//!   the parts (their CRC32C / CRC32 / CRC64NVME combined, or a SHA digest in order); an object
//!   with a composite (multipart) checksum is fetched part by part (`partNumber`) and every part is
//!   checked against its own checksum. An object with no checksum (s3s-fs keeps none for
//!   multipart objects) that a `TransferManager` uploaded in parts is checked against its
//!   multipart ETag, recomputed with the recorded part size. Stores that do not serve parts with
//!   checksums (moto, MinIO) fall back to byte ranges, verified by the ETag when it can be, else
//!   unverified. Under
//!   [`ChecksumMode::Required`](crate::ChecksumMode::Required) a download nothing can be verified
//!   for fails with [`S3Error::ChecksumUnavailable`]. [`DownloadOutput::checksum_verified`] says
//!   what was verified.
//! - Files are written part by part at their offsets into a [`cloudkit_core::PartialFile`] (a
//!   temporary file with a unique name next to the target) that replaces the target only after
//!   every byte arrived and was verified; on failure, and when the download's future is dropped,
//!   the temporary file is removed and the target keeps its old content. Writers receive the
//!   parts in order: the part being written streams through, the next ones read ahead into at
//!   most 24 MiB of buffers.
//! - Progress callbacks receive [`Progress`]: the bytes done and the total (when known).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use cloudkit_core::{Progress, ProgressCallback};
use tokio::io::AsyncRead;

use crate::client::S3Client;
use crate::error::S3Error;
use crate::multipart::MAX_PART_NUMBER;

mod download;
#[cfg(test)]
mod tests;
mod upload;

pub use download::{Download, DownloadOutput};
use upload::Source;
pub use upload::{Upload, UploadOutput};

const MIB: u64 = 1024 * 1024;

/// The smallest part S3 accepts (except for the last part): 5 MiB.
pub const MIN_PART_SIZE: u64 = 5 * MIB;

/// The largest part S3 accepts: 5 GiB.
pub const MAX_PART_SIZE: u64 = 5 * 1024 * MIB;

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

    pub(crate) fn parts_in_flight(&self) -> usize {
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
///
/// `Display` is one line; [`TransferError::Io`] includes the I/O error's text, so `source()`
/// continues below it, and [`TransferError::S3`] is the S3 error's own line and chain.
#[derive(Debug)]
#[non_exhaustive]
pub enum TransferError {
    /// An S3 request failed (after the pipeline's retries). A failed multipart upload has been
    /// aborted.
    S3(S3Error),
    /// Reading the source or writing the destination failed.
    Io {
        /// What was being done (with the path, when there is one).
        context: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The object was replaced while it was being downloaded (a ranged GET with `If-Match` on
    /// the ETag of the first part failed, or answered with another ETag).
    ObjectChanged {
        /// The bucket.
        bucket: String,
        /// The key.
        key: String,
        /// The ETag the download started with.
        e_tag: String,
    },
    /// A GET answered with a different number of bytes (or another range) than it asked for.
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
    TooLarge {
        /// The size (or the bytes read so far, for a reader).
        size: u64,
    },
}

impl std::fmt::Display for TransferError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::S3(e) => e.fmt(f),
            Self::Io { context, source } => write!(f, "{context}: {source}"),
            Self::ObjectChanged { bucket, key, e_tag } => {
                write!(f, "s3://{bucket}/{key} changed during the download (it no longer has ETag {e_tag})")
            }
            Self::SizeMismatch { bucket, key, start, end, received } => {
                write!(f, "s3://{bucket}/{key}: the bytes {start}..{end} came back as {received} bytes")
            }
            Self::TooLarge { size } => {
                write!(f, "{size} bytes cannot be uploaded in at most 10,000 parts of at most 5 GiB")
            }
        }
    }
}

impl std::error::Error for TransferError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::S3(e) => std::error::Error::source(e),
            Self::Io { source, .. } => {
                cloudkit_core::unshown_source(&self.to_string(), std::error::Error::source(source))
            }
            Self::ObjectChanged { .. } | Self::SizeMismatch { .. } | Self::TooLarge { .. } => None,
        }
    }
}

impl From<S3Error> for TransferError {
    fn from(e: S3Error) -> Self {
        TransferError::S3(e)
    }
}

impl TransferError {
    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
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

/// Runs managed uploads and downloads with one [`S3Client`] and one [`TransferConfig`]. Cheap to
/// clone.
///
/// ```no_run
/// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), cloudkit_aws_s3::TransferError> {
/// use std::path::Path;
/// use cloudkit_aws_s3::{TransferConfig, TransferManager};
///
/// let transfers = TransferManager::with_config(
///     s3.clone(),
///     TransferConfig::default().with_progress(|p| eprintln!("{}/{:?}", p.transferred, p.total)),
/// );
/// // Multipart above 8 MiB, parts streamed from disk, 8 at a time; aborted on failure.
/// let up = transfers
///     .upload_file(Path::new("/tmp/db.tar"), "bucket", "backups/db.tar")
///     .content_type("application/x-tar")
///     .send()
///     .await?;
/// println!("uploaded {} bytes in {} part(s)", up.size, up.parts);
///
/// // Parallel ranged GETs, If-Match on the ETag, verified, written to a temporary file then renamed.
/// let down = transfers.download_file("bucket", "backups/db.tar", Path::new("/tmp/db-copy.tar")).await?;
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
    client: S3Client,
    config: TransferConfig,
}

impl S3Client {
    /// A [`TransferManager`] with the default [`TransferConfig`].
    pub fn transfer_manager(&self) -> TransferManager {
        TransferManager::new(self.clone())
    }

    /// Uploads the file `file` to `bucket/key` with the default [`TransferConfig`] (see
    /// [`TransferManager::upload_file`]); finish with `.send()`.
    ///
    /// boto3's `s3.upload_file(Filename, Bucket, Key)`: the file first, a [`Path`] (a swapped
    /// file name and key do not compile).
    ///
    /// ```no_run
    /// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::path::Path;
    /// // boto3: s3.upload_file("hello.txt", "my-bucket", "hello.txt")
    /// let up = s3.upload_file(Path::new("hello.txt"), "my-bucket", "hello.txt").send().await?;
    /// println!("{} bytes", up.size);
    /// # Ok(()) }
    /// ```
    ///
    /// ```compile_fail,E0308
    /// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// s3.upload_file("my-bucket", "hello.txt", "hello.txt").send().await?; // a &str file: error
    /// # Ok(()) }
    /// ```
    pub fn upload_file(&self, file: &Path, bucket: impl Into<String>, key: impl Into<String>) -> Upload {
        self.transfer_manager().upload_file(file, bucket, key)
    }

    /// Downloads `bucket/key` into the file `file` with the default [`TransferConfig`] (see
    /// [`TransferManager::download_file`]).
    ///
    /// boto3's `s3.download_file(Bucket, Key, Filename)`: the file last, a [`Path`].
    ///
    /// ```no_run
    /// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::path::Path;
    /// // boto3: s3.download_file("my-bucket", "hello.txt", "hello-copy.txt")
    /// s3.download_file("my-bucket", "hello.txt", Path::new("hello-copy.txt")).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// ```compile_fail,E0308
    /// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), Box<dyn std::error::Error>> {
    /// s3.download_file("hello-copy.txt", "my-bucket", "hello.txt").await?; // a &str file: error
    /// # Ok(()) }
    /// ```
    pub async fn download_file(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        file: &Path,
    ) -> Result<DownloadOutput, TransferError> {
        self.transfer_manager().download_file(bucket, key, file).await
    }
}

impl TransferManager {
    /// A transfer manager with the default settings.
    pub fn new(client: S3Client) -> Self {
        Self::with_config(client, TransferConfig::default())
    }

    /// A transfer manager with these settings.
    pub fn with_config(client: S3Client, config: TransferConfig) -> Self {
        Self { client, config }
    }

    /// The settings.
    pub fn config(&self) -> &TransferConfig {
        &self.config
    }

    /// The client.
    pub fn client(&self) -> &S3Client {
        &self.client
    }

    fn upload(&self, bucket: String, key: String, source: Source) -> Upload {
        Upload::new(self.client.clone(), self.config.clone(), bucket, key, source)
    }

    /// Uploads the file `file` to `bucket/key` (multipart at or above the threshold, with the
    /// parts streamed from disk).
    ///
    /// In boto3's order (`S3Transfer.upload_file(filename, bucket, key)`), the file a [`Path`] so
    /// that a file name passed where the key goes does not compile.
    ///
    /// ```compile_fail,E0308
    /// # fn demo(transfers: cloudkit_aws_s3::TransferManager) {
    /// let _ = transfers.upload_file("bucket", "key", "/tmp/file"); // a &str file: error
    /// # }
    /// ```
    pub fn upload_file(&self, file: &Path, bucket: impl Into<String>, key: impl Into<String>) -> Upload {
        self.upload(bucket.into(), key.into(), Source::File(file.to_path_buf()))
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
        Download::new(self.client.clone(), self.config.clone(), bucket.into(), key.into())
    }

    /// Downloads `bucket/key` into the file `file` (see [`Download::to_file`]), in boto3's order
    /// (`S3Transfer.download_file(bucket, key, filename)`), the file a [`Path`].
    pub async fn download_file(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        file: &Path,
    ) -> Result<DownloadOutput, TransferError> {
        self.download(bucket, key).to_file(file).await
    }
}
