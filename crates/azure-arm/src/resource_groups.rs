//! Resource groups (api-version [`RESOURCES_API_VERSION`]): list (with a tag `$filter` and
//! `$top`), get, exists (HEAD), create or update, update tags, delete (long-running, optionally
//! forcing the deletion of virtual machines and scale sets).

use std::collections::BTreeMap;

use cloudkit_core::{Method, Operation, Url};
use serde_json::json;

use crate::client::{ArmClient, require, segment, tag_setters};
use crate::error::Result;
use crate::list::{list_methods, list_url, odata_setters, odata_string, scope_path};
use crate::lro::{LroKind, Poller, decode_unit};
use crate::model::ResourceGroup;

/// The api-version of the Resources RP (resource groups, generic resources, providers).
pub const RESOURCES_API_VERSION: &str = "2025-04-01";

/// The resource groups of the client's subscription: `client.resource_groups()`.
#[derive(Clone, Debug)]
pub struct ResourceGroups {
    pub(crate) client: ArmClient,
}

fn group_path(client: &ArmClient, operation: &'static str, name: &str) -> Result<String> {
    require(operation, "resource group name", name)?;
    let subscription = client.subscription(operation)?;
    Ok(format!("/subscriptions/{}/resourcegroups/{}", segment(subscription), segment(name)))
}

impl ResourceGroups {
    /// `ResourceGroups_List`: `GET /subscriptions/{s}/resourcegroups` (paged).
    pub fn list(&self) -> ListResourceGroups {
        ListResourceGroups { client: self.client.clone(), filter: None, top: None }
    }

    /// `ResourceGroups_Get`.
    pub fn get(&self, name: impl Into<String>) -> GetResourceGroup {
        GetResourceGroup { client: self.client.clone(), name: name.into() }
    }

    /// `ResourceGroups_CheckExistence`: `HEAD`, 204 = exists, 404 = does not.
    pub fn exists(&self, name: impl Into<String>) -> ResourceGroupExists {
        ResourceGroupExists { client: self.client.clone(), name: name.into() }
    }

    /// `ResourceGroups_CreateOrUpdate`: `PUT` with the location (and tags); synchronous.
    pub fn create_or_update(
        &self,
        name: impl Into<String>,
        location: impl Into<String>,
    ) -> CreateOrUpdateResourceGroup {
        CreateOrUpdateResourceGroup {
            client: self.client.clone(),
            name: name.into(),
            location: location.into(),
            tags: BTreeMap::new(),
            managed_by: None,
        }
    }

    /// `ResourceGroups_Update`: `PATCH` with the new tags (they replace the old ones).
    pub fn update_tags(&self, name: impl Into<String>) -> UpdateResourceGroupTags {
        UpdateResourceGroupTags { client: self.client.clone(), name: name.into(), tags: BTreeMap::new() }
    }

    /// `ResourceGroups_Delete`: long-running; `send()` waits, `begin()` returns a [`Poller`].
    pub fn delete(&self, name: impl Into<String>) -> DeleteResourceGroup {
        DeleteResourceGroup { client: self.client.clone(), name: name.into(), force_deletion_types: Vec::new() }
    }
}

/// `ResourceGroups_List`.
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages() or .into_items()"]
pub struct ListResourceGroups {
    client: ArmClient,
    filter: Option<String>,
    top: Option<u32>,
}

impl ListResourceGroups {
    /// The operation id, named in errors.
    fn operation(&self) -> &'static str {
        "ResourceGroups_List"
    }

    /// Only groups with this tag (`$filter=tagName eq 'name' and tagValue eq 'value'`).
    pub fn tag(mut self, name: &str, value: &str) -> Self {
        self.filter = Some(format!("tagName eq {} and tagValue eq {}", odata_string(name), odata_string(value)));
        self
    }

    fn url(&self) -> Result<Url> {
        let path = scope_path(&self.client, self.operation(), None, "/resourcegroups")?;
        Ok(list_url(&self.client, &path, RESOURCES_API_VERSION, self.filter.as_deref(), self.top, &[]))
    }
}

odata_setters!(ListResourceGroups {
    filter: "A raw OData `$filter` (replaces [`tag`](Self::tag)).",
    top: "`$top`: at most this many groups."
});
list_methods!(ListResourceGroups => ResourceGroup);

/// `ResourceGroups_Get`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct GetResourceGroup {
    client: ArmClient,
    name: String,
}

impl GetResourceGroup {
    /// Reads the group; a missing one is [`ArmError::ResourceGroupNotFound`](crate::ArmError::ResourceGroupNotFound).
    pub async fn send(self) -> Result<ResourceGroup> {
        const OP: &str = "ResourceGroups_Get";
        let path = group_path(&self.client, OP, &self.name)?;
        self.client.get_json(OP, self.client.url(&path, &[("api-version", RESOURCES_API_VERSION)])).await
    }
}

/// `ResourceGroups_CheckExistence`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct ResourceGroupExists {
    client: ArmClient,
    name: String,
}

impl ResourceGroupExists {
    /// `true` on 204, `false` on 404.
    pub async fn send(self) -> Result<bool> {
        const OP: &str = "ResourceGroups_CheckExistence";
        let path = group_path(&self.client, OP, &self.name)?;
        let url = self.client.url(&path, &[("api-version", RESOURCES_API_VERSION)]);
        let op = Operation::new(OP).accept_statuses(&[404]);
        let response = self.client.send(OP, Some(op), Method::HEAD, url, None).await?;
        Ok(response.status.as_u16() != 404)
    }
}

/// `ResourceGroups_CreateOrUpdate`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct CreateOrUpdateResourceGroup {
    client: ArmClient,
    name: String,
    location: String,
    tags: BTreeMap<String, String>,
    managed_by: Option<String>,
}

tag_setters!(CreateOrUpdateResourceGroup, "Sets all tags.");

impl CreateOrUpdateResourceGroup {
    /// The id of the resource that manages the group.
    pub fn managed_by(mut self, id: impl Into<String>) -> Self {
        self.managed_by = Some(id.into());
        self
    }

    /// The request body.
    pub(crate) fn body(&self) -> serde_json::Value {
        let mut body = json!({ "location": self.location });
        if !self.tags.is_empty() {
            body["tags"] = json!(self.tags);
        }
        if let Some(m) = &self.managed_by {
            body["managedBy"] = json!(m);
        }
        body
    }

    /// Creates (201) or updates (200) the group and returns it.
    pub async fn send(self) -> Result<ResourceGroup> {
        const OP: &str = "ResourceGroups_CreateOrUpdate";
        let path = group_path(&self.client, OP, &self.name)?;
        require(OP, "location", &self.location)?;
        let url = self.client.url(&path, &[("api-version", RESOURCES_API_VERSION)]);
        let response = self.client.send(OP, None, Method::PUT, url, Some(&self.body())).await?;
        crate::client::decode(OP, &response.body)
    }
}

/// `ResourceGroups_Update` (tags).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct UpdateResourceGroupTags {
    client: ArmClient,
    name: String,
    tags: BTreeMap<String, String>,
}

tag_setters!(UpdateResourceGroupTags, "Sets all tags (an empty map removes every tag).");

impl UpdateResourceGroupTags {
    /// Sends `PATCH {"tags": …}` and returns the group.
    pub async fn send(self) -> Result<ResourceGroup> {
        const OP: &str = "ResourceGroups_Update";
        let path = group_path(&self.client, OP, &self.name)?;
        let url = self.client.url(&path, &[("api-version", RESOURCES_API_VERSION)]);
        let body = json!({ "tags": self.tags });
        let op = Operation::new(OP).idempotent(true);
        let response = self.client.send(OP, Some(op), Method::PATCH, url, Some(&body)).await?;
        crate::client::decode(OP, &response.body)
    }
}

/// `ResourceGroups_Delete`.
#[derive(Clone, Debug)]
#[must_use = "call .send() (waits) or .begin() (returns a poller)"]
pub struct DeleteResourceGroup {
    client: ArmClient,
    name: String,
    force_deletion_types: Vec<String>,
}

impl DeleteResourceGroup {
    /// Forces the deletion of these resource types inside the group
    /// (`forceDeletionTypes=Microsoft.Compute/virtualMachines,Microsoft.Compute/virtualMachineScaleSets`).
    pub fn force_deletion_types<I, S>(mut self, types: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.force_deletion_types = types.into_iter().map(Into::into).collect();
        self
    }

    /// Forces the deletion of the group's virtual machines
    /// (`forceDeletionTypes=Microsoft.Compute/virtualMachines`).
    pub fn force_delete_virtual_machines(self) -> Self {
        self.force_deletion_types(["Microsoft.Compute/virtualMachines"])
    }

    /// Starts the deletion and returns the poller.
    pub async fn begin(self) -> Result<Poller<()>> {
        const OP: &str = "ResourceGroups_Delete";
        let path = group_path(&self.client, OP, &self.name)?;
        let force = self.force_deletion_types.join(",");
        let mut query = vec![("api-version", RESOURCES_API_VERSION)];
        if !force.is_empty() {
            query.push(("forceDeletionTypes", force.as_str()));
        }
        let url = self.client.url(&path, &query);
        let resource = format!("resource group {}", self.name);
        Poller::begin(self.client, OP, resource, LroKind::PostOrDelete, Method::DELETE, url, None, decode_unit).await
    }

    /// Deletes the group and waits until it is gone.
    pub async fn send(self) -> Result<()> {
        self.begin().await?.wait().await
    }
}
