//! Unit tests of the transfer manager with canned responses (ReplayHttp): part sizing, the
//! abort of a failed multipart upload, the If-Match on ranged GETs and the typed error when the
//! object changed.

use std::sync::{Arc, Mutex};

use cloudkit_core::testing::{Canned, ReplayHttp};
use cloudkit_core::{Method, RetryConfig, Url};

use crate::tests::replay_builder;
use crate::*;

const MIB: u64 = 1024 * 1024;

/// A client for a custom endpoint making one attempt per request (the canned failures are final).
async fn client(http: &Arc<ReplayHttp>) -> S3Client {
    replay_builder(http, "us-east-1")
        .await
        .endpoint(Url::parse("http://127.0.0.1:9000").unwrap())
        .retry(RetryConfig::standard().with_max_attempts(1))
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
    let dir = std::env::temp_dir().join(format!("ck-s3-transfer-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("out.bin");
    let err = TransferManager::new(client(&http).await).download_file("b", "k", &path).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "no partial or temporary file");
    std::fs::remove_dir_all(&dir).unwrap();
}
