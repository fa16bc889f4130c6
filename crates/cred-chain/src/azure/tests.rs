//! Identity endpoints have no emulator: these tests serve the documented JSON responses from an
//! in-process HTTP server (`cloudkit_core::testing::TestServer`) and run a fake `az` script from
//! a temporary directory put on the (fake) PATH through the `AzureEnv` seam.

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use base64::Engine;
use cloudkit_core::testing::{Canned, RecordedRequest, TempDir, TestServer};

use super::*;

const SCOPE: &str = "https://storage.azure.com/.default";
const TEST_PEM: &str = include_str!("test_client_cert.pem");

fn form(r: &RecordedRequest) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(&r.body).into_owned().collect()
}

fn entra_ok(token: &str, expires_in: u64) -> Canned {
    Canned::status(200, format!(r#"{{"token_type":"Bearer","expires_in":{expires_in},"ext_expires_in":{expires_in},"access_token":"{token}"}}"#))
        .with_header("content-type", "application/json")
}

fn options(env: AzureEnv) -> IdentityOptions {
    IdentityOptions::with_env(env)
}

/// A closed local port: connecting fails at once (stands for "no IMDS on this machine").
fn closed_port_url() -> url::Url {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    drop(l);
    url::Url::parse(&format!("http://127.0.0.1:{port}")).unwrap()
}

#[tokio::test]
async fn environment_client_secret_honours_authority_host_and_caches() {
    let server = TestServer::start(|_| entra_ok("tok-secret", 3600)).unwrap();
    let env = AzureEnv::from_pairs([
        ("AZURE_TENANT_ID", "my-tenant"),
        ("AZURE_CLIENT_ID", "my-client"),
        ("AZURE_CLIENT_SECRET", "s3cr3t-value"),
        ("AZURE_AUTHORITY_HOST", server.base_url().as_str()),
    ]);
    let cred = EnvironmentCredential::new(options(env));
    let t = cred.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(t.token.secret(), "tok-secret");
    assert!(t.expires_on > time::OffsetDateTime::now_utc() + std::time::Duration::from_secs(3000));
    let t2 = cred.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(t2.token.secret(), "tok-secret");
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "the second call is served from the cache");
    assert_eq!(reqs[0].url.path(), "/my-tenant/oauth2/v2.0/token");
    let f = form(&reqs[0]);
    assert_eq!(f["client_id"], "my-client");
    assert_eq!(f["client_secret"], "s3cr3t-value");
    assert_eq!(f["grant_type"], "client_credentials");
    assert_eq!(f["scope"], SCOPE);
    assert!(!format!("{cred:?}").contains("s3cr3t"), "secret in Debug");
}

#[tokio::test]
async fn tokens_expiring_within_five_minutes_are_refreshed_and_refresh_is_single_flight() {
    let server = TestServer::start(|_| entra_ok("short", 200)).unwrap();
    let cred = Arc::new(ClientSecretCredential::new(
        "t",
        "c",
        Secret::new("x"),
        IdentityOptions { authority_host: Some(server.base_url()), ..IdentityOptions::default() },
    ));
    cred.get_token(&[SCOPE], None).await.unwrap();
    cred.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(server.requests().len(), 2, "a token valid for < 5 minutes is refreshed");

    let server = TestServer::start(|_| {
        std::thread::sleep(std::time::Duration::from_millis(200));
        entra_ok("long", 3600)
    })
    .unwrap();
    let cred = Arc::new(ClientSecretCredential::new(
        "t",
        "c",
        Secret::new("x"),
        IdentityOptions { authority_host: Some(server.base_url()), ..IdentityOptions::default() },
    ));
    let calls = (0..10).map(|_| {
        let c = cred.clone();
        tokio::spawn(async move { c.get_token(&[SCOPE], None).await.map(|t| t.token.secret().to_owned()) })
    });
    for r in futures_join(calls).await {
        assert_eq!(r, "long");
    }
    assert_eq!(server.requests().len(), 1, "ten concurrent callers, one token request");
    // another scope is cached separately
    cred.get_token(&["https://management.azure.com/.default"], None).await.unwrap();
    assert_eq!(server.requests().len(), 2);
}

async fn futures_join(
    handles: impl Iterator<Item = tokio::task::JoinHandle<azure_core::Result<String>>>,
) -> Vec<String> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.unwrap().unwrap());
    }
    out
}

#[tokio::test]
async fn environment_client_certificate_sends_a_verifiable_rs256_assertion() {
    let server = TestServer::start(|_| entra_ok("tok-cert", 3600)).unwrap();
    let dir = TempDir::new("az-cert").unwrap();
    let pem_path = dir.join("cert.pem");
    std::fs::write(&pem_path, TEST_PEM).unwrap();
    let env = AzureEnv::from_pairs([
        ("AZURE_TENANT_ID", "tenant1"),
        ("AZURE_CLIENT_ID", "client1"),
        ("AZURE_CLIENT_CERTIFICATE_PATH", pem_path.to_str().unwrap()),
        ("AZURE_AUTHORITY_HOST", server.base_url().as_str()),
    ]);
    let cred = EnvironmentCredential::new(options(env));
    assert_eq!(cred.get_token(&[SCOPE], None).await.unwrap().token.secret(), "tok-cert");
    let f = form(&server.requests()[0]);
    assert_eq!(f["client_assertion_type"], "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    let jwt = &f["client_assertion"];
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header: serde_json::Value = serde_json::from_slice(&b64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(header["alg"], "RS256");
    assert!(header["x5t"].as_str().is_some_and(|s| !s.is_empty()));
    let claims: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(claims["iss"], "client1");
    assert_eq!(claims["aud"], format!("{}tenant1/oauth2/v2.0/token", server.base_url()));
    // verify the signature with the key's public half
    let der = super::environment::tests_support::private_key_der(TEST_PEM);
    let kp = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    let public = ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        ring::signature::KeyPair::public_key(&kp).as_ref().to_vec(),
    );
    public.verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &b64.decode(parts[2]).unwrap()).unwrap();
}

#[tokio::test]
async fn workload_identity_exchanges_the_federated_token_file() {
    let server = TestServer::start(|_| entra_ok("tok-wi", 3600)).unwrap();
    let dir = TempDir::new("az-wi").unwrap();
    let file = dir.join("token");
    std::fs::write(&file, "federated.jwt.value\n").unwrap();
    let env = AzureEnv::from_pairs([
        ("AZURE_TENANT_ID", "t-wi"),
        ("AZURE_CLIENT_ID", "c-wi"),
        ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
    ]);
    let cred =
        WorkloadIdentityCredential::new(IdentityOptions { authority_host: Some(server.base_url()), ..options(env) });
    assert_eq!(cred.get_token(&[SCOPE], None).await.unwrap().token.secret(), "tok-wi");
    let r = &server.requests()[0];
    assert_eq!(r.url.path(), "/t-wi/oauth2/v2.0/token");
    assert_eq!(form(r)["client_assertion"], "federated.jwt.value");
    assert!(
        WorkloadIdentityCredential::new(options(AzureEnv::from_pairs([("AZURE_CLIENT_ID", "x")])))
            .get_token(&[SCOPE], None)
            .await
            .unwrap_err()
            .to_string()
            .contains("AZURE_FEDERATED_TOKEN_FILE")
    );
}

#[tokio::test]
async fn managed_identity_imds_request_shape_and_user_assigned_client_id() {
    // IMDS documents expires_on as a string of unix seconds.
    let server = TestServer::start(|_| {
        Canned::status(
            200,
            r#"{"access_token":"tok-imds","expires_on":"4102444800","expires_in":"86399","resource":"https://storage.azure.com","token_type":"Bearer"}"#,
        )
    })
    .unwrap();
    let cred = ManagedIdentityCredential::new(
        Some(ManagedIdentityId::ClientId("uai-client".into())),
        IdentityOptions {
            imds_endpoint: Some(server.base_url()),
            ..IdentityOptions::with_env(AzureEnv::from_pairs::<&str, &str>([]))
        },
    );
    let t = cred.get_token(&[SCOPE], None).await.unwrap();
    assert_eq!(t.token.secret(), "tok-imds");
    assert_eq!(t.expires_on.unix_timestamp(), 4_102_444_800);
    let r = &server.requests()[0];
    assert_eq!(r.url.path(), "/metadata/identity/oauth2/token");
    assert_eq!(r.headers["metadata"], "true");
    let q: std::collections::HashMap<String, String> = r.url.query_pairs().into_owned().collect();
    assert_eq!(q["resource"], "https://storage.azure.com");
    assert_eq!(q["client_id"], "uai-client");
    assert!(q.contains_key("api-version"));
}

#[tokio::test]
async fn managed_identity_app_service_uses_identity_endpoint_and_header() {
    let server = TestServer::start(|_| {
        Canned::status(200, r#"{"access_token":"tok-app","expires_on":4102444800,"resource":"https://storage.azure.com","token_type":"Bearer","client_id":"x"}"#)
    })
    .unwrap();
    let env = AzureEnv::from_pairs([
        ("IDENTITY_ENDPOINT", server.url("/msi/token").to_string()),
        ("IDENTITY_HEADER", "hdr-secret".to_owned()),
    ]);
    let cred = ManagedIdentityCredential::new(None, options(env));
    assert_eq!(cred.get_token(&[SCOPE], None).await.unwrap().token.secret(), "tok-app");
    let r = &server.requests()[0];
    assert_eq!(r.url.path(), "/msi/token");
    assert_eq!(r.headers["x-identity-header"], "hdr-secret");
    assert!(r.url.query().unwrap().contains("api-version=2019-08-01"));
}

#[tokio::test]
async fn imds_400_and_unreachable_imds_are_unavailable() {
    let server = TestServer::start(|_| {
        Canned::status(400, r#"{"error":"invalid_request","error_description":"Identity not found"}"#)
    })
    .unwrap();
    let mi = ManagedIdentityCredential::new(
        None,
        IdentityOptions { imds_endpoint: Some(server.base_url()), ..IdentityOptions::default() },
    );
    let e = FetchToken::fetch(&mi, &[SCOPE]).await.unwrap_err();
    assert!(matches!(e, SourceError::Unavailable(_)), "{e:?}");
    let mi = ManagedIdentityCredential::new(
        None,
        IdentityOptions { imds_endpoint: Some(closed_port_url()), ..IdentityOptions::default() },
    );
    let e = FetchToken::fetch(&mi, &[SCOPE]).await.unwrap_err();
    assert!(matches!(e, SourceError::Unavailable(_)), "{e:?}");
}

#[cfg(unix)]
fn fake_az(dir: &std::path::Path, script_body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join("az");
    std::fs::write(&path, format!("#!/bin/sh\n{script_body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[tokio::test]
async fn azure_cli_runs_az_from_the_configured_path() {
    let dir = TempDir::new("az-cli").unwrap();
    let args_file = dir.join("args");
    fake_az(
        &dir,
        &format!(
            "echo \"$@\" > {}\necho '{{\"accessToken\":\"tok-cli\",\"expiresOn\":\"2100-01-01 00:00:00.000000\",\"expires_on\":4102444800,\"subscription\":\"s\",\"tenant\":\"t\",\"tokenType\":\"Bearer\"}}'",
            args_file.display()
        ),
    );
    let env = AzureEnv::from_pairs([("PATH", format!("{}:/bin:/usr/bin", dir.display()))]);
    let cred = AzureCliCredential::new(options(env));
    assert_eq!(cred.get_token(&[SCOPE], None).await.unwrap().token.secret(), "tok-cli");
    let args = std::fs::read_to_string(&args_file).unwrap();
    assert_eq!(args.trim(), format!("account get-access-token --output json --scope {SCOPE}"));

    fake_az(&dir, "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1");
    let env = AzureEnv::from_pairs([("PATH", format!("{}:/bin:/usr/bin", dir.display()))]);
    let e = FetchToken::fetch(&AzureCliCredential::new(options(env)), &[SCOPE]).await.unwrap_err();
    assert!(matches!(&e, SourceError::Unavailable(m) if m.contains("az login")), "{e:?}");
}

#[tokio::test]
async fn chain_order_exclusions_and_all_failed_message() {
    let empty = TempDir::new("az-nopath").unwrap();
    let env = AzureEnv::from_pairs([("PATH", empty.to_str().unwrap())]);
    let chain = DefaultAzureCredential::builder()
        .options(IdentityOptions { imds_endpoint: Some(closed_port_url()), ..options(env.clone()) })
        .build();
    assert_eq!(
        chain.source_names(),
        ["EnvironmentCredential", "WorkloadIdentityCredential", "ManagedIdentityCredential", "AzureCliCredential"]
    );
    let msg = chain.get_token(&[SCOPE], None).await.unwrap_err().to_string();
    for (source, why) in [
        ("EnvironmentCredential", "AZURE_TENANT_ID"),
        ("WorkloadIdentityCredential", "AZURE_FEDERATED_TOKEN_FILE"),
        ("ManagedIdentityCredential", "instance metadata"),
        ("AzureCliCredential", "not found on PATH"),
    ] {
        assert!(msg.contains(source) && msg.contains(why), "{source}/{why} missing from:\n{msg}");
    }
    let only_cli = DefaultAzureCredential::builder()
        .options(options(env))
        .exclude_environment(true)
        .exclude_workload_identity(true)
        .exclude_managed_identity(true)
        .build();
    assert_eq!(only_cli.source_names(), ["AzureCliCredential"]);
}

#[tokio::test]
async fn chain_falls_through_to_imds_then_remembers_it_and_stops_at_a_failing_configured_source() {
    let imds =
        TestServer::start(|_| Canned::status(200, r#"{"access_token":"tok-imds","expires_on":"4102444800"}"#)).unwrap();
    let chain = DefaultAzureCredential::builder()
        .options(IdentityOptions {
            imds_endpoint: Some(imds.base_url()),
            ..options(AzureEnv::from_pairs([("AZURE_CLIENT_ID", "uai")]))
        })
        .build();
    assert_eq!(chain.get_token(&[SCOPE], None).await.unwrap().token.secret(), "tok-imds");
    assert_eq!(chain.chosen_source(), Some("ManagedIdentityCredential"));
    assert!(
        imds.requests()[0].url.query().unwrap().contains("client_id=uai"),
        "AZURE_CLIENT_ID is the user-assigned id"
    );

    let entra = TestServer::start(|_| {
        Canned::status(401, r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x"}"#)
    })
    .unwrap();
    let chain = DefaultAzureCredential::builder()
        .options(IdentityOptions {
            authority_host: Some(entra.base_url()),
            imds_endpoint: Some(imds.base_url()),
            ..options(AzureEnv::from_pairs([
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "c"),
                ("AZURE_CLIENT_SECRET", "wrong-secret-value"),
            ]))
        })
        .build();
    let msg = chain.get_token(&[SCOPE], None).await.unwrap_err().to_string();
    assert!(msg.contains("EnvironmentCredential: failed") && msg.contains("401"), "{msg}");
    assert!(!msg.contains("wrong-secret-value"), "secret leaked: {msg}");
    assert_eq!(imds.requests().len(), 1, "the chain stopped before managed identity");
}

#[test]
fn authority_must_be_https_except_loopback() {
    let o = options(AzureEnv::from_pairs([("AZURE_AUTHORITY_HOST", "http://login.example.com")]));
    assert!(o.authority().is_err());
    let o = options(AzureEnv::from_pairs([("AZURE_AUTHORITY_HOST", "login.microsoftonline.us")]));
    assert_eq!(o.authority().unwrap().as_str(), "https://login.microsoftonline.us/");
}

/// Issue 15, defect 18: the managed-identity errors quoted up to 500 characters of the response
/// body, which may echo a token or a header. They show the status and the error code only.
#[tokio::test]
async fn identity_errors_quote_the_status_and_code_never_the_body() {
    let body =
        r#"{"error":"invalid_request","error_description":"echo: x-identity-header=HDR-SECRET token=BODY-SECRET"}"#;
    let imds = TestServer::start(move |_| Canned::status(500, body)).unwrap();
    let mi = ManagedIdentityCredential::new(
        None,
        IdentityOptions { imds_endpoint: Some(imds.base_url()), ..options(AzureEnv::from_pairs::<&str, &str>([])) },
    );
    let e = FetchToken::fetch(&mi, &[SCOPE]).await.unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(matches!(e, SourceError::Failed(_)), "{e:?}");
    assert!(text.contains("HTTP 500") && text.contains("invalid_request"), "{text}");
    assert!(!text.contains("SECRET") && !text.contains("echo"), "the body is quoted: {text}");

    // App Service, with a body that is not JSON
    let app = TestServer::start(|_| Canned::status(500, "<html>HDR-SECRET was sent to us</html>")).unwrap();
    let env = AzureEnv::from_pairs([
        ("IDENTITY_ENDPOINT", app.url("/msi/token").to_string()),
        ("IDENTITY_HEADER", "HDR-SECRET".to_owned()),
    ]);
    let e = ManagedIdentityCredential::new(None, options(env)).get_token(&[SCOPE], None).await.unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(text.contains("HTTP 500"), "{text}");
    assert!(!text.contains("SECRET") && !text.contains("html"), "the body is quoted: {text}");

    // IMDS 400 (no identity): unavailable, with the code
    let imds = TestServer::start(move |_| Canned::status(400, body)).unwrap();
    let mi = ManagedIdentityCredential::new(
        None,
        IdentityOptions { imds_endpoint: Some(imds.base_url()), ..options(AzureEnv::from_pairs::<&str, &str>([])) },
    );
    let e = FetchToken::fetch(&mi, &[SCOPE]).await.unwrap_err();
    assert!(
        matches!(&e, SourceError::Unavailable(m) if m.contains("invalid_request") && !m.contains("SECRET")),
        "{e:?}"
    );

    // Entra: the OAuth code and the AADSTS number, not the description or a non-JSON body
    let entra = TestServer::start(|_| {
        Canned::status(401, r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Secret hint: s3c"}"#)
    })
    .unwrap();
    let cred = ClientSecretCredential::new(
        "t",
        "c",
        Secret::new("x"),
        IdentityOptions { authority_host: Some(entra.base_url()), ..IdentityOptions::default() },
    );
    let text = cred.get_token(&[SCOPE], None).await.unwrap_err().to_string();
    assert!(text.contains("HTTP 401 invalid_client (AADSTS7000215)"), "{text}");
    assert!(!text.contains("hint"), "{text}");
}

/// Issue 15, defect 11: after a failed token request, the callers that were waiting for it, and
/// those arriving within the backoff, get that failure instead of each sending a request of their
/// own; after the backoff one request is sent again. For each credential's cache and for the
/// chain's.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_token_request_is_shared_by_concurrent_callers_and_backed_off() {
    let refusing = || {
        TestServer::start(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            Canned::status(401, r#"{"error":"invalid_client"}"#)
        })
        .unwrap()
    };
    async fn storm(cred: Arc<dyn TokenCredential>) -> usize {
        let calls: Vec<_> = (0..8)
            .map(|_| {
                let c = cred.clone();
                tokio::spawn(async move { c.get_token(&[SCOPE], None).await.is_err() })
            })
            .collect();
        let mut failed = 0;
        for c in calls {
            failed += usize::from(c.await.unwrap());
        }
        failed
    }

    let entra = refusing();
    let secret: Arc<dyn TokenCredential> = Arc::new(ClientSecretCredential::new(
        "t",
        "c",
        Secret::new("x"),
        IdentityOptions { authority_host: Some(entra.base_url()), ..IdentityOptions::default() },
    ));
    let chain_server = refusing();
    let chain: Arc<dyn TokenCredential> = Arc::new(
        DefaultAzureCredential::builder()
            .options(IdentityOptions {
                authority_host: Some(chain_server.base_url()),
                ..options(AzureEnv::from_pairs([
                    ("AZURE_TENANT_ID", "t"),
                    ("AZURE_CLIENT_ID", "c"),
                    ("AZURE_CLIENT_SECRET", "x"),
                ]))
            })
            .exclude_workload_identity(true)
            .exclude_managed_identity(true)
            .exclude_cli(true)
            .build(),
    );
    for (name, cred, server) in
        [("ClientSecretCredential", secret, &entra), ("DefaultAzureCredential", chain, &chain_server)]
    {
        assert_eq!(storm(cred.clone()).await, 8, "{name}: every caller gets the failure");
        assert_eq!(server.requests().len(), 1, "{name}: one request for eight concurrent callers");
        assert_eq!(storm(cred.clone()).await, 8);
        assert_eq!(server.requests().len(), 1, "{name}: no new request within the backoff");
        let e = cred.get_token(&[SCOPE], None).await.unwrap_err().to_string();
        assert!(e.contains("invalid_client"), "{name}: the failure is reported: {e}");
        tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
        assert_eq!(storm(cred).await, 8);
        assert_eq!(server.requests().len(), 2, "{name}: one request after the backoff");
    }
}
