//! Integrity checks: flexible checksums sent on uploads and verified on downloads, and the
//! Content-MD5 S3 requires on DeleteObjects.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cloudkit_core::{Body, ByteStream, HeaderMap, RunningChecksum};
use futures::StreamExt;
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
        h.finish_base64()
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An incremental checksum of one [`ChecksumAlgorithm`]; it is the [`RunningChecksum`] that
/// [`cloudkit_core::verify_stream`] runs over downloads.
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

    fn finish_base64(self) -> String {
        match self {
            Hasher::Crc32c(c) => B64.encode(c.to_be_bytes()),
            Hasher::Sha256(h) => B64.encode(h.finalize()),
            Hasher::Sha1(h) => B64.encode(sha1::Digest::finalize(*h)),
            Hasher::Crc32(c) => B64.encode((!c).to_be_bytes()),
            Hasher::Crc64Nvme(c) => B64.encode((!c).to_be_bytes()),
        }
    }
}

impl RunningChecksum for Hasher {
    fn algorithm(&self) -> &'static str {
        match self {
            Hasher::Crc32c(_) => ChecksumAlgorithm::Crc32c,
            Hasher::Sha256(_) => ChecksumAlgorithm::Sha256,
            Hasher::Sha1(_) => ChecksumAlgorithm::Sha1,
            Hasher::Crc32(_) => ChecksumAlgorithm::Crc32,
            Hasher::Crc64Nvme(_) => ChecksumAlgorithm::Crc64Nvme,
        }
        .as_str()
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Crc32c(c) => *c = crc32c::crc32c_append(*c, data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha1(h) => sha1::Digest::update(h.as_mut(), data),
            Hasher::Crc32(c) => *c = crate::crc_tables::crc32_update(*c, data),
            Hasher::Crc64Nvme(c) => *c = crate::crc_tables::crc64nvme_update(*c, data),
        }
    }

    fn finish(self: Box<Self>) -> String {
        self.finish_base64()
    }
}

/// The base64 checksum (`checksum`: a [`Hasher`] or core's [`Md5`](cloudkit_core::Md5)) of a
/// request body; a file body is streamed from disk, never buffered.
pub(crate) async fn body_checksum(body: &Body, mut checksum: Box<dyn RunningChecksum>) -> std::io::Result<String> {
    match body {
        Body::Empty => {}
        Body::Bytes(b) => checksum.update(b),
        Body::File(region) => {
            let mut stream = region.stream().await?;
            while let Some(chunk) = stream.next().await {
                checksum.update(&chunk?);
            }
        }
    }
    Ok(checksum.finish())
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

/// Wraps a download so the checksum is checked when the last byte has arrived (a mismatch ends
/// the stream with a [`ChecksumMismatchError`](cloudkit_core::ChecksumMismatchError) as the
/// source of the error).
pub(crate) fn verifying(body: ByteStream, algorithm: ChecksumAlgorithm, expected: String) -> ByteStream {
    cloudkit_core::verify_stream(body, Box::new(Hasher::new(algorithm)), expected)
}

#[cfg(test)]
mod tests {
    use cloudkit_core::Bytes;

    use super::*;

    #[test]
    fn known_vectors() {
        // CRC32C("123456789") = 0xE3069283
        assert_eq!(ChecksumAlgorithm::Crc32c.checksum(b"123456789"), B64.encode(0xE306_9283u32.to_be_bytes()));
        assert_eq!(ChecksumAlgorithm::Crc32c.checksum(b""), "AAAAAA==");
        assert_eq!(ChecksumAlgorithm::Sha256.checksum(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(ChecksumAlgorithm::Crc32.checksum(b"123456789"), B64.encode(0xCBF4_3926u32.to_be_bytes()));
        assert_eq!(
            ChecksumAlgorithm::Crc64Nvme.checksum(b"123456789"),
            B64.encode(0xAE8B_1486_0A79_9888u64.to_be_bytes())
        );
    }

    #[tokio::test]
    async fn bodies_are_checksummed_from_memory_and_from_disk() {
        let dir = std::env::temp_dir().join(format!("ck-s3-checksum-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("body.bin");
        std::fs::write(&path, b"xxhello worldxx").unwrap();
        let file = Body::File(cloudkit_core::FileRegion::new(&path, 2, 11));
        let crc = ChecksumAlgorithm::Crc32c.checksum(b"hello world");
        assert_eq!(body_checksum(&file, Box::new(Hasher::new(ChecksumAlgorithm::Crc32c))).await.unwrap(), crc);
        let md5 = cloudkit_core::md5_base64(b"hello world");
        assert_eq!(body_checksum(&file, Box::new(cloudkit_core::Md5::default())).await.unwrap(), md5);
        let bytes = Body::Bytes(Bytes::from_static(b"hello world"));
        assert_eq!(body_checksum(&bytes, Box::new(cloudkit_core::Md5::default())).await.unwrap(), md5);
        let empty = body_checksum(&Body::Empty, Box::new(cloudkit_core::Md5::default())).await.unwrap();
        assert_eq!(empty, "1B2M2Y8AsgTpgAmY7PhCfg==");
        std::fs::remove_dir_all(&dir).unwrap();
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
        let mismatch = src.downcast_ref::<cloudkit_core::ChecksumMismatchError>().unwrap();
        assert_eq!(mismatch.algorithm, "CRC32C");
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
