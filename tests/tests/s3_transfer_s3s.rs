//! Managed transfers of cloudkit-aws-s3 against s3s-fs, which validates SigV4
//! (`scripts/testbed.sh up`): a 100 MiB+ file round-trips (multipart upload from disk, parallel
//! ranged download to a file) with matching SHA-256, and multipart with CRC32C part checksums.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use cloudkit_aws_s3::{ChecksumMode, Client, TransferConfig, TransferManager};
use cloudkit_core::{Pipeline, Url};
use cloudkit_cred_chain::aws::protocol::AwsErrorParser;
use cloudkit_signer::aws::{Credentials, SharedCredentialsProvider, SigV4Signer};
use cloudkit_tests::testbed::{self, Emulator};
use futures::TryStreamExt;
use sha2::{Digest, Sha256};

const MIB: u64 = 1024 * 1024;

fn client(mode: Option<ChecksumMode>) -> Client {
    let endpoint = testbed::endpoint(Emulator::S3s);
    let creds: SharedCredentialsProvider = Arc::new(Credentials::from_keys(
        testbed::var("CLOUDKIT_TEST_S3S_ACCESS_KEY_ID"),
        testbed::var("CLOUDKIT_TEST_S3S_SECRET_ACCESS_KEY"),
    ));
    let signer = SigV4Signer::new(creds.clone(), "us-east-1", "s3");
    let pipeline =
        Pipeline::builder("S3").signer(Arc::new(signer)).error_parser(Arc::new(AwsErrorParser)).build().unwrap();
    let mut b = Client::builder(pipeline, "us-east-1").endpoint(Url::parse(&endpoint).unwrap()).credentials(creds);
    if let Some(m) = mode {
        b = b.checksum_mode(m);
    }
    b.build().unwrap()
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos:x}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

async fn cleanup(s3: &Client, bucket: &str) {
    let keys: Vec<String> = s3.list_objects_v2(bucket).into_objects().map_ok(|o| o.key).try_collect().await.unwrap();
    for k in keys {
        s3.delete_object(bucket, &k).send().await.unwrap();
    }
    s3.delete_bucket(bucket).await.unwrap();
}

/// Writes `len` pseudo-random bytes to `path` (1 MiB at a time) and returns their SHA-256.
fn write_random(path: &Path, len: u64, seed: u32) -> String {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hash = Sha256::new();
    let mut x = seed | 1;
    let mut left = len;
    let mut buf = vec![0u8; MIB as usize];
    while left > 0 {
        let n = left.min(MIB) as usize;
        for b in &mut buf[..n] {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        f.write_all(&buf[..n]).unwrap();
        hash.update(&buf[..n]);
        left -= n as u64;
    }
    f.flush().unwrap();
    hex(&hash.finalize())
}

fn sha256_file(path: &Path) -> String {
    let mut f = std::fs::File::open(path).unwrap();
    let mut hash = Sha256::new();
    std::io::copy(&mut f, &mut hash).unwrap();
    hex(&hash.finalize())
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_file_round_trips_with_matching_checksums() {
    let s3 = client(None);
    let b = unique("ck-s3t-big");
    s3.create_bucket(&b)
        .send()
        .await
        .unwrap_or_else(|e| panic!("CreateBucket on s3s failed ({e}); is it up? run `scripts/testbed.sh up`"));
    let dir = std::env::temp_dir().join(unique("ck-s3t-big"));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("src.bin");
    let size = 100 * MIB + 12_345;
    let digest = write_random(&src, size, 42);

    let tm = TransferManager::new(s3.clone()); // defaults: 8 MiB parts, 8 at a time
    let up = tm.upload_file(&b, "big/object.bin", &src).send().await.unwrap();
    assert_eq!(up.size, size);
    assert_eq!(up.parts, 13);
    assert_eq!(s3.head_object(&b, "big/object.bin").send().await.unwrap().content_length, Some(size));

    let dst = dir.join("dst.bin");
    let down = tm.download_file(&b, "big/object.bin", &dst).await.unwrap();
    assert_eq!((down.size, down.parts), (size, 13));
    assert_eq!(sha256_file(&dst), digest, "the downloaded file matches the uploaded one");

    // Into memory too.
    let bytes = tm.download(&b, "big/object.bin").to_bytes().await.unwrap();
    assert_eq!(hex(&Sha256::digest(&bytes)), digest);
    drop(bytes);
    std::fs::remove_dir_all(&dir).unwrap();
    cleanup(&s3, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_with_crc32c_part_checksums() {
    let s3 = client(Some(ChecksumMode::WhenSupported));
    let b = unique("ck-s3t-crc");
    s3.create_bucket(&b).send().await.unwrap();
    let dir = std::env::temp_dir().join(unique("ck-s3t-crc"));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("src.bin");
    let digest = write_random(&src, 17 * MIB, 7);
    let tm = TransferManager::with_config(
        s3.clone(),
        TransferConfig::default().with_multipart_threshold(5 * MIB).with_part_size(5 * MIB),
    );
    let up = tm.upload_file(&b, "crc.bin", &src).send().await.unwrap();
    assert_eq!(up.parts, 4);
    let dst = dir.join("dst.bin");
    tm.download_file(&b, "crc.bin", &dst).await.unwrap();
    assert_eq!(sha256_file(&dst), digest);
    std::fs::remove_dir_all(&dir).unwrap();
    cleanup(&s3, &b).await;
}
