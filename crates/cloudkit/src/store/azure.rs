//! The Azure Blob backend of [`ObjectStore`].

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use cloudkit_azure_blob::auth::SasPermissions;
use cloudkit_azure_blob::{
    BlobClient, BlobError, BlobListEntry, BlobProperties, Conditions, ContainerClient, DeleteSnapshots, StorageAuth,
    UploadOptions as BlobUploadOptions,
};
use cloudkit_paginate::PaginationConfig;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::error::from_service_error;
use super::{
    Capabilities, CopyOptions, DeleteResult, Error, GetOptions, GetRange, GetResult, ListOptions, ListResult,
    ObjectKey, ObjectMeta, ObjectStore, PutMode, PutOptions, PutResult, Result, SignedMethod, UploadOptions,
    UploadSource,
};

const BACKEND: &str = "azure";

/// An [`ObjectStore`] on one Azure Blob container (SharedKey, SAS or Entra token clients; works
/// with Azurite).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit::azure_blob::{AzureConfig, BlobServiceClient};
/// use cloudkit::store::{AzureBlobStore, ObjectKey, ObjectStoreExt};
/// let config = AzureConfig::loader().connection_string("UseDevelopmentStorage=true").load().await?;
/// let store = AzureBlobStore::new(BlobServiceClient::new(&config)?.container_client("data"));
/// store.put(&ObjectKey::parse("a/b.txt")?, "hi".into()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct AzureBlobStore {
    container: ContainerClient,
}

impl AzureBlobStore {
    /// A store on this container.
    pub fn new(container: ContainerClient) -> Self {
        Self { container }
    }

    /// The container client.
    pub fn container(&self) -> &ContainerClient {
        &self.container
    }

    fn blob(&self, key: &ObjectKey) -> Result<BlobClient> {
        key.require_object()?;
        Ok(self.container.blob_client(key.as_str()))
    }
}

fn boxed(e: BlobError) -> Option<cloudkit_core::BoxError> {
    Some(Box::new(e))
}

/// Maps a Blob error to the neutral error: Azure's "already exists" and authentication codes
/// (sent with 409 and 403), then what every backend shares.
fn map_error(key: &str, e: BlobError) -> Error {
    match e {
        BlobError::BlobAlreadyExists(_) | BlobError::ContainerAlreadyExists(_) => {
            Error::AlreadyExists { key: key.to_owned(), source: boxed(e) }
        }
        BlobError::AuthenticationFailed(_) => Error::Unauthenticated { message: key.to_owned(), source: boxed(e) },
        other => from_service_error(BACKEND, key, other),
    }
}

fn meta_from(key: &ObjectKey, p: BlobProperties) -> ObjectMeta {
    ObjectMeta {
        key: key.clone(),
        size: p.size,
        last_modified: p.last_modified,
        etag: p.etag,
        content_type: p.content_type,
        metadata: p.metadata.into_iter().collect(),
    }
}

fn conditions_for(mode: &PutMode) -> Conditions {
    match mode {
        PutMode::Overwrite => Conditions::default(),
        PutMode::CreateOnly => Conditions { if_none_match: Some("*".into()), ..Conditions::default() },
        PutMode::IfMatch(etag) => Conditions { if_match: Some(etag.clone()), ..Conditions::default() },
    }
}

fn list_prefix(prefix: &ObjectKey) -> Option<String> {
    (!prefix.is_root()).then(|| format!("{}/", prefix.as_str()))
}

#[async_trait]
impl ObjectStore for AzureBlobStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        let signed_urls = matches!(self.container.service().auth(), StorageAuth::SharedKey(_) | StorageAuth::Token(_));
        Capabilities {
            conditional_put: true,
            copy_create_only: true,
            atomic_rename: false,
            signed_urls,
            metadata: true,
        }
    }

    async fn put_opts(&self, key: &ObjectKey, payload: Bytes, options: PutOptions) -> Result<PutResult> {
        let blob = self.blob(key)?;
        options.validate()?;
        let mut put = blob.put(payload).conditions(conditions_for(&options.mode)).metadata_map(options.metadata);
        if let Some(ct) = options.content_type {
            put = put.content_type(ct);
        }
        let r = put.send().await.map_err(|e| map_error(key.as_str(), e))?;
        Ok(PutResult { etag: r.etag })
    }

    async fn upload(&self, key: &ObjectKey, source: UploadSource, options: UploadOptions) -> Result<PutResult> {
        let blob = self.blob(key)?;
        options.put.validate()?;
        let opts = BlobUploadOptions {
            block_size: options.part_size.max(1),
            concurrency: options.concurrency.max(1),
            content_type: options.put.content_type.clone(),
            metadata: options.put.metadata.clone(),
            conditions: conditions_for(&options.put.mode),
            progress: None,
        };
        let r = blob.upload(source, opts).await.map_err(|e| map_error(key.as_str(), e))?;
        Ok(PutResult { etag: r.etag })
    }

    async fn get_opts(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        let blob = self.blob(key)?;
        let mut req = blob.get();
        if let Some(m) = &options.if_match {
            req = req.if_match(m.clone());
        }
        if let Some(m) = &options.if_none_match {
            req = req.if_none_match(m.clone());
        }
        options.check_range(key)?;
        match &options.range {
            None => {}
            Some(GetRange::Bounded(r)) => req = req.range(r.start..=r.end - 1),
            Some(GetRange::Offset(o)) => req = req.range_from(*o),
            Some(GetRange::Suffix(n)) => {
                // Blob storage has no suffix ranges: resolve against the current size.
                let size = blob.get_properties().await.map_err(|e| map_error(key.as_str(), e))?.size;
                let r =
                    GetRange::Suffix(*n).resolve(size).ok_or_else(|| Error::InvalidRange { key: key.to_string() })?;
                req = req.range(r.start..=r.end - 1);
            }
        }
        let resp = req.send().await.map_err(|e| map_error(key.as_str(), e))?;
        let range = resp.range.clone();
        Ok(GetResult { meta: meta_from(key, resp.properties), range, body: resp.body })
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        let blob = self.blob(key)?;
        let p = blob.get_properties().await.map_err(|e| map_error(key.as_str(), e))?;
        Ok(meta_from(key, p))
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        let blob = self.blob(key)?;
        match blob.delete(DeleteSnapshots::Include, &Conditions::default()).await {
            Ok(()) | Err(BlobError::BlobNotFound(_) | BlobError::NotFound(_)) => Ok(()),
            Err(e) => Err(map_error(key.as_str(), e)),
        }
    }

    fn delete_stream(&self, keys: BoxStream<'static, ObjectKey>) -> BoxStream<'static, DeleteResult> {
        super::delete_each(self.clone(), keys, 16)
    }

    fn list_opts(&self, prefix: &ObjectKey, options: ListOptions) -> BoxStream<'static, Result<ObjectMeta>> {
        let mut req = self.container.list_blobs();
        if let Some(p) = list_prefix(prefix) {
            req = req.prefix(p);
        }
        let after = options.start_after.map(|k| k.as_str().to_owned());
        req.into_items(PaginationConfig::default())
            .map_err(|e| map_error("list", BlobError::from(e)))
            .try_filter_map(move |entry| {
                let after = after.clone();
                async move {
                    let BlobListEntry::Blob(b) = entry else { return Ok(None) };
                    if after.as_deref().is_some_and(|a| b.name.as_str() <= a) {
                        return Ok(None);
                    }
                    let key = ObjectKey::parse(b.name.clone())?;
                    Ok(Some(ObjectMeta {
                        key,
                        size: b.size,
                        last_modified: b.last_modified,
                        etag: b.etag,
                        content_type: b.content_type,
                        metadata: Default::default(),
                    }))
                }
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: &ObjectKey) -> Result<ListResult> {
        let mut req = self.container.list_blobs_hierarchical("/");
        if let Some(p) = list_prefix(prefix) {
            req = req.prefix(p);
        }
        let entries: Vec<BlobListEntry> = req
            .into_items(PaginationConfig::default())
            .try_collect()
            .await
            .map_err(|e| map_error(prefix.as_str(), BlobError::from(e)))?;
        let mut result = ListResult::default();
        for e in entries {
            match e {
                BlobListEntry::Blob(b) => result.objects.push(ObjectMeta {
                    key: ObjectKey::parse(b.name)?,
                    size: b.size,
                    last_modified: b.last_modified,
                    etag: b.etag,
                    content_type: b.content_type,
                    metadata: Default::default(),
                }),
                BlobListEntry::Prefix(p) => result.common_prefixes.push(ObjectKey::parse(p.trim_end_matches('/'))?),
                _ => {}
            }
        }
        Ok(result)
    }

    async fn copy_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        let src = self.blob(from)?;
        let dst = self.blob(to)?;
        let conditions = if options.create_only {
            Conditions { if_none_match: Some("*".into()), ..Conditions::default() }
        } else {
            Conditions::default()
        };
        match dst.copy_from_url(&src.url(), &conditions).await {
            Ok(_) => Ok(()),
            Err(e @ (BlobError::ConditionNotMet(_) | BlobError::BlobAlreadyExists(_))) if options.create_only => {
                Err(Error::AlreadyExists { key: to.to_string(), source: boxed(e) })
            }
            Err(e) => Err(map_error(from.as_str(), e)),
        }
    }

    async fn rename_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        self.copy_opts(from, to, options).await?;
        self.delete(from).await
    }

    async fn signed_url(&self, method: SignedMethod, key: &ObjectKey, expires_in: Duration) -> Result<url::Url> {
        let blob = self.blob(key)?;
        if expires_in > Duration::from_secs(7 * 24 * 3600) {
            return Err(Error::invalid_input("signed URLs expire after at most 7 days"));
        }
        let permissions = match method {
            SignedMethod::Get | SignedMethod::Head => SasPermissions::none().read(),
            SignedMethod::Put => SasPermissions::none().create().write(),
            SignedMethod::Delete => SasPermissions::none().delete(),
        };
        let expiry = SystemTime::now() + expires_in;
        match self.container.service().auth() {
            StorageAuth::SharedKey(_) => blob.sas_url(permissions, expiry).map_err(|e| map_error(key.as_str(), e)),
            StorageAuth::Token(_) => {
                blob.user_delegation_sas_url(permissions, expiry).await.map_err(|e| map_error(key.as_str(), e))
            }
            _ => {
                Err(Error::NotSupported { operation: "signed URLs without an account key or token", backend: BACKEND })
            }
        }
    }
}
