//! [`Acceptor`]s: which poll results end a wait, and how.

use std::fmt;

/// What a matching [`Acceptor`] means for the wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AcceptorState {
    /// The resource reached the wanted state: stop and return the result.
    Success,
    /// The resource can no longer reach the wanted state: stop with
    /// [`WaiterError::FailureState`](crate::WaiterError::FailureState).
    Failure,
    /// Not there yet: sleep and poll again.
    Retry,
}

impl fmt::Display for AcceptorState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Retry => "retry",
        })
    }
}

/// Errors that carry a service error code, such as `InvalidInstanceID.NotFound` or `NoSuchKey`.
///
/// Providers implement this for their error types so waiters can match on the code with
/// [`Acceptor::error_code`].
pub trait ErrorCode {
    /// The service's error code, if the error has one (transport errors usually do not).
    fn error_code(&self) -> Option<&str>;
}

/// Implements [`ErrorCode`] for a provider error enum through its `code()` accessor (every
/// cloudkit error enum has one, from `cloudkit_core::service_error_accessors!`).
///
/// ```
/// struct WidgetError(Option<String>);
/// impl WidgetError {
///     fn code(&self) -> Option<&str> {
///         self.0.as_deref()
///     }
/// }
/// cloudkit_waiter::error_code_from_accessor!(WidgetError);
///
/// use cloudkit_waiter::ErrorCode;
/// assert_eq!(WidgetError(Some("NoSuchWidget".into())).error_code(), Some("NoSuchWidget"));
/// ```
#[macro_export]
macro_rules! error_code_from_accessor {
    ($error:ty) => {
        impl $crate::ErrorCode for $error {
            fn error_code(&self) -> ::core::option::Option<&str> {
                <$error>::code(self)
            }
        }
    };
}

impl<T: ErrorCode + ?Sized> ErrorCode for &T {
    fn error_code(&self) -> Option<&str> {
        (**self).error_code()
    }
}

impl<T: ErrorCode + ?Sized> ErrorCode for Box<T> {
    fn error_code(&self) -> Option<&str> {
        (**self).error_code()
    }
}

type Matcher<T, E> = Box<dyn Fn(&Result<T, E>) -> bool + Send + Sync>;

/// One rule of a waiter: when a poll result matches, the wait moves to [`AcceptorState`].
///
/// A [`Waiter`](crate::Waiter) checks its acceptors in order and the first match wins, like the
/// acceptors of botocore's `waiters-2.json` and Smithy's `@waitable`.
///
/// # Example
///
/// The acceptors of EC2's `InstanceRunning` waiter:
///
/// ```
/// use cloudkit_waiter::{Acceptor, AcceptorState, ErrorCode, all_equal, any_equal};
///
/// struct Ec2Error { code: String }
/// impl ErrorCode for Ec2Error {
///     fn error_code(&self) -> Option<&str> { Some(&self.code) }
/// }
///
/// // The instance states of a DescribeInstances output.
/// type States = Vec<String>;
///
/// let acceptors: Vec<Acceptor<States, Ec2Error>> = vec![
///     Acceptor::output(AcceptorState::Success, "all instances are running", |s: &States| {
///         all_equal(s, "running")
///     }),
///     Acceptor::output(AcceptorState::Failure, "an instance is shutting down, terminated or stopping", |s: &States| {
///         any_equal(s, "shutting-down") || any_equal(s, "terminated") || any_equal(s, "stopping")
///     }),
///     Acceptor::error_code(AcceptorState::Retry, "InvalidInstanceID.NotFound"),
/// ];
///
/// let running: Result<States, Ec2Error> = Ok(vec!["running".into(), "running".into()]);
/// assert!(acceptors[0].matches(&running));
/// let not_found: Result<States, Ec2Error> = Err(Ec2Error { code: "InvalidInstanceID.NotFound".into() });
/// assert!(acceptors[2].matches(&not_found));
/// ```
pub struct Acceptor<T, E> {
    state: AcceptorState,
    description: String,
    matcher: Matcher<T, E>,
}

impl<T, E> Acceptor<T, E> {
    /// An acceptor with any matcher over the poll result.
    ///
    /// `description` names the condition in logs and errors, e.g. "instance state is
    /// terminated".
    pub fn new<F>(state: AcceptorState, description: impl Into<String>, matcher: F) -> Self
    where
        F: Fn(&Result<T, E>) -> bool + Send + Sync + 'static,
    {
        Self { state, description: description.into(), matcher: Box::new(matcher) }
    }

    /// An acceptor that matches a successful output for which `matcher` returns true (Smithy's
    /// `output` matcher, botocore's `path`/`pathAll`/`pathAny`).
    pub fn output<F>(state: AcceptorState, description: impl Into<String>, matcher: F) -> Self
    where
        F: Fn(&T) -> bool + Send + Sync + 'static,
    {
        Self::new(state, description, move |result: &Result<T, E>| result.as_ref().is_ok_and(&matcher))
    }

    /// An acceptor that matches an error for which `matcher` returns true (e.g. an HTTP status
    /// of 404, for botocore's `status` matcher).
    pub fn error<F>(state: AcceptorState, description: impl Into<String>, matcher: F) -> Self
    where
        F: Fn(&E) -> bool + Send + Sync + 'static,
    {
        Self::new(state, description, move |result: &Result<T, E>| result.as_ref().is_err_and(&matcher))
    }

    /// An acceptor that matches any error (botocore's `error: true`).
    pub fn any_error(state: AcceptorState) -> Self {
        Self::new(state, "the operation returned an error", |result: &Result<T, E>| result.is_err())
    }

    /// A success acceptor for any successful output (Smithy's `success: true`), e.g. "the bucket
    /// exists" for a `HeadBucket` poll.
    pub fn success_if_ok() -> Self {
        Self::new(AcceptorState::Success, "the operation succeeded", |result: &Result<T, E>| result.is_ok())
    }

    /// What a match means for the wait.
    pub fn state(&self) -> AcceptorState {
        self.state
    }

    /// The human-readable condition, as used in logs and errors.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Whether this acceptor matches a poll result.
    pub fn matches(&self, result: &Result<T, E>) -> bool {
        (self.matcher)(result)
    }
}

impl<T, E: ErrorCode> Acceptor<T, E> {
    /// An acceptor that matches an error whose [`ErrorCode::error_code`] is `code` (botocore's
    /// `error: "<code>"`, Smithy's `errorType`).
    pub fn error_code(state: AcceptorState, code: impl Into<String>) -> Self {
        let code = code.into();
        let description = format!("error code is `{code}`");
        Self::new(state, description, move |result: &Result<T, E>| {
            result.as_ref().is_err_and(|e| e.error_code() == Some(code.as_str()))
        })
    }
}

impl<T, E> fmt::Debug for Acceptor<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor")
            .field("state", &self.state)
            .field("description", &self.description)
            .finish_non_exhaustive()
    }
}

/// Whether the list is non-empty and every value equals `expected`.
///
/// Mirrors botocore's `pathAll` and Smithy's `allStringEquals`: an empty list never matches (a
/// `DescribeInstances` with no reservations is not "all running").
///
/// ```
/// use cloudkit_waiter::all_equal;
///
/// assert!(all_equal(["running", "running"], "running"));
/// assert!(!all_equal(["running", "pending"], "running"));
/// assert!(!all_equal(Vec::<&str>::new(), "running"));
/// let owned = vec!["stopped".to_owned()];
/// assert!(all_equal(&owned, "stopped"));
/// ```
pub fn all_equal<I, U>(values: I, expected: U) -> bool
where
    I: IntoIterator,
    I::Item: PartialEq<U>,
{
    let mut any = false;
    for value in values {
        if value != expected {
            return false;
        }
        any = true;
    }
    any
}

/// Whether some value of the list equals `expected`.
///
/// Mirrors botocore's `pathAny` and Smithy's `anyStringEquals`: an empty list never matches.
///
/// ```
/// use cloudkit_waiter::any_equal;
///
/// assert!(any_equal(["running", "terminated"], "terminated"));
/// assert!(!any_equal(["running"], "terminated"));
/// assert!(!any_equal(Vec::<&str>::new(), "terminated"));
/// ```
pub fn any_equal<I, U>(values: I, expected: U) -> bool
where
    I: IntoIterator,
    I::Item: PartialEq<U>,
{
    values.into_iter().any(|value| value == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct CodeError(Option<&'static str>);

    impl ErrorCode for CodeError {
        fn error_code(&self) -> Option<&str> {
            self.0
        }
    }

    type R = Result<u32, CodeError>;

    #[test]
    fn output_acceptor_matches_only_ok() {
        let acceptor = Acceptor::output(AcceptorState::Success, "is 3", |v: &u32| *v == 3);
        assert!(acceptor.matches(&R::Ok(3)));
        assert!(!acceptor.matches(&R::Ok(4)));
        assert!(!acceptor.matches(&R::Err(CodeError(None))));
        assert_eq!(acceptor.description(), "is 3");
        assert_eq!(acceptor.state(), AcceptorState::Success);
    }

    #[test]
    fn error_code_acceptor_matches_the_code() {
        let acceptor: Acceptor<u32, CodeError> =
            Acceptor::error_code(AcceptorState::Retry, "InvalidInstanceID.NotFound");
        assert!(acceptor.matches(&Err(CodeError(Some("InvalidInstanceID.NotFound")))));
        assert!(!acceptor.matches(&Err(CodeError(Some("Throttling")))));
        assert!(!acceptor.matches(&Err(CodeError(None))));
        assert!(!acceptor.matches(&Ok(1)));
        assert_eq!(acceptor.description(), "error code is `InvalidInstanceID.NotFound`");
    }

    #[test]
    fn any_error_and_success_if_ok() {
        let any: Acceptor<u32, CodeError> = Acceptor::any_error(AcceptorState::Failure);
        assert!(any.matches(&Err(CodeError(None))));
        assert!(!any.matches(&Ok(1)));
        let ok: Acceptor<u32, CodeError> = Acceptor::success_if_ok();
        assert!(ok.matches(&Ok(1)));
        assert!(!ok.matches(&Err(CodeError(None))));
        assert_eq!(ok.state(), AcceptorState::Success);
    }

    #[test]
    fn error_acceptor_uses_the_predicate() {
        let acceptor: Acceptor<u32, CodeError> =
            Acceptor::error(AcceptorState::Success, "no code", |e: &CodeError| e.0.is_none());
        assert!(acceptor.matches(&Err(CodeError(None))));
        assert!(!acceptor.matches(&Err(CodeError(Some("x")))));
        assert!(!acceptor.matches(&Ok(1)));
    }

    #[test]
    fn list_comparators() {
        assert!(all_equal(["a", "a"], "a"));
        assert!(!all_equal(["a", "b"], "a"));
        assert!(!all_equal(Vec::<&str>::new(), "a"));
        assert!(any_equal(["a", "b"], "b"));
        assert!(!any_equal(Vec::<&str>::new(), "b"));
        let owned = ["x".to_owned(), "x".to_owned()];
        assert!(all_equal(owned.iter(), "x"));
        assert!(all_equal([1, 1, 1], 1));
    }
}
