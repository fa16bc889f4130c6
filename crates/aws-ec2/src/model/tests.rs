//! Decoding tests on realistic response bodies (shaped like EC2's own answers, with the elements
//! cloudkit ignores left in), plus empty lists, entities and malformed values.

use std::time::{Duration, UNIX_EPOCH};

use cloudkit_core::ErrorKind;

use super::*;

fn ok<T>(body: &str, read: Read<T>) -> T {
    match decode("Test", body.as_bytes(), read) {
        Ok(value) => value,
        Err(e) => panic!("{e}"),
    }
}

fn err<T: std::fmt::Debug>(operation: &'static str, body: &str, read: Read<T>) -> Ec2Error {
    decode(operation, body.as_bytes(), read).unwrap_err()
}

fn at(rfc3339: &str) -> SystemTime {
    parse_rfc3339(rfc3339).unwrap()
}

/// Time since the Unix epoch.
fn unix(t: Option<SystemTime>) -> Duration {
    t.unwrap().duration_since(UNIX_EPOCH).unwrap()
}

fn tags(pairs: &[(&str, &str)]) -> Vec<Tag> {
    pairs.iter().map(|(k, v)| Tag::new(*k, *v)).collect()
}

const DESCRIBE_INSTANCES: &str = include_str!("testdata/describe_instances.xml");

#[test]
fn describe_instances_reads_every_reservation_instance_and_field() {
    let out = ok(DESCRIBE_INSTANCES, describe_instances);
    assert_eq!(out.next_token.as_deref(), Some("eyJ2IjoiMiIsImMiOiJpL1hZ+dz09In0="));
    assert_eq!(out.reservations.len(), 2);
    assert_eq!(out.state_names(), ["running", "stopped", "terminated"]);

    let first = &out.reservations[0];
    assert_eq!(first.reservation_id, "r-1234567890abcdef0");
    assert_eq!(first.owner_id.as_deref(), Some("123456789012"));
    let expected = Instance {
        instance_id: "i-1234567890abcdef0".into(),
        image_id: Some("ami-bff32ccc".into()),
        instance_type: Some("t2.micro".into()),
        state: InstanceState::new(16, InstanceStateName::Running),
        state_reason: None,
        private_ip_address: Some("192.168.1.88".into()),
        public_ip_address: Some("54.194.252.215".into()),
        private_dns_name: Some("ip-192-168-1-88.eu-west-1.compute.internal".into()),
        public_dns_name: Some("ec2-54-194-252-215.eu-west-1.compute.amazonaws.com".into()),
        key_name: Some("my_keypair".into()),
        launch_time: Some(at("2018-05-08T16:46:19Z")),
        availability_zone: Some("eu-west-1c".into()),
        subnet_id: Some("subnet-56f5f633".into()),
        vpc_id: Some("vpc-11112222".into()),
        architecture: Some("x86_64".into()),
        platform: None,
        client_token: Some("xMcwG14507example".into()),
        ami_launch_index: Some(0),
        security_groups: vec![GroupIdentifier {
            group_id: Some("sg-e4076980".into()),
            group_name: Some("SecurityGroup1".into()),
        }],
        tags: tags(&[("Name", "Server_1")]),
    };
    assert_eq!(first.instances, [expected], "nested interface groups, tags and DNS names are not the instance's");
    assert_eq!(unix(first.instances[0].launch_time).as_secs(), 1_525_797_979);

    let second = &out.reservations[1];
    assert_eq!(second.reservation_id, "r-0fedcba9876543210");
    let [stopped, terminated] = &second.instances[..] else { panic!("{:?}", second.instances) };
    assert_eq!(stopped.state, InstanceState::new(80, InstanceStateName::Stopped));
    assert_eq!(stopped.state_reason.as_deref(), Some("Client.UserInitiatedShutdown: User initiated shutdown"));
    assert_eq!(stopped.public_dns_name, None, "an empty element is not set");
    assert_eq!(stopped.public_ip_address, None);
    assert_eq!(stopped.platform.as_deref(), Some("windows"));
    assert_eq!(unix(stopped.launch_time).as_nanos(), 1_673_775_000_500_000_000);
    assert_eq!(
        stopped.security_groups,
        [
            GroupIdentifier { group_id: Some("sg-1".into()), group_name: Some("web".into()) },
            GroupIdentifier { group_id: Some("sg-2".into()), group_name: None },
        ]
    );
    assert_eq!(
        stopped.tags,
        tags(&[("team", "a&b <c> \"d\" ☺©"), ("note", "  padded  "), ("cdata", "<raw> & tail"), ("empty", "")]),
        "entities and CDATA are decoded, text is kept exactly"
    );
    assert_eq!(stopped.tag("team"), Some("a&b <c> \"d\" ☺©"));

    assert_eq!(terminated.instance_id, "i-0123456789abcdef1");
    assert_eq!(terminated.state, InstanceState::new(48, InstanceStateName::Terminated));
    assert_eq!(terminated.state_reason.as_deref(), Some("Server.SpotInstanceTermination"), "the code when no message");
    assert_eq!(terminated.ami_launch_index, Some(1), "numbers may be padded");
    assert_eq!(terminated.launch_time, None, "a timestamp that does not parse is not set");
    assert_eq!((terminated.image_id.as_ref(), terminated.private_dns_name.as_ref()), (None, None));
    assert!(terminated.security_groups.is_empty() && terminated.tags.is_empty());
}

#[test]
fn run_instances_reads_the_reservation_at_the_root() {
    let body = include_str!("testdata/run_instances.xml");
    let r = ok(body, reservation);
    assert_eq!((r.reservation_id.as_str(), r.owner_id.as_deref()), ("r-1234567890abcdef0", Some("123456789012")));
    let ids: Vec<_> = r.instances.iter().map(|i| (i.instance_id.as_str(), i.ami_launch_index)).collect();
    assert_eq!(ids, [("i-1234567890abcdef0", Some(0)), ("i-1234567890abcdef1", Some(1))]);
    let i = &r.instances[0];
    assert_eq!(i.state, InstanceState::new(0, InstanceStateName::Pending));
    assert_eq!(i.state_reason.as_deref(), Some("pending"));
    assert_eq!(i.key_name.as_deref(), Some("deploy"));
    assert_eq!(i.client_token.as_deref(), Some("0f3b9a"));
    assert_eq!(i.tag("Name"), Some("web-1"));
    assert_eq!(unix(i.launch_time).as_secs(), 1_795_421_514);
    assert_eq!((i.private_dns_name.as_ref(), i.public_dns_name.as_ref()), (None, None));
}

/// An instance state as `(code, name)`.
type State<'a> = (i32, &'a str);

/// A `{action}Response` shaped like EC2's documented answers, with one `instancesSet` item per
/// `(instance id, current state, previous state)`.
fn state_changes_xml(action: &str, changes: &[(&str, State<'_>, State<'_>)]) -> String {
    let items: String = changes
        .iter()
        .map(|(id, (code, name), (prev_code, prev_name))| {
            format!(
                "\n    <item>\n      <instanceId>{id}</instanceId>\n      \
                 <currentState><code>{code}</code><name>{name}</name></currentState>\n      \
                 <previousState><code>{prev_code}</code><name>{prev_name}</name></previousState>\n    </item>"
            )
        })
        .collect();
    format!(
        "<{action}Response xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\n  \
         <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>\n  \
         <instancesSet>{items}\n  </instancesSet>\n</{action}Response>"
    )
}

#[test]
fn start_stop_and_terminate_state_changes() {
    const STOPPED: State<'_> = (80, "stopped");
    const RUNNING: State<'_> = (16, "running");
    let start = state_changes_xml(
        "StartInstances",
        &[("i-1234567890abcdef0", (0, "pending"), STOPPED), ("i-1234567890abcdef1", (0, "pending"), STOPPED)],
    );
    let changes = ok(&start, state_changes);
    assert_eq!(
        changes,
        ["i-1234567890abcdef0", "i-1234567890abcdef1"].map(|id| InstanceStateChange {
            instance_id: id.into(),
            previous_state: InstanceState::new(80, InstanceStateName::Stopped),
            current_state: InstanceState::new(0, InstanceStateName::Pending),
        })
    );

    let stop = state_changes_xml("StopInstances", &[("i-1234567890abcdef0", (64, "stopping"), RUNNING)]);
    let changes = ok(&stop, state_changes);
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].previous_state, InstanceState::new(16, InstanceStateName::Running));
    assert_eq!(changes[0].current_state, InstanceState::new(64, InstanceStateName::Stopping));

    let terminate = state_changes_xml(
        "TerminateInstances",
        &[
            ("i-1234567890abcdef0", (32, "shutting-down"), RUNNING),
            ("i-1234567890abcdef1", (48, "terminated"), (48, "terminated")),
            ("i-1234567890abcdef2", (272, "hibernating"), RUNNING),
        ],
    );
    let changes = ok(&terminate, state_changes);
    let current: Vec<_> = changes.iter().map(|c| c.current_state.clone()).collect();
    assert_eq!(
        current,
        [
            InstanceState::new(32, InstanceStateName::ShuttingDown),
            InstanceState::new(48, InstanceStateName::Terminated),
            InstanceState::new(272, InstanceStateName::Unknown("hibernating".into())),
        ],
        "high bits of the code and unknown names are kept"
    );
}

#[test]
fn describe_instance_status_reads_both_checks() {
    let body = r#"<DescribeInstanceStatusResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>3be1508e-c444-4fef-89cc-0b1223c4f02fEXAMPLE</requestId>
  <instanceStatusSet>
    <item>
      <instanceId>i-1234567890abcdef0</instanceId>
      <availabilityZone>us-east-1d</availabilityZone>
      <instanceState><code>16</code><name>running</name></instanceState>
      <systemStatus>
        <status>impaired</status>
        <details><item><name>reachability</name><status>failed</status><impairedSince>YYYY-MM-DDTHH:MM:SS.000Z</impairedSince></item></details>
      </systemStatus>
      <instanceStatus>
        <status>ok</status>
        <details><item><name>reachability</name><status>passed</status></item></details>
      </instanceStatus>
      <eventsSet>
        <item><code>instance-retirement</code><description>The instance is running on degraded hardware</description></item>
      </eventsSet>
    </item>
    <item>
      <instanceId>i-1234567890abcdef1</instanceId>
      <availabilityZone>us-east-1d</availabilityZone>
      <instanceState><code>80</code><name>stopped</name></instanceState>
      <systemStatus><status>not-applicable</status></systemStatus>
      <instanceStatus><status/></instanceStatus>
    </item>
  </instanceStatusSet>
  <nextToken/>
</DescribeInstanceStatusResponse>"#;
    let out = ok(body, describe_instance_status);
    assert_eq!(out.next_token, None, "an empty token ends the pages");
    assert_eq!(
        out.instance_statuses,
        [
            InstanceStatus {
                instance_id: "i-1234567890abcdef0".into(),
                availability_zone: Some("us-east-1d".into()),
                instance_state: InstanceState::new(16, InstanceStateName::Running),
                instance_status: Some("ok".into()),
                system_status: Some("impaired".into()),
            },
            InstanceStatus {
                instance_id: "i-1234567890abcdef1".into(),
                availability_zone: Some("us-east-1d".into()),
                instance_state: InstanceState::new(80, InstanceStateName::Stopped),
                instance_status: None,
                system_status: Some("not-applicable".into()),
            },
        ]
    );
}

#[test]
fn describe_tags_with_entities_and_a_next_token() {
    let body = r#"<DescribeTagsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
   <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
   <tagSet>
      <item>
         <resourceId>ami-1a2b3c4d</resourceId>
         <resourceType>image</resourceType>
         <key>webserver</key>
         <value/>
      </item>
      <item>
         <resourceId>i-1234567890abcdef0</resourceId>
         <resourceType>instance</resourceType>
         <key>owner&#x3A;team</key>
         <value>R&amp;D &lt;infra&gt;</value>
      </item>
   </tagSet>
   <nextToken>tok-2</nextToken>
</DescribeTagsResponse>"#;
    let out = ok(body, describe_tags);
    assert_eq!(
        out.tags,
        [
            TagDescription {
                resource_id: "ami-1a2b3c4d".into(),
                resource_type: Some("image".into()),
                key: "webserver".into(),
                value: String::new(),
            },
            TagDescription {
                resource_id: "i-1234567890abcdef0".into(),
                resource_type: Some("instance".into()),
                key: "owner:team".into(),
                value: "R&D <infra>".into(),
            },
        ]
    );
    assert_eq!(out.next_token.as_deref(), Some("tok-2"));
}

#[test]
fn describe_images_reads_flags_and_tags() {
    let body = r#"<DescribeImagesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
  <imagesSet>
    <item>
      <imageId>ami-1234567890EXAMPLE</imageId>
      <imageLocation>123456789012/RHEL-8.0.0_HVM-20190618-x86_64-1-Hourly2-GP2</imageLocation>
      <imageState>available</imageState>
      <imageOwnerId>123456789012</imageOwnerId>
      <creationDate>2019-05-10T13:17:12.000Z</creationDate>
      <isPublic>true</isPublic>
      <architecture>x86_64</architecture>
      <imageType>machine</imageType>
      <name>RHEL-8.0.0_HVM-20190618-x86_64-1-Hourly2-GP2</name>
      <description>Provided by Red Hat, Inc.</description>
      <rootDeviceType>ebs</rootDeviceType>
      <rootDeviceName>/dev/sda1</rootDeviceName>
      <blockDeviceMapping>
        <item><deviceName>/dev/sda1</deviceName><ebs><snapshotId>snap-111222333444aaabb</snapshotId><volumeSize>10</volumeSize><deleteOnTermination>true</deleteOnTermination><volumeType>gp2</volumeType></ebs></item>
      </blockDeviceMapping>
      <virtualizationType>hvm</virtualizationType>
      <tagSet><item><key>os</key><value>rhel &amp; friends</value></item></tagSet>
      <hypervisor>xen</hypervisor>
      <enaSupport>true</enaSupport>
    </item>
    <item>
      <imageId>ami-0abcdef1234567890</imageId>
      <imageOwnerAlias>amazon</imageOwnerAlias>
      <isPublic> 0 </isPublic>
      <platform>windows</platform>
      <description/>
    </item>
    <item>
      <imageId>ami-0abcdef1234567891</imageId>
      <isPublic>1</isPublic>
    </item>
  </imagesSet>
</DescribeImagesResponse>"#;
    let out = ok(body, describe_images);
    assert_eq!(out.next_token, None);
    let [rhel, windows, third] = &out.images[..] else { panic!("{:?}", out.images) };
    assert_eq!(
        *rhel,
        Image {
            image_id: "ami-1234567890EXAMPLE".into(),
            name: Some("RHEL-8.0.0_HVM-20190618-x86_64-1-Hourly2-GP2".into()),
            description: Some("Provided by Red Hat, Inc.".into()),
            owner_id: Some("123456789012".into()),
            owner_alias: None,
            state: Some("available".into()),
            architecture: Some("x86_64".into()),
            creation_date: Some(at("2019-05-10T13:17:12Z")),
            public: Some(true),
            platform: None,
            root_device_type: Some("ebs".into()),
            root_device_name: Some("/dev/sda1".into()),
            virtualization_type: Some("hvm".into()),
            image_type: Some("machine".into()),
            tags: tags(&[("os", "rhel & friends")]),
        }
    );
    assert_eq!(windows.owner_alias.as_deref(), Some("amazon"));
    assert_eq!(windows.public, Some(false), "XML Schema's 0/1 booleans are accepted");
    assert_eq!(windows.platform.as_deref(), Some("windows"));
    assert_eq!(windows.description, None);
    assert!(windows.tags.is_empty());
    assert_eq!(third.public, Some(true));
}

#[test]
fn regions_and_availability_zones() {
    let body = r#"<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
   <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
   <regionInfo>
      <item>
         <regionName>us-east-1</regionName>
         <regionEndpoint>ec2.us-east-1.amazonaws.com</regionEndpoint>
         <optInStatus>opt-in-not-required</optInStatus>
      </item>
      <item>
         <regionName>af-south-1</regionName>
         <regionEndpoint>ec2.af-south-1.amazonaws.com</regionEndpoint>
         <optInStatus>not-opted-in</optInStatus>
      </item>
      <item>
         <regionName>eu-west-1</regionName>
      </item>
   </regionInfo>
</DescribeRegionsResponse>"#;
    let regions = ok(body, regions);
    let fields: Vec<_> =
        regions.iter().map(|r| (r.region_name.as_str(), r.endpoint.as_deref(), r.opt_in_status.as_deref())).collect();
    assert_eq!(
        fields,
        [
            ("us-east-1", Some("ec2.us-east-1.amazonaws.com"), Some("opt-in-not-required")),
            ("af-south-1", Some("ec2.af-south-1.amazonaws.com"), Some("not-opted-in")),
            ("eu-west-1", None, None),
        ]
    );

    let body = r#"<DescribeAvailabilityZonesResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
   <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
   <availabilityZoneInfo>
      <item>
         <zoneName>us-east-1a</zoneName>
         <zoneId>use1-az6</zoneId>
         <zoneState>available</zoneState>
         <regionName>us-east-1</regionName>
         <zoneType>availability-zone</zoneType>
         <groupName>us-east-1</groupName>
         <optInStatus>opt-in-not-required</optInStatus>
         <messageSet/>
      </item>
      <item>
         <zoneName>us-east-1-bos-1a</zoneName>
         <zoneId>use1-bos1-az1</zoneId>
         <zoneState>impaired</zoneState>
         <regionName>us-east-1</regionName>
         <zoneType>local-zone</zoneType>
         <messageSet><item><message>degraded</message></item></messageSet>
      </item>
   </availabilityZoneInfo>
</DescribeAvailabilityZonesResponse>"#;
    let zones = ok(body, availability_zones);
    let fields: Vec<_> = zones
        .iter()
        .map(|z| {
            let (id, region, state, kind) = (&z.zone_id, &z.region_name, &z.state, &z.zone_type);
            (z.zone_name.as_str(), id.as_deref(), region.as_deref(), state.as_deref(), kind.as_deref())
        })
        .collect();
    assert_eq!(
        fields,
        [
            ("us-east-1a", Some("use1-az6"), Some("us-east-1"), Some("available"), Some("availability-zone")),
            ("us-east-1-bos-1a", Some("use1-bos1-az1"), Some("us-east-1"), Some("impaired"), Some("local-zone")),
        ]
    );
}

#[test]
fn key_pairs_created_imported_and_described() {
    let created = r#"<CreateKeyPairResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
  <keyName>my-key-pair</keyName>
  <keyFingerprint>1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f</keyFingerprint>
  <keyMaterial>-----BEGIN RSA PRIVATE KEY-----
MIIEoQIBAAKCAQBuLFg5ujHrtm1jnutSuoO8Xe56LlT+HM8v/xkaa39EstM3/aFxTHgElQiJLChp
HungXQ29VTc8rc1bW0lkdi23OH5eqkMHGhvEwqa0HWASUMll4o3o/IX+0f2UcPoKCOVUR+jx71Sg
-----END RSA PRIVATE KEY-----</keyMaterial>
  <keyPairId>key-0123456789abcdef0</keyPairId>
</CreateKeyPairResponse>"#;
    let kp = ok(created, created_key_pair);
    assert_eq!(kp.info.key_name, "my-key-pair");
    assert_eq!(kp.info.key_pair_id.as_deref(), Some("key-0123456789abcdef0"));
    assert_eq!(kp.info.key_fingerprint.as_deref(), Some("1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f"));
    let material = kp.key_material.expose();
    assert!(material.starts_with("-----BEGIN RSA PRIVATE KEY-----\nMIIEoQIBAAKCAQBuLFg5"), "{material}");
    assert!(material.ends_with("+jx71Sg\n-----END RSA PRIVATE KEY-----"), "line breaks are kept");
    assert!(!format!("{kp:?}").contains("MIIEoQ"), "the private key is redacted");

    let imported = r#"<ImportKeyPairResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>7a62c49f-347e-4fc4-9331-6e8eEXAMPLE</requestId>
  <keyName>my-key-pair</keyName>
  <keyFingerprint>1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f</keyFingerprint>
  <keyPairId>key-0123456789abcdef1</keyPairId>
  <tagSet><item><key>purpose</key><value>ci</value></item></tagSet>
</ImportKeyPairResponse>"#;
    let info = ok(imported, key_pair_info);
    assert_eq!(
        info,
        KeyPairInfo {
            key_name: "my-key-pair".into(),
            key_pair_id: Some("key-0123456789abcdef1".into()),
            key_fingerprint: Some("1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f".into()),
            key_type: None,
            create_time: None,
            tags: tags(&[("purpose", "ci")]),
        }
    );

    let described = r#"<DescribeKeyPairsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
    <keySet>
      <item>
         <keyPairId>key-0123456789abcdef0</keyPairId>
         <keyName>my-key-pair</keyName>
         <keyFingerprint>1f:51:ae:28:bf:89:e9:d8:1f:25:5d:37:2d:7d:b8:ca:9f:f5:f1:6f</keyFingerprint>
         <keyType>rsa</keyType>
         <tagSet/>
         <createTime>2021-10-06T15:43:34.000Z</createTime>
      </item>
      <item>
         <keyPairId>key-0123456789abcdef2</keyPairId>
         <keyName>ed-key</keyName>
         <keyFingerprint>zz</keyFingerprint>
         <keyType>ed25519</keyType>
      </item>
    </keySet>
</DescribeKeyPairsResponse>"#;
    let pairs = ok(described, key_pairs);
    assert_eq!(pairs.len(), 2);
    assert_eq!(pairs[0].key_type.as_deref(), Some("rsa"));
    assert_eq!(pairs[0].create_time, Some(at("2021-10-06T15:43:34Z")), "parsed as a timestamp");
    assert_eq!(pairs[1].create_time, None);
    assert!(pairs[0].tags.is_empty());
    assert_eq!((pairs[1].key_name.as_str(), pairs[1].key_type.as_deref()), ("ed-key", Some("ed25519")));
}

#[test]
fn key_pair_without_material_has_an_empty_secret() {
    let kp = ok("<CreateKeyPairResponse><keyName>k</keyName></CreateKeyPairResponse>", created_key_pair);
    assert_eq!(kp.key_material.expose(), "");
}

#[test]
fn security_groups_rules_sources_and_tags() {
    let body = r#"<DescribeSecurityGroupsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
   <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
   <securityGroupInfo>
      <item>
         <ownerId>123456789012</ownerId>
         <groupId>sg-1a2b3c4d</groupId>
         <groupName>WebServers</groupName>
         <groupDescription>Web Servers &amp; friends</groupDescription>
         <vpcId>vpc-614cc409</vpcId>
         <ipPermissions>
            <item>
               <ipProtocol>tcp</ipProtocol>
               <fromPort>80</fromPort>
               <toPort>80</toPort>
               <groups/>
               <ipRanges>
                  <item><cidrIp>0.0.0.0/0</cidrIp></item>
                  <item><cidrIp>203.0.113.0/24</cidrIp><description>office &lt;HQ&gt;</description></item>
                  <item><description>no cidr: skipped</description></item>
               </ipRanges>
               <ipv6Ranges>
                  <item><cidrIpv6>::/0</cidrIpv6><description>everyone</description></item>
               </ipv6Ranges>
               <prefixListIds/>
            </item>
            <item>
               <ipProtocol>tcp</ipProtocol>
               <fromPort>22</fromPort>
               <toPort>22</toPort>
               <groups>
                  <item>
                     <userId>123456789012</userId>
                     <groupId>sg-2a2b3c4d</groupId>
                     <groupName>bastion</groupName>
                     <description>ssh from bastion</description>
                  </item>
               </groups>
               <ipRanges/>
               <ipv6Ranges/>
            </item>
         </ipPermissions>
         <ipPermissionsEgress>
            <item>
               <ipProtocol>-1</ipProtocol>
               <groups/>
               <ipRanges><item><cidrIp>0.0.0.0/0</cidrIp></item></ipRanges>
            </item>
         </ipPermissionsEgress>
         <tagSet><item><key>env</key><value>prod</value></item></tagSet>
      </item>
      <item>
         <ownerId>123456789012</ownerId>
         <groupId>sg-empty</groupId>
         <groupName>empty</groupName>
         <groupDescription/>
         <ipPermissions/>
      </item>
   </securityGroupInfo>
   <nextToken>page-2</nextToken>
</DescribeSecurityGroupsResponse>"#;
    let out = ok(body, describe_security_groups);
    assert_eq!(out.next_token.as_deref(), Some("page-2"));
    let [web, empty] = &out.security_groups[..] else { panic!("{:?}", out.security_groups) };
    let http = IpPermission {
        ip_protocol: "tcp".into(),
        from_port: Some(80),
        to_port: Some(80),
        ipv4_ranges: vec![
            IpRange { cidr: "0.0.0.0/0".into(), description: None },
            IpRange { cidr: "203.0.113.0/24".into(), description: Some("office <HQ>".into()) },
        ],
        ipv6_ranges: vec![IpRange { cidr: "::/0".into(), description: Some("everyone".into()) }],
        groups: Vec::new(),
    };
    let ssh = IpPermission {
        ip_protocol: "tcp".into(),
        from_port: Some(22),
        to_port: Some(22),
        ipv4_ranges: Vec::new(),
        ipv6_ranges: Vec::new(),
        groups: vec![UserIdGroupPair {
            group_id: Some("sg-2a2b3c4d".into()),
            group_name: Some("bastion".into()),
            user_id: Some("123456789012".into()),
            description: Some("ssh from bastion".into()),
        }],
    };
    let all_out = IpPermission::new("-1", None, None).cidr("0.0.0.0/0", None);
    assert_eq!(
        *web,
        SecurityGroup {
            group_id: "sg-1a2b3c4d".into(),
            group_name: Some("WebServers".into()),
            description: Some("Web Servers & friends".into()),
            vpc_id: Some("vpc-614cc409".into()),
            owner_id: Some("123456789012".into()),
            ip_permissions: vec![http, ssh],
            ip_permissions_egress: vec![all_out],
            tags: tags(&[("env", "prod")]),
        }
    );
    assert_eq!(empty.group_id, "sg-empty");
    assert_eq!(empty.description, None);
    assert!(empty.ip_permissions.is_empty() && empty.ip_permissions_egress.is_empty() && empty.tags.is_empty());
}

#[test]
fn created_group_and_authorized_rules() {
    let created = r#"<CreateSecurityGroupResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
   <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
   <return>true</return>
   <groupId>sg-0a42d66a</groupId>
</CreateSecurityGroupResponse>"#;
    assert_eq!(ok(created, created_group_id), "sg-0a42d66a");
    assert_eq!(ok("<CreateSecurityGroupResponse/>", created_group_id), "", "the caller rejects a missing id");

    let authorized = r#"<AuthorizeSecurityGroupIngressResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
    <requestId>59dbff89-35bd-4eac-99ed-be587EXAMPLE</requestId>
    <return>true</return>
    <securityGroupRuleSet>
        <item>
            <groupId>sg-0a42d66a</groupId>
            <groupOwnerId>123456789012</groupOwnerId>
            <isEgress>false</isEgress>
            <ipProtocol>tcp</ipProtocol>
            <fromPort>22</fromPort>
            <toPort>22</toPort>
            <cidrIpv4>203.0.113.0/24</cidrIpv4>
            <securityGroupRuleId>sgr-0123456789abcdef0</securityGroupRuleId>
        </item>
        <item><securityGroupRuleId>sgr-0123456789abcdef1</securityGroupRuleId></item>
    </securityGroupRuleSet>
</AuthorizeSecurityGroupIngressResponse>"#;
    let (returned, ids) = ok(authorized, authorized_rules);
    assert_eq!(returned, Some(true));
    assert_eq!(ids, ["sgr-0123456789abcdef0", "sgr-0123456789abcdef1"]);
    let (returned, ids) = ok(
        "<AuthorizeSecurityGroupIngressResponse><return>false</return></AuthorizeSecurityGroupIngressResponse>",
        authorized_rules,
    );
    assert_eq!((returned, ids.len()), (Some(false), 0));
}

#[test]
fn empty_answers_accept_any_return_flag_but_not_junk() {
    for body in [
        "<RebootInstancesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>r</requestId><return>true</return></RebootInstancesResponse>",
        "<DeleteTagsResponse><return>false</return></DeleteTagsResponse>",
        "<DeleteKeyPairResponse><requestId>r</requestId><keyPairId>key-1</keyPairId><return> 1 </return></DeleteKeyPairResponse>",
        "<CreateTagsResponse/>",
    ] {
        ok(body, empty);
    }
    let e = err("DeleteTags", "<DeleteTagsResponse><return>yes</return></DeleteTagsResponse>", empty);
    assert_eq!(e.message(), Some("invalid DeleteTags response: <return> holds `yes`, which is not a boolean"));
}

#[test]
fn missing_and_empty_lists_are_empty() {
    for body in [
        "<DescribeInstancesResponse><requestId>r</requestId></DescribeInstancesResponse>",
        "<DescribeInstancesResponse><reservationSet/></DescribeInstancesResponse>",
        "<DescribeInstancesResponse>\n  <reservationSet>\n  </reservationSet>\n  <nextToken/>\n</DescribeInstancesResponse>",
    ] {
        let out = ok(body, describe_instances);
        assert!(out.reservations.is_empty() && out.next_token.is_none(), "{body}");
    }
    let out = ok(
        "<R><reservationSet><item><reservationId>r-1</reservationId><instancesSet/></item></reservationSet></R>",
        describe_instances,
    );
    assert_eq!(out.reservations[0].reservation_id, "r-1");
    assert!(out.reservations[0].instances.is_empty());
    assert!(ok("<StopInstancesResponse/>", state_changes).is_empty());
    assert!(ok("<DescribeImagesResponse><imagesSet/></DescribeImagesResponse>", describe_images).images.is_empty());
    assert!(ok("<DescribeRegionsResponse/>", regions).is_empty());
    assert!(
        ok(
            "<DescribeAvailabilityZonesResponse><availabilityZoneInfo/></DescribeAvailabilityZonesResponse>",
            availability_zones
        )
        .is_empty()
    );
    assert!(ok("<DescribeKeyPairsResponse><keySet/></DescribeKeyPairsResponse>", key_pairs).is_empty());
    assert!(ok("<DescribeTagsResponse><tagSet/></DescribeTagsResponse>", describe_tags).tags.is_empty());
    assert!(ok("<DescribeSecurityGroupsResponse/>", describe_security_groups).security_groups.is_empty());
    assert!(ok("<DescribeInstanceStatusResponse/>", describe_instance_status).instance_statuses.is_empty());
    let set =
        "<tagSet><item><key>a</key><value>1</value></item><note>not an item</note><item><key>b</key></item></tagSet>";
    let image = ok(&format!("<R><imagesSet><item>{set}</item></imagesSet></R>"), describe_images);
    assert_eq!(image.images[0].tags, tags(&[("a", "1"), ("b", "")]), "only <item>s count; a missing value is empty");
}

#[test]
fn missing_fields_take_their_defaults() {
    // No EC2 field is required on the wire (the serde structs this replaced defaulted every field):
    // missing ids are empty, a missing state is code 0 with an empty name.
    let out = ok(
        "<DescribeInstancesResponse><reservationSet><item><instancesSet><item><imageId>ami-1</imageId></item>\
         </instancesSet></item></reservationSet></DescribeInstancesResponse>",
        describe_instances,
    );
    let i = &out.reservations[0].instances[0];
    assert_eq!(out.reservations[0].reservation_id, "");
    assert_eq!(i.instance_id, "");
    assert_eq!(i.state, InstanceState::new(0, InstanceStateName::Unknown(String::new())));
    assert_eq!(i.image_id.as_deref(), Some("ami-1"));
    let changes = ok("<R><instancesSet><item><instanceId>i-1</instanceId></item></instancesSet></R>", state_changes);
    assert_eq!(changes[0].current_state.code, 0);
}

#[test]
fn values_that_do_not_parse_are_typed_decode_errors() {
    let cases: [(&str, Ec2Error, &str); 6] = [
        (
            "a non-numeric state code",
            err(
                "DescribeInstances",
                "<R><reservationSet><item><instancesSet><item><instanceState><code>x</code></instanceState></item></instancesSet></item></reservationSet></R>",
                describe_instances,
            ),
            "invalid DescribeInstances response: <code> holds `x`, which is not a valid i32",
        ),
        (
            "an empty launch index",
            err("RunInstances", "<R><instancesSet><item><amiLaunchIndex/></item></instancesSet></R>", reservation),
            "invalid RunInstances response: <amiLaunchIndex> holds ``, which is not a valid i32",
        ),
        (
            "an out-of-range port",
            err(
                "DescribeSecurityGroups",
                "<R><securityGroupInfo><item><ipPermissions><item><fromPort>99999999999</fromPort></item></ipPermissions></item></securityGroupInfo></R>",
                describe_security_groups,
            ),
            "invalid DescribeSecurityGroups response: <fromPort> holds `99999999999`, which is not a valid i32",
        ),
        (
            "a flag that is not a flag",
            err(
                "DescribeImages",
                "<R><imagesSet><item><isPublic>maybe</isPublic></item></imagesSet></R>",
                describe_images,
            ),
            "invalid DescribeImages response: <isPublic> holds `maybe`, which is not a boolean",
        ),
        (
            "a body that is not XML",
            err("StopInstances", "Service Unavailable", state_changes),
            "invalid StopInstances response: the XML body has no root element",
        ),
        (
            "an empty body",
            err("RebootInstances", "", empty),
            "invalid RebootInstances response: the XML body has no root element",
        ),
    ];
    for (what, e, message) in cases {
        assert!(matches!(e, Ec2Error::Other(_)), "{what}: {e:?}");
        assert_eq!(e.core().unwrap().kind(), ErrorKind::Decode, "{what}");
        assert_eq!(e.core().unwrap().service(), "EC2", "{what}");
        let got = e.message().unwrap_or_default();
        assert!(got.starts_with(message), "{what}: {got}");
    }
}

#[test]
fn truncated_and_malformed_bodies_are_errors_not_panics() {
    let whole = DESCRIBE_INSTANCES.as_bytes();
    for end in (0..whole.len()).step_by(97) {
        // Cut anywhere (even inside a UTF-8 sequence): always an error, never a panic.
        assert!(decode("DescribeInstances", &whole[..end], describe_instances).is_err(), "cut at {end}");
    }
    for body in [
        &b"<R><reservationSet><item></reservationSet></R>"[..],
        b"<R><nextToken>&bogus;</nextToken></R>",
        b"<R/><R/>",
        b"\xff\xfe<R/>",
    ] {
        let e = decode("DescribeInstances", body, describe_instances).unwrap_err();
        assert_eq!(e.core().unwrap().kind(), ErrorKind::Decode, "{}", String::from_utf8_lossy(body));
    }
}
