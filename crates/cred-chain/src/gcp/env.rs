//! The environment seam: tests pass fake variables instead of mutating the process environment.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Where environment variables come from: the process, or a fixed map (tests).
#[derive(Clone, Debug, Default)]
pub struct GcpEnv {
    fake: Option<Arc<HashMap<String, String>>>,
}

impl GcpEnv {
    /// The process environment.
    pub fn real() -> Self {
        Self { fake: None }
    }

    /// Only these variables.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { fake: Some(Arc::new(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())) }
    }

    /// A variable's value, when set and not empty.
    pub fn get(&self, key: &str) -> Option<String> {
        let value = match &self.fake {
            Some(map) => map.get(key).cloned(),
            None => std::env::var(key).ok(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    /// Whether this is the process environment.
    pub fn is_real(&self) -> bool {
        self.fake.is_none()
    }

    /// gcloud's well-known ADC file for this environment.
    pub fn well_known_file(&self) -> Option<PathBuf> {
        if cfg!(windows) {
            self.get("APPDATA").map(|d| PathBuf::from(d).join("gcloud").join("application_default_credentials.json"))
        } else {
            self.get("HOME")
                .map(|h| PathBuf::from(h).join(".config").join("gcloud").join("application_default_credentials.json"))
        }
    }
}
