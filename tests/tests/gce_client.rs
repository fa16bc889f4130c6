//! The Compute Engine client (`cloudkit-gcp-compute`) end to end over its real code: tokens from the
//! real ADC chain (`GcpConfig::loader()` → google-cloud-auth: a service-account key file, whose
//! self-signed JWTs the fake verifies, and an `authorized_user` file exchanged at the fake's OAuth
//! token endpoint), the real pipeline (bearer signer, retries, Google's error parser), the real
//! pager, operation poller and instance waiters, against `cloudkit_tests::gce::GceFake`.
//!
//! **These are Google's documented shapes served by an in-process fake, not a live service.** No
//! Compute Engine emulator exists; the fake follows Google's Compute v1 discovery document and the
//! notes copied to `crates/gcp-compute/src/testdata/` (paths, schemas, statuses, paging by
//! `pageToken` with empty pages, aggregated lists keyed by zone, operations finishing after polls,
//! Google's error envelope; see the top of `tests/src/gce.rs`). `gce_fake.rs` checks the fake itself
//! with plain HTTP; this file drives it through `ComputeClient` for every operation the client has,
//! not only the ones the facade's `GceCompute` uses. Every test starts its own fake. Operations and
//! waiters poll every few milliseconds (`ComputeClient::builder(..).operation_config(..)`,
//! `.config(..)` on the waiters).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use cloudkit_core::{ErrorKind, RetryConfig};
use cloudkit_cred_chain::gcp::{GcpConfig, GcpEnv};
use cloudkit_gcp_compute::{
    COMPUTE_SCOPE, ComputeClient, GceError, InstanceDefinition, InstanceStatus, OPERATION_WAITER, WaiterConfig,
    WaiterError,
};
use cloudkit_paginate::PaginationConfig;
use cloudkit_tests::gce::{CLOUD_PLATFORM_SCOPE, ENDPOINT_VAR, GceFake, MACHINE_TYPES, PROJECT, ZONES};
use futures::TryStreamExt;
use serde_json::json;

const ZONE: &str = "us-central1-a";

/// Operations poll every 1–5 ms, with a 30 s deadline.
fn fast_operations() -> WaiterConfig {
    WaiterConfig::new(Duration::from_millis(1), Duration::from_millis(5), Duration::from_secs(30))
}

/// Instance waiters poll every 1–5 ms, with a 10 s deadline.
fn fast_waiter() -> WaiterConfig {
    WaiterConfig::new(Duration::from_millis(1), Duration::from_millis(5), Duration::from_secs(10))
}

/// A client of `config` with fast operation polling.
fn client(config: &GcpConfig) -> ComputeClient {
    ComputeClient::builder(config).operation_config(fast_operations()).build().unwrap()
}

struct Gce {
    fake: GceFake,
    compute: ComputeClient,
}

/// A fresh fake and a client of it, configured the way an application loads one: ADC finds the
/// service-account key file (`GOOGLE_APPLICATION_CREDENTIALS`), the project is
/// `GOOGLE_CLOUD_PROJECT`, the endpoint `CLOUDKIT_GCE_ENDPOINT` (plain http to loopback).
async fn gce() -> Gce {
    let fake = GceFake::start().unwrap();
    let config = GcpConfig::loader().env(fake.gcp_env()).load().await.unwrap();
    assert_eq!(config.project_id(), Some(PROJECT));
    let compute = client(&config);
    assert_eq!(compute.endpoint(), &fake.endpoint());
    Gce { fake, compute }
}

/// Every Compute request (not the token endpoint's) carried a bearer token.
fn assert_all_compute_requests_bearer(fake: &GceFake) {
    for r in fake.requests().iter().filter(|r| r.path.starts_with("/compute/v1/")) {
        assert_eq!(r.header("authorization"), Some("Bearer <redacted>"), "{} {}", r.method, r.path_and_query);
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens from the real ADC chain, with the compute scope
// ---------------------------------------------------------------------------------------------

/// A service-account key file: google-cloud-auth signs one JWT for the scope (no token endpoint),
/// cached for every call; the scope is Compute Engine's own unless the loader names scopes.
#[tokio::test]
async fn a_service_account_key_gets_one_compute_scoped_token_for_many_calls() {
    let Gce { fake, compute } = gce().await;
    fake.add_instance(ZONE, "web-1", "RUNNING", &[]);
    for _ in 0..5 {
        assert_eq!(compute.instances().get(ZONE, "web-1").send().await.unwrap().name, "web-1");
    }
    compute.zones().list().send().await.unwrap();
    compute.machine_types().list(ZONE).send().await.unwrap();
    assert_eq!(fake.self_signed_tokens_seen(), 1, "one cached token for seven calls");
    assert_eq!(fake.token_requests(), 0, "a service-account key signs its own JWT");
    assert_eq!(fake.requested_scopes(), [COMPUTE_SCOPE], "the compute scope by default");
    assert_all_compute_requests_bearer(&fake);

    // the loader's scopes win (for every client of the config)
    let config = GcpConfig::loader().env(fake.gcp_env()).scopes([CLOUD_PLATFORM_SCOPE]).load().await.unwrap();
    client(&config).zones().list().send().await.unwrap();
    assert_eq!(fake.requested_scopes().last().map(String::as_str), Some(CLOUD_PLATFORM_SCOPE));
    // a scope without Compute access: Google's 403, typed
    let storage_only = "https://www.googleapis.com/auth/devstorage.read_only";
    let config = GcpConfig::loader().env(fake.gcp_env()).scopes([storage_only]).load().await.unwrap();
    let e = client(&config).zones().list().send().await.unwrap_err();
    assert!(matches!(e, GceError::PermissionDenied(_)), "{e:?}");
    assert_eq!((e.status().map(|s| s.as_u16()), e.code()), (Some(403), Some("insufficientPermissions")));
    assert_eq!(fake.requested_scopes().last().map(String::as_str), Some(storage_only));
}

/// An `authorized_user` file (what `gcloud auth application-default login` writes): its refresh
/// token is exchanged at the fake's token endpoint once, asking for the compute scope.
#[tokio::test]
async fn an_authorized_user_file_exchanges_its_refresh_token_for_the_compute_scope_once() {
    let fake = GceFake::start().unwrap();
    let env = GcpEnv::from_pairs([
        ("GOOGLE_APPLICATION_CREDENTIALS", fake.authorized_user_file().display().to_string()),
        ("HOME", fake.empty_home().display().to_string()),
        (ENDPOINT_VAR, fake.endpoint().to_string()),
    ]);
    let config = GcpConfig::loader().env(env).load().await.unwrap();
    assert_eq!(config.project_id(), Some(PROJECT), "the file's quota_project_id");
    let compute = client(&config);
    for _ in 0..4 {
        compute.zones().list().send().await.unwrap();
    }
    // google-cloud-auth fetches a token for the config's default credentials as soon as they are
    // built (a background refresh); the Compute client's credentials, built on first use, ask for
    // the compute scope once for the four calls
    let scopes = fake.requested_scopes();
    assert_eq!(scopes.iter().filter(|s| *s == COMPUTE_SCOPE).count(), 1, "{scopes:?}");
    assert!(scopes.iter().all(|s| s.is_empty() || s == COMPUTE_SCOPE), "{scopes:?}");
    let token_request = fake.requests().into_iter().find(|r| r.path == "/token").unwrap();
    assert!(token_request.body.is_empty(), "the refresh token and client secret are not logged");
    assert_all_compute_requests_bearer(&fake);
}

/// The metadata server (no credentials file): the Compute client's token is asked for with
/// `?scopes=<compute scope>`.
#[tokio::test]
async fn the_metadata_server_is_asked_for_the_compute_scope() {
    let fake = GceFake::start().unwrap();
    let config = GcpConfig::loader().env(GcpEnv::from_pairs(fake.metadata_env())).load().await.unwrap();
    assert_eq!(config.project_id(), Some(PROJECT), "from the metadata server");
    let compute = client(&config);
    for _ in 0..3 {
        compute.zones().list().send().await.unwrap();
    }
    let scopes = fake.requested_scopes();
    assert_eq!(scopes.iter().filter(|s| *s == COMPUTE_SCOPE).count(), 1, "{scopes:?}");
    let asked: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/service-accounts/default/token") && r.query_param("scopes").is_some())
        .collect();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].query_param("scopes"), Some(COMPUTE_SCOPE));
    assert_all_compute_requests_bearer(&fake);
}

// ---------------------------------------------------------------------------------------------
// Instances
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn suspend_and_resume_through_their_operations() {
    let Gce { fake, compute } = gce().await;
    fake.add_instance(ZONE, "sleeper", "RUNNING", &[]);
    let instances = compute.instances();

    let op = instances.suspend(ZONE, "sleeper").send().await.unwrap();
    assert_eq!(op.resource().operation_type.as_deref(), Some("suspend"));
    assert_eq!(fake.instance_status(ZONE, "sleeper").as_deref(), Some("SUSPENDING"));
    let done = op.wait().await.unwrap();
    assert!(done.is_done() && done.target_link.as_deref().unwrap().ends_with("/instances/sleeper"));
    assert_eq!(instances.get(ZONE, "sleeper").send().await.unwrap().status, InstanceStatus::Suspended);

    // a suspended instance is resumed, not started: the service's 400 resourceNotReady, typed
    let e = instances.start(ZONE, "sleeper").send().await.unwrap_err();
    assert!(matches!(e, GceError::ResourceNotReady(_)), "{e:?}");
    instances.resume(ZONE, "sleeper").send().await.unwrap().result().await.unwrap();
    assert_eq!(instances.get(ZONE, "sleeper").send().await.unwrap().status, InstanceStatus::Running);

    let posts: Vec<_> = fake
        .mutating_requests()
        .into_iter()
        .filter(|r| r.path.ends_with("/sleeper/suspend") || r.path.ends_with("/sleeper/resume"))
        .collect();
    assert_eq!(posts.len(), 2);
    assert!(posts.iter().all(|r| r.method == "POST" && r.query_param("requestId").is_some()));
    assert!(fake.requests_to("POST", "/wait").len() >= 2, "operations were waited for with zoneOperations.wait");
}

/// `setLabels` / `setMetadata` carry the fingerprint read with the instance (read for the caller
/// when none is given); a stale one is Compute Engine's 412 `conditionNotMet`, typed.
#[tokio::test]
async fn set_labels_and_metadata_with_fingerprints_and_412_on_a_stale_one() {
    let Gce { fake, compute } = gce().await;
    fake.add_instance(ZONE, "lab", "RUNNING", &[("env", "dev")]);
    let instances = compute.instances();
    let before = instances.get(ZONE, "lab").send().await.unwrap();
    let stale_labels = before.label_fingerprint.clone().unwrap();
    let stale_metadata = before.metadata.fingerprint.clone().unwrap();

    // no fingerprint given: the builder reads the instance first
    fake.clear_requests();
    instances.set_labels(ZONE, "lab").label("team", "a").send().await.unwrap().wait().await.unwrap();
    let set = fake.requests_to("POST", "/instances/lab/setLabels");
    assert_eq!(set.len(), 1);
    assert_eq!(set[0].json(), json!({"labels": {"team": "a"}, "labelFingerprint": stale_labels}));
    assert_eq!(fake.requests_to("GET", "/instances/lab").len(), 1, "the fingerprint was read first");
    let after = instances.get(ZONE, "lab").send().await.unwrap();
    assert_eq!(after.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(), [("team", "a")]);
    assert_ne!(after.label_fingerprint.as_deref(), Some(stale_labels.as_str()));

    // the old fingerprint is stale now
    let e = instances.set_labels(ZONE, "lab").label("team", "b").fingerprint(&stale_labels).send().await.unwrap_err();
    assert!(matches!(e, GceError::PreconditionFailed(_)), "{e:?}");
    assert_eq!((e.status().map(|s| s.as_u16()), e.code()), (Some(412), Some("conditionNotMet")));
    assert_eq!(fake.instance_labels(ZONE, "lab").unwrap()["team"], "a");
    // the current one goes through
    let current = after.label_fingerprint.unwrap();
    instances
        .set_labels(ZONE, "lab")
        .label("team", "b")
        .fingerprint(current)
        .send()
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    assert_eq!(fake.instance_labels(ZONE, "lab").unwrap()["team"], "b");

    // metadata: the same rules
    instances
        .set_metadata(ZONE, "lab")
        .item("startup-script", "echo hi")
        .fingerprint(&stale_metadata)
        .send()
        .await
        .unwrap()
        .wait()
        .await
        .unwrap();
    let meta = instances.get(ZONE, "lab").send().await.unwrap().metadata;
    assert_eq!(meta.items.get("startup-script").map(String::as_str), Some("echo hi"));
    let sent = fake.requests_to("POST", "/instances/lab/setMetadata");
    assert_eq!(
        sent[0].json(),
        json!({"fingerprint": stale_metadata, "items": [{"key": "startup-script", "value": "echo hi"}]})
    );
    let e = instances.set_metadata(ZONE, "lab").item("a", "b").fingerprint(&stale_metadata).send().await.unwrap_err();
    assert!(matches!(e, GceError::PreconditionFailed(_)), "{e:?}");
    instances.set_metadata(ZONE, "lab").items([("a", "b")]).send().await.unwrap().wait().await.unwrap();
    let meta = instances.get(ZONE, "lab").send().await.unwrap().metadata;
    assert_eq!(meta.items.keys().collect::<Vec<_>>(), ["a"], "the call replaces every item");
    assert!(fake.mutating_requests().iter().all(|r| r.query_param("requestId").is_some()));
}

#[tokio::test]
async fn a_duplicate_insert_is_409_already_exists() {
    let Gce { fake, compute } = gce().await;
    fake.add_instance(ZONE, "taken", "RUNNING", &[]);
    let e = compute.instances().insert(ZONE, InstanceDefinition::new("taken", "e2-micro")).send().await.unwrap_err();
    assert!(matches!(e, GceError::AlreadyExists(_)), "{e:?}");
    assert_eq!((e.status().map(|s| s.as_u16()), e.code()), (Some(409), Some("alreadyExists")));
    assert!(e.message().unwrap().contains(&format!("projects/{PROJECT}/zones/{ZONE}/instances/taken")), "{e}");
    assert!(!e.is_retryable());
    assert_eq!(fake.requests_to("POST", &format!("/zones/{ZONE}/instances")).len(), 1, "a 409 is not retried");
    assert_eq!(fake.operations_started(), 0);
}

/// The operation is created (HTTP 200) and ends `DONE` with `error.errors`: `wait()` is the typed
/// `OperationFailed` with every entry, and the instance is as before (no instance for an insert).
#[tokio::test]
async fn an_operation_ending_in_error_is_operation_failed() {
    let Gce { fake, compute } = gce().await;
    let message = "The zone 'projects/ck-fake-project/zones/us-central1-a' does not have enough resources available \
                   to fulfill the request.";
    fake.fail_next_operation("ZONE_RESOURCE_POOL_EXHAUSTED", message, 503);
    let op = compute
        .instances()
        .insert(ZONE, InstanceDefinition::new("ck-fail", "e2-micro").label("env", "ci"))
        .send()
        .await
        .unwrap();
    let e = op.wait().await.unwrap_err();
    assert!(matches!(e, GceError::OperationFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("ZONE_RESOURCE_POOL_EXHAUSTED"));
    assert_eq!(e.status().map(|s| s.as_u16()), Some(503), "the httpErrorStatusCode");
    assert!(!e.is_retryable());
    let errors = e.operation_errors().unwrap();
    assert_eq!(errors.errors.len(), 1);
    assert_eq!(errors.errors[0].message.as_deref(), Some(message));
    assert_eq!(errors.http_error_status_code, Some(503));
    assert!(e.to_string().contains("does not have enough resources"), "{e}");
    assert_eq!(fake.instance_status(ZONE, "ck-fail"), None, "a failed insert leaves no instance");
}

// ---------------------------------------------------------------------------------------------
// Waiters and operation deadlines
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn running_stopped_terminated_and_deleted_waiters() {
    let Gce { fake, compute } = gce().await;
    let instances = compute.instances();
    // insert without waiting for the operation; the waiter polls instances.get until RUNNING
    let vm = InstanceDefinition::new("ck-wait", "e2-micro").startup_script("#! /bin/bash\necho hi");
    let _operation = instances.insert(ZONE, vm).send().await.unwrap();
    let running = instances.wait_until_running(ZONE, "ck-wait").config(fast_waiter()).wait().await.unwrap();
    assert_eq!(running.output().unwrap().status, InstanceStatus::Running);
    assert!(running.attempts >= 2, "PROVISIONING/STAGING first: {} polls", running.attempts);

    // on its way down, the running waiter fails at once (STOPPING), as EC2's does on stopping
    let _operation = instances.stop(ZONE, "ck-wait").send().await.unwrap();
    let e = instances.wait_until_running(ZONE, "ck-wait").config(fast_waiter()).wait().await.unwrap_err();
    match &e {
        WaiterError::FailureState { last: Ok(i), attempts, .. } => {
            assert_eq!((i.status.clone(), *attempts), (InstanceStatus::Stopping, 1));
        }
        other => panic!("expected the failure state, got {other:?}"),
    }
    let stopped = instances.wait_until_stopped(ZONE, "ck-wait").config(fast_waiter()).wait().await.unwrap();
    assert_eq!(stopped.output().unwrap().status, InstanceStatus::Terminated);
    let terminated = instances.wait_until_terminated(ZONE, "ck-wait").config(fast_waiter()).wait().await.unwrap();
    assert_eq!(terminated.attempts, 1, "already TERMINATED");

    // a waiter that never gets there ends at its deadline, naming the waiter and the last status
    let e = instances
        .wait_until_running(ZONE, "ck-wait")
        .config(fast_waiter().max_wait(Duration::from_millis(200)))
        .wait()
        .await
        .unwrap_err();
    assert!(matches!(&e, WaiterError::Timeout { last: Ok(i), .. } if i.status == InstanceStatus::Terminated), "{e:?}");
    assert!(e.to_string().contains("InstanceRunning"), "{e}");

    let _operation = instances.delete(ZONE, "ck-wait").send().await.unwrap();
    let gone = instances.wait_until_deleted(ZONE, "ck-wait").config(fast_waiter()).wait().await.unwrap();
    assert!(gone.result.as_ref().is_err_and(GceError::is_not_found), "{:?}", gone.result);
    assert_eq!(fake.instance_status(ZONE, "ck-wait"), None);
    assert!(fake.requests_to("GET", "/instances/ck-wait").len() >= 6, "the waiters poll instances.get");
}

/// `zoneOperations.wait` is held by the service while the operation runs (up to about 2 minutes);
/// the fake holds it 30 s here. `Operation::wait` with a 1 s deadline returns at the deadline with
/// the waiter's timeout instead of waiting for the held call (which would take 30 s).
#[tokio::test]
async fn a_held_wait_call_ends_at_the_operations_deadline_with_the_waiter_timeout() {
    let Gce { fake, compute } = gce().await;
    fake.add_instance(ZONE, "slow", "RUNNING", &[]);
    fake.set_polls_to_done(1_000);
    fake.hold_wait_calls(Some(Duration::from_secs(30)));
    let op = compute.instances().stop(ZONE, "slow").send().await.unwrap();
    let started = Instant::now();
    let e = op.max_wait(Duration::from_secs(1)).wait().await.unwrap_err();
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(1) && took < Duration::from_secs(5), "returned after {took:?}");
    assert!(matches!(e, GceError::WaitTimeout(_)), "{e:?}");
    assert_eq!(e.core().unwrap().kind(), ErrorKind::Timeout);
    let text = e.to_string();
    assert!(text.contains(OPERATION_WAITER) && text.contains("timed out"), "{text}");
    assert_eq!(fake.requests_to("POST", "/wait").len(), 1, "one wait call, cut at the deadline");
    assert_eq!(fake.instance_status(ZONE, "slow").as_deref(), Some("STOPPING"), "the operation goes on");
}

// ---------------------------------------------------------------------------------------------
// Throttling
// ---------------------------------------------------------------------------------------------

/// 429 `rateLimitExceeded` is retried by the pipeline (honouring `Retry-After`); when it persists
/// past the attempts, the call is the typed `Throttled`.
#[tokio::test]
async fn throttling_is_retried_then_throttled() {
    let fake = GceFake::start().unwrap();
    let config = GcpConfig::loader().env(fake.gcp_env()).load().await.unwrap();
    let retry = RetryConfig::standard()
        .with_max_attempts(3)
        .with_initial_backoff(Duration::from_millis(5))
        .with_max_backoff(Duration::from_millis(20));
    let compute = ComputeClient::builder(&config).retry(retry).build().unwrap();

    fake.throttle_next(2, Some(0));
    let zones = compute.zones().list().send().await.unwrap();
    assert!(!zones.items.is_empty());
    assert_eq!(fake.requests_to("GET", "/zones").len(), 3, "two 429s retried, then the answer");

    fake.clear_requests();
    fake.throttle_next(10, None);
    let e = compute.zones().list().send().await.unwrap_err();
    assert!(matches!(e, GceError::Throttled(_)), "{e:?}");
    assert!(e.is_throttling());
    assert_eq!((e.status().map(|s| s.as_u16()), e.code()), (Some(429), Some("rateLimitExceeded")));
    assert_eq!(fake.requests_to("GET", "/zones").len(), 3, "three attempts");
    assert!(e.to_string().contains("Rate Limit Exceeded"), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn zones_and_machine_types_list_across_pages() {
    let Gce { fake, compute } = gce().await;
    let zones: Vec<_> = compute.zones().list().into_items(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(zones.iter().map(|z| z.name.as_str()).collect::<Vec<_>>(), ZONES);
    assert!(zones.iter().all(|z| z.status.as_deref() == Some("UP")));
    assert!(zones[0].region.as_deref().unwrap().ends_with("/regions/us-central1"));
    assert!(fake.requests_to("GET", "/zones").len() >= 2, "3 zones, 2 per page");

    let types: Vec<_> =
        compute.machine_types().list(ZONE).into_items(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(types.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), MACHINE_TYPES.map(|m| m.0));
    let small = types.iter().find(|t| t.name == "n2-standard-4").unwrap();
    assert_eq!((small.guest_cpus, small.memory_mb), (Some(4), Some(16_384)));
    let pages = fake.requests_to("GET", &format!("/zones/{ZONE}/machineTypes"));
    assert!(pages.len() >= 3, "5 types, 2 per page: {}", pages.len());
    assert!(pages[1..].iter().all(|r| r.query_param("pageToken").is_some()));

    let e = compute.machine_types().list("mars-north1-a").send().await.unwrap_err();
    assert_eq!((e.status().map(|s| s.as_u16()), e.code()), (Some(400), Some("invalid")), "{e}");
}

/// `instances.aggregatedList` across several pages (an empty one included), flattened to
/// `(zone, instance)`, with the filter sent on every page.
#[tokio::test]
async fn aggregated_list_pages_across_zones() {
    let Gce { fake, compute } = gce().await;
    let placed = [
        ("us-central1-a", "a-1"),
        ("us-central1-a", "a-2"),
        ("us-central1-b", "b-1"),
        ("europe-west1-b", "e-1"),
        ("europe-west1-b", "e-2"),
    ];
    for (zone, name) in placed {
        fake.add_instance(zone, name, "RUNNING", &[("env", "ci")]);
    }
    fake.add_instance("us-central1-b", "b-dev", "TERMINATED", &[("env", "dev")]);

    let pages: Vec<_> =
        compute.instances().aggregated_list().into_pages(PaginationConfig::default()).try_collect().await.unwrap();
    assert!(pages.len() > 1, "6 instances, 2 per page: {} pages", pages.len());
    assert!(pages.iter().any(|p| p.items.is_empty()), "an empty page with a token is followed");
    let mut all: Vec<(String, String)> =
        pages.into_iter().flat_map(|p| p.items).map(|(zone, i)| (zone, i.name)).collect();
    all.sort();
    assert_eq!(all.len(), 6);
    assert!(all.contains(&("europe-west1-b".to_owned(), "e-2".to_owned())), "{all:?}");

    fake.clear_requests();
    let ci: Vec<_> = compute
        .instances()
        .aggregated_list()
        .filter("labels.env = \"ci\"")
        .into_items(PaginationConfig::default())
        .try_collect()
        .await
        .unwrap();
    let mut got: Vec<(&str, &str)> = ci.iter().map(|(z, i)| (z.as_str(), i.name.as_str())).collect();
    got.sort_unstable();
    let mut want = placed.to_vec();
    want.sort_unstable();
    assert_eq!(got, want);
    let requests = fake.requests_to("GET", "/aggregated/instances");
    assert!(requests.len() > 1, "{} pages", requests.len());
    assert!(requests.iter().all(|r| r.query_param("filter") == Some("labels.env = \"ci\"")));
    assert!(requests[1..].iter().all(|r| r.query_param("pageToken").is_some()));
    assert_all_compute_requests_bearer(&fake);
}
