//! A string that never shows itself in `Debug`, `Display` or logs.

use std::fmt;

/// A secret value (a secret access key, a session token, an account key, a bearer token).
///
/// `Debug` and `Display` print `** redacted **`; the value is only reachable through
/// [`SecretString::expose`], which makes every use of the secret visible in code review.
///
/// ```
/// use cloudkit_core::SecretString;
/// let key = SecretString::new("wJalrXUtnFEMI/K7MDENG");
/// assert_eq!(format!("{key:?}"), "** redacted **");
/// assert_eq!(key.expose(), "wJalrXUtnFEMI/K7MDENG");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    /// Wraps a secret.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Never log or format the returned value.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for SecretString {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for SecretString {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl fmt::Display for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("** redacted **")
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is freed.
        // SAFETY-free version: replace every byte through a safe mutable view.
        let mut bytes = std::mem::take(&mut self.0).into_bytes();
        bytes.iter_mut().for_each(|b| *b = 0);
        std::hint::black_box(&bytes);
    }
}
