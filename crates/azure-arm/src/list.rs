//! Listings: every ARM list operation is a builder with `send()` (the first page),
//! `into_pages(PaginationConfig)` and `into_items(PaginationConfig)` on `cloudkit-paginate`,
//! following `nextLink` exactly as the service gives it (it already holds the api-version and
//! any `$skipToken`) until it is absent; empty pages that carry a `nextLink` are followed too.
//! ARM lists have no page size: `PaginationConfig::page_size` is ignored, `max_items` and
//! `starting_token` (a `nextLink`) apply.

use cloudkit_core::Url;
use cloudkit_paginate::{PageRequest, PaginationConfig, Paginator};
use serde::de::DeserializeOwned;

use crate::client::{ArmClient, require, segment};
use crate::error::{ArmError, Result};
use crate::model::ArmPage;

/// `/subscriptions/{subscription}{suffix}`, or `/subscriptions/{subscription}/resourceGroups/{group}{suffix}`
/// when the listing is of one resource group (an empty group name is refused).
pub(crate) fn scope_path(
    client: &ArmClient,
    operation: &'static str,
    resource_group: Option<&str>,
    suffix: &str,
) -> Result<String> {
    let subscription = segment(client.subscription(operation)?);
    match resource_group {
        Some(rg) => {
            require(operation, "resource group name", rg)?;
            Ok(format!("/subscriptions/{subscription}/resourceGroups/{}{suffix}", segment(rg)))
        }
        None => Ok(format!("/subscriptions/{subscription}{suffix}")),
    }
}

/// The first-page URL of a listing: `api-version`, then the OData `$filter` and `$top` when
/// set, then `extra`.
pub(crate) fn list_url(
    client: &ArmClient,
    path: &str,
    api_version: &str,
    filter: Option<&str>,
    top: Option<u32>,
    extra: &[(&str, &str)],
) -> Url {
    let top = top.map(|n| n.to_string());
    let mut query = vec![("api-version", api_version)];
    query.extend(filter.map(|f| ("$filter", f)));
    query.extend(top.as_deref().map(|t| ("$top", t)));
    query.extend_from_slice(extra);
    client.url(path, &query)
}

/// `text` as an OData string literal: in single quotes, a quote inside doubled.
pub(crate) fn odata_string(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The OData setters of a list builder: `filter` (a raw `$filter`; its doc says which setter it
/// replaces) and, where the operation takes one, `top`.
macro_rules! odata_setters {
    ($request:ident { filter: $filter_doc:literal $(, top: $top_doc:literal)? }) => {
        impl $request {
            #[doc = $filter_doc]
            pub fn filter(mut self, filter: impl Into<String>) -> Self {
                self.filter = Some(filter.into());
                self
            }

            $(
                #[doc = $top_doc]
                pub fn top(mut self, n: u32) -> Self {
                    self.top = Some(n);
                    self
                }
            )?
        }
    };
}
pub(crate) use odata_setters;

/// A list request: where its first page is.
pub(crate) trait ListRequest: Clone + Send + Sync + 'static {
    type Item: DeserializeOwned + Send + 'static;
    /// The operation (`ResourceGroups_List`), named in errors.
    fn operation(&self) -> &'static str;
    fn client(&self) -> &ArmClient;
    fn first_url(&self) -> Result<Url>;

    /// The first page.
    fn first_page(&self) -> impl Future<Output = Result<ArmPage<Self::Item>>> + Send + 'static {
        let client = self.client().clone();
        let url = self.first_url();
        let operation = self.operation();
        async move { client.get_json(operation, url?).await }
    }

    fn paginator(self, config: PaginationConfig) -> Paginator<'static, ArmPage<Self::Item>, ArmError> {
        let operation = self.operation();
        Paginator::new(crate::SERVICE, operation, config, move |request: PageRequest| {
            let this = self.clone();
            async move {
                match request.token {
                    Some(link) => {
                        let client = this.client();
                        let url = client.follow(operation, &link)?;
                        client.get_json(operation, url).await
                    }
                    None => this.first_page().await,
                }
            }
        })
    }
}

/// `send`, `into_pages` and `into_items` for a list builder.
macro_rules! list_methods {
    ($request:ident => $item:ty) => {
        impl crate::list::ListRequest for $request {
            type Item = $item;
            fn operation(&self) -> &'static str {
                self.operation()
            }
            fn client(&self) -> &crate::client::ArmClient {
                &self.client
            }
            fn first_url(&self) -> crate::error::Result<cloudkit_core::Url> {
                self.url()
            }
        }

        impl $request {
            /// The first page (its `next_link`, if any, leads to the next one).
            pub async fn send(self) -> crate::error::Result<crate::model::ArmPage<$item>> {
                crate::list::ListRequest::first_page(&self).await
            }

            /// Every page, as a stream following `nextLink` (`max_items` and `starting_token` —
            /// a `nextLink` — from `config`).
            pub fn into_pages(
                self,
                config: cloudkit_paginate::PaginationConfig,
            ) -> cloudkit_paginate::PageStream<'static, crate::model::ArmPage<$item>, crate::error::ArmError> {
                crate::list::ListRequest::paginator(self, config).pages()
            }

            /// Every item of every page, as a stream.
            pub fn into_items(
                self,
                config: cloudkit_paginate::PaginationConfig,
            ) -> cloudkit_paginate::ItemStream<'static, crate::model::ArmPage<$item>, crate::error::ArmError> {
                crate::list::ListRequest::paginator(self, config).items()
            }
        }
    };
}
pub(crate) use list_methods;
