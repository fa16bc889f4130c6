//! Support code for cloudkit's cross-crate integration tests.
//!
//! The tests talk to real emulators on 127.0.0.1 (moto, Azurite, gcp-storage-emulator, s3s-fs), started
//! by `scripts/testbed.sh up`, which writes their endpoints and credentials to `target/testbed/env`.
//! [`testbed`] finds those values. A test that needs an emulator which is not running fails with a
//! message saying how to start it; it never passes by skipping.
//!
//! The other modules hold the setup the test files share:
//! - [`arm`]: an in-process fake of Azure Resource Manager and the Entra token endpoint serving
//!   Microsoft's documented example responses (no ARM emulator exists);
//! - [`gce`]: an in-process fake of Compute Engine, of Google's OAuth token endpoint and of the GCE
//!   metadata server, following Google's published API description (no Compute Engine emulator exists);
//! - [`fake_http`]: the bounded HTTP/1.1 server and request log those two fakes share;
//! - [`aws`]: `AwsConfig`s, S3 clients, buckets and raw SigV4 pipelines for moto, moto-auth and s3s-fs;
//! - [`azure`]: the Blob service client for Azurite;
//! - [`gcs`]: the storage client for gcp-storage-emulator;
//! - [`fault`]: an in-process HTTP/1.1 proxy that injects seeded network and service faults between
//!   a client and an emulator (the fault-injection suite's);
//! - [`python`]: running the reference Python SDKs (boto3, azure-storage-blob, google-cloud-storage)
//!   for cross-checks;
//! - [`unique_name`], [`hex`], [`sha256_hex`], [`XorShift32`]: names no other test (or test run) uses,
//!   digests, and reproducible test data.

pub mod arm;
pub mod aws;
pub mod azure;
pub mod fake_http;
pub mod fault;
pub mod gce;
pub mod gcs;
pub mod python;
pub mod testbed;

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A name no other test, test binary or earlier run uses: `{label}-{pid}-{nanos:x}-{n}`, where `nanos`
/// is the sub-second part of the clock in hex and `n` counts the calls in this process.
///
/// Only lowercase hex digits, decimal digits and `-` are added to `label`, so with a lowercase label
/// of up to 30 characters the result is a valid S3 bucket, GCS bucket and Azure container name (and
/// a valid tag value, temp directory name …).
pub fn unique_name(label: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    format!("{label}-{}-{nanos:x}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `data`, in lowercase hex (as Python's `hashlib.sha256(data).hexdigest()`).
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest as _;
    hex(&sha2::Sha256::digest(data))
}

/// Reproducible pseudo-random test data: xorshift32 (13, 17, 5), one byte per step (the low byte of
/// the state), so the same seed always gives the same bytes.
#[derive(Clone, Debug)]
pub struct XorShift32(u32);

impl XorShift32 {
    /// A generator starting at `state`, which must not be 0 (callers pass `seed | 1`).
    pub fn new(state: u32) -> Self {
        assert_ne!(state, 0, "xorshift32 never leaves the zero state");
        Self(state)
    }

    /// Overwrites `buf` with the next `buf.len()` bytes.
    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            let x = &mut self.0;
            *x ^= *x << 13;
            *x ^= *x >> 17;
            *x ^= *x << 5;
            *b = *x as u8;
        }
    }

    /// The next `len` bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut v = vec![0u8; len];
        self.fill(&mut v);
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ_and_are_bucket_safe() {
        let a = unique_name("ck-label");
        let b = unique_name("ck-label");
        assert_ne!(a, b);
        assert!(a.starts_with("ck-label-"), "{a}");
        assert!(a.len() <= 63, "{a}");
        assert!(a.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{a}");
    }

    #[test]
    fn xorshift_is_reproducible_across_fills() {
        let whole = XorShift32::new(7).bytes(10);
        let mut split = XorShift32::new(7);
        let mut parts = split.bytes(4);
        parts.extend(split.bytes(6));
        assert_eq!(whole, parts);
        assert_ne!(whole, XorShift32::new(9).bytes(10));
    }

    #[test]
    fn sha256_of_empty_input() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }
}
