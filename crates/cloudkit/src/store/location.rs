//! Stores from URLs: `s3://bucket/prefix`, `file:///path`, `memory://` (and `az://`, `gs://` as
//! their backends land).

use std::sync::Arc;

use super::{Error, InMemory, LocalFileSystem, ObjectKey, ObjectStore, Result};

/// A parsed store URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreUrl {
    /// The scheme (`s3`, `file`, `memory`, …).
    pub scheme: String,
    /// The bucket / container (empty for `file` and `memory`).
    pub bucket: String,
    /// For `file`: the directory. Otherwise unused.
    pub path: String,
    /// The key prefix inside the bucket (root for `file` and `memory`).
    pub prefix: ObjectKey,
}

/// Parses a store URL without building the store. Unknown schemes and malformed URLs are
/// [`Error::InvalidInput`] errors that say what was expected.
///
/// ```
/// use cloudkit::store::parse_url;
/// let u = parse_url("s3://my-bucket/logs/2026").unwrap();
/// assert_eq!((u.scheme.as_str(), u.bucket.as_str(), u.prefix.as_str()), ("s3", "my-bucket", "logs/2026"));
/// assert!(parse_url("ftp://host/x").is_err());
/// assert!(parse_url("not a url").is_err());
/// ```
pub fn parse_url(input: &str) -> Result<StoreUrl> {
    let url = url::Url::parse(input).map_err(|e| {
        Error::invalid_input(format!(
            "{input:?} is not a URL ({e}); expected e.g. s3://bucket/prefix, file:///dir or memory://"
        ))
    })?;
    let scheme = url.scheme().to_ascii_lowercase();
    let decoded_path = percent_decode(url.path())?;
    match scheme.as_str() {
        "file" => {
            if url.host_str().is_some_and(|h| !h.is_empty() && h != "localhost") {
                return Err(Error::invalid_input(format!("{input:?}: file URLs take no host (file:///abs/path)")));
            }
            if decoded_path.is_empty() || decoded_path == "/" {
                return Err(Error::invalid_input(format!("{input:?}: a file URL needs a directory")));
            }
            Ok(StoreUrl { scheme, bucket: String::new(), path: decoded_path, prefix: ObjectKey::root() })
        }
        "memory" => Ok(StoreUrl { scheme, bucket: String::new(), path: String::new(), prefix: ObjectKey::root() }),
        "s3" | "s3a" | "az" | "azure" | "gs" => {
            let bucket = url.host_str().unwrap_or_default().to_owned();
            if bucket.is_empty() {
                return Err(Error::invalid_input(format!(
                    "{input:?}: the URL needs a bucket, e.g. {scheme}://bucket/prefix"
                )));
            }
            let prefix = ObjectKey::parse(decoded_path.trim_start_matches('/').trim_end_matches('/'))?;
            let scheme = if scheme == "s3a" {
                "s3".to_owned()
            } else if scheme == "azure" {
                "az".to_owned()
            } else {
                scheme
            };
            Ok(StoreUrl { scheme, bucket, path: String::new(), prefix })
        }
        other => Err(Error::invalid_input(format!(
            "unknown store scheme {other:?} in {input:?}; supported: s3://, az://, gs://, file://, memory://"
        ))),
    }
}

fn percent_decode(path: &str) -> Result<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| Error::invalid_input(format!("{path:?}: the path is not valid UTF-8 once decoded")))
}

/// Builds the store a URL names and returns it with the key prefix inside it.
///
/// `file:///dir` creates the directory if needed. `s3://` needs the `aws-s3` feature and takes its
/// credentials, region and endpoint from the environment and profile files (the default chain,
/// `AWS_ENDPOINT_URL_S3` / `AWS_ENDPOINT_URL` included).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> cloudkit::store::Result<()> {
/// let (store, prefix) = cloudkit::store::from_url("memory://").await?;
/// assert_eq!(store.backend(), "memory");
/// assert!(prefix.is_root());
/// # Ok(()) }
/// ```
// Boxed (see `cloudkit_core::BoxFuture`): with every backend compiled in, this is a large future.
#[inline(never)]
pub fn from_url(input: &str) -> cloudkit_core::BoxFuture<'_, Result<(Arc<dyn ObjectStore>, ObjectKey)>> {
    Box::pin(open_url(input))
}

async fn open_url(input: &str) -> Result<(Arc<dyn ObjectStore>, ObjectKey)> {
    let parsed = parse_url(input)?;
    match parsed.scheme.as_str() {
        "file" => Ok((Arc::new(LocalFileSystem::create(&parsed.path).await?), parsed.prefix)),
        "memory" => Ok((Arc::new(InMemory::new()), parsed.prefix)),
        #[cfg(feature = "aws-s3")]
        "s3" => {
            let config = cloudkit_cred_chain::aws::AwsConfig::loader()
                .load()
                .await
                .map_err(|e| Error::invalid_input(format!("{input:?}: could not load the AWS configuration: {e}")))?;
            let client = cloudkit_aws_s3::S3Client::new(&config)
                .map_err(|e| Error::Provider { backend: "s3", source: Box::new(e) })?;
            Ok((Arc::new(super::S3Store::new(client, parsed.bucket)), parsed.prefix))
        }
        #[cfg(feature = "azure-blob")]
        "az" => {
            // AZURE_STORAGE_CONNECTION_STRING, else AZURE_STORAGE_ACCOUNT (+ AZURE_STORAGE_KEY, else
            // the DefaultAzureCredential chain).
            let session = crate::session::Session::azure()
                .load()
                .await
                .map_err(|e| Error::invalid_input(format!("{input:?}: could not set up Azure: {e}")))?;
            let store =
                session.store(parsed.bucket).map_err(|e| Error::Provider { backend: "azure", source: Box::new(e) })?;
            Ok((Arc::new(store), parsed.prefix))
        }
        #[cfg(feature = "gcp-storage")]
        "gs" => {
            // ADC, or the emulator with anonymous access when STORAGE_EMULATOR_HOST is set.
            let config = cloudkit_cred_chain::gcp::GcpConfig::loader().load().await.map_err(|e| {
                Error::invalid_input(format!("{input:?}: could not load the Google Cloud configuration: {e}"))
            })?;
            let client = cloudkit_gcp_storage::StorageClient::new(&config)
                .map_err(|e| Error::Provider { backend: "gcs", source: Box::new(e) })?;
            Ok((Arc::new(super::GcsStore::new(client, parsed.bucket)), parsed.prefix))
        }
        other => Err(Error::invalid_input(format!(
            "{input:?}: the {other}:// backend is not compiled into this build (enable the cloudkit feature for it)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_supported_urls() {
        let f = parse_url("file:///tmp/my%20store").unwrap();
        assert_eq!(f.path, "/tmp/my store");
        let s = parse_url("s3a://b/p/q/").unwrap();
        assert_eq!((s.scheme.as_str(), s.bucket.as_str(), s.prefix.as_str()), ("s3", "b", "p/q"));
        assert_eq!(parse_url("gs://bucket").unwrap().prefix, ObjectKey::root());
        assert_eq!(parse_url("azure://c/x").unwrap().scheme, "az");
    }

    #[test]
    fn rejects_bad_urls_clearly() {
        for bad in ["", "relative/path", "ftp://h/x", "s3:///nobucket", "s3://b/a//b", "file://", "file://host/x"] {
            let e = parse_url(bad).unwrap_err();
            assert!(matches!(e, Error::InvalidInput { .. }), "{bad}: {e}");
        }
    }
}
