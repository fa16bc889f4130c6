//! boto3-style resource handles: [`Container`] and [`Blob`].

use std::path::Path;

use bytes::Bytes;

use crate::blob::{BlobClient, BlobProperties, Conditions, DeleteSnapshots, WriteResult};
use crate::container::{ContainerClient, ContainerProperties};
use crate::error::{BlobError, Result};
use crate::transfer::{DownloadOptions, UploadOptions, UploadStream};

/// A container handle.
#[derive(Clone, Debug)]
pub struct Container {
    client: ContainerClient,
    properties: Option<ContainerProperties>,
}

impl Container {
    /// A handle (nothing is fetched).
    pub fn new(client: ContainerClient) -> Self {
        Self { client, properties: None }
    }
    /// The name.
    pub fn name(&self) -> &str {
        self.client.name()
    }
    /// The client.
    pub fn client(&self) -> &ContainerClient {
        &self.client
    }
    /// Properties from the last `reload`.
    pub fn properties(&self) -> Option<&ContainerProperties> {
        self.properties.as_ref()
    }
    /// Fetches the properties.
    pub async fn reload(&mut self) -> Result<()> {
        self.properties = Some(self.client.get_properties().await?);
        Ok(())
    }
    /// Creates the container if it does not exist.
    pub async fn create_if_not_exists(&self) -> Result<bool> {
        match self.client.create().send().await {
            Ok(()) => Ok(true),
            Err(BlobError::ContainerAlreadyExists(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }
    /// Deletes the container.
    pub async fn delete(&self) -> Result<()> {
        self.client.delete().await
    }
    /// A blob handle.
    pub fn blob(&self, name: impl Into<String>) -> Blob {
        Blob::new(self.client.blob_client(name))
    }
}

/// A blob handle with upload/download helpers.
#[derive(Clone, Debug)]
pub struct Blob {
    client: BlobClient,
    properties: Option<BlobProperties>,
}

impl Blob {
    /// A handle (nothing is fetched).
    pub fn new(client: BlobClient) -> Self {
        Self { client, properties: None }
    }
    /// The name.
    pub fn name(&self) -> &str {
        self.client.name()
    }
    /// The client.
    pub fn client(&self) -> &BlobClient {
        &self.client
    }
    /// Properties from the last `reload`.
    pub fn properties(&self) -> Option<&BlobProperties> {
        self.properties.as_ref()
    }
    /// Fetches the properties.
    pub async fn reload(&mut self) -> Result<()> {
        self.properties = Some(self.client.get_properties().await?);
        Ok(())
    }
    /// Whether it exists.
    pub async fn exists(&self) -> Result<bool> {
        self.client.exists().await
    }
    /// Uploads bytes.
    pub async fn upload_bytes(&self, data: impl Into<Bytes>, options: UploadOptions) -> Result<WriteResult> {
        self.client.upload_bytes(data.into(), options).await
    }
    /// Uploads a file.
    pub async fn upload_file(&self, path: impl AsRef<Path>, options: UploadOptions) -> Result<WriteResult> {
        self.client.upload_file(path, options).await
    }
    /// Uploads from a reader.
    pub async fn upload_reader<R: tokio::io::AsyncRead + Send + Unpin + 'static>(
        &self,
        reader: R,
        options: UploadOptions,
    ) -> Result<WriteResult> {
        self.client.upload_reader(reader, options).await
    }
    /// Uploads a stream.
    pub async fn upload_stream(&self, stream: UploadStream, options: UploadOptions) -> Result<WriteResult> {
        self.client.upload(stream, options).await
    }
    /// Downloads into memory.
    pub async fn download_to_bytes(&self, options: DownloadOptions) -> Result<Bytes> {
        self.client.download_to_bytes(options).await
    }
    /// Downloads into a file.
    pub async fn download_to_file(&self, path: impl AsRef<Path>, options: DownloadOptions) -> Result<u64> {
        self.client.download_to_file(path, options).await
    }
    /// Downloads into a writer.
    pub async fn download_to_writer<W: tokio::io::AsyncWrite + Unpin>(
        &self,
        writer: &mut W,
        options: DownloadOptions,
    ) -> Result<u64> {
        self.client.download_to_writer(writer, options).await
    }
    /// Deletes the blob and its snapshots.
    pub async fn delete(&self) -> Result<()> {
        self.client.delete(DeleteSnapshots::Include, &Conditions::default()).await
    }
}
