//! Presigned URLs for GET, PUT, HEAD and DELETE, built on the signer's `presign`.

use std::time::{Duration, SystemTime};

use cloudkit_core::{HeaderMap, HeaderName, HeaderValue, Method};
use cloudkit_signer::aws::{MAX_PRESIGN_EXPIRY, PresignedRequest, SigningSettings, presign};

use crate::client::S3Client;
use crate::error::S3Error;

/// A presigned-URL request; see [`S3Client::presign_get_object`].
///
/// Extra headers given here are signed: whoever uses the URL must send them with exactly these
/// values (they are returned in [`PresignedRequest::headers`]). No checksum header or parameter
/// is ever added, so a presigned PUT accepts any body.
#[derive(Debug)]
#[must_use = "call .presign()"]
pub struct PresignObject {
    client: S3Client,
    method: Method,
    bucket: String,
    key: String,
    expires_in: Duration,
    headers: Vec<(String, String)>,
    query: Vec<(String, String)>,
    time: Option<SystemTime>,
}

impl S3Client {
    fn presign_object(&self, method: Method, bucket: String, key: String, expires_in: Duration) -> PresignObject {
        PresignObject {
            client: self.clone(),
            method,
            bucket,
            key,
            expires_in,
            headers: Vec::new(),
            query: Vec::new(),
            time: None,
        }
    }

    /// A presigned GET URL valid for `expires_in` (≤ 7 days; also bounded by the lifetime of
    /// the credentials that sign it).
    ///
    /// ```no_run
    /// # async fn demo(s3: cloudkit_aws_s3::S3Client) -> Result<(), cloudkit_aws_s3::S3Error> {
    /// use std::time::Duration;
    /// let url = s3
    ///     .presign_get_object("bucket", "report.pdf", Duration::from_secs(3600))
    ///     .response_content_disposition("attachment; filename=\"report.pdf\"")
    ///     .presign()
    ///     .await?
    ///     .url;
    /// println!("{url}");
    /// # Ok(()) }
    /// ```
    pub fn presign_get_object(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        expires_in: Duration,
    ) -> PresignObject {
        self.presign_object(Method::GET, bucket.into(), key.into(), expires_in)
    }

    /// A presigned PUT URL (upload without credentials). Set
    /// [`content_type`](PresignObject::content_type) to make the uploader send that type.
    pub fn presign_put_object(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        expires_in: Duration,
    ) -> PresignObject {
        self.presign_object(Method::PUT, bucket.into(), key.into(), expires_in)
    }

    /// A presigned HEAD URL.
    pub fn presign_head_object(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        expires_in: Duration,
    ) -> PresignObject {
        self.presign_object(Method::HEAD, bucket.into(), key.into(), expires_in)
    }

    /// A presigned DELETE URL.
    pub fn presign_delete_object(
        &self,
        bucket: impl Into<String>,
        key: impl Into<String>,
        expires_in: Duration,
    ) -> PresignObject {
        self.presign_object(Method::DELETE, bucket.into(), key.into(), expires_in)
    }
}

impl PresignObject {
    /// Signs this header too (the URL's user must send it with this value).
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into().to_ascii_lowercase(), value.into()));
        self
    }

    /// Adds a signed query parameter.
    pub fn query_param(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((name.into(), value.into()));
        self
    }

    /// `Content-Type` the uploader must send (PUT).
    pub fn content_type(self, v: impl Into<String>) -> Self {
        self.header("content-type", v)
    }

    /// User metadata the uploader must send (PUT; `x-amz-meta-<name>`).
    pub fn metadata(self, name: &str, value: impl Into<String>) -> Self {
        self.header(format!("x-amz-meta-{}", name.to_ascii_lowercase()), value)
    }

    /// A specific version.
    pub fn version_id(self, v: impl Into<String>) -> Self {
        self.query_param("versionId", v)
    }

    /// `response-content-type` override (GET).
    pub fn response_content_type(self, v: impl Into<String>) -> Self {
        self.query_param("response-content-type", v)
    }

    /// `response-content-disposition` override (GET).
    pub fn response_content_disposition(self, v: impl Into<String>) -> Self {
        self.query_param("response-content-disposition", v)
    }

    /// `response-cache-control` override (GET).
    pub fn response_cache_control(self, v: impl Into<String>) -> Self {
        self.query_param("response-cache-control", v)
    }

    /// `response-content-encoding` override (GET).
    pub fn response_content_encoding(self, v: impl Into<String>) -> Self {
        self.query_param("response-content-encoding", v)
    }

    /// `response-content-language` override (GET).
    pub fn response_content_language(self, v: impl Into<String>) -> Self {
        self.query_param("response-content-language", v)
    }

    /// `response-expires` override (GET).
    pub fn response_expires(self, v: impl Into<String>) -> Self {
        self.query_param("response-expires", v)
    }

    /// Signs as of `time` instead of now (the URL is valid from then for `expires_in`). "Now" is
    /// the signing clock of the client's config, corrected when the service reported clock skew.
    pub fn signing_time(mut self, time: SystemTime) -> Self {
        self.time = Some(time);
        self
    }

    /// Signs the URL with the credentials of the client's [`AwsConfig`](cloudkit_cred_chain::aws::AwsConfig)
    /// (fetched from its provider; a provider that has none is an error).
    pub async fn presign(self) -> Result<PresignedRequest, S3Error> {
        const OP: &str = "Presign";
        if self.expires_in.is_zero() || self.expires_in > MAX_PRESIGN_EXPIRY {
            return Err(S3Error::invalid_input(
                OP,
                format!("presigned URLs must expire within 1 s to 7 days; {:?} was asked", self.expires_in),
            ));
        }
        let query: Vec<(&str, Option<&str>)> = self.query.iter().map(|(k, v)| (k.as_str(), Some(v.as_str()))).collect();
        let url = self.client.url(OP, &self.bucket, Some(&self.key), &query)?;
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| S3Error::invalid_input(OP, format!("`{name}` is not a valid header name")))?;
            let v = HeaderValue::from_str(value).map_err(|_| {
                S3Error::invalid_input(OP, format!("the value of `{name}` is not a valid header value"))
            })?;
            headers.insert(n, v);
        }
        let credentials = self.client.inner.credentials.provide_credentials().await.map_err(|e| {
            S3Error::Other(
                cloudkit_core::Error::new(cloudkit_core::ErrorKind::Credentials, crate::SERVICE, OP).with_source(e),
            )
        })?;
        // Signed with the config's corrected clock (see `AwsConfig::clock_skew`): a URL made on
        // a machine whose clock is off is still valid from now on the service's clock.
        let time = self.time.unwrap_or_else(|| self.client.inner.clock_skew.now());
        let settings = SigningSettings::s3(self.client.region()).with_time(time);
        presign(self.method, &url, &headers, &credentials, &settings, self.expires_in).map_err(|e| {
            S3Error::Other(
                cloudkit_core::Error::new(cloudkit_core::ErrorKind::Signing, crate::SERVICE, OP).with_source(e),
            )
        })
    }
}
