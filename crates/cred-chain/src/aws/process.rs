//! `credential_process`: credentials printed by an external command (JSON, version 1).
//!
//! The command runs through `sh -c` (`cmd.exe /C` on Windows). Its standard output must be
//!
//! ```json
//! {"Version": 1, "AccessKeyId": "…", "SecretAccessKey": "…", "SessionToken": "…", "Expiration": "2030-01-01T00:00:00Z"}
//! ```
//!
//! with `SessionToken` and `Expiration` (RFC 3339) optional. A non-zero exit or unusable output
//! is a [`CredentialsError::ProviderError`] naming the profile; the output itself (which holds
//! the secret) never appears in errors or logs.

use std::fmt;
use std::process::Stdio;

use async_trait::async_trait;
use cloudkit_core::SecretString;
use cloudkit_core::internal::date::parse_rfc3339;
use cloudkit_core::internal::json::{JsonError, Value};
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials};

const NAME: &str = "credential_process";
/// Longest part of the command's standard error quoted in an error.
const MAX_STDERR: usize = 512;

/// Runs a `credential_process` command and parses its output.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use cloudkit_cred_chain::aws::process::CredentialProcessProvider;
/// use cloudkit_signer::aws::ProvideCredentials;
/// let p = CredentialProcessProvider::new(
///     "dev",
///     r#"printf '{"Version": 1, "AccessKeyId": "AKID", "SecretAccessKey": "s"}'"#,
/// );
/// # #[cfg(unix)]
/// assert_eq!(p.provide_credentials().await.unwrap().access_key_id(), "AKID");
/// # }
/// ```
#[derive(Clone)]
pub struct CredentialProcessProvider {
    profile: String,
    command: String,
}

impl fmt::Debug for CredentialProcessProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The command line may carry arguments the user considers sensitive; show the program only.
        let program = self.command.split_whitespace().next().unwrap_or("");
        f.debug_struct("CredentialProcessProvider")
            .field("profile", &self.profile)
            .field("program", &program)
            .finish_non_exhaustive()
    }
}

struct ProcessOutput {
    version: i64,
    access_key_id: String,
    secret_access_key: String,
    session_token: Option<String>,
    expiration: Option<String>,
}

impl ProcessOutput {
    fn parse(stdout: &[u8]) -> Result<Self, JsonError> {
        let doc = Value::parse(stdout)?;
        Ok(Self {
            version: doc.required_i64("Version")?,
            access_key_id: doc.required_str("AccessKeyId")?.to_owned(),
            secret_access_key: doc.required_str("SecretAccessKey")?.to_owned(),
            session_token: doc.string_field("SessionToken")?,
            expiration: doc.string_field("Expiration")?,
        })
    }
}

impl CredentialProcessProvider {
    /// A provider running `command` for profile `profile` (named in errors).
    pub fn new(profile: impl Into<String>, command: impl Into<String>) -> Self {
        Self { profile: profile.into(), command: command.into() }
    }

    fn error(&self, message: impl fmt::Display) -> CredentialsError {
        CredentialsError::provider_error(NAME, format!("profile `{}`: {message}", self.profile), None)
    }
}

#[async_trait]
impl ProvideCredentials for CredentialProcessProvider {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        #[cfg(windows)]
        let mut command = {
            let mut c = tokio::process::Command::new("cmd.exe");
            c.arg("/C").arg(&self.command);
            c
        };
        #[cfg(not(windows))]
        let mut command = {
            let mut c = tokio::process::Command::new("sh");
            c.arg("-c").arg(&self.command);
            c
        };
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);
        tracing::debug!(profile = %self.profile, "running credential_process");
        let output = command
            .output()
            .await
            .map_err(|e| self.error(format_args!("could not start the credential_process command: {e}")))?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let stderr = stderr.trim();
            let cut: String = stderr.chars().take(MAX_STDERR).collect();
            let status = output.status.code().map_or_else(|| "a signal".to_owned(), |c| format!("code {c}"));
            return Err(self.error(format_args!(
                "credential_process exited with {status}{}{}",
                if cut.is_empty() { "" } else { "; stderr: " },
                cut
            )));
        }
        parse_output(&output.stdout).map_err(|m| self.error(m))
    }
}

/// Parses the JSON v1 output. Error messages describe the problem without quoting the output.
fn parse_output(stdout: &[u8]) -> Result<Credentials, String> {
    // The error names the problem and the field or byte offset, never a value (the secret).
    let parsed =
        ProcessOutput::parse(stdout).map_err(|e| format!("credential_process output is not valid JSON v1 ({e})"))?;
    if parsed.version != 1 {
        return Err(format!("credential_process output has Version {}, only 1 is supported", parsed.version));
    }
    if parsed.access_key_id.trim().is_empty() || parsed.secret_access_key.is_empty() {
        return Err("credential_process output has an empty AccessKeyId or SecretAccessKey".to_owned());
    }
    let expiry = match parsed.expiration.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(parse_rfc3339(text).ok_or_else(|| {
            format!("credential_process output has an Expiration that is not an RFC 3339 time: {text:?}")
        })?),
    };
    Ok(Credentials::new(
        parsed.access_key_id,
        SecretString::new(parsed.secret_access_key),
        parsed.session_token.filter(|t| !t.is_empty()).map(SecretString::new),
        expiry,
        NAME,
    ))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn parses_v1_output() {
        let c = parse_output(
            br#"{"Version":1,"AccessKeyId":"AKID","SecretAccessKey":"s","SessionToken":"t","Expiration":"2030-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        assert_eq!(c.access_key_id(), "AKID");
        assert_eq!(c.session_token().map(SecretString::expose), Some("t"));
        assert_eq!(c.expiry(), Some(UNIX_EPOCH + Duration::from_secs(1_893_456_000)));
        let bad_version = parse_output(br#"{"Version":2,"AccessKeyId":"A","SecretAccessKey":"s"}"#).unwrap_err();
        assert!(bad_version.contains("Version 2"));
        let bad_time =
            parse_output(br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"s","Expiration":"tomorrow"}"#)
                .unwrap_err();
        assert!(bad_time.contains("RFC 3339"));
    }

    #[test]
    fn parse_errors_never_quote_the_secret() {
        for body in [
            &br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":12345678}"#[..],
            br#"{"Version":"TOPSECRET","AccessKeyId":"A","SecretAccessKey":"TOPSECRET"}"#,
            br#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"TOPSECRET""#,
            b"TOPSECRET",
        ] {
            let e = parse_output(body).unwrap_err();
            assert!(!e.contains("TOPSECRET") && !e.contains("12345678"), "{e}");
        }
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn runs_a_real_command() {
        let ok = CredentialProcessProvider::new(
            "dev",
            r#"printf '{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "PROCSECRET", "SessionToken": "PROCTOKEN", "Expiration": "2031-05-06T07:08:09+02:00"}'"#,
        );
        let c = ok.provide_credentials().await.unwrap();
        assert_eq!(c.access_key_id(), "AKIDPROC");
        assert_eq!(c.secret_access_key().expose(), "PROCSECRET");
        assert_eq!(c.provider_name(), "credential_process");
        assert_eq!(c.expiry(), parse_rfc3339("2031-05-06T05:08:09Z"));
        assert!(!format!("{ok:?}").contains("PROCSECRET"));

        let failing = CredentialProcessProvider::new("broken", "echo oops >&2; printf 'SECRETOUT'; exit 3");
        let e = failing.provide_credentials().await.unwrap_err();
        let shown = e.to_string();
        assert!(matches!(e, CredentialsError::ProviderError { .. }));
        assert!(shown.contains("profile `broken`") && shown.contains("code 3") && shown.contains("oops"), "{shown}");
        assert!(!shown.contains("SECRETOUT"), "{shown}");

        let garbage = CredentialProcessProvider::new("g", "printf 'not json SECRETOUT'");
        let shown = garbage.provide_credentials().await.unwrap_err().to_string();
        assert!(
            shown.contains("profile `g`") && shown.contains("not valid JSON") && !shown.contains("SECRETOUT"),
            "{shown}"
        );
    }
}
