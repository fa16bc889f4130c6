//! # cloudkit-aws-s3
//!
//! The Amazon S3 client of cloudkit: one async method per S3 REST operation, builder-style
//! inputs, typed outputs and typed errors, on cloudkit's shared pipeline (SigV4 signing on
//! every attempt, retries with backoff and a retry quota, timeouts).
//!
//! - Buckets: [`Client::list_buckets`], [`Client::create_bucket`], [`Client::delete_bucket`],
//!   [`Client::head_bucket`], [`Client::get_bucket_location`].
//! - Objects: [`Client::put_object`], [`Client::get_object`] (streaming [`ByteStream`] body),
//!   [`Client::head_object`], [`Client::delete_object`], [`Client::delete_objects`],
//!   [`Client::copy_object`], [`Client::get_object_tagging`], [`Client::put_object_tagging`].
//! - Listing: [`Client::list_objects_v2`], [`Client::list_multipart_uploads`],
//!   [`Client::list_parts`], each with `send()` for one page and `into_pages()` / `into_items()`
//!   streams built on `cloudkit-paginate`.
//! - Multipart: [`Client::create_multipart_upload`], [`Client::upload_part`] (a
//!   [`FileRegion`] body streams from disk),
//!   [`Client::upload_part_copy`], [`Client::complete_multipart_upload`],
//!   [`Client::abort_multipart_upload`].
//! - Checksums ([`ChecksumMode`]): CRC32C sent on PutObject/UploadPart and full-object
//!   checksums verified on GetObject by default on AWS; only what S3 requires on custom
//!   endpoints (S3-compatible stores differ — the AWS SDKs' January 2025 default broke many).
//! - Addressing ([`AddressingStyle`]): virtual-hosted on AWS, path-style on custom endpoints and
//!   for bucket names that cannot be a DNS label (dots under https, uppercase, …).
//! - Presigned GET/PUT/HEAD/DELETE URLs ([`Client::presign_get_object`] …).
//! - Waiters ([`Client::wait_until_bucket_exists`] …) with the official acceptors.
//!
//! [`ByteStream`]: cloudkit_core::ByteStream

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
mod types;
mod waiters;

pub use addressing::{AddressingStyle, encode_key, encode_query, is_dns_compatible};
pub use bucket::{
    BucketSummary, CreateBucket, CreateBucketOutput, HeadBucketOutput, ListBuckets, ListBucketsOutput, Owner,
};
pub use checksum::{ChecksumAlgorithm, ChecksumMismatchError, ChecksumMode};
pub use client::{Client, ClientBuilder};
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
pub use types::{CopySource, MAX_USER_METADATA_BYTES, MetadataDirective, ObjectMetadata, ServerSideEncryption, Tag};

/// Re-exports used in this crate's API.
pub use cloudkit_core::{Body, ByteStream, Bytes, FileRegion};
pub use cloudkit_paginate::PaginationConfig;
pub use cloudkit_signer::aws::PresignedRequest;
pub use presign::PresignObject;
pub use waiters::{BucketWaiter, ObjectWaiter, default_waiter_config};

#[cfg(test)]
mod tests;

// Managed transfers and the boto3-style resource API (S3-TRANSFER).
pub mod resource;
mod transfer;
pub use resource::Bucket;
pub use transfer::{
    Download, DownloadOutput, MAX_PART_SIZE, MIN_PART_SIZE, Progress, ProgressCallback, TransferConfig, TransferError,
    TransferManager, Upload, UploadOutput,
};
