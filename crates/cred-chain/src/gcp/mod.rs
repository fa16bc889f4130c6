//! Google Cloud: Application Default Credentials (through google-cloud-auth), project id
//! resolution, `STORAGE_EMULATOR_HOST`, and what a GCS client needs ([`GcpConfig`]).
//!
//! Credential sources, in the order the official SDKs use:
//! 1. `STORAGE_EMULATOR_HOST` (storage clients only): anonymous access to the emulator;
//! 2. `GOOGLE_APPLICATION_CREDENTIALS` (service account, authorized user, impersonated service
//!    account, external account / workload identity federation); a missing file is an error;
//! 3. gcloud's well-known file `~/.config/gcloud/application_default_credentials.json`
//!    (`%APPDATA%\gcloud\…` on Windows);
//! 4. the metadata server (`GCE_METADATA_HOST` or `metadata.google.internal`).
//!
//! Compute Engine endpoint: [`DEFAULT_COMPUTE_ENDPOINT`], overridden by
//! [`GcpConfigLoader::compute_endpoint`] or `CLOUDSDK_API_ENDPOINT_OVERRIDES_COMPUTE` (gcloud's
//! `api_endpoint_overrides/compute`) or `CLOUDKIT_GCE_ENDPOINT`; plain http only to an explicitly named loopback host.
//! OAuth scopes: google-cloud-auth's default `cloud-platform`, except for Compute Engine clients
//! ([`GcpConfig::compute_bearer_signer`]), whose tokens have Compute Engine's own scope
//! [`COMPUTE_SCOPE`]; [`GcpConfigLoader::scopes`] sets the scopes of every client.
//!
//! Project id: `GOOGLE_CLOUD_PROJECT`, `GCLOUD_PROJECT`, the credentials file (`project_id`, or
//! `quota_project_id` for user credentials), then the metadata server.
//!
//! ```no_run
//! # async fn demo() -> Result<(), cloudkit_cred_chain::gcp::GcpConfigError> {
//! let config = cloudkit_cred_chain::gcp::GcpConfig::loader().load().await?;
//! println!("project {:?}, storage at {}", config.project_id(), config.storage_endpoint());
//! # Ok(()) }
//! ```

mod auth;
mod config;
mod env;

#[cfg(test)]
mod tests;

pub use auth::{BearerTokenSigner, GoogleAuthBlobSigner, PlainHttpRefused};
pub use config::{
    COMPUTE_ENDPOINT_ENV, COMPUTE_ENDPOINT_ENV_ALIAS, COMPUTE_SCOPE, CredentialSource, DEFAULT_COMPUTE_ENDPOINT,
    DEFAULT_STORAGE_ENDPOINT, GcpConfig, GcpConfigError, GcpConfigLoader, GcpCredentials, emulator_endpoint,
};
pub use env::GcpEnv;
/// google-cloud-auth, re-exported for callers who build their own credentials.
pub use google_cloud_auth;
