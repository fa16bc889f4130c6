//! Managed downloads: what the object is (HeadObject, or the first ranged GET), then parallel
//! GETs pinned to its ETag with `If-Match` (byte ranges, or the upload's parts for an object with a
//! composite checksum), written at their offsets into a [`PartialFile`], into memory or in order
//! into a writer, and verified against the checksum the object was stored with.

use std::collections::VecDeque;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;

use bytes::{Bytes, BytesMut};
use cloudkit_core::{
    Body, ByteStream, FileRegion, PartialFile, Progress, ProgressTracker, RunningChecksum, internal::blocking,
};
use futures::stream::{self, StreamExt, TryStreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::{MAX_PART_SIZE, MIN_PART_SIZE, TransferConfig, TransferError};
use crate::checksum::{
    ChecksumAlgorithm, ChecksumMode, ETagCheck, Hasher, MultipartETag, StoredChecksum, Verified, body_checksum,
    combine_crc, crc_base64, e_tag_check, multipart_e_tag_of_md5s, stored_checksum,
};
use crate::client::S3Client;
use crate::error::S3Error;
use crate::multipart::MAX_PART_NUMBER;
use crate::types::{ContentRange, ObjectMetadata};

/// The largest object a download accepts the size of: 10,000 parts of 5 GiB. A size above it (a
/// hostile or broken `Content-Range` total, e.g. 2^62) is refused before anything is planned or
/// allocated from it.
const MAX_OBJECT_SIZE: u64 = MAX_PART_NUMBER as u64 * MAX_PART_SIZE;

/// The operation named in the errors of a download's GETs.
const GET: &str = "GetObject";

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
    /// The object's metadata (from HeadObject or the first GET; `content_length` is the object's
    /// size).
    pub metadata: ObjectMetadata,
    /// Bytes downloaded (the object's size).
    pub size: u64,
    /// How many GET requests fetched it (1 below the threshold; 0 for an empty object whose
    /// size HeadObject told).
    pub parts: u32,
    /// What the data was verified against: the object's full-object checksum, the checksum of
    /// every part of an object with a composite checksum ([`Verified::Checksum`]), or, where the
    /// store keeps no checksum, the multipart ETag recomputed with the part size the uploading
    /// `TransferManager` recorded ([`Verified::MultipartETag`]). `None`: nothing was verified
    /// (see [`ChecksumMode`]).
    pub checksum_verified: Option<Verified>,
}

/// A byte range `[start, end)` of the object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    start: u64,
    end: u64,
}

impl Span {
    fn len(self) -> u64 {
        self.end - self.start
    }
}

/// How the downloaded bytes are checked.
#[derive(Clone, Debug)]
enum Verify {
    /// Nothing to check against (or [`ChecksumMode::Off`]).
    Nothing,
    /// The object's full-object checksum, over the bytes in order: the CRCs of the parts are
    /// combined, a SHA digest is computed in order.
    Full { algorithm: ChecksumAlgorithm, expected: String },
    /// A composite checksum: the object is fetched part by part (`partNumber`) and every part is
    /// verified against its own checksum by the GET.
    Parts { algorithm: ChecksumAlgorithm },
    /// No checksum, but a multipart ETag that can be recomputed from the bytes in order (the MD5
    /// of every part of the recorded size).
    ETag(ETagCheck),
}

impl Verify {
    /// The in-order checksum to run over the whole object, what it must give, and what a match
    /// verifies (full-object checksums of any algorithm, the multipart ETag).
    fn in_order(&self) -> Option<(Box<dyn RunningChecksum>, String, Verified)> {
        match self {
            Verify::Full { algorithm, expected } => {
                Some((Box::new(Hasher::new(*algorithm)), expected.clone(), Verified::Checksum(*algorithm)))
            }
            Verify::ETag(check) => {
                Some((Box::new(MultipartETag::new(check.part_size)), check.expected.clone(), Verified::MultipartETag))
            }
            Verify::Nothing | Verify::Parts { .. } => None,
        }
    }
}

/// One GET of the download.
#[derive(Clone, Copy, Debug)]
enum Job {
    /// A byte range.
    Range(Span),
    /// A part of the upload, by number.
    Part(u32),
}

/// What is known before the parallel GETs start.
struct Plan {
    metadata: ObjectMetadata,
    size: u64,
    e_tag: Option<String>,
    verify: Verify,
    /// The GETs, in the object's order.
    jobs: Jobs,
    /// The body of the first GET, already open (it told the size), with where it sits.
    first: Option<Opened>,
    /// How many GETs the plan made already (the first GET of an empty object is not a job).
    gets: u64,
}

/// The GETs of a download, generated as they are needed (a plan never holds one entry per part:
/// its memory does not depend on the object's size).
#[derive(Clone, Copy, Debug)]
enum Jobs {
    /// `first_len` bytes, then `part_size` bytes each, up to `size`.
    Ranges { size: u64, first_len: u64, part_size: u64 },
    /// Parts 1..=count.
    Parts { count: u32 },
}

/// What [`Download::fetch`] computes over each part as it arrives.
#[derive(Clone, Copy, Debug)]
struct PartHash {
    /// This CRC (or digest).
    crc: Option<ChecksumAlgorithm>,
    /// The part's MD5.
    md5: bool,
}

impl PartHash {
    const NONE: PartHash = PartHash { crc: None, md5: false };
}

impl Jobs {
    /// Whether every GET covers exactly one part of an upload made of `part_size` parts (the last
    /// may be shorter), so that the parts' MD5s give the multipart ETag.
    fn one_part_each(self, part_size: u64) -> bool {
        match self {
            Jobs::Ranges { size, first_len, part_size: p } => {
                p == part_size && (first_len == p || (first_len >= size && size <= p))
            }
            Jobs::Parts { .. } => false,
        }
    }

    fn count(self) -> u64 {
        match self {
            // An empty object needs no GET.
            Jobs::Ranges { size: 0, .. } => 0,
            Jobs::Ranges { size, first_len, part_size } => 1 + size.saturating_sub(first_len).div_ceil(part_size),
            Jobs::Parts { count } => u64::from(count),
        }
    }

    fn iter(self) -> impl Iterator<Item = Job> + Send {
        let n = self.count();
        (0..n).map(move |i| match self {
            Jobs::Ranges { size, first_len, part_size } => {
                let span = if i == 0 {
                    Span { start: 0, end: first_len.min(size) }
                } else {
                    let start = first_len + (i - 1) * part_size;
                    Span { start, end: (start + part_size).min(size) }
                };
                Job::Range(span)
            }
            // n ≤ 10,000
            Jobs::Parts { .. } => Job::Part(u32::try_from(i + 1).unwrap_or(u32::MAX)),
        })
    }
}

/// A GET whose response headers arrived: its body and where it sits in the object.
struct Opened {
    span: Span,
    body: ByteStream,
    /// Whether the GET verifies this body itself (a part's checksum).
    verified: bool,
}

/// What one finished GET leaves behind.
struct Fetched {
    span: Span,
    /// The CRC (or digest) of the span, when asked for.
    hasher: Option<Hasher>,
    /// The MD5 of the span (base64), when asked for (a span that is one part of a multipart
    /// upload whose ETag is checked).
    md5: Option<String>,
    verified: bool,
}

/// Where the chunks of one part go.
enum PartSink<'a, W: ?Sized> {
    /// A file, written at the chunks' offsets in blocks of up to [`FILE_WRITE_BUFFER`] bytes
    /// (blocking writes of the buffer itself, on Tokio's blocking pool: no second copy).
    File { file: Option<std::fs::File>, path: &'a Path, buf: BytesMut, buf_at: u64 },
    /// The destination writer itself (a download of one GET, in order).
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

    fn mode(&self) -> ChecksumMode {
        self.client.checksum_mode()
    }

    fn get(&self) -> crate::object::GetObject {
        let mut g = self.client.get_object(&self.bucket, &self.key);
        if let Some(v) = &self.version_id {
            g = g.version_id(v.clone());
        }
        g
    }

    fn changed(&self, e_tag: &str) -> TransferError {
        TransferError::ObjectChanged { bucket: self.bucket.clone(), key: self.key.clone(), e_tag: e_tag.to_owned() }
    }

    /// An S3 error of one of the download's GETs: a failed `If-Match`, or a resume that found
    /// another version, means the object changed.
    fn s3_error(&self, e: S3Error, e_tag: Option<&str>) -> TransferError {
        match (e, e_tag) {
            (S3Error::PreconditionFailed(_) | S3Error::ObjectChanged(_), Some(t)) => self.changed(t),
            (e, _) => e.into(),
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

    fn unavailable(reason: impl Into<String>) -> TransferError {
        S3Error::ChecksumUnavailable { operation: GET, reason: reason.into() }.into()
    }

    fn decode(message: impl Into<String>) -> TransferError {
        S3Error::decode(GET, message).into()
    }

    /// Checks a size the service announced before anything is planned from it.
    fn checked_size(size: u64, what: &str) -> Result<u64, TransferError> {
        if size > MAX_OBJECT_SIZE {
            return Err(Self::decode(format!(
                "{what} announces {size} bytes, more than the {MAX_OBJECT_SIZE} an object can have"
            )));
        }
        Ok(size)
    }

    /// What to fetch and how to verify it.
    async fn plan(&self) -> Result<Plan, TransferError> {
        if !self.mode().verifies() {
            return self.plan_from_first_get().await;
        }
        let mut head = self.client.head_object(&self.bucket, &self.key);
        if let Some(v) = &self.version_id {
            head = head.version_id(v.clone());
        }
        let metadata = head.send().await?;
        let size = metadata
            .content_length
            .ok_or_else(|| Self::decode("HeadObject answered without a Content-Length"))
            .and_then(|s| Self::checked_size(s, "HeadObject"))?;
        let e_tag = metadata.e_tag.clone();
        let part_size = self.part_size();
        let first_len = if size <= self.config.multipart_threshold { size } else { part_size };
        let ranges = Jobs::Ranges { size, first_len, part_size };
        let (verify, jobs) = match stored_checksum(&metadata) {
            StoredChecksum::Full(algorithm, expected) => (Verify::Full { algorithm, expected }, ranges),
            StoredChecksum::Composite(algorithm, count) if size > 0 => {
                (Verify::Parts { algorithm }, Jobs::Parts { count })
            }
            _ => match e_tag_check(&metadata, size) {
                Some(check) => (Verify::ETag(check), ranges),
                None if self.mode() == ChecksumMode::Required => {
                    return Err(Self::unavailable(
                        "HeadObject reports no checksum the download could be verified with",
                    ));
                }
                None => (Verify::Nothing, ranges),
            },
        };
        let mut plan = Plan { metadata, size, e_tag, verify, jobs, first: None, gets: 0 };
        if let Jobs::Parts { count } = plan.jobs {
            self.open_first_part(&mut plan, count).await?;
        }
        Ok(plan)
    }

    /// The first part of a composite-checksum object, which tells whether the service serves
    /// parts by number with their checksums. If it does not (moto answers the whole object;
    /// MinIO sends the object's checksum instead of the part's), the download falls back to
    /// byte ranges without verification, or fails under [`ChecksumMode::Required`].
    async fn open_first_part(&self, plan: &mut Plan, count: u32) -> Result<(), TransferError> {
        match self.open_part(1, plan.e_tag.as_deref(), plan.size, count).await {
            Ok(Some(opened)) if opened.verified => {
                plan.first = Some(opened);
                return Ok(());
            }
            Ok(_) => {}
            // A store that refuses `partNumber` (400 InvalidArgument, 501 NotImplemented …).
            Err(TransferError::S3(e)) if matches!(e.status().map(|s| s.as_u16()), Some(400 | 416 | 501)) => {}
            Err(e) => return Err(e),
        }
        let part_size = self.part_size();
        let first_len = if plan.size <= self.config.multipart_threshold { plan.size } else { part_size };
        plan.jobs = Jobs::Ranges { size: plan.size, first_len, part_size };
        if let Some(check) = e_tag_check(&plan.metadata, plan.size) {
            tracing::debug!(bucket = %self.bucket, key = %self.key,
                "the service does not serve parts with their checksums; downloading by ranges, verifying the ETag");
            plan.verify = Verify::ETag(check);
            return Ok(());
        }
        if self.mode() == ChecksumMode::Required {
            return Err(Self::unavailable(
                "the object has a composite checksum and the service does not serve its parts with their checksums",
            ));
        }
        tracing::debug!(bucket = %self.bucket, key = %self.key,
            "the service does not serve parts with their checksums; downloading by ranges, unverified");
        plan.verify = Verify::Nothing;
        Ok(())
    }

    /// Without checksums: the first GET is a ranged GET of the first part (or of the whole
    /// object, up to the threshold), which tells the size and the ETag.
    async fn plan_from_first_get(&self) -> Result<Plan, TransferError> {
        let first_span = self.config.multipart_threshold.max(1);
        let out = match self.get().range(0..=first_span - 1).send().await {
            Ok(out) => out,
            // An empty object has no byte 0.
            Err(S3Error::InvalidRange(_)) => self.get().send().await?,
            Err(e) => return Err(e.into()),
        };
        // The service's claims are checked before anything is planned or allocated from them:
        // a Content-Range whose total is absurd, or that does not match the bytes it carries.
        let (size, first_len) = match out.metadata.content_range.as_deref() {
            Some(v) => {
                let cr = ContentRange::parse(v)
                    .ok_or_else(|| Self::decode(format!("unusable Content-Range `{}`", v.escape_debug())))?;
                let total =
                    cr.total.ok_or_else(|| Self::decode("the Content-Range does not give the object's size"))?;
                let total = Self::checked_size(total, "the Content-Range")?;
                if cr.first != 0 || cr.len() != first_span.min(total) {
                    return Err(Self::decode(format!(
                        "asked for bytes 0-{} of the object, got `{}`",
                        first_span - 1,
                        v.escape_debug()
                    )));
                }
                (total, cr.len())
            }
            None => {
                let len =
                    out.metadata.content_length.ok_or_else(|| Self::decode("the response has no Content-Length"))?;
                let len = Self::checked_size(len, "the Content-Length")?;
                (len, len)
            }
        };
        let e_tag = out.metadata.e_tag.clone();
        let span = Span { start: 0, end: first_len };
        let jobs = Jobs::Ranges { size, first_len, part_size: self.part_size() };
        let mut metadata = out.metadata;
        metadata.content_length = Some(size);
        metadata.content_range = None;
        let first = Some(Opened { span, body: out.body, verified: false });
        Ok(Plan { metadata, size, e_tag, verify: Verify::Nothing, jobs, first, gets: 1 })
    }

    /// A ranged GET of `span` with `If-Match` on the ETag (its body resumes by itself).
    async fn open_range(&self, span: Span, e_tag: Option<&str>, size: u64) -> Result<Opened, TransferError> {
        let mut g = self.get().range(span.start..=span.end - 1);
        g.verify = false; // the full-object checksum is verified over all the parts
        if let Some(t) = e_tag {
            g = g.if_match(t.to_owned());
        }
        let out = g.send().await.map_err(|e| self.s3_error(e, e_tag))?;
        self.check_e_tag(e_tag, &out.metadata)?;
        match out.metadata.content_range.as_deref().and_then(ContentRange::parse) {
            Some(cr) if cr.first == span.start && cr.len() == span.len() && cr.total == Some(size) => {}
            // A service that ignores the range sends the whole object: usable only if that is
            // what was asked for.
            None if span == (Span { start: 0, end: size }) && out.metadata.content_length == Some(size) => {}
            _ => return Err(self.size_mismatch(span, out.metadata.content_length.unwrap_or(0))),
        }
        Ok(Opened { span, body: out.body, verified: false })
    }

    /// A GET of part `n` of `count`, verified against the part's checksum by the GET itself.
    /// `None` when the answer is not that part (the service ignored `partNumber`).
    async fn open_part(
        &self,
        n: u32,
        e_tag: Option<&str>,
        size: u64,
        count: u32,
    ) -> Result<Option<Opened>, TransferError> {
        let mut g = self.get().part_number(n);
        if let Some(t) = e_tag {
            g = g.if_match(t.to_owned());
        }
        let out = g.send().await.map_err(|e| self.s3_error(e, e_tag))?;
        self.check_e_tag(e_tag, &out.metadata)?;
        if out.metadata.parts_count.is_some_and(|c| c != count) {
            return Ok(None);
        }
        let span = match out.metadata.content_range.as_deref().and_then(ContentRange::parse) {
            Some(cr) if cr.total == Some(size) => Span { start: cr.first, end: cr.last + 1 },
            None if count == 1 && out.metadata.content_length == Some(size) => Span { start: 0, end: size },
            _ => return Ok(None),
        };
        if count > 1 && span == (Span { start: 0, end: size }) {
            // The whole object for one of several parts: `partNumber` was ignored.
            return Ok(None);
        }
        Ok(Some(Opened { span, body: out.body, verified: out.checksum_verified.is_some() }))
    }

    fn check_e_tag(&self, e_tag: Option<&str>, metadata: &ObjectMetadata) -> Result<(), TransferError> {
        match (e_tag, metadata.e_tag.as_deref()) {
            (Some(expected), Some(got)) if expected != got => Err(self.changed(expected)),
            _ => Ok(()),
        }
    }

    /// Opens one job's GET.
    async fn open(&self, job: Job, plan: &PlanRef<'_>) -> Result<Opened, TransferError> {
        match job {
            Job::Range(span) => self.open_range(span, plan.e_tag, plan.size).await,
            Job::Part(n) => {
                let count = match plan.jobs {
                    Jobs::Parts { count } => count,
                    Jobs::Ranges { .. } => 1,
                };
                let opened = self.open_part(n, plan.e_tag, plan.size, count).await?;
                let opened = opened.ok_or_else(|| Self::decode(format!("the answer for part {n} is not that part")))?;
                if !opened.verified && self.mode() == ChecksumMode::Required {
                    return Err(Self::unavailable(format!("part {n} came without its checksum")));
                }
                Ok(opened)
            }
        }
    }

    /// Runs one job into `sink`: opens it (unless its body is already open), streams the body,
    /// and checks it delivered exactly its span. `hash`: the CRC (or digest) to compute over it.
    async fn fetch<W: AsyncWrite + Unpin + ?Sized>(
        &self,
        opened: Opened,
        hash: PartHash,
        e_tag: Option<&str>,
        progress: &ProgressTracker,
        sink: &mut PartSink<'_, W>,
    ) -> Result<Fetched, TransferError> {
        let Opened { span, mut body, verified } = opened;
        let want = span.len();
        let mut hasher = hash.crc.map(Hasher::new);
        let mut md5 = hash.md5.then(cloudkit_core::Md5::default);
        let mut got = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| self.body_error(e, e_tag))?;
            let len = chunk.len() as u64;
            if got + len > want {
                return Err(self.size_mismatch(span, got + len));
            }
            if let Some(h) = hasher.as_mut() {
                cloudkit_core::RunningChecksum::update(h, &chunk);
            }
            if let Some(m) = md5.as_mut() {
                cloudkit_core::RunningChecksum::update(m, &chunk);
            }
            sink.put(span.start + got, &chunk).await?;
            got += len;
            progress.add(len);
        }
        if got != want {
            return Err(self.size_mismatch(span, got));
        }
        Ok(Fetched { span, hasher, md5: md5.map(cloudkit_core::Md5::finish_base64), verified })
    }

    fn body_error(&self, e: cloudkit_core::TransportError, e_tag: Option<&str>) -> TransferError {
        self.s3_error(S3Error::from_body_error(GET, e), e_tag)
    }

    fn output(plan_metadata: ObjectMetadata, size: u64, parts: u64, verified: Option<Verified>) -> DownloadOutput {
        let mut metadata = plan_metadata;
        metadata.content_length = Some(size);
        metadata.content_range = None;
        DownloadOutput { metadata, size, parts: u32::try_from(parts).unwrap_or(u32::MAX), checksum_verified: verified }
    }

    /// Downloads into the file at `path`: the parts are written at their offsets into a
    /// [`PartialFile`] (a temporary file with a unique name next to `path`; `concurrency` GETs at
    /// a time; memory does not depend on the object's size), which replaces `path` only once
    /// every byte arrived and the checksum (see [`ChecksumMode`]) was verified. On failure, and
    /// when the future is dropped, the temporary file is removed and `path` keeps its old content.
    pub async fn to_file(self, path: impl AsRef<Path>) -> Result<DownloadOutput, TransferError> {
        let path = path.as_ref();
        let mut plan = self.plan().await?;
        let io = |what: &str, e| TransferError::io(format!("{what} a temporary file next to {}", path.display()), e);
        let mut partial = PartialFile::create(path).await.map_err(|e| io("creating", e))?;
        let file = partial.file_mut().map_err(|e| io("sizing", e))?;
        file.set_len(plan.size).await.map_err(|e| io("sizing", e))?;
        let temp = partial.temp_path().to_owned();
        let temp = temp.as_path();
        let progress = ProgressTracker::new(self.config.progress.clone(), Some(plan.size));
        progress.start();
        // CRCs of the parts are combined, and so are the MD5s of parts that are exactly the
        // upload's parts (the multipart ETag); a SHA digest, or an ETag whose parts the GETs do not
        // follow, is computed by reading the file again.
        let crc = match &plan.verify {
            Verify::Full { algorithm, .. } if Hasher::new(*algorithm).crc().is_some() => Some(*algorithm),
            _ => None,
        };
        let md5 = matches!(&plan.verify, Verify::ETag(check) if plan.jobs.one_part_each(check.part_size));
        let hash = PartHash { crc, md5 };
        let first = plan.first.take();
        let plan_ref = PlanRef { e_tag: plan.e_tag.as_deref(), size: plan.size, jobs: plan.jobs };
        let (this, plan_ref, progress) = (&self, &plan_ref, &progress);
        let mut fetched: Vec<Fetched> = stream::iter(with_first(plan.jobs, first))
            .map(|(job, opened)| async move {
                let opened = match opened {
                    Some(o) => o,
                    None => this.open(job, plan_ref).await?,
                };
                let target = temp.to_owned();
                let file = blocking::run_io(move || std::fs::OpenOptions::new().write(true).open(target))
                    .await
                    .map_err(|e| TransferError::io(format!("writing {}", temp.display()), e))?;
                let at = opened.span.start;
                let mut sink: PartSink<'_, tokio::io::Sink> =
                    PartSink::File { file: Some(file), path: temp, buf: BytesMut::new(), buf_at: at };
                let done = this.fetch(opened, hash, plan_ref.e_tag, progress, &mut sink).await?;
                sink.flush_file().await?;
                Ok::<_, TransferError>(done)
            })
            .buffer_unordered(self.config.parts_in_flight())
            .try_collect()
            .await?;
        fetched.sort_by_key(|f| f.span.start);
        let verified = match plan.verify.in_order() {
            // The multipart ETag from the parts' MD5s.
            Some((_, expected, verified)) if md5 => {
                self.verify_fetched(&Verify::Nothing, plan.size, &fetched)?;
                let md5s: Vec<&str> = fetched.iter().map(|f| f.md5.as_deref().unwrap_or_default()).collect();
                check("MD5", &expected, multipart_e_tag_of_md5s(&md5s))?;
                Some(verified)
            }
            // A SHA digest or the multipart ETag: computed over the finished temporary file.
            Some((checksum, expected, verified)) if crc.is_none() => {
                self.verify_fetched(&Verify::Nothing, plan.size, &fetched)?;
                let algorithm = checksum.algorithm();
                let region = Body::File(FileRegion::new(temp, 0, plan.size));
                let actual = body_checksum(&region, checksum)
                    .await
                    .map_err(|e| TransferError::io(format!("reading {} to verify it", temp.display()), e))?;
                check(algorithm, &expected, actual)?;
                Some(verified)
            }
            _ => self.verify_fetched(&plan.verify, plan.size, &fetched)?,
        };
        partial
            .commit()
            .await
            .map_err(|e| TransferError::io(format!("renaming the download to {}", path.display()), e))?;
        Ok(Self::output(plan.metadata, plan.size, plan.jobs.count().max(plan.gets), verified))
    }

    /// Checks that the parts cover the object exactly, once each, and verifies what the plan
    /// says from the parts' CRCs or their own verification.
    fn verify_fetched(
        &self,
        verify: &Verify,
        size: u64,
        fetched: &[Fetched],
    ) -> Result<Option<Verified>, TransferError> {
        let mut at = 0u64;
        for f in fetched {
            if f.span.start != at {
                return Err(Self::decode(format!(
                    "the parts do not cover the object: one starts at byte {}, expected {at}",
                    f.span.start
                )));
            }
            at = f.span.end;
        }
        if at != size {
            return Err(Self::decode(format!("the parts cover {at} of the object's {size} bytes")));
        }
        match verify {
            Verify::Nothing => Ok(None),
            // Verified over the bytes in order by the callers.
            Verify::ETag(_) => Err(Self::decode("the multipart ETag cannot be verified from the parts' CRCs")),
            Verify::Parts { algorithm } => {
                if fetched.iter().all(|f| f.verified) {
                    Ok(Some(Verified::Checksum(*algorithm)))
                } else if self.mode() == ChecksumMode::Required {
                    Err(Self::unavailable("some parts came without their checksums"))
                } else {
                    Ok(None)
                }
            }
            Verify::Full { algorithm, expected } => {
                let mut combined: Option<u64> = None;
                for f in fetched {
                    let part = f.hasher.as_ref().and_then(Hasher::crc);
                    let part = part.ok_or_else(|| Self::decode("a part's CRC was not computed"))?;
                    combined = Some(match combined {
                        None => part,
                        Some(c) => combine_crc(*algorithm, c, part, f.span.len())
                            .ok_or_else(|| Self::decode("the checksum cannot be combined"))?,
                    });
                }
                let actual = match combined {
                    Some(c) => crc_base64(*algorithm, c),
                    None => algorithm.checksum(b""),
                };
                check(algorithm.as_str(), expected, actual)?;
                Ok(Some(Verified::Checksum(*algorithm)))
            }
        }
    }

    /// Downloads into memory (parallel GETs above the threshold), verified as
    /// [`to_writer`](Self::to_writer) is.
    pub async fn to_bytes(self) -> Result<Bytes, TransferError> {
        let mut out = Vec::new();
        self.to_writer(&mut out).await?;
        Ok(Bytes::from(out))
    }

    /// Downloads into `writer`, in order. An object up to the threshold streams straight into
    /// the writer; a larger one is fetched by `concurrency` GETs at a time: the part being
    /// written streams through to the writer as it arrives, and the parts after it read ahead
    /// into at most 24 MiB of reused buffers, then wait (the connection holds the rest back), so
    /// memory does not depend on the object's or the parts' size (parts of the upload, for an
    /// object with a composite checksum). The writer is flushed at the end.
    ///
    /// The checksum is verified when the last byte has been written: a mismatch is an error,
    /// but the writer has received the bytes by then (use [`to_file`](Self::to_file) for a
    /// destination that only ever holds verified data).
    pub async fn to_writer<W>(self, writer: &mut W) -> Result<DownloadOutput, TransferError>
    where
        W: AsyncWrite + Unpin + ?Sized,
    {
        let mut plan = self.plan().await?;
        let progress = ProgressTracker::new(self.config.progress.clone(), Some(plan.size));
        progress.start();
        // The in-order check of a full-object checksum (any algorithm) or of the multipart ETag.
        let mut in_order = plan.verify.in_order();
        let first = plan.first.take();
        let plan_ref = PlanRef { e_tag: plan.e_tag.as_deref(), size: plan.size, jobs: plan.jobs };
        let (this, plan_ref, progress) = (&self, &plan_ref, &progress);
        let mut fetched = Vec::new();
        let mut verified = None;
        if plan.jobs.count() == 1 {
            // One GET: stream straight into the writer, the check wrapped around the body (a
            // mismatch ends it with an error once the last byte has been written).
            let (job, opened) = with_first(plan.jobs, first).next().ok_or_else(|| Self::decode("no GET planned"))?;
            let mut opened = match opened {
                Some(o) => o,
                None => this.open(job, plan_ref).await?,
            };
            if let Some((checksum, expected, what)) = in_order.take() {
                opened.body = cloudkit_core::verify_stream(opened.body, checksum, expected);
                verified = Some(what);
            }
            let mut sink = PartSink::Writer(&mut *writer);
            fetched.push(self.fetch(opened, PartHash::NONE, plan_ref.e_tag, progress, &mut sink).await?);
        } else {
            let checksum = in_order.as_mut().map(|(c, _, _)| c.as_mut() as &mut dyn RunningChecksum);
            let parts = with_first(plan.jobs, first).map(|(job, opened)| async move {
                match opened {
                    Some(o) => Ok(o),
                    None => this.open(job, plan_ref).await,
                }
            });
            let window = InOrder::new(self.config.parts_in_flight(), READ_AHEAD);
            fetched = window.run(this, parts, plan_ref.e_tag, progress, writer, checksum).await?;
        }
        writer.flush().await.map_err(|e| TransferError::io("writing the download", e))?;
        let verified = match in_order {
            Some((checksum, expected, what)) => {
                self.verify_fetched(&Verify::Nothing, plan.size, &fetched)?;
                let algorithm = checksum.algorithm();
                check(algorithm, &expected, checksum.finish())?;
                Some(what)
            }
            None if verified.is_some() => {
                self.verify_fetched(&Verify::Nothing, plan.size, &fetched)?;
                verified
            }
            None => self.verify_fetched(&plan.verify, plan.size, &fetched)?,
        };
        Ok(Self::output(plan.metadata, plan.size, plan.jobs.count().max(plan.gets), verified))
    }
}

/// The most bytes a download into a writer holds for the parts behind the one being written,
/// whatever the part size (that one streams through to the writer): the parts in flight stop
/// reading (TCP holds the rest back) until the writer catches up.
const READ_AHEAD: usize = 24 * 1024 * 1024;

/// What a download into a writer reads into: blocks of this size, reused (the bodies' own
/// chunks are slices of larger buffers, which holding them would keep alive, and a
/// `tokio::fs::File` makes one blocking-pool call per write: fewer, larger writes).
const BLOCK: usize = 256 * 1024;

/// One GET of a download into a writer.
enum Slot<F> {
    /// Waiting for the response headers.
    Opening(Pin<Box<F>>),
    /// The body being read.
    Reading(PartRead),
}

/// A part's body and what it delivered that the writer has not taken yet.
struct PartRead {
    span: Span,
    body: ByteStream,
    verified: bool,
    got: u64,
    /// Full blocks, then the one being filled.
    queue: VecDeque<BytesMut>,
    /// The body ended, with exactly its span.
    done: bool,
}

/// The in-order window of a download into a writer: `concurrency` GETs at a time; the first
/// (the part being written) is always read and goes to the writer as it arrives, the others read
/// ahead into at most `budget` bytes of blocks.
struct InOrder<F> {
    slots: VecDeque<Slot<F>>,
    concurrency: usize,
    /// How many blocks the parts behind the first may fill.
    budget: usize,
    /// Blocks in the slots' queues.
    in_use: usize,
    /// Empty blocks for reuse.
    pool: Vec<BytesMut>,
}

impl<F: Future<Output = Result<Opened, TransferError>>> InOrder<F> {
    fn new(concurrency: usize, budget: usize) -> Self {
        InOrder {
            slots: VecDeque::new(),
            concurrency: concurrency.max(1),
            budget: budget / BLOCK,
            in_use: 0,
            pool: Vec::new(),
        }
    }

    /// Runs the GETs of `parts` (in the object's order) into `writer`, `checksum` computed over
    /// the bytes as they are written.
    async fn run<W: AsyncWrite + Unpin + ?Sized>(
        mut self,
        d: &Download,
        mut parts: impl Iterator<Item = F>,
        e_tag: Option<&str>,
        progress: &ProgressTracker,
        writer: &mut W,
        mut checksum: Option<&mut dyn RunningChecksum>,
    ) -> Result<Vec<Fetched>, TransferError> {
        let mut fetched = Vec::new();
        let mut at = 0u64;
        loop {
            while self.slots.len() < self.concurrency {
                let Some(part) = parts.next() else { break };
                self.slots.push_back(Slot::Opening(Box::pin(part)));
            }
            let Some(head) = self.slots.front_mut() else { break };
            if let Slot::Reading(r) = head {
                if let Some(mut block) = r.queue.pop_front() {
                    if let Some(c) = checksum.as_deref_mut() {
                        c.update(&block);
                    }
                    writer.write_all(&block).await.map_err(|e| TransferError::io("writing the download", e))?;
                    block.clear();
                    self.in_use -= 1;
                    if self.in_use + self.pool.len() < self.budget {
                        self.pool.push(block);
                    }
                    continue;
                }
                if r.done {
                    if r.span.start != at {
                        return Err(Download::decode(format!(
                            "the parts do not cover the object: one starts at byte {}, expected {at}",
                            r.span.start
                        )));
                    }
                    at = r.span.end;
                    fetched.push(Fetched { span: r.span, hasher: None, md5: None, verified: r.verified });
                    self.slots.pop_front();
                    continue;
                }
            }
            std::future::poll_fn(|cx| self.poll_parts(cx, d, e_tag, progress)).await?;
        }
        Ok(fetched)
    }

    /// Polls the GETs that may make progress: Ready once any did (a body opened, bytes were
    /// queued, a body ended), Pending when none could (the first part is always polled, so a
    /// wake-up is registered).
    fn poll_parts(
        &mut self,
        cx: &mut std::task::Context<'_>,
        d: &Download,
        e_tag: Option<&str>,
        progress: &ProgressTracker,
    ) -> Poll<Result<(), TransferError>> {
        let mut progressed = false;
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if let Slot::Opening(open) = slot {
                match open.as_mut().poll(cx) {
                    Poll::Ready(Ok(o)) => {
                        let Opened { span, body, verified } = o;
                        let queue = VecDeque::new();
                        *slot = Slot::Reading(PartRead { span, body, verified, got: 0, queue, done: false });
                        progressed = true;
                    }
                    Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                    Poll::Pending => continue,
                }
            }
            let Slot::Reading(r) = slot else { continue };
            loop {
                // The part being written reads on (up to a write's worth); the others while the
                // blocks in use are under the budget (a chunk may take it over by its size).
                let may_read = if i == 0 { r.queue.len() < WRITE_BLOCKS } else { self.in_use < self.budget };
                if r.done || !may_read {
                    break;
                }
                match r.body.poll_next_unpin(cx) {
                    Poll::Ready(Some(Ok(chunk))) => {
                        let len = chunk.len() as u64;
                        if r.got + len > r.span.len() {
                            return Poll::Ready(Err(d.size_mismatch(r.span, r.got + len)));
                        }
                        r.got += len;
                        progress.add(len);
                        let mut rest = &chunk[..];
                        while !rest.is_empty() {
                            if r.queue.back().is_none_or(|b| b.len() == BLOCK) {
                                let block = self.pool.pop().unwrap_or_else(|| BytesMut::with_capacity(BLOCK));
                                r.queue.push_back(block);
                                self.in_use += 1;
                            }
                            if let Some(block) = r.queue.back_mut() {
                                let n = rest.len().min(BLOCK - block.len());
                                block.extend_from_slice(&rest[..n]);
                                rest = &rest[n..];
                            }
                        }
                        progressed = true;
                    }
                    Poll::Ready(Some(Err(e))) => return Poll::Ready(Err(d.body_error(e, e_tag))),
                    Poll::Ready(None) => {
                        if r.got != r.span.len() {
                            return Poll::Ready(Err(d.size_mismatch(r.span, r.got)));
                        }
                        r.done = true;
                        progressed = true;
                    }
                    Poll::Pending => break,
                }
            }
        }
        if progressed { Poll::Ready(Ok(())) } else { Poll::Pending }
    }
}

/// The part being written reads ahead of the writer by at most this many blocks.
const WRITE_BLOCKS: usize = 4;

/// The parts of a plan every job needs.
struct PlanRef<'a> {
    e_tag: Option<&'a str>,
    size: u64,
    jobs: Jobs,
}

/// The jobs of a plan, the first one paired with the body already open for it.
fn with_first(jobs: Jobs, first: Option<Opened>) -> impl Iterator<Item = (Job, Option<Opened>)> + Send {
    let mut first = first;
    jobs.iter().map(move |job| (job, first.take()))
}

/// A mismatch between the checksum the object was stored with and the bytes received.
fn check(algorithm: &'static str, expected: &str, actual: String) -> Result<(), TransferError> {
    if expected == actual {
        return Ok(());
    }
    Err(S3Error::ChecksumMismatch { operation: GET, algorithm, expected: expected.to_owned(), actual }.into())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU64, Ordering};

    use cloudkit_core::testing::ReplayHttp;

    use super::*;

    const KIB: u64 = 1024;

    /// A writer that records, at every write, how many bytes the bodies had delivered that it had
    /// not received yet (what the download held in memory).
    struct Recording {
        pulled: Arc<AtomicU64>,
        out: Vec<u8>,
        most_held: u64,
    }

    impl AsyncWrite for Recording {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> Poll<std::io::Result<usize>> {
            let held = self.pulled.load(Ordering::SeqCst) - self.out.len() as u64;
            self.most_held = self.most_held.max(held);
            self.out.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut std::task::Context<'_>) -> Poll<std::io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    /// Runs 8 parts of 2 MiB (chunks of 3,000 bytes, which do not end at block boundaries, each
    /// after one Pending poll) through the in-order window
    /// (4 GETs at a time) with `budget` bytes of read-ahead: what the writer got, and the most
    /// bytes held.
    async fn window(budget: usize) -> (Vec<u8>, u64, Vec<u8>) {
        let http = Arc::new(ReplayHttp::new());
        let s3 = crate::tests::replay_builder(&http, "us-east-1").await.build().unwrap();
        let d = Download::new(s3, TransferConfig::default(), "b".into(), "k".into());
        let part = 2048 * KIB;
        let data: Vec<u8> = (0..8 * part).map(|i| (i * 31 % 251) as u8).collect();
        let pulled = Arc::new(AtomicU64::new(0));
        let parts = (0..8u64).map(|n| {
            let span = Span { start: n * part, end: (n + 1) * part };
            let chunks: Vec<_> = data[span.start as usize..span.end as usize]
                .chunks(3000)
                .map(|c| Ok(Bytes::copy_from_slice(c)))
                .collect();
            let pulled = pulled.clone();
            let body = ByteStream::new(
                stream::iter(chunks)
                    .then(|c| async move {
                        tokio::task::yield_now().await;
                        c
                    })
                    .inspect(move |c: &Result<Bytes, _>| {
                        pulled.fetch_add(c.as_ref().map_or(0, |c| c.len() as u64), Ordering::SeqCst);
                    }),
            );
            std::future::ready(Ok(Opened { span, body, verified: false }))
        });
        let progress = ProgressTracker::new(None, None);
        let mut w = Recording { pulled: pulled.clone(), out: Vec::new(), most_held: 0 };
        let mut md5 = cloudkit_core::Md5::default();
        let fetched = InOrder::new(4, budget)
            .run(&d, parts, None, &progress, &mut w, Some(&mut md5 as &mut dyn RunningChecksum))
            .await
            .unwrap();
        assert_eq!(fetched.len(), 8);
        assert!(fetched.windows(2).all(|f| f[0].span.end == f[1].span.start));
        let mut expected = cloudkit_core::Md5::default();
        expected.update(&data);
        assert_eq!(md5.finish_base64(), expected.finish_base64(), "the checksum saw the bytes in order");
        (w.out, w.most_held, data)
    }

    #[tokio::test]
    async fn the_parts_behind_the_one_being_written_read_ahead_only_within_the_budget() {
        // The part being written reads up to WRITE_BLOCKS blocks ahead of the writer, the others
        // stop reading when the blocks in use reach the budget (each of the three may take it over
        // by one chunk).
        let (out, held, data) = window(2 * BLOCK).await;
        assert!(out == data);
        let most = ((WRITE_BLOCKS + 2) * BLOCK + 3 * 3000) as u64;
        assert!(held <= most, "held {held} bytes, more than {most}");
        // Without a budget the three parts behind it are read whole.
        let (out, held, data) = window(usize::MAX).await;
        assert!(out == data);
        assert!(held > 2 * 2048 * KIB, "held {held} bytes");
    }
}
