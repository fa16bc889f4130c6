//! Image operations: DescribeImages.

use crate::client::{Ec2Client, push_dry_run, push_filters, push_page, query};
use crate::error::Ec2Error;
use crate::model;
use crate::types::{Filter, Tag};

impl Ec2Client {
    /// `DescribeImages`: AMIs by owner (`self`, `amazon`, an account id), id and filters.
    ///
    /// ```no_run
    /// # async fn demo(ec2: cloudkit_aws_ec2::Ec2Client) -> Result<(), cloudkit_aws_ec2::Ec2Error> {
    /// use cloudkit_aws_ec2::Filter;
    /// let images = ec2
    ///     .describe_images()
    ///     .owner("amazon")
    ///     .filter(Filter::new("name", ["al2023-ami-*-x86_64"]))
    ///     .send()
    ///     .await?;
    /// let newest = images.images.iter().max_by(|a, b| a.creation_date.cmp(&b.creation_date));
    /// # Ok(()) }
    /// ```
    pub fn describe_images(&self) -> DescribeImages {
        DescribeImages {
            client: self.clone(),
            image_ids: Vec::new(),
            owners: Vec::new(),
            filters: Vec::new(),
            max_results: None,
            next_token: None,
            dry_run: false,
        }
    }
}

/// An AMI.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Image {
    /// The id (`ami-…`).
    pub image_id: String,
    /// The name.
    pub name: Option<String>,
    /// The description.
    pub description: Option<String>,
    /// The owning account.
    pub owner_id: Option<String>,
    /// The owner alias (`amazon`, `aws-marketplace`).
    pub owner_alias: Option<String>,
    /// The state (`available`, `pending`, `failed`, …).
    pub state: Option<String>,
    /// The architecture (`x86_64`, `arm64`, …).
    pub architecture: Option<String>,
    /// When it was created (ISO 8601 text, as EC2 sends it; sorts chronologically).
    pub creation_date: Option<String>,
    /// Whether it is public.
    pub public: Option<bool>,
    /// The platform (`windows`) when not Linux/UNIX.
    pub platform: Option<String>,
    /// `ebs` or `instance-store`.
    pub root_device_type: Option<String>,
    /// The root device name (`/dev/xvda`).
    pub root_device_name: Option<String>,
    /// `hvm` or `paravirtual`.
    pub virtualization_type: Option<String>,
    /// `machine`, `kernel` or `ramdisk`.
    pub image_type: Option<String>,
    /// Its tags.
    pub tags: Vec<Tag>,
}

/// The answer to `DescribeImages`: one page.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DescribeImagesOutput {
    /// The images.
    pub images: Vec<Image>,
    /// The token of the next page; `None` on the last page.
    pub next_token: Option<String>,
}

/// Builder for `DescribeImages` ([`Ec2Client::describe_images`]).
#[derive(Clone, Debug)]
#[must_use = "call .send() or .into_paginator()"]
pub struct DescribeImages {
    pub(crate) client: Ec2Client,
    pub(crate) image_ids: Vec<String>,
    pub(crate) owners: Vec<String>,
    pub(crate) filters: Vec<Filter>,
    pub(crate) max_results: Option<u32>,
    pub(crate) next_token: Option<String>,
    pub(crate) dry_run: bool,
}

impl DescribeImages {
    /// Adds an image id.
    pub fn image_id(mut self, id: impl Into<String>) -> Self {
        self.image_ids.push(id.into());
        self
    }

    /// Adds an owner (`self`, `amazon`, `aws-marketplace`, or an account id).
    pub fn owner(mut self, owner: impl Into<String>) -> Self {
        self.owners.push(owner.into());
        self
    }

    /// Adds a filter (`name`, `architecture`, `state`, `tag:<key>`, …).
    pub fn filter(mut self, filter: Filter) -> Self {
        self.filters.push(filter);
        self
    }

    /// The page size (`MaxResults`; not allowed together with image ids).
    pub fn max_results(mut self, max_results: u32) -> Self {
        self.max_results = Some(max_results);
        self
    }

    /// The token of the page to fetch.
    pub fn next_token(mut self, token: impl Into<String>) -> Self {
        self.next_token = Some(token.into());
        self
    }

    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Fetches one page.
    pub async fn send(self) -> Result<DescribeImagesOutput, Ec2Error> {
        let mut body = query("DescribeImages");
        body.push_list("ImageId", &self.image_ids);
        body.push_list("Owner", &self.owners);
        push_filters(&mut body, &self.filters);
        push_page(&mut body, self.max_results, self.next_token.as_deref());
        push_dry_run(&mut body, self.dry_run);
        self.client.call("DescribeImages", body, true, model::describe_images).await
    }
}
