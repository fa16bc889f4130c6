//! The HTTP request and response types that flow through the pipeline.

use http::header::{HeaderName, HeaderValue};
use http::{HeaderMap, Method, StatusCode};
use url::Url;

use crate::body::{Body, ByteStream};

/// An HTTP request, built by a provider client, signed by a [`Sign`](crate::Sign) step and sent by
/// an [`HttpSend`](crate::HttpSend). Cloning is cheap (the body is reference-counted or a file
/// region), which is how every retry resends the same request.
#[derive(Clone, Debug)]
pub struct HttpRequest {
    /// The method.
    pub method: Method,
    /// The full URL, query included.
    pub url: Url,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Body,
}

/// A header name or value that HTTP does not allow (e.g. a newline in user metadata).
#[derive(Debug, thiserror::Error)]
#[error("invalid HTTP header `{name}`: {reason}")]
pub struct InvalidHeader {
    /// The header name as given.
    pub name: String,
    /// Why it was refused.
    pub reason: &'static str,
}

impl HttpRequest {
    /// A request with no headers and no body.
    pub fn new(method: Method, url: Url) -> Self {
        Self { method, url, headers: HeaderMap::new(), body: Body::Empty }
    }

    /// Sets the body.
    pub fn with_body(mut self, body: impl Into<Body>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets a JSON body (already serialized) and `content-type: application/json`.
    pub fn with_json_body(mut self, json: impl Into<Body>) -> Self {
        self.headers.insert(http::header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        self.with_body(json)
    }

    /// Sets a header from strings that may come from user input; bad names or values are errors.
    pub fn insert_header(&mut self, name: &str, value: &str) -> Result<(), InvalidHeader> {
        let header_name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| InvalidHeader { name: name.to_owned(), reason: "not a valid header name" })?;
        let header_value = HeaderValue::from_str(value).map_err(|_| InvalidHeader {
            name: name.to_owned(),
            reason: "value has characters HTTP headers cannot carry",
        })?;
        self.headers.insert(header_name, header_value);
        Ok(())
    }

    /// Builder form of [`insert_header`](Self::insert_header).
    pub fn header(mut self, name: &str, value: &str) -> Result<Self, InvalidHeader> {
        self.insert_header(name, value)?;
        Ok(self)
    }

    /// The URL without its query string, safe to log (queries may carry signatures).
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// A URL without query and credentials, for logs and errors.
pub fn redact_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    let _ = u.set_password(None);
    let _ = u.set_username("");
    u.to_string()
}

/// An HTTP response whose body may still be streaming.
#[derive(Debug)]
pub struct HttpResponse {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: ByteStream,
}

impl HttpResponse {
    /// A response with an in-memory body.
    pub fn new(status: StatusCode, headers: HeaderMap, body: bytes::Bytes) -> Self {
        Self { status, headers, body: ByteStream::from_bytes(body) }
    }

    /// A header value as text, if present and valid UTF-8.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_header_values_are_errors_not_panics() {
        let mut r = HttpRequest::new(Method::GET, Url::parse("http://h/").unwrap());
        assert!(r.insert_header("x-amz-meta-a", "line\nbreak").is_err());
        assert!(r.insert_header("bad name", "v").is_err());
        r.insert_header("x-amz-meta-a", "ok").unwrap();
        assert_eq!(r.headers["x-amz-meta-a"], "ok");
    }

    #[test]
    fn redaction_drops_query_and_userinfo() {
        let u = Url::parse("https://user:pw@h.example/b/k?X-Amz-Signature=abc&sig=zzz").unwrap();
        assert_eq!(redact_url(&u), "https://h.example/b/k");
    }
}
