//! [`PaginationConfig`] (what the caller asks for) and [`PageRequest`] (what one fetch gets).

/// How to paginate: page size, maximum number of items and starting token.
///
/// The same knobs as boto3's `PaginationConfig={'PageSize', 'MaxItems', 'StartingToken'}`.
///
/// # Example
///
/// ```
/// use cloudkit_paginate::PaginationConfig;
///
/// let config = PaginationConfig::default().page_size(100).max_items(10);
/// assert_eq!(config.page_size, Some(100));
/// assert_eq!(config.max_items, Some(10));
/// assert_eq!(config.starting_token, None);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaginationConfig {
    /// The number of items to ask the service for per page (S3 `MaxKeys`, EC2 `MaxResults`,
    /// Azure `maxresults`, GCS `maxResults`). `None` leaves it to the service's default.
    pub page_size: Option<u32>,
    /// The total number of items to return across all pages. The stream stops once this many
    /// items were yielded, possibly in the middle of a page, and then offers a
    /// [`ResumeToken`](crate::ResumeToken) to continue.
    pub max_items: Option<usize>,
    /// Where to start: a plain provider token (the "next token" of some earlier page) or the
    /// string form of a [`ResumeToken`](crate::ResumeToken). `None` or an empty string starts at
    /// the beginning.
    pub starting_token: Option<String>,
}

impl PaginationConfig {
    /// Sets the number of items to ask for per page.
    #[must_use]
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.page_size = Some(page_size);
        self
    }

    /// Sets the total number of items to return.
    #[must_use]
    pub fn max_items(mut self, max_items: usize) -> Self {
        self.max_items = Some(max_items);
        self
    }

    /// Sets the token to start from: a plain provider token or a
    /// [`ResumeToken`](crate::ResumeToken)'s string form.
    ///
    /// When resuming from a [`ResumeToken`](crate::ResumeToken), use the same page size and the
    /// same request parameters as the listing it came from: it counts items already returned
    /// from a page, which only means the same thing for the same page.
    #[must_use]
    pub fn starting_token(mut self, token: impl Into<String>) -> Self {
        self.starting_token = Some(token.into());
        self
    }
}

/// What the fetch function of a [`Paginator`](crate::Paginator) is asked for: one page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageRequest {
    /// The continuation token to send, `None` for the first page.
    pub token: Option<String>,
    /// The page size to send, if the caller set one.
    pub page_size: Option<u32>,
}

impl PageRequest {
    /// Creates a request for the page at `token` with an optional page size.
    pub fn new(token: Option<String>, page_size: Option<u32>) -> Self {
        Self { token, page_size }
    }
}

/// The page size and token a list request sends, for services whose pages differ only in them
/// (Google's `maxResults` and `pageToken`): the builder's own values, which the paginator's
/// [`PageRequest`] replaces where it has one (see [`Paginator::repeat`](crate::Paginator::repeat)).
///
/// ```
/// use cloudkit_paginate::{PageParams, PageRequest};
///
/// let mut params = PageParams { page_size: Some(50), token: None };
/// params.apply(PageRequest::new(Some("t2".into()), None));
/// assert_eq!(params, PageParams { page_size: Some(50), token: Some("t2".into()) });
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageParams {
    /// The page size to send, if any.
    pub page_size: Option<u32>,
    /// The token of the page to fetch, `None` for the first page.
    pub token: Option<String>,
}

impl PageParams {
    /// Takes the request's token and page size, where it has them.
    pub fn apply(&mut self, request: PageRequest) {
        if let Some(token) = request.token {
            self.token = Some(token);
        }
        if let Some(size) = request.page_size {
            self.page_size = Some(size);
        }
    }
}
