//! Large transfers: parallel block upload with bounded memory, parallel ranged download.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use cloudkit_core::internal::{blocking, task};
use cloudkit_core::{ErrorKind, Md5, PartialFile, ProgressCallback, ProgressTracker, RunningChecksum};
use futures::StreamExt;
use futures::stream::{BoxStream, FuturesUnordered};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::blob::{BlobClient, Conditions, DeleteSnapshots, MAX_RANGE_MD5, WriteResult};
use crate::error::{BlobError, Result};
use crate::model::BlockListType;

/// Options of [`BlobClient::upload`].
#[derive(Clone)]
pub struct UploadOptions {
    /// Block size (default 4 MiB, as azure-storage-blob; at most 4000 MiB). Data up to one block goes
    /// in one Put Blob. With the service's 50,000 blocks a blob of unknown size can reach 195 GiB at
    /// the default; set a larger block size for larger blobs.
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
            block_size: 4 * 1024 * 1024,
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
    /// Size of each ranged GET (default 4 MiB; at most [`MAX_RANGE_MD5`], 4 MiB, when the parts
    /// are checked against range MD5s, as the service computes those up to that size).
    pub chunk_size: u64,
    /// Ranged GETs in flight (default 8). Memory use is at most `chunk_size × (concurrency + 1)`.
    pub concurrency: usize,
    /// Verify the data (default true). A blob with a stored Content-MD5 is checked against it,
    /// over the bytes in order, hashed on a blocking-pool thread while the writer writes (one
    /// pass, no work for the service); a mismatch is [`BlobError::ChecksumMismatch`] once all the
    /// data has arrived, and [`BlobClient::download_to_file`] then downloads once more before it
    /// gives up. A blob without a stored MD5 has every part (at most [`MAX_RANGE_MD5`]) checked
    /// against the MD5 of its range, which the service computes on request
    /// (`x-ms-range-get-content-md5`; an error if it sends none), before the part is passed on;
    /// a corrupted part is fetched again, up to the client's retry attempts.
    pub verify_md5: bool,
    /// Called with the bytes downloaded so far (and the blob's size) after each range.
    pub progress: Option<ProgressCallback>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self { chunk_size: 4 * 1024 * 1024, concurrency: 8, verify_md5: true, progress: None }
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
    let doing = if op.starts_with("Download") { "writing the download" } else { "reading the upload source" };
    BlobError::Other(
        cloudkit_core::Error::new(cloudkit_core::ErrorKind::InvalidInput, crate::SERVICE, op)
            .with_message(format!("{doing} failed: {e}")),
    )
}

/// A download's part task or hashing job that panicked, or was cancelled by a runtime shutting down.
fn task_ended(e: std::io::Error) -> BlobError {
    BlobError::Other(
        cloudkit_core::Error::new(ErrorKind::Transport, crate::SERVICE, "Download")
            .with_message(format!("the download stopped: {e}")),
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
    ///
    /// Nothing is committed if the source or a block fails. The blocks staged by a failed upload
    /// are then dropped when no blob of this name exists (an empty placeholder blob, tagged with
    /// the upload's id, is committed create-only and deleted again: for that moment a create-only
    /// write of the same name by someone else would find it); when a blob exists they stay
    /// uncommitted until the service drops them (a week). An upload whose future is dropped
    /// discards its blocks the same way in a background task on the current Tokio runtime
    /// ([`cloudkit_core::cleanups_finished`] waits for it). A create-only upload (`if_none_match: Some("*")`) checks that the blob
    /// does not exist before staging blocks. A commit whose answer was lost is recovered from the
    /// committed block list (see [`PutBlockListRequest::send`](crate::PutBlockListRequest::send)).
    pub async fn upload(&self, mut source: UploadStream, options: UploadOptions) -> Result<WriteResult> {
        let size = options.block_size.clamp(1, 4000 * 1024 * 1024);
        let concurrency = options.concurrency.max(1);
        let mut pending = BytesMut::new();
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
        if options.conditions.if_none_match.as_deref() == Some("*") && self.exists().await? {
            // Create-only onto an existing blob: fail before staging blocks that nothing could
            // discard (uncommitted blocks of a committed blob stay until the service drops them).
            return Err(BlobError::BlobAlreadyExists(
                cloudkit_core::Error::new(ErrorKind::Service, crate::SERVICE, "Upload")
                    .with_status(cloudkit_core::StatusCode::CONFLICT)
                    .with_code("BlobAlreadyExists")
                    .with_message("the blob exists (checked before staging blocks)"),
            ));
        }
        let upload_id = fastrand_u64();
        // Dropped before the end (cancelled): the staged blocks are discarded in the background.
        let blob = self.clone();
        let guard =
            cloudkit_core::CleanupOnDrop::new(move || async move { blob.discard_staged_blocks(upload_id).await });
        let outcome = self
            .stage_and_commit(upload_id, [first, second], source, pending, size, concurrency, &options, &progress)
            .await;
        if outcome.is_err() {
            self.discard_staged_blocks(upload_id).await;
        }
        guard.disarm();
        outcome
    }

    /// The block phase of [`upload`](Self::upload): Put Block of every block (`concurrency` at a
    /// time), then the commit.
    #[allow(clippy::too_many_arguments)]
    async fn stage_and_commit(
        &self,
        upload_id: u64,
        [first, second]: [Bytes; 2],
        mut source: UploadStream,
        mut pending: BytesMut,
        size: usize,
        concurrency: usize,
        options: &UploadOptions,
        progress: &Arc<ProgressTracker>,
    ) -> Result<WriteResult> {
        let mut whole_md5 = Md5::default();
        let mut ids = Vec::new();
        let mut in_flight = FuturesUnordered::new();
        let mut next = Some(first);
        let mut queued = Some(second);
        let mut index = 0u64;
        let mut total = 0u64;
        let staging: Result<()> = 'staging: loop {
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
                    None => match next_block(&mut source, &mut pending, size).await {
                        Ok(block) => block,
                        Err(e) => break 'staging Err(e),
                    },
                };
                if next.is_none() {
                    progress.set_total(total);
                }
            }
            match in_flight.next().await {
                Some(Ok(())) => {}
                Some(Err(e)) => break 'staging Err(e),
                None => break Ok(()),
            }
        };
        if let Err(e) = staging {
            // Let the blocks still in flight finish (or fail) before the caller discards what
            // was staged: a Put Block dropped here could still reach the service after the
            // discard and stay behind as an uncommitted block.
            while in_flight.next().await.is_some() {}
            return Err(e);
        }
        self.commit_blocks(ids, options, whole_md5.finish_base64()).await
    }

    /// Best effort, after a failed block upload: drops the blocks it staged, which would otherwise
    /// stay uncommitted until the service discards them (a week). Only a commit discards staged
    /// blocks, so when no blob of this name exists, an empty placeholder blob is committed
    /// (create-only, tagged with this upload's id in its metadata) and deleted again (conditioned
    /// on its entity tag). When a blob exists, nothing is done (dropping the blocks would mean
    /// rewriting it), unless it is this upload's own placeholder, left by a discard that was
    /// interrupted: that one is deleted. Errors are ignored (the upload's own error is what the caller gets).
    async fn discard_staged_blocks(&self, upload_id: u64) {
        let tag = format!("{upload_id:016x}");
        let ours = |p: &crate::BlobProperties| p.size == 0 && p.metadata.get(DISCARD_TAG) == Some(&tag);
        let mut etag = match self.get_properties().await {
            Err(BlobError::BlobNotFound(_) | BlobError::NotFound(_)) => {
                let create_only = Conditions { if_none_match: Some("*".into()), ..Conditions::default() };
                let mut metadata = BTreeMap::new();
                metadata.insert(DISCARD_TAG.to_owned(), tag.clone());
                let placeholder =
                    self.put_block_list(Vec::new()).metadata_map(metadata).conditions(create_only).send().await;
                match placeholder {
                    Ok(written) => written.etag,
                    Err(e) if may_have_taken_effect(&e) => {
                        self.get_properties().await.ok().filter(ours).and_then(|p| p.etag)
                    }
                    Err(_) => None,
                }
            }
            // This upload's placeholder, left by a discard that was itself interrupted.
            Ok(p) if ours(&p) => p.etag,
            _ => return,
        };
        let attempts = self.container.service.pipeline().retry_config().max_attempts();
        for _ in 0..attempts {
            let Some(e) = etag.take() else { return };
            let placeholder = Conditions { if_match: Some(e), ..Conditions::default() };
            match self.delete(DeleteSnapshots::None, &placeholder).await {
                Err(e) if may_have_taken_effect(&e) => {
                    etag = self.get_properties().await.ok().filter(ours).and_then(|p| p.etag);
                }
                _ => return,
            }
        }
    }

    /// Put Block List for [`upload`](Self::upload), which is not retried by the pipeline after a
    /// failure that may hide a commit that took effect (issue 15, defect 19). After such a
    /// failure the committed block list tells what happened: this upload's block ids are unique
    /// to it, so if the blob consists of exactly them, the commit took effect (and its result is
    /// read back); otherwise it did not, and it is sent again (up to the retry settings' attempts,
    /// with their backoff). A second commit of a blob committed a moment ago would fail with a
    /// false `BlobAlreadyExists` / `ConditionNotMet` when conditional.
    async fn commit_blocks(&self, ids: Vec<Vec<u8>>, options: &UploadOptions, md5: String) -> Result<WriteResult> {
        let retry = self.container.service.pipeline().retry_config().clone();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let mut commit = self
                .put_block_list(ids.clone())
                .conditions(options.conditions.clone())
                .metadata_map(options.metadata.clone())
                .blob_content_md5(md5.clone());
            if let Some(ct) = &options.content_type {
                commit = commit.content_type(ct.clone());
            }
            let error = match commit.send().await {
                Ok(written) => return Ok(written),
                Err(e) if may_have_taken_effect(&e) => e,
                Err(e) => return Err(e),
            };
            let committed = match self.get_block_list(BlockListType::Committed).await {
                Ok(list) => list.committed,
                Err(_) => return Err(error),
            };
            if committed.iter().map(|b| &b.id).eq(ids.iter()) {
                let p = self.get_properties().await?;
                return Ok(WriteResult { etag: p.etag, content_md5: p.content_md5 });
            }
            if attempt >= retry.max_attempts() {
                return Err(error);
            }
            tokio::time::sleep(retry.backoff(attempt)).await;
        }
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
    /// concurrent overwrite fails the download with [`BlobError::ObjectChanged`] instead of mixing
    /// versions). The parts are fetched by tasks on the runtime while earlier parts are written,
    /// and handed to the writer in order. Every part must come back with exactly the range asked
    /// for ([`BlobError::RangeMismatch`]); a part that breaks off is resumed from its last byte
    /// (see [`GetBlobRequest`](crate::GetBlobRequest)); the data is verified as
    /// [`DownloadOptions::verify_md5`] says ([`BlobError::ChecksumMismatch`]). Returns the number
    /// of bytes. On an error the writer may have received part of the data, and with a stored MD5
    /// all of it (the whole blob's MD5 is known only at its end); use
    /// [`download_to_file`](Self::download_to_file) for a destination that is replaced only by a
    /// complete, verified download.
    pub async fn download_to_writer<W: AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        options: DownloadOptions,
    ) -> Result<u64> {
        let props = self.get_properties().await?;
        let total = props.size;
        let whole_md5 = props.content_md5.clone().filter(|_| options.verify_md5);
        // One MD5 pass either way: the stored one over the whole blob when there is one, else the
        // service's MD5 of every range.
        let check = if options.verify_md5 && whole_md5.is_none() { PartCheck::RangeMd5 } else { PartCheck::None };
        let mut chunk = options.chunk_size.max(1);
        if matches!(check, PartCheck::RangeMd5) {
            chunk = chunk.min(MAX_RANGE_MD5);
        }
        let etag = props.etag.clone();
        let ranges: Vec<(u64, u64)> =
            (0..total.div_ceil(chunk)).map(|i| (i * chunk, ((i + 1) * chunk).min(total) - 1)).collect();
        let mut md5 = whole_md5.as_ref().map(|_| Md5::default());
        let progress = ProgressTracker::new(options.progress.clone(), Some(total));
        progress.start();
        let mut parts = futures::stream::iter(ranges)
            .map(|(a, b)| {
                let this = self.clone();
                let etag = etag.clone();
                task::spawn(async move { this.download_part(a, b, etag, check).await })
            })
            .buffered(options.concurrency.max(1));
        while let Some(part) = parts.next().await {
            let part = part.map_err(task_ended)??;
            match md5.take() {
                // hashed on the blocking pool while the writer writes (and the tasks fetch)
                Some(mut hasher) => {
                    let data = part.clone();
                    let hashing = blocking::run(move || {
                        hasher.update(&data);
                        hasher
                    });
                    let (hashed, written) = futures::join!(hashing, writer.write_all(&part));
                    md5 = Some(hashed.map_err(task_ended)?);
                    written.map_err(|e| io_error("Download", e))?;
                }
                None => writer.write_all(&part).await.map_err(|e| io_error("Download", e))?,
            }
            progress.add(part.len() as u64);
        }
        writer.flush().await.map_err(|e| io_error("Download", e))?;
        if let (Some(expected), Some(md5)) = (whole_md5, md5) {
            let actual = md5.finish_base64();
            if actual != expected {
                return Err(BlobError::ChecksumMismatch { operation: "Download", algorithm: "MD5", expected, actual });
            }
        }
        Ok(progress.transferred())
    }

    /// Bytes `a..=b` of the version `etag`, checked to be exactly that range and, as `check`
    /// says, against the MD5 of the range. A part that arrives corrupted has not been passed on
    /// yet: it is fetched again, up to the retry settings' attempts.
    async fn download_part(&self, a: u64, b: u64, etag: Option<String>, check: PartCheck) -> Result<Bytes> {
        let attempts = self.container.service.pipeline().retry_config().max_attempts();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut req = self.get().range(a..=b).verify_md5(false);
            if matches!(check, PartCheck::RangeMd5) {
                req = req.range_md5(true);
            }
            if let Some(e) = &etag {
                req = req.if_match(e.clone());
            }
            let data = match req.send().await {
                Ok(resp) => resp.bytes().await,
                // the blob was replaced since the download started
                Err(BlobError::ConditionNotMet(e)) if etag.is_some() => return Err(BlobError::ObjectChanged(e)),
                Err(e) => Err(e),
            };
            let data = match data {
                Err(BlobError::ChecksumMismatch { .. }) if attempt < attempts => continue,
                other => other?,
            };
            let received = a..a + data.len() as u64;
            if received.end != b + 1 {
                return Err(BlobError::RangeMismatch { operation: "Download", requested: a..b + 1, received });
            }
            return Ok(data);
        }
    }

    /// Downloads into memory.
    pub async fn download_to_bytes(&self, options: DownloadOptions) -> Result<Bytes> {
        let mut out: Vec<u8> = Vec::new();
        self.download_to_writer(&mut out, options).await?;
        Ok(Bytes::from(out))
    }

    /// Downloads into a file through a temporary file with a unique name in the same directory
    /// ([`cloudkit_core::PartialFile`]), renamed over `path` only once the whole blob has arrived
    /// and been verified. A download that fails the check of the blob's stored MD5 (which is known
    /// only at the end) is made once more (the progress callback then counts from 0 again) before
    /// [`BlobError::ChecksumMismatch`] is returned. On an error, and when the future is dropped,
    /// the temporary file is removed and `path` keeps its old content (or stays absent). The
    /// directory must exist.
    pub async fn download_to_file(&self, path: impl AsRef<Path>, options: DownloadOptions) -> Result<u64> {
        let path = path.as_ref();
        let mut second_try = false;
        loop {
            let mut file = PartialFile::create(path)
                .await
                .map_err(|e| io_error_at("DownloadFile", "creating a temporary file next to", path, e))?;
            match self.download_to_writer(&mut file, options.clone()).await {
                Ok(n) => {
                    file.commit().await.map_err(|e| io_error_at("DownloadFile", "replacing", path, e))?;
                    return Ok(n);
                }
                // the temporary file is removed when dropped
                Err(BlobError::ChecksumMismatch { .. }) if !second_try => second_try = true,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Whether a failed write may have taken effect: the request was sent and no answer says it was
/// refused (a 5xx other than throttling, a timeout, a connection lost after sending).
fn may_have_taken_effect(e: &BlobError) -> bool {
    let Some(core) = e.core() else { return false };
    match core.kind() {
        ErrorKind::Timeout | ErrorKind::Transport => true,
        ErrorKind::Service => !core.is_throttling() && core.status().is_some_and(|s| s.is_server_error()),
        _ => false,
    }
}

fn io_error_at(op: &'static str, doing: &str, path: &Path, e: std::io::Error) -> BlobError {
    BlobError::Other(
        cloudkit_core::Error::new(ErrorKind::InvalidInput, crate::SERVICE, op)
            .with_message(format!("{doing} {} failed: {e}", path.display())),
    )
}

/// How a download checks its parts.
#[derive(Clone, Copy, Debug)]
enum PartCheck {
    /// Not at all (no verification, or the whole blob's stored MD5 is checked instead).
    None,
    /// Against the MD5 of its range, which the service must send (the blob has no stored MD5).
    RangeMd5,
}

/// The metadata name of the placeholder blob that discards a failed upload's staged blocks.
const DISCARD_TAG: &str = "cloudkit_discard";

/// An upload id: unique within the process (a counter) and, very likely, across processes (the
/// clock and the pid).
fn fastrand_u64() -> u64 {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    (t as u64) ^ (std::process::id() as u64).rotate_left(32) ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}
