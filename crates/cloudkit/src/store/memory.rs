//! An in-memory store: every operation, no I/O. For tests and caches.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bytes::{Bytes, BytesMut};
use cloudkit_core::ByteStream;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::RwLock;

use super::{
    Capabilities, CopyOptions, DeleteResult, Error, GetOptions, GetResult, ListOptions, ListResult, ObjectKey,
    ObjectMeta, ObjectStore, PutMode, PutOptions, PutResult, Result, SignedMethod, UploadOptions, UploadSource,
};

#[derive(Clone, Debug)]
struct Entry {
    data: Bytes,
    meta: ObjectMeta,
}

/// An object store held in memory. Clones share the same objects.
#[derive(Clone, Debug, Default)]
pub struct InMemory {
    objects: Arc<RwLock<BTreeMap<ObjectKey, Entry>>>,
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl InMemory {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn next_etag(&self) -> String {
        let n = self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        format!("\"{n:016x}\"")
    }

    fn check_mode(key: &ObjectKey, mode: &PutMode, existing: Option<&Entry>) -> Result<()> {
        match (mode, existing) {
            (PutMode::Overwrite, _) => Ok(()),
            (PutMode::CreateOnly, Some(_)) => Err(Error::AlreadyExists { key: key.to_string(), source: None }),
            (PutMode::CreateOnly, None) => Ok(()),
            (PutMode::IfMatch(etag), Some(e)) if e.meta.etag.as_deref() == Some(etag.as_str()) => Ok(()),
            (PutMode::IfMatch(_), _) => Err(Error::PreconditionFailed { key: key.to_string(), source: None }),
        }
    }

    async fn store(&self, key: &ObjectKey, data: Bytes, options: PutOptions) -> Result<PutResult> {
        key.require_object()?;
        options.validate()?;
        let mut objects = self.objects.write().await;
        Self::check_mode(key, &options.mode, objects.get(key))?;
        let etag = self.next_etag();
        let meta = ObjectMeta {
            key: key.clone(),
            size: data.len() as u64,
            last_modified: Some(SystemTime::now()),
            etag: Some(etag.clone()),
            content_type: options.content_type,
            metadata: options.metadata,
        };
        objects.insert(key.clone(), Entry { data, meta });
        Ok(PutResult { etag: Some(etag) })
    }

    async fn entry(&self, key: &ObjectKey) -> Result<Entry> {
        key.require_object()?;
        self.objects.read().await.get(key).cloned().ok_or_else(|| Error::not_found(key.as_str()))
    }
}

#[async_trait]
impl ObjectStore for InMemory {
    fn backend(&self) -> &'static str {
        "memory"
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::LOCAL
    }

    async fn put_opts(&self, key: &ObjectKey, payload: Bytes, options: PutOptions) -> Result<PutResult> {
        self.store(key, payload, options).await
    }

    async fn upload(&self, key: &ObjectKey, source: UploadSource, options: UploadOptions) -> Result<PutResult> {
        key.require_object()?;
        options.put.validate()?;
        let chunks: Vec<Bytes> =
            source.try_collect().await.map_err(|e| Error::Transport { backend: "memory", source: Box::new(e) })?;
        let mut data = BytesMut::with_capacity(chunks.iter().map(Bytes::len).sum());
        for c in chunks {
            data.extend_from_slice(&c);
        }
        self.store(key, data.freeze(), options.put).await
    }

    async fn get_opts(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        let entry = self.entry(key).await?;
        let etag = entry.meta.etag.as_deref();
        if let Some(expected) = &options.if_match
            && etag != Some(expected.as_str())
        {
            return Err(Error::PreconditionFailed { key: key.to_string(), source: None });
        }
        if let Some(not_expected) = &options.if_none_match
            && etag == Some(not_expected.as_str())
        {
            return Err(Error::NotModified { key: key.to_string(), source: None });
        }
        let size = entry.meta.size;
        let range = match &options.range {
            Some(r) => r.resolve(size).ok_or_else(|| Error::InvalidRange { key: key.to_string() })?,
            None => 0..size,
        };
        let start = usize::try_from(range.start).map_err(|_| Error::InvalidRange { key: key.to_string() })?;
        let end = usize::try_from(range.end).map_err(|_| Error::InvalidRange { key: key.to_string() })?;
        let body = ByteStream::from_bytes(entry.data.slice(start..end));
        Ok(GetResult { meta: entry.meta, range, body })
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        Ok(self.entry(key).await?.meta)
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        key.require_object()?;
        self.objects.write().await.remove(key);
        Ok(())
    }

    fn delete_stream(&self, keys: BoxStream<'static, ObjectKey>) -> BoxStream<'static, DeleteResult> {
        super::delete_each(self.clone(), keys, 16)
    }

    fn list_opts(&self, prefix: &ObjectKey, options: ListOptions) -> BoxStream<'static, Result<ObjectMeta>> {
        let store = self.clone();
        let prefix = prefix.clone();
        futures::stream::once(async move {
            let objects = store.objects.read().await;
            let items: Vec<Result<ObjectMeta>> = objects
                .values()
                .filter(|e| e.meta.key.starts_with(&prefix) && e.meta.key != prefix)
                .filter(|e| options.start_after.as_ref().is_none_or(|after| e.meta.key.as_str() > after.as_str()))
                .map(|e| Ok(e.meta.clone()))
                .collect();
            futures::stream::iter(items)
        })
        .flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: &ObjectKey) -> Result<ListResult> {
        let objects = self.objects.read().await;
        let mut result = ListResult::default();
        for entry in objects.values() {
            let Some(rest) = entry.meta.key.strip_prefix(prefix) else { continue };
            match rest.split_once('/') {
                None if !rest.is_empty() => result.objects.push(entry.meta.clone()),
                None => {}
                Some((dir, _)) => {
                    let common = prefix.join(dir)?;
                    if result.common_prefixes.last() != Some(&common) {
                        result.common_prefixes.push(common);
                    }
                }
            }
        }
        Ok(result)
    }

    async fn copy_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        if from == to {
            return super::onto_itself(self, from, &options).await;
        }
        to.require_object()?;
        let mut objects = self.objects.write().await;
        let source = objects.get(from).cloned().ok_or_else(|| Error::not_found(from.as_str()))?;
        if options.create_only && objects.contains_key(to) {
            return Err(Error::AlreadyExists { key: to.to_string(), source: None });
        }
        let mut meta = source.meta.clone();
        meta.key = to.clone();
        meta.etag = Some(self.next_etag());
        meta.last_modified = Some(SystemTime::now());
        objects.insert(to.clone(), Entry { data: source.data, meta });
        Ok(())
    }

    async fn rename_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        if from == to {
            return super::onto_itself(self, from, &options).await;
        }
        to.require_object()?;
        // One write lock for the check, the removal and the insertion: atomic.
        let mut objects = self.objects.write().await;
        if options.create_only && objects.contains_key(to) {
            return Err(Error::AlreadyExists { key: to.to_string(), source: None });
        }
        let mut entry = objects.remove(from).ok_or_else(|| Error::not_found(from.as_str()))?;
        entry.meta.key = to.clone();
        objects.insert(to.clone(), entry);
        Ok(())
    }

    async fn signed_url(&self, _: SignedMethod, _: &ObjectKey, _: Duration) -> Result<url::Url> {
        Err(Error::NotSupported { operation: "signed URLs", backend: "memory" })
    }
}
