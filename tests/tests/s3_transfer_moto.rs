//! Managed transfers and the resource API of cloudkit-aws-s3 against moto (`scripts/testbed.sh up`):
//! single and multipart uploads from files, bytes and readers, downloads to files, memory and
//! writers, progress, the abort of a failed multipart upload (no orphaned parts), a replaced object
//! detected mid-download, and the boto3-style `Bucket` / `Object` handles.
//!
//! moto state is shared: every test uses its own bucket (random suffix).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use cloudkit_aws_s3::{Bytes, Progress, S3Client, S3Error, TransferConfig, TransferError, TransferManager};
use cloudkit_core::Method;
use cloudkit_core::testing::TempDir;
use cloudkit_tests::testbed;
use cloudkit_tests::{XorShift32, aws, unique_name};
use futures::TryStreamExt;
use futures::future::BoxFuture;
use tokio::io::AsyncWrite;

const MIB: usize = 1024 * 1024;

async fn cleanup(s3: &S3Client, bucket: &str) {
    let uploads = s3.list_multipart_uploads(bucket).send().await.unwrap();
    for u in uploads.uploads {
        s3.abort_multipart_upload(bucket, &u.key, &u.upload_id).send().await.unwrap();
    }
    aws::delete_bucket_with_objects(s3, bucket).await;
}

fn data(len: usize, seed: u8) -> Vec<u8> {
    XorShift32::new(u32::from(seed) | 1).bytes(len)
}

/// 5 MiB parts (the S3 minimum), multipart from 5 MiB.
fn small_parts() -> TransferConfig {
    TransferConfig::default()
        .with_multipart_threshold(5 * MIB as u64)
        .with_part_size(5 * MIB as u64)
        .with_concurrency(4)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_and_download_files_single_and_multipart() {
    let s3 = aws::moto_s3_client().await;
    let b = aws::create_bucket(&s3, "ck-s3t-file").await;
    let dir = TempDir::new("s3t-file").unwrap();
    let tm = TransferManager::with_config(s3.clone(), small_parts());

    for (key, len) in [("small.bin", 1000), ("empty.bin", 0), ("multi/big.bin", 13 * MIB + 17)] {
        let src = dir.join("src.bin");
        let body = data(len, 3);
        std::fs::write(&src, &body).unwrap();
        let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
        let s = seen.clone();
        let up = tm
            .upload_file(&src, &b, key)
            .content_type("application/x-test")
            .metadata("origin", "cloudkit")
            .on_progress(move |p| s.lock().unwrap().push(p))
            .send()
            .await
            .unwrap();
        assert_eq!(up.size, len as u64);
        assert_eq!(up.parts, if len >= 5 * MIB { 3 } else { 0 }, "{key}");
        let seen = seen.lock().unwrap().clone();
        assert!(seen.windows(2).all(|w| w[0].transferred <= w[1].transferred), "{seen:?}");
        assert_eq!(seen.last().unwrap().transferred, len as u64);

        let head = s3.head_object(&b, key).send().await.unwrap();
        assert_eq!(head.content_length, Some(len as u64));
        assert_eq!(head.content_type.as_deref(), Some("application/x-test"));
        assert_eq!(head.metadata.get("origin").map(String::as_str), Some("cloudkit"));
        if len >= 5 * MIB {
            assert!(head.e_tag.as_deref().unwrap().ends_with("-3\""), "multipart ETag: {:?}", head.e_tag);
        }

        let dst = dir.join("dst.bin");
        let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
        let s = seen.clone();
        let down = tm.download(&b, key).on_progress(move |p| s.lock().unwrap().push(p)).to_file(&dst).await.unwrap();
        assert_eq!(down.size, len as u64);
        // HeadObject first (checksums are verified on custom endpoints too): an empty object
        // needs no GET.
        assert_eq!(
            down.parts,
            if len > 5 * MIB {
                3
            } else if len == 0 {
                0
            } else {
                1
            },
            "{key}"
        );
        assert_eq!(down.metadata.content_type.as_deref(), Some("application/x-test"));
        assert!(std::fs::read(&dst).unwrap() == body, "{key} round-trips");
        let last = *seen.lock().unwrap().last().unwrap();
        assert_eq!(last, Progress { transferred: len as u64, total: Some(len as u64) });

        // memory and an AsyncWrite
        assert!(tm.download(&b, key).to_bytes().await.unwrap()[..] == body[..]);
        let mut out = Vec::new();
        let o = tm.download(&b, key).to_writer(&mut out).await.unwrap();
        assert_eq!(o.size, len as u64);
        assert!(out == body);
    }
    // Only the downloaded files are left: no temporary files.
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["dst.bin", "src.bin"]);
    cleanup(&s3, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upload_bytes_and_readers() {
    let s3 = aws::moto_s3_client().await;
    let b = aws::create_bucket(&s3, "ck-s3t-mem").await;
    let tm = TransferManager::with_config(s3.clone(), small_parts());

    let body = data(11 * MIB + 5, 9);
    let up = tm.upload_bytes(&b, "bytes.bin", Bytes::from(body.clone())).send().await.unwrap();
    assert_eq!(up.parts, 3);
    assert!(s3.get_object(&b, "bytes.bin").send().await.unwrap().collect().await.unwrap()[..] == body[..]);

    // A reader: read part by part; its size is unknown until the end.
    let seen: Arc<Mutex<Vec<Progress>>> = Arc::default();
    let s = seen.clone();
    let up = tm
        .upload_reader(&b, "reader.bin", std::io::Cursor::new(body.clone()))
        .on_progress(move |p| s.lock().unwrap().push(p))
        .send()
        .await
        .unwrap();
    assert_eq!((up.size, up.parts), (body.len() as u64, 3));
    assert_eq!(seen.lock().unwrap().last().unwrap().transferred, body.len() as u64);
    assert!(tm.download(&b, "reader.bin").to_bytes().await.unwrap()[..] == body[..]);

    // A short reader is one PutObject.
    let up = tm.upload_reader(&b, "short.txt", &b"tiny"[..]).content_type("text/plain").send().await.unwrap();
    assert_eq!(up.parts, 0);
    let got = s3.get_object(&b, "short.txt").send().await.unwrap();
    assert_eq!(got.metadata.content_type.as_deref(), Some("text/plain"));
    assert_eq!(&got.collect().await.unwrap()[..], b"tiny");
    cleanup(&s3, &b).await;
}

/// A reader that fails after `ok` bytes.
struct FailingReader {
    ok: usize,
}

impl tokio::io::AsyncRead for FailingReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.ok == 0 {
            return Poll::Ready(Err(std::io::Error::other("the source broke midway")));
        }
        let n = self.ok.min(buf.remaining());
        buf.put_slice(&vec![0x5a; n]);
        self.ok -= n;
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_multipart_upload_is_aborted_leaving_no_parts() {
    let s3 = aws::moto_s3_client().await;
    let b = aws::create_bucket(&s3, "ck-s3t-abort").await;
    let tm = TransferManager::with_config(s3.clone(), small_parts());
    // 12 MiB read fine (two parts uploaded), then the source fails.
    let err = tm.upload_reader(&b, "broken.bin", FailingReader { ok: 12 * MIB }).send().await.unwrap_err();
    assert!(matches!(&err, TransferError::Io { source, .. } if source.to_string().contains("broke midway")), "{err}");
    let uploads = s3.list_multipart_uploads(&b).send().await.unwrap();
    assert!(uploads.uploads.is_empty(), "orphaned multipart uploads: {:?}", uploads.uploads);
    assert!(s3.head_object(&b, "broken.bin").send().await.unwrap_err().is_not_found());

    // A missing bucket fails cleanly too.
    let err = tm.upload_bytes(unique_name("ck-s3t-missing"), "k", vec![0u8; 6 * MIB]).send().await.unwrap_err();
    assert!(matches!(err.s3(), Some(S3Error::NoSuchBucket(_))), "{err:?}");
    cleanup(&s3, &b).await;
}

/// A writer that, before accepting the first bytes, runs `before_first_write` (here: replaces
/// the object being downloaded).
struct InterferingWriter {
    hook: Option<BoxFuture<'static, ()>>,
    out: Vec<u8>,
}

impl AsyncWrite for InterferingWriter {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        if let Some(hook) = self.hook.as_mut() {
            match hook.as_mut().poll(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(()) => self.hook = None,
            }
        }
        self.out.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_replaced_mid_download_is_a_typed_error() {
    let s3 = aws::moto_s3_client().await;
    let b = aws::create_bucket(&s3, "ck-s3t-race").await;
    let original = data(16 * MIB, 1);
    s3.put_object(&b, "race.bin").body(original.clone()).send().await.unwrap();
    let etag = s3.head_object(&b, "race.bin").send().await.unwrap().e_tag.unwrap();

    // concurrency 1: part 1 is written (and the object replaced) before part 2 is requested.
    let tm = TransferManager::with_config(s3.clone(), small_parts().with_concurrency(1));
    let (s3c, bc) = (s3.clone(), b.clone());
    let replace: BoxFuture<'static, ()> = Box::pin(async move {
        s3c.put_object(&bc, "race.bin").body(data(16 * MIB, 2)).send().await.unwrap();
    });
    let mut writer = InterferingWriter { hook: Some(replace), out: Vec::new() };
    let err = tm.download(&b, "race.bin").to_writer(&mut writer).await.unwrap_err();
    match &err {
        TransferError::ObjectChanged { e_tag, key, .. } => {
            assert_eq!(e_tag, &etag);
            assert_eq!(key, "race.bin");
        }
        other => panic!("expected ObjectChanged, got {other:?}"),
    }

    // The same race with download_file leaves no file behind.
    let dir = TempDir::new("s3t-race").unwrap();
    let dst = dir.join("race.bin");
    let tm2 = TransferManager::with_config(
        s3.clone(),
        small_parts().with_concurrency(1).with_progress({
            let (s3c, bc) = (s3.clone(), b.clone());
            let fired = Arc::new(std::sync::atomic::AtomicBool::new(false));
            move |p: Progress| {
                // After the first part: replace the object (blocking this callback briefly).
                if p.transferred >= 5 * MIB as u64 && !fired.swap(true, Ordering::SeqCst) {
                    let (s3c, bc) = (s3c.clone(), bc.clone());
                    std::thread::spawn(move || {
                        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
                        rt.block_on(s3c.put_object(&bc, "race.bin").body(data(16 * MIB, 4)).send()).unwrap();
                    })
                    .join()
                    .unwrap();
                }
            }
        }),
    );
    let err = tm2.download_file(&b, "race.bin", &dst).await.unwrap_err();
    assert!(matches!(err, TransferError::ObjectChanged { .. }), "{err:?}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "no partial or temporary file");
    cleanup(&s3, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_handles() {
    let s3 = aws::moto_s3_client().await;
    let name = unique_name("ck-s3t-res");
    let bucket = s3.bucket(&name);
    assert_eq!(bucket.name(), name);
    assert!(!bucket.exists().await.unwrap());
    bucket.create().send().await.unwrap();
    bucket.wait_until_exists().max_wait(Duration::from_secs(30)).wait().await.unwrap();
    assert!(bucket.exists().await.unwrap());

    for k in ["logs/a.txt", "logs/b.txt", "other/c.txt"] {
        bucket.put_object(k).body(format!("body of {k}")).content_type("text/plain").send().await.unwrap();
    }
    let logs: Vec<String> = bucket.objects_with_prefix("logs/").map_ok(|o| o.key).try_collect().await.unwrap();
    assert_eq!(logs, ["logs/a.txt", "logs/b.txt"]);
    let all: Vec<String> = bucket.objects().map_ok(|o| o.key).try_collect().await.unwrap();
    assert_eq!(all.len(), 3);

    let got = bucket.get_object("logs/a.txt").send().await.unwrap().collect().await.unwrap();
    assert_eq!(&got[..], b"body of logs/a.txt");

    let mut object = bucket.object("logs/a.txt");
    assert!(object.metadata().is_none());
    let len = object.reload().await.unwrap().content_length;
    assert_eq!(len, Some(18));
    assert_eq!(object.content_type(), Some("text/plain"));
    assert!(object.e_tag().is_some());
    assert!(object.exists().await.unwrap());
    object.wait_until_exists().wait().await.unwrap();
    assert_eq!(&object.get_bytes().await.unwrap()[..], b"body of logs/a.txt");
    object.put().body("replaced").send().await.unwrap();
    assert_eq!(&object.get().send().await.unwrap().collect().await.unwrap()[..], b"replaced");

    // A presigned GET works with plain HTTP.
    let url = object.presigned_url(Method::GET, Duration::from_secs(300)).await.unwrap();
    let resp = testbed::http_client().get(url.as_str()).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(&resp.bytes().await.unwrap()[..], b"replaced");
    assert!(object.presigned_url(Method::POST, Duration::from_secs(300)).await.is_err());

    // upload_file / download_file through the handles.
    let dir = TempDir::new("s3t-res").unwrap();
    let src = dir.join("up.bin");
    let body = data(9 * MIB, 5);
    std::fs::write(&src, &body).unwrap();
    let up = bucket.upload_file(&src, "files/up.bin").send().await.unwrap();
    assert_eq!(up.parts, 2, "default 8 MiB parts");
    let dst = dir.join("down.bin");
    let down = bucket.object("files/up.bin").download_file(&dst).await.unwrap();
    assert_eq!(down.size, body.len() as u64);
    assert!(std::fs::read(&dst).unwrap() == body);
    let missing = bucket.download_file("files/none.bin", &dir.join("none.bin")).await.unwrap_err();
    assert!(missing.is_not_found(), "{missing:?}");
    assert!(!dir.join("none.bin").exists());

    object.delete().send().await.unwrap();
    assert!(!object.exists().await.unwrap());
    bucket.delete_object("logs/b.txt").send().await.unwrap();
    cleanup(&s3, &name).await;
    assert!(!bucket.exists().await.unwrap());
}

/// Issue 15, defect 8 on moto: an object stored with one PutObject and a CRC32C is verified by a
/// managed download under `Required`; so is a multipart object the TransferManager uploaded (with
/// a full-object CRC32, which moto stores and reports with `x-amz-checksum-type: FULL_OBJECT`).
/// A multipart object moto cannot verify (uploaded by hand: moto serves no part checksums, and
/// reports none for an upload created without an algorithm) downloads unverified by default and
/// fails, typed and leaving no file, under `Required`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn required_downloads_verify_or_fail_typed() {
    use cloudkit_aws_s3::{ChecksumAlgorithm, Verified};
    let s3 = aws::moto_s3_client_with(Some(cloudkit_aws_s3::ChecksumMode::WhenSupported)).await;
    let b = aws::create_bucket(&s3, "ck-s3t-required").await;
    let dir = TempDir::new("s3t-required").unwrap();
    let body = data(11 * MIB, 9);
    s3.put_object(&b, "single.bin").body(body.clone()).send().await.unwrap();
    let up = TransferManager::with_config(s3.clone(), small_parts())
        .upload_bytes(&b, "multi.bin", body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(up.parts, 3);
    let head = s3.head_object(&b, "multi.bin").send().await.unwrap();
    assert_eq!(head.checksum_type.as_deref(), Some("FULL_OBJECT"));
    assert_eq!(head.checksum_crc32.as_deref(), Some(ChecksumAlgorithm::Crc32.checksum(&body).as_str()));
    // A multipart upload made by hand, without a checksum algorithm.
    let raw = aws::moto_s3_client().await;
    let created = raw.create_multipart_upload(&b, "raw.bin").send().await.unwrap();
    let mut parts = Vec::new();
    for (i, chunk) in body.chunks(5 * MIB).enumerate() {
        let n = i as u32 + 1;
        let out = raw.upload_part(&b, "raw.bin", &created.upload_id, n).body(chunk.to_vec()).send().await.unwrap();
        parts.push(out.completed_part(n));
    }
    raw.complete_multipart_upload(&b, "raw.bin", &created.upload_id).parts(parts).send().await.unwrap();

    let required = aws::moto_s3_client_with(Some(cloudkit_aws_s3::ChecksumMode::Required)).await;
    let tm = TransferManager::with_config(required, small_parts());
    let dst = dir.join("dst.bin");
    let out = tm.download_file(&b, "single.bin", &dst).await.unwrap();
    assert_eq!(out.checksum_verified, Some(Verified::Checksum(ChecksumAlgorithm::Crc32c)));
    assert_eq!(out.parts, 3, "parallel ranged GETs, CRCs combined");
    assert!(std::fs::read(&dst).unwrap() == body);
    let out = tm.download_file(&b, "multi.bin", &dst).await.unwrap();
    assert_eq!(out.checksum_verified, Some(Verified::Checksum(ChecksumAlgorithm::Crc32)));
    assert!(std::fs::read(&dst).unwrap() == body);

    let other = dir.join("other.bin");
    let err = tm.download_file(&b, "raw.bin", &other).await.unwrap_err();
    assert!(matches!(err.s3(), Some(S3Error::ChecksumUnavailable { .. })), "{err}");
    assert!(!other.exists());
    let listed: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(listed, ["dst.bin"], "no temporary file left");

    let default = TransferManager::with_config(aws::moto_s3_client().await, small_parts());
    let out = default.download_file(&b, "raw.bin", &other).await.unwrap();
    assert_eq!(out.checksum_verified, None);
    assert!(std::fs::read(&other).unwrap() == body);
    cleanup(&s3, &b).await;
}

/// Issue 15, defect 8 on moto: a multipart object the TransferManager uploaded (file and reader
/// through the facade's store upload) downloads verified against its full-object CRC32 on every
/// path — `to_bytes`, `to_file`, the resource handle, GetObject's stream, the facade's
/// `S3Store::get` — and a byte flipped on the way is a `ChecksumMismatch`, not corrupt data (before,
/// moto's composite checksum could not be verified and the bytes went through).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_uploads_get_full_object_checksums_and_flipped_bytes_are_caught() {
    use cloudkit::store::{ObjectKey, ObjectStore as _, ObjectStoreExt as _, S3Store, UploadOptions};
    use cloudkit_aws_s3::{ChecksumAlgorithm, Verified};

    let s3 = aws::moto_s3_client().await; // the custom-endpoint default, WhenRequired
    let b = aws::create_bucket(&s3, "ck-s3t-flip").await;
    let dir = TempDir::new("s3t-flip").unwrap();
    let body = data(13 * MIB + 5, 21);
    let src = dir.join("src.bin");
    std::fs::write(&src, &body).unwrap();
    let up_config = small_parts().with_part_size(6 * MIB as u64);
    TransferManager::with_config(s3.clone(), up_config).upload_file(&src, &b, "file.bin").send().await.unwrap();
    std::fs::remove_file(&src).unwrap();
    let store = S3Store::new(s3.clone(), &b);
    let source = futures::stream::iter(body.chunks(MIB).map(|c| Ok(Bytes::copy_from_slice(c))).collect::<Vec<_>>());
    let options = UploadOptions { part_size: Some(5 * MIB), ..UploadOptions::default() };
    store.upload(&ObjectKey::parse("store.bin").unwrap(), Box::pin(source), options).await.unwrap();

    let crc32 = Some(Verified::Checksum(ChecksumAlgorithm::Crc32));
    let tm = TransferManager::with_config(s3.clone(), small_parts());
    for key in ["file.bin", "store.bin"] {
        let head = s3.head_object(&b, key).send().await.unwrap();
        assert_eq!(head.checksum_type.as_deref(), Some("FULL_OBJECT"), "{key}");
        let mut out = Vec::new();
        assert_eq!(tm.download(&b, key).to_writer(&mut out).await.unwrap().checksum_verified, crc32);
        assert!(out == body);
        let dst = dir.join("dst.bin");
        assert_eq!(tm.download_file(&b, key, &dst).await.unwrap().checksum_verified, crc32);
        assert!(std::fs::read(&dst).unwrap() == body);
        let got = s3.get_object(&b, key).send().await.unwrap();
        assert_eq!(got.checksum_verified, crc32, "a whole-object GET verifies the full-object CRC32");
        assert!(got.collect().await.unwrap()[..] == body[..]);
    }
    assert_eq!(
        s3.bucket(&b).object("file.bin").download_file(&dir.join("res.bin")).await.unwrap().checksum_verified,
        crc32
    );

    let mismatch = |e: &S3Error| matches!(e, S3Error::ChecksumMismatch { algorithm: "CRC32", .. });
    let flipping = |get: usize, at: u64| async move {
        let http = aws::BreakingHttp::with_flips([], [(get, at)]);
        aws::s3_client_over(&aws::moto_config().await, http, None)
    };
    let dst = dir.join("dst.bin");
    std::fs::write(&dst, b"old content").unwrap();
    for key in ["file.bin", "store.bin"] {
        let c = flipping(1, 3_000_000).await;
        let err = TransferManager::with_config(c, small_parts()).download(&b, key).to_bytes().await.unwrap_err();
        assert!(err.s3().is_some_and(mismatch), "{err}");
        let c = flipping(2, 10).await;
        let err = TransferManager::with_config(c, small_parts()).download_file(&b, key, &dst).await.unwrap_err();
        assert!(err.s3().is_some_and(mismatch), "{err}");
        assert_eq!(std::fs::read(&dst).unwrap(), b"old content");
        let c = flipping(0, 4_000_000).await;
        let err = c.bucket(&b).object(key).download_file(&dst).await.unwrap_err();
        assert!(err.s3().is_some_and(mismatch), "{err}");
        let c = flipping(0, 9_000_000).await;
        let err = c.get_object(&b, key).send().await.unwrap().collect().await.unwrap_err();
        assert!(mismatch(&err), "{err}");
        let c = flipping(0, 9_000_000).await;
        let err = S3Store::new(c, &b).get(&ObjectKey::parse(key).unwrap()).await.unwrap().bytes().await.unwrap_err();
        // the stream's transport error is the variant's `source` (its text is in Display, so
        // `Error::source()` goes on below it)
        let source = match &err {
            cloudkit::store::Error::Transport { source, .. } => source.downcast_ref::<cloudkit_core::TransportError>(),
            _ => None,
        };
        assert!(source.and_then(cloudkit_core::checksum_mismatch).is_some(), "{err:?}");
    }
    let mut listed: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
    listed.sort();
    assert_eq!(listed, ["dst.bin", "res.bin"], "no temporary file left");
    cleanup(&s3, &b).await;
}
