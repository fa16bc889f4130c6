//! The S3 backend of the neutral [`ObjectStore`], over `cloudkit-aws-s3`.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cloudkit_aws_s3::{MetadataDirective, PaginationConfig, S3Client, S3Error};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::content_range_start;
use super::error::from_service_error;
use super::{
    Capabilities, CopyOptions, DeleteResult, DownloadOptions, Error, GetOptions, GetResult, ListOptions, ListResult,
    ObjectKey, ObjectMeta, ObjectStore, PutMode, PutOptions, PutResult, Result, SignedMethod, UploadOptions,
    UploadSource,
};

const BACKEND: &str = "s3";
/// Batches of a bulk delete (S3's DeleteObjects limit).
const DELETE_BATCH: usize = 1000;
/// DeleteObjects requests in flight during a bulk delete.
const DELETE_CONCURRENCY: usize = 4;
/// Times a rename reads the source's entity tag and copies that version before giving up when
/// the source keeps changing in between.
const RENAME_ATTEMPTS: usize = 3;

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

/// A conditional delete found another version (412, or 409 for a concurrent conditional
/// request) or nothing at all: the source is someone else's now.
fn source_changed(e: &S3Error) -> bool {
    matches!(e, S3Error::PreconditionFailed(_) | S3Error::NoSuchKey(_) | S3Error::NotFound(_))
        || (e.code() == Some("ConditionalRequestConflict") && e.status().map(|s| s.as_u16()) == Some(409))
}

fn meta_from_s3(key: ObjectKey, m: &cloudkit_aws_s3::ObjectMetadata) -> ObjectMeta {
    let mut meta = ObjectMeta::new(key, m.object_size().unwrap_or(0));
    meta.last_modified = m.last_modified;
    meta.etag = m.e_tag.clone();
    meta.content_type = m.content_type.clone();
    meta.metadata = m.metadata.clone();
    // The client's own bookkeeping (the part size of its multipart uploads, which lets a download
    // check the multipart ETag), not the user's metadata.
    meta.metadata.remove(cloudkit_aws_s3::PART_SIZE_METADATA);
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

    async fn download_file(&self, key: &ObjectKey, path: &Path, options: DownloadOptions) -> Result<u64> {
        key.require_object()?;
        super::s3_upload::download_file(self, key, path, options).await
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
            let page = page.map_err(|e| map_s3_error(prefix.as_str(), e))?;
            result.objects.extend(page.contents.into_iter().filter_map(meta_from_listing));
            for p in page.common_prefixes {
                match ObjectKey::parse(p.prefix.strip_suffix('/').unwrap_or(&p.prefix)) {
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
        // (S3 refuses a copy onto itself that changes nothing: the preamble makes it the same
        // no-op as elsewhere.)
        if super::copy_preamble(self, from, to, &options, false).await? {
            return Ok(());
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

    /// Copy, then delete: the copy is of the version whose ETag was just read
    /// (`x-amz-copy-source-if-match`), and the delete is conditioned on that ETag (`If-Match`,
    /// S3's conditional delete), so a version written by someone else after the copy is never
    /// deleted. (Endpoints that ignore `If-Match` on DELETE keep the window between the copy and
    /// the delete open. Single-part ETags are MD5s of the bytes: a rewrite with the very same
    /// bytes matches and is deleted.)
    async fn rename_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        if super::copy_preamble(self, from, to, &options, false).await? {
            return Ok(());
        }
        for _ in 0..RENAME_ATTEMPTS {
            let Some(etag) = self.head(from).await?.etag else {
                return Err(Error::Provider {
                    backend: BACKEND,
                    source: format!("{from}: HeadObject returned no ETag to condition the rename on").into(),
                });
            };
            let copied = self
                .client
                .copy_object(&self.bucket, to.as_str())
                .copy_source(&self.bucket, from.as_str())
                .copy_source_if_match(&etag)
                .metadata_directive(MetadataDirective::Copy)
                .send()
                .await;
            match copied {
                Ok(_) => {}
                // The source changed between the HEAD and the copy: nothing was written; again.
                Err(S3Error::PreconditionFailed(_)) => continue,
                Err(e) => return Err(map_s3_error(from.as_str(), e)),
            }
            return match self.client.delete_object(&self.bucket, from.as_str()).if_match(&etag).send().await {
                Ok(_) => Ok(()),
                Err(e) if source_changed(&e) => {
                    tracing::debug!(key = %from, "rename: the source changed after the copy; the newer source is kept");
                    Ok(())
                }
                Err(e) => Err(map_s3_error(from.as_str(), e)),
            };
        }
        Err(Error::PreconditionFailed { key: from.to_string(), source: None })
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cloudkit_core::testing::{Canned, RecordedRequest, ReplayHttp};
    use cloudkit_cred_chain::aws::{AwsConfig, Env, ProviderConfig};

    /// The client's part-size bookkeeping (issue 15) is not the user's metadata.
    #[test]
    fn the_part_size_the_client_records_is_not_user_metadata() {
        let mut m = cloudkit_aws_s3::ObjectMetadata::default();
        m.metadata.insert("owner".into(), "team-a".into());
        m.metadata.insert(cloudkit_aws_s3::PART_SIZE_METADATA.into(), "8388608".into());
        let meta = super::meta_from_s3(ObjectKey::parse("k").unwrap(), &m);
        assert_eq!(meta.metadata.keys().collect::<Vec<_>>(), ["owner"]);
    }

    use super::*;
    use crate::store::ObjectStoreExt;
    use crate::store::resume_tests;

    /// A store on bucket `b` of a custom endpoint, its client from a config loaded from a fake
    /// environment, answering from `http`.
    async fn store(http: &Arc<ReplayHttp>) -> S3Store {
        S3Store::new(builder(http).await.build().unwrap(), "b")
    }

    /// The client builder of [`store`].
    async fn builder(http: &Arc<ReplayHttp>) -> cloudkit_aws_s3::ClientBuilder {
        let pairs = [
            ("HOME", "/nonexistent-cloudkit-home"),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "AKIDSTORE"),
            ("AWS_SECRET_ACCESS_KEY", "STORESECRET"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ];
        let provider_config = ProviderConfig::with_http(http.clone()).env(Env::from_pairs(pairs));
        let config = AwsConfig::loader().provider_config(provider_config).load().await.unwrap();
        let endpoint = "http://127.0.0.1:9000".parse().unwrap();
        S3Client::builder(&config).endpoint(endpoint).http(http.clone())
    }

    fn header<'a>(r: &'a RecordedRequest, name: &str) -> Option<&'a str> {
        r.headers.get(name).and_then(|v| v.to_str().ok())
    }

    fn head_ok(etag: &str) -> Canned {
        Canned::status(200, "").with_header("etag", etag).with_header("content-length", "7")
    }

    fn copied() -> Canned {
        Canned::status(
            200,
            "<CopyObjectResult><ETag>\"copy\"</ETag><LastModified>2024-01-01T00:00:00.000Z</LastModified></CopyObjectResult>",
        )
    }

    fn precondition_failed() -> Canned {
        Canned::status(
            412,
            "<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>",
        )
    }

    // Issue 15, defect 1: the delete of a rename is conditioned on the ETag that was copied, and
    // a source rewritten after the copy (412 on the delete) is kept, the rename done.
    #[tokio::test]
    async fn rename_copies_and_deletes_only_the_version_it_read() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        let (from, to) = (ObjectKey::parse("src").unwrap(), ObjectKey::parse("dst").unwrap());
        http.push(head_ok("\"v1\""));
        http.push(copied());
        http.push(precondition_failed());
        s.rename(&from, &to).await.unwrap();
        let sent = http.requests();
        assert_eq!(sent.len(), 3, "HEAD, copy, conditional delete: {sent:?}");
        assert_eq!((sent[0].method.as_str(), sent[0].url.path()), ("HEAD", "/b/src"));
        assert_eq!((sent[1].method.as_str(), sent[1].url.path()), ("PUT", "/b/dst"));
        assert_eq!(header(&sent[1], "x-amz-copy-source-if-match"), Some("\"v1\""));
        assert_eq!((sent[2].method.as_str(), sent[2].url.path()), ("DELETE", "/b/src"));
        assert_eq!(header(&sent[2], "if-match"), Some("\"v1\""), "the delete is conditional");

        // The source changes between the HEAD and the copy: the copy is refused, read again.
        http.push(head_ok("\"v1\""));
        http.push(precondition_failed());
        http.push(head_ok("\"v2\""));
        http.push(copied());
        http.push(Canned::status(204, ""));
        s.rename(&from, &to).await.unwrap();
        let sent = &http.requests()[3..];
        assert_eq!(sent.len(), 5);
        assert_eq!(header(&sent[3], "x-amz-copy-source-if-match"), Some("\"v2\""));
        assert_eq!(header(&sent[4], "if-match"), Some("\"v2\""));
    }

    // Issue 15, defect 1: S3 refused a rename onto itself (InvalidRequest).
    #[tokio::test]
    async fn rename_onto_itself_only_checks_the_object_exists() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        let key = ObjectKey::parse("same").unwrap();
        http.push(head_ok("\"v1\""));
        s.rename(&key, &key).await.unwrap();
        http.push(head_ok("\"v1\""));
        s.copy(&key, &key).await.unwrap();
        http.push(Canned::status(404, ""));
        let e = s.rename(&key, &key).await.unwrap_err();
        assert!(e.is_not_found(), "{e:?}");
        let e = s.rename_opts(&key, &key, CopyOptions { create_only: true }).await.unwrap_err();
        assert!(matches!(e, Error::NotSupported { .. }), "{e:?}");
        assert!(http.requests().iter().all(|r| r.method.as_str() == "HEAD"), "nothing but HEADs");
        assert_eq!(http.requests().len(), 3);
    }

    /// A store like [`store`]'s whose client retries (and resumes) without waiting in between.
    async fn resuming_store(http: &Arc<ReplayHttp>) -> S3Store {
        let retry = cloudkit_core::RetryConfig::standard().with_initial_backoff(Duration::ZERO);
        S3Store::new(builder(http).await.retry(retry).build().unwrap(), "b")
    }

    /// A whole-object answer for `data` with entity tag `"v1"` and its full-object CRC32C.
    fn whole(data: &[u8]) -> Canned {
        Canned::status(200, data.to_vec())
            .with_header("etag", "\"v1\"")
            .with_header("content-length", &data.len().to_string())
            .with_header("x-amz-checksum-crc32c", &cloudkit_aws_s3::ChecksumAlgorithm::Crc32c.checksum(data))
    }

    /// A 206 answer with bytes `start..` of `body`, entity tag `etag`.
    fn rest(body: &[u8], start: usize, etag: &str) -> Canned {
        Canned::status(206, body[start..].to_vec())
            .with_header("etag", etag)
            .with_header("content-length", &(body.len() - start).to_string())
            .with_header("content-range", &format!("bytes {start}-{}/{}", body.len() - 1, body.len()))
    }

    // Issue 15, "resume interrupted downloads" through the store: ranged GETs pinned by
    // `If-Match` to the ETag first read, the full-object CRC32C verified over the resumed stream;
    // a 412, or a server that ignores the condition and answers with another ETag, is
    // `Error::ObjectChanged`.
    resume_tests::resume_tests!(
        a_broken_get_resumes_from_the_last_byte_pinned_to_the_etag,
        a_get_resumed_on_a_replaced_object_is_object_changed,
        resume_tests::Backend::if_match(
            whole,
            |body, start, _| rest(body, start, "\"v1\""),
            "range",
            "\"v1\"",
            "checksum"
        ),
        [precondition_failed(), rest(&resume_tests::object_bytes(), 300, "\"v2\"")]
    );

    // Issue 15, defect 6: a `//` name must not turn into its own prefix (an endless walk).
    #[tokio::test]
    async fn unrepresentable_names_and_prefixes_are_skipped() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        http.push(Canned::status(
            200,
            "<ListBucketResult><Name>b</Name><Prefix>p/a/</Prefix><KeyCount>3</KeyCount><MaxKeys>1000</MaxKeys>\
             <IsTruncated>false</IsTruncated>\
             <Contents><Key>p/a/</Key><Size>0</Size></Contents>\
             <Contents><Key>p/a/ok</Key><Size>1</Size></Contents>\
             <CommonPrefixes><Prefix>p/a//</Prefix></CommonPrefixes>\
             <CommonPrefixes><Prefix>p/a/d/</Prefix></CommonPrefixes></ListBucketResult>",
        ));
        let level = s.list_with_delimiter(&ObjectKey::parse("p/a").unwrap()).await.unwrap();
        let objects: Vec<&str> = level.objects.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(objects, ["p/a/ok"]);
        assert_eq!(level.common_prefixes, [ObjectKey::parse("p/a/d").unwrap()]);
    }
}
