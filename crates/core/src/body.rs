//! Request bodies that can be sent again on every retry, and streaming response bodies.

use std::fmt;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use futures::stream::{BoxStream, Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::error::{TransportError, TransportErrorKind};

/// Streams any reader as chunks of at most `chunk` bytes (one read each; at least 1 byte), ending
/// at end of file. How uploads from an `AsyncRead` turn it into a stream of parts' bytes.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use futures::TryStreamExt;
/// let chunks: Vec<_> = cloudkit_core::read_chunks(&b"some bytes"[..], 4).try_collect().await.unwrap();
/// assert_eq!(chunks.concat(), b"some bytes");
/// assert!(chunks.iter().all(|c| !c.is_empty() && c.len() <= 4));
/// # }
/// ```
pub fn read_chunks<R>(reader: R, chunk: usize) -> BoxStream<'static, std::io::Result<Bytes>>
where
    R: tokio::io::AsyncRead + Send + Unpin + 'static,
{
    let chunk = chunk.max(1);
    futures::stream::try_unfold(reader, move |mut reader| async move {
        let mut buf = BytesMut::zeroed(chunk);
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.truncate(n);
        Ok(Some((buf.freeze(), reader)))
    })
    .boxed()
}

/// A replayable request body: every attempt of a retried request resends exactly the same bytes.
///
/// `Bytes` clones are reference-counted, and a [`FileRegion`] is re-opened at its offset on every
/// attempt, so retrying never buffers a whole file in memory.
#[derive(Clone, Default)]
pub enum Body {
    /// No body (`Content-Length: 0` where the method needs one).
    #[default]
    Empty,
    /// An in-memory body.
    Bytes(Bytes),
    /// `len` bytes of a file starting at `offset`, streamed from disk.
    File(FileRegion),
}

impl Body {
    /// The body's length in bytes.
    pub fn len(&self) -> u64 {
        match self {
            Body::Empty => 0,
            Body::Bytes(b) => b.len() as u64,
            Body::File(f) => f.len,
        }
    }

    /// Whether the body has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of an in-memory body (`Some(empty)` for [`Body::Empty`], `None` for a file).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Body::Empty => Some(&[]),
            Body::Bytes(b) => Some(b),
            Body::File(_) => None,
        }
    }

    /// Reads the whole body into memory (used by signers that hash a file body and by tests).
    pub async fn collect(&self) -> std::io::Result<Bytes> {
        match self {
            Body::Empty => Ok(Bytes::new()),
            Body::Bytes(b) => Ok(b.clone()),
            Body::File(f) => {
                let mut stream = f.stream().await?;
                let mut out = BytesMut::with_capacity(usize::try_from(f.len).unwrap_or(0));
                while let Some(chunk) = stream.next().await {
                    out.extend_from_slice(&chunk?);
                }
                Ok(out.freeze())
            }
        }
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Empty => f.write_str("Body::Empty"),
            Body::Bytes(b) => write!(f, "Body::Bytes({} bytes)", b.len()),
            Body::File(r) => write!(f, "Body::File({:?}, offset {}, {} bytes)", r.path, r.offset, r.len),
        }
    }
}

impl From<Bytes> for Body {
    fn from(value: Bytes) -> Self {
        Body::Bytes(value)
    }
}

impl From<Vec<u8>> for Body {
    fn from(value: Vec<u8>) -> Self {
        Body::Bytes(Bytes::from(value))
    }
}

impl From<&'static [u8]> for Body {
    fn from(value: &'static [u8]) -> Self {
        Body::Bytes(Bytes::from_static(value))
    }
}

impl From<&'static str> for Body {
    fn from(value: &'static str) -> Self {
        Body::Bytes(Bytes::from_static(value.as_bytes()))
    }
}

impl From<String> for Body {
    fn from(value: String) -> Self {
        Body::Bytes(Bytes::from(value))
    }
}

impl From<FileRegion> for Body {
    fn from(value: FileRegion) -> Self {
        Body::File(value)
    }
}

/// A region of a file used as a request body (one multipart part, a block, a resumable chunk).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRegion {
    path: Arc<Path>,
    offset: u64,
    len: u64,
}

/// Size of the chunks read from disk when a file region is streamed.
const FILE_CHUNK: usize = 256 * 1024;

impl FileRegion {
    /// `len` bytes of the file at `path`, starting at `offset`.
    pub fn new(path: impl Into<PathBuf>, offset: u64, len: u64) -> Self {
        Self { path: Arc::from(path.into()), offset, len }
    }

    /// The whole file, sized from its current metadata.
    pub async fn whole_file(path: impl Into<PathBuf>) -> std::io::Result<Self> {
        let path = path.into();
        let len = crate::internal::blocking::metadata(&path).await?.len();
        Ok(Self::new(path, 0, len))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The first byte's offset in the file.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The region's length.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the region is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Opens the file at the region's offset and streams exactly `len` bytes. A file that became
    /// shorter than the region is an `UnexpectedEof` error, never a silently short body.
    pub async fn stream(&self) -> std::io::Result<BoxStream<'static, std::io::Result<Bytes>>> {
        let mut file = crate::internal::blocking::open(&self.path).await?;
        file.seek(std::io::SeekFrom::Start(self.offset)).await?;
        Ok(file_chunks(file, self.len, FILE_CHUNK))
    }
}

/// Streams exactly `len` bytes of `file` from its current position, in chunks of `chunk` bytes
/// (the last one shorter). A file that ends early is an `UnexpectedEof` error, never a silently
/// short body.
pub fn file_chunks(file: tokio::fs::File, len: u64, chunk: usize) -> BoxStream<'static, std::io::Result<Bytes>> {
    let chunk = chunk.max(1);
    futures::stream::try_unfold((file, len), move |(mut file, remaining)| async move {
        if remaining == 0 {
            return Ok(None);
        }
        let want = usize::try_from(remaining.min(chunk as u64)).unwrap_or(chunk);
        let mut buf = BytesMut::zeroed(want);
        let mut filled = 0;
        while filled < want {
            let n = file.read(&mut buf[filled..]).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the file ended before the expected length",
                ));
            }
            filled += n;
        }
        Ok(Some((buf.freeze(), (file, remaining - want as u64))))
    })
    .boxed()
}

/// A streaming response body: a `Stream` of `Bytes` chunks.
pub struct ByteStream {
    inner: BoxStream<'static, Result<Bytes, TransportError>>,
}

impl ByteStream {
    /// Wraps any stream of chunks.
    pub fn new(stream: impl Stream<Item = Result<Bytes, TransportError>> + Send + 'static) -> Self {
        Self { inner: stream.boxed() }
    }

    /// A body that is already in memory.
    pub fn from_bytes(bytes: Bytes) -> Self {
        Self::new(futures::stream::once(async move { Ok(bytes) }))
    }

    /// An empty body.
    pub fn empty() -> Self {
        Self::new(futures::stream::empty())
    }

    /// Reads the whole body into memory.
    pub async fn collect(self) -> Result<Bytes, TransportError> {
        self.collect_with_capacity(0).await
    }

    /// Reads the whole body into memory, reserving `capacity` bytes up front: the size the caller
    /// expects (a range it asked for, a Content-Length), so that a large body is not copied each
    /// time the buffer grows and never holds twice its size. The body may be longer or shorter;
    /// callers should cap an untrusted size.
    pub async fn collect_with_capacity(mut self, capacity: usize) -> Result<Bytes, TransportError> {
        let mut out = BytesMut::with_capacity(capacity);
        while let Some(chunk) = self.inner.next().await {
            out.extend_from_slice(&chunk?);
        }
        Ok(out.freeze())
    }

    /// Reads at most `limit` bytes (used for error bodies, which are small but untrusted).
    pub async fn collect_limited(mut self, limit: usize) -> Result<Bytes, TransportError> {
        let mut out = BytesMut::new();
        while let Some(chunk) = self.inner.next().await {
            let chunk = chunk?;
            let room = limit.saturating_sub(out.len());
            out.extend_from_slice(&chunk[..chunk.len().min(room)]);
            if out.len() >= limit {
                break;
            }
        }
        Ok(out.freeze())
    }

    /// Wraps the stream so that each chunk must arrive within `idle`; a stall becomes a
    /// [`TransportErrorKind::Timeout`] error instead of hanging forever.
    pub fn with_idle_timeout(self, idle: std::time::Duration) -> Self {
        let stream = futures::stream::unfold(Some(self.inner), move |state| async move {
            let mut inner = state?;
            match tokio::time::timeout(idle, inner.next()).await {
                Ok(Some(item)) => Some((item, Some(inner))),
                Ok(None) => None,
                Err(_) => Some((
                    Err(TransportError::new(TransportErrorKind::Timeout, format!("no response data for {idle:?}"))),
                    None,
                )),
            }
        });
        Self::new(stream)
    }
}

impl Stream for ByteStream {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ByteStream")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_region_streams_exact_range() {
        let dir = std::env::temp_dir().join(format!("ck-core-body-{}", std::process::id()));
        tokio::fs::create_dir_all(&dir).await.unwrap();
        let path = dir.join("f.bin");
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        tokio::fs::write(&path, &data).await.unwrap();

        let region = FileRegion::new(&path, 300_001, 500_000);
        let body = Body::from(region.clone());
        assert_eq!(body.len(), 500_000);
        let got = body.collect().await.unwrap();
        assert_eq!(&got[..], &data[300_001..800_001]);
        // replayable: a second read gives the same bytes
        assert_eq!(body.collect().await.unwrap(), got);

        let too_long = Body::from(FileRegion::new(&path, 900_000, 200_000));
        let err = too_long.collect().await.unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::UnexpectedEof);
        tokio::fs::remove_dir_all(&dir).await.unwrap();
    }

    #[tokio::test]
    async fn collect_limited_stops_at_limit() {
        let s = ByteStream::new(futures::stream::iter(vec![
            Ok(Bytes::from_static(b"hello ")),
            Ok(Bytes::from_static(b"world")),
        ]));
        assert_eq!(&s.collect_limited(8).await.unwrap()[..], b"hello wo");
    }

    #[tokio::test(start_paused = true)]
    async fn idle_timeout_turns_a_stall_into_an_error() {
        let stalled = ByteStream::new(
            futures::stream::once(async { Ok(Bytes::from_static(b"a")) }).chain(futures::stream::pending()),
        );
        let mut s = stalled.with_idle_timeout(std::time::Duration::from_secs(5));
        assert_eq!(&s.next().await.unwrap().unwrap()[..], b"a");
        let err = s.next().await.unwrap().unwrap_err();
        assert_eq!(err.kind(), TransportErrorKind::Timeout);
        assert!(s.next().await.is_none());
    }
}
