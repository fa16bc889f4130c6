//! The list builders, List Containers and List Blobs: `send()` for one page as the service returns
//! it, `into_pages` / `into_items` across pages on `cloudkit-paginate` (docs/ARCHITECTURE.md,
//! "Listing"). Pages follow the service's `NextMarker`.

use cloudkit_core::{Error, Method};
use cloudkit_paginate::{ItemStream, PageRequest, PageStream, PaginationConfig, Paginator};

use crate::error::{BlobError, Result};
use crate::model::{ListBlobsPage, ListContainersPage, parse_blob_list, parse_container_list};
use crate::{BlobServiceClient, ContainerClient};

/// The paging settings every list builder has: the marker to start at and the page length,
/// which the paginator sets for each page.
#[derive(Clone, Debug, Default)]
struct Paging {
    marker: Option<String>,
    max_results: Option<u32>,
}

impl Paging {
    /// This page's settings: the paginator's token and size, else the builder's.
    fn for_page(&self, request: PageRequest) -> Paging {
        Paging {
            marker: request.token.or_else(|| self.marker.clone()),
            max_results: request.page_size.or(self.max_results),
        }
    }

    /// Appends `marker` and `maxresults` (`max` holds the text of the latter).
    fn query<'a>(&'a self, max: &'a mut String, q: &mut Vec<(&'static str, &'a str)>) {
        if let Some(m) = &self.marker {
            q.push(("marker", m));
        }
        if let Some(n) = self.max_results {
            *max = n.to_string();
            q.push(("maxresults", max));
        }
    }
}

/// The paging setters and streams of a list builder with a `paging: Paging` field and an
/// `async fn send(self) -> Result<$page>`.
macro_rules! paged {
    ($request:ident, $page:ident, $operation:literal, $items:literal) => {
        impl $request {
            /// Start at this page marker (`next_marker` of an earlier page).
            pub fn marker(mut self, marker: impl Into<String>) -> Self {
                self.paging.marker = Some(marker.into());
                self
            }

            /// At most this many entries per page (the service's maximum and default is 5000).
            pub fn max_results(mut self, max_results: u32) -> Self {
                self.paging.max_results = Some(max_results);
                self
            }

            fn paginator(self, config: PaginationConfig) -> Paginator<'static, $page, BlobError> {
                Paginator::new(crate::SERVICE, $operation, config, move |request: PageRequest| {
                    let this = $request { paging: self.paging.for_page(request), ..self.clone() };
                    async move { this.send().await }
                })
            }

            /// The pages.
            pub fn into_pages(self, config: PaginationConfig) -> PageStream<'static, $page, BlobError> {
                self.paginator(config).pages()
            }

            #[doc = $items]
            pub fn into_items(self, config: PaginationConfig) -> ItemStream<'static, $page, BlobError> {
                self.paginator(config).items()
            }
        }
    };
}

fn decode_error(operation: &'static str, e: impl std::fmt::Display) -> BlobError {
    BlobError::Other(Error::decode(crate::SERVICE, operation, e.to_string()))
}

/// List Containers (see [`BlobServiceClient::list_containers`]).
#[derive(Clone, Debug)]
pub struct ListContainersRequest {
    client: BlobServiceClient,
    prefix: Option<String>,
    include_metadata: bool,
    paging: Paging,
}

impl ListContainersRequest {
    pub(crate) fn new(client: BlobServiceClient) -> Self {
        Self { client, prefix: None, include_metadata: false, paging: Paging::default() }
    }

    /// Only names starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Include metadata.
    pub fn include_metadata(mut self, include: bool) -> Self {
        self.include_metadata = include;
        self
    }

    /// One page, as the service returns it.
    pub async fn send(self) -> Result<ListContainersPage> {
        const OP: &str = "ListContainers";
        let mut max = String::new();
        let mut q: Vec<(&str, &str)> = vec![("comp", "list")];
        if let Some(p) = &self.prefix {
            q.push(("prefix", p));
        }
        self.paging.query(&mut max, &mut q);
        if self.include_metadata {
            q.push(("include", "metadata"));
        }
        let r = self.client.request(Method::GET, "/", &q);
        let resp = self.client.send(OP, r).await?;
        parse_container_list(&resp.body).map_err(|e| decode_error(OP, e))
    }
}

paged!(ListContainersRequest, ListContainersPage, "ListContainers", "The containers, across pages.");

/// List Blobs, flat or hierarchical (see [`ContainerClient::list_blobs`]).
#[derive(Clone, Debug)]
pub struct ListBlobsRequest {
    container: ContainerClient,
    prefix: Option<String>,
    delimiter: Option<String>,
    include: Vec<&'static str>,
    paging: Paging,
}

impl ListBlobsRequest {
    pub(crate) fn new(container: ContainerClient, delimiter: Option<String>) -> Self {
        Self { container, prefix: None, delimiter, include: Vec::new(), paging: Paging::default() }
    }

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

    /// One page, as the service returns it.
    pub async fn send(self) -> Result<ListBlobsPage> {
        const OP: &str = "ListBlobs";
        let mut max = String::new();
        let include = self.include.join(",");
        let mut q: Vec<(&str, &str)> = vec![("restype", "container"), ("comp", "list")];
        if let Some(p) = &self.prefix {
            q.push(("prefix", p));
        }
        if let Some(d) = &self.delimiter {
            q.push(("delimiter", d));
        }
        self.paging.query(&mut max, &mut q);
        if !include.is_empty() {
            q.push(("include", &include));
        }
        let c = &self.container;
        let r = c.service.request(Method::GET, &c.path(OP)?, &q);
        let resp = c.send(OP, r).await?;
        parse_blob_list(&resp.body).map_err(|e| decode_error(OP, e))
    }
}

paged!(
    ListBlobsRequest,
    ListBlobsPage,
    "ListBlobs",
    "The entries (blobs, and prefixes when hierarchical), across pages."
);
