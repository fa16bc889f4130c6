//! # cloudkit-azure-arm
//!
//! Azure Resource Manager (the management plane) on cloudkit's shared pipeline: bearer tokens of
//! the scope `https://management.azure.com/.default` from the Azure credential chain (the
//! `DefaultAzureCredential` equivalent), the `api-version` of each resource provider, ARM's JSON
//! errors as typed [`ArmError`]s (with `x-ms-request-id` and `x-ms-correlation-request-id`),
//! retries with [`AZURE_ARM_RETRY_CLASSIFIER`] (429 with `Retry-After`), listings that follow
//! `nextLink`, and one [`Poller`] for every long-running operation. Built from an
//! [`AzureConfig`] (`AZURE_SUBSCRIPTION_ID`, `AZURE_RESOURCE_MANAGER_ENDPOINT`,
//! `AZURE_AUTHORITY_HOST`; no storage account needed).
//!
//! - [`ArmClient::subscriptions`]: list, get.
//! - [`ArmClient::resource_groups`]: list (tag filter, `$top`), get, exists, create or update,
//!   update tags, delete (long-running, optionally forcing VM deletion).
//! - [`ArmClient::virtual_machines`]: list, list all, get (with the instance view), instance view
//!   ([`PowerState`]), start, power off, deallocate, restart, delete, create or update from a
//!   [`VirtualMachineDefinition`], update tags — each long-running (`send()` waits, `begin()`
//!   returns a [`Poller`]); waiters `wait_until_running` / `_stopped` / `_deallocated` / `_deleted`.
//! - [`ArmClient::resources`]: any resource by id, bodies as `serde_json::Value` (what
//!   `az resource` does), including POST actions ([`Resources::action`], `az resource
//!   invoke-action`: the result, or a [`Poller`] when the service answers 202);
//!   [`ArmClient::providers`]: api-versions of a resource type.
//!
//! The Python tutorial's
//!
//! ```python
//! rm = ResourceManagementClient(DefaultAzureCredential(), sub_id)
//! for rg in rm.resource_groups.list():
//!     print(rg.name, rg.location)
//! ```
//!
//! in Rust:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_azure_arm::{ArmClient, AzureConfig};
//! use futures::TryStreamExt;
//!
//! let config = AzureConfig::loader().load().await?; // credentials + AZURE_SUBSCRIPTION_ID
//! let rm = ArmClient::new(&config)?;
//! let mut groups = rm.resource_groups().list().into_items(Default::default());
//! while let Some(rg) = groups.try_next().await? {
//!     println!("{} {}", rg.name, rg.location);
//! }
//! // Long-running operations: `send()` waits, `begin()` hands back a poller.
//! rm.virtual_machines().deallocate("my-rg", "my-vm").send().await?;
//! let view = rm.virtual_machines().instance_view("my-rg", "my-vm").send().await?;
//! println!("{:?}", view.power_state());
//! # Ok(()) }
//! ```

mod client;
mod error;
mod list;
mod lro;
mod model;
mod resource_groups;
mod resources;
mod subscriptions;
mod virtual_machines;
pub mod waiters;

#[cfg(test)]
mod futures_are_send;
#[cfg(test)]
mod tests;

pub use client::{ArmClient, ClientBuilder, default_lro_config};
/// Re-exports of the waiter types that appear in this crate's API.
pub use cloudkit_waiter::{FinalPoll, WaiterConfig, WaiterError};
pub use error::{AZURE_ARM_RETRY_CLASSIFIER, ArmError, ArmErrorParser, Result};
pub use lro::{DEFAULT_POLL_DELAY, LRO_WAITER, PollStatus, Poller};
pub use model::{
    ArmPage, GenericResource, ImageReference, InstanceViewStatus, PowerState, Provider, ProviderResourceType,
    ResourceGroup, ResourceGroupProperties, Subscription, VirtualMachine, VirtualMachineInstanceView,
    newest_api_version,
};
pub use resource_groups::{
    CreateOrUpdateResourceGroup, DeleteResourceGroup, GetResourceGroup, ListResourceGroups, RESOURCES_API_VERSION,
    ResourceGroupExists, ResourceGroups, UpdateResourceGroupTags,
};
pub use resources::{
    GenericRequest, GetProvider, ListResources, Providers, ResourceAction, Resources, resource_type_of,
};
pub use subscriptions::{GetSubscription, ListSubscriptions, SUBSCRIPTIONS_API_VERSION, Subscriptions};
pub use virtual_machines::{
    ActionKind, COMPUTE_API_VERSION, CreateOrUpdateVirtualMachine, GetInstanceView, GetVirtualMachine,
    ListVirtualMachines, UpdateVirtualMachineTags, VirtualMachineDefinition, VirtualMachines, VmAction,
};
pub use waiters::{ArmWaiterError, VmWaiter, VmWaiterKind, default_config as default_waiter_config};

/// Re-export of the configuration every ARM client is built from.
pub use cloudkit_cred_chain::azure::AzureConfig;

/// The service name in errors and logs.
pub const SERVICE: &str = "AzureARM";
