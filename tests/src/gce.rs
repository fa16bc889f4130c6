//! An in-process fake of Google Compute Engine (API v1), of Google's OAuth 2.0 token endpoint and of
//! the GCE metadata server, for the tests of `cloudkit-gcp-compute` and of the facade's `GceCompute`.
//!
//! **These are Google's documented shapes served by a fake, not a live service.** No Compute Engine
//! emulator exists. The paths, methods, parameters, schemas (`Instance`, `Operation`, the lists),
//! statuses, paging and operation rules follow Google's own API description copied to
//! `crates/gcp-compute/src/testdata/` (`compute-v1-subset.json`, a verbatim subset of the Compute v1
//! discovery document, revision 20261106; `GCE-REFERENCE.md`, the notes with their sources; see its
//! `README.md`). `suspend`, `resume`, `setMetadata` and `machineTypes.list` are not in that subset: they
//! follow the same document's published method list (same path scheme, `requestId`, an `Operation`
//! back). The error bodies use the Google JSON API envelope
//! `{"error":{"code","message","errors":[{"message","domain","reason"}],"status"}}` with the texts
//! Compute Engine sends.
//!
//! One [`GceFake`] is one plain HTTP/1.1 server on `127.0.0.1` ([`crate::fake_http`]: an ephemeral
//! port, its own threads, bounded, stopped when dropped) serving
//! - Compute Engine under [`GceFake::endpoint`] = `http://127.0.0.1:<port>/compute/v1/` (what
//!   `https://compute.googleapis.com/compute/v1/` is in Google): `projects/{project}/zones`,
//!   `…/zones/{zone}/machineTypes`, `…/zones/{zone}/instances` (list, insert), `…/instances/{name}`
//!   (get, delete), `…/instances/{name}/{start,stop,reset,suspend,resume,setLabels,setMetadata}`,
//!   `…/zones/{zone}/operations/{operation}` (get) and `…/{operation}/wait` (POST), and
//!   `projects/{project}/aggregated/instances`; one project, [`PROJECT`], with the zones [`ZONES`];
//! - the OAuth 2.0 token endpoint `POST /token` ([`GceFake::token_uri`]): the JWT-bearer grant
//!   (`urn:ietf:params:oauth:grant-type:jwt-bearer`, an RS256 assertion signed by the service-account
//!   key, checked: signature, `iss` = the key's `client_email`, `aud` = the token URI, a `scope`, not
//!   expired) and the refresh-token grant of an `authorized_user` file ([`GceFake::authorized_user_json`]);
//!   form or JSON bodies; answers `{"access_token","expires_in","token_type":"Bearer"}`;
//! - the metadata server under `/computeMetadata/v1/` (point `GCE_METADATA_HOST` at
//!   [`GceFake::metadata_host`]): `instance/service-accounts/default/token` (`?scopes=` optional),
//!   `…/default/email`, `project/project-id`, `project/numeric-project-id`, `instance/zone`,
//!   `universe/universe-domain`; each needs `Metadata-Flavor: Google` (403 otherwise) and answers with it.
//!
//! Authentication: every Compute request needs `Authorization: Bearer <token>` with either a token this
//! fake issued (token endpoint, metadata server, [`GceFake::issue_token`]) and not expired, or a
//! **self-signed JWT** of the service account (what google-cloud-auth sends for a service-account key:
//! it signs `{iss, sub: client_email, scope, iat, exp}` with the key and never calls `token_uri`;
//! Google accepts those, AIP-4111): the signature is checked with the key's public half, `iss`/`sub`
//! must be the key's `client_email`, `scope` must hold `cloud-platform` or `compute` (or `aud` must be
//! `https://compute.googleapis.com/`), `exp` must be in the future. Anything else: 401 with Google's
//! body (`required` when the header is missing, `authError` "Invalid Credentials" otherwise) and
//! `WWW-Authenticate: Bearer realm="https://accounts.google.com/"`.
//! [`GceFake::token_fetches`] counts tokens issued by the token endpoint and the metadata server;
//! [`GceFake::self_signed_tokens_seen`] counts distinct self-signed JWTs accepted;
//! [`GceFake::requested_scopes`] lists the scopes tokens were asked for (token endpoint, metadata
//! server, self-signed JWTs).
//!
//! The state machine, per instance (`Instance.status`), driven by operations:
//!
//! | call | allowed from | status while the operation runs | when it is `DONE` |
//! |---|---|---|---|
//! | insert | (absent; 409 `alreadyExists` otherwise) | PROVISIONING, then STAGING | RUNNING |
//! | stop | any but SUSPENDING (TERMINATED/STOPPED: a no-op) | STOPPING | TERMINATED |
//! | start | TERMINATED, STOPPED (RUNNING: a no-op) | STAGING | RUNNING |
//! | reset | RUNNING only (else 400 `resourceNotReady`) | RUNNING | RUNNING |
//! | suspend | RUNNING only (else 400 `resourceNotReady`) | SUSPENDING | SUSPENDED |
//! | resume | SUSPENDED only (else 400 `resourceNotReady`) | STAGING | RUNNING |
//! | delete | any | STOPPING | gone (404 `notFound`) |
//! | setLabels / setMetadata | any (fingerprint must match, else 412 `conditionNotMet`) | applied at once | |
//!
//! Every mutating call answers 200 with an `Operation` (`PENDING`); each poll (`zoneOperations.get`,
//! `zoneOperations.wait`, and `instances.get` of the target) advances it one step: `RUNNING` until
//! [`GceFake::set_polls_to_done`] polls (default 2) were made, then `DONE`. So with the default an
//! insert reads PROVISIONING, STAGING, RUNNING. `wait` is best-effort as Google documents: it returns
//! at once (or after [`GceFake::hold_wait_calls`]), one step further (`DONE` or not). A mutating call on an instance whose previous
//! operation is still running finishes that operation first. [`GceFake::fail_next_operation`] makes
//! the next operation end `DONE` with `error.errors` and `httpErrorStatusCode`; the instance goes back
//! to its status before (a failed insert leaves no instance). A `requestId` already seen returns the
//! operation it started, current state, and applies nothing again.
//!
//! Lists (`instances.list`, `aggregatedList`, `zones.list`, `machineTypes.list`) page by `pageToken` /
//! `nextPageToken`: at most `min(maxResults, page size)` items per page ([`GceFake::set_page_size`],
//! default 2; `maxResults` 0..=500, default 500), and when there is more than one page, the first
//! page's token leads to an **empty page** (no `items`, `warning.code = NO_RESULTS_ON_PAGE`) that still
//! has a `nextPageToken`. `orderBy`: `name` (default) or `creationTimestamp desc`. `aggregatedList`'s
//! `items` is keyed `zones/<zone>` for every zone; a zone with nothing on that page carries only a
//! `NO_RESULTS_ON_PAGE` warning.
//!
//! `filter` (instances.list, aggregatedList): one or more comparisons, each optionally in parentheses,
//! joined by whitespace or `AND`: `name = x`, `name != x`, `status = RUNNING`, `status != TERMINATED`,
//! `labels.<k> = "<v>"`, `labels.<k> != v`, `labels.<k>:*` (the key exists), `zone = us-central1-a`;
//! values may be quoted. `OR`, regular-expression filters (`eq`/`ne`), other fields and other operators
//! are refused with 400 `invalid`, so a test notices.
//!
//! Switches: [`GceFake::fail_next_operation`], [`GceFake::throttle_next`] (429 `rateLimitExceeded`, with
//! or without `Retry-After`), [`GceFake::set_polls_to_done`], [`GceFake::set_page_size`],
//! [`GceFake::hold_wait_calls`] (`zoneOperations.wait` answers held back, as the service holds them),
//! [`GceFake::expire_tokens`], [`GceFake::set_token_lifetime`]. The request log
//! ([`GceFake::requests`]) holds method, path, query, headers (the bearer token as `Bearer <redacted>`)
//! and the JSON body (token requests: no body, it holds the assertion or the secret).
//!
//! ```no_run
//! use cloudkit_tests::gce::{GceFake, PROJECT};
//! let fake = GceFake::start().unwrap();
//! // The ADC chain and a Compute client: `fake.env()` (GOOGLE_APPLICATION_CREDENTIALS = a key file whose
//! // token_uri is the fake, GOOGLE_CLOUD_PROJECT, GCE_METADATA_HOST, CLOUDKIT_GCE_ENDPOINT).
//! fake.add_instance("us-central1-a", "web-1", "RUNNING", &[("env", "prod")]);
//! fake.fail_next_operation("ZONE_RESOURCE_POOL_EXHAUSTED", "The zone does not have enough resources.", 503);
//! assert_eq!(fake.instance_status("us-central1-a", "web-1").as_deref(), Some("RUNNING"));
//! # let _ = PROJECT;
//! ```
//!
//! Bounded: [`crate::fake_http`]'s connection, head, body and log bounds; at most [`MAX_INSTANCES`]
//! instances and [`MAX_OPERATIONS`] remembered operations (the oldest finished ones are forgotten,
//! with their `requestId`s).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use cloudkit_core::testing::RecordedRequest;
use cloudkit_core::{Method, Url};
use cloudkit_cred_chain::gcp::GcpEnv;
use serde_json::{Map, Value, json};

use crate::fake_http::{FakeRequest, Reply, Server, now_rfc3339, push_bounded, reply_body, rfc3339};
pub use crate::fake_http::{MAX_CONNECTIONS, MAX_RECORDED};

/// One request as the fake received it (see [`FakeRequest`]).
pub type GceRequest = FakeRequest;

/// The one project the fake serves.
pub const PROJECT: &str = "ck-fake-project";
/// Its number (`project/numeric-project-id`, the metadata server's `instance/zone`).
pub const PROJECT_NUMBER: &str = "123456789012";
/// The zones of [`PROJECT`], in `zones.list` order.
pub const ZONES: [&str; 3] = ["us-central1-a", "us-central1-b", "europe-west1-b"];
/// The machine types of every zone (`machineTypes.list`): name, vCPUs, memory (MiB), shared core.
pub const MACHINE_TYPES: [(&str, u32, u32, bool); 5] = [
    ("e2-micro", 2, 1024, true),
    ("e2-small", 2, 2048, true),
    ("e2-medium", 2, 4096, true),
    ("n2-standard-2", 2, 8192, false),
    ("n2-standard-4", 4, 16384, false),
];
/// The scope google-cloud-auth asks for by default (accepted, as are `compute` and `compute.readonly`).
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";
/// The Compute scope.
pub const COMPUTE_SCOPE: &str = "https://www.googleapis.com/auth/compute";
/// The JWT-bearer grant type of the token endpoint.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// The `authorized_user`'s client id ([`GceFake::authorized_user_json`]; invented).
pub const USER_CLIENT_ID: &str = "764086051850-fake.apps.googleusercontent.com";
/// The `authorized_user`'s client secret (invented).
pub const USER_CLIENT_SECRET: &str = "fake-gce-client-secret-not-a-real-one";
/// The `authorized_user`'s refresh token (invented).
pub const USER_REFRESH_TOKEN: &str = "1//fake-gce-refresh-token-not-a-real-one";
/// The environment variable that points a Compute client at the fake (printed by `gce-fake`; the
/// client crate's own override name is wired to it by the facade).
pub const ENDPOINT_VAR: &str = "CLOUDKIT_GCE_ENDPOINT";
/// The empty labels' fingerprint, as Compute Engine reports it.
pub const EMPTY_FINGERPRINT: &str = "42WmSpB8rSM=";
/// The most instances the fake holds (inserts beyond: 403 `QUOTA_EXCEEDED`).
pub const MAX_INSTANCES: usize = 1_000;
/// The most operations remembered (the oldest finished ones are forgotten).
pub const MAX_OPERATIONS: usize = 10_000;

/// Google's V4 signing test key (`crates/signer/tests/data/gcs/`, see its README: public, inactive).
const TEST_KEY: &str = include_str!("../../crates/signer/tests/data/gcs/test_service_account.not-a-test.json");

const INSTANCE_NAME_RULE: &str = "(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)";

/// How the next operation ends.
#[derive(Clone, Debug)]
struct Failure {
    code: String,
    message: String,
    http_status: u16,
}

#[derive(Clone, Debug)]
struct Instance {
    id: u64,
    name: String,
    zone: String,
    status: String,
    machine_type: String,
    description: String,
    labels: BTreeMap<String, String>,
    metadata: Vec<(String, String)>,
    metadata_fingerprint: String,
    disks: Value,
    network_interfaces: Value,
    created: u64,
    seq: u64,
    last_start: Option<String>,
    last_stop: Option<String>,
    /// The operation (seq) still running on this instance.
    pending: Option<u64>,
}

#[derive(Clone, Debug)]
struct Operation {
    id: u64,
    name: String,
    zone: String,
    kind: &'static str,
    instance: String,
    target_id: u64,
    /// The instance's status while running (first poll onwards), and when done (`None`: deleted).
    running: Vec<&'static str>,
    done: Option<&'static str>,
    /// The status before (restored on failure; `None`: it did not exist).
    before: Option<String>,
    polls: u32,
    finished: bool,
    failure: Option<Failure>,
    user: String,
    insert_time: String,
    start_time: Option<String>,
    end_time: Option<String>,
}

#[derive(Debug)]
struct Settings {
    page_size: usize,
    polls_to_done: u32,
    token_lifetime: u64,
    /// How long `zoneOperations.wait` answers are held back ([`GceFake::hold_wait_calls`]).
    wait_hold: Option<Duration>,
}

#[derive(Debug)]
struct State {
    settings: Settings,
    instances: BTreeMap<(String, String), Instance>,
    operations: BTreeMap<u64, Operation>,
    operation_names: HashMap<String, u64>,
    request_ids: HashMap<String, u64>,
    tokens: HashMap<String, Instant>,
    self_signed: HashSet<String>,
    token_requests: usize,
    token_fetches: usize,
    metadata_token_fetches: usize,
    /// The scopes tokens were asked for ([`GceFake::requested_scopes`]).
    requested_scopes: Vec<String>,
    throttle: u32,
    throttle_retry_after: Option<u64>,
    next_failure: Option<Failure>,
    log: Vec<FakeRequest>,
    counter: u64,
}

struct Shared {
    state: Mutex<State>,
    rng: AtomicU64,
    base: Mutex<String>,
    /// The service account: client email and the DER `RSAPublicKey` of its key.
    client_email: String,
    public_key: Vec<u8>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn next(&self) -> u64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng.store(x, Ordering::Relaxed);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn hex(&self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            out.push_str(&format!("{:016x}", self.next()));
        }
        out.truncate(len);
        out
    }

    /// A uint64 id as Compute Engine makes them (19 digits).
    fn id(&self) -> u64 {
        1_000_000_000_000_000_000 + self.next() % 8_000_000_000_000_000_000
    }

    fn base(&self) -> String {
        self.base.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// `http://127.0.0.1:<port>/compute/v1/projects/{PROJECT}/{rest}`: the fake's links.
    fn link(&self, rest: &str) -> String {
        format!("{}compute/v1/projects/{PROJECT}/{rest}", self.base())
    }
}

/// The fake Compute Engine + token endpoint + metadata server. Dropping it stops the server and
/// removes the key files it wrote.
pub struct GceFake {
    server: Server,
    shared: Arc<Shared>,
    dir: PathBuf,
}

impl std::fmt::Debug for GceFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GceFake").field("endpoint", &self.endpoint().as_str()).finish_non_exhaustive()
    }
}

impl Drop for GceFake {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn test_key() -> Value {
    serde_json::from_str(TEST_KEY).unwrap_or_else(|e| panic!("the repository's test service-account key: {e}"))
}

/// The DER of a PEM block.
fn pem_der(pem: &str) -> Vec<u8> {
    let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).map(str::trim).collect();
    STANDARD.decode(b64).unwrap_or_else(|e| panic!("the test key's PEM: {e}"))
}

fn rsa_key_pair() -> ring::rsa::KeyPair {
    let key = test_key();
    let der = pem_der(key["private_key"].as_str().unwrap_or_default());
    ring::rsa::KeyPair::from_pkcs8(&der).unwrap_or_else(|e| panic!("the test key is not PKCS#8 RSA: {e}"))
}

impl GceFake {
    /// Starts a fake on `127.0.0.1` (an ephemeral port): project [`PROJECT`], zones [`ZONES`], no
    /// instances. Writes the key files of [`GceFake::service_account_key_file`] and
    /// [`GceFake::authorized_user_file`] to a fresh temp directory.
    pub fn start() -> std::io::Result<Self> {
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0x9e37_79b9, |d| d.as_nanos() as u64) | 1;
        let key = test_key();
        let public_key = rsa_key_pair().public().as_ref().to_vec();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                settings: Settings { page_size: 2, polls_to_done: 2, token_lifetime: 3599, wait_hold: None },
                instances: BTreeMap::new(),
                operations: BTreeMap::new(),
                operation_names: HashMap::new(),
                request_ids: HashMap::new(),
                tokens: HashMap::new(),
                self_signed: HashSet::new(),
                token_requests: 0,
                token_fetches: 0,
                metadata_token_fetches: 0,
                requested_scopes: Vec::new(),
                throttle: 0,
                throttle_retry_after: None,
                next_failure: None,
                log: Vec::new(),
                counter: 0,
            }),
            rng: AtomicU64::new(seed),
            base: Mutex::new(String::new()),
            client_email: key["client_email"].as_str().unwrap_or_default().to_owned(),
            public_key,
        });
        let handler_shared = shared.clone();
        let server = Server::start("gce-fake", Arc::new(move |req: &RecordedRequest| handle(&handler_shared, req)))?;
        *shared.base.lock().unwrap_or_else(|p| p.into_inner()) = server.base.to_string();
        let dir = std::env::temp_dir().join(crate::unique_name("ck-gce-fake"));
        std::fs::create_dir_all(dir.join("home"))?;
        let fake = Self { server, shared, dir };
        std::fs::write(fake.service_account_key_file(), fake.service_account_key_json().to_string())?;
        std::fs::write(fake.authorized_user_file(), fake.authorized_user_json().to_string())?;
        Ok(fake)
    }

    /// The Compute endpoint: `http://127.0.0.1:<port>/compute/v1/` (append
    /// `projects/{project}/zones/{zone}/instances`, …).
    pub fn endpoint(&self) -> Url {
        self.server.url("/compute/v1/")
    }

    /// The OAuth 2.0 token endpoint: `http://127.0.0.1:<port>/token`.
    pub fn token_uri(&self) -> Url {
        self.server.url("/token")
    }

    /// The metadata host for `GCE_METADATA_HOST`: `127.0.0.1:<port>` (google-cloud-auth prefixes
    /// `http://`).
    pub fn metadata_host(&self) -> String {
        self.server.addr().to_string()
    }

    /// `http://127.0.0.1:<port>{path_and_query}`.
    pub fn url(&self, path_and_query: &str) -> Url {
        self.server.url(path_and_query)
    }

    /// `{endpoint}projects/{PROJECT}/{rest}`, e.g. `compute_url("zones/us-central1-a/instances")`.
    pub fn compute_url(&self, rest: &str) -> Url {
        self.server.url(&format!("/compute/v1/projects/{PROJECT}/{rest}"))
    }

    /// The service account's email (the test key's `client_email`).
    pub fn client_email(&self) -> &str {
        &self.shared.client_email
    }

    /// The repository's test service-account key (Google's V4 signing test key) with `token_uri` set
    /// to [`GceFake::token_uri`] and `project_id` to [`PROJECT`].
    pub fn service_account_key_json(&self) -> Value {
        let mut key = test_key();
        key["token_uri"] = json!(self.token_uri().as_str());
        key["project_id"] = json!(PROJECT);
        if let Some(o) = key.as_object_mut() {
            o.remove("comment");
        }
        key
    }

    /// Where [`GceFake::service_account_key_json`] is written (for `GOOGLE_APPLICATION_CREDENTIALS`).
    pub fn service_account_key_file(&self) -> PathBuf {
        self.dir.join("service-account.json")
    }

    /// An `authorized_user` credentials file (what `gcloud auth application-default login` writes)
    /// whose `token_uri` is this fake: google-cloud-auth exchanges its refresh token there.
    pub fn authorized_user_json(&self) -> Value {
        json!({
            "type": "authorized_user",
            "client_id": USER_CLIENT_ID,
            "client_secret": USER_CLIENT_SECRET,
            "refresh_token": USER_REFRESH_TOKEN,
            "token_uri": self.token_uri().as_str(),
            "quota_project_id": PROJECT,
        })
    }

    /// Where [`GceFake::authorized_user_json`] is written.
    pub fn authorized_user_file(&self) -> PathBuf {
        self.dir.join("authorized-user.json")
    }

    /// An empty directory, for `HOME` when no gcloud well-known file may be found.
    pub fn empty_home(&self) -> PathBuf {
        self.dir.join("home")
    }

    /// The environment that points the ADC chain and a Compute client at the fake:
    /// `GOOGLE_APPLICATION_CREDENTIALS` (the service-account key file), `GOOGLE_CLOUD_PROJECT`,
    /// `GCE_METADATA_HOST` (this server; used only when no credentials file is found) and
    /// [`ENDPOINT_VAR`] (`CLOUDKIT_GCE_ENDPOINT`, [`GceFake::endpoint`]; plain http to loopback,
    /// which the client must be allowed to send a bearer token to).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("GOOGLE_APPLICATION_CREDENTIALS", self.service_account_key_file().display().to_string()),
            ("GOOGLE_CLOUD_PROJECT", PROJECT.to_owned()),
            ("GCE_METADATA_HOST", self.metadata_host()),
            (ENDPOINT_VAR, self.endpoint().to_string()),
        ]
    }

    /// The environment of the metadata-server path: no credentials file (`HOME` is an empty
    /// directory), `GCE_METADATA_HOST` and [`ENDPOINT_VAR`]; the project comes from the metadata server.
    pub fn metadata_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("HOME", self.empty_home().display().to_string()),
            ("GCE_METADATA_HOST", self.metadata_host()),
            (ENDPOINT_VAR, self.endpoint().to_string()),
        ]
    }

    /// [`GceFake::env`] as the credential chain's fake environment (nothing else is read by
    /// cloudkit; google-cloud-auth itself reads `GCE_METADATA_HOST` from the process environment).
    pub fn gcp_env(&self) -> GcpEnv {
        GcpEnv::from_pairs(self.env())
    }

    /// A JWT-bearer assertion as Google's other client libraries send to `token_uri`: RS256, signed
    /// with the test key, `iss` = the client email, `aud` = `audience`, `scope` = `scope`, valid for
    /// an hour from `iat` = now.
    pub fn signed_assertion(&self, scope: &str, audience: &str) -> String {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let claims =
            json!({"iss": self.client_email(), "scope": scope, "aud": audience, "iat": now, "exp": now + 3600});
        sign_jwt(&claims)
    }

    /// A valid token issued directly (not counted as a fetch), for raw HTTP tests.
    pub fn issue_token(&self) -> String {
        let token = format!("ya29.fake-gce-direct-{}", self.shared.hex(32));
        let mut st = self.shared.lock();
        let lifetime = st.settings.token_lifetime;
        st.tokens.insert(token.clone(), Instant::now() + Duration::from_secs(lifetime));
        token
    }

    /// Tokens issued by the token endpoint and the metadata server.
    pub fn token_fetches(&self) -> usize {
        self.shared.lock().token_fetches
    }

    /// Tokens issued by the metadata server.
    pub fn metadata_token_fetches(&self) -> usize {
        self.shared.lock().metadata_token_fetches
    }

    /// Requests the token endpoint received (issued or refused).
    pub fn token_requests(&self) -> usize {
        self.shared.lock().token_requests
    }

    /// The scopes tokens were asked for, oldest first: the `scope` of each JWT-bearer assertion and
    /// the `scopes` (or `scope`) of each refresh-token request at the token endpoint (empty when
    /// none was sent), the `?scopes=` of each metadata-server token request (empty when absent),
    /// the `scope` claim of each distinct self-signed JWT accepted as a bearer token, and of each
    /// request refused (403) for a self-signed JWT without a Compute scope.
    pub fn requested_scopes(&self) -> Vec<String> {
        self.shared.lock().requested_scopes.clone()
    }

    /// Distinct self-signed service-account JWTs accepted as bearer tokens.
    pub fn self_signed_tokens_seen(&self) -> usize {
        self.shared.lock().self_signed.len()
    }

    /// Makes every token issued so far expired (401 afterwards).
    pub fn expire_tokens(&self) {
        let mut st = self.shared.lock();
        let past = Instant::now().checked_sub(Duration::from_secs(1)).unwrap_or_else(Instant::now);
        for expiry in st.tokens.values_mut() {
            *expiry = past;
        }
    }

    /// The `expires_in` of new tokens, in seconds (default 3599, as Google).
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.shared.lock().settings.token_lifetime = seconds;
    }

    /// Holds every `zoneOperations.wait` answer back for `hold` (`None`: answer at once, the
    /// default), as the service does while an operation runs (up to about 2 minutes); the call is
    /// logged and counted as a poll when it arrives.
    pub fn hold_wait_calls(&self, hold: Option<Duration>) {
        self.shared.lock().settings.wait_hold = hold;
    }

    /// Items per page of every list (default 2; `maxResults` can lower it).
    pub fn set_page_size(&self, items: usize) {
        self.shared.lock().settings.page_size = items.max(1);
    }

    /// How many polls an operation needs to be `DONE` (default 2; 0: the first poll answers `DONE`).
    pub fn set_polls_to_done(&self, polls: u32) {
        self.shared.lock().settings.polls_to_done = polls;
    }

    /// The next operation started ends `DONE` with `error.errors = [{code, message}]`,
    /// `httpErrorStatusCode = http_status` (e.g. `ZONE_RESOURCE_POOL_EXHAUSTED` / 503,
    /// `QUOTA_EXCEEDED` / 403); the instance's status goes back to what it was.
    pub fn fail_next_operation(&self, code: &str, message: &str, http_status: u16) {
        self.shared.lock().next_failure = Some(Failure { code: code.into(), message: message.into(), http_status });
    }

    /// The next `n` Compute requests (after authentication; token and metadata requests are never
    /// throttled) are answered 429 `rateLimitExceeded`, with `Retry-After: s` when `retry_after` is
    /// `Some(s)`.
    pub fn throttle_next(&self, n: u32, retry_after: Option<u64>) {
        let mut st = self.shared.lock();
        st.throttle = n;
        st.throttle_retry_after = retry_after;
    }

    /// Every request received so far, oldest first.
    pub fn requests(&self) -> Vec<GceRequest> {
        self.shared.lock().log.clone()
    }

    /// The Compute requests with this method whose path ends with `path_suffix`.
    pub fn requests_to(&self, method: &str, path_suffix: &str) -> Vec<GceRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.ends_with(path_suffix))
            .collect()
    }

    /// The mutating Compute requests (POST, DELETE under `/compute/v1/`, except `operations/…/wait`).
    pub fn mutating_requests(&self) -> Vec<GceRequest> {
        self.requests().into_iter().filter(is_mutating).collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// Adds (or replaces) an instance, settled in `status` (`RUNNING`, `TERMINATED`, `SUSPENDED`, …),
    /// machine type `e2-micro`, a Debian boot disk, the default network.
    pub fn add_instance(&self, zone: &str, name: &str, status: &str, labels: &[(&str, &str)]) {
        let mut st = self.shared.lock();
        st.counter += 1;
        let seq = st.counter;
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let inst = new_instance(
            &self.shared,
            seq,
            zone,
            name,
            "e2-micro",
            "",
            labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
            Vec::new(),
            None,
            None,
            now.saturating_sub(86_400) + seq,
        );
        st.instances.insert((zone.to_owned(), name.to_owned()), Instance { status: status.to_owned(), ..inst });
    }

    /// The instance's status (`None` when it does not exist).
    pub fn instance_status(&self, zone: &str, name: &str) -> Option<String> {
        self.shared.lock().instances.get(&(zone.to_owned(), name.to_owned())).map(|i| i.status.clone())
    }

    /// The instance's labels (`None` when it does not exist).
    pub fn instance_labels(&self, zone: &str, name: &str) -> Option<BTreeMap<String, String>> {
        self.shared.lock().instances.get(&(zone.to_owned(), name.to_owned())).map(|i| i.labels.clone())
    }

    /// The names of the instances in a zone, sorted.
    pub fn instance_names(&self, zone: &str) -> Vec<String> {
        self.shared.lock().instances.keys().filter(|(z, _)| z == zone).map(|(_, n)| n.clone()).collect()
    }

    /// Operations started so far (a duplicate `requestId` starts none).
    pub fn operations_started(&self) -> usize {
        self.shared.lock().operations.len()
    }

    /// Operations started and not `DONE`.
    pub fn pending_operations(&self) -> usize {
        self.shared.lock().operations.values().filter(|o| !o.finished).count()
    }
}

fn is_mutating(r: &GceRequest) -> bool {
    r.path.starts_with("/compute/v1/") && (r.method == "DELETE" || (r.method == "POST" && !r.path.ends_with("/wait")))
}

/// An RS256 JWT of `claims`, signed with the test key.
fn sign_jwt(claims: &Value) -> String {
    let key = test_key();
    let header = json!({"alg": "RS256", "typ": "JWT", "kid": key["private_key_id"]});
    let input =
        format!("{}.{}", URL_SAFE_NO_PAD.encode(header.to_string()), URL_SAFE_NO_PAD.encode(claims.to_string()));
    let pair = rsa_key_pair();
    let mut sig = vec![0u8; pair.public().modulus_len()];
    pair.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), input.as_bytes(), &mut sig)
        .unwrap_or_else(|e| panic!("signing with the test key: {e}"));
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// The claims of an RS256 JWT signed by the service account (`None`: malformed, another algorithm,
/// or a bad signature).
fn verify_jwt(shared: &Shared, jwt: &str) -> Result<Value, &'static str> {
    let mut parts = jwt.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err("not a JWT (three base64url parts)");
    };
    let decode = |p: &str| URL_SAFE_NO_PAD.decode(p.trim_end_matches('=')).ok();
    let header: Value =
        decode(h).and_then(|b| serde_json::from_slice(&b).ok()).ok_or("the JWT header is not base64url JSON")?;
    if header["alg"] != "RS256" {
        return Err("the JWT is not RS256");
    }
    let claims: Value =
        decode(c).and_then(|b| serde_json::from_slice(&b).ok()).ok_or("the JWT claims are not base64url JSON")?;
    let sig = decode(s).ok_or("the JWT signature is not base64url")?;
    let key = ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, &shared.public_key);
    key.verify(format!("{h}.{c}").as_bytes(), &sig).map_err(|_| "Invalid JWT Signature.")?;
    if claims["iss"] != shared.client_email.as_str() {
        return Err("the JWT's iss is not the service account");
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    match claims["exp"].as_u64() {
        Some(exp) if exp > now => {}
        _ => return Err("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe."),
    }
    if claims["iat"].as_u64().is_none_or(|iat| iat > now + 300) {
        return Err("Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.");
    }
    Ok(claims)
}

/// Records a scope a token was asked for (bounded like the request log).
fn push_scope(st: &mut State, scope: String) {
    if st.requested_scopes.len() >= MAX_RECORDED {
        st.requested_scopes.remove(0);
    }
    st.requested_scopes.push(scope);
}

fn scope_allows_compute(scope: &str) -> bool {
    scope.split([' ', ',']).any(|s| {
        s == CLOUD_PLATFORM_SCOPE || s == COMPUTE_SCOPE || s == "https://www.googleapis.com/auth/compute.readonly"
    })
}

/// The base64 of the first 8 bytes of the SHA-256 of `text` (Compute Engine's fingerprints are 8
/// bytes, base64).
fn fingerprint(text: &str) -> String {
    use sha2::Digest as _;
    STANDARD.encode(&sha2::Sha256::digest(text.as_bytes())[..8])
}

fn labels_fingerprint(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return EMPTY_FINGERPRINT.to_owned();
    }
    fingerprint(&serde_json::to_string(labels).unwrap_or_default())
}

fn metadata_fingerprint(items: &[(String, String)]) -> String {
    if items.is_empty() {
        return EMPTY_FINGERPRINT.to_owned();
    }
    fingerprint(&format!("metadata:{items:?}"))
}

#[allow(clippy::too_many_arguments)]
fn new_instance(
    shared: &Shared,
    seq: u64,
    zone: &str,
    name: &str,
    machine_type: &str,
    description: &str,
    labels: BTreeMap<String, String>,
    metadata: Vec<(String, String)>,
    disks: Option<Value>,
    network_interfaces: Option<Value>,
    created: u64,
) -> Instance {
    let disks = disks.unwrap_or_else(|| {
        json!([{
            "initializeParams": {"sourceImage": "projects/debian-cloud/global/images/family/debian-12"},
            "boot": true, "autoDelete": true,
        }])
    });
    let disks: Vec<Value> = disks
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, d)| {
            let disk_name = if i == 0 { name.to_owned() } else { format!("{name}-{i}") };
            json!({
                "kind": "compute#attachedDisk",
                "type": "PERSISTENT",
                "mode": "READ_WRITE",
                "source": shared.link(&format!("zones/{zone}/disks/{disk_name}")),
                "deviceName": d["deviceName"].as_str().map_or_else(|| format!("persistent-disk-{i}"), str::to_owned),
                "index": i,
                "boot": d["boot"].as_bool().unwrap_or(i == 0),
                "autoDelete": d["autoDelete"].as_bool().unwrap_or(true),
                "interface": "SCSI",
                "diskSizeGb": d["initializeParams"]["diskSizeGb"].as_str().unwrap_or("10"),
                "architecture": "X86_64",
            })
        })
        .collect();
    let nics = network_interfaces.and_then(|n| n.as_array().cloned()).unwrap_or_else(|| vec![json!({})]);
    let nics: Vec<Value> = nics
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let network = n["network"].as_str().unwrap_or("global/networks/default");
            let network = if network.starts_with("http") {
                network.to_owned()
            } else {
                shared.link(network.trim_start_matches('/').trim_start_matches(&format!("projects/{PROJECT}/")))
            };
            json!({
                "kind": "compute#networkInterface",
                "name": format!("nic{i}"),
                "network": network,
                "networkIP": format!("10.128.{}.{}", (seq / 250) % 250, seq % 250 + 2),
                "stackType": "IPV4_ONLY",
                "fingerprint": fingerprint(&format!("nic{seq}{i}")),
            })
        })
        .collect();
    Instance {
        id: shared.id(),
        name: name.to_owned(),
        zone: zone.to_owned(),
        status: "PROVISIONING".to_owned(),
        machine_type: machine_type.to_owned(),
        description: description.to_owned(),
        labels,
        metadata_fingerprint: metadata_fingerprint(&metadata),
        metadata,
        disks: Value::Array(disks),
        network_interfaces: Value::Array(nics),
        created,
        seq,
        last_start: None,
        last_stop: None,
        pending: None,
    }
}

fn instance_body(shared: &Shared, i: &Instance) -> Value {
    let mut body = json!({
        "kind": "compute#instance",
        "id": i.id.to_string(),
        "creationTimestamp": rfc3339(i.created),
        "name": i.name,
        "description": i.description,
        "machineType": shared.link(&format!("zones/{}/machineTypes/{}", i.zone, i.machine_type)),
        "status": i.status,
        "zone": shared.link(&format!("zones/{}", i.zone)),
        "networkInterfaces": i.network_interfaces,
        "disks": i.disks,
        "metadata": {
            "kind": "compute#metadata",
            "fingerprint": i.metadata_fingerprint,
            "items": i.metadata.iter().map(|(k, v)| json!({"key": k, "value": v})).collect::<Vec<_>>(),
        },
        "selfLink": shared.link(&format!("zones/{}/instances/{}", i.zone, i.name)),
        "labelFingerprint": labels_fingerprint(&i.labels),
    });
    if !i.labels.is_empty() {
        body["labels"] = json!(i.labels);
    }
    if i.metadata.is_empty()
        && let Some(m) = body["metadata"].as_object_mut()
    {
        m.remove("items");
    }
    if let Some(t) = &i.last_start {
        body["lastStartTimestamp"] = json!(t);
    }
    if let Some(t) = &i.last_stop {
        body["lastStopTimestamp"] = json!(t);
    }
    body
}

// ---------------------------------------------------------------------------------------------
// Errors in Google's shape
// ---------------------------------------------------------------------------------------------

fn status_name(code: u16) -> &'static str {
    match code {
        400 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        409 => "ALREADY_EXISTS",
        412 => "FAILED_PRECONDITION",
        429 => "RESOURCE_EXHAUSTED",
        503 => "UNAVAILABLE",
        _ => "UNKNOWN",
    }
}

fn http_message(code: u16) -> &'static str {
    match code {
        400 => "BAD REQUEST",
        403 => "FORBIDDEN",
        404 => "NOT FOUND",
        409 => "CONFLICT",
        412 => "PRECONDITION FAILED",
        429 => "TOO MANY REQUESTS",
        503 => "SERVICE UNAVAILABLE",
        _ => "INTERNAL SERVER ERROR",
    }
}

/// The Google JSON API error envelope.
fn google_error(code: u16, reason: &str, message: impl Into<String>) -> Reply {
    google_error_with(code, reason, "global", status_name(code), message)
}

fn google_error_with(code: u16, reason: &str, domain: &str, status: &str, message: impl Into<String>) -> Reply {
    let message = message.into();
    Reply::json(
        code,
        json!({"error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
            "status": status,
        }}),
    )
}

fn not_found(resource: &str) -> Reply {
    google_error(404, "notFound", format!("The resource '{resource}' was not found"))
}

fn invalid(field: &str, value: &str, why: &str) -> Reply {
    google_error(400, "invalid", format!("Invalid value for field '{field}': '{value}'. {why}"))
}

fn instance_path(zone: &str, name: &str) -> String {
    format!("projects/{PROJECT}/zones/{zone}/instances/{name}")
}

fn not_ready(zone: &str, name: &str) -> Reply {
    google_error_with(
        400,
        "resourceNotReady",
        "global",
        "FAILED_PRECONDITION",
        format!("The resource '{}' is not ready", instance_path(zone, name)),
    )
}

// ---------------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------------

fn handle(shared: &Shared, req: &RecordedRequest) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let path = req.url.path().to_owned();
    let is_metadata = path.starts_with("/computeMetadata/");
    let reply = {
        let mut st = shared.lock();
        push_bounded(&mut st.log, FakeRequest::from_recorded(req, path != "/token"));
        if path == "/token" {
            token_endpoint(shared, &mut st, req)
        } else if is_metadata || path == "/" {
            metadata(shared, &mut st, req)
        } else {
            compute(shared, &mut st, req)
        }
    };
    if req.method == Method::POST && path.starts_with("/compute/") && path.ends_with("/wait") {
        let hold = shared.lock().settings.wait_hold;
        if let Some(hold) = hold {
            std::thread::sleep(hold);
        }
    }
    let body = reply_body(&reply, req.method == Method::HEAD);
    let mut headers = Vec::new();
    if reply.body.is_some() && !reply.headers.iter().any(|(n, _)| n == "content-type") {
        headers.push(("content-type".to_owned(), "application/json; charset=UTF-8".to_owned()));
    }
    if is_metadata || path == "/" {
        headers.push(("metadata-flavor".to_owned(), "Google".to_owned()));
    }
    headers.extend(reply.headers);
    (reply.status, headers, body)
}

fn oauth_error(error: &str, description: &str) -> Reply {
    Reply::json(400, json!({"error": error, "error_description": description}))
}

/// `POST /token`: the JWT-bearer grant (service accounts) and the refresh-token grant
/// (authorized users); form or JSON bodies.
fn token_endpoint(shared: &Shared, st: &mut State, req: &RecordedRequest) -> Reply {
    st.token_requests += 1;
    if req.method != Method::POST {
        return Reply::json(405, json!({"error": "invalid_request", "error_description": "POST only"}));
    }
    let is_json = req
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let form: HashMap<String, String> = if is_json {
        serde_json::from_slice::<Map<String, Value>>(&req.body)
            .map(|m| m.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.to_owned()))).collect())
            .unwrap_or_default()
    } else {
        Url::parse(&format!("http://form/?{}", String::from_utf8_lossy(&req.body)))
            .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
            .unwrap_or_default()
    };
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    let scope = match field("grant_type") {
        JWT_BEARER_GRANT => {
            let claims = match verify_jwt(shared, field("assertion")) {
                Ok(c) => c,
                Err(why) => return oauth_error("invalid_grant", why),
            };
            let own = format!("{}token", shared.base());
            let aud = claims["aud"].as_str().unwrap_or("");
            if aud != own && aud != "https://oauth2.googleapis.com/token" {
                return oauth_error("invalid_grant", "Invalid JWT: Failed audience check.");
            }
            let scope = claims["scope"].as_str().unwrap_or("").to_owned();
            if scope.is_empty() {
                return oauth_error("invalid_scope", "Invalid OAuth scope or ID token audience provided.");
            }
            scope
        }
        "refresh_token" => {
            if field("client_id") != USER_CLIENT_ID || field("client_secret") != USER_CLIENT_SECRET {
                return Reply::json(401, json!({"error": "invalid_client", "error_description": "Unauthorized"}));
            }
            if field("refresh_token") != USER_REFRESH_TOKEN {
                return oauth_error("invalid_grant", "Bad Request");
            }
            let s = if field("scopes").is_empty() { field("scope") } else { field("scopes") };
            if s.is_empty() { CLOUD_PLATFORM_SCOPE.to_owned() } else { s.to_owned() }
        }
        "" => return oauth_error("invalid_request", "Missing required parameter: grant_type"),
        other => return oauth_error("unsupported_grant_type", &format!("Invalid grant_type: {other}")),
    };
    let token = format!("ya29.fake-gce-{}-{}", st.token_fetches + 1, shared.hex(32));
    let asked = if field("grant_type") == JWT_BEARER_GRANT {
        scope.clone()
    } else if field("scopes").is_empty() {
        field("scope").to_owned()
    } else {
        field("scopes").to_owned()
    };
    push_scope(st, asked);
    let lifetime = st.settings.token_lifetime;
    st.tokens.insert(token.clone(), Instant::now() + Duration::from_secs(lifetime));
    st.token_fetches += 1;
    Reply::json(200, json!({"access_token": token, "expires_in": lifetime, "scope": scope, "token_type": "Bearer"}))
}

/// The metadata server.
fn metadata(shared: &Shared, st: &mut State, req: &RecordedRequest) -> Reply {
    let flavor = req.headers.get("metadata-flavor").and_then(|v| v.to_str().ok());
    if req.url.path() == "/" {
        return Reply::text(200, "computeMetadata/\n");
    }
    if flavor != Some("Google") {
        return Reply::text(
            403,
            "Your client does not have permission to get URL /computeMetadata/v1/ from this server. Missing Metadata-Flavor:Google header.",
        );
    }
    if req.method != Method::GET {
        return Reply::text(405, "Method Not Allowed");
    }
    let rest = req.url.path().trim_start_matches("/computeMetadata/v1/").trim_end_matches('/');
    match rest {
        "instance/service-accounts/default/token" => {
            let asked = req.url.query_pairs().find(|(k, _)| k == "scopes").map(|(_, v)| v.into_owned());
            push_scope(st, asked.unwrap_or_default());
            let token = format!("ya29.fake-gce-mds-{}-{}", st.token_fetches + 1, shared.hex(32));
            let lifetime = st.settings.token_lifetime;
            st.tokens.insert(token.clone(), Instant::now() + Duration::from_secs(lifetime));
            st.token_fetches += 1;
            st.metadata_token_fetches += 1;
            Reply::json(200, json!({"access_token": token, "expires_in": lifetime, "token_type": "Bearer"}))
        }
        "instance/service-accounts/default/email" => Reply::text(200, &shared.client_email),
        "project/project-id" => Reply::text(200, PROJECT),
        "project/numeric-project-id" => Reply::text(200, PROJECT_NUMBER),
        "instance/zone" => Reply::text(200, &format!("projects/{PROJECT_NUMBER}/zones/{}", ZONES[0])),
        "universe/universe-domain" => Reply::text(200, "googleapis.com"),
        _ => Reply::text(404, "Not Found"),
    }
}

fn unauthenticated(message: &str, errors: Value) -> Reply {
    Reply::json(401, json!({"error": {"code": 401, "message": message, "errors": errors, "status": "UNAUTHENTICATED"}}))
        .header("www-authenticate", "Bearer realm=\"https://accounts.google.com/\"")
}

fn authenticate(shared: &Shared, st: &mut State, req: &RecordedRequest) -> Option<Reply> {
    let header = req.headers.get("authorization").and_then(|v| v.to_str().ok());
    let invalid_credentials = || {
        unauthenticated(
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            json!([{"message": "Invalid Credentials", "domain": "global", "reason": "authError", "location": "Authorization", "locationType": "header"}]),
        )
    };
    let Some(header) = header else {
        return Some(unauthenticated(
            "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
            json!([{"message": "Login Required.", "domain": "global", "reason": "required", "location": "Authorization", "locationType": "header"}]),
        ));
    };
    let token = match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => return Some(invalid_credentials()),
    };
    if let Some(expiry) = st.tokens.get(token) {
        return (*expiry <= Instant::now()).then(invalid_credentials);
    }
    // A self-signed JWT of the service account (AIP-4111), as google-cloud-auth sends.
    match verify_jwt(shared, token) {
        Ok(claims) => {
            let by_scope = claims["scope"].as_str().is_some_and(scope_allows_compute);
            let by_aud =
                claims["aud"].as_str().is_some_and(|a| a.trim_end_matches('/') == "https://compute.googleapis.com");
            let sub_ok = claims.get("sub").is_none_or(|s| s == shared.client_email.as_str());
            if (by_scope || by_aud) && sub_ok {
                if st.self_signed.len() < MAX_OPERATIONS && st.self_signed.insert(token.to_owned()) {
                    let scope = claims["scope"].as_str().unwrap_or_default().to_owned();
                    push_scope(st, scope);
                }
                None
            } else {
                push_scope(st, claims["scope"].as_str().unwrap_or_default().to_owned());
                Some(google_error_with(
                    403,
                    "insufficientPermissions",
                    "global",
                    "PERMISSION_DENIED",
                    "Request had insufficient authentication scopes.",
                ))
            }
        }
        Err(_) => Some(invalid_credentials()),
    }
}

fn compute(shared: &Shared, st: &mut State, req: &RecordedRequest) -> Reply {
    let Some(rest) = req.url.path().strip_prefix("/compute/v1/") else {
        return google_error(
            404,
            "notFound",
            format!("The requested URL {} was not found on this server.", req.url.path()),
        );
    };
    if let Some(refused) = authenticate(shared, st, req) {
        return refused;
    }
    if st.throttle > 0 {
        st.throttle -= 1;
        let mut reply =
            google_error_with(429, "rateLimitExceeded", "usageLimits", "RESOURCE_EXHAUSTED", "Rate Limit Exceeded");
        if let Some(s) = st.throttle_retry_after {
            reply = reply.header("retry-after", s.to_string());
        }
        return reply;
    }
    let segs: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    let query: Vec<(String, String)> = req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let method = req.method.as_str();
    if segs.first() != Some(&"projects") || segs.len() < 3 {
        return google_error(
            404,
            "notFound",
            format!("The requested URL {} was not found on this server.", req.url.path()),
        );
    }
    if segs[1] != PROJECT {
        return not_found(&format!("projects/{}", segs[1]));
    }
    let list = ListParams {
        max_results: q("maxResults"),
        page_token: q("pageToken"),
        filter: q("filter"),
        order_by: q("orderBy"),
    };
    let body = || serde_json::from_slice::<Value>(&req.body).unwrap_or(Value::Null);
    let request_id = q("requestId");
    match (method, &segs[2..]) {
        ("GET", ["zones"]) => zones_list(shared, st, &list),
        ("GET", ["aggregated", "instances"]) => aggregated_list(shared, st, &list),
        (_, ["zones", zone, tail @ ..]) => {
            if !ZONES.contains(zone) {
                return if tail.is_empty() {
                    not_found(&format!("projects/{PROJECT}/zones/{zone}"))
                } else {
                    invalid("zone", zone, "Unknown zone.")
                };
            }
            match (method, tail) {
                ("GET", []) => zone_get(shared, zone),
                ("GET", ["machineTypes"]) => machine_types(shared, st, zone, &list),
                ("GET", ["instances"]) => instances_list(shared, st, zone, &list),
                ("POST", ["instances"]) => {
                    mutate(shared, st, request_id, |shared, st| insert(shared, st, zone, body()))
                }
                ("GET", ["instances", name]) => instance_get(shared, st, zone, name),
                ("DELETE", ["instances", name]) => {
                    mutate(shared, st, request_id, |shared, st| action(shared, st, zone, name, "delete"))
                }
                ("POST", ["instances", name, verb @ ("start" | "stop" | "reset" | "suspend" | "resume")]) => {
                    mutate(shared, st, request_id, |shared, st| action(shared, st, zone, name, verb))
                }
                ("POST", ["instances", name, "setLabels"]) => {
                    mutate(shared, st, request_id, |shared, st| set_labels(shared, st, zone, name, body()))
                }
                ("POST", ["instances", name, "setMetadata"]) => {
                    mutate(shared, st, request_id, |shared, st| set_metadata(shared, st, zone, name, body()))
                }
                ("GET", ["operations", op]) => operation_poll(shared, st, zone, op),
                ("POST", ["operations", op, "wait"]) => operation_poll(shared, st, zone, op),
                _ => google_error(
                    404,
                    "notFound",
                    format!("The requested URL {} was not found on this server.", req.url.path()),
                ),
            }
        }
        _ => {
            google_error(404, "notFound", format!("The requested URL {} was not found on this server.", req.url.path()))
        }
    }
}

/// A `requestId` already seen returns its operation; otherwise `f` runs and, when it started an
/// operation, the id is remembered.
fn mutate(
    shared: &Shared,
    st: &mut State,
    request_id: Option<&str>,
    f: impl FnOnce(&Shared, &mut State) -> Result<u64, Reply>,
) -> Reply {
    if let Some(id) = request_id {
        if !valid_request_id(id) {
            return invalid(
                "requestId",
                id,
                "Must be a UUID (RFC 4122, not the zero UUID), e.g. 5a3f8d2c-1b4e-4c6a-9f0e-2d7b8c9a1e3f.",
            );
        }
        if let Some(seq) = st.request_ids.get(id).copied()
            && let Some(op) = st.operations.get(&seq)
        {
            return Reply::json(200, operation_body(shared, op));
        }
    }
    match f(shared, st) {
        Ok(seq) => {
            if let Some(id) = request_id {
                st.request_ids.insert(id.to_owned(), seq);
            }
            match st.operations.get(&seq) {
                Some(op) => Reply::json(200, operation_body(shared, op)),
                None => google_error(500, "backendError", "Internal error."),
            }
        }
        Err(reply) => reply,
    }
}

fn valid_request_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 36
        && b.iter()
            .enumerate()
            .all(|(i, c)| if matches!(i, 8 | 13 | 18 | 23) { *c == b'-' } else { c.is_ascii_hexdigit() })
        && id.chars().any(|c| c != '0' && c != '-')
}

fn insert(shared: &Shared, st: &mut State, zone: &str, body: Value) -> Result<u64, Reply> {
    let Some(name) = body["name"].as_str().filter(|n| !n.is_empty()) else {
        return Err(google_error(400, "required", "Required field 'resource.name' not specified"));
    };
    if !valid_name(name) {
        return Err(invalid("resource.name", name, &format!("Must be a match of regex '{INSTANCE_NAME_RULE}'")));
    }
    let Some(machine_type) = body["machineType"].as_str().filter(|m| !m.is_empty()) else {
        return Err(google_error(400, "required", "Required field 'resource.machineType' not specified"));
    };
    let short = machine_type.rsplit('/').next().unwrap_or(machine_type);
    if !MACHINE_TYPES.iter().any(|(n, ..)| *n == short) {
        return Err(invalid(
            "resource.machineType",
            machine_type,
            &format!("Machine type with name '{short}' does not exist in zone '{zone}'."),
        ));
    }
    if body["disks"].as_array().is_none_or(Vec::is_empty) {
        return Err(google_error(
            400,
            "required",
            "Invalid value for field 'resource.disks': ''. At least one disk must be specified.",
        ));
    }
    let key = (zone.to_owned(), name.to_owned());
    if st.instances.contains_key(&key) {
        return Err(google_error(
            409,
            "alreadyExists",
            format!("The resource '{}' already exists", instance_path(zone, name)),
        ));
    }
    if st.instances.len() >= MAX_INSTANCES {
        return Err(google_error_with(
            403,
            "quotaExceeded",
            "usageLimits",
            "PERMISSION_DENIED",
            format!("Quota 'INSTANCES' exceeded. Limit: {MAX_INSTANCES}.0 in region {}.", region_of(zone)),
        ));
    }
    let labels: BTreeMap<String, String> = body["labels"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default();
    let metadata = metadata_items(&body["metadata"]);
    st.counter += 1;
    let seq = st.counter;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let inst = new_instance(
        shared,
        seq,
        zone,
        name,
        short,
        body["description"].as_str().unwrap_or(""),
        labels,
        metadata,
        body.get("disks").cloned(),
        body.get("networkInterfaces").cloned(),
        now,
    );
    let target_id = inst.id;
    st.instances.insert(key, inst);
    let op = start_operation(
        shared,
        st,
        zone,
        name,
        target_id,
        "insert",
        vec!["PROVISIONING", "STAGING"],
        Some("RUNNING"),
        None,
    );
    Ok(op)
}

fn valid_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-'
}

fn region_of(zone: &str) -> &str {
    zone.rsplit_once('-').map_or(zone, |(r, _)| r)
}

fn metadata_items(m: &Value) -> Vec<(String, String)> {
    m["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|i| Some((i["key"].as_str()?.to_owned(), i["value"].as_str().unwrap_or("").to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

fn action(shared: &Shared, st: &mut State, zone: &str, name: &str, verb: &str) -> Result<u64, Reply> {
    let key = (zone.to_owned(), name.to_owned());
    let Some(pending) = st.instances.get(&key).map(|i| i.pending) else {
        return Err(not_found(&instance_path(zone, name)));
    };
    if let Some(op) = pending {
        finish_now(st, op);
    }
    let Some(inst) = st.instances.get(&key) else { return Err(not_found(&instance_path(zone, name))) };
    let before = inst.status.clone();
    let target_id = inst.id;
    let is = |s: &[&str]| s.contains(&before.as_str());
    let (running, done): (Vec<&'static str>, Option<&'static str>) = match verb {
        "start" => {
            if is(&["SUSPENDING", "SUSPENDED"]) {
                return Err(not_ready(zone, name));
            }
            if before == "RUNNING" { (vec!["RUNNING"], Some("RUNNING")) } else { (vec!["STAGING"], Some("RUNNING")) }
        }
        "stop" => {
            // A suspended instance can be stopped (Google: "stop a suspended instance"); one that is
            // still suspending cannot.
            if before == "SUSPENDING" {
                return Err(not_ready(zone, name));
            }
            if is(&["TERMINATED", "STOPPED"]) {
                (vec!["TERMINATED"], Some("TERMINATED"))
            } else {
                (vec!["STOPPING"], Some("TERMINATED"))
            }
        }
        "reset" => {
            if before != "RUNNING" {
                return Err(not_ready(zone, name));
            }
            (vec!["RUNNING"], Some("RUNNING"))
        }
        "suspend" => {
            if before != "RUNNING" {
                return Err(not_ready(zone, name));
            }
            (vec!["SUSPENDING"], Some("SUSPENDED"))
        }
        "resume" => {
            if before != "SUSPENDED" {
                return Err(not_ready(zone, name));
            }
            (vec!["STAGING"], Some("RUNNING"))
        }
        _ => (vec!["STOPPING"], None),
    };
    let kind = match verb {
        "start" => "start",
        "stop" => "stop",
        "reset" => "reset",
        "suspend" => "suspend",
        "resume" => "resume",
        _ => "delete",
    };
    Ok(start_operation(shared, st, zone, name, target_id, kind, running, done, Some(before)))
}

fn set_labels(shared: &Shared, st: &mut State, zone: &str, name: &str, body: Value) -> Result<u64, Reply> {
    let key = (zone.to_owned(), name.to_owned());
    if let Some(previous) = st.instances.get(&key).and_then(|i| i.pending) {
        finish_now(st, previous);
    }
    let Some(inst) = st.instances.get_mut(&key) else { return Err(not_found(&instance_path(zone, name))) };
    let current = labels_fingerprint(&inst.labels);
    if body["labelFingerprint"].as_str() != Some(current.as_str()) {
        return Err(google_error_with(
            412,
            "conditionNotMet",
            "global",
            "FAILED_PRECONDITION",
            "Labels fingerprint either invalid or resource labels have changed",
        ));
    }
    inst.labels = body["labels"]
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned())).collect())
        .unwrap_or_default();
    let (target_id, status) = (inst.id, inst.status.clone());
    Ok(start_operation(shared, st, zone, name, target_id, "setLabels", vec![], None, Some(status)))
}

fn set_metadata(shared: &Shared, st: &mut State, zone: &str, name: &str, body: Value) -> Result<u64, Reply> {
    let key = (zone.to_owned(), name.to_owned());
    if let Some(previous) = st.instances.get(&key).and_then(|i| i.pending) {
        finish_now(st, previous);
    }
    let Some(inst) = st.instances.get_mut(&key) else { return Err(not_found(&instance_path(zone, name))) };
    if body["fingerprint"].as_str() != Some(inst.metadata_fingerprint.as_str()) {
        return Err(google_error_with(
            412,
            "conditionNotMet",
            "global",
            "FAILED_PRECONDITION",
            "Supplied fingerprint does not match current metadata fingerprint.",
        ));
    }
    inst.metadata = metadata_items(&body);
    inst.metadata_fingerprint = metadata_fingerprint(&inst.metadata);
    let (target_id, status) = (inst.id, inst.status.clone());
    Ok(start_operation(shared, st, zone, name, target_id, "setMetadata", vec![], None, Some(status)))
}

fn instance_get(shared: &Shared, st: &mut State, zone: &str, name: &str) -> Reply {
    let key = (zone.to_owned(), name.to_owned());
    // A GET of the instance also counts as a poll of its running operation.
    if let Some(op) = st.instances.get(&key).and_then(|i| i.pending) {
        poll(st, op);
    }
    match st.instances.get(&key) {
        Some(i) => Reply::json(200, instance_body(shared, i)),
        None => not_found(&instance_path(zone, name)),
    }
}

fn zone_body(shared: &Shared, index: usize, zone: &str) -> Value {
    json!({
        "kind": "compute#zone",
        "id": (2_000 + index as u64 * 11).to_string(),
        "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
        "name": zone,
        "description": zone,
        "status": "UP",
        "region": shared.link(&format!("regions/{}", region_of(zone))),
        "selfLink": shared.link(&format!("zones/{zone}")),
        "availableCpuPlatforms": ["Intel Cascade Lake", "AMD Milan", "Intel Ice Lake"],
        "supportsPzs": false,
    })
}

fn zone_get(shared: &Shared, zone: &str) -> Reply {
    let index = ZONES.iter().position(|z| *z == zone).unwrap_or(0);
    Reply::json(200, zone_body(shared, index, zone))
}

// ---------------------------------------------------------------------------------------------
// Lists
// ---------------------------------------------------------------------------------------------

struct ListParams<'a> {
    max_results: Option<&'a str>,
    page_token: Option<&'a str>,
    filter: Option<&'a str>,
    order_by: Option<&'a str>,
}

/// A page: the items' range, whether it is the empty page, and the next token.
struct Page {
    start: usize,
    end: usize,
    next: Option<String>,
}

/// Paging by an opaque token: base64 of `o<offset>` (a page of items) or `e<offset>` (the empty page
/// that leads to it).
fn paginate(st: &State, total: usize, params: &ListParams<'_>) -> Result<Page, Reply> {
    let max = match params.max_results {
        None | Some("") => 500,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if n <= 500 => n,
            _ => return Err(invalid("maxResults", m, "Must be less than or equal to 500")),
        },
    };
    let size = if max == 0 { st.settings.page_size } else { max.min(st.settings.page_size) };
    let (offset, empty) = match params.page_token {
        None | Some("") => (0, false),
        Some(t) => {
            let decoded = STANDARD.decode(t).ok().and_then(|b| String::from_utf8(b).ok()).unwrap_or_default();
            let parsed = decoded.get(1..).and_then(|n| n.parse::<usize>().ok());
            match (decoded.chars().next(), parsed) {
                (Some('o'), Some(n)) => (n, false),
                (Some('e'), Some(n)) => (n, true),
                _ => return Err(invalid("pageToken", t, "Invalid page token.")),
            }
        }
    };
    let token = |kind: char, n: usize| STANDARD.encode(format!("{kind}{n}"));
    if empty {
        return Ok(Page { start: offset, end: offset, next: Some(token('o', offset)) });
    }
    let end = (offset + size).min(total);
    let next = (end < total).then(|| if offset == 0 { token('e', end) } else { token('o', end) });
    Ok(Page { start: offset.min(total), end, next })
}

fn no_results(scope: Option<&str>) -> Value {
    match scope {
        Some(s) => json!({
            "code": "NO_RESULTS_ON_PAGE",
            "message": format!("There are no results for scope '{s}' on this page."),
            "data": [{"key": "scope", "value": s}],
        }),
        None => json!({
            "code": "NO_RESULTS_ON_PAGE",
            "message": "There are no results on this page.",
            "data": [],
        }),
    }
}

/// A list answer: `kind`, `id`, `items` (absent when empty, with the `NO_RESULTS_ON_PAGE` warning),
/// `nextPageToken`, `selfLink`.
fn list_body(kind: &str, id: &str, self_link: String, items: Vec<Value>, page: &Page) -> Value {
    let mut out = json!({"kind": kind, "id": id, "selfLink": self_link});
    if items.is_empty() {
        out["warning"] = no_results(None);
    } else {
        out["items"] = Value::Array(items);
    }
    if let Some(n) = &page.next {
        out["nextPageToken"] = json!(n);
    }
    out
}

/// One comparison of a filter.
enum Cond {
    Name(bool, String),
    Status(bool, String),
    Zone(bool, String),
    Label(bool, String, String),
    LabelExists(String),
}

fn parse_filter(filter: &str) -> Result<Vec<Cond>, Reply> {
    let bad = || invalid("filter", filter, "Invalid list filter expression.");
    let mut exprs = Vec::new();
    let mut rest = filter.trim();
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('(') {
            let Some(close) = inner.find(')') else { return Err(bad()) };
            exprs.push(inner[..close].trim().to_owned());
            rest = inner[close + 1..].trim_start();
        } else {
            // An unparenthesized expression: `field op value`, the value possibly quoted.
            let (expr, tail) = take_expression(rest).ok_or_else(bad)?;
            exprs.push(expr);
            rest = tail.trim_start();
        }
        if let Some(tail) = rest.strip_prefix("AND ") {
            rest = tail.trim_start();
        } else if rest.starts_with("OR ") {
            return Err(bad());
        }
    }
    exprs.iter().map(|e| parse_condition(e).ok_or_else(bad)).collect()
}

/// Splits `field op value` (the value quoted or one word; `field=value` and `labels.k:*` as one word)
/// off the front of `text`.
fn take_expression(text: &str) -> Option<(String, &str)> {
    let first_end = text.find(' ').unwrap_or(text.len());
    let first = &text[..first_end];
    if first.ends_with(":*") || first.contains('=') {
        return Some((first.to_owned(), &text[first_end..]));
    }
    let rest = text[first_end..].trim_start();
    let op_end = rest.find(' ')?;
    let op = &rest[..op_end];
    let tail = rest[op_end..].trim_start();
    let value_len = match tail.strip_prefix('"') {
        Some(q) => q.find('"')? + 2,
        None => tail.find(' ').unwrap_or(tail.len()),
    };
    Some((format!("{first} {op} {}", &tail[..value_len]), &tail[value_len..]))
}

fn parse_condition(expr: &str) -> Option<Cond> {
    let expr = expr.trim();
    if let Some(key) = expr.strip_prefix("labels.").and_then(|k| k.strip_suffix(":*")) {
        return Some(Cond::LabelExists(key.trim().to_owned()));
    }
    let (field, op, value) = if let Some((f, v)) = expr.split_once("!=") {
        (f.trim(), false, v.trim())
    } else if let Some((f, v)) = expr.split_once('=') {
        (f.trim(), true, v.trim())
    } else {
        return None;
    };
    let value = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value).to_owned();
    if value.contains(' ') && !expr.contains('"') {
        return None;
    }
    match field {
        "name" => Some(Cond::Name(op, value)),
        "status" => Some(Cond::Status(op, value)),
        "zone" => Some(Cond::Zone(op, value)),
        f => f.strip_prefix("labels.").map(|k| Cond::Label(op, k.to_owned(), value)),
    }
}

fn matches(i: &Instance, conds: &[Cond]) -> bool {
    conds.iter().all(|c| match c {
        Cond::Name(eq, v) => (i.name == *v) == *eq,
        Cond::Status(eq, v) => (i.status == *v) == *eq,
        Cond::Zone(eq, v) => (i.zone == *v || v.ends_with(&format!("/zones/{}", i.zone))) == *eq,
        Cond::Label(eq, k, v) => (i.labels.get(k) == Some(v)) == *eq,
        Cond::LabelExists(k) => i.labels.contains_key(k),
    })
}

/// The instances `filter` selects, in `orderBy` order.
fn select<'a>(st: &'a State, zone: Option<&str>, params: &ListParams<'_>) -> Result<Vec<&'a Instance>, Reply> {
    let conds = match params.filter {
        None | Some("") => Vec::new(),
        Some(f) => parse_filter(f)?,
    };
    let mut out: Vec<&Instance> =
        st.instances.values().filter(|i| zone.is_none_or(|z| i.zone == z)).filter(|i| matches(i, &conds)).collect();
    match params.order_by {
        None | Some("") | Some("name") => out.sort_by(|a, b| (&a.name, &a.zone).cmp(&(&b.name, &b.zone))),
        Some("creationTimestamp desc") => out.sort_by_key(|i| std::cmp::Reverse((i.created, i.seq))),
        Some(o) => {
            return Err(invalid("orderBy", o, "Sorting is only supported on name and creationTimestamp desc."));
        }
    }
    Ok(out)
}

fn instances_list(shared: &Shared, st: &State, zone: &str, params: &ListParams<'_>) -> Reply {
    let selected = match select(st, Some(zone), params) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let page = match paginate(st, selected.len(), params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let items: Vec<Value> = selected[page.start..page.end].iter().map(|i| instance_body(shared, i)).collect();
    let self_link = shared.link(&format!("zones/{zone}/instances"));
    let id = format!("projects/{PROJECT}/zones/{zone}/instances");
    let mut out = list_body("compute#instanceList", &id, self_link, items, &page);
    if out.get("warning").is_some() {
        out["warning"] = no_results(Some(&format!("zones/{zone}")));
    }
    Reply::json(200, out)
}

fn aggregated_list(shared: &Shared, st: &State, params: &ListParams<'_>) -> Reply {
    let mut selected = match select(st, None, params) {
        Ok(s) => s,
        Err(r) => return r,
    };
    // Zone by zone (in ZONES order), then the requested order inside a zone.
    selected.sort_by_key(|i| ZONES.iter().position(|z| *z == i.zone).unwrap_or(usize::MAX));
    let page = match paginate(st, selected.len(), params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let mut items = Map::new();
    for zone in ZONES {
        let scope = format!("zones/{zone}");
        let here: Vec<Value> = selected[page.start..page.end]
            .iter()
            .filter(|i| i.zone == zone)
            .map(|i| instance_body(shared, i))
            .collect();
        let entry =
            if here.is_empty() { json!({"warning": no_results(Some(&scope))}) } else { json!({"instances": here}) };
        items.insert(scope, entry);
    }
    let mut out = json!({
        "kind": "compute#instanceAggregatedList",
        "id": format!("projects/{PROJECT}/aggregated/instances"),
        "items": items,
        "selfLink": shared.link("aggregated/instances"),
    });
    if let Some(n) = &page.next {
        out["nextPageToken"] = json!(n);
    }
    Reply::json(200, out)
}

fn zones_list(shared: &Shared, st: &State, params: &ListParams<'_>) -> Reply {
    let page = match paginate(st, ZONES.len(), params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let items: Vec<Value> = (page.start..page.end).map(|i| zone_body(shared, i, ZONES[i])).collect();
    let id = format!("projects/{PROJECT}/zones");
    Reply::json(200, list_body("compute#zoneList", &id, shared.link("zones"), items, &page))
}

fn machine_types(shared: &Shared, st: &State, zone: &str, params: &ListParams<'_>) -> Reply {
    let page = match paginate(st, MACHINE_TYPES.len(), params) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let items: Vec<Value> = MACHINE_TYPES[page.start..page.end]
        .iter()
        .enumerate()
        .map(|(n, (name, cpus, mem, shared_cpu))| {
            json!({
                "kind": "compute#machineType",
                "id": (801_016 + page.start + n).to_string(),
                "creationTimestamp": "1969-12-31T16:00:00.000-08:00",
                "name": name,
                "description": format!("{cpus} vCPUs, {} GB RAM", *mem as f64 / 1024.0),
                "guestCpus": cpus,
                "memoryMb": mem,
                "imageSpaceGb": 0,
                "maximumPersistentDisks": 128,
                "maximumPersistentDisksSizeGb": "263168",
                "zone": zone,
                "selfLink": shared.link(&format!("zones/{zone}/machineTypes/{name}")),
                "isSharedCpu": shared_cpu,
                "architecture": "X86_64",
            })
        })
        .collect();
    let id = format!("projects/{PROJECT}/zones/{zone}/machineTypes");
    let self_link = shared.link(&format!("zones/{zone}/machineTypes"));
    Reply::json(200, list_body("compute#machineTypeList", &id, self_link, items, &page))
}

// ---------------------------------------------------------------------------------------------
// Operations
// ---------------------------------------------------------------------------------------------

#[allow(clippy::too_many_arguments)]
fn start_operation(
    shared: &Shared,
    st: &mut State,
    zone: &str,
    instance: &str,
    target_id: u64,
    kind: &'static str,
    running: Vec<&'static str>,
    done: Option<&'static str>,
    before: Option<String>,
) -> u64 {
    st.counter += 1;
    let seq = st.counter;
    let millis = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let name = format!("operation-{millis}-{}-{}-{}", shared.hex(13), shared.hex(8), shared.hex(8));
    let failure = st.next_failure.take();
    let running_first = running.first().copied();
    let op = Operation {
        id: shared.id(),
        name: name.clone(),
        zone: zone.to_owned(),
        kind,
        instance: instance.to_owned(),
        target_id,
        running,
        done,
        before,
        polls: 0,
        finished: false,
        failure,
        user: shared.client_email.clone(),
        insert_time: now_rfc3339(),
        start_time: None,
        end_time: None,
    };
    st.operations.insert(seq, op);
    st.operation_names.insert(name, seq);
    if let Some(i) = st.instances.get_mut(&(zone.to_owned(), instance.to_owned())) {
        i.pending = Some(seq);
        if let Some(first) = running_first {
            i.status = first.to_owned();
        }
    }
    // Forget the oldest finished operations beyond the bound (and their request ids).
    while st.operations.len() > MAX_OPERATIONS {
        let Some(oldest) = st.operations.iter().find(|(_, o)| o.finished).map(|(k, _)| *k) else { break };
        if let Some(o) = st.operations.remove(&oldest) {
            st.operation_names.remove(&o.name);
            st.request_ids.retain(|_, s| *s != oldest);
        }
    }
    seq
}

/// One poll: `RUNNING` (the instance in its transitional status) until `polls_to_done` polls, then
/// `DONE` (the effect applied, once).
fn poll(st: &mut State, seq: u64) {
    let limit = st.settings.polls_to_done;
    let Some(op) = st.operations.get_mut(&seq) else { return };
    if op.finished {
        return;
    }
    op.polls += 1;
    if op.polls >= limit {
        finish_now(st, seq);
        return;
    }
    if op.start_time.is_none() {
        op.start_time = Some(now_rfc3339());
    }
    let status = op.running.get(op.polls as usize).or(op.running.last()).copied();
    let key = (op.zone.clone(), op.instance.clone());
    if let (Some(status), Some(i)) = (status, st.instances.get_mut(&key)) {
        i.status = status.to_owned();
    }
}

/// Completes the operation now, applying its effect (or undoing the start of it when it fails).
fn finish_now(st: &mut State, seq: u64) {
    let Some(op) = st.operations.get_mut(&seq) else { return };
    if op.finished {
        return;
    }
    op.finished = true;
    let now = now_rfc3339();
    op.start_time.get_or_insert_with(|| now.clone());
    op.end_time = Some(now.clone());
    let op = op.clone();
    let key = (op.zone.clone(), op.instance.clone());
    if op.failure.is_some() {
        match &op.before {
            None => {
                st.instances.remove(&key);
            }
            Some(before) => {
                if let Some(i) = st.instances.get_mut(&key) {
                    i.status = before.clone();
                    i.pending = None;
                }
            }
        }
        return;
    }
    match op.done {
        None if op.kind == "delete" => {
            st.instances.remove(&key);
        }
        _ => {
            if let Some(i) = st.instances.get_mut(&key) {
                i.pending = None;
                if let Some(done) = op.done {
                    if done == "RUNNING" && i.status != "RUNNING" || op.kind == "insert" {
                        i.last_start = Some(now.clone());
                    }
                    if done == "TERMINATED" && i.status != "TERMINATED" {
                        i.last_stop = Some(now.clone());
                    }
                    i.status = done.to_owned();
                }
            }
        }
    }
}

fn operation_body(shared: &Shared, op: &Operation) -> Value {
    let status = if op.finished {
        "DONE"
    } else if op.polls == 0 {
        "PENDING"
    } else {
        "RUNNING"
    };
    let mut body = json!({
        "kind": "compute#operation",
        "id": op.id.to_string(),
        "name": op.name,
        "zone": shared.link(&format!("zones/{}", op.zone)),
        "operationType": op.kind,
        "targetLink": shared.link(&format!("zones/{}/instances/{}", op.zone, op.instance)),
        "targetId": op.target_id.to_string(),
        "status": status,
        "user": op.user,
        "progress": if op.finished { 100 } else if op.polls == 0 { 0 } else { 50 },
        "insertTime": op.insert_time,
        "selfLink": shared.link(&format!("zones/{}/operations/{}", op.zone, op.name)),
    });
    if let Some(t) = &op.start_time {
        body["startTime"] = json!(t);
    }
    if let Some(t) = &op.end_time {
        body["endTime"] = json!(t);
    }
    if op.finished
        && let Some(f) = &op.failure
    {
        body["error"] = json!({"errors": [{"code": f.code, "message": f.message}]});
        body["httpErrorStatusCode"] = json!(f.http_status);
        body["httpErrorMessage"] = json!(http_message(f.http_status));
    }
    body
}

/// `zoneOperations.get` and `zoneOperations.wait`: one poll, then the operation.
fn operation_poll(shared: &Shared, st: &mut State, zone: &str, name: &str) -> Reply {
    let Some(seq) =
        st.operation_names.get(name).copied().filter(|s| st.operations.get(s).is_some_and(|o| o.zone == zone))
    else {
        return not_found(&format!("projects/{PROJECT}/zones/{zone}/operations/{name}"));
    };
    poll(st, seq);
    match st.operations.get(&seq) {
        Some(op) => Reply::json(200, operation_body(shared, op)),
        None => not_found(&format!("projects/{PROJECT}/zones/{zone}/operations/{name}")),
    }
}
