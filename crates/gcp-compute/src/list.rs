//! Listings: every list operation is a builder with `send()` (one page, as the API returns it),
//! `into_pages(PaginationConfig)` and `into_items(PaginationConfig)` on `cloudkit-paginate`,
//! following `nextPageToken` until it is absent or empty. Pages may be empty and still carry a
//! token (`warning.code = NO_RESULTS_ON_PAGE`): they are followed, never taken as the end.
//! `maxResults` (0–500, default 500) comes from the builder or `PaginationConfig::page_size`;
//! `filter` and `orderBy` (`name` or `creationTimestamp desc`) are sent on every page.

use std::collections::BTreeMap;

use cloudkit_paginate::PageParams;
use serde::{Deserialize, Deserializer};

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

cloudkit_paginate::items_page!(<T> ListPage<T> => T);

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

cloudkit_paginate::items_page!(AggregatedInstancePage => (String, Instance));

/// The query every list request carries: `filter`, `maxResults`, `orderBy`, `pageToken`.
#[derive(Clone, Debug, Default)]
pub(crate) struct ListParams {
    pub(crate) filter: Option<String>,
    pub(crate) order_by: Option<String>,
    /// `maxResults` and `pageToken`.
    pub(crate) page: PageParams,
}

impl ListParams {
    pub(crate) fn query(&self) -> Vec<(&'static str, String)> {
        let mut q = Vec::new();
        if let Some(f) = &self.filter {
            q.push(("filter", f.clone()));
        }
        if let Some(n) = self.page.page_size {
            q.push(("maxResults", n.to_string()));
        }
        if let Some(o) = &self.order_by {
            q.push(("orderBy", o.clone()));
        }
        if let Some(t) = &self.page.token {
            q.push(("pageToken", t.clone()));
        }
        q
    }
}

/// For a list builder `$request` (fields `params: ListParams`, `project: Option<String>`) whose
/// pages are `$output`: the paging setters, `into_pages` and `into_items`.
macro_rules! list_builder {
    ($request:ident => $output:ty, $operation:literal, $items_doc:literal) => {
        impl $request {
            /// Every page is this request again, with the page's token and size.
            fn paginator(
                self,
                config: cloudkit_paginate::PaginationConfig,
            ) -> cloudkit_paginate::Paginator<'static, $output, crate::error::GceError> {
                let set_page = |r: &mut Self, page: cloudkit_paginate::PageRequest| r.params.page.apply(page);
                cloudkit_paginate::Paginator::repeat(crate::SERVICE, $operation, config, self, set_page, Self::send)
            }

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
                self.params.page.page_size = Some(n);
                self
            }

            /// `orderBy`: `name` (the default) or `creationTimestamp desc`.
            pub fn order_by(mut self, order_by: impl Into<String>) -> Self {
                self.params.order_by = Some(order_by.into());
                self
            }

            /// Continue from this page token.
            pub fn page_token(mut self, token: impl Into<String>) -> Self {
                self.params.page.token = Some(token.into());
                self
            }

            /// Every page, as a stream following `nextPageToken` (page size, max items and
            /// starting token from `config`; the builder's own `max_results` / `page_token` apply
            /// when `config` leaves them unset).
            pub fn into_pages(
                self,
                config: cloudkit_paginate::PaginationConfig,
            ) -> cloudkit_paginate::PageStream<'static, $output, crate::error::GceError> {
                self.paginator(config).pages()
            }

            #[doc = $items_doc]
            pub fn into_items(
                self,
                config: cloudkit_paginate::PaginationConfig,
            ) -> cloudkit_paginate::ItemStream<'static, $output, crate::error::GceError> {
                self.paginator(config).items()
            }
        }
    };
}
pub(crate) use list_builder;
