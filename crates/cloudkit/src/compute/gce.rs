//! The Google backend of the neutral [`Compute`] trait: Compute Engine instances
//! (`cloudkit-gcp-compute`).

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use cloudkit_gcp_compute::{ComputeClient, GceError, InstanceDefinition, InstanceStatus};
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};

use super::path_scoped::{self, PathScope};
use super::{Compute, CreateInstances, Error, Instance, InstanceFilter, InstanceId, InstanceState, Result};

const PROVIDER: &str = "gce";

/// [`Compute`] on the Compute Engine instances of one project, in one zone or (`None`) all zones.
///
/// Instance ids are `gce:<project>/<zone>/<name>`. Every action waits for its zone operation to
/// finish (`DONE`; an operation that ends with errors is an error):
///
/// | neutral | Compute Engine |
/// |---|---|
/// | `start` | `instances.start` |
/// | `stop` | `instances.stop` (the instance is `TERMINATED`: stopped, no longer billed for its vCPUs) |
/// | `reboot` | `instances.reset` (a hard reset; a running instance only) |
/// | `terminate` | `instances.delete` |
/// | `create_instances` | `instances.insert`, one per instance |
///
/// States (the provider's status is kept in [`Instance::raw_state`]):
///
/// | Compute Engine `status` | neutral |
/// |---|---|
/// | `PROVISIONING`, `STAGING`, `PENDING` | `Pending` |
/// | `RUNNING` | `Running` |
/// | `STOPPING`, `PENDING_STOP`, `SUSPENDING`, `DEPROVISIONING` | `Stopping` |
/// | `TERMINATED` (what a stopped instance reports), `STOPPED`, `SUSPENDED` | `Stopped` |
/// | the instance is gone (404) | `Terminated` (when waited for; `get_instance` says `NotFound`) |
/// | `REPAIRING`, anything else | `Unknown` |
///
/// Creating: `image` is a source image (`projects/debian-cloud/global/images/family/debian-12`),
/// `size` the machine type (`e2-micro`); tags become labels (Compute Engine label rules: lowercase
/// keys and values), except `Name`, which names the instance (else `cloudkit-<random>`, and
/// `<name>-<n>` for several); `user_data` is the `startup-script` metadata. The zone is the
/// backend's (creating needs one); `key_name` (EC2 key pairs) is `NotSupported`.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use cloudkit::compute::{Compute, InstanceFilter, InstanceState};
/// use cloudkit::session::Session;
/// use futures::TryStreamExt;
///
/// let session = Session::gcp().load().await?; // ADC, GOOGLE_CLOUD_PROJECT
/// let compute = session.compute(Some("us-central1-a"))?;
/// let running: Vec<_> =
///     compute.list_instances(InstanceFilter::default().state(InstanceState::Running)).try_collect().await?;
/// # let _ = running; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct GceCompute {
    client: ComputeClient,
    /// The project and, when bound to one, the zone.
    scope: PathScope,
}

impl GceCompute {
    /// A backend on `client`'s project, in `zone` or (`None`) all zones (creating needs a zone).
    /// The project must be known (`GOOGLE_CLOUD_PROJECT`, the credentials, the metadata server, or
    /// `GcpConfig::loader().project_id(..)`).
    pub fn new(client: ComputeClient, zone: Option<&str>) -> Result<Self> {
        let project = client.project().map(str::to_owned).ok_or_else(|| Error::InvalidInput {
            message: "Compute Engine needs a project: set GOOGLE_CLOUD_PROJECT or GcpConfig::loader().project_id(..)"
                .to_owned(),
        })?;
        Ok(Self { client, scope: PathScope::new(PROVIDER, project, zone, false) })
    }

    /// The Compute Engine client, for what the neutral API does not cover.
    pub fn client(&self) -> &ComputeClient {
        &self.client
    }

    /// How often `wait_for_state` reads the instance at first (default 5 s; the waiter's backoff
    /// grows it up to 30 s).
    #[must_use]
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.scope.poll_interval = interval;
        self
    }

    fn convert(&self, zone: &str, i: &cloudkit_gcp_compute::Instance) -> Instance {
        let zone = if i.zone.is_empty() { zone } else { i.zone.as_str() };
        Instance {
            id: self.scope.id(zone, i.name.clone()),
            state: neutral_state(&i.status),
            raw_state: i.status.as_str().to_owned(),
            size: (!i.machine_type.is_empty()).then(|| i.machine_type.clone()),
            image: None,
            private_ip: i.internal_ip().map(str::to_owned),
            public_ip: i.external_ip().map(str::to_owned),
            launch_time: i.creation_timestamp,
            tags: i.labels.clone().into_iter().collect(),
        }
    }

    async fn read(&self, id: &InstanceId, action: &'static str) -> Result<Instance> {
        let (zone, name) = self.scope.check(id)?;
        let instance = self.client.instances().get(zone, name).send().await.map_err(|e| map_error(id, action, e))?;
        Ok(self.convert(zone, &instance))
    }

    /// Refuses actions on an instance being deleted (a missing one is `NotFound`).
    async fn current(&self, id: &InstanceId, action: &'static str) -> Result<Instance> {
        path_scoped::refuse_if_going(self.read(id, action).await?, id, action)
    }

    /// Runs one instance action and waits for its operation.
    async fn act(&self, id: &InstanceId, action: &'static str) -> Result<()> {
        let (zone, name) = self.scope.check(id)?;
        let instances = self.client.instances();
        let request = match action {
            "start" => instances.start(zone, name),
            "stop" => instances.stop(zone, name),
            "reboot" => instances.reset(zone, name),
            _ => instances.delete(zone, name),
        };
        let operation = request.send().await.map_err(|e| map_error(id, action, e))?;
        operation.wait().await.map(|_| ()).map_err(|e| map_error(id, action, e))
    }

    async fn wait_deleted(&self, id: &InstanceId, max_wait: Duration) -> Result<Instance> {
        let (zone, name) = self.scope.check(id)?;
        let config = super::poll_config(self.scope.poll_interval, max_wait);
        let outcome = self.client.instances().wait_until_deleted(zone, name).config(config).wait().await;
        let status = |last: &std::result::Result<cloudkit_gcp_compute::Instance, GceError>| {
            last.as_ref().map_or(InstanceState::Unknown, |i| neutral_state(&i.status))
        };
        path_scoped::deleted_or_error(id, max_wait, "DELETED", outcome, status, |e| map_error(id, "wait", e))
    }

    /// The instance definitions for `request` (what the neutral request can say on Compute
    /// Engine).
    fn definitions(&self, request: &CreateInstances) -> Result<Vec<InstanceDefinition>> {
        if request.key_name.is_some() {
            return Err(Error::NotSupported {
                operation: "EC2 key pair names (put SSH keys into the project's or instance's metadata)",
                provider: PROVIDER,
            });
        }
        let mut labels = BTreeMap::new();
        for (k, v) in &request.tags {
            if k == "Name" {
                continue;
            }
            if !valid_label(k, true) || !valid_label(v, false) {
                return Err(Error::InvalidInput {
                    message: format!(
                        "tag {k}={v} is not a Compute Engine label (lowercase letters, digits, `-` and `_`; keys start with a letter; at most 63 characters)"
                    ),
                });
            }
            labels.insert(k.clone(), v.clone());
        }
        let startup_script = match &request.user_data {
            Some(data) => Some(String::from_utf8(data.clone()).map_err(|_| Error::InvalidInput {
                message: "user data for Compute Engine is the startup-script metadata and must be UTF-8".to_owned(),
            })?),
            None => None,
        };
        let base = request.tags.get("Name").cloned().unwrap_or_else(|| format!("cloudkit-{:08x}", fastrand::u32(..)));
        let names: Vec<String> =
            if request.count == 1 { vec![base] } else { (1..=request.count).map(|n| format!("{base}-{n}")).collect() };
        Ok(names
            .into_iter()
            .map(|name| {
                let mut definition = InstanceDefinition::new(name, request.size.clone()).image(request.image.clone());
                for (k, v) in &labels {
                    definition = definition.label(k.clone(), v.clone());
                }
                if let Some(script) = &startup_script {
                    definition = definition.startup_script(script.clone());
                }
                definition
            })
            .collect())
    }
}

/// Compute Engine's label rule (keys start with a lowercase letter; values may be empty).
fn valid_label(s: &str, key: bool) -> bool {
    s.len() <= 63
        && (!key || s.starts_with(|c: char| c.is_ascii_lowercase()))
        && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// An instance status in neutral terms (the table on [`GceCompute`]).
fn neutral_state(status: &InstanceStatus) -> InstanceState {
    match status {
        InstanceStatus::Provisioning | InstanceStatus::Staging | InstanceStatus::Pending => InstanceState::Pending,
        InstanceStatus::Running => InstanceState::Running,
        InstanceStatus::Stopping
        | InstanceStatus::PendingStop
        | InstanceStatus::Suspending
        | InstanceStatus::Deprovisioning => InstanceState::Stopping,
        InstanceStatus::Terminated | InstanceStatus::Stopped | InstanceStatus::Suspended => InstanceState::Stopped,
        _ => InstanceState::Unknown,
    }
}

/// The neutral error of a Compute Engine error: an exhausted quota (a 403) is
/// `InsufficientCapacity`, `resourceNotReady` `InvalidState`; the rest is mapped by status
/// ([`path_scoped::from_service_error`]).
fn map_error(id: &InstanceId, action: &'static str, e: GceError) -> Error {
    match e {
        GceError::QuotaExceeded(_) => Error::InsufficientCapacity { message: e.to_string() },
        GceError::ResourceNotReady(_) => {
            Error::InvalidState { id: id.to_string(), state: InstanceState::Unknown, action }
        }
        other => path_scoped::from_service_error(PROVIDER, id, action, other),
    }
}

#[async_trait]
impl Compute for GceCompute {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn list_instances(&self, filter: InstanceFilter) -> BoxStream<'static, Result<Instance>> {
        let this = self.clone();
        let scope = self.scope.listing_id();
        let instances = self.client.instances();
        let listed: BoxStream<'static, std::result::Result<(String, cloudkit_gcp_compute::Instance), GceError>> =
            match self.scope.place() {
                Some(zone) => {
                    let zone = zone.to_owned();
                    instances.list(&zone).into_items(Default::default()).map_ok(move |i| (zone.clone(), i)).boxed()
                }
                None => instances.aggregated_list().into_items(Default::default()).boxed(),
            };
        let listed =
            listed.map_err(move |e| map_error(&scope, "list", e)).map_ok(move |(zone, i)| this.convert(&zone, &i));
        // labels and states are filtered here, with the neutral filter's rules
        super::keep_matching(listed, filter)
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        self.read(id, "describe").await
    }

    async fn create_instances(&self, request: CreateInstances) -> Result<Vec<Instance>> {
        request.validate()?;
        let zone = self
            .scope
            .place_to_create("creating Compute Engine instances needs a zone: Session::gcp().compute(Some(zone))")?;
        let mut created = Vec::new();
        for definition in self.definitions(&request)? {
            let id = self.scope.id(&zone, definition.name().to_owned());
            let operation = self
                .client
                .instances()
                .insert(&zone, definition)
                .send()
                .await
                .map_err(|e| map_error(&id, "create", e))?;
            operation.wait().await.map_err(|e| map_error(&id, "create", e))?;
            created.push(self.read(&id, "create").await?);
        }
        Ok(created)
    }

    async fn start(&self, id: &InstanceId) -> Result<()> {
        let current = self.current(id, "start").await?;
        if current.state == InstanceState::Running {
            return Ok(());
        }
        self.act(id, "start").await
    }

    /// Stops the instance (`TERMINATED` in Compute Engine's words; see the type's docs).
    async fn stop(&self, id: &InstanceId) -> Result<()> {
        let current = self.current(id, "stop").await?;
        if current.state == InstanceState::Stopped {
            return Ok(());
        }
        self.act(id, "stop").await
    }

    async fn reboot(&self, id: &InstanceId) -> Result<()> {
        let current = self.current(id, "reboot").await?;
        if current.state != InstanceState::Running {
            return Err(Error::InvalidState { id: id.to_string(), state: current.state, action: "reboot" });
        }
        self.act(id, "reboot").await
    }

    async fn terminate(&self, id: &InstanceId) -> Result<()> {
        match self.act(id, "terminate").await {
            // already gone: terminating is harmless
            Err(Error::NotFound { .. }) => Ok(()),
            other => other,
        }
    }

    async fn wait_for_state(&self, id: &InstanceId, target: InstanceState, max_wait: Duration) -> Result<Instance> {
        self.scope.wait_for_state(self, id, target, max_wait, self.wait_deleted(id, max_wait)).await
    }
}

#[cfg(test)]
mod tests {
    use cloudkit_core::{ErrorKind, StatusCode};

    use super::*;

    /// Compute Engine errors in neutral terms: by status, except an exhausted quota (a 403) and
    /// `resourceNotReady`; rate limiting (also a 403) is throttling.
    #[test]
    fn gce_errors_map_by_status() {
        let id = InstanceId::new(PROVIDER, "p/us-central1-a", "web-1");
        let answer = |status: u16, code: &str| {
            let core = cloudkit_core::Error::new(ErrorKind::Service, "GCE", "compute.instances.start")
                .with_status(StatusCode::from_u16(status).unwrap())
                .with_code(code);
            map_error(&id, "start", GceError::from_core(core))
        };
        assert!(matches!(answer(403, "quotaExceeded"), Error::InsufficientCapacity { .. }));
        assert!(matches!(answer(403, "rateLimitExceeded"), Error::Throttled { .. }));
        assert!(matches!(answer(403, "forbidden"), Error::PermissionDenied { message, .. } if message == "start"));
        assert!(matches!(answer(401, "authError"), Error::Unauthenticated { .. }));
        assert!(matches!(answer(404, "notFound"), Error::NotFound { id, .. } if id == "gce:p/us-central1-a/web-1"));
        assert!(matches!(answer(400, "resourceNotReady"), Error::InvalidState { action: "start", .. }));
        let e = answer(409, "alreadyExists");
        assert!(matches!(e, Error::Provider { provider: "gce", .. }), "{e:?}");
    }

    #[test]
    fn statuses_map_as_documented() {
        use InstanceStatus as S;
        let table = [
            (S::Provisioning, InstanceState::Pending),
            (S::Staging, InstanceState::Pending),
            (S::Pending, InstanceState::Pending),
            (S::Running, InstanceState::Running),
            (S::Stopping, InstanceState::Stopping),
            (S::PendingStop, InstanceState::Stopping),
            (S::Suspending, InstanceState::Stopping),
            (S::Deprovisioning, InstanceState::Stopping),
            (S::Terminated, InstanceState::Stopped),
            (S::Stopped, InstanceState::Stopped),
            (S::Suspended, InstanceState::Stopped),
            (S::Repairing, InstanceState::Unknown),
            (S::Unknown("NEW_STATE".into()), InstanceState::Unknown),
        ];
        for (status, state) in table {
            assert_eq!(neutral_state(&status), state, "{status}");
        }
    }

    #[test]
    fn labels_follow_compute_engine_rules() {
        assert!(valid_label("cloudkit-conformance", true) && valid_label("run-1a2b", false) && valid_label("", false));
        assert!(!valid_label("Name", true) && !valid_label("1abc", true) && !valid_label("a.b", false));
        assert!(!valid_label(&"a".repeat(64), true));
    }
}
