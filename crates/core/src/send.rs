//! The HTTP seam: everything that leaves the process goes through [`HttpSend`], so clients can be
//! unit-tested against canned responses (see [`ReplayHttp`](crate::testing::ReplayHttp) and the
//! `mock` feature) and users can plug in their own transport.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};

use crate::body::{Body, ByteStream};
use crate::error::{TransportError, TransportErrorKind};
use crate::request::{HttpRequest, HttpResponse};

/// Sends one HTTP request and returns the response with its body still streaming.
///
/// Implementations do not retry, sign or time out requests: the [`Pipeline`](crate::Pipeline)
/// does that around them.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait HttpSend: Send + Sync + std::fmt::Debug {
    /// Sends `request`.
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError>;
}

/// Connection settings of the shared HTTP client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpClientConfig {
    /// Time allowed to establish a connection (TCP + TLS). Default 3.1 s, as the AWS SDKs.
    pub connect_timeout: Duration,
    /// Longest pause allowed between two reads of a response. Default 30 s.
    pub read_idle_timeout: Duration,
    /// How long an idle pooled connection is kept. Default 90 s.
    pub pool_idle_timeout: Duration,
    /// Idle connections kept per host. Default 64 (enough for parallel part transfers).
    pub pool_max_idle_per_host: usize,
    /// User-Agent header.
    pub user_agent: String,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_millis(3100),
            read_idle_timeout: Duration::from_secs(30),
            pool_idle_timeout: Duration::from_secs(90),
            pool_max_idle_per_host: 64,
            user_agent: concat!("cloudkit/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// The default [`HttpSend`]: one `reqwest::Client` (one connection pool), HTTP/1.1, rustls with
/// the `ring` provider. Clone it freely: clones share the pool.
#[derive(Clone, Debug)]
pub struct ReqwestSend {
    client: reqwest::Client,
}

/// Installs `ring` as the process-wide rustls crypto provider unless the application already
/// installed one (reqwest is built without a provider to keep aws-lc out of the build).
pub fn install_default_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

impl ReqwestSend {
    /// A client with the given settings.
    pub fn new(config: &HttpClientConfig) -> Result<Self, TransportError> {
        install_default_crypto_provider();
        let client = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_idle_timeout)
            .pool_idle_timeout(config.pool_idle_timeout)
            .pool_max_idle_per_host(config.pool_max_idle_per_host)
            .user_agent(config.user_agent.clone())
            .tcp_nodelay(true)
            // Cloud APIs do not redirect across hosts, and a redirect would carry session tokens
            // and metadata tokens in its headers to the new host: a 3xx is returned as it is
            // (the pipeline makes it an error).
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                TransportError::new(TransportErrorKind::Other, "could not build the HTTP client")
                    .with_source(e.without_url())
            })?;
        Ok(Self { client })
    }

    /// Wraps an existing `reqwest::Client` (its settings are used as they are).
    pub fn from_client(client: reqwest::Client) -> Self {
        Self { client }
    }

    /// A shareable handle.
    pub fn shared(config: &HttpClientConfig) -> Result<Arc<dyn HttpSend>, TransportError> {
        Ok(Arc::new(Self::new(config)?))
    }
}

fn map_reqwest_error(e: reqwest::Error) -> TransportError {
    let kind = if e.is_connect() {
        TransportErrorKind::Connect
    } else if e.is_timeout() {
        TransportErrorKind::Timeout
    } else if e.is_body() || e.is_decode() {
        TransportErrorKind::Body
    } else if e.is_request() {
        TransportErrorKind::Request
    } else {
        TransportErrorKind::Other
    };
    let message = match kind {
        TransportErrorKind::Connect => "could not connect",
        TransportErrorKind::Timeout => "timed out",
        TransportErrorKind::Body => "response body failed",
        TransportErrorKind::Request => "request failed",
        _ => "HTTP error",
    };
    TransportError::new(kind, message).with_source(e.without_url())
}

async fn to_reqwest_body(body: Body) -> Result<reqwest::Body, TransportError> {
    Ok(match body {
        Body::Empty => reqwest::Body::from(bytes::Bytes::new()),
        Body::Bytes(b) => reqwest::Body::from(b),
        Body::File(region) => {
            let stream = region.stream().await.map_err(|e| {
                TransportError::new(TransportErrorKind::RequestBody, "could not open the file to upload").with_source(e)
            })?;
            reqwest::Body::wrap_stream(stream)
        }
    })
}

#[async_trait]
impl HttpSend for ReqwestSend {
    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, TransportError> {
        let HttpRequest { method, url, mut headers, body } = request;
        let len = body.len();
        let needs_length = len > 0 || matches!(method, http::Method::PUT | http::Method::POST);
        if needs_length && !headers.contains_key(http::header::CONTENT_LENGTH) {
            headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(len));
        }
        let body = to_reqwest_body(body).await?;
        let response =
            self.client.request(method, url).headers(headers).body(body).send().await.map_err(map_reqwest_error)?;
        let status = response.status();
        let headers = response.headers().clone();
        let stream = response.bytes_stream().map_err(map_reqwest_error);
        Ok(HttpResponse { status, headers, body: ByteStream::new(stream.boxed()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Canned, TestServer};

    /// Issue 15, defect 16: reqwest followed up to 10 redirects, sending headers such as
    /// `x-amz-security-token` to the new host. A 3xx now comes back as it is.
    #[tokio::test]
    async fn redirects_are_not_followed() {
        let elsewhere = TestServer::start(|_| Canned::status(200, "stolen")).unwrap();
        let target = elsewhere.base_url().join("/collect").unwrap().to_string();
        let server = TestServer::start(move |_| Canned::status(302, "").with_header("location", &target)).unwrap();
        let http = ReqwestSend::new(&HttpClientConfig::default()).unwrap();
        let request = HttpRequest::new(http::Method::GET, server.base_url().join("/object").unwrap())
            .header("x-amz-security-token", "SESSION-TOKEN")
            .unwrap();
        let response = http.send(request).await.unwrap();
        assert_eq!(response.status.as_u16(), 302);
        assert!(elsewhere.requests().is_empty(), "the token went to the redirect target");
    }
}
