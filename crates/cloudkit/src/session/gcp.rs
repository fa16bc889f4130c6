//! The Google Cloud session: `Session::gcp().project("my-project").load().await?`.

use cloudkit_core::RetryConfig;
use cloudkit_cred_chain::gcp::{GcpConfig, GcpConfigError, GcpConfigLoader, GcpCredentials};
#[cfg(feature = "gcp-compute")]
use cloudkit_gcp_compute::{ComputeClient, GceError};
#[cfg(feature = "gcp-storage")]
use cloudkit_gcp_storage::{GcsError, StorageClient};

use super::Session;
#[cfg(feature = "gcp-compute")]
use crate::compute::GceCompute;
#[cfg(feature = "gcp-storage")]
use crate::store::GcsStore;

impl Session {
    /// Starts building a Google Cloud session: Application Default Credentials
    /// (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's ADC file, the metadata server), the project
    /// (`GOOGLE_CLOUD_PROJECT`, the credentials, the metadata server), and the emulator with
    /// anonymous access when `STORAGE_EMULATOR_HOST` is set — unless set here.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudkit::session::Session;
    /// let session = Session::gcp().project("my-project").load().await?;
    /// let storage = session.storage()?;
    /// let mut blob = storage.bucket("my-bucket").blob("hello.txt");
    /// blob.upload_from_string("hi").await?;
    /// # Ok(()) }
    /// ```
    pub fn gcp() -> GcpSessionBuilder {
        GcpSessionBuilder { loader: GcpConfig::loader() }
    }
}

/// Builds a [`GcpSession`].
#[derive(Debug)]
pub struct GcpSessionBuilder {
    loader: GcpConfigLoader,
}

impl GcpSessionBuilder {
    /// The project (default: `GOOGLE_CLOUD_PROJECT`, the credentials file, the metadata server).
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.loader = self.loader.project_id(project);
        self
    }

    /// Credentials from JSON (service-account key, authorized user, external account) instead of ADC.
    pub fn credentials_json(mut self, json: impl Into<String>) -> Self {
        self.loader = self.loader.credentials_json(json);
        self
    }

    /// Explicit google-cloud-auth credentials.
    pub fn credentials(mut self, credentials: GcpCredentials) -> Self {
        self.loader = self.loader.credentials(credentials);
        self
    }

    /// No authentication (public buckets, emulators).
    pub fn anonymous(mut self) -> Self {
        self.loader = self.loader.anonymous();
        self
    }

    /// Retry settings for every client of the session (default: standard mode, 3 attempts), the
    /// same call as on `Session::aws()` and `Session::azure()`.
    pub fn retry_config(mut self, retry: RetryConfig) -> Self {
        self.loader = self.loader.retry(retry);
        self
    }

    /// Full control over the configuration loader.
    pub fn configure(mut self, f: impl FnOnce(GcpConfigLoader) -> GcpConfigLoader) -> Self {
        self.loader = f(self.loader);
        self
    }

    /// Resolves credentials, project and endpoints.
    pub async fn load(self) -> Result<GcpSession, GcpConfigError> {
        Ok(GcpSession { config: self.loader.load().await? })
    }
}

/// A resolved Google Cloud configuration that hands out clients sharing one connection pool.
#[derive(Clone, Debug)]
pub struct GcpSession {
    config: GcpConfig,
}

impl GcpSession {
    /// A session over an already loaded configuration.
    pub fn from_config(config: GcpConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &GcpConfig {
        &self.config
    }

    /// The project, when one was found.
    pub fn project_id(&self) -> Option<&str> {
        self.config.project_id()
    }

    /// A Cloud Storage client (Python: `storage.Client()`).
    #[cfg(feature = "gcp-storage")]
    #[cfg_attr(docsrs, doc(cfg(feature = "gcp-storage")))]
    pub fn storage(&self) -> Result<StorageClient, GcsError> {
        StorageClient::new(&self.config)
    }

    /// An [`ObjectStore`](crate::store::ObjectStore) on one bucket.
    #[cfg(feature = "gcp-storage")]
    #[cfg_attr(docsrs, doc(cfg(feature = "gcp-storage")))]
    pub fn store(&self, bucket: impl Into<String>) -> Result<GcsStore, GcsError> {
        Ok(GcsStore::new(self.storage()?, bucket))
    }

    /// A Compute Engine client (Python: `compute_v1.InstancesClient()`, through
    /// `client.instances()`), on the session's project.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudkit::session::Session;
    /// use futures::TryStreamExt;
    /// let compute = Session::gcp().load().await?.compute_engine()?;
    /// // for instance in compute_v1.InstancesClient().list(project=..., zone="us-central1-a"):
    /// let mut instances = compute.instances().list("us-central1-a").into_items(Default::default());
    /// while let Some(instance) = instances.try_next().await? {
    ///     println!("{} {}", instance.name, instance.status);
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "gcp-compute")]
    #[cfg_attr(docsrs, doc(cfg(feature = "gcp-compute")))]
    pub fn compute_engine(&self) -> Result<ComputeClient, GceError> {
        ComputeClient::new(&self.config)
    }

    /// The neutral [`Compute`](crate::compute::Compute) on the project's Compute Engine instances,
    /// in `zone` or (`None`) all zones.
    #[cfg(feature = "gcp-compute")]
    #[cfg_attr(docsrs, doc(cfg(feature = "gcp-compute")))]
    pub fn compute(&self, zone: Option<&str>) -> crate::compute::Result<GceCompute> {
        let client =
            self.compute_engine().map_err(|e| crate::compute::Error::InvalidInput { message: e.to_string() })?;
        GceCompute::new(client, zone)
    }
}

#[cfg(test)]
mod tests {
    use cloudkit_cred_chain::gcp::GcpEnv;

    use super::*;

    /// Issue 16, point 7: retry settings directly on the session builder, as on `Session::aws()`.
    #[cfg(feature = "gcp-storage")]
    #[tokio::test]
    async fn retry_settings_on_the_session_builder() {
        let env = GcpEnv::from_pairs([("GOOGLE_CLOUD_PROJECT", "proj")]);
        let session = Session::gcp()
            .anonymous()
            .retry_config(RetryConfig::disabled())
            .configure(|l| l.env(env.clone()))
            .load()
            .await
            .unwrap();
        assert_eq!(session.project_id(), Some("proj"));
        assert_eq!(session.config().retry_config().max_attempts(), 1);
        assert_eq!(session.storage().unwrap().pipeline().retry_config().max_attempts(), 1);
        let default = Session::gcp().anonymous().configure(|l| l.env(env)).load().await.unwrap();
        assert_eq!(default.config().retry_config().max_attempts(), 3);
    }
}
