//! Work spawned on the current Tokio runtime that is cancelled with its owner.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::task::JoinHandle;

/// A spawned task that is aborted when this handle is dropped: the parts of a parallel download
/// run (and hash) on the runtime's worker threads while the caller writes the earlier ones, and
/// stop when the download is cancelled. Resolves to the task's result, or to an error if the task
/// panicked or the runtime is shutting down.
#[must_use = "the task is aborted when the handle is dropped"]
pub struct Spawned<T>(JoinHandle<T>);

/// Spawns `work` on the current Tokio runtime (panics outside a runtime, as `tokio::spawn`).
pub fn spawn<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> Spawned<T> {
    Spawned(tokio::spawn(work))
}

impl<T> Future for Spawned<T> {
    type Output = io::Result<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0).poll(cx).map(|r| r.map_err(|e| io::Error::other(format!("a spawned task ended: {e}"))))
    }
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    #[tokio::test]
    async fn results_come_back_and_a_dropped_handle_stops_its_task() {
        assert_eq!(spawn(async { 40 + 2 }).await.unwrap(), 42);

        let finished = Arc::new(AtomicBool::new(false));
        let flag = finished.clone();
        let handle = spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            flag.store(true, Ordering::SeqCst);
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        drop(handle);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!finished.load(Ordering::SeqCst), "the task ran on after its handle was dropped");
    }

    #[tokio::test]
    async fn a_panic_is_an_error_not_a_panic_of_the_caller() {
        let e = spawn(async { panic!("boom") }).await.map(|()| 0).unwrap_err();
        assert!(e.to_string().contains("panicked"), "{e}");
    }
}
