//! Request-shape and parse tests on canned responses (from the GCS JSON API reference), for what
//! the emulator cannot show: preconditions (412/304), multi-page listings, rewrite tokens,
//! interrupted resumable chunks, throttling reasons, corrupt downloads.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use cloudkit_core::testing::{Canned, ReplayHttp};
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
    let names: Vec<String> = c
        .list_objects("b")
        .prefix("p/")
        .delimiter("/")
        .start_offset("a")
        .end_offset("z")
        .into_items(PaginationConfig::default().page_size(2))
        .map_ok(|o| o.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["a", "b", "c"]);
    let reqs = http.requests();
    assert_eq!(reqs.len(), 3);
    for r in &reqs {
        assert!(has(&r.url, "prefix", "p/") && has(&r.url, "delimiter", "/"));
        assert!(has(&r.url, "startOffset", "a") && has(&r.url, "endOffset", "z") && has(&r.url, "maxResults", "2"));
    }
    assert!(!query(&reqs[0].url).iter().any(|(k, _)| k == "pageToken"));
    assert!(has(&reqs[1].url, "pageToken", "t1") && has(&reqs[2].url, "pageToken", "t2"));

    // a repeated token is an error, not an endless loop
    http.push(Canned::status(200, r#"{"items":[{"name":"a"}],"nextPageToken":"same"}"#));
    http.push(Canned::status(200, r#"{"items":[{"name":"b"}],"nextPageToken":"same"}"#));
    let r: Result<Vec<_>, _> = c.list_objects("b").into_items(PaginationConfig::default()).try_collect().await;
    assert!(r.is_err());
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
    assert!(e.to_string().contains("crc32c mismatch"), "{e}");
    match &e {
        GcsError::ChecksumMismatch { operation, algorithm, expected, actual } => {
            assert_eq!((*operation, *algorithm), ("objects.get", "crc32c"));
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
