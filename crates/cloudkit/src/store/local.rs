//! A store in a directory of the local file system.
//!
//! Writes are atomic (a temporary file in the same directory, then a rename), keys can never
//! reach outside the root (`..`, absolute paths and symlinks are refused), and content type and
//! user metadata are kept in a side file under `<root>/.cloudkit-meta/` so nothing a caller set is
//! silently dropped.

use std::collections::BTreeMap;
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use async_trait::async_trait;
use bytes::Bytes;
use cloudkit_core::internal::blocking;
use cloudkit_core::internal::json::{self, JsonError, Value};
use cloudkit_core::{ByteStream, TransportError, TransportErrorKind};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::{
    Capabilities, CopyOptions, DeleteResult, Error, GetOptions, GetResult, ListOptions, ListResult, ObjectKey,
    ObjectMeta, ObjectStore, PutMode, PutOptions, PutResult, Result, SignedMethod, UploadOptions, UploadSource,
};

const BACKEND: &str = "local";
const META_DIR: &str = ".cloudkit-meta";
const TMP_PREFIX: &str = ".cloudkit-tmp-";
const READ_CHUNK: usize = 256 * 1024;

/// An object store rooted at a directory.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudkit::store::Result<()> {
/// use cloudkit::store::{LocalFileSystem, ObjectKey, ObjectStoreExt};
/// let dir = std::env::temp_dir().join(format!("cloudkit-doc-{}", std::process::id()));
/// let store = LocalFileSystem::create(&dir).await?;
/// store.put(&ObjectKey::parse("a/b.txt")?, "hi".into()).await?;
/// assert!(store.exists(&ObjectKey::parse("a/b.txt")?).await?);
/// # tokio::fs::remove_dir_all(&dir).await.ok(); Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct LocalFileSystem {
    root: Arc<PathBuf>,
    // Serializes if-match writes inside this process (the check and the rename).
    write_lock: Arc<tokio::sync::Mutex<()>>,
}

/// The side file: `{"content_type": "…", "metadata": {"key": "value", …}}`, both members optional.
#[derive(Debug, Default, PartialEq)]
struct SideMeta {
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
}

impl SideMeta {
    fn to_json(&self) -> String {
        let mut out = String::from("{");
        if let Some(content_type) = &self.content_type {
            out.push_str("\"content_type\":");
            json::write_str(&mut out, content_type);
        }
        if !self.metadata.is_empty() {
            if self.content_type.is_some() {
                out.push(',');
            }
            out.push_str("\"metadata\":{");
            for (i, (k, v)) in self.metadata.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json::write_str(&mut out, k);
                out.push(':');
                json::write_str(&mut out, v);
            }
            out.push('}');
        }
        out.push('}');
        out
    }

    fn from_json(bytes: &[u8]) -> std::result::Result<Self, JsonError> {
        let doc = Value::parse(bytes)?;
        let mut metadata = BTreeMap::new();
        if let Some(map) = doc.object_field("metadata")? {
            for (k, v) in map.as_object().unwrap_or_default() {
                let v = v.as_str().ok_or_else(|| JsonError::new(format!("metadata value of `{k}` is not a string")))?;
                metadata.insert(k.to_string(), v.to_owned());
            }
        }
        Ok(Self { content_type: doc.string_field("content_type")?, metadata })
    }
}

fn io_error(e: std::io::Error) -> Error {
    Error::Transport { backend: BACKEND, source: Box::new(e) }
}

fn io_error_for(key: &ObjectKey, e: std::io::Error) -> Error {
    match e.kind() {
        IoKind::NotFound => Error::NotFound { key: key.to_string(), source: Some(Box::new(e)) },
        IoKind::PermissionDenied => Error::PermissionDenied { message: key.to_string(), source: Some(Box::new(e)) },
        _ => io_error(e),
    }
}

impl LocalFileSystem {
    /// A store rooted at the existing directory `root`.
    pub async fn new(root: impl AsRef<Path>) -> Result<Self> {
        let root = blocking::canonicalize(root.as_ref())
            .await
            .map_err(|e| Error::invalid_input(format!("store root {}: {e}", root.as_ref().display())))?;
        let meta = blocking::metadata(&root).await.map_err(io_error)?;
        if !meta.is_dir() {
            return Err(Error::invalid_input(format!("store root {} is not a directory", root.display())));
        }
        Ok(Self { root: Arc::new(root), write_lock: Arc::new(tokio::sync::Mutex::new(())) })
    }

    /// Like [`new`](Self::new), creating the directory (and its parents) first.
    pub async fn create(root: impl AsRef<Path>) -> Result<Self> {
        blocking::create_dir_all(root.as_ref()).await.map_err(io_error)?;
        Self::new(root).await
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The file of `key`, after checking that no existing component is a symlink (one blocking
    /// job for all the components).
    async fn path_of(&self, key: &ObjectKey) -> Result<PathBuf> {
        let mut path = (*self.root).clone();
        let segments: Vec<String> = key.segments().map(str::to_owned).collect();
        let symlinked = blocking::run_io(move || {
            for segment in segments {
                path.push(segment);
                match std::fs::symlink_metadata(&path) {
                    Ok(m) if m.file_type().is_symlink() => return Ok(true),
                    Ok(_) => {}
                    Err(e) if e.kind() == IoKind::NotFound => return Ok(false),
                    Err(e) => return Err(e),
                }
            }
            Ok(false)
        })
        .await
        .map_err(|e| io_error_for(key, e))?;
        if symlinked {
            return Err(Error::PermissionDenied {
                message: format!("{key}: symlinks inside the store root are not followed"),
                source: None,
            });
        }
        let mut full = (*self.root).clone();
        full.extend(key.segments());
        Ok(full)
    }

    fn meta_path(&self, key: &ObjectKey) -> PathBuf {
        let mut p = self.root.join(META_DIR);
        p.extend(key.segments());
        p.set_file_name(format!("{}.json", key.filename().unwrap_or("_")));
        p
    }

    fn tmp_path_near(target: &Path) -> PathBuf {
        let name = format!("{TMP_PREFIX}{:016x}", fastrand::u64(..));
        target.with_file_name(name)
    }

    fn etag_of(meta: &std::fs::Metadata) -> String {
        let nanos = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        format!("\"{:x}-{:x}\"", nanos, meta.len())
    }

    /// The object's content type and metadata. No side file means none were set; a side file
    /// that cannot be read is an error (never silently an object without its metadata).
    async fn read_side_meta(&self, key: &ObjectKey) -> Result<SideMeta> {
        let path = self.meta_path(key);
        match blocking::read(&path).await {
            Ok(bytes) => SideMeta::from_json(&bytes).map_err(|e| Error::Provider {
                backend: BACKEND,
                source: format!("{key}: the metadata side file {} is damaged: {e}", path.display()).into(),
            }),
            Err(e) if e.kind() == IoKind::NotFound => Ok(SideMeta::default()),
            Err(e) => Err(io_error(e)),
        }
    }

    async fn write_side_meta(&self, key: &ObjectKey, options: &PutOptions) -> Result<()> {
        let path = self.meta_path(key);
        if options.content_type.is_none() && options.metadata.is_empty() {
            return remove_if_exists(&path).await;
        }
        let side = SideMeta { content_type: options.content_type.clone(), metadata: options.metadata.clone() };
        let json = side.to_json();
        if let Some(parent) = path.parent() {
            blocking::create_dir_all(parent).await.map_err(io_error)?;
        }
        let tmp = Self::tmp_path_near(&path);
        blocking::write(&tmp, Bytes::from(json)).await.map_err(io_error)?;
        blocking::rename(&tmp, &path).await.map_err(io_error)
    }

    fn meta_from_fs(key: &ObjectKey, meta: &std::fs::Metadata) -> ObjectMeta {
        let mut out = ObjectMeta::new(key.clone(), meta.len());
        out.last_modified = meta.modified().ok();
        out.etag = Some(Self::etag_of(meta));
        out
    }

    async fn meta_with_side(&self, key: &ObjectKey, meta: &std::fs::Metadata) -> Result<ObjectMeta> {
        let mut out = Self::meta_from_fs(key, meta);
        let side = self.read_side_meta(key).await?;
        out.content_type = side.content_type;
        out.metadata = side.metadata;
        Ok(out)
    }

    /// Moves a finished temporary file into place according to `mode`, then records the metadata.
    async fn place(&self, key: &ObjectKey, tmp: &Path, target: &Path, options: &PutOptions) -> Result<PutResult> {
        let result = match &options.mode {
            PutMode::Overwrite => blocking::rename(tmp, target).await.map_err(io_error),
            PutMode::CreateOnly => match blocking::hard_link(tmp, target).await {
                Ok(()) => remove_if_exists(tmp).await,
                Err(e) if e.kind() == IoKind::AlreadyExists => {
                    Err(Error::AlreadyExists { key: key.to_string(), source: None })
                }
                Err(e) => Err(io_error(e)),
            },
            PutMode::IfMatch(expected) => {
                let _guard = self.write_lock.lock().await;
                match blocking::metadata(target).await {
                    Ok(m) if &Self::etag_of(&m) == expected => blocking::rename(tmp, target).await.map_err(io_error),
                    Ok(_) | Err(_) => Err(Error::PreconditionFailed { key: key.to_string(), source: None }),
                }
            }
        };
        if result.is_err() {
            let _ = blocking::remove_file(tmp).await;
        }
        result?;
        self.write_side_meta(key, options).await?;
        let meta = blocking::metadata(target).await.map_err(io_error)?;
        Ok(PutResult { etag: Some(Self::etag_of(&meta)) })
    }

    async fn prepare_target(&self, key: &ObjectKey) -> Result<PathBuf> {
        key.require_object()?;
        let target = self.path_of(key).await?;
        if let Some(parent) = target.parent() {
            blocking::create_dir_all(parent).await.map_err(|e| io_error_for(key, e))?;
        }
        if blocking::metadata(&target).await.is_ok_and(|m| m.is_dir()) {
            return Err(Error::invalid_input(format!("{key} is a directory in the local store")));
        }
        Ok(target)
    }

    /// Removes now-empty directories between `path`'s parent and the root.
    async fn prune_empty_dirs(&self, path: &Path) {
        let mut dir = path.parent().map(Path::to_path_buf);
        while let Some(d) = dir {
            if d == *self.root || !d.starts_with(&*self.root) {
                break;
            }
            if blocking::remove_dir(&d).await.is_err() {
                break; // not empty (or gone): stop
            }
            dir = d.parent().map(Path::to_path_buf);
        }
    }

    /// Every file under `dir` as (key, metadata), skipping cloudkit's own files.
    async fn walk(&self, dir: PathBuf, prefix: ObjectKey) -> Result<Vec<(ObjectKey, std::fs::Metadata)>> {
        let mut out = Vec::new();
        let mut stack = vec![(dir, prefix)];
        while let Some((dir, prefix)) = stack.pop() {
            for (key, entry) in dir_entries(&dir, &prefix).await? {
                match entry {
                    Entry::Dir(path) => stack.push((path, key)),
                    Entry::File(meta) => out.push((key, meta)),
                }
            }
        }
        out.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        Ok(out)
    }
}

/// One entry of a directory listing.
enum Entry {
    Dir(PathBuf),
    File(std::fs::Metadata),
}

/// The entries of `dir` as keys under `prefix`, skipping cloudkit's own files and names that are
/// not valid keys; a missing directory is empty.
async fn dir_entries(dir: &Path, prefix: &ObjectKey) -> Result<Vec<(ObjectKey, Entry)>> {
    let entries = match blocking::read_dir(dir).await {
        Ok(e) => e,
        Err(e) if e.kind() == IoKind::NotFound || e.kind() == IoKind::NotADirectory => return Ok(Vec::new()),
        Err(e) => return Err(io_error(e)),
    };
    Ok(entries
        .into_iter()
        .filter_map(|entry| {
            let name = entry.name.to_str()?;
            if name.starts_with(".cloudkit") {
                return None;
            }
            let key = prefix.join(name).ok()?;
            if entry.file_type.is_dir() {
                Some((key, Entry::Dir(entry.path)))
            } else {
                entry.metadata.map(|meta| (key, Entry::File(meta)))
            }
        })
        .collect())
}

async fn remove_if_exists(path: &Path) -> Result<()> {
    match blocking::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == IoKind::NotFound => Ok(()),
        Err(e) => Err(io_error(e)),
    }
}

fn file_stream(file: tokio::fs::File, len: u64) -> ByteStream {
    ByteStream::new(cloudkit_core::file_chunks(file, len, READ_CHUNK).map_err(|e| {
        let message = if e.kind() == IoKind::UnexpectedEof {
            "the local file shrank while being read"
        } else {
            "reading the local file failed"
        };
        TransportError::new(TransportErrorKind::Body, message).with_source(e)
    }))
}

#[async_trait]
impl ObjectStore for LocalFileSystem {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities::LOCAL
    }

    async fn put_opts(&self, key: &ObjectKey, payload: Bytes, options: PutOptions) -> Result<PutResult> {
        options.validate()?;
        let target = self.prepare_target(key).await?;
        let tmp = Self::tmp_path_near(&target);
        if let Err(e) = blocking::write(&tmp, payload.clone()).await {
            let _ = blocking::remove_file(&tmp).await;
            return Err(io_error(e));
        }
        self.place(key, &tmp, &target, &options).await
    }

    async fn upload(&self, key: &ObjectKey, mut source: UploadSource, options: UploadOptions) -> Result<PutResult> {
        options.put.validate()?;
        let target = self.prepare_target(key).await?;
        let tmp = Self::tmp_path_near(&target);
        let written: Result<()> = async {
            let mut file = blocking::create(&tmp).await.map_err(io_error)?;
            while let Some(chunk) = source.next().await {
                let chunk = chunk.map_err(io_error)?;
                file.write_all(&chunk).await.map_err(io_error)?;
            }
            file.flush().await.map_err(io_error)?;
            Ok(())
        }
        .await;
        if let Err(e) = written {
            let _ = blocking::remove_file(&tmp).await;
            return Err(e);
        }
        self.place(key, &tmp, &target, &options.put).await
    }

    async fn get_opts(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult> {
        key.require_object()?;
        let path = self.path_of(key).await?;
        let mut file = blocking::open(&path).await.map_err(|e| io_error_for(key, e))?;
        let fs_meta = file.metadata().await.map_err(io_error)?;
        if fs_meta.is_dir() {
            return Err(Error::not_found(key.as_str()));
        }
        let meta = self.meta_with_side(key, &fs_meta).await?;
        if let Some(expected) = &options.if_match
            && meta.etag.as_deref() != Some(expected.as_str())
        {
            return Err(Error::PreconditionFailed { key: key.to_string(), source: None });
        }
        if let Some(not_expected) = &options.if_none_match
            && meta.etag.as_deref() == Some(not_expected.as_str())
        {
            return Err(Error::NotModified { key: key.to_string(), source: None });
        }
        let range = match &options.range {
            Some(r) => r.resolve(meta.size).ok_or_else(|| Error::InvalidRange { key: key.to_string() })?,
            None => 0..meta.size,
        };
        file.seek(std::io::SeekFrom::Start(range.start)).await.map_err(io_error)?;
        let body = file_stream(file, range.end - range.start);
        Ok(GetResult { meta, range, body })
    }

    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta> {
        key.require_object()?;
        let path = self.path_of(key).await?;
        let fs_meta = blocking::metadata(&path).await.map_err(|e| io_error_for(key, e))?;
        if !fs_meta.is_file() {
            return Err(Error::not_found(key.as_str()));
        }
        self.meta_with_side(key, &fs_meta).await
    }

    async fn delete(&self, key: &ObjectKey) -> Result<()> {
        key.require_object()?;
        let path = self.path_of(key).await?;
        match blocking::remove_file(&path).await {
            Ok(()) => {}
            Err(e) if e.kind() == IoKind::NotFound => return Ok(()),
            Err(e) if blocking::metadata(&path).await.is_ok_and(|m| m.is_dir()) => {
                drop(e);
                return Ok(()); // a "directory" is not an object
            }
            Err(e) => return Err(io_error_for(key, e)),
        }
        let meta_path = self.meta_path(key);
        remove_if_exists(&meta_path).await?;
        self.prune_empty_dirs(&path).await;
        self.prune_empty_dirs(&meta_path).await;
        Ok(())
    }

    fn delete_stream(&self, keys: BoxStream<'static, ObjectKey>) -> BoxStream<'static, DeleteResult> {
        super::delete_each(self.clone(), keys, 8)
    }

    fn list_opts(&self, prefix: &ObjectKey, options: ListOptions) -> BoxStream<'static, Result<ObjectMeta>> {
        let store = self.clone();
        let prefix = prefix.clone();
        futures::stream::once(async move {
            let items: Vec<Result<ObjectMeta>> = async {
                let dir = store.path_of(&prefix).await?;
                let files = store.walk(dir, prefix.clone()).await?;
                let mut out = Vec::with_capacity(files.len());
                for (key, meta) in files {
                    if options.start_after.as_ref().is_some_and(|after| key.as_str() <= after.as_str()) {
                        continue;
                    }
                    out.push(Ok(Self::meta_from_fs(&key, &meta)));
                }
                Ok::<_, Error>(out)
            }
            .await
            .unwrap_or_else(|e| vec![Err(e)]);
            futures::stream::iter(items)
        })
        .flatten()
        .boxed()
    }

    async fn list_with_delimiter(&self, prefix: &ObjectKey) -> Result<ListResult> {
        let dir = self.path_of(prefix).await?;
        let mut result = ListResult::default();
        for (key, entry) in dir_entries(&dir, prefix).await? {
            match entry {
                Entry::Dir(_) => result.common_prefixes.push(key),
                Entry::File(meta) => result.objects.push(Self::meta_from_fs(&key, &meta)),
            }
        }
        result.objects.sort_by(|a, b| a.key.as_str().cmp(b.key.as_str()));
        result.common_prefixes.sort_by(|a, b| a.as_str().cmp(b.as_str()));
        Ok(result)
    }

    async fn copy_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        from.require_object()?;
        let source = self.path_of(from).await?;
        let target = self.prepare_target(to).await?;
        let tmp = Self::tmp_path_near(&target);
        if let Err(e) = blocking::copy(&source, &tmp).await {
            let _ = blocking::remove_file(&tmp).await;
            return Err(io_error_for(from, e));
        }
        let side = match self.read_side_meta(from).await {
            Ok(side) => side,
            Err(e) => {
                let _ = blocking::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let put = PutOptions {
            mode: if options.create_only { PutMode::CreateOnly } else { PutMode::Overwrite },
            content_type: side.content_type,
            metadata: side.metadata,
        };
        self.place(to, &tmp, &target, &put).await.map(|_| ())
    }

    async fn rename_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        from.require_object()?;
        let source = self.path_of(from).await?;
        let target = self.prepare_target(to).await?;
        let side = self.read_side_meta(from).await?;
        if options.create_only {
            match blocking::hard_link(&source, &target).await {
                Ok(()) => blocking::remove_file(&source).await.map_err(io_error)?,
                Err(e) if e.kind() == IoKind::AlreadyExists => {
                    return Err(Error::AlreadyExists { key: to.to_string(), source: None });
                }
                Err(e) => return Err(io_error_for(from, e)),
            }
        } else {
            blocking::rename(&source, &target).await.map_err(|e| io_error_for(from, e))?;
        }
        let put = PutOptions { mode: PutMode::Overwrite, content_type: side.content_type, metadata: side.metadata };
        self.write_side_meta(to, &put).await?;
        let from_meta = self.meta_path(from);
        remove_if_exists(&from_meta).await?;
        self.prune_empty_dirs(&source).await;
        self.prune_empty_dirs(&from_meta).await;
        Ok(())
    }

    async fn signed_url(&self, _: SignedMethod, _: &ObjectKey, _: Duration) -> Result<url::Url> {
        Err(Error::NotSupported { operation: "signed URLs", backend: BACKEND })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::ObjectStoreExt;

    async fn temp_store(name: &str) -> (LocalFileSystem, PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("cloudkit-local-{name}-{}-{}", std::process::id(), fastrand::u32(..)));
        (LocalFileSystem::create(&dir).await.unwrap(), dir)
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn symlinks_inside_the_root_are_refused() {
        let (store, dir) = temp_store("symlink").await;
        let outside = std::env::temp_dir().join(format!("cloudkit-outside-{}", std::process::id()));
        tokio::fs::create_dir_all(&outside).await.unwrap();
        tokio::fs::write(outside.join("secret"), b"s").await.unwrap();
        std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();
        let key = ObjectKey::parse("link/secret").unwrap();
        assert!(matches!(store.get(&key).await, Err(Error::PermissionDenied { .. })));
        assert!(matches!(store.put(&key, "x".into()).await, Err(Error::PermissionDenied { .. })));
        assert_eq!(tokio::fs::read(outside.join("secret")).await.unwrap(), b"s");
        tokio::fs::remove_dir_all(&dir).await.unwrap();
        tokio::fs::remove_dir_all(&outside).await.unwrap();
    }

    #[tokio::test]
    async fn writes_leave_no_temporary_files_and_prune_dirs() {
        let (store, dir) = temp_store("tmp").await;
        let key = ObjectKey::parse("a/b/c.txt").unwrap();
        store.put_opts(&key, "x".into(), PutOptions::default().content_type("text/plain")).await.unwrap();
        assert!(store.put_opts(&key, "y".into(), PutOptions::create_only()).await.is_err());
        let names: Vec<_> = std::fs::read_dir(dir.join("a/b")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("c.txt")]);
        assert_eq!(store.head(&key).await.unwrap().content_type.as_deref(), Some("text/plain"));
        store.delete(&key).await.unwrap();
        assert!(!dir.join("a").exists(), "empty directories are pruned");
        assert!(!dir.join(META_DIR).join("a").exists());
        tokio::fs::remove_dir_all(&dir).await.unwrap();
    }

    #[test]
    fn side_files_round_trip_any_text() {
        let mut metadata = BTreeMap::new();
        metadata.insert("author".to_owned(), "Zoë \"Z\" \\ O'Brien\n".to_owned());
        metadata.insert("empty".to_owned(), String::new());
        for side in [
            SideMeta::default(),
            SideMeta { content_type: Some("text/plain; charset=utf-8".into()), metadata: BTreeMap::new() },
            SideMeta { content_type: None, metadata: metadata.clone() },
            SideMeta { content_type: Some("a/b".into()), metadata },
        ] {
            let json = side.to_json();
            assert_eq!(SideMeta::from_json(json.as_bytes()).unwrap(), side, "{json}");
        }
        assert_eq!(SideMeta::default().to_json(), "{}");
        // Side files written before (by serde_json) read the same.
        let old = br#"{"content_type":"text/plain","metadata":{"k":"v"}}"#;
        assert_eq!(SideMeta::from_json(old).unwrap().metadata.get("k").map(String::as_str), Some("v"));
    }

    #[tokio::test]
    async fn a_damaged_side_file_is_an_error_not_lost_metadata() {
        let (store, dir) = temp_store("damaged").await;
        let key = ObjectKey::parse("doc.txt").unwrap();
        store.put_opts(&key, "x".into(), PutOptions::default().content_type("text/plain")).await.unwrap();
        for damage in [&b"{\"content_type\": 7}"[..], b"{\"metadata\": {\"k\": 1}}", b"not json"] {
            tokio::fs::write(store.meta_path(&key), damage).await.unwrap();
            let e = store.head(&key).await.unwrap_err();
            assert!(matches!(e, Error::Provider { .. }) && e.to_string().contains("damaged"), "{e}");
            assert!(store.get(&key).await.is_err());
            let copy = ObjectKey::parse("copy.txt").unwrap();
            assert!(store.copy(&key, &copy).await.is_err());
            assert!(!store.exists(&copy).await.unwrap(), "a failed copy leaves nothing behind");
            assert_eq!(
                store.list_with_delimiter(&ObjectKey::root()).await.unwrap().objects.len(),
                1,
                "listing needs no side file"
            );
        }
        tokio::fs::remove_dir_all(&dir).await.unwrap();
    }
}
