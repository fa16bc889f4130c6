//! Public EC2 types shared by several operations: instances, reservations, states, tags and filters.

use std::fmt;
use std::time::SystemTime;

/// A tag: a key and a value (the same type as S3's tags).
pub use cloudkit_aws_protocol::Tag;

/// A `Describe*` filter: a name and the values it accepts. Values of one filter are ORed, filters are
/// ANDed; `*` and `?` are wildcards.
///
/// ```
/// use cloudkit_aws_ec2::{Filter, InstanceStateName};
/// let running = Filter::instance_state([InstanceStateName::Running]);
/// assert_eq!(running.name, "instance-state-name");
/// let team = Filter::tag("team", ["web", "api"]);
/// assert_eq!(team.name, "tag:team");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Filter {
    /// The filter name (`instance-state-name`, `tag:Name`, `image-id`, …).
    pub name: String,
    /// The accepted values.
    pub values: Vec<String>,
}

impl Filter {
    /// A filter `name` accepting any of `values`.
    pub fn new<I, S>(name: impl Into<String>, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self { name: name.into(), values: values.into_iter().map(Into::into).collect() }
    }

    /// `tag:<key>` accepting any of `values`.
    pub fn tag<I, S>(key: &str, values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new(format!("tag:{key}"), values)
    }

    /// `tag-key`: resources that have a tag with one of these keys.
    pub fn tag_key<I, S>(keys: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::new("tag-key", keys)
    }

    /// `instance-state-name` accepting any of `states`.
    pub fn instance_state<I>(states: I) -> Self
    where
        I: IntoIterator<Item = InstanceStateName>,
    {
        Self::new("instance-state-name", states.into_iter().map(|s| s.as_str().to_owned()))
    }
}

/// The name of an instance state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InstanceStateName {
    /// `pending` (code 0).
    Pending,
    /// `running` (code 16).
    Running,
    /// `shutting-down` (code 32).
    ShuttingDown,
    /// `terminated` (code 48).
    Terminated,
    /// `stopping` (code 64).
    Stopping,
    /// `stopped` (code 80).
    Stopped,
    /// A state this version does not know, kept as sent.
    Unknown(String),
}

impl InstanceStateName {
    /// The name as EC2 writes it (`running`, `shutting-down`, …).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::Running => "running",
            Self::ShuttingDown => "shutting-down",
            Self::Terminated => "terminated",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Unknown(s) => s,
        }
    }

    /// Parses EC2's name; unknown names become [`InstanceStateName::Unknown`].
    pub fn parse(name: &str) -> Self {
        match name {
            "pending" => Self::Pending,
            "running" => Self::Running,
            "shutting-down" => Self::ShuttingDown,
            "terminated" => Self::Terminated,
            "stopping" => Self::Stopping,
            "stopped" => Self::Stopped,
            other => Self::Unknown(other.to_owned()),
        }
    }
}

impl fmt::Display for InstanceStateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<&str> for InstanceStateName {
    fn from(name: &str) -> Self {
        Self::parse(name)
    }
}

/// An instance state: EC2's numeric code and its name.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct InstanceState {
    /// The code (low byte: 0 pending, 16 running, 32 shutting-down, 48 terminated, 64 stopping, 80
    /// stopped).
    pub code: i32,
    /// The name.
    pub name: InstanceStateName,
}

impl InstanceState {
    /// A state from its code and name.
    pub fn new(code: i32, name: InstanceStateName) -> Self {
        Self { code, name }
    }
}

/// A security group an instance belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct GroupIdentifier {
    /// The group id (`sg-…`).
    pub group_id: Option<String>,
    /// The group name.
    pub group_name: Option<String>,
}

/// An EC2 instance, as `DescribeInstances` and `RunInstances` return it.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Instance {
    /// The id (`i-…`).
    pub instance_id: String,
    /// The AMI it was launched from.
    pub image_id: Option<String>,
    /// The instance type (`t3.micro`, …).
    pub instance_type: Option<String>,
    /// The current state.
    pub state: InstanceState,
    /// Why the state last changed, if EC2 says (e.g. `Client.UserInitiatedShutdown`).
    pub state_reason: Option<String>,
    /// The private IPv4 address.
    pub private_ip_address: Option<String>,
    /// The public IPv4 address.
    pub public_ip_address: Option<String>,
    /// The private DNS name.
    pub private_dns_name: Option<String>,
    /// The public DNS name.
    pub public_dns_name: Option<String>,
    /// The key pair name.
    pub key_name: Option<String>,
    /// When it was launched.
    pub launch_time: Option<SystemTime>,
    /// Its availability zone.
    pub availability_zone: Option<String>,
    /// Its subnet.
    pub subnet_id: Option<String>,
    /// Its VPC.
    pub vpc_id: Option<String>,
    /// The CPU architecture (`x86_64`, `arm64`).
    pub architecture: Option<String>,
    /// The platform (`windows`), when not Linux/UNIX.
    pub platform: Option<String>,
    /// The idempotency token it was launched with.
    pub client_token: Option<String>,
    /// Its index within the launch request.
    pub ami_launch_index: Option<i32>,
    /// Its security groups.
    pub security_groups: Vec<GroupIdentifier>,
    /// Its tags.
    pub tags: Vec<Tag>,
}

impl Instance {
    /// The value of the tag `key`, if set.
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tags.iter().find(|t| t.key == key).map(|t| t.value.as_str())
    }
}

/// A reservation: the instances launched by one `RunInstances` call.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Reservation {
    /// The reservation id (`r-…`).
    pub reservation_id: String,
    /// The account that owns it.
    pub owner_id: Option<String>,
    /// The instances.
    pub instances: Vec<Instance>,
}

/// A state change reported by `StartInstances`, `StopInstances` and `TerminateInstances`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceStateChange {
    /// The instance.
    pub instance_id: String,
    /// The state before the call.
    pub previous_state: InstanceState,
    /// The state right after the call (usually a transitional one: `pending`, `stopping`,
    /// `shutting-down`).
    pub current_state: InstanceState,
}
