//! Integrity checks every provider shares: the base64 MD5 (`Content-MD5`, Azure's block MD5s,
//! GCS's `md5Hash`) and a download stream that checks a checksum when its last byte has arrived.
//!
//! The algorithms particular to one service (S3's CRC32, CRC64/NVME, SHA-1, SHA-256; CRC32C for
//! S3 and GCS) implement [`RunningChecksum`] in their crates; the stream that verifies them is
//! written once, here.

use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use futures::Stream;
use md5::Digest as _;

use crate::body::ByteStream;
use crate::error::{TransportError, TransportErrorKind};

/// The base64 MD5 of `data`, as `Content-MD5` and the services' MD5 fields carry it.
///
/// ```
/// assert_eq!(cloudkit_core::md5_base64(b"hello world"), "XrY7u+Ae7tCTyyK7j1rNww==");
/// ```
pub fn md5_base64(data: &[u8]) -> String {
    B64.encode(md5::Md5::digest(data))
}

/// A checksum computed over data as it streams by.
pub trait RunningChecksum: Send {
    /// The algorithm's name as the service spells it (`MD5`, `CRC32C`, `crc32c`, …), for errors.
    fn algorithm(&self) -> &'static str;

    /// Feeds the next bytes.
    fn update(&mut self, data: &[u8]);

    /// The checksum of everything fed, in the service's encoding (base64 for every service
    /// cloudkit speaks).
    fn finish(self: Box<Self>) -> String;
}

/// An incremental MD5, finishing as base64.
///
/// ```
/// use cloudkit_core::{Md5, RunningChecksum};
/// let mut md5 = Md5::default();
/// md5.update(b"hello ");
/// md5.update(b"world");
/// assert_eq!(md5.finish_base64(), cloudkit_core::md5_base64(b"hello world"));
/// ```
#[derive(Clone, Default)]
pub struct Md5(md5::Md5);

impl Md5 {
    /// The base64 MD5 of everything fed so far (the hasher can keep going).
    pub fn base64(&self) -> String {
        B64.encode(self.0.clone().finalize())
    }

    /// The base64 MD5 of everything fed.
    pub fn finish_base64(self) -> String {
        B64.encode(self.0.finalize())
    }
}

impl std::fmt::Debug for Md5 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Md5")
    }
}

impl RunningChecksum for Md5 {
    fn algorithm(&self) -> &'static str {
        "MD5"
    }

    fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    fn finish(self: Box<Self>) -> String {
        self.finish_base64()
    }
}

/// The data received does not match the checksum the service sent: the download is corrupt.
/// It reaches readers of a verified [`ByteStream`] as the source of a [`TransportError`] of kind
/// [`TransportErrorKind::Body`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{algorithm} checksum mismatch: the server sent {expected}, the data has {actual}")]
pub struct ChecksumMismatchError {
    /// The algorithm.
    pub algorithm: &'static str,
    /// The value the server sent.
    pub expected: String,
    /// The value of the bytes received.
    pub actual: String,
}

/// Wraps a download so that, when its last byte has arrived, the checksum of everything read
/// must equal `expected`; a mismatch ends the stream with an error instead of passing corrupt
/// data on silently. A stream that fails or is dropped early is not checked.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudkit_core::{ByteStream, Bytes, Md5, checksum_mismatch, md5_base64, verify_stream};
/// let expected = md5_base64(b"hello world");
/// let ok = verify_stream(ByteStream::from_bytes(Bytes::from_static(b"hello world")), Box::new(Md5::default()), expected.clone());
/// assert_eq!(&ok.collect().await.unwrap()[..], b"hello world");
/// let corrupt = verify_stream(ByteStream::from_bytes(Bytes::from_static(b"hello w0rld")), Box::new(Md5::default()), expected);
/// let error = corrupt.collect().await.unwrap_err();
/// assert_eq!(checksum_mismatch(&error).unwrap().actual, md5_base64(b"hello w0rld"));
/// # }
/// ```
pub fn verify_stream(body: ByteStream, checksum: Box<dyn RunningChecksum>, expected: String) -> ByteStream {
    ByteStream::new(Verifying { inner: body, checksum: Some(checksum), expected })
}

struct Verifying {
    inner: ByteStream,
    checksum: Option<Box<dyn RunningChecksum>>,
    expected: String,
}

impl Stream for Verifying {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(c) = this.checksum.as_mut() {
                    c.update(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.checksum = None;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => match this.checksum.take() {
                Some(c) => {
                    let algorithm = c.algorithm();
                    let actual = c.finish();
                    if actual == this.expected {
                        Poll::Ready(None)
                    } else {
                        let mismatch = ChecksumMismatchError { algorithm, expected: this.expected.clone(), actual };
                        Poll::Ready(Some(Err(
                            TransportError::new(TransportErrorKind::Body, "corrupt download").with_source(mismatch)
                        )))
                    }
                }
                None => Poll::Ready(None),
            },
            Poll::Pending => Poll::Pending,
        }
    }
}

/// The [`ChecksumMismatchError`] behind a failed read of a verified stream, if that is what it was.
pub fn checksum_mismatch(error: &TransportError) -> Option<&ChecksumMismatchError> {
    std::error::Error::source(error).and_then(|s| s.downcast_ref::<ChecksumMismatchError>())
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_mismatch_ends_the_stream_with_a_typed_error_after_the_data() {
        let chunks = vec![Ok(Bytes::from_static(b"hello ")), Ok(Bytes::from_static(b"w0rld"))];
        let mut s = verify_stream(
            ByteStream::new(futures::stream::iter(chunks)),
            Box::new(Md5::default()),
            md5_base64(b"hello world"),
        );
        assert_eq!(&s.next().await.unwrap().unwrap()[..], b"hello ");
        assert_eq!(&s.next().await.unwrap().unwrap()[..], b"w0rld");
        let e = s.next().await.unwrap().unwrap_err();
        assert_eq!(e.kind(), TransportErrorKind::Body);
        let mismatch = checksum_mismatch(&e).unwrap();
        assert_eq!(mismatch.algorithm, "MD5");
        assert_eq!(mismatch.expected, md5_base64(b"hello world"));
        assert_eq!(mismatch.actual, md5_base64(b"hello w0rld"));
        assert!(s.next().await.is_none());
    }

    #[tokio::test]
    async fn a_failed_stream_is_not_checked() {
        let chunks = vec![Ok(Bytes::from_static(b"hel")), Err(TransportError::new(TransportErrorKind::Body, "reset"))];
        let mut s = verify_stream(ByteStream::new(futures::stream::iter(chunks)), Box::new(Md5::default()), "x".into());
        assert!(s.next().await.unwrap().is_ok());
        let e = s.next().await.unwrap().unwrap_err();
        assert!(checksum_mismatch(&e).is_none());
        assert!(s.next().await.is_none());
    }
}
