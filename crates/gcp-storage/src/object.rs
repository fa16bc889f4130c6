//! Objects: metadata, download (range, generation, preconditions, verified checksums), delete,
//! patch, rewrite (looping on `rewriteToken`), compose.

use bytes::Bytes;
use cloudkit_core::{ByteStream, HeaderMap, HttpRequest, Method, Operation, StatusCode, Url};
use serde::{Deserialize, Serialize};

use crate::checksum::{read_error, verify_download};
use crate::client::{StorageClient, add_query, json_request};
use crate::error::GcsError;
use crate::types::{Object, ObjectMetadata, Preconditions};

/// The generation/metageneration precondition setters of every object call, and
/// `preconditions(..)` to set them all at once.
macro_rules! precondition_setters {
    () => {
        precondition_setters! {
            @each
            /// Only if the live generation is this one (`0`: only if the object does not exist).
            if_generation_match,
            /// Only if the live generation is not this one.
            if_generation_not_match,
            /// Only if the metageneration is this one.
            if_metageneration_match,
            /// Only if the metageneration is not this one.
            if_metageneration_not_match,
        }

        /// All preconditions at once.
        pub fn preconditions(mut self, p: Preconditions) -> Self {
            self.preconditions = p;
            self
        }
    };
    (@each $($(#[$doc:meta])* $field:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $field(mut self, value: i64) -> Self {
                self.preconditions.$field = Some(value);
                self
            }
        )*
    };
}
pub(crate) use precondition_setters;

/// `generation(g)`: the call works on that generation instead of the live one.
macro_rules! generation_setter {
    () => {
        /// A specific generation (default: the live one).
        pub fn generation(mut self, generation: i64) -> Self {
            self.generation = Some(generation);
            self
        }
    };
}

/// `<endpoint>/storage/v1/b/<bucket>/o/<object>?<pairs>&generation=…&<preconditions>`.
fn object_url(
    client: &StorageClient,
    bucket: &str,
    object: &str,
    mut pairs: Vec<(&'static str, String)>,
    generation: Option<i64>,
    preconditions: &Preconditions,
) -> Url {
    let mut url = client.json_url(&["b", bucket, "o", object]);
    pairs.extend(generation.map(|g| ("generation", g.to_string())));
    pairs.extend(preconditions.pairs());
    add_query(&mut url, pairs);
    url
}

/// A byte range of a download.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteRange {
    /// Bytes `start..=end`.
    Inclusive(u64, u64),
    /// From `start` to the end.
    From(u64),
    /// The last `n` bytes.
    Last(u64),
}

impl ByteRange {
    fn header(self) -> String {
        match self {
            ByteRange::Inclusive(a, b) => format!("bytes={a}-{b}"),
            ByteRange::From(a) => format!("bytes={a}-"),
            ByteRange::Last(n) => format!("bytes=-{n}"),
        }
    }
}

/// `objects.get?alt=media`: a streaming download.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct DownloadObject {
    client: StorageClient,
    bucket: String,
    object: String,
    generation: Option<i64>,
    range: Option<ByteRange>,
    preconditions: Preconditions,
}

/// A download in progress.
#[derive(Debug)]
pub struct Download {
    /// The HTTP status (200, or 206 for a range).
    pub status: StatusCode,
    /// The object's generation (`x-goog-generation`).
    pub generation: Option<i64>,
    /// The metageneration (`x-goog-metageneration`).
    pub metageneration: Option<i64>,
    /// The content type.
    pub content_type: Option<String>,
    /// The `Content-Range` of a ranged read (`bytes 0-9/100`).
    pub content_range: Option<String>,
    /// The object's size when known (`x-goog-stored-content-length`, the range's total, or
    /// the length of a whole-object read).
    pub object_size: Option<u64>,
    /// The response headers.
    pub headers: HeaderMap,
    /// The bytes; for whole-object reads, the stream fails at its end if the CRC32C (or MD5)
    /// GCS reported does not match the data.
    pub body: ByteStream,
}

impl Download {
    /// Reads everything (and verifies the checksum: corrupt data is
    /// [`GcsError::ChecksumMismatch`]).
    pub async fn bytes(self) -> Result<Bytes, GcsError> {
        self.body.collect().await.map_err(|e| read_error("objects.get", e))
    }
}

fn header_num<T: std::str::FromStr>(headers: &HeaderMap, name: &str) -> Option<T> {
    headers.get(name).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse().ok())
}

impl DownloadObject {
    generation_setter!();
    /// Only a byte range (206; not checksum-verified, since GCS's hashes cover the whole object).
    pub fn range(mut self, range: ByteRange) -> Self {
        self.range = Some(range);
        self
    }

    precondition_setters!();

    /// Starts the download; the body streams.
    pub async fn send(self) -> Result<Download, GcsError> {
        let pairs = vec![("alt", "media".to_owned())];
        let url = object_url(&self.client, &self.bucket, &self.object, pairs, self.generation, &self.preconditions);
        let mut request = HttpRequest::new(Method::GET, url);
        if let Some(r) = self.range {
            request
                .insert_header("range", &r.header())
                .map_err(|e| GcsError::invalid_input("objects.get", e.to_string()))?;
        }
        let response = self
            .client
            .pipeline()
            .send_streaming(&Operation::new("objects.get"), request)
            .await
            .map_err(GcsError::from)?;
        let headers = response.headers;
        let content_range = headers.get("content-range").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let whole = response.status == StatusCode::OK;
        let object_size = header_num(&headers, "x-goog-stored-content-length")
            .or_else(|| content_range.as_deref().and_then(|r| r.rsplit('/').next()).and_then(|t| t.parse().ok()))
            .or_else(|| if whole { header_num(&headers, "content-length") } else { None });
        let body = if whole && self.client.inner.verify_checksums && headers.get("content-encoding").is_none() {
            verify_download(response.body, &headers)
        } else {
            response.body
        };
        Ok(Download {
            status: response.status,
            generation: header_num(&headers, "x-goog-generation"),
            metageneration: header_num(&headers, "x-goog-metageneration"),
            content_type: headers.get("content-type").and_then(|v| v.to_str().ok()).map(str::to_owned),
            content_range,
            object_size,
            headers,
            body,
        })
    }
}

/// `objects.get` (metadata).
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct GetObject {
    client: StorageClient,
    bucket: String,
    object: String,
    generation: Option<i64>,
    preconditions: Preconditions,
}

impl GetObject {
    generation_setter!();
    precondition_setters!();

    /// Fetches the metadata.
    pub async fn send(self) -> Result<Object, GcsError> {
        let url =
            object_url(&self.client, &self.bucket, &self.object, Vec::new(), self.generation, &self.preconditions);
        self.client.send_json("objects.get", true, HttpRequest::new(Method::GET, url)).await
    }
}

/// `objects.delete`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct DeleteObject {
    client: StorageClient,
    bucket: String,
    object: String,
    generation: Option<i64>,
    preconditions: Preconditions,
}

impl DeleteObject {
    generation_setter!();
    precondition_setters!();

    /// Deletes. A missing object is [`GcsError::NotFound`].
    pub async fn send(self) -> Result<(), GcsError> {
        let url =
            object_url(&self.client, &self.bucket, &self.object, Vec::new(), self.generation, &self.preconditions);
        self.client.send("objects.delete", true, HttpRequest::new(Method::DELETE, url)).await.map(drop)
    }
}

/// `objects.patch`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct PatchObject {
    client: StorageClient,
    bucket: String,
    object: String,
    metadata: ObjectMetadata,
    preconditions: Preconditions,
}

impl PatchObject {
    /// The fields to change (`None` fields are left alone; a `None` metadata value removes it).
    pub fn metadata(mut self, metadata: ObjectMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    precondition_setters!();

    /// Applies the patch.
    pub async fn send(self) -> Result<Object, GcsError> {
        let url = object_url(&self.client, &self.bucket, &self.object, Vec::new(), None, &self.preconditions);
        let request = json_request(Method::PATCH, url, &self.metadata, "objects.patch")?;
        let idempotent = self.preconditions.if_metageneration_match.is_some();
        self.client.send_json("objects.patch", idempotent, request).await
    }
}

/// `objects.rewrite`: copies an object (any size, across buckets, locations and storage
/// classes), looping on `rewriteToken` until GCS reports `done`.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct RewriteObject {
    client: StorageClient,
    source_bucket: String,
    source_object: String,
    source_generation: Option<i64>,
    dest_bucket: String,
    dest_object: String,
    metadata: Option<ObjectMetadata>,
    max_bytes_per_call: Option<u64>,
    preconditions: Preconditions,
}

/// One `objects.rewrite` response.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RewriteResponse {
    /// Whether the copy is complete.
    #[serde(default)]
    pub done: bool,
    /// The token to continue with.
    #[serde(default)]
    pub rewrite_token: Option<String>,
    /// The new object, once done.
    #[serde(default)]
    pub resource: Option<Object>,
}

impl RewriteObject {
    /// Copy this source generation.
    pub fn source_generation(mut self, generation: i64) -> Self {
        self.source_generation = Some(generation);
        self
    }

    /// Metadata for the destination (default: the source's).
    pub fn metadata(mut self, metadata: ObjectMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// `maxBytesRewrittenPerCall` (multiple of 1 MiB; GCS's choice by default).
    pub fn max_bytes_per_call(mut self, n: u64) -> Self {
        self.max_bytes_per_call = Some(n);
        self
    }

    precondition_setters!();

    /// Runs the rewrite to completion; returns the destination object.
    pub async fn send(self) -> Result<Object, GcsError> {
        let mut token: Option<String> = None;
        for _ in 0..10_000 {
            let mut url = self.client.json_url(&[
                "b",
                &self.source_bucket,
                "o",
                &self.source_object,
                "rewriteTo",
                "b",
                &self.dest_bucket,
                "o",
                &self.dest_object,
            ]);
            let mut pairs = self.preconditions.pairs();
            if let Some(g) = self.source_generation {
                pairs.push(("sourceGeneration", g.to_string()));
            }
            if let Some(n) = self.max_bytes_per_call {
                pairs.push(("maxBytesRewrittenPerCall", n.to_string()));
            }
            if let Some(t) = &token {
                pairs.push(("rewriteToken", t.clone()));
            }
            add_query(&mut url, pairs);
            let metadata = self.metadata.clone().unwrap_or_default();
            let request = json_request(Method::POST, url, &metadata, "objects.rewrite")?;
            let idempotent = self.preconditions.makes_write_idempotent();
            let response: RewriteResponse = self.client.send_json("objects.rewrite", idempotent, request).await?;
            if response.done {
                return response.resource.ok_or_else(|| GcsError::decode("objects.rewrite", "done without a resource"));
            }
            match response.rewrite_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => return Err(GcsError::decode("objects.rewrite", "not done and no rewriteToken")),
            }
        }
        Err(GcsError::decode("objects.rewrite", "rewrite did not finish after 10000 calls"))
    }
}

/// `objects.compose`: concatenates up to 32 objects of one bucket into one.
#[derive(Clone, Debug)]
#[must_use = "call .send()"]
pub struct ComposeObject {
    client: StorageClient,
    bucket: String,
    destination: String,
    sources: Vec<ComposeSource>,
    metadata: ObjectMetadata,
    preconditions: Preconditions,
}

#[derive(Clone, Debug, Serialize)]
struct ComposeSource {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    generation: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ComposeBody<'a> {
    source_objects: &'a [ComposeSource],
    destination: &'a ObjectMetadata,
}

impl ComposeObject {
    /// Appends a source object.
    pub fn source(mut self, name: impl Into<String>) -> Self {
        self.sources.push(ComposeSource { name: name.into(), generation: None });
        self
    }

    /// Appends a source object at a generation.
    pub fn source_generation(mut self, name: impl Into<String>, generation: i64) -> Self {
        self.sources.push(ComposeSource { name: name.into(), generation: Some(generation.to_string()) });
        self
    }

    /// The destination's metadata (content type, …).
    pub fn metadata(mut self, metadata: ObjectMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    precondition_setters!();

    /// Composes.
    pub async fn send(self) -> Result<Object, GcsError> {
        if self.sources.is_empty() || self.sources.len() > 32 {
            return Err(GcsError::invalid_input(
                "objects.compose",
                format!("compose takes 1 to 32 sources, not {}", self.sources.len()),
            ));
        }
        let mut url = self.client.json_url(&["b", &self.bucket, "o", &self.destination, "compose"]);
        add_query(&mut url, self.preconditions.pairs());
        let body = ComposeBody { source_objects: &self.sources, destination: &self.metadata };
        let request = json_request(Method::POST, url, &body, "objects.compose")?;
        let idempotent = self.preconditions.makes_write_idempotent();
        self.client.send_json("objects.compose", idempotent, request).await
    }
}

impl StorageClient {
    /// `objects.get`: an object's metadata.
    pub fn get_object(&self, bucket: impl Into<String>, object: impl Into<String>) -> GetObject {
        GetObject {
            client: self.clone(),
            bucket: bucket.into(),
            object: object.into(),
            generation: None,
            preconditions: Preconditions::default(),
        }
    }

    /// `objects.get?alt=media`: downloads an object (streaming).
    ///
    /// ```no_run
    /// # async fn demo(client: cloudkit_gcp_storage::StorageClient) -> Result<(), cloudkit_gcp_storage::GcsError> {
    /// use cloudkit_gcp_storage::ByteRange;
    /// let head = client.download_object("b", "big.bin").range(ByteRange::Inclusive(0, 1023)).send().await?;
    /// let first_kib = head.bytes().await?;
    /// # Ok(()) }
    /// ```
    pub fn download_object(&self, bucket: impl Into<String>, object: impl Into<String>) -> DownloadObject {
        DownloadObject {
            client: self.clone(),
            bucket: bucket.into(),
            object: object.into(),
            generation: None,
            range: None,
            preconditions: Preconditions::default(),
        }
    }

    /// `objects.delete`.
    pub fn delete_object(&self, bucket: impl Into<String>, object: impl Into<String>) -> DeleteObject {
        DeleteObject {
            client: self.clone(),
            bucket: bucket.into(),
            object: object.into(),
            generation: None,
            preconditions: Preconditions::default(),
        }
    }

    /// `objects.patch`: updates metadata.
    pub fn patch_object(&self, bucket: impl Into<String>, object: impl Into<String>) -> PatchObject {
        PatchObject {
            client: self.clone(),
            bucket: bucket.into(),
            object: object.into(),
            metadata: ObjectMetadata::default(),
            preconditions: Preconditions::default(),
        }
    }

    /// `objects.rewrite`: copies `source_bucket/source_object` to `dest_bucket/dest_object`.
    pub fn rewrite_object(
        &self,
        source_bucket: impl Into<String>,
        source_object: impl Into<String>,
        dest_bucket: impl Into<String>,
        dest_object: impl Into<String>,
    ) -> RewriteObject {
        RewriteObject {
            client: self.clone(),
            source_bucket: source_bucket.into(),
            source_object: source_object.into(),
            source_generation: None,
            dest_bucket: dest_bucket.into(),
            dest_object: dest_object.into(),
            metadata: None,
            max_bytes_per_call: None,
            preconditions: Preconditions::default(),
        }
    }

    /// `objects.compose`.
    pub fn compose_object(&self, bucket: impl Into<String>, destination: impl Into<String>) -> ComposeObject {
        ComposeObject {
            client: self.clone(),
            bucket: bucket.into(),
            destination: destination.into(),
            sources: Vec::new(),
            metadata: ObjectMetadata::default(),
            preconditions: Preconditions::default(),
        }
    }
}
