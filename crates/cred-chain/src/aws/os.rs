//! Seams over the process environment and the file system, so every provider can be tested with
//! a fake HOME and fake variables (no test reads the real home or mutates the real environment).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Environment variables: the real process environment, or a fixed map (tests).
///
/// ```
/// use cloudkit_cred_chain::aws::Env;
/// let env = Env::from_pairs([("AWS_REGION", "eu-west-1")]);
/// assert_eq!(env.get("AWS_REGION").as_deref(), Some("eu-west-1"));
/// assert_eq!(env.get("HOME"), None);
/// ```
#[derive(Clone, Default)]
pub struct Env {
    fake: Option<Arc<HashMap<String, String>>>,
}

/// Shows which variables a fake environment holds, never their values (they may be secrets).
impl std::fmt::Debug for Env {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.fake {
            None => f.write_str("Env::real"),
            Some(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                f.debug_struct("Env::fake").field("variables", &keys).finish()
            }
        }
    }
}

impl Env {
    /// The real process environment.
    pub fn real() -> Self {
        Self { fake: None }
    }

    /// A fixed set of variables; nothing else is visible.
    pub fn from_pairs<K: Into<String>, V: Into<String>>(pairs: impl IntoIterator<Item = (K, V)>) -> Self {
        Self { fake: Some(Arc::new(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect())) }
    }

    /// A variable's value (`None` when unset or not valid Unicode).
    pub fn get(&self, key: &str) -> Option<String> {
        match &self.fake {
            Some(map) => map.get(key).cloned(),
            None => std::env::var(key).ok(),
        }
    }

    /// A variable's value, treating an empty value as unset.
    pub fn get_non_empty(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.trim().is_empty())
    }

    /// The home directory: `HOME`, then `USERPROFILE`, then `HOMEDRIVE` + `HOMEPATH`.
    pub fn home_dir(&self) -> Option<PathBuf> {
        if let Some(home) = self.get_non_empty("HOME") {
            return Some(PathBuf::from(home));
        }
        if let Some(home) = self.get_non_empty("USERPROFILE") {
            return Some(PathBuf::from(home));
        }
        match (self.get_non_empty("HOMEDRIVE"), self.get_non_empty("HOMEPATH")) {
            (Some(drive), Some(path)) => Some(PathBuf::from(format!("{drive}{path}"))),
            _ => None,
        }
    }

    /// Expands a leading `~/` (or a lone `~`) with [`home_dir`](Self::home_dir).
    pub fn expand_home(&self, path: &str) -> PathBuf {
        if path == "~" {
            return self.home_dir().unwrap_or_else(|| PathBuf::from(path));
        }
        if let Some(rest) = path.strip_prefix("~/").or_else(|| path.strip_prefix("~\\"))
            && let Some(home) = self.home_dir()
        {
            return home.join(rest);
        }
        PathBuf::from(path)
    }
}

/// File reads: the real file system, or an in-memory map of files (tests).
#[derive(Clone, Default)]
pub struct Fs {
    fake: Option<Arc<HashMap<PathBuf, Vec<u8>>>>,
}

/// Shows which files a fake file system holds, never their contents (credentials files).
impl std::fmt::Debug for Fs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.fake {
            None => f.write_str("Fs::real"),
            Some(map) => {
                let mut paths: Vec<&PathBuf> = map.keys().collect();
                paths.sort();
                f.debug_struct("Fs::fake").field("files", &paths).finish()
            }
        }
    }
}

impl Fs {
    /// The real file system.
    pub fn real() -> Self {
        Self { fake: None }
    }

    /// A fixed set of files; every other path does not exist.
    pub fn from_files<P: Into<PathBuf>, C: Into<Vec<u8>>>(files: impl IntoIterator<Item = (P, C)>) -> Self {
        Self { fake: Some(Arc::new(files.into_iter().map(|(p, c)| (p.into(), c.into())).collect())) }
    }

    /// Reads a whole file.
    pub async fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match &self.fake {
            Some(map) => map
                .get(path)
                .cloned()
                .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no such file (fake fs)")),
            None => cloudkit_core::internal::blocking::read(path).await,
        }
    }

    /// Reads a whole file as UTF-8 text.
    pub async fn read_to_string(&self, path: &Path) -> std::io::Result<String> {
        let bytes = self.read(path).await?;
        String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_expansion() {
        let env = Env::from_pairs([("HOME", "/home/me")]);
        assert_eq!(env.expand_home("~/.aws/config"), PathBuf::from("/home/me/.aws/config"));
        assert_eq!(env.expand_home("~other/x"), PathBuf::from("~other/x"));
        assert_eq!(env.expand_home("/abs"), PathBuf::from("/abs"));
        let win = Env::from_pairs([("HOMEDRIVE", "C:"), ("HOMEPATH", "\\Users\\me")]);
        assert_eq!(win.home_dir(), Some(PathBuf::from("C:\\Users\\me")));
    }

    #[tokio::test]
    async fn fake_fs() {
        let fs = Fs::from_files([("/h/.aws/config", "[default]\n")]);
        assert_eq!(fs.read_to_string(Path::new("/h/.aws/config")).await.unwrap(), "[default]\n");
        assert_eq!(fs.read(Path::new("/nope")).await.unwrap_err().kind(), std::io::ErrorKind::NotFound);
    }

    /// Issue 15, defect 18: a fake file system's `Debug` (part of `ProviderConfig`'s) printed the
    /// files' contents, credentials included. It shows their paths only.
    #[test]
    fn debug_shows_paths_not_contents() {
        let fs = Fs::from_files([("/h/.aws/credentials", "[default]\naws_secret_access_key = FILESECRET\n")]);
        let shown = format!("{fs:?} {:?}", Env::from_pairs([("AWS_SECRET_ACCESS_KEY", "ENVSECRET")]));
        assert!(shown.contains("/h/.aws/credentials"), "{shown}");
        assert!(!shown.contains("FILESECRET") && !shown.contains("ENVSECRET"), "{shown}");
        assert_eq!(format!("{:?}", Fs::real()), "Fs::real");
    }
}
