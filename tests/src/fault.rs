//! An in-process HTTP/1.1 fault-injecting proxy for the fault-injection suite
//! (`tests/tests/fault_injection.rs`).
//!
//! [`FaultProxy::start`] listens on `127.0.0.1` and relays every connection to one emulator (also on
//! loopback), one upstream connection per client connection, request by request on keep-alive
//! connections. It understands just enough HTTP/1.1 to act per exchange: request heads and their
//! `Content-Length` or `chunked` bodies; response heads and their `Content-Length`, `chunked` (relayed
//! chunk by chunk) or read-until-close bodies; `1xx` interim responses. Heads are relayed verbatim (the
//! `Host` header included, so SigV4 signatures still verify upstream).
//!
//! Faults ([`FaultKind`]), each at a rate of the [`FaultPlan`]:
//! - the client connection is reset (TCP RST) before the request is forwarded, or in the middle of
//!   the request body (part of the body reached the emulator);
//! - a synthetic `503` (S3 `SlowDown`, Azure `ServerBusy`, GCS JSON `503`), `500` or `429`, with or
//!   without `Retry-After: 0|1`, answered by the proxy for a request it never forwards (the request
//!   body is read and dropped, the connection stays open);
//! - the client connection is reset (TCP RST) after the emulator answered but before any of the
//!   answer is relayed (the request took effect, the client never learns its outcome), or in the
//!   middle of the response body (the head and part of the body were relayed);
//! - a truncated response body: part of it is relayed, then the connection is closed (FIN);
//! - a stall: the response (its head, or part of its body) is held for [`FaultPlan::stall`], longer
//!   than the client's read-idle timeout, then the connection is closed (FIN);
//! - flipped bytes in a successful response's *body* (never in a head, never in a chunk-size line),
//!   only in object data: bodies whose `Content-Type` is not XML or JSON, since the services' own
//!   protocol documents (listings, metadata) carry no checksum a client could verify.
//!
//! Decisions are deterministic: each is a function of the plan's seed and the request's identity
//! (method, path and stable query parameters with the run-unique names registered through
//! [`FaultProxy::alias`] replaced, the `Range` header, and how many times the same request was seen
//! before, so a retry draws anew). Replaying a seed injects the same faults into the same requests;
//! only the interleaving of concurrent requests differs from run to run.
//!
//! Besides the faults, the proxy records what a client cannot always see for itself:
//! - [`FaultProxy::lost_answers`]: exchanges the emulator answered whose answer did not reach the
//!   client whole (a reset, truncation or stall after forwarding, or a client that went away), so a
//!   suite can tell an object created by a request whose answer was lost (a multipart upload whose
//!   id the client never received) from one the client abandoned;
//! - [`FaultProxy::sessions`]: GCS resumable upload sessions (`uploadType=resumable` POSTs answered
//!   with a `Location` holding an `upload_id`) and how each ended, as the emulator answered: a
//!   final `PUT` answered `200`/`201`, or a `DELETE` of the session (the JSON API cannot list
//!   open sessions, so this is the only way to find the ones left open).
//!
//! Bounded: at most [`ProxyLimits::max_connections`] connections at once (more wait in the listen
//! backlog), heads up to 64 KiB, 64 KiB relay buffers, an idle timeout per connection, and a lifetime
//! after which the proxy stops by itself. Dropping the [`FaultProxy`] stops it and every connection.
//!
//! ```no_run
//! # async fn demo(emulator: std::net::SocketAddr) -> std::io::Result<()> {
//! use cloudkit_tests::fault::{ErrorFlavor, FaultPlan, FaultProxy, FaultRates};
//!
//! let plan = FaultPlan::new(42, ErrorFlavor::S3).rates(FaultRates::uniform(0.01));
//! let proxy = FaultProxy::start(emulator, plan).await?;
//! println!("point the client at {}", proxy.url());
//! // … run a workload …
//! for (kind, n) in proxy.counts() {
//!     println!("{kind}: {n}");
//! }
//! # Ok(()) }
//! ```

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::{JoinHandle, JoinSet};

/// The largest request or response head accepted.
const MAX_HEAD: usize = 64 * 1024;
/// The largest chunk-size or trailer line accepted.
const MAX_LINE: usize = 4 * 1024;
/// How much is read from a socket at once.
const IO_CHUNK: usize = 64 * 1024;
/// How many injected faults are remembered (counters keep counting past it).
const MAX_RECORDED: usize = 100_000;
/// How many distinct request identities are remembered for retry counting before the table resets.
const MAX_IDENTITIES: usize = 1_000_000;

/// One kind of injected fault.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    /// The connection was reset before the request was forwarded.
    ResetBeforeRequest,
    /// The connection was reset in the middle of the request body (part of it was forwarded).
    ResetMidRequestBody,
    /// The request was forwarded and answered; the connection was reset before any of the answer
    /// was relayed.
    ResetBeforeResponse,
    /// The connection was reset in the middle of the response body (the head and part of the body
    /// were relayed).
    ResetMidResponseBody,
    /// A synthetic 503 (SlowDown / ServerBusy / GCS 503) without `Retry-After`.
    Status503,
    /// A synthetic 503 with `Retry-After`.
    Status503RetryAfter,
    /// A synthetic 500 without `Retry-After`.
    Status500,
    /// A synthetic 500 with `Retry-After`.
    Status500RetryAfter,
    /// A synthetic 429 without `Retry-After`.
    Status429,
    /// A synthetic 429 with `Retry-After`.
    Status429RetryAfter,
    /// Part of the response body was relayed, then the connection was closed.
    TruncatedBody,
    /// The response was held longer than the client's read-idle timeout, then the connection closed.
    Stall,
    /// One byte of a response body was flipped.
    FlippedByte,
}

impl FaultKind {
    /// Every kind, in table order.
    pub const ALL: [FaultKind; 13] = [
        FaultKind::ResetBeforeRequest,
        FaultKind::ResetMidRequestBody,
        FaultKind::ResetBeforeResponse,
        FaultKind::ResetMidResponseBody,
        FaultKind::Status503,
        FaultKind::Status503RetryAfter,
        FaultKind::Status500,
        FaultKind::Status500RetryAfter,
        FaultKind::Status429,
        FaultKind::Status429RetryAfter,
        FaultKind::TruncatedBody,
        FaultKind::Stall,
        FaultKind::FlippedByte,
    ];

    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::ResetBeforeRequest => "reset-before-request",
            FaultKind::ResetMidRequestBody => "reset-mid-request-body",
            FaultKind::ResetBeforeResponse => "reset-before-response",
            FaultKind::ResetMidResponseBody => "reset-mid-response-body",
            FaultKind::Status503 => "503",
            FaultKind::Status503RetryAfter => "503+retry-after",
            FaultKind::Status500 => "500",
            FaultKind::Status500RetryAfter => "500+retry-after",
            FaultKind::Status429 => "429",
            FaultKind::Status429RetryAfter => "429+retry-after",
            FaultKind::TruncatedBody => "truncated-body",
            FaultKind::Stall => "stall",
            FaultKind::FlippedByte => "flipped-byte",
        }
    }

    fn index(self) -> usize {
        Self::ALL.iter().position(|k| *k == self).unwrap_or(0)
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which service's error bodies the synthetic statuses carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorFlavor {
    /// S3 XML errors (`SlowDown`, `InternalError`, `TooManyRequests`).
    S3,
    /// Azure Storage XML errors with `x-ms-error-code` (`ServerBusy`, `InternalError`).
    Azure,
    /// GCS JSON API errors (`{"error": {"code": 503, …}}`).
    Gcs,
}

/// Per-request probabilities of each fault (0.0 ..= 1.0). At most one fault is injected per
/// request: the request-side ones (resets before or in the request, synthetic statuses) are drawn
/// first, then the response-side ones (truncation, stall, flip, resets before or in the response)
/// with an independent draw. A drawn fault that does not apply (a mid-body reset of a request or
/// response without a body, a flip in an XML body) is not injected.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct FaultRates {
    /// Reset before the request is forwarded.
    pub reset_before_request: f64,
    /// Reset in the middle of the request body.
    pub reset_mid_request_body: f64,
    /// Synthetic 503.
    pub status_503: f64,
    /// Synthetic 500.
    pub status_500: f64,
    /// Synthetic 429.
    pub status_429: f64,
    /// The share of synthetic statuses that carry `Retry-After` (0 or 1 second).
    pub retry_after_share: f64,
    /// Truncated response body.
    pub truncated_body: f64,
    /// Stall longer than the read-idle timeout.
    pub stall: f64,
    /// A flipped byte in an object-data response body.
    pub flipped_byte: f64,
    /// Reset after the emulator answered, before any of the answer is relayed.
    pub reset_before_response: f64,
    /// Reset in the middle of the response body.
    pub reset_mid_response_body: f64,
}

impl FaultRates {
    /// Every fault at `rate`, half of the synthetic statuses with `Retry-After`.
    pub fn uniform(rate: f64) -> Self {
        Self {
            reset_before_request: rate,
            reset_mid_request_body: rate,
            status_503: rate,
            status_500: rate,
            status_429: rate,
            retry_after_share: 0.5,
            truncated_body: rate,
            stall: rate,
            flipped_byte: rate,
            reset_before_response: rate,
            reset_mid_response_body: rate,
        }
    }

    /// No faults at all (a plain relay).
    pub fn none() -> Self {
        Self::default()
    }
}

/// Resource limits of one proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyLimits {
    /// Connections relayed at once (default 256).
    pub max_connections: usize,
    /// A connection idle this long (no request from the client, no response from the emulator) is
    /// closed (default 30 s).
    pub idle_timeout: Duration,
    /// The proxy stops accepting and closes every connection after this long (default 15 min).
    pub lifetime: Duration,
    /// Exchanges forwarded to the emulator at once (default: as many as connections). Requests
    /// beyond it wait in the proxy, as behind a load balancer: for single-threaded emulators with
    /// a short listen backlog (gcp-storage-emulator), which drop connections under load.
    pub max_upstream_exchanges: usize,
}

impl Default for ProxyLimits {
    fn default() -> Self {
        Self {
            max_connections: 256,
            idle_timeout: Duration::from_secs(30),
            lifetime: Duration::from_secs(15 * 60),
            max_upstream_exchanges: 256,
        }
    }
}

/// What a [`FaultProxy`] injects, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultPlan {
    /// The seed every decision derives from.
    pub seed: u64,
    /// The synthetic error bodies' service.
    pub flavor: ErrorFlavor,
    /// The rates.
    pub rates: FaultRates,
    /// How long a stall holds the response (make it longer than the client's read-idle timeout).
    pub stall: Duration,
    /// Resource limits.
    pub limits: ProxyLimits,
}

impl FaultPlan {
    /// A plan with this seed and flavour, no faults yet, 3 s stalls and default limits.
    pub fn new(seed: u64, flavor: ErrorFlavor) -> Self {
        Self { seed, flavor, rates: FaultRates::none(), stall: Duration::from_secs(3), limits: ProxyLimits::default() }
    }

    /// Sets the rates.
    pub fn rates(mut self, rates: FaultRates) -> Self {
        self.rates = rates;
        self
    }

    /// Sets the stall duration.
    pub fn stall(mut self, stall: Duration) -> Self {
        self.stall = stall;
        self
    }

    /// Sets the limits.
    pub fn limits(mut self, limits: ProxyLimits) -> Self {
        self.limits = limits;
        self
    }
}

/// One injected fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InjectedFault {
    /// What was injected.
    pub kind: FaultKind,
    /// The request: method and normalised path (query left out), at most 200 characters.
    pub request: String,
    /// The byte offset in the body where it struck (resets mid-body, truncations, stalls in a
    /// body, flips), if any.
    pub offset: Option<u64>,
}

/// An exchange the emulator answered whose answer did not reach the client whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LostAnswer {
    /// The request: method, normalised path and the names of its query parameters (sorted), e.g.
    /// `POST /bucket/large/a.bin?uploads`; at most 300 characters.
    pub request: String,
    /// The emulator's status.
    pub status: u16,
}

/// How a GCS resumable session ended, as the emulator answered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionEnd {
    /// A `PUT` to the session was answered `200`/`201`: the object was written.
    Completed,
    /// A `DELETE` of the session was answered with anything but a transient error (`429`, `500`,
    /// `502`–`504`). Real GCS answers `499`; gcp-storage-emulator has no route for it (`501`) and
    /// keeps the session, so an answered `DELETE` counts as the client having cancelled it.
    Cancelled,
}

/// A GCS resumable upload session the emulator opened (see [`FaultProxy::sessions`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    /// The session's `upload_id`.
    pub upload_id: String,
    /// The creating request (method and normalised path; the object is its `name` parameter).
    pub request: String,
    /// The object name (the `name` query parameter, aliases applied), if any.
    pub object: Option<String>,
    /// Whether the answer that created it reached the client whole (else the client never learned
    /// the session's URL, and could not cancel it).
    pub delivered: bool,
    /// How it ended; `None` while open.
    pub end: Option<SessionEnd>,
}

/// Counters of what went through the proxy (besides the faults).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TrafficCounts {
    /// Requests read from clients.
    pub requests: u64,
    /// Requests forwarded to the emulator.
    pub forwarded: u64,
    /// Forwarded exchanges that broke off without an injected fault: the emulator refused the
    /// connection, closed it early or sent a malformed response, or the client went away while the
    /// response was being relayed (after its own timeout, or after detecting a flipped byte).
    pub broken: u64,
}

struct Shared {
    plan: FaultPlan,
    enabled: AtomicBool,
    aliases: Mutex<Vec<(String, String)>>,
    seen: Mutex<HashMap<String, u32>>,
    counts: [AtomicU64; FaultKind::ALL.len()],
    recorded: Mutex<Vec<InjectedFault>>,
    lost: Mutex<Vec<LostAnswer>>,
    sessions: Mutex<Vec<SessionRecord>>,
    requests: AtomicU64,
    forwarded: AtomicU64,
    broken: AtomicU64,
    upstream_slots: Semaphore,
}

/// A running fault proxy; see the [module docs](self). Dropping it stops it.
pub struct FaultProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FaultProxy").field("addr", &self.addr).field("plan", &self.shared.plan).finish()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FaultProxy {
    /// Starts a proxy on `127.0.0.1` (a free port) in front of `upstream`, which must be a
    /// loopback address. Faults are enabled from the start (see [`FaultProxy::set_enabled`]).
    pub async fn start(upstream: SocketAddr, plan: FaultPlan) -> io::Result<FaultProxy> {
        if !upstream.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "the fault proxy relays to loopback addresses only",
            ));
        }
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            enabled: AtomicBool::new(true),
            aliases: Mutex::new(Vec::new()),
            seen: Mutex::new(HashMap::new()),
            counts: Default::default(),
            recorded: Mutex::new(Vec::new()),
            lost: Mutex::new(Vec::new()),
            sessions: Mutex::new(Vec::new()),
            requests: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            broken: AtomicU64::new(0),
            upstream_slots: Semaphore::new(plan.limits.max_upstream_exchanges.max(1)),
            plan,
        });
        let task = tokio::spawn(accept_loop(listener, upstream, shared.clone()));
        Ok(FaultProxy { addr, shared, task })
    }

    /// The proxy's base URL, `http://127.0.0.1:<port>` (no trailing slash).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The plan.
    pub fn plan(&self) -> &FaultPlan {
        &self.shared.plan
    }

    /// Replaces `name` (a run-unique bucket or container name) by `alias` in request identities,
    /// so that a replay with the same seed draws the same faults although its names differ.
    pub fn alias(&self, name: &str, alias: &str) {
        if let Ok(mut aliases) = self.shared.aliases.lock() {
            aliases.push((name.to_owned(), alias.to_owned()));
            // Longest first, so that a name containing another is replaced whole.
            aliases.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
        }
    }

    /// Turns injection on or off (off: a plain relay, for setup and checks through the proxy).
    pub fn set_enabled(&self, enabled: bool) {
        self.shared.enabled.store(enabled, Ordering::SeqCst);
    }

    /// How many faults of each kind were injected (every kind, zeros included).
    pub fn counts(&self) -> BTreeMap<FaultKind, u64> {
        FaultKind::ALL.iter().map(|k| (*k, self.shared.counts[k.index()].load(Ordering::SeqCst))).collect()
    }

    /// Every injected fault (the first 100,000), in the order they were injected.
    pub fn faults(&self) -> Vec<InjectedFault> {
        self.shared.recorded.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Exchanges the emulator answered whose answer did not reach the client whole (the first
    /// 100,000): after an injected reset, truncation or stall, or when the client went away.
    pub fn lost_answers(&self) -> Vec<LostAnswer> {
        self.shared.lost.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Every GCS resumable upload session the emulator opened through this proxy (the first
    /// 100,000), with how it ended.
    pub fn sessions(&self) -> Vec<SessionRecord> {
        self.shared.sessions.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Traffic counters.
    pub fn traffic(&self) -> TrafficCounts {
        TrafficCounts {
            requests: self.shared.requests.load(Ordering::SeqCst),
            forwarded: self.shared.forwarded.load(Ordering::SeqCst),
            broken: self.shared.broken.load(Ordering::SeqCst),
        }
    }
}

async fn accept_loop(listener: TcpListener, upstream: SocketAddr, shared: Arc<Shared>) {
    let limits = shared.plan.limits;
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Dropping the set (when this task ends or is aborted) aborts every connection task.
    let mut connections = JoinSet::new();
    let accept = async {
        loop {
            let Ok(permit) = permits.clone().acquire_owned().await else { return };
            let Ok((stream, _)) = listener.accept().await else { continue };
            // Reap finished connection tasks so the set does not grow.
            while connections.try_join_next().is_some() {}
            let shared = shared.clone();
            connections.spawn(async move {
                let _permit = permit;
                let _ = stream.set_nodelay(true);
                serve(stream, upstream, shared).await;
            });
        }
    };
    let _ = tokio::time::timeout(limits.lifetime, accept).await;
}

// ---------------------------------------------------------------------------------------------------
// Decisions
// ---------------------------------------------------------------------------------------------------

/// Query parameters whose values differ from run to run (server-chosen ids, signatures, opaque
/// tokens): only their names count in a request's identity.
const VOLATILE_PARAMS: &[&str] = &[
    "uploadid",
    "upload_id",
    "blockid",
    "continuation-token",
    "marker",
    "pagetoken",
    "sig",
    "se",
    "st",
    "upload_protocol",
];

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Deterministic draws for one request.
#[derive(Clone, Copy, Debug)]
struct Draws(u64);

impl Draws {
    fn bits(self, stream: u64) -> u64 {
        splitmix(self.0 ^ splitmix(stream))
    }

    fn unit(self, stream: u64) -> f64 {
        (self.bits(stream) >> 11) as f64 / (1u64 << 53) as f64
    }
}

const DRAW_REQUEST: u64 = 1;
const DRAW_RESPONSE: u64 = 2;
const DRAW_POSITION: u64 = 3;
const DRAW_RETRY_AFTER: u64 = 4;
const DRAW_MASK: u64 = 5;
const DRAW_STALL_WHERE: u64 = 6;

enum RequestFault {
    ResetBefore,
    ResetMidBody,
    Status(FaultKind),
}

enum ResponseFault {
    Truncate,
    Stall,
    Flip,
    ResetBefore,
    ResetMidBody,
}

impl Shared {
    fn record(&self, kind: FaultKind, request: &str, offset: Option<u64>) {
        self.counts[kind.index()].fetch_add(1, Ordering::SeqCst);
        if let Ok(mut r) = self.recorded.lock()
            && r.len() < MAX_RECORDED
        {
            r.push(InjectedFault { kind, request: request.chars().take(200).collect(), offset });
        }
    }

    fn normalise(&self, text: &str) -> String {
        let mut out = text.to_owned();
        if let Ok(aliases) = self.aliases.lock() {
            for (name, alias) in aliases.iter() {
                if out.contains(name.as_str()) {
                    out = out.replace(name.as_str(), alias);
                }
            }
        }
        out
    }

    /// The request's name for the fault log and its draws (seeded by its identity and how often it
    /// was seen before).
    fn identify(&self, head: &Head) -> (String, Draws) {
        let target = head.target();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let path = self.normalise(path);
        let mut params: Vec<String> = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                let lower = k.to_ascii_lowercase();
                if VOLATILE_PARAMS.contains(&lower.as_str()) || lower.starts_with("x-amz-") {
                    k.to_owned()
                } else {
                    format!("{k}={}", self.normalise(v))
                }
            })
            .collect();
        params.sort();
        let range = head.header("range").unwrap_or("");
        let identity = format!("{} {}?{}|{}", head.method(), path, params.join("&"), range);
        let nth = match self.seen.lock() {
            Ok(mut seen) => {
                if seen.len() >= MAX_IDENTITIES {
                    seen.clear();
                }
                let n = seen.entry(identity.clone()).or_insert(0);
                *n += 1;
                *n
            }
            Err(_) => 0,
        };
        let draws = Draws(splitmix(self.plan.seed ^ fnv1a(identity.as_bytes())) ^ splitmix(u64::from(nth)));
        (format!("{} {path}", head.method()), draws)
    }

    fn request_fault(&self, draws: Draws, has_body: bool) -> Option<RequestFault> {
        if !self.enabled.load(Ordering::SeqCst) {
            return None;
        }
        let r = &self.plan.rates;
        let u = draws.unit(DRAW_REQUEST);
        let with_retry_after = draws.unit(DRAW_RETRY_AFTER) < r.retry_after_share;
        let mut edge = r.reset_before_request;
        if u < edge {
            return Some(RequestFault::ResetBefore);
        }
        edge += r.reset_mid_request_body;
        if u < edge {
            return has_body.then_some(RequestFault::ResetMidBody);
        }
        for (rate, plain, with) in [
            (r.status_503, FaultKind::Status503, FaultKind::Status503RetryAfter),
            (r.status_500, FaultKind::Status500, FaultKind::Status500RetryAfter),
            (r.status_429, FaultKind::Status429, FaultKind::Status429RetryAfter),
        ] {
            edge += rate;
            if u < edge {
                return Some(RequestFault::Status(if with_retry_after { with } else { plain }));
            }
        }
        None
    }

    fn response_fault(&self, draws: Draws) -> Option<ResponseFault> {
        if !self.enabled.load(Ordering::SeqCst) {
            return None;
        }
        let r = &self.plan.rates;
        let u = draws.unit(DRAW_RESPONSE);
        // The newer kinds come last, so that a seed injects the older ones where it always did.
        let mut edge = 0.0;
        for (rate, fault) in [
            (r.truncated_body, ResponseFault::Truncate),
            (r.stall, ResponseFault::Stall),
            (r.flipped_byte, ResponseFault::Flip),
            (r.reset_before_response, ResponseFault::ResetBefore),
            (r.reset_mid_response_body, ResponseFault::ResetMidBody),
        ] {
            edge += rate;
            if u < edge {
                return Some(fault);
            }
        }
        None
    }

    /// Notes that the emulator's answer to `request` (status `status`) did not reach the client
    /// whole.
    fn lost_answer(&self, request: &Head, status: u16) {
        if let Ok(mut lost) = self.lost.lock()
            && lost.len() < MAX_RECORDED
        {
            lost.push(LostAnswer { request: self.exchange_name(request).chars().take(300).collect(), status });
        }
    }

    /// `METHOD path?names`: the normalised path and the sorted names of the query parameters.
    fn exchange_name(&self, head: &Head) -> String {
        let target = head.target();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let mut names: Vec<&str> =
            query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').map_or(p, |(k, _)| k)).collect();
        names.sort_unstable();
        let path = self.normalise(path);
        if names.is_empty() {
            format!("{} {path}", head.method())
        } else {
            format!("{} {path}?{}", head.method(), names.join("&"))
        }
    }

    /// Follows GCS resumable sessions through the emulator's answer to `request`: a session opened
    /// (its index in the table, to be marked delivered once the answer reached the client) or ended.
    fn track_session(&self, request: &Head, response: &Head) -> Option<usize> {
        let target = request.target();
        let status = response.status();
        let Ok(mut sessions) = self.sessions.lock() else { return None };
        if let Some(id) = query_param(target, "upload_id") {
            let end = match request.method() {
                "PUT" | "POST" if status == 200 || status == 201 => Some(SessionEnd::Completed),
                "DELETE" if !matches!(status, 429 | 500 | 502 | 503 | 504) => Some(SessionEnd::Cancelled),
                _ => None,
            };
            if let Some(end) = end
                && let Some(s) = sessions.iter_mut().find(|s| s.upload_id == id && s.end.is_none())
            {
                s.end = Some(end);
            }
            return None;
        }
        let resumable = request.method() == "POST" && query_param(target, "uploadType").as_deref() == Some("resumable");
        if !resumable || !(200..300).contains(&status) || sessions.len() >= MAX_RECORDED {
            return None;
        }
        let upload_id = response.header("location").and_then(|l| query_param(l, "upload_id"))?;
        let (path, _) = target.split_once('?').unwrap_or((target, ""));
        sessions.push(SessionRecord {
            upload_id,
            request: format!("POST {}", self.normalise(path)),
            object: query_param(target, "name").map(|n| self.normalise(&n)),
            delivered: false,
            end: None,
        });
        Some(sessions.len() - 1)
    }

    fn session_delivered(&self, index: Option<usize>) {
        if let Some(i) = index
            && let Ok(mut sessions) = self.sessions.lock()
            && let Some(s) = sessions.get_mut(i)
        {
            s.delivered = true;
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// HTTP/1.1 plumbing
// ---------------------------------------------------------------------------------------------------

/// A request or response head: the raw bytes (relayed verbatim) and the parsed start line and headers.
struct Head {
    raw: Bytes,
    start: [String; 3],
    headers: Vec<(String, String)>,
}

impl Head {
    fn parse(raw: Bytes) -> io::Result<Head> {
        let text = std::str::from_utf8(&raw).map_err(|_| invalid("a head is not UTF-8"))?;
        let mut lines = text.split("\r\n");
        let first = lines.next().unwrap_or("");
        let mut parts = first.splitn(3, ' ');
        let start = [
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
            parts.next().unwrap_or("").to_owned(),
        ];
        if start[1].is_empty() {
            return Err(invalid("a malformed start line"));
        }
        let mut headers = Vec::new();
        for line in lines.filter(|l| !l.is_empty()) {
            let (name, value) = line.split_once(':').ok_or_else(|| invalid("a malformed header line"))?;
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
        }
        Ok(Head { raw, start, headers })
    }

    fn method(&self) -> &str {
        &self.start[0]
    }

    fn target(&self) -> &str {
        &self.start[1]
    }

    fn status(&self) -> u16 {
        self.start[1].parse().unwrap_or(0)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    fn has_token(&self, name: &str, token: &str) -> bool {
        self.headers
            .iter()
            .filter(|(n, _)| n == name)
            .any(|(_, v)| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
    }

    /// How the body of this message is delimited.
    fn framing(&self, is_request: bool) -> io::Result<Framing> {
        if self.has_token("transfer-encoding", "chunked") {
            return Ok(Framing::Chunked);
        }
        if let Some(len) = self.header("content-length") {
            return len.parse().map(Framing::Length).map_err(|_| invalid("a malformed Content-Length"));
        }
        Ok(if is_request { Framing::Length(0) } else { Framing::UntilClose })
    }

    /// Whether the connection ends after this message: `Connection: close`, or HTTP/1.0 without
    /// `Connection: keep-alive` (the version is the first word of a status line, the last of a
    /// request line).
    fn wants_close(&self, is_request: bool) -> bool {
        let version = if is_request { &self.start[2] } else { &self.start[0] };
        self.has_token("connection", "close")
            || (version.eq_ignore_ascii_case("HTTP/1.0") && !self.has_token("connection", "keep-alive"))
    }
}

/// The first value of query parameter `name` in a request target or URL, percent-decoded.
fn query_param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    let raw = query.split('&').find_map(|p| {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        (k == name).then_some(v)
    })?;
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| char::from(b).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push(u8::try_from(h * 16 + l).unwrap_or(b'?'));
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Framing {
    Length(u64),
    Chunked,
    UntilClose,
}

/// One side of a relayed connection, with what was read but not yet consumed.
struct Peer {
    stream: TcpStream,
    buf: BytesMut,
    idle: Duration,
}

impl Peer {
    fn new(stream: TcpStream, idle: Duration) -> Self {
        Peer { stream, buf: BytesMut::with_capacity(IO_CHUNK), idle }
    }

    /// Reads more into the buffer; 0 at the end of the stream.
    async fn fill(&mut self) -> io::Result<usize> {
        self.buf.reserve(IO_CHUNK);
        match tokio::time::timeout(self.idle, self.stream.read_buf(&mut self.buf)).await {
            Ok(r) => r,
            Err(_) => Err(io::Error::new(io::ErrorKind::TimedOut, "idle connection")),
        }
    }

    /// The next head, or `None` when the peer closed the connection between messages.
    async fn read_head(&mut self) -> io::Result<Option<Head>> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                return Head::parse(self.buf.split_to(end + 4).freeze()).map(Some);
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("a head larger than 64 KiB"));
            }
            if self.fill().await? == 0 {
                return if self.buf.is_empty() {
                    Ok(None)
                } else {
                    Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the connection closed inside a head"))
                };
            }
        }
    }

    /// One line, CRLF included.
    async fn read_line(&mut self) -> io::Result<Bytes> {
        loop {
            if let Some(end) = find(&self.buf, b"\r\n") {
                return Ok(self.buf.split_to(end + 2).freeze());
            }
            if self.buf.len() > MAX_LINE {
                return Err(invalid("a chunk line longer than 4 KiB"));
            }
            if self.fill().await? == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the connection closed inside a chunk line"));
            }
        }
    }

    /// Up to `max` bytes (at least one), or empty at the end of the stream.
    async fn read_some(&mut self, max: usize) -> io::Result<Bytes> {
        if self.buf.is_empty() && self.fill().await? == 0 {
            return Ok(Bytes::new());
        }
        let take = self.buf.len().min(max);
        Ok(self.buf.split_to(take).freeze())
    }

    /// Whether a kept-alive connection is still usable: not closed by the peer, nothing unexpected
    /// waiting in it.
    fn still_open(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        matches!(self.stream.try_read_buf(&mut self.buf), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    /// Resets the connection (RST instead of FIN) by closing it with a zero linger.
    fn reset(self) {
        let _ = self.stream.set_zero_linger();
        drop(self.stream);
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// A fault to apply while relaying a body.
#[derive(Clone, Copy, Debug)]
enum BodyFault {
    None,
    /// Stop after this many body bytes (relative position: bits to be reduced modulo the length).
    CutAt(u64),
    /// Flip the byte at this position with `mask`.
    FlipAt(u64, u8),
}

/// How relaying a body ended.
#[derive(Debug)]
enum BodyEnd {
    /// The whole body went through; `Some(offset)` when a byte was flipped.
    Complete(Option<u64>),
    /// Relaying stopped after `offset` bytes, as the fault asked.
    Cut(u64),
}

/// Relays one body from `from` to `to`, applying `fault` at a position drawn from its bits
/// (modulo the body length; for chunked and read-until-close bodies, modulo the length of the
/// first chunk or read).
/// Which side of a relay failed.
#[derive(Debug)]
enum RelayError {
    /// Reading from the source (it closed, stalled past the idle timeout, or sent garbage).
    Read,
    /// Writing to the destination.
    Write,
}

async fn relay_body(
    from: &mut Peer,
    to: &mut TcpStream,
    framing: Framing,
    fault: BodyFault,
) -> Result<BodyEnd, RelayError> {
    let bits = match fault {
        BodyFault::None => None,
        BodyFault::CutAt(bits) | BodyFault::FlipAt(bits, _) => Some(bits),
    };
    let mut relay = Relay { fault, position: None, sent: 0, flipped: None };
    match framing {
        Framing::Length(len) => {
            relay.position = bits.and_then(|b| (len > 0).then(|| b % len));
            if !relay.data(from, to, len).await? {
                return Ok(BodyEnd::Cut(relay.sent));
            }
        }
        Framing::Chunked => loop {
            let line = from.read_line().await.map_err(|_| RelayError::Read)?;
            let size = chunk_size(&line).map_err(|_| RelayError::Read)?;
            if size == 0 {
                if matches!(fault, BodyFault::CutAt(_)) && relay.position.is_none() {
                    // An empty chunked body: cut before its terminator.
                    return Ok(BodyEnd::Cut(relay.sent));
                }
                to.write_all(&line).await.map_err(|_| RelayError::Write)?;
                loop {
                    let trailer = from.read_line().await.map_err(|_| RelayError::Read)?;
                    to.write_all(&trailer).await.map_err(|_| RelayError::Write)?;
                    if trailer.as_ref() == b"\r\n" {
                        break;
                    }
                }
                break;
            }
            if relay.position.is_none() {
                relay.position = bits.map(|b| relay.sent + b % size);
            }
            to.write_all(&line).await.map_err(|_| RelayError::Write)?;
            if !relay.data(from, to, size).await? {
                return Ok(BodyEnd::Cut(relay.sent));
            }
            let crlf = from.read_line().await.map_err(|_| RelayError::Read)?;
            if crlf.as_ref() != b"\r\n" {
                return Err(RelayError::Read);
            }
            to.write_all(&crlf).await.map_err(|_| RelayError::Write)?;
        },
        Framing::UntilClose => loop {
            if from.buf.is_empty() && from.fill().await.map_err(|_| RelayError::Read)? == 0 {
                break;
            }
            let available = from.buf.len() as u64;
            if relay.position.is_none() {
                relay.position = bits.map(|b| relay.sent + b % available);
            }
            if !relay.data(from, to, available).await? {
                return Ok(BodyEnd::Cut(relay.sent));
            }
        },
    }
    to.flush().await.map_err(|_| RelayError::Write)?;
    Ok(BodyEnd::Complete(relay.flipped))
}

/// The size on a chunk-size line (extensions ignored).
fn chunk_size(line: &[u8]) -> io::Result<u64> {
    let text = std::str::from_utf8(line).map_err(|_| invalid("a chunk-size line is not UTF-8"))?;
    let size = text.trim_end().split(';').next().unwrap_or("").trim();
    u64::from_str_radix(size, 16).map_err(|_| invalid("a malformed chunk size"))
}

/// The state of one body relay: the fault, where it strikes (in body bytes), what was sent.
struct Relay {
    fault: BodyFault,
    position: Option<u64>,
    sent: u64,
    flipped: Option<u64>,
}

impl Relay {
    /// Relays the next `len` data bytes, applying the fault; `Ok(false)` when the fault cut the
    /// body (everything before its position was relayed).
    async fn data(&mut self, from: &mut Peer, to: &mut TcpStream, len: u64) -> Result<bool, RelayError> {
        let end = self.sent + len;
        while self.sent < end {
            let want = usize::try_from(end - self.sent).unwrap_or(IO_CHUNK).min(IO_CHUNK);
            let mut chunk = from.read_some(want).await.map_err(|_| RelayError::Read)?;
            if chunk.is_empty() {
                return Err(RelayError::Read);
            }
            let n = chunk.len() as u64;
            if let Some(p) = self.position
                && (self.sent..self.sent + n).contains(&p)
            {
                let at = usize::try_from(p - self.sent).unwrap_or(0);
                match self.fault {
                    BodyFault::CutAt(_) => {
                        to.write_all(&chunk[..at]).await.map_err(|_| RelayError::Write)?;
                        to.flush().await.map_err(|_| RelayError::Write)?;
                        self.sent = p;
                        return Ok(false);
                    }
                    BodyFault::FlipAt(_, mask) => {
                        let mut owned = BytesMut::from(&chunk[..]);
                        owned[at] ^= mask;
                        chunk = owned.freeze();
                        self.flipped = Some(p);
                    }
                    BodyFault::None => {}
                }
            }
            to.write_all(&chunk).await.map_err(|_| RelayError::Write)?;
            self.sent += n;
        }
        Ok(true)
    }
}

/// Reads and drops one body (for requests answered by the proxy).
async fn drain_body(from: &mut Peer, framing: Framing) -> io::Result<()> {
    match framing {
        Framing::Length(mut left) => {
            while left > 0 {
                let chunk = from.read_some(usize::try_from(left).unwrap_or(IO_CHUNK).min(IO_CHUNK)).await?;
                if chunk.is_empty() {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the body ended early"));
                }
                left -= chunk.len() as u64;
            }
        }
        Framing::Chunked => loop {
            let size = chunk_size(&from.read_line().await?)?;
            if size == 0 {
                while from.read_line().await?.as_ref() != b"\r\n" {}
                break;
            }
            let mut left = size + 2;
            while left > 0 {
                let chunk = from.read_some(usize::try_from(left).unwrap_or(IO_CHUNK).min(IO_CHUNK)).await?;
                if chunk.is_empty() {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the body ended early"));
                }
                left -= chunk.len() as u64;
            }
        },
        Framing::UntilClose => while !from.read_some(IO_CHUNK).await?.is_empty() {},
    }
    Ok(())
}

/// The synthetic error response for `kind`, as `flavor` would send it (no body for HEAD).
fn synthetic_response(flavor: ErrorFlavor, kind: FaultKind, retry_after: Option<u32>, head_request: bool) -> Vec<u8> {
    let status = match kind {
        FaultKind::Status503 | FaultKind::Status503RetryAfter => 503,
        FaultKind::Status500 | FaultKind::Status500RetryAfter => 500,
        _ => 429,
    };
    let reason = match status {
        503 => "Service Unavailable",
        500 => "Internal Server Error",
        _ => "Too Many Requests",
    };
    let (content_type, code, body) = match (flavor, status) {
        (ErrorFlavor::S3, 503) => {
            ("application/xml", "SlowDown", s3_error("SlowDown", "Please reduce your request rate."))
        }
        (ErrorFlavor::S3, 500) => (
            "application/xml",
            "InternalError",
            s3_error("InternalError", "We encountered an internal error. Please try again."),
        ),
        (ErrorFlavor::S3, _) => {
            ("application/xml", "TooManyRequests", s3_error("TooManyRequests", "Too many requests."))
        }
        (ErrorFlavor::Azure, 503) => (
            "application/xml",
            "ServerBusy",
            azure_error("ServerBusy", "The server is currently unable to receive requests. Please retry your request."),
        ),
        (ErrorFlavor::Azure, 500) => (
            "application/xml",
            "InternalError",
            azure_error("InternalError", "The server encountered an internal error. Please retry the request."),
        ),
        (ErrorFlavor::Azure, _) => {
            ("application/xml", "TooManyRequests", azure_error("TooManyRequests", "Too many requests."))
        }
        (ErrorFlavor::Gcs, 503) => {
            ("application/json", "backendError", gcs_error(503, "backendError", "Backend Error"))
        }
        (ErrorFlavor::Gcs, 500) => {
            ("application/json", "internalError", gcs_error(500, "internalError", "Internal Error"))
        }
        (ErrorFlavor::Gcs, _) => (
            "application/json",
            "rateLimitExceeded",
            gcs_error(429, "rateLimitExceeded", "The rate of change requests is too high."),
        ),
    };
    let mut head = format!("HTTP/1.1 {status} {reason}\r\ncontent-type: {content_type}\r\n");
    match flavor {
        ErrorFlavor::S3 => head.push_str("x-amz-request-id: FAULTPROXY\r\nx-amz-id-2: fault-proxy\r\n"),
        ErrorFlavor::Azure => head
            .push_str(&format!("x-ms-request-id: 00000000-0000-0000-0000-000000000000\r\nx-ms-error-code: {code}\r\n")),
        ErrorFlavor::Gcs => head.push_str("x-guploader-uploadid: fault-proxy\r\n"),
    }
    if let Some(seconds) = retry_after {
        head.push_str(&format!("retry-after: {seconds}\r\n"));
    }
    let body = if head_request { String::new() } else { body };
    head.push_str(&format!("content-length: {}\r\n\r\n", if head_request { 0 } else { body.len() }));
    let mut out = head.into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

fn s3_error(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message>\
         <RequestId>FAULTPROXY</RequestId><HostId>fault-proxy</HostId></Error>"
    )
}

fn azure_error(code: &str, message: &str) -> String {
    format!(
        "\u{feff}<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>{code}</Code><Message>{message}\n\
         RequestId:00000000-0000-0000-0000-000000000000\nTime:2026-01-01T00:00:00.0000000Z</Message></Error>"
    )
}

fn gcs_error(status: u16, reason: &str, message: &str) -> String {
    format!(
        "{{\"error\":{{\"code\":{status},\"message\":\"{message}\",\"errors\":[{{\"message\":\"{message}\",\
         \"domain\":\"global\",\"reason\":\"{reason}\"}}]}}}}"
    )
}

/// Whether a response body is object data (not an XML/JSON protocol document).
fn is_object_data(head: &Head) -> bool {
    let ct = head.header("content-type").unwrap_or("").to_ascii_lowercase();
    !(ct.contains("xml") || ct.contains("json"))
}

/// Relays one client connection.
async fn serve(client: TcpStream, upstream_addr: SocketAddr, shared: Arc<Shared>) {
    let idle = shared.plan.limits.idle_timeout;
    let mut client = Peer::new(client, idle);
    let mut upstream: Option<Peer> = None;
    loop {
        let request = match client.read_head().await {
            Ok(Some(head)) => head,
            Ok(None) | Err(_) => return,
        };
        shared.requests.fetch_add(1, Ordering::SeqCst);
        let Ok(request_framing) = request.framing(true) else { return };
        let has_body = request_framing != Framing::Length(0);
        let (name, draws) = shared.identify(&request);
        let request_fault = shared.request_fault(draws, has_body);
        match request_fault {
            Some(RequestFault::ResetBefore) => {
                shared.record(FaultKind::ResetBeforeRequest, &name, None);
                client.reset();
                return;
            }
            Some(RequestFault::Status(kind)) => {
                if drain_body(&mut client, request_framing).await.is_err() {
                    return;
                }
                let retry_after = matches!(
                    kind,
                    FaultKind::Status503RetryAfter | FaultKind::Status500RetryAfter | FaultKind::Status429RetryAfter
                )
                .then(|| u32::try_from(draws.bits(DRAW_RETRY_AFTER) % 2).unwrap_or(0));
                let response = synthetic_response(shared.plan.flavor, kind, retry_after, request.method() == "HEAD");
                shared.record(kind, &name, None);
                if client.stream.write_all(&response).await.is_err() || client.stream.flush().await.is_err() {
                    return;
                }
                if request.wants_close(true) {
                    return;
                }
                continue;
            }
            _ => {}
        }

        // Forward the request (waiting for a slot when the emulator is at its limit).
        let Ok(slot) = shared.upstream_slots.acquire().await else { return };
        if !upstream.as_mut().is_some_and(|p| p.still_open()) {
            match tokio::time::timeout(idle, TcpStream::connect(upstream_addr)).await.unwrap_or_else(|_| {
                Err(io::Error::new(io::ErrorKind::TimedOut, "connecting to the emulator timed out"))
            }) {
                Ok(s) => {
                    let _ = s.set_nodelay(true);
                    upstream = Some(Peer::new(s, idle));
                }
                Err(_) => {
                    shared.broken.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            }
        }
        let Some(up) = upstream.as_mut() else { return };
        shared.forwarded.fetch_add(1, Ordering::SeqCst);
        if up.stream.write_all(&request.raw).await.is_err() {
            shared.broken.fetch_add(1, Ordering::SeqCst);
            return;
        }
        let body_fault = match request_fault {
            Some(RequestFault::ResetMidBody) => BodyFault::CutAt(draws.bits(DRAW_POSITION)),
            _ => BodyFault::None,
        };
        match relay_body(&mut client, &mut up.stream, request_framing, body_fault).await {
            Ok(BodyEnd::Cut(offset)) => {
                shared.record(FaultKind::ResetMidRequestBody, &name, Some(offset));
                client.reset();
                return;
            }
            Ok(BodyEnd::Complete(_)) => {}
            // The client went away mid-body: close the emulator's connection at once (a
            // single-threaded emulator would otherwise wait for the rest of the body).
            Err(RelayError::Read) => {
                shared.broken.fetch_add(1, Ordering::SeqCst);
                return;
            }
            // The emulator stopped reading: it may have answered early; relay that answer if any.
            Err(RelayError::Write) => {
                shared.broken.fetch_add(1, Ordering::SeqCst);
                if let Ok(Some(response)) = up.read_head().await {
                    let _ = client.stream.write_all(&response.raw).await;
                    if let Ok(framing) = response.framing(false) {
                        let _ = relay_body(up, &mut client.stream, framing, BodyFault::None).await;
                    }
                }
                return;
            }
        }

        // Relay the response (interim 1xx responses first).
        let response = loop {
            match up.read_head().await {
                Ok(Some(head)) if (100..200).contains(&head.status()) && head.status() != 101 => {
                    if client.stream.write_all(&head.raw).await.is_err() {
                        return;
                    }
                }
                Ok(Some(head)) => break head,
                Ok(None) | Err(_) => {
                    shared.broken.fetch_add(1, Ordering::SeqCst);
                    return;
                }
            }
        };
        let status = response.status();
        let session = shared.track_session(&request, &response);
        let no_body = request.method() == "HEAD" || status == 204 || status == 304;
        let framing = if no_body {
            Framing::Length(0)
        } else {
            match response.framing(false) {
                Ok(f) => f,
                Err(_) => {
                    shared.broken.fetch_add(1, Ordering::SeqCst);
                    shared.lost_answer(&request, status);
                    return;
                }
            }
        };
        let has_response_body = framing != Framing::Length(0);
        let response_fault = if request_fault.is_some() { None } else { shared.response_fault(draws) };
        let position_bits = draws.bits(DRAW_POSITION);
        let body_fault = match response_fault {
            Some(ResponseFault::Stall) if !has_response_body || draws.bits(DRAW_STALL_WHERE) % 2 == 0 => {
                // Hold the whole response: the client has sent its request and waits for the head.
                shared.record(FaultKind::Stall, &name, None);
                shared.lost_answer(&request, status);
                drop(slot);
                tokio::time::sleep(shared.plan.stall).await;
                return;
            }
            Some(ResponseFault::ResetBefore) => {
                // The emulator has answered (the request took effect); the client gets a reset
                // instead of the answer.
                shared.record(FaultKind::ResetBeforeResponse, &name, None);
                shared.lost_answer(&request, status);
                drop(slot);
                client.reset();
                return;
            }
            Some(ResponseFault::Stall | ResponseFault::Truncate | ResponseFault::ResetMidBody) if has_response_body => {
                BodyFault::CutAt(position_bits)
            }
            Some(ResponseFault::Flip)
                if has_response_body && (200..300).contains(&status) && is_object_data(&response) =>
            {
                let mask = u8::try_from(draws.bits(DRAW_MASK) % 255 + 1).unwrap_or(1);
                BodyFault::FlipAt(position_bits, mask)
            }
            _ => BodyFault::None,
        };
        if client.stream.write_all(&response.raw).await.is_err() {
            shared.lost_answer(&request, status);
            return;
        }
        match relay_body(up, &mut client.stream, framing, body_fault).await {
            Ok(BodyEnd::Cut(offset)) => {
                drop(slot);
                shared.lost_answer(&request, status);
                match response_fault {
                    Some(ResponseFault::Stall) => {
                        shared.record(FaultKind::Stall, &name, Some(offset));
                        tokio::time::sleep(shared.plan.stall).await;
                    }
                    Some(ResponseFault::ResetMidBody) => {
                        // RST after `offset` body bytes were written: bytes still in the proxy's
                        // send buffer are discarded with it, so the client may get fewer.
                        shared.record(FaultKind::ResetMidResponseBody, &name, Some(offset));
                        client.reset();
                    }
                    _ => {
                        shared.record(FaultKind::TruncatedBody, &name, Some(offset));
                        let _ = client.stream.shutdown().await;
                    }
                }
                return;
            }
            Ok(BodyEnd::Complete(flipped)) => {
                shared.session_delivered(session);
                if let Some(offset) = flipped {
                    shared.record(FaultKind::FlippedByte, &name, Some(offset));
                }
            }
            Err(_) => {
                shared.broken.fetch_add(1, Ordering::SeqCst);
                shared.lost_answer(&request, status);
                return;
            }
        }
        drop(slot);
        if framing == Framing::UntilClose || response.wants_close(false) {
            let _ = client.stream.shutdown().await;
            return;
        }
        if request.wants_close(true) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny upstream: answers every request with `body` (Content-Length, or chunked in 3-byte
    /// chunks), keep-alive, and counts the requests it saw.
    async fn upstream(body: &'static [u8], chunked: bool) -> (SocketAddr, Arc<AtomicU64>) {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(AtomicU64::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else { return };
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut peer = Peer::new(s, Duration::from_secs(10));
                    while let Ok(Some(head)) = peer.read_head().await {
                        let framing = head.framing(true).unwrap();
                        if drain_body(&mut peer, framing).await.is_err() {
                            return;
                        }
                        counter.fetch_add(1, Ordering::SeqCst);
                        let mut out = Vec::new();
                        if chunked {
                            out.extend_from_slice(
                                b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\n\r\n",
                            );
                            for c in body.chunks(3) {
                                out.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
                                out.extend_from_slice(c);
                                out.extend_from_slice(b"\r\n");
                            }
                            out.extend_from_slice(b"0\r\n\r\n");
                        } else {
                            out.extend_from_slice(
                                format!(
                                    "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {}\r\n\r\n",
                                    body.len()
                                )
                                .as_bytes(),
                            );
                            out.extend_from_slice(body);
                        }
                        if head.method() == "HEAD" {
                            continue;
                        }
                        peer.stream.write_all(&out).await.unwrap();
                    }
                });
            }
        });
        (addr, seen)
    }

    async fn exchange(proxy: &FaultProxy, request: &str) -> Vec<u8> {
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
        out
    }

    fn only(kind: FaultKind, rate: f64) -> FaultRates {
        let mut r = FaultRates::none();
        match kind {
            FaultKind::ResetBeforeRequest => r.reset_before_request = rate,
            FaultKind::ResetMidRequestBody => r.reset_mid_request_body = rate,
            FaultKind::ResetBeforeResponse => r.reset_before_response = rate,
            FaultKind::ResetMidResponseBody => r.reset_mid_response_body = rate,
            FaultKind::Status503 | FaultKind::Status503RetryAfter => r.status_503 = rate,
            FaultKind::Status500 | FaultKind::Status500RetryAfter => r.status_500 = rate,
            FaultKind::Status429 | FaultKind::Status429RetryAfter => r.status_429 = rate,
            FaultKind::TruncatedBody => r.truncated_body = rate,
            FaultKind::Stall => r.stall = rate,
            FaultKind::FlippedByte => r.flipped_byte = rate,
        }
        r
    }

    const GET: &str = "GET /b/k HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";

    #[tokio::test]
    async fn relays_keep_alive_exchanges_unchanged() {
        for chunked in [false, true] {
            let (up, seen) = upstream(b"hello, fault proxy", chunked).await;
            let proxy = FaultProxy::start(up, FaultPlan::new(1, ErrorFlavor::S3)).await.unwrap();
            let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
            let two = "PUT /b/k HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\n\r\nabcdeGET /b/k HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
            s.write_all(two.as_bytes()).await.unwrap();
            let mut out = Vec::new();
            s.read_to_end(&mut out).await.unwrap();
            let text = String::from_utf8(out).unwrap();
            assert_eq!(text.matches("HTTP/1.1 200 OK").count(), 2, "{text}");
            assert_eq!(seen.load(Ordering::SeqCst), 2);
            assert_eq!(proxy.traffic().forwarded, 2);
            assert!(proxy.counts().values().all(|n| *n == 0));
        }
    }

    #[tokio::test]
    async fn synthetic_statuses_are_answered_without_forwarding() {
        for (flavor, marker) in
            [(ErrorFlavor::S3, "SlowDown"), (ErrorFlavor::Azure, "ServerBusy"), (ErrorFlavor::Gcs, "503")]
        {
            let (up, seen) = upstream(b"data", false).await;
            let plan = FaultPlan::new(7, flavor).rates(only(FaultKind::Status503, 1.0));
            let proxy = FaultProxy::start(up, plan).await.unwrap();
            let text = String::from_utf8(exchange(&proxy, GET).await).unwrap();
            assert!(text.starts_with("HTTP/1.1 503 "), "{text}");
            assert!(text.contains(marker), "{text}");
            assert_eq!(seen.load(Ordering::SeqCst), 0, "never forwarded");
            let n503 = proxy.counts()[&FaultKind::Status503] + proxy.counts()[&FaultKind::Status503RetryAfter];
            assert_eq!(n503, 1);
        }
    }

    #[tokio::test]
    async fn truncation_and_flips_touch_bodies_only() {
        let body: &'static [u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        for chunked in [false, true] {
            let (up, _) = upstream(body, chunked).await;
            let proxy =
                FaultProxy::start(up, FaultPlan::new(3, ErrorFlavor::S3).rates(only(FaultKind::FlippedByte, 1.0)))
                    .await
                    .unwrap();
            let out = exchange(&proxy, GET).await;
            let split = find(&out, b"\r\n\r\n").unwrap() + 4;
            assert!(String::from_utf8_lossy(&out[..split]).starts_with("HTTP/1.1 200 OK"));
            let faults = proxy.faults();
            assert_eq!(faults.len(), 1, "{faults:?}");
            assert_eq!(faults[0].kind, FaultKind::FlippedByte);
            if !chunked {
                let got = &out[split..];
                assert_eq!(got.len(), body.len());
                let diffs = got.iter().zip(body).filter(|(a, b)| a != b).count();
                assert_eq!(diffs, 1);
            }

            let (up, _) = upstream(body, chunked).await;
            let proxy =
                FaultProxy::start(up, FaultPlan::new(3, ErrorFlavor::S3).rates(only(FaultKind::TruncatedBody, 1.0)))
                    .await
                    .unwrap();
            let out = exchange(&proxy, GET).await;
            let faults = proxy.faults();
            assert_eq!(faults.len(), 1);
            assert_eq!(faults[0].kind, FaultKind::TruncatedBody);
            if !chunked {
                let split = find(&out, b"\r\n\r\n").unwrap() + 4;
                assert!(out.len() - split < body.len());
            } else {
                assert!(!out.ends_with(b"0\r\n\r\n"));
            }
        }
    }

    #[tokio::test]
    async fn resets_and_stalls_close_the_connection() {
        let (up, seen) = upstream(b"data", false).await;
        let proxy =
            FaultProxy::start(up, FaultPlan::new(5, ErrorFlavor::Gcs).rates(only(FaultKind::ResetBeforeRequest, 1.0)))
                .await
                .unwrap();
        assert!(exchange(&proxy, GET).await.is_empty());
        assert_eq!(seen.load(Ordering::SeqCst), 0);

        let (up, seen) = upstream(b"data", false).await;
        let proxy =
            FaultProxy::start(up, FaultPlan::new(5, ErrorFlavor::Gcs).rates(only(FaultKind::ResetMidRequestBody, 1.0)))
                .await
                .unwrap();
        let put = "PUT /b/k HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n0123456789";
        assert!(exchange(&proxy, put).await.is_empty());
        assert_eq!(seen.load(Ordering::SeqCst), 0, "the emulator never got a whole request");
        assert_eq!(proxy.counts()[&FaultKind::ResetMidRequestBody], 1);

        let (up, _) = upstream(b"data", false).await;
        let plan =
            FaultPlan::new(5, ErrorFlavor::Gcs).rates(only(FaultKind::Stall, 1.0)).stall(Duration::from_millis(300));
        let proxy = FaultProxy::start(up, plan).await.unwrap();
        let started = std::time::Instant::now();
        let out = exchange(&proxy, GET).await;
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert!(out.len() < 70, "the response never completes: {}", String::from_utf8_lossy(&out));
        assert_eq!(proxy.counts()[&FaultKind::Stall], 1);
    }

    /// Reads until the end of the stream or an error: what arrived, and how it ended.
    async fn read_until_end(s: &mut TcpStream) -> (Vec<u8>, io::Result<()>) {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
                Err(_) => return (out, Err(io::Error::new(io::ErrorKind::TimedOut, "neither an end nor an error"))),
                Ok(Ok(0)) => return (out, Ok(())),
                Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
                Ok(Err(e)) => return (out, Err(e)),
            }
        }
    }

    async fn get_through(proxy: &FaultProxy) -> (Vec<u8>, io::Result<()>) {
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        s.write_all(GET.as_bytes()).await.unwrap();
        read_until_end(&mut s).await
    }

    /// The response-side resets are TCP resets: the client's read fails with ECONNRESET (after the
    /// head and part of the body for a mid-body reset), where a truncation ends with a clean EOF.
    #[tokio::test]
    async fn response_resets_reach_the_client_as_connection_resets() {
        let body: &'static [u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let (up, seen) = upstream(body, false).await;
        let plan = FaultPlan::new(11, ErrorFlavor::S3).rates(only(FaultKind::ResetBeforeResponse, 1.0));
        let proxy = FaultProxy::start(up, plan).await.unwrap();
        let (got, end) = get_through(&proxy).await;
        assert!(got.is_empty(), "nothing of the answer: {}", String::from_utf8_lossy(&got));
        assert_eq!(end.map_err(|e| e.kind()), Err(io::ErrorKind::ConnectionReset));
        assert_eq!(seen.load(Ordering::SeqCst), 1, "the emulator got and answered the request");
        assert_eq!(proxy.counts()[&FaultKind::ResetBeforeResponse], 1);
        assert_eq!(proxy.lost_answers(), [LostAnswer { request: "GET /b/k".to_owned(), status: 200 }]);

        for chunked in [false, true] {
            let (up, seen) = upstream(body, chunked).await;
            let plan = FaultPlan::new(11, ErrorFlavor::S3).rates(only(FaultKind::ResetMidResponseBody, 1.0));
            let proxy = FaultProxy::start(up, plan).await.unwrap();
            let (got, end) = get_through(&proxy).await;
            assert!(got.starts_with(b"HTTP/1.1 200 OK"), "the head arrives: {}", String::from_utf8_lossy(&got));
            assert_eq!(end.map_err(|e| e.kind()), Err(io::ErrorKind::ConnectionReset), "chunked: {chunked}");
            let split = find(&got, b"\r\n\r\n").unwrap() + 4;
            if chunked {
                assert!(!got.ends_with(b"0\r\n\r\n"), "the body never ends");
            } else {
                assert!(got.len() - split < body.len(), "part of the body at most");
            }
            let faults = proxy.faults();
            assert_eq!(faults.len(), 1, "{faults:?}");
            assert_eq!(faults[0].kind, FaultKind::ResetMidResponseBody);
            assert!(faults[0].offset.is_some_and(|o| o < body.len() as u64));
            assert_eq!(seen.load(Ordering::SeqCst), 1);
            assert_eq!(proxy.lost_answers().len(), 1);

            // A truncation of the same body, by contrast, is a clean end of the stream (FIN).
            let (up, _) = upstream(body, chunked).await;
            let plan = FaultPlan::new(11, ErrorFlavor::S3).rates(only(FaultKind::TruncatedBody, 1.0));
            let proxy = FaultProxy::start(up, plan).await.unwrap();
            let (got, end) = get_through(&proxy).await;
            assert!(got.starts_with(b"HTTP/1.1 200 OK"));
            assert!(end.is_ok(), "truncation ends with FIN, not a reset: {end:?}");
            assert_eq!(proxy.counts()[&FaultKind::TruncatedBody], 1);
        }

        // Without faults nothing is lost.
        let (up, _) = upstream(body, false).await;
        let proxy = FaultProxy::start(up, FaultPlan::new(11, ErrorFlavor::S3)).await.unwrap();
        let (got, end) = get_through(&proxy).await;
        assert!(end.is_ok() && got.ends_with(body));
        assert!(proxy.lost_answers().is_empty());
    }

    /// An upstream answering each request with `answer(method, target)` (a whole response, which
    /// must carry its own framing), keep-alive.
    async fn scripted_upstream(answer: fn(&str, &str) -> String) -> SocketAddr {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            loop {
                let Ok((s, _)) = listener.accept().await else { return };
                tokio::spawn(async move {
                    let mut peer = Peer::new(s, Duration::from_secs(10));
                    while let Ok(Some(head)) = peer.read_head().await {
                        if drain_body(&mut peer, head.framing(true).unwrap()).await.is_err() {
                            return;
                        }
                        let out = answer(head.method(), head.target());
                        peer.stream.write_all(out.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        addr
    }

    /// The GCS session ledger: sessions opened by `uploadType=resumable` POSTs (their `upload_id`
    /// from `Location`, percent-decoded), ended by a final `PUT` answered 200 or an answered
    /// `DELETE`; a session whose opening answer was lost is marked undelivered.
    #[tokio::test]
    async fn resumable_sessions_are_followed_from_opening_to_end() {
        fn gcs(method: &str, target: &str) -> String {
            match (method, query_param(target, "upload_id")) {
                ("POST", None) => {
                    let name = query_param(target, "name").unwrap_or_default();
                    format!(
                        "HTTP/1.1 200 OK\r\nlocation: http://127.0.0.1/upload/storage/v1/b/bkt/o?uploadType=resumable\
                         &name={name}&upload_id=id%2B{name}\r\ncontent-length: 0\r\n\r\n"
                    )
                }
                ("PUT", Some(_)) => {
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}".to_owned()
                }
                // A transient failure does not end the session.
                ("DELETE", Some(id)) if id == "id+c" => {
                    "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n".to_owned()
                }
                // gcp-storage-emulator has no route for a session DELETE.
                _ => "HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\n\r\n".to_owned(),
            }
        }
        let up = scripted_upstream(gcs).await;
        let proxy = FaultProxy::start(up, FaultPlan::new(1, ErrorFlavor::Gcs)).await.unwrap();
        proxy.alias("bkt", "bucket");
        let open = |name: &str| {
            format!(
                "POST /upload/storage/v1/b/bkt/o?uploadType=resumable&name={name} HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{{}}"
            )
        };
        for name in ["a", "b", "c"] {
            let out = exchange(&proxy, &open(name)).await;
            assert!(out.starts_with(b"HTTP/1.1 200 OK"));
        }
        let put = "PUT /upload/storage/v1/b/bkt/o?uploadType=resumable&name=a&upload_id=id%2Ba HTTP/1.1\r\nhost: x\r\ncontent-length: 1\r\nconnection: close\r\n\r\nx";
        exchange(&proxy, put).await;
        let delete = "DELETE /upload/storage/v1/b/bkt/o?uploadType=resumable&upload_id=id%2Bb HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n";
        exchange(&proxy, delete).await;
        exchange(&proxy, &delete.replace("id%2Bb", "id%2Bc")).await;
        let sessions = proxy.sessions();
        let summary: Vec<(&str, Option<&str>, bool, Option<SessionEnd>)> =
            sessions.iter().map(|s| (s.upload_id.as_str(), s.object.as_deref(), s.delivered, s.end)).collect();
        assert_eq!(
            summary,
            [
                ("id+a", Some("a"), true, Some(SessionEnd::Completed)),
                ("id+b", Some("b"), true, Some(SessionEnd::Cancelled)),
                ("id+c", Some("c"), true, None),
            ]
        );
        assert_eq!(sessions[0].request, "POST /upload/storage/v1/b/bucket/o");

        // The opening answer lost to a reset: the session exists, the client never learned it.
        let plan = FaultPlan::new(1, ErrorFlavor::Gcs).rates(only(FaultKind::ResetBeforeResponse, 1.0));
        let proxy = FaultProxy::start(up, plan).await.unwrap();
        assert!(exchange(&proxy, &open("d")).await.is_empty());
        let sessions = proxy.sessions();
        assert_eq!(sessions.len(), 1);
        assert!(!sessions[0].delivered && sessions[0].end.is_none(), "{sessions:?}");
        assert_eq!(
            proxy.lost_answers(),
            [LostAnswer { request: "POST /upload/storage/v1/b/bkt/o?name&uploadType".to_owned(), status: 200 }]
        );
    }

    #[test]
    fn query_parameters_are_found_and_decoded() {
        assert_eq!(query_param("/o?a=1&upload_id=x%2By%20z&b", "upload_id").as_deref(), Some("x+y z"));
        assert_eq!(query_param("/o?a=1&b", "b").as_deref(), Some(""));
        assert_eq!(query_param("/o?a=%zz%2", "a").as_deref(), Some("%zz%2"));
        assert_eq!(query_param("/o?a=1", "upload_id"), None);
        assert_eq!(query_param("/o", "a"), None);
    }

    #[tokio::test]
    async fn decisions_are_deterministic_per_seed_and_request() {
        let mut runs = Vec::new();
        for _ in 0..2 {
            let (up, _) = upstream(b"data", false).await;
            let proxy =
                FaultProxy::start(up, FaultPlan::new(99, ErrorFlavor::S3).rates(only(FaultKind::Status500, 0.5)))
                    .await
                    .unwrap();
            let mut outcomes = Vec::new();
            for i in 0..40 {
                let req = format!("GET /b/k{i} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
                outcomes.push(String::from_utf8(exchange(&proxy, &req).await).unwrap().starts_with("HTTP/1.1 500"));
            }
            runs.push(outcomes);
        }
        assert_eq!(runs[0], runs[1]);
        let hits = runs[0].iter().filter(|h| **h).count();
        assert!((8..=32).contains(&hits), "about half of 40: {hits}");
    }

    #[tokio::test]
    async fn refuses_non_loopback_upstreams() {
        let e =
            FaultProxy::start("192.0.2.1:80".parse().unwrap(), FaultPlan::new(1, ErrorFlavor::S3)).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }
}
