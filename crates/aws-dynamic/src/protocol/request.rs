//! Serialising an operation's input (already validated) into an HTTP request, byte for byte as
//! botocore does: JSON bodies as Python's `json.dumps` writes them, query bodies in input order,
//! XML as ElementTree writes it, CBOR with botocore's encodings.

use serde_json::{Map, Value};

use cloudkit_aws_protocol::{QUERY_CONTENT_TYPE, QueryBody};
use cloudkit_core::internal::json::write_str_ascii;
use cloudkit_core::{encode_path, encode_unreserved};

use super::Protocol;
use super::cbor::CborWriter;
use super::xml::XmlWriter;
use crate::models::ServiceModel;
use crate::shapes::{self, Member, Shape};

/// A serialised request, before the endpoint is applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct WireRequest {
    /// `GET`, `POST`, …
    pub(crate) method: String,
    /// The path (percent-encoded), possibly with a literal query from the model (`/b?uploads`).
    pub(crate) path: String,
    /// Query parameters (not encoded), in order.
    pub(crate) query: Vec<(String, String)>,
    /// Headers, in order.
    pub(crate) headers: Vec<(String, String)>,
    /// The body.
    pub(crate) body: Vec<u8>,
    /// The expanded `endpoint.hostPrefix` of the operation, if any.
    pub(crate) host_prefix: Option<String>,
}

impl WireRequest {
    fn header(&mut self, name: &str, value: impl Into<String>) {
        self.headers.push((name.to_owned(), value.into()));
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|(k, _)| k.eq_ignore_ascii_case(name))
    }

    /// The path and query as botocore joins them (`/key?uploads&partNumber=1`).
    pub(crate) fn path_and_query(&self) -> String {
        let mut out = self.path.clone();
        for (i, (k, v)) in self.query.iter().enumerate() {
            out.push(if i == 0 && !self.path.contains('?') { '?' } else { '&' });
            out.push_str(&encode_unreserved(k));
            out.push('=');
            out.push_str(&encode_unreserved(v));
        }
        out
    }
}

/// Serialises `input` (validated against the operation's input shape) for `operation`.
pub(crate) fn serialize(
    model: &ServiceModel,
    protocol: Protocol,
    operation: &str,
    input: &Value,
) -> Result<WireRequest, String> {
    let op =
        model.operation(operation).ok_or_else(|| format!("the {} model has no operation {operation}", model.name()))?;
    let http = op.get("http").and_then(Value::as_object);
    let http_str = |k: &str| http.and_then(|h| h.get(k)).and_then(Value::as_str);
    let shapes = model.shapes();
    let input_shape =
        op.get("input").and_then(|i| i.get("shape")).and_then(Value::as_str).map(|name| Shape::get(shapes, name));
    let empty = Map::new();
    let params = input.as_object().unwrap_or(&empty);
    let mut req = WireRequest { method: http_str("method").unwrap_or("POST").to_owned(), ..Default::default() };
    match protocol {
        Protocol::Json => {
            let target = model.metadata("targetPrefix").unwrap_or_default();
            let version = model.metadata("jsonVersion").unwrap_or("1.0");
            req.path = "/".to_owned();
            req.header("X-Amz-Target", format!("{target}.{operation}"));
            req.header("Content-Type", format!("application/x-amz-json-{version}"));
            query_compatible(model, &mut req);
            let mut body = String::new();
            match input_shape {
                Some(shape) => write_json_structure(shape, params, &mut body, JsonTime::Epoch),
                None => body.push_str("{}"),
            }
            req.body = body.into_bytes();
        }
        Protocol::RpcV2Cbor => {
            let target = model.metadata("targetPrefix").unwrap_or_default();
            req.method = "POST".to_owned();
            req.path = format!("/service/{target}/operation/{operation}");
            if let Some(shape) = input_shape {
                let mut w = CborWriter::default();
                w.structure(shape, params);
                req.body = w.into_bytes();
            }
            req.header("smithy-protocol", "rpc-v2-cbor");
            query_compatible(model, &mut req);
            req.header("Accept", "application/cbor");
            if !req.body.is_empty() {
                req.header("Content-Type", "application/cbor");
            }
        }
        Protocol::Query | Protocol::Ec2 => {
            req.path = http_str("requestUri").unwrap_or("/").to_owned();
            let mut body = QueryBody::new(operation, model.api_version());
            if let Some(shape) = input_shape {
                let mut pairs = Vec::new();
                query_structure(shape, params, "", &mut pairs, protocol == Protocol::Ec2);
                for (k, v) in pairs {
                    body.push(&k, &v);
                }
            }
            req.header("Content-Type", QUERY_CONTENT_TYPE);
            req.body = body.into_bytes().to_vec();
        }
        Protocol::RestJson | Protocol::RestXml => {
            let uri = http_str("requestUri").unwrap_or("/");
            let uri = if is_s3(model) { strip_bucket(uri) } else { uri.to_owned() };
            let input_ref = op.get("input").and_then(Value::as_object);
            rest(&mut req, protocol, input_shape, input_ref, params, &uri)?;
        }
    }
    if let Some(prefix) = op.get("endpoint").and_then(|e| e.get("hostPrefix")).and_then(Value::as_str) {
        req.host_prefix = Some(expand_host_prefix(prefix, params)?);
    }
    if let Some(shape) = input_shape {
        request_checksum(op, shape, params, &mut req)?;
    }
    Ok(req)
}

/// botocore's request checksums (`httpchecksum.resolve_request_checksum_algorithm` with the
/// default `request_checksum_calculation = when_supported`): an operation with an
/// `httpChecksum.requestAlgorithmMember` or a required checksum gets an
/// `x-amz-checksum-<algorithm>` header over the body, the caller's algorithm if the input names
/// one, else CRC32 (and the algorithm member's header says `CRC32`). A checksum header the
/// caller set is kept. botocore sends streaming input over https with the checksum in an
/// aws-chunked trailer instead; this client always sends it as a header, which S3 accepts.
fn request_checksum(
    op: &Map<String, Value>,
    shape: Shape<'_>,
    params: &Map<String, Value>,
    req: &mut WireRequest,
) -> Result<(), String> {
    if req.headers.iter().any(|(k, _)| k.to_ascii_lowercase().starts_with("x-amz-checksum-")) {
        return Ok(());
    }
    let http_checksum = op.get("httpChecksum").and_then(Value::as_object);
    let member = http_checksum.and_then(|c| c.get("requestAlgorithmMember")).and_then(Value::as_str);
    let given = member.and_then(|m| params.get(m)).and_then(Value::as_str);
    let algorithm = match given {
        Some(name) => name.to_ascii_lowercase(),
        None if checksum_required(op) || member.is_some() => {
            if let Some(m) = member.and_then(|m| shape.member(m))
                && m.location() == Some("header")
            {
                req.header(m.wire_name(), "CRC32");
            }
            "crc32".to_owned()
        }
        None => return Ok(()),
    };
    let digest = checksum(&algorithm, &req.body).ok_or_else(|| {
        let name = member.unwrap_or("ChecksumAlgorithm");
        format!("{name}: unsupported checksum algorithm {algorithm:?} (this client computes CRC32, CRC32C, SHA1, SHA256 and SHA512)")
    })?;
    req.header(&format!("x-amz-checksum-{algorithm}"), digest);
    Ok(())
}

/// The base64 checksum of `body` by `algorithm` (lower case), as S3 expects it.
pub(crate) fn checksum(algorithm: &str, body: &[u8]) -> Option<String> {
    use sha2::Digest as _;
    Some(match algorithm {
        "crc32" => shapes::b64(&crc32fast::hash(body).to_be_bytes()),
        "crc32c" => shapes::b64(&crc32c::crc32c(body).to_be_bytes()),
        "sha1" => shapes::b64(&sha1::Sha1::digest(body)),
        "sha256" => shapes::b64(&sha2::Sha256::digest(body)),
        "sha512" => shapes::b64(&sha2::Sha512::digest(body)),
        _ => return None,
    })
}

/// Whether the model is S3's (whose rule-set endpoints carry the bucket, so the URIs drop it).
pub(crate) fn is_s3(model: &ServiceModel) -> bool {
    model.metadata("endpointPrefix") == Some("s3") && model.metadata("signatureVersion") == Some("s3")
}

/// botocore's `remove_bucket_from_url_paths_from_model`: `/{Bucket}/{Key+}` → `/{Key+}`,
/// `/{Bucket}?uploads` → `/?uploads`.
fn strip_bucket(uri: &str) -> String {
    match uri.strip_prefix("/{Bucket}") {
        Some(rest) if rest.is_empty() || rest.starts_with('?') => format!("/{rest}"),
        Some(rest) => rest.to_owned(),
        None => uri.to_owned(),
    }
}

/// Operations whose requests must carry a checksum (`httpChecksumRequired`, or
/// `httpChecksum.requestChecksumRequired`): a `Content-MD5`.
fn checksum_required(op: &Map<String, Value>) -> bool {
    op.get("httpChecksumRequired").and_then(Value::as_bool).unwrap_or(false)
        || op
            .get("httpChecksum")
            .and_then(|c| c.get("requestChecksumRequired"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
}

/// The `x-amzn-query-mode: true` header of services with the `awsQueryCompatible` trait.
fn query_compatible(model: &ServiceModel, req: &mut WireRequest) {
    if model.has_metadata("awsQueryCompatible") {
        req.header("x-amzn-query-mode", "true");
    }
}

fn expand_host_prefix(template: &str, params: &Map<String, Value>) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map(|e| start + e).ok_or("malformed hostPrefix in the model")?;
        let name = &rest[start + 1..end];
        let value =
            params.get(name).and_then(Value::as_str).ok_or_else(|| format!("{name}: missing required member"))?;
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            return Err(format!("{name}: {value:?} is not a valid host label"));
        }
        out.push_str(value);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// JSON (json, rest-json bodies), written as Python's json.dumps does

#[derive(Clone, Copy, PartialEq, Eq)]
enum JsonTime {
    Epoch,
}

/// `open`, each item written by `write` with `, ` between them (`json.dumps`' separator), `close`.
fn write_joined<I>(
    out: &mut String,
    open: char,
    items: impl IntoIterator<Item = I>,
    close: char,
    mut write: impl FnMut(I, &mut String),
) {
    out.push(open);
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write(item, out);
    }
    out.push(close);
}

/// A JSON object member as `json.dumps` writes it: the key, `: `, the value written by `write`.
fn write_member(out: &mut String, key: &str, write: impl FnOnce(&mut String)) {
    write_str_ascii(out, key);
    out.push_str(": ");
    write(out);
}

/// Any JSON value as `json.dumps` writes it (`, ` and `: ` separators, ASCII escapes).
pub(crate) fn write_python_json(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&shapes::python_number(n)),
        Value::String(s) => write_str_ascii(out, s),
        Value::Array(items) => write_joined(out, '[', items, ']', write_python_json),
        Value::Object(map) => write_joined(out, '{', map, '}', |(k, v), out| {
            write_member(out, k, |out| write_python_json(v, out));
        }),
    }
}

fn write_json_structure(shape: Shape<'_>, params: &Map<String, Value>, out: &mut String, time: JsonTime) {
    let members = params.iter().filter(|(_, value)| !value.is_null());
    let members = members.filter_map(|(name, value)| Some((shape.member(name)?, value)));
    write_joined(out, '{', members, '}', |(member, value), out| {
        write_member(out, member.wire_name(), |out| write_json(member, value, out, time));
    });
}

fn write_json(member: Member<'_>, value: &Value, out: &mut String, time: JsonTime) {
    let shape = member.shape;
    if shape.flag("document") {
        write_python_json(value, out);
        return;
    }
    match (shape.kind(), value) {
        ("structure", Value::Object(map)) => write_json_structure(shape, map, out, time),
        ("map", Value::Object(map)) => {
            let inner = shape.child("value");
            write_joined(out, '{', map, '}', |(k, v), out| write_member(out, k, |out| write_json(inner, v, out, time)));
        }
        ("list", Value::Array(items)) => {
            let inner = shape.child("member");
            write_joined(out, '[', items, ']', |item, out| write_json(inner, item, out, time));
        }
        ("timestamp", v) => match shapes::input_time(v) {
            Ok(t) => match member.timestamp_format() {
                Some("iso8601") => write_str_ascii(out, &shapes::iso8601(t)),
                Some("rfc822") => write_str_ascii(out, &shapes::rfc822(t)),
                _ => out.push_str(&(shapes::epoch_seconds(t) as u64).to_string()),
            },
            Err(_) => write_python_json(v, out),
        },
        ("blob", v) => match shapes::input_blob(v) {
            Ok(bytes) => write_str_ascii(out, &shapes::b64(&bytes)),
            Err(_) => write_python_json(v, out),
        },
        (_, v) => write_python_json(v, out),
    }
}

// ---------------------------------------------------------------------------------------------
// query and ec2

fn query_name(member: Member<'_>, ec2: bool) -> String {
    if ec2 {
        if let Some(q) = member.def.get("queryName").and_then(Value::as_str) {
            return q.to_owned();
        }
        if let Some(n) = member.def.get("locationName").and_then(Value::as_str) {
            let mut chars = n.chars();
            return chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default();
        }
        return member.name.to_owned();
    }
    member.wire_name().to_owned()
}

fn query_structure(
    shape: Shape<'_>,
    params: &Map<String, Value>,
    prefix: &str,
    out: &mut Vec<(String, String)>,
    ec2: bool,
) {
    for (name, value) in params {
        let Some(member) = shape.member(name) else { continue };
        if value.is_null() {
            continue;
        }
        let key = query_name(member, ec2);
        let key = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
        query_value(member, value, &key, out, ec2);
    }
}

fn query_value(member: Member<'_>, value: &Value, prefix: &str, out: &mut Vec<(String, String)>, ec2: bool) {
    let shape = member.shape;
    match (shape.kind(), value) {
        ("structure", Value::Object(map)) => query_structure(shape, map, prefix, out, ec2),
        ("list", Value::Array(items)) => {
            let inner = shape.child("member");
            if ec2 {
                for (i, item) in items.iter().enumerate() {
                    query_value(inner, item, &format!("{prefix}.{}", i + 1), out, ec2);
                }
                return;
            }
            if items.is_empty() {
                out.push((prefix.to_owned(), String::new()));
                return;
            }
            let list_prefix = if member.flattened() {
                match inner.def.get("locationName").and_then(Value::as_str) {
                    Some(name) => match prefix.rsplit_once('.') {
                        Some((head, _)) => format!("{head}.{name}"),
                        None => name.to_owned(),
                    },
                    None => prefix.to_owned(),
                }
            } else {
                format!("{prefix}.{}", inner.def.get("locationName").and_then(Value::as_str).unwrap_or("member"))
            };
            for (i, item) in items.iter().enumerate() {
                query_value(inner, item, &format!("{list_prefix}.{}", i + 1), out, ec2);
            }
        }
        ("map", Value::Object(map)) => {
            let full = if member.flattened() { prefix.to_owned() } else { format!("{prefix}.entry") };
            let (key, val) = (shape.child("key"), shape.child("value"));
            let key_name = key.def.get("locationName").and_then(Value::as_str).unwrap_or("key");
            let val_name = val.def.get("locationName").and_then(Value::as_str).unwrap_or("value");
            for (i, (k, v)) in map.iter().enumerate() {
                query_value(key, &Value::String(k.clone()), &format!("{full}.{}.{key_name}", i + 1), out, ec2);
                query_value(val, v, &format!("{full}.{}.{val_name}", i + 1), out, ec2);
            }
        }
        ("timestamp", v) => match shapes::input_time(v) {
            Ok(t) => out.push((prefix.to_owned(), format_time(member.timestamp_format(), "iso8601", t))),
            Err(_) => out.push((prefix.to_owned(), shapes::scalar_text(v))),
        },
        ("blob", v) => {
            let bytes = shapes::input_blob(v).unwrap_or_default();
            out.push((prefix.to_owned(), shapes::b64(&bytes)));
        }
        (_, v) => out.push((prefix.to_owned(), shapes::scalar_text(v))),
    }
}

fn format_time(format: Option<&str>, default: &str, t: std::time::SystemTime) -> String {
    match format.unwrap_or(default) {
        "rfc822" => shapes::rfc822(t),
        "unixTimestamp" => (shapes::epoch_seconds(t) as u64).to_string(),
        _ => shapes::iso8601(t),
    }
}

// ---------------------------------------------------------------------------------------------
// rest-json and rest-xml

fn rest(
    req: &mut WireRequest,
    protocol: Protocol,
    shape: Option<Shape<'_>>,
    input_ref: Option<&Map<String, Value>>,
    params: &Map<String, Value>,
    uri: &str,
) -> Result<(), String> {
    let Some(shape) = shape else {
        req.path = uri.to_owned();
        return Ok(());
    };
    let mut labels: Vec<(&str, &Value, Member<'_>)> = Vec::new();
    let mut body: Map<String, Value> = Map::new();
    for (name, value) in params {
        let Some(member) = shape.member(name) else { continue };
        if value.is_null() {
            continue;
        }
        let key = member.wire_name();
        match member.location() {
            Some("uri") => labels.push((key, value, member)),
            Some("querystring") => match (member.shape.kind(), value) {
                ("map", Value::Object(map)) => {
                    let inner = member.shape.child("value");
                    for (k, v) in map {
                        match v {
                            Value::Array(items) => {
                                for item in items {
                                    req.query.push((k.clone(), uri_value(inner.shape.child("member"), item)));
                                }
                            }
                            v => req.query.push((k.clone(), uri_value(inner, v))),
                        }
                    }
                }
                ("list", Value::Array(items)) => {
                    let inner = member.shape.child("member");
                    for item in items {
                        req.query.push((key.to_owned(), uri_value(inner, item)));
                    }
                }
                _ => req.query.push((key.to_owned(), uri_value(member, value))),
            },
            Some("header") => {
                if member.shape.kind() == "list" && value.as_array().is_some_and(Vec::is_empty) {
                    continue;
                }
                req.header(key, header_value(member, value));
            }
            Some("headers") => {
                if let Value::Object(map) = value {
                    for (k, v) in map {
                        req.header(&format!("{key}{k}"), shapes::scalar_text(v));
                    }
                }
            }
            _ => {
                body.insert(name.clone(), value.clone());
            }
        }
    }
    req.path = render_uri(uri, &labels)?;

    let payload = shape.str("payload").and_then(|p| shape.member(p));
    let streaming = payload.is_some_and(|m| matches!(m.shape.kind(), "blob" | "string"));
    if let Some(payload) = payload {
        let value = params.get(payload.name).filter(|v| !v.is_null());
        if streaming {
            req.body = match value {
                Some(Value::String(s)) => s.clone().into_bytes(),
                Some(v) => shapes::input_blob(v).unwrap_or_default(),
                None => Vec::new(),
            };
        } else if let Some(Value::Object(map)) = value {
            req.body = rest_body(protocol, payload.shape, Some(payload), map);
        } else if protocol == Protocol::RestJson {
            req.body = b"{}".to_vec();
        }
    } else if !body.is_empty() {
        // The operation's `input` reference may name the root element and its namespace
        // (Route 53's `ChangeResourceRecordSetsRequest xmlns=…`), as botocore's
        // `shape.serialization` carries them.
        let input_member = input_ref.map(|def| Member { name: "input", def, shape });
        req.body = rest_body(protocol, shape, input_member, &body);
    } else if protocol == Protocol::RestJson && shape.members().iter().any(|m| m.location().is_none()) {
        req.body = b"{}".to_vec();
    }
    if protocol == Protocol::RestJson && !streaming && !req.body.is_empty() && !req.has_header("Content-Type") {
        req.header("Content-Type", "application/json");
    }
    Ok(())
}

fn rest_body(
    protocol: Protocol,
    shape: Shape<'_>,
    payload: Option<Member<'_>>,
    params: &Map<String, Value>,
) -> Vec<u8> {
    match protocol {
        Protocol::RestXml => {
            let root = payload
                .and_then(|m| m.def.get("locationName").and_then(Value::as_str))
                .or_else(|| shape.str("locationName"))
                .unwrap_or(shape.name);
            let mut w = XmlWriter::default();
            w.structure(shape, payload, params, root);
            w.into_bytes()
        }
        _ => {
            let mut out = String::new();
            write_json_structure(shape, params, &mut out, JsonTime::Epoch);
            out.into_bytes()
        }
    }
}

/// A label, query or header value as text (botocore's `_get_uri_and_query_string_value`).
fn uri_value(member: Member<'_>, value: &Value) -> String {
    match member.shape.kind() {
        "timestamp" => match shapes::input_time(value) {
            Ok(t) => format_time(member.timestamp_format(), "iso8601", t),
            Err(_) => shapes::scalar_text(value),
        },
        _ => shapes::scalar_text(value),
    }
}

fn header_value(member: Member<'_>, value: &Value) -> String {
    let shape = member.shape;
    match shape.kind() {
        "timestamp" => match shapes::input_time(value) {
            Ok(t) => format_time(member.timestamp_format(), "rfc822", t),
            Err(_) => shapes::scalar_text(value),
        },
        "list" => {
            let inner = shape.child("member");
            let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
            items
                .iter()
                .filter(|v| !v.is_null())
                .map(|v| match v {
                    Value::String(s) if inner.shape.kind() == "string" && (s.contains('"') || s.contains(',')) => {
                        format!("\"{}\"", s.replace('"', "\\\""))
                    }
                    v => header_value(inner, v),
                })
                .collect::<Vec<_>>()
                .join(",")
        }
        "string" if member.flag("jsonvalue") => {
            let text = serde_json::to_string(value).unwrap_or_default();
            shapes::b64(text.as_bytes())
        }
        _ => shapes::scalar_text(value),
    }
}

fn render_uri(uri: &str, labels: &[(&str, &Value, Member<'_>)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = uri;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').map(|e| start + e).ok_or("malformed requestUri in the model")?;
        let label = &rest[start + 1..end];
        let (name, greedy) = match label.strip_suffix('+') {
            Some(name) => (name, true),
            None => (label, false),
        };
        let (_, value, member) =
            labels.iter().find(|(k, _, _)| *k == name).ok_or_else(|| format!("{name}: missing required member"))?;
        let text = uri_value(*member, value);
        if text.is_empty() {
            return Err(format!("{name}: must not be empty (it is part of the URL path)"));
        }
        if text.split('/').any(|seg| seg == "." || seg == "..") {
            return Err(format!("{name}: {text:?} has `.` or `..` segments, which would address another resource"));
        }
        out.push_str(&if greedy { encode_path(&text) } else { encode_unreserved(&text) });
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn python_json_matches_json_dumps() {
        let mut out = String::new();
        write_python_json(&json!({"a": [1, 2.5, true, null], "b": "é\"\n", "c": {}}), &mut out);
        assert_eq!(out, r#"{"a": [1, 2.5, true, null], "b": "\u00e9\"\n", "c": {}}"#);
    }

    #[test]
    fn checksums_are_botocores() {
        // Values from botocore's `CrtCrc32Checksum` / `Crc32Checksum` and hashlib for b"hi".
        assert_eq!(checksum("crc32", b"hi").as_deref(), Some("2JMqrA=="));
        assert_eq!(checksum("crc32", b"").as_deref(), Some("AAAAAA=="));
        assert_eq!(checksum("crc32c", b"hi").as_deref(), Some("9Z3Zwg=="));
        assert_eq!(checksum("sha1", b"hi").as_deref(), Some("witfkXg0JglCjW9RssWvTAveakI="));
        assert_eq!(checksum("sha256", b"hi").as_deref(), Some("j0NDRmSPa5bfid2pAcUXaxCm2Dlh3TwayItZstwyeqQ="));
        assert_eq!(
            checksum("sha512", b"hi").as_deref(),
            Some("FQoU7VvqbMcxz4bEFWasQnqNtI7xuf1iZmSzv7uZBx+kySLzPd44cZuMg1Tit6udd+Dmf8EoQ5IKcS5z1Vjhlw==")
        );
        assert_eq!(checksum("crc64nvme", b"hi"), None);
    }

    #[test]
    fn bucket_leaves_s3_uris() {
        assert_eq!(strip_bucket("/{Bucket}/{Key+}"), "/{Key+}");
        assert_eq!(strip_bucket("/{Bucket}"), "/");
        assert_eq!(strip_bucket("/{Bucket}?uploads"), "/?uploads");
        assert_eq!(strip_bucket("/"), "/");
    }

    #[test]
    fn host_prefixes_expand_and_refuse_bad_labels() {
        let params = json!({"AccountId": "123456789012"});
        assert_eq!(expand_host_prefix("{AccountId}.", params.as_object().unwrap()).unwrap(), "123456789012.");
        let bad = json!({"AccountId": "evil.com/"});
        assert!(expand_host_prefix("{AccountId}.", bad.as_object().unwrap()).is_err());
        assert_eq!(expand_host_prefix("data.", &Map::new()).unwrap(), "data.");
    }
}
