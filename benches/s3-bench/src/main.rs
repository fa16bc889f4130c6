//! S3 benchmark: cloudkit-aws-s3 vs aws-sdk-s3 vs object_store against one s3s-fs on loopback.
//!
//! Workloads: small PUT and GET of 4 KiB objects at concurrency 1 and 32 (ops/s); upload and
//! download of a 512 MiB object (MiB/s and peak RSS, each run in a child process of this binary
//! that reports its VmHWM); listing 10,000 keys (keys/s). Prints a table with cloudkit's ratio to
//! each anchor. Then a second table: the same object downloaded into a writer (a file written in
//! order) by cloudkit's `Download::to_writer` and by boto3's `download_fileobj` (10 ranged GETs in
//! threads; `boto3_download.py`, run with `BENCH_PYTHON`), and what checksum verification costs
//! (`to_writer` of an object stored with a CRC64NVME checksum, verified and with
//! `ChecksumMode::Off`).
//!
//! Two s3s-fs servers: s3s-fs does not set TCP_NODELAY on its sockets, so an answer's last
//! segment waits for the client's delayed ACK (about 35 GETs/s at concurrency 1 for any client).
//! The small-operation rows therefore run against an s3s-fs started with `LD_PRELOAD` of
//! `nodelay.c` (built here with the system C compiler, `cc`, into the scratch directory), which
//! sets TCP_NODELAY on every accepted socket; large transfers and the listing run against a plain
//! s3s-fs.
//!
//! Environment: `S3S_FS` (path of the s3s-fs binary; default `../../target/tools/bin/s3s-fs`),
//! `BENCH_LARGE_MIB` (default 512), `BENCH_PROFILE` (a client name: only its small operations at
//! concurrency 1, for a profiler), `BENCH_DIR` (scratch directory; default the system temp dir),
//! `BENCH_PYTHON` (a Python with boto3; default `python3`), `CC` (default `cc`).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use tokio::io::AsyncWriteExt;

const ACCESS_KEY: &str = "bench-access-key";
const SECRET_KEY: &str = "bench-secret-key-0123456789";
const BUCKET: &str = "bench";
const SMALL: usize = 4096;
const LIST_KEYS: usize = 10_000;
/// The large object stored with a CRC64NVME checksum.
const CRC64_KEY: &str = "large/crc64";

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Which {
    Cloudkit,
    AwsSdk,
    ObjectStore,
}

impl Which {
    const ALL: [Which; 3] = [Which::Cloudkit, Which::AwsSdk, Which::ObjectStore];
    fn name(self) -> &'static str {
        match self {
            Which::Cloudkit => "cloudkit",
            Which::AwsSdk => "aws-sdk-s3",
            Which::ObjectStore => "object_store",
        }
    }
    fn parse(s: &str) -> Option<Which> {
        Which::ALL.into_iter().find(|w| w.name() == s)
    }
}

struct Clients {
    cloudkit: cloudkit_aws_s3::S3Client,
    /// cloudkit without checksum verification (`ChecksumMode::Off`), to measure what it costs.
    cloudkit_unverified: cloudkit_aws_s3::S3Client,
    sdk: aws_sdk_s3::Client,
    store: Arc<dyn object_store::ObjectStore>,
}

async fn clients(endpoint: &str) -> Res<Clients> {
    cloudkit_core::install_default_crypto_provider();
    let config = cloudkit_cred_chain::aws::AwsConfig::loader()
        .region("us-east-1")
        .endpoint_url(endpoint)
        .credentials(cloudkit_signer::aws::Credentials::from_keys(ACCESS_KEY, SECRET_KEY))
        .load()
        .await?;
    let cloudkit = cloudkit_aws_s3::S3Client::new(&config)?;
    let cloudkit_unverified =
        cloudkit_aws_s3::S3Client::builder(&config).checksum_mode(cloudkit_aws_s3::ChecksumMode::Off).build()?;

    let sdk_config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_s3::config::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "bench"))
        .load()
        .await;
    let sdk =
        aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk_config).force_path_style(true).build());

    let store = object_store::aws::AmazonS3Builder::new()
        .with_endpoint(endpoint)
        .with_allow_http(true)
        .with_region("us-east-1")
        .with_bucket_name(BUCKET)
        .with_access_key_id(ACCESS_KEY)
        .with_secret_access_key(SECRET_KEY)
        .with_virtual_hosted_style_request(false)
        .build()?;
    Ok(Clients { cloudkit, cloudkit_unverified, sdk, store: Arc::new(store) })
}

// -------------------------------------------------------------------------------------------------
// Small objects

async fn put_small(c: &Clients, which: Which, key: String, body: Bytes) -> Res<()> {
    match which {
        Which::Cloudkit => {
            c.cloudkit.put_object(BUCKET, key).body(body).send().await?;
        }
        Which::AwsSdk => {
            c.sdk.put_object().bucket(BUCKET).key(key).body(body.into()).send().await?;
        }
        Which::ObjectStore => {
            c.store.put(&object_store::path::Path::from(key), body.into()).await?;
        }
    }
    Ok(())
}

async fn get_small(c: &Clients, which: Which, key: String) -> Res<usize> {
    Ok(match which {
        Which::Cloudkit => c.cloudkit.get_object(BUCKET, key).send().await?.collect().await?.len(),
        Which::AwsSdk => {
            c.sdk.get_object().bucket(BUCKET).key(key).send().await?.body.collect().await?.into_bytes().len()
        }
        Which::ObjectStore => c.store.get(&object_store::path::Path::from(key)).await?.bytes().await?.len(),
    })
}

/// ops/s of `n` small PUTs (then GETs) at `concurrency`.
/// CPU time (user + system) this process has used so far, from /proc/self/stat (clock ticks of
/// 1/100 s on Linux).
fn process_cpu_seconds() -> Res<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // The fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).ok_or("unreadable /proc/self/stat")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields
        .get(11)
        .zip(fields.get(12))
        .map(|(u, s)| u.parse::<f64>().unwrap_or(0.0) + s.parse::<f64>().unwrap_or(0.0))
        .ok_or("short /proc/self/stat")?;
    Ok(ticks / 100.0)
}

async fn small_ops(c: &Clients, which: Which, concurrency: usize, n: usize) -> Res<(f64, f64)> {
    let body = Bytes::from(vec![0x42u8; SMALL]);
    let keys: Vec<String> = (0..n).map(|i| format!("small/{}/c{concurrency}/{i:06}", which.name())).collect();
    let start = Instant::now();
    futures::stream::iter(keys.iter().cloned())
        .map(|k| put_small(c, which, k, body.clone()))
        .buffer_unordered(concurrency)
        .try_collect::<()>()
        .await?;
    let put = n as f64 / start.elapsed().as_secs_f64();
    let start = Instant::now();
    let total: usize = futures::stream::iter(keys.iter().cloned())
        .map(|k| get_small(c, which, k))
        .buffer_unordered(concurrency)
        .try_fold(0, |a, b| async move { Ok(a + b) })
        .await?;
    assert_eq!(total, n * SMALL);
    let get = n as f64 / start.elapsed().as_secs_f64();
    Ok((put, get))
}

// -------------------------------------------------------------------------------------------------
// Large objects (child processes)

async fn large(c: &Clients, which: Which, op: &str, file: &Path) -> Res<u64> {
    let key = format!("large/{}", which.name());
    match (which, op) {
        (Which::Cloudkit, "upload") => {
            // Default settings; the time at which every part was stored is reported as a
            // diagnostic (the rest is CompleteMultipartUpload, which s3s-fs implements by copying
            // the parts into the final file).
            let start = Instant::now();
            let parts_done = Arc::new(std::sync::Mutex::new(None));
            let pd = parts_done.clone();
            let len = std::fs::metadata(file)?.len();
            let out = c
                .cloudkit
                .transfer_manager()
                .upload_file(file, BUCKET, key)
                .on_progress(move |p| {
                    if p.transferred == len {
                        *pd.lock().unwrap_or_else(|e| e.into_inner()) = Some(start.elapsed());
                    }
                })
                .send()
                .await?;
            let total = start.elapsed();
            if let Some(parts) = *parts_done.lock().unwrap_or_else(|e| e.into_inner()) {
                eprintln!(
                    "  diagnostic: cloudkit's {} parts were stored after {:.2}s, CompleteMultipartUpload took {:.2}s",
                    out.parts,
                    parts.as_secs_f64(),
                    (total - parts).as_secs_f64()
                );
            }
            Ok(out.size)
        }
        (Which::Cloudkit, "upload-single") => {
            let config = cloudkit_aws_s3::TransferConfig::default().with_multipart_threshold(u64::MAX);
            let tm = cloudkit_aws_s3::TransferManager::with_config(c.cloudkit.clone(), config);
            Ok(tm.upload_file(file, BUCKET, format!("{key}-single")).send().await?.size)
        }
        (Which::Cloudkit, "upload-crc64") => {
            // One PutObject with a CRC64NVME checksum, which s3s-fs stores (it keeps none for
            // multipart objects): the object of the checksum-cost rows.
            let len = std::fs::metadata(file)?.len();
            c.cloudkit
                .put_object(BUCKET, CRC64_KEY)
                .body(cloudkit_core::FileRegion::new(file, 0, len))
                .checksum_algorithm(cloudkit_aws_s3::ChecksumAlgorithm::Crc64Nvme)
                .send()
                .await?;
            Ok(len)
        }
        (Which::Cloudkit, "writer" | "writer-crc64" | "writer-crc64-unverified") => {
            let (client, key) = match op {
                "writer" => (&c.cloudkit, key),
                "writer-crc64" => (&c.cloudkit, CRC64_KEY.to_owned()),
                _ => (&c.cloudkit_unverified, CRC64_KEY.to_owned()),
            };
            let mut f = tokio::fs::File::create(file).await?;
            let out = client.transfer_manager().download(BUCKET, key).to_writer(&mut f).await?;
            if op != "writer-crc64-unverified" && out.checksum_verified.is_none() {
                return Err(format!("cloudkit {op}: nothing was verified").into());
            }
            Ok(out.size)
        }
        (Which::Cloudkit, _) => Ok(c.cloudkit.transfer_manager().download_file(BUCKET, key, file).await?.size),
        (Which::AwsSdk, "upload") => {
            let len = std::fs::metadata(file)?.len();
            let body = aws_sdk_s3::primitives::ByteStream::from_path(file).await?;
            c.sdk.put_object().bucket(BUCKET).key(key).content_length(len as i64).body(body).send().await?;
            Ok(len)
        }
        (Which::AwsSdk, _) => {
            let out = c.sdk.get_object().bucket(BUCKET).key(key).send().await?;
            let mut reader = out.body.into_async_read();
            let mut f = tokio::fs::File::create(file).await?;
            let n = tokio::io::copy(&mut reader, &mut f).await?;
            f.flush().await?;
            Ok(n)
        }
        (Which::ObjectStore, "upload") => {
            // object_store's own large-upload path: multipart through BufWriter.
            let mut w = object_store::buffered::BufWriter::new(c.store.clone(), object_store::path::Path::from(key));
            let mut f = tokio::fs::File::open(file).await?;
            let n = tokio::io::copy(&mut f, &mut w).await?;
            w.shutdown().await?;
            Ok(n)
        }
        (Which::ObjectStore, _) => {
            let mut stream = c.store.get(&object_store::path::Path::from(key)).await?.into_stream();
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
    }
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

/// Child: `s3-bench child ENDPOINT CLIENT upload|download FILE` → prints `RESULT <MiB/s> <VmHWM KiB>`.
async fn child(args: &[String]) -> Res<()> {
    let [endpoint, which, op, file] = args else { return Err("usage: child ENDPOINT CLIENT OP FILE".into()) };
    let which = Which::parse(which).ok_or("unknown client")?;
    let c = clients(endpoint).await?;
    let start = Instant::now();
    let n = large(&c, which, op, Path::new(file)).await?;
    let secs = start.elapsed().as_secs_f64();
    println!("RESULT {} {}", n as f64 / (1024.0 * 1024.0) / secs, vm_hwm_kib());
    Ok(())
}

fn run_child(endpoint: &str, which: Which, op: &str, file: &Path) -> Res<(f64, f64)> {
    let out = Command::new(std::env::current_exe()?)
        .args(["child", endpoint, which.name(), op])
        .arg(file)
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(format!("{} {op} failed: {}", which.name(), out.status).into());
    }
    result_line(&out.stdout)
}

/// boto3's `download_fileobj` of `key` into `file` (`boto3_download.py`), in a child process.
fn run_boto3(endpoint: &str, key: &str, file: &Path) -> Res<(f64, f64)> {
    let python = std::env::var("BENCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("boto3_download.py");
    let out = Command::new(&python)
        .arg(script)
        .args([endpoint, ACCESS_KEY, SECRET_KEY, BUCKET, key])
        .arg(file)
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("starting {python}: {e}"))?;
    if !out.status.success() {
        return Err(format!("boto3 download failed: {}", out.status).into());
    }
    result_line(&out.stdout)
}

/// `RESULT <MiB/s> <peak RSS KiB>` → (MiB/s, peak RSS MiB).
fn result_line(stdout: &[u8]) -> Res<(f64, f64)> {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().find(|l| l.starts_with("RESULT ")).ok_or("no RESULT line")?;
    let mut it = line.split_whitespace().skip(1);
    let mibs: f64 = it.next().ok_or("no MiB/s")?.parse()?;
    let hwm: f64 = it.next().ok_or("no VmHWM")?.parse()?;
    Ok((mibs, hwm / 1024.0))
}

// -------------------------------------------------------------------------------------------------
// Listing

async fn list(c: &Clients, which: Which) -> Res<usize> {
    Ok(match which {
        Which::Cloudkit => {
            c.cloudkit
                .list_objects_v2(BUCKET)
                .prefix("list/")
                .into_objects(cloudkit_aws_s3::PaginationConfig::default())
                .try_fold(0, |a, _| async move { Ok(a + 1) })
                .await?
        }
        Which::AwsSdk => {
            let mut pages = c.sdk.list_objects_v2().bucket(BUCKET).prefix("list/").into_paginator().send();
            let mut n = 0;
            while let Some(page) = pages.next().await {
                n += page?.contents().len();
            }
            n
        }
        Which::ObjectStore => {
            c.store
                .list(Some(&object_store::path::Path::from("list")))
                .try_fold(0, |a, _| async move { Ok(a + 1) })
                .await?
        }
    })
}

// -------------------------------------------------------------------------------------------------

struct S3sFs {
    child: Child,
    dir: PathBuf,
}

impl Drop for S3sFs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts an s3s-fs with its data in `scratch/<name>`, with `preload` in `LD_PRELOAD` if given.
fn start_s3s(scratch: &Path, name: &str, preload: Option<&Path>) -> Res<(S3sFs, String)> {
    let bin = std::env::var("S3S_FS").unwrap_or_else(|_| "../../target/tools/bin/s3s-fs".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let dir = scratch.join(name);
    std::fs::create_dir_all(dir.join(BUCKET))?;
    let mut command = Command::new(&bin);
    if let Some(lib) = preload {
        command.env("LD_PRELOAD", lib);
    }
    let child = command
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
            ACCESS_KEY,
            "--secret-key",
            SECRET_KEY,
        ])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {bin}: {e}"))?;
    let server = S3sFs { child, dir };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("s3s-fs did not start".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok((server, format!("http://127.0.0.1:{port}")))
}

/// Builds `nodelay.c` (the TCP_NODELAY shim) into `scratch/nodelay.so` with the system C compiler.
fn build_nodelay_shim(scratch: &Path) -> Res<PathBuf> {
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("nodelay.c");
    let lib = scratch.join("nodelay.so");
    let status = Command::new(&cc)
        .args(["-shared", "-fPIC", "-O2", "-o"])
        .arg(&lib)
        .arg(&src)
        .arg("-ldl")
        .status()
        .map_err(|e| format!("starting {cc}: {e}"))?;
    if !status.success() {
        return Err(format!("{cc} could not build {}: {status}", src.display()).into());
    }
    Ok(lib)
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

struct Row {
    name: String,
    unit: &'static str,
    values: [f64; 3],
    /// The target (for peak RSS, lower is better).
    target: String,
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "| {:<34} | {:>10} | {:>10} | {:>12} | {:>9} | {:>9} | {:<22} |",
        "workload", "cloudkit", "aws-sdk-s3", "object_store", "vs sdk", "vs o_s", "target"
    );
    println!("|{:-<36}|{:->12}|{:->12}|{:->14}|{:->11}|{:->11}|{:-<24}|", "", "", "", "", "", "", "");
    for r in rows {
        let ratio = |anchor: f64| if anchor <= 0.0 { "-".to_owned() } else { format!("{:.2}x", r.values[0] / anchor) };
        println!(
            "| {:<34} | {:>10.1} | {:>10.1} | {:>12.1} | {:>9} | {:>9} | {:<22} |",
            format!("{} ({})", r.name, r.unit),
            r.values[0],
            r.values[1],
            r.values[2],
            ratio(r.values[1]),
            ratio(r.values[2]),
            r.target
        );
    }
}

#[tokio::main]
async fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("child") {
        return child(&args[1..]).await;
    }
    let large_mib: usize = std::env::var("BENCH_LARGE_MIB").ok().and_then(|v| v.parse().ok()).unwrap_or(512);
    let scratch = std::env::var_os("BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(format!("s3-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let (_server, endpoint) = start_s3s(&scratch, "s3s-data", None)?;
    let shim = build_nodelay_shim(&scratch)?;
    let (_nodelay_server, nodelay_endpoint) = start_s3s(&scratch, "s3s-data-nodelay", Some(&shim))?;
    eprintln!(
        "s3s-fs at {endpoint} (large transfers, listing), with TCP_NODELAY at {nodelay_endpoint} (small operations), scratch {}",
        scratch.display()
    );
    let c = clients(&endpoint).await?;
    let small = clients(&nodelay_endpoint).await?;
    // `BENCH_PROFILE=<client>`: only the small operations at concurrency 1, many of them, for a
    // profiler (`perf record -g -- target/release/s3-bench`); no table.
    if let Some(w) = std::env::var("BENCH_PROFILE").ok().and_then(|v| Which::parse(&v)) {
        small_ops(&small, w, 4, 50).await?;
        let cpu = process_cpu_seconds()?;
        let (p, g) = small_ops(&small, w, 1, 4000).await?;
        let per_op = (process_cpu_seconds()? - cpu) / 8000.0 * 1e6;
        eprintln!("profile {}: PUT {p:.0}/s GET {g:.0}/s, client CPU {per_op:.0} µs per operation", w.name());
        return Ok(());
    }
    let mut rows = Vec::new();

    // Warm-up (connections, credentials).
    for w in Which::ALL {
        small_ops(&small, w, 4, 50).await?;
    }

    for (concurrency, n) in [(1usize, 400usize), (32, 3000)] {
        let mut put = [0.0; 3];
        let mut get = [0.0; 3];
        for (i, w) in Which::ALL.into_iter().enumerate() {
            let (p, g) = small_ops(&small, w, concurrency, n).await?;
            eprintln!("small c={concurrency} {}: PUT {p:.0}/s GET {g:.0}/s", w.name());
            put[i] = p;
            get[i] = g;
        }
        rows.push(Row {
            name: format!("PUT 4 KiB, concurrency {concurrency}"),
            unit: "ops/s",
            values: put,
            target: "≥1.0x object_store".into(),
        });
        rows.push(Row {
            name: format!("GET 4 KiB, concurrency {concurrency}"),
            unit: "ops/s",
            values: get,
            target: "≥1.0x object_store".into(),
        });
    }

    let src = scratch.join("large-src.bin");
    write_file(&src, large_mib)?;
    let mut up = [0.0; 3];
    let mut up_rss = [0.0; 3];
    let mut down = [0.0; 3];
    let mut down_rss = [0.0; 3];
    for (i, w) in Which::ALL.into_iter().enumerate() {
        let (mibs, rss) = run_child(&endpoint, w, "upload", &src)?;
        eprintln!("upload {} MiB {}: {mibs:.0} MiB/s, peak RSS {rss:.0} MiB", large_mib, w.name());
        up[i] = mibs;
        up_rss[i] = rss;
    }
    for (i, w) in Which::ALL.into_iter().enumerate() {
        let dst = scratch.join(format!("large-dst-{}.bin", w.name()));
        let (mibs, rss) = run_child(&endpoint, w, "download", &dst)?;
        eprintln!("download {} MiB {}: {mibs:.0} MiB/s, peak RSS {rss:.0} MiB", large_mib, w.name());
        let len = std::fs::metadata(&dst)?.len();
        assert_eq!(len, (large_mib as u64) << 20, "{} downloaded the whole object", w.name());
        std::fs::remove_file(&dst)?;
        down[i] = mibs;
        down_rss[i] = rss;
    }
    // Into a writer (a file written in order): cloudkit's to_writer and boto3's download_fileobj
    // of the object stored with a CRC64NVME checksum (S3's default; boto3 verifies nothing on
    // ranged GETs), to_writer without verification (what verifying costs), and to_writer of the
    // multipart object above (no checksum on s3s-fs: cloudkit recomputes its multipart ETag, MD5
    // in order).
    run_child(&endpoint, Which::Cloudkit, "upload-crc64", &src)?;
    let dst = scratch.join("large-dst-writer.bin");
    let whole = |what: &str| -> Res<()> {
        assert_eq!(std::fs::metadata(&dst)?.len(), (large_mib as u64) << 20, "{what} downloaded the whole object");
        std::fs::remove_file(&dst)?;
        Ok(())
    };
    // The upload's dirty pages written back first, then two alternating rounds, best of each
    // (the machine is shared: order and neighbours' load move single runs by tens of percent).
    let _ = Command::new("sync").status();
    let (mut crc, mut crc_rss, mut boto, mut boto_rss, mut off, mut off_rss, mut md5, mut md5_rss) =
        (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for _ in 0..2 {
        let (m, r) = run_child(&endpoint, Which::Cloudkit, "writer-crc64", &dst)?;
        whole("cloudkit")?;
        (crc, crc_rss) = (crc.max(m), crc_rss.max(r));
        let (m, r) = run_boto3(&endpoint, CRC64_KEY, &dst)?;
        whole("boto3")?;
        (boto, boto_rss) = (boto.max(m), boto_rss.max(r));
        let (m, r) = run_child(&endpoint, Which::Cloudkit, "writer-crc64-unverified", &dst)?;
        whole("cloudkit")?;
        (off, off_rss) = (off.max(m), off_rss.max(r));
        let (m, r) = run_child(&endpoint, Which::Cloudkit, "writer", &dst)?;
        whole("cloudkit")?;
        (md5, md5_rss) = (md5.max(m), md5_rss.max(r));
    }
    eprintln!(
        "into a writer {large_mib} MiB: cloudkit CRC64NVME-verified {crc:.0} MiB/s ({crc_rss:.0} MiB), unverified \
         {off:.0} MiB/s ({off_rss:.0} MiB), multipart-ETag-verified {md5:.0} MiB/s ({md5_rss:.0} MiB); boto3 \
         {boto:.0} MiB/s ({boto_rss:.0} MiB)"
    );
    let writer_rows = [
        ("to_writer (CRC64NVME) vs boto3, MiB/s", crc, boto, "≥1.0x"),
        ("to_writer (CRC64NVME) vs boto3, peak RSS MiB", crc_rss, boto_rss, "≤64 MiB"),
        ("to_writer verified vs unverified, MiB/s", crc, off, "≥0.95x"),
        ("to_writer (multipart ETag) vs boto3, MiB/s", md5, boto, "-"),
        ("to_writer (multipart ETag), peak RSS MiB", md5_rss, boto_rss, "≤64 MiB"),
    ];

    // Diagnostic, not a table row: cloudkit with multipart turned off (one streaming PutObject).
    let (single, single_rss) = run_child(&endpoint, Which::Cloudkit, "upload-single", &src)?;
    eprintln!(
        "  diagnostic: cloudkit as one PutObject (threshold off): {single:.0} MiB/s, peak RSS {single_rss:.0} MiB"
    );
    std::fs::remove_file(&src)?;
    rows.push(Row {
        name: format!("upload {large_mib} MiB"), unit: "MiB/s", values: up, target: "≥1.0x both".into()
    });
    rows.push(Row {
        name: format!("upload {large_mib} MiB peak RSS"),
        unit: "MiB",
        values: up_rss,
        target: "≤64 MiB".into(),
    });
    rows.push(Row {
        name: format!("download {large_mib} MiB"),
        unit: "MiB/s",
        values: down,
        target: "≥1.5x both".into(),
    });
    rows.push(Row {
        name: format!("download {large_mib} MiB peak RSS"),
        unit: "MiB",
        values: down_rss,
        target: "≤64 MiB".into(),
    });

    // Listing: 10,000 empty keys, written by cloudkit; best of 3 per client.
    eprintln!("writing {LIST_KEYS} keys for the listing workload");
    futures::stream::iter(0..LIST_KEYS)
        .map(|i| {
            let s3 = c.cloudkit.clone();
            async move { s3.put_object(BUCKET, format!("list/{i:06}")).send().await.map(|_| ()) }
        })
        .buffer_unordered(32)
        .try_collect::<()>()
        .await?;
    let mut listing = [0.0; 3];
    for (i, w) in Which::ALL.into_iter().enumerate() {
        let mut best = 0.0f64;
        for _ in 0..3 {
            let start = Instant::now();
            let n = list(&c, w).await?;
            assert_eq!(n, LIST_KEYS, "{} listed every key", w.name());
            best = best.max(n as f64 / start.elapsed().as_secs_f64());
        }
        eprintln!("list {}: {best:.0} keys/s", w.name());
        listing[i] = best;
    }
    rows.push(Row {
        name: format!("list {LIST_KEYS} keys"),
        unit: "keys/s",
        values: listing,
        target: "≥1.0x both".into(),
    });

    print_table(&rows);
    println!();
    println!(
        "| {:<44} | {:>10} | {:>10} | {:>7} | {:<9} |",
        format!("into a writer, {large_mib} MiB"),
        "cloudkit",
        "anchor",
        "ratio",
        "target"
    );
    println!("|{:-<46}|{:->12}|{:->12}|{:->9}|{:-<11}|", "", "", "", "", "");
    for (name, ours, anchor, target) in writer_rows {
        println!("| {name:<44} | {ours:>10.1} | {anchor:>10.1} | {:>6.2}x | {target:<9} |", ours / anchor);
    }
    drop(_nodelay_server);
    drop(_server);
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(())
}
