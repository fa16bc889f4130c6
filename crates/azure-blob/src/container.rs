//! Container operations and blob listings.

use std::collections::BTreeMap;

use cloudkit_core::{BufferedResponse, Method};
use cloudkit_paginate::{ItemStream, PageRequest, PageStream, PaginationConfig, Paginator};

use crate::blob::{metadata_from_headers, set_metadata_headers};
use crate::client::encode_path;
use crate::error::{BlobError, Result};
use crate::model::{ListBlobsPage, parse_blob_list};
use crate::{BlobClient, BlobServiceClient};

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
    /// Last modification time (RFC 1123).
    pub last_modified: Option<String>,
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

    pub(crate) fn path(&self) -> String {
        format!("/{}", encode_path(&self.name))
    }

    async fn send(&self, op: &'static str, r: cloudkit_core::HttpRequest) -> Result<BufferedResponse> {
        self.service.send(op, r).await
    }

    /// Create Container.
    pub fn create(&self) -> CreateContainerRequest {
        CreateContainerRequest { container: self.clone(), access: PublicAccess::None, metadata: BTreeMap::new() }
    }

    /// Delete Container.
    pub async fn delete(&self) -> Result<()> {
        let r = self.service.request(Method::DELETE, &self.path(), &[("restype", "container")]);
        self.send("DeleteContainer", r).await.map(|_| ())
    }

    /// Get Container Properties (and metadata).
    pub async fn get_properties(&self) -> Result<ContainerProperties> {
        let r = self.service.request(Method::HEAD, &self.path(), &[("restype", "container")]);
        let resp = self.send("GetContainerProperties", r).await?;
        Ok(ContainerProperties {
            etag: resp.header("etag").map(str::to_owned),
            last_modified: resp.header("last-modified").map(str::to_owned),
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
        let mut r = self.service.request(Method::PUT, &self.path(), &[("restype", "container"), ("comp", "metadata")]);
        set_metadata_headers(&mut r, metadata, "SetContainerMetadata")?;
        self.send("SetContainerMetadata", r).await.map(|_| ())
    }

    /// Get Container Metadata.
    pub async fn get_metadata(&self) -> Result<BTreeMap<String, String>> {
        Ok(self.get_properties().await?.metadata)
    }

    /// List Blobs, flat (a paginator).
    pub fn list_blobs(&self) -> ListBlobsRequest {
        ListBlobsRequest { container: self.clone(), prefix: None, delimiter: None, include: Vec::new() }
    }

    /// List Blobs, hierarchical: blobs and prefixes one level below `prefix`, split at `delimiter`.
    pub fn list_blobs_hierarchical(&self, delimiter: impl Into<String>) -> ListBlobsRequest {
        ListBlobsRequest {
            container: self.clone(),
            prefix: None,
            delimiter: Some(delimiter.into()),
            include: Vec::new(),
        }
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

    /// Sends it (`ContainerAlreadyExists` when it exists).
    pub async fn send(self) -> Result<()> {
        let c = &self.container;
        let mut r = c.service.request(Method::PUT, &c.path(), &[("restype", "container")]);
        let access = match self.access {
            PublicAccess::None => None,
            PublicAccess::Blob => Some("blob"),
            PublicAccess::Container => Some("container"),
        };
        if let Some(a) = access {
            r.headers.insert("x-ms-blob-public-access", cloudkit_core::HeaderValue::from_static(a));
        }
        set_metadata_headers(&mut r, &self.metadata, "CreateContainer")?;
        c.send("CreateContainer", r).await.map(|_| ())
    }
}

/// List Blobs.
#[derive(Clone, Debug)]
pub struct ListBlobsRequest {
    container: ContainerClient,
    prefix: Option<String>,
    delimiter: Option<String>,
    include: Vec<&'static str>,
}

impl ListBlobsRequest {
    /// Only names starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Include metadata.
    pub fn include_metadata(mut self) -> Self {
        self.include.push("metadata");
        self
    }

    /// Include snapshots.
    pub fn include_snapshots(mut self) -> Self {
        self.include.push("snapshots");
        self
    }

    /// One page.
    pub async fn page(&self, marker: Option<&str>, max_results: Option<u32>) -> Result<ListBlobsPage> {
        let max = max_results.map(|m| m.to_string());
        let include = self.include.join(",");
        let mut q: Vec<(&str, &str)> = vec![("restype", "container"), ("comp", "list")];
        if let Some(p) = &self.prefix {
            q.push(("prefix", p));
        }
        if let Some(d) = &self.delimiter {
            q.push(("delimiter", d));
        }
        if let Some(m) = marker {
            q.push(("marker", m));
        }
        if let Some(m) = &max {
            q.push(("maxresults", m));
        }
        if !include.is_empty() {
            q.push(("include", &include));
        }
        let c = &self.container;
        let r = c.service.request(Method::GET, &c.path(), &q);
        let resp = c.send("ListBlobs", r).await?;
        parse_blob_list(&resp.body)
            .map_err(|e| BlobError::Other(cloudkit_core::Error::decode(crate::SERVICE, "ListBlobs", e.to_string())))
    }

    fn paginator(self, config: PaginationConfig) -> Paginator<'static, ListBlobsPage, BlobError> {
        Paginator::new(config, move |req: PageRequest| {
            let this = self.clone();
            async move { this.page(req.token.as_deref(), req.page_size).await }
        })
    }

    /// The pages.
    pub fn into_pages(self, config: PaginationConfig) -> PageStream<'static, ListBlobsPage, BlobError> {
        self.paginator(config).pages()
    }

    /// The entries (blobs, and prefixes when hierarchical), across pages.
    pub fn into_items(self, config: PaginationConfig) -> ItemStream<'static, ListBlobsPage, BlobError> {
        self.paginator(config).items()
    }
}
