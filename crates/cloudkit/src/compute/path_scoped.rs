//! What the backends whose instance ids are `<provider>:<owner>/<place>/<name>` share: Azure
//! (subscription, resource group) and Compute Engine (project, zone). Both providers forget a
//! deleted instance (a 404), both wait for deletion with the provider's own waiter and for any
//! other state by polling, and both map errors by status.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use cloudkit_core::{BoxError, ErrorKind, ServiceError};
use cloudkit_waiter::{FinalPoll, WaiterError};

use super::{Compute, Error, Instance, InstanceId, InstanceState, Result};

/// Where a backend works — its owner (subscription, project) and, when bound to one, its place
/// (resource group, zone) — and how often it polls while waiting.
#[derive(Clone, Debug)]
pub(crate) struct PathScope {
    provider: &'static str,
    owner: String,
    place: Option<String>,
    /// Whether owner and place compare without case (Azure names).
    ignore_case: bool,
    /// The first delay between the polls of `wait_for_state` (the backoff grows it up to 30 s).
    pub(crate) poll_interval: Duration,
}

impl PathScope {
    /// The scope of `provider` on `owner`, bound to `place` or (`None`) to none; polling every 5 s
    /// at first.
    pub(crate) fn new(provider: &'static str, owner: String, place: Option<&str>, ignore_case: bool) -> Self {
        Self { provider, owner, place: place.map(str::to_owned), ignore_case, poll_interval: Duration::from_secs(5) }
    }

    /// The place the backend is bound to.
    pub(crate) fn place(&self) -> Option<&str> {
        self.place.as_deref()
    }

    /// The place new instances go to: the bound one, else `InvalidInput` saying `how` to give one.
    pub(crate) fn place_to_create(&self, how: &str) -> Result<String> {
        self.place.clone().ok_or_else(|| Error::InvalidInput { message: how.to_owned() })
    }

    /// The id of `name` in `place`.
    pub(crate) fn id(&self, place: &str, name: impl Into<String>) -> InstanceId {
        InstanceId::new(self.provider, format!("{}/{place}", self.owner), name)
    }

    /// The id a listing's errors name: every instance of the scope (`<owner>/<place or *>/*`).
    pub(crate) fn listing_id(&self) -> InstanceId {
        self.id(self.place().unwrap_or("*"), "*")
    }

    /// The place and name of `id`, refusing, as `InvalidInput`, ids of another provider, another
    /// owner, or another place when the backend is bound to one.
    pub(crate) fn check<'a>(&self, id: &'a InstanceId) -> Result<(&'a str, &'a str)> {
        let same = |a: &str, b: &str| if self.ignore_case { a.eq_ignore_ascii_case(b) } else { a == b };
        let foreign = || Error::InvalidInput {
            message: format!(
                "{id} does not belong to {}:{}/{}",
                self.provider,
                self.owner,
                self.place().unwrap_or("*")
            ),
        };
        if id.provider != self.provider {
            return Err(foreign());
        }
        let (id_owner, id_place) = id.location.split_once('/').ok_or_else(foreign)?;
        let in_scope = same(id_owner, &self.owner)
            && !id_place.is_empty()
            && !id_place.contains('/')
            && self.place().is_none_or(|p| same(p, id_place));
        if !in_scope {
            return Err(foreign());
        }
        Ok((id_place, &id.id))
    }

    /// `wait_for_state`: `Terminated` is `deleted` (the provider's deletion waiter, ended with
    /// [`deleted_or_error`]), any other state [`poll_for_state`](super::poll_for_state) on
    /// `get_instance`.
    pub(crate) async fn wait_for_state<C: Compute>(
        &self,
        compute: &C,
        id: &InstanceId,
        target: InstanceState,
        max_wait: Duration,
        deleted: impl Future<Output = Result<Instance>>,
    ) -> Result<Instance> {
        self.check(id)?;
        if target == InstanceState::Terminated {
            return deleted.await;
        }
        super::poll_for_state(compute, id, target, max_wait, self.poll_interval).await
    }
}

/// How the provider's deletion waiter on `id` ends `wait_for_state(id, Terminated)`: when it
/// succeeds (`outcome`), the instance is gone, with the provider's word for that (`gone_state`)
/// as its raw state; when it fails, the neutral error of [`wait_error`](super::wait_error)
/// (`state_of` and `map` as there).
pub(crate) fn deleted_or_error<T, E: std::error::Error + Send + Sync + 'static>(
    id: &InstanceId,
    max_wait: Duration,
    gone_state: &str,
    outcome: std::result::Result<FinalPoll<T, E>, WaiterError<T, E>>,
    state_of: impl Fn(&std::result::Result<T, E>) -> InstanceState,
    map: impl FnOnce(E) -> Error,
) -> Result<Instance> {
    let error = match outcome {
        Ok(_) => return Ok(gone(id, gone_state)),
        Err(e) => e,
    };
    Err(super::wait_error(id, InstanceState::Terminated, max_wait, error, state_of, map))
}

/// An instance the provider says is gone.
fn gone(id: &InstanceId, raw_state: &str) -> Instance {
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

/// `current` unless it is being deleted or gone: then the action is refused as `InvalidState`.
pub(crate) fn refuse_if_going(current: Instance, id: &InstanceId, action: &'static str) -> Result<Instance> {
    if matches!(current.state, InstanceState::Terminating | InstanceState::Terminated) {
        return Err(Error::InvalidState { id: id.to_string(), state: current.state, action });
    }
    Ok(current)
}

/// The neutral error of a provider client's error on `id` during `action`, from what its core
/// error says (kind, status, throttling), as the stores map theirs: throttling is `Throttled`,
/// credentials and signing failures and 401 `Unauthenticated`, 403 `PermissionDenied`, 404
/// `NotFound`, rejected input `InvalidInput`, the rest `Provider`. Each backend handles first the
/// codes whose meaning the status does not carry (Compute Engine's `quotaExceeded` is a 403; a 409
/// is a conflicting operation on Azure, a name already taken on Compute Engine).
pub(crate) fn from_service_error<E: ServiceError>(
    provider: &'static str,
    id: &InstanceId,
    action: &'static str,
    e: E,
) -> Error {
    let kind = e.core().map(cloudkit_core::Error::kind);
    let status = e.core().and_then(cloudkit_core::Error::status).map(|s| s.as_u16());
    if kind == Some(ErrorKind::InvalidInput) {
        return Error::InvalidInput { message: e.to_string() };
    }
    let throttling = e.is_throttling();
    let source: BoxError = Box::new(e);
    match (kind, status) {
        _ if throttling => Error::Throttled { source: Some(source) },
        (Some(ErrorKind::Credentials | ErrorKind::Signing), _) | (_, Some(401)) => {
            Error::Unauthenticated { message: action.to_owned(), source: Some(source) }
        }
        (_, Some(403)) => Error::PermissionDenied { message: action.to_owned(), source: Some(source) },
        (_, Some(404)) => Error::NotFound { id: id.to_string(), source: Some(source) },
        _ => Error::Provider { provider, source },
    }
}
