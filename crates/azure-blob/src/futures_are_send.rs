//! Every public future of this crate is `Send` (docs/ARCHITECTURE.md, "Time, progress,
//! futures"): users spawn them on multi-threaded runtimes. Checked at compile time on futures
//! that are created and never polled, each one twice: alone, and awaited inside another future
//! (as in `tokio::spawn(async move { … .await })`, where borrowed arguments get higher-ranked
//! lifetimes).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use cloudkit_core::testing::ReplayHttp;
use cloudkit_core::{ByteStream, Bytes, Url};
use cloudkit_paginate::PaginationConfig;
use futures::StreamExt;

use crate::auth::SasPermissions;
use crate::*;

use cloudkit_core::assert_send;
use cloudkit_core::testing::is_send;

#[tokio::test]
async fn every_public_future_is_send() {
    let http = Arc::new(ReplayHttp::new());
    let service = crate::tests::replay_client(&http).await;
    let container = service.container_client("c");
    let blob = container.blob_client("b");
    let path = Path::new("/nonexistent/cloudkit-azure-send-check");
    let metadata = BTreeMap::new();
    let conditions = Conditions::default();
    let source: Url = "http://127.0.0.1:1/acct/c/src".parse().unwrap();
    let now = SystemTime::now();

    // Service.
    assert_send!(
        service.list_containers().send(),
        service.get_service_properties(),
        service.get_user_delegation_key(now, now),
    );
    is_send(&service.list_containers().into_pages(PaginationConfig::default()));
    is_send(&service.list_containers().into_items(PaginationConfig::default()));

    // Containers.
    assert_send!(
        container.create().send(),
        container.delete(),
        container.get_properties(),
        container.exists(),
        container.set_metadata(&metadata),
        container.get_metadata(),
        container.list_blobs().send(),
        container.list_blobs_hierarchical("/").send(),
    );
    is_send(&container.list_blobs().into_pages(PaginationConfig::default()));
    is_send(&container.list_blobs().into_items(PaginationConfig::default()));

    // Blobs.
    assert_send!(
        blob.put("x").send(),
        blob.get().send(),
        GetBlobResponse {
            properties: BlobProperties::default(),
            range: 0..1,
            body: ByteStream::from_bytes(Bytes::from_static(b"x"))
        }
        .bytes(),
        blob.get_properties(),
        blob.get_properties_with(&conditions),
        blob.exists(),
        blob.set_metadata(&metadata, &conditions),
        blob.delete(DeleteSnapshots::Include, &conditions),
        blob.snapshot(),
        blob.start_copy_from_url(&source, &conditions),
        blob.copy_from_url(&source, &conditions),
        blob.wait_until_copy_complete().wait(),
        blob.put_block(b"id", Bytes::from_static(b"x")),
        blob.put_block_list(vec![b"id".to_vec()]).send(),
        blob.get_block_list(BlockListType::All),
        blob.user_delegation_sas_url(SasPermissions::none().read(), now),
    );

    // Transfers.
    let mut writer: Vec<u8> = Vec::new();
    assert_send!(
        blob.upload(futures::stream::empty().boxed(), UploadOptions::default()),
        blob.upload_bytes(Bytes::from_static(b"x"), UploadOptions::default()),
        blob.upload_reader(tokio::io::empty(), UploadOptions::default()),
        blob.upload_file(path, UploadOptions::default()),
        blob.download_to_bytes(DownloadOptions::default()),
        blob.download_to_file(path, DownloadOptions::default()),
    );
    assert_send!(blob.download_to_writer(&mut writer, DownloadOptions::default()));

    // Resources.
    let mut handle = Container::new(container.clone());
    assert_send!(handle.create_if_not_exists(), handle.delete());
    assert_send!(handle.reload());
    let mut handle = Blob::new(blob.clone());
    assert_send!(
        handle.exists(),
        handle.upload_bytes("x", UploadOptions::default()),
        handle.upload_file(path, UploadOptions::default()),
        handle.upload_reader(tokio::io::empty(), UploadOptions::default()),
        handle.upload_stream(futures::stream::empty().boxed(), UploadOptions::default()),
        handle.download_to_bytes(DownloadOptions::default()),
        handle.download_to_file(path, DownloadOptions::default()),
        handle.delete(),
    );
    assert_send!(handle.download_to_writer(&mut writer, DownloadOptions::default()));
    assert_send!(handle.reload());
}
