//! The model-driven client's requests (`cloudkit::aws_dynamic`, issue 20) checked byte for byte
//! against botocore's: for every protocol (json, query, ec2, rest-json, rest-xml,
//! smithy-rpc-v2-cbor) a set of operations is built by botocore (a Python helper that stops each
//! request at `before-send`, with the signing clock fixed) and sent by `DynamicClient` into a
//! recording transport, with the same credentials (a session token included), region and signing
//! time. Method, URL (endpoint from the rules, path, query), body bytes and every header but the
//! SDKs' own bookkeeping (`User-Agent`, `amz-sdk-invocation-id`, `amz-sdk-request`, `Expect`,
//! which botocore does not sign, and `Content-Length`, which the body fixes) must be equal — `Authorization` included, so
//! the canonical requests agree too.
//!
//! botocore speaks `json` to the services whose models also list `smithy-rpc-v2-cbor`; for the
//! CBOR checks the helper hands botocore the same model listing only `smithy-rpc-v2-cbor` (its own
//! CBOR serialiser then builds the request), and the dynamic client is told
//! `.protocol(Protocol::RpcV2Cbor)`.
//!
//! No emulator is needed; models come from the botocore `scripts/testbed.sh up` installs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use cloudkit::aws_dynamic::{DynamicClient, Protocol};
use cloudkit_core::testing::{Canned, ReplayHttp};
use cloudkit_core::{RetryConfig, Url};
use cloudkit_cred_chain::aws::AwsConfig;
use cloudkit_tests::aws;
use cloudkit_tests::python::run_python;
use serde_json::{Value, json};

const ACCESS_KEY_ID: &str = "AKIDEXAMPLE";
const SECRET_ACCESS_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const SESSION_TOKEN: &str = "FQoGZXIvYXdzEXAMPLE//token+with/slashes=";
/// 2024-01-31T12:00:00Z, the signing time on both sides.
const SIGNING_TIME: u64 = 1_706_702_400;

/// Builds each request with botocore and prints it (method, URL, headers, base64 body) instead
/// of sending it.
const HELPER: &str = r#"
import base64, copy, datetime, json, sys
try:
    import botocore.auth, botocore.session
    from botocore.config import Config
except ImportError as e:
    print("botocore is not installed for this interpreter: %s" % e, file=sys.stderr)
    sys.exit(3)
calls, key, secret, token, epoch = json.loads(sys.argv[1])
fixed = datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).replace(tzinfo=None)
botocore.auth.get_current_datetime = lambda remove_tzinfo=True: fixed
session = botocore.session.get_session()
session.set_credentials(key, secret, token)
loader = session.get_component("data_loader")
load_service_model = loader.load_service_model
forced = {}
def patched(service_name, type_name, api_version=None):
    model = load_service_model(service_name, type_name, api_version)
    if type_name == "service-2" and service_name in forced:
        model = copy.deepcopy(model)
        model["metadata"]["protocols"] = [forced[service_name]]
        model["metadata"]["protocol"] = forced[service_name]
    return model
loader.load_service_model = patched
class Captured(Exception):
    pass
def capture(request, **kwargs):
    raise Captured(request)
clients = {}
def client(service, protocol, endpoint):
    k = (service, protocol, endpoint)
    if k not in clients:
        if protocol:
            forced[service] = protocol
        else:
            forced.pop(service, None)
        c = session.create_client(service, region_name="us-east-1", endpoint_url=endpoint,
                                  config=Config(retries={"total_max_attempts": 1}))
        c.meta.events.register("before-send", capture)
        clients[k] = c
    return clients[k]
out = []
for service, op, params, protocol, endpoint in calls:
    try:
        client(service, protocol, endpoint)._make_api_call(op, params)
        raise SystemExit("%s.%s was sent" % (service, op))
    except Captured as e:
        r = e.args[0]
        body = r.body or b""
        if hasattr(body, "read"):
            body = body.read()
        if isinstance(body, str):
            body = body.encode()
        headers = {}
        for k, v in r.headers.items():
            headers[k.lower()] = v.decode() if isinstance(v, bytes) else v
        out.append({"method": r.method, "url": r.url, "headers": headers,
                    "body": base64.b64encode(bytes(body)).decode()})
print(json.dumps(out))
"#;

/// Headers that are SDK bookkeeping or transport behaviour (botocore signs none of them:
/// `Expect: 100-continue` is its HTTP client's business) or that the body fixes.
const IGNORED_HEADERS: [&str; 5] =
    ["user-agent", "amz-sdk-invocation-id", "amz-sdk-request", "content-length", "expect"];

/// One request to build on both sides.
struct Case {
    service: &'static str,
    operation: &'static str,
    input: Value,
    /// A protocol other than botocore's choice (the CBOR checks).
    protocol: Option<Protocol>,
    /// An endpoint override (`endpoint_url=` / `AWS_ENDPOINT_URL`).
    endpoint: Option<&'static str>,
}

fn case(service: &'static str, operation: &'static str, input: Value) -> Case {
    Case { service, operation, input, protocol: None, endpoint: None }
}

fn cbor(service: &'static str, operation: &'static str, input: Value) -> Case {
    Case { protocol: Some(Protocol::RpcV2Cbor), ..case(service, operation, input) }
}

/// A request reduced to what is compared.
fn normalise(method: &str, url: &str, headers: impl IntoIterator<Item = (String, String)>, body: &[u8]) -> Value {
    let headers: BTreeMap<String, String> =
        headers.into_iter().filter(|(k, _)| !IGNORED_HEADERS.contains(&k.as_str())).collect();
    let body = match std::str::from_utf8(body) {
        Ok(text) if !text.contains('\0') => json!(text),
        _ => json!({"base64": base64::engine::general_purpose::STANDARD.encode(body)}),
    };
    json!({"method": method, "url": url, "headers": headers, "body": body})
}

fn botocore(cases: &[Case]) -> Vec<Value> {
    let calls: Vec<Value> = cases
        .iter()
        .map(|c| json!([c.service, c.operation, c.input, c.protocol.map(|p| p.name()), c.endpoint]))
        .collect();
    let arg = json!([calls, ACCESS_KEY_ID, SECRET_ACCESS_KEY, SESSION_TOKEN, SIGNING_TIME]).to_string();
    let out = run_python(HELPER, &[&arg], &[]);
    let requests: Vec<Value> = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    requests
        .iter()
        .map(|r| {
            let headers =
                r["headers"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().into()));
            let body = base64::engine::general_purpose::STANDARD.decode(r["body"].as_str().unwrap()).unwrap();
            normalise(r["method"].as_str().unwrap(), r["url"].as_str().unwrap(), headers, &body)
        })
        .collect()
}

async fn config() -> AwsConfig {
    let mut env = aws::static_keys_env(ACCESS_KEY_ID, SECRET_ACCESS_KEY);
    env.push(("AWS_SESSION_TOKEN".to_owned(), SESSION_TOKEN.to_owned()));
    env.push(("AWS_REGION".to_owned(), "us-east-1".to_owned()));
    AwsConfig::loader().provider_config(aws::provider_config(env)).load().await.unwrap()
}

/// What the dynamic client sends for `case`, as the transport receives it.
async fn dynamic(config: &AwsConfig, case: &Case) -> Value {
    let http = Arc::new(ReplayHttp::new());
    let mut builder = DynamicClient::builder(config, case.service)
        .http(http.clone())
        .retry(RetryConfig::standard().with_max_attempts(1))
        .signing_time(UNIX_EPOCH + Duration::from_secs(SIGNING_TIME));
    if let Some(p) = case.protocol {
        builder = builder.protocol(p);
    }
    if let Some(e) = case.endpoint {
        builder = builder.endpoint(Url::parse(e).unwrap());
    }
    let client = builder.build().unwrap();
    http.push(Canned::status(500, ""));
    // The canned answer is an error; only the request matters.
    let _ = client.call(case.operation, case.input.clone()).await;
    let requests = http.requests();
    assert_eq!(requests.len(), 1, "{}.{}: {} requests sent", case.service, case.operation, requests.len());
    let r = &requests[0];
    let headers = r.headers.iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap().to_owned()));
    normalise(r.method.as_str(), r.url.as_str(), headers, &r.body)
}

fn cases() -> Vec<Case> {
    // Blobs as text (its UTF-8 bytes on both sides; boto3 takes no list of byte values).
    let zip = "PK\u{3}\u{4}\u{14}\0zip bytes é\u{7f}";
    vec![
        // json (DynamoDB 1.0, SQS 1.0 query-compatible, KMS 1.1, CloudWatch 1.0 query-compatible)
        case("dynamodb", "GetItem", json!({"TableName": "users", "Key": {"pk": {"S": "ada"}}, "ConsistentRead": true})),
        case(
            "dynamodb",
            "PutItem",
            json!({"TableName": "users", "Item": {"pk": {"S": "lovelace – ä 🦀"}, "n": {"N": "1.50"}, "b": {"B": "aGk="},
                "l": {"L": [{"BOOL": true}, {"NULL": true}]}, "m": {"M": {"x": {"SS": ["a", "b"]}}}},
                "ConditionExpression": "attribute_not_exists(pk)", "ReturnValues": "ALL_OLD"}),
        ),
        case(
            "dynamodb",
            "Query",
            json!({"TableName": "users", "KeyConditionExpression": "pk = :p AND sk > :s", "Limit": 25,
                "ExpressionAttributeValues": {":p": {"S": "p"}, ":s": {"N": "4"}}, "ScanIndexForward": false}),
        ),
        case(
            "sqs",
            "SendMessage",
            json!({"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/q", "MessageBody": "héllo \"world\"\n",
                "DelaySeconds": 5, "MessageAttributes": {"a": {"DataType": "String", "StringValue": "v"},
                "b": {"DataType": "Binary", "BinaryValue": "bytes"}}}),
        ),
        case("kms", "Encrypt", json!({"KeyId": "alias/k", "Plaintext": "secret", "EncryptionContext": {"app": "ck"}})),
        case(
            "cloudwatch",
            "PutMetricData",
            json!({"Namespace": "ck/test", "MetricData": [{"MetricName": "m", "Value": 1.5, "Unit": "Count",
                "Timestamp": "2024-01-31T11:59:00Z", "Dimensions": [{"Name": "d", "Value": "v"}],
                "Values": [1.0, 2.25, 1e-7], "Counts": [1.0, 2.0]}]}),
        ),
        // query (IAM: global endpoint, STS, SNS)
        case(
            "iam",
            "CreateUser",
            json!({"UserName": "ada", "Path": "/team/", "Tags": [{"Key": "k", "Value": "v w"}, {"Key": "x", "Value": "ä&="}]}),
        ),
        case("iam", "ListUsers", json!({"PathPrefix": "/team/", "MaxItems": 10})),
        case("sts", "GetCallerIdentity", json!({})),
        case(
            "sts",
            "AssumeRole",
            json!({"RoleArn": "arn:aws:iam::123456789012:role/r", "RoleSessionName": "ses", "DurationSeconds": 900,
                "PolicyArns": [{"arn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}]}),
        ),
        case(
            "sns",
            "Publish",
            json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:t", "Message": "hi there", "Subject": "s",
                "MessageAttributes": {"a": {"DataType": "String", "StringValue": "v"}, "n": {"DataType": "Number", "StringValue": "3"}}}),
        ),
        case(
            "sns",
            "CreateTopic",
            json!({"Name": "t", "Attributes": {"DisplayName": "T", "FifoTopic": "false"}, "Tags": [{"Key": "k", "Value": "v"}]}),
        ),
        // ec2
        case(
            "ec2",
            "DescribeInstances",
            json!({"InstanceIds": ["i-1", "i-2"], "Filters": [{"Name": "instance-state-name", "Values": ["running", "stopped"]}]}),
        ),
        case(
            "ec2",
            "RunInstances",
            json!({"ImageId": "ami-12345678", "MinCount": 1, "MaxCount": 2, "InstanceType": "t3.micro", "ClientToken": "tok-1",
                "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "a b"}]}],
                "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8, "DeleteOnTermination": true}}],
                "UserData": "IyEvYmluL3No"}),
        ),
        case("ec2", "CreateTags", json!({"Resources": ["i-1"], "Tags": [{"Key": "k", "Value": ""}], "DryRun": false})),
        case("ec2", "DescribeRegions", json!({"RegionNames": ["us-east-1", "eu-west-1"], "AllRegions": true})),
        // rest-json (Lambda, API Gateway)
        case("lambda", "ListFunctions", json!({"MaxItems": 5, "FunctionVersion": "ALL"})),
        case(
            "lambda",
            "CreateFunction",
            json!({"FunctionName": "f", "Runtime": "python3.12", "Role": "arn:aws:iam::123456789012:role/r",
                "Handler": "app.handler", "Code": {"ZipFile": zip}, "Timeout": 30,
                "Environment": {"Variables": {"A": "1", "B": "two"}}, "Tags": {"t": "v"}}),
        ),
        case(
            "lambda",
            "TagResource",
            json!({"Resource": "arn:aws:lambda:us-east-1:123456789012:function:f", "Tags": {"k": "v"}}),
        ),
        case(
            "lambda",
            "Invoke",
            json!({"FunctionName": "f", "InvocationType": "Event", "Payload": "{\"a\": 1}", "Qualifier": "$LATEST"}),
        ),
        case(
            "apigateway",
            "CreateRestApi",
            json!({"name": "api", "description": "d", "binaryMediaTypes": ["image/png"]}),
        ),
        case("apigateway", "GetResources", json!({"restApiId": "abc123", "limit": 2, "position": "p/q"})),
        // rest-xml (S3: virtual-hosted buckets, checksums; Route 53: global endpoint, namespaces)
        case(
            "s3",
            "GetObject",
            json!({"Bucket": "bkt", "Key": "dir/a b+c~ä.txt", "Range": "bytes=0-9", "VersionId": "v1"}),
        ),
        case("s3", "HeadObject", json!({"Bucket": "bkt", "Key": "k", "IfNoneMatch": "\"etag\""})),
        case(
            "s3",
            "PutBucketTagging",
            json!({"Bucket": "bkt", "Tagging": {"TagSet": [{"Key": "k", "Value": "v&<>"}, {"Key": "e", "Value": "x"}]}}),
        ),
        case(
            "s3",
            "DeleteObjects",
            json!({"Bucket": "bkt", "Delete": {"Objects": [{"Key": "a"}, {"Key": "b", "VersionId": "1"}], "Quiet": true}}),
        ),
        case(
            "s3",
            "CreateBucket",
            json!({"Bucket": "bkt-eu", "CreateBucketConfiguration": {"LocationConstraint": "eu-west-1"}}),
        ),
        Case {
            endpoint: Some("http://s3.example.test:9000"),
            ..case(
                "s3",
                "PutObject",
                json!({"Bucket": "bkt", "Key": "k/é", "Body": "hello", "ContentType": "text/plain",
                    "Metadata": {"owner": "ada"}, "CacheControl": "max-age=60"}),
            )
        },
        case(
            "route53",
            "ChangeResourceRecordSets",
            json!({"HostedZoneId": "Z123", "ChangeBatch": {"Comment": "c", "Changes": [{"Action": "UPSERT",
                "ResourceRecordSet": {"Name": "a.example.com", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}}]}}),
        ),
        case("route53", "ListHostedZones", json!({"MaxItems": "5"})),
        // smithy-rpc-v2-cbor (CloudWatch, Compute Optimizer)
        cbor("cloudwatch", "ListMetrics", json!({"Namespace": "ck/test", "Dimensions": [{"Name": "d", "Value": "v"}]})),
        cbor(
            "cloudwatch",
            "PutMetricData",
            json!({"Namespace": "ck/test", "MetricData": [{"MetricName": "m", "Value": 1.5, "Unit": "Count",
                "Timestamp": "2024-01-31T11:59:00Z", "Values": [1.0, -2.25], "Counts": [3.0, 1.0],
                "StorageResolution": 1}]}),
        ),
        cbor(
            "cloudwatch",
            "GetMetricData",
            json!({"MetricDataQueries": [{"Id": "q", "Expression": "SUM(METRICS())", "ReturnData": true}],
                "StartTime": 1706698800, "EndTime": "2024-01-31T12:00:00Z", "MaxDatapoints": 100}),
        ),
        cbor("cloudwatch", "DescribeAlarms", json!({"AlarmNames": ["a", "b"], "MaxRecords": 10})),
        cbor("compute-optimizer", "GetEnrollmentStatus", json!({})),
    ]
}

#[tokio::test]
async fn dynamic_requests_equal_botocores_byte_for_byte() {
    let cases = cases();
    let reference = botocore(&cases);
    let config = config().await;
    let mut mismatches = Vec::new();
    let mut per_protocol: BTreeMap<String, usize> = BTreeMap::new();
    for (case, expected) in cases.iter().zip(reference) {
        let ours = dynamic(&config, case).await;
        let label = format!(
            "{}.{}{}",
            case.service,
            case.operation,
            case.protocol.map(|p| format!(" ({p})")).unwrap_or_default()
        );
        assert!(
            expected["headers"]["authorization"]
                .as_str()
                .is_some_and(|a| a.contains("Credential=AKIDEXAMPLE/20240131/")),
            "{label}: botocore's request is not signed at the fixed time: {expected}"
        );
        if ours == expected {
            let protocol = match case.protocol {
                Some(p) => p,
                None => DynamicClient::new(&config, case.service).unwrap().protocol(),
            };
            *per_protocol.entry(protocol.name().to_owned()).or_default() += 1;
        } else {
            mismatches.push(format!(
                "{label}:\n  dynamic:  {}\n  botocore: {}",
                serde_json::to_string(&ours).unwrap(),
                serde_json::to_string(&expected).unwrap()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} requests differ:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
    for protocol in ["json", "query", "ec2", "rest-json", "rest-xml", "smithy-rpc-v2-cbor"] {
        let n = per_protocol.get(protocol).copied().unwrap_or_default();
        assert!(n >= 3, "only {n} byte-for-byte checks for {protocol}: {per_protocol:?}");
    }
}
