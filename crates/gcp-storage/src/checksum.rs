//! CRC32C and MD5, as GCS encodes them (base64 of the big-endian CRC32C; base64 of the MD5).
//! The CRC32C crate is the one the S3 client uses (`crc32c`, hardware-accelerated).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use cloudkit_core::{ByteStream, HeaderMap, TransportError, TransportErrorKind};
use futures::StreamExt;
use md5::Digest as _;

/// Running CRC32C and MD5 of a byte sequence.
#[derive(Clone, Default)]
pub(crate) struct Hasher {
    crc: u32,
    md5: md5::Md5,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher").field("crc32c", &self.crc32c()).finish_non_exhaustive()
    }
}

impl Hasher {
    pub(crate) fn update(&mut self, data: &[u8]) {
        self.crc = crc32c::crc32c_append(self.crc, data);
        self.md5.update(data);
    }

    pub(crate) fn crc32c(&self) -> String {
        encode_crc32c(self.crc)
    }

    pub(crate) fn md5(&self) -> String {
        B64.encode(self.md5.clone().finalize())
    }
}

/// Base64 of a big-endian CRC32C, as GCS writes it.
pub(crate) fn encode_crc32c(crc: u32) -> String {
    B64.encode(crc.to_be_bytes())
}

/// The CRC32C of `data`, GCS-encoded.
pub fn crc32c_base64(data: &[u8]) -> String {
    encode_crc32c(crc32c::crc32c(data))
}

/// The MD5 of `data`, GCS-encoded.
pub fn md5_base64(data: &[u8]) -> String {
    B64.encode(md5::Md5::digest(data))
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

/// Wraps a download so that, at its end, the data's CRC32C (and MD5 when given) must equal the
/// expected values; a mismatch ends the stream with an error instead of silently passing corrupt
/// data on.
pub(crate) fn verify_stream(body: ByteStream, crc32c: Option<String>, md5: Option<String>) -> ByteStream {
    if crc32c.is_none() && md5.is_none() {
        return body;
    }
    let state = (body, Hasher::default(), false);
    let stream = futures::stream::unfold(state, move |(mut body, mut hasher, done)| {
        let crc32c = crc32c.clone();
        let md5 = md5.clone();
        async move {
            if done {
                return None;
            }
            match body.next().await {
                Some(Ok(chunk)) => {
                    hasher.update(&chunk);
                    Some((Ok::<Bytes, TransportError>(chunk), (body, hasher, false)))
                }
                Some(Err(e)) => Some((Err(e), (body, hasher, true))),
                None => {
                    let mut problem = None;
                    if let Some(expected) = &crc32c {
                        let actual = hasher.crc32c();
                        if &actual != expected {
                            problem = Some(format!("crc32c mismatch: expected {expected}, got {actual}"));
                        }
                    } else if let Some(expected) = &md5 {
                        let actual = hasher.md5();
                        if &actual != expected {
                            problem = Some(format!("md5 mismatch: expected {expected}, got {actual}"));
                        }
                    }
                    problem.map(|p| {
                        (
                            Err(TransportError::new(TransportErrorKind::Body, format!("corrupt download: {p}"))),
                            (body, hasher, true),
                        )
                    })
                }
            }
        }
    });
    ByteStream::new(stream)
}

#[cfg(test)]
mod tests {
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

    #[tokio::test]
    async fn corrupt_downloads_fail() {
        let ok =
            verify_stream(ByteStream::from_bytes(Bytes::from_static(b"hello world")), Some("yZRlqg==".into()), None);
        assert_eq!(&ok.collect().await.unwrap()[..], b"hello world");
        let bad =
            verify_stream(ByteStream::from_bytes(Bytes::from_static(b"hello w0rld")), Some("yZRlqg==".into()), None);
        let e = bad.collect().await.unwrap_err();
        assert!(e.to_string().contains("crc32c mismatch"), "{e}");
        let bad_md5 = verify_stream(
            ByteStream::from_bytes(Bytes::from_static(b"hello w0rld")),
            None,
            Some("XrY7u+Ae7tCTyyK7j1rNww==".into()),
        );
        assert!(bad_md5.collect().await.is_err());
    }
}
