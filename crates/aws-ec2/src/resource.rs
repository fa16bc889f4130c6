//! boto3-style resources: [`Ec2Resource`] (`instances().all()`, `instances().filter(..)`,
//! `create_instances(..)`) and [`Instance`] handles with `reload()`, `wait_until_*()` and actions.
//!
//! ```no_run
//! # async fn demo(ec2: cloudkit_aws_ec2::Ec2Client) -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_aws_ec2::resource::Ec2Resource;
//! use cloudkit_aws_ec2::{Filter, InstanceStateName};
//! use futures::TryStreamExt;
//!
//! let ec2 = Ec2Resource::new(ec2);
//! let mut instances = ec2.create_instances("ami-0abcdef1234567890").instance_type("t3.micro").send().await?;
//! let instance = &mut instances[0];
//! instance.wait_until_running().await?;
//! println!("{} at {:?}", instance.id(), instance.public_ip_address());
//!
//! let running: Vec<_> =
//!     ec2.instances().filter([Filter::instance_state([InstanceStateName::Running])]).try_collect().await?;
//! println!("{} running", running.len());
//! instance.terminate().await?;
//! # Ok(()) }
//! ```

use std::time::SystemTime;

use cloudkit_paginate::PaginationConfig;
use futures::stream::{BoxStream, StreamExt, TryStreamExt};

use crate::client::Ec2Client;
use crate::error::Ec2Error;
use crate::instance::RunInstances;
use crate::types::{self, Filter, InstanceState, InstanceStateChange, Tag};
use crate::waiters::Ec2WaiterError;
use crate::{DescribeInstancesOutput, InstanceWaiter};

/// The EC2 service resource (boto3's `boto3.resource("ec2")`).
#[derive(Clone, Debug)]
pub struct Ec2Resource {
    client: Ec2Client,
}

impl Ec2Resource {
    /// A resource over `client`.
    pub fn new(client: Ec2Client) -> Self {
        Self { client }
    }

    /// The underlying client.
    pub fn client(&self) -> &Ec2Client {
        &self.client
    }

    /// The instances collection.
    pub fn instances(&self) -> InstanceCollection {
        InstanceCollection { client: self.client.clone(), page_size: None }
    }

    /// A handle on instance `id`, not loaded yet (call [`Instance::reload`]).
    pub fn instance(&self, id: impl Into<String>) -> Instance {
        Instance { client: self.client.clone(), id: id.into(), data: None }
    }

    /// Launches instances of `image_id` (a [`RunInstances`] builder whose `send` returns handles).
    pub fn create_instances(&self, image_id: impl Into<String>) -> CreateInstances {
        CreateInstances { inner: self.client.run_instances(image_id), client: self.client.clone() }
    }
}

/// `ec2.instances`: every instance, or those matching filters, as a stream of handles.
#[derive(Clone, Debug)]
pub struct InstanceCollection {
    client: Ec2Client,
    page_size: Option<u32>,
}

impl InstanceCollection {
    /// The number of reservations fetched per request.
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// Every instance.
    pub fn all(self) -> BoxStream<'static, Result<Instance, Ec2Error>> {
        self.filter([])
    }

    /// The instances matching every filter.
    pub fn filter(self, filters: impl IntoIterator<Item = Filter>) -> BoxStream<'static, Result<Instance, Ec2Error>> {
        let request = filters.into_iter().fold(self.client.describe_instances(), |r, f| r.filter(f));
        let mut config = PaginationConfig::default();
        if let Some(n) = self.page_size {
            config = config.page_size(n);
        }
        let client = self.client;
        request.into_instances(config).map_ok(move |data| Instance::from_data(client.clone(), data)).boxed()
    }
}

/// Builder for [`Ec2Resource::create_instances`]: the options of [`RunInstances`].
#[derive(Clone, Debug)]
#[must_use = "call .send() to launch the instances"]
pub struct CreateInstances {
    inner: RunInstances,
    client: Ec2Client,
}

macro_rules! forward {
    ($( $(#[$doc:meta])* $name:ident($($arg:ident: $ty:ty),*) ),* $(,)?) => {
        $(
            $(#[$doc])*
            pub fn $name(mut self, $($arg: $ty),*) -> Self {
                self.inner = self.inner.$name($($arg),*);
                self
            }
        )*
    };
}

impl CreateInstances {
    forward! {
        /// See [`RunInstances::instance_type`].
        instance_type(t: impl Into<String>),
        /// See [`RunInstances::count`].
        count(n: u32),
        /// See [`RunInstances::min_count`].
        min_count(n: u32),
        /// See [`RunInstances::max_count`].
        max_count(n: u32),
        /// See [`RunInstances::key_name`].
        key_name(k: impl Into<String>),
        /// See [`RunInstances::security_group_id`].
        security_group_id(g: impl Into<String>),
        /// See [`RunInstances::subnet_id`].
        subnet_id(s: impl Into<String>),
        /// See [`RunInstances::user_data`].
        user_data(d: impl AsRef<[u8]>),
        /// See [`RunInstances::tag`].
        tag(k: impl Into<String>, v: impl Into<String>),
        /// See [`RunInstances::client_token`].
        client_token(t: impl Into<String>),
        /// See [`RunInstances::dry_run`].
        dry_run(d: bool),
    }

    /// Launches the instances and returns a handle per instance.
    pub async fn send(self) -> Result<Vec<Instance>, Ec2Error> {
        let reservation = self.inner.send().await?;
        let client = self.client;
        Ok(reservation.instances.into_iter().map(|d| Instance::from_data(client.clone(), d)).collect())
    }
}

/// A handle on one instance (boto3's `ec2.Instance`): attributes from the last load, `reload()`,
/// waiters and actions.
#[derive(Clone, Debug)]
pub struct Instance {
    client: Ec2Client,
    id: String,
    data: Option<types::Instance>,
}

impl Instance {
    fn from_data(client: Ec2Client, data: types::Instance) -> Self {
        Self { client, id: data.instance_id.clone(), data: Some(data) }
    }

    /// The instance id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Everything known from the last load, if loaded.
    pub fn data(&self) -> Option<&types::Instance> {
        self.data.as_ref()
    }

    /// The state at the last load.
    pub fn state(&self) -> Option<&InstanceState> {
        self.data.as_ref().map(|d| &d.state)
    }

    /// The instance type.
    pub fn instance_type(&self) -> Option<&str> {
        self.data.as_ref().and_then(|d| d.instance_type.as_deref())
    }

    /// The AMI id.
    pub fn image_id(&self) -> Option<&str> {
        self.data.as_ref().and_then(|d| d.image_id.as_deref())
    }

    /// The private IPv4 address.
    pub fn private_ip_address(&self) -> Option<&str> {
        self.data.as_ref().and_then(|d| d.private_ip_address.as_deref())
    }

    /// The public IPv4 address.
    pub fn public_ip_address(&self) -> Option<&str> {
        self.data.as_ref().and_then(|d| d.public_ip_address.as_deref())
    }

    /// When it was launched.
    pub fn launch_time(&self) -> Option<SystemTime> {
        self.data.as_ref().and_then(|d| d.launch_time)
    }

    /// The tags at the last load.
    pub fn tags(&self) -> &[Tag] {
        self.data.as_ref().map_or(&[], |d| d.tags.as_slice())
    }

    /// Reloads the attributes (`DescribeInstances`).
    pub async fn reload(&mut self) -> Result<(), Ec2Error> {
        let output = self.client.describe_instances().instance_id(&self.id).send().await?;
        self.data = Some(self.take_own(output).ok_or_else(|| {
            Ec2Error::decode("DescribeInstances", format!("the answer does not contain instance {}", self.id))
        })?);
        Ok(())
    }

    fn take_own(&self, output: DescribeInstancesOutput) -> Option<types::Instance> {
        output.reservations.into_iter().flat_map(|r| r.instances).find(|i| i.instance_id == self.id)
    }

    async fn wait(&mut self, waiter: InstanceWaiter) -> Result<(), Ec2WaiterError<DescribeInstancesOutput>> {
        let done = waiter.instance_id(&self.id).wait().await?;
        if let Some(data) = done.into_output().and_then(|o| self.take_own(o)) {
            self.data = Some(data);
        }
        Ok(())
    }

    /// Waits until the instance is running (the `instance_running` waiter), then refreshes the
    /// attributes from the last poll.
    pub async fn wait_until_running(&mut self) -> Result<(), Ec2WaiterError<DescribeInstancesOutput>> {
        let waiter = self.client.wait_until_instance_running();
        self.wait(waiter).await
    }

    /// Waits until the instance is stopped.
    pub async fn wait_until_stopped(&mut self) -> Result<(), Ec2WaiterError<DescribeInstancesOutput>> {
        let waiter = self.client.wait_until_instance_stopped();
        self.wait(waiter).await
    }

    /// Waits until the instance is terminated.
    pub async fn wait_until_terminated(&mut self) -> Result<(), Ec2WaiterError<DescribeInstancesOutput>> {
        let waiter = self.client.wait_until_instance_terminated();
        self.wait(waiter).await
    }

    /// Waits with a customised waiter (e.g. `client.wait_until_instance_running().max_wait(..)`); the
    /// instance id is added to it.
    pub async fn wait_with(&mut self, waiter: InstanceWaiter) -> Result<(), Ec2WaiterError<DescribeInstancesOutput>> {
        self.wait(waiter).await
    }

    fn single_change(
        &self,
        op: &'static str,
        changes: Vec<InstanceStateChange>,
    ) -> Result<InstanceStateChange, Ec2Error> {
        changes
            .into_iter()
            .find(|c| c.instance_id == self.id)
            .ok_or_else(|| Ec2Error::decode(op, format!("the answer does not mention instance {}", self.id)))
    }

    /// Starts the instance.
    pub async fn start(&self) -> Result<InstanceStateChange, Ec2Error> {
        let changes = self.client.start_instances().instance_id(&self.id).send().await?;
        self.single_change("StartInstances", changes)
    }

    /// Stops the instance.
    pub async fn stop(&self) -> Result<InstanceStateChange, Ec2Error> {
        let changes = self.client.stop_instances().instance_id(&self.id).send().await?;
        self.single_change("StopInstances", changes)
    }

    /// Reboots the instance.
    pub async fn reboot(&self) -> Result<(), Ec2Error> {
        self.client.reboot_instances().instance_id(&self.id).send().await
    }

    /// Terminates the instance.
    pub async fn terminate(&self) -> Result<InstanceStateChange, Ec2Error> {
        let changes = self.client.terminate_instances().instance_id(&self.id).send().await?;
        self.single_change("TerminateInstances", changes)
    }

    /// Adds or overwrites tags on the instance.
    pub async fn create_tags(&self, tags: impl IntoIterator<Item = Tag>) -> Result<(), Ec2Error> {
        self.client.create_tags().resource(&self.id).tags(tags).send().await
    }
}
