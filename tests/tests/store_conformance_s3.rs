//! The ObjectStore conformance suite on S3: moto (the no-auth server) and s3s-fs (which validates
//! every SigV4 signature), plus `s3://` store URLs and the S3 session entry points.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use cloudkit::aws::{AwsConfig, Env, ProviderConfig};
use cloudkit::core::{HttpClientConfig, ReqwestSend};
use cloudkit::store::{ObjectKey, ObjectStore, ObjectStoreExt, S3Store, conformance};
use cloudkit_tests::testbed::{self, Emulator};

async fn config(endpoint: String, key: &str, secret: &str) -> AwsConfig {
    let http = ReqwestSend::shared(&HttpClientConfig::default()).unwrap();
    // A fake environment: nothing is read from the real HOME or process environment.
    let env = Env::from_pairs([
        ("AWS_ENDPOINT_URL", endpoint.as_str()),
        ("AWS_ACCESS_KEY_ID", key),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_REGION", "us-east-1"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("HOME", "/home/cloudkit-conformance"),
    ]);
    AwsConfig::loader().provider_config(ProviderConfig::with_http(http).env(env)).load().await.unwrap()
}

fn bucket_name(label: &str) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
    format!("ck-conf-{label}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

async fn store_on(config: &AwsConfig, label: &str) -> S3Store {
    let client = cloudkit::s3::Client::new(config).unwrap();
    let bucket = bucket_name(label);
    client.create_bucket(&bucket).send().await.unwrap();
    S3Store::new(client, bucket)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_s3_on_moto() {
    let config = config(testbed::endpoint(Emulator::Moto), "test", "test").await;
    let store = store_on(&config, "moto").await;
    conformance::run_all(Arc::new(store), &ObjectKey::parse("conformance").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_s3_on_s3s_fs() {
    let key = testbed::var("CLOUDKIT_TEST_S3S_ACCESS_KEY_ID");
    let secret = testbed::var("CLOUDKIT_TEST_S3S_SECRET_ACCESS_KEY");
    let config = config(testbed::endpoint(Emulator::S3s), &key, &secret).await;
    let store = store_on(&config, "s3s").await;
    conformance::run_all(Arc::new(store), &ObjectKey::parse("conformance").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_urls_and_sessions_reach_s3() {
    let config = config(testbed::endpoint(Emulator::Moto), "test", "test").await;
    let session = cloudkit::session::AwsSession::from_config(config);
    let store = session.object_store(bucket_name("session")).unwrap();
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
