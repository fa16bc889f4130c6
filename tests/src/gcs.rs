//! GCS setup shared by the tests against gcp-storage-emulator.

use cloudkit_cred_chain::gcp::{GcpConfig, GcpEnv};
use cloudkit_gcp_storage::{ClientBuilder, StorageClient};

use crate::testbed::{self, Emulator};

/// A [`GcpConfig`] whose only environment is `STORAGE_EMULATOR_HOST` pointing at the emulator, so it
/// is in emulator mode (anonymous, plain HTTP).
///
/// # Panics
/// When the emulator is not configured (run `scripts/testbed.sh up`), the configuration does not load
/// or it is not in emulator mode.
pub async fn emulator_config() -> GcpConfig {
    let host = testbed::endpoint(Emulator::Gcs);
    let env = GcpEnv::from_pairs([("STORAGE_EMULATOR_HOST", host.as_str())]);
    let config = GcpConfig::loader()
        .env(env)
        .load()
        .await
        .unwrap_or_else(|e| panic!("could not load the emulator configuration: {e}"));
    assert!(config.is_emulator(), "STORAGE_EMULATOR_HOST={host} did not select emulator mode");
    config
}

/// A GCS [`ClientBuilder`] for the emulator (see [`emulator_config`]), for tests that set a
/// blob signer or other overrides.
///
/// # Panics
/// As [`emulator_config`].
pub async fn storage_client_builder() -> ClientBuilder {
    StorageClient::builder(&emulator_config().await)
}

/// A GCS [`StorageClient`] for the emulator (see [`emulator_config`]).
///
/// # Panics
/// As [`emulator_config`], or when the client cannot be built.
pub async fn storage_client() -> StorageClient {
    storage_client_builder().await.build().unwrap_or_else(|e| panic!("could not build the GCS client: {e}"))
}

/// Creates a bucket named [`unique_name`](crate::unique_name)`(label)` on the emulator and returns its
/// name.
///
/// # Panics
/// When the bucket cannot be created.
pub async fn create_bucket(client: &StorageClient, label: &str) -> String {
    let name = crate::unique_name(label);
    client.insert_bucket(&name).send().await.unwrap_or_else(|e| panic!("could not create bucket {name}: {e}"));
    name
}
