//! Shared access signatures: service SAS (blob / container), account SAS and user-delegation SAS,
//! and a [`Sign`] step that appends a SAS to every request.

use std::fmt;
use std::time::SystemTime;

use async_trait::async_trait;
use azure_core::credentials::Secret;
use cloudkit_core::{HttpRequest, Sign, SignError, Url};

use super::key::hmac_base64;
use super::{AccountKey, AzureSignError, STORAGE_API_VERSION};

/// Formats a time the way SAS fields carry it: `2026-01-02T03:04:05Z` (UTC, whole seconds).
pub fn format_sas_time(t: SystemTime) -> String {
    cloudkit_core::internal::date::format_rfc3339(t).unwrap_or_default()
}

/// SAS permissions. Letters are emitted in the order the service requires for the SAS kind
/// (blob: `racwdxyltmeopi`, account: `rwdxylacuptfi`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct SasPermissions {
    bits: u32,
}

const ALL_LETTERS: &str = "racwdxyltmeopiuf";
const BLOB_ORDER: &str = "racwdxyltmeopi";
const ACCOUNT_ORDER: &str = "rwdxylacuptfi";

impl SasPermissions {
    /// No permission.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parses letters (`"rw"`, `"racwdl"`); unknown letters are an error.
    pub fn parse(letters: &str) -> Result<Self, AzureSignError> {
        let mut p = Self::default();
        for c in letters.chars() {
            p = p.with(c)?;
        }
        Ok(p)
    }

    fn with(mut self, c: char) -> Result<Self, AzureSignError> {
        let i = ALL_LETTERS
            .find(c)
            .ok_or_else(|| AzureSignError::InvalidSas(format!("unknown permission letter {c:?}")))?;
        self.bits |= 1 << i;
        Ok(self)
    }

    fn flag(mut self, c: char) -> Self {
        if let Some(i) = ALL_LETTERS.find(c) {
            self.bits |= 1 << i;
        }
        self
    }

    /// `r`: read.
    pub fn read(self) -> Self {
        self.flag('r')
    }
    /// `a`: add (append blocks).
    pub fn add(self) -> Self {
        self.flag('a')
    }
    /// `c`: create.
    pub fn create(self) -> Self {
        self.flag('c')
    }
    /// `w`: write.
    pub fn write(self) -> Self {
        self.flag('w')
    }
    /// `d`: delete.
    pub fn delete(self) -> Self {
        self.flag('d')
    }
    /// `l`: list.
    pub fn list(self) -> Self {
        self.flag('l')
    }
    /// `t`: tags.
    pub fn tag(self) -> Self {
        self.flag('t')
    }

    fn render(self, order: &str) -> String {
        order.chars().filter(|c| ALL_LETTERS.find(*c).is_some_and(|i| self.bits & (1 << i) != 0)).collect()
    }

    /// The letters in blob/container SAS order.
    pub fn blob_string(self) -> String {
        self.render(BLOB_ORDER)
    }

    /// The letters in account SAS order.
    pub fn account_string(self) -> String {
        self.render(ACCOUNT_ORDER)
    }

    /// Whether no permission is set.
    pub fn is_empty(self) -> bool {
        self.bits == 0
    }
}

/// `spr`: which protocols the SAS allows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum SasProtocol {
    /// `https` only.
    Https,
    /// `https,http` (needed for Azurite over plain http).
    #[default]
    HttpsAndHttp,
}

impl SasProtocol {
    fn as_str(self) -> &'static str {
        match self {
            SasProtocol::Https => "https",
            SasProtocol::HttpsAndHttp => "https,http",
        }
    }
}

/// `sr`: what a service SAS grants access to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BlobSasResource {
    /// `c`: a container (and its blobs).
    Container,
    /// `b`: one blob.
    Blob(String),
}

/// A generated SAS: the query string to append to a URL. `Debug` hides the signature.
#[derive(Clone, PartialEq, Eq)]
pub struct SasToken {
    query: String,
}

impl SasToken {
    /// A SAS given as text (e.g. from a connection string's `SharedAccessSignature`); a leading
    /// `?` is removed.
    pub fn from_query(query: impl Into<String>) -> Self {
        let q: String = query.into();
        Self { query: q.trim_start_matches('?').to_owned() }
    }

    /// The query string (without `?`). It contains the signature: treat it as a secret.
    pub fn as_query(&self) -> &str {
        &self.query
    }

    /// `url` with this SAS appended to its query.
    pub fn apply_to(&self, url: &Url) -> Url {
        let mut out = url.clone();
        let merged = match url.query() {
            Some(q) if !q.is_empty() => format!("{q}&{}", self.query),
            _ => self.query.clone(),
        };
        out.set_query(Some(&merged));
        out
    }
}

impl fmt::Debug for SasToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: Vec<&str> = self.query.split('&').filter(|p| !p.starts_with("sig=")).collect();
        write!(f, "SasToken({}&sig=** redacted **)", shown.join("&"))
    }
}

/// The query of a SAS: `k=v` pairs, values RFC 3986-encoded, empty values left out.
struct QueryBuilder(Vec<String>);

impl QueryBuilder {
    fn push(&mut self, k: &str, v: &str) {
        if !v.is_empty() {
            self.0.push(format!("{k}={}", cloudkit_core::encode_unreserved(v)));
        }
    }
    fn finish(self) -> SasToken {
        SasToken { query: self.0.join("&") }
    }
}

/// The fields every kind of SAS signs: validity window, IP range, protocol and signed version.
#[derive(Clone, Debug)]
struct SasCommon {
    start: Option<SystemTime>,
    expiry: SystemTime,
    ip: Option<String>,
    protocol: Option<SasProtocol>,
    version: String,
}

impl SasCommon {
    fn new(expiry: SystemTime) -> Self {
        Self { start: None, expiry, ip: None, protocol: None, version: STORAGE_API_VERSION.to_owned() }
    }
    fn st(&self) -> String {
        self.start.map(format_sas_time).unwrap_or_default()
    }
    fn se(&self) -> String {
        format_sas_time(self.expiry)
    }
    fn sip(&self) -> &str {
        self.ip.as_deref().unwrap_or("")
    }
    fn spr(&self) -> &str {
        self.protocol.map(SasProtocol::as_str).unwrap_or("")
    }
    /// Versions before 2020-12-06 sign another layout, which this signer does not implement.
    fn check_version(&self) -> Result<(), AzureSignError> {
        if self.version.as_str() < "2020-12-06" {
            return Err(AzureSignError::InvalidSas(format!(
                "signed version {} is older than 2020-12-06, the layout this signer implements",
                self.version
            )));
        }
        Ok(())
    }
}

/// The setters of the [`SasCommon`] fields, the same on every SAS builder.
macro_rules! common_setters {
    () => {
        /// `st`: not valid before.
        pub fn start(mut self, start: SystemTime) -> Self {
            self.common.start = Some(start);
            self
        }
        /// `sip`: an IP or range (`168.1.5.60-168.1.5.70`).
        pub fn ip(mut self, ip: impl Into<String>) -> Self {
            self.common.ip = Some(ip.into());
            self
        }
        /// `spr`: the protocols allowed.
        pub fn protocol(mut self, protocol: SasProtocol) -> Self {
            self.common.protocol = Some(protocol);
            self
        }
        /// `sv` (default [`STORAGE_API_VERSION`]; this signer implements the 2020-12-06+ layout).
        pub fn version(mut self, version: impl Into<String>) -> Self {
            self.common.version = version.into();
            self
        }
    };
}

/// A user delegation key, as returned by `Get User Delegation Key` (Entra-authenticated).
#[derive(Clone)]
pub struct UserDelegationKey {
    /// `skoid`: the object id of the principal.
    pub signed_oid: String,
    /// `sktid`: the tenant.
    pub signed_tid: String,
    /// `skt`: key start (as returned, `YYYY-MM-DDThh:mm:ssZ`).
    pub signed_start: String,
    /// `ske`: key expiry.
    pub signed_expiry: String,
    /// `sks`: the service (`b`).
    pub signed_service: String,
    /// `skv`: the version the key was issued under.
    pub signed_version: String,
    /// The base64 key value.
    pub value: Secret,
}

impl fmt::Debug for UserDelegationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserDelegationKey")
            .field("signed_oid", &self.signed_oid)
            .field("signed_tid", &self.signed_tid)
            .field("signed_start", &self.signed_start)
            .field("signed_expiry", &self.signed_expiry)
            .field("signed_service", &self.signed_service)
            .field("signed_version", &self.signed_version)
            .field("value", &"** redacted **")
            .finish()
    }
}

/// A service SAS for a container or a blob, signed with the account key
/// ([`BlobSas::sign`]) or a user delegation key ([`BlobSas::sign_user_delegation`]).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use cloudkit_signer::azure::{AccountKey, BlobSas, SasPermissions, DEVELOPMENT_ACCOUNT, DEVELOPMENT_ACCOUNT_KEY};
/// let key = AccountKey::new(DEVELOPMENT_ACCOUNT, DEVELOPMENT_ACCOUNT_KEY).unwrap();
/// let sas = BlobSas::blob("photos", "cat.jpg", SasPermissions::none().read(), SystemTime::now() + Duration::from_secs(3600))
///     .sign(&key)
///     .unwrap();
/// assert!(sas.as_query().contains("sp=r") && sas.as_query().contains("sr=b"));
/// ```
#[derive(Clone, Debug)]
pub struct BlobSas {
    container: String,
    resource: BlobSasResource,
    permissions: SasPermissions,
    common: SasCommon,
    identifier: Option<String>,
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    content_type: Option<String>,
}

impl BlobSas {
    /// A SAS for one blob.
    pub fn blob(
        container: impl Into<String>,
        blob: impl Into<String>,
        permissions: SasPermissions,
        expiry: SystemTime,
    ) -> Self {
        Self::new(container.into(), BlobSasResource::Blob(blob.into()), permissions, expiry)
    }

    /// A SAS for a container (and every blob in it).
    pub fn container(container: impl Into<String>, permissions: SasPermissions, expiry: SystemTime) -> Self {
        Self::new(container.into(), BlobSasResource::Container, permissions, expiry)
    }

    fn new(container: String, resource: BlobSasResource, permissions: SasPermissions, expiry: SystemTime) -> Self {
        Self {
            container,
            resource,
            permissions,
            common: SasCommon::new(expiry),
            identifier: None,
            cache_control: None,
            content_disposition: None,
            content_encoding: None,
            content_language: None,
            content_type: None,
        }
    }

    common_setters!();
    /// `si`: a stored access policy.
    pub fn identifier(mut self, id: impl Into<String>) -> Self {
        self.identifier = Some(id.into());
        self
    }
    /// `rscc`: Cache-Control of responses.
    pub fn cache_control(mut self, v: impl Into<String>) -> Self {
        self.cache_control = Some(v.into());
        self
    }
    /// `rscd`: Content-Disposition of responses.
    pub fn content_disposition(mut self, v: impl Into<String>) -> Self {
        self.content_disposition = Some(v.into());
        self
    }
    /// `rsce`: Content-Encoding of responses.
    pub fn content_encoding(mut self, v: impl Into<String>) -> Self {
        self.content_encoding = Some(v.into());
        self
    }
    /// `rscl`: Content-Language of responses.
    pub fn content_language(mut self, v: impl Into<String>) -> Self {
        self.content_language = Some(v.into());
        self
    }
    /// `rsct`: Content-Type of responses.
    pub fn content_type(mut self, v: impl Into<String>) -> Self {
        self.content_type = Some(v.into());
        self
    }

    fn check(&self) -> Result<(), AzureSignError> {
        self.common.check_version()?;
        if self.permissions.is_empty() && self.identifier.is_none() {
            return Err(AzureSignError::InvalidSas("a SAS without a stored policy needs permissions".into()));
        }
        if self.container.is_empty() {
            return Err(AzureSignError::InvalidSas("the container name is empty".into()));
        }
        Ok(())
    }

    fn sr(&self) -> &'static str {
        match self.resource {
            BlobSasResource::Container => "c",
            BlobSasResource::Blob(_) => "b",
        }
    }

    fn canonical(&self, account: &str) -> String {
        match &self.resource {
            BlobSasResource::Container => format!("/blob/{account}/{}", self.container),
            BlobSasResource::Blob(b) => format!("/blob/{account}/{}/{b}", self.container),
        }
    }

    fn o(v: &Option<String>) -> &str {
        v.as_deref().unwrap_or("")
    }

    /// The fields of a service SAS string-to-sign: the permissions, validity and resource, then
    /// what the signing key adds (`key_fields`), then IP, protocol, version, resource kind and the
    /// response headers.
    fn fields_to_sign(&self, account: &str, key_fields: &[&str]) -> String {
        let c = &self.common;
        let head = [self.permissions.blob_string(), c.st(), c.se(), self.canonical(account)];
        let tail = [
            c.sip(),
            c.spr(),
            &c.version,
            self.sr(),
            "", // snapshot / version time
            "", // encryption scope
            Self::o(&self.cache_control),
            Self::o(&self.content_disposition),
            Self::o(&self.content_encoding),
            Self::o(&self.content_language),
            Self::o(&self.content_type),
        ];
        head.iter().map(String::as_str).chain(key_fields.iter().copied()).chain(tail).collect::<Vec<_>>().join("\n")
    }

    /// The string-to-sign of a service SAS signed with the account key (sv 2020-12-06+).
    pub fn string_to_sign(&self, account: &str) -> String {
        self.fields_to_sign(account, &[Self::o(&self.identifier)])
    }

    /// Signs with the account key.
    pub fn sign(&self, key: &AccountKey) -> Result<SasToken, AzureSignError> {
        self.check()?;
        let sig = key.sign(&self.string_to_sign(key.account()))?;
        Ok(self.token(None, &sig))
    }

    /// The string-to-sign of a user delegation SAS (sv 2025-07-05+ layout: 26 fields).
    pub fn user_delegation_string_to_sign(&self, account: &str, udk: &UserDelegationKey) -> String {
        self.fields_to_sign(
            account,
            &[
                &udk.signed_oid,
                &udk.signed_tid,
                &udk.signed_start,
                &udk.signed_expiry,
                &udk.signed_service,
                &udk.signed_version,
                "", // saoid
                "", // suoid
                "", // scid
                "", // skdutid
                "", // sduoid
            ],
        )
    }

    /// Signs with a user delegation key (the SAS a token credential can produce without an
    /// account key). Stored policies cannot be used with it.
    pub fn sign_user_delegation(&self, account: &str, udk: &UserDelegationKey) -> Result<SasToken, AzureSignError> {
        self.check()?;
        if self.identifier.is_some() {
            return Err(AzureSignError::InvalidSas("user delegation SAS cannot use a stored access policy".into()));
        }
        let version = self.common.version.as_str();
        if !("2025-07-05".."2026-04-06").contains(&version) {
            return Err(AzureSignError::InvalidSas(format!(
                "user delegation SAS: this signer implements the 2025-07-05..2026-04-06 layout, not {version}"
            )));
        }
        let sig = hmac_base64(&self.user_delegation_string_to_sign(account, udk), &udk.value)?;
        Ok(self.token(Some(udk), &sig))
    }

    fn token(&self, udk: Option<&UserDelegationKey>, sig: &str) -> SasToken {
        let c = &self.common;
        let mut q = QueryBuilder(Vec::new());
        q.push("sv", &c.version);
        q.push("st", &c.st());
        q.push("se", &c.se());
        q.push("sr", self.sr());
        q.push("sp", &self.permissions.blob_string());
        q.push("sip", c.sip());
        q.push("spr", c.spr());
        q.push("si", Self::o(&self.identifier));
        if let Some(k) = udk {
            q.push("skoid", &k.signed_oid);
            q.push("sktid", &k.signed_tid);
            q.push("skt", &k.signed_start);
            q.push("ske", &k.signed_expiry);
            q.push("sks", &k.signed_service);
            q.push("skv", &k.signed_version);
        }
        q.push("rscc", Self::o(&self.cache_control));
        q.push("rscd", Self::o(&self.content_disposition));
        q.push("rsce", Self::o(&self.content_encoding));
        q.push("rscl", Self::o(&self.content_language));
        q.push("rsct", Self::o(&self.content_type));
        q.push("sig", sig);
        q.finish()
    }
}

/// `ss`: the services an account SAS covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccountSasServices {
    /// Blob.
    pub blob: bool,
    /// File.
    pub file: bool,
    /// Queue.
    pub queue: bool,
    /// Table.
    pub table: bool,
}

impl AccountSasServices {
    /// Blob only.
    pub fn blob() -> Self {
        Self { blob: true, file: false, queue: false, table: false }
    }
    fn as_string(self) -> String {
        [(self.blob, 'b'), (self.file, 'f'), (self.queue, 'q'), (self.table, 't')]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| *c)
            .collect()
    }
}

/// `srt`: the resource types an account SAS covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AccountSasResourceTypes {
    /// `s`: service-level APIs (list containers, service properties).
    pub service: bool,
    /// `c`: container-level APIs.
    pub container: bool,
    /// `o`: object-level APIs (blobs).
    pub object: bool,
}

impl AccountSasResourceTypes {
    /// Service, container and object.
    pub fn all() -> Self {
        Self { service: true, container: true, object: true }
    }
    fn as_string(self) -> String {
        [(self.service, 's'), (self.container, 'c'), (self.object, 'o')]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, c)| *c)
            .collect()
    }
}

/// An account SAS, signed with the account key.
#[derive(Clone, Debug)]
pub struct AccountSas {
    services: AccountSasServices,
    resource_types: AccountSasResourceTypes,
    permissions: SasPermissions,
    common: SasCommon,
}

impl AccountSas {
    /// An account SAS.
    pub fn new(
        services: AccountSasServices,
        resource_types: AccountSasResourceTypes,
        permissions: SasPermissions,
        expiry: SystemTime,
    ) -> Self {
        Self { services, resource_types, permissions, common: SasCommon::new(expiry) }
    }
    common_setters!();

    /// The string-to-sign (2020-12-06+: `acct\nsp\nss\nsrt\nst\nse\nsip\nspr\nsv\nses\n`).
    pub fn string_to_sign(&self, account: &str) -> String {
        let c = &self.common;
        [
            account,
            &self.permissions.account_string(),
            &self.services.as_string(),
            &self.resource_types.as_string(),
            &c.st(),
            &c.se(),
            c.sip(),
            c.spr(),
            &c.version,
            "", // encryption scope
            "",
        ]
        .join("\n")
    }

    /// Signs with the account key.
    pub fn sign(&self, key: &AccountKey) -> Result<SasToken, AzureSignError> {
        if self.permissions.is_empty() {
            return Err(AzureSignError::InvalidSas("an account SAS needs permissions".into()));
        }
        if self.services.as_string().is_empty() || self.resource_types.as_string().is_empty() {
            return Err(AzureSignError::InvalidSas("an account SAS needs services and resource types".into()));
        }
        let c = &self.common;
        c.check_version()?;
        let sig = key.sign(&self.string_to_sign(key.account()))?;
        let mut q = QueryBuilder(Vec::new());
        q.push("sv", &c.version);
        q.push("ss", &self.services.as_string());
        q.push("srt", &self.resource_types.as_string());
        q.push("sp", &self.permissions.account_string());
        q.push("st", &c.st());
        q.push("se", &c.se());
        q.push("sip", c.sip());
        q.push("spr", c.spr());
        q.push("sig", &sig);
        Ok(q.finish())
    }
}

/// Authorizes every request by appending a SAS to its URL (no `Authorization` header). Sets
/// `x-ms-version` and `x-ms-date` like the other signers.
#[derive(Clone, Debug)]
pub struct SasSigner {
    token: SasToken,
}

impl SasSigner {
    /// A signer that appends `token`.
    pub fn new(token: SasToken) -> Self {
        Self { token }
    }
}

#[async_trait]
impl Sign for SasSigner {
    async fn sign(&self, request: &mut HttpRequest) -> Result<(), SignError> {
        super::shared_key::set_standard_headers(request, SystemTime::now())
            .map_err(|e| SignError::Signing(Box::new(e)))?;
        request.url = self.token.apply_to(&request.url);
        Ok(())
    }
}
