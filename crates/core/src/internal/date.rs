//! The timestamp formats cloud APIs use, in one place: RFC 3339 / ISO 8601 (`2026-11-23T10:00:00Z`,
//! in XML and JSON bodies and a few headers) and HTTP dates (`Mon, 23 Nov 2026 10:00:00 GMT`).
//!
//! Parsing accepts what the services send (fractional seconds, `Z` or a numeric offset);
//! formatting writes whole UTC seconds with a `Z`, the form every service accepts.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Parses an RFC 3339 timestamp (surrounding whitespace ignored). `None` when it is malformed or
/// before 1970, which no timestamp a service sends can be.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = cloudkit_core::internal::date::parse_rfc3339("2009-10-12T17:50:30.000Z").unwrap();
/// assert_eq!(t, UNIX_EPOCH + Duration::from_secs(1_255_369_830));
/// ```
pub fn parse_rfc3339(text: &str) -> Option<SystemTime> {
    let t = OffsetDateTime::parse(text.trim(), &Rfc3339).ok()?;
    let nanos = u64::try_from(t.unix_timestamp_nanos()).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_nanos(nanos))
}

/// Formats a time as RFC 3339 in UTC, whole seconds (`2026-11-23T10:00:00Z`). `None` outside the
/// years 0000–9999, which RFC 3339 cannot write.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_secs(1_255_369_830);
/// assert_eq!(cloudkit_core::internal::date::format_rfc3339(t).as_deref(), Some("2009-10-12T17:50:30Z"));
/// ```
pub fn format_rfc3339(t: SystemTime) -> Option<String> {
    format_utc(t, "-", ":")
}

/// Formats a time as ISO 8601 basic format in UTC (`20261123T100000Z`), as request signatures
/// (SigV4, GOOG4) write it. `None` outside the years 0000–9999.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// let t = UNIX_EPOCH + Duration::from_secs(1_255_369_830);
/// assert_eq!(cloudkit_core::internal::date::format_iso8601_basic(t).as_deref(), Some("20091012T175030Z"));
/// ```
pub fn format_iso8601_basic(t: SystemTime) -> Option<String> {
    format_utc(t, "", "")
}

/// `YYYY{d}MM{d}DDThh{c}mm{c}ssZ` in UTC: the extended (`-`, `:`) and basic (no separators) forms.
fn format_utc(t: SystemTime, date_sep: &str, time_sep: &str) -> Option<String> {
    let t = utc(t)?;
    Some(format!(
        "{:04}{date_sep}{:02}{date_sep}{:02}T{:02}{time_sep}{:02}{time_sep}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

/// The UTC calendar time of `t`, whole seconds, if its year has four digits.
fn utc(t: SystemTime) -> Option<OffsetDateTime> {
    let secs = match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).ok()?,
        Err(before) => i64::try_from(before.duration().as_secs()).ok()?.checked_neg()?,
    };
    let t = OffsetDateTime::from_unix_timestamp(secs).ok()?;
    (0..=9999).contains(&t.year()).then_some(t)
}

/// Formats a time as an HTTP date (`If-Modified-Since`, `x-ms-date`). `None` before 1970 or after
/// 9999, which an HTTP date cannot write (the formatter would panic on them).
pub fn http_date(t: SystemTime) -> Option<String> {
    let secs = t.duration_since(UNIX_EPOCH).ok()?.as_secs();
    // 9999-12-31T23:59:59Z
    (secs <= 253_402_300_799).then(|| httpdate::fmt_http_date(t))
}

/// Parses an HTTP date header value (`Last-Modified`, `Date`).
pub fn parse_http_date(text: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(text.trim()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn rfc3339_round_trips_and_accepts_what_services_send() {
        assert_eq!(parse_rfc3339("2026-11-23T10:00:00Z"), Some(at(1_795_428_000)));
        assert_eq!(format_rfc3339(at(1_795_428_000)).as_deref(), Some("2026-11-23T10:00:00Z"));
        // Fractions, offsets and padding.
        assert_eq!(
            parse_rfc3339(" 2026-11-23T11:00:00.250+01:00\n"),
            Some(at(1_795_428_000) + Duration::from_millis(250))
        );
        assert_eq!(format_rfc3339(at(0)).as_deref(), Some("1970-01-01T00:00:00Z"));
        // Leap day and the end of a year.
        assert_eq!(format_rfc3339(at(951_782_400)).as_deref(), Some("2000-02-29T00:00:00Z"));
        assert_eq!(parse_rfc3339("1999-12-31T23:59:59Z"), Some(at(946_684_799)));
        // Sub-second parts are dropped when formatting.
        assert_eq!(format_rfc3339(at(1) + Duration::from_millis(999)).as_deref(), Some("1970-01-01T00:00:01Z"));
        assert_eq!(format_iso8601_basic(at(951_782_400)).as_deref(), Some("20000229T000000Z"));
        assert_eq!(format_iso8601_basic(UNIX_EPOCH + Duration::from_secs(253_402_300_800)), None);
    }

    #[test]
    fn malformed_or_out_of_range_timestamps_are_none() {
        for bad in
            ["", "yesterday", "2026-11-23", "2026-13-01T00:00:00Z", "2026-11-23T10:00:00", "1969-12-31T23:59:59Z"]
        {
            assert_eq!(parse_rfc3339(bad), None, "{bad:?}");
        }
        assert_eq!(format_rfc3339(UNIX_EPOCH - Duration::from_secs(62_200_000_000)), None);
        assert_eq!(format_rfc3339(UNIX_EPOCH + Duration::from_secs(253_402_300_800)), None);
        assert_eq!(format_rfc3339(UNIX_EPOCH - Duration::from_secs(86_400)).as_deref(), Some("1969-12-31T00:00:00Z"));
    }

    #[test]
    fn http_dates() {
        assert_eq!(http_date(at(784_111_777)).as_deref(), Some("Sun, 06 Nov 1994 08:49:37 GMT"));
        // Issue 15, defect 15: these panicked inside the formatter.
        assert_eq!(http_date(UNIX_EPOCH - Duration::from_secs(1)), None);
        assert_eq!(http_date(at(253_402_300_800)), None);
        assert_eq!(http_date(at(253_402_300_799)).as_deref(), Some("Fri, 31 Dec 9999 23:59:59 GMT"));
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(at(784_111_777)));
        assert_eq!(parse_http_date("soon"), None);
    }
}
