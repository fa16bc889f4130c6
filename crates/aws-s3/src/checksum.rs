//! Integrity checks: flexible checksums sent on uploads and verified on downloads, and the
//! Content-MD5 S3 requires on DeleteObjects.

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use cloudkit_core::{Body, ByteStream, HeaderMap, TransportError, TransportErrorKind};
use futures::{Stream, StreamExt};
use sha2::Digest as _;

/// When the client computes and checks checksums (S3-compatible stores differ, so this is a
/// setting; the AWS SDKs call it `request_checksum_calculation` / `response_checksum_validation`).
///
/// The default is [`ChecksumMode::WhenSupported`] for AWS endpoints and
/// [`ChecksumMode::WhenRequired`] for custom endpoints, as the January 2025 SDK change that
/// broke MinIO, R2, Ceph and others taught (see the crate docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChecksumMode {
    /// No flexible checksums: none sent, none verified. DeleteObjects still carries the
    /// `Content-MD5` that S3 requires.
    Off,
    /// Send checksums only where S3 requires one (DeleteObjects: `Content-MD5`); verify a
    /// download's checksum when the server sends one unasked. Default for custom endpoints.
    WhenRequired,
    /// Also send CRC32C on PutObject and UploadPart (unless the caller gave a checksum), ask
    /// for checksums on GetObject (`x-amz-checksum-mode: ENABLED`) and verify them when the
    /// whole object is read. Default for AWS endpoints.
    WhenSupported,
    /// Like [`ChecksumMode::WhenSupported`], and a whole-object GetObject whose response has
    /// no full-object checksum the client can verify fails with `ChecksumMismatch`
    /// (expected `none`).
    Required,
}

impl ChecksumMode {
    pub(crate) fn sends_on_upload(self) -> bool {
        matches!(self, ChecksumMode::WhenSupported | ChecksumMode::Required)
    }

    pub(crate) fn verifies(self) -> bool {
        !matches!(self, ChecksumMode::Off)
    }
}

/// A flexible checksum algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChecksumAlgorithm {
    /// CRC32C (Castagnoli), the client's default: hardware-accelerated and a full-object
    /// checksum for multipart uploads too.
    Crc32c,
    /// SHA-256.
    Sha256,
    /// SHA-1 (verified on download; accepted for uploads).
    Sha1,
    /// CRC32 (IEEE).
    Crc32,
    /// CRC64/NVME, S3's default full-object checksum since 2025.
    Crc64Nvme,
}

impl ChecksumAlgorithm {
    /// The name S3 uses (`CRC32C`, `SHA256`, `SHA1`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Sha256 => "SHA256",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
        }
    }

    /// The header carrying the value (`x-amz-checksum-crc32c`, …).
    pub fn header(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
        }
    }

    /// Computes the base64 checksum of `data`.
    pub fn checksum(self, data: &[u8]) -> String {
        let mut h = Hasher::new(self);
        h.update(data);
        h.finish()
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An incremental checksum.
pub(crate) enum Hasher {
    Crc32c(u32),
    Sha256(Box<sha2::Sha256>),
    Sha1(Box<sha1::Sha1>),
    Crc32(u32),
    Crc64Nvme(u64),
}

impl Hasher {
    pub(crate) fn new(algorithm: ChecksumAlgorithm) -> Self {
        match algorithm {
            ChecksumAlgorithm::Crc32c => Hasher::Crc32c(0),
            ChecksumAlgorithm::Sha256 => Hasher::Sha256(Box::default()),
            ChecksumAlgorithm::Sha1 => Hasher::Sha1(Box::default()),
            ChecksumAlgorithm::Crc32 => Hasher::Crc32(!0),
            ChecksumAlgorithm::Crc64Nvme => Hasher::Crc64Nvme(!0),
        }
    }

    pub(crate) fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Crc32c(c) => *c = crc32c::crc32c_append(*c, data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha1(h) => sha1::Digest::update(h.as_mut(), data),
            Hasher::Crc32(c) => *c = crate::crc_tables::crc32_update(*c, data),
            Hasher::Crc64Nvme(c) => *c = crate::crc_tables::crc64nvme_update(*c, data),
        }
    }

    pub(crate) fn finish(self) -> String {
        match self {
            Hasher::Crc32c(c) => B64.encode(c.to_be_bytes()),
            Hasher::Sha256(h) => B64.encode(h.finalize()),
            Hasher::Sha1(h) => B64.encode(sha1::Digest::finalize(*h)),
            Hasher::Crc32(c) => B64.encode((!c).to_be_bytes()),
            Hasher::Crc64Nvme(c) => B64.encode((!c).to_be_bytes()),
        }
    }
}

/// The base64 checksum of a request body; a file body is streamed from disk, never buffered.
pub(crate) async fn body_checksum(algorithm: ChecksumAlgorithm, body: &Body) -> std::io::Result<String> {
    let mut h = Hasher::new(algorithm);
    match body {
        Body::Empty => {}
        Body::Bytes(b) => h.update(b),
        Body::File(region) => {
            let mut stream = region.stream().await?;
            while let Some(chunk) = stream.next().await {
                h.update(&chunk?);
            }
        }
        #[allow(unreachable_patterns)]
        other => h.update(&other.collect().await?),
    }
    Ok(h.finish())
}

/// The base64 MD5 of a request body (`Content-MD5`), streaming a file body from disk.
pub(crate) async fn body_md5(body: &Body) -> std::io::Result<String> {
    use md5::Digest as _;
    let mut h = md5::Md5::new();
    match body {
        Body::File(region) => {
            let mut stream = region.stream().await?;
            while let Some(chunk) = stream.next().await {
                h.update(&chunk?);
            }
        }
        other => h.update(&other.collect().await?),
    }
    Ok(B64.encode(h.finalize()))
}

/// The base64 MD5 of `data` (`Content-MD5`).
pub(crate) fn content_md5(data: &[u8]) -> String {
    use md5::Digest as _;
    B64.encode(md5::Md5::digest(data))
}

/// The full-object checksum a response carries that this client can verify.
pub(crate) fn response_checksum(headers: &HeaderMap) -> Option<(ChecksumAlgorithm, String)> {
    // A composite (multipart) checksum is a checksum of checksums (`xxxx-3`) and says nothing
    // checkable about the bytes.
    if headers.get("x-amz-checksum-type").is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"COMPOSITE")) {
        return None;
    }
    [
        ChecksumAlgorithm::Crc64Nvme,
        ChecksumAlgorithm::Crc32c,
        ChecksumAlgorithm::Crc32,
        ChecksumAlgorithm::Sha256,
        ChecksumAlgorithm::Sha1,
    ]
    .into_iter()
    .find_map(|a| {
        let v = headers.get(a.header())?.to_str().ok()?;
        (!v.contains('-')).then(|| (a, v.to_owned()))
    })
}

/// A checksum mismatch found while streaming a download; it reaches users of the raw
/// [`ByteStream`] as the source of a [`TransportError`] (and as
/// [`S3Error::ChecksumMismatch`](crate::S3Error::ChecksumMismatch) from `collect`).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{algorithm} checksum mismatch: the server sent {expected}, the data has {actual}")]
pub struct ChecksumMismatchError {
    /// The algorithm.
    pub algorithm: &'static str,
    /// The value the server sent.
    pub expected: String,
    /// The value of the bytes received.
    pub actual: String,
}

/// Wraps a download so the checksum is checked when the last byte has arrived.
pub(crate) fn verifying(body: ByteStream, algorithm: ChecksumAlgorithm, expected: String) -> ByteStream {
    ByteStream::new(Verifying { inner: body, hasher: Some(Hasher::new(algorithm)), algorithm, expected })
}

struct Verifying {
    inner: ByteStream,
    hasher: Option<Hasher>,
    algorithm: ChecksumAlgorithm,
    expected: String,
}

impl Stream for Verifying {
    type Item = Result<Bytes, TransportError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(h) = this.hasher.as_mut() {
                    h.update(&chunk);
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Ready(Some(Err(e))) => {
                this.hasher = None;
                Poll::Ready(Some(Err(e)))
            }
            Poll::Ready(None) => match this.hasher.take() {
                Some(h) => {
                    let actual = h.finish();
                    if actual == this.expected {
                        Poll::Ready(None)
                    } else {
                        let mismatch = ChecksumMismatchError {
                            algorithm: this.algorithm.as_str(),
                            expected: this.expected.clone(),
                            actual,
                        };
                        Poll::Ready(Some(Err(
                            TransportError::new(TransportErrorKind::Body, mismatch.to_string()).with_source(mismatch)
                        )))
                    }
                }
                None => Poll::Ready(None),
            },
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // CRC32C("123456789") = 0xE3069283
        assert_eq!(ChecksumAlgorithm::Crc32c.checksum(b"123456789"), B64.encode(0xE306_9283u32.to_be_bytes()));
        assert_eq!(ChecksumAlgorithm::Crc32c.checksum(b""), "AAAAAA==");
        assert_eq!(ChecksumAlgorithm::Sha256.checksum(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(content_md5(b""), "1B2M2Y8AsgTpgAmY7PhCfg==");
        assert_eq!(ChecksumAlgorithm::Crc32.checksum(b"123456789"), B64.encode(0xCBF4_3926u32.to_be_bytes()));
        assert_eq!(
            ChecksumAlgorithm::Crc64Nvme.checksum(b"123456789"),
            B64.encode(0xAE8B_1486_0A79_9888u64.to_be_bytes())
        );
    }

    #[tokio::test]
    async fn verifying_stream_reports_a_mismatch() {
        let good = ChecksumAlgorithm::Crc32c.checksum(b"hello world");
        let s = ByteStream::new(futures::stream::iter(vec![
            Ok(Bytes::from_static(b"hello ")),
            Ok(Bytes::from_static(b"world")),
        ]));
        assert_eq!(&verifying(s, ChecksumAlgorithm::Crc32c, good.clone()).collect().await.unwrap()[..], b"hello world");
        let s = ByteStream::from_bytes(Bytes::from_static(b"hellO world"));
        let e = verifying(s, ChecksumAlgorithm::Crc32c, good).collect().await.unwrap_err();
        let src = std::error::Error::source(&e).unwrap();
        assert!(src.downcast_ref::<ChecksumMismatchError>().is_some());
    }

    #[test]
    fn composite_checksums_are_not_verified() {
        let mut h = HeaderMap::new();
        h.insert("x-amz-checksum-crc32c", "abcd-3".parse().unwrap());
        assert!(response_checksum(&h).is_none());
        h.insert("x-amz-checksum-crc32c", "yZRlqg==".parse().unwrap());
        assert_eq!(response_checksum(&h).unwrap().0, ChecksumAlgorithm::Crc32c);
        h.insert("x-amz-checksum-type", "COMPOSITE".parse().unwrap());
        assert!(response_checksum(&h).is_none());
    }
}
