//! Tag operations: CreateTags, DeleteTags, DescribeTags.

use cloudkit_aws_protocol::QueryBody;

use crate::client::{Ec2Client, push_dry_run, push_tags, query};
use crate::describe::{DescribeParams, paginated_describe};
use crate::error::Ec2Error;
use crate::model;
use crate::types::Tag;

impl Ec2Client {
    /// `CreateTags`: adds or overwrites tags on resources (instances, volumes, images, …).
    pub fn create_tags(&self) -> CreateTags {
        CreateTags { client: self.clone(), resources: Vec::new(), tags: Vec::new(), dry_run: false }
    }

    /// `DeleteTags`: removes tags (by key, or by key and value) from resources.
    pub fn delete_tags(&self) -> DeleteTags {
        DeleteTags { client: self.clone(), resources: Vec::new(), tags: Vec::new(), dry_run: false }
    }

    /// `DescribeTags`: tags matching filters (`resource-id`, `resource-type`, `key`, `value`).
    pub fn describe_tags(&self) -> DescribeTags {
        DescribeTags { client: self.clone(), params: DescribeParams::default() }
    }
}

/// Builder for `CreateTags` ([`Ec2Client::create_tags`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct CreateTags {
    client: Ec2Client,
    resources: Vec<String>,
    tags: Vec<Tag>,
    dry_run: bool,
}

impl CreateTags {
    /// Adds a resource id.
    pub fn resource(mut self, id: impl Into<String>) -> Self {
        self.resources.push(id.into());
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push(Tag::new(key, value));
        self
    }

    /// Adds tags.
    pub fn tags(mut self, tags: impl IntoIterator<Item = Tag>) -> Self {
        self.tags.extend(tags);
        self
    }

    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Applies the tags.
    pub async fn send(self) -> Result<(), Ec2Error> {
        const OP: &str = "CreateTags";
        if self.resources.is_empty() || self.tags.is_empty() {
            return Err(Ec2Error::invalid_input(OP, "CreateTags needs at least one resource and one tag"));
        }
        let mut body = query(OP);
        body.push_list("ResourceId", &self.resources);
        push_tags(&mut body, "Tag", &self.tags);
        push_dry_run(&mut body, self.dry_run);
        self.client.call(OP, body, true, model::empty).await
    }
}

/// Builder for `DeleteTags` ([`Ec2Client::delete_tags`]).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct DeleteTags {
    client: Ec2Client,
    resources: Vec<String>,
    tags: Vec<(String, Option<String>)>,
    dry_run: bool,
}

impl DeleteTags {
    /// Adds a resource id.
    pub fn resource(mut self, id: impl Into<String>) -> Self {
        self.resources.push(id.into());
        self
    }

    /// Deletes the tag `key` whatever its value.
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.tags.push((key.into(), None));
        self
    }

    /// Deletes the tag `key` only if its value is `value`.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), Some(value.into())));
        self
    }

    /// Only check permissions.
    pub fn dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Deletes the tags (with no keys given, EC2 deletes **all** user tags of the resources).
    pub async fn send(self) -> Result<(), Ec2Error> {
        const OP: &str = "DeleteTags";
        if self.resources.is_empty() {
            return Err(Ec2Error::invalid_input(OP, "DeleteTags needs at least one resource"));
        }
        let mut body = query(OP);
        body.push_list("ResourceId", &self.resources);
        for (i, (key, value)) in self.tags.iter().enumerate() {
            body.push(&format!("Tag.{}.Key", i + 1), key);
            if let Some(v) = value {
                body.push(&format!("Tag.{}.Value", i + 1), v);
            }
        }
        push_dry_run(&mut body, self.dry_run);
        self.client.call(OP, body, true, model::empty).await
    }
}

/// One tag of one resource, from `DescribeTags`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TagDescription {
    /// The resource id.
    pub resource_id: String,
    /// The resource type (`instance`, `volume`, …).
    pub resource_type: Option<String>,
    /// The tag key.
    pub key: String,
    /// The tag value.
    pub value: String,
}

/// The answer to `DescribeTags`: one page.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DescribeTagsOutput {
    /// The tags.
    pub tags: Vec<TagDescription>,
    /// The token of the next page; `None` on the last page.
    pub next_token: Option<String>,
}

/// Builder for `DescribeTags` ([`Ec2Client::describe_tags`]). Filters: `resource-id`,
/// `resource-type`, `key`, `value`.
#[derive(Clone, Debug)]
#[must_use = "call .send() or a stream method (into_pages, into_items)"]
pub struct DescribeTags {
    client: Ec2Client,
    params: DescribeParams,
}

impl DescribeTags {
    fn push_own_params(&self, _body: &mut QueryBody) {}
}

paginated_describe!(DescribeTags, "DescribeTags", model::describe_tags => DescribeTagsOutput { tags: TagDescription });
