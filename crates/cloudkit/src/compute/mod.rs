//! The provider-neutral compute API: list, get, create, start, stop, reboot, terminate and wait for
//! virtual machines, the same way on every provider.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudkit::compute::Result<()> {
//! use std::time::Duration;
//! use cloudkit::compute::{Compute, CreateInstances, InMemoryCompute, InstanceState};
//!
//! let compute = InMemoryCompute::new("local-1");
//! let created = compute.create_instances(CreateInstances::new("image-1", "small").count(2)).await?;
//! let id = &created[0].id;
//! compute.stop(id).await?;
//! let stopped = compute.wait_for_state(id, InstanceState::Stopped, Duration::from_secs(60)).await?;
//! assert_eq!(stopped.state, InstanceState::Stopped);
//! # Ok(()) }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use cloudkit_core::BoxError;
use futures::stream::BoxStream;

#[cfg(feature = "azure-arm")]
mod azure;
#[cfg(feature = "conformance")]
#[cfg_attr(docsrs, doc(cfg(feature = "conformance")))]
pub mod conformance;
#[cfg(feature = "aws-ec2")]
mod ec2;
#[cfg(feature = "gcp-compute")]
mod gce;
mod memory;
#[cfg(any(feature = "azure-arm", feature = "gcp-compute"))]
mod path_scoped;

#[cfg(feature = "azure-arm")]
#[cfg_attr(docsrs, doc(cfg(feature = "azure-arm")))]
pub use azure::AzureCompute;
#[cfg(feature = "aws-ec2")]
#[cfg_attr(docsrs, doc(cfg(feature = "aws-ec2")))]
pub use ec2::Ec2Compute;
#[cfg(feature = "gcp-compute")]
#[cfg_attr(docsrs, doc(cfg(feature = "gcp-compute")))]
pub use gce::GceCompute;
pub use memory::InMemoryCompute;

/// The neutral lifecycle state of an instance. The provider's own state is kept in
/// [`Instance::raw_state`]; values a provider adds later map to [`InstanceState::Unknown`].
///
/// Every backend's states in one table (each backend's docs say more):
///
/// | neutral | EC2 (`State.Name`) | Azure (instance view) | Compute Engine (`status`) |
/// |---|---|---|---|
/// | `Pending` | `pending` | `PowerState/starting`; provisioning `Creating` before any power state | `PROVISIONING`, `STAGING`, `PENDING` |
/// | `Running` | `running` | `PowerState/running` | `RUNNING` |
/// | `Stopping` | `stopping` | `PowerState/stopping`, `PowerState/deallocating` | `STOPPING`, `PENDING_STOP`, `SUSPENDING`, `DEPROVISIONING` |
/// | `Stopped` | `stopped` | `PowerState/deallocated`, `PowerState/stopped` (still billed) | `TERMINATED` (a stopped instance), `STOPPED`, `SUSPENDED` |
/// | `Terminating` | `shutting-down` | provisioning `Deleting` | — |
/// | `Terminated` | `terminated` | the VM is gone (404) | the instance is gone (404) |
/// | `Unknown` | anything else | anything else | `REPAIRING`, anything else |
///
/// `stop` is the action that stops billing on each: EC2 `StopInstances`, Azure `deallocate`,
/// Compute Engine `instances.stop`; `reboot` is `RebootInstances`, `restart`, `instances.reset`;
/// `terminate` is `TerminateInstances`, `delete`, `instances.delete`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum InstanceState {
    /// Being created or started.
    Pending,
    /// Running.
    Running,
    /// Being stopped.
    Stopping,
    /// Stopped (can be started again).
    Stopped,
    /// Being deleted.
    Terminating,
    /// Deleted (may still be listed for a while).
    Terminated,
    /// A state cloudkit does not know.
    Unknown,
}

impl InstanceState {
    /// Every state a wait or a filter can ask for (all but `Unknown`), in lifecycle order.
    pub const KNOWN: [InstanceState; 6] = [
        InstanceState::Pending,
        InstanceState::Running,
        InstanceState::Stopping,
        InstanceState::Stopped,
        InstanceState::Terminating,
        InstanceState::Terminated,
    ];

    /// The state's name (`running`), as `Display` shows it and `parse` reads it.
    pub fn as_str(self) -> &'static str {
        match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
            InstanceState::Terminating => "terminating",
            InstanceState::Terminated => "terminated",
            InstanceState::Unknown => "unknown",
        }
    }

    /// Whether the instance can never leave this state.
    pub fn is_final(self) -> bool {
        matches!(self, InstanceState::Terminated)
    }

    /// States from which `target` can no longer be reached without another request.
    pub fn rules_out(self, target: InstanceState) -> bool {
        use InstanceState::*;
        match target {
            Running => matches!(self, Stopping | Stopped | Terminating | Terminated),
            Stopped => matches!(self, Terminating | Terminated),
            Terminated => false,
            _ => self == Terminated,
        }
    }
}

impl fmt::Display for InstanceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A state's name, case ignored; anything else is [`Error::InvalidInput`] listing the names.
///
/// ```
/// use cloudkit::compute::InstanceState;
/// assert_eq!("Running".parse::<InstanceState>().unwrap(), InstanceState::Running);
/// assert!("asleep".parse::<InstanceState>().is_err());
/// ```
impl std::str::FromStr for InstanceState {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let name = s.trim();
        let mut states = Self::KNOWN.into_iter().chain([InstanceState::Unknown]);
        if let Some(state) = states.find(|state| state.as_str().eq_ignore_ascii_case(name)) {
            return Ok(state);
        }
        let names: Vec<&str> = Self::KNOWN.iter().map(|k| k.as_str()).collect();
        Err(Error::InvalidInput { message: format!("{s:?} is not an instance state ({})", names.join(", ")) })
    }
}

/// An instance id scoped to its provider and location: `ec2:us-east-1:i-0abc`, and where the
/// location is a path (Azure's subscription and resource group) the id follows it after a `/`:
/// `azure:<subscription>/<resourceGroup>/<vmName>`.
///
/// ```
/// use cloudkit::compute::InstanceId;
/// let ec2: InstanceId = "ec2:us-east-1:i-0abc".parse().unwrap();
/// assert_eq!((ec2.location.as_str(), ec2.id.as_str()), ("us-east-1", "i-0abc"));
/// let vm: InstanceId = "azure:0000-1111/my-rg/web-1".parse().unwrap();
/// assert_eq!((vm.location.as_str(), vm.id.as_str()), ("0000-1111/my-rg", "web-1"));
/// assert_eq!(vm.to_string(), "azure:0000-1111/my-rg/web-1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId {
    /// The provider (`ec2`, `memory`, …).
    pub provider: String,
    /// The region or zone.
    pub location: String,
    /// The provider's id.
    pub id: String,
}

impl InstanceId {
    /// An id from its parts.
    pub fn new(provider: impl Into<String>, location: impl Into<String>, id: impl Into<String>) -> Self {
        Self { provider: provider.into(), location: location.into(), id: id.into() }
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A location that is a path (`subscription/resourceGroup`) is followed by `/`, else `:`.
        let separator = if self.location.contains('/') { '/' } else { ':' };
        write!(f, "{}:{}{separator}{}", self.provider, self.location, self.id)
    }
}

impl std::str::FromStr for InstanceId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let invalid = || Error::InvalidInput {
            message: format!("{s:?} is not an instance id (provider:location:id or provider:path/to/location/id)"),
        };
        let (provider, rest) = s.split_once(':').ok_or_else(invalid)?;
        // `provider:location:id`, or `provider:a/b/id` where the location is the path before the last `/`.
        let (location, id, path) = match rest.split_once(':') {
            Some((location, id)) if !location.contains('/') => (location, id, false),
            _ => rest.rsplit_once('/').map(|(location, id)| (location, id, true)).ok_or_else(invalid)?,
        };
        if provider.is_empty() || location.is_empty() || id.is_empty() || id.contains('/') || (path && id.contains(':'))
        {
            return Err(invalid());
        }
        Ok(Self::new(provider, location, id))
    }
}

/// What the neutral layer knows about an instance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// The scoped id.
    pub id: InstanceId,
    /// The neutral state.
    pub state: InstanceState,
    /// The provider's state name (`shutting-down`, `running`, …).
    pub raw_state: String,
    /// The size / instance type.
    pub size: Option<String>,
    /// The image it was created from.
    pub image: Option<String>,
    /// Private IP address.
    pub private_ip: Option<String>,
    /// Public IP address.
    pub public_ip: Option<String>,
    /// Launch time.
    pub launch_time: Option<SystemTime>,
    /// Tags / labels.
    pub tags: BTreeMap<String, String>,
}

/// Which instances to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstanceFilter {
    /// Only instances in one of these states (empty: any).
    pub states: Vec<InstanceState>,
    /// Only instances carrying all these tags.
    pub tags: BTreeMap<String, String>,
}

impl InstanceFilter {
    /// Adds a state.
    pub fn state(mut self, state: InstanceState) -> Self {
        self.states.push(state);
        self
    }

    /// Adds a required tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Whether `instance` passes the filter.
    pub fn matches(&self, instance: &Instance) -> bool {
        (self.states.is_empty() || self.states.contains(&instance.state))
            && self.tags.iter().all(|(k, v)| instance.tags.get(k) == Some(v))
    }
}

/// What to create. `Debug` shows the user data's length, never its content (startup scripts
/// carry passwords and keys).
#[derive(Clone, PartialEq, Eq)]
pub struct CreateInstances {
    /// The image (AMI id, image name, …).
    pub image: String,
    /// The size (instance type, machine type, …).
    pub size: String,
    /// How many (at least 1).
    pub count: u32,
    /// Tags to set at creation.
    pub tags: BTreeMap<String, String>,
    /// SSH key name.
    pub key_name: Option<String>,
    /// User data (cloud-init), raw bytes (providers encode it as they need).
    pub user_data: Option<Vec<u8>>,
}

impl fmt::Debug for CreateInstances {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreateInstances")
            .field("image", &self.image)
            .field("size", &self.size)
            .field("count", &self.count)
            .field("tags", &self.tags)
            .field("key_name", &self.key_name)
            .field("user_data", &self.user_data.as_ref().map(|d| format!("<{} bytes, redacted>", d.len())))
            .finish()
    }
}

impl CreateInstances {
    /// `count` = 1 instance of `size` from `image`.
    pub fn new(image: impl Into<String>, size: impl Into<String>) -> Self {
        Self {
            image: image.into(),
            size: size.into(),
            count: 1,
            tags: BTreeMap::new(),
            key_name: None,
            user_data: None,
        }
    }

    /// How many.
    pub fn count(mut self, count: u32) -> Self {
        self.count = count;
        self
    }

    /// Adds a tag.
    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.insert(key.into(), value.into());
        self
    }

    /// Sets the SSH key name.
    pub fn key_name(mut self, key_name: impl Into<String>) -> Self {
        self.key_name = Some(key_name.into());
        self
    }

    /// Sets the user data.
    pub fn user_data(mut self, user_data: impl Into<Vec<u8>>) -> Self {
        self.user_data = Some(user_data.into());
        self
    }

    /// Rejects requests no provider accepts.
    pub fn validate(&self) -> Result<()> {
        if self.count == 0 {
            return Err(Error::InvalidInput { message: "count must be at least 1".into() });
        }
        if self.image.trim().is_empty() || self.size.trim().is_empty() {
            return Err(Error::InvalidInput { message: "image and size are required".into() });
        }
        Ok(())
    }
}

crate::store::error::neutral_error! {
    /// Errors of the compute API.
    #[derive(Debug)]
    #[non_exhaustive]
    pub enum Error for provider {
        /// The instance does not exist.
        NotFound {
            /// The id.
            id: String,
            /// The provider's error.
            source: Option<BoxError>,
        },
        /// The instance is in a state that does not allow the action.
        InvalidState {
            /// The id.
            id: String,
            /// Its state.
            state: InstanceState,
            /// The refused action.
            action: &'static str,
        },
        /// While waiting, the instance reached a state from which the target cannot be reached.
        WaitFailed {
            /// The id of the instance waited for.
            id: String,
            /// The awaited state.
            target: InstanceState,
            /// The state reached (`Unknown` when the last poll failed).
            reached: InstanceState,
            /// The error of the last poll, when that failed (the provider's error; its text is
            /// part of `Display`).
            last_error: Option<BoxError>,
        },
        /// The deadline passed before the instance reached the state.
        Timeout {
            /// The id of the instance waited for.
            id: String,
            /// The awaited state.
            target: InstanceState,
            /// The last state seen (`Unknown` when the last poll failed).
            last: InstanceState,
            /// How long it waited.
            waited: Duration,
            /// The error of the last poll, when that failed (`InvalidInstanceID.NotFound` while
            /// EC2 does not know a new instance yet, a 403, …; the provider's error, its text is
            /// part of `Display`).
            last_error: Option<BoxError>,
        },
        /// The provider has no such capacity right now.
        InsufficientCapacity {
            /// The provider's message.
            message: String,
        },
    }
    fn fmt(&self, f) {
        Self::NotFound { id, .. } => write!(f, "instance not found: {id}"),
        Self::InvalidState { id, state, action } => write!(f, "instance {id} is {state}: cannot {action}"),
        Self::WaitFailed { id, target, reached, last_error } => {
            write!(f, "waiting for instance {id} to be {target} failed: ")?;
            match last_error {
                Some(e) => write!(f, "{e}"),
                None => write!(f, "it is {reached}"),
            }
        }
        Self::Timeout { id, target, last, waited, last_error } => {
            write!(f, "waiting for instance {id} to be {target} timed out after {waited:?}")?;
            match last_error {
                Some(e) => write!(f, "; last error: {e}"),
                None => write!(f, "; it is still {last}"),
            }
        }
        Self::InsufficientCapacity { message } => write!(f, "insufficient capacity: {message}"),
    }
    sources: [NotFound.source, WaitFailed.last_error, Timeout.last_error],
    required_sources: [],
}

/// A `Result` with the compute [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A provider's virtual machines behind one object-safe trait (`Arc<dyn Compute>`).
///
/// Contract: `start` on a running and `stop` on a stopped instance succeed without change;
/// actions on a terminated instance are [`Error::InvalidState`]; `wait_for_state` fails fast when
/// the target is ruled out (see [`InstanceState::rules_out`]).
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Compute: Send + Sync + fmt::Debug + 'static {
    /// The provider's name.
    fn provider(&self) -> &'static str;

    /// Every instance matching `filter`, across pages.
    fn list_instances(&self, filter: InstanceFilter) -> BoxStream<'static, Result<Instance>>;

    /// One instance.
    async fn get_instance(&self, id: &InstanceId) -> Result<Instance>;

    /// Creates instances; returns them as first reported (usually pending).
    async fn create_instances(&self, request: CreateInstances) -> Result<Vec<Instance>>;

    /// Starts a stopped instance.
    async fn start(&self, id: &InstanceId) -> Result<()>;

    /// Stops a running instance.
    async fn stop(&self, id: &InstanceId) -> Result<()>;

    /// Reboots a running instance.
    async fn reboot(&self, id: &InstanceId) -> Result<()>;

    /// Terminates (deletes) an instance.
    async fn terminate(&self, id: &InstanceId) -> Result<()>;

    /// Polls until the instance is in `target`, failing fast when `target` is ruled out and
    /// timing out after `max_wait`.
    async fn wait_for_state(&self, id: &InstanceId, target: InstanceState, max_wait: Duration) -> Result<Instance>;
}

/// The neutral error of a provider waiter that ended without success: the state reached (from the
/// last poll, `state_of`) and, when that poll failed, its error, when a failure state matched or
/// the deadline passed; the provider's own error (`map`) when a poll failed with an error no
/// acceptor knows. Every backend's `wait_for_state` ends here.
pub(crate) fn wait_error<T, E: std::error::Error + Send + Sync + 'static>(
    id: &InstanceId,
    target: InstanceState,
    max_wait: Duration,
    error: cloudkit_waiter::WaiterError<T, E>,
    state_of: impl Fn(&std::result::Result<T, E>) -> InstanceState,
    map: impl FnOnce(E) -> Error,
) -> Error {
    use cloudkit_waiter::WaiterError;
    let last_error = |last: std::result::Result<T, E>| last.err().map(|e| Box::new(e) as BoxError);
    match error {
        WaiterError::FailureState { last, .. } => {
            Error::WaitFailed { id: id.to_string(), target, reached: state_of(&last), last_error: last_error(last) }
        }
        WaiterError::Timeout { last, .. } | WaiterError::MaxAttemptsExceeded { last, .. } => Error::Timeout {
            id: id.to_string(),
            target,
            last: state_of(&last),
            waited: max_wait,
            last_error: last_error(last),
        },
        WaiterError::UnexpectedError { source, .. } => map(source),
        other => Error::InvalidInput { message: other.to_string() },
    }
}

/// `instances` without those `filter` rejects: what a provider cannot filter itself (tags, states
/// it has no name for) is filtered here, with the neutral filter's rules.
#[cfg(any(feature = "aws-ec2", feature = "azure-arm", feature = "gcp-compute"))]
pub(crate) fn keep_matching(
    instances: impl futures::Stream<Item = Result<Instance>> + Send + 'static,
    filter: InstanceFilter,
) -> BoxStream<'static, Result<Instance>> {
    use futures::{StreamExt, TryStreamExt};
    instances.try_filter(move |i| futures::future::ready(filter.matches(i))).boxed()
}

/// How a neutral wait polls: first after `min_delay`, backing off (jittered) up to 30 s, or
/// `min_delay` if that is longer, until `max_wait`, with no limit on the number of polls.
pub(crate) fn poll_config(min_delay: Duration, max_wait: Duration) -> cloudkit_waiter::WaiterConfig {
    cloudkit_waiter::WaiterConfig::new(min_delay, Duration::from_secs(30).max(min_delay), max_wait)
}

/// A generic `wait_for_state` on top of `get_instance`, with the waiter crate's jittered backoff
/// (`min_delay` .. 30 s). Backends without a native waiter use it.
pub async fn poll_for_state<C: Compute + ?Sized>(
    compute: &C,
    id: &InstanceId,
    target: InstanceState,
    max_wait: Duration,
    min_delay: Duration,
) -> Result<Instance> {
    use cloudkit_waiter::{Acceptor, AcceptorState, Waiter};
    let acceptors = vec![
        Acceptor::output(AcceptorState::Success, "reached the target state", move |i: &Instance| i.state == target),
        Acceptor::output(AcceptorState::Failure, "target state ruled out", move |i: &Instance| {
            i.state.rules_out(target)
        }),
    ];
    let config = poll_config(min_delay, max_wait);
    let state_of = |last: &Result<Instance>| last.as_ref().map(|i| i.state).unwrap_or(InstanceState::Unknown);
    let waiter = Waiter::new(format!("Instance{target:?}"), config, acceptors).resource(format!("instance {id}"));
    match waiter.wait(|| compute.get_instance(id)).await {
        Ok(done) => done.into_result(),
        Err(e) => Err(wait_error(id, target, max_wait, e, state_of, |source| source)),
    }
}
