//! Decoding of EC2 responses: the XML of each answer, read with [`cloudkit_core::internal::xml::Element`],
//! straight into the public types. Plain non-generic functions, one per response shape.
//!
//! EC2 wraps lists in `…Set` elements holding `<item>`s (a missing set is an empty list); elements
//! are camelCase. Unknown elements are ignored, so new fields in responses never break parsing, and
//! the root element's name is not checked.
//!
//! Every field is optional on the wire: a missing string is empty (ids) or `None` (everything else,
//! which is also `None` when sent empty, as in `<dnsName/>`), a missing number is `0` or `None`. A
//! number or flag that is present but does not parse is a decode error naming its element.

use std::time::SystemTime;

use cloudkit_core::SecretString;
use cloudkit_core::internal::date::parse_rfc3339;
use cloudkit_core::internal::xml::{Element, XmlError};

use crate::catalog::{AvailabilityZone, Region};
use crate::error::Ec2Error;
use crate::images::{DescribeImagesOutput, Image};
use crate::instance::{DescribeInstanceStatusOutput, DescribeInstancesOutput, InstanceStatus};
use crate::key_pairs::{KeyPair, KeyPairInfo};
use crate::security_groups::{DescribeSecurityGroupsOutput, IpPermission, IpRange, SecurityGroup, UserIdGroupPair};
use crate::tags::{DescribeTagsOutput, TagDescription};
use crate::types::{
    GroupIdentifier, Instance, InstanceState, InstanceStateChange, InstanceStateName, Reservation, Tag,
};

/// Reads one response shape from the root element.
pub(crate) type Read<T> = fn(&Element<'_>) -> Result<T, XmlError>;

/// Parses a response body and reads it with `read`; any failure is a decode error of `operation`.
pub(crate) fn decode<T>(operation: &'static str, body: &[u8], read: Read<T>) -> Result<T, Ec2Error> {
    Element::parse(body)
        .and_then(|root| read(&root))
        .map_err(|e| Ec2Error::decode(operation, format!("invalid {operation} response: {e}")))
}

// ---- field helpers ---------------------------------------------------------------------------------

/// The items of the child list `set`, each read with `read`.
fn list<T>(parent: &Element<'_>, set: &str, read: Read<T>) -> Result<Vec<T>, XmlError> {
    parent.children_in(set, "item").map(read).collect()
}

/// The text of the child `name`, exactly as sent; empty when absent.
fn string(e: &Element<'_>, name: &str) -> String {
    e.child_string(name).unwrap_or_default()
}

/// The child `name` as an RFC 3339 timestamp; `None` when absent or not a valid timestamp.
fn timestamp(e: &Element<'_>, name: &str) -> Option<SystemTime> {
    e.child_text(name).and_then(parse_rfc3339)
}

// ---- shared types ------------------------------------------------------------------------------------

fn tag(e: &Element<'_>) -> Result<Tag, XmlError> {
    Ok(Tag { key: string(e, "key"), value: string(e, "value") })
}

/// The state in the child `name` (`<instanceState><code>16</code><name>running</name>…`); code 0
/// and an empty name when parts are missing.
fn state(parent: &Element<'_>, name: &str) -> Result<InstanceState, XmlError> {
    let (code, state_name) = match parent.child(name) {
        Some(s) => (s.child_parse("code")?.unwrap_or(0), s.child_text("name").unwrap_or("")),
        None => (0, ""),
    };
    Ok(InstanceState::new(code, InstanceStateName::parse(state_name)))
}

fn group_identifier(e: &Element<'_>) -> Result<GroupIdentifier, XmlError> {
    Ok(GroupIdentifier {
        group_id: e.child_string_non_empty("groupId"),
        group_name: e.child_string_non_empty("groupName"),
    })
}

// ---- instances ---------------------------------------------------------------------------------------

fn instance(e: &Element<'_>) -> Result<Instance, XmlError> {
    Ok(Instance {
        instance_id: string(e, "instanceId"),
        image_id: e.child_string_non_empty("imageId"),
        instance_type: e.child_string_non_empty("instanceType"),
        state: state(e, "instanceState")?,
        state_reason: e
            .child("stateReason")
            .and_then(|r| r.child_string_non_empty("message").or_else(|| r.child_string_non_empty("code"))),
        private_ip_address: e.child_string_non_empty("privateIpAddress"),
        public_ip_address: e.child_string_non_empty("ipAddress"),
        private_dns_name: e.child_string_non_empty("privateDnsName"),
        public_dns_name: e.child_string_non_empty("dnsName"),
        key_name: e.child_string_non_empty("keyName"),
        launch_time: timestamp(e, "launchTime"),
        availability_zone: e.child("placement").and_then(|p| p.child_string_non_empty("availabilityZone")),
        subnet_id: e.child_string_non_empty("subnetId"),
        vpc_id: e.child_string_non_empty("vpcId"),
        architecture: e.child_string_non_empty("architecture"),
        platform: e.child_string_non_empty("platform"),
        client_token: e.child_string_non_empty("clientToken"),
        ami_launch_index: e.child_parse("amiLaunchIndex")?,
        security_groups: list(e, "groupSet", group_identifier)?,
        tags: list(e, "tagSet", tag)?,
    })
}

/// `RunInstancesResponse`, and the items of `reservationSet`.
pub(crate) fn reservation(e: &Element<'_>) -> Result<Reservation, XmlError> {
    Ok(Reservation {
        reservation_id: string(e, "reservationId"),
        owner_id: e.child_string_non_empty("ownerId"),
        instances: list(e, "instancesSet", instance)?,
    })
}

/// `DescribeInstancesResponse`.
pub(crate) fn describe_instances(e: &Element<'_>) -> Result<DescribeInstancesOutput, XmlError> {
    Ok(DescribeInstancesOutput {
        reservations: list(e, "reservationSet", reservation)?,
        next_token: e.child_string_non_empty("nextToken"),
    })
}

fn state_change(e: &Element<'_>) -> Result<InstanceStateChange, XmlError> {
    Ok(InstanceStateChange {
        instance_id: string(e, "instanceId"),
        previous_state: state(e, "previousState")?,
        current_state: state(e, "currentState")?,
    })
}

/// `StartInstancesResponse`, `StopInstancesResponse`, `TerminateInstancesResponse`.
pub(crate) fn state_changes(e: &Element<'_>) -> Result<Vec<InstanceStateChange>, XmlError> {
    list(e, "instancesSet", state_change)
}

fn instance_status(e: &Element<'_>) -> Result<InstanceStatus, XmlError> {
    Ok(InstanceStatus {
        instance_id: string(e, "instanceId"),
        availability_zone: e.child_string_non_empty("availabilityZone"),
        instance_state: state(e, "instanceState")?,
        instance_status: e.child("instanceStatus").and_then(|s| s.child_string_non_empty("status")),
        system_status: e.child("systemStatus").and_then(|s| s.child_string_non_empty("status")),
    })
}

/// `DescribeInstanceStatusResponse`.
pub(crate) fn describe_instance_status(e: &Element<'_>) -> Result<DescribeInstanceStatusOutput, XmlError> {
    Ok(DescribeInstanceStatusOutput {
        instance_statuses: list(e, "instanceStatusSet", instance_status)?,
        next_token: e.child_string_non_empty("nextToken"),
    })
}

/// A response whose content does not matter (`RebootInstances`, `CreateTags`, …); only a `return`
/// flag that is not a flag is an error.
pub(crate) fn empty(e: &Element<'_>) -> Result<(), XmlError> {
    e.child_bool("return").map(drop)
}

// ---- tags ----------------------------------------------------------------------------------------------

fn tag_description(e: &Element<'_>) -> Result<TagDescription, XmlError> {
    Ok(TagDescription {
        resource_id: string(e, "resourceId"),
        resource_type: e.child_string_non_empty("resourceType"),
        key: string(e, "key"),
        value: string(e, "value"),
    })
}

/// `DescribeTagsResponse`.
pub(crate) fn describe_tags(e: &Element<'_>) -> Result<DescribeTagsOutput, XmlError> {
    Ok(DescribeTagsOutput {
        tags: list(e, "tagSet", tag_description)?,
        next_token: e.child_string_non_empty("nextToken"),
    })
}

// ---- images --------------------------------------------------------------------------------------------

fn image(e: &Element<'_>) -> Result<Image, XmlError> {
    Ok(Image {
        image_id: string(e, "imageId"),
        name: e.child_string_non_empty("name"),
        description: e.child_string_non_empty("description"),
        owner_id: e.child_string_non_empty("imageOwnerId"),
        owner_alias: e.child_string_non_empty("imageOwnerAlias"),
        state: e.child_string_non_empty("imageState"),
        architecture: e.child_string_non_empty("architecture"),
        creation_date: timestamp(e, "creationDate"),
        public: e.child_bool("isPublic")?,
        platform: e.child_string_non_empty("platform"),
        root_device_type: e.child_string_non_empty("rootDeviceType"),
        root_device_name: e.child_string_non_empty("rootDeviceName"),
        virtualization_type: e.child_string_non_empty("virtualizationType"),
        image_type: e.child_string_non_empty("imageType"),
        tags: list(e, "tagSet", tag)?,
    })
}

/// `DescribeImagesResponse`.
pub(crate) fn describe_images(e: &Element<'_>) -> Result<DescribeImagesOutput, XmlError> {
    Ok(DescribeImagesOutput { images: list(e, "imagesSet", image)?, next_token: e.child_string_non_empty("nextToken") })
}

// ---- regions and zones ---------------------------------------------------------------------------------

fn region(e: &Element<'_>) -> Result<Region, XmlError> {
    Ok(Region {
        region_name: string(e, "regionName"),
        endpoint: e.child_string_non_empty("regionEndpoint"),
        opt_in_status: e.child_string_non_empty("optInStatus"),
    })
}

/// `DescribeRegionsResponse`.
pub(crate) fn regions(e: &Element<'_>) -> Result<Vec<Region>, XmlError> {
    list(e, "regionInfo", region)
}

fn availability_zone(e: &Element<'_>) -> Result<AvailabilityZone, XmlError> {
    Ok(AvailabilityZone {
        zone_name: string(e, "zoneName"),
        zone_id: e.child_string_non_empty("zoneId"),
        region_name: e.child_string_non_empty("regionName"),
        state: e.child_string_non_empty("zoneState"),
        zone_type: e.child_string_non_empty("zoneType"),
    })
}

/// `DescribeAvailabilityZonesResponse`.
pub(crate) fn availability_zones(e: &Element<'_>) -> Result<Vec<AvailabilityZone>, XmlError> {
    list(e, "availabilityZoneInfo", availability_zone)
}

// ---- key pairs -----------------------------------------------------------------------------------------

/// `ImportKeyPairResponse`, and the items of `keySet`.
pub(crate) fn key_pair_info(e: &Element<'_>) -> Result<KeyPairInfo, XmlError> {
    Ok(KeyPairInfo {
        key_name: string(e, "keyName"),
        key_pair_id: e.child_string_non_empty("keyPairId"),
        key_fingerprint: e.child_string_non_empty("keyFingerprint"),
        key_type: e.child_string_non_empty("keyType"),
        create_time: timestamp(e, "createTime"),
        tags: list(e, "tagSet", tag)?,
    })
}

/// `CreateKeyPairResponse`: the key pair and its private key (empty if EC2 sent none).
pub(crate) fn created_key_pair(e: &Element<'_>) -> Result<KeyPair, XmlError> {
    Ok(KeyPair { info: key_pair_info(e)?, key_material: SecretString::from(string(e, "keyMaterial")) })
}

/// `DescribeKeyPairsResponse`.
pub(crate) fn key_pairs(e: &Element<'_>) -> Result<Vec<KeyPairInfo>, XmlError> {
    list(e, "keySet", key_pair_info)
}

// ---- security groups -----------------------------------------------------------------------------------

/// The ranges of the list `set` whose `cidr` child is set (`cidrIp` or `cidrIpv6`).
fn ip_ranges(parent: &Element<'_>, set: &str, cidr: &str) -> Vec<IpRange> {
    parent
        .children_in(set, "item")
        .filter_map(|r| {
            r.child_string_non_empty(cidr)
                .map(|cidr| IpRange { cidr, description: r.child_string_non_empty("description") })
        })
        .collect()
}

fn user_id_group_pair(e: &Element<'_>) -> Result<UserIdGroupPair, XmlError> {
    Ok(UserIdGroupPair {
        group_id: e.child_string_non_empty("groupId"),
        group_name: e.child_string_non_empty("groupName"),
        user_id: e.child_string_non_empty("userId"),
        description: e.child_string_non_empty("description"),
    })
}

fn ip_permission(e: &Element<'_>) -> Result<IpPermission, XmlError> {
    Ok(IpPermission {
        ip_protocol: string(e, "ipProtocol"),
        from_port: e.child_parse("fromPort")?,
        to_port: e.child_parse("toPort")?,
        ipv4_ranges: ip_ranges(e, "ipRanges", "cidrIp"),
        ipv6_ranges: ip_ranges(e, "ipv6Ranges", "cidrIpv6"),
        groups: list(e, "groups", user_id_group_pair)?,
    })
}

fn security_group(e: &Element<'_>) -> Result<SecurityGroup, XmlError> {
    Ok(SecurityGroup {
        group_id: string(e, "groupId"),
        group_name: e.child_string_non_empty("groupName"),
        description: e.child_string_non_empty("groupDescription"),
        vpc_id: e.child_string_non_empty("vpcId"),
        owner_id: e.child_string_non_empty("ownerId"),
        ip_permissions: list(e, "ipPermissions", ip_permission)?,
        ip_permissions_egress: list(e, "ipPermissionsEgress", ip_permission)?,
        tags: list(e, "tagSet", tag)?,
    })
}

/// `DescribeSecurityGroupsResponse`.
pub(crate) fn describe_security_groups(e: &Element<'_>) -> Result<DescribeSecurityGroupsOutput, XmlError> {
    Ok(DescribeSecurityGroupsOutput {
        security_groups: list(e, "securityGroupInfo", security_group)?,
        next_token: e.child_string_non_empty("nextToken"),
    })
}

/// `CreateSecurityGroupResponse`: the new group's id (empty if EC2 sent none).
pub(crate) fn created_group_id(e: &Element<'_>) -> Result<String, XmlError> {
    Ok(string(e, "groupId"))
}

/// `AuthorizeSecurityGroupIngressResponse`: the `return` flag and the new rule ids.
pub(crate) fn authorized_rules(e: &Element<'_>) -> Result<(Option<bool>, Vec<String>), XmlError> {
    let rule_ids = e.children_in("securityGroupRuleSet", "item").map(|r| string(r, "securityGroupRuleId")).collect();
    Ok((e.child_bool("return")?, rule_ids))
}

#[cfg(test)]
mod tests;
