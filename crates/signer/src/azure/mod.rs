//! Azure Storage request authorization: SharedKey, SAS generation (service, account and user
//! delegation) and bearer tokens, plus storage connection strings.
//!
//! Everything here works against Azurite (plain http, path-style URLs, the doubled account path in
//! the SharedKey canonical resource), which the official Rust crates cannot talk to.
//!
//! ```
//! use cloudkit_signer::azure::{AccountKey, ConnectionString};
//! let cs = ConnectionString::parse("UseDevelopmentStorage=true").unwrap();
//! assert_eq!(cs.account_name(), Some("devstoreaccount1"));
//! assert_eq!(cs.blob_endpoint().unwrap().as_str(), "http://127.0.0.1:10000/devstoreaccount1");
//! let key: &AccountKey = cs.account_key().unwrap();
//! assert!(!format!("{key:?}").contains("Eby8"));
//! ```

mod bearer;
mod connection_string;
mod key;
mod sas;
mod shared_key;
#[cfg(test)]
mod tests;

pub use bearer::{BearerTokenSigner, RefusedToken, STORAGE_SCOPE, endpoint_allows_plain_http};
pub use connection_string::{
    ConnectionString, DEVELOPMENT_ACCOUNT, DEVELOPMENT_ACCOUNT_KEY, DEVELOPMENT_BLOB_ENDPOINT,
};
pub use key::AccountKey;
pub use sas::{
    AccountSas, AccountSasResourceTypes, AccountSasServices, BlobSas, BlobSasResource, SasPermissions, SasProtocol,
    SasSigner, SasToken, UserDelegationKey, format_sas_time,
};
pub use shared_key::{SharedKeySigner, shared_key_authorization, string_to_sign};

/// The `x-ms-version` every cloudkit Azure request sends, and the default signed version (`sv`) of
/// generated SAS tokens. Pinned to a version Azurite 3.37 implements (it also runs with
/// `--skipApiVersionCheck`).
pub const STORAGE_API_VERSION: &str = "2025-11-05";

/// Why a key could not be used or a request/SAS could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AzureSignError {
    /// The account key is not valid base64.
    #[error("the account key for {account:?} is not valid base64")]
    InvalidKey {
        /// The account.
        account: String,
    },
    /// A connection string could not be parsed or lacks what is needed.
    #[error("invalid connection string: {0}")]
    InvalidConnectionString(String),
    /// A SAS could not be built from the given values.
    #[error("invalid SAS: {0}")]
    InvalidSas(String),
    /// The request cannot be authorized this way (e.g. a bearer token over plain http).
    #[error("{0}")]
    Refused(String),
    /// The HMAC could not be computed.
    #[error("could not compute the signature: {0}")]
    Hmac(String),
}
