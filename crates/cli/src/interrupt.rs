//! Ctrl-C during transfers and removals: the first one stops the command cleanly (no new work
//! starts, the work in flight is dropped, which aborts multipart uploads, discards staged blocks,
//! cancels resumable sessions and removes temporary files, and the command waits for that
//! cleanup before it prints what was and was not done); a second one exits at once.
//!
//! Commands that do not write (ls, cat, stat, …) keep the default: Ctrl-C ends the process.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use tokio::sync::watch;

use crate::error::{CliError, EXIT_INTERRUPTED};

/// How long the command waits for the cleanup of interrupted transfers.
const CLEANUP_WITHIN: Duration = Duration::from_secs(30);

/// Set once Ctrl-C was pressed.
static INTERRUPTED: OnceLock<watch::Receiver<bool>> = OnceLock::new();

/// Starts listening for Ctrl-C (call once, inside the runtime, before the command's work).
pub(crate) fn install() {
    let (tx, rx) = watch::channel(false);
    if INTERRUPTED.set(rx).is_err() {
        return;
    }
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            // No signal handling here: Ctrl-C keeps its default effect.
            return;
        }
        let _ = tx.send(true);
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("cloudkit: interrupted again: exiting without waiting for the cleanup");
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
}

/// Resolves when Ctrl-C was pressed (never, when [`install`] was not called).
pub(crate) async fn requested() {
    match INTERRUPTED.get() {
        Some(rx) => {
            let mut rx = rx.clone();
            if rx.wait_for(|pressed| *pressed).await.is_err() {
                futures::future::pending::<()>().await;
            }
        }
        None => futures::future::pending::<()>().await,
    }
}

/// Feeds every item of `stream` to `each` until the stream ends (`false`) or Ctrl-C comes
/// (`true`; the stream, with the work in flight, is dropped here).
pub(crate) async fn drain<S: futures::Stream>(stream: S, mut each: impl FnMut(S::Item)) -> bool {
    use futures::StreamExt as _;
    let mut stream = std::pin::pin!(stream);
    let mut stop = std::pin::pin!(requested());
    loop {
        tokio::select! {
            biased;
            () = &mut stop => return true,
            next = stream.next() => match next {
                Some(item) => each(item),
                None => return false,
            },
        }
    }
}

/// Runs `work` unless Ctrl-C comes first (then `what` was interrupted and nothing was changed).
pub(crate) async fn or_interrupted<T>(
    what: &str,
    work: impl Future<Output = crate::error::Result<T>>,
) -> crate::error::Result<T> {
    tokio::select! {
        biased;
        () = requested() => Err(CliError::interrupted(format!("interrupted while {what}; nothing was changed"))),
        result = work => result,
    }
}

/// After an interruption: waits for the background cleanup of the dropped transfers (aborts of
/// multipart uploads and the like). Says so when it takes a moment or does not finish.
pub(crate) async fn settle() {
    if cloudkit::core::pending_cleanups() == 0 {
        return;
    }
    eprintln!("cloudkit: cleaning up the interrupted transfers…");
    if !cloudkit::core::cleanups_finished(CLEANUP_WITHIN).await {
        eprintln!(
            "cloudkit: the cleanup did not finish within {}s; unfinished uploads expire on the service (see its lifecycle rules)",
            CLEANUP_WITHIN.as_secs()
        );
    }
}
