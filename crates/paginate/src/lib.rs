//! Token-driven pagination as a [`futures::Stream`].
//!
//! Cloud list APIs (S3 `ListObjectsV2`, EC2 `DescribeInstances`, Azure "List Blobs", GCS
//! `objects.list`) return one page at a time plus a continuation token. This crate turns a
//! "fetch one page for this token" function into a stream of pages ([`Paginator::pages`]) or
//! of items ([`Paginator::items`]), with the knobs boto3's `PaginationConfig` offers:
//!
//! - a page size, passed to every request ([`PageRequest::page_size`]);
//! - a maximum number of items, which may cut a page in the middle;
//! - a starting token, either a plain provider token or a [`ResumeToken`] taken from a stream
//!   that stopped at `max_items`, so a listing can be continued exactly where it stopped.
//!
//! Streams are lazy (nothing is requested until the stream is polled), keep at most one request
//! in flight, end after the first error (which is yielded), and report a token the service has
//! already returned as a [`PaginationError`] ([`PaginationErrorKind::RepeatedToken`]) instead of
//! looping forever.
//!
//! The streams yield the fetch function's own error type `E`: a failed fetch passes through
//! unchanged, and page-bookkeeping failures become `E` through `E: From<PaginationError>`. A
//! [`Paginator`] knows the service and operation it lists, so those errors name them.
//!
//! The crate knows nothing about HTTP: providers implement [`Page`] for their output types and
//! pass a closure that sends the request.
//!
//! # Example
//!
//! ```
//! use cloudkit_paginate::{PageRequest, PaginationConfig, PaginationError, Paginator, VecPage};
//! use futures::TryStreamExt;
//!
//! // The service's error type: a failed request, or a page-bookkeeping failure.
//! #[derive(Debug, thiserror::Error)]
//! enum ListError {
//!     #[error("Widgets.ListWidgets failed: {0}")]
//!     Service(String),
//!     #[error(transparent)]
//!     Pagination(#[from] PaginationError),
//! }
//!
//! // A pretend service holding 25 items; the token is the index of the next item.
//! async fn list(req: PageRequest) -> Result<VecPage<u32>, ListError> {
//!     let parse = |t: &str| t.parse::<usize>().map_err(|e| ListError::Service(e.to_string()));
//!     let start = req.token.as_deref().map_or(Ok(0), parse)?;
//!     let size = req.page_size.unwrap_or(10) as usize;
//!     let end = (start + size).min(25);
//!     let next = (end < 25).then(|| end.to_string());
//!     Ok(VecPage::new((start as u32..end as u32).collect(), next))
//! }
//!
//! # futures::executor::block_on(async {
//! let config = PaginationConfig::default().page_size(10).max_items(15);
//! let mut items = Paginator::new("Widgets", "ListWidgets", config, list).items();
//! let mut first = Vec::new();
//! while let Some(item) = items.try_next().await? {
//!     first.push(item);
//! }
//! assert_eq!(first, (0..15).collect::<Vec<_>>());
//!
//! // The listing stopped in the middle of the second page: continue from there.
//! let resume = items.resume_token().expect("stopped at max_items").to_string();
//! let config = PaginationConfig::default().page_size(10).starting_token(resume);
//! let rest: Vec<u32> = Paginator::new("Widgets", "ListWidgets", config, list)
//!     .items()
//!     .try_collect()
//!     .await?;
//! assert_eq!(rest, (15..25).collect::<Vec<_>>());
//! # Ok::<(), ListError>(())
//! # }).unwrap();
//! ```

mod config;
mod error;
mod page;
mod paginator;
mod stream;
mod token;

pub use config::{PageParams, PageRequest, PaginationConfig};
pub use error::{PaginationError, PaginationErrorKind};
pub use page::{Page, VecPage, retain_range};
pub use paginator::Paginator;
pub use stream::{ItemStream, PageStream};
pub use token::{ParseResumeTokenError, ResumeToken};

#[cfg(test)]
mod tests;
