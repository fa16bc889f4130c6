//! Any AWS service from botocore's models, the boto3 way (`cloudkit::aws_dynamic`, feature
//! `aws-any`): create a DynamoDB table and wait until it exists, put, get and query items, scan
//! them page by page with the model's paginator, delete the table (and wait); then send and
//! receive an SQS message. No generated code: the operations, their shapes, paginators and waiters
//! come from the installed botocore's JSON models (`pip install botocore`, or point
//! `CLOUDKIT_AWS_MODELS` at a copy of its `data/` directory).
//!
//! Everything comes from the environment, as with the AWS CLI: `AWS_PROFILE`, `AWS_REGION`,
//! credentials, and `AWS_ENDPOINT_URL` (or `AWS_ENDPOINT_URL_DYNAMODB` / `_SQS`) for an emulator.
//!
//! ```text
//! # against moto (what scripts/test.sh runs):
//! AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
//!     AWS_REGION=us-east-1 cargo run --example any_service
//! # against AWS (creates and deletes one on-demand table and one queue):
//! AWS_PROFILE=sandbox cargo run --example any_service
//! ```

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use cloudkit::aws_dynamic::{PaginationConfig, Value, json};
use cloudkit::session::Session;
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("any_service failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let session = Session::aws().load().await?;
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis();

    // DynamoDB (the json protocol): a table with a partition and a sort key.
    let ddb = session.client("dynamodb")?;
    println!("DynamoDB at {} ({} operations in the model)", ddb.endpoint(), ddb.operations().len());
    let table = format!("cloudkit-any-{stamp}");
    ddb.call(
        "CreateTable",
        json!({
            "TableName": table,
            "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}, {"AttributeName": "day", "KeyType": "RANGE"}],
            "AttributeDefinitions": [{"AttributeName": "user", "AttributeType": "S"}, {"AttributeName": "day", "AttributeType": "N"}],
            "BillingMode": "PAY_PER_REQUEST",
        }),
    )
    .await?;
    ddb.waiter("TableExists")?.wait(json!({"TableName": table})).await?;
    println!("Created table {table} and waited until it exists");

    for day in 1..=5 {
        ddb.call(
            "PutItem",
            json!({"TableName": table, "Item": {"user": {"S": "ada"}, "day": {"N": day.to_string()}, "steps": {"N": (day * 1000).to_string()}}}),
        )
        .await?;
    }
    // A conditional put that fails: errors carry the service's code.
    match ddb
        .call(
            "PutItem",
            json!({"TableName": table, "Item": {"user": {"S": "ada"}, "day": {"N": "1"}}, "ConditionExpression": "attribute_not_exists(#u)",
                "ExpressionAttributeNames": {"#u": "user"}}),
        )
        .await
    {
        Err(e) if e.code() == Some("ConditionalCheckFailedException") => println!("Day 1 was already there"),
        Err(e) => return Err(e.into()),
        Ok(_) => return Err("the conditional put should have failed".into()),
    }
    let item =
        ddb.call("GetItem", json!({"TableName": table, "Key": {"user": {"S": "ada"}, "day": {"N": "3"}}})).await?;
    println!("Day 3: {} steps", item["Item"]["steps"]["N"].as_str().unwrap_or("?"));
    let later = ddb
        .call(
            "Query",
            json!({"TableName": table, "KeyConditionExpression": "#u = :u AND #d >= :d",
                "ExpressionAttributeNames": {"#u": "user", "#d": "day"},
                "ExpressionAttributeValues": {":u": {"S": "ada"}, ":d": {"N": "4"}}}),
        )
        .await?;
    println!("Query day >= 4: {} items", later["Count"]);

    let items: Vec<Value> = ddb
        .paginate("Scan", json!({"TableName": table}))
        .into_items(PaginationConfig::default().page_size(2))
        .try_collect()
        .await?;
    let total: u64 = items.iter().filter_map(|i| i["steps"]["N"].as_str()?.parse::<u64>().ok()).sum();
    println!("Scanned {} items in pages of 2: {total} steps in all", items.len());
    if items.len() != 5 {
        return Err(format!("expected 5 items, scanned {}", items.len()).into());
    }

    ddb.call("DeleteTable", json!({"TableName": table})).await?;
    ddb.waiter("TableNotExists")?.wait(json!({"TableName": table})).await?;
    println!("Deleted table {table}");

    // SQS (json as well, with query-compatible error codes): send and receive.
    let sqs = session.client("sqs")?;
    let queue = format!("cloudkit-any-{stamp}");
    let url =
        sqs.call("CreateQueue", json!({"QueueName": queue})).await?["QueueUrl"].as_str().unwrap_or_default().to_owned();
    let sent = sqs
        .call(
            "SendMessage",
            json!({"QueueUrl": url, "MessageBody": "hello from cloudkit",
                "MessageAttributes": {"sender": {"DataType": "String", "StringValue": "any_service"}}}),
        )
        .await?;
    println!("Sent message {} to {queue}", sent["MessageId"].as_str().unwrap_or("?"));
    let received = sqs
        .call(
            "ReceiveMessage",
            json!({"QueueUrl": url, "MaxNumberOfMessages": 1, "WaitTimeSeconds": 5, "MessageAttributeNames": ["All"]}),
        )
        .await?;
    let message = &received["Messages"][0];
    println!(
        "Received {:?} from {}",
        message["Body"].as_str().unwrap_or_default(),
        message["MessageAttributes"]["sender"]["StringValue"].as_str().unwrap_or("?")
    );
    if message["Body"] != "hello from cloudkit" {
        return Err(format!("unexpected message: {received}").into());
    }
    sqs.call("DeleteMessage", json!({"QueueUrl": url, "ReceiptHandle": message["ReceiptHandle"]})).await?;
    sqs.call("DeleteQueue", json!({"QueueUrl": url})).await?;
    println!("Deleted queue {queue}; done.");
    Ok(())
}
