//! Resource handles in the Python SDK's shape: `client.bucket("b").blob("hello.txt")`.
//!
//! ```no_run
//! # async fn demo(client: cloudkit_gcp_storage::StorageClient) -> Result<(), cloudkit_gcp_storage::GcsError> {
//! // Python: bucket = client.bucket("b"); blob = bucket.blob("hello.txt")
//! let bucket = client.bucket("b");
//! let mut blob = bucket.blob("hello.txt");
//! blob.upload_from_string("hello world").await?;
//! assert_eq!(blob.download_as_text().await?, "hello world");
//! assert!(blob.exists().await?);
//! blob.reload().await?;
//! println!("{:?} bytes", blob.size());
//! blob.delete().await?;
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use cloudkit_core::{Error, ErrorKind, Method, PartialFile};
use cloudkit_paginate::PaginationConfig;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

use crate::client::{SignedUrlOptions, StorageClient};
use crate::error::GcsError;
use crate::types::{Bucket, Object, ObjectMetadata};
use crate::upload::reader_stream;

/// A bucket handle (no request is made until a method is called).
#[derive(Clone, Debug)]
pub struct BucketHandle {
    client: StorageClient,
    name: String,
    properties: Option<Bucket>,
}

impl BucketHandle {
    pub(crate) fn new(client: StorageClient, name: String) -> Self {
        Self { client, name, properties: None }
    }

    /// The bucket's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The properties loaded by [`reload`](Self::reload) or [`create`](Self::create).
    pub fn properties(&self) -> Option<&Bucket> {
        self.properties.as_ref()
    }

    /// A blob handle in this bucket.
    pub fn blob(&self, name: impl Into<String>) -> Blob {
        Blob {
            client: self.client.clone(),
            bucket: self.name.clone(),
            name: name.into(),
            content_type: None,
            metadata: BTreeMap::new(),
            chunk_size: None,
            generation: None,
            properties: None,
        }
    }

    /// Creates the bucket (`location`: e.g. `"US"`; `None` for the default).
    pub async fn create(&mut self, location: Option<&str>) -> Result<&Bucket, GcsError> {
        let mut insert = self.client.insert_bucket(self.name.clone());
        if let Some(l) = location {
            insert = insert.location(l);
        }
        Ok(&*self.properties.insert(insert.send().await?))
    }

    /// Reloads the properties.
    pub async fn reload(&mut self) -> Result<&Bucket, GcsError> {
        Ok(&*self.properties.insert(self.client.get_bucket(&self.name).await?))
    }

    /// Whether the bucket exists.
    pub async fn exists(&self) -> Result<bool, GcsError> {
        match self.client.get_bucket(&self.name).await {
            Ok(_) => Ok(true),
            Err(GcsError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes the (empty) bucket.
    pub async fn delete(&self) -> Result<(), GcsError> {
        self.client.delete_bucket(&self.name).await
    }

    /// Every object under `prefix`.
    pub fn list_blobs(&self, prefix: Option<&str>) -> BoxStream<'static, Result<Object, GcsError>> {
        let mut list = self.client.list_objects(self.name.clone());
        if let Some(p) = prefix {
            list = list.prefix(p);
        }
        list.into_items(PaginationConfig::default()).map_err(GcsError::from).boxed()
    }
}

/// A blob (object) handle, like Python's `storage.Blob`.
#[derive(Clone, Debug)]
pub struct Blob {
    client: StorageClient,
    bucket: String,
    name: String,
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
    chunk_size: Option<usize>,
    generation: Option<i64>,
    properties: Option<Object>,
}

impl Blob {
    /// The object name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The bucket name.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Pins reads to a generation.
    pub fn with_generation(mut self, generation: i64) -> Self {
        self.generation = Some(generation);
        self
    }

    /// The content type used by the next upload.
    pub fn set_content_type(&mut self, content_type: impl Into<String>) {
        self.content_type = Some(content_type.into());
    }

    /// User metadata used by the next upload.
    pub fn set_metadata(&mut self, metadata: BTreeMap<String, String>) {
        self.metadata = metadata;
    }

    /// Resumable chunk size (a multiple of 256 KiB; Python's `blob.chunk_size`).
    pub fn set_chunk_size(&mut self, size: usize) {
        self.chunk_size = Some(size);
    }

    /// The properties from the last upload or [`reload`](Self::reload).
    pub fn properties(&self) -> Option<&Object> {
        self.properties.as_ref()
    }

    /// The size, once loaded.
    pub fn size(&self) -> Option<u64> {
        self.properties.as_ref().and_then(|p| p.size)
    }

    /// The generation, once loaded.
    pub fn generation(&self) -> Option<i64> {
        self.properties.as_ref().and_then(|p| p.generation).or(self.generation)
    }

    fn insert(&self, default_type: &str) -> crate::upload::InsertObject {
        let mut meta =
            ObjectMetadata::new().content_type(self.content_type.clone().unwrap_or_else(|| default_type.into()));
        for (k, v) in &self.metadata {
            meta = meta.metadata(k, v);
        }
        let mut insert = self.client.insert_object(self.bucket.clone(), self.name.clone()).object_metadata(meta);
        if let Some(c) = self.chunk_size {
            insert = insert.chunk_size(c);
        }
        insert
    }

    /// Uploads a string or bytes (content type `text/plain` unless set, as in Python).
    pub async fn upload_from_string(&mut self, data: impl Into<Bytes>) -> Result<&Object, GcsError> {
        let object = self.insert("text/plain").send_bytes(data.into()).await?;
        Ok(&*self.properties.insert(object))
    }

    /// Uploads everything an `AsyncRead` yields (resumable; one chunk in memory).
    pub async fn upload_from_file<R>(&mut self, reader: R) -> Result<&Object, GcsError>
    where
        R: AsyncRead + Send + Unpin + 'static,
    {
        let object = self.insert("application/octet-stream").send_stream(reader_stream(reader), None).await?;
        Ok(&*self.properties.insert(object))
    }

    /// Uploads a file by path (multipart when small, resumable when large).
    pub async fn upload_from_filename(&mut self, path: impl AsRef<Path>) -> Result<&Object, GcsError> {
        let object = self.insert("application/octet-stream").send_file(path).await?;
        Ok(&*self.properties.insert(object))
    }

    fn download(&self) -> crate::object::DownloadObject {
        let mut d = self.client.download_object(self.bucket.clone(), self.name.clone());
        if let Some(g) = self.generation {
            d = d.generation(g);
        }
        d
    }

    /// Downloads the whole object (CRC32C verified).
    pub async fn download_as_bytes(&self) -> Result<Bytes, GcsError> {
        self.download().send().await?.bytes().await
    }

    /// Downloads the whole object as UTF-8 text.
    pub async fn download_as_text(&self) -> Result<String, GcsError> {
        let bytes = self.download_as_bytes().await?;
        String::from_utf8(bytes.to_vec())
            .map_err(|_| GcsError::decode("objects.get", format!("{} is not valid UTF-8 text", self.name)))
    }

    /// Streams the object into an `AsyncWrite` (resumed after a broken connection, CRC32C
    /// verified at the end); returns the bytes written. On an error the writer holds a partial
    /// object: use [`download_to_filename`](Self::download_to_filename) for files.
    pub async fn download_to_file<W>(&self, writer: &mut W) -> Result<u64, GcsError>
    where
        W: AsyncWrite + Unpin,
    {
        let mut body = self.download().send().await?.body;
        let mut written = 0u64;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| GcsError::from_body_error("objects.get", e))?;
            writer.write_all(&chunk).await.map_err(|e| write_error(None, e))?;
            written += chunk.len() as u64;
        }
        writer.flush().await.map_err(|e| write_error(None, e))?;
        Ok(written)
    }

    /// Downloads to a file path through a temporary file of its own in the same directory
    /// ([`cloudkit_core::PartialFile`]), renamed over `path` only once the whole object has
    /// arrived and been verified. A failed or cancelled (dropped) download removes the temporary
    /// file and leaves `path` as it was; concurrent downloads never share a temporary file.
    pub async fn download_to_filename(&self, path: impl AsRef<Path>) -> Result<u64, GcsError> {
        let path = path.as_ref();
        let mut file = PartialFile::create(path).await.map_err(|e| write_error(Some(path), e))?;
        let written = self.download_to_file(&mut file).await?;
        file.commit().await.map_err(|e| write_error(Some(path), e))?;
        Ok(written)
    }

    /// Whether the object exists.
    pub async fn exists(&self) -> Result<bool, GcsError> {
        match self.client.get_object(self.bucket.clone(), self.name.clone()).send().await {
            Ok(_) => Ok(true),
            Err(GcsError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Reloads the properties.
    pub async fn reload(&mut self) -> Result<&Object, GcsError> {
        let mut get = self.client.get_object(self.bucket.clone(), self.name.clone());
        if let Some(g) = self.generation {
            get = get.generation(g);
        }
        let object = get.send().await?;
        Ok(&*self.properties.insert(object))
    }

    /// Deletes the object.
    pub async fn delete(&self) -> Result<(), GcsError> {
        self.client.delete_object(self.bucket.clone(), self.name.clone()).send().await
    }

    /// A V4 signed URL for `method` (`GET`, `PUT`, …) valid for `expiration` (≤ 7 days).
    pub async fn generate_signed_url(&self, expiration: Duration, method: Method) -> Result<url::Url, GcsError> {
        let signed = self
            .client
            .signed_url(method, &self.bucket, Some(&self.name), expiration, SignedUrlOptions::default())
            .await?;
        Ok(signed.url)
    }
}

/// Writing a download to its destination failed (a local I/O error, not GCS's).
fn write_error(path: Option<&Path>, e: std::io::Error) -> GcsError {
    let message = match path {
        Some(p) => format!("writing the download to {} failed: {e}", p.display()),
        None => format!("writing the download failed: {e}"),
    };
    GcsError::Other(Error::new(ErrorKind::InvalidInput, crate::SERVICE, "objects.get").with_message(message))
}
