//! [`Ec2Error`]: typed EC2 errors for the codes people match on.

use cloudkit_aws_protocol::AWS_RETRY_CLASSIFIER;
use cloudkit_core::{Error, ErrorKind};
use cloudkit_paginate::PaginationError;

/// An error from an EC2 call.
///
/// Every variant wraps the [`cloudkit_core::Error`] that carries the service, operation, HTTP status,
/// EC2 error code, message and request id. The variants name the codes callers usually branch on; every
/// other failure is [`Ec2Error::Other`] (match on [`Ec2Error::code`] for those). The accessors
/// (`core`, `status`, `code`, `message`, `request_id`, `is_retryable`, `is_throttling`) are the
/// same in every cloudkit client crate.
///
/// `dry_run(true)` requests end in [`Ec2Error::DryRunOperation`] when the caller **would** have been
/// allowed to make the call (check with [`Ec2Error::is_dry_run_success`]), and in
/// [`Ec2Error::UnauthorizedOperation`] when not.
///
/// ```
/// use cloudkit_aws_ec2::Ec2Error;
/// # fn handle(result: Result<(), Ec2Error>) {
/// match result {
///     Ok(()) => {}
///     Err(e) if e.is_dry_run_success() => println!("would have succeeded"),
///     Err(Ec2Error::InstanceNotFound(e)) => println!("no such instance: {e}"),
///     Err(e) => println!("failed: {e}"),
/// }
/// # }
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Ec2Error {
    /// `InvalidInstanceID.NotFound`: an instance id does not exist (yet: EC2 is eventually consistent
    /// right after `RunInstances`).
    #[error(transparent)]
    InstanceNotFound(Error),
    /// `InvalidInstanceID.Malformed`: an instance id is not of the form `i-…`.
    #[error(transparent)]
    InstanceIdMalformed(Error),
    /// `InvalidAMIID.NotFound`: an image id does not exist.
    #[error(transparent)]
    ImageNotFound(Error),
    /// `InvalidAMIID.Malformed`: an image id is not of the form `ami-…`.
    #[error(transparent)]
    ImageIdMalformed(Error),
    /// `InvalidKeyPair.NotFound`.
    #[error(transparent)]
    KeyPairNotFound(Error),
    /// `InvalidKeyPair.Duplicate`: a key pair with that name exists.
    #[error(transparent)]
    KeyPairDuplicate(Error),
    /// `InvalidGroup.NotFound` / `InvalidGroupId.NotFound`: a security group does not exist.
    #[error(transparent)]
    SecurityGroupNotFound(Error),
    /// `InvalidGroup.Duplicate`: a security group with that name exists.
    #[error(transparent)]
    SecurityGroupDuplicate(Error),
    /// `IncorrectInstanceState`: the instance is not in a state that allows the call (e.g. starting a
    /// terminated instance).
    #[error(transparent)]
    IncorrectInstanceState(Error),
    /// `InsufficientInstanceCapacity`: AWS has no capacity for the instance type in that zone now.
    #[error(transparent)]
    InsufficientInstanceCapacity(Error),
    /// `UnauthorizedOperation`: the credentials may not make this call (also the answer to a dry run
    /// that would have failed).
    #[error(transparent)]
    UnauthorizedOperation(Error),
    /// `DryRunOperation`: the request had `DryRun` set and **would have succeeded**. Nothing was changed.
    #[error(transparent)]
    DryRunOperation(Error),
    /// `RequestLimitExceeded` (or another throttling answer) after the pipeline's retries.
    #[error(transparent)]
    Throttled(Error),
    /// A listing stopped on a page-bookkeeping failure (EC2 returned a `NextToken` twice, or the
    /// starting token is malformed); a failed page is its own variant instead.
    #[error(transparent)]
    Pagination(#[from] PaginationError),
    /// Any other failure: other service codes, transport errors, timeouts, credential and decode errors.
    #[error(transparent)]
    Other(Error),
}

impl Ec2Error {
    /// Sorts a pipeline error into its typed variant by EC2 error code.
    pub fn from_core(error: Error) -> Self {
        if error.kind() != ErrorKind::Service {
            return Self::Other(error);
        }
        match error.code() {
            Some("InvalidInstanceID.NotFound") => Self::InstanceNotFound(error),
            Some("InvalidInstanceID.Malformed") => Self::InstanceIdMalformed(error),
            Some("InvalidAMIID.NotFound") => Self::ImageNotFound(error),
            Some("InvalidAMIID.Malformed") => Self::ImageIdMalformed(error),
            Some("InvalidKeyPair.NotFound") => Self::KeyPairNotFound(error),
            Some("InvalidKeyPair.Duplicate") => Self::KeyPairDuplicate(error),
            Some("InvalidGroup.NotFound" | "InvalidGroupId.NotFound") => Self::SecurityGroupNotFound(error),
            Some("InvalidGroup.Duplicate") => Self::SecurityGroupDuplicate(error),
            Some("IncorrectInstanceState") => Self::IncorrectInstanceState(error),
            Some("InsufficientInstanceCapacity") => Self::InsufficientInstanceCapacity(error),
            Some("UnauthorizedOperation") => Self::UnauthorizedOperation(error),
            Some("DryRunOperation") => Self::DryRunOperation(error),
            _ if error.is_throttling() || error.code().is_some_and(|c| AWS_RETRY_CLASSIFIER.is_throttling_code(c)) => {
                Self::Throttled(error)
            }
            _ => Self::Other(error),
        }
    }

    /// Whether this is the answer to a dry run that **would have succeeded** (`DryRunOperation`).
    pub fn is_dry_run_success(&self) -> bool {
        matches!(self, Self::DryRunOperation(_))
    }

    /// Whether a resource named in the request does not exist (instance, image, key pair, security
    /// group, or any other `*.NotFound` code).
    pub fn is_not_found(&self) -> bool {
        matches!(
            self,
            Self::InstanceNotFound(_)
                | Self::ImageNotFound(_)
                | Self::KeyPairNotFound(_)
                | Self::SecurityGroupNotFound(_)
        ) || self.code().is_some_and(|c| c.ends_with(".NotFound"))
    }
}

cloudkit_core::service_error_accessors!(
    Ec2Error {
        InstanceNotFound,
        InstanceIdMalformed,
        ImageNotFound,
        ImageIdMalformed,
        KeyPairNotFound,
        KeyPairDuplicate,
        SecurityGroupNotFound,
        SecurityGroupDuplicate,
        IncorrectInstanceState,
        InsufficientInstanceCapacity,
        UnauthorizedOperation,
        DryRunOperation,
        Throttled,
        Other,
    },
    service = crate::SERVICE
);

cloudkit_waiter::error_code_from_accessor!(Ec2Error);

#[cfg(test)]
mod tests {
    use super::*;
    use cloudkit_core::StatusCode;

    fn service(code: &str) -> Error {
        Error::new(ErrorKind::Service, "EC2", "DescribeInstances").with_status(StatusCode::BAD_REQUEST).with_code(code)
    }

    #[test]
    fn codes_map_to_variants() {
        assert!(matches!(Ec2Error::from(service("InvalidInstanceID.NotFound")), Ec2Error::InstanceNotFound(_)));
        assert!(matches!(Ec2Error::from(service("InvalidInstanceID.Malformed")), Ec2Error::InstanceIdMalformed(_)));
        assert!(matches!(Ec2Error::from(service("InvalidAMIID.NotFound")), Ec2Error::ImageNotFound(_)));
        assert!(matches!(Ec2Error::from(service("IncorrectInstanceState")), Ec2Error::IncorrectInstanceState(_)));
        assert!(matches!(
            Ec2Error::from(service("InsufficientInstanceCapacity")),
            Ec2Error::InsufficientInstanceCapacity(_)
        ));
        assert!(matches!(Ec2Error::from(service("RequestLimitExceeded")), Ec2Error::Throttled(_)));
        let unauthorized = Ec2Error::from(service("UnauthorizedOperation"));
        assert!(matches!(unauthorized, Ec2Error::UnauthorizedOperation(_)));
        assert!(!unauthorized.is_dry_run_success());
        let dry = Ec2Error::from(service("DryRunOperation"));
        assert!(dry.is_dry_run_success());
        let other = Ec2Error::from(service("InvalidParameterValue"));
        assert!(matches!(other, Ec2Error::Other(_)));
        assert_eq!(other.code(), Some("InvalidParameterValue"));
        assert!(Ec2Error::from(service("InvalidVolume.NotFound")).is_not_found());
    }

    #[test]
    fn non_service_errors_are_other_even_with_a_code() {
        let e = Error::new(ErrorKind::Decode, "EC2", "X").with_code("InvalidInstanceID.NotFound");
        assert!(matches!(Ec2Error::from(e), Ec2Error::Other(_)));
    }

    #[test]
    fn pagination_errors_are_their_own_variant() {
        let repeated = Ec2Error::from(PaginationError::new(
            "EC2",
            "DescribeInstances",
            cloudkit_paginate::PaginationErrorKind::RepeatedToken { token: "t".into() },
        ));
        assert!(matches!(&repeated, Ec2Error::Pagination(e) if e.repeated_token() == Some("t")));
        assert!(repeated.core().is_none());
        assert_eq!(
            repeated.to_string(),
            "EC2.DescribeInstances failed: the service returned the continuation token \"t\" twice; stopping instead of looping"
        );
    }

    #[test]
    fn display_is_the_core_line() {
        let e =
            Ec2Error::from(service("InvalidInstanceID.NotFound").with_message("The instance ID 'i-1' does not exist"));
        assert_eq!(
            e.to_string(),
            "EC2.DescribeInstances failed: HTTP 400 InvalidInstanceID.NotFound: The instance ID 'i-1' does not exist (not retryable)"
        );
        use cloudkit_waiter::ErrorCode;
        assert_eq!(e.error_code(), Some("InvalidInstanceID.NotFound"));
    }
}
