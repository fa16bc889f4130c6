//! Where the emulators are: endpoints and credentials written by `scripts/testbed.sh up`.
//!
//! Values are looked up in the process environment first, then in the env file
//! (`CLOUDKIT_TESTBED_ENV` if set, otherwise `target/testbed/env` in the workspace root).
//!
//! ```no_run
//! use cloudkit_tests::testbed::{self, Emulator};
//!
//! let s3 = testbed::endpoint(Emulator::Moto); // e.g. "http://127.0.0.1:41234"
//! let key_id = testbed::var("CLOUDKIT_TEST_MOTO_AUTH_ACCESS_KEY_ID");
//! # let _ = (s3, key_id);
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The command that starts every emulator and writes the env file.
pub const START_COMMAND: &str = "scripts/testbed.sh up";

/// Environment variable that points at a different env file.
pub const ENV_FILE_VAR: &str = "CLOUDKIT_TESTBED_ENV";

/// One emulator of the test bed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Emulator {
    /// moto server without auth: S3, EC2, STS, IAM and EC2 instance metadata (IMDS).
    Moto,
    /// moto server that validates SigV4 signatures (key in `CLOUDKIT_TEST_MOTO_AUTH_*`).
    MotoAuth,
    /// Azurite, blob service only (account path included in the endpoint).
    Azurite,
    /// gcp-storage-emulator: the GCS JSON API (endpoint usable as `STORAGE_EMULATOR_HOST`).
    Gcs,
    /// s3s-fs: S3 on a local directory, validating SigV4 (key in `CLOUDKIT_TEST_S3S_*`).
    S3s,
}

impl Emulator {
    /// Every emulator the test bed runs.
    pub const ALL: [Emulator; 5] = [Self::Moto, Self::MotoAuth, Self::Azurite, Self::Gcs, Self::S3s];

    /// The name `scripts/testbed.sh status` shows.
    pub fn name(self) -> &'static str {
        match self {
            Self::Moto => "moto",
            Self::MotoAuth => "moto-auth",
            Self::Azurite => "azurite",
            Self::Gcs => "gcs",
            Self::S3s => "s3s",
        }
    }

    /// The variable holding this emulator's base URL.
    pub fn endpoint_var(self) -> &'static str {
        match self {
            Self::Moto => "CLOUDKIT_TEST_MOTO_ENDPOINT",
            Self::MotoAuth => "CLOUDKIT_TEST_MOTO_AUTH_ENDPOINT",
            Self::Azurite => "CLOUDKIT_TEST_AZURITE_BLOB_ENDPOINT",
            Self::Gcs => "CLOUDKIT_TEST_GCS_ENDPOINT",
            Self::S3s => "CLOUDKIT_TEST_S3S_ENDPOINT",
        }
    }

    /// The emulator a `CLOUDKIT_TEST_*` variable belongs to, if any.
    pub fn for_var(key: &str) -> Option<Emulator> {
        let rest = key.strip_prefix("CLOUDKIT_TEST_")?;
        if rest.starts_with("MOTO_AUTH_") {
            Some(Self::MotoAuth)
        } else if rest.starts_with("MOTO_") {
            Some(Self::Moto)
        } else if rest.starts_with("AZURITE_") {
            Some(Self::Azurite)
        } else if rest.starts_with("GCS_") {
            Some(Self::Gcs)
        } else if rest.starts_with("S3S_") {
            Some(Self::S3s)
        } else {
            None
        }
    }
}

impl fmt::Display for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The test bed's settings: the env file's values, with the process environment taking precedence.
#[derive(Clone, Debug)]
pub struct Testbed {
    env_file: PathBuf,
    file_values: HashMap<String, String>,
    file_error: Option<String>,
}

impl Testbed {
    /// Reads the env file named by `CLOUDKIT_TESTBED_ENV`, or `target/testbed/env` in the workspace.
    /// A missing file is not an error here; looking up a value then fails with a helpful message.
    pub fn load() -> Self {
        Self::from_file(default_env_file())
    }

    /// Reads the given env file (`KEY=value` lines; blank lines and `#` comments are ignored).
    pub fn from_file(path: impl Into<PathBuf>) -> Self {
        let env_file = path.into();
        match std::fs::read_to_string(&env_file) {
            Ok(text) => Self { file_values: parse_env(&text), env_file, file_error: None },
            Err(e) => Self { file_values: HashMap::new(), file_error: Some(e.to_string()), env_file },
        }
    }

    /// The shared instance, loaded once per test binary.
    pub fn global() -> &'static Testbed {
        static TESTBED: OnceLock<Testbed> = OnceLock::new();
        TESTBED.get_or_init(Testbed::load)
    }

    /// The env file this test bed read (or tried to read).
    pub fn env_file(&self) -> &Path {
        &self.env_file
    }

    /// A value from the process environment, else from the env file; `None` when neither has it.
    pub fn get(&self, key: &str) -> Option<String> {
        match std::env::var(key) {
            Ok(v) if !v.is_empty() => Some(v),
            _ => self.file_values.get(key).filter(|v| !v.is_empty()).cloned(),
        }
    }

    /// A value that a test needs.
    ///
    /// # Panics
    /// When the value is missing, with a message naming the emulator and how to start it.
    // Panicking is the point: a test whose emulator is absent must fail loudly, never skip.
    #[allow(clippy::panic)]
    pub fn require(&self, key: &str) -> String {
        if let Some(v) = self.get(key) {
            return v;
        }
        let who = Emulator::for_var(key).map_or_else(|| "the test bed".to_owned(), |e| format!("emulator `{e}`"));
        let file_note = match &self.file_error {
            Some(err) => format!("{} could not be read: {err}", self.env_file.display()),
            None => format!("{} does not contain it", self.env_file.display()),
        };
        panic!(
            "{who} is not available: {key} is not set in the environment and {file_note}. \
             Start the emulators with `{START_COMMAND}` (from the repository root) or run the full \
             suite with `scripts/test.sh`."
        )
    }

    /// The base URL of an emulator, without a trailing slash.
    ///
    /// # Panics
    /// When the emulator's endpoint is unknown (see [`Testbed::require`]).
    pub fn endpoint(&self, emulator: Emulator) -> String {
        self.require(emulator.endpoint_var()).trim_end_matches('/').to_owned()
    }
}

/// The base URL of an emulator from the shared [`Testbed`], without a trailing slash.
///
/// # Panics
/// When the emulator is not running / not configured; the message says to run `scripts/testbed.sh up`.
pub fn endpoint(emulator: Emulator) -> String {
    Testbed::global().endpoint(emulator)
}

/// A required `CLOUDKIT_TEST_*` value (credentials, connection strings …) from the shared [`Testbed`].
///
/// # Panics
/// When the value is missing; the message names the emulator and says to run `scripts/testbed.sh up`.
pub fn var(key: &str) -> String {
    Testbed::global().require(key)
}

/// A plain-HTTP client for raw requests to the emulators, ignoring proxy settings (installs the `ring`
/// rustls provider first, because the workspace builds reqwest without one).
///
/// # Panics
/// When the client cannot be built, which only happens on a broken TLS setup.
// A test helper: failing the test with the builder's error is the right outcome.
#[allow(clippy::panic)]
pub fn http_client() -> reqwest::Client {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another installer is fine: a provider is installed either way.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
    // The emulators are on loopback: never route to them through a proxy from the environment.
    match reqwest::Client::builder().no_proxy().build() {
        Ok(client) => client,
        Err(e) => panic!("could not build the test HTTP client: {e}"),
    }
}

/// `CLOUDKIT_TESTBED_ENV`, or `<workspace root>/target/testbed/env`.
pub fn default_env_file() -> PathBuf {
    if let Some(p) = std::env::var_os(ENV_FILE_VAR).filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).join("target").join("testbed").join("env")
}

fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_env_lines_keeping_equals_in_values() {
        let values = parse_env("# comment\n\nA=1\nCONN=a=b;c=d;\n  B = x \n");
        assert_eq!(values["A"], "1");
        assert_eq!(values["CONN"], "a=b;c=d;");
        assert_eq!(values["B"], " x");
    }

    #[test]
    fn maps_variables_to_emulators() {
        assert_eq!(Emulator::for_var("CLOUDKIT_TEST_MOTO_AUTH_ACCESS_KEY_ID"), Some(Emulator::MotoAuth));
        assert_eq!(Emulator::for_var("CLOUDKIT_TEST_MOTO_ENDPOINT"), Some(Emulator::Moto));
        assert_eq!(Emulator::for_var("CLOUDKIT_TEST_S3S_ENDPOINT"), Some(Emulator::S3s));
        assert_eq!(Emulator::for_var("OTHER"), None);
        for e in Emulator::ALL {
            assert_eq!(Emulator::for_var(e.endpoint_var()), Some(e));
        }
    }

    #[test]
    fn missing_value_panics_with_start_command() {
        let bed = Testbed::from_file("/nonexistent/cloudkit/testbed/env");
        let err = std::panic::catch_unwind(|| bed.require("CLOUDKIT_TEST_GCS_NO_SUCH_KEY")).unwrap_err();
        let msg = err.downcast_ref::<String>().unwrap();
        assert!(msg.contains("emulator `gcs`"), "{msg}");
        assert!(msg.contains("scripts/testbed.sh up"), "{msg}");
        assert!(msg.contains("/nonexistent/cloudkit/testbed/env could not be read"), "{msg}");
    }
}
