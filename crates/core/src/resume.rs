//! Downloads that survive a broken connection: [`resuming`] picks a streaming body up again from
//! the last byte received, with a ranged request pinned to the version first read.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;

use crate::body::ByteStream;
use crate::error::{TransportError, TransportErrorKind};
use crate::retry::RetryConfig;

/// Opens the object again at an absolute byte offset: a ranged GET from the offset to the end of
/// the range first asked for, conditioned on the version first read (S3 and Azure `If-Match` with
/// the ETag, GCS `ifGenerationMatch`). If the object changed, the service refuses (412) and the
/// function answers [`object_changed`] — a download is never spliced from two versions.
pub type ReopenAt = Box<dyn FnMut(u64) -> BoxFuture<'static, Result<ByteStream, TransportError>> + Send>;

/// The object changed while it was being read: resuming would splice two versions.
pub fn object_changed() -> TransportError {
    TransportError::new(
        TransportErrorKind::ObjectChanged,
        "the object changed while it was being read (its version is no longer the one first read)",
    )
}

/// Wraps a download body so that, when it breaks off (a reset connection, a truncated body, a
/// stall past the read timeout), the rest is fetched again from the last byte received with
/// `reopen`, up to the retry budget of `retry` (its attempts and backoff). `start` is the offset
/// of the body's first byte and `end` the offset after its last byte, when known (a body that
/// ends early without an error is resumed too; one that sends more is an error). Errors that a
/// new request cannot fix (a changed object, an unreadable request body) end the stream.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudkit_core::{ByteStream, Bytes, RetryConfig, TransportError, TransportErrorKind, resuming};
/// use futures::FutureExt;
///
/// let data = Bytes::from_static(b"hello world");
/// // The first response breaks off after 5 bytes.
/// let first = ByteStream::new(futures::stream::iter(vec![
///     Ok(data.slice(..5)),
///     Err(TransportError::new(TransportErrorKind::Body, "connection reset")),
/// ]));
/// let source = data.clone();
/// let reopen = Box::new(move |offset: u64| {
///     let rest = source.slice(offset as usize..);
///     async move { Ok(ByteStream::from_bytes(rest)) }.boxed()
/// });
/// let body = resuming(first, 0, Some(11), reopen, RetryConfig::standard().with_initial_backoff(std::time::Duration::ZERO));
/// assert_eq!(body.collect().await.unwrap(), data);
/// # }
/// ```
pub fn resuming(body: ByteStream, start: u64, end: Option<u64>, reopen: ReopenAt, retry: RetryConfig) -> ByteStream {
    let state = Resume { body: Some(body), position: start, end, reopen, retry, resumes: 0, done: false };
    ByteStream::new(futures::stream::unfold(state, |mut state| async move {
        let item = state.next().await?;
        Some((item, state))
    }))
}

struct Resume {
    body: Option<ByteStream>,
    position: u64,
    end: Option<u64>,
    reopen: ReopenAt,
    retry: RetryConfig,
    resumes: u32,
    done: bool,
}

impl fmt::Debug for Resume {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resume")
            .field("position", &self.position)
            .field("end", &self.end)
            .field("resumes", &self.resumes)
            .finish_non_exhaustive()
    }
}

impl Resume {
    async fn next(&mut self) -> Option<Result<Bytes, TransportError>> {
        loop {
            if self.done {
                return None;
            }
            let Some(body) = self.body.as_mut() else {
                // reopen after a break
                match self.reopen_body().await {
                    Ok(()) => continue,
                    Err(e) => return self.fail(e),
                }
            };
            match body.next().await {
                Some(Ok(chunk)) => {
                    self.position += chunk.len() as u64;
                    if let Some(end) = self.end
                        && self.position > end
                    {
                        let e = TransportError::new(
                            TransportErrorKind::Body,
                            format!("the server sent more than the {end} bytes asked for"),
                        );
                        return self.fail(e);
                    }
                    return Some(Ok(chunk));
                }
                Some(Err(e)) if resumable(&e) && self.resumes + 1 < self.retry.max_attempts() => {
                    tracing::info!(position = self.position, error = %e, "download broke off; resuming");
                    self.body = None;
                }
                Some(Err(e)) => return self.fail(e),
                None => match self.end {
                    Some(end) if self.position < end => {
                        if self.resumes + 1 >= self.retry.max_attempts() {
                            let e = TransportError::new(
                                TransportErrorKind::Body,
                                format!("the body ended at byte {} of {end}", self.position),
                            );
                            return self.fail(e);
                        }
                        tracing::info!(position = self.position, end, "download ended early; resuming");
                        self.body = None;
                    }
                    _ => {
                        self.done = true;
                        return None;
                    }
                },
            }
        }
    }

    async fn reopen_body(&mut self) -> Result<(), TransportError> {
        self.resumes += 1;
        let delay: Duration = self.retry.backoff(self.resumes);
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.body = Some((self.reopen)(self.position).await?);
        Ok(())
    }

    fn fail(&mut self, e: TransportError) -> Option<Result<Bytes, TransportError>> {
        self.done = true;
        self.body = None;
        Some(Err(e))
    }
}

/// Whether a new request from the current offset can fix this failure.
fn resumable(e: &TransportError) -> bool {
    matches!(e.kind(), TransportErrorKind::Body | TransportErrorKind::Request | TransportErrorKind::Timeout)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use futures::FutureExt;

    use super::*;

    fn data() -> Bytes {
        Bytes::from((0..100u8).collect::<Vec<_>>())
    }

    fn broken(parts: Vec<Result<Bytes, TransportError>>) -> ByteStream {
        ByteStream::new(futures::stream::iter(parts))
    }

    fn reset() -> TransportError {
        TransportError::new(TransportErrorKind::Body, "connection reset")
    }

    fn retry() -> RetryConfig {
        RetryConfig::standard().with_max_attempts(4).with_initial_backoff(Duration::from_millis(1))
    }

    /// Serves `data` from the asked offset; each of the first `breaks` reopens breaks again
    /// after 10 bytes. Records the offsets asked for.
    fn reopener(breaks: usize, offsets: Arc<Mutex<Vec<u64>>>) -> ReopenAt {
        let mut left = breaks;
        Box::new(move |offset: u64| {
            offsets.lock().unwrap().push(offset);
            let rest = data().slice(offset as usize..);
            let body = if left > 0 && rest.len() > 10 {
                left -= 1;
                broken(vec![Ok(rest.slice(..10)), Err(reset())])
            } else {
                ByteStream::from_bytes(rest)
            };
            async move { Ok(body) }.boxed()
        })
    }

    #[tokio::test(start_paused = true)]
    async fn a_broken_body_resumes_from_the_last_byte() {
        let offsets = Arc::new(Mutex::new(Vec::new()));
        let first = broken(vec![Ok(data().slice(..30)), Err(reset())]);
        let body = resuming(first, 0, Some(100), reopener(1, offsets.clone()), retry());
        assert_eq!(body.collect().await.unwrap(), data());
        assert_eq!(*offsets.lock().unwrap(), [30, 40]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_body_that_ends_early_is_resumed_and_one_that_sends_more_is_an_error() {
        let offsets = Arc::new(Mutex::new(Vec::new()));
        let truncated = broken(vec![Ok(data().slice(20..50))]);
        let body = resuming(truncated, 20, Some(100), reopener(0, offsets.clone()), retry());
        assert_eq!(body.collect().await.unwrap(), data().slice(20..));
        assert_eq!(*offsets.lock().unwrap(), [50]);

        let too_long = broken(vec![Ok(data())]);
        let e = resuming(too_long, 0, Some(50), reopener(0, offsets), retry()).collect().await.unwrap_err();
        assert!(e.to_string().contains("more than the 50 bytes"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn resumes_are_bounded_by_the_retry_budget() {
        let offsets = Arc::new(Mutex::new(Vec::new()));
        let first = broken(vec![Ok(data().slice(..10)), Err(reset())]);
        let e =
            resuming(first, 0, Some(100), reopener(usize::MAX, offsets.clone()), retry()).collect().await.unwrap_err();
        assert_eq!(e.kind(), TransportErrorKind::Body);
        assert_eq!(offsets.lock().unwrap().len(), 3, "four attempts in all: the first and three resumes");
    }

    #[tokio::test(start_paused = true)]
    async fn a_changed_object_ends_the_download_instead_of_splicing() {
        let first = broken(vec![Ok(data().slice(..10)), Err(reset())]);
        let reopen: ReopenAt = Box::new(|_| async { Err(object_changed()) }.boxed());
        let e = resuming(first, 0, Some(100), reopen, retry()).collect().await.unwrap_err();
        assert_eq!(e.kind(), TransportErrorKind::ObjectChanged);
    }

    #[tokio::test(start_paused = true)]
    async fn errors_a_new_request_cannot_fix_are_not_resumed() {
        let offsets = Arc::new(Mutex::new(Vec::new()));
        let first = broken(vec![Err(TransportError::new(TransportErrorKind::Other, "bad"))]);
        assert!(resuming(first, 0, None, reopener(0, offsets.clone()), retry()).collect().await.is_err());
        assert!(offsets.lock().unwrap().is_empty());
    }
}
