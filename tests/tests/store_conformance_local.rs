//! The ObjectStore conformance suite on the backends that need no emulator: a local directory and
//! memory. (S3, Azure and GCS run the same suite against their emulators in their own files.)

use std::sync::Arc;

use cloudkit::store::{InMemory, LocalFileSystem, ObjectKey, conformance};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_in_memory() {
    conformance::run_all(Arc::new(InMemory::new()), &ObjectKey::parse("conformance").unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_local_file_system() {
    let dir = std::env::temp_dir().join(format!("cloudkit-conformance-local-{}", std::process::id()));
    let store = LocalFileSystem::create(&dir).await.unwrap();
    conformance::run_all(Arc::new(store), &ObjectKey::parse("conformance").unwrap()).await;
    // nothing but cloudkit's empty bookkeeping directory is left
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != ".cloudkit-meta")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn local_store_refuses_paths_outside_its_root() {
    let dir = std::env::temp_dir().join(format!("cloudkit-escape-{}", std::process::id()));
    let _store = LocalFileSystem::create(&dir).await.unwrap();
    for bad in ["../escape", "/etc/passwd", "a/../../b", "a\\..\\b"] {
        assert!(ObjectKey::parse(bad).is_err(), "{bad}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

// Issue 15, defect 6: file names that are not valid keys are skipped, as on every backend.
#[tokio::test]
async fn local_listings_skip_file_names_that_are_not_keys() {
    let dir = std::env::temp_dir().join(format!("cloudkit-names-local-{}", std::process::id()));
    let store = LocalFileSystem::create(&dir).await.unwrap();
    std::fs::create_dir_all(dir.join("names/back\\slash")).unwrap();
    std::fs::write(dir.join("names/back\\slash/f"), b"raw").unwrap();
    std::fs::write(dir.join("names/tab\tname"), b"raw").unwrap();
    conformance::unrepresentable_names_are_skipped(&store, &ObjectKey::parse("names").unwrap()).await;
    std::fs::remove_dir_all(&dir).unwrap();
}
