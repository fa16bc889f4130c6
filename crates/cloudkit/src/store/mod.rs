//! The provider-neutral object store: one trait for S3, Azure Blob, GCS, a local disk and memory.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudkit::store::Result<()> {
//! use std::sync::Arc;
//! use cloudkit::store::{InMemory, ObjectKey, ObjectStore, ObjectStoreExt};
//!
//! let store: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
//! let key = ObjectKey::parse("greetings/hello.txt")?;
//! store.put(&key, "hello world".into()).await?;
//! let bytes = store.get(&key).await?.bytes().await?;
//! assert_eq!(&bytes[..], b"hello world");
//! # Ok(()) }
//! ```
//!
//! # Mocking your own code's store (feature `mock`)
//!
//! `MockObjectStore` (mockall) implements [`ObjectStore`]. mockall mocks the trait's own methods
//! only: the short forms `get`, `put`, `list`, `copy`, `rename`, `exists`, … are
//! [`ObjectStoreExt`] methods that call `get_opts`, `put_opts`, `list_opts`, `copy_opts`,
//! `rename_opts`, `head`, …, so a test of code that calls `store.get(&key)` sets
//! `expect_get_opts()`:
//!
//! ```
//! # #[cfg(feature = "mock")]
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudkit::store::Result<()> {
//! use cloudkit::store::{GetResult, MockObjectStore, ObjectKey, ObjectStoreExt};
//!
//! let mut store = MockObjectStore::new();
//! // `store.get(..)` below is `ObjectStoreExt::get`, which calls `get_opts`.
//! store
//!     .expect_get_opts()
//!     .withf(|key, _options| key.as_str() == "config/app.toml")
//!     .returning(|key, _options| Ok(GetResult::from_bytes(key.clone(), "debug = true".into())));
//!
//! let key = ObjectKey::parse("config/app.toml")?;
//! let text = store.get(&key).await?.bytes().await?;
//! assert_eq!(&text[..], b"debug = true");
//! # Ok(()) }
//! # #[cfg(not(feature = "mock"))] fn main() {}
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::Path;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use cloudkit_core::{PartialFile, ProgressTracker};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

#[cfg(feature = "azure-blob")]
mod azure;
pub(crate) mod error;
#[cfg(feature = "gcp-storage")]
mod gcs;
mod key;
mod local;
mod location;
mod memory;
#[cfg(all(test, any(feature = "aws-s3", feature = "azure-blob", feature = "gcp-storage")))]
mod resume_tests;
#[cfg(feature = "aws-s3")]
mod s3;
#[cfg(feature = "aws-s3")]
mod s3_upload;
mod upload;

#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;

#[cfg(feature = "azure-blob")]
#[cfg_attr(docsrs, doc(cfg(feature = "azure-blob")))]
pub use azure::AzureBlobStore;
pub use error::{Error, Result};
#[cfg(feature = "gcp-storage")]
#[cfg_attr(docsrs, doc(cfg(feature = "gcp-storage")))]
pub use gcs::GcsStore;
pub use key::{MAX_KEY_LEN, ObjectKey};
pub use local::LocalFileSystem;
pub use location::{StoreUrl, from_url, parse_url};
pub use memory::InMemory;
#[cfg(feature = "aws-s3")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws-s3")))]
pub use s3::S3Store;
pub use upload::{UploadSource, reader_source};

/// The byte buffer of payloads and whole-object reads (the `bytes` crate's, re-exported).
pub use bytes::Bytes;
/// The stream of a streaming read (`cloudkit::core::ByteStream`, re-exported).
pub use cloudkit_core::ByteStream;
/// The progress of a download ([`DownloadOptions::progress`]; `cloudkit::core`'s, re-exported).
pub use cloudkit_core::{Progress, ProgressCallback};

/// What a listing or a HEAD returns about one object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The key.
    pub key: ObjectKey,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time.
    pub last_modified: Option<SystemTime>,
    /// The entity tag, for conditional requests (opaque; compare as given).
    pub etag: Option<String>,
    /// The content type (not filled in by every listing).
    pub content_type: Option<String>,
    /// User metadata (not filled in by listings).
    pub metadata: BTreeMap<String, String>,
}

impl ObjectMeta {
    /// Metadata with just a key and a size.
    pub fn new(key: ObjectKey, size: u64) -> Self {
        Self { key, size, last_modified: None, etag: None, content_type: None, metadata: BTreeMap::new() }
    }
}

/// How a put treats an existing object.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PutMode {
    /// Replace whatever is there.
    #[default]
    Overwrite,
    /// Fail with [`Error::AlreadyExists`] if the key exists.
    CreateOnly,
    /// Replace only if the current entity tag equals this one, else [`Error::PreconditionFailed`].
    IfMatch(String),
}

/// Options of a put.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutOptions {
    /// Overwrite, create-only or if-match.
    pub mode: PutMode,
    /// Content type.
    pub content_type: Option<String>,
    /// User metadata (keys: ASCII letters, digits, `-` and `_`).
    pub metadata: BTreeMap<String, String>,
}

impl PutOptions {
    /// Create-only.
    pub fn create_only() -> Self {
        Self { mode: PutMode::CreateOnly, ..Self::default() }
    }

    /// Sets the content type.
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        self.content_type = Some(content_type.into());
        self
    }

    /// Adds a metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), value.into());
        self
    }

    /// Sets the mode.
    pub fn mode(mut self, mode: PutMode) -> Self {
        self.mode = mode;
        self
    }

    /// Rejects metadata that some backend could not store unchanged: keys must be lowercase ASCII
    /// letters, digits and `_`, starting with a letter (S3 lowercases keys, Azure requires C#
    /// identifiers); values must be printable ASCII (they travel in HTTP headers).
    pub fn validate(&self) -> Result<()> {
        for (k, v) in &self.metadata {
            let mut bytes = k.bytes();
            let ok_key = bytes.next().is_some_and(|b| b.is_ascii_lowercase())
                && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
            if !ok_key {
                return Err(Error::invalid_input(format!(
                    "metadata key {k:?}: use lowercase ASCII letters, digits and '_', starting with a letter"
                )));
            }
            if v.chars().any(|c| c.is_control() || !c.is_ascii()) {
                return Err(Error::invalid_input(format!(
                    "metadata value for {k:?}: printable ASCII only (headers cannot carry it unchanged)"
                )));
            }
        }
        Ok(())
    }
}

/// Options of a streaming upload of any size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadOptions {
    /// Put options (mode, content type, metadata).
    pub put: PutOptions,
    /// Size of each part (multipart parts, blocks, resumable chunks). Default (`None`): the
    /// backend's own — 8 MiB on S3 and GCS, 4 MiB on Azure Blob (as azure-storage-blob; its
    /// 50,000 blocks then reach 195 GiB: set more for a larger blob of unknown size).
    pub part_size: Option<usize>,
    /// Parts in flight at once. Default 8.
    pub concurrency: usize,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self { put: PutOptions::default(), part_size: None, concurrency: 8 }
    }
}

/// The result of a write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PutResult {
    /// The new object's entity tag.
    pub etag: Option<String>,
}

/// A byte range to read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GetRange {
    /// Bytes `start..end` (end exclusive).
    Bounded(Range<u64>),
    /// From `offset` to the end.
    Offset(u64),
    /// The last `n` bytes.
    Suffix(u64),
}

impl GetRange {
    /// The concrete range within an object of `size` bytes; `None` if it cannot be satisfied.
    pub fn resolve(&self, size: u64) -> Option<Range<u64>> {
        match self {
            GetRange::Bounded(r) if r.start < r.end && r.start < size => Some(r.start..r.end.min(size)),
            GetRange::Bounded(_) => None,
            GetRange::Offset(o) if *o < size => Some(*o..size),
            GetRange::Offset(_) => None,
            GetRange::Suffix(n) if *n > 0 && size > 0 => Some(size.saturating_sub(*n)..size),
            GetRange::Suffix(_) => None,
        }
    }

    /// The HTTP `Range` header value.
    pub fn to_header(&self) -> String {
        match self {
            GetRange::Bounded(r) => format!("bytes={}-{}", r.start, r.end.saturating_sub(1)),
            GetRange::Offset(o) => format!("bytes={o}-"),
            GetRange::Suffix(n) => format!("bytes=-{n}"),
        }
    }
}

/// Options of a read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// Only this range.
    pub range: Option<GetRange>,
    /// Fail with [`Error::PreconditionFailed`] unless the entity tag matches.
    pub if_match: Option<String>,
    /// Fail with [`Error::NotModified`] if the entity tag matches.
    pub if_none_match: Option<String>,
}

impl GetOptions {
    /// Checks the conditions against the entity tag the backend returned with the bytes: some
    /// servers (S3-compatible stores, emulators) ignore conditional headers, so every cloud
    /// backend checks again on the client.
    #[cfg(any(feature = "aws-s3", feature = "gcp-storage"))]
    pub(crate) fn check_etag(&self, key: &ObjectKey, etag: Option<&str>) -> Result<()> {
        if let Some(expected) = &self.if_match
            && etag.is_some_and(|etag| etag != expected)
        {
            return Err(Error::PreconditionFailed { key: key.to_string(), source: None });
        }
        if let Some(unwanted) = &self.if_none_match
            && etag == Some(unwanted.as_str())
        {
            return Err(Error::NotModified { key: key.to_string(), source: None });
        }
        Ok(())
    }

    /// An empty bounded range (`start >= end`) is refused before anything is sent.
    #[cfg(any(feature = "aws-s3", feature = "azure-blob", feature = "gcp-storage"))]
    pub(crate) fn check_range(&self, key: &ObjectKey) -> Result<()> {
        match &self.range {
            Some(GetRange::Bounded(r)) if r.start >= r.end => Err(Error::InvalidRange { key: key.to_string() }),
            _ => Ok(()),
        }
    }
}

/// The first byte of a `Content-Range: bytes a-b/total` response value (0 when absent).
#[cfg(any(feature = "aws-s3", feature = "gcp-storage"))]
pub(crate) fn content_range_start(value: Option<&str>) -> u64 {
    value
        .and_then(|r| r.strip_prefix("bytes "))
        .and_then(|r| r.split('-').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The object size of a `Content-Range: bytes a-b/total` response value (`None` when absent or
/// `*`), read even when `a-b` itself is not a range (an unsatisfiable one some servers send).
#[cfg(feature = "gcp-storage")]
pub(crate) fn content_range_total(value: Option<&str>) -> Option<u64> {
    value?.strip_prefix("bytes ")?.rsplit_once('/')?.1.trim().parse().ok()
}

/// A read in progress: the object's metadata and its (streaming) bytes.
#[derive(Debug)]
pub struct GetResult {
    /// The object's metadata.
    pub meta: ObjectMeta,
    /// The byte range being returned.
    pub range: Range<u64>,
    /// The bytes.
    pub body: ByteStream,
}

impl GetResult {
    /// A whole-object result holding `bytes`, with no time, entity tag or metadata: what a mock
    /// or a test double returns from `get_opts` (see the [module docs](self#mocking-your-own-codes-store-feature-mock)).
    pub fn from_bytes(key: ObjectKey, bytes: Bytes) -> Self {
        let size = bytes.len() as u64;
        Self { meta: ObjectMeta::new(key, size), range: 0..size, body: ByteStream::from_bytes(bytes) }
    }

    /// Reads all the bytes.
    pub async fn bytes(self) -> Result<Bytes> {
        let key = self.meta.key.to_string();
        self.body.collect().await.map_err(|e| body_error(&key, e))
    }
}

/// A failed read of a `get` body as the store's error.
fn body_error(key: &str, e: cloudkit_core::TransportError) -> Error {
    match e.kind() {
        cloudkit_core::TransportErrorKind::ObjectChanged => {
            Error::ObjectChanged { key: key.to_owned(), source: Some(Box::new(e)) }
        }
        _ => Error::Transport { backend: "stream", source: Box::new(e) },
    }
}

/// Options of [`ObjectStore::download_file`].
#[derive(Clone)]
pub struct DownloadOptions {
    /// Ranged GETs in flight at once, where the backend downloads in parallel (S3, Azure Blob).
    /// Default 8.
    pub concurrency: usize,
    /// Called with the bytes downloaded so far and the object's size.
    pub progress: Option<ProgressCallback>,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self { concurrency: 8, progress: None }
    }
}

impl fmt::Debug for DownloadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DownloadOptions")
            .field("concurrency", &self.concurrency)
            .field("progress", &self.progress.as_ref().map(|_| "callback"))
            .finish()
    }
}

/// [`ObjectStore::download_file`] for backends without a parallel download: the `get` stream
/// (resumed and verified as every `get` is) written into a [`PartialFile`], which replaces `path`
/// only at the end.
pub(crate) async fn download_streaming<S>(
    store: &S,
    key: &ObjectKey,
    path: &Path,
    options: DownloadOptions,
) -> Result<u64>
where
    S: ObjectStore + ?Sized,
{
    use tokio::io::AsyncWriteExt as _;
    let io = |what: &str, e: std::io::Error| Error::Transport {
        backend: "local",
        source: format!("{what} {}: {e}", path.display()).into(),
    };
    let got = store.get_opts(key, GetOptions::default()).await?;
    let progress = ProgressTracker::new(options.progress, Some(got.meta.size));
    progress.start();
    let mut partial = PartialFile::create(path).await.map_err(|e| io("creating a temporary file next to", e))?;
    let file = partial.file_mut().map_err(|e| io("writing", e))?;
    let mut body = got.body;
    let mut size = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| body_error(key.as_str(), e))?;
        file.write_all(&chunk).await.map_err(|e| io("writing", e))?;
        size += chunk.len() as u64;
        progress.add(chunk.len() as u64);
    }
    file.flush().await.map_err(|e| io("writing", e))?;
    partial.commit().await.map_err(|e| io("replacing", e))?;
    Ok(size)
}

/// Options of a listing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only keys strictly after this one (lexicographic byte order).
    pub start_after: Option<ObjectKey>,
}

/// One level of a listing with delimiter `/`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListResult {
    /// Objects directly under the prefix.
    pub objects: Vec<ObjectMeta>,
    /// "Directories" directly under the prefix.
    pub common_prefixes: Vec<ObjectKey>,
}

/// Options of a copy or rename.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyOptions {
    /// Fail with [`Error::AlreadyExists`] if the destination exists.
    pub create_only: bool,
}

/// The HTTP method a signed URL allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SignedMethod {
    /// Download.
    Get,
    /// Upload.
    Put,
    /// Metadata.
    Head,
    /// Delete.
    Delete,
}

/// The result of one key of a bulk delete.
pub type DeleteResult = Result<ObjectKey>;

/// What a backend can do, so callers (and the conformance suite) can adapt ahead of time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Capabilities {
    /// `PutMode::CreateOnly` and `PutMode::IfMatch` are enforced atomically.
    pub conditional_put: bool,
    /// `CopyOptions::create_only` is supported.
    pub copy_create_only: bool,
    /// `rename` is a single atomic operation (otherwise copy + delete).
    pub atomic_rename: bool,
    /// `signed_url` works.
    pub signed_urls: bool,
    /// Content type and user metadata are stored and returned.
    pub metadata: bool,
}

impl Capabilities {
    /// What the in-process backends ([`LocalFileSystem`], [`InMemory`]) offer: everything but
    /// signed URLs.
    pub const LOCAL: Capabilities = Capabilities {
        conditional_put: true,
        copy_create_only: true,
        atomic_rename: true,
        signed_urls: false,
        metadata: true,
    };
}

/// An object store: S3, Azure Blob, GCS, a local directory or memory behind one object-safe
/// trait, used as `Arc<dyn ObjectStore>`.
///
/// Semantics every backend follows (the [conformance](crate::store) suite checks them):
/// - keys are [`ObjectKey`]s; listings are in ascending key order;
/// - `delete` of a missing key succeeds (as on S3);
/// - a failed conditional write leaves the object unchanged;
/// - reads stream; uploads of any size go through [`ObjectStore::upload`] with bounded memory;
/// - listings ([`list_opts`](ObjectStore::list_opts) and
///   [`list_with_delimiter`](ObjectStore::list_with_delimiter)) skip stored names that are not
///   valid [`ObjectKey`]s (folder markers such as `dir/`, `a//b`, names with `\` or control
///   characters, written by other tools), each with a `tracing::warn!`, instead of failing the
///   whole listing; common prefixes that are not valid keys are skipped the same way;
/// - copying or renaming a key onto itself is a no-op (as `mv a a`): the bytes, content type,
///   metadata and entity tag stay as they are; a missing key is [`Error::NotFound`]; with
///   [`CopyOptions::create_only`] it is [`Error::AlreadyExists`] (the destination exists), or
///   [`Error::NotSupported`] where create-only copies are not supported;
/// - a rename that is a copy then a delete deletes the source only while it is still the version
///   that was copied (a conditional delete on its entity tag or generation), so a newer version
///   written by someone else in between is kept, not lost.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ObjectStore: Send + Sync + fmt::Debug + 'static {
    /// The backend's name (`s3`, `local`, `memory`, …).
    fn backend(&self) -> &'static str;

    /// What this backend supports.
    fn capabilities(&self) -> Capabilities;

    /// Writes `payload` to `key` in one request.
    async fn put_opts(&self, key: &ObjectKey, payload: Bytes, options: PutOptions) -> Result<PutResult>;

    /// Streams `source` to `key`, whatever its size: multipart (S3), blocks (Azure) or resumable
    /// chunks (GCS) underneath, `part_size × (concurrency + 1)` bytes of memory at most.
    async fn upload(&self, key: &ObjectKey, source: UploadSource, options: UploadOptions) -> Result<PutResult>;

    /// Reads `key` (all of it, or a range; conditional).
    async fn get_opts(&self, key: &ObjectKey, options: GetOptions) -> Result<GetResult>;

    /// The object's metadata.
    async fn head(&self, key: &ObjectKey) -> Result<ObjectMeta>;

    /// Downloads `key` into the file at `path` (its directory must exist) and returns its size.
    /// The bytes go to a temporary file with a unique name next to `path`, which replaces `path`
    /// only once every byte arrived and was verified as every read is; on an error, and when the
    /// future is dropped, the temporary file is removed and `path` keeps its old content (or stays
    /// absent). S3 and Azure Blob fetch `options.concurrency` ranges in parallel (pinned to the
    /// version first read); the other backends stream one `get`.
    async fn download_file(&self, key: &ObjectKey, path: &Path, options: DownloadOptions) -> Result<u64> {
        download_streaming(self, key, path, options).await
    }

    /// Deletes `key` (a missing key is not an error).
    async fn delete(&self, key: &ObjectKey) -> Result<()>;

    /// Deletes many keys, batching where the backend can; one result per key, in any order.
    fn delete_stream(&self, keys: BoxStream<'static, ObjectKey>) -> BoxStream<'static, DeleteResult>;

    /// Every object under `prefix` (recursively), in key order.
    fn list_opts(&self, prefix: &ObjectKey, options: ListOptions) -> BoxStream<'static, Result<ObjectMeta>>;

    /// One level under `prefix`: objects and common prefixes (delimiter `/`).
    async fn list_with_delimiter(&self, prefix: &ObjectKey) -> Result<ListResult>;

    /// Copies `from` to `to` inside the store, with its content type and metadata. `from == to`
    /// is a no-op (see the trait's semantics).
    async fn copy_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()>;

    /// Moves `from` to `to` with its content type and metadata: atomic where
    /// [`Capabilities::atomic_rename`], else a copy, then a delete of the source conditioned on
    /// the version copied (when the source was rewritten in between, the newer source is kept and
    /// the rename still succeeds: it took effect before that write). `from == to` is a no-op.
    async fn rename_opts(&self, from: &ObjectKey, to: &ObjectKey, options: CopyOptions) -> Result<()>;

    /// A URL that allows `method` on `key` without credentials until `expires_in` has passed.
    async fn signed_url(&self, method: SignedMethod, key: &ObjectKey, expires_in: Duration) -> Result<url::Url>;
}

/// Convenience calls on every [`ObjectStore`] (including `dyn ObjectStore`).
///
/// Each is written in terms of the trait's methods (`get` calls `get_opts`, `put` calls
/// `put_opts`, …); to mock them with `MockObjectStore`, set expectations on those (see the
/// [module docs](self#mocking-your-own-codes-store-feature-mock)).
#[async_trait]
pub trait ObjectStoreExt: ObjectStore {
    /// Writes with default options (overwrite).
    async fn put(&self, key: &ObjectKey, payload: Bytes) -> Result<PutResult> {
        self.put_opts(key, payload, PutOptions::default()).await
    }

    /// Reads the whole object.
    async fn get(&self, key: &ObjectKey) -> Result<GetResult> {
        self.get_opts(key, GetOptions::default()).await
    }

    /// Reads `range` of the object into memory.
    async fn get_range(&self, key: &ObjectKey, range: Range<u64>) -> Result<Bytes> {
        let options = GetOptions { range: Some(GetRange::Bounded(range)), ..GetOptions::default() };
        self.get_opts(key, options).await?.bytes().await
    }

    /// Every object under `prefix`.
    fn list(&self, prefix: &ObjectKey) -> BoxStream<'static, Result<ObjectMeta>> {
        self.list_opts(prefix, ListOptions::default())
    }

    /// Copies, overwriting the destination.
    async fn copy(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        self.copy_opts(from, to, CopyOptions::default()).await
    }

    /// Renames, overwriting the destination.
    async fn rename(&self, from: &ObjectKey, to: &ObjectKey) -> Result<()> {
        self.rename_opts(from, to, CopyOptions::default()).await
    }

    /// Whether `key` exists.
    async fn exists(&self, key: &ObjectKey) -> Result<bool> {
        match self.head(key).await {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Deletes the given keys; returns the first error after trying all of them.
    async fn delete_all(&self, keys: Vec<ObjectKey>) -> Result<usize> {
        let results: Vec<DeleteResult> = self.delete_stream(futures::stream::iter(keys).boxed()).collect().await;
        let mut deleted = 0;
        let mut first_error = None;
        for r in results {
            match r {
                Ok(_) => deleted += 1,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(deleted),
        }
    }

    /// Lists everything under `prefix` into a `Vec`.
    async fn list_all(&self, prefix: &ObjectKey) -> Result<Vec<ObjectMeta>> {
        self.list(prefix).try_collect().await
    }
}

impl<T: ObjectStore + ?Sized> ObjectStoreExt for T {}

/// A copy or rename of `key` onto itself, alike on every backend: nothing is rewritten when the
/// object exists, `NotFound` when it does not, `AlreadyExists` with `create_only` (the destination
/// exists). Backends that refuse create-only copies check that before calling this.
pub(crate) async fn onto_itself<S>(store: &S, key: &ObjectKey, options: &CopyOptions) -> Result<()>
where
    S: ObjectStore + ?Sized,
{
    key.require_object()?;
    store.head(key).await?;
    if options.create_only {
        return Err(Error::AlreadyExists { key: key.to_string(), source: None });
    }
    Ok(())
}

/// What every copy and rename of a cloud backend checks first: both keys name objects, a
/// create-only copy is refused where the backend cannot enforce it (`create_only_supported`), and
/// a copy onto itself is the shared no-op ([`onto_itself`]). `Ok(true)`: the call is done.
#[cfg(any(feature = "aws-s3", feature = "azure-blob", feature = "gcp-storage"))]
pub(crate) async fn copy_preamble<S>(
    store: &S,
    from: &ObjectKey,
    to: &ObjectKey,
    options: &CopyOptions,
    create_only_supported: bool,
) -> Result<bool>
where
    S: ObjectStore + ?Sized,
{
    from.require_object()?;
    to.require_object()?;
    if options.create_only && !create_only_supported {
        return Err(Error::NotSupported { operation: "create-only copy", backend: store.backend() });
    }
    if from == to {
        onto_itself(store, from, options).await?;
        return Ok(true);
    }
    Ok(false)
}

/// A `delete_stream` built on single deletes, `concurrency` at a time (for backends without a
/// batch delete API).
pub(crate) fn delete_each<S>(
    store: S,
    keys: BoxStream<'static, ObjectKey>,
    concurrency: usize,
) -> BoxStream<'static, DeleteResult>
where
    S: ObjectStore + Clone,
{
    keys.map(move |key| {
        let store = store.clone();
        async move { store.delete(&key).await.map(|()| key) }
    })
    .buffer_unordered(concurrency.max(1))
    .boxed()
}
