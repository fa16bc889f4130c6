//! Smoke tests for the emulator test bed: each emulator answers raw HTTP the way only it would.
//! They need `scripts/testbed.sh up` (or `scripts/test.sh`); without it they fail with that hint.

// Test code: unwrap/panic in the shared helpers are how a test fails (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used, clippy::panic)]

use cloudkit_tests::testbed::{self, Emulator};
use reqwest::StatusCode;

async fn get(url: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let resp = testbed::http_client()
        .get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url} failed ({e}); is the test bed up? run `scripts/testbed.sh up`"));
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.text().await.unwrap();
    (status, headers, body)
}

#[tokio::test]
async fn moto_answers_unsigned_list_buckets() {
    let url = format!("{}/", testbed::endpoint(Emulator::Moto));
    let (status, _, body) = get(&url).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("<ListAllMyBucketsResult"), "{body}");
    assert!(body.contains("<Buckets"), "{body}");
}

#[tokio::test]
async fn moto_serves_imdsv2_credentials_and_region() {
    let base = testbed::endpoint(Emulator::Moto);
    let client = testbed::http_client();
    let token = client
        .put(format!("{base}/latest/api/token"))
        .header("x-aws-ec2-metadata-token-ttl-seconds", "21600")
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::OK);
    let token = token.text().await.unwrap();
    assert_eq!(token, "fake-imdsv2-token");

    let roles = client
        .get(format!("{base}/latest/meta-data/iam/security-credentials/"))
        .header("x-aws-ec2-metadata-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(roles.status(), StatusCode::OK);
    let role = roles.text().await.unwrap();
    assert_eq!(role, "default-role");

    let creds = client
        .get(format!("{base}/latest/meta-data/iam/security-credentials/{role}"))
        .header("x-aws-ec2-metadata-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(creds.status(), StatusCode::OK);
    let creds: serde_json::Value = serde_json::from_str(&creds.text().await.unwrap()).unwrap();
    assert_eq!(creds["AccessKeyId"], "test-key");
    assert_eq!(creds["SecretAccessKey"], "test-secret-key");
    assert_eq!(creds["Token"], "test-session-token");
    assert!(creds["Expiration"].as_str().unwrap().ends_with('Z'), "{creds}");

    let region = client
        .get(format!("{base}/latest/meta-data/placement/region"))
        .header("x-aws-ec2-metadata-token", &token)
        .send()
        .await
        .unwrap();
    assert_eq!(region.text().await.unwrap(), "us-east-1");
}

#[tokio::test]
async fn moto_sts_assume_role_with_web_identity_needs_no_signature() {
    let base = testbed::endpoint(Emulator::Moto);
    let resp = testbed::http_client()
        .post(format!("{base}/"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15\
             &RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fweb-role\
             &RoleSessionName=smoke&WebIdentityToken=not-checked",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let body = resp.text().await.unwrap();
    assert!(body.contains("<AssumeRoleWithWebIdentityResponse"), "{body}");
    assert!(body.contains("<SessionToken>"), "{body}");
    assert!(body.contains("assumed-role/web-role/smoke"), "{body}");
}

#[tokio::test]
async fn moto_auth_rejects_wrong_signature_and_unknown_key() {
    let base = testbed::endpoint(Emulator::MotoAuth);
    let key_id = testbed::var("CLOUDKIT_TEST_MOTO_AUTH_ACCESS_KEY_ID");
    // The secret must exist even though this test cannot sign yet (the SigV4 signer adds that test).
    assert!(!testbed::var("CLOUDKIT_TEST_MOTO_AUTH_SECRET_ACCESS_KEY").is_empty());
    let client = testbed::http_client();
    let amz_date = "20260101T000000Z";
    let bogus = "0".repeat(64);

    // The real key id with a signature that cannot match.
    let resp = client
        .get(format!("{base}/"))
        .header("x-amz-date", amz_date)
        .header("x-amz-content-sha256", "UNSIGNED-PAYLOAD")
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential={key_id}/20260101/us-east-1/s3/aws4_request, \
                 SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature={bogus}"
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body = resp.text().await.unwrap();
    assert!(body.contains("<Code>SignatureDoesNotMatch</Code>"), "{body}");

    // A key id moto has never issued.
    let resp = client
        .get(format!("{base}/"))
        .header("x-amz-date", amz_date)
        .header(
            "authorization",
            format!(
                "AWS4-HMAC-SHA256 Credential=AKIANOTAREALKEY00000/20260101/us-east-1/s3/aws4_request, \
                 SignedHeaders=host;x-amz-date, Signature={bogus}"
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    let body = resp.text().await.unwrap();
    assert!(body.contains("<Code>InvalidAccessKeyId</Code>"), "{body}");

    // No Authorization header at all is not accepted either (moto 5.2.1 answers 500, not 403).
    let (status, _, body) = get(&format!("{base}/")).await;
    assert!(!status.is_success(), "unsigned request accepted: {status} {body}");
    assert!(!body.contains("<ListAllMyBucketsResult"), "{body}");
}

#[tokio::test]
async fn azurite_rejects_anonymous_container_list() {
    let endpoint = testbed::endpoint(Emulator::Azurite);
    assert!(endpoint.ends_with("/devstoreaccount1"), "{endpoint}");
    let conn = testbed::var("CLOUDKIT_TEST_AZURITE_CONNECTION_STRING");
    assert!(conn.contains(&format!("BlobEndpoint={endpoint};")), "{conn}");

    let (status, headers, body) = get(&format!("{endpoint}?comp=list")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let server = headers.get("server").and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(server.starts_with("Azurite-Blob/"), "server header: {server:?}");
    assert_eq!(headers.get("x-ms-error-code").unwrap(), "AuthorizationFailure");
    assert!(body.contains("<Code>AuthorizationFailure</Code>"), "{body}");
}

#[tokio::test]
async fn gcs_emulator_lists_buckets_without_auth() {
    let base = testbed::endpoint(Emulator::Gcs);
    let (status, _, body) = get(&format!("{base}/storage/v1/b?project=test")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["kind"], "storage#buckets", "{json}");
    assert!(json["items"].is_array(), "{json}");
}

#[tokio::test]
async fn s3s_fs_requires_a_signature() {
    let base = testbed::endpoint(Emulator::S3s);
    assert!(!testbed::var("CLOUDKIT_TEST_S3S_ACCESS_KEY_ID").is_empty());
    assert!(!testbed::var("CLOUDKIT_TEST_S3S_SECRET_ACCESS_KEY").is_empty());
    let (status, _, body) = get(&format!("{base}/")).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");
    assert!(body.contains("<Message>Signature is required</Message>"), "{body}");
}
