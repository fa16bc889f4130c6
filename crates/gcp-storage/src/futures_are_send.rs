//! Every public future and stream of the crate is `Send` (docs/ARCHITECTURE.md, "Time,
//! progress, futures": users spawn them on tokio). Checked at compile time: the futures are
//! created, never polled.

use std::time::Duration;

use bytes::Bytes;
use cloudkit_core::{Method, Url};
use cloudkit_paginate::PaginationConfig;
use cloudkit_signer::gcp::PostPolicyRequest;

use crate::{ByteRange, ResumableUpload, SignedUrlOptions, StorageClient};

use cloudkit_core::assert_send;
use cloudkit_core::testing::is_send;

type ChunkStream = futures::stream::Iter<std::vec::IntoIter<std::io::Result<Bytes>>>;

fn chunks() -> ChunkStream {
    futures::stream::iter(vec![Ok(Bytes::from_static(b"x"))])
}

/// Creates one future (or stream) of every public async operation and checks it is `Send`.
#[allow(clippy::too_many_lines)]
async fn every_public_future(
    client: StorageClient,
    mut upload: ResumableUpload,
    policy: PostPolicyRequest,
    file: tokio::fs::File,
) {
    // buckets
    assert_send!(client.insert_bucket("b").send());
    assert_send!(client.get_bucket("b"));
    assert_send!(client.delete_bucket("b"));
    assert_send!(client.patch_bucket("b").label("k", "v").send());
    assert_send!(client.list_buckets().send());
    is_send(&client.list_buckets().into_pages(PaginationConfig::default()));
    is_send(&client.list_buckets().into_items(PaginationConfig::default()));

    // objects
    assert_send!(client.list_objects("b").send());
    is_send(&client.list_objects("b").into_pages(PaginationConfig::default()));
    is_send(&client.list_objects("b").into_items(PaginationConfig::default()));
    assert_send!(client.get_object("b", "o").send());
    assert_send!(client.delete_object("b", "o").send());
    assert_send!(client.patch_object("b", "o").send());
    assert_send!(client.rewrite_object("b", "o", "b2", "o2").send());
    assert_send!(client.compose_object("b", "o").source("p").send());
    assert_send!(client.download_object("b", "o").range(ByteRange::From(1)).send());
    if let Ok(download) = client.download_object("b", "o").send().await {
        assert_send!(download.bytes());
    }

    // uploads
    assert_send!(client.insert_object("b", "o").send_bytes(Bytes::from_static(b"x")));
    assert_send!(client.insert_object("b", "o").send_file("f"));
    assert_send!(client.insert_object("b", "o").send_stream(chunks(), None));
    assert_send!(client.insert_object("b", "o").start_resumable(None));
    assert_send!(ResumableUpload::resume(&client, Url::parse("http://x/").unwrap(), None));
    assert_send!(upload.query_status());
    assert_send!(upload.upload_chunk(Bytes::new(), true));
    assert_send!(upload.upload_stream(chunks()));
    assert_send!(upload.cancel());

    // signing
    assert_send!(client.signed_url(Method::GET, "b", Some("o"), Duration::from_secs(1), SignedUrlOptions::default()));
    assert_send!(client.post_policy(&policy));

    // resource handles
    let mut bucket = client.bucket("b");
    assert_send!(bucket.exists());
    assert_send!(bucket.delete());
    is_send(&bucket.list_blobs(None));
    assert_send!(bucket.reload());
    assert_send!(bucket.create(None));
    let mut blob = client.bucket("b").blob("o");
    assert_send!(blob.download_as_bytes());
    assert_send!(blob.download_as_text());
    let mut sink = Vec::new();
    assert_send!(blob.download_to_file(&mut sink));
    assert_send!(blob.download_to_filename("f"));
    assert_send!(blob.exists());
    assert_send!(blob.delete());
    assert_send!(blob.generate_signed_url(Duration::from_secs(1), Method::GET));
    assert_send!(blob.upload_from_string("x"));
    assert_send!(blob.upload_from_file(file));
    assert_send!(blob.upload_from_filename("f"));
    assert_send!(blob.reload());
}

#[test]
fn every_public_future_is_send() {
    // Referencing the checks compiles them; nothing runs.
    let _ = every_public_future;
}
