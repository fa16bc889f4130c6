//! Instances (`compute.instances.*`): list, aggregated list, get, insert from an
//! [`InstanceDefinition`], start, stop, reset, suspend, resume, delete, set labels, set metadata.
//! Every mutating call carries a fresh `requestId` (a UUID v4, [`new_request_id`]) that stays the
//! same on the pipeline's retries of that call, and returns an [`Operation`].

use std::collections::BTreeMap;

use cloudkit_core::Method;
use serde_json::{Value, json};

use crate::client::{ComputeClient, new_request_id};
use crate::error::{GceError, Result};
use crate::list::{AggregatedInstancePage, ListPage, ListParams, list_builder};
use crate::model::{Instance, OperationResource};
use crate::operations::Operation;

/// The boot image of an [`InstanceDefinition`] that names none: Debian 12's image family.
pub const DEFAULT_IMAGE: &str = "projects/debian-cloud/global/images/family/debian-12";

/// The network of an [`InstanceDefinition`] that names none.
pub const DEFAULT_NETWORK: &str = "global/networks/default";

/// Instances of a project ([`ComputeClient::instances`]), Python's `compute_v1.InstancesClient()`.
#[derive(Clone, Debug)]
pub struct Instances {
    pub(crate) client: ComputeClient,
    pub(crate) project: Option<String>,
}

/// Whether `name` is a valid instance name (RFC 1035: `[a-z]([-a-z0-9]{0,61}[a-z0-9])?`).
pub fn is_valid_instance_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b[0].is_ascii_lowercase()
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[b.len() - 1] != b'-'
}

impl Instances {
    /// The same handle on another project (default: the client's).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    fn target(&self, zone: String, name: String) -> Target {
        Target { client: self.client.clone(), project: self.project.clone(), zone, name }
    }

    /// `instances.list`: the instances of one zone (`filter`, `max_results`, `order_by`; pages
    /// with `into_pages`, instances with `into_items`).
    pub fn list(&self, zone: impl Into<String>) -> ListInstances {
        ListInstances {
            client: self.client.clone(),
            project: self.project.clone(),
            zone: zone.into(),
            params: ListParams::default(),
        }
    }

    /// `instances.aggregatedList`: the instances of every zone; `into_items` yields
    /// `(zone, Instance)` pairs.
    pub fn aggregated_list(&self) -> AggregatedListInstances {
        AggregatedListInstances {
            client: self.client.clone(),
            project: self.project.clone(),
            params: ListParams::default(),
        }
    }

    /// `instances.get`.
    pub fn get(&self, zone: impl Into<String>, name: impl Into<String>) -> GetInstance {
        GetInstance { target: self.target(zone.into(), name.into()) }
    }

    /// `instances.insert` from a minimal definition.
    pub fn insert(&self, zone: impl Into<String>, definition: InstanceDefinition) -> InsertInstance {
        InsertInstance {
            client: self.client.clone(),
            project: self.project.clone(),
            zone: zone.into(),
            definition,
            request_id: new_request_id(),
        }
    }

    fn action(&self, kind: ActionKind, zone: String, name: String) -> InstanceAction {
        InstanceAction {
            target: self.target(zone, name),
            kind,
            discard_local_ssd: None,
            no_graceful_shutdown: None,
            request_id: new_request_id(),
        }
    }

    /// `instances.start`: start a `TERMINATED` instance.
    pub fn start(&self, zone: impl Into<String>, name: impl Into<String>) -> InstanceAction {
        self.action(ActionKind::Start, zone.into(), name.into())
    }

    /// `instances.stop` (optionally `discard_local_ssd`): the instance ends `TERMINATED`.
    pub fn stop(&self, zone: impl Into<String>, name: impl Into<String>) -> InstanceAction {
        self.action(ActionKind::Stop, zone.into(), name.into())
    }

    /// `instances.reset`: a hard reset, no graceful shutdown.
    pub fn reset(&self, zone: impl Into<String>, name: impl Into<String>) -> InstanceAction {
        self.action(ActionKind::Reset, zone.into(), name.into())
    }

    /// `instances.suspend` (optionally `discard_local_ssd`).
    pub fn suspend(&self, zone: impl Into<String>, name: impl Into<String>) -> InstanceAction {
        self.action(ActionKind::Suspend, zone.into(), name.into())
    }

    /// `instances.resume`: resume a `SUSPENDED` instance.
    pub fn resume(&self, zone: impl Into<String>, name: impl Into<String>) -> InstanceAction {
        self.action(ActionKind::Resume, zone.into(), name.into())
    }

    /// `instances.delete` (optionally `no_graceful_shutdown`).
    pub fn delete(&self, zone: impl Into<String>, name: impl Into<String>) -> InstanceAction {
        self.action(ActionKind::Delete, zone.into(), name.into())
    }

    /// `instances.setLabels`: replace the labels. The `labelFingerprint` of the instance as last
    /// read must go with it ([`SetLabels::fingerprint`]); without one the builder reads it with
    /// `instances.get` first. A stale fingerprint is [`GceError::PreconditionFailed`].
    pub fn set_labels(&self, zone: impl Into<String>, name: impl Into<String>) -> SetLabels {
        SetLabels(ReplaceMap::new(self.target(zone.into(), name.into())))
    }

    /// `instances.setMetadata`: replace the metadata items, with the metadata `fingerprint` as
    /// last read ([`SetMetadata::fingerprint`]; without one the builder reads it first).
    pub fn set_metadata(&self, zone: impl Into<String>, name: impl Into<String>) -> SetMetadata {
        SetMetadata(ReplaceMap::new(self.target(zone.into(), name.into())))
    }
}

/// One instance: project (or the client's), zone, name.
#[derive(Clone, Debug)]
struct Target {
    client: ComputeClient,
    project: Option<String>,
    zone: String,
    name: String,
}

impl Target {
    /// The project and the instance URL (plus `suffix` segments and `query`).
    fn url(
        &self,
        operation: &'static str,
        suffix: Option<&str>,
        query: &[(&str, String)],
    ) -> Result<(String, cloudkit_core::Url)> {
        let project = self.client.project_for(operation, self.project.as_deref())?;
        let mut segments = vec!["projects", project.as_str(), "zones", self.zone.as_str(), "instances", &self.name];
        if let Some(s) = suffix {
            segments.push(s);
        }
        let url = self.client.url(operation, &segments, query)?;
        Ok((project, url))
    }

    async fn get(&self) -> Result<Instance> {
        let (_, url) = self.url("instances.get", None, &[])?;
        self.client.send_json("instances.get", Method::GET, url, None).await
    }

    /// Sends a mutating call and wraps its Operation.
    async fn mutate(
        &self,
        operation: &'static str,
        method: Method,
        suffix: Option<&str>,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<Operation> {
        let (project, url) = self.url(operation, suffix, query)?;
        let resource: OperationResource = self.client.send_json(operation, method, url, body).await?;
        Ok(Operation::new(self.client.clone(), project, self.zone.clone(), resource))
    }
}

/// `instances.list` ([`Instances::list`]).
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages(..) or .into_items(..)"]
pub struct ListInstances {
    client: ComputeClient,
    project: Option<String>,
    zone: String,
    params: ListParams,
}

impl ListInstances {
    /// One page.
    pub async fn send(self) -> Result<ListPage<Instance>> {
        const OP: &str = "instances.list";
        let project = self.client.project_for(OP, self.project.as_deref())?;
        let url =
            self.client.url(OP, &["projects", &project, "zones", &self.zone, "instances"], &self.params.query())?;
        self.client.send_json(OP, Method::GET, url, None).await
    }
}

list_builder!(ListInstances => ListPage<Instance>, "instances.list", "Every instance of the zone, as a stream.");

/// `instances.aggregatedList` ([`Instances::aggregated_list`]).
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages(..) or .into_items(..)"]
pub struct AggregatedListInstances {
    client: ComputeClient,
    project: Option<String>,
    params: ListParams,
}

impl AggregatedListInstances {
    /// One page (`items` keyed by scope, flattened to `(zone, instance)`).
    pub async fn send(self) -> Result<AggregatedInstancePage> {
        const OP: &str = "instances.aggregatedList";
        let project = self.client.project_for(OP, self.project.as_deref())?;
        let url = self.client.url(OP, &["projects", &project, "aggregated", "instances"], &self.params.query())?;
        self.client.send_json(OP, Method::GET, url, None).await
    }
}

list_builder!(
    AggregatedListInstances => AggregatedInstancePage,
    "instances.aggregatedList",
    "Every instance of every zone as `(zone, instance)`, as a stream (scopes without instances add nothing)."
);

/// `instances.get` ([`Instances::get`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct GetInstance {
    target: Target,
}

impl GetInstance {
    /// The project (default: the client's).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.target.project = Some(project.into());
        self
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Instance> {
        self.target.get().await
    }
}

/// The minimal definition of a new instance: a name, a machine type, a boot disk from an image,
/// a network interface, labels and metadata (a startup script included).
///
/// ```
/// use cloudkit_gcp_compute::InstanceDefinition;
/// let vm = InstanceDefinition::new("web-1", "e2-micro")
///     .image("projects/debian-cloud/global/images/family/debian-12")
///     .label("env", "dev")
///     .startup_script("#!/bin/sh\necho hello");
/// assert_eq!(vm.name(), "web-1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstanceDefinition {
    name: String,
    machine_type: String,
    image: Option<String>,
    disk_size_gb: Option<u64>,
    network: Option<String>,
    subnetwork: Option<String>,
    external_ip: bool,
    description: Option<String>,
    labels: BTreeMap<String, String>,
    metadata: BTreeMap<String, String>,
}

impl InstanceDefinition {
    /// An instance `name` (RFC 1035: lowercase letters, digits, `-`, up to 63) of `machine_type`
    /// (`e2-micro`, or a URL / `zones/{zone}/machineTypes/{type}`).
    pub fn new(name: impl Into<String>, machine_type: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            machine_type: machine_type.into(),
            image: None,
            disk_size_gb: None,
            network: None,
            subnetwork: None,
            external_ip: false,
            description: None,
            labels: BTreeMap::new(),
            metadata: BTreeMap::new(),
        }
    }

    /// The name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The boot disk's `initializeParams.sourceImage` (default [`DEFAULT_IMAGE`]).
    pub fn image(mut self, source_image: impl Into<String>) -> Self {
        self.image = Some(source_image.into());
        self
    }

    /// The boot disk's size in GB (default: the image's).
    pub fn disk_size_gb(mut self, size: u64) -> Self {
        self.disk_size_gb = Some(size);
        self
    }

    /// The network (default [`DEFAULT_NETWORK`]).
    pub fn network(mut self, network: impl Into<String>) -> Self {
        self.network = Some(network.into());
        self
    }

    /// The subnetwork (`regions/{region}/subnetworks/{name}`), for custom-mode networks.
    pub fn subnetwork(mut self, subnetwork: impl Into<String>) -> Self {
        self.subnetwork = Some(subnetwork.into());
        self
    }

    /// Whether to give the instance an ephemeral external IP (`ONE_TO_ONE_NAT`; default no).
    pub fn external_ip(mut self, external: bool) -> Self {
        self.external_ip = external;
        self
    }

    /// The description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), value.into());
        self
    }

    /// Adds a metadata item.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// The `startup-script` metadata item.
    pub fn startup_script(self, script: impl Into<String>) -> Self {
        self.metadata("startup-script", script)
    }

    /// The `Instance` body of `instances.insert` in `zone`.
    pub fn to_json(&self, zone: &str) -> Value {
        let machine_type = if self.machine_type.contains('/') {
            self.machine_type.clone()
        } else {
            format!("zones/{zone}/machineTypes/{}", self.machine_type)
        };
        let mut init = json!({ "sourceImage": self.image.as_deref().unwrap_or(DEFAULT_IMAGE) });
        if let Some(size) = self.disk_size_gb {
            init["diskSizeGb"] = json!(size.to_string());
        }
        let mut nic = json!({ "network": self.network.as_deref().unwrap_or(DEFAULT_NETWORK) });
        if let Some(s) = &self.subnetwork {
            nic["subnetwork"] = json!(s);
        }
        if self.external_ip {
            nic["accessConfigs"] = json!([{ "name": "External NAT", "type": "ONE_TO_ONE_NAT" }]);
        }
        let mut body = json!({
            "name": self.name,
            "machineType": machine_type,
            "disks": [{ "boot": true, "autoDelete": true, "type": "PERSISTENT", "initializeParams": init }],
            "networkInterfaces": [nic],
        });
        if let Some(d) = &self.description {
            body["description"] = json!(d);
        }
        if !self.labels.is_empty() {
            body["labels"] = json!(self.labels);
        }
        if !self.metadata.is_empty() {
            let items: Vec<Value> = self.metadata.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect();
            body["metadata"] = json!({ "items": items });
        }
        body
    }
}

/// `instances.insert` ([`Instances::insert`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct InsertInstance {
    client: ComputeClient,
    project: Option<String>,
    zone: String,
    definition: InstanceDefinition,
    request_id: String,
}

impl InsertInstance {
    /// The project (default: the client's).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// The `requestId` (default: a fresh UUID v4).
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = id.into();
        self
    }

    /// Sends the request; the instance starts `PROVISIONING`. Wait for the operation or use
    /// [`Instances::wait_until_running`].
    pub async fn send(self) -> Result<Operation> {
        const OP: &str = "instances.insert";
        if !is_valid_instance_name(&self.definition.name) {
            return Err(GceError::invalid_input(
                OP,
                format!(
                    "{:?} is not a valid instance name (RFC 1035: lowercase letter first, then lowercase \
                     letters, digits or '-', not ending in '-', at most 63)",
                    self.definition.name
                ),
            ));
        }
        let target = Target {
            client: self.client.clone(),
            project: self.project.clone(),
            zone: self.zone.clone(),
            name: String::new(),
        };
        let project = self.client.project_for(OP, target.project.as_deref())?;
        let url = self.client.url(
            OP,
            &["projects", &project, "zones", &self.zone, "instances"],
            &[("requestId", self.request_id.clone())],
        )?;
        let body = self.definition.to_json(&self.zone);
        let resource: OperationResource = self.client.send_json(OP, Method::POST, url, Some(&body)).await?;
        Ok(Operation::new(self.client, project, self.zone, resource))
    }
}

/// Which instance action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ActionKind {
    /// `instances.start`.
    Start,
    /// `instances.stop`.
    Stop,
    /// `instances.reset`.
    Reset,
    /// `instances.suspend`.
    Suspend,
    /// `instances.resume`.
    Resume,
    /// `instances.delete`.
    Delete,
}

impl ActionKind {
    /// The discovery method (`instances.stop`).
    pub fn operation(self) -> &'static str {
        match self {
            Self::Start => "instances.start",
            Self::Stop => "instances.stop",
            Self::Reset => "instances.reset",
            Self::Suspend => "instances.suspend",
            Self::Resume => "instances.resume",
            Self::Delete => "instances.delete",
        }
    }

    fn suffix(self) -> Option<&'static str> {
        match self {
            Self::Start => Some("start"),
            Self::Stop => Some("stop"),
            Self::Reset => Some("reset"),
            Self::Suspend => Some("suspend"),
            Self::Resume => Some("resume"),
            Self::Delete => None,
        }
    }
}

/// An instance action: start, stop, reset, suspend, resume or delete ([`Instances::start`], …).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct InstanceAction {
    target: Target,
    kind: ActionKind,
    discard_local_ssd: Option<bool>,
    no_graceful_shutdown: Option<bool>,
    request_id: String,
}

impl InstanceAction {
    /// The project (default: the client's).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.target.project = Some(project.into());
        self
    }

    /// `discardLocalSsd` (stop and suspend only; ignored by the other actions).
    pub fn discard_local_ssd(mut self, discard: bool) -> Self {
        self.discard_local_ssd = Some(discard);
        self
    }

    /// `noGracefulShutdown` (stop and delete only; ignored by the other actions).
    pub fn no_graceful_shutdown(mut self, skip: bool) -> Self {
        self.no_graceful_shutdown = Some(skip);
        self
    }

    /// The `requestId` (default: a fresh UUID v4).
    pub fn request_id(mut self, id: impl Into<String>) -> Self {
        self.request_id = id.into();
        self
    }

    /// Which action.
    pub fn kind(&self) -> ActionKind {
        self.kind
    }

    /// Sends the request.
    pub async fn send(self) -> Result<Operation> {
        let mut query: Vec<(&str, String)> = Vec::new();
        if let (Some(d), ActionKind::Stop | ActionKind::Suspend) = (self.discard_local_ssd, self.kind) {
            query.push(("discardLocalSsd", d.to_string()));
        }
        if let (Some(n), ActionKind::Stop | ActionKind::Delete) = (self.no_graceful_shutdown, self.kind) {
            query.push(("noGracefulShutdown", n.to_string()));
        }
        query.push(("requestId", self.request_id));
        let method = if self.kind == ActionKind::Delete { Method::DELETE } else { Method::POST };
        self.target.mutate(self.kind.operation(), method, self.kind.suffix(), &query, None).await
    }
}

/// A call that replaces one map of the instance (its labels or its metadata items) and sends the
/// fingerprint of that map as last read: what [`SetLabels`] and [`SetMetadata`] share.
#[derive(Clone, Debug)]
struct ReplaceMap {
    target: Target,
    entries: BTreeMap<String, String>,
    fingerprint: Option<String>,
    request_id: String,
}

impl ReplaceMap {
    fn new(target: Target) -> Self {
        Self { target, entries: BTreeMap::new(), fingerprint: None, request_id: new_request_id() }
    }

    /// Sends `operation` (POST `…/instances/{name}/{suffix}`) with the body `body(fingerprint,
    /// entries)`; without a fingerprint, reads the instance first and takes `current(instance)`.
    async fn send(
        self,
        operation: &'static str,
        suffix: &'static str,
        current: fn(Instance) -> Option<String>,
        body: fn(String, &BTreeMap<String, String>) -> Value,
    ) -> Result<Operation> {
        let fingerprint = match self.fingerprint {
            Some(f) => f,
            None => current(self.target.get().await?).unwrap_or_default(),
        };
        let body = body(fingerprint, &self.entries);
        let query = [("requestId", self.request_id)];
        self.target.mutate(operation, Method::POST, Some(suffix), &query, Some(&body)).await
    }
}

/// The setters of a [`ReplaceMap`] builder: `project`, one entry, all entries, `fingerprint`,
/// `request_id`.
macro_rules! replace_map_setters {
    ($builder:ident { $one:ident: $one_doc:literal, $all:ident: $all_doc:literal, fingerprint: $fingerprint_doc:literal }) => {
        impl $builder {
            /// The project (default: the client's).
            pub fn project(mut self, project: impl Into<String>) -> Self {
                self.0.target.project = Some(project.into());
                self
            }

            #[doc = $one_doc]
            pub fn $one(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
                self.0.entries.insert(key.into(), value.into());
                self
            }

            #[doc = $all_doc]
            pub fn $all<K: Into<String>, V: Into<String>>(mut self, $all: impl IntoIterator<Item = (K, V)>) -> Self {
                self.0.entries = $all.into_iter().map(|(k, v)| (k.into(), v.into())).collect();
                self
            }

            #[doc = $fingerprint_doc]
            pub fn fingerprint(mut self, fingerprint: impl Into<String>) -> Self {
                self.0.fingerprint = Some(fingerprint.into());
                self
            }

            /// The `requestId` (default: a fresh UUID v4).
            pub fn request_id(mut self, id: impl Into<String>) -> Self {
                self.0.request_id = id.into();
                self
            }
        }
    };
}

/// `instances.setLabels` ([`Instances::set_labels`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct SetLabels(ReplaceMap);

replace_map_setters!(SetLabels {
    label: "Adds a label (the call replaces all labels with the ones given).",
    labels: "Sets all labels.",
    fingerprint: "The `labelFingerprint` read with the instance (default: read it now with `instances.get`)."
});

impl SetLabels {
    /// Sends the request.
    pub async fn send(self) -> Result<Operation> {
        let current = |i: Instance| i.label_fingerprint;
        let body = |fingerprint, labels: &BTreeMap<String, String>| json!({ "labels": labels, "labelFingerprint": fingerprint });
        self.0.send("instances.setLabels", "setLabels", current, body).await
    }
}

/// `instances.setMetadata` ([`Instances::set_metadata`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct SetMetadata(ReplaceMap);

replace_map_setters!(SetMetadata {
    item: "Adds an item (the call replaces all items with the ones given).",
    items: "Sets all items.",
    fingerprint: "The metadata `fingerprint` read with the instance (default: read it now)."
});

impl SetMetadata {
    /// Sends the request.
    pub async fn send(self) -> Result<Operation> {
        let current = |i: Instance| i.metadata.fingerprint;
        let body = |fingerprint, items: &BTreeMap<String, String>| {
            let items: Vec<Value> = items.iter().map(|(k, v)| json!({ "key": k, "value": v })).collect();
            json!({ "fingerprint": fingerprint, "items": items })
        };
        self.0.send("instances.setMetadata", "setMetadata", current, body).await
    }
}
