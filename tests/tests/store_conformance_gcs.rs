//! The ObjectStore conformance suite on the GCS backend against gcp-storage-emulator.
//!
//! Emulator gaps, declared rather than hidden:
//! - generation preconditions are ignored by the emulator, so the store built for it declares
//!   `conditional_put: false` / `copy_create_only: false` (`GcsStore::new` does this for
//!   `STORAGE_EMULATOR_HOST` endpoints) and the suite checks those calls answer `NotSupported`;
//! - for the same reason the suite's `conditional_put` check (whose first create-only write must
//!   succeed) and `conditional_get` check (if-match / if-none-match reads) are left out of the run
//!   below; this file checks that conditional writes answer `NotSupported` instead of silently
//!   overwriting, and the backend's generation preconditions are unit-tested on canned GCS
//!   responses in crates/cloudkit/src/store/gcs.rs.
//!
//! Everything else runs as for every backend, including signed URLs (signed with the public
//! conformance test key; the emulator serves the URL without checking the signature).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use cloudkit::store::{GcsStore, ObjectKey, ObjectStore, ObjectStoreExt, conformance};
use cloudkit_gcp_storage::{ServiceAccountKey, StorageClient};
use cloudkit_tests::gcs::{self, storage_client as emulator_client};
use cloudkit_tests::testbed::{self, Emulator};

fn test_key() -> ServiceAccountKey {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/signer/tests/data/gcs/test_service_account.not-a-test.json");
    let json = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{path} is missing ({e}); it ships in crates/signer/tests/data/gcs/"));
    ServiceAccountKey::from_json(&json).expect("test key")
}

async fn bucket(client: &StorageClient) -> String {
    gcs::create_bucket(client, "ck-conf").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_gcs_emulator() {
    let client = gcs::storage_client_builder().await.blob_signer(Arc::new(test_key())).build().unwrap();
    let bucket = bucket(&client).await;
    let store = GcsStore::new(client, &bucket);
    let caps = store.capabilities();
    assert!(!caps.conditional_put && !caps.copy_create_only, "emulator gaps are declared");
    assert!(caps.signed_urls && caps.metadata);

    let s: &dyn ObjectStore = &store;
    let base = ObjectKey::parse("conformance").unwrap();
    let k = |rest: &str| base.join(rest).unwrap();
    conformance::put_get_head_delete(s, &k("basic")).await;
    conformance::awkward_keys(s, &k("awkward")).await;
    conformance::ranges(s, &k("ranges")).await;
    // The emulator ignores preconditions, so the store declares no conditional writes for it:
    // conditional_put then checks that they are refused with NotSupported and nothing is written.
    conformance::conditional_put(s, &k("cond-put")).await;
    // Conditional reads are checked against the generation the store reads back.
    conformance::conditional_get(s, &k("cond-get")).await;
    conformance::metadata(s, &k("metadata")).await;
    conformance::listing(s, &k("list")).await;
    conformance::list_with_delimiter(s, &k("delim")).await;
    conformance::copy_and_rename(s, &k("copy")).await;
    conformance::onto_itself(s, &k("self")).await;
    conformance::bulk_delete(s, &k("bulk")).await;
    conformance::streaming_upload(s, &k("upload")).await;
    conformance::errors(s, &k("errors")).await;
    conformance::signed_urls(s, &k("signed")).await;
    assert!(s.list_all(&base).await.unwrap().is_empty(), "the suite left objects behind");
}

// Issue 15, defect 6: object names that are not valid keys (`dir/`, `a//b`) are skipped, on every
// listing and level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_skip_names_that_are_not_keys() {
    let client = emulator_client().await;
    let bucket = bucket(&client).await;
    for raw in ["names/dir/", "names/a//b", "names/dir/x//y"] {
        client.insert_object(&bucket, raw).send_bytes(cloudkit_core::Bytes::from_static(b"raw")).await.unwrap();
    }
    let store = GcsStore::new(client, &bucket);
    conformance::unrepresentable_names_are_skipped(&store, &ObjectKey::parse("names").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gs_urls_use_the_emulator_from_storage_emulator_host() {
    // from_url reads the process environment; the test bed's endpoint is passed to a child
    // process instead of mutating this process's environment (set_var is unsafe).
    let host = testbed::endpoint(Emulator::Gcs);
    let client = emulator_client().await;
    let bucket = bucket(&client).await;
    let exe = std::env::current_exe().unwrap();
    // libtest names a test by its module path without the crate: `store_conformance_gcs::gs_url_child`.
    let child = format!("{}::gs_url_child", module_path!().split_once("::").map_or(module_path!(), |(_, m)| m));
    let out = std::process::Command::new(exe)
        .args(["--exact", child.as_str(), "--nocapture", "--include-ignored"])
        .env("STORAGE_EMULATOR_HOST", &host)
        .env("CLOUDKIT_GS_URL_TEST_BUCKET", &bucket)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("1 passed"), "{text}");
    let got = client.download_object(&bucket, "via-url/prefix/hello.txt").send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&got[..], b"from a gs:// URL");
}

/// Run by `gs_urls_use_the_emulator_from_storage_emulator_host` in a child process.
#[tokio::test]
#[ignore = "run as a child process of gs_urls_use_the_emulator_from_storage_emulator_host"]
async fn gs_url_child() {
    let bucket = std::env::var("CLOUDKIT_GS_URL_TEST_BUCKET").expect("run by the parent test");
    let (store, prefix) = cloudkit::store::from_url(&format!("gs://{bucket}/via-url/prefix")).await.unwrap();
    assert_eq!(store.backend(), "gcs");
    assert_eq!(prefix.as_str(), "via-url/prefix");
    store.put(&prefix.join("hello.txt").unwrap(), "from a gs:// URL".into()).await.unwrap();
    // no key in the environment: signed URLs are declared unsupported
    assert!(!store.capabilities().signed_urls);
}
