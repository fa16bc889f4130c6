//! A user's unit tests, written against the `cloudkit` facade alone (this package depends on no
//! other cloudkit crate): every type they name is reachable as `cloudkit::…`, and canned HTTP
//! responses and store mocks come through the facade's `mock` feature.

use std::sync::Arc;
use std::time::Duration;

use cloudkit::aws::{AwsConfigError, Credentials};
use cloudkit::paginate::PaginationConfig;
use cloudkit::s3::ListEntry;
use cloudkit::session::{AwsSession, Session};
use cloudkit::store::{GetResult, MockObjectStore, ObjectKey, ObjectStore, ObjectStoreExt};
use cloudkit::testing::{Canned, ReplayHttp};
use cloudkit::waiter::WaiterConfig;
use cloudkit::{RetryConfig, TimeoutConfig};
use futures::TryStreamExt;

/// A session on canned responses: static keys, a region, the given retry settings.
async fn session(http: &Arc<ReplayHttp>, retry: RetryConfig) -> Result<AwsSession, AwsConfigError> {
    let http = http.clone();
    Session::aws()
        .region("us-east-1")
        .credentials(Credentials::from_keys("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"))
        .endpoint_url("http://127.0.0.1:9")
        .retry_config(retry)
        .configure(move |loader| loader.http(http).timeouts(TimeoutConfig::default()))
        .load()
        .await
}

const LIST_PAGE: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>bucket</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>
  <Contents><Key>a.txt</Key><LastModified>2026-12-01T10:00:00.000Z</LastModified><ETag>"x"</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>
</ListBucketResult>"#;

#[tokio::test]
async fn retry_settings_credentials_and_paginators_through_the_facade() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(503, "<Error><Code>SlowDown</Code><Message>slow down</Message></Error>"));
    http.push(Canned::status(200, LIST_PAGE));
    let retry = RetryConfig::standard().with_max_attempts(2).with_initial_backoff(Duration::from_millis(1));
    let s3 = session(&http, retry).await.expect("a session with static keys").s3().expect("an S3 client");

    let keys: Vec<String> = s3
        .list_objects_v2("bucket")
        .into_items(PaginationConfig::default().page_size(10))
        .try_filter_map(|entry| async move {
            Ok(match entry {
                ListEntry::Object(object) => Some(object.key),
                _ => None,
            })
        })
        .try_collect()
        .await
        .expect("the second attempt lists the bucket");
    assert_eq!(keys, ["a.txt"]);
    let requests = http.requests();
    assert_eq!(requests.len(), 2, "one retry after the 503");
    let authorization = requests[1].headers["authorization"].to_str().unwrap_or_default();
    assert!(authorization.contains("Credential=AKIDEXAMPLE/"), "{authorization}");
    assert_eq!(http.remaining(), 0);
}

#[tokio::test]
async fn waiters_take_a_waiter_config_named_through_the_facade() {
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(404, ""));
    http.push(Canned::status(200, ""));
    let s3 =
        session(&http, RetryConfig::disabled()).await.expect("a session with static keys").s3().expect("an S3 client");
    let config = WaiterConfig::new(Duration::from_millis(1), Duration::from_millis(2), Duration::from_secs(10));
    s3.wait_until_bucket_exists("bucket").config(config).wait().await.expect("the bucket appears on the second poll");
    assert_eq!(http.requests().len(), 2);
}

/// The user's code under test: reads a setting from whatever store it is given.
async fn debug_enabled(store: &dyn ObjectStore) -> cloudkit::store::Result<bool> {
    let key = ObjectKey::parse("config/app.toml")?;
    let text = store.get(&key).await?.bytes().await?;
    Ok(String::from_utf8_lossy(&text).contains("debug = true"))
}

#[tokio::test]
async fn store_get_is_mocked_with_expect_get_opts() {
    let mut store = MockObjectStore::new();
    store
        .expect_get_opts()
        .withf(|key, _| key.as_str() == "config/app.toml")
        .times(1)
        .returning(|key, _| Ok(GetResult::from_bytes(key.clone(), "debug = true\n".into())));
    assert!(debug_enabled(&store).await.expect("the mocked read"));
}
