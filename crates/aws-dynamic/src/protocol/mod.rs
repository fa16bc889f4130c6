//! The wire protocols of AWS services, as botocore speaks them: requests serialised from the
//! model's shapes ([`request`]), answers and errors read back into JSON values ([`response`]).

use std::fmt;
use std::str::FromStr;

pub(crate) mod cbor;
pub(crate) mod request;
pub(crate) mod response;
pub(crate) mod xml;

/// An AWS wire protocol (`metadata.protocols` of a service model).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// `json` (awsJson 1.0 / 1.1): `POST /`, `X-Amz-Target`, a JSON body (DynamoDB, SQS).
    Json,
    /// `rest-json`: HTTP bindings, JSON bodies (Lambda, API Gateway).
    RestJson,
    /// `rest-xml`: HTTP bindings, XML bodies (S3, Route 53, CloudFront).
    RestXml,
    /// `smithy-rpc-v2-cbor`: `POST /service/{target}/operation/{op}`, CBOR bodies.
    RpcV2Cbor,
    /// `query`: form-encoded `Action`/`Version` requests, XML answers (IAM, SNS, STS).
    Query,
    /// `ec2`: EC2's variant of `query`.
    Ec2,
}

/// The protocols in botocore's order of preference (`PRIORITY_ORDERED_SUPPORTED_PROTOCOLS`).
const PREFERENCE: [Protocol; 6] =
    [Protocol::Json, Protocol::RestJson, Protocol::RestXml, Protocol::RpcV2Cbor, Protocol::Query, Protocol::Ec2];

impl Protocol {
    /// The model's name for it (`rest-json`, `smithy-rpc-v2-cbor`, …).
    pub fn name(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::RestJson => "rest-json",
            Self::RestXml => "rest-xml",
            Self::RpcV2Cbor => "smithy-rpc-v2-cbor",
            Self::Query => "query",
            Self::Ec2 => "ec2",
        }
    }

    /// botocore's choice among the protocols a model lists: the first of `json`, `rest-json`,
    /// `rest-xml`, `smithy-rpc-v2-cbor`, `query`, `ec2` that is listed.
    ///
    /// ```
    /// use cloudkit_aws_dynamic::Protocol;
    /// assert_eq!(Protocol::choose(&["smithy-rpc-v2-cbor", "json", "query"]), Some(Protocol::Json));
    /// assert_eq!(Protocol::choose(&["query"]), Some(Protocol::Query));
    /// assert_eq!(Protocol::choose(&["carrier-pigeon"]), None);
    /// ```
    pub fn choose(listed: &[&str]) -> Option<Self> {
        PREFERENCE.into_iter().find(|p| listed.contains(&p.name()))
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A protocol name that is not one of the six.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown AWS protocol `{0}` (expected json, rest-json, rest-xml, smithy-rpc-v2-cbor, query or ec2)")]
pub struct UnknownProtocol(pub String);

impl FromStr for Protocol {
    type Err = UnknownProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PREFERENCE.into_iter().find(|p| p.name() == s).ok_or_else(|| UnknownProtocol(s.to_owned()))
    }
}
