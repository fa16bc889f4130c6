//! How a user unit-tests their own code without a cloud: mock the `ObjectStore` with
//! `cloudkit::store::MockObjectStore` (feature `mock`).

use std::sync::Arc;

use cloudkit::store::{Error, MockObjectStore, ObjectKey, ObjectStore, PutOptions, PutResult};

/// The user's code under test: saves a report, refusing to overwrite an existing one.
async fn save_report(store: &dyn ObjectStore, name: &str, body: &str) -> Result<String, Error> {
    let key = ObjectKey::parse(format!("reports/{name}.txt"))?;
    let options = PutOptions::create_only().content_type("text/plain");
    match store.put_opts(&key, body.to_owned().into(), options).await {
        Ok(_) => Ok(format!("saved {key}")),
        Err(Error::AlreadyExists { .. }) => Ok(format!("kept the existing {key}")),
        Err(e) => Err(e),
    }
}

#[tokio::test]
async fn save_report_writes_create_only_with_a_content_type() {
    let mut store = MockObjectStore::new();
    store
        .expect_put_opts()
        .withf(|key, payload, options| {
            key.as_str() == "reports/q3.txt"
                && &payload[..] == b"all good"
                && options.mode == cloudkit::store::PutMode::CreateOnly
                && options.content_type.as_deref() == Some("text/plain")
        })
        .times(1)
        .returning(|_, _, _| Ok(PutResult { etag: Some("\"1\"".into()) }));
    let store: Arc<dyn ObjectStore> = Arc::new(store);
    assert_eq!(save_report(store.as_ref(), "q3", "all good").await.unwrap(), "saved reports/q3.txt");
}

#[tokio::test]
async fn save_report_keeps_an_existing_report() {
    let mut store = MockObjectStore::new();
    store.expect_put_opts().returning(|key, _, _| Err(Error::AlreadyExists { key: key.to_string(), source: None }));
    assert_eq!(save_report(&store, "q3", "x").await.unwrap(), "kept the existing reports/q3.txt");
}

#[tokio::test]
async fn save_report_rejects_bad_names_before_touching_the_store() {
    let store = MockObjectStore::new(); // no expectations: any call would fail the test
    let err = save_report(&store, "../../etc/passwd", "x").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
}
