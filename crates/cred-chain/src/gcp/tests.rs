use std::io::Write as _;
use std::sync::Arc;

use cloudkit_core::testing::{Canned, ReplayHttp};
use cloudkit_core::{HttpRequest, Method, Sign as _, Url};

use super::*;

fn key_json() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../signer/tests/data/gcs/test_service_account.not-a-test.json");
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("conformance key {path} missing: {e}"))
}

fn temp_file(name: &str, contents: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cloudkit-gcp-{}-{}", std::process::id(), fastrand::u64(..)));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::File::create(&path).unwrap().write_all(contents.as_bytes()).unwrap();
    path
}

#[tokio::test]
async fn emulator_host_means_anonymous_and_the_emulator_endpoint() {
    let env = GcpEnv::from_pairs([("STORAGE_EMULATOR_HOST", "localhost:9023"), ("GOOGLE_CLOUD_PROJECT", "p1")]);
    let http = Arc::new(ReplayHttp::new());
    let config = GcpConfig::loader().env(env).http(http.clone()).load().await.unwrap();
    assert!(config.is_emulator());
    assert!(config.credentials().is_anonymous());
    assert_eq!(config.storage_endpoint().as_str(), "http://localhost:9023/");
    assert_eq!(config.project_id(), Some("p1"));
    assert!(matches!(config.credential_source(), CredentialSource::Emulator(_)));
    // the bearer signer adds nothing for anonymous credentials
    let signer = BearerTokenSigner::new(config.credentials().clone());
    let mut r = HttpRequest::new(Method::GET, Url::parse("http://localhost:9023/storage/v1/b").unwrap());
    signer.sign(&mut r).await.unwrap();
    assert!(r.headers.get("authorization").is_none());
    assert!(config.blob_signer().is_err());
}

#[test]
fn emulator_values_with_and_without_scheme() {
    assert_eq!(emulator_endpoint("http://127.0.0.1:9000/").unwrap().as_str(), "http://127.0.0.1:9000/");
    assert_eq!(emulator_endpoint("localhost:4443").unwrap().as_str(), "http://localhost:4443/");
    assert_eq!(emulator_endpoint("https://gcs.test").unwrap().as_str(), "https://gcs.test/");
    assert!(emulator_endpoint("http://").is_err());
}

#[tokio::test]
async fn service_account_file_from_env_signs_requests_locally_and_gives_the_project() {
    let path = temp_file("sa.json", &key_json());
    let env = GcpEnv::from_pairs([("GOOGLE_APPLICATION_CREDENTIALS", path.to_str().unwrap())]);
    let config = GcpConfig::loader().env(env).http(Arc::new(ReplayHttp::new())).load().await.unwrap();
    assert_eq!(config.credential_source(), &CredentialSource::EnvironmentFile(path.clone()));
    assert_eq!(config.project_id(), Some("dummy-project-id"));
    assert_eq!(config.storage_endpoint().as_str(), "https://storage.googleapis.com/");
    // service-account credentials mint a self-signed JWT locally: no network needed
    let signer = BearerTokenSigner::new(config.credentials().clone());
    let mut r = HttpRequest::new(Method::GET, Url::parse("https://storage.googleapis.com/storage/v1/b").unwrap());
    signer.sign(&mut r).await.unwrap();
    let auth = r.headers["authorization"].to_str().unwrap();
    assert!(auth.starts_with("Bearer "), "{auth}");
    // and it can sign URLs locally
    let blob = config.blob_signer().unwrap();
    assert_eq!(blob.client_email().await.unwrap(), "test-iam-credentials@dummy-project-id.iam.gserviceaccount.com");
    // nothing secret in Debug: the config, the credentials, the signers
    for debug in [
        format!("{config:?}"),
        format!("{:?}", config.credentials()),
        format!("{signer:?}"),
        format!("{blob:?}"),
        format!("{r:?}"),
    ] {
        assert!(!debug.contains("PRIVATE KEY") && !debug.contains("MIIE"), "{debug}");
        assert!(!debug.contains(auth.trim_start_matches("Bearer ")), "token in {debug}");
    }
}

#[tokio::test]
async fn env_project_wins_over_the_file() {
    let path = temp_file("sa.json", &key_json());
    let env =
        GcpEnv::from_pairs([("GOOGLE_APPLICATION_CREDENTIALS", path.to_str().unwrap()), ("GCLOUD_PROJECT", "legacy")]);
    let config = GcpConfig::loader().env(env).http(Arc::new(ReplayHttp::new())).load().await.unwrap();
    assert_eq!(config.project_id(), Some("legacy"));
}

#[tokio::test]
async fn missing_credentials_file_names_the_variable_and_path() {
    let env = GcpEnv::from_pairs([("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/cloudkit/sa.json")]);
    let e = GcpConfig::loader().env(env).http(Arc::new(ReplayHttp::new())).load().await.unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("GOOGLE_APPLICATION_CREDENTIALS") && text.contains("/nonexistent/cloudkit/sa.json"),
        "{text}"
    );
}

#[tokio::test]
async fn well_known_file_is_used_and_bad_json_never_echoes_secrets() {
    let home = std::env::temp_dir().join(format!("cloudkit-gcp-home-{}-{}", std::process::id(), fastrand::u64(..)));
    let dir = home.join(".config/gcloud");
    std::fs::create_dir_all(&dir).unwrap();
    let user = r#"{"type":"authorized_user","client_id":"cid","client_secret":"TOPSECRET-xyz","refresh_token":"REFRESH-abc","quota_project_id":"qp"}"#;
    std::fs::write(dir.join("application_default_credentials.json"), user).unwrap();
    let env = GcpEnv::from_pairs([("HOME", home.to_str().unwrap())]);
    let config = GcpConfig::loader().env(env.clone()).http(Arc::new(ReplayHttp::new())).load().await.unwrap();
    assert!(matches!(config.credential_source(), CredentialSource::WellKnownFile(_)));
    assert_eq!(config.project_id(), Some("qp"));
    let e = config.blob_signer().unwrap_err();
    assert!(e.to_string().contains("authorized_user"), "{e}");
    assert!(!format!("{config:?}").contains("TOPSECRET"));

    std::fs::write(dir.join("application_default_credentials.json"), r#"{"type":"nope","secret":"TOPSECRET"}"#)
        .unwrap();
    let e = GcpConfig::loader().env(env.clone()).http(Arc::new(ReplayHttp::new())).load().await.unwrap_err();
    assert!(e.to_string().contains("unsupported credentials type `nope`"), "{e}");
    assert!(!e.to_string().contains("TOPSECRET"));
    std::fs::write(dir.join("application_default_credentials.json"), "{\"private_key\": \"TOPSECRET").unwrap();
    let e = GcpConfig::loader().env(env).http(Arc::new(ReplayHttp::new())).load().await.unwrap_err();
    assert!(!e.to_string().contains("TOPSECRET"), "{e}");
    assert!(e.to_string().contains("gcloud ADC file"), "{e}");
}

/// The project-id answer is read through the pipeline with a small cap: an endless or huge body
/// (a misbehaving server, or something else listening on the metadata address) leaves the project
/// unknown instead of being read into memory; an error status does too.
#[tokio::test]
async fn metadata_project_probe_reads_a_capped_answer() {
    let env = || GcpEnv::from_pairs([("HOME", "/nonexistent-home"), ("GCE_METADATA_HOST", "169.254.169.254")]);
    for answer in [Canned::status(200, vec![b'p'; 64 * 1024]), Canned::status(500, "mds-project")] {
        let http = Arc::new(ReplayHttp::new());
        http.push(answer);
        let config = GcpConfig::loader().env(env()).http(http.clone()).load().await.unwrap();
        assert_eq!(config.project_id(), None);
        assert_eq!(http.requests().len(), 1, "one attempt, no retry");
    }
}

#[tokio::test]
async fn metadata_server_fallback_asks_it_for_the_project() {
    // No emulator exists for the GCE metadata server: a canned response stands in for it.
    let http = Arc::new(ReplayHttp::new());
    http.push(Canned::status(200, "mds-project"));
    let env = GcpEnv::from_pairs([("HOME", "/nonexistent-home"), ("GCE_METADATA_HOST", "169.254.169.254")]);
    let config = GcpConfig::loader().env(env).http(http.clone()).load().await.unwrap();
    assert_eq!(config.credential_source(), &CredentialSource::MetadataServer);
    assert_eq!(config.project_id(), Some("mds-project"));
    let req = &http.requests()[0];
    assert_eq!(req.url.as_str(), "http://169.254.169.254/computeMetadata/v1/project/project-id");
    assert_eq!(req.headers["metadata-flavor"], "Google");
    // token errors name what was tried
    let detail = config.credential_source_detail();
    assert!(detail.contains("169.254.169.254") && detail.contains("GOOGLE_APPLICATION_CREDENTIALS"), "{detail}");
    assert!(detail.contains("/nonexistent-home/.config/gcloud/application_default_credentials.json"), "{detail}");
}

#[tokio::test]
async fn pipeline_builder_is_preset_from_the_config() {
    use cloudkit_core::{Operation, RetryConfig, TimeoutConfig};
    let http = Arc::new(ReplayHttp::new());
    let env = GcpEnv::from_pairs([("STORAGE_EMULATOR_HOST", "localhost:9023")]);
    let timeouts = TimeoutConfig { attempt: Some(std::time::Duration::from_secs(7)), operation: None };
    let config = GcpConfig::loader()
        .env(env)
        .http(http.clone())
        .retry(RetryConfig::standard().with_max_attempts(2))
        .timeouts(timeouts)
        .load()
        .await
        .unwrap();
    let pipeline = config.pipeline_builder("GCS").build().unwrap();
    assert_eq!(pipeline.service(), "GCS");
    assert_eq!(pipeline.retry_config().max_attempts(), 2);
    assert!(Arc::ptr_eq(pipeline.quota(), &config.retry_quota()), "clients of one config share its quota");
    // the config's HTTP client, and anonymous credentials add no authorization
    http.push(Canned::status(503, ""));
    http.push(Canned::status(200, "ok"));
    let request = HttpRequest::new(Method::GET, Url::parse("http://localhost:9023/storage/v1/b").unwrap());
    let response = pipeline.send_buffered(&Operation::new("buckets.list"), request).await.unwrap();
    assert_eq!(&response.body[..], b"ok");
    let sent = http.requests();
    assert_eq!(sent.len(), 2, "the config's retry settings apply");
    assert!(sent[0].headers.get("authorization").is_none());
}

/// Issue 15, defect 17: Google bearer tokens went over plain http to any configured endpoint.
/// Only the emulator named by `STORAGE_EMULATOR_HOST` (or anonymous access) may be plain http:
/// the loader refuses such an endpoint with credentials, and the signer refuses such a URL.
#[tokio::test]
async fn bearer_tokens_never_go_over_plain_http_except_to_the_named_emulator() {
    let http = Arc::new(ReplayHttp::new());
    let loader = || GcpConfig::loader().env(GcpEnv::from_pairs([("X", "y")])).http(http.clone());

    // an explicit plain-http endpoint with credentials: refused when loading
    let e = loader()
        .credentials_json(key_json())
        .storage_endpoint(Url::parse("http://storage.example.com:8080").unwrap())
        .load()
        .await
        .unwrap_err();
    assert!(matches!(e, GcpConfigError::InvalidEndpoint { .. }), "{e:?}");
    assert!(e.to_string().contains("over https only") && e.to_string().contains("storage.example.com"), "{e}");
    // even loopback: only STORAGE_EMULATOR_HOST names an emulator
    let local = Url::parse("http://127.0.0.1:9023").unwrap();
    assert!(loader().credentials_json(key_json()).storage_endpoint(local.clone()).load().await.is_err());
    // https, or anonymous access, is fine
    let https = Url::parse("https://storage.example.com").unwrap();
    loader().credentials_json(key_json()).storage_endpoint(https.clone()).load().await.unwrap();
    loader().anonymous().storage_endpoint(local.clone()).load().await.unwrap();

    // the signer of a config with credentials refuses any plain-http request…
    let config = loader().credentials_json(key_json()).load().await.unwrap();
    let signer = config.bearer_signer();
    for url in ["http://storage.googleapis.com/storage/v1/b", "http://127.0.0.1:9023/storage/v1/b"] {
        let mut r = HttpRequest::new(Method::GET, Url::parse(url).unwrap());
        let e = signer.sign(&mut r).await.unwrap_err();
        assert!(e.to_string().contains("over https only"), "{e}");
        assert!(r.headers.get("authorization").is_none(), "no token was added");
    }
    let mut r = HttpRequest::new(Method::GET, https.join("/storage/v1/b").unwrap());
    signer.sign(&mut r).await.unwrap();
    assert!(r.headers.contains_key("authorization"));
    // …and so does the pipeline built from it, before anything is sent
    let pipeline = config.pipeline_builder("GCS").build().unwrap();
    let e = pipeline
        .send_buffered(
            &cloudkit_core::Operation::new("buckets.list"),
            HttpRequest::new(Method::GET, Url::parse("http://storage.example.com/storage/v1/b").unwrap()),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), cloudkit_core::ErrorKind::Signing, "{e}");
    assert!(http.requests().is_empty());

    // STORAGE_EMULATOR_HOST with credentials: plain http to that emulator only
    let env = GcpEnv::from_pairs([("STORAGE_EMULATOR_HOST", "127.0.0.1:9023")]);
    let config = GcpConfig::loader().env(env).http(http.clone()).credentials_json(key_json()).load().await.unwrap();
    assert!(config.is_emulator());
    let signer = config.bearer_signer();
    let mut r = HttpRequest::new(Method::GET, local.join("/storage/v1/b").unwrap());
    signer.sign(&mut r).await.unwrap();
    assert!(r.headers.contains_key("authorization"));
    let mut r = HttpRequest::new(Method::GET, Url::parse("http://127.0.0.1:9024/storage/v1/b").unwrap());
    assert!(signer.sign(&mut r).await.is_err());
    assert!(signer.check_url(&Url::parse("http://other.example:9023/").unwrap()).is_err());

    // a hand-built signer allows nothing plain unless told
    let plain = BearerTokenSigner::new(config.credentials().clone());
    assert!(plain.check_url(&local).is_err());
    assert!(plain.clone().allow_plain_http_to(&local).check_url(&local).is_ok());
    assert!(BearerTokenSigner::new(GcpCredentials::Anonymous).check_url(&local).is_ok());
}

#[tokio::test]
async fn compute_endpoint_default_override_and_plain_http_to_loopback_only() {
    let http = Arc::new(ReplayHttp::new());
    let config = GcpConfig::loader()
        .env(GcpEnv::from_pairs([("X", "y")]))
        .credentials_json(key_json())
        .http(http.clone())
        .load()
        .await
        .unwrap();
    assert_eq!(config.compute_endpoint().as_str(), DEFAULT_COMPUTE_ENDPOINT);
    let local = Url::parse("http://127.0.0.1:9100/compute/v1/").unwrap();
    assert!(config.compute_bearer_signer().check_url(&local).is_err());

    // gcloud's override variable, a loopback host: plain http allowed to that origin only
    let env = GcpEnv::from_pairs([(COMPUTE_ENDPOINT_ENV, "http://127.0.0.1:9100/compute/v1")]);
    let config = GcpConfig::loader().env(env).credentials_json(key_json()).http(http.clone()).load().await.unwrap();
    assert_eq!(config.compute_endpoint().as_str(), "http://127.0.0.1:9100/compute/v1/");
    let signer = config.compute_bearer_signer();
    let mut r = HttpRequest::new(Method::GET, local.join("projects/p/zones").unwrap());
    signer.sign(&mut r).await.unwrap();
    assert!(r.headers.contains_key("authorization"));
    assert!(signer.check_url(&Url::parse("http://127.0.0.1:9101/").unwrap()).is_err());
    // the storage signer is unchanged
    assert!(config.bearer_signer().check_url(&local).is_err());

    // cloudkit's alias, when gcloud's variable is unset
    let env = GcpEnv::from_pairs([(COMPUTE_ENDPOINT_ENV_ALIAS, "http://localhost:9200/compute/v1/")]);
    let config = GcpConfig::loader().env(env).credentials_json(key_json()).http(http.clone()).load().await.unwrap();
    assert_eq!(config.compute_endpoint().as_str(), "http://localhost:9200/compute/v1/");
    assert!(config.compute_bearer_signer().check_url(config.compute_endpoint()).is_ok());
    let env = GcpEnv::from_pairs([
        (COMPUTE_ENDPOINT_ENV_ALIAS, "http://localhost:9200/compute/v1/"),
        (COMPUTE_ENDPOINT_ENV, "https://compute.example.com/compute/v1/"),
    ]);
    let config = GcpConfig::loader().env(env).credentials_json(key_json()).http(http.clone()).load().await.unwrap();
    assert_eq!(config.compute_endpoint().as_str(), "https://compute.example.com/compute/v1/");

    // the loader wins over the variable; a plain-http host that is not loopback is refused
    let env = GcpEnv::from_pairs([(COMPUTE_ENDPOINT_ENV, "http://127.0.0.1:9100/")]);
    let e = GcpConfig::loader()
        .env(env)
        .credentials_json(key_json())
        .compute_endpoint(Url::parse("http://compute.example.com/compute/v1/").unwrap())
        .http(http.clone())
        .load()
        .await
        .unwrap_err();
    assert!(matches!(e, GcpConfigError::InvalidEndpoint { .. }), "{e}");
    assert!(e.to_string().contains("over https only"), "{e}");
    // anonymous access may go anywhere (nothing secret is sent)
    let config = GcpConfig::loader()
        .env(GcpEnv::from_pairs([("X", "y")]))
        .anonymous()
        .compute_endpoint(Url::parse("http://compute.example.com/compute/v1").unwrap())
        .http(http)
        .load()
        .await
        .unwrap();
    assert_eq!(config.compute_endpoint().as_str(), "http://compute.example.com/compute/v1/");
}

/// The `scope` claim of the self-signed JWT a service-account signer puts on a request.
async fn signed_scope(signer: &BearerTokenSigner) -> String {
    use base64::Engine as _;
    let mut r = HttpRequest::new(Method::GET, Url::parse("https://compute.googleapis.com/compute/v1/").unwrap());
    signer.sign(&mut r).await.unwrap();
    let auth = r.headers["authorization"].to_str().unwrap();
    let jwt = auth.strip_prefix("Bearer ").unwrap();
    let claims = jwt.split('.').nth(1).unwrap();
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
    claims["scope"].as_str().unwrap_or_default().to_owned()
}

/// Issue 18: Compute Engine clients ask for the compute scope unless the loader was told the
/// scopes; the storage signer keeps google-cloud-auth's `cloud-platform`.
#[tokio::test]
async fn compute_signer_defaults_to_the_compute_scope_and_the_loader_scopes_win() {
    const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";
    let http = Arc::new(ReplayHttp::new());
    let env = || GcpEnv::from_pairs([("X", "y")]);
    let config = GcpConfig::loader().env(env()).credentials_json(key_json()).http(http.clone()).load().await.unwrap();
    assert_eq!(signed_scope(&config.compute_bearer_signer()).await, COMPUTE_SCOPE);
    assert_eq!(signed_scope(&config.bearer_signer()).await, CLOUD_PLATFORM);

    // a credentials file found by ADC: the same
    let path = temp_file("sa.json", &key_json());
    let file_env = GcpEnv::from_pairs([("GOOGLE_APPLICATION_CREDENTIALS", path.to_str().unwrap())]);
    let config = GcpConfig::loader().env(file_env).http(http.clone()).load().await.unwrap();
    assert_eq!(signed_scope(&config.compute_bearer_signer()).await, COMPUTE_SCOPE);

    // scopes chosen in the loader apply to every client, Compute included
    let read_only = "https://www.googleapis.com/auth/compute.readonly";
    let config = GcpConfig::loader()
        .env(env())
        .credentials_json(key_json())
        .scopes([read_only])
        .http(http.clone())
        .load()
        .await
        .unwrap();
    assert_eq!(signed_scope(&config.compute_bearer_signer()).await, read_only);
    assert_eq!(signed_scope(&config.bearer_signer()).await, read_only);
    let config = GcpConfig::loader()
        .env(env())
        .credentials_json(key_json())
        .scopes([CLOUD_PLATFORM])
        .http(http.clone())
        .load()
        .await
        .unwrap();
    assert_eq!(signed_scope(&config.compute_bearer_signer()).await, CLOUD_PLATFORM);

    // credentials passed in are used as they are
    let own = config.credentials().clone();
    let config = GcpConfig::loader().env(env()).credentials(own).http(http).load().await.unwrap();
    assert_eq!(signed_scope(&config.compute_bearer_signer()).await, CLOUD_PLATFORM);
}
