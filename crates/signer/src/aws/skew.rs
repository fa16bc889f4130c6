//! Clock-skew correction for SigV4: a shared, adjustable offset between the local clock and the
//! service's, set from the `Date` header of clock-skew error answers, used on every signature
//! (see [`ClockSkew`]).

use std::fmt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use cloudkit_core::internal::date::parse_http_date;
use cloudkit_core::{ClassifyRetry, HeaderMap, ParseError, RetryClass, ServiceErrorDetails, StatusCode};

/// The AWS error codes that may mean "your clock is off" (the AWS SDKs' list).
pub const CLOCK_SKEW_ERROR_CODES: &[&str] = &[
    "RequestTimeTooSkewed",
    "RequestExpired",
    "RequestInTheFuture",
    "InvalidSignatureException",
    "SignatureDoesNotMatch",
    "AuthFailure",
];

/// The smallest difference between the server's `Date` and the corrected local clock that
/// changes the offset (AWS accepts 5 minutes of skew; the AWS SDKs correct from 4).
pub const SKEW_CORRECTION_THRESHOLD: Duration = Duration::from_secs(4 * 60);

/// How long after a correction clock-skew answers are retried (long enough for requests that
/// were signed with the old clock and still in flight to be retried too).
pub const SKEW_RETRY_WINDOW: Duration = Duration::from_secs(60);

/// Whether `code` is one of [`CLOCK_SKEW_ERROR_CODES`].
pub fn is_clock_skew_code(code: &str) -> bool {
    CLOCK_SKEW_ERROR_CODES.contains(&code)
}

/// A shared, adjustable offset of the signing clock. Cheap to clone; clones share the offset.
/// Starts at zero (the local clock).
///
/// AWS refuses signatures whose time is more than a few minutes off (`RequestTimeTooSkewed`,
/// `RequestExpired`, `InvalidSignatureException`, `SignatureDoesNotMatch`, `AuthFailure`,
/// `RequestInTheFuture`). As the AWS SDKs do, a client that gets one of these answers with a
/// `Date` header at least [`SKEW_CORRECTION_THRESHOLD`] away from its own (corrected) clock
/// adopts the server's time as its signing clock and retries:
///
/// - this handle holds the offset; [`SigV4Signer`](super::SigV4Signer) signs with
///   [`now`](Self::now) (share one handle between a signer and the pipeline around it:
///   [`SigV4Signer::with_clock_skew`](super::SigV4Signer::with_clock_skew)).
/// - [`ClockSkewParser`] wraps the service's error parser: on a clock-skew code it reads the
///   answer's `Date` and corrects the offset.
/// - [`ClockSkewClassifier`] wraps the service's retry classifier: a clock-skew code is a
///   transient fault (retried, re-signed with the corrected clock) within
///   [`SKEW_RETRY_WINDOW`] of a correction, and otherwise whatever the wrapped classifier says
///   (a `SignatureDoesNotMatch` from a wrong secret key is not retried).
///
/// `AwsConfig::pipeline_builder` (cloudkit-cred-chain) installs all three with the config's
/// handle, so every client built from one config (S3, EC2, …) shares one correction.
///
/// ```
/// use std::sync::Arc;
/// use std::time::{Duration, SystemTime};
/// use cloudkit_core::{ClassifyRetry, CodeClassifier, ParseError, PlainErrorParser, Pipeline, RetryClass, StatusCode};
/// use cloudkit_signer::aws::{ClockSkew, Credentials, SigV4Signer};
///
/// let skew = ClockSkew::new();
/// let signer = SigV4Signer::new(Arc::new(Credentials::from_keys("AKID", "secret")), "us-east-1", "ec2")
///     .with_clock_skew(skew.clone());
/// let pipeline = Pipeline::builder("EC2")
///     .signer(Arc::new(signer))
///     .error_parser(skew.error_parser(Arc::new(PlainErrorParser)))
///     .classifier(skew.classifier(Arc::new(CodeClassifier::STATUS_ONLY)));
/// # let _ = pipeline;
///
/// // The server's clock is an hour ahead: the offset follows it.
/// assert!(skew.observe_server_time(SystemTime::now() + Duration::from_secs(3600)));
/// assert!((skew.offset_millis() - 3_600_000).abs() < 5_000);
/// assert!(skew.now() > SystemTime::now() + Duration::from_secs(3590));
/// assert_eq!(
///     skew.classifier(Arc::new(CodeClassifier::STATUS_ONLY)).classify(StatusCode::FORBIDDEN, Some("RequestExpired")),
///     RetryClass::Transient,
/// );
/// ```
#[derive(Clone, Default)]
pub struct ClockSkew {
    state: Arc<SkewState>,
}

#[derive(Default)]
struct SkewState {
    /// The server's clock minus the local clock, in milliseconds.
    offset_ms: AtomicI64,
    /// When the offset was last corrected from a server answer.
    corrected_at: Mutex<Option<Instant>>,
}

impl fmt::Debug for ClockSkew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClockSkew").field("offset_ms", &self.offset_millis()).finish()
    }
}

/// `a - b` in milliseconds, saturating at the ends of `i64`.
fn millis_between(a: SystemTime, b: SystemTime) -> i64 {
    match a.duration_since(b) {
        Ok(ahead) => i64::try_from(ahead.as_millis()).unwrap_or(i64::MAX),
        Err(behind) => i64::try_from(behind.duration().as_millis()).map_or(i64::MIN, |ms| -ms),
    }
}

impl ClockSkew {
    /// A handle with no offset.
    pub fn new() -> Self {
        Self::default()
    }

    /// The offset in milliseconds: the server's clock minus the local one (positive when the
    /// server is ahead).
    pub fn offset_millis(&self) -> i64 {
        self.state.offset_ms.load(Ordering::Relaxed)
    }

    /// Sets the offset (milliseconds, server minus local). Does not count as a correction for
    /// [`ClockSkewClassifier`].
    pub fn set_offset_millis(&self, offset_ms: i64) {
        self.state.offset_ms.store(offset_ms, Ordering::Relaxed);
    }

    /// `local` moved by the offset. An offset that would leave the range `SystemTime` can hold
    /// is not applied (the signer then refuses times outside 1970–9999 with a typed error).
    pub fn apply(&self, local: SystemTime) -> SystemTime {
        let offset = self.offset_millis();
        let by = Duration::from_millis(offset.unsigned_abs());
        let moved = if offset >= 0 { local.checked_add(by) } else { local.checked_sub(by) };
        moved.unwrap_or(local)
    }

    /// The corrected time: the local clock moved by the offset.
    pub fn now(&self) -> SystemTime {
        self.apply(SystemTime::now())
    }

    /// Takes the server's time (e.g. from a `Date` header): when it differs from the corrected
    /// clock by at least [`SKEW_CORRECTION_THRESHOLD`], the offset becomes `server − local` and
    /// `true` is returned (a correction, logged as a warning); otherwise nothing changes.
    pub fn observe_server_time(&self, server: SystemTime) -> bool {
        let local = SystemTime::now();
        let measured = millis_between(server, local);
        let current = self.offset_millis();
        let threshold = i64::try_from(SKEW_CORRECTION_THRESHOLD.as_millis()).unwrap_or(i64::MAX);
        if measured.saturating_sub(current).saturating_abs() < threshold {
            return false;
        }
        self.set_offset_millis(measured);
        *self.state.corrected_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        tracing::warn!(
            offset_ms = measured,
            "the service's clock differs from the local clock; signing with the service's time from now on"
        );
        true
    }

    /// [`observe_server_time`](Self::observe_server_time) with the `Date` header of an answer;
    /// `false` without a (valid) one.
    pub fn observe_date_header(&self, headers: &HeaderMap) -> bool {
        let date = headers.get("date").and_then(|v| v.to_str().ok()).and_then(parse_http_date);
        // A `Date` before 1970 is no clock to follow.
        date.filter(|d| *d > UNIX_EPOCH).is_some_and(|d| self.observe_server_time(d))
    }

    /// Whether the offset was corrected from a server answer within [`SKEW_RETRY_WINDOW`].
    pub fn recently_corrected(&self) -> bool {
        let at = *self.state.corrected_at.lock().unwrap_or_else(|p| p.into_inner());
        at.is_some_and(|t| t.elapsed() < SKEW_RETRY_WINDOW)
    }

    /// `inner` wrapped in a [`ClockSkewParser`] correcting this handle.
    pub fn error_parser(&self, inner: Arc<dyn ParseError>) -> Arc<dyn ParseError> {
        Arc::new(ClockSkewParser::new(inner, self.clone()))
    }

    /// `inner` wrapped in a [`ClockSkewClassifier`] watching this handle.
    pub fn classifier(&self, inner: Arc<dyn ClassifyRetry>) -> Arc<dyn ClassifyRetry> {
        Arc::new(ClockSkewClassifier::new(inner, self.clone()))
    }
}

/// An error parser that corrects a [`ClockSkew`] from the `Date` header of clock-skew answers
/// ([`CLOCK_SKEW_ERROR_CODES`]); the details are the wrapped parser's, unchanged.
#[derive(Debug)]
pub struct ClockSkewParser {
    inner: Arc<dyn ParseError>,
    skew: ClockSkew,
}

impl ClockSkewParser {
    /// Wraps `inner`, correcting `skew`.
    pub fn new(inner: Arc<dyn ParseError>, skew: ClockSkew) -> Self {
        Self { inner, skew }
    }
}

impl ParseError for ClockSkewParser {
    fn parse(&self, status: StatusCode, headers: &HeaderMap, body: &[u8]) -> ServiceErrorDetails {
        let details = self.inner.parse(status, headers, body);
        if details.code.as_deref().is_some_and(is_clock_skew_code) {
            self.skew.observe_date_header(headers);
        }
        details
    }
}

/// A retry classifier that makes clock-skew answers transient (retried, and re-signed with the
/// corrected clock) within [`SKEW_RETRY_WINDOW`] of a correction of its [`ClockSkew`]; every
/// other answer, and clock-skew answers when the clock was not corrected (a wrong secret key),
/// are classified by the wrapped classifier.
#[derive(Debug)]
pub struct ClockSkewClassifier {
    inner: Arc<dyn ClassifyRetry>,
    skew: ClockSkew,
}

impl ClockSkewClassifier {
    /// Wraps `inner`, watching `skew`.
    pub fn new(inner: Arc<dyn ClassifyRetry>, skew: ClockSkew) -> Self {
        Self { inner, skew }
    }
}

impl ClassifyRetry for ClockSkewClassifier {
    fn classify(&self, status: StatusCode, code: Option<&str>) -> RetryClass {
        if code.is_some_and(is_clock_skew_code) && self.skew.recently_corrected() {
            return RetryClass::Transient;
        }
        self.inner.classify(status, code)
    }
}

#[cfg(test)]
mod tests {
    use cloudkit_core::internal::date::http_date;
    use cloudkit_core::{CodeClassifier, HeaderValue, PlainErrorParser};

    use super::*;

    fn date_header(t: SystemTime) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("date", HeaderValue::from_str(&http_date(t).unwrap()).unwrap());
        h
    }

    #[derive(Debug)]
    struct Coded(&'static str);
    impl ParseError for Coded {
        fn parse(&self, _: StatusCode, _: &HeaderMap, _: &[u8]) -> ServiceErrorDetails {
            ServiceErrorDetails { code: Some(self.0.to_owned()), ..Default::default() }
        }
    }

    #[test]
    fn small_differences_are_ignored_and_large_ones_corrected_both_ways() {
        let skew = ClockSkew::new();
        assert!(!skew.observe_server_time(SystemTime::now() + Duration::from_secs(60)));
        assert_eq!(skew.offset_millis(), 0);
        assert!(!skew.recently_corrected());
        assert!(skew.observe_server_time(SystemTime::now() - Duration::from_secs(1800)));
        assert!((skew.offset_millis() + 1_800_000).abs() < 5_000, "{skew:?}");
        assert!(skew.recently_corrected());
        // once corrected, the same server time is no news
        assert!(!skew.observe_server_time(SystemTime::now() - Duration::from_secs(1800)));
        // the local clock was fixed meanwhile: back to zero
        assert!(skew.observe_server_time(SystemTime::now()));
        assert!(skew.offset_millis().abs() < 5_000);
    }

    #[test]
    fn extreme_offsets_never_panic() {
        let skew = ClockSkew::new();
        for ms in [i64::MAX, i64::MIN, i64::MIN + 1, -1] {
            skew.set_offset_millis(ms);
            let _ = skew.now();
            let _ = skew.apply(UNIX_EPOCH);
            let _ = skew.observe_server_time(UNIX_EPOCH + Duration::from_secs(253_402_300_799));
            let _ = skew.observe_server_time(UNIX_EPOCH);
        }
        assert_eq!(millis_between(UNIX_EPOCH, UNIX_EPOCH + Duration::from_secs(1)), -1000);
    }

    #[test]
    fn the_parser_corrects_only_on_skew_codes_and_the_classifier_retries_only_after_a_correction() {
        let ahead = date_header(SystemTime::now() + Duration::from_secs(3600));
        let classifier = |skew: &ClockSkew| skew.classifier(Arc::new(CodeClassifier::STATUS_ONLY));

        // not a skew code: the Date is ignored
        let skew = ClockSkew::new();
        let d = skew.error_parser(Arc::new(Coded("AccessDenied"))).parse(StatusCode::FORBIDDEN, &ahead, b"");
        assert_eq!(d.code.as_deref(), Some("AccessDenied"));
        assert_eq!(skew.offset_millis(), 0);
        // a skew code with a Date that agrees with the clock (a wrong key): not retried
        let now = date_header(SystemTime::now());
        skew.error_parser(Arc::new(Coded("SignatureDoesNotMatch"))).parse(StatusCode::FORBIDDEN, &now, b"");
        assert_eq!(classifier(&skew).classify(StatusCode::FORBIDDEN, Some("SignatureDoesNotMatch")), RetryClass::Fatal);
        // without a Date: nothing to correct from
        skew.error_parser(Arc::new(Coded("RequestTimeTooSkewed"))).parse(StatusCode::FORBIDDEN, &HeaderMap::new(), b"");
        assert_eq!(classifier(&skew).classify(StatusCode::FORBIDDEN, Some("RequestTimeTooSkewed")), RetryClass::Fatal);
        // a skew code with a Date an hour ahead: corrected, and retried
        let d = skew.error_parser(Arc::new(Coded("SignatureDoesNotMatch"))).parse(StatusCode::FORBIDDEN, &ahead, b"");
        assert_eq!(d.code.as_deref(), Some("SignatureDoesNotMatch"), "the details are the inner parser's");
        assert!(skew.offset_millis() > 3_590_000, "{skew:?}");
        assert_eq!(
            classifier(&skew).classify(StatusCode::FORBIDDEN, Some("SignatureDoesNotMatch")),
            RetryClass::Transient
        );
        // other codes are the inner classifier's business
        assert_eq!(classifier(&skew).classify(StatusCode::NOT_FOUND, Some("NoSuchKey")), RetryClass::Fatal);
        assert_eq!(classifier(&skew).classify(StatusCode::SERVICE_UNAVAILABLE, None), RetryClass::Transient);
        let plain = skew.error_parser(Arc::new(PlainErrorParser)).parse(StatusCode::FORBIDDEN, &ahead, b"denied");
        assert_eq!(plain.message.as_deref(), Some("denied"));
    }
}
