//! The EC2 client against moto (`scripts/testbed.sh up`, the no-auth instance, signed with SigV4 by
//! the real `AwsConfig` pipeline): every operation, filters, pagination across pages, tags, each
//! waiter's success path, the fast-fail failure path, NotFound / malformed-id errors and dry runs.
//!
//! moto is shared by every test and engineer at once: each test tags its instances with a unique value
//! and only looks at those; nothing asserts global counts. moto changes states instantly, never sends
//! `IncorrectInstanceState` / `InvalidInstanceID.Malformed` / throttling, so waiter timing and those
//! codes are unit-tested on canned responses in crates/aws-ec2/src/tests.rs.

// Test code: unwrap/panic are how a test fails (clippy only exempts `#[test]` fns).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::time::Duration;

use cloudkit_aws_ec2::resource::Ec2Resource;
use cloudkit_aws_ec2::waiters::WaiterError;
use cloudkit_aws_ec2::{Ec2Client, Ec2Error, Filter, InstanceStateName, IpPermission, KeyType, PaginationConfig, Tag};
use cloudkit_tests::{aws, unique_name};
use futures::TryStreamExt;

const TAG_KEY: &str = "cloudkit-ec2-it";
const AMI: &str = "ami-12c6146b";

async fn ec2() -> Ec2Client {
    Ec2Client::new(&aws::moto_config().await).unwrap()
}

fn mine(tag: &str) -> Filter {
    Filter::tag(TAG_KEY, [tag])
}

/// Launches `count` instances in one reservation, tagged `TAG_KEY=tag`.
async fn launch(ec2: &Ec2Client, tag: &str, count: u32) -> Vec<String> {
    let reservation =
        ec2.run_instances(AMI).instance_type("t3.micro").count(count).tag(TAG_KEY, tag).send().await.unwrap();
    reservation.instances.into_iter().map(|i| i.instance_id).collect()
}

async fn states_of(ec2: &Ec2Client, tag: &str) -> Vec<String> {
    let out = ec2.describe_instances().filter(mine(tag)).send().await.unwrap();
    out.state_names().into_iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn instance_lifecycle_operations_and_filters() {
    let ec2 = ec2().await;
    let tag = unique_name("lifecycle");
    let token = unique_name("tok");
    let reservation = ec2
        .run_instances(AMI)
        .instance_type("t3.micro")
        .count(2)
        .user_data("#!/bin/sh\necho cloudkit\n")
        .tag(TAG_KEY, &tag)
        .tag("Name", "a&b <c>")
        .client_token(&token)
        .send()
        .await
        .unwrap();
    assert!(reservation.reservation_id.starts_with("r-"));
    assert_eq!(reservation.instances.len(), 2);
    let first = &reservation.instances[0];
    assert_eq!(first.state.name, InstanceStateName::Pending, "RunInstances answers pending");
    assert_eq!(first.image_id.as_deref(), Some(AMI));
    assert_eq!(first.instance_type.as_deref(), Some("t3.micro"));
    assert_eq!(first.tag("Name"), Some("a&b <c>"), "tag values round-trip entities");
    assert_eq!(first.client_token.as_deref(), Some(token.as_str()));
    assert!(first.launch_time.is_some());
    assert!(first.private_ip_address.is_some());
    let ids: Vec<String> = reservation.instances.iter().map(|i| i.instance_id.clone()).collect();

    // By id.
    let by_id = ec2.describe_instances().instance_ids(&ids).send().await.unwrap();
    let found: BTreeSet<_> = by_id.instances().map(|i| i.instance_id.clone()).collect();
    assert_eq!(found, ids.iter().cloned().collect());

    // Filters: tag, state, type, id (ANDed).
    assert_eq!(states_of(&ec2, &tag).await, ["running", "running"]);
    let running_mine = ec2
        .describe_instances()
        .filter(mine(&tag))
        .filter(Filter::instance_state([InstanceStateName::Running]))
        .filter(Filter::new("instance-type", ["t3.micro"]))
        .send()
        .await
        .unwrap();
    assert_eq!(running_mine.instances().count(), 2);
    let other_type = ec2
        .describe_instances()
        .filter(mine(&tag))
        .filter(Filter::new("instance-type", ["m5.large"]))
        .send()
        .await
        .unwrap();
    assert_eq!(other_type.instances().count(), 0);
    let one =
        ec2.describe_instances().filter(mine(&tag)).filter(Filter::new("instance-id", [&ids[0]])).send().await.unwrap();
    assert_eq!(one.instances().map(|i| i.instance_id.as_str()).collect::<Vec<_>>(), [ids[0].as_str()]);
    let wildcard = ec2
        .describe_instances()
        .filter(Filter::tag(TAG_KEY, [format!("{}*", &tag[..tag.len() - 3])]))
        .send()
        .await
        .unwrap();
    assert!(wildcard.instances().any(|i| i.instance_id == ids[0]), "tag filters take wildcards");

    // Stop (forced), status, start, reboot.
    let changes = ec2.stop_instances().instance_ids(&ids).force(true).send().await.unwrap();
    assert_eq!(changes.len(), 2);
    assert!(changes.iter().all(|c| c.previous_state.name == InstanceStateName::Running));
    assert!(changes.iter().all(|c| c.current_state.name == InstanceStateName::Stopping));
    assert_eq!(states_of(&ec2, &tag).await, ["stopped", "stopped"]);
    let stopped = ec2
        .describe_instances()
        .filter(mine(&tag))
        .filter(Filter::instance_state([InstanceStateName::Stopped]))
        .send()
        .await
        .unwrap();
    assert_eq!(stopped.instances().count(), 2);

    let status = ec2.describe_instance_status().instance_ids(&ids).send().await.unwrap();
    assert!(status.instance_statuses.is_empty(), "stopped instances are left out by default");
    let status = ec2.describe_instance_status().instance_ids(&ids).include_all_instances(true).send().await.unwrap();
    assert_eq!(status.instance_statuses.len(), 2);
    assert!(status.instance_statuses.iter().all(|s| s.instance_state.name == InstanceStateName::Stopped));

    // ModifyInstanceAttribute (instance type) while stopped.
    ec2.modify_instance_attribute(&ids[0]).instance_type("t3.large").send().await.unwrap();
    let reloaded = ec2.describe_instances().instance_id(&ids[0]).send().await.unwrap();
    assert_eq!(reloaded.instances().next().unwrap().instance_type.as_deref(), Some("t3.large"));

    let changes = ec2.start_instances().instance_ids(&ids).send().await.unwrap();
    assert!(changes.iter().all(|c| c.previous_state.name == InstanceStateName::Stopped));
    assert!(changes.iter().all(|c| c.current_state.name == InstanceStateName::Pending));
    ec2.reboot_instances().instance_ids(&ids).send().await.unwrap();
    let status = ec2.describe_instance_status().instance_ids(&ids).send().await.unwrap();
    assert_eq!(status.instance_statuses.len(), 2);
    assert!(status.instance_statuses.iter().all(|s| s.instance_status.as_deref() == Some("ok")));
    assert!(status.instance_statuses.iter().all(|s| s.system_status.as_deref() == Some("ok")));

    let changes = ec2.terminate_instances().instance_ids(&ids).send().await.unwrap();
    assert!(changes.iter().all(|c| c.current_state.name == InstanceStateName::ShuttingDown));
    assert_eq!(states_of(&ec2, &tag).await, ["terminated", "terminated"]);
}

#[tokio::test]
async fn pagination_spans_several_pages() {
    let ec2 = ec2().await;
    let tag = unique_name("pages");
    let mut ids = BTreeSet::new();
    for _ in 0..7 {
        // One reservation each: MaxResults counts reservations.
        ids.extend(launch(&ec2, &tag, 1).await);
    }

    let two = || PaginationConfig::default().page_size(2);
    let pages: Vec<_> = ec2.describe_instances().filter(mine(&tag)).into_pages(two()).try_collect().await.unwrap();
    assert!(pages.len() >= 4, "7 reservations at 2 per page: got {} pages", pages.len());
    assert!(pages[..pages.len() - 1].iter().all(|p| p.next_token.is_some()));
    assert!(pages.last().unwrap().next_token.is_none());

    let listed: BTreeSet<String> = ec2
        .describe_instances()
        .filter(mine(&tag))
        .into_instances(two())
        .map_ok(|i| i.instance_id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed, ids, "the flat stream yields every instance once");

    // max_items cuts mid-page; the resume token continues exactly there.
    let mut first = ec2.describe_instances().filter(mine(&tag)).into_items(two().max_items(3));
    let mut head = Vec::new();
    while let Some(r) = first.try_next().await.unwrap() {
        head.push(r.instances[0].instance_id.clone());
    }
    assert_eq!(head.len(), 3);
    let resume = first.resume_token().expect("stopped at max_items").to_string();
    let rest: Vec<String> = ec2
        .describe_instances()
        .filter(mine(&tag))
        .into_items(two().starting_token(resume))
        .map_ok(|r| r.instances[0].instance_id.clone())
        .try_collect()
        .await
        .unwrap();
    let all: BTreeSet<String> = head.iter().chain(rest.iter()).cloned().collect();
    assert_eq!(head.len() + rest.len(), 7, "no instance twice");
    assert_eq!(all, ids);

    // The other listing streams run against moto too (it returns one page for these).
    let statuses: Vec<_> = ec2
        .describe_instance_status()
        .filter(Filter::new("instance-state-name", ["running"]))
        .into_items(PaginationConfig::default().page_size(5))
        .try_collect()
        .await
        .unwrap();
    assert!(ids.iter().all(|id| statuses.iter().any(|s| &s.instance_id == id)));
    let tags: Vec<_> = ec2
        .describe_tags()
        .filter(Filter::new("key", [TAG_KEY]))
        .filter(Filter::new("value", [&tag]))
        .into_items(PaginationConfig::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(tags.len(), 7);

    ec2.terminate_instances().instance_ids(&ids).send().await.unwrap();
}

#[tokio::test]
async fn tags_create_describe_delete() {
    let ec2 = ec2().await;
    let tag = unique_name("tags");
    let id = launch(&ec2, &tag, 1).await.remove(0);
    ec2.create_tags().resource(&id).tag("env", "staging").tag("owner", "a&b").send().await.unwrap();

    let described = ec2.describe_tags().filter(Filter::new("resource-id", [&id])).send().await.unwrap();
    let pairs: BTreeSet<(String, String)> = described.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect();
    assert!(pairs.contains(&("env".into(), "staging".into())));
    assert!(pairs.contains(&("owner".into(), "a&b".into())));
    assert!(pairs.contains(&(TAG_KEY.into(), tag.clone())));
    assert!(described.tags.iter().all(|t| t.resource_id == id && t.resource_type.as_deref() == Some("instance")));

    let by_tag =
        ec2.describe_instances().filter(mine(&tag)).filter(Filter::tag("env", ["staging"])).send().await.unwrap();
    assert_eq!(by_tag.instances().count(), 1);

    ec2.delete_tags().resource(&id).key("env").tag("owner", "a&b").send().await.unwrap();
    let after = ec2.describe_tags().filter(Filter::new("resource-id", [&id])).send().await.unwrap();
    let keys: Vec<&str> = after.tags.iter().map(|t| t.key.as_str()).collect();
    assert_eq!(keys, [TAG_KEY]);

    ec2.terminate_instances().instance_id(&id).send().await.unwrap();
}

#[tokio::test]
async fn every_waiter_succeeds() {
    let ec2 = ec2().await;
    let tag = unique_name("waiters");
    let ids = launch(&ec2, &tag, 2).await;
    let quick = Duration::from_millis(100);

    let done = ec2.wait_until_instance_exists().instance_ids(&ids).min_delay(quick).wait().await.unwrap();
    assert_eq!(done.output().unwrap().instances().count(), 2);
    let done = ec2.wait_until_instance_running().instance_ids(&ids).min_delay(quick).wait().await.unwrap();
    assert_eq!(done.output().unwrap().state_names(), ["running", "running"]);
    ec2.wait_until_instance_status_ok().instance_ids(&ids).min_delay(quick).wait().await.unwrap();
    ec2.wait_until_system_status_ok().instance_ids(&ids).min_delay(quick).wait().await.unwrap();

    ec2.stop_instances().instance_ids(&ids).send().await.unwrap();
    let done = ec2.wait_until_instance_stopped().instance_ids(&ids).min_delay(quick).wait().await.unwrap();
    assert_eq!(done.output().unwrap().state_names(), ["stopped", "stopped"]);

    ec2.terminate_instances().instance_ids(&ids).send().await.unwrap();
    let done = ec2.wait_until_instance_terminated().filter(mine(&tag)).min_delay(quick).wait().await.unwrap();
    assert_eq!(done.output().unwrap().state_names(), ["terminated", "terminated"]);
}

#[tokio::test]
async fn waiting_for_running_on_a_terminated_instance_fails_fast() {
    let ec2 = ec2().await;
    let tag = unique_name("failfast");
    let id = launch(&ec2, &tag, 1).await.remove(0);
    ec2.terminate_instances().instance_id(&id).send().await.unwrap();

    let started = std::time::Instant::now();
    let err = ec2.wait_until_instance_running().instance_id(&id).wait().await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(10), "no 15 s sleep: it failed on the first poll");
    assert!(matches!(err, WaiterError::FailureState { attempts: 1, .. }), "{err}");
    assert_eq!(
        err.to_string(),
        format!(
            "waiter InstanceRunning for instance {id} reached failure state `an instance is terminated` after 1 attempt"
        )
    );
    let last = err.last().unwrap().as_ref().unwrap();
    assert_eq!(last.state_names(), ["terminated"]);

    // And stopped → waiting for terminated on a stopped-then-started (pending answer) is covered by unit tests.
    let err = ec2.wait_until_instance_stopped().instance_id(&id).wait().await.unwrap_err();
    assert!(err.to_string().contains("an instance is terminated"), "{err}");
}

#[tokio::test]
async fn not_found_and_malformed_ids() {
    let ec2 = ec2().await;
    let err = ec2.describe_instances().instance_id("i-00000000000000000").send().await.unwrap_err();
    assert!(matches!(err, Ec2Error::InstanceNotFound(_)), "{err:?}");
    assert!(err.is_not_found());
    assert_eq!(err.code(), Some("InvalidInstanceID.NotFound"));
    assert!(err.to_string().contains("EC2.DescribeInstances failed: HTTP 400 InvalidInstanceID.NotFound"), "{err}");

    let err = ec2.terminate_instances().instance_id("i-00000000000000000").send().await.unwrap_err();
    assert!(matches!(err, Ec2Error::InstanceNotFound(_)), "{err:?}");

    let err = ec2.describe_images().image_id("not-an-ami").send().await.unwrap_err();
    assert!(matches!(err, Ec2Error::ImageIdMalformed(_)), "{err:?}");
    let err = ec2.describe_images().image_id("ami-00000000000000000").send().await.unwrap_err();
    assert!(matches!(err, Ec2Error::ImageNotFound(_)), "{err:?}");

    let err = ec2.create_tags().resource("bogus-id").tag("k", "v").send().await.unwrap_err();
    assert!(matches!(err, Ec2Error::Other(_)), "{err:?}");
    assert_eq!(err.code(), Some("InvalidID"));

    let err = ec2.describe_instances().instance_id("i-00000000000000000").max_results(5).send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterCombination"));

    // The waiters that retry on NotFound keep polling; instance_stopped does not.
    let err = ec2
        .wait_until_instance_exists()
        .instance_id("i-00000000000000000")
        .min_delay(Duration::from_millis(50))
        .max_attempts(3)
        .wait()
        .await
        .unwrap_err();
    assert!(matches!(err, WaiterError::MaxAttemptsExceeded { attempts: 3, .. }), "{err}");
    let err = ec2.wait_until_instance_stopped().instance_id("i-00000000000000000").wait().await.unwrap_err();
    assert!(matches!(err, WaiterError::UnexpectedError { source: Ec2Error::InstanceNotFound(_), .. }), "{err}");
}

#[tokio::test]
async fn dry_runs_change_nothing() {
    let ec2 = ec2().await;
    let tag = unique_name("dryrun");
    let err = ec2.run_instances(AMI).tag(TAG_KEY, &tag).dry_run(true).send().await.unwrap_err();
    assert!(err.is_dry_run_success(), "{err:?}");
    assert!(matches!(err, Ec2Error::DryRunOperation(_)));
    assert!(ec2.describe_instances().filter(mine(&tag)).send().await.unwrap().reservations.is_empty());

    let id = launch(&ec2, &tag, 1).await.remove(0);
    let err = ec2.terminate_instances().instance_id(&id).dry_run(true).send().await.unwrap_err();
    assert!(err.is_dry_run_success(), "{err:?}");
    let err = ec2.stop_instances().instance_id(&id).dry_run(true).send().await.unwrap_err();
    assert!(err.is_dry_run_success(), "{err:?}");
    let err = ec2.describe_instances().filter(mine(&tag)).dry_run(true).send().await.unwrap_err();
    assert!(err.is_dry_run_success(), "{err:?}");
    assert_eq!(states_of(&ec2, &tag).await, ["running"]);
    ec2.terminate_instances().instance_id(&id).send().await.unwrap();
}

#[tokio::test]
async fn images_regions_and_zones() {
    let ec2 = ec2().await;
    let images = ec2
        .describe_images()
        .owner("amazon")
        .filter(Filter::new("name", ["amzn2-ami-hvm-2.0.*-x86_64-gp2"]))
        .send()
        .await
        .unwrap();
    assert!(!images.images.is_empty());
    assert!(images.images.iter().all(|i| i.image_id.starts_with("ami-")));
    assert!(images.images.iter().all(|i| i.name.as_deref().is_some_and(|n| n.starts_with("amzn2-ami-hvm-2.0."))));
    assert!(images.images.iter().all(|i| i.architecture.as_deref() == Some("x86_64")));
    assert!(images.images.iter().all(|i| i.creation_date.is_some()), "creation dates parse as timestamps");
    let one = &images.images[0];
    let by_id = ec2.describe_images().image_id(&one.image_id).send().await.unwrap();
    assert_eq!(by_id.images.len(), 1);
    assert_eq!(by_id.images[0].name, one.name);
    let paged: Vec<_> = ec2
        .describe_images()
        .owner("amazon")
        .filter(Filter::new("name", ["amzn2-ami-hvm-2.0.*-x86_64-gp2"]))
        .into_items(PaginationConfig::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(paged.len(), images.images.len());

    let regions = ec2.describe_regions().send().await.unwrap();
    let us_east = regions.iter().find(|r| r.region_name == "us-east-1").unwrap();
    assert_eq!(us_east.endpoint.as_deref(), Some("ec2.us-east-1.amazonaws.com"));
    let only = ec2.describe_regions().region_name("eu-west-1").send().await.unwrap();
    assert_eq!(only.iter().map(|r| r.region_name.as_str()).collect::<Vec<_>>(), ["eu-west-1"]);

    let zones = ec2.describe_availability_zones().send().await.unwrap();
    assert!(zones.iter().any(|z| z.zone_name == "us-east-1a"));
    assert!(zones.iter().all(|z| z.region_name.as_deref() == Some("us-east-1")));
}

#[tokio::test]
async fn key_pairs() {
    let ec2 = ec2().await;
    let name = unique_name("kp");
    let created = ec2.create_key_pair(&name).send().await.unwrap();
    assert_eq!(created.info.key_name, name);
    assert!(created.key_material.expose().contains("PRIVATE KEY"));
    assert!(!format!("{created:?}").contains("PRIVATE KEY"), "key material is redacted in Debug");
    let err = ec2.create_key_pair(&name).send().await.unwrap_err();
    assert!(matches!(err, Ec2Error::KeyPairDuplicate(_)), "{err:?}");

    let ed = unique_name("kp-ed");
    let created = ec2.create_key_pair(&ed).key_type(KeyType::Ed25519).send().await.unwrap();
    assert!(created.key_material.expose().contains("OPENSSH PRIVATE KEY"));

    let imported_name = unique_name("kp-import");
    let public = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl cloudkit";
    let imported = ec2.import_key_pair(&imported_name, public).send().await.unwrap();
    assert_eq!(imported.key_name, imported_name);
    assert!(imported.key_fingerprint.is_some());

    let listed = ec2.describe_key_pairs().key_name(&name).key_name(&imported_name).send().await.unwrap();
    let names: BTreeSet<&str> = listed.iter().map(|k| k.key_name.as_str()).collect();
    assert_eq!(names, [name.as_str(), imported_name.as_str()].into_iter().collect());

    // A launch with the key pair records it.
    let tag = unique_name("kp-launch");
    let reservation = ec2.run_instances(AMI).key_name(&name).tag(TAG_KEY, &tag).send().await.unwrap();
    assert_eq!(reservation.instances[0].key_name.as_deref(), Some(name.as_str()));
    let with_key =
        ec2.describe_instances().filter(mine(&tag)).filter(Filter::new("key-name", [&name])).send().await.unwrap();
    assert_eq!(with_key.instances().count(), 1);
    ec2.terminate_instances().instance_id(&reservation.instances[0].instance_id).send().await.unwrap();

    for k in [&name, &ed, &imported_name] {
        ec2.delete_key_pair(k).send().await.unwrap();
    }
    let err = ec2.describe_key_pairs().key_name(&name).send().await.unwrap_err();
    assert!(matches!(err, Ec2Error::KeyPairNotFound(_)), "{err:?}");
}

#[tokio::test]
async fn security_groups() {
    let ec2 = ec2().await;
    let name = unique_name("sg");
    let group_id = ec2.create_security_group(&name, "cloudkit test group").send().await.unwrap();
    assert!(group_id.starts_with("sg-"));
    let err = ec2.create_security_group(&name, "again").send().await.unwrap_err();
    assert!(matches!(err, Ec2Error::SecurityGroupDuplicate(_)), "{err:?}");

    let rules = ec2
        .authorize_security_group_ingress(&group_id)
        .permission(IpPermission::tcp(22, 22).cidr("10.0.0.0/8", Some("ssh")))
        .permission(IpPermission::tcp(443, 443).cidr("0.0.0.0/0", None))
        .send()
        .await
        .unwrap();
    // AWS returns one rule id per rule; moto 5.2 lists only the last permission's rule.
    assert!(!rules.is_empty() && rules.iter().all(|r| r.starts_with("sgr-")), "{rules:?}");

    let described = ec2.describe_security_groups().group_id(&group_id).send().await.unwrap();
    let group = &described.security_groups[0];
    assert_eq!(group.group_name.as_deref(), Some(name.as_str()));
    assert_eq!(group.description.as_deref(), Some("cloudkit test group"));
    let ssh = group.ip_permissions.iter().find(|p| p.from_port == Some(22)).unwrap();
    assert_eq!(ssh.ip_protocol, "tcp");
    assert_eq!(ssh.ipv4_ranges[0].cidr, "10.0.0.0/8");
    assert_eq!(ssh.ipv4_ranges[0].description.as_deref(), Some("ssh"));
    assert!(group.ip_permissions.iter().any(|p| p.from_port == Some(443)));
    assert!(!group.ip_permissions_egress.is_empty());

    let by_filter: Vec<_> = ec2
        .describe_security_groups()
        .filter(Filter::new("group-name", [&name]))
        .into_items(PaginationConfig::default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(by_filter.iter().map(|g| g.group_id.as_str()).collect::<Vec<_>>(), [group_id.as_str()]);

    // Launch into the group.
    let tag = unique_name("sg-launch");
    let reservation = ec2.run_instances(AMI).security_group_id(&group_id).tag(TAG_KEY, &tag).send().await.unwrap();
    let instance = &reservation.instances[0];
    ec2.terminate_instances().instance_id(&instance.instance_id).send().await.unwrap();

    ec2.delete_security_group(&group_id).send().await.unwrap();
    let err = ec2.describe_security_groups().group_id(&group_id).send().await.unwrap_err();
    assert!(matches!(err, Ec2Error::SecurityGroupNotFound(_)), "{err:?}");
}

#[tokio::test]
async fn resource_api() {
    let ec2 = Ec2Resource::new(ec2().await);
    let tag = unique_name("resource");
    let mut instances =
        ec2.create_instances(AMI).instance_type("t3.micro").count(2).tag(TAG_KEY, &tag).send().await.unwrap();
    assert_eq!(instances.len(), 2);
    let instance = &mut instances[0];
    assert_eq!(instance.state().unwrap().name, InstanceStateName::Pending);
    instance.wait_until_running().await.unwrap();
    assert_eq!(instance.state().unwrap().name, InstanceStateName::Running, "the waiter refreshes the handle");
    instance.reload().await.unwrap();
    assert_eq!(instance.instance_type(), Some("t3.micro"));
    assert_eq!(instance.image_id(), Some(AMI));
    assert!(instance.private_ip_address().is_some() && instance.public_ip_address().is_some());
    assert!(instance.launch_time().is_some());

    instance.create_tags([Tag::new("role", "web")]).await.unwrap();
    instance.reload().await.unwrap();
    assert!(instance.tags().contains(&Tag::new("role", "web")));

    let mine_all: Vec<_> = ec2.instances().page_size(5).filter([mine(&tag)]).try_collect().await.unwrap();
    assert_eq!(mine_all.len(), 2);
    let web: Vec<_> = ec2.instances().filter([mine(&tag), Filter::tag("role", ["web"])]).try_collect().await.unwrap();
    assert_eq!(web.iter().map(|i| i.id()).collect::<Vec<_>>(), [instance.id()]);
    let all: Vec<_> = ec2.instances().page_size(50).all().try_collect().await.unwrap();
    assert!(all.iter().any(|i| i.id() == instance.id()));

    let change = instance.stop().await.unwrap();
    assert_eq!(change.current_state.name, InstanceStateName::Stopping);
    instance.wait_until_stopped().await.unwrap();
    assert_eq!(instance.state().unwrap().name, InstanceStateName::Stopped);
    instance.start().await.unwrap();
    instance.wait_until_running().await.unwrap();
    instance.reboot().await.unwrap();

    let mut handle = ec2.instance(instance.id());
    assert!(handle.state().is_none(), "not loaded yet");
    handle.reload().await.unwrap();
    assert_eq!(handle.state().unwrap().name, InstanceStateName::Running);

    for i in &mut instances {
        i.terminate().await.unwrap();
        i.wait_until_terminated().await.unwrap();
        assert_eq!(i.state().unwrap().name, InstanceStateName::Terminated);
    }
}
