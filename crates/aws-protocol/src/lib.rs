//! # cloudkit-aws-protocol
//!
//! Wire pieces every AWS service client shares: the XML error parser (S3 `<Error>`, EC2
//! `<Response><Errors><Error>`, STS/IAM `<ErrorResponse><Error>`), the AWS Query protocol's
//! form-encoded request body (EC2, STS, IAM), the resource [`Tag`], and the retry classifier with
//! the AWS error codes that mean "slow down" or "try again" ([`AWS_RETRY_CLASSIFIER`], built from
//! [`AWS_THROTTLING_CODES`] and [`AWS_TRANSIENT_CODES`]). Every AWS client installs the parser and
//! a classifier on its pipeline (`AwsConfig::pipeline_builder` presets both); a service with codes
//! of its own builds its classifier from the two lists (STS adds `IDPCommunicationError`).

use cloudkit_core::internal::xml::Element;
use cloudkit_core::{
    Bytes, CodeClassifier, HeaderMap, ParseError, ServiceErrorDetails, StatusCode, request_id_from_headers,
};

/// The AWS error codes that mean "slow down" (botocore's and aws-sdk-rust's standard retry mode).
/// A service whose classifier adds codes of its own starts from this list (STS does).
pub const AWS_THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "TransactionInProgressException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "RequestThrottled",
    "SlowDown",
    "PriorRequestNotComplete",
    "EC2ThrottledException",
];

/// The AWS error codes that mean a transient fault worth retrying (botocore's and
/// aws-sdk-rust's standard retry mode).
pub const AWS_TRANSIENT_CODES: &[&str] = &["RequestTimeout", "RequestTimeoutException", "InternalError"];

/// The retry classifier of the AWS services: [`AWS_THROTTLING_CODES`] and
/// [`AWS_TRANSIENT_CODES`], then the status, for
/// [`PipelineBuilder::classifier`](cloudkit_core::PipelineBuilder::classifier).
///
/// ```
/// use cloudkit_core::{ClassifyRetry, RetryClass, StatusCode};
/// use cloudkit_aws_protocol::AWS_RETRY_CLASSIFIER;
/// assert_eq!(AWS_RETRY_CLASSIFIER.classify(StatusCode::SERVICE_UNAVAILABLE, Some("SlowDown")), RetryClass::Throttling);
/// assert_eq!(AWS_RETRY_CLASSIFIER.classify(StatusCode::BAD_REQUEST, Some("RequestLimitExceeded")), RetryClass::Throttling);
/// assert_eq!(AWS_RETRY_CLASSIFIER.classify(StatusCode::BAD_REQUEST, Some("RequestTimeout")), RetryClass::Transient);
/// assert_eq!(AWS_RETRY_CLASSIFIER.classify(StatusCode::FORBIDDEN, Some("SignatureDoesNotMatch")), RetryClass::Fatal);
/// ```
pub const AWS_RETRY_CLASSIFIER: CodeClassifier = CodeClassifier::new(AWS_THROTTLING_CODES, AWS_TRANSIENT_CODES);

/// A tag: a key and a value (may be empty), as every AWS service that tags resources has them
/// (S3 objects, EC2 resources, …).
///
/// ```
/// let tag = cloudkit_aws_protocol::Tag::new("team", "web");
/// assert_eq!((tag.key.as_str(), tag.value.as_str()), ("team", "web"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag {
    /// The key.
    pub key: String,
    /// The value (may be empty).
    pub value: String,
}

impl Tag {
    /// A tag `key=value`.
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self { key: key.into(), value: value.into() }
    }
}

/// `Content-Type` of AWS Query protocol requests.
pub const QUERY_CONTENT_TYPE: &str = "application/x-www-form-urlencoded; charset=utf-8";

/// Parses AWS XML error bodies of every shape (S3, EC2, STS, IAM): the first `Code`, `Message`
/// and `RequestId`/`RequestID` elements, wherever they are nested. A body-less error (HEAD
/// requests) gets a code from its status (`NotFound`, `Forbidden`, …) like the official SDKs.
///
/// ```
/// use cloudkit_aws_protocol::parse_xml_error;
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
            details.message = Some(cloudkit_core::internal::excerpt(&String::from_utf8_lossy(body), 300));
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
/// XML or has no `Code`. Each is the first element of that name (`RequestId` or `RequestID`)
/// holding text, wherever it is nested, in document order; values are trimmed. A body that is
/// not valid UTF-8 is read with its bad bytes replaced.
pub fn parse_xml_error(body: &[u8]) -> Option<ServiceErrorDetails> {
    let text = String::from_utf8_lossy(body);
    let root = Element::parse(text.as_bytes()).ok()?;
    let mut details = ServiceErrorDetails::default();
    collect_error_fields(&root, &mut details);
    details.code.is_some().then_some(details)
}

/// Fills the unset fields of `details` from `element`'s subtree, depth-first in document order.
/// Only elements without children count (a `<Code>` holding elements is not a code).
fn collect_error_fields(element: &Element<'_>, details: &mut ServiceErrorDetails) {
    if element.children().is_empty() {
        let slot = match element.name() {
            "Code" => &mut details.code,
            "Message" => &mut details.message,
            "RequestId" | "RequestID" => &mut details.request_id,
            _ => return,
        };
        if slot.is_none() {
            *slot = Some(element.text().trim().to_owned());
        }
        return;
    }
    for child in element.children() {
        collect_error_fields(child, details);
    }
}

/// An AWS Query protocol request body (`Action=...&Version=...&Name.1=...`).
///
/// ```
/// use cloudkit_aws_protocol::QueryBody;
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

    /// Issue 16, point 2: a long non-XML body is quoted up to 300 bytes, never cut mid-word, with
    /// a note of how much was left out.
    #[test]
    fn long_garbage_bodies_are_cut_between_words() {
        let spaced = format!("<html><body>{}</body></html>", "proxy failure ".repeat(100));
        let message = AwsErrorParser.parse(StatusCode::BAD_GATEWAY, &HeaderMap::new(), spaced.as_bytes()).message;
        let message = message.unwrap();
        let (kept, note) = message.split_once(" … (").unwrap();
        assert!(kept.len() <= 300 && spaced.starts_with(kept), "{kept}");
        assert!(spaced[kept.len()..].starts_with(' '), "cut at a space: {kept}");
        assert!(note.ends_with(" more words)"), "{note}");
        let packed = format!("<html><body>{}</body></html>", "proxy_failure;".repeat(100));
        let message = AwsErrorParser.parse(StatusCode::BAD_GATEWAY, &HeaderMap::new(), packed.as_bytes()).message;
        let message = message.unwrap();
        let (kept, note) = message.split_once('…').unwrap();
        assert!(kept.len() <= 300 && kept.ends_with("proxy_failure;"), "{kept}");
        assert_eq!(note, format!(" ({} more characters)", packed.len() - kept.len()));
    }

    #[test]
    fn ec2_error_with_request_id_after_the_errors() {
        let ec2 = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error>\
            <Code>InvalidParameterValue</Code><Message>Value ( a&amp;b ) for parameter is invalid</Message>\
            </Error></Errors><RequestID>ec2-req-1</RequestID></Response>";
        let d = parse_xml_error(ec2).unwrap();
        assert_eq!(d.code.as_deref(), Some("InvalidParameterValue"));
        assert_eq!(d.message.as_deref(), Some("Value ( a&b ) for parameter is invalid"));
        assert_eq!(d.request_id.as_deref(), Some("ec2-req-1"));
    }

    #[test]
    fn first_leaf_of_each_name_wins_and_values_are_trimmed() {
        let body = b"<ErrorResponse><Error><Type>Sender</Type>\n  <Code>\n    Throttling\n  </Code>\n\
            <Message><![CDATA[Rate <exceeded>]]></Message></Error>\
            <Error><Code>Second</Code><Message>second</Message></Error>\
            <RequestId> first-id </RequestId><RequestID>second-id</RequestID></ErrorResponse>";
        let d = parse_xml_error(body).unwrap();
        assert_eq!(d.code.as_deref(), Some("Throttling"));
        assert_eq!(d.message.as_deref(), Some("Rate <exceeded>"));
        assert_eq!(d.request_id.as_deref(), Some("first-id"));

        // A `Code` holding elements is a container, not a code; a later leaf `Code` counts.
        let nested = b"<Error><Code><Inner>x</Inner></Code><Detail><Code>Real</Code></Detail></Error>";
        assert_eq!(parse_xml_error(nested).unwrap().code.as_deref(), Some("Real"));

        // Namespace prefixes are dropped; absent fields stay `None`.
        let d = parse_xml_error(b"<e:Error xmlns:e=\"urn:x\"><e:Code>NoSuchBucket</e:Code></e:Error>").unwrap();
        assert_eq!(d.code.as_deref(), Some("NoSuchBucket"));
        assert_eq!((d.message, d.request_id), (None, None));
    }

    #[test]
    fn non_xml_empty_and_codeless_bodies_have_no_details() {
        for body in [
            &b""[..],
            b"   ",
            b"<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>",
            b"<html><body>proxy error<br></body></html>",
            b"<html><body>&nbsp;</body></html>",
            b"{\"Code\":\"NotXml\"}",
            b"<Error><Code>Truncated",
            b"<Error><Message>no code here</Message><RequestId>r</RequestId></Error>",
        ] {
            assert!(parse_xml_error(body).is_none(), "{}", String::from_utf8_lossy(body));
        }
        let p = AwsErrorParser;
        let d = p.parse(StatusCode::SERVICE_UNAVAILABLE, &HeaderMap::new(), b"");
        assert_eq!(d.code.as_deref(), Some("ServiceUnavailable"));
        assert_eq!(d.message, None);
        let d = p.parse(StatusCode::FORBIDDEN, &HeaderMap::new(), b"<html><body>denied</body></html>");
        assert_eq!(d.code.as_deref(), Some("Forbidden"));
        assert_eq!(d.message, None);
    }

    #[test]
    fn a_body_that_is_not_utf8_still_gives_its_code() {
        let d = parse_xml_error(b"<Error><Code>InternalError</Code><Message>caf\xe9</Message></Error>").unwrap();
        assert_eq!(d.code.as_deref(), Some("InternalError"));
        assert_eq!(d.message.as_deref(), Some("caf\u{fffd}"));
    }

    #[test]
    fn query_body_encodes_values() {
        let b = QueryBody::new("AssumeRole", "2011-06-15").param("RoleSessionName", "a b&c=d").into_bytes();
        assert_eq!(&b[..], b"Action=AssumeRole&Version=2011-06-15&RoleSessionName=a+b%26c%3Dd");
    }
}
