//! Public model types (decoded with serde; unknown fields are ignored, timestamps are
//! `SystemTime`) and the page type of every ARM listing.

use std::collections::BTreeMap;
use std::time::SystemTime;

use cloudkit_paginate::Page;
use serde::{Deserialize, Deserializer};

/// An RFC 3339 timestamp as `SystemTime` (`None` when absent or unreadable).
fn rfc3339<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
    let text: Option<String> = Option::deserialize(d)?;
    Ok(text.as_deref().and_then(cloudkit_core::internal::date::parse_rfc3339))
}

/// `null` as the default value.
fn nullable<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One page of an ARM listing: `value` and `nextLink` (an absolute URL holding the api-version
/// and any `$skipToken`, followed exactly as given; a page may be empty and still have one).
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase", bound(deserialize = "T: Deserialize<'de>"))]
#[non_exhaustive]
pub struct ArmPage<T> {
    /// The items of this page.
    #[serde(default = "Vec::new", deserialize_with = "nullable")]
    pub value: Vec<T>,
    /// The URL of the next page; `None` on the last one.
    #[serde(default)]
    pub next_link: Option<String>,
}

impl<T> Default for ArmPage<T> {
    fn default() -> Self {
        Self { value: Vec::new(), next_link: None }
    }
}

impl<T> Page for ArmPage<T> {
    type Item = T;
    fn next_token(&self) -> Option<&str> {
        self.next_link.as_deref().filter(|t| !t.trim().is_empty())
    }
    fn item_count(&self) -> usize {
        self.value.len()
    }
    fn retain_items(&mut self, range: std::ops::Range<usize>) {
        cloudkit_paginate::retain_range(&mut self.value, range);
    }
    fn into_items(self) -> Vec<T> {
        self.value
    }
}

/// A subscription (`Subscriptions_List`, `Subscriptions_Get`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Subscription {
    /// `/subscriptions/{id}`.
    #[serde(default)]
    pub id: String,
    /// The subscription id (a GUID).
    #[serde(default)]
    pub subscription_id: String,
    /// The tenant.
    #[serde(default)]
    pub tenant_id: Option<String>,
    /// The display name.
    #[serde(default)]
    pub display_name: String,
    /// `Enabled`, `Warned`, `PastDue`, `Disabled`, `Deleted`.
    #[serde(default)]
    pub state: Option<String>,
    /// `RoleBased`, `Legacy`, …
    #[serde(default)]
    pub authorization_source: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "nullable")]
    pub tags: BTreeMap<String, String>,
}

/// A resource group.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResourceGroup {
    /// `/subscriptions/{s}/resourceGroups/{name}`.
    #[serde(default)]
    pub id: String,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The location (`westus2`).
    #[serde(default)]
    pub location: String,
    /// The id of the resource that manages this group, if any.
    #[serde(default)]
    pub managed_by: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "nullable")]
    pub tags: BTreeMap<String, String>,
    /// `properties`.
    #[serde(default)]
    pub properties: ResourceGroupProperties,
}

impl ResourceGroup {
    /// `properties.provisioningState` (`Succeeded`, `Deleting`, …).
    pub fn provisioning_state(&self) -> Option<&str> {
        self.properties.provisioning_state.as_deref()
    }
}

/// The properties of a resource group.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ResourceGroupProperties {
    /// `Succeeded`, `Deleting`, …
    #[serde(default)]
    pub provisioning_state: Option<String>,
}

/// Any resource as the generic listings return it (`Resources_List`, `Resources_ListByResourceGroup`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GenericResource {
    /// The resource id.
    #[serde(default)]
    pub id: String,
    /// The name.
    #[serde(default)]
    pub name: String,
    /// The type (`Microsoft.Compute/virtualMachines`).
    #[serde(default, rename = "type")]
    pub resource_type: String,
    /// The location.
    #[serde(default)]
    pub location: Option<String>,
    /// Tags.
    #[serde(default, deserialize_with = "nullable")]
    pub tags: BTreeMap<String, String>,
    /// The kind, when the type has kinds.
    #[serde(default)]
    pub kind: Option<String>,
}

/// A resource provider (`Providers_Get`): its namespace and resource types.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Provider {
    /// The provider id.
    #[serde(default)]
    pub id: Option<String>,
    /// `Microsoft.Compute`.
    #[serde(default)]
    pub namespace: String,
    /// `Registered`, `NotRegistered`, …
    #[serde(default)]
    pub registration_state: Option<String>,
    /// The resource types and their api-versions.
    #[serde(default, deserialize_with = "nullable")]
    pub resource_types: Vec<ProviderResourceType>,
}

/// One resource type of a provider.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ProviderResourceType {
    /// `virtualMachines`, `virtualMachines/extensions`, …
    #[serde(default)]
    pub resource_type: String,
    /// The locations.
    #[serde(default, deserialize_with = "nullable")]
    pub locations: Vec<String>,
    /// The api-versions, as the service lists them.
    #[serde(default, deserialize_with = "nullable")]
    pub api_versions: Vec<String>,
}

impl ProviderResourceType {
    /// The newest api-version that is not a preview (`2025-04-01` over `2025-06-01-preview`),
    /// else the newest preview.
    pub fn default_api_version(&self) -> Option<&str> {
        newest_api_version(self.api_versions.iter().map(String::as_str))
    }
}

impl Provider {
    /// The resource type named `resource_type` (case-insensitive; `virtualMachines`).
    pub fn resource_type(&self, resource_type: &str) -> Option<&ProviderResourceType> {
        self.resource_types.iter().find(|t| t.resource_type.eq_ignore_ascii_case(resource_type))
    }

    /// The newest non-preview api-version of `resource_type` (see
    /// [`ProviderResourceType::default_api_version`]).
    pub fn default_api_version(&self, resource_type: &str) -> Option<&str> {
        self.resource_type(resource_type)?.default_api_version()
    }
}

/// The newest api-version of `versions` that is not a preview, else the newest one.
///
/// ```
/// use cloudkit_azure_arm::newest_api_version;
/// let v = ["2024-07-01", "2025-06-01-preview", "2025-04-01", "2023-09-01"];
/// assert_eq!(newest_api_version(v), Some("2025-04-01"));
/// assert_eq!(newest_api_version(["2020-01-01-preview"]), Some("2020-01-01-preview"));
/// ```
pub fn newest_api_version<'a>(versions: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let all: Vec<&str> = versions.into_iter().filter(|v| !v.trim().is_empty()).collect();
    let stable = all.iter().copied().filter(|v| !v.to_ascii_lowercase().contains("preview")).max();
    stable.or_else(|| all.iter().copied().max())
}

/// An image reference (marketplace image or an image id).
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ImageReference {
    /// `Canonical`.
    #[serde(default)]
    pub publisher: Option<String>,
    /// `ubuntu-24_04-lts`.
    #[serde(default)]
    pub offer: Option<String>,
    /// `server`.
    #[serde(default)]
    pub sku: Option<String>,
    /// `latest`.
    #[serde(default)]
    pub version: Option<String>,
    /// The id of a custom image or gallery image version, instead of the four above.
    #[serde(default)]
    pub id: Option<String>,
}

impl ImageReference {
    /// A marketplace image: publisher, offer, sku, version (`latest`).
    pub fn marketplace(
        publisher: impl Into<String>,
        offer: impl Into<String>,
        sku: impl Into<String>,
        version: impl Into<String>,
    ) -> Self {
        Self {
            publisher: Some(publisher.into()),
            offer: Some(offer.into()),
            sku: Some(sku.into()),
            version: Some(version.into()),
            id: None,
        }
    }

    /// A custom or gallery image by its resource id.
    pub fn from_id(id: impl Into<String>) -> Self {
        Self { id: Some(id.into()), ..Self::default() }
    }
}

/// The power state of a virtual machine, from the instance view's `PowerState/<x>` status code.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PowerState {
    /// `PowerState/starting`.
    Starting,
    /// `PowerState/running`.
    Running,
    /// `PowerState/stopping`.
    Stopping,
    /// `PowerState/stopped`: stopped from Azure or the guest, still allocated (still billed).
    Stopped,
    /// `PowerState/deallocating`.
    Deallocating,
    /// `PowerState/deallocated`: released, not billed for compute.
    Deallocated,
    /// Any other value (`PowerState/unknown`, new states), as sent after `PowerState/`.
    Unknown(String),
}

impl PowerState {
    /// The state of a status code (`PowerState/running`), `None` for other codes.
    ///
    /// ```
    /// use cloudkit_azure_arm::PowerState;
    /// assert_eq!(PowerState::from_code("PowerState/deallocated"), Some(PowerState::Deallocated));
    /// assert_eq!(PowerState::from_code("ProvisioningState/succeeded"), None);
    /// ```
    pub fn from_code(code: &str) -> Option<Self> {
        let (kind, value) = code.split_once('/')?;
        if !kind.eq_ignore_ascii_case("PowerState") {
            return None;
        }
        Some(match value.to_ascii_lowercase().as_str() {
            "starting" => Self::Starting,
            "running" => Self::Running,
            "stopping" => Self::Stopping,
            "stopped" => Self::Stopped,
            "deallocating" => Self::Deallocating,
            "deallocated" => Self::Deallocated,
            _ => Self::Unknown(value.to_owned()),
        })
    }

    /// The word Azure uses (`running`, `deallocated`, …).
    pub fn as_str(&self) -> &str {
        match self {
            Self::Starting => "starting",
            Self::Running => "running",
            Self::Stopping => "stopping",
            Self::Stopped => "stopped",
            Self::Deallocating => "deallocating",
            Self::Deallocated => "deallocated",
            Self::Unknown(s) => s,
        }
    }
}

impl std::fmt::Display for PowerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One status of an instance view (`PowerState/running`, `ProvisioningState/succeeded`, …).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct InstanceViewStatus {
    /// The code (`PowerState/running`).
    #[serde(default)]
    pub code: String,
    /// `Info`, `Warning`, `Error`.
    #[serde(default)]
    pub level: Option<String>,
    /// The short text (`VM running`).
    #[serde(default)]
    pub display_status: Option<String>,
    /// The details.
    #[serde(default)]
    pub message: Option<String>,
    /// When the status was set.
    #[serde(default, deserialize_with = "rfc3339")]
    pub time: Option<SystemTime>,
}

/// The instance view of a virtual machine (`VirtualMachines_InstanceView`, or `$expand=instanceView`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct VirtualMachineInstanceView {
    /// The computer name the guest reports.
    #[serde(default)]
    pub computer_name: Option<String>,
    /// The guest OS name.
    #[serde(default)]
    pub os_name: Option<String>,
    /// The guest OS version.
    #[serde(default)]
    pub os_version: Option<String>,
    /// The statuses (power state, provisioning state, …).
    #[serde(default, deserialize_with = "nullable")]
    pub statuses: Vec<InstanceViewStatus>,
}

impl VirtualMachineInstanceView {
    /// The power state (`PowerState/<x>`), when the view has one (a VM being created may not).
    pub fn power_state(&self) -> Option<PowerState> {
        self.statuses.iter().find_map(|s| PowerState::from_code(&s.code))
    }

    /// The provisioning state (`ProvisioningState/<x>`: `succeeded`, `creating`, `updating`,
    /// `deleting`, `failed`, …), without any detail after a further `/`.
    pub fn provisioning_state(&self) -> Option<&str> {
        self.statuses.iter().find_map(|s| {
            let (kind, rest) = s.code.split_once('/')?;
            kind.eq_ignore_ascii_case("ProvisioningState").then(|| rest.split('/').next().unwrap_or(rest))
        })
    }
}

/// A virtual machine (`Microsoft.Compute/virtualMachines`), with the fields people use.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct VirtualMachine {
    /// The resource id.
    pub id: String,
    /// The name.
    pub name: String,
    /// The location (`westus`).
    pub location: String,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// `hardwareProfile.vmSize` (`Standard_D2s_v5`).
    pub vm_size: Option<String>,
    /// `provisioningState` (`Succeeded`, `Creating`, `Updating`, `Deleting`, `Failed`).
    pub provisioning_state: Option<String>,
    /// The VM's unique id (`vmId`).
    pub vm_id: Option<String>,
    /// `osProfile.computerName`.
    pub computer_name: Option<String>,
    /// `osProfile.adminUsername`.
    pub admin_username: Option<String>,
    /// `storageProfile.osDisk.osType` (`Linux`, `Windows`).
    pub os_type: Option<String>,
    /// `storageProfile.imageReference`.
    pub image_reference: Option<ImageReference>,
    /// `networkProfile.networkInterfaces[].id`.
    pub network_interface_ids: Vec<String>,
    /// `timeCreated`.
    pub time_created: Option<SystemTime>,
    /// The instance view, with `$expand=instanceView` (or from [`VirtualMachines::instance_view`](crate::VirtualMachines::instance_view)).
    pub instance_view: Option<VirtualMachineInstanceView>,
}

impl VirtualMachine {
    /// The resource group, from the id (`/subscriptions/…/resourceGroups/{rg}/…`).
    pub fn resource_group(&self) -> Option<&str> {
        crate::resources::id_part(&self.id, "resourceGroups")
    }

    /// The subscription, from the id.
    pub fn subscription_id(&self) -> Option<&str> {
        crate::resources::id_part(&self.id, "subscriptions")
    }

    /// The power state, when the instance view was read.
    pub fn power_state(&self) -> Option<PowerState> {
        self.instance_view.as_ref()?.power_state()
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireVm {
    #[serde(default)]
    id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    location: String,
    #[serde(default, deserialize_with = "nullable")]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    properties: WireVmProperties,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireVmProperties {
    #[serde(default)]
    vm_id: Option<String>,
    #[serde(default)]
    provisioning_state: Option<String>,
    #[serde(default)]
    hardware_profile: Option<WireHardware>,
    #[serde(default)]
    os_profile: Option<WireOsProfile>,
    #[serde(default)]
    storage_profile: Option<WireStorage>,
    #[serde(default)]
    network_profile: Option<WireNetwork>,
    #[serde(default, deserialize_with = "rfc3339")]
    time_created: Option<SystemTime>,
    #[serde(default)]
    instance_view: Option<VirtualMachineInstanceView>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireHardware {
    #[serde(default)]
    vm_size: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOsProfile {
    #[serde(default)]
    computer_name: Option<String>,
    #[serde(default)]
    admin_username: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireStorage {
    #[serde(default)]
    image_reference: Option<ImageReference>,
    #[serde(default)]
    os_disk: Option<WireOsDisk>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOsDisk {
    #[serde(default)]
    os_type: Option<String>,
}

#[derive(Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireNetwork {
    #[serde(default, deserialize_with = "nullable")]
    network_interfaces: Vec<WireNic>,
}

#[derive(Default, Deserialize)]
struct WireNic {
    #[serde(default)]
    id: String,
}

impl<'de> Deserialize<'de> for VirtualMachine {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let w = WireVm::deserialize(d)?;
        let p = w.properties;
        let storage = p.storage_profile.unwrap_or_default();
        let os = p.os_profile.unwrap_or_default();
        Ok(VirtualMachine {
            id: w.id,
            name: w.name,
            location: w.location,
            tags: w.tags,
            vm_size: p.hardware_profile.and_then(|h| h.vm_size),
            provisioning_state: p.provisioning_state,
            vm_id: p.vm_id,
            computer_name: os.computer_name,
            admin_username: os.admin_username,
            os_type: storage.os_disk.and_then(|d| d.os_type),
            image_reference: storage.image_reference,
            network_interface_ids: p
                .network_profile
                .map(|n| n.network_interfaces.into_iter().map(|n| n.id).filter(|id| !id.is_empty()).collect())
                .unwrap_or_default(),
            time_created: p.time_created,
            instance_view: p.instance_view,
        })
    }
}
