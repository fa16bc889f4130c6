//! AWS: credential values, the credential-provider trait, and SigV4 signing.

mod credentials;

pub use credentials::{Credentials, CredentialsError, ProvideCredentials, SharedCredentialsProvider};
#[cfg(feature = "mock")]
pub use credentials::MockProvideCredentials;
