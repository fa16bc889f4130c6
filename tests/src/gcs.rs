//! GCS setup shared by the tests against gcp-storage-emulator.

use cloudkit_cred_chain::gcp::{GcpConfig, GcpEnv};
use cloudkit_gcp_storage::{ClientBuilder, StorageClient};

use crate::testbed::{self, Emulator};

/// A [`GcpConfig`] whose only environment is `STORAGE_EMULATOR_HOST` pointing at the emulator, so it
/// is in emulator mode (anonymous, plain HTTP).
///
/// # Panics
/// When the emulator is not configured (run `scripts/testbed.sh up`), the configuration does not load
/// or it is not in emulator mode.
pub async fn emulator_config() -> GcpConfig {
    let host = testbed::endpoint(Emulator::Gcs);
    let env = GcpEnv::from_pairs([("STORAGE_EMULATOR_HOST", host.as_str())]);
    let config = GcpConfig::loader()
        .env(env)
        .load()
        .await
        .unwrap_or_else(|e| panic!("could not load the emulator configuration: {e}"));
    assert!(config.is_emulator(), "STORAGE_EMULATOR_HOST={host} did not select emulator mode");
    config
}

/// A GCS [`ClientBuilder`] for the emulator (see [`emulator_config`]), for tests that set a
/// blob signer or other overrides.
///
/// # Panics
/// As [`emulator_config`].
pub async fn storage_client_builder() -> ClientBuilder {
    StorageClient::builder(&emulator_config().await)
}

/// A GCS [`StorageClient`] for the emulator (see [`emulator_config`]).
///
/// # Panics
/// As [`emulator_config`], or when the client cannot be built.
pub async fn storage_client() -> StorageClient {
    storage_client_builder().await.build().unwrap_or_else(|e| panic!("could not build the GCS client: {e}"))
}

/// Creates a bucket named [`unique_name`](crate::unique_name)`(label)` on the emulator and returns its
/// name.
///
/// # Panics
/// When the bucket cannot be created.
pub async fn create_bucket(client: &StorageClient, label: &str) -> String {
    let name = crate::unique_name(label);
    client.insert_bucket(&name).send().await.unwrap_or_else(|e| panic!("could not create bucket {name}: {e}"));
    name
}

/// A loopback HTTP proxy in front of gcp-storage-emulator that breaks off whole-object downloads:
/// the first [`CuttingProxy::start`]`(.., cuts, ..)` `GET …?alt=media` requests without a `Range`
/// header get the response head and `keep` bytes of the body, then the connection is closed, the
/// way a reset or a truncating middlebox ends a download. Every other request is relayed whole.
///
/// The emulator answers HTTP/1.0 and closes each connection, so the proxy handles one request per
/// connection. Bounded: heads up to 64 KiB, bodies as the emulator sends them, a 30 s limit on each
/// exchange; it stops when dropped.
pub struct CuttingProxy {
    addr: std::net::SocketAddr,
    requests: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

/// What the proxy does at a cut.
#[derive(Clone)]
pub struct Cut {
    /// How many whole-object downloads are cut (then all are relayed whole).
    pub cuts: usize,
    /// How many body bytes a cut download gets before the connection closes.
    pub keep: usize,
    /// When set, the proxy reports each cut here and waits for the notification before closing
    /// the connection (the test changes the object meanwhile).
    pub pause: Option<(tokio::sync::mpsc::Sender<()>, std::sync::Arc<tokio::sync::Notify>)>,
}

impl CuttingProxy {
    /// Starts the proxy in front of the emulator of the testbed.
    ///
    /// # Panics
    /// When the emulator endpoint is not a `http://host:port` loopback address or no port can be
    /// bound.
    pub async fn start(cut: Cut) -> CuttingProxy {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::{Arc, Mutex};
        let endpoint = testbed::endpoint(Emulator::Gcs);
        let upstream: std::net::SocketAddr = endpoint
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("the GCS emulator endpoint {endpoint} is not host:port ({e})"));
        assert!(upstream.ip().is_loopback(), "the proxy only relays to loopback");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let left = Arc::new(AtomicUsize::new(cut.cuts));
        let seen = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                let (seen, left, cut) = (seen.clone(), left.clone(), cut.clone());
                tokio::spawn(async move {
                    let exchange = relay(client, upstream, seen, left, cut);
                    let _ = tokio::time::timeout(std::time::Duration::from_secs(30), exchange).await;
                });
            }
        });

        /// One request: read it, relay it, relay the answer (or part of it).
        async fn relay(
            mut client: tokio::net::TcpStream,
            upstream: std::net::SocketAddr,
            seen: Arc<Mutex<Vec<String>>>,
            left: Arc<AtomicUsize>,
            cut: Cut,
        ) -> std::io::Result<()> {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut request = Vec::new();
            let head_end = read_head(&mut client, &mut request).await?;
            let head = String::from_utf8_lossy(&request[..head_end]).to_ascii_lowercase();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while request.len() < head_end + length {
                let mut buf = vec![0u8; 64 * 1024];
                let n = client.read(&mut buf).await?;
                if n == 0 {
                    break;
                }
                request.extend_from_slice(&buf[..n]);
            }
            let line = head.lines().next().unwrap_or_default().to_owned();
            let ranged = head.lines().any(|l| l.starts_with("range:"));
            seen.lock().unwrap_or_else(|p| p.into_inner()).push(if ranged {
                let range = head.lines().find(|l| l.starts_with("range:")).unwrap_or_default();
                format!("{line} [{range}]")
            } else {
                line.clone()
            });
            let mut server = tokio::net::TcpStream::connect(upstream).await?;
            server.write_all(&request).await?;
            let mut response = Vec::new();
            server.read_to_end(&mut response).await?;
            let whole_download = line.starts_with("get ") && line.contains("alt=media") && !ranged;
            let cutting =
                whole_download && left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok();
            if !cutting {
                client.write_all(&response).await?;
                return client.shutdown().await;
            }
            let body_start = response.windows(4).position(|w| w == b"\r\n\r\n").map_or(response.len(), |i| i + 4);
            let upto = (body_start + cut.keep).min(response.len());
            client.write_all(&response[..upto]).await?;
            client.flush().await?;
            if let Some((reached, resume)) = &cut.pause {
                let _ = reached.send(()).await;
                resume.notified().await;
            }
            // Drop without a clean close: the client sees the body end early.
            drop(client);
            Ok(())
        }

        async fn read_head(client: &mut tokio::net::TcpStream, into: &mut Vec<u8>) -> std::io::Result<usize> {
            use tokio::io::AsyncReadExt;
            loop {
                if let Some(i) = into.windows(4).position(|w| w == b"\r\n\r\n") {
                    return Ok(i + 4);
                }
                if into.len() > 64 * 1024 {
                    return Err(std::io::Error::other("request head over 64 KiB"));
                }
                let mut buf = [0u8; 8192];
                let n = client.read(&mut buf).await?;
                if n == 0 {
                    return Err(std::io::Error::other("the client closed before the head ended"));
                }
                into.extend_from_slice(&buf[..n]);
            }
        }

        CuttingProxy { addr, requests, task }
    }

    /// `http://127.0.0.1:<port>`, to use as `STORAGE_EMULATOR_HOST`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The requests relayed so far: the request line, lowercased, with the `Range` header when one
    /// was sent (`get /storage/v1/b/b/o/x?alt=media http/1.1 [range: bytes=10-99]`).
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// A storage client for the emulator, reached through this proxy.
    ///
    /// # Panics
    /// When the configuration does not load or the client cannot be built.
    pub async fn client(&self) -> StorageClient {
        let env = GcpEnv::from_pairs([("STORAGE_EMULATOR_HOST", self.url())]);
        let config = GcpConfig::loader().env(env).load().await.expect("the proxied emulator configuration");
        StorageClient::new(&config).expect("a client through the proxy")
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}
