//! Zones (`compute.zones.list`) and machine types (`compute.machineTypes.list`): what a user
//! lists to find where and on what to run an instance.

use cloudkit_core::Method;

use crate::client::ComputeClient;
use crate::error::Result;
use crate::list::{ListPage, ListParams, list_builder};
use crate::model::{MachineType, Zone};

/// Zones of a project ([`ComputeClient::zones`]).
#[derive(Clone, Debug)]
pub struct Zones {
    pub(crate) client: ComputeClient,
    pub(crate) project: Option<String>,
}

impl Zones {
    /// `zones.list`.
    pub fn list(&self) -> ListZones {
        ListZones { client: self.client.clone(), project: self.project.clone(), params: ListParams::default() }
    }
}

/// `zones.list` ([`Zones::list`]).
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages(..) or .into_items(..)"]
pub struct ListZones {
    client: ComputeClient,
    project: Option<String>,
    params: ListParams,
}

impl ListZones {
    /// One page.
    pub async fn send(self) -> Result<ListPage<Zone>> {
        const OP: &str = "zones.list";
        let project = self.client.project_for(OP, self.project.as_deref())?;
        let url = self.client.url(OP, &["projects", &project, "zones"], &self.params.query())?;
        self.client.send_json(OP, Method::GET, url, None).await
    }
}

list_builder!(ListZones => ListPage<Zone>, "zones.list", "Every zone, as a stream.");

/// Machine types of a project ([`ComputeClient::machine_types`]).
#[derive(Clone, Debug)]
pub struct MachineTypes {
    pub(crate) client: ComputeClient,
    pub(crate) project: Option<String>,
}

impl MachineTypes {
    /// `machineTypes.list` in `zone`.
    pub fn list(&self, zone: impl Into<String>) -> ListMachineTypes {
        ListMachineTypes {
            client: self.client.clone(),
            project: self.project.clone(),
            zone: zone.into(),
            params: ListParams::default(),
        }
    }
}

/// `machineTypes.list` ([`MachineTypes::list`]).
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages(..) or .into_items(..)"]
pub struct ListMachineTypes {
    client: ComputeClient,
    project: Option<String>,
    zone: String,
    params: ListParams,
}

impl ListMachineTypes {
    /// One page.
    pub async fn send(self) -> Result<ListPage<MachineType>> {
        const OP: &str = "machineTypes.list";
        let project = self.client.project_for(OP, self.project.as_deref())?;
        let url =
            self.client.url(OP, &["projects", &project, "zones", &self.zone, "machineTypes"], &self.params.query())?;
        self.client.send_json(OP, Method::GET, url, None).await
    }
}

list_builder!(ListMachineTypes => ListPage<MachineType>, "machineTypes.list", "Every machine type of the zone, as a stream.");
