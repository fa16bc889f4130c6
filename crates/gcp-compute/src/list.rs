//! Listings: every list operation is a builder with `send()` (one page, as the API returns it),
//! `into_pages(PaginationConfig)` and `into_items(PaginationConfig)` on `cloudkit-paginate`,
//! following `nextPageToken` until it is absent or empty. Pages may be empty and still carry a
//! token (`warning.code = NO_RESULTS_ON_PAGE`): they are followed, never taken as the end.
//! `maxResults` (0–500, default 500) comes from the builder or `PaginationConfig::page_size`;
//! `filter` and `orderBy` (`name` or `creationTimestamp desc`) are sent on every page.

use std::collections::BTreeMap;

use cloudkit_paginate::{Page, PageRequest, PaginationConfig, Paginator};
use serde::{Deserialize, Deserializer};

use crate::error::{GceError, Result};
use crate::model::{Instance, Warning, short_name};

/// One page of a zonal list (`InstanceList`, `ZoneList`, `MachineTypeList`).
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListPage<T> {
    /// The items of this page (possibly none).
    #[serde(default = "Vec::new")]
    pub items: Vec<T>,
    /// The token of the next page; absent or empty on the last page.
    #[serde(default)]
    pub next_page_token: Option<String>,
    /// A page-level warning (`NO_RESULTS_ON_PAGE` on an empty page).
    #[serde(default)]
    pub warning: Option<Warning>,
}

impl<T> Page for ListPage<T> {
    type Item = T;
    fn next_token(&self) -> Option<&str> {
        self.next_page_token.as_deref().filter(|t| !t.is_empty())
    }
    fn item_count(&self) -> usize {
        self.items.len()
    }
    fn retain_items(&mut self, range: std::ops::Range<usize>) {
        cloudkit_paginate::retain_range(&mut self.items, range);
    }
    fn into_items(self) -> Vec<T> {
        self.items
    }
}

/// One page of `instances.aggregatedList`, flattened: `(zone, instance)` pairs in the order of
/// the scopes (`zones/us-central1-a` → `us-central1-a`); scopes without instances only add to
/// [`scope_warnings`](Self::scope_warnings).
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct AggregatedInstancePage {
    /// `(zone short name, instance)` of every scope of this page.
    pub items: Vec<(String, Instance)>,
    /// The token of the next page.
    pub next_page_token: Option<String>,
    /// The scopes that could not be reached (`unreachables[]`).
    pub unreachables: Vec<String>,
    /// The warning of each scope that had one (`zones/…` → warning), e.g. `NO_RESULTS_ON_PAGE`.
    pub scope_warnings: BTreeMap<String, Warning>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireAggregated {
    #[serde(default)]
    items: BTreeMap<String, WireScoped>,
    #[serde(default)]
    next_page_token: Option<String>,
    #[serde(default)]
    unreachables: Vec<String>,
}

#[derive(Deserialize)]
struct WireScoped {
    #[serde(default)]
    instances: Vec<Instance>,
    #[serde(default)]
    warning: Option<Warning>,
}

impl<'de> Deserialize<'de> for AggregatedInstancePage {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let wire = WireAggregated::deserialize(d)?;
        let mut page = AggregatedInstancePage {
            next_page_token: wire.next_page_token,
            unreachables: wire.unreachables,
            ..Default::default()
        };
        for (scope, scoped) in wire.items {
            let zone = short_name(&scope).to_owned();
            if let Some(w) = scoped.warning {
                page.scope_warnings.insert(scope.clone(), w);
            }
            page.items.extend(scoped.instances.into_iter().map(|i| (zone.clone(), i)));
        }
        Ok(page)
    }
}

impl Page for AggregatedInstancePage {
    type Item = (String, Instance);
    fn next_token(&self) -> Option<&str> {
        self.next_page_token.as_deref().filter(|t| !t.is_empty())
    }
    fn item_count(&self) -> usize {
        self.items.len()
    }
    fn retain_items(&mut self, range: std::ops::Range<usize>) {
        cloudkit_paginate::retain_range(&mut self.items, range);
    }
    fn into_items(self) -> Vec<(String, Instance)> {
        self.items
    }
}

/// The query every list request carries: `filter`, `maxResults`, `orderBy`, `pageToken`.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListParams {
    pub(crate) filter: Option<String>,
    pub(crate) max_results: Option<u32>,
    pub(crate) order_by: Option<String>,
    pub(crate) page_token: Option<String>,
}

impl ListParams {
    pub(crate) fn apply(&mut self, request: PageRequest) {
        if let Some(t) = request.token {
            self.page_token = Some(t);
        }
        if let Some(n) = request.page_size {
            self.max_results = Some(n);
        }
    }

    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(f) = &self.filter {
            q.push(("filter", f.clone()));
        }
        if let Some(n) = self.max_results {
            q.push(("maxResults", n.to_string()));
        }
        if let Some(o) = &self.order_by {
            q.push(("orderBy", o.clone()));
        }
        if let Some(t) = &self.page_token {
            q.push(("pageToken", t.clone()));
        }
        q
    }
}

/// A list builder whose pages differ only in their [`ListParams`].
pub(crate) trait ListRequest: Clone + Send + Sync + 'static {
    type Output: Page + Send + 'static;
    /// The discovery method (`instances.list`), named in errors.
    const OPERATION: &'static str;
    fn params(&mut self) -> &mut ListParams;
    fn fetch(self) -> impl Future<Output = Result<Self::Output>> + Send + 'static;

    fn paginator(self, config: PaginationConfig) -> Paginator<'static, Self::Output, GceError> {
        Paginator::new(crate::SERVICE, Self::OPERATION, config, move |request: PageRequest| {
            let mut page = self.clone();
            page.params().apply(request);
            page.fetch()
        })
    }
}

/// For a list builder `$request` (fields `params: ListParams`, `project: Option<String>`) whose
/// pages are `$output`: the paging setters, `into_pages` and `into_items`.
macro_rules! list_builder {
    ($request:ident => $output:ty, $operation:literal, $items_doc:literal) => {
        impl crate::list::ListRequest for $request {
            type Output = $output;
            const OPERATION: &'static str = $operation;
            fn params(&mut self) -> &mut crate::list::ListParams {
                &mut self.params
            }
            fn fetch(self) -> impl Future<Output = crate::error::Result<$output>> + Send + 'static {
                self.send()
            }
        }

        impl $request {
            /// The project (default: the client's).
            pub fn project(mut self, project: impl Into<String>) -> Self {
                self.project = Some(project.into());
                self
            }

            /// `filter`: an AIP-160 expression (`status = RUNNING`, `labels.env:*`, `(a) OR (b)`)
            /// or a regular-expression filter (`name eq 'web-.*'`); the two kinds cannot be mixed.
            pub fn filter(mut self, filter: impl Into<String>) -> Self {
                self.params.filter = Some(filter.into());
                self
            }

            /// `maxResults`: the page size (0–500, default 500).
            pub fn max_results(mut self, n: u32) -> Self {
                self.params.max_results = Some(n);
                self
            }

            /// `orderBy`: `name` (the default) or `creationTimestamp desc`.
            pub fn order_by(mut self, order_by: impl Into<String>) -> Self {
                self.params.order_by = Some(order_by.into());
                self
            }

            /// Continue from this page token.
            pub fn page_token(mut self, token: impl Into<String>) -> Self {
                self.params.page_token = Some(token.into());
                self
            }

            /// Every page, as a stream following `nextPageToken` (page size, max items and
            /// starting token from `config`; the builder's own `max_results` / `page_token` apply
            /// when `config` leaves them unset).
            pub fn into_pages(
                self,
                config: cloudkit_paginate::PaginationConfig,
            ) -> cloudkit_paginate::PageStream<'static, $output, crate::error::GceError> {
                crate::list::ListRequest::paginator(self, config).pages()
            }

            #[doc = $items_doc]
            pub fn into_items(
                self,
                config: cloudkit_paginate::PaginationConfig,
            ) -> cloudkit_paginate::ItemStream<'static, $output, crate::error::GceError> {
                crate::list::ListRequest::paginator(self, config).items()
            }
        }
    };
}
pub(crate) use list_builder;
