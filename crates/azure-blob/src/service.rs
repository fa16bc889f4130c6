//! Service-level operations: list containers, service properties, user delegation keys.

use std::time::SystemTime;

use cloudkit_core::{BufferedResponse, Method, Operation};
use cloudkit_paginate::{ItemStream, PageRequest, PageStream, PaginationConfig, Paginator};
use cloudkit_signer::azure::{UserDelegationKey, format_sas_time};

use crate::BlobServiceClient;
use crate::error::{BlobError, Result};
use crate::model::{ListContainersPage, parse_container_list, parse_user_delegation_key};

impl BlobServiceClient {
    pub(crate) async fn send(&self, op: &'static str, request: cloudkit_core::HttpRequest) -> Result<BufferedResponse> {
        Ok(self.inner.pipeline.send_buffered(&Operation::new(op), request).await?)
    }

    /// List Containers (a paginator: `into_pages` / `into_items`).
    pub fn list_containers(&self) -> ListContainersRequest {
        ListContainersRequest { client: self.clone(), prefix: None, include_metadata: false }
    }

    /// Get Blob Service Properties: the raw `StorageServiceProperties` XML.
    pub async fn get_service_properties(&self) -> Result<String> {
        let r = self.request(Method::GET, "/", &[("restype", "service"), ("comp", "properties")]);
        let resp = self.send("GetServiceProperties", r).await?;
        Ok(String::from_utf8_lossy(&resp.body).into_owned())
    }

    /// Get User Delegation Key (needs an Entra token credential): the key that signs user
    /// delegation SAS (see `cloudkit_signer::azure::BlobSas::sign_user_delegation`).
    pub async fn get_user_delegation_key(&self, start: SystemTime, expiry: SystemTime) -> Result<UserDelegationKey> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><KeyInfo><Start>{}</Start><Expiry>{}</Expiry></KeyInfo>",
            format_sas_time(start),
            format_sas_time(expiry)
        );
        let r =
            self.request(Method::POST, "/", &[("restype", "service"), ("comp", "userdelegationkey")]).with_body(body);
        let resp = self.send("GetUserDelegationKey", r).await?;
        parse_user_delegation_key(&resp.body).map_err(|e| {
            BlobError::Other(cloudkit_core::Error::decode(crate::SERVICE, "GetUserDelegationKey", e.to_string()))
        })
    }
}

/// List Containers.
#[derive(Clone, Debug)]
pub struct ListContainersRequest {
    client: BlobServiceClient,
    prefix: Option<String>,
    include_metadata: bool,
}

impl ListContainersRequest {
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

    /// One page (`marker` from the previous page, `max_results` ≤ 5000).
    pub async fn page(&self, marker: Option<&str>, max_results: Option<u32>) -> Result<ListContainersPage> {
        let max = max_results.map(|m| m.to_string());
        let mut q: Vec<(&str, &str)> = vec![("comp", "list")];
        if let Some(p) = &self.prefix {
            q.push(("prefix", p));
        }
        if let Some(m) = marker {
            q.push(("marker", m));
        }
        if let Some(m) = &max {
            q.push(("maxresults", m));
        }
        if self.include_metadata {
            q.push(("include", "metadata"));
        }
        let r = self.client.request(Method::GET, "/", &q);
        let resp = self.client.send("ListContainers", r).await?;
        parse_container_list(&resp.body).map_err(|e| {
            BlobError::Other(cloudkit_core::Error::decode(crate::SERVICE, "ListContainers", e.to_string()))
        })
    }

    fn paginator(self, config: PaginationConfig) -> Paginator<'static, ListContainersPage, BlobError> {
        Paginator::new(config, move |req: PageRequest| {
            let this = self.clone();
            async move { this.page(req.token.as_deref(), req.page_size).await }
        })
    }

    /// The pages.
    pub fn into_pages(self, config: PaginationConfig) -> PageStream<'static, ListContainersPage, BlobError> {
        self.paginator(config).pages()
    }

    /// The containers, across pages.
    pub fn into_items(self, config: PaginationConfig) -> ItemStream<'static, ListContainersPage, BlobError> {
        self.paginator(config).items()
    }
}
