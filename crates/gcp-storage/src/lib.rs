//! # cloudkit-gcp-storage
//!
//! Google Cloud Storage over the JSON API, on cloudkit's shared pipeline (retries, timeouts,
//! typed errors) with google-cloud-auth credentials — and the GCS emulator when
//! `STORAGE_EMULATOR_HOST` is set, as the official SDKs do.
//!
//! - Construction: [`StorageClient::new`] from a loaded `GcpConfig`, or
//!   [`StorageClient::builder`] for overrides (endpoint, HTTP client, retries, timeouts, upload
//!   settings, checksum verification, blob signer, project).
//! - [`StorageClient`]: one method per operation, 1:1 with the JSON API: buckets
//!   ([`insert_bucket`](StorageClient::insert_bucket), [`get_bucket`](StorageClient::get_bucket),
//!   [`list_buckets`](StorageClient::list_buckets), [`delete_bucket`](StorageClient::delete_bucket),
//!   [`patch_bucket`](StorageClient::patch_bucket)), objects
//!   ([`insert_object`](StorageClient::insert_object): media, multipart and resumable uploads;
//!   [`download_object`](StorageClient::download_object) with ranges, generations and
//!   preconditions; [`get_object`](StorageClient::get_object),
//!   [`list_objects`](StorageClient::list_objects) (`send`, `into_pages`, `into_items`),
//!   [`delete_object`](StorageClient::delete_object), [`patch_object`](StorageClient::patch_object),
//!   [`rewrite_object`](StorageClient::rewrite_object), [`compose_object`](StorageClient::compose_object)),
//!   and V4 [`signed_url`](StorageClient::signed_url)s.
//! - Integrity: CRC32C and MD5 are sent with uploads and checked against what GCS stored, also
//!   when a resumable session is found complete by a status query; whole-object downloads are
//!   verified, across resumes.
//! - Faults: a download that breaks off resumes from the last byte received, pinned to the
//!   generation first read (a replaced object is [`GcsError::ObjectChanged`], never spliced); a
//!   resumable session that stops taking bytes ends with [`GcsError::UploadStalled`]; a resent
//!   conditional insert that meets its own earlier write returns it instead of a false 412.
//! - Safety: bucket and object names are one URL path segment each (`.` and `..` are refused);
//!   bearer tokens go over https only, except to the `STORAGE_EMULATOR_HOST` emulator.
//! - [`GcsError`]: `NotFound`, `Conflict`, `PreconditionFailed`, `Forbidden`, `Throttled`, …
//! - [`resource`]: Python-shaped handles, `client.bucket("b").blob("hello.txt")`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_cred_chain::gcp::GcpConfig;
//! use cloudkit_gcp_storage::StorageClient;
//!
//! let client = StorageClient::new(&GcpConfig::loader().load().await?)?;
//! let mut blob = client.bucket("my-bucket").blob("hello.txt");
//! blob.upload_from_string("Hello, World!").await?;
//! println!("{}", blob.download_as_text().await?);
//! # Ok(()) }
//! ```

mod bucket;
mod checksum;
mod client;
mod error;
mod list;
mod object;
pub mod resource;
mod types;
mod upload;

#[cfg(test)]
mod futures_are_send;
#[cfg(test)]
mod tests;

pub use bucket::{InsertBucket, PatchBucket};
pub use checksum::crc32c_base64;
pub use client::{CHUNK_QUANTUM, ClientBuilder, SignedUrlOptions, StorageClient, UploadSettings};
pub use error::{GCS_RETRY_CLASSIFIER, GcsError, GcsErrorParser};
pub use list::{ListBuckets, ListBucketsOutput, ListObjects, ListObjectsOutput};
pub use object::{
    ByteRange, ComposeObject, DeleteObject, Download, DownloadObject, GetObject, PatchObject, RewriteObject,
    RewriteResponse,
};
pub use resource::{Blob, BucketHandle};
pub use types::{Bucket, Object, ObjectMetadata, Preconditions};
pub use upload::{InsertObject, ResumableUpload, UploadStatus, UploadType};

/// The base64 MD5 of some bytes, as GCS's `md5Hash` carries it (core's, re-exported).
pub use cloudkit_core::md5_base64;
/// Pagination settings and errors of the list paginators, re-exported.
pub use cloudkit_paginate::{PaginationConfig, PaginationError, PaginationErrorKind};
/// Signed-URL types, re-exported.
pub use cloudkit_signer::gcp::{
    PolicyCondition, PostPolicy, PostPolicyRequest, ServiceAccountKey, SignedUrl, UrlStyle,
};

/// The service name in errors and logs.
pub const SERVICE: &str = "GCS";
