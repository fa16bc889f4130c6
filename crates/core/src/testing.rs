//! Test helpers (feature `test-util`): an [`HttpSend`] that replays canned responses and records
//! the requests it received, so clients can be tested for request shape and response parsing
//! without a server.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use cloudkit_core::testing::{Canned, ReplayHttp};
//! use cloudkit_core::{HttpRequest, Operation, Pipeline};
//!
//! let http = Arc::new(ReplayHttp::new());
//! http.push(Canned::status(200, "<ok/>").with_header("x-amz-request-id", "R1"));
//! let pipeline = Pipeline::builder("S3").http(http.clone()).build().unwrap();
//! let req = HttpRequest::new(http::Method::GET, "http://bucket.s3/key".parse().unwrap());
//! let resp = pipeline.send_buffered(&Operation::new("GetObject"), req).await.unwrap();
//! assert_eq!(&resp.body[..], b"<ok/>");
//! assert_eq!(http.requests()[0].url.path(), "/key");
//! # }
//! ```

/// Compiles only if `value`'s type is `Send` (for compile-time checks such as
/// [`assert_send!`](crate::assert_send)).
pub fn is_send<T: Send>(_value: &T) {}

/// Asserts at compile time that each future is `Send`, both alone and awaited inside another
/// future (as in `tokio::spawn(async move { fut.await })`, where borrowed arguments get
/// higher-ranked lifetimes — the case that catches most non-`Send` futures). The futures are
/// created and dropped, never polled: nothing is sent. Every provider crate checks every public
/// async operation this way (`src/futures_are_send.rs`, docs/ARCHITECTURE.md).
///
/// ```
/// async fn fetch(name: &str) -> usize { name.len() }
/// cloudkit_core::assert_send!(fetch("a"), async { 1 });
/// ```
#[macro_export]
macro_rules! assert_send {
    ($($future:expr),+ $(,)?) => {$({
        let future = $future;
        $crate::testing::is_send(&future);
        $crate::testing::is_send(&async {
            let _ = future.await;
        });
    })+};
}

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use url::Url;

use crate::error::{TransportError, TransportErrorKind};
use crate::request::{HttpRequest, HttpResponse};
use crate::send::HttpSend;

/// A new, empty directory under the system's temporary directory, removed with everything in it
/// when dropped (also when the test panics). It dereferences to its [`Path`](std::path::Path).
///
/// ```
/// let dir = cloudkit_core::testing::TempDir::new("doc").unwrap();
/// std::fs::write(dir.join("b"), b"x").unwrap();
/// std::fs::write(dir.join("a"), b"y").unwrap();
/// assert_eq!(dir.names().unwrap(), ["a", "b"]);
/// let path = dir.to_path_buf();
/// drop(dir);
/// assert!(!path.exists());
/// ```
#[derive(Debug)]
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates `{tmp}/ck-{label}-{pid}-{nanos:x}-{n}`, a name no other test or run uses.
    pub fn new(label: &str) -> std::io::Result<Self> {
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("ck-{label}-{}-{nanos:x}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }

    /// The names of the entries in the directory, sorted.
    pub fn names(&self) -> std::io::Result<Vec<String>> {
        let mut names = std::fs::read_dir(&self.0)?
            .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect::<std::io::Result<Vec<String>>>()?;
        names.sort();
        Ok(names)
    }
}

impl std::ops::Deref for TempDir {
    type Target = std::path::Path;

    fn deref(&self) -> &std::path::Path {
        &self.0
    }
}

impl AsRef<std::path::Path> for TempDir {
    fn as_ref(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One canned answer.
#[derive(Clone, Debug)]
pub struct Canned {
    kind: CannedKind,
}

#[derive(Clone, Debug)]
enum CannedKind {
    Response { status: StatusCode, headers: HeaderMap, body: Bytes, cut: Option<(usize, TransportErrorKind)> },
    Error(TransportErrorKind),
    Hang,
}

impl Canned {
    /// A response with `status` and `body`.
    pub fn status(status: u16, body: impl Into<Bytes>) -> Self {
        Self {
            kind: CannedKind::Response {
                status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                headers: HeaderMap::new(),
                body: body.into(),
                cut: None,
            },
        }
    }

    /// Adds a response header (ignored for errors; invalid names or values are skipped).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        if let CannedKind::Response { headers, .. } = &mut self.kind
            && let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value))
        {
            headers.append(n, v);
        }
        self
    }

    /// Makes the body break off after its first `after` bytes (ignored for errors), as a
    /// connection that fails mid-body does: [`ReplayHttp`] streams those bytes, then a transport
    /// error of `kind` (`Body` for a reset connection, `Timeout` for a stall past the read-idle
    /// timeout); [`TestServer`] sends the head (with the whole body's `Content-Length`) and those
    /// bytes, then closes the connection. For clients that resume broken downloads.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use cloudkit_core::testing::{Canned, ReplayHttp};
    /// use cloudkit_core::{HttpRequest, HttpSend, TransportErrorKind};
    /// use futures::StreamExt;
    ///
    /// let http = ReplayHttp::new();
    /// http.push(Canned::status(200, "0123456789").with_body_cut(4, TransportErrorKind::Body));
    /// let req = HttpRequest::new(http::Method::GET, "http://h/k".parse().unwrap());
    /// let mut body = http.send(req).await.unwrap().body;
    /// assert_eq!(&body.next().await.unwrap().unwrap()[..], b"0123");
    /// assert_eq!(body.next().await.unwrap().unwrap_err().kind(), TransportErrorKind::Body);
    /// # }
    /// ```
    pub fn with_body_cut(mut self, after: usize, kind: TransportErrorKind) -> Self {
        if let CannedKind::Response { cut, .. } = &mut self.kind {
            *cut = Some((after, kind));
        }
        self
    }

    /// A transport failure of `kind`.
    pub fn error(kind: TransportErrorKind) -> Self {
        Self { kind: CannedKind::Error(kind) }
    }

    /// A request that never gets an answer (to exercise timeouts).
    pub fn hang() -> Self {
        Self { kind: CannedKind::Hang }
    }
}

/// A request as [`ReplayHttp`] received it (after signing).
#[derive(Clone, Debug)]
pub struct RecordedRequest {
    /// The method.
    pub method: Method,
    /// The URL.
    pub url: Url,
    /// The headers.
    pub headers: HeaderMap,
    /// The body bytes.
    pub body: Bytes,
}

impl RecordedRequest {
    /// The (decoded) value of the first query parameter `name`, if the URL has one.
    pub fn query(&self, name: &str) -> Option<String> {
        self.url.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
}

/// Asserts that a listing across pages (a stream of items or errors, e.g. `into_items(..)`)
/// yields `expected` and that its requests carried no page token first, then each of `tokens`:
/// that the pages were followed token by token, and no further. `name` names the query parameter
/// of the token (`pageToken`, `marker`, `continuation-token`).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudkit_core::testing::{Canned, ReplayHttp, assert_listing};
/// use cloudkit_core::{HttpRequest, HttpSend};
///
/// let http = ReplayHttp::new();
/// let mut items = Vec::new();
/// for (url, item) in [("http://h/l", "a"), ("http://h/l?pageToken=t1", "b")] {
///     http.push(Canned::status(200, "{}"));
///     http.send(HttpRequest::new(http::Method::GET, url.parse().unwrap())).await.unwrap();
///     items.push(Ok::<_, std::io::Error>(item));
/// }
/// assert_listing(&http, "pageToken", futures::stream::iter(items), &["a", "b"], &["t1"]).await;
/// # }
/// ```
pub async fn assert_listing<T, U, E>(
    http: &ReplayHttp,
    name: &str,
    items: impl futures::Stream<Item = Result<T, E>>,
    expected: &[U],
    tokens: &[&str],
) where
    T: std::fmt::Debug + PartialEq<U>,
    U: std::fmt::Debug,
    E: std::fmt::Display,
{
    use futures::TryStreamExt;
    let items: Result<Vec<T>, E> = items.try_collect().await;
    let items = items.map_err(|e| e.to_string());
    assert!(items.is_ok(), "the listing failed: {}", items.as_ref().err().map_or("", String::as_str));
    assert_eq!(items.unwrap_or_default(), expected, "the items of the listing");
    let sent: Vec<Option<String>> = http.query_values(name);
    let wanted: Vec<Option<String>> =
        std::iter::once(None).chain(tokens.iter().map(|t| Some((*t).to_owned()))).collect();
    assert_eq!(sent, wanted, "the {name} of each request");
}

/// Replays queued [`Canned`] answers in order and records every request.
#[derive(Debug, Default)]
pub struct ReplayHttp {
    queue: Mutex<VecDeque<Canned>>,
    requests: Mutex<Vec<(RecordedRequest, tokio::time::Instant)>>,
}

impl ReplayHttp {
    /// An empty replay (a request with nothing queued gets a transport error).
    pub fn new() -> Self {
        Self::default()
    }

    /// Queues an answer.
    pub fn push(&self, canned: Canned) {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).push_back(canned);
    }

    /// The requests received so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(r, _)| r.clone()).collect()
    }

    /// The query parameter `name` of each request received so far, in order (`None` where a
    /// request had none): e.g. the page tokens a listing sent, `[None, Some("t1"), …]`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use cloudkit_core::testing::{Canned, ReplayHttp};
    /// use cloudkit_core::{HttpRequest, HttpSend};
    ///
    /// let http = ReplayHttp::new();
    /// for url in ["http://h/l", "http://h/l?pageToken=t%201"] {
    ///     http.push(Canned::status(200, "{}"));
    ///     http.send(HttpRequest::new(http::Method::GET, url.parse().unwrap())).await.unwrap();
    /// }
    /// assert_eq!(http.query_values("pageToken"), [None, Some("t 1".to_owned())]);
    /// # }
    /// ```
    pub fn query_values(&self, name: &str) -> Vec<Option<String>> {
        self.requests().iter().map(|r| r.query(name)).collect()
    }

    /// When each request arrived (tokio time, so paused-clock tests can check delays).
    pub fn request_times(&self) -> Vec<tokio::time::Instant> {
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(_, t)| *t).collect()
    }

    /// Answers still queued.
    pub fn remaining(&self) -> usize {
        self.queue.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

#[async_trait]
impl HttpSend for ReplayHttp {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let body = request
            .body
            .collect()
            .await
            .map_err(|e| TransportError::new(TransportErrorKind::RequestBody, "body unreadable").with_source(e))?;
        let recorded = RecordedRequest { method: request.method, url: request.url, headers: request.headers, body };
        self.requests.lock().unwrap_or_else(|p| p.into_inner()).push((recorded, tokio::time::Instant::now()));
        let next = self.queue.lock().unwrap_or_else(|p| p.into_inner()).pop_front();
        match next.map(|c| c.kind) {
            Some(CannedKind::Response { status, headers, body, cut: None }) => {
                Ok(HttpResponse::new(status, headers, body))
            }
            Some(CannedKind::Response { status, headers, body, cut: Some((after, kind)) }) => {
                let head = body.slice(..after.min(body.len()));
                let broken = TransportError::new(kind, "canned: the body broke off");
                let body = crate::ByteStream::new(futures::stream::iter([Ok(head), Err(broken)]));
                Ok(HttpResponse { status, headers, body })
            }
            Some(CannedKind::Error(kind)) => Err(TransportError::new(kind, "canned transport error")),
            Some(CannedKind::Hang) => futures::future::pending().await,
            None => Err(TransportError::new(TransportErrorKind::Other, "ReplayHttp: no canned response left")),
        }
    }
}

/// A real HTTP/1.1 server on `127.0.0.1` (a random port) that answers every request with what a
/// handler returns, for tests of clients whose peer has no emulator (EC2/ECS metadata endpoints,
/// the SSO portal, Azure managed identity). It runs on its own threads, needs no tokio runtime,
/// answers one request per connection (`connection: close`) and stops when dropped.
///
/// The handler's [`Canned`] decides the answer: a response is sent as is, an error closes the
/// connection without answering, and [`Canned::hang`] keeps the connection open without answering.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use std::sync::Arc;
/// use cloudkit_core::testing::{Canned, TestServer};
/// use cloudkit_core::{HttpClientConfig, HttpRequest, Operation, Pipeline, ReqwestSend};
///
/// let server = TestServer::start(|req| match req.url.path() {
///     "/hello" => Canned::status(200, "hi").with_header("content-type", "text/plain"),
///     _ => Canned::status(404, ""),
/// })
/// .unwrap();
/// let http = ReqwestSend::shared(&HttpClientConfig::default()).unwrap();
/// let pipeline = Pipeline::builder("Test").http(http).build().unwrap();
/// let req = HttpRequest::new(http::Method::GET, server.url("/hello"));
/// let resp = pipeline.send_buffered(&Operation::new("Hello"), req).await.unwrap();
/// assert_eq!(&resp.body[..], b"hi");
/// assert_eq!(server.requests()[0].url.path(), "/hello");
/// # }
/// ```
pub struct TestServer {
    addr: std::net::SocketAddr,
    base: Url,
    state: std::sync::Arc<ServerState>,
}

type Handler = dyn Fn(&RecordedRequest) -> Canned + Send + Sync + 'static;

struct ServerState {
    handler: Box<Handler>,
    requests: Mutex<Vec<RecordedRequest>>,
    stop: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for TestServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestServer").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl TestServer {
    /// Starts a server answering every request with `handler(request)`.
    pub fn start(handler: impl Fn(&RecordedRequest) -> Canned + Send + Sync + 'static) -> std::io::Result<Self> {
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let base = Url::parse(&format!("http://{addr}/"))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let state = std::sync::Arc::new(ServerState {
            handler: Box::new(handler),
            requests: Mutex::new(Vec::new()),
            stop: std::sync::atomic::AtomicBool::new(false),
        });
        let accept_state = state.clone();
        std::thread::Builder::new().name(format!("test-server-{}", addr.port())).spawn(move || {
            for stream in listener.incoming() {
                if accept_state.stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let conn_state = accept_state.clone();
                let _ = std::thread::Builder::new().spawn(move || serve_connection(stream, addr, &conn_state));
            }
        })?;
        Ok(Self { addr, base, state })
    }

    /// The server's address.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>` followed by `path_and_query` (which should start with `/`; one
    /// that does not parse gives the base URL).
    pub fn url(&self, path_and_query: &str) -> Url {
        self.base.join(path_and_query).unwrap_or_else(|_| self.base.clone())
    }

    /// `http://127.0.0.1:<port>/`.
    pub fn base_url(&self) -> Url {
        self.base.clone()
    }

    /// The requests received so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.state.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

fn serve_connection(mut stream: std::net::TcpStream, addr: std::net::SocketAddr, state: &ServerState) {
    use std::io::{Read, Write};
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(10)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let header_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break pos;
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..header_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let method = Method::from_bytes(request_line.next().unwrap_or("GET").as_bytes()).unwrap_or(Method::GET);
    let target = request_line.next().unwrap_or("/");
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(n), Ok(v)) =
                (HeaderName::from_bytes(name.trim().as_bytes()), HeaderValue::from_str(value.trim()))
        {
            headers.append(n, v);
        }
    }
    let content_length: usize = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[header_end + 4..].to_vec();
    while body.len() < content_length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    let Ok(url) = Url::parse(&format!("http://{addr}{target}")) else { return };
    let recorded = RecordedRequest { method, url, headers, body: Bytes::from(body) };
    let answer = (state.handler)(&recorded);
    state.requests.lock().unwrap_or_else(|p| p.into_inner()).push(recorded);
    match answer.kind {
        CannedKind::Response { status, headers, body, cut } => {
            let mut out = format!(
                "HTTP/1.1 {} {}\r\ncontent-length: {}\r\nconnection: close\r\n",
                status.as_u16(),
                status.canonical_reason().unwrap_or("Status"),
                body.len()
            )
            .into_bytes();
            for (name, value) in &headers {
                out.extend_from_slice(name.as_str().as_bytes());
                out.extend_from_slice(b": ");
                out.extend_from_slice(value.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(&body[..cut.map_or(body.len(), |(after, _)| after.min(body.len()))]);
            let _ = stream.write_all(&out);
            let _ = stream.flush();
        }
        CannedKind::Error(_) => {}
        CannedKind::Hang => {
            while !state.stop.load(std::sync::atomic::Ordering::SeqCst) {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
    }
}
