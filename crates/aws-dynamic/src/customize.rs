//! botocore's handlers that change requests and answers beyond what the models say
//! (`botocore/handlers.py`, `botocore/httpchecksum.py`), for the services where boto3 users
//! would notice the difference:
//!
//! - EC2 `RunInstances`: `UserData` is base64-encoded for the caller (`base64_encode_user_data`);
//! - API Gateway: every request says `Accept: application/json` (`add_accept_header`);
//! - S3 `ListObjects`, `ListObjectsV2`, `ListObjectVersions`: `EncodingType=url` is asked for
//!   when the caller did not choose, and the keys of the answer are URL-decoded again
//!   (`set_list_objects_encoding_type_url`, `decode_list_object*`), so keys with characters XML
//!   cannot carry still list;
//! - response checksums (`response_checksum_validation = when_supported`): operations with a
//!   `requestValidationModeMember` (S3 `GetObject`, …) ask for checksums (`ChecksumMode=ENABLED`)
//!   and the answer's `x-amz-checksum-*` header is checked against the body;
//! - IAM: policy documents in answers (URL-encoded JSON) become JSON objects
//!   (`json_decode_policies`).

use cloudkit_core::HeaderMap;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};

use crate::models::ServiceModel;
use crate::protocol::request::{WireRequest, checksum};
use crate::shapes::Shape;

/// What the request-side handlers decided, for the answer-side ones.
#[derive(Debug, Clone, Default)]
pub(crate) struct CallContext {
    /// `EncodingType=url` was set by the client: decode these keys of the answer.
    decode: Option<ListKeys>,
    /// Validate the answer's checksum with one of these algorithms (lower case).
    response_algorithms: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
struct ListKeys {
    top: &'static [&'static str],
    nested: &'static [(&'static str, &'static str)],
}

const LIST_OBJECTS: ListKeys = ListKeys {
    top: &["Delimiter", "Marker", "NextMarker"],
    nested: &[("Contents", "Key"), ("CommonPrefixes", "Prefix")],
};
const LIST_OBJECTS_V2: ListKeys = ListKeys {
    top: &["Delimiter", "Prefix", "StartAfter"],
    nested: &[("Contents", "Key"), ("CommonPrefixes", "Prefix")],
};
const LIST_OBJECT_VERSIONS: ListKeys = ListKeys {
    top: &["KeyMarker", "NextKeyMarker", "Prefix", "Delimiter"],
    nested: &[("Versions", "Key"), ("DeleteMarkers", "Key"), ("CommonPrefixes", "Prefix")],
};

/// botocore's order of preference among response checksums (`_ALGORITHMS_PRIORITY_LIST`,
/// without the ones it needs the CRT for).
const RESPONSE_PRIORITY: [&str; 5] = ["crc32c", "crc32", "sha1", "sha256", "sha512"];

/// Changes the (validated) input of `operation` before it is serialised.
pub(crate) fn before_serialize(model: &ServiceModel, operation: &str, input: &mut Value) -> CallContext {
    let mut ctx = CallContext::default();
    let Some(params) = input.as_object_mut() else { return ctx };
    match (model.name(), operation) {
        ("ec2", "RunInstances") => {
            if let Some(Value::String(data)) = params.get("UserData") {
                let encoded = crate::shapes::b64(data.as_bytes());
                params.insert("UserData".to_owned(), Value::String(encoded));
            }
        }
        ("s3", "ListObjects" | "ListObjectsV2" | "ListObjectVersions") if !params.contains_key("EncodingType") => {
            params.insert("EncodingType".to_owned(), Value::String("url".to_owned()));
            ctx.decode = Some(match operation {
                "ListObjects" => LIST_OBJECTS,
                "ListObjectsV2" => LIST_OBJECTS_V2,
                _ => LIST_OBJECT_VERSIONS,
            });
        }
        _ => {}
    }
    let http_checksum = model.operation(operation).and_then(|o| o.get("httpChecksum")).and_then(Value::as_object);
    if let Some(member) = http_checksum.and_then(|c| c.get("requestValidationModeMember")).and_then(Value::as_str) {
        if !params.contains_key(member) {
            params.insert(member.to_owned(), Value::String("ENABLED".to_owned()));
        }
        if params.get(member).and_then(Value::as_str) == Some("ENABLED") {
            let offered = strings(http_checksum.and_then(|c| c.get("responseAlgorithms")));
            ctx.response_algorithms = RESPONSE_PRIORITY
                .iter()
                .filter(|a| offered.iter().any(|o| o.eq_ignore_ascii_case(a)))
                .map(|a| (*a).to_owned())
                .collect();
        }
    }
    ctx
}

fn strings(v: Option<&Value>) -> Vec<&str> {
    v.and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default()
}

/// Changes the serialised request.
pub(crate) fn after_serialize(model: &ServiceModel, request: &mut WireRequest) {
    if model.name() == "apigateway" {
        request.headers.push(("Accept".to_owned(), "application/json".to_owned()));
    }
}

/// Checks the answer's checksum (the first algorithm of botocore's preference whose
/// `x-amz-checksum-*` header the answer has; composite checksums of multipart objects, `…-N`,
/// are not checked, as botocore does not).
pub(crate) fn check_response(ctx: &CallContext, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
    for algorithm in &ctx.response_algorithms {
        let name = format!("x-amz-checksum-{algorithm}");
        let Some(expected) = headers.get(name.as_str()).and_then(|v| v.to_str().ok()) else { continue };
        if expected.contains('-') {
            return Ok(());
        }
        let actual = checksum(algorithm, body).unwrap_or_default();
        if actual != expected {
            return Err(format!(
                "the body's {algorithm} checksum is {actual}, the answer says {expected}: the body was corrupted in transit"
            ));
        }
        return Ok(());
    }
    Ok(())
}

/// botocore's `json_decode_policies` for IAM: policy documents (strings of the shape
/// `policyDocumentType`, URL-encoded JSON on the wire) become JSON objects.
pub(crate) fn decode_policies(model: &ServiceModel, operation: &str, output: &mut Value) {
    if model.name() != "iam" {
        return;
    }
    let shapes = model.shapes();
    let output_shape = model.operation(operation).and_then(|o| o.get("output")).and_then(|o| o.get("shape"));
    if let Some(name) = output_shape.and_then(Value::as_str) {
        decode_policy_types(Shape::get(shapes, name), output);
    }
}

fn decode_policy_types(shape: Shape<'_>, value: &mut Value) {
    match (shape.kind(), value) {
        ("structure", Value::Object(map)) => {
            for member in shape.members() {
                let Some(v) = map.get_mut(member.name) else { continue };
                if member.shape.kind() == "string" && member.shape.name == "policyDocumentType" {
                    if let Value::String(text) = v {
                        let decoded = percent_decode_str(text).decode_utf8_lossy();
                        if let Ok(doc) = serde_json::from_slice::<Value>(decoded.as_bytes()) {
                            *v = doc;
                        }
                    }
                } else {
                    decode_policy_types(member.shape, v);
                }
            }
        }
        ("list", Value::Array(items)) => {
            let inner = shape.child("member").shape;
            for item in items {
                decode_policy_types(inner, item);
            }
        }
        _ => {}
    }
}

/// Changes the decoded answer.
pub(crate) fn after_parse(ctx: &CallContext, output: &mut Value) {
    let Some(keys) = ctx.decode else { return };
    let Some(out) = output.as_object_mut() else { return };
    if out.get("EncodingType").and_then(Value::as_str) != Some("url") {
        return;
    }
    for key in keys.top {
        decode_in(out, key);
    }
    for (list, key) in keys.nested {
        if let Some(Value::Array(items)) = out.get_mut(*list) {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                decode_in(item, key);
            }
        }
    }
}

/// Python's `urllib.parse.unquote` on `map[key]` (`+` stays `+`).
fn decode_in(map: &mut Map<String, Value>, key: &str) {
    if let Some(Value::String(s)) = map.get_mut(key) {
        *s = percent_decode_str(s).decode_utf8_lossy().into_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn list_keys_are_decoded_only_when_the_client_asked_for_url_encoding() {
        let ctx = CallContext { decode: Some(LIST_OBJECTS_V2), ..Default::default() };
        let mut out = json!({"EncodingType": "url", "Prefix": "a%20b/", "Contents": [{"Key": "a%20b/c+d%2B%C3%A4"}],
            "CommonPrefixes": [{"Prefix": "x%2Fy/"}]});
        after_parse(&ctx, &mut out);
        assert_eq!(
            out,
            json!({"EncodingType": "url", "Prefix": "a b/", "Contents": [{"Key": "a b/c+d+ä"}], "CommonPrefixes": [{"Prefix": "x/y/"}]})
        );
        let mut untouched = json!({"Contents": [{"Key": "a%20b"}]});
        after_parse(&ctx, &mut untouched);
        assert_eq!(untouched["Contents"][0]["Key"], "a%20b");
        let mut kept = json!({"EncodingType": "url", "Contents": [{"Key": "a%20b"}]});
        after_parse(&CallContext::default(), &mut kept);
        assert_eq!(kept["Contents"][0]["Key"], "a%20b");
    }

    #[test]
    fn policy_documents_are_decoded() {
        let shapes = json!({
            "Out": {"type": "structure", "members": {"Roles": {"shape": "L"}, "Doc": {"shape": "policyDocumentType"}}},
            "L": {"type": "list", "member": {"shape": "Role"}},
            "Role": {"type": "structure", "members": {"Doc": {"shape": "policyDocumentType"}, "Name": {"shape": "S"}}},
            "policyDocumentType": {"type": "string"}, "S": {"type": "string"}
        });
        let shapes = shapes.as_object().unwrap();
        let mut out = json!({"Doc": "%7B%22a%22%3A%201%7D", "Roles": [{"Doc": "{\"b\": [2]}", "Name": "%7B%7D"}, {"Doc": "not json"}]});
        decode_policy_types(Shape::get(shapes, "Out"), &mut out);
        assert_eq!(
            out,
            json!({"Doc": {"a": 1}, "Roles": [{"Doc": {"b": [2]}, "Name": "%7B%7D"}, {"Doc": "not json"}]})
        );
    }

    #[test]
    fn response_checksums_are_checked() {
        let ctx = CallContext { response_algorithms: vec!["crc32c".into(), "crc32".into()], ..Default::default() };
        let mut h = HeaderMap::new();
        assert!(check_response(&ctx, &h, b"hi").is_ok(), "no checksum, nothing to check");
        h.insert("x-amz-checksum-crc32", "2JMqrA==".parse().unwrap());
        assert!(check_response(&ctx, &h, b"hi").is_ok());
        let e = check_response(&ctx, &h, b"ho").unwrap_err();
        assert!(e.contains("corrupted"), "{e}");
        h.insert("x-amz-checksum-crc32c", "abcd-3".parse().unwrap());
        assert!(check_response(&ctx, &h, b"ho").is_ok(), "composite checksums are not checked");
        assert!(check_response(&CallContext::default(), &h, b"ho").is_ok());
    }
}
