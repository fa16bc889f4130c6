//! Streaming uploads of any size to S3 through the managed transfer (multipart above one part,
//! `part_size × concurrency` bytes in memory at most, aborted on failure), and parallel downloads
//! to a file.

use cloudkit_aws_s3::{S3Error, TransferConfig, TransferError, TransferManager};
use tokio_util::io::StreamReader;

use super::s3::{S3Store, map_s3_error};
use super::{Error, ObjectKey, PutMode, PutResult, Result, UploadOptions, UploadSource};

pub(crate) async fn upload(
    store: &S3Store,
    key: &ObjectKey,
    source: UploadSource,
    options: UploadOptions,
) -> Result<PutResult> {
    let mut config = TransferConfig::default().with_concurrency(options.concurrency.max(1));
    if let Some(size) = options.part_size {
        config = config.with_multipart_threshold(size as u64).with_part_size(size as u64);
    }
    let transfers = TransferManager::with_config(store.client().clone(), config);
    let mut upload = transfers.upload_reader(store.bucket(), key.as_str(), StreamReader::new(source));
    if let Some(ct) = &options.put.content_type {
        upload = upload.content_type(ct.clone());
    }
    for (k, v) in &options.put.metadata {
        upload = upload.metadata(k.clone(), v.clone());
    }
    let create_only = options.put.mode == PutMode::CreateOnly;
    upload = match (&options.put.mode, store.capabilities_conditional_put()) {
        (PutMode::Overwrite, _) => upload,
        (_, false) => return Err(Error::NotSupported { operation: "conditional upload", backend: "s3" }),
        (PutMode::CreateOnly, true) => upload.if_none_match_any(),
        (PutMode::IfMatch(etag), true) => upload.if_match(etag.clone()),
    };
    match upload.send().await {
        Ok(out) => Ok(PutResult { etag: out.e_tag }),
        Err(TransferError::S3(S3Error::PreconditionFailed(e))) if create_only => {
            Err(Error::AlreadyExists { key: key.to_string(), source: Some(Box::new(e)) })
        }
        Err(e) => Err(map_transfer_error(key, e)),
    }
}

/// [`ObjectStore::download_file`](super::ObjectStore::download_file) on S3: the transfer
/// manager's parallel ranged GETs into a temporary file, verified and pinned to the first ETag.
pub(crate) async fn download_file(
    store: &S3Store,
    key: &ObjectKey,
    path: &std::path::Path,
    options: super::DownloadOptions,
) -> Result<u64> {
    let mut config = TransferConfig::default().with_concurrency(options.concurrency.max(1));
    config.progress = options.progress;
    let transfers = TransferManager::with_config(store.client().clone(), config);
    match transfers.download(store.bucket(), key.as_str()).to_file(path).await {
        Ok(out) => Ok(out.size),
        Err(e) => Err(map_transfer_error(key, e)),
    }
}

/// A managed transfer's error as the store's.
fn map_transfer_error(key: &ObjectKey, e: TransferError) -> Error {
    match e {
        TransferError::S3(e) => map_s3_error(key.as_str(), e),
        TransferError::Io { source, .. } => Error::Transport { backend: "s3", source: Box::new(source) },
        e => Error::Provider { backend: "s3", source: Box::new(e) },
    }
}
