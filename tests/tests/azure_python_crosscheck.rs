//! Cross-check with the reference Python SDK (azure-storage-blob, installed by
//! `scripts/testbed.sh up`) against Azurite: Python reads back exactly what cloudkit wrote
//! (a single Put Blob and a multi-block upload, with content type and metadata), and cloudkit
//! reads back exactly what Python wrote (including Python's own chunked upload).

use bytes::Bytes;
use cloudkit_azure_blob::{DownloadOptions, UploadOptions};
use cloudkit_tests::python::run_python;
use cloudkit_tests::{azure, sha256_hex, unique_name};

/// Runs an azure-storage-blob script with Azurite's connection string in `CONN`; its stdout, trimmed.
fn python(script: &str, args: &[&str]) -> String {
    run_python(script, args, &[("CONN", &azure::connection_string())]).trim().to_owned()
}

const READ: &str = r#"
import sys, os, hashlib
from azure.storage.blob import BlobServiceClient
s = BlobServiceClient.from_connection_string(os.environ["CONN"])
b = s.get_blob_client(sys.argv[1], sys.argv[2])
data = b.download_blob().readall()
p = b.get_blob_properties()
print(hashlib.sha256(data).hexdigest(), len(data), p.content_settings.content_type, p.metadata.get("origin"))
"#;

const WRITE: &str = r#"
import sys, os
from azure.storage.blob import BlobServiceClient, ContentSettings
s = BlobServiceClient.from_connection_string(os.environ["CONN"], max_single_put_size=4*1024*1024, max_block_size=4*1024*1024)
b = s.get_blob_client(sys.argv[1], sys.argv[2])
n = int(sys.argv[3])
data = bytes((i * 7) % 253 for i in range(n))
b.upload_blob(data, overwrite=True, metadata={"origin": "python"}, content_settings=ContentSettings(content_type="application/x-python"))
print("ok")
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_reads_what_cloudkit_wrote_and_cloudkit_reads_what_python_wrote() {
    let service = azure::blob_service().await;
    let name = unique_name("ck-python");
    let c = service.container_client(&name);
    c.create().send().await.unwrap();

    // cloudkit → Python: one Put Blob, and a 3-block upload.
    let small = Bytes::from_static("héllo from cloudkit".as_bytes());
    c.blob_client("dir/small ü.txt")
        .put(small.clone())
        .content_type("text/plain")
        .metadata("origin", "cloudkit")
        .send()
        .await
        .unwrap();
    let line = python(READ, &[&name, "dir/small ü.txt"]);
    assert_eq!(line, format!("{} {} text/plain cloudkit", sha256_hex(&small), small.len()));
    let big: Vec<u8> = (0..(9 * 1024 * 1024 + 3)).map(|i| (i % 241) as u8).collect();
    let mut meta = std::collections::BTreeMap::new();
    meta.insert("origin".to_owned(), "cloudkit".to_owned());
    c.blob_client("blocks.bin")
        .upload_bytes(
            Bytes::from(big.clone()),
            UploadOptions {
                block_size: 4 * 1024 * 1024,
                concurrency: 3,
                content_type: Some("application/octet-stream".into()),
                metadata: meta,
                ..UploadOptions::default()
            },
        )
        .await
        .unwrap();
    let line = python(READ, &[&name, "blocks.bin"]);
    assert_eq!(line, format!("{} {} application/octet-stream cloudkit", sha256_hex(&big), big.len()));

    // Python → cloudkit: a single put and Python's chunked (block) upload.
    for (blob, n) in [("py-small", 1000usize), ("py-chunked", 10 * 1024 * 1024 + 5)] {
        assert_eq!(python(WRITE, &[&name, blob, &n.to_string()]), "ok");
        let expected: Vec<u8> = (0..n).map(|i| ((i * 7) % 253) as u8).collect();
        let b = c.blob_client(blob);
        let props = b.get_properties().await.unwrap();
        assert_eq!(props.content_type.as_deref(), Some("application/x-python"));
        assert_eq!(props.metadata.get("origin").map(String::as_str), Some("python"));
        let got =
            b.download_to_bytes(DownloadOptions { chunk_size: 3 * 1024 * 1024, ..Default::default() }).await.unwrap();
        assert!(got[..] == expected[..], "{blob}: bytes differ");
    }
    for blob in ["dir/small ü.txt", "blocks.bin", "py-small", "py-chunked"] {
        c.blob_client(blob).delete(Default::default(), &Default::default()).await.unwrap();
    }
    c.delete().await.unwrap();
}
