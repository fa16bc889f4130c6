//! The Azure Blob backend of [`ObjectStore`].

use std::path::Path;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::Bytes;
use cloudkit_azure_blob::auth::SasPermissions;
use cloudkit_azure_blob::{
    BlobClient, BlobError, BlobListEntry, BlobProperties, Conditions, ContainerClient, DeleteSnapshots,
    DownloadOptions as BlobDownloadOptions, StorageAuth, UploadOptions as BlobUploadOptions,
};
use cloudkit_paginate::PaginationConfig;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::error::from_service_error;
use super::{
    Capabilities, CopyOptions, DeleteResult, DownloadOptions, Error, GetOptions, GetRange, GetResult, ListOptions,
    ListResult, ObjectKey, ObjectMeta, ObjectStore, PutMode, PutOptions, PutResult, Result, SignedMethod,
    UploadOptions, UploadSource,
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

/// A listed blob as neutral metadata; `None` (with a warning) for a name that is not a valid key
/// (a `dir/` folder marker, `a//b`, …), which every backend skips rather than failing the listing.
fn meta_from_listing(b: cloudkit_azure_blob::BlobItem) -> Option<ObjectMeta> {
    match ObjectKey::parse(b.name.as_str()) {
        Ok(key) => Some(ObjectMeta {
            key,
            size: b.size,
            last_modified: b.last_modified,
            etag: b.etag,
            content_type: b.content_type,
            metadata: Default::default(),
        }),
        Err(_) => {
            tracing::warn!(name = %b.name, "skipping an Azure blob name the neutral layer cannot represent");
            None
        }
    }
}

/// A listed prefix (`dir/`) as a key; `None` (with a warning) when it is not a valid key.
fn prefix_from_listing(prefix: &str) -> Option<ObjectKey> {
    match ObjectKey::parse(prefix.strip_suffix('/').unwrap_or(prefix)) {
        Ok(key) => Some(key),
        Err(_) => {
            tracing::warn!(prefix = %prefix, "skipping an Azure prefix the neutral layer cannot represent");
            None
        }
    }
}

/// A conditional delete found another version of the blob, or none: it is someone else's now.
fn source_changed(e: &BlobError) -> bool {
    matches!(e, BlobError::ConditionNotMet(_) | BlobError::BlobNotFound(_) | BlobError::NotFound(_))
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
        let defaults = BlobUploadOptions::default();
        let opts = BlobUploadOptions {
            block_size: options.part_size.unwrap_or(defaults.block_size).max(1),
            concurrency: options.concurrency.max(1),
            content_type: options.put.content_type.clone(),
            metadata: options.put.metadata.clone(),
            conditions: conditions_for(&options.put.mode),
            ..defaults
        };
        let r = blob.upload(source, opts).await.map_err(|e| map_error(key.as_str(), e))?;
        Ok(PutResult { etag: r.etag })
    }

    async fn download_file(&self, key: &ObjectKey, path: &Path, options: DownloadOptions) -> Result<u64> {
        let blob = self.blob(key)?;
        let opts = BlobDownloadOptions {
            concurrency: options.concurrency.max(1),
            progress: options.progress,
            ..BlobDownloadOptions::default()
        };
        blob.download_to_file(path, opts).await.map_err(|e| map_error(key.as_str(), e))
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
            .map_err(|e| map_error("list", e))
            .try_filter_map(move |entry| {
                let after = after.clone();
                async move {
                    let BlobListEntry::Blob(b) = entry else { return Ok(None) };
                    if after.as_deref().is_some_and(|a| b.name.as_str() <= a) {
                        return Ok(None);
                    }
                    Ok(meta_from_listing(b))
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
            .map_err(|e| map_error(prefix.as_str(), e))?;
        let mut result = ListResult::default();
        for e in entries {
            match e {
                BlobListEntry::Blob(b) => result.objects.extend(meta_from_listing(b)),
                BlobListEntry::Prefix(p) => result.common_prefixes.extend(prefix_from_listing(&p)),
                _ => {}
            }
        }
        Ok(result)
    }

    async fn copy_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        if super::copy_preamble(self, from, to, &options, true).await? {
            return Ok(());
        }
        let src = self.blob(from)?;
        let dst = self.blob(to)?;
        let conditions = if options.create_only {
            Conditions { if_none_match: Some("*".into()), ..Conditions::default() }
        } else {
            Conditions::default()
        };
        let source = src.url().map_err(|e| map_error(from.as_str(), e))?;
        match dst.copy_from_url(&source, &conditions).await {
            Ok(_) => Ok(()),
            Err(e @ (BlobError::ConditionNotMet(_) | BlobError::BlobAlreadyExists(_))) if options.create_only => {
                Err(Error::AlreadyExists { key: to.to_string(), source: boxed(e) })
            }
            Err(e) => Err(map_error(from.as_str(), e)),
        }
    }

    /// Copy, then delete conditioned on the ETag the source had before the copy (`If-Match`), so
    /// a version written by someone else after that is never deleted. (The Blob client's copy
    /// takes no source condition yet: a source rewritten between the ETag read and the copy is
    /// copied in its newer version and then kept too, so nothing is lost but it is not moved.)
    async fn rename_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        if super::copy_preamble(self, from, to, &options, true).await? {
            return Ok(());
        }
        let src = self.blob(from)?;
        self.blob(to)?;
        let etag = src.get_properties().await.map_err(|e| map_error(from.as_str(), e))?.etag;
        let Some(etag) = etag else {
            return Err(Error::Provider {
                backend: BACKEND,
                source: format!("{from}: Get Blob Properties returned no ETag to condition the rename on").into(),
            });
        };
        self.copy_opts(from, to, options).await?;
        let conditions = Conditions { if_match: Some(etag), ..Conditions::default() };
        match src.delete(DeleteSnapshots::Include, &conditions).await {
            Ok(()) => Ok(()),
            Err(e) if source_changed(&e) => {
                tracing::debug!(key = %from, "rename: the source changed after the copy; the newer source is kept");
                Ok(())
            }
            Err(e) => Err(map_error(from.as_str(), e)),
        }
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cloudkit_azure_blob::{AzureConfig, BlobServiceClient};
    use cloudkit_core::testing::{Canned, RecordedRequest, ReplayHttp};
    use cloudkit_cred_chain::azure::AzureEnv;

    use super::*;
    use crate::store::ObjectStoreExt;
    use crate::store::resume_tests;

    /// A store on container `c` of an anonymous account at a loopback endpoint, its client from a
    /// config that reads no environment, answering from `http`.
    async fn store(http: &Arc<ReplayHttp>) -> AzureBlobStore {
        AzureBlobStore::new(BlobServiceClient::new(&config(http).await).unwrap().container_client("c"))
    }

    async fn config(http: &Arc<ReplayHttp>) -> AzureConfig {
        AzureConfig::loader()
            .env(AzureEnv::from_pairs::<&str, &str>([]))
            .anonymous()
            .blob_endpoint("http://127.0.0.1:1/acct".parse().unwrap())
            .http(http.clone())
            .load()
            .await
            .unwrap()
    }

    /// A store like [`store`]'s whose client retries (and resumes) without waiting in between.
    async fn resuming_store(http: &Arc<ReplayHttp>) -> AzureBlobStore {
        let retry = cloudkit_core::RetryConfig::standard().with_initial_backoff(Duration::ZERO);
        let service = BlobServiceClient::builder(&config(http).await).retry(retry).build().unwrap();
        AzureBlobStore::new(service.container_client("c"))
    }

    /// A whole-blob answer for `data` with entity tag `"0x1"` and its Content-MD5.
    fn whole(data: &[u8]) -> Canned {
        Canned::status(200, data.to_vec())
            .with_header("etag", "\"0x1\"")
            .with_header("content-length", &data.len().to_string())
            .with_header("content-md5", &cloudkit_core::md5_base64(data))
            .with_header("x-ms-blob-type", "BlockBlob")
    }

    /// A 206 answer with bytes `start..` of `body`, the whole blob's MD5 that of `stored`.
    fn rest(body: &[u8], start: usize, stored: &[u8]) -> Canned {
        Canned::status(206, body[start..].to_vec())
            .with_header("etag", "\"0x1\"")
            .with_header("content-length", &(body.len() - start).to_string())
            .with_header("content-range", &format!("bytes {start}-{}/{}", body.len() - 1, body.len()))
            .with_header("x-ms-blob-content-md5", &cloudkit_core::md5_base64(stored))
            .with_header("x-ms-blob-type", "BlockBlob")
    }

    fn condition_not_met() -> Canned {
        Canned::status(
            412,
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ConditionNotMet</Code>\
             <Message>The condition specified using HTTP conditional header(s) is not met.</Message></Error>",
        )
        .with_header("x-ms-error-code", "ConditionNotMet")
    }

    // Issue 15, "resume interrupted downloads" through the store: ranged Get Blobs pinned by
    // `If-Match` to the ETag first read, the Content-MD5 verified over the resumed stream; a 412
    // is `Error::ObjectChanged`.
    resume_tests::resume_tests!(
        a_broken_get_resumes_from_the_last_byte_pinned_to_the_etag,
        a_get_resumed_on_a_replaced_blob_is_object_changed,
        resume_tests::Backend::if_match(whole, rest, "x-ms-range", "\"0x1\"", "md5"),
        [condition_not_met()]
    );

    fn header<'a>(r: &'a RecordedRequest, name: &str) -> Option<&'a str> {
        r.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn properties(etag: &str) -> Canned {
        Canned::status(200, "").with_header("etag", etag).with_header("content-length", "7")
    }

    // Issue 15, defect 1: the delete of a rename is conditioned on the ETag read before the
    // copy; a source rewritten in between (412 on the delete) is kept and the rename is done.
    #[tokio::test]
    async fn rename_deletes_only_the_version_it_read() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        let (from, to) = (ObjectKey::parse("src").unwrap(), ObjectKey::parse("dst").unwrap());
        http.push(properties("\"0x1\""));
        http.push(Canned::status(202, "").with_header("x-ms-copy-id", "c1").with_header("x-ms-copy-status", "success"));
        http.push(properties("\"0x2\""));
        http.push(
            Canned::status(
                412,
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ConditionNotMet</Code>\
                 <Message>The condition specified using HTTP conditional header(s) is not met.</Message></Error>",
            )
            .with_header("x-ms-error-code", "ConditionNotMet"),
        );
        s.rename(&from, &to).await.unwrap();
        let sent = http.requests();
        assert_eq!(sent.len(), 4, "properties, copy, the copy's properties, conditional delete: {sent:?}");
        assert_eq!((sent[0].method.as_str(), sent[0].url.path()), ("HEAD", "/acct/c/src"));
        assert_eq!((sent[1].method.as_str(), sent[1].url.path()), ("PUT", "/acct/c/dst"));
        assert_eq!((sent[3].method.as_str(), sent[3].url.path()), ("DELETE", "/acct/c/src"));
        assert_eq!(header(&sent[3], "if-match"), Some("\"0x1\""), "the delete is conditional");
    }

    // Issue 15, defect 1: a rename onto itself copied the blob onto itself, then deleted it.
    #[tokio::test]
    async fn rename_onto_itself_only_checks_the_blob_exists() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        let key = ObjectKey::parse("same").unwrap();
        http.push(properties("\"0x1\""));
        s.rename(&key, &key).await.unwrap();
        http.push(properties("\"0x1\""));
        s.copy(&key, &key).await.unwrap();
        http.push(properties("\"0x1\""));
        let e = s.rename_opts(&key, &key, CopyOptions { create_only: true }).await.unwrap_err();
        assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
        http.push(Canned::status(404, "").with_header("x-ms-error-code", "BlobNotFound"));
        let e = s.rename(&key, &key).await.unwrap_err();
        assert!(e.is_not_found(), "{e:?}");
        assert!(http.requests().iter().all(|r| r.method.as_str() == "HEAD"), "nothing but HEADs");
    }

    // Issue 15, defect 6: one blob whose name is not a valid key (a `dir/` folder marker, `a//b`)
    // failed the whole listing; it is skipped, as on S3 and GCS.
    #[tokio::test]
    async fn unrepresentable_blob_names_are_skipped() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        let blob = |name: &str| {
            format!(
                "<Blob><Name>{name}</Name><Properties><Content-Length>1</Content-Length>\
                 <Etag>0x1</Etag></Properties></Blob>"
            )
        };
        let flat = format!(
            "<EnumerationResults><Blobs>{}{}{}{}</Blobs><NextMarker/></EnumerationResults>",
            blob("p/a//b"),
            blob("p/dir/"),
            blob("p/ok"),
            blob("p/z")
        );
        http.push(Canned::status(200, flat));
        let listed: Vec<String> =
            s.list(&ObjectKey::parse("p").unwrap()).map_ok(|m| m.key.to_string()).try_collect().await.unwrap();
        assert_eq!(listed, ["p/ok", "p/z"]);
        let level = format!(
            "<EnumerationResults><Blobs>{}{}<BlobPrefix><Name>p/dir//</Name></BlobPrefix>\
             <BlobPrefix><Name>p/dir/sub/</Name></BlobPrefix></Blobs><NextMarker/></EnumerationResults>",
            blob("p/dir/"),
            blob("p/dir/ok")
        );
        http.push(Canned::status(200, level));
        let level = s.list_with_delimiter(&ObjectKey::parse("p/dir").unwrap()).await.unwrap();
        let objects: Vec<&str> = level.objects.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(objects, ["p/dir/ok"]);
        assert_eq!(level.common_prefixes, [ObjectKey::parse("p/dir/sub").unwrap()]);
    }
}
