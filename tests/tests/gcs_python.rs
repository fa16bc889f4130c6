//! Cross-check with the reference SDK: objects cloudkit writes read back identically with Python's
//! google-cloud-storage against the emulator, and the other way round. `scripts/testbed.sh up`
//! installs google-cloud-storage next to the emulator.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use bytes::Bytes;
use cloudkit_cred_chain::gcp::{GcpConfig, GcpEnv};
use cloudkit_gcp_storage::{StorageClient, UploadType};
use cloudkit_tests::testbed::{self, Emulator};

fn python() -> String {
    let venv = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/tools/venv/bin/python");
    if std::path::Path::new(venv).exists() { venv.to_owned() } else { "python3".to_owned() }
}

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
    let out = Command::new(python())
        .arg("-c")
        .arg(format!("{prelude}\n{script}"))
        .args(args)
        .env("STORAGE_EMULATOR_HOST", &host)
        .env("NO_PROXY", "127.0.0.1,localhost")
        .output()
        .unwrap_or_else(|e| panic!("could not run {} ({e}); install Python 3 (scripts/testbed.sh up)", python()));
    assert!(
        out.status.success(),
        "python google-cloud-storage failed (exit {:?}):\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

async fn client() -> StorageClient {
    let host = testbed::endpoint(Emulator::Gcs);
    let config =
        GcpConfig::loader().env(GcpEnv::from_pairs([("STORAGE_EMULATOR_HOST", host.as_str())])).load().await.unwrap();
    StorageClient::new(&config).unwrap()
}

fn pattern(n: usize, seed: u8) -> Bytes {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect::<Vec<u8>>().into()
}

fn hex_sha256(data: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn python_reads_what_cloudkit_wrote() {
    let client = client().await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let bucket = format!("ck-py-{}-{nanos}", std::process::id());
    client.insert_bucket(&bucket).send().await.unwrap();

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
        assert_eq!(v[name]["sha256"], hex_sha256(data), "{name}");
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
    let client = client().await;
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let bucket = format!("ck-py2-{}-{nanos}", std::process::id());
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
    assert_eq!(hex_sha256(&big), v["big_sha256"].as_str().unwrap());
    let meta = client.get_object(&bucket, "from-python/big.bin").send().await.unwrap();
    assert_eq!(meta.crc32c.as_deref(), Some(cloudkit_gcp_storage::crc32c_base64(&big).as_str()));
}
