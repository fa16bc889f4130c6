//! The model-driven client (`cloudkit::aws_dynamic`, issue 20) against moto, with botocore as the
//! reference: the same calls made through `DynamicClient` and through boto3 (a Python helper
//! driving `client._make_api_call`) return the same JSON (without `ResponseMetadata`; boto3's
//! datetimes written as the dynamic client writes timestamps, bytes as base64), and service and
//! validation errors agree on their code, and paginated listings give the same items as boto3's
//! paginators over several pages. Writes that create state are made once, through the dynamic
//! client, with the model's waiter where the service has one (TableExists, BucketExists,
//! ObjectExists, UserExists, InstanceRunning, AlarmExists, FunctionActiveV2; TableNotExists and
//! InstanceTerminated on the way out); the reads of that state, and idempotent writes, are
//! compared. Services and protocols: DynamoDB and SQS (json), SNS and IAM (query), S3 (rest-xml),
//! EC2 (ec2), CloudWatch (json; its model lists smithy-rpc-v2-cbor first), API Gateway and Lambda
//! (rest-json).
//!
//! Models come from the botocore that `scripts/testbed.sh up` installs with boto3.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cloudkit::aws_dynamic::{DynamicClient, PaginationConfig, Protocol};
use cloudkit_tests::aws;
use cloudkit_tests::python::run_python;
use cloudkit_tests::testbed::{self, Emulator};
use cloudkit_tests::unique_name;
use futures::TryStreamExt;
use serde_json::{Value, json};

const HELPER: &str = r#"
import base64, datetime, json, os, sys
try:
    import boto3, botocore, botocore.exceptions
except ImportError as e:
    print("boto3 is not installed for this interpreter: %s" % e, file=sys.stderr)
    sys.exit(3)
clients = {}
def client(name):
    if name not in clients:
        clients[name] = boto3.client(name, endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                                     aws_access_key_id="testing", aws_secret_access_key="testing")
    return clients[name]
def norm(v):
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items() if k != "ResponseMetadata"}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, datetime.datetime):
        v = v.astimezone(datetime.timezone.utc)
        ms = v.microsecond // 1000
        return v.strftime("%Y-%m-%dT%H:%M:%S") + (".%03dZ" % ms if ms else "Z")
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(v).decode()
    if hasattr(v, "read"):
        return base64.b64encode(v.read()).decode()
    return v
def items(service, op, params, page_size):
    paginator = client(service).get_paginator(botocore.xform_name(op))
    pages = paginator.paginate(**params, PaginationConfig={"PageSize": page_size})
    found, count = [], 0
    for page in pages:
        count += 1
        for key in pages.result_keys:
            value = key.search(page)
            if isinstance(value, list):  # the items; counts such as Scan's Count are not
                found.extend(value)
    return {"items": norm(found), "pages": count}
out = []
for service, op, params, page_size in json.loads(sys.argv[1]):
    try:
        if page_size:
            out.append(items(service, op, params, page_size))
            continue
        out.append({"ok": norm(client(service)._make_api_call(op, params))})
    except botocore.exceptions.ClientError as e:
        out.append({"error": e.response["Error"].get("Code")})
    except botocore.exceptions.ParamValidationError as e:
        out.append({"error": "validation"})
print(json.dumps(out))
"#;

/// What a call returned, in the helper's form.
fn outcome(result: Result<Value, cloudkit::aws_dynamic::DynamicError>) -> Value {
    match result {
        Ok(mut v) => {
            if let Some(o) = v.as_object_mut() {
                o.remove("ResponseMetadata");
            }
            json!({"ok": v})
        }
        Err(e) if e.is_validation() => json!({"error": "validation"}),
        Err(e) => json!({"error": e.code()}),
    }
}

/// Runs `calls` through boto3, in one Python process; a call with a page size is paginated
/// with boto3's paginator and answers `{"items": [...], "pages": n}`.
fn boto3(calls: &[(&str, &str, Value, Option<u32>)]) -> Vec<Value> {
    let endpoint = testbed::endpoint(Emulator::Moto);
    let arg = serde_json::to_string(&calls.iter().map(|(s, o, p, n)| json!([s, o, p, n])).collect::<Vec<_>>()).unwrap();
    let out = run_python(HELPER, &[&arg], &[("ENDPOINT", &endpoint)]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[tokio::test]
async fn the_dynamic_client_and_boto3_agree_on_moto() {
    let config = aws::moto_config().await;
    let client = |name: &str| DynamicClient::new(&config, name).unwrap();
    let (ddb, sqs, sns, iam, s3, ec2, cw, apigw, lambda) = (
        client("dynamodb"),
        client("sqs"),
        client("sns"),
        client("iam"),
        client("s3"),
        client("ec2"),
        client("cloudwatch"),
        client("apigateway"),
        client("lambda"),
    );
    assert_eq!(ddb.protocol(), Protocol::Json);
    assert_eq!(sns.protocol(), Protocol::Query);
    assert_eq!(s3.protocol(), Protocol::RestXml);
    assert_eq!(ec2.protocol(), Protocol::Ec2);
    assert_eq!(apigw.protocol(), Protocol::RestJson);
    assert_eq!(cw.protocol(), Protocol::Json, "botocore ranks json above smithy-rpc-v2-cbor");

    let table = unique_name("dyn-table");
    let queue = unique_name("dyn-queue");
    let topic = unique_name("dyn-topic");
    let user = unique_name("dyn-user");
    let path = format!("/{}/", unique_name("dynpath"));
    let role = unique_name("dyn-role");
    let bucket = unique_name("dyn-bucket");
    let ns = unique_name("dyn-ns");
    let key_pair = unique_name("dyn-key");
    let alarm = unique_name("dyn-alarm");
    let function = unique_name("dyn-fn");

    // State, created through the dynamic client (with a waiter per service that has one).
    let create = ddb
        .call(
            "CreateTable",
            json!({"TableName": table, "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
                "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "N"}],
                "BillingMode": "PAY_PER_REQUEST"}),
        )
        .await
        .unwrap();
    assert_eq!(create["TableDescription"]["TableName"], json!(table));
    let table_arn = create["TableDescription"]["TableArn"].as_str().unwrap().to_owned();
    ddb.waiter("TableExists").unwrap().wait(json!({"TableName": table})).await.unwrap();
    for i in 0..7 {
        ddb.call(
            "PutItem",
            json!({"TableName": table, "Item": {"pk": {"S": "p"}, "sk": {"N": i.to_string()}, "b": {"B": "aGk="}}}),
        )
        .await
        .unwrap();
    }
    ddb.call("TagResource", json!({"ResourceArn": table_arn, "Tags": [{"Key": "team", "Value": "dyn"}]}))
        .await
        .unwrap();
    // The compared writes below are idempotent: their effect is made here first.
    ddb.call(
        "UpdateItem",
        json!({"TableName": table, "Key": {"pk": {"S": "p"}, "sk": {"N": "3"}}, "UpdateExpression": "SET c = :c",
            "ExpressionAttributeValues": {":c": {"S": "same"}}}),
    )
    .await
    .unwrap();
    let queue_url =
        sqs.call("CreateQueue", json!({"QueueName": queue})).await.unwrap()["QueueUrl"].as_str().unwrap().to_owned();
    for i in 0..3 {
        sqs.call("CreateQueue", json!({"QueueName": format!("{queue}-p{i}")})).await.unwrap();
    }
    sqs.call("SendMessage", json!({"QueueUrl": queue_url, "MessageBody": "hello", "MessageAttributes": {"a": {"DataType": "String", "StringValue": "v"}}}))
        .await
        .unwrap();
    sqs.call("TagQueue", json!({"QueueUrl": queue_url, "Tags": {"team": "dyn"}})).await.unwrap();
    sqs.call("SetQueueAttributes", json!({"QueueUrl": queue_url, "Attributes": {"VisibilityTimeout": "45"}}))
        .await
        .unwrap();
    let queue_arn = sqs
        .call("GetQueueAttributes", json!({"QueueUrl": queue_url, "AttributeNames": ["QueueArn"]}))
        .await
        .unwrap()["Attributes"]["QueueArn"]
        .as_str()
        .unwrap()
        .to_owned();
    let topic_arn = sns
        .call("CreateTopic", json!({"Name": topic, "Tags": [{"Key": "k", "Value": "v"}]}))
        .await
        .unwrap()["TopicArn"]
        .as_str()
        .unwrap()
        .to_owned();
    sns.call(
        "SetTopicAttributes",
        json!({"TopicArn": topic_arn, "AttributeName": "DisplayName", "AttributeValue": "Dyn"}),
    )
    .await
    .unwrap();
    let subscription =
        sns.call("Subscribe", json!({"TopicArn": topic_arn, "Protocol": "sqs", "Endpoint": queue_arn})).await.unwrap()
            ["SubscriptionArn"]
            .as_str()
            .unwrap()
            .to_owned();
    iam.call("CreateUser", json!({"UserName": user, "Path": path, "Tags": [{"Key": "team", "Value": "x"}]}))
        .await
        .unwrap();
    iam.waiter("UserExists").unwrap().wait(json!({"UserName": user})).await.unwrap();
    for i in 0..4 {
        iam.call("CreateUser", json!({"UserName": format!("{user}-{i}"), "Path": path})).await.unwrap();
    }
    let trust = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
    let role_arn = iam
        .call("CreateRole", json!({"RoleName": role, "Path": path, "AssumeRolePolicyDocument": trust}))
        .await
        .unwrap()["Role"]["Arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let inline =
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#;
    iam.call("PutRolePolicy", json!({"RoleName": role, "PolicyName": "read", "PolicyDocument": inline})).await.unwrap();
    s3.call("CreateBucket", json!({"Bucket": bucket})).await.unwrap();
    s3.waiter("BucketExists").unwrap().wait(json!({"Bucket": bucket})).await.unwrap();
    for i in 0..5 {
        s3.call("PutObject", json!({"Bucket": bucket, "Key": format!("dir/k{i} x+y"), "Body": "data", "ContentType": "text/plain", "Metadata": {"m": "1"}}))
            .await
            .unwrap();
    }
    s3.waiter("ObjectExists").unwrap().wait(json!({"Bucket": bucket, "Key": "dir/k4 x+y"})).await.unwrap();
    s3.call("PutBucketTagging", json!({"Bucket": bucket, "Tagging": {"TagSet": [{"Key": "k", "Value": "v&<>"}]}}))
        .await
        .unwrap();
    s3.call(
        "PutObjectTagging",
        json!({"Bucket": bucket, "Key": "dir/k0 x+y", "Tagging": {"TagSet": [{"Key": "t", "Value": "1"}]}}),
    )
    .await
    .unwrap();
    ec2.call("CreateKeyPair", json!({"KeyName": key_pair})).await.unwrap();
    let run = ec2
        .call(
            "RunInstances",
            json!({"ImageId": "ami-12c6146b", "InstanceType": "t3.micro", "MinCount": 1, "MaxCount": 1, "KeyName": key_pair,
                "TagSpecifications": [{"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "dyn"}]}]}),
        )
        .await
        .unwrap();
    let instance = run["Instances"][0]["InstanceId"].as_str().unwrap().to_owned();
    ec2.waiter("InstanceRunning").unwrap().wait(json!({"InstanceIds": [instance]})).await.unwrap();
    cw.call(
        "PutMetricData",
        json!({"Namespace": ns, "MetricData": [{"MetricName": "m", "Value": 1.5, "Unit": "Count"}]}),
    )
    .await
    .unwrap();
    for i in 0..3 {
        cw.call(
            "PutMetricAlarm",
            json!({"AlarmName": format!("{alarm}-{i}"), "Namespace": ns, "MetricName": "m", "Statistic": "Sum", "Period": 60,
                "EvaluationPeriods": 1, "Threshold": 10.0, "ComparisonOperator": "GreaterThanThreshold"}),
        )
        .await
        .unwrap();
    }
    cw.waiter("AlarmExists").unwrap().wait(json!({"AlarmNames": [format!("{alarm}-0")]})).await.unwrap();
    let api = apigw.call("CreateRestApi", json!({"name": unique_name("dyn-api")})).await.unwrap();
    let api_id = api["id"].as_str().unwrap().to_owned();
    let root = apigw.call("GetResources", json!({"restApiId": api_id})).await.unwrap()["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let resource = apigw
        .call("CreateResource", json!({"restApiId": api_id, "parentId": root, "pathPart": "items"}))
        .await
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    apigw
        .call(
            "PutMethod",
            json!({"restApiId": api_id, "resourceId": resource, "httpMethod": "GET", "authorizationType": "NONE"}),
        )
        .await
        .unwrap();
    // An empty zip archive (just the end-of-central-directory record); blobs are text here.
    let zip = format!("PK\u{5}\u{6}{}", "\0".repeat(18));
    lambda
        .call(
            "CreateFunction",
            json!({"FunctionName": function, "Runtime": "python3.12", "Role": role_arn, "Handler": "app.handler",
                "Code": {"ZipFile": zip}, "Environment": {"Variables": {"A": "1"}}, "Tags": {"team": "dyn"}}),
        )
        .await
        .unwrap();
    lambda.waiter("FunctionActiveV2").unwrap().wait(json!({"FunctionName": function})).await.unwrap();

    // The same reads, errors, validation failures and paginated listings through both clients.
    let item_key = json!({"pk": {"S": "p"}, "sk": {"N": "3"}});
    let calls: Vec<(&str, &str, Value, Option<u32>)> = vec![
        // dynamodb (json 1.0)
        ("dynamodb", "DescribeTable", json!({"TableName": table}), None),
        ("dynamodb", "GetItem", json!({"TableName": table, "Key": item_key}), None),
        (
            "dynamodb",
            "Query",
            json!({"TableName": table, "KeyConditionExpression": "pk = :p AND sk > :s",
            "ExpressionAttributeValues": {":p": {"S": "p"}, ":s": {"N": "4"}}}),
            None,
        ),
        ("dynamodb", "Scan", json!({"TableName": table, "Limit": 3}), None),
        (
            "dynamodb",
            "BatchGetItem",
            json!({"RequestItems": {table.as_str(): {"Keys": [item_key, {"pk": {"S": "p"}, "sk": {"N": "5"}}]}}}),
            None,
        ),
        (
            "dynamodb",
            "UpdateItem",
            json!({"TableName": table, "Key": item_key, "UpdateExpression": "SET c = :c",
                "ExpressionAttributeValues": {":c": {"S": "same"}}, "ReturnValues": "ALL_NEW"}),
            None,
        ),
        ("dynamodb", "ListTagsOfResource", json!({"ResourceArn": table_arn}), None),
        ("dynamodb", "DescribeTimeToLive", json!({"TableName": table}), None),
        ("dynamodb", "Scan", json!({"TableName": table}), Some(2)),
        (
            "dynamodb",
            "Query",
            json!({"TableName": table, "KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "p"}}}),
            Some(3),
        ),
        ("dynamodb", "GetItem", json!({"TableName": "no-such-table", "Key": {"pk": {"S": "p"}}}), None),
        ("dynamodb", "DescribeTable", json!({"TableName": "no-such-table"}), None),
        (
            "dynamodb",
            "PutItem",
            json!({"TableName": table, "Item": {"pk": {"S": "p"}, "sk": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(pk)"}),
            None,
        ),
        ("dynamodb", "PutItem", json!({"TableName": table, "Item": {"pk": {"S": 1}}}), None),
        ("dynamodb", "Query", json!({"TableName": table}), None),
        // sqs (json 1.0)
        ("sqs", "GetQueueUrl", json!({"QueueName": queue}), None),
        (
            "sqs",
            "GetQueueAttributes",
            json!({"QueueUrl": queue_url, "AttributeNames": ["VisibilityTimeout", "DelaySeconds"]}),
            None,
        ),
        ("sqs", "ListQueueTags", json!({"QueueUrl": queue_url}), None),
        ("sqs", "ListQueues", json!({"QueueNamePrefix": format!("{queue}-p")}), None),
        ("sqs", "ListQueues", json!({"QueueNamePrefix": format!("{queue}-p")}), Some(2)),
        ("sqs", "SetQueueAttributes", json!({"QueueUrl": queue_url, "Attributes": {"VisibilityTimeout": "45"}}), None),
        ("sqs", "GetQueueUrl", json!({"QueueName": "no-such-queue"}), None),
        ("sqs", "SendMessage", json!({"QueueUrl": queue_url}), None),
        // sns (query)
        ("sns", "GetTopicAttributes", json!({"TopicArn": topic_arn}), None),
        ("sns", "ListTagsForResource", json!({"ResourceArn": topic_arn}), None),
        ("sns", "ListSubscriptionsByTopic", json!({"TopicArn": topic_arn}), None),
        ("sns", "GetSubscriptionAttributes", json!({"SubscriptionArn": subscription}), None),
        (
            "sns",
            "SetTopicAttributes",
            json!({"TopicArn": topic_arn, "AttributeName": "DisplayName", "AttributeValue": "Dyn"}),
            None,
        ),
        ("sns", "GetTopicAttributes", json!({"TopicArn": "arn:aws:sns:us-east-1:123456789012:nope"}), None),
        ("sns", "Publish", json!({"TopicArn": topic_arn}), None),
        // iam (query, global endpoint)
        ("iam", "GetUser", json!({"UserName": user}), None),
        ("iam", "ListUserTags", json!({"UserName": user}), None),
        ("iam", "GetRole", json!({"RoleName": role}), None),
        ("iam", "GetRolePolicy", json!({"RoleName": role, "PolicyName": "read"}), None),
        ("iam", "ListRolePolicies", json!({"RoleName": role}), None),
        ("iam", "ListGroupsForUser", json!({"UserName": user}), None),
        ("iam", "ListUsers", json!({"PathPrefix": path}), Some(2)),
        ("iam", "ListRoles", json!({"PathPrefix": path}), None),
        ("iam", "GetUser", json!({"UserName": "no-such-user-dyn"}), None),
        ("iam", "GetRole", json!({"RoleName": "no-such-role-dyn"}), None),
        ("iam", "ListUsers", json!({"MaxItems": "ten"}), None),
        // s3 (rest-xml)
        ("s3", "ListObjectsV2", json!({"Bucket": bucket, "Prefix": "dir/"}), None),
        ("s3", "ListObjectsV2", json!({"Bucket": bucket, "Delimiter": "/"}), None),
        ("s3", "ListObjects", json!({"Bucket": bucket, "Prefix": "dir/k1"}), None),
        ("s3", "ListObjectsV2", json!({"Bucket": bucket}), Some(2)),
        ("s3", "ListObjects", json!({"Bucket": bucket}), Some(2)),
        ("s3", "HeadObject", json!({"Bucket": bucket, "Key": "dir/k1 x+y"}), None),
        ("s3", "GetObject", json!({"Bucket": bucket, "Key": "dir/k2 x+y"}), None),
        ("s3", "GetObject", json!({"Bucket": bucket, "Key": "dir/k2 x+y", "Range": "bytes=1-2"}), None),
        ("s3", "GetBucketLocation", json!({"Bucket": bucket}), None),
        ("s3", "GetBucketTagging", json!({"Bucket": bucket}), None),
        ("s3", "GetObjectTagging", json!({"Bucket": bucket, "Key": "dir/k0 x+y"}), None),
        ("s3", "GetBucketVersioning", json!({"Bucket": bucket}), None),
        ("s3", "HeadBucket", json!({"Bucket": bucket}), None),
        ("s3", "GetObject", json!({"Bucket": bucket, "Key": "missing"}), None),
        ("s3", "GetBucketPolicy", json!({"Bucket": bucket}), None),
        ("s3", "HeadBucket", json!({"Bucket": "no-such-bucket-dyn"}), None),
        ("s3", "GetObject", json!({"Bucket": bucket}), None),
        // ec2
        ("ec2", "DescribeRegions", json!({"RegionNames": ["us-east-1", "eu-west-1"]}), None),
        ("ec2", "DescribeAvailabilityZones", json!({}), None),
        ("ec2", "DescribeVpcs", json!({"Filters": [{"Name": "is-default", "Values": ["true"]}]}), None),
        ("ec2", "DescribeInstances", json!({"InstanceIds": [instance]}), None),
        ("ec2", "DescribeInstanceStatus", json!({"InstanceIds": [instance]}), None),
        ("ec2", "DescribeKeyPairs", json!({"KeyNames": [key_pair]}), None),
        ("ec2", "DescribeTags", json!({"Filters": [{"Name": "resource-id", "Values": [instance]}]}), None),
        ("ec2", "DescribeInstanceTypes", json!({"InstanceTypes": ["t3.micro"]}), None),
        ("ec2", "DescribeInstances", json!({"InstanceIds": ["i-00000000000000000"]}), None),
        ("ec2", "DescribeKeyPairs", json!({"KeyNames": ["no-such-key-dyn"]}), None),
        ("ec2", "DescribeInstances", json!({"MaxResults": "many"}), None),
        // cloudwatch (json, the model lists smithy-rpc-v2-cbor first)
        ("cloudwatch", "ListMetrics", json!({"Namespace": ns}), None),
        ("cloudwatch", "DescribeAlarms", json!({"AlarmNames": [format!("{alarm}-1")]}), None),
        ("cloudwatch", "DescribeAlarms", json!({"AlarmNamePrefix": alarm}), Some(2)),
        ("cloudwatch", "DescribeAlarmsForMetric", json!({"MetricName": "m", "Namespace": ns}), None),
        (
            "cloudwatch",
            "PutMetricData",
            json!({"Namespace": ns, "MetricData": [{"MetricName": "m", "Value": "x"}]}),
            None,
        ),
        // apigateway (rest-json)
        ("apigateway", "GetRestApi", json!({"restApiId": api_id}), None),
        ("apigateway", "GetResources", json!({"restApiId": api_id}), None),
        ("apigateway", "GetResource", json!({"restApiId": api_id, "resourceId": resource}), None),
        ("apigateway", "GetMethod", json!({"restApiId": api_id, "resourceId": resource, "httpMethod": "GET"}), None),
        ("apigateway", "GetStages", json!({"restApiId": api_id}), None),
        ("apigateway", "GetRestApi", json!({"restApiId": "nope"}), None),
        ("apigateway", "GetResource", json!({"restApiId": api_id}), None),
        // lambda (rest-json)
        ("lambda", "GetFunction", json!({"FunctionName": function}), None),
        ("lambda", "GetFunctionConfiguration", json!({"FunctionName": function}), None),
        ("lambda", "ListVersionsByFunction", json!({"FunctionName": function}), None),
        (
            "lambda",
            "ListTags",
            json!({"Resource": format!("arn:aws:lambda:us-east-1:123456789012:function:{function}")}),
            None,
        ),
        ("lambda", "GetFunction", json!({"FunctionName": "no-such-function"}), None),
        ("lambda", "GetPolicy", json!({"FunctionName": function}), None),
        ("lambda", "GetFunction", json!({}), None),
    ];
    let reference = boto3(&calls);
    let by_name = |n: &str| match n {
        "dynamodb" => &ddb,
        "sqs" => &sqs,
        "sns" => &sns,
        "iam" => &iam,
        "s3" => &s3,
        "ec2" => &ec2,
        "cloudwatch" => &cw,
        "apigateway" => &apigw,
        _ => &lambda,
    };
    let mut mismatches = Vec::new();
    let mut operations = std::collections::BTreeSet::new();
    let (mut errors, mut validation, mut paginated) = (0, 0, 0);
    let mut listings = Vec::new();
    for ((service, op, input, page_size), expected) in calls.iter().zip(reference) {
        let client = by_name(service);
        let ours = match page_size {
            Some(n) => {
                let items: Result<Vec<Value>, _> = client
                    .paginate(op, input.clone())
                    .into_items(PaginationConfig::default().page_size(*n))
                    .try_collect()
                    .await;
                let items = items.unwrap_or_else(|e| panic!("{service}.{op} pages: {e}"));
                // moto ignores some page sizes (SQS ListQueues, IAM ListUsers and CloudWatch
                // DescribeAlarms answer everything at once): those compare one page.
                let pages = expected["pages"].as_u64().unwrap_or_default();
                listings.push(format!("{service}.{op}: {} items in {pages} pages", items.len()));
                if pages >= 2 {
                    paginated += 1;
                }
                json!({"items": items, "pages": pages})
            }
            None => outcome(client.call(op, input.clone()).await),
        };
        match &expected["error"] {
            Value::String(v) if v == "validation" => validation += 1,
            Value::String(_) => errors += 1,
            _ => {}
        }
        operations.insert(format!("{service}.{op}"));
        if ours != expected {
            mismatches
                .push(format!("{service}.{op}({input}, {page_size:?}):\n  dynamic: {ours}\n  boto3:   {expected}"));
        }
    }
    assert!(mismatches.is_empty(), "{} of {} calls differ:\n{}", mismatches.len(), calls.len(), mismatches.join("\n"));
    assert!(calls.len() >= 60 && operations.len() >= 60, "{} calls, {} operations", calls.len(), operations.len());
    assert!(
        errors >= 9 && validation >= 9 && paginated >= 4,
        "{errors} service errors, {validation} validation errors, {paginated} listings over several pages: {listings:?}"
    );

    // Clean up through the dynamic client, with its waiters.
    lambda.call("DeleteFunction", json!({"FunctionName": function})).await.unwrap();
    cw.call("DeleteAlarms", json!({"AlarmNames": (0..3).map(|i| format!("{alarm}-{i}")).collect::<Vec<_>>()}))
        .await
        .unwrap();
    ec2.call("TerminateInstances", json!({"InstanceIds": [instance]})).await.unwrap();
    ec2.waiter("InstanceTerminated").unwrap().wait(json!({"InstanceIds": [instance]})).await.unwrap();
    ec2.call("DeleteKeyPair", json!({"KeyName": key_pair})).await.unwrap();
    ddb.call("DeleteTable", json!({"TableName": table})).await.unwrap();
    ddb.waiter("TableNotExists").unwrap().wait(json!({"TableName": table})).await.unwrap();
    sqs.call("DeleteQueue", json!({"QueueUrl": queue_url})).await.unwrap();
    sns.call("DeleteTopic", json!({"TopicArn": topic_arn})).await.unwrap();
    iam.call("DeleteRolePolicy", json!({"RoleName": role, "PolicyName": "read"})).await.unwrap();
    iam.call("DeleteRole", json!({"RoleName": role})).await.unwrap();
    iam.call("DeleteUser", json!({"UserName": user})).await.unwrap();
    apigw.call("DeleteRestApi", json!({"restApiId": api_id})).await.unwrap();
}
