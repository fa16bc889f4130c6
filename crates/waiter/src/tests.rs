//! Waiter tests, all on tokio's paused clock.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use crate::{Acceptor, AcceptorState, Backoff, ErrorCode, Waiter, WaiterConfig, WaiterError};

#[derive(Debug, Clone, PartialEq, Eq)]
struct FakeError(&'static str);

impl fmt::Display for FakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "service error {}", self.0)
    }
}

impl std::error::Error for FakeError {}

impl ErrorCode for FakeError {
    fn error_code(&self) -> Option<&str> {
        Some(self.0)
    }
}

type Outcome = Result<&'static str, FakeError>;

const NOT_FOUND: &str = "InvalidInstanceID.NotFound";

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// The acceptors of EC2's `InstanceRunning`, over a single instance state.
fn instance_running() -> Vec<Acceptor<&'static str, FakeError>> {
    vec![
        Acceptor::output(AcceptorState::Success, "instance state is running", |s: &&str| *s == "running"),
        Acceptor::output(AcceptorState::Failure, "instance state is terminated", |s: &&str| *s == "terminated"),
        Acceptor::error_code(AcceptorState::Retry, NOT_FOUND),
    ]
}

fn ec2_config() -> WaiterConfig {
    WaiterConfig::new(secs(15), secs(120), secs(600)).max_attempts(40)
}

/// A fake service answering the scripted outcomes in order (repeating the last one) and
/// recording when each poll happened, relative to its creation.
struct Script {
    outcomes: Vec<Outcome>,
    start: Instant,
    polls: Arc<Mutex<Vec<Duration>>>,
}

impl Script {
    fn new(outcomes: Vec<Outcome>) -> Self {
        Self { outcomes, start: Instant::now(), polls: Arc::default() }
    }

    fn poller(&self) -> impl FnMut() -> std::future::Ready<Outcome> + use<> {
        let outcomes = self.outcomes.clone();
        let start = self.start;
        let polls = Arc::clone(&self.polls);
        move || {
            let mut polls = polls.lock().unwrap();
            let index = polls.len().min(outcomes.len() - 1);
            polls.push(start.elapsed());
            std::future::ready(outcomes[index].clone())
        }
    }

    fn poll_times(&self) -> Vec<Duration> {
        self.polls.lock().unwrap().clone()
    }
}

#[tokio::test(start_paused = true)]
async fn succeeds_after_retries() {
    let script = Script::new(vec![Ok("pending"), Ok("pending"), Ok("pending"), Ok("running")]);
    let waiter = Waiter::new("InstanceRunning", ec2_config(), instance_running());
    let done = waiter.wait(script.poller()).await.unwrap();
    assert_eq!(done.output(), Some(&"running"));
    assert_eq!(done.attempts, 4);
    assert_eq!(done.acceptor, "instance state is running");
    let polls = script.poll_times();
    assert_eq!(polls.len(), 4);
    assert_eq!(polls[0], Duration::ZERO, "the first poll is immediate");
    assert_eq!(polls[1], secs(15), "the first retry waits exactly min_delay");
    assert_eq!(done.elapsed, polls[3]);
}

#[tokio::test(start_paused = true)]
async fn retries_when_no_acceptor_matches_the_output() {
    let script = Script::new(vec![Ok("stopping?"), Ok("running")]);
    let waiter = Waiter::new("InstanceRunning", ec2_config(), instance_running());
    let done = waiter.wait(script.poller()).await.unwrap();
    assert_eq!(done.attempts, 2);
}

#[tokio::test(start_paused = true)]
async fn fails_fast_on_a_failure_acceptor() {
    let script = Script::new(vec![Ok("pending"), Ok("terminated"), Ok("running")]);
    let waiter = Waiter::new("InstanceRunning", ec2_config(), instance_running()).resource("instance i-0abc");
    let error = waiter.wait(script.poller()).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "waiter InstanceRunning for instance i-0abc reached failure state `instance state is terminated` after 2 attempts"
    );
    assert_eq!((error.waiter(), error.resource()), ("InstanceRunning", Some("instance i-0abc")));
    match &error {
        WaiterError::FailureState { acceptor, attempts, last, .. } => {
            assert_eq!(acceptor, "instance state is terminated");
            assert_eq!(*attempts, 2);
            assert_eq!(last, &Ok("terminated"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(error.last(), Some(&Ok("terminated")));
    assert_eq!(script.poll_times().len(), 2, "no poll after the failure state");
}

#[tokio::test(start_paused = true)]
async fn first_matching_acceptor_wins() {
    let both = || {
        vec![
            Acceptor::output(AcceptorState::Failure, "first", |_: &&str| true),
            Acceptor::output(AcceptorState::Success, "second", |_: &&str| true),
        ]
    };
    let script = Script::new(vec![Ok("x")]);
    let error = Waiter::<&str, FakeError>::new("InstanceRunning", ec2_config(), both())
        .wait(script.poller())
        .await
        .unwrap_err();
    assert!(matches!(error, WaiterError::FailureState { ref acceptor, .. } if acceptor == "first"));
}

#[tokio::test(start_paused = true)]
async fn times_out_at_the_deadline() {
    let max_wait = secs(100);
    let script = Script::new(vec![Ok("pending")]);
    let config = WaiterConfig::new(secs(2), secs(20), max_wait);
    let waiter = Waiter::new("InstanceRunning", config, instance_running()).with_seed(11);
    let started = Instant::now();
    let error = waiter.wait(script.poller()).await.unwrap_err();
    let elapsed = started.elapsed();

    assert_eq!(elapsed, max_wait, "the wait ends at the deadline (virtual time)");
    let polls = script.poll_times();
    assert_eq!(*polls.last().unwrap(), max_wait, "the last poll happens at the deadline");
    match &error {
        WaiterError::Timeout { max_wait: reported, attempts, last, .. } => {
            assert_eq!(*reported, max_wait);
            assert_eq!(*attempts as usize, polls.len());
            assert_eq!(last, &Ok("pending"));
        }
        other => panic!("unexpected {other:?}"),
    }
    let text = error.to_string();
    assert!(text.starts_with("waiter InstanceRunning timed out after 1m40s and "), "{text}");
    assert!(text.ends_with(" attempts without reaching a success state"), "{text}");
    // Before the last one, polls are at least min_delay apart.
    for pair in polls[..polls.len() - 1].windows(2) {
        assert!(pair[1] - pair[0] >= secs(2));
    }
}

#[tokio::test(start_paused = true)]
async fn a_slow_poll_past_the_deadline_times_out_after_it() {
    let waiter = Waiter::new("InstanceRunning", WaiterConfig::new(secs(1), secs(5), secs(10)), instance_running());
    let mut polls = 0;
    let error = waiter
        .wait(|| {
            polls += 1;
            async {
                tokio::time::sleep(secs(30)).await;
                Ok::<_, FakeError>("pending")
            }
        })
        .await
        .unwrap_err();
    assert!(matches!(error, WaiterError::Timeout { attempts: 1, last: Ok("pending"), .. }));
    assert_eq!(polls, 1);
}

#[tokio::test(start_paused = true)]
async fn stops_after_max_attempts() {
    let script = Script::new(vec![Ok("pending")]);
    let config = WaiterConfig::new(secs(1), secs(4), secs(3600)).max_attempts(5);
    let error = Waiter::new("InstanceRunning", config, instance_running()).wait(script.poller()).await.unwrap_err();
    assert_eq!(error.to_string(), "waiter InstanceRunning gave up after 5 attempts without reaching a success state");
    assert!(matches!(error, WaiterError::MaxAttemptsExceeded { attempts: 5, last: Ok("pending"), .. }));
    assert_eq!(script.poll_times().len(), 5);
}

#[tokio::test(start_paused = true)]
async fn unexpected_error_stops_the_wait() {
    let script = Script::new(vec![Ok("pending"), Err(FakeError("Throttling")), Ok("running")]);
    let waiter = Waiter::new("InstanceRunning", ec2_config(), instance_running()).resource("instance i-0abc");
    let error = waiter.wait(script.poller()).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "waiter InstanceRunning for instance i-0abc stopped after 2 attempts on an error no acceptor matched: \
         service error Throttling"
    );
    assert!(std::error::Error::source(&error).is_none(), "the error's text is printed, not repeated as the source");
    assert_eq!(error.last_error(), Some(&FakeError("Throttling")));
    assert!(matches!(error, WaiterError::UnexpectedError { source: FakeError("Throttling"), attempts: 2, .. }));
    assert_eq!(script.poll_times().len(), 2, "no poll after an unknown error");
}

#[tokio::test(start_paused = true)]
async fn retry_on_error_code_keeps_polling() {
    let script = Script::new(vec![
        Err(FakeError(NOT_FOUND)),
        Err(FakeError(NOT_FOUND)),
        Err(FakeError(NOT_FOUND)),
        Ok("running"),
    ]);
    let done = Waiter::new("InstanceRunning", ec2_config(), instance_running()).wait(script.poller()).await.unwrap();
    assert_eq!(done.attempts, 4);
    assert_eq!(done.into_output(), Some("running"));
}

#[tokio::test(start_paused = true)]
async fn success_may_match_an_error() {
    // An "object does not exist" waiter: NotFound is success.
    let acceptors = vec![
        Acceptor::error_code(AcceptorState::Success, "NotFound"),
        Acceptor::output(AcceptorState::Retry, "the object exists", |_: &&str| true),
    ];
    let script = Script::new(vec![Ok("exists"), Err(FakeError("NotFound"))]);
    let done = Waiter::new("InstanceRunning", WaiterConfig::new(secs(5), secs(120), secs(100)), acceptors)
        .wait(script.poller())
        .await
        .unwrap();
    assert_eq!(done.attempts, 2);
    assert_eq!(done.into_result(), Err(FakeError("NotFound")));
}

#[tokio::test(start_paused = true)]
async fn any_error_failure_acceptor() {
    let acceptors = vec![Acceptor::success_if_ok(), Acceptor::any_error(AcceptorState::Failure)];
    let script = Script::new(vec![Err(FakeError("AccessDenied"))]);
    let error = Waiter::new("InstanceRunning", ec2_config(), acceptors).wait(script.poller()).await.unwrap_err();
    assert_eq!(error.last(), Some(&Err(FakeError("AccessDenied"))));
    assert_eq!(error.attempts(), 1);
}

#[tokio::test(start_paused = true)]
async fn observed_sleeps_are_within_the_backoff_bounds() {
    let (min, max, max_wait) = (secs(2), secs(120), secs(1800));
    let backoff = Backoff::new(min, max);
    let mut all_gaps = Vec::new();
    for seed in 0..20 {
        let script = Script::new(vec![Ok("pending")]);
        let waiter =
            Waiter::new("InstanceRunning", WaiterConfig::new(min, max, max_wait), instance_running()).with_seed(seed);
        let error = waiter.wait(script.poller()).await.unwrap_err();
        assert!(matches!(error, WaiterError::Timeout { .. }));
        let polls = script.poll_times();
        assert_eq!(*polls.last().unwrap(), max_wait);
        let gaps: Vec<Duration> = polls.windows(2).map(|p| p[1] - p[0]).collect();
        let (last_gap, regular) = gaps.split_last().unwrap();
        for (index, gap) in regular.iter().enumerate() {
            let retry = u32::try_from(index + 1).unwrap();
            assert!(
                *gap >= min && *gap <= backoff.cap(retry),
                "seed {seed}, retry {retry}: slept {gap:?}, bounds [{min:?}, {:?}]",
                backoff.cap(retry)
            );
        }
        // The stretched last sleep leaves no more than min_delay + the largest draw.
        assert!(*last_gap <= max + min);
        all_gaps.extend_from_slice(regular);
    }
    all_gaps.sort();
    all_gaps.dedup();
    assert!(all_gaps.len() > 20, "the delays are jittered");
}

#[tokio::test(start_paused = true)]
async fn invalid_configuration_polls_nothing() {
    let mut polls = 0;
    for config in [
        WaiterConfig::new(Duration::ZERO, secs(1), secs(10)),
        WaiterConfig::new(secs(5), secs(1), secs(10)),
        WaiterConfig::new(secs(1), secs(5), secs(10)).max_attempts(0),
    ] {
        let error = Waiter::new("InstanceRunning", config, instance_running())
            .wait(|| {
                polls += 1;
                std::future::ready(Ok::<_, FakeError>("running"))
            })
            .await
            .unwrap_err();
        assert!(matches!(error, WaiterError::InvalidConfig { .. }));
        assert!(error.to_string().starts_with("waiter InstanceRunning has an invalid configuration: "), "{error}");
    }
    assert_eq!(polls, 0);
}

#[tokio::test(start_paused = true)]
async fn one_attempt_is_singular_in_messages() {
    let script = Script::new(vec![Ok("terminated")]);
    let error =
        Waiter::new("InstanceRunning", ec2_config(), instance_running()).wait(script.poller()).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        "waiter InstanceRunning reached failure state `instance state is terminated` after 1 attempt"
    );
}

#[test]
fn wait_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let waiter = Waiter::new("InstanceRunning", ec2_config(), instance_running());
    let future = waiter.wait(|| async { Ok::<_, FakeError>("running") });
    assert_send(&future);
}

/// Issue 15, defect 15: `max_wait: Duration::MAX` panicked (`Instant + Duration` overflow); it now
/// means "no deadline" and the wait ends on an acceptor.
#[tokio::test(start_paused = true)]
async fn an_unbounded_max_wait_is_no_deadline_not_a_panic() {
    let script = Script::new(vec![Ok("pending"), Ok("running")]);
    let config = ec2_config().max_wait(Duration::MAX);
    let done = Waiter::new("InstanceRunning", config, instance_running()).wait(script.poller()).await.unwrap();
    assert_eq!(done.attempts, 2);
}

/// Issue 16, point 3: a timeout shows the last error seen, and the chain does not repeat it.
#[tokio::test(start_paused = true)]
async fn a_timeout_shows_the_last_error() {
    let script = Script::new(vec![Err(FakeError(NOT_FOUND))]);
    let config = WaiterConfig::new(secs(15), secs(120), secs(300));
    let waiter = Waiter::new("InstanceRunning", config, instance_running()).resource("instance i-0abc");
    let error = waiter.wait(script.poller()).await.unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("waiter InstanceRunning for instance i-0abc timed out after 5m and "), "{text}");
    assert!(text.ends_with(" attempts; last error: service error InvalidInstanceID.NotFound"), "{text}");
    assert!(std::error::Error::source(&error).is_none());
    assert_eq!(error.last_error(), Some(&FakeError(NOT_FOUND)));
    assert!(matches!(error.last(), Some(Err(FakeError(NOT_FOUND)))));
    assert!(matches!(error.into_last(), Some(Err(FakeError(NOT_FOUND)))));
}

/// Issue 16, point 3: every variant's one line names the waiter and the resource.
#[tokio::test(start_paused = true)]
async fn every_variant_names_the_waiter_and_the_resource() {
    let waiter = |config| Waiter::new("InstanceRunning", config, instance_running()).resource("instance i-0abc");
    let errors = [
        waiter(ec2_config()).wait(Script::new(vec![Ok("terminated")]).poller()).await.unwrap_err(),
        waiter(ec2_config()).wait(Script::new(vec![Err(FakeError("Boom"))]).poller()).await.unwrap_err(),
        waiter(WaiterConfig::new(secs(1), secs(2), secs(3)))
            .wait(Script::new(vec![Ok("pending")]).poller())
            .await
            .unwrap_err(),
        waiter(ec2_config().max_attempts(2))
            .wait(Script::new(vec![Err(FakeError(NOT_FOUND))]).poller())
            .await
            .unwrap_err(),
        waiter(ec2_config().max_attempts(0)).wait(Script::new(vec![Ok("running")]).poller()).await.unwrap_err(),
    ];
    let expected = [
        "waiter InstanceRunning for instance i-0abc reached failure state `instance state is terminated` after 1 attempt",
        "waiter InstanceRunning for instance i-0abc stopped after 1 attempt on an error no acceptor matched: service error Boom",
        "waiter InstanceRunning for instance i-0abc timed out after 3s and ",
        "waiter InstanceRunning for instance i-0abc gave up after 2 attempts; last error: service error InvalidInstanceID.NotFound",
        "waiter InstanceRunning for instance i-0abc has an invalid configuration: ",
    ];
    for (error, expected) in errors.iter().zip(expected) {
        let text = error.to_string();
        assert!(text.starts_with(expected), "{text}");
        assert!(!text.contains('\n'), "{text}");
        assert!(std::error::Error::source(error).is_none(), "{text}");
    }
    assert!(errors[2].to_string().ends_with(" without reaching a success state"));
}
