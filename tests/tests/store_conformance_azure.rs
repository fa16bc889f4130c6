//! The ObjectStore conformance suite on Azure Blob, against Azurite (`scripts/testbed.sh up`).

use std::sync::Arc;

use cloudkit::store::{AzureBlobStore, ObjectKey, conformance};
use cloudkit_tests::{azure, unique_name};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_azure_blob_on_azurite() {
    let service = azure::blob_service().await;
    let name = unique_name("ck-conformance");
    let container = service.container_client(&name);
    container.create().send().await.unwrap();
    conformance::run_all(Arc::new(AzureBlobStore::new(container.clone())), &ObjectKey::parse("conformance").unwrap())
        .await;
    container.delete().await.unwrap();
}
