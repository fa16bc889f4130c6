//! Locations: store URLs (`s3://`, `az://`, `gs://`, `file://`, `memory://`) and local paths, each
//! opened as an [`ObjectStore`] and a key (an object or a prefix) inside it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cloudkit::session::{AwsSession, Session};
use cloudkit::store::{InMemory, LocalFileSystem, ObjectKey, ObjectStore, from_url, parse_url};

use crate::error::{CliError, Result};

/// How the AWS session is built for `s3://` locations (the aws CLI's global flags).
#[derive(Clone, Debug, Default)]
pub(crate) struct AwsOptions {
    /// `--profile`.
    pub(crate) profile: Option<String>,
    /// `--region`.
    pub(crate) region: Option<String>,
    /// `--endpoint-url`.
    pub(crate) endpoint_url: Option<String>,
}

/// An opened location.
#[derive(Clone)]
pub(crate) struct Location {
    /// The store.
    pub(crate) store: Arc<dyn ObjectStore>,
    /// The object or prefix inside the store.
    pub(crate) key: ObjectKey,
    /// The store's identity (`s3://bucket`, `file:///abs/dir`, …): equal identities share a store,
    /// so copies between them are server-side.
    pub(crate) identity: String,
    /// The location names a directory-style prefix: a trailing `/`, a bucket root or an existing
    /// local directory.
    pub(crate) is_dir: bool,
    /// A plain local path (no side files with content type and metadata are written there).
    pub(crate) plain_local: bool,
    /// The local store, for local locations (downloads into it use the source's parallel
    /// download).
    pub(crate) local: Option<LocalFileSystem>,
}

impl Location {
    /// How `key` of this store is shown to the user.
    pub(crate) fn display_key(&self, key: &ObjectKey) -> String {
        if self.plain_local || self.identity.starts_with("file://") {
            let root = self.identity.strip_prefix("file://").unwrap_or(&self.identity);
            let path = Path::new(root).join(key.as_str());
            if self.plain_local { path.display().to_string() } else { format!("file://{}", path.display()) }
        } else if self.identity == "memory://" {
            format!("memory://{key}")
        } else {
            format!("{}/{key}", self.identity)
        }
    }

    /// How this location itself is shown.
    pub(crate) fn display(&self) -> String {
        self.display_key(&self.key)
    }
}

/// The AWS session of `s3://` locations: the environment and profile files, then the flags.
pub(crate) async fn aws_session(aws: &AwsOptions) -> Result<AwsSession> {
    let mut builder = Session::aws();
    if let Some(profile) = &aws.profile {
        builder = builder.profile(profile.clone());
    }
    if let Some(region) = &aws.region {
        builder = builder.region(region.clone());
    }
    if let Some(endpoint) = &aws.endpoint_url {
        builder = builder.endpoint_url(endpoint.clone());
    }
    builder.load().await.map_err(|e| CliError::from_error("could not load the AWS configuration", &e))
}

/// Whether `arg` is a store URL rather than a local path.
pub(crate) fn is_url(arg: &str) -> bool {
    arg.split_once("://").is_some_and(|(scheme, _)| {
        !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '-' || c == '.')
    })
}

/// What a location is opened for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Reading: a local location must exist.
    Read,
    /// Writing: local parent directories (and a trailing-`/` directory) are created.
    Write,
    /// Planning a write (`--dry-run`): nothing is created; a local directory that does not exist
    /// yet is stood in for by an empty in-memory store that is never written.
    Plan,
}

/// Opens `arg`.
pub(crate) async fn open(arg: &str, aws: &AwsOptions, mode: Mode) -> Result<Location> {
    if !is_url(arg) {
        let trailing_slash = arg.ends_with('/') || arg.ends_with(std::path::MAIN_SEPARATOR);
        return open_local(Path::new(arg), trailing_slash, mode, true).await;
    }
    let parsed = parse_url(arg)?;
    let trailing_slash = arg.ends_with('/');
    match parsed.scheme.as_str() {
        "file" => open_local(Path::new(&parsed.path), trailing_slash, mode, false).await,
        "s3" => {
            let session = aws_session(aws).await?;
            let store = session
                .store(parsed.bucket.clone())
                .map_err(|e| CliError::from_error("could not create the S3 client", &e))?;
            Ok(Location {
                store: Arc::new(store),
                is_dir: trailing_slash || parsed.prefix.is_root(),
                key: parsed.prefix,
                identity: format!("s3://{}", parsed.bucket),
                plain_local: false,
                local: None,
            })
        }
        scheme => {
            let (store, key) = from_url(arg).await?;
            let identity =
                if scheme == "memory" { "memory://".to_owned() } else { format!("{scheme}://{}", parsed.bucket) };
            Ok(Location {
                store,
                is_dir: trailing_slash || key.is_root(),
                key,
                identity,
                plain_local: false,
                local: None,
            })
        }
    }
}

/// A local file or directory: an existing directory is the store's root; anything else is the key
/// named by its file name in the store rooted at its parent.
async fn open_local(path: &Path, trailing_slash: bool, mode: Mode, plain_local: bool) -> Result<Location> {
    let is_dir = tokio::fs::metadata(path).await.map(|m| m.is_dir()).unwrap_or(false);
    let (root, key, is_dir) = if is_dir || (trailing_slash && mode != Mode::Read) {
        (path.to_path_buf(), ObjectKey::root(), true)
    } else {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| CliError::failure(format!("{}: not a file name this command can use", path.display())))?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        (parent, ObjectKey::parse(name)?, false)
    };
    let opened = match mode {
        Mode::Write => LocalFileSystem::create(&root).await,
        Mode::Read | Mode::Plan => LocalFileSystem::new(&root).await,
    };
    let (store, identity, local): (Arc<dyn ObjectStore>, String, _) = match opened {
        Ok(store) => {
            let identity = format!("file://{}", store.root().display());
            (Arc::new(store.clone()), identity, Some(store))
        }
        Err(e) if mode == Mode::Write => return Err(e.into()),
        Err(_) if mode == Mode::Plan => (Arc::new(InMemory::new()), format!("file://{}", root.display()), None),
        Err(_) => return Err(CliError::failure(format!("{}: no such file or directory", path.display()))),
    };
    Ok(Location { store, key, identity, is_dir, plain_local, local })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_paths() {
        assert!(is_url("s3://b/k"));
        assert!(is_url("memory://"));
        assert!(is_url("file:///tmp/x"));
        assert!(!is_url("./dir/file"));
        assert!(!is_url("/abs/a b"));
        assert!(!is_url("weird name://x"));
    }
}
