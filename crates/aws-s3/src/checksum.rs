//! Integrity checks: flexible checksums sent on uploads and verified on downloads, and the
//! Content-MD5 S3 requires on DeleteObjects.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use cloudkit_core::{Body, ByteStream, HeaderMap, RunningChecksum};
use futures::StreamExt;
use sha2::Digest as _;

/// When the client computes and checks checksums (S3-compatible stores differ, so this is a
/// setting; the AWS SDKs call it `request_checksum_calculation` / `response_checksum_validation`).
///
/// The default is [`ChecksumMode::WhenSupported`] for AWS endpoints and
/// [`ChecksumMode::WhenRequired`] for custom endpoints, as the January 2025 SDK change that
/// broke MinIO, R2, Ceph and others taught (see the crate docs). The two differ only in what
/// uploads send; downloads verify whatever the service offers in both:
///
/// | | uploads (PutObject, UploadPart) | downloads (GetObject, [`TransferManager`](crate::TransferManager)) |
/// |---|---|---|
/// | `Off` | nothing | nothing asked for, nothing verified |
/// | `WhenRequired` | CRC32C (header) on PutObject bodies; managed multipart uploads get a full-object CRC32 (every part carries its CRC32, the completion the combined value; every body is replayable, and the stored checksum is what later downloads verify) | `x-amz-checksum-mode: ENABLED`; verify what is offered |
/// | `WhenSupported` | CRC32C (header) on every body (UploadPart: unless the caller chose an algorithm); managed multipart uploads as `WhenRequired` | as `WhenRequired` |
/// | `Required` | as `WhenSupported` | as `WhenRequired`, and a download nothing can be verified for fails with [`S3Error::ChecksumUnavailable`](crate::S3Error::ChecksumUnavailable) |
///
/// What "offered" means: a full-object checksum (any algorithm) on a GetObject that reads the
/// whole object; a part-level checksum on a GetObject of one part (`part_number`) of an object
/// with a composite checksum. The [`TransferManager`](crate::TransferManager) asks HeadObject
/// first and then verifies a full-object checksum over the parts it fetched in parallel (CRCs are
/// combined, SHA digests computed in order), or fetches a composite-checksum object part by part
/// and verifies each part. Where the store keeps no checksum (s3s-fs for multipart objects), an
/// object a `TransferManager` uploaded in parts is verified against its multipart ETag, recomputed
/// with the part size recorded in its metadata ([`PART_SIZE_METADATA`],
/// [`Verified::MultipartETag`]); single-part ETags are never used (a store whose ETag is no MD5
/// would fail good downloads).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChecksumMode {
    /// No flexible checksums: none sent, none asked for or verified. DeleteObjects still carries
    /// the `Content-MD5` that S3 requires.
    Off,
    /// Send a CRC32C header on every PutObject and on the parts of managed uploads (a plain
    /// header, which S3-compatible stores accept, unlike the AWS SDKs' 2025 streaming
    /// trailers), plus what S3 requires (DeleteObjects: `Content-MD5`); ask for and verify
    /// download checksums. UploadPart called directly sends one only when asked (its algorithm
    /// must match the upload's). Default for custom endpoints.
    WhenRequired,
    /// Also send CRC32C on every PutObject and UploadPart (unless the caller gave a checksum),
    /// and create multipart uploads with CRC32C. Default for AWS endpoints.
    WhenSupported,
    /// Like [`ChecksumMode::WhenSupported`], and a download (a whole-object GetObject, a
    /// managed download) whose data cannot be verified fails with
    /// [`S3Error::ChecksumUnavailable`](crate::S3Error::ChecksumUnavailable).
    Required,
}

impl ChecksumMode {
    pub(crate) fn sends_on_upload(self) -> bool {
        matches!(self, ChecksumMode::WhenSupported | ChecksumMode::Required)
    }

    /// Whether downloads ask for checksums (`x-amz-checksum-mode: ENABLED`) and verify them.
    pub(crate) fn verifies(self) -> bool {
        !matches!(self, ChecksumMode::Off)
    }
}

/// A flexible checksum algorithm.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChecksumAlgorithm {
    /// CRC32C (Castagnoli), the client's default: hardware-accelerated and a full-object
    /// checksum for multipart uploads too.
    Crc32c,
    /// SHA-256.
    Sha256,
    /// SHA-1 (verified on download; accepted for uploads).
    Sha1,
    /// CRC32 (IEEE).
    Crc32,
    /// CRC64/NVME, S3's default full-object checksum since 2025.
    Crc64Nvme,
}

impl ChecksumAlgorithm {
    /// The name S3 uses (`CRC32C`, `SHA256`, `SHA1`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32c => "CRC32C",
            ChecksumAlgorithm::Sha256 => "SHA256",
            ChecksumAlgorithm::Sha1 => "SHA1",
            ChecksumAlgorithm::Crc32 => "CRC32",
            ChecksumAlgorithm::Crc64Nvme => "CRC64NVME",
        }
    }

    /// The header carrying the value (`x-amz-checksum-crc32c`, …).
    pub fn header(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Crc32c => "x-amz-checksum-crc32c",
            ChecksumAlgorithm::Sha256 => "x-amz-checksum-sha256",
            ChecksumAlgorithm::Sha1 => "x-amz-checksum-sha1",
            ChecksumAlgorithm::Crc32 => "x-amz-checksum-crc32",
            ChecksumAlgorithm::Crc64Nvme => "x-amz-checksum-crc64nvme",
        }
    }

    /// Computes the base64 checksum of `data`.
    pub fn checksum(self, data: &[u8]) -> String {
        let mut h = Hasher::new(self);
        h.update(data);
        h.finish_base64()
    }
}

impl fmt::Display for ChecksumAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An incremental checksum of one [`ChecksumAlgorithm`]; it is the [`RunningChecksum`] that
/// [`cloudkit_core::verify_stream`] runs over downloads.
pub(crate) enum Hasher {
    Crc32c(u32),
    Sha256(Box<sha2::Sha256>),
    Sha1(Box<sha1::Sha1>),
    Crc32(u32),
    /// SIMD-accelerated (PCLMULQDQ / PMULL, detected at run time; a table elsewhere).
    Crc64Nvme(crc64fast_nvme::Digest),
}

impl Hasher {
    pub(crate) fn new(algorithm: ChecksumAlgorithm) -> Self {
        match algorithm {
            ChecksumAlgorithm::Crc32c => Hasher::Crc32c(0),
            ChecksumAlgorithm::Sha256 => Hasher::Sha256(Box::default()),
            ChecksumAlgorithm::Sha1 => Hasher::Sha1(Box::default()),
            ChecksumAlgorithm::Crc32 => Hasher::Crc32(!0),
            ChecksumAlgorithm::Crc64Nvme => Hasher::Crc64Nvme(crc64fast_nvme::Digest::new()),
        }
    }

    /// The CRC of the bytes so far (finalized), for [`Hasher::combine`]; `None` for SHA digests.
    pub(crate) fn crc(&self) -> Option<u64> {
        match self {
            Hasher::Crc32c(c) => Some(u64::from(*c)),
            Hasher::Crc32(c) => Some(u64::from(!*c)),
            Hasher::Crc64Nvme(d) => Some(d.sum64()),
            Hasher::Sha256(_) | Hasher::Sha1(_) => None,
        }
    }

    fn finish_base64(self) -> String {
        match self {
            Hasher::Crc32c(c) => B64.encode(c.to_be_bytes()),
            Hasher::Sha256(h) => B64.encode(h.finalize()),
            Hasher::Sha1(h) => B64.encode(sha1::Digest::finalize(*h)),
            Hasher::Crc32(c) => B64.encode((!c).to_be_bytes()),
            Hasher::Crc64Nvme(d) => B64.encode(d.sum64().to_be_bytes()),
        }
    }
}

impl RunningChecksum for Hasher {
    fn algorithm(&self) -> &'static str {
        match self {
            Hasher::Crc32c(_) => ChecksumAlgorithm::Crc32c,
            Hasher::Sha256(_) => ChecksumAlgorithm::Sha256,
            Hasher::Sha1(_) => ChecksumAlgorithm::Sha1,
            Hasher::Crc32(_) => ChecksumAlgorithm::Crc32,
            Hasher::Crc64Nvme(_) => ChecksumAlgorithm::Crc64Nvme,
        }
        .as_str()
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Crc32c(c) => *c = crc32c::crc32c_append(*c, data),
            Hasher::Sha256(h) => h.update(data),
            Hasher::Sha1(h) => sha1::Digest::update(h.as_mut(), data),
            Hasher::Crc32(c) => *c = crate::crc_tables::crc32_update(*c, data),
            Hasher::Crc64Nvme(d) => d.write(data),
        }
    }

    fn finish(self: Box<Self>) -> String {
        self.finish_base64()
    }
}

/// The base64 checksum (`checksum`: a [`Hasher`] or core's [`Md5`](cloudkit_core::Md5)) of a
/// request body; a file body is streamed from disk, never buffered.
pub(crate) async fn body_checksum(body: &Body, mut checksum: Box<dyn RunningChecksum>) -> std::io::Result<String> {
    match body {
        Body::Empty => {}
        Body::Bytes(b) => checksum.update(b),
        Body::File(region) => {
            let mut stream = region.stream().await?;
            while let Some(chunk) = stream.next().await {
                checksum.update(&chunk?);
            }
        }
    }
    Ok(checksum.finish())
}

/// The algorithms in the order a checksum is picked when a response carries several.
const PREFERENCE: [ChecksumAlgorithm; 5] = [
    ChecksumAlgorithm::Crc64Nvme,
    ChecksumAlgorithm::Crc32c,
    ChecksumAlgorithm::Crc32,
    ChecksumAlgorithm::Sha256,
    ChecksumAlgorithm::Sha1,
];

/// The CRC of `a ‖ b` from the CRCs of `a` and `b` and the length of `b` (see
/// [`crc_combine`](crate::crc_tables::crc_combine)); `None` for SHA digests.
pub(crate) fn combine_crc(algorithm: ChecksumAlgorithm, crc_a: u64, crc_b: u64, len_b: u64) -> Option<u64> {
    use crate::crc_tables::{CRC32_POLY, CRC32C_POLY, CRC64NVME_POLY, crc_combine};
    match algorithm {
        ChecksumAlgorithm::Crc32c => Some(crc_combine(CRC32C_POLY, 32, crc_a, crc_b, len_b)),
        ChecksumAlgorithm::Crc32 => Some(crc_combine(CRC32_POLY, 32, crc_a, crc_b, len_b)),
        ChecksumAlgorithm::Crc64Nvme => Some(crc_combine(CRC64NVME_POLY, 64, crc_a, crc_b, len_b)),
        ChecksumAlgorithm::Sha256 | ChecksumAlgorithm::Sha1 => None,
    }
}

/// A CRC value as S3 writes it (base64 of the big-endian bytes).
pub(crate) fn crc_base64(algorithm: ChecksumAlgorithm, crc: u64) -> String {
    match algorithm {
        ChecksumAlgorithm::Crc64Nvme => B64.encode(crc.to_be_bytes()),
        _ => B64.encode((crc as u32).to_be_bytes()),
    }
}

fn checksum_type(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-amz-checksum-type").and_then(|v| v.to_str().ok())
}

/// Whether an ETag is a multipart upload's (`"<md5 of the parts' md5s>-<parts>"`).
fn is_multipart_e_tag(e_tag: Option<&str>) -> bool {
    e_tag.and_then(|t| t.trim_matches('"').rsplit_once('-')).is_some_and(|(_, n)| n.parse::<u32>().is_ok())
}

/// Whether a checksum value without a part count can be a checksum of the whole object's bytes:
/// `FULL_OBJECT` says so; `COMPOSITE` says it is not; without a type (older stores, moto), a
/// multipart object's value may be a composite checksum stripped of its `-N` (moto's HeadObject
/// sends it so), so only a single-PUT object's is trusted.
fn full_object_value(checksum_type: Option<&str>, e_tag: Option<&str>) -> bool {
    match checksum_type {
        Some(t) if t.eq_ignore_ascii_case("FULL_OBJECT") => true,
        Some(t) if t.eq_ignore_ascii_case("COMPOSITE") => false,
        _ => !is_multipart_e_tag(e_tag),
    }
}

/// The checksum a GetObject response carries that says something checkable about its body:
/// - a composite (multipart) object's checksum of checksums (`xxxx-3`) never does;
/// - on a read of one part (`part_request`) of an object whose checksum type is `COMPOSITE`, a
///   value without a part count is that part's own checksum (AWS; MinIO sends the object's
///   `xxxx-N` instead, which is skipped);
/// - otherwise a full-object checksum (see [`full_object_value`]) checks a body that is the
///   whole object (`covers_whole`): S3-compatible stores may send the object's checksum with a
///   ranged body.
pub(crate) fn response_checksum(
    headers: &HeaderMap,
    part_request: bool,
    covers_whole: bool,
) -> Option<(ChecksumAlgorithm, String)> {
    let kind = checksum_type(headers);
    let checkable = if kind.is_some_and(|t| t.eq_ignore_ascii_case("COMPOSITE")) {
        part_request
    } else {
        covers_whole && full_object_value(kind, headers.get("etag").and_then(|v| v.to_str().ok()))
    };
    if !checkable {
        return None;
    }
    PREFERENCE.into_iter().find_map(|a| {
        let v = headers.get(a.header())?.to_str().ok()?;
        (!v.contains('-') && !v.is_empty()).then(|| (a, v.to_owned()))
    })
}

/// The checksum an object was stored with, as HeadObject reports it (with
/// `x-amz-checksum-mode: ENABLED`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum StoredChecksum {
    /// A checksum of the whole object's bytes (a single PUT, or a multipart upload with a
    /// `FULL_OBJECT` CRC).
    Full(ChecksumAlgorithm, String),
    /// A checksum of the parts' checksums (`xxxx-N`): each of the `parts` parts has its own.
    Composite(ChecksumAlgorithm, u32),
    /// Nothing usable.
    None,
}

/// What HeadObject says about the object's checksum.
pub(crate) fn stored_checksum(metadata: &crate::types::ObjectMetadata) -> StoredChecksum {
    let full = full_object_value(metadata.checksum_type.as_deref(), metadata.e_tag.as_deref());
    for a in PREFERENCE {
        let value = match a {
            ChecksumAlgorithm::Crc64Nvme => &metadata.checksum_crc64nvme,
            ChecksumAlgorithm::Crc32c => &metadata.checksum_crc32c,
            ChecksumAlgorithm::Crc32 => &metadata.checksum_crc32,
            ChecksumAlgorithm::Sha256 => &metadata.checksum_sha256,
            ChecksumAlgorithm::Sha1 => &metadata.checksum_sha1,
        };
        let Some(value) = value.as_deref().filter(|v| !v.is_empty()) else { continue };
        return match value.rsplit_once('-') {
            Some((_, parts)) => match parts.parse::<u32>() {
                Ok(n) if (1..=crate::MAX_PART_NUMBER).contains(&n) => StoredChecksum::Composite(a, n),
                _ => StoredChecksum::None,
            },
            None if full => StoredChecksum::Full(a, value.to_owned()),
            // Not (known to be) a checksum of the bytes.
            None => StoredChecksum::None,
        };
    }
    StoredChecksum::None
}

/// Wraps a download so the checksum is checked when the last byte has arrived (a mismatch ends
/// the stream with a [`ChecksumMismatchError`](cloudkit_core::ChecksumMismatchError) as the
/// source of the error).
pub(crate) fn verifying(body: ByteStream, algorithm: ChecksumAlgorithm, expected: String) -> ByteStream {
    cloudkit_core::verify_stream(body, Box::new(Hasher::new(algorithm)), expected)
}

/// The kind of checksum a multipart upload is created with (`x-amz-checksum-type`); see
/// [`CreateMultipartUpload::checksum_type`](crate::CreateMultipartUpload::checksum_type).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChecksumType {
    /// One checksum of the whole object's bytes, as if it had been uploaded in one PUT
    /// (`FULL_OBJECT`): CRC32, CRC32C and CRC64NVME only (AWS, since 2025). Downloads verify it
    /// over any byte ranges (the CRCs of the ranges are combined).
    FullObject,
    /// A checksum of the parts' checksums, `<value>-<parts>` (`COMPOSITE`, S3's default for
    /// CRC32, CRC32C, SHA-1 and SHA-256): verifiable only part by part, on services that serve
    /// parts by number with their checksums.
    Composite,
}

impl ChecksumType {
    /// The header value (`FULL_OBJECT`, `COMPOSITE`).
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumType::FullObject => "FULL_OBJECT",
            ChecksumType::Composite => "COMPOSITE",
        }
    }
}

impl fmt::Display for ChecksumType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a download's bytes were verified against ([`GetObjectOutput::checksum_verified`],
/// [`DownloadOutput::checksum_verified`]).
///
/// [`GetObjectOutput::checksum_verified`]: crate::GetObjectOutput::checksum_verified
/// [`DownloadOutput::checksum_verified`]: crate::DownloadOutput::checksum_verified
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verified {
    /// A flexible checksum the object was stored with: its full-object checksum, or the
    /// checksum of every part of an object with a composite checksum.
    Checksum(ChecksumAlgorithm),
    /// The multipart ETag (`"<md5 of the parts' MD5s>-<parts>"`), recomputed from the bytes:
    /// for objects the store keeps no checksum of (s3s-fs, other S3-compatible stores) that a
    /// [`TransferManager`](crate::TransferManager) uploaded in parts, recording the part size in
    /// the object's metadata ([`PART_SIZE_METADATA`]); see the crate docs. A mismatch is
    /// [`S3Error::ChecksumMismatch`](crate::S3Error::ChecksumMismatch) with algorithm `MD5`.
    MultipartETag,
}

impl Verified {
    /// The flexible checksum algorithm, for [`Verified::Checksum`].
    pub fn algorithm(self) -> Option<ChecksumAlgorithm> {
        match self {
            Verified::Checksum(a) => Some(a),
            Verified::MultipartETag => None,
        }
    }
}

/// The user metadata entry (`x-amz-meta-cloudkit-part-size`) in which the
/// [`TransferManager`](crate::TransferManager) records the part size of every multipart upload
/// it makes (all parts but the last have exactly that many bytes). With it, a download can
/// recompute the object's multipart ETag from the bytes where the store keeps no checksum (see
/// [`Verified::MultipartETag`]). The name is reserved: a value the caller sets under it is
/// replaced on managed multipart uploads.
pub const PART_SIZE_METADATA: &str = "cloudkit-part-size";

/// The multipart ETag of the bytes fed, for `part_size`-byte parts: the MD5 of every part,
/// then the MD5 of those digests, as lowercase hex followed by `-<parts>` (what S3 and
/// S3-compatible stores give a multipart object without SSE-KMS / SSE-C). An empty input is one
/// empty part.
pub(crate) struct MultipartETag {
    part_size: u64,
    in_part: u64,
    part: cloudkit_core::Md5,
    md5s: Vec<u8>,
    parts: u32,
}

impl MultipartETag {
    pub(crate) fn new(part_size: u64) -> Self {
        Self {
            part_size: part_size.max(1),
            in_part: 0,
            part: cloudkit_core::Md5::default(),
            md5s: Vec::new(),
            parts: 0,
        }
    }

    fn end_part(&mut self) {
        let part = std::mem::take(&mut self.part);
        // Core's MD5 finishes as base64; 16 bytes always decode.
        self.md5s.extend(B64.decode(part.finish_base64()).unwrap_or_default());
        self.in_part = 0;
        self.parts = self.parts.saturating_add(1);
    }
}

impl RunningChecksum for MultipartETag {
    fn algorithm(&self) -> &'static str {
        "MD5"
    }

    fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = self.part_size - self.in_part;
            let n = usize::try_from(room).unwrap_or(usize::MAX).min(data.len());
            let (now, rest) = data.split_at(n);
            self.part.update(now);
            self.in_part += n as u64;
            data = rest;
            if self.in_part == self.part_size {
                self.end_part();
            }
        }
    }

    fn finish(mut self: Box<Self>) -> String {
        if self.in_part > 0 || self.parts == 0 {
            self.end_part();
        }
        multipart_e_tag_of_binary_md5s(&self.md5s, self.parts)
    }
}

/// The multipart ETag of `parts` parts whose binary MD5s are `md5s`, one after another.
fn multipart_e_tag_of_binary_md5s(md5s: &[u8], parts: u32) -> String {
    let mut md5 = cloudkit_core::Md5::default();
    md5.update(md5s);
    let digest = B64.decode(md5.finish_base64()).unwrap_or_default();
    format!("{}-{parts}", hex(&digest))
}

/// The multipart ETag of parts whose MD5s (base64, as [`cloudkit_core::Md5`] finishes) are
/// `md5s`, in order.
pub(crate) fn multipart_e_tag_of_md5s(md5s: &[&str]) -> String {
    let mut binary = Vec::with_capacity(md5s.len() * 16);
    for m in md5s {
        binary.extend(B64.decode(m).unwrap_or_default());
    }
    multipart_e_tag_of_binary_md5s(&binary, u32::try_from(md5s.len()).unwrap_or(u32::MAX))
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// The multipart ETag of `parts` whose ETags are MD5s (S3's, without SSE-KMS / SSE-C): the MD5
/// of the parts' binary MD5s, `-` the number of parts; `None` when an ETag is not 32 hex digits.
pub(crate) fn multipart_e_tag_of(part_e_tags: &[&str]) -> Option<String> {
    let mut md5s = Vec::with_capacity(part_e_tags.len() * 16);
    for t in part_e_tags {
        let hex = t.trim_matches('"');
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        for i in (0..32).step_by(2) {
            md5s.push(u8::from_str_radix(hex.get(i..i + 2)?, 16).ok()?);
        }
    }
    let digest = B64.decode(cloudkit_core::md5_base64(&md5s)).ok()?;
    Some(format!("{}-{}", hex(&digest), part_e_tags.len()))
}

/// How a multipart ETag can be checked: the part size the upload used and the ETag expected
/// (lowercase hex, `-<parts>`, no quotes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ETagCheck {
    pub(crate) part_size: u64,
    pub(crate) expected: String,
}

/// Whether the ETag of an object of `size` bytes can be recomputed from its bytes exactly, and
/// how. Only when everything says the ETag is the MD5 of `part_size`-byte parts:
/// - the ETag has the multipart form (`<32 hex>-<N>`, 1 ≤ N ≤ 10,000) — single-part ETags are
///   not checked (objects of this client carry a CRC32C, and a store whose ETag is no MD5 would
///   fail good downloads);
/// - the metadata has [`PART_SIZE_METADATA`] (recorded by the `TransferManager`), a whole
///   number of bytes between the smallest and the largest S3 part, and `N` parts of that size
///   make `size` bytes;
/// - the object is not encrypted with SSE-KMS, DSSE-KMS or SSE-C (their ETags are no MD5s).
pub(crate) fn e_tag_check(metadata: &crate::types::ObjectMetadata, size: u64) -> Option<ETagCheck> {
    use crate::types::ServerSideEncryption;
    match &metadata.server_side_encryption {
        None | Some(ServerSideEncryption::Aes256) => {}
        Some(_) => return None,
    }
    if metadata.sse_customer_algorithm.is_some() {
        return None;
    }
    let e_tag = metadata.e_tag.as_deref()?.trim_matches('"');
    let (md5, parts) = e_tag.split_once('-')?;
    if md5.len() != 32 || !md5.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if parts.is_empty() || !parts.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: u64 = parts.parse().ok()?;
    if !(1..=u64::from(crate::MAX_PART_NUMBER)).contains(&parts) {
        return None;
    }
    let part_size = metadata.metadata.get(PART_SIZE_METADATA)?;
    if part_size.is_empty() || !part_size.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part_size: u64 = part_size.parse().ok()?;
    if !(crate::MIN_PART_SIZE..=crate::MAX_PART_SIZE).contains(&part_size) {
        return None;
    }
    if size.div_ceil(part_size).max(1) != parts {
        return None;
    }
    Some(ETagCheck { part_size, expected: format!("{}-{parts}", md5.to_ascii_lowercase()) })
}

/// Wraps a download of a whole object so its multipart ETag is checked when the last byte has
/// arrived (see [`e_tag_check`]).
pub(crate) fn verifying_e_tag(body: ByteStream, check: ETagCheck) -> ByteStream {
    cloudkit_core::verify_stream(body, Box::new(MultipartETag::new(check.part_size)), check.expected)
}

#[cfg(test)]
mod tests {
    use cloudkit_core::Bytes;

    use super::*;

    #[test]
    fn known_vectors() {
        // CRC32C("123456789") = 0xE3069283
        assert_eq!(ChecksumAlgorithm::Crc32c.checksum(b"123456789"), B64.encode(0xE306_9283u32.to_be_bytes()));
        assert_eq!(ChecksumAlgorithm::Crc32c.checksum(b""), "AAAAAA==");
        assert_eq!(ChecksumAlgorithm::Sha256.checksum(b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(ChecksumAlgorithm::Crc32.checksum(b"123456789"), B64.encode(0xCBF4_3926u32.to_be_bytes()));
        assert_eq!(
            ChecksumAlgorithm::Crc64Nvme.checksum(b"123456789"),
            B64.encode(0xAE8B_1486_0A79_9888u64.to_be_bytes())
        );
    }

    #[tokio::test]
    async fn bodies_are_checksummed_from_memory_and_from_disk() {
        let dir = std::env::temp_dir().join(format!("ck-s3-checksum-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("body.bin");
        std::fs::write(&path, b"xxhello worldxx").unwrap();
        let file = Body::File(cloudkit_core::FileRegion::new(&path, 2, 11));
        let crc = ChecksumAlgorithm::Crc32c.checksum(b"hello world");
        assert_eq!(body_checksum(&file, Box::new(Hasher::new(ChecksumAlgorithm::Crc32c))).await.unwrap(), crc);
        let md5 = cloudkit_core::md5_base64(b"hello world");
        assert_eq!(body_checksum(&file, Box::new(cloudkit_core::Md5::default())).await.unwrap(), md5);
        let bytes = Body::Bytes(Bytes::from_static(b"hello world"));
        assert_eq!(body_checksum(&bytes, Box::new(cloudkit_core::Md5::default())).await.unwrap(), md5);
        let empty = body_checksum(&Body::Empty, Box::new(cloudkit_core::Md5::default())).await.unwrap();
        assert_eq!(empty, "1B2M2Y8AsgTpgAmY7PhCfg==");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn verifying_stream_reports_a_mismatch() {
        let good = ChecksumAlgorithm::Crc32c.checksum(b"hello world");
        let s = ByteStream::new(futures::stream::iter(vec![
            Ok(Bytes::from_static(b"hello ")),
            Ok(Bytes::from_static(b"world")),
        ]));
        assert_eq!(&verifying(s, ChecksumAlgorithm::Crc32c, good.clone()).collect().await.unwrap()[..], b"hello world");
        let s = ByteStream::from_bytes(Bytes::from_static(b"hellO world"));
        let e = verifying(s, ChecksumAlgorithm::Crc32c, good).collect().await.unwrap_err();
        let src = std::error::Error::source(&e).unwrap();
        let mismatch = src.downcast_ref::<cloudkit_core::ChecksumMismatchError>().unwrap();
        assert_eq!(mismatch.algorithm, "CRC32C");
    }

    #[test]
    fn composite_checksums_are_not_verified() {
        let mut h = HeaderMap::new();
        h.insert("x-amz-checksum-crc32c", "abcd-3".parse().unwrap());
        assert!(response_checksum(&h, false, true).is_none());
        assert!(response_checksum(&h, true, false).is_none());
        h.insert("x-amz-checksum-crc32c", "yZRlqg==".parse().unwrap());
        assert_eq!(response_checksum(&h, false, true).unwrap().0, ChecksumAlgorithm::Crc32c);
        // a ranged body is not the object the full-object checksum is about
        assert!(response_checksum(&h, false, false).is_none());
        h.insert("x-amz-checksum-type", "COMPOSITE".parse().unwrap());
        assert!(response_checksum(&h, false, true).is_none());
        // … but a part read of a composite object carries the part's own checksum
        assert_eq!(response_checksum(&h, true, false).unwrap().0, ChecksumAlgorithm::Crc32c);
    }

    #[test]
    fn stored_checksums_from_head_object() {
        let mut m = crate::types::ObjectMetadata::default();
        assert_eq!(stored_checksum(&m), StoredChecksum::None);
        m.checksum_crc32c = Some("yZRlqg==".into());
        assert_eq!(stored_checksum(&m), StoredChecksum::Full(ChecksumAlgorithm::Crc32c, "yZRlqg==".into()));
        m.checksum_crc64nvme = Some("AAAAAAAAAAA=".into());
        assert_eq!(stored_checksum(&m), StoredChecksum::Full(ChecksumAlgorithm::Crc64Nvme, "AAAAAAAAAAA=".into()));
        m.checksum_crc64nvme = None;
        m.checksum_crc32c = Some("yZRlqg==-12".into());
        m.checksum_type = Some("COMPOSITE".into());
        assert_eq!(stored_checksum(&m), StoredChecksum::Composite(ChecksumAlgorithm::Crc32c, 12));
        m.checksum_crc32c = Some("yZRlqg==".into());
        assert_eq!(stored_checksum(&m), StoredChecksum::None, "composite without a count says nothing");
        m.checksum_crc32c = Some("yZRlqg==-0".into());
        assert_eq!(stored_checksum(&m), StoredChecksum::None);
        // moto's HeadObject: a multipart object's composite value without its `-N`, no type
        m.checksum_type = None;
        m.checksum_crc32c = Some("yZRlqg==".into());
        m.e_tag = Some("\"9b2cf535f27731c974343645a3985328-3\"".into());
        assert_eq!(stored_checksum(&m), StoredChecksum::None);
        m.checksum_type = Some("FULL_OBJECT".into());
        assert_eq!(stored_checksum(&m), StoredChecksum::Full(ChecksumAlgorithm::Crc32c, "yZRlqg==".into()));
        m.checksum_type = None;
        m.e_tag = Some("\"9b2cf535f27731c974343645a3985328\"".into());
        assert_eq!(stored_checksum(&m), StoredChecksum::Full(ChecksumAlgorithm::Crc32c, "yZRlqg==".into()));
    }

    /// The multipart ETag S3 gives `data` uploaded in `part`-byte parts, computed independently
    /// of [`MultipartETag`]: one MD5 per part, then the MD5 of the binary digests.
    fn s3_e_tag(data: &[u8], part: usize) -> String {
        let mut md5s = Vec::new();
        let chunks: Vec<&[u8]> = if data.is_empty() { vec![data] } else { data.chunks(part).collect() };
        for c in &chunks {
            md5s.extend(B64.decode(cloudkit_core::md5_base64(c)).unwrap());
        }
        let digest = B64.decode(cloudkit_core::md5_base64(&md5s)).unwrap();
        format!("{}-{}", hex(&digest), chunks.len())
    }

    #[test]
    fn multipart_e_tags_are_recomputed_in_any_chunking() {
        let data: Vec<u8> = (0..25_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 9) as u8).collect();
        for (len, part) in [(25_000, 10_000), (20_000, 10_000), (1, 10_000), (0, 10_000), (25_000, 7)] {
            let data = &data[..len];
            for feed in [1, 999, 10_000, 30_000] {
                let mut h = Box::new(MultipartETag::new(part as u64));
                for c in data.chunks(feed) {
                    h.update(c);
                }
                assert_eq!(h.finish(), s3_e_tag(data, part), "len {len} part {part} feed {feed}");
            }
        }
        // The ETags of the parts give the same value (what a completion retried after it
        // succeeded compares with).
        let parts: Vec<String> = data
            .chunks(10_000)
            .map(|c| format!("\"{}\"", hex(&B64.decode(cloudkit_core::md5_base64(c)).unwrap())))
            .collect();
        let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
        assert_eq!(multipart_e_tag_of(&parts).unwrap(), s3_e_tag(&data, 10_000));
        assert_eq!(multipart_e_tag_of(&["\"not-an-md5\""]), None);
    }

    #[test]
    fn e_tags_are_checked_only_when_it_can_be_done_exactly() {
        const P: u64 = 5 << 20;
        let size = 2 * P + 1000;
        let mut m = crate::types::ObjectMetadata {
            e_tag: Some("\"9B2CF535F27731C974343645A3985328-3\"".into()),
            ..Default::default()
        };
        m.metadata.insert(PART_SIZE_METADATA.into(), P.to_string());
        let check = e_tag_check(&m, size).unwrap();
        assert_eq!(check, ETagCheck { part_size: P, expected: "9b2cf535f27731c974343645a3985328-3".into() });
        // SSE-S3 ETags are MD5s too.
        m.server_side_encryption = Some(crate::ServerSideEncryption::Aes256);
        assert!(e_tag_check(&m, size).is_some());
        // Not an MD5: SSE-KMS, DSSE-KMS, SSE-C, an encryption this client does not know.
        for sse in [
            crate::ServerSideEncryption::AwsKms,
            crate::ServerSideEncryption::AwsKmsDsse,
            crate::ServerSideEncryption::Other("x".into()),
        ] {
            m.server_side_encryption = Some(sse);
            assert_eq!(e_tag_check(&m, size), None);
        }
        m.server_side_encryption = None;
        m.sse_customer_algorithm = Some("AES256".into());
        assert_eq!(e_tag_check(&m, size), None);
        m.sse_customer_algorithm = None;
        // The part count must be what the recorded part size gives for the size.
        assert_eq!(e_tag_check(&m, 2 * P), None);
        assert_eq!(e_tag_check(&m, 3 * P + 1), None);
        assert!(e_tag_check(&m, 3 * P).is_some());
        // Without the recorded part size (someone else's upload), or an implausible one: no check.
        for bad in ["", "abc", "+5242880", "1024", "5497558138881", "99999999999999999999999"] {
            m.metadata.insert(PART_SIZE_METADATA.into(), bad.into());
            assert_eq!(e_tag_check(&m, size), None, "{bad}");
        }
        m.metadata.clear();
        assert_eq!(e_tag_check(&m, size), None);
        m.metadata.insert(PART_SIZE_METADATA.into(), P.to_string());
        // Single-part ETags and other forms are never checked.
        for bad in [
            "\"9b2cf535f27731c974343645a3985328\"",
            "\"9b2cf535f27731c974343645a3985328-0\"",
            "\"9b2cf535f27731c974343645a3985328-10001\"",
            "\"9b2cf535f27731c974343645a398532-3\"",
            "\"9b2cf535f27731c974343645a398532x-3\"",
            "\"9b2cf535f27731c974343645a3985328-+3\"",
            "W/\"9b2cf535f27731c974343645a3985328-3\"",
        ] {
            m.e_tag = Some(bad.into());
            assert_eq!(e_tag_check(&m, size), None, "{bad}");
        }
        m.e_tag = None;
        assert_eq!(e_tag_check(&m, size), None);
        // An empty object uploaded as one empty part.
        m.e_tag = Some("\"9b2cf535f27731c974343645a3985328-1\"".into());
        assert!(e_tag_check(&m, 0).is_some());
    }

    #[tokio::test]
    async fn verifying_e_tags_reports_md5_mismatches() {
        const P: usize = 5 << 20;
        let data: Vec<u8> = (0..(P + 1000) as u32).map(|i| (i >> 3) as u8).collect();
        let check = ETagCheck { part_size: P as u64, expected: s3_e_tag(&data, P) };
        let body = ByteStream::from_bytes(Bytes::from(data.clone()));
        assert!(verifying_e_tag(body, check.clone()).collect().await.unwrap() == data);
        let mut corrupt = data.clone();
        corrupt[P + 10] ^= 0x20;
        let e = verifying_e_tag(ByteStream::from_bytes(Bytes::from(corrupt)), check).collect().await.unwrap_err();
        let src = std::error::Error::source(&e).unwrap();
        let mismatch = src.downcast_ref::<cloudkit_core::ChecksumMismatchError>().unwrap();
        assert_eq!(mismatch.algorithm, "MD5");
        assert!(mismatch.actual.ends_with("-2"), "{}", mismatch.actual);
    }
}
