//! Where a request goes: endpoint, virtual-hosted vs path-style addressing, bucket-name checks and
//! the percent-encoding of keys and query parameters.

use std::net::IpAddr;

use url::Url;

/// How buckets are put into request URLs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AddressingStyle {
    /// Virtual-hosted (`https://bucket.s3.region.amazonaws.com/key`) on AWS endpoints when the
    /// bucket name is DNS-compatible (no dots under https); path-style otherwise, and always
    /// path-style on a custom endpoint (an `endpoint_url`, `AWS_ENDPOINT_URL[_S3]`, an IP
    /// address or `localhost`), which is what MinIO, s3s, moto, Ceph and most S3-compatible
    /// stores expect.
    #[default]
    Auto,
    /// Always virtual-hosted (fails for names that cannot be a DNS label).
    Virtual,
    /// Always path-style (`https://endpoint/bucket/key`).
    Path,
}

/// Percent-encodes an object key for the URL path: everything but `A-Z a-z 0-9 - . _ ~ /` is
/// encoded (a space is `%20`, `+` is `%2B`, `%` is `%25`), so the path is exactly what SigV4's
/// S3 rules sign.
pub fn encode_key(key: &str) -> String {
    cloudkit_core::encode_path(key)
}

/// Percent-encodes a query parameter name or value the SigV4 way (unreserved characters kept).
pub fn encode_query(value: &str) -> String {
    cloudkit_core::encode_unreserved(value)
}

/// Why a bucket name was refused.
pub(crate) fn check_bucket_name(bucket: &str) -> Result<(), String> {
    if bucket.is_empty() {
        return Err("the bucket name is empty".into());
    }
    if bucket.len() > 255 {
        return Err(format!("bucket name `{bucket}` is longer than 255 characters"));
    }
    if let Some(c) = bucket.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))) {
        return Err(format!(
            "bucket name `{bucket}` contains `{c}`; only letters, digits, `.`, `-` and `_` are allowed"
        ));
    }
    Ok(())
}

/// Whether `bucket` can be the first label of a host name (S3's rules for new buckets):
/// 3–63 characters of lowercase letters, digits, `-` and `.`, starting and ending with a letter or
/// digit, no `..`, no `.-`/`-.`, and not shaped like an IP address.
pub fn is_dns_compatible(bucket: &str) -> bool {
    let b = bucket.as_bytes();
    if !(3..=63).contains(&b.len()) {
        return false;
    }
    let edge_ok = |c: u8| c.is_ascii_lowercase() || c.is_ascii_digit();
    if !edge_ok(b[0]) || !edge_ok(b[b.len() - 1]) {
        return false;
    }
    if !b.iter().all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-' || c == b'.') {
        return false;
    }
    if bucket.contains("..") || bucket.contains(".-") || bucket.contains("-.") {
        return false;
    }
    bucket.parse::<IpAddr>().is_err()
}

/// Refuses keys that a URL cannot carry unchanged.
pub(crate) fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() {
        return Err("the object key is empty".into());
    }
    if key.len() > 1024 {
        return Err("the object key is longer than 1024 bytes".into());
    }
    // URL parsers (WHATWG, and therefore `url`) remove `.` and `..` path segments, even when
    // percent-encoded, so such a key would silently address another object.
    if key.split('/').any(|s| s == "." || s == "..") {
        return Err(format!("object key `{key}` has a `.` or `..` path segment, which URLs cannot carry"));
    }
    Ok(())
}

/// The resolved endpoint and addressing rules of a client.
#[derive(Clone, Debug)]
pub(crate) struct Addressing {
    /// The base URL (`https://s3.us-east-1.amazonaws.com` or the custom endpoint).
    pub(crate) endpoint: Url,
    /// Whether the endpoint is a custom one (not `*.amazonaws.com` built from the region).
    pub(crate) custom: bool,
    pub(crate) style: AddressingStyle,
}

impl Addressing {
    pub(crate) fn new(region: &str, endpoint: Option<Url>, style: AddressingStyle) -> Result<Self, String> {
        match endpoint {
            Some(url) => {
                if url.host_str().is_none() || !matches!(url.scheme(), "http" | "https") {
                    return Err(format!("endpoint `{url}` is not an http(s) URL with a host"));
                }
                let custom = !is_aws_host(url.host_str().unwrap_or_default());
                Ok(Self { endpoint: url, custom, style })
            }
            None => {
                let host = if region.is_empty() {
                    "s3.amazonaws.com".to_owned()
                } else {
                    format!("s3.{region}.amazonaws.com")
                };
                let endpoint =
                    Url::parse(&format!("https://{host}")).map_err(|e| format!("bad region `{region}`: {e}"))?;
                Ok(Self { endpoint, custom: false, style })
            }
        }
    }

    /// Whether requests for `bucket` go path-style.
    pub(crate) fn path_style_for(&self, bucket: &str) -> bool {
        match self.style {
            AddressingStyle::Path => true,
            AddressingStyle::Virtual => false,
            AddressingStyle::Auto => {
                if self.custom || self.endpoint_is_ip_or_localhost() {
                    return true;
                }
                !is_dns_compatible(bucket) || (self.endpoint.scheme() == "https" && bucket.contains('.'))
            }
        }
    }

    fn endpoint_is_ip_or_localhost(&self) -> bool {
        match self.endpoint.host() {
            Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
            Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
            None => true,
        }
    }

    /// The URL of `bucket`/`key` (key `None` for bucket-level operations) with `query` pairs
    /// (already in the order wanted; values `None` are bare flags like `?uploads`).
    pub(crate) fn url(
        &self,
        bucket: Option<&str>,
        key: Option<&str>,
        query: &[(&str, Option<&str>)],
    ) -> Result<Url, String> {
        let mut url = self.endpoint.clone();
        let base_path = url.path().trim_end_matches('/').to_owned();
        let mut path = base_path;
        if let Some(bucket) = bucket {
            if self.path_style_for(bucket) {
                path.push('/');
                path.push_str(bucket);
            } else {
                let host = url.host_str().unwrap_or_default().to_owned();
                url.set_host(Some(&format!("{bucket}.{host}")))
                    .map_err(|e| format!("bucket `{bucket}` cannot be used in a host name: {e}"))?;
            }
        }
        path.push('/');
        if let Some(key) = key {
            path.push_str(&encode_key(key));
        }
        url.set_path(&path);
        if query.is_empty() {
            url.set_query(None);
        } else {
            let q = query
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{}={}", encode_query(k), encode_query(v)),
                    None => encode_query(k),
                })
                .collect::<Vec<_>>()
                .join("&");
            url.set_query(Some(&q));
        }
        Ok(url)
    }
}

fn is_aws_host(host: &str) -> bool {
    host.ends_with(".amazonaws.com") || host.ends_with(".amazonaws.com.cn") || host == "amazonaws.com"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aws(region: &str) -> Addressing {
        Addressing::new(region, None, AddressingStyle::Auto).unwrap()
    }

    #[test]
    fn virtual_hosted_by_default_on_aws() {
        let a = aws("eu-west-1");
        let u = a.url(Some("my-bucket"), Some("a b/c"), &[]).unwrap();
        assert_eq!(u.as_str(), "https://my-bucket.s3.eu-west-1.amazonaws.com/a%20b/c");
    }

    #[test]
    fn dotted_or_uppercase_buckets_go_path_style_on_https() {
        let a = aws("us-east-1");
        assert_eq!(
            a.url(Some("my.bucket"), Some("k"), &[]).unwrap().as_str(),
            "https://s3.us-east-1.amazonaws.com/my.bucket/k"
        );
        assert_eq!(
            a.url(Some("MyBucket"), Some("k"), &[]).unwrap().as_str(),
            "https://s3.us-east-1.amazonaws.com/MyBucket/k"
        );
        // http endpoints can keep dotted names virtual-hosted
        let http = Addressing::new(
            "us-east-1",
            Some(Url::parse("http://s3.us-east-1.amazonaws.com").unwrap()),
            AddressingStyle::Auto,
        )
        .unwrap();
        assert_eq!(
            http.url(Some("my.bucket"), None, &[]).unwrap().as_str(),
            "http://my.bucket.s3.us-east-1.amazonaws.com/"
        );
    }

    #[test]
    fn custom_endpoints_go_path_style_unless_forced() {
        let e = Url::parse("http://127.0.0.1:9000").unwrap();
        let a = Addressing::new("us-east-1", Some(e.clone()), AddressingStyle::Auto).unwrap();
        assert_eq!(a.url(Some("b"), Some("k"), &[]).unwrap().as_str(), "http://127.0.0.1:9000/b/k");
        let minio = Addressing::new(
            "us-east-1",
            Some(Url::parse("https://minio.example.com/base/").unwrap()),
            AddressingStyle::Auto,
        )
        .unwrap();
        assert_eq!(minio.url(Some("bkt"), Some("k"), &[]).unwrap().as_str(), "https://minio.example.com/base/bkt/k");
        let forced = Addressing::new(
            "us-east-1",
            Some(Url::parse("https://minio.example.com").unwrap()),
            AddressingStyle::Virtual,
        )
        .unwrap();
        assert_eq!(forced.url(Some("bkt"), Some("k"), &[]).unwrap().as_str(), "https://bkt.minio.example.com/k");
        let path = Addressing::new("us-east-1", None, AddressingStyle::Path).unwrap();
        assert_eq!(
            path.url(Some("bkt"), None, &[("list-type", Some("2"))]).unwrap().as_str(),
            "https://s3.us-east-1.amazonaws.com/bkt/?list-type=2"
        );
    }

    #[test]
    fn awkward_keys_are_encoded_once() {
        let a = Addressing::new("us-east-1", Some(Url::parse("http://localhost:1").unwrap()), AddressingStyle::Auto)
            .unwrap();
        let u = a.url(Some("b"), Some("a b+c%d/é/ü//x?y#z&=~"), &[]).unwrap();
        assert_eq!(u.path(), "/b/a%20b%2Bc%25d/%C3%A9/%C3%BC//x%3Fy%23z%26%3D~");
        assert_eq!(u.query(), None);
        let u = a.url(Some("b"), Some("/leading"), &[]).unwrap();
        assert_eq!(u.path(), "/b//leading");
    }

    #[test]
    fn query_values_are_fully_encoded() {
        let a = aws("us-east-1");
        let u = a.url(Some("bkt"), Some("k"), &[("uploadId", Some("a+b/c=")), ("uploads", None)]).unwrap();
        assert_eq!(u.query(), Some("uploadId=a%2Bb%2Fc%3D&uploads"));
    }

    #[test]
    fn bucket_and_key_checks() {
        assert!(is_dns_compatible("my-bucket.v2"));
        assert!(!is_dns_compatible("ab"));
        assert!(!is_dns_compatible("Upper"));
        assert!(!is_dns_compatible("192.168.1.1"));
        assert!(!is_dns_compatible("a..b"));
        assert!(!is_dns_compatible("-ab"));
        assert!(check_bucket_name("ok.bucket-1").is_ok());
        assert!(check_bucket_name("").is_err());
        assert!(check_bucket_name("a/b").is_err());
        assert!(check_bucket_name("a?b").is_err());
        assert!(check_key("a/../b").is_err());
        assert!(check_key("./b").is_err());
        assert!(check_key("a/.../b").is_ok());
        assert!(check_key("").is_err());
    }
}
