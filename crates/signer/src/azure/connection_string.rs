//! Azure Storage connection strings.

use std::fmt;

use cloudkit_core::Url;

use super::{AccountKey, AzureSignError, SasToken};

/// Azurite's well-known account name.
pub const DEVELOPMENT_ACCOUNT: &str = "devstoreaccount1";
/// Azurite's well-known (public, documented) account key.
pub const DEVELOPMENT_ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// Azurite's default blob endpoint (path-style).
pub const DEVELOPMENT_BLOB_ENDPOINT: &str = "http://127.0.0.1:10000/devstoreaccount1";

/// A parsed connection string: `AccountName`, `AccountKey`, `BlobEndpoint`,
/// `DefaultEndpointsProtocol`, `EndpointSuffix`, `SharedAccessSignature`,
/// `UseDevelopmentStorage=true`. `Debug` never shows the key, the SAS, or the query string of an
/// endpoint (a `BlobEndpoint` may carry a SAS in it); parse errors do not quote them either.
#[derive(Clone)]
pub struct ConnectionString {
    account_name: Option<String>,
    account_key: Option<AccountKey>,
    sas: Option<SasToken>,
    blob_endpoint: Option<Url>,
    protocol: String,
    endpoint_suffix: String,
    development: bool,
}

impl ConnectionString {
    /// Parses `Key=Value;Key=Value;…` (keys are case-insensitive; values may contain `=`).
    pub fn parse(text: &str) -> Result<Self, AzureSignError> {
        let bad = |m: String| AzureSignError::InvalidConnectionString(m);
        let mut cs = Self {
            account_name: None,
            account_key: None,
            sas: None,
            blob_endpoint: None,
            protocol: "https".into(),
            endpoint_suffix: "core.windows.net".into(),
            development: false,
        };
        let mut key_text: Option<String> = None;
        for part in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) =
                part.split_once('=').ok_or_else(|| bad(format!("segment {:?} is not Key=Value", k_only(part))))?;
            let v = v.trim();
            match k.trim().to_ascii_lowercase().as_str() {
                "accountname" => cs.account_name = Some(v.to_owned()),
                "accountkey" => key_text = Some(v.to_owned()),
                "sharedaccesssignature" => cs.sas = Some(SasToken::from_query(v)),
                "blobendpoint" => {
                    // The value may carry a SAS in its query: the error quotes what precedes it.
                    let shown = v.split(['?', '#']).next().unwrap_or_default();
                    cs.blob_endpoint =
                        Some(Url::parse(v).map_err(|e| bad(format!("BlobEndpoint {shown:?}… is not a URL: {e}")))?)
                }
                "defaultendpointsprotocol" => {
                    let p = v.to_ascii_lowercase();
                    if p != "http" && p != "https" {
                        return Err(bad(format!("DefaultEndpointsProtocol must be http or https, not {v:?}")));
                    }
                    cs.protocol = p;
                }
                "endpointsuffix" => cs.endpoint_suffix = v.to_owned(),
                "usedevelopmentstorage" => cs.development = v.eq_ignore_ascii_case("true"),
                // Other services' endpoints and the emulator proxy are not needed by Blob.
                _ => {}
            }
        }
        if cs.development {
            cs.account_name.get_or_insert_with(|| DEVELOPMENT_ACCOUNT.to_owned());
            if key_text.is_none() && cs.sas.is_none() {
                key_text = Some(DEVELOPMENT_ACCOUNT_KEY.to_owned());
            }
            if cs.blob_endpoint.is_none() {
                cs.blob_endpoint = Url::parse(DEVELOPMENT_BLOB_ENDPOINT).ok();
            }
        }
        if let Some(k) = key_text {
            let account =
                cs.account_name.clone().ok_or_else(|| bad("AccountKey is given without AccountName".to_owned()))?;
            cs.account_key = Some(AccountKey::new(account, k)?);
        }
        if cs.account_name.is_none() && cs.blob_endpoint.is_none() {
            return Err(bad("it names neither AccountName nor BlobEndpoint".to_owned()));
        }
        Ok(cs)
    }

    /// The account name.
    pub fn account_name(&self) -> Option<&str> {
        self.account_name.as_deref()
    }

    /// The account key, when the string has one (or is `UseDevelopmentStorage=true`).
    pub fn account_key(&self) -> Option<&AccountKey> {
        self.account_key.as_ref()
    }

    /// The SAS, when the string has `SharedAccessSignature`.
    pub fn sas(&self) -> Option<&SasToken> {
        self.sas.as_ref()
    }

    /// Whether it is `UseDevelopmentStorage=true`.
    pub fn is_development(&self) -> bool {
        self.development
    }

    /// The blob endpoint: `BlobEndpoint`, else `{protocol}://{account}.blob.{suffix}`.
    pub fn blob_endpoint(&self) -> Result<Url, AzureSignError> {
        if let Some(u) = &self.blob_endpoint {
            return Ok(u.clone());
        }
        let account = self.account_name.as_deref().unwrap_or_default();
        Url::parse(&format!("{}://{account}.blob.{}", self.protocol, self.endpoint_suffix))
            .map_err(|e| AzureSignError::InvalidConnectionString(format!("cannot build the blob endpoint: {e}")))
    }
}

fn k_only(part: &str) -> String {
    part.chars().take(24).collect()
}

impl fmt::Debug for ConnectionString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnectionString")
            .field("account_name", &self.account_name)
            .field("account_key", &self.account_key)
            .field("sas", &self.sas)
            .field("blob_endpoint", &self.blob_endpoint.as_ref().map(cloudkit_core::redact_url))
            .field("development", &self.development)
            .finish_non_exhaustive()
    }
}
