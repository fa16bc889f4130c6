//! boto3-style resource handles: [`Bucket`] (`client.bucket("name")`) and [`Object`]
//! (`bucket.object("key")`), thin wrappers that remember the names and forward to the
//! [`S3Client`] and the [`TransferManager`](crate::TransferManager).
//!
//! ```no_run
//! # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), Box<dyn std::error::Error>> {
//! use futures::TryStreamExt;
//! use std::time::Duration;
//!
//! let bucket = s3.bucket("my-bucket");
//! if !bucket.exists().await? {
//!     bucket.create().send().await?;
//!     bucket.wait_until_exists().wait().await?;
//! }
//! bucket.upload_file("reports/2026.csv", "/tmp/2026.csv").content_type("text/csv").send().await?;
//! bucket.download_file("reports/2026.csv", "/tmp/2026-copy.csv").await?;
//!
//! let mut objects = bucket.objects_with_prefix("reports/");
//! while let Some(o) = objects.try_next().await? {
//!     println!("{} {}", o.key, o.size);
//! }
//!
//! let mut report = bucket.object("reports/2026.csv");
//! report.reload().await?; // HEAD, kept on the handle
//! println!("{:?} {:?}", report.content_type(), report.e_tag());
//! let url = report.presigned_url(cloudkit_core::Method::GET, Duration::from_secs(3600)).await?;
//! println!("{url}");
//! # Ok(()) }
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use cloudkit_core::{Bytes, Method, Url};
use cloudkit_paginate::PaginationConfig;
use futures::stream::BoxStream;

use crate::bucket::CreateBucket;
use crate::client::S3Client;
use crate::error::S3Error;
use crate::list::Object as ObjectSummary;
use crate::object::{DeleteObject, GetObject, PutObject};
use crate::transfer::{DownloadOutput, TransferError, Upload};
use crate::types::ObjectMetadata;
use crate::waiters::{BucketWaiter, ObjectWaiter};

impl S3Client {
    /// A handle on the bucket `name` (no request is sent).
    pub fn bucket(&self, name: impl Into<String>) -> Bucket {
        Bucket { client: self.clone(), name: name.into() }
    }
}

/// A bucket handle (boto3's `s3.Bucket(name)`); see the [module docs](self).
#[derive(Clone, Debug)]
pub struct Bucket {
    client: S3Client,
    name: String,
}

impl Bucket {
    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client.
    pub fn client(&self) -> &S3Client {
        &self.client
    }

    /// A handle on the object `key` (no request is sent).
    pub fn object(&self, key: impl Into<String>) -> Object {
        Object { bucket: self.clone(), key: key.into(), metadata: None }
    }

    /// CreateBucket for this bucket.
    pub fn create(&self) -> CreateBucket {
        self.client.create_bucket(&self.name)
    }

    /// DeleteBucket (the bucket must be empty).
    pub async fn delete(&self) -> Result<(), S3Error> {
        self.client.delete_bucket(&self.name).await
    }

    /// Whether the bucket exists and is accessible (HeadBucket; a 404 is `false`).
    pub async fn exists(&self) -> Result<bool, S3Error> {
        match self.client.head_bucket(&self.name).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until the bucket exists (the `bucket_exists` waiter).
    pub fn wait_until_exists(&self) -> BucketWaiter {
        self.client.wait_until_bucket_exists(&self.name)
    }

    /// Every object of the bucket, as a stream (pages fetched as the stream is read).
    pub fn objects(&self) -> BoxStream<'static, Result<ObjectSummary, S3Error>> {
        self.client.list_objects_v2(&self.name).into_objects(PaginationConfig::default())
    }

    /// The objects whose key starts with `prefix` (boto3's `bucket.objects.filter(Prefix=…)`).
    pub fn objects_with_prefix(&self, prefix: impl Into<String>) -> BoxStream<'static, Result<ObjectSummary, S3Error>> {
        self.client.list_objects_v2(&self.name).prefix(prefix).into_objects(PaginationConfig::default())
    }

    /// PutObject into this bucket.
    pub fn put_object(&self, key: impl Into<String>) -> PutObject {
        self.client.put_object(&self.name, key)
    }

    /// GetObject from this bucket.
    pub fn get_object(&self, key: impl Into<String>) -> GetObject {
        self.client.get_object(&self.name, key)
    }

    /// DeleteObject in this bucket.
    pub fn delete_object(&self, key: impl Into<String>) -> DeleteObject {
        self.client.delete_object(&self.name, key)
    }

    /// Uploads a file with the default [`TransferConfig`](crate::TransferConfig) (multipart
    /// above 8 MiB).
    pub fn upload_file(&self, key: impl Into<String>, path: impl Into<PathBuf>) -> Upload {
        self.client.transfer_manager().upload_file(&self.name, key, path)
    }

    /// Downloads an object into a file with the default
    /// [`TransferConfig`](crate::TransferConfig) (parallel ranged GETs above 8 MiB).
    pub async fn download_file(
        &self,
        key: impl Into<String>,
        path: impl AsRef<Path>,
    ) -> Result<DownloadOutput, TransferError> {
        self.client.transfer_manager().download_file(&self.name, key, path).await
    }
}

/// An object handle (boto3's `s3.Object(bucket, key)`): keeps the metadata read by
/// [`reload`](Self::reload).
#[derive(Clone, Debug)]
pub struct Object {
    bucket: Bucket,
    key: String,
    metadata: Option<ObjectMetadata>,
}

impl Object {
    /// The bucket handle.
    pub fn bucket(&self) -> &Bucket {
        &self.bucket
    }

    /// The key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// GetObject (streaming body; `.collect().await` for the bytes).
    pub fn get(&self) -> GetObject {
        self.bucket.get_object(&self.key)
    }

    /// PutObject (set the body with `.body(…)`).
    pub fn put(&self) -> PutObject {
        self.bucket.put_object(&self.key)
    }

    /// Reads the whole object into memory.
    pub async fn get_bytes(&self) -> Result<Bytes, S3Error> {
        self.get().send().await?.collect().await
    }

    /// DeleteObject.
    pub fn delete(&self) -> DeleteObject {
        self.bucket.delete_object(&self.key)
    }

    /// Reads the metadata (HeadObject) and keeps it on the handle.
    pub async fn reload(&mut self) -> Result<&ObjectMetadata, S3Error> {
        let metadata = self.bucket.client.head_object(&self.bucket.name, &self.key).send().await?;
        Ok(self.metadata.insert(metadata))
    }

    /// The metadata read by the last [`reload`](Self::reload), if any.
    pub fn metadata(&self) -> Option<&ObjectMetadata> {
        self.metadata.as_ref()
    }

    /// The ETag from the last [`reload`](Self::reload).
    pub fn e_tag(&self) -> Option<&str> {
        self.metadata.as_ref()?.e_tag.as_deref()
    }

    /// The size from the last [`reload`](Self::reload).
    pub fn content_length(&self) -> Option<u64> {
        self.metadata.as_ref()?.content_length
    }

    /// The content type from the last [`reload`](Self::reload).
    pub fn content_type(&self) -> Option<&str> {
        self.metadata.as_ref()?.content_type.as_deref()
    }

    /// Whether the object exists (HeadObject; a 404 is `false`). Does not touch the stored
    /// metadata.
    pub async fn exists(&self) -> Result<bool, S3Error> {
        match self.bucket.client.head_object(&self.bucket.name, &self.key).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Waits until the object exists (the `object_exists` waiter).
    pub fn wait_until_exists(&self) -> ObjectWaiter {
        self.bucket.client.wait_until_object_exists(&self.bucket.name, &self.key)
    }

    /// Uploads a file to this object (managed transfer, default settings).
    pub fn upload_file(&self, path: impl Into<PathBuf>) -> Upload {
        self.bucket.upload_file(&self.key, path)
    }

    /// Downloads this object into a file (managed transfer, default settings).
    pub async fn download_file(&self, path: impl AsRef<Path>) -> Result<DownloadOutput, TransferError> {
        self.bucket.download_file(&self.key, path).await
    }

    /// A presigned URL for `method` (GET, PUT, HEAD or DELETE) valid for `expires_in`
    /// (at most 7 days). The client needs credentials for presigning.
    pub async fn presigned_url(&self, method: Method, expires_in: Duration) -> Result<Url, S3Error> {
        let (c, b, k) = (&self.bucket.client, &self.bucket.name, &self.key);
        let request = match method {
            Method::GET => c.presign_get_object(b, k, expires_in),
            Method::PUT => c.presign_put_object(b, k, expires_in),
            Method::HEAD => c.presign_head_object(b, k, expires_in),
            Method::DELETE => c.presign_delete_object(b, k, expires_in),
            other => {
                return Err(S3Error::invalid_input(
                    "Presign",
                    format!("presigned URLs are for GET, PUT, HEAD or DELETE, not {other}"),
                ));
            }
        };
        Ok(request.presign().await?.url)
    }
}
