//! SigV4 against the signature-checking moto (`moto-auth`: a server started with
//! `INITIAL_NO_AUTH_ACTION_COUNT`, whose IAM key is in `CLOUDKIT_TEST_MOTO_AUTH_*`). Requests go through
//! `cloudkit_core::Pipeline` with `SigV4Signer`. Needs `scripts/testbed.sh up`.

// Test code: unwrap/panic in the shared helpers are how a test fails (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cloudkit_core::{BufferedResponse, Error, HttpRequest, Method, Operation, Pipeline, StatusCode, Url};
use cloudkit_signer::aws::Credentials;
use cloudkit_tests::aws;
use cloudkit_tests::testbed::{self, Emulator};

fn wrong_credentials() -> Credentials {
    Credentials::from_keys(aws::moto_auth_access_key_id(), "definitely-not-the-secret-key")
}

/// Header-signed, one attempt, `<Code>`/`<Message>` parsed from the XML error body.
fn pipeline(credentials: Credentials, service: &str) -> Pipeline {
    aws::sigv4_pipeline("moto", credentials, service)
}

fn endpoint() -> Url {
    Url::parse(&format!("{}/", testbed::endpoint(Emulator::MotoAuth))).unwrap()
}

async fn get_caller_identity(credentials: Credentials) -> Result<BufferedResponse, Error> {
    let request = HttpRequest::new(Method::POST, endpoint())
        .header("content-type", "application/x-www-form-urlencoded; charset=utf-8")
        .unwrap()
        .with_body("Action=GetCallerIdentity&Version=2011-06-15");
    pipeline(credentials, "sts").send_buffered(&Operation::new("GetCallerIdentity"), request).await
}

async fn list_buckets(credentials: Credentials) -> Result<BufferedResponse, Error> {
    let request = HttpRequest::new(Method::GET, endpoint());
    pipeline(credentials, "s3").send_buffered(&Operation::new("ListBuckets"), request).await
}

#[tokio::test]
async fn sts_get_caller_identity_signed_correctly_is_accepted() {
    let resp = get_caller_identity(aws::moto_auth_credentials())
        .await
        .unwrap_or_else(|e| panic!("signed GetCallerIdentity refused by moto-auth: {e} (run `scripts/testbed.sh up`)"));
    let body = String::from_utf8_lossy(&resp.body);
    assert_eq!(resp.status, StatusCode::OK, "{body}");
    assert!(body.contains("<GetCallerIdentityResult>"), "{body}");
    assert!(body.contains("<Account>"), "{body}");
}

#[tokio::test]
async fn sts_with_a_wrong_secret_is_a_signature_error() {
    let err = get_caller_identity(wrong_credentials()).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN), "{err}");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"), "{err}");
    assert!(!err.is_retryable(), "signature errors are never retried");
    assert!(!format!("{err} {err:?}").contains("definitely-not-the-secret-key"));
}

#[tokio::test]
async fn s3_list_buckets_signed_correctly_is_accepted_and_a_wrong_secret_is_not() {
    let resp = list_buckets(aws::moto_auth_credentials())
        .await
        .unwrap_or_else(|e| panic!("signed ListBuckets refused by moto-auth: {e} (run `scripts/testbed.sh up`)"));
    let body = String::from_utf8_lossy(&resp.body);
    assert!(body.contains("<ListAllMyBucketsResult"), "{body}");

    let err = list_buckets(wrong_credentials()).await.unwrap_err();
    assert_eq!(err.status(), Some(StatusCode::FORBIDDEN), "{err}");
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"), "{err}");
}
