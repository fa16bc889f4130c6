//! Wire pieces every AWS service client shares: the XML error parser (S3 `<Error>`, EC2
//! `<Response><Errors><Error>`, STS/IAM `<ErrorResponse><Error>`) and the AWS Query protocol's
//! form-encoded request body (EC2, STS, IAM).

use cloudkit_core::{Bytes, HeaderMap, ParseError, ServiceErrorDetails, StatusCode, request_id_from_headers};
use quick_xml::Reader;
use quick_xml::events::Event;

/// `Content-Type` of AWS Query protocol requests.
pub const QUERY_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Parses AWS XML error bodies of every shape (S3, EC2, STS, IAM): the first `Code`, `Message`
/// and `RequestId`/`RequestID` elements, wherever they are nested. A body-less error (HEAD
/// requests) gets a code from its status (`NotFound`, `Forbidden`, …) like the official SDKs.
///
/// ```
/// use cloudkit_cred_chain::aws::protocol::parse_xml_error;
/// let ec2 = b"<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code>\
///   <Message>The instance ID 'i-1' does not exist</Message></Error></Errors>\
///   <RequestID>req-1</RequestID></Response>";
/// let d = parse_xml_error(ec2).unwrap();
/// assert_eq!(d.code.as_deref(), Some("InvalidInstanceID.NotFound"));
/// assert_eq!(d.request_id.as_deref(), Some("req-1"));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct AwsErrorParser;

impl ParseError for AwsErrorParser {
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let mut details = parse_xml_error(body).unwrap_or_default();
        if details.code.is_none() {
            details.code = status_code_name(status).map(str::to_owned);
        }
        if details.message.is_none() && !body.is_empty() && details.code.is_none() {
            let text = String::from_utf8_lossy(body);
            details.message = Some(text.chars().take(300).collect());
        }
        if details.request_id.is_none() {
            details.request_id = request_id_from_headers(headers);
        }
        details
    }
}

/// The code the AWS SDKs give body-less error responses.
fn status_code_name(status: StatusCode) -> Option<&'static str> {
    Some(match status.as_u16() {
        304 => "NotModified",
        400 => "BadRequest",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "NotFound",
        409 => "Conflict",
        412 => "PreconditionFailed",
        416 => "InvalidRange",
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        _ => return None,
    })
}

/// The `Code`, `Message` and request id of an AWS XML error body; `None` when the body is not
/// XML or has no `Code`.
pub fn parse_xml_error(body: &[u8]) -> Option<ServiceErrorDetails> {
    let mut reader = Reader::from_reader(body);
    let mut buf = Vec::new();
    let mut current: Option<Vec<u8>> = None;
    let mut text = String::new();
    let mut details = ServiceErrorDetails::default();
    loop {
        match reader.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                current = Some(e.local_name().as_ref().to_vec());
                text.clear();
            }
            Ok(Event::Text(t)) => {
                if current.is_some()
                    && let Ok(s) = t.decode()
                {
                    text.push_str(&s);
                }
            }
            Ok(Event::CData(t)) if current.is_some() => text.push_str(&String::from_utf8_lossy(&t)),
            Ok(Event::GeneralRef(r)) if current.is_some() => {
                text.push_str(&resolve_entity(&String::from_utf8_lossy(&r)));
            }
            Ok(Event::End(_)) => {
                if let Some(name) = current.take() {
                    let slot = match name.as_slice() {
                        b"Code" => &mut details.code,
                        b"Message" => &mut details.message,
                        b"RequestId" | b"RequestID" => &mut details.request_id,
                        _ => &mut None,
                    };
                    if slot.is_none() {
                        *slot = Some(text.trim().to_owned());
                    }
                }
                text.clear();
            }
            Ok(Event::Eof) | Err(_) => break,
            _ => {}
        }
        buf.clear();
    }
    details.code.is_some().then_some(details)
}

/// The text of an XML entity reference (`lt`, `#x41`, …); unknown ones are kept as written.
pub fn resolve_entity(name: &str) -> String {
    match name {
        "lt" => "<".to_owned(),
        "gt" => ">".to_owned(),
        "amp" => "&".to_owned(),
        "quot" => "\"".to_owned(),
        "apos" => "'".to_owned(),
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()
            } else {
                name.strip_prefix('#').and_then(|d| d.parse::<u32>().ok())
            };
            code.and_then(char::from_u32).map(String::from).unwrap_or_else(|| format!("&{name};"))
        }
    }
}

/// Decodes an AWS XML response body into `T` (quick-xml's serde support, straight from the
/// bytes). Every AWS client (S3, EC2, STS) decodes through this one function so the XML
/// deserializer is compiled once per program, not once per reader type; the error is a message
/// for the caller's typed decode error.
pub fn decode_xml<'de, T: serde::Deserialize<'de>>(body: &'de [u8]) -> Result<T, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the response body is not UTF-8".to_owned())?;
    quick_xml::de::from_str(text).map_err(|e| e.to_string())
}

/// An AWS Query protocol request body (`Action=...&Version=...&Name.1=...`).
///
/// ```
/// use cloudkit_cred_chain::aws::protocol::QueryBody;
/// let body = QueryBody::new("DescribeInstances", "2016-11-15")
///     .param("MaxResults", "5")
///     .list("InstanceId", ["i-1", "i-2"])
///     .into_bytes();
/// assert_eq!(&body[..], b"Action=DescribeInstances&Version=2016-11-15&MaxResults=5&InstanceId.1=i-1&InstanceId.2=i-2");
/// ```
#[derive(Clone, Debug)]
pub struct QueryBody {
    pairs: Vec<(String, String)>,
}

impl QueryBody {
    /// A body for `action` at API `version`.
    pub fn new(action: &str, version: &str) -> Self {
        Self { pairs: vec![("Action".to_owned(), action.to_owned()), ("Version".to_owned(), version.to_owned())] }
    }

    /// Adds `name=value`.
    pub fn param(mut self, name: &str, value: &str) -> Self {
        self.push(name, value);
        self
    }

    /// Adds `name=value` in place.
    pub fn push(&mut self, name: &str, value: &str) {
        self.pairs.push((name.to_owned(), value.to_owned()));
    }

    /// Adds a list as `prefix.1=a&prefix.2=b` (1-based, as the Query protocol numbers members).
    pub fn list<I, S>(mut self, prefix: &str, items: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.push_list(prefix, items);
        self
    }

    /// Adds a list in place.
    pub fn push_list<I, S>(&mut self, prefix: &str, items: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        for (i, item) in items.into_iter().enumerate() {
            self.pairs.push((format!("{prefix}.{}", i + 1), item.as_ref().to_owned()));
        }
    }

    /// The encoded body.
    pub fn into_bytes(self) -> Bytes {
        let mut serializer = url::form_urlencoded::Serializer::new(String::new());
        serializer.extend_pairs(self.pairs);
        Bytes::from(serializer.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_sts_and_ec2_error_shapes() {
        let s3 = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a b</Key><RequestId>4442587FB7D0A2F9</RequestId><HostId>x</HostId></Error>";
        let d = parse_xml_error(s3).unwrap();
        assert_eq!(d.code.as_deref(), Some("NoSuchKey"));
        assert_eq!(d.message.as_deref(), Some("The specified key does not exist."));
        assert_eq!(d.request_id.as_deref(), Some("4442587FB7D0A2F9"));

        let sts = b"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not &lt;allowed&gt;</Message></Error><RequestId>abc</RequestId></ErrorResponse>";
        let d = parse_xml_error(sts).unwrap();
        assert_eq!(d.code.as_deref(), Some("AccessDenied"));
        assert_eq!(d.message.as_deref(), Some("not <allowed>"));
        assert_eq!(d.request_id.as_deref(), Some("abc"));
    }

    #[test]
    fn bodyless_and_garbage_errors() {
        let p = AwsErrorParser;
        let mut h = HeaderMap::new();
        h.insert("x-amz-request-id", "RID".parse().unwrap());
        let d = p.parse(StatusCode::NOT_FOUND, &h, b"");
        assert_eq!(d.code.as_deref(), Some("NotFound"));
        assert_eq!(d.request_id.as_deref(), Some("RID"));
        let d = p.parse(StatusCode::BAD_GATEWAY, &HeaderMap::new(), b"<html>proxy error</html>");
        assert_eq!(d.code, None);
        assert!(d.message.unwrap().contains("proxy error"));
        assert!(parse_xml_error(b"not xml at all").is_none());
    }

    #[test]
    fn query_body_encodes_values() {
        let b = QueryBody::new("AssumeRole", "2011-06-15").param("RoleSessionName", "a b&c=d").into_bytes();
        assert_eq!(&b[..], b"Action=AssumeRole&Version=2011-06-15&RoleSessionName=a+b%26c%3Dd");
    }
}
