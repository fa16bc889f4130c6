//! What every paginated `Describe*` builder shares: filters, page size, page token and dry run
//! ([`DescribeParams`]), and the [`paginated_describe!`] macro that gives a builder its common
//! setters, `send()` (one page), `into_pages` / `into_items` (streams on `cloudkit-paginate`,
//! docs/ARCHITECTURE.md, "Listing") and its output's [`Page`](cloudkit_paginate::Page) impl.
//!
//! A builder holds a `client`, a `params: DescribeParams` and its own fields (ids, owners, …), and
//! writes those fields into the body in a `push_own_params(&self, &mut QueryBody)` method.

use cloudkit_aws_protocol::QueryBody;
use cloudkit_paginate::PageRequest;

use crate::client::{push_dry_run, push_filters};
use crate::types::Filter;

/// The parameters every paginated describe request has.
#[derive(Clone, Debug, Default)]
pub(crate) struct DescribeParams {
    pub(crate) filters: Vec<Filter>,
    pub(crate) max_results: Option<u32>,
    pub(crate) next_token: Option<String>,
    pub(crate) dry_run: bool,
}

impl DescribeParams {
    /// `Filter.N.*`, `MaxResults` and `NextToken` when set, `DryRun=true` when set.
    pub(crate) fn push(&self, body: &mut QueryBody) {
        push_filters(body, &self.filters);
        if let Some(n) = self.max_results {
            body.push("MaxResults", &n.to_string());
        }
        if let Some(t) = self.next_token.as_deref().filter(|t| !t.is_empty()) {
            body.push("NextToken", t);
        }
        push_dry_run(body, self.dry_run);
    }

    /// Points the request at the page a paginator asks for. The builder's own `next_token` and
    /// `max_results` stay when the paginator has none (first page, no page size configured), as
    /// S3's `ListObjectsV2` streams do.
    pub(crate) fn at_page(&mut self, page: PageRequest) {
        if let Some(token) = page.token {
            self.next_token = Some(token);
        }
        if let Some(n) = page.page_size {
            self.max_results = Some(n);
        }
    }
}

/// Implements the shared part of a paginated describe builder (see the module docs):
/// `paginated_describe!(Builder, "Action", model::reader => Output { items_field: Item })`.
macro_rules! paginated_describe {
    ($builder:ident, $action:literal, $read:path => $output:ident { $items:ident: $item:ty }) => {
        impl $builder {
            /// Adds a filter: filters are ANDed, the values of one filter ORed; `*` and `?` are
            /// wildcards (see [`Filter`](crate::Filter)).
            pub fn filter(mut self, filter: $crate::Filter) -> Self {
                self.params.filters.push(filter);
                self
            }

            /// The page size of [`send`](Self::send) (`MaxResults`; EC2 rejects it together with
            /// explicit ids). The streams use [`PaginationConfig::page_size`](crate::PaginationConfig)
            /// when it is set.
            pub fn max_results(mut self, max_results: u32) -> Self {
                self.params.max_results = Some(max_results);
                self
            }

            /// The token of the page to fetch (the `next_token` of an earlier page). The streams
            /// start there unless [`PaginationConfig::starting_token`](crate::PaginationConfig) is set.
            pub fn next_token(mut self, token: impl Into<String>) -> Self {
                self.params.next_token = Some(token.into());
                self
            }

            /// Only check permissions: the call ends in
            /// [`Ec2Error::DryRunOperation`](crate::Ec2Error::DryRunOperation) if it would have
            /// succeeded, [`Ec2Error::UnauthorizedOperation`](crate::Ec2Error::UnauthorizedOperation)
            /// if not.
            pub fn dry_run(mut self, dry_run: bool) -> Self {
                self.params.dry_run = dry_run;
                self
            }

            #[doc = concat!("Fetches one page (`", $action, "`).")]
            pub async fn send(self) -> Result<$output, $crate::Ec2Error> {
                let mut body = $crate::client::query($action);
                self.push_own_params(&mut body);
                self.params.push(&mut body);
                self.client.call($action, body, true, $read).await
            }

            fn paginator(
                self,
                config: $crate::PaginationConfig,
            ) -> ::cloudkit_paginate::Paginator<'static, $output, $crate::Ec2Error> {
                ::cloudkit_paginate::Paginator::new(
                    $crate::SERVICE,
                    $action,
                    config,
                    move |page: ::cloudkit_paginate::PageRequest| {
                        let mut request = self.clone();
                        request.params.at_page(page);
                        request.send()
                    },
                )
            }

            /// Every page, as a stream: page size (`MaxResults`), max items and starting token
            /// (a `next_token` or a resume token) from `config`; a token EC2 repeats ends the stream
            /// with an error instead of looping.
            pub fn into_pages(
                self,
                config: $crate::PaginationConfig,
            ) -> $crate::PageStream<'static, $output, $crate::Ec2Error> {
                self.paginator(config).pages()
            }

            #[doc = concat!("The `", stringify!($items), "` of every page, as a stream (`max_items` counts these).")]
            pub fn into_items(
                self,
                config: $crate::PaginationConfig,
            ) -> $crate::ItemStream<'static, $output, $crate::Ec2Error> {
                self.paginator(config).items()
            }
        }

        impl ::cloudkit_paginate::Page for $output {
            type Item = $item;

            fn next_token(&self) -> Option<&str> {
                self.next_token.as_deref()
            }

            fn item_count(&self) -> usize {
                self.$items.len()
            }

            fn retain_items(&mut self, range: ::std::ops::Range<usize>) {
                ::cloudkit_paginate::retain_range(&mut self.$items, range);
            }

            fn into_items(self) -> Vec<$item> {
                self.$items
            }
        }
    };
}

pub(crate) use paginated_describe;
