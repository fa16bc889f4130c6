//! Every public future of the facade is `Send` (docs/ARCHITECTURE.md, "Time, progress, futures"):
//! the session and config loaders, `store::from_url`, the `ObjectStore` and `Compute` methods
//! through trait objects and on every backend. Checked at compile time on futures (and async
//! blocks) that are created and never polled. The provider clients' own futures are checked in
//! their crates (`src/futures_are_send.rs`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use cloudkit_core::assert_send;

use crate::compute::{Compute, CreateInstances, InMemoryCompute, InstanceId, InstanceState, poll_for_state};
use crate::store::{GetOptions, InMemory, LocalFileSystem, ObjectKey, ObjectStore, ObjectStoreExt, from_url};

/// Every method of the store traits, through `store`.
fn store_futures(store: Arc<dyn ObjectStore>) {
    let key = ObjectKey::root();
    assert_send!(
        store.put(&key, Bytes::new()),
        store.get(&key),
        store.get_opts(&key, GetOptions::default()),
        store.get_range(&key, 0..1),
        store.head(&key),
        store.delete(&key),
        store.delete_all(Vec::new()),
        store.list_all(&key),
        store.list_with_delimiter(&key),
        store.copy(&key, &key),
        store.rename(&key, &key),
        store.exists(&key),
        store.signed_url(crate::store::SignedMethod::Get, &key, Duration::from_secs(1)),
        async move { store.get(&ObjectKey::root()).await?.bytes().await },
    );
}

/// Every method of the compute trait, through `compute`.
fn compute_futures(compute: Arc<dyn Compute>) {
    let id = InstanceId::new("memory", "here", "i-1");
    assert_send!(
        compute.get_instance(&id),
        compute.create_instances(CreateInstances::new("image", "size")),
        compute.start(&id),
        compute.stop(&id),
        compute.reboot(&id),
        compute.terminate(&id),
        compute.wait_for_state(&id, InstanceState::Running, Duration::from_secs(1)),
        poll_for_state(compute.as_ref(), &id, InstanceState::Running, Duration::from_secs(1), Duration::from_secs(1)),
    );
}

#[test]
fn every_public_future_is_send() {
    store_futures(Arc::new(InMemory::new()));
    compute_futures(Arc::new(InMemoryCompute::new("here")));
    assert_send!(
        from_url("memory://"),
        LocalFileSystem::new("/nonexistent/cloudkit-send-check"),
        LocalFileSystem::create("/nonexistent/cloudkit-send-check"),
        async {
            let local = LocalFileSystem::new("/nonexistent/cloudkit-send-check").await?;
            let (key, source) = (ObjectKey::root(), InMemory::new());
            let options = crate::store::DownloadOptions::default();
            local.download_from(&key, &source, &key, crate::store::PutOptions::default(), options).await
        },
    );

    #[cfg(feature = "_aws")]
    assert_send!(crate::session::Session::aws().load(), async {
        let session = crate::session::Session::aws().load().await?;
        let _ = session.sts()?.get_caller_identity().await;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
    #[cfg(feature = "aws-s3")]
    assert_send!(async {
        let session = crate::session::Session::aws().load().await?;
        let store: Arc<dyn ObjectStore> = Arc::new(session.store("bucket")?);
        store_futures(store);
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
    #[cfg(feature = "aws-ec2")]
    assert_send!(async {
        let session = crate::session::Session::aws().load().await?;
        compute_futures(Arc::new(session.compute()?));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
    #[cfg(feature = "azure-blob")]
    assert_send!(crate::session::Session::azure().load(), async {
        let session = crate::session::Session::azure().load().await?;
        store_futures(Arc::new(session.store("container")?));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
    #[cfg(feature = "azure-arm")]
    assert_send!(async {
        let session = crate::session::Session::azure().load().await?;
        compute_futures(Arc::new(session.compute("subscription", Some("group"))?));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
    #[cfg(feature = "gcp-compute")]
    assert_send!(async {
        let session = crate::session::Session::gcp().load().await?;
        compute_futures(Arc::new(session.compute(Some("us-central1-a"))?));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
    #[cfg(feature = "gcp-storage")]
    assert_send!(crate::session::Session::gcp().load(), async {
        let session = crate::session::Session::gcp().load().await?;
        store_futures(Arc::new(session.store("bucket")?));
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    });
}
