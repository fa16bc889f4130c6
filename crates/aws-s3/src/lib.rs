//! # cloudkit-aws-s3
//!
//! The Amazon S3 client of cloudkit: one async method per S3 REST operation, builder-style
//! inputs, typed outputs and typed errors, on cloudkit's shared pipeline (SigV4 signing on
//! every attempt, retries with backoff and a retry quota, timeouts).
//!
//! - Buckets: [`S3Client::list_buckets`], [`S3Client::create_bucket`], [`S3Client::delete_bucket`],
//!   [`S3Client::head_bucket`], [`S3Client::get_bucket_location`].
//! - Objects: [`S3Client::put_object`], [`S3Client::get_object`] (streaming [`ByteStream`] body),
//!   [`S3Client::head_object`], [`S3Client::delete_object`], [`S3Client::delete_objects`],
//!   [`S3Client::copy_object`], [`S3Client::get_object_tagging`], [`S3Client::put_object_tagging`].
//! - Listing: [`S3Client::list_objects_v2`], [`S3Client::list_multipart_uploads`],
//!   [`S3Client::list_parts`], each with `send()` for one page and `into_pages()` / `into_items()`
//!   streams built on `cloudkit-paginate`.
//! - Multipart: [`S3Client::create_multipart_upload`], [`S3Client::upload_part`] (a
//!   [`FileRegion`] body streams from disk),
//!   [`S3Client::upload_part_copy`], [`S3Client::complete_multipart_upload`],
//!   [`S3Client::abort_multipart_upload`].
//! - Checksums ([`ChecksumMode`]): CRC32C sent on PutObject/UploadPart and full-object
//!   checksums verified on GetObject by default on AWS; only what S3 requires on custom
//!   endpoints (S3-compatible stores differ — the AWS SDKs' January 2025 default broke many).
//! - Addressing ([`AddressingStyle`]): virtual-hosted on AWS, path-style on custom endpoints and
//!   for bucket names that cannot be a DNS label (dots under https, uppercase, …).
//! - Presigned GET/PUT/HEAD/DELETE URLs ([`S3Client::presign_get_object`] …).
//! - Waiters ([`S3Client::wait_until_bucket_exists`] …) with the official acceptors.
//!
//! [`ByteStream`]: cloudkit_core::ByteStream
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_aws_s3::S3Client;
//! use cloudkit_cred_chain::aws::AwsConfig;
//!
//! let config = AwsConfig::loader().load().await?;
//! let s3 = S3Client::new(&config)?;
//! s3.put_object("my-bucket", "hello.txt").body("hello").send().await?;
//! let hello = s3.get_object("my-bucket", "hello.txt").send().await?.collect().await?;
//! assert_eq!(&hello[..], b"hello");
//! # Ok(()) }
//! ```

mod addressing;
mod bucket;
mod checksum;
mod client;
mod crc_tables;
mod error;
mod list;
mod model;
mod multipart;
mod object;
mod presign;
pub mod resource;
mod transfer;
mod types;
mod waiters;

#[cfg(test)]
mod futures_are_send;
#[cfg(test)]
mod tests;

/// The service name in errors and logs.
pub const SERVICE: &str = "S3";

pub use addressing::{AddressingStyle, encode_key, encode_query, is_dns_compatible};
pub use bucket::{
    BucketSummary, CreateBucket, CreateBucketOutput, HeadBucketOutput, ListBuckets, ListBucketsOutput, Owner,
};
pub use checksum::{ChecksumAlgorithm, ChecksumMode};
pub use client::{ClientBuilder, S3Client};
pub use error::S3Error;
pub use list::{
    CommonPrefix, ListEntry, ListMultipartUploads, ListMultipartUploadsOutput, ListObjectsV2, ListObjectsV2Output,
    ListParts, ListPartsOutput, MultipartUpload, Object, Part,
};
pub use multipart::{
    AbortMultipartUpload, CompleteMultipartUpload, CompleteMultipartUploadOutput, CompletedPart, CreateMultipartUpload,
    CreateMultipartUploadOutput, MAX_PART_NUMBER, UploadPart, UploadPartCopy, UploadPartCopyOutput, UploadPartOutput,
};
pub use object::{
    CopyObject, CopyObjectOutput, DeleteObject, DeleteObjectError, DeleteObjectOutput, DeleteObjects,
    DeleteObjectsOutput, DeletedObject, GetObject, GetObjectOutput, HeadObject, MAX_DELETE_OBJECTS, ObjectIdentifier,
    PutObject, PutObjectOutput, collect_body, encode_tagging,
};
pub use presign::PresignObject;
pub use resource::Bucket;
pub use transfer::{
    Download, DownloadOutput, MAX_PART_SIZE, MIN_PART_SIZE, TransferConfig, TransferError, TransferManager, Upload,
    UploadOutput,
};
pub use types::{CopySource, MAX_USER_METADATA_BYTES, MetadataDirective, ObjectMetadata, ServerSideEncryption, Tag};
pub use waiters::{BucketWaiter, ObjectWaiter, default_waiter_config};

/// Re-exports used in this crate's API (the same types as in `cloudkit-core`, `cloudkit-paginate`
/// and `cloudkit-signer`).
pub use cloudkit_core::{Body, ByteStream, Bytes, ChecksumMismatchError, FileRegion, Progress, ProgressCallback};
pub use cloudkit_paginate::PaginationConfig;
pub use cloudkit_signer::aws::PresignedRequest;
