//! Managed uploads: one PutObject below the threshold, else a multipart upload with
//! `concurrency` parts in flight, aborted on failure or cancellation.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use cloudkit_core::{Body, FileRegion, Progress, ProgressTracker, internal::blocking};
use futures::future::Either;
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt};

use super::{MIB, TransferConfig, TransferError};
use crate::checksum::{ChecksumAlgorithm, ChecksumType, PART_SIZE_METADATA, combine_crc, crc_base64};
use crate::client::S3Client;
use crate::error::S3Error;
use crate::multipart::{CompletedPart, MAX_PART_NUMBER};
use crate::object::{attribute_setters, write_condition_setters};
use crate::types::{Conditions, MAX_USER_METADATA_BYTES, ObjectAttributes};

/// The checksum of managed multipart uploads: a full-object CRC32 (`x-amz-checksum-type:
/// FULL_OBJECT`). CRC32 rather than the CRC32C of single PUTs because moto (without its optional
/// `crc32c` package) computes CRC32 for a multipart upload created with CRC32C and reports it as
/// CRC32C, which would fail every good download; AWS accepts CRC32, CRC32C and CRC64NVME for
/// full-object checksums alike.
const MULTIPART_CHECKSUM: ChecksumAlgorithm = ChecksumAlgorithm::Crc32;

/// Records the part size in the upload's user metadata ([`PART_SIZE_METADATA`], replacing a value
/// the caller gave under that name), so that downloads can recompute the multipart ETag where
/// the store keeps no checksum. Left out when it would take the metadata over S3's 2 KiB.
fn record_part_size(metadata: &mut Vec<(String, String)>, part_size: u64) {
    metadata.retain(|(name, _)| !name.eq_ignore_ascii_case(PART_SIZE_METADATA));
    let value = part_size.to_string();
    let total: usize = metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    if total + PART_SIZE_METADATA.len() + value.len() <= MAX_USER_METADATA_BYTES {
        metadata.push((PART_SIZE_METADATA.to_owned(), value));
    }
}

/// The full-object CRC of the parts (sorted, with their lengths), combined from their own CRCs;
/// `None` if a part has none of [`MULTIPART_CHECKSUM`]'s.
fn full_object_crc(parts: &[(CompletedPart, u64)]) -> Option<String> {
    use base64::Engine as _;
    let mut combined: Option<u64> = None;
    for (part, len) in parts {
        let (algorithm, value) = part.checksum.as_ref()?;
        if *algorithm != MULTIPART_CHECKSUM {
            return None;
        }
        let bytes = base64::engine::general_purpose::STANDARD.decode(value).ok()?;
        let crc = u64::from(u32::from_be_bytes(bytes.try_into().ok()?));
        combined = Some(match combined {
            None => crc,
            Some(c) => combine_crc(MULTIPART_CHECKSUM, c, crc, *len)?,
        });
    }
    combined.map(|c| crc_base64(MULTIPART_CHECKSUM, c))
}

pub(super) enum Source {
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

/// A managed upload; see [`TransferManager::upload_file`](crate::TransferManager::upload_file).
/// Takes the same object attributes as [`S3Client::put_object`] (content type, metadata, storage
/// class, tags, encryption …) and the same conditions (a multipart upload whose condition fails
/// at completion is aborted).
///
/// A multipart upload also gets a full-object CRC32 (unless
/// [`ChecksumMode::Off`](crate::ChecksumMode::Off)) and the part size in its metadata
/// ([`PART_SIZE_METADATA`](crate::PART_SIZE_METADATA), replacing a caller's value under that
/// name; left out if it would take the metadata over 2 KiB), so that downloads can be verified on
/// every store (see the crate docs).
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct Upload {
    client: S3Client,
    config: TransferConfig,
    bucket: String,
    key: String,
    source: Source,
    attrs: ObjectAttributes,
    /// Applied to the PutObject or to the CompleteMultipartUpload that makes the upload visible.
    conditions: Conditions,
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

impl Upload {
    pub(super) fn new(client: S3Client, config: TransferConfig, bucket: String, key: String, source: Source) -> Self {
        Upload {
            client,
            config,
            bucket,
            key,
            source,
            attrs: ObjectAttributes::default(),
            conditions: Conditions::default(),
        }
    }

    attribute_setters!();

    /// A progress callback for this transfer only (instead of the config's).
    pub fn on_progress(mut self, callback: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        self.config.progress = Some(Arc::new(callback));
        self
    }

    write_condition_setters!();

    /// Runs the upload.
    pub async fn send(self) -> Result<UploadOutput, TransferError> {
        let Upload { client, config, bucket, key, source, attrs, conditions } = self;
        let threshold = config.multipart_threshold;
        let ctx = UploadCtx { client, config, bucket, key, attrs, conditions };
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
    client: S3Client,
    config: TransferConfig,
    bucket: String,
    key: String,
    attrs: ObjectAttributes,
    conditions: Conditions,
}

impl UploadCtx {
    async fn put(&self, body: Body, progress: &ProgressTracker) -> Result<UploadOutput, TransferError> {
        let size = body.len();
        let mut put = self.client.put_object(&self.bucket, &self.key).body(body);
        put.attrs = self.attrs.clone();
        put.conditions = self.conditions.clone();
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
        let mut create = self.client.create_multipart_upload(&self.bucket, &self.key);
        create.attrs = self.attrs.clone();
        record_part_size(&mut create.attrs.metadata, part_size);
        // Unless checksums are off, every part carries a CRC32 (every part is replayable) and the
        // object gets a full-object CRC32, combined from the parts' and sent with the completion:
        // the checksum later downloads verify, over any byte ranges.
        let checksums = self.client.checksum_mode() != crate::ChecksumMode::Off;
        if checksums {
            create = create.checksum_algorithm(MULTIPART_CHECKSUM).checksum_type(ChecksumType::FullObject);
        }
        let upload_id = create.send().await?.upload_id;
        // Dropped before the end (cancelled): the upload is aborted in the background.
        let (client, bucket, key, id) = (self.client.clone(), self.bucket.clone(), self.key.clone(), upload_id.clone());
        let guard = cloudkit_core::CleanupOnDrop::new(move || async move {
            if let Err(e) = client.abort_multipart_upload(&bucket, &key, &id).send().await {
                tracing::warn!(%bucket, %key, upload_id = %id, error = %e, "could not abort a cancelled multipart upload");
            }
        });
        let result = self.upload_parts(&mut parts, part_size, &upload_id, checksums, progress).await;
        let result = match result {
            Ok((mut completed, size)) => {
                completed.sort_by_key(|(p, _)| p.part_number);
                let n = completed.len() as u32;
                let full = if checksums { full_object_crc(&completed) } else { None };
                let mut complete = self
                    .client
                    .complete_multipart_upload(&self.bucket, &self.key, &upload_id)
                    .parts(completed.into_iter().map(|(p, _)| p));
                if let Some(value) = full {
                    complete = complete.full_object_checksum(MULTIPART_CHECKSUM, value);
                }
                complete.conditions = self.conditions.clone();
                complete
                    .send()
                    .await
                    .map(|out| UploadOutput { e_tag: out.e_tag, version_id: out.version_id, size, parts: n })
                    .map_err(TransferError::from)
            }
            Err(e) => Err(e),
        };
        guard.disarm();
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
        checksums: bool,
        progress: &ProgressTracker,
    ) -> Result<(Vec<(CompletedPart, u64)>, u64), TransferError> {
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
            let mut request = self.client.upload_part(&self.bucket, &self.key, upload_id, n).body(body);
            if checksums {
                request = request.checksum_algorithm(MULTIPART_CHECKSUM);
            }
            in_flight.push(async move {
                let out = request.send().await?;
                progress.add(len);
                Ok::<_, TransferError>((out.completed_part(n), len))
            });
        }
        while let Some(done) = in_flight.next().await {
            completed.push(done?);
        }
        if completed.is_empty() {
            // An empty reader that hit the threshold of 0: S3 needs at least one part.
            let mut request = self.client.upload_part(&self.bucket, &self.key, upload_id, 1).body(Bytes::new());
            if checksums {
                request = request.checksum_algorithm(MULTIPART_CHECKSUM);
            }
            let out = request.send().await?;
            completed.push((out.completed_part(1), 0));
        }
        progress.set_total(size);
        Ok((completed, size))
    }
}
