//! An in-process fake of Azure Resource Manager (ARM) and of the Microsoft Entra token endpoint, for
//! the tests of `cloudkit-azure-arm` and of the facade's `AzureCompute`.
//!
//! **These are Microsoft's documented example responses served by a fake, not a live service.** No ARM
//! emulator exists. The bodies come from the `x-ms-example` documents of `Azure/azure-rest-api-specs`
//! copied to `crates/azure-arm/src/testdata/` (see its `README.md`, `ARM-REFERENCE.md` and
//! `SOURCES.json`); the fake loads them with `include_str!` and adapts ids, names, locations, tags and
//! states to what a test created. Where Microsoft publishes no example (resource group list and
//! existence check, error bodies, operation-status bodies, the provider document) the shapes follow the
//! swagger and the ARM RPC quoted in `ARM-REFERENCE.md`, with the texts real ARM sends.
//!
//! One [`ArmFake`] is one plain HTTP/1.1 server on `127.0.0.1` (an ephemeral port, loopback only; its
//! own threads, so it needs no async runtime; one request per connection; stopped when dropped)
//! serving both
//! - the Entra client-credentials endpoint `POST /{tenant}/oauth2/v2.0/token` (point
//!   `AZURE_AUTHORITY_HOST` or `IdentityOptions::authority_host` at [`ArmFake::authority_host`]), and
//! - ARM (point the ARM client's endpoint at [`ArmFake::endpoint`]): subscriptions, resource groups,
//!   Microsoft.Compute virtual machines, one invented generic resource type
//!   ([`WIDGET_TYPE`]), the generic resource lists, the provider documents, and the operation URLs of
//!   long-running operations.
//!
//! What it enforces and offers:
//! - every ARM request needs `Authorization: Bearer <token>` with a token this fake's Entra endpoint
//!   issued and that has not expired: otherwise 401 with an ARM error body (`AuthenticationFailed` when
//!   the header is missing, `InvalidAuthenticationToken` when the token is unknown,
//!   `ExpiredAuthenticationToken` when it expired; see [`ArmFake::expire_tokens`]);
//! - the `api-version` of each resource provider (`MissingApiVersionParameter`,
//!   `InvalidApiVersionParameter` / `NoRegisteredProviderFound` otherwise);
//! - paging by absolute `nextLink` URLs ([`ArmFake::set_page_size`]); resource-group and generic
//!   resource lists put one empty page that still has a `nextLink` after their first page;
//! - long-running operations: `202` + `Location` (+ `Retry-After`, [`ArmFake::set_retry_after`]) whose
//!   URL answers `202` [`ArmFake::set_in_progress_polls`] times (default 2) and then the final answer;
//!   VM creation answers `201` with `provisioningState: Creating` and an `Azure-AsyncOperation` URL
//!   whose status is `InProgress` twice and then `Succeeded`. A GET of the resource also counts as a
//!   poll, so a client polling the resource sees `Creating`, `Creating`, then `Succeeded`. Completion
//!   changes the state (power state, deletion). [`ArmFake::fail_next_operation`] and
//!   [`ArmFake::cancel_next_operation`] make the next operation end `Failed` / `Canceled`;
//! - throttling: [`ArmFake::throttle_next`] answers the next N ARM requests `429` with `Retry-After`;
//! - `x-ms-request-id` and `x-ms-correlation-request-id` (echoed when the client sent one) on every
//!   response;
//! - POST actions on widgets: `listKeys` answers 200 with the keys, `regenerateKey` is long-running
//!   (202 + `Location`, whose final 200 carries the new keys; a failed one answers 409);
//! - a log of every request, the bearer token redacted ([`ArmFake::requests`]), for checks of paths,
//!   queries and api-versions; token fetches are counted ([`ArmFake::token_fetches`]) and the scopes
//!   asked for recorded ([`ArmFake::requested_scopes`]); the token endpoint grants [`ARM_SCOPE`], and
//!   the scopes added with [`ArmFake::accept_scope`].
//!
//! ```no_run
//! # async fn demo() {
//! use cloudkit_tests::arm::ArmFake;
//! let fake = ArmFake::start().unwrap();
//! // The credential chain: `fake.env()` (AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET,
//! // AZURE_AUTHORITY_HOST, AZURE_SUBSCRIPTION_ID), or `fake.identity_options()`.
//! // The ARM client: endpoint `fake.endpoint()`, plain http to loopback allowed.
//! fake.add_vm("myResourceGroup", "vm2", "westus", "PowerState/deallocated");
//! fake.fail_next_operation("OSProvisioningTimedOut", "OS Provisioning did not finish in the allotted time.");
//! # }
//! ```
//!
//! Bounded: at most [`MAX_CONNECTIONS`] connections at once (more are closed unanswered), request heads
//! up to 64 KiB and bodies up to 4 MiB (`Content-Length` only), 10 s of silence per connection, at most
//! [`MAX_RESOURCES`] resources of each kind, [`MAX_RECORDED`] recorded requests (older ones are
//! dropped), [`MAX_OPERATIONS`] remembered operations. The server, the bounds and the request log are
//! [`crate::fake_http`]'s, shared with the fake Compute Engine of [`crate::gce`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cloudkit_core::testing::RecordedRequest;
use cloudkit_core::{Method, Url};
use cloudkit_cred_chain::azure::{AzureEnv, IdentityOptions};
use serde_json::{Map, Value, json};

use crate::fake_http::{FakeRequest, Reply, Server, now_rfc3339, push_bounded};
pub use crate::fake_http::{MAX_CONNECTIONS, MAX_RECORDED};

/// One request as the fake received it, the bearer token replaced by `<redacted>` (token requests:
/// no body, the form holds the client secret).
pub type ArmRequest = FakeRequest;

/// The default subscription: the one of Microsoft's `Subscriptions_Get` example.
pub const SUBSCRIPTION_ID: &str = "291bba3f-e0a5-47bc-a099-3bdcb2a50a05";
/// The second subscription of Microsoft's `Subscriptions_List` example.
pub const SECOND_SUBSCRIPTION_ID: &str = "72ac930a-f34e-42d8-b06d-dc2a9e12ed71";
/// The tenant the token endpoint serves (the default subscription's `tenantId` in the example).
pub const TENANT_ID: &str = "31c75423-32d6-4322-88b7-c478bdde4858";
/// The service principal's client id (invented).
pub const CLIENT_ID: &str = "0c1d2e3f-4a5b-4c6d-8e7f-a1b2c3d4e5f6";
/// The service principal's client secret (invented).
pub const CLIENT_SECRET: &str = "fake-arm-client-secret~not-a-real-one";
/// The scope the token endpoint grants (also accepted with a double slash before `.default`; others
/// only after [`ArmFake::accept_scope`]).
pub const ARM_SCOPE: &str = "https://management.azure.com/.default";
/// The seeded resource group with the seeded VM (`VirtualMachines_Get` example: `myResourceGroup`).
pub const SEEDED_RESOURCE_GROUP: &str = "myResourceGroup";
/// The seeded VM (`VirtualMachines_Get` example: `myVM`, running).
pub const SEEDED_VM: &str = "myVM";
/// The second seeded resource group (`ResourceGroups_Get` example, `westus2`, empty).
pub const SEEDED_EMPTY_RESOURCE_GROUP: &str = "my-resource-group";
/// The invented resource type for the generic-resource operations.
pub const WIDGET_TYPE: &str = "Contoso.Widgets/widgets";
/// The api-versions of [`WIDGET_TYPE`], newest first as ARM lists them (a preview one first).
pub const WIDGET_API_VERSIONS: [&str; 3] = ["2025-01-01-preview", "2024-06-01", "2024-01-01"];
/// The api-version of the Resources RP (resource groups, generic lists, providers) in the examples.
pub const RESOURCES_API_VERSION: &str = "2025-04-01";
/// The api-version of Subscriptions in the examples.
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";
/// The api-version of Microsoft.Compute in the examples.
pub const COMPUTE_API_VERSION: &str = "2025-04-01";

const RESOURCES_API_VERSIONS: [&str; 6] =
    ["2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2022-09-01", "2021-04-01"];
const SUBSCRIPTIONS_API_VERSIONS: [&str; 3] = ["2022-12-01", "2021-01-01", "2020-01-01"];
const COMPUTE_API_VERSIONS: [&str; 5] = ["2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-09-01"];

/// The most resources of one kind (resource groups, VMs, widgets) the fake holds.
pub const MAX_RESOURCES: usize = 1_000;
/// The most long-running operations remembered (the oldest finished ones are forgotten).
pub const MAX_OPERATIONS: usize = 10_000;

const TESTDATA_README: &str = "crates/azure-arm/src/testdata";

macro_rules! testdata {
    ($file:literal) => {
        include_str!(concat!("../../crates/azure-arm/src/testdata/", $file))
    };
}

/// The parsed example documents.
struct Docs {
    subscriptions_list: Value,
    subscriptions_get: Value,
    rg_get: Value,
    rg_create: Value,
    rg_delete: Value,
    vm_create: Value,
    vm_get: Value,
    vm_instance_view: Value,
}

fn docs() -> &'static Docs {
    static DOCS: OnceLock<Docs> = OnceLock::new();
    DOCS.get_or_init(|| {
        let parse = |name: &str, text: &str| -> Value {
            serde_json::from_str(text)
                .unwrap_or_else(|e| panic!("{TESTDATA_README}/{name} is not JSON (it is copied unchanged): {e}"))
        };
        Docs {
            subscriptions_list: parse("Subscriptions_List.json", testdata!("Subscriptions_List.json")),
            subscriptions_get: parse("Subscriptions_Get.json", testdata!("Subscriptions_Get.json")),
            rg_get: parse("ResourceGroups_Get.json", testdata!("ResourceGroups_Get.json")),
            rg_create: parse("ResourceGroups_CreateOrUpdate.json", testdata!("ResourceGroups_CreateOrUpdate.json")),
            rg_delete: parse("ResourceGroups_Delete.json", testdata!("ResourceGroups_Delete.json")),
            vm_create: parse("VirtualMachines_CreateOrUpdate.json", testdata!("VirtualMachines_CreateOrUpdate.json")),
            vm_get: parse("VirtualMachines_Get.json", testdata!("VirtualMachines_Get.json")),
            vm_instance_view: parse(
                "VirtualMachines_InstanceView.json",
                testdata!("VirtualMachines_InstanceView.json"),
            ),
        }
    })
}

/// `responses[status].body` of an example document.
fn example_body(doc: &Value, status: &str) -> Value {
    doc["responses"][status]["body"].clone()
}

/// How the next long-running operation ends.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    Succeeded,
    Failed { code: String, message: String },
    Canceled { code: String, message: String },
}

impl Outcome {
    fn status(&self) -> &'static str {
        match self {
            Outcome::Succeeded => "Succeeded",
            Outcome::Failed { .. } => "Failed",
            Outcome::Canceled { .. } => "Canceled",
        }
    }
}

type RgKey = (String, String);
type ResKey = (String, String, String);

#[derive(Clone, Debug)]
enum Target {
    VmCreate(ResKey),
    VmUpdate(ResKey),
    /// A power action: the power state when it completes, whether it hibernates, the power state
    /// before (restored when it fails).
    VmPower {
        key: ResKey,
        to: &'static str,
        hibernate: bool,
        before: String,
    },
    VmDelete(ResKey),
    RgDelete(RgKey),
    WidgetDelete(ResKey),
    /// A widget's `regenerateKey` action: the key (0 or 1) to replace.
    WidgetRegenerateKey(ResKey, usize),
}

#[derive(Debug)]
struct Operation {
    id: String,
    target: Target,
    polls: u32,
    outcome: Outcome,
    finished: bool,
    start_time: String,
    end_time: Option<String>,
    /// The final answer of the `Location` URL (status, body).
    final_answer: Option<(u16, Value)>,
}

#[derive(Debug)]
struct ResourceGroup {
    name: String,
    location: String,
    tags: Option<Map<String, Value>>,
    managed_by: Option<String>,
    deleting: bool,
    pending: Option<String>,
}

#[derive(Debug)]
struct Vm {
    /// The resource body, without `instanceView` and with the current `provisioningState`.
    body: Value,
    /// `running`, `stopped`, `deallocated`, `starting`, … (the part after `PowerState/`).
    power: String,
    hibernated: bool,
    pending: Option<String>,
}

#[derive(Debug)]
struct Widget {
    body: Value,
    pending: Option<String>,
    /// The access keys `key1` and `key2` (`listKeys`, `regenerateKey`).
    keys: [String; 2],
}

#[derive(Debug)]
struct Settings {
    page_size: usize,
    retry_after: u64,
    in_progress_polls: u32,
    token_lifetime: u64,
    async_operation_on_actions: bool,
    /// Scopes granted besides [`ARM_SCOPE`] ([`ArmFake::accept_scope`]).
    extra_scopes: Vec<String>,
}

#[derive(Debug)]
struct State {
    settings: Settings,
    subscriptions: Vec<Value>,
    groups: BTreeMap<RgKey, ResourceGroup>,
    vms: BTreeMap<ResKey, Vm>,
    widgets: BTreeMap<ResKey, Widget>,
    operations: BTreeMap<u64, Operation>,
    operation_index: HashMap<String, u64>,
    tokens: HashMap<String, Instant>,
    token_requests: usize,
    token_fetches: usize,
    /// The `scope` of every client-credentials request ([`ArmFake::requested_scopes`]).
    requested_scopes: Vec<String>,
    throttle: u32,
    throttle_retry_after: u64,
    next_outcome: Option<Outcome>,
    log: Vec<ArmRequest>,
    counter: u64,
}

struct Shared {
    state: Mutex<State>,
    rng: AtomicU64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A random-looking lowercase hex string of `len` digits (xorshift64*, seeded from the clock).
    fn hex(&self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            let mut x = self.rng.load(Ordering::Relaxed);
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.rng.store(x, Ordering::Relaxed);
            out.push_str(&format!("{:016x}", x.wrapping_mul(0x2545_f491_4f6c_dd1d)));
        }
        out.truncate(len);
        out
    }

    fn uuid(&self) -> String {
        let h = self.hex(32);
        format!("{}-{}-4{}-8{}-{}", &h[0..8], &h[8..12], &h[13..16], &h[17..20], &h[20..32])
    }
}

/// The fake ARM + Entra server. Dropping it stops the server.
pub struct ArmFake {
    server: Server,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for ArmFake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmFake").field("endpoint", &self.endpoint().as_str()).finish_non_exhaustive()
    }
}

impl ArmFake {
    /// Starts a fake on `127.0.0.1` (an ephemeral port) holding the example subscriptions, the
    /// resource groups [`SEEDED_RESOURCE_GROUP`] (with the running VM [`SEEDED_VM`], Microsoft's
    /// `VirtualMachines_Get` example) and [`SEEDED_EMPTY_RESOURCE_GROUP`] (`ResourceGroups_Get`).
    pub fn start() -> std::io::Result<Self> {
        let seed = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0x9e37_79b9, |d| d.as_nanos() as u64) | 1;
        let d = docs();
        let mut subscriptions: Vec<Value> =
            example_body(&d.subscriptions_list, "200")["value"].as_array().cloned().unwrap_or_default();
        // The single-subscription example is the fuller document of the first one.
        let get = example_body(&d.subscriptions_get, "200");
        if let Some(first) = subscriptions.iter_mut().find(|s| s["subscriptionId"] == get["subscriptionId"]) {
            *first = get;
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                settings: Settings {
                    page_size: 2,
                    retry_after: 0,
                    in_progress_polls: 2,
                    token_lifetime: 3599,
                    async_operation_on_actions: false,
                    extra_scopes: Vec::new(),
                },
                subscriptions,
                groups: BTreeMap::new(),
                vms: BTreeMap::new(),
                widgets: BTreeMap::new(),
                operations: BTreeMap::new(),
                operation_index: HashMap::new(),
                tokens: HashMap::new(),
                token_requests: 0,
                token_fetches: 0,
                requested_scopes: Vec::new(),
                throttle: 0,
                throttle_retry_after: 0,
                next_outcome: None,
                log: Vec::new(),
                counter: 0,
            }),
            rng: AtomicU64::new(seed),
        });
        let handler_shared = shared.clone();
        let server = Server::start("arm-fake", Arc::new(move |req: &RecordedRequest| handle(&handler_shared, req)))?;
        let fake = Self { server, shared };
        fake.seed();
        Ok(fake)
    }

    fn seed(&self) {
        let rg_get = example_body(&docs().rg_get, "200");
        self.add_resource_group(SEEDED_RESOURCE_GROUP, "westus", &[]);
        self.add_resource_group(
            rg_get["name"].as_str().unwrap_or(SEEDED_EMPTY_RESOURCE_GROUP),
            rg_get["location"].as_str().unwrap_or("westus2"),
            &[],
        );
        let mut body = example_body(&docs().vm_get, "200");
        adapt_ids(&mut body, SUBSCRIPTION_ID, SEEDED_RESOURCE_GROUP);
        // `userData` is returned only with `$expand=userData`; `managedBy` would make it a VMSS member.
        if let Some(p) = body["properties"].as_object_mut() {
            p.remove("userData");
        }
        if let Some(o) = body.as_object_mut() {
            o.remove("managedBy");
        }
        let mut st = self.shared.lock();
        st.vms.insert(
            key3(SUBSCRIPTION_ID, SEEDED_RESOURCE_GROUP, SEEDED_VM),
            Vm { body, power: "running".into(), hibernated: false, pending: None },
        );
    }

    /// The ARM endpoint: `http://127.0.0.1:<port>` (what `https://management.azure.com` is in Azure).
    pub fn endpoint(&self) -> Url {
        self.server.base.clone()
    }

    /// The Entra authority host: the same server (`AZURE_AUTHORITY_HOST`).
    pub fn authority_host(&self) -> Url {
        self.server.base.clone()
    }

    /// The token URL: `{authority}/{TENANT_ID}/oauth2/v2.0/token`.
    pub fn token_url(&self) -> Url {
        self.server.url(&format!("/{TENANT_ID}/oauth2/v2.0/token"))
    }

    /// `http://127.0.0.1:<port>{path_and_query}`.
    pub fn url(&self, path_and_query: &str) -> Url {
        self.server.url(path_and_query)
    }

    /// The environment of a service principal that this fake accepts: `AZURE_TENANT_ID`,
    /// `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_AUTHORITY_HOST` (this server, plain http on
    /// loopback, which the credential chain allows), `AZURE_SUBSCRIPTION_ID` and
    /// `AZURE_RESOURCE_MANAGER_ENDPOINT` (this server; the ARM client must also be allowed plain http
    /// to loopback, e.g. `AzureConfig::loader().allow_loopback_http(true)`).
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AZURE_TENANT_ID", TENANT_ID.to_owned()),
            ("AZURE_CLIENT_ID", CLIENT_ID.to_owned()),
            ("AZURE_CLIENT_SECRET", CLIENT_SECRET.to_owned()),
            ("AZURE_AUTHORITY_HOST", self.authority_host().as_str().trim_end_matches('/').to_owned()),
            ("AZURE_SUBSCRIPTION_ID", SUBSCRIPTION_ID.to_owned()),
            ("AZURE_RESOURCE_MANAGER_ENDPOINT", self.endpoint().as_str().trim_end_matches('/').to_owned()),
        ]
    }

    /// [`ArmFake::env`] as the credential chain's fake environment (nothing else is read).
    pub fn azure_env(&self) -> AzureEnv {
        AzureEnv::from_pairs(self.env())
    }

    /// Identity options reading [`ArmFake::azure_env`], for `EnvironmentCredential`,
    /// `ClientSecretCredential` or `DefaultAzureCredential::builder().options(..)`.
    pub fn identity_options(&self) -> IdentityOptions {
        IdentityOptions::with_env(self.azure_env())
    }

    /// A valid token issued directly (not through the token endpoint: not counted as a fetch), for
    /// raw HTTP tests.
    pub fn issue_token(&self) -> String {
        let token = format!("fake-arm-token-direct-{}", self.shared.hex(24));
        let mut st = self.shared.lock();
        let lifetime = st.settings.token_lifetime;
        st.tokens.insert(token.clone(), Instant::now() + Duration::from_secs(lifetime));
        token
    }

    /// How many tokens the token endpoint issued.
    pub fn token_fetches(&self) -> usize {
        self.shared.lock().token_fetches
    }

    /// How many requests the token endpoint received (issued or refused).
    pub fn token_requests(&self) -> usize {
        self.shared.lock().token_requests
    }

    /// The `scope` of every client-credentials request the token endpoint received (issued or
    /// refused), oldest first.
    pub fn requested_scopes(&self) -> Vec<String> {
        self.shared.lock().requested_scopes.clone()
    }

    /// Makes the token endpoint also grant `scope` (e.g. a sovereign cloud's
    /// `https://management.usgovcloudapi.net/.default`; default: [`ARM_SCOPE`] only).
    pub fn accept_scope(&self, scope: &str) {
        self.shared.lock().settings.extra_scopes.push(scope.to_owned());
    }

    /// Makes every token issued so far expired (ARM then answers 401 `ExpiredAuthenticationToken`).
    pub fn expire_tokens(&self) {
        let mut st = self.shared.lock();
        let past = Instant::now().checked_sub(Duration::from_secs(1)).unwrap_or_else(Instant::now);
        for expiry in st.tokens.values_mut() {
            *expiry = past;
        }
    }

    /// The `expires_in` of new tokens, in seconds (default 3599, as Entra).
    pub fn set_token_lifetime(&self, seconds: u64) {
        self.shared.lock().settings.token_lifetime = seconds;
    }

    /// Items per page of every list (default 2; subscriptions are always one per page).
    pub fn set_page_size(&self, items: usize) {
        self.shared.lock().settings.page_size = items.max(1);
    }

    /// The `Retry-After` (seconds) of long-running operations' 201/202 answers (default 0, so tests
    /// stay fast; real ARM says 10 to 600).
    pub fn set_retry_after(&self, seconds: u64) {
        self.shared.lock().settings.retry_after = seconds;
    }

    /// How many polls of a long-running operation answer "in progress" before it completes
    /// (default 2).
    pub fn set_in_progress_polls(&self, polls: u32) {
        self.shared.lock().settings.in_progress_polls = polls;
    }

    /// Whether VM actions and deletes also send `Azure-AsyncOperation` (default off: only `Location`
    /// and `Retry-After`, as the 2025-04-01 swagger declares; VM creation always sends both).
    pub fn set_async_operation_on_actions(&self, on: bool) {
        self.shared.lock().settings.async_operation_on_actions = on;
    }

    /// The next long-running operation started ends `Failed` with this error (its status body has
    /// `error.code` / `error.message`; its `Location` URL answers 409 with the ARM error body). The
    /// state is left as before the operation (a failed creation leaves a VM in `provisioningState`
    /// `Failed`).
    pub fn fail_next_operation(&self, code: &str, message: &str) {
        self.shared.lock().next_outcome = Some(Outcome::Failed { code: code.into(), message: message.into() });
    }

    /// The next long-running operation started ends `Canceled` (error code `OperationCanceled`).
    pub fn cancel_next_operation(&self) {
        self.shared.lock().next_outcome =
            Some(Outcome::Canceled { code: "OperationCanceled".into(), message: "The operation was canceled.".into() });
    }

    /// The next `n` ARM requests (after authentication; the token endpoint is never throttled) are
    /// answered 429 `TooManyRequests` with `Retry-After: retry_after_seconds`.
    pub fn throttle_next(&self, n: u32, retry_after_seconds: u64) {
        let mut st = self.shared.lock();
        st.throttle = n;
        st.throttle_retry_after = retry_after_seconds;
    }

    /// Every request received so far (token requests included), oldest first.
    pub fn requests(&self) -> Vec<ArmRequest> {
        self.shared.lock().log.clone()
    }

    /// The requests whose method is `method` and whose path ends with `path_suffix` (compared
    /// without regard to case, as ARM does).
    pub fn requests_to(&self, method: &str, path_suffix: &str) -> Vec<ArmRequest> {
        let suffix = path_suffix.to_ascii_lowercase();
        self.requests()
            .into_iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.path.to_ascii_lowercase().ends_with(&suffix))
            .collect()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// Adds (or replaces) a resource group in the default subscription.
    pub fn add_resource_group(&self, name: &str, location: &str, tags: &[(&str, &str)]) {
        let tags = (!tags.is_empty())
            .then(|| tags.iter().map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned()))).collect());
        self.shared.lock().groups.insert(
            key2(SUBSCRIPTION_ID, name),
            ResourceGroup {
                name: name.to_owned(),
                location: location.to_owned(),
                tags,
                managed_by: None,
                deleting: false,
                pending: None,
            },
        );
    }

    /// Whether the default subscription has resource group `name`.
    pub fn has_resource_group(&self, name: &str) -> bool {
        self.shared.lock().groups.contains_key(&key2(SUBSCRIPTION_ID, name))
    }

    /// Adds a VM (the `VirtualMachines_CreateOrUpdate` example's body, created, provisioning
    /// succeeded) to a resource group of the default subscription (created when missing), with
    /// `power_state` `PowerState/running`, `PowerState/stopped`, `PowerState/deallocated`, … (the
    /// `PowerState/` prefix is optional).
    pub fn add_vm(&self, resource_group: &str, name: &str, location: &str, power_state: &str) {
        if !self.has_resource_group(resource_group) {
            self.add_resource_group(resource_group, location, &[]);
        }
        let mut body = example_body(&docs().vm_create, "201");
        set_resource_identity(&mut body, SUBSCRIPTION_ID, resource_group, name, location);
        body["properties"]["osProfile"]["computerName"] = json!(name);
        body["properties"]["vmId"] = json!(self.shared.uuid());
        body["properties"]["provisioningState"] = json!("Succeeded");
        let power = power_state.trim_start_matches("PowerState/").to_owned();
        self.shared
            .lock()
            .vms
            .insert(key3(SUBSCRIPTION_ID, resource_group, name), Vm { body, power, hibernated: false, pending: None });
    }

    /// The VM's power state as `PowerState/<x>` (`None` when it does not exist).
    pub fn vm_power_state(&self, resource_group: &str, name: &str) -> Option<String> {
        self.shared
            .lock()
            .vms
            .get(&key3(SUBSCRIPTION_ID, resource_group, name))
            .map(|v| format!("PowerState/{}", v.power))
    }

    /// The VM's `provisioningState` (`None` when it does not exist).
    pub fn vm_provisioning_state(&self, resource_group: &str, name: &str) -> Option<String> {
        self.shared
            .lock()
            .vms
            .get(&key3(SUBSCRIPTION_ID, resource_group, name))
            .and_then(|v| v.body["properties"]["provisioningState"].as_str().map(str::to_owned))
    }

    /// The names of the VMs in a resource group of the default subscription, sorted.
    pub fn vm_names(&self, resource_group: &str) -> Vec<String> {
        let rg = resource_group.to_ascii_lowercase();
        self.shared
            .lock()
            .vms
            .iter()
            .filter(|((s, g, _), _)| s == SUBSCRIPTION_ID && *g == rg)
            .filter_map(|(_, v)| v.body["name"].as_str().map(str::to_owned))
            .collect()
    }

    /// Long-running operations started and not finished.
    pub fn pending_operations(&self) -> usize {
        self.shared.lock().operations.values().filter(|o| !o.finished).count()
    }
}

fn key2(sub: &str, rg: &str) -> RgKey {
    (sub.to_ascii_lowercase(), rg.to_ascii_lowercase())
}

fn key3(sub: &str, rg: &str, name: &str) -> ResKey {
    (sub.to_ascii_lowercase(), rg.to_ascii_lowercase(), name.to_ascii_lowercase())
}

/// Replaces the examples' placeholders (`{subscription-id}`, `myResourceGroup`) in every string.
fn adapt_ids(value: &mut Value, sub: &str, rg: &str) {
    match value {
        Value::String(s) => {
            if s.contains("{subscription-id}") {
                *s = s.replace("{subscription-id}", sub);
            }
            if s.contains("/resourceGroups/myResourceGroup/") {
                *s = s.replace("/resourceGroups/myResourceGroup/", &format!("/resourceGroups/{rg}/"));
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| adapt_ids(v, sub, rg)),
        Value::Object(o) => o.values_mut().for_each(|v| adapt_ids(v, sub, rg)),
        _ => {}
    }
}

fn vm_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}")
}

fn set_resource_identity(body: &mut Value, sub: &str, rg: &str, name: &str, location: &str) {
    adapt_ids(body, sub, rg);
    body["id"] = json!(vm_id(sub, rg, name));
    body["name"] = json!(name);
    body["location"] = json!(location);
}

// ---------------------------------------------------------------------------------------------
// Request handling
// ---------------------------------------------------------------------------------------------

fn arm_error(status: u16, code: &str, message: impl Into<String>) -> Reply {
    Reply::json(status, json!({"error": {"code": code, "message": message.into()}}))
}

fn not_found_rg(rg: &str) -> Reply {
    arm_error(404, "ResourceGroupNotFound", format!("Resource group '{rg}' could not be found."))
}

fn not_found_resource(kind: &str, name: &str, rg: &str) -> Reply {
    arm_error(
        404,
        "ResourceNotFound",
        format!(
            "The Resource '{kind}/{name}' under resource group '{rg}' was not found. For more details please go to \
             https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

/// The answer to one request: status, headers, body.
fn handle(shared: &Shared, req: &RecordedRequest) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let request_id = shared.uuid();
    let correlation = req
        .headers
        .get("x-ms-correlation-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
        .unwrap_or_else(|| shared.uuid());
    let is_head = req.method == Method::HEAD;
    let reply = {
        let mut st = shared.lock();
        record(&mut st, req);
        route(shared, &mut st, req)
    };
    let body = match (&reply.body, is_head) {
        (Some(v), false) => serde_json::to_vec(v).unwrap_or_default(),
        _ => Vec::new(),
    };
    let mut headers = vec![
        ("x-ms-request-id".to_owned(), request_id),
        ("x-ms-correlation-request-id".to_owned(), correlation),
        ("cache-control".to_owned(), "no-cache".to_owned()),
    ];
    if reply.body.is_some() {
        headers.push(("content-type".to_owned(), "application/json; charset=utf-8".to_owned()));
    }
    headers.extend(reply.headers);
    (reply.status, headers, body)
}

fn record(st: &mut State, req: &RecordedRequest) {
    let keep_body = !is_token_path(req.url.path());
    push_bounded(&mut st.log, FakeRequest::from_recorded(req, keep_body));
}

fn is_token_path(path: &str) -> bool {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    matches!(segs.as_slice(), [_, "oauth2", "v2.0", "token"])
}

fn route(shared: &Shared, st: &mut State, req: &RecordedRequest) -> Reply {
    if is_token_path(req.url.path()) {
        return token(shared, st, req);
    }
    if let Some(refused) = authenticate(st, req) {
        return refused;
    }
    if st.throttle > 0 {
        st.throttle -= 1;
        return arm_error(
            429,
            "TooManyRequests",
            "The request is being throttled as the limit has been reached for operation type - Read_ObservationWindow_00:05:00.",
        )
        .header("retry-after", st.throttle_retry_after.to_string());
    }
    let query: Vec<(String, String)> = req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
    let q = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let segs: Vec<&str> = req.url.path().trim_matches('/').split('/').filter(|s| !s.is_empty()).collect();
    let lower: Vec<String> = segs.iter().map(|s| s.to_ascii_lowercase()).collect();
    let l: Vec<&str> = lower.iter().map(String::as_str).collect();
    let method = req.method.as_str();
    let body = || serde_json::from_slice::<Value>(&req.body);
    let base = format!(
        "http://{}",
        req.url.host_str().map_or_else(String::new, |h| match req.url.port() {
            Some(p) => format!("{h}:{p}"),
            None => h.to_owned(),
        })
    );
    let ctx = Ctx { shared, base: &base, url: &req.url };

    // Subscriptions.
    match (method, l.as_slice()) {
        ("GET", ["subscriptions"]) => {
            if let Some(bad) = check_api(q("api-version"), &SUBSCRIPTIONS_API_VERSIONS, "InvalidApiVersionParameter") {
                return bad;
            }
            let items = st.subscriptions.clone();
            return page(&ctx, items, 1, q("$skipToken"), false);
        }
        ("GET", ["subscriptions", _]) => {
            if let Some(bad) = check_api(q("api-version"), &SUBSCRIPTIONS_API_VERSIONS, "InvalidApiVersionParameter") {
                return bad;
            }
            return match subscription(st, segs[1]) {
                Some(s) => Reply::json(200, s),
                None => subscription_not_found(segs[1]),
            };
        }
        _ => {}
    }
    if l.first() != Some(&"subscriptions") || l.len() < 2 {
        return arm_error(404, "InvalidResourceType", format!("The resource path '{}' is not known.", req.url.path()));
    }
    let sub = segs[1];
    if subscription(st, sub).is_none() {
        return subscription_not_found(sub);
    }
    let sub = subscription(st, sub).and_then(|s| s["subscriptionId"].as_str().map(str::to_owned)).unwrap_or_default();
    let sub = sub.as_str();

    match (method, &l[2..]) {
        // Operation URLs: the resource-group delete's `operationresults`, the RPs' `operations`.
        ("GET", ["operationresults", _]) => return operation_location(st, segs[3]),
        ("GET", ["providers", _, "locations", _, "operations" | "operationstatuses", _]) => {
            return if q("monitor") == Some("true") {
                operation_location(st, segs[7])
            } else {
                operation_status(st, segs[7])
            };
        }
        ("GET", ["providers", "microsoft.compute", "virtualmachines"]) => {
            if let Some(bad) = check_api(q("api-version"), &COMPUTE_API_VERSIONS, "NoRegisteredProviderFound") {
                return bad;
            }
            let expand = q("$expand") == Some("instanceView") || q("statusOnly") == Some("true");
            let items: Vec<Value> = st
                .vms
                .iter()
                .filter(|((s, _, _), _)| s == &sub.to_ascii_lowercase())
                .map(|(_, vm)| vm_body(vm, expand))
                .collect();
            let size = st.settings.page_size;
            return page(&ctx, items, size, q("$skipToken"), false);
        }
        ("GET", ["providers", _]) => {
            if let Some(bad) = check_api(q("api-version"), &RESOURCES_API_VERSIONS, "InvalidApiVersionParameter") {
                return bad;
            }
            return provider(sub, segs[3]);
        }
        ("GET", ["resources"]) => {
            if let Some(bad) = check_api(q("api-version"), &RESOURCES_API_VERSIONS, "InvalidApiVersionParameter") {
                return bad;
            }
            return generic_list(&ctx, st, sub, None, q("$filter"), q("$skipToken"));
        }
        ("GET", ["resourcegroups"]) => {
            if let Some(bad) = check_api(q("api-version"), &RESOURCES_API_VERSIONS, "InvalidApiVersionParameter") {
                return bad;
            }
            return list_groups(&ctx, st, sub, q("$filter"), q("$top"), q("$skipToken"));
        }
        (_, ["resourcegroups", _]) => {
            if let Some(bad) = check_api(q("api-version"), &RESOURCES_API_VERSIONS, "InvalidApiVersionParameter") {
                return bad;
            }
            return resource_group(&ctx, st, method, sub, segs[3], body, q("forceDeletionTypes"));
        }
        _ => {}
    }
    if l.len() < 4 || l[2] != "resourcegroups" {
        return arm_error(404, "InvalidResourceType", format!("The resource path '{}' is not known.", req.url.path()));
    }
    let rg = segs[3];
    let rest = &l[4..];
    match (method, rest) {
        ("GET", ["resources"]) => {
            if let Some(bad) = check_api(q("api-version"), &RESOURCES_API_VERSIONS, "InvalidApiVersionParameter") {
                return bad;
            }
            if !st.groups.contains_key(&key2(sub, rg)) {
                return not_found_rg(rg);
            }
            generic_list(&ctx, st, sub, Some(rg), q("$filter"), q("$skipToken"))
        }
        (_, ["providers", "microsoft.compute", "virtualmachines", ..]) => {
            if let Some(bad) = check_api(q("api-version"), &COMPUTE_API_VERSIONS, "NoRegisteredProviderFound") {
                return bad;
            }
            let Some(group) = st.groups.get(&key2(sub, rg)) else { return not_found_rg(rg) };
            let rg_name = group.name.clone();
            let rg = rg_name.as_str();
            match (method, &rest[3..]) {
                ("GET", []) => {
                    let expand = q("$expand") == Some("instanceView");
                    let (s, g) = key2(sub, rg);
                    let items: Vec<Value> = st
                        .vms
                        .iter()
                        .filter(|((vs, vg, _), _)| *vs == s && *vg == g)
                        .map(|(_, vm)| vm_body(vm, expand))
                        .collect();
                    let size = st.settings.page_size;
                    page(&ctx, items, size, q("$skipToken"), false)
                }
                ("GET", [_]) => get_vm(st, sub, rg, segs[7], q("$expand")),
                ("GET", [_, "instanceview"]) => vm_instance_view(st, sub, rg, segs[7]),
                ("PUT", [_]) => match body() {
                    Ok(b) => put_vm(&ctx, st, sub, rg, segs[7], b),
                    Err(e) => arm_error(400, "InvalidRequestContent", format!("The request content was invalid: {e}")),
                },
                ("PATCH", [_]) => match body() {
                    Ok(b) => patch_vm(st, sub, rg, segs[7], b),
                    Err(e) => arm_error(400, "InvalidRequestContent", format!("The request content was invalid: {e}")),
                },
                ("DELETE", [_]) => vm_action(&ctx, st, sub, rg, segs[7], "delete", false),
                ("POST", [_, action @ ("start" | "poweroff" | "deallocate" | "restart")]) => {
                    let flag = match *action {
                        "poweroff" => q("skipShutdown") == Some("true"),
                        "deallocate" => q("hibernate") == Some("true"),
                        _ => false,
                    };
                    vm_action(&ctx, st, sub, rg, segs[7], action, flag)
                }
                _ => arm_error(405, "MethodNotAllowed", format!("{method} is not supported on {}", req.url.path())),
            }
        }
        ("POST", ["providers", "contoso.widgets", "widgets", _, _]) => {
            if let Some(bad) = check_api(q("api-version"), &WIDGET_API_VERSIONS, "NoRegisteredProviderFound") {
                return bad;
            }
            let Some(group) = st.groups.get(&key2(sub, rg)) else { return not_found_rg(rg) };
            let rg_name = group.name.clone();
            widget_action(&ctx, st, sub, &rg_name, segs[7], segs[8], &req.body)
        }
        (_, ["providers", "contoso.widgets", "widgets", _]) => {
            if let Some(bad) = check_api(q("api-version"), &WIDGET_API_VERSIONS, "NoRegisteredProviderFound") {
                return bad;
            }
            let Some(group) = st.groups.get(&key2(sub, rg)) else { return not_found_rg(rg) };
            let rg_name = group.name.clone();
            let parsed = if matches!(method, "PUT" | "PATCH") { Some(body()) } else { None };
            match parsed {
                Some(Err(e)) => {
                    arm_error(400, "InvalidRequestContent", format!("The request content was invalid: {e}"))
                }
                Some(Ok(b)) => widget(&ctx, st, method, sub, &rg_name, segs[7], Some(b)),
                None => widget(&ctx, st, method, sub, &rg_name, segs[7], None),
            }
        }
        _ => arm_error(
            404,
            "InvalidResourceType",
            format!("The resource type could not be found for the path '{}'.", req.url.path()),
        ),
    }
}

struct Ctx<'a> {
    shared: &'a Shared,
    base: &'a str,
    url: &'a Url,
}

fn subscription(st: &State, id: &str) -> Option<Value> {
    st.subscriptions.iter().find(|s| s["subscriptionId"].as_str().is_some_and(|x| x.eq_ignore_ascii_case(id))).cloned()
}

fn subscription_not_found(id: &str) -> Reply {
    arm_error(404, "SubscriptionNotFound", format!("The subscription '{id}' could not be found."))
}

fn check_api(given: Option<&str>, supported: &[&str], code: &str) -> Option<Reply> {
    match given {
        None | Some("") => Some(arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        )),
        Some(v) if supported.contains(&v) => None,
        Some(v) => Some(arm_error(
            400,
            code,
            format!(
                "The api-version '{v}' is not supported. The supported api-versions are '{}'.",
                supported.join(", ")
            ),
        )),
    }
}

fn authenticate(st: &State, req: &RecordedRequest) -> Option<Reply> {
    let www = "Bearer authorization_uri=\"https://login.microsoftonline.com/common\", error=\"invalid_token\", \
               error_description=\"The authentication failed because of missing 'Authorization' header.\"";
    let header = req.headers.get("authorization").and_then(|v| v.to_str().ok());
    let Some(header) = header else {
        return Some(
            arm_error(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is missing.")
                .header("www-authenticate", www),
        );
    };
    let token = match header.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token.trim(),
        _ => {
            return Some(arm_error(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            ));
        }
    };
    match st.tokens.get(token) {
        None => Some(arm_error(401, "InvalidAuthenticationToken", "The access token is invalid.")),
        Some(expiry) if *expiry <= Instant::now() => Some(arm_error(
            401,
            "ExpiredAuthenticationToken",
            "The access token expiry UTC time is earlier than current UTC time.",
        )),
        Some(_) => None,
    }
}

fn entra_error(status: u16, error: &str, number: u32, description: &str, trace: &str) -> Reply {
    Reply::json(
        status,
        json!({
            "error": error,
            "error_description": format!("AADSTS{number}: {description} Trace ID: {trace} Correlation ID: {trace} Timestamp: {}", now_rfc3339()),
            "error_codes": [number],
            "timestamp": now_rfc3339(),
            "trace_id": trace,
            "correlation_id": trace,
        }),
    )
}

/// `POST /{tenant}/oauth2/v2.0/token`, the client-credentials grant.
fn token(shared: &Shared, st: &mut State, req: &RecordedRequest) -> Reply {
    st.token_requests += 1;
    let trace = shared.uuid();
    if req.method != Method::POST {
        return entra_error(405, "invalid_request", 900561, "The endpoint only accepts POST requests.", &trace);
    }
    let tenant = req.url.path().trim_matches('/').split('/').next().unwrap_or("");
    if !tenant.eq_ignore_ascii_case(TENANT_ID) {
        return entra_error(
            400,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID."),
            &trace,
        );
    }
    // The form is `application/x-www-form-urlencoded`: decode it as a query string.
    let form: HashMap<String, String> = Url::parse(&format!("http://form/?{}", String::from_utf8_lossy(&req.body)))
        .map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect())
        .unwrap_or_default();
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
    if field("grant_type") != "client_credentials" {
        return entra_error(
            400,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
            &trace,
        );
    }
    if field("client_id") != CLIENT_ID {
        return entra_error(
            400,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{}' was not found in the directory.", field("client_id")),
            &trace,
        );
    }
    if field("client_secret") != CLIENT_SECRET {
        return entra_error(
            400,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
            &trace,
        );
    }
    let scope = field("scope");
    if st.requested_scopes.len() >= MAX_RECORDED {
        st.requested_scopes.remove(0);
    }
    st.requested_scopes.push(scope.to_owned());
    let extra = st.settings.extra_scopes.iter().any(|s| s == scope);
    if scope != ARM_SCOPE && scope != "https://management.azure.com//.default" && !extra {
        return entra_error(
            400,
            "invalid_scope",
            70011,
            &format!(
                "The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
            &trace,
        );
    }
    let token = format!("fake-arm-token-{}-{}", st.token_fetches + 1, shared.hex(32));
    let lifetime = st.settings.token_lifetime;
    st.tokens.insert(token.clone(), Instant::now() + Duration::from_secs(lifetime));
    st.token_fetches += 1;
    Reply::json(
        200,
        json!({"token_type": "Bearer", "expires_in": lifetime, "ext_expires_in": lifetime, "access_token": token}),
    )
}

/// One page of `items` by `$skipToken` (an offset, or `e<offset>` for an empty page leading to it).
/// With `empty_page`, the first page's `nextLink` leads to an empty page that has a `nextLink`.
fn page(ctx: &Ctx<'_>, items: Vec<Value>, size: usize, skip: Option<&str>, empty_page: bool) -> Reply {
    let (offset, empty) = match skip {
        None => (0, false),
        Some(t) => match t.strip_prefix('e').unwrap_or(t).parse::<usize>() {
            Ok(n) => (n, t.starts_with('e')),
            Err(_) => return arm_error(400, "InvalidSkipToken", format!("The skip token '{t}' is not valid.")),
        },
    };
    let link = |token: String| -> String {
        let mut url = ctx.url.clone();
        let kept: Vec<(String, String)> = ctx
            .url
            .query_pairs()
            .filter(|(k, _)| k != "$skipToken")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        {
            let mut pairs = url.query_pairs_mut();
            pairs.clear();
            for (k, v) in &kept {
                pairs.append_pair(k, v);
            }
            pairs.append_pair("$skipToken", &token);
        }
        // absolute, on this server
        url.to_string()
    };
    if empty {
        return Reply::json(200, json!({"value": [], "nextLink": link(offset.to_string())}));
    }
    let end = (offset + size).min(items.len());
    let value: Vec<Value> = items.get(offset..end).map(<[Value]>::to_vec).unwrap_or_default();
    let mut out = json!({ "value": value });
    if end < items.len() {
        let token = if empty_page && offset == 0 { format!("e{end}") } else { end.to_string() };
        out["nextLink"] = json!(link(token));
    }
    Reply::json(200, out)
}

fn provider(sub: &str, namespace: &str) -> Reply {
    let types = match namespace.to_ascii_lowercase().as_str() {
        "microsoft.compute" => json!([
            {"resourceType": "virtualMachines", "locations": ["East US", "West US", "West US 2"],
             "apiVersions": ["2025-04-01", "2024-11-01", "2024-07-01", "2024-03-01", "2023-09-01"],
             "defaultApiVersion": "2024-11-01", "capabilities": "CrossResourceGroupResourceMove, SupportsTags, SupportsLocation"},
            {"resourceType": "locations/operations", "locations": ["East US", "West US", "West US 2"],
             "apiVersions": ["2025-04-01", "2024-11-01", "2024-07-01"]}
        ]),
        "microsoft.resources" => json!([
            {"resourceType": "resourceGroups", "locations": [], "apiVersions": RESOURCES_API_VERSIONS},
            {"resourceType": "subscriptions", "locations": [], "apiVersions": SUBSCRIPTIONS_API_VERSIONS}
        ]),
        "contoso.widgets" => json!([
            {"resourceType": "widgets", "locations": ["East US", "West US"], "apiVersions": WIDGET_API_VERSIONS,
             "capabilities": "SupportsTags, SupportsLocation"}
        ]),
        _ => {
            return arm_error(
                404,
                "InvalidResourceNamespace",
                format!("The resource namespace '{namespace}' is invalid."),
            );
        }
    };
    let canonical = match namespace.to_ascii_lowercase().as_str() {
        "microsoft.compute" => "Microsoft.Compute",
        "microsoft.resources" => "Microsoft.Resources",
        _ => "Contoso.Widgets",
    };
    Reply::json(
        200,
        json!({
            "id": format!("/subscriptions/{sub}/providers/{canonical}"),
            "namespace": canonical,
            "registrationState": "Registered",
            "registrationPolicy": "RegistrationRequired",
            "resourceTypes": types,
        }),
    )
}

fn rg_body(sub: &str, g: &ResourceGroup, template: Value) -> Value {
    let mut body = template;
    body["id"] = json!(format!("/subscriptions/{sub}/resourceGroups/{}", g.name));
    body["name"] = json!(g.name);
    body["type"] = json!("Microsoft.Resources/resourceGroups");
    body["location"] = json!(g.location);
    body["properties"] = json!({"provisioningState": if g.deleting { "Deleting" } else { "Succeeded" }});
    if let Some(tags) = &g.tags {
        body["tags"] = Value::Object(tags.clone());
    }
    if let Some(m) = &g.managed_by {
        body["managedBy"] = json!(m);
    }
    body
}

/// `tagName eq 'x' and tagValue eq 'y'` or `tagName eq 'x'` → (name, value).
fn parse_tag_filter(filter: &str) -> Option<(String, Option<String>)> {
    let quoted = |s: &str, prefix: &str| -> Option<String> {
        let rest = s.trim().strip_prefix(prefix)?.trim();
        let inner = rest.strip_prefix('\'')?.strip_suffix('\'')?;
        Some(inner.replace("''", "'"))
    };
    match filter.split_once(" and ") {
        Some((a, b)) => Some((quoted(a, "tagName eq")?, Some(quoted(b, "tagValue eq")?))),
        None => Some((quoted(filter, "tagName eq")?, None)),
    }
}

fn list_groups(
    ctx: &Ctx<'_>,
    st: &State,
    sub: &str,
    filter: Option<&str>,
    top: Option<&str>,
    skip: Option<&str>,
) -> Reply {
    let tag = match filter {
        None => None,
        Some(f) => match parse_tag_filter(f) {
            Some(t) => Some(t),
            None => {
                return arm_error(
                    400,
                    "InvalidFilterInQueryString",
                    format!("Invalid $filter '{f}' specified in the query string."),
                );
            }
        },
    };
    let top = match top.map(str::parse::<usize>) {
        None => usize::MAX,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            return arm_error(400, "InvalidTopInQueryString", "The $top query parameter must be a positive integer.");
        }
    };
    let s = sub.to_ascii_lowercase();
    let template = example_body(&docs().rg_get, "200");
    let items: Vec<Value> = st
        .groups
        .iter()
        .filter(|((gs, _), _)| *gs == s)
        .map(|(_, g)| g)
        .filter(|g| match &tag {
            None => true,
            Some((name, value)) => g.tags.as_ref().and_then(|t| t.get(name)).is_some_and(|v| match value {
                None => true,
                Some(want) => v.as_str() == Some(want.as_str()),
            }),
        })
        .take(top)
        .map(|g| rg_body(sub, g, template.clone()))
        .collect();
    let size = st.settings.page_size;
    page(ctx, items, size, skip, true)
}

#[allow(clippy::too_many_arguments)]
fn resource_group(
    ctx: &Ctx<'_>,
    st: &mut State,
    method: &str,
    sub: &str,
    rg: &str,
    body: impl FnOnce() -> Result<Value, serde_json::Error>,
    force: Option<&str>,
) -> Reply {
    let key = key2(sub, rg);
    // A GET of a group being deleted is a poll of its deletion.
    if (method == "GET" || method == "HEAD")
        && let Some(op) = st.groups.get(&key).and_then(|g| g.pending.clone())
    {
        poll(st, &op);
    }
    match method {
        "HEAD" => Reply::empty(if st.groups.contains_key(&key) { 204 } else { 404 }),
        "GET" => match st.groups.get(&key) {
            Some(g) => Reply::json(200, rg_body(sub, g, example_body(&docs().rg_get, "200"))),
            None => not_found_rg(rg),
        },
        "PUT" => {
            let body = match body() {
                Ok(b) => b,
                Err(e) => {
                    return arm_error(400, "InvalidRequestContent", format!("The request content was invalid: {e}"));
                }
            };
            let Some(location) = body["location"].as_str().filter(|l| !l.is_empty()) else {
                return arm_error(400, "LocationRequired", "The location property is required for this definition.");
            };
            if !valid_rg_name(rg) {
                return arm_error(
                    400,
                    "InvalidResourceGroupName",
                    format!(
                        "Resource group name '{rg}' is invalid. It can contain alphanumeric characters, periods, underscores, hyphens and parenthesis and cannot end in a period."
                    ),
                );
            }
            let tags = body["tags"].as_object().cloned();
            let managed_by = body["managedBy"].as_str().map(str::to_owned);
            let (status, template) = match st.groups.get_mut(&key) {
                Some(g) => {
                    if g.deleting {
                        return arm_error(
                            409,
                            "ResourceGroupBeingDeleted",
                            format!(
                                "The resource group '{rg}' is in deprovisioning state and cannot perform this operation."
                            ),
                        );
                    }
                    if !g.location.eq_ignore_ascii_case(location) {
                        return arm_error(
                            409,
                            "InvalidResourceGroupLocation",
                            format!(
                                "Invalid resource group location '{location}'. The Resource group already exists in location '{}'.",
                                g.location
                            ),
                        );
                    }
                    g.tags = tags;
                    g.managed_by = managed_by;
                    (200, "200")
                }
                None => {
                    if st.groups.len() >= MAX_RESOURCES {
                        return arm_error(409, "QuotaExceeded", "The fake holds at most 1000 resource groups.");
                    }
                    st.groups.insert(
                        key.clone(),
                        ResourceGroup {
                            name: rg.to_owned(),
                            location: location.to_owned(),
                            tags,
                            managed_by,
                            deleting: false,
                            pending: None,
                        },
                    );
                    (201, "201")
                }
            };
            let template = example_body(&docs().rg_create, template);
            match st.groups.get(&key) {
                Some(g) => Reply::json(status, rg_body(sub, g, template)),
                None => not_found_rg(rg),
            }
        }
        "PATCH" => {
            let body = match body() {
                Ok(b) => b,
                Err(e) => {
                    return arm_error(400, "InvalidRequestContent", format!("The request content was invalid: {e}"));
                }
            };
            let Some(g) = st.groups.get_mut(&key) else { return not_found_rg(rg) };
            if let Some(tags) = body.get("tags") {
                g.tags = tags.as_object().cloned();
            }
            if let Some(m) = body.get("managedBy") {
                g.managed_by = m.as_str().map(str::to_owned);
            }
            Reply::json(200, rg_body(sub, g, example_body(&docs().rg_get, "200")))
        }
        "DELETE" => {
            if let Some(types) = force {
                for t in types.split(',') {
                    let t = t.trim();
                    if !t.eq_ignore_ascii_case("Microsoft.Compute/virtualMachines")
                        && !t.eq_ignore_ascii_case("Microsoft.Compute/virtualMachineScaleSets")
                    {
                        return arm_error(
                            400,
                            "InvalidForceDeletionTypes",
                            format!("The resource type '{t}' does not support forced deletion."),
                        );
                    }
                }
            }
            let Some(g) = st.groups.get(&key) else { return not_found_rg(rg) };
            if let Some(op) = g.pending.clone() {
                // deletion already running: the same operation
                return Reply::empty(202)
                    .header(
                        "location",
                        format!("{}/subscriptions/{sub}/operationresults/{op}?api-version=2018-08-01", ctx.base),
                    )
                    .header("retry-after", st.settings.retry_after.to_string());
            }
            let op = start_operation(ctx.shared, st, Target::RgDelete(key.clone()));
            if let Some(g) = st.groups.get_mut(&key) {
                g.deleting = true;
                g.pending = Some(op.clone());
            }
            // The example's `location`: `.../operationresults/{id}?api-version=2018-08-01`, on this server.
            let example = docs().rg_delete["responses"]["202"]["headers"]["location"].as_str().unwrap_or("");
            let api = example.split("api-version=").nth(1).unwrap_or("2018-08-01");
            Reply::empty(202)
                .header("location", format!("{}/subscriptions/{sub}/operationresults/{op}?api-version={api}", ctx.base))
                .header("retry-after", st.settings.retry_after.to_string())
        }
        _ => arm_error(405, "MethodNotAllowed", format!("{method} is not supported on resource groups")),
    }
}

fn valid_rg_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 90
        && !name.ends_with('.')
        && name.chars().all(|c| c.is_alphanumeric() || "._-()".contains(c))
}

/// The VM body: the stored one, with `properties.instanceView` when expanded.
fn vm_body(vm: &Vm, expand_instance_view: bool) -> Value {
    let mut body = vm.body.clone();
    if expand_instance_view {
        body["properties"]["instanceView"] = instance_view(vm);
    }
    body
}

fn instance_view(vm: &Vm) -> Value {
    let mut view = example_body(&docs().vm_instance_view, "200");
    let name = vm.body["name"].as_str().unwrap_or("vm");
    view["computerName"] = json!(name);
    let provisioning = vm.body["properties"]["provisioningState"].as_str().unwrap_or("Succeeded");
    let power_display = match vm.power.as_str() {
        "running" => "VM running",
        "starting" => "VM starting",
        "stopping" => "VM stopping",
        "stopped" => "VM stopped",
        "deallocating" => "VM deallocating",
        "deallocated" => "VM deallocated",
        _ => "VM status unknown",
    };
    let provisioning_display = match provisioning {
        "Succeeded" => "Provisioning succeeded".to_owned(),
        other => format!("Provisioning {}", other.to_ascii_lowercase()),
    };
    let mut statuses = vec![json!({
        "code": format!("ProvisioningState/{}", provisioning.to_ascii_lowercase()),
        "level": if provisioning == "Failed" { "Error" } else { "Info" },
        "displayStatus": provisioning_display,
        "time": now_rfc3339(),
    })];
    // a VM being created has no power state yet, as on Azure
    if provisioning != "Creating" || vm.power != "starting" {
        statuses
            .push(json!({"code": format!("PowerState/{}", vm.power), "level": "Info", "displayStatus": power_display}));
    }
    if vm.hibernated && vm.power == "deallocated" {
        statuses
            .push(json!({"code": "HibernationState/Hibernated", "level": "Info", "displayStatus": "VM hibernated"}));
    }
    view["statuses"] = Value::Array(statuses);
    view
}

/// Polls the operation pending on a VM (a GET of the VM counts as one poll).
fn poll_vm(st: &mut State, key: &ResKey) {
    if let Some(op) = st.vms.get(key).and_then(|v| v.pending.clone()) {
        poll(st, &op);
    }
}

fn get_vm(st: &mut State, sub: &str, rg: &str, name: &str, expand: Option<&str>) -> Reply {
    let key = key3(sub, rg, name);
    poll_vm(st, &key);
    match st.vms.get(&key) {
        Some(vm) => match expand {
            None | Some("instanceView") | Some("userData") => {
                Reply::json(200, vm_body(vm, expand == Some("instanceView")))
            }
            Some(other) => arm_error(
                400,
                "InvalidParameter",
                format!(
                    "The value '{other}' of parameter '$expand' is not valid. Allowed values are 'instanceView, userData, resiliencyView'."
                ),
            ),
        },
        None => not_found_resource("Microsoft.Compute/virtualMachines", name, rg),
    }
}

fn vm_instance_view(st: &mut State, sub: &str, rg: &str, name: &str) -> Reply {
    let key = key3(sub, rg, name);
    poll_vm(st, &key);
    match st.vms.get(&key) {
        Some(vm) => Reply::json(200, instance_view(vm)),
        None => not_found_resource("Microsoft.Compute/virtualMachines", name, rg),
    }
}

fn put_vm(ctx: &Ctx<'_>, st: &mut State, sub: &str, rg: &str, name: &str, request: Value) -> Reply {
    let Some(location) = request["location"].as_str().filter(|l| !l.is_empty()).map(str::to_owned) else {
        return arm_error(400, "LocationRequired", "The location property is required for this definition.");
    };
    if name.is_empty() || name.len() > 64 || !name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c)) {
        return arm_error(400, "InvalidParameter", format!("The VM name '{name}' is invalid."));
    }
    let key = key3(sub, rg, name);
    let exists = st.vms.contains_key(&key);
    if !exists && st.vms.len() >= MAX_RESOURCES {
        return arm_error(409, "OperationNotAllowed", "The fake holds at most 1000 VMs.");
    }
    if let Some(pending) = st.vms.get(&key).and_then(|v| v.pending.clone()) {
        finish_now(st, &pending);
    }
    let mut body = match st.vms.get(&key) {
        Some(vm) => vm.body.clone(),
        None => {
            let mut b = example_body(&docs().vm_create, "201");
            set_resource_identity(&mut b, sub, rg, name, &location);
            b["properties"]["vmId"] = json!(ctx.shared.uuid());
            b["properties"]["timeCreated"] = json!(now_rfc3339());
            b
        }
    };
    if let Some(tags) = request.get("tags") {
        body["tags"] = tags.clone();
    }
    if let Some(props) = request["properties"].as_object() {
        for (k, v) in props {
            body["properties"][k] = v.clone();
        }
    }
    // ARM never returns secrets.
    if let Some(os) = body["properties"]["osProfile"].as_object_mut() {
        os.remove("adminPassword");
        os.remove("customData");
    }
    body["properties"]["provisioningState"] = json!(if exists { "Updating" } else { "Creating" });
    let target = if exists { Target::VmUpdate(key.clone()) } else { Target::VmCreate(key.clone()) };
    let op = start_operation(ctx.shared, st, target);
    match st.vms.get_mut(&key) {
        Some(vm) => {
            vm.body = body.clone();
            vm.pending = Some(op.clone());
        }
        None => {
            st.vms.insert(
                key,
                Vm { body: body.clone(), power: "starting".into(), hibernated: false, pending: Some(op.clone()) },
            );
        }
    }
    let loc = location.replace(' ', "").to_ascii_lowercase();
    let ops = format!("{}/subscriptions/{sub}/providers/Microsoft.Compute/locations/{loc}/operations/{op}", ctx.base);
    Reply::json(if exists { 200 } else { 201 }, body)
        .header("azure-asyncoperation", format!("{ops}?api-version={COMPUTE_API_VERSION}"))
        .header("location", format!("{ops}?monitor=true&api-version={COMPUTE_API_VERSION}"))
        .header("retry-after", st.settings.retry_after.to_string())
}

fn patch_vm(st: &mut State, sub: &str, rg: &str, name: &str, request: Value) -> Reply {
    let key = key3(sub, rg, name);
    poll_vm(st, &key);
    let Some(vm) = st.vms.get_mut(&key) else {
        return not_found_resource("Microsoft.Compute/virtualMachines", name, rg);
    };
    if let Some(tags) = request.get("tags") {
        vm.body["tags"] = tags.clone();
    }
    if let Some(props) = request["properties"].as_object() {
        for (k, v) in props {
            vm.body["properties"][k] = v.clone();
        }
    }
    Reply::json(200, vm.body.clone())
}

/// start / poweroff / deallocate / restart / delete.
fn vm_action(ctx: &Ctx<'_>, st: &mut State, sub: &str, rg: &str, name: &str, action: &str, flag: bool) -> Reply {
    let key = key3(sub, rg, name);
    let Some(vm) = st.vms.get(&key) else {
        return if action == "delete" {
            // VirtualMachines_Delete: 204 "Resource does not exist"
            Reply::empty(204)
        } else {
            not_found_resource("Microsoft.Compute/virtualMachines", name, rg)
        };
    };
    if vm.body["properties"]["provisioningState"] == "Deleting" {
        return arm_error(
            409,
            "OperationNotAllowed",
            format!("Operation '{action}' is not allowed on VM '{name}' since the VM is marked for deletion."),
        );
    }
    if let Some(pending) = vm.pending.clone() {
        finish_now(st, &pending);
    }
    let Some(vm) = st.vms.get(&key) else { return not_found_resource("Microsoft.Compute/virtualMachines", name, rg) };
    let before = vm.power.clone();
    let location = vm.body["location"].as_str().unwrap_or("westus").replace(' ', "").to_ascii_lowercase();
    let (target, transitional) = match action {
        "start" => {
            (Target::VmPower { key: key.clone(), to: "running", hibernate: false, before: before.clone() }, "starting")
        }
        "poweroff" => {
            (Target::VmPower { key: key.clone(), to: "stopped", hibernate: false, before: before.clone() }, "stopping")
        }
        "deallocate" => (
            Target::VmPower { key: key.clone(), to: "deallocated", hibernate: flag, before: before.clone() },
            "deallocating",
        ),
        "restart" => {
            if before != "running" {
                return arm_error(
                    409,
                    "OperationNotAllowed",
                    format!("Operation 'restart' is not allowed on VM '{name}' since the VM is {before}."),
                );
            }
            (Target::VmPower { key: key.clone(), to: "running", hibernate: false, before: before.clone() }, "starting")
        }
        _ => (Target::VmDelete(key.clone()), ""),
    };
    let op = start_operation(ctx.shared, st, target);
    if let Some(vm) = st.vms.get_mut(&key) {
        vm.pending = Some(op.clone());
        if action == "delete" {
            vm.body["properties"]["provisioningState"] = json!("Deleting");
        } else if before != target_power(action) {
            vm.power = transitional.to_owned();
        }
    }
    let ops =
        format!("{}/subscriptions/{sub}/providers/Microsoft.Compute/locations/{location}/operations/{op}", ctx.base);
    let mut reply = Reply::empty(202)
        .header("location", format!("{ops}?monitor=true&api-version={COMPUTE_API_VERSION}"))
        .header("retry-after", st.settings.retry_after.to_string());
    if st.settings.async_operation_on_actions {
        reply = reply.header("azure-asyncoperation", format!("{ops}?api-version={COMPUTE_API_VERSION}"));
    }
    reply
}

fn target_power(action: &str) -> &'static str {
    match action {
        "poweroff" => "stopped",
        "deallocate" => "deallocated",
        "restart" => "",
        _ => "running",
    }
}

fn widget_id(sub: &str, rg: &str, name: &str) -> String {
    format!("/subscriptions/{sub}/resourceGroups/{rg}/providers/{WIDGET_TYPE}/{name}")
}

fn widget(ctx: &Ctx<'_>, st: &mut State, method: &str, sub: &str, rg: &str, name: &str, body: Option<Value>) -> Reply {
    let key = key3(sub, rg, name);
    if method == "GET"
        && let Some(op) = st.widgets.get(&key).and_then(|w| w.pending.clone())
    {
        poll(st, &op);
    }
    match method {
        "GET" => match st.widgets.get(&key) {
            Some(w) => Reply::json(200, w.body.clone()),
            None => not_found_resource(WIDGET_TYPE, name, rg),
        },
        "PUT" => {
            let request = body.unwrap_or(Value::Null);
            let Some(location) = request["location"].as_str().filter(|l| !l.is_empty()) else {
                return arm_error(400, "LocationRequired", "The location property is required for this definition.");
            };
            let exists = st.widgets.contains_key(&key);
            if !exists && st.widgets.len() >= MAX_RESOURCES {
                return arm_error(409, "QuotaExceeded", "The fake holds at most 1000 widgets.");
            }
            let mut props = request["properties"].as_object().cloned().unwrap_or_default();
            props.insert("provisioningState".into(), json!("Succeeded"));
            let mut out = json!({
                "id": widget_id(sub, rg, name),
                "name": name,
                "type": WIDGET_TYPE,
                "location": location,
                "properties": props,
            });
            if let Some(tags) = request.get("tags") {
                out["tags"] = tags.clone();
            }
            let keys = match st.widgets.get(&key) {
                Some(w) => w.keys.clone(),
                None => [ctx.shared.hex(40), ctx.shared.hex(40)],
            };
            st.widgets.insert(key, Widget { body: out.clone(), pending: None, keys });
            Reply::json(if exists { 200 } else { 201 }, out)
        }
        "PATCH" => {
            let request = body.unwrap_or(Value::Null);
            let Some(w) = st.widgets.get_mut(&key) else { return not_found_resource(WIDGET_TYPE, name, rg) };
            if let Some(tags) = request.get("tags") {
                w.body["tags"] = tags.clone();
            }
            if let Some(props) = request["properties"].as_object() {
                for (k, v) in props {
                    w.body["properties"][k] = v.clone();
                }
            }
            Reply::json(200, w.body.clone())
        }
        "DELETE" => {
            let Some(w) = st.widgets.get(&key) else { return Reply::empty(204) };
            let location = w.body["location"].as_str().unwrap_or("westus").replace(' ', "").to_ascii_lowercase();
            if let Some(pending) = w.pending.clone() {
                finish_now(st, &pending);
            }
            let op = start_operation(ctx.shared, st, Target::WidgetDelete(key.clone()));
            if let Some(w) = st.widgets.get_mut(&key) {
                w.pending = Some(op.clone());
                w.body["properties"]["provisioningState"] = json!("Deleting");
            }
            let ops = format!(
                "{}/subscriptions/{sub}/providers/Contoso.Widgets/locations/{location}/operationStatuses/{op}",
                ctx.base
            );
            Reply::empty(202)
                .header("location", format!("{ops}?monitor=true&api-version={}", WIDGET_API_VERSIONS[1]))
                .header("azure-asyncoperation", format!("{ops}?api-version={}", WIDGET_API_VERSIONS[1]))
                .header("retry-after", st.settings.retry_after.to_string())
        }
        _ => arm_error(405, "MethodNotAllowed", format!("{method} is not supported on {WIDGET_TYPE}")),
    }
}

/// A new 40-hex-digit access key (splitmix64 of a counter and the clock).
fn fresh_key(counter: &mut u64) -> String {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut out = String::new();
    while out.len() < 40 {
        *counter += 1;
        let mut z = (*counter ^ nanos).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        out.push_str(&format!("{:016x}", z ^ (z >> 31)));
    }
    out.truncate(40);
    out
}

fn widget_keys(w: &Widget) -> Value {
    json!({"keys": [
        {"keyName": "key1", "value": w.keys[0], "permissions": "FULL"},
        {"keyName": "key2", "value": w.keys[1], "permissions": "FULL"},
    ]})
}

/// `POST …/widgets/{name}/{action}`: `listKeys` answers 200 with the keys at once;
/// `regenerateKey` (body `{"keyName": "key1"|"key2"}`) is long-running: 202 + `Location` (+
/// `Azure-AsyncOperation` with [`ArmFake::set_async_operation_on_actions`]), and the `Location` URL's
/// final 200 carries the new keys (the shape of Microsoft.Storage's `listKeys` / `regenerateKey`).
fn widget_action(ctx: &Ctx<'_>, st: &mut State, sub: &str, rg: &str, name: &str, action: &str, body: &[u8]) -> Reply {
    let key = key3(sub, rg, name);
    let Some(w) = st.widgets.get(&key) else { return not_found_resource(WIDGET_TYPE, name, rg) };
    match action.to_ascii_lowercase().as_str() {
        "listkeys" => Reply::json(200, widget_keys(w)),
        "regeneratekey" => {
            let request = serde_json::from_slice::<Value>(body).unwrap_or(Value::Null);
            let which = match request["keyName"].as_str() {
                Some("key1") => 0,
                Some("key2") => 1,
                other => {
                    return arm_error(
                        400,
                        "InvalidRequestContent",
                        format!("The keyName {other:?} is not valid: expected 'key1' or 'key2'."),
                    );
                }
            };
            let location = w.body["location"].as_str().unwrap_or("westus").replace(' ', "").to_ascii_lowercase();
            if let Some(pending) = w.pending.clone() {
                finish_now(st, &pending);
            }
            let op = start_operation(ctx.shared, st, Target::WidgetRegenerateKey(key.clone(), which));
            if let Some(w) = st.widgets.get_mut(&key) {
                w.pending = Some(op.clone());
            }
            let ops = format!(
                "{}/subscriptions/{sub}/providers/Contoso.Widgets/locations/{location}/operationStatuses/{op}",
                ctx.base
            );
            let mut reply = Reply::empty(202)
                .header("location", format!("{ops}?monitor=true&api-version={}", WIDGET_API_VERSIONS[1]))
                .header("retry-after", st.settings.retry_after.to_string());
            if st.settings.async_operation_on_actions {
                reply = reply.header("azure-asyncoperation", format!("{ops}?api-version={}", WIDGET_API_VERSIONS[1]));
            }
            reply
        }
        _ => arm_error(
            404,
            "InvalidResourceType",
            format!("The resource type could not be found for the action '{action}' of {WIDGET_TYPE}."),
        ),
    }
}

/// `GET /subscriptions/{s}[/resourceGroups/{rg}]/resources` with `$filter=resourceType eq '…'`.
fn generic_list(
    ctx: &Ctx<'_>,
    st: &State,
    sub: &str,
    rg: Option<&str>,
    filter: Option<&str>,
    skip: Option<&str>,
) -> Reply {
    let wanted_type = match filter {
        None => None,
        Some(f) => match f
            .trim()
            .strip_prefix("resourceType eq")
            .map(str::trim)
            .and_then(|r| r.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
        {
            Some(t) => Some(t.to_ascii_lowercase()),
            None => {
                return arm_error(
                    400,
                    "InvalidFilterInQueryString",
                    format!("Invalid $filter '{f}' specified in the query string."),
                );
            }
        },
    };
    let s = sub.to_ascii_lowercase();
    let g = rg.map(str::to_ascii_lowercase);
    let in_scope = |(ks, kg, _): &ResKey| *ks == s && g.as_ref().is_none_or(|g| g == kg);
    let generic = |b: &Value| {
        let mut out = json!({"id": b["id"], "name": b["name"], "type": b["type"], "location": b["location"]});
        if let Some(t) = b.get("tags") {
            out["tags"] = t.clone();
        }
        out
    };
    let mut items: Vec<Value> = st.vms.iter().filter(|(k, _)| in_scope(k)).map(|(_, v)| generic(&v.body)).collect();
    items.extend(st.widgets.iter().filter(|(k, _)| in_scope(k)).map(|(_, w)| generic(&w.body)));
    if let Some(t) = wanted_type {
        items.retain(|i| i["type"].as_str().is_some_and(|x| x.to_ascii_lowercase() == t));
    }
    let size = st.settings.page_size;
    page(ctx, items, size, skip, true)
}

// ---------------------------------------------------------------------------------------------
// Long-running operations
// ---------------------------------------------------------------------------------------------

fn start_operation(shared: &Shared, st: &mut State, target: Target) -> String {
    st.counter += 1;
    let seq = st.counter;
    let id = shared.uuid();
    let outcome = st.next_outcome.take().unwrap_or(Outcome::Succeeded);
    st.operations.insert(
        seq,
        Operation {
            id: id.clone(),
            target,
            polls: 0,
            outcome,
            finished: false,
            start_time: now_rfc3339(),
            end_time: None,
            final_answer: None,
        },
    );
    st.operation_index.insert(id.clone(), seq);
    // Forget the oldest finished operations beyond the bound.
    while st.operations.len() > MAX_OPERATIONS {
        let Some(oldest) = st.operations.iter().find(|(_, o)| o.finished).map(|(k, _)| *k) else { break };
        if let Some(o) = st.operations.remove(&oldest) {
            st.operation_index.remove(&o.id);
        }
    }
    id
}

/// One poll: in progress for the first `in_progress_polls` polls, then completes (once).
fn poll(st: &mut State, id: &str) -> Option<bool> {
    let seq = *st.operation_index.get(id)?;
    let limit = st.settings.in_progress_polls;
    let op = st.operations.get_mut(&seq)?;
    if op.finished {
        return Some(true);
    }
    if op.polls < limit {
        op.polls += 1;
        return Some(false);
    }
    finish_now(st, id);
    Some(true)
}

/// Completes the operation now, applying its effect.
fn finish_now(st: &mut State, id: &str) {
    let Some(seq) = st.operation_index.get(id).copied() else { return };
    let Some(op) = st.operations.get_mut(&seq) else { return };
    if op.finished {
        return;
    }
    op.finished = true;
    op.end_time = Some(now_rfc3339());
    let outcome = op.outcome.clone();
    let target = op.target.clone();
    let ok = outcome == Outcome::Succeeded;
    let mut final_answer: (u16, Value) = (200, Value::Null);
    match &target {
        Target::VmCreate(key) | Target::VmUpdate(key) => {
            if let Some(vm) = st.vms.get_mut(key) {
                vm.pending = None;
                vm.body["properties"]["provisioningState"] = json!(if ok { "Succeeded" } else { outcome.status() });
                if matches!(target, Target::VmCreate(_)) {
                    vm.power = if ok { "running".into() } else { "stopped".into() };
                }
                final_answer = (200, vm.body.clone());
            }
        }
        Target::VmPower { key, to, hibernate, before } => {
            if let Some(vm) = st.vms.get_mut(key) {
                vm.pending = None;
                if ok {
                    vm.power = (*to).to_owned();
                    vm.hibernated = *hibernate;
                } else {
                    vm.power = before.clone();
                }
            }
        }
        Target::VmDelete(key) => {
            if ok {
                st.vms.remove(key);
            } else if let Some(vm) = st.vms.get_mut(key) {
                vm.pending = None;
                vm.body["properties"]["provisioningState"] = json!("Succeeded");
            }
        }
        Target::RgDelete(key) => {
            if ok {
                st.groups.remove(key);
                st.vms.retain(|(s, g, _), _| !(s == &key.0 && g == &key.1));
                st.widgets.retain(|(s, g, _), _| !(s == &key.0 && g == &key.1));
            } else if let Some(g) = st.groups.get_mut(key) {
                g.deleting = false;
                g.pending = None;
            }
        }
        Target::WidgetDelete(key) => {
            if ok {
                st.widgets.remove(key);
            } else if let Some(w) = st.widgets.get_mut(key) {
                w.pending = None;
                w.body["properties"]["provisioningState"] = json!("Succeeded");
            }
        }
        Target::WidgetRegenerateKey(key, which) => {
            let fresh = fresh_key(&mut st.counter);
            if let Some(w) = st.widgets.get_mut(key) {
                w.pending = None;
                if ok {
                    w.keys[*which] = fresh;
                }
                final_answer = (200, widget_keys(w));
            }
        }
    }
    let final_answer = match &outcome {
        Outcome::Succeeded => final_answer,
        Outcome::Failed { code, message } | Outcome::Canceled { code, message } => {
            (409, json!({"error": {"code": code, "message": message}}))
        }
    };
    if let Some(op) = st.operations.get_mut(&seq) {
        op.final_answer = Some(final_answer);
    }
}

fn operation_not_found(id: &str) -> Reply {
    arm_error(404, "NotFound", format!("The operation '{id}' could not be found."))
}

/// The `Azure-AsyncOperation` status URL: always 200 with the status body.
fn operation_status(st: &mut State, id: &str) -> Reply {
    let Some(done) = poll(st, id) else { return operation_not_found(id) };
    let Some(op) = st.operation_index.get(id).and_then(|seq| st.operations.get(seq)) else {
        return operation_not_found(id);
    };
    let mut body = json!({
        "name": op.id,
        "status": if done { op.outcome.status() } else { "InProgress" },
        "startTime": op.start_time,
    });
    if done {
        body["endTime"] = json!(op.end_time);
        match &op.outcome {
            Outcome::Succeeded => body["percentComplete"] = json!(100),
            Outcome::Failed { code, message } | Outcome::Canceled { code, message } => {
                body["error"] = json!({"code": code, "message": message});
            }
        }
    }
    let retry = st.settings.retry_after;
    let mut reply = Reply::json(200, body);
    if !done {
        reply = reply.header("retry-after", retry.to_string());
    }
    reply
}

/// The `Location` URL: 202 while running, then the final answer (200 with the result or an empty
/// body; 409 with the ARM error when the operation failed or was canceled).
fn operation_location(st: &mut State, id: &str) -> Reply {
    let Some(done) = poll(st, id) else { return operation_not_found(id) };
    if !done {
        return Reply::empty(202).header("retry-after", st.settings.retry_after.to_string());
    }
    match st.operation_index.get(id).and_then(|seq| st.operations.get(seq)).and_then(|o| o.final_answer.clone()) {
        Some((status, Value::Null)) => Reply::empty(status),
        Some((status, body)) => Reply::json(status, body),
        None => Reply::empty(200),
    }
}
