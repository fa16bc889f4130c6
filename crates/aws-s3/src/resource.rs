//! boto3-style resource handles: [`S3Resource`] (boto3's `session.resource("s3")`), [`Bucket`]
//! (`client.bucket("name")`, `s3.Bucket(name)`) and [`Object`] (`bucket.object("key")`), thin
//! wrappers that remember the names and forward to the [`S3Client`] and the
//! [`TransferManager`](crate::TransferManager).
//!
//! File transfers take their arguments in boto3's order, the file as a [`Path`] (so a key and a
//! file name swapped by mistake do not compile): `bucket.upload_file(file, key)`,
//! `bucket.download_file(key, file)`, `object.upload_file(file)`, `object.download_file(file)`,
//! and on the client `s3.upload_file(file, bucket, key)` / `s3.download_file(bucket, key, file)`.
//!
//! ```no_run
//! # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), Box<dyn std::error::Error>> {
//! use futures::TryStreamExt;
//! use std::path::Path;
//! use std::time::Duration;
//!
//! let bucket = s3.bucket("my-bucket");
//! if !bucket.exists().await? {
//!     bucket.create().send().await?;
//!     bucket.wait_until_exists().wait().await?;
//! }
//! // boto3: bucket.upload_file("/tmp/2026.csv", "reports/2026.csv")
//! bucket.upload_file(Path::new("/tmp/2026.csv"), "reports/2026.csv").content_type("text/csv").send().await?;
//! // boto3: bucket.download_file("reports/2026.csv", "/tmp/2026-copy.csv")
//! bucket.download_file("reports/2026.csv", Path::new("/tmp/2026-copy.csv")).await?;
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

use std::path::Path;
use std::time::Duration;

use cloudkit_core::{Bytes, Method, Url};
use cloudkit_paginate::PaginationConfig;
use futures::TryStreamExt;
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

/// The S3 service resource: boto3's `session.resource("s3")`, the entry point to [`Bucket`] and
/// [`Object`] handles (the facade's `AwsSession::s3_resource()` returns one).
///
/// ```no_run
/// # async fn demo(client: cloudkit_aws_s3::S3Client) -> Result<(), Box<dyn std::error::Error>> {
/// use std::path::Path;
/// use cloudkit_aws_s3::resource::S3Resource;
///
/// let s3 = S3Resource::new(client); // boto3: s3 = session.resource("s3")
/// for bucket in s3.buckets().await? {
///     // boto3: for bucket in s3.buckets.all()
///     println!("{}", bucket.name());
/// }
/// let bucket = s3.bucket("my-bucket"); // boto3: s3.Bucket("my-bucket")
/// bucket.upload_file(Path::new("hello.txt"), "hello.txt").send().await?;
/// let hello = s3.object("my-bucket", "hello.txt").get_bytes().await?; // s3.Object(bucket, key)
/// # let _ = hello; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct S3Resource {
    client: S3Client,
}

impl S3Resource {
    /// The resource over `client`.
    pub fn new(client: S3Client) -> Self {
        Self { client }
    }

    /// The client (boto3: `s3.meta.client`).
    pub fn client(&self) -> &S3Client {
        &self.client
    }

    /// A handle on the bucket `name` (boto3: `s3.Bucket(name)`; no request is sent).
    pub fn bucket(&self, name: impl Into<String>) -> Bucket {
        self.client.bucket(name)
    }

    /// A handle on the object `key` of `bucket` (boto3: `s3.Object(bucket, key)`; no request is
    /// sent).
    pub fn object(&self, bucket: impl Into<String>, key: impl Into<String>) -> Object {
        self.bucket(bucket).object(key)
    }

    /// CreateBucket (boto3: `s3.create_bucket(Bucket=name)`); finish with `.send()`.
    pub fn create_bucket(&self, name: impl Into<String>) -> CreateBucket {
        self.client.create_bucket(name)
    }

    /// Every bucket of the caller (boto3: `s3.buckets.all()`), following continuation tokens.
    pub async fn buckets(&self) -> Result<Vec<Bucket>, S3Error> {
        let summaries = self.client.list_buckets().into_items(PaginationConfig::default());
        summaries.map_ok(|b| self.client.bucket(b.name)).try_collect().await
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

    /// Uploads the file `file` as the object `key`, with the default
    /// [`TransferConfig`](crate::TransferConfig) (multipart above 8 MiB); finish with `.send()`.
    ///
    /// boto3's `Bucket.upload_file(Filename, Key)`: the file first, then the key. The file is a
    /// [`Path`], so passing the key first does not compile.
    ///
    /// ```no_run
    /// # async fn demo(bucket: cloudkit_aws_s3::Bucket) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::path::{Path, PathBuf};
    /// bucket.upload_file(Path::new("/tmp/2026.csv"), "reports/2026.csv").send().await?;
    /// let file = PathBuf::from("/tmp/2027.csv");
    /// bucket.upload_file(&file, "reports/2027.csv").content_type("text/csv").send().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// Two strings, in either order, do not compile:
    ///
    /// ```compile_fail,E0308
    /// # async fn demo(bucket: cloudkit_aws_s3::Bucket) -> Result<(), Box<dyn std::error::Error>> {
    /// bucket.upload_file("reports/2026.csv", "/tmp/2026.csv").send().await?; // key first: error
    /// # Ok(()) }
    /// ```
    pub fn upload_file(&self, file: &Path, key: impl Into<String>) -> Upload {
        self.client.transfer_manager().upload_file(file, &self.name, key)
    }

    /// Downloads the object `key` into the file `file`, with the default
    /// [`TransferConfig`](crate::TransferConfig) (parallel ranged GETs above 8 MiB; the file is
    /// replaced only after every byte arrived and was verified).
    ///
    /// boto3's `Bucket.download_file(Key, Filename)`: the key first, then the file, a [`Path`]
    /// (two strings do not compile).
    ///
    /// ```no_run
    /// # async fn demo(bucket: cloudkit_aws_s3::Bucket) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::path::Path;
    /// let out = bucket.download_file("reports/2026.csv", Path::new("/tmp/2026.csv")).await?;
    /// println!("{} bytes", out.size);
    /// # Ok(()) }
    /// ```
    ///
    /// ```compile_fail,E0308
    /// # async fn demo(bucket: cloudkit_aws_s3::Bucket) -> Result<(), Box<dyn std::error::Error>> {
    /// bucket.download_file("/tmp/2026.csv", "reports/2026.csv").await?; // a &str file: error
    /// # Ok(()) }
    /// ```
    pub async fn download_file(&self, key: impl Into<String>, file: &Path) -> Result<DownloadOutput, TransferError> {
        self.client.transfer_manager().download_file(&self.name, key, file).await
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

    /// Uploads the file `file` to this object (boto3's `Object.upload_file(Filename)`; managed
    /// transfer, default settings); finish with `.send()`.
    ///
    /// ```no_run
    /// # async fn demo(object: cloudkit_aws_s3::resource::Object) -> Result<(), Box<dyn std::error::Error>> {
    /// object.upload_file(std::path::Path::new("/tmp/2026.csv")).send().await?;
    /// # Ok(()) }
    /// ```
    pub fn upload_file(&self, file: &Path) -> Upload {
        self.bucket.upload_file(file, &self.key)
    }

    /// Downloads this object into the file `file` (boto3's `Object.download_file(Filename)`;
    /// managed transfer, default settings).
    ///
    /// ```no_run
    /// # async fn demo(object: cloudkit_aws_s3::resource::Object) -> Result<(), Box<dyn std::error::Error>> {
    /// object.download_file(std::path::Path::new("/tmp/2026.csv")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn download_file(&self, file: &Path) -> Result<DownloadOutput, TransferError> {
        self.bucket.download_file(&self.key, file).await
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
