//! # cloudkit-gcp-compute
//!
//! Google Compute Engine (API v1, `https://compute.googleapis.com/compute/v1/`) on cloudkit's
//! shared pipeline: bearer tokens from the Google credential chain (Application Default
//! Credentials through google-cloud-auth) with the Compute scope
//! `https://www.googleapis.com/auth/compute` ([`COMPUTE_SCOPE`]) unless the loader was told the
//! scopes (`GcpConfig::loader().scopes([..])` sets them for every client; credentials passed with
//! `GcpConfig::loader().credentials(..)` are used as they are), the project from
//! the loaded [`GcpConfig`] (`GOOGLE_CLOUD_PROJECT`, the credentials file, the metadata server),
//! Google's JSON error envelope as typed [`GceError`]s, retries with [`GCE_RETRY_CLASSIFIER`],
//! listings that follow `pageToken`, and one [`Operation`] handle for every mutating call.
//!
//! - [`ComputeClient::instances`]: list (one zone; `filter`, `max_results`, `order_by`),
//!   aggregated list (every zone, a stream of `(zone, Instance)`), get, insert from an
//!   [`InstanceDefinition`], start, stop (`discard_local_ssd`), reset, suspend, resume, delete,
//!   set labels (with the `labelFingerprint`), set metadata; waiters `wait_until_running` /
//!   `_stopped` / `_terminated` / `_deleted`.
//! - [`ComputeClient::zone_operations`]: get, wait, and [`Operation::wait`] (alias
//!   [`Operation::result`]) until `DONE`, `error.errors` as [`GceError::OperationFailed`], with a
//!   deadline that also cuts a `zoneOperations.wait` call the service still holds.
//! - [`ComputeClient::zones`], [`ComputeClient::machine_types`]: list.
//!
//! The endpoint can be overridden with `CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE` (gcloud's
//! `api_endpoint_overrides/compute`; cloudkit also reads `CLOUDKIT_GCE_ENDPOINT` when that is
//! unset), `GcpConfig::loader().compute_endpoint(..)` or
//! [`ClientBuilder::endpoint`]. Bearer tokens go over https only, or over plain http to a
//! loopback endpoint (`127.0.0.1`, `::1`, `localhost`) named explicitly in the config (a local
//! fake: there is no Compute Engine emulator).
//!
//! The Python tutorial's
//!
//! ```python
//! from google.cloud import compute_v1
//! for instance in compute_v1.InstancesClient().list(project="my-proj", zone="us-central1-a"):
//!     print(instance.name, instance.status)
//! ```
//!
//! in Rust:
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_gcp_compute::{ComputeClient, GcpConfig, InstanceDefinition};
//! use futures::TryStreamExt;
//!
//! let config = GcpConfig::loader().project_id("my-proj").load().await?; // ADC
//! let compute = ComputeClient::new(&config)?;
//! let mut instances = compute.instances().list("us-central1-a").into_items(Default::default());
//! while let Some(instance) = instances.try_next().await? {
//!     println!("{} {}", instance.name, instance.status);
//! }
//! // Mutating calls return an operation; `wait()` (or `result()`) polls it until DONE.
//! let vm = InstanceDefinition::new("web-1", "e2-micro").label("env", "dev");
//! compute.instances().insert("us-central1-a", vm).send().await?.wait().await?;
//! compute.instances().wait_until_running("us-central1-a", "web-1").wait().await?;
//! # Ok(()) }
//! ```
//!
//! The unit tests check every request against Google's published discovery document
//! (`src/testdata/compute-v1-subset.json`) and answer with documented shapes, not a live service.

mod client;
mod error;
mod instances;
mod list;
mod model;
mod operations;
pub mod waiters;
mod zones;

#[cfg(test)]
mod futures_are_send;
#[cfg(test)]
mod tests;

pub use client::{ClientBuilder, ComputeClient, WAIT_CALL_TIMEOUT, default_operation_config, new_request_id};
/// Re-exports of the waiter types that appear in this crate's API.
pub use cloudkit_waiter::{FinalPoll, WaiterConfig, WaiterError};
pub use error::{GCE_RETRY_CLASSIFIER, GceError, GceErrorParser, OperationErrorEntry, OperationErrors, Result};
pub use instances::{
    ActionKind, AggregatedListInstances, DEFAULT_IMAGE, DEFAULT_NETWORK, GetInstance, InsertInstance, InstanceAction,
    InstanceDefinition, Instances, ListInstances, SetLabels, SetMetadata, is_valid_instance_name,
};
pub use list::{AggregatedInstancePage, ListPage};
pub use model::{
    Instance, InstanceStatus, MachineType, Metadata, NetworkInterface, OperationErrorBody, OperationResource,
    OperationStatus, Warning, Zone, short_name,
};
pub use operations::{GetZoneOperation, OPERATION_WAITER, Operation, ZoneOperations};
pub use waiters::{GceWaiterError, InstanceWaiter, InstanceWaiterKind, default_config as default_waiter_config};
pub use zones::{ListMachineTypes, ListZones, MachineTypes, Zones};

/// Re-export of the OAuth scope of Compute Engine clients when the loader was given no scopes.
pub use cloudkit_cred_chain::gcp::COMPUTE_SCOPE;
/// Re-export of the configuration every Compute Engine client is built from.
pub use cloudkit_cred_chain::gcp::GcpConfig;

/// The service name in errors and logs.
pub const SERVICE: &str = "GCE";
