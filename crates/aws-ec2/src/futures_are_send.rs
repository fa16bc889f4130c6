//! Every public future of this crate is `Send` (docs/ARCHITECTURE.md, "Time, progress,
//! futures"): users spawn them on multi-threaded runtimes. Checked at compile time on futures that
//! are created and never polled (no request is sent), each alone and awaited inside another
//! future; the listing streams are `Send` streams.

use cloudkit_core::RetryConfig;
use cloudkit_core::assert_send;
use cloudkit_core::testing::is_send;

use crate::resource::Ec2Resource;
use crate::tests::client;
use crate::{Filter, IpPermission, KeyType, PaginationConfig, Tag};

#[tokio::test]
async fn client_builders_waiters_streams_and_resources() {
    let (ec2, http) = client(RetryConfig::standard()).await;

    // Every builder's send().
    assert_send!(ec2.run_instances("ami-1").send());
    assert_send!(ec2.describe_instances().send());
    assert_send!(ec2.describe_instance_status().send());
    assert_send!(ec2.start_instances().instance_id("i-1").send());
    assert_send!(ec2.stop_instances().instance_id("i-1").send());
    assert_send!(ec2.reboot_instances().instance_id("i-1").send());
    assert_send!(ec2.terminate_instances().instance_id("i-1").send());
    assert_send!(ec2.modify_instance_attribute("i-1").instance_type("t3.large").send());
    assert_send!(ec2.create_tags().resource("i-1").tag("k", "v").send());
    assert_send!(ec2.delete_tags().resource("i-1").send());
    assert_send!(ec2.describe_tags().send());
    assert_send!(ec2.describe_images().send());
    assert_send!(ec2.describe_regions().send());
    assert_send!(ec2.describe_availability_zones().send());
    assert_send!(ec2.create_key_pair("k").key_type(KeyType::Rsa).send());
    assert_send!(ec2.import_key_pair("k", "ssh-ed25519 AAAA").send());
    assert_send!(ec2.describe_key_pairs().send());
    assert_send!(ec2.delete_key_pair("k").send());
    assert_send!(ec2.create_security_group("g", "d").send());
    assert_send!(ec2.authorize_security_group_ingress("sg-1").permission(IpPermission::tcp(22, 22)).send());
    assert_send!(ec2.describe_security_groups().send());
    assert_send!(ec2.delete_security_group("sg-1").send());

    // Every listing stream.
    let config = PaginationConfig::default;
    is_send(&ec2.describe_instances().into_pages(config()));
    is_send(&ec2.describe_instances().into_items(config()));
    is_send(&ec2.describe_instances().into_instances(config()));
    is_send(&ec2.describe_instance_status().into_pages(config()));
    is_send(&ec2.describe_instance_status().into_items(config()));
    is_send(&ec2.describe_tags().into_pages(config()));
    is_send(&ec2.describe_tags().into_items(config()));
    is_send(&ec2.describe_images().into_pages(config()));
    is_send(&ec2.describe_images().into_items(config()));
    is_send(&ec2.describe_security_groups().into_pages(config()));
    is_send(&ec2.describe_security_groups().into_items(config()));

    // Every waiter.
    assert_send!(ec2.wait_until_instance_exists().wait());
    assert_send!(ec2.wait_until_instance_running().wait());
    assert_send!(ec2.wait_until_instance_stopped().wait());
    assert_send!(ec2.wait_until_instance_terminated().wait());
    assert_send!(ec2.wait_until_instance_status_ok().wait());
    assert_send!(ec2.wait_until_system_status_ok().wait());

    // The resource API.
    let resource = Ec2Resource::new(ec2.clone());
    is_send(&resource.instances().all());
    is_send(&resource.instances().page_size(5).filter([Filter::tag_key(["k"])]));
    assert_send!(resource.create_instances("ami-1").send());
    let mut instance = resource.instance("i-1");
    assert_send!(instance.start());
    assert_send!(instance.stop());
    assert_send!(instance.reboot());
    assert_send!(instance.terminate());
    assert_send!(instance.create_tags([Tag::new("k", "v")]));
    assert_send!(instance.reload());
    assert_send!(instance.wait_until_running());
    assert_send!(instance.wait_until_stopped());
    assert_send!(instance.wait_until_terminated());
    assert_send!(instance.wait_with(ec2.wait_until_instance_running()));

    assert!(http.requests().is_empty(), "nothing was polled");
}
