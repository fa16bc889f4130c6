//! # cloudkit-aws-dynamic
//!
//! Every AWS service, every operation, from botocore's JSON models, the way boto3 reaches them
//! without generated code: [`DynamicClient`] loads a service's model at run time
//! (`service-2.json`, `paginators-1.json`, `waiters-2.json`, `endpoint-rule-set-1.json`) and
//! serialises any operation from it, in whichever of the six AWS protocols the model calls for
//! (`json`, `rest-json`, `rest-xml`, `smithy-rpc-v2-cbor`, `query`, `ec2`), over the shared
//! request pipeline (SigV4, retries, timeouts, typed errors).
//!
//! - **Models** ([`Models`]): `CLOUDKIT_AWS_MODELS`, else the `data/` directory of an installed
//!   botocore (`pip install botocore`), parsed once per process. Newest API version by default.
//! - **Input** is a `serde_json::Value` in boto3's shape, validated against the model first
//!   (required members, types, enums, ranges, lengths; errors name the path: `Item.pk.S: expected
//!   text`); idempotency tokens are filled in. Timestamps are RFC 3339 text or epoch seconds;
//!   blobs are text (its UTF-8 bytes) or a list of byte values.
//! - **Output** is a `serde_json::Value` with the model's member names, plus `ResponseMetadata`
//!   (`RequestId`, `HTTPStatusCode`); timestamps come back as RFC 3339 text, blobs as base64 text.
//! - **Errors** ([`DynamicError`]) carry the service's code, message and request id
//!   (`err.code() == Some("ConditionalCheckFailedException")`).
//! - **Endpoints**: the typed clients' overrides (`AWS_ENDPOINT_URL_<SERVICE ID>`,
//!   `AWS_ENDPOINT_URL`, profile `services`), then the model's endpoint rules (partitions, global
//!   services such as IAM, FIPS and dual-stack); the signing name and region come from the rules.
//! - **Paginators** ([`Paginate`]) are cloudkit-paginate streams; **waiters**
//!   ([`DynamicWaiter`]) run on cloudkit-waiter.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_aws_dynamic::DynamicClient;
//! use futures::TryStreamExt;
//! use serde_json::json;
//!
//! let config = cloudkit_cred_chain::aws::AwsConfig::loader().load().await?;
//! let ddb = DynamicClient::new(&config, "dynamodb")?;
//! ddb.call("CreateTable", json!({
//!     "TableName": "users",
//!     "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
//!     "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
//!     "BillingMode": "PAY_PER_REQUEST",
//! })).await?;
//! ddb.waiter("TableExists")?.wait(json!({"TableName": "users"})).await?;
//! match ddb.call("PutItem", json!({"TableName": "users", "Item": {"pk": {"S": "ada"}},
//!     "ConditionExpression": "attribute_not_exists(pk)"})).await {
//!     Err(e) if e.code() == Some("ConditionalCheckFailedException") => println!("already there"),
//!     other => { other?; }
//! }
//! let mut pages = ddb.paginate("Scan", json!({"TableName": "users"}));
//! while let Some(page) = pages.try_next().await? {
//!     println!("{} items", page["Count"]);
//! }
//! # Ok(()) }
//! ```

mod client;
mod customize;
mod endpoint;
mod error;
#[cfg(test)]
mod futures_are_send;
mod gzip;
mod jmespath;
mod models;
mod paginate;
mod protocol;
mod shapes;
#[cfg(test)]
mod tests;
mod validate;
mod waiters;

pub use client::{ClientBuilder, DynamicClient};
pub use error::DynamicError;
pub use models::{MODELS_VAR, ModelError, Models, ServiceModel};
pub use paginate::{DynamicPage, Paginate};
pub use protocol::{Protocol, UnknownProtocol};
pub use waiters::DynamicWaiter;

/// Re-exports of the types that appear in this crate's API.
pub use cloudkit_paginate::{ItemStream, PageStream, PaginationConfig};
pub use cloudkit_waiter::{FinalPoll, WaiterConfig, WaiterError};
pub use serde_json::{Value, json};
