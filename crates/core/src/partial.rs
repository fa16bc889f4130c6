//! Downloads to a file that never leave a half-written or corrupt destination: [`PartialFile`].

use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use tokio::io::{AsyncWrite, AsyncWriteExt};

use crate::internal::blocking;

/// A download destination written through a temporary file with a unique name in the target's
/// directory, renamed over the target only by [`commit`](Self::commit), once the whole body has
/// arrived and been verified. A `PartialFile` dropped uncommitted (an error, a cancelled task)
/// removes its temporary file, and the target keeps its old content. Every download-to-file of
/// every provider goes through it.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// use tokio::io::AsyncWriteExt;
/// let dir = std::env::temp_dir().join(format!("ck-partial-doc-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let target = dir.join("report.csv");
///
/// let mut file = cloudkit_core::PartialFile::create(&target).await?;
/// file.write_all(b"a,b\n").await?;
/// drop(file); // failed or cancelled: nothing at the target, no temporary file left
/// assert!(!target.exists());
/// assert_eq!(std::fs::read_dir(&dir)?.count(), 0);
///
/// let mut file = cloudkit_core::PartialFile::create(&target).await?;
/// file.write_all(b"a,b\n").await?;
/// file.commit().await?;
/// assert_eq!(std::fs::read(&target)?, b"a,b\n");
/// # std::fs::remove_dir_all(&dir) }
/// ```
#[derive(Debug)]
pub struct PartialFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<tokio::fs::File>,
    committed: bool,
}

/// Tries at making a unique name before giving up (a name is taken only by a concurrent download
/// of the same target, or by a stale file of a crashed process with the same pid).
const NAME_ATTEMPTS: u32 = 16;

impl PartialFile {
    /// Creates a new, empty temporary file next to `target` (same directory, so the final rename
    /// is atomic): `.{name}.{pid}-{unique}.cloudkit-partial`. The directory must exist.
    pub async fn create(target: impl Into<PathBuf>) -> io::Result<Self> {
        let target = target.into();
        let mut last_error = None;
        for _ in 0..NAME_ATTEMPTS {
            let temp = temp_name(&target)?;
            let path = temp.clone();
            match blocking::run_io(move || std::fs::OpenOptions::new().write(true).create_new(true).open(path)).await {
                Ok(file) => {
                    return Ok(Self { target, temp, file: Some(tokio::fs::File::from_std(file)), committed: false });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last_error = Some(e),
                Err(e) => return Err(e),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("no unique temporary file name")))
    }

    /// The file the download will replace.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The temporary file being written.
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// The temporary file, for positioned writes (parallel ranged downloads seek to their part).
    pub fn file_mut(&mut self) -> io::Result<&mut tokio::fs::File> {
        self.file.as_mut().ok_or_else(closed)
    }

    /// Flushes the data to disk and renames the temporary file over the target. On an error the
    /// temporary file is removed and the target is unchanged.
    pub async fn commit(mut self) -> io::Result<()> {
        let mut file = self.file.take().ok_or_else(closed)?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        blocking::rename(&self.temp, &self.target).await?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.committed {
            // A cancelled or failed download: the target keeps its old content. One unlink, done
            // here (not on the blocking pool) so that it has happened when the drop returns.
            drop(self.file.take());
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

impl AsyncWrite for PartialFile {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut().file.as_mut() {
            Some(file) => Pin::new(file).poll_write(cx, buf),
            None => Poll::Ready(Err(closed())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().file.as_mut() {
            Some(file) => Pin::new(file).poll_flush(cx),
            None => Poll::Ready(Err(closed())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().file.as_mut() {
            Some(file) => Pin::new(file).poll_shutdown(cx),
            None => Poll::Ready(Err(closed())),
        }
    }
}

fn closed() -> io::Error {
    io::Error::other("the partial file was already committed")
}

/// `.{name}.{pid}-{unique}.cloudkit-partial` in the target's directory: unique across the
/// process (a counter) and across processes (the pid and a random part).
fn temp_name(target: &Path) -> io::Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the download target has no file name"))?
        .to_string_lossy();
    let unique = format!(
        ".{name}.{}-{:x}{:04x}.cloudkit-partial",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        fastrand::u16(..)
    );
    Ok(target.with_file_name(unique))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ck-partial-{tag}-{}-{}", std::process::id(), fastrand::u64(..)));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    /// Issue 15, defect 3: two downloads of `a.csv` and `a.json` (or of one path twice) shared one
    /// temporary name and corrupted each other. Every `PartialFile` has its own.
    #[tokio::test]
    async fn concurrent_downloads_never_share_a_temporary_file() {
        let d = dir("unique");
        let mut files = Vec::new();
        for name in ["a.csv", "a.json", "a.csv", "a.csv"] {
            files.push(PartialFile::create(d.join(name)).await.unwrap());
        }
        let temps: std::collections::HashSet<&Path> = files.iter().map(PartialFile::temp_path).collect();
        assert_eq!(temps.len(), 4);
        for (i, f) in files.iter_mut().enumerate() {
            f.write_all(format!("content {i}").as_bytes()).await.unwrap();
        }
        let mut files = files.into_iter();
        files.next().unwrap().commit().await.unwrap();
        files.next().unwrap().commit().await.unwrap();
        drop(files); // the last two: cancelled
        assert_eq!(names(&d), ["a.csv", "a.json"]);
        assert_eq!(std::fs::read(d.join("a.csv")).unwrap(), b"content 0");
        assert_eq!(std::fs::read(d.join("a.json")).unwrap(), b"content 1");
        std::fs::remove_dir_all(&d).unwrap();
    }

    /// Issue 15, defect 4: a failed download must leave the old content in place.
    #[tokio::test]
    async fn an_uncommitted_download_keeps_the_old_content() {
        let d = dir("keep");
        let target = d.join("data.bin");
        std::fs::write(&target, b"old").unwrap();
        let mut f = PartialFile::create(&target).await.unwrap();
        f.write_all(b"new but incomplete").await.unwrap();
        drop(f);
        assert_eq!(std::fs::read(&target).unwrap(), b"old");
        assert_eq!(names(&d), ["data.bin"]);
        let mut f = PartialFile::create(&target).await.unwrap();
        f.write_all(b"new").await.unwrap();
        f.commit().await.unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[tokio::test]
    async fn a_missing_directory_or_name_is_an_error() {
        let d = dir("missing");
        assert!(PartialFile::create(d.join("no/such/dir/file")).await.is_err());
        assert!(PartialFile::create(PathBuf::from("/")).await.is_err());
        assert_eq!(names(&d), Vec::<String>::new());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
