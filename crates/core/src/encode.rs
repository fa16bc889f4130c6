//! RFC 3986 percent-encoding, as every cloud API wants it in paths and query strings: the
//! unreserved characters `A-Z a-z 0-9 - . _ ~` stay, every other byte of the UTF-8 text becomes
//! `%XX` (so a space is `%20`, never `+`).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use url::Url;

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

/// Appends `name=value` pairs to `url`'s query, after any it already has: each value (and name)
/// RFC 3986-encoded, so a space is `%20` and a `+` is `%2B` (the form every cloud API reads),
/// except that a name's `$` stays (OData's `$filter`, `$top`). No pairs leave the URL as it is.
///
/// ```
/// let mut url: url::Url = "https://example.com/b/o?alt=media".parse().unwrap();
/// cloudkit_core::append_query(&mut url, [("$filter", "name eq 'a b'"), ("pageToken", "x+y")]);
/// assert_eq!(url.query(), Some("alt=media&$filter=name%20eq%20%27a%20b%27&pageToken=x%2By"));
/// ```
pub fn append_query<K, V>(url: &mut Url, pairs: impl IntoIterator<Item = (K, V)>)
where
    K: AsRef<str>,
    V: AsRef<str>,
{
    let mut query = url.query().unwrap_or_default().to_owned();
    for (name, value) in pairs {
        if !query.is_empty() {
            query.push('&');
        }
        query.extend(utf8_percent_encode(name.as_ref(), QUERY_NAME));
        query.push('=');
        query.extend(utf8_percent_encode(value.as_ref(), UNRESERVED));
    }
    if !query.is_empty() {
        url.set_query(Some(&query));
    }
}

/// [`UNRESERVED`] keeping `$`, for query parameter names (`$filter`).
const QUERY_NAME: &AsciiSet = &UNRESERVED.remove(b'$');

/// `{endpoint}{path}?{query}`: the endpoint's path without its trailing `/`, then `path` (already
/// encoded, starting with `/`), then the pairs as [`append_query`] writes them (the endpoint's own
/// query, if any, is dropped). The URL of REST APIs whose resources are paths below one endpoint
/// (Azure Blob, Azure Resource Manager).
///
/// ```
/// let endpoint: url::Url = "http://127.0.0.1:10000/devstoreaccount1/".parse().unwrap();
/// let url = cloudkit_core::endpoint_url(&endpoint, "/photos/a%20b", &[("comp", "list"), ("prefix", "x y")]);
/// assert_eq!(url.as_str(), "http://127.0.0.1:10000/devstoreaccount1/photos/a%20b?comp=list&prefix=x%20y");
/// ```
pub fn endpoint_url(endpoint: &Url, path: &str, query: &[(&str, &str)]) -> Url {
    let mut url = endpoint.clone();
    let base = url.path().trim_end_matches('/').to_owned();
    url.set_path(&format!("{base}{path}"));
    url.set_query(None);
    append_query(&mut url, query.iter().copied());
    url
}
