//! [`Ec2Client`]: one async method per EC2 operation, over the shared request pipeline.

use std::fmt;
use std::sync::Arc;

use cloudkit_aws_protocol::{QUERY_CONTENT_TYPE, QueryBody};
use cloudkit_core::{Bytes, HttpRequest, Method, Operation, Pipeline, PipelineBuilder, Url};
use cloudkit_cred_chain::aws::AwsConfig;

use crate::SERVICE;
use crate::error::Ec2Error;
use crate::model;
use crate::types::{Filter, Tag};

/// The EC2 API version cloudkit speaks.
pub const API_VERSION: &str = "2016-11-15";

/// The SigV4 signing name of EC2.
pub const SIGNING_NAME: &str = "ec2";

/// The EC2 client: one async method per operation (`run_instances`, `describe_instances`, …), each
/// returning a builder that is sent with `.send()`.
///
/// Built from a loaded [`AwsConfig`] with [`Ec2Client::new`], or with [`Ec2Client::builder`] to
/// override the endpoint, HTTP client, retry settings or timeouts. Cheap to clone; clones share the
/// connection pool, credentials cache and retry quota.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_aws_ec2::{Ec2Client, Filter, InstanceStateName, PaginationConfig};
/// use futures::TryStreamExt;
///
/// let config = cloudkit_cred_chain::aws::AwsConfig::loader().load().await?;
/// let ec2 = Ec2Client::new(&config)?;
///
/// let reservation = ec2
///     .run_instances("ami-0abcdef1234567890")
///     .instance_type("t3.micro")
///     .tag("Name", "web-1")
///     .user_data("#!/bin/sh\necho hello\n")
///     .send()
///     .await?;
/// let id = reservation.instances[0].instance_id.clone();
/// ec2.wait_until_instance_running().instance_id(&id).wait().await?;
///
/// let running: Vec<_> = ec2
///     .describe_instances()
///     .filter(Filter::instance_state([InstanceStateName::Running]))
///     .into_instances(PaginationConfig::default().page_size(50))
///     .try_collect()
///     .await?;
/// println!("{} running instances", running.len());
///
/// ec2.terminate_instances().instance_id(&id).send().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Ec2Client {
    inner: Arc<Inner>,
}

struct Inner {
    pipeline: Pipeline,
    region: String,
    endpoint: Url,
}

impl fmt::Debug for Ec2Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ec2Client")
            .field("region", &self.inner.region)
            .field("endpoint", &self.inner.endpoint.as_str())
            .field("pipeline", &self.inner.pipeline)
            .finish()
    }
}

/// `https://ec2.{region}.amazonaws.com/`.
pub fn default_endpoint(region: &str) -> Result<Url, Ec2Error> {
    let valid = !region.is_empty() && region.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !valid {
        return Err(Ec2Error::invalid_input("client", format!("`{region}` is not a valid AWS region name")));
    }
    Url::parse(&format!("https://ec2.{region}.amazonaws.com/"))
        .map_err(|e| Ec2Error::invalid_input("client", format!("cannot build the EC2 endpoint for `{region}`: {e}")))
}

/// Builds an [`Ec2Client`] from a loaded [`AwsConfig`] ([`Ec2Client::builder`]), with the overrides
/// every cloudkit client builder has: [`endpoint`](Self::endpoint), [`http`](Self::http),
/// [`retry`](Self::retry) and [`timeouts`](Self::timeouts) (docs/ARCHITECTURE.md, "Construction").
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit_aws_ec2::Ec2Client;
/// use cloudkit_core::{RetryConfig, Url};
///
/// let config = cloudkit_cred_chain::aws::AwsConfig::loader().load().await?;
/// let ec2 = Ec2Client::builder(&config)
///     .endpoint(Url::parse("http://127.0.0.1:5000/")?)
///     .retry(RetryConfig::standard().with_max_attempts(5))
///     .build()?;
/// # let _ = ec2; Ok(()) }
/// ```
#[derive(Debug)]
#[must_use = "call .build()"]
pub struct ClientBuilder {
    pipeline: PipelineBuilder,
    region: String,
    endpoint: Option<Url>,
}

impl ClientBuilder {
    cloudkit_core::client_builder_overrides!(
        /// The endpoint requests go to (default: the config's override for EC2 — `AWS_ENDPOINT_URL_EC2`,
        /// `AWS_ENDPOINT_URL`, profile `endpoint_url` — else `https://ec2.{region}.amazonaws.com/`).
        endpoint
    );

    /// Builds the client: an input error when the endpoint is not http(s) or the region is not a
    /// valid region name (with no endpoint override).
    pub fn build(self) -> Result<Ec2Client, Ec2Error> {
        let endpoint = match self.endpoint {
            Some(url) => url,
            None => default_endpoint(&self.region)?,
        };
        if !matches!(endpoint.scheme(), "http" | "https") || endpoint.cannot_be_a_base() {
            return Err(Ec2Error::invalid_input("client", format!("`{endpoint}` is not an http(s) endpoint")));
        }
        let pipeline = self.pipeline.build().map_err(Ec2Error::from_core)?;
        Ok(Ec2Client { inner: Arc::new(Inner { pipeline, region: self.region, endpoint }) })
    }
}

impl Ec2Client {
    /// A client from a loaded AWS configuration: its credentials, region, retry and timeout settings,
    /// shared HTTP client and retry quota, and endpoint override. Same as
    /// `Ec2Client::builder(config).build()`.
    pub fn new(config: &AwsConfig) -> Result<Self, Ec2Error> {
        Self::builder(config).build()
    }

    /// A [`ClientBuilder`] preset from `config` (SigV4 for `ec2`, AWS XML errors, the AWS retry
    /// classifier, the config's HTTP client, retry settings, retry quota and timeouts), to override
    /// the endpoint, HTTP client, retry settings or timeouts.
    pub fn builder(config: &AwsConfig) -> ClientBuilder {
        ClientBuilder {
            pipeline: config.pipeline_builder(SERVICE, SIGNING_NAME),
            region: config.region().to_owned(),
            endpoint: config.endpoint_url("EC2"),
        }
    }

    /// The region.
    pub fn region(&self) -> &str {
        &self.inner.region
    }

    /// The endpoint requests go to.
    pub fn endpoint(&self) -> &Url {
        &self.inner.endpoint
    }

    /// The request pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.inner.pipeline
    }

    /// Sends one Query-protocol call and reads the XML answer with `read` (a decode error of `action`
    /// if the answer does not parse).
    pub(crate) async fn call<T>(
        &self,
        action: &'static str,
        body: QueryBody,
        idempotent: bool,
        read: model::Read<T>,
    ) -> Result<T, Ec2Error> {
        let xml = self.post(action, body, idempotent).await?;
        model::decode(action, &xml, read)
    }

    /// Sends one Query-protocol call; returns the body of the (successful) answer.
    async fn post(&self, action: &'static str, body: QueryBody, idempotent: bool) -> Result<Bytes, Ec2Error> {
        let request = HttpRequest::new(Method::POST, self.inner.endpoint.clone())
            .with_body(body.into_bytes())
            .header("content-type", QUERY_CONTENT_TYPE)
            .map_err(|e| Ec2Error::invalid_input(action, e.to_string()))?;
        let op = Operation::new(action).idempotent(idempotent);
        let response = self.inner.pipeline.send_buffered(&op, request).await.map_err(Ec2Error::from_core)?;
        Ok(response.body)
    }
}

/// A Query body for `action`.
pub(crate) fn query(action: &str) -> QueryBody {
    QueryBody::new(action, API_VERSION)
}

/// `Filter.N.Name` / `Filter.N.Value.M`.
pub(crate) fn push_filters(body: &mut QueryBody, filters: &[Filter]) {
    for (i, filter) in filters.iter().enumerate() {
        let n = i + 1;
        body.push(&format!("Filter.{n}.Name"), &filter.name);
        body.push_list(&format!("Filter.{n}.Value"), &filter.values);
    }
}

/// `{prefix}.N.Key` / `{prefix}.N.Value`.
pub(crate) fn push_tags(body: &mut QueryBody, prefix: &str, tags: &[Tag]) {
    for (i, tag) in tags.iter().enumerate() {
        let n = i + 1;
        body.push(&format!("{prefix}.{n}.Key"), &tag.key);
        body.push(&format!("{prefix}.{n}.Value"), &tag.value);
    }
}

/// `DryRun=true` when set.
pub(crate) fn push_dry_run(body: &mut QueryBody, dry_run: bool) {
    if dry_run {
        body.push("DryRun", "true");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_endpoint_is_regional_and_rejects_junk() {
        assert_eq!(default_endpoint("eu-west-1").unwrap().as_str(), "https://ec2.eu-west-1.amazonaws.com/");
        assert!(default_endpoint("").is_err());
        assert!(default_endpoint("us-east-1/evil").is_err());
    }

    #[test]
    fn filters_and_tags_are_numbered_from_one() {
        let mut body = query("DescribeInstances");
        push_filters(&mut body, &[Filter::new("instance-state-name", ["running", "pending"]), Filter::tag("k", ["v"])]);
        push_tags(&mut body, "Tag", &[Tag::new("a", "b&c")]);
        let text = String::from_utf8(body.into_bytes().to_vec()).unwrap();
        assert_eq!(
            text,
            "Action=DescribeInstances&Version=2016-11-15&Filter.1.Name=instance-state-name&Filter.1.Value.1=running\
             &Filter.1.Value.2=pending&Filter.2.Name=tag%3Ak&Filter.2.Value.1=v&Tag.1.Key=a&Tag.1.Value=b%26c"
        );
    }
}
