//! `AwsConfig` against moto (`scripts/testbed.sh up`, the no-auth instance): a profile with
//! `role_arn` + `source_profile` resolves through moto's real STS AssumeRole (two hops), and
//! `AwsConfig::assume_role` yields credentials that moto's GetCallerIdentity reports as the
//! assumed role. Profile files and variables are fake (no real HOME is read); HTTP is real.

// Test helpers outside `#[test]` functions unwrap too: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

use cloudkit::session::AwsSession;
use cloudkit_cred_chain::aws::{AwsConfig, Fs, ProviderConfig};
use cloudkit_tests::aws;
use cloudkit_tests::testbed::{self, Emulator};

const HOME: &str = "/home/cloudkit-it";

fn provider_config(env: &[(&str, &str)], config: &str, credentials: &str) -> ProviderConfig {
    let endpoint = testbed::endpoint(Emulator::Moto);
    let mut pairs: Vec<(String, String)> = vec![
        ("HOME".into(), HOME.into()),
        ("AWS_ENDPOINT_URL".into(), endpoint),
        ("AWS_EC2_METADATA_DISABLED".into(), "true".into()),
    ];
    pairs.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    aws::provider_config(pairs).fs(Fs::from_files([
        (format!("{HOME}/.aws/config"), config.to_owned()),
        (format!("{HOME}/.aws/credentials"), credentials.to_owned()),
    ]))
}

async fn caller_arn(config: &AwsConfig) -> String {
    // The session's STS client: the config's credentials, region and endpoint (AWS_ENDPOINT_URL).
    let sts = AwsSession::from_config(config.clone()).sts().unwrap();
    sts.get_caller_identity().await.unwrap().arn
}

#[tokio::test]
async fn profile_role_chain_resolves_through_moto_sts() {
    let config = "[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = ops\n\
                  role_session_name = deploy-it\nduration_seconds = 900\nregion = eu-west-1\n\
                  [profile ops]\nrole_arn = arn:aws:iam::123456789012:role/ops\nsource_profile = base\n";
    let credentials = "[base]\naws_access_key_id = AKIDBASEEXAMPLE\naws_secret_access_key = base-secret\n";
    let config = AwsConfig::loader()
        .provider_config(provider_config(&[("AWS_PROFILE", "deploy")], config, credentials))
        .load()
        .await
        .unwrap();
    assert_eq!(config.region(), "eu-west-1");
    let creds = config.credentials_provider().provide_credentials().await.unwrap();
    assert_ne!(creds.access_key_id(), "AKIDBASEEXAMPLE");
    assert!(creds.session_token().is_some() && creds.expiry().is_some());
    let arn = caller_arn(&config).await;
    assert!(arn.ends_with(":assumed-role/deploy/deploy-it"), "{arn}");
}

#[tokio::test]
async fn session_assume_role_yields_working_credentials() {
    let base = AwsConfig::loader()
        .provider_config(provider_config(
            &[("AWS_ACCESS_KEY_ID", "AKIDSESSIONBASE"), ("AWS_SECRET_ACCESS_KEY", "s"), ("AWS_REGION", "us-west-2")],
            "",
            "",
        ))
        .load()
        .await
        .unwrap();
    let assumed = base
        .assume_role_builder("arn:aws:iam::123456789012:role/cross-account")
        .session_name("cloudkit-cross")
        .external_id("partner-42")
        .build()
        .unwrap();
    assert_eq!(assumed.region(), "us-west-2");
    let arn = caller_arn(&assumed).await;
    assert!(arn.ends_with(":assumed-role/cross-account/cloudkit-cross"), "{arn}");
    // a second config from the same base works independently
    let other = base.assume_role("arn:aws:iam::123456789012:role/other", "cloudkit-other").unwrap();
    let arn = caller_arn(&other).await;
    assert!(arn.ends_with(":assumed-role/other/cloudkit-other"), "{arn}");
}
