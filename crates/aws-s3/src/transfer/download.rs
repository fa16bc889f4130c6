//! Managed downloads: a first GET that gives the size and the ETag, then parallel ranged GETs
//! with `If-Match`, written at their offsets into a temporary file, into memory or in order into
//! a writer.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::{Bytes, BytesMut};
use cloudkit_core::{ByteStream, Progress, ProgressTracker, internal::blocking};
use futures::stream::{StreamExt, TryStreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{MIN_PART_SIZE, TransferConfig, TransferError};
use crate::client::S3Client;
use crate::error::S3Error;
use crate::types::ObjectMetadata;

/// How many times a part whose body broke off mid-stream is fetched again.
const PART_BODY_ATTEMPTS: u32 = 3;

/// A managed download; see [`TransferManager::download`](crate::TransferManager::download).
#[derive(Debug)]
#[must_use = "finish with .to_file(), .to_bytes() or .to_writer()"]
pub struct Download {
    client: S3Client,
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

impl Download {
    pub(super) fn new(client: S3Client, config: TransferConfig, bucket: String, key: String) -> Self {
        Download { client, config, bucket, key, version_id: None }
    }

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
                Some(e) => return Err(S3Error::body("GetObject", e).into()),
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
        let progress = &progress;
        futures::stream::iter(with_first_body(&spans, body))
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
            let mut parts = futures::stream::iter(with_first_body(&spans, body))
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

/// The spans to fetch, the first one paired with the body of the first GET, which carries it.
fn with_first_body(spans: &[Span], first: ByteStream) -> Vec<(Span, Option<ByteStream>)> {
    let mut first = Some(first);
    spans.iter().map(|span| (*span, first.take())).collect()
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
