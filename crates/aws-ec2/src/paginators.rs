//! Paginators for the paginated describe calls, on [`cloudkit_paginate`].
//!
//! Every paginated builder has `into_paginator()`, which gives an [`Ec2Paginator`]: set a page size
//! (`MaxResults`), a maximum number of items and a starting token, then stream pages or items.
//! `DescribeInstances` also offers a flat stream of instances across reservations.
//!
//! ```no_run
//! # async fn demo(ec2: cloudkit_aws_ec2::Ec2Client) -> Result<(), Box<dyn std::error::Error>> {
//! use cloudkit_aws_ec2::{Filter, InstanceStateName};
//! use futures::TryStreamExt;
//!
//! let mut instances = ec2
//!     .describe_instances()
//!     .filter(Filter::instance_state([InstanceStateName::Running]))
//!     .filter(Filter::tag("team", ["web"]))
//!     .into_paginator()
//!     .page_size(100)
//!     .instances();
//! while let Some(instance) = instances.try_next().await? {
//!     println!("{} {:?}", instance.instance_id, instance.public_ip_address);
//! }
//! # Ok(()) }
//! ```

use std::ops::Range;

/// Re-exports of the pagination types that appear in this module's API.
pub use cloudkit_paginate::{ItemStream, PageStream, PaginationConfig, PaginationError, ResumeToken};
use cloudkit_paginate::{Page, Paginator};
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::error::Ec2Error;
use crate::images::{DescribeImages, DescribeImagesOutput, Image};
use crate::instance::{
    DescribeInstanceStatus, DescribeInstanceStatusOutput, DescribeInstances, DescribeInstancesOutput, InstanceStatus,
};
use crate::security_groups::{DescribeSecurityGroups, DescribeSecurityGroupsOutput, SecurityGroup};
use crate::tags::{DescribeTags, DescribeTagsOutput, TagDescription};
use crate::types::{Instance, Reservation};

/// The error a pagination stream ends with: an [`Ec2Error`] from a page, or a repeated token.
pub type Ec2PaginationError = PaginationError<Ec2Error>;

/// A describe request that can fetch any page of its listing (implemented by the paginated builders).
pub trait PaginatedRequest: Clone + Send + Sync + 'static {
    /// The page type.
    type Output: Page + Send + 'static;

    /// Fetches the page at `token` (first page for `None`) with `page_size` (`MaxResults`).
    fn fetch_page(
        self,
        token: Option<String>,
        page_size: Option<u32>,
    ) -> BoxFuture<'static, Result<Self::Output, Ec2Error>>;
}

/// A paginator over one describe request: page size, max items, starting token; pages or items.
#[derive(Clone, Debug)]
#[must_use = "streams do nothing until polled"]
pub struct Ec2Paginator<R> {
    request: R,
    config: PaginationConfig,
}

impl<R: PaginatedRequest> Ec2Paginator<R> {
    /// A paginator over `request` with the default configuration.
    pub fn new(request: R) -> Self {
        Self { request, config: PaginationConfig::default() }
    }

    /// The page size, sent as `MaxResults` (for `DescribeInstances` it counts reservations).
    pub fn page_size(mut self, page_size: u32) -> Self {
        self.config = self.config.page_size(page_size);
        self
    }

    /// Stop after this many items (possibly mid-page; the stream then offers a resume token).
    pub fn max_items(mut self, max_items: usize) -> Self {
        self.config = self.config.max_items(max_items);
        self
    }

    /// Start at a provider `NextToken` or a resume token from an earlier stream.
    pub fn starting_token(mut self, token: impl Into<String>) -> Self {
        self.config = self.config.starting_token(token);
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: PaginationConfig) -> Self {
        self.config = config;
        self
    }

    fn paginator(self) -> Paginator<'static, R::Output, Ec2Error> {
        let request = self.request;
        Paginator::new(self.config, move |page| request.clone().fetch_page(page.token, page.page_size))
    }

    /// A stream of pages (the full describe outputs).
    pub fn pages(self) -> PageStream<'static, R::Output, Ec2Error> {
        self.paginator().pages()
    }

    /// A stream of the items of every page.
    pub fn items(self) -> ItemStream<'static, R::Output, Ec2Error> {
        self.paginator().items()
    }
}

impl Ec2Paginator<DescribeInstances> {
    /// A stream of reservations (the API's items; `max_items` counts these).
    pub fn reservations(self) -> ItemStream<'static, DescribeInstancesOutput, Ec2Error> {
        self.items()
    }

    /// A flat stream of instances across all reservations of all pages.
    pub fn instances(self) -> BoxStream<'static, Result<Instance, Ec2PaginationError>> {
        self.items().map_ok(|reservation| stream::iter(reservation.instances.into_iter().map(Ok))).try_flatten().boxed()
    }
}

macro_rules! page_impl {
    ($output:ty, $item:ty, $field:ident) => {
        impl Page for $output {
            type Item = $item;

            fn next_token(&self) -> Option<&str> {
                self.next_token.as_deref()
            }

            fn item_count(&self) -> usize {
                self.$field.len()
            }

            fn retain_items(&mut self, range: Range<usize>) {
                cloudkit_paginate::retain_range(&mut self.$field, range);
            }

            fn into_items(self) -> Vec<$item> {
                self.$field
            }
        }
    };
}

page_impl!(DescribeInstancesOutput, Reservation, reservations);
page_impl!(DescribeInstanceStatusOutput, InstanceStatus, instance_statuses);
page_impl!(DescribeTagsOutput, TagDescription, tags);
page_impl!(DescribeImagesOutput, Image, images);
page_impl!(DescribeSecurityGroupsOutput, SecurityGroup, security_groups);

macro_rules! paginated_request {
    ($builder:ty, $output:ty) => {
        impl PaginatedRequest for $builder {
            type Output = $output;

            fn fetch_page(
                mut self,
                token: Option<String>,
                page_size: Option<u32>,
            ) -> BoxFuture<'static, Result<$output, Ec2Error>> {
                self.next_token = token;
                if page_size.is_some() {
                    self.max_results = page_size;
                }
                Box::pin(self.send())
            }
        }

        impl $builder {
            /// A paginator over this request (page size, max items, starting token).
            pub fn into_paginator(self) -> Ec2Paginator<Self> {
                Ec2Paginator::new(self)
            }
        }
    };
}

paginated_request!(DescribeInstances, DescribeInstancesOutput);
paginated_request!(DescribeInstanceStatus, DescribeInstanceStatusOutput);
paginated_request!(DescribeTags, DescribeTagsOutput);
paginated_request!(DescribeImages, DescribeImagesOutput);
paginated_request!(DescribeSecurityGroups, DescribeSecurityGroupsOutput);
