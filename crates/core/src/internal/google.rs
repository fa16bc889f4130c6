//! Conventions of Google's JSON APIs that the Google clients (gcp-storage, gcp-compute) share.

use http::StatusCode;

/// The `errors[].reason` Google's JSON APIs give with an HTTP status, for an error answer
/// without one (a bare status, a body that is not the error envelope): `notFound` for 404,
/// `conditionNotMet` for 412, `rateLimitExceeded` for 429, … `None` for other statuses.
///
/// ```
/// use cloudkit_core::StatusCode;
/// use cloudkit_core::internal::google::reason_for_status;
/// assert_eq!(reason_for_status(StatusCode::NOT_FOUND), Some("notFound"));
/// assert_eq!(reason_for_status(StatusCode::IM_A_TEAPOT), None);
/// ```
pub fn reason_for_status(status: StatusCode) -> Option<&'static str> {
    Some(match status.as_u16() {
        304 => "notModified",
        400 => "invalid",
        401 => "required",
        403 => "forbidden",
        404 => "notFound",
        409 => "conflict",
        412 => "conditionNotMet",
        416 => "requestedRangeNotSatisfiable",
        429 => "rateLimitExceeded",
        _ => return None,
    })
}
