//! Blocking work (file-system calls) on tokio's blocking pool.
//!
//! `tokio::fs` and `tokio::task::spawn_blocking` create a new task type for every call site, and
//! the runtime's task machinery is compiled again for each of them (about 1,500 lines of LLVM IR
//! apiece). [`run`] sends every job through one boxed task type instead, so that machinery is
//! compiled once however many file operations the SDK performs. The file-system functions below
//! are the `tokio::fs` ones the SDK needs, on top of [`run`].

use std::ffi::OsString;
use std::fs::{FileType, Metadata};
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;

/// Runs `work` on the blocking pool and returns its result. An error only if the work panicked
/// (the panic stays on the pool thread) or the runtime is shutting down.
pub async fn run<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> io::Result<T> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    spawn(Box::new(move || {
        // The receiver is gone only if the caller stopped waiting; nothing to report then.
        let _ = tx.send(work());
    }));
    rx.await.map_err(|_| io::Error::other("a blocking file-system task panicked or was cancelled"))
}

/// [`run`] for work that returns an `io::Result`.
pub async fn run_io<T: Send + 'static>(work: impl FnOnce() -> io::Result<T> + Send + 'static) -> io::Result<T> {
    run(work).await?
}

/// Reads a whole file.
pub async fn read(path: &Path) -> io::Result<Vec<u8>> {
    let path = path.to_owned();
    run_io(move || std::fs::read(path)).await
}

/// Reads a whole file as UTF-8 text.
pub async fn read_to_string(path: &Path) -> io::Result<String> {
    let path = path.to_owned();
    run_io(move || std::fs::read_to_string(path)).await
}

/// `std::fs::canonicalize`.
pub async fn canonicalize(path: &Path) -> io::Result<PathBuf> {
    let path = path.to_owned();
    run_io(move || std::fs::canonicalize(path)).await
}

/// `std::fs::metadata` (follows symlinks).
pub async fn metadata(path: &Path) -> io::Result<Metadata> {
    let path = path.to_owned();
    run_io(move || std::fs::metadata(path)).await
}

/// `std::fs::symlink_metadata` (does not follow symlinks).
pub async fn symlink_metadata(path: &Path) -> io::Result<Metadata> {
    let path = path.to_owned();
    run_io(move || std::fs::symlink_metadata(path)).await
}

/// `std::fs::create_dir_all`.
pub async fn create_dir_all(path: &Path) -> io::Result<()> {
    let path = path.to_owned();
    run_io(move || std::fs::create_dir_all(path)).await
}

/// Writes a whole file (created or truncated).
pub async fn write(path: &Path, contents: Bytes) -> io::Result<()> {
    let path = path.to_owned();
    run_io(move || std::fs::write(path, contents)).await
}

/// `std::fs::rename`.
pub async fn rename(from: &Path, to: &Path) -> io::Result<()> {
    let (from, to) = (from.to_owned(), to.to_owned());
    run_io(move || std::fs::rename(from, to)).await
}

/// `std::fs::hard_link` (fails with `AlreadyExists` when `to` exists).
pub async fn hard_link(from: &Path, to: &Path) -> io::Result<()> {
    let (from, to) = (from.to_owned(), to.to_owned());
    run_io(move || std::fs::hard_link(from, to)).await
}

/// `std::fs::copy`; the number of bytes copied.
pub async fn copy(from: &Path, to: &Path) -> io::Result<u64> {
    let (from, to) = (from.to_owned(), to.to_owned());
    run_io(move || std::fs::copy(from, to)).await
}

/// `std::fs::remove_file`.
pub async fn remove_file(path: &Path) -> io::Result<()> {
    let path = path.to_owned();
    run_io(move || std::fs::remove_file(path)).await
}

/// `std::fs::remove_dir` (only an empty directory).
pub async fn remove_dir(path: &Path) -> io::Result<()> {
    let path = path.to_owned();
    run_io(move || std::fs::remove_dir(path)).await
}

/// One directory entry, with its type and (for files) metadata read in the same job.
#[derive(Debug)]
pub struct DirEntry {
    /// The file name.
    pub name: OsString,
    /// The full path.
    pub path: PathBuf,
    /// The entry's type (symlinks are not followed).
    pub file_type: FileType,
    /// The metadata, for files.
    pub metadata: Option<Metadata>,
}

/// The entries of a directory (no order), in one blocking job.
pub async fn read_dir(path: &Path) -> io::Result<Vec<DirEntry>> {
    let path = path.to_owned();
    run_io(move || {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            let file_type = entry.file_type()?;
            let metadata = if file_type.is_file() { Some(entry.metadata()?) } else { None };
            out.push(DirEntry { name: entry.file_name(), path: entry.path(), file_type, metadata });
        }
        Ok(out)
    })
    .await
}

/// Opens a file for reading.
pub async fn open(path: &Path) -> io::Result<tokio::fs::File> {
    let path = path.to_owned();
    run_io(move || std::fs::File::open(path)).await.map(tokio::fs::File::from_std)
}

/// Creates (or truncates) a file for writing.
pub async fn create(path: &Path) -> io::Result<tokio::fs::File> {
    let path = path.to_owned();
    run_io(move || std::fs::File::create(path)).await.map(tokio::fs::File::from_std)
}

#[inline(never)]
fn spawn(job: Box<dyn FnOnce() + Send>) {
    // Detached: the result comes back through the channel.
    drop(tokio::task::spawn_blocking(job));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn results_come_back() {
        assert_eq!(run(|| 40 + 2).await.unwrap(), 42);
        let e = run_io(|| std::fs::metadata("/definitely/not/here")).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::NotFound);
    }

    #[tokio::test]
    async fn a_panicking_job_is_an_error_not_a_panic() {
        let e = run(|| -> u8 { panic!("boom") }).await.unwrap_err();
        assert!(e.to_string().contains("panicked"), "{e}");
    }
}
