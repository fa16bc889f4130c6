//! Issue 16, point 2: every error kind of every crate, printed through an error-chain printer
//! (`Display`, then each `source()` in turn, as anyhow's `{:#}` and eyre do), says each text once
//! and each `Display` is one line.
//!
//! A layer either includes its cause's text in its `Display` or returns the cause from
//! `source()`, never both. This test builds every error kind it can reach (core kinds with and
//! without message and source, checksum mismatches, signing, pagination, waiters, credential
//! chains, configuration, provider enums, transfers, stores, compute), some of them from real
//! failing calls over `ReplayHttp`, and checks the printed chain. `SHOW_CHAINS=1 cargo test -p
//! cloudkit --all-features --test error_chains -- --nocapture` prints every chain.

#![cfg(all(feature = "aws", feature = "azure", feature = "gcp"))]
#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

use std::error::Error as StdError;
use std::sync::Arc;
use std::time::Duration;

use cloudkit_core::testing::{Canned, ReplayHttp};
use cloudkit_core::{
    ChecksumMismatchError, Error, ErrorKind, RefreshFailed, RetryConfig, ServiceErrorDetails, SignError, StatusCode,
    TransportError, TransportErrorKind,
};
use cloudkit_paginate::{PaginationConfig, PaginationError, PaginationErrorKind};
use cloudkit_waiter::WaiterError;
use futures::TryStreamExt;

/// `Display`, then each `source()` in turn: what an error-chain printer shows, one entry a line.
fn chain(e: &(dyn StdError + 'static)) -> Vec<String> {
    let mut lines = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        lines.push(s.to_string());
        next = s.source();
        assert!(lines.len() < 20, "a source loop: {lines:?}");
    }
    lines
}

/// Checks one error's chain; returns a description of what is wrong, if anything.
fn problems(name: &str, e: &(dyn StdError + 'static)) -> Vec<String> {
    let lines = chain(e);
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if line.contains('\n') {
            found.push(format!("{name}: line {i} has a newline: {line:?}"));
        }
        if line.trim().is_empty() {
            found.push(format!("{name}: line {i} is empty"));
        }
        for (j, later) in lines.iter().enumerate().skip(i + 1) {
            if later.contains(line.as_str()) || line.contains(later.as_str()) {
                found.push(format!("{name}: line {j} repeats line {i}:\n    {i}: {line}\n    {j}: {later}"));
            }
        }
        // A note must not be appended twice (Azure's "(not retryable) (not retryable)").
        for note in ["(not retryable)", "not retryable)", "(retryable)"] {
            if line.matches(note).count() > 1 {
                found.push(format!("{name}: line {i} repeats {note:?}: {line}"));
            }
        }
    }
    found
}

fn boxed(e: impl StdError + Send + Sync + 'static) -> cloudkit_core::BoxError {
    Box::new(e)
}

#[derive(Debug, thiserror::Error)]
#[error("connection reset by peer")]
struct Reset;

fn transport(kind: TransportErrorKind, message: &str) -> TransportError {
    TransportError::new(kind, message).with_source(Reset)
}

fn service_error(service: &'static str, operation: &'static str, status: u16, code: &str, message: &str) -> Error {
    Error::new(ErrorKind::Service, service, operation)
        .with_status(StatusCode::from_u16(status).unwrap())
        .with_details(ServiceErrorDetails {
            code: Some(code.to_owned()),
            message: Some(message.to_owned()),
            request_id: Some("R1".to_owned()),
        })
        .with_attempts(3)
}

fn mismatch() -> ChecksumMismatchError {
    ChecksumMismatchError { algorithm: "CRC32C", expected: "AAAAAA==".into(), actual: "BBBBBB==".into() }
}

/// Core errors: every kind, with and without a message, with and without a source, nested.
fn core_errors() -> Vec<(String, cloudkit_core::BoxError)> {
    let kinds = [
        ErrorKind::Service,
        ErrorKind::Transport,
        ErrorKind::Timeout,
        ErrorKind::Credentials,
        ErrorKind::Signing,
        ErrorKind::InvalidInput,
        ErrorKind::Decode,
    ];
    let mut out: Vec<(String, cloudkit_core::BoxError)> = Vec::new();
    for kind in kinds {
        let base = || Error::new(kind, "S3", "GetObject");
        out.push((format!("core {kind:?} bare"), boxed(base())));
        out.push((format!("core {kind:?} message"), boxed(base().with_message("what went wrong"))));
        out.push((
            format!("core {kind:?} source"),
            boxed(base().with_source(transport(TransportErrorKind::Connect, "could not connect"))),
        ));
        out.push((
            format!("core {kind:?} message+source"),
            boxed(base().with_message("the read broke off").with_source(transport(TransportErrorKind::Body, "reset"))),
        ));
        out.push((
            format!("core {kind:?} retryable, note, attempts"),
            boxed(
                base()
                    .with_retryable(true)
                    .with_attempts(4)
                    .with_note("retry quota exhausted")
                    .with_source(transport(TransportErrorKind::Timeout, "timed out")),
            ),
        ));
    }
    out.push(("core service answer".into(), boxed(service_error("S3", "GetObject", 404, "NoSuchKey", "gone"))));
    // a checksum mismatch inside a transport error inside a core error
    let corrupt = TransportError::new(TransportErrorKind::Body, "corrupt download").with_source(mismatch());
    out.push((
        "core checksum mismatch".into(),
        boxed(Error::new(ErrorKind::Transport, "S3", "GetObject").with_source(corrupt)),
    ));
    out.push(("checksum mismatch".into(), boxed(mismatch())));
    out.push(("transport".into(), boxed(transport(TransportErrorKind::Request, "request failed"))));
    out.push(("transport bare".into(), boxed(TransportError::new(TransportErrorKind::Other, "HTTP error"))));
    // a credentials error wrapping an identity endpoint's own core error (the Azure token path)
    let identity = Error::new(ErrorKind::Transport, "AzureIdentity", "GetToken")
        .with_source(transport(TransportErrorKind::Connect, "could not connect"));
    let sign = SignError::Credentials(boxed(identity));
    out.push((
        "core credentials over identity error".into(),
        boxed(Error::new(ErrorKind::Credentials, "AzureBlob", "GetBlob").with_source(sign)),
    ));
    out.push(("sign credentials".into(), boxed(SignError::Credentials("no credentials found".into()))));
    out.push((
        "sign signing".into(),
        boxed(SignError::Signing(boxed(transport(TransportErrorKind::Other, "bad header")))),
    ));
    out.push((
        "refresh failed".into(),
        boxed(RefreshFailed { message: "the token endpoint refused".into(), retry_in: Duration::from_secs(5) }),
    ));
    out
}

fn pagination(kind: PaginationErrorKind) -> PaginationError {
    PaginationError::new("S3", "ListObjectsV2", kind)
}

fn pagination_errors() -> Vec<(String, cloudkit_core::BoxError)> {
    let reason = "cloudkit-resume:v1:x:t".parse::<cloudkit_paginate::ResumeToken>().unwrap_err();
    vec![
        ("pagination repeated".into(), boxed(pagination(PaginationErrorKind::RepeatedToken { token: "abc".into() }))),
        (
            "pagination starting token".into(),
            boxed(pagination(PaginationErrorKind::InvalidStartingToken {
                token: "cloudkit-resume:v1:x:t".into(),
                reason,
            })),
        ),
        (
            "S3Error::Pagination".into(),
            boxed(cloudkit_aws_s3::S3Error::from(pagination(PaginationErrorKind::RepeatedToken { token: "a".into() }))),
        ),
        (
            "Ec2Error::Pagination".into(),
            boxed(cloudkit_aws_ec2::Ec2Error::from(pagination(PaginationErrorKind::RepeatedToken {
                token: "a".into(),
            }))),
        ),
        (
            "BlobError::Pagination".into(),
            boxed(cloudkit_azure_blob::BlobError::from(pagination(PaginationErrorKind::RepeatedToken {
                token: "a".into(),
            }))),
        ),
        (
            "GcsError::Pagination".into(),
            boxed(cloudkit_gcp_storage::GcsError::from(pagination(PaginationErrorKind::RepeatedToken {
                token: "a".into(),
            }))),
        ),
    ]
}

type Ec2Wait = WaiterError<&'static str, cloudkit_aws_ec2::Ec2Error>;

fn waiter_errors() -> Vec<(String, cloudkit_core::BoxError)> {
    let not_found = || {
        cloudkit_aws_ec2::Ec2Error::from(service_error(
            "EC2",
            "DescribeInstances",
            400,
            "InvalidInstanceID.NotFound",
            "The instance ID 'i-0abc' does not exist",
        ))
    };
    let transport_failure = || {
        cloudkit_aws_ec2::Ec2Error::from(
            Error::new(ErrorKind::Transport, "EC2", "DescribeInstances")
                .with_source(transport(TransportErrorKind::Connect, "could not connect")),
        )
    };
    let waiter = || "InstanceRunning".into();
    let resource = || Some("instance i-0abc".to_owned());
    let errors: Vec<(&str, Ec2Wait)> = vec![
        (
            "failure state ok",
            WaiterError::FailureState {
                waiter: waiter(),
                resource: resource(),
                acceptor: "an instance is terminated".into(),
                attempts: 2,
                last: Ok("terminated"),
            },
        ),
        (
            "failure state err",
            WaiterError::FailureState {
                waiter: waiter(),
                resource: resource(),
                acceptor: "InvalidInstanceID.NotFound".into(),
                attempts: 2,
                last: Err(not_found()),
            },
        ),
        (
            "unexpected",
            WaiterError::UnexpectedError {
                waiter: waiter(),
                resource: resource(),
                source: transport_failure(),
                attempts: 1,
            },
        ),
        (
            "timeout err",
            WaiterError::Timeout {
                waiter: waiter(),
                resource: resource(),
                max_wait: Duration::from_secs(300),
                attempts: 31,
                last: Err(not_found()),
            },
        ),
        (
            "timeout transport",
            WaiterError::Timeout {
                waiter: waiter(),
                resource: resource(),
                max_wait: Duration::from_secs(300),
                attempts: 31,
                last: Err(transport_failure()),
            },
        ),
        (
            "timeout ok",
            WaiterError::Timeout {
                waiter: waiter(),
                resource: None,
                max_wait: Duration::from_secs(300),
                attempts: 31,
                last: Ok("pending"),
            },
        ),
        (
            "max attempts",
            WaiterError::MaxAttemptsExceeded {
                waiter: waiter(),
                resource: resource(),
                attempts: 40,
                last: Err(not_found()),
            },
        ),
        ("invalid config", WaiterError::InvalidConfig { waiter: waiter(), resource: resource(), reason: "zero delay" }),
    ];
    errors.into_iter().map(|(n, e)| (format!("waiter {n}"), boxed(e))).collect()
}

fn credential_and_config_errors() -> Vec<(String, cloudkit_core::BoxError)> {
    use cloudkit_cred_chain::aws::{AwsConfigError, ProfileFileError, RegionError};
    use cloudkit_signer::aws::CredentialsError;
    let sts = cloudkit_aws_sts::StsError::from(service_error(
        "STS",
        "AssumeRole",
        403,
        "AccessDenied",
        "User is not authorized to perform: sts:AssumeRole",
    ));
    let assume = CredentialsError::provider_error(
        "assume role",
        format!("could not assume role arn:aws:iam::1:role/r: {sts}"),
        Some(boxed(sts)),
    );
    let io = || std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied");
    let http = || transport(TransportErrorKind::Other, "could not build the HTTP client");
    let mut out: Vec<(String, cloudkit_core::BoxError)> = vec![
        (
            "credentials not loaded".into(),
            boxed(CredentialsError::not_loaded("environment", "AWS_ACCESS_KEY_ID is not set")),
        ),
        ("credentials provider error quoting its source".into(), boxed(assume)),
        (
            "credentials provider error with an unquoted source".into(),
            boxed(CredentialsError::provider_error(
                "web identity",
                "could not read the token file /t",
                Some(boxed(io())),
            )),
        ),
        (
            "credentials provider error without source".into(),
            boxed(CredentialsError::provider_error("process", "exit 1", None)),
        ),
        (
            "profile file read".into(),
            boxed(ProfileFileError::Read { path: "/home/me/.aws/config".into(), source: io() }),
        ),
        (
            "profile file syntax".into(),
            boxed(ProfileFileError::Syntax { path: "/home/me/.aws/config".into(), line: 3, message: "no `=`".into() }),
        ),
        ("aws config http".into(), boxed(AwsConfigError::Http(http()))),
        (
            "aws config profile file".into(),
            boxed(AwsConfigError::ProfileFile(ProfileFileError::Read { path: "/c".into(), source: io() })),
        ),
        (
            "aws config profile not found".into(),
            boxed(AwsConfigError::ProfileNotFound { profile: "staging".into(), files: "~/.aws/config".into() }),
        ),
        (
            "aws config credentials".into(),
            boxed(AwsConfigError::Credentials(CredentialsError::not_loaded("sso", "no token"))),
        ),
        (
            "aws region invalid".into(),
            boxed(RegionError::Invalid { value: "mars".into(), source_name: "AWS_REGION".into(), reason: "unknown" }),
        ),
        (
            "imds unreachable".into(),
            boxed(cloudkit_cred_chain::aws::imds::ImdsError::Unreachable {
                source: transport(TransportErrorKind::Connect, "could not connect"),
            }),
        ),
        (
            "sigv4 signing".into(),
            boxed(cloudkit_signer::aws::SigningError::Signing {
                source: boxed(transport(TransportErrorKind::Other, "x")),
            }),
        ),
        (
            "azure config connection string".into(),
            boxed(cloudkit_cred_chain::azure::AzureConfigError::InvalidConnectionString {
                origin: "AZURE_STORAGE_CONNECTION_STRING",
                source: cloudkit_signer::azure::AzureSignError::InvalidConnectionString("no AccountName".into()),
            }),
        ),
        ("azure config http".into(), boxed(cloudkit_cred_chain::azure::AzureConfigError::Http(http()))),
        ("azure config no account".into(), boxed(cloudkit_cred_chain::azure::AzureConfigError::NoAccount)),
        (
            "gcp config credentials file".into(),
            boxed(cloudkit_cred_chain::gcp::GcpConfigError::CredentialsFile {
                path: "/k.json".into(),
                origin: "GOOGLE_APPLICATION_CREDENTIALS",
                source: io(),
            }),
        ),
        ("gcp config http".into(), boxed(cloudkit_cred_chain::gcp::GcpConfigError::Http(http()))),
        (
            "gcs signing".into(),
            boxed(cloudkit_gcp_storage::GcsError::from(cloudkit_signer::gcp::SigningError::Sign("no signer".into()))),
        ),
    ];
    let region = RegionError::Invalid { value: "x".into(), source_name: "code".into(), reason: "empty" };
    out.push(("aws config region".into(), boxed(AwsConfigError::Region(region))));
    out
}

fn provider_errors() -> Vec<(String, cloudkit_core::BoxError)> {
    use cloudkit_aws_s3::S3Error;
    use cloudkit_azure_blob::BlobError;
    use cloudkit_gcp_storage::GcsError;
    let body = || transport(TransportErrorKind::Body, "response body failed");
    vec![
        ("s3 no such key".into(), boxed(S3Error::from(service_error("S3", "GetObject", 404, "NoSuchKey", "gone")))),
        ("s3 body error".into(), boxed(S3Error::from_body_error("GetObject", body()))),
        (
            "s3 checksum mismatch".into(),
            boxed(S3Error::from_body_error(
                "GetObject",
                TransportError::new(TransportErrorKind::Body, "corrupt download").with_source(mismatch()),
            )),
        ),
        ("s3 object changed".into(), boxed(S3Error::from_body_error("GetObject", cloudkit_core::object_changed()))),
        (
            "s3 transfer io".into(),
            boxed(cloudkit_aws_s3::TransferError::Io {
                context: "reading /tmp/x".into(),
                source: std::io::Error::other(Reset),
            }),
        ),
        (
            "s3 transfer s3".into(),
            boxed(cloudkit_aws_s3::TransferError::S3(S3Error::from_body_error("GetObject", body()))),
        ),
        (
            "ec2 throttled".into(),
            boxed(cloudkit_aws_ec2::Ec2Error::from(service_error(
                "EC2",
                "RunInstances",
                503,
                "RequestLimitExceeded",
                "Request limit exceeded.",
            ))),
        ),
        ("blob body error".into(), boxed(BlobError::from_body_error("GetBlob", body()))),
        (
            "blob not found".into(),
            boxed(BlobError::from(service_error("AzureBlob", "GetBlob", 404, "BlobNotFound", "gone"))),
        ),
        ("gcs body error".into(), boxed(GcsError::from_body_error("objects.get", body()))),
        (
            "arm resource group not found".into(),
            boxed(cloudkit_azure_arm::ArmError::from(
                service_error(
                    "AzureARM",
                    "ResourceGroups_Get",
                    404,
                    "ResourceGroupNotFound",
                    "Resource group 'rg' could not be found.",
                )
                .with_note("correlation id 7f1c"),
            )),
        ),
        (
            "arm operation failed".into(),
            boxed(cloudkit_azure_arm::ArmError::OperationFailed(
                Error::new(ErrorKind::Service, "AzureARM", "VirtualMachines_Start")
                    .with_code("OSProvisioningTimedOut")
                    .with_message("OS Provisioning did not finish in the allotted time."),
            )),
        ),
        (
            "gce not found".into(),
            boxed(cloudkit_gcp_compute::GceError::from(service_error(
                "GCE",
                "compute.instances.get",
                404,
                "notFound",
                "The resource 'projects/p/zones/z/instances/x' was not found",
            ))),
        ),
        (
            "gce operation failed".into(),
            boxed(cloudkit_gcp_compute::GceError::OperationFailed(
                Error::new(ErrorKind::Service, "GCE", "compute.instances.insert")
                    .with_code("ZONE_RESOURCE_POOL_EXHAUSTED")
                    .with_message("The zone does not have enough resources available.")
                    .with_source(transport(TransportErrorKind::Body, "operation ended DONE with 1 error")),
            )),
        ),
        (
            "sts".into(),
            boxed(cloudkit_aws_sts::StsError::from(
                Error::new(ErrorKind::Transport, "STS", "AssumeRole")
                    .with_source(transport(TransportErrorKind::Connect, "could not connect")),
            )),
        ),
    ]
}

/// The model-driven AWS client's errors (`cloudkit-aws-dynamic`): models, the protocol name, calls.
fn aws_dynamic_errors() -> Vec<(String, cloudkit_core::BoxError)> {
    use cloudkit_aws_dynamic::{DynamicError, ModelError, UnknownProtocol};
    let read = || ModelError::Read {
        path: "/models/dynamodb/2012-08-10/service-2.json".into(),
        source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "permission denied"),
    };
    let models: Vec<(&str, ModelError)> = vec![
        ("models not found", ModelError::NotFound { tried: "CLOUDKIT_AWS_MODELS is not set; no botocore".into() }),
        (
            "unknown service",
            ModelError::UnknownService {
                service: "dynamodbb".into(),
                dir: "/models".into(),
                hint: " (did you mean `dynamodb`?)".into(),
            },
        ),
        (
            "unknown version",
            ModelError::UnknownVersion {
                service: "dynamodb".into(),
                version: "2000-01-01".into(),
                dir: "/models".into(),
                available: "2012-08-10".into(),
            },
        ),
        ("read", read()),
        ("malformed", ModelError::Malformed { path: "/models/x.json".into(), message: "expected an object".into() }),
    ];
    let mut out: Vec<(String, cloudkit_core::BoxError)> =
        models.into_iter().map(|(n, e)| (format!("aws-dynamic model {n}"), boxed(e))).collect();
    out.push(("aws-dynamic unknown protocol".into(), boxed(UnknownProtocol("soap".into()))));
    let calls: Vec<(&str, DynamicError)> = vec![
        (
            "service",
            DynamicError::from(service_error(
                "DynamoDB",
                "PutItem",
                400,
                "ConditionalCheckFailedException",
                "The conditional request failed",
            )),
        ),
        (
            "validation",
            DynamicError::from(Error::invalid_input("DynamoDB", "PutItem", "TableName: missing required member")),
        ),
        (
            "throttled",
            DynamicError::from(service_error("DynamoDB", "Query", 400, "ThrottlingException", "Rate exceeded")),
        ),
        ("model", DynamicError::Model(read())),
        ("pagination", DynamicError::from(pagination(PaginationErrorKind::RepeatedToken { token: "t".into() }))),
        (
            "transport",
            DynamicError::from(
                Error::new(ErrorKind::Transport, "DynamoDB", "GetItem")
                    .with_source(transport(TransportErrorKind::Connect, "could not connect")),
            ),
        ),
    ];
    out.extend(calls.into_iter().map(|(n, e)| (format!("aws-dynamic call {n}"), boxed(e))));
    out
}

fn facade_errors() -> Vec<(String, cloudkit_core::BoxError)> {
    use cloudkit::compute::Error as ComputeError;
    use cloudkit::store::Error as StoreError;
    let s3 = || -> cloudkit_core::BoxError {
        boxed(cloudkit_aws_s3::S3Error::from(
            Error::new(ErrorKind::Transport, "S3", "GetObject")
                .with_source(transport(TransportErrorKind::Connect, "could not connect")),
        ))
    };
    let ec2 = || -> cloudkit_core::BoxError {
        boxed(cloudkit_aws_ec2::Ec2Error::from(service_error("EC2", "StartInstances", 400, "Oops", "bad")))
    };
    let store: Vec<(&str, StoreError)> = vec![
        ("not found", StoreError::NotFound { key: "k".into(), source: Some(s3()) }),
        ("not found bare", StoreError::not_found("k")),
        ("already exists", StoreError::AlreadyExists { key: "k".into(), source: Some(s3()) }),
        ("precondition", StoreError::PreconditionFailed { key: "k".into(), source: Some(s3()) }),
        ("not modified", StoreError::NotModified { key: "k".into(), source: Some(s3()) }),
        ("permission denied", StoreError::PermissionDenied { message: "k".into(), source: Some(s3()) }),
        ("unauthenticated", StoreError::Unauthenticated { message: "k".into(), source: Some(s3()) }),
        ("throttled", StoreError::Throttled { source: Some(s3()) }),
        ("invalid input", StoreError::invalid_input("empty key")),
        ("not supported", StoreError::NotSupported { operation: "copy", backend: "memory" }),
        ("invalid range", StoreError::InvalidRange { key: "k".into() }),
        ("object changed", StoreError::ObjectChanged { key: "k".into(), source: Some(s3()) }),
        ("provider", StoreError::Provider { backend: "s3", source: s3() }),
        ("transport", StoreError::Transport { backend: "s3", source: s3() }),
    ];
    let state = cloudkit::compute::InstanceState::Running;
    let unknown = cloudkit::compute::InstanceState::Unknown;
    let not_found = || -> cloudkit_core::BoxError {
        boxed(cloudkit_aws_ec2::Ec2Error::from(service_error(
            "EC2",
            "DescribeInstances",
            400,
            "InvalidInstanceID.NotFound",
            "The instance ID 'i-1' does not exist",
        )))
    };
    let unreachable = || -> cloudkit_core::BoxError {
        boxed(cloudkit_aws_ec2::Ec2Error::from(
            Error::new(ErrorKind::Transport, "EC2", "DescribeInstances")
                .with_source(transport(TransportErrorKind::Connect, "could not connect")),
        ))
    };
    let compute: Vec<(&str, ComputeError)> = vec![
        ("not found", ComputeError::NotFound { id: "i-1".into(), source: Some(ec2()) }),
        ("invalid input", ComputeError::InvalidInput { message: "count must be at least 1".into() }),
        ("invalid state", ComputeError::InvalidState { id: "i-1".into(), state, action: "start" }),
        (
            "wait failed",
            ComputeError::WaitFailed {
                id: "i-1".into(),
                target: state,
                reached: cloudkit::compute::InstanceState::Terminated,
                last_error: None,
            },
        ),
        (
            "wait failed on an error",
            ComputeError::WaitFailed {
                id: "i-1".into(),
                target: state,
                reached: unknown,
                last_error: Some(not_found()),
            },
        ),
        (
            "timeout",
            ComputeError::Timeout {
                id: "i-1".into(),
                target: state,
                last: cloudkit::compute::InstanceState::Pending,
                waited: Duration::from_secs(300),
                last_error: None,
            },
        ),
        (
            "timeout on not found",
            ComputeError::Timeout {
                id: "i-1".into(),
                target: state,
                last: unknown,
                waited: Duration::from_secs(300),
                last_error: Some(not_found()),
            },
        ),
        (
            "timeout on a transport error",
            ComputeError::Timeout {
                id: "i-1".into(),
                target: state,
                last: unknown,
                waited: Duration::from_secs(300),
                last_error: Some(unreachable()),
            },
        ),
        ("permission denied", ComputeError::PermissionDenied { message: "no".into(), source: Some(ec2()) }),
        ("unauthenticated", ComputeError::Unauthenticated { message: "no".into(), source: Some(ec2()) }),
        ("throttled", ComputeError::Throttled { source: Some(ec2()) }),
        ("insufficient capacity", ComputeError::InsufficientCapacity { message: "none".into() }),
        ("not supported", ComputeError::NotSupported { operation: "resize", provider: "memory" }),
        ("provider", ComputeError::Provider { provider: "ec2", source: ec2() }),
    ];
    let mut out: Vec<(String, cloudkit_core::BoxError)> =
        store.into_iter().map(|(n, e)| (format!("store {n}"), boxed(e))).collect();
    out.extend(compute.into_iter().map(|(n, e)| (format!("compute {n}"), boxed(e))));
    out
}

/// Errors from real failing calls over canned responses: an S3 listing without credentials (the
/// AWS chain's list of what was tried), an S3 listing of a missing bucket, and an Azure listing
/// whose token chain fails (the path that printed "(not retryable) (not retryable)").
async fn real_errors() -> Vec<(String, cloudkit_core::BoxError)> {
    use cloudkit_cred_chain::aws::{AwsConfig, Env, Fs, ProviderConfig};
    let mut out: Vec<(String, cloudkit_core::BoxError)> = Vec::new();

    // AWS: no credentials anywhere (fake environment, IMDS off).
    let http = Arc::new(ReplayHttp::new());
    let env = Env::from_pairs([("HOME", "/home/nobody"), ("AWS_EC2_METADATA_DISABLED", "true")]);
    let provider = ProviderConfig::with_http(http.clone()).env(env).fs(Fs::from_files::<&str, &str>([]));
    let config =
        AwsConfig::loader().provider_config(provider).region("us-east-1").retry(RetryConfig::disabled()).load().await;
    let config = config.unwrap();
    let s3 = cloudkit_aws_s3::S3Client::builder(&config)
        .endpoint("http://s3.test/".parse().unwrap())
        .http(http.clone())
        .build()
        .unwrap();
    let e = s3.list_objects_v2("b").into_pages(PaginationConfig::default()).try_next().await.unwrap_err();
    assert!(e.to_string().contains("no provider in the chain found credentials"), "{e}");
    out.push(("real: S3 listing without credentials".into(), boxed(e)));

    // AWS: a missing bucket, through the paginator (issue 16's repro).
    let signed = AwsConfig::loader()
        .provider_config(
            ProviderConfig::with_http(http.clone())
                .env(Env::from_pairs([("HOME", "/home/nobody"), ("AWS_EC2_METADATA_DISABLED", "true")]))
                .fs(Fs::from_files::<&str, &str>([])),
        )
        .region("us-east-1")
        .credentials(cloudkit_signer::aws::Credentials::from_keys("AKIDEXAMPLE", "secret"))
        .load()
        .await
        .unwrap();
    let s3 = cloudkit_aws_s3::S3Client::builder(&signed)
        .endpoint("http://s3.test/".parse().unwrap())
        .http(http.clone())
        .force_path_style(true)
        .build()
        .unwrap();
    http.push(Canned::status(
        404,
        "<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>",
    ));
    let e = s3.list_objects_v2("no-such-bucket").into_pages(PaginationConfig::default()).try_next().await.unwrap_err();
    assert!(matches!(e, cloudkit_aws_s3::S3Error::NoSuchBucket(_)), "{e:?}");
    out.push(("real: S3 listing of a missing bucket".into(), boxed(e)));

    // Azure: DefaultAzureCredential with nothing configured; IMDS answers with a transport error.
    use cloudkit_cred_chain::azure::{AzureConfig, AzureEnv, DefaultAzureCredential, IdentityOptions};
    let http = Arc::new(ReplayHttp::new());
    let env = AzureEnv::from_pairs([("PATH", "/nonexistent")]);
    let mut options = IdentityOptions::with_env(env.clone());
    options.http = Some(http.clone());
    options.az_program = Some("/nonexistent/az".into());
    let credential = Arc::new(DefaultAzureCredential::builder().options(options).build());
    let sources = credential.source_names();
    let config = AzureConfig::loader()
        .env(env)
        .account("acct")
        .credential(credential)
        .http(http.clone())
        .retry(RetryConfig::disabled())
        .load()
        .await
        .unwrap();
    let blob = cloudkit_azure_blob::BlobServiceClient::new(&config).unwrap();
    let e = blob.list_containers().into_pages(PaginationConfig::default()).try_next().await.unwrap_err();
    assert!(e.to_string().contains("failed to get a token"), "{e}");
    // the chain's list of what was tried is in the text: every source, by name
    assert!(sources.len() >= 3, "{sources:?}");
    for source in &sources {
        assert!(e.to_string().contains(source), "{source} missing from: {e}");
    }
    out.push(("real: Azure listing whose token chain fails".into(), boxed(e)));

    // EC2: a neutral wait that times out while EC2 does not know the instance.
    let (compute, http) = ec2_compute().await;
    for _ in 0..10 {
        http.push(instance_not_found());
    }
    let running = cloudkit::compute::InstanceState::Running;
    let e = cloudkit::compute::Compute::wait_for_state(&compute, &missing_instance(), running, Duration::from_secs(1))
        .await
        .unwrap_err();
    assert!(matches!(e, cloudkit::compute::Error::Timeout { .. }), "{e:?}");
    out.push(("real: EC2 wait timing out on a missing instance".into(), boxed(e)));
    out
}

/// An [`Ec2Compute`](cloudkit::compute::Ec2Compute) in us-east-1 over canned responses.
async fn ec2_compute() -> (cloudkit::compute::Ec2Compute, Arc<ReplayHttp>) {
    use cloudkit_cred_chain::aws::{AwsConfig, Env, Fs, ProviderConfig};
    let http = Arc::new(ReplayHttp::new());
    let env = Env::from_pairs([("HOME", "/home/nobody"), ("AWS_EC2_METADATA_DISABLED", "true")]);
    let config = AwsConfig::loader()
        .provider_config(ProviderConfig::with_http(http.clone()).env(env).fs(Fs::from_files::<&str, &str>([])))
        .region("us-east-1")
        .credentials(cloudkit_signer::aws::Credentials::from_keys("AKIDEXAMPLE", "secret"))
        .retry(RetryConfig::disabled())
        .load()
        .await
        .unwrap();
    let ec2 = cloudkit_aws_ec2::Ec2Client::builder(&config)
        .endpoint("http://ec2.test/".parse().unwrap())
        .http(http.clone())
        .build()
        .unwrap();
    (cloudkit::compute::Ec2Compute::new(ec2), http)
}

fn missing_instance() -> cloudkit::compute::InstanceId {
    cloudkit::compute::InstanceId::new("ec2", "us-east-1", "i-0abc")
}

/// EC2's answer for an instance id it does not know (yet).
fn instance_not_found() -> Canned {
    Canned::status(
        400,
        "<Response><Errors><Error><Code>InvalidInstanceID.NotFound</Code>\
         <Message>The instance ID 'i-0abc' does not exist</Message></Error></Errors>\
         <RequestID>R2</RequestID></Response>",
    )
}

#[tokio::test]
async fn every_error_chain_says_each_text_once_on_one_line_each() {
    let mut errors = core_errors();
    errors.extend(pagination_errors());
    errors.extend(waiter_errors());
    errors.extend(credential_and_config_errors());
    errors.extend(provider_errors());
    errors.extend(aws_dynamic_errors());
    errors.extend(facade_errors());
    errors.extend(real_errors().await);
    assert!(errors.len() > 100, "{}", errors.len());
    let mut found = Vec::new();
    for (name, e) in &errors {
        let e: &(dyn StdError + 'static) = e.as_ref();
        if std::env::var_os("SHOW_CHAINS").is_some() {
            eprintln!("{name}:\n  {}", chain(e).join("\n  "));
        }
        found.extend(problems(name, e));
    }
    assert!(found.is_empty(), "{} problems:\n{}", found.len(), found.join("\n"));
}

/// The waiter line of the issue: the name, the resource, the time, the attempts and the last error.
#[test]
fn a_waiter_timeout_reads_as_one_line_with_the_last_error() {
    let e: Ec2Wait = WaiterError::Timeout {
        waiter: "InstanceRunning".into(),
        resource: Some("instance i-0abc".into()),
        max_wait: Duration::from_secs(300),
        attempts: 31,
        last: Err(cloudkit_aws_ec2::Ec2Error::from(service_error(
            "EC2",
            "DescribeInstances",
            400,
            "InvalidInstanceID.NotFound",
            "The instance ID 'i-0abc' does not exist",
        ))),
    };
    assert_eq!(
        e.to_string(),
        "waiter InstanceRunning for instance i-0abc timed out after 5m and 31 attempts; last error: \
         EC2.DescribeInstances failed: HTTP 400 InvalidInstanceID.NotFound: The instance ID 'i-0abc' does not exist \
         (request id R1; not retryable; gave up after 3 attempts)"
    );
}

/// Issue 16, point 3: a neutral wait that times out names the instance and the state it waited
/// for, and shows the last error (EC2 did not know the instance: `InvalidInstanceID.NotFound`)
/// instead of "still unknown"; the provider's error stays reachable for downcasting.
#[tokio::test]
async fn a_compute_wait_that_times_out_shows_the_last_error() {
    use cloudkit::compute::{Compute, Error as ComputeError, InstanceState};
    let (compute, http) = ec2_compute().await;
    for _ in 0..50 {
        http.push(instance_not_found());
    }
    // EC2's InstanceRunning waiter polls at once, then (15 s being past the deadline) at the deadline
    let e = compute.wait_for_state(&missing_instance(), InstanceState::Running, Duration::from_secs(2)).await;
    let e = e.unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.starts_with(
            "waiting for instance ec2:us-east-1:i-0abc to be running timed out after 2s; last error: \
             EC2.DescribeInstances failed: HTTP 400 InvalidInstanceID.NotFound: The instance ID 'i-0abc' does not exist"
        ),
        "{shown}"
    );
    assert!(!shown.contains("unknown"), "{shown}");
    assert_eq!(http.requests().len(), 2, "a poll at once and one at the deadline");
    let ComputeError::Timeout { id, target, last, last_error: Some(last_error), .. } = &e else { panic!("{e:?}") };
    assert_eq!((id.as_str(), *target, *last), ("ec2:us-east-1:i-0abc", InstanceState::Running, InstanceState::Unknown));
    let ec2 = last_error.downcast_ref::<cloudkit_aws_ec2::Ec2Error>().unwrap();
    assert!(matches!(ec2, cloudkit_aws_ec2::Ec2Error::InstanceNotFound(_)), "{ec2:?}");
    assert!(problems("compute timeout", &e).is_empty(), "{:?}", problems("compute timeout", &e));
}

/// Downcasting still reaches the wrapped errors: `Error::cause()` where `source()` skips a layer
/// whose text `Display` already shows.
#[test]
fn wrapped_errors_stay_reachable_for_downcasting() {
    let e =
        Error::new(ErrorKind::Transport, "S3", "GetObject").with_source(transport(TransportErrorKind::Connect, "x"));
    assert!(e.source().and_then(|s| s.downcast_ref::<TransportError>()).is_none());
    assert!(e.cause().and_then(|s| s.downcast_ref::<TransportError>()).is_some());
}
