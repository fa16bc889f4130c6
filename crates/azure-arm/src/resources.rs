//! Any ARM resource, generically (what `az resource` does): get / create or update / update
//! (PATCH) / delete / POST actions (`az resource invoke-action`) by resource id with an
//! `api-version`, bodies as `serde_json::Value`,
//! long-running operations through the same [`Poller`]; listings of a resource group or the
//! subscription (optionally by type); and resource providers (`providers().get(namespace)`),
//! whose newest non-preview api-version is used when a call gives none.

use cloudkit_core::{Method, Url};
use serde_json::Value;

use crate::client::{ArmClient, require, segment};
use crate::error::{ArmError, Result};
use crate::list::{list_methods, list_url, odata_setters, odata_string, scope_path};
use crate::lro::{LroKind, Poller, decode_json, decode_json_or_null, decode_unit};
use crate::model::{GenericResource, Provider};
use crate::resource_groups::RESOURCES_API_VERSION;

/// The segment after `key` in a resource id (`resourceGroups` → the group), case-insensitive.
pub(crate) fn id_part<'a>(id: &'a str, key: &str) -> Option<&'a str> {
    let mut parts = id.split('/');
    while let Some(p) = parts.next() {
        if p.eq_ignore_ascii_case(key) {
            return parts.next().filter(|s| !s.is_empty());
        }
    }
    None
}

/// The provider namespace and resource type of a resource id:
/// `…/providers/Microsoft.Compute/virtualMachines/vm1/extensions/e1` →
/// (`Microsoft.Compute`, `virtualMachines/extensions`); a resource group id →
/// (`Microsoft.Resources`, `resourceGroups`).
///
/// ```
/// use cloudkit_azure_arm::resource_type_of;
/// let id = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1";
/// assert_eq!(resource_type_of(id), Some(("Microsoft.Compute".to_owned(), "virtualMachines".to_owned())));
/// ```
pub fn resource_type_of(id: &str) -> Option<(String, String)> {
    let lower = id.to_ascii_lowercase();
    match lower.rfind("/providers/") {
        Some(at) => {
            let rest = &id[at + "/providers/".len()..];
            let mut parts = rest.split('/').filter(|s| !s.is_empty());
            let namespace = parts.next()?.to_owned();
            let segments: Vec<&str> = parts.collect();
            let types: Vec<&str> = segments.iter().step_by(2).copied().collect();
            (!types.is_empty()).then(|| (namespace, types.join("/")))
        }
        None => id_part(id, "resourceGroups").map(|_| ("Microsoft.Resources".to_owned(), "resourceGroups".to_owned())),
    }
}

/// The URL path of a resource id, each segment RFC 3986-encoded; refuses ids that do not start
/// with `/subscriptions/` or have empty, `.` or `..` segments (they would address another resource).
fn id_path(operation: &'static str, id: &str) -> Result<String> {
    let id = id.trim();
    let invalid = |why: &str| ArmError::invalid_input(operation, format!("invalid resource id {id:?}: {why}"));
    let rest = id.strip_prefix('/').ok_or_else(|| invalid("it must start with /subscriptions/"))?;
    let segments: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    if !segments.first().is_some_and(|s| s.eq_ignore_ascii_case("subscriptions")) || segments.len() < 2 {
        return Err(invalid("it must start with /subscriptions/"));
    }
    if segments.iter().any(|s| s.is_empty() || *s == "." || *s == "..") {
        return Err(invalid("empty, `.` or `..` segment"));
    }
    Ok(segments.iter().map(|s| format!("/{}", segment(s))).collect())
}

/// Any resource of the client's subscription: `client.resources()`.
#[derive(Clone, Debug)]
pub struct Resources {
    pub(crate) client: ArmClient,
}

impl Resources {
    /// The id of a resource in a resource group:
    /// `/subscriptions/{s}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}`.
    pub fn id(&self, resource_group: &str, namespace: &str, resource_type: &str, name: &str) -> Result<String> {
        const OP: &str = "ResourceId";
        require(OP, "resource group name", resource_group)?;
        require(OP, "provider namespace", namespace)?;
        require(OP, "resource type", resource_type)?;
        require(OP, "resource name", name)?;
        let subscription = self.client.subscription(OP)?;
        Ok(format!(
            "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/{namespace}/{resource_type}/{name}"
        ))
    }

    fn request(&self, kind: GenericKind, id: String, body: Option<Value>) -> GenericRequest {
        GenericRequest { client: self.client.clone(), kind, id, body, api_version: None }
    }

    /// `Resources_GetById`: the resource as JSON.
    pub fn get(&self, id: impl Into<String>) -> GenericRequest {
        self.request(GenericKind::Get, id.into(), None)
    }

    /// `Resources_CreateOrUpdateById`: PUT `body` (long-running; the result is the resource).
    pub fn create_or_update(&self, id: impl Into<String>, body: Value) -> GenericRequest {
        self.request(GenericKind::Put, id.into(), Some(body))
    }

    /// `Resources_UpdateById`: PATCH `body` (long-running; the result is the resource).
    pub fn update(&self, id: impl Into<String>, body: Value) -> GenericRequest {
        self.request(GenericKind::Patch, id.into(), Some(body))
    }

    /// `Resources_DeleteById` (long-running).
    pub fn delete(&self, id: impl Into<String>) -> GenericRequest {
        self.request(GenericKind::Delete, id.into(), None)
    }

    /// `Resources_ListByResourceGroup` (paged).
    pub fn list_by_resource_group(&self, resource_group: impl Into<String>) -> ListResources {
        ListResources {
            client: self.client.clone(),
            resource_group: Some(resource_group.into()),
            filter: None,
            top: None,
        }
    }

    /// `Resources_List`: every resource of the subscription (paged); narrow it with
    /// [`ListResources::resource_type`].
    pub fn list(&self) -> ListResources {
        ListResources { client: self.client.clone(), resource_group: None, filter: None, top: None }
    }
}

/// Which generic call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GenericKind {
    Get,
    Put,
    Patch,
    Delete,
}

impl GenericKind {
    fn operation(self) -> &'static str {
        match self {
            Self::Get => "Resources_GetById",
            Self::Put => "Resources_CreateOrUpdateById",
            Self::Patch => "Resources_UpdateById",
            Self::Delete => "Resources_DeleteById",
        }
    }
}

/// A generic call on one resource ([`Resources::get`], [`Resources::create_or_update`],
/// [`Resources::update`], [`Resources::delete`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct GenericRequest {
    client: ArmClient,
    kind: GenericKind,
    id: String,
    body: Option<Value>,
    api_version: Option<String>,
}

impl GenericRequest {
    /// The resource type's api-version (default: the provider's newest non-preview one, read
    /// with `providers().get(namespace)` — one extra request).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    async fn url(&self) -> Result<Url> {
        let op = self.kind.operation();
        let path = id_path(op, &self.id)?;
        let version = match &self.api_version {
            Some(v) => v.clone(),
            None => resolve_api_version(&self.client, op, &self.id).await?,
        };
        Ok(self.client.url(&path, &[("api-version", version.as_str())]))
    }

    /// Sends the request and returns the resource's JSON when the call changes it (`GET`,
    /// `PUT`, `PATCH`, waiting for a long-running one to finish), `Value::Null` for `DELETE`.
    pub async fn send(self) -> Result<Value> {
        match self.kind {
            GenericKind::Get => {
                let url = self.url().await?;
                self.client.get_json(self.kind.operation(), url).await
            }
            GenericKind::Delete => {
                self.begin_delete().await?.wait().await?;
                Ok(Value::Null)
            }
            GenericKind::Put | GenericKind::Patch => self.begin().await?.wait().await,
        }
    }

    /// Starts a PUT or PATCH and returns its poller (a GET or DELETE is refused: use
    /// [`send`](Self::send) or [`begin_delete`](Self::begin_delete)).
    pub async fn begin(self) -> Result<Poller<Value>> {
        let op = self.kind.operation();
        let (method, kind) = match self.kind {
            GenericKind::Put => (Method::PUT, LroKind::Put),
            GenericKind::Patch => (Method::PATCH, LroKind::Patch),
            _ => return Err(ArmError::invalid_input(op, "begin() is for create_or_update and update; use send()")),
        };
        let url = self.url().await?;
        let resource = format!("resource {}", self.id);
        Poller::begin(self.client, op, resource, kind, method, url, self.body, decode_json::<Value>).await
    }

    /// Starts a DELETE and returns its poller.
    pub async fn begin_delete(self) -> Result<Poller<()>> {
        let op = self.kind.operation();
        if self.kind != GenericKind::Delete {
            return Err(ArmError::invalid_input(op, "begin_delete() is for delete"));
        }
        let url = self.url().await?;
        let resource = format!("resource {}", self.id);
        Poller::begin(self.client, op, resource, LroKind::PostOrDelete, Method::DELETE, url, None, decode_unit).await
    }
}

impl Resources {
    /// `POST {id}/{action}`: a resource's action (`listKeys`, `restart`, `regenerateKey`, …), what
    /// `az resource invoke-action` does. [`send`](ResourceAction::send) returns the action's JSON
    /// result (`Value::Null` when it has none), waiting when the service answers 202;
    /// [`begin`](ResourceAction::begin) returns the [`Poller`] of a 202 (its `is_done()` is true
    /// when the first answer was the result).
    ///
    /// ```no_run
    /// # async fn demo(rm: cloudkit_azure_arm::ArmClient) -> Result<(), cloudkit_azure_arm::ArmError> {
    /// let id = "/subscriptions/…/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct";
    /// let keys = rm.resources().action(id, "listKeys").api_version("2023-05-01").send().await?;
    /// println!("{}", keys["keys"][0]["keyName"]);
    /// # Ok(()) }
    /// ```
    pub fn action(&self, id: impl Into<String>, action: impl Into<String>) -> ResourceAction {
        ResourceAction {
            client: self.client.clone(),
            id: id.into(),
            action: action.into(),
            body: None,
            api_version: None,
        }
    }
}

/// A POST action on one resource ([`Resources::action`]).
#[derive(Clone, Debug)]
#[must_use = "call .send() (waits) or .begin() (returns a poller)"]
pub struct ResourceAction {
    client: ArmClient,
    id: String,
    action: String,
    body: Option<Value>,
    api_version: Option<String>,
}

impl ResourceAction {
    const OPERATION: &'static str = "Resources_InvokeAction";

    /// The request body (default: none).
    pub fn body(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// The resource type's api-version (default: the provider's newest non-preview one, read
    /// with `providers().get(namespace)` — one extra request).
    pub fn api_version(mut self, version: impl Into<String>) -> Self {
        self.api_version = Some(version.into());
        self
    }

    /// Sends the POST and returns the poller on its first answer: done at once for a 200/204
    /// (the result is that body), polled through `Azure-AsyncOperation` or `Location` after a 202.
    pub async fn begin(self) -> Result<Poller<Value>> {
        const OP: &str = ResourceAction::OPERATION;
        let action = self.action.trim();
        if action.is_empty() || action == "." || action == ".." || action.contains('/') {
            return Err(ArmError::invalid_input(
                OP,
                format!("invalid action name {:?}: one path segment", self.action),
            ));
        }
        let path = id_path(OP, &self.id)? + "/" + &segment(action);
        let version = match &self.api_version {
            Some(v) => v.clone(),
            None => resolve_api_version(&self.client, OP, &self.id).await?,
        };
        let url = self.client.url(&path, &[("api-version", version.as_str())]);
        let resource = format!("action {action} on resource {}", self.id.trim());
        Poller::begin(self.client, OP, resource, LroKind::Action, Method::POST, url, self.body, decode_json_or_null)
            .await
    }

    /// Sends the POST and returns the action's result (`Value::Null` when it has none), after
    /// polling a long-running one to its end ([`ArmError::OperationFailed`] when it fails).
    pub async fn send(self) -> Result<Value> {
        self.begin().await?.wait().await
    }
}

/// The newest non-preview api-version of the resource type of `id`.
async fn resolve_api_version(client: &ArmClient, operation: &'static str, id: &str) -> Result<String> {
    let Some((namespace, resource_type)) = resource_type_of(id) else {
        return Err(ArmError::invalid_input(
            operation,
            format!("cannot tell the resource type of {id:?}; give an api_version"),
        ));
    };
    let provider = client.providers().get(namespace.clone()).send().await?;
    provider.default_api_version(&resource_type).map(str::to_owned).ok_or_else(|| {
        ArmError::invalid_input(
            operation,
            format!("the provider {namespace} lists no api-version for {resource_type}; give an api_version"),
        )
    })
}

/// `Resources_List` / `Resources_ListByResourceGroup`.
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages() or .into_items()"]
pub struct ListResources {
    client: ArmClient,
    resource_group: Option<String>,
    filter: Option<String>,
    top: Option<u32>,
}

impl ListResources {
    /// The operation id, named in errors.
    fn operation(&self) -> &'static str {
        if self.resource_group.is_some() { "Resources_ListByResourceGroup" } else { "Resources_List" }
    }

    /// Only resources of this type (`$filter=resourceType eq 'Microsoft.Compute/virtualMachines'`).
    pub fn resource_type(mut self, resource_type: &str) -> Self {
        self.filter = Some(format!("resourceType eq {}", odata_string(resource_type)));
        self
    }

    fn url(&self) -> Result<Url> {
        let path = scope_path(&self.client, self.operation(), self.resource_group.as_deref(), "/resources")?;
        Ok(list_url(&self.client, &path, RESOURCES_API_VERSION, self.filter.as_deref(), self.top, &[]))
    }
}

odata_setters!(ListResources {
    filter: "A raw OData `$filter` (replaces [`resource_type`](Self::resource_type)).",
    top: "`$top`."
});
list_methods!(ListResources => GenericResource);

/// Resource providers: `client.providers()`.
#[derive(Clone, Debug)]
pub struct Providers {
    pub(crate) client: ArmClient,
}

impl Providers {
    /// `Providers_Get`: a provider's resource types and their api-versions.
    pub fn get(&self, namespace: impl Into<String>) -> GetProvider {
        GetProvider { client: self.client.clone(), namespace: namespace.into() }
    }
}

/// `Providers_Get`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct GetProvider {
    client: ArmClient,
    namespace: String,
}

impl GetProvider {
    /// Reads the provider.
    pub async fn send(self) -> Result<Provider> {
        const OP: &str = "Providers_Get";
        require(OP, "provider namespace", &self.namespace)?;
        let subscription = self.client.subscription(OP)?;
        let path = format!("/subscriptions/{}/providers/{}", segment(subscription), segment(&self.namespace));
        self.client.get_json(OP, self.client.url(&path, &[("api-version", RESOURCES_API_VERSION)])).await
    }
}
