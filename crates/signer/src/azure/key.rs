//! The storage account key.

use std::fmt;

use azure_core::credentials::Secret;
use base64::Engine;

use super::AzureSignError;

/// A storage account name and its (base64) shared key. `Debug` never shows the key.
#[derive(Clone)]
pub struct AccountKey {
    account: String,
    key: Secret,
}

impl AccountKey {
    /// An account name and its base64 key; a key that is not base64 is an error.
    pub fn new(account: impl Into<String>, key: impl Into<String>) -> Result<Self, AzureSignError> {
        let account = account.into();
        let key = key.into();
        if base64::engine::general_purpose::STANDARD.decode(key.trim()).is_err() {
            return Err(AzureSignError::InvalidKey { account });
        }
        Ok(Self { account, key: Secret::new(key.trim().to_owned()) })
    }

    /// The account name.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The key (as the `Secret` azure_core's HMAC takes).
    pub fn secret(&self) -> &Secret {
        &self.key
    }

    /// base64(HMAC-SHA256(base64decode(key), data)).
    pub fn sign(&self, data: &str) -> Result<String, AzureSignError> {
        hmac_base64(data, &self.key)
    }
}

pub(crate) fn hmac_base64(data: &str, key: &Secret) -> Result<String, AzureSignError> {
    azure_core::hmac::hmac_sha256(data, key).map_err(|e| AzureSignError::Hmac(e.to_string()))
}

impl fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccountKey").field("account", &self.account).field("key", &"** redacted **").finish()
    }
}
