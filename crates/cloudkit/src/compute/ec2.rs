//! The EC2 backend of the neutral [`Compute`] trait, over `cloudkit-aws-ec2`.

use std::time::Duration;

use async_trait::async_trait;
use cloudkit_aws_ec2::{Ec2Client, Ec2Error, Filter, InstanceStateName, PaginationConfig};
use futures::TryStreamExt;
use futures::stream::BoxStream;

use super::{Compute, CreateInstances, Error, Instance, InstanceFilter, InstanceId, InstanceState, Result};

const PROVIDER: &str = "ec2";

/// [`Compute`] on one EC2 region.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit::compute::{Compute, Ec2Compute, InstanceFilter, InstanceState};
/// use futures::TryStreamExt;
/// let config = cloudkit::aws::AwsConfig::loader().load().await?;
/// let compute = Ec2Compute::new(cloudkit::ec2::Ec2Client::new(&config)?);
/// let running: Vec<_> = compute.list_instances(InstanceFilter::default().state(InstanceState::Running)).try_collect().await?;
/// # let _ = running; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Ec2Compute {
    client: Ec2Client,
}

impl Ec2Compute {
    /// A backend using `client` (its region scopes the instance ids).
    pub fn new(client: Ec2Client) -> Self {
        Self { client }
    }

    /// The EC2 client, for what the neutral API does not cover.
    pub fn client(&self) -> &Ec2Client {
        &self.client
    }

    fn id(&self, raw: &str) -> InstanceId {
        InstanceId::new(PROVIDER, self.client.region(), raw)
    }

    fn check_id<'a>(&self, id: &'a InstanceId) -> Result<&'a str> {
        if id.provider != PROVIDER || id.location != self.client.region() {
            return Err(Error::InvalidInput {
                message: format!("{id} does not belong to {PROVIDER}:{}", self.client.region()),
            });
        }
        Ok(&id.id)
    }

    fn convert(&self, i: &cloudkit_aws_ec2::Instance) -> Instance {
        Instance {
            id: self.id(&i.instance_id),
            state: neutral_state(&i.state.name),
            raw_state: i.state.name.as_str().to_owned(),
            size: i.instance_type.clone(),
            image: i.image_id.clone(),
            private_ip: i.private_ip_address.clone(),
            public_ip: i.public_ip_address.clone(),
            launch_time: i.launch_time,
            tags: i.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect(),
        }
    }

    /// Refuses actions on terminated instances up front (some EC2 implementations accept them).
    async fn require_not_terminated(&self, id: &InstanceId, action: &'static str) -> Result<()> {
        let current = self.get_instance(id).await?;
        if matches!(current.state, InstanceState::Terminated | InstanceState::Terminating) {
            return Err(Error::InvalidState { id: id.to_string(), state: current.state, action });
        }
        Ok(())
    }
}

/// EC2's state names in neutral terms.
pub(crate) fn neutral_state(name: &InstanceStateName) -> InstanceState {
    match name {
        InstanceStateName::Pending => InstanceState::Pending,
        InstanceStateName::Running => InstanceState::Running,
        InstanceStateName::ShuttingDown => InstanceState::Terminating,
        InstanceStateName::Terminated => InstanceState::Terminated,
        InstanceStateName::Stopping => InstanceState::Stopping,
        InstanceStateName::Stopped => InstanceState::Stopped,
        _ => InstanceState::Unknown,
    }
}

fn ec2_state_name(state: InstanceState) -> Option<&'static str> {
    Some(match state {
        InstanceState::Pending => "pending",
        InstanceState::Running => "running",
        InstanceState::Stopping => "stopping",
        InstanceState::Stopped => "stopped",
        InstanceState::Terminating => "shutting-down",
        InstanceState::Terminated => "terminated",
        _ => return None,
    })
}

fn map_error(id: &str, action: &'static str, e: Ec2Error) -> Error {
    match e {
        Ec2Error::InstanceNotFound(_) => Error::NotFound { id: id.to_owned(), source: Some(Box::new(e)) },
        Ec2Error::InstanceIdMalformed(_) | Ec2Error::ImageIdMalformed(_) => {
            Error::InvalidInput { message: e.to_string() }
        }
        Ec2Error::ImageNotFound(_) | Ec2Error::KeyPairNotFound(_) | Ec2Error::SecurityGroupNotFound(_) => {
            Error::InvalidInput { message: e.to_string() }
        }
        Ec2Error::IncorrectInstanceState(_) => {
            Error::InvalidState { id: id.to_owned(), state: InstanceState::Unknown, action }
        }
        Ec2Error::InsufficientInstanceCapacity(_) => Error::InsufficientCapacity { message: e.to_string() },
        Ec2Error::UnauthorizedOperation(_) => {
            Error::PermissionDenied { message: action.to_owned(), source: Some(Box::new(e)) }
        }
        Ec2Error::Throttled(_) => Error::Throttled { source: Some(Box::new(e)) },
        other => {
            let status = other.status().map(|s| s.as_u16());
            match (status, other.code()) {
                (_, Some("AuthFailure" | "InvalidClientTokenId" | "SignatureDoesNotMatch")) | (Some(401), _) => {
                    Error::Unauthenticated { message: action.to_owned(), source: Some(Box::new(other)) }
                }
                (_, Some("InvalidParameterValue" | "InvalidParameterCombination" | "MissingParameter")) => {
                    Error::InvalidInput { message: other.to_string() }
                }
                _ => Error::Provider { provider: PROVIDER, source: Box::new(other) },
            }
        }
    }
}

#[async_trait]
impl Compute for Ec2Compute {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn list_instances(&self, filter: InstanceFilter) -> BoxStream<'static, Result<Instance>> {
        let mut request = self.client.describe_instances();
        let states: Vec<&str> = filter.states.iter().filter_map(|s| ec2_state_name(*s)).collect();
        if !states.is_empty() {
            request = request.filter(Filter::new("instance-state-name", states));
        }
        for (k, v) in &filter.tags {
            request = request.filter(Filter::new(format!("tag:{k}"), [v.clone()]));
        }
        let this = self.clone();
        let listed = request
            .into_instances(PaginationConfig::default())
            .map_err(|e| Error::Provider { provider: PROVIDER, source: Box::new(e) })
            .map_ok(move |i| this.convert(&i));
        // `Unknown` states cannot be filtered server-side; the neutral filter has the last word.
        super::keep_matching(listed, filter)
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        let raw = self.check_id(id)?;
        let out = self
            .client
            .describe_instances()
            .instance_id(raw)
            .send()
            .await
            .map_err(|e| map_error(raw, "describe", e))?;
        out.reservations
            .iter()
            .flat_map(|r| r.instances.iter())
            .find(|i| i.instance_id == raw)
            .map(|i| self.convert(i))
            .ok_or_else(|| Error::NotFound { id: id.to_string(), source: None })
    }

    async fn create_instances(&self, request: CreateInstances) -> Result<Vec<Instance>> {
        request.validate()?;
        let mut run =
            self.client.run_instances(request.image.clone()).instance_type(request.size.clone()).count(request.count);
        for (k, v) in &request.tags {
            run = run.tag(k.clone(), v.clone());
        }
        if let Some(key) = &request.key_name {
            run = run.key_name(key.clone());
        }
        if let Some(data) = &request.user_data {
            run = run.user_data(data);
        }
        let reservation = run.send().await.map_err(|e| map_error(&request.image, "create", e))?;
        Ok(reservation.instances.iter().map(|i| self.convert(i)).collect())
    }

    async fn start(&self, id: &InstanceId) -> Result<()> {
        let raw = self.check_id(id)?;
        self.require_not_terminated(id, "start").await?;
        self.client.start_instances().instance_id(raw).send().await.map(|_| ()).map_err(|e| map_error(raw, "start", e))
    }

    async fn stop(&self, id: &InstanceId) -> Result<()> {
        let raw = self.check_id(id)?;
        self.require_not_terminated(id, "stop").await?;
        self.client.stop_instances().instance_id(raw).send().await.map(|_| ()).map_err(|e| map_error(raw, "stop", e))
    }

    async fn reboot(&self, id: &InstanceId) -> Result<()> {
        let raw = self.check_id(id)?;
        let current = self.get_instance(id).await?;
        if current.state != InstanceState::Running {
            return Err(Error::InvalidState { id: id.to_string(), state: current.state, action: "reboot" });
        }
        self.client.reboot_instances().instance_id(raw).send().await.map_err(|e| map_error(raw, "reboot", e))
    }

    async fn terminate(&self, id: &InstanceId) -> Result<()> {
        let raw = self.check_id(id)?;
        self.client
            .terminate_instances()
            .instance_id(raw)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_error(raw, "terminate", e))
    }

    async fn wait_for_state(&self, id: &InstanceId, target: InstanceState, max_wait: Duration) -> Result<Instance> {
        let raw = self.check_id(id)?;
        let waiter = match target {
            InstanceState::Running => self.client.wait_until_instance_running(),
            InstanceState::Stopped => self.client.wait_until_instance_stopped(),
            InstanceState::Terminated => self.client.wait_until_instance_terminated(),
            _ => return super::poll_for_state(self, id, target, max_wait, Duration::from_secs(5)).await,
        };
        let state_of = |out: &Result<cloudkit_aws_ec2::DescribeInstancesOutput, Ec2Error>| {
            out.as_ref()
                .ok()
                .and_then(|o| o.reservations.iter().flat_map(|r| r.instances.iter()).find(|i| i.instance_id == raw))
                .map_or(InstanceState::Unknown, |i| neutral_state(&i.state.name))
        };
        match waiter.instance_id(raw).max_wait(max_wait).wait().await {
            Ok(_) => self.get_instance(id).await,
            Err(e) => {
                Err(super::wait_error(id, target, max_wait, e, state_of, |source| map_error(raw, "wait", source)))
            }
        }
    }
}
