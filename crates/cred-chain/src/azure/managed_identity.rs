//! `ManagedIdentityCredential`: App Service (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`) or the
//! instance metadata service (IMDS).

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use azure_core::credentials::AccessToken;
use cloudkit_core::{ErrorKind, HttpRequest, Method, Operation, Url};

use super::cache::TokenCache;
use super::http::{identity_error, parse_token};
use super::{FetchToken, IdentityOptions, SourceError, cached_credential, single_scope};

/// The default IMDS base URL.
pub const IMDS_ENDPOINT: &str = "http://169.254.169.254";

/// A user-assigned identity.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ManagedIdentityId {
    /// By client id (`client_id`).
    ClientId(String),
    /// By object id (`object_id`).
    ObjectId(String),
    /// By ARM resource id (`msi_res_id` on IMDS, `mi_res_id` on App Service).
    ResourceId(String),
}

/// Managed identity. App Service when `IDENTITY_ENDPOINT` and `IDENTITY_HEADER` are set, IMDS
/// otherwise (base URL from [`IdentityOptions::imds_endpoint`] or
/// `AZURE_POD_IDENTITY_AUTHORITY_HOST`). An unreachable IMDS, or one that answers 400 (no
/// identity assigned), makes the credential unavailable rather than failed.
#[derive(Debug)]
pub struct ManagedIdentityCredential {
    id: Option<ManagedIdentityId>,
    options: IdentityOptions,
    cache: TokenCache,
    imds_seen: AtomicBool,
}

impl ManagedIdentityCredential {
    /// System-assigned identity (or the user-assigned one `id` names).
    pub fn new(id: Option<ManagedIdentityId>, options: IdentityOptions) -> Self {
        Self { id, options, cache: TokenCache::default(), imds_seen: AtomicBool::new(false) }
    }

    fn resource(scope: &str) -> &str {
        scope.strip_suffix("/.default").unwrap_or(scope)
    }

    /// Names the user-assigned identity, if one was chosen; the resource-id parameter is spelled
    /// differently by App Service (`mi_res_id`) and IMDS (`msi_res_id`).
    fn append_id(&self, q: &mut url::form_urlencoded::Serializer<'_, url::UrlQuery<'_>>, resource_id_param: &str) {
        match &self.id {
            Some(ManagedIdentityId::ClientId(v)) => q.append_pair("client_id", v),
            Some(ManagedIdentityId::ObjectId(v)) => q.append_pair("object_id", v),
            Some(ManagedIdentityId::ResourceId(v)) => q.append_pair(resource_id_param, v),
            None => q,
        };
    }

    async fn app_service(&self, endpoint: &str, header: &str, scope: &str) -> Result<AccessToken, SourceError> {
        let mut url = Url::parse(endpoint)
            .map_err(|e| SourceError::Failed(format!("IDENTITY_ENDPOINT {endpoint:?} is not a URL: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", "2019-08-01").append_pair("resource", Self::resource(scope));
            self.append_id(&mut q, "mi_res_id");
        }
        let mut request = HttpRequest::new(Method::GET, url);
        request.insert_header("x-identity-header", header).map_err(|e| SourceError::Failed(e.to_string()))?;
        let pipeline = self.options.pipeline(Duration::from_secs(30), 3)?;
        let r = pipeline
            .send_buffered(&Operation::new("GetToken"), request)
            .await
            .map_err(|e| SourceError::Failed(identity_error("App Service managed identity", &e)))?;
        parse_token(&r.body, "App Service managed identity")
    }

    async fn imds(&self, scope: &str) -> Result<AccessToken, SourceError> {
        let base = match &self.options.imds_endpoint {
            Some(u) => u.to_string(),
            None => self.options.env.get("AZURE_POD_IDENTITY_AUTHORITY_HOST").unwrap_or_else(|| IMDS_ENDPOINT.into()),
        };
        let mut url = Url::parse(&format!("{}/metadata/identity/oauth2/token", base.trim_end_matches('/')))
            .map_err(|e| SourceError::Failed(format!("bad IMDS endpoint {base:?}: {e}")))?;
        {
            let mut q = url.query_pairs_mut();
            q.append_pair("api-version", "2018-02-01").append_pair("resource", Self::resource(scope));
            self.append_id(&mut q, "msi_res_id");
        }
        let mut request = HttpRequest::new(Method::GET, url);
        request.insert_header("metadata", "true").map_err(|e| SourceError::Failed(e.to_string()))?;
        // First contact: short timeout and no retries, so a machine without IMDS moves on quickly.
        let seen = self.imds_seen.load(Ordering::Relaxed);
        let pipeline = if seen {
            self.options.pipeline(Duration::from_secs(30), 3)?
        } else {
            self.options.pipeline(Duration::from_secs(2), 1)?
        };
        match pipeline.send_buffered(&Operation::new("GetToken"), request).await {
            Ok(r) => {
                self.imds_seen.store(true, Ordering::Relaxed);
                parse_token(&r.body, "IMDS")
            }
            Err(e) if !seen && matches!(e.kind(), ErrorKind::Transport | ErrorKind::Timeout) => {
                Err(SourceError::Unavailable(format!("no instance metadata service reachable ({e})")))
            }
            Err(e) if e.status().map(|s| s.as_u16()) == Some(400) => Err(SourceError::Unavailable(format!(
                "IMDS has no identity for this request ({})",
                identity_error("IMDS", &e)
            ))),
            Err(e) => Err(SourceError::Failed(identity_error("IMDS", &e))),
        }
    }
}

#[async_trait::async_trait]
impl FetchToken for ManagedIdentityCredential {
    fn name(&self) -> &'static str {
        "ManagedIdentityCredential"
    }
    async fn fetch(&self, scopes: &[&str]) -> Result<AccessToken, SourceError> {
        let scope = single_scope(scopes)?;
        let env = &self.options.env;
        match (env.get("IDENTITY_ENDPOINT"), env.get("IDENTITY_HEADER")) {
            (Some(endpoint), Some(header)) => self.app_service(&endpoint, &header, scope).await,
            _ => self.imds(scope).await,
        }
    }
}
cached_credential!(ManagedIdentityCredential);
