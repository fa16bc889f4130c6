//! Reading answers and errors back into JSON values with the model's member names.

use std::sync::Arc;

use cloudkit_aws_protocol::AwsErrorParser;
use cloudkit_core::internal::xml::Element;
use cloudkit_core::{HeaderMap, ParseError, ServiceErrorDetails, StatusCode, request_id_from_headers};
use serde_json::{Map, Value};

use super::{Protocol, cbor, xml};
use crate::models::ServiceModel;
use crate::shapes::{self, Member, Shape};

/// Reads the successful answer of `operation`.
pub(crate) fn parse_output(
    model: &ServiceModel,
    protocol: Protocol,
    operation: &str,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, String> {
    let op = model.operation(operation).ok_or_else(|| format!("the model has no operation {operation}"))?;
    let output = op.get("output").and_then(Value::as_object);
    let shape = output.and_then(|o| o.get("shape")).and_then(Value::as_str).map(|s| Shape::get(model.shapes(), s));
    let mut out = match shape {
        None => Map::new(),
        Some(shape) => match protocol {
            Protocol::Json => read_json_body(shape, body)?,
            Protocol::RpcV2Cbor => {
                if body.is_empty() {
                    Map::new()
                } else {
                    cbor::read_structure(shape, &cbor::decode(body)?)?
                }
            }
            Protocol::Query | Protocol::Ec2 => {
                let root = Element::parse(body).map_err(|e| e.to_string())?;
                let node = match output.and_then(|o| o.get("resultWrapper")).and_then(Value::as_str) {
                    Some(wrapper) => root.child(wrapper),
                    None => Some(&root),
                };
                match node {
                    Some(node) => xml::read_structure(shape, node)?,
                    None => Map::new(),
                }
            }
            // botocore's `parse_get_bucket_location`: the root element is the value.
            Protocol::RestXml if operation == "GetBucketLocation" && crate::protocol::request::is_s3(model) => {
                let root = Element::parse(body).map_err(|e| e.to_string())?;
                let text = root.text().trim();
                let value = if text.is_empty() { Value::Null } else { Value::String(text.to_owned()) };
                Map::from_iter([("LocationConstraint".to_owned(), value)])
            }
            Protocol::RestJson | Protocol::RestXml => read_rest(protocol, shape, status, headers, body)?,
        },
    };
    let mut meta = Map::new();
    if let Some(id) = request_id(protocol, headers, body) {
        meta.insert("RequestId".to_owned(), Value::String(id));
    }
    meta.insert("HTTPStatusCode".to_owned(), Value::from(status.as_u16()));
    out.insert("ResponseMetadata".to_owned(), Value::Object(meta));
    Ok(Value::Object(out))
}

fn request_id(protocol: Protocol, headers: &HeaderMap, body: &[u8]) -> Option<String> {
    if let Some(id) = request_id_from_headers(headers) {
        return Some(id);
    }
    if matches!(protocol, Protocol::Query | Protocol::Ec2) {
        let root = Element::parse(body).ok()?;
        let found = root
            .child("ResponseMetadata")
            .and_then(|m| m.child_string("RequestId"))
            .or_else(|| root.child_string("requestId"))
            .or_else(|| root.child_string("RequestId"));
        return found;
    }
    None
}

fn read_json_body(shape: Shape<'_>, body: &[u8]) -> Result<Map<String, Value>, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    let value: Value = serde_json::from_slice(body).map_err(|e| format!("malformed JSON: {e}"))?;
    match json_structure(shape, &value)? {
        Value::Object(map) => Ok(map),
        _ => Ok(Map::new()),
    }
}

fn json_structure(shape: Shape<'_>, value: &Value) -> Result<Value, String> {
    let Value::Object(obj) = value else {
        return Err(format!("expected a JSON object for {}", shape.name));
    };
    let mut out = Map::new();
    for member in shape.members() {
        if member.location().is_some() {
            continue;
        }
        if let Some(v) = obj.get(member.wire_name()).filter(|v| !v.is_null()) {
            out.insert(member.name.to_owned(), json_value(member, v)?);
        }
    }
    Ok(Value::Object(out))
}

/// Reads a JSON value by `member`'s shape (timestamps to RFC 3339, names from the model).
pub(crate) fn json_value(member: Member<'_>, value: &Value) -> Result<Value, String> {
    let shape = member.shape;
    if shape.flag("document") {
        return Ok(value.clone());
    }
    Ok(match (shape.kind(), value) {
        ("structure", v) => json_structure(shape, v)?,
        ("list", Value::Array(items)) => {
            let inner = shape.child("member");
            Value::Array(items.iter().map(|v| json_value(inner, v)).collect::<Result<_, _>>()?)
        }
        ("map", Value::Object(map)) => {
            let inner = shape.child("value");
            let mut out = Map::new();
            for (k, v) in map {
                if !v.is_null() {
                    out.insert(k.clone(), json_value(inner, v)?);
                }
            }
            Value::Object(out)
        }
        ("timestamp", Value::Number(n)) => shapes::output_time(
            n.as_f64()
                .and_then(shapes::from_epoch)
                .ok_or_else(|| format!("{}: {n} is not a timestamp", member.name))?,
        ),
        ("timestamp", Value::String(s)) => shapes::output_time(
            shapes::parse_time(s).ok_or_else(|| format!("{}: {s:?} is not a timestamp", member.name))?,
        ),
        (_, v) => v.clone(),
    })
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn read_rest(
    protocol: Protocol,
    shape: Shape<'_>,
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Map<String, Value>, String> {
    let mut out = Map::new();
    for member in shape.members() {
        match member.location() {
            Some("header") => {
                if let Some(text) = header(headers, member.wire_name()) {
                    out.insert(member.name.to_owned(), header_value(member, text)?);
                }
            }
            Some("headers") => {
                let prefix = member.wire_name().to_ascii_lowercase();
                let mut map = Map::new();
                for (name, value) in headers {
                    if let (Some(rest), Ok(v)) = (name.as_str().strip_prefix(&prefix), value.to_str()) {
                        map.insert(rest.to_owned(), Value::String(v.to_owned()));
                    }
                }
                if !map.is_empty() {
                    out.insert(member.name.to_owned(), Value::Object(map));
                }
            }
            Some("statusCode") => {
                out.insert(member.name.to_owned(), Value::from(status.as_u16()));
            }
            _ => {}
        }
    }
    let payload = shape.str("payload").and_then(|p| shape.member(p));
    match payload {
        Some(member) if matches!(member.shape.kind(), "blob" | "string") => {
            let value = if member.shape.kind() == "string" {
                Value::String(String::from_utf8_lossy(body).into_owned())
            } else {
                shapes::output_blob(body)
            };
            out.insert(member.name.to_owned(), value);
        }
        Some(member) => {
            if !body.iter().all(u8::is_ascii_whitespace) {
                let value = match protocol {
                    Protocol::RestXml => {
                        let root = Element::parse(body).map_err(|e| e.to_string())?;
                        Value::Object(xml::read_structure(member.shape, &root)?)
                    }
                    _ => {
                        let v: Value = serde_json::from_slice(body).map_err(|e| format!("malformed JSON: {e}"))?;
                        json_value(member, &v)?
                    }
                };
                out.insert(member.name.to_owned(), value);
            }
        }
        None => {
            let has_body_members = shape.members().iter().any(|m| m.location().is_none());
            if has_body_members && !body.iter().all(u8::is_ascii_whitespace) {
                let map = match protocol {
                    Protocol::RestXml => {
                        let root = Element::parse(body).map_err(|e| e.to_string())?;
                        xml::read_structure(shape, &root)?
                    }
                    _ => read_json_body(shape, body)?,
                };
                out.extend(map);
            }
        }
    }
    Ok(out)
}

fn header_value(member: Member<'_>, text: &str) -> Result<Value, String> {
    let bad = |what: &str| format!("header {}: {text:?} is not {what}", member.wire_name());
    Ok(match member.shape.kind() {
        "integer" | "long" => Value::from(text.trim().parse::<i64>().map_err(|_| bad("an integer"))?),
        "float" | "double" => xml::number_value(text).ok_or_else(|| bad("a number"))?,
        "boolean" => Value::Bool(text.trim().eq_ignore_ascii_case("true")),
        "timestamp" => shapes::output_time(shapes::parse_time(text).ok_or_else(|| bad("a timestamp"))?),
        "list" => Value::Array(split_header_list(text).into_iter().map(Value::String).collect()),
        "string" if member.flag("jsonvalue") => {
            let bytes = shapes::unb64(text).ok_or_else(|| bad("base64 JSON"))?;
            serde_json::from_slice(&bytes).map_err(|_| bad("base64 JSON"))?
        }
        _ => Value::String(text.to_owned()),
    })
}

/// A comma-separated header list, with `"…"` quoting.
fn split_header_list(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => quoted = !quoted,
            '\\' if quoted => current.extend(chars.next()),
            ',' if !quoted => items.push(std::mem::take(&mut current).trim().to_owned()),
            c => current.push(c),
        }
    }
    items.push(current.trim().to_owned());
    items
}

/// The error parser of the JSON and CBOR protocols (the XML ones use [`AwsErrorParser`]):
/// the code from `x-amzn-query-error` (services with `awsQueryCompatible`), `x-amzn-ErrorType`
/// or the body's `__type` / `code`, without its namespace (`…#ResourceNotFoundException`);
/// the message from `message` / `Message`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct JsonErrorParser {
    pub(crate) cbor: bool,
    pub(crate) query_compatible: bool,
}

impl ParseError for JsonErrorParser {
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let doc = if self.cbor {
            cbor::decode(body).ok().map(|v| cbor::to_json(&v))
        } else {
            serde_json::from_slice::<Value>(body).ok()
        };
        let field = |names: &[&str]| names.iter().find_map(|n| doc.as_ref()?.get(*n)?.as_str().map(str::to_owned));
        let mut code = header(headers, "x-amzn-errortype")
            .map(str::to_owned)
            .or_else(|| field(&["__type", "code", "Code"]))
            .map(|c| sanitize_code(&c));
        if self.query_compatible
            && let Some(q) = header(headers, "x-amzn-query-error")
            && let Some((c, _)) = q.split_once(';')
        {
            code = Some(c.to_owned());
        }
        let message = field(&["message", "Message", "errorMessage"]);
        let fallback = AwsErrorParser.parse(status, headers, if code.is_some() { b"" } else { body });
        // botocore: no code in the headers or the body means the HTTP status is the code.
        let empty = body.iter().all(u8::is_ascii_whitespace);
        let fallback_code = if empty { Some(status.as_u16().to_string()) } else { fallback.code };
        ServiceErrorDetails {
            code: code.filter(|c| !c.is_empty()).or(fallback_code),
            message: message.or(if doc.is_none() { fallback.message } else { None }),
            request_id: request_id_from_headers(headers).or(fallback.request_id),
        }
    }
}

/// `aws.protocoltests#FooError:http://…` → `FooError`.
fn sanitize_code(code: &str) -> String {
    let code = code.split(':').next().unwrap_or(code);
    code.rsplit('#').next().unwrap_or(code).trim().to_owned()
}

/// The error parser for `protocol`.
pub(crate) fn error_parser(protocol: Protocol, model: &ServiceModel) -> Arc<dyn ParseError> {
    match protocol {
        Protocol::Json | Protocol::RestJson | Protocol::RpcV2Cbor => Arc::new(JsonErrorParser {
            cbor: protocol == Protocol::RpcV2Cbor,
            query_compatible: model.has_metadata("awsQueryCompatible"),
        }),
        Protocol::Query | Protocol::Ec2 | Protocol::RestXml => Arc::new(XmlErrorParser),
    }
}

/// The error parser of the XML protocols: `aws-protocol`'s, except that an error answer without
/// a body (S3's `HEAD` 404) has the HTTP status as its code (`"404"`), as botocore gives it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct XmlErrorParser;

impl ParseError for XmlErrorParser {
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let mut details = AwsErrorParser.parse(status, headers, body);
        if body.iter().all(u8::is_ascii_whitespace) {
            details.code = Some(status.as_u16().to_string());
            details.message = status.canonical_reason().map(str::to_owned);
        }
        details
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn json_errors_give_code_message_and_request_id() {
        let p = JsonErrorParser { cbor: false, query_compatible: false };
        let d = p.parse(
            StatusCode::BAD_REQUEST,
            &headers(&[("x-amzn-requestid", "r1")]),
            br#"{"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "message": "no table"}"#,
        );
        assert_eq!(d.code.as_deref(), Some("ResourceNotFoundException"));
        assert_eq!(d.message.as_deref(), Some("no table"));
        assert_eq!(d.request_id.as_deref(), Some("r1"));
        let d = p.parse(
            StatusCode::NOT_FOUND,
            &headers(&[("x-amzn-errortype", "ResourceNotFoundException:http://internal.amazon.com/")]),
            br#"{"Message": "Function not found"}"#,
        );
        assert_eq!(d.code.as_deref(), Some("ResourceNotFoundException"));
        assert_eq!(d.message.as_deref(), Some("Function not found"));
        let q = JsonErrorParser { cbor: false, query_compatible: true };
        let d = q.parse(
            StatusCode::BAD_REQUEST,
            &headers(&[("x-amzn-query-error", "AWS.SimpleQueueService.NonExistentQueue;Sender")]),
            br#"{"__type": "com.amazonaws.sqs#QueueDoesNotExist", "message": "gone"}"#,
        );
        assert_eq!(d.code.as_deref(), Some("AWS.SimpleQueueService.NonExistentQueue"));
        let d = p.parse(StatusCode::NOT_FOUND, &HeaderMap::new(), b"");
        assert_eq!(d.code.as_deref(), Some("404"), "botocore's code for an error without a body");
        let d = XmlErrorParser.parse(StatusCode::NOT_FOUND, &headers(&[("x-amz-request-id", "r2")]), b"");
        assert_eq!((d.code.as_deref(), d.message.as_deref()), (Some("404"), Some("Not Found")));
        let d = XmlErrorParser.parse(
            StatusCode::NOT_FOUND,
            &HeaderMap::new(),
            b"<Error><Code>NoSuchKey</Code><Message>gone</Message></Error>",
        );
        assert_eq!(d.code.as_deref(), Some("NoSuchKey"));
        let d = p.parse(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html>proxy</html>");
        assert_eq!(d.code, None);
        assert!(d.message.unwrap().contains("proxy"));
    }

    #[test]
    fn header_lists_split_with_quotes() {
        assert_eq!(split_header_list("a, \"b,c\", d"), ["a", "b,c", "d"]);
    }
}
