//! Public model types (decoded from the JSON of the discovery schemas `Instance`, `Operation`,
//! `Zone`, `MachineType` and their lists) and their wire forms. `uint64` ids stay strings,
//! timestamps become `SystemTime`, zone and machine-type URLs are kept and shortened.

use std::collections::BTreeMap;
use std::fmt;
use std::time::SystemTime;

use serde::{Deserialize, Deserializer, Serialize};

/// An RFC 3339 timestamp as `SystemTime` (`None` when absent or unreadable).
fn rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.as_deref().and_then(cloudkit_core::internal::date::parse_rfc3339))
}

/// The last path segment of a resource URL or partial URL (`…/zones/us-central1-a` →
/// `us-central1-a`); the text itself when it has no `/`.
pub fn short_name(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

/// `Instance.status` (discovery enum, revision 20261106), with a catch-all for values added later.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InstanceStatus {
    /// `PROVISIONING`: resources are being allocated.
    Provisioning,
    /// `STAGING`: resources are allocated and the instance is being started.
    Staging,
    /// `RUNNING`.
    Running,
    /// `STOPPING`: stopping (being deleted or killed).
    Stopping,
    /// `STOPPED`: stopped successfully (rare; a stopped VM normally reports `TERMINATED`).
    Stopped,
    /// `SUSPENDING`.
    Suspending,
    /// `SUSPENDED`.
    Suspended,
    /// `REPAIRING`: in repair.
    Repairing,
    /// `TERMINATED`: stopped, by request or by an underlying failure; what a stopped VM reports.
    Terminated,
    /// `DEPROVISIONING`: halted, tear-down tasks running.
    Deprovisioning,
    /// `PENDING`: Flex Start, waiting for capacity.
    Pending,
    /// `PENDING_STOP`: gracefully shutting down.
    PendingStop,
    /// A value this version does not know (kept as sent).
    Unknown(String),
}

impl InstanceStatus {
    /// Parses the wire value (unknown values become [`InstanceStatus::Unknown`]).
    pub fn from_wire(value: &str) -> Self {
        match value {
            "PROVISIONING" => Self::Provisioning,
            "STAGING" => Self::Staging,
            "RUNNING" => Self::Running,
            "STOPPING" => Self::Stopping,
            "STOPPED" => Self::Stopped,
            "SUSPENDING" => Self::Suspending,
            "SUSPENDED" => Self::Suspended,
            "REPAIRING" => Self::Repairing,
            "TERMINATED" => Self::Terminated,
            "DEPROVISIONING" => Self::Deprovisioning,
            "PENDING" => Self::Pending,
            "PENDING_STOP" => Self::PendingStop,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// The wire value (`RUNNING`, …).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Provisioning => "PROVISIONING",
            Self::Staging => "STAGING",
            Self::Running => "RUNNING",
            Self::Stopping => "STOPPING",
            Self::Stopped => "STOPPED",
            Self::Suspending => "SUSPENDING",
            Self::Suspended => "SUSPENDED",
            Self::Repairing => "REPAIRING",
            Self::Terminated => "TERMINATED",
            Self::Deprovisioning => "DEPROVISIONING",
            Self::Pending => "PENDING",
            Self::PendingStop => "PENDING_STOP",
            Self::Unknown(s) => s,
        }
    }

    /// Whether the instance is stopped (`TERMINATED` or `STOPPED`).
    pub fn is_stopped(&self) -> bool {
        matches!(self, Self::Terminated | Self::Stopped)
    }
}

impl fmt::Display for InstanceStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for InstanceStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::from_wire(&s))
    }
}

impl Default for InstanceStatus {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

/// A network interface of an instance (the addresses that matter).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NetworkInterface {
    /// `nic0`, …
    pub name: Option<String>,
    /// The network's URL.
    pub network: Option<String>,
    /// `networkIP`: the internal IPv4 address.
    pub internal_ip: Option<String>,
    /// `accessConfigs[].natIP`: the external IPv4 addresses.
    pub external_ips: Vec<String>,
}

/// An instance's metadata: `fingerprint` (send it back with `setMetadata`) and the `items`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Metadata {
    /// The fingerprint (base64) for optimistic locking.
    pub fingerprint: Option<String>,
    /// `items[]` as key → value (a `null` value is an empty string).
    pub items: BTreeMap<String, String>,
}

/// A Compute Engine instance (the fields cloudkit decodes from the `Instance` schema).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Instance {
    /// The id (`uint64`, kept as the string the API sends).
    pub id: String,
    /// The name.
    pub name: String,
    /// The zone's short name (`us-central1-a`).
    pub zone: String,
    /// The zone's URL as sent.
    pub zone_url: String,
    /// The machine type's short name (`e2-micro`).
    pub machine_type: String,
    /// The machine type's URL as sent.
    pub machine_type_url: String,
    /// The status.
    pub status: InstanceStatus,
    /// `statusMessage`, when sent.
    pub status_message: Option<String>,
    /// `description`, when sent.
    pub description: Option<String>,
    /// The labels.
    pub labels: BTreeMap<String, String>,
    /// `labelFingerprint` (base64): send it back with `setLabels`.
    pub label_fingerprint: Option<String>,
    /// The metadata (items and fingerprint).
    pub metadata: Metadata,
    /// The network interfaces.
    pub network_interfaces: Vec<NetworkInterface>,
    /// `creationTimestamp`.
    pub creation_timestamp: Option<SystemTime>,
    /// `selfLink`.
    pub self_link: Option<String>,
}

impl Instance {
    /// The first internal IP address.
    pub fn internal_ip(&self) -> Option<&str> {
        self.network_interfaces.iter().find_map(|n| n.internal_ip.as_deref())
    }

    /// The first external IP address.
    pub fn external_ip(&self) -> Option<&str> {
        self.network_interfaces.iter().find_map(|n| n.external_ips.first().map(String::as_str))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WireInstance {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    zone: Option<String>,
    #[serde(default)]
    machine_type: Option<String>,
    #[serde(default)]
    status: Option<InstanceStatus>,
    #[serde(default)]
    status_message: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    label_fingerprint: Option<String>,
    #[serde(default)]
    metadata: Option<WireMetadata>,
    #[serde(default)]
    network_interfaces: Option<Vec<WireNetworkInterface>>,
    #[serde(default, deserialize_with = "rfc3339")]
    creation_timestamp: Option<SystemTime>,
    #[serde(default)]
    self_link: Option<String>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct WireMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) items: Option<Vec<WireMetadataItem>>,
}

#[derive(Debug, Default, Deserialize, Serialize)]
pub(crate) struct WireMetadataItem {
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireNetworkInterface {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    network: Option<String>,
    #[serde(default, rename = "networkIP")]
    network_ip: Option<String>,
    #[serde(default)]
    access_configs: Option<Vec<WireAccessConfig>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAccessConfig {
    #[serde(default, rename = "natIP")]
    nat_ip: Option<String>,
}

impl From<WireInstance> for Instance {
    fn from(w: WireInstance) -> Self {
        let zone_url = w.zone.unwrap_or_default();
        let machine_type_url = w.machine_type.unwrap_or_default();
        let metadata = w.metadata.unwrap_or_default();
        Instance {
            id: w.id.unwrap_or_default(),
            name: w.name.unwrap_or_default(),
            zone: short_name(&zone_url).to_owned(),
            zone_url,
            machine_type: short_name(&machine_type_url).to_owned(),
            machine_type_url,
            status: w.status.unwrap_or_default(),
            status_message: w.status_message,
            description: w.description,
            labels: w.labels.unwrap_or_default(),
            label_fingerprint: w.label_fingerprint,
            metadata: Metadata {
                fingerprint: metadata.fingerprint,
                items: metadata
                    .items
                    .unwrap_or_default()
                    .into_iter()
                    .map(|i| (i.key, i.value.unwrap_or_default()))
                    .collect(),
            },
            network_interfaces: w
                .network_interfaces
                .unwrap_or_default()
                .into_iter()
                .map(|n| NetworkInterface {
                    name: n.name,
                    network: n.network,
                    internal_ip: n.network_ip,
                    external_ips: n.access_configs.unwrap_or_default().into_iter().filter_map(|a| a.nat_ip).collect(),
                })
                .collect(),
            creation_timestamp: w.creation_timestamp,
            self_link: w.self_link,
        }
    }
}

impl<'de> Deserialize<'de> for Instance {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        WireInstance::deserialize(d).map(Instance::from)
    }
}

/// `Operation.status`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum OperationStatus {
    /// `PENDING`: waiting to be processed.
    Pending,
    /// `RUNNING`: being processed.
    Running,
    /// `DONE`: finished, successfully or with `error`.
    Done,
    /// A value this version does not know.
    Unknown(String),
}

impl OperationStatus {
    /// Parses the wire value.
    pub fn from_wire(value: &str) -> Self {
        match value {
            "PENDING" => Self::Pending,
            "RUNNING" => Self::Running,
            "DONE" => Self::Done,
            other => Self::Unknown(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "PENDING",
            Self::Running => "RUNNING",
            Self::Done => "DONE",
            Self::Unknown(s) => s,
        }
    }
}

impl fmt::Display for OperationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for OperationStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::from_wire(&s))
    }
}

impl Default for OperationStatus {
    fn default() -> Self {
        Self::Unknown(String::new())
    }
}

/// `Operation.error`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct OperationErrorBody {
    /// `errors[]`.
    #[serde(default)]
    pub errors: Vec<crate::error::OperationErrorEntry>,
}

/// `Operation.warnings[]` entries (also the `warning` of list pages).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Warning {
    /// `NO_RESULTS_ON_PAGE`, `UNREACHABLE`, …
    #[serde(default)]
    pub code: Option<String>,
    /// The message.
    #[serde(default)]
    pub message: Option<String>,
}

/// A zonal Operation resource (discovery schema `Operation`): what every mutating call returns.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct OperationResource {
    /// The id (`uint64` as a string).
    #[serde(default)]
    pub id: Option<String>,
    /// The name (what `zoneOperations.get`/`wait` take).
    #[serde(default)]
    pub name: String,
    /// The zone URL (`…/zones/us-central1-a`); absent for global operations.
    #[serde(default)]
    pub zone: Option<String>,
    /// `insert`, `start`, `stop`, `reset`, `delete`, `setLabels`, …
    #[serde(default)]
    pub operation_type: Option<String>,
    /// `PENDING`, `RUNNING` or `DONE`.
    #[serde(default)]
    pub status: OperationStatus,
    /// `statusMessage`.
    #[serde(default)]
    pub status_message: Option<String>,
    /// The URL of the resource the operation works on.
    #[serde(default)]
    pub target_link: Option<String>,
    /// The id of that resource.
    #[serde(default)]
    pub target_id: Option<String>,
    /// 0–100; not a completion estimate.
    #[serde(default)]
    pub progress: Option<i32>,
    /// The error, when `DONE` with errors.
    #[serde(default)]
    pub error: Option<OperationErrorBody>,
    /// `httpErrorStatusCode` of a failure (`int32` in the schema).
    #[serde(default)]
    pub http_error_status_code: Option<i32>,
    /// `httpErrorMessage` of a failure.
    #[serde(default)]
    pub http_error_message: Option<String>,
    /// Warnings (possible on success).
    #[serde(default)]
    pub warnings: Vec<Warning>,
    /// `selfLink`.
    #[serde(default)]
    pub self_link: Option<String>,
    /// Who started it.
    #[serde(default)]
    pub user: Option<String>,
    /// `insertTime`.
    #[serde(default, deserialize_with = "rfc3339")]
    pub insert_time: Option<SystemTime>,
    /// `startTime`.
    #[serde(default, deserialize_with = "rfc3339")]
    pub start_time: Option<SystemTime>,
    /// `endTime`.
    #[serde(default, deserialize_with = "rfc3339")]
    pub end_time: Option<SystemTime>,
}

impl OperationResource {
    /// The zone's short name (`us-central1-a`), when the operation is zonal.
    pub fn zone_name(&self) -> Option<&str> {
        self.zone.as_deref().map(short_name).filter(|z| !z.is_empty())
    }

    /// Whether the status is `DONE`.
    pub fn is_done(&self) -> bool {
        self.status == OperationStatus::Done
    }

    /// Whether it is `DONE` with a non-empty `error.errors`.
    pub fn has_errors(&self) -> bool {
        self.is_done() && self.error.as_ref().is_some_and(|e| !e.errors.is_empty())
    }

    pub(crate) fn failure(&self) -> crate::error::OperationErrors {
        crate::error::OperationErrors {
            operation: self.name.clone(),
            operation_type: self.operation_type.clone(),
            target_link: self.target_link.clone(),
            errors: self.error.as_ref().map(|e| e.errors.clone()).unwrap_or_default(),
            http_error_status_code: self.http_error_status_code.and_then(|c| u16::try_from(c).ok()),
            http_error_message: self.http_error_message.clone(),
        }
    }
}

/// A zone (discovery schema `Zone`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Zone {
    /// The id.
    #[serde(default)]
    pub id: Option<String>,
    /// The name (`us-central1-a`).
    #[serde(default)]
    pub name: String,
    /// `UP` or `DOWN`.
    #[serde(default)]
    pub status: Option<String>,
    /// The region's URL.
    #[serde(default)]
    pub region: Option<String>,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// `selfLink`.
    #[serde(default)]
    pub self_link: Option<String>,
}

impl Zone {
    /// The region's short name (`us-central1`).
    pub fn region_name(&self) -> Option<&str> {
        self.region.as_deref().map(short_name)
    }
}

/// A machine type (schema `MachineType`: the fields cloudkit decodes).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MachineType {
    /// The id.
    #[serde(default)]
    pub id: Option<String>,
    /// The name (`e2-micro`).
    #[serde(default)]
    pub name: String,
    /// The description.
    #[serde(default)]
    pub description: Option<String>,
    /// Virtual CPUs.
    #[serde(default)]
    pub guest_cpus: Option<u32>,
    /// Memory in MiB.
    #[serde(default)]
    pub memory_mb: Option<u64>,
    /// The zone's short name.
    #[serde(default)]
    pub zone: Option<String>,
    /// Whether the CPUs are shared.
    #[serde(default)]
    pub is_shared_cpu: Option<bool>,
    /// `selfLink`.
    #[serde(default)]
    pub self_link: Option<String>,
}
