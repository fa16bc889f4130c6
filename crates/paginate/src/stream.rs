//! [`PageStream`] and [`ItemStream`]: the streams a [`Paginator`](crate::Paginator) returns.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::future::BoxFuture;
use futures::stream::{FusedStream, Stream};
use futures::{FutureExt, StreamExt};

use crate::paginator::BoxFetch;
use crate::{Page, PageRequest, PaginationConfig, PaginationError, PaginationErrorKind, ResumeToken};

/// Where the page stream is.
enum State<'a, P, E> {
    /// The next page to request, and how many of its items to skip.
    Ready { token: Option<String>, skip: usize },
    /// A request is in flight for the page at `token`.
    Fetching { future: BoxFuture<'a, Result<P, E>>, token: Option<String>, skip: usize },
    /// The stream must yield this error next, then end.
    Failed(PaginationErrorKind),
    /// The stream has ended.
    Done,
}

/// A stream of pages, returned by [`Paginator::pages`](crate::Paginator::pages).
///
/// Yields `Result<P, E>`: the fetch function's errors unchanged, and page-bookkeeping failures as
/// a [`PaginationError`] converted with `E: From<PaginationError>`. Ends after the last page,
/// after `max_items` items, or after the first error. It is `Unpin`, and `Send` whenever the
/// fetch function is.
pub struct PageStream<'a, P, E> {
    service: Cow<'static, str>,
    operation: Cow<'static, str>,
    fetch: BoxFetch<'a, P, E>,
    page_size: Option<u32>,
    /// Items still allowed by `max_items`.
    remaining: Option<usize>,
    /// Every token requested or returned so far.
    seen: HashSet<String>,
    resume: Option<ResumeToken>,
    state: State<'a, P, E>,
}

// The stream never pins its fields in place (the in-flight future is boxed), so it is `Unpin`
// whatever `P` and `E` are.
impl<P, E> Unpin for PageStream<'_, P, E> {}

impl<'a, P, E> PageStream<'a, P, E>
where
    P: Page,
{
    pub(crate) fn new(
        service: Cow<'static, str>,
        operation: Cow<'static, str>,
        config: PaginationConfig,
        fetch: BoxFetch<'a, P, E>,
    ) -> Self {
        let state = match config.starting_token.as_deref() {
            None | Some("") => State::Ready { token: None, skip: 0 },
            Some(text) => match text.parse::<ResumeToken>() {
                Ok(start) => {
                    let (token, skip) = start.into_parts();
                    State::Ready { token, skip }
                }
                Err(reason) => {
                    State::Failed(PaginationErrorKind::InvalidStartingToken { token: text.to_owned(), reason })
                }
            },
        };
        let mut seen = HashSet::new();
        if let State::Ready { token: Some(token), .. } = &state {
            seen.insert(token.clone());
        }
        Self {
            service,
            operation,
            fetch,
            page_size: config.page_size,
            remaining: config.max_items,
            seen,
            resume: None,
            state,
        }
    }

    /// Where to resume, once the stream has ended because `max_items` items were returned and
    /// the listing has more.
    ///
    /// `None` while the stream is running, when it ended at the end of the listing, and after an
    /// error. Pass its string form to
    /// [`PaginationConfig::starting_token`](crate::PaginationConfig::starting_token) to continue.
    pub fn resume_token(&self) -> Option<&ResumeToken> {
        self.resume.as_ref()
    }

    /// Handles a fetched page: trims it, records where to go next, and returns it.
    fn accept(&mut self, mut page: P, token: Option<String>, skip: usize) -> P {
        let count = page.item_count();
        let start = skip.min(count);
        let available = count - start;
        let take = self.remaining.map_or(available, |r| r.min(available));
        if start > 0 || take < available {
            page.retain_items(start..start + take);
        }
        if let Some(remaining) = &mut self.remaining {
            *remaining -= take;
        }
        let next = page.next_token().filter(|t| !t.is_empty()).map(str::to_owned);

        self.state = if take < available {
            // `max_items` cut this page: resume inside it.
            self.resume = Some(ResumeToken::new(token, start + take));
            State::Done
        } else {
            match next {
                None => State::Done,
                Some(next) if !self.seen.insert(next.clone()) => {
                    State::Failed(PaginationErrorKind::RepeatedToken { token: next })
                }
                Some(next) if self.remaining == Some(0) => {
                    self.resume = Some(ResumeToken::new(Some(next), 0));
                    State::Done
                }
                Some(next) => State::Ready { token: Some(next), skip: 0 },
            }
        };
        page
    }
}

impl<P, E> Stream for PageStream<'_, P, E>
where
    P: Page,
    E: From<PaginationError>,
{
    type Item = Result<P, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            match std::mem::replace(&mut this.state, State::Done) {
                State::Done => return Poll::Ready(None),
                State::Failed(kind) => {
                    let error = PaginationError::new(this.service.clone(), this.operation.clone(), kind);
                    return Poll::Ready(Some(Err(E::from(error))));
                }
                State::Ready { token, skip } => {
                    if this.remaining == Some(0) {
                        // `max_items(0)`: nothing to return, resume where we would have started.
                        this.resume = Some(ResumeToken::new(token, skip));
                        return Poll::Ready(None);
                    }
                    let future = (this.fetch)(PageRequest::new(token.clone(), this.page_size));
                    this.state = State::Fetching { future, token, skip };
                }
                State::Fetching { mut future, token, skip } => match future.poll_unpin(cx) {
                    Poll::Pending => {
                        this.state = State::Fetching { future, token, skip };
                        return Poll::Pending;
                    }
                    Poll::Ready(Err(error)) => {
                        return Poll::Ready(Some(Err(error)));
                    }
                    Poll::Ready(Ok(page)) => {
                        return Poll::Ready(Some(Ok(this.accept(page, token, skip))));
                    }
                },
            }
        }
    }
}

impl<P, E> FusedStream for PageStream<'_, P, E>
where
    P: Page,
    E: From<PaginationError>,
{
    fn is_terminated(&self) -> bool {
        matches!(self.state, State::Done)
    }
}

impl<P, E> fmt::Debug for PageStream<'_, P, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Ready { token, skip } => format!("Ready {{ token: {token:?}, skip: {skip} }}"),
            State::Fetching { token, skip, .. } => {
                format!("Fetching {{ token: {token:?}, skip: {skip} }}")
            }
            State::Failed(_) => "Failed".to_owned(),
            State::Done => "Done".to_owned(),
        };
        f.debug_struct("PageStream")
            .field("service", &self.service)
            .field("operation", &self.operation)
            .field("page_size", &self.page_size)
            .field("remaining", &self.remaining)
            .field("resume", &self.resume)
            .field("state", &format_args!("{state}"))
            .finish_non_exhaustive()
    }
}

/// A stream of items, returned by [`Paginator::items`](crate::Paginator::items).
///
/// Yields `Result<P::Item, E>` (see [`PageStream`] for the errors), fetching the next page only once the items of
/// the previous one were consumed. It is `Unpin`, and `Send` whenever the fetch function and the
/// items are.
pub struct ItemStream<'a, P: Page, E> {
    pages: PageStream<'a, P, E>,
    buffered: std::vec::IntoIter<P::Item>,
}

// The stream never pins its fields in place, so it is `Unpin` whatever the item type.
impl<P: Page, E> Unpin for ItemStream<'_, P, E> {}

impl<'a, P: Page, E> ItemStream<'a, P, E> {
    pub(crate) fn new(pages: PageStream<'a, P, E>) -> Self {
        Self { pages, buffered: Vec::new().into_iter() }
    }

    /// Where to resume, once the stream has ended because `max_items` items were returned and
    /// the listing has more.
    ///
    /// `None` while items remain to be read, when the stream ended at the end of the listing, and
    /// after an error. See [`PageStream::resume_token`].
    pub fn resume_token(&self) -> Option<&ResumeToken> {
        if self.buffered.len() == 0 { self.pages.resume_token() } else { None }
    }
}

impl<P: Page, E: From<PaginationError>> Stream for ItemStream<'_, P, E> {
    type Item = Result<P::Item, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.buffered.next() {
                return Poll::Ready(Some(Ok(item)));
            }
            match this.pages.poll_next_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Ready(Some(Err(error))) => return Poll::Ready(Some(Err(error))),
                Poll::Ready(Some(Ok(page))) => this.buffered = page.into_items().into_iter(),
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let buffered = self.buffered.len();
        if self.pages.is_terminated() { (buffered, Some(buffered)) } else { (buffered, None) }
    }
}

impl<P: Page, E: From<PaginationError>> FusedStream for ItemStream<'_, P, E> {
    fn is_terminated(&self) -> bool {
        self.buffered.len() == 0 && self.pages.is_terminated()
    }
}

impl<P: Page, E> fmt::Debug for ItemStream<'_, P, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ItemStream").field("pages", &self.pages).field("buffered", &self.buffered.len()).finish()
    }
}
