//! The pieces the in-process fakes of this crate share ([`crate::arm`]'s Azure Resource Manager,
//! [`crate::gce`]'s Compute Engine): a bounded plain HTTP/1.1 server on `127.0.0.1`, the request log
//! entry with the bearer token redacted, an answer under construction, and an RFC 3339 clock.
//!
//! The server: an ephemeral port on loopback only; one thread accepting, one thread per connection
//! (at most [`MAX_CONNECTIONS`] at once, more are closed unanswered); one request per connection
//! (`connection: close`); request heads up to 64 KiB (431 beyond), `Content-Length` bodies up to 4 MiB
//! (413 beyond, 411 for chunked bodies); 10 s of silence per connection. It needs no async runtime, so it
//! serves tests of any tokio flavour. Dropping it stops it. (`cloudkit_core::testing::TestServer` is not
//! used: it keeps every request, bearer tokens included, without a bound, and has no connection limit.)

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use cloudkit_core::testing::RecordedRequest;
use cloudkit_core::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Url};
use serde_json::Value;

/// At most this many connections are served at once; more are closed unanswered.
pub const MAX_CONNECTIONS: usize = 64;
/// The most requests a fake's log keeps (older ones are dropped).
pub const MAX_RECORDED: usize = 10_000;
/// The largest request head accepted (larger: 431).
const MAX_HEAD: usize = 64 * 1024;
/// The largest request body accepted (larger: 413).
pub(crate) const MAX_BODY: usize = 4 * 1024 * 1024;
/// How long a connection may stay silent while a request is read or an answer written.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

/// One request as a fake received it, the bearer token replaced by `<redacted>`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FakeRequest {
    /// The method (`GET`, `PUT`, …).
    pub method: String,
    /// The path, as sent (percent-encoded).
    pub path: String,
    /// The path and query, as sent.
    pub path_and_query: String,
    /// The decoded query parameters, in order.
    pub query: Vec<(String, String)>,
    /// The headers, lowercase names; `authorization` is `Bearer <redacted>`.
    pub headers: Vec<(String, String)>,
    /// The body as text (empty for requests whose body holds a secret: token requests).
    pub body: String,
}

impl FakeRequest {
    /// The value of query parameter `name` (e.g. `api-version`, `pageToken`).
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// The `api-version` query parameter (ARM).
    pub fn api_version(&self) -> Option<&str> {
        self.query_param("api-version")
    }

    /// The value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Value::Null` when empty or not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// The log entry of `req`: the `authorization` value replaced by `<scheme> <redacted>`, the body
    /// dropped when `keep_body` is false.
    pub(crate) fn from_recorded(req: &RecordedRequest, keep_body: bool) -> Self {
        let headers = req
            .headers
            .iter()
            .map(|(n, v)| {
                let value = if n.as_str() == "authorization" {
                    let text = v.to_str().unwrap_or("");
                    match text.split_once(' ') {
                        Some((scheme, _)) => format!("{scheme} <redacted>"),
                        None => "<redacted>".to_owned(),
                    }
                } else {
                    String::from_utf8_lossy(v.as_bytes()).into_owned()
                };
                (n.as_str().to_owned(), value)
            })
            .collect();
        let path_and_query = match req.url.query() {
            Some(q) => format!("{}?{q}", req.url.path()),
            None => req.url.path().to_owned(),
        };
        Self {
            method: req.method.as_str().to_owned(),
            path: req.url.path().to_owned(),
            path_and_query,
            query: req.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect(),
            headers,
            body: if keep_body { String::from_utf8_lossy(&req.body).into_owned() } else { String::new() },
        }
    }
}

/// Appends `entry` to a log bounded to [`MAX_RECORDED`] entries (the oldest is dropped).
pub(crate) fn push_bounded(log: &mut Vec<FakeRequest>, entry: FakeRequest) {
    if log.len() >= MAX_RECORDED {
        log.remove(0);
    }
    log.push(entry);
}

/// An answer under construction.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: Option<Value>,
    pub(crate) headers: Vec<(String, String)>,
}

impl Reply {
    pub(crate) fn json(status: u16, body: Value) -> Self {
        Self { status, body: Some(body), headers: Vec::new() }
    }

    pub(crate) fn empty(status: u16) -> Self {
        Self { status, body: None, headers: Vec::new() }
    }

    pub(crate) fn text(status: u16, text: &str) -> Self {
        Self { status, body: Some(Value::String(text.to_owned())), headers: Vec::new() }
            .header("content-type", "application/text")
    }

    pub(crate) fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// What a handler answers: status, headers, body.
pub(crate) type Answer = (u16, Vec<(String, String)>, Vec<u8>);

/// The function that answers each request (called on the connection's thread).
pub(crate) type Handler = Arc<dyn Fn(&RecordedRequest) -> Answer + Send + Sync>;

/// The current time as `YYYY-MM-DDThh:mm:ssZ`.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// `secs` since the Unix epoch as `YYYY-MM-DDThh:mm:ssZ`.
pub fn rfc3339(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A plain HTTP/1.1 server on `127.0.0.1` (see the [module docs](self)). Dropping it stops it.
pub(crate) struct Server {
    addr: SocketAddr,
    pub(crate) base: Url,
    stop: Arc<AtomicBool>,
}

/// One connection slot, given back when the connection's thread ends (or never starts).
struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Server {
    /// Starts serving on an ephemeral port; `name` names the threads (`{name}-{port}`).
    pub(crate) fn start(name: &str, handler: Handler) -> std::io::Result<Self> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let base = Url::parse(&format!("http://{addr}/"))
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let stop = Arc::new(AtomicBool::new(false));
        let accept_stop = stop.clone();
        let active = Arc::new(AtomicUsize::new(0));
        let conn_name = format!("{name}-{}-conn", addr.port());
        std::thread::Builder::new().name(format!("{name}-{}", addr.port())).spawn(move || {
            for stream in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                if active.fetch_add(1, Ordering::SeqCst) >= MAX_CONNECTIONS {
                    active.fetch_sub(1, Ordering::SeqCst);
                    continue; // closed unanswered: the client sees a reset and may retry
                }
                let slot = Slot(active.clone());
                let handler = handler.clone();
                let _ = std::thread::Builder::new().name(conn_name.clone()).spawn(move || {
                    let _slot = slot;
                    serve_connection(stream, addr, &handler);
                });
            }
        })?;
        Ok(Self { addr, base, stop })
    }

    /// `http://127.0.0.1:<port>{path_and_query}`.
    pub(crate) fn url(&self, path_and_query: &str) -> Url {
        self.base.join(path_and_query).unwrap_or_else(|_| self.base.clone())
    }

    /// `127.0.0.1:<port>`.
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn write_answer(stream: &mut TcpStream, status: u16, headers: &[(String, String)], body: &[u8]) {
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Status");
    let mut out =
        format!("HTTP/1.1 {status} {reason}\r\ncontent-length: {}\r\nconnection: close\r\n", body.len()).into_bytes();
    for (name, value) in headers {
        out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    let _ = stream.write_all(&out);
    let _ = stream.flush();
}

fn serve_connection(mut stream: TcpStream, addr: SocketAddr, handler: &Handler) {
    let _ = stream.set_read_timeout(Some(IO_TIMEOUT));
    let _ = stream.set_write_timeout(Some(IO_TIMEOUT));
    // A refusal is written before the request was read whole: close gently (stop writing, drain
    // what the client still sends for a moment) so the client reads the answer instead of a reset.
    let refuse = |stream: &mut TcpStream, status: u16| {
        write_answer(stream, status, &[], b"");
        let _ = stream.shutdown(std::net::Shutdown::Write);
        let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
        let mut sink = [0u8; 8192];
        let mut drained = 0;
        while drained < MAX_BODY {
            match stream.read(&mut sink) {
                Ok(0) | Err(_) => break,
                Ok(n) => drained += n,
            }
        }
    };
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            if pos > MAX_HEAD {
                return refuse(&mut stream, 431);
            }
            break pos;
        }
        if buf.len() > MAX_HEAD + 3 {
            return refuse(&mut stream, 431);
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or_default().split(' ');
    let (Some(method), Some(target)) = (request_line.next(), request_line.next()) else {
        return refuse(&mut stream, 400);
    };
    let Ok(method) = Method::from_bytes(method.as_bytes()) else { return refuse(&mut stream, 400) };
    let mut headers = HeaderMap::new();
    for line in lines {
        if let Some((name, value)) = line.split_once(':')
            && let (Ok(n), Ok(v)) =
                (HeaderName::from_bytes(name.trim().as_bytes()), HeaderValue::from_str(value.trim()))
        {
            headers.append(n, v);
        }
    }
    if headers.contains_key("transfer-encoding") {
        return refuse(&mut stream, 411); // Content-Length bodies only
    }
    let length = match headers.get("content-length").map(|v| v.to_str().ok().and_then(|v| v.parse::<usize>().ok())) {
        None => 0,
        Some(Some(n)) if n <= MAX_BODY => n,
        Some(Some(_)) => return refuse(&mut stream, 413),
        Some(None) => return refuse(&mut stream, 400),
    };
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    body.truncate(length);
    let Ok(url) = Url::parse(&format!("http://{addr}{target}")) else { return refuse(&mut stream, 400) };
    let request = RecordedRequest { method, url, headers, body: Bytes::from(body) };
    let (status, headers, body) = handler(&request);
    write_answer(&mut stream, status, &headers, &body);
}

/// The body bytes of `reply` (a JSON string value is sent as plain text) and whether it has one.
pub(crate) fn reply_body(reply: &Reply, is_head: bool) -> Vec<u8> {
    match (&reply.body, is_head) {
        (_, true) | (None, _) => Vec::new(),
        (Some(Value::String(s)), false) if reply.headers.iter().any(|(n, _)| n == "content-type") => {
            s.clone().into_bytes()
        }
        (Some(v), false) => serde_json::to_vec(v).unwrap_or_default(),
    }
}
