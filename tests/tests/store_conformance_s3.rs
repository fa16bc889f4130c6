//! The ObjectStore conformance suite on S3: moto (the no-auth server) and s3s-fs (which validates
//! every SigV4 signature), plus `s3://` store URLs and the S3 session entry points.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use cloudkit::aws::AwsConfig;
use cloudkit::store::{ObjectKey, ObjectStore, ObjectStoreExt, S3Store, conformance};
use cloudkit_tests::{aws, unique_name};

// The configurations come from a fake environment: nothing is read from the real HOME or process
// environment (see `cloudkit_tests::aws::aws_config`).

fn bucket_name(label: &str) -> String {
    unique_name(&format!("ck-conf-{label}"))
}

async fn store_on(config: &AwsConfig, label: &str) -> S3Store {
    let client = cloudkit::s3::S3Client::new(config).unwrap();
    let bucket = bucket_name(label);
    client.create_bucket(&bucket).send().await.unwrap();
    S3Store::new(client, bucket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_s3_on_moto() {
    let config = aws::moto_config().await;
    let store = store_on(&config, "moto").await;
    conformance::run_all(Arc::new(store), &ObjectKey::parse("conformance").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_s3_on_s3s_fs() {
    let config = aws::s3s_config().await;
    let store = store_on(&config, "s3s").await;
    conformance::run_all(Arc::new(store), &ObjectKey::parse("conformance").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_s3_without_conditional_writes() {
    // For S3-compatible stores that ignore If-None-Match / If-Match on writes: the store is told so,
    // and the suite checks that conditional writes are refused with NotSupported, never silently
    // turned into overwrites.
    let config = aws::moto_config().await;
    let store = store_on(&config, "nocond").await.with_conditional_put(false);
    conformance::run_all(Arc::new(store), &ObjectKey::parse("conformance").unwrap()).await;
}

// Issue 15, defect 6: keys that are not valid neutral keys (`dir/`, `a//b`) are skipped, on every
// listing and level, without ending a delimiter walk in a loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_skip_keys_that_are_not_neutral_keys() {
    let config = aws::moto_config().await;
    let store = store_on(&config, "names").await;
    for raw in ["names/dir/", "names/a//b", "names/dir/x//y"] {
        store.client().put_object(store.bucket(), raw).body("raw").send().await.unwrap();
    }
    conformance::unrepresentable_names_are_skipped(&store, &ObjectKey::parse("names").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_urls_and_sessions_reach_s3() {
    let config = aws::moto_config().await;
    let session = cloudkit::session::AwsSession::from_config(config);
    let store = session.store(bucket_name("session")).unwrap();
    store.client().create_bucket(store.bucket()).send().await.unwrap();
    let key = ObjectKey::parse("via/session.txt").unwrap();
    store.put(&key, "hello".into()).await.unwrap();
    assert_eq!(&store.get(&key).await.unwrap().bytes().await.unwrap()[..], b"hello");
    store.delete(&key).await.unwrap();

    let parsed = cloudkit::store::parse_url("s3://some-bucket/a/b").unwrap();
    assert_eq!((parsed.bucket.as_str(), parsed.prefix.as_str()), ("some-bucket", "a/b"));
    let bad = cloudkit::store::from_url("s3://").await;
    assert!(bad.is_err());
    let _: &dyn ObjectStore = &store;
}
