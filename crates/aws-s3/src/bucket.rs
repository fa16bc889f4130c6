//! Bucket operations: ListBuckets, CreateBucket, DeleteBucket, HeadBucket, GetBucketLocation.

use std::time::SystemTime;

use bytes::Bytes;
use cloudkit_core::{Method, Operation, internal::xml};
use cloudkit_paginate::{ItemStream, PageStream, PaginationConfig};

use crate::client::{Req, S3Client, header_str, header_string};
use crate::error::S3Error;
use crate::list::{ListRequest, list_streams, paginator};
use crate::model::{self, from_xml};

/// A bucket's owner.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Owner {
    /// The canonical user id.
    pub id: Option<String>,
    /// The display name (deprecated by AWS; some stores still send it).
    pub display_name: Option<String>,
}

/// One bucket of a ListBuckets result.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct BucketSummary {
    /// The name.
    pub name: String,
    /// When it was created.
    pub creation_date: Option<SystemTime>,
    /// Its region, when S3 reports it.
    pub region: Option<String>,
}

/// What ListBuckets returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListBucketsOutput {
    /// The buckets.
    pub buckets: Vec<BucketSummary>,
    /// The owner.
    pub owner: Option<Owner>,
    /// Token of the next page (when `max_buckets` was given and more remain).
    pub continuation_token: Option<String>,
}

cloudkit_paginate::items_page!(ListBucketsOutput => BucketSummary { buckets, continuation_token });

/// A ListBuckets request; see [`S3Client::list_buckets`]. One page with [`send`](Self::send),
/// every page or bucket with [`into_pages`](Self::into_pages) / [`into_items`](Self::into_items).
#[derive(Clone, Debug)]
#[must_use = "call .send(), .into_pages() or .into_items()"]
pub struct ListBuckets {
    client: S3Client,
    prefix: Option<String>,
    max_buckets: Option<u32>,
    continuation_token: Option<String>,
    bucket_region: Option<String>,
}

impl S3Client {
    /// Lists the caller's buckets.
    pub fn list_buckets(&self) -> ListBuckets {
        ListBuckets {
            client: self.clone(),
            prefix: None,
            max_buckets: None,
            continuation_token: None,
            bucket_region: None,
        }
    }
}

impl ListBuckets {
    /// Only buckets whose name starts with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = Some(prefix.into());
        self
    }
    /// At most `n` buckets per page (1–10000).
    pub fn max_buckets(mut self, n: u32) -> Self {
        self.max_buckets = Some(n);
        self
    }
    /// Continue a previous listing.
    pub fn continuation_token(mut self, t: impl Into<String>) -> Self {
        self.continuation_token = Some(t.into());
        self
    }
    /// Only buckets in this region.
    pub fn bucket_region(mut self, r: impl Into<String>) -> Self {
        self.bucket_region = Some(r.into());
        self
    }

    // `into_pages` and `into_items` (`max_buckets` is the page size).
    list_streams!(ListBucketsOutput, "bucket");

    /// Sends the request.
    pub async fn send(self) -> Result<ListBucketsOutput, S3Error> {
        const OP: &str = "ListBuckets";
        let max = self.max_buckets.map(|n| n.to_string());
        let mut q: Vec<(&str, Option<&str>)> = Vec::new();
        if let Some(r) = &self.bucket_region {
            q.push(("bucket-region", Some(r)));
        }
        if let Some(t) = &self.continuation_token {
            q.push(("continuation-token", Some(t)));
        }
        if let Some(m) = &max {
            q.push(("max-buckets", Some(m)));
        }
        if let Some(p) = &self.prefix {
            q.push(("prefix", Some(p)));
        }
        let url = self.client.service_url(OP, &q)?;
        let r = self.client.send(Operation::new(OP), Req::new(OP, Method::GET, url).request).await?;
        let parsed: model::ListAllMyBucketsResult = from_xml(OP, &r.body)?;
        Ok(ListBucketsOutput {
            buckets: parsed
                .buckets
                .into_iter()
                .map(|b| BucketSummary { name: b.name, creation_date: b.creation_date, region: b.bucket_region })
                .collect(),
            owner: parsed.owner.map(|o| Owner { id: o.id, display_name: o.display_name }),
            continuation_token: parsed.continuation_token.filter(|t| !t.is_empty()),
        })
    }
}

/// A CreateBucket request; see [`S3Client::create_bucket`].
#[derive(Debug)]
#[must_use = "call .send()"]
pub struct CreateBucket {
    client: S3Client,
    bucket: String,
    location: Option<String>,
    acl: Option<String>,
    object_lock: bool,
    object_ownership: Option<String>,
}

/// What CreateBucket returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateBucketOutput {
    /// The `Location` header (`/bucket` or the bucket URL).
    pub location: Option<String>,
}

impl S3Client {
    /// Creates a bucket. Outside us-east-1 the client's region is sent as the
    /// `LocationConstraint` (S3 refuses the request otherwise); change it with
    /// [`CreateBucket::location_constraint`].
    pub fn create_bucket(&self, bucket: impl Into<String>) -> CreateBucket {
        let region = self.region();
        let location = (!region.is_empty() && region != "us-east-1").then(|| region.to_owned());
        CreateBucket {
            client: self.clone(),
            bucket: bucket.into(),
            location,
            acl: None,
            object_lock: false,
            object_ownership: None,
        }
    }
}

impl CreateBucket {
    /// The region to create the bucket in (`LocationConstraint`); `us-east-1` sends none.
    pub fn location_constraint(mut self, region: impl Into<String>) -> Self {
        let r = region.into();
        self.location = (r != "us-east-1" && !r.is_empty()).then_some(r);
        self
    }
    /// A canned ACL.
    pub fn acl(mut self, acl: impl Into<String>) -> Self {
        self.acl = Some(acl.into());
        self
    }
    /// Enables Object Lock.
    pub fn object_lock_enabled(mut self, yes: bool) -> Self {
        self.object_lock = yes;
        self
    }
    /// `BucketOwnerEnforced`, `BucketOwnerPreferred` or `ObjectWriter`.
    pub fn object_ownership(mut self, v: impl Into<String>) -> Self {
        self.object_ownership = Some(v.into());
        self
    }

    /// Sends the request. An existing bucket is [`S3Error::BucketAlreadyOwnedByYou`] or
    /// [`S3Error::BucketAlreadyExists`].
    pub async fn send(self) -> Result<CreateBucketOutput, S3Error> {
        const OP: &str = "CreateBucket";
        let url = self.client.url(OP, &self.bucket, None, &[])?;
        let mut req = Req::new(OP, Method::PUT, url);
        req.opt("x-amz-acl", self.acl.as_deref())?;
        if self.object_lock {
            req.header("x-amz-bucket-object-lock-enabled", "true")?;
        }
        req.opt("x-amz-object-ownership", self.object_ownership.as_deref())?;
        let request = match &self.location {
            Some(loc) => {
                req.header("content-type", "application/xml")?;
                let xml = format!(
                    "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                     <LocationConstraint>{}</LocationConstraint></CreateBucketConfiguration>",
                    xml::escape(loc)
                );
                req.request.with_body(Bytes::from(xml))
            }
            None => req.request,
        };
        let r = self.client.send(Operation::new(OP), request).await?;
        Ok(CreateBucketOutput { location: header_string(&r.headers, "location") })
    }
}

/// What HeadBucket returns.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HeadBucketOutput {
    /// `x-amz-bucket-region`.
    pub region: Option<String>,
    /// `x-amz-access-point-alias`.
    pub access_point_alias: bool,
}

impl S3Client {
    /// Deletes an (empty) bucket; one with objects is [`S3Error::BucketNotEmpty`].
    pub async fn delete_bucket(&self, bucket: &str) -> Result<(), S3Error> {
        const OP: &str = "DeleteBucket";
        let url = self.url(OP, bucket, None, &[])?;
        self.send(Operation::new(OP), Req::new(OP, Method::DELETE, url).request).await?;
        Ok(())
    }

    /// Checks that a bucket exists and is accessible: a missing bucket is
    /// [`S3Error::NotFound`], a forbidden one [`S3Error::AccessDenied`].
    pub async fn head_bucket(&self, bucket: &str) -> Result<HeadBucketOutput, S3Error> {
        const OP: &str = "HeadBucket";
        let url = self.url(OP, bucket, None, &[])?;
        let r = self.send(Operation::new(OP), Req::new(OP, Method::HEAD, url).request).await?;
        Ok(HeadBucketOutput {
            region: header_string(&r.headers, "x-amz-bucket-region"),
            access_point_alias: header_str(&r.headers, "x-amz-access-point-alias") == Some("true"),
        })
    }

    /// The bucket's region as S3's `LocationConstraint` says it (`None`/empty means us-east-1,
    /// which this method returns as `"us-east-1"`; the legacy `EU` becomes `eu-west-1`).
    pub async fn get_bucket_location(&self, bucket: &str) -> Result<String, S3Error> {
        const OP: &str = "GetBucketLocation";
        let url = self.url(OP, bucket, None, &[("location", None)])?;
        let r = self.send(Operation::new(OP), Req::new(OP, Method::GET, url).request).await?;
        let parsed: model::LocationConstraintXml = from_xml(OP, &r.body)?;
        Ok(match parsed.value.as_deref().map(str::trim) {
            None | Some("") => "us-east-1".to_owned(),
            Some("EU") => "eu-west-1".to_owned(),
            Some(r) => r.to_owned(),
        })
    }
}

impl ListRequest for ListBuckets {
    type Output = ListBucketsOutput;
    const OPERATION: &'static str = "ListBuckets";

    fn set_page(&mut self, token: Option<String>, page_size: Option<u32>) {
        self.continuation_token = token.or(self.continuation_token.take());
        self.max_buckets = page_size.or(self.max_buckets);
    }

    fn fetch(self) -> impl Future<Output = Result<ListBucketsOutput, S3Error>> + Send + 'static {
        self.send()
    }
}
