//! Unit tests against `ReplayHttp` canned responses.
//!
//! These are documented shapes, not a live service (no Compute Engine emulator exists): every
//! request is checked against Google's published Compute v1 discovery document
//! (`src/testdata/compute-v1-subset.json`, see its README: `resources.<r>.methods.<m>.path`,
//! `httpMethod`, `parameters`), and the answers are built from its schemas (`Instance`,
//! `InstanceList`, `InstanceAggregatedList`, `Operation`, `ZoneList`) and the wire rules in
//! `src/testdata/GCE-REFERENCE.md` (paging with `NO_RESULTS_ON_PAGE` empty pages, aggregated
//! items keyed by scope, `PENDING`/`RUNNING`/`DONE` operations with `error.errors`, the Google
//! error envelope). `instances.suspend`/`resume`/`setMetadata` and `machineTypes.list` are not in
//! the subset; their paths follow the same pattern and are checked by hand.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use cloudkit_core::testing::{Canned, RecordedRequest, ReplayHttp, assert_listing};
use cloudkit_core::{ErrorKind, Method, RetryConfig, TimeoutConfig, Url};
use cloudkit_cred_chain::gcp::{GcpConfig, GcpEnv};
use cloudkit_paginate::PaginationConfig;
use futures::TryStreamExt;
use serde_json::{Value, json};

use cloudkit_waiter::testing::fast_config;

use crate::*;

const PROJECT: &str = "my-proj";
const ZONE: &str = "us-central1-a";
const BASE_PATH: &str = "/compute/v1/";

fn key_json() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../signer/tests/data/gcs/test_service_account.not-a-test.json");
    std::fs::read_to_string(path).unwrap()
}

fn discovery() -> Value {
    serde_json::from_str(include_str!("testdata/compute-v1-subset.json")).unwrap()
}

/// A config the way users load one: a service-account key (self-signed JWTs, no network), the
/// project from `GOOGLE_CLOUD_PROJECT`, the replayed HTTP.
pub(crate) async fn config(http: &Arc<ReplayHttp>) -> GcpConfig {
    GcpConfig::loader()
        .env(GcpEnv::from_pairs([("GOOGLE_CLOUD_PROJECT", PROJECT)]))
        .credentials_json(key_json())
        .http(http.clone())
        .load()
        .await
        .unwrap()
}

pub(crate) async fn client(http: &Arc<ReplayHttp>) -> ComputeClient {
    ComputeClient::builder(&config(http).await).operation_config(fast_config()).build().unwrap()
}

fn canned(status: u16, body: &Value) -> Canned {
    Canned::status(status, serde_json::to_vec(body).unwrap()).with_header("content-type", "application/json")
}

fn google_error(code: u16, reason: &str, status: &str, message: &str) -> Canned {
    canned(
        code,
        &json!({"error": {"code": code, "message": message,
            "errors": [{"message": message, "domain": "global", "reason": reason}],
            "status": status, "details": []}}),
    )
}

/// An `Instance` as the schema describes it (ids as strings, URLs, RFC 3339 timestamps).
fn instance_json(name: &str, status: &str) -> Value {
    json!({
        "kind": "compute#instance",
        "id": "8071253456192638153",
        "name": name,
        "status": status,
        "machineType": format!("https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}/machineTypes/e2-micro"),
        "zone": format!("https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}"),
        "labels": {"env": "dev"},
        "labelFingerprint": "42WmSpB8rSM=",
        "metadata": {"kind": "compute#metadata", "fingerprint": "bWV0YS1mcA==",
                     "items": [{"key": "startup-script", "value": "echo hi"}]},
        "networkInterfaces": [{"name": "nic0", "network": "https://www.googleapis.com/compute/v1/projects/my-proj/global/networks/default",
                               "networkIP": "10.128.0.2",
                               "accessConfigs": [{"type": "ONE_TO_ONE_NAT", "name": "External NAT", "natIP": "34.1.2.3"}]}],
        "creationTimestamp": "2026-11-30T10:00:00.000-08:00",
        "selfLink": format!("https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}/instances/{name}"),
    })
}

/// An `Operation` as the schema describes it.
fn op_json(name: &str, op_type: &str, status: &str) -> Value {
    json!({
        "kind": "compute#operation",
        "id": "5312097460327382345",
        "name": name,
        "zone": format!("https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}"),
        "operationType": op_type,
        "status": status,
        "progress": if status == "DONE" { 100 } else { 0 },
        "targetLink": format!("https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}/instances/web-1"),
        "targetId": "8071253456192638153",
        "selfLink": format!("https://www.googleapis.com/compute/v1/projects/{PROJECT}/zones/{ZONE}/operations/{name}"),
        "user": "someone@example.com",
        "insertTime": "2026-11-30T10:00:00.000-08:00",
    })
}

/// Checks a request against the discovery method `resource.method`: HTTP method, the path
/// (its `{param}`s filled from `path_params`), every query parameter declared (by the method or
/// the document), the bearer token; mutating methods carry a UUID v4 `requestId`.
fn check(r: &RecordedRequest, resource: &str, method: &str, path_params: &[(&str, &str)]) {
    let doc = discovery();
    let m = &doc["resources"][resource]["methods"][method];
    assert!(m.is_object(), "no discovery method {resource}.{method}");
    assert_eq!(r.method.as_str(), m["httpMethod"].as_str().unwrap(), "{resource}.{method}");
    let mut path = m["path"].as_str().unwrap().to_owned();
    for (k, v) in path_params {
        assert_eq!(m["parameters"][k]["location"], "path", "{k} of {method}");
        path = path.replace(&format!("{{{k}}}"), v);
    }
    assert!(!path.contains('{'), "unfilled {path}");
    assert_eq!(r.url.path(), format!("{BASE_PATH}{path}"), "{resource}.{method}");
    for (k, _) in r.url.query_pairs() {
        let declared = m["parameters"][k.as_ref()]["location"] == "query" || doc["parameters"][k.as_ref()].is_object();
        assert!(declared, "{resource}.{method} has no query parameter {k}");
    }
    let auth = r.headers["authorization"].to_str().unwrap();
    assert!(auth.starts_with("Bearer ") && auth.len() > 20, "{auth}");
    let scopes = m["scopes"].as_array().unwrap();
    assert!(scopes.iter().any(|s| s == "https://www.googleapis.com/auth/cloud-platform"));
    assert!(scopes.iter().any(|s| s == COMPUTE_SCOPE), "{resource}.{method} does not take the client's scope");
    if m["parameters"]["requestId"].is_object() {
        assert_uuid_v4(&r.query("requestId").unwrap_or_else(|| panic!("{method} without requestId")));
    }
}

fn assert_uuid_v4(id: &str) {
    let parts: Vec<&str> = id.split('-').collect();
    assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12], "{id}");
    assert!(id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()), "{id}");
    assert_eq!(&parts[2][..1], "4", "{id}");
    assert!("89ab".contains(&parts[3][..1]), "{id}");
    assert_ne!(id, "00000000-0000-0000-0000-000000000000");
}

/// The keys of a JSON object are properties of the schema (or of its `_omitted` list).
fn assert_schema_keys(body: &Value, schema: &str) {
    let doc = discovery();
    let props = doc["schemas"][schema]["properties"].as_object().unwrap();
    let omitted: BTreeSet<String> = doc["_omitted"]
        .get(schema)
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
        .unwrap_or_default();
    let omitted_text = doc["_omitted"].to_string();
    for key in body.as_object().unwrap().keys() {
        assert!(
            props.contains_key(key) || omitted.contains(key) || omitted_text.contains(&format!("\"{key}\"")),
            "{schema} has no property {key}"
        );
    }
}

#[tokio::test]
async fn list_instances_matches_the_discovery_document_and_decodes_the_instance() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let page = json!({"kind": "compute#instanceList", "id": "projects/my-proj/zones/us-central1-a/instances",
                      "items": [instance_json("web-1", "RUNNING")],
                      "selfLink": "https://www.googleapis.com/compute/v1/projects/my-proj/zones/us-central1-a/instances"});
    assert_schema_keys(&page, "InstanceList");
    assert_schema_keys(&page["items"][0], "Instance");
    http.push(canned(200, &page));
    let got = c
        .instances()
        .list(ZONE)
        .filter("labels.env:*")
        .max_results(10)
        .order_by("creationTimestamp desc")
        .send()
        .await
        .unwrap();
    let r = &http.requests()[0];
    check(r, "instances", "list", &[("project", PROJECT), ("zone", ZONE)]);
    assert_eq!(r.query("filter").as_deref(), Some("labels.env:*"));
    assert_eq!(r.query("maxResults").as_deref(), Some("10"));
    assert_eq!(r.query("orderBy").as_deref(), Some("creationTimestamp desc"));
    assert!(
        r.url
            .as_str()
            .starts_with("https://compute.googleapis.com/compute/v1/projects/my-proj/zones/us-central1-a/instances?")
    );

    let i = &got.items[0];
    assert_eq!(i.id, "8071253456192638153");
    assert_eq!(i.name, "web-1");
    assert_eq!(i.zone, ZONE);
    assert_eq!(i.machine_type, "e2-micro");
    assert!(i.machine_type_url.ends_with("/machineTypes/e2-micro"));
    assert_eq!(i.status, InstanceStatus::Running);
    assert_eq!(i.labels["env"], "dev");
    assert_eq!(i.label_fingerprint.as_deref(), Some("42WmSpB8rSM="));
    assert_eq!(i.metadata.fingerprint.as_deref(), Some("bWV0YS1mcA=="));
    assert_eq!(i.metadata.items["startup-script"], "echo hi");
    assert_eq!(i.internal_ip(), Some("10.128.0.2"));
    assert_eq!(i.external_ip(), Some("34.1.2.3"));
    // 2026-11-30T10:00:00-08:00 = 2026-11-30T18:00:00Z
    assert_eq!(i.creation_timestamp, Some(UNIX_EPOCH + Duration::from_secs(1_796_061_600)));
    assert!(i.self_link.as_deref().unwrap().ends_with("/instances/web-1"));
}

#[tokio::test]
async fn the_project_comes_from_the_call_the_client_or_an_input_error() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(canned(200, &json!({"items": []})));
    c.instances().list(ZONE).project("other-proj").send().await.unwrap();
    assert!(http.requests()[0].url.path().contains("/projects/other-proj/"));
    http.push(canned(200, &json!({"items": []})));
    c.instances().project("third").list(ZONE).send().await.unwrap();
    assert!(http.requests()[1].url.path().contains("/projects/third/"));

    let config =
        GcpConfig::loader().env(GcpEnv::from_pairs([("X", "y")])).anonymous().http(http.clone()).load().await.unwrap();
    let c = ComputeClient::new(&config).unwrap();
    assert_eq!(c.project(), None);
    let e = c.instances().get(ZONE, "web-1").send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("GOOGLE_CLOUD_PROJECT"), "{e}");
    // names that would leave their path segment are refused
    let e = client(&http).await.instances().get(ZONE, "..").send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), ErrorKind::InvalidInput);
    assert_eq!(http.requests().len(), 2);
}

#[tokio::test]
async fn list_follows_page_tokens_across_an_empty_no_results_page() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(canned(
        200,
        &json!({"items": [instance_json("a", "RUNNING"), instance_json("b", "STAGING")], "nextPageToken": "t1"}),
    ));
    http.push(canned(
        200,
        &json!({"nextPageToken": "t2", "warning": {"code": "NO_RESULTS_ON_PAGE", "message": "There are no results for scope 'zones/us-central1-a' on this page."}}),
    ));
    http.push(canned(200, &json!({"items": [instance_json("c", "TERMINATED")], "nextPageToken": ""})));
    let items =
        c.instances().list(ZONE).filter("status != DELETED").into_items(PaginationConfig::default().page_size(2));
    assert_listing(&http, "pageToken", items.map_ok(|i| i.name), &["a", "b", "c"], &["t1", "t2"]).await;
    for r in &http.requests() {
        check(r, "instances", "list", &[("project", PROJECT), ("zone", ZONE)]);
        assert_eq!(r.query("maxResults").as_deref(), Some("2"));
        assert_eq!(r.query("filter").as_deref(), Some("status != DELETED"));
    }

    // pages, with the warning of the empty one
    http.push(canned(200, &json!({"nextPageToken": "t9", "warning": {"code": "NO_RESULTS_ON_PAGE"}})));
    http.push(canned(200, &json!({"items": [instance_json("d", "RUNNING")]})));
    let pages: Vec<ListPage<Instance>> =
        c.instances().list(ZONE).into_pages(Default::default()).try_collect().await.unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].warning.as_ref().unwrap().code.as_deref(), Some("NO_RESULTS_ON_PAGE"));
}

#[tokio::test]
async fn a_repeated_page_token_is_a_pagination_error() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(canned(200, &json!({"items": [instance_json("a", "RUNNING")], "nextPageToken": "same"})));
    http.push(canned(200, &json!({"items": [instance_json("b", "RUNNING")], "nextPageToken": "same"})));
    let e = c.instances().list(ZONE).into_items(Default::default()).try_collect::<Vec<_>>().await.unwrap_err();
    assert!(matches!(e, GceError::Pagination(_)), "{e:?}");
    assert!(e.to_string().contains("GCE.instances.list"), "{e}");
}

#[tokio::test]
async fn aggregated_list_flattens_scopes_and_skips_empty_ones() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let page1 = json!({
        "kind": "compute#instanceAggregatedList",
        "items": {
            "zones/us-central1-a": {"instances": [instance_json("a", "RUNNING")]},
            "zones/europe-west1-b": {"warning": {"code": "NO_RESULTS_ON_PAGE", "message": "There are no results for scope 'zones/europe-west1-b' on this page.",
                                                 "data": [{"key": "scope", "value": "zones/europe-west1-b"}]}},
            "zones/asia-east1-a": {"instances": [instance_json("b", "TERMINATED"), instance_json("c", "RUNNING")]}
        },
        "nextPageToken": "agg-2",
        "unreachables": ["zones/mars-north1-a"]
    });
    assert_schema_keys(&page1, "InstanceAggregatedList");
    assert_schema_keys(&page1["items"]["zones/us-central1-a"], "InstancesScopedList");
    http.push(canned(200, &page1));
    http.push(canned(200, &json!({"items": {"zones/us-east1-b": {"instances": [instance_json("d", "RUNNING")]}}})));
    let items: Vec<(String, Instance)> = c
        .instances()
        .aggregated_list()
        .filter("status = RUNNING")
        .into_items(Default::default())
        .try_collect()
        .await
        .unwrap();
    let pairs: Vec<(&str, &str)> = items.iter().map(|(z, i)| (z.as_str(), i.name.as_str())).collect();
    assert_eq!(pairs, [("asia-east1-a", "b"), ("asia-east1-a", "c"), ("us-central1-a", "a"), ("us-east1-b", "d")]);
    let reqs = http.requests();
    check(&reqs[0], "instances", "aggregatedList", &[("project", PROJECT)]);
    check(&reqs[1], "instances", "aggregatedList", &[("project", PROJECT)]);
    assert_eq!(reqs[1].query("pageToken").as_deref(), Some("agg-2"));

    http.push(canned(200, &page1));
    let page = c.instances().aggregated_list().send().await.unwrap();
    assert_eq!(page.unreachables, ["zones/mars-north1-a"]);
    assert_eq!(page.scope_warnings["zones/europe-west1-b"].code.as_deref(), Some("NO_RESULTS_ON_PAGE"));
}

#[tokio::test]
async fn get_instance() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(canned(200, &instance_json("web-1", "PENDING_STOP")));
    let i = c.instances().get(ZONE, "web-1").send().await.unwrap();
    check(&http.requests()[0], "instances", "get", &[("project", PROJECT), ("zone", ZONE), ("instance", "web-1")]);
    assert_eq!(i.status, InstanceStatus::PendingStop);
    assert!(http.requests()[0].body.is_empty());
}

#[tokio::test]
async fn insert_sends_the_minimal_instance_body_with_a_request_id() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(canned(200, &op_json("operation-1-insert", "insert", "PENDING")));
    let definition = InstanceDefinition::new("web-1", "e2-micro")
        .image("projects/debian-cloud/global/images/family/debian-12")
        .label("env", "dev")
        .metadata("owner", "team-a")
        .startup_script("#!/bin/sh\necho hi")
        .description("cloudkit test");
    let op = c.instances().insert(ZONE, definition).send().await.unwrap();
    assert_eq!(op.name(), "operation-1-insert");
    assert_eq!(op.zone(), ZONE);
    assert_eq!(op.status(), &OperationStatus::Pending);
    let r = &http.requests()[0];
    check(r, "instances", "insert", &[("project", PROJECT), ("zone", ZONE)]);
    assert_eq!(r.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_schema_keys(&body, "Instance");
    assert_eq!(body["name"], "web-1");
    assert_eq!(body["machineType"], "zones/us-central1-a/machineTypes/e2-micro");
    assert_eq!(body["disks"][0]["boot"], true);
    assert_eq!(
        body["disks"][0]["initializeParams"]["sourceImage"],
        "projects/debian-cloud/global/images/family/debian-12"
    );
    assert_eq!(body["networkInterfaces"][0]["network"], "global/networks/default");
    assert!(body["networkInterfaces"][0].get("accessConfigs").is_none());
    assert_eq!(body["labels"], json!({"env": "dev"}));
    assert_eq!(
        body["metadata"]["items"],
        json!([{"key": "owner", "value": "team-a"}, {"key": "startup-script", "value": "#!/bin/sh\necho hi"}])
    );
    assert_eq!(body["description"], "cloudkit test");

    // a bad name is refused before anything is sent
    let e = c.instances().insert(ZONE, InstanceDefinition::new("Web_1", "e2-micro")).send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), ErrorKind::InvalidInput);
    assert_eq!(http.requests().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_retried_mutating_call_keeps_its_request_id() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(google_error(503, "backendError", "UNAVAILABLE", "Internal error. Please try again."));
    http.push(canned(200, &op_json("operation-2-stop", "stop", "RUNNING")));
    let _ = c.instances().stop(ZONE, "web-1").send().await.unwrap();
    let reqs = http.requests();
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[0].query("requestId"), reqs[1].query("requestId"));
    // a new call gets a new id
    http.push(canned(200, &op_json("operation-3-stop", "stop", "RUNNING")));
    let _ = c.instances().stop(ZONE, "web-1").send().await.unwrap();
    assert_ne!(http.requests()[2].query("requestId"), reqs[0].query("requestId"));
}

#[tokio::test]
async fn start_stop_reset_delete_match_the_discovery_document() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let vm = [("project", PROJECT), ("zone", ZONE), ("instance", "web-1")];
    for (method, op_type) in [("start", "start"), ("stop", "stop"), ("reset", "reset"), ("delete", "delete")] {
        http.push(canned(200, &op_json(&format!("operation-{method}"), op_type, "RUNNING")));
    }
    let i = c.instances();
    let _ = i.start(ZONE, "web-1").send().await.unwrap();
    let _ = i.stop(ZONE, "web-1").discard_local_ssd(true).send().await.unwrap();
    let _ = i.reset(ZONE, "web-1").send().await.unwrap();
    let _ = i.delete(ZONE, "web-1").no_graceful_shutdown(true).send().await.unwrap();
    let reqs = http.requests();
    check(&reqs[0], "instances", "start", &vm);
    check(&reqs[1], "instances", "stop", &vm);
    assert_eq!(reqs[1].query("discardLocalSsd").as_deref(), Some("true"));
    check(&reqs[2], "instances", "reset", &vm);
    check(&reqs[3], "instances", "delete", &vm);
    assert_eq!(reqs[3].query("noGracefulShutdown").as_deref(), Some("true"));
    assert!(reqs.iter().all(|r| r.body.is_empty()));
    let ids: BTreeSet<_> = reqs.iter().map(|r| r.query("requestId")).collect();
    assert_eq!(ids.len(), 4);
}

/// Not in the discovery subset: the same path pattern (`…/instances/{instance}/suspend`), checked by hand.
#[tokio::test]
async fn suspend_resume_and_set_metadata() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(canned(200, &op_json("operation-s", "suspend", "RUNNING")));
    http.push(canned(200, &op_json("operation-r", "resume", "RUNNING")));
    http.push(canned(200, &instance_json("web-1", "RUNNING")));
    http.push(canned(200, &op_json("operation-m", "setMetadata", "RUNNING")));
    let _ = c.instances().suspend(ZONE, "web-1").discard_local_ssd(false).send().await.unwrap();
    let _ = c.instances().resume(ZONE, "web-1").send().await.unwrap();
    let _ = c.instances().set_metadata(ZONE, "web-1").item("startup-script", "echo 2").send().await.unwrap();
    let reqs = http.requests();
    let base = format!("{BASE_PATH}projects/{PROJECT}/zones/{ZONE}/instances/web-1");
    assert_eq!((reqs[0].method.clone(), reqs[0].url.path()), (Method::POST, format!("{base}/suspend").as_str()));
    assert_eq!(reqs[0].query("discardLocalSsd").as_deref(), Some("false"));
    assert_eq!((reqs[1].method.clone(), reqs[1].url.path()), (Method::POST, format!("{base}/resume").as_str()));
    // set_metadata without a fingerprint reads it first
    assert_eq!((reqs[2].method.clone(), reqs[2].url.path()), (Method::GET, base.as_str()));
    assert_eq!((reqs[3].method.clone(), reqs[3].url.path()), (Method::POST, format!("{base}/setMetadata").as_str()));
    let body: Value = serde_json::from_slice(&reqs[3].body).unwrap();
    assert_eq!(body, json!({"fingerprint": "bWV0YS1mcA==", "items": [{"key": "startup-script", "value": "echo 2"}]}));
    for r in [&reqs[0], &reqs[1], &reqs[3]] {
        assert_uuid_v4(&r.query("requestId").unwrap());
    }
}

#[tokio::test]
async fn set_labels_sends_the_fingerprint_and_a_stale_one_is_precondition_failed() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let vm = [("project", PROJECT), ("zone", ZONE), ("instance", "web-1")];
    http.push(canned(200, &op_json("operation-l", "setLabels", "RUNNING")));
    let _ =
        c.instances().set_labels(ZONE, "web-1").label("env", "prod").fingerprint("42WmSpB8rSM=").send().await.unwrap();
    let r = &http.requests()[0];
    check(r, "instances", "setLabels", &vm);
    let body: Value = serde_json::from_slice(&r.body).unwrap();
    assert_schema_keys(&body, "InstancesSetLabelsRequest");
    assert_eq!(body, json!({"labels": {"env": "prod"}, "labelFingerprint": "42WmSpB8rSM="}));

    // without a fingerprint: read it with instances.get first
    http.push(canned(200, &instance_json("web-1", "RUNNING")));
    http.push(google_error(
        412,
        "conditionNotMet",
        "FAILED_PRECONDITION",
        "Labels fingerprint either invalid or resource labels have changed",
    ));
    let e = c.instances().set_labels(ZONE, "web-1").labels([("a", "b")]).send().await.unwrap_err();
    let reqs = http.requests();
    check(&reqs[1], "instances", "get", &vm);
    check(&reqs[2], "instances", "setLabels", &vm);
    assert!(matches!(e, GceError::PreconditionFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("conditionNotMet"));
}

#[tokio::test]
async fn operation_wait_polls_pending_running_done() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(canned(200, &op_json("operation-9", "start", "PENDING")));
    http.push(canned(200, &op_json("operation-9", "start", "PENDING")));
    http.push(canned(200, &op_json("operation-9", "start", "RUNNING")));
    let mut done = op_json("operation-9", "start", "DONE");
    done["endTime"] = json!("2026-11-30T10:00:30.000-08:00");
    assert_schema_keys(&done, "Operation");
    http.push(canned(200, &done));
    let op = c.instances().start(ZONE, "web-1").send().await.unwrap();
    let finished = op.result().await.unwrap();
    assert!(finished.is_done());
    assert_eq!(finished.operation_type.as_deref(), Some("start"));
    assert!(finished.target_link.as_deref().unwrap().ends_with("/instances/web-1"));
    assert!(finished.end_time.is_some());
    let reqs = http.requests();
    assert_eq!(reqs.len(), 4);
    for r in &reqs[1..] {
        check(r, "zoneOperations", "wait", &[("project", PROJECT), ("zone", ZONE), ("operation", "operation-9")]);
        assert!(r.body.is_empty());
    }

    // polling with get (and the client's HTTP override reaches the wait calls too)
    http.push(canned(200, &op_json("operation-10", "stop", "RUNNING")));
    http.push(canned(200, &op_json("operation-10", "stop", "DONE")));
    c.zone_operations().operation(ZONE, "operation-10").unwrap().poll_with_get().wait().await.unwrap();
    let reqs = http.requests();
    for r in &reqs[4..] {
        check(r, "zoneOperations", "get", &[("project", PROJECT), ("zone", ZONE), ("operation", "operation-10")]);
    }

    // a DONE answer needs no poll
    http.push(canned(200, &op_json("operation-11", "reset", "DONE")));
    c.instances().reset(ZONE, "web-1").send().await.unwrap().wait().await.unwrap();
    assert_eq!(http.requests().len(), 7);
    assert_eq!(http.remaining(), 0);
}

#[tokio::test]
async fn operation_wait_falls_back_to_get_when_wait_is_refused() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(google_error(405, "httpMethodNotAllowed", "UNIMPLEMENTED", "Method not allowed"));
    http.push(canned(200, &op_json("operation-5", "stop", "RUNNING")));
    http.push(canned(200, &op_json("operation-5", "stop", "DONE")));
    c.zone_operations().operation(ZONE, "operation-5").unwrap().wait().await.unwrap();
    let reqs = http.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].method, Method::POST);
    assert_eq!(reqs[1].method, Method::GET);
    assert_eq!(reqs[2].method, Method::GET);
}

#[tokio::test]
async fn an_operation_done_with_errors_is_operation_failed() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(canned(200, &op_json("operation-q", "insert", "RUNNING")));
    let mut failed = op_json("operation-q", "insert", "DONE");
    failed["error"] = json!({"errors": [
        {"code": "QUOTA_EXCEEDED", "message": "Quota 'CPUS' exceeded. Limit: 8.0 in region us-central1.", "errorDetails": []},
        {"code": "RESOURCE_OPERATION_RATE_EXCEEDED", "message": "Operation rate exceeded."}
    ]});
    failed["httpErrorStatusCode"] = json!(403);
    failed["httpErrorMessage"] = json!("FORBIDDEN");
    assert_schema_keys(&failed, "Operation");
    http.push(canned(200, &failed));
    let op = c.instances().insert(ZONE, InstanceDefinition::new("web-1", "e2-micro")).send().await.unwrap();
    let e = op.wait().await.unwrap_err();
    assert!(matches!(e, GceError::OperationFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("QUOTA_EXCEEDED"));
    assert_eq!(e.status().map(|s| s.as_u16()), Some(403));
    let failure = e.operation_errors().unwrap();
    assert_eq!(failure.operation, "operation-q");
    assert_eq!(failure.errors.len(), 2);
    assert_eq!(failure.errors[1].code, "RESOURCE_OPERATION_RATE_EXCEEDED");
    assert_eq!(failure.http_error_status_code, Some(403));
    let text = e.to_string();
    assert!(text.contains("Quota 'CPUS' exceeded") && text.contains("Operation rate exceeded"), "{text}");
    assert!(!e.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn an_operation_past_its_deadline_is_wait_timeout() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(canned(200, &op_json("operation-slow", "stop", "RUNNING")));
    for _ in 0..100 {
        http.push(canned(200, &op_json("operation-slow", "stop", "RUNNING")));
    }
    let op = c.instances().stop(ZONE, "web-1").send().await.unwrap();
    let e = op
        .min_delay(Duration::from_millis(10))
        .max_delay(Duration::from_millis(20))
        .max_wait(Duration::from_millis(100))
        .wait()
        .await
        .unwrap_err();
    assert!(matches!(e, GceError::WaitTimeout(_)), "{e:?}");
    assert_eq!(e.core().unwrap().kind(), ErrorKind::Timeout);
    let text = e.to_string();
    assert!(
        text.contains(OPERATION_WAITER) && text.contains("operation operation-slow in my-proj/us-central1-a"),
        "{text}"
    );
}

#[tokio::test(start_paused = true)]
async fn error_bodies_are_typed() {
    let http = Arc::new(ReplayHttp::new());
    let c = ComputeClient::builder(&config(&http).await).retry(RetryConfig::disabled()).build().unwrap();
    let get = || c.instances().get(ZONE, "web-1").send();
    let web_1 = "The resource 'projects/my-proj/zones/us-central1-a/instances/web-1'";
    let (not_found, exists) = (format!("{web_1} was not found"), format!("{web_1} already exists"));
    let permission = "Required 'compute.instances.get' permission";
    let auth = "Request had invalid authentication credentials.";
    // (status, reason — the expected code —, status name, message, the variant's name)
    let enveloped = [
        (404, "notFound", "NOT_FOUND", not_found.as_str(), "NotFound"),
        (409, "alreadyExists", "ALREADY_EXISTS", exists.as_str(), "AlreadyExists"),
        (400, "resourceNotReady", "FAILED_PRECONDITION", "The resource is not ready", "ResourceNotReady"),
        (403, "quotaExceeded", "PERMISSION_DENIED", "Quota exceeded", "QuotaExceeded"),
        (429, "rateLimitExceeded", "RESOURCE_EXHAUSTED", "Rate Limit Exceeded", "Throttled"),
        (403, "userRateLimitExceeded", "PERMISSION_DENIED", "User Rate Limit Exceeded", "Throttled"),
        (403, "forbidden", "PERMISSION_DENIED", permission, "PermissionDenied"),
        (401, "authError", "UNAUTHENTICATED", auth, "Unauthenticated"),
    ];
    let mut cases: Vec<(Canned, &str, Option<&str>)> = enveloped
        .into_iter()
        .map(|(status, reason, name, message, variant)| {
            (google_error(status, reason, name, message), variant, Some(reason))
        })
        .collect();
    // no `errors[]`: the code is the envelope's status; no envelope: no code
    let exhausted = json!({"error": {"code": 429, "message": "Too many requests", "status": "RESOURCE_EXHAUSTED"}});
    cases.push((canned(429, &exhausted), "Throttled", Some("RESOURCE_EXHAUSTED")));
    cases.push((Canned::status(502, "<html>Bad Gateway</html>"), "Other", None));
    for (answer, variant, code) in cases {
        http.push(answer.with_header("x-goog-request-id", "rid-1"));
        let e = get().await.unwrap_err();
        assert!(format!("{e:?}").starts_with(&format!("{variant}(")), "{code:?}: {e:?}");
        assert_eq!(e.is_throttling(), variant == "Throttled", "{e:?}");
        if code.is_some() {
            assert_eq!(e.code(), code);
        }
        assert!(e.to_string().starts_with("GCE.instances.get failed"), "{e}");
    }
    // the message is the envelope's
    http.push(google_error(404, "notFound", "NOT_FOUND", "The resource 'x' was not found"));
    let e = get().await.unwrap_err();
    assert_eq!(e.message(), Some("The resource 'x' was not found"));
    assert!(e.is_not_found());
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_by_the_pipeline() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(google_error(429, "rateLimitExceeded", "RESOURCE_EXHAUSTED", "Rate Limit Exceeded"));
    http.push(canned(200, &instance_json("web-1", "RUNNING")));
    c.instances().get(ZONE, "web-1").send().await.unwrap();
    assert_eq!(http.requests().len(), 2);
}

#[test]
fn every_documented_status_maps_and_unknown_values_are_kept() {
    let doc = discovery();
    let values = doc["schemas"]["Instance"]["properties"]["status"]["enum"].as_array().unwrap();
    assert!(values.len() >= 12);
    for v in values {
        let v = v.as_str().unwrap();
        let status = InstanceStatus::from_wire(v);
        assert!(!matches!(status, InstanceStatus::Unknown(_)), "{v} is not mapped");
        assert_eq!(status.as_str(), v);
        assert_eq!(serde_json::from_value::<InstanceStatus>(json!(v)).unwrap(), status);
    }
    let odd = InstanceStatus::from_wire("HIBERNATING");
    assert_eq!(odd, InstanceStatus::Unknown("HIBERNATING".into()));
    assert_eq!(odd.to_string(), "HIBERNATING");
    assert!(InstanceStatus::Terminated.is_stopped() && InstanceStatus::Stopped.is_stopped());
    let i: Instance = serde_json::from_value(instance_json("x", "SOMETHING_NEW")).unwrap();
    assert_eq!(i.status, InstanceStatus::Unknown("SOMETHING_NEW".into()));
    for v in doc["schemas"]["Operation"]["properties"]["status"]["enum"].as_array().unwrap() {
        assert!(!matches!(OperationStatus::from_wire(v.as_str().unwrap()), OperationStatus::Unknown(_)));
    }
}

#[tokio::test(start_paused = true)]
async fn instance_waiters() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let i = c.instances();
    for s in ["PROVISIONING", "STAGING", "RUNNING"] {
        http.push(canned(200, &instance_json("web-1", s)));
    }
    let done = i.wait_until_running(ZONE, "web-1").wait().await.unwrap();
    assert_eq!(done.attempts, 3);
    assert_eq!(done.output().unwrap().status, InstanceStatus::Running);

    for s in ["STOPPING", "TERMINATED"] {
        http.push(canned(200, &instance_json("web-1", s)));
    }
    i.wait_until_stopped(ZONE, "web-1").wait().await.unwrap();
    http.push(canned(200, &instance_json("web-1", "STOPPED")));
    i.wait_until_stopped(ZONE, "web-1").wait().await.unwrap();
    for s in ["PENDING_STOP", "TERMINATED"] {
        http.push(canned(200, &instance_json("web-1", s)));
    }
    i.wait_until_terminated(ZONE, "web-1").wait().await.unwrap();

    http.push(canned(200, &instance_json("web-1", "STOPPING")));
    http.push(google_error(404, "notFound", "NOT_FOUND", "The resource was not found"));
    let gone = i.wait_until_deleted(ZONE, "web-1").wait().await.unwrap();
    assert!(gone.result.is_err());

    // a TERMINATED instance may be about to start (polled again); one going down fails at once
    http.push(canned(200, &instance_json("web-1", "TERMINATED")));
    http.push(canned(200, &instance_json("web-1", "STOPPING")));
    let e = i.wait_until_running(ZONE, "web-1").wait().await.unwrap_err();
    assert_eq!(e.attempts(), 2);
    assert!(matches!(e, WaiterError::FailureState { .. }), "{e:?}");
    assert_eq!(e.waiter(), "InstanceRunning");
    assert_eq!(e.resource(), Some("instance us-central1-a/web-1"));

    // the deadline
    for _ in 0..50 {
        http.push(canned(200, &instance_json("web-1", "STAGING")));
    }
    let e = i.wait_until_running(ZONE, "web-1").max_wait(Duration::from_secs(30)).wait().await.unwrap_err();
    assert!(matches!(e, WaiterError::Timeout { .. }), "{e:?}");
    for r in http.requests() {
        check(&r, "instances", "get", &[("project", PROJECT), ("zone", ZONE), ("instance", "web-1")]);
    }
}

#[tokio::test]
async fn zones_and_machine_types() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    let zones = json!({"kind": "compute#zoneList", "items": [
        {"kind": "compute#zone", "id": "2000", "name": "us-central1-a", "status": "UP",
         "region": "https://www.googleapis.com/compute/v1/projects/my-proj/regions/us-central1", "description": "us-central1-a"}
    ], "nextPageToken": "z2"});
    assert_schema_keys(&zones, "ZoneList");
    assert_schema_keys(&zones["items"][0], "Zone");
    http.push(canned(200, &zones));
    http.push(canned(200, &json!({"items": [{"name": "us-central1-b", "status": "DOWN"}]})));
    let all: Vec<Zone> = c.zones().list().into_items(Default::default()).try_collect().await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(all[0].region_name(), Some("us-central1"));
    assert_eq!(all[1].status.as_deref(), Some("DOWN"));
    check(&http.requests()[0], "zones", "list", &[("project", PROJECT)]);
    assert_eq!(http.requests()[1].query("pageToken").as_deref(), Some("z2"));

    // machineTypes.list is not in the subset: same pattern, checked by hand
    http.push(canned(
        200,
        &json!({"items": [{"name": "e2-micro", "guestCpus": 2, "memoryMb": 1024, "isSharedCpu": true, "zone": "us-central1-a"}]}),
    ));
    let page = c.machine_types().list(ZONE).filter("name = e2-*").send().await.unwrap();
    assert_eq!(page.items[0].guest_cpus, Some(2));
    assert_eq!(page.items[0].memory_mb, Some(1024));
    let r = &http.requests()[2];
    assert_eq!(r.url.path(), format!("{BASE_PATH}projects/{PROJECT}/zones/{ZONE}/machineTypes"));
    assert_eq!(r.query("filter").as_deref(), Some("name = e2-*"));
}

#[tokio::test]
async fn endpoints_and_plain_http() {
    let http = Arc::new(ReplayHttp::new());
    let config = config(&http).await;
    let c = ComputeClient::new(&config).unwrap();
    assert_eq!(c.endpoint().as_str(), "https://compute.googleapis.com/compute/v1/");
    assert_eq!(c.project(), Some(PROJECT));
    // tokens never go over plain http unless the config named that loopback endpoint
    let e = ComputeClient::builder(&config)
        .endpoint(Url::parse("http://127.0.0.1:9100/compute/v1").unwrap())
        .build()
        .unwrap_err();
    assert!(e.to_string().contains("over https only"), "{e}");
    let c = ComputeClient::builder(&config)
        .endpoint(Url::parse("https://compute.example.com/v1").unwrap())
        .build()
        .unwrap();
    assert_eq!(c.endpoint().as_str(), "https://compute.example.com/v1/");

    // the loopback fake named by CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE: plain http with the token
    let config = GcpConfig::loader()
        .env(GcpEnv::from_pairs([
            ("GOOGLE_CLOUD_PROJECT", PROJECT),
            ("CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE", "http://127.0.0.1:9100/compute/v1/"),
        ]))
        .credentials_json(key_json())
        .http(http.clone())
        .load()
        .await
        .unwrap();
    let c = ComputeClient::new(&config).unwrap();
    http.push(canned(200, &instance_json("web-1", "RUNNING")));
    c.instances().get(ZONE, "web-1").send().await.unwrap();
    let r = &http.requests()[0];
    assert_eq!(r.url.as_str(), "http://127.0.0.1:9100/compute/v1/projects/my-proj/zones/us-central1-a/instances/web-1");
    let auth = r.headers["authorization"].to_str().unwrap().to_owned();
    assert!(auth.starts_with("Bearer "));
    // and the token is in no Debug output
    let token = auth.trim_start_matches("Bearer ");
    for debug in [format!("{c:?}"), format!("{config:?}"), format!("{:?}", ComputeClient::builder(&config))] {
        assert!(!debug.contains(token) && !debug.contains("PRIVATE KEY"), "{debug}");
    }
}

#[test]
fn request_ids_are_uuid_v4() {
    let ids: BTreeSet<String> = (0..100).map(|_| new_request_id()).collect();
    assert_eq!(ids.len(), 100);
    ids.iter().for_each(|id| assert_uuid_v4(id));
}

#[test]
fn short_names() {
    assert_eq!(short_name("https://www.googleapis.com/compute/v1/projects/p/zones/us-central1-a"), "us-central1-a");
    assert_eq!(short_name("zones/us-central1-a/machineTypes/e2-micro"), "e2-micro");
    assert_eq!(short_name("e2-micro"), "e2-micro");
    assert!(is_valid_instance_name("web-1") && !is_valid_instance_name("1web") && !is_valid_instance_name("web-"));
}

#[tokio::test]
async fn the_http_override_reaches_operation_waits() {
    let unused = Arc::new(ReplayHttp::new());
    let http = Arc::new(ReplayHttp::new());
    let c = ComputeClient::builder(&config(&unused).await)
        .http(http.clone())
        .operation_config(fast_config())
        .build()
        .unwrap();
    http.push(canned(200, &op_json("operation-h", "start", "RUNNING")));
    http.push(canned(200, &op_json("operation-h", "start", "DONE")));
    c.instances().start(ZONE, "web-1").send().await.unwrap().wait().await.unwrap();
    assert_eq!(http.requests().len(), 2);
    assert!(unused.requests().is_empty());
}

/// Issue 18: a `zoneOperations.wait` call the service holds is cut at the operation's deadline:
/// `wait()` returns at `max_wait` with the waiter's timeout, not when the call would end.
#[tokio::test(start_paused = true)]
async fn a_held_wait_call_is_cut_at_the_deadline() {
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(canned(200, &op_json("operation-held", "stop", "RUNNING")));
    http.push(Canned::hang());
    // the last poll at the deadline, if the waiter makes one, is a get
    http.push(canned(200, &op_json("operation-held", "stop", "RUNNING")));
    let op = c.instances().stop(ZONE, "web-1").send().await.unwrap();
    let started = tokio::time::Instant::now();
    let e = op.max_wait(Duration::from_secs(10)).wait().await.unwrap_err();
    assert_eq!(started.elapsed(), Duration::from_secs(10), "at the deadline, not at the call's 150 s limit");
    assert!(matches!(e, GceError::WaitTimeout(_)), "{e:?}");
    assert_eq!(e.core().unwrap().kind(), ErrorKind::Timeout);
    assert!(e.to_string().contains("operation operation-held"), "{e}");
    let reqs = http.requests();
    assert_eq!(reqs[1].method, Method::POST, "the held call was a wait");
    assert!(reqs[1].url.path().ends_with("/operations/operation-held/wait"));
    assert!(reqs[2..].iter().all(|r| r.method == Method::GET), "after the deadline, only a get: {reqs:?}");
}

/// Issue 18: wait calls have [`WAIT_CALL_TIMEOUT`] per attempt with the default time limits, and
/// the limits chosen with `.timeouts(..)` otherwise; a wait call cut by them is an unfinished
/// answer, and the next poll follows.
#[tokio::test(start_paused = true)]
async fn wait_calls_honour_the_client_timeouts() {
    // the default limits: a held call ends after WAIT_CALL_TIMEOUT (the pipeline may retry it once)
    let http = Arc::new(ReplayHttp::new());
    let c = client(&http).await;
    http.push(canned(200, &op_json("operation-t", "stop", "RUNNING")));
    http.push(Canned::hang());
    http.push(canned(200, &op_json("operation-t", "stop", "DONE")));
    let op = c.instances().stop(ZONE, "web-1").send().await.unwrap();
    let started = tokio::time::Instant::now();
    op.max_wait(Duration::from_secs(600)).wait().await.unwrap();
    let took = started.elapsed();
    assert!(took >= WAIT_CALL_TIMEOUT && took < WAIT_CALL_TIMEOUT * 2, "{took:?}");

    // chosen limits apply to wait calls as to every call
    let http = Arc::new(ReplayHttp::new());
    let five = Duration::from_secs(5);
    let c = ComputeClient::builder(&config(&http).await)
        .operation_config(fast_config())
        .timeouts(TimeoutConfig { attempt: Some(five), operation: Some(five) })
        .build()
        .unwrap();
    http.push(canned(200, &op_json("operation-u", "stop", "RUNNING")));
    http.push(Canned::hang());
    http.push(canned(200, &op_json("operation-u", "stop", "DONE")));
    let op = c.instances().stop(ZONE, "web-1").send().await.unwrap();
    let started = tokio::time::Instant::now();
    let done = op.wait().await.unwrap();
    assert!(done.is_done());
    let took = started.elapsed();
    assert!(took >= five && took < five + Duration::from_secs(1), "{took:?}");
    let reqs = http.requests();
    assert_eq!(reqs.len(), 3);
    assert!(reqs[1..].iter().all(|r| r.method == Method::POST && r.url.path().ends_with("/wait")));
}
