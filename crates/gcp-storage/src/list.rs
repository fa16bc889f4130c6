//! `objects.list`: prefix, delimiter (prefixes), startOffset/endOffset, and a pageToken paginator.

use cloudkit_core::{HttpRequest, Method};
use cloudkit_paginate::{ItemStream, Page, PageRequest, PageStream, PaginationConfig, Paginator};
use serde::Deserialize;

use crate::client::{StorageClient, add_query};
use crate::error::GcsError;
use crate::types::Object;

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
    max_results: Option<u32>,
    page_token: Option<String>,
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

impl Page for ListObjectsOutput {
    type Item = Object;
    fn next_token(&self) -> Option<&str> {
        self.next_page_token.as_deref().filter(|t| !t.is_empty())
    }
    fn item_count(&self) -> usize {
        self.items.len()
    }
    fn retain_items(&mut self, range: std::ops::Range<usize>) {
        cloudkit_paginate::retain_range(&mut self.items, range);
    }
    fn into_items(self) -> Vec<Object> {
        self.items
    }
}

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

    /// Page size (items + prefixes; GCS caps it at 1000).
    pub fn max_results(mut self, n: u32) -> Self {
        self.max_results = Some(n);
        self
    }

    /// Continue from this page token.
    pub fn page_token(mut self, token: impl Into<String>) -> Self {
        self.page_token = Some(token.into());
        self
    }

    /// One page.
    pub async fn send(self) -> Result<ListObjectsOutput, GcsError> {
        let mut url = self.client.json_url(&["b", &self.bucket, "o"]);
        let max = self.max_results.map(|n| n.to_string());
        let mut pairs: Vec<(&str, &str)> = Vec::new();
        for (k, v) in [
            ("prefix", &self.prefix),
            ("delimiter", &self.delimiter),
            ("startOffset", &self.start_offset),
            ("endOffset", &self.end_offset),
            ("matchGlob", &self.match_glob),
            ("maxResults", &max),
            ("pageToken", &self.page_token),
        ] {
            if let Some(v) = v {
                pairs.push((k, v.as_str()));
            }
        }
        if self.versions {
            pairs.push(("versions", "true"));
        }
        if self.include_trailing_delimiter {
            pairs.push(("includeTrailingDelimiter", "true"));
        }
        add_query(&mut url, pairs);
        self.client.send_json("objects.list", true, HttpRequest::new(Method::GET, url)).await
    }

    fn paginator(self, config: PaginationConfig) -> Paginator<'static, ListObjectsOutput, GcsError> {
        Paginator::new(config, move |req: PageRequest| {
            let mut page = self.clone();
            if let Some(t) = req.token {
                page.page_token = Some(t);
            }
            if let Some(n) = req.page_size {
                page.max_results = Some(n);
            }
            page.send()
        })
    }

    /// Every page (with its prefixes), as a stream; follows `nextPageToken` until it is absent.
    pub fn into_pages(self, config: PaginationConfig) -> PageStream<'static, ListObjectsOutput, GcsError> {
        self.paginator(config).pages()
    }

    /// Every object, as a stream.
    pub fn into_items(self, config: PaginationConfig) -> ItemStream<'static, ListObjectsOutput, GcsError> {
        self.paginator(config).items()
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
            max_results: None,
            page_token: None,
        }
    }
}
