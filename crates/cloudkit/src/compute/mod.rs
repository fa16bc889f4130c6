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
        let s = match self {
            InstanceState::Pending => "pending",
            InstanceState::Running => "running",
            InstanceState::Stopping => "stopping",
            InstanceState::Stopped => "stopped",
            InstanceState::Terminating => "terminating",
            InstanceState::Terminated => "terminated",
            InstanceState::Unknown => "unknown",
        };
        f.write_str(s)
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

/// Errors of the compute API.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The instance does not exist.
    NotFound {
        /// The id.
        id: String,
        /// The provider's error.
        source: Option<BoxError>,
    },
    /// The input was rejected.
    InvalidInput {
        /// What is wrong.
        message: String,
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
        /// The id.
        id: String,
        /// The awaited state.
        target: InstanceState,
        /// The state reached.
        reached: InstanceState,
    },
    /// The deadline passed before the instance reached the state.
    Timeout {
        /// The id.
        id: String,
        /// The awaited state.
        target: InstanceState,
        /// The last state seen.
        last: InstanceState,
        /// How long it waited.
        waited: Duration,
    },
    /// Not allowed.
    PermissionDenied {
        /// What was refused.
        message: String,
        /// The provider's error.
        source: Option<BoxError>,
    },
    /// Credentials missing or invalid.
    Unauthenticated {
        /// What failed.
        message: String,
        /// The provider's error.
        source: Option<BoxError>,
    },
    /// Rate-limited after retries.
    Throttled {
        /// The provider's error.
        source: Option<BoxError>,
    },
    /// The provider has no such capacity right now.
    InsufficientCapacity {
        /// The provider's message.
        message: String,
    },
    /// The provider cannot do this.
    NotSupported {
        /// The operation.
        operation: &'static str,
        /// The provider.
        provider: &'static str,
    },
    /// Any other provider failure (the source keeps status, code and request id).
    Provider {
        /// The provider.
        provider: &'static str,
        /// The provider's error.
        source: BoxError,
    },
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotFound { id, .. } => write!(f, "instance not found: {id}"),
            Self::InvalidInput { message } => write!(f, "invalid input: {message}"),
            Self::InvalidState { id, state, action } => write!(f, "instance {id} is {state}: cannot {action}"),
            Self::WaitFailed { id, target, reached } => {
                write!(f, "instance {id} reached {reached} while waiting for {target}")
            }
            Self::Timeout { id, target, last, waited } => {
                write!(f, "instance {id} still {last} after {waited:?} waiting for {target}")
            }
            Self::PermissionDenied { message, .. } => write!(f, "permission denied: {message}"),
            Self::Unauthenticated { message, .. } => write!(f, "unauthenticated: {message}"),
            Self::Throttled { .. } => write!(f, "throttled by the provider"),
            Self::InsufficientCapacity { message } => write!(f, "insufficient capacity: {message}"),
            Self::NotSupported { operation, provider } => write!(f, "{provider} does not support {operation}"),
            Self::Provider { provider, source } => write!(f, "{provider} error: {source}"),
        }
    }
}

/// The wrapped error is the source unless `Display` already printed its text (then the first
/// layer below it that was not printed: [`cloudkit_core::unshown_source`]), so an error-chain
/// printer shows each text once. The variants' `source` fields keep the provider's error.
impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let shown = self.to_string();
        match self {
            Self::NotFound { source, .. }
            | Self::PermissionDenied { source, .. }
            | Self::Unauthenticated { source, .. }
            | Self::Throttled { source, .. } => crate::store::error::unshown(&shown, source.as_ref()),
            Self::Provider { source, .. } => crate::store::error::unshown(&shown, Some(source)),
            _ => None,
        }
    }
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
/// last poll, `state_of`) when a failure state matched or the deadline passed, the provider's own
/// error (`map`) when a poll failed. Every backend's `wait_for_state` ends here.
pub(crate) fn wait_error<T, E: fmt::Display>(
    id: &InstanceId,
    target: InstanceState,
    max_wait: Duration,
    error: cloudkit_waiter::WaiterError<T, E>,
    state_of: impl Fn(&std::result::Result<T, E>) -> InstanceState,
    map: impl FnOnce(E) -> Error,
) -> Error {
    use cloudkit_waiter::WaiterError;
    match error {
        WaiterError::FailureState { last, .. } => {
            Error::WaitFailed { id: id.to_string(), target, reached: state_of(&last) }
        }
        WaiterError::Timeout { last, .. } | WaiterError::MaxAttemptsExceeded { last, .. } => {
            Error::Timeout { id: id.to_string(), target, last: state_of(&last), waited: max_wait }
        }
        WaiterError::UnexpectedError { source, .. } => map(source),
        other => Error::InvalidInput { message: other.to_string() },
    }
}

/// What `wait_for_state(id, Terminated)` returns once a provider answers that the instance is gone
/// (Azure and Compute Engine forget deleted instances; EC2 lists them as terminated for a while).
#[cfg(any(feature = "azure-arm", feature = "gcp-compute"))]
pub(crate) fn gone(id: &InstanceId, raw_state: &str) -> Instance {
    Instance {
        id: id.clone(),
        state: InstanceState::Terminated,
        raw_state: raw_state.to_owned(),
        size: None,
        image: None,
        private_ip: None,
        public_ip: None,
        launch_time: None,
        tags: BTreeMap::new(),
    }
}

/// The place and name of an id whose location is `<owner>/<place>` (Azure:
/// `<subscription>/<resourceGroup>`, Compute Engine: `<project>/<zone>`), refusing, as
/// `InvalidInput`, ids of another provider, another owner, or another place when the backend is
/// bound to one. `ignore_case` compares owner and place without case (Azure names).
#[cfg(any(feature = "azure-arm", feature = "gcp-compute"))]
pub(crate) fn path_scoped_id<'a>(
    id: &'a InstanceId,
    provider: &str,
    owner: &str,
    place: Option<&str>,
    ignore_case: bool,
) -> Result<(&'a str, &'a str)> {
    let same = |a: &str, b: &str| if ignore_case { a.eq_ignore_ascii_case(b) } else { a == b };
    let foreign = || Error::InvalidInput {
        message: format!("{id} does not belong to {provider}:{owner}/{}", place.unwrap_or("*")),
    };
    if id.provider != provider {
        return Err(foreign());
    }
    let (id_owner, id_place) = id.location.split_once('/').ok_or_else(foreign)?;
    let in_scope = same(id_owner, owner)
        && !id_place.is_empty()
        && !id_place.contains('/')
        && place.is_none_or(|p| same(p, id_place));
    if !in_scope {
        return Err(foreign());
    }
    Ok((id_place, &id.id))
}

/// `current` unless it is being deleted or gone: then the action is refused as `InvalidState`.
#[cfg(any(feature = "azure-arm", feature = "gcp-compute"))]
pub(crate) fn refuse_if_going(current: Instance, id: &InstanceId, action: &'static str) -> Result<Instance> {
    if matches!(current.state, InstanceState::Terminating | InstanceState::Terminated) {
        return Err(Error::InvalidState { id: id.to_string(), state: current.state, action });
    }
    Ok(current)
}

/// The neutral error of a provider error no backend-specific rule matched: credentials and
/// signing failures are `Unauthenticated`, rejected input `InvalidInput`, the rest `Provider`.
#[cfg(any(feature = "azure-arm", feature = "gcp-compute"))]
pub(crate) fn unmatched<E: cloudkit_core::ServiceError>(provider: &'static str, action: &'static str, e: E) -> Error {
    use cloudkit_core::ErrorKind;
    match e.core().map(cloudkit_core::Error::kind) {
        Some(ErrorKind::Credentials | ErrorKind::Signing) => {
            Error::Unauthenticated { message: action.to_owned(), source: Some(Box::new(e)) }
        }
        Some(ErrorKind::InvalidInput) => Error::InvalidInput { message: e.to_string() },
        _ => Error::Provider { provider, source: Box::new(e) },
    }
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
    use cloudkit_waiter::{Acceptor, AcceptorState, Waiter, WaiterConfig};
    let acceptors = vec![
        Acceptor::output(AcceptorState::Success, "reached the target state", move |i: &Instance| i.state == target),
        Acceptor::output(AcceptorState::Failure, "target state ruled out", move |i: &Instance| {
            i.state.rules_out(target)
        }),
    ];
    let max_delay = Duration::from_secs(30).max(min_delay);
    let config = WaiterConfig::new(min_delay, max_delay, max_wait);
    let state_of = |last: &Result<Instance>| last.as_ref().map(|i| i.state).unwrap_or(InstanceState::Unknown);
    let waiter = Waiter::new(format!("Instance{target:?}"), config, acceptors).resource(format!("instance {id}"));
    match waiter.wait(|| compute.get_instance(id)).await {
        Ok(done) => done.into_result(),
        Err(e) => Err(wait_error(id, target, max_wait, e, state_of, |source| source)),
    }
}
