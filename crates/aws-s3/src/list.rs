//! Listing: ListObjectsV2, ListMultipartUploads and ListParts, one page at a time (`send`) or as
//! streams of pages and items built on `cloudkit-paginate`.

use std::future::Future;
use std::ops::Range;
use std::time::SystemTime;

use cloudkit_core::{Method, Operation, internal::json};
use cloudkit_paginate::{ItemStream, Page, PageRequest, PageStream, PaginationConfig, Paginator};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use percent_encoding::percent_decode_str;

use crate::client::{Req, S3Client};
use crate::error::S3Error;
use crate::model::{self, from_xml};

/// Decodes a value S3 sent with `encoding-type=url` (`+` is a space, as botocore decodes it).
fn url_decode(s: &str) -> String {
    let plus = s.replace('+', " ");
    percent_decode_str(&plus).decode_utf8_lossy().into_owned()
}

fn maybe_decode(encoded: bool, s: String) -> String {
    if encoded { url_decode(&s) } else { s }
}

/// Whether a listing says it URL-encoded its keys (`<EncodingType>url</EncodingType>`).
fn is_url_encoded(encoding_type: Option<&str>) -> bool {
    encoding_type.is_some_and(|e| e.eq_ignore_ascii_case("url"))
}

/// A listing's common prefixes, decoded when the listing is URL-encoded.
fn common_prefixes(encoded: bool, prefixes: Vec<model::PrefixXml>) -> Vec<CommonPrefix> {
    prefixes.into_iter().map(|c| CommonPrefix { prefix: maybe_decode(encoded, c.prefix) }).collect()
}

/// A page that says more follow (`IsTruncated=true`) but gives nothing to continue from would end
/// the listing silently, with keys missing: a decode error instead (as in botocore).
fn check_continuation(op: &'static str, truncated: bool, has_token: bool, token: &str) -> Result<(), S3Error> {
    if truncated && !has_token {
        return Err(S3Error::decode(
            op,
            format!("the page is truncated (IsTruncated=true) but has no {token}: the listing cannot continue"),
        ));
    }
    Ok(())
}

/// ListMultipartUploads' two markers as one pagination token: a JSON array `[key, upload id]`.
fn upload_page_token(key_marker: &str, upload_id_marker: &str) -> String {
    let mut token = String::from("[");
    json::write_str(&mut token, key_marker);
    token.push(',');
    json::write_str(&mut token, upload_id_marker);
    token.push(']');
    token
}

/// The markers of an [`upload_page_token`]; `None` if `token` is not one (a bare key marker).
fn parse_upload_page_token(token: &str) -> Option<(String, String)> {
    match json::Value::parse(token.as_bytes()).ok()?.as_array()? {
        [key, upload] => Some((key.as_str()?.to_owned(), upload.as_str()?.to_owned())),
        _ => None,
    }
}

/// A list request that can be sent again for any page: what [`paginator`] needs
/// (docs/ARCHITECTURE.md, "Listing").
pub(crate) trait ListRequest: Clone + Send + 'static {
    /// One page of the listing.
    type Output: Page + Send + 'static;

    /// The S3 operation (`ListObjectsV2`, …), named in pagination errors.
    const OPERATION: &'static str;

    /// Points the request at the page of `token` with at most `page_size` items (each left as
    /// the builder set it when `None`).
    fn set_page(&mut self, token: Option<String>, page_size: Option<u32>);

    /// Fetches the page (the builder's `send`).
    fn fetch(self) -> impl Future<Output = Result<Self::Output, S3Error>> + Send + 'static;
}

/// Pages of `template`, sent again with each page's token.
pub(crate) fn paginator<R: ListRequest>(
    template: R,
    config: PaginationConfig,
) -> Paginator<'static, R::Output, S3Error> {
    let set_page = |r: &mut R, page: PageRequest| r.set_page(page.token, page.page_size);
    Paginator::repeat(crate::SERVICE, R::OPERATION, config, template, set_page, R::fetch)
}

/// `into_pages` and `into_items` of a list builder that implements [`ListRequest`].
macro_rules! list_streams {
    ($output:ty, $items:literal) => {
        /// Every page, as a stream (page size, max items and starting token from `config`; the
        /// builder's own page size and starting token apply when `config` leaves them unset).
        pub fn into_pages(self, config: PaginationConfig) -> PageStream<'static, $output, S3Error> {
            paginator(self, config).pages()
        }

        #[doc = concat!("Every ", $items, ", as a stream (`config` as for [`into_pages`](Self::into_pages)).")]
        pub fn into_items(self, config: PaginationConfig) -> ItemStream<'static, $output, S3Error> {
            paginator(self, config).items()
        }
    };
}

pub(crate) use list_streams;

/// `prefix` and `delimiter` of a listing by key (ListObjectsV2, ListMultipartUploads).
macro_rules! prefix_setters {
    () => {
        /// Only keys starting with `prefix`.
        pub fn prefix(mut self, v: impl Into<String>) -> Self {
            self.prefix = Some(v.into());
            self
        }
        /// Group keys by this delimiter into common prefixes.
        pub fn delimiter(mut self, v: impl Into<String>) -> Self {
            self.delimiter = Some(v.into());
            self
        }
    };
}

/// The [`Page`] impl of an output whose items are one `Vec` and whose next-page token counts only
/// while `is_truncated` (S3's last page may still carry a marker).
macro_rules! truncated_vec_page {
    ($output:ty, $items:ident: $item:ty, $token:ident) => {
        impl Page for $output {
            type Item = $item;

            fn next_token(&self) -> Option<&str> {
                if self.is_truncated { self.$token.as_deref() } else { None }
            }

            fn item_count(&self) -> usize {
                self.$items.len()
            }

            fn retain_items(&mut self, range: Range<usize>) {
                cloudkit_paginate::retain_range(&mut self.$items, range);
            }

            fn into_items(self) -> Vec<$item> {
                self.$items
            }
        }
    };
}

/// One object of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Object {
    /// The key (already URL-decoded).
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// The ETag, quotes included.
    pub e_tag: Option<String>,
    /// When it was last modified.
    pub last_modified: Option<SystemTime>,
    /// Storage class.
    pub storage_class: Option<String>,
    /// Checksum algorithms of the object.
    pub checksum_algorithm: Vec<String>,
    /// `FULL_OBJECT` or `COMPOSITE`.
    pub checksum_type: Option<String>,
    /// Owner id (with `fetch_owner`).
    pub owner_id: Option<String>,
}

/// A "directory" of a delimited listing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CommonPrefix {
    /// The prefix, delimiter included (`photos/2026/`).
    pub prefix: String,
}

/// One item of a ListObjectsV2 listing: an object or a common prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ListEntry {
    /// An object.
    Object(Object),
    /// A common prefix (with a delimiter).
    CommonPrefix(CommonPrefix),
}

/// One page of ListObjectsV2.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListObjectsV2Output {
    /// The objects.
    pub contents: Vec<Object>,
    /// The common prefixes (with a delimiter).
    pub common_prefixes: Vec<CommonPrefix>,
    /// Whether more pages follow.
    pub is_truncated: bool,
    /// Token for the next page.
    pub next_continuation_token: Option<String>,
    /// Keys in this page (objects and prefixes).
    pub key_count: Option<u32>,
    /// The bucket.
    pub name: Option<String>,
    /// The prefix asked for.
    pub prefix: Option<String>,
    /// The delimiter asked for.
    pub delimiter: Option<String>,
    /// The page size asked for.
    pub max_keys: Option<u32>,
    /// The start-after asked for.
    pub start_after: Option<String>,
}

impl Page for ListObjectsV2Output {
    type Item = ListEntry;

    fn next_token(&self) -> Option<&str> {
        if self.is_truncated { self.next_continuation_token.as_deref() } else { None }
    }

    fn item_count(&self) -> usize {
        self.contents.len() + self.common_prefixes.len()
    }

    fn retain_items(&mut self, range: Range<usize>) {
        let n = self.contents.len();
        let prefixes = std::mem::take(&mut self.common_prefixes);
        let contents = std::mem::take(&mut self.contents);
        self.contents = contents.into_iter().enumerate().filter(|(i, _)| range.contains(i)).map(|(_, o)| o).collect();
        self.common_prefixes =
            prefixes.into_iter().enumerate().filter(|(i, _)| range.contains(&(i + n))).map(|(_, p)| p).collect();
    }

    fn into_items(self) -> Vec<ListEntry> {
        self.contents
            .into_iter()
            .map(ListEntry::Object)
            .chain(self.common_prefixes.into_iter().map(ListEntry::CommonPrefix))
            .collect()
    }
}

/// A ListObjectsV2 request; see [`S3Client::list_objects_v2`].
#[derive(Clone, Debug)]
#[must_use = "call .send() or a stream method"]
pub struct ListObjectsV2 {
    client: S3Client,
    bucket: String,
    prefix: Option<String>,
    delimiter: Option<String>,
    start_after: Option<String>,
    max_keys: Option<u32>,
    continuation_token: Option<String>,
    fetch_owner: bool,
    url_encoding: bool,
}

impl S3Client {
    /// Lists objects (ListObjectsV2), one page with `send()` or every page as a stream.
    ///
    /// On AWS endpoints keys are requested with `encoding-type=url` and decoded, so keys with
    /// characters XML cannot carry list correctly (as boto3 does). On custom endpoints this is
    /// off by default, because some S3-compatible stores (s3s) echo `EncodingType=url` without
    /// encoding, which would corrupt keys containing `+` or `%`; turn it on with
    /// [`ListObjectsV2::url_encoding`].
    ///
    /// ```no_run
    /// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), cloudkit_aws_s3::S3Error> {
    /// use cloudkit_aws_s3::{ListEntry, PaginationConfig};
    /// use futures::TryStreamExt;
    ///
    /// // every object under photos/, 1000 per request
    /// let keys: Vec<String> = s3.list_objects_v2("bucket").prefix("photos/").into_objects(PaginationConfig::default())
    ///     .map_ok(|o| o.key).try_collect().await?;
    ///
    /// // one level of "directories"
    /// let mut entries = s3.list_objects_v2("bucket").delimiter("/").into_items(PaginationConfig::default());
    /// while let Some(entry) = entries.try_next().await? {
    ///     match entry {
    ///         ListEntry::CommonPrefix(p) => println!("dir  {}", p.prefix),
    ///         ListEntry::Object(o) => println!("file {}", o.key),
    ///     }
    /// }
    /// # let _ = keys; Ok(()) }
    /// ```
    pub fn list_objects_v2(&self, bucket: impl Into<String>) -> ListObjectsV2 {
        ListObjectsV2 {
            client: self.clone(),
            bucket: bucket.into(),
            prefix: None,
            delimiter: None,
            start_after: None,
            max_keys: None,
            continuation_token: None,
            fetch_owner: false,
            url_encoding: !self.inner.addressing.custom,
        }
    }
}

impl ListObjectsV2 {
    prefix_setters!();
    /// Start after this key (first page only).
    pub fn start_after(mut self, v: impl Into<String>) -> Self {
        self.start_after = Some(v.into());
        self
    }
    /// At most this many keys per page (S3 caps it at 1000).
    pub fn max_keys(mut self, n: u32) -> Self {
        self.max_keys = Some(n);
        self
    }
    /// Continue from a previous page's `next_continuation_token`.
    pub fn continuation_token(mut self, v: impl Into<String>) -> Self {
        self.continuation_token = Some(v.into());
        self
    }
    /// Include each object's owner.
    pub fn fetch_owner(mut self, yes: bool) -> Self {
        self.fetch_owner = yes;
        self
    }
    /// Whether to ask for `encoding-type=url` and decode keys (default: on for AWS endpoints,
    /// off for custom endpoints).
    pub fn url_encoding(mut self, yes: bool) -> Self {
        self.url_encoding = yes;
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<ListObjectsV2Output, S3Error> {
        const OP: &str = "ListObjectsV2";
        let max = self.max_keys.map(|n| n.to_string());
        let mut q: Vec<(&str, Option<&str>)> = vec![("list-type", Some("2"))];
        if let Some(t) = &self.continuation_token {
            q.push(("continuation-token", Some(t)));
        }
        if let Some(d) = &self.delimiter {
            q.push(("delimiter", Some(d)));
        }
        if self.url_encoding {
            q.push(("encoding-type", Some("url")));
        }
        if self.fetch_owner {
            q.push(("fetch-owner", Some("true")));
        }
        if let Some(m) = &max {
            q.push(("max-keys", Some(m)));
        }
        if let Some(p) = &self.prefix {
            q.push(("prefix", Some(p)));
        }
        if let Some(s) = &self.start_after {
            q.push(("start-after", Some(s)));
        }
        let url = self.client.url(OP, &self.bucket, None, &q)?;
        let r = self.client.send(Operation::new(OP), Req::new(OP, Method::GET, url).request).await?;
        let p: model::ListBucketResult = from_xml(OP, &r.body)?;
        let next_continuation_token = p.next_continuation_token.filter(|t| !t.is_empty());
        check_continuation(OP, p.is_truncated, next_continuation_token.is_some(), "NextContinuationToken")?;
        let enc = is_url_encoded(p.encoding_type.as_deref());
        Ok(ListObjectsV2Output {
            contents: p
                .contents
                .into_iter()
                .map(|o| Object {
                    key: maybe_decode(enc, o.key),
                    size: o.size.unwrap_or(0),
                    e_tag: o.e_tag,
                    last_modified: o.last_modified,
                    storage_class: o.storage_class,
                    checksum_algorithm: o.checksum_algorithm,
                    checksum_type: o.checksum_type,
                    owner_id: o.owner.and_then(|o| o.id),
                })
                .collect(),
            common_prefixes: common_prefixes(enc, p.common_prefixes),
            is_truncated: p.is_truncated,
            next_continuation_token,
            key_count: p.key_count,
            name: p.name,
            prefix: p.prefix.map(|s| maybe_decode(enc, s)),
            delimiter: p.delimiter.map(|s| maybe_decode(enc, s)),
            max_keys: p.max_keys,
            start_after: p.start_after.map(|s| maybe_decode(enc, s)),
        })
    }

    list_streams!(ListObjectsV2Output, "object and common prefix");

    /// Every object (common prefixes left out), as a stream of `Result<Object, S3Error>`
    /// (`config` as for [`into_items`](Self::into_items)).
    pub fn into_objects(self, config: PaginationConfig) -> BoxStream<'static, Result<Object, S3Error>> {
        self.into_items(config)
            .map_err(S3Error::from)
            .try_filter_map(|e| async move {
                Ok(match e {
                    ListEntry::Object(o) => Some(o),
                    ListEntry::CommonPrefix(_) => None,
                })
            })
            .boxed()
    }
}

impl ListRequest for ListObjectsV2 {
    type Output = ListObjectsV2Output;
    const OPERATION: &'static str = "ListObjectsV2";

    fn set_page(&mut self, token: Option<String>, page_size: Option<u32>) {
        self.continuation_token = token.or(self.continuation_token.take());
        self.max_keys = page_size.or(self.max_keys);
    }

    fn fetch(self) -> impl Future<Output = Result<ListObjectsV2Output, S3Error>> + Send + 'static {
        self.send()
    }
}

/// A multipart upload in progress.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MultipartUpload {
    /// The key.
    pub key: String,
    /// The upload id.
    pub upload_id: String,
    /// When it was started.
    pub initiated: Option<SystemTime>,
    /// Storage class.
    pub storage_class: Option<String>,
}

/// One page of ListMultipartUploads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListMultipartUploadsOutput {
    /// The uploads.
    pub uploads: Vec<MultipartUpload>,
    /// Common prefixes (with a delimiter).
    pub common_prefixes: Vec<CommonPrefix>,
    /// Whether more pages follow.
    pub is_truncated: bool,
    /// Key marker of the next page.
    pub next_key_marker: Option<String>,
    /// Upload-id marker of the next page.
    pub next_upload_id_marker: Option<String>,
    /// The two markers as one pagination token (JSON array), `None` on the last page.
    pub next_token: Option<String>,
}

truncated_vec_page!(ListMultipartUploadsOutput, uploads: MultipartUpload, next_token);

/// A ListMultipartUploads request; see [`S3Client::list_multipart_uploads`].
#[derive(Clone, Debug)]
#[must_use = "call .send() or a stream method"]
pub struct ListMultipartUploads {
    client: S3Client,
    bucket: String,
    prefix: Option<String>,
    delimiter: Option<String>,
    key_marker: Option<String>,
    upload_id_marker: Option<String>,
    max_uploads: Option<u32>,
}

impl S3Client {
    /// Lists multipart uploads in progress (to find and abort orphans).
    pub fn list_multipart_uploads(&self, bucket: impl Into<String>) -> ListMultipartUploads {
        ListMultipartUploads {
            client: self.clone(),
            bucket: bucket.into(),
            prefix: None,
            delimiter: None,
            key_marker: None,
            upload_id_marker: None,
            max_uploads: None,
        }
    }
}

impl ListMultipartUploads {
    prefix_setters!();

    /// Start after this key.
    pub fn key_marker(mut self, v: impl Into<String>) -> Self {
        self.key_marker = Some(v.into());
        self
    }
    /// With `key_marker`: start after this upload of that key.
    pub fn upload_id_marker(mut self, v: impl Into<String>) -> Self {
        self.upload_id_marker = Some(v.into());
        self
    }
    /// At most this many uploads per page (≤ 1000).
    pub fn max_uploads(mut self, n: u32) -> Self {
        self.max_uploads = Some(n);
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<ListMultipartUploadsOutput, S3Error> {
        const OP: &str = "ListMultipartUploads";
        let max = self.max_uploads.map(|n| n.to_string());
        let mut q: Vec<(&str, Option<&str>)> = vec![("uploads", None)];
        if let Some(d) = &self.delimiter {
            q.push(("delimiter", Some(d)));
        }
        q.push(("encoding-type", Some("url")));
        if let Some(k) = &self.key_marker {
            q.push(("key-marker", Some(k)));
        }
        if let Some(m) = &max {
            q.push(("max-uploads", Some(m)));
        }
        if let Some(p) = &self.prefix {
            q.push(("prefix", Some(p)));
        }
        if let Some(u) = &self.upload_id_marker {
            q.push(("upload-id-marker", Some(u)));
        }
        let url = self.client.url(OP, &self.bucket, None, &q)?;
        let r = self.client.send(Operation::new(OP), Req::new(OP, Method::GET, url).request).await?;
        let p: model::ListMultipartUploadsResult = from_xml(OP, &r.body)?;
        let enc = is_url_encoded(p.encoding_type.as_deref());
        let next_key_marker = p.next_key_marker.filter(|s| !s.is_empty()).map(|s| maybe_decode(enc, s));
        let next_upload_id_marker = p.next_upload_id_marker.filter(|s| !s.is_empty());
        // The upload-id marker may be empty when a page ends on a common prefix; the key marker
        // never is.
        check_continuation(OP, p.is_truncated, next_key_marker.is_some(), "NextKeyMarker")?;
        let next_token = if p.is_truncated {
            Some(upload_page_token(
                next_key_marker.as_deref().unwrap_or(""),
                next_upload_id_marker.as_deref().unwrap_or(""),
            ))
        } else {
            None
        };
        Ok(ListMultipartUploadsOutput {
            uploads: p
                .upload
                .into_iter()
                .map(|u| MultipartUpload {
                    key: maybe_decode(enc, u.key),
                    upload_id: u.upload_id,
                    initiated: u.initiated,
                    storage_class: u.storage_class,
                })
                .collect(),
            common_prefixes: common_prefixes(enc, p.common_prefixes),
            is_truncated: p.is_truncated,
            next_key_marker,
            next_upload_id_marker,
            next_token,
        })
    }

    list_streams!(ListMultipartUploadsOutput, "upload");
}

impl ListRequest for ListMultipartUploads {
    type Output = ListMultipartUploadsOutput;
    const OPERATION: &'static str = "ListMultipartUploads";

    fn set_page(&mut self, token: Option<String>, page_size: Option<u32>) {
        if let Some(t) = token {
            match parse_upload_page_token(&t) {
                Some((k, u)) => {
                    self.key_marker = (!k.is_empty()).then_some(k);
                    self.upload_id_marker = (!u.is_empty()).then_some(u);
                }
                None => self.key_marker = Some(t),
            }
        }
        self.max_uploads = page_size.or(self.max_uploads);
    }

    fn fetch(self) -> impl Future<Output = Result<ListMultipartUploadsOutput, S3Error>> + Send + 'static {
        self.send()
    }
}

/// An uploaded part.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Part {
    /// The part number (1–10000).
    pub part_number: u32,
    /// The part's ETag.
    pub e_tag: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// When it was uploaded.
    pub last_modified: Option<SystemTime>,
    /// Its CRC32C, if it was uploaded with one.
    pub checksum_crc32c: Option<String>,
    /// Its SHA-256, if it was uploaded with one.
    pub checksum_sha256: Option<String>,
}

/// One page of ListParts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPartsOutput {
    /// The parts.
    pub parts: Vec<Part>,
    /// Whether more pages follow.
    pub is_truncated: bool,
    /// Marker of the next page (S3 sends one even on the last page; it is ignored then).
    pub next_part_number_marker: Option<String>,
    /// The storage class.
    pub storage_class: Option<String>,
}

// S3's last ListParts page carries a "0" (or the last part's) marker: it stops on IsTruncated=false.
truncated_vec_page!(ListPartsOutput, parts: Part, next_part_number_marker);

/// A ListParts request; see [`S3Client::list_parts`].
#[derive(Clone, Debug)]
#[must_use = "call .send() or a stream method"]
pub struct ListParts {
    client: S3Client,
    bucket: String,
    key: String,
    upload_id: String,
    max_parts: Option<u32>,
    part_number_marker: Option<String>,
}

impl S3Client {
    /// Lists the parts uploaded so far.
    pub fn list_parts(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        upload_id: impl Into<String>,
    ) -> ListParts {
        ListParts {
            client: self.clone(),
            bucket: bucket.into(),
            key: key.into(),
            upload_id: upload_id.into(),
            max_parts: None,
            part_number_marker: None,
        }
    }
}

impl ListParts {
    /// At most this many parts per page (≤ 1000).
    pub fn max_parts(mut self, n: u32) -> Self {
        self.max_parts = Some(n);
        self
    }
    /// Start after this part number.
    pub fn part_number_marker(mut self, v: impl Into<String>) -> Self {
        self.part_number_marker = Some(v.into());
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<ListPartsOutput, S3Error> {
        const OP: &str = "ListParts";
        let max = self.max_parts.map(|n| n.to_string());
        let mut q: Vec<(&str, Option<&str>)> = Vec::new();
        if let Some(m) = &max {
            q.push(("max-parts", Some(m)));
        }
        if let Some(p) = &self.part_number_marker {
            q.push(("part-number-marker", Some(p)));
        }
        q.push(("uploadId", Some(&self.upload_id)));
        let url = self.client.url(OP, &self.bucket, Some(&self.key), &q)?;
        let r = self.client.send(Operation::new(OP), Req::new(OP, Method::GET, url).request).await?;
        let p: model::ListPartsResult = from_xml(OP, &r.body)?;
        let next_part_number_marker = p.next_part_number_marker.filter(|s| !s.is_empty());
        check_continuation(OP, p.is_truncated, next_part_number_marker.is_some(), "NextPartNumberMarker")?;
        Ok(ListPartsOutput {
            parts: p
                .part
                .into_iter()
                .map(|x| Part {
                    part_number: x.part_number,
                    e_tag: x.e_tag,
                    size: x.size.unwrap_or(0),
                    last_modified: x.last_modified,
                    checksum_crc32c: x.checksum_crc32c,
                    checksum_sha256: x.checksum_sha256,
                })
                .collect(),
            is_truncated: p.is_truncated,
            next_part_number_marker,
            storage_class: p.storage_class,
        })
    }

    list_streams!(ListPartsOutput, "part");
}

impl ListRequest for ListParts {
    type Output = ListPartsOutput;
    const OPERATION: &'static str = "ListParts";

    fn set_page(&mut self, token: Option<String>, page_size: Option<u32>) {
        self.part_number_marker = token.or(self.part_number_marker.take());
        self.max_parts = page_size.or(self.max_parts);
    }

    fn fetch(self) -> impl Future<Output = Result<ListPartsOutput, S3Error>> + Send + 'static {
        self.send()
    }
}

#[cfg(test)]
mod token_tests {
    use super::*;

    #[test]
    fn upload_page_tokens_round_trip_any_marker() {
        for (k, u) in [("", ""), ("my-movie.m2ts", "YW55"), ("a \"quoted\" \\ key\n", "id,with]"), ("ключ/é", "")]
        {
            let token = upload_page_token(k, u);
            assert_eq!(parse_upload_page_token(&token), Some((k.to_owned(), u.to_owned())), "{token}");
        }
        assert_eq!(upload_page_token("k", "u"), r#"["k","u"]"#);
        // Anything else is a bare key marker.
        for bare in ["plain-key", "[\"one\"]", "[1,2]", "[\"a\",\"b\",\"c\"]", "["] {
            assert_eq!(parse_upload_page_token(bare), None, "{bare}");
        }
    }
}
