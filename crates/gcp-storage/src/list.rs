//! Listings: `objects.list` (prefix, delimiter → prefixes, startOffset/endOffset, glob) and
//! `buckets.list`, one page at a time (`send`) or as streams of pages and items
//! (`into_pages`/`into_items`) built on `cloudkit-paginate`, following `pageToken`.

use cloudkit_core::{HttpRequest, Method};
use cloudkit_paginate::{ItemStream, PageParams, PageRequest, PageStream, PaginationConfig, Paginator};
use serde::Deserialize;

use crate::client::StorageClient;
use crate::error::GcsError;
use crate::types::{Bucket, Object};

/// `maxResults` and `pageToken`, the page size and token every list request carries.
fn page_pairs(page: &PageParams) -> impl Iterator<Item = (&'static str, String)> + '_ {
    let max = page.page_size.map(|n| ("maxResults", n.to_string()));
    let token = page.token.clone().map(|t| ("pageToken", t));
    max.into_iter().chain(token)
}

/// For a list builder `$request` whose pages are `$output` (`items` of `$item` and
/// `nextPageToken`, an empty token ending the listing too): the `Page` impl, and the builder's
/// paging setters, `into_pages` and `into_items`.
macro_rules! list_streams {
    ($request:ident => $output:ident of $item:ident, $operation:literal, $items_doc:literal) => {
        cloudkit_paginate::items_page!($output => $item);

        impl $request {
            /// Every page is this request again, with the page's token and size.
            fn paginator(self, config: PaginationConfig) -> Paginator<'static, $output, GcsError> {
                let set_page = |r: &mut Self, page: PageRequest| r.paging.apply(page);
                Paginator::repeat(crate::SERVICE, $operation, config, self, set_page, Self::send)
            }

            /// Page size (GCS caps it at 1000; in an object listing, items and prefixes count).
            pub fn max_results(mut self, n: u32) -> Self {
                self.paging.page_size = Some(n);
                self
            }

            /// Continue from this page token.
            pub fn page_token(mut self, token: impl Into<String>) -> Self {
                self.paging.token = Some(token.into());
                self
            }

            /// Every page, as a stream; follows `nextPageToken` until it is absent (page size, max
            /// items and starting token from `config`; the builder's own `max_results` /
            /// `page_token` apply when `config` leaves them unset).
            pub fn into_pages(self, config: PaginationConfig) -> PageStream<'static, $output, GcsError> {
                self.paginator(config).pages()
            }

            #[doc = $items_doc]
            pub fn into_items(self, config: PaginationConfig) -> ItemStream<'static, $output, GcsError> {
                self.paginator(config).items()
            }
        }
    };
}

// ---------------------------------------------------------------------------------------------
// objects.list

/// `objects.list`.
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages() or .into_items()"]
pub struct ListObjects {
    client: StorageClient,
    bucket: String,
    prefix: Option<String>,
    delimiter: Option<String>,
    start_offset: Option<String>,
    end_offset: Option<String>,
    match_glob: Option<String>,
    include_trailing_delimiter: bool,
    versions: bool,
    paging: PageParams,
}

/// One page of `objects.list`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListObjectsOutput {
    /// The objects of this page.
    #[serde(default, deserialize_with = "null_as_empty")]
    pub items: Vec<Object>,
    /// The "directories" (with a delimiter).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub prefixes: Vec<String>,
    /// The token of the next page (a page may be empty and still have one).
    #[serde(default)]
    pub next_page_token: Option<String>,
}

fn null_as_empty<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

list_streams!(ListObjects => ListObjectsOutput of Object, "objects.list", "Every object (prefixes are on the pages), as a stream.");

impl ListObjects {
    /// Only names starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// Group names by `delimiter` (usually `/`) into [`ListObjectsOutput::prefixes`].
    pub fn delimiter(mut self, delimiter: impl Into<String>) -> Self {
        self.delimiter = Some(delimiter.into());
        self
    }

    /// Only names ≥ `offset`.
    pub fn start_offset(mut self, offset: impl Into<String>) -> Self {
        self.start_offset = Some(offset.into());
        self
    }

    /// Only names < `offset`.
    pub fn end_offset(mut self, offset: impl Into<String>) -> Self {
        self.end_offset = Some(offset.into());
        self
    }

    /// Only names matching a glob (`**/*.txt`).
    pub fn match_glob(mut self, glob: impl Into<String>) -> Self {
        self.match_glob = Some(glob.into());
        self
    }

    /// List every generation (versioned buckets).
    pub fn versions(mut self, versions: bool) -> Self {
        self.versions = versions;
        self
    }

    /// Also list objects whose names end with the delimiter as items.
    pub fn include_trailing_delimiter(mut self, include: bool) -> Self {
        self.include_trailing_delimiter = include;
        self
    }

    /// One page, as GCS returns it.
    pub async fn send(self) -> Result<ListObjectsOutput, GcsError> {
        let mut url = self.client.json_url("objects.list", &["b", &self.bucket, "o"])?;
        let mut pairs: Vec<(&str, String)> = [
            ("prefix", self.prefix),
            ("delimiter", self.delimiter),
            ("startOffset", self.start_offset),
            ("endOffset", self.end_offset),
            ("matchGlob", self.match_glob),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect();
        pairs.extend(page_pairs(&self.paging));
        if self.versions {
            pairs.push(("versions", "true".into()));
        }
        if self.include_trailing_delimiter {
            pairs.push(("includeTrailingDelimiter", "true".into()));
        }
        cloudkit_core::append_query(&mut url, pairs);
        self.client.send_json("objects.list", true, HttpRequest::new(Method::GET, url)).await
    }
}

// ---------------------------------------------------------------------------------------------
// buckets.list

/// `buckets.list`.
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages() or .into_items()"]
pub struct ListBuckets {
    client: StorageClient,
    project: Option<String>,
    prefix: Option<String>,
    paging: PageParams,
}

/// One page of `buckets.list`.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListBucketsOutput {
    /// The buckets.
    #[serde(default)]
    pub items: Vec<Bucket>,
    /// The token of the next page.
    #[serde(default)]
    pub next_page_token: Option<String>,
}

list_streams!(ListBuckets => ListBucketsOutput of Bucket, "buckets.list", "Every bucket, as a stream.");

impl ListBuckets {
    /// Only buckets whose names start with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }

    /// The project (default: the client's).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// One page, as GCS returns it.
    pub async fn send(self) -> Result<ListBucketsOutput, GcsError> {
        let mut url = self.client.json_url("buckets.list", &["b"])?;
        let project = self.client.project_for("buckets.list", self.project)?;
        let mut pairs: Vec<(&str, String)> = vec![("project", project)];
        pairs.extend(self.prefix.map(|p| ("prefix", p)));
        pairs.extend(page_pairs(&self.paging));
        cloudkit_core::append_query(&mut url, pairs);
        self.client.send_json("buckets.list", true, HttpRequest::new(Method::GET, url)).await
    }
}

impl StorageClient {
    /// `objects.list`.
    ///
    /// ```no_run
    /// # async fn demo(client: cloudkit_gcp_storage::StorageClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::TryStreamExt;
    /// use cloudkit_paginate::PaginationConfig;
    /// let mut pages = client.list_objects("b").prefix("logs/").delimiter("/").into_pages(PaginationConfig::default());
    /// while let Some(page) = pages.try_next().await? {
    ///     for dir in &page.prefixes { println!("{dir}"); }
    ///     for o in &page.items { println!("{} {:?}", o.name, o.size); }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn list_objects(&self, bucket: impl Into<String>) -> ListObjects {
        ListObjects {
            client: self.clone(),
            bucket: bucket.into(),
            prefix: None,
            delimiter: None,
            start_offset: None,
            end_offset: None,
            match_glob: None,
            include_trailing_delimiter: false,
            versions: false,
            paging: PageParams::default(),
        }
    }

    /// `buckets.list`.
    ///
    /// ```no_run
    /// # async fn demo(client: cloudkit_gcp_storage::StorageClient) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures::TryStreamExt;
    /// let names: Vec<String> = client
    ///     .list_buckets()
    ///     .prefix("logs-")
    ///     .into_items(Default::default())
    ///     .map_ok(|b| b.name)
    ///     .try_collect()
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn list_buckets(&self) -> ListBuckets {
        ListBuckets { client: self.clone(), project: None, prefix: None, paging: PageParams::default() }
    }
}
