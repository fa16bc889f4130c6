//! The Azure session: `Session::azure().account("acct").load().await?`, a thin builder over
//! [`AzureConfigLoader`] that hands out Blob and Resource Manager clients sharing one connection
//! pool.

use std::sync::Arc;

#[cfg(feature = "azure-arm")]
use cloudkit_azure_arm::{ArmClient, ArmError};
#[cfg(feature = "azure-blob")]
use cloudkit_azure_blob::{BlobError, BlobServiceClient};
use cloudkit_core::{RetryConfig, Url};
use cloudkit_cred_chain::azure::{AzureConfig, AzureConfigError, AzureConfigLoader, TokenCredential};

use super::Session;
#[cfg(feature = "azure-arm")]
use crate::compute::AzureCompute;
#[cfg(feature = "azure-blob")]
use crate::store::AzureBlobStore;

impl Session {
    /// Starts building an Azure session: `AZURE_STORAGE_CONNECTION_STRING`, else
    /// `AZURE_STORAGE_ACCOUNT` with `AZURE_STORAGE_KEY`, `AZURE_STORAGE_SAS_TOKEN` or the
    /// `DefaultAzureCredential` chain — unless set here (see [`AzureConfigLoader`]).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudkit::session::Session;
    /// let session = Session::azure().load().await?;
    /// let blobs = session.blob_service()?;
    /// let store = session.store("my-container")?;
    /// # let _ = (blobs, store); Ok(()) }
    /// ```
    pub fn azure() -> AzureSessionBuilder {
        AzureSessionBuilder { loader: AzureConfig::loader() }
    }
}

/// Builds an [`AzureSession`]. `Debug` shows no secret.
#[derive(Debug)]
pub struct AzureSessionBuilder {
    loader: AzureConfigLoader,
}

impl AzureSessionBuilder {
    /// A connection string (wins over everything else).
    pub fn connection_string(mut self, text: impl Into<String>) -> Self {
        self.loader = self.loader.connection_string(text);
        self
    }

    /// The storage account.
    pub fn account(mut self, name: impl Into<String>) -> Self {
        self.loader = self.loader.account(name);
        self
    }

    /// The account key (SharedKey).
    pub fn account_key(mut self, key: impl Into<String>) -> Self {
        self.loader = self.loader.account_key(key);
        self
    }

    /// The blob endpoint (default `https://{account}.blob.core.windows.net`).
    pub fn endpoint(mut self, url: Url) -> Self {
        self.loader = self.loader.blob_endpoint(url);
        self
    }

    /// A token credential (default: `DefaultAzureCredential` when no key or SAS is given).
    pub fn credential(mut self, credential: Arc<dyn TokenCredential>) -> Self {
        self.loader = self.loader.credential(credential);
        self
    }

    /// Allows tokens over plain http to a loopback emulator endpoint (off by default).
    pub fn emulator(mut self, allow_loopback_http: bool) -> Self {
        self.loader = self.loader.allow_loopback_http(allow_loopback_http);
        self
    }

    /// Retry settings for every client of the session (default: standard mode, 3 attempts), the
    /// same call as on `Session::aws()` and `Session::gcp()`.
    pub fn retry_config(mut self, retry: RetryConfig) -> Self {
        self.loader = self.loader.retry(retry);
        self
    }

    /// Full control over the configuration loader (SAS, anonymous access, HTTP client, retries,
    /// timeouts, environment).
    pub fn configure(mut self, f: impl FnOnce(AzureConfigLoader) -> AzureConfigLoader) -> Self {
        self.loader = f(self.loader);
        self
    }

    /// Resolves the account, authorization and endpoint (nothing is contacted yet).
    pub async fn load(self) -> Result<AzureSession, AzureConfigError> {
        Ok(AzureSession { config: self.loader.load().await? })
    }
}

/// A resolved Azure configuration that hands out clients sharing one connection pool.
#[derive(Clone, Debug)]
pub struct AzureSession {
    config: AzureConfig,
}

impl AzureSession {
    /// A session over an already loaded configuration.
    pub fn from_config(config: AzureConfig) -> Self {
        Self { config }
    }

    /// The configuration.
    pub fn config(&self) -> &AzureConfig {
        &self.config
    }

    /// The token credential, when the session uses one.
    pub fn credential(&self) -> Option<Arc<dyn TokenCredential>> {
        self.config.credential()
    }

    /// The Blob service client.
    #[cfg(feature = "azure-blob")]
    #[cfg_attr(docsrs, doc(cfg(feature = "azure-blob")))]
    pub fn blob_service(&self) -> Result<BlobServiceClient, BlobError> {
        BlobServiceClient::new(&self.config)
    }

    /// An [`ObjectStore`](crate::store::ObjectStore) on one container.
    #[cfg(feature = "azure-blob")]
    #[cfg_attr(docsrs, doc(cfg(feature = "azure-blob")))]
    pub fn store(&self, container: impl Into<String>) -> Result<AzureBlobStore, BlobError> {
        Ok(AzureBlobStore::new(self.blob_service()?.container_client(container)))
    }

    /// The Azure Resource Manager client (Python's `ResourceManagementClient` /
    /// `ComputeManagementClient`), on the configuration's subscription (`AZURE_SUBSCRIPTION_ID`).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use cloudkit::session::Session;
    /// use futures::TryStreamExt;
    /// let rm = Session::azure().load().await?.arm()?;
    /// // for rg in rm.resource_groups.list(): print(rg.name, rg.location)
    /// let mut groups = rm.resource_groups().list().into_items(Default::default());
    /// while let Some(rg) = groups.try_next().await? {
    ///     println!("{} {}", rg.name, rg.location);
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "azure-arm")]
    #[cfg_attr(docsrs, doc(cfg(feature = "azure-arm")))]
    pub fn arm(&self) -> Result<ArmClient, ArmError> {
        ArmClient::new(&self.config)
    }

    /// The neutral [`Compute`](crate::compute::Compute) on the virtual machines of `subscription`,
    /// in one resource group or (`None`) all of them. Stopping deallocates (see [`AzureCompute`]).
    #[cfg(feature = "azure-arm")]
    #[cfg_attr(docsrs, doc(cfg(feature = "azure-arm")))]
    pub fn compute(
        &self,
        subscription: impl Into<String>,
        resource_group: Option<&str>,
    ) -> Result<AzureCompute, ArmError> {
        Ok(AzureCompute::new(self.arm()?, subscription, resource_group))
    }
}

#[cfg(test)]
mod tests {
    use cloudkit_cred_chain::azure::AzureEnv;

    use super::*;
    #[cfg(feature = "azure-blob")]
    use crate::store::ObjectStore;

    #[cfg(feature = "azure-blob")]
    #[tokio::test]
    async fn the_session_is_a_thin_builder_over_the_config_loader() {
        let env = AzureEnv::from_pairs([("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true")]);
        let session = Session::azure().configure(|l| l.env(env.clone())).load().await.unwrap();
        assert_eq!(session.config().account(), Some("devstoreaccount1"));
        assert_eq!(session.config().retry_config().max_attempts(), 3);
        assert!(session.credential().is_none());
        let blobs = session.blob_service().unwrap();
        assert_eq!(blobs.endpoint().as_str(), "http://127.0.0.1:10000/devstoreaccount1");
        assert_eq!(session.store("c").unwrap().backend(), "azure");

        // explicit settings win over the environment; tokens need https unless the emulator is allowed
        let endpoint: Url = "http://127.0.0.1:10000/devstoreaccount1".parse().unwrap();
        let credential: Arc<dyn TokenCredential> = Arc::new(cloudkit_cred_chain::azure::DefaultAzureCredential::new());
        let builder = || {
            Session::azure().configure(|l| l.env(env.clone())).credential(credential.clone()).endpoint(endpoint.clone())
        };
        let e = builder().load().await.unwrap_err();
        assert!(e.to_string().contains("https"), "{e}");
        let session = builder().emulator(true).load().await.unwrap();
        assert!(session.credential().is_some());
        assert!(
            !format!("{:?}", Session::azure().account_key("c2VjcmV0").connection_string("AccountKey=zzz"))
                .contains("zzz")
        );
    }

    /// Issue 16, point 7: retry settings directly on the session builder, as on `Session::aws()`.
    #[cfg(feature = "azure-blob")]
    #[tokio::test]
    async fn retry_settings_on_the_session_builder() {
        let env = AzureEnv::from_pairs([("AZURE_STORAGE_CONNECTION_STRING", "UseDevelopmentStorage=true")]);
        let session = Session::azure()
            .retry_config(RetryConfig::standard().with_max_attempts(6))
            .configure(|l| l.env(env))
            .load()
            .await
            .unwrap();
        assert_eq!(session.config().retry_config().max_attempts(), 6);
        assert_eq!(session.blob_service().unwrap().pipeline().retry_config().max_attempts(), 6);
    }
}
