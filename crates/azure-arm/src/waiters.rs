//! Virtual-machine waiters on the instance view (`VirtualMachines_InstanceView`), with the
//! vocabulary of the EC2 waiters.
//!
//! | waiter | success | failure | retry | delay, attempts |
//! |---|---|---|---|---|
//! | `wait_until_running` (`VirtualMachineRunning`) | `PowerState/running` | `ProvisioningState/failed`, `PowerState/deallocated` | anything else | 15 s, 40 |
//! | `wait_until_stopped` (`VirtualMachineStopped`) | `PowerState/stopped` | `ProvisioningState/failed` | anything else | 15 s, 40 |
//! | `wait_until_deallocated` (`VirtualMachineDeallocated`) | `PowerState/deallocated` | `ProvisioningState/failed` | anything else | 15 s, 40 |
//! | `wait_until_deleted` (`VirtualMachineDeleted`) | a 404 (`ResourceNotFound`, `NotFound`, `ResourceGroupNotFound`) | — | the VM still answers | 15 s, 40 |
//!
//! A `deallocated` VM fails `wait_until_running` at once: it does not start by itself. Between
//! polls the delay follows the Smithy backoff (first retry after 15 s, jittered doubling up to
//! 120 s); the wait ends after 40 polls or at the deadline (`max_wait`, 10 minutes), whichever
//! comes first. An error no acceptor matches ends the wait. Everything is overridable per call.
//!
//! ```no_run
//! # async fn demo(rm: cloudkit_azure_arm::ArmClient) -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! let vms = rm.virtual_machines();
//! vms.start("my-rg", "my-vm").begin().await?; // do not wait for the operation…
//! let done = vms.wait_until_running("my-rg", "my-vm").max_wait(Duration::from_secs(300)).wait().await?; // …but for the state
//! println!("running after {} polls", done.attempts);
//! # Ok(()) }
//! ```

use std::time::Duration;

use cloudkit_waiter::{Acceptor, AcceptorState, Waiter};
/// Re-exports of the waiter types that appear in this module's API.
pub use cloudkit_waiter::{FinalPoll, WaiterConfig, WaiterError};

use crate::error::ArmError;
use crate::model::{PowerState, VirtualMachineInstanceView};
use crate::virtual_machines::VirtualMachines;

/// The error of a VM wait that did not succeed.
pub type ArmWaiterError = WaiterError<VirtualMachineInstanceView, ArmError>;

/// The longest delay between two polls.
pub const MAX_DELAY: Duration = Duration::from_secs(120);

/// The number of attempts of every VM waiter.
pub const MAX_ATTEMPTS: u32 = 40;

/// The official delay of the VM waiters.
pub const DELAY: Duration = Duration::from_secs(15);

/// The default configuration: first retry after `delay`, jittered doubling up to [`MAX_DELAY`],
/// at most [`MAX_ATTEMPTS`] polls, deadline `delay × 40`.
pub fn default_config(delay: Duration) -> WaiterConfig {
    WaiterConfig::polling(delay, MAX_DELAY, MAX_ATTEMPTS)
}

/// Which VM waiter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum VmWaiterKind {
    /// `VirtualMachineRunning`.
    Running,
    /// `VirtualMachineStopped`.
    Stopped,
    /// `VirtualMachineDeallocated`.
    Deallocated,
    /// `VirtualMachineDeleted`.
    Deleted,
}

type VmAcceptor = Acceptor<VirtualMachineInstanceView, ArmError>;

fn power_is(state: AcceptorState, power: PowerState) -> VmAcceptor {
    let description = format!("the power state is {power}");
    Acceptor::output(state, description, move |v: &VirtualMachineInstanceView| v.power_state().as_ref() == Some(&power))
}

fn provisioning_failed() -> VmAcceptor {
    Acceptor::output(AcceptorState::Failure, "the provisioning state is failed", |v: &VirtualMachineInstanceView| {
        v.provisioning_state().is_some_and(|s| s.eq_ignore_ascii_case("failed"))
    })
}

impl VmWaiterKind {
    /// The waiter's name, as in errors.
    pub fn name(self) -> &'static str {
        match self {
            Self::Running => "VirtualMachineRunning",
            Self::Stopped => "VirtualMachineStopped",
            Self::Deallocated => "VirtualMachineDeallocated",
            Self::Deleted => "VirtualMachineDeleted",
        }
    }

    /// The acceptors, in order.
    pub fn acceptors(self) -> Vec<VmAcceptor> {
        match self {
            Self::Running => vec![
                power_is(AcceptorState::Success, PowerState::Running),
                provisioning_failed(),
                power_is(AcceptorState::Failure, PowerState::Deallocated),
            ],
            Self::Stopped => vec![power_is(AcceptorState::Success, PowerState::Stopped), provisioning_failed()],
            Self::Deallocated => vec![power_is(AcceptorState::Success, PowerState::Deallocated), provisioning_failed()],
            Self::Deleted => vec![
                Acceptor::error(AcceptorState::Success, "the virtual machine is gone (404)", |e: &ArmError| {
                    e.is_not_found()
                }),
                Acceptor::output(
                    AcceptorState::Retry,
                    "the virtual machine still exists",
                    |_: &VirtualMachineInstanceView| true,
                ),
            ],
        }
    }
}

/// A VM waiter ([`VirtualMachines::wait_until_running`] and friends).
#[derive(Clone, Debug)]
#[must_use = "call .wait()"]
pub struct VmWaiter {
    vms: VirtualMachines,
    resource_group: String,
    name: String,
    kind: VmWaiterKind,
    config: WaiterConfig,
    seed: Option<u64>,
}

impl VmWaiter {
    cloudkit_waiter::waiter_settings!(seed);

    /// Polls the instance view until the acceptors say success or failure, or the budget runs
    /// out. For `wait_until_deleted` the final poll's result is the 404 error.
    pub async fn wait(self) -> Result<FinalPoll<VirtualMachineInstanceView, ArmError>, ArmWaiterError> {
        let resource = format!("virtual machine {}/{}", self.resource_group, self.name);
        let waiter = Waiter::new(self.kind.name(), self.config, self.kind.acceptors())
            .resource(resource)
            .with_optional_seed(self.seed);
        let (vms, rg, name) = (self.vms, self.resource_group, self.name);
        waiter.wait(|| vms.instance_view(rg.clone(), name.clone()).send()).await
    }
}

impl VirtualMachines {
    fn waiter(&self, kind: VmWaiterKind, resource_group: String, name: String) -> VmWaiter {
        VmWaiter { vms: self.clone(), resource_group, name, kind, config: default_config(DELAY), seed: None }
    }

    /// Waits until the VM's power state is `running`; fails on a failed provisioning state or a
    /// `deallocated` VM (15 s, 40 attempts).
    pub fn wait_until_running(&self, resource_group: impl Into<String>, name: impl Into<String>) -> VmWaiter {
        self.waiter(VmWaiterKind::Running, resource_group.into(), name.into())
    }

    /// Waits until the VM's power state is `stopped` (powered off, still allocated) (15 s, 40).
    pub fn wait_until_stopped(&self, resource_group: impl Into<String>, name: impl Into<String>) -> VmWaiter {
        self.waiter(VmWaiterKind::Stopped, resource_group.into(), name.into())
    }

    /// Waits until the VM's power state is `deallocated` (15 s, 40).
    pub fn wait_until_deallocated(&self, resource_group: impl Into<String>, name: impl Into<String>) -> VmWaiter {
        self.waiter(VmWaiterKind::Deallocated, resource_group.into(), name.into())
    }

    /// Waits until the VM answers 404 (15 s, 40).
    pub fn wait_until_deleted(&self, resource_group: impl Into<String>, name: impl Into<String>) -> VmWaiter {
        self.waiter(VmWaiterKind::Deleted, resource_group.into(), name.into())
    }
}
