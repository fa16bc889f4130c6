//! A store in a directory of the local file system.

use std::collections::BTreeMap;
use std::io::ErrorKind as IoKind;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
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
    Capabilities, CopyOptions, DeleteResult, DownloadOptions, Error, GetOptions, GetResult, ListOptions, ListResult,
    ObjectKey, ObjectMeta, ObjectStore, PutMode, PutOptions, PutResult, Result, SignedMethod, UploadOptions,
    UploadSource,
};

const BACKEND: &str = "local";
/// The tree of side files under the root.
const META_DIR: &str = ".cloudkit-meta";
/// The name of a side file is this followed by the key's last segment.
const SIDE_PREFIX: &str = ".cloudkit.";
/// What side files were called before (`<last segment>.json`).
const OLD_SIDE_SUFFIX: &str = ".json";
/// Under `META_DIR`: present once the side files have the current names.
const LAYOUT_MARKER: &str = ".cloudkit-layout";
/// Temporary files (data being written, side files being written, the object a write replaces).
const TMP_PREFIX: &str = ".cloudkit-tmp-";
/// The longest file name (in bytes) the common file systems accept.
const MAX_FILE_NAME: usize = 255;
const READ_CHUNK: usize = 256 * 1024;

/// An object store rooted at a directory.
///
/// Keys can never reach outside the root (`..`, absolute paths and symlinks are refused), and
/// content type and user metadata are kept in a side file so nothing a caller set is silently
/// dropped.
///
/// # Side files
///
/// The side file of key `d1/d2/name` is `<root>/.cloudkit-meta/d1/d2/.cloudkit.name`. In that
/// tree every directory is a key segment (which never starts with `.cloudkit`) and every side
/// file starts with `.cloudkit.`, so no two keys share a side file and no side file stands where
/// another key needs a directory (`a`, `a.json` and `a.json/x` all have their own). A key whose
/// last segment is longer than 245 bytes cannot carry a content type or metadata here (the side
/// file's name would pass the file systems' 255-byte limit): such writes are refused with
/// [`Error::InvalidInput`] before anything is written.
///
/// Stores written by cloudkit before this layout kept key `d/name`'s side file at
/// `.cloudkit-meta/d/name.json`, where key `a`'s side file was in the way of key `a.json/x`'s.
/// [`LocalFileSystem::new`] moves such side files to the current names once (it then leaves the
/// marker file `.cloudkit-meta/.cloudkit-layout`); a store whose side files cannot be moved (a
/// read-only directory) is an error there rather than objects silently without their metadata.
///
/// # Writes
///
/// A write puts the data in a temporary file and the side file in another (same directories),
/// then, under the store's lock, moves the data into place and the side file after it. If the
/// side file cannot follow, the move is undone and the object that was there before is put back
/// (kept through a hard link until the write is complete), so a failed write never leaves new
/// data behind while reporting an error. (On a file system without hard links the previous
/// object cannot be kept; there a failure at that last step leaves the new data in place.)
/// The lock is per store (shared by clones): the last step of every write, renames, if-match
/// checks and deletes are atomic with respect to other calls on the same store, and each runs to
/// its end on the blocking pool even when the caller stops waiting (a dropped future never stops
/// one halfway); temporary files of an abandoned write are removed. Other processes writing the
/// same directory are not coordinated with.
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
    // Serializes every change of an object (its data and its side file together) inside this
    // process: the last step of a write, if-match checks, renames and deletes. Held only by jobs
    // on the blocking pool (see `locked`).
    lock: Arc<Mutex<()>>,
}

/// A temporary file, removed when dropped unless it was moved away first (the removal then finds
/// nothing): whatever way a write ends, including its future being dropped, none is left behind.
#[derive(Debug)]
struct TempPath(PathBuf);

impl TempPath {
    fn near(target: &Path) -> Self {
        Self(target.with_file_name(format!("{TMP_PREFIX}{:016x}", fastrand::u64(..))))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl std::ops::Deref for TempPath {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempPath {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

/// What a write does to the key's side file once its data is in place.
#[derive(Debug)]
enum SidePlan {
    /// Move this finished temporary file to `path`.
    Write { tmp: TempPath, path: PathBuf },
    /// Remove the side file at this path, if there is one (`None`: the key cannot have one).
    Remove(Option<PathBuf>),
}

/// The object a write replaces, kept until the write is complete.
#[derive(Debug)]
enum Replaced {
    /// There was none.
    Nothing,
    /// Kept under this temporary name (a hard link).
    Kept(TempPath),
    /// There was one but it could not be kept (no hard links on this file system).
    NotKept,
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

/// Whether an I/O error means "there is nothing at that path".
fn is_absent(e: &std::io::Error) -> bool {
    matches!(e.kind(), IoKind::NotFound | IoKind::NotADirectory)
}

fn io_error_for(key: &ObjectKey, e: std::io::Error) -> Error {
    match e.kind() {
        IoKind::NotFound | IoKind::NotADirectory => Error::NotFound { key: key.to_string(), source: Some(Box::new(e)) },
        IoKind::PermissionDenied => Error::PermissionDenied { message: key.to_string(), source: Some(Box::new(e)) },
        _ => io_error(e),
    }
}

impl LocalFileSystem {
    /// A store rooted at the existing directory `root`. Side files of a store written by an
    /// earlier cloudkit are moved to the current layout here, once (see "Side files" on
    /// [`LocalFileSystem`]).
    pub async fn new(root: impl AsRef<Path>) -> Result<Self> {
        let root = blocking::canonicalize(root.as_ref())
            .await
            .map_err(|e| Error::invalid_input(format!("store root {}: {e}", root.as_ref().display())))?;
        let meta = blocking::metadata(&root).await.map_err(io_error)?;
        if !meta.is_dir() {
            return Err(Error::invalid_input(format!("store root {} is not a directory", root.display())));
        }
        let meta_dir = root.join(META_DIR);
        blocking::run_io(move || migrate_side_files(&meta_dir)).await.map_err(io_error)?;
        Ok(Self { root: Arc::new(root), lock: Arc::new(Mutex::new(())) })
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

    /// Writes `source_key` of `source` (any store) to `key` with the source's
    /// [`download_file`](ObjectStore::download_file) (parallel ranged GETs on S3 and Azure
    /// Blob), then puts it in place like every write of this store (`put`'s mode, content type
    /// and metadata; under the store's lock; the side file in step). Returns the size. On an
    /// error, and when the future is dropped, nothing changes.
    pub async fn download_from(
        &self,
        key: &ObjectKey,
        source: &dyn ObjectStore,
        source_key: &ObjectKey,
        put: PutOptions,
        options: DownloadOptions,
    ) -> Result<u64> {
        put.validate()?;
        let target = self.prepare_target(key).await?;
        let PutOptions { mode, content_type, metadata } = put;
        let side = self.prepare_side(key, SideMeta { content_type, metadata }).await?;
        let tmp = TempPath::near(&target);
        let size = source.download_file(source_key, &tmp, options).await?;
        self.finish_write(key, tmp, target, mode, side).await?;
        Ok(size)
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
                    Err(e) if is_absent(&e) => return Ok(false),
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

    /// The side file of `key`: `.cloudkit-meta/<directories>/.cloudkit.<last segment>`; `None`
    /// when that name would be too long for the file system (such keys carry no metadata).
    fn meta_path(&self, key: &ObjectKey) -> Option<PathBuf> {
        let name = format!("{SIDE_PREFIX}{}", key.filename()?);
        if name.len() > MAX_FILE_NAME {
            return None;
        }
        let mut path = self.root.join(META_DIR);
        let segments: Vec<&str> = key.segments().collect();
        path.extend(segments.iter().take(segments.len().saturating_sub(1)));
        path.push(name);
        Some(path)
    }

    fn etag_of(meta: &std::fs::Metadata) -> String {
        let nanos = meta.modified().ok().and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map_or(0, |d| d.as_nanos());
        format!("\"{:x}-{:x}\"", nanos, meta.len())
    }

    /// Runs `work` on the blocking pool under the store's lock, to its end even if the caller
    /// stops waiting.
    async fn locked<T: Send + 'static>(&self, work: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
        let lock = self.lock.clone();
        blocking::run(move || {
            let _guard = lock.lock().unwrap_or_else(PoisonError::into_inner);
            work()
        })
        .await
        .map_err(io_error)?
    }

    /// The object's content type and metadata. No side file means none were set; a side file
    /// that cannot be read is an error (never silently an object without its metadata).
    async fn read_side_meta(&self, key: &ObjectKey) -> Result<SideMeta> {
        let (key, path) = (key.clone(), self.meta_path(key));
        blocking::run(move || read_side(&key, path.as_deref())).await.map_err(io_error)?
    }

    /// [`prepare_side`] on the blocking pool.
    async fn prepare_side(&self, key: &ObjectKey, side: SideMeta) -> Result<SidePlan> {
        let (key, path) = (key.clone(), self.meta_path(key));
        blocking::run(move || prepare_side(&key, path, side)).await.map_err(io_error)?
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

    /// The last step of a put, an upload or a copy: `tmp` (the finished data) and `side` go in
    /// place under the lock; on failure nothing changed (the temporary files go when dropped).
    async fn finish_write(
        &self,
        key: &ObjectKey,
        tmp: TempPath,
        target: PathBuf,
        mode: PutMode,
        side: SidePlan,
    ) -> Result<PutResult> {
        let key = key.clone();
        let etag = self
            .locked(move || {
                commit(&key, &tmp, &target, &mode, &side)?;
                // The entity tag of what was just written (no other write in between).
                Ok(std::fs::metadata(&target).ok().map(|m| Self::etag_of(&m)))
            })
            .await?;
        Ok(PutResult { etag })
    }

    async fn prepare_target(&self, key: &ObjectKey) -> Result<PathBuf> {
        key.require_object()?;
        let target = self.path_of(key).await?;
        if let Some(parent) = target.parent() {
            blocking::create_dir_all(parent).await.map_err(|e| match e.kind() {
                IoKind::NotADirectory | IoKind::AlreadyExists => Error::invalid_input(format!(
                    "{key}: a key above it is an object in the local store, and a file cannot also be a directory"
                )),
                _ => io_error_for(key, e),
            })?;
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

/// The entries of `dir` as keys under `prefix`, skipping cloudkit's own files and, with a
/// warning, names that are not valid keys (as every backend does); a missing directory is empty.
async fn dir_entries(dir: &Path, prefix: &ObjectKey) -> Result<Vec<(ObjectKey, Entry)>> {
    let entries = match blocking::read_dir(dir).await {
        Ok(e) => e,
        Err(e) if is_absent(&e) => return Ok(Vec::new()),
        Err(e) => return Err(io_error(e)),
    };
    Ok(entries
        .into_iter()
        .filter_map(|entry| {
            let Some(name) = entry.name.to_str() else {
                tracing::warn!(path = %entry.path.display(), "skipping a local file name that is not UTF-8");
                return None;
            };
            // cloudkit's own files: side files, temporary files of writes, and the temporary
            // files of downloads in progress (`PartialFile`).
            if name.starts_with(".cloudkit") || (name.starts_with('.') && name.ends_with(".cloudkit-partial")) {
                return None;
            }
            let key = match prefix.join(name) {
                Ok(key) => key,
                Err(_) => {
                    tracing::warn!(path = %entry.path.display(), "skipping a local file name the neutral layer cannot represent");
                    return None;
                }
            };
            if entry.file_type.is_dir() {
                Some((key, Entry::Dir(entry.path)))
            } else {
                entry.metadata.map(|meta| (key, Entry::File(meta)))
            }
        })
        .collect())
}

fn remove_if_exists(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if is_absent(&e) => Ok(()),
        Err(e) => Err(io_error(e)),
    }
}

/// The side file at `path` (`None`: the key cannot have one); none there means none were set.
fn read_side(key: &ObjectKey, path: Option<&Path>) -> Result<SideMeta> {
    let Some(path) = path else { return Ok(SideMeta::default()) };
    match std::fs::read(path) {
        Ok(bytes) => SideMeta::from_json(&bytes).map_err(|e| Error::Provider {
            backend: BACKEND,
            source: format!("{key}: the metadata side file {} is damaged: {e}", path.display()).into(),
        }),
        Err(e) if is_absent(&e) => Ok(SideMeta::default()),
        Err(e) => Err(io_error(e)),
    }
}

/// Writes the side file `key` will have (at `path`) to a temporary file next to its place, so
/// nothing visible changes yet; or plans the removal of the old one when there is nothing to keep.
fn prepare_side(key: &ObjectKey, path: Option<PathBuf>, side: SideMeta) -> Result<SidePlan> {
    if side.content_type.is_none() && side.metadata.is_empty() {
        return Ok(SidePlan::Remove(path));
    }
    let path = path.ok_or_else(|| {
        Error::invalid_input(format!(
            "{key}: the local store keeps a content type or metadata only for keys whose last segment is at most {} bytes",
            MAX_FILE_NAME - SIDE_PREFIX.len()
        ))
    })?;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io_error)?;
    }
    let tmp = TempPath::near(&path);
    std::fs::write(&tmp, side.to_json()).map_err(io_error)?;
    Ok(SidePlan::Write { tmp, path })
}

/// Keeps the object at `target` under a temporary name (a hard link) until a write is complete,
/// so a failed write can put it back.
fn keep_replaced(target: &Path) -> Replaced {
    let kept = TempPath::near(target);
    match std::fs::hard_link(target, &kept) {
        Ok(()) => Replaced::Kept(kept),
        Err(e) if e.kind() == IoKind::NotFound => Replaced::Nothing,
        Err(e) => {
            tracing::debug!(error = %e, "local store: no hard link to keep the replaced object");
            Replaced::NotKept
        }
    }
}

/// Moves `file` (a finished temporary file, or the data file of the key being renamed) to
/// `target` according to `mode`, then carries out `side`. All or nothing: when the side file
/// cannot follow, the data goes back to `file` and the object that was at `target` is put back.
/// Runs under the store's lock.
fn commit(key: &ObjectKey, file: &Path, target: &Path, mode: &PutMode, side: &SidePlan) -> Result<()> {
    if let PutMode::IfMatch(expected) = mode {
        match std::fs::metadata(target) {
            Ok(m) if m.is_file() && &LocalFileSystem::etag_of(&m) == expected => {}
            Ok(_) | Err(_) => return Err(Error::PreconditionFailed { key: key.to_string(), source: None }),
        }
    }
    let replaced = match mode {
        PutMode::CreateOnly => Replaced::Nothing,
        PutMode::Overwrite | PutMode::IfMatch(_) => keep_replaced(target),
    };
    match mode {
        PutMode::CreateOnly => match std::fs::hard_link(file, target) {
            Ok(()) => {
                if let Err(e) = std::fs::remove_file(file) {
                    let _ = std::fs::remove_file(target);
                    return Err(io_error(e));
                }
            }
            Err(e) if e.kind() == IoKind::AlreadyExists => {
                return Err(Error::AlreadyExists { key: key.to_string(), source: None });
            }
            Err(e) => return Err(io_error(e)),
        },
        PutMode::Overwrite | PutMode::IfMatch(_) => std::fs::rename(file, target).map_err(io_error)?,
    }
    let sided = match side {
        SidePlan::Write { tmp, path } => std::fs::rename(tmp, path).map_err(io_error),
        SidePlan::Remove(Some(path)) => remove_if_exists(path),
        SidePlan::Remove(None) => Ok(()),
    };
    if let Err(e) = sided {
        let undone = match &replaced {
            Replaced::NotKept => Err(std::io::Error::other("the replaced object could not be kept")),
            Replaced::Nothing => std::fs::rename(target, file),
            Replaced::Kept(kept) => std::fs::rename(target, file).and_then(|()| std::fs::rename(kept, target)),
        };
        if let Err(undo) = undone {
            tracing::error!(
                key = %key, error = %undo,
                "local store: a write whose side file failed could not be undone; the new data stays"
            );
        }
        return Err(e);
    }
    Ok(())
}

/// Moves the side files of a store written before the current layout (`<segment>.json`) to
/// their current names (`.cloudkit.<segment>`), then leaves the layout marker; nothing to do when
/// the marker is there or the store has no side files yet. Safe to repeat after an interruption.
fn migrate_side_files(meta_dir: &Path) -> std::io::Result<()> {
    match std::fs::symlink_metadata(meta_dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Ok(()),
        Err(e) if is_absent(&e) => return Ok(()),
        Err(e) => return Err(e),
    }
    let marker = meta_dir.join(LAYOUT_MARKER);
    if std::fs::symlink_metadata(&marker).is_ok() {
        return Ok(());
    }
    let mut stack = vec![meta_dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let file_type = entry.file_type()?;
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            if name.starts_with(".cloudkit") {
                continue; // current side files, temporary files, the marker
            }
            if file_type.is_dir() {
                stack.push(entry.path());
                continue;
            }
            let Some(segment) = name.strip_suffix(OLD_SIDE_SUFFIX).filter(|s| !s.is_empty()) else { continue };
            if !file_type.is_file() {
                continue;
            }
            let current_name = format!("{SIDE_PREFIX}{segment}");
            if current_name.len() > MAX_FILE_NAME {
                tracing::warn!(
                    path = %entry.path().display(),
                    "local store: a side file whose key's last segment is too long for the current layout is ignored"
                );
                continue;
            }
            let current = dir.join(current_name);
            if std::fs::symlink_metadata(&current).is_ok() {
                std::fs::remove_file(entry.path())?; // already moved (an interrupted migration)
            } else {
                std::fs::rename(entry.path(), &current)?;
            }
        }
    }
    let tmp = TempPath::near(&marker);
    std::fs::write(&tmp, b"2\n")?;
    std::fs::rename(&tmp, &marker)
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
        let PutOptions { mode, content_type, metadata } = options;
        let side = self.prepare_side(key, SideMeta { content_type, metadata }).await?;
        let tmp = TempPath::near(&target);
        blocking::write(&tmp, payload).await.map_err(io_error)?;
        self.finish_write(key, tmp, target, mode, side).await
    }

    async fn upload(&self, key: &ObjectKey, mut source: UploadSource, options: UploadOptions) -> Result<PutResult> {
        options.put.validate()?;
        let target = self.prepare_target(key).await?;
        let PutOptions { mode, content_type, metadata } = options.put;
        let side = self.prepare_side(key, SideMeta { content_type, metadata }).await?;
        let tmp = TempPath::near(&target);
        let mut file = blocking::create(&tmp).await.map_err(io_error)?;
        while let Some(chunk) = source.next().await {
            let chunk = chunk.map_err(io_error)?;
            file.write_all(&chunk).await.map_err(io_error)?;
        }
        file.flush().await.map_err(io_error)?;
        drop(file);
        self.finish_write(key, tmp, target, mode, side).await
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
        let meta_path = self.meta_path(key);
        let (k, p, m) = (key.clone(), path.clone(), meta_path.clone());
        let deleted = self
            .locked(move || {
                match std::fs::remove_file(&p) {
                    Ok(()) => {}
                    Err(e) if e.kind() == IoKind::NotFound => {}
                    Err(_) if std::fs::metadata(&p).is_ok_and(|m| m.is_dir()) => return Ok(false), // not an object
                    Err(e) => return Err(io_error_for(&k, e)),
                }
                // The object is gone; a side file left behind is replaced by the key's next write.
                if let Some(m) = &m
                    && let Err(e) = remove_if_exists(m)
                {
                    tracing::warn!(key = %k, error = %e, "local store: a deleted object's side file could not be removed");
                }
                Ok(true)
            })
            .await?;
        if deleted {
            self.prune_empty_dirs(&path).await;
            if let Some(meta_path) = &meta_path {
                self.prune_empty_dirs(meta_path).await;
            }
        }
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
        if from == to {
            return super::onto_itself(self, from, &options).await;
        }
        let source = self.path_of(from).await?;
        let target = self.prepare_target(to).await?;
        let side = self.read_side_meta(from).await?;
        let side = self.prepare_side(to, side).await?;
        let tmp = TempPath::near(&target);
        match blocking::metadata(&source).await {
            Ok(m) if m.is_file() => blocking::copy(&source, &tmp).await.map_err(|e| io_error_for(from, e))?,
            Ok(_) => return Err(Error::not_found(from.as_str())),
            Err(e) => return Err(io_error_for(from, e)),
        };
        let mode = if options.create_only { PutMode::CreateOnly } else { PutMode::Overwrite };
        self.finish_write(to, tmp, target, mode, side).await.map(drop)
    }

    async fn rename_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()> {
        from.require_object()?;
        if from == to {
            return super::onto_itself(self, from, &options).await;
        }
        let source = self.path_of(from).await?;
        let target = self.prepare_target(to).await?;
        let mode = if options.create_only { PutMode::CreateOnly } else { PutMode::Overwrite };
        let (from_meta, to_meta) = (self.meta_path(from), self.meta_path(to));
        let (f, t, src, fm) = (from.clone(), to.clone(), source.clone(), from_meta.clone());
        // The data and the side file move together: no other call of this store sees or changes
        // `from` or `to` in between.
        self.locked(move || {
            match std::fs::metadata(&src) {
                Ok(m) if m.is_file() => {}
                Ok(_) => return Err(Error::not_found(f.as_str())),
                Err(e) => return Err(io_error_for(&f, e)),
            }
            let side = prepare_side(&t, to_meta, read_side(&f, fm.as_deref())?)?;
            commit(&t, &src, &target, &mode, &side)?;
            if let Some(fm) = &fm
                && let Err(e) = remove_if_exists(fm)
            {
                // The rename is done; the stale side file is replaced by `from`'s next write.
                tracing::warn!(key = %f, error = %e, "local store: a renamed object's old side file could not be removed");
            }
            Ok(())
        })
        .await?;
        self.prune_empty_dirs(&source).await;
        if let Some(from_meta) = &from_meta {
            self.prune_empty_dirs(from_meta).await;
        }
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
            tokio::fs::write(store.meta_path(&key).unwrap(), damage).await.unwrap();
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

    fn with_meta(value: &str) -> PutOptions {
        PutOptions::default().content_type(format!("text/{value}")).metadata("name", value)
    }

    async fn assert_object(store: &LocalFileSystem, key: &str) {
        let k = ObjectKey::parse(key).unwrap();
        let got = store.get(&k).await.unwrap_or_else(|e| panic!("get {key}: {e}"));
        assert_eq!(got.meta.metadata.get("name").map(String::as_str), Some(key), "{key}: its own metadata");
        assert_eq!(got.meta.content_type.as_deref(), Some(format!("text/{key}").as_str()), "{key}");
        assert_eq!(&got.bytes().await.unwrap()[..], key.as_bytes(), "{key}: its own bytes");
    }

    // Issue 15, defect 7: key `a`'s side file was `.cloudkit-meta/a.json`, the directory key
    // `a.json/x`'s side file needs; `put("a")` then failed after its data was in place.
    #[tokio::test]
    async fn side_files_of_any_keys_never_collide() {
        let keys = ["a", "a.json", "a.json/x"];
        let orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
        for order in orders {
            let (store, dir) = temp_store("collide").await;
            let mut stored = Vec::new();
            for &i in &order {
                let key = ObjectKey::parse(keys[i]).unwrap();
                match store.put_opts(&key, keys[i].into(), with_meta(keys[i])).await {
                    Ok(_) => stored.push(keys[i]),
                    // A local directory cannot be a file too: `a.json` and `a.json/x` cannot
                    // both be objects here. Whichever comes second is refused before any write.
                    Err(Error::InvalidInput { message }) if i > 0 && stored.iter().any(|k| k.starts_with("a.json")) => {
                        assert!(message.contains("directory"), "{message}");
                    }
                    Err(e) => panic!("put {} in order {order:?}: {e:?}", keys[i]),
                }
            }
            assert!(stored.contains(&"a") && stored.len() == 2, "order {order:?}: {stored:?}");
            for key in &stored {
                assert_object(&store, key).await;
            }
            // the same without the directory conflict: `a` with each of the others
            let other = if stored.contains(&"a.json") { "a.json/x" } else { "a.json" };
            store
                .delete(&ObjectKey::parse(stored[1 - stored.iter().position(|k| *k == "a").unwrap()]).unwrap())
                .await
                .unwrap();
            store.put_opts(&ObjectKey::parse(other).unwrap(), other.into(), with_meta(other)).await.unwrap();
            assert_object(&store, "a").await;
            assert_object(&store, other).await;
            // renames and copies between them keep each one's metadata
            let moved = ObjectKey::parse("b.json/a").unwrap();
            store.rename(&ObjectKey::parse("a").unwrap(), &moved).await.unwrap();
            let head = store.head(&moved).await.unwrap();
            assert_eq!(head.metadata.get("name").map(String::as_str), Some("a"));
            store.copy(&moved, &ObjectKey::parse("a").unwrap()).await.unwrap();
            store.delete(&moved).await.unwrap();
            assert_object(&store, "a").await;
            assert_object(&store, other).await;
            store.delete(&ObjectKey::parse("a").unwrap()).await.unwrap();
            assert_object(&store, other).await;
            store.delete(&ObjectKey::parse(other).unwrap()).await.unwrap();
            let left: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .filter(|name| name.as_os_str() != META_DIR)
                .collect();
            assert!(left.is_empty(), "order {order:?}: {left:?}");
            tokio::fs::remove_dir_all(&dir).await.unwrap();
        }
    }

    // Issue 15, defect 7: a write whose side file fails must not leave its data behind.
    #[tokio::test]
    async fn a_failed_side_file_leaves_the_previous_object() {
        let (store, dir) = temp_store("sidefail").await;
        let x = ObjectKey::parse("d/x").unwrap();
        let y = ObjectKey::parse("d/y").unwrap();
        store.put(&x, "v1".into()).await.unwrap();
        // Something stands where the side files of d/x and d/y go: a non-empty directory, which
        // neither a rename nor a removal can replace. The failure comes after the data was moved.
        for name in ["x", "y"] {
            std::fs::create_dir_all(dir.join(META_DIR).join("d").join(format!("{SIDE_PREFIX}{name}")).join("junk"))
                .unwrap();
        }
        let e = store.put_opts(&x, "v2".into(), with_meta("d/x")).await.unwrap_err();
        assert!(matches!(e, Error::Transport { .. }), "{e:?}");
        let e = store.put(&x, "v3".into()).await.unwrap_err();
        assert!(matches!(e, Error::Transport { .. }), "{e:?}");
        let source = futures::stream::iter(vec![Ok(Bytes::from_static(b"v4"))]).boxed();
        assert!(store.upload(&x, source, UploadOptions::default()).await.is_err());
        assert!(store.put_opts(&y, "new".into(), PutOptions::create_only()).await.is_err());
        assert!(store.rename(&x, &y).await.is_err());
        let source = futures::stream::iter(vec![Ok(Bytes::from_static(b"v5"))]).boxed();
        assert!(store.upload(&y, source, UploadOptions::default()).await.is_err());
        assert!(store.copy(&x, &y).await.is_err());
        assert!(!store.exists(&y).await.unwrap(), "no failed write left d/y behind");
        std::fs::remove_dir_all(dir.join(META_DIR).join("d")).unwrap();
        let got = store.get(&x).await.unwrap();
        assert_eq!(got.meta.content_type, None);
        assert_eq!(&got.bytes().await.unwrap()[..], b"v1", "the previous object is back");
        let names: Vec<_> = std::fs::read_dir(dir.join("d")).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("x")], "no temporary files left");
        // A file where a side directory goes: refused before anything is written.
        std::fs::write(dir.join(META_DIR).join("e"), b"a file where a directory goes").unwrap();
        let e_key = ObjectKey::parse("e/z").unwrap();
        assert!(store.put_opts(&e_key, "z".into(), with_meta("e/z")).await.is_err());
        assert!(!store.exists(&e_key).await.unwrap());
        tokio::fs::remove_dir_all(&dir).await.unwrap();
    }

    #[tokio::test]
    async fn stores_with_the_old_side_file_names_are_migrated_once() {
        let dir = std::env::temp_dir().join(format!("cloudkit-local-old-{}-{}", std::process::id(), fastrand::u32(..)));
        std::fs::create_dir_all(dir.join("d")).unwrap();
        std::fs::create_dir_all(dir.join(META_DIR).join("d")).unwrap();
        std::fs::write(dir.join("a"), b"a").unwrap();
        std::fs::write(dir.join("d/x"), b"x").unwrap();
        std::fs::write(dir.join(META_DIR).join("a.json"), br#"{"content_type":"text/a","metadata":{"name":"a"}}"#)
            .unwrap();
        std::fs::write(dir.join(META_DIR).join("d/x.json"), br#"{"metadata":{"name":"d/x"}}"#).unwrap();
        let store = LocalFileSystem::new(&dir).await.unwrap();
        let a = store.head(&ObjectKey::parse("a").unwrap()).await.unwrap();
        assert_eq!(a.content_type.as_deref(), Some("text/a"));
        assert_eq!(a.metadata.get("name").map(String::as_str), Some("a"));
        let x = store.head(&ObjectKey::parse("d/x").unwrap()).await.unwrap();
        assert_eq!(x.metadata.get("name").map(String::as_str), Some("d/x"));
        assert!(dir.join(META_DIR).join(LAYOUT_MARKER).is_file());
        assert!(!dir.join(META_DIR).join("a.json").exists(), "moved, not copied");
        // the key whose side directory the old name blocked works now
        let ax = ObjectKey::parse("a.json/x").unwrap();
        store.put_opts(&ax, "a.json/x".into(), with_meta("a.json/x")).await.unwrap();
        assert_object(&store, "a.json/x").await;
        // opening again migrates nothing more: a file named like an old side file stays
        std::fs::write(dir.join(META_DIR).join("b.json"), b"{}").unwrap();
        let again = LocalFileSystem::new(&dir).await.unwrap();
        assert!(dir.join(META_DIR).join("b.json").exists());
        assert_eq!(again.head(&ObjectKey::parse("a").unwrap()).await.unwrap().content_type.as_deref(), Some("text/a"));
        tokio::fs::remove_dir_all(&dir).await.unwrap();
    }

    #[tokio::test]
    async fn long_last_segments_refuse_metadata_up_front() {
        let (store, dir) = temp_store("long").await;
        let long = ObjectKey::parse(format!("d/{}", "n".repeat(250))).unwrap();
        let e = store.put_opts(&long, "x".into(), with_meta("long")).await.unwrap_err();
        assert!(matches!(e, Error::InvalidInput { .. }), "{e:?}");
        assert!(!store.exists(&long).await.unwrap());
        store.put(&long, "x".into()).await.unwrap();
        assert!(store.head(&long).await.unwrap().metadata.is_empty());
        store.delete(&long).await.unwrap();
        tokio::fs::remove_dir_all(&dir).await.unwrap();
    }

    // Issue 15, defect 1: renaming a key onto itself dropped its content type and metadata.
    #[tokio::test]
    async fn rename_onto_itself_keeps_everything() {
        let (store, dir) = temp_store("self").await;
        let key = ObjectKey::parse("k").unwrap();
        store.put_opts(&key, "k".into(), with_meta("k")).await.unwrap();
        let before = store.head(&key).await.unwrap();
        store.rename(&key, &key).await.unwrap();
        store.copy(&key, &key).await.unwrap();
        assert_eq!(store.head(&key).await.unwrap(), before);
        assert_object(&store, "k").await;
        let e = store.rename_opts(&key, &key, CopyOptions { create_only: true }).await.unwrap_err();
        assert!(matches!(e, Error::AlreadyExists { .. }), "{e:?}");
        tokio::fs::remove_dir_all(&dir).await.unwrap();
    }

    // A create-only rename (link, then unlink of the source) racing a put of the source: the
    // put's data is never unlinked by the rename.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn renames_are_atomic_against_writes_of_the_source() {
        let (store, dir) = temp_store("race").await;
        let a = ObjectKey::parse("a").unwrap();
        for round in 0..200 {
            let b = ObjectKey::parse(format!("b{round}")).unwrap();
            store.put(&a, "v1".into()).await.unwrap();
            let (s1, s2, a1, a2, b1) = (store.clone(), store.clone(), a.clone(), a.clone(), b.clone());
            let rename = tokio::spawn(async move { s1.rename_opts(&a1, &b1, CopyOptions { create_only: true }).await });
            let put = tokio::spawn(async move { s2.put(&a2, "v2".into()).await });
            rename.await.unwrap().unwrap();
            put.await.unwrap().unwrap();
            let moved = store.get(&b).await.unwrap().bytes().await.unwrap();
            if !store.exists(&a).await.unwrap() {
                assert_eq!(&moved[..], b"v2", "round {round}: the put's data was lost");
            }
            store.delete(&b).await.unwrap();
        }
        tokio::fs::remove_dir_all(&dir).await.unwrap();
    }
}
