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
//! - Checksums ([`ChecksumMode`]): CRC32C sent on PutObject/UploadPart by default on AWS; on
//!   custom endpoints only on file bodies, which nothing else protects (S3-compatible stores
//!   differ — the AWS SDKs' January 2025 default broke many). Downloads ask for checksums and
//!   verify them in both (GetObject over the whole object, the [`TransferManager`] over parallel
//!   parts or part by part).
//! - Downloads survive broken connections: a GetObject body that breaks off resumes from the last
//!   byte with a ranged GET pinned by `If-Match` to the ETag first read ([`GetObject::send`]); an
//!   object replaced in between is [`S3Error::ObjectChanged`], never a spliced body.
//! - Addressing ([`AddressingStyle`]): virtual-hosted on AWS, path-style on custom endpoints and
//!   for bucket names that cannot be a DNS label (dots under https, uppercase, …).
//! - Presigned GET/PUT/HEAD/DELETE URLs ([`S3Client::presign_get_object`] …).
//! - Waiters ([`S3Client::wait_until_bucket_exists`] …) with the official acceptors.
//! - boto3-style file transfers and resources, in boto3's argument order with the file as a
//!   [`Path`](std::path::Path): [`S3Client::upload_file`] (`file, bucket, key`),
//!   [`S3Client::download_file`] (`bucket, key, file`), the [`TransferManager`], and the
//!   [`S3Resource`] / [`Bucket`] / [`resource::Object`] handles (see [`resource`]).
//!
//! [`ByteStream`]: cloudkit_core::ByteStream
//!
//! ## Checksums on S3-compatible stores
//!
//! Uploads send checksums as request headers (`x-amz-checksum-crc32c` with
//! `x-amz-sdk-checksum-algorithm: CRC32C`), never as `aws-chunked` trailers. On a custom endpoint
//! ([`ChecksumMode::WhenRequired`]) a PutObject carries one; in-memory bodies are also covered by
//! the signed `x-amz-content-sha256`, file bodies by nothing else.
//!
//! Managed multipart uploads ([`TransferManager`], unless [`ChecksumMode::Off`]) are created with
//! `x-amz-checksum-algorithm: CRC32` and `x-amz-checksum-type: FULL_OBJECT`; every part carries
//! its CRC32 and the completion the CRC32 of the whole object, combined from the parts'. The
//! object then has one checksum of all its bytes that any download can verify, also over
//! parallel byte ranges (a composite checksum can only be verified part by part, which stores
//! that ignore `partNumber` cannot serve). CRC32 rather than CRC32C because moto, without its
//! optional `crc32c` package, stores a CRC32 under the name CRC32C for such uploads. Every
//! managed multipart upload also records its part size in the object's user metadata
//! ([`PART_SIZE_METADATA`], `x-amz-meta-cloudkit-part-size`, visible to other clients as one more
//! metadata entry): where a store keeps no checksum for multipart objects, a download recomputes
//! the multipart ETag (`md5(md5(part 1) ‖ … ‖ md5(part N))-N`) from the bytes — only for ETags
//! of that form, with that metadata, on objects not encrypted with SSE-KMS or SSE-C, and never for
//! objects someone else uploaded ([`Verified::MultipartETag`]). What the stores the tests run
//! against do (checked by the integration tests):
//!
//! | store | upload checksum headers | download checksums (`x-amz-checksum-mode: ENABLED`) |
//! |---|---|---|
//! | AWS S3 | checked; a mismatch is refused (`BadDigest`); `FULL_OBJECT` for CRC32/CRC32C/CRC64NVME | full-object on whole GETs (and managed multipart uploads); per part on `partNumber` GETs of composite objects |
//! | s3s-fs 0.14 | PutObject: checked (`BadDigest`) and stored; UploadPart: checked; `x-amz-checksum-type` and the completion's checksum ignored | on whole GETs and HEAD for single-PUT objects; none for multipart objects, whose ETag follows S3's convention (verified with the recorded part size) |
//! | moto 5 | accepted and stored, not checked; `FULL_OBJECT` honoured (the value computed by moto) | on whole GETs and HEAD, with `x-amz-checksum-type`; HEAD gives a composite value without its `-N` (not trusted); `partNumber` is ignored (the whole object comes back) |
//!
//! MinIO, Ceph RGW (Squid and later) and Cloudflare R2 document support for
//! `x-amz-checksum-crc32c` headers (not tested here); a store that rejects them needs
//! [`ChecksumMode::Off`] (and `content_md5(true)` on PutObject, which S3-compatible stores check).
//! A store that ignores `partNumber` or sends the object's checksum on a part (MinIO) is
//! detected: the [`TransferManager`] then downloads by byte ranges, verified against the ETag
//! when it can be, else unverified (an error under [`ChecksumMode::Required`]).
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
pub use checksum::{ChecksumAlgorithm, ChecksumMode, ChecksumType, PART_SIZE_METADATA, Verified};
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
pub use resource::{Bucket, S3Resource};
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
