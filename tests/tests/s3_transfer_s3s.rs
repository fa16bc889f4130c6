//! Managed transfers of cloudkit-aws-s3 against s3s-fs, which validates SigV4
//! (`scripts/testbed.sh up`): a 100 MiB+ file round-trips (multipart upload from disk, parallel
//! ranged download to a file) with matching SHA-256, and multipart with CRC32C part checksums.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::path::Path;

use cloudkit_aws_s3::{ChecksumMode, S3Client, TransferConfig, TransferManager};
use cloudkit_core::testing::TempDir;
use cloudkit_tests::{XorShift32, aws, hex};
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
    let dir = TempDir::new("s3t-big").unwrap();
    let src = dir.join("src.bin");
    let size = 100 * MIB + 12_345;
    let digest = write_random(&src, size, 42);

    let tm = TransferManager::new(s3.clone()); // defaults: 8 MiB parts, 8 at a time
    let up = tm.upload_file(&src, &b, "big/object.bin").send().await.unwrap();
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
    aws::delete_bucket_with_objects(&s3, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_with_crc32c_part_checksums() {
    let s3 = client(Some(ChecksumMode::WhenSupported)).await;
    let b = aws::create_bucket(&s3, "ck-s3t-crc").await;
    let dir = TempDir::new("s3t-crc").unwrap();
    let src = dir.join("src.bin");
    let digest = write_random(&src, 17 * MIB, 7);
    let tm = TransferManager::with_config(
        s3.clone(),
        TransferConfig::default().with_multipart_threshold(5 * MIB).with_part_size(5 * MIB),
    );
    let up = tm.upload_file(&src, &b, "crc.bin").send().await.unwrap();
    assert_eq!(up.parts, 4);
    let dst = dir.join("dst.bin");
    tm.download_file(&b, "crc.bin", &dst).await.unwrap();
    assert_eq!(sha256_file(&dst), digest);
    aws::delete_bucket_with_objects(&s3, &b).await;
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Issue 15 (defects 3 and 8, resume): under `Required`, a managed download of an object s3s-fs
/// stored with a full-object CRC32C is verified over its parallel ranged parts (their CRCs
/// combined); a part whose body breaks off resumes within its range with `If-Match`; the file
/// replaces the old one only when verified, with no temporary file left; and an object stored
/// without a checksum cannot be downloaded under `Required`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_downloads_are_verified_resumed_and_atomic() {
    let s3 = client(Some(ChecksumMode::WhenSupported)).await;
    let b = aws::create_bucket(&s3, "ck-s3t-verify").await;
    let dir = TempDir::new("s3t-verify").unwrap();
    let mut data = vec![0u8; (13 * MIB + 5) as usize];
    XorShift32::new(77).fill(&mut data);
    // One PutObject (with its CRC32C): a full-object checksum.
    s3.put_object(&b, "full.bin").body(data.clone()).send().await.unwrap();

    let http = aws::BreakingHttp::new([(1, 300_000)]);
    let required = aws::s3_client_over(&aws::s3s_config().await, http.clone(), Some(ChecksumMode::Required));
    let tm = TransferManager::with_config(
        required.clone(),
        TransferConfig::default().with_multipart_threshold(5 * MIB).with_part_size(5 * MIB).with_concurrency(1),
    );
    let dst = dir.join("dst.bin");
    std::fs::write(&dst, b"old content").unwrap();
    let out = tm.download_file(&b, "full.bin", &dst).await.unwrap();
    assert_eq!(
        out.checksum_verified,
        Some(cloudkit_aws_s3::Verified::Checksum(cloudkit_aws_s3::ChecksumAlgorithm::Crc32c))
    );
    assert_eq!(out.parts, 3);
    assert!(std::fs::read(&dst).unwrap() == data);
    assert_eq!(names(&dir), ["dst.bin"]);
    let gets = http.gets();
    assert_eq!(gets.len(), 4, "three parts and one resume: {gets:?}");
    assert_eq!(gets[2].range.as_deref(), Some(format!("bytes={}-{}", 5 * MIB + 300_000, 10 * MIB - 1).as_str()));
    assert!(gets.iter().all(|g| g.if_match.is_some()));
    // In memory, in order.
    assert!(tm.download(&b, "full.bin").to_bytes().await.unwrap()[..] == data[..]);

    // A multipart object s3s-fs keeps no checksum for, uploaded by hand (no recorded part
    // size): nothing to verify under Required.
    let raw = client(None).await;
    let up = raw.create_multipart_upload(&b, "multi.bin").send().await.unwrap();
    let mut parts = Vec::new();
    for (i, chunk) in data.chunks((5 * MIB) as usize).enumerate() {
        let n = i as u32 + 1;
        let out = raw.upload_part(&b, "multi.bin", &up.upload_id, n).body(chunk.to_vec()).send().await.unwrap();
        parts.push(out.completed_part(n));
    }
    raw.complete_multipart_upload(&b, "multi.bin", &up.upload_id).parts(parts).send().await.unwrap();
    let head = required.head_object(&b, "multi.bin").send().await.unwrap();
    assert_eq!((head.checksum_crc32c, head.checksum_type), (None, None), "s3s-fs 0.14 keeps none for multipart");
    let err = tm.download_file(&b, "multi.bin", &dst).await.unwrap_err();
    assert!(matches!(err.s3(), Some(cloudkit_aws_s3::S3Error::ChecksumUnavailable { .. })), "{err}");
    assert!(std::fs::read(&dst).unwrap() == data, "the verified file stays");
    assert_eq!(names(&dir), ["dst.bin"]);
    aws::delete_bucket_with_objects(&s3, &b).await;
}

/// Issue 15, defect 8 on s3s-fs, which keeps no checksum for multipart objects (so flipped bytes
/// in large downloads reached the caller): the TransferManager records its part size in the
/// object's metadata (and creates the upload with a full-object CRC32, which s3s-fs ignores
/// without complaint), and every download path recomputes the multipart ETag (the S3 convention
/// s3s-fs follows) from the bytes — `to_bytes`, `to_writer`, `to_file`, the resource handle,
/// GetObject's stream and the facade's `S3Store::get` — and a flipped byte is caught on each,
/// leaving no file behind. Both upload sources: a file in 6 MiB parts (downloaded in 5 MiB
/// ranges) and a reader through the facade's store upload.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_objects_are_verified_by_their_e_tag_and_flipped_bytes_are_caught() {
    use cloudkit::store::{ObjectKey, ObjectStore as _, ObjectStoreExt as _, S3Store, UploadOptions};
    use cloudkit_aws_s3::{S3Error, Verified};

    let s3 = client(None).await; // the custom-endpoint default, WhenRequired
    let b = aws::create_bucket(&s3, "ck-s3t-etag").await;
    let dir = TempDir::new("s3t-etag").unwrap();
    let src = dir.join("src.bin");
    let digest = write_random(&src, 13 * MIB + 5, 99);
    let data = std::fs::read(&src).unwrap();
    let up_config = TransferConfig::default().with_multipart_threshold(5 * MIB).with_part_size(6 * MIB);
    let up =
        TransferManager::with_config(s3.clone(), up_config).upload_file(&src, &b, "file.bin").send().await.unwrap();
    assert_eq!(up.parts, 3);
    let head = s3.head_object(&b, "file.bin").send().await.unwrap();
    assert_eq!(head.metadata.get(cloudkit_aws_s3::PART_SIZE_METADATA).map(String::as_str), Some("6291456"));
    assert_eq!(head.checksum_crc32, None, "s3s-fs ignores the full-object checksum headers");
    assert!(head.e_tag.as_deref().unwrap().ends_with("-3\""), "{:?}", head.e_tag);
    std::fs::remove_file(&src).unwrap();

    // The facade's streaming upload (a reader, 5 MiB parts).
    let store = S3Store::new(s3.clone(), &b);
    let key = ObjectKey::parse("store.bin").unwrap();
    let source = futures::stream::iter(
        data.chunks(1 << 20).map(|c| Ok(cloudkit_aws_s3::Bytes::copy_from_slice(c))).collect::<Vec<_>>(),
    );
    let options = UploadOptions { part_size: Some(5 << 20), ..UploadOptions::default() };
    store.upload(&key, Box::pin(source), options).await.unwrap();

    let down_config = TransferConfig::default().with_multipart_threshold(5 * MIB).with_part_size(5 * MIB);
    let tm = TransferManager::with_config(s3.clone(), down_config.clone());
    for key in ["file.bin", "store.bin"] {
        let mut out = Vec::new();
        let got = tm.download(&b, key).to_writer(&mut out).await.unwrap();
        assert_eq!(got.checksum_verified, Some(Verified::MultipartETag), "{key}");
        assert_eq!(hex(&Sha256::digest(&out)), digest);
        let dst = dir.join("dst.bin");
        let got = tm.download_file(&b, key, &dst).await.unwrap();
        assert_eq!(got.checksum_verified, Some(Verified::MultipartETag), "{key}");
        assert_eq!(sha256_file(&dst), digest);
        let got = s3.get_object(&b, key).send().await.unwrap();
        assert_eq!(got.checksum_verified, Some(Verified::MultipartETag), "{key}");
        assert_eq!(hex(&Sha256::digest(got.collect().await.unwrap())), digest);
    }
    let got = s3.bucket(&b).object("file.bin").download_file(&dir.join("res.bin")).await.unwrap();
    assert_eq!(got.checksum_verified, Some(Verified::MultipartETag));
    assert!(store.get(&key).await.unwrap().bytes().await.unwrap()[..] == data[..]);

    // A byte flipped on the way (the second GET of each download, 3 MB into its body).
    let config = aws::s3s_config().await;
    let flipping = || {
        let http = aws::BreakingHttp::with_flips([], [(1, 3_000_000)]);
        (aws::s3_client_over(&config, http.clone(), None), http)
    };
    let mismatch = |e: &S3Error| matches!(e, S3Error::ChecksumMismatch { algorithm: "MD5", .. });
    let dst = dir.join("dst.bin");
    std::fs::write(&dst, b"old content").unwrap();
    for key in ["file.bin", "store.bin"] {
        let (c, http) = flipping();
        let err = TransferManager::with_config(c, down_config.clone()).download(&b, key).to_bytes().await.unwrap_err();
        assert!(err.s3().is_some_and(mismatch), "{err}");
        assert_eq!(http.gets().len(), 3);
        let (c, _) = flipping();
        let err = TransferManager::with_config(c, down_config.clone()).download_file(&b, key, &dst).await.unwrap_err();
        assert!(err.s3().is_some_and(mismatch), "{err}");
        assert_eq!(std::fs::read(&dst).unwrap(), b"old content");
        let (c, _) = flipping();
        let err = c.bucket(&b).object(key).download_file(&dst).await.unwrap_err();
        assert!(err.s3().is_some_and(mismatch), "{err}");
        // One whole-object GET: flip its first GET.
        let http = aws::BreakingHttp::with_flips([], [(0, 9_000_000)]);
        let c = aws::s3_client_over(&config, http, None);
        let err = c.get_object(&b, key).send().await.unwrap().collect().await.unwrap_err();
        assert!(mismatch(&err), "{err}");
        let http = aws::BreakingHttp::with_flips([], [(0, 9_000_000)]);
        let c = aws::s3_client_over(&config, http, None);
        let err = S3Store::new(c, &b).get(&ObjectKey::parse(key).unwrap()).await.unwrap().bytes().await.unwrap_err();
        // the stream's transport error is the variant's `source` (its text is in Display, so
        // `Error::source()` goes on below it)
        let source = match &err {
            cloudkit::store::Error::Transport { source, .. } => source.downcast_ref::<cloudkit_core::TransportError>(),
            _ => None,
        };
        assert!(source.and_then(cloudkit_core::checksum_mismatch).is_some(), "{err:?}");
    }
    assert_eq!(names(&dir), ["dst.bin", "res.bin"], "no temporary file left");
    aws::delete_bucket_with_objects(&s3, &b).await;
}
