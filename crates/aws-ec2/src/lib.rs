//! # cloudkit-aws-ec2
//!
//! The EC2 client of cloudkit: the AWS Query protocol (form-encoded requests, XML answers) over the
//! shared request pipeline, with SigV4 signing, retries and typed errors.
//!
//! - **Client** ([`Ec2Client`]): one method per operation, builder-style inputs, typed outputs:
//!   instances (`run_instances`, `describe_instances`, `describe_instance_status`, `start_instances`,
//!   `stop_instances`, `reboot_instances`, `terminate_instances`, `modify_instance_attribute`), tags
//!   (`create_tags`, `delete_tags`, `describe_tags`), images (`describe_images`), regions and zones, key
//!   pairs and security groups.
//! - **Listing**: every paginated describe call has `send()` (one page), `into_pages(PaginationConfig)`
//!   and `into_items(PaginationConfig)` (page size, max items, starting token; built on
//!   `cloudkit-paginate`), and `describe_instances().into_instances(..)` streams the instances of
//!   every reservation.
//! - **Waiters** ([`waiters`]): `wait_until_instance_running()` and the other official EC2 waiters.
//! - **Resources** ([`resource`]): boto3-style [`resource::Ec2Resource`] and [`resource::Instance`].
//! - **Errors** ([`Ec2Error`]): typed variants for the codes people match on, `DryRunOperation`
//!   included.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_aws_ec2::Ec2Client;
//!
//! let config = cloudkit_cred_chain::aws::AwsConfig::loader().load().await?;
//! let ec2 = Ec2Client::new(&config)?; // = Ec2Client::builder(&config).build()?
//! let reservation = ec2.run_instances("ami-0abcdef1234567890").instance_type("t3.micro").send().await?;
//! let id = &reservation.instances[0].instance_id;
//! ec2.wait_until_instance_running().instance_id(id).wait().await?;
//! ec2.terminate_instances().instance_id(id).send().await?;
//! # Ok(()) }
//! ```

mod catalog;
mod client;
mod describe;
mod error;
mod images;
mod instance;
mod key_pairs;
mod model;
pub mod resource;
mod security_groups;
mod tags;
mod types;
pub mod waiters;

pub use catalog::{AvailabilityZone, DescribeAvailabilityZones, DescribeRegions, Region};
/// The service name used in errors and logs.
pub const SERVICE: &str = "EC2";

pub use client::{API_VERSION, ClientBuilder, Ec2Client, SIGNING_NAME, default_endpoint};
/// Re-exports of the pagination types that appear in the listing API.
pub use cloudkit_paginate::{
    ItemStream, PageStream, PaginationConfig, PaginationError, PaginationErrorKind, ResumeToken,
};
pub use error::Ec2Error;
pub use images::{DescribeImages, DescribeImagesOutput, Image};
pub use instance::{
    DescribeInstanceStatus, DescribeInstanceStatusOutput, DescribeInstances, DescribeInstancesOutput, InstanceStatus,
    ModifyInstanceAttribute, RebootInstances, RunInstances, StartInstances, StopInstances, TagSpecification,
    TerminateInstances,
};
pub use key_pairs::{CreateKeyPair, DeleteKeyPair, DescribeKeyPairs, ImportKeyPair, KeyPair, KeyPairInfo, KeyType};
pub use security_groups::{
    AuthorizeSecurityGroupIngress, CreateSecurityGroup, DeleteSecurityGroup, DescribeSecurityGroups,
    DescribeSecurityGroupsOutput, IpPermission, IpRange, SecurityGroup, UserIdGroupPair,
};
pub use tags::{CreateTags, DeleteTags, DescribeTags, DescribeTagsOutput, TagDescription};
pub use types::{
    Filter, GroupIdentifier, Instance, InstanceState, InstanceStateChange, InstanceStateName, Reservation, Tag,
};
pub use waiters::{Ec2WaiterError, InstanceStatusWaiter, InstanceWaiter};

#[cfg(test)]
mod futures_are_send;
#[cfg(test)]
mod tests;
