//! The Azure backend of the neutral [`Compute`] trait: virtual machines through Azure Resource
//! Manager (`cloudkit-azure-arm`).

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use cloudkit_azure_arm::{
    ArmClient, ArmError, ImageReference, PowerState, VirtualMachine, VirtualMachineDefinition,
    VirtualMachineInstanceView,
};
use futures::TryStreamExt;
use futures::stream::BoxStream;

use super::path_scoped::{self, PathScope};
use super::{Compute, CreateInstances, Error, Instance, InstanceFilter, InstanceId, InstanceState, Result};

const PROVIDER: &str = "azure";

/// [`Compute`] on Azure virtual machines of one subscription, optionally one resource group.
///
/// Instance ids are `azure:<subscription>/<resourceGroup>/<vmName>`. The neutral actions map
/// onto ARM's long-running VM operations, each awaited until Azure reports it done:
///
/// | neutral | Azure |
/// |---|---|
/// | `start` | `start` |
/// | `stop` | **`deallocate`**: the VM stops *and* its compute is released, so it is no longer billed (a plain `powerOff` keeps billing; use the ARM client's `power_off` for that) |
/// | `reboot` | `restart` (a running VM only) |
/// | `terminate` | `delete` (the VM; its disks and NIC stay, as with `az vm delete`) |
/// | `create_instances` | `createOrUpdate` from the [defaults](AzureCompute::network_interface) set on the backend, see below |
///
/// States come from the instance view's power state, with the provisioning state where it says
/// more (the provider's power state is kept in [`Instance::raw_state`]):
///
/// | Azure | neutral |
/// |---|---|
/// | provisioning `Creating`, no power state yet; `PowerState/starting` | `Pending` |
/// | `PowerState/running` | `Running` |
/// | `PowerState/stopping`, `PowerState/deallocating` | `Stopping` |
/// | `PowerState/stopped` (still billed), `PowerState/deallocated` | `Stopped` |
/// | provisioning `Deleting` | `Terminating` |
/// | the VM is gone (404) | `Terminated` (when waited for; `get_instance` says `NotFound`) |
/// | anything else | `Unknown` |
///
/// Creating: Azure needs more than an image and a size. `image` is a marketplace URN
/// `publisher:offer:sku:version` (as `az vm create --image` takes it) or an image resource id;
/// `size` is the VM size (`Standard_B1s`); the first `Name` tag is the VM name (else
/// `cloudkit-<random>`); the VM goes into the backend's resource group, in the group's location
/// (or [`location`](AzureCompute::location)), on the existing network interface given with
/// [`network_interface`](AzureCompute::network_interface), with the admin user and SSH key of
/// [`admin`](AzureCompute::admin). One VM per call (`count` > 1 is `NotSupported`: each VM needs
/// its own network interface); `key_name` (EC2 key pairs) and `user_data` are `NotSupported`.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit::compute::{Compute, InstanceFilter, InstanceState};
/// use cloudkit::session::Session;
/// use futures::TryStreamExt;
///
/// let session = Session::azure().load().await?; // AZURE_SUBSCRIPTION_ID and the credential chain
/// let compute = session.compute(session.config().subscription_id().unwrap_or_default(), Some("my-rg"))?;
/// let running: Vec<_> =
///     compute.list_instances(InstanceFilter::default().state(InstanceState::Running)).try_collect().await?;
/// # let _ = running; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AzureCompute {
    client: ArmClient,
    /// The subscription and, when bound to one, the resource group.
    scope: PathScope,
    location: Option<String>,
    network_interface: Option<String>,
    admin_username: String,
    ssh_public_key: Option<String>,
}

impl AzureCompute {
    /// A backend on the virtual machines of `subscription` (all resource groups when
    /// `resource_group` is `None`; creating needs one).
    pub fn new(client: ArmClient, subscription: impl Into<String>, resource_group: Option<&str>) -> Self {
        let subscription = subscription.into();
        Self {
            client: client.with_subscription(subscription.clone()),
            scope: PathScope::new(PROVIDER, subscription, resource_group, true),
            location: None,
            network_interface: None,
            admin_username: "azureuser".to_owned(),
            ssh_public_key: None,
        }
    }

    /// The ARM client, for what the neutral API does not cover.
    pub fn client(&self) -> &ArmClient {
        &self.client
    }

    /// The existing network interface (its resource id) new VMs are attached to.
    #[must_use]
    pub fn network_interface(mut self, id: impl Into<String>) -> Self {
        self.network_interface = Some(id.into());
        self
    }

    /// The admin user and SSH public key of new VMs (default user `azureuser`).
    #[must_use]
    pub fn admin(mut self, username: impl Into<String>, ssh_public_key: impl Into<String>) -> Self {
        self.admin_username = username.into();
        self.ssh_public_key = Some(ssh_public_key.into());
        self
    }

    /// The region of new VMs (default: the resource group's location).
    #[must_use]
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// How often `wait_for_state` reads the instance view at first (default 5 s; the waiter's
    /// backoff grows it up to 30 s).
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.scope.poll_interval = interval;
        self
    }

    fn convert(&self, vm: &VirtualMachine) -> Instance {
        let group = vm.resource_group().or(self.scope.place()).unwrap_or_default();
        let (state, raw_state) = neutral_state(vm);
        Instance {
            id: self.scope.id(group, vm.name.clone()),
            state,
            raw_state,
            size: vm.vm_size.clone(),
            image: vm.image_reference.as_ref().map(image_name),
            private_ip: None,
            public_ip: None,
            launch_time: vm.time_created,
            tags: vm.tags.clone().into_iter().collect(),
        }
    }

    /// The VM with its instance view.
    async fn read(&self, id: &InstanceId, action: &'static str) -> Result<Instance> {
        let (group, name) = self.scope.check(id)?;
        let vm = self
            .client
            .virtual_machines()
            .get(group, name)
            .expand_instance_view()
            .send()
            .await
            .map_err(|e| map_error(id, action, e))?;
        Ok(self.convert(&vm))
    }

    /// Refuses actions on a VM being deleted (and reports a missing one as `NotFound`).
    async fn require_not_terminating(&self, id: &InstanceId, action: &'static str) -> Result<Instance> {
        path_scoped::refuse_if_going(self.read(id, action).await?, id, action)
    }

    async fn wait_deleted(&self, id: &InstanceId, max_wait: Duration) -> Result<Instance> {
        let (group, name) = self.scope.check(id)?;
        let config = super::poll_config(self.scope.poll_interval, max_wait);
        let outcome = self.client.virtual_machines().wait_until_deleted(group, name).config(config).wait().await;
        let power = |last: &std::result::Result<VirtualMachineInstanceView, ArmError>| {
            last.as_ref().ok().and_then(|v| v.power_state()).map_or(InstanceState::Unknown, |p| power_state(&p))
        };
        path_scoped::deleted_or_error(id, max_wait, "deleted", outcome, power, |e| map_error(id, "wait", e))
    }

    /// The definition of one VM for `request` (what the neutral request can say on Azure).
    async fn definition(&self, request: &CreateInstances, group: &str) -> Result<(String, VirtualMachineDefinition)> {
        let unsupported = |what: &'static str| Error::NotSupported { operation: what, provider: PROVIDER };
        if request.count > 1 {
            return Err(unsupported("creating more than one VM per call (each needs its own network interface)"));
        }
        if request.key_name.is_some() {
            return Err(unsupported("EC2 key pair names (set the SSH key with AzureCompute::admin)"));
        }
        if request.user_data.is_some() {
            return Err(unsupported("user data"));
        }
        let image = parse_image(&request.image)?;
        let nic = self.network_interface.clone().ok_or_else(|| Error::InvalidInput {
            message: "creating an Azure VM needs an existing network interface: AzureCompute::network_interface(id)"
                .to_owned(),
        })?;
        let ssh_key = self.ssh_public_key.clone().ok_or_else(|| Error::InvalidInput {
            message: "creating an Azure VM needs an admin SSH key: AzureCompute::admin(user, key)".to_owned(),
        })?;
        let location = match &self.location {
            Some(location) => location.clone(),
            None => {
                let rg = self
                    .client
                    .resource_groups()
                    .get(group)
                    .send()
                    .await
                    .map_err(|e| map_error(&self.scope.id(group, "-"), "create", e))?;
                rg.location
            }
        };
        let name = request.tags.get("Name").cloned().unwrap_or_else(|| format!("cloudkit-{:08x}", fastrand::u32(..)));
        let mut definition = VirtualMachineDefinition::new(location, request.size.clone())
            .image(image)
            .admin_username(self.admin_username.clone())
            .ssh_public_key(ssh_key)
            .network_interface_id(nic);
        for (k, v) in &request.tags {
            definition = definition.tag(k.clone(), v.clone());
        }
        Ok((name, definition))
    }
}

/// A marketplace URN `publisher:offer:sku:version` or an image resource id.
fn parse_image(image: &str) -> Result<ImageReference> {
    let image = image.trim();
    if image.starts_with("/subscriptions/") {
        return Ok(ImageReference::from_id(image));
    }
    match image.split(':').collect::<Vec<_>>()[..] {
        [publisher, offer, sku, version] if [publisher, offer, sku, version].iter().all(|p| !p.is_empty()) => {
            Ok(ImageReference::marketplace(publisher, offer, sku, version))
        }
        _ => Err(Error::InvalidInput {
            message: format!(
                "{image:?} is not an Azure image: give a marketplace URN publisher:offer:sku:version \
                 (e.g. Canonical:ubuntu-24_04-lts:server:latest) or an image resource id"
            ),
        }),
    }
}

/// The neutral name of an image reference: the URN, or the id.
fn image_name(image: &ImageReference) -> String {
    match (&image.id, &image.publisher, &image.offer, &image.sku, &image.version) {
        (Some(id), ..) => id.clone(),
        (None, Some(p), Some(o), Some(s), v) => format!("{p}:{o}:{s}:{}", v.as_deref().unwrap_or("latest")),
        _ => String::new(),
    }
}

/// A power state in neutral terms.
fn power_state(power: &PowerState) -> InstanceState {
    match power {
        PowerState::Starting => InstanceState::Pending,
        PowerState::Running => InstanceState::Running,
        PowerState::Stopping | PowerState::Deallocating => InstanceState::Stopping,
        PowerState::Stopped | PowerState::Deallocated => InstanceState::Stopped,
        _ => InstanceState::Unknown,
    }
}

/// A VM's neutral state and the provider's own (the power state, else the provisioning state).
fn neutral_state(vm: &VirtualMachine) -> (InstanceState, String) {
    let view = vm.instance_view.as_ref();
    let provisioning =
        view.and_then(|v| v.provisioning_state()).or(vm.provisioning_state.as_deref()).map(str::to_ascii_lowercase);
    let power = vm.power_state();
    let raw = power.as_ref().map(|p| p.as_str().to_owned()).or(provisioning.clone()).unwrap_or_default();
    let state = match (provisioning.as_deref(), &power) {
        (Some("deleting"), _) => InstanceState::Terminating,
        (_, Some(p)) => power_state(p),
        (Some("creating"), None) => InstanceState::Pending,
        _ => InstanceState::Unknown,
    };
    (state, raw)
}

/// The neutral error of an ARM error: a conflicting operation on the VM (409, 412) is
/// `InvalidState`; the rest is mapped by status ([`path_scoped::from_service_error`]: a missing VM
/// or resource group is `NotFound`, `AuthorizationFailed` `PermissionDenied`, …).
fn map_error(id: &InstanceId, action: &'static str, e: ArmError) -> Error {
    match e {
        ArmError::Conflict(_) => Error::InvalidState { id: id.to_string(), state: InstanceState::Unknown, action },
        other => path_scoped::from_service_error(PROVIDER, id, action, other),
    }
}

#[async_trait]
impl Compute for AzureCompute {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn list_instances(&self, filter: InstanceFilter) -> BoxStream<'static, Result<Instance>> {
        let vms = self.client.virtual_machines();
        let listing = match self.scope.place() {
            Some(group) => vms.list(group),
            None => vms.list_all(),
        };
        let this = self.clone();
        let scope = self.scope.listing_id();
        let listed = listing
            .expand_instance_view()
            .into_items(Default::default())
            .map_err(move |e| map_error(&scope, "list", e))
            .and_then(move |vm| {
                let this = this.clone();
                async move {
                    if vm.instance_view.is_some() {
                        return Ok(this.convert(&vm));
                    }
                    // Listings do not always carry the instance view: read it for the state.
                    let id = this.convert(&vm).id;
                    match this.read(&id, "list").await {
                        Ok(instance) => Ok(instance),
                        // deleted between the listing and the read
                        Err(Error::NotFound { .. }) => Ok(Instance {
                            state: InstanceState::Terminated,
                            raw_state: "deleted".to_owned(),
                            ..this.convert(&vm)
                        }),
                        Err(e) => Err(e),
                    }
                }
            });
        // tags and states are filtered here: ARM's `$filter` on VM lists does not cover them
        super::keep_matching(listed, filter)
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        self.read(id, "describe").await
    }

    async fn create_instances(&self, request: CreateInstances) -> Result<Vec<Instance>> {
        request.validate()?;
        let group = self.scope.place_to_create(
            "creating Azure VMs needs a resource group: Session::azure().compute(subscription, Some(group))",
        )?;
        let (name, definition) = self.definition(&request, &group).await?;
        let id = self.scope.id(&group, name.clone());
        let vm = self
            .client
            .virtual_machines()
            .create_or_update(&group, &name, definition)
            .send()
            .await
            .map_err(|e| map_error(&id, "create", e))?;
        let mut created = self.convert(&vm);
        if created.state == InstanceState::Unknown {
            // The create answer carries no instance view: read it.
            created = self.read(&id, "create").await.unwrap_or(created);
        }
        if created.launch_time.is_none() {
            created.launch_time = Some(SystemTime::now());
        }
        Ok(vec![created])
    }

    async fn start(&self, id: &InstanceId) -> Result<()> {
        let (group, name) = self.scope.check(id)?;
        self.require_not_terminating(id, "start").await?;
        self.client.virtual_machines().start(group, name).send().await.map_err(|e| map_error(id, "start", e))
    }

    /// Deallocates the VM (see the type's docs: stopped *and* no longer billed).
    async fn stop(&self, id: &InstanceId) -> Result<()> {
        let (group, name) = self.scope.check(id)?;
        self.require_not_terminating(id, "stop").await?;
        self.client.virtual_machines().deallocate(group, name).send().await.map_err(|e| map_error(id, "stop", e))
    }

    async fn reboot(&self, id: &InstanceId) -> Result<()> {
        let (group, name) = self.scope.check(id)?;
        let current = self.require_not_terminating(id, "reboot").await?;
        if current.state != InstanceState::Running {
            return Err(Error::InvalidState { id: id.to_string(), state: current.state, action: "reboot" });
        }
        self.client.virtual_machines().restart(group, name).send().await.map_err(|e| map_error(id, "reboot", e))
    }

    async fn terminate(&self, id: &InstanceId) -> Result<()> {
        let (group, name) = self.scope.check(id)?;
        self.client.virtual_machines().delete(group, name).send().await.map_err(|e| map_error(id, "terminate", e))
    }

    async fn wait_for_state(&self, id: &InstanceId, target: InstanceState, max_wait: Duration) -> Result<Instance> {
        self.scope.wait_for_state(self, id, target, max_wait, self.wait_deleted(id, max_wait)).await
    }
}

#[cfg(test)]
mod tests {
    use cloudkit_core::{ErrorKind, StatusCode};

    use super::*;

    /// ARM errors in neutral terms: by status, except a conflicting operation (409).
    #[test]
    fn arm_errors_map_by_status() {
        let id = InstanceId::new(PROVIDER, "sub/rg", "vm-1");
        let answer = |status: u16, code: &str| {
            let core = cloudkit_core::Error::new(ErrorKind::Service, "AzureARM", "VirtualMachines_Get")
                .with_status(StatusCode::from_u16(status).unwrap())
                .with_code(code);
            map_error(&id, "start", ArmError::from_core(core))
        };
        assert!(
            matches!(answer(404, "ResourceGroupNotFound"), Error::NotFound { id, .. } if id == "azure:sub/rg/vm-1")
        );
        assert!(matches!(answer(404, "ResourceNotFound"), Error::NotFound { .. }));
        assert!(
            matches!(answer(403, "AuthorizationFailed"), Error::PermissionDenied { message, .. } if message == "start")
        );
        assert!(matches!(answer(401, "InvalidAuthenticationToken"), Error::Unauthenticated { .. }));
        assert!(matches!(answer(409, "OperationNotAllowed"), Error::InvalidState { action: "start", .. }));
        assert!(matches!(answer(429, "TooManyRequests"), Error::Throttled { .. }));
        assert!(matches!(answer(500, "InternalServerError"), Error::Provider { provider: "azure", .. }));
        let no_token = cloudkit_core::Error::new(ErrorKind::Credentials, "AzureARM", "VirtualMachines_Get");
        assert!(matches!(map_error(&id, "start", ArmError::from_core(no_token)), Error::Unauthenticated { .. }));
    }

    #[test]
    fn images_are_urns_or_ids() {
        let urn = parse_image("Canonical:ubuntu-24_04-lts:server:latest").unwrap();
        assert_eq!(image_name(&urn), "Canonical:ubuntu-24_04-lts:server:latest");
        let id = "/subscriptions/s/resourceGroups/g/providers/Microsoft.Compute/images/base";
        assert_eq!(image_name(&parse_image(id).unwrap()), id);
        for bad in ["ubuntu", "a:b:c", "a::c:d", ""] {
            assert!(matches!(parse_image(bad), Err(Error::InvalidInput { .. })), "{bad}");
        }
    }
}
