//! Cross-check with the reference SDK: objects cloudkit writes read back identically with Python's
//! google-cloud-storage against the emulator, and the other way round. `scripts/testbed.sh up`
//! installs google-cloud-storage next to the emulator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use bytes::Bytes;
use cloudkit_gcp_storage::UploadType;
use cloudkit_tests::testbed::{self, Emulator};
use cloudkit_tests::{gcs, python, sha256_hex};

/// Runs a Python snippet with google-cloud-storage pointed at the emulator; returns stdout.
fn run_python(script: &str, args: &[&str]) -> String {
    let host = testbed::endpoint(Emulator::Gcs);
    let prelude = r#"
import sys
try:
    from google.cloud import storage
    from google.auth.credentials import AnonymousCredentials
except ImportError as e:
    sys.stderr.write("google-cloud-storage is not installed (%s): run scripts/testbed.sh up or pip install google-cloud-storage\n" % e)
    sys.exit(3)
client = storage.Client(project="cloudkit-test", credentials=AnonymousCredentials())
"#;
    python::run_python(&format!("{prelude}\n{script}"), args, &[("STORAGE_EMULATOR_HOST", &host)])
}

fn pattern(n: usize, seed: u8) -> Bytes {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect::<Vec<u8>>().into()
}

#[tokio::test]
async fn python_reads_what_cloudkit_wrote() {
    let client = gcs::storage_client().await;
    let bucket = gcs::create_bucket(&client, "ck-py").await;

    let small = Bytes::from_static("héllo from cloudkit\n".as_bytes());
    client
        .insert_object(&bucket, "from-rust/small.txt")
        .upload_type(UploadType::Multipart)
        .content_type("text/plain; charset=utf-8")
        .metadata("writer", "cloudkit")
        .send_bytes(small.clone())
        .await
        .unwrap();
    let media = pattern(1000, 3);
    client
        .insert_object(&bucket, "from-rust/media.bin")
        .upload_type(UploadType::Media)
        .send_bytes(media.clone())
        .await
        .unwrap();
    let big = pattern(3 * 1024 * 1024 + 17, 9);
    client
        .insert_object(&bucket, "from-rust/dir/big.bin")
        .upload_type(UploadType::Resumable)
        .chunk_size(256 * 1024)
        .send_bytes(big.clone())
        .await
        .unwrap();

    let script = r#"
import hashlib, json
bucket = client.bucket(sys.argv[1])
out = {}
for name in ["from-rust/small.txt", "from-rust/media.bin", "from-rust/dir/big.bin"]:
    blob = bucket.get_blob(name)
    data = blob.download_as_bytes()
    out[name] = {"sha256": hashlib.sha256(data).hexdigest(), "size": blob.size, "crc32c": blob.crc32c,
                 "content_type": blob.content_type, "metadata": blob.metadata}
out["text"] = bucket.blob("from-rust/small.txt").download_as_text()
out["listed"] = [b.name for b in client.list_blobs(sys.argv[1], prefix="from-rust/")]
print(json.dumps(out))
"#;
    let v: serde_json::Value = serde_json::from_str(&run_python(script, &[&bucket])).unwrap();
    for (name, data) in
        [("from-rust/small.txt", &small), ("from-rust/media.bin", &media), ("from-rust/dir/big.bin", &big)]
    {
        assert_eq!(v[name]["sha256"], sha256_hex(data), "{name}");
        assert_eq!(v[name]["size"], data.len(), "{name}");
        assert_eq!(v[name]["crc32c"], cloudkit_gcp_storage::crc32c_base64(data), "{name}");
    }
    assert_eq!(v["from-rust/small.txt"]["content_type"], "text/plain; charset=utf-8");
    assert_eq!(v["from-rust/small.txt"]["metadata"]["writer"], "cloudkit");
    assert_eq!(v["text"], "héllo from cloudkit\n");
    assert_eq!(v["listed"], serde_json::json!(["from-rust/dir/big.bin", "from-rust/media.bin", "from-rust/small.txt"]));
}

#[tokio::test]
async fn cloudkit_reads_what_python_wrote() {
    let client = gcs::storage_client().await;
    let bucket = cloudkit_tests::unique_name("ck-py2");
    let script = r#"
import hashlib, json
bucket = client.create_bucket(sys.argv[1])
small = bucket.blob("from-python/hello.txt")
small.metadata = {"writer": "python"}
small.upload_from_string("Hello from google-cloud-storage", content_type="text/plain")
big = bytes((i * 7 + 1) % 256 for i in range(5 * 1024 * 1024 + 3))
blob = bucket.blob("from-python/big.bin", chunk_size=1024 * 1024)  # resumable, 1 MiB chunks
blob.upload_from_string(big, content_type="application/octet-stream")
print(json.dumps({"big_sha256": hashlib.sha256(big).hexdigest(), "big_size": len(big)}))
"#;
    let v: serde_json::Value = serde_json::from_str(&run_python(script, &[&bucket])).unwrap();

    let mut hello = client.bucket(&bucket).blob("from-python/hello.txt");
    assert_eq!(hello.download_as_text().await.unwrap(), "Hello from google-cloud-storage");
    let props = hello.reload().await.unwrap();
    assert_eq!(props.content_type.as_deref(), Some("text/plain"));
    assert_eq!(props.metadata.get("writer").map(String::as_str), Some("python"));

    // whole download, CRC32C verified against what the emulator recorded for Python's upload
    let big = client.download_object(&bucket, "from-python/big.bin").send().await.unwrap().bytes().await.unwrap();
    assert_eq!(big.len() as u64, v["big_size"].as_u64().unwrap());
    assert_eq!(sha256_hex(&big), v["big_sha256"].as_str().unwrap());
    let meta = client.get_object(&bucket, "from-python/big.bin").send().await.unwrap();
    assert_eq!(meta.crc32c.as_deref(), Some(cloudkit_gcp_storage::crc32c_base64(&big).as_str()));
}
