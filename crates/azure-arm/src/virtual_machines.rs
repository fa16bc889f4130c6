//! Virtual machines (`Microsoft.Compute/virtualMachines`, api-version [`COMPUTE_API_VERSION`]):
//! list in a resource group or the subscription, get (optionally with the instance view), the
//! instance view, start / power off / deallocate / restart / delete (long-running: `send()`
//! waits, `begin()` returns a [`Poller`]), create or update from a minimal
//! [`VirtualMachineDefinition`], update tags.

use std::collections::BTreeMap;

use cloudkit_core::{Method, Url};
use serde_json::json;

use crate::client::{ArmClient, require, segment};
use crate::error::{ArmError, Result};
use crate::list::{list_methods, list_url, odata_setters, scope_path};
use crate::lro::{LroKind, Poller, decode_json, decode_unit};
use crate::model::{ImageReference, VirtualMachine, VirtualMachineInstanceView};

/// The api-version of the Compute RP used for virtual machines.
pub const COMPUTE_API_VERSION: &str = "2025-04-01";

/// The virtual machines of the client's subscription: `client.virtual_machines()`.
#[derive(Clone, Debug)]
pub struct VirtualMachines {
    pub(crate) client: ArmClient,
}

/// `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{vm}`.
pub(crate) fn vm_path(client: &ArmClient, operation: &'static str, resource_group: &str, name: &str) -> Result<String> {
    require(operation, "resource group name", resource_group)?;
    require(operation, "virtual machine name", name)?;
    let subscription = client.subscription(operation)?;
    Ok(format!(
        "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Compute/virtualMachines/{}",
        segment(subscription),
        segment(resource_group),
        segment(name)
    ))
}

impl VirtualMachines {
    /// `VirtualMachines_List`: the VMs of a resource group (paged).
    pub fn list(&self, resource_group: impl Into<String>) -> ListVirtualMachines {
        ListVirtualMachines {
            client: self.client.clone(),
            resource_group: Some(resource_group.into()),
            filter: None,
            expand_instance_view: false,
            status_only: false,
        }
    }

    /// `VirtualMachines_ListAll`: every VM of the subscription (paged).
    pub fn list_all(&self) -> ListVirtualMachines {
        ListVirtualMachines {
            client: self.client.clone(),
            resource_group: None,
            filter: None,
            expand_instance_view: false,
            status_only: false,
        }
    }

    /// `VirtualMachines_Get`.
    pub fn get(&self, resource_group: impl Into<String>, name: impl Into<String>) -> GetVirtualMachine {
        GetVirtualMachine {
            client: self.client.clone(),
            resource_group: resource_group.into(),
            name: name.into(),
            expand: None,
        }
    }

    /// `VirtualMachines_InstanceView`: power state, provisioning state, guest details.
    pub fn instance_view(&self, resource_group: impl Into<String>, name: impl Into<String>) -> GetInstanceView {
        GetInstanceView { client: self.client.clone(), resource_group: resource_group.into(), name: name.into() }
    }

    fn action(&self, kind: ActionKind, resource_group: String, name: String) -> VmAction {
        VmAction { client: self.client.clone(), kind, resource_group, name, flag: false }
    }

    /// `VirtualMachines_Start` (long-running).
    pub fn start(&self, resource_group: impl Into<String>, name: impl Into<String>) -> VmAction {
        self.action(ActionKind::Start, resource_group.into(), name.into())
    }

    /// `VirtualMachines_PowerOff` (long-running): stops the VM but keeps it allocated, so it is
    /// still billed; see [`deallocate`](Self::deallocate).
    pub fn power_off(&self, resource_group: impl Into<String>, name: impl Into<String>) -> VmAction {
        self.action(ActionKind::PowerOff, resource_group.into(), name.into())
    }

    /// `VirtualMachines_Deallocate` (long-running): stops the VM and releases its compute
    /// resources (no compute billing).
    pub fn deallocate(&self, resource_group: impl Into<String>, name: impl Into<String>) -> VmAction {
        self.action(ActionKind::Deallocate, resource_group.into(), name.into())
    }

    /// `VirtualMachines_Restart` (long-running).
    pub fn restart(&self, resource_group: impl Into<String>, name: impl Into<String>) -> VmAction {
        self.action(ActionKind::Restart, resource_group.into(), name.into())
    }

    /// `VirtualMachines_Delete` (long-running; a VM that does not exist answers 204).
    pub fn delete(&self, resource_group: impl Into<String>, name: impl Into<String>) -> VmAction {
        self.action(ActionKind::Delete, resource_group.into(), name.into())
    }

    /// `VirtualMachines_CreateOrUpdate` (long-running) from a minimal definition.
    pub fn create_or_update(
        &self,
        resource_group: impl Into<String>,
        name: impl Into<String>,
        definition: VirtualMachineDefinition,
    ) -> CreateOrUpdateVirtualMachine {
        CreateOrUpdateVirtualMachine {
            client: self.client.clone(),
            resource_group: resource_group.into(),
            name: name.into(),
            definition,
        }
    }
}

/// `VirtualMachines_List` / `VirtualMachines_ListAll`.
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages() or .into_items()"]
pub struct ListVirtualMachines {
    client: ArmClient,
    resource_group: Option<String>,
    filter: Option<String>,
    expand_instance_view: bool,
    status_only: bool,
}

impl ListVirtualMachines {
    /// The operation id, named in errors.
    fn operation(&self) -> &'static str {
        if self.resource_group.is_some() { "VirtualMachines_List" } else { "VirtualMachines_ListAll" }
    }

    /// `$expand=instanceView`: every VM comes with its instance view (power state), in a
    /// resource group and across the subscription alike.
    pub fn expand_instance_view(mut self) -> Self {
        self.expand_instance_view = true;
        self
    }

    /// `statusOnly=true` (subscription-wide listing only): the run-time status of every VM.
    pub fn status_only(mut self, status_only: bool) -> Self {
        self.status_only = status_only && self.resource_group.is_none();
        self
    }

    fn url(&self) -> Result<Url> {
        let suffix = "/providers/Microsoft.Compute/virtualMachines";
        let path = scope_path(&self.client, self.operation(), self.resource_group.as_deref(), suffix)?;
        let mut extra = Vec::new();
        if self.expand_instance_view {
            extra.push(("$expand", "instanceView"));
        }
        if self.status_only {
            extra.push(("statusOnly", "true"));
        }
        Ok(list_url(&self.client, &path, COMPUTE_API_VERSION, self.filter.as_deref(), None, &extra))
    }
}

odata_setters!(ListVirtualMachines { filter: "An OData `$filter`." });
list_methods!(ListVirtualMachines => VirtualMachine);

/// `VirtualMachines_Get`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct GetVirtualMachine {
    client: ArmClient,
    resource_group: String,
    name: String,
    expand: Option<String>,
}

impl GetVirtualMachine {
    /// `$expand=instanceView`: the VM comes with its power state.
    pub fn expand_instance_view(mut self) -> Self {
        self.expand = Some("instanceView".to_owned());
        self
    }

    /// Another `$expand` (`userData`, `resiliencyView`).
    pub fn expand(mut self, expand: impl Into<String>) -> Self {
        self.expand = Some(expand.into());
        self
    }

    /// Reads the VM; a missing one is [`ArmError::ResourceNotFound`] (or `ResourceGroupNotFound`).
    pub async fn send(self) -> Result<VirtualMachine> {
        const OP: &str = "VirtualMachines_Get";
        let path = vm_path(&self.client, OP, &self.resource_group, &self.name)?;
        let mut query = vec![("api-version", COMPUTE_API_VERSION)];
        if let Some(e) = &self.expand {
            query.push(("$expand", e.as_str()));
        }
        self.client.get_json(OP, self.client.url(&path, &query)).await
    }
}

/// `VirtualMachines_InstanceView`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct GetInstanceView {
    client: ArmClient,
    resource_group: String,
    name: String,
}

impl GetInstanceView {
    /// Reads the instance view.
    pub async fn send(self) -> Result<VirtualMachineInstanceView> {
        const OP: &str = "VirtualMachines_InstanceView";
        let path = vm_path(&self.client, OP, &self.resource_group, &self.name)? + "/instanceView";
        self.client.get_json(OP, self.client.url(&path, &[("api-version", COMPUTE_API_VERSION)])).await
    }
}

/// Which VM action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActionKind {
    /// `POST …/start`.
    Start,
    /// `POST …/powerOff` (optional `skipShutdown=true`).
    PowerOff,
    /// `POST …/deallocate` (optional `hibernate=true`).
    Deallocate,
    /// `POST …/restart`.
    Restart,
    /// `DELETE` the VM (optional `forceDeletion=true`).
    Delete,
}

impl ActionKind {
    /// The operation id (`VirtualMachines_Start`).
    pub fn operation(self) -> &'static str {
        match self {
            Self::Start => "VirtualMachines_Start",
            Self::PowerOff => "VirtualMachines_PowerOff",
            Self::Deallocate => "VirtualMachines_Deallocate",
            Self::Restart => "VirtualMachines_Restart",
            Self::Delete => "VirtualMachines_Delete",
        }
    }
}

/// A long-running VM action: start, power off, deallocate, restart, delete.
#[derive(Clone, Debug)]
#[must_use = "call .send() (waits) or .begin() (returns a poller)"]
pub struct VmAction {
    client: ArmClient,
    kind: ActionKind,
    resource_group: String,
    name: String,
    flag: bool,
}

impl VmAction {
    /// Power off: `skipShutdown=true` (no graceful guest shutdown).
    pub fn skip_shutdown(mut self, skip: bool) -> Self {
        if self.kind == ActionKind::PowerOff {
            self.flag = skip;
        }
        self
    }

    /// Deallocate: `hibernate=true`.
    pub fn hibernate(mut self, hibernate: bool) -> Self {
        if self.kind == ActionKind::Deallocate {
            self.flag = hibernate;
        }
        self
    }

    /// Delete: `forceDeletion=true`.
    pub fn force_deletion(mut self, force: bool) -> Self {
        if self.kind == ActionKind::Delete {
            self.flag = force;
        }
        self
    }

    /// Which action.
    pub fn kind(&self) -> ActionKind {
        self.kind
    }

    /// Sends the action and returns the poller on its first answer.
    pub async fn begin(self) -> Result<Poller<()>> {
        let op = self.kind.operation();
        let path = vm_path(&self.client, op, &self.resource_group, &self.name)?;
        let (method, path, flag) = match self.kind {
            ActionKind::Start => (Method::POST, path + "/start", None),
            ActionKind::PowerOff => (Method::POST, path + "/powerOff", Some("skipShutdown")),
            ActionKind::Deallocate => (Method::POST, path + "/deallocate", Some("hibernate")),
            ActionKind::Restart => (Method::POST, path + "/restart", None),
            ActionKind::Delete => (Method::DELETE, path, Some("forceDeletion")),
        };
        let mut query = vec![("api-version", COMPUTE_API_VERSION)];
        if let Some(flag) = flag
            && self.flag
        {
            query.push((flag, "true"));
        }
        let url = self.client.url(&path, &query);
        let resource = format!("virtual machine {}/{}", self.resource_group, self.name);
        Poller::begin(self.client, op, resource, LroKind::PostOrDelete, method, url, None, decode_unit).await
    }

    /// Sends the action and waits until it has finished.
    pub async fn send(self) -> Result<()> {
        self.begin().await?.wait().await
    }
}

impl VirtualMachines {
    /// `VirtualMachines_Update` with tags: `PATCH {"tags": …}`, the tags replacing the old ones
    /// (an empty set removes them all). Long-running: `send()` waits and returns the VM,
    /// `begin()` returns a [`Poller`].
    pub fn update_tags(&self, resource_group: impl Into<String>, name: impl Into<String>) -> UpdateVirtualMachineTags {
        UpdateVirtualMachineTags {
            client: self.client.clone(),
            resource_group: resource_group.into(),
            name: name.into(),
            tags: BTreeMap::new(),
        }
    }
}

/// `VirtualMachines_Update` (tags) ([`VirtualMachines::update_tags`]).
#[derive(Clone, Debug)]
#[must_use = "call .send() (waits) or .begin() (returns a poller)"]
pub struct UpdateVirtualMachineTags {
    client: ArmClient,
    resource_group: String,
    name: String,
    tags: BTreeMap<String, String>,
}

impl UpdateVirtualMachineTags {
    /// Adds a tag.
    pub fn tag(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(name.into(), value.into());
        self
    }

    /// Sets all tags (an empty map removes every tag).
    pub fn tags(mut self, tags: BTreeMap<String, String>) -> Self {
        self.tags = tags;
        self
    }

    /// Sends the PATCH and returns the poller (its result is the updated VM).
    pub async fn begin(self) -> Result<Poller<VirtualMachine>> {
        const OP: &str = "VirtualMachines_Update";
        let path = vm_path(&self.client, OP, &self.resource_group, &self.name)?;
        let url = self.client.url(&path, &[("api-version", COMPUTE_API_VERSION)]);
        let body = json!({ "tags": self.tags });
        let resource = format!("virtual machine {}/{}", self.resource_group, self.name);
        Poller::begin(self.client, OP, resource, LroKind::Patch, Method::PATCH, url, Some(body), decode_json).await
    }

    /// Replaces the tags and waits until the update has finished; returns the VM.
    pub async fn send(self) -> Result<VirtualMachine> {
        self.begin().await?.wait().await
    }
}

/// A minimal virtual machine: size, image, admin user with an SSH public key (Linux), an existing
/// network interface, tags. Serialised as the `VirtualMachines_CreateOrUpdate` body.
///
/// ```
/// use cloudkit_azure_arm::{ImageReference, VirtualMachineDefinition};
/// let vm = VirtualMachineDefinition::new("westus", "Standard_B1s")
///     .image(ImageReference::marketplace("Canonical", "ubuntu-24_04-lts", "server", "latest"))
///     .admin_username("azureuser")
///     .ssh_public_key("ssh-ed25519 AAAA… me@laptop")
///     .network_interface_id("/subscriptions/…/providers/Microsoft.Network/networkInterfaces/nic1")
///     .tag("env", "dev");
/// let body = vm.to_body("vm1").unwrap();
/// assert_eq!(body["properties"]["hardwareProfile"]["vmSize"], "Standard_B1s");
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct VirtualMachineDefinition {
    /// The location (`westus`).
    pub location: String,
    /// The size (`Standard_B1s`).
    pub vm_size: String,
    /// The image.
    pub image: Option<ImageReference>,
    /// The admin user.
    pub admin_username: Option<String>,
    /// The admin user's SSH public key (password login is disabled).
    pub ssh_public_key: Option<String>,
    /// The computer name (default: the VM name).
    pub computer_name: Option<String>,
    /// The id of an existing network interface.
    pub network_interface_id: Option<String>,
    /// The OS disk's storage type (default `Standard_LRS`).
    pub os_disk_storage_type: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
}

impl VirtualMachineDefinition {
    /// A definition with a location and a size.
    pub fn new(location: impl Into<String>, vm_size: impl Into<String>) -> Self {
        Self { location: location.into(), vm_size: vm_size.into(), ..Self::default() }
    }

    /// The image.
    pub fn image(mut self, image: ImageReference) -> Self {
        self.image = Some(image);
        self
    }

    /// The admin user.
    pub fn admin_username(mut self, user: impl Into<String>) -> Self {
        self.admin_username = Some(user.into());
        self
    }

    /// The admin user's SSH public key.
    pub fn ssh_public_key(mut self, key: impl Into<String>) -> Self {
        self.ssh_public_key = Some(key.into());
        self
    }

    /// The computer name (default: the VM name).
    pub fn computer_name(mut self, name: impl Into<String>) -> Self {
        self.computer_name = Some(name.into());
        self
    }

    /// The id of an existing network interface.
    pub fn network_interface_id(mut self, id: impl Into<String>) -> Self {
        self.network_interface_id = Some(id.into());
        self
    }

    /// The OS disk's storage type (`Standard_LRS`, `Premium_LRS`, `StandardSSD_LRS`).
    pub fn os_disk_storage_type(mut self, storage_type: impl Into<String>) -> Self {
        self.os_disk_storage_type = Some(storage_type.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(name.into(), value.into());
        self
    }

    /// The ARM body for a VM named `vm_name`; an input error names what is missing.
    pub fn to_body(&self, vm_name: &str) -> Result<serde_json::Value> {
        const OP: &str = "VirtualMachines_CreateOrUpdate";
        let missing = |what: &str| ArmError::invalid_input(OP, format!("the virtual machine definition has no {what}"));
        require(OP, "location", &self.location)?;
        require(OP, "VM size", &self.vm_size)?;
        let image = self.image.as_ref().ok_or_else(|| missing("image"))?;
        let user =
            self.admin_username.as_deref().filter(|u| !u.trim().is_empty()).ok_or_else(|| missing("admin user"))?;
        let key =
            self.ssh_public_key.as_deref().filter(|k| !k.trim().is_empty()).ok_or_else(|| missing("SSH public key"))?;
        let nic = self
            .network_interface_id
            .as_deref()
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| missing("network interface id"))?;
        let mut image_json = serde_json::Map::new();
        for (k, v) in [
            ("publisher", &image.publisher),
            ("offer", &image.offer),
            ("sku", &image.sku),
            ("version", &image.version),
            ("id", &image.id),
        ] {
            if let Some(v) = v {
                image_json.insert(k.to_owned(), json!(v));
            }
        }
        let mut body = json!({
            "location": self.location,
            "properties": {
                "hardwareProfile": { "vmSize": self.vm_size },
                "storageProfile": {
                    "imageReference": image_json,
                    "osDisk": {
                        "createOption": "FromImage",
                        "managedDisk": { "storageAccountType": self.os_disk_storage_type.as_deref().unwrap_or("Standard_LRS") }
                    }
                },
                "osProfile": {
                    "computerName": self.computer_name.as_deref().unwrap_or(vm_name),
                    "adminUsername": user,
                    "linuxConfiguration": {
                        "disablePasswordAuthentication": true,
                        "ssh": { "publicKeys": [ { "path": format!("/home/{user}/.ssh/authorized_keys"), "keyData": key } ] }
                    }
                },
                "networkProfile": { "networkInterfaces": [ { "id": nic, "properties": { "primary": true } } ] }
            }
        });
        if !self.tags.is_empty() {
            body["tags"] = json!(self.tags);
        }
        Ok(body)
    }
}

/// `VirtualMachines_CreateOrUpdate`.
#[derive(Clone, Debug)]
#[must_use = "call .send() (waits) or .begin() (returns a poller)"]
pub struct CreateOrUpdateVirtualMachine {
    client: ArmClient,
    resource_group: String,
    name: String,
    definition: VirtualMachineDefinition,
}

impl CreateOrUpdateVirtualMachine {
    /// Sends the PUT and returns the poller (its result is the VM once provisioned).
    pub async fn begin(self) -> Result<Poller<VirtualMachine>> {
        const OP: &str = "VirtualMachines_CreateOrUpdate";
        let path = vm_path(&self.client, OP, &self.resource_group, &self.name)?;
        let body = self.definition.to_body(&self.name)?;
        let url = self.client.url(&path, &[("api-version", COMPUTE_API_VERSION)]);
        let resource = format!("virtual machine {}/{}", self.resource_group, self.name);
        Poller::begin(
            self.client,
            OP,
            resource,
            LroKind::Put,
            Method::PUT,
            url,
            Some(body),
            decode_json::<VirtualMachine>,
        )
        .await
    }

    /// Creates or updates the VM and waits until it is provisioned.
    pub async fn send(self) -> Result<VirtualMachine> {
        self.begin().await?.wait().await
    }
}
