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

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use url::Url;

use crate::error::{TransportError, TransportErrorKind};
use crate::request::{HttpRequest, HttpResponse};
use crate::send::HttpSend;

/// One canned answer.
#[derive(Clone, Debug)]
pub struct Canned {
    kind: CannedKind,
}

#[derive(Clone, Debug)]
enum CannedKind {
    Response { status: StatusCode, headers: HeaderMap, body: Bytes },
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
            Some(CannedKind::Response { status, headers, body }) => Ok(HttpResponse::new(status, headers, body)),
            Some(CannedKind::Error(kind)) => Err(TransportError::new(kind, "canned transport error")),
            Some(CannedKind::Hang) => futures::future::pending().await,
            None => Err(TransportError::new(TransportErrorKind::Other, "ReplayHttp: no canned response left")),
        }
    }
}
