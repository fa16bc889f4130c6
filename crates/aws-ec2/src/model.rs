//! Wire types: the XML of EC2 responses as serde structs, and their conversion to the public types.
//!
//! EC2 wraps lists in `…Set` elements holding `<item>`s; elements are camelCase. Unknown elements are
//! ignored, so new fields in responses never break parsing.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::Ec2Error;
use crate::types::{
    GroupIdentifier, Instance, InstanceState, InstanceStateChange, InstanceStateName, Reservation, Tag,
};

/// Parses a response body into `T`.
pub(crate) fn parse<T: DeserializeOwned>(operation: &'static str, body: &[u8]) -> Result<T, Ec2Error> {
    cloudkit_cred_chain::aws::protocol::decode_xml(body)
        .map_err(|e| Ec2Error::decode(operation, format!("invalid {operation} response: {e}")))
}

/// `<xSet><item>…</item>…</xSet>`.
#[derive(Debug, Deserialize)]
pub(crate) struct Items<T> {
    #[serde(rename = "item", default = "Vec::new")]
    pub(crate) items: Vec<T>,
}

impl<T> Default for Items<T> {
    fn default() -> Self {
        Self { items: Vec::new() }
    }
}

impl<T> Items<T> {
    pub(crate) fn into_vec<U>(self) -> Vec<U>
    where
        U: From<T>,
    {
        self.items.into_iter().map(U::from).collect()
    }
}

/// Empty text (`<reason/>`) means "not set".
pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

pub(crate) fn parse_time(s: Option<String>) -> Option<OffsetDateTime> {
    s.and_then(|s| OffsetDateTime::parse(&s, &Rfc3339).ok())
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireTag {
    key: String,
    value: String,
}

impl From<WireTag> for Tag {
    fn from(t: WireTag) -> Self {
        Tag { key: t.key, value: t.value }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireState {
    code: i32,
    name: String,
}

impl From<WireState> for InstanceState {
    fn from(s: WireState) -> Self {
        InstanceState::new(s.code, InstanceStateName::parse(&s.name))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireGroup {
    group_id: Option<String>,
    group_name: Option<String>,
}

impl From<WireGroup> for GroupIdentifier {
    fn from(g: WireGroup) -> Self {
        GroupIdentifier { group_id: non_empty(g.group_id), group_name: non_empty(g.group_name) }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WirePlacement {
    availability_zone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct WireStateReason {
    code: Option<String>,
    message: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireInstance {
    instance_id: String,
    image_id: Option<String>,
    instance_type: Option<String>,
    instance_state: WireState,
    state_reason: Option<WireStateReason>,
    private_ip_address: Option<String>,
    ip_address: Option<String>,
    private_dns_name: Option<String>,
    dns_name: Option<String>,
    key_name: Option<String>,
    launch_time: Option<String>,
    placement: Option<WirePlacement>,
    subnet_id: Option<String>,
    vpc_id: Option<String>,
    architecture: Option<String>,
    platform: Option<String>,
    client_token: Option<String>,
    ami_launch_index: Option<i32>,
    group_set: Items<WireGroup>,
    tag_set: Items<WireTag>,
}

impl From<WireInstance> for Instance {
    fn from(i: WireInstance) -> Self {
        let state_reason = i.state_reason.and_then(|r| non_empty(r.message).or_else(|| non_empty(r.code)));
        Instance {
            instance_id: i.instance_id,
            image_id: non_empty(i.image_id),
            instance_type: non_empty(i.instance_type),
            state: i.instance_state.into(),
            state_reason,
            private_ip_address: non_empty(i.private_ip_address),
            public_ip_address: non_empty(i.ip_address),
            private_dns_name: non_empty(i.private_dns_name),
            public_dns_name: non_empty(i.dns_name),
            key_name: non_empty(i.key_name),
            launch_time: parse_time(i.launch_time),
            availability_zone: i.placement.and_then(|p| non_empty(p.availability_zone)),
            subnet_id: non_empty(i.subnet_id),
            vpc_id: non_empty(i.vpc_id),
            architecture: non_empty(i.architecture),
            platform: non_empty(i.platform),
            client_token: non_empty(i.client_token),
            ami_launch_index: i.ami_launch_index,
            security_groups: i.group_set.into_vec(),
            tags: i.tag_set.into_vec(),
        }
    }
}

/// `RunInstancesResponse` and the items of `reservationSet`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireReservation {
    reservation_id: String,
    owner_id: Option<String>,
    instances_set: Items<WireInstance>,
}

impl From<WireReservation> for Reservation {
    fn from(r: WireReservation) -> Self {
        Reservation {
            reservation_id: r.reservation_id,
            owner_id: non_empty(r.owner_id),
            instances: r.instances_set.into_vec(),
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DescribeInstancesResponse {
    pub(crate) reservation_set: Items<WireReservation>,
    pub(crate) next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireStateChange {
    instance_id: String,
    current_state: WireState,
    previous_state: WireState,
}

impl From<WireStateChange> for InstanceStateChange {
    fn from(c: WireStateChange) -> Self {
        InstanceStateChange {
            instance_id: c.instance_id,
            previous_state: c.previous_state.into(),
            current_state: c.current_state.into(),
        }
    }
}

/// `Start/Stop/TerminateInstancesResponse`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct StateChangesResponse {
    pub(crate) instances_set: Items<WireStateChange>,
}

/// A response whose content does not matter (`RebootInstances`, `CreateTags`, …).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct EmptyResponse {
    #[serde(rename = "return")]
    pub(crate) return_: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireStatusSummary {
    pub(crate) status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireInstanceStatus {
    pub(crate) instance_id: String,
    pub(crate) availability_zone: Option<String>,
    pub(crate) instance_state: WireState,
    pub(crate) instance_status: Option<WireStatusSummary>,
    pub(crate) system_status: Option<WireStatusSummary>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DescribeInstanceStatusResponse {
    pub(crate) instance_status_set: Items<WireInstanceStatus>,
    pub(crate) next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireTagDescription {
    pub(crate) resource_id: String,
    pub(crate) resource_type: Option<String>,
    pub(crate) key: String,
    pub(crate) value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DescribeTagsResponse {
    pub(crate) tag_set: Items<WireTagDescription>,
    pub(crate) next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireImage {
    pub(crate) image_id: String,
    pub(crate) name: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) image_owner_id: Option<String>,
    pub(crate) image_owner_alias: Option<String>,
    pub(crate) image_state: Option<String>,
    pub(crate) architecture: Option<String>,
    pub(crate) creation_date: Option<String>,
    pub(crate) is_public: Option<bool>,
    pub(crate) platform: Option<String>,
    pub(crate) root_device_type: Option<String>,
    pub(crate) root_device_name: Option<String>,
    pub(crate) virtualization_type: Option<String>,
    pub(crate) image_type: Option<String>,
    pub(crate) tag_set: Items<WireTag>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DescribeImagesResponse {
    pub(crate) images_set: Items<WireImage>,
    pub(crate) next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireRegion {
    pub(crate) region_name: String,
    pub(crate) region_endpoint: Option<String>,
    pub(crate) opt_in_status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DescribeRegionsResponse {
    pub(crate) region_info: Items<WireRegion>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireZone {
    pub(crate) zone_name: String,
    pub(crate) zone_id: Option<String>,
    pub(crate) region_name: Option<String>,
    pub(crate) zone_state: Option<String>,
    pub(crate) zone_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DescribeAvailabilityZonesResponse {
    pub(crate) availability_zone_info: Items<WireZone>,
}

/// `CreateKeyPairResponse` / `ImportKeyPairResponse` / items of `keySet`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireKeyPair {
    pub(crate) key_name: String,
    pub(crate) key_pair_id: Option<String>,
    pub(crate) key_fingerprint: Option<String>,
    pub(crate) key_material: Option<String>,
    pub(crate) key_type: Option<String>,
    pub(crate) create_time: Option<String>,
    pub(crate) tag_set: Items<WireTag>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DescribeKeyPairsResponse {
    pub(crate) key_set: Items<WireKeyPair>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireIpRange {
    pub(crate) cidr_ip: Option<String>,
    pub(crate) cidr_ipv6: Option<String>,
    pub(crate) description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireUserIdGroupPair {
    pub(crate) group_id: Option<String>,
    pub(crate) group_name: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) description: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireIpPermission {
    pub(crate) ip_protocol: String,
    pub(crate) from_port: Option<i32>,
    pub(crate) to_port: Option<i32>,
    pub(crate) ip_ranges: Items<WireIpRange>,
    pub(crate) ipv6_ranges: Items<WireIpRange>,
    pub(crate) groups: Items<WireUserIdGroupPair>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireSecurityGroup {
    pub(crate) group_id: String,
    pub(crate) group_name: Option<String>,
    pub(crate) group_description: Option<String>,
    pub(crate) vpc_id: Option<String>,
    pub(crate) owner_id: Option<String>,
    pub(crate) ip_permissions: Items<WireIpPermission>,
    pub(crate) ip_permissions_egress: Items<WireIpPermission>,
    pub(crate) tag_set: Items<WireTag>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct DescribeSecurityGroupsResponse {
    pub(crate) security_group_info: Items<WireSecurityGroup>,
    pub(crate) next_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct CreateSecurityGroupResponse {
    pub(crate) group_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct WireRule {
    pub(crate) security_group_rule_id: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(crate) struct AuthorizeIngressResponse {
    #[serde(rename = "return")]
    pub(crate) return_: Option<bool>,
    pub(crate) security_group_rule_set: Items<WireRule>,
}
