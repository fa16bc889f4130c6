//! Container operations (the blob listings are in `list.rs`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use cloudkit_core::internal::date::parse_http_date;
use cloudkit_core::{BufferedResponse, Method, Operation, encode_path};

use crate::blob::{metadata_from_headers, set_metadata_headers};
use crate::error::{BlobError, Result};
use crate::list::ListBlobsRequest;
use crate::{BlobClient, BlobServiceClient};

/// Refuses container names that could address something other than one container: Azure's
/// names are lowercase letters, digits and `-` (3 to 63 characters; the service checks the exact
/// rule), and the special `$root`, `$logs` and `$web`. Anything with `/`, `\`, `.`, `%` or other
/// characters (`..`, `c2/x`) would change the URL's path, so it is an invalid input error before
/// anything is sent.
pub(crate) fn check_container_name(name: &str) -> std::result::Result<(), String> {
    let body = name.strip_prefix('$').unwrap_or(name);
    if body.is_empty() || !body.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(format!(
            "container name {name:?}: Azure allows lowercase letters, digits and `-` (or `$root`, `$logs`, `$web`)"
        ));
    }
    Ok(())
}

/// Public access level of a new container.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PublicAccess {
    /// Private (default).
    #[default]
    None,
    /// Anonymous read of blobs.
    Blob,
    /// Anonymous read of blobs and listing.
    Container,
}

/// Properties of a container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ContainerProperties {
    /// The entity tag.
    pub etag: Option<String>,
    /// Last modification time.
    pub last_modified: Option<SystemTime>,
    /// `blob` / `container` when public.
    pub public_access: Option<String>,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
}

/// One container.
#[derive(Clone, Debug)]
pub struct ContainerClient {
    pub(crate) service: BlobServiceClient,
    pub(crate) name: String,
}

impl ContainerClient {
    pub(crate) fn new(service: BlobServiceClient, name: String) -> Self {
        Self { service, name }
    }

    /// The container name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The service client.
    pub fn service(&self) -> &BlobServiceClient {
        &self.service
    }

    /// A client for a blob in this container.
    pub fn blob_client(&self, blob: impl Into<String>) -> BlobClient {
        BlobClient::new(self.clone(), blob.into())
    }

    /// `/{container}`; refuses a name that would address something else (see
    /// [`check_container_name`]).
    pub(crate) fn path(&self, op: &'static str) -> Result<String> {
        check_container_name(&self.name).map_err(|m| BlobError::invalid_input(op, m))?;
        Ok(format!("/{}", encode_path(&self.name)))
    }

    fn request(&self, op: &'static str, method: Method, query: &[(&str, &str)]) -> Result<cloudkit_core::HttpRequest> {
        Ok(self.service.request(method, &self.path(op)?, query))
    }

    pub(crate) async fn send(&self, op: &'static str, r: cloudkit_core::HttpRequest) -> Result<BufferedResponse> {
        self.service.send(op, r).await
    }

    /// Create Container.
    pub fn create(&self) -> CreateContainerRequest {
        CreateContainerRequest { container: self.clone(), access: PublicAccess::None, metadata: BTreeMap::new() }
    }

    /// Delete Container.
    pub async fn delete(&self) -> Result<()> {
        let r = self.request("DeleteContainer", Method::DELETE, &[("restype", "container")])?;
        self.send("DeleteContainer", r).await.map(|_| ())
    }

    /// Get Container Properties (and metadata).
    pub async fn get_properties(&self) -> Result<ContainerProperties> {
        let r = self.request("GetContainerProperties", Method::HEAD, &[("restype", "container")])?;
        let resp = self.send("GetContainerProperties", r).await?;
        Ok(ContainerProperties {
            etag: resp.header("etag").map(str::to_owned),
            last_modified: resp.header("last-modified").and_then(parse_http_date),
            public_access: resp.header("x-ms-blob-public-access").map(str::to_owned),
            metadata: metadata_from_headers(&resp.headers),
        })
    }

    /// Whether the container exists.
    pub async fn exists(&self) -> Result<bool> {
        match self.get_properties().await {
            Ok(_) => Ok(true),
            Err(BlobError::ContainerNotFound(_) | BlobError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Set Container Metadata (replaces all metadata).
    pub async fn set_metadata(&self, metadata: &BTreeMap<String, String>) -> Result<()> {
        let mut r =
            self.request("SetContainerMetadata", Method::PUT, &[("restype", "container"), ("comp", "metadata")])?;
        set_metadata_headers(&mut r, metadata, "SetContainerMetadata")?;
        self.send("SetContainerMetadata", r).await.map(|_| ())
    }

    /// Get Container Metadata.
    pub async fn get_metadata(&self) -> Result<BTreeMap<String, String>> {
        Ok(self.get_properties().await?.metadata)
    }

    /// List Blobs, flat: `send()` for one page, `into_pages` / `into_items` for all.
    pub fn list_blobs(&self) -> ListBlobsRequest {
        ListBlobsRequest::new(self.clone(), None)
    }

    /// List Blobs, hierarchical: blobs and prefixes one level below `prefix`, split at `delimiter`.
    pub fn list_blobs_hierarchical(&self, delimiter: impl Into<String>) -> ListBlobsRequest {
        ListBlobsRequest::new(self.clone(), Some(delimiter.into()))
    }
}

/// Create Container.
#[derive(Clone, Debug)]
pub struct CreateContainerRequest {
    container: ContainerClient,
    access: PublicAccess,
    metadata: BTreeMap<String, String>,
}

impl CreateContainerRequest {
    /// The public access level.
    pub fn public_access(mut self, access: PublicAccess) -> Self {
        self.access = access;
        self
    }

    /// A metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Sends it (`ContainerAlreadyExists` when it exists). Not retried after a failure that may
    /// hide a create that took effect (a second attempt would answer a false
    /// `ContainerAlreadyExists`): only throttling answers and connections that could not be made
    /// are retried.
    pub async fn send(self) -> Result<()> {
        const OP: &str = "CreateContainer";
        let c = &self.container;
        let mut r = c.request(OP, Method::PUT, &[("restype", "container")])?;
        let access = match self.access {
            PublicAccess::None => None,
            PublicAccess::Blob => Some("blob"),
            PublicAccess::Container => Some("container"),
        };
        if let Some(a) = access {
            r.headers.insert("x-ms-blob-public-access", cloudkit_core::HeaderValue::from_static(a));
        }
        set_metadata_headers(&mut r, &self.metadata, OP)?;
        c.service.send_operation(&Operation::new(OP).idempotent(false), r).await.map(|_| ())
    }
}
