//! One error shape for every provider: what failed, where, and whether retrying could help.

use std::borrow::Cow;
use std::fmt;

use http::StatusCode;

/// A boxed error source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What kind of failure an [`Error`] is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The service answered with an error status (4xx/5xx, or a 200 carrying an error body).
    Service,
    /// The request could not be sent or the response could not be read (connect, reset, TLS).
    Transport,
    /// An attempt or the whole operation ran out of time.
    Timeout,
    /// Credentials could not be loaded for signing.
    Credentials,
    /// The request could not be signed.
    Signing,
    /// The caller's input was rejected before anything was sent.
    InvalidInput,
    /// The response arrived but could not be understood (bad XML/JSON, missing field).
    Decode,
}

impl ErrorKind {
    fn label(self) -> &'static str {
        match self {
            ErrorKind::Service => "service error",
            ErrorKind::Transport => "transport error",
            ErrorKind::Timeout => "timed out",
            ErrorKind::Credentials => "credentials error",
            ErrorKind::Signing => "signing error",
            ErrorKind::InvalidInput => "invalid input",
            ErrorKind::Decode => "could not decode the response",
        }
    }
}

/// Details a provider extracts from an error response body.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceErrorDetails {
    /// The provider's error code (`NoSuchKey`, `ContainerNotFound`, `notFound`, …).
    pub code: Option<String>,
    /// The provider's message.
    pub message: Option<String>,
    /// The request id the provider assigned, for support tickets.
    pub request_id: Option<String>,
}

/// The error every cloudkit client returns (provider crates wrap it in typed variants).
///
/// `Display` is one line a person can act on, e.g.
/// `S3.GetObject failed: HTTP 404 NoSuchKey: The specified key does not exist. (request id 4442587FB7D0A2F9; not retryable)`.
///
/// # The error chain
///
/// `Display` says what failed and why: when the error has no message of its own, it prints the
/// text of the error it wraps (`… failed: transport error: Connect: connection refused`). A layer
/// either prints its cause or returns it from [`source`](std::error::Error::source), never both,
/// so an error-chain printer (anyhow's `{:#}`, eyre, a CLI) shows every text once:
///
/// - with a message, `source()` is the wrapped error;
/// - without one, the wrapped error's text is already in `Display`, so `source()` skips it and
///   returns *its* `source()` (the first layer down that was not printed).
///
/// The wrapped error itself is always [`Error::cause`], for downcasting:
///
/// ```
/// use cloudkit_core::{Error, ErrorKind, TransportError, TransportErrorKind};
///
/// let e = Error::new(ErrorKind::Transport, "S3", "GetObject")
///     .with_source(TransportError::new(TransportErrorKind::Connect, "connection refused"));
/// assert_eq!(e.to_string(), "S3.GetObject failed: transport error: Connect: connection refused (not retryable)");
/// assert!(std::error::Error::source(&e).is_none(), "the transport error's text is in Display");
/// let transport = e.cause().and_then(|c| c.downcast_ref::<TransportError>()).unwrap();
/// assert_eq!(transport.kind(), TransportErrorKind::Connect);
/// ```
pub struct Error {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    service: Cow<'static, str>,
    operation: Cow<'static, str>,
    status: Option<StatusCode>,
    details: ServiceErrorDetails,
    retryable: bool,
    throttling: bool,
    attempts: u32,
    note: Option<Cow<'static, str>>,
    source: Option<BoxError>,
}

impl Error {
    /// A new error of `kind` for `service`/`operation`.
    pub fn new(
        kind: ErrorKind,
        service: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            inner: Box::new(Inner {
                kind,
                service: service.into(),
                operation: operation.into(),
                status: None,
                details: ServiceErrorDetails::default(),
                retryable: false,
                throttling: false,
                attempts: 0,
                note: None,
                source: None,
            }),
        }
    }

    /// An input-validation error: nothing was sent.
    pub fn invalid_input(
        service: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(ErrorKind::InvalidInput, service, operation).with_message(message)
    }

    /// A response that could not be decoded.
    pub fn decode(
        service: impl Into<Cow<'static, str>>,
        operation: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
    ) -> Self {
        Self::new(ErrorKind::Decode, service, operation).with_message(message)
    }

    /// Sets the HTTP status.
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.inner.status = Some(status);
        self
    }

    /// Sets the provider error code, message and request id.
    pub fn with_details(mut self, details: ServiceErrorDetails) -> Self {
        self.inner.details = details;
        self
    }

    /// Sets the provider error code.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.inner.details.code = Some(code.into());
        self
    }

    /// Sets the message.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.inner.details.message = Some(message.into());
        self
    }

    /// Marks whether retrying could have helped.
    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.inner.retryable = retryable;
        self
    }

    /// Marks the failure as the service asking the client to slow down (the pipeline sets this
    /// from the service's [`ClassifyRetry`](crate::ClassifyRetry)).
    pub fn with_throttling(mut self, throttling: bool) -> Self {
        self.inner.throttling = throttling;
        self
    }

    /// Records how many attempts were made.
    pub fn with_attempts(mut self, attempts: u32) -> Self {
        self.inner.attempts = attempts;
        self
    }

    /// Adds a short note shown at the end of `Display` (e.g. "retry quota exhausted").
    pub fn with_note(mut self, note: impl Into<Cow<'static, str>>) -> Self {
        self.inner.note = Some(note.into());
        self
    }

    /// Keeps the underlying error: [`Error::cause`] returns it. Without a message, `Display`
    /// shows its text (see "The error chain" above).
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Renames the operation (used when one client call runs several HTTP operations).
    pub fn with_operation(mut self, operation: impl Into<Cow<'static, str>>) -> Self {
        self.inner.operation = operation.into();
        self
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// The service (`S3`, `EC2`, `STS`, `AzureBlob`, `GCS`, …).
    pub fn service(&self) -> &str {
        &self.inner.service
    }

    /// The operation (`GetObject`, `DescribeInstances`, …).
    pub fn operation(&self) -> &str {
        &self.inner.operation
    }

    /// The HTTP status, when the service answered.
    pub fn status(&self) -> Option<StatusCode> {
        self.inner.status
    }

    /// The provider's error code, when the service sent one.
    pub fn code(&self) -> Option<&str> {
        self.inner.details.code.as_deref()
    }

    /// The provider's (or cloudkit's) message.
    pub fn message(&self) -> Option<&str> {
        self.inner.details.message.as_deref()
    }

    /// The provider's request id.
    pub fn request_id(&self) -> Option<&str> {
        self.inner.details.request_id.as_deref()
    }

    /// Whether the failure was of a kind that retrying can fix (throttling, 5xx, connect errors).
    /// When this error is returned after retries, it is the last attempt's classification.
    pub fn is_retryable(&self) -> bool {
        self.inner.retryable
    }

    /// Whether the service asked the client to slow down: HTTP 429, or an error code the
    /// service's classifier calls throttling (`SlowDown`, `ServerBusy`, `rateLimitExceeded`, …).
    pub fn is_throttling(&self) -> bool {
        self.inner.throttling || self.inner.status == Some(StatusCode::TOO_MANY_REQUESTS)
    }

    /// How many attempts were made before giving up (0 if nothing was sent).
    pub fn attempts(&self) -> u32 {
        self.inner.attempts
    }

    /// The error this one wraps (a [`TransportError`], a [`SignError`](crate::SignError), a
    /// credentials error …), for downcasting.
    ///
    /// Unlike [`source`](std::error::Error::source), this is always the wrapped error, whether
    /// or not `Display` already shows its text.
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        self.inner.source.as_deref()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        write!(f, "{}.{} failed: ", i.service, i.operation)?;
        match (i.kind, i.status) {
            (ErrorKind::Service, Some(status)) => write!(f, "HTTP {}", status.as_u16())?,
            (kind, Some(status)) => write!(f, "{} (HTTP {})", kind.label(), status.as_u16())?,
            (kind, None) => f.write_str(kind.label())?,
        }
        if let Some(code) = &i.details.code {
            write!(f, " {code}")?;
        }
        if let Some(message) = &i.details.message {
            write!(f, ": {}", one_line(message))?;
        } else if let Some(source) = &i.source {
            write!(f, ": {}", one_line(&source.to_string()))?;
        }
        let mut extras: Vec<String> = Vec::new();
        if let Some(id) = &i.details.request_id {
            extras.push(format!("request id {id}"));
        }
        // A failure before anything was sent (bad input, no credentials, signing) is never retried
        // by the pipeline: saying so adds nothing, and the wrapped error's text (a credential
        // source's own "(not retryable)") would make it read twice.
        let before_sending = matches!(i.kind, ErrorKind::InvalidInput | ErrorKind::Credentials | ErrorKind::Signing);
        if i.retryable {
            extras.push("retryable".into());
        } else if !before_sending {
            extras.push("not retryable".into());
        }
        if i.attempts > 1 {
            extras.push(format!("gave up after {} attempts", i.attempts));
        }
        if let Some(note) = &i.note {
            extras.push(note.to_string());
        }
        if !extras.is_empty() {
            write!(f, " ({})", extras.join("; "))?;
        }
        Ok(())
    }
}

/// The longest text `Display` takes from a message or a wrapped error, in bytes.
const MAX_TEXT: usize = 2000;

/// `s` on one line (whitespace runs become one space). Text longer than [`MAX_TEXT`] is cut after
/// the last whole word that fits, and the cut says how many words were left out.
fn one_line(s: &str) -> String {
    excerpt(s, MAX_TEXT)
}

/// The first error in the chain starting at `cause` whose text `shown` does not already include:
/// what an error whose `Display` is `shown` returns from [`source`](std::error::Error::source) so
/// that an error-chain printer never prints the same text twice.
///
/// For error types that put their cause's text in their own message (`"could not assume role r:
/// {e}"`) and keep the cause for downcasting: `Display` says why, `source()` goes on below what
/// was printed. Texts are compared on one line, as `Display` shows them.
///
/// ```
/// use std::error::Error as _;
///
/// let io = std::io::Error::other("disk full");
/// assert!(cloudkit_core::unshown_source("could not write: disk full", Some(&io)).is_none());
/// assert!(cloudkit_core::unshown_source("could not write", Some(&io)).is_some());
/// ```
pub fn unshown_source<'a>(
    shown: &str,
    cause: Option<&'a (dyn std::error::Error + 'static)>,
) -> Option<&'a (dyn std::error::Error + 'static)> {
    let shown = one_line(shown);
    let mut next = cause;
    while let Some(e) = next {
        let text = one_line(&e.to_string());
        if text.is_empty() || !shown.contains(&text) {
            return Some(e);
        }
        next = e.source();
    }
    None
}

/// `items` joined with `"; "` on one line, cut after whole items once `max_len` bytes are reached,
/// saying how many were left out (`"a; b; … and 3 more"`). An item longer than half of
/// `max_len` is itself cut after a whole word. For lists in error messages (what a credential
/// chain tried), so the end of the message survives and nothing is cut mid-word.
///
/// ```
/// let tried = ["environment: not set", "profile: no file", "IMDS: disabled", "ECS: not set"];
/// assert_eq!(cloudkit_core::summarize_list(tried, 60), "environment: not set; profile: no file; … and 2 more");
/// assert_eq!(cloudkit_core::summarize_list(["one"], 60), "one");
/// ```
pub fn summarize_list<I>(items: I, max_len: usize) -> String
where
    I: IntoIterator,
    I::Item: AsRef<str>,
{
    let items: Vec<String> = items.into_iter().map(|i| excerpt(i.as_ref(), max_len / 2)).collect();
    let mut out = String::new();
    for (n, item) in items.iter().enumerate() {
        let sep = if out.is_empty() { "" } else { "; " };
        let left = items.len() - n;
        // keep room for the "… and N more" tail unless this is the last item
        let tail = if left > 1 { 16 } else { 0 };
        if n > 0 && out.len() + sep.len() + item.len() + tail > max_len {
            out.push_str(&format!("; … and {left} more"));
            return out;
        }
        out.push_str(sep);
        out.push_str(item);
    }
    out
}

/// `text` on one line (whitespace runs become one space) and at most `max_len` bytes long, plus a
/// note saying what was cut, never in the middle of a word: for quoting a response body or a
/// value in an error message.
///
/// The text is cut after the last whole word that fits, and the note counts the words left out.
/// When not even the first word fits (a body without spaces: minified JSON, a long token), it is
/// cut after the last punctuation mark that fits (`,` `;` `:` `/` `>` `}` `"` …; never inside a
/// run of letters, digits, `-`, `_`, `.` or `'`), and the note counts the characters left out.
///
/// ```
/// use cloudkit_core::internal::excerpt;
/// assert_eq!(excerpt("short  and\nsweet", 100), "short and sweet");
/// assert_eq!(excerpt("the quick brown fox jumps", 12), "the quick … (3 more words)");
/// assert_eq!(excerpt(r#"{"code":"Throttled","message":"slow down"}"#, 20), r#"{"code":"Throttled",… (22 more characters)"#);
/// ```
pub fn excerpt(text: &str, max_len: usize) -> String {
    cut_words(&text.split_whitespace().collect::<Vec<_>>().join(" "), max_len)
}

/// `s` (already on one line) cut after the last whole word within `max_len` bytes, saying how
/// many words were left out; see [`excerpt`] for a first word that does not fit.
fn cut_words(s: &str, max_len: usize) -> String {
    if s.len() <= max_len {
        return s.to_owned();
    }
    // `kept` bytes of `s` hold whole words
    let mut kept = 0;
    for word in s.split(' ') {
        let end = if kept == 0 { word.len() } else { kept + 1 + word.len() };
        if end > max_len {
            break;
        }
        kept = end;
    }
    if kept == 0 {
        let cut = after_last_punctuation(s, max_len);
        return format!("{}… ({} more characters)", &s[..cut], s[cut..].chars().count());
    }
    let left_out = s[kept..].split(' ').filter(|w| !w.is_empty()).count();
    let unit = if left_out == 1 { "word" } else { "words" };
    format!("{} … ({left_out} more {unit})", &s[..kept])
}

/// The end of the longest prefix of `s` within `max_len` bytes that ends with a punctuation mark
/// (0 when there is none): where a text without spaces can be cut without cutting a word.
fn after_last_punctuation(s: &str, max_len: usize) -> usize {
    let inside_word = |c: char| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '\'');
    s.char_indices()
        .map(|(i, c)| (i + c.len_utf8(), c))
        .take_while(|&(end, _)| end <= max_len)
        .filter(|&(_, c)| !inside_word(c))
        .last()
        .map_or(0, |(end, _)| end)
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = &self.inner;
        f.debug_struct("Error")
            .field("kind", &i.kind)
            .field("service", &i.service)
            .field("operation", &i.operation)
            .field("status", &i.status)
            .field("code", &i.details.code)
            .field("message", &i.details.message)
            .field("request_id", &i.details.request_id)
            .field("retryable", &i.retryable)
            .field("throttling", &i.throttling)
            .field("attempts", &i.attempts)
            .field("note", &i.note)
            .field("source", &i.source)
            .finish()
    }
}

impl std::error::Error for Error {
    /// The first layer down whose text `Display` did not print: the wrapped error when this
    /// error has a message, else the wrapped error's own `source()` (see "The error chain").
    /// [`Error::cause`] is always the wrapped error.
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        let cause: &(dyn std::error::Error + 'static) = self.inner.source.as_deref()?;
        if self.inner.details.message.is_some() { Some(cause) } else { cause.source() }
    }
}

/// The error enum of a provider crate (`S3Error`, `Ec2Error`, `BlobError`, `GcsError`, …): typed
/// variants that wrap a core [`Error`]. Lets provider-neutral code (the facade's stores, the
/// CLI) handle any service's error alike. Implemented by [`service_error_accessors!`](crate::service_error_accessors).
pub trait ServiceError: std::error::Error + Send + Sync + 'static {
    /// The wrapped core error, when the failure has one.
    fn core(&self) -> Option<&Error>;

    /// Whether the service asked the client to slow down.
    fn is_throttling(&self) -> bool {
        self.core().is_some_and(Error::is_throttling)
    }
}

/// Gives a provider error enum the accessors every cloudkit error has, with the same names in
/// every crate, and implements [`ServiceError`] for it.
///
/// List the variants that wrap a core [`Error`]; the enum must have a `Throttled(Error)` variant
/// (one name for throttling across the SDK). Generated: `core()`, `into_core()`, `status()`,
/// `code()`, `message()`, `request_id()`, `is_retryable()`, `is_throttling()`; with
/// `, service = SERVICE` also the crate-internal constructors `invalid_input(operation, message)`
/// and `decode(operation, message)`, which wrap a core error of that service in `Other`, and
/// `From<cloudkit_core::Error>` through the enum's own `from_core(Error) -> Self` (how the
/// service's codes map to its variants, which each crate writes); with
/// `, service = SERVICE, body_errors` also `from_body_error(operation, error)` for crates that
/// download (the enum then has `ChecksumMismatch { operation, algorithm, expected, actual }` and
/// `ObjectChanged(Error)`).
///
/// ```
/// use cloudkit_core::Error;
///
/// #[derive(Debug, thiserror::Error)]
/// #[non_exhaustive]
/// pub enum WidgetError {
///     /// `NoSuchWidget`.
///     #[error(transparent)]
///     NoSuchWidget(Error),
///     /// Throttling, after the pipeline's retries.
///     #[error(transparent)]
///     Throttled(Error),
///     /// Anything else.
///     #[error(transparent)]
///     Other(Error),
/// }
/// cloudkit_core::service_error_accessors!(WidgetError { NoSuchWidget, Throttled, Other });
///
/// let e = WidgetError::Other(Error::invalid_input("Widget", "GetWidget", "empty name"));
/// assert_eq!(e.core().map(Error::operation), Some("GetWidget"));
/// assert!(!e.is_throttling());
/// ```
#[macro_export]
macro_rules! service_error_accessors {
    ($error:ident { $($variant:ident),+ $(,)? }) => {
        impl $error {
            /// The underlying [`cloudkit_core::Error`] (service, operation, status, code, message,
            /// request id, attempts), when the failure has one.
            #[allow(unreachable_patterns)]
            pub fn core(&self) -> ::core::option::Option<&$crate::Error> {
                match self {
                    $( Self::$variant(e) )|+ => ::core::option::Option::Some(e),
                    _ => ::core::option::Option::None,
                }
            }

            /// Consumes the error and returns the underlying [`cloudkit_core::Error`], when there
            /// is one.
            #[allow(unreachable_patterns)]
            pub fn into_core(self) -> ::core::option::Option<$crate::Error> {
                match self {
                    $( Self::$variant(e) )|+ => ::core::option::Option::Some(e),
                    _ => ::core::option::Option::None,
                }
            }

            /// The HTTP status, when the service answered.
            pub fn status(&self) -> ::core::option::Option<$crate::StatusCode> {
                self.core().and_then($crate::Error::status)
            }

            /// The service's error code (`NoSuchKey`, `InvalidInstanceID.NotFound`,
            /// `BlobNotFound`, `notFound`, …), when it sent one.
            pub fn code(&self) -> ::core::option::Option<&str> {
                self.core().and_then($crate::Error::code)
            }

            /// The service's (or cloudkit's) message.
            pub fn message(&self) -> ::core::option::Option<&str> {
                self.core().and_then($crate::Error::message)
            }

            /// The request id the service assigned, for support tickets.
            pub fn request_id(&self) -> ::core::option::Option<&str> {
                self.core().and_then($crate::Error::request_id)
            }

            /// Whether the failure was of a kind retrying can fix (the pipeline already retried it).
            pub fn is_retryable(&self) -> bool {
                self.core().is_some_and($crate::Error::is_retryable)
            }

            /// Whether the service asked the client to slow down.
            pub fn is_throttling(&self) -> bool {
                ::core::matches!(self, Self::Throttled(_)) || self.core().is_some_and($crate::Error::is_throttling)
            }
        }

        impl $crate::ServiceError for $error {
            fn core(&self) -> ::core::option::Option<&$crate::Error> {
                $error::core(self)
            }

            fn is_throttling(&self) -> bool {
                $error::is_throttling(self)
            }
        }
    };
    ($error:ident { $($variant:ident),+ $(,)? }, service = $service:expr) => {
        $crate::service_error_accessors!($error { $($variant),+ });

        impl ::core::convert::From<$crate::Error> for $error {
            fn from(error: $crate::Error) -> Self {
                Self::from_core(error)
            }
        }

        impl $error {
            /// An input error of `operation` (nothing was sent), as [`Self::Other`].
            #[allow(dead_code)]
            pub(crate) fn invalid_input(
                operation: &'static str,
                message: impl ::core::convert::Into<::std::string::String>,
            ) -> Self {
                Self::Other($crate::Error::invalid_input($service, operation, message))
            }

            /// A response of `operation` that could not be decoded, as [`Self::Other`].
            #[allow(dead_code)]
            pub(crate) fn decode(
                operation: &'static str,
                message: impl ::core::convert::Into<::std::string::String>,
            ) -> Self {
                Self::Other($crate::Error::decode($service, operation, message))
            }
        }
    };
    ($error:ident { $($variant:ident),+ $(,)? }, service = $service:expr, body_errors) => {
        $crate::service_error_accessors!($error { $($variant),+ }, service = $service);

        impl $error {
            /// The error of a failed read of a downloaded body (the same in every crate that
            /// downloads): a checksum that does not match ([`cloudkit_core::verify_stream`]) is
            /// `ChecksumMismatch`, an object that changed under a resumed read
            /// ([`cloudkit_core::resuming`]) is `ObjectChanged`, anything else (a connection that
            /// broke off beyond the retry budget, a stall) is `Other` of kind
            /// [`Transport`](cloudkit_core::ErrorKind::Transport).
            pub fn from_body_error(operation: &'static str, error: $crate::TransportError) -> Self {
                if let ::core::option::Option::Some(m) = $crate::checksum_mismatch(&error) {
                    return Self::ChecksumMismatch {
                        operation,
                        algorithm: m.algorithm,
                        expected: m.expected.clone(),
                        actual: m.actual.clone(),
                    };
                }
                let changed = error.kind() == $crate::TransportErrorKind::ObjectChanged;
                let core = $crate::Error::new($crate::ErrorKind::Transport, $service, operation).with_source(error);
                if changed { Self::ObjectChanged(core) } else { Self::Other(core.with_retryable(true)) }
            }
        }
    };
}

/// What went wrong below HTTP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportErrorKind {
    /// The connection could not be established: the request was certainly not processed.
    Connect,
    /// No answer in time.
    Timeout,
    /// The request was (possibly) sent but failed (reset, broken pipe, protocol error).
    Request,
    /// The response body failed mid-stream.
    Body,
    /// The request body could not be read (e.g. the file being uploaded vanished).
    RequestBody,
    /// A resumed download found the object changed since it was first read (see
    /// [`resuming`](crate::resuming)): nothing was spliced.
    ObjectChanged,
    /// Anything else.
    Other,
}

/// An error from the [`HttpSend`](crate::HttpSend) layer. Its `Display` never contains the URL
/// (presigned URLs and SAS tokens carry signatures in the query).
#[derive(Debug, thiserror::Error)]
#[error("{kind:?}: {message}")]
pub struct TransportError {
    kind: TransportErrorKind,
    message: String,
    #[source]
    source: Option<BoxError>,
}

impl TransportError {
    /// A new transport error.
    pub fn new(kind: TransportErrorKind, message: impl Into<String>) -> Self {
        Self { kind, message: message.into(), source: None }
    }

    /// Keeps the underlying error (it must not contain secrets or signed URLs).
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> TransportErrorKind {
        self.kind
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_one_actionable_line() {
        let e = Error::new(ErrorKind::Service, "S3", "GetObject").with_status(StatusCode::NOT_FOUND).with_details(
            ServiceErrorDetails {
                code: Some("NoSuchKey".into()),
                message: Some("The specified key\n does not exist.".into()),
                request_id: Some("4442587FB7D0A2F9".into()),
            },
        );
        assert_eq!(
            e.to_string(),
            "S3.GetObject failed: HTTP 404 NoSuchKey: The specified key does not exist. \
             (request id 4442587FB7D0A2F9; not retryable)"
        );
        let t = Error::new(ErrorKind::Transport, "EC2", "DescribeInstances")
            .with_source(TransportError::new(TransportErrorKind::Connect, "connection refused"))
            .with_retryable(true)
            .with_attempts(3);
        assert_eq!(
            t.to_string(),
            "EC2.DescribeInstances failed: transport error: Connect: connection refused \
             (retryable; gave up after 3 attempts)"
        );
        assert!(!t.to_string().contains('\n'));
    }

    /// Display, then each `source()` in turn (anyhow's `{:#}`).
    fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
        let mut lines = vec![e.to_string()];
        let mut next = e.source();
        while let Some(s) = next {
            lines.push(s.to_string());
            next = s.source();
        }
        lines
    }

    #[derive(Debug, thiserror::Error)]
    #[error("connection reset by peer")]
    struct Reset;

    /// Issue 16, point 2: a layer prints its cause or returns it from `source()`, never both.
    #[test]
    fn source_is_the_first_layer_display_did_not_print() {
        let transport = || TransportError::new(TransportErrorKind::Body, "response body failed").with_source(Reset);
        let e = Error::new(ErrorKind::Transport, "S3", "GetObject").with_source(transport());
        assert_eq!(
            chain(&e),
            [
                "S3.GetObject failed: transport error: Body: response body failed (not retryable)",
                "connection reset by peer"
            ]
        );
        assert!(e.cause().and_then(|c| c.downcast_ref::<TransportError>()).is_some(), "cause() is the wrapped error");
        // with a message of its own, the wrapped error is not printed: it is the source
        let e = Error::new(ErrorKind::Transport, "S3", "GetObject")
            .with_message("the download broke off")
            .with_source(transport());
        assert_eq!(
            chain(&e),
            [
                "S3.GetObject failed: transport error: the download broke off (not retryable)",
                "Body: response body failed",
                "connection reset by peer"
            ]
        );
        // nested core errors (a credentials error wrapping an identity endpoint's error): each text once
        let inner = Error::new(ErrorKind::Transport, "AzureIdentity", "GetToken").with_source(transport());
        let sign = crate::SignError::Credentials(Box::new(inner));
        let e = Error::new(ErrorKind::Credentials, "AzureBlob", "GetBlob").with_source(sign);
        let lines = chain(&e);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[0],
            "AzureBlob.GetBlob failed: credentials error: could not load credentials: AzureIdentity.GetToken failed: \
             transport error: Body: response body failed (not retryable)"
        );
        assert_eq!(lines[0].matches("not retryable").count(), 1, "{}", lines[0]);
    }

    /// Issue 16, point 2: long text is cut after a whole word, saying how much was left out.
    #[test]
    fn long_text_is_cut_after_whole_words() {
        let long = "word ".repeat(1000);
        let e = Error::invalid_input("S3", "PutObject", long);
        let shown = e.to_string();
        assert!(shown.len() < 2100, "{}", shown.len());
        assert!(shown.ends_with("word … (600 more words)"), "{}", &shown[shown.len() - 40..]);
        let one = format!("{} tail", "x".repeat(3000));
        let shown = Error::invalid_input("S3", "PutObject", one).to_string();
        assert!(shown.ends_with("invalid input: … (3005 more characters)"), "{shown}");
        assert!(!shown.contains("xxx"), "a single over-long word is left out whole, not cut");
    }

    /// Issue 16, point 2: a long body with spaces is cut after a whole word; one without spaces
    /// after a punctuation mark, never inside a word; both say how much was left out.
    #[test]
    fn excerpts_never_cut_a_word() {
        let words: Vec<String> = (0..200).map(|n| format!("word{n}")).collect();
        let body = words.join(" \n ");
        let cut = excerpt(&body, 300);
        let (kept, note) = cut.split_once(" … (").unwrap();
        assert!(kept.len() <= 300, "{}", kept.len());
        let kept_words: Vec<&str> = kept.split(' ').collect();
        assert_eq!(kept_words, words[..kept_words.len()], "whole words, in order");
        assert_eq!(note, format!("{} more words)", 200 - kept_words.len()));

        let fields: Vec<String> = (0..200).map(|n| format!("\"field{n}\":\"value{n}\"")).collect();
        let json = format!("{{{}}}", fields.join(","));
        let cut = excerpt(&json, 300);
        let (kept, note) = cut.split_once('…').unwrap();
        assert!(kept.len() <= 300 && kept.len() > 250, "{}", kept.len());
        assert!(kept.ends_with(['"', ',', ':']), "cut after a punctuation mark: {kept}");
        assert!(json.starts_with(kept));
        assert_eq!(note, format!(" ({} more characters)", json.len() - kept.len()));

        let digits = "9".repeat(500);
        assert_eq!(excerpt(&digits, 40), "… (500 more characters)", "no punctuation: nothing of the word is shown");
        assert_eq!(excerpt("a-b.c_d'e", 4), "… (9 more characters)", "- . _ ' are inside words");
        assert_eq!(excerpt("fits", 4), "fits");
        assert_eq!(excerpt("über straße", 8), "über … (1 more word)");
    }

    #[test]
    fn summarize_list_keeps_whole_items_and_counts_the_rest() {
        let items: Vec<String> = (1..=50).map(|n| format!("provider {n}: not configured here")).collect();
        let shown = summarize_list(&items, 200);
        assert!(shown.len() <= 200, "{shown}");
        assert!(shown.starts_with("provider 1: not configured here; provider 2: "), "{shown}");
        let kept = shown.matches("not configured here").count();
        assert!(shown.ends_with(&format!("; … and {} more", 50 - kept)), "{shown}");
        assert_eq!(summarize_list(["a", "b"], 200), "a; b");
        assert_eq!(summarize_list(Vec::<String>::new(), 200), "");
        let multi = summarize_list(["line one\n  - detail", "two"], 200);
        assert_eq!(multi, "line one - detail; two");
    }

    #[test]
    fn unshown_source_skips_what_the_message_quotes() {
        let t = TransportError::new(TransportErrorKind::Connect, "could not connect").with_source(Reset);
        let shown = format!("role r: {t}");
        let next = unshown_source(&shown, Some(&t)).map(ToString::to_string);
        assert_eq!(next.as_deref(), Some("connection reset by peer"));
        assert!(unshown_source("role r: Connect: could not connect: connection reset by peer", Some(&t)).is_none());
        assert_eq!(
            unshown_source("role r", Some(&t)).map(ToString::to_string).as_deref(),
            Some("Connect: could not connect")
        );
    }

    #[test]
    fn throttling_is_recognised_by_status_and_classification() {
        let e = Error::new(ErrorKind::Service, "S3", "PutObject").with_code("SlowDown").with_throttling(true);
        assert!(e.is_throttling());
        let e = Error::new(ErrorKind::Service, "GCS", "insert").with_status(StatusCode::TOO_MANY_REQUESTS);
        assert!(e.is_throttling());
        // a code alone means nothing to core: the service's classifier decides
        let e = Error::new(ErrorKind::Service, "S3", "PutObject").with_code("SlowDown");
        assert!(!e.is_throttling());
    }

    #[derive(Debug, thiserror::Error)]
    #[allow(unreachable_pub)]
    pub(super) enum ExampleError {
        #[error(transparent)]
        NotFound(Error),
        #[error(transparent)]
        Throttled(Error),
        #[error("checksum mismatch")]
        Mismatch,
        #[error(transparent)]
        Other(Error),
    }

    #[allow(unreachable_pub)]
    mod accessors {
        use super::ExampleError;
        crate::service_error_accessors!(ExampleError { NotFound, Throttled, Other });
    }

    #[test]
    fn generated_accessors_reach_the_core_error() {
        let core = Error::new(ErrorKind::Service, "Example", "Get").with_status(StatusCode::NOT_FOUND).with_details(
            ServiceErrorDetails {
                code: Some("NoSuchThing".into()),
                message: Some("gone".into()),
                request_id: Some("R1".into()),
            },
        );
        let e = ExampleError::NotFound(core);
        assert_eq!(e.status(), Some(StatusCode::NOT_FOUND));
        assert_eq!(e.code(), Some("NoSuchThing"));
        assert_eq!(e.message(), Some("gone"));
        assert_eq!(e.request_id(), Some("R1"));
        assert!(!e.is_retryable() && !e.is_throttling());
        assert!(ExampleError::Throttled(Error::new(ErrorKind::Service, "Example", "Get")).is_throttling());
        assert!(ExampleError::Mismatch.core().is_none());
        assert_eq!(ExampleError::Other(Error::invalid_input("Example", "Get", "bad")).code(), None);
        assert_eq!(ExampleError::Mismatch.code(), None);
        let generic: &dyn ServiceError = &e;
        assert_eq!(generic.core().and_then(Error::code), Some("NoSuchThing"));
        assert_eq!(e.into_core().and_then(|c| c.request_id().map(str::to_owned)).as_deref(), Some("R1"));
    }
}
