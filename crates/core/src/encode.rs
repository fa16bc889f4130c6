//! RFC 3986 percent-encoding, as every cloud API wants it in paths and query strings: the
//! unreserved characters `A-Z a-z 0-9 - . _ ~` stay, every other byte of the UTF-8 text becomes
//! `%XX` (so a space is `%20`, never `+`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Every byte but the RFC 3986 unreserved characters is encoded (query values, SigV4's strict
/// encoding, SAS and V4-signature parameters, single path segments).
pub const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// [`UNRESERVED`] keeping `/`: object keys and blob names in URL paths.
pub const UNRESERVED_AND_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// `text` with every byte but the unreserved characters percent-encoded.
///
/// ```
/// assert_eq!(cloudkit_core::encode_unreserved("a b/c~d+é"), "a%20b%2Fc~d%2B%C3%A9");
/// ```
pub fn encode_unreserved(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED).to_string()
}

/// `text` with every byte but the unreserved characters and `/` percent-encoded.
///
/// ```
/// assert_eq!(cloudkit_core::encode_path("photos/2026 06/a+b.jpg"), "photos/2026%2006/a%2Bb.jpg");
/// ```
pub fn encode_path(text: &str) -> String {
    utf8_percent_encode(text, UNRESERVED_AND_SLASH).to_string()
}
