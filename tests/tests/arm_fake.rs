//! The fake Azure Resource Manager of `cloudkit_tests::arm`, checked with plain HTTP requests, and the
//! real Azure credential chain getting its bearer token from the fake's Entra endpoint.
//!
//! These are Microsoft's documented example responses served by an in-process fake (no ARM emulator
//! exists), not a live service: what is checked here is that the fake follows the documented wire rules
//! (paging by `nextLink`, long-running operations, 401/404/429 bodies, state changes), so that the ARM
//! client's tests against it mean something.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use azure_core::credentials::TokenCredential;
use cloudkit_cred_chain::azure::{ClientSecretCredential, DefaultAzureCredential, EnvironmentCredential, Secret};
use cloudkit_tests::arm::{
    ARM_SCOPE, ArmFake, CLIENT_ID, COMPUTE_API_VERSION, RESOURCES_API_VERSION, SEEDED_RESOURCE_GROUP, SEEDED_VM,
    SUBSCRIPTION_ID, SUBSCRIPTIONS_API_VERSION, TENANT_ID, WIDGET_API_VERSIONS,
};
use cloudkit_tests::testbed::http_client;
use serde_json::{Value, json};

/// A raw ARM caller: bearer token, JSON in and out.
struct Raw {
    fake: ArmFake,
    http: reqwest::Client,
    token: String,
}

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).map(|v| v.to_str().unwrap().to_owned())
    }
}

impl Raw {
    fn new() -> Self {
        let fake = ArmFake::start().unwrap();
        let token = fake.issue_token();
        Self { fake, http: http_client(), token }
    }

    async fn call(&self, method: &str, url: &str, body: Option<Value>, token: Option<&str>) -> Answer {
        let url = if url.starts_with("http") { url.to_owned() } else { self.fake.url(url).to_string() };
        let mut req = self.http.request(method.parse().unwrap(), &url);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            req = req.header("content-type", "application/json").body(b.to_string());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() };
        assert!(headers.contains_key("x-ms-request-id"), "{method} {url}: no x-ms-request-id");
        assert!(headers.contains_key("x-ms-correlation-request-id"), "{method} {url}: no correlation id");
        Answer { status, headers, body }
    }

    async fn get(&self, url: &str) -> Answer {
        self.call("GET", url, None, Some(&self.token)).await
    }

    async fn send(&self, method: &str, url: &str, body: Option<Value>) -> Answer {
        self.call(method, url, body, Some(&self.token)).await
    }

    /// Follows `nextLink`s from `first`, returning every page's `value`.
    async fn pages(&self, first: &str) -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        let mut next = Some(first.to_owned());
        while let Some(url) = next {
            let a = self.get(&url).await;
            assert_eq!(a.status, 200, "{url}: {}", a.body);
            pages.push(a.body["value"].as_array().unwrap().clone());
            next = a.body["nextLink"].as_str().map(str::to_owned);
            if let Some(n) = &next {
                assert!(n.starts_with("http://127.0.0.1:"), "nextLink is absolute: {n}");
            }
            assert!(pages.len() < 50, "paging does not end");
        }
        pages
    }
}

fn rgs() -> String {
    format!("/subscriptions/{SUBSCRIPTION_ID}/resourcegroups")
}

fn rg(name: &str) -> String {
    format!("/subscriptions/{SUBSCRIPTION_ID}/resourcegroups/{name}?api-version={RESOURCES_API_VERSION}")
}

fn vm(rg: &str, name: &str, suffix: &str, query: &str) -> String {
    format!(
        "/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}{suffix}?api-version={COMPUTE_API_VERSION}{query}"
    )
}

fn power_state(instance_view: &Value) -> String {
    instance_view["statuses"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["code"].as_str())
        .find(|c| c.starts_with("PowerState/"))
        .unwrap_or("none")
        .to_owned()
}

#[tokio::test]
async fn subscriptions_list_is_paged_and_get_serves_the_example() {
    let raw = Raw::new();
    let pages = raw.pages(&format!("/subscriptions?api-version={SUBSCRIPTIONS_API_VERSION}")).await;
    assert_eq!(pages.len(), 2, "two subscriptions, one per page");
    assert_eq!(pages[0][0]["subscriptionId"], SUBSCRIPTION_ID);
    assert_eq!(pages[1][0]["displayName"], "Example Subscription2");
    let one = raw.get(&format!("/subscriptions/{SUBSCRIPTION_ID}?api-version={SUBSCRIPTIONS_API_VERSION}")).await;
    assert_eq!(one.status, 200);
    assert_eq!(one.body["authorizationSource"], "Bypassed", "Subscriptions_Get.json's body");
    let missing = raw
        .get(&format!("/subscriptions/00000000-0000-0000-0000-000000000009?api-version={SUBSCRIPTIONS_API_VERSION}"))
        .await;
    assert_eq!((missing.status, missing.body["error"]["code"].as_str()), (404, Some("SubscriptionNotFound")));
    let no_version = raw.get("/subscriptions").await;
    assert_eq!(no_version.status, 400);
    assert_eq!(no_version.body["error"]["code"], "MissingApiVersionParameter");
    let wrong = raw.get(&format!("/subscriptions/{SUBSCRIPTION_ID}/resourcegroups?api-version=1999-01-01")).await;
    assert_eq!((wrong.status, wrong.body["error"]["code"].as_str()), (400, Some("InvalidApiVersionParameter")));
}

#[tokio::test]
async fn resource_groups_page_across_an_empty_page_and_filter_by_tag_and_top() {
    let raw = Raw::new();
    for i in 0..5 {
        raw.fake.add_resource_group(&format!("ck-rg-{i}"), "eastus", &[("env", if i % 2 == 0 { "ci" } else { "dev" })]);
    }
    // 2 seeded + 5 groups, 2 per page: [2] [] [2] [2] [1]
    let pages = raw.pages(&format!("{}?api-version={RESOURCES_API_VERSION}", rgs())).await;
    let sizes: Vec<usize> = pages.iter().map(Vec::len).collect();
    assert_eq!(sizes, [2, 0, 2, 2, 1], "an empty page with a nextLink after the first");
    let all: Vec<&str> = pages.iter().flatten().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(all.len(), 7);
    assert!(all.contains(&"my-resource-group") && all.contains(&"ck-rg-4"), "{all:?}");

    let filter = "tagName eq 'env' and tagValue eq 'ci'";
    let url = reqwest::Url::parse_with_params(
        raw.fake.url(&rgs()).as_str(),
        [("api-version", RESOURCES_API_VERSION), ("$filter", filter)],
    )
    .unwrap();
    let ci: Vec<Value> = raw.pages(url.as_str()).await.into_iter().flatten().collect();
    let names: Vec<&str> = ci.iter().map(|g| g["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ck-rg-0", "ck-rg-2", "ck-rg-4"]);
    assert!(ci.iter().all(|g| g["tags"]["env"] == "ci"));

    let top = reqwest::Url::parse_with_params(
        raw.fake.url(&rgs()).as_str(),
        [("api-version", RESOURCES_API_VERSION), ("$top", "3")],
    )
    .unwrap();
    let pages = raw.pages(top.as_str()).await;
    assert_eq!(pages.iter().flatten().count(), 3, "$top caps the whole listing");
    // every nextLink kept the api-version and the query
    for r in raw.fake.requests_to("GET", "/resourcegroups") {
        assert_eq!(r.api_version(), Some(RESOURCES_API_VERSION), "{}", r.path_and_query);
    }
    let bad = raw.get(&format!("{}?api-version={RESOURCES_API_VERSION}&$filter=name%20eq%20'x'", rgs())).await;
    assert_eq!(bad.body["error"]["code"], "InvalidFilterInQueryString");
}

#[tokio::test]
async fn resource_group_create_update_exists_tags_and_long_running_delete() {
    let raw = Raw::new();
    let head = raw.send("HEAD", &rg("ck-new"), None).await;
    assert_eq!(head.status, 404);
    let created = raw.send("PUT", &rg("ck-new"), Some(json!({"location": "eastus", "tags": {"a": "1"}}))).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["id"], format!("/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/ck-new"));
    assert_eq!(created.body["properties"]["provisioningState"], "Succeeded");
    let updated = raw.send("PUT", &rg("ck-new"), Some(json!({"location": "eastus"}))).await;
    assert_eq!(updated.status, 200);
    assert_eq!(raw.send("HEAD", &rg("ck-new"), None).await.status, 204);
    let moved = raw.send("PUT", &rg("ck-new"), Some(json!({"location": "westus"}))).await;
    assert_eq!((moved.status, moved.body["error"]["code"].as_str()), (409, Some("InvalidResourceGroupLocation")));
    let no_location = raw.send("PUT", &rg("ck-other"), Some(json!({}))).await;
    assert_eq!(no_location.body["error"]["code"], "LocationRequired");

    let tagged = raw.send("PATCH", &rg("ck-new"), Some(json!({"tags": {"owner": "ci"}}))).await;
    assert_eq!((tagged.status, &tagged.body["tags"]), (200, &json!({"owner": "ci"})));
    assert_eq!(raw.get(&rg("ck-new")).await.body["tags"]["owner"], "ci");

    raw.fake.add_vm("ck-new", "vm-in-group", "eastus", "PowerState/running");
    let del = raw
        .send("DELETE", &format!("{}&forceDeletionTypes=Microsoft.Compute/virtualMachines", rg("ck-new")), None)
        .await;
    assert_eq!(del.status, 202);
    assert_eq!(del.header("retry-after").as_deref(), Some("0"));
    let location = del.header("location").unwrap();
    assert!(location.contains("/operationresults/") && location.ends_with("api-version=2018-08-01"), "{location}");
    assert_eq!(raw.get(&location).await.status, 202);
    assert_eq!(raw.get(&location).await.status, 202);
    assert!(raw.fake.has_resource_group("ck-new"), "still there while the deletion runs");
    assert_eq!(raw.get(&location).await.status, 200);
    assert!(!raw.fake.has_resource_group("ck-new"));
    assert!(raw.fake.vm_names("ck-new").is_empty(), "its VMs went with it");
    let gone = raw.get(&rg("ck-new")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body,
        json!({"error": {"code": "ResourceGroupNotFound", "message": "Resource group 'ck-new' could not be found."}})
    );
    let bad_force = raw
        .send("DELETE", &format!("{}&forceDeletionTypes=Microsoft.Web/sites", rg(SEEDED_RESOURCE_GROUP)), None)
        .await;
    assert_eq!(bad_force.status, 400);
}

#[tokio::test]
async fn vms_list_get_with_instance_view_and_the_documented_bodies() {
    let raw = Raw::new();
    for i in 0..4 {
        raw.fake.add_vm(SEEDED_RESOURCE_GROUP, &format!("ck-vm-{i}"), "westus", "PowerState/deallocated");
    }
    let list = format!(
        "/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{SEEDED_RESOURCE_GROUP}/providers/Microsoft.Compute/virtualMachines?api-version={COMPUTE_API_VERSION}"
    );
    let pages = raw.pages(&list).await;
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
    raw.fake.add_vm("ck-other-rg", "ck-vm-x", "eastus", "running");
    let all = raw
        .pages(&format!(
            "/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Compute/virtualMachines?api-version={COMPUTE_API_VERSION}"
        ))
        .await;
    assert_eq!(all.iter().flatten().count(), 6);

    let got = raw.get(&vm(SEEDED_RESOURCE_GROUP, SEEDED_VM, "", "")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["properties"]["hardwareProfile"]["vmSize"], "Standard_DS3_v2", "VirtualMachines_Get.json");
    assert_eq!(
        got.body["id"],
        format!(
            "/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/myResourceGroup/providers/Microsoft.Compute/virtualMachines/myVM"
        )
    );
    assert!(got.body["properties"].get("instanceView").is_none());
    let expanded = raw.get(&vm(SEEDED_RESOURCE_GROUP, SEEDED_VM, "", "&$expand=instanceView")).await;
    assert_eq!(power_state(&expanded.body["properties"]["instanceView"]), "PowerState/running");
    let view = raw.get(&vm(SEEDED_RESOURCE_GROUP, "ck-vm-1", "/instanceView", "")).await;
    assert_eq!(power_state(&view.body), "PowerState/deallocated");
    assert_eq!(view.body["osName"], "Windows Server 2016 Datacenter", "VirtualMachines_InstanceView.json");
    assert_eq!(view.body["statuses"][0]["code"], "ProvisioningState/succeeded");

    let missing = raw.get(&vm(SEEDED_RESOURCE_GROUP, "nope", "", "")).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.body["error"]["code"], "ResourceNotFound");
    assert_eq!(
        missing.body["error"]["message"],
        "The Resource 'Microsoft.Compute/virtualMachines/nope' under resource group 'myResourceGroup' was not found. \
         For more details please go to https://aka.ms/ARMResourceNotFoundFix"
    );
    let no_group = raw.get(&vm("ck-no-such-rg", "x", "", "")).await;
    assert_eq!((no_group.status, no_group.body["error"]["code"].as_str()), (404, Some("ResourceGroupNotFound")));
    let old = raw.get(&vm(SEEDED_RESOURCE_GROUP, SEEDED_VM, "", "").replace(COMPUTE_API_VERSION, "2015-01-01")).await;
    assert_eq!(old.body["error"]["code"], "NoRegisteredProviderFound");
}

#[tokio::test]
async fn vm_create_is_a_long_running_put_with_an_async_operation_status() {
    let raw = Raw::new();
    raw.fake.set_retry_after(1);
    let definition = json!({
        "location": "westus",
        "tags": {"run": "ck"},
        "properties": {
            "hardwareProfile": {"vmSize": "Standard_B1s"},
            "storageProfile": {"imageReference": {"publisher": "Canonical", "offer": "ubuntu-24_04-lts", "sku": "server", "version": "latest"}},
            "osProfile": {"computerName": "ck-made", "adminUsername": "azureuser", "adminPassword": "S3cret!-never-echoed"},
            "networkProfile": {"networkInterfaces": [{"id": "/subscriptions/x/resourceGroups/y/providers/Microsoft.Network/networkInterfaces/nic"}]}
        }
    });
    let created = raw.send("PUT", &vm(SEEDED_RESOURCE_GROUP, "ck-made", "", ""), Some(definition.clone())).await;
    assert_eq!(created.status, 201);
    assert_eq!(created.body["properties"]["provisioningState"], "Creating");
    assert_eq!(created.body["properties"]["hardwareProfile"]["vmSize"], "Standard_B1s");
    assert_eq!(created.body["tags"]["run"], "ck");
    assert!(created.body["properties"]["osProfile"].get("adminPassword").is_none(), "no secret echoed");
    assert_eq!(created.header("retry-after").as_deref(), Some("1"));
    let status_url = created.header("azure-asyncoperation").unwrap();
    assert!(created.header("location").is_some());
    let statuses: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(raw.get(&status_url).await.body["status"].as_str().unwrap().to_owned());
        }
        v
    };
    assert_eq!(statuses, ["InProgress", "InProgress", "Succeeded"]);
    let done = raw.get(&vm(SEEDED_RESOURCE_GROUP, "ck-made", "", "&$expand=instanceView")).await;
    assert_eq!(done.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(power_state(&done.body["properties"]["instanceView"]), "PowerState/running");

    // Polling the resource itself: Creating, Creating, then Succeeded.
    let again = raw.send("PUT", &vm(SEEDED_RESOURCE_GROUP, "ck-made-2", "", ""), Some(definition)).await;
    assert_eq!(again.status, 201);
    let mut seen = Vec::new();
    for _ in 0..3 {
        let a = raw.get(&vm(SEEDED_RESOURCE_GROUP, "ck-made-2", "", "")).await;
        seen.push(a.body["properties"]["provisioningState"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["Creating", "Creating", "Succeeded"]);
    let update =
        raw.send("PUT", &vm(SEEDED_RESOURCE_GROUP, "ck-made-2", "", ""), Some(json!({"location": "westus"}))).await;
    assert_eq!(update.status, 200, "a PUT of an existing VM updates it");
    let patched =
        raw.send("PATCH", &vm(SEEDED_RESOURCE_GROUP, "ck-made-2", "", ""), Some(json!({"tags": {"k": "v"}}))).await;
    assert_eq!(patched.body["tags"], json!({"k": "v"}));
}

/// start / powerOff / deallocate / restart / delete: 202 + Location + Retry-After, the Location URL
/// answers 202 twice then 200, and the power state changes on completion.
#[tokio::test]
async fn vm_actions_are_long_running_and_change_the_power_state() {
    let raw = Raw::new();
    let rg = SEEDED_RESOURCE_GROUP;
    raw.fake.add_vm(rg, "ck-power", "westus", "PowerState/running");
    async fn run(raw: &Raw, method: &str, url: String) {
        let a = raw.send(method, &url, None).await;
        assert_eq!(a.status, 202, "{method} {url}: {}", a.body);
        assert_eq!(a.header("retry-after").as_deref(), Some("0"));
        assert!(a.header("azure-asyncoperation").is_none(), "Location only by default");
        let location = a.header("location").unwrap();
        assert!(location.contains("/providers/Microsoft.Compute/locations/westus/operations/"), "{location}");
        let codes = [raw.get(&location).await.status, raw.get(&location).await.status, raw.get(&location).await.status];
        assert_eq!(codes, [202, 202, 200], "{method} {url}");
    }
    run(&raw, "POST", vm(rg, "ck-power", "/powerOff", "&skipShutdown=true")).await;
    assert_eq!(raw.fake.vm_power_state(rg, "ck-power").as_deref(), Some("PowerState/stopped"));
    run(&raw, "POST", vm(rg, "ck-power", "/start", "")).await;
    assert_eq!(raw.fake.vm_power_state(rg, "ck-power").as_deref(), Some("PowerState/running"));
    run(&raw, "POST", vm(rg, "ck-power", "/restart", "")).await;
    assert_eq!(raw.fake.vm_power_state(rg, "ck-power").as_deref(), Some("PowerState/running"));
    run(&raw, "POST", vm(rg, "ck-power", "/deallocate", "&hibernate=true")).await;
    assert_eq!(raw.fake.vm_power_state(rg, "ck-power").as_deref(), Some("PowerState/deallocated"));
    let view = raw.get(&vm(rg, "ck-power", "/instanceView", "")).await.body;
    assert!(view["statuses"].as_array().unwrap().iter().any(|s| s["code"] == "HibernationState/Hibernated"));
    let restart = raw.send("POST", &vm(rg, "ck-power", "/restart", ""), None).await;
    assert_eq!((restart.status, restart.body["error"]["code"].as_str()), (409, Some("OperationNotAllowed")));

    // The transitional state is visible while the operation runs.
    raw.fake.set_async_operation_on_actions(true);
    let start = raw.send("POST", &vm(rg, "ck-power", "/start", ""), None).await;
    assert!(start.header("azure-asyncoperation").is_some());
    assert_eq!(raw.fake.vm_power_state(rg, "ck-power").as_deref(), Some("PowerState/starting"));
    let status = start.header("azure-asyncoperation").unwrap();
    while raw.get(&status).await.body["status"] == "InProgress" {}
    assert_eq!(raw.fake.vm_power_state(rg, "ck-power").as_deref(), Some("PowerState/running"));
    raw.fake.set_async_operation_on_actions(false);

    run(&raw, "DELETE", vm(rg, "ck-power", "", "&forceDeletion=true")).await;
    let gone = raw.get(&vm(rg, "ck-power", "", "")).await;
    assert_eq!((gone.status, gone.body["error"]["code"].as_str()), (404, Some("ResourceNotFound")));
    assert_eq!(raw.send("DELETE", &vm(rg, "ck-power", "", ""), None).await.status, 204, "deleting a missing VM");
    let start_missing = raw.send("POST", &vm(rg, "ck-power", "/start", ""), None).await;
    assert_eq!(start_missing.status, 404);
    // every Compute request carried the Compute api-version
    for r in raw.fake.requests().iter().filter(|r| r.path.contains("/virtualMachines/ck-power")) {
        assert_eq!(r.api_version(), Some(COMPUTE_API_VERSION), "{} {}", r.method, r.path_and_query);
    }
    assert_eq!(raw.fake.pending_operations(), 0);
}

#[tokio::test]
async fn the_next_operation_can_fail_or_be_canceled() {
    let raw = Raw::new();
    let rg = SEEDED_RESOURCE_GROUP;
    raw.fake.add_vm(rg, "ck-fail", "westus", "PowerState/running");
    raw.fake.set_async_operation_on_actions(true);
    raw.fake.fail_next_operation("VMAgentStatusCommunicationError", "VM 'ck-fail' has not reported status.");
    let a = raw.send("POST", &vm(rg, "ck-fail", "/deallocate", ""), None).await;
    let status = a.header("azure-asyncoperation").unwrap();
    let mut last = Value::Null;
    for _ in 0..3 {
        last = raw.get(&status).await.body;
    }
    assert_eq!(last["status"], "Failed");
    assert_eq!(last["error"]["code"], "VMAgentStatusCommunicationError");
    assert_eq!(raw.fake.vm_power_state(rg, "ck-fail").as_deref(), Some("PowerState/running"), "unchanged");
    let location = raw.get(&a.header("location").unwrap()).await;
    assert_eq!(
        (location.status, location.body["error"]["code"].as_str()),
        (409, Some("VMAgentStatusCommunicationError"))
    );

    raw.fake.cancel_next_operation();
    let b = raw.send("POST", &vm(rg, "ck-fail", "/powerOff", ""), None).await;
    let location = b.header("location").unwrap();
    assert_eq!(raw.get(&location).await.status, 202);
    assert_eq!(raw.get(&location).await.status, 202);
    let end = raw.get(&location).await;
    assert_eq!((end.status, end.body["error"]["code"].as_str()), (409, Some("OperationCanceled")));
    assert_eq!(raw.get(&b.header("azure-asyncoperation").unwrap()).await.body["status"], "Canceled");
    // only the next one: the one after succeeds
    let c = raw.send("POST", &vm(rg, "ck-fail", "/powerOff", ""), None).await;
    let status = c.header("azure-asyncoperation").unwrap();
    assert_eq!(raw.get(&status).await.body["status"], "InProgress");
    assert_eq!(raw.get(&status).await.body["status"], "InProgress");
    assert_eq!(raw.get(&status).await.body["status"], "Succeeded");
    assert_eq!(raw.fake.vm_power_state(rg, "ck-fail").as_deref(), Some("PowerState/stopped"));
}

#[tokio::test]
async fn tokens_are_required_and_throttling_answers_429_with_retry_after() {
    let raw = Raw::new();
    let url = rg(SEEDED_RESOURCE_GROUP);
    let none = raw.call("GET", &url, None, None).await;
    assert_eq!((none.status, none.body["error"]["code"].as_str()), (401, Some("AuthenticationFailed")));
    assert!(none.header("www-authenticate").unwrap().starts_with("Bearer "));
    let unknown = raw.call("GET", &url, None, Some("made-up")).await;
    assert_eq!((unknown.status, unknown.body["error"]["code"].as_str()), (401, Some("InvalidAuthenticationToken")));
    assert_eq!(raw.get(&url).await.status, 200);
    raw.fake.expire_tokens();
    let expired = raw.get(&url).await;
    assert_eq!((expired.status, expired.body["error"]["code"].as_str()), (401, Some("ExpiredAuthenticationToken")));
    let fresh = raw.fake.issue_token();

    raw.fake.throttle_next(2, 1);
    for _ in 0..2 {
        let t = raw.call("GET", &url, None, Some(&fresh)).await;
        assert_eq!((t.status, t.body["error"]["code"].as_str()), (429, Some("TooManyRequests")));
        assert_eq!(t.header("retry-after").as_deref(), Some("1"));
    }
    assert_eq!(raw.call("GET", &url, None, Some(&fresh)).await.status, 200);
    // the log never holds the token
    let logged = raw.fake.requests();
    assert!(logged.iter().all(|r| r.header("authorization").is_none_or(|a| a == "Bearer <redacted>")));
    assert!(!format!("{logged:?}").contains(&fresh));
}

#[tokio::test]
async fn generic_resources_and_provider_api_versions() {
    let raw = Raw::new();
    let provider = raw
        .get(&format!("/subscriptions/{SUBSCRIPTION_ID}/providers/Contoso.Widgets?api-version={RESOURCES_API_VERSION}"))
        .await;
    assert_eq!(provider.status, 200);
    let versions = &provider.body["resourceTypes"][0]["apiVersions"];
    assert_eq!(versions, &json!(WIDGET_API_VERSIONS));
    assert!(versions[0].as_str().unwrap().ends_with("-preview"), "a preview one is listed first");
    let compute = raw
        .get(&format!(
            "/subscriptions/{SUBSCRIPTION_ID}/providers/Microsoft.Compute?api-version={RESOURCES_API_VERSION}"
        ))
        .await;
    assert_eq!(compute.body["resourceTypes"][0]["resourceType"], "virtualMachines");
    let unknown = raw
        .get(&format!("/subscriptions/{SUBSCRIPTION_ID}/providers/No.Such?api-version={RESOURCES_API_VERSION}"))
        .await;
    assert_eq!((unknown.status, unknown.body["error"]["code"].as_str()), (404, Some("InvalidResourceNamespace")));

    let id = format!(
        "/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{SEEDED_RESOURCE_GROUP}/providers/Contoso.Widgets/widgets/w1"
    );
    let api = WIDGET_API_VERSIONS[1];
    let put = raw
        .send("PUT", &format!("{id}?api-version={api}"), Some(json!({"location": "eastus", "properties": {"size": 3}})))
        .await;
    assert_eq!(put.status, 201);
    assert_eq!(put.body["id"], id);
    assert_eq!(put.body["properties"]["provisioningState"], "Succeeded");
    assert_eq!(
        raw.send("PUT", &format!("{id}?api-version={api}"), Some(json!({"location": "eastus"}))).await.status,
        200
    );
    let patch = raw.send("PATCH", &format!("{id}?api-version={api}"), Some(json!({"tags": {"t": "1"}}))).await;
    assert_eq!(patch.body["tags"]["t"], "1");
    assert_eq!(raw.get(&format!("{id}?api-version={api}")).await.body["type"], "Contoso.Widgets/widgets");
    let wrong = raw.get(&format!("{id}?api-version={COMPUTE_API_VERSION}")).await;
    assert_eq!((wrong.status, wrong.body["error"]["code"].as_str()), (400, Some("NoRegisteredProviderFound")));

    let by_type = reqwest::Url::parse_with_params(
        raw.fake
            .url(&format!("/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{SEEDED_RESOURCE_GROUP}/resources"))
            .as_str(),
        [("api-version", RESOURCES_API_VERSION), ("$filter", "resourceType eq 'Contoso.Widgets/widgets'")],
    )
    .unwrap();
    let listed: Vec<Value> = raw.pages(by_type.as_str()).await.into_iter().flatten().collect();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], id);
    let everything: Vec<Value> = raw
        .pages(&format!("/subscriptions/{SUBSCRIPTION_ID}/resources?api-version={RESOURCES_API_VERSION}"))
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(everything.len(), 2, "the seeded VM and the widget: {everything:?}");

    let del = raw.send("DELETE", &format!("{id}?api-version={api}"), None).await;
    assert_eq!(del.status, 202);
    let status = del.header("azure-asyncoperation").unwrap();
    while raw.get(&status).await.body["status"] == "InProgress" {}
    let gone = raw.get(&format!("{id}?api-version={api}")).await;
    assert_eq!((gone.status, gone.body["error"]["code"].as_str()), (404, Some("ResourceNotFound")));
}

#[tokio::test]
async fn the_token_endpoint_follows_the_client_credentials_flow() {
    let raw = Raw::new();
    let form = |secret: &str, scope: &str| {
        format!(
            "client_id={CLIENT_ID}&client_secret={}&scope={}&grant_type=client_credentials",
            urlencode(secret),
            urlencode(scope)
        )
    };
    let post = |body: String| {
        raw.http
            .post(raw.fake.token_url())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
    };
    let ok = post(form(cloudkit_tests::arm::CLIENT_SECRET, ARM_SCOPE)).await.unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    let body: Value = ok.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();
    assert_eq!(raw.call("GET", &rg(SEEDED_RESOURCE_GROUP), None, Some(token)).await.status, 200);

    let bad_secret = post(form("wrong", ARM_SCOPE)).await.unwrap();
    assert_eq!(bad_secret.status().as_u16(), 400);
    let e: Value = bad_secret.json().await.unwrap();
    assert_eq!(e["error"], "invalid_client");
    assert_eq!(e["error_codes"], json!([7000215]));
    let bad_scope = post(form(cloudkit_tests::arm::CLIENT_SECRET, "https://storage.azure.com/.default")).await.unwrap();
    assert_eq!(bad_scope.status().as_u16(), 400);
    let e: Value = bad_scope.json().await.unwrap();
    assert_eq!(e["error"], "invalid_scope");
    assert!(e["error_description"].as_str().unwrap().starts_with("AADSTS70011:"));
    assert_eq!(raw.fake.token_fetches(), 1);
    assert_eq!(raw.fake.token_requests(), 3);
    assert!(raw.fake.requests().iter().all(|r| !r.body.contains("fake-arm-client-secret")), "no secret in the log");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The real credential chain (environment client secret, `AZURE_AUTHORITY_HOST` pointed at the
/// fake) gets a token from the fake's Entra endpoint; the token cache turns many calls into one fetch,
/// and the token works on ARM.
#[tokio::test]
async fn the_credential_chain_gets_one_token_for_many_calls() {
    let raw = Raw::new();
    let fake = &raw.fake;

    let env_credential = EnvironmentCredential::new(fake.identity_options());
    let mut tokens = Vec::new();
    for _ in 0..10 {
        tokens.push(env_credential.get_token(&[ARM_SCOPE], None).await.unwrap().token.secret().to_owned());
    }
    assert!(tokens.windows(2).all(|w| w[0] == w[1]), "the cached token is reused");
    assert_eq!(fake.token_fetches(), 1, "ten calls, one fetch");
    for _ in 0..3 {
        assert_eq!(raw.call("GET", &rg(SEEDED_RESOURCE_GROUP), None, Some(&tokens[0])).await.status, 200);
    }
    let token_request = fake.requests().into_iter().find(|r| r.path.ends_with("/oauth2/v2.0/token")).unwrap();
    assert_eq!(token_request.path, format!("/{TENANT_ID}/oauth2/v2.0/token"));
    assert_eq!(token_request.method, "POST");

    // DefaultAzureCredential over the same fake environment (only the environment source: the
    // others would probe IMDS or run `az`).
    let chain = Arc::new(
        DefaultAzureCredential::builder()
            .options(fake.identity_options())
            .exclude_workload_identity(true)
            .exclude_managed_identity(true)
            .exclude_cli(true)
            .build(),
    );
    let mut handles = Vec::new();
    for _ in 0..8 {
        let chain = chain.clone();
        handles.push(tokio::spawn(async move { chain.get_token(&[ARM_SCOPE], None).await.unwrap() }));
    }
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(chain.chosen_source(), Some("EnvironmentCredential"));
    assert_eq!(fake.token_fetches(), 2, "eight concurrent calls, one more fetch");

    // ClientSecretCredential with the authority from the options instead of the environment.
    let options = cloudkit_cred_chain::azure::IdentityOptions {
        env: cloudkit_cred_chain::azure::AzureEnv::from_pairs::<&str, &str>([]),
        authority_host: Some(fake.authority_host()),
        ..Default::default()
    };
    let direct = ClientSecretCredential::new(
        TENANT_ID,
        CLIENT_ID,
        Secret::new(cloudkit_tests::arm::CLIENT_SECRET),
        options.clone(),
    );
    direct.get_token(&[ARM_SCOPE], None).await.unwrap();
    direct.get_token(&[ARM_SCOPE], None).await.unwrap();
    assert_eq!(fake.token_fetches(), 3);

    // A wrong secret is refused without the secret or the body in the error.
    let wrong = ClientSecretCredential::new(TENANT_ID, CLIENT_ID, Secret::new("wrong-secret-value"), options);
    let e = wrong.get_token(&[ARM_SCOPE], None).await.unwrap_err().to_string();
    assert!(e.contains("400") && e.contains("invalid_client"), "{e}");
    assert!(!e.contains("wrong-secret-value"), "{e}");
    assert_eq!(fake.token_fetches(), 3);
}

/// The bearer path over the real code, before any ARM client: the core pipeline with the Azure
/// bearer signer (plain http allowed to the loopback fake) and the environment credential. Twenty
/// calls, one token fetch; a 429 with `Retry-After: 0` is retried by the pipeline.
#[tokio::test]
async fn the_bearer_signer_and_the_core_pipeline_reach_the_fake() {
    use cloudkit_core::{HttpClientConfig, HttpRequest, Method, Operation, Pipeline, ReqwestSend};
    use cloudkit_signer::azure::BearerTokenSigner;

    let fake = ArmFake::start().unwrap();
    let credential: Arc<dyn TokenCredential> = Arc::new(EnvironmentCredential::new(fake.identity_options()));
    let signer = BearerTokenSigner::new(credential.clone(), ARM_SCOPE).allow_loopback_http(true);
    let http = ReqwestSend::shared(&HttpClientConfig::default()).unwrap();
    let pipeline = Pipeline::builder("AzureResourceManager").http(http).signer(Arc::new(signer)).build().unwrap();
    let get = || async {
        let url = fake.url(&rg(SEEDED_RESOURCE_GROUP));
        let operation = Operation::new("ResourceGroups_Get").idempotent(true);
        pipeline.send_buffered(&operation, HttpRequest::new(Method::GET, url)).await
    };
    for _ in 0..20 {
        let resp = get().await.unwrap();
        assert_eq!(resp.status.as_u16(), 200);
        let body: Value = serde_json::from_slice(&resp.body).unwrap();
        assert_eq!(body["name"], SEEDED_RESOURCE_GROUP);
    }
    assert_eq!(fake.token_fetches(), 1, "twenty calls, one token");
    let gets = fake.requests_to("GET", &format!("/resourcegroups/{SEEDED_RESOURCE_GROUP}"));
    assert_eq!(gets.len(), 20);
    assert!(gets.iter().all(|r| r.header("authorization") == Some("Bearer <redacted>")));

    fake.throttle_next(1, 0);
    assert_eq!(get().await.unwrap().status.as_u16(), 200, "the 429 was retried");
    assert_eq!(fake.requests_to("GET", &format!("/resourcegroups/{SEEDED_RESOURCE_GROUP}")).len(), 22);

    // Without the loopback opt-in the signer refuses to send the token over plain http.
    let strict = BearerTokenSigner::new(credential, ARM_SCOPE);
    let strict = Pipeline::builder("AzureResourceManager")
        .http(ReqwestSend::shared(&HttpClientConfig::default()).unwrap())
        .signer(Arc::new(strict))
        .build()
        .unwrap();
    let refused = strict
        .send_buffered(
            &Operation::new("ResourceGroups_Get"),
            HttpRequest::new(Method::GET, fake.url(&rg(SEEDED_RESOURCE_GROUP))),
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("https"), "{refused}");
}

/// The server's bounds: an oversized request head is 431, a chunked body (only `Content-Length`
/// bodies are read) is 411, and the answers close the connection.
#[test]
fn the_server_refuses_what_it_does_not_read() {
    use std::io::{Read, Write};
    let fake = ArmFake::start().unwrap();
    let addr = format!("127.0.0.1:{}", fake.endpoint().port().unwrap());
    let exchange = |request: &[u8]| {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(10))).unwrap();
        let _ = s.write_all(request);
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer
    };
    let huge = format!("GET /subscriptions HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n", "a".repeat(70 * 1024));
    assert!(exchange(huge.as_bytes()).starts_with("HTTP/1.1 431 "));
    let chunked = b"PUT /subscriptions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n";
    let answer = exchange(chunked);
    assert!(answer.starts_with("HTTP/1.1 411 ") && answer.contains("connection: close"), "{answer}");
    let plain = exchange(b"GET /subscriptions?api-version=2022-12-01 HTTP/1.1\r\nhost: x\r\n\r\n");
    assert!(plain.starts_with("HTTP/1.1 401 ") && plain.contains("AuthenticationFailed"), "{plain}");
}
