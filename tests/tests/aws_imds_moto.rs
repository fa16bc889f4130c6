//! EC2 instance metadata against moto's metadata endpoints (`scripts/testbed.sh up`), reached by
//! pointing `AWS_EC2_METADATA_SERVICE_ENDPOINT` at moto through a fake environment.
//!
//! moto serves `PUT /latest/api/token` (a fixed token, no TTL header), the instance profile
//! listing and credentials (without the `Code` field EC2 sends), and `placement/region`; it does
//! not check the token. Token reuse, 401 → new token, 403 "disabled" and the retry rules are
//! therefore covered by the unit tests in crates/cred-chain/src/aws/imds.rs (in-process server).

// Helpers outside #[test] fns unwrap too: a failure there is the test failing.
#![allow(clippy::unwrap_used)]

use std::time::SystemTime;

use cloudkit_cred_chain::aws::ProviderConfig;
use cloudkit_cred_chain::aws::imds::{self, ImdsClient, ImdsCredentialsProvider};
use cloudkit_signer::aws::ProvideCredentials;
use cloudkit_tests::aws;
use cloudkit_tests::testbed::{self, Emulator};

fn config() -> ProviderConfig {
    let endpoint = testbed::endpoint(Emulator::Moto);
    aws::provider_config([("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint)])
}

#[tokio::test]
async fn imdsv2_credentials_from_moto() {
    let creds = ImdsCredentialsProvider::new(&config()).provide_credentials().await.unwrap();
    assert!(!creds.access_key_id().is_empty());
    assert!(!creds.secret_access_key().expose().is_empty());
    assert!(creds.session_token().is_some());
    assert!(creds.expiry().unwrap() > SystemTime::now());
    assert_eq!(creds.provider_name(), "imds");
}

#[tokio::test]
async fn region_from_moto() {
    assert_eq!(imds::region(&config()).await.as_deref(), Some("us-east-1"));
}

#[tokio::test]
async fn metadata_paths_and_missing_ones() {
    let client = ImdsClient::new(&config());
    let zone = client.get("/latest/meta-data/placement/availability-zone").await.unwrap();
    assert!(zone.starts_with("us-east-1"), "{zone}");
    let role = client.get("/latest/meta-data/iam/security-credentials/").await.unwrap();
    assert!(!role.trim().is_empty());
}

#[tokio::test]
async fn disabled_by_env_never_reaches_moto() {
    let endpoint = testbed::endpoint(Emulator::Moto);
    let config = aws::provider_config([
        ("AWS_EC2_METADATA_SERVICE_ENDPOINT", endpoint.as_str()),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ]);
    let e = ImdsCredentialsProvider::new(&config).provide_credentials().await.unwrap_err();
    assert!(e.is_not_loaded(), "{e}");
    assert_eq!(imds::region(&config).await, None);
}
