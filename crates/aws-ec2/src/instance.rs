//! Instance operations: RunInstances, DescribeInstances, DescribeInstanceStatus, Start/Stop/Reboot/
//! TerminateInstances, ModifyInstanceAttribute.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use cloudkit_aws_protocol::QueryBody;
use cloudkit_paginate::PaginationConfig;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::client::{Ec2Client, push_dry_run, push_tags, query};
use crate::describe::{DescribeParams, paginated_describe};
use crate::error::Ec2Error;
use crate::model;
use crate::types::{Instance, InstanceState, InstanceStateChange, Reservation, Tag};

/// Tags to apply to resources of one type at launch (`TagSpecification.N`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagSpecification {
    /// The resource type: `instance`, `volume`, `network-interface`, `spot-instances-request`.
    pub resource_type: String,
    /// The tags.
    pub tags: Vec<Tag>,
}

impl TagSpecification {
    /// Tags for resources of `resource_type`.
    pub fn new(resource_type: impl Into<String>, tags: impl IntoIterator<Item = Tag>) -> Self {
        Self { resource_type: resource_type.into(), tags: tags.into_iter().collect() }
    }
}

/// A random idempotency token, as the AWS SDKs fill in when the caller gives none.
fn random_client_token() -> String {
    let mut rng = fastrand::Rng::new();
    (0..32).map(|_| char::from(b"0123456789abcdef"[rng.usize(..16)])).collect()
}

impl Ec2Client {
    /// `RunInstances`: launches instances of `image_id` (one by default).
    ///
    /// A client token is generated when none is given, so the call is safe to retry: a retried
    /// request never launches a second set of instances.
    ///
    /// ```no_run
    /// # async fn demo(ec2: cloudkit_aws_ec2::Ec2Client) -> Result<(), cloudkit_aws_ec2::Ec2Error> {
    /// let reservation = ec2
    ///     .run_instances("ami-0abcdef1234567890")
    ///     .instance_type("t3.micro")
    ///     .count(2)
    ///     .key_name("deploy")
    ///     .tag("team", "web")
    ///     .send()
    ///     .await?;
    /// for instance in &reservation.instances {
    ///     println!("{} is {}", instance.instance_id, instance.state.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn run_instances(&self, image_id: impl Into<String>) -> RunInstances {
        RunInstances {
            client: self.clone(),
            image_id: image_id.into(),
            instance_type: None,
            min_count: 1,
            max_count: 1,
            key_name: None,
            security_group_ids: Vec::new(),
            security_groups: Vec::new(),
            subnet_id: None,
            availability_zone: None,
            user_data: None,
            instance_tags: Vec::new(),
            tag_specifications: Vec::new(),
            client_token: None,
            dry_run: false,
        }
    }

    /// `DescribeInstances`: reservations and their instances, filtered by ids and/or filters; one
    /// page with `send()`, or every page with `into_pages`, `into_items` (reservations) or
    /// `into_instances`.
    ///
    /// ```no_run
    /// # async fn demo(ec2: cloudkit_aws_ec2::Ec2Client) -> Result<(), cloudkit_aws_ec2::Ec2Error> {
    /// use cloudkit_aws_ec2::{Filter, InstanceStateName, PaginationConfig};
    /// use futures::TryStreamExt;
    ///
    /// let mut instances = ec2
    ///     .describe_instances()
    ///     .filter(Filter::instance_state([InstanceStateName::Running]))
    ///     .filter(Filter::tag("team", ["web"]))
    ///     .into_instances(PaginationConfig::default().page_size(100));
    /// while let Some(instance) = instances.try_next().await? {
    ///     println!("{} {:?}", instance.instance_id, instance.public_ip_address);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn describe_instances(&self) -> DescribeInstances {
        DescribeInstances { client: self.clone(), instance_ids: Vec::new(), params: DescribeParams::default() }
    }

    /// `DescribeInstanceStatus`: status checks and scheduled events (only running instances unless
    /// [`include_all_instances`](DescribeInstanceStatus::include_all_instances)).
    pub fn describe_instance_status(&self) -> DescribeInstanceStatus {
        DescribeInstanceStatus {
            client: self.clone(),
            instance_ids: Vec::new(),
            include_all_instances: false,
            params: DescribeParams::default(),
        }
    }

    /// `StartInstances`.
    pub fn start_instances(&self) -> StartInstances {
        StartInstances { client: self.clone(), instance_ids: Vec::new(), dry_run: false }
    }

    /// `StopInstances` (optionally forced or hibernating).
    pub fn stop_instances(&self) -> StopInstances {
        StopInstances { client: self.clone(), instance_ids: Vec::new(), force: false, hibernate: false, dry_run: false }
    }

    /// `RebootInstances`.
    pub fn reboot_instances(&self) -> RebootInstances {
        RebootInstances { client: self.clone(), instance_ids: Vec::new(), dry_run: false }
    }

    /// `TerminateInstances`.
    pub fn terminate_instances(&self) -> TerminateInstances {
        TerminateInstances { client: self.clone(), instance_ids: Vec::new(), dry_run: false }
    }

    /// `ModifyInstanceAttribute` for `instance_id` (set one attribute per call, as EC2 requires).
    pub fn modify_instance_attribute(&self, instance_id: impl Into<String>) -> ModifyInstanceAttribute {
        ModifyInstanceAttribute {
            client: self.clone(),
            instance_id: instance_id.into(),
            instance_type: None,
            disable_api_termination: None,
            disable_api_stop: None,
            user_data: None,
            dry_run: false,
        }
    }
}

/// User data in `Debug`: its length only (startup scripts carry passwords and keys).
struct RedactedUserData<'a>(&'a Option<Vec<u8>>);

impl std::fmt::Debug for RedactedUserData<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(data) => write!(f, "Some(<{} bytes, redacted>)", data.len()),
            None => f.write_str("None"),
        }
    }
}

/// Builder for `RunInstances` ([`Ec2Client::run_instances`]). `Debug` shows the user data's
/// length, never its content.
#[derive(Clone)]
#[must_use = "call .send() to launch the instances"]
pub struct RunInstances {
    client: Ec2Client,
    image_id: String,
    instance_type: Option<String>,
    min_count: u32,
    max_count: u32,
    key_name: Option<String>,
    security_group_ids: Vec<String>,
    security_groups: Vec<String>,
    subnet_id: Option<String>,
    availability_zone: Option<String>,
    user_data: Option<Vec<u8>>,
    instance_tags: Vec<Tag>,
    tag_specifications: Vec<TagSpecification>,
    client_token: Option<String>,
    dry_run: bool,
}

impl std::fmt::Debug for RunInstances {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunInstances")
            .field("client", &self.client)
            .field("image_id", &self.image_id)
            .field("instance_type", &self.instance_type)
            .field("min_count", &self.min_count)
            .field("max_count", &self.max_count)
            .field("key_name", &self.key_name)
            .field("security_group_ids", &self.security_group_ids)
            .field("security_groups", &self.security_groups)
            .field("subnet_id", &self.subnet_id)
            .field("availability_zone", &self.availability_zone)
            .field("user_data", &RedactedUserData(&self.user_data))
            .field("instance_tags", &self.instance_tags)
            .field("tag_specifications", &self.tag_specifications)
            .field("client_token", &self.client_token)
            .field("dry_run", &self.dry_run)
            .finish()
    }
}

impl RunInstances {
    /// The instance type (`t3.micro`, …).
    pub fn instance_type(mut self, instance_type: impl Into<String>) -> Self {
        self.instance_type = Some(instance_type.into());
        self
    }

    /// Launch exactly `count` instances (sets both the minimum and the maximum).
    pub fn count(mut self, count: u32) -> Self {
        self.min_count = count;
        self.max_count = count;
        self
    }

    /// The fewest instances to launch (the call fails if EC2 cannot launch this many).
    pub fn min_count(mut self, min_count: u32) -> Self {
        self.min_count = min_count;
        self
    }

    /// The most instances to launch.
    pub fn max_count(mut self, max_count: u32) -> Self {
        self.max_count = max_count;
        self
    }

    /// The key pair to install.
    pub fn key_name(mut self, key_name: impl Into<String>) -> Self {
        self.key_name = Some(key_name.into());
        self
    }

    /// Adds a security group by id (`sg-…`).
    pub fn security_group_id(mut self, group_id: impl Into<String>) -> Self {
        self.security_group_ids.push(group_id.into());
        self
    }

    /// Adds a security group by name (default VPC / EC2-Classic style).
    pub fn security_group(mut self, group_name: impl Into<String>) -> Self {
        self.security_groups.push(group_name.into());
        self
    }

    /// The subnet to launch into.
    pub fn subnet_id(mut self, subnet_id: impl Into<String>) -> Self {
        self.subnet_id = Some(subnet_id.into());
        self
    }

    /// The availability zone (`Placement.AvailabilityZone`).
    pub fn availability_zone(mut self, zone: impl Into<String>) -> Self {
        self.availability_zone = Some(zone.into());
        self
    }

    /// User data (a cloud-init script, …) as raw bytes; the client base64-encodes it as EC2 requires.
    pub fn user_data(mut self, user_data: impl AsRef<[u8]>) -> Self {
        self.user_data = Some(user_data.as_ref().to_vec());
        self
    }

    /// Adds a tag to the launched instances (merged into the `instance` tag specification).
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.instance_tags.push(Tag::new(key, value));
        self
    }

    /// Adds a tag specification (tags for volumes, network interfaces, …).
    pub fn tag_specification(mut self, spec: TagSpecification) -> Self {
        self.tag_specifications.push(spec);
        self
    }

    /// The idempotency token (≤ 64 ASCII characters). Repeating a call with the same token returns
    /// the first call's instances instead of launching more. Random when not set.
    pub fn client_token(mut self, token: impl Into<String>) -> Self {
        self.client_token = Some(token.into());
        self
    }

    /// Only check permissions: the call ends in [`Ec2Error::DryRunOperation`] if it would have
    /// succeeded, [`Ec2Error::UnauthorizedOperation`] if not.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    fn body(&self) -> Result<QueryBody, Ec2Error> {
        const OP: &str = "RunInstances";
        if self.min_count == 0 || self.min_count > self.max_count {
            return Err(Ec2Error::invalid_input(
                OP,
                format!("need 1 ≤ min_count ≤ max_count (got {} and {})", self.min_count, self.max_count),
            ));
        }
        if let Some(token) = &self.client_token
            && (token.is_empty() || token.len() > 64 || !token.is_ascii())
        {
            return Err(Ec2Error::invalid_input(OP, "client_token must be 1 to 64 ASCII characters"));
        }
        let mut body = query(OP);
        body.push("ImageId", &self.image_id);
        body.push("MinCount", &self.min_count.to_string());
        body.push("MaxCount", &self.max_count.to_string());
        if let Some(t) = &self.instance_type {
            body.push("InstanceType", t);
        }
        if let Some(k) = &self.key_name {
            body.push("KeyName", k);
        }
        body.push_list("SecurityGroupId", &self.security_group_ids);
        body.push_list("SecurityGroup", &self.security_groups);
        if let Some(s) = &self.subnet_id {
            body.push("SubnetId", s);
        }
        if let Some(z) = &self.availability_zone {
            body.push("Placement.AvailabilityZone", z);
        }
        if let Some(data) = &self.user_data {
            body.push("UserData", &BASE64.encode(data));
        }
        let mut specs = self.tag_specifications.clone();
        if !self.instance_tags.is_empty() {
            match specs.iter_mut().find(|s| s.resource_type == "instance") {
                Some(spec) => spec.tags.extend(self.instance_tags.iter().cloned()),
                None => specs.insert(0, TagSpecification::new("instance", self.instance_tags.iter().cloned())),
            }
        }
        for (i, spec) in specs.iter().enumerate() {
            let prefix = format!("TagSpecification.{}", i + 1);
            body.push(&format!("{prefix}.ResourceType"), &spec.resource_type);
            push_tags(&mut body, &format!("{prefix}.Tag"), &spec.tags);
        }
        let token = self.client_token.clone().unwrap_or_else(random_client_token);
        body.push("ClientToken", &token);
        push_dry_run(&mut body, self.dry_run);
        Ok(body)
    }

    /// Launches the instances; returns their reservation (instances usually `pending`).
    ///
    /// Retried like a read (after a 5xx or a timeout too): the request carries a client token
    /// (generated when none was given, once per `send`), and EC2 answers a resent request with
    /// the same token with the first launch's instances, so a retry never launches twice.
    pub async fn send(self) -> Result<Reservation, Ec2Error> {
        let body = self.body()?;
        self.client.call("RunInstances", body, true, model::reservation).await
    }
}

/// The answer to `DescribeInstances`: one page of reservations.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct DescribeInstancesOutput {
    /// The reservations (each with its instances), as the API returns them.
    pub reservations: Vec<Reservation>,
    /// The token of the next page; `None` on the last page.
    pub next_token: Option<String>,
}

impl DescribeInstancesOutput {
    /// All instances of all reservations of this page.
    pub fn instances(&self) -> impl Iterator<Item = &Instance> {
        self.reservations.iter().flat_map(|r| r.instances.iter())
    }

    /// The state names of every instance of this page (what the instance waiters look at).
    pub fn state_names(&self) -> Vec<&str> {
        self.instances().map(|i| i.state.name.as_str()).collect()
    }
}

/// `instance_id` / `instance_ids` of the builders that take instance ids.
macro_rules! instance_id_setters {
    () => {
        /// Adds an instance id.
        pub fn instance_id(mut self, id: impl Into<String>) -> Self {
            self.instance_ids.push(id.into());
            self
        }

        /// Adds instance ids.
        pub fn instance_ids<I, S>(mut self, ids: I) -> Self
        where
            I: IntoIterator<Item = S>,
            S: Into<String>,
        {
            self.instance_ids.extend(ids.into_iter().map(Into::into));
            self
        }
    };
}

/// Builder for `DescribeInstances` ([`Ec2Client::describe_instances`]). The page size counts
/// reservations.
#[derive(Clone, Debug)]
#[must_use = "call .send() or a stream method (into_pages, into_items, into_instances)"]
pub struct DescribeInstances {
    client: Ec2Client,
    instance_ids: Vec<String>,
    params: DescribeParams,
}

impl DescribeInstances {
    instance_id_setters!();

    /// What the request selects, for waiter errors: `instance i-1`, `instances i-1, i-2`,
    /// `the instances matching 2 filters`, `all instances`.
    pub(crate) fn selection(&self) -> String {
        crate::waiters::describe_selection(&self.instance_ids, self.params.filters.len())
    }

    fn push_own_params(&self, body: &mut QueryBody) {
        body.push_list("InstanceId", &self.instance_ids);
    }

    /// Every instance of every reservation of every page, as a stream (`config` as for
    /// [`into_items`](Self::into_items): the page size and `max_items` count reservations).
    pub fn into_instances(self, config: PaginationConfig) -> BoxStream<'static, Result<Instance, Ec2Error>> {
        self.into_items(config)
            .map_ok(|reservation| stream::iter(reservation.instances.into_iter().map(Ok)))
            .try_flatten()
            .boxed()
    }
}

paginated_describe!(DescribeInstances, "DescribeInstances", model::describe_instances => DescribeInstancesOutput {
    reservations: Reservation
});

/// The status of one instance, from `DescribeInstanceStatus`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct InstanceStatus {
    /// The instance.
    pub instance_id: String,
    /// Its availability zone.
    pub availability_zone: Option<String>,
    /// Its state.
    pub instance_state: InstanceState,
    /// The instance status check (`ok`, `impaired`, `initializing`, `insufficient-data`,
    /// `not-applicable`).
    pub instance_status: Option<String>,
    /// The system status check (same values).
    pub system_status: Option<String>,
}

/// The answer to `DescribeInstanceStatus`: one page.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DescribeInstanceStatusOutput {
    /// The statuses.
    pub instance_statuses: Vec<InstanceStatus>,
    /// The token of the next page; `None` on the last page.
    pub next_token: Option<String>,
}

/// Builder for `DescribeInstanceStatus` ([`Ec2Client::describe_instance_status`]).
#[derive(Clone, Debug)]
#[must_use = "call .send() or a stream method (into_pages, into_items)"]
pub struct DescribeInstanceStatus {
    client: Ec2Client,
    instance_ids: Vec<String>,
    include_all_instances: bool,
    params: DescribeParams,
}

impl DescribeInstanceStatus {
    instance_id_setters!();

    /// What the request selects, for waiter errors: `instance i-1`, `instances i-1, i-2`,
    /// `the instances matching 2 filters`, `all instances`.
    pub(crate) fn selection(&self) -> String {
        crate::waiters::describe_selection(&self.instance_ids, self.params.filters.len())
    }

    /// Include instances that are not running (stopped, pending, …).
    pub fn include_all_instances(mut self, include: bool) -> Self {
        self.include_all_instances = include;
        self
    }

    fn push_own_params(&self, body: &mut QueryBody) {
        body.push_list("InstanceId", &self.instance_ids);
        if self.include_all_instances {
            body.push("IncludeAllInstances", "true");
        }
    }
}

paginated_describe!(DescribeInstanceStatus, "DescribeInstanceStatus", model::describe_instance_status => DescribeInstanceStatusOutput {
    instance_statuses: InstanceStatus
});

macro_rules! instance_ids_builder {
    ($name:ident, $action:literal, $what:literal) => {
        impl $name {
            instance_id_setters!();

            /// Only check permissions: ends in [`Ec2Error::DryRunOperation`] if the call would have
            /// succeeded, [`Ec2Error::UnauthorizedOperation`] if not.
            pub fn dry_run(mut self, dry_run: bool) -> Self {
                self.dry_run = dry_run;
                self
            }

            fn base_body(&self) -> Result<QueryBody, Ec2Error> {
                if self.instance_ids.is_empty() {
                    return Err(Ec2Error::invalid_input($action, concat!($what, " needs at least one instance id")));
                }
                let mut body = query($action);
                body.push_list("InstanceId", &self.instance_ids);
                push_dry_run(&mut body, self.dry_run);
                Ok(body)
            }
        }
    };
}

/// Builder for `StartInstances` ([`Ec2Client::start_instances`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct StartInstances {
    client: Ec2Client,
    instance_ids: Vec<String>,
    dry_run: bool,
}
instance_ids_builder!(StartInstances, "StartInstances", "StartInstances");

impl StartInstances {
    /// Starts the instances; returns each one's state change.
    pub async fn send(self) -> Result<Vec<InstanceStateChange>, Ec2Error> {
        let body = self.base_body()?;
        self.client.call("StartInstances", body, true, model::state_changes).await
    }
}

/// Builder for `StopInstances` ([`Ec2Client::stop_instances`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct StopInstances {
    client: Ec2Client,
    instance_ids: Vec<String>,
    force: bool,
    hibernate: bool,
    dry_run: bool,
}
instance_ids_builder!(StopInstances, "StopInstances", "StopInstances");

impl StopInstances {
    /// Force the stop (no clean OS shutdown; for stuck instances).
    pub fn force(mut self, force: bool) -> Self {
        self.force = force;
        self
    }

    /// Hibernate instead of stopping (the instance must have been launched with hibernation enabled).
    pub fn hibernate(mut self, hibernate: bool) -> Self {
        self.hibernate = hibernate;
        self
    }

    /// Stops the instances; returns each one's state change.
    pub async fn send(self) -> Result<Vec<InstanceStateChange>, Ec2Error> {
        let mut body = self.base_body()?;
        if self.force {
            body.push("Force", "true");
        }
        if self.hibernate {
            body.push("Hibernate", "true");
        }
        self.client.call("StopInstances", body, true, model::state_changes).await
    }
}

/// Builder for `RebootInstances` ([`Ec2Client::reboot_instances`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct RebootInstances {
    client: Ec2Client,
    instance_ids: Vec<String>,
    dry_run: bool,
}
instance_ids_builder!(RebootInstances, "RebootInstances", "RebootInstances");

impl RebootInstances {
    /// Requests the reboot (EC2 answers with no details).
    pub async fn send(self) -> Result<(), Ec2Error> {
        let body = self.base_body()?;
        self.client.call("RebootInstances", body, true, model::empty).await
    }
}

/// Builder for `TerminateInstances` ([`Ec2Client::terminate_instances`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct TerminateInstances {
    client: Ec2Client,
    instance_ids: Vec<String>,
    dry_run: bool,
}
instance_ids_builder!(TerminateInstances, "TerminateInstances", "TerminateInstances");

impl TerminateInstances {
    /// Terminates the instances; returns each one's state change.
    pub async fn send(self) -> Result<Vec<InstanceStateChange>, Ec2Error> {
        let body = self.base_body()?;
        self.client.call("TerminateInstances", body, true, model::state_changes).await
    }
}

/// Builder for `ModifyInstanceAttribute` ([`Ec2Client::modify_instance_attribute`]).
///
/// EC2 changes one attribute per call; setting several here is an input error. `Debug` shows the
/// user data's length, never its content.
#[derive(Clone)]
#[must_use = "call .send()"]
pub struct ModifyInstanceAttribute {
    client: Ec2Client,
    instance_id: String,
    instance_type: Option<String>,
    disable_api_termination: Option<bool>,
    disable_api_stop: Option<bool>,
    user_data: Option<Vec<u8>>,
    dry_run: bool,
}

impl std::fmt::Debug for ModifyInstanceAttribute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModifyInstanceAttribute")
            .field("client", &self.client)
            .field("instance_id", &self.instance_id)
            .field("instance_type", &self.instance_type)
            .field("disable_api_termination", &self.disable_api_termination)
            .field("disable_api_stop", &self.disable_api_stop)
            .field("user_data", &RedactedUserData(&self.user_data))
            .field("dry_run", &self.dry_run)
            .finish()
    }
}

impl ModifyInstanceAttribute {
    /// Change the instance type (the instance must be stopped on AWS).
    pub fn instance_type(mut self, instance_type: impl Into<String>) -> Self {
        self.instance_type = Some(instance_type.into());
        self
    }

    /// Turn termination protection on or off.
    pub fn disable_api_termination(mut self, disable: bool) -> Self {
        self.disable_api_termination = Some(disable);
        self
    }

    /// Turn stop protection on or off.
    pub fn disable_api_stop(mut self, disable: bool) -> Self {
        self.disable_api_stop = Some(disable);
        self
    }

    /// Replace the user data (raw bytes; base64-encoded by the client; instance must be stopped).
    pub fn user_data(mut self, user_data: impl AsRef<[u8]>) -> Self {
        self.user_data = Some(user_data.as_ref().to_vec());
        self
    }

    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Applies the change.
    pub async fn send(self) -> Result<(), Ec2Error> {
        const OP: &str = "ModifyInstanceAttribute";
        let mut body = query(OP);
        body.push("InstanceId", &self.instance_id);
        let mut set = 0;
        if let Some(t) = &self.instance_type {
            body.push("InstanceType.Value", t);
            set += 1;
        }
        if let Some(d) = self.disable_api_termination {
            body.push("DisableApiTermination.Value", if d { "true" } else { "false" });
            set += 1;
        }
        if let Some(d) = self.disable_api_stop {
            body.push("DisableApiStop.Value", if d { "true" } else { "false" });
            set += 1;
        }
        if let Some(data) = &self.user_data {
            body.push("UserData.Value", &BASE64.encode(data));
            set += 1;
        }
        if set != 1 {
            return Err(Ec2Error::invalid_input(OP, format!("set exactly one attribute per call (got {set})")));
        }
        push_dry_run(&mut body, self.dry_run);
        self.client.call(OP, body, true, model::empty).await
    }
}
