//! The fault-injection suite (issue 15): cloudkit's provider clients and `ObjectStore` backends
//! talk to the emulators through [`FaultProxy`] (tests/src/fault.rs), which injects connection
//! resets (TCP RST before and in the middle of request bodies, after the emulator answered and in
//! the middle of response bodies), synthetic 503/500/429 (with and without `Retry-After`),
//! truncated bodies, stalls longer than the read-idle timeout and flipped bytes in object data, at
//! seeded rates.
//!
//! Backends: S3 on s3s-fs and on moto, Azure Blob on Azurite, GCS on gcp-storage-emulator, all four
//! at once. Workloads on each, through the provider client and through `ObjectStore`:
//! 1. 1,100 small objects (0 B – 320 KiB) written (half client, half store), so that listings
//!    span more than one 1,000-key page;
//! 2. 300 of them read back (half client, half store);
//! 3. listings of those keys (client with 100-key pages and the default; store);
//! 4. three uploads of 20–40 MiB (client from a file, client from memory, store from a stream:
//!    S3 multipart, Azure blocks, GCS resumable), then downloads of each, twice: to a file and to
//!    memory through the client (parallel ranged GETs on S3 and Azure; GCS's client has no parallel
//!    download, so one stream), to a file through the store (`ObjectStore::download_file`: the
//!    same parallel ranged GETs pinned to the first ETag on S3 and Azure, the resumed `get` stream
//!    on GCS), and a whole-object `get` stream through the store (ranges composed by the test
//!    itself would be unverifiable, since checksums cover whole objects);
//! 5. deletes of the keys that exist (S3 DeleteObjects of 100 keys / one delete per key on Azure
//!    and GCS, and the store's bulk `delete_stream`).
//!
//! Every operation runs in its own task and must either succeed with byte-identical data (SHA-256
//! against the source; listings against the emulator's own listing; writes and deletes against
//! what the emulator holds afterwards, read straight from it without the proxy) or fail with the
//! crate's typed error within its time budget (the operation timeouts on its critical path plus a
//! margin, measured). Afterwards: no files but the finished downloads in the download directory, no
//! S3 multipart upload left (ListMultipartUploads on moto, s3s-fs's data directory on s3s-fs), no
//! uncommitted Azure block (Get Block List), no GCS resumable session left open (the proxy's
//! ledger), and no panic. A table per backend is printed; the test fails on any corruption, leftover,
//! panic or budget overrun, or when fewer than 2,000 operations ran.
//!
//! Replay: the seed is printed; `CLOUDKIT_FAULT_SEED=<seed>` runs the same faults again (the
//! default seed is fixed, so CI is deterministic up to the interleaving of concurrent requests).
//! Run: `cargo test -p cloudkit-tests --test integration fault_injection:: -- --nocapture`.
//!
//! What the public API cannot check, and how the suite checks it anyway:
//! - GCS resumable sessions left open after a failed upload (the JSON API has no call that lists
//!   them): the proxy follows every session the emulator opens (the `uploadType=resumable` POST
//!   answered with a `Location`) to its end (a `PUT` answered 200/201, or an answered `DELETE`);
//! - multipart uploads on s3s-fs (it answers ListMultipartUploads with 501): read from its data
//!   directory (`target/testbed/s3s-data`, where `scripts/testbed.sh` starts it; when the emulator
//!   was started elsewhere this check is skipped with a note);
//! - Azure's uncommitted blocks: Get Block List sent through the client's own pipeline (the client
//!   has no call for it).
//!
//! An upload or session opened by a request whose answer the proxy lost (a reset after the
//! emulator answered, a truncated or stalled answer) has an id no client ever received, so none
//! can abort it: as many of those as the proxy lost such answers for are printed as notes, not
//! leftovers.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stdout)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use cloudkit::store::{
    AzureBlobStore, DownloadOptions as StoreDownloadOptions, GcsStore, ObjectKey, ObjectStore, ObjectStoreExt, S3Store,
    UploadOptions as StoreUploadOptions,
};
use cloudkit_aws_s3::{PaginationConfig, S3Client, TransferConfig, TransferManager};
use cloudkit_azure_blob::{
    BlobListEntry, BlobServiceClient, ContainerClient, DeleteSnapshots, DownloadOptions, UploadOptions,
};
use cloudkit_core::testing::TempDir;
use cloudkit_core::{
    HttpClientConfig, HttpRequest, HttpSend, Method, Operation, ReqwestSend, RetryConfig, StatusCode, TimeoutConfig,
    md5_base64,
};
use cloudkit_cred_chain::gcp::{GcpConfig, GcpEnv};
use cloudkit_gcp_storage::{StorageClient, UploadType};
use cloudkit_tests::fault::{ErrorFlavor, FaultKind, FaultPlan, FaultProxy, FaultRates, SessionEnd};
use cloudkit_tests::testbed::{self, Emulator};
use cloudkit_tests::{XorShift32, aws, azure, gcs, hex, sha256_hex, unique_name};
use futures::{StreamExt, TryStreamExt};

/// The variable that sets the seed (decimal or `0x` hex).
const SEED_VAR: &str = "CLOUDKIT_FAULT_SEED";
/// The seed CI uses.
const DEFAULT_SEED: u64 = 0x0015_C10D_FA17;

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

/// The clients' read-idle timeout: a stall longer than this must be an error, not a hang.
const READ_IDLE: Duration = Duration::from_secs(2);
/// How long the proxy holds a stalled response.
const STALL: Duration = Duration::from_secs(3);
/// The clients' attempt timeout.
const ATTEMPT: Duration = Duration::from_secs(10);
/// The clients' operation timeout (all attempts of one request).
const OPERATION: Duration = Duration::from_secs(20);
/// Allowance on top of a budget: scheduling on a loaded 2-core machine, local file I/O.
const MARGIN: Duration = Duration::from_secs(5);
/// How long past its budget an operation may run before the suite gives up on it (and drops it).
const HANG_GRACE: Duration = Duration::from_secs(60);
/// How long the leftover checks wait for background cleanups (aborts, session cancellations of
/// dropped uploads) to end.
const CLEANUP_WAIT: Duration = Duration::from_secs(60);

/// Small objects written per backend (more than one listing page of 1,000), gcp-storage-emulator
/// included: it rewrites its whole state (every bucket and object of the session, as indented
/// JSON) on each write, so 1,100 writes there take about 70 s alone and 2–4 minutes next to the
/// other backends on a 2-core machine, which the suite's wall time absorbs (the other backends
/// take as long); its bucket gets no soft delete, so that deletes shrink that state.
const SMALL_OBJECTS: usize = 1_100;
/// Small objects read back per backend.
const SMALL_READS: usize = 300;
/// Operations in flight per backend (gcp-storage-emulator is single-threaded: fewer there).
const CONCURRENCY: usize = 16;
const GCS_CONCURRENCY: usize = 4;
/// Writes in flight on gcp-storage-emulator: as many as the proxy forwards at once, so that a
/// write's attempt timeout is not spent queueing behind slow writes of the emulator.
const GCS_WRITE_CONCURRENCY: usize = GCS_UPSTREAM_EXCHANGES;
/// Requests the proxy forwards to gcp-storage-emulator at once: it serves one at a time and its
/// listen backlog holds 5 connections, so more would be dropped at the TCP level.
const GCS_UPSTREAM_EXCHANGES: usize = 2;
/// Part / block / chunk size of the large transfers, and their parallelism.
const PART: usize = 8 * MIB;
const PARTS_IN_FLIGHT: usize = 4;
/// The large objects: (name, size, how it is uploaded).
const LARGE: [(&str, usize, LargeHow); 3] = [
    ("large/from-file.bin", 24 * MIB + 12_345, LargeHow::ClientFile),
    ("large/from-memory.bin", 40 * MIB + 777, LargeHow::ClientBytes),
    ("large/from-store.bin", 20 * MIB + 1, LargeHow::Store),
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum LargeHow {
    ClientFile,
    ClientBytes,
    Store,
}

fn seed() -> u64 {
    match std::env::var(SEED_VAR) {
        Ok(v) => {
            let v = v.trim();
            let parsed = match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => v.parse(),
            };
            parsed.unwrap_or_else(|e| panic!("{SEED_VAR}={v:?} is not a u64 ({e})"))
        }
        Err(_) => DEFAULT_SEED,
    }
}

fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn rates() -> FaultRates {
    FaultRates {
        reset_before_request: 0.01,
        reset_mid_request_body: 0.01,
        status_503: 0.01,
        status_500: 0.01,
        status_429: 0.01,
        retry_after_share: 0.5,
        truncated_body: 0.01,
        stall: 0.004,
        // Applies to object-data bodies only, a minority of the responses.
        flipped_byte: 0.02,
        // After the emulator answered: the request took effect, the client sees a reset.
        reset_before_response: 0.005,
        // Responses with a body only (object data, listings, XML/JSON results).
        reset_mid_response_body: 0.01,
    }
}

/// The transport of every client under test: a short read-idle timeout.
fn http() -> Arc<dyn HttpSend> {
    let config = HttpClientConfig {
        read_idle_timeout: READ_IDLE,
        connect_timeout: Duration::from_secs(2),
        ..HttpClientConfig::default()
    };
    ReqwestSend::shared(&config).unwrap()
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig { attempt: Some(ATTEMPT), operation: Some(OPERATION) }
}

/// Four attempts, short backoff, no retry quota (the suite's fault rate would drain it and turn
/// every later fault into a failure: that is a property of the quota, not of the code under test).
fn retry() -> RetryConfig {
    RetryConfig::standard()
        .with_max_attempts(4)
        .with_initial_backoff(Duration::from_millis(50))
        .with_max_backoff(Duration::from_secs(1))
        .with_quota(false)
}

/// The budget of an operation with `sequential` requests on its critical path, each of which may
/// also stream a body that stalls once per attempt.
fn budget(sequential: u32) -> Duration {
    (OPERATION + READ_IDLE * 2) * sequential + MARGIN
}

fn upstream_addr(endpoint: &str) -> SocketAddr {
    let url = reqwest::Url::parse(endpoint).unwrap();
    let host = url.host_str().unwrap();
    format!("{host}:{}", url.port_or_known_default().unwrap()).parse().unwrap()
}

/// `E`'s short type name and the whole error chain, one line.
fn typed<E: std::error::Error + 'static>(e: E) -> String {
    let name = std::any::type_name::<E>().rsplit("::").next().unwrap_or("error").to_owned();
    let mut out = format!("{name}: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !out.contains(&text) {
            let _ = write!(out, ": {text}");
        }
        source = s.source();
    }
    out
}

// ---------------------------------------------------------------------------------------------------
// Bookkeeping
// ---------------------------------------------------------------------------------------------------

/// How one operation ended.
#[derive(Debug)]
enum Verdict {
    /// Done, and its data checked out.
    Ok,
    /// A typed error.
    Failed(String),
    /// Reported success with wrong data.
    Corrupt(String),
}

#[derive(Default)]
struct OpStats {
    ok: u64,
    failed: u64,
    corrupt: u64,
    errors: BTreeMap<String, u64>,
}

#[derive(Default)]
struct Report {
    ops: BTreeMap<&'static str, OpStats>,
    corruptions: Vec<String>,
    leftovers: Vec<String>,
    overruns: Vec<String>,
    panics: Vec<String>,
    notes: Vec<String>,
    failed_but_stored: u64,
    phases: Vec<(String, Duration)>,
}

/// An error message with digits and hex runs folded, so that equal causes group together.
fn error_class(message: &str) -> String {
    let mut out = String::new();
    let mut in_num = false;
    for c in message.chars().take(240) {
        if c.is_ascii_digit() {
            if !in_num {
                out.push('#');
            }
            in_num = true;
        } else {
            in_num = false;
            out.push(c);
        }
    }
    out
}

struct Suite {
    report: Mutex<Report>,
}

impl Suite {
    fn tally(&self, op: &'static str, item: &str, verdict: &Verdict) {
        let mut r = self.report.lock().unwrap();
        match verdict {
            Verdict::Ok => r.ops.entry(op).or_default().ok += 1,
            Verdict::Failed(e) => {
                let s = r.ops.entry(op).or_default();
                s.failed += 1;
                *s.errors.entry(error_class(e)).or_default() += 1;
            }
            Verdict::Corrupt(what) => {
                r.ops.entry(op).or_default().corrupt += 1;
                r.corruptions.push(format!("{op} {item}: {what}"));
            }
        }
    }

    fn corruption(&self, what: String) {
        self.report.lock().unwrap().corruptions.push(what);
    }

    fn leftover(&self, what: String) {
        self.report.lock().unwrap().leftovers.push(what);
    }

    fn note(&self, what: String) {
        self.report.lock().unwrap().notes.push(what);
    }

    /// Runs `op` on every item, each in its own task, `concurrency` at a time; checks panics and
    /// budgets, tallies verdicts, and returns which items succeeded.
    async fn run<T, F, Fut>(
        &self,
        name: &'static str,
        budget: Duration,
        concurrency: usize,
        items: Vec<T>,
        op: F,
    ) -> Vec<(T, bool)>
    where
        T: Clone + std::fmt::Debug + Send + 'static,
        F: Fn(T) -> Fut,
        Fut: Future<Output = Verdict> + Send + 'static,
    {
        let results: Vec<_> = futures::stream::iter(items.into_iter().map(|item| {
            let fut = op(item.clone());
            async move {
                let handle = tokio::spawn(async move {
                    let started = Instant::now();
                    let verdict = tokio::time::timeout(budget + HANG_GRACE, fut).await;
                    (verdict, started.elapsed())
                });
                (item, handle.await)
            }
        }))
        .buffer_unordered(concurrency)
        .collect()
        .await;
        let mut out = Vec::new();
        for (item, joined) in results {
            let label = format!("{item:?}");
            let ok =
                match joined {
                    Err(e) if e.is_panic() => {
                        let what = e
                            .into_panic()
                            .downcast::<String>()
                            .map(|s| *s)
                            .or_else(|p| p.downcast::<&str>().map(|s| (*s).to_owned()))
                            .unwrap_or_else(|_| "a non-string payload".to_owned());
                        self.report.lock().unwrap().panics.push(format!("{name} {label}: {what}"));
                        false
                    }
                    Err(e) => {
                        self.report.lock().unwrap().panics.push(format!("{name} {label}: task failed: {e}"));
                        false
                    }
                    Ok((Err(_), elapsed)) => {
                        self.report.lock().unwrap().overruns.push(format!(
                            "{name} {label}: still running after {elapsed:.1?} (budget {budget:?}); dropped"
                        ));
                        false
                    }
                    Ok((Ok(verdict), elapsed)) => {
                        if elapsed > budget {
                            self.report.lock().unwrap().overruns.push(format!(
                                "{name} {label}: took {elapsed:.1?} (budget {budget:?}), ended {verdict:?}"
                            ));
                        }
                        self.tally(name, &label, &verdict);
                        matches!(verdict, Verdict::Ok)
                    }
                };
            out.push((item, ok));
        }
        out
    }
}

/// A check made straight against the emulator (no proxy, no faults), tried up to 5 times: a
/// loaded emulator may time out once. Panics when it never works (the test bed is broken).
async fn direct_retry<T, F, Fut>(what: &str, call: F) -> T
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let mut last = String::new();
    for _ in 0..5 {
        match call().await {
            Ok(v) => return v,
            Err(e) => last = e,
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    panic!("could not {what} on the emulator itself (no proxy): {last}")
}

/// The MD5 of `data`, lowercase hex.
fn md5_hex(data: &[u8]) -> String {
    hex(&BASE64.decode(md5_base64(data)).unwrap())
}

/// Ends a phase: notes how long it took (printed with the table, for tuning the suite's size).
fn phase(suite: &Suite, name: &str, start: &mut Instant) {
    suite.report.lock().unwrap().phases.push((name.to_owned(), start.elapsed()));
    *start = Instant::now();
}

fn check_bytes(got: &[u8], want: &[u8]) -> Verdict {
    if got.len() == want.len() && sha256_hex(got) == sha256_hex(want) {
        Verdict::Ok
    } else {
        Verdict::Corrupt(format!(
            "{} bytes with SHA-256 {}…, expected {} bytes with {}…",
            got.len(),
            &sha256_hex(got)[..12],
            want.len(),
            &sha256_hex(want)[..12]
        ))
    }
}

fn verdict_of<T>(r: Result<T, String>, check: impl FnOnce(T) -> Verdict) -> Verdict {
    match r {
        Ok(v) => check(v),
        Err(e) => Verdict::Failed(e),
    }
}

// ---------------------------------------------------------------------------------------------------
// The clients
// ---------------------------------------------------------------------------------------------------

/// One provider client (through the proxy, or straight to the emulator for checks).
#[derive(Clone)]
enum Client {
    S3 { client: S3Client, transfers: TransferManager, bucket: String },
    Azure { container: ContainerClient },
    Gcs { client: StorageClient, bucket: String },
}

impl Client {
    fn s3(client: S3Client, bucket: &str) -> Client {
        let config = TransferConfig::default()
            .with_part_size(PART as u64)
            .with_multipart_threshold(PART as u64)
            .with_concurrency(PARTS_IN_FLIGHT);
        Client::S3 {
            transfers: TransferManager::with_config(client.clone(), config),
            client,
            bucket: bucket.to_owned(),
        }
    }

    fn azure_upload_options() -> UploadOptions {
        UploadOptions { block_size: PART, concurrency: PARTS_IN_FLIGHT, ..UploadOptions::default() }
    }

    fn azure_download_options() -> DownloadOptions {
        DownloadOptions { chunk_size: PART as u64, concurrency: PARTS_IN_FLIGHT, ..DownloadOptions::default() }
    }

    async fn put(&self, key: &str, data: Bytes) -> Result<(), String> {
        match self {
            Client::S3 { client, bucket, .. } => {
                client.put_object(bucket, key).body(data).send().await.map(drop).map_err(typed)
            }
            Client::Azure { container } => container.blob_client(key).put(data).send().await.map(drop).map_err(typed),
            Client::Gcs { client, bucket } => {
                client.insert_object(bucket, key).send_bytes(data).await.map(drop).map_err(typed)
            }
        }
    }

    /// One whole-object GET.
    async fn get(&self, key: &str) -> Result<Bytes, String> {
        match self {
            Client::S3 { client, bucket, .. } => {
                client.get_object(bucket, key).send().await.map_err(typed)?.collect().await.map_err(typed)
            }
            Client::Azure { container } => {
                container.blob_client(key).get().send().await.map_err(typed)?.bytes().await.map_err(typed)
            }
            Client::Gcs { client, bucket } => {
                client.download_object(bucket, key).send().await.map_err(typed)?.bytes().await.map_err(typed)
            }
        }
    }

    /// What the emulator holds under `key` (`None`: nothing).
    async fn stored(&self, key: &str) -> Result<Option<Bytes>, String> {
        let not_found = match self {
            Client::S3 { client, bucket, .. } => match client.get_object(bucket, key).send().await {
                Ok(out) => return out.collect().await.map(Some).map_err(typed),
                Err(e) => e.is_not_found().then_some(()).ok_or_else(|| typed(e)),
            },
            Client::Azure { container } => match container.blob_client(key).get().send().await {
                Ok(out) => return out.bytes().await.map(Some).map_err(typed),
                Err(e) => (e.status() == Some(StatusCode::NOT_FOUND)).then_some(()).ok_or_else(|| typed(e)),
            },
            Client::Gcs { client, bucket } => match client.download_object(bucket, key).send().await {
                Ok(out) => return out.bytes().await.map(Some).map_err(typed),
                Err(e) => (e.status() == Some(StatusCode::NOT_FOUND)).then_some(()).ok_or_else(|| typed(e)),
            },
        };
        not_found.map(|()| None)
    }

    /// The names under `prefix`, in listing order (duplicates kept, so a listing that repeats a key
    /// is seen).
    async fn list(&self, prefix: &str, page_size: Option<u32>) -> Result<Vec<String>, String> {
        Ok(self.entries(prefix, page_size).await?.into_iter().map(|(name, _)| name).collect())
    }

    /// Size and MD5 (lowercase hex, when the listing carries it) of every object under `prefix`.
    async fn digests(&self, prefix: &str) -> Result<BTreeMap<String, (u64, Option<String>)>, String> {
        Ok(self.entries(prefix, None).await?.into_iter().collect())
    }

    /// Name, size and MD5 (lowercase hex, when the listing carries it) of every object under
    /// `prefix`, in listing order, with pages of `page_size` (the client's default without).
    async fn entries(
        &self,
        prefix: &str,
        page_size: Option<u32>,
    ) -> Result<Vec<(String, (u64, Option<String>))>, String> {
        let mut config = PaginationConfig::default();
        if let Some(n) = page_size {
            config = config.page_size(n);
        }
        let from_base64 = |b: &str| BASE64.decode(b).ok().map(|d| hex(&d));
        match self {
            Client::S3 { client, bucket, .. } => client
                .list_objects_v2(bucket)
                .prefix(prefix)
                .into_objects(config)
                .map_ok(|o| {
                    let etag = o.e_tag.unwrap_or_default().trim_matches('"').to_ascii_lowercase();
                    let md5 = (etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())).then_some(etag);
                    (o.key, (o.size, md5))
                })
                .try_collect()
                .await
                .map_err(typed),
            Client::Azure { container } => container
                .list_blobs()
                .prefix(prefix)
                .into_items(config)
                .try_filter_map(|e| async move {
                    Ok(match e {
                        BlobListEntry::Blob(b) => {
                            let md5 = b.content_md5.as_deref().and_then(from_base64);
                            Some((b.name, (b.size, md5)))
                        }
                        _ => None,
                    })
                })
                .try_collect()
                .await
                .map_err(typed),
            Client::Gcs { client, bucket } => client
                .list_objects(bucket)
                .prefix(prefix)
                .into_items(config)
                .map_ok(|o| {
                    let md5 = o.md5_hash.as_deref().and_then(from_base64);
                    (o.name, (o.size.unwrap_or(0), md5))
                })
                .try_collect()
                .await
                .map_err(typed),
        }
    }

    /// Deletes every object, then the bucket or container (straight to the emulator, after the
    /// run: gcp-storage-emulator rewrites its whole state on every write, so leaving objects behind
    /// slows every later test).
    async fn remove_everything(&self) -> Result<(), String> {
        match self {
            Client::S3 { client, bucket, .. } => {
                let keys = self.list("", None).await?;
                for chunk in keys.chunks(1000) {
                    client
                        .delete_objects(bucket)
                        .keys(chunk.iter().cloned())
                        .quiet(true)
                        .send()
                        .await
                        .map_err(typed)?;
                }
                client.delete_bucket(bucket).await.map_err(typed)
            }
            Client::Azure { container } => container.delete().await.map_err(typed),
            Client::Gcs { client, bucket } => {
                for key in self.list("", None).await? {
                    self.delete(&key).await?;
                }
                client.delete_bucket(bucket).await.map_err(typed)
            }
        }
    }

    /// A bulk delete: S3 DeleteObjects (per-key results); one delete per key elsewhere.
    async fn delete_many(&self, keys: Vec<String>) -> Vec<(String, Result<(), String>)> {
        match self {
            Client::S3 { client, bucket, .. } => {
                match client.delete_objects(bucket).keys(keys.iter().cloned()).quiet(true).send().await {
                    Ok(out) => {
                        let failed: BTreeMap<String, String> = out
                            .errors
                            .into_iter()
                            .map(|e| (e.key.clone(), format!("DeleteObjects per-key error: {e:?}")))
                            .collect();
                        keys.into_iter()
                            .map(|k| {
                                let r = failed.get(&k).cloned().map_or(Ok(()), Err);
                                (k, r)
                            })
                            .collect()
                    }
                    Err(e) => {
                        let e = typed(e);
                        keys.into_iter().map(|k| (k, Err(e.clone()))).collect()
                    }
                }
            }
            _ => {
                let mut out = Vec::new();
                for k in keys {
                    let r = self.delete(&k).await;
                    out.push((k, r));
                }
                out
            }
        }
    }

    async fn delete(&self, key: &str) -> Result<(), String> {
        match self {
            Client::S3 { client, bucket, .. } => {
                client.delete_object(bucket, key).send().await.map(drop).map_err(typed)
            }
            Client::Azure { container } => {
                container.blob_client(key).delete(DeleteSnapshots::None, &Default::default()).await.map_err(typed)
            }
            Client::Gcs { client, bucket } => client.delete_object(bucket, key).send().await.map_err(typed),
        }
    }

    async fn upload_large(&self, key: &str, how: LargeHow, data: Bytes, file: &Path) -> Result<(), String> {
        match (self, how) {
            (Client::S3 { transfers, bucket, .. }, LargeHow::ClientFile) => {
                transfers.upload_file(file, bucket, key).send().await.map(drop).map_err(typed)
            }
            (Client::S3 { transfers, bucket, .. }, _) => {
                transfers.upload_bytes(bucket, key, data).send().await.map(drop).map_err(typed)
            }
            (Client::Azure { container }, LargeHow::ClientFile) => container
                .blob_client(key)
                .upload_file(file, Self::azure_upload_options())
                .await
                .map(drop)
                .map_err(typed),
            (Client::Azure { container }, _) => container
                .blob_client(key)
                .upload_bytes(data, Self::azure_upload_options())
                .await
                .map(drop)
                .map_err(typed),
            (Client::Gcs { client, bucket }, LargeHow::ClientFile) => client
                .insert_object(bucket, key)
                .upload_type(UploadType::Resumable)
                .chunk_size(PART)
                .send_file(file)
                .await
                .map(drop)
                .map_err(typed),
            (Client::Gcs { client, bucket }, _) => client
                .insert_object(bucket, key)
                .upload_type(UploadType::Resumable)
                .chunk_size(PART)
                .send_bytes(data)
                .await
                .map(drop)
                .map_err(typed),
        }
    }

    /// Parallel ranged download into a file (S3 TransferManager, Azure ranged download; GCS has no
    /// parallel download: `Blob::download_to_filename`, one stream).
    async fn download_to_file(&self, key: &str, path: &Path) -> Result<(), String> {
        match self {
            Client::S3 { transfers, bucket, .. } => {
                transfers.download_file(bucket, key, path).await.map(drop).map_err(typed)
            }
            Client::Azure { container } => container
                .blob_client(key)
                .download_to_file(path, Self::azure_download_options())
                .await
                .map(drop)
                .map_err(typed),
            Client::Gcs { client, bucket } => {
                client.bucket(bucket.clone()).blob(key).download_to_filename(path).await.map(drop).map_err(typed)
            }
        }
    }

    /// Download into memory: parallel ranged GETs on S3 (TransferManager) and Azure; GCS has no
    /// parallel download, so one whole-object stream (`Blob::download_as_bytes`). Ranges composed
    /// by the caller would be unverifiable (checksums cover whole objects), so the suite does not
    /// compose its own.
    async fn download_to_memory(&self, key: &str) -> Result<Bytes, String> {
        match self {
            Client::S3 { transfers, bucket, .. } => transfers.download(bucket, key).to_bytes().await.map_err(typed),
            Client::Azure { container } => {
                container.blob_client(key).download_to_bytes(Self::azure_download_options()).await.map_err(typed)
            }
            Client::Gcs { client, bucket } => {
                client.bucket(bucket.clone()).blob(key).download_as_bytes().await.map_err(typed)
            }
        }
    }

    /// Uploads left unfinished after failed uploads of `keys` (straight to the emulator), as
    /// (key, what): S3 multipart uploads in the bucket (from s3s-fs's data directory when
    /// `s3s_data` is given: s3s-fs answers ListMultipartUploads with 501); Azure uncommitted
    /// blocks of each key; `None` on GCS (the JSON API cannot list resumable sessions: the proxy
    /// follows them instead, see [`FaultProxy::sessions`]).
    async fn unfinished_uploads(
        &self,
        keys: &[&str],
        s3s_data: Option<&Path>,
    ) -> Option<Result<Vec<(String, String)>, String>> {
        match self {
            Client::S3 { bucket, .. } if s3s_data.is_some() => {
                Some(s3s_open_uploads(s3s_data.unwrap_or(Path::new("")), bucket).map(|uploads| {
                    uploads
                        .into_iter()
                        .map(|(key, id)| {
                            (key.clone(), format!("multipart upload {id} of {key} (s3s-fs data directory)"))
                        })
                        .collect()
                }))
            }
            Client::S3 { client, bucket, .. } => Some(
                client
                    .list_multipart_uploads(bucket)
                    .into_items(PaginationConfig::default())
                    .map_ok(|u| (u.key.clone(), format!("multipart upload {} of {}", u.upload_id, u.key)))
                    .try_collect()
                    .await
                    .map_err(typed),
            ),
            Client::Azure { container } => {
                let mut out = Vec::new();
                for key in keys {
                    match uncommitted_blocks(container, key).await {
                        Ok(0) => {}
                        Ok(n) => out.push(((*key).to_owned(), format!("{n} uncommitted block(s) of {key}"))),
                        Err(e) => return Some(Err(e)),
                    }
                }
                Some(Ok(out))
            }
            Client::Gcs { .. } => None,
        }
    }
}

/// Get Block List (`blocklisttype=uncommitted`) through the client's own pipeline (signing, error
/// parsing): the client has no call for it. Returns the number of uncommitted blocks.
async fn uncommitted_blocks(container: &ContainerClient, key: &str) -> Result<usize, String> {
    let mut url = container.blob_client(key).url().map_err(typed)?;
    url.query_pairs_mut().append_pair("comp", "blocklist").append_pair("blocklisttype", "uncommitted");
    let mut request = HttpRequest::new(Method::GET, url);
    request.insert_header("x-ms-version", "2021-08-06").map_err(|e| e.to_string())?;
    match container.service().pipeline().send_buffered(&Operation::new("GetBlockList"), request).await {
        Ok(r) => Ok(String::from_utf8_lossy(&r.body).matches("<Block>").count()),
        Err(e) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(0),
        Err(e) => Err(typed(e)),
    }
}

/// s3s-fs's data directory as `scripts/testbed.sh` sets it up (`target/testbed/s3s-data`, next
/// to the env file), when it is the one serving `bucket` (a directory per bucket); `None` when the
/// emulator was started some other way.
fn s3s_data_dir(bucket: &str) -> Option<PathBuf> {
    let dir = testbed::Testbed::global().env_file().parent()?.join("s3s-data");
    dir.join(bucket).is_dir().then_some(dir)
}

/// The multipart uploads of `bucket` that s3s-fs (0.14) holds open in its data directory, as
/// (key, upload id). s3s-fs writes `.upload-<id>.json` when it creates an upload and removes it
/// when the upload is completed or aborted; the upload's attributes sit in
/// `.bucket-<base64url(bucket)>.object-<base64url(key)>.upload-<id>.metadata.json` from its
/// creation (written after the marker) until its end (removed after the marker on completion,
/// before it on abort), which names the bucket and the key. Open = both files are there.
fn s3s_open_uploads(data: &Path, bucket: &str) -> Result<Vec<(String, String)>, String> {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let prefix = format!(".bucket-{}.object-", URL_SAFE_NO_PAD.encode(bucket));
    let entries = std::fs::read_dir(data).map_err(|e| format!("cannot read {}: {e}", data.display()))?;
    let mut open = Vec::new();
    for entry in entries {
        let name = entry.map_err(|e| format!("cannot read {}: {e}", data.display()))?.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let Some((key, id)) = rest.strip_suffix(".metadata.json").and_then(|r| r.split_once(".upload-")) else {
            continue;
        };
        if data.join(format!(".upload-{id}.json")).exists() {
            let name = URL_SAFE_NO_PAD.decode(key).map(|k| String::from_utf8_lossy(&k).into_owned());
            open.push((name.unwrap_or_else(|_| format!("<undecodable {key}>")), id.to_owned()));
        }
    }
    open.sort();
    Ok(open)
}

// ---------------------------------------------------------------------------------------------------
// One backend
// ---------------------------------------------------------------------------------------------------

struct Backend {
    suite: Arc<Suite>,
    concurrency: usize,
    /// Small writes in flight.
    write_concurrency: usize,
    small: usize,
    proxy: FaultProxy,
    client: Client,
    direct: Client,
    store: Arc<dyn ObjectStore>,
    dir: TempDir,
    seed: u64,
    /// s3s-fs's data directory, where its open multipart uploads can be seen.
    s3s_data: Option<PathBuf>,
}

/// Deterministic small object `i` of a backend.
fn small_object(seed: u64, i: usize) -> (String, Bytes) {
    let h = mix(seed ^ (i as u64).wrapping_mul(0x2545_f491_4f6c_dd1d));
    let size = match h % 20 {
        0 => 0,
        1 => 64 * KIB + (h >> 8) as usize % (256 * KIB),
        _ => (h >> 8) as usize % (8 * KIB),
    };
    let data = XorShift32::new((h >> 32) as u32 | 1).bytes(size);
    (format!("small/k{i:05}"), Bytes::from(data))
}

async fn s3_backend(suite: Arc<Suite>, seed: u64, emulator: Emulator) -> Backend {
    let (key_id, secret, direct) = match emulator {
        Emulator::S3s => {
            let (k, s) = aws::s3s_keys();
            (k, s, aws::s3s_s3_client(aws::s3s_credentials(), None).await)
        }
        _ => (aws::MOTO_ACCESS_KEY_ID.to_owned(), aws::MOTO_SECRET_ACCESS_KEY.to_owned(), aws::moto_s3_client().await),
    };
    let bucket = aws::create_bucket(&direct, "ck-fault").await;
    let proxy = start_proxy(emulator, seed, ErrorFlavor::S3, &bucket).await;
    let config = aws::aws_config(&proxy.url(), &key_id, &secret).await;
    let client = S3Client::builder(&config).http(http()).retry(retry()).timeouts(timeouts()).build().unwrap();
    let store: Arc<dyn ObjectStore> = Arc::new(S3Store::new(client.clone(), &bucket));
    let mut backend = backend(suite, proxy, Client::s3(client, &bucket), Client::s3(direct, &bucket), store, seed);
    if emulator == Emulator::S3s {
        backend.s3s_data = s3s_data_dir(&bucket);
    }
    backend
}

async fn azure_backend(suite: Arc<Suite>, seed: u64) -> Backend {
    let direct_service = azure::blob_service().await;
    let name = unique_name("ck-fault");
    let direct = direct_service.container_client(&name);
    direct.create().send().await.unwrap_or_else(|e| panic!("cannot create container {name} on Azurite: {e}"));
    let proxy = start_proxy(Emulator::Azurite, seed, ErrorFlavor::Azure, &name).await;
    let mut endpoint = reqwest::Url::parse(&testbed::endpoint(Emulator::Azurite)).unwrap();
    endpoint.set_port(Some(proxy.addr().port())).unwrap();
    let service = BlobServiceClient::builder(&azure::config().await)
        .endpoint(endpoint)
        .http(http())
        .retry(retry())
        .timeouts(timeouts())
        .build()
        .unwrap();
    let container = service.container_client(&name);
    let store: Arc<dyn ObjectStore> = Arc::new(AzureBlobStore::new(container.clone()));
    backend(suite, proxy, Client::Azure { container }, Client::Azure { container: direct }, store, seed)
}

async fn gcs_backend(suite: Arc<Suite>, seed: u64) -> Backend {
    let direct = gcs::storage_client().await;
    let bucket = gcs::create_bucket(&direct, "ck-fault").await;
    // No soft delete (straight to the emulator, which honours the policy): a delete then takes the
    // object out of the state the emulator rewrites on every write, instead of moving it to a
    // soft-deleted list that stays until the bucket is removed.
    let patched = testbed::http_client()
        .patch(format!("{}/storage/v1/b/{bucket}", testbed::endpoint(Emulator::Gcs)))
        .header("content-type", "application/json")
        .body(r#"{"softDeletePolicy":{"retentionDurationSeconds":"0"}}"#)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status);
    if let Err(e) = patched {
        panic!("could not turn soft delete off on {bucket}: {e}");
    }
    let proxy = start_proxy(Emulator::Gcs, seed, ErrorFlavor::Gcs, &bucket).await;
    let config = GcpConfig::loader()
        .env(GcpEnv::from_pairs([("STORAGE_EMULATOR_HOST", proxy.url().as_str())]))
        .load()
        .await
        .unwrap();
    let client = StorageClient::builder(&config).http(http()).retry(retry()).timeouts(timeouts()).build().unwrap();
    assert!(client.is_emulator());
    let store: Arc<dyn ObjectStore> = Arc::new(GcsStore::new(client.clone(), &bucket));
    let client = Client::Gcs { client, bucket: bucket.clone() };
    backend(suite, proxy, client, Client::Gcs { client: direct, bucket }, store, seed)
}

async fn start_proxy(emulator: Emulator, seed: u64, flavor: ErrorFlavor, bucket: &str) -> FaultProxy {
    let mut plan = FaultPlan::new(seed, flavor).rates(rates()).stall(STALL);
    if emulator == Emulator::Gcs {
        plan.limits.max_upstream_exchanges = GCS_UPSTREAM_EXCHANGES;
    }
    let proxy = FaultProxy::start(upstream_addr(&testbed::endpoint(emulator)), plan).await.unwrap();
    proxy.alias(bucket, "bucket");
    proxy
}

fn backend(
    suite: Arc<Suite>,
    proxy: FaultProxy,
    client: Client,
    direct: Client,
    store: Arc<dyn ObjectStore>,
    seed: u64,
) -> Backend {
    let dir = TempDir::new("fault-downloads").unwrap();
    let gcs = matches!(client, Client::Gcs { .. });
    let concurrency = if gcs { GCS_CONCURRENCY } else { CONCURRENCY };
    let write_concurrency = if gcs { GCS_WRITE_CONCURRENCY } else { CONCURRENCY };
    let small = SMALL_OBJECTS;
    Backend { suite, concurrency, write_concurrency, small, proxy, client, direct, store, dir, seed, s3s_data: None }
}

/// The large sources, shared by every backend: their bytes and a file with the same bytes.
struct Sources {
    large: Vec<(String, Bytes, PathBuf, LargeHow)>,
    _dir: TempDir,
}

fn sources(seed: u64) -> Sources {
    let dir = TempDir::new("fault-sources").unwrap();
    let large = LARGE
        .iter()
        .enumerate()
        .map(|(i, (name, size, how))| {
            let data = Bytes::from(XorShift32::new((mix(seed ^ i as u64) as u32) | 1).bytes(*size));
            let path = dir.join(format!("source-{i}.bin"));
            std::fs::write(&path, &data).unwrap();
            ((*name).to_owned(), data, path, *how)
        })
        .collect();
    Sources { large, _dir: dir }
}

impl Backend {
    /// GCS resumable sessions left open, from the proxy's ledger of every session the emulator
    /// opened (the JSON API cannot list them): one neither completed nor cancelled is a leftover,
    /// unless the answer that opened it was lost to an injected fault (the client never learned
    /// its URL, so it could not cancel it).
    fn check_gcs_sessions(&self) {
        let (mut completed, mut cancelled, mut unheard) = (0, 0, 0);
        let sessions = self.proxy.sessions();
        for s in &sessions {
            let object = s.object.as_deref().unwrap_or("?");
            match (s.end, s.delivered) {
                (Some(SessionEnd::Completed), _) => completed += 1,
                (Some(SessionEnd::Cancelled), _) => cancelled += 1,
                (None, false) => {
                    unheard += 1;
                    self.suite.note(format!(
                        "GCS resumable session {} of {object}: opened by a request whose answer was lost to an \
                         injected fault (the client never got its URL); not counted as a leftover",
                        s.upload_id
                    ));
                }
                (None, true) => self.suite.leftover(format!(
                    "GCS resumable session {} of {object} neither completed nor cancelled",
                    s.upload_id
                )),
            }
        }
        self.suite.note(format!(
            "GCS: {} resumable sessions followed by the proxy: {completed} completed, {cancelled} cancelled, \
             {unheard} never known to the client",
            sessions.len()
        ));
    }

    async fn run(&self, sources: &Sources) {
        let suite = &self.suite;
        let seed = self.seed;
        let concurrency = self.concurrency;
        let small = self.small;
        let mut phase_start = Instant::now();

        // 1. Small writes: even keys through the client, odd ones through the store.
        let indices: Vec<usize> = (0..small).collect();
        let client = self.client.clone();
        let store = self.store.clone();
        let written = suite
            .run("put small", budget(1), self.write_concurrency, indices, move |i| {
                let (key, data) = small_object(seed, i);
                let (client, store) = (client.clone(), store.clone());
                async move {
                    let r = if i % 2 == 0 {
                        client.put(&key, data).await
                    } else {
                        let k = ObjectKey::parse(key.as_str()).unwrap();
                        store.put(&k, data).await.map(drop).map_err(typed)
                    };
                    verdict_of(r, |()| Verdict::Ok)
                }
            })
            .await;
        // What a write reported is checked against what the emulator holds: size and MD5 from its
        // own listing (every emulator records the MD5 of a single-request write), a GET where the
        // listing has no MD5.
        phase(suite, "put small", &mut phase_start);
        let held = direct_retry("list the small objects", || self.direct.digests("small/")).await;
        let mut unlisted = Vec::new();
        for (i, ok) in &written {
            let (key, data) = small_object(seed, *i);
            match (held.get(&key), ok) {
                (None, true) => suite.corruption(format!("put {key} reported success but the object is missing")),
                (None, false) => {}
                (Some((_, None)), _) => unlisted.push((key, data, *ok)),
                (Some((size, Some(md5))), ok) => {
                    let same = *size == data.len() as u64 && *md5 == md5_hex(&data);
                    match (same, ok) {
                        (true, true) => {}
                        (true, false) => suite.report.lock().unwrap().failed_but_stored += 1,
                        (false, true) => suite.corruption(format!(
                            "put {key} reported success but the emulator holds {size} bytes with MD5 {md5} \
                             instead of {} bytes with {}",
                            data.len(),
                            md5_hex(&data)
                        )),
                        (false, false) => suite.corruption(format!(
                            "put {key} failed and the emulator holds a different object ({size} bytes, {} written)",
                            data.len()
                        )),
                    }
                }
            }
        }
        let direct = self.direct.clone();
        let fetched: Vec<_> = futures::stream::iter(unlisted)
            .map(|(key, data, ok)| {
                let direct = direct.clone();
                async move {
                    let held = direct.stored(&key).await;
                    (key, data, ok, held)
                }
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        if !fetched.is_empty() {
            suite.note(format!("{} writes checked by a GET: the listing carries no MD5", fetched.len()));
        }
        for (key, data, ok, held) in fetched {
            match held {
                Err(e) => suite.note(format!("could not read {key} back from the emulator: {e}")),
                Ok(Some(b)) if b != data => suite.corruption(format!(
                    "put {key} (which {}) left {} bytes in the emulator instead of the {} written",
                    if ok { "reported success" } else { "failed" },
                    b.len(),
                    data.len()
                )),
                Ok(Some(_)) if !ok => suite.report.lock().unwrap().failed_but_stored += 1,
                _ => {}
            }
        }
        phase(suite, "check writes", &mut phase_start);

        // 2. Small reads of written objects: alternately client and store.
        let readable: Vec<usize> = written.iter().filter(|(_, ok)| *ok).map(|(i, _)| *i).take(SMALL_READS).collect();
        let client = self.client.clone();
        let store = self.store.clone();
        suite
            .run("get small", budget(1), concurrency, readable, move |i| {
                let (key, data) = small_object(seed, i);
                let (client, store) = (client.clone(), store.clone());
                async move {
                    let r = if i % 4 < 2 {
                        client.get(&key).await
                    } else {
                        let k = ObjectKey::parse(key.as_str()).unwrap();
                        match store.get(&k).await {
                            Ok(g) => g.bytes().await.map_err(typed),
                            Err(e) => Err(typed(e)),
                        }
                    };
                    verdict_of(r, |b| check_bytes(&b, &data))
                }
            })
            .await;

        phase(suite, "get small", &mut phase_start);
        // 3. Listings, checked against the emulator's own listing.
        let truth: BTreeSet<String> =
            direct_retry("list the small objects", || self.direct.list("small/", None)).await.into_iter().collect();
        if truth.len() <= 1_000 {
            suite.note(format!("{} small objects exist: listings span 100-key pages, not 1,000-key ones", truth.len()));
        }
        let truth = Arc::new(truth);
        let client = self.client.clone();
        let store = self.store.clone();
        let pages = (small / 100 + 1) as u32;
        suite
            .run("list", budget(pages), 4, vec!["client/100", "client/default", "store/1", "store/2"], move |how| {
                let (client, store, truth) = (client.clone(), store.clone(), truth.clone());
                async move {
                    let r = match how {
                        "client/100" => client.list("small/", Some(100)).await,
                        "client/default" => client.list("small/", None).await,
                        _ => {
                            let prefix = ObjectKey::parse("small").unwrap();
                            store.list(&prefix).map_ok(|m| m.key.to_string()).try_collect().await.map_err(typed)
                        }
                    };
                    verdict_of(r, |keys| {
                        let got: BTreeSet<String> = keys.iter().cloned().collect();
                        if got.len() != keys.len() {
                            Verdict::Corrupt(format!("{} keys listed, {} distinct", keys.len(), got.len()))
                        } else if got != *truth {
                            let missing = truth.difference(&got).take(3).cloned().collect::<Vec<_>>();
                            let extra = got.difference(&truth).take(3).cloned().collect::<Vec<_>>();
                            Verdict::Corrupt(format!(
                                "{} keys listed, {} exist; missing e.g. {missing:?}, unexpected e.g. {extra:?}",
                                got.len(),
                                truth.len()
                            ))
                        } else {
                            Verdict::Ok
                        }
                    })
                }
            })
            .await;

        phase(suite, "list", &mut phase_start);
        // 4. Large uploads, then parallel ranged downloads of every large object that exists.
        let parts = |size: usize| size.div_ceil(PART).div_ceil(PARTS_IN_FLIGHT) as u32;
        let large: Vec<usize> = (0..sources.large.len()).collect();
        let client = self.client.clone();
        let store = self.store.clone();
        let sources_large = Arc::new(sources.large.clone());
        let max_size = LARGE.iter().map(|l| l.1).max().unwrap_or(0);
        // Create + parts in waves + commit; GCS sends its chunks one after another and may resume.
        let upload_budget = budget(2 + max_size.div_ceil(PART) as u32 + 5);
        let src = sources_large.clone();
        let uploaded = suite
            .run("upload large", upload_budget, 3, large, move |i| {
                let (client, store, src) = (client.clone(), store.clone(), src.clone());
                async move {
                    let (key, data, path, how) = src[i].clone();
                    let r = match how {
                        LargeHow::Store => {
                            let k = ObjectKey::parse(key.as_str()).unwrap();
                            let chunks: Vec<std::io::Result<Bytes>> = (0..data.len())
                                .step_by(MIB)
                                .map(|a| Ok(data.slice(a..(a + MIB).min(data.len()))))
                                .collect();
                            let options = StoreUploadOptions {
                                part_size: Some(PART),
                                concurrency: PARTS_IN_FLIGHT,
                                ..StoreUploadOptions::default()
                            };
                            store
                                .upload(&k, futures::stream::iter(chunks).boxed(), options)
                                .await
                                .map(drop)
                                .map_err(typed)
                        }
                        how => client.upload_large(&key, how, data, &path).await,
                    };
                    verdict_of(r, |()| Verdict::Ok)
                }
            })
            .await;
        // Keys whose object is there in full, whatever the upload reported.
        let mut stored_in_full: BTreeSet<usize> = BTreeSet::new();
        for (i, ok) in &uploaded {
            let (key, data, _, _) = &sources.large[*i];
            let stored = self.direct.stored(key).await;
            if matches!(&stored, Ok(Some(b)) if b == data) {
                stored_in_full.insert(*i);
            }
            match (stored, ok) {
                (Err(e), _) => suite.note(format!("could not read {key} back from the emulator: {e}")),
                (Ok(None), true) => {
                    suite.corruption(format!("upload {key} reported success but the object is missing"))
                }
                (Ok(Some(b)), true) if b != *data => suite.corruption(format!(
                    "upload {key} reported success but the emulator holds {} bytes (SHA-256 {}…) instead of {}",
                    b.len(),
                    &sha256_hex(&b)[..12],
                    data.len()
                )),
                (Ok(Some(b)), false) if b != *data => {
                    suite.corruption(format!("upload {key} failed and the emulator holds a different object"))
                }
                (Ok(Some(_)), false) => suite.report.lock().unwrap().failed_but_stored += 1,
                _ => {}
            }
        }
        // The issue's rule: nothing left behind after a *failed* upload. After a commit, Azure
        // can still show an uncommitted block: a Put Block attempt that timed out on the client
        // reaches the service after the commit (no client can prevent that; the service drops
        // such blocks after a week). Those are noted, not counted as leftovers, for every upload
        // whose blob is there in full — also one that reported a failure because the answer to
        // its commit was lost (counted under "failed but stored"). S3's listing is bucket-wide,
        // so there every unfinished upload counts.
        let (failed_keys, committed_keys): (Vec<&str>, Vec<&str>) = {
            let failed: Vec<usize> =
                uploaded.iter().filter(|(i, ok)| !*ok && !stored_in_full.contains(i)).map(|(i, _)| *i).collect();
            let all = sources.large.iter().enumerate().map(|(i, l)| (i, l.0.as_str()));
            let (f, s): (Vec<_>, Vec<_>) = all.partition(|(i, _)| failed.contains(i));
            (f.into_iter().map(|(_, k)| k).collect(), s.into_iter().map(|(_, k)| k).collect())
        };
        // Aborts and cancellations of uploads dropped past their budget run in the background.
        if !cloudkit_core::cleanups_finished(CLEANUP_WAIT).await {
            suite.note(format!("background cleanups still running after {CLEANUP_WAIT:?}"));
        }
        if matches!(self.direct, Client::Azure { .. })
            && let Some(Ok(late)) = self.direct.unfinished_uploads(&committed_keys, None).await
        {
            for (_, l) in late {
                suite.note(format!("after a commit (a late Put Block attempt): {l}"));
            }
        }
        match self.direct.unfinished_uploads(&failed_keys, self.s3s_data.as_deref()).await {
            Some(Ok(left)) => {
                if let Some(dir) = &self.s3s_data {
                    suite.note(format!(
                        "s3s-fs: {} open multipart upload(s) in its data directory {}",
                        left.len(),
                        dir.display()
                    ));
                }
                // A CreateMultipartUpload the emulator answered but whose answer the proxy lost
                // (reset, truncation, stall) opened an upload whose id the client never received:
                // no client can abort it. As many open uploads of a key as such lost answers are
                // noted instead of counted; every other one is a leftover.
                let mut unheard: BTreeMap<String, usize> = BTreeMap::new();
                for lost in self.proxy.lost_answers() {
                    if let Some((key, names)) =
                        lost.request.strip_prefix("POST /bucket/").and_then(|r| r.split_once('?'))
                        && names.split('&').any(|n| n == "uploads")
                    {
                        *unheard.entry(key.to_owned()).or_default() += 1;
                    }
                }
                for (key, l) in left {
                    match unheard.get_mut(&key) {
                        Some(n) if *n > 0 => {
                            *n -= 1;
                            suite.note(format!(
                                "{l}: opened by a CreateMultipartUpload whose answer was lost to an injected fault \
                                 (the client never got its id); not counted as a leftover"
                            ));
                        }
                        _ => suite.leftover(format!("after the large uploads: {l}")),
                    }
                }
            }
            // Only S3 on s3s-fs when its data directory is not the one scripts/testbed.sh sets up
            // (an emulator started some other way): s3s-fs answers ListMultipartUploads with 501,
            // so its open uploads cannot be seen through the API at all.
            Some(Err(e)) => suite.note(format!("could not check for unfinished uploads: {e}")),
            None => self.check_gcs_sessions(),
        }

        phase(suite, "upload large", &mut phase_start);
        // Downloads: every large object that exists (whatever its upload reported), each to a file
        // and to memory through the client, and to memory through the store; twice each.
        let present: Vec<usize> = {
            let mut v = Vec::new();
            for (i, (key, data, _, _)) in sources.large.iter().enumerate() {
                if matches!(self.direct.stored(key).await, Ok(Some(b)) if b == *data) {
                    v.push(i);
                }
            }
            v
        };
        let rounds: Vec<(usize, u32)> = (0..2).flat_map(|round| present.iter().map(move |i| (*i, round))).collect();
        let finished: Arc<Mutex<BTreeSet<PathBuf>>> = Arc::default();
        let download_budget = budget(1 + parts(max_size));
        let (client, dir, done, src) =
            (self.client.clone(), self.dir.to_path_buf(), finished.clone(), sources_large.clone());
        suite
            .run("download to file (client)", download_budget, 3, rounds.clone(), move |(i, round)| {
                let (client, dir, done, src) = (client.clone(), dir.clone(), done.clone(), src.clone());
                async move {
                    let (key, data, _, _) = src[i].clone();
                    let path = dir.join(format!("large-{i}-{round}.bin"));
                    match client.download_to_file(&key, &path).await {
                        Ok(()) => match std::fs::read(&path) {
                            Ok(got) => {
                                // Checked, then removed: the suite's disk use stays at the
                                // downloads in flight (every file left is a leftover).
                                let _ = std::fs::remove_file(&path);
                                done.lock().unwrap().insert(path);
                                check_bytes(&got, &data)
                            }
                            Err(e) => Verdict::Corrupt(format!("download reported success, file unreadable: {e}")),
                        },
                        Err(e) => Verdict::Failed(e),
                    }
                }
            })
            .await;
        // The store's download to a file: parallel ranged GETs pinned to the first ETag on S3 and
        // Azure (8 MiB ranges, as the client's above), the resumed `get` stream on GCS; a
        // temporary file next to the target either way.
        let (store, dir, done, src) =
            (self.store.clone(), self.dir.to_path_buf(), finished.clone(), sources_large.clone());
        suite
            .run("download to file (store)", download_budget, 3, rounds.clone(), move |(i, round)| {
                let (store, dir, done, src) = (store.clone(), dir.clone(), done.clone(), src.clone());
                async move {
                    let (key, data, _, _) = src[i].clone();
                    let k = ObjectKey::parse(key.as_str()).unwrap();
                    let path = dir.join(format!("store-large-{i}-{round}.bin"));
                    let options =
                        StoreDownloadOptions { concurrency: PARTS_IN_FLIGHT, ..StoreDownloadOptions::default() };
                    match store.download_file(&k, &path, options).await {
                        Ok(size) => match std::fs::read(&path) {
                            Ok(got) => {
                                let _ = std::fs::remove_file(&path);
                                done.lock().unwrap().insert(path);
                                if size != data.len() as u64 {
                                    return Verdict::Corrupt(format!(
                                        "download_file reported {size} bytes, the object has {}",
                                        data.len()
                                    ));
                                }
                                check_bytes(&got, &data)
                            }
                            Err(e) => Verdict::Corrupt(format!("download reported success, file unreadable: {e}")),
                        },
                        Err(e) => Verdict::Failed(typed(e)),
                    }
                }
            })
            .await;
        let (client, src) = (self.client.clone(), sources_large.clone());
        suite
            .run("download to memory (client)", download_budget, 3, rounds.clone(), move |(i, _)| {
                let (client, src) = (client.clone(), src.clone());
                async move {
                    let (key, data, _, _) = src[i].clone();
                    verdict_of(client.download_to_memory(&key).await, |b| check_bytes(&b, &data))
                }
            })
            .await;
        let (store, src) = (self.store.clone(), sources_large.clone());
        suite
            .run("get large (store)", download_budget, 3, rounds, move |(i, _)| {
                let (store, src) = (store.clone(), src.clone());
                async move {
                    let (key, data, _, _) = src[i].clone();
                    let k = ObjectKey::parse(key.as_str()).unwrap();
                    let r = match store.get(&k).await {
                        Ok(g) => g.bytes().await.map_err(typed),
                        Err(e) => Err(typed(e)),
                    };
                    verdict_of(r, |b| check_bytes(&b, &data))
                }
            })
            .await;
        phase(suite, "download large", &mut phase_start);
        // Nothing in the destination directory but finished downloads (checked and removed already).
        let finished = finished.lock().unwrap().clone();
        for entry in std::fs::read_dir(&*self.dir).unwrap() {
            let path = entry.unwrap().path();
            if !finished.contains(&path) {
                let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                suite.leftover(format!("{} ({len} bytes) left in the download directory", path.display()));
            }
        }

        // 5. Deletes: even keys through the client (S3: DeleteObjects of 100 keys each; one Delete
        //    Blob / objects.delete per key on Azure and GCS, which have no batch call in the
        //    clients), odd keys through the store's bulk delete_stream.
        //    Only keys that exist: a delete of a key whose write failed would test nothing.
        let existing: BTreeSet<String> =
            direct_retry("list the small objects", || self.direct.list("small/", None)).await.into_iter().collect();
        let client_keys: Vec<String> = (0..small)
            .filter(|i| i % 2 == 0)
            .map(|i| small_object(seed, i).0)
            .filter(|k| existing.contains(k))
            .collect();
        let deleted: Arc<Mutex<Vec<String>>> = Arc::default();
        let client = self.client.clone();
        let record = deleted.clone();
        if matches!(self.client, Client::S3 { .. }) {
            let batches: Vec<Vec<String>> = client_keys.chunks(100).map(<[String]>::to_vec).collect();
            let suite_for_keys = suite.clone();
            suite
                .run("bulk delete (client)", budget(1), 4, batches, move |keys| {
                    let (client, record, suite) = (client.clone(), record.clone(), suite_for_keys.clone());
                    async move {
                        let results = client.delete_many(keys).await;
                        let mut first_error = None;
                        for (k, r) in results {
                            match r {
                                Ok(()) => {
                                    suite.tally("delete (client bulk)", &k, &Verdict::Ok);
                                    record.lock().unwrap().push(k);
                                }
                                Err(e) => {
                                    suite.tally("delete (client bulk)", &k, &Verdict::Failed(e.clone()));
                                    first_error.get_or_insert(e);
                                }
                            }
                        }
                        first_error.map_or(Verdict::Ok, Verdict::Failed)
                    }
                })
                .await;
        } else {
            suite
                .run("delete (client)", budget(1), concurrency, client_keys, move |key| {
                    let (client, record) = (client.clone(), record.clone());
                    async move {
                        let r = client.delete(&key).await;
                        if r.is_ok() {
                            record.lock().unwrap().push(key);
                        }
                        verdict_of(r, |()| Verdict::Ok)
                    }
                })
                .await;
        }
        let store_keys: Vec<ObjectKey> = (0..small)
            .filter(|i| i % 2 == 1)
            .map(|i| small_object(seed, i).0)
            .filter(|k| existing.contains(k))
            .map(|k| ObjectKey::parse(k).unwrap())
            .collect();
        let store = self.store.clone();
        let record = deleted.clone();
        let suite_for_keys = suite.clone();
        let n = store_keys.len() as u32;
        suite
            .run("bulk delete (store)", budget(n.div_ceil(concurrency as u32)), 1, vec![store_keys], move |keys| {
                let (store, record, suite) = (store.clone(), record.clone(), suite_for_keys.clone());
                async move {
                    let wanted: BTreeSet<String> = keys.iter().map(ToString::to_string).collect();
                    let results: Vec<_> = store.delete_stream(futures::stream::iter(keys).boxed()).collect().await;
                    let mut first_error = None;
                    let mut reported = 0;
                    for r in results {
                        reported += 1;
                        match r {
                            Ok(k) => {
                                suite.tally("delete (store bulk)", k.as_ref(), &Verdict::Ok);
                                record.lock().unwrap().push(k.to_string());
                            }
                            Err(e) => {
                                let e = typed(e);
                                suite.tally("delete (store bulk)", "?", &Verdict::Failed(e.clone()));
                                first_error.get_or_insert(e);
                            }
                        }
                    }
                    if reported != wanted.len() {
                        return Verdict::Corrupt(format!("{reported} results for {} keys", wanted.len()));
                    }
                    first_error.map_or(Verdict::Ok, Verdict::Failed)
                }
            })
            .await;
        phase(suite, "delete", &mut phase_start);
        let remaining: BTreeSet<String> =
            direct_retry("list the small objects", || self.direct.list("small/", None)).await.into_iter().collect();
        for k in deleted.lock().unwrap().iter() {
            if remaining.contains(k) {
                suite.corruption(format!("delete {k} reported success but the object is still there"));
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------
// The table
// ---------------------------------------------------------------------------------------------------

struct Summary {
    operations: u64,
    bad: bool,
}

fn print_table(label: &str, seeds: (u64, u64), proxy: &FaultProxy, report: &Report, elapsed: Duration) -> Summary {
    let (seed, backend_seed) = seeds;
    // A bulk delete is counted by its keys (each succeeds or fails on its own); its own row only
    // carries the call's timing, panic and budget checks.
    let (mut ops, mut ok, mut failed, mut bulk_calls) = (0u64, 0u64, 0u64, 0u64);
    for (name, s) in &report.ops {
        if name.starts_with("bulk ") {
            bulk_calls += s.ok + s.failed + s.corrupt;
            continue;
        }
        ops += s.ok + s.failed + s.corrupt;
        ok += s.ok;
        failed += s.failed;
    }
    let counts = proxy.counts();
    let total_faults: u64 = counts.values().sum();
    let traffic = proxy.traffic();
    // Corrupt verdicts are listed in report.corruptions, with the checks made afterwards.
    let corruptions = report.corruptions.len();
    let mut out = String::new();
    let _ = writeln!(out, "\n=== fault injection: {label} ===");
    let _ = writeln!(
        out,
        "seed                {seed:#x}   (replay: {SEED_VAR}={seed:#x}; this backend's proxy: {backend_seed:#x})"
    );
    let phases: Vec<String> = report.phases.iter().map(|(n, d)| format!("{n} {:.1}s", d.as_secs_f64())).collect();
    let _ = writeln!(out, "wall time           {elapsed:.1?}   ({})", phases.join(", "));
    let _ = writeln!(out, "operations          {ops}   (keys of {bulk_calls} bulk deletes counted one by one)");
    let _ = writeln!(out, "successes           {ok}");
    let _ = writeln!(out, "typed failures      {failed}");
    let _ = writeln!(out, "corruptions         {corruptions}   (must be 0)");
    let _ = writeln!(out, "leftovers           {}   (must be 0)", report.leftovers.len());
    let _ = writeln!(out, "budget overruns     {}   (must be 0)", report.overruns.len());
    let _ = writeln!(out, "panics              {}   (must be 0)", report.panics.len());
    let _ = writeln!(
        out,
        "failed but stored   {}   (a failed write whose data is there in full)",
        report.failed_but_stored
    );
    let _ = writeln!(
        out,
        "requests            {} seen by the proxy, {} forwarded, {} broken off without an injected fault, \
         {} answers lost on the way back",
        traffic.requests,
        traffic.forwarded,
        traffic.broken,
        proxy.lost_answers().len()
    );
    let _ = writeln!(out, "faults injected     {total_faults}");
    for kind in FaultKind::ALL {
        let _ = writeln!(out, "  {:<24}{}", kind.name(), counts[&kind]);
    }
    let _ = writeln!(out, "per operation        ok  failed  corrupt");
    for (name, s) in &report.ops {
        let _ = writeln!(out, "  {name:<22}{:>5} {:>7} {:>8}", s.ok, s.failed, s.corrupt);
        let mut errors: Vec<_> = s.errors.iter().collect();
        errors.sort_by(|a, b| b.1.cmp(a.1));
        for (e, n) in errors.iter().take(4) {
            let _ = writeln!(out, "      {n:>4} × {e}");
        }
    }
    for (title, list) in [
        ("corruptions", &report.corruptions),
        ("leftovers", &report.leftovers),
        ("budget overruns", &report.overruns),
        ("panics", &report.panics),
        ("notes", &report.notes),
    ] {
        if !list.is_empty() {
            let _ = writeln!(out, "{title}:");
            for l in list.iter().take(25) {
                let _ = writeln!(out, "  - {l}");
            }
            if list.len() > 25 {
                let _ = writeln!(out, "  … and {} more", list.len() - 25);
            }
        }
    }
    println!("{out}");
    let bad =
        corruptions > 0 || !report.leftovers.is_empty() || !report.overruns.is_empty() || !report.panics.is_empty();
    Summary { operations: ops, bad }
}

async fn run_backend(
    label: &'static str,
    make: impl Future<Output = Backend>,
    sources: Arc<Sources>,
    seeds: (u64, u64),
) -> Summary {
    let started = Instant::now();
    let backend = make.await;
    backend.run(&sources).await;
    let report = std::mem::take(&mut *backend.suite.report.lock().unwrap());
    let summary = print_table(label, seeds, &backend.proxy, &report, started.elapsed());
    if let Err(e) = backend.direct.remove_everything().await {
        println!("{label}: could not remove the test bucket: {e}");
    }
    summary
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_injection_all_backends() {
    let seed = seed();
    println!("fault injection: seed {seed:#x} (set {SEED_VAR} to replay another)");
    let sources = Arc::new(sources(seed));
    let seeds: Vec<u64> = (1..=4).map(|i| mix(seed ^ i)).collect();
    let suite = || Arc::new(Suite { report: Mutex::default() });
    let (s3s, moto, azurite, gcs_) = tokio::join!(
        run_backend("S3 on s3s-fs", s3_backend(suite(), seeds[0], Emulator::S3s), sources.clone(), (seed, seeds[0])),
        run_backend("S3 on moto", s3_backend(suite(), seeds[1], Emulator::Moto), sources.clone(), (seed, seeds[1])),
        run_backend("Azure Blob on Azurite", azure_backend(suite(), seeds[2]), sources.clone(), (seed, seeds[2])),
        run_backend("GCS on gcp-storage-emulator", gcs_backend(suite(), seeds[3]), sources.clone(), (seed, seeds[3])),
    );
    let all = [("S3 on s3s-fs", s3s), ("S3 on moto", moto), ("Azure Blob on Azurite", azurite), ("GCS", gcs_)];
    let total: u64 = all.iter().map(|(_, s)| s.operations).sum();
    let bad: Vec<&str> = all.iter().filter(|(_, s)| s.bad).map(|(l, _)| *l).collect();
    println!("fault injection: {total} operations in total; seed {seed:#x}");
    assert!(total >= 2_000, "only {total} operations ran (at least 2,000 expected)");
    assert!(
        bad.is_empty(),
        "corruptions, leftovers, budget overruns or panics on: {bad:?} (tables above; replay with {SEED_VAR}={seed:#x})"
    );
}

/// The Azure leftover check can fire: a block put without a commit is seen as uncommitted (and
/// none is left once the blob is deleted).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_uncommitted_block_check_sees_an_uncommitted_block() {
    let service = azure::blob_service().await;
    let container = service.container_client(unique_name("ck-fault-check"));
    container.create().send().await.unwrap();
    assert_eq!(uncommitted_blocks(&container, "never-committed").await.unwrap(), 0);
    container
        .blob_client("never-committed")
        .put_block(b"ck-check-block-0001", Bytes::from_static(b"data"))
        .await
        .unwrap();
    assert_eq!(uncommitted_blocks(&container, "never-committed").await.unwrap(), 1);
    container.delete().await.unwrap();
}

/// The s3s-fs leftover check can fire: an upload created and not completed is seen as open in the
/// data directory (with its key), and no longer once it is aborted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3s_open_upload_check_sees_an_open_upload() {
    let s3 = aws::s3s_s3_client(aws::s3s_credentials(), None).await;
    let bucket = aws::create_bucket(&s3, "ck-fault-check").await;
    let data = s3s_data_dir(&bucket).expect("s3s-fs's data directory (target/testbed/s3s-data) holds the bucket");
    assert_eq!(s3s_open_uploads(&data, &bucket).unwrap(), []);
    let key = "dir/never-completed é";
    let created = s3.create_multipart_upload(&bucket, key).send().await.unwrap();
    assert_eq!(s3s_open_uploads(&data, &bucket).unwrap(), [(key.to_owned(), created.upload_id.clone())]);
    s3.abort_multipart_upload(&bucket, key, &created.upload_id).send().await.unwrap();
    assert_eq!(s3s_open_uploads(&data, &bucket).unwrap(), []);
    s3.delete_bucket(&bucket).await.unwrap();
}
