//! The fake Compute Engine of `cloudkit_tests::gce`, checked with plain HTTP requests, and the real
//! Google credential chain (`GcpConfig::loader()`, google-cloud-auth) getting bearer tokens that the
//! fake accepts: a service-account key file, an `authorized_user` file exchanged at the fake's token
//! endpoint, and the metadata server.
//!
//! These are Google's documented shapes (the Compute v1 discovery document and the notes copied to
//! `crates/gcp-compute/src/testdata/`) served by an in-process fake, not a live service: what is checked
//! here is that the fake follows the documented wire rules (paging by `pageToken` with empty pages,
//! aggregated lists keyed by zone, operations finishing after polls, the instance state machine, Google's
//! error envelope, `requestId` dedupe, label fingerprints), so that the Compute client's tests against it
//! mean something.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicU32, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use cloudkit_core::{HttpRequest, Method, Sign, Url};
use cloudkit_cred_chain::gcp::{CredentialSource, GcpConfig, GcpEnv};
use cloudkit_tests::gce::{
    CLOUD_PLATFORM_SCOPE, COMPUTE_SCOPE, EMPTY_FINGERPRINT, ENDPOINT_VAR, GceFake, JWT_BEARER_GRANT, PROJECT, ZONES,
};
use cloudkit_tests::testbed::http_client;
use serde_json::{Value, json};

const ZONE: &str = "us-central1-a";
/// Set by the parent test for [`metadata_child`].
const CHILD_VAR: &str = "CLOUDKIT_TEST_GCE_METADATA_CHILD";

/// A raw Compute caller: bearer token, JSON in and out.
struct Raw {
    fake: GceFake,
    http: reqwest::Client,
    token: String,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }

    /// `error.errors[0].reason` of a Google error body, after checking the envelope's shape.
    fn reason(&self) -> String {
        let e = &self.body["error"];
        assert_eq!(e["code"], self.status, "{}", self.body);
        assert!(e["message"].is_string(), "{}", self.body);
        assert!(e["status"].is_string(), "{}", self.body);
        let first = &e["errors"][0];
        assert!(first["message"].is_string() && first["domain"].is_string(), "{}", self.body);
        first["reason"].as_str().unwrap().to_owned()
    }
}

/// A fresh RFC 4122-shaped request id.
fn request_id() -> String {
    static N: AtomicU32 = AtomicU32::new(1);
    let h = format!(
        "{:08x}{:08x}{:016x}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
    );
    format!("{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
}

impl Raw {
    fn new() -> Self {
        let fake = GceFake::start().unwrap();
        let token = fake.issue_token();
        Self { fake, http: http_client(), token }
    }

    async fn call(&self, method: &str, url: &str, body: Option<Value>, token: Option<&str>) -> Answer {
        let url = if url.starts_with("http") { url.to_owned() } else { self.fake.compute_url(url).to_string() };
        let mut req = self.http.request(method.parse().unwrap(), &url);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
        Answer { status, headers, body }
    }

    async fn get(&self, url: &str) -> Answer {
        self.call("GET", url, None, Some(&self.token)).await
    }

    /// A mutating call with a fresh `requestId`.
    async fn post(&self, url: &str, body: Option<Value>) -> Answer {
        let sep = if url.contains('?') { '&' } else { '?' };
        self.call("POST", &format!("{url}{sep}requestId={}", request_id()), body, Some(&self.token)).await
    }

    async fn delete(&self, url: &str) -> Answer {
        self.call("DELETE", &format!("{url}?requestId={}", request_id()), None, Some(&self.token)).await
    }

    /// Follows `nextPageToken` from `url`, returning every page.
    async fn pages(&self, url: &str) -> Vec<Value> {
        let mut pages = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let sep = if url.contains('?') { '&' } else { '?' };
            let page_url = match &token {
                Some(t) => format!("{url}{sep}pageToken={}", urlencode(t)),
                None => url.to_owned(),
            };
            let a = self.get(&page_url).await;
            assert_eq!(a.status, 200, "{page_url}: {}", a.body);
            token = a.body["nextPageToken"].as_str().filter(|t| !t.is_empty()).map(str::to_owned);
            pages.push(a.body);
            if token.is_none() || pages.len() > 50 {
                return pages;
            }
        }
    }

    async fn names(&self, url: &str) -> Vec<String> {
        self.pages(url)
            .await
            .iter()
            .flat_map(|p| p["items"].as_array().cloned().unwrap_or_default())
            .map(|i| i["name"].as_str().unwrap().to_owned())
            .collect()
    }

    fn insert_body(name: &str) -> Value {
        json!({
            "name": name,
            "machineType": format!("zones/{ZONE}/machineTypes/e2-micro"),
            "disks": [{"boot": true, "autoDelete": true,
                       "initializeParams": {"sourceImage": "projects/debian-cloud/global/images/family/debian-12"}}],
            "networkInterfaces": [{"network": "global/networks/default"}],
            "labels": {"env": "test"},
            "metadata": {"items": [{"key": "startup-script", "value": "#! /bin/bash\necho hi"}]},
        })
    }

    /// Polls `zoneOperations.get` until `DONE`, returning the statuses seen and the final operation.
    async fn poll_done(&self, op: &Value) -> (Vec<String>, Value) {
        let name = op["name"].as_str().unwrap();
        let mut seen = Vec::new();
        for _ in 0..20 {
            let a = self.get(&format!("zones/{ZONE}/operations/{name}")).await;
            assert_eq!(a.status, 200, "{}", a.body);
            seen.push(a.body["status"].as_str().unwrap().to_owned());
            if a.body["status"] == "DONE" {
                return (seen, a.body);
            }
        }
        panic!("operation {name} never finished: {seen:?}");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn jwt_claims(token: &str) -> Value {
    let part = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

/// The bearer tokens the real signer of `config` adds to `n` requests to the fake.
async fn bearer_tokens(config: &GcpConfig, fake: &GceFake, n: usize) -> Vec<String> {
    let endpoint = fake.endpoint();
    let signer = config.bearer_signer().allow_plain_http_to(&endpoint);
    let mut out = Vec::new();
    for _ in 0..n {
        let mut req = HttpRequest::new(Method::GET, fake.compute_url("zones"));
        signer.sign(&mut req).await.unwrap();
        let value = req.headers.get("authorization").unwrap().to_str().unwrap().to_owned();
        out.push(value.strip_prefix("Bearer ").unwrap().to_owned());
    }
    out
}

async fn zones_with(http: &reqwest::Client, fake: &GceFake, token: &str) -> u16 {
    http.get(fake.compute_url("zones")).bearer_auth(token).send().await.unwrap().status().as_u16()
}

// ---------------------------------------------------------------------------------------------
// Tokens over the real ADC code
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn service_account_key_file_gives_a_self_signed_jwt_the_fake_accepts_once_cached() {
    let fake = GceFake::start().unwrap();
    let config = GcpConfig::loader().env(fake.gcp_env()).load().await.unwrap();
    assert_eq!(config.credential_source(), &CredentialSource::EnvironmentFile(fake.service_account_key_file()));
    assert_eq!(config.project_id(), Some(PROJECT));
    let tokens = bearer_tokens(&config, &fake, 5).await;
    assert!(tokens.iter().all(|t| *t == tokens[0]), "one cached token for five requests");
    // google-cloud-auth 1.18 signs a JWT with the key (AIP-4111) and never calls token_uri.
    let claims = jwt_claims(&tokens[0]);
    assert_eq!(claims["iss"], fake.client_email());
    assert_eq!(claims["sub"], fake.client_email());
    assert_eq!(claims["scope"], CLOUD_PLATFORM_SCOPE);
    let http = http_client();
    for t in &tokens {
        assert_eq!(zones_with(&http, &fake, t).await, 200);
    }
    assert_eq!(fake.self_signed_tokens_seen(), 1);
    assert_eq!(fake.token_requests(), 0, "the service-account path does not use token_uri");

    // Narrowed to the compute scope.
    let config = GcpConfig::loader().env(fake.gcp_env()).scopes([COMPUTE_SCOPE]).load().await.unwrap();
    let token = bearer_tokens(&config, &fake, 1).await.remove(0);
    assert_eq!(jwt_claims(&token)["scope"], COMPUTE_SCOPE);
    assert_eq!(zones_with(&http, &fake, &token).await, 200);
    // A scope without Compute access is refused with 403.
    let config = GcpConfig::loader()
        .env(fake.gcp_env())
        .scopes(["https://www.googleapis.com/auth/devstorage.read_only"])
        .load()
        .await
        .unwrap();
    let token = bearer_tokens(&config, &fake, 1).await.remove(0);
    assert_eq!(zones_with(&http, &fake, &token).await, 403);
}

#[tokio::test]
async fn credentials_json_gives_the_same_accepted_jwt() {
    let fake = GceFake::start().unwrap();
    let config = GcpConfig::loader()
        .env(GcpEnv::from_pairs([("HOME", fake.empty_home().display().to_string())]))
        .credentials_json(fake.service_account_key_json().to_string())
        .load()
        .await
        .unwrap();
    assert_eq!(config.project_id(), Some(PROJECT), "from the key's project_id");
    let token = bearer_tokens(&config, &fake, 1).await.remove(0);
    assert_eq!(zones_with(&http_client(), &fake, &token).await, 200);
}

#[tokio::test]
async fn authorized_user_file_exchanges_its_refresh_token_at_token_uri_once() {
    let fake = GceFake::start().unwrap();
    let env = GcpEnv::from_pairs([
        ("GOOGLE_APPLICATION_CREDENTIALS", fake.authorized_user_file().display().to_string()),
        ("HOME", fake.empty_home().display().to_string()),
    ]);
    let config = GcpConfig::loader().env(env).load().await.unwrap();
    assert_eq!(config.project_id(), Some(PROJECT), "quota_project_id");
    let tokens = bearer_tokens(&config, &fake, 6).await;
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    assert!(tokens[0].starts_with("ya29.fake-gce-"), "{}", tokens[0]);
    assert_eq!(fake.token_fetches(), 1, "one fetch for six requests: google-cloud-auth caches");
    assert_eq!(zones_with(&http_client(), &fake, &tokens[0]).await, 200);
    let token_request = fake.requests().into_iter().find(|r| r.path == "/token").unwrap();
    assert_eq!(token_request.method, "POST");
    assert!(token_request.body.is_empty(), "the secret is not logged");
}

#[tokio::test]
async fn token_endpoint_checks_jwt_bearer_assertions() {
    let fake = GceFake::start().unwrap();
    let http = http_client();
    let post = |form: Vec<(&'static str, String)>| {
        let http = http.clone();
        let url = fake.token_uri();
        async move {
            let body: String = form.iter().map(|(k, v)| format!("{k}={}", urlencode(v))).collect::<Vec<_>>().join("&");
            let resp = http
                .post(url)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body)
                .send()
                .await
                .unwrap();
            (resp.status().as_u16(), resp.json::<Value>().await.unwrap())
        }
    };
    let aud = fake.token_uri().to_string();
    let good = fake.signed_assertion(CLOUD_PLATFORM_SCOPE, &aud);
    let (status, body) = post(vec![("grant_type", JWT_BEARER_GRANT.into()), ("assertion", good.clone())]).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body["expires_in"].as_u64().unwrap() > 3000);
    let token = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(zones_with(&http, &fake, &token).await, 200);
    assert_eq!(fake.token_fetches(), 1);

    let wrong_aud = fake.signed_assertion(CLOUD_PLATFORM_SCOPE, "https://example.com/token");
    let (status, body) = post(vec![("grant_type", JWT_BEARER_GRANT.into()), ("assertion", wrong_aud)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    // One character of the signature changed.
    let at = good.len() - 20;
    let swapped = if &good[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{swapped}{}", &good[..at], &good[at + 1..]);
    let (status, body) = post(vec![("grant_type", JWT_BEARER_GRANT.into()), ("assertion", tampered)]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")), "{body}");
    let (status, body) = post(vec![("grant_type", JWT_BEARER_GRANT.into()), ("assertion", "not.a.jwt".into())]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("invalid_grant")));
    let (status, body) = post(vec![("grant_type", "client_credentials".into())]).await;
    assert_eq!((status, body["error"].as_str()), (400, Some("unsupported_grant_type")));
    assert_eq!(fake.token_fetches(), 1);
    assert_eq!(fake.token_requests(), 5);
    assert!(fake.requests().iter().filter(|r| r.path == "/token").all(|r| r.body.is_empty()));
}

#[tokio::test]
async fn metadata_server_answers_with_the_flavor_header_only() {
    let fake = GceFake::start().unwrap();
    let http = http_client();
    let url = fake.url("/computeMetadata/v1/instance/service-accounts/default/token");
    let refused = http.get(url.clone()).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 403);
    let resp = http.get(url).header("Metadata-Flavor", "Google").send().await.unwrap();
    assert_eq!(resp.headers()["metadata-flavor"], "Google");
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(zones_with(&http, &fake, body["access_token"].as_str().unwrap()).await, 200);
    let project = http
        .get(fake.url("/computeMetadata/v1/project/project-id"))
        .header("Metadata-Flavor", "Google")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(project, PROJECT);
    assert_eq!(fake.metadata_token_fetches(), 1);
}

/// The metadata-server path of the real `GcpConfig::loader()`: google-cloud-auth reads
/// `GCE_METADATA_HOST` from the process environment only (cloudkit's `GcpEnv` does not reach it), and
/// the tests may not change their own environment, so a child process (this test binary, running
/// [`metadata_child`]) loads the config with the fake's environment.
#[tokio::test]
async fn metadata_server_through_gcp_config_loader_in_a_child_process() {
    let fake = GceFake::start().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut cmd = std::process::Command::new(exe);
    cmd.args(["gce_fake::metadata_child", "--exact", "--ignored", "--nocapture", "--test-threads=1"]);
    for var in ["GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "STORAGE_EMULATOR_HOST"] {
        cmd.env_remove(var);
    }
    for (k, v) in fake.metadata_env() {
        cmd.env(k, v);
    }
    cmd.env(CHILD_VAR, "1");
    let out = tokio::task::spawn_blocking(move || cmd.output()).await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "child failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("METADATA-PATH-OK"), "the child did not run the check:\n{stdout}");
    assert_eq!(fake.metadata_token_fetches(), 1, "one metadata token for five requests");
    let mds: Vec<_> = fake.requests().into_iter().filter(|r| r.path.starts_with("/computeMetadata/")).collect();
    assert!(mds.iter().all(|r| r.header("metadata-flavor") == Some("Google")));
    assert!(mds.iter().any(|r| r.path.ends_with("/project/project-id")), "cloudkit asked for the project id");
}

/// Run by [`metadata_server_through_gcp_config_loader_in_a_child_process`] (ignored otherwise: it needs
/// the fake's environment in the process).
#[tokio::test]
#[ignore = "run in a child process by metadata_server_through_gcp_config_loader_in_a_child_process"]
async fn metadata_child() {
    if std::env::var(CHILD_VAR).is_err() {
        println!("{CHILD_VAR} is not set: nothing to do outside the parent test");
        return;
    }
    let endpoint = std::env::var(ENDPOINT_VAR).unwrap();
    let endpoint = Url::parse(&endpoint).unwrap();
    let config = GcpConfig::loader().load().await.unwrap();
    assert_eq!(config.credential_source(), &CredentialSource::MetadataServer);
    assert_eq!(config.project_id(), Some(PROJECT), "from the metadata server");
    let signer = config.bearer_signer().allow_plain_http_to(&endpoint);
    let mut tokens = Vec::new();
    for _ in 0..5 {
        let mut req = HttpRequest::new(Method::GET, endpoint.join(&format!("projects/{PROJECT}/zones")).unwrap());
        signer.sign(&mut req).await.unwrap();
        tokens.push(req.headers.get("authorization").unwrap().to_str().unwrap().to_owned());
    }
    assert!(tokens.iter().all(|t| *t == tokens[0]));
    let status = http_client()
        .get(endpoint.join(&format!("projects/{PROJECT}/zones")).unwrap())
        .header("authorization", &tokens[0])
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
    println!("METADATA-PATH-OK");
}

// ---------------------------------------------------------------------------------------------
// Compute over plain HTTP
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn unauthenticated_requests_get_googles_401() {
    let raw = Raw::new();
    let none = raw.call("GET", "zones", None, None).await;
    assert_eq!(none.status, 401);
    assert_eq!(none.reason(), "required");
    assert_eq!(none.body["error"]["status"], "UNAUTHENTICATED");
    assert!(none.header("www-authenticate").unwrap().starts_with("Bearer "));
    let bad = raw.call("GET", "zones", None, Some("ya29.not-issued")).await;
    assert_eq!((bad.status, bad.reason()), (401, "authError".to_owned()));
    assert_eq!(bad.body["error"]["errors"][0]["message"], "Invalid Credentials");
    raw.fake.expire_tokens();
    let expired = raw.get("zones").await;
    assert_eq!((expired.status, expired.reason()), (401, "authError".to_owned()));
    let logged = raw.fake.requests();
    assert!(logged.iter().all(|r| r.header("authorization").is_none_or(|a| a == "Bearer <redacted>")));
}

#[tokio::test]
async fn instances_list_pages_with_an_empty_page_that_has_a_token() {
    let raw = Raw::new();
    for i in 0..7 {
        raw.fake.add_instance(ZONE, &format!("vm-{i}"), "RUNNING", &[]);
    }
    let pages = raw.pages("zones/us-central1-a/instances").await;
    let sizes: Vec<usize> = pages.iter().map(|p| p["items"].as_array().map_or(0, Vec::len)).collect();
    assert_eq!(sizes, [2, 0, 2, 2, 1], "page size 2, an empty page after the first");
    let empty = &pages[1];
    assert!(empty.get("items").is_none());
    assert_eq!(empty["warning"]["code"], "NO_RESULTS_ON_PAGE");
    assert!(empty["nextPageToken"].as_str().is_some_and(|t| !t.is_empty()));
    assert_eq!(pages[0]["kind"], "compute#instanceList");
    let names = raw.names("zones/us-central1-a/instances").await;
    assert_eq!(names, (0..7).map(|i| format!("vm-{i}")).collect::<Vec<_>>());
    let item = &pages[0]["items"][0];
    assert_eq!(item["kind"], "compute#instance");
    assert!(item["id"].as_str().unwrap().chars().all(|c| c.is_ascii_digit()), "uint64 as a string");
    assert!(item["selfLink"].as_str().unwrap().starts_with(raw.fake.endpoint().as_str()));
    // maxResults lowers the page size; the page size setting raises it.
    assert_eq!(raw.pages("zones/us-central1-a/instances?maxResults=1").await.len(), 8);
    raw.fake.set_page_size(500);
    assert_eq!(raw.pages("zones/us-central1-a/instances").await.len(), 1);
    assert_eq!(raw.get("zones/us-central1-a/instances?pageToken=bogus").await.reason(), "invalid");
    assert_eq!(raw.get("zones/us-central1-a/instances?maxResults=501").await.status, 400);
    // orderBy
    let desc = raw.names("zones/us-central1-a/instances?orderBy=creationTimestamp%20desc").await;
    assert_eq!(desc.first().map(String::as_str), Some("vm-6"));
    assert_eq!(raw.get("zones/us-central1-a/instances?orderBy=status").await.status, 400);
    // An empty zone: no items, the warning, no token.
    let none = raw.get("zones/us-central1-b/instances").await;
    assert!(none.body.get("items").is_none() && none.body.get("nextPageToken").is_none());
    assert_eq!(none.body["warning"]["code"], "NO_RESULTS_ON_PAGE");
}

#[tokio::test]
async fn instances_list_filters() {
    let raw = Raw::new();
    raw.fake.set_page_size(100);
    raw.fake.add_instance(ZONE, "web-1", "RUNNING", &[("env", "prod")]);
    raw.fake.add_instance(ZONE, "web-2", "TERMINATED", &[("env", "prod")]);
    raw.fake.add_instance(ZONE, "dev-1", "RUNNING", &[("env", "dev")]);
    raw.fake.add_instance(ZONE, "bare", "RUNNING", &[]);
    let list = |filter: &str| format!("zones/{ZONE}/instances?filter={}", urlencode(filter));
    assert_eq!(raw.names(&list("labels.env = \"prod\"")).await, ["web-1", "web-2"]);
    assert_eq!(raw.names(&list("status = RUNNING")).await, ["bare", "dev-1", "web-1"]);
    assert_eq!(raw.names(&list("name = web-2")).await, ["web-2"]);
    assert_eq!(raw.names(&list("name != web-2")).await, ["bare", "dev-1", "web-1"]);
    assert_eq!(raw.names(&list("(status = RUNNING) (labels.env = \"prod\")")).await, ["web-1"]);
    assert_eq!(raw.names(&list("status = RUNNING AND labels.env = prod")).await, ["web-1"]);
    assert_eq!(raw.names(&list("labels.env:*")).await, ["dev-1", "web-1", "web-2"]);
    assert_eq!(raw.names(&list("status != RUNNING")).await, ["web-2"]);
    let unsupported = raw.get(&list("(name = web-1) OR (name = web-2)")).await;
    assert_eq!((unsupported.status, unsupported.reason()), (400, "invalid".to_owned()));
    assert_eq!(raw.get(&list("name eq web-.*")).await.status, 400);
    assert_eq!(raw.get(&list("cpuPlatform = x")).await.status, 400);
}

#[tokio::test]
async fn aggregated_list_keys_items_by_zone_and_warns_on_empty_scopes() {
    let raw = Raw::new();
    raw.fake.add_instance("us-central1-a", "a-1", "RUNNING", &[("env", "prod")]);
    raw.fake.add_instance("us-central1-a", "a-2", "TERMINATED", &[]);
    raw.fake.add_instance("us-central1-b", "b-1", "RUNNING", &[("env", "prod")]);
    raw.fake.set_page_size(100);
    let all = raw.get("aggregated/instances").await;
    assert_eq!(all.status, 200);
    assert_eq!(all.body["kind"], "compute#instanceAggregatedList");
    let items = all.body["items"].as_object().unwrap();
    assert_eq!(items.len(), ZONES.len());
    assert_eq!(items["zones/us-central1-a"]["instances"].as_array().unwrap().len(), 2);
    assert_eq!(items["zones/us-central1-b"]["instances"][0]["name"], "b-1");
    let empty = &items["zones/europe-west1-b"];
    assert!(empty.get("instances").is_none());
    assert_eq!(empty["warning"]["code"], "NO_RESULTS_ON_PAGE");
    assert_eq!(empty["warning"]["data"][0]["value"], "zones/europe-west1-b");
    // Paged: every instance once across pages (one of them empty).
    raw.fake.set_page_size(1);
    let pages = raw.pages("aggregated/instances").await;
    assert!(pages.len() >= 4, "{}", pages.len());
    let mut seen: Vec<String> = pages
        .iter()
        .flat_map(|p| p["items"].as_object().unwrap().values().cloned().collect::<Vec<_>>())
        .flat_map(|s| s["instances"].as_array().cloned().unwrap_or_default())
        .map(|i| i["name"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    assert_eq!(seen, ["a-1", "a-2", "b-1"]);
    // Filtered.
    raw.fake.set_page_size(100);
    let prod = raw.get(&format!("aggregated/instances?filter={}", urlencode("labels.env = \"prod\""))).await;
    assert_eq!(prod.body["items"]["zones/us-central1-a"]["instances"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn zones_and_machine_types_list() {
    let raw = Raw::new();
    let pages = raw.pages("zones").await;
    let zones: Vec<Value> = pages.iter().flat_map(|p| p["items"].as_array().cloned().unwrap_or_default()).collect();
    assert_eq!(zones.len(), ZONES.len());
    assert!(zones.iter().all(|z| z["status"] == "UP" && z["kind"] == "compute#zone"));
    assert!(zones[0]["region"].as_str().unwrap().ends_with("/regions/us-central1"));
    let types = raw.names(&format!("zones/{ZONE}/machineTypes")).await;
    assert!(types.contains(&"e2-micro".to_owned()) && types.len() >= 3, "{types:?}");
    let bad_zone = raw.get("zones/mars-north1-a/instances").await;
    assert_eq!((bad_zone.status, bad_zone.reason()), (400, "invalid".to_owned()));
    let other_project = raw.get(raw.fake.url("/compute/v1/projects/someone-else/zones").as_str()).await;
    assert_eq!((other_project.status, other_project.reason()), (404, "notFound".to_owned()));
}

#[tokio::test]
async fn insert_runs_through_provisioning_and_staging_as_the_operation_is_polled() {
    let raw = Raw::new();
    let op = raw.post(&format!("zones/{ZONE}/instances"), Some(Raw::insert_body("ck-new"))).await;
    assert_eq!(op.status, 200, "{}", op.body);
    assert_eq!(op.body["kind"], "compute#operation");
    assert_eq!(op.body["status"], "PENDING");
    assert_eq!(op.body["operationType"], "insert");
    assert!(op.body["targetLink"].as_str().unwrap().ends_with("/zones/us-central1-a/instances/ck-new"));
    assert!(op.body["id"].as_str().unwrap().parse::<u64>().is_ok());
    assert!(op.body["zone"].as_str().unwrap().ends_with("/zones/us-central1-a"));
    assert_eq!(raw.fake.instance_status(ZONE, "ck-new").as_deref(), Some("PROVISIONING"));
    let name = op.body["name"].as_str().unwrap();
    let first = raw.get(&format!("zones/{ZONE}/operations/{name}")).await;
    assert_eq!(first.body["status"], "RUNNING");
    assert_eq!(raw.fake.instance_status(ZONE, "ck-new").as_deref(), Some("STAGING"));
    let second = raw.post(&format!("zones/{ZONE}/operations/{name}/wait"), None).await;
    assert_eq!(second.body["status"], "DONE");
    assert!(second.body.get("error").is_none());
    assert!(second.body["endTime"].is_string());
    let got = raw.get(&format!("zones/{ZONE}/instances/ck-new")).await;
    assert_eq!(got.body["status"], "RUNNING");
    assert_eq!(got.body["labels"]["env"], "test");
    assert_eq!(got.body["metadata"]["items"][0]["key"], "startup-script");
    assert!(got.body["machineType"].as_str().unwrap().ends_with("/machineTypes/e2-micro"));
    assert_eq!(got.body["disks"][0]["boot"], true);
    assert!(got.body["labelFingerprint"].is_string());
    // Polls_to_done 0: the first poll is DONE.
    raw.fake.set_polls_to_done(0);
    let op = raw.post(&format!("zones/{ZONE}/instances"), Some(Raw::insert_body("ck-quick"))).await;
    let (seen, _) = raw.poll_done(&op.body).await;
    assert_eq!(seen, ["DONE"]);
    // Insert validation.
    let mut no_disk = Raw::insert_body("ck-nodisk");
    no_disk.as_object_mut().unwrap().remove("disks");
    assert_eq!(raw.post(&format!("zones/{ZONE}/instances"), Some(no_disk)).await.status, 400);
    let bad_name = raw.post(&format!("zones/{ZONE}/instances"), Some(Raw::insert_body("Bad_Name"))).await;
    assert_eq!((bad_name.status, bad_name.reason()), (400, "invalid".to_owned()));
}

#[tokio::test]
async fn lifecycle_stop_start_reset_suspend_resume_delete() {
    let raw = Raw::new();
    raw.fake.add_instance(ZONE, "life", "RUNNING", &[]);
    let base = format!("zones/{ZONE}/instances/life");

    let stop = raw.post(&format!("{base}/stop"), None).await;
    assert_eq!(stop.body["operationType"], "stop");
    assert_eq!(raw.fake.instance_status(ZONE, "life").as_deref(), Some("STOPPING"));
    let (seen, _) = raw.poll_done(&stop.body).await;
    assert_eq!(seen, ["RUNNING", "DONE"]);
    assert_eq!(raw.fake.instance_status(ZONE, "life").as_deref(), Some("TERMINATED"));

    let reset = raw.post(&format!("{base}/reset"), None).await;
    assert_eq!((reset.status, reset.reason()), (400, "resourceNotReady".to_owned()));
    let suspend = raw.post(&format!("{base}/suspend"), None).await;
    assert_eq!(suspend.status, 400);

    let start = raw.post(&format!("{base}/start"), None).await;
    assert_eq!(raw.fake.instance_status(ZONE, "life").as_deref(), Some("STAGING"));
    raw.poll_done(&start.body).await;
    assert_eq!(raw.fake.instance_status(ZONE, "life").as_deref(), Some("RUNNING"));
    let got = raw.get(&base).await;
    assert!(got.body["lastStartTimestamp"].is_string() && got.body["lastStopTimestamp"].is_string());

    let reset = raw.post(&format!("{base}/reset"), None).await;
    assert_eq!(reset.status, 200);
    raw.poll_done(&reset.body).await;
    assert_eq!(raw.fake.instance_status(ZONE, "life").as_deref(), Some("RUNNING"));

    let suspend = raw.post(&format!("{base}/suspend"), None).await;
    assert_eq!(raw.fake.instance_status(ZONE, "life").as_deref(), Some("SUSPENDING"));
    raw.poll_done(&suspend.body).await;
    assert_eq!(raw.fake.instance_status(ZONE, "life").as_deref(), Some("SUSPENDED"));
    assert_eq!(raw.post(&format!("{base}/start"), None).await.status, 400, "a suspended instance is resumed");
    let resume = raw.post(&format!("{base}/resume"), None).await;
    raw.poll_done(&resume.body).await;
    assert_eq!(raw.fake.instance_status(ZONE, "life").as_deref(), Some("RUNNING"));
    raw.fake.add_instance(ZONE, "sleeper", "SUSPENDED", &[]);
    let stop = raw.post(&format!("zones/{ZONE}/instances/sleeper/stop"), None).await;
    raw.poll_done(&stop.body).await;
    assert_eq!(
        raw.fake.instance_status(ZONE, "sleeper").as_deref(),
        Some("TERMINATED"),
        "a suspended instance can be stopped"
    );
    assert_eq!(raw.post(&format!("zones/{ZONE}/instances/sleeper/resume"), None).await.status, 400);

    // A GET of the instance counts as a poll of its running operation.
    let delete = raw.delete(&base).await;
    assert_eq!(delete.body["operationType"], "delete");
    assert_eq!(raw.get(&base).await.body["status"], "STOPPING");
    let gone = raw.get(&base).await;
    assert_eq!((gone.status, gone.reason()), (404, "notFound".to_owned()));
    assert_eq!(
        gone.body["error"]["message"],
        format!("The resource 'projects/{PROJECT}/zones/{ZONE}/instances/life' was not found")
    );
    assert_eq!(gone.body["error"]["status"], "NOT_FOUND");
    let (_, done) = raw.poll_done(&delete.body).await;
    assert!(done.get("error").is_none());
    assert_eq!(raw.post(&format!("{base}/start"), None).await.status, 404);
    assert_eq!(raw.delete(&base).await.status, 404);
    let missing_op = raw.get(&format!("zones/{ZONE}/operations/operation-0-missing")).await;
    assert_eq!((missing_op.status, missing_op.reason()), (404, "notFound".to_owned()));
}

#[tokio::test]
async fn failed_operations_end_done_with_errors_and_leave_the_state_as_before() {
    let raw = Raw::new();
    raw.fake.fail_next_operation(
        "ZONE_RESOURCE_POOL_EXHAUSTED",
        "The zone 'projects/ck-fake-project/zones/us-central1-a' does not have enough resources available to fulfill the request.",
        503,
    );
    let op = raw.post(&format!("zones/{ZONE}/instances"), Some(Raw::insert_body("ck-fail"))).await;
    assert_eq!(op.status, 200, "an operation, not an HTTP error");
    let (_, done) = raw.poll_done(&op.body).await;
    assert_eq!(done["status"], "DONE");
    assert_eq!(done["error"]["errors"][0]["code"], "ZONE_RESOURCE_POOL_EXHAUSTED");
    assert!(done["error"]["errors"][0]["message"].is_string());
    assert_eq!(done["httpErrorStatusCode"], 503);
    assert_eq!(done["httpErrorMessage"], "SERVICE UNAVAILABLE");
    assert_eq!(raw.fake.instance_status(ZONE, "ck-fail"), None, "a failed insert leaves no instance");

    raw.fake.add_instance(ZONE, "ck-run", "RUNNING", &[]);
    raw.fake.fail_next_operation("QUOTA_EXCEEDED", "Quota 'CPUS' exceeded. Limit: 8.0 in region us-central1.", 403);
    let stop = raw.post(&format!("zones/{ZONE}/instances/ck-run/stop"), None).await;
    let (_, done) = raw.poll_done(&stop.body).await;
    assert_eq!(done["error"]["errors"][0]["code"], "QUOTA_EXCEEDED");
    assert_eq!(done["httpErrorStatusCode"], 403);
    assert_eq!(raw.fake.instance_status(ZONE, "ck-run").as_deref(), Some("RUNNING"));
    // The switch is spent: the next one succeeds.
    let stop = raw.post(&format!("zones/{ZONE}/instances/ck-run/stop"), None).await;
    assert!(raw.poll_done(&stop.body).await.1.get("error").is_none());
}

#[tokio::test]
async fn duplicate_insert_is_409_already_exists() {
    let raw = Raw::new();
    raw.fake.add_instance(ZONE, "taken", "RUNNING", &[]);
    let again = raw.post(&format!("zones/{ZONE}/instances"), Some(Raw::insert_body("taken"))).await;
    assert_eq!((again.status, again.reason()), (409, "alreadyExists".to_owned()));
    assert_eq!(again.body["error"]["status"], "ALREADY_EXISTS");
    assert_eq!(
        again.body["error"]["message"],
        format!("The resource 'projects/{PROJECT}/zones/{ZONE}/instances/taken' already exists")
    );
}

#[tokio::test]
async fn throttling_answers_429_rate_limit_exceeded() {
    let raw = Raw::new();
    raw.fake.throttle_next(2, Some(1));
    for _ in 0..2 {
        let t = raw.get("zones").await;
        assert_eq!((t.status, t.reason()), (429, "rateLimitExceeded".to_owned()));
        assert_eq!(t.body["error"]["errors"][0]["domain"], "usageLimits");
        assert_eq!(t.header("retry-after").as_deref(), Some("1"));
    }
    assert_eq!(raw.get("zones").await.status, 200);
    raw.fake.throttle_next(1, None);
    let t = raw.get("zones").await;
    assert_eq!(t.status, 429);
    assert!(t.header("retry-after").is_none());
    assert_eq!(raw.get("zones").await.status, 200);
}

#[tokio::test]
async fn request_id_dedupes_retries_and_is_recorded() {
    let raw = Raw::new();
    let id = request_id();
    let url = format!("zones/{ZONE}/instances?requestId={id}");
    let first = raw.call("POST", &url, Some(Raw::insert_body("ck-once")), Some(&raw.token)).await;
    let retry = raw.call("POST", &url, Some(Raw::insert_body("ck-once")), Some(&raw.token)).await;
    assert_eq!(first.status, 200);
    assert_eq!(retry.status, 200, "not 409: the retry is the same request");
    assert_eq!(first.body["name"], retry.body["name"]);
    assert_eq!(raw.fake.operations_started(), 1);
    // A stop retried with its requestId is applied once.
    raw.poll_done(&first.body).await;
    let stop_url = format!("zones/{ZONE}/instances/ck-once/stop?requestId={}", request_id());
    let a = raw.call("POST", &stop_url, None, Some(&raw.token)).await;
    raw.poll_done(&a.body).await;
    let b = raw.call("POST", &stop_url, None, Some(&raw.token)).await;
    assert_eq!((a.body["name"].clone(), b.body["status"].clone()), (b.body["name"].clone(), json!("DONE")));
    assert_eq!(raw.fake.operations_started(), 2);
    let bad =
        raw.call("POST", &format!("zones/{ZONE}/instances/ck-once/start?requestId=nope"), None, Some(&raw.token)).await;
    assert_eq!((bad.status, bad.reason()), (400, "invalid".to_owned()));
    // Every mutating request of this test carried a requestId.
    let mutating = raw.fake.mutating_requests();
    assert_eq!(mutating.len(), 5);
    assert!(mutating.iter().all(|r| r.query_param("requestId").is_some()));
    assert_eq!(mutating[0].json()["name"], "ck-once", "the JSON body is recorded");
}

#[tokio::test]
async fn set_labels_and_metadata_need_the_current_fingerprint() {
    let raw = Raw::new();
    raw.fake.add_instance(ZONE, "lab", "RUNNING", &[]);
    let base = format!("zones/{ZONE}/instances/lab");
    let got = raw.get(&base).await;
    let fp = got.body["labelFingerprint"].as_str().unwrap().to_owned();
    assert_eq!(fp, EMPTY_FINGERPRINT);
    let set =
        raw.post(&format!("{base}/setLabels"), Some(json!({"labels": {"team": "a"}, "labelFingerprint": fp}))).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["operationType"], "setLabels");
    raw.poll_done(&set.body).await;
    let now = raw.get(&base).await;
    assert_eq!(now.body["labels"], json!({"team": "a"}));
    let new_fp = now.body["labelFingerprint"].as_str().unwrap().to_owned();
    assert_ne!(new_fp, fp);
    assert!(base64::engine::general_purpose::STANDARD.decode(&new_fp).is_ok(), "base64");
    let stale =
        raw.post(&format!("{base}/setLabels"), Some(json!({"labels": {"team": "b"}, "labelFingerprint": fp}))).await;
    assert_eq!((stale.status, stale.reason()), (412, "conditionNotMet".to_owned()));
    assert_eq!(raw.fake.instance_labels(ZONE, "lab").unwrap()["team"], "a");

    let meta_fp = now.body["metadata"]["fingerprint"].as_str().unwrap().to_owned();
    let items = json!([{"key": "startup-script", "value": "echo hi"}]);
    let set = raw.post(&format!("{base}/setMetadata"), Some(json!({"fingerprint": meta_fp, "items": items}))).await;
    assert_eq!(set.status, 200, "{}", set.body);
    let after = raw.get(&base).await;
    assert_eq!(after.body["metadata"]["items"], items);
    let stale = raw.post(&format!("{base}/setMetadata"), Some(json!({"fingerprint": meta_fp, "items": []}))).await;
    assert_eq!((stale.status, stale.reason()), (412, "conditionNotMet".to_owned()));
}

#[tokio::test]
async fn env_points_the_chain_and_a_client_at_the_fake() {
    let fake = GceFake::start().unwrap();
    let env: std::collections::HashMap<_, _> = fake.env().into_iter().collect();
    assert_eq!(env["GOOGLE_CLOUD_PROJECT"], PROJECT);
    assert_eq!(env[ENDPOINT_VAR], fake.endpoint().to_string());
    assert!(fake.endpoint().as_str().starts_with("http://127.0.0.1:") && fake.endpoint().path() == "/compute/v1/");
    let key: Value =
        serde_json::from_str(&std::fs::read_to_string(&env["GOOGLE_APPLICATION_CREDENTIALS"]).unwrap()).unwrap();
    assert_eq!(key["type"], "service_account");
    assert_eq!(key["token_uri"], fake.token_uri().to_string());
    assert_eq!(env["GCE_METADATA_HOST"], fake.metadata_host());
    let dir = fake.service_account_key_file().parent().unwrap().to_owned();
    drop(fake);
    assert!(!dir.exists(), "the key files are removed with the fake");
}

/// The bounds are `cloudkit_tests::fake_http`'s, shared with the ARM fake: a declared body over 4 MiB is
/// 413, a chunked body 411, before anything is recorded.
#[test]
fn the_shared_server_bounds_apply() {
    use std::io::{Read, Write};
    let fake = GceFake::start().unwrap();
    let exchange = |head: &str| {
        let mut s = std::net::TcpStream::connect(fake.metadata_host()).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    };
    let big = exchange("POST /compute/v1/projects/p/zones HTTP/1.1\r\nhost: x\r\ncontent-length: 99999999\r\n\r\n");
    assert!(big.starts_with("HTTP/1.1 413 "), "{big}");
    let chunked = exchange("POST /token HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n");
    assert!(chunked.starts_with("HTTP/1.1 411 "), "{chunked}");
    assert!(fake.requests().is_empty());
}
