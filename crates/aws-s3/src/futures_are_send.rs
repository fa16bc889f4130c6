//! Every public future of this crate is `Send` (docs/ARCHITECTURE.md, "Time, progress,
//! futures"): users spawn them on multi-threaded runtimes. Checked at compile time on futures
//! that are created and never polled, each one twice: alone, and awaited inside another future
//! (as in `tokio::spawn(async move { … .await })`, where borrowed arguments get higher-ranked
//! lifetimes).

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cloudkit_core::testing::ReplayHttp;
use cloudkit_core::{ByteStream, Bytes, Method};
use cloudkit_paginate::PaginationConfig;

use crate::*;

use cloudkit_core::assert_send;

#[tokio::test]
async fn every_public_future_is_send() {
    let http = Arc::new(ReplayHttp::new());
    let s3 = crate::tests::custom_client(&http).await;
    let path = Path::new("/nonexistent/cloudkit-s3-send-check");
    let tags = [Tag::new("t", "v")];

    // Buckets.
    assert_send!(
        s3.list_buckets().send(),
        s3.create_bucket("b").send(),
        s3.delete_bucket("b"),
        s3.head_bucket("b"),
        s3.get_bucket_location("b"),
    );

    // Objects.
    assert_send!(
        s3.put_object("b", "k").body("x").send(),
        s3.get_object("b", "k").send(),
        s3.head_object("b", "k").send(),
        s3.delete_object("b", "k").send(),
        s3.delete_objects("b").key("k").send(),
        s3.copy_object("b", "k").copy_source("b", "src").send(),
        s3.get_object_tagging("b", "k"),
        s3.put_object_tagging("b", "k", &tags),
        collect_body(ByteStream::from_bytes(Bytes::from_static(b"x"))),
        async { s3.get_object("b", "k").send().await?.collect().await },
    );

    // Multipart.
    assert_send!(
        s3.create_multipart_upload("b", "k").send(),
        s3.upload_part("b", "k", "id", 1).body("x").send(),
        s3.upload_part_copy("b", "k", "id", 1).copy_source("b", "src").send(),
        s3.complete_multipart_upload("b", "k", "id").send(),
        s3.abort_multipart_upload("b", "k", "id").send(),
    );

    // Listing: one page, and the streams (Send themselves, and so is every poll of them).
    assert_send!(
        s3.list_objects_v2("b").send(),
        s3.list_multipart_uploads("b").send(),
        s3.list_parts("b", "k", "id").send(),
    );
    let mut pages = s3.list_objects_v2("b").into_pages(PaginationConfig::default());
    let mut items = s3.list_objects_v2("b").into_items(PaginationConfig::default());
    let mut objects = s3.list_objects_v2("b").into_objects(PaginationConfig::default());
    let mut uploads = s3.list_multipart_uploads("b").into_pages(PaginationConfig::default());
    let mut upload_items = s3.list_multipart_uploads("b").into_items(PaginationConfig::default());
    let mut parts = s3.list_parts("b", "k", "id").into_pages(PaginationConfig::default());
    let mut part_items = s3.list_parts("b", "k", "id").into_items(PaginationConfig::default());
    let mut bucket_pages = s3.list_buckets().into_pages(PaginationConfig::default());
    let mut buckets = s3.list_buckets().into_items(PaginationConfig::default());
    {
        use futures::TryStreamExt;
        assert_send!(
            pages.try_next(),
            items.try_next(),
            objects.try_next(),
            uploads.try_next(),
            upload_items.try_next(),
            parts.try_next(),
            part_items.try_next(),
            bucket_pages.try_next(),
            buckets.try_next(),
        );
    }

    // Presigning and waiters.
    assert_send!(
        s3.presign_get_object("b", "k", Duration::from_secs(60)).presign(),
        s3.presign_put_object("b", "k", Duration::from_secs(60)).presign(),
        s3.wait_until_bucket_exists("b").wait(),
        s3.wait_until_bucket_not_exists("b").wait(),
        s3.wait_until_object_exists("b", "k").wait(),
        s3.wait_until_object_not_exists("b", "k").wait(),
    );

    // Managed transfers: every upload source and every download destination.
    let transfers = s3.transfer_manager();
    let mut writer: Vec<u8> = Vec::new();
    let mut sink = tokio::io::sink();
    assert_send!(
        transfers.upload_file(path, "b", "k").send(),
        transfers.upload_bytes("b", "k", Bytes::from_static(b"x")).send(),
        transfers.upload_reader("b", "k", tokio::io::empty()).send(),
        transfers.download("b", "k").to_bytes(),
        transfers.download("b", "k").to_file(path),
        transfers.download("b", "k").to_writer(&mut writer),
        transfers.download("b", "k").version_id("v").to_writer(&mut sink),
        transfers.download_file("b", "k", path),
        s3.upload_file(path, "b", "k").send(),
        s3.download_file("b", "k", path),
    );
    // What users write (issue 14: `to_writer` inside `tokio::spawn` once failed to compile with
    // "implementation of FnOnce is not general enough"); the closure is never called.
    let download = transfers.download("b", "k");
    let spawn = move || {
        tokio::spawn(async move {
            let mut w: Vec<u8> = Vec::new();
            download.to_writer(&mut w).await
        })
    };
    drop(spawn);

    // The resource handles.
    let resource = S3Resource::new(s3.clone());
    assert_send!(resource.buckets());
    let bucket = s3.bucket("b");
    let mut object = bucket.object("k");
    assert_send!(
        bucket.delete(),
        bucket.exists(),
        bucket.download_file("k", path),
        bucket.upload_file(path, "k").send(),
        object.get_bytes(),
        object.exists(),
        object.presigned_url(Method::GET, Duration::from_secs(60)),
        object.download_file(path),
        object.upload_file(path).send(),
        object.wait_until_exists().wait(),
    );
    assert_send!(object.reload());
    assert!(http.requests().is_empty(), "nothing was polled, so nothing was sent");
}
