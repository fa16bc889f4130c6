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
//! the secret) never appears in errors or logs, and neither does the standard error (only its
//! length: a failing helper may print a token there).
//!
//! The command gets [`DEFAULT_TIMEOUT`] (60 s, [`CredentialProcessProvider::with_timeout`]) to
//! finish: after that it is killed and the load fails with [`CredentialsError::TimedOut`]. Its
//! standard output is read up to [`MAX_OUTPUT`] (64 KiB): more is an error (the command is
//! killed), never an unbounded buffer; its standard error is drained and only counted. (A
//! command's own child processes are not killed with it.)

use std::fmt;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use cloudkit_core::SecretString;
use cloudkit_core::internal::date::parse_rfc3339;
use cloudkit_core::internal::json::{JsonError, Value};
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials};
use tokio::io::{AsyncRead, AsyncReadExt};

const NAME: &str = "credential_process";

/// How long a `credential_process` command may run before it is killed (60 s).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The most standard output a `credential_process` command may print (64 KiB; the JSON document
/// is well under 4 KiB).
pub const MAX_OUTPUT: usize = 64 * 1024;

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
    timeout: Duration,
}

impl fmt::Debug for CredentialProcessProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The command line may carry arguments the user considers sensitive; show the program only.
        let program = self.command.split_whitespace().next().unwrap_or("");
        f.debug_struct("CredentialProcessProvider")
            .field("profile", &self.profile)
            .field("program", &program)
            .field("timeout", &self.timeout)
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
        Self { profile: profile.into(), command: command.into(), timeout: DEFAULT_TIMEOUT }
    }

    /// How long the command may run before it is killed (default [`DEFAULT_TIMEOUT`];
    /// `Duration::MAX`: no limit).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The time limit of one run.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    fn error(&self, message: impl fmt::Display) -> CredentialsError {
        CredentialsError::provider_error(NAME, format!("profile `{}`: {message}", self.profile), None)
    }
}

/// What a finished command left behind.
struct Finished {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr_len: u64,
}

/// Why a run ended without a [`Finished`].
enum RunError {
    Io(std::io::Error),
    TooMuchOutput,
}

/// Reads at most `limit` bytes; `Ok(None)` when there were more.
async fn read_capped(pipe: Option<impl AsyncRead + Unpin>, limit: usize) -> std::io::Result<Option<Vec<u8>>> {
    let Some(pipe) = pipe else { return Ok(Some(Vec::new())) };
    let mut out = Vec::new();
    let cap = u64::try_from(limit).unwrap_or(u64::MAX).saturating_add(1);
    pipe.take(cap).read_to_end(&mut out).await?;
    Ok((out.len() <= limit).then_some(out))
}

/// Reads to the end, keeping nothing but the count.
async fn drain(pipe: Option<impl AsyncRead + Unpin>) -> std::io::Result<u64> {
    match pipe {
        Some(mut pipe) => tokio::io::copy(&mut pipe, &mut tokio::io::sink()).await,
        None => Ok(0),
    }
}

impl CredentialProcessProvider {
    fn command(&self) -> tokio::process::Command {
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
        command
    }

    /// Runs the command to its end: its exit status, its output (capped) and how much it wrote
    /// to standard error.
    async fn run(child: &mut tokio::process::Child) -> Result<Finished, RunError> {
        use std::future::Future;
        use std::task::Poll;

        // Both pipes are read at once (a command blocked on a full standard error pipe would
        // never close its standard output); too much output ends the run at once.
        let mut stdout = std::pin::pin!(read_capped(child.stdout.take(), MAX_OUTPUT));
        let mut stderr = std::pin::pin!(drain(child.stderr.take()));
        let (mut out, mut err_len) = (None, None);
        std::future::poll_fn(|cx| {
            if out.is_none()
                && let Poll::Ready(read) = stdout.as_mut().poll(cx)
            {
                out = Some(read);
            }
            if err_len.is_none()
                && let Poll::Ready(count) = stderr.as_mut().poll(cx)
            {
                err_len = Some(count);
            }
            let stdout_failed = matches!(out, Some(Err(_) | Ok(None)));
            let stderr_failed = matches!(err_len, Some(Err(_)));
            if stdout_failed || stderr_failed || (out.is_some() && err_len.is_some()) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await;
        let stdout = match out {
            Some(Ok(Some(bytes))) => bytes,
            Some(Ok(None)) => return Err(RunError::TooMuchOutput),
            Some(Err(e)) => return Err(RunError::Io(e)),
            None => Vec::new(),
        };
        let stderr_len = match err_len {
            Some(Ok(n)) => n,
            Some(Err(e)) => return Err(RunError::Io(e)),
            None => 0,
        };
        let status = child.wait().await.map_err(RunError::Io)?;
        Ok(Finished { status, stdout, stderr_len })
    }
}

#[async_trait]
impl ProvideCredentials for CredentialProcessProvider {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        tracing::debug!(profile = %self.profile, "running credential_process");
        let mut child = self
            .command()
            .spawn()
            .map_err(|e| self.error(format_args!("could not start the credential_process command: {e}")))?;
        let finished = tokio::time::timeout(self.timeout, Self::run(&mut child)).await;
        let finished = match finished {
            Ok(Ok(finished)) => finished,
            Ok(Err(failure)) => {
                // `kill_on_drop` would do it too; not waiting for the drop keeps the order plain.
                let _ = child.start_kill();
                return Err(match failure {
                    RunError::TooMuchOutput => self.error(format_args!(
                        "credential_process printed more than {MAX_OUTPUT} bytes on standard output; it was stopped"
                    )),
                    RunError::Io(e) => {
                        self.error(format_args!("could not read the credential_process command's output: {e}"))
                    }
                });
            }
            Err(_) => {
                let _ = child.start_kill();
                tracing::warn!(profile = %self.profile, timeout = ?self.timeout, "credential_process timed out; killed it");
                return Err(CredentialsError::TimedOut { provider: NAME, after: self.timeout });
            }
        };
        if !finished.status.success() {
            let status = finished.status.code().map_or_else(|| "a signal".to_owned(), |c| format!("code {c}"));
            // Standard error is never quoted: a failing helper may print a token or a key there.
            let stderr = match finished.stderr_len {
                0 => String::new(),
                n => format!(" (it wrote {n} bytes to standard error, not shown)"),
            };
            return Err(self.error(format_args!("credential_process exited with {status}{stderr}")));
        }
        parse_output(&finished.stdout)
            .map(|c| c.with_source(format!("credential_process of profile `{}`", self.profile)))
            .map_err(|m| self.error(m))
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
        let c = ok.clone().with_timeout(Duration::MAX).provide_credentials().await.unwrap();
        assert_eq!(c.access_key_id(), "AKIDPROC");
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
        assert!(shown.contains("profile `broken`") && shown.contains("code 3"), "{shown}");
        assert!(!shown.contains("SECRETOUT"), "{shown}");

        let garbage = CredentialProcessProvider::new("g", "printf 'not json SECRETOUT'");
        let shown = garbage.provide_credentials().await.unwrap_err().to_string();
        assert!(
            shown.contains("profile `g`") && shown.contains("not valid JSON") && !shown.contains("SECRETOUT"),
            "{shown}"
        );
    }

    /// Issue 15, defect 18: a failing command's standard error was quoted (512 characters) in
    /// the error; helpers print tokens there. Only the exit status and the byte count remain.
    #[cfg(unix)]
    #[tokio::test]
    async fn standard_error_is_counted_never_quoted() {
        let leaky =
            CredentialProcessProvider::new("leaky", "echo 'refresh failed for token SECRETTOKENVALUE' >&2; exit 2");
        let e = leaky.provide_credentials().await.unwrap_err();
        let shown = format!("{e} {e:?}");
        assert!(!shown.contains("SECRETTOKENVALUE") && !shown.contains("refresh failed for"), "{shown}");
        assert!(shown.contains("code 2") && shown.contains("wrote 42 bytes to standard error"), "{shown}");
        // a command printing nothing there says nothing about it
        let quiet = CredentialProcessProvider::new("quiet", "exit 4").provide_credentials().await.unwrap_err();
        assert!(!quiet.to_string().contains("standard error"), "{quiet}");
        // a flood on standard error is drained (the command is not blocked on a full pipe), not kept
        let flood = CredentialProcessProvider::new("flood", "head -c 5000000 /dev/zero >&2; exit 1");
        let e = flood.provide_credentials().await.unwrap_err();
        assert!(e.to_string().contains("wrote 5000000 bytes"), "{e}");
    }

    /// Issue 15, defect 10: the command ran without a time limit; a hung helper held every
    /// request that needed credentials. Now it is killed after the provider's timeout.
    #[cfg(unix)]
    #[tokio::test]
    async fn a_hung_command_is_killed_at_the_timeout() {
        let dir = std::env::temp_dir().join(format!("cloudkit-process-timeout-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let pid_file = dir.join("pid");
        let command = format!("echo $$ > '{}'; exec sleep 30", pid_file.display());
        let hung = CredentialProcessProvider::new("hung", command).with_timeout(Duration::from_millis(300));
        assert_eq!(hung.timeout(), Duration::from_millis(300));
        assert_eq!(CredentialProcessProvider::new("p", "true").timeout(), DEFAULT_TIMEOUT);
        let started = std::time::Instant::now();
        let e = hung.provide_credentials().await.unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
        assert!(
            matches!(e, CredentialsError::TimedOut { provider: "credential_process", after } if after == Duration::from_millis(300)),
            "{e:?}"
        );
        #[cfg(target_os = "linux")]
        {
            let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_owned();
            // killed: gone, or a zombie waiting to be reaped
            let mut alive = true;
            for _ in 0..50 {
                let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
                let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start().chars().next());
                if stat.is_empty() || state == Some(Some('Z')) {
                    alive = false;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            assert!(!alive, "the command {pid} is still running");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Issue 15, defect 10: standard output was read whole, however long. More than
    /// `MAX_OUTPUT` is an error, and the command is stopped.
    #[cfg(unix)]
    #[tokio::test]
    async fn too_much_output_is_an_error() {
        let chatty = CredentialProcessProvider::new("chatty", "head -c 70000 /dev/zero; sleep 30");
        let started = std::time::Instant::now();
        let e = chatty.provide_credentials().await.unwrap_err();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "stopped at once, not at the end: {:?}",
            started.elapsed()
        );
        assert!(matches!(e, CredentialsError::ProviderError { .. }), "{e:?}");
        assert!(e.to_string().contains("more than 65536 bytes"), "{e}");
        // exactly the limit is fine (and then not JSON)
        let at_limit = CredentialProcessProvider::new("limit", "head -c 65536 /dev/zero");
        let e = at_limit.provide_credentials().await.unwrap_err();
        assert!(e.to_string().contains("not valid JSON"), "{e}");
    }
}
