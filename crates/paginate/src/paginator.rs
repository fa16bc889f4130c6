//! [`Paginator`]: a fetch function plus a [`PaginationConfig`].

use std::borrow::Cow;
use std::fmt;
use std::future::Future;

use futures::future::BoxFuture;

use crate::stream::{ItemStream, PageStream};
use crate::{Page, PageRequest, PaginationConfig};

/// The boxed fetch function a [`Paginator`] drives.
pub(crate) type BoxFetch<'a, P, E> = Box<dyn FnMut(PageRequest) -> BoxFuture<'a, Result<P, E>> + Send + 'a>;

/// Turns a "fetch one page" function into a stream of pages or items.
///
/// The fetch function gets a [`PageRequest`] (the token and the page size) and returns a future
/// of the page. It is called lazily, once per page, with at most one call in flight.
///
/// The streams yield `Result<_, E>`: a fetch error is yielded unchanged, and a page-bookkeeping
/// failure (a repeated token, a malformed starting token) is a [`PaginationError`](crate::PaginationError) naming the
/// service and operation given to [`Paginator::new`], converted with `E: From<PaginationError>`.
///
/// # Example
///
/// ```
/// use cloudkit_paginate::{PageRequest, PaginationConfig, PaginationError, Paginator, VecPage};
/// use futures::TryStreamExt;
///
/// #[derive(Debug, thiserror::Error)]
/// enum ListError {
///     #[error(transparent)]
///     Pagination(#[from] PaginationError),
/// }
///
/// # futures::executor::block_on(async {
/// // Two pages: ["a", "b"] then ["c"].
/// let fetch = |req: PageRequest| async move {
///     Ok::<_, ListError>(match req.token.as_deref() {
///         None => VecPage::new(vec!["a", "b"], Some("p2".to_owned())),
///         Some(_) => VecPage::new(vec!["c"], None),
///     })
/// };
/// let pages: Vec<VecPage<&str>> = Paginator::new("Letters", "ListLetters", PaginationConfig::default(), fetch)
///     .pages()
///     .try_collect()
///     .await?;
/// assert_eq!(pages.len(), 2);
///
/// let items: Vec<&str> =
///     Paginator::new("Letters", "ListLetters", PaginationConfig::default(), fetch).items().try_collect().await?;
/// assert_eq!(items, ["a", "b", "c"]);
/// # Ok::<(), ListError>(())
/// # }).unwrap();
/// ```
pub struct Paginator<'a, P, E> {
    service: Cow<'static, str>,
    operation: Cow<'static, str>,
    config: PaginationConfig,
    fetch: BoxFetch<'a, P, E>,
}

impl<'a, P, E> Paginator<'a, P, E>
where
    P: Page + 'a,
    E: 'a,
{
    /// Creates a paginator over `service`'s list `operation` (`"S3"`, `"ListObjectsV2"`) from a
    /// configuration and a fetch function. The names appear in every [`PaginationError`](crate::PaginationError) the
    /// streams yield.
    ///
    /// Nothing is requested until the stream returned by [`Paginator::pages`] or
    /// [`Paginator::items`] is polled.
    pub fn new<F, Fut>(
        service: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
        config: PaginationConfig,
        mut fetch: F,
    ) -> Self
    where
        F: FnMut(PageRequest) -> Fut + Send + 'a,
        Fut: Future<Output = Result<P, E>> + Send + 'a,
    {
        Self {
            service: service.into(),
            operation: operation.into(),
            config,
            fetch: Box::new(move |request| Box::pin(fetch(request))),
        }
    }

    /// A paginator over a list request whose pages differ only in their token and page size:
    /// every page sends a copy of `request` on which `set_page` has set the page's
    /// [`PageRequest`], with `send`.
    ///
    /// ```
    /// use cloudkit_paginate::{PageParams, PageRequest, PaginationConfig, PaginationError, Paginator, VecPage};
    /// use futures::TryStreamExt;
    ///
    /// #[derive(Clone)]
    /// struct ListLetters {
    ///     page: PageParams,
    /// }
    ///
    /// async fn send(request: ListLetters) -> Result<VecPage<char>, PaginationError> {
    ///     Ok(match request.page.token.as_deref() {
    ///         None => VecPage::new(vec!['a', 'b'], Some("p2".to_owned())),
    ///         Some(_) => VecPage::new(vec!['c'], None),
    ///     })
    /// }
    ///
    /// # futures::executor::block_on(async {
    /// let request = ListLetters { page: PageParams::default() };
    /// let set_page = |r: &mut ListLetters, page: PageRequest| r.page.apply(page);
    /// let letters: Vec<char> = Paginator::repeat("Letters", "ListLetters", PaginationConfig::default(), request, set_page, send)
    ///     .items()
    ///     .try_collect()
    ///     .await?;
    /// assert_eq!(letters, ['a', 'b', 'c']);
    /// # Ok::<(), PaginationError>(())
    /// # }).unwrap();
    /// ```
    pub fn repeat<R, S, F, Fut>(
        service: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
        config: PaginationConfig,
        request: R,
        set_page: S,
        send: F,
    ) -> Self
    where
        R: Clone + Send + 'a,
        S: Fn(&mut R, PageRequest) + Send + 'a,
        F: Fn(R) -> Fut + Send + 'a,
        Fut: Future<Output = Result<P, E>> + Send + 'a,
    {
        Self::new(service, operation, config, move |page: PageRequest| {
            let mut request = request.clone();
            set_page(&mut request, page);
            send(request)
        })
    }

    /// The service named in errors.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// The list operation named in errors.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// The configuration this paginator was built with.
    pub fn config(&self) -> &PaginationConfig {
        &self.config
    }

    /// A stream of pages.
    ///
    /// Every page the service returns is yielded, including empty ones. When `max_items` or a
    /// mid-page starting token means only some of a page's items belong to this listing, the page
    /// is trimmed with [`Page::retain_items`] before it is yielded.
    pub fn pages(self) -> PageStream<'a, P, E> {
        PageStream::new(self.service, self.operation, self.config, self.fetch)
    }

    /// A stream of the items of all pages, in order.
    pub fn items(self) -> ItemStream<'a, P, E> {
        ItemStream::new(self.pages())
    }
}

impl<P, E> fmt::Debug for Paginator<'_, P, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Paginator")
            .field("service", &self.service)
            .field("operation", &self.operation)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}
