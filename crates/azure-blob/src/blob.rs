//! Blob operations: Put Blob, Get Blob, properties, metadata, delete, copy, blocks, SAS.

use std::collections::BTreeMap;
use std::ops::{Range, RangeInclusive};
use std::time::{Duration, SystemTime};

use base64::Engine;
use bytes::Bytes;
use cloudkit_core::internal::date::{http_date, parse_http_date};
use cloudkit_core::{
    ByteStream, HeaderMap, HttpRequest, Md5, Method, Operation, ReopenAt, TransportError, TransportErrorKind, Url,
    encode_path, md5_base64, object_changed, resuming, verify_stream,
};
use cloudkit_cred_chain::azure::StorageAuth;
use cloudkit_signer::azure::{BlobSas, SasPermissions, SasProtocol, SasToken};
use futures::FutureExt;

use crate::ContainerClient;
use crate::error::{BlobError, Result};
use crate::model::{BlockList, BlockListType, parse_block_list};

/// The largest range for which the service returns an MD5 of the range
/// (`x-ms-range-get-content-md5`): 4 MiB.
pub const MAX_RANGE_MD5: u64 = 4 * 1024 * 1024;

/// [`GetBlobResponse::bytes`] reserves the body's size up front, up to this much.
const PREALLOCATE_AT_MOST: u64 = 64 * 1024 * 1024;

/// Refuses blob names that a URL cannot carry as one path below the container: an empty name,
/// one longer than 1024 characters (the service's limit), or one with a `.` or `..` segment.
/// URL parsers (the WHATWG rules the `url` crate follows, and the service's front end) resolve
/// such segments, also percent-encoded (`%2e%2e`, `.%2E`) and with `\` as a separator, so
/// `blob_client("../c2/x")` would otherwise address container `c2`. Segments are checked as
/// written and after percent-decoding (repeatedly, as a server might).
pub(crate) fn check_blob_name(name: &str) -> std::result::Result<(), String> {
    if name.is_empty() {
        return Err("the blob name is empty".into());
    }
    if name.chars().count() > 1024 {
        return Err("the blob name is longer than 1024 characters".into());
    }
    let mut text = name.to_owned();
    for _ in 0..4 {
        let dot_segment = text.split(['/', '\\']).any(|s| s == "." || s == "..");
        if dot_segment {
            return Err(format!(
                "blob name {name:?} has a `.` or `..` path segment (also when percent-encoded or separated by `\\`), \
                 which URLs resolve to another blob or container"
            ));
        }
        let decoded = percent_encoding::percent_decode_str(&text).decode_utf8_lossy().into_owned();
        if decoded == text {
            break;
        }
        text = decoded;
    }
    Ok(())
}

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

pub(crate) fn header(r: &mut HttpRequest, name: &str, value: &str, op: &'static str) -> Result<()> {
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
    /// Whether any condition is set. A conditional write is not idempotent: sent twice, the
    /// second attempt would fail on the first one's effect (a false `BlobAlreadyExists` or
    /// `ConditionNotMet`), so it is retried only when it certainly did not take effect.
    pub fn is_set(&self) -> bool {
        self.if_match.is_some()
            || self.if_none_match.is_some()
            || self.if_modified_since.is_some()
            || self.if_unmodified_since.is_some()
    }

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
    /// The stored Content-MD5 of the whole blob (base64), when set (`Content-MD5` of Get Blob
    /// Properties and whole-blob reads, `x-ms-blob-content-md5` of ranged reads).
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
            // On a ranged read `Content-MD5` is the range's (when asked for), never the blob's.
            content_md5: s("x-ms-blob-content-md5")
                .or_else(|| if h.contains_key("content-range") { None } else { s("content-md5") }),
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

    /// `/{container}/{blob}`, encoded; refuses names that would address something else (see
    /// [`BlobClient::url`]).
    pub(crate) fn path(&self, op: &'static str) -> Result<String> {
        check_blob_name(&self.name).map_err(|m| BlobError::invalid_input(op, m))?;
        Ok(format!("{}/{}", self.container.path(op)?, encode_path(&self.name)))
    }

    /// The blob's URL (no SAS). An invalid input error, and no URL, for a container name outside
    /// Azure's characters or a blob name that a URL cannot carry inside its container (empty,
    /// longer than 1024 characters, or with a `.` or `..` segment, also percent-encoded or
    /// separated by `\`): URLs resolve such segments, so `"../c2/x"` would address container
    /// `c2`. Every request of this client checks the same.
    pub fn url(&self) -> Result<Url> {
        Ok(self.container.service.url(&self.path("BlobUrl")?, &[]))
    }

    pub(crate) fn request(&self, op: &'static str, method: Method, query: &[(&str, &str)]) -> Result<HttpRequest> {
        Ok(self.container.service.request(method, &self.path(op)?, query))
    }

    async fn send(&self, op: &'static str, r: HttpRequest) -> Result<cloudkit_core::BufferedResponse> {
        self.container.service.send(op, r).await
    }

    /// Sends a write that is retried only when it certainly did not take effect (a throttling
    /// answer, a connection that could not be made) when `idempotent` is false.
    async fn send_write(
        &self,
        op: &'static str,
        idempotent: bool,
        r: HttpRequest,
    ) -> Result<cloudkit_core::BufferedResponse> {
        self.container.service.send_operation(&Operation::new(op).idempotent(idempotent), r).await
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

    /// Get Blob (streaming; see [`GetBlobRequest`] for what is verified and how a broken body is
    /// resumed).
    pub fn get(&self) -> GetBlobRequest {
        GetBlobRequest {
            blob: self.clone(),
            range: None,
            conditions: Conditions::default(),
            verify_md5: true,
            range_md5: false,
        }
    }

    /// Get Blob Properties.
    pub async fn get_properties(&self) -> Result<BlobProperties> {
        self.get_properties_with(&Conditions::default()).await
    }

    /// Get Blob Properties, conditional.
    pub async fn get_properties_with(&self, conditions: &Conditions) -> Result<BlobProperties> {
        let mut r = self.request("GetBlobProperties", Method::HEAD, &[])?;
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

    /// Set Blob Metadata (replaces all metadata). With conditions it is not retried after a
    /// failure that may hide a write that took effect (see [`Conditions::is_set`]).
    pub async fn set_metadata(
        &self,
        metadata: &BTreeMap<String, String>,
        conditions: &Conditions,
    ) -> Result<WriteResult> {
        const OP: &str = "SetBlobMetadata";
        let mut r = self.request(OP, Method::PUT, &[("comp", "metadata")])?;
        set_metadata_headers(&mut r, metadata, OP)?;
        conditions.apply(&mut r, OP)?;
        let resp = self.send_write(OP, !conditions.is_set(), r).await?;
        Ok(write_result(&resp.headers))
    }

    /// Delete Blob. With conditions it is not retried after a failure that may hide a delete
    /// that took effect (see [`Conditions::is_set`]). Without, a retry that finds no blob reports
    /// success: the attempt before it, whose answer was lost, may have deleted it (the blob is
    /// gone either way); `BlobNotFound` comes from a first attempt only.
    pub async fn delete(&self, snapshots: DeleteSnapshots, conditions: &Conditions) -> Result<()> {
        let mut r = self.request("DeleteBlob", Method::DELETE, &[])?;
        match snapshots {
            DeleteSnapshots::None => {}
            DeleteSnapshots::Include => header(&mut r, "x-ms-delete-snapshots", "include", "DeleteBlob")?,
            DeleteSnapshots::Only => header(&mut r, "x-ms-delete-snapshots", "only", "DeleteBlob")?,
        }
        conditions.apply(&mut r, "DeleteBlob")?;
        match self.send_write("DeleteBlob", !conditions.is_set(), r).await {
            Ok(_) => Ok(()),
            Err(BlobError::BlobNotFound(e)) if !conditions.is_set() && e.attempts() > 1 => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Snapshot Blob: returns the snapshot time. Not retried after a failure that may hide a
    /// snapshot that was taken (a retry would take a second one).
    pub async fn snapshot(&self) -> Result<String> {
        let r = self.request("SnapshotBlob", Method::PUT, &[("comp", "snapshot")])?;
        let resp = self.send_write("SnapshotBlob", false, r).await?;
        Ok(resp.header("x-ms-snapshot").unwrap_or_default().to_owned())
    }

    /// Copy Blob from `source` (a URL in this account, or any URL readable with a SAS), without
    /// waiting: the service may finish the copy later (status `pending`); see
    /// [`BlobClient::wait_until_copy_complete`]. `conditions` apply to the destination
    /// (`if_none_match: Some("*")` = do not overwrite). A conditional copy is not retried after
    /// a failure that may hide a copy that started (a retry would fail on its own effect, see
    /// [`Conditions::is_set`]).
    pub async fn start_copy_from_url(&self, source: &Url, conditions: &Conditions) -> Result<CopyBlobResult> {
        const OP: &str = "CopyBlob";
        let mut r = self.request(OP, Method::PUT, &[])?;
        header(&mut r, "x-ms-copy-source", source.as_str(), OP)?;
        conditions.apply(&mut r, OP)?;
        let resp = self.send_write(OP, !conditions.is_set(), r).await?;
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
        let mut r = self.request("PutBlock", Method::PUT, &[("comp", "block"), ("blockid", &id)])?.with_body(data);
        header(&mut r, "content-md5", &md5, "PutBlock")?;
        self.send("PutBlock", r).await.map(|_| ())
    }

    /// Get Block List: the blocks of the committed blob and/or those staged and not committed.
    pub async fn get_block_list(&self, list: BlockListType) -> Result<BlockList> {
        const OP: &str = "GetBlockList";
        let r = self.request(OP, Method::GET, &[("comp", "blocklist"), ("blocklisttype", list.as_str())])?;
        let resp = self.send(OP, r).await?;
        parse_block_list(&resp.body).map_err(|e| BlobError::decode(OP, e.to_string()))
    }

    /// Put Block List: commits the blocks (raw ids, in order) as the blob's content. Not
    /// idempotent: retried only when it certainly did not take effect (see
    /// [`PutBlockListRequest::send`]).
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
        Ok(token.apply_to(&self.url()?))
    }

    /// A user delegation SAS URL (token-credential clients): fetches a delegation key valid until
    /// `expiry` and signs with it.
    pub async fn user_delegation_sas_url(&self, permissions: SasPermissions, expiry: SystemTime) -> Result<Url> {
        let url = self.url()?;
        let service = &self.container.service;
        let account = service.account().unwrap_or_default().to_owned();
        let udk = service.get_user_delegation_key(SystemTime::now() - Duration::from_secs(300), expiry).await?;
        let token: SasToken = self
            .sas_builder(permissions, expiry)
            .sign_user_delegation(&account, &udk)
            .map_err(|e| BlobError::invalid_input("GenerateSas", e.to_string()))?;
        Ok(token.apply_to(&url))
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
    /// Create only (`If-None-Match: *`): `BlobAlreadyExists` if it exists. A create-only write is
    /// not retried after a failure that may hide a write that took effect (see
    /// [`PutBlobRequest::send`]).
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

    /// Sends it. An unconditional Put Blob is retried like any idempotent request (sent twice,
    /// it writes the same blob twice). A conditional one (create-only, `If-Match` …) is retried
    /// only when it certainly did not take effect (a throttling answer, a connection that could
    /// not be made): after a 5xx, a timeout or a reset the write may have happened, and a second
    /// attempt would fail on its own effect with a false `BlobAlreadyExists` / `ConditionNotMet`.
    /// Such a failure is returned as it is (the outcome is unknown; read the blob to find out).
    pub async fn send(self) -> Result<WriteResult> {
        const OP: &str = "PutBlob";
        let mut r = self.blob.request(OP, Method::PUT, &[])?;
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
        let resp = self.blob.send_write(OP, !self.conditions.is_set(), r).await?;
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

    /// Sends it. Put Block List is not retried after a failure that may hide a commit that took
    /// effect (a 5xx, a timeout, a reset): only a throttling answer or a connection that could
    /// not be made is retried. A second commit of a blob committed a moment ago would fail with a
    /// false `BlobAlreadyExists` / `ConditionNotMet` when conditional. [`BlobClient::upload`]
    /// recovers from such failures by comparing the committed block list with its own.
    pub async fn send(self) -> Result<WriteResult> {
        const OP: &str = "PutBlockList";
        let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
        for id in &self.block_ids {
            xml.push_str("<Latest>");
            xml.push_str(&cloudkit_core::internal::xml::escape(&base64::engine::general_purpose::STANDARD.encode(id)));
            xml.push_str("</Latest>");
        }
        xml.push_str("</BlockList>");
        let mut r = self.blob.request(OP, Method::PUT, &[("comp", "blocklist")])?;
        if let Some(ct) = &self.content_type {
            header(&mut r, "x-ms-blob-content-type", ct, OP)?;
        }
        if let Some(m) = &self.blob_md5 {
            header(&mut r, "x-ms-blob-content-md5", m, OP)?;
        }
        set_metadata_headers(&mut r, &self.metadata, OP)?;
        self.conditions.apply(&mut r, OP)?;
        let r = r.with_body(xml);
        let resp = self.blob.send_write(OP, false, r).await?;
        Ok(write_result(&resp.headers))
    }
}

/// Get Blob: a streaming read of the whole blob or a range.
///
/// What is verified (issue 15):
/// - the body has exactly the length of the range the service announced (`Content-Range` /
///   `Content-Length`), and a ranged read must answer with the range asked for
///   ([`BlobError::RangeMismatch`] otherwise);
/// - a read of the whole blob (no range, or a range covering it) checks the blob's stored
///   Content-MD5 when it has one (blobs written by Put Blob always have one; blobs committed
///   from blocks when the writer sent `x-ms-blob-content-md5`, as [`BlobClient::upload`] does),
///   once the last byte has arrived: a mismatch is [`BlobError::ChecksumMismatch`] from
///   [`GetBlobResponse::bytes`] (a `ByteStream` reader sees a body error whose source is a
///   [`cloudkit_core::ChecksumMismatchError`]);
/// - a read of part of a blob checks nothing by default (no checksum of a part exists), unless
///   [`range_md5`](Self::range_md5) asks the service for the MD5 of the range (ranges up to
///   [`MAX_RANGE_MD5`], 4 MiB), which is then checked the same way.
///
/// A body that breaks off (a reset connection, a truncated body, a stall past the read timeout)
/// is resumed from the last byte received with a ranged Get Blob conditioned on the entity tag of
/// the first response (`If-Match`), as often as the client's retry settings allow
/// ([`cloudkit_core::resuming`]); checksums cover the whole resumed body. If the blob changed in
/// between, the service answers 412 and the read fails with [`BlobError::ObjectChanged`] (a
/// `ByteStream` reader sees a body error of kind
/// [`TransportErrorKind::ObjectChanged`](cloudkit_core::TransportErrorKind::ObjectChanged)):
/// two versions are never spliced. A response without an entity tag is not resumed.
#[derive(Clone, Debug)]
pub struct GetBlobRequest {
    blob: BlobClient,
    /// First byte and last byte (inclusive; `None`: to the end).
    range: Option<(u64, Option<u64>)>,
    conditions: Conditions,
    verify_md5: bool,
    range_md5: bool,
}

/// A Get Blob response: properties and the streaming body.
#[derive(Debug)]
pub struct GetBlobResponse {
    /// Properties (size is the whole blob's size).
    pub properties: BlobProperties,
    /// The byte range returned (`start..end`, end exclusive).
    pub range: Range<u64>,
    /// The bytes: resumed after a break and verified as [`GetBlobRequest`] describes.
    pub body: ByteStream,
}

impl GetBlobResponse {
    /// Reads the whole body. A blob that changed under a resumed read is
    /// [`BlobError::ObjectChanged`], corrupt data [`BlobError::ChecksumMismatch`], a body that
    /// could not be read to its end within the retry budget [`BlobError::Other`] (kind
    /// `Transport`).
    pub async fn bytes(self) -> Result<Bytes> {
        // the size of the range (capped: the answer's headers are not trusted with an allocation)
        let expected = (self.range.end.saturating_sub(self.range.start)).min(PREALLOCATE_AT_MOST) as usize;
        self.body.collect_with_capacity(expected).await.map_err(|e| BlobError::from_body_error("GetBlob", e))
    }
}

impl GetBlobRequest {
    /// Bytes `start..=end`.
    pub fn range(mut self, range: RangeInclusive<u64>) -> Self {
        self.range = Some((*range.start(), Some(*range.end())));
        self
    }
    /// From `start` to the end.
    pub fn range_from(mut self, start: u64) -> Self {
        self.range = Some((start, None));
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
    /// Check the blob's stored Content-MD5 on a read of the whole blob (default true).
    pub fn verify_md5(mut self, on: bool) -> Self {
        self.verify_md5 = on;
        self
    }
    /// Ask the service for the MD5 of the range (`x-ms-range-get-content-md5: true`) and check
    /// the body against it (default false). Needs a bounded [`range`](Self::range) of at most
    /// [`MAX_RANGE_MD5`] bytes (an invalid input error otherwise); a response without the MD5 is
    /// an error.
    pub fn range_md5(mut self, on: bool) -> Self {
        self.range_md5 = on;
        self
    }

    /// Sends it; the body streams (resumed and verified as the [type docs](Self) say).
    pub async fn send(self) -> Result<GetBlobResponse> {
        const OP: &str = "GetBlob";
        let mut r = self.blob.request(OP, Method::GET, &[])?;
        if let Some((start, end)) = self.range {
            let value = match end {
                Some(end) if end < start => {
                    return Err(BlobError::invalid_input(OP, format!("the range {start}..={end} is empty")));
                }
                Some(end) => format!("bytes={start}-{end}"),
                None => format!("bytes={start}-"),
            };
            header(&mut r, "x-ms-range", &value, OP)?;
        }
        if self.range_md5 {
            match self.range {
                Some((start, Some(end))) if end - start < MAX_RANGE_MD5 => {
                    header(&mut r, "x-ms-range-get-content-md5", "true", OP)?;
                }
                _ => {
                    return Err(BlobError::invalid_input(
                        OP,
                        format!("a range MD5 needs a range of at most {MAX_RANGE_MD5} bytes"),
                    ));
                }
            }
        }
        self.conditions.apply(&mut r, OP)?;
        let pipeline = self.blob.container.service.pipeline();
        let resp = pipeline.send_streaming(&Operation::new(OP), r).await?;
        let properties = BlobProperties::from_headers(&resp.headers);
        let content_range = resp.header("content-range").map(str::to_owned);
        let length: Option<u64> = resp.header("content-length").and_then(|l| l.trim().parse().ok());
        let range = match content_range.as_deref() {
            Some(v) => parse_content_range(v)
                .ok_or_else(|| BlobError::decode(OP, format!("the Content-Range {v:?} does not parse")))?,
            None => 0..length.unwrap_or(properties.size),
        };
        // the range answered must be the range asked for, and the body as long as the range
        if let Some((start, end)) = self.range {
            let end = end.map_or(properties.size, |e| e.saturating_add(1).min(properties.size));
            if range.start != start || range.end != end {
                return Err(BlobError::RangeMismatch { operation: OP, requested: start..end, received: range });
            }
        }
        if let Some(length) = length
            && length != range.end - range.start
        {
            let received = range.start..range.start.saturating_add(length);
            return Err(BlobError::RangeMismatch { operation: OP, requested: range, received });
        }
        let known_end = (content_range.is_some() || length.is_some()).then_some(range.end);
        let expected_md5 = if self.range_md5 {
            match resp.header("content-md5") {
                Some(md5) => Some(md5.to_owned()),
                None => return Err(BlobError::decode(OP, "the service sent no Content-MD5 for the range")),
            }
        } else if self.verify_md5 && known_end.is_some() && range.start == 0 && range.end == properties.size {
            properties.content_md5.clone()
        } else {
            None
        };
        let mut body = resp.body;
        if let Some(etag) = properties.etag.clone() {
            let blob = self.blob.clone();
            let reopen: ReopenAt =
                Box::new(move |offset| blob.clone().reopen_at(offset, known_end, etag.clone()).boxed());
            body = resuming(body, range.start, known_end, reopen, pipeline.retry_config().clone());
        }
        if let Some(expected) = expected_md5 {
            body = verify_stream(body, Box::new(Md5::default()), expected);
        }
        Ok(GetBlobResponse { properties, range, body })
    }
}

impl BlobClient {
    /// The rest of a read that broke off: bytes `offset..end` of the version with entity tag
    /// `etag` (a 412 means the blob changed: [`object_changed`]).
    async fn reopen_at(self, offset: u64, end: Option<u64>, etag: String) -> Result<ByteStream, TransportError> {
        const OP: &str = "GetBlob";
        let failed = |message: String| TransportError::new(TransportErrorKind::Other, message);
        let mut r = self.request(OP, Method::GET, &[]).map_err(|e| failed(e.to_string()))?;
        let range = match end {
            Some(end) => format!("bytes={offset}-{}", end.saturating_sub(1)),
            None => format!("bytes={offset}-"),
        };
        r.insert_header("x-ms-range", &range).map_err(|e| failed(e.to_string()))?;
        r.insert_header("if-match", &etag).map_err(|e| failed(e.to_string()))?;
        let pipeline = self.container.service.pipeline();
        match pipeline.send_streaming(&Operation::new(OP), r).await {
            Ok(resp) => {
                let answered = resp.header("content-range").and_then(parse_content_range);
                match answered {
                    Some(a) if a.start == offset && end.is_none_or(|e| a.end == e) => Ok(resp.body),
                    _ => Err(failed(format!(
                        "the resumed read asked for {range} and the service answered with {}",
                        resp.header("content-range").unwrap_or("the whole blob")
                    ))),
                }
            }
            Err(e) if e.status().is_some_and(|s| s.as_u16() == 412) => Err(object_changed()),
            Err(e) => Err(TransportError::new(TransportErrorKind::Other, "resuming the read failed").with_source(e)),
        }
    }
}

/// `bytes a-b/total` → `a..b+1`.
fn parse_content_range(v: &str) -> Option<Range<u64>> {
    let spec = v.trim().strip_prefix("bytes ")?;
    let (range, _) = spec.split_once('/')?;
    let (a, b) = range.split_once('-')?;
    let a: u64 = a.trim().parse().ok()?;
    let b: u64 = b.trim().parse().ok()?;
    (b >= a).then(|| a..b.saturating_add(1))
}
