//! Managed transfers of cloudkit-aws-s3 against s3s-fs, which validates SigV4
//! (`scripts/testbed.sh up`): a 100 MiB+ file round-trips (multipart upload from disk, parallel
//! ranged download to a file) with matching SHA-256, and multipart with CRC32C part checksums.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;

use cloudkit_aws_s3::{ChecksumMode, S3Client, TransferConfig, TransferManager};
use cloudkit_tests::{XorShift32, aws, hex, unique_name};
use sha2::{Digest, Sha256};

const MIB: u64 = 1024 * 1024;

async fn client(mode: Option<ChecksumMode>) -> S3Client {
    aws::s3s_s3_client(aws::s3s_credentials(), mode).await
}

/// Writes `len` pseudo-random bytes to `path` (1 MiB at a time) and returns their SHA-256.
fn write_random(path: &Path, len: u64, seed: u32) -> String {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut hash = Sha256::new();
    let mut rng = XorShift32::new(seed | 1);
    let mut left = len;
    let mut buf = vec![0u8; MIB as usize];
    while left > 0 {
        let n = left.min(MIB) as usize;
        rng.fill(&mut buf[..n]);
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
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).unwrap();
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
    }
    hex(&hash.finalize())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_100_mib_file_round_trips_with_matching_checksums() {
    let s3 = client(None).await;
    let b = aws::create_bucket(&s3, "ck-s3t-big").await;
    let dir = std::env::temp_dir().join(unique_name("ck-s3t-big"));
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
    aws::delete_bucket_with_objects(&s3, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_with_crc32c_part_checksums() {
    let s3 = client(Some(ChecksumMode::WhenSupported)).await;
    let b = aws::create_bucket(&s3, "ck-s3t-crc").await;
    let dir = std::env::temp_dir().join(unique_name("ck-s3t-crc"));
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
    aws::delete_bucket_with_objects(&s3, &b).await;
}
