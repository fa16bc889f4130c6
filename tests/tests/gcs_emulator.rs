//! cloudkit-gcp-storage against gcp-storage-emulator (the GCS JSON API), reached the way users
//! reach it: `STORAGE_EMULATOR_HOST` → anonymous credentials and the emulator endpoint.
//!
//! Emulator gaps (gcp-storage-emulator 2026.7.19), covered by canned-response unit tests in
//! crates/gcp-storage/src/tests.rs instead:
//! - preconditions (`ifGenerationMatch` & co.) are ignored, so 412/304 never happen;
//! - `objects.list` / `buckets.list` ignore `maxResults`/`pageToken` (one page), `objects.list`
//!   ignores `startOffset`/`endOffset`, and `buckets.list` ignores `prefix`;
//! - `Range: bytes=-N` (suffix) is not understood (the whole object comes back);
//! - error responses carry no JSON body for most statuses (the parser falls back to the status);
//! - signatures of V4 signed URLs are not checked (the vectors in crates/signer prove them).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cloudkit_core::{HttpClientConfig, HttpRequest, HttpSend, Method, ReqwestSend};
use cloudkit_gcp_storage::{
    ByteRange, GcsError, ObjectMetadata, ResumableUpload, SignedUrlOptions, StorageClient, UploadStatus, UploadType,
    crc32c_base64,
};
use cloudkit_paginate::PaginationConfig;
use cloudkit_tests::testbed::{self, Emulator};
use cloudkit_tests::{gcs, unique_name};
use futures::{StreamExt, TryStreamExt};

async fn client() -> StorageClient {
    gcs::storage_client().await
}

async fn new_bucket(client: &StorageClient) -> String {
    gcs::create_bucket(client, "ck-gcs").await
}

#[tokio::test]
async fn bucket_lifecycle_and_typed_errors() {
    let client = client().await;
    let name = unique_name("ck-bkt");
    let created =
        client.insert_bucket(&name).location("EU").storage_class("NEARLINE").label("team", "a").send().await.unwrap();
    assert_eq!(created.name, name);

    // a taken name is a typed Conflict
    let dup = client.insert_bucket(&name).send().await.unwrap_err();
    assert!(matches!(dup, GcsError::Conflict(_)), "{dup:?}");

    let got = client.get_bucket(&name).await.unwrap();
    assert_eq!(got.name, name);

    // list (paginator) with a prefix finds it (the emulator ignores `prefix` on buckets.list, so
    // other buckets may come back too; the request shape is unit-tested)
    let names: Vec<String> = client
        .list_buckets()
        .prefix(&name)
        .into_items(PaginationConfig::default())
        .map_ok(|b| b.name)
        .try_collect()
        .await
        .unwrap();
    assert!(names.contains(&name), "{names:?}");

    let patched = client.patch_bucket(&name).label("env", "test").send().await.unwrap();
    assert_eq!(patched.labels.get("env").map(String::as_str), Some("test"));

    // a bucket with objects cannot be deleted
    client.insert_object(&name, "x").send_bytes(Bytes::from_static(b"x")).await.unwrap();
    let e = client.delete_bucket(&name).await.unwrap_err();
    assert!(matches!(e, GcsError::Conflict(_)), "{e:?}");
    client.delete_object(&name, "x").send().await.unwrap();
    client.delete_bucket(&name).await.unwrap();

    let e = client.get_bucket(&name).await.unwrap_err();
    assert!(matches!(e, GcsError::NotFound(_)), "{e:?}");
    assert!(e.is_not_found());
    assert_eq!(e.code(), Some("notFound"));
}

#[tokio::test]
async fn media_and_multipart_uploads_download_with_metadata_and_checksums() {
    let client = client().await;
    let bucket = new_bucket(&client).await;

    let media = client
        .insert_object(&bucket, "dir/media.bin")
        .upload_type(UploadType::Media)
        .content_type("application/x-test")
        .send_bytes(Bytes::from_static(b"media body"))
        .await
        .unwrap();
    assert_eq!(media.size, Some(10));
    assert_eq!(media.crc32c.as_deref(), Some(crc32c_base64(b"media body").as_str()));

    let multi = client
        .insert_object(&bucket, "dir/sub/multi part.txt")
        .upload_type(UploadType::Multipart)
        .content_type("text/plain")
        .metadata("origin", "cloudkit")
        .send_bytes(Bytes::from_static(b"hello multipart"))
        .await
        .unwrap();
    assert_eq!(multi.name, "dir/sub/multi part.txt");
    assert_eq!(multi.metadata.get("origin").map(String::as_str), Some("cloudkit"));

    let meta = client.get_object(&bucket, "dir/sub/multi part.txt").send().await.unwrap();
    assert_eq!(meta.content_type.as_deref(), Some("text/plain"));
    assert_eq!(meta.size, Some(15));
    assert_eq!(meta.md5_hash.as_deref(), Some(cloudkit_gcp_storage::md5_base64(b"hello multipart").as_str()));
    // timestamps decode to SystemTime
    let created = meta.time_created.expect("timeCreated");
    assert!(meta.updated.is_some_and(|u| u >= created), "{meta:?}");
    assert!(created <= std::time::SystemTime::now() + Duration::from_secs(300), "{created:?}");

    // whole download: CRC32C from x-goog-hash verified
    let d = client.download_object(&bucket, "dir/sub/multi part.txt").send().await.unwrap();
    assert_eq!(d.status.as_u16(), 200);
    assert_eq!(&d.bytes().await.unwrap()[..], b"hello multipart");

    // ranges
    let d = client
        .download_object(&bucket, "dir/sub/multi part.txt")
        .range(ByteRange::Inclusive(6, 14))
        .send()
        .await
        .unwrap();
    assert_eq!(d.status.as_u16(), 206);
    assert_eq!(d.content_range.as_deref(), Some("bytes 6-14/15"));
    assert_eq!(d.object_size, Some(15));
    assert_eq!(&d.bytes().await.unwrap()[..], b"multipart");
    let d = client.download_object(&bucket, "dir/sub/multi part.txt").range(ByteRange::From(10)).send().await.unwrap();
    assert_eq!(&d.bytes().await.unwrap()[..], b"ipart");

    // by generation
    let generation = meta.generation.expect("generation");
    let d = client.download_object(&bucket, "dir/sub/multi part.txt").generation(generation).send().await.unwrap();
    assert_eq!(&d.bytes().await.unwrap()[..], b"hello multipart");

    // patch metadata
    let patched = client
        .patch_object(&bucket, "dir/sub/multi part.txt")
        .metadata(ObjectMetadata::new().content_type("text/markdown").metadata("k2", "v2"))
        .send()
        .await
        .unwrap();
    assert_eq!(patched.content_type.as_deref(), Some("text/markdown"));
    assert_eq!(patched.metadata.get("k2").map(String::as_str), Some("v2"));

    // missing object: typed NotFound on get, download and delete
    for e in [
        client.get_object(&bucket, "nope").send().await.unwrap_err(),
        client.download_object(&bucket, "nope").send().await.unwrap_err(),
        client.delete_object(&bucket, "nope").send().await.unwrap_err(),
    ] {
        assert!(matches!(e, GcsError::NotFound(_)), "{e:?}");
    }
}

#[tokio::test]
async fn list_with_prefix_delimiter_and_paginator() {
    let client = client().await;
    let bucket = new_bucket(&client).await;
    for name in ["a/1.txt", "a/2.txt", "a/b/3.txt", "c.txt", "d/4.txt"] {
        client.insert_object(&bucket, name).send_bytes(Bytes::from(name.to_owned())).await.unwrap();
    }
    let page = client.list_objects(&bucket).delimiter("/").send().await.unwrap();
    let names: Vec<_> = page.items.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["c.txt"]);
    assert_eq!(page.prefixes, ["a/", "d/"]);

    let page = client.list_objects(&bucket).prefix("a/").delimiter("/").send().await.unwrap();
    let names: Vec<_> = page.items.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, ["a/1.txt", "a/2.txt"]);
    assert_eq!(page.prefixes, ["a/b/"]);

    // the paginator follows nextPageToken until it is absent (the emulator sends one page)
    let all: Vec<String> = client
        .list_objects(&bucket)
        .into_items(PaginationConfig::default().page_size(2))
        .map_ok(|o| o.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all, ["a/1.txt", "a/2.txt", "a/b/3.txt", "c.txt", "d/4.txt"]);
    let limited: Vec<String> = client
        .list_objects(&bucket)
        .into_items(PaginationConfig::default().max_items(3))
        .map_ok(|o| o.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(limited.len(), 3);
}

#[tokio::test]
async fn rewrite_copy_compose_and_delete() {
    let client = client().await;
    let bucket = new_bucket(&client).await;
    let other = new_bucket(&client).await;
    client
        .insert_object(&bucket, "p1")
        .content_type("text/plain")
        .send_bytes(Bytes::from_static(b"Hello, "))
        .await
        .unwrap();
    client.insert_object(&bucket, "p2").send_bytes(Bytes::from_static(b"World!")).await.unwrap();

    let composed = client
        .compose_object(&bucket, "whole")
        .source("p1")
        .source("p2")
        .metadata(ObjectMetadata::new().content_type("text/plain"))
        .send()
        .await
        .unwrap();
    assert_eq!(composed.size, Some(13));
    let text = client.bucket(&bucket).blob("whole").download_as_text().await.unwrap();
    assert_eq!(text, "Hello, World!");

    let copied = client.rewrite_object(&bucket, "whole", &other, "copied/whole").send().await.unwrap();
    assert_eq!(copied.bucket, other);
    assert_eq!(copied.crc32c.as_deref(), Some(crc32c_base64(b"Hello, World!").as_str()));
    let again = client.rewrite_object(&other, "copied/whole", &bucket, "copy2").send().await.unwrap();
    assert_eq!(again.size, Some(13));

    client.delete_object(&bucket, "p1").send().await.unwrap();
    assert!(!client.bucket(&bucket).blob("p1").exists().await.unwrap());
    let e = client.compose_object(&bucket, "x").source("p1").send().await.unwrap_err();
    assert!(matches!(e, GcsError::NotFound(_)), "{e:?}");
}

/// A deterministic pseudo-random byte pattern, generated chunk by chunk (never all in memory).
fn pattern_stream(total: usize, piece: usize) -> impl futures::Stream<Item = std::io::Result<Bytes>> + Send + Unpin {
    let pieces = total.div_ceil(piece);
    futures::stream::iter((0..pieces).map(move |i| {
        let len = piece.min(total - i * piece);
        let mut v = vec![0u8; len];
        let mut x = (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for b in &mut v {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
        Ok(Bytes::from(v))
    }))
}

async fn crc_of_stream(s: impl futures::Stream<Item = std::io::Result<Bytes>> + Unpin) -> String {
    let mut s = s;
    let mut crc = 0u32;
    while let Some(b) = s.next().await {
        crc = crc32c_append(crc, &b.unwrap());
    }
    base64_crc(crc)
}

fn crc32c_append(crc: u32, data: &[u8]) -> u32 {
    // bitwise CRC32C (Castagnoli), independent of the client's implementation
    let mut c = !crc;
    for &b in data {
        c ^= u32::from(b);
        for _ in 0..8 {
            c = if c & 1 != 0 { (c >> 1) ^ 0x82F6_3B78 } else { c >> 1 };
        }
    }
    !c
}

fn base64_crc(crc: u32) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = crc.to_be_bytes();
    let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
    let m = u32::from(b[3]) << 16;
    [
        T[(n >> 18) as usize & 63],
        T[(n >> 12) as usize & 63],
        T[(n >> 6) as usize & 63],
        T[n as usize & 63],
        T[(m >> 18) as usize & 63],
        T[(m >> 12) as usize & 63],
        b'=',
        b'=',
    ]
    .iter()
    .map(|&c| c as char)
    .collect()
}

#[tokio::test]
async fn resumable_upload_of_64_mib_in_256_kib_multiple_chunks() {
    let client = client().await;
    let bucket = new_bucket(&client).await;
    const TOTAL: usize = 64 * 1024 * 1024 + 123_457; // not a chunk multiple: a short last chunk
    let expected_crc = crc_of_stream(pattern_stream(TOTAL, 1_000_003)).await;
    let object = client
        .insert_object(&bucket, "big/64mib.bin")
        .chunk_size(8 * 1024 * 1024)
        .send_stream(pattern_stream(TOTAL, 1_000_003), None) // size unknown up front: streaming
        .await
        .unwrap();
    assert_eq!(object.size, Some(TOTAL as u64));
    assert_eq!(object.crc32c.as_deref(), Some(expected_crc.as_str()));

    // stream it back (verified against x-goog-hash) and compare
    let d = client.download_object(&bucket, "big/64mib.bin").send().await.unwrap();
    let body = d.body.map(|r| r.map_err(std::io::Error::other));
    assert_eq!(crc_of_stream(body).await, expected_crc);
    client.delete_object(&bucket, "big/64mib.bin").send().await.unwrap();
}

#[tokio::test]
async fn interrupted_resumable_upload_resumes_from_the_session_status() {
    let client = client().await;
    let bucket = new_bucket(&client).await;
    const CHUNK: usize = 256 * 1024;
    let data: Vec<u8> = (0..(3 * CHUNK + 1000)).map(|i| (i % 251) as u8).collect();
    let data = Bytes::from(data);

    // first "process": starts the session, sends two chunks, then dies
    let mut upload = client
        .insert_object(&bucket, "resumed.bin")
        .content_type("application/octet-stream")
        .start_resumable(Some(data.len() as u64))
        .await
        .unwrap();
    upload.set_chunk_size(CHUNK);
    assert!(upload.upload_chunk(data.slice(0..CHUNK), false).await.unwrap().is_none());
    assert!(upload.upload_chunk(data.slice(CHUNK..2 * CHUNK), false).await.unwrap().is_none());
    let session = upload.session_url().clone();
    drop(upload);

    // second "process": asks the session where it stands and continues from there
    let mut resumed = ResumableUpload::resume(&client, session, Some(data.len() as u64)).await.unwrap();
    assert_eq!(resumed.offset(), 2 * CHUNK as u64);
    match resumed.query_status().await.unwrap() {
        UploadStatus::Incomplete { persisted } => assert_eq!(persisted, 2 * CHUNK as u64),
        other => panic!("{other:?}"),
    }
    let rest = data.slice(resumed.offset() as usize..);
    let object = resumed.upload_stream(futures::stream::iter([Ok(rest)])).await.unwrap();
    assert_eq!(object.size, Some(data.len() as u64));
    let back = client.download_object(&bucket, "resumed.bin").send().await.unwrap().bytes().await.unwrap();
    assert_eq!(back, data);
}

#[tokio::test]
async fn file_uploads_and_python_shaped_handles() {
    let client = client().await;
    let bucket_name = new_bucket(&client).await;
    let bucket = client.bucket(&bucket_name);
    assert!(bucket.exists().await.unwrap());
    let mut blob = bucket.blob("hello.txt");
    blob.upload_from_string("Hello, World!").await.unwrap();
    assert_eq!(blob.properties().and_then(|p| p.content_type.as_deref()), Some("text/plain"));
    assert_eq!(blob.download_as_text().await.unwrap(), "Hello, World!");
    assert_eq!(&blob.download_as_bytes().await.unwrap()[..], b"Hello, World!");
    assert!(blob.exists().await.unwrap());
    blob.reload().await.unwrap();
    assert_eq!(blob.size(), Some(13));

    let dir = std::env::temp_dir().join(unique_name("ck-gcs-files"));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("src.bin");
    let content: Vec<u8> = (0..700_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&src, &content).unwrap();

    // by path (multipart: small), and from an AsyncRead (resumable, 256 KiB chunks)
    let mut f1 = bucket.blob("files/by-path.bin");
    f1.upload_from_filename(&src).await.unwrap();
    let mut f2 = bucket.blob("files/by-reader.bin");
    f2.set_chunk_size(256 * 1024);
    f2.upload_from_file(tokio::fs::File::open(&src).await.unwrap()).await.unwrap();
    for b in [&f1, &f2] {
        let dst = dir.join(format!("{}.out", b.name().replace('/', "_")));
        assert_eq!(b.download_to_filename(&dst).await.unwrap(), content.len() as u64);
        assert_eq!(std::fs::read(&dst).unwrap(), content);
    }
    let mut sink = Vec::new();
    assert_eq!(f2.download_to_file(&mut sink).await.unwrap(), content.len() as u64);
    assert_eq!(sink, content);

    let names: Vec<String> = bucket.list_blobs(Some("files/")).map_ok(|o| o.name).try_collect().await.unwrap();
    assert_eq!(names, ["files/by-path.bin", "files/by-reader.bin"]);

    blob.delete().await.unwrap();
    assert!(!blob.exists().await.unwrap());
    let e = blob.reload().await.unwrap_err();
    assert!(e.is_not_found());
    std::fs::remove_dir_all(&dir).ok();
}

#[tokio::test]
async fn signed_get_url_against_the_emulator() {
    // The emulator serves path-style `/<bucket>/<object>` GETs without checking signatures: this
    // proves the URL's shape and endpoint; crates/signer's conformance vectors prove the signature.
    let key_path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/signer/tests/data/gcs/test_service_account.not-a-test.json");
    let key_json = std::fs::read_to_string(key_path)
        .unwrap_or_else(|e| panic!("{key_path} is missing ({e}); it ships in crates/signer/tests/data/gcs/"));
    let key = cloudkit_gcp_storage::ServiceAccountKey::from_json(&key_json).unwrap();
    let client = gcs::storage_client_builder().await.blob_signer(Arc::new(key)).build().unwrap();
    let bucket = new_bucket(&client).await;
    client.insert_object(&bucket, "signed/hello.txt").send_bytes(Bytes::from_static(b"signed hi")).await.unwrap();
    let url = client
        .bucket(&bucket)
        .blob("signed/hello.txt")
        .generate_signed_url(Duration::from_secs(600), Method::GET)
        .await
        .unwrap();
    assert!(url.as_str().starts_with(&testbed::endpoint(Emulator::Gcs)), "{url}");
    assert!(url.query().unwrap().contains("X-Goog-Signature="));
    let http = ReqwestSend::new(&HttpClientConfig::default()).unwrap();
    let response = http.send(HttpRequest::new(Method::GET, url)).await.unwrap();
    assert_eq!(response.status.as_u16(), 200);
    assert_eq!(&response.body.collect().await.unwrap()[..], b"signed hi");

    // expiry over 7 days is refused before anything is signed
    let e = client
        .signed_url(Method::GET, &bucket, Some("x"), Duration::from_secs(8 * 24 * 3600), SignedUrlOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, GcsError::Signing(_)), "{e:?}");
}

// ----- issue 15: data safety under faults -----

fn pattern(len: usize, seed: u32) -> Bytes {
    Bytes::from(cloudkit_tests::XorShift32::new(seed * 2 + 1).bytes(len))
}

/// Issue 15, defect 2 (GCS part): `.` and `..` object names were dropped from the URL by the
/// `url` crate (`objects.delete` of `..` addressed the bucket's object collection); they are
/// refused before anything is sent. Names with percent-encoded dots are ordinary names: encoded
/// into one path segment, they stay in their bucket.
#[tokio::test]
async fn dot_segment_names_are_refused_and_encoded_dots_stay_in_their_bucket() {
    let client = client().await;
    let (first, second) = (new_bucket(&client).await, new_bucket(&client).await);
    client.insert_object(&first, "keep.txt").send_bytes(Bytes::from_static(b"keep")).await.unwrap();
    let invalid = |e: GcsError| {
        assert_eq!(e.core().map(cloudkit_core::Error::kind), Some(cloudkit_core::ErrorKind::InvalidInput), "{e:?}");
    };
    for name in ["..", "."] {
        invalid(client.delete_object(&first, name).send().await.unwrap_err());
        invalid(client.get_object(&first, name).send().await.unwrap_err());
        invalid(client.download_object(&first, name).send().await.unwrap_err());
        invalid(client.insert_object(&first, name).send_bytes(Bytes::from_static(b"x")).await.unwrap_err());
        invalid(client.rewrite_object(&first, "keep.txt", &second, name).send().await.unwrap_err());
        invalid(client.bucket(name).blob("keep.txt").download_as_bytes().await.unwrap_err());
    }
    // the bucket is untouched
    assert_eq!(&client.download_object(&first, "keep.txt").send().await.unwrap().bytes().await.unwrap()[..], b"keep");

    // `%2e%2e/<second>/x` is a name in the first bucket, never an object of the second
    let name = format!("%2e%2e/{second}/x");
    let stored = client.insert_object(&first, &name).send_bytes(Bytes::from_static(b"encoded")).await.unwrap();
    assert_eq!((stored.name.as_str(), stored.bucket.as_str()), (name.as_str(), first.as_str()));
    let back = client.download_object(&first, &name).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&back[..], b"encoded");
    let in_second: Vec<String> = client
        .list_objects(&second)
        .into_items(PaginationConfig::default())
        .map_ok(|o| o.name)
        .try_collect()
        .await
        .unwrap();
    assert!(in_second.is_empty(), "{in_second:?}");
    assert!(client.get_object(&second, "x").send().await.unwrap_err().is_not_found());
}

/// Issue 15, defect 3 (GCS part): `a.csv` and `a.json` (or one path twice) downloaded at once
/// shared the temporary file `a.cloudkit-partial-<pid>` and came out corrupt. Every download to a
/// file has its own temporary file now, and none is left behind.
#[tokio::test]
async fn concurrent_downloads_to_files_never_mix() {
    let client = client().await;
    let bucket = client.bucket(new_bucket(&client).await);
    let (csv, json) = (pattern(3 * 1024 * 1024 + 17, 1), pattern(2 * 1024 * 1024 + 5, 2));
    bucket.blob("a.csv").upload_from_string(csv.clone()).await.unwrap();
    bucket.blob("a.json").upload_from_string(json.clone()).await.unwrap();
    let dir = std::env::temp_dir().join(unique_name("ck-gcs-dl"));
    std::fs::create_dir_all(&dir).unwrap();
    let names = |dir: &std::path::Path| {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    };

    let (blob_csv, blob_json) = (bucket.blob("a.csv"), bucket.blob("a.json"));
    let (a, b, c) = tokio::join!(
        blob_csv.download_to_filename(dir.join("a.csv")),
        blob_json.download_to_filename(dir.join("a.json")),
        blob_json.download_to_filename(dir.join("a.json")),
    );
    assert_eq!((a.unwrap(), b.unwrap(), c.unwrap()), (csv.len() as u64, json.len() as u64, json.len() as u64));
    assert_eq!(std::fs::read(dir.join("a.csv")).unwrap(), csv);
    assert_eq!(std::fs::read(dir.join("a.json")).unwrap(), json);
    assert_eq!(names(&dir), ["a.csv", "a.json"]);

    // a failed download keeps the old file and leaves nothing behind
    let e = bucket.blob("missing").download_to_filename(dir.join("a.csv")).await.unwrap_err();
    assert!(e.is_not_found(), "{e:?}");
    assert_eq!(std::fs::read(dir.join("a.csv")).unwrap(), csv);
    assert_eq!(names(&dir), ["a.csv", "a.json"]);
    std::fs::remove_dir_all(&dir).ok();
}

/// Issue 15, "resume": a whole-object download cut off mid-body (through a proxy that closes the
/// connection) resumes from the last byte with a ranged GET and arrives whole and CRC32C-checked,
/// through the client's stream and the resource handles.
#[tokio::test]
async fn a_download_cut_off_mid_body_resumes_from_the_last_byte() {
    let direct = client().await;
    let bucket = new_bucket(&direct).await;
    let data = pattern(5 * 1024 * 1024 + 3, 3);
    direct.insert_object(&bucket, "cut.bin").send_bytes(data.clone()).await.unwrap();

    let proxy = gcs::CuttingProxy::start(gcs::Cut { cuts: 2, keep: 1024 * 1024 + 7, pause: None }).await;
    let client = proxy.client().await;
    let got = client.download_object(&bucket, "cut.bin").send().await.unwrap().bytes().await.unwrap();
    assert_eq!(cloudkit_tests::sha256_hex(&got), cloudkit_tests::sha256_hex(&data));
    let dir = std::env::temp_dir().join(unique_name("ck-gcs-cut"));
    std::fs::create_dir_all(&dir).unwrap();
    let target = dir.join("cut.bin");
    assert_eq!(client.bucket(&bucket).blob("cut.bin").download_to_filename(&target).await.unwrap(), data.len() as u64);
    assert_eq!(std::fs::read(&target).unwrap(), data);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left");
    std::fs::remove_dir_all(&dir).ok();

    let requests = proxy.requests();
    let resumed: Vec<&String> = requests.iter().filter(|r| r.contains("alt=media") && r.contains("[range:")).collect();
    assert_eq!(resumed.len(), 2, "{requests:#?}");
    for r in resumed {
        assert!(r.contains(&format!("bytes={}-{}", 1024 * 1024 + 7, data.len() - 1)), "{r}");
        assert!(r.contains("ifgenerationmatch="), "pinned to the generation first read: {r}");
    }
}

/// Issue 15, "resume": if the object is replaced while a cut-off download waits to resume, the
/// download fails with `ObjectChanged` instead of splicing the new object's bytes onto the old.
#[tokio::test]
async fn a_replaced_object_is_never_spliced_into_a_resumed_download() {
    let direct = client().await;
    let bucket = new_bucket(&direct).await;
    let (old, new) = (pattern(2 * 1024 * 1024, 4), pattern(2 * 1024 * 1024, 5));
    direct.insert_object(&bucket, "swap.bin").send_bytes(old).await.unwrap();

    let (reached_tx, mut reached) = tokio::sync::mpsc::channel(1);
    let resume = Arc::new(tokio::sync::Notify::new());
    let cut = gcs::Cut { cuts: 1, keep: 512 * 1024, pause: Some((reached_tx, resume.clone())) };
    let proxy = gcs::CuttingProxy::start(cut).await;
    let client = proxy.client().await;
    let (b, name) = (bucket.clone(), "swap.bin");
    let download = tokio::spawn(async move { client.download_object(&b, name).send().await?.bytes().await });
    reached.recv().await.expect("the download was cut");
    direct.insert_object(&bucket, "swap.bin").send_bytes(new).await.unwrap();
    resume.notify_one();
    let e = match download.await.unwrap() {
        Ok(got) => panic!("a download of {} bytes came back: spliced from two versions", got.len()),
        Err(e) => e,
    };
    assert!(matches!(e, GcsError::ObjectChanged(_)), "{e:?}");
}

/// Issue 15, defect 17: with credentials, only the emulator named by `STORAGE_EMULATOR_HOST` may
/// be reached over plain http; naming the same emulator as a plain endpoint is refused before any
/// token is sent.
#[tokio::test]
async fn credentials_go_over_plain_http_only_to_the_named_emulator() {
    let key_path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/signer/tests/data/gcs/test_service_account.not-a-test.json");
    let key = std::fs::read_to_string(key_path).unwrap();
    let host = testbed::endpoint(Emulator::Gcs);
    let env = cloudkit_cred_chain::gcp::GcpEnv::from_pairs([("STORAGE_EMULATOR_HOST", host.as_str())]);
    let config =
        cloudkit_cred_chain::gcp::GcpConfig::loader().env(env).credentials_json(key.clone()).load().await.unwrap();
    let client = StorageClient::new(&config).unwrap();
    let bucket = new_bucket(&client).await;
    client.insert_object(&bucket, "x").send_bytes(Bytes::from_static(b"x")).await.unwrap();

    let e = cloudkit_cred_chain::gcp::GcpConfig::loader()
        .env(cloudkit_cred_chain::gcp::GcpEnv::from_pairs([("X", "y")]))
        .credentials_json(key)
        .storage_endpoint(cloudkit_core::Url::parse(&host).unwrap())
        .load()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("over https only"), "{e}");
    let anonymous = gcs::storage_client_builder().await.endpoint(cloudkit_core::Url::parse(&host).unwrap()).build();
    assert!(anonymous.is_ok(), "anonymous access may use any plain-http endpoint");
}
