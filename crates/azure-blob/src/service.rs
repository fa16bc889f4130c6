//! Service-level operations: list containers, service properties, user delegation keys.

use std::time::SystemTime;

use cloudkit_core::{BufferedResponse, Method, Operation};
use cloudkit_signer::azure::{UserDelegationKey, format_sas_time};

use crate::BlobServiceClient;
use crate::error::{BlobError, Result};
use crate::list::ListContainersRequest;
use crate::model::parse_user_delegation_key;

impl BlobServiceClient {
    pub(crate) async fn send(&self, op: &'static str, request: cloudkit_core::HttpRequest) -> Result<BufferedResponse> {
        self.send_operation(&Operation::new(op), request).await
    }

    pub(crate) async fn send_operation(
        &self,
        op: &Operation,
        request: cloudkit_core::HttpRequest,
    ) -> Result<BufferedResponse> {
        Ok(self.inner.pipeline.send_buffered(op, request).await?)
    }

    /// List Containers: `send()` for one page, `into_pages` / `into_items` for all.
    pub fn list_containers(&self) -> ListContainersRequest {
        ListContainersRequest::new(self.clone())
    }

    /// Get Blob Service Properties: the raw `StorageServiceProperties` XML.
    pub async fn get_service_properties(&self) -> Result<String> {
        let r = self.request(Method::GET, "/", &[("restype", "service"), ("comp", "properties")]);
        let resp = self.send("GetServiceProperties", r).await?;
        Ok(String::from_utf8_lossy(&resp.body).into_owned())
    }

    /// Get User Delegation Key (needs an Entra token credential): the key that signs user
    /// delegation SAS (see `cloudkit_signer::azure::BlobSas::sign_user_delegation`).
    pub async fn get_user_delegation_key(&self, start: SystemTime, expiry: SystemTime) -> Result<UserDelegationKey> {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><KeyInfo><Start>{}</Start><Expiry>{}</Expiry></KeyInfo>",
            format_sas_time(start),
            format_sas_time(expiry)
        );
        let r =
            self.request(Method::POST, "/", &[("restype", "service"), ("comp", "userdelegationkey")]).with_body(body);
        let resp = self.send("GetUserDelegationKey", r).await?;
        parse_user_delegation_key(&resp.body).map_err(|e| {
            BlobError::Other(cloudkit_core::Error::decode(crate::SERVICE, "GetUserDelegationKey", e.to_string()))
        })
    }
}
