//! Request-shape, parse and waiter-timing tests on canned responses (`ReplayHttp`).
//!
//! moto (the integration tests' emulator) changes instance states instantly, never answers
//! `InvalidInstanceID.Malformed`, `IncorrectInstanceState`, `UnauthorizedOperation` or throttling,
//! so those, and all waiter timing, are tested here on tokio's paused clock.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use cloudkit_core::testing::{Canned, ReplayHttp};
use cloudkit_core::{RetryConfig, Url};
use cloudkit_cred_chain::aws::{AwsConfig, Env, Fs, ProviderConfig};
use cloudkit_signer::aws::Credentials;
use cloudkit_waiter::WaiterError;
use futures::TryStreamExt;
use tokio::time::Instant;

use crate::{Ec2Client, Ec2Error, Filter, InstanceStateName, PaginationConfig, Tag, TagSpecification};

/// An `AwsConfig` loaded the way users load one, from a fake environment (`env` pairs, no real HOME,
/// no files, IMDS off) with explicit credentials and region; its HTTP client is `http`.
async fn config(http: Arc<ReplayHttp>, env: &[(&str, &str)]) -> AwsConfig {
    let mut pairs = vec![("HOME", "/home/ec2-test"), ("AWS_EC2_METADATA_DISABLED", "true")];
    pairs.extend_from_slice(env);
    let provider = ProviderConfig::with_http(http).env(Env::from_pairs(pairs)).fs(Fs::from_files::<&str, &str>([]));
    AwsConfig::loader()
        .provider_config(provider)
        .region("us-east-1")
        .credentials(Credentials::from_keys("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"))
        .load()
        .await
        .unwrap()
}

/// A client built as users build one (`Ec2Client::builder(&config)` with overrides), sending to
/// `http://ec2.test/` through the replay HTTP client.
pub(crate) async fn client(retry: RetryConfig) -> (Ec2Client, Arc<ReplayHttp>) {
    let http = Arc::new(ReplayHttp::new());
    let ec2 = Ec2Client::builder(&config(http.clone(), &[]).await)
        .endpoint(Url::parse("http://ec2.test/").unwrap())
        .http(http.clone())
        .retry(retry)
        .build()
        .unwrap();
    (ec2, http)
}

fn body_params(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).into_owned().collect()
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

const NS: &str = "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"";

fn instance_xml(id: &str, code: i32, state: &str) -> String {
    format!(
        "<item><instanceId>{id}</instanceId><imageId>ami-1234</imageId><instanceState><code>{code}</code>\
         <name>{state}</name></instanceState><privateDnsName>ip-10-0-0-1.ec2.internal</privateDnsName>\
         <dnsName/><reason/><instanceType>t3.micro</instanceType><launchTime>2026-11-23T08:11:54.000Z</launchTime>\
         <placement><availabilityZone>us-east-1a</availabilityZone></placement><privateIpAddress>10.0.0.1</privateIpAddress>\
         <ipAddress>54.1.2.3</ipAddress><groupSet><item><groupId>sg-1</groupId><groupName>default</groupName></item></groupSet>\
         <networkInterfaceSet><item><groupSet><item><groupId>sg-1</groupId></item></groupSet>\
         <privateDnsName>nested</privateDnsName></item></networkInterfaceSet>\
         <tagSet><item><key>Name</key><value>a&amp;b</value></item></tagSet></item>"
    )
}

fn describe_xml(states: &[(&str, i32, &str)], next: Option<&str>) -> String {
    let instances: String = states.iter().map(|(id, code, s)| instance_xml(id, *code, s)).collect();
    let next = next.map(|t| format!("<nextToken>{t}</nextToken>")).unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeInstancesResponse {NS}><requestId>r</requestId>\
         <reservationSet><item><reservationId>r-1</reservationId><ownerId>123456789012</ownerId><groupSet/>\
         <instancesSet>{instances}</instancesSet></item></reservationSet>{next}</DescribeInstancesResponse>"
    )
}

fn state_xml(state: &str) -> String {
    let code = match state {
        "pending" => 0,
        "running" => 16,
        "shutting-down" => 32,
        "terminated" => 48,
        "stopping" => 64,
        _ => 80,
    };
    describe_xml(&[("i-1", code, state)], None)
}

fn error_xml(code: &str, message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message>\
         </Error></Errors><RequestID>req-9</RequestID></Response>"
    )
}

// ---- construction --------------------------------------------------------------------------------

#[tokio::test]
async fn endpoint_is_regional_unless_the_config_or_the_builder_overrides_it() {
    let http = Arc::new(ReplayHttp::new());
    let plain = config(http.clone(), &[]).await;
    let ec2 = Ec2Client::new(&plain).unwrap();
    assert_eq!(ec2.endpoint().as_str(), "https://ec2.us-east-1.amazonaws.com/");
    assert_eq!(ec2.region(), "us-east-1");
    assert_eq!(ec2.pipeline().service(), "EC2");

    let overridden = config(http.clone(), &[("AWS_ENDPOINT_URL_EC2", "http://127.0.0.1:5000")]).await;
    assert_eq!(Ec2Client::new(&overridden).unwrap().endpoint().as_str(), "http://127.0.0.1:5000/");
    let builder = Ec2Client::builder(&overridden).endpoint(Url::parse("http://ec2.test/").unwrap()).build().unwrap();
    assert_eq!(builder.endpoint().as_str(), "http://ec2.test/", "the builder's endpoint wins");

    let e = Ec2Client::builder(&plain).endpoint(Url::parse("ftp://ec2.test/").unwrap()).build().unwrap_err();
    assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::InvalidInput);
    assert!(!format!("{ec2:?}").contains("wJalrXUtnFEMI"), "Debug shows no secret");
}

#[tokio::test]
async fn requests_are_signed_with_the_configs_credentials_for_ec2() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(200, describe_xml(&[], None)));
    ec2.describe_instances().send().await.unwrap();
    let auth = http.requests()[0].headers["authorization"].to_str().unwrap().to_owned();
    assert!(auth.starts_with("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), "{auth}");
    assert!(auth.contains("/us-east-1/ec2/aws4_request"), "{auth}");
}

#[tokio::test(start_paused = true)]
async fn builder_overrides_retry_and_timeouts() {
    let (ec2, http) = client(RetryConfig::disabled()).await;
    assert_eq!(ec2.pipeline().retry_config().max_attempts(), 1);
    http.push(Canned::status(503, error_xml("RequestLimitExceeded", "slow down")));
    assert!(ec2.describe_instances().send().await.unwrap_err().is_throttling());
    assert_eq!(http.requests().len(), 1, "retries disabled by the builder");

    let timeouts = cloudkit_core::TimeoutConfig { attempt: Some(secs(7)), operation: Some(secs(7)) };
    let ec2 = Ec2Client::builder(&config(http.clone(), &[]).await)
        .endpoint(Url::parse("http://ec2.test/").unwrap())
        .retry(RetryConfig::disabled())
        .timeouts(timeouts)
        .build()
        .unwrap();
    http.push(Canned::hang());
    let start = Instant::now();
    let e = ec2.describe_instances().send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::Timeout, "{e}");
    assert_eq!(start.elapsed(), secs(7), "the builder's timeout applies");
}

// ---- request shape and parsing -------------------------------------------------------------------

#[tokio::test]
async fn run_instances_request_shape_and_response() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    let response = format!(
        "<RunInstancesResponse {NS}><reservationId>r-9</reservationId><ownerId>123</ownerId><groupSet/>\
         <instancesSet>{}</instancesSet><requestId>x</requestId></RunInstancesResponse>",
        instance_xml("i-9", 0, "pending")
    );
    http.push(Canned::status(200, response));
    let reservation = ec2
        .run_instances("ami-1234")
        .instance_type("t3.micro")
        .count(2)
        .key_name("kp")
        .security_group_id("sg-1")
        .subnet_id("subnet-1")
        .user_data("#!/bin/sh\necho hi\n")
        .tag("Name", "web")
        .tag_specification(TagSpecification::new("volume", [Tag::new("team", "a b")]))
        .send()
        .await
        .unwrap();

    let requests = http.requests();
    assert_eq!(requests.len(), 1);
    let req = &requests[0];
    assert_eq!(req.method, http::Method::POST);
    assert_eq!(req.url.as_str(), "http://ec2.test/");
    assert_eq!(req.headers["content-type"], "application/x-www-form-urlencoded; charset=utf-8");
    let p = body_params(&req.body);
    assert_eq!(param(&p, "Action"), Some("RunInstances"));
    assert_eq!(param(&p, "Version"), Some("2016-11-15"));
    assert_eq!(param(&p, "ImageId"), Some("ami-1234"));
    assert_eq!(param(&p, "MinCount"), Some("2"));
    assert_eq!(param(&p, "MaxCount"), Some("2"));
    assert_eq!(param(&p, "InstanceType"), Some("t3.micro"));
    assert_eq!(param(&p, "KeyName"), Some("kp"));
    assert_eq!(param(&p, "SecurityGroupId.1"), Some("sg-1"));
    assert_eq!(param(&p, "SubnetId"), Some("subnet-1"));
    assert_eq!(param(&p, "UserData"), Some("IyEvYmluL3NoCmVjaG8gaGkK"), "user data is base64-encoded");
    assert_eq!(param(&p, "TagSpecification.1.ResourceType"), Some("instance"));
    assert_eq!(param(&p, "TagSpecification.1.Tag.1.Key"), Some("Name"));
    assert_eq!(param(&p, "TagSpecification.1.Tag.1.Value"), Some("web"));
    assert_eq!(param(&p, "TagSpecification.2.ResourceType"), Some("volume"));
    assert_eq!(param(&p, "TagSpecification.2.Tag.1.Value"), Some("a b"));
    let token = param(&p, "ClientToken").unwrap();
    assert_eq!(token.len(), 32, "an idempotency token is generated");
    assert_eq!(param(&p, "DryRun"), None);

    assert_eq!(reservation.reservation_id, "r-9");
    let i = &reservation.instances[0];
    assert_eq!(i.instance_id, "i-9");
    assert_eq!(i.state.name, InstanceStateName::Pending);
    assert_eq!(i.state.code, 0);
    assert_eq!(i.tag("Name"), Some("a&b"), "entities are decoded");
    assert_eq!(i.private_dns_name.as_deref(), Some("ip-10-0-0-1.ec2.internal"), "not the nested interface's");
    assert_eq!(i.public_dns_name, None, "empty elements are None");
    assert_eq!(i.availability_zone.as_deref(), Some("us-east-1a"));
    assert_eq!(i.security_groups.len(), 1);
    assert_eq!(i.launch_time.unwrap().duration_since(UNIX_EPOCH).unwrap().as_secs(), 1_795_421_514);
}

#[tokio::test]
async fn run_instances_validates_counts_and_tokens_before_sending() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    let e = ec2.run_instances("ami-1").min_count(3).max_count(2).send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::InvalidInput);
    let e = ec2.run_instances("ami-1").client_token("x".repeat(65)).send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::InvalidInput);
    let e = ec2.terminate_instances().send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::InvalidInput);
    let e = ec2.modify_instance_attribute("i-1").send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::InvalidInput);
    assert!(http.requests().is_empty());
}

#[tokio::test]
async fn describe_instances_sends_ids_filters_and_page_params() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(200, describe_xml(&[("i-1", 16, "running"), ("i-2", 80, "stopped")], Some("r-1"))));
    let out = ec2
        .describe_instances()
        .filter(Filter::instance_state([InstanceStateName::Running, InstanceStateName::Stopped]))
        .filter(Filter::tag("team", ["web"]))
        .max_results(5)
        .next_token("tok")
        .send()
        .await
        .unwrap();
    let p = body_params(&http.requests()[0].body);
    assert_eq!(param(&p, "Filter.1.Name"), Some("instance-state-name"));
    assert_eq!(param(&p, "Filter.1.Value.1"), Some("running"));
    assert_eq!(param(&p, "Filter.1.Value.2"), Some("stopped"));
    assert_eq!(param(&p, "Filter.2.Name"), Some("tag:team"));
    assert_eq!(param(&p, "MaxResults"), Some("5"));
    assert_eq!(param(&p, "NextToken"), Some("tok"));
    assert_eq!(out.next_token.as_deref(), Some("r-1"));
    assert_eq!(out.state_names(), ["running", "stopped"]);
    assert_eq!(out.reservations[0].owner_id.as_deref(), Some("123456789012"));
}

#[tokio::test]
async fn stop_sends_force_and_hibernate_and_parses_state_changes() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(
        200,
        format!(
            "<StopInstancesResponse {NS}><instancesSet><item><instanceId>i-1</instanceId><currentState><code>64</code>\
             <name>stopping</name></currentState><previousState><code>16</code><name>running</name></previousState>\
             </item></instancesSet></StopInstancesResponse>"
        ),
    ));
    let changes = ec2.stop_instances().instance_id("i-1").force(true).hibernate(true).send().await.unwrap();
    let p = body_params(&http.requests()[0].body);
    assert_eq!(param(&p, "InstanceId.1"), Some("i-1"));
    assert_eq!(param(&p, "Force"), Some("true"));
    assert_eq!(param(&p, "Hibernate"), Some("true"));
    assert_eq!(changes[0].previous_state.name, InstanceStateName::Running);
    assert_eq!(changes[0].current_state.name, InstanceStateName::Stopping);
    assert_eq!(changes[0].current_state.code, 64);
}

#[tokio::test]
async fn typed_errors_for_codes_moto_never_sends() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(400, error_xml("InvalidInstanceID.Malformed", "Invalid id: \"bogus\"")));
    let e = ec2.describe_instances().instance_id("bogus").send().await.unwrap_err();
    assert!(matches!(e, Ec2Error::InstanceIdMalformed(_)), "{e:?}");
    assert_eq!(e.request_id(), Some("req-9"));

    http.push(Canned::status(
        400,
        error_xml("IncorrectInstanceState", "The instance 'i-1' is not in a state from which it can be started."),
    ));
    let e = ec2.start_instances().instance_id("i-1").send().await.unwrap_err();
    assert!(matches!(e, Ec2Error::IncorrectInstanceState(_)), "{e:?}");

    http.push(Canned::status(
        403,
        error_xml("UnauthorizedOperation", "You are not authorized to perform this operation."),
    ));
    let e = ec2.terminate_instances().instance_id("i-1").dry_run(true).send().await.unwrap_err();
    assert!(matches!(e, Ec2Error::UnauthorizedOperation(_)));
    assert!(!e.is_dry_run_success(), "a denied dry run is not a success");
    let p = body_params(&http.requests()[2].body);
    assert_eq!(param(&p, "DryRun"), Some("true"));

    http.push(Canned::status(
        412,
        error_xml("DryRunOperation", "Request would have succeeded, but DryRun flag is set."),
    ));
    let e = ec2.terminate_instances().instance_id("i-1").dry_run(true).send().await.unwrap_err();
    assert!(e.is_dry_run_success());

    http.push(Canned::status(400, error_xml("InsufficientInstanceCapacity", "no capacity")));
    let e = ec2.run_instances("ami-1").send().await.unwrap_err();
    assert!(matches!(e, Ec2Error::InsufficientInstanceCapacity(_)));
}

#[tokio::test(start_paused = true)]
async fn request_limit_exceeded_is_retried_then_typed_as_throttled() {
    let (ec2, http) = client(RetryConfig::standard().with_max_attempts(2)).await;
    http.push(Canned::status(503, error_xml("RequestLimitExceeded", "Request limit exceeded.")));
    http.push(Canned::status(503, error_xml("RequestLimitExceeded", "Request limit exceeded.")));
    let e = ec2.describe_instances().send().await.unwrap_err();
    assert!(matches!(e, Ec2Error::Throttled(_)), "{e:?}");
    assert!(e.is_throttling());
    assert_eq!(http.requests().len(), 2, "throttling is retried");

    http.push(Canned::status(503, error_xml("RequestLimitExceeded", "slow down")));
    http.push(Canned::status(200, describe_xml(&[("i-1", 16, "running")], None)));
    let out = ec2.describe_instances().send().await.unwrap();
    assert_eq!(out.state_names(), ["running"]);
}

#[tokio::test]
async fn garbage_body_is_a_decode_error() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(
        200,
        "<DescribeInstancesResponse><reservationSet><item><instancesSet><item><instanceState><code>x</code>",
    ));
    let e = ec2.describe_instances().send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::Decode, "{e}");
}

#[tokio::test]
async fn created_key_material_is_redacted() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(
        200,
        format!(
            "<CreateKeyPairResponse {NS}><keyPairId>key-1</keyPairId><keyName>k</keyName><keyFingerprint>aa:bb</keyFingerprint>\
             <keyMaterial>-----BEGIN RSA PRIVATE KEY-----\nSECRETSTUFF\n-----END RSA PRIVATE KEY-----</keyMaterial></CreateKeyPairResponse>"
        ),
    ));
    let kp = ec2.create_key_pair("k").key_type(crate::KeyType::Ed25519).send().await.unwrap();
    assert!(kp.key_material.expose().contains("SECRETSTUFF"));
    assert!(!format!("{kp:?}").contains("SECRETSTUFF"));
    assert_eq!(kp.info.key_pair_id.as_deref(), Some("key-1"));
    let p = body_params(&http.requests()[0].body);
    assert_eq!(param(&p, "KeyType"), Some("ed25519"));
}

#[tokio::test]
async fn paginator_follows_tokens_and_flattens_instances() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(200, describe_xml(&[("i-1", 16, "running"), ("i-2", 16, "running")], Some("r-a"))));
    http.push(Canned::status(200, describe_xml(&[("i-3", 16, "running")], None)));
    let ids: Vec<String> = ec2
        .describe_instances()
        .filter(Filter::tag_key(["k"]))
        .into_instances(PaginationConfig::default().page_size(5))
        .map_ok(|i| i.instance_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["i-1", "i-2", "i-3"]);
    let requests = http.requests();
    let first = body_params(&requests[0].body);
    let second = body_params(&requests[1].body);
    assert_eq!(param(&first, "MaxResults"), Some("5"));
    assert_eq!(param(&first, "NextToken"), None);
    assert_eq!(param(&second, "NextToken"), Some("r-a"));
    assert_eq!(param(&second, "Filter.1.Name"), Some("tag-key"), "filters are kept on every page");
}

#[tokio::test]
async fn paginator_stops_on_a_repeated_token() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(200, describe_xml(&[("i-1", 16, "running")], Some("r-a"))));
    http.push(Canned::status(200, describe_xml(&[("i-2", 16, "running")], Some("r-a"))));
    let result: Result<Vec<_>, _> =
        ec2.describe_instances().into_pages(PaginationConfig::default()).try_collect().await;
    let Err(Ec2Error::Pagination(e)) = result else { panic!("{result:?}") };
    assert_eq!((e.service(), e.operation(), e.repeated_token()), ("EC2", "DescribeInstances", Some("r-a")));
    assert_eq!(
        e.to_string(),
        "EC2.DescribeInstances failed: the service returned the continuation token \"r-a\" twice; stopping instead of looping"
    );
}

/// Issue 16, point 1: a paginator over a failing list yields the EC2 error itself (no nesting), and
/// its one line names the service, the operation and the cause.
#[tokio::test]
async fn paginator_yields_the_ec2_error_naming_service_operation_and_cause() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(400, error_xml("InvalidInstanceID.NotFound", "The instance ID 'i-9' does not exist")));
    let e = ec2.describe_instances().instance_id("i-9").into_pages(PaginationConfig::default()).try_next().await;
    let e = e.unwrap_err();
    assert!(matches!(e, Ec2Error::InstanceNotFound(_)), "{e:?}");
    let text = e.to_string();
    assert!(text.starts_with("EC2.DescribeInstances failed: HTTP 400 InvalidInstanceID.NotFound: "), "{text}");
    assert!(text.contains("The instance ID 'i-9' does not exist"), "{text}");
    // The flattening helpers yield the same type.
    http.push(Canned::status(400, error_xml("InvalidInstanceID.NotFound", "gone")));
    let e = ec2.describe_instances().into_instances(PaginationConfig::default()).try_next().await.unwrap_err();
    assert!(matches!(e, Ec2Error::InstanceNotFound(_)), "{e:?}");
}

fn tags_xml(keys: &[&str], next: Option<&str>) -> String {
    let items: String = keys
        .iter()
        .map(|k| {
            format!(
                "<item><resourceId>i-1</resourceId><resourceType>instance</resourceType><key>{k}</key><value/></item>"
            )
        })
        .collect();
    let next = next.map(|t| format!("<nextToken>{t}</nextToken>")).unwrap_or_default();
    format!("<DescribeTagsResponse {NS}><tagSet>{items}</tagSet>{next}</DescribeTagsResponse>")
}

#[tokio::test]
async fn into_items_stops_at_max_items_and_resumes_mid_page() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(200, tags_xml(&["a", "b"], Some("p2"))));
    http.push(Canned::status(200, tags_xml(&["c", "d"], Some("p3"))));
    let config = PaginationConfig::default().page_size(2).max_items(3);
    let mut items = ec2.describe_tags().filter(Filter::new("resource-id", ["i-1"])).into_items(config);
    let mut head = Vec::new();
    while let Some(tag) = items.try_next().await.unwrap() {
        head.push(tag.key);
    }
    assert_eq!(head, ["a", "b", "c"]);
    let resume = items.resume_token().expect("stopped at max_items").to_string();
    let requests = http.requests();
    assert_eq!(requests.len(), 2);
    assert_eq!(param(&body_params(&requests[0].body), "MaxResults"), Some("2"), "the page size is MaxResults");
    assert_eq!(param(&body_params(&requests[1].body), "NextToken"), Some("p2"));

    // Resuming fetches the cut page again and skips what was already returned.
    http.push(Canned::status(200, tags_xml(&["c", "d"], None)));
    let rest: Vec<String> = ec2
        .describe_tags()
        .filter(Filter::new("resource-id", ["i-1"]))
        .into_items(PaginationConfig::default().page_size(2).starting_token(resume))
        .map_ok(|t| t.key)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(rest, ["d"]);
    let third = body_params(&http.requests()[2].body);
    assert_eq!(param(&third, "NextToken"), Some("p2"));
    assert_eq!(param(&third, "Filter.1.Name"), Some("resource-id"));
}

#[tokio::test]
async fn streams_start_at_the_builders_token_and_page_size_unless_the_config_sets_them() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(200, tags_xml(&["a"], None)));
    let pages: Vec<_> = ec2
        .describe_tags()
        .max_results(7)
        .next_token("t0")
        .into_pages(PaginationConfig::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    let first = body_params(&http.requests()[0].body);
    assert_eq!((param(&first, "MaxResults"), param(&first, "NextToken")), (Some("7"), Some("t0")));

    http.push(Canned::status(200, tags_xml(&["a"], None)));
    let config = PaginationConfig::default().page_size(9).starting_token("t1");
    let _: Vec<_> = ec2.describe_tags().max_results(7).next_token("t0").into_items(config).try_collect().await.unwrap();
    let second = body_params(&http.requests()[1].body);
    assert_eq!((param(&second, "MaxResults"), param(&second, "NextToken")), (Some("9"), Some("t1")));
}

// ---- waiter timing on a paused clock ---------------------------------------------------------------

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Offsets of each request from the first one.
fn offsets(http: &ReplayHttp, start: Instant) -> Vec<Duration> {
    http.request_times().into_iter().map(|t| t - start).collect()
}

#[tokio::test(start_paused = true)]
async fn instance_running_defaults_are_official_and_delays_are_jittered_within_bounds() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    let waiter = ec2.wait_until_instance_running();
    let config = *waiter.waiter_config();
    assert_eq!(config.min_delay, secs(15));
    assert_eq!(config.max_delay, secs(120));
    assert_eq!(config.max_attempts, Some(40));
    assert_eq!(config.max_wait, secs(600));
    let exists = *ec2.wait_until_instance_exists().waiter_config();
    assert_eq!((exists.min_delay, exists.max_attempts, exists.max_wait), (secs(5), Some(40), secs(200)));
    for w in [ec2.wait_until_instance_stopped(), ec2.wait_until_instance_terminated()] {
        assert_eq!(w.waiter_config().min_delay, secs(15));
    }
    assert_eq!(ec2.wait_until_instance_status_ok().waiter_config().min_delay, secs(15));
    assert_eq!(ec2.wait_until_system_status_ok().waiter_config().max_attempts, Some(40));

    for _ in 0..5 {
        http.push(Canned::status(200, state_xml("pending")));
    }
    http.push(Canned::status(200, state_xml("running")));
    let start = Instant::now();
    let done = waiter.instance_id("i-1").wait().await.unwrap();
    assert_eq!(done.attempts, 6);
    assert_eq!(done.output().unwrap().state_names(), ["running"]);
    let at = offsets(&http, start);
    assert_eq!(at[0], Duration::ZERO);
    let gaps: Vec<Duration> = at.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps[0], secs(15), "the first retry waits exactly the official delay");
    for (n, (gap, cap)) in gaps.iter().zip([15u64, 30, 60, 120, 120]).enumerate() {
        assert!(*gap >= secs(15) && *gap <= secs(cap), "retry {}: {gap:?} outside [15 s, {cap} s]", n + 1);
    }
    let p = body_params(&http.requests()[0].body);
    assert_eq!(param(&p, "InstanceId.1"), Some("i-1"));
}

#[tokio::test(start_paused = true)]
async fn seeded_jitter_is_reproducible() {
    let mut runs = Vec::new();
    for _ in 0..2 {
        let (ec2, http) = client(RetryConfig::standard()).await;
        for _ in 0..4 {
            http.push(Canned::status(200, state_xml("pending")));
        }
        http.push(Canned::status(200, state_xml("running")));
        let start = Instant::now();
        ec2.wait_until_instance_running().instance_id("i-1").jitter_seed(7).wait().await.unwrap();
        runs.push(offsets(&http, start));
    }
    assert_eq!(runs[0], runs[1]);
}

#[tokio::test(start_paused = true)]
async fn deadline_ends_the_wait_with_a_last_poll_at_the_deadline() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    for _ in 0..100 {
        http.push(Canned::status(200, state_xml("pending")));
    }
    let start = Instant::now();
    let err = ec2.wait_until_instance_running().instance_id("i-1").max_wait(secs(100)).wait().await.unwrap_err();
    assert!(matches!(err, WaiterError::Timeout { .. }), "{err}");
    let at = offsets(&http, start);
    assert_eq!(*at.last().unwrap(), secs(100), "the last poll happens at the deadline");
    assert!(at.len() >= 3);
    let last = err.last().unwrap().as_ref().unwrap();
    assert_eq!(last.state_names(), ["pending"], "the error carries the last observed state");
}

#[tokio::test(start_paused = true)]
async fn default_budget_gives_up_after_ten_minutes() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    for _ in 0..100 {
        http.push(Canned::status(200, state_xml("stopping")));
    }
    let start = Instant::now();
    let err = ec2.wait_until_instance_stopped().instance_id("i-1").wait().await.unwrap_err();
    assert!(matches!(err, WaiterError::Timeout { max_wait, .. } if max_wait == secs(600)), "{err}");
    assert_eq!(start.elapsed(), secs(600));
    assert!(http.requests().len() <= 40);
}

#[tokio::test(start_paused = true)]
async fn attempt_limit_is_overridable() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    for _ in 0..10 {
        http.push(Canned::status(200, state_xml("pending")));
    }
    let err = ec2
        .wait_until_instance_running()
        .instance_id("i-1")
        .min_delay(secs(1))
        .max_delay(secs(2))
        .max_attempts(3)
        .wait()
        .await
        .unwrap_err();
    assert!(matches!(err, WaiterError::MaxAttemptsExceeded { attempts: 3, .. }), "{err}");
    assert_eq!(http.requests().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn running_fails_fast_on_stopping_and_names_the_state() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(200, state_xml("pending")));
    http.push(Canned::status(200, state_xml("stopping")));
    let start = Instant::now();
    let err = ec2.wait_until_instance_running().instance_id("i-1").wait().await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "waiter InstanceRunning for instance i-1 reached failure state `an instance is stopping` after 2 attempts"
    );
    assert_eq!(start.elapsed(), secs(15));
    for state in ["shutting-down", "terminated"] {
        http.push(Canned::status(200, state_xml(state)));
        let err = ec2.wait_until_instance_running().instance_id("i-1").wait().await.unwrap_err();
        assert!(err.to_string().contains(&format!("an instance is {state}")), "{err}");
        assert_eq!(err.attempts(), 1);
    }
}

#[tokio::test(start_paused = true)]
async fn running_and_exists_retry_on_not_found() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(400, error_xml("InvalidInstanceID.NotFound", "The instance ID 'i-1' does not exist")));
    http.push(Canned::status(200, state_xml("running")));
    let start = Instant::now();
    let done = ec2.wait_until_instance_running().instance_id("i-1").wait().await.unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(start.elapsed(), secs(15));

    http.push(Canned::status(400, error_xml("InvalidInstanceID.NotFound", "not yet")));
    http.push(Canned::status(200, state_xml("pending")));
    let start = Instant::now();
    let done = ec2.wait_until_instance_exists().instance_id("i-1").wait().await.unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(start.elapsed(), secs(5), "instance_exists polls every 5 s");
}

/// Issue 16, point 3: the timeout names the waiter and the instance, and shows the last error seen.
#[tokio::test(start_paused = true)]
async fn a_waiter_timeout_names_the_waiter_and_instance_and_shows_the_last_error() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    for _ in 0..40 {
        http.push(Canned::status(
            400,
            error_xml("InvalidInstanceID.NotFound", "The instance ID 'i-0abc' does not exist"),
        ));
    }
    let err = ec2.wait_until_instance_running().instance_id("i-0abc").max_wait(secs(300)).wait().await.unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("waiter InstanceRunning for instance i-0abc timed out after 5m and "), "{text}");
    assert!(
        text.contains(
            " attempts; last error: EC2.DescribeInstances failed: HTTP 400 InvalidInstanceID.NotFound: \
             The instance ID 'i-0abc' does not exist"
        ),
        "{text}"
    );
    assert!(!text.contains('\n'), "{text}");
    assert!(std::error::Error::source(&err).is_none(), "the last error's text is printed, not repeated");
    assert!(matches!(err.last(), Some(Err(Ec2Error::InstanceNotFound(_)))), "{err:?}");
    assert!(matches!(err.into_last(), Some(Err(Ec2Error::InstanceNotFound(_)))));

    // Several instances are named too.
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(200, state_xml("stopping")));
    let err = ec2.wait_until_instance_running().instance_ids(["i-1", "i-2"]).wait().await.unwrap_err();
    assert!(err.to_string().starts_with("waiter InstanceRunning for instances i-1, i-2 reached"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn stopped_and_terminated_acceptors() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(200, state_xml("stopping")));
    http.push(Canned::status(200, state_xml("stopped")));
    let done = ec2.wait_until_instance_stopped().instance_id("i-1").wait().await.unwrap();
    assert_eq!(done.attempts, 2);

    http.push(Canned::status(200, state_xml("pending")));
    let err = ec2.wait_until_instance_stopped().instance_id("i-1").wait().await.unwrap_err();
    assert!(err.to_string().contains("an instance is pending"), "{err}");

    // No NotFound retry for instance_stopped: the error ends the wait.
    http.push(Canned::status(400, error_xml("InvalidInstanceID.NotFound", "gone")));
    let err = ec2.wait_until_instance_stopped().instance_id("i-1").wait().await.unwrap_err();
    assert!(matches!(&err, WaiterError::UnexpectedError { source: Ec2Error::InstanceNotFound(_), .. }), "{err}");

    http.push(Canned::status(200, state_xml("shutting-down")));
    http.push(Canned::status(200, state_xml("terminated")));
    let done = ec2.wait_until_instance_terminated().instance_id("i-1").wait().await.unwrap();
    assert_eq!(done.attempts, 2);
    http.push(Canned::status(200, state_xml("stopping")));
    let err = ec2.wait_until_instance_terminated().instance_id("i-1").wait().await.unwrap_err();
    assert!(err.to_string().contains("an instance is stopping"), "{err}");
}

fn status_xml(instance: &str, system: &str) -> String {
    format!(
        "<DescribeInstanceStatusResponse {NS}><instanceStatusSet><item><availabilityZone>us-east-1a</availabilityZone>\
         <instanceId>i-1</instanceId><instanceState><code>16</code><name>running</name></instanceState>\
         <instanceStatus><details><item><name>reachability</name><status>passed</status></item></details>\
         <status>{instance}</status></instanceStatus><systemStatus><status>{system}</status></systemStatus></item>\
         </instanceStatusSet></DescribeInstanceStatusResponse>"
    )
}

#[tokio::test(start_paused = true)]
async fn status_waiters() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(200, status_xml("initializing", "initializing")));
    http.push(Canned::status(200, status_xml("ok", "initializing")));
    let start = Instant::now();
    let done = ec2.wait_until_instance_status_ok().instance_id("i-1").include_all_instances(true).wait().await.unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(start.elapsed(), secs(15));
    let p = body_params(&http.requests()[0].body);
    assert_eq!(param(&p, "IncludeAllInstances"), Some("true"));

    http.push(Canned::status(200, status_xml("ok", "initializing")));
    http.push(Canned::status(200, status_xml("ok", "ok")));
    let done = ec2.wait_until_system_status_ok().instance_id("i-1").wait().await.unwrap();
    assert_eq!(done.attempts, 2);
    let status = &done.output().unwrap().instance_statuses[0];
    assert_eq!(status.system_status.as_deref(), Some("ok"));
}

// ---- decoding through the client -------------------------------------------------------------------

#[tokio::test]
async fn security_group_answers_missing_their_id_or_refused_are_decode_errors() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(
        200,
        format!("<CreateSecurityGroupResponse {NS}><return>true</return></CreateSecurityGroupResponse>"),
    ));
    let e = ec2.create_security_group("web", "web servers").send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::Decode, "{e}");
    assert_eq!(e.message(), Some("the response has no groupId"));

    http.push(Canned::status(
        200,
        format!("<CreateSecurityGroupResponse {NS}><return>true</return><groupId>sg-0a42d66a</groupId></CreateSecurityGroupResponse>"),
    ));
    assert_eq!(ec2.create_security_group("web", "web servers").send().await.unwrap(), "sg-0a42d66a");

    http.push(Canned::status(
        200,
        format!(
            "<AuthorizeSecurityGroupIngressResponse {NS}><return>false</return></AuthorizeSecurityGroupIngressResponse>"
        ),
    ));
    let e = ec2
        .authorize_security_group_ingress("sg-1")
        .permission(crate::IpPermission::tcp(22, 22).cidr("203.0.113.0/24", None))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::Decode, "{e}");
    assert_eq!(e.message(), Some("EC2 answered return=false"));
}

#[tokio::test]
async fn a_malformed_number_is_a_decode_error_naming_the_element() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(
        200,
        format!(
            "<StartInstancesResponse {NS}><instancesSet><item><instanceId>i-1</instanceId>\
             <currentState><code>zero</code><name>pending</name></currentState></item></instancesSet></StartInstancesResponse>"
        ),
    ));
    let e = ec2.start_instances().instance_id("i-1").send().await.unwrap_err();
    assert!(matches!(e, Ec2Error::Other(_)), "{e:?}");
    assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::Decode);
    assert_eq!(e.core().unwrap().operation(), "StartInstances");
    assert_eq!(e.message(), Some("invalid StartInstances response: <code> holds `zero`, which is not a valid i32"));
}

#[tokio::test]
async fn empty_answers_and_lists_through_the_client() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(
        200,
        format!(
            "<RebootInstancesResponse {NS}><requestId>r</requestId><return>true</return></RebootInstancesResponse>"
        ),
    ));
    ec2.reboot_instances().instance_id("i-1").send().await.unwrap();
    http.push(Canned::status(
        200,
        format!("<CreateTagsResponse {NS}><requestId>r</requestId><return>true</return></CreateTagsResponse>"),
    ));
    ec2.create_tags().resource("i-1").tag("k", "v").send().await.unwrap();
    http.push(Canned::status(
        200,
        format!(
            "<DescribeInstancesResponse {NS}><requestId>r</requestId><reservationSet/></DescribeInstancesResponse>"
        ),
    ));
    let out = ec2.describe_instances().send().await.unwrap();
    assert!(out.reservations.is_empty() && out.next_token.is_none());
    http.push(Canned::status(200, "not xml"));
    let e = ec2.delete_key_pair("k").send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::Decode, "{e}");
}

// ---- every public future is Send (docs/ARCHITECTURE.md, "Time, progress, futures") -----------------

// ---- issue 15: secrets in Debug, retries of creates, slow credentials, clock skew ----------------

/// Issue 15, defect 18: `RunInstances`' `Debug` printed the user data (startup scripts carry
/// passwords and keys). It shows the length only; so does `ModifyInstanceAttribute`'s.
#[tokio::test]
async fn user_data_is_redacted_in_debug() {
    let (ec2, _) = client(RetryConfig::standard()).await;
    let script = "#!/bin/sh\nexport DB_PASSWORD=HUNTER2SECRET\n";
    let run = ec2.run_instances("ami-1").user_data(script);
    let modify = ec2.modify_instance_attribute("i-1").user_data(script);
    for shown in [format!("{run:?}"), format!("{run:#?}"), format!("{modify:?}")] {
        assert!(!shown.contains("HUNTER2SECRET") && !shown.contains("DB_PASSWORD"), "{shown}");
        assert!(shown.contains(&format!("<{} bytes, redacted>", script.len())), "{shown}");
    }
    assert!(format!("{:?}", ec2.run_instances("ami-1")).contains("user_data: None"));
    assert!(format!("{run:?}").contains("ami-1"), "the rest is shown");
}

/// The answer to a successful `CreateKeyPair` (for retry tests).
fn key_pair_created() -> String {
    format!(
        "<CreateKeyPairResponse {NS}><keyPairId>key-1</keyPairId><keyName>k</keyName>\
         <keyFingerprint>aa</keyFingerprint><keyMaterial>PRIVATE</keyMaterial></CreateKeyPairResponse>"
    )
}

/// Issue 15, defect 19: non-idempotent creates were retried after a 5xx, which may hide a create
/// that took effect (the retry then fails with `InvalidKeyPair.Duplicate`, `InvalidGroup.Duplicate`,
/// `InvalidPermission.Duplicate`). They are retried only when nothing can have happened:
/// throttling and connection failures.
#[tokio::test(start_paused = true)]
async fn non_idempotent_creates_are_not_retried_after_a_server_error() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    async fn create(ec2: &Ec2Client, action: &str) -> Result<(), Ec2Error> {
        match action {
            "CreateKeyPair" => ec2.create_key_pair("k").send().await.map(|_| ()),
            "ImportKeyPair" => ec2.import_key_pair("k", "ssh-ed25519 AAAA").send().await.map(|_| ()),
            "CreateSecurityGroup" => ec2.create_security_group("g", "d").send().await.map(|_| ()),
            _ => ec2
                .authorize_security_group_ingress("sg-1")
                .permission(crate::IpPermission::tcp(22, 22).cidr("10.0.0.0/8", None))
                .send()
                .await
                .map(|_| ()),
        }
    }
    for action in ["CreateKeyPair", "ImportKeyPair", "CreateSecurityGroup", "AuthorizeSecurityGroupIngress"] {
        let before = http.requests().len();
        http.push(Canned::status(500, error_xml("InternalError", "We encountered an internal error.")));
        http.push(Canned::status(200, "never sent"));
        let e = create(&ec2, action).await.unwrap_err();
        assert_eq!(e.status().map(|s| s.as_u16()), Some(500), "{action}: {e:?}");
        assert_eq!(e.core().unwrap().attempts(), 1, "{action}");
        assert_eq!(http.requests().len(), before + 1, "{action} was sent again after a 500");
        // drop the unused answer
        let _ = ec2.describe_regions().send().await;
    }

    // throttling and connect failures are safe to retry
    http.push(Canned::status(503, error_xml("RequestLimitExceeded", "slow down")));
    http.push(Canned::error(cloudkit_core::TransportErrorKind::Connect));
    http.push(Canned::status(200, key_pair_created()));
    let before = http.requests().len();
    ec2.create_key_pair("k").send().await.unwrap();
    assert_eq!(http.requests().len(), before + 3);
}

/// Issue 15, defect 19: `RunInstances` carries a client token (generated when the caller gives
/// none) and is therefore retried after a 500 like a read, with the same token on every attempt:
/// EC2 answers the resent request with the first launch's instances instead of launching more.
#[tokio::test(start_paused = true)]
async fn run_instances_is_retried_with_the_same_client_token() {
    let (ec2, http) = client(RetryConfig::standard()).await;
    http.push(Canned::status(500, error_xml("InternalError", "We encountered an internal error.")));
    http.push(Canned::error(cloudkit_core::TransportErrorKind::Request));
    http.push(Canned::status(
        200,
        format!(
            "<RunInstancesResponse {NS}><reservationId>r-1</reservationId><instancesSet>{}</instancesSet>\
             </RunInstancesResponse>",
            instance_xml("i-1", 0, "pending")
        ),
    ));
    let reservation = ec2.run_instances("ami-1").send().await.unwrap();
    assert_eq!(reservation.instances[0].instance_id, "i-1");
    let tokens: Vec<String> =
        http.requests().iter().map(|r| param(&body_params(&r.body), "ClientToken").unwrap().to_owned()).collect();
    assert_eq!(tokens.len(), 3, "retried after the 500 and the reset");
    assert!(tokens.iter().all(|t| *t == tokens[0] && t.len() == 32), "{tokens:?}");

    // a caller's own token is sent as given; a new send gets a new generated one
    http.push(Canned::status(
        200,
        format!("<RunInstancesResponse {NS}><reservationId>r-2</reservationId></RunInstancesResponse>"),
    ));
    ec2.run_instances("ami-1").client_token("my-token-1").send().await.unwrap();
    http.push(Canned::status(
        200,
        format!("<RunInstancesResponse {NS}><reservationId>r-3</reservationId></RunInstancesResponse>"),
    ));
    ec2.run_instances("ami-1").send().await.unwrap();
    let reqs = http.requests();
    assert_eq!(param(&body_params(&reqs[3].body), "ClientToken"), Some("my-token-1"));
    assert_ne!(param(&body_params(&reqs[4].body), "ClientToken"), Some(tokens[0].as_str()));
}

/// A credentials source that never answers (a hung `credential_process`, an unreachable metadata
/// service).
#[derive(Debug)]
struct Hangs;

// `async_trait`'s expansion, written out (the crate is not a dependency here).
impl cloudkit_signer::aws::ProvideCredentials for Hangs {
    fn provide_credentials<'life0, 'async_trait>(
        &'life0 self,
    ) -> std::pin::Pin<
        Box<
            dyn std::future::Future<
                    Output = Result<cloudkit_signer::aws::Credentials, cloudkit_signer::aws::CredentialsError>,
                > + Send
                + 'async_trait,
        >,
    >
    where
        'life0: 'async_trait,
        Self: 'async_trait,
    {
        Box::pin(futures::future::pending())
    }
}

/// Issue 15, defect 10: through a client built from an `AwsConfig` (its credentials cache and
/// chain), a credentials source that hangs fails the request with a timeout at the operation
/// timeout, and does not hold the next request forever either.
#[tokio::test(start_paused = true)]
async fn a_hung_credentials_source_fails_requests_within_the_operation_timeout() {
    let http = Arc::new(ReplayHttp::new());
    let provider = ProviderConfig::with_http(http.clone())
        .env(Env::from_pairs([("HOME", "/home/ec2-test"), ("AWS_EC2_METADATA_DISABLED", "true")]))
        .fs(Fs::from_files::<&str, &str>([]));
    let config = AwsConfig::loader()
        .provider_config(provider)
        .region("us-east-1")
        .credentials(Arc::new(Hangs) as cloudkit_signer::aws::SharedCredentialsProvider)
        .timeouts(cloudkit_core::TimeoutConfig { attempt: Some(secs(2)), operation: Some(secs(5)) })
        .load()
        .await
        .unwrap();
    let ec2 = Ec2Client::builder(&config).endpoint(Url::parse("http://ec2.test/").unwrap()).build().unwrap();
    for _ in 0..2 {
        let start = Instant::now();
        let e = ec2.describe_regions().send().await.unwrap_err();
        assert_eq!(e.core().unwrap().kind(), cloudkit_core::ErrorKind::Timeout, "{e:?}");
        assert_eq!(start.elapsed(), secs(5));
    }
    // concurrent requests all end at their own deadline
    let both = futures::future::join(ec2.describe_regions().send(), ec2.describe_instances().send());
    let start = Instant::now();
    let (a, b) = both.await;
    assert!(a.is_err() && b.is_err());
    assert_eq!(start.elapsed(), secs(5));
    assert!(http.requests().is_empty());
}

/// Clock skew: EC2's `RequestExpired` with a `Date` 20 minutes ahead corrects the config's clock
/// and is retried once, signed with the server's time; later requests use the correction too.
#[tokio::test(start_paused = true)]
async fn a_clock_skew_answer_is_corrected_and_retried_once() {
    use std::time::SystemTime;

    use cloudkit_core::internal::date::{format_iso8601_basic, http_date};

    let (ec2, http) = client(RetryConfig::standard()).await;
    let server_time = SystemTime::now() + Duration::from_secs(1200);
    let date = http_date(server_time).unwrap();
    http.push(Canned::status(400, error_xml("RequestExpired", "Request has expired.")).with_header("date", &date));
    http.push(Canned::status(200, describe_xml(&[("i-1", 16, "running")], None)));
    ec2.describe_instances().send().await.unwrap();
    let reqs = http.requests();
    assert_eq!(reqs.len(), 2);
    let minute = |t: SystemTime| format_iso8601_basic(t).unwrap()[..13].to_owned();
    // The `Date` header has whole seconds, so the corrected clock may run up to a second behind
    // `server_time` (and into the previous minute when `server_time` is just past a full minute).
    let allowed = [
        minute(server_time - Duration::from_secs(2)),
        minute(server_time),
        minute(server_time + Duration::from_secs(60)),
    ];
    let signed = reqs[1].headers["x-amz-date"].to_str().unwrap()[..13].to_owned();
    assert!(allowed.contains(&signed), "{signed} vs {}", minute(server_time));
    // later requests are signed with the corrected clock from the start
    http.push(Canned::status(200, describe_xml(&[("i-1", 16, "running")], None)));
    ec2.describe_instances().send().await.unwrap();
    let third = http.requests()[2].headers["x-amz-date"].to_str().unwrap()[..13].to_owned();
    assert!(allowed.contains(&third), "{third}");
}
