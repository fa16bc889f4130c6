//! [`DynamicError`]: the errors of the model-driven client.

use cloudkit_aws_protocol::AWS_RETRY_CLASSIFIER;
use cloudkit_core::{Error, ErrorKind};
use cloudkit_paginate::PaginationError;

use crate::models::ModelError;

/// An error from a [`DynamicClient`](crate::DynamicClient) call.
///
/// Service answers of any code are [`DynamicError::Service`] (match on [`code`](Self::code), as
/// boto3 users match `e.response["Error"]["Code"]`); input that does not match the model is
/// [`DynamicError::Validation`] (nothing was sent; the message names each offending path).
///
/// ```
/// # fn handle(result: Result<serde_json::Value, cloudkit_aws_dynamic::DynamicError>) {
/// match result {
///     Ok(item) => println!("{item}"),
///     Err(e) if e.code() == Some("ConditionalCheckFailedException") => println!("someone was first"),
///     Err(e) => println!("failed: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DynamicError {
    /// The service answered with an error (any code but throttling).
    #[error(transparent)]
    Service(Error),
    /// The input does not match the operation's input shape; nothing was sent.
    #[error(transparent)]
    Validation(Error),
    /// A throttling answer, after the pipeline's retries.
    #[error(transparent)]
    Throttled(Error),
    /// The model has no such operation or waiter, or could not be loaded.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A listing stopped on a page-bookkeeping failure (a repeated token, a malformed starting
    /// token); a failed page is its own variant.
    #[error(transparent)]
    Pagination(#[from] PaginationError),
    /// Anything else: transport errors, timeouts, credentials, decode errors, unknown operations.
    #[error(transparent)]
    Other(Error),
}

impl DynamicError {
    /// Sorts a pipeline error into its variant.
    pub fn from_core(error: Error) -> Self {
        match error.kind() {
            ErrorKind::InvalidInput => Self::Validation(error),
            ErrorKind::Service
                if error.is_throttling()
                    || error.code().is_some_and(|c| AWS_RETRY_CLASSIFIER.is_throttling_code(c)) =>
            {
                Self::Throttled(error)
            }
            ErrorKind::Service => Self::Service(error),
            _ => Self::Other(error),
        }
    }

    /// Whether this is a validation error (the input does not match the model).
    pub fn is_validation(&self) -> bool {
        matches!(self, Self::Validation(_))
    }
}

cloudkit_core::service_error_accessors!(DynamicError { Service, Validation, Throttled, Other });

impl From<Error> for DynamicError {
    fn from(error: Error) -> Self {
        Self::from_core(error)
    }
}

cloudkit_waiter::error_code_from_accessor!(DynamicError);

#[cfg(test)]
mod tests {
    use super::*;
    use cloudkit_core::StatusCode;

    #[test]
    fn kinds_map_to_variants() {
        let service = Error::new(ErrorKind::Service, "dynamodb", "PutItem")
            .with_status(StatusCode::BAD_REQUEST)
            .with_code("ConditionalCheckFailedException")
            .with_message("The conditional request failed");
        let e = DynamicError::from(service);
        assert!(matches!(e, DynamicError::Service(_)));
        assert_eq!(e.code(), Some("ConditionalCheckFailedException"));
        assert_eq!(
            e.to_string(),
            "dynamodb.PutItem failed: HTTP 400 ConditionalCheckFailedException: The conditional request failed (not retryable)"
        );
        let throttled =
            Error::new(ErrorKind::Service, "dynamodb", "Scan").with_code("ProvisionedThroughputExceededException");
        assert!(DynamicError::from(throttled).is_throttling());
        let invalid = DynamicError::from(Error::invalid_input("dynamodb", "PutItem", "Item.pk.S: expected text"));
        assert!(invalid.is_validation());
        assert!(matches!(DynamicError::from(Error::new(ErrorKind::Transport, "s", "o")), DynamicError::Other(_)));
    }
}
