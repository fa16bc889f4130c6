//! The shared AWS configuration files: `~/.aws/config` and `~/.aws/credentials`.
//!
//! Parsing follows the AWS SDKs' file format:
//! - `[default]` and `[profile name]` sections in the config file (`[profile default]` wins over
//!   `[default]`; a bare `[name]` other than `default` is ignored there, with a warning);
//!   `[name]` sections in the credentials file (a `[profile name]` section is ignored there);
//! - `[sso-session name]` and `[services name]` sections (config file only);
//! - `key = value` properties; `#` and `;` start a comment line, and start an inline comment
//!   when preceded by whitespace; keys and values are trimmed;
//! - a line starting with whitespace continues the previous property (joined with `\n`); a
//!   property with an empty value followed by indented `key = value` lines holds
//!   sub-properties (`s3 =\n  endpoint_url = http://…` in a `[services]` section);
//! - the same section twice merges, a repeated key overrides; for the same profile and key the
//!   credentials file wins over the config file;
//! - missing files are fine; malformed lines are a [`ProfileFileError`] with file and line.
//!
//! ```
//! use cloudkit_cred_chain::aws::profile::{ProfileSet, FileKind};
//! let config = "[default]\nregion = eu-west-1\n[profile dev]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n";
//! let creds = "[default]\naws_access_key_id = AKID\naws_secret_access_key = secret\n";
//! let mut set = ProfileSet::default();
//! set.parse_into(config, FileKind::Config, "config").unwrap();
//! set.parse_into(creds, FileKind::Credentials, "credentials").unwrap();
//! assert_eq!(set.profile("default").unwrap().get("region"), Some("eu-west-1"));
//! assert_eq!(set.profile("default").unwrap().get("aws_access_key_id"), Some("AKID"));
//! assert_eq!(set.profile("dev").unwrap().get("source_profile"), Some("default"));
//! ```

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::os::{Env, Fs};

/// Which of the two files a text comes from (the section naming rules differ).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// `~/.aws/config` (`AWS_CONFIG_FILE`): `[profile name]`, `[default]`, `[sso-session name]`,
    /// `[services name]`.
    Config,
    /// `~/.aws/credentials` (`AWS_SHARED_CREDENTIALS_FILE`): `[name]`.
    Credentials,
}

/// A profile file could not be read or parsed.
///
/// `Display` is one line and includes the I/O error's text for [`ProfileFileError::Read`], so
/// `source()` continues below it.
#[derive(Debug)]
#[non_exhaustive]
pub enum ProfileFileError {
    /// A line is malformed.
    Syntax {
        /// The file (as given, e.g. `~/.aws/config` expanded).
        path: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// The file exists but could not be read (permissions, not UTF-8, …).
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

impl std::fmt::Display for ProfileFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Syntax { path, line, message } => write!(f, "{path}:{line}: {message}"),
            Self::Read { path, source } => write!(f, "could not read {path}: {source}"),
        }
    }
}

impl std::error::Error for ProfileFileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Syntax { .. } => None,
            Self::Read { source, .. } => {
                cloudkit_core::unshown_source(&self.to_string(), std::error::Error::source(source))
            }
        }
    }
}

/// Names of properties whose values are secrets (never shown in `Debug`).
const SECRET_KEYS: &[&str] = &["aws_secret_access_key", "aws_session_token", "aws_security_token"];

/// One section: a profile, an `sso-session` or a `services` section.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Section {
    name: String,
    properties: HashMap<String, String>,
}

/// A profile is a [`Section`].
pub type Profile = Section;

impl Section {
    /// The section's name (`default`, `dev`, …).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A property's value (continuation lines are joined with `\n`; empty values are `Some("")`).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.properties.get(key).map(String::as_str)
    }

    /// A property's value, `None` when missing or blank.
    pub fn get_non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).map(str::trim).filter(|v| !v.is_empty())
    }

    /// The sub-properties of a property written as `key =` followed by indented `k = v` lines.
    /// Lines without `=` are ignored.
    pub fn sub_properties(&self, key: &str) -> Option<HashMap<String, String>> {
        let value = self.get(key)?;
        Some(
            value
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                .filter(|(k, _)| !k.is_empty())
                .collect(),
        )
    }

    /// The property names.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.properties.keys().map(String::as_str)
    }

    /// Whether the section has no properties.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }
}

impl fmt::Debug for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut keys: Vec<&str> = self.keys().collect();
        keys.sort_unstable();
        let mut map = f.debug_map();
        for k in keys {
            if SECRET_KEYS.contains(&k) {
                map.entry(&k, &"** redacted **");
            } else {
                map.entry(&k, &self.properties.get(k));
            }
        }
        map.finish()
    }
}

/// The sections of both files, merged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileSet {
    profiles: HashMap<String, Section>,
    sso_sessions: HashMap<String, Section>,
    services: HashMap<String, Section>,
    /// `[profile default]` seen in the config file (it then wins over `[default]`).
    config_profile_default: bool,
    config_path: Option<PathBuf>,
    credentials_path: Option<PathBuf>,
}

enum Target {
    Profile(String),
    SsoSession(String),
    Services(String),
    Ignored,
}

impl ProfileSet {
    /// Loads both files: `AWS_CONFIG_FILE` (default `~/.aws/config`) and
    /// `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`), home from [`Env::home_dir`].
    /// Missing files (or no home directory) are fine and give an empty set.
    pub async fn load(env: &Env, fs: &Fs) -> Result<ProfileSet, ProfileFileError> {
        let mut set = ProfileSet::default();
        let config = file_path(env, "AWS_CONFIG_FILE", "config");
        let credentials = file_path(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials");
        if let Some(path) = &config
            && let Some(text) = read_optional(fs, path).await?
        {
            set.parse_into(&text, FileKind::Config, &path.display().to_string())?;
        }
        if let Some(path) = &credentials
            && let Some(text) = read_optional(fs, path).await?
        {
            set.parse_into(&text, FileKind::Credentials, &path.display().to_string())?;
        }
        set.config_path = config;
        set.credentials_path = credentials;
        Ok(set)
    }

    /// Parses `text` from a file of `kind` and merges it into this set (later text wins for a
    /// repeated key). `path` is used in error messages only.
    pub fn parse_into(&mut self, text: &str, kind: FileKind, path: &str) -> Result<(), ProfileFileError> {
        let err = |line: usize, message: &str| ProfileFileError::Syntax {
            path: path.to_owned(),
            line,
            message: message.to_owned(),
        };
        let mut target: Option<Target> = None;
        let mut last_key: Option<String> = None;
        for (index, raw) in text.lines().enumerate() {
            let line_no = index + 1;
            let raw = raw.strip_suffix('\r').unwrap_or(raw);
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if trimmed.starts_with('[') {
                let header = strip_comment(trimmed, false);
                let Some(inner) = header.strip_prefix('[').and_then(|h| h.strip_suffix(']')) else {
                    return Err(err(line_no, "a section header must end with ']'"));
                };
                let name = inner.trim();
                if name.is_empty() {
                    return Err(err(line_no, "empty section name"));
                }
                target = Some(self.section_target(name, kind, path, line_no));
                last_key = None;
                continue;
            }
            if raw.starts_with(char::is_whitespace) {
                // A continuation of the previous property.
                let Some(t) = &target else {
                    return Err(err(line_no, "expected a section header ('[name]') before this line"));
                };
                let Some(key) = &last_key else {
                    return Err(err(line_no, "a continuation line must follow a property ('key = value')"));
                };
                if let Some(section) = self.section_mut(t) {
                    let value = section.properties.entry(key.clone()).or_default();
                    value.push('\n');
                    value.push_str(trimmed);
                }
                continue;
            }
            let Some(t) = &target else {
                return Err(err(line_no, "expected a section header ('[name]') before the first property"));
            };
            let Some((key, value)) = trimmed.split_once('=') else {
                return Err(err(line_no, "expected a property ('key = value')"));
            };
            let key = key.trim();
            if key.is_empty() {
                return Err(err(line_no, "a property must have a name before '='"));
            }
            let value = strip_comment(value, true).trim();
            if let Some(section) = self.section_mut(t) {
                section.properties.insert(key.to_owned(), value.to_owned());
            }
            last_key = Some(key.to_owned());
        }
        Ok(())
    }

    fn section_target(&mut self, name: &str, kind: FileKind, path: &str, line: usize) -> Target {
        let (prefix, rest) = match name.split_once(char::is_whitespace) {
            Some((p, r)) => (p, Some(r.trim())),
            None => (name, None),
        };
        match (kind, prefix, rest) {
            (FileKind::Config, "default", None) => {
                if self.config_profile_default {
                    // `[profile default]` already seen: it wins over `[default]`.
                    tracing::warn!(path, line, "ignoring [default]: [profile default] takes precedence");
                    return Target::Ignored;
                }
                self.ensure_profile("default");
                Target::Profile("default".to_owned())
            }
            (FileKind::Config, "profile", Some(n)) if valid_name(n) => {
                if n == "default" && !self.config_profile_default {
                    self.config_profile_default = true;
                    // drop what a preceding [default] section of the config file set
                    self.profiles.remove("default");
                }
                self.ensure_profile(n);
                Target::Profile(n.to_owned())
            }
            (FileKind::Config, "sso-session", Some(n)) if valid_name(n) => {
                self.sso_sessions
                    .entry(n.to_owned())
                    .or_insert_with(|| Section { name: n.to_owned(), ..Default::default() });
                Target::SsoSession(n.to_owned())
            }
            (FileKind::Config, "services", Some(n)) if valid_name(n) => {
                self.services
                    .entry(n.to_owned())
                    .or_insert_with(|| Section { name: n.to_owned(), ..Default::default() });
                Target::Services(n.to_owned())
            }
            (FileKind::Credentials, n, None) if valid_name(n) => {
                self.ensure_profile(n);
                Target::Profile(n.to_owned())
            }
            _ => {
                tracing::warn!(
                    path,
                    line,
                    section = name,
                    "ignoring a section the AWS file format does not define here"
                );
                Target::Ignored
            }
        }
    }

    fn ensure_profile(&mut self, name: &str) {
        self.profiles.entry(name.to_owned()).or_insert_with(|| Section { name: name.to_owned(), ..Default::default() });
    }

    fn section_mut(&mut self, target: &Target) -> Option<&mut Section> {
        match target {
            Target::Profile(n) => self.profiles.get_mut(n),
            Target::SsoSession(n) => self.sso_sessions.get_mut(n),
            Target::Services(n) => self.services.get_mut(n),
            Target::Ignored => None,
        }
    }

    /// A profile by name.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// An `[sso-session name]` section.
    pub fn sso_session(&self, name: &str) -> Option<&Section> {
        self.sso_sessions.get(name)
    }

    /// A `[services name]` section.
    pub fn services(&self, name: &str) -> Option<&Section> {
        self.services.get(name)
    }

    /// The profile names, sorted.
    pub fn profile_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.profiles.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    /// The config file that was looked at (it may not exist).
    pub fn config_path(&self) -> Option<&Path> {
        self.config_path.as_deref()
    }

    /// The credentials file that was looked at (it may not exist).
    pub fn credentials_path(&self) -> Option<&Path> {
        self.credentials_path.as_deref()
    }

    /// Where the profiles come from, for error messages.
    pub fn describe_files(&self) -> String {
        let show = |p: &Option<PathBuf>| {
            p.as_ref().map_or_else(|| "(no home directory)".to_owned(), |p| p.display().to_string())
        };
        format!("{} and {}", show(&self.config_path), show(&self.credentials_path))
    }
}

/// The profile name to use: `explicit` (from code), else `AWS_PROFILE`, else `default`.
/// The flag says whether it was chosen explicitly (code or `AWS_PROFILE`).
pub fn selected_profile_name(explicit: Option<&str>, env: &Env) -> (String, bool) {
    if let Some(name) = explicit.map(str::trim).filter(|n| !n.is_empty()) {
        return (name.to_owned(), true);
    }
    if let Some(name) = env.get_non_empty("AWS_PROFILE") {
        return (name.trim().to_owned(), true);
    }
    ("default".to_owned(), false)
}

fn file_path(env: &Env, var: &str, file: &str) -> Option<PathBuf> {
    match env.get_non_empty(var) {
        Some(p) => Some(env.expand_home(&p)),
        None => env.home_dir().map(|h| h.join(".aws").join(file)),
    }
}

async fn read_optional(fs: &Fs, path: &Path) -> Result<Option<String>, ProfileFileError> {
    match fs.read_to_string(path).await {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            tracing::debug!(path = %path.display(), "profile file not found (fine)");
            Ok(None)
        }
        Err(e) => Err(ProfileFileError::Read { path: path.display().to_string(), source: e }),
    }
}

/// Cuts an inline comment. In property values a comment marker must follow whitespace
/// (`key = a#b` keeps `a#b`); in section headers any `#`/`;` after the name starts one.
fn strip_comment(text: &str, needs_whitespace: bool) -> &str {
    let mut prev_ws = false;
    for (i, c) in text.char_indices() {
        if (c == '#' || c == ';') && (!needs_whitespace || prev_ws) {
            return text[..i].trim_end();
        }
        prev_ws = c.is_whitespace();
    }
    text.trim_end()
}

/// Profile names: letters, digits and `_ - / . % @ : +` (as the AWS SDKs accept).
fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || "_-/.%@:+".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(config: &str, creds: &str) -> ProfileSet {
        let mut set = ProfileSet::default();
        set.parse_into(config, FileKind::Config, "config").unwrap();
        set.parse_into(creds, FileKind::Credentials, "credentials").unwrap();
        set
    }

    #[test]
    fn sections_by_file_kind() {
        let set = parse(
            "[default]\nregion = us-east-1\n[profile dev]\nregion = eu-west-1\n[notaprofile]\nregion = x\n\
             [sso-session corp]\nsso_region = us-east-1\n[services local]\ns3 =\n  endpoint_url = http://localhost:9000\n",
            "[dev]\naws_access_key_id = AKID\n[profile ignored]\nx = 1\n",
        );
        assert_eq!(set.profile_names(), vec!["default", "dev"]);
        assert_eq!(set.profile("dev").unwrap().get("region"), Some("eu-west-1"));
        assert_eq!(set.profile("dev").unwrap().get("aws_access_key_id"), Some("AKID"));
        assert!(set.profile("notaprofile").is_none() && set.profile("ignored").is_none());
        assert_eq!(set.sso_session("corp").unwrap().get("sso_region"), Some("us-east-1"));
        let s3 = set.services("local").unwrap().sub_properties("s3").unwrap();
        assert_eq!(s3.get("endpoint_url").map(String::as_str), Some("http://localhost:9000"));
    }

    #[test]
    fn comments_whitespace_and_continuations() {
        let set = parse(
            "# top comment\n; another\n  [profile a]   # trailing\nkey=value\nspaced key  =  spaced value  ; c\n\
             url = http://h/#frag\ninline = v # comment\nmulti = first\n  second\n\tthird\nempty =\n",
            "",
        );
        let a = set.profile("a").unwrap();
        assert_eq!(a.get("key"), Some("value"));
        assert_eq!(a.get("spaced key"), Some("spaced value"));
        assert_eq!(a.get("url"), Some("http://h/#frag"));
        assert_eq!(a.get("inline"), Some("v"));
        assert_eq!(a.get("multi"), Some("first\nsecond\nthird"));
        assert_eq!(a.get("empty"), Some(""));
        assert_eq!(a.get_non_empty("empty"), None);
    }

    #[test]
    fn credentials_file_wins_and_sections_merge() {
        let set = parse(
            "[profile p]\naws_access_key_id = FROMCONFIG\nregion = r1\n[profile p]\nregion = r2\n",
            "[p]\naws_access_key_id = FROMCREDS\n",
        );
        let p = set.profile("p").unwrap();
        assert_eq!(p.get("aws_access_key_id"), Some("FROMCREDS"));
        assert_eq!(p.get("region"), Some("r2"));
    }

    #[test]
    fn profile_default_beats_default_in_config() {
        let set = parse("[default]\nregion = a\n[profile default]\nregion = b\n[default]\nregion = c\n", "");
        assert_eq!(set.profile("default").unwrap().get("region"), Some("b"));
    }

    #[test]
    fn malformed_lines_are_errors_with_file_and_line() {
        let cases = [
            ("[default\nx = 1\n", 1, "must end with ']'"),
            ("x = 1\n", 1, "section header"),
            ("[default]\nnot a property\n", 2, "key = value"),
            ("[default]\n= 3\n", 2, "name before '='"),
            ("[default]\n\n  continued\n", 3, "continuation"),
            ("[]\n", 1, "empty section"),
        ];
        for (text, line, needle) in cases {
            let mut set = ProfileSet::default();
            let err = set.parse_into(text, FileKind::Config, "/h/.aws/config").unwrap_err();
            let shown = err.to_string();
            assert!(shown.starts_with(&format!("/h/.aws/config:{line}: ")), "{shown}");
            assert!(shown.contains(needle), "{shown}");
        }
    }

    #[test]
    fn debug_hides_secrets() {
        let set = parse(
            "",
            "[default]\naws_access_key_id = AKID\naws_secret_access_key = SUPERSECRET\naws_session_token = TOKENVALUE\n",
        );
        let shown = format!("{set:?}");
        assert!(shown.contains("AKID"));
        assert!(!shown.contains("SUPERSECRET") && !shown.contains("TOKENVALUE"), "{shown}");
    }

    #[tokio::test]
    async fn load_uses_env_paths_and_home_and_tolerates_missing_files() {
        let env = Env::from_pairs([("HOME", "/home/u")]);
        let fs = Fs::from_files([("/home/u/.aws/config", "[profile x]\nregion = r\n")]);
        let set = ProfileSet::load(&env, &fs).await.unwrap();
        assert_eq!(set.profile("x").unwrap().get("region"), Some("r"));
        assert_eq!(set.credentials_path(), Some(Path::new("/home/u/.aws/credentials")));

        let env = Env::from_pairs([
            ("HOME", "/home/u"),
            ("AWS_CONFIG_FILE", "~/custom/cfg"),
            ("AWS_SHARED_CREDENTIALS_FILE", "/etc/creds"),
        ]);
        let fs = Fs::from_files([
            ("/home/u/custom/cfg", "[default]\nregion = a\n"),
            ("/etc/creds", "[default]\nregion = b\n"),
        ]);
        let set = ProfileSet::load(&env, &fs).await.unwrap();
        assert_eq!(set.profile("default").unwrap().get("region"), Some("b"));

        let empty =
            ProfileSet::load(&Env::from_pairs::<&str, &str>([]), &Fs::from_files::<&str, &str>([])).await.unwrap();
        assert!(empty.profile_names().is_empty());
        assert!(empty.describe_files().contains("no home directory"));
    }

    #[tokio::test]
    async fn unreadable_file_is_an_error() {
        let env = Env::from_pairs([("HOME", "/h")]);
        let fs = Fs::from_files([("/h/.aws/config", vec![0xff, 0xfe, 0x00])]);
        let err = ProfileSet::load(&env, &fs).await.unwrap_err();
        assert!(matches!(err, ProfileFileError::Read { .. }), "{err}");
    }

    #[test]
    fn profile_selection() {
        let env = Env::from_pairs([("AWS_PROFILE", "fromenv")]);
        assert_eq!(selected_profile_name(Some("code"), &env), ("code".to_owned(), true));
        assert_eq!(selected_profile_name(None, &env), ("fromenv".to_owned(), true));
        assert_eq!(selected_profile_name(None, &Env::from_pairs::<&str, &str>([])), ("default".to_owned(), false));
    }
}
