//! Azure setup shared by the tests against Azurite.

use cloudkit_azure_blob::BlobServiceClient;
use cloudkit_cred_chain::azure::{AzureConfig, AzureConfigLoader, AzureEnv};

use crate::testbed;

/// Azurite's connection string (`CLOUDKIT_TEST_AZURITE_CONNECTION_STRING`), as the Python SDK takes it.
///
/// # Panics
/// When Azurite is not configured; the message says to run `scripts/testbed.sh up`.
pub fn connection_string() -> String {
    testbed::var("CLOUDKIT_TEST_AZURITE_CONNECTION_STRING")
}

/// A config loader that reads no environment (so the developer's `AZURE_*` variables cannot leak
/// into a test), to which tests add Azurite's endpoint and their authorization.
pub fn loader() -> AzureConfigLoader {
    AzureConfig::loader().env(AzureEnv::from_pairs::<&str, &str>([]))
}

/// The Azure config for Azurite, from its connection string (SharedKey auth).
///
/// # Panics
/// When Azurite is not configured or the connection string does not parse.
pub async fn config() -> AzureConfig {
    loader()
        .connection_string(connection_string())
        .load()
        .await
        .unwrap_or_else(|e| panic!("Azurite's connection string does not load: {e}"))
}

/// A Blob service client for Azurite, built from [`config`] (SharedKey auth).
///
/// # Panics
/// When Azurite is not configured or the connection string does not parse.
pub async fn blob_service() -> BlobServiceClient {
    BlobServiceClient::new(&config().await).unwrap_or_else(|e| panic!("cannot build the Azurite client: {e}"))
}
