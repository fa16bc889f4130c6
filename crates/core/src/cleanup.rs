//! Cleanup that outlives a cancelled operation.
//!
//! A transfer whose future is dropped part-way (a timeout, `select!`, Ctrl-C) cannot await
//! anything in `Drop`, yet it may have started something on the service that must be undone: an
//! S3 multipart upload (parts are billed until aborted), staged Azure blocks, a GCS resumable
//! session. Such work is spawned on the current Tokio runtime with [`spawn_cleanup`], and counted,
//! so that a program about to exit (the `cloudkit` command after Ctrl-C) can wait for it with
//! [`cleanups_finished`] instead of having the runtime's shutdown cancel it.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

/// Cleanups spawned and not finished yet.
static PENDING: AtomicUsize = AtomicUsize::new(0);
/// Woken whenever a cleanup ends.
static ENDED: Notify = Notify::const_new();

/// Counts one cleanup as pending until dropped (at its end, or when the runtime cancels it).
struct Pending;

impl Pending {
    fn new() -> Self {
        PENDING.fetch_add(1, Ordering::SeqCst);
        Self
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        PENDING.fetch_sub(1, Ordering::SeqCst);
        ENDED.notify_waiters();
    }
}

/// Spawns `task` on the current Tokio runtime as a counted cleanup. Returns `false` (and drops
/// the task) when no runtime is current, for example when a future is dropped after its runtime
/// shut down: there is nothing left to run it on.
pub fn spawn_cleanup<F>(task: F) -> bool
where
    F: Future<Output = ()> + Send + 'static,
{
    let Ok(handle) = tokio::runtime::Handle::try_current() else { return false };
    let pending = Pending::new();
    handle.spawn(async move {
        let _pending = pending;
        task.await;
    });
    true
}

/// Runs a cleanup through [`spawn_cleanup`] when dropped before [`disarm`](Self::disarm): what an
/// operation holds while it has started something on the service that a cancellation must undo
/// (a multipart upload, staged blocks, a resumable session).
#[must_use = "the cleanup runs when the guard is dropped"]
pub struct CleanupOnDrop<F, Fut>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    cleanup: Option<F>,
}

impl<F, Fut> CleanupOnDrop<F, Fut>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    /// A guard that runs `cleanup()` if dropped while armed.
    pub fn new(cleanup: F) -> Self {
        Self { cleanup: Some(cleanup) }
    }

    /// The operation finished (or cleaned up itself): nothing runs on drop.
    pub fn disarm(mut self) {
        self.cleanup = None;
    }
}

impl<F, Fut> Drop for CleanupOnDrop<F, Fut>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn drop(&mut self) {
        if let Some(cleanup) = self.cleanup.take() {
            spawn_cleanup(cleanup());
        }
    }
}

impl<F, Fut> std::fmt::Debug for CleanupOnDrop<F, Fut>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CleanupOnDrop").field("armed", &self.cleanup.is_some()).finish()
    }
}

/// How many cleanups are running.
pub fn pending_cleanups() -> usize {
    PENDING.load(Ordering::SeqCst)
}

/// Waits until no cleanup is running, for at most `within`. Returns whether all finished (a
/// cleanup is a few requests, each bounded by the client's timeouts and retries).
pub async fn cleanups_finished(within: Duration) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut ended = std::pin::pin!(ENDED.notified());
        // Registered before the count is read: an end between the read and the wait is not missed.
        ended.as_mut().enable();
        if pending_cleanups() == 0 {
            return true;
        }
        if tokio::time::timeout_at(deadline, ended).await.is_err() {
            return pending_cleanups() == 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_spawned_cleanup_is_waited_for() {
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        assert!(spawn_cleanup(async move {
            let _ = rx.await;
        }));
        assert!(pending_cleanups() >= 1);
        assert!(!cleanups_finished(Duration::from_millis(50)).await, "still running");
        tx.send(()).unwrap();
        assert!(cleanups_finished(Duration::from_secs(5)).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_guard_cleans_up_when_dropped_armed_and_not_when_disarmed() {
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = ran.clone();
        drop(CleanupOnDrop::new(move || async move {
            counter.fetch_add(1, Ordering::SeqCst);
        }));
        let counter = ran.clone();
        CleanupOnDrop::new(move || async move {
            counter.fetch_add(10, Ordering::SeqCst);
        })
        .disarm();
        assert!(cleanups_finished(Duration::from_secs(5)).await);
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn without_a_runtime_nothing_is_spawned() {
        assert!(!spawn_cleanup(async {}));
    }
}
