//! # cloudkit-azure-blob
//!
//! Azure Blob Storage, 1:1 with the REST API, on cloudkit's shared pipeline (retries, timeouts,
//! typed errors). Authenticates with SharedKey (account key or connection string), a SAS, or
//! Entra tokens (`cloudkit_cred_chain::azure::DefaultAzureCredential`), and works against
//! Azurite (plain http, path-style URLs, `UseDevelopmentStorage=true`).
//!
//! - [`BlobServiceClient`]: list containers, service properties, user delegation keys.
//! - [`ContainerClient`]: create/delete/properties/metadata/exists, flat and hierarchical listings.
//! - [`BlobClient`]: Put Blob, Get Blob (streaming, ranges, conditions), properties, metadata,
//!   delete, copy, blocks, parallel upload/download, SAS URLs.
//! - [`Container`] / [`Blob`]: resource handles with upload/download helpers and progress.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cloudkit_azure_blob::BlobError> {
//! use cloudkit_azure_blob::{BlobServiceClient, DownloadOptions, UploadOptions};
//! let service = BlobServiceClient::from_env()?; // AZURE_STORAGE_CONNECTION_STRING
//! let blob = service.blob_client("data", "big.bin");
//! blob.upload_file("big.bin", UploadOptions { block_size: 16 << 20, concurrency: 8, ..Default::default() }).await?;
//! let n = blob.download_to_file("copy.bin", DownloadOptions::default()).await?;
//! # let _ = n; Ok(()) }
//! ```

mod blob;
mod client;
mod container;
mod error;
mod model;
mod resource;
mod service;
mod transfer;

pub use blob::{
    AccessTier, BlobClient, BlobProperties, Conditions, DeleteSnapshots, GetBlobRequest, GetBlobResponse,
    PutBlobRequest, PutBlockListRequest, WriteResult, md5_base64,
};
pub use client::{BlobAuth, BlobClientConfig, BlobServiceClient, CONNECTION_STRING_ENV};
pub use container::{ContainerClient, ContainerProperties, CreateContainerRequest, ListBlobsRequest, PublicAccess};
pub use error::{AzureErrorParser, BlobError, Result};
pub use model::{BlobItem, BlobListEntry, ContainerItem, ListBlobsPage, ListContainersPage};
pub use resource::{Blob, Container};
pub use service::ListContainersRequest;
pub use transfer::{DownloadOptions, Progress, UploadOptions, UploadStream};

/// Re-export of the signer's Azure module (keys, SAS builders, connection strings).
pub use cloudkit_signer::azure as auth;

/// The service name in errors and logs.
pub const SERVICE: &str = "AzureBlob";
