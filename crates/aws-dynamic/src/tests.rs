//! Client tests on a small model of this crate's own (`src/testdata/widgets`, botocore's layout)
//! and canned answers (`ReplayHttp`). Real models and real services: the integration tests
//! (`tests/tests/aws_dynamic_*.rs`) against moto and botocore.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use cloudkit_core::testing::{Canned, ReplayHttp};
use cloudkit_core::{RetryConfig, Url};
use cloudkit_cred_chain::aws::{AwsConfig, Env, Fs, ProviderConfig};
use cloudkit_signer::aws::Credentials;
use futures::{StreamExt, TryStreamExt};
use serde_json::json;

use crate::{DynamicClient, DynamicError, Models, PaginationConfig, WaiterError};

fn models() -> Models {
    Models::from_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/testdata"))
}

async fn config(http: Arc<ReplayHttp>, region: &str) -> AwsConfig {
    let env = Env::from_pairs([("HOME", "/home/dyn-test"), ("AWS_EC2_METADATA_DISABLED", "true")]);
    let provider = ProviderConfig::with_http(http).env(env).fs(Fs::from_files::<&str, &str>([]));
    AwsConfig::loader()
        .provider_config(provider)
        .region(region)
        .credentials(Credentials::from_keys("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
        .load()
        .await
        .unwrap()
}

async fn client() -> (DynamicClient, Arc<ReplayHttp>) {
    let http = Arc::new(ReplayHttp::new());
    let c = DynamicClient::builder(&config(http.clone(), "us-east-1").await, "widgets")
        .models(models())
        .endpoint(Url::parse("http://widgets.test").unwrap())
        .http(http.clone())
        .retry(RetryConfig::standard().with_max_attempts(1))
        .build()
        .unwrap();
    (c, http)
}

#[tokio::test]
async fn a_call_is_serialised_signed_and_decoded() {
    let (c, http) = client().await;
    http.push(
        Canned::status(200, r#"{"Widget": {"Name": "w", "Size": 3, "Created": 1706702400.5, "State": "ACTIVE", "Data": "aGk=", "Extra": 1}}"#)
            .with_header("x-amzn-requestid", "req-1"),
    );
    let out = c
        .call(
            "put_widget",
            json!({"Name": "w", "Size": 3, "Created": "2024-01-31T12:00:00Z", "Data": "hi", "Token": "t"}),
        )
        .await
        .unwrap();
    assert_eq!(
        out,
        json!({"Widget": {"Name": "w", "Size": 3, "Created": "2024-01-31T12:00:00.500Z", "State": "ACTIVE", "Data": "aGk="},
            "ResponseMetadata": {"RequestId": "req-1", "HTTPStatusCode": 200}})
    );
    let req = &http.requests()[0];
    assert_eq!(req.url.as_str(), "http://widgets.test/");
    assert_eq!(req.headers["x-amz-target"], "Widgets_20240101.PutWidget");
    assert_eq!(req.headers["content-type"], "application/x-amz-json-1.0");
    assert!(req.headers["authorization"].to_str().unwrap().contains("/us-east-1/widgets/aws4_request"));
    assert_eq!(&req.body[..], br#"{"Created": 1706702400, "Data": "aGk=", "Name": "w", "Size": 3, "Token": "t"}"#);
}

#[tokio::test]
async fn validation_errors_name_the_path_and_send_nothing() {
    let (c, http) = client().await;
    let e = c.call("PutWidget", json!({"Size": 0, "Colour": "red"})).await.unwrap_err();
    assert!(e.is_validation());
    assert_eq!(
        e.to_string(),
        "widgets.PutWidget failed: invalid input: Name: missing required member; Colour: unknown member; expected one of: \
         Created, Data, Name, Size, Token; Size: 0 is below the minimum 1"
    );
    assert!(http.requests().is_empty());
    let e = c.call("PutWidgets", json!({})).await.unwrap_err();
    assert!(e.to_string().contains("has no operation PutWidgets"), "{e}");
    let e = c.call("putwidget", json!({"Name": "x"})).await;
    assert!(e.is_err(), "a lower-case name without `_` is not boto3's");
}

#[tokio::test]
async fn idempotency_tokens_are_filled_in() {
    let (c, http) = client().await;
    http.push(Canned::status(200, "{}"));
    c.call("PutWidget", json!({"Name": "w"})).await.unwrap();
    let body: serde_json::Value = serde_json::from_slice(&http.requests()[0].body).unwrap();
    assert_eq!(body["Token"].as_str().unwrap().len(), 36);
}

#[tokio::test]
async fn service_errors_carry_code_message_and_request_id() {
    let (c, http) = client().await;
    http.push(
        Canned::status(400, r#"{"__type": "com.example#WidgetNotFound", "message": "no widget w"}"#)
            .with_header("x-amzn-requestid", "req-9"),
    );
    let e = c.call("DescribeWidget", json!({"Name": "w"})).await.unwrap_err();
    assert!(matches!(e, DynamicError::Service(_)));
    assert_eq!((e.code(), e.message(), e.request_id()), (Some("WidgetNotFound"), Some("no widget w"), Some("req-9")));
}

#[tokio::test]
async fn pagination_follows_tokens_and_page_sizes() {
    let (c, http) = client().await;
    http.push(Canned::status(200, r#"{"Widgets": [{"Name": "a"}, {"Name": "b"}], "NextToken": "t2"}"#));
    http.push(Canned::status(200, r#"{"Widgets": [{"Name": "c"}]}"#));
    let items: Vec<serde_json::Value> = c
        .paginate("ListWidgets", json!({}))
        .into_items(PaginationConfig::default().page_size(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items, [json!({"Name": "a"}), json!({"Name": "b"}), json!({"Name": "c"})]);
    let bodies: Vec<String> = http.requests().iter().map(|r| String::from_utf8(r.body.to_vec()).unwrap()).collect();
    assert_eq!(bodies, [r#"{"MaxResults": 2}"#, r#"{"MaxResults": 2, "NextToken": "t2"}"#]);

    http.push(Canned::status(200, r#"{"Widgets": [], "NextToken": "same"}"#));
    http.push(Canned::status(200, r#"{"Widgets": [], "NextToken": "same"}"#));
    let pages: Vec<_> = c.paginate("ListWidgets", json!({})).collect::<Vec<_>>().await;
    assert!(matches!(pages.last(), Some(Err(DynamicError::Pagination(_)))), "{pages:?}");
    let e = c.paginate("PutWidget", json!({})).send().await.unwrap_err();
    assert!(e.to_string().contains("no paginator for PutWidget"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn waiters_poll_until_an_acceptor_matches() {
    let (c, http) = client().await;
    http.push(Canned::status(400, r#"{"__type": "WidgetNotFound", "message": "not yet"}"#));
    http.push(Canned::status(200, r#"{"Widget": {"State": "CREATING"}}"#));
    http.push(Canned::status(200, r#"{"Widget": {"State": "ACTIVE"}}"#));
    let done = c.waiter("WidgetActive").unwrap().jitter_seed(1).wait(json!({"Name": "w"})).await.unwrap();
    assert_eq!(done.attempts, 3);
    assert_eq!(done.output().unwrap()["Widget"]["State"], "ACTIVE");

    for _ in 0..4 {
        http.push(Canned::status(200, r#"{"Widget": {"State": "CREATING"}}"#));
    }
    let w = c.waiter("WidgetActive").unwrap();
    assert_eq!(w.waiter_config().min_delay, Duration::from_secs(5));
    let e = w.wait(json!({"Name": "w"})).await.unwrap_err();
    assert!(matches!(e, WaiterError::MaxAttemptsExceeded { attempts: 4, .. }), "{e}");
    assert!(c.waiter("Nope").unwrap_err().to_string().contains("has no waiter Nope (it has: WidgetActive)"));
}

#[tokio::test]
async fn endpoints_come_from_the_rules() {
    let http = Arc::new(ReplayHttp::new());
    let cfg = config(http.clone(), "us-east-1").await;
    let c = DynamicClient::builder(&cfg, "widgets").models(models()).http(http.clone()).build().unwrap();
    assert_eq!(c.endpoint(), "https://widgets.us-east-1.amazonaws.com");
    assert_eq!(c.signing(), ("widgets", "us-east-1"));
    let fips = DynamicClient::builder(&cfg, "widgets").models(models()).use_fips(true).build().unwrap();
    assert_eq!(fips.endpoint(), "https://widgets-fips.us-east-1.amazonaws.com");
    let global =
        DynamicClient::builder(&config(http.clone(), "aws-global").await, "widgets").models(models()).build().unwrap();
    assert_eq!(global.endpoint(), "https://widgets.amazonaws.com");
    assert_eq!(global.signing(), ("widgets", "us-east-1"));
}

#[tokio::test]
async fn requests_sign_at_a_fixed_time_when_asked() {
    let http = Arc::new(ReplayHttp::new());
    let c = DynamicClient::builder(&config(http.clone(), "us-east-1").await, "widgets")
        .models(models())
        .endpoint(Url::parse("http://widgets.test").unwrap())
        .http(http.clone())
        .signing_time(UNIX_EPOCH + Duration::from_secs(1_706_702_400))
        .build()
        .unwrap();
    http.push(Canned::status(200, "{}"));
    http.push(Canned::status(200, "{}"));
    c.call("DescribeWidget", json!({"Name": "w"})).await.unwrap();
    c.call("DescribeWidget", json!({"Name": "w"})).await.unwrap();
    let r = http.requests();
    assert_eq!(r[0].headers["x-amz-date"], "20240131T120000Z");
    assert_eq!(r[0].headers["authorization"], r[1].headers["authorization"]);
}

#[test]
fn unknown_services_and_missing_models_are_clear() {
    let e = models().load("widget", None).unwrap_err();
    assert!(e.to_string().contains("(did you mean `widgets`?)"), "{e}");
    let e = crate::ModelError::NotFound { tried: "CLOUDKIT_AWS_MODELS is not set".into() };
    assert!(e.to_string().contains("pip install botocore"), "{e}");
}
