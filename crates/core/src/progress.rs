//! Progress of a transfer, one type for every transfer manager (S3's, Azure Blob's) and the
//! stores' `download_file` (GCS has no transfer manager: its resumable uploads report no progress).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Progress of one transfer, as passed to a [`ProgressCallback`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Bytes transferred so far (never decreases).
    pub transferred: u64,
    /// The size of the transfer, when known (always for files, bytes and downloads; for an upload
    /// from a reader or a stream only once it reached its end).
    pub total: Option<u64>,
}

/// A progress callback: called from a transfer's tasks after every part, block, chunk or range;
/// keep it cheap.
pub type ProgressCallback = Arc<dyn Fn(Progress) + Send + Sync>;

const UNKNOWN: u64 = u64::MAX;

/// Counts the bytes of one transfer across its parallel tasks and reports them to an optional
/// callback. Transfer managers create one per transfer.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use cloudkit_core::{Progress, ProgressTracker};
/// let seen = Arc::new(Mutex::new(Vec::new()));
/// let sink = seen.clone();
/// let tracker = ProgressTracker::new(Some(Arc::new(move |p: Progress| sink.lock().unwrap().push(p))), None);
/// tracker.start();
/// tracker.add(5);
/// tracker.set_total(8);
/// tracker.add(3);
/// let seen = seen.lock().unwrap();
/// assert_eq!(seen.last(), Some(&Progress { transferred: 8, total: Some(8) }));
/// assert_eq!(seen[0], Progress { transferred: 0, total: None });
/// ```
pub struct ProgressTracker {
    done: AtomicU64,
    total: AtomicU64,
    callback: Option<ProgressCallback>,
}

impl fmt::Debug for ProgressTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProgressTracker")
            .field("transferred", &self.transferred())
            .field("total", &self.total())
            .field("callback", &self.callback.as_ref().map(|_| "set"))
            .finish()
    }
}

impl ProgressTracker {
    /// A tracker at 0 bytes of `total` (when known).
    pub fn new(callback: Option<ProgressCallback>, total: Option<u64>) -> Self {
        Self { done: AtomicU64::new(0), total: AtomicU64::new(total.unwrap_or(UNKNOWN)), callback }
    }

    /// Sets the total once it is known (an upload from a stream that reached its end).
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
    }

    /// Counts `n` more bytes and reports.
    pub fn add(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        self.report(done);
    }

    /// Reports the current state (call once when the transfer starts).
    pub fn start(&self) {
        self.report(self.transferred());
    }

    /// Bytes counted so far.
    pub fn transferred(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// The total, when known.
    pub fn total(&self) -> Option<u64> {
        let total = self.total.load(Ordering::Relaxed);
        (total != UNKNOWN).then_some(total)
    }

    fn report(&self, done: u64) {
        if let Some(cb) = &self.callback {
            cb(Progress { transferred: done, total: self.total() });
        }
    }
}
