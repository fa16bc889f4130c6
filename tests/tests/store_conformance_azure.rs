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

// Issue 15, defect 6: one blob whose name is not a valid key (a `dir/` folder marker, `a//b`)
// failed the whole listing; Azurite stores such names through the raw client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_skip_blob_names_that_are_not_keys() {
    let service = azure::blob_service().await;
    let name = unique_name("ck-names");
    let container = service.container_client(&name);
    container.create().send().await.unwrap();
    for raw in ["names/dir/", "names/a//b", "names/dir/x//y"] {
        container.blob_client(raw).put("raw").send().await.unwrap();
    }
    let store = AzureBlobStore::new(container.clone());
    conformance::unrepresentable_names_are_skipped(&store, &ObjectKey::parse("names").unwrap()).await;
    container.delete().await.unwrap();
}
