//! Buckets: insert, get, list (paginated), delete, patch labels.

use std::collections::BTreeMap;

use cloudkit_core::{HttpRequest, Method};
use cloudkit_paginate::{ItemStream, Page, PageRequest, PageStream, PaginationConfig, Paginator};
use serde::{Deserialize, Serialize};

use crate::client::{StorageClient, add_query, json_request};
use crate::error::GcsError;
use crate::types::{Bucket, Preconditions};

/// `buckets.insert`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct InsertBucket {
    client: StorageClient,
    body: InsertBucketBody,
    project: Option<String>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct InsertBucketBody {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    storage_class: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<String, String>,
}

impl InsertBucket {
    /// The location (`US`, `EU`, `europe-west1`, …; default `US`).
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.body.location = Some(location.into());
        self
    }

    /// The default storage class (`STANDARD`, `NEARLINE`, `COLDLINE`, `ARCHIVE`).
    pub fn storage_class(mut self, class: impl Into<String>) -> Self {
        self.body.storage_class = Some(class.into());
        self
    }

    /// Adds a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.body.labels.insert(key.into(), value.into());
        self
    }

    /// The project (default: the client's).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Creates the bucket. A taken name is [`GcsError::Conflict`].
    pub async fn send(self) -> Result<Bucket, GcsError> {
        let mut url = self.client.json_url(&["b"]);
        let project = self.project.or_else(|| self.client.project().map(str::to_owned));
        match &project {
            Some(p) => add_query(&mut url, [("project", p.as_str())]),
            None if self.client.is_emulator() => add_query(&mut url, [("project", "cloudkit-emulator")]),
            None => {
                return Err(GcsError::invalid_input(
                    "buckets.insert",
                    "no project: set GOOGLE_CLOUD_PROJECT or pass .project(..)",
                ));
            }
        }
        let request = json_request(Method::POST, url, &self.body, "buckets.insert")?;
        self.client.send_json("buckets.insert", false, request).await
    }
}

/// `buckets.list`.
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages() or .into_items()"]
pub struct ListBuckets {
    client: StorageClient,
    project: Option<String>,
    prefix: Option<String>,
    max_results: Option<u32>,
    page_token: Option<String>,
}

/// One page of `buckets.list`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListBucketsOutput {
    /// The buckets.
    #[serde(default)]
    pub items: Vec<Bucket>,
    /// The token of the next page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

impl Page for ListBucketsOutput {
    type Item = Bucket;
    fn next_token(&self) -> Option<&str> {
        self.next_page_token.as_deref().filter(|t| !t.is_empty())
    }
    fn item_count(&self) -> usize {
        self.items.len()
    }
    fn retain_items(&mut self, range: std::ops::Range<usize>) {
        cloudkit_paginate::retain_range(&mut self.items, range);
    }
    fn into_items(self) -> Vec<Bucket> {
        self.items
    }
}

impl ListBuckets {
    /// Only buckets whose names start with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Page size (GCS caps it at 1000).
    pub fn max_results(mut self, n: u32) -> Self {
        self.max_results = Some(n);
        self
    }

    /// Continue from this page token.
    pub fn page_token(mut self, token: impl Into<String>) -> Self {
        self.page_token = Some(token.into());
        self
    }

    /// The project (default: the client's).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// One page.
    pub async fn send(self) -> Result<ListBucketsOutput, GcsError> {
        let mut url = self.client.json_url(&["b"]);
        let project = self
            .project
            .clone()
            .or_else(|| self.client.project().map(str::to_owned))
            .or_else(|| self.client.is_emulator().then(|| "cloudkit-emulator".to_owned()))
            .ok_or_else(|| {
                GcsError::invalid_input("buckets.list", "no project: set GOOGLE_CLOUD_PROJECT or pass .project(..)")
            })?;
        let max = self.max_results.map(|n| n.to_string());
        let mut pairs: Vec<(&str, &str)> = vec![("project", project.as_str())];
        if let Some(p) = &self.prefix {
            pairs.push(("prefix", p));
        }
        if let Some(m) = &max {
            pairs.push(("maxResults", m));
        }
        if let Some(t) = &self.page_token {
            pairs.push(("pageToken", t));
        }
        add_query(&mut url, pairs);
        self.client.send_json("buckets.list", true, HttpRequest::new(Method::GET, url)).await
    }

    fn paginator(self, config: PaginationConfig) -> Paginator<'static, ListBucketsOutput, GcsError> {
        Paginator::new(config, move |req: PageRequest| {
            let mut page = self.clone();
            if let Some(t) = req.token {
                page.page_token = Some(t);
            }
            if let Some(n) = req.page_size {
                page.max_results = Some(n);
            }
            page.send()
        })
    }

    /// Every page, as a stream.
    pub fn into_pages(self, config: PaginationConfig) -> PageStream<'static, ListBucketsOutput, GcsError> {
        self.paginator(config).pages()
    }

    /// Every bucket, as a stream.
    pub fn into_items(self, config: PaginationConfig) -> ItemStream<'static, ListBucketsOutput, GcsError> {
        self.paginator(config).items()
    }
}

/// `buckets.patch` (labels).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct PatchBucket {
    client: StorageClient,
    bucket: String,
    labels: BTreeMap<String, Option<String>>,
    preconditions: Preconditions,
}

#[derive(Serialize)]
struct PatchBucketBody<'a> {
    labels: &'a BTreeMap<String, Option<String>>,
}

impl PatchBucket {
    /// Sets a label.
    pub fn label(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.labels.insert(key.into(), Some(value.into()));
        self
    }

    /// Removes a label.
    pub fn remove_label(mut self, key: impl Into<String>) -> Self {
        self.labels.insert(key.into(), None);
        self
    }

    /// Only if the bucket's metageneration is this one.
    pub fn if_metageneration_match(mut self, m: i64) -> Self {
        self.preconditions.if_metageneration_match = Some(m);
        self
    }

    /// Applies the patch.
    pub async fn send(self) -> Result<Bucket, GcsError> {
        let mut url = self.client.json_url(&["b", &self.bucket]);
        let pairs = self.preconditions.pairs();
        add_query(&mut url, pairs.iter().map(|(k, v)| (*k, v.as_str())));
        let request = json_request(Method::PATCH, url, &PatchBucketBody { labels: &self.labels }, "buckets.patch")?;
        self.client.send_json("buckets.patch", self.preconditions.if_metageneration_match.is_some(), request).await
    }
}

impl StorageClient {
    /// `buckets.insert`: creates a bucket.
    ///
    /// ```no_run
    /// # async fn demo(client: cloudkit_gcp_storage::StorageClient) -> Result<(), cloudkit_gcp_storage::GcsError> {
    /// let bucket = client.insert_bucket("my-bucket").location("EU").storage_class("STANDARD").send().await?;
    /// # Ok(()) }
    /// ```
    pub fn insert_bucket(&self, name: impl Into<String>) -> InsertBucket {
        InsertBucket {
            client: self.clone(),
            body: InsertBucketBody { name: name.into(), location: None, storage_class: None, labels: BTreeMap::new() },
            project: None,
        }
    }

    /// `buckets.get`.
    pub async fn get_bucket(&self, bucket: &str) -> Result<Bucket, GcsError> {
        let url = self.json_url(&["b", bucket]);
        self.send_json("buckets.get", true, HttpRequest::new(Method::GET, url)).await
    }

    /// `buckets.list`.
    ///
    /// ```no_run
    /// # async fn demo(client: cloudkit_gcp_storage::StorageClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::TryStreamExt;
    /// let names: Vec<String> = client
    ///     .list_buckets()
    ///     .prefix("logs-")
    ///     .into_items(Default::default())
    ///     .map_ok(|b| b.name)
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_buckets(&self) -> ListBuckets {
        ListBuckets { client: self.clone(), project: None, prefix: None, max_results: None, page_token: None }
    }

    /// `buckets.delete` (the bucket must be empty, else [`GcsError::Conflict`]).
    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), GcsError> {
        let url = self.json_url(&["b", bucket]);
        self.send("buckets.delete", true, HttpRequest::new(Method::DELETE, url)).await.map(drop)
    }

    /// `buckets.patch`: labels.
    pub fn patch_bucket(&self, bucket: impl Into<String>) -> PatchBucket {
        PatchBucket {
            client: self.clone(),
            bucket: bucket.into(),
            labels: BTreeMap::new(),
            preconditions: Preconditions::default(),
        }
    }
}
