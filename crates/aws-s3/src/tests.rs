//! Request-shape and response-parsing tests with canned responses (ReplayHttp). Response bodies
//! are the examples of the S3 API reference (trimmed where noted).
//!
//! Clients are built the way programs build them: an `AwsConfig` loaded (from a fake
//! environment), then `S3Client::builder(&config)` with the replay HTTP client as an override.

use std::sync::Arc;
use std::time::Duration;

use cloudkit_core::testing::{Canned, ReplayHttp};
use cloudkit_core::{Bytes, Url};
use cloudkit_cred_chain::aws::{AwsConfig, Env, Fs, ProviderConfig};
use cloudkit_paginate::PaginationConfig;
use cloudkit_signer::aws::Credentials;
use futures::TryStreamExt;

use crate::*;

/// The AWS documentation's example keys; every unit-test client signs with them.
const ACCESS_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";

/// An `AwsConfig` loaded from a fake environment with no files (nothing is read from the real
/// environment, HOME or instance metadata), in `region`, with `credentials` when given (else the
/// default chain, which finds none there).
pub(crate) async fn fake_config(region: &str, credentials: Option<Credentials>) -> AwsConfig {
    let unused_http = Arc::new(ReplayHttp::new());
    let provider_config = ProviderConfig::with_http(unused_http)
        .env(Env::from_pairs([("HOME", "/home/s3-unit-tests"), ("AWS_EC2_METADATA_DISABLED", "true")]))
        .fs(Fs::from_files(Vec::<(String, String)>::new()));
    let mut loader = AwsConfig::loader().provider_config(provider_config).region(region);
    if let Some(credentials) = credentials {
        loader = loader.credentials(credentials);
    }
    loader.load().await.unwrap()
}

/// `S3Client::builder` over a [`fake_config`] with static keys, sending through `http`.
pub(crate) async fn replay_builder(http: &Arc<ReplayHttp>, region: &str) -> ClientBuilder {
    let config = fake_config(region, Some(Credentials::from_keys(ACCESS_KEY_ID, SECRET_ACCESS_KEY))).await;
    S3Client::builder(&config).http(http.clone())
}

/// A client for AWS's own endpoints in eu-west-1 (virtual-hosted, checksums when supported).
async fn aws_client(http: &Arc<ReplayHttp>) -> S3Client {
    replay_builder(http, "eu-west-1").await.build().unwrap()
}

/// A client for a custom endpoint in us-east-1 (path-style, checksums when required).
pub(crate) async fn custom_client(http: &Arc<ReplayHttp>) -> S3Client {
    replay_builder(http, "us-east-1").await.endpoint(Url::parse("http://127.0.0.1:9000").unwrap()).build().unwrap()
}

/// What [`FaultyHttp`] does to the body of one response.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cut {
    /// Passes the response as it is.
    None,
    /// Sends the first `n` bytes, then fails as a reset connection would.
    ResetAfter(usize),
    /// Sends the first `n` bytes, then fails as the HTTP client's read-idle timeout does.
    StallAfter(usize),
}

/// A [`ReplayHttp`] whose response bodies can break off mid-stream, as a reset connection or a
/// stalled server makes them: the body errors arrive while it is being read, after the headers.
#[derive(Debug)]
pub(crate) struct FaultyHttp {
    pub(crate) replay: Arc<ReplayHttp>,
    cuts: std::sync::Mutex<std::collections::VecDeque<Cut>>,
}

impl FaultyHttp {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(Self { replay: Arc::new(ReplayHttp::new()), cuts: Default::default() })
    }

    /// Queues a canned answer and what happens to its body.
    pub(crate) fn push(&self, canned: Canned, cut: Cut) {
        self.replay.push(canned);
        self.cuts.lock().unwrap().push_back(cut);
    }

    pub(crate) fn requests(&self) -> Vec<cloudkit_core::testing::RecordedRequest> {
        self.replay.requests()
    }
}

#[async_trait::async_trait]
impl cloudkit_core::HttpSend for FaultyHttp {
    async fn send(
        &self,
        request: cloudkit_core::HttpRequest,
    ) -> Result<cloudkit_core::HttpResponse, cloudkit_core::TransportError> {
        let cut = self.cuts.lock().unwrap().pop_front().unwrap_or(Cut::None);
        let mut response = self.replay.send(request).await?;
        let (n, kind) = match cut {
            Cut::None => return Ok(response),
            Cut::ResetAfter(n) => (n, cloudkit_core::TransportErrorKind::Body),
            Cut::StallAfter(n) => (n, cloudkit_core::TransportErrorKind::Timeout),
        };
        let data = response.body.collect().await?;
        let head = data.slice(..n.min(data.len()));
        response.body = cloudkit_core::ByteStream::new(futures::stream::iter(vec![
            Ok(head),
            Err(cloudkit_core::TransportError::new(kind, "injected: the body broke off")),
        ]));
        Ok(response)
    }
}

/// A custom-endpoint client sending through `http`, with `mode`, retries without delays.
pub(crate) async fn faulty_client(http: &Arc<FaultyHttp>, mode: ChecksumMode) -> S3Client {
    let config = fake_config("us-east-1", Some(Credentials::from_keys(ACCESS_KEY_ID, SECRET_ACCESS_KEY))).await;
    S3Client::builder(&config)
        .http(http.clone())
        .endpoint(Url::parse("http://127.0.0.1:9000").unwrap())
        .checksum_mode(mode)
        .retry(cloudkit_core::RetryConfig::standard().with_max_attempts(3).with_initial_backoff(Duration::ZERO))
        .build()
        .unwrap()
}

fn h<'a>(r: &'a cloudkit_core::testing::RecordedRequest, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn put_object_request_shape() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, "").with_header("etag", "\"abc\"").with_header("x-amz-version-id", "v1"));
    let s3 = aws_client(&http).await;
    assert_eq!(s3.checksum_mode(), ChecksumMode::WhenSupported);
    let out = s3
        .put_object("my-bucket", "dir/a b+c.txt")
        .body("hello")
        .content_type("text/plain")
        .cache_control("no-cache")
        .content_disposition("attachment")
        .content_encoding("identity")
        .metadata("Owner", "finance")
        .storage_class("STANDARD_IA")
        .tag("team", "a b")
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .sse_kms_key_id("key-1")
        .if_none_match_any()
        .send()
        .await
        .unwrap();
    assert_eq!(out.e_tag.as_deref(), Some("\"abc\""));
    assert_eq!(out.version_id.as_deref(), Some("v1"));
    let r = &http.requests()[0];
    assert_eq!(r.method, "PUT");
    assert_eq!(r.url.as_str(), "https://my-bucket.s3.eu-west-1.amazonaws.com/dir/a%20b%2Bc.txt");
    assert_eq!(h(r, "content-type"), Some("text/plain"));
    assert_eq!(h(r, "cache-control"), Some("no-cache"));
    assert_eq!(h(r, "content-disposition"), Some("attachment"));
    assert_eq!(h(r, "content-encoding"), Some("identity"));
    assert_eq!(h(r, "x-amz-meta-owner"), Some("finance"));
    assert_eq!(h(r, "x-amz-storage-class"), Some("STANDARD_IA"));
    assert_eq!(h(r, "x-amz-tagging"), Some("team=a%20b"));
    assert_eq!(h(r, "x-amz-server-side-encryption"), Some("aws:kms"));
    assert_eq!(h(r, "x-amz-server-side-encryption-aws-kms-key-id"), Some("key-1"));
    assert_eq!(h(r, "if-none-match"), Some("*"));
    assert_eq!(h(r, "content-length"), Some("5"));
    // CRC32C("hello") = 0x9a71bb4c
    assert_eq!(h(r, "x-amz-checksum-crc32c"), Some("mnG7TA=="));
    assert_eq!(&r.body[..], b"hello");
}

#[tokio::test]
async fn custom_endpoints_are_path_style_and_carry_a_crc32c() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, ""));
    let s3 = custom_client(&http).await;
    assert_eq!(s3.checksum_mode(), ChecksumMode::WhenRequired);
    s3.put_object("bucket", "k é//x?y#z").body("x").if_match("\"e\"").send().await.unwrap();
    let r = &http.requests()[0];
    assert_eq!(r.url.as_str(), "http://127.0.0.1:9000/bucket/k%20%C3%A9//x%3Fy%23z");
    // issue 15: in WhenRequired every replayable body carries one, so downloads can be verified
    assert_eq!(h(r, "x-amz-checksum-crc32c"), Some(ChecksumAlgorithm::Crc32c.checksum(b"x").as_str()));
    assert_eq!(h(r, "if-match"), Some("\"e\""));
}

#[tokio::test]
async fn invalid_input_sends_nothing() {
    let http = Arc::new(ReplayHttp::new());
    let s3 = custom_client(&http).await;
    assert!(s3.put_object("bucket", "a/../b").body("x").send().await.is_err());
    assert!(s3.put_object("bu/cket", "k").send().await.is_err());
    assert!(s3.put_object("bucket", "k").metadata("x", "caf\u{e9}").send().await.is_err());
    let keys: Vec<String> = (0..1001).map(|i| format!("k{i}")).collect();
    let e = s3.delete_objects("bucket").keys(keys).send().await.unwrap_err();
    assert!(e.to_string().contains("at most 1000"), "{e}");
    assert!(s3.copy_object("bucket", "k").send().await.is_err());
    assert!(s3.upload_part("bucket", "k", "id", 10_001).body("x").send().await.is_err());
    assert!(http.requests().is_empty());
}

#[tokio::test]
async fn get_object_shape_and_metadata() {
    let http = Arc::new(ReplayHttp::new());
    http.push(
        Canned::status(206, "0123456789")
            .with_header("content-length", "10")
            .with_header("content-range", "bytes 0-9/443")
            .with_header("etag", "\"b2419b1e3fd45d596ee22bdf62aaaa2f\"")
            .with_header("last-modified", "Wed, 28 Oct 2009 22:32:00 GMT")
            .with_header("x-amz-meta-family", "Muller")
            .with_header("content-type", "text/plain"),
    );
    let s3 = aws_client(&http).await;
    let t = std::time::UNIX_EPOCH + Duration::from_secs(1_256_769_120);
    let out = s3
        .get_object("bucket", "my image.jpg")
        .range(0..=9)
        .if_match("\"b2419b1e3fd45d596ee22bdf62aaaa2f\"")
        .if_unmodified_since(t)
        .response_content_disposition("attachment; filename=\"a b.jpg\"")
        .version_id("v+1")
        .send()
        .await
        .unwrap();
    assert_eq!(out.metadata.object_size(), Some(443));
    assert_eq!(out.metadata.metadata.get("family").map(String::as_str), Some("Muller"));
    assert_eq!(out.checksum_verified, None);
    assert_eq!(&out.collect().await.unwrap()[..], b"0123456789");
    let r = &http.requests()[0];
    assert_eq!(r.method, "GET");
    assert_eq!(
        r.url.query(),
        Some("response-content-disposition=attachment%3B%20filename%3D%22a%20b.jpg%22&versionId=v%2B1")
    );
    assert_eq!(h(r, "range"), Some("bytes=0-9"));
    assert_eq!(h(r, "if-match"), Some("\"b2419b1e3fd45d596ee22bdf62aaaa2f\""));
    assert_eq!(h(r, "if-unmodified-since"), Some("Wed, 28 Oct 2009 22:32:00 GMT"));
    assert_eq!(h(r, "x-amz-checksum-mode"), Some("ENABLED"));
}

#[tokio::test]
async fn whole_object_checksums_are_verified() {
    let http = Arc::new(ReplayHttp::new());
    let good = ChecksumAlgorithm::Crc32c.checksum(b"hello");
    http.push(Canned::status(200, "hello").with_header("x-amz-checksum-crc32c", &good));
    http.push(Canned::status(200, "hellO").with_header("x-amz-checksum-crc32c", &good));
    http.push(Canned::status(200, "hellO").with_header("x-amz-checksum-crc32c", "abcd-2"));
    let s3 = aws_client(&http).await;
    let out = s3.get_object("b", "k").send().await.unwrap();
    assert_eq!(out.checksum_verified, Some(Verified::Checksum(ChecksumAlgorithm::Crc32c)));
    assert_eq!(&out.collect().await.unwrap()[..], b"hello");
    let e = s3.get_object("b", "k").send().await.unwrap().collect().await.unwrap_err();
    assert!(matches!(e, S3Error::ChecksumMismatch { algorithm: "CRC32C", .. }), "{e:?}");
    // composite (multipart) checksums cannot be checked against the bytes
    let out = s3.get_object("b", "k").send().await.unwrap();
    assert_eq!(out.checksum_verified, None);
    out.collect().await.unwrap();
}

#[tokio::test]
async fn required_mode_refuses_unverifiable_downloads_and_off_never_checks() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, "x"));
    http.push(Canned::status(200, "hellO").with_header("x-amz-checksum-crc32c", "mnG7TA=="));
    let s3 = replay_builder(&http, "us-east-1").await.checksum_mode(ChecksumMode::Required).build().unwrap();
    let e = s3.get_object("b", "k").send().await.unwrap_err();
    assert!(matches!(e, S3Error::ChecksumUnavailable { operation: "GetObject", .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "S3.GetObject failed: checksum mode is Required but the response has no full-object checksum to verify"
    );
    let off = replay_builder(&http, "us-east-1").await.checksum_mode(ChecksumMode::Off).build().unwrap();
    assert_eq!(&off.get_object("b", "k").send().await.unwrap().collect().await.unwrap()[..], b"hellO");
}

#[tokio::test]
async fn conditional_and_range_failures_are_typed() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(304, ""));
    http.push(Canned::status(412, "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-Match</Condition><RequestId>R1</RequestId></Error>"));
    http.push(Canned::status(
        416,
        "<Error><Code>InvalidRange</Code><Message>The requested range is not satisfiable</Message></Error>",
    ));
    http.push(Canned::status(404, "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>k</Key><RequestId>R2</RequestId></Error>"));
    http.push(Canned::status(404, "").with_header("x-amz-request-id", "R3"));
    http.push(Canned::status(
        404,
        "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>",
    ));
    let s3 = custom_client(&http).await;
    assert!(matches!(s3.get_object("b", "k").if_none_match("\"e\"").send().await, Err(S3Error::NotModified(_))));
    let e = s3.get_object("b", "k").if_match("\"x\"").send().await.unwrap_err();
    assert!(matches!(e, S3Error::PreconditionFailed(_)));
    assert_eq!(e.request_id(), Some("R1"));
    assert!(matches!(s3.get_object("b", "k").range_from(1000).send().await, Err(S3Error::InvalidRange(_))));
    let e = s3.get_object("b", "k").send().await.unwrap_err();
    assert!(matches!(e, S3Error::NoSuchKey(_)));
    assert!(e.to_string().contains("NoSuchKey"), "{e}");
    let e = s3.head_object("b", "k").send().await.unwrap_err();
    assert!(matches!(e, S3Error::NotFound(_)), "{e:?}");
    assert_eq!(e.request_id(), Some("R3"));
    assert!(matches!(s3.list_objects_v2("b").send().await, Err(S3Error::NoSuchBucket(_))));
}

#[tokio::test(start_paused = true)]
async fn slow_down_is_typed_after_retries() {
    let http = Arc::new(ReplayHttp::new());
    for _ in 0..3 {
        http.push(Canned::status(
            503,
            "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        ));
    }
    let s3 = custom_client(&http).await;
    let e = s3.head_bucket("b").await.unwrap_err();
    assert!(matches!(e, S3Error::Throttled(_)), "{e:?}");
    assert_eq!(http.requests().len(), 3);
}

#[tokio::test]
async fn delete_objects_body_md5_and_partial_failure() {
    let http = Arc::new(ReplayHttp::new());
    // S3 API reference, DeleteObjects example 2 (one deleted, one AccessDenied)
    http.push(Canned::status(
        200,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<DeleteResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Deleted>
    <Key>sample1.txt</Key>
  </Deleted>
  <Error>
    <Key>sample2.txt</Key>
    <Code>AccessDenied</Code>
    <Message>Access Denied</Message>
  </Error>
</DeleteResult>"#,
    ));
    let s3 = custom_client(&http).await;
    let out = s3.delete_objects("bucket").key("sample1.txt").object("a&b<c>", Some("v1".into())).send().await.unwrap();
    assert_eq!(out.deleted.len(), 1);
    assert_eq!(out.deleted[0].key, "sample1.txt");
    assert_eq!(out.errors.len(), 1);
    assert_eq!(out.errors[0].key, "sample2.txt");
    assert_eq!(out.errors[0].code, "AccessDenied");
    let r = &http.requests()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.url.as_str(), "http://127.0.0.1:9000/bucket/?delete");
    let body = std::str::from_utf8(&r.body).unwrap();
    assert_eq!(
        body,
        "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Object><Key>sample1.txt</Key></Object>\
         <Object><Key>a&amp;b&lt;c&gt;</Key><VersionId>v1</VersionId></Object></Delete>"
    );
    assert_eq!(h(r, "content-md5").unwrap(), cloudkit_core::md5_base64(&r.body));
}

#[tokio::test]
async fn quiet_delete_sends_quiet() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, "<DeleteResult/>"));
    let s3 = custom_client(&http).await;
    let out = s3.delete_objects("bucket").keys(["a", "b"]).quiet(true).send().await.unwrap();
    assert!(out.deleted.is_empty() && out.errors.is_empty());
    assert!(std::str::from_utf8(&http.requests()[0].body).unwrap().contains("<Quiet>true</Quiet>"));
}

#[tokio::test(start_paused = true)]
async fn copy_object_headers_and_200_error_body() {
    let http = Arc::new(ReplayHttp::new());
    // a retryable error in a 200 body, then the API reference's CopyObjectResult
    http.push(Canned::status(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InternalError</Code><Message>We encountered an internal error. Please try again.</Message><RequestId>R</RequestId></Error>"));
    http.push(Canned::status(
        200,
        "<CopyObjectResult><LastModified>2009-10-28T22:32:00.000Z</LastModified><ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyObjectResult>",
    ));
    let s3 = custom_client(&http).await;
    let out = s3
        .copy_object("dst", "new key")
        .copy_source("src", "old key+1%")
        .metadata_directive(MetadataDirective::Replace)
        .content_type("text/plain")
        .metadata("m", "v")
        .copy_source_if_match("\"etag\"")
        .send()
        .await
        .unwrap();
    assert_eq!(out.e_tag.as_deref(), Some("\"9b2cf535f27731c974343645a3985328\""));
    assert!(out.last_modified.is_some());
    let reqs = http.requests();
    assert_eq!(reqs.len(), 2, "the 200-with-InternalError was retried");
    let r = &reqs[0];
    assert_eq!(r.url.path(), "/dst/new%20key");
    assert_eq!(h(r, "x-amz-copy-source"), Some("src/old%20key%2B1%25"));
    assert_eq!(h(r, "x-amz-metadata-directive"), Some("REPLACE"));
    assert_eq!(h(r, "x-amz-copy-source-if-match"), Some("\"etag\""));
    assert_eq!(h(r, "x-amz-meta-m"), Some("v"));
}

#[tokio::test(start_paused = true)]
async fn complete_multipart_upload_body_and_errors_in_200() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, "<Error><Code>InternalError</Code><Message>try again</Message></Error>"));
    http.push(Canned::status(
        200,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Location>http://Example-Bucket.s3.region.amazonaws.com/Example-Object</Location>
  <Bucket>Example-Bucket</Bucket>
  <Key>Example-Object</Key>
  <ETag>"3858f62230ac3c915f300c664312c11f-9"</ETag>
</CompleteMultipartUploadResult>"#,
    ));
    http.push(Canned::status(200, "<Error><Code>InvalidPart</Code><Message>One or more of the specified parts could not be found.</Message></Error>"));
    let s3 = custom_client(&http).await;
    let parts = vec![
        CompletedPart {
            part_number: 2,
            e_tag: "\"b\"".into(),
            checksum: Some((ChecksumAlgorithm::Crc32c, "AAAAAA==".into())),
        },
        CompletedPart { part_number: 1, e_tag: "\"a\"".into(), checksum: None },
    ];
    let out = s3.complete_multipart_upload("b", "k", "up/1+").parts(parts.clone()).send().await.unwrap();
    assert_eq!(out.e_tag.as_deref(), Some("\"3858f62230ac3c915f300c664312c11f-9\""));
    let reqs = http.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].url.query(), Some("uploadId=up%2F1%2B"));
    assert_eq!(
        std::str::from_utf8(&reqs[0].body).unwrap(),
        "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
         <Part><ETag>&quot;a&quot;</ETag><PartNumber>1</PartNumber></Part>\
         <Part><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C><ETag>&quot;b&quot;</ETag><PartNumber>2</PartNumber></Part>\
         </CompleteMultipartUpload>"
    );
    let e = s3.complete_multipart_upload("b", "k", "id").parts(parts).send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidPart"));
    assert_eq!(e.status().map(|s| s.as_u16()), Some(200));
    assert_eq!(http.requests().len(), 3, "a non-retryable error in a 200 body is not retried");
}

#[tokio::test]
async fn multipart_create_upload_part_abort() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(
        200,
        "<InitiateMultipartUploadResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Bucket>example-bucket</Bucket><Key>example-object</Key><UploadId>VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA</UploadId></InitiateMultipartUploadResult>",
    ));
    http.push(Canned::status(200, "").with_header("etag", "\"p1\""));
    http.push(Canned::status(204, ""));
    let s3 = aws_client(&http).await;
    let up =
        s3.create_multipart_upload("example-bucket", "example-object").content_type("video/mp2t").send().await.unwrap();
    assert_eq!(up.upload_id, "VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA");
    // a file region body is streamed (ReplayHttp reads it) and checksummed without buffering
    let dir = std::env::temp_dir().join(format!("ck-s3-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("part.bin");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let part = s3
        .upload_part("example-bucket", "example-object", &up.upload_id, 1)
        .body(FileRegion::new(&path, 1000, 200_000))
        .send()
        .await
        .unwrap();
    assert_eq!(part.e_tag.as_deref(), Some("\"p1\""));
    let expected = ChecksumAlgorithm::Crc32c.checksum(&data[1000..201_000]);
    assert_eq!(part.checksum, Some((ChecksumAlgorithm::Crc32c, expected.clone())));
    assert_eq!(part.completed_part(1).e_tag, "\"p1\"");
    s3.abort_multipart_upload("example-bucket", "example-object", &up.upload_id).send().await.unwrap();
    let reqs = http.requests();
    assert_eq!(reqs[0].url.as_str(), "https://example-bucket.s3.eu-west-1.amazonaws.com/example-object?uploads");
    assert_eq!(reqs[0].method, "POST");
    assert_eq!(
        reqs[1].url.query(),
        Some("partNumber=1&uploadId=VXBsb2FkIElEIGZvciA2aWWpbmcncyBteS1tb3ZpZS5tMnRzIHVwbG9hZA")
    );
    assert_eq!(h(&reqs[1], "x-amz-checksum-crc32c"), Some(expected.as_str()));
    assert_eq!(h(&reqs[1], "content-length"), Some("200000"));
    assert_eq!(&reqs[1].body[..], &data[1000..201_000]);
    assert_eq!(reqs[2].method, "DELETE");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn upload_part_copy_shape() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, "<CopyPartResult><LastModified>2009-10-28T22:32:00.000Z</LastModified><ETag>\"9b2cf535f27731c974343645a3985328\"</ETag></CopyPartResult>"));
    let s3 = custom_client(&http).await;
    let out = s3
        .upload_part_copy("b", "k", "id", 3)
        .copy_source("src", "a b")
        .copy_source_range(0..=5_242_879)
        .send()
        .await
        .unwrap();
    assert_eq!(out.completed_part(3).e_tag, "\"9b2cf535f27731c974343645a3985328\"");
    let r = &http.requests()[0];
    assert_eq!(h(r, "x-amz-copy-source"), Some("src/a%20b"));
    assert_eq!(h(r, "x-amz-copy-source-range"), Some("bytes=0-5242879"));
}

const LIST_V2_PAGE1: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name>
  <Prefix/>
  <KeyCount>3</KeyCount>
  <MaxKeys>3</MaxKeys>
  <Delimiter>%2F</Delimiter>
  <EncodingType>url</EncodingType>
  <IsTruncated>true</IsTruncated>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
  <Contents>
    <Key>a+b%2Bc%25.txt</Key>
    <LastModified>2009-10-12T17:50:30.000Z</LastModified>
    <ETag>"fba9dede5f27731c9771645a39863328"</ETag>
    <Size>434234</Size>
    <StorageClass>STANDARD</StorageClass>
  </Contents>
  <Contents>
    <Key>caf%C3%A9%26tea</Key>
    <Size>1</Size>
  </Contents>
  <CommonPrefixes><Prefix>photos%2F</Prefix></CommonPrefixes>
</ListBucketResult>"#;

const LIST_V2_PAGE2: &str = r#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><KeyCount>1</KeyCount><MaxKeys>3</MaxKeys><IsTruncated>false</IsTruncated>
  <Contents><Key>z &amp; last</Key><Size>2</Size></Contents>
</ListBucketResult>"#;

#[tokio::test]
async fn list_objects_v2_parses_and_decodes() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, LIST_V2_PAGE1));
    let s3 = custom_client(&http).await;
    let page = s3
        .list_objects_v2("bucket")
        .url_encoding(true)
        .delimiter("/")
        .max_keys(3)
        .start_after("a b")
        .send()
        .await
        .unwrap();
    assert_eq!(page.contents[0].key, "a b+c%.txt");
    assert_eq!(page.contents[0].size, 434_234);
    assert_eq!(page.contents[0].e_tag.as_deref(), Some("\"fba9dede5f27731c9771645a39863328\""));
    assert!(page.contents[0].last_modified.is_some());
    assert_eq!(page.contents[1].key, "café&tea");
    assert_eq!(page.common_prefixes, vec![CommonPrefix { prefix: "photos/".into() }]);
    assert_eq!(page.delimiter.as_deref(), Some("/"));
    assert!(page.is_truncated);
    assert_eq!(page.next_continuation_token.as_deref(), Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="));
    let r = &http.requests()[0];
    assert_eq!(r.url.query(), Some("list-type=2&delimiter=%2F&encoding-type=url&max-keys=3&start-after=a%20b"));
}

#[tokio::test]
async fn list_objects_v2_streams_pages_and_items() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, LIST_V2_PAGE1));
    http.push(Canned::status(200, LIST_V2_PAGE2));
    let s3 = custom_client(&http).await;
    let items: Vec<ListEntry> = s3
        .list_objects_v2("bucket")
        .url_encoding(true)
        .delimiter("/")
        .into_items(PaginationConfig::default().page_size(3))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.len(), 4);
    assert!(matches!(&items[2], ListEntry::CommonPrefix(p) if p.prefix == "photos/"));
    assert!(matches!(&items[3], ListEntry::Object(o) if o.key == "z & last"));
    let reqs = http.requests();
    assert_eq!(reqs.len(), 2);
    assert!(
        reqs[1].url.query().unwrap().contains("continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D")
    );
    assert!(reqs[1].url.query().unwrap().contains("max-keys=3"));

    // objects only, and max_items cutting a page
    http.push(Canned::status(200, LIST_V2_PAGE1));
    http.push(Canned::status(200, LIST_V2_PAGE2));
    let keys: Vec<String> = s3
        .list_objects_v2("bucket")
        .into_objects(PaginationConfig::default())
        .map_ok(|o| o.key)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(keys, ["a b+c%.txt", "café&tea", "z & last"]);
    http.push(Canned::status(200, LIST_V2_PAGE1));
    let pages: Vec<ListObjectsV2Output> =
        s3.list_objects_v2("bucket").into_pages(PaginationConfig::default().max_items(1)).try_collect().await.unwrap();
    assert_eq!(pages.len(), 1);
    assert_eq!(pages[0].contents.len(), 1);
    assert!(pages[0].common_prefixes.is_empty());
}

/// Issue 16, point 1: a paginator over a failing list yields the S3 error itself (no nesting), and
/// its one line names the service, the operation and the cause.
#[tokio::test]
async fn a_failing_listing_yields_the_s3_error_naming_service_operation_and_cause() {
    let http = Arc::new(ReplayHttp::new());
    let no_such_bucket = || {
        Canned::status(
            404,
            "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>",
        )
    };
    http.push(no_such_bucket());
    let s3 = custom_client(&http).await;
    let e = s3.list_objects_v2("no-such-bucket").into_pages(PaginationConfig::default()).try_next().await.unwrap_err();
    assert!(matches!(e, S3Error::NoSuchBucket(_)), "{e:?}");
    assert_eq!(
        e.to_string(),
        "S3.ListObjectsV2 failed: HTTP 404 NoSuchBucket: The specified bucket does not exist (not retryable)"
    );
    for (name, e) in [
        ("ListParts", {
            http.push(no_such_bucket());
            s3.list_parts("b", "k", "id").into_items(PaginationConfig::default()).try_next().await.unwrap_err()
        }),
        ("ListMultipartUploads", {
            http.push(no_such_bucket());
            s3.list_multipart_uploads("b").into_items(PaginationConfig::default()).try_next().await.unwrap_err()
        }),
        ("ListObjectsV2", {
            http.push(no_such_bucket());
            s3.list_objects_v2("b").into_objects(PaginationConfig::default()).try_next().await.unwrap_err()
        }),
    ] {
        assert!(matches!(e, S3Error::NoSuchBucket(_)), "{e:?}");
        assert!(e.to_string().starts_with(&format!("S3.{name} failed: HTTP 404 NoSuchBucket: ")), "{e}");
    }
}

/// Issue 16, point 1: a repeated continuation token is the `Pagination` variant, naming the
/// operation.
#[tokio::test]
async fn a_repeated_continuation_token_is_a_pagination_error() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, LIST_V2_PAGE1));
    http.push(Canned::status(200, LIST_V2_PAGE1));
    let s3 = custom_client(&http).await;
    let e = s3.list_objects_v2("bucket").into_pages(PaginationConfig::default()).try_collect::<Vec<_>>().await;
    let Err(S3Error::Pagination(e)) = e else { panic!("{e:?}") };
    assert_eq!((e.service(), e.operation()), ("S3", "ListObjectsV2"));
    assert_eq!(e.repeated_token(), Some("1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="));
    assert!(
        e.to_string().starts_with("S3.ListObjectsV2 failed: the service returned the continuation token \"1ueG"),
        "{e}"
    );
    assert_eq!(http.requests().len(), 2, "the repeated token is not requested");
}

#[tokio::test]
async fn list_objects_v2_keeps_keys_exactly_and_decode_failures_are_typed() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(
        200,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix></Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>
  <Contents><Key> leading and trailing </Key><Size>1</Size></Contents>
  <Contents><Key>Tom &amp; Jerry &lt;&quot;1&quot;&gt;</Key><Size>2</Size></Contents>
</ListBucketResult>"#,
    ));
    http.push(Canned::status(
        200,
        r#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>bucket</Name><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated></ListBucketResult>"#,
    ));
    http.push(Canned::status(200, "<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"));
    http.push(Canned::status(200, "<ListBucketResult><Contents>"));
    let s3 = custom_client(&http).await;
    let page = s3.list_objects_v2("bucket").send().await.unwrap();
    let keys: Vec<&str> = page.contents.iter().map(|o| o.key.as_str()).collect();
    assert_eq!(keys, [" leading and trailing ", "Tom & Jerry <\"1\">"]);
    assert_eq!(page.prefix.as_deref(), Some(""));
    let empty = s3.list_objects_v2("bucket").send().await.unwrap();
    assert!(empty.contents.is_empty() && empty.common_prefixes.is_empty() && !empty.is_truncated);
    assert_eq!(empty.key_count, Some(0));
    for expected in ["<Contents> has no <Key>", "malformed XML"] {
        let e = s3.list_objects_v2("bucket").send().await.unwrap_err();
        let core = e.core().unwrap();
        assert_eq!(core.kind(), cloudkit_core::ErrorKind::Decode, "{e}");
        assert_eq!(core.operation(), "ListObjectsV2");
        let message = core.message().unwrap();
        assert!(message.starts_with("unexpected XML response: "), "{message}");
        assert!(message.contains(expected), "{message}");
    }
}

#[tokio::test]
async fn list_parts_stops_on_is_truncated_false() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(
        200,
        r#"<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>example-bucket</Bucket><Key>example-object</Key><UploadId>XXBsb2FkIElEIGZvciBlbHZpbmcncyVcdS1tb3ZpZS5tMnRzEEEwbG9hZA</UploadId><PartNumberMarker>1</PartNumberMarker><NextPartNumberMarker>3</NextPartNumberMarker><MaxParts>2</MaxParts><IsTruncated>true</IsTruncated>
  <Part><PartNumber>2</PartNumber><LastModified>2010-11-10T20:48:34.000Z</LastModified><ETag>"7778aef83f66abc1fa1e8477f296d394"</ETag><Size>10485760</Size></Part>
  <Part><PartNumber>3</PartNumber><LastModified>2010-11-10T20:48:33.000Z</LastModified><ETag>"aaaa18db4cc2f85cedef654fccc4a4x8"</ETag><Size>10485760</Size></Part>
</ListPartsResult>"#,
    ));
    http.push(Canned::status(
        200,
        "<ListPartsResult><NextPartNumberMarker>0</NextPartNumberMarker><IsTruncated>false</IsTruncated><Part><PartNumber>4</PartNumber><ETag>\"x\"</ETag><Size>5</Size><ChecksumCRC32C>AAAAAA==</ChecksumCRC32C></Part></ListPartsResult>",
    ));
    let s3 = custom_client(&http).await;
    let parts: Vec<Part> =
        s3.list_parts("b", "k", "id").into_items(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(parts.iter().map(|p| p.part_number).collect::<Vec<_>>(), [2, 3, 4]);
    assert_eq!(parts[2].checksum_crc32c.as_deref(), Some("AAAAAA=="));
    let reqs = http.requests();
    assert_eq!(reqs.len(), 2, "the trailing \"0\" marker is not followed");
    assert_eq!(reqs[1].url.query(), Some("part-number-marker=3&uploadId=id"));
}

#[tokio::test]
async fn list_multipart_uploads_two_part_token() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(
        200,
        r#"<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Bucket>bucket</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker>my-movie.m2ts</NextKeyMarker><NextUploadIdMarker>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</NextUploadIdMarker><MaxUploads>3</MaxUploads><IsTruncated>true</IsTruncated>
  <Upload><Key>my-divisor</Key><UploadId>XMgbGlrZSBlbHZpbmcncyBub3QgaGF2aW5nIG11Y2ggbHVjaw</UploadId><StorageClass>STANDARD</StorageClass><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>
  <Upload><Key>my-movie.m2ts</Key><UploadId>YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ</UploadId><Initiated>2010-11-10T20:48:33.000Z</Initiated></Upload>
</ListMultipartUploadsResult>"#,
    ));
    http.push(Canned::status(
        200,
        "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>",
    ));
    let s3 = custom_client(&http).await;
    let ups: Vec<MultipartUpload> =
        s3.list_multipart_uploads("bucket").into_items(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(ups.len(), 2);
    assert_eq!(ups[1].key, "my-movie.m2ts");
    let q = http.requests()[1].url.query().unwrap().to_owned();
    assert!(q.contains("key-marker=my-movie.m2ts"), "{q}");
    assert!(q.contains("upload-id-marker=YW55IGlkZWEgd2h5IGVsdmluZydzIHVwbG9hZCBmYWlsZWQ"), "{q}");
}

/// ListBuckets pages like every other listing: `into_items` follows `ContinuationToken` (sent
/// back as `continuation-token`, with the page size as `max-buckets`) until a page has none;
/// `into_pages` yields each page with its owner.
#[tokio::test]
async fn list_buckets_pages_follow_the_continuation_token() {
    let page = |names: &[&str], token: Option<&str>| {
        let buckets: String = names.iter().map(|n| format!("<Bucket><Name>{n}</Name></Bucket>")).collect();
        let token = token.map(|t| format!("<ContinuationToken>{t}</ContinuationToken>")).unwrap_or_default();
        let body = format!(
            "<ListAllMyBucketsResult><Buckets>{buckets}</Buckets><Owner><ID>O1</ID></Owner>{token}</ListAllMyBucketsResult>"
        );
        Canned::status(200, body)
    };
    let http = Arc::new(ReplayHttp::new());
    http.push(page(&["a", "b"], Some("t1")));
    http.push(page(&["c"], Some("t2")));
    http.push(page(&[], None));
    let s3 = custom_client(&http).await;
    let names = s3.list_buckets().prefix("p").into_items(PaginationConfig::default().page_size(2));
    let names = names.map_ok(|b| b.name);
    cloudkit_core::testing::assert_listing(&http, "continuation-token", names, &["a", "b", "c"], &["t1", "t2"]).await;
    for r in http.requests() {
        assert_eq!((r.query("max-buckets").as_deref(), r.query("prefix").as_deref()), (Some("2"), Some("p")));
    }

    http.push(page(&["a", "b"], Some("t1")));
    http.push(page(&["c"], None));
    let pages: Vec<ListBucketsOutput> =
        s3.list_buckets().max_buckets(2).into_pages(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(pages.iter().map(|p| p.buckets.len()).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(pages[0].continuation_token.as_deref(), Some("t1"));
    assert_eq!(pages[1].owner.as_ref().and_then(|o| o.id.as_deref()), Some("O1"));
    // max_items cuts the listing in the middle of a page
    http.push(page(&["a", "b"], Some("t1")));
    let first: Vec<BucketSummary> =
        s3.list_buckets().into_items(PaginationConfig::default().max_items(1)).try_collect().await.unwrap();
    assert_eq!(first.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["a"]);
    // the resource's `buckets()` (boto3's `s3.buckets.all()`) reads every page
    http.push(page(&["a", "b"], Some("t1")));
    http.push(page(&["c"], None));
    let all = S3Resource::new(s3.clone()).buckets().await.unwrap();
    assert_eq!(all.iter().map(|b| b.name()).collect::<Vec<_>>(), ["a", "b", "c"]);
}

#[tokio::test]
async fn bucket_operations() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(
        200,
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ListAllMyBucketsResult>
   <Buckets>
      <Bucket><CreationDate>2019-12-11T23:32:47+00:00</CreationDate><Name>DOC-EXAMPLE-BUCKET</Name></Bucket>
      <Bucket><CreationDate>2019-11-10T23:32:13+00:00</CreationDate><Name>DOC-EXAMPLE-BUCKET2</Name><BucketRegion>eu-west-1</BucketRegion></Bucket>
   </Buckets>
   <Owner><DisplayName>Account+Name</DisplayName><ID>AIDACKCEVSQ6C2EXAMPLE</ID></Owner>
</ListAllMyBucketsResult>"#,
    ));
    http.push(Canned::status(200, "").with_header("location", "/new-bucket"));
    http.push(Canned::status(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">eu-west-1</LocationConstraint>"));
    http.push(Canned::status(200, "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"));
    http.push(Canned::status(200, "").with_header("x-amz-bucket-region", "eu-west-1"));
    http.push(Canned::status(
        409,
        "<Error><Code>BucketNotEmpty</Code><Message>The bucket you tried to delete is not empty</Message></Error>",
    ));
    http.push(Canned::status(409, "<Error><Code>BucketAlreadyOwnedByYou</Code><Message>yours</Message></Error>"));
    let s3 = aws_client(&http).await;
    let list = s3.list_buckets().send().await.unwrap();
    assert_eq!(list.buckets.len(), 2);
    assert_eq!(list.buckets[1].region.as_deref(), Some("eu-west-1"));
    assert!(list.buckets[0].creation_date.is_some());
    assert_eq!(list.owner.unwrap().id.as_deref(), Some("AIDACKCEVSQ6C2EXAMPLE"));
    let out = s3.create_bucket("new-bucket").send().await.unwrap();
    assert_eq!(out.location.as_deref(), Some("/new-bucket"));
    assert_eq!(s3.get_bucket_location("new-bucket").await.unwrap(), "eu-west-1");
    assert_eq!(s3.get_bucket_location("old-bucket").await.unwrap(), "us-east-1");
    assert_eq!(s3.head_bucket("new-bucket").await.unwrap().region.as_deref(), Some("eu-west-1"));
    assert!(matches!(s3.delete_bucket("new-bucket").await, Err(S3Error::BucketNotEmpty(_))));
    assert!(matches!(s3.create_bucket("new-bucket").send().await, Err(S3Error::BucketAlreadyOwnedByYou(_))));
    let reqs = http.requests();
    assert_eq!(reqs[0].url.as_str(), "https://s3.eu-west-1.amazonaws.com/");
    assert_eq!(reqs[1].url.as_str(), "https://new-bucket.s3.eu-west-1.amazonaws.com/");
    assert_eq!(
        std::str::from_utf8(&reqs[1].body).unwrap(),
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>"
    );
    assert_eq!(reqs[2].url.query(), Some("location"));
    assert_eq!(reqs[4].method, "HEAD");
    assert_eq!(reqs[5].method, "DELETE");
}

#[tokio::test]
async fn us_east_1_create_bucket_has_no_body() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, ""));
    let s3 = custom_client(&http).await;
    s3.create_bucket("b").send().await.unwrap();
    assert!(http.requests()[0].body.is_empty());
}

#[tokio::test]
async fn tagging_round_trip_shapes() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(
        200,
        r#"<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet><Tag><Key>tag1</Key><Value>val1</Value></Tag><Tag><Key>tag2</Key><Value>a &amp; b</Value></Tag></TagSet></Tagging>"#,
    ));
    http.push(Canned::status(200, ""));
    let s3 = custom_client(&http).await;
    let tags = s3.get_object_tagging("b", "k").await.unwrap();
    assert_eq!(tags, vec![Tag::new("tag1", "val1"), Tag::new("tag2", "a & b")]);
    s3.put_object_tagging("b", "k", &[Tag::new("x", "<y>")]).await.unwrap();
    let r = &http.requests()[1];
    assert_eq!(r.url.query(), Some("tagging"));
    assert!(std::str::from_utf8(&r.body).unwrap().contains("<Tag><Key>x</Key><Value>&lt;y&gt;</Value></Tag>"));
    assert!(h(r, "content-md5").is_some());
}

#[tokio::test(start_paused = true)]
async fn waiters_follow_the_official_acceptors() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(404, ""));
    http.push(Canned::status(404, ""));
    http.push(Canned::status(200, "").with_header("content-length", "3"));
    let s3 = custom_client(&http).await;
    let start = tokio::time::Instant::now();
    let done = s3.wait_until_object_exists("b", "k").wait().await.unwrap();
    assert_eq!(done.attempts, 3);
    assert_eq!(start.elapsed(), Duration::from_secs(10), "fixed 5 s delay");

    http.push(Canned::status(200, ""));
    http.push(Canned::status(404, ""));
    let done = s3.wait_until_bucket_not_exists("b").wait().await.unwrap();
    assert_eq!(done.attempts, 2);

    for _ in 0..3 {
        http.push(Canned::status(404, ""));
    }
    let e = s3.wait_until_bucket_exists("b").max_attempts(3).delay(Duration::from_secs(1)).wait().await.unwrap_err();
    assert!(matches!(e, cloudkit_waiter::WaiterError::MaxAttemptsExceeded { attempts: 3, .. }), "{e:?}");

    // a 403 is not "exists": the wait stops on it
    http.push(Canned::status(403, ""));
    let e = s3.wait_until_bucket_exists("b").wait().await.unwrap_err();
    assert!(
        matches!(e, cloudkit_waiter::WaiterError::UnexpectedError { source: S3Error::AccessDenied(_), .. }),
        "{e:?}"
    );

    let d = default_waiter_config();
    assert_eq!((d.min_delay, d.max_delay, d.max_attempts), (Duration::from_secs(5), Duration::from_secs(5), Some(20)));
}

#[tokio::test]
async fn presigning_needs_credentials_and_bounds_expiry() {
    let http = Arc::new(ReplayHttp::new());
    // A config whose environment has no credentials: the client builds, presigning fails.
    let no_credentials = fake_config("us-east-1", None).await;
    let endpoint = Url::parse("http://127.0.0.1:9000").unwrap();
    let s3 = S3Client::builder(&no_credentials).http(http.clone()).endpoint(endpoint).build().unwrap();
    let e = s3.presign_get_object("b", "k", Duration::from_secs(60)).presign().await.unwrap_err();
    assert_eq!(e.core().map(cloudkit_core::Error::kind), Some(cloudkit_core::ErrorKind::Credentials), "{e}");

    // The config's credentials sign the URL (the documentation's example keys).
    let s3 = custom_client(&http).await;
    let t = std::time::UNIX_EPOCH + Duration::from_secs(1_369_353_600);
    let presign_at_t = || {
        s3.presign_get_object("b", "a b+c", Duration::from_secs(3600))
            .response_content_type("text/plain")
            .signing_time(t)
            .presign()
    };
    let p = presign_at_t().await.unwrap();
    let u = p.url.as_str();
    assert!(u.starts_with("http://127.0.0.1:9000/b/a%20b%2Bc?"), "{u}");
    assert!(u.contains("response-content-type=text%2Fplain"), "{u}");
    assert!(u.contains("X-Amz-Date=20130524T000000Z") && u.contains("X-Amz-Expires=3600"), "{u}");
    assert!(u.contains("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"), "{u}");
    let again = presign_at_t().await.unwrap();
    assert_eq!(again.url, p.url, "an explicit signing time gives a reproducible URL");

    let put =
        s3.presign_put_object("b", "k", Duration::from_secs(60)).content_type("image/png").presign().await.unwrap();
    assert_eq!(put.method, "PUT");
    assert_eq!(put.headers["content-type"], "image/png");
    assert!(put.url.query().unwrap().contains("X-Amz-SignedHeaders=content-type%3Bhost"), "{}", put.url);
    assert!(!put.url.as_str().to_ascii_lowercase().contains("checksum"), "no default checksum in a presigned PUT");

    let e = s3.presign_delete_object("b", "k", Duration::from_secs(7 * 86400 + 1)).presign().await.unwrap_err();
    assert!(e.to_string().contains("7 days"), "{e}");
    assert!(s3.presign_head_object("b", "k", Duration::from_secs(7 * 86400)).presign().await.is_ok());
    assert!(http.requests().is_empty(), "presigning sends nothing");
}

#[tokio::test]
async fn client_is_send_sync_and_debug_has_no_secrets() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<S3Client>();
    assert_send_sync::<S3Error>();
    let http = Arc::new(ReplayHttp::new());
    let s = format!("{:?}", custom_client(&http).await);
    assert!(s.contains("127.0.0.1"));
    assert!(!s.contains(SECRET_ACCESS_KEY));
    let builder = format!("{:?}", replay_builder(&http, "us-east-1").await);
    assert!(!builder.contains(SECRET_ACCESS_KEY), "{builder}");
    let _ = Bytes::new();
}

#[tokio::test]
async fn no_such_upload_is_typed() {
    let http = Arc::new(ReplayHttp::new());
    let body = "<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message><UploadId>x</UploadId></Error>";
    http.push(Canned::status(404, body));
    http.push(Canned::status(404, body));
    let s3 = custom_client(&http).await;
    let part = CompletedPart { part_number: 1, e_tag: "\"e\"".into(), checksum: None };
    let e = s3.complete_multipart_upload("b", "k", "x").part(part).send().await.unwrap_err();
    assert!(matches!(e, S3Error::NoSuchUpload(_)), "{e:?}");
    assert!(matches!(s3.abort_multipart_upload("b", "k", "x").send().await, Err(S3Error::NoSuchUpload(_))));
}

#[tokio::test]
async fn crc64nvme_full_object_checksums_are_verified() {
    let http = Arc::new(ReplayHttp::new());
    let good = ChecksumAlgorithm::Crc64Nvme.checksum(b"data");
    http.push(
        Canned::status(200, "data")
            .with_header("x-amz-checksum-crc64nvme", &good)
            .with_header("x-amz-checksum-type", "FULL_OBJECT"),
    );
    http.push(Canned::status(200, "dat4").with_header("x-amz-checksum-crc64nvme", &good));
    let s3 = aws_client(&http).await;
    let out = s3.get_object("b", "k").send().await.unwrap();
    assert_eq!(out.checksum_verified, Some(Verified::Checksum(ChecksumAlgorithm::Crc64Nvme)));
    out.collect().await.unwrap();
    let e = s3.get_object("b", "k").send().await.unwrap().collect().await.unwrap_err();
    assert!(matches!(e, S3Error::ChecksumMismatch { algorithm: "CRC64NVME", .. }), "{e:?}");
}

/// Issue 15, defect 5: a page that says `IsTruncated=true` but gives no token to continue from
/// ended the listing silently (and `list` / prefix deletes missed keys). It is a decode error, as
/// in botocore, for one page and for the streams.
#[tokio::test]
async fn a_truncated_page_without_a_token_is_an_error() {
    let http = Arc::new(ReplayHttp::new());
    let truncated_v2 = "<ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated><Contents><Key>a</Key><Size>1</Size></Contents></ListBucketResult>";
    http.push(Canned::status(200, truncated_v2));
    http.push(Canned::status(200, truncated_v2));
    http.push(Canned::status(
        200,
        "<ListPartsResult><IsTruncated>true</IsTruncated><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag><Size>5</Size></Part></ListPartsResult>",
    ));
    http.push(Canned::status(
        200,
        "<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><Upload><Key>k</Key><UploadId>u</UploadId></Upload></ListMultipartUploadsResult>",
    ));
    let s3 = custom_client(&http).await;
    let decode_error = |e: &S3Error, op: &str| {
        let core = e.core().unwrap_or_else(|| panic!("no core error: {e:?}"));
        assert_eq!(core.kind(), cloudkit_core::ErrorKind::Decode, "{e}");
        assert_eq!(core.operation(), op);
        assert!(e.to_string().contains("IsTruncated"), "{e}");
    };
    let e = s3.list_objects_v2("b").send().await.unwrap_err();
    decode_error(&e, "ListObjectsV2");
    let e =
        s3.list_objects_v2("b").into_objects(PaginationConfig::default()).try_collect::<Vec<_>>().await.unwrap_err();
    decode_error(&e, "ListObjectsV2");
    let e = s3.list_parts("b", "k", "id").into_items(PaginationConfig::default()).try_collect::<Vec<_>>().await;
    decode_error(&e.unwrap_err(), "ListParts");
    let e = s3.list_multipart_uploads("b").into_items(PaginationConfig::default()).try_collect::<Vec<_>>().await;
    decode_error(&e.unwrap_err(), "ListMultipartUploads");
    assert_eq!(http.requests().len(), 4, "nothing was fetched again from the start");
}

/// Issue 15, defect 19: create-only and conditional writes were retried after a 5xx like any
/// request, so a write that took effect came back as a false `PreconditionFailed`. They are now
/// retried only when the service certainly did not act (throttling, no connection); multipart
/// creation likewise, while parts (idempotent) are still retried after a 5xx.
#[tokio::test(start_paused = true)]
async fn conditional_and_create_only_writes_are_not_retried_after_a_5xx() {
    const INTERNAL: &str =
        "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>";
    const TAKEN: &str = "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>";
    let http = Arc::new(ReplayHttp::new());
    let s3 = custom_client(&http).await;

    // PutObject If-None-Match: * — the 500 may hide a write that took effect: no retry.
    // (Retried, it would get a 412: the object its own first attempt wrote.)
    http.push(Canned::status(500, INTERNAL));
    let e = s3.put_object("b", "k").body("x").if_none_match_any().send().await.unwrap_err();
    assert_eq!(e.code(), Some("InternalError"), "{e}");
    assert_eq!(http.requests().len(), 1);
    // PutObject If-Match likewise (a retry would find its own new ETag).
    http.push(Canned::status(412, TAKEN));
    let e = s3.put_object("b", "k").body("x").if_match("\"e\"").send().await.unwrap_err();
    assert!(matches!(e, S3Error::PreconditionFailed(_)), "{e}");
    assert_eq!(http.requests().len(), 2);
    // Throttling means "not processed": retried.
    http.push(Canned::status(
        503,
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
    ));
    http.push(Canned::status(200, "").with_header("etag", "\"new\""));
    let out = s3.put_object("b", "k").body("x").if_none_match_any().send().await.unwrap();
    assert_eq!(out.e_tag.as_deref(), Some("\"new\""));
    assert_eq!(http.requests().len(), 4);

    // CompleteMultipartUpload with a condition: no retry after a 500 either.
    http.push(Canned::status(500, INTERNAL));
    let e = s3
        .complete_multipart_upload("b", "k", "UP")
        .part(CompletedPart { part_number: 1, e_tag: "\"p\"".into(), checksum: None })
        .if_none_match_any()
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InternalError"), "{e}");
    assert_eq!(http.requests().len(), 5);

    // CreateMultipartUpload: a retry would leave a second, orphaned upload.
    http.push(Canned::status(500, INTERNAL));
    assert!(s3.create_multipart_upload("b", "k").send().await.is_err());
    assert_eq!(http.requests().len(), 6);

    // UploadPart is idempotent: retried after a 500.
    http.push(Canned::status(500, INTERNAL));
    http.push(Canned::status(200, "").with_header("etag", "\"p1\""));
    let part = s3.upload_part("b", "k", "UP", 1).body("x").send().await.unwrap();
    assert_eq!(part.e_tag.as_deref(), Some("\"p1\""));
    assert_eq!(http.requests().len(), 8);
    assert_eq!(http.remaining(), 0);
}

fn object_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 251) as u8).collect()
}

/// A whole-object GET answer for `data`, with ETag `etag` and its CRC32C.
fn whole(data: &[u8], etag: &str) -> Canned {
    Canned::status(200, data.to_vec())
        .with_header("etag", etag)
        .with_header("content-length", &data.len().to_string())
        .with_header("x-amz-checksum-crc32c", &ChecksumAlgorithm::Crc32c.checksum(data))
}

/// A 206 answer with bytes `start..end` of `data` (size `data.len()`).
fn ranged(data: &[u8], start: usize, end: usize, etag: &str) -> Canned {
    Canned::status(206, data[start..end].to_vec())
        .with_header("etag", etag)
        .with_header("content-length", &(end - start).to_string())
        .with_header("content-range", &format!("bytes {start}-{}/{}", end - 1, data.len()))
}

/// Issue 15, "resume interrupted downloads": a GetObject body that breaks off (reset, stall past
/// the read-idle timeout, cut short) is resumed from the last byte received with a ranged GET
/// pinned by `If-Match` to the ETag first read, and the full-object checksum is verified over the
/// resumed stream. Before, the body simply failed (or, cut short without an error, was handed out
/// short when no checksum was sent).
#[tokio::test]
async fn a_broken_get_object_body_resumes_from_the_last_byte() {
    let data = object_bytes(1000);
    let http = FaultyHttp::new();
    http.push(whole(&data, "\"v1\""), Cut::ResetAfter(300));
    http.push(ranged(&data, 300, 1000, "\"v1\""), Cut::StallAfter(200));
    http.push(ranged(&data, 500, 1000, "\"v1\""), Cut::None);
    let s3 = faulty_client(&http, ChecksumMode::WhenRequired).await;
    let out = s3.get_object("b", "k").send().await.unwrap();
    assert_eq!(out.checksum_verified, Some(Verified::Checksum(ChecksumAlgorithm::Crc32c)));
    assert_eq!(&out.collect().await.unwrap()[..], &data[..]);
    let reqs = http.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(h(&reqs[0], "x-amz-checksum-mode"), Some("ENABLED"), "WhenRequired asks for the checksum");
    assert_eq!(h(&reqs[0], "range"), None);
    assert_eq!(h(&reqs[1], "range"), Some("bytes=300-999"));
    assert_eq!(h(&reqs[1], "if-match"), Some("\"v1\""));
    assert_eq!(h(&reqs[2], "range"), Some("bytes=500-999"));
    assert_eq!(h(&reqs[2], "if-match"), Some("\"v1\""));

    // A body cut short without an error (fewer bytes than Content-Length) is resumed too, and
    // without a checksum (nothing else would notice).
    let http = FaultyHttp::new();
    http.push(
        Canned::status(200, data[..600].to_vec()).with_header("etag", "\"v1\"").with_header("content-length", "1000"),
        Cut::None,
    );
    http.push(ranged(&data, 600, 1000, "\"v1\""), Cut::None);
    let s3 = faulty_client(&http, ChecksumMode::Off).await;
    let got = s3.get_object("b", "k").send().await.unwrap().collect().await.unwrap();
    assert_eq!(&got[..], &data[..]);
    assert_eq!(h(&http.requests()[0], "x-amz-checksum-mode"), None, "Off asks for nothing");
    assert_eq!(h(&http.requests()[1], "range"), Some("bytes=600-999"));
}

/// A ranged GET resumes within its range; a corrupt resumed body fails the checksum instead of
/// being handed out.
#[tokio::test]
async fn ranged_gets_resume_within_their_range_and_checksums_wrap_the_resumed_stream() {
    let data = object_bytes(1000);
    let http = FaultyHttp::new();
    http.push(ranged(&data, 100, 400, "\"v1\""), Cut::ResetAfter(50));
    http.push(ranged(&data, 150, 400, "\"v1\""), Cut::None);
    let s3 = faulty_client(&http, ChecksumMode::WhenSupported).await;
    let got = s3.get_object("b", "k").range(100..=399).send().await.unwrap().collect().await.unwrap();
    assert_eq!(&got[..], &data[100..400]);
    assert_eq!(h(&http.requests()[1], "range"), Some("bytes=150-399"));

    let mut corrupt = data.clone();
    corrupt[700] ^= 0x20;
    let http = FaultyHttp::new();
    http.push(whole(&data, "\"v1\""), Cut::ResetAfter(500));
    http.push(ranged(&corrupt, 500, 1000, "\"v1\""), Cut::None);
    let s3 = faulty_client(&http, ChecksumMode::WhenRequired).await;
    let e = s3.get_object("b", "k").send().await.unwrap().collect().await.unwrap_err();
    assert!(matches!(e, S3Error::ChecksumMismatch { algorithm: "CRC32C", .. }), "{e:?}");
}

/// A resume that finds the object replaced (412 on `If-Match`, or a store that ignores the
/// condition and answers with another ETag) is a typed `ObjectChanged`, never a spliced body.
#[tokio::test]
async fn a_resume_that_finds_the_object_changed_is_object_changed() {
    let data = object_bytes(1000);
    for second in [
        Canned::status(
            412,
            "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>",
        ),
        ranged(&data, 300, 1000, "\"v2\""),
    ] {
        let http = FaultyHttp::new();
        http.push(whole(&data, "\"v1\""), Cut::ResetAfter(300));
        http.push(second, Cut::None);
        let s3 = faulty_client(&http, ChecksumMode::Off).await;
        let e = s3.get_object("b", "k").send().await.unwrap().collect().await.unwrap_err();
        assert!(matches!(e, S3Error::ObjectChanged(_)), "{e:?}");
        let source = e.core().and_then(|c| c.cause()).and_then(|s| s.downcast_ref::<cloudkit_core::TransportError>());
        assert_eq!(
            source.map(cloudkit_core::TransportError::kind),
            Some(cloudkit_core::TransportErrorKind::ObjectChanged)
        );
        assert_eq!(http.requests().len(), 2);
    }
    // The raw stream says the same to callers that read it themselves (the ObjectStore facade).
    let http = FaultyHttp::new();
    http.push(whole(&data, "\"v1\""), Cut::ResetAfter(300));
    http.push(Canned::status(412, ""), Cut::None);
    let s3 = faulty_client(&http, ChecksumMode::Off).await;
    let e = s3.get_object("b", "k").send().await.unwrap().body.collect().await.unwrap_err();
    assert_eq!(e.kind(), cloudkit_core::TransportErrorKind::ObjectChanged);
}

/// Resumes stay within the retry budget: three attempts in all, then the body error.
#[tokio::test]
async fn resumes_are_bounded_by_the_retry_attempts() {
    let data = object_bytes(1000);
    let http = FaultyHttp::new();
    http.push(whole(&data, "\"v1\""), Cut::ResetAfter(100));
    http.push(ranged(&data, 100, 1000, "\"v1\""), Cut::ResetAfter(100));
    http.push(ranged(&data, 200, 1000, "\"v1\""), Cut::ResetAfter(100));
    let s3 = faulty_client(&http, ChecksumMode::Off).await;
    let e = s3.get_object("b", "k").send().await.unwrap().collect().await.unwrap_err();
    assert!(matches!(e, S3Error::Other(_)), "{e:?}");
    assert_eq!(http.requests().len(), 3);
}

/// Issue 15, defect 9: a file body to a custom endpoint (`WhenRequired`) was sent as
/// `UNSIGNED-PAYLOAD` with no checksum at all: nothing could notice corrupted bytes. It now
/// carries a CRC32C computed by streaming the (replayable) file; an in-memory body carries one
/// too (the signed `x-amz-content-sha256` protects it in transit, the stored CRC32C lets
/// downloads be verified).
#[tokio::test]
async fn file_bodies_to_custom_endpoints_carry_a_checksum() {
    let dir = std::env::temp_dir().join(format!("ck-s3-file-crc-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("body.bin");
    std::fs::write(&path, b"..hello file..").unwrap();
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, ""));
    http.push(Canned::status(200, ""));
    http.push(Canned::status(200, ""));
    let s3 = custom_client(&http).await;
    assert_eq!(s3.checksum_mode(), ChecksumMode::WhenRequired);
    let out = s3.put_object("b", "k").body(FileRegion::new(&path, 2, 10)).send().await.unwrap();
    let crc = ChecksumAlgorithm::Crc32c.checksum(b"hello file");
    assert_eq!(out.checksum, Some((ChecksumAlgorithm::Crc32c, crc.clone())));
    s3.put_object("b", "k").body("hello file").send().await.unwrap();
    let off = replay_builder(&http, "us-east-1")
        .await
        .endpoint(Url::parse("http://127.0.0.1:9000").unwrap())
        .checksum_mode(ChecksumMode::Off)
        .build()
        .unwrap();
    off.put_object("b", "k").body(FileRegion::new(&path, 2, 10)).send().await.unwrap();
    let reqs = http.requests();
    assert_eq!(h(&reqs[0], "x-amz-content-sha256"), Some("UNSIGNED-PAYLOAD"));
    assert_eq!(h(&reqs[0], "x-amz-checksum-crc32c"), Some(crc.as_str()));
    assert_eq!(h(&reqs[0], "x-amz-sdk-checksum-algorithm"), Some("CRC32C"));
    assert_eq!(&reqs[0].body[..], b"hello file");
    // in memory: the signature covers the body in transit, and the CRC32C is stored with it
    assert_eq!(h(&reqs[1], "x-amz-checksum-crc32c"), Some(crc.as_str()));
    assert_eq!(h(&reqs[1], "x-amz-content-sha256").map(str::len), Some(64));
    // Off: nothing
    assert_eq!(h(&reqs[2], "x-amz-checksum-crc32c"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Issue 15, clock skew: S3 answers `RequestTimeTooSkewed` to a request signed by a clock an hour
/// off. The client takes the service's time from the `Date` header (the config's correction,
/// shared by its clients), signs again and retries once; presigned URLs are signed with the
/// corrected clock too.
#[tokio::test]
async fn request_time_too_skewed_corrects_the_signing_clock_and_retries_once() {
    use cloudkit_core::internal::date::http_date;
    let server = std::time::SystemTime::now() + Duration::from_secs(3600);
    let skewed = "<Error><Code>RequestTimeTooSkewed</Code><Message>The difference between the request time and the current time is too large.</Message><MaxAllowedSkewMilliseconds>900000</MaxAllowedSkewMilliseconds></Error>";
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(403, skewed).with_header("date", &http_date(server).unwrap()));
    http.push(Canned::status(200, "").with_header("etag", "\"e\""));
    let s3 = custom_client(&http).await;
    s3.put_object("b", "k").body("x").send().await.unwrap();
    let reqs = http.requests();
    assert_eq!(reqs.len(), 2);
    let signed_at = |r: &cloudkit_core::testing::RecordedRequest| {
        // 20260101T000000Z -> 2026-01-01T00:00:00Z
        let a = h(r, "x-amz-date").unwrap();
        let t = format!("{}-{}-{}T{}:{}:{}Z", &a[0..4], &a[4..6], &a[6..8], &a[9..11], &a[11..13], &a[13..15]);
        cloudkit_core::internal::date::parse_rfc3339(&t).unwrap()
    };
    let first = signed_at(&reqs[0]);
    let second = signed_at(&reqs[1]);
    let ahead = second.duration_since(first).unwrap();
    assert!(ahead > Duration::from_secs(3500) && ahead < Duration::from_secs(3700), "{ahead:?}");
    let url = s3.presign_get_object("b", "k", Duration::from_secs(60)).presign().await.unwrap().url;
    let amz_date = url.query_pairs().find(|(k, _)| k == "X-Amz-Date").unwrap().1.into_owned();
    assert_eq!(&amz_date[..11], &h(&reqs[1], "x-amz-date").unwrap()[..11], "presigned with the corrected clock");

    // A genuine signature failure (a wrong key) with a good clock is not retried.
    let now = std::time::SystemTime::now();
    http.push(
        Canned::status(403, "<Error><Code>SignatureDoesNotMatch</Code><Message>x</Message></Error>")
            .with_header("date", &http_date(now).unwrap()),
    );
    let fresh = custom_client(&http).await;
    assert!(fresh.put_object("b", "k").body("x").send().await.is_err());
    assert_eq!(http.requests().len(), 3);
}

/// Issue 15, defect 19: a CompleteMultipartUpload whose first attempt completed the upload but
/// whose answer was lost (a 500 here) is retried and finds no upload; that is recognized from the
/// object's ETag (the MD5 of the parts' MD5s) instead of a false `NoSuchUpload` failure. A
/// different object under the key keeps the error.
#[tokio::test(start_paused = true)]
async fn a_completion_retried_after_it_succeeded_is_a_success() {
    const NO_UPLOAD: &str =
        "<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>";
    let parts = [
        CompletedPart { part_number: 1, e_tag: "\"7778aef83f66abc1fa1e8477f296d394\"".into(), checksum: None },
        CompletedPart { part_number: 2, e_tag: "\"aaaa18db4cc2f85cedef654fccc4a4f8\"".into(), checksum: None },
    ];
    let mut md5s = Vec::new();
    for p in &parts {
        let hex = p.e_tag.trim_matches('"');
        md5s.extend((0..32).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()));
    }
    let digest =
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, cloudkit_core::md5_base64(&md5s)).unwrap();
    let expected = format!("\"{}-2\"", digest.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(500, "<Error><Code>InternalError</Code><Message>x</Message></Error>"));
    http.push(Canned::status(404, NO_UPLOAD));
    http.push(Canned::status(200, "").with_header("etag", &expected).with_header("x-amz-version-id", "v7"));
    let s3 = custom_client(&http).await;
    let out = s3.complete_multipart_upload("b", "k", "UP").parts(parts.clone()).send().await.unwrap();
    assert_eq!(out.e_tag.as_deref(), Some(expected.as_str()));
    assert_eq!(out.version_id.as_deref(), Some("v7"));
    assert_eq!(http.requests()[2].method, "HEAD");

    http.push(Canned::status(500, "<Error><Code>InternalError</Code><Message>x</Message></Error>"));
    http.push(Canned::status(404, NO_UPLOAD));
    http.push(Canned::status(200, "").with_header("etag", "\"0123456789abcdef0123456789abcdef-2\""));
    let e = s3.complete_multipart_upload("b", "k", "UP").parts(parts).send().await.unwrap_err();
    assert!(matches!(e, S3Error::NoSuchUpload(_)), "{e:?}");
}

/// The multipart ETag S3 and s3s-fs give `data` uploaded in `part`-byte parts.
fn multipart_e_tag(data: &[u8], part: usize) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut md5s = Vec::new();
    for c in data.chunks(part) {
        md5s.extend(b64.decode(cloudkit_core::md5_base64(c)).unwrap());
    }
    let digest = b64.decode(cloudkit_core::md5_base64(&md5s)).unwrap();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}-{}\"", data.len().div_ceil(part))
}

/// Defect 8 through the streaming GetObject (what the facade's `S3Store::get` reads): a whole
/// multipart object from a store that keeps no checksum for it (s3s-fs) is verified against its
/// multipart ETag when the TransferManager recorded the part size; a flipped byte — also in a
/// resumed body — is a `ChecksumMismatch` (MD5) instead of corrupt data. Ranged reads, objects
/// without the recorded part size and SSE-KMS objects are not checked.
#[tokio::test]
async fn whole_multipart_objects_without_checksums_are_verified_by_their_e_tag() {
    const PART: usize = 5 << 20;
    let data = object_bytes(PART + 1000);
    let etag = multipart_e_tag(&data, PART);
    let answer = |body: &[u8]| {
        Canned::status(200, body.to_vec())
            .with_header("etag", &etag)
            .with_header("content-length", &data.len().to_string())
            .with_header("x-amz-meta-cloudkit-part-size", &PART.to_string())
    };
    let mut corrupt = data.clone();
    corrupt[PART + 3] ^= 0x08;

    let http = FaultyHttp::new();
    http.push(answer(&data), Cut::None);
    http.push(answer(&corrupt), Cut::None);
    // Broken off after 1 MiB and resumed from a corrupt store: still caught.
    http.push(answer(&data), Cut::ResetAfter(1 << 20));
    http.push(ranged(&corrupt, 1 << 20, data.len(), &etag), Cut::None);
    let s3 = faulty_client(&http, ChecksumMode::WhenRequired).await;
    let out = s3.get_object("b", "k").send().await.unwrap();
    assert_eq!(out.checksum_verified, Some(Verified::MultipartETag));
    assert!(out.collect().await.unwrap() == data);
    for _ in 0..2 {
        let e = s3.get_object("b", "k").send().await.unwrap().collect().await.unwrap_err();
        assert!(matches!(e, S3Error::ChecksumMismatch { algorithm: "MD5", .. }), "{e:?}");
    }

    // Not checked: a ranged read, no recorded part size, SSE-KMS, checksums off.
    let http = FaultyHttp::new();
    http.push(
        ranged(&corrupt, 0, 100, &etag).with_header("x-amz-meta-cloudkit-part-size", &PART.to_string()),
        Cut::None,
    );
    http.push(
        Canned::status(200, corrupt.clone())
            .with_header("etag", &etag)
            .with_header("content-length", &data.len().to_string()),
        Cut::None,
    );
    http.push(answer(&corrupt).with_header("x-amz-server-side-encryption", "aws:kms"), Cut::None);
    let s3 = faulty_client(&http, ChecksumMode::WhenRequired).await;
    let out = s3.get_object("b", "k").range(0..=99).send().await.unwrap();
    assert_eq!(out.checksum_verified, None);
    out.collect().await.unwrap();
    for _ in 0..2 {
        let out = s3.get_object("b", "k").send().await.unwrap();
        assert_eq!(out.checksum_verified, None);
        assert!(out.collect().await.unwrap() == corrupt);
    }
    let http = FaultyHttp::new();
    http.push(answer(&corrupt), Cut::None);
    let out = faulty_client(&http, ChecksumMode::Off).await.get_object("b", "k").send().await.unwrap();
    assert_eq!(out.checksum_verified, None);
    out.collect().await.unwrap();

    // `Required` accepts the ETag check as verification.
    let http = FaultyHttp::new();
    http.push(answer(&data), Cut::None);
    let out = faulty_client(&http, ChecksumMode::Required).await.get_object("b", "k").send().await.unwrap();
    assert_eq!(out.checksum_verified, Some(Verified::MultipartETag));
}

/// `CreateMultipartUpload::checksum_type` sends `x-amz-checksum-type`; `full_object_checksum`
/// is its shorthand; CompleteMultipartUpload sends the full-object value with the type.
#[tokio::test]
async fn checksum_type_is_sent_on_create_and_complete() {
    let http = Arc::new(ReplayHttp::new());
    let created = "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>U</UploadId></InitiateMultipartUploadResult>";
    for _ in 0..3 {
        http.push(
            Canned::status(200, created)
                .with_header("x-amz-checksum-algorithm", "CRC32")
                .with_header("x-amz-checksum-type", "FULL_OBJECT"),
        );
    }
    http.push(Canned::status(
        200,
        "<CompleteMultipartUploadResult><ETag>\"m-1\"</ETag><ChecksumCRC32>AAAAAA==</ChecksumCRC32><ChecksumType>FULL_OBJECT</ChecksumType></CompleteMultipartUploadResult>",
    ));
    let s3 = custom_client(&http).await;
    let out = s3
        .create_multipart_upload("b", "k")
        .checksum_algorithm(ChecksumAlgorithm::Crc32)
        .checksum_type(ChecksumType::FullObject)
        .send()
        .await
        .unwrap();
    assert_eq!(out.checksum_type.as_deref(), Some("FULL_OBJECT"));
    s3.create_multipart_upload("b", "k").checksum_type(ChecksumType::Composite).send().await.unwrap();
    s3.create_multipart_upload("b", "k").full_object_checksum(true).send().await.unwrap();
    let done = s3
        .complete_multipart_upload("b", "k", "U")
        .part(CompletedPart { part_number: 1, e_tag: "\"p\"".into(), checksum: None })
        .full_object_checksum(ChecksumAlgorithm::Crc32, "AAAAAA==")
        .send()
        .await
        .unwrap();
    assert_eq!(
        (done.checksum_crc32.as_deref(), done.checksum_type.as_deref()),
        (Some("AAAAAA=="), Some("FULL_OBJECT"))
    );
    let reqs = http.requests();
    assert_eq!(h(&reqs[0], "x-amz-checksum-algorithm"), Some("CRC32"));
    assert_eq!(h(&reqs[0], "x-amz-checksum-type"), Some("FULL_OBJECT"));
    assert_eq!(h(&reqs[1], "x-amz-checksum-type"), Some("COMPOSITE"));
    assert_eq!(h(&reqs[2], "x-amz-checksum-type"), Some("FULL_OBJECT"));
    assert_eq!(h(&reqs[3], "x-amz-checksum-crc32"), Some("AAAAAA=="));
    assert_eq!(h(&reqs[3], "x-amz-checksum-type"), Some("FULL_OBJECT"));
}
