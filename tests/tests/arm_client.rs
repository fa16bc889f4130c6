//! The Azure Resource Manager client (`cloudkit-azure-arm`) end to end over its real code: tokens from
//! the real credential chain (`AzureConfig::loader()` → `DefaultAzureCredential` → the environment
//! client-secret source, with `AZURE_AUTHORITY_HOST` pointed at an in-process Entra token endpoint),
//! the real pipeline (bearer signer, retries, error parser), the real pager and long-running-operation
//! poller, against `cloudkit_tests::arm::ArmFake`.
//!
//! **These are Microsoft's documented example responses served by an in-process fake, not a live
//! service.** No ARM emulator exists; the fake serves the `x-ms-example` documents of
//! `Azure/azure-rest-api-specs` (copied to `crates/azure-arm/src/testdata/`, sources in its README and
//! SOURCES.json) and follows the ARM RPC's wire rules for paging, long-running operations, throttling
//! and errors (see the top of `tests/src/arm.rs`). Every test starts its own fake (tests run in
//! parallel threads). Long-running operations and waiters poll every few milliseconds
//! (`ArmClient::builder(..).lro_config(..)`, `fake.set_retry_after(0)`).
//!
//! At the end: the generic poller and pager against Microsoft's own mock server for ARM conventions
//! (`@azure-tools/azure-http-specs` served by `tsp-spector`), when the testbed started it
//! (`CLOUDKIT_TEST_ARM_SPECS_ENDPOINT`); skipped with a message otherwise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use azure_core::credentials::TokenCredential;
use cloudkit_azure_arm::{
    ArmClient, ArmError, AzureConfig, COMPUTE_API_VERSION, ImageReference, PowerState, RESOURCES_API_VERSION,
    SUBSCRIPTIONS_API_VERSION, VirtualMachineDefinition, WaiterConfig, WaiterError,
};
use cloudkit_core::ErrorKind;
use cloudkit_core::testing::{Canned, ReplayHttp};
use cloudkit_cred_chain::azure::AzureEnv;
use cloudkit_paginate::PaginationConfig;
use cloudkit_tests::arm::{
    ARM_SCOPE, ArmFake, CLIENT_SECRET, SECOND_SUBSCRIPTION_ID, SEEDED_EMPTY_RESOURCE_GROUP, SEEDED_RESOURCE_GROUP,
    SEEDED_VM, SUBSCRIPTION_ID, TENANT_ID, WIDGET_API_VERSIONS, WIDGET_TYPE,
};
use cloudkit_tests::testbed::Testbed;
use futures::TryStreamExt;
use serde_json::{Value, json};

/// Long-running operations poll every 1–5 ms, with a 30 s deadline.
fn fast_lro() -> WaiterConfig {
    WaiterConfig::new(Duration::from_millis(1), Duration::from_millis(5), Duration::from_secs(30))
}

/// VM waiters poll every 1–5 ms, with a 10 s deadline.
fn fast_waiter() -> WaiterConfig {
    WaiterConfig::new(Duration::from_millis(1), Duration::from_millis(5), Duration::from_secs(10))
}

/// The configuration as an application loads it: the credential chain reads the fake's environment
/// (`AZURE_TENANT_ID`, `AZURE_CLIENT_ID`, `AZURE_CLIENT_SECRET`, `AZURE_AUTHORITY_HOST`,
/// `AZURE_SUBSCRIPTION_ID`), plain http allowed to the loopback fake.
async fn config_with(fake: &ArmFake, env: AzureEnv) -> AzureConfig {
    AzureConfig::loader()
        .env(env)
        .allow_loopback_http(true)
        .resource_manager_endpoint(fake.endpoint())
        .load()
        .await
        .unwrap()
}

struct Arm {
    fake: ArmFake,
    rm: ArmClient,
}

/// A fresh fake and a client of it with fast polling.
async fn arm() -> Arm {
    let fake = ArmFake::start().unwrap();
    fake.set_retry_after(0);
    let config = config_with(&fake, fake.azure_env()).await;
    assert_eq!(config.subscription_id(), Some(SUBSCRIPTION_ID), "AZURE_SUBSCRIPTION_ID is the default");
    let rm = ArmClient::builder(&config).lro_config(fast_lro()).build().unwrap();
    Arm { fake, rm }
}

fn vm_path(rg: &str, vm: &str) -> String {
    format!("/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}")
}

fn widget_id(rg: &str, name: &str) -> String {
    format!("/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{rg}/providers/{WIDGET_TYPE}/{name}")
}

fn definition() -> VirtualMachineDefinition {
    VirtualMachineDefinition::new("westus", "Standard_D1_v2")
        .image(ImageReference::marketplace("Canonical", "ubuntu-24_04-lts", "server", "latest"))
        .admin_username("azureuser")
        .ssh_public_key("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeKeyForTests ck@test")
        .network_interface_id(format!(
            "/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{SEEDED_RESOURCE_GROUP}/providers/Microsoft.Network/networkInterfaces/nic1"
        ))
        .tag("env", "ci")
}

/// Every ARM request (not the token endpoint's) carried a bearer token.
fn assert_all_arm_requests_bearer(fake: &ArmFake) {
    for r in fake.requests().iter().filter(|r| !r.path.ends_with("/oauth2/v2.0/token")) {
        assert_eq!(r.header("authorization"), Some("Bearer <redacted>"), "{} {}", r.method, r.path_and_query);
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens from the real credential chain
// ---------------------------------------------------------------------------------------------

/// `ArmClient::new(&config)` with the DefaultAzureCredential-equivalent chain: the environment
/// source fetches one token from the fake's Entra endpoint, and the token cache serves it to every
/// later ARM call, sequential or concurrent.
#[tokio::test]
async fn the_credential_chain_fetches_one_token_for_many_arm_calls() {
    let fake = ArmFake::start().unwrap();
    let config = config_with(&fake, fake.azure_env()).await;
    let rm = ArmClient::new(&config).unwrap();
    assert_eq!(rm.subscription_id(), Some(SUBSCRIPTION_ID));
    assert_eq!(fake.token_fetches(), 0, "loading the config contacts nothing");

    for _ in 0..10 {
        assert_eq!(rm.resource_groups().get(SEEDED_RESOURCE_GROUP).send().await.unwrap().name, SEEDED_RESOURCE_GROUP);
    }
    rm.subscriptions().get(SUBSCRIPTION_ID).send().await.unwrap();
    rm.virtual_machines().instance_view(SEEDED_RESOURCE_GROUP, SEEDED_VM).send().await.unwrap();
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let rm = rm.clone();
            tokio::spawn(async move { rm.resource_groups().exists(SEEDED_EMPTY_RESOURCE_GROUP).send().await })
        })
        .collect();
    for h in handles {
        assert!(h.await.unwrap().unwrap());
    }
    assert_eq!(fake.token_fetches(), 1, "28 ARM calls, one token fetch");
    assert_eq!(fake.token_requests(), 1);
    let token_requests: Vec<_> =
        fake.requests().into_iter().filter(|r| r.path.ends_with("/oauth2/v2.0/token")).collect();
    assert_eq!(token_requests.len(), 1);
    assert_eq!(token_requests[0].path, format!("/{TENANT_ID}/oauth2/v2.0/token"));
    assert_eq!(token_requests[0].method, "POST");
    assert_eq!(fake.requests().len(), 29);
    assert_all_arm_requests_bearer(&fake);
    // The same client for another subscription shares the pipeline and its token cache.
    let other = rm.with_subscription(SECOND_SUBSCRIPTION_ID);
    let e = other.resource_groups().get("nope").send().await.unwrap_err();
    assert!(matches!(e, ArmError::ResourceGroupNotFound(_)), "{e}");
    assert_eq!(fake.token_fetches(), 1);
}

/// `fake.expire_tokens()` expires the token on the server side only (revoked, or rotated early):
/// the chain's cache still holds it as valid for its advertised hour (`expires_in: 3599`), so the
/// client sends it and ARM answers 401 `ExpiredAuthenticationToken`. The bearer signer then names
/// the refused token to the credential, which drops it and fetches a new one, and the pipeline
/// sends the request once more: the call succeeds with one more token fetch. A credential that
/// keeps handing out the refused token (one that ignores the hint) gets a typed
/// `AuthenticationFailed` after that one extra send. Tokens that are short-lived from the start
/// are refreshed before use instead.
#[tokio::test]
async fn an_expired_token_is_replaced_once_and_short_lived_tokens_are_refreshed() {
    let Arm { fake, rm } = arm().await;
    rm.resource_groups().get(SEEDED_RESOURCE_GROUP).send().await.unwrap();
    assert_eq!(fake.token_fetches(), 1);
    fake.expire_tokens();
    rm.resource_groups().get(SEEDED_RESOURCE_GROUP).send().await.unwrap();
    assert_eq!(fake.token_fetches(), 2, "the refused token was replaced");
    let gets = fake.requests_to("GET", &format!("/resourcegroups/{SEEDED_RESOURCE_GROUP}"));
    assert_eq!(gets.len(), 3, "the refused GET went once more");
    rm.resource_groups().get(SEEDED_RESOURCE_GROUP).send().await.unwrap();
    assert_eq!(fake.token_fetches(), 2, "the new token is cached");

    // A credential that ignores the hint: the same refused token twice, then the typed error.
    #[derive(Debug)]
    struct Fixed(String);
    #[async_trait::async_trait]
    impl TokenCredential for Fixed {
        async fn get_token(
            &self,
            _: &[&str],
            _: Option<azure_core::credentials::TokenRequestOptions<'_>>,
        ) -> azure_core::Result<azure_core::credentials::AccessToken> {
            let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
            Ok(azure_core::credentials::AccessToken::new(self.0.clone(), expires))
        }
    }
    let token = fake.issue_token();
    fake.expire_tokens();
    let config = AzureConfig::loader()
        .env(fake.azure_env())
        .allow_loopback_http(true)
        .resource_manager_endpoint(fake.endpoint())
        .credential(Arc::new(Fixed(token)))
        .load()
        .await
        .unwrap();
    let fixed = ArmClient::new(&config).unwrap();
    let before = fake.requests_to("GET", &format!("/resourcegroups/{SEEDED_RESOURCE_GROUP}")).len();
    let e = fixed.resource_groups().get(SEEDED_RESOURCE_GROUP).send().await.unwrap_err();
    assert!(matches!(e, ArmError::AuthenticationFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("ExpiredAuthenticationToken"));
    assert_eq!(e.status().map(|s| s.as_u16()), Some(401));
    assert!(!e.is_retryable(), "{e}");
    assert!(e.to_string().contains("ExpiredAuthenticationToken"), "{e}");
    assert!(e.request_id().is_some(), "{e}");
    let after = fake.requests_to("GET", &format!("/resourcegroups/{SEEDED_RESOURCE_GROUP}")).len();
    assert_eq!(after - before, 2, "one extra send after a 401, not more");

    // A fresh client (a fresh chain and cache) gets a fresh token.
    let fresh = ArmClient::new(&config_with(&fake, fake.azure_env()).await).unwrap();
    fresh.resource_groups().get(SEEDED_RESOURCE_GROUP).send().await.unwrap();
    assert_eq!(fake.token_fetches(), 3);

    // Tokens that live 20 s are inside the cache's mandatory 30 s refresh window at once: every
    // call gets a new one rather than sending one about to expire.
    fake.set_token_lifetime(20);
    let short = ArmClient::new(&config_with(&fake, fake.azure_env()).await).unwrap();
    for _ in 0..3 {
        short.resource_groups().get(SEEDED_RESOURCE_GROUP).send().await.unwrap();
    }
    assert!(fake.token_fetches() >= 3 + 3, "short-lived tokens are refreshed: {} fetches", fake.token_fetches());
}

/// A wrong client secret: the environment source is configured and fails, which stops the chain
/// (no managed identity or CLI probing); the ARM call fails before anything reaches ARM with a
/// credentials error naming Entra's error code, never the secret.
#[tokio::test]
async fn a_wrong_secret_is_a_credentials_error_naming_the_entra_code_never_the_secret() {
    let fake = ArmFake::start().unwrap();
    let wrong = "wrong-secret~value-0123456789";
    let env: Vec<(&str, String)> = fake
        .env()
        .into_iter()
        .map(|(k, v)| if k == "AZURE_CLIENT_SECRET" { (k, wrong.to_owned()) } else { (k, v) })
        .collect();
    let rm = ArmClient::new(&config_with(&fake, AzureEnv::from_pairs(env)).await).unwrap();
    let e = rm.resource_groups().list().send().await.unwrap_err();
    let text = e.to_string();
    let ArmError::Other(core) = &e else { panic!("expected a credentials error, got {e:?}") };
    assert_eq!(core.kind(), ErrorKind::Credentials, "{text}");
    assert!(text.contains("invalid_client") && text.contains("AADSTS7000215"), "names the Entra error: {text}");
    assert!(text.contains("EnvironmentCredential"), "names the source: {text}");
    assert!(!text.contains(wrong) && !format!("{e:?}").contains(wrong), "never the secret: {text}");
    assert!(!text.contains(CLIENT_SECRET));
    assert_eq!(fake.token_fetches(), 0);
    assert!(fake.token_requests() >= 1);
    assert!(
        fake.requests().iter().all(|r| r.path.ends_with("/oauth2/v2.0/token")),
        "nothing reached ARM without a token"
    );
}

/// `ArmClient::builder(..).endpoint(url)` to a sovereign cloud asks Entra for that cloud's token
/// audience (`<endpoint>/.default`), not the public cloud's the config derived from its own endpoint;
/// a scope named in the loader is kept. The ARM answers come from a replayed HTTP client (no
/// sovereign cloud here); the tokens from the real chain and the fake's Entra endpoint.
#[tokio::test]
async fn an_endpoint_override_asks_entra_for_that_clouds_token_scope() {
    let fake = ArmFake::start().unwrap();
    const GOV_SCOPE: &str = "https://management.usgovcloudapi.net/.default";
    fake.accept_scope(GOV_SCOPE);
    let config = config_with(&fake, fake.azure_env()).await;
    ArmClient::new(&config).unwrap().resource_groups().get(SEEDED_RESOURCE_GROUP).send().await.unwrap();
    assert_eq!(fake.requested_scopes(), [ARM_SCOPE], "the config's own endpoint: the ARM scope");

    let gov_answers = std::sync::Arc::new(ReplayHttp::new());
    let subscription = json!({"id": format!("/subscriptions/{SUBSCRIPTION_ID}"), "subscriptionId": SUBSCRIPTION_ID,
                              "displayName": "Gov", "state": "Enabled"});
    gov_answers.push(Canned::status(200, serde_json::to_vec(&subscription).unwrap()));
    let gov = ArmClient::builder(&config)
        .endpoint("https://management.usgovcloudapi.net".parse().unwrap())
        .http(gov_answers.clone())
        .build()
        .unwrap();
    assert_eq!(gov.subscriptions().get(SUBSCRIPTION_ID).send().await.unwrap().display_name, "Gov");
    assert_eq!(fake.requested_scopes(), [ARM_SCOPE, GOV_SCOPE]);
    let sent = gov_answers.requests();
    assert_eq!(sent[0].url.host_str(), Some("management.usgovcloudapi.net"));
    let bearer = sent[0].headers["authorization"].to_str().unwrap();
    assert!(bearer.starts_with("Bearer fake-arm-token-2-"), "the gov token, not the first one: {bearer}");

    // a scope the loader was given wins over the override's
    let config = AzureConfig::loader()
        .env(fake.azure_env())
        .allow_loopback_http(true)
        .resource_manager_endpoint(fake.endpoint())
        .resource_manager_scope(ARM_SCOPE)
        .load()
        .await
        .unwrap();
    gov_answers.push(Canned::status(200, serde_json::to_vec(&subscription).unwrap()));
    let pinned = ArmClient::builder(&config)
        .endpoint("https://management.usgovcloudapi.net".parse().unwrap())
        .http(gov_answers.clone())
        .build()
        .unwrap();
    pinned.subscriptions().get(SUBSCRIPTION_ID).send().await.unwrap();
    assert_eq!(fake.requested_scopes(), [ARM_SCOPE, GOV_SCOPE, ARM_SCOPE]);
}

// ---------------------------------------------------------------------------------------------
// Subscriptions
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn subscriptions_list_across_two_pages_and_get() {
    let Arm { fake, rm } = arm().await;
    let pages: Vec<_> = rm.subscriptions().list().into_pages(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(pages.len(), 2, "Subscriptions_List.json's two subscriptions, one per page");
    let ids: Vec<&str> = pages.iter().flat_map(|p| p.value.iter().map(|s| s.subscription_id.as_str())).collect();
    assert_eq!(ids, [SUBSCRIPTION_ID, SECOND_SUBSCRIPTION_ID]);
    assert_eq!(pages[1].value[0].display_name, "Example Subscription2");
    let first = rm.subscriptions().list().send().await.unwrap();
    assert!(first.next_link.as_deref().is_some_and(|l| l.starts_with(fake.endpoint().as_str().trim_end_matches('/'))));

    let one = rm.subscriptions().get(SUBSCRIPTION_ID).send().await.unwrap();
    assert_eq!(one.id, format!("/subscriptions/{SUBSCRIPTION_ID}"));
    assert_eq!(one.tenant_id.as_deref(), Some(TENANT_ID));
    assert_eq!(one.state.as_deref(), Some("Enabled"));
    assert_eq!(one.authorization_source.as_deref(), Some("Bypassed"), "Subscriptions_Get.json's body");

    let e = rm.subscriptions().get("00000000-0000-0000-0000-000000000009").send().await.unwrap_err();
    assert!(matches!(e, ArmError::NotFound(_)), "{e:?}");
    assert_eq!(e.code(), Some("SubscriptionNotFound"));

    let requests = fake.requests_to("GET", "/subscriptions");
    assert_eq!(requests.len(), 3, "two pages, then the first page again");
    assert!(requests.iter().all(|r| r.api_version() == Some(SUBSCRIPTIONS_API_VERSION)));
    assert_eq!(requests[1].query_param("$skipToken"), Some("1"), "the nextLink as given");
    for r in fake.requests_to("GET", SUBSCRIPTION_ID).iter().chain(&fake.requests_to("GET", "0009")) {
        assert_eq!(r.api_version(), Some(SUBSCRIPTIONS_API_VERSION));
    }
}

// ---------------------------------------------------------------------------------------------
// Resource groups
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn resource_groups_list_pages_across_an_empty_page_with_tag_filter_and_top() {
    let Arm { fake, rm } = arm().await;
    for i in 0..5 {
        fake.add_resource_group(&format!("ck-rg-{i}"), "eastus", &[("env", if i % 2 == 0 { "ci" } else { "dev" })]);
    }
    // 2 seeded + 5 groups, 2 per page: [2] [] [2] [2] [1]
    let pages: Vec<_> =
        rm.resource_groups().list().into_pages(PaginationConfig::default()).try_collect().await.unwrap();
    let sizes: Vec<usize> = pages.iter().map(|p| p.value.len()).collect();
    assert_eq!(sizes, [2, 0, 2, 2, 1], "the empty page with a nextLink is followed");
    let names: Vec<String> = rm
        .resource_groups()
        .list()
        .into_items(PaginationConfig::default())
        .map_ok(|g| g.name)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(names.len(), 7);
    assert!(names.contains(&SEEDED_EMPTY_RESOURCE_GROUP.to_owned()) && names.contains(&"ck-rg-4".to_owned()));
    let seeded = pages.iter().flat_map(|p| &p.value).find(|g| g.name == SEEDED_EMPTY_RESOURCE_GROUP).unwrap();
    assert_eq!(seeded.location, "westus2", "ResourceGroups_Get.json's location");
    assert_eq!(seeded.provisioning_state(), Some("Succeeded"));

    fake.clear_requests();
    let ci: Vec<_> = rm
        .resource_groups()
        .list()
        .tag("env", "ci")
        .into_items(PaginationConfig::default())
        .try_collect()
        .await
        .unwrap();
    let ci_names: Vec<&str> = ci.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(ci_names, ["ck-rg-0", "ck-rg-2", "ck-rg-4"]);
    assert!(ci.iter().all(|g| g.tags.get("env").map(String::as_str) == Some("ci")));
    let lists = fake.requests_to("GET", "/resourcegroups");
    assert!(lists.len() >= 3, "three items, two per page, an empty page: {}", lists.len());
    for r in &lists {
        assert_eq!(r.api_version(), Some(RESOURCES_API_VERSION), "{}", r.path_and_query);
        assert_eq!(r.query_param("$filter"), Some("tagName eq 'env' and tagValue eq 'ci'"), "{}", r.path_and_query);
    }

    fake.clear_requests();
    let top: Vec<_> =
        rm.resource_groups().list().top(3).into_items(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(top.len(), 3, "$top caps the listing");
    assert!(fake.requests_to("GET", "/resourcegroups").iter().all(|r| r.query_param("$top") == Some("3")));

    // max_items stops in the middle of the stream, without reading further pages.
    fake.clear_requests();
    let two: Vec<_> =
        rm.resource_groups().list().into_items(PaginationConfig::default().max_items(2)).try_collect().await.unwrap();
    assert_eq!(two.len(), 2);
    assert_eq!(fake.requests_to("GET", "/resourcegroups").len(), 1);

    // A filter ARM does not understand is its typed 400.
    let e = rm.resource_groups().list().filter("name eq 'x'").send().await.unwrap_err();
    assert_eq!(e.code(), Some("InvalidFilterInQueryString"), "{e}");
    assert_eq!(e.status().map(|s| s.as_u16()), Some(400));
}

#[tokio::test]
async fn resource_group_get_exists_create_update_tags_and_typed_not_found() {
    let Arm { fake, rm } = arm().await;
    let groups = rm.resource_groups();
    let g = groups.get(SEEDED_EMPTY_RESOURCE_GROUP).send().await.unwrap();
    assert_eq!(g.id, format!("/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/{SEEDED_EMPTY_RESOURCE_GROUP}"));
    assert_eq!((g.location.as_str(), g.provisioning_state()), ("westus2", Some("Succeeded")));

    assert!(groups.exists(SEEDED_RESOURCE_GROUP).send().await.unwrap());
    assert!(!groups.exists("ck-new").send().await.unwrap(), "404 is false, not an error");

    // create (201), then update (200): tags replaced
    let created = groups.create_or_update("ck-new", "eastus").tag("a", "1").send().await.unwrap();
    assert_eq!(created.id, format!("/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/ck-new"));
    assert_eq!(created.tags.get("a").map(String::as_str), Some("1"));
    assert!(fake.has_resource_group("ck-new"));
    assert!(groups.exists("ck-new").send().await.unwrap());
    let updated = groups.create_or_update("ck-new", "eastus").tag("b", "2").send().await.unwrap();
    assert_eq!(updated.tags.keys().collect::<Vec<_>>(), ["b"]);
    let puts = fake.requests_to("PUT", "/resourcegroups/ck-new");
    assert_eq!(puts.len(), 2);
    assert_eq!(puts[0].json(), json!({"location": "eastus", "tags": {"a": "1"}}));
    assert!(puts.iter().all(|r| r.api_version() == Some(RESOURCES_API_VERSION)));
    assert_eq!(puts[0].header("content-type"), Some("application/json"));

    // moving a group to another location is ARM's 409, typed
    let e = groups.create_or_update("ck-new", "westus").send().await.unwrap_err();
    assert!(matches!(e, ArmError::Conflict(_)), "{e:?}");
    assert_eq!(e.code(), Some("InvalidResourceGroupLocation"));

    // update tags: PATCH {"tags": …} replaces them
    let tagged = groups.update_tags("ck-new").tag("owner", "ci").send().await.unwrap();
    assert_eq!(tagged.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect::<Vec<_>>(), [("owner", "ci")]);
    let patch = fake.requests_to("PATCH", "/resourcegroups/ck-new");
    assert_eq!(patch.len(), 1);
    assert_eq!(patch[0].json(), json!({"tags": {"owner": "ci"}}));
    assert_eq!(patch[0].api_version(), Some(RESOURCES_API_VERSION));
    assert_eq!(groups.get("ck-new").send().await.unwrap().tags.get("owner").map(String::as_str), Some("ci"));

    // a 404 ResourceGroupNotFound, typed, with the spec's message
    let e = groups.get("ck-missing").send().await.unwrap_err();
    assert!(matches!(e, ArmError::ResourceGroupNotFound(_)), "{e:?}");
    assert!(e.is_not_found());
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
    assert!(e.message().unwrap().contains("Resource group 'ck-missing' could not be found."), "{e}");
    let e = groups.update_tags("ck-missing").tag("a", "b").send().await.unwrap_err();
    assert!(matches!(e, ArmError::ResourceGroupNotFound(_)), "{e:?}");
    let heads = fake.requests_to("HEAD", "/resourcegroups/ck-new");
    assert_eq!(heads.len(), 2);
    assert!(heads.iter().all(|r| r.api_version() == Some(RESOURCES_API_VERSION)));
}

/// `ResourceGroups_Delete`: 202 + `Location` (`…/operationresults/{id}?api-version=2018-08-01`, as in
/// the example), which answers 202 twice, then 200; the forced VM deletion is a query parameter.
#[tokio::test]
async fn resource_group_delete_polls_the_location_and_forces_vm_deletion() {
    let Arm { fake, rm } = arm().await;
    fake.add_vm("ck-doomed", "vm-a", "eastus", "PowerState/running");
    assert!(fake.has_resource_group("ck-doomed"));

    let poller = rm.resource_groups().delete("ck-doomed").force_delete_virtual_machines().begin().await.unwrap();
    assert_eq!(poller.initial_status(), 202);
    assert!(poller.async_operation_url().is_none());
    let location = poller.location_url().unwrap().to_owned();
    assert!(location.contains("/operationresults/") && location.ends_with("api-version=2018-08-01"), "{location}");
    assert!(!poller.is_done());
    assert_eq!(fake.pending_operations(), 1);
    poller.wait().await.unwrap();
    assert!(!fake.has_resource_group("ck-doomed"));
    assert!(fake.vm_names("ck-doomed").is_empty());
    assert_eq!(fake.pending_operations(), 0);

    let delete = fake.requests_to("DELETE", "/resourcegroups/ck-doomed");
    assert_eq!(delete.len(), 1);
    assert_eq!(delete[0].api_version(), Some(RESOURCES_API_VERSION));
    assert_eq!(delete[0].query_param("forceDeletionTypes"), Some("Microsoft.Compute/virtualMachines"));
    let polls: Vec<_> = fake.requests().into_iter().filter(|r| r.path.contains("/operationresults/")).collect();
    assert_eq!(polls.len(), 3, "202, 202, then 200");
    assert!(polls.iter().all(|r| r.method == "GET" && r.api_version() == Some("2018-08-01")));

    // `send()` waits; deleting a missing group is the typed 404
    fake.add_resource_group("ck-plain", "eastus", &[]);
    rm.resource_groups().delete("ck-plain").send().await.unwrap();
    assert!(!fake.has_resource_group("ck-plain"));
    assert!(fake.requests_to("DELETE", "/resourcegroups/ck-plain")[0].query_param("forceDeletionTypes").is_none());
    let e = rm.resource_groups().delete("ck-plain").send().await.unwrap_err();
    assert!(matches!(e, ArmError::ResourceGroupNotFound(_)), "{e:?}");
}

// ---------------------------------------------------------------------------------------------
// Virtual machines
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn vms_list_paged_list_all_get_with_instance_view_and_power_states() {
    let Arm { fake, rm } = arm().await;
    for (name, power) in [("vm-1", "running"), ("vm-2", "stopped"), ("vm-3", "deallocated")] {
        fake.add_vm("ck-vms", name, "eastus", power);
    }
    let vms = rm.virtual_machines();
    let pages: Vec<_> = vms.list("ck-vms").into_pages(PaginationConfig::default()).try_collect().await.unwrap();
    assert_eq!(pages.iter().map(|p| p.value.len()).collect::<Vec<_>>(), [2, 1], "paged by nextLink");
    let names: Vec<&str> = pages.iter().flat_map(|p| p.value.iter().map(|v| v.name.as_str())).collect();
    assert_eq!(names, ["vm-1", "vm-2", "vm-3"]);
    assert!(pages[0].value.iter().all(|v| v.resource_group() == Some("ck-vms") && v.power_state().is_none()));

    let all: Vec<_> =
        vms.list_all().expand_instance_view().into_items(PaginationConfig::default()).try_collect().await.unwrap();
    let mut states: Vec<(String, Option<PowerState>)> = all.iter().map(|v| (v.name.clone(), v.power_state())).collect();
    states.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        states,
        [
            (SEEDED_VM.to_owned(), Some(PowerState::Running)),
            ("vm-1".to_owned(), Some(PowerState::Running)),
            ("vm-2".to_owned(), Some(PowerState::Stopped)),
            ("vm-3".to_owned(), Some(PowerState::Deallocated)),
        ]
    );
    let list_all = fake.requests_to("GET", "/providers/Microsoft.Compute/virtualMachines");
    assert!(list_all.iter().all(|r| r.api_version() == Some(COMPUTE_API_VERSION)));
    assert!(
        list_all
            .iter()
            .filter(|r| !r.path.contains("resourceGroups"))
            .all(|r| { r.query_param("$expand") == Some("instanceView") })
    );

    // get: Microsoft's VirtualMachines_Get example, with and without the instance view
    let vm = vms.get(SEEDED_RESOURCE_GROUP, SEEDED_VM).send().await.unwrap();
    assert_eq!(vm.id, vm_path(SEEDED_RESOURCE_GROUP, SEEDED_VM));
    assert_eq!((vm.location.as_str(), vm.vm_size.as_deref()), ("West US", Some("Standard_DS3_v2")), "the example");
    assert_eq!(vm.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(vm.subscription_id(), Some(SUBSCRIPTION_ID));
    assert!(vm.instance_view.is_none() && vm.power_state().is_none());
    let vm = vms.get(SEEDED_RESOURCE_GROUP, SEEDED_VM).expand_instance_view().send().await.unwrap();
    assert_eq!(vm.power_state(), Some(PowerState::Running));
    let gets = fake.requests_to("GET", &vm_path(SEEDED_RESOURCE_GROUP, SEEDED_VM));
    assert_eq!(gets.len(), 2);
    assert_eq!(gets[1].query_param("$expand"), Some("instanceView"));
    assert!(gets.iter().all(|r| r.api_version() == Some(COMPUTE_API_VERSION)));

    // the instance view: power state and provisioning state from the status codes
    for (name, power) in
        [("vm-1", PowerState::Running), ("vm-2", PowerState::Stopped), ("vm-3", PowerState::Deallocated)]
    {
        let view = vms.instance_view("ck-vms", name).send().await.unwrap();
        assert_eq!(view.power_state(), Some(power), "{name}");
        assert_eq!(view.provisioning_state(), Some("succeeded"));
        assert_eq!(view.computer_name.as_deref(), Some(name));
    }
    let iv = fake.requests_to("GET", "/instanceView");
    assert_eq!(iv.len(), 3);
    assert!(iv.iter().all(|r| r.api_version() == Some(COMPUTE_API_VERSION)));

    // typed 404s: the VM, and the group
    let e = vms.get("ck-vms", "vm-9").send().await.unwrap_err();
    assert!(matches!(e, ArmError::ResourceNotFound(_)), "{e:?}");
    let e = vms.instance_view("ck-nowhere", "vm-1").send().await.unwrap_err();
    assert!(matches!(e, ArmError::ResourceGroupNotFound(_)), "{e:?}");
}

/// `VirtualMachines_Update` with tags: `PATCH {"tags": …}` replaces them; the VM comes back.
#[tokio::test]
async fn vm_update_tags_replaces_the_tags() {
    let Arm { fake, rm } = arm().await;
    fake.add_vm("ck-tags", "vm-t", "eastus", "running");
    let vms = rm.virtual_machines();
    let vm = vms.update_tags("ck-tags", "vm-t").tag("owner", "ci").tag("env", "test").send().await.unwrap();
    assert_eq!(vm.name, "vm-t");
    let tags: Vec<(&str, &str)> = vm.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(tags, [("env", "test"), ("owner", "ci")]);
    let got = vms.get("ck-tags", "vm-t").send().await.unwrap();
    assert_eq!(got.tags, vm.tags, "the fake kept them");
    let patch = fake.requests_to("PATCH", &vm_path("ck-tags", "vm-t"));
    assert_eq!(patch.len(), 1);
    assert_eq!(patch[0].json(), json!({"tags": {"env": "test", "owner": "ci"}}));
    assert_eq!(patch[0].api_version(), Some(COMPUTE_API_VERSION));
    assert_eq!(patch[0].header("content-type"), Some("application/json"));

    let cleared = vms.update_tags("ck-tags", "vm-t").send().await.unwrap();
    assert!(cleared.tags.is_empty(), "{:?}", cleared.tags);
    let e = vms.update_tags("ck-tags", "vm-none").tag("a", "b").send().await.unwrap_err();
    assert!(matches!(e, ArmError::ResourceNotFound(_)), "{e:?}");
    assert_all_arm_requests_bearer(&fake);
}

/// `VirtualMachines_CreateOrUpdate` from a minimal definition: 201 with `provisioningState:
/// Creating` and an `Azure-AsyncOperation` URL that answers `InProgress` then `Succeeded`; the
/// result is the VM read afterwards (`Succeeded`).
#[tokio::test]
async fn vm_create_from_a_minimal_definition_is_a_long_running_put() {
    let Arm { fake, rm } = arm().await;
    let vms = rm.virtual_machines();
    let poller = vms.create_or_update(SEEDED_RESOURCE_GROUP, "ck-vm", definition()).begin().await.unwrap();
    assert_eq!(poller.initial_status(), 201);
    let status_url = poller.async_operation_url().unwrap().to_owned();
    assert!(status_url.contains("/providers/Microsoft.Compute/locations/westus/operations/"), "{status_url}");
    assert_eq!(fake.vm_provisioning_state(SEEDED_RESOURCE_GROUP, "ck-vm").as_deref(), Some("Creating"));
    // Reading the VM meanwhile shows it being created (this GET counts as one poll in the fake).
    let creating = vms.get(SEEDED_RESOURCE_GROUP, "ck-vm").send().await.unwrap();
    assert_eq!(creating.provisioning_state.as_deref(), Some("Creating"));
    let vm = poller.wait().await.unwrap();
    assert_eq!(vm.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(vm.name, "ck-vm");
    assert_eq!(vm.id, vm_path(SEEDED_RESOURCE_GROUP, "ck-vm"));
    assert_eq!(vm.vm_size.as_deref(), Some("Standard_D1_v2"));
    assert_eq!(vm.admin_username.as_deref(), Some("azureuser"));
    assert_eq!(vm.tags.get("env").map(String::as_str), Some("ci"));
    assert_eq!(vm.network_interface_ids.len(), 1);
    assert_eq!(fake.vm_power_state(SEEDED_RESOURCE_GROUP, "ck-vm").as_deref(), Some("PowerState/running"));

    let put = fake.requests_to("PUT", &vm_path(SEEDED_RESOURCE_GROUP, "ck-vm"));
    assert_eq!(put.len(), 1);
    assert_eq!(put[0].api_version(), Some(COMPUTE_API_VERSION));
    let body = put[0].json();
    assert_eq!(body["location"], "westus");
    assert_eq!(body["properties"]["hardwareProfile"]["vmSize"], "Standard_D1_v2");
    assert_eq!(body["properties"]["storageProfile"]["imageReference"]["offer"], "ubuntu-24_04-lts");
    assert_eq!(body["properties"]["osProfile"]["linuxConfiguration"]["disablePasswordAuthentication"], true);
    assert!(body["properties"]["osProfile"].get("adminPassword").is_none());
    let polls: Vec<_> = fake.requests().into_iter().filter(|r| r.path.contains("/operations/")).collect();
    assert_eq!(polls.len(), 2, "InProgress (the GET above was the first poll), then Succeeded");
    assert!(polls.iter().all(|r| r.query_param("monitor").is_none()), "the Azure-AsyncOperation URL, not Location");
    let gets = fake.requests_to("GET", &vm_path(SEEDED_RESOURCE_GROUP, "ck-vm"));
    assert_eq!(gets.len(), 2, "the GET above and the final read of the resource");

    // `send()` waits; an update of an existing VM is 200 + Updating → Succeeded
    let updated =
        vms.create_or_update(SEEDED_RESOURCE_GROUP, "ck-vm", definition().tag("v", "2")).send().await.unwrap();
    assert_eq!(updated.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(updated.tags.get("v").map(String::as_str), Some("2"));

    // a definition missing a part is refused before anything is sent
    fake.clear_requests();
    let e = vms
        .create_or_update(SEEDED_RESOURCE_GROUP, "ck-vm2", VirtualMachineDefinition::new("westus", "Standard_B1s"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.core().map(|c| c.kind()), Some(ErrorKind::InvalidInput), "{e}");
    assert!(fake.requests().is_empty());
}

/// start / power_off(skip_shutdown) / deallocate(hibernate) / restart / delete: each a POST (or
/// DELETE) answered 202 + `Location` polled to the end, each changing the fake's power state.
#[tokio::test]
async fn vm_power_actions_are_long_running_and_change_the_power_state() {
    let Arm { fake, rm } = arm().await;
    fake.add_vm("ck-rg", "vm1", "eastus", "PowerState/deallocated");
    let vms = rm.virtual_machines();
    let power = || fake.vm_power_state("ck-rg", "vm1");
    let base = vm_path("ck-rg", "vm1");

    vms.start("ck-rg", "vm1").send().await.unwrap();
    assert_eq!(power().as_deref(), Some("PowerState/running"));
    vms.power_off("ck-rg", "vm1").skip_shutdown(true).send().await.unwrap();
    assert_eq!(power().as_deref(), Some("PowerState/stopped"));
    assert_eq!(vms.instance_view("ck-rg", "vm1").send().await.unwrap().power_state(), Some(PowerState::Stopped));
    vms.start("ck-rg", "vm1").send().await.unwrap();
    vms.restart("ck-rg", "vm1").send().await.unwrap();
    assert_eq!(power().as_deref(), Some("PowerState/running"));
    vms.deallocate("ck-rg", "vm1").hibernate(true).send().await.unwrap();
    assert_eq!(power().as_deref(), Some("PowerState/deallocated"));
    let view = vms.instance_view("ck-rg", "vm1").send().await.unwrap();
    assert_eq!(view.power_state(), Some(PowerState::Deallocated));
    assert!(view.statuses.iter().any(|s| s.code == "HibernationState/Hibernated"), "{:?}", view.statuses);

    // with both headers the Azure-AsyncOperation status URL is what is polled
    fake.set_async_operation_on_actions(true);
    vms.start("ck-rg", "vm1").send().await.unwrap();
    assert_eq!(power().as_deref(), Some("PowerState/running"));
    fake.set_async_operation_on_actions(false);

    vms.delete("ck-rg", "vm1").send().await.unwrap();
    assert_eq!(power(), None, "deleted");
    // deleting a VM that does not exist: 204, nothing to poll
    let again = vms.delete("ck-rg", "vm1").begin().await.unwrap();
    assert_eq!(again.initial_status(), 204);
    assert!(again.is_done());
    again.wait().await.unwrap();

    let posts: Vec<(String, Option<String>)> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.starts_with(&base))
        .map(|r| {
            assert_eq!(r.api_version(), Some(COMPUTE_API_VERSION), "{}", r.path_and_query);
            let flag = r.query_param("skipShutdown").or(r.query_param("hibernate")).map(str::to_owned);
            (r.path.trim_start_matches(&base).to_owned(), flag)
        })
        .collect();
    let expected: Vec<(String, Option<String>)> = [
        ("/start", None),
        ("/powerOff", Some("true")),
        ("/start", None),
        ("/restart", None),
        ("/deallocate", Some("true")),
        ("/start", None),
    ]
    .iter()
    .map(|(p, f)| ((*p).to_owned(), f.map(str::to_owned)))
    .collect();
    assert_eq!(posts, expected);
    let deletes = fake.requests_to("DELETE", &base);
    assert_eq!(deletes.len(), 2);
    assert!(deletes.iter().all(|r| r.api_version() == Some(COMPUTE_API_VERSION)));
    // Location polls: 3 per action (202, 202, 200) for the 5 Location-only actions and the delete
    let location_polls = fake.requests().into_iter().filter(|r| r.query_param("monitor") == Some("true")).count();
    assert_eq!(location_polls, 6 * 3);
    let status_polls =
        fake.requests().into_iter().filter(|r| r.path.contains("/operations/") && r.query_param("monitor").is_none());
    assert_eq!(status_polls.count(), 3, "the start with Azure-AsyncOperation: InProgress ×2, Succeeded");
    assert_eq!(fake.pending_operations(), 0);
}

/// `begin()` returns the poller after the first answer; `wait()` on it finishes the operation; a
/// dropped poller leaves the operation running on the service, and a waiter sees it finish.
#[tokio::test]
async fn begin_then_wait_and_a_dropped_poller() {
    let Arm { fake, rm } = arm().await;
    let vms = rm.virtual_machines();
    let poller = vms.power_off(SEEDED_RESOURCE_GROUP, SEEDED_VM).begin().await.unwrap();
    assert_eq!(poller.initial_status(), 202);
    assert_eq!(poller.resource(), format!("virtual machine {SEEDED_RESOURCE_GROUP}/{SEEDED_VM}"));
    assert!(poller.location_url().unwrap().contains("monitor=true"));
    assert_eq!(fake.vm_power_state(SEEDED_RESOURCE_GROUP, SEEDED_VM).as_deref(), Some("PowerState/stopping"));
    poller.wait().await.unwrap();
    assert_eq!(fake.vm_power_state(SEEDED_RESOURCE_GROUP, SEEDED_VM).as_deref(), Some("PowerState/stopped"));

    // Python's `begin_deallocate(...)` without `.result()`.
    let dropped = vms.deallocate(SEEDED_RESOURCE_GROUP, SEEDED_VM).begin().await.unwrap();
    drop(dropped);
    assert_eq!(fake.pending_operations(), 1, "the operation goes on without the poller");
    assert_eq!(fake.vm_power_state(SEEDED_RESOURCE_GROUP, SEEDED_VM).as_deref(), Some("PowerState/deallocating"));
    let done = vms.wait_until_deallocated(SEEDED_RESOURCE_GROUP, SEEDED_VM).config(fast_waiter()).wait().await.unwrap();
    assert!(done.attempts >= 2, "deallocating first: {} polls", done.attempts);
    assert_eq!(fake.pending_operations(), 0);
}

#[tokio::test]
async fn vm_waiters_running_stopped_deallocated_deleted_with_deadlines() {
    let Arm { fake, rm } = arm().await;
    fake.add_vm("ck-rg", "vm1", "eastus", "PowerState/deallocated");
    let vms = rm.virtual_machines();

    // the operation runs on without the poller; the waiter watches the instance view
    drop(vms.start("ck-rg", "vm1").begin().await.unwrap());
    let running = vms.wait_until_running("ck-rg", "vm1").config(fast_waiter()).wait().await.unwrap();
    assert_eq!(running.result.as_ref().unwrap().power_state(), Some(PowerState::Running));
    assert_eq!(running.attempts, 3, "starting, starting, running");

    // the operation runs on without the poller; the waiter watches the instance view
    drop(vms.power_off("ck-rg", "vm1").begin().await.unwrap());
    let stopped = vms.wait_until_stopped("ck-rg", "vm1").config(fast_waiter()).wait().await.unwrap();
    assert_eq!(stopped.result.unwrap().power_state(), Some(PowerState::Stopped));

    // the operation runs on without the poller; the waiter watches the instance view
    drop(vms.deallocate("ck-rg", "vm1").begin().await.unwrap());
    let deallocated = vms
        .wait_until_deallocated("ck-rg", "vm1")
        .min_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(5))
        .max_wait(Duration::from_secs(10))
        .jitter_seed(7)
        .wait()
        .await
        .unwrap();
    assert_eq!(deallocated.result.unwrap().power_state(), Some(PowerState::Deallocated));

    // a deallocated VM never starts by itself: the running waiter fails at once
    match vms.wait_until_running("ck-rg", "vm1").config(fast_waiter()).wait().await.unwrap_err() {
        WaiterError::FailureState { attempts, last, .. } => {
            assert_eq!(attempts, 1);
            assert_eq!(last.unwrap().power_state(), Some(PowerState::Deallocated));
        }
        other => panic!("expected a failure state, got {other}"),
    }
    // the deadline: a deallocated VM never becomes stopped
    let started = Instant::now();
    let e = vms
        .wait_until_stopped("ck-rg", "vm1")
        .config(fast_waiter().max_wait(Duration::from_millis(300)))
        .wait()
        .await
        .unwrap_err();
    assert!(matches!(e, WaiterError::Timeout { .. }), "{e}");
    assert!(e.to_string().contains("VirtualMachineStopped"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // the operation runs on without the poller; the waiter watches the instance view
    drop(vms.delete("ck-rg", "vm1").begin().await.unwrap());
    let deleted = vms.wait_until_deleted("ck-rg", "vm1").config(fast_waiter()).wait().await.unwrap();
    assert!(matches!(deleted.result, Err(ArmError::ResourceNotFound(_))), "{:?}", deleted.result);
    assert!(deleted.attempts >= 2);
    assert_eq!(fake.vm_power_state("ck-rg", "vm1"), None);
    assert!(fake.requests_to("GET", "/instanceView").iter().all(|r| r.api_version() == Some(COMPUTE_API_VERSION)));
}

/// A `Failed` operation is `OperationFailed` with the operation's code and message (through the
/// `Azure-AsyncOperation` status body and through a `Location` answering the ARM error), a
/// `Canceled` one too; a poller past its deadline is `WaitTimeout`.
#[tokio::test]
async fn failed_and_canceled_operations_and_the_lro_deadline() {
    let Arm { fake, rm } = arm().await;
    let vms = rm.virtual_machines();
    let message = "OS Provisioning for VM 'ck-bad' did not finish in the allotted time.";

    fake.fail_next_operation("OSProvisioningTimedOut", message);
    let e = vms.create_or_update(SEEDED_RESOURCE_GROUP, "ck-bad", definition()).send().await.unwrap_err();
    assert!(matches!(e, ArmError::OperationFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("OSProvisioningTimedOut"));
    let text = e.to_string();
    assert!(text.contains(message) && text.contains("Failed") && text.contains("ck-bad"), "{text}");
    assert!(e.request_id().is_some(), "the poll's request id: {text}");
    assert_eq!(fake.vm_provisioning_state(SEEDED_RESOURCE_GROUP, "ck-bad").as_deref(), Some("Failed"));

    // Location-only (a VM action): the Location URL answers 409 with the ARM error body
    fake.fail_next_operation("VMStartTimedOut", "The VM did not start in time.");
    fake.add_vm("ck-rg", "vm1", "eastus", "PowerState/deallocated");
    let e = vms.start("ck-rg", "vm1").send().await.unwrap_err();
    assert!(matches!(e, ArmError::OperationFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("VMStartTimedOut"));
    assert!(e.to_string().contains("The VM did not start in time."), "{e}");
    assert_eq!(fake.vm_power_state("ck-rg", "vm1").as_deref(), Some("PowerState/deallocated"), "state restored");

    fake.cancel_next_operation();
    let e = rm.resource_groups().delete("ck-rg").send().await.unwrap_err();
    assert!(matches!(e, ArmError::OperationFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("OperationCanceled"));
    assert!(fake.has_resource_group("ck-rg"), "a canceled deletion leaves the group");

    fake.set_async_operation_on_actions(true);
    fake.cancel_next_operation();
    let e = vms.restart(SEEDED_RESOURCE_GROUP, SEEDED_VM).send().await.unwrap_err();
    assert!(matches!(e, ArmError::OperationFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("OperationCanceled"));
    assert!(e.to_string().contains("Canceled"), "{e}");

    // the deadline: an operation that stays in progress
    fake.set_in_progress_polls(1_000_000);
    let started = Instant::now();
    let e = vms
        .power_off(SEEDED_RESOURCE_GROUP, SEEDED_VM)
        .begin()
        .await
        .unwrap()
        .max_wait(Duration::from_millis(300))
        .wait()
        .await
        .unwrap_err();
    assert!(matches!(e, ArmError::WaitTimeout(_)), "{e:?}");
    assert!(e.to_string().contains("LongRunningOperation"), "{e}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// 429 `TooManyRequests` with `Retry-After` is retried by the pipeline after the given delay, then
/// succeeds; when the retries run out it is `Throttled`.
#[tokio::test]
async fn throttling_is_retried_after_retry_after_then_typed() {
    let Arm { fake, rm } = arm().await;
    let path = format!("/resourcegroups/{SEEDED_RESOURCE_GROUP}");

    fake.throttle_next(1, 1);
    let started = Instant::now();
    rm.resource_groups().get(SEEDED_RESOURCE_GROUP).send().await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(900), "Retry-After: 1 honoured: {:?}", started.elapsed());
    assert_eq!(fake.requests_to("GET", &path).len(), 2);

    fake.throttle_next(2, 0);
    let page = rm.resource_groups().list().send().await.unwrap();
    assert_eq!(page.value.len(), 2);

    fake.clear_requests();
    fake.throttle_next(3, 0);
    let e = rm.resource_groups().get(SEEDED_RESOURCE_GROUP).send().await.unwrap_err();
    assert!(matches!(e, ArmError::Throttled(_)), "{e:?}");
    assert!(e.is_throttling());
    assert_eq!(e.code(), Some("TooManyRequests"));
    assert_eq!(e.status().map(|s| s.as_u16()), Some(429));
    assert_eq!(fake.requests_to("GET", &path).len(), 3, "the standard three attempts");
    assert!(e.to_string().contains("attempts"), "{e}");
    // the throttling is over
    rm.resource_groups().get(SEEDED_RESOURCE_GROUP).send().await.unwrap();
}

/// Every error shows the request id (`x-ms-request-id`) and the correlation id
/// (`x-ms-correlation-request-id`), what Azure support asks for.
#[tokio::test]
async fn errors_show_the_request_and_correlation_ids() {
    let Arm { fake: _fake, rm } = arm().await;
    let e = rm.virtual_machines().get(SEEDED_RESOURCE_GROUP, "nope").send().await.unwrap_err();
    assert!(matches!(e, ArmError::ResourceNotFound(_)), "{e:?}");
    let text = e.to_string();
    let request_id = e.request_id().unwrap();
    let correlation_id = e.correlation_id().unwrap();
    assert_eq!(request_id.len(), 36, "a GUID: {request_id}");
    assert_eq!(correlation_id.len(), 36, "a GUID: {correlation_id}");
    assert!(text.contains(&format!("request id {request_id}")), "{text}");
    assert!(text.contains(&format!("(correlation id {correlation_id})")), "{text}");
    assert!(text.contains("ResourceNotFound") && text.contains("'Microsoft.Compute/virtualMachines/nope'"), "{text}");
    assert!(text.contains("HTTP 404"), "{text}");

    let e = rm.resource_groups().get("ck-missing").send().await.unwrap_err();
    assert!(e.to_string().contains(e.request_id().unwrap()) && e.correlation_id().is_some(), "{e}");
}

// ---------------------------------------------------------------------------------------------
// Any resource, generically
// ---------------------------------------------------------------------------------------------

/// `az resource` on the fake's invented `Contoso.Widgets/widgets`: without an api-version the client
/// reads the provider and takes the newest non-preview one (`2024-06-01` over `2025-01-01-preview`);
/// with one it sends it as given.
#[tokio::test]
async fn generic_resources_with_and_without_an_explicit_api_version() {
    let Arm { fake, rm } = arm().await;
    let res = rm.resources();
    let stable = WIDGET_API_VERSIONS[1];
    let preview = WIDGET_API_VERSIONS[0];
    let id = widget_id(SEEDED_RESOURCE_GROUP, "w1");
    assert_eq!(res.id(SEEDED_RESOURCE_GROUP, "Contoso.Widgets", "widgets", "w1").unwrap(), id);

    let provider = rm.providers().get("Contoso.Widgets").send().await.unwrap();
    assert_eq!(provider.default_api_version("widgets"), Some(stable));

    fake.clear_requests();
    let created = res
        .create_or_update(&id, json!({"location": "eastus", "tags": {"a": "1"}, "properties": {"size": 3}}))
        .send()
        .await
        .unwrap();
    assert_eq!(created["id"], id.as_str());
    assert_eq!(created["properties"]["provisioningState"], "Succeeded");
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "{requests:#?}");
    assert_eq!(
        (requests[0].method.as_str(), requests[0].path.as_str()),
        ("GET", format!("/subscriptions/{SUBSCRIPTION_ID}/providers/Contoso.Widgets").as_str())
    );
    assert_eq!(requests[0].api_version(), Some(RESOURCES_API_VERSION));
    assert_eq!((requests[1].method.as_str(), requests[1].path.as_str()), ("PUT", id.as_str()));
    assert_eq!(requests[1].api_version(), Some(stable), "the newest non-preview api-version");
    assert_eq!(requests[1].json()["properties"]["size"], 3);

    fake.clear_requests();
    let got = res.get(&id).api_version(preview).send().await.unwrap();
    assert_eq!(got["properties"]["size"], 3);
    let patched = res.update(&id, json!({"tags": {"b": "2"}})).api_version(preview).send().await.unwrap();
    assert_eq!(patched["tags"], json!({"b": "2"}));
    let requests = fake.requests();
    assert_eq!(requests.len(), 2, "no providers read with an explicit api-version: {requests:#?}");
    assert_eq!((requests[0].method.as_str(), requests[0].api_version()), ("GET", Some(preview)));
    assert_eq!((requests[1].method.as_str(), requests[1].api_version()), ("PATCH", Some(preview)));
    assert_eq!(requests[1].json(), json!({"tags": {"b": "2"}}));

    // a second widget, and the VM, by the generic listings
    res.create_or_update(widget_id(SEEDED_RESOURCE_GROUP, "w2"), json!({"location": "eastus"}))
        .api_version(stable)
        .send()
        .await
        .unwrap();
    fake.add_vm("ck-other", "vm-x", "eastus", "running");
    res.create_or_update(widget_id("ck-other", "w3"), json!({"location": "eastus"}))
        .api_version(stable)
        .send()
        .await
        .unwrap();
    fake.clear_requests();
    let by_type: Vec<_> =
        res.list().resource_type(WIDGET_TYPE).into_items(PaginationConfig::default()).try_collect().await.unwrap();
    let mut names: Vec<&str> = by_type.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["w1", "w2", "w3"]);
    assert!(by_type.iter().all(|r| r.resource_type == WIDGET_TYPE));
    let lists = fake.requests_to("GET", "/resources");
    assert!(lists.len() >= 3, "3 widgets, 2 per page, an empty page: {}", lists.len());
    assert!(lists.iter().all(|r| r.api_version() == Some(RESOURCES_API_VERSION)
        && r.query_param("$filter") == Some("resourceType eq 'Contoso.Widgets/widgets'")));
    let in_group: Vec<_> = res
        .list_by_resource_group(SEEDED_RESOURCE_GROUP)
        .into_items(PaginationConfig::default())
        .try_collect()
        .await
        .unwrap();
    let mut names: Vec<&str> = in_group.iter().map(|r| r.name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, [SEEDED_VM, "w1", "w2"], "the VM and the widgets of the group");
    assert!(fake.requests_to("GET", &format!("/resourceGroups/{SEEDED_RESOURCE_GROUP}/resources")).len() >= 2);

    // the VM by its id, api-version from Microsoft.Compute's provider document
    fake.clear_requests();
    let vm = res.get(vm_path(SEEDED_RESOURCE_GROUP, SEEDED_VM)).send().await.unwrap();
    assert_eq!(vm["name"], SEEDED_VM);
    let requests = fake.requests();
    assert!(requests[0].path.ends_with("/providers/Microsoft.Compute"));
    assert_eq!(requests[1].api_version(), Some(COMPUTE_API_VERSION));

    // delete: 202 + Azure-AsyncOperation + Location, polled on the status URL
    fake.clear_requests();
    let poller = res.delete(&id).api_version(stable).begin_delete().await.unwrap();
    assert_eq!(poller.initial_status(), 202);
    assert!(poller.async_operation_url().unwrap().contains("/operationStatuses/"));
    poller.wait().await.unwrap();
    assert_eq!(res.delete(widget_id(SEEDED_RESOURCE_GROUP, "w2")).send().await.unwrap(), Value::Null);
    let e = res.get(&id).api_version(stable).send().await.unwrap_err();
    assert!(matches!(e, ArmError::ResourceNotFound(_)), "{e:?}");
    assert_eq!(fake.requests_to("DELETE", "/widgets/w1")[0].api_version(), Some(stable));
    assert_eq!(
        fake.requests_to("DELETE", "/widgets/w2")[0].api_version(),
        Some(stable),
        "no api-version given: resolved through providers.get"
    );

    // wrong api-version and wrong namespace: ARM's typed 400 / 404
    let e = res.get(widget_id(SEEDED_RESOURCE_GROUP, "w2")).api_version("1999-01-01").send().await.unwrap_err();
    assert_eq!(e.code(), Some("NoRegisteredProviderFound"), "{e}");
    let e = res
        .get(format!("/subscriptions/{SUBSCRIPTION_ID}/resourceGroups/x/providers/Nope.Nothing/things/t"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(e.code(), Some("InvalidResourceNamespace"), "{e}");
    // begin() is for PUT and PATCH; an id that is not one is refused before sending
    assert!(res.get(&id).begin().await.is_err());
    assert!(res.get("/not/an/id").api_version(stable).send().await.is_err());
    assert_all_arm_requests_bearer(&fake);
}

/// `resources().action(id, name)` (`az resource invoke-action`) on the fake's widgets: `listKeys`
/// answers 200 with the keys at once; `regenerateKey` answers 202 and is polled on its `Location`
/// (or `Azure-AsyncOperation`, then the result from `Location`), whose final 200 is the result.
#[tokio::test]
async fn generic_resource_actions_sync_and_long_running() {
    let Arm { fake, rm } = arm().await;
    let res = rm.resources();
    let stable = WIDGET_API_VERSIONS[1];
    let id = widget_id(SEEDED_RESOURCE_GROUP, "w-keys");
    res.create_or_update(&id, json!({"location": "eastus"})).api_version(stable).send().await.unwrap();

    fake.clear_requests();
    let poller = res.action(&id, "listKeys").api_version(stable).begin().await.unwrap();
    assert!(poller.is_done(), "a 200 is the result");
    let keys = poller.wait().await.unwrap();
    let key1 = keys["keys"][0]["value"].as_str().unwrap().to_owned();
    let key2 = keys["keys"][1]["value"].as_str().unwrap().to_owned();
    assert_eq!(keys["keys"][0]["keyName"], "key1");
    let posts = fake.requests_to("POST", &format!("{id}/listKeys"));
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0].api_version(), Some(stable));
    assert_eq!(fake.requests().len(), 1, "nothing polled");

    // long-running, polled on the Location URL
    let poller =
        res.action(&id, "regenerateKey").body(json!({"keyName": "key1"})).api_version(stable).begin().await.unwrap();
    assert_eq!(poller.initial_status(), 202);
    assert!(!poller.is_done() && poller.async_operation_url().is_none());
    assert!(poller.location_url().unwrap().contains("/operationStatuses/"));
    let fresh = poller.wait().await.unwrap();
    let new1 = fresh["keys"][0]["value"].as_str().unwrap().to_owned();
    assert_ne!(new1, key1, "key1 regenerated");
    assert_eq!(fresh["keys"][1]["value"], key2.as_str(), "key2 kept");
    assert_eq!(fake.requests_to("POST", "/regenerateKey")[0].json(), json!({"keyName": "key1"}));
    let polls: Vec<_> = fake.requests().into_iter().filter(|r| r.path.contains("/operationStatuses/")).collect();
    assert_eq!(polls.len(), 3, "202, 202, then the result");
    assert!(polls.iter().all(|r| r.query_param("monitor") == Some("true")));

    // with Azure-AsyncOperation: the status URL until Succeeded, then the result from Location
    fake.set_async_operation_on_actions(true);
    fake.clear_requests();
    let fresh = res.action(&id, "regenerateKey").body(json!({"keyName": "key2"})).api_version(stable).send();
    let fresh = fresh.await.unwrap();
    assert_ne!(fresh["keys"][1]["value"], key2.as_str(), "key2 regenerated");
    assert_eq!(fresh["keys"][0]["value"], new1.as_str());
    let polls: Vec<_> = fake.requests().into_iter().filter(|r| r.path.contains("/operationStatuses/")).collect();
    let monitors: Vec<Option<&str>> = polls.iter().map(|r| r.query_param("monitor")).collect();
    assert_eq!(monitors, [None, None, None, Some("true")], "three status polls, then the Location");
    assert_eq!(res.action(&id, "listKeys").api_version(stable).send().await.unwrap(), fresh);

    // a failed one; a bad body; an action the type does not have; no api-version: the provider's
    fake.fail_next_operation("KeyRotationFailed", "The key could not be regenerated.");
    let e = res.action(&id, "regenerateKey").body(json!({"keyName": "key1"})).api_version(stable).send().await;
    let e = e.unwrap_err();
    assert!(matches!(e, ArmError::OperationFailed(_)), "{e:?}");
    assert_eq!(e.code(), Some("KeyRotationFailed"));
    let e = res.action(&id, "regenerateKey").body(json!({"keyName": "key9"})).api_version(stable).send().await;
    assert_eq!(e.unwrap_err().code(), Some("InvalidRequestContent"));
    let e = res.action(&id, "reboot").api_version(stable).send().await.unwrap_err();
    assert_eq!((e.status().map(|s| s.as_u16()), e.code()), (Some(404), Some("InvalidResourceType")), "{e}");
    fake.clear_requests();
    res.action(&id, "listKeys").send().await.unwrap();
    let requests = fake.requests();
    assert!(requests[0].path.ends_with("/providers/Contoso.Widgets"));
    assert_eq!(requests[1].api_version(), Some(stable), "the newest non-preview api-version");
    assert_all_arm_requests_bearer(&fake);
}

// ---------------------------------------------------------------------------------------------
// Microsoft's mock server for ARM conventions (`@azure-tools/azure-http-specs`)
// ---------------------------------------------------------------------------------------------

/// The endpoint of `tsp-spector serve` over `@azure-tools/azure-http-specs` that `scripts/testbed.sh
/// up` started, or `None` (with a message) when the testbed did not start it.
fn specs_endpoint() -> Option<String> {
    let endpoint = Testbed::global().get("CLOUDKIT_TEST_ARM_SPECS_ENDPOINT");
    if endpoint.is_none() {
        eprintln!(
            "SKIPPED: CLOUDKIT_TEST_ARM_SPECS_ENDPOINT is not set (run `bash scripts/testbed.sh up`, which serves \
             @azure-tools/azure-http-specs with tsp-spector)"
        );
    }
    endpoint
}

/// The subscription and resource group every azure-http-specs ARM scenario expects.
const SPECS_SUBSCRIPTION: &str = "00000000-0000-0000-0000-000000000000";
/// The api-version of the `Azure.ResourceManager.*` scenarios.
const SPECS_API_VERSION: &str = "2023-12-01-preview";

/// A client of Microsoft's mock server. It checks no token, but the client still gets one the real
/// way: from the fake's Entra endpoint (the fake is returned so that it lives as long as the client).
async fn specs_client(endpoint: &str) -> (ArmFake, ArmClient) {
    let fake = ArmFake::start().unwrap();
    let config = AzureConfig::loader()
        .env(fake.azure_env())
        .allow_loopback_http(true)
        .resource_manager_endpoint(endpoint.parse().unwrap())
        .subscription_id(SPECS_SUBSCRIPTION)
        .load()
        .await
        .unwrap();
    let rm = ArmClient::builder(&config).lro_config(fast_lro()).build().unwrap();
    (fake, rm)
}

fn specs_id(provider_and_type: &str, name: &str) -> String {
    format!("/subscriptions/{SPECS_SUBSCRIPTION}/resourceGroups/test-rg/providers/{provider_and_type}/{name}")
}

/// Microsoft's reading of the long-running-operation rules (`Azure_ResourceManager_OperationTemplates_Lro_*`,
/// spec-summary.md of @azure-tools/azure-http-specs), run through the generic poller:
/// - PUT `orders/order1` → 201 (`provisioningState: InProgress`) + `Azure-AsyncOperation`, whose
///   status is `InProgress`, then `Succeeded`; the final state is a GET of the resource (`Succeeded`);
/// - DELETE `orders/order1` → 202 + `Location`, which answers 202, then 204;
/// - the POST action `orders/order1/export` (`{"format": "csv"}`) → 202 + `Location` +
///   `Azure-AsyncOperation`; the status answers `InProgress`, then `Succeeded`, and the result is the
///   `Location` URL's 200 (`{"content": "order1,product1,1"}`);
/// - a synchronous PUT (200, `Succeeded`) and DELETE (204) of `topLevelTrackedResources/top`, PATCH
///   of `widgets/widget1`, and the typed VM GET of the multi-service scenario.
#[tokio::test]
async fn arm_specs_generic_poller_put_and_delete() {
    let Some(endpoint) = specs_endpoint() else { return };
    let (_fake, rm) = specs_client(&endpoint).await;
    let res = rm.resources();

    let order = specs_id("Azure.ResourceManager.OperationTemplates/orders", "order1");
    let body = json!({"location": "eastus", "properties": {"productId": "product1", "amount": 1}});
    let poller = res.create_or_update(&order, body.clone()).api_version(SPECS_API_VERSION).begin().await.unwrap();
    assert_eq!(poller.initial_status(), 201);
    assert!(poller.async_operation_url().unwrap().ends_with("/locations/eastus/operations/lro_create_aao"));
    assert!(!poller.is_done(), "provisioningState InProgress with an Azure-AsyncOperation");
    let created = poller.wait().await.unwrap();
    assert_eq!(created["id"], order.as_str());
    assert_eq!(created["properties"]["provisioningState"], "Succeeded", "{created}");
    assert_eq!(created["properties"]["productId"], "product1");
    // `send()` runs the same scenario again (its counter restarts with the PUT)
    let again = res.create_or_update(&order, body).api_version(SPECS_API_VERSION).send().await.unwrap();
    assert_eq!(again["properties"]["provisioningState"], "Succeeded");

    // `Azure_ResourceManager_OperationTemplates_Lro_export`: a POST action with a result
    let poller = res
        .action(&order, "export")
        .body(json!({"format": "csv"}))
        .api_version(SPECS_API_VERSION)
        .begin()
        .await
        .unwrap();
    assert_eq!(poller.initial_status(), 202);
    assert!(poller.async_operation_url().unwrap().ends_with("/locations/eastus/operations/lro_post_aao"));
    assert!(poller.location_url().unwrap().ends_with("/locations/eastus/operations/lro_post_location"));
    assert!(!poller.is_done());
    assert_eq!(poller.wait().await.unwrap(), json!({"content": "order1,product1,1"}));

    let poller = res.delete(&order).api_version(SPECS_API_VERSION).begin_delete().await.unwrap();
    assert_eq!(poller.initial_status(), 202);
    assert!(poller.async_operation_url().is_none());
    assert!(poller.location_url().unwrap().ends_with("/locations/eastus/operationResults/lro_delete_location"));
    poller.wait().await.unwrap();
    assert_eq!(res.delete(&order).api_version(SPECS_API_VERSION).send().await.unwrap(), Value::Null);

    // synchronous answers: nothing to poll
    let top = specs_id("Azure.ResourceManager.Resources/topLevelTrackedResources", "top");
    let poller = res
        .create_or_update(&top, json!({"location": "eastus", "properties": {"description": "valid"}}))
        .api_version(SPECS_API_VERSION)
        .begin()
        .await
        .unwrap();
    assert!(poller.is_done(), "200 with provisioningState Succeeded");
    assert_eq!(poller.wait().await.unwrap()["properties"]["provisioningState"], "Succeeded");
    let poller = res.delete(&top).api_version(SPECS_API_VERSION).begin_delete().await.unwrap();
    assert_eq!(poller.initial_status(), 204);
    assert!(poller.is_done());

    let widget = specs_id("Azure.ResourceManager.OperationTemplates/widgets", "widget1");
    let got = res.get(&widget).api_version(SPECS_API_VERSION).send().await.unwrap();
    assert_eq!(got["properties"]["description"], "A test widget");
    let patched = res
        .update(&widget, json!({"properties": {"name": "updated-widget", "description": "Updated description"}}))
        .api_version(SPECS_API_VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(patched["properties"]["description"], "Updated description");

    // the typed client on `Azure_ResourceManager_MultiService_Compute_VirtualMachines_get` (2025-04-01)
    let vm = rm.virtual_machines().get("test-rg", "vm1").send().await.unwrap();
    assert_eq!((vm.name.as_str(), vm.location.as_str()), ("vm1", "eastus"));
    assert_eq!(vm.provisioning_state.as_deref(), Some("Succeeded"));
    assert_eq!(vm.resource_group(), Some("test-rg"));

    // a 400 whose body is not ARM's shape (`{"error": "<text>"}`) keeps the text as the message
    let e = res
        .update(&widget, json!({"properties": {"name": "other"}}))
        .api_version(SPECS_API_VERSION)
        .send()
        .await
        .unwrap_err();
    assert!(matches!(e, ArmError::Other(_)), "{e:?}");
    assert_eq!((e.status().map(|s| s.as_u16()), e.code()), (Some(400), None), "{e}");
    assert!(e.to_string().contains("Invalid request body values"), "{e}");
}

/// Microsoft's paging scenario (`Azure_Payload_Pageable_list`: three items and a `nextLink` holding a
/// `skipToken`, then one item without one) through the client's pager: a listing started at a
/// `nextLink` (`PaginationConfig::starting_token`) follows the service's links as given, on any path.
/// (No list operation of the client has a path the mock server serves, so the pager starts there.)
#[tokio::test]
async fn arm_specs_pager_follows_next_link() {
    let Some(endpoint) = specs_endpoint() else { return };
    let (_fake, rm) = specs_client(&endpoint).await;
    let start = format!("{}/azure/payload/pageable?maxpagesize=3", endpoint.trim_end_matches('/'));
    let pages: Vec<_> = rm
        .resources()
        .list()
        .into_pages(PaginationConfig::default().starting_token(start.clone()))
        .try_collect()
        .await
        .unwrap();
    let names: Vec<Vec<&str>> = pages.iter().map(|p| p.value.iter().map(|r| r.name.as_str()).collect()).collect();
    assert_eq!(names, [vec!["user5", "user6", "user7"], vec!["user8"]]);
    assert!(pages[0].next_link.as_deref().unwrap().contains("skipToken=name-user7"));
    assert!(pages[1].next_link.is_none());

    let items: Vec<_> = rm
        .resources()
        .list()
        .into_items(PaginationConfig::default().starting_token(start).max_items(2))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(items.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(), ["user5", "user6"]);

    // an ARM list of the mock server (one page, no nextLink)
    let list = format!(
        "{}/subscriptions/{SPECS_SUBSCRIPTION}/resourceGroups/test-rg/providers/Azure.ResourceManager.Resources/topLevelTrackedResources?api-version={SPECS_API_VERSION}",
        endpoint.trim_end_matches('/')
    );
    let top: Vec<_> = rm
        .resources()
        .list_by_resource_group("test-rg")
        .into_items(PaginationConfig::default().starting_token(list))
        .try_collect()
        .await
        .unwrap();
    assert_eq!(
        top.iter().map(|r| (r.name.as_str(), r.resource_type.as_str())).collect::<Vec<_>>(),
        [("top", "Azure.ResourceManager.Resources/topLevelTrackedResources")]
    );
}
