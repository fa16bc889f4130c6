//! # cloudkit-core
//!
//! The HTTP request pipeline every cloudkit provider shares (docs/ARCHITECTURE.md, "The request
//! pipeline"):
//!
//! build request → [`Sign`] (SigV4, SharedKey, bearer token, run on every attempt) → [`HttpSend`]
//! (reqwest by default, replaceable and mockable) → classify (success / retryable / throttled /
//! fatal) → retry with full-jitter backoff, `Retry-After` and a [`RetryQuota`] → a response or a
//! typed [`Error`].
//!
//! Retries, timeouts and logging are written once here; provider crates supply the signer, an
//! error-body parser ([`ParseError`]) and their retry classifier ([`ClassifyRetry`]).
//!
//! Beside the pipeline, the pieces every provider crate needs, written once: the error accessors
//! ([`service_error_accessors!`], [`ServiceError`]), the single-flight [`RefreshCache`] for
//! credentials and tokens, transfer [`Progress`], checksum-verified downloads ([`verify_stream`],
//! [`md5_base64`]), downloads that resume after a broken connection ([`resuming`]), downloads to a
//! file through a temporary file ([`PartialFile`]) and RFC 3986 percent-encoding
//! ([`encode_unreserved`], [`encode_path`], query strings with [`append_query`] and
//! [`endpoint_url`]).
//!
//! ```no_run
//! # async fn demo() -> Result<(), cloudkit_core::Error> {
//! use std::time::Duration;
//! use cloudkit_core::{HttpRequest, Operation, Pipeline, RetryConfig, TimeoutConfig};
//!
//! let pipeline = Pipeline::builder("S3")
//!     .retry(RetryConfig::standard().with_max_attempts(5))
//!     .timeouts(TimeoutConfig { attempt: Some(Duration::from_secs(30)), operation: None })
//!     .build()?;
//! let request = HttpRequest::new(http::Method::GET, "http://127.0.0.1:9000/bucket?list-type=2".parse().unwrap());
//! let response = pipeline.send_buffered(&Operation::new("ListObjectsV2"), request).await?;
//! assert!(response.status.is_success());
//! # Ok(()) }
//! ```

mod body;
mod cache;
mod checksum;
mod classify;
mod cleanup;
mod encode;
mod error;
#[doc(hidden)]
pub mod internal;
mod partial;
mod pipeline;
mod progress;
mod request;
mod resume;
mod retry;
mod secret;
mod send;
mod sign;
#[cfg(any(test, feature = "test-util"))]
pub mod testing;

pub use crate::body::{Body, ByteStream, FileRegion, file_chunks, read_chunks};
pub use crate::cache::{ManualTimeSource, RefreshCache, RefreshFailed, SystemTimeSource, TimeSource};
pub use crate::checksum::{ChecksumMismatchError, Md5, RunningChecksum, checksum_mismatch, md5_base64, verify_stream};
pub use crate::classify::{ClassifyRetry, CodeClassifier, RetryClass, classify_status, classify_transport};
pub use crate::cleanup::{CleanupOnDrop, cleanups_finished, pending_cleanups, spawn_cleanup};
pub use crate::encode::{UNRESERVED, UNRESERVED_AND_SLASH, append_query, encode_path, encode_unreserved, endpoint_url};
pub use crate::error::{
    BoxError, Error, ErrorKind, ServiceError, ServiceErrorDetails, TransportError, TransportErrorKind, summarize_list,
    unshown_source,
};
pub use crate::partial::PartialFile;
pub use crate::pipeline::{
    BodyErrorCheck, BufferedResponse, DEFAULT_MAX_RESPONSE_BODY, Operation, ParseError, Pipeline, PipelineBuilder,
    PlainErrorParser, TimeoutConfig, request_id_from_headers,
};
pub use crate::progress::{Progress, ProgressCallback, ProgressTracker};
pub use crate::request::{HttpRequest, HttpResponse, InvalidHeader, redact_url};
pub use crate::resume::{ReopenAt, object_changed, resuming};
pub use crate::retry::{DEFAULT_QUOTA, RETRY_COST, RetryConfig, RetryQuota, TIMEOUT_RETRY_COST, retry_after};
pub use crate::secret::SecretString;
#[cfg(feature = "mock")]
pub use crate::send::MockHttpSend;
pub use crate::send::{HttpClientConfig, HttpSend, ReqwestSend, install_default_crypto_provider};
#[cfg(feature = "mock")]
pub use crate::sign::MockSign;
pub use crate::sign::{NoSign, Sign, SignError};

/// Re-exports of the `http` types used in the public API.
pub use ::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
/// Re-export of `bytes::Bytes`.
pub use bytes::Bytes;
/// A boxed, `Send` future. Large `async fn` bodies that many crates await are returned boxed:
/// the compiler copies an `async fn` body into every crate that awaits it, a `dyn Future` is
/// compiled once (smaller binaries, faster builds; one allocation per call).
pub use futures::future::BoxFuture;
/// Re-export of `url::Url`.
pub use url::Url;
