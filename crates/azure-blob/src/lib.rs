//! # cloudkit-azure-blob
//!
//! Azure Blob Storage, 1:1 with the REST API, on cloudkit's shared pipeline (retries with the
//! Blob service's classifier, timeouts, typed errors). Built from an [`AzureConfig`], which
//! resolves the account and how requests are authorized ([`StorageAuth`]: SharedKey from an
//! account key or connection string, a SAS, Entra tokens from
//! `cloudkit_cred_chain::azure::DefaultAzureCredential`, or anonymous); works against Azurite
//! (plain http, path-style URLs, `UseDevelopmentStorage=true`).
//!
//! - [`BlobServiceClient`]: list containers, service properties, user delegation keys.
//! - [`ContainerClient`]: create/delete/properties/metadata/exists, flat and hierarchical listings
//!   (`send()` for one page, `into_pages` / `into_items`).
//! - [`BlobClient`]: Put Blob, Get Blob (streaming, ranges, conditions), properties, metadata,
//!   delete, copy (with the [`BlobClient::wait_until_copy_complete`] waiter), blocks, parallel
//!   upload/download with [`Progress`](cloudkit_core::Progress), SAS URLs.
//! - [`Container`] / [`Blob`]: resource handles with upload/download helpers.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_azure_blob::{AzureConfig, BlobServiceClient, DownloadOptions, UploadOptions};
//! // AZURE_STORAGE_CONNECTION_STRING, else AZURE_STORAGE_ACCOUNT with a key, a SAS or Entra tokens
//! let config = AzureConfig::loader().load().await?;
//! let service = BlobServiceClient::new(&config)?;
//! let blob = service.blob_client("data", "big.bin");
//! blob.upload_file("big.bin", UploadOptions { block_size: 16 << 20, concurrency: 8, ..Default::default() }).await?;
//! let n = blob.download_to_file("copy.bin", DownloadOptions::default()).await?;
//! # let _ = n; Ok(()) }
//! ```

mod blob;
mod client;
mod container;
mod error;
mod list;
mod model;
mod resource;
mod service;
mod transfer;
mod waiters;

#[cfg(test)]
mod futures_are_send;
#[cfg(test)]
mod tests;

pub use blob::{
    AccessTier, BlobClient, BlobProperties, Conditions, CopyBlobResult, DeleteSnapshots, GetBlobRequest,
    GetBlobResponse, MAX_RANGE_MD5, PutBlobRequest, PutBlockListRequest, WriteResult,
};
pub use client::{BlobServiceClient, ClientBuilder};
pub use container::{ContainerClient, ContainerProperties, CreateContainerRequest, PublicAccess};
pub use error::{AZURE_RETRY_CLASSIFIER, AzureErrorParser, BlobError, Result};
pub use list::{ListBlobsRequest, ListContainersRequest};
pub use model::{
    BlobItem, BlobListEntry, Block, BlockList, BlockListType, ContainerItem, ListBlobsPage, ListContainersPage,
};
pub use resource::{Blob, Container};
pub use transfer::{DownloadOptions, UploadOptions, UploadStream};
pub use waiters::{CopyWaiter, default_copy_waiter_config};

/// Re-export of the configuration every Blob client is built from, and its authorization choice.
pub use cloudkit_cred_chain::azure::{AzureConfig, StorageAuth};
/// Re-export of the signer's Azure module (keys, SAS builders, connection strings).
pub use cloudkit_signer::azure as auth;

/// The service name in errors and logs.
pub const SERVICE: &str = "AzureBlob";
