//! Security groups: CreateSecurityGroup, AuthorizeSecurityGroupIngress, DescribeSecurityGroups,
//! DeleteSecurityGroup.

use cloudkit_aws_protocol::QueryBody;

use crate::client::{Ec2Client, push_dry_run, query};
use crate::describe::{DescribeParams, paginated_describe};
use crate::error::Ec2Error;
use crate::model;
use crate::types::Tag;

impl Ec2Client {
    /// `CreateSecurityGroup` (in the default VPC unless [`vpc_id`](CreateSecurityGroup::vpc_id) is set).
    pub fn create_security_group(
        &self,
        group_name: impl Into<String>,
        description: impl Into<String>,
    ) -> CreateSecurityGroup {
        CreateSecurityGroup {
            client: self.clone(),
            group_name: group_name.into(),
            description: description.into(),
            vpc_id: None,
            dry_run: false,
        }
    }

    /// `AuthorizeSecurityGroupIngress`: adds inbound rules to the group `group_id`.
    ///
    /// ```no_run
    /// # async fn demo(ec2: cloudkit_aws_ec2::Ec2Client) -> Result<(), cloudkit_aws_ec2::Ec2Error> {
    /// use cloudkit_aws_ec2::IpPermission;
    /// ec2.authorize_security_group_ingress("sg-0123456789abcdef0")
    ///     .permission(IpPermission::tcp(22, 22).cidr("203.0.113.0/24", Some("office ssh")))
    ///     .send()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn authorize_security_group_ingress(&self, group_id: impl Into<String>) -> AuthorizeSecurityGroupIngress {
        AuthorizeSecurityGroupIngress {
            client: self.clone(),
            group_id: group_id.into(),
            permissions: Vec::new(),
            dry_run: false,
        }
    }

    /// `DescribeSecurityGroups`.
    pub fn describe_security_groups(&self) -> DescribeSecurityGroups {
        DescribeSecurityGroups {
            client: self.clone(),
            group_ids: Vec::new(),
            group_names: Vec::new(),
            params: DescribeParams::default(),
        }
    }

    /// `DeleteSecurityGroup` by id.
    pub fn delete_security_group(&self, group_id: impl Into<String>) -> DeleteSecurityGroup {
        DeleteSecurityGroup { client: self.clone(), group_id: group_id.into(), dry_run: false }
    }
}

/// An IP range of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpRange {
    /// The CIDR (`10.0.0.0/8` or an IPv6 CIDR).
    pub cidr: String,
    /// The rule description.
    pub description: Option<String>,
}

/// Another security group a rule refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UserIdGroupPair {
    /// The group id.
    pub group_id: Option<String>,
    /// The group name.
    pub group_name: Option<String>,
    /// The owning account.
    pub user_id: Option<String>,
    /// The rule description.
    pub description: Option<String>,
}

/// A security group rule set: protocol, ports and sources.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpPermission {
    /// `tcp`, `udp`, `icmp`, `icmpv6` or `-1` (all).
    pub ip_protocol: String,
    /// The first port (ICMP type for ICMP).
    pub from_port: Option<i32>,
    /// The last port (ICMP code for ICMP).
    pub to_port: Option<i32>,
    /// IPv4 sources.
    pub ipv4_ranges: Vec<IpRange>,
    /// IPv6 sources.
    pub ipv6_ranges: Vec<IpRange>,
    /// Security-group sources.
    pub groups: Vec<UserIdGroupPair>,
}

impl IpPermission {
    /// A rule for `protocol` and the port range `from_port..=to_port`, with no sources yet.
    pub fn new(protocol: impl Into<String>, from_port: Option<i32>, to_port: Option<i32>) -> Self {
        Self {
            ip_protocol: protocol.into(),
            from_port,
            to_port,
            ipv4_ranges: Vec::new(),
            ipv6_ranges: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// A TCP rule for ports `from_port..=to_port`.
    pub fn tcp(from_port: i32, to_port: i32) -> Self {
        Self::new("tcp", Some(from_port), Some(to_port))
    }

    /// A UDP rule for ports `from_port..=to_port`.
    pub fn udp(from_port: i32, to_port: i32) -> Self {
        Self::new("udp", Some(from_port), Some(to_port))
    }

    /// Allows an IPv4 CIDR (or an IPv6 CIDR, detected by `:`).
    pub fn cidr(mut self, cidr: impl Into<String>, description: Option<&str>) -> Self {
        let range = IpRange { cidr: cidr.into(), description: description.map(str::to_owned) };
        if range.cidr.contains(':') {
            self.ipv6_ranges.push(range);
        } else {
            self.ipv4_ranges.push(range);
        }
        self
    }

    /// Allows traffic from another security group.
    pub fn source_group(mut self, group_id: impl Into<String>) -> Self {
        self.groups.push(UserIdGroupPair {
            group_id: Some(group_id.into()),
            group_name: None,
            user_id: None,
            description: None,
        });
        self
    }

    fn push(&self, body: &mut QueryBody, prefix: &str) {
        body.push(&format!("{prefix}.IpProtocol"), &self.ip_protocol);
        if let Some(p) = self.from_port {
            body.push(&format!("{prefix}.FromPort"), &p.to_string());
        }
        if let Some(p) = self.to_port {
            body.push(&format!("{prefix}.ToPort"), &p.to_string());
        }
        for (i, r) in self.ipv4_ranges.iter().enumerate() {
            body.push(&format!("{prefix}.IpRanges.{}.CidrIp", i + 1), &r.cidr);
            if let Some(d) = &r.description {
                body.push(&format!("{prefix}.IpRanges.{}.Description", i + 1), d);
            }
        }
        for (i, r) in self.ipv6_ranges.iter().enumerate() {
            body.push(&format!("{prefix}.Ipv6Ranges.{}.CidrIpv6", i + 1), &r.cidr);
            if let Some(d) = &r.description {
                body.push(&format!("{prefix}.Ipv6Ranges.{}.Description", i + 1), d);
            }
        }
        for (i, g) in self.groups.iter().enumerate() {
            if let Some(id) = &g.group_id {
                body.push(&format!("{prefix}.Groups.{}.GroupId", i + 1), id);
            }
            if let Some(name) = &g.group_name {
                body.push(&format!("{prefix}.Groups.{}.GroupName", i + 1), name);
            }
            if let Some(user) = &g.user_id {
                body.push(&format!("{prefix}.Groups.{}.UserId", i + 1), user);
            }
            if let Some(d) = &g.description {
                body.push(&format!("{prefix}.Groups.{}.Description", i + 1), d);
            }
        }
    }
}

/// A security group.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SecurityGroup {
    /// The id (`sg-…`).
    pub group_id: String,
    /// The name.
    pub group_name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// Its VPC.
    pub vpc_id: Option<String>,
    /// The owning account.
    pub owner_id: Option<String>,
    /// Inbound rules.
    pub ip_permissions: Vec<IpPermission>,
    /// Outbound rules.
    pub ip_permissions_egress: Vec<IpPermission>,
    /// Its tags.
    pub tags: Vec<Tag>,
}

/// Builder for `CreateSecurityGroup` ([`Ec2Client::create_security_group`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct CreateSecurityGroup {
    client: Ec2Client,
    group_name: String,
    description: String,
    vpc_id: Option<String>,
    dry_run: bool,
}

impl CreateSecurityGroup {
    /// The VPC to create the group in.
    pub fn vpc_id(mut self, vpc_id: impl Into<String>) -> Self {
        self.vpc_id = Some(vpc_id.into());
        self
    }

    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Creates the group; returns its id.
    pub async fn send(self) -> Result<String, Ec2Error> {
        const OP: &str = "CreateSecurityGroup";
        let mut body = query(OP);
        body.push("GroupName", &self.group_name);
        body.push("GroupDescription", &self.description);
        if let Some(v) = &self.vpc_id {
            body.push("VpcId", v);
        }
        push_dry_run(&mut body, self.dry_run);
        let group_id = self.client.call(OP, body, false, model::created_group_id).await?;
        if group_id.is_empty() {
            return Err(Ec2Error::decode(OP, "the response has no groupId"));
        }
        Ok(group_id)
    }
}

/// Builder for `AuthorizeSecurityGroupIngress` ([`Ec2Client::authorize_security_group_ingress`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct AuthorizeSecurityGroupIngress {
    client: Ec2Client,
    group_id: String,
    permissions: Vec<IpPermission>,
    dry_run: bool,
}

impl AuthorizeSecurityGroupIngress {
    /// Adds a rule.
    pub fn permission(mut self, permission: IpPermission) -> Self {
        self.permissions.push(permission);
        self
    }

    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Adds the rules; returns the new rule ids (`sgr-…`).
    pub async fn send(self) -> Result<Vec<String>, Ec2Error> {
        const OP: &str = "AuthorizeSecurityGroupIngress";
        if self.permissions.is_empty() {
            return Err(Ec2Error::invalid_input(OP, "add at least one permission"));
        }
        let mut body = query(OP);
        body.push("GroupId", &self.group_id);
        for (i, p) in self.permissions.iter().enumerate() {
            p.push(&mut body, &format!("IpPermissions.{}", i + 1));
        }
        push_dry_run(&mut body, self.dry_run);
        let (returned, rule_ids) = self.client.call(OP, body, false, model::authorized_rules).await?;
        if returned == Some(false) {
            return Err(Ec2Error::decode(OP, "EC2 answered return=false"));
        }
        Ok(rule_ids)
    }
}

/// The answer to `DescribeSecurityGroups`: one page.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DescribeSecurityGroupsOutput {
    /// The groups.
    pub security_groups: Vec<SecurityGroup>,
    /// The token of the next page; `None` on the last page.
    pub next_token: Option<String>,
}

/// Builder for `DescribeSecurityGroups` ([`Ec2Client::describe_security_groups`]). Filters:
/// `group-name`, `vpc-id`, `tag:<key>`, …
#[derive(Clone, Debug)]
#[must_use = "call .send() or a stream method (into_pages, into_items)"]
pub struct DescribeSecurityGroups {
    client: Ec2Client,
    group_ids: Vec<String>,
    group_names: Vec<String>,
    params: DescribeParams,
}

impl DescribeSecurityGroups {
    /// Adds a group id.
    pub fn group_id(mut self, id: impl Into<String>) -> Self {
        self.group_ids.push(id.into());
        self
    }

    /// Adds a group name (default VPC only).
    pub fn group_name(mut self, name: impl Into<String>) -> Self {
        self.group_names.push(name.into());
        self
    }

    fn push_own_params(&self, body: &mut QueryBody) {
        body.push_list("GroupId", &self.group_ids);
        body.push_list("GroupName", &self.group_names);
    }
}

paginated_describe!(DescribeSecurityGroups, "DescribeSecurityGroups", model::describe_security_groups => DescribeSecurityGroupsOutput {
    security_groups: SecurityGroup
});

/// Builder for `DeleteSecurityGroup` ([`Ec2Client::delete_security_group`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct DeleteSecurityGroup {
    client: Ec2Client,
    group_id: String,
    dry_run: bool,
}

impl DeleteSecurityGroup {
    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Deletes the group.
    pub async fn send(self) -> Result<(), Ec2Error> {
        let mut body = query("DeleteSecurityGroup");
        body.push("GroupId", &self.group_id);
        push_dry_run(&mut body, self.dry_run);
        self.client.call("DeleteSecurityGroup", body, true, model::empty).await
    }
}
