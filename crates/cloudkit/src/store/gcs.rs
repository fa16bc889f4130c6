//! The Google Cloud Storage backend of the neutral [`ObjectStore`], over `cloudkit-gcp-storage`.
//!
//! Entity tags are object *generations* (GCS's content version): `PutMode::IfMatch(etag)` and
//! `GetOptions::if_match` become `ifGenerationMatch`, create-only writes `ifGenerationMatch=0`,
//! all enforced atomically by GCS.

use std::ops::Range;
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use cloudkit_core::{ByteStream, Method};
use cloudkit_gcp_storage::{
    ByteRange, Download, GcsError, Object, ObjectMetadata, PaginationConfig, SignedUrlOptions, StorageClient,
    UploadType,
};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::error::from_service_error;
use super::{
    Capabilities, CopyOptions, DeleteResult, Error, GetOptions, GetRange, GetResult, ListOptions, ListResult,
    ObjectKey, ObjectMeta, ObjectStore, PutMode, PutOptions, PutResult, Result, SignedMethod, UploadOptions,
    UploadSource,
};
use super::{content_range_start, content_range_total};

const BACKEND: &str = "gcs";
/// Deletes in flight during a bulk delete (GCS has no multi-object delete in the JSON API
/// outside batch requests).
const DELETE_CONCURRENCY: usize = 16;
/// Times a rename reads the source's generation and copies that generation before giving up
/// when the source keeps changing in between.
const RENAME_ATTEMPTS: usize = 3;

/// An [`ObjectStore`] on one GCS bucket (Google Cloud or an emulator via `STORAGE_EMULATOR_HOST`).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit::store::{GcsStore, ObjectKey, ObjectStoreExt};
/// let config = cloudkit::gcp::GcpConfig::loader().load().await?;
/// let store = GcsStore::new(cloudkit::gcs::StorageClient::new(&config)?, "my-bucket");
/// store.put(&ObjectKey::parse("hello.txt")?, "hi".into()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct GcsStore {
    client: StorageClient,
    bucket: String,
    conditional: bool,
    signed_urls: bool,
}

impl GcsStore {
    /// A store on `bucket` using `client`. Against an emulator (`STORAGE_EMULATOR_HOST`),
    /// conditional writes are declared unsupported: gcp-storage-emulator ignores generation
    /// preconditions, and a create-only write must never overwrite silently.
    pub fn new(client: StorageClient, bucket: impl Into<String>) -> Self {
        let conditional = !client.is_emulator();
        let signed_urls = client.has_blob_signer();
        Self { client, bucket: bucket.into(), conditional, signed_urls }
    }

    /// Declares whether the endpoint enforces generation preconditions.
    pub fn with_conditional_writes(mut self, supported: bool) -> Self {
        self.conditional = supported;
        self
    }

    /// The GCS client.
    pub fn client(&self) -> &StorageClient {
        &self.client
    }

    /// The bucket.
    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    fn dir_prefix(prefix: &ObjectKey) -> String {
        if prefix.is_root() { String::new() } else { format!("{prefix}/") }
    }
}

/// Maps a GCS error on `key` to the neutral error: a 409 on an object is a create-only condition
/// that found it (`ifGenerationMatch=0`), a signed URL that cannot be made is the caller's setup;
/// then what every backend shares.
pub(crate) fn map_gcs_error(key: &str, e: GcsError) -> Error {
    match e {
        GcsError::Conflict(_) => Error::AlreadyExists { key: key.to_owned(), source: Some(Box::new(e)) },
        GcsError::Signing(s) => Error::InvalidInput { message: s.to_string() },
        other => from_service_error(BACKEND, key, other),
    }
}

/// A neutral entity tag (a generation) as a number; `None` when it cannot be one of ours.
fn generation_of(etag: &str) -> Option<i64> {
    etag.trim().trim_matches('"').parse().ok()
}

fn meta_from_object(key: ObjectKey, o: &Object) -> ObjectMeta {
    let mut meta = ObjectMeta::new(key, o.size.unwrap_or(0));
    meta.last_modified = o.updated;
    meta.etag = o.generation.map(|g| g.to_string());
    meta.content_type = o.content_type.clone();
    meta.metadata = o.metadata.clone();
    meta
}

fn meta_from_listing(o: &Object) -> Option<ObjectMeta> {
    match ObjectKey::parse(o.name.as_str()) {
        Ok(key) => Some(meta_from_object(key, o)),
        Err(_) => {
            tracing::warn!(name = %o.name, "skipping a GCS object name the neutral layer cannot represent");
            None
        }
    }
}

impl GcsStore {
    /// `objects.rewrite` of `from` (that generation, when given) to `to`, create-only on request.
    async fn rewrite(
        &self,
        from: &ObjectKey,
        to: &ObjectKey,
        options: &CopyOptions,
        generation: Option<i64>,
    ) -> Result<()> {
        let mut request = self.client.rewrite_object(&self.bucket, from.as_str(), &self.bucket, to.as_str());
        if let Some(g) = generation {
            request = request.source_generation(g);
        }
        if options.create_only {
            request = request.if_generation_match(0);
        }
        match request.send().await {
            Ok(_) => Ok(()),
            Err(e @ GcsError::PreconditionFailed(_)) if options.create_only => {
                Err(Error::AlreadyExists { key: to.to_string(), source: Some(Box::new(e)) })
            }
            Err(e) => Err(map_gcs_error(from.as_str(), e)),
        }
    }
}

/// Skips `skip` bytes then yields at most `take` (for servers that ignore a Range header).
fn slice_stream(body: ByteStream, skip: u64, take: u64) -> ByteStream {
    let stream = futures::stream::unfold((body, skip, take), |(mut body, mut skip, mut take)| async move {
        loop {
            if take == 0 {
                return None;
            }
            match body.next().await? {
                Err(e) => return Some((Err(e), (body, 0, 0))),
                Ok(mut chunk) => {
                    let len = chunk.len() as u64;
                    if skip >= len {
                        skip -= len;
                        continue;
                    }
                    chunk = chunk.slice(usize::try_from(skip).unwrap_or(0)..);
                    skip = 0;
                    let keep = (chunk.len() as u64).min(take);
                    chunk.truncate(usize::try_from(keep).unwrap_or(0));
                    take -= keep;
                    return Some((Ok(chunk), (body, skip, take)));
                }
            }
        }
    });
    ByteStream::new(stream)
}

fn meta_from_download(key: &ObjectKey, d: &Download) -> ObjectMeta {
    let mut meta = ObjectMeta::new(key.clone(), d.object_size.unwrap_or(0));
    meta.etag = d.generation.map(|g| g.to_string());
    meta.content_type = d.content_type.clone();
    for (name, value) in &d.headers {
        if let (Some(k), Ok(v)) = (name.as_str().strip_prefix("x-goog-meta-"), value.to_str()) {
            meta.metadata.insert(k.to_owned(), v.to_owned());
        }
    }
    meta
}

#[async_trait]
impl ObjectStore for GcsStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            conditional_put: self.conditional,
            copy_create_only: self.conditional,
            atomic_rename: false,
            signed_urls: self.signed_urls,
            metadata: true,
        }
    }

    async fn put_opts(&self, key: &ObjectKey, payload: Bytes, options: PutOptions) -> Result<PutResult> {
        key.require_object()?;
        options.validate()?;
        let mut meta = ObjectMetadata::new();
        meta.content_type = options.content_type.clone();
        for (k, v) in &options.metadata {
            meta = meta.metadata(k, v);
        }
        let mut request = self
            .client
            .insert_object(&self.bucket, key.as_str())
            .object_metadata(meta)
            .upload_type(UploadType::Multipart);
        let create_only = options.mode == PutMode::CreateOnly;
        request = match (&options.mode, self.conditional) {
            (PutMode::Overwrite, _) => request,
            (_, false) => return Err(Error::NotSupported { operation: "conditional put", backend: BACKEND }),
            (PutMode::CreateOnly, true) => request.if_generation_match(0),
            (PutMode::IfMatch(etag), true) => match generation_of(etag) {
                Some(g) => request.if_generation_match(g),
                None => return Err(Error::PreconditionFailed { key: key.to_string(), source: None }),
            },
        };
        match request.send_bytes(payload).await {
            Ok(o) => Ok(PutResult { etag: o.generation.map(|g| g.to_string()) }),
            Err(e @ GcsError::PreconditionFailed(_)) if create_only => {
                Err(Error::AlreadyExists { key: key.to_string(), source: Some(Box::new(e)) })
            }
            Err(e) => Err(map_gcs_error(key.as_str(), e)),
        }
    }

    async fn upload(&self, key: &ObjectKey, source: UploadSource, options: UploadOptions) -> Result<PutResult> {
        key.require_object()?;
        options.put.validate()?;
        let mut meta = ObjectMetadata::new();
        meta.content_type = options.put.content_type.clone();
        for (k, v) in &options.put.metadata {
            meta = meta.metadata(k, v);
        }
        // GCS resumable uploads are sequential: memory is one chunk (part_size, or the client's
        // chunk size, rounded to a multiple of 256 KiB); `concurrency` has nothing to parallelise.
        let mut request = self.client.insert_object(&self.bucket, key.as_str()).object_metadata(meta);
        if let Some(size) = options.part_size {
            request = request.chunk_size(size);
        }
        let create_only = options.put.mode == PutMode::CreateOnly;
        request = match (&options.put.mode, self.conditional) {
            (PutMode::Overwrite, _) => request,
            (_, false) => return Err(Error::NotSupported { operation: "conditional upload", backend: BACKEND }),
            (PutMode::CreateOnly, true) => request.if_generation_match(0),
            (PutMode::IfMatch(etag), true) => match generation_of(etag) {
                Some(g) => request.if_generation_match(g),
                None => return Err(Error::PreconditionFailed { key: key.to_string(), source: None }),
            },
        };
        match request.send_stream(source, None).await {
            Ok(o) => Ok(PutResult { etag: o.generation.map(|g| g.to_string()) }),
            Err(e @ GcsError::PreconditionFailed(_)) if create_only => {
                Err(Error::AlreadyExists { key: key.to_string(), source: Some(Box::new(e)) })
            }
            Err(e) => Err(map_gcs_error(key.as_str(), e)),
        }
    }

    async fn get_opts(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        key.require_object()?;
        let mut request = self.client.download_object(&self.bucket, key.as_str());
        if let Some(etag) = &options.if_match {
            match generation_of(etag) {
                Some(g) => request = request.if_generation_match(g),
                None => return Err(Error::PreconditionFailed { key: key.to_string(), source: None }),
            }
        }
        if let Some(g) = options.if_none_match.as_deref().and_then(generation_of) {
            request = request.if_generation_not_match(g);
        }
        options.check_range(key)?;
        if let Some(range) = &options.range {
            let r = match range {
                GetRange::Bounded(r) => ByteRange::Inclusive(r.start, r.end - 1),
                GetRange::Offset(o) => ByteRange::From(*o),
                GetRange::Suffix(0) => return Err(Error::InvalidRange { key: key.to_string() }),
                GetRange::Suffix(n) => ByteRange::Last(*n),
            };
            request = request.range(r);
        }
        let download = request.send().await.map_err(|e| map_gcs_error(key.as_str(), e))?;
        let mut meta = meta_from_download(key, &download);
        // Some servers (the emulator) ignore generation preconditions and send no generation with
        // the bytes: learn it from the object's metadata, then check the conditions here.
        let conditional = options.if_match.is_some() || options.if_none_match.is_some();
        if conditional && meta.etag.is_none() {
            let object = self
                .client
                .get_object(&self.bucket, key.as_str())
                .send()
                .await
                .map_err(|e| map_gcs_error(key.as_str(), e))?;
            meta.etag = object.generation.map(|g| g.to_string());
        }
        options.check_etag(key, meta.etag.as_deref())?;
        let whole = download.status.as_u16() == 200;
        // The size from the client, or from `Content-Range` even when its range part is not one
        // (the emulator answers an offset past the end with `206` and `bytes 20-9/10`).
        let size = download.object_size.or_else(|| content_range_total(download.content_range.as_deref()));
        if let Some(size) = size {
            meta.size = size;
        }
        let (range, body): (Range<u64>, ByteStream) = match (&options.range, size) {
            (None, _) => (0..size.unwrap_or(0), download.body),
            (Some(requested), Some(size)) => {
                // Resolve locally too: some servers ignore parts of Range (suffixes) or answer an
                // unsatisfiable one with an empty 206.
                let Some(resolved) = requested.resolve(size) else {
                    return Err(Error::InvalidRange { key: key.to_string() });
                };
                if whole {
                    let take = resolved.end - resolved.start;
                    (resolved.clone(), slice_stream(download.body, resolved.start, take))
                } else {
                    (resolved, download.body)
                }
            }
            (Some(_), None) => {
                let start = content_range_start(download.content_range.as_deref());
                let len = download
                    .headers
                    .get("content-length")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0u64);
                (start..start + len, download.body)
            }
        };
        Ok(GetResult { meta, range, body })
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        key.require_object()?;
        let o = self
            .client
            .get_object(&self.bucket, key.as_str())
            .send()
            .await
            .map_err(|e| map_gcs_error(key.as_str(), e))?;
        Ok(meta_from_object(key.clone(), &o))
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        key.require_object()?;
        match self.client.delete_object(&self.bucket, key.as_str()).send().await {
            Ok(()) | Err(GcsError::NotFound(_)) => Ok(()),
            Err(e) => Err(map_gcs_error(key.as_str(), e)),
        }
    }

    fn delete_stream(&self, keys: BoxStream<'static, ObjectKey>) -> BoxStream<'static, DeleteResult> {
        super::delete_each(self.clone(), keys, DELETE_CONCURRENCY)
    }

    fn list_opts(&self, prefix: &ObjectKey, options: ListOptions) -> BoxStream<'static, Result<ObjectMeta>> {
        let mut request = self.client.list_objects(&self.bucket).prefix(Self::dir_prefix(prefix));
        let after = options.start_after.map(|k| k.to_string());
        if let Some(a) = &after {
            // startOffset is inclusive; the strictly-after filter below also covers servers that
            // ignore it.
            request = request.start_offset(a.clone());
        }
        let prefix = prefix.to_string();
        request
            .into_items(PaginationConfig::default())
            .map_err(move |e| map_gcs_error(&prefix, e))
            .try_filter_map(move |o| {
                let keep = after.as_deref().is_none_or(|a| o.name.as_str() > a);
                async move { Ok(if keep { meta_from_listing(&o) } else { None }) }
            })
            .boxed()
    }

    async fn list_with_delimiter(&self, prefix: &ObjectKey) -> Result<ListResult> {
        let request = self.client.list_objects(&self.bucket).prefix(Self::dir_prefix(prefix)).delimiter("/");
        let mut pages = request.into_pages(PaginationConfig::default());
        let mut result = ListResult::default();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| map_gcs_error(prefix.as_str(), e))?;
            result.objects.extend(page.items.iter().filter_map(meta_from_listing));
            for p in page.prefixes {
                match ObjectKey::parse(p.strip_suffix('/').unwrap_or(&p)) {
                    Ok(k) => result.common_prefixes.push(k),
                    Err(_) => tracing::warn!(prefix = %p, "skipping a GCS prefix the neutral layer cannot represent"),
                }
            }
        }
        result.objects.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
        result.common_prefixes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(result)
    }

    async fn copy_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        // (A rewrite onto itself would make a new generation: the preamble makes it the same
        // no-op as elsewhere.)
        if super::copy_preamble(self, from, to, &options, self.conditional).await? {
            return Ok(());
        }
        self.rewrite(from, to, &options, None).await
    }

    /// Copy, then delete: the copy is of the generation just read (`sourceGeneration`), and the
    /// delete is conditioned on it (`ifGenerationMatch`), so a generation written by someone else
    /// after the copy is never deleted. (Servers that ignore preconditions, such as the emulator,
    /// keep the window between the copy and the delete open.)
    async fn rename_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        if super::copy_preamble(self, from, to, &options, self.conditional).await? {
            return Ok(());
        }
        for _ in 0..RENAME_ATTEMPTS {
            let object = self
                .client
                .get_object(&self.bucket, from.as_str())
                .send()
                .await
                .map_err(|e| map_gcs_error(from.as_str(), e))?;
            let Some(generation) = object.generation else {
                return Err(Error::Provider {
                    backend: BACKEND,
                    source: format!("{from}: objects.get returned no generation to condition the rename on").into(),
                });
            };
            match self.rewrite(from, to, &options, Some(generation)).await {
                Ok(()) => {}
                // That generation is gone (rewritten or deleted since it was read): again.
                Err(Error::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            }
            let deleted =
                self.client.delete_object(&self.bucket, from.as_str()).if_generation_match(generation).send().await;
            return match deleted {
                Ok(()) => Ok(()),
                Err(GcsError::PreconditionFailed(_) | GcsError::NotFound(_)) => {
                    tracing::debug!(key = %from, "rename: the source changed after the copy; the newer source is kept");
                    Ok(())
                }
                Err(e) => Err(map_gcs_error(from.as_str(), e)),
            };
        }
        Err(Error::PreconditionFailed { key: from.to_string(), source: None })
    }

    async fn signed_url(&self, method: SignedMethod, key: &ObjectKey, expires_in: Duration) -> Result<url::Url> {
        key.require_object()?;
        if !self.signed_urls {
            return Err(Error::NotSupported {
                operation: "signed URLs (no service-account key or signer)",
                backend: BACKEND,
            });
        }
        let method = match method {
            SignedMethod::Get => Method::GET,
            SignedMethod::Put => Method::PUT,
            SignedMethod::Head => Method::HEAD,
            SignedMethod::Delete => Method::DELETE,
        };
        let signed = self
            .client
            .signed_url(method, &self.bucket, Some(key.as_str()), expires_in, SignedUrlOptions::default())
            .await
            .map_err(|e| map_gcs_error(key.as_str(), e))?;
        Ok(signed.url)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cloudkit_core::Url;
    use cloudkit_core::testing::{Canned, ReplayHttp};
    use cloudkit_cred_chain::gcp::{GcpConfig, GcpEnv};

    use super::*;
    use crate::store::ObjectStoreExt;
    use crate::store::resume_tests;

    /// A store built the way users build one: a config loaded from a fake environment with
    /// anonymous credentials (so no signer), the replayed HTTP set on the client builder.
    async fn store(http: &Arc<ReplayHttp>) -> GcsStore {
        GcsStore::new(StorageClient::builder(&config().await).http(http.clone()).build().unwrap(), "b")
    }

    async fn config() -> GcpConfig {
        GcpConfig::loader().env(GcpEnv::from_pairs([("GOOGLE_CLOUD_PROJECT", "p")])).anonymous().load().await.unwrap()
    }

    /// A store like [`store`]'s whose client retries (and resumes) without waiting in between.
    async fn resuming_store(http: &Arc<ReplayHttp>) -> GcsStore {
        let retry = cloudkit_core::RetryConfig::standard().with_initial_backoff(Duration::ZERO);
        let client = StorageClient::builder(&config().await).http(http.clone()).retry(retry).build().unwrap();
        GcsStore::new(client, "b")
    }

    /// What GCS sends with every read of generation `generation` of `data`: the generation and
    /// the whole object's MD5.
    fn with_version(canned: Canned, data: &[u8], generation: i64) -> Canned {
        canned
            .with_header("x-goog-generation", &generation.to_string())
            .with_header("x-goog-hash", &format!("md5={}", cloudkit_core::md5_base64(data)))
            .with_header("x-goog-stored-content-length", &data.len().to_string())
    }

    /// A 206 answer with bytes `start..` of `body`, generation `generation` of `stored`.
    fn rest(body: &[u8], start: usize, stored: &[u8], generation: i64) -> Canned {
        let canned = Canned::status(206, body[start..].to_vec())
            .with_header("content-length", &(body.len() - start).to_string())
            .with_header("content-range", &format!("bytes {start}-{}/{}", body.len() - 1, body.len()));
        with_version(canned, stored, generation)
    }

    fn whole(data: &[u8]) -> Canned {
        let canned = Canned::status(200, data.to_vec()).with_header("content-length", &data.len().to_string());
        with_version(canned, data, 17)
    }

    // Issue 15, "resume interrupted downloads" through the store: ranged reads pinned by
    // `ifGenerationMatch` to the generation first read, the MD5 verified over the resumed stream;
    // a 412, or a server that ignores the condition and answers with another generation, is
    // `Error::ObjectChanged`.
    resume_tests::resume_tests!(
        a_broken_get_resumes_from_the_last_byte_pinned_to_the_generation,
        a_get_resumed_on_a_replaced_object_is_object_changed,
        resume_tests::Backend::new(
            whole,
            |body, start, stored| rest(body, start, stored, 17),
            "range",
            |r| has(&r.url, "ifGenerationMatch", "17"),
            "md5"
        ),
        [
            Canned::status(412, r#"{"error":{"code":412,"errors":[{"reason":"conditionNotMet"}]}}"#),
            rest(&resume_tests::object_bytes(), 300, &resume_tests::object_bytes(), 18)
        ]
    );

    fn has(url: &Url, k: &str, v: &str) -> bool {
        url.query_pairs().any(|(a, b)| a == k && b == v)
    }

    // gcp-storage-emulator ignores generation preconditions, so the conditional paths of the
    // backend are checked here on canned GCS responses.
    #[tokio::test]
    async fn conditional_writes_and_reads_use_generations() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        assert!(s.capabilities().conditional_put);
        let key = ObjectKey::parse("doc").unwrap();

        http.push(Canned::status(412, r#"{"error":{"code":412,"errors":[{"reason":"conditionNotMet"}]}}"#));
        let e = s.put_opts(&key, "x".into(), PutOptions::create_only()).await.unwrap_err();
        assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
        assert!(has(&http.requests()[0].url, "ifGenerationMatch", "0"));

        http.push(Canned::status(412, r#"{"error":{"code":412,"errors":[{"reason":"conditionNotMet"}]}}"#));
        let e =
            s.put_opts(&key, "x".into(), PutOptions::default().mode(PutMode::IfMatch("17".into()))).await.unwrap_err();
        assert!(matches!(e, Error::PreconditionFailed { .. }), "{e:?}");
        assert!(has(&http.requests()[1].url, "ifGenerationMatch", "17"));

        // an etag that is not a generation can never match: nothing is sent
        let e = s
            .put_opts(&key, "x".into(), PutOptions::default().mode(PutMode::IfMatch("\"stale\"".into())))
            .await
            .unwrap_err();
        assert!(matches!(e, Error::PreconditionFailed { .. }));
        assert_eq!(http.requests().len(), 2);

        http.push(Canned::status(304, ""));
        let e =
            s.get_opts(&key, GetOptions { if_none_match: Some("5".into()), ..Default::default() }).await.unwrap_err();
        assert!(matches!(e, Error::NotModified { .. }), "{e:?}");
        assert!(has(&http.requests()[2].url, "ifGenerationNotMatch", "5"));

        http.push(Canned::status(412, ""));
        let e = s.get_opts(&key, GetOptions { if_match: Some("6".into()), ..Default::default() }).await.unwrap_err();
        assert!(matches!(e, Error::PreconditionFailed { .. }), "{e:?}");
        assert!(has(&http.requests()[3].url, "ifGenerationMatch", "6"));

        http.push(Canned::status(412, ""));
        let e =
            s.copy_opts(&key, &ObjectKey::parse("dst").unwrap(), CopyOptions { create_only: true }).await.unwrap_err();
        assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
    }

    fn object_json(name: &str, generation: i64) -> String {
        format!(
            r#"{{"kind":"storage#object","name":"{name}","bucket":"b","generation":"{generation}","metageneration":"1","size":"7"}}"#
        )
    }

    fn rewritten(name: &str, generation: i64) -> Canned {
        Canned::status(
            200,
            format!(r#"{{"kind":"storage#rewriteResponse","done":true,"resource":{}}}"#, object_json(name, generation)),
        )
    }

    // Issue 15, defect 1: the copy of a rename is of the generation just read, and its delete is
    // conditioned on that generation; a source rewritten after the copy (412) is kept.
    #[tokio::test]
    async fn rename_copies_and_deletes_only_the_generation_it_read() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        let (from, to) = (ObjectKey::parse("src").unwrap(), ObjectKey::parse("dst").unwrap());
        http.push(Canned::status(200, object_json("src", 17)));
        http.push(rewritten("dst", 30));
        http.push(Canned::status(412, r#"{"error":{"code":412,"errors":[{"reason":"conditionNotMet"}]}}"#));
        s.rename(&from, &to).await.unwrap();
        let sent = http.requests();
        assert_eq!(sent.len(), 3, "get, rewrite, conditional delete: {sent:?}");
        assert!(has(&sent[1].url, "sourceGeneration", "17"), "{}", sent[1].url);
        assert_eq!(sent[2].method, Method::DELETE);
        assert!(has(&sent[2].url, "ifGenerationMatch", "17"), "the delete is conditional: {}", sent[2].url);

        // The generation read is gone before the rewrite (404): read again, copy the new one.
        http.push(Canned::status(200, object_json("src", 17)));
        http.push(Canned::status(404, r#"{"error":{"code":404,"errors":[{"reason":"notFound"}]}}"#));
        http.push(Canned::status(200, object_json("src", 18)));
        http.push(rewritten("dst", 31));
        http.push(Canned::status(204, ""));
        s.rename(&from, &to).await.unwrap();
        let sent = &http.requests()[3..];
        assert_eq!(sent.len(), 5);
        assert!(has(&sent[3].url, "sourceGeneration", "18"));
        assert!(has(&sent[4].url, "ifGenerationMatch", "18"));
    }

    // Issue 15, defect 1: a rename onto itself rewrote the object onto itself, then deleted it.
    #[tokio::test]
    async fn rename_onto_itself_only_checks_the_object_exists() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        let key = ObjectKey::parse("same").unwrap();
        http.push(Canned::status(200, object_json("same", 5)));
        s.rename(&key, &key).await.unwrap();
        http.push(Canned::status(200, object_json("same", 5)));
        s.copy(&key, &key).await.unwrap();
        http.push(Canned::status(200, object_json("same", 5)));
        let e = s.rename_opts(&key, &key, CopyOptions { create_only: true }).await.unwrap_err();
        assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
        http.push(Canned::status(404, r#"{"error":{"code":404,"errors":[{"reason":"notFound"}]}}"#));
        let e = s.rename(&key, &key).await.unwrap_err();
        assert!(e.is_not_found(), "{e:?}");
        assert!(http.requests().iter().all(|r| r.method == Method::GET), "nothing but metadata reads");
    }

    #[tokio::test]
    async fn errors_map_to_neutral_kinds() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        let key = ObjectKey::parse("k").unwrap();
        for (status, reason, check) in [
            (403u16, "forbidden", (|e: &Error| matches!(e, Error::PermissionDenied { .. })) as fn(&Error) -> bool),
            (401, "required", |e: &Error| matches!(e, Error::Unauthenticated { .. })),
            (404, "notFound", |e: &Error| matches!(e, Error::NotFound { .. })),
            (400, "invalid", |e: &Error| matches!(e, Error::Provider { .. })),
        ] {
            http.push(Canned::status(
                status,
                format!(r#"{{"error":{{"code":{status},"errors":[{{"reason":"{reason}"}}]}}}}"#),
            ));
            let e = s.head(&key).await.unwrap_err();
            assert!(check(&e), "{status}: {e:?}");
        }
        // anonymous clients have no signer
        assert!(!s.capabilities().signed_urls);
        let e = s.signed_url(SignedMethod::Get, &key, Duration::from_secs(5)).await.unwrap_err();
        assert!(matches!(e, Error::NotSupported { .. }));
    }

    // The emulator answers an offset past the end with 206 and an inverted range.
    #[tokio::test]
    async fn an_unsatisfiable_range_is_invalid_range_whatever_the_server_sends() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        let key = ObjectKey::parse("digits").unwrap();
        http.push(
            Canned::status(206, "").with_header("content-range", "bytes 20-9/10").with_header("content-length", "0"),
        );
        let e = s.get_opts(&key, GetOptions { range: Some(GetRange::Offset(20)), ..Default::default() }).await;
        assert!(matches!(e, Err(Error::InvalidRange { .. })), "{e:?}");
    }

    #[tokio::test]
    async fn ignored_ranges_are_trimmed_locally() {
        let http = Arc::new(ReplayHttp::new());
        let s = store(&http).await;
        let key = ObjectKey::parse("digits").unwrap();
        http.push(Canned::status(200, "0123456789").with_header("content-length", "10"));
        let r = s.get_opts(&key, GetOptions { range: Some(GetRange::Suffix(3)), ..Default::default() }).await.unwrap();
        assert_eq!(r.range, 7..10);
        assert_eq!(&r.bytes().await.unwrap()[..], b"789");
        assert_eq!(http.requests()[0].headers["range"], "bytes=-3");
    }
}
