//! Azure Blob and GCS benchmark: cloudkit's provider client and its `ObjectStore` backend against
//! object_store and the Python SDK, on Azurite and on gcp-storage-emulator over loopback.
//!
//! Clients (columns): `cloudkit` is the provider crate with its defaults (cloudkit-azure-blob:
//! `BlobClient::upload_file` / `download_to_file`, 8 MiB blocks and ranges, 8 in flight, MD5
//! verified; cloudkit-gcp-storage: `insert_object(..).send_file` (a resumable upload in 8 MiB
//! chunks) / `Blob::download_to_filename` (one streaming GET, CRC32C verified)); `ck store` is the
//! facade's `AzureBlobStore` / `GcsStore` (`ObjectStore::upload` from a file reader,
//! `ObjectStore::download_file`, `put`, `get`, `list`); `object_store` is object_store 0.12's
//! `MicrosoftAzure` / `GoogleCloudStorage` (uploads through its multipart `BufWriter`, downloads
//! with one streaming GET); `python` is azure-storage-blob / google-cloud-storage with their
//! defaults (`azure_sdk.py`, `gcs_sdk.py`, run with `BENCH_PYTHON`).
//!
//! Workloads: small PUT and GET of 4 KiB objects at concurrency 1 and 32 (ops/s); upload and
//! download of a 512 MiB object (MiB/s and peak RSS, each run in a child process that reports its
//! VmHWM, or ru_maxrss for Python); listing 10,000 keys (keys/s, best of three, the clients taking
//! turns). Every measurement also records the client's CPU time and the emulator's (from /proc),
//! printed as a second table: an emulator near one CPU-second per second while every client is
//! slower than that is the bottleneck, not the clients. A workload a client cannot run against the
//! emulator is `n/a`, with its error printed under the table.
//!
//! Emulators: the benchmark starts its own, on free ports, with scratch directories, and stops them
//! at the end: Azurite (`azurite-blob --inMemoryPersistence`) and gcp-storage-emulator (in memory,
//! through `gcs_emulator.py`, which skips its per-write metadata dump and raises its listen
//! backlog; see that file). Both are installed by `scripts/testbed.sh up`.
//!
//! Usage: `store-bench [azure|gcs]...` (default both). Environment: `AZURITE_BLOB` (the
//! azurite-blob binary; default `../../target/tools/azurite/node_modules/.bin/azurite-blob`),
//! `GCS_EMULATOR_PYTHON` (a Python with gcp-storage-emulator; default the test bed's virtualenv's,
//! else `python3`), `BENCH_PYTHON` (a Python with azure-storage-blob and google-cloud-storage;
//! default `python3`), `BENCH_LARGE_MIB` (default 512), `BENCH_DIR` (scratch directory; default
//! the system temp dir), `BENCH_AZURE_CHUNK_MIB` / `BENCH_AZURE_CONCURRENCY` (cloudkit's Azure
//! download with other than its default ranges, for diagnostics). `run.sh` installs the Python SDKs
//! and sets `BENCH_PYTHON`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use cloudkit::store::{ObjectKey, ObjectStoreExt as _};
use futures::{StreamExt, TryStreamExt};
use object_store::ObjectStore as _;
use tokio::io::AsyncWriteExt;

const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known development key (public, documented by Microsoft).
const AZURITE_KEY: &str = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
const BUCKET: &str = "bench";
const SMALL: usize = 4096;
const LIST_KEYS: usize = 10_000;

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Provider {
    Azure,
    Gcs,
}

impl Provider {
    fn name(self) -> &'static str {
        match self {
            Provider::Azure => "azure",
            Provider::Gcs => "gcs",
        }
    }
    fn parse(s: &str) -> Option<Provider> {
        [Provider::Azure, Provider::Gcs].into_iter().find(|p| p.name() == s)
    }
    fn title(self) -> &'static str {
        match self {
            Provider::Azure => "Azure Blob on Azurite",
            Provider::Gcs => "GCS on gcp-storage-emulator",
        }
    }
    fn script(self) -> &'static str {
        match self {
            Provider::Azure => "azure_sdk.py",
            Provider::Gcs => "gcs_sdk.py",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Cloudkit,
    Store,
    ObjectStore,
    Python,
}

impl Which {
    const ALL: [Which; 4] = [Which::Cloudkit, Which::Store, Which::ObjectStore, Which::Python];
    fn name(self) -> &'static str {
        match self {
            Which::Cloudkit => "cloudkit",
            Which::Store => "ck-store",
            Which::ObjectStore => "object_store",
            Which::Python => "python",
        }
    }
    fn parse(s: &str) -> Option<Which> {
        Which::ALL.into_iter().find(|w| w.name() == s)
    }
}

// -------------------------------------------------------------------------------------------------
// Measurements

/// One measurement: the rate (ops/s, MiB/s or keys/s), the wall time, the client's CPU time, the
/// emulator's CPU time meanwhile, and the client's peak RSS (child processes only).
#[derive(Clone, Copy, Debug)]
struct Sample {
    rate: f64,
    wall: f64,
    cpu: f64,
    emulator_cpu: f64,
    rss_mib: f64,
}

type Cell = Result<Sample, String>;

fn clk_tck() -> f64 {
    static TCK: OnceLock<f64> = OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// CPU seconds (user + system) of a process, from /proc.
fn cpu_of(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    (ticks(11) + ticks(12)) / clk_tck()
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Wall time, this process's CPU time and the emulator's from its creation on.
struct Meter {
    emulator: String,
    wall: Instant,
    cpu: f64,
    emulator_cpu: f64,
}

impl Meter {
    fn start(emulator: &str) -> Meter {
        Meter {
            emulator: emulator.to_owned(),
            wall: Instant::now(),
            cpu: cpu_of("self"),
            emulator_cpu: cpu_of(emulator),
        }
    }
    fn stop(&self, amount: f64) -> Sample {
        let wall = self.wall.elapsed().as_secs_f64();
        Sample {
            rate: amount / wall,
            wall,
            cpu: cpu_of("self") - self.cpu,
            emulator_cpu: cpu_of(&self.emulator) - self.emulator_cpu,
            rss_mib: vm_hwm_kib() as f64 / 1024.0,
        }
    }
}

/// `RESULT <name> <rate> <wall> <cpu> <emulator cpu> <peak RSS KiB>` and `ERROR <name> <message>`
/// lines → cells by name.
fn result_lines(stdout: &[u8]) -> BTreeMap<String, Cell> {
    let mut out = BTreeMap::new();
    for line in String::from_utf8_lossy(stdout).lines() {
        if let Some(rest) = line.strip_prefix("ERROR ") {
            let (name, message) = rest.split_once(' ').unwrap_or((rest, ""));
            out.insert(name.to_owned(), Err(message.to_owned()));
        } else if let Some(rest) = line.strip_prefix("RESULT ") {
            let f: Vec<&str> = rest.split_whitespace().collect();
            let num = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
            let cell = match (num(1), num(2), num(3), num(4), num(5)) {
                (Some(rate), Some(wall), Some(cpu), Some(emulator_cpu), Some(rss)) => {
                    Ok(Sample { rate, wall, cpu, emulator_cpu, rss_mib: rss / 1024.0 })
                }
                _ => Err(format!("unreadable result line {line:?}")),
            };
            if let Some(name) = f.first() {
                out.insert((*name).to_owned(), cell);
            }
        }
    }
    out
}

/// The first line of an error, shortened (for the table's notes).
fn short(e: impl std::fmt::Display) -> String {
    let text = e.to_string().replace('\n', " ");
    if text.chars().count() > 240 { format!("{}…", text.chars().take(240).collect::<String>()) } else { text }
}

// -------------------------------------------------------------------------------------------------
// Clients

struct Clients {
    provider: Provider,
    /// The emulator's pid (for its CPU time).
    emulator: String,
    azure: Option<cloudkit_azure_blob::ContainerClient>,
    gcs: Option<cloudkit_gcp_storage::StorageClient>,
    store: Arc<dyn cloudkit::store::ObjectStore>,
    os: Arc<dyn object_store::ObjectStore>,
}

/// Azurite's connection string for a blob endpoint `http://127.0.0.1:PORT/devstoreaccount1`.
fn azure_connection_string(endpoint: &str) -> String {
    format!(
        "DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};BlobEndpoint={endpoint};"
    )
}

async fn clients(provider: Provider, endpoint: &str, emulator: &str) -> Res<Clients> {
    cloudkit_core::install_default_crypto_provider();
    let emulator = emulator.to_owned();
    match provider {
        Provider::Azure => {
            // No environment (the developer's AZURE_* variables stay out), the connection string.
            let config = cloudkit_cred_chain::azure::AzureConfig::loader()
                .env(cloudkit_cred_chain::azure::AzureEnv::from_pairs::<&str, &str>([]))
                .connection_string(azure_connection_string(endpoint))
                .load()
                .await?;
            let container = cloudkit_azure_blob::BlobServiceClient::new(&config)?.container_client(BUCKET);
            let store = cloudkit::store::AzureBlobStore::new(container.clone());
            // Azurite by its account URL (path-style), SharedKey with the development key.
            let os = object_store::azure::MicrosoftAzureBuilder::new()
                .with_endpoint(endpoint.to_owned())
                .with_allow_http(true)
                .with_account(AZURITE_ACCOUNT)
                .with_access_key(AZURITE_KEY)
                .with_container_name(BUCKET)
                .build()?;
            Ok(Clients {
                provider,
                emulator,
                azure: Some(container),
                gcs: None,
                store: Arc::new(store),
                os: Arc::new(os),
            })
        }
        Provider::Gcs => {
            // Emulator mode: anonymous, plain HTTP (as tests/src/gcs.rs configures it).
            let env = cloudkit_cred_chain::gcp::GcpEnv::from_pairs([("STORAGE_EMULATOR_HOST", endpoint)]);
            let config = cloudkit_cred_chain::gcp::GcpConfig::loader().env(env).load().await?;
            let client = cloudkit_gcp_storage::StorageClient::new(&config)?;
            let store = cloudkit::store::GcsStore::new(client.clone(), BUCKET);
            // object_store reaches a GCS emulator through a service-account document with
            // `gcs_base_url` and `disable_oauth` (no token exchange), requests left unsigned.
            let key = format!(
                r#"{{"private_key": "", "private_key_id": "", "client_email": "", "disable_oauth": true, "gcs_base_url": "{endpoint}"}}"#
            );
            let os = object_store::gcp::GoogleCloudStorageBuilder::new()
                .with_service_account_key(key)
                .with_skip_signature(true)
                .with_client_options(object_store::ClientOptions::new().with_allow_http(true))
                .with_bucket_name(BUCKET)
                .build()?;
            Ok(Clients { provider, emulator, azure: None, gcs: Some(client), store: Arc::new(store), os: Arc::new(os) })
        }
    }
}

impl Clients {
    fn container(&self) -> &cloudkit_azure_blob::ContainerClient {
        self.azure.as_ref().expect("Azure clients")
    }
    fn gcs(&self) -> &cloudkit_gcp_storage::StorageClient {
        self.gcs.as_ref().expect("GCS clients")
    }

    /// Creates the container or bucket.
    async fn create_bucket(&self) -> Res<()> {
        match self.provider {
            Provider::Azure => self.container().create().send().await?,
            Provider::Gcs => {
                self.gcs().insert_bucket(BUCKET).send().await?;
            }
        }
        Ok(())
    }

    /// An empty object (the listing's keys), written by cloudkit's client.
    async fn put_empty(&self, key: String) -> Res<()> {
        match self.provider {
            Provider::Azure => {
                self.container().blob_client(key).put(Bytes::new()).send().await?;
            }
            Provider::Gcs => {
                self.gcs().insert_object(BUCKET, key).send_bytes(Bytes::new()).await?;
            }
        }
        Ok(())
    }

    async fn delete(&self, key: &str) -> Res<()> {
        self.store.delete(&ObjectKey::parse(key)?).await?;
        Ok(())
    }
}

// -------------------------------------------------------------------------------------------------
// Small objects

async fn put_small(c: &Clients, which: Which, key: String, body: Bytes) -> Res<()> {
    match (which, c.provider) {
        (Which::Cloudkit, Provider::Azure) => {
            c.container().blob_client(key).put(body).send().await?;
        }
        (Which::Cloudkit, Provider::Gcs) => {
            c.gcs().insert_object(BUCKET, key).send_bytes(body).await?;
        }
        (Which::Store, _) => {
            c.store.put(&ObjectKey::parse(&key)?, body).await?;
        }
        (Which::ObjectStore, _) => {
            c.os.put(&object_store::path::Path::from(key), body.into()).await?;
        }
        (Which::Python, _) => unreachable!("Python runs in a child process"),
    }
    Ok(())
}

async fn get_small(c: &Clients, which: Which, key: String) -> Res<usize> {
    Ok(match (which, c.provider) {
        (Which::Cloudkit, Provider::Azure) => c.container().blob_client(key).get().send().await?.bytes().await?.len(),
        (Which::Cloudkit, Provider::Gcs) => c.gcs().download_object(BUCKET, key).send().await?.bytes().await?.len(),
        (Which::Store, _) => c.store.get(&ObjectKey::parse(&key)?).await?.bytes().await?.len(),
        (Which::ObjectStore, _) => c.os.get(&object_store::path::Path::from(key)).await?.bytes().await?.len(),
        (Which::Python, _) => unreachable!("Python runs in a child process"),
    })
}

fn small_prefix(which: Which, round: usize, concurrency: usize) -> String {
    format!("small/{}/r{round}/c{concurrency}", which.name())
}

fn small_keys(which: Which, round: usize, concurrency: usize, n: usize) -> Vec<String> {
    let prefix = small_prefix(which, round, concurrency);
    (0..n).map(|i| format!("{prefix}/{i:06}")).collect()
}

/// `n` small PUTs, then `n` GETs, at `concurrency`. When the PUTs fail, the GETs read the keys
/// cloudkit's client wrote in the first round (where it runs first), so the GET row is still
/// measured.
async fn small_ops(c: &Clients, which: Which, round: usize, concurrency: usize, n: usize) -> (Cell, Cell) {
    let body = Bytes::from(vec![0x42u8; SMALL]);
    let keys = small_keys(which, round, concurrency, n);
    let meter = Meter::start(&c.emulator);
    let put = futures::stream::iter(keys.iter().cloned())
        .map(|k| put_small(c, which, k, body.clone()))
        .buffer_unordered(concurrency)
        .try_collect::<()>()
        .await
        .map(|()| meter.stop(n as f64))
        .map_err(short);
    let keys = if put.is_ok() { keys } else { small_keys(Which::Cloudkit, 0, concurrency, n) };
    let meter = Meter::start(&c.emulator);
    let get = futures::stream::iter(keys)
        .map(|k| get_small(c, which, k))
        .buffer_unordered(concurrency)
        .try_fold(0, |a, b| async move { Ok(a + b) })
        .await
        .map_err(short)
        .and_then(
            |total| {
                if total == n * SMALL { Ok(meter.stop(n as f64)) } else { Err(format!("read {total} bytes")) }
            },
        );
    (put, get)
}

// -------------------------------------------------------------------------------------------------
// Large objects (child processes)

fn large_key(which: Which) -> String {
    format!("large/{}", which.name())
}

/// One large transfer; returns the bytes moved.
async fn large(c: &Clients, which: Which, op: &str, key: &str, file: &Path) -> Res<u64> {
    match (which, op, c.provider) {
        // Diagnostics (not table rows): what the Azure download's MD5 checks cost (8 MiB ranges
        // without range MD5s), one streaming Get Blob into the file (as object_store downloads;
        // the stored MD5 checked at the end), and the GCS upload in 100 MiB chunks (the Python
        // SDK's size) instead of 8 MiB (the emulator copies everything received so far at every
        // chunk).
        (Which::Cloudkit, "download-unverified", Provider::Azure) => {
            let options = cloudkit_azure_blob::DownloadOptions { verify_md5: false, ..Default::default() };
            Ok(c.container().blob_client(key).download_to_file(file, options).await?)
        }
        (Which::Cloudkit, "download-stream", Provider::Azure) => {
            let mut body = c.container().blob_client(key).get().send().await?.body;
            let mut f = tokio::fs::File::create(file).await?;
            let mut n = 0u64;
            while let Some(chunk) = body.next().await {
                let chunk = chunk?;
                n += chunk.len() as u64;
                f.write_all(&chunk).await?;
            }
            f.flush().await?;
            Ok(n)
        }
        (Which::Cloudkit, "upload-chunk100", Provider::Gcs) => {
            let object = c.gcs().insert_object(BUCKET, key).chunk_size(100 << 20).send_file(file).await?;
            Ok(object.size.unwrap_or_default())
        }
        (Which::Cloudkit, "upload", Provider::Azure) => {
            let blob = c.container().blob_client(key);
            blob.upload_file(file, cloudkit_azure_blob::UploadOptions::default()).await?;
            Ok(std::fs::metadata(file)?.len())
        }
        (Which::Cloudkit, _, Provider::Azure) => {
            let blob = c.container().blob_client(key);
            // BENCH_AZURE_CHUNK_MIB / BENCH_AZURE_CONCURRENCY: other part sizes, for diagnostics
            let mut options = cloudkit_azure_blob::DownloadOptions::default();
            if let Some(mib) = std::env::var("BENCH_AZURE_CHUNK_MIB").ok().and_then(|v| v.parse::<u64>().ok()) {
                options.chunk_size = mib << 20;
            }
            if let Some(n) = std::env::var("BENCH_AZURE_CONCURRENCY").ok().and_then(|v| v.parse().ok()) {
                options.concurrency = n;
            }
            Ok(blob.download_to_file(file, options).await?)
        }
        (Which::Cloudkit, "upload", Provider::Gcs) => {
            let object = c.gcs().insert_object(BUCKET, key).send_file(file).await?;
            Ok(object.size.unwrap_or_default())
        }
        (Which::Cloudkit, _, Provider::Gcs) => Ok(c.gcs().bucket(BUCKET).blob(key).download_to_filename(file).await?),
        (Which::Store, "upload", _) => {
            let f = tokio::fs::File::open(file).await?;
            let source = cloudkit::store::reader_source(f);
            c.store.upload(&ObjectKey::parse(key)?, source, cloudkit::store::UploadOptions::default()).await?;
            Ok(std::fs::metadata(file)?.len())
        }
        (Which::Store, _, _) => Ok(c
            .store
            .download_file(&ObjectKey::parse(key)?, file, cloudkit::store::DownloadOptions::default())
            .await?),
        (Which::ObjectStore, "upload", _) => {
            // object_store's own large-upload path: multipart (blocks on Azure) through BufWriter.
            let mut w = object_store::buffered::BufWriter::new(c.os.clone(), object_store::path::Path::from(key));
            let mut f = tokio::fs::File::open(file).await?;
            let n = tokio::io::copy(&mut f, &mut w).await?;
            w.shutdown().await?;
            Ok(n)
        }
        (Which::ObjectStore, _, _) => {
            let mut stream = c.os.get(&object_store::path::Path::from(key)).await?.into_stream();
            let mut f = tokio::fs::File::create(file).await?;
            let mut n = 0u64;
            while let Some(chunk) = stream.next().await {
                let chunk = chunk?;
                n += chunk.len() as u64;
                f.write_all(&chunk).await?;
            }
            f.flush().await?;
            Ok(n)
        }
        (Which::Python, _, _) => unreachable!("Python runs its own script"),
    }
}

/// Child: `store-bench child PROVIDER ENDPOINT EMULATOR_PID CLIENT upload|download KEY FILE` →
/// prints a `RESULT` (or `ERROR`) line.
async fn child(args: &[String]) -> Res<()> {
    let [provider, endpoint, emulator, which, op, key, file] = args else {
        return Err("usage: child PROVIDER ENDPOINT EMULATOR_PID CLIENT OP KEY FILE".into());
    };
    let provider = Provider::parse(provider).ok_or("unknown provider")?;
    let which = Which::parse(which).ok_or("unknown client")?;
    let c = clients(provider, endpoint, emulator).await?;
    let meter = Meter::start(emulator);
    match large(&c, which, op, key, Path::new(file)).await {
        Ok(n) => {
            let s = meter.stop(n as f64 / (1024.0 * 1024.0));
            println!("RESULT {op} {} {} {} {} {}", s.rate, s.wall, s.cpu, s.emulator_cpu, vm_hwm_kib());
        }
        Err(e) => println!("ERROR {op} {}", short(e)),
    }
    Ok(())
}

// -------------------------------------------------------------------------------------------------
// Listing

async fn list(c: &Clients, which: Which) -> Res<usize> {
    let config = cloudkit_paginate::PaginationConfig::default;
    Ok(match (which, c.provider) {
        (Which::Cloudkit, Provider::Azure) => {
            c.container()
                .list_blobs()
                .prefix("list/")
                .into_items(config())
                .try_fold(0, |a, _| async move { Ok(a + 1) })
                .await?
        }
        (Which::Cloudkit, Provider::Gcs) => {
            c.gcs()
                .list_objects(BUCKET)
                .prefix("list/")
                .into_items(config())
                .try_fold(0, |a, _| async move { Ok(a + 1) })
                .await?
        }
        (Which::Store, _) => {
            c.store.list(&ObjectKey::parse("list")?).try_fold(0, |a, _| async move { Ok(a + 1) }).await?
        }
        (Which::ObjectStore, _) => {
            c.os.list(Some(&object_store::path::Path::from("list")))
                .try_fold(0, |a, _| async move { Ok(a + 1) })
                .await?
        }
        (Which::Python, _) => unreachable!("Python runs in a child process"),
    })
}

/// Best of three listings per client, the clients taking turns within each round (after one
/// discarded listing, so that the emulator's settling after the writes falls on no one).
async fn list_best(c: &Clients) -> Vec<Cell> {
    const CLIENTS: [Which; 3] = [Which::Cloudkit, Which::Store, Which::ObjectStore];
    let _ = list(c, Which::ObjectStore).await;
    let mut best: Vec<Cell> = vec![Err("no listing".into()); CLIENTS.len()];
    let mut failed = [false; CLIENTS.len()];
    for _ in 0..3 {
        for (i, (w, slot)) in CLIENTS.iter().zip(best.iter_mut()).enumerate() {
            if failed[i] {
                continue;
            }
            let meter = Meter::start(&c.emulator);
            match list(c, *w).await {
                Ok(n) if n == LIST_KEYS => {
                    let s = meter.stop(n as f64);
                    if slot.as_ref().map_or(true, |b| s.wall < b.wall) {
                        *slot = Ok(s);
                    }
                }
                Ok(n) => (*slot, failed[i]) = (Err(format!("listed {n} keys, expected {LIST_KEYS}")), true),
                Err(e) => (*slot, failed[i]) = (Err(short(e)), true),
            }
        }
    }
    best
}

// -------------------------------------------------------------------------------------------------
// Emulators

struct Emulator {
    child: Child,
    dir: PathBuf,
}

impl Emulator {
    fn pid(&self) -> String {
        self.child.id().to_string()
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Res<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

fn wait_for_port(port: u16, what: &str, emulator: &mut Emulator) -> Res<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Some(status) = emulator.child.try_wait()? {
            return Err(format!("{what} exited ({status}); log in {}", emulator.dir.display()).into());
        }
        if Instant::now() > deadline {
            return Err(format!("{what} did not start within 60 s").into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

fn repo_path(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").join(rel)
}

/// Starts an emulator in `scratch/<provider>-emulator`; returns it and the endpoint the clients
/// take (Azure: the account's blob endpoint; GCS: `STORAGE_EMULATOR_HOST`).
fn start_emulator(provider: Provider, scratch: &Path) -> Res<(Emulator, String)> {
    let port = free_port()?;
    let dir = scratch.join(format!("{}-emulator", provider.name()));
    std::fs::create_dir_all(&dir)?;
    let log = std::fs::File::create(dir.join("emulator.log"))?;
    let (mut command, what, endpoint) = match provider {
        Provider::Azure => {
            let bin = std::env::var_os("AZURITE_BLOB")
                .map(PathBuf::from)
                .unwrap_or_else(|| repo_path("target/tools/azurite/node_modules/.bin/azurite-blob"));
            let mut command = Command::new(&bin);
            command.args(["--blobHost", "127.0.0.1", "--blobPort", &port.to_string()]).args([
                "--skipApiVersionCheck",
                "--disableTelemetry",
                "--inMemoryPersistence",
            ]);
            (command, format!("azurite-blob ({})", bin.display()), format!("http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"))
        }
        Provider::Gcs => {
            let python = std::env::var_os("GCS_EMULATOR_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
                let venv = repo_path("target/tools/venv/bin/python");
                if venv.exists() { venv } else { PathBuf::from("python3") }
            });
            let mut command = Command::new(&python);
            command.arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("gcs_emulator.py")).arg(port.to_string());
            (command, format!("gcp-storage-emulator ({})", python.display()), format!("http://127.0.0.1:{port}"))
        }
    };
    let child = command
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| format!("starting {what}: {e} (scripts/testbed.sh up installs it)"))?;
    let mut emulator = Emulator { child, dir };
    wait_for_port(port, &what, &mut emulator)?;
    Ok((emulator, endpoint))
}

// -------------------------------------------------------------------------------------------------
// Child processes

/// Runs `store-bench child …` for a Rust client's large transfer.
fn run_rust_child(
    provider: Provider,
    endpoint: &str,
    pid: &str,
    which: Which,
    op: &str,
    key: &str,
    file: &Path,
) -> Cell {
    let out = Command::new(std::env::current_exe().map_err(short)?)
        .args(["child", provider.name(), endpoint, pid, which.name(), op, key])
        .arg(file)
        .stderr(Stdio::inherit())
        .output()
        .map_err(short)?;
    if !out.status.success() {
        return Err(format!("{} {op} exited with {}", which.name(), out.status));
    }
    result_lines(&out.stdout).remove(op).unwrap_or_else(|| Err("no result line".into()))
}

fn python() -> String {
    std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".into())
}

/// Runs the provider's Python SDK script with `args` after the connection arguments.
fn run_python(provider: Provider, endpoint: &str, pid: &str, args: &[&str]) -> Result<BTreeMap<String, Cell>, String> {
    let python = python();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(provider.script());
    let target = match provider {
        Provider::Azure => azure_connection_string(endpoint),
        Provider::Gcs => endpoint.to_owned(),
    };
    let out = Command::new(&python)
        .arg(script)
        .args([target.as_str(), BUCKET, pid])
        .args(args)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("starting {python}: {e}"))?;
    let results = result_lines(&out.stdout);
    if !out.status.success() && results.is_empty() {
        return Err(format!("{} {} exited with {}", provider.script(), args.join(" "), out.status));
    }
    Ok(results)
}

/// `VERSION <package> <version>` of the provider's SDK script.
fn python_version(provider: Provider) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(provider.script());
    Command::new(python())
        .arg(script)
        .args(["-", "-", "-", "version"])
        .output()
        .ok()
        .and_then(|o| {
            String::from_utf8_lossy(&o.stdout).lines().find_map(|l| l.strip_prefix("VERSION ").map(str::to_owned))
        })
        .unwrap_or_else(|| format!("not importable by {}", python()))
}

fn python_cell(results: &Result<BTreeMap<String, Cell>, String>, name: &str) -> Cell {
    match results {
        Ok(map) => map.get(name).cloned().unwrap_or_else(|| Err(format!("no {name} result"))),
        Err(e) => Err(e.clone()),
    }
}

// -------------------------------------------------------------------------------------------------
// Tables

struct Row {
    name: String,
    unit: &'static str,
    cells: [Cell; 4],
    target: &'static str,
    /// Lower is better (peak RSS): no CPU columns either.
    rss: bool,
}

fn value(c: &Cell, rss: bool) -> Option<f64> {
    c.as_ref().ok().map(|s| if rss { s.rss_mib } else { s.rate })
}

fn print_tables(provider: Provider, rows: &[Row]) {
    println!();
    println!("{} — ratios are cloudkit ÷ anchor (for peak RSS lower is better)", provider.title());
    println!();
    println!(
        "| {:<34} | {:>9} | {:>9} | {:>12} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9} | {:<22} |",
        "workload",
        "cloudkit",
        "ck store",
        "object_store",
        "python",
        "ck÷o_s",
        "store÷o_s",
        "ck÷py",
        "store÷py",
        "target"
    );
    println!(
        "|{:-<36}|{:->11}|{:->11}|{:->14}|{:->11}|{:->11}|{:->11}|{:->11}|{:->11}|{:-<24}|",
        "", "", "", "", "", "", "", "", "", ""
    );
    let mut notes = Vec::new();
    for r in rows {
        let v: Vec<Option<f64>> = r.cells.iter().map(|c| value(c, r.rss)).collect();
        let show = |x: Option<f64>| x.map_or("n/a".to_owned(), |x| format!("{x:.1}"));
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}x", a / b),
            _ => "-".to_owned(),
        };
        println!(
            "| {:<34} | {:>9} | {:>9} | {:>12} | {:>9} | {:>9} | {:>9} | {:>9} | {:>9} | {:<22} |",
            format!("{} ({})", r.name, r.unit),
            show(v[0]),
            show(v[1]),
            show(v[2]),
            show(v[3]),
            ratio(v[0], v[2]),
            ratio(v[1], v[2]),
            ratio(v[0], v[3]),
            ratio(v[1], v[3]),
            r.target
        );
        if !r.rss {
            for (w, c) in Which::ALL.iter().zip(&r.cells) {
                if let Err(e) = c {
                    notes.push(format!("n/a: {} — {}: {e}", r.name, w.name()));
                }
            }
        }
    }
    for n in notes {
        println!("{n}");
    }
    // Where the time goes: CPU seconds per wall second of the client and of the emulator.
    println!();
    println!("CPU seconds per wall second, client / emulator (one core = 1.00; 2 cores here):");
    println!();
    println!(
        "| {:<34} | {:>13} | {:>13} | {:>13} | {:>13} |",
        "workload", "cloudkit", "ck store", "object_store", "python"
    );
    println!("|{:-<36}|{:->15}|{:->15}|{:->15}|{:->15}|", "", "", "", "", "");
    for r in rows.iter().filter(|r| !r.rss) {
        let cell = |c: &Cell| match c {
            Ok(s) if s.wall > 0.0 => format!("{:.2} / {:.2}", s.cpu / s.wall, s.emulator_cpu / s.wall),
            _ => "n/a".to_owned(),
        };
        println!(
            "| {:<34} | {:>13} | {:>13} | {:>13} | {:>13} |",
            r.name,
            cell(&r.cells[0]),
            cell(&r.cells[1]),
            cell(&r.cells[2]),
            cell(&r.cells[3])
        );
    }
}

fn write_file(path: &Path, mib: usize) -> Res<()> {
    use std::io::Write;
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut x: u32 = 0x9e37_79b9;
    let mut buf = vec![0u8; 1 << 20];
    for _ in 0..mib {
        for b in buf.iter_mut() {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *b = x as u8;
        }
        f.write_all(&buf)?;
    }
    f.flush()?;
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

// -------------------------------------------------------------------------------------------------

async fn bench(provider: Provider, scratch: &Path, src: &Path, large_mib: usize) -> Res<Vec<Row>> {
    let (emulator, endpoint) = start_emulator(provider, scratch)?;
    let pid = emulator.pid();
    eprintln!("[{}] emulator pid {pid} at {endpoint}", provider.name());
    let c = clients(provider, &endpoint, &pid).await?;
    let deadline = Instant::now() + Duration::from_secs(30);
    // The port answers a moment before the service does.
    while let Err(e) = c.create_bucket().await {
        if Instant::now() > deadline {
            return Err(format!("creating the {BUCKET} container/bucket: {e}").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    eprintln!("[{}] python SDK: {}", provider.name(), python_version(provider));
    let mut rows = Vec::new();

    let rounds: usize = std::env::var("BENCH_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(2).max(1);
    // Warm-up (connections, credentials); Python warms up in its own process.
    for w in [Which::Cloudkit, Which::Store, Which::ObjectStore] {
        let (p, g) = small_ops(&c, w, 99, 4, 50).await;
        if let (Err(e), _) | (_, Err(e)) = (&p, &g) {
            eprintln!("[{}] warm-up {}: {e}", provider.name(), w.name());
        }
    }

    // Small operations: `rounds` rounds, the order of the clients reversed every other round (the
    // machine is shared: order and neighbours move single runs), best of each client.
    for (concurrency, n) in [(1usize, 400usize), (32, 3000)] {
        let mut put: [Option<Cell>; 4] = Default::default();
        let mut get: [Option<Cell>; 4] = Default::default();
        for round in 0..rounds {
            for (i, w) in order(round) {
                let (p, g) = match w {
                    Which::Python => {
                        let prefix = small_prefix(w, round, concurrency);
                        let args = ["small", &prefix, &n.to_string(), &concurrency.to_string()];
                        let py = run_python(provider, &endpoint, &pid, &args);
                        (python_cell(&py, "put"), python_cell(&py, "get"))
                    }
                    _ => small_ops(&c, w, round, concurrency, n).await,
                };
                let show = |c: &Cell| c.as_ref().map_or("n/a".to_owned(), |s| format!("{:.0}/s", s.rate));
                eprintln!(
                    "[{}] round {round} small c={concurrency} {}: PUT {} GET {}",
                    provider.name(),
                    w.name(),
                    show(&p),
                    show(&g)
                );
                merge(&mut put[i], p);
                merge(&mut get[i], g);
            }
        }
        rows.push(Row {
            name: format!("PUT 4 KiB, concurrency {concurrency}"),
            unit: "ops/s",
            cells: put.map(|c| c.unwrap_or_else(|| Err("not run".into()))),
            target: "≥1.0x object_store",
            rss: false,
        });
        rows.push(Row {
            name: format!("GET 4 KiB, concurrency {concurrency}"),
            unit: "ops/s",
            cells: get.map(|c| c.unwrap_or_else(|| Err("not run".into()))),
            target: "≥1.0x object_store",
            rss: false,
        });
    }

    // Large transfers: each client uploads its own object, then (after every upload) downloads
    // it, or cloudkit's when its own upload failed, in child processes; `rounds` rounds in
    // alternating order, best throughput of each client with the worse peak RSS; the objects are
    // deleted after each round.
    let mut up: [Option<Cell>; 4] = Default::default();
    let mut down: [Option<Cell>; 4] = Default::default();
    for round in 0..rounds {
        let _ = Command::new("sync").status();
        let mut uploaded = [false; 4];
        for (i, w) in order(round) {
            let key = large_key(w);
            let cell = match w {
                Which::Python => {
                    python_cell(&run_python(provider, &endpoint, &pid, &["upload", &key, path_str(src)?]), "upload")
                }
                _ => run_rust_child(provider, &endpoint, &pid, w, "upload", &key, src),
            };
            log_large(provider, round, "upload", w, large_mib, &cell);
            uploaded[i] = cell.is_ok();
            merge(&mut up[i], cell);
        }
        for (i, w) in order(round) {
            let key = if uploaded[i] { large_key(w) } else { large_key(Which::Cloudkit) };
            let dst = scratch.join(format!("large-dst-{}.bin", w.name()));
            let mut cell = match w {
                Which::Python => python_cell(
                    &run_python(provider, &endpoint, &pid, &["download", &key, path_str(&dst)?]),
                    "download",
                ),
                _ => run_rust_child(provider, &endpoint, &pid, w, "download", &key, &dst),
            };
            if cell.is_ok() {
                let len = std::fs::metadata(&dst).map(|m| m.len()).unwrap_or(0);
                if len != (large_mib as u64) << 20 {
                    cell = Err(format!("downloaded {len} bytes"));
                }
            }
            let _ = std::fs::remove_file(&dst);
            log_large(provider, round, "download", w, large_mib, &cell);
            merge(&mut down[i], cell);
        }
        for w in Which::ALL {
            let _ = c.delete(&large_key(w)).await;
        }
    }
    // Diagnostic: azure-storage-blob with max_concurrency=8 (cloudkit's in-flight count) instead
    // of its default 1.
    if provider == Provider::Azure {
        let key = "large/python-8";
        let u = python_cell(&run_python(provider, &endpoint, &pid, &["upload", key, path_str(src)?, "8"]), "upload");
        let dst = scratch.join("large-dst-python-8.bin");
        let d =
            python_cell(&run_python(provider, &endpoint, &pid, &["download", key, path_str(&dst)?, "8"]), "download");
        let _ = std::fs::remove_file(&dst);
        let show = |c: &Cell| {
            c.as_ref().map_or_else(|e| e.clone(), |s| format!("{:.0} MiB/s, peak RSS {:.0} MiB", s.rate, s.rss_mib))
        };
        eprintln!(
            "  diagnostic: azure-storage-blob with max_concurrency=8: upload {}; download {}",
            show(&u),
            show(&d)
        );
        let _ = c.delete(key).await;
    }
    let diagnostics: &[(&str, &str)] = match provider {
        Provider::Azure => &[
            ("download-unverified", "cloudkit's download without MD5 checks (8 MiB ranges)"),
            ("download-stream", "cloudkit's one streaming Get Blob into a file (stored MD5 checked)"),
        ],
        Provider::Gcs => &[("upload-chunk100", "cloudkit's upload in 100 MiB chunks (the Python SDK's size)")],
    };
    let key = large_key(Which::Cloudkit);
    if provider == Provider::Azure {
        let _ = run_rust_child(provider, &endpoint, &pid, Which::Cloudkit, "upload", &key, src);
    }
    for (op, what) in diagnostics {
        let dst = scratch.join("large-dst-diagnostic.bin");
        let file = if op.starts_with("download") { dst.as_path() } else { src };
        let d = run_rust_child(provider, &endpoint, &pid, Which::Cloudkit, op, &key, file);
        let _ = std::fs::remove_file(&dst);
        match d {
            Ok(s) => eprintln!(
                "  diagnostic: {what}: {:.0} MiB/s, peak RSS {:.0} MiB, CPU {:.2} s, emulator CPU {:.2} s, wall {:.2} s",
                s.rate, s.rss_mib, s.cpu, s.emulator_cpu, s.wall
            ),
            Err(e) => eprintln!("  diagnostic: {what}: {e}"),
        }
    }
    let _ = c.delete(&key).await;
    let up = up.map(|c| c.unwrap_or_else(|| Err("not run".into())));
    let down = down.map(|c| c.unwrap_or_else(|| Err("not run".into())));
    rows.push(Row {
        name: format!("upload {large_mib} MiB"),
        unit: "MiB/s",
        cells: up.clone(),
        target: "≥1.0x o_s, ≥1.5x python",
        rss: false,
    });
    rows.push(Row {
        name: format!("upload {large_mib} MiB peak RSS"),
        unit: "MiB",
        cells: up,
        target: "≤64 MiB",
        rss: true,
    });
    rows.push(Row {
        name: format!("download {large_mib} MiB"),
        unit: "MiB/s",
        cells: down.clone(),
        target: "≥1.0x o_s, ≥1.5x python",
        rss: false,
    });
    rows.push(Row {
        name: format!("download {large_mib} MiB peak RSS"),
        unit: "MiB",
        cells: down,
        target: "≤64 MiB",
        rss: true,
    });

    // Listing: 10,000 empty keys written by cloudkit's client; best of three per client, in turns.
    eprintln!("[{}] writing {LIST_KEYS} keys for the listing workload", provider.name());
    let start = Instant::now();
    futures::stream::iter(0..LIST_KEYS)
        .map(|i| c.put_empty(format!("list/{i:06}")))
        .buffer_unordered(32)
        .try_collect::<()>()
        .await?;
    eprintln!("[{}] ({:.1} s)", provider.name(), start.elapsed().as_secs_f64());
    let mut listing = list_best(&c).await;
    listing
        .push(python_cell(&run_python(provider, &endpoint, &pid, &["list", "list/", &LIST_KEYS.to_string()]), "list"));
    for (w, cell) in Which::ALL.iter().zip(&listing) {
        let show = cell.as_ref().map_or_else(|e| format!("n/a ({e})"), |s| format!("{:.0} keys/s", s.rate));
        eprintln!("[{}] list {}: {show}", provider.name(), w.name());
    }
    rows.push(Row {
        name: format!("list {LIST_KEYS} keys"),
        unit: "keys/s",
        cells: listing.try_into().unwrap_or_else(|_| unreachable!("four clients")),
        target: "≥1.0x both",
        rss: false,
    });
    drop(emulator);
    Ok(rows)
}

fn path_str(p: &Path) -> Res<&str> {
    p.to_str().ok_or_else(|| format!("{} is not UTF-8", p.display()).into())
}

/// The clients with their column index, in round `round`'s order (reversed every other round).
fn order(round: usize) -> Vec<(usize, Which)> {
    let mut v: Vec<(usize, Which)> = Which::ALL.into_iter().enumerate().collect();
    if round % 2 == 1 {
        v.reverse();
    }
    v
}

/// Keeps the better of two measurements of one cell: the higher rate, with the higher peak RSS of
/// the two; a success over a failure.
fn merge(best: &mut Option<Cell>, new: Cell) {
    *best = Some(match (best.take(), new) {
        (None, n) => n,
        (Some(Ok(a)), Ok(b)) => {
            let rss_mib = a.rss_mib.max(b.rss_mib);
            Ok(Sample { rss_mib, ..if b.rate > a.rate { b } else { a } })
        }
        (Some(Ok(a)), Err(_)) | (Some(Err(_)), Ok(a)) => Ok(a),
        (Some(Err(e)), Err(_)) => Err(e),
    });
}

fn log_large(provider: Provider, round: usize, op: &str, w: Which, mib: usize, cell: &Cell) {
    match cell {
        Ok(s) => eprintln!(
            "[{}] round {round} {op} {mib} MiB {}: {:.0} MiB/s, peak RSS {:.0} MiB, CPU {:.2} s, emulator CPU {:.2} s, wall {:.2} s",
            provider.name(),
            w.name(),
            s.rate,
            s.rss_mib,
            s.cpu,
            s.emulator_cpu,
            s.wall
        ),
        Err(e) => eprintln!("[{}] round {round} {op} {mib} MiB {}: n/a ({e})", provider.name(), w.name()),
    }
}

#[tokio::main]
async fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        return child(&args[1..]).await;
    }
    let mut providers = Vec::new();
    for a in &args {
        match a.as_str() {
            "all" => providers.extend([Provider::Azure, Provider::Gcs]),
            other => {
                providers.push(Provider::parse(other).ok_or(format!("unknown provider {other:?}: azure, gcs or all"))?)
            }
        }
    }
    if providers.is_empty() {
        providers = vec![Provider::Azure, Provider::Gcs];
    }
    let large_mib: usize = std::env::var("BENCH_LARGE_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(512);
    let scratch = std::env::var_os("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("store-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    eprintln!("load average at the start: {}; scratch {}", loadavg(), scratch.display());
    let src = scratch.join("large-src.bin");
    write_file(&src, large_mib)?;
    let mut results = Vec::new();
    for p in providers {
        let rows = bench(p, &scratch, &src, large_mib).await;
        eprintln!("load average after {}: {}", p.name(), loadavg());
        results.push((p, rows));
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let mut failed = false;
    for (p, rows) in results {
        match rows {
            Ok(rows) => print_tables(p, &rows),
            Err(e) => {
                println!("\n{}: the benchmark failed: {e}", p.title());
                failed = true;
            }
        }
    }
    println!();
    println!("load average at the end: {}", loadavg());
    if failed { Err("a provider's benchmark failed".into()) } else { Ok(()) }
}
