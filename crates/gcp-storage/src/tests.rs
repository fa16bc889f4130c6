//! Request-shape and parse tests on canned responses (from the GCS JSON API reference), for what
//! the emulator cannot show: preconditions (412/304), multi-page listings, rewrite tokens,
//! interrupted resumable chunks, throttling reasons, corrupt downloads.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use cloudkit_core::testing::{Canned, ReplayHttp, TempDir, assert_listing};
use cloudkit_core::{TransportErrorKind, Url};
use cloudkit_cred_chain::gcp::{GcpConfig, GcpEnv};
use cloudkit_paginate::PaginationConfig;
use futures::TryStreamExt;

use super::*;

/// A client builder made the way users make one: a [`GcpConfig`] loaded from a fake environment
/// (project `proj`) with anonymous credentials, the replayed HTTP set on the builder.
async fn builder(http: &Arc<ReplayHttp>) -> ClientBuilder {
    let env = GcpEnv::from_pairs([("GOOGLE_CLOUD_PROJECT", "proj")]);
    let config = GcpConfig::loader().env(env).anonymous().load().await.unwrap();
    StorageClient::builder(&config).http(http.clone())
}

async fn client(http: &Arc<ReplayHttp>) -> StorageClient {
    builder(http).await.build().unwrap()
}

fn json_error(code: u16, reason: &str, message: &str) -> Canned {
    Canned::status(
        code,
        format!(r#"{{"error":{{"code":{code},"message":"{message}","errors":[{{"domain":"global","reason":"{reason}","message":"{message}"}}]}}}}"#),
    )
    .with_header("content-type", "application/json; charset=UTF-8")
    .with_header("x-guploader-uploadid", "upload-id-123")
}

fn object_json(name: &str, size: u64, crc: &str) -> String {
    format!(
        r#"{{"kind":"storage#object","name":"{name}","bucket":"b","generation":"1700000000000001","metageneration":"1","size":"{size}","crc32c":"{crc}","contentType":"application/octet-stream"}}"#
    )
}

fn query(url: &Url) -> Vec<(String, String)> {
    url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn has(url: &Url, k: &str, v: &str) -> bool {
    query(url).iter().any(|(a, b)| a == k && b == v)
}

#[tokio::test(start_paused = true)]
async fn typed_errors_from_json_bodies() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(json_error(404, "notFound", "No such object: b/o"));
    let e = c.get_object("b", "o").send().await.unwrap_err();
    assert!(matches!(e, GcsError::NotFound(_)), "{e:?}");
    assert_eq!(e.code(), Some("notFound"));
    assert_eq!(e.core().unwrap().request_id(), Some("upload-id-123"));
    assert!(e.to_string().contains("No such object: b/o"), "{e}");

    http.push(json_error(409, "conflict", "Your previous request to create the named bucket succeeded"));
    assert!(matches!(c.insert_bucket("b").send().await.unwrap_err(), GcsError::Conflict(_)));

    http.push(json_error(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold."));
    let e = c.insert_object("b", "o").if_generation_match(0).send_bytes(Bytes::from_static(b"x")).await.unwrap_err();
    assert!(matches!(e, GcsError::PreconditionFailed(_)), "{e:?}");

    http.push(json_error(403, "forbidden", "caller does not have storage.objects.get access"));
    assert!(matches!(c.get_object("b", "o").send().await.unwrap_err(), GcsError::Forbidden(_)));

    http.push(json_error(401, "required", "Anonymous caller"));
    assert!(matches!(c.get_bucket("b").await.unwrap_err(), GcsError::Unauthenticated(_)));

    // 304 for ifGenerationNotMatch on a read (no body)
    http.push(Canned::status(304, ""));
    let e = c.download_object("b", "o").if_generation_not_match(7).send().await.unwrap_err();
    assert!(matches!(e, GcsError::NotModified(_)), "{e:?}");
    assert_eq!(e.code(), Some("notModified"));

    // body-less 404 (emulators, HEAD-like calls): the reason comes from the status
    http.push(Canned::status(404, ""));
    let e = c.delete_object("b", "o").send().await.unwrap_err();
    assert_eq!(e.code(), Some("notFound"));

    http.push(Canned::status(416, ""));
    let e = c.download_object("b", "o").range(ByteRange::From(99)).send().await.unwrap_err();
    assert!(matches!(e, GcsError::InvalidRange(_)), "{e:?}");
    assert_eq!(http.remaining(), 0);
}

#[tokio::test(start_paused = true)]
async fn rate_limit_reasons_are_throttling_retried_then_typed() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    // a 403 with rateLimitExceeded is throttling (retried), not a permission error
    http.push(json_error(
        403,
        "rateLimitExceeded",
        "The total number of changes to the object exceeds the rate limit.",
    ));
    http.push(Canned::status(200, object_json("o", 1, "AAAAAA==")));
    c.get_object("b", "o").send().await.unwrap();
    assert_eq!(http.requests().len(), 2, "retried after rateLimitExceeded");

    for _ in 0..3 {
        http.push(json_error(429, "rateLimitExceeded", "slow down"));
    }
    let e = c.get_object("b", "o").send().await.unwrap_err();
    assert!(matches!(e, GcsError::Throttled(_)), "{e:?}");
    assert!(e.core().unwrap().is_throttling());
    assert_eq!(e.core().unwrap().attempts(), 3);
}

#[tokio::test]
async fn preconditions_and_generations_are_sent_as_query_parameters() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(Canned::status(200, "data").with_header("x-goog-generation", "5"));
    let d = c
        .download_object("b", "dir/a b+c.txt")
        .generation(5)
        .if_generation_match(5)
        .if_metageneration_match(2)
        .range(ByteRange::Last(10))
        .send()
        .await
        .unwrap();
    assert_eq!(d.generation, Some(5));
    let r = &http.requests()[0];
    // object names are one path segment: '/' → %2F, ' ' → %20, '+' → %2B
    assert_eq!(r.url.path(), "/storage/v1/b/b/o/dir%2Fa%20b+c.txt");
    assert!(has(&r.url, "alt", "media") && has(&r.url, "generation", "5"));
    assert!(has(&r.url, "ifGenerationMatch", "5") && has(&r.url, "ifMetagenerationMatch", "2"));
    assert_eq!(r.headers["range"], "bytes=-10");

    http.push(Canned::status(200, object_json("o", 1, "AAAAAA==")));
    c.insert_object("b", "o")
        .upload_type(UploadType::Media)
        .if_generation_match(0)
        .send_bytes(Bytes::from_static(b"\x00"))
        .await
        .unwrap_err(); // CRC32C of "\0" is not AAAAAA==: the client notices
    let r = &http.requests()[1];
    assert!(has(&r.url, "ifGenerationMatch", "0") && has(&r.url, "uploadType", "media") && has(&r.url, "name", "o"));
    assert_eq!(r.url.path(), "/upload/storage/v1/b/b/o");
    let hash = r.headers["x-goog-hash"].to_str().unwrap();
    assert!(hash.starts_with(&format!("crc32c={},md5=", crc32c_base64(b"\x00"))), "{hash}");

    http.push(Canned::status(204, ""));
    c.delete_object("b", "o").if_generation_not_match(3).if_metageneration_not_match(4).send().await.unwrap();
    let r = &http.requests()[2];
    assert!(has(&r.url, "ifGenerationNotMatch", "3") && has(&r.url, "ifMetagenerationNotMatch", "4"));
}

#[tokio::test]
async fn multipart_upload_carries_metadata_and_checksums() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let data = b"hello multipart";
    http.push(Canned::status(200, object_json("o", data.len() as u64, &crc32c_base64(data))));
    c.insert_object("b", "o")
        .content_type("text/plain")
        .metadata("k", "v")
        .send_bytes(Bytes::from_static(data))
        .await
        .unwrap();
    let r = &http.requests()[0];
    assert!(has(&r.url, "uploadType", "multipart"));
    let ct = r.headers["content-type"].to_str().unwrap();
    let boundary = ct.strip_prefix("multipart/related; boundary=").unwrap();
    let body = String::from_utf8(r.body.to_vec()).unwrap();
    let parts: Vec<&str> = body.split(&format!("--{boundary}")).collect();
    assert_eq!(parts.len(), 4, "{body}");
    let json_part = parts[1].split("\r\n\r\n").nth(1).unwrap().trim_end();
    let meta: serde_json::Value = serde_json::from_str(json_part).unwrap();
    assert_eq!(meta["name"], "o");
    assert_eq!(meta["contentType"], "text/plain");
    assert_eq!(meta["metadata"]["k"], "v");
    assert_eq!(meta["crc32c"], crc32c_base64(data));
    assert_eq!(meta["md5Hash"], md5_base64(data));
    assert!(parts[2].starts_with("\r\nContent-Type: text/plain\r\n\r\nhello multipart\r\n"), "{:?}", parts[2]);
    assert_eq!(parts[3], "--\r\n");
}

#[tokio::test]
async fn object_listing_follows_page_tokens_over_several_pages() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(Canned::status(200, r#"{"items":[{"name":"a"},{"name":"b"}],"prefixes":["d/"],"nextPageToken":"t1"}"#));
    // an empty page that still has a token must not stop the listing
    http.push(Canned::status(200, r#"{"nextPageToken":"t2"}"#));
    http.push(Canned::status(200, r#"{"items":[{"name":"c","size":"3"}]}"#));
    let objects = c
        .list_objects("b")
        .prefix("p/")
        .delimiter("/")
        .start_offset("a")
        .end_offset("z")
        .into_items(PaginationConfig::default().page_size(2));
    assert_listing(&http, "pageToken", objects.map_ok(|o| o.name), &["a", "b", "c"], &["t1", "t2"]).await;
    for r in &http.requests() {
        assert!(has(&r.url, "prefix", "p/") && has(&r.url, "delimiter", "/"));
        assert!(has(&r.url, "startOffset", "a") && has(&r.url, "endOffset", "z") && has(&r.url, "maxResults", "2"));
    }

    // a repeated token is an error, not an endless loop
    http.push(Canned::status(200, r#"{"items":[{"name":"a"}],"nextPageToken":"same"}"#));
    http.push(Canned::status(200, r#"{"items":[{"name":"b"}],"nextPageToken":"same"}"#));
    let r: Result<Vec<_>, _> = c.list_objects("b").into_items(PaginationConfig::default()).try_collect().await;
    let Err(GcsError::Pagination(e)) = r else { panic!("{r:?}") };
    assert_eq!((e.service(), e.operation(), e.repeated_token()), ("GCS", "objects.list", Some("same")));
    assert_eq!(
        e.to_string(),
        "GCS.objects.list failed: the service returned the continuation token \"same\" twice; stopping instead of looping"
    );
}

/// Issue 16, point 1: a paginator over a failing list yields the GCS error itself (no nesting),
/// naming the service, operation and cause.
#[tokio::test]
async fn a_failing_listing_yields_the_gcs_error_naming_service_operation_and_cause() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(json_error(404, "notFound", "The specified bucket does not exist."));
    let e = c.list_objects("no-such-bucket").into_pages(PaginationConfig::default()).try_next().await.unwrap_err();
    assert!(matches!(e, GcsError::NotFound(_)), "{e:?}");
    assert!(
        e.to_string().starts_with("GCS.objects.list failed: HTTP 404 notFound: The specified bucket does not exist."),
        "{e}"
    );
    http.push(json_error(403, "forbidden", "no access"));
    let e = c.list_buckets().into_items(PaginationConfig::default()).try_next().await.unwrap_err();
    assert!(matches!(e, GcsError::Forbidden(_)), "{e:?}");
    assert!(e.to_string().starts_with("GCS.buckets.list failed: HTTP 403"), "{e}");
}

#[tokio::test]
async fn bucket_listing_pages_and_bucket_calls_shape() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(Canned::status(200, r#"{"kind":"storage#buckets","items":[{"name":"b1"}],"nextPageToken":"n"}"#));
    http.push(Canned::status(200, r#"{"kind":"storage#buckets","items":[{"name":"b2","labels":{"a":"b"}}]}"#));
    let buckets: Vec<Bucket> =
        c.list_buckets().prefix("b").into_items(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(buckets.iter().map(|b| b.name.as_str()).collect::<Vec<_>>(), ["b1", "b2"]);
    assert_eq!(buckets[1].labels["a"], "b");
    let reqs = http.requests();
    assert!(has(&reqs[0].url, "project", "proj") && has(&reqs[0].url, "prefix", "b"));
    assert!(has(&reqs[1].url, "pageToken", "n"));

    http.push(Canned::status(200, r#"{"name":"nb","location":"EU","storageClass":"COLDLINE"}"#));
    let b = c.insert_bucket("nb").location("EU").storage_class("COLDLINE").label("x", "y").send().await.unwrap();
    assert_eq!(b.storage_class.as_deref(), Some("COLDLINE"));
    let r = &http.requests()[2];
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body, serde_json::json!({"name":"nb","location":"EU","storageClass":"COLDLINE","labels":{"x":"y"}}));

    http.push(Canned::status(200, r#"{"name":"nb","labels":{"keep":"1"}}"#));
    c.patch_bucket("nb").label("keep", "1").remove_label("old").if_metageneration_match(3).send().await.unwrap();
    let r = &http.requests()[3];
    assert_eq!(r.method, cloudkit_core::Method::PATCH);
    assert!(has(&r.url, "ifMetagenerationMatch", "3"));
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body, serde_json::json!({"labels":{"keep":"1","old":null}}));
}

#[tokio::test]
async fn rewrite_loops_on_the_rewrite_token() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(Canned::status(
        200,
        r#"{"kind":"storage#rewriteResponse","totalBytesRewritten":"1048576","objectSize":"3145728","done":false,"rewriteToken":"tok-1"}"#,
    ));
    http.push(Canned::status(
        200,
        r#"{"kind":"storage#rewriteResponse","totalBytesRewritten":"2097152","objectSize":"3145728","done":false,"rewriteToken":"tok-2"}"#,
    ));
    http.push(Canned::status(
        200,
        format!(
            r#"{{"kind":"storage#rewriteResponse","done":true,"resource":{}}}"#,
            object_json("dst/o", 3145728, "AAAAAA==")
        ),
    ));
    let o = c
        .rewrite_object("src", "a/o", "dst", "dst/o")
        .max_bytes_per_call(1048576)
        .if_generation_match(0)
        .send()
        .await
        .unwrap();
    assert_eq!(o.name, "dst/o");
    assert_eq!(o.size, Some(3145728));
    let reqs = http.requests();
    assert_eq!(reqs[0].url.path(), "/storage/v1/b/src/o/a%2Fo/rewriteTo/b/dst/o/dst%2Fo");
    assert!(!query(&reqs[0].url).iter().any(|(k, _)| k == "rewriteToken"));
    assert!(has(&reqs[1].url, "rewriteToken", "tok-1") && has(&reqs[2].url, "rewriteToken", "tok-2"));
    assert!(
        reqs.iter()
            .all(|r| has(&r.url, "maxBytesRewrittenPerCall", "1048576") && has(&r.url, "ifGenerationMatch", "0"))
    );
}

#[tokio::test]
async fn compose_body_and_limits() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(Canned::status(200, object_json("whole", 10, "AAAAAA==")));
    c.compose_object("b", "whole")
        .source("p1")
        .source_generation("p2", 42)
        .if_generation_match(0)
        .send()
        .await
        .unwrap();
    let r = &http.requests()[0];
    assert_eq!(r.url.path(), "/storage/v1/b/b/o/whole/compose");
    let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(body["sourceObjects"], serde_json::json!([{"name":"p1"},{"name":"p2","generation":"42"}]));
    let mut many = c.compose_object("b", "x");
    for i in 0..33 {
        many = many.source(format!("p{i}"));
    }
    assert!(many.send().await.is_err());
    assert_eq!(http.requests().len(), 1, "nothing sent for 33 sources");
}

#[tokio::test(start_paused = true)]
async fn interrupted_resumable_chunk_queries_the_session_and_resumes() {
    const Q: usize = CHUNK_QUANTUM;
    let http = Arc::new(ReplayHttp::new());
    let c = builder(&http)
        .await
        .upload_settings(UploadSettings { chunk_size: 2 * Q, ..UploadSettings::default() })
        .build()
        .unwrap();
    let data: Bytes = (0..(2 * Q + 100)).map(|i| (i % 256) as u8).collect::<Vec<u8>>().into();
    let session = "https://storage.googleapis.com/upload/storage/v1/b/b/o?uploadType=resumable&upload_id=XYZ";
    // 1: session start
    http.push(Canned::status(200, "").with_header("location", session));
    // 2: first chunk (bytes 0-524287/*) dies mid-flight
    http.push(Canned::error(TransportErrorKind::Request));
    // 3: status query: the session kept the first 256 KiB
    http.push(Canned::status(308, "").with_header("range", format!("bytes=0-{}", Q - 1).as_str()));
    // 4: the rest of the first chunk
    http.push(Canned::status(308, "").with_header("range", format!("bytes=0-{}", 2 * Q - 1).as_str()));
    // 5: the last chunk completes the upload
    http.push(Canned::status(200, object_json("o", data.len() as u64, &crc32c_base64(&data))));
    let o = c.insert_object("b", "o").upload_type(UploadType::Resumable).send_bytes(data.clone()).await.unwrap();
    assert_eq!(o.size, Some(data.len() as u64));

    let reqs = http.requests();
    assert_eq!(reqs.len(), 5);
    assert!(has(&reqs[0].url, "uploadType", "resumable"));
    assert_eq!(reqs[0].headers["x-upload-content-length"], data.len().to_string().as_str());
    let ranges: Vec<&str> = reqs[1..].iter().map(|r| r.headers["content-range"].to_str().unwrap()).collect();
    let total = data.len();
    assert_eq!(
        ranges,
        [
            format!("bytes 0-{}/{total}", 2 * Q - 1),
            format!("bytes */{total}"),
            format!("bytes {Q}-{}/{total}", 2 * Q - 1),
            format!("bytes {}-{}/{total}", 2 * Q, total - 1),
        ]
    );
    // chunk bodies: the resend starts at the persisted offset; the session URL needs no auth
    assert_eq!(reqs[3].body, data.slice(Q..2 * Q));
    assert_eq!(reqs[4].body, data.slice(2 * Q..));
    assert!(reqs[1..].iter().all(|r| r.url.as_str() == session));
    assert_eq!(reqs[4].headers["x-goog-hash"], format!("crc32c={}", crc32c_base64(&data)).as_str());

    // the session id authorizes the upload: never in Debug
    http.push(Canned::status(200, "").with_header("location", session));
    let upload = c.insert_object("b", "o2").start_resumable(None).await.unwrap();
    assert!(!format!("{upload:?}").contains("XYZ"), "{upload:?}");
}

#[tokio::test(start_paused = true)]
async fn streaming_resumable_upload_of_unknown_size_ends_with_an_empty_final_put() {
    const Q: usize = CHUNK_QUANTUM;
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let data: Bytes = vec![7u8; 2 * Q].into();
    http.push(Canned::status(200, "").with_header("location", "https://storage.googleapis.com/upload/s?upload_id=1"));
    http.push(Canned::status(308, "").with_header("range", format!("bytes=0-{}", Q - 1).as_str()));
    http.push(Canned::status(308, "").with_header("range", format!("bytes=0-{}", 2 * Q - 1).as_str()));
    http.push(Canned::status(200, object_json("o", data.len() as u64, &crc32c_base64(&data))));
    let chunks = futures::stream::iter([Ok(data.slice(..Q)), Ok(data.slice(Q..))]);
    c.insert_object("b", "o").chunk_size(Q).send_stream(chunks, None).await.unwrap();
    let ranges: Vec<String> =
        http.requests()[1..].iter().map(|r| r.headers["content-range"].to_str().unwrap().to_owned()).collect();
    assert_eq!(
        ranges,
        [format!("bytes 0-{}/*", Q - 1), format!("bytes {Q}-{}/*", 2 * Q - 1), format!("bytes */{}", 2 * Q)]
    );
}

#[tokio::test]
async fn chunk_sizes_must_be_multiples_of_256_kib() {
    let http = Arc::new(ReplayHttp::new());
    let settings = |chunk_size| UploadSettings { chunk_size, ..UploadSettings::default() };
    assert!(builder(&http).await.upload_settings(settings(1000)).build().is_err());
    assert!(builder(&http).await.upload_settings(settings(0)).build().is_err());
    let c = builder(&http).await.upload_settings(settings(3 * CHUNK_QUANTUM)).build().unwrap();
    assert_eq!(c.upload_settings().chunk_size, 3 * CHUNK_QUANTUM);
}

#[tokio::test]
async fn corrupt_download_is_detected_and_ranges_are_not_checked() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(Canned::status(200, "hello w0rld").with_header(
        "x-goog-hash",
        &format!("crc32c={},md5={}", crc32c_base64(b"hello world"), md5_base64(b"hello world")),
    ));
    let e = c.download_object("b", "o").send().await.unwrap().bytes().await.unwrap_err();
    assert!(e.to_string().contains("CRC32C mismatch"), "{e}");
    match &e {
        GcsError::ChecksumMismatch { operation, algorithm, expected, actual } => {
            assert_eq!((*operation, *algorithm), ("objects.get", "CRC32C"));
            assert_eq!(expected, &crc32c_base64(b"hello world"));
            assert_eq!(actual, &crc32c_base64(b"hello w0rld"));
        }
        other => panic!("{other:?}"),
    }

    http.push(
        Canned::status(206, "w0r")
            .with_header("content-range", "bytes 6-8/11")
            .with_header("x-goog-hash", "crc32c=yZRlqg=="),
    );
    let d = c.download_object("b", "o").range(ByteRange::Inclusive(6, 8)).send().await.unwrap();
    assert_eq!(d.object_size, Some(11));
    assert_eq!(&d.bytes().await.unwrap()[..], b"w0r");

    // verification can be turned off
    http.push(Canned::status(200, "hello w0rld").with_header("x-goog-hash", "crc32c=yZRlqg=="));
    let unchecked = builder(&http).await.checksum_verification(false).build().unwrap();
    assert_eq!(&unchecked.download_object("b", "o").send().await.unwrap().bytes().await.unwrap()[..], b"hello w0rld");
}

#[test]
fn object_resources_decode_with_string_numbers() {
    let o: Object = serde_json::from_str(
        r#"{"name":"n","bucket":"b","generation":"1712345678901234","metageneration":"3","size":"12345678901","metadata":{"a":"1","gone":null},"updated":"2024-04-05T06:07:08.123Z","componentCount":2}"#,
    )
    .unwrap();
    assert_eq!(o.generation, Some(1712345678901234));
    assert_eq!(o.size, Some(12345678901));
    assert_eq!(o.metadata.len(), 1);
    assert_eq!(o.updated, Some(UNIX_EPOCH + Duration::from_millis(1_712_297_228_123)));
    assert_eq!(o.time_created, None);
    let bad = serde_json::from_str::<Object>(r#"{"name":"n","timeCreated":"yesterday"}"#).unwrap_err();
    assert!(bad.to_string().contains("RFC 3339"), "{bad}");
    let b: Bucket =
        serde_json::from_str(r#"{"name":"b","timeCreated":"2024-04-05T06:07:08Z","updated":null}"#).unwrap();
    assert_eq!(b.time_created, Some(UNIX_EPOCH + Duration::from_secs(1_712_297_228)));
    assert_eq!(b.updated, None);
    assert_eq!(o.component_count, Some(2));
}

#[tokio::test]
async fn signed_urls_without_a_signer_say_why() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let e = c
        .signed_url(cloudkit_core::Method::GET, "b", Some("o"), Duration::from_secs(60), SignedUrlOptions::default())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no blob signer"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_chunk_is_sent_once_then_resumed_from_the_session_and_fatal_errors_end_the_upload() {
    const Q: usize = CHUNK_QUANTUM;
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let data: Bytes = vec![3u8; Q + 10].into();
    let session = "https://storage.googleapis.com/upload/storage/v1/b/b/o?uploadType=resumable&upload_id=S1";
    http.push(Canned::status(200, "").with_header("location", session));
    // the pipeline classifies the 503 as retryable, but does not resend the chunk by itself…
    http.push(json_error(503, "backendError", "try again"));
    // …the upload asks the session (nothing arrived) and sends the chunk again
    http.push(Canned::status(308, ""));
    http.push(Canned::status(200, object_json("o", data.len() as u64, &crc32c_base64(&data))));
    let o = c.insert_object("b", "o").upload_type(UploadType::Resumable).send_bytes(data.clone()).await.unwrap();
    assert_eq!(o.size, Some(data.len() as u64));
    let reqs = http.requests();
    assert_eq!(reqs.len(), 4);
    let ranges: Vec<&str> = reqs[1..].iter().map(|r| r.headers["content-range"].to_str().unwrap()).collect();
    let total = data.len();
    assert_eq!(
        ranges,
        [
            format!("bytes 0-{}/{total}", total - 1),
            format!("bytes */{total}"),
            format!("bytes 0-{}/{total}", total - 1)
        ]
    );
    assert_eq!(reqs[3].body, data);

    // a 404 (the session expired) is fatal: no status query, the typed error comes back
    http.push(Canned::status(200, "").with_header("location", session));
    http.push(json_error(404, "notFound", "No such upload"));
    let e = c.insert_object("b", "o").upload_type(UploadType::Resumable).send_bytes(data.clone()).await.unwrap_err();
    assert!(matches!(e, GcsError::NotFound(_)), "{e:?}");
    assert_eq!(e.core().unwrap().attempts(), 1);
    assert_eq!(http.requests().len(), 6);

    // retryable failures are bounded by max_resumes
    let c = builder(&http)
        .await
        .upload_settings(UploadSettings { max_resumes: 1, ..UploadSettings::default() })
        .build()
        .unwrap();
    http.push(Canned::status(200, "").with_header("location", session));
    http.push(Canned::error(TransportErrorKind::Request));
    http.push(Canned::status(308, ""));
    http.push(Canned::error(TransportErrorKind::Request));
    let e = c.insert_object("b", "o").upload_type(UploadType::Resumable).send_bytes(data).await.unwrap_err();
    assert!(e.is_retryable(), "{e:?}");
    assert_eq!(http.remaining(), 0);
    assert_eq!(http.requests().len(), 10);
}

#[tokio::test(start_paused = true)]
async fn cancel_accepts_499_and_a_failing_source_cancels_the_session() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let session = "https://storage.googleapis.com/upload/storage/v1/b/b/o?uploadType=resumable&upload_id=C1";
    http.push(Canned::status(200, "").with_header("location", session));
    http.push(Canned::status(499, ""));
    c.insert_object("b", "o").start_resumable(None).await.unwrap().cancel().await.unwrap();
    let reqs = http.requests();
    assert_eq!(reqs[1].method, cloudkit_core::Method::DELETE);
    assert_eq!(reqs[1].url.as_str(), session);

    http.push(Canned::status(200, "").with_header("location", session));
    http.push(Canned::status(499, ""));
    let source = futures::stream::iter([Ok(Bytes::from_static(b"abc")), Err(std::io::Error::other("disk gone"))]);
    let e = c.insert_object("b", "o").send_stream(source, None).await.unwrap_err();
    assert!(e.to_string().contains("disk gone"), "{e}");
    let reqs = http.requests();
    assert_eq!(reqs.len(), 4);
    assert_eq!(reqs[3].method, cloudkit_core::Method::DELETE);

    // a status other than 2xx/499 on cancel is an error
    http.push(Canned::status(200, "").with_header("location", session));
    http.push(json_error(400, "invalid", "bad"));
    assert!(c.insert_object("b", "o").start_resumable(None).await.unwrap().cancel().await.is_err());
}

#[tokio::test]
async fn the_builder_overrides_endpoint_project_signer_and_retry() {
    let http = Arc::new(ReplayHttp::new());
    let key_path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../signer/tests/data/gcs/test_service_account.not-a-test.json");
    let key = ServiceAccountKey::from_json(&std::fs::read_to_string(key_path).unwrap()).unwrap();
    let c = builder(&http)
        .await
        .endpoint(Url::parse("http://127.0.0.1:9023").unwrap())
        .project("other")
        .blob_signer(Arc::new(key))
        .retry(cloudkit_core::RetryConfig::disabled())
        .build()
        .unwrap();
    assert_eq!(c.project(), Some("other"));
    assert_eq!(c.endpoint().as_str(), "http://127.0.0.1:9023/");
    assert!(c.has_blob_signer());
    assert_eq!(c.pipeline().retry_config().max_attempts(), 1);
    assert!(!format!("{c:?}").contains("PRIVATE"), "{c:?}");

    http.push(Canned::status(200, r#"{"items":[]}"#));
    c.list_buckets().send().await.unwrap();
    let r = &http.requests()[0];
    assert!(r.url.as_str().starts_with("http://127.0.0.1:9023/storage/v1/b?"), "{}", r.url);
    assert!(has(&r.url, "project", "other"));

    let signed = c
        .signed_url(cloudkit_core::Method::GET, "b", Some("o"), Duration::from_secs(60), SignedUrlOptions::default())
        .await
        .unwrap();
    assert!(signed.url.as_str().starts_with("http://127.0.0.1:9023/b/o?"), "{}", signed.url);

    // the config's defaults: its project and no signer for anonymous credentials
    let d = client(&http).await;
    assert_eq!(d.project(), Some("proj"));
    assert!(!d.has_blob_signer());
    assert_eq!(d.pipeline().retry_config().max_attempts(), 3);
}

// ----- issue 15: data safety under faults -----

/// One scripted answer of [`Scripted`]: a status, headers and a body given part by part, where a
/// part may be a transport error (the connection breaking off mid-body) or a hang.
#[derive(Clone, Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    parts: Vec<Part>,
    /// Only for a request to this URL path (concurrent requests arrive in any order).
    path: Option<String>,
}

#[derive(Clone, Debug)]
enum Part {
    Data(Bytes),
    Break(TransportErrorKind),
    Hang,
}

impl Answer {
    fn new(status: u16) -> Self {
        Self { status, headers: Vec::new(), parts: Vec::new(), path: None }
    }

    fn for_path(mut self, path: &str) -> Self {
        self.path = Some(path.to_owned());
        self
    }

    fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }

    fn data(mut self, data: impl Into<Bytes>) -> Self {
        self.parts.push(Part::Data(data.into()));
        self
    }

    fn breaks(mut self, kind: TransportErrorKind) -> Self {
        self.parts.push(Part::Break(kind));
        self
    }

    fn hangs(mut self) -> Self {
        self.parts.push(Part::Hang);
        self
    }
}

/// An [`HttpSend`](cloudkit_core::HttpSend) answering from a script, with bodies that can break
/// off mid-way (what `ReplayHttp`'s whole bodies cannot show); records every request.
#[derive(Debug, Default)]
struct Scripted {
    answers: std::sync::Mutex<std::collections::VecDeque<Answer>>,
    requests: std::sync::Mutex<Vec<cloudkit_core::testing::RecordedRequest>>,
}

impl Scripted {
    fn push(&self, answer: Answer) {
        self.answers.lock().unwrap().push_back(answer);
    }

    fn requests(&self) -> Vec<cloudkit_core::testing::RecordedRequest> {
        self.requests.lock().unwrap().clone()
    }

    fn remaining(&self) -> usize {
        self.answers.lock().unwrap().len()
    }
}

impl cloudkit_core::HttpSend for Scripted {
    fn send<'a, 'f>(
        &'a self,
        request: cloudkit_core::HttpRequest,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<cloudkit_core::HttpResponse, cloudkit_core::TransportError>>
                + Send
                + 'f,
        >,
    >
    where
        'a: 'f,
        Self: 'f,
    {
        Box::pin(async move {
            let body = request.body.collect().await.unwrap();
            let path = request.url.path().to_owned();
            let recorded = cloudkit_core::testing::RecordedRequest {
                method: request.method,
                url: request.url,
                headers: request.headers,
                body,
            };
            self.requests.lock().unwrap().push(recorded);
            let answer = {
                let mut answers = self.answers.lock().unwrap();
                let index = answers.iter().position(|a| a.path.as_ref().is_none_or(|p| *p == path));
                index.and_then(|i| answers.remove(i))
            };
            let Some(answer) = answer else {
                return Err(cloudkit_core::TransportError::new(TransportErrorKind::Other, "nothing scripted"));
            };
            let mut headers = cloudkit_core::HeaderMap::new();
            for (k, v) in &answer.headers {
                headers.append(
                    cloudkit_core::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                    cloudkit_core::HeaderValue::from_str(v).unwrap(),
                );
            }
            let parts = futures::StreamExt::then(futures::stream::iter(answer.parts), |part| async move {
                match part {
                    Part::Data(d) => Ok(d),
                    Part::Break(kind) => Err(cloudkit_core::TransportError::new(kind, "connection reset")),
                    Part::Hang => futures::future::pending().await,
                }
            });
            Ok(cloudkit_core::HttpResponse {
                status: cloudkit_core::StatusCode::from_u16(answer.status).unwrap(),
                headers,
                body: cloudkit_core::ByteStream::new(parts),
            })
        })
    }
}

async fn scripted_builder(http: &Arc<Scripted>) -> ClientBuilder {
    let env = GcpEnv::from_pairs([("GOOGLE_CLOUD_PROJECT", "proj")]);
    let config = GcpConfig::loader().env(env).anonymous().load().await.unwrap();
    StorageClient::builder(&config).http(http.clone())
}

async fn scripted_client(http: &Arc<Scripted>) -> StorageClient {
    scripted_builder(http).await.build().unwrap()
}

fn test_data(len: usize) -> Bytes {
    (0..len).map(|i| (i * 7 % 251) as u8).collect::<Vec<u8>>().into()
}

fn content_range(r: &cloudkit_core::testing::RecordedRequest) -> Option<String> {
    r.headers.get("range").map(|v| v.to_str().unwrap().to_owned())
}

/// Issue 15, defect 2 (GCS part): the `url` crate drops `.` and `..` path segments, so
/// `objects.get` of `..` read the bucket's listing, `objects.delete` of `.` went to the listing
/// URL, and a bucket named `..` addressed another bucket. Such names are refused before anything
/// is sent; other names (`a/../b`, `%2e%2e`) are one encoded path segment.
#[tokio::test]
async fn object_and_bucket_names_never_leave_their_bucket() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let invalid = |e: GcsError| {
        assert_eq!(e.core().map(cloudkit_core::Error::kind), Some(cloudkit_core::ErrorKind::InvalidInput), "{e:?}");
    };
    for name in ["..", ".", ""] {
        invalid(c.get_object("b", name).send().await.unwrap_err());
        invalid(c.download_object("b", name).send().await.unwrap_err());
        invalid(c.delete_object("b", name).send().await.unwrap_err());
        invalid(c.patch_object("b", name).send().await.unwrap_err());
        invalid(c.rewrite_object("b", name, "b", "x").send().await.unwrap_err());
        invalid(c.rewrite_object("b", "x", "b", name).send().await.unwrap_err());
        invalid(c.rewrite_object(name, "x", "b", "x").send().await.unwrap_err());
        invalid(c.compose_object("b", name).source("x").send().await.unwrap_err());
        for kind in [UploadType::Media, UploadType::Multipart, UploadType::Resumable] {
            invalid(
                c.insert_object("b", name).upload_type(kind).send_bytes(Bytes::from_static(b"x")).await.unwrap_err(),
            );
            invalid(
                c.insert_object(name, "x").upload_type(kind).send_bytes(Bytes::from_static(b"x")).await.unwrap_err(),
            );
        }
        invalid(c.get_object(name, "x").send().await.unwrap_err());
        invalid(c.get_bucket(name).await.unwrap_err());
        invalid(c.delete_bucket(name).await.unwrap_err());
        invalid(c.patch_bucket(name).label("a", "b").send().await.unwrap_err());
        invalid(c.list_objects(name).send().await.unwrap_err());
        invalid(c.bucket("b").blob(name).download_as_bytes().await.unwrap_err());
    }
    assert!(http.requests().is_empty(), "nothing may be sent: {:?}", http.requests());

    // names with dots inside stay one segment of their bucket
    for (name, path) in [
        ("a/../b", "/storage/v1/b/b/o/a%2F..%2Fb"),
        ("../x", "/storage/v1/b/b/o/..%2Fx"),
        ("%2e%2e", "/storage/v1/b/b/o/%252e%252e"),
        ("...", "/storage/v1/b/b/o/..."),
    ] {
        http.push(Canned::status(200, object_json(name, 1, "AAAAAA==")));
        c.get_object("b", name).send().await.unwrap();
        http.push(Canned::status(200, "x"));
        c.download_object("b", name).send().await.unwrap();
        http.push(Canned::status(204, ""));
        c.delete_object("b", name).send().await.unwrap();
        let reqs = http.requests();
        for r in &reqs[reqs.len() - 3..] {
            assert_eq!(r.url.path(), path, "{name}");
        }
    }
    http.push(Canned::status(200, r#"{"done":true,"resource":{"name":"d"}}"#));
    c.rewrite_object("b", "../s", "b2", "a/../d").send().await.unwrap();
    assert_eq!(http.requests().last().unwrap().url.path(), "/storage/v1/b/b/o/..%2Fs/rewriteTo/b/b2/o/a%2F..%2Fd");
    http.push(Canned::status(200, object_json("../d", 1, crc32c_base64(b"x").as_str())));
    c.insert_object("b", "../d").upload_type(UploadType::Media).send_bytes(Bytes::from_static(b"x")).await.unwrap();
    let r = http.requests().last().unwrap().clone();
    assert_eq!(r.url.path(), "/upload/storage/v1/b/b/o");
    assert!(has(&r.url, "name", "../d"));
}

/// Issue 15, "resume": a download that breaks off mid-body used to fail (or, through the
/// facade, hand over a short body). It resumes from the last byte received with a ranged GET
/// pinned to the generation first read, and the whole-object CRC32C still verifies across it.
#[tokio::test(start_paused = true)]
async fn a_broken_download_resumes_from_the_last_byte_pinned_to_its_generation() {
    let data = test_data(100);
    let http = Arc::new(Scripted::default());
    let c = scripted_builder(&http)
        .await
        .retry(cloudkit_core::RetryConfig::standard().with_max_attempts(4))
        .build()
        .unwrap();
    let hash = format!("crc32c={},md5={}", crc32c_base64(&data), md5_base64(&data));
    http.push(
        Answer::new(200)
            .header("x-goog-generation", "7")
            .header("x-goog-hash", hash.clone())
            .header("content-length", "100")
            .data(data.slice(..30))
            .breaks(TransportErrorKind::Body),
    );
    http.push(
        Answer::new(206)
            .header("x-goog-generation", "7")
            .header("x-goog-hash", hash.clone())
            .header("content-range", "bytes 30-99/100")
            .data(data.slice(30..60))
            .breaks(TransportErrorKind::Timeout),
    );
    // a body that just ends early (a truncated response) is resumed too
    http.push(
        Answer::new(206)
            .header("x-goog-generation", "7")
            .header("content-range", "bytes 60-99/100")
            .data(data.slice(60..80)),
    );
    http.push(Answer::new(206).header("content-range", "bytes 80-99/100").data(data.slice(80..)));
    let got = c.download_object("b", "o").send().await.unwrap().bytes().await.unwrap();
    assert_eq!(got, data);
    let reqs = http.requests();
    assert_eq!(reqs.len(), 4);
    assert_eq!(content_range(&reqs[0]), None);
    assert!(!query(&reqs[0].url).iter().any(|(k, _)| k == "ifGenerationMatch"));
    let ranges: Vec<Option<String>> = reqs[1..].iter().map(content_range).collect();
    assert_eq!(ranges, [Some("bytes=30-99".into()), Some("bytes=60-99".into()), Some("bytes=80-99".into())]);
    for r in &reqs[1..] {
        assert!(has(&r.url, "ifGenerationMatch", "7") && has(&r.url, "alt", "media"), "{}", r.url);
        assert_eq!(r.url.path(), "/storage/v1/b/b/o/o");
    }

    // a ranged download resumes within its range; a pinned generation stays `generation=`
    http.push(
        Answer::new(206)
            .header("x-goog-generation", "7")
            .header("content-range", "bytes 10-59/100")
            .data(data.slice(10..25))
            .breaks(TransportErrorKind::Body),
    );
    http.push(
        Answer::new(206)
            .header("x-goog-generation", "7")
            .header("content-range", "bytes 25-59/100")
            .data(data.slice(25..60)),
    );
    let d = c.download_object("b", "o").generation(7).range(ByteRange::Inclusive(10, 59)).send().await.unwrap();
    assert_eq!(d.bytes().await.unwrap(), data.slice(10..60));
    let r = http.requests().last().unwrap().clone();
    assert_eq!(content_range(&r).as_deref(), Some("bytes=25-59"));
    assert!(has(&r.url, "generation", "7"), "{}", r.url);
    assert_eq!(http.remaining(), 0);

    // the resource handles read through the same body
    http.push(
        Answer::new(200)
            .header("x-goog-generation", "9")
            .header("content-length", "100")
            .data(data.slice(..50))
            .breaks(TransportErrorKind::Body),
    );
    http.push(
        Answer::new(206)
            .header("x-goog-generation", "9")
            .header("content-range", "bytes 50-99/100")
            .data(data.slice(50..)),
    );
    assert_eq!(c.bucket("b").blob("o").download_as_bytes().await.unwrap(), data);
}

/// Issue 15, "resume": an object replaced while a broken download is resumed must never be
/// spliced: a 412 on the pinned resume, another generation or another checksum in the answer (a
/// server that ignores preconditions) is `GcsError::ObjectChanged`.
#[tokio::test(start_paused = true)]
async fn a_changed_object_is_never_spliced_into_a_resumed_download() {
    let data = test_data(100);
    let http = Arc::new(Scripted::default());
    let c = scripted_client(&http).await;
    let first = || {
        Answer::new(200)
            .header("x-goog-generation", "7")
            .header("x-goog-hash", format!("crc32c={}", crc32c_base64(&data)))
            .header("content-length", "100")
            .data(data.slice(..40))
            .breaks(TransportErrorKind::Body)
    };
    let changed = |e: &GcsError| {
        assert!(matches!(e, GcsError::ObjectChanged(_)), "{e:?}");
        assert!(e.to_string().contains("changed"), "{e}");
    };

    http.push(first());
    http.push(Answer::new(412).data(r#"{"error":{"code":412,"errors":[{"reason":"conditionNotMet"}]}}"#));
    changed(&c.download_object("b", "o").send().await.unwrap().bytes().await.unwrap_err());
    assert_eq!(http.requests().len(), 2, "a 412 is not retried");

    http.push(first());
    http.push(
        Answer::new(206)
            .header("x-goog-generation", "8")
            .header("content-range", "bytes 40-99/100")
            .data(data.slice(40..)),
    );
    changed(&c.download_object("b", "o").send().await.unwrap().bytes().await.unwrap_err());

    http.push(first());
    http.push(
        Answer::new(206)
            .header("x-goog-hash", format!("crc32c={}", crc32c_base64(b"other")))
            .header("content-range", "bytes 40-99/100")
            .data(data.slice(40..)),
    );
    changed(&c.download_object("b", "o").send().await.unwrap().bytes().await.unwrap_err());

    // a deleted object cannot be resumed either
    http.push(first());
    http.push(Answer::new(404));
    changed(&c.download_object("b", "o").send().await.unwrap().bytes().await.unwrap_err());
    assert_eq!(http.remaining(), 0);

    // resumes are bounded by the retry budget (3 attempts by default)
    for start in 0..3 {
        http.push(
            Answer::new(206)
                .header("x-goog-generation", "7")
                .header("content-range", format!("bytes {start}-99/100"))
                .data(data.slice(start..start + 1))
                .breaks(TransportErrorKind::Body),
        );
    }
    let before = http.requests().len();
    let e = c.download_object("b", "o").range(ByteRange::From(0)).send().await.unwrap().bytes().await.unwrap_err();
    assert!(matches!(e, GcsError::Other(_)), "{e:?}");
    assert_eq!(http.requests().len() - before, 3);
    // an answer that does not start where the download stopped is not spliced either
    http.push(first());
    http.push(
        Answer::new(206).header("x-goog-generation", "7").header("content-range", "bytes 0-99/100").data(data.clone()),
    );
    let e = c.download_object("b", "o").send().await.unwrap().bytes().await.unwrap_err();
    assert!(e.to_string().contains("did not start at byte 40"), "{e}");
    assert_eq!(http.remaining(), 0);
}

/// Issue 15, "resume", servers that send no generation with the bytes (gcp-storage-emulator):
/// the generation is learnt from the metadata, whose checksum must still be the one first
/// read, and the whole-object checksum catches anything spliced.
#[tokio::test(start_paused = true)]
async fn without_a_generation_a_resume_checks_the_metadata_checksum() {
    let data = test_data(100);
    let crc = crc32c_base64(&data);
    let http = Arc::new(Scripted::default());
    let c = scripted_client(&http).await;
    let first = || {
        Answer::new(200)
            .header("x-goog-hash", format!("crc32c={crc}"))
            .header("content-length", "100")
            .data(data.slice(..40))
            .breaks(TransportErrorKind::Body)
    };
    let object = |crc: &str| {
        Answer::new(200).data(format!(r#"{{"name":"o","bucket":"b","generation":"5","size":"100","crc32c":"{crc}"}}"#))
    };

    http.push(first());
    http.push(object(&crc));
    http.push(Answer::new(206).header("content-range", "bytes 40-99/100").data(data.slice(40..)));
    assert_eq!(c.download_object("b", "o").send().await.unwrap().bytes().await.unwrap(), data);
    let reqs = http.requests();
    assert!(!has(&reqs[1].url, "alt", "media"), "metadata first: {}", reqs[1].url);
    assert!(has(&reqs[2].url, "ifGenerationMatch", "5") && has(&reqs[2].url, "alt", "media"));
    assert_eq!(content_range(&reqs[2]).as_deref(), Some("bytes=40-99"));

    // the metadata says another version: nothing more is read
    http.push(first());
    http.push(object(&crc32c_base64(b"other")));
    let e = c.download_object("b", "o").send().await.unwrap().bytes().await.unwrap_err();
    assert!(matches!(e, GcsError::ObjectChanged(_)), "{e:?}");
    assert_eq!(http.requests().len(), 5);

    // the server ignored the precondition and sent other bytes: the whole-object CRC32C catches it
    http.push(first());
    http.push(object(&crc));
    http.push(Answer::new(206).header("content-range", "bytes 40-99/100").data(vec![0u8; 60]));
    let e = c.download_object("b", "o").send().await.unwrap().bytes().await.unwrap_err();
    assert!(matches!(e, GcsError::ChecksumMismatch { .. }), "{e:?}");

    // nothing to recognise the version by (no generation, no checksum): not resumed
    http.push(
        Answer::new(206)
            .header("content-range", "bytes 0-99/100")
            .data(data.slice(..10))
            .breaks(TransportErrorKind::Body),
    );
    let before = http.requests().len();
    let e =
        c.download_object("b", "o").range(ByteRange::Inclusive(0, 99)).send().await.unwrap().bytes().await.unwrap_err();
    assert!(matches!(e, GcsError::Other(_)), "{e:?}");
    assert_eq!(http.requests().len(), before + 1);
    assert_eq!(http.remaining(), 0);
}

/// Issue 15, defect 8 (GCS part): whole-object downloads are verified on every path, a range
/// covering the whole object included.
#[tokio::test]
async fn downloads_covering_the_whole_object_are_verified() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let hash = format!("crc32c={}", crc32c_base64(b"hello world"));
    http.push(
        Canned::status(206, "hello w0rld")
            .with_header("content-range", "bytes 0-10/11")
            .with_header("x-goog-hash", &hash),
    );
    let e = c.download_object("b", "o").range(ByteRange::From(0)).send().await.unwrap().bytes().await.unwrap_err();
    assert!(matches!(e, GcsError::ChecksumMismatch { .. }), "{e:?}");
    http.push(Canned::status(200, "hello w0rld").with_header("x-goog-hash", &hash));
    let e = c.bucket("b").blob("o").download_as_text().await.unwrap_err();
    assert!(matches!(e, GcsError::ChecksumMismatch { .. }), "{e:?}");
    http.push(Canned::status(200, "hello w0rld").with_header("x-goog-hash", &hash));
    let mut sink = Vec::new();
    let e = c.bucket("b").blob("o").download_to_file(&mut sink).await.unwrap_err();
    assert!(matches!(e, GcsError::ChecksumMismatch { .. }), "{e:?}");
    // a gzip-stored object served decompressed: GCS's hashes are of the stored bytes
    http.push(
        Canned::status(200, "plain text")
            .with_header("x-goog-hash", &hash)
            .with_header("x-goog-stored-content-encoding", "gzip"),
    );
    assert_eq!(c.bucket("b").blob("o").download_as_text().await.unwrap(), "plain text");
}

/// Issue 15, defect 3 (GCS part): `download_to_filename` wrote to
/// `path.with_extension("cloudkit-partial-<pid>")`, so `a.csv` and `a.json` (or one path twice)
/// downloaded at once shared a temporary file, and a cancelled download left it behind. Each
/// download now has its own temporary file, renamed only when complete and verified, removed on
/// failure and on drop.
#[tokio::test(start_paused = true)]
async fn downloads_to_files_never_share_or_leave_temporary_files() {
    let dir = TempDir::new("gcs-dl").unwrap();
    let http = Arc::new(Scripted::default());
    let c = scripted_client(&http).await;
    let bucket = c.bucket("b");
    let (csv, json) = (test_data(300), Bytes::from(vec![b'j'; 300]));
    // the two bodies arrive interleaved, in pieces
    for (name, body) in [("a.csv", &csv), ("a.json", &json)] {
        http.push(
            Answer::new(200)
                .for_path(&format!("/storage/v1/b/b/o/{name}"))
                .header("x-goog-hash", format!("crc32c={}", crc32c_base64(body)))
                .header("content-length", "300")
                .data(body.slice(..100))
                .data(body.slice(100..200))
                .data(body.slice(200..)),
        );
    }
    let (blob_csv, blob_json) = (bucket.blob("a.csv"), bucket.blob("a.json"));
    let (a, b) = tokio::join!(
        blob_csv.download_to_filename(dir.join("a.csv")),
        blob_json.download_to_filename(dir.join("a.json"))
    );
    assert_eq!((a.unwrap(), b.unwrap()), (300, 300));
    assert_eq!(std::fs::read(dir.join("a.csv")).unwrap(), csv);
    assert_eq!(std::fs::read(dir.join("a.json")).unwrap(), json);
    assert_eq!(dir.names().unwrap(), ["a.csv", "a.json"]);

    // the same path twice at once: each download is whole, the last rename wins
    for _ in 0..2 {
        http.push(
            Answer::new(200)
                .header("x-goog-hash", format!("crc32c={}", crc32c_base64(&json)))
                .data(json.slice(..150))
                .data(json.slice(150..)),
        );
    }
    let target = dir.join("a.csv");
    let blob = bucket.blob("x");
    let (a, b) = tokio::join!(blob.download_to_filename(&target), blob.download_to_filename(&target));
    assert_eq!((a.unwrap(), b.unwrap()), (300, 300));
    assert_eq!(std::fs::read(&target).unwrap(), json);
    assert_eq!(dir.names().unwrap(), ["a.csv", "a.json"]);

    // a corrupt download fails, keeps the old content and leaves nothing behind
    http.push(Answer::new(200).header("x-goog-hash", format!("crc32c={}", crc32c_base64(&csv))).data(vec![0u8; 300]));
    let e = bucket.blob("x").download_to_filename(&target).await.unwrap_err();
    assert!(matches!(e, GcsError::ChecksumMismatch { .. }), "{e:?}");
    assert_eq!(std::fs::read(&target).unwrap(), json);
    assert_eq!(dir.names().unwrap(), ["a.csv", "a.json"]);

    // a cancelled download (the future dropped mid-body) removes its temporary file
    http.push(Answer::new(200).header("x-goog-generation", "3").data(csv.slice(..100)).hangs());
    let cancelled =
        tokio::time::timeout(Duration::from_secs(5), bucket.blob("x").download_to_filename(dir.join("new.bin"))).await;
    assert!(cancelled.is_err(), "the hanging download was cancelled by the timeout");
    assert_eq!(dir.names().unwrap(), ["a.csv", "a.json"]);
}

fn session_answer() -> Canned {
    Canned::status(200, "")
        .with_header("location", "https://storage.googleapis.com/upload/storage/v1/b/b/o?upload_id=U1")
}

/// Issue 15, defect 12: a session answering `308` without taking any bytes was sent the same
/// chunk again, forever. A few such answers in a row end the upload with a typed error.
#[tokio::test(start_paused = true)]
async fn a_session_that_takes_nothing_ends_the_upload() {
    const Q: usize = CHUNK_QUANTUM;
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let data: Bytes = vec![1u8; Q + 5].into();
    http.push(session_answer());
    for _ in 0..10 {
        http.push(Canned::status(308, "")); // holds nothing, over and over
    }
    let e = c.insert_object("b", "o").upload_type(UploadType::Resumable).send_bytes(data.clone()).await.unwrap_err();
    assert!(matches!(e, GcsError::UploadStalled(_)), "{e:?}");
    assert!(e.to_string().contains("without taking any"), "{e}");
    assert_eq!(http.requests().len(), 1 + 3);
    assert_eq!(http.remaining(), 7);

    // a final "bytes */total" that never completes is bounded too
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(session_answer());
    http.push(Canned::status(308, "").with_header("range", format!("bytes=0-{}", Q + 4).as_str()));
    for _ in 0..10 {
        http.push(Canned::status(308, "").with_header("range", format!("bytes=0-{}", Q + 4).as_str()));
    }
    let e = c.insert_object("b", "o").upload_type(UploadType::Resumable).send_bytes(data).await.unwrap_err();
    assert!(matches!(e, GcsError::UploadStalled(_)), "{e:?}");
    let reqs = http.requests();
    assert_eq!(reqs.len(), 2 + 3);
    assert!(reqs[2..].iter().all(|r| r.headers["content-range"] == format!("bytes */{}", Q + 5).as_str()));

    // progress resets the count: 2 empty answers, progress, 2 empty answers, done
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let data: Bytes = vec![2u8; 100].into();
    http.push(session_answer());
    http.push(Canned::status(308, ""));
    http.push(Canned::status(308, ""));
    http.push(Canned::status(308, "").with_header("range", "bytes=0-49"));
    http.push(Canned::status(308, "").with_header("range", "bytes=0-49"));
    http.push(Canned::status(308, "").with_header("range", "bytes=0-49"));
    http.push(Canned::status(200, object_json("o", 100, &crc32c_base64(&data))));
    c.insert_object("b", "o").upload_type(UploadType::Resumable).send_bytes(data).await.unwrap();
    assert_eq!(http.remaining(), 0);
}

/// Issue 15, defect 12: upload answers are read with a cap (a `308` or an object resource is a
/// few KiB), not up to the pipeline's general limit.
#[tokio::test(start_paused = true)]
async fn upload_answers_are_capped() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(session_answer());
    http.push(Canned::status(200, vec![b' '; 2 * 1024 * 1024]));
    let e = c
        .insert_object("b", "o")
        .upload_type(UploadType::Resumable)
        .send_bytes(Bytes::from_static(b"x"))
        .await
        .unwrap_err();
    assert_eq!(e.core().map(cloudkit_core::Error::kind), Some(cloudkit_core::ErrorKind::Decode), "{e:?}");
    assert!(e.to_string().contains("larger than"), "{e}");
}

/// Issue 15, defect 8 (GCS part): an upload found complete by a status query (the answer to the
/// last chunk was lost) must be the bytes sent. Before, a user's `query_status` took a completed
/// session on trust, an MD5-only object was not compared and the size was never checked.
#[tokio::test(start_paused = true)]
async fn an_upload_found_complete_by_a_status_query_is_verified() {
    const Q: usize = CHUNK_QUANTUM;
    let data = test_data(Q + 10);
    let other = test_data(Q + 11).slice(1..);
    let object_md5 = |size: usize, md5: &str| {
        format!(r#"{{"name":"o","bucket":"b","generation":"1","size":"{size}","md5Hash":"{md5}"}}"#)
    };

    // the last chunk's answer is lost; the query says complete, but with other bytes (MD5 only)
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(session_answer());
    http.push(Canned::error(TransportErrorKind::Request));
    http.push(Canned::status(200, object_md5(data.len(), &md5_base64(&other))));
    let e = c.insert_object("b", "o").upload_type(UploadType::Resumable).send_bytes(data.clone()).await.unwrap_err();
    assert!(matches!(&e, GcsError::ChecksumMismatch { algorithm: "MD5", .. }), "{e:?}");

    // the same, with the right MD5: a success
    http.push(session_answer());
    http.push(Canned::error(TransportErrorKind::Request));
    http.push(Canned::status(200, object_md5(data.len(), &md5_base64(&data))));
    c.insert_object("b", "o").upload_type(UploadType::Resumable).send_bytes(data.clone()).await.unwrap();

    // complete with another size and no checksums at all
    http.push(session_answer());
    http.push(Canned::error(TransportErrorKind::Request));
    http.push(Canned::status(200, r#"{"name":"o","bucket":"b","size":"5"}"#));
    let e = c.insert_object("b", "o").upload_type(UploadType::Resumable).send_bytes(data.clone()).await.unwrap_err();
    assert!(e.to_string().contains("completed with 5 bytes"), "{e}");

    // a caller driving the chunks: query_status itself checks a completed session
    let c = builder(&http)
        .await
        .upload_settings(UploadSettings { max_resumes: 0, ..UploadSettings::default() })
        .build()
        .unwrap();
    http.push(session_answer());
    http.push(Canned::error(TransportErrorKind::Request));
    http.push(Canned::status(200, object_json("o", data.len() as u64, &crc32c_base64(&other))));
    let mut upload = c.insert_object("b", "o").start_resumable(Some(data.len() as u64)).await.unwrap();
    assert!(upload.upload_chunk(data.clone(), true).await.is_err());
    let e = upload.query_status().await.unwrap_err();
    assert!(matches!(&e, GcsError::ChecksumMismatch { algorithm: "CRC32C", .. }), "{e:?}");
    // and a resend of the chunk from an earlier offset is not counted twice
    http.push(session_answer());
    http.push(Canned::status(308, "").with_header("range", format!("bytes=0-{}", Q - 1).as_str()));
    http.push(Canned::status(200, object_json("o", data.len() as u64, &crc32c_base64(&data))));
    let mut upload = c.insert_object("b", "o").start_resumable(Some(data.len() as u64)).await.unwrap();
    assert!(upload.upload_chunk(data.clone(), true).await.unwrap().is_some());
    assert_eq!(http.remaining(), 0);

    // a session that completes before the data ends is an error, not "done"
    http.push(session_answer());
    http.push(Canned::status(200, object_json("o", Q as u64, &crc32c_base64(&data.slice(..Q)))));
    let chunks = futures::stream::iter([Ok(data.slice(..Q)), Ok(data.slice(Q..))]);
    let e = c.insert_object("b", "o").chunk_size(Q).send_stream(chunks, Some(Q as u64)).await.unwrap_err();
    assert!(e.to_string().contains("before the end of the data"), "{e}");
}

/// Issue 15, defect 19 (GCS part): a create-only insert (`ifGenerationMatch=0`) resent after a
/// 5xx that hid a successful write met its own object and failed with a false 412. The live
/// object is compared with what was sent; only a different object keeps the 412.
#[tokio::test(start_paused = true)]
async fn a_resent_create_only_insert_recognises_its_own_write() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let data = Bytes::from_static(b"created once");
    let written = format!(
        r#"{{"name":"o","bucket":"b","generation":"11","size":"{}","crc32c":"{}","md5Hash":"{}","contentType":"text/plain","metadata":{{"k":"v"}}}}"#,
        data.len(),
        crc32c_base64(&data),
        md5_base64(&data)
    );
    let precondition =
        || json_error(412, "conditionNotMet", "At least one of the pre-conditions you specified did not hold.");
    for kind in [UploadType::Multipart, UploadType::Media] {
        http.push(json_error(503, "backendError", "the write went through, the answer did not"));
        http.push(precondition());
        http.push(Canned::status(200, written.clone()));
        let o = c
            .insert_object("b", "o")
            .upload_type(kind)
            .content_type("text/plain")
            .metadata("k", "v")
            .if_generation_match(0)
            .send_bytes(data.clone())
            .await
            .unwrap();
        assert_eq!(o.generation, Some(11));
        let reqs = http.requests();
        let last = &reqs[reqs.len() - 1];
        assert_eq!((last.method.as_str(), last.url.path()), ("GET", "/storage/v1/b/b/o/o"));
    }

    // someone else's object: the 412 stands
    http.push(json_error(503, "backendError", "x"));
    http.push(precondition());
    http.push(Canned::status(200, object_json("o", data.len() as u64, &crc32c_base64(b"someone else's"))));
    let e = c.insert_object("b", "o").if_generation_match(0).send_bytes(data.clone()).await.unwrap_err();
    assert!(matches!(e, GcsError::PreconditionFailed(_)), "{e:?}");
    // a 412 on the first try is the object being there already: no read-back
    let before = http.requests().len();
    http.push(precondition());
    let e = c.insert_object("b", "o").if_generation_match(0).send_bytes(data.clone()).await.unwrap_err();
    assert!(matches!(e, GcsError::PreconditionFailed(_)), "{e:?}");
    assert_eq!(http.requests().len(), before + 1);

    // rewrite and compose cannot compare what they wrote: not resent after a 5xx
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(json_error(503, "backendError", "x"));
    http.push(precondition());
    let e = c.rewrite_object("b", "s", "b", "d").if_generation_match(0).send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503), "{e:?}");
    assert_eq!(http.remaining(), 1);
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(json_error(503, "backendError", "x"));
    http.push(precondition());
    let e = c.compose_object("b", "d").source("s").if_generation_match(0).send().await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503), "{e:?}");
    assert_eq!(http.remaining(), 1);
}

/// Issue 15, defect 17: a client built with Google credentials and a plain-http endpoint would
/// send bearer tokens in the clear; only the `STORAGE_EMULATOR_HOST` emulator (or anonymous
/// access) may be plain http.
#[tokio::test]
async fn credentials_never_go_to_a_plain_http_endpoint() {
    let key_path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../signer/tests/data/gcs/test_service_account.not-a-test.json");
    let key = std::fs::read_to_string(key_path).unwrap();
    let http = Arc::new(ReplayHttp::new());
    let config = GcpConfig::loader()
        .env(GcpEnv::from_pairs([("X", "y")]))
        .credentials_json(key.clone())
        .http(http.clone())
        .load()
        .await
        .unwrap();
    let e = StorageClient::builder(&config)
        .endpoint(Url::parse("http://storage.example.com").unwrap())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("over https only"), "{e}");
    assert!(
        StorageClient::builder(&config).endpoint(Url::parse("https://storage.example.com").unwrap()).build().is_ok()
    );

    // the emulator named by STORAGE_EMULATOR_HOST may be plain http, with credentials too
    let env = GcpEnv::from_pairs([("STORAGE_EMULATOR_HOST", "127.0.0.1:9023")]);
    let config = GcpConfig::loader().env(env).credentials_json(key).http(http.clone()).load().await.unwrap();
    let c = StorageClient::new(&config).unwrap();
    http.push(Canned::status(200, r#"{"name":"b"}"#));
    c.get_bucket("b").await.unwrap();
    assert!(http.requests()[0].headers.contains_key("authorization"));
    // but not another plain-http host
    let e = StorageClient::builder(&config).endpoint(Url::parse("http://127.0.0.1:9024").unwrap()).build().unwrap_err();
    assert!(e.to_string().contains("over https only"), "{e}");
}
