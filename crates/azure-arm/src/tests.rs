//! Unit tests against `ReplayHttp` canned responses.
//!
//! The canned answers are Microsoft's documented example responses (the `x-ms-example` files of
//! `Azure/azure-rest-api-specs` in `src/testdata/`, see its README and SOURCES.json), not a live
//! service: each test builds a request, checks its method, path, query (api-version!) and body
//! against the example's `parameters`, then feeds the example's `responses[code]` (status,
//! headers, body) back. Where no example exists (ResourceGroups_List and CheckExistence, the
//! Azure-AsyncOperation status body, error bodies, paging across pages, throttling) the answers
//! follow the shapes of the specs and the ARM RPC quoted in `src/testdata/ARM-REFERENCE.md`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cloudkit_core::testing::{Canned, RecordedRequest, ReplayHttp};
use cloudkit_core::{ErrorKind, Method, RetryConfig};
use cloudkit_cred_chain::azure::{AzureEnv, TokenCredential};
use cloudkit_paginate::PaginationConfig;
use futures::TryStreamExt;
use serde_json::{Value, json};

use cloudkit_waiter::testing::fast_config;

use crate::*;

const SUB: &str = "00000000-0000-0000-0000-000000000000";
const BASE: &str = "https://management.azure.com";

/// A token credential that hands out a fixed token and counts the requests for one.
#[derive(Debug, Default)]
pub(crate) struct FixedToken {
    calls: AtomicUsize,
}

#[async_trait::async_trait]
impl TokenCredential for FixedToken {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        assert_eq!(scopes, ["https://management.azure.com/.default"]);
        self.calls.fetch_add(1, Ordering::SeqCst);
        Ok(azure_core::credentials::AccessToken::new(
            azure_core::credentials::Secret::new("SECRET-TOKEN"),
            time::OffsetDateTime::now_utc() + Duration::from_secs(3600),
        ))
    }
}

pub(crate) async fn config(http: &Arc<ReplayHttp>) -> AzureConfig {
    AzureConfig::loader()
        .env(AzureEnv::from_pairs([("AZURE_SUBSCRIPTION_ID", SUB)]))
        .credential(Arc::new(FixedToken::default()))
        .http(http.clone())
        .load()
        .await
        .unwrap()
}

pub(crate) async fn client(http: &Arc<ReplayHttp>) -> ArmClient {
    ArmClient::builder(&config(http).await).lro_config(fast_config()).build().unwrap()
}

fn example(name: &str) -> Value {
    let text = match name {
        "ResourceGroups_Get" => include_str!("testdata/ResourceGroups_Get.json"),
        "ResourceGroups_CreateOrUpdate" => include_str!("testdata/ResourceGroups_CreateOrUpdate.json"),
        "ResourceGroups_Delete" => include_str!("testdata/ResourceGroups_Delete.json"),
        "Subscriptions_Get" => include_str!("testdata/Subscriptions_Get.json"),
        "Subscriptions_List" => include_str!("testdata/Subscriptions_List.json"),
        "VirtualMachines_CreateOrUpdate" => include_str!("testdata/VirtualMachines_CreateOrUpdate.json"),
        "VirtualMachines_Deallocate" => include_str!("testdata/VirtualMachines_Deallocate.json"),
        "VirtualMachines_Deallocate.hibernate" => include_str!("testdata/VirtualMachines_Deallocate.hibernate.json"),
        "VirtualMachines_Delete" => include_str!("testdata/VirtualMachines_Delete.json"),
        "VirtualMachines_Get" => include_str!("testdata/VirtualMachines_Get.json"),
        "VirtualMachines_InstanceView" => include_str!("testdata/VirtualMachines_InstanceView.json"),
        "VirtualMachines_List" => include_str!("testdata/VirtualMachines_List.json"),
        "VirtualMachines_ListAll" => include_str!("testdata/VirtualMachines_ListAll.json"),
        "VirtualMachines_PowerOff" => include_str!("testdata/VirtualMachines_PowerOff.json"),
        "VirtualMachines_PowerOff.skipShutdown" => include_str!("testdata/VirtualMachines_PowerOff.skipShutdown.json"),
        "VirtualMachines_Restart" => include_str!("testdata/VirtualMachines_Restart.json"),
        "VirtualMachines_Start" => include_str!("testdata/VirtualMachines_Start.json"),
        other => panic!("no example {other}"),
    };
    serde_json::from_str(text).unwrap()
}

/// The example's `responses[code]` as a canned answer (status, headers, body).
fn response(example: &Value, code: &str) -> Canned {
    let r = &example["responses"][code];
    assert!(!r.is_null(), "the example has no {code} response");
    let body = match r.get("body") {
        Some(b) => serde_json::to_vec(b).unwrap(),
        None => Vec::new(),
    };
    let mut canned = Canned::status(code.parse().unwrap(), body);
    if let Some(headers) = r.get("headers").and_then(Value::as_object) {
        for (k, v) in headers {
            canned = canned.with_header(k, v.as_str().unwrap());
        }
    }
    canned.with_header("x-ms-request-id", "req-1").with_header("x-ms-correlation-request-id", "corr-1")
}

fn json_canned(status: u16, body: Value) -> Canned {
    Canned::status(status, serde_json::to_vec(&body).unwrap())
}

/// Method, path and api-version of a request against the example's parameters.
fn check(r: &RecordedRequest, method: Method, path: &str, example: &Value) {
    assert_eq!(r.method, method, "{}", r.url);
    assert_eq!(r.url.path(), path);
    assert_eq!(r.query("api-version").as_deref(), example["parameters"]["api-version"].as_str(), "{}", r.url);
    let auth = r.headers.get("authorization").unwrap().to_str().unwrap();
    assert_eq!(auth, "Bearer SECRET-TOKEN");
    assert!(r.headers.get("x-ms-version").is_none(), "no Storage headers on ARM requests");
}

fn vm_path(rg: &str, vm: &str) -> String {
    format!("/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}")
}

// ---------------------------------------------------------------------------------------------
// construction

#[tokio::test]
async fn the_client_is_built_from_the_config_with_overrides() {
    let http = Arc::new(ReplayHttp::new());
    let config = config(&http).await;
    assert!(config.blob_endpoint().is_none(), "no storage account needed");
    let rm = ArmClient::new(&config).unwrap();
    assert_eq!(rm.endpoint().as_str(), "https://management.azure.com/");
    assert_eq!(rm.subscription_id(), Some(SUB));
    assert_eq!(rm.lro_config(), &default_lro_config());
    assert!(Arc::ptr_eq(rm.pipeline().quota(), &config.retry_quota()));
    let other = ArmClient::builder(&config)
        .subscription_id("other")
        .retry(RetryConfig::disabled())
        .endpoint("https://management.chinacloudapi.cn/?x=1".parse().unwrap())
        .build()
        .unwrap();
    assert_eq!(other.subscription_id(), Some("other"));
    assert_eq!(other.endpoint().as_str(), "https://management.chinacloudapi.cn/");
    assert_eq!(other.pipeline().retry_config().max_attempts(), 1);
    assert_eq!(rm.with_subscription("s2").subscription_id(), Some("s2"));
    // Plain http only to an explicitly allowed loopback fake.
    let e = ArmClient::builder(&config).endpoint("http://127.0.0.1:9/".parse().unwrap()).build().unwrap_err();
    assert!(e.to_string().contains("https"), "{e}");
    let shown = format!("{rm:?} {config:?}");
    assert!(!shown.contains("SECRET-TOKEN"), "{shown}");
}

#[tokio::test]
async fn a_missing_subscription_or_name_is_an_input_error_and_nothing_is_sent() {
    let http = Arc::new(ReplayHttp::new());
    let config = AzureConfig::loader()
        .env(AzureEnv::from_pairs::<&str, &str>([]))
        .credential(Arc::new(FixedToken::default()))
        .http(http.clone())
        .load()
        .await
        .unwrap();
    let rm = ArmClient::new(&config).unwrap();
    let e = rm.resource_groups().get("rg").send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("AZURE_SUBSCRIPTION_ID"), "{e}");
    let rm = client(&http).await;
    let e = rm.virtual_machines().get("rg", " ").send().await.unwrap_err();
    assert!(e.to_string().contains("virtual machine name is empty"), "{e}");
    let e = rm.resources().get(format!("/subscriptions/{SUB}/resourceGroups/../x")).api_version("1").send().await;
    assert!(e.unwrap_err().to_string().contains("`..`"));
    let e = rm.resources().get("subscriptions/x").api_version("1").send().await.unwrap_err();
    assert!(e.to_string().contains("/subscriptions/"), "{e}");
    assert!(http.requests().is_empty());
}

// ---------------------------------------------------------------------------------------------
// subscriptions

#[tokio::test]
async fn subscriptions_list_and_get_from_the_examples() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let list = example("Subscriptions_List");
    http.push(response(&list, "200"));
    let page = rm.subscriptions().list().send().await.unwrap();
    check(&http.requests()[0], Method::GET, "/subscriptions", &list);
    assert_eq!(page.value.len(), 2);
    assert_eq!(page.value[0].subscription_id, "291bba3f-e0a5-47bc-a099-3bdcb2a50a05");
    assert_eq!(page.value[1].display_name, "Example Subscription2");
    assert_eq!(page.value[0].state.as_deref(), Some("Enabled"));
    assert_eq!(page.value[0].tags.get("tagKey1").map(String::as_str), Some("tagValue1"));
    assert_eq!(page.next_link.as_deref(), Some("http://nextlink"));
    // The example's nextLink is another origin (plain http, host `nextlink`): the token is not
    // sent there.
    http.push(response(&list, "200"));
    let e = rm.subscriptions().list().into_items(Default::default()).try_collect::<Vec<_>>().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), ErrorKind::Decode, "{e}");
    assert!(e.to_string().contains("another origin (http://nextlink)"), "{e}");
    assert_eq!(http.requests().len(), 2, "nothing sent to http://nextlink");

    let get = example("Subscriptions_Get");
    http.push(response(&get, "200"));
    let id = get["parameters"]["subscriptionId"].as_str().unwrap();
    let sub = rm.subscriptions().get(id).send().await.unwrap();
    check(&http.requests()[2], Method::GET, &format!("/subscriptions/{id}"), &get);
    assert_eq!(sub.subscription_id, id);
}

// ---------------------------------------------------------------------------------------------
// resource groups

#[tokio::test]
async fn resource_group_get_create_update_exists_from_the_examples() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let get = example("ResourceGroups_Get");
    http.push(response(&get, "200"));
    let rg = rm.resource_groups().get("my-resource-group").send().await.unwrap();
    check(&http.requests()[0], Method::GET, &format!("/subscriptions/{SUB}/resourcegroups/my-resource-group"), &get);
    assert_eq!((rg.name.as_str(), rg.location.as_str()), ("my-resource-group", "westus2"));
    assert_eq!(rg.provisioning_state(), Some("Succeeded"));

    let create = example("ResourceGroups_CreateOrUpdate");
    for code in ["201", "200"] {
        http.push(response(&create, code));
        let rg = rm.resource_groups().create_or_update("my-resource-group", "eastus").send().await.unwrap();
        assert_eq!(rg.location, "eastus");
        let r = http.requests().pop().unwrap();
        check(&r, Method::PUT, &format!("/subscriptions/{SUB}/resourcegroups/my-resource-group"), &create);
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        assert_eq!(body, create["parameters"]["parameters"], "the example's request body");
        assert_eq!(r.headers.get("content-type").unwrap(), "application/json");
    }
    http.push(response(&create, "200"));
    rm.resource_groups().create_or_update("g", "eastus").tag("env", "dev").send().await.unwrap();
    let body: Value = serde_json::from_slice(&http.requests().pop().unwrap().body).unwrap();
    assert_eq!(body, json!({"location": "eastus", "tags": {"env": "dev"}}));

    // ResourceGroups_Update (tags): PATCH {"tags": …} (no example; shape from resources.json).
    http.push(response(&get, "200"));
    rm.resource_groups().update_tags("my-resource-group").tag("a", "b").send().await.unwrap();
    let r = http.requests().pop().unwrap();
    assert_eq!(r.method, Method::PATCH);
    assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap(), json!({"tags": {"a": "b"}}));

    // ResourceGroups_CheckExistence: HEAD, 204 = exists, 404 = not (no example; spec statuses).
    http.push(Canned::status(204, ""));
    http.push(Canned::status(404, ""));
    assert!(rm.resource_groups().exists("my-resource-group").send().await.unwrap());
    assert!(!rm.resource_groups().exists("gone").send().await.unwrap());
    let r = http.requests().pop().unwrap();
    assert_eq!(r.method, Method::HEAD);
    assert_eq!(r.url.path(), format!("/subscriptions/{SUB}/resourcegroups/gone"));
    assert_eq!(r.query("api-version").as_deref(), Some(RESOURCES_API_VERSION));
}

#[tokio::test]
async fn resource_group_list_sends_the_tag_filter_and_top() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let get = example("ResourceGroups_Get");
    let body = json!({ "value": [get["responses"]["200"]["body"]] });
    http.push(json_canned(200, body));
    let page = rm.resource_groups().list().tag("env", "it's").top(5).send().await.unwrap();
    assert_eq!(page.value[0].name, "my-resource-group");
    let r = &http.requests()[0];
    assert_eq!(r.url.path(), format!("/subscriptions/{SUB}/resourcegroups"));
    assert_eq!(r.query("api-version").as_deref(), Some("2025-04-01"));
    assert_eq!(r.query("$filter").as_deref(), Some("tagName eq 'env' and tagValue eq 'it''s'"));
    assert_eq!(r.query("$top").as_deref(), Some("5"));
    assert!(r.url.as_str().contains("tagName%20eq%20"), "spaces as %20: {}", r.url);
}

#[tokio::test]
async fn paging_follows_next_link_across_three_pages_including_an_empty_one() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let rg = |name: &str| json!({"id": format!("/subscriptions/{SUB}/resourceGroups/{name}"), "name": name, "location": "westus"});
    let next2 = format!("{BASE}/subscriptions/{SUB}/resourcegroups?api-version=2025-04-01&%24skiptoken=AAA%3D%3D");
    let next3 = format!("{BASE}/subscriptions/{SUB}/resourcegroups?api-version=2025-04-01&$skiptoken=BBB");
    http.push(json_canned(200, json!({"value": [rg("a"), rg("b")], "nextLink": next2})));
    http.push(json_canned(200, json!({"value": [], "nextLink": next3})));
    http.push(json_canned(200, json!({"value": [rg("c")], "nextLink": null})));
    let names: Vec<String> = rm
        .resource_groups()
        .list()
        .into_items(PaginationConfig::default())
        .map_ok(|g| g.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names, ["a", "b", "c"]);
    let requests = http.requests();
    assert_eq!(requests.len(), 3);
    assert_eq!(requests[1].url.as_str(), next2, "followed exactly as given");
    assert_eq!(requests[2].url.as_str(), next3);
    assert!(requests.iter().all(|r| r.headers.contains_key("authorization")));

    // pages, and a repeated nextLink is a Pagination error instead of a loop
    http.push(json_canned(200, json!({"value": [rg("a")], "nextLink": next2})));
    http.push(json_canned(200, json!({"value": [], "nextLink": next2})));
    let e = rm.resource_groups().list().into_pages(PaginationConfig::default()).try_collect::<Vec<_>>().await;
    assert!(matches!(e, Err(ArmError::Pagination(_))), "{e:?}");
}

#[tokio::test]
async fn resource_group_delete_from_the_example_polls_location_202_202_200() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let delete = example("ResourceGroups_Delete");
    let location = delete["responses"]["202"]["headers"]["location"].as_str().unwrap().to_owned();
    http.push(response(&delete, "202"));
    http.push(Canned::status(202, "").with_header("Location", &location).with_header("Retry-After", "1"));
    http.push(Canned::status(202, ""));
    http.push(response(&delete, "200"));
    rm.resource_groups().delete("my-resource-group").force_delete_virtual_machines().send().await.unwrap();
    let requests = http.requests();
    assert_eq!(requests.len(), 4);
    check(&requests[0], Method::DELETE, &format!("/subscriptions/{SUB}/resourcegroups/my-resource-group"), &delete);
    assert_eq!(requests[0].query("forceDeletionTypes").as_deref(), Some("Microsoft.Compute/virtualMachines"));
    for r in &requests[1..] {
        assert_eq!(r.method, Method::GET);
        assert_eq!(r.url.as_str(), location, "the Location URL, as given");
    }

    // begin(): the poller can be inspected and dropped; a 200 needs no polling.
    http.push(response(&delete, "200"));
    let poller = rm.resource_groups().delete("g").begin().await.unwrap();
    assert!(poller.is_done());
    assert_eq!(poller.initial_status(), 200);
    drop(poller);
    assert_eq!(http.remaining(), 0);
}

// ---------------------------------------------------------------------------------------------
// virtual machines

#[tokio::test]
async fn vm_list_list_all_get_and_instance_view_from_the_examples() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let vms = rm.virtual_machines();

    let list = example("VirtualMachines_List");
    http.push(response(&list, "200"));
    let page = vms.list("rgcompute").send().await.unwrap();
    check(
        &http.requests()[0],
        Method::GET,
        &format!("/subscriptions/{SUB}/resourceGroups/rgcompute/providers/Microsoft.Compute/virtualMachines"),
        &list,
    );
    assert_eq!(page.value.len(), 2);
    assert_eq!(page.value[0].location, "eastus");
    assert_eq!(page.value[0].resource_group(), Some("rgcompute"));

    let all = example("VirtualMachines_ListAll");
    http.push(response(&all, "200"));
    let items: Vec<VirtualMachine> = vms.list_all().into_items(Default::default()).try_collect().await.unwrap();
    assert!(!items.is_empty());
    check(
        &http.requests()[1],
        Method::GET,
        &format!("/subscriptions/{SUB}/providers/Microsoft.Compute/virtualMachines"),
        &all,
    );

    http.push(response(&list, "200"));
    vms.list("rg").expand_instance_view().send().await.unwrap();
    assert_eq!(http.requests()[2].query("$expand").as_deref(), Some("instanceView"));
    assert_eq!(page.value[0].subscription_id(), Some("{subscriptionId}"));
    http.push(response(&all, "200"));
    vms.list_all().expand_instance_view().status_only(true).send().await.unwrap();
    let r = http.requests().pop().unwrap();
    assert_eq!((r.query("$expand").as_deref(), r.query("statusOnly").as_deref()), (Some("instanceView"), Some("true")));

    let get = example("VirtualMachines_Get");
    http.push(response(&get, "200"));
    let vm = vms.get("myResourceGroup", "myVM").expand("userData").send().await.unwrap();
    let r = &http.requests()[4];
    check(r, Method::GET, &vm_path("myResourceGroup", "myVM"), &get);
    assert_eq!(r.query("$expand").as_deref(), Some("userData"));
    assert_eq!(vm.name, "myVM");
    assert_eq!(vm.location, "West US");
    assert_eq!(vm.vm_size.as_deref(), Some("Standard_DS3_v2"));
    assert_eq!(vm.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(vm.computer_name.as_deref(), Some("myVM"));
    assert_eq!(vm.admin_username.as_deref(), Some("admin"));
    assert_eq!(vm.os_type.as_deref(), Some("Windows"));
    assert_eq!(
        vm.image_reference,
        Some(ImageReference::marketplace("MicrosoftWindowsServer", "WindowsServer", "2016-Datacenter", "latest"))
    );
    assert_eq!(vm.network_interface_ids.len(), 1);
    assert!(vm.network_interface_ids[0].ends_with("/networkInterfaces/{myNIC}"));
    assert_eq!(vm.tags.get("myTag1").map(String::as_str), Some("tagValue1"));
    let created = vm.time_created.unwrap().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(created, 1_624_755_758, "2021-06-27T01:02:38Z");
    assert!(vm.power_state().is_none(), "no instance view in the example");

    let view = example("VirtualMachines_InstanceView");
    http.push(response(&view, "200"));
    let iv = vms.instance_view("myResourceGroup", "myVM").send().await.unwrap();
    check(&http.requests()[5], Method::GET, &(vm_path("myResourceGroup", "myVM") + "/instanceView"), &view);
    assert_eq!(iv.power_state(), Some(PowerState::Running));
    assert_eq!(iv.provisioning_state(), Some("succeeded"));
    assert_eq!(iv.computer_name.as_deref(), Some("myVM"));
    assert!(iv.statuses.iter().any(|s| s.time.is_some()));
}

#[test]
fn power_states_and_provisioning_states_come_from_the_status_codes() {
    for (code, state) in [
        ("PowerState/starting", PowerState::Starting),
        ("PowerState/running", PowerState::Running),
        ("PowerState/stopping", PowerState::Stopping),
        ("PowerState/stopped", PowerState::Stopped),
        ("PowerState/deallocating", PowerState::Deallocating),
        ("PowerState/deallocated", PowerState::Deallocated),
        ("PowerState/hibernated", PowerState::Unknown("hibernated".into())),
    ] {
        assert_eq!(PowerState::from_code(code), Some(state.clone()));
        assert_eq!(code.split('/').nth(1), Some(state.as_str()));
    }
    let view: VirtualMachineInstanceView = serde_json::from_value(json!({"statuses": [
        {"code": "ProvisioningState/failed/InternalOperationError"}, {"code": "PowerState/stopped"}
    ]}))
    .unwrap();
    assert_eq!(view.provisioning_state(), Some("failed"));
    assert_eq!(view.power_state(), Some(PowerState::Stopped));
}

/// Every VM action example: the request against the parameters, the 202 (Location followed as
/// given) and the 200 answer.
#[tokio::test]
async fn vm_actions_from_the_examples() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let vms = rm.virtual_machines();
    let cases: Vec<(&str, Method, &str, Option<&str>)> = vec![
        ("VirtualMachines_Start", Method::POST, "/start", None),
        ("VirtualMachines_PowerOff", Method::POST, "/powerOff", None),
        ("VirtualMachines_PowerOff.skipShutdown", Method::POST, "/powerOff", Some("skipShutdown")),
        ("VirtualMachines_Deallocate", Method::POST, "/deallocate", None),
        ("VirtualMachines_Deallocate.hibernate", Method::POST, "/deallocate", Some("hibernate")),
        ("VirtualMachines_Restart", Method::POST, "/restart", None),
        ("VirtualMachines_Delete", Method::DELETE, "", Some("forceDeletion")),
    ];
    // The generated examples' Location is a placeholder on another origin (`https://foo.com/…`):
    // the token is not sent there, the operation fails typed after the first request.
    let start = example("VirtualMachines_Start");
    let before = http.requests().len();
    http.push(response(&start, "202"));
    let e = vms.start("rg", "aaaaa").send().await.unwrap_err();
    assert!(e.to_string().contains("another origin (https://foo.com)"), "{e}");
    assert_eq!(http.requests().len(), before + 1, "nothing sent to foo.com");
    for (name, method, suffix, flag) in cases {
        let mut ex = example(name);
        // Placeholders moved onto ARM's origin, where real Location URLs are.
        for (key, value) in ex["responses"]["202"]["headers"].as_object_mut().into_iter().flatten() {
            if key.eq_ignore_ascii_case("location") {
                let moved = value.as_str().unwrap().replace("https://foo.com", "https://management.azure.com");
                *value = serde_json::Value::String(moved);
            }
        }
        let p = &ex["parameters"];
        let (rg, vm) = (p["resourceGroupName"].as_str().unwrap(), p["vmName"].as_str().unwrap());
        let action = |rg: &str, vm: &str| {
            let a = match name.split('.').next().unwrap() {
                "VirtualMachines_Start" => vms.start(rg, vm),
                "VirtualMachines_PowerOff" => vms.power_off(rg, vm).skip_shutdown(flag.is_some()),
                "VirtualMachines_Deallocate" => vms.deallocate(rg, vm).hibernate(flag.is_some()),
                "VirtualMachines_Restart" => vms.restart(rg, vm),
                _ => vms.delete(rg, vm).force_deletion(flag.is_some()),
            };
            assert_eq!(a.kind().operation(), name.split('.').next().unwrap());
            a
        };
        // 202 with the example's Location, then the Location answers 200.
        let location = ex["responses"]["202"]["headers"]
            .as_object()
            .and_then(|h| h.iter().find(|(k, _)| k.eq_ignore_ascii_case("location")))
            .map(|(_, v)| v.as_str().unwrap().to_owned())
            .unwrap();
        let before = http.requests().len();
        http.push(response(&ex, "202"));
        http.push(response(&ex, "200"));
        action(rg, vm).send().await.unwrap();
        let requests = &http.requests()[before..];
        assert_eq!(requests.len(), 2, "{name}");
        check(&requests[0], method.clone(), &(vm_path(rg, vm) + suffix), &ex);
        if let Some(flag) = flag {
            assert_eq!(requests[0].query(flag).as_deref(), Some("true"), "{name}");
        } else {
            assert_eq!(requests[0].url.query_pairs().count(), 1, "{name}: only api-version");
        }
        assert_eq!(requests[1].method, Method::GET);
        let expected = cloudkit_core::Url::parse(&location).unwrap();
        assert_eq!(requests[1].url, expected, "{name}: the Location as given");
        // A 200 first answer finishes at once.
        http.push(response(&ex, "200"));
        action(rg, vm).send().await.unwrap();
        assert_eq!(http.remaining(), 0);
    }
    // Delete of a VM that does not exist: 204.
    let ex = example("VirtualMachines_Delete");
    http.push(response(&ex, "204"));
    vms.delete("rg", "gone").send().await.unwrap();
}

#[tokio::test]
async fn vm_create_from_a_minimal_definition_polls_the_provisioning_state() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let ex = example("VirtualMachines_CreateOrUpdate");
    let wanted = &ex["parameters"]["parameters"];
    let image = &wanted["properties"]["storageProfile"]["imageReference"];
    let nic = wanted["properties"]["networkProfile"]["networkInterfaces"][0]["id"].as_str().unwrap();
    let definition = VirtualMachineDefinition::new("westus", "Standard_D1_v2")
        .image(ImageReference::marketplace(
            image["publisher"].as_str().unwrap(),
            image["offer"].as_str().unwrap(),
            image["sku"].as_str().unwrap(),
            image["version"].as_str().unwrap(),
        ))
        .admin_username("azureuser")
        .ssh_public_key("ssh-ed25519 AAAAC3Nza me@host")
        .network_interface_id(nic)
        .tag("env", "test");

    // 201 "Creating" (from the example), the resource polled: Creating, then Succeeded.
    let mut succeeded = ex["responses"]["200"]["body"].clone();
    succeeded["properties"]["provisioningState"] = json!("Succeeded");
    http.push(response(&ex, "201"));
    http.push(response(&ex, "200"));
    http.push(json_canned(200, succeeded));
    let vm =
        rm.virtual_machines().create_or_update("myResourceGroup", "myVM", definition.clone()).send().await.unwrap();
    assert_eq!(vm.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(vm.vm_size.as_deref(), Some("Standard_D1_v2"));
    let requests = http.requests();
    assert_eq!(requests.len(), 3);
    check(&requests[0], Method::PUT, &vm_path("myResourceGroup", "myVM"), &ex);
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    for pointer in [
        "/location",
        "/properties/hardwareProfile/vmSize",
        "/properties/storageProfile/imageReference",
        "/properties/storageProfile/osDisk/createOption",
        "/properties/storageProfile/osDisk/managedDisk",
        "/properties/networkProfile",
        "/properties/osProfile/computerName",
    ] {
        assert_eq!(body.pointer(pointer), wanted.pointer(pointer), "{pointer}");
    }
    assert_eq!(body["properties"]["osProfile"]["adminUsername"], "azureuser");
    assert_eq!(body["properties"]["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"], true);
    assert_eq!(
        body["properties"]["osProfile"]["linuxConfiguration"]["ssh"]["publicKeys"][0]["path"],
        "/home/azureuser/.ssh/authorized_keys"
    );
    assert_eq!(body["tags"], json!({"env": "test"}));
    for r in &requests[1..] {
        assert_eq!((r.method.clone(), r.url.path()), (Method::GET, vm_path("myResourceGroup", "myVM").as_str()));
    }

    // An incomplete definition is refused before anything is sent.
    let e = rm
        .virtual_machines()
        .create_or_update("rg", "vm", VirtualMachineDefinition::new("westus", "Standard_B1s"))
        .send()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("no image"), "{e}");
    assert_eq!(http.requests().len(), 3);
}

// ---------------------------------------------------------------------------------------------
// long-running operations

fn accepted(async_url: &str) -> Canned {
    Canned::status(202, "")
        .with_header("Azure-AsyncOperation", async_url)
        .with_header("Location", &format!("{BASE}/location/1"))
        .with_header("Retry-After", "0")
}

fn status(s: &str) -> Canned {
    json_canned(200, json!({"id": "op", "name": "op", "status": s, "startTime": "2026-12-02T10:00:00Z"}))
}

#[tokio::test]
async fn lro_azure_async_operation_in_progress_twice_then_succeeded() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let op_url = format!(
        "{BASE}/subscriptions/{SUB}/providers/Microsoft.Compute/locations/westus/operations/abc?api-version=2025-04-01"
    );
    http.push(accepted(&op_url));
    http.push(status("InProgress"));
    http.push(status("InProgress"));
    http.push(status("Succeeded"));
    let poller = rm.virtual_machines().restart("rg", "vm").begin().await.unwrap();
    assert_eq!(poller.async_operation_url(), Some(op_url.as_str()));
    assert_eq!(poller.resource(), "virtual machine rg/vm");
    poller.wait().await.unwrap();
    let requests = http.requests();
    assert_eq!(requests.len(), 4);
    assert!(requests[1..].iter().all(|r| r.url.as_str() == op_url), "polls the Azure-AsyncOperation URL");
}

#[tokio::test]
async fn lro_failed_and_canceled_operations_are_operation_failed_with_the_operation_error() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let op_url = format!("{BASE}/operations/1");
    http.push(accepted(&op_url));
    http.push(status("InProgress"));
    http.push(
        json_canned(
            200,
            json!({"status": "Failed", "error": {"code": "OSProvisioningTimedOut", "message": "OS Provisioning did not finish in the allotted time."}}),
        )
        .with_header("x-ms-request-id", "poll-req")
        .with_header("x-ms-correlation-request-id", "poll-corr"),
    );
    let e = rm.virtual_machines().start("rg", "vm").send().await.unwrap_err();
    assert!(matches!(e, ArmError::OperationFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("OSProvisioningTimedOut"));
    let text = e.to_string();
    assert!(text.contains("ended Failed") && text.contains("allotted time"), "{text}");
    assert!(text.contains("virtual machine rg/vm"), "{text}");
    assert_eq!(e.request_id(), Some("poll-req"));
    assert_eq!(e.correlation_id(), Some("poll-corr"));

    http.push(accepted(&op_url));
    http.push(json_canned(
        200,
        json!({"status": "Canceled", "error": {"code": "OperationCanceled", "message": "canceled by user"}}),
    ));
    let e = rm.resource_groups().delete("rg").send().await.unwrap_err();
    assert!(matches!(e, ArmError::OperationFailed(_)), "{e:?}");
    assert!(e.to_string().contains("ended Canceled"), "{e}");
    assert_eq!(e.code(), Some("OperationCanceled"));

    // A Location that answers with a CloudError: the operation failed.
    http.push(Canned::status(202, "").with_header("location", &format!("{BASE}/loc")));
    http.push(json_canned(500, json!({"error": {"code": "VMAgentStatusCommunicationError", "message": "agent"}})));
    let rm1 = ArmClient::builder(&config(&http).await)
        .lro_config(fast_config())
        .retry(RetryConfig::disabled())
        .build()
        .unwrap();
    let e = rm1.virtual_machines().deallocate("rg", "vm").send().await.unwrap_err();
    assert!(matches!(e, ArmError::OperationFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("VMAgentStatusCommunicationError"));

    // A PUT whose resource ends Failed.
    http.push(json_canned(201, json!({"id": "x", "properties": {"provisioningState": "Creating"}})));
    http.push(json_canned(200, json!({"id": "x", "properties": {"provisioningState": "Failed"}})));
    let id = format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sa");
    let e = rm.resources().create_or_update(&id, json!({"location": "westus"})).api_version("2024-01-01").send().await;
    let e = e.unwrap_err();
    assert!(matches!(e, ArmError::OperationFailed(_)) && e.to_string().contains("ended Failed"), "{e}");
}

#[tokio::test(start_paused = true)]
async fn lro_deadline_is_a_waiter_timeout_and_retry_after_is_honoured() {
    let http = Arc::new(ReplayHttp::new());
    let config = config(&http).await;
    let lro = WaiterConfig::new(Duration::from_millis(1), Duration::from_secs(600), Duration::from_secs(30));
    let rm = ArmClient::builder(&config).lro_config(lro).build().unwrap();
    let op_url = format!("{BASE}/operations/2");
    http.push(Canned::status(202, "").with_header("Azure-AsyncOperation", &op_url).with_header("Retry-After", "7"));
    http.push(status("InProgress").with_header("Retry-After", "3"));
    http.push(status("InProgress")); // no Retry-After: the RPC's 60 s, cut at the 30 s deadline
    http.push(status("InProgress"));
    let e = rm.virtual_machines().start("rg", "vm").send().await.unwrap_err();
    assert!(matches!(e, ArmError::WaitTimeout(_)), "{e:?}");
    let text = e.to_string();
    assert!(text.contains("waiter LongRunningOperation for virtual machine rg/vm timed out"), "{text}");
    let times = http.request_times();
    assert_eq!(times.len(), 4);
    assert_eq!(times[1] - times[0], Duration::from_secs(7), "Retry-After of the first answer");
    assert_eq!(times[2] - times[1], Duration::from_secs(3), "Retry-After of the poll");
    assert_eq!(times[3] - times[0], Duration::from_secs(30), "the last poll at the deadline");

    // max_delay caps a long Retry-After; a per-poller max_wait overrides the client's.
    http.push(Canned::status(202, "").with_header("Location", &op_url).with_header("Retry-After", "500"));
    http.push(Canned::status(200, ""));
    let start = tokio::time::Instant::now();
    let poller = rm.virtual_machines().restart("rg", "vm").begin().await.unwrap();
    poller
        .config(WaiterConfig::new(Duration::from_millis(1), Duration::from_secs(2), Duration::from_secs(60)))
        .wait()
        .await
        .unwrap();
    assert_eq!(tokio::time::Instant::now() - start, Duration::from_secs(2));
}

// ---------------------------------------------------------------------------------------------
// errors and retries

#[test]
fn the_error_parser_reads_every_arm_error_shape() {
    let parser = ArmErrorParser;
    let mut headers = cloudkit_core::HeaderMap::new();
    headers.insert("x-ms-request-id", "rid".parse().unwrap());
    headers.insert("x-ms-correlation-request-id", "cid".parse().unwrap());
    let status = cloudkit_core::StatusCode::NOT_FOUND;
    use cloudkit_core::ParseError;
    let d = parser.parse(status, &headers, br#"{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'x' could not be found.","details":[]}}"#);
    assert_eq!(d.code.as_deref(), Some("ResourceGroupNotFound"));
    assert_eq!(d.message.as_deref(), Some("Resource group 'x' could not be found. (correlation id cid)"));
    assert_eq!(d.request_id.as_deref(), Some("rid"));
    let d = parser.parse(status, &headers, br#"{"error":{"error":{"code":"SubscriptionNotFound","message":"nope"}}}"#);
    assert_eq!(d.code.as_deref(), Some("SubscriptionNotFound"), "the doubled error.error of the spec");
    let d = parser.parse(status, &headers, br#"{"code":"Flat","message":"flat","target":"vmName"}"#);
    assert_eq!(
        (d.code.as_deref(), d.message.as_deref()),
        (Some("Flat"), Some("flat (target vmName) (correlation id cid)"))
    );
    let d = parser.parse(status, &cloudkit_core::HeaderMap::new(), b"<html>bad gateway</html>");
    assert_eq!((d.code, d.message.as_deref()), (None, Some("<html>bad gateway</html>")));
    let d = parser.parse(status, &cloudkit_core::HeaderMap::new(), b"");
    assert_eq!((d.code, d.message), (None, None));
}

#[tokio::test]
async fn errors_are_typed_and_show_request_and_correlation_ids() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let not_found =
        json!({"error": {"code": "ResourceGroupNotFound", "message": "Resource group 'nope' could not be found."}});
    http.push(
        json_canned(404, not_found)
            .with_header("x-ms-request-id", "11111111-aaaa")
            .with_header("x-ms-correlation-request-id", "22222222-bbbb"),
    );
    let e = rm.resource_groups().get("nope").send().await.unwrap_err();
    assert!(matches!(e, ArmError::ResourceGroupNotFound(_)), "{e:?}");
    assert!(e.is_not_found());
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(e.request_id(), Some("11111111-aaaa"));
    assert_eq!(e.correlation_id(), Some("22222222-bbbb"));
    let text = e.to_string();
    assert!(text.starts_with("AzureARM.ResourceGroups_Get failed: HTTP 404 ResourceGroupNotFound"), "{text}");
    assert!(text.contains("request id 11111111-aaaa") && text.contains("correlation id 22222222-bbbb"), "{text}");

    let cases = [
        (401, "InvalidAuthenticationToken", "AuthenticationFailed"),
        (401, "ExpiredAuthenticationToken", "AuthenticationFailed"),
        (403, "AuthorizationFailed", "AuthorizationFailed"),
        (404, "ResourceNotFound", "ResourceNotFound"),
        (404, "SubscriptionNotFound", "NotFound"),
        (409, "Conflict", "Conflict"),
        (400, "InvalidParameter", "Other"),
    ];
    for (status, code, variant) in cases {
        // a 401 makes the bearer signer ask for a fresh token and the request go once more
        let sends = if status == 401 { 2 } else { 1 };
        for _ in 0..sends {
            http.push(json_canned(status, json!({"error": {"code": code, "message": "m"}})));
        }
        let before = http.requests().len();
        let e = rm.virtual_machines().get("rg", "vm").send().await.unwrap_err();
        assert_eq!(http.requests().len() - before, sends, "{code}");
        let got = format!("{e:?}");
        assert!(got.starts_with(variant), "{code}: {got}");
        assert_eq!(e.code(), Some(code));
        assert!(!e.to_string().contains("SECRET-TOKEN"));
    }
}

#[tokio::test(start_paused = true)]
async fn throttling_429_is_retried_after_retry_after_then_typed() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let throttled = || {
        json_canned(429, json!({"error": {"code": "SubscriptionRequestsThrottled", "message": "slow down"}}))
            .with_header("Retry-After", "2")
    };
    let get = example("ResourceGroups_Get");
    http.push(throttled());
    http.push(response(&get, "200"));
    rm.resource_groups().get("my-resource-group").send().await.unwrap();
    let times = http.request_times();
    assert_eq!(times[1] - times[0], Duration::from_secs(2), "Retry-After honoured by the pipeline");

    for _ in 0..3 {
        http.push(throttled());
    }
    let e = rm.resource_groups().get("g").send().await.unwrap_err();
    assert!(matches!(e, ArmError::Throttled(_)) && e.is_throttling(), "{e:?}");
    assert_eq!(http.requests().len(), 5);
}

#[tokio::test]
async fn every_request_carries_a_token_of_the_arm_scope() {
    let http = Arc::new(ReplayHttp::new());
    let credential = Arc::new(FixedToken::default());
    let config = AzureConfig::loader()
        .env(AzureEnv::from_pairs([("AZURE_SUBSCRIPTION_ID", SUB)]))
        .credential(credential.clone())
        .http(http.clone())
        .load()
        .await
        .unwrap();
    let rm = ArmClient::new(&config).unwrap();
    let get = example("ResourceGroups_Get");
    http.push(response(&get, "200"));
    http.push(response(&get, "200"));
    rm.resource_groups().get("a").send().await.unwrap();
    rm.resource_groups().get("b").send().await.unwrap();
    // FixedToken asserts the scope; caching is the credential's (cred-chain's sources cache per scope).
    assert_eq!(credential.calls.load(Ordering::SeqCst), 2);
    assert!(http.requests().iter().all(|r| r.headers.get("authorization").unwrap() == "Bearer SECRET-TOKEN"));
}

// ---------------------------------------------------------------------------------------------
// generic resources and providers

fn compute_provider() -> Value {
    json!({
        "id": format!("/subscriptions/{SUB}/providers/Microsoft.Compute"),
        "namespace": "Microsoft.Compute",
        "registrationState": "Registered",
        "resourceTypes": [
            {"resourceType": "virtualMachines", "locations": ["West US"],
             "apiVersions": ["2025-06-01-preview", "2025-04-01", "2024-11-01", "2024-07-01"]},
            {"resourceType": "virtualMachines/extensions", "apiVersions": ["2024-07-01"]}
        ]
    })
}

#[tokio::test]
async fn generic_resources_by_id_with_the_providers_newest_stable_api_version() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    http.push(json_canned(200, compute_provider()));
    let provider = rm.providers().get("Microsoft.Compute").send().await.unwrap();
    assert_eq!(http.requests()[0].url.path(), format!("/subscriptions/{SUB}/providers/Microsoft.Compute"));
    assert_eq!(http.requests()[0].query("api-version").as_deref(), Some("2025-04-01"));
    assert_eq!(provider.default_api_version("virtualMachines"), Some("2025-04-01"));
    assert_eq!(provider.default_api_version("VIRTUALMACHINES/extensions"), Some("2024-07-01"));
    assert_eq!(provider.default_api_version("disks"), None);

    let id = rm.resources().id("myResourceGroup", "Microsoft.Compute", "virtualMachines", "myVM").unwrap();
    assert_eq!(id, vm_path("myResourceGroup", "myVM"));
    // No api-version: the provider is asked first.
    http.push(json_canned(200, compute_provider()));
    http.push(response(&example("VirtualMachines_Get"), "200"));
    let vm = rm.resources().get(&id).send().await.unwrap();
    assert_eq!(vm["properties"]["hardwareProfile"]["vmSize"], "Standard_DS3_v2");
    let r = http.requests().pop().unwrap();
    assert_eq!((r.url.path(), r.query("api-version")), (id.as_str(), Some("2025-04-01".to_owned())));

    // PATCH answered 200 at once; DELETE 202 then the Location says 204.
    http.push(json_canned(200, json!({"id": id, "tags": {"a": "b"}})));
    let updated =
        rm.resources().update(&id, json!({"tags": {"a": "b"}})).api_version("2025-04-01").send().await.unwrap();
    assert_eq!(updated["tags"]["a"], "b");
    assert_eq!(http.requests().pop().unwrap().method, Method::PATCH);
    http.push(
        Canned::status(202, "").with_header("Location", &format!("{BASE}/loc/9")).with_header("Retry-After", "0"),
    );
    http.push(Canned::status(204, ""));
    let gone = rm.resources().delete(&id).api_version("2025-04-01").send().await.unwrap();
    assert_eq!(gone, Value::Null);

    // PUT with Azure-AsyncOperation: the status URL until Succeeded, then the resource (original URI).
    http.push(
        json_canned(201, json!({"id": id, "properties": {"provisioningState": "Creating"}}))
            .with_header("Azure-AsyncOperation", &format!("{BASE}/operations/put1")),
    );
    http.push(status("InProgress"));
    http.push(status("Succeeded"));
    http.push(json_canned(200, json!({"id": id, "properties": {"provisioningState": "Succeeded"}})));
    let poller = rm.resources().create_or_update(&id, json!({"location": "westus"})).api_version("2025-04-01").begin();
    let created = poller.await.unwrap().wait().await.unwrap();
    assert_eq!(created["properties"]["provisioningState"], "Succeeded");
    let requests = http.requests();
    let last4 = &requests[requests.len() - 4..];
    assert_eq!(last4[0].method, Method::PUT);
    assert_eq!(serde_json::from_slice::<Value>(&last4[0].body).unwrap(), json!({"location": "westus"}));
    assert_eq!(last4[1].url.path(), "/operations/put1");
    assert_eq!((last4[3].method.clone(), last4[3].url.path()), (Method::GET, id.as_str()));

    // Listing by type across the subscription, and in a resource group.
    http.push(json_canned(200, json!({"value": [{"id": id, "name": "myVM", "type": "Microsoft.Compute/virtualMachines", "location": "westus"}]})));
    let items: Vec<GenericResource> = rm
        .resources()
        .list()
        .resource_type("Microsoft.Compute/virtualMachines")
        .into_items(Default::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items[0].resource_type, "Microsoft.Compute/virtualMachines");
    let r = http.requests().pop().unwrap();
    assert_eq!(r.url.path(), format!("/subscriptions/{SUB}/resources"));
    assert_eq!(r.query("$filter").as_deref(), Some("resourceType eq 'Microsoft.Compute/virtualMachines'"));
    http.push(json_canned(200, json!({"value": []})));
    rm.resources().list_by_resource_group("rg").send().await.unwrap();
    assert_eq!(http.requests().pop().unwrap().url.path(), format!("/subscriptions/{SUB}/resourceGroups/rg/resources"));
}

// ---------------------------------------------------------------------------------------------
// waiters

fn view_with(power: &str) -> Canned {
    let mut body = example("VirtualMachines_InstanceView")["responses"]["200"]["body"].clone();
    body["statuses"] = json!([
        {"code": "ProvisioningState/succeeded", "level": "Info"},
        {"code": format!("PowerState/{power}"), "level": "Info"}
    ]);
    json_canned(200, body)
}

#[tokio::test(start_paused = true)]
async fn vm_waiters_on_the_instance_view() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let vms = rm.virtual_machines();
    http.push(view_with("starting"));
    http.push(view_with("starting"));
    http.push(view_with("running"));
    let done = vms.wait_until_running("rg", "vm").jitter_seed(1).wait().await.unwrap();
    assert_eq!(done.attempts, 3);
    assert_eq!(done.output().and_then(VirtualMachineInstanceView::power_state), Some(PowerState::Running));
    assert!(http.requests().iter().all(|r| r.url.path() == vm_path("rg", "vm") + "/instanceView"));

    http.push(view_with("deallocating"));
    http.push(view_with("deallocated"));
    vms.wait_until_deallocated("rg", "vm").wait().await.unwrap();
    http.push(view_with("stopped"));
    vms.wait_until_stopped("rg", "vm").wait().await.unwrap();

    http.push(view_with("deallocated"));
    let e = vms.wait_until_running("rg", "vm").wait().await.unwrap_err();
    assert!(matches!(e, WaiterError::FailureState { .. }), "{e}");
    assert!(e.to_string().contains("VirtualMachineRunning for virtual machine rg/vm"), "{e}");

    http.push(view_with("running"));
    http.push(json_canned(404, json!({"error": {"code": "ResourceNotFound", "message": "gone"}})));
    let done = vms.wait_until_deleted("rg", "vm").wait().await.unwrap();
    assert!(matches!(done.result, Err(ArmError::ResourceNotFound(_))));

    for _ in 0..3 {
        http.push(view_with("starting"));
    }
    let e = vms.wait_until_running("rg", "vm").max_attempts(3).wait().await.unwrap_err();
    assert!(matches!(e, WaiterError::MaxAttemptsExceeded { attempts: 3, .. }), "{e}");
    http.push(view_with("starting"));
    http.push(view_with("starting"));
    let e = vms.wait_until_running("rg", "vm").max_wait(Duration::from_secs(20)).wait().await.unwrap_err();
    assert!(matches!(e, WaiterError::Timeout { .. }), "{e}");
    assert_eq!(http.remaining(), 0);
}

#[test]
fn api_version_choice_and_resource_types() {
    assert_eq!(newest_api_version(["2015-01-01", "2024-01-01-preview"]), Some("2015-01-01"));
    assert_eq!(newest_api_version([]), None);
    assert_eq!(
        resource_type_of(
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm/extensions/e"
        ),
        Some(("Microsoft.Compute".to_owned(), "virtualMachines/extensions".to_owned()))
    );
    assert_eq!(
        resource_type_of("/subscriptions/s/resourceGroups/rg"),
        Some(("Microsoft.Resources".to_owned(), "resourceGroups".to_owned()))
    );
    assert_eq!(resource_type_of("/subscriptions/s"), None);
    let _: BTreeMap<String, String> = BTreeMap::new();
}

// ---------------------------------------------------------------------------------------------
// issue 17 follow-ups: the endpoint override's token scope, generic POST actions, VM tags

/// A token credential that records the scopes it is asked for.
#[derive(Debug, Default)]
struct ScopeRecorder {
    scopes: std::sync::Mutex<Vec<String>>,
}

#[async_trait::async_trait]
impl TokenCredential for ScopeRecorder {
    async fn get_token(
        &self,
        scopes: &[&str],
        _: Option<azure_core::credentials::TokenRequestOptions<'_>>,
    ) -> azure_core::Result<azure_core::credentials::AccessToken> {
        self.scopes.lock().unwrap().push(scopes.join(" "));
        Ok(azure_core::credentials::AccessToken::new(
            azure_core::credentials::Secret::new("SECRET-TOKEN"),
            time::OffsetDateTime::now_utc() + Duration::from_secs(3600),
        ))
    }
}

/// `ArmClient::builder(..).endpoint(url)` asks for the endpoint's own token audience unless the
/// loader named the scope (a sovereign cloud reached through the builder alone).
#[tokio::test]
async fn an_endpoint_override_asks_for_its_own_token_scope_unless_the_loader_named_one() {
    let http = Arc::new(ReplayHttp::new());
    let recorder = Arc::new(ScopeRecorder::default());
    let load = |scope: Option<&str>| {
        let mut loader = AzureConfig::loader()
            .env(AzureEnv::from_pairs([("AZURE_SUBSCRIPTION_ID", SUB)]))
            .credential(recorder.clone())
            .http(http.clone());
        if let Some(scope) = scope {
            loader = loader.resource_manager_scope(scope);
        }
        loader.load()
    };
    let get = example("Subscriptions_Get");
    let gov: cloudkit_core::Url = "https://management.usgovcloudapi.net".parse().unwrap();

    let config = load(None).await.unwrap();
    http.push(response(&get, "200"));
    ArmClient::new(&config).unwrap().subscriptions().get(SUB).send().await.unwrap();
    http.push(response(&get, "200"));
    let rm = ArmClient::builder(&config).endpoint(gov.clone()).build().unwrap();
    rm.subscriptions().get(SUB).send().await.unwrap();
    assert_eq!(http.requests()[1].url.host_str(), Some("management.usgovcloudapi.net"));
    // an override to the public cloud keeps its scope
    http.push(response(&get, "200"));
    let public = ArmClient::builder(&config).endpoint(BASE.parse().unwrap()).build().unwrap();
    public.subscriptions().get(SUB).send().await.unwrap();
    assert_eq!(
        *recorder.scopes.lock().unwrap(),
        [
            "https://management.azure.com/.default",
            "https://management.usgovcloudapi.net/.default",
            "https://management.azure.com/.default"
        ]
    );

    // a scope the loader was given is kept
    recorder.scopes.lock().unwrap().clear();
    let config = load(Some("https://management.core.usgovcloudapi.net/.default")).await.unwrap();
    http.push(response(&get, "200"));
    ArmClient::builder(&config).endpoint(gov).build().unwrap().subscriptions().get(SUB).send().await.unwrap();
    assert_eq!(*recorder.scopes.lock().unwrap(), ["https://management.core.usgovcloudapi.net/.default"]);
    assert!(http.requests().iter().all(|r| r.headers["authorization"] == "Bearer SECRET-TOKEN"));
}

fn storage_account() -> String {
    format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct")
}

/// `resources().action(id, name)`: `POST {id}/{name}?api-version`, with an optional body; a 200
/// is the result at once, a 204 is `Null`.
#[tokio::test]
async fn a_resource_action_answered_at_once_is_its_body() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let id = storage_account();
    let keys = json!({"keys": [{"keyName": "key1", "permissions": "FULL"}]});
    http.push(json_canned(200, keys.clone()));
    let poller = rm.resources().action(&id, "listKeys").api_version("2023-05-01").begin().await.unwrap();
    assert!(poller.is_done(), "a 200 is the result");
    assert_eq!(poller.initial_status(), 200);
    assert_eq!(poller.wait().await.unwrap(), keys);
    let r = http.requests().pop().unwrap();
    assert_eq!((r.method.clone(), r.url.path()), (Method::POST, format!("{id}/listKeys").as_str()));
    assert_eq!(r.query("api-version").as_deref(), Some("2023-05-01"));
    assert!(r.body.is_empty());

    http.push(Canned::status(204, ""));
    let body = json!({"keyName": "key1"});
    let result =
        rm.resources().action(&id, "regenerateKey").body(body.clone()).api_version("2023-05-01").send().await.unwrap();
    assert_eq!(result, Value::Null);
    let r = http.requests().pop().unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap(), body);
    assert_eq!(r.headers["content-type"], "application/json");
    assert_eq!(http.requests().len(), 2, "nothing polled");

    // names that are not one path segment, and ids that are not ids, are refused before sending
    for bad in ["", "..", "a/b"] {
        let e = rm.resources().action(&id, bad).api_version("2023-05-01").send().await.unwrap_err();
        assert_eq!(e.core().unwrap().kind(), ErrorKind::InvalidInput, "{bad:?}: {e}");
    }
    assert!(rm.resources().action("/not/an/id", "listKeys").api_version("1").send().await.is_err());
    assert_eq!(http.requests().len(), 2);
}

/// A 202: polled through `Azure-AsyncOperation` when sent (the result then comes from the
/// `Location` URL, the ARM default for POST), else through `Location`, whose final 200 is the
/// result; a failed one is `OperationFailed`; no api-version: the provider's newest stable one.
#[tokio::test]
async fn a_resource_action_answered_202_is_polled_to_its_result() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let id = storage_account();

    // Azure-AsyncOperation + Location
    http.push(
        Canned::status(202, "")
            .with_header("Azure-AsyncOperation", &format!("{BASE}/operations/act1"))
            .with_header("Location", &format!("{BASE}/operationResults/act1"))
            .with_header("Retry-After", "0"),
    );
    http.push(status("InProgress"));
    http.push(status("Succeeded"));
    http.push(json_canned(200, json!({"content": "exported"})));
    let poller = rm.resources().action(&id, "export").body(json!({"format": "csv"})).api_version("1").begin();
    let poller = poller.await.unwrap();
    assert!(!poller.is_done());
    assert_eq!(poller.initial_status(), 202);
    assert_eq!(poller.wait().await.unwrap(), json!({"content": "exported"}));
    let paths: Vec<String> = http.requests().iter().map(|r| format!("{} {}", r.method, r.url.path())).collect();
    assert_eq!(
        paths,
        [
            format!("POST {id}/export"),
            "GET /operations/act1".to_owned(),
            "GET /operations/act1".to_owned(),
            "GET /operationResults/act1".to_owned()
        ]
    );

    // Location only: 202, then the final 200 with the result
    http.push(Canned::status(202, "").with_header("Location", &format!("{BASE}/operationResults/act2")));
    http.push(Canned::status(202, "").with_header("Retry-After", "0"));
    http.push(json_canned(200, json!({"value": 42})));
    assert_eq!(rm.resources().action(&id, "compute").api_version("1").send().await.unwrap(), json!({"value": 42}));

    // Azure-AsyncOperation only: the status body's `properties`
    http.push(Canned::status(202, "").with_header("Azure-AsyncOperation", &format!("{BASE}/operations/act3")));
    http.push(json_canned(200, json!({"name": "act3", "status": "Succeeded", "properties": {"output": "ok"}})));
    assert_eq!(rm.resources().action(&id, "run").api_version("1").send().await.unwrap(), json!({"output": "ok"}));

    // a failed one
    http.push(Canned::status(202, "").with_header("Azure-AsyncOperation", &format!("{BASE}/operations/act4")));
    http.push(json_canned(
        200,
        json!({"name": "act4", "status": "Failed", "error": {"code": "KeyVaultUnavailable", "message": "The vault did not answer."}}),
    ));
    let e = rm.resources().action(&id, "rotate").api_version("1").send().await.unwrap_err();
    assert!(matches!(e, ArmError::OperationFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("KeyVaultUnavailable"));
    assert!(e.to_string().contains("action rotate on resource"), "{e}");

    // no api-version: the provider document is read first
    http.push(json_canned(200, compute_provider()));
    http.push(Canned::status(200, ""));
    let vm = vm_path("rg", "vm");
    assert_eq!(rm.resources().action(&vm, "reapply").send().await.unwrap(), Value::Null);
    let requests = http.requests();
    let last2 = &requests[requests.len() - 2..];
    assert_eq!(last2[0].url.path(), format!("/subscriptions/{SUB}/providers/Microsoft.Compute"));
    assert_eq!(
        (last2[1].url.path(), last2[1].query("api-version")),
        (format!("{vm}/reapply").as_str(), Some("2025-04-01".to_owned()))
    );
    assert_eq!(http.remaining(), 0);
}

/// `VirtualMachines_Update` with tags: `PATCH {"tags": …}`; the answer is the VM (a 200, or a
/// 201 polled on its `Azure-AsyncOperation` and then read at the original URI).
#[tokio::test]
async fn vm_update_tags_patches_the_tags() {
    let http = Arc::new(ReplayHttp::new());
    let rm = client(&http).await;
    let get = example("VirtualMachines_Get");
    let mut body = get["responses"]["200"]["body"].clone();
    body["tags"] = json!({"env": "prod", "team": "a"});
    http.push(json_canned(200, body.clone()));
    let vm = rm.virtual_machines().update_tags("myResourceGroup", "myVM").tag("team", "a").tag("env", "prod");
    let vm = vm.send().await.unwrap();
    assert_eq!(vm.tags.get("team").map(String::as_str), Some("a"));
    let r = http.requests().pop().unwrap();
    assert_eq!(r.method, Method::PATCH);
    assert_eq!(r.url.path(), vm_path("myResourceGroup", "myVM"));
    assert_eq!(r.query("api-version").as_deref(), Some(COMPUTE_API_VERSION));
    assert_eq!(serde_json::from_slice::<Value>(&r.body).unwrap(), json!({"tags": {"env": "prod", "team": "a"}}));

    // long-running: 201 + Azure-AsyncOperation, then the VM at the original URI; an empty map clears
    let mut updating = body.clone();
    updating["properties"]["provisioningState"] = json!("Updating");
    http.push(json_canned(201, updating).with_header("Azure-AsyncOperation", &format!("{BASE}/operations/tags1")));
    http.push(status("InProgress"));
    http.push(status("Succeeded"));
    let mut cleared = body;
    cleared["tags"] = json!({});
    http.push(json_canned(200, cleared));
    let poller =
        rm.virtual_machines().update_tags("myResourceGroup", "myVM").tags(BTreeMap::new()).begin().await.unwrap();
    assert!(!poller.is_done());
    assert!(poller.wait().await.unwrap().tags.is_empty());
    let requests = http.requests();
    assert_eq!(serde_json::from_slice::<Value>(&requests[1].body).unwrap(), json!({"tags": {}}));
    assert_eq!(
        (requests[4].method.clone(), requests[4].url.path()),
        (Method::GET, vm_path("myResourceGroup", "myVM").as_str())
    );
    let e = rm.virtual_machines().update_tags("", "vm").send().await.unwrap_err();
    assert_eq!(e.core().unwrap().kind(), ErrorKind::InvalidInput);
}
