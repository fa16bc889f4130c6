//! Unit tests of the transfer manager with canned responses (ReplayHttp): part sizing, the
//! abort of a failed multipart upload, the If-Match on ranged GETs and the typed error when the
//! object changed.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use cloudkit_core::testing::{Canned, ReplayHttp, TempDir};
use cloudkit_core::{Method, RetryConfig, Url};

use crate::tests::replay_builder;
use crate::*;

const MIB: u64 = 1024 * 1024;

/// A client for a custom endpoint making one attempt per request (the canned failures are final),
/// without checksums (downloads start with a ranged GET, no HeadObject).
async fn client(http: &Arc<ReplayHttp>) -> S3Client {
    client_with(http, ChecksumMode::Off).await
}

async fn client_with(http: &Arc<ReplayHttp>, mode: ChecksumMode) -> S3Client {
    replay_builder(http, "us-east-1")
        .await
        .endpoint(Url::parse("http://127.0.0.1:9000").unwrap())
        .retry(RetryConfig::standard().with_max_attempts(1))
        .checksum_mode(mode)
        .build()
        .unwrap()
}

fn small_parts() -> TransferConfig {
    TransferConfig::default().with_multipart_threshold(5 * MIB).with_part_size(5 * MIB).with_concurrency(1)
}

#[test]
fn part_size_grows_to_stay_within_10000_parts() {
    let c = TransferConfig::default();
    assert_eq!(c.effective_part_size(Some(10 * MIB)).unwrap(), 8 * MIB);
    assert_eq!(c.effective_part_size(None).unwrap(), 8 * MIB);
    // 100 GiB / 10,000 = 10.24 MiB -> 11 MiB parts, 9,310 of them.
    let size = 100 * 1024 * MIB;
    let part = c.effective_part_size(Some(size)).unwrap();
    assert_eq!(part, 11 * MIB);
    assert!(size.div_ceil(part) <= 10_000);
    // Below the S3 minimum -> 5 MiB.
    assert_eq!(TransferConfig::default().with_part_size(1).effective_part_size(Some(MIB)).unwrap(), 5 * MIB);
    // More than 10,000 parts of 5 GiB cannot be uploaded.
    let err = c.effective_part_size(Some(10_001 * 5 * 1024 * MIB)).unwrap_err();
    assert!(matches!(err, TransferError::TooLarge { .. }), "{err}");
}

#[tokio::test]
async fn small_upload_is_one_put_object_with_attributes() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, "").with_header("etag", "\"e\""));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let out = TransferManager::new(client(&http).await)
        .upload_bytes("b", "k", Bytes::from_static(b"hello"))
        .content_type("text/plain")
        .metadata("owner", "me")
        .on_progress(move |p| s.lock().unwrap().push(p))
        .send()
        .await
        .unwrap();
    assert_eq!((out.size, out.parts, out.e_tag.as_deref()), (5, 0, Some("\"e\"")));
    let reqs = http.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].method, Method::PUT);
    assert_eq!(reqs[0].headers["content-type"], "text/plain");
    assert_eq!(reqs[0].headers["x-amz-meta-owner"], "me");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.first().unwrap().transferred, 0);
    assert_eq!(*seen.last().unwrap(), Progress { transferred: 5, total: Some(5) });
}

const CREATED: &str = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>UP1</UploadId></InitiateMultipartUploadResult>";

#[tokio::test]
async fn a_failed_part_aborts_the_upload() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, CREATED));
    http.push(Canned::status(200, "").with_header("etag", "\"p1\""));
    http.push(Canned::status(400, "<Error><Code>InvalidArgument</Code><Message>bad part</Message></Error>"));
    http.push(Canned::status(204, ""));
    let data = Bytes::from(vec![7u8; 12 * MIB as usize]);
    let err = TransferManager::with_config(client(&http).await, small_parts())
        .upload_bytes("b", "k", data)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.s3().and_then(S3Error::code), Some("InvalidArgument"), "{err}");
    let reqs = http.requests();
    let shape: Vec<(Method, String)> =
        reqs.iter().map(|r| (r.method.clone(), r.url.query().unwrap_or("").to_owned())).collect();
    assert_eq!(
        shape,
        vec![
            (Method::POST, "uploads".to_owned()),
            (Method::PUT, "partNumber=1&uploadId=UP1".to_owned()),
            (Method::PUT, "partNumber=2&uploadId=UP1".to_owned()),
            (Method::DELETE, "uploadId=UP1".to_owned()),
        ]
    );
    assert_eq!(reqs[1].body.len() as u64, 5 * MIB);
}

#[tokio::test]
async fn a_failing_reader_aborts_the_upload() {
    struct Failing(usize);
    impl tokio::io::AsyncRead for Failing {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<std::io::Result<()>> {
            if self.0 == 0 {
                return std::task::Poll::Ready(Err(std::io::Error::other("disk on fire")));
            }
            let n = self.0.min(buf.remaining());
            buf.put_slice(&vec![1u8; n]);
            self.0 -= n;
            std::task::Poll::Ready(Ok(()))
        }
    }
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, CREATED));
    http.push(Canned::status(200, "").with_header("etag", "\"p1\""));
    http.push(Canned::status(204, ""));
    let err = TransferManager::with_config(client(&http).await, small_parts())
        .upload_reader("b", "k", Failing(7 * MIB as usize))
        .send()
        .await
        .unwrap_err();
    assert!(matches!(err, TransferError::Io { .. }), "{err}");
    let reqs = http.requests();
    assert_eq!(reqs.last().unwrap().method, Method::DELETE);
    assert_eq!(reqs.last().unwrap().url.query(), Some("uploadId=UP1"));
}

#[tokio::test]
async fn ranged_download_sends_if_match_and_reports_a_replaced_object() {
    let size = 11 * MIB;
    let http = Arc::new(ReplayHttp::new());
    http.push(
        Canned::status(206, vec![1u8; 5 * MIB as usize])
            .with_header("etag", "\"v1\"")
            .with_header("content-length", &(5 * MIB).to_string())
            .with_header("content-range", &format!("bytes 0-{}/{size}", 5 * MIB - 1)),
    );
    http.push(Canned::status(412, "<Error><Code>PreconditionFailed</Code></Error>"));
    let err = TransferManager::with_config(client(&http).await, small_parts())
        .download("b", "k")
        .to_bytes()
        .await
        .unwrap_err();
    assert!(matches!(&err, TransferError::ObjectChanged { e_tag, .. } if e_tag == "\"v1\""), "{err}");
    let reqs = http.requests();
    assert_eq!(reqs[0].headers["range"], format!("bytes=0-{}", 5 * MIB - 1));
    assert!(reqs[0].headers.get("if-match").is_none());
    assert_eq!(reqs[1].headers["range"], format!("bytes={}-{}", 5 * MIB, 10 * MIB - 1));
    assert_eq!(reqs[1].headers["if-match"], "\"v1\"");
}

#[tokio::test]
async fn download_in_parts_is_written_in_order() {
    let size = 11 * MIB;
    let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    let http = Arc::new(ReplayHttp::new());
    for (start, end) in [(0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, size)] {
        http.push(
            Canned::status(206, data[start as usize..end as usize].to_vec())
                .with_header("etag", "\"v1\"")
                .with_header("content-length", &(end - start).to_string())
                .with_header("content-range", &format!("bytes {start}-{}/{size}", end - 1)),
        );
    }
    let got =
        TransferManager::with_config(client(&http).await, small_parts()).download("b", "k").to_bytes().await.unwrap();
    assert!(got[..] == data[..]);
    assert_eq!(http.requests().len(), 3);
}

#[tokio::test]
async fn a_failed_download_leaves_no_file() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(404, "<Error><Code>NoSuchKey</Code></Error>"));
    let dir = TempDir::new("s3-transfer-unit").unwrap();
    let path = dir.join("out.bin");
    let err = TransferManager::new(client(&http).await).download_file("b", "k", &path).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(dir.names().unwrap().is_empty(), "no partial or temporary file");
}

/// Issue 16, point 6: file transfers in boto3's argument order, the file a `&Path`:
/// `s3.upload_file(file, bucket, key)`, `s3.download_file(bucket, key, file)`,
/// `bucket.upload_file(file, key)`, `bucket.download_file(key, file)`, `object.upload_file(file)`,
/// `object.download_file(file)` (the swapped orders are `compile_fail` doc tests).
#[tokio::test]
async fn file_transfers_take_boto3_argument_order() {
    let dir = TempDir::new("s3-boto3-order").unwrap();
    let src = dir.join("hello.txt");
    std::fs::write(&src, b"hello").unwrap();
    let http = Arc::new(ReplayHttp::new());
    let s3 = client(&http).await;
    let fetched = |body: &'static [u8]| {
        Canned::status(206, body.to_vec())
            .with_header("etag", "\"e\"")
            .with_header("content-range", &format!("bytes 0-{}/{}", body.len() - 1, body.len()))
    };
    for _ in 0..3 {
        http.push(Canned::status(200, "").with_header("etag", "\"e\""));
    }
    s3.upload_file(&src, "b", "client/key").send().await.unwrap();
    s3.bucket("b").upload_file(&src, "bucket/key").send().await.unwrap();
    s3.bucket("b").object("object/key").upload_file(&src).send().await.unwrap();
    http.push(fetched(b"one"));
    http.push(fetched(b"two"));
    http.push(fetched(b"three"));
    let (one, two, three) = (dir.join("one"), dir.join("two"), dir.join("three"));
    s3.download_file("b", "client/key", &one).await.unwrap();
    s3.bucket("b").download_file("bucket/key", &two).await.unwrap();
    s3.bucket("b").object("object/key").download_file(&three).await.unwrap();
    let paths: Vec<(Method, String)> =
        http.requests().iter().map(|r| (r.method.clone(), r.url.path().to_owned())).collect();
    let expected = [
        (Method::PUT, "/b/client/key"),
        (Method::PUT, "/b/bucket/key"),
        (Method::PUT, "/b/object/key"),
        (Method::GET, "/b/client/key"),
        (Method::GET, "/b/bucket/key"),
        (Method::GET, "/b/object/key"),
    ];
    assert_eq!(paths, expected.map(|(m, p)| (m, p.to_owned())));
    assert!(http.requests()[..3].iter().all(|r| &r.body[..] == b"hello"), "the file's bytes were sent");
    assert_eq!(std::fs::read(&one).unwrap(), b"one");
    assert_eq!(std::fs::read(&two).unwrap(), b"two");
    assert_eq!(std::fs::read(&three).unwrap(), b"three");
}

// ---------------------------------------------------------------------------------------------
// Issue 15: downloads verified, validated, resumed, and written through a PartialFile.

fn object(len: u64) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(2_654_435_761) >> 7) as u8).collect()
}

/// HeadObject of an object of `size` bytes with ETag `etag` and the checksum headers `checksum`.
fn head(size: u64, etag: &str, checksum: &[(&str, &str)]) -> Canned {
    let mut c = Canned::status(200, "").with_header("content-length", &size.to_string()).with_header("etag", etag);
    for (name, value) in checksum {
        c = c.with_header(name, value);
    }
    c
}

/// A 206 with bytes `start..end` of `data`.
fn range(data: &[u8], start: u64, end: u64, etag: &str) -> Canned {
    Canned::status(206, data[start as usize..end as usize].to_vec())
        .with_header("etag", etag)
        .with_header("content-length", &(end - start).to_string())
        .with_header("content-range", &format!("bytes {start}-{}/{}", end - 1, data.len()))
}

/// Part `n` of `count` (bytes `start..end` of `data`) with its own CRC32C, as S3 answers a GET
/// with `partNumber` of an object with a composite checksum.
fn part(data: &[u8], start: u64, end: u64, etag: &str, count: u32) -> Canned {
    range(data, start, end, etag)
        .with_header("x-amz-mp-parts-count", &count.to_string())
        .with_header("x-amz-checksum-type", "COMPOSITE")
        .with_header("x-amz-checksum-crc32c", &ChecksumAlgorithm::Crc32c.checksum(&data[start as usize..end as usize]))
}

fn crc32c(data: &[u8]) -> String {
    ChecksumAlgorithm::Crc32c.checksum(data)
}

/// Defect 14: a hostile `Content-Range` total in the first ranged GET made the transfer manager
/// plan one entry per part (billions for 2^62) before anything else. Sizes are now checked
/// first: an impossible total, or a range that does not match what was asked for, is a decode
/// error and nothing more is requested.
#[tokio::test]
async fn hostile_sizes_are_refused_before_planning() {
    let first = vec![0u8; 5 * MIB as usize];
    let decode = |err: TransferError| {
        let core = err.s3().and_then(S3Error::core).map(|c| c.kind());
        assert_eq!(core, Some(cloudkit_core::ErrorKind::Decode), "{err}");
    };
    for total in [10_000 * 5 * 1024 * MIB + 1, 1u64 << 62] {
        let http = Arc::new(ReplayHttp::new());
        http.push(
            Canned::status(206, first.clone())
                .with_header("etag", "\"v1\"")
                .with_header("content-length", &(5 * MIB).to_string())
                .with_header("content-range", &format!("bytes 0-{}/{total}", 5 * MIB - 1)),
        );
        let err = TransferManager::with_config(client(&http).await, small_parts())
            .download("b", "k")
            .to_bytes()
            .await
            .unwrap_err();
        decode(err);
        assert_eq!(http.requests().len(), 1, "nothing planned from the hostile total");
    }
    // A range that is not the one asked for (fewer bytes than asked, though the object is
    // larger), and a Content-Length that does not match the Content-Range.
    let wrong_range = Canned::status(206, vec![0u8; 100])
        .with_header("etag", "\"v1\"")
        .with_header("content-length", "100")
        .with_header("content-range", "bytes 0-99/1000000000");
    let wrong_length = Canned::status(206, first.clone())
        .with_header("etag", "\"v1\"")
        .with_header("content-length", "7")
        .with_header("content-range", &format!("bytes 0-{}/{}", 5 * MIB - 1, 11 * MIB));
    for answer in [wrong_range, wrong_length] {
        let http = Arc::new(ReplayHttp::new());
        http.push(answer);
        let manager = TransferManager::with_config(client(&http).await, small_parts());
        decode(manager.download("b", "k").to_bytes().await.unwrap_err());
    }
    // HeadObject's size is checked the same way.
    let http = Arc::new(ReplayHttp::new());
    http.push(head(1 << 62, "\"v1\"", &[]));
    let s3 = client_with(&http, ChecksumMode::WhenSupported).await;
    decode(TransferManager::with_config(s3, small_parts()).download("b", "k").to_bytes().await.unwrap_err());
    assert_eq!(http.requests().len(), 1);
}

/// Defect 8: the transfer manager verified nothing (every GET is ranged). An object with a
/// full-object CRC32C is now verified over the parallel parts (their CRCs combined, to a file; in
/// order, to a writer), and a corrupt part fails the download.
#[tokio::test]
async fn full_object_checksums_are_verified_over_parallel_parts() {
    let size = 11 * MIB;
    let data = object(size);
    let spans = [(0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, size)];
    let queue = |http: &ReplayHttp, data: &[u8]| {
        http.push(head(
            size,
            "\"v1\"",
            &[("x-amz-checksum-crc32c", &crc32c(&object(size))), ("x-amz-checksum-type", "FULL_OBJECT")],
        ));
        for (s, e) in spans {
            http.push(range(data, s, e, "\"v1\""));
        }
    };
    // Into memory (the default custom-endpoint mode, WhenRequired, verifies downloads).
    let http = Arc::new(ReplayHttp::new());
    queue(&http, &data);
    let s3 = client_with(&http, ChecksumMode::WhenRequired).await;
    let mut out = Vec::new();
    let got =
        TransferManager::with_config(s3.clone(), small_parts()).download("b", "k").to_writer(&mut out).await.unwrap();
    assert_eq!(got.checksum_verified, Some(Verified::Checksum(ChecksumAlgorithm::Crc32c)));
    assert!(out == data);
    let reqs = http.requests();
    assert_eq!(reqs[0].method, Method::HEAD);
    assert_eq!(reqs[0].headers["x-amz-checksum-mode"], "ENABLED");
    assert_eq!(reqs[2].headers["if-match"], "\"v1\"");
    assert_eq!(reqs[2].headers["range"], format!("bytes={}-{}", 5 * MIB, 10 * MIB - 1));

    // Into a file (parts written out of order, CRCs combined).
    let dir = TempDir::new("s3-dl-full").unwrap();
    let target = dir.join("out.bin");
    queue(&http, &data);
    let got = TransferManager::with_config(s3.clone(), small_parts()).download_file("b", "k", &target).await.unwrap();
    assert_eq!(got.checksum_verified, Some(Verified::Checksum(ChecksumAlgorithm::Crc32c)));
    assert!(std::fs::read(&target).unwrap() == data);

    // One flipped byte in the middle part: the download fails, in memory and to a file; the
    // file keeps its old content and no temporary file is left.
    let mut corrupt = data.clone();
    corrupt[(7 * MIB) as usize] ^= 1;
    queue(&http, &corrupt);
    let err = TransferManager::with_config(s3.clone(), small_parts()).download("b", "k").to_bytes().await.unwrap_err();
    assert!(matches!(err.s3(), Some(S3Error::ChecksumMismatch { algorithm: "CRC32C", .. })), "{err}");
    std::fs::write(&target, b"old").unwrap();
    queue(&http, &corrupt);
    let err = TransferManager::with_config(s3, small_parts()).download_file("b", "k", &target).await.unwrap_err();
    assert!(matches!(err.s3(), Some(S3Error::ChecksumMismatch { .. })), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
    assert_eq!(dir.names().unwrap(), ["out.bin"]);
}

/// SHA-256 full-object checksums (a single PUT) cannot be combined: they are computed in order
/// (the writer) or over the finished temporary file (a file).
#[tokio::test]
async fn sha256_full_object_checksums_are_verified_in_order() {
    let size = 11 * MIB;
    let data = object(size);
    let sha = ChecksumAlgorithm::Sha256.checksum(&data);
    let http = Arc::new(ReplayHttp::new());
    let s3 = client_with(&http, ChecksumMode::Required).await;
    let dir = TempDir::new("s3-dl-sha").unwrap();
    let target = dir.join("out.bin");
    for to_file in [false, true] {
        http.push(head(size, "\"v1\"", &[("x-amz-checksum-sha256", &sha)]));
        for (s, e) in [(0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, size)] {
            http.push(range(&data, s, e, "\"v1\""));
        }
        let manager = TransferManager::with_config(s3.clone(), small_parts());
        let got = if to_file {
            let out = manager.download_file("b", "k", &target).await.unwrap();
            assert!(std::fs::read(&target).unwrap() == data);
            out
        } else {
            let mut out = Vec::new();
            let got = manager.download("b", "k").to_writer(&mut out).await.unwrap();
            assert!(out == data);
            got
        };
        assert_eq!(got.checksum_verified, Some(Verified::Checksum(ChecksumAlgorithm::Sha256)));
    }
    let mut corrupt = data.clone();
    corrupt[3] ^= 4;
    http.push(head(size, "\"v1\"", &[("x-amz-checksum-sha256", &sha)]));
    for (s, e) in [(0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, size)] {
        http.push(range(&corrupt, s, e, "\"v1\""));
    }
    let err = TransferManager::with_config(s3, small_parts()).download_file("b", "k", &target).await.unwrap_err();
    assert!(matches!(err.s3(), Some(S3Error::ChecksumMismatch { algorithm: "SHA256", .. })), "{err}");
    assert!(std::fs::read(&target).unwrap() == data, "the verified download stays");
    assert_eq!(dir.names().unwrap(), ["out.bin"]);
}

/// An object with a composite checksum is fetched part by part (`partNumber`, `If-Match`) and
/// every part is verified against its own checksum.
#[tokio::test]
async fn composite_checksums_are_verified_part_by_part() {
    let size = 13 * MIB;
    let data = object(size);
    let parts = [(0, 6 * MIB), (6 * MIB, 12 * MIB), (12 * MIB, size)];
    let queue = |http: &ReplayHttp, data: &[u8]| {
        http.push(head(
            size,
            "\"m-3\"",
            &[("x-amz-checksum-crc32c", "AAAAAA==-3"), ("x-amz-checksum-type", "COMPOSITE")],
        ));
        for (s, e) in parts {
            http.push(part(data, s, e, "\"m-3\"", 3));
        }
    };
    let http = Arc::new(ReplayHttp::new());
    let s3 = client_with(&http, ChecksumMode::Required).await;
    queue(&http, &data);
    let dir = TempDir::new("s3-dl-composite").unwrap();
    let target = dir.join("out.bin");
    let got = TransferManager::with_config(s3.clone(), small_parts()).download_file("b", "k", &target).await.unwrap();
    assert_eq!(got.checksum_verified, Some(Verified::Checksum(ChecksumAlgorithm::Crc32c)));
    assert_eq!(got.parts, 3);
    assert!(std::fs::read(&target).unwrap() == data);
    let reqs = http.requests();
    let queries: Vec<&str> = reqs.iter().map(|r| r.url.query().unwrap_or("")).collect();
    assert_eq!(queries, ["", "partNumber=1", "partNumber=2", "partNumber=3"]);
    assert!(reqs[1..].iter().all(|r| r.headers["if-match"] == "\"m-3\"" && r.headers.get("range").is_none()));
    assert!(reqs[1..].iter().all(|r| r.headers["x-amz-checksum-mode"] == "ENABLED"));

    // In order into a writer; a corrupt part fails against its own checksum.
    queue(&http, &data);
    let got = TransferManager::with_config(s3.clone(), small_parts()).download("b", "k").to_bytes().await.unwrap();
    assert!(got[..] == data[..]);
    let mut corrupt = data.clone();
    corrupt[(12 * MIB + 5) as usize] ^= 1;
    http.push(head(size, "\"m-3\"", &[("x-amz-checksum-crc32c", "AAAAAA==-3"), ("x-amz-checksum-type", "COMPOSITE")]));
    for (i, (s, e)) in parts.into_iter().enumerate() {
        let mut c = part(&data, s, e, "\"m-3\"", 3);
        if i == 2 {
            c = range(&corrupt, s, e, "\"m-3\"")
                .with_header("x-amz-checksum-type", "COMPOSITE")
                .with_header("x-amz-checksum-crc32c", &crc32c(&data[s as usize..e as usize]));
        }
        http.push(c);
    }
    let err = TransferManager::with_config(s3, small_parts()).download_file("b", "k", &target).await.unwrap_err();
    assert!(matches!(err.s3(), Some(S3Error::ChecksumMismatch { .. })), "{err}");
    assert!(std::fs::read(&target).unwrap() == data);
    assert_eq!(dir.names().unwrap(), ["out.bin"]);
}

/// A store that ignores `partNumber` (moto answers the whole object) cannot verify a composite
/// checksum: the download falls back to byte ranges, unverified — or fails, typed, under
/// `Required`. So does an object with no checksum at all under `Required`.
#[tokio::test]
async fn required_fails_when_nothing_can_be_verified() {
    let size = 11 * MIB;
    let data = object(size);
    let composite = [("x-amz-checksum-crc32c", "AAAAAA==-3"), ("x-amz-checksum-type", "COMPOSITE")];
    let whole = || {
        Canned::status(200, data.clone())
            .with_header("etag", "\"m-3\"")
            .with_header("content-length", &size.to_string())
            .with_header("x-amz-checksum-crc32c", "AAAAAA==-3")
    };
    let http = Arc::new(ReplayHttp::new());
    http.push(head(size, "\"m-3\"", &composite));
    http.push(whole());
    for (s, e) in [(0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, size)] {
        http.push(range(&data, s, e, "\"m-3\""));
    }
    let s3 = client_with(&http, ChecksumMode::WhenSupported).await;
    let mut out = Vec::new();
    let got = TransferManager::with_config(s3, small_parts()).download("b", "k").to_writer(&mut out).await.unwrap();
    assert_eq!(got.checksum_verified, None);
    assert!(out == data);
    assert_eq!(http.requests()[2].headers["range"], format!("bytes=0-{}", 5 * MIB - 1));

    let s3 = client_with(&http, ChecksumMode::Required).await;
    http.push(head(size, "\"m-3\"", &composite));
    http.push(whole());
    let err = TransferManager::with_config(s3.clone(), small_parts()).download("b", "k").to_bytes().await.unwrap_err();
    assert!(matches!(err.s3(), Some(S3Error::ChecksumUnavailable { .. })), "{err}");
    http.push(head(size, "\"v1\"", &[]));
    let before = http.requests().len();
    let err = TransferManager::with_config(s3, small_parts()).download("b", "k").to_bytes().await.unwrap_err();
    assert!(matches!(err.s3(), Some(S3Error::ChecksumUnavailable { .. })), "{err}");
    assert!(err.to_string().contains("checksum mode is Required"), "{err}");
    assert_eq!(http.requests().len(), before + 1, "no GET after the HeadObject");
    assert_eq!(http.remaining(), 0);
}

/// Defect 3 (S3): a download to a file goes through a `PartialFile`: dropping the download's
/// future (cancellation) removes the temporary file and keeps the old content; before, the
/// temporary file stayed behind.
#[tokio::test(start_paused = true)]
async fn a_cancelled_download_leaves_no_temporary_file() {
    let data = object(11 * MIB);
    let dir = TempDir::new("s3-dl-cancel").unwrap();
    let target = dir.join("out.bin");
    std::fs::write(&target, b"old").unwrap();
    let http = Arc::new(ReplayHttp::new());
    http.push(range(&data, 0, 5 * MIB, "\"v1\""));
    http.push(Canned::hang());
    http.push(Canned::hang());
    let manager = TransferManager::with_config(client(&http).await, small_parts().with_concurrency(2));
    let download = manager.download_file("b", "k", &target);
    let cancelled = tokio::time::timeout(Duration::from_secs(5), download).await;
    assert!(cancelled.is_err(), "the download hangs until it is dropped");
    // Blocking-pool writes of the dropped download may still finish; they never recreate the file.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(dir.names().unwrap(), ["out.bin"]);
    assert_eq!(std::fs::read(&target).unwrap(), b"old");
}

/// Two downloads of one target at once each write their own temporary file.
#[tokio::test]
async fn concurrent_downloads_of_one_target_do_not_mix() {
    let dir = TempDir::new("s3-dl-concurrent").unwrap();
    let target = dir.join("same.bin");
    let a = object(1000);
    let b: Vec<u8> = a.iter().map(|x| x ^ 0xff).collect();
    let (ha, hb) = (Arc::new(ReplayHttp::new()), Arc::new(ReplayHttp::new()));
    ha.push(head(1000, "\"a\"", &[("x-amz-checksum-crc32c", &crc32c(&a))]));
    ha.push(range(&a, 0, 1000, "\"a\""));
    hb.push(head(1000, "\"b\"", &[("x-amz-checksum-crc32c", &crc32c(&b))]));
    hb.push(range(&b, 0, 1000, "\"b\""));
    let (ma, mb) = (
        TransferManager::new(client_with(&ha, ChecksumMode::WhenRequired).await),
        TransferManager::new(client_with(&hb, ChecksumMode::WhenRequired).await),
    );
    let (ra, rb) = tokio::join!(ma.download_file("b", "k", &target), mb.download_file("b", "k", &target));
    assert_eq!(ra.unwrap().checksum_verified, Some(Verified::Checksum(ChecksumAlgorithm::Crc32c)));
    rb.unwrap();
    let got = std::fs::read(&target).unwrap();
    assert!(got == a || got == b, "one whole download, never a mix");
    assert_eq!(dir.names().unwrap(), ["same.bin"]);
}

/// A part whose body breaks off resumes within its range (If-Match), through GetObject's
/// resuming body; a part that finds the object replaced is `ObjectChanged`.
#[tokio::test]
async fn a_broken_part_resumes_within_its_range() {
    use crate::tests::{Cut, FaultyHttp, faulty_client};
    let size = 11 * MIB;
    let data = object(size);
    let http = FaultyHttp::new();
    http.push(head(size, "\"v1\"", &[("x-amz-checksum-crc32c", &crc32c(&data))]), Cut::None);
    http.push(range(&data, 0, 5 * MIB, "\"v1\""), Cut::None);
    http.push(range(&data, 5 * MIB, 10 * MIB, "\"v1\""), Cut::ResetAfter(1000));
    http.push(range(&data, 5 * MIB + 1000, 10 * MIB, "\"v1\""), Cut::None);
    http.push(range(&data, 10 * MIB, size, "\"v1\""), Cut::None);
    let s3 = faulty_client(&http, ChecksumMode::WhenRequired).await;
    let got = TransferManager::with_config(s3.clone(), small_parts()).download("b", "k").to_bytes().await.unwrap();
    assert!(got[..] == data[..]);
    let reqs = http.requests();
    assert_eq!(reqs[3].headers["range"], format!("bytes={}-{}", 5 * MIB + 1000, 10 * MIB - 1));
    assert_eq!(reqs[3].headers["if-match"], "\"v1\"");

    let http = FaultyHttp::new();
    http.push(head(size, "\"v1\"", &[]), Cut::None);
    http.push(range(&data, 0, 5 * MIB, "\"v1\""), Cut::ResetAfter(10));
    http.push(Canned::status(412, "<Error><Code>PreconditionFailed</Code></Error>"), Cut::None);
    let s3 = faulty_client(&http, ChecksumMode::WhenRequired).await;
    let err = TransferManager::with_config(s3, small_parts().with_concurrency(1))
        .download("b", "k")
        .to_bytes()
        .await
        .unwrap_err();
    assert!(matches!(&err, TransferError::ObjectChanged { e_tag, .. } if e_tag == "\"v1\""), "{err}");
}

/// Defect 9 (managed uploads): a file uploaded in parts to a custom endpoint (`WhenRequired`)
/// sends every part with its checksum, listed again in CompleteMultipartUpload. Defect 8: the
/// upload is created with a full-object CRC32 (`x-amz-checksum-type: FULL_OBJECT`) and the
/// completion carries the CRC32 of the whole object, combined from the parts' CRCs, so that
/// downloads can verify it (a composite checksum cannot be verified on stores that ignore
/// `partNumber`); the part size is recorded in the metadata for the ETag check.
#[tokio::test]
async fn multipart_file_uploads_to_custom_endpoints_carry_part_checksums() {
    let dir = TempDir::new("s3-dl-upload-crc").unwrap();
    let path = dir.join("big.bin");
    let data = object(11 * MIB);
    std::fs::write(&path, &data).unwrap();
    let http = Arc::new(ReplayHttp::new());
    queue_multipart_upload(&http, 3);
    let s3 = client_with(&http, ChecksumMode::WhenRequired).await;
    let out = TransferManager::with_config(s3, small_parts())
        .upload_file(&path, "b", "k")
        .metadata("Cloudkit-Part-Size", "12") // reserved: replaced
        .metadata("owner", "me")
        .send()
        .await
        .unwrap();
    assert_eq!(out.parts, 3);
    let reqs = http.requests();
    assert_eq!(reqs[0].headers["x-amz-checksum-algorithm"], "CRC32");
    assert_eq!(reqs[0].headers["x-amz-checksum-type"], "FULL_OBJECT");
    assert_eq!(reqs[0].headers["x-amz-meta-cloudkit-part-size"], (5 * MIB).to_string().as_str());
    assert_eq!(reqs[0].headers.get_all("x-amz-meta-cloudkit-part-size").iter().count(), 1);
    assert_eq!(reqs[0].headers["x-amz-meta-owner"], "me");
    for (i, r) in reqs[1..4].iter().enumerate() {
        let start = i * 5 * MIB as usize;
        let end = (start + 5 * MIB as usize).min(data.len());
        let crc = ChecksumAlgorithm::Crc32.checksum(&data[start..end]);
        assert_eq!(r.headers["x-amz-checksum-crc32"], crc.as_str(), "part {}", i + 1);
        assert_eq!(r.headers["x-amz-content-sha256"], "UNSIGNED-PAYLOAD");
    }
    let complete = &reqs[4];
    assert_eq!(complete.headers["x-amz-checksum-crc32"], ChecksumAlgorithm::Crc32.checksum(&data).as_str());
    assert_eq!(complete.headers["x-amz-checksum-type"], "FULL_OBJECT");
    let body = String::from_utf8(complete.body.to_vec()).unwrap();
    assert_eq!(body.matches("<ChecksumCRC32>").count(), 3, "{body}");
}

/// CreateMultipartUpload, `count` parts and the completion, answered as S3 does.
fn queue_multipart_upload(http: &ReplayHttp, count: u32) {
    http.push(Canned::status(200, CREATED));
    for i in 1..=count {
        http.push(Canned::status(200, "").with_header("etag", &format!("\"p{i}\"")));
    }
    http.push(Canned::status(
        200,
        format!("<CompleteMultipartUploadResult><ETag>\"m-{count}\"</ETag></CompleteMultipartUploadResult>"),
    ));
}

/// With checksums off, the parts and the completion carry none, but the part size is still
/// recorded (the ETag stays checkable by clients that verify); it is left out rather than
/// taking the caller's metadata over S3's 2 KiB limit.
#[tokio::test]
async fn multipart_uploads_without_checksums_still_record_the_part_size() {
    let http = Arc::new(ReplayHttp::new());
    queue_multipart_upload(&http, 3);
    let data = Bytes::from(object(11 * MIB));
    TransferManager::with_config(client(&http).await, small_parts()).upload_bytes("b", "k", data).send().await.unwrap();
    let reqs = http.requests();
    assert_eq!(reqs[0].headers["x-amz-meta-cloudkit-part-size"], (5 * MIB).to_string().as_str());
    assert!(reqs.iter().all(|r| r.headers.keys().all(|h| !h.as_str().starts_with("x-amz-checksum"))));

    let http = Arc::new(ReplayHttp::new());
    queue_multipart_upload(&http, 3);
    let data = Bytes::from(object(11 * MIB));
    TransferManager::with_config(client(&http).await, small_parts())
        .upload_bytes("b", "k", data)
        .metadata("big", "x".repeat(2040))
        .send()
        .await
        .unwrap();
    assert!(http.requests()[0].headers.get("x-amz-meta-cloudkit-part-size").is_none());
}

/// The multipart ETag of `data` uploaded in `part`-byte parts (as S3 and s3s-fs compute it).
fn multipart_e_tag(data: &[u8], part: u64) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut md5s = Vec::new();
    let chunks: Vec<&[u8]> = data.chunks(part as usize).collect();
    for c in &chunks {
        md5s.extend(b64.decode(cloudkit_core::md5_base64(c)).unwrap());
    }
    let digest = b64.decode(cloudkit_core::md5_base64(&md5s)).unwrap();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}-{}\"", chunks.len())
}

/// HeadObject of an object a TransferManager uploaded in `part`-byte parts to a store that keeps
/// no checksum for multipart objects (s3s-fs): the multipart ETag and the recorded part size.
fn head_without_checksum(data: &[u8], part: u64, extra: &[(&str, &str)]) -> Canned {
    let mut c = head(data.len() as u64, &multipart_e_tag(data, part), &[])
        .with_header("x-amz-meta-cloudkit-part-size", &part.to_string());
    for (name, value) in extra {
        c = c.with_header(name, value);
    }
    c
}

/// Defect 8 on stores without checksums: s3s-fs keeps none for multipart objects, so the
/// TransferManager verified nothing and flipped bytes reached the caller. An object a
/// TransferManager uploaded (its part size recorded in the metadata) is now verified against
/// its multipart ETag — in memory, into a writer, into a file (committed only after the check),
/// with download ranges that do not line up with the upload's parts — and a flipped byte is a
/// `ChecksumMismatch` with algorithm MD5.
#[tokio::test]
async fn multipart_e_tags_are_verified_where_no_checksum_is_stored() {
    let size = 13 * MIB;
    let upload_part = 6 * MIB; // the upload's parts: 6 + 6 + 1 MiB; the download's: 5 + 5 + 3
    let data = object(size);
    let spans = [(0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, size)];
    let etag = multipart_e_tag(&data, upload_part);
    let queue = |http: &ReplayHttp, body: &[u8]| {
        http.push(head_without_checksum(&data, upload_part, &[]));
        for (s, e) in spans {
            http.push(range(body, s, e, &etag));
        }
    };
    let http = Arc::new(ReplayHttp::new());
    // `Required` is satisfied by the ETag check.
    let s3 = client_with(&http, ChecksumMode::Required).await;
    let manager = || TransferManager::with_config(s3.clone(), small_parts());
    queue(&http, &data);
    let mut out = Vec::new();
    let got = manager().download("b", "k").to_writer(&mut out).await.unwrap();
    assert_eq!(got.checksum_verified, Some(Verified::MultipartETag));
    assert!(out == data);
    queue(&http, &data);
    assert!(manager().download("b", "k").to_bytes().await.unwrap() == data);
    let dir = TempDir::new("s3-dl-etag").unwrap();
    let target = dir.join("out.bin");
    queue(&http, &data);
    let got = manager().download_file("b", "k", &target).await.unwrap();
    assert_eq!(got.checksum_verified, Some(Verified::MultipartETag));
    assert!(std::fs::read(&target).unwrap() == data);

    let mut corrupt = data.clone();
    corrupt[(11 * MIB) as usize] ^= 0x40;
    queue(&http, &corrupt);
    let err = manager().download("b", "k").to_bytes().await.unwrap_err();
    assert!(matches!(err.s3(), Some(S3Error::ChecksumMismatch { algorithm: "MD5", .. })), "{err}");
    std::fs::write(&target, b"old").unwrap();
    queue(&http, &corrupt);
    let err = manager().download_file("b", "k", &target).await.unwrap_err();
    assert!(matches!(err.s3(), Some(S3Error::ChecksumMismatch { algorithm: "MD5", .. })), "{err}");
    assert_eq!(std::fs::read(&target).unwrap(), b"old", "the file is replaced only after the check");
    assert_eq!(dir.names().unwrap(), ["out.bin"]);

    // One GET (an object below the threshold, uploaded in parts by a smaller-threshold upload):
    // the check wraps the single body.
    let small = object(5 * MIB + 100);
    let small_etag = multipart_e_tag(&small, 5 * MIB);
    let config = small_parts().with_multipart_threshold(8 * MIB);
    for body in [small.clone(), {
        let mut c = small.clone();
        c[7] ^= 1;
        c
    }] {
        http.push(head_without_checksum(&small, 5 * MIB, &[]));
        http.push(range(&body, 0, small.len() as u64, &small_etag));
        let mut out = Vec::new();
        let got = TransferManager::with_config(s3.clone(), config.clone()).download("b", "k").to_writer(&mut out).await;
        if body == small {
            assert_eq!(got.unwrap().checksum_verified, Some(Verified::MultipartETag));
        } else {
            let err = got.unwrap_err();
            assert!(matches!(err.s3(), Some(S3Error::ChecksumMismatch { algorithm: "MD5", .. })), "{err}");
        }
    }
    assert_eq!(http.remaining(), 0);
}

/// The ETag is checked only when it is known to be the MD5 of the recorded parts: not without
/// the recorded part size (an object someone else uploaded), not for SSE-KMS / SSE-C objects
/// (their ETags are no MD5s), not when the part count does not fit. Such downloads succeed
/// unverified (or fail, typed, under `Required`) — a wrong guess would fail good downloads.
#[tokio::test]
async fn multipart_e_tags_are_not_checked_without_the_recorded_part_size_or_with_sse_kms() {
    let size = 11 * MIB;
    let data = object(size);
    let etag = multipart_e_tag(&data, 6 * MIB);
    let mut corrupt = data.clone();
    corrupt[9] ^= 1;
    let heads = [
        head(size, &etag, &[]),
        head_without_checksum(&data, 6 * MIB, &[("x-amz-server-side-encryption", "aws:kms")]),
        head_without_checksum(&data, 6 * MIB, &[("x-amz-server-side-encryption-customer-algorithm", "AES256")]),
        head(size, &etag, &[]).with_header("x-amz-meta-cloudkit-part-size", &(5 * MIB).to_string()),
    ];
    for head in heads {
        let http = Arc::new(ReplayHttp::new());
        http.push(head.clone());
        for (s, e) in [(0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, size)] {
            http.push(range(&corrupt, s, e, &etag));
        }
        let s3 = client_with(&http, ChecksumMode::WhenRequired).await;
        let mut out = Vec::new();
        let got = TransferManager::with_config(s3, small_parts()).download("b", "k").to_writer(&mut out).await.unwrap();
        assert_eq!(got.checksum_verified, None);
        assert!(out == corrupt, "nothing to verify with: the bytes are what the store sent");

        http.push(head);
        let s3 = client_with(&http, ChecksumMode::Required).await;
        let err = TransferManager::with_config(s3, small_parts()).download("b", "k").to_bytes().await.unwrap_err();
        assert!(matches!(err.s3(), Some(S3Error::ChecksumUnavailable { .. })), "{err}");
    }
}

/// A store that ignores `partNumber` (moto) cannot verify a composite checksum part by part; an
/// object with the recorded part size is then verified against its ETag instead.
#[tokio::test]
async fn composite_objects_fall_back_to_the_e_tag_where_parts_are_not_served() {
    let size = 11 * MIB;
    let data = object(size);
    let etag = multipart_e_tag(&data, 5 * MIB);
    let http = Arc::new(ReplayHttp::new());
    http.push(
        head_without_checksum(&data, 5 * MIB, &[])
            .with_header("x-amz-checksum-crc32c", "AAAAAA==-3")
            .with_header("x-amz-checksum-type", "COMPOSITE"),
    );
    // partNumber=1 answered with the whole object.
    http.push(
        Canned::status(200, data.clone()).with_header("etag", &etag).with_header("content-length", &size.to_string()),
    );
    for (s, e) in [(0, 5 * MIB), (5 * MIB, 10 * MIB), (10 * MIB, size)] {
        http.push(range(&data, s, e, &etag));
    }
    let s3 = client_with(&http, ChecksumMode::Required).await;
    let mut out = Vec::new();
    let got = TransferManager::with_config(s3, small_parts()).download("b", "k").to_writer(&mut out).await.unwrap();
    assert_eq!(got.checksum_verified, Some(Verified::MultipartETag));
    assert!(out == data);
}
