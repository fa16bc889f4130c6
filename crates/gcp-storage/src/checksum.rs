//! CRC32C and MD5, as GCS encodes them (base64 of the big-endian CRC32C; base64 of the MD5).
//! The stream that verifies downloads is core's ([`cloudkit_core::verify_stream`]); GCS adds its
//! CRC32C as a [`RunningChecksum`] and reads the expected values from `x-goog-hash`.
//! The CRC32C crate is the one the S3 client uses (`crc32c`, hardware-accelerated).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cloudkit_core::{ByteStream, HeaderMap, Md5, RunningChecksum, verify_stream};

/// A running CRC32C, finishing as GCS writes it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Crc32c(u32);

impl Crc32c {
    /// The CRC32C of everything fed so far, GCS-encoded.
    pub(crate) fn base64(self) -> String {
        B64.encode(self.0.to_be_bytes())
    }
}

impl RunningChecksum for Crc32c {
    fn algorithm(&self) -> &'static str {
        "CRC32C"
    }

    fn update(&mut self, data: &[u8]) {
        self.0 = crc32c::crc32c_append(self.0, data);
    }

    fn finish(self: Box<Self>) -> String {
        self.base64()
    }
}

/// Running CRC32C and MD5 of an upload.
#[derive(Clone, Default)]
pub(crate) struct Hasher {
    crc: Crc32c,
    md5: Md5,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher").field("crc32c", &self.crc32c()).finish_non_exhaustive()
    }
}

impl Hasher {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.crc.update(data);
        self.md5.update(data);
    }

    pub(crate) fn crc32c(&self) -> String {
        self.crc.base64()
    }

    pub(crate) fn md5(&self) -> String {
        self.md5.base64()
    }
}

/// The CRC32C of `data`, GCS-encoded.
///
/// ```
/// assert_eq!(cloudkit_gcp_storage::crc32c_base64(b"hello world"), "yZRlqg==");
/// ```
pub fn crc32c_base64(data: &[u8]) -> String {
    Crc32c(crc32c::crc32c(data)).base64()
}

/// The checksums in an `x-goog-hash: crc32c=…,md5=…` header.
pub(crate) fn hashes_from_headers(headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let mut crc = None;
    let mut md5 = None;
    for value in headers.get_all("x-goog-hash") {
        let Ok(text) = value.to_str() else { continue };
        for part in text.split(',') {
            match part.trim().split_once('=') {
                Some(("crc32c", v)) if !v.is_empty() && v != "None" => crc = Some(v.to_owned()),
                Some(("md5", v)) if !v.is_empty() && v != "None" => md5 = Some(v.to_owned()),
                _ => {}
            }
        }
    }
    (crc, md5)
}

/// Wraps a whole-object download so that, at its end, the data's CRC32C (or, when GCS sent no
/// CRC32C, its MD5) must equal what `x-goog-hash` says; a mismatch ends the stream with an error
/// instead of passing corrupt data on. Without either hash the body is returned as is.
pub(crate) fn verify_download(body: ByteStream, headers: &HeaderMap) -> ByteStream {
    match hashes_from_headers(headers) {
        (Some(crc), _) => verify_stream(body, Box::new(Crc32c::default()), crc),
        (None, Some(md5)) => verify_stream(body, Box::new(Md5::default()), md5),
        (None, None) => body,
    }
}

#[cfg(test)]
mod tests {
    use cloudkit_core::{Bytes, HeaderValue, md5_base64};

    use crate::GcsError;

    use super::*;

    #[test]
    fn known_values() {
        // GCS documents CRC32C of "hello world" as yZRlqg== and MD5 as XrY7u+Ae7tCTyyK7j1rNww==.
        assert_eq!(crc32c_base64(b"hello world"), "yZRlqg==");
        assert_eq!(md5_base64(b"hello world"), "XrY7u+Ae7tCTyyK7j1rNww==");
        let mut h = Hasher::default();
        h.update(b"hello ");
        h.update(b"world");
        assert_eq!(h.crc32c(), "yZRlqg==");
        assert_eq!(h.md5(), "XrY7u+Ae7tCTyyK7j1rNww==");
    }

    fn hash_header(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-goog-hash", HeaderValue::from_str(value).unwrap());
        headers
    }

    async fn read(body: &'static [u8], headers: &HeaderMap) -> Result<Bytes, GcsError> {
        verify_download(ByteStream::from_bytes(Bytes::from_static(body)), headers)
            .collect()
            .await
            .map_err(|e| GcsError::from_body_error("objects.get", e))
    }

    #[tokio::test]
    async fn corrupt_downloads_fail() {
        let crc = hash_header("crc32c=yZRlqg==");
        assert_eq!(&read(b"hello world", &crc).await.unwrap()[..], b"hello world");
        let e = read(b"hello w0rld", &crc).await.unwrap_err();
        assert!(e.to_string().contains("CRC32C mismatch"), "{e}");
        assert!(
            matches!(&e, GcsError::ChecksumMismatch { algorithm: "CRC32C", expected, .. } if expected == "yZRlqg==")
        );

        // MD5 only when GCS sends no CRC32C
        let md5 = hash_header("md5=XrY7u+Ae7tCTyyK7j1rNww==");
        let e = read(b"hello w0rld", &md5).await.unwrap_err();
        assert!(
            matches!(&e, GcsError::ChecksumMismatch { algorithm: "MD5", actual, .. } if *actual == md5_base64(b"hello w0rld"))
        );
        // CRC32C wins when both are there
        let both = hash_header(&format!("crc32c=yZRlqg==,md5={}", md5_base64(b"other")));
        assert_eq!(&read(b"hello world", &both).await.unwrap()[..], b"hello world");
        // nothing to check against
        assert_eq!(&read(b"anything", &HeaderMap::new()).await.unwrap()[..], b"anything");
    }
}
