//! Unit tests against `ReplayHttp` canned responses: construction from an [`AzureConfig`], the
//! retry classifier, listings, the copy waiter (on a paused clock), progress, decode errors.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cloudkit_core::testing::{Canned, ReplayHttp};
use cloudkit_core::{ErrorKind, Progress, ProgressCallback, RetryConfig, TimeoutConfig};
use cloudkit_cred_chain::azure::{AzureEnv, DefaultAzureCredential};
use cloudkit_paginate::PaginationConfig;
use cloudkit_waiter::WaiterError;
use futures::TryStreamExt;

use crate::model::tests::KEY_XML;
use crate::*;

mod faults;

const ENDPOINT: &str = "http://127.0.0.1:1/acct";

/// An anonymous config for `ENDPOINT` over `http`, reading no environment.
pub(crate) async fn replay_config(http: &Arc<ReplayHttp>) -> AzureConfig {
    AzureConfig::loader()
        .env(AzureEnv::from_pairs::<&str, &str>([]))
        .anonymous()
        .blob_endpoint(ENDPOINT.parse().unwrap())
        .http(http.clone())
        .load()
        .await
        .unwrap()
}

/// A client for `ENDPOINT` answering from `http`.
pub(crate) async fn replay_client(http: &Arc<ReplayHttp>) -> BlobServiceClient {
    BlobServiceClient::new(&replay_config(http).await).unwrap()
}

fn query(r: &cloudkit_core::testing::RecordedRequest) -> String {
    r.url.query().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn a_config_without_a_storage_account_builds_no_blob_client() {
    // An Azure Resource Manager-only config (a token credential, no account) loads; a Blob
    // client built from it says what is missing.
    let http = Arc::new(ReplayHttp::new());
    let config = AzureConfig::loader()
        .env(AzureEnv::from_pairs::<&str, &str>([]))
        .credential(Arc::new(DefaultAzureCredential::new()))
        .http(http.clone())
        .load()
        .await
        .unwrap();
    assert!(config.blob_endpoint().is_none());
    let e = BlobServiceClient::new(&config).unwrap_err();
    assert!(e.to_string().contains("no storage account"), "{e}");
    let with_endpoint =
        BlobServiceClient::builder(&config).endpoint("https://acct.blob.core.windows.net".parse().unwrap());
    assert!(with_endpoint.build().is_ok(), "an explicit endpoint is enough");
}

#[tokio::test]
async fn the_client_is_built_from_the_config_with_overrides() {
    let http = Arc::new(ReplayHttp::new());
    let config = replay_config(&http).await;
    let service = BlobServiceClient::new(&config).unwrap();
    assert_eq!(service.endpoint().as_str(), ENDPOINT);
    assert_eq!(service.account(), Some("acct"));
    assert!(matches!(service.auth(), StorageAuth::Anonymous));
    assert_eq!(service.pipeline().retry_config().max_attempts(), 3, "the config's retry settings");
    assert!(Arc::ptr_eq(service.pipeline().quota(), &config.retry_quota()), "the config's quota");

    let other = BlobServiceClient::builder(&config)
        .endpoint("http://127.0.0.1:2/other/?comp=x".parse().unwrap())
        .retry(RetryConfig::disabled())
        .timeouts(TimeoutConfig::none())
        .http(http.clone())
        .build()
        .unwrap();
    assert_eq!(other.endpoint().as_str(), "http://127.0.0.1:2/other", "normalized: no slash, no query");
    assert_eq!(other.pipeline().retry_config().max_attempts(), 1);
    assert_eq!(
        other.blob_client("c", "dir/a b+c.txt").url().unwrap().as_str(),
        "http://127.0.0.1:2/other/c/dir/a%20b%2Bc.txt",
        "names are RFC 3986-encoded, `/` kept"
    );

    // bearer tokens: the endpoint override is checked too
    let token = AzureConfig::loader()
        .env(AzureEnv::from_pairs::<&str, &str>([]))
        .credential(Arc::new(DefaultAzureCredential::new()))
        .blob_endpoint("https://acct.blob.core.windows.net".parse().unwrap())
        .http(http.clone())
        .load()
        .await
        .unwrap();
    let e =
        BlobServiceClient::builder(&token).endpoint("http://example.com/acct".parse().unwrap()).build().unwrap_err();
    assert!(e.to_string().contains("https"), "{e}");
    assert!(BlobServiceClient::new(&token).is_ok());
}

#[tokio::test(start_paused = true)]
async fn server_busy_is_throttling_and_retried() {
    let http = Arc::new(ReplayHttp::new());
    let service = replay_client(&http).await;
    let busy = || Canned::status(503, "").with_header("x-ms-error-code", "ServerBusy");
    http.push(busy());
    http.push(
        Canned::status(500, "<Error><Code>OperationTimedOut</Code><Message>slow</Message></Error>")
            .with_header("x-ms-request-id", "r-1"),
    );
    http.push(Canned::status(200, "").with_header("last-modified", "Tue, 02 Jan 2024 03:04:05 GMT"));
    let props = service.blob_client("c", "b").get_properties().await.unwrap();
    assert_eq!(http.requests().len(), 3, "ServerBusy and OperationTimedOut are retried");
    assert_eq!(props.last_modified, Some(UNIX_EPOCH + Duration::from_secs(1_704_164_645)));

    for _ in 0..3 {
        http.push(busy());
    }
    let e = service.blob_client("c", "b").get_properties().await.unwrap_err();
    assert!(matches!(e, BlobError::Throttled(_)), "{e:?}");
    assert!(e.is_throttling() && e.is_retryable(), "{e:?}");
    assert_eq!(e.code(), Some("ServerBusy"));
}

#[tokio::test]
async fn list_send_is_one_page_with_marker_and_max_results() {
    let http = Arc::new(ReplayHttp::new());
    let service = replay_client(&http).await;
    let container = service.container_client("c");
    http.push(Canned::status(
        200,
        "<EnumerationResults><Blobs><Blob><Name>a</Name></Blob></Blobs><NextMarker>m2</NextMarker></EnumerationResults>",
    ));
    let page = container.list_blobs().prefix("x y").marker("m1").max_results(1).send().await.unwrap();
    assert_eq!(page.next_marker.as_deref(), Some("m2"));
    let q = query(&http.requests()[0]);
    assert_eq!(q, "restype=container&comp=list&prefix=x%20y&marker=m1&maxresults=1");

    http.push(Canned::status(
        200,
        "<EnumerationResults><Containers><Container><Name>a</Name></Container></Containers><NextMarker>n2</NextMarker></EnumerationResults>",
    ));
    http.push(Canned::status(
        200,
        "<EnumerationResults><Containers><Container><Name>b</Name></Container></Containers></EnumerationResults>",
    ));
    let names: Vec<String> = service
        .list_containers()
        .marker("n1")
        .into_items(PaginationConfig::default().page_size(1))
        .map_ok(|c| c.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["a", "b"]);
    let requests = http.requests();
    assert_eq!(query(&requests[1]), "comp=list&marker=n1&maxresults=1", "the first page starts at the marker");
    assert_eq!(query(&requests[2]), "comp=list&marker=n2&maxresults=1");
}

/// Issue 16, point 1: a paginator over a failing list yields the Blob error itself (no nesting),
/// naming the service, operation and cause; a repeated marker is the `Pagination` variant.
#[tokio::test]
async fn listing_errors_are_blob_errors_naming_the_operation() {
    let http = Arc::new(ReplayHttp::new());
    let service = replay_client(&http).await;
    let not_found = || {
        Canned::status(
            404,
            "<Error><Code>ContainerNotFound</Code><Message>The specified container does not exist.</Message></Error>",
        )
        .with_header("x-ms-error-code", "ContainerNotFound")
    };
    http.push(not_found());
    let e = service.container_client("gone").list_blobs().into_pages(PaginationConfig::default()).try_next().await;
    let e = e.unwrap_err();
    assert!(matches!(e, BlobError::ContainerNotFound(_)), "{e:?}");
    assert!(e.to_string().starts_with("AzureBlob.ListBlobs failed: HTTP 404 ContainerNotFound"), "{e}");
    assert_eq!(e.to_string().matches("not retryable").count(), 1, "{e}");

    let page = "<EnumerationResults><Containers><Container><Name>a</Name></Container></Containers>\
                <NextMarker>same</NextMarker></EnumerationResults>";
    http.push(Canned::status(200, page));
    http.push(Canned::status(200, page));
    let e = service.list_containers().into_items(PaginationConfig::default()).try_collect::<Vec<_>>().await;
    let Err(BlobError::Pagination(e)) = e else { panic!("{e:?}") };
    assert_eq!((e.service(), e.operation(), e.repeated_token()), ("AzureBlob", "ListContainers", Some("same")));
    assert!(e.to_string().starts_with("AzureBlob.ListContainers failed: the service returned the continuation token"));
}

#[tokio::test]
async fn conditions_send_http_dates() {
    let http = Arc::new(ReplayHttp::new());
    let blob = replay_client(&http).await.blob_client("c", "b");
    http.push(Canned::status(200, ""));
    let conditions = Conditions {
        if_modified_since: Some(UNIX_EPOCH + Duration::from_secs(1_704_164_645)),
        if_match: Some("\"e\"".into()),
        ..Conditions::default()
    };
    blob.get_properties_with(&conditions).await.unwrap();
    let r = &http.requests()[0];
    assert_eq!(r.headers["if-modified-since"], "Tue, 02 Jan 2024 03:04:05 GMT");
    assert_eq!(r.headers["if-match"], "\"e\"");
    assert!(!r.headers.contains_key("if-unmodified-since"));
}

fn copy_accepted(status: &str) -> Canned {
    Canned::status(202, "").with_header("x-ms-copy-id", "copy-1").with_header("x-ms-copy-status", status)
}

fn copy_status(status: &str) -> Canned {
    Canned::status(200, "").with_header("content-length", "5").with_header("x-ms-copy-status", status)
}

#[tokio::test(start_paused = true)]
async fn copy_waits_for_pending_to_become_success() {
    let http = Arc::new(ReplayHttp::new());
    let blob = replay_client(&http).await.blob_client("c", "dst");
    http.push(copy_accepted("pending"));
    for status in ["pending", "pending", "success"] {
        http.push(copy_status(status));
    }
    let started = tokio::time::Instant::now();
    let props =
        blob.copy_from_url(&"http://127.0.0.1:1/acct/c/src".parse().unwrap(), &Conditions::default()).await.unwrap();
    assert_eq!(props.copy_status.as_deref(), Some("success"));
    assert_eq!(props.size, 5);
    let requests = http.requests();
    assert_eq!(requests.len(), 4, "CopyBlob and three polls");
    assert_eq!(requests[0].headers["x-ms-copy-source"], "http://127.0.0.1:1/acct/c/src");
    assert!(requests[1..].iter().all(|r| r.method == cloudkit_core::Method::HEAD));
    let times = http.request_times();
    assert!(times[2] > times[1] && times[3] > times[2], "the polls are spaced out");
    assert!(started.elapsed() < Duration::from_secs(11), "{:?}", started.elapsed());

    // a copy that completes at once is not polled again
    http.push(copy_accepted("success"));
    http.push(copy_status("success"));
    blob.copy_from_url(&"http://127.0.0.1:1/acct/c/src".parse().unwrap(), &Conditions::default()).await.unwrap();
    assert_eq!(http.requests().len(), 6);
}

#[tokio::test(start_paused = true)]
async fn a_failed_copy_is_an_error_naming_the_status() {
    let http = Arc::new(ReplayHttp::new());
    let blob = replay_client(&http).await.blob_client("c", "dst");
    http.push(copy_accepted("pending"));
    http.push(copy_status("pending"));
    http.push(copy_status("failed"));
    let e = blob
        .copy_from_url(&"http://127.0.0.1:1/acct/c/src".parse().unwrap(), &Conditions::default())
        .await
        .unwrap_err();
    assert!(matches!(e, BlobError::Other(_)), "{e:?}");
    assert!(e.to_string().contains("the copy ended with status failed"), "{e}");

    // the waiter itself names the acceptor
    http.push(copy_status("aborted"));
    let e = blob.wait_until_copy_complete().wait().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "waiter CopyComplete for blob c/dst reached failure state `copy status is aborted` after 1 attempt"
    );
    // a poll error stops the wait with that error
    http.push(Canned::status(404, "").with_header("x-ms-error-code", "BlobNotFound"));
    let e = blob.wait_until_copy_complete().wait().await.unwrap_err();
    let WaiterError::UnexpectedError { source, .. } = e else { panic!("{e:?}") };
    assert!(matches!(source, BlobError::BlobNotFound(_)), "{source:?}");
}

#[tokio::test(start_paused = true)]
async fn copy_waits_end_at_the_deadline() {
    let http = Arc::new(ReplayHttp::new());
    let blob = replay_client(&http).await.blob_client("c", "dst");
    for _ in 0..50 {
        http.push(copy_status("pending"));
    }
    let started = tokio::time::Instant::now();
    let e = blob.wait_until_copy_complete().max_wait(Duration::from_secs(10)).wait().await.unwrap_err();
    let WaiterError::Timeout { max_wait, last: Ok(last), .. } = &e else { panic!("{e:?}") };
    assert_eq!(*max_wait, Duration::from_secs(10));
    assert_eq!(last.copy_status.as_deref(), Some("pending"));
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(10) && waited < Duration::from_secs(12), "{waited:?}");

    // copy_from_url: the default deadline is 10 minutes, and the error says the copy is pending
    let http = Arc::new(ReplayHttp::new());
    let blob = replay_client(&http).await.blob_client("c", "dst");
    http.push(copy_accepted("pending"));
    for _ in 0..1000 {
        http.push(copy_status("pending"));
    }
    let started = tokio::time::Instant::now();
    let e = blob
        .copy_from_url(&"http://127.0.0.1:1/acct/c/src".parse().unwrap(), &Conditions::default())
        .await
        .unwrap_err();
    let BlobError::Other(core) = &e else { panic!("{e:?}") };
    assert_eq!(core.kind(), ErrorKind::Timeout, "{e}");
    assert!(e.to_string().contains("the copy status is still pending"), "{e}");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(600) && waited < Duration::from_secs(610), "{waited:?}");
    assert_eq!(default_copy_waiter_config().max_wait, Duration::from_secs(600));
}

fn recorder() -> (ProgressCallback, Arc<Mutex<Vec<Progress>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    (Arc::new(move |p: Progress| sink.lock().unwrap().push(p)), seen)
}

#[tokio::test]
async fn transfers_report_core_progress() {
    let http = Arc::new(ReplayHttp::new());
    let blob = replay_client(&http).await.blob_client("c", "big");
    for _ in 0..3 {
        http.push(Canned::status(201, ""));
    }
    http.push(Canned::status(201, "").with_header("etag", "\"e1\""));
    let (callback, seen) = recorder();
    let data = bytes::Bytes::from(vec![7u8; 10]);
    let options = UploadOptions { block_size: 4, concurrency: 2, progress: Some(callback), ..UploadOptions::default() };
    let written = blob.upload_bytes(data.clone(), options).await.unwrap();
    assert_eq!(written.etag.as_deref(), Some("\"e1\""));
    let requests = http.requests();
    assert_eq!(requests.len(), 4, "three blocks and the block list");
    assert_eq!(requests[0].headers["content-md5"], cloudkit_core::md5_base64(&data[..4]));
    let list = String::from_utf8_lossy(&requests[3].body).into_owned();
    assert_eq!(list.matches("<Latest>").count(), 3, "{list}");
    assert_eq!(requests[3].headers["x-ms-blob-content-md5"], cloudkit_core::md5_base64(&data));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.first(), Some(&Progress { transferred: 0, total: None }));
    assert_eq!(seen.last(), Some(&Progress { transferred: 10, total: Some(10) }));

    let http = Arc::new(ReplayHttp::new());
    let blob = replay_client(&http).await.blob_client("c", "big");
    http.push(
        Canned::status(200, "")
            .with_header("content-length", "6")
            .with_header("etag", "\"e1\"")
            .with_header("content-md5", &cloudkit_core::md5_base64(b"abcdef")),
    );
    http.push(Canned::status(206, "abcd").with_header("content-range", "bytes 0-3/6"));
    http.push(Canned::status(206, "ef").with_header("content-range", "bytes 4-5/6"));
    let (callback, seen) = recorder();
    let options =
        DownloadOptions { chunk_size: 4, concurrency: 2, progress: Some(callback), ..DownloadOptions::default() };
    let got = blob.download_to_bytes(options).await.unwrap();
    assert_eq!(&got[..], b"abcdef");
    let seen = seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        [
            Progress { transferred: 0, total: Some(6) },
            Progress { transferred: 4, total: Some(6) },
            Progress { transferred: 6, total: Some(6) }
        ]
    );
    assert_eq!(http.requests()[1].headers["if-match"], "\"e1\"", "ranges are pinned to the entity tag");
}

fn assert_decode_error(e: &BlobError, operation: &str, message: &str) {
    let BlobError::Other(core) = e else { panic!("expected BlobError::Other, got {e:?}") };
    assert_eq!(core.kind(), ErrorKind::Decode);
    let text = e.to_string();
    assert!(text.starts_with(&format!("AzureBlob.{operation} failed: could not decode the response")), "{text}");
    assert!(text.contains(message), "{text}");
}

#[tokio::test]
async fn clients_map_bad_bodies_to_typed_decode_errors() {
    let http = Arc::new(ReplayHttp::new());
    let service = replay_client(&http).await;

    http.push(Canned::status(200, "<EnumerationResults><Containers><Container/></Containers></EnumerationResults>"));
    let e = service.list_containers().send().await.unwrap_err();
    assert_decode_error(&e, "ListContainers", "<Container> has no <Name>");

    http.push(Canned::status(200, "<EnumerationResults><Blobs><Blob><Name>a</Name></Blobs>"));
    let e = service.container_client("c").list_blobs().send().await.unwrap_err();
    assert_decode_error(&e, "ListBlobs", "malformed XML");

    let no_tid = KEY_XML.replace("<SignedTid>tid-2</SignedTid>", "");
    http.push(Canned::status(200, no_tid));
    let now = SystemTime::now();
    let e = service.get_user_delegation_key(now, now).await.unwrap_err();
    assert_decode_error(&e, "GetUserDelegationKey", "<UserDelegationKey> has no <SignedTid>");
    assert!(!format!("{e} {e:?}").contains("c2VjcmV0"), "the key value stays out of errors");

    http.push(Canned::status(200, KEY_XML));
    let key = service.get_user_delegation_key(now, now).await.unwrap();
    assert_eq!(key.value.secret(), "c2VjcmV0LWtleQ==");
    assert_eq!(http.remaining(), 0);
}
