//! An in-process [`Compute`] with a strict state machine, for tests and demos.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;

use super::{Compute, CreateInstances, Error, Instance, InstanceFilter, InstanceId, InstanceState, Result};

const PROVIDER: &str = "memory";

/// Instances held in memory. Transitional states (pending, stopping, terminating) advance one step
/// each time the instance is read, so waiting code sees real transitions; invalid actions (starting
/// a terminated instance, rebooting a stopped one) are [`Error::InvalidState`], as on a real cloud.
#[derive(Clone, Debug)]
pub struct InMemoryCompute {
    location: String,
    instances: Arc<Mutex<BTreeMap<String, Instance>>>,
    next_id: Arc<std::sync::atomic::AtomicU64>,
}

impl InMemoryCompute {
    /// An empty "region" named `location`.
    pub fn new(location: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            instances: Arc::new(Mutex::new(BTreeMap::new())),
            next_id: Arc::new(std::sync::atomic::AtomicU64::new(1)),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Instance>> {
        self.instances.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_id(&self, id: &InstanceId) -> Result<()> {
        if id.provider != PROVIDER || id.location != self.location {
            return Err(Error::InvalidInput {
                message: format!("{id} does not belong to {PROVIDER}:{}", self.location),
            });
        }
        Ok(())
    }

    fn advance(instance: &mut Instance) {
        let next = match instance.state {
            InstanceState::Pending => InstanceState::Running,
            InstanceState::Stopping => InstanceState::Stopped,
            InstanceState::Terminating => InstanceState::Terminated,
            other => other,
        };
        set_state(instance, next);
    }

    fn act(
        &self,
        id: &InstanceId,
        action: &'static str,
        f: fn(InstanceState) -> Option<Option<InstanceState>>,
    ) -> Result<()> {
        self.check_id(id)?;
        let mut instances = self.lock();
        let instance = instances.get_mut(&id.id).ok_or_else(|| Error::NotFound { id: id.to_string(), source: None })?;
        match f(instance.state) {
            Some(Some(next)) => {
                set_state(instance, next);
                Ok(())
            }
            Some(None) => Ok(()),
            None => Err(Error::InvalidState { id: id.to_string(), state: instance.state, action }),
        }
    }
}

fn set_state(instance: &mut Instance, state: InstanceState) {
    instance.state = state;
    instance.raw_state = state.to_string();
}

#[async_trait]
impl Compute for InMemoryCompute {
    fn provider(&self) -> &'static str {
        PROVIDER
    }

    fn list_instances(&self, filter: InstanceFilter) -> BoxStream<'static, Result<Instance>> {
        let items: Vec<Result<Instance>> = {
            let mut instances = self.lock();
            instances
                .values_mut()
                .map(|i| {
                    Self::advance(i);
                    i.clone()
                })
                .filter(|i| filter.matches(i))
                .map(Ok)
                .collect()
        };
        futures::stream::iter(items).boxed()
    }

    async fn get_instance(&self, id: &InstanceId) -> Result<Instance> {
        self.check_id(id)?;
        let mut instances = self.lock();
        let instance = instances.get_mut(&id.id).ok_or_else(|| Error::NotFound { id: id.to_string(), source: None })?;
        let seen = instance.clone();
        Self::advance(instance);
        Ok(seen)
    }

    async fn create_instances(&self, request: CreateInstances) -> Result<Vec<Instance>> {
        request.validate()?;
        let mut created = Vec::new();
        let mut instances = self.lock();
        for _ in 0..request.count {
            let n = self.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let raw_id = format!("vm-{n:08x}");
            let instance = Instance {
                id: InstanceId::new(PROVIDER, self.location.clone(), raw_id.clone()),
                state: InstanceState::Pending,
                raw_state: "pending".into(),
                size: Some(request.size.clone()),
                image: Some(request.image.clone()),
                private_ip: Some(format!("10.0.{}.{}", (n >> 8) & 0xff, n & 0xff)),
                public_ip: None,
                launch_time: Some(SystemTime::now()),
                tags: request.tags.clone(),
            };
            instances.insert(raw_id, instance.clone());
            created.push(instance);
        }
        Ok(created)
    }

    async fn start(&self, id: &InstanceId) -> Result<()> {
        self.act(id, "start", |s| match s {
            InstanceState::Stopped => Some(Some(InstanceState::Pending)),
            InstanceState::Running | InstanceState::Pending => Some(None),
            _ => None,
        })
    }

    async fn stop(&self, id: &InstanceId) -> Result<()> {
        self.act(id, "stop", |s| match s {
            InstanceState::Running | InstanceState::Pending => Some(Some(InstanceState::Stopping)),
            InstanceState::Stopped | InstanceState::Stopping => Some(None),
            _ => None,
        })
    }

    async fn reboot(&self, id: &InstanceId) -> Result<()> {
        self.act(id, "reboot", |s| match s {
            InstanceState::Running => Some(None),
            _ => None,
        })
    }

    async fn terminate(&self, id: &InstanceId) -> Result<()> {
        self.act(id, "terminate", |s| match s {
            InstanceState::Terminated | InstanceState::Terminating => Some(None),
            _ => Some(Some(InstanceState::Terminating)),
        })
    }

    async fn wait_for_state(&self, id: &InstanceId, target: InstanceState, max_wait: Duration) -> Result<Instance> {
        super::poll_for_state(self, id, target, max_wait, Duration::from_millis(1)).await
    }
}

#[cfg(test)]
mod tests {
    use futures::TryStreamExt;

    use super::*;

    #[tokio::test]
    async fn lifecycle_and_strict_transitions() {
        let c = InMemoryCompute::new("test");
        let created = c.create_instances(CreateInstances::new("img", "small").count(2).tag("env", "ci")).await.unwrap();
        assert_eq!(created.len(), 2);
        let id = created[0].id.clone();
        assert_eq!(created[0].state, InstanceState::Pending);
        let running = c.wait_for_state(&id, InstanceState::Running, Duration::from_secs(5)).await.unwrap();
        assert_eq!(running.state, InstanceState::Running);
        c.reboot(&id).await.unwrap();
        c.stop(&id).await.unwrap();
        c.stop(&id).await.unwrap(); // idempotent
        assert!(matches!(c.reboot(&id).await, Err(Error::InvalidState { .. })));
        c.wait_for_state(&id, InstanceState::Stopped, Duration::from_secs(5)).await.unwrap();
        c.terminate(&id).await.unwrap();
        let err = c.wait_for_state(&id, InstanceState::Running, Duration::from_secs(5)).await.unwrap_err();
        assert!(
            matches!(err, Error::WaitFailed { reached: InstanceState::Terminating | InstanceState::Terminated, .. }),
            "{err}"
        );
        c.wait_for_state(&id, InstanceState::Terminated, Duration::from_secs(5)).await.unwrap();
        assert!(matches!(c.start(&id).await, Err(Error::InvalidState { .. })));

        let ci: Vec<Instance> = c
            .list_instances(InstanceFilter::default().tag("env", "ci").state(InstanceState::Running))
            .try_collect()
            .await
            .unwrap();
        assert_eq!(ci.len(), 1);
        let other = InstanceId::new("ec2", "us-east-1", "i-1");
        assert!(matches!(c.get_instance(&other).await, Err(Error::InvalidInput { .. })));
        assert!(matches!(
            c.create_instances(CreateInstances::new("img", "small").count(0)).await,
            Err(Error::InvalidInput { .. })
        ));
    }

    /// Issue 15, defect 18: `CreateInstances`' `Debug` printed the user data (a startup script
    /// with secrets). It shows the length only.
    #[test]
    fn create_instances_debug_redacts_user_data() {
        let script = "#!/bin/sh\nexport TOKEN=SCRIPTSECRET\n";
        let request = CreateInstances::new("img", "small").user_data(script);
        let shown = format!("{request:?} {request:#?}");
        assert!(!shown.contains("SCRIPTSECRET"), "{shown}");
        assert!(shown.contains(&format!("<{} bytes, redacted>", script.len())) && shown.contains("img"), "{shown}");
    }

    #[test]
    fn ids_round_trip() {
        let id: InstanceId = "ec2:eu-west-1:i-0abc".parse().unwrap();
        assert_eq!(id.to_string(), "ec2:eu-west-1:i-0abc");
        assert!("nope".parse::<InstanceId>().is_err());
        // a location that is a path: the id follows its last `/`
        let id: InstanceId = "azure:sub-1/rg-1/vm-1".parse().unwrap();
        assert_eq!((id.provider.as_str(), id.location.as_str(), id.id.as_str()), ("azure", "sub-1/rg-1", "vm-1"));
        assert_eq!(id.to_string(), "azure:sub-1/rg-1/vm-1");
        for bad in ["azure:vm-1", "azure:sub-1/rg-1/", "azure:/vm", ":a:b", "ec2:r:a/b", "azure:sub/rg:vm"] {
            assert!(bad.parse::<InstanceId>().is_err(), "{bad}");
        }
    }
}
