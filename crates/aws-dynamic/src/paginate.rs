//! Paginators from `paginators-1.json`, as cloudkit-paginate streams: single and multiple
//! tokens, `more_results`, `limit_key` (the page size), `result_key` lists (items are the
//! concatenation of the result keys), `non_aggregate_keys` (kept on every page).
//!
//! Tokens: a single string token is passed as is; several tokens, or a token that is not text
//! (DynamoDB's `LastEvaluatedKey`), travel as base64 of a JSON object naming the input members,
//! as botocore encodes them.

use std::ops::{Deref, Range};
use std::pin::Pin;
use std::task::{Context, Poll};

use cloudkit_paginate::{ItemStream, Page, PageRequest, PageStream, PaginationConfig, Paginator};
use futures::Stream;
use serde_json::{Map, Value};

use crate::client::DynamicClient;
use crate::error::DynamicError;
use crate::shapes;

/// One page of a paginated operation: its whole output (dereferences to it) and its items (the
/// values of the paginator's `result_key`s).
#[derive(Debug, Clone, PartialEq)]
pub struct DynamicPage {
    output: Value,
    result_keys: Vec<String>,
    next: Option<String>,
}

impl DynamicPage {
    /// The output of the call.
    pub fn output(&self) -> &Value {
        &self.output
    }

    /// Consumes the page and returns the output.
    pub fn into_output(self) -> Value {
        self.output
    }

    /// The token of the next page, if any.
    pub fn next_token(&self) -> Option<&str> {
        self.next.as_deref()
    }

    /// The arrays at the result keys (simple dotted paths; other expressions are searched).
    fn lists(&self) -> Vec<Vec<Value>> {
        self.result_keys.iter().map(|k| search_list(&self.output, k)).collect()
    }
}

impl Deref for DynamicPage {
    type Target = Value;

    fn deref(&self) -> &Value {
        &self.output
    }
}

/// The array at `key` (a dotted path, or any JMESPath expression), empty when absent.
fn search_list(output: &Value, key: &str) -> Vec<Value> {
    match search(output, key) {
        Value::Array(items) => items,
        _ => Vec::new(),
    }
}

pub(crate) use crate::jmespath::search;

fn path_mut<'v>(value: &'v mut Value, key: &str) -> Option<&'v mut Vec<Value>> {
    let mut cur = value;
    for part in key.split('.') {
        cur = cur.get_mut(part)?;
    }
    cur.as_array_mut()
}

impl Page for DynamicPage {
    type Item = Value;

    fn next_token(&self) -> Option<&str> {
        self.next.as_deref()
    }

    fn item_count(&self) -> usize {
        self.lists().iter().map(Vec::len).sum()
    }

    fn retain_items(&mut self, range: Range<usize>) {
        let mut offset = 0;
        for key in self.result_keys.clone() {
            let simple =
                key.split('.').all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
            let len = search_list(&self.output, &key).len();
            if simple && let Some(list) = path_mut(&mut self.output, &key) {
                let start = range.start.saturating_sub(offset).min(len);
                let end = range.end.saturating_sub(offset).min(len);
                cloudkit_paginate::retain_range(list, start..end.max(start));
            }
            offset += len;
        }
    }

    fn into_items(self) -> Vec<Value> {
        self.lists().into_iter().flatten().collect()
    }
}

/// The strings of a paginator field that is a string or a list of strings.
fn strings(def: &Map<String, Value>, key: &str) -> Vec<String> {
    match def.get(key) {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    }
}

/// A paginated call: a [`Stream`] of [`DynamicPage`]s (default [`PaginationConfig`]), or
/// [`into_pages`](Self::into_pages) / [`into_items`](Self::into_items) with a configuration, or
/// one page with [`send`](Self::send).
pub struct Paginate {
    client: DynamicClient,
    operation: String,
    input: Value,
    stream: Option<PageStream<'static, DynamicPage, DynamicError>>,
}

impl std::fmt::Debug for Paginate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginate").field("operation", &self.operation).finish_non_exhaustive()
    }
}

/// What a paginator needs from `paginators-1.json`.
#[derive(Clone, Debug)]
struct Spec {
    input_tokens: Vec<String>,
    output_tokens: Vec<String>,
    more_results: Option<String>,
    limit_key: Option<String>,
    result_keys: Vec<String>,
}

impl DynamicClient {
    /// Paginates `operation` (which must have a paginator in the model) from `input`.
    ///
    /// ```no_run
    /// # async fn demo(ddb: cloudkit_aws_dynamic::DynamicClient) -> Result<(), cloudkit_aws_dynamic::DynamicError> {
    /// use futures::TryStreamExt;
    /// use cloudkit_paginate::PaginationConfig;
    /// let items: Vec<serde_json::Value> =
    ///     ddb.paginate("Scan", serde_json::json!({"TableName": "t"})).into_items(PaginationConfig::default().page_size(25)).try_collect().await?;
    /// # Ok(()) }
    /// ```
    pub fn paginate(&self, operation: &str, input: Value) -> Paginate {
        Paginate { client: self.clone(), operation: operation.to_owned(), input, stream: None }
    }

    /// The operations that have a paginator.
    pub fn paginators(&self) -> Vec<&str> {
        self.model().paginators()
    }

    fn spec(&self, operation: &str) -> Result<Spec, DynamicError> {
        let def = self.model().paginator(operation).ok_or_else(|| {
            DynamicError::Other(cloudkit_core::Error::invalid_input(
                self.service(),
                operation.to_owned(),
                format!("the {} model has no paginator for {operation}", self.model().name()),
            ))
        })?;
        Ok(Spec {
            input_tokens: strings(def, "input_token"),
            output_tokens: strings(def, "output_token"),
            more_results: def.get("more_results").and_then(Value::as_str).map(str::to_owned),
            limit_key: def.get("limit_key").and_then(Value::as_str).map(str::to_owned),
            result_keys: strings(def, "result_key"),
        })
    }
}

/// The next-page token of `output`, encoded for the paginator.
fn next_token(spec: &Spec, output: &Value) -> Option<String> {
    if let Some(more) = &spec.more_results
        && !matches!(search(output, more), Value::Bool(true))
    {
        return None;
    }
    let values: Vec<Value> = spec.output_tokens.iter().map(|t| search(output, t)).collect();
    if values.iter().all(|v| v.is_null() || v.as_str() == Some("")) {
        return None;
    }
    if let ([Value::String(s)], 1) = (values.as_slice(), spec.input_tokens.len()) {
        return Some(s.clone());
    }
    let mut map = Map::new();
    for (name, value) in spec.input_tokens.iter().zip(values) {
        if !value.is_null() {
            map.insert(name.clone(), value);
        }
    }
    Some(shapes::b64(Value::Object(map).to_string().as_bytes()))
}

/// The input members a token stands for.
fn decode_token(spec: &Spec, token: &str) -> Map<String, Value> {
    let decoded = shapes::unb64(token)
        .and_then(|b| match serde_json::from_slice(&b) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        })
        .filter(|m| !m.is_empty() && m.keys().all(|k| spec.input_tokens.contains(k)));
    match decoded {
        Some(map) => map,
        None => {
            let mut map = Map::new();
            if let Some(name) = spec.input_tokens.first() {
                map.insert(name.clone(), Value::String(token.to_owned()));
            }
            map
        }
    }
}

async fn fetch(
    client: DynamicClient,
    operation: String,
    input: Value,
    spec: Result<Spec, String>,
    request: PageRequest,
) -> Result<DynamicPage, DynamicError> {
    let spec = spec.map_err(|m| {
        DynamicError::Other(cloudkit_core::Error::invalid_input(client.service(), operation.clone(), m))
    })?;
    let mut input = match input {
        Value::Null => Map::new(),
        Value::Object(m) => m,
        other => {
            // Let validation name the problem.
            return client.call(&operation, other).await.map(|output| DynamicPage {
                output,
                result_keys: vec![],
                next: None,
            });
        }
    };
    if let Some(token) = &request.token {
        input.extend(decode_token(&spec, token));
    }
    if let (Some(size), Some(limit)) = (request.page_size, &spec.limit_key) {
        input.insert(limit.clone(), Value::from(size));
    }
    let output = client.call(&operation, Value::Object(input)).await?;
    let next = next_token(&spec, &output);
    Ok(DynamicPage { output, result_keys: spec.result_keys, next })
}

impl Paginate {
    fn paginator(&self, config: PaginationConfig) -> Paginator<'static, DynamicPage, DynamicError> {
        let client = self.client.clone();
        let operation = client.operation_name(&self.operation).unwrap_or_else(|_| self.operation.clone());
        let spec = client.spec(&operation).map_err(|e| e.to_string());
        let input = self.input.clone();
        let service = client.service();
        Paginator::new(service, operation.clone(), config, move |request| {
            fetch(client.clone(), operation.clone(), input.clone(), spec.clone(), request)
        })
    }

    /// One page (the first, or the one `input` names with its token).
    pub async fn send(self) -> Result<DynamicPage, DynamicError> {
        let operation = self.client.operation_name(&self.operation)?;
        let spec = self.client.spec(&operation).map_err(|e| e.to_string());
        fetch(self.client.clone(), operation, self.input, spec, PageRequest::default()).await
    }

    /// A stream of pages with `config` (page size through the paginator's `limit_key`, max
    /// items, starting token).
    pub fn into_pages(self, config: PaginationConfig) -> PageStream<'static, DynamicPage, DynamicError> {
        self.paginator(config).pages()
    }

    /// A stream of the items of every page (the values of the `result_key`s).
    pub fn into_items(self, config: PaginationConfig) -> ItemStream<'static, DynamicPage, DynamicError> {
        self.paginator(config).items()
    }
}

impl Stream for Paginate {
    type Item = Result<DynamicPage, DynamicError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.stream.is_none() {
            let stream = self.paginator(PaginationConfig::default()).pages();
            self.stream = Some(stream);
        }
        match self.stream.as_mut() {
            Some(stream) => Pin::new(stream).poll_next(cx),
            None => Poll::Ready(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(input: &[&str], output: &[&str]) -> Spec {
        Spec {
            input_tokens: input.iter().map(|s| s.to_string()).collect(),
            output_tokens: output.iter().map(|s| s.to_string()).collect(),
            more_results: None,
            limit_key: None,
            result_keys: vec![],
        }
    }

    #[test]
    fn tokens_round_trip() {
        let single = spec(&["NextToken"], &["NextToken"]);
        assert_eq!(next_token(&single, &json!({"NextToken": "abc"})).as_deref(), Some("abc"));
        assert_eq!(next_token(&single, &json!({"NextToken": ""})), None);
        assert_eq!(next_token(&single, &json!({})), None);
        assert_eq!(decode_token(&single, "abc"), json!({"NextToken": "abc"}).as_object().cloned().unwrap());

        let ddb = spec(&["ExclusiveStartKey"], &["LastEvaluatedKey"]);
        let token = next_token(&ddb, &json!({"LastEvaluatedKey": {"pk": {"S": "a"}}})).unwrap();
        assert_eq!(
            decode_token(&ddb, &token),
            json!({"ExclusiveStartKey": {"pk": {"S": "a"}}}).as_object().cloned().unwrap()
        );

        let multi = spec(&["StartRecordName", "StartRecordType"], &["NextRecordName", "NextRecordType"]);
        let token = next_token(&multi, &json!({"NextRecordName": "a", "NextRecordType": "A"})).unwrap();
        assert_eq!(
            decode_token(&multi, &token),
            json!({"StartRecordName": "a", "StartRecordType": "A"}).as_object().cloned().unwrap()
        );

        let mut more = spec(&["Marker"], &["NextMarker || Contents[-1].Key"]);
        more.more_results = Some("IsTruncated".into());
        assert_eq!(
            next_token(&more, &json!({"IsTruncated": true, "Contents": [{"Key": "k1"}]})).as_deref(),
            Some("k1")
        );
        assert_eq!(next_token(&more, &json!({"IsTruncated": false, "NextMarker": "x"})), None);
    }

    #[test]
    fn pages_count_and_trim_items_across_result_keys() {
        let mut page = DynamicPage {
            output: json!({"Contents": [1, 2, 3], "CommonPrefixes": [4, 5], "Owner": "me"}),
            result_keys: vec!["Contents".into(), "CommonPrefixes".into()],
            next: None,
        };
        assert_eq!(page.item_count(), 5);
        page.retain_items(2..4);
        assert_eq!(page.output()["Contents"], json!([3]));
        assert_eq!(page["CommonPrefixes"], json!([4]));
        assert_eq!(page.clone().into_items(), [json!(3), json!(4)]);
    }
}
