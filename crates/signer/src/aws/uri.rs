//! Rewrites a URL into the strict SigV4 encoding before it is signed, so that the bytes sent are
//! exactly the bytes signed, whatever encoding the caller (or the `url` crate) chose.
//!
//! Path segments and query keys/values are percent-decoded and re-encoded with only the RFC 3986
//! unreserved characters (`A-Z a-z 0-9 - . _ ~`) left as they are, upper-case hex, `%20` for a
//! space. Empty path segments (`//`) and query keys without `=` are kept.

use std::borrow::Cow;

use cloudkit_core::{UNRESERVED, Url};
use percent_encoding::{percent_decode, percent_encode};

/// The SigV4 query parameters a presigned URL carries (removed before presigning again).
const PRESIGN_PARAMS: [&str; 7] = [
    "x-amz-algorithm",
    "x-amz-credential",
    "x-amz-date",
    "x-amz-expires",
    "x-amz-signedheaders",
    "x-amz-signature",
    "x-amz-security-token",
];

/// Percent-encodes bytes with the strict SigV4 set: RFC 3986 unreserved characters only
/// ([`cloudkit_core::UNRESERVED`]).
pub(crate) fn encode(bytes: &[u8]) -> String {
    percent_encode(bytes, UNRESERVED).to_string()
}

fn reencode(raw: &str, plus_is_space: bool) -> String {
    let bytes: Cow<'_, [u8]> = if plus_is_space && raw.contains('+') {
        Cow::Owned(raw.bytes().map(|b| if b == b'+' { b' ' } else { b }).collect())
    } else {
        Cow::Borrowed(raw.as_bytes())
    };
    let decoded: Cow<'_, [u8]> = percent_decode(&bytes).into();
    encode(&decoded)
}

/// The path with every segment in strict encoding (`/` separators and empty segments kept).
pub(crate) fn canonical_path(path: &str) -> String {
    path.split('/').map(|segment| reencode(segment, false)).collect::<Vec<_>>().join("/")
}

/// The query in strict encoding, order kept; `drop_presign_params` removes an earlier
/// presignature. `None` when nothing is left.
pub(crate) fn canonical_query(query: &str, drop_presign_params: bool) -> Option<String> {
    let mut out = String::with_capacity(query.len());
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = match pair.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (pair, None),
        };
        let key = reencode(key, true);
        if drop_presign_params && PRESIGN_PARAMS.iter().any(|p| key.eq_ignore_ascii_case(p)) {
            continue;
        }
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&key);
        if let Some(value) = value {
            out.push('=');
            out.push_str(&reencode(value, true));
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Rewrites `url` in place into the strict encoding (and drops its fragment, which is never sent).
pub(crate) fn canonicalize(url: &mut Url, drop_presign_params: bool) {
    let path = canonical_path(url.path());
    if path != url.path() {
        url.set_path(&path);
    }
    let query = url.query().and_then(|q| canonical_query(q, drop_presign_params));
    if query.as_deref() != url.query() {
        url.set_query(query.as_deref());
    }
    url.set_fragment(None);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_encoded_once_with_the_unreserved_set() {
        assert_eq!(canonical_path("/test$file.text"), "/test%24file.text");
        assert_eq!(canonical_path("/b/a%20b+c"), "/b/a%20b%2Bc");
        assert_eq!(canonical_path("/b/100%25/x"), "/b/100%25/x");
        assert_eq!(canonical_path("/b//double//"), "/b//double//");
        assert_eq!(canonical_path("/b/%C3%A9t%C3%A9"), "/b/%C3%A9t%C3%A9");
        assert_eq!(canonical_path("/b/%c3%a9"), "/b/%C3%A9");
        assert_eq!(canonical_path("/b/a%2Fb"), "/b/a%2Fb");
        assert_eq!(canonical_path("/b/~-._AZaz09"), "/b/~-._AZaz09");
        // a stray `%` is a literal percent sign
        assert_eq!(canonical_path("/b/100%zz"), "/b/100%25zz");
    }

    #[test]
    fn canonical_path_is_idempotent() {
        for p in ["/a b/+/%/é/", "/x//y", "/%41%2f"] {
            let once = canonical_path(Url::parse(&format!("http://h{p}")).unwrap().path());
            assert_eq!(canonical_path(&once), once);
        }
    }

    #[test]
    fn queries_keep_order_and_bare_keys() {
        assert_eq!(canonical_query("prefix=a+b%2Bc&list-type=2", false).unwrap(), "prefix=a%20b%2Bc&list-type=2");
        assert_eq!(canonical_query("uploads", false).unwrap(), "uploads");
        assert_eq!(canonical_query("a=&b", false).unwrap(), "a=&b");
        assert_eq!(canonical_query("", false), None);
        assert_eq!(
            canonical_query("versionId=1&X-Amz-Signature=abc&x-amz-date=1&X-Amz-Security-Token=t", true).unwrap(),
            "versionId=1"
        );
    }

    #[test]
    fn urls_are_rewritten_in_place() {
        let mut u = Url::parse("http://127.0.0.1:9000/bucket/a b+c$d?prefix=x+y#frag").unwrap();
        canonicalize(&mut u, false);
        assert_eq!(u.as_str(), "http://127.0.0.1:9000/bucket/a%20b%2Bc%24d?prefix=x%20y");
    }
}
