//! Blob operations: Put Blob, Get Blob, properties, metadata, delete, copy, blocks, SAS.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::time::{Duration, SystemTime};

use base64::Engine;
use bytes::Bytes;
use cloudkit_core::internal::date::{http_date, parse_http_date};
use cloudkit_core::{ByteStream, HeaderMap, HeaderValue, HttpRequest, Method, Operation, Url, encode_path, md5_base64};
use cloudkit_cred_chain::azure::StorageAuth;
use cloudkit_signer::azure::{BlobSas, SasPermissions, SasProtocol, SasToken};

use crate::ContainerClient;
use crate::error::{BlobError, Result};

/// Reads `x-ms-meta-*` headers.
pub(crate) fn metadata_from_headers(headers: &HeaderMap) -> BTreeMap<String, String> {
    headers
        .iter()
        .filter_map(|(k, v)| {
            let name = k.as_str().strip_prefix("x-ms-meta-")?;
            Some((name.to_owned(), v.to_str().ok()?.to_owned()))
        })
        .collect()
}

/// Sets `x-ms-meta-*` headers; names must be C# identifiers (Azure's rule).
pub(crate) fn set_metadata_headers(
    r: &mut HttpRequest,
    metadata: &BTreeMap<String, String>,
    op: &'static str,
) -> Result<()> {
    for (k, v) in metadata {
        let ok = k.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ok {
            return Err(BlobError::invalid_input(
                op,
                format!("metadata name {k:?}: Azure allows letters, digits and '_' (not starting with a digit)"),
            ));
        }
        r.insert_header(&format!("x-ms-meta-{k}"), v).map_err(|e| BlobError::invalid_input(op, e.to_string()))?;
    }
    Ok(())
}

fn header(r: &mut HttpRequest, name: &str, value: &str, op: &'static str) -> Result<()> {
    r.insert_header(name, value).map_err(|e| BlobError::invalid_input(op, e.to_string()))
}

/// Access tier of a block blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessTier {
    /// Hot.
    Hot,
    /// Cool.
    Cool,
    /// Cold.
    Cold,
    /// Archive.
    Archive,
}

impl AccessTier {
    fn as_str(self) -> &'static str {
        match self {
            AccessTier::Hot => "Hot",
            AccessTier::Cool => "Cool",
            AccessTier::Cold => "Cold",
            AccessTier::Archive => "Archive",
        }
    }
}

/// Conditions of a write or read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Conditions {
    /// `If-Match`.
    pub if_match: Option<String>,
    /// `If-None-Match` (`*` = create only).
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<SystemTime>,
    /// `If-Unmodified-Since`.
    pub if_unmodified_since: Option<SystemTime>,
}

impl Conditions {
    pub(crate) fn apply(&self, r: &mut HttpRequest, op: &'static str) -> Result<()> {
        for (name, v) in [("if-match", &self.if_match), ("if-none-match", &self.if_none_match)] {
            if let Some(v) = v {
                header(r, name, v, op)?;
            }
        }
        for (name, t) in
            [("if-modified-since", self.if_modified_since), ("if-unmodified-since", self.if_unmodified_since)]
        {
            if let Some(t) = t {
                let date = http_date(t).ok_or_else(|| {
                    BlobError::invalid_input(op, format!("`{name}` must be a time between 1970 and 9999"))
                })?;
                header(r, name, &date, op)?;
            }
        }
        Ok(())
    }
}

/// Properties of a blob (Get Blob Properties, or the headers of Get Blob).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlobProperties {
    /// Size of the whole blob.
    pub size: u64,
    /// The entity tag.
    pub etag: Option<String>,
    /// Last modification.
    pub last_modified: Option<SystemTime>,
    /// Content type.
    pub content_type: Option<String>,
    /// The stored Content-MD5 of the whole blob (base64), when set.
    pub content_md5: Option<String>,
    /// `BlockBlob` …
    pub blob_type: Option<String>,
    /// Access tier.
    pub access_tier: Option<String>,
    /// Copy status (`pending`, `success` …) after a copy.
    pub copy_status: Option<String>,
    /// Metadata.
    pub metadata: BTreeMap<String, String>,
}

impl BlobProperties {
    pub(crate) fn from_headers(h: &HeaderMap) -> Self {
        let s = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let size = s("content-range")
            .and_then(|cr| cr.rsplit('/').next().and_then(|t| t.parse().ok()))
            .or_else(|| s("content-length").and_then(|l| l.parse().ok()))
            .unwrap_or(0);
        Self {
            size,
            etag: s("etag"),
            last_modified: s("last-modified").as_deref().and_then(parse_http_date),
            content_type: s("content-type"),
            content_md5: s("x-ms-blob-content-md5").or_else(|| s("content-md5")),
            blob_type: s("x-ms-blob-type"),
            access_tier: s("x-ms-access-tier"),
            copy_status: s("x-ms-copy-status"),
            metadata: metadata_from_headers(h),
        }
    }
}

/// The result of a write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteResult {
    /// The new entity tag.
    pub etag: Option<String>,
    /// The MD5 the service computed or stored (base64), when returned.
    pub content_md5: Option<String>,
}

/// The answer to Copy Blob ([`BlobClient::start_copy_from_url`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CopyBlobResult {
    /// `x-ms-copy-id`: identifies this copy (to abort it).
    pub copy_id: Option<String>,
    /// `x-ms-copy-status`: `success` (done) or `pending` (the service copies in the background).
    pub copy_status: Option<String>,
    /// The destination's entity tag.
    pub etag: Option<String>,
}

fn write_result(h: &HeaderMap) -> WriteResult {
    let s = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
    WriteResult { etag: s("etag"), content_md5: s("content-md5") }
}

/// Snapshots to delete with the blob.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeleteSnapshots {
    /// The blob only (fails if it has snapshots).
    #[default]
    None,
    /// The blob and its snapshots.
    Include,
    /// Only the snapshots.
    Only,
}

/// One blob.
#[derive(Clone, Debug)]
pub struct BlobClient {
    pub(crate) container: ContainerClient,
    pub(crate) name: String,
}

impl BlobClient {
    pub(crate) fn new(container: ContainerClient, name: String) -> Self {
        Self { container, name }
    }

    /// The blob name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The container client.
    pub fn container(&self) -> &ContainerClient {
        &self.container
    }

    pub(crate) fn path(&self) -> String {
        format!("{}/{}", self.container.path(), encode_path(&self.name))
    }

    /// The blob's URL (no SAS).
    pub fn url(&self) -> Url {
        self.container.service.url(&self.path(), &[])
    }

    pub(crate) fn request(&self, method: Method, query: &[(&str, &str)]) -> HttpRequest {
        self.container.service.request(method, &self.path(), query)
    }

    async fn send(&self, op: &'static str, r: HttpRequest) -> Result<cloudkit_core::BufferedResponse> {
        self.container.service.send(op, r).await
    }

    /// Put Blob (a block blob in one request).
    pub fn put(&self, body: impl Into<Bytes>) -> PutBlobRequest {
        PutBlobRequest {
            blob: self.clone(),
            body: body.into(),
            content_type: None,
            metadata: BTreeMap::new(),
            tier: None,
            conditions: Conditions::default(),
            md5: true,
        }
    }

    /// Get Blob (streaming).
    pub fn get(&self) -> GetBlobRequest {
        GetBlobRequest { blob: self.clone(), range: None, conditions: Conditions::default() }
    }

    /// Get Blob Properties.
    pub async fn get_properties(&self) -> Result<BlobProperties> {
        self.get_properties_with(&Conditions::default()).await
    }

    /// Get Blob Properties, conditional.
    pub async fn get_properties_with(&self, conditions: &Conditions) -> Result<BlobProperties> {
        let mut r = self.request(Method::HEAD, &[]);
        conditions.apply(&mut r, "GetBlobProperties")?;
        let resp = self.send("GetBlobProperties", r).await?;
        Ok(BlobProperties::from_headers(&resp.headers))
    }

    /// Whether the blob exists.
    pub async fn exists(&self) -> Result<bool> {
        match self.get_properties().await {
            Ok(_) => Ok(true),
            Err(BlobError::BlobNotFound(_) | BlobError::NotFound(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Set Blob Metadata (replaces all metadata).
    pub async fn set_metadata(
        &self,
        metadata: &BTreeMap<String, String>,
        conditions: &Conditions,
    ) -> Result<WriteResult> {
        let mut r = self.request(Method::PUT, &[("comp", "metadata")]);
        set_metadata_headers(&mut r, metadata, "SetBlobMetadata")?;
        conditions.apply(&mut r, "SetBlobMetadata")?;
        let resp = self.send("SetBlobMetadata", r).await?;
        Ok(write_result(&resp.headers))
    }

    /// Delete Blob.
    pub async fn delete(&self, snapshots: DeleteSnapshots, conditions: &Conditions) -> Result<()> {
        let mut r = self.request(Method::DELETE, &[]);
        match snapshots {
            DeleteSnapshots::None => {}
            DeleteSnapshots::Include => header(&mut r, "x-ms-delete-snapshots", "include", "DeleteBlob")?,
            DeleteSnapshots::Only => header(&mut r, "x-ms-delete-snapshots", "only", "DeleteBlob")?,
        }
        conditions.apply(&mut r, "DeleteBlob")?;
        self.send("DeleteBlob", r).await.map(|_| ())
    }

    /// Snapshot Blob: returns the snapshot time.
    pub async fn snapshot(&self) -> Result<String> {
        let r = self.request(Method::PUT, &[("comp", "snapshot")]);
        let resp = self.send("SnapshotBlob", r).await?;
        Ok(resp.header("x-ms-snapshot").unwrap_or_default().to_owned())
    }

    /// Copy Blob from `source` (a URL in this account, or any URL readable with a SAS), without
    /// waiting: the service may finish the copy later (status `pending`); see
    /// [`BlobClient::wait_until_copy_complete`]. `conditions` apply to the destination
    /// (`if_none_match: Some("*")` = do not overwrite).
    pub async fn start_copy_from_url(&self, source: &Url, conditions: &Conditions) -> Result<CopyBlobResult> {
        const OP: &str = "CopyBlob";
        let mut r = self.request(Method::PUT, &[]);
        header(&mut r, "x-ms-copy-source", source.as_str(), OP)?;
        conditions.apply(&mut r, OP)?;
        let resp = self.send(OP, r).await?;
        let s = |n: &str| resp.header(n).map(str::to_owned);
        Ok(CopyBlobResult { copy_id: s("x-ms-copy-id"), copy_status: s("x-ms-copy-status"), etag: s("etag") })
    }

    /// Copy Blob from `source`, waiting until the copy has finished (polling the destination's
    /// copy status for at most 10 minutes, see [`default_copy_waiter_config`](crate::default_copy_waiter_config);
    /// for longer copies use [`start_copy_from_url`](Self::start_copy_from_url) and
    /// [`wait_until_copy_complete`](Self::wait_until_copy_complete) with your deadline). Returns
    /// the destination's properties. A copy that ends `failed` or `aborted` is an error naming
    /// the status.
    pub async fn copy_from_url(&self, source: &Url, conditions: &Conditions) -> Result<BlobProperties> {
        let started = self.start_copy_from_url(source, conditions).await?;
        // No status (older versions, emulators) means the copy completed synchronously.
        if started.copy_status.as_deref().is_none_or(|s| s == "success") {
            return self.get_properties().await;
        }
        self.wait_until_copy_complete().wait_for_properties().await
    }

    /// Put Block: stages `data` under `block_id` (raw id; it is base64-encoded here). Sends a
    /// Content-MD5 so the service verifies the bytes.
    pub async fn put_block(&self, block_id: &[u8], data: Bytes) -> Result<()> {
        let id = base64::engine::general_purpose::STANDARD.encode(block_id);
        let md5 = md5_base64(&data);
        let mut r = self.request(Method::PUT, &[("comp", "block"), ("blockid", &id)]).with_body(data);
        header(&mut r, "content-md5", &md5, "PutBlock")?;
        self.send("PutBlock", r).await.map(|_| ())
    }

    /// Put Block List: commits the blocks (raw ids, in order) as the blob's content.
    pub fn put_block_list(&self, block_ids: Vec<Vec<u8>>) -> PutBlockListRequest {
        PutBlockListRequest {
            blob: self.clone(),
            block_ids,
            content_type: None,
            metadata: BTreeMap::new(),
            conditions: Conditions::default(),
            blob_md5: None,
        }
    }

    /// A SAS URL for this blob, signed with the account key (SharedKey clients only; token
    /// clients use [`BlobClient::user_delegation_sas_url`]).
    pub fn sas_url(&self, permissions: SasPermissions, expiry: SystemTime) -> Result<Url> {
        let StorageAuth::SharedKey(key) = self.container.service.auth() else {
            return Err(BlobError::invalid_input(
                "GenerateSas",
                "a service SAS needs an account key (SharedKey client)",
            ));
        };
        let token = self
            .sas_builder(permissions, expiry)
            .sign(key)
            .map_err(|e| BlobError::invalid_input("GenerateSas", e.to_string()))?;
        Ok(token.apply_to(&self.url()))
    }

    /// A user delegation SAS URL (token-credential clients): fetches a delegation key valid until
    /// `expiry` and signs with it.
    pub async fn user_delegation_sas_url(&self, permissions: SasPermissions, expiry: SystemTime) -> Result<Url> {
        let service = &self.container.service;
        let account = service.account().unwrap_or_default().to_owned();
        let udk = service.get_user_delegation_key(SystemTime::now() - Duration::from_secs(300), expiry).await?;
        let token: SasToken = self
            .sas_builder(permissions, expiry)
            .sign_user_delegation(&account, &udk)
            .map_err(|e| BlobError::invalid_input("GenerateSas", e.to_string()))?;
        Ok(token.apply_to(&self.url()))
    }

    fn sas_builder(&self, permissions: SasPermissions, expiry: SystemTime) -> BlobSas {
        let mut sas = BlobSas::blob(&self.container.name, &self.name, permissions, expiry)
            .start(SystemTime::now() - Duration::from_secs(300));
        if self.container.service.endpoint().scheme() == "https" {
            sas = sas.protocol(SasProtocol::Https);
        } else {
            sas = sas.protocol(SasProtocol::HttpsAndHttp);
        }
        sas
    }
}

/// Put Blob.
#[derive(Clone, Debug)]
pub struct PutBlobRequest {
    blob: BlobClient,
    body: Bytes,
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
    tier: Option<AccessTier>,
    conditions: Conditions,
    md5: bool,
}

impl PutBlobRequest {
    /// Content type.
    pub fn content_type(mut self, v: impl Into<String>) -> Self {
        self.content_type = Some(v.into());
        self
    }
    /// A metadata entry.
    pub fn metadata(mut self, k: impl Into<String>, v: impl Into<String>) -> Self {
        self.metadata.insert(k.into(), v.into());
        self
    }
    /// All metadata.
    pub fn metadata_map(mut self, m: BTreeMap<String, String>) -> Self {
        self.metadata = m;
        self
    }
    /// Access tier.
    pub fn tier(mut self, tier: AccessTier) -> Self {
        self.tier = Some(tier);
        self
    }
    /// Create only (`If-None-Match: *`): `BlobAlreadyExists` if it exists.
    pub fn if_none_match_any(mut self) -> Self {
        self.conditions.if_none_match = Some("*".into());
        self
    }
    /// Only if the current entity tag is `etag` (`ConditionNotMet` otherwise).
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.conditions.if_match = Some(etag.into());
        self
    }
    /// All conditions.
    pub fn conditions(mut self, c: Conditions) -> Self {
        self.conditions = c;
        self
    }
    /// Send a Content-MD5 (default true): the service rejects corrupted bodies and stores it.
    pub fn content_md5(mut self, on: bool) -> Self {
        self.md5 = on;
        self
    }

    /// Sends it.
    pub async fn send(self) -> Result<WriteResult> {
        const OP: &str = "PutBlob";
        let mut r = self.blob.request(Method::PUT, &[]);
        header(&mut r, "x-ms-blob-type", "BlockBlob", OP)?;
        if let Some(ct) = &self.content_type {
            header(&mut r, "x-ms-blob-content-type", ct, OP)?;
        }
        if let Some(t) = self.tier {
            header(&mut r, "x-ms-access-tier", t.as_str(), OP)?;
        }
        if self.md5 {
            header(&mut r, "content-md5", &md5_base64(&self.body), OP)?;
        }
        set_metadata_headers(&mut r, &self.metadata, OP)?;
        self.conditions.apply(&mut r, OP)?;
        let r = r.with_body(self.body);
        let resp = self.blob.send(OP, r).await?;
        Ok(write_result(&resp.headers))
    }
}

/// Put Block List.
#[derive(Clone, Debug)]
pub struct PutBlockListRequest {
    blob: BlobClient,
    block_ids: Vec<Vec<u8>>,
    content_type: Option<String>,
    metadata: BTreeMap<String, String>,
    conditions: Conditions,
    blob_md5: Option<String>,
}

impl PutBlockListRequest {
    /// Content type.
    pub fn content_type(mut self, v: impl Into<String>) -> Self {
        self.content_type = Some(v.into());
        self
    }
    /// All metadata.
    pub fn metadata_map(mut self, m: BTreeMap<String, String>) -> Self {
        self.metadata = m;
        self
    }
    /// Conditions on the destination.
    pub fn conditions(mut self, c: Conditions) -> Self {
        self.conditions = c;
        self
    }
    /// The MD5 of the whole blob (base64), stored as its Content-MD5.
    pub fn blob_content_md5(mut self, md5: impl Into<String>) -> Self {
        self.blob_md5 = Some(md5.into());
        self
    }

    /// Sends it.
    pub async fn send(self) -> Result<WriteResult> {
        const OP: &str = "PutBlockList";
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for id in &self.block_ids {
            xml.push_str("<Latest>");
            xml.push_str(&cloudkit_core::internal::xml::escape(&base64::engine::general_purpose::STANDARD.encode(id)));
            xml.push_str("</Latest>");
        }
        xml.push_str("</BlockList>");
        let mut r = self.blob.request(Method::PUT, &[("comp", "blocklist")]);
        if let Some(ct) = &self.content_type {
            header(&mut r, "x-ms-blob-content-type", ct, OP)?;
        }
        if let Some(m) = &self.blob_md5 {
            header(&mut r, "x-ms-blob-content-md5", m, OP)?;
        }
        set_metadata_headers(&mut r, &self.metadata, OP)?;
        self.conditions.apply(&mut r, OP)?;
        let r = r.with_body(xml);
        let resp = self.blob.send(OP, r).await?;
        Ok(write_result(&resp.headers))
    }
}

/// Get Blob.
#[derive(Clone, Debug)]
pub struct GetBlobRequest {
    blob: BlobClient,
    range: Option<String>,
    conditions: Conditions,
}

/// A Get Blob response: properties and the streaming body.
#[derive(Debug)]
pub struct GetBlobResponse {
    /// Properties (size is the whole blob's size).
    pub properties: BlobProperties,
    /// The byte range returned (`start..end`, end exclusive).
    pub range: std::ops::Range<u64>,
    /// The bytes.
    pub body: ByteStream,
}

impl GetBlobResponse {
    /// Reads the whole body.
    pub async fn bytes(self) -> Result<Bytes> {
        self.body.collect().await.map_err(|e| {
            BlobError::Other(
                cloudkit_core::Error::new(cloudkit_core::ErrorKind::Transport, crate::SERVICE, "GetBlob")
                    .with_source(e),
            )
        })
    }
}

impl GetBlobRequest {
    /// Bytes `start..=end`.
    pub fn range(mut self, range: RangeInclusive<u64>) -> Self {
        self.range = Some(format!("bytes={}-{}", range.start(), range.end()));
        self
    }
    /// From `start` to the end.
    pub fn range_from(mut self, start: u64) -> Self {
        self.range = Some(format!("bytes={start}-"));
        self
    }
    /// `If-Match`.
    pub fn if_match(mut self, etag: impl Into<String>) -> Self {
        self.conditions.if_match = Some(etag.into());
        self
    }
    /// `If-None-Match` (`NotModified` when it matches).
    pub fn if_none_match(mut self, etag: impl Into<String>) -> Self {
        self.conditions.if_none_match = Some(etag.into());
        self
    }
    /// All conditions.
    pub fn conditions(mut self, c: Conditions) -> Self {
        self.conditions = c;
        self
    }

    /// Sends it; the body streams.
    pub async fn send(self) -> Result<GetBlobResponse> {
        const OP: &str = "GetBlob";
        let mut r = self.blob.request(Method::GET, &[]);
        if let Some(range) = &self.range {
            r.headers.insert(
                "x-ms-range",
                HeaderValue::from_str(range).map_err(|e| BlobError::invalid_input(OP, e.to_string()))?,
            );
        }
        self.conditions.apply(&mut r, OP)?;
        let resp = self.blob.container.service.pipeline().send_streaming(&Operation::new(OP), r).await?;
        let properties = BlobProperties::from_headers(&resp.headers);
        let range = match resp.header("content-range").and_then(parse_content_range) {
            Some(r) => r,
            None => 0..properties.size,
        };
        Ok(GetBlobResponse { properties, range, body: resp.body })
    }
}

/// `bytes a-b/total` → `a..b+1`.
fn parse_content_range(v: &str) -> Option<std::ops::Range<u64>> {
    let spec = v.strip_prefix("bytes ")?;
    let (range, _) = spec.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let a: u64 = a.parse().ok()?;
    let b: u64 = b.parse().ok()?;
    Some(a..b + 1)
}
