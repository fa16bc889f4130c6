//! SharedKey authorization (the `Authorization: SharedKey account:signature` header).

use std::collections::BTreeMap;
use std::time::SystemTime;

use async_trait::async_trait;
use cloudkit_core::{HeaderValue, HttpRequest, Sign, SignError};

use super::{AccountKey, AzureSignError, STORAGE_API_VERSION};

/// The SharedKey string-to-sign of `request` (version 2015-02-21 and later):
/// `VERB\nContent-Encoding\nContent-Language\nContent-Length\nContent-MD5\nContent-Type\nDate\n
/// If-Modified-Since\nIf-Match\nIf-None-Match\nIf-Unmodified-Since\nRange\n` + canonicalized
/// `x-ms-*` headers + `/{account}{path}` + `\nname:value` per (lowercased, sorted) query parameter.
///
/// Against a path-style endpoint (Azurite) the path already starts with the account, so the
/// canonical resource reads `/devstoreaccount1/devstoreaccount1/container/blob`.
pub fn string_to_sign(request: &HttpRequest, account: &str) -> String {
    let header = |name: &str| -> String {
        request.headers.get_all(name).iter().filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",")
    };
    let mut content_length = header("content-length");
    if content_length.is_empty() {
        let len = request.body.len();
        if len > 0 {
            content_length = len.to_string();
        }
    }
    if content_length == "0" {
        content_length.clear();
    }
    let mut out = String::with_capacity(256);
    out.push_str(request.method.as_str());
    out.push('\n');
    for (name, value) in [
        ("content-encoding", header("content-encoding")),
        ("content-language", header("content-language")),
        ("content-length", content_length),
        ("content-md5", header("content-md5")),
        ("content-type", header("content-type")),
        ("date", header("date")),
        ("if-modified-since", header("if-modified-since")),
        ("if-match", header("if-match")),
        ("if-none-match", header("if-none-match")),
        ("if-unmodified-since", header("if-unmodified-since")),
        ("range", header("range")),
    ] {
        let _ = name;
        out.push_str(&value);
        out.push('\n');
    }
    // canonicalized headers
    let mut ms: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in &request.headers {
        let lower = name.as_str().to_ascii_lowercase();
        if lower.starts_with("x-ms-") {
            let v = value.to_str().unwrap_or_default().trim().to_owned();
            ms.entry(lower).or_default().push(v);
        }
    }
    for (name, values) in ms {
        out.push_str(&name);
        out.push(':');
        out.push_str(&values.join(","));
        out.push('\n');
    }
    // canonicalized resource
    out.push('/');
    out.push_str(account);
    let path = request.url.path();
    out.push_str(if path.is_empty() { "/" } else { path });
    let mut params: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in request.url.query_pairs() {
        params.entry(k.to_ascii_lowercase()).or_default().push(v.into_owned());
    }
    for (k, mut values) in params {
        values.sort();
        out.push('\n');
        out.push_str(&k);
        out.push(':');
        out.push_str(&values.join(","));
    }
    out
}

/// The `Authorization` header value for `request`, which must already carry `x-ms-date` and
/// `x-ms-version`.
pub fn shared_key_authorization(request: &HttpRequest, key: &AccountKey) -> Result<String, AzureSignError> {
    let signature = key.sign(&string_to_sign(request, key.account()))?;
    Ok(format!("SharedKey {}:{signature}", key.account()))
}

/// Signs every request with the account key: sets `x-ms-date` (now), `x-ms-version` (when the
/// request has none) and `Authorization: SharedKey …`.
#[derive(Clone, Debug)]
pub struct SharedKeySigner {
    key: AccountKey,
}

impl SharedKeySigner {
    /// A signer for this account key.
    pub fn new(key: AccountKey) -> Self {
        Self { key }
    }

    /// The key.
    pub fn key(&self) -> &AccountKey {
        &self.key
    }

    /// Signs `request` as of `now`.
    pub fn sign_at(&self, request: &mut HttpRequest, now: SystemTime) -> Result<(), AzureSignError> {
        set_standard_headers(request, now)?;
        let auth = shared_key_authorization(request, &self.key)?;
        let value = HeaderValue::from_str(&auth).map_err(|e| AzureSignError::Hmac(e.to_string()))?;
        request.headers.insert(http_name("authorization"), value);
        Ok(())
    }
}

fn http_name(name: &'static str) -> cloudkit_core::HeaderName {
    cloudkit_core::HeaderName::from_static(name)
}

/// Sets `x-ms-date` and, when missing, `x-ms-version`.
pub(crate) fn set_standard_headers(request: &mut HttpRequest, now: SystemTime) -> Result<(), AzureSignError> {
    let date = cloudkit_core::internal::date::http_date(now)
        .ok_or_else(|| AzureSignError::Hmac("the clock is outside 1970–9999".to_owned()))?;
    let value = HeaderValue::from_str(&date).map_err(|e| AzureSignError::Hmac(e.to_string()))?;
    request.headers.insert(http_name("x-ms-date"), value);
    if !request.headers.contains_key("x-ms-version") {
        request.headers.insert(http_name("x-ms-version"), HeaderValue::from_static(STORAGE_API_VERSION));
    }
    Ok(())
}

#[async_trait]
impl Sign for SharedKeySigner {
    async fn sign(&self, request: &mut HttpRequest) -> Result<(), SignError> {
        self.sign_at(request, SystemTime::now()).map_err(|e| SignError::Signing(Box::new(e)))
    }
}
