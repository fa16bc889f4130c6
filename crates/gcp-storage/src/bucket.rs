//! Buckets: insert, get, delete, patch labels (`buckets.list` is in `list.rs`).

use std::collections::BTreeMap;

use cloudkit_core::{HttpRequest, Method};
use serde::Serialize;

use crate::client::{StorageClient, json_request};
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
        let mut url = self.client.json_url("buckets.insert", &["b"])?;
        let project = self.client.project_for("buckets.insert", self.project)?;
        cloudkit_core::append_query(&mut url, [("project", project)]);
        let request = json_request(Method::POST, url, &self.body, "buckets.insert")?;
        self.client.send_json("buckets.insert", false, request).await
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
        let mut url = self.client.json_url("buckets.patch", &["b", &self.bucket])?;
        cloudkit_core::append_query(&mut url, self.preconditions.pairs());
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
        let url = self.json_url("buckets.get", &["b", bucket])?;
        self.send_json("buckets.get", true, HttpRequest::new(Method::GET, url)).await
    }

    /// `buckets.delete` (the bucket must be empty, else [`GcsError::Conflict`]).
    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), GcsError> {
        let url = self.json_url("buckets.delete", &["b", bucket])?;
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
