//! STS against moto (`scripts/testbed.sh up`): AssumeRole signed with static keys,
//! AssumeRoleWithWebIdentity with a token from a temporary file, GetCallerIdentity, and typed
//! errors for requests moto rejects. The signature-checking moto (`moto-auth`) proves that
//! AssumeRole and GetCallerIdentity are correctly SigV4-signed and that bad keys surface as typed
//! errors.

// Helpers outside #[test] fns unwrap too: a failure there is the test failing.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cloudkit::sts::{AssumeRoleRequest, StsClient, StsError};
use cloudkit_core::Url;
use cloudkit_cred_chain::aws::sts::AssumeRoleProvider;
use cloudkit_cred_chain::aws::web_identity::WebIdentityTokenProvider;
use cloudkit_cred_chain::aws::{Fs, ProviderConfig};
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials, SharedCredentialsProvider};
use cloudkit_tests::aws;
use cloudkit_tests::testbed::{self, Emulator};

const ROLE_ARN: &str = "arn:aws:iam::123456789012:role/cloudkit-test-role";

fn endpoint(emulator: Emulator) -> Url {
    Url::parse(&testbed::endpoint(emulator)).unwrap()
}

/// The provider config of the credential providers: STS at `emulator`.
fn config(emulator: Emulator) -> ProviderConfig {
    aws::provider_config::<&str, &str>([]).fs(Fs::real()).region("us-east-1").sts_endpoint(endpoint(emulator))
}

/// An STS client for `emulator`, signing with `credentials`.
fn sts_client(emulator: Emulator, credentials: SharedCredentialsProvider) -> StsClient {
    StsClient::builder()
        .region("us-east-1")
        .credentials(credentials)
        .endpoint(endpoint(emulator))
        .http(aws::http())
        .build()
        .unwrap()
}

fn auth_keys() -> SharedCredentialsProvider {
    Arc::new(aws::moto_auth_credentials())
}

#[tokio::test]
async fn assume_role_signed_with_static_keys() {
    // moto-auth checks the SigV4 signature of the AssumeRole call.
    let sts = sts_client(Emulator::MotoAuth, auth_keys());
    let out = sts
        .assume_role(
            AssumeRoleRequest::new(ROLE_ARN, "cloudkit-it")
                .external_id("cloudkit-external-id")
                .duration(Duration::from_secs(900)),
        )
        .await
        .unwrap();
    let creds = &out.credentials;
    assert!(!creds.access_key_id().is_empty());
    assert!(!creds.secret_access_key().expose().is_empty());
    assert!(creds.session_token().is_some());
    let expiry = creds.expiry().unwrap();
    assert!(expiry > SystemTime::now(), "{expiry:?}");
    assert!(expiry <= SystemTime::now() + Duration::from_secs(901), "duration honoured: {expiry:?}");
    let user = out.assumed_role_user.unwrap();
    assert!(user.arn.ends_with("assumed-role/cloudkit-test-role/cloudkit-it"), "{}", user.arn);
    assert!(out.request_id.is_some());
}

#[tokio::test]
async fn assume_role_provider_returns_credentials() {
    let provider = AssumeRoleProvider::builder(ROLE_ARN)
        .session_name("cloudkit-provider-it")
        .build(auth_keys(), &config(Emulator::MotoAuth))
        .unwrap();
    let creds = provider.provide_credentials().await.unwrap();
    assert_eq!(creds.provider_name(), "sts-assume-role");
    assert!(creds.expiry().is_some());
}

#[tokio::test]
async fn get_caller_identity_signed() {
    let sts = sts_client(Emulator::MotoAuth, auth_keys());
    let me = sts.get_caller_identity().await.unwrap();
    assert_eq!(me.account, "123456789012");
    assert!(me.arn.starts_with("arn:aws:iam::123456789012:"), "{}", me.arn);
    assert!(!me.user_id.is_empty());
}

#[tokio::test]
async fn assume_role_with_web_identity_from_a_token_file() {
    let dir = std::env::temp_dir().join(format!("cloudkit-it-web-identity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token");
    std::fs::write(&token_file, "eyJhbGciOiJSUzI1NiIsImtpZCI6InRlc3QifQ.eyJzdWIiOiJjbG91ZGtpdCJ9.c2ln\n").unwrap();
    let endpoint = testbed::endpoint(Emulator::Moto);
    let token_path = token_file.to_str().unwrap().to_owned();
    // The whole configuration comes from a fake environment, as on EKS.
    let config = aws::provider_config([
        ("AWS_WEB_IDENTITY_TOKEN_FILE", token_path.as_str()),
        ("AWS_ROLE_ARN", ROLE_ARN),
        ("AWS_ROLE_SESSION_NAME", "cloudkit-web-it"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ENDPOINT_URL_STS", endpoint.as_str()),
    ])
    .fs(Fs::real());
    let creds = WebIdentityTokenProvider::from_env(&config).provide_credentials().await.unwrap();
    assert_eq!(creds.provider_name(), "sts-web-identity");
    assert!(creds.session_token().is_some());
    assert!(creds.expiry().unwrap() > SystemTime::now());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn wrong_secret_is_a_typed_signature_error() {
    let wrong: SharedCredentialsProvider =
        Arc::new(Credentials::from_keys(aws::moto_auth_access_key_id(), "definitely-not-the-secret"));
    let sts = sts_client(Emulator::MotoAuth, wrong);
    let e = sts.get_caller_identity().await.unwrap_err();
    assert!(matches!(e, StsError::InvalidCredentials(_)), "{e:?}");
    assert_eq!(e.code(), Some("SignatureDoesNotMatch"));
    assert!(!e.is_retryable());
    assert!(!e.to_string().contains("definitely-not-the-secret"), "{e}");

    let unknown: SharedCredentialsProvider = Arc::new(Credentials::from_keys("AKIAUNKNOWNKEY000000", "x"));
    let sts = sts_client(Emulator::MotoAuth, unknown.clone());
    let e = sts.assume_role(AssumeRoleRequest::new(ROLE_ARN, "s1")).await.unwrap_err();
    assert!(matches!(e, StsError::InvalidCredentials(_)), "{e:?}");
    assert_eq!(e.code(), Some("InvalidClientTokenId"));

    // Through the provider it is a ProviderError that stops the chain.
    let provider = AssumeRoleProvider::builder(ROLE_ARN).build(unknown, &config(Emulator::MotoAuth)).unwrap();
    let e = provider.provide_credentials().await.unwrap_err();
    assert!(matches!(e, CredentialsError::ProviderError { .. }), "{e:?}");
}

#[tokio::test]
async fn invalid_input_is_typed_and_never_sent() {
    let sts = sts_client(Emulator::Moto, auth_keys());
    let e =
        sts.assume_role(AssumeRoleRequest::new(ROLE_ARN, "s1").duration(Duration::from_secs(60))).await.unwrap_err();
    assert!(matches!(e, StsError::InvalidInput(_)), "{e:?}");
    assert_eq!(e.core().unwrap().attempts(), 0);
}

/// Clock skew (issue 15): a client whose signing clock was corrected (here: set two hours behind
/// the local clock, as a correction from a server's `Date` would) signs consistently with that
/// time: moto-auth, which checks the signature over `x-amz-date`, accepts it.
#[tokio::test]
async fn a_skew_corrected_client_still_signs_valid_requests() {
    let skew = cloudkit_signer::aws::ClockSkew::new();
    skew.set_offset_millis(-2 * 3_600_000);
    let sts = StsClient::builder()
        .region("us-east-1")
        .credentials(auth_keys())
        .endpoint(endpoint(Emulator::MotoAuth))
        .http(aws::http())
        .clock_skew(skew.clone())
        .build()
        .unwrap();
    let me = sts.get_caller_identity().await.unwrap();
    assert!(!me.account.is_empty());
    assert_eq!(skew.offset_millis(), -2 * 3_600_000, "a successful answer changes nothing");
}
