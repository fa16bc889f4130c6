//! The S3 backend of the neutral [`ObjectStore`], over `cloudkit-aws-s3`.

use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cloudkit_aws_s3::{MetadataDirective, PaginationConfig, S3Client, S3Error};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::content_range_start;
use super::error::from_service_error;
use super::{
    Capabilities, CopyOptions, DeleteResult, Error, GetOptions, GetResult, ListOptions, ListResult, ObjectKey,
    ObjectMeta, ObjectStore, PutMode, PutOptions, PutResult, Result, SignedMethod, UploadOptions, UploadSource,
};

const BACKEND: &str = "s3";
/// Batches of a bulk delete (S3's DeleteObjects limit).
const DELETE_BATCH: usize = 1000;
/// DeleteObjects requests in flight during a bulk delete.
const DELETE_CONCURRENCY: usize = 4;

/// An [`ObjectStore`] on one S3 bucket (AWS or any S3-compatible endpoint).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit::store::{ObjectKey, ObjectStoreExt, S3Store};
/// let config = cloudkit::aws::AwsConfig::loader().load().await?;
/// let store = S3Store::new(cloudkit::s3::S3Client::new(&config)?, "my-bucket");
/// store.put(&ObjectKey::parse("hello.txt")?, "hi".into()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct S3Store {
    client: S3Client,
    bucket: String,
    conditional_put: bool,
}

impl S3Store {
    /// A store on `bucket` using `client`.
    pub fn new(client: S3Client, bucket: impl Into<String>) -> Self {
        Self { client, bucket: bucket.into(), conditional_put: true }
    }

    /// Declares whether the endpoint honours `If-None-Match: *` / `If-Match` on writes (AWS does;
    /// some S3-compatible stores ignore them — turn it off there so create-only writes are refused
    /// as `NotSupported` instead of silently overwriting).
    pub fn with_conditional_put(mut self, supported: bool) -> Self {
        self.conditional_put = supported;
        self
    }

    /// The S3 client.
    pub fn client(&self) -> &S3Client {
        &self.client
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub(crate) fn capabilities_conditional_put(&self) -> bool {
        self.conditional_put
    }

    fn dir_prefix(prefix: &ObjectKey) -> String {
        if prefix.is_root() { String::new() } else { format!("{prefix}/") }
    }
}

/// Maps an S3 error on `key` to the neutral error: S3's credential codes (sent with a 403) and
/// its conditional-write conflict, then what every backend shares.
pub(crate) fn map_s3_error(key: &str, e: S3Error) -> Error {
    let source = |e: S3Error| -> Option<cloudkit_core::BoxError> { Some(Box::new(e)) };
    match e.code() {
        Some("InvalidAccessKeyId" | "SignatureDoesNotMatch" | "ExpiredToken" | "InvalidToken") => {
            Error::Unauthenticated { message: key.to_owned(), source: source(e) }
        }
        Some("ConditionalRequestConflict") if e.status().map(|s| s.as_u16()) == Some(409) => {
            Error::PreconditionFailed { key: key.to_owned(), source: source(e) }
        }
        _ => from_service_error(BACKEND, key, e),
    }
}

fn meta_from_s3(key: ObjectKey, m: &cloudkit_aws_s3::ObjectMetadata) -> ObjectMeta {
    let mut meta = ObjectMeta::new(key, m.object_size().unwrap_or(0));
    meta.last_modified = m.last_modified;
    meta.etag = m.e_tag.clone();
    meta.content_type = m.content_type.clone();
    meta.metadata = m.metadata.clone();
    meta
}

fn meta_from_listing(o: cloudkit_aws_s3::Object) -> Option<ObjectMeta> {
    match ObjectKey::parse(o.key.as_str()) {
        Ok(key) => {
            let mut meta = ObjectMeta::new(key, o.size);
            meta.last_modified = o.last_modified;
            meta.etag = o.e_tag;
            Some(meta)
        }
        Err(_) => {
            tracing::warn!(key = %o.key, "skipping an S3 key the neutral layer cannot represent");
            None
        }
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            conditional_put: self.conditional_put,
            copy_create_only: false,
            atomic_rename: false,
            signed_urls: true,
            metadata: true,
        }
    }

    async fn put_opts(&self, key: &ObjectKey, payload: Bytes, options: PutOptions) -> Result<PutResult> {
        key.require_object()?;
        options.validate()?;
        let mut request = self.client.put_object(&self.bucket, key.as_str()).body(payload);
        if let Some(ct) = &options.content_type {
            request = request.content_type(ct);
        }
        for (k, v) in &options.metadata {
            request = request.metadata(k, v);
        }
        let create_only = options.mode == PutMode::CreateOnly;
        request = match (&options.mode, self.conditional_put) {
            (PutMode::Overwrite, _) => request,
            (_, false) => return Err(Error::NotSupported { operation: "conditional put", backend: BACKEND }),
            (PutMode::CreateOnly, true) => request.if_none_match_any(),
            (PutMode::IfMatch(etag), true) => request.if_match(etag),
        };
        match request.send().await {
            Ok(out) => Ok(PutResult { etag: out.e_tag }),
            Err(S3Error::PreconditionFailed(e)) if create_only => {
                Err(Error::AlreadyExists { key: key.to_string(), source: Some(Box::new(e)) })
            }
            Err(e) => Err(map_s3_error(key.as_str(), e)),
        }
    }

    async fn upload(&self, key: &ObjectKey, source: UploadSource, options: UploadOptions) -> Result<PutResult> {
        key.require_object()?;
        options.put.validate()?;
        super::s3_upload::upload(self, key, source, options).await
    }

    async fn get_opts(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        key.require_object()?;
        let mut request = self.client.get_object(&self.bucket, key.as_str());
        options.check_range(key)?;
        if let Some(range) = &options.range {
            request = request.range_header(range.to_header());
        }
        if let Some(etag) = &options.if_match {
            request = request.if_match(etag);
        }
        if let Some(etag) = &options.if_none_match {
            request = request.if_none_match(etag);
        }
        let out = request.send().await.map_err(|e| map_s3_error(key.as_str(), e))?;
        let meta = meta_from_s3(key.clone(), &out.metadata);
        options.check_etag(key, meta.etag.as_deref())?;
        let len = out.metadata.content_length.unwrap_or(meta.size);
        let start = content_range_start(out.metadata.content_range.as_deref());
        Ok(GetResult { meta, range: start..start + len, body: out.body })
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        key.require_object()?;
        let m = self
            .client
            .head_object(&self.bucket, key.as_str())
            .send()
            .await
            .map_err(|e| map_s3_error(key.as_str(), e))?;
        Ok(meta_from_s3(key.clone(), &m))
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        key.require_object()?;
        match self.client.delete_object(&self.bucket, key.as_str()).send().await {
            Ok(_) => Ok(()),
            Err(S3Error::NoSuchKey(_) | S3Error::NotFound(_)) => Ok(()),
            Err(e) => Err(map_s3_error(key.as_str(), e)),
        }
    }

    fn delete_stream(&self, keys: BoxStream<'static, ObjectKey>) -> BoxStream<'static, DeleteResult> {
        let store = self.clone();
        keys.ready_chunks(DELETE_BATCH)
            .map(move |batch| {
                let store = store.clone();
                async move {
                    let names: Vec<String> = batch.iter().map(ToString::to_string).collect();
                    match store.client.delete_objects(&store.bucket).keys(names.iter()).send().await {
                        Ok(out) => {
                            let failed: std::collections::HashMap<String, String> = out
                                .errors
                                .into_iter()
                                .map(|e| {
                                    (
                                        e.key.clone(),
                                        format!("{}: {}", e.code, e.message.as_deref().unwrap_or("no message")),
                                    )
                                })
                                .collect();
                            batch
                                .into_iter()
                                .map(|key| match failed.get(key.as_str()) {
                                    None => Ok(key),
                                    Some(why) => Err(Error::Provider { backend: BACKEND, source: why.clone().into() }),
                                })
                                .collect::<Vec<_>>()
                        }
                        Err(e) => {
                            let message = e.to_string();
                            let first = map_s3_error(names.first().map_or("", String::as_str), e);
                            let mut results = vec![Err(first)];
                            results.extend(
                                names
                                    .iter()
                                    .skip(1)
                                    .map(|_| Err(Error::Provider { backend: BACKEND, source: message.clone().into() })),
                            );
                            results
                        }
                    }
                }
            })
            .buffer_unordered(DELETE_CONCURRENCY)
            .flat_map(futures::stream::iter)
            .boxed()
    }

    fn list_opts(&self, prefix: &ObjectKey, options: ListOptions) -> BoxStream<'static, Result<ObjectMeta>> {
        let mut request = self.client.list_objects_v2(&self.bucket).prefix(Self::dir_prefix(prefix));
        if let Some(after) = &options.start_after {
            request = request.start_after(after.as_str());
        }
        let prefix = prefix.to_string();
        request
            .into_objects(PaginationConfig::default())
            .map_err(move |e| map_s3_error(&prefix, e))
            .try_filter_map(|o| async move { Ok(meta_from_listing(o)) })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: &ObjectKey) -> Result<ListResult> {
        let request = self.client.list_objects_v2(&self.bucket).prefix(Self::dir_prefix(prefix)).delimiter("/");
        let mut pages = request.into_pages(PaginationConfig::default());
        let mut result = ListResult::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_s3_error(prefix.as_str(), S3Error::from(e)))?;
            result.objects.extend(page.contents.into_iter().filter_map(meta_from_listing));
            for p in page.common_prefixes {
                match ObjectKey::parse(p.prefix.trim_end_matches('/')) {
                    Ok(k) => result.common_prefixes.push(k),
                    Err(_) => {
                        tracing::warn!(prefix = %p.prefix, "skipping an S3 prefix the neutral layer cannot represent")
                    }
                }
            }
        }
        Ok(result)
    }

    async fn copy_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        from.require_object()?;
        to.require_object()?;
        if options.create_only {
            return Err(Error::NotSupported { operation: "create-only copy", backend: BACKEND });
        }
        self.client
            .copy_object(&self.bucket, to.as_str())
            .copy_source(&self.bucket, from.as_str())
            .metadata_directive(MetadataDirective::Copy)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_s3_error(from.as_str(), e))
    }

    async fn rename_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        self.copy_opts(from, to, options).await?;
        self.delete(from).await
    }

    async fn signed_url(&self, method: SignedMethod, key: &ObjectKey, expires_in: Duration) -> Result<url::Url> {
        key.require_object()?;
        let presign = match method {
            SignedMethod::Get => self.client.presign_get_object(&self.bucket, key.as_str(), expires_in),
            SignedMethod::Put => self.client.presign_put_object(&self.bucket, key.as_str(), expires_in),
            SignedMethod::Head => self.client.presign_head_object(&self.bucket, key.as_str(), expires_in),
            SignedMethod::Delete => self.client.presign_delete_object(&self.bucket, key.as_str(), expires_in),
        };
        let presigned = presign.presign().await.map_err(|e| map_s3_error(key.as_str(), e))?;
        Ok(presigned.url)
    }
}
