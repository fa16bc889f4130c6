//! Waiters from `waiters-2.json`, through cloudkit-waiter: acceptors with `path`, `pathAll`,
//! `pathAny` (JMESPath over the output), `status` (HTTP status) and `error` (an error code, or
//! `true`/`false` for any error / no error), the model's delay and max attempts, plus a deadline.
//!
//! Delays follow cloudkit-waiter's jittered backoff: the first retry after the model's `delay`,
//! later ones doubling up to 120 s (or the delay, if longer); at most `maxAttempts` polls, and
//! a deadline of `delay × maxAttempts` by default. Everything is overridable.

use std::time::Duration;

use cloudkit_waiter::{Acceptor, AcceptorState, FinalPoll, Waiter, WaiterConfig, WaiterError};
use serde_json::{Map, Value};

use crate::client::DynamicClient;
use crate::error::DynamicError;
use crate::paginate::search;

/// The longest delay between two polls by default.
const MAX_DELAY: Duration = Duration::from_secs(120);

/// A waiter of the model, ready to [`wait`](Self::wait).
#[must_use = "call .wait(input)"]
pub struct DynamicWaiter {
    client: DynamicClient,
    name: String,
    operation: String,
    acceptors: Vec<Value>,
    config: WaiterConfig,
    seed: Option<u64>,
}

impl std::fmt::Debug for DynamicWaiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamicWaiter")
            .field("name", &self.name)
            .field("operation", &self.operation)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl DynamicClient {
    /// The waiter `name` of the model (`TableExists`, `BucketExists`, `InstanceRunning`, …).
    pub fn waiter(&self, name: &str) -> Result<DynamicWaiter, DynamicError> {
        let model = self.model();
        let def = model.waiter(name).ok_or_else(|| {
            let known = cloudkit_core::summarize_list(model.waiters(), 300);
            DynamicError::Other(cloudkit_core::Error::invalid_input(
                self.service(),
                name.to_owned(),
                format!("the {} model has no waiter {name} (it has: {known})", model.name()),
            ))
        })?;
        let operation = def.get("operation").and_then(Value::as_str).unwrap_or_default().to_owned();
        let delay = Duration::from_secs(def.get("delay").and_then(Value::as_u64).unwrap_or(15).max(1));
        let attempts =
            def.get("maxAttempts").and_then(Value::as_u64).map_or(40, |n| u32::try_from(n).unwrap_or(u32::MAX).max(1));
        let config = WaiterConfig::default()
            .min_delay(delay)
            .max_delay(MAX_DELAY.max(delay))
            .max_attempts(attempts)
            .max_wait(delay.saturating_mul(attempts));
        let acceptors = def.get("acceptors").and_then(Value::as_array).cloned().unwrap_or_default();
        Ok(DynamicWaiter { client: self.clone(), name: name.to_owned(), operation, acceptors, config, seed: None })
    }
}

fn state(a: &Map<String, Value>) -> Option<AcceptorState> {
    match a.get("state").and_then(Value::as_str)? {
        "success" => Some(AcceptorState::Success),
        "failure" => Some(AcceptorState::Failure),
        "retry" => Some(AcceptorState::Retry),
        _ => None,
    }
}

/// Whether two JSON values are equal as JMESPath compares them (numbers by value).
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn acceptor(a: &Map<String, Value>) -> Option<Acceptor<Value, DynamicError>> {
    let state = state(a)?;
    let expected = a.get("expected").cloned().unwrap_or(Value::Null);
    let argument = a.get("argument").and_then(Value::as_str).unwrap_or_default().to_owned();
    let matcher = a.get("matcher").and_then(Value::as_str)?;
    let description = format!("{matcher} {argument} = {expected}").replace("  ", " ");
    Some(match matcher {
        "path" => Acceptor::output(state, description, move |out: &Value| same(&search(out, &argument), &expected)),
        "pathAll" => Acceptor::output(state, description, move |out: &Value| match search(out, &argument) {
            Value::Array(items) => !items.is_empty() && items.iter().all(|v| same(v, &expected)),
            _ => false,
        }),
        "pathAny" => Acceptor::output(state, description, move |out: &Value| match search(out, &argument) {
            Value::Array(items) => items.iter().any(|v| same(v, &expected)),
            _ => false,
        }),
        "status" => {
            let status = expected.as_u64().unwrap_or_default();
            let description = format!("HTTP status is {status}");
            Acceptor::new(state, description, move |result: &Result<Value, DynamicError>| match result {
                Ok(out) => out.pointer("/ResponseMetadata/HTTPStatusCode").and_then(Value::as_u64) == Some(status),
                Err(e) => e.status().is_some_and(|s| u64::from(s.as_u16()) == status),
            })
        }
        "error" => match expected {
            Value::Bool(true) => Acceptor::any_error(state),
            Value::Bool(false) => {
                Acceptor::new(state, "the call succeeded", |r: &Result<Value, DynamicError>| r.is_ok())
            }
            Value::String(code) => Acceptor::error_code(state, code),
            _ => return None,
        },
        _ => return None,
    })
}

impl DynamicWaiter {
    cloudkit_waiter::waiter_settings!(seed);

    /// The waiter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The operation it polls.
    pub fn operation(&self) -> &str {
        &self.operation
    }

    /// Polls the waiter's operation with `input` until an acceptor says success (the final poll)
    /// or failure, the attempts run out or the deadline passes.
    pub async fn wait(self, input: Value) -> Result<FinalPoll<Value, DynamicError>, WaiterError<Value, DynamicError>> {
        let acceptors: Vec<_> = self.acceptors.iter().filter_map(Value::as_object).filter_map(acceptor).collect();
        let resource = format!("{}.{}", self.client.service(), self.operation);
        let waiter =
            Waiter::new(self.name.clone(), self.config, acceptors).resource(resource).with_optional_seed(self.seed);
        let (client, operation) = (self.client, self.operation);
        waiter.wait(|| client.call(&operation, input.clone())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloudkit_core::{Error, ErrorKind, StatusCode};
    use serde_json::json;

    fn acc(v: Value) -> Acceptor<Value, DynamicError> {
        acceptor(v.as_object().unwrap()).unwrap()
    }

    #[test]
    fn matchers() {
        let path =
            acc(json!({"state": "success", "matcher": "path", "argument": "Table.TableStatus", "expected": "ACTIVE"}));
        assert!(path.matches(&Ok(json!({"Table": {"TableStatus": "ACTIVE"}}))));
        assert!(!path.matches(&Ok(json!({"Table": {"TableStatus": "CREATING"}}))));
        let all =
            acc(json!({"state": "success", "matcher": "pathAll", "argument": "R[].I[].S", "expected": "running"}));
        assert!(all.matches(&Ok(json!({"R": [{"I": [{"S": "running"}, {"S": "running"}]}]}))));
        assert!(!all.matches(&Ok(json!({"R": [{"I": [{"S": "running"}, {"S": "pending"}]}]}))));
        assert!(!all.matches(&Ok(json!({"R": []}))));
        let any =
            acc(json!({"state": "failure", "matcher": "pathAny", "argument": "R[].I[].S", "expected": "terminated"}));
        assert!(any.matches(&Ok(json!({"R": [{"I": [{"S": "running"}, {"S": "terminated"}]}]}))));
        let count =
            acc(json!({"state": "success", "matcher": "path", "argument": "length(Items) > `0`", "expected": true}));
        assert!(count.matches(&Ok(json!({"Items": [1]}))));
        let status = acc(json!({"state": "success", "matcher": "status", "expected": 404}));
        let not_found =
            DynamicError::from(Error::new(ErrorKind::Service, "s3", "HeadBucket").with_status(StatusCode::NOT_FOUND));
        assert!(status.matches(&Err(not_found)));
        assert!(status.matches(&Ok(json!({"ResponseMetadata": {"HTTPStatusCode": 404}}))));
        let code = acc(json!({"state": "retry", "matcher": "error", "expected": "ResourceNotFoundException"}));
        let rnf = DynamicError::from(Error::new(ErrorKind::Service, "d", "o").with_code("ResourceNotFoundException"));
        assert!(code.matches(&Err(rnf)));
        let ok = acc(json!({"state": "success", "matcher": "error", "expected": false}));
        assert!(ok.matches(&Ok(json!({}))));
        assert!(acceptor(json!({"state": "success", "matcher": "nonsense"}).as_object().unwrap()).is_none());
    }
}
