//! Large transfers: parallel block upload with bounded memory, parallel ranged download.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use cloudkit_core::{Md5, ProgressCallback, ProgressTracker, RunningChecksum};
use futures::stream::{BoxStream, FuturesUnordered};
use futures::{StreamExt, TryStreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::blob::{BlobClient, Conditions, WriteResult};
use crate::error::{BlobError, Result};

/// Options of [`BlobClient::upload`].
#[derive(Clone)]
pub struct UploadOptions {
    /// Block size (default 8 MiB; at most 4000 MiB). Data up to one block goes in one Put Blob.
    pub block_size: usize,
    /// Blocks in flight at once (default 8). Memory use is at most `block_size × (concurrency + 1)`.
    pub concurrency: usize,
    /// Content type.
    pub content_type: Option<String>,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
    /// Conditions on the destination (`if_none_match: Some("*")` = create only).
    pub conditions: Conditions,
    /// Called with the bytes uploaded so far after each block (the total is known once the
    /// source has ended).
    pub progress: Option<ProgressCallback>,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            block_size: 8 * 1024 * 1024,
            concurrency: 8,
            content_type: None,
            metadata: BTreeMap::new(),
            conditions: Conditions::default(),
            progress: None,
        }
    }
}

impl std::fmt::Debug for UploadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UploadOptions")
            .field("block_size", &self.block_size)
            .field("concurrency", &self.concurrency)
            .field("content_type", &self.content_type)
            .field("conditions", &self.conditions)
            .finish_non_exhaustive()
    }
}

/// Options of the parallel downloads.
#[derive(Clone)]
pub struct DownloadOptions {
    /// Size of each ranged GET (default 8 MiB).
    pub chunk_size: u64,
    /// Ranged GETs in flight (default 8). Memory use is at most `chunk_size × concurrency`.
    pub concurrency: usize,
    /// Verify the whole-blob Content-MD5 when the blob has one (default true).
    pub verify_md5: bool,
    /// Called with the bytes downloaded so far (and the blob's size) after each range.
    pub progress: Option<ProgressCallback>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self { chunk_size: 8 * 1024 * 1024, concurrency: 8, verify_md5: true, progress: None }
    }
}

impl std::fmt::Debug for DownloadOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("chunk_size", &self.chunk_size)
            .field("concurrency", &self.concurrency)
            .field("verify_md5", &self.verify_md5)
            .finish_non_exhaustive()
    }
}

/// A stream of chunks to upload.
pub type UploadStream = BoxStream<'static, std::io::Result<Bytes>>;

fn io_error(op: &'static str, e: std::io::Error) -> BlobError {
    BlobError::Other(
        cloudkit_core::Error::new(cloudkit_core::ErrorKind::InvalidInput, crate::SERVICE, op)
            .with_message(format!("reading the upload source failed: {e}"))
            .with_source(e),
    )
}

async fn next_block(source: &mut UploadStream, pending: &mut BytesMut, size: usize) -> Result<Option<Bytes>> {
    while pending.len() < size {
        match source.next().await {
            Some(chunk) => pending.extend_from_slice(&chunk.map_err(|e| io_error("Upload", e))?),
            None => break,
        }
    }
    if pending.is_empty() {
        return Ok(None);
    }
    let take = pending.len().min(size);
    Ok(Some(pending.split_to(take).freeze()))
}

/// Block ids: 32 bytes, the same length for every block of a blob (Azure requires it).
fn block_id(upload: u64, index: u64) -> Vec<u8> {
    format!("ck{upload:016x}{index:014}").into_bytes()
}

impl BlobClient {
    /// Uploads a stream of any size: one Put Blob when it fits in one block, else Put Block in
    /// parallel (`concurrency` at a time, each with a Content-MD5 the service verifies) and Put
    /// Block List with the whole blob's MD5. Memory is bounded by `block_size × (concurrency+1)`.
    /// Nothing is committed if the source or a block fails (uncommitted blocks expire on their own).
    pub async fn upload(&self, mut source: UploadStream, options: UploadOptions) -> Result<WriteResult> {
        let size = options.block_size.clamp(1, 4000 * 1024 * 1024);
        let concurrency = options.concurrency.max(1);
        let mut pending = BytesMut::new();
        let mut whole_md5 = Md5::default();
        let progress = Arc::new(ProgressTracker::new(options.progress.clone(), None));
        progress.start();
        let first = next_block(&mut source, &mut pending, size).await?.unwrap_or_default();
        let second = if first.len() == size { next_block(&mut source, &mut pending, size).await? } else { None };
        let Some(second) = second else {
            // Small: one request.
            let len = first.len() as u64;
            let mut put = self.put(first).conditions(options.conditions.clone()).metadata_map(options.metadata.clone());
            if let Some(ct) = &options.content_type {
                put = put.content_type(ct.clone());
            }
            let r = put.send().await?;
            progress.set_total(len);
            progress.add(len);
            return Ok(r);
        };
        let upload_id = fastrand_u64();
        let mut ids = Vec::new();
        let mut in_flight = FuturesUnordered::new();
        let mut next = Some(first);
        let mut queued = Some(second);
        let mut index = 0u64;
        let mut total = 0u64;
        loop {
            while in_flight.len() < concurrency {
                let Some(block) = next.take() else { break };
                whole_md5.update(&block);
                total += block.len() as u64;
                let id = block_id(upload_id, index);
                index += 1;
                ids.push(id.clone());
                let this = self.clone();
                let tracker = progress.clone();
                in_flight.push(async move {
                    let len = block.len() as u64;
                    this.put_block(&id, block).await?;
                    tracker.add(len);
                    Ok::<(), BlobError>(())
                });
                next = match queued.take() {
                    Some(q) => Some(q),
                    None => next_block(&mut source, &mut pending, size).await?,
                };
                if next.is_none() {
                    progress.set_total(total);
                }
            }
            match in_flight.next().await {
                Some(r) => r?,
                None => break,
            }
        }
        let md5 = whole_md5.finish_base64();
        let mut commit = self
            .put_block_list(ids)
            .conditions(options.conditions.clone())
            .metadata_map(options.metadata.clone())
            .blob_content_md5(md5);
        if let Some(ct) = &options.content_type {
            commit = commit.content_type(ct.clone());
        }
        commit.send().await
    }

    /// Uploads in-memory bytes (blocks when larger than one block).
    pub async fn upload_bytes(&self, data: Bytes, options: UploadOptions) -> Result<WriteResult> {
        let stream: UploadStream = futures::stream::iter([Ok(data)]).boxed();
        self.upload(stream, options).await
    }

    /// Uploads from any reader.
    pub async fn upload_reader<R: AsyncRead + Send + Unpin + 'static>(
        &self,
        reader: R,
        options: UploadOptions,
    ) -> Result<WriteResult> {
        self.upload(cloudkit_core::read_chunks(reader, 256 * 1024), options).await
    }

    /// Uploads a file.
    pub async fn upload_file(&self, path: impl AsRef<Path>, options: UploadOptions) -> Result<WriteResult> {
        let file = tokio::fs::File::open(path.as_ref()).await.map_err(|e| io_error("UploadFile", e))?;
        self.upload_reader(file, options).await
    }

    /// Downloads into `writer` with parallel ranged GETs (pinned to the blob's entity tag, so a
    /// concurrent overwrite fails the download instead of mixing versions), verifying the
    /// blob's Content-MD5 when present. Returns the number of bytes.
    pub async fn download_to_writer<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        options: DownloadOptions,
    ) -> Result<u64> {
        let props = self.get_properties().await?;
        let total = props.size;
        let chunk = options.chunk_size.max(1);
        let etag = props.etag.clone();
        let ranges: Vec<(u64, u64)> =
            (0..total.div_ceil(chunk)).map(|i| (i * chunk, ((i + 1) * chunk).min(total) - 1)).collect();
        let mut md5 = Md5::default();
        let progress = ProgressTracker::new(options.progress.clone(), Some(total));
        progress.start();
        let mut parts = futures::stream::iter(ranges)
            .map(|(a, b)| {
                let this = self.clone();
                let etag = etag.clone();
                async move {
                    let mut req = this.get().range(a..=b);
                    if let Some(e) = etag {
                        req = req.if_match(e);
                    }
                    req.send().await?.bytes().await
                }
            })
            .buffered(options.concurrency.max(1));
        while let Some(part) = parts.try_next().await? {
            md5.update(&part);
            writer.write_all(&part).await.map_err(|e| io_error("Download", e))?;
            progress.add(part.len() as u64);
        }
        writer.flush().await.map_err(|e| io_error("Download", e))?;
        if options.verify_md5
            && let Some(expected) = props.content_md5
        {
            let actual = md5.finish_base64();
            if actual != expected {
                return Err(BlobError::ChecksumMismatch { operation: "Download", expected, actual });
            }
        }
        Ok(progress.transferred())
    }

    /// Downloads into memory.
    pub async fn download_to_bytes(&self, options: DownloadOptions) -> Result<Bytes> {
        let mut out: Vec<u8> = Vec::new();
        self.download_to_writer(&mut out, options).await?;
        Ok(Bytes::from(out))
    }

    /// Downloads into a file (created or truncated).
    pub async fn download_to_file(&self, path: impl AsRef<Path>, options: DownloadOptions) -> Result<u64> {
        let file = tokio::fs::File::create(path.as_ref()).await.map_err(|e| io_error("DownloadFile", e))?;
        let mut w = tokio::io::BufWriter::new(file);
        self.download_to_writer(&mut w, options).await
    }
}

fn fastrand_u64() -> u64 {
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    (t as u64) ^ (std::process::id() as u64).rotate_left(32)
}
