//! Image operations: DescribeImages.

use std::time::SystemTime;

use cloudkit_aws_protocol::QueryBody;

use crate::client::Ec2Client;
use crate::describe::{DescribeParams, paginated_describe};
use crate::model;
use crate::types::Tag;

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
            params: DescribeParams::default(),
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
    /// When it was created.
    pub creation_date: Option<SystemTime>,
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

/// Builder for `DescribeImages` ([`Ec2Client::describe_images`]). Filters: `name`, `architecture`,
/// `state`, `tag:<key>`, …
#[derive(Clone, Debug)]
#[must_use = "call .send() or a stream method (into_pages, into_items)"]
pub struct DescribeImages {
    client: Ec2Client,
    image_ids: Vec<String>,
    owners: Vec<String>,
    params: DescribeParams,
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

    fn push_own_params(&self, body: &mut QueryBody) {
        body.push_list("ImageId", &self.image_ids);
        body.push_list("Owner", &self.owners);
    }
}

paginated_describe!(DescribeImages, "DescribeImages", model::describe_images => DescribeImagesOutput { images: Image });
