//! Cross-checks with boto3 against moto (`scripts/testbed.sh up`; boto3 is installed with moto):
//! objects written by cloudkit (single PutObject and multipart transfers) read back identically
//! with boto3 — bytes, user metadata, content type — and multipart objects written by boto3's
//! `upload_file` download correctly with cloudkit's transfer manager.
//!
//! The Python interpreter is `CLOUDKIT_TEST_PYTHON` if set, else `python3`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::SystemTime;

use cloudkit_aws_s3::{Client, TransferConfig, TransferManager};
use cloudkit_core::{Pipeline, Url};
use cloudkit_cred_chain::aws::protocol::AwsErrorParser;
use cloudkit_signer::aws::{Credentials, SharedCredentialsProvider, SigV4Signer};
use cloudkit_tests::testbed::{self, Emulator};
use futures::TryStreamExt;
use serde_json::Value;
use sha2::{Digest, Sha256};

const MIB: usize = 1024 * 1024;

fn client() -> Client {
    let endpoint = testbed::endpoint(Emulator::Moto);
    let creds: SharedCredentialsProvider = Arc::new(Credentials::from_keys("testing", "testing"));
    let signer = SigV4Signer::new(creds.clone(), "us-east-1", "s3");
    let pipeline =
        Pipeline::builder("S3").signer(Arc::new(signer)).error_parser(Arc::new(AwsErrorParser)).build().unwrap();
    Client::builder(pipeline, "us-east-1").endpoint(Url::parse(&endpoint).unwrap()).credentials(creds).build().unwrap()
}

fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{nanos:x}-{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

const PRELUDE: &str = r#"
import hashlib, json, os, sys
try:
    import boto3
    from boto3.s3.transfer import TransferConfig
except ImportError as e:
    print("boto3 is not installed for this interpreter: %s" % e, file=sys.stderr)
    sys.exit(3)
s3 = boto3.client("s3", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
bucket = os.environ["BUCKET"]
"#;

/// Runs a boto3 script (after the prelude) and parses the JSON it prints.
fn boto3(bucket: &str, script: &str) -> Value {
    let python = std::env::var("CLOUDKIT_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .arg("-c")
        .arg(format!("{PRELUDE}\n{script}"))
        .env("ENDPOINT", testbed::endpoint(Emulator::Moto))
        .env("BUCKET", bucket)
        .output()
        .unwrap_or_else(|e| panic!("could not run {python} (set CLOUDKIT_TEST_PYTHON to a Python with boto3): {e}"));
    assert!(
        out.status.success(),
        "the boto3 script failed ({}); boto3 comes with moto (`pip install 'moto[server]'`):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

async fn cleanup(s3: &Client, bucket: &str) {
    let keys: Vec<String> = s3.list_objects_v2(bucket).into_objects().map_ok(|o| o.key).try_collect().await.unwrap();
    for k in keys {
        s3.delete_object(bucket, &k).send().await.unwrap();
    }
    s3.delete_bucket(bucket).await.unwrap();
}

fn data(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_written_by_cloudkit_read_back_identically_with_boto3() {
    let s3 = client();
    let b = unique("ck-s3t-boto-r");
    s3.create_bucket(&b).send().await.unwrap_or_else(|e| panic!("moto is not up ({e}); run `scripts/testbed.sh up`"));

    let small = data(3000, 1);
    s3.put_object(&b, "dir/a b+c%.txt")
        .body(small.clone())
        .content_type("text/plain; charset=utf-8")
        .cache_control("max-age=60")
        .metadata("owner", "cloudkit")
        .metadata("note", "hello world")
        .send()
        .await
        .unwrap();
    let tm = TransferManager::with_config(
        s3.clone(),
        TransferConfig::default().with_multipart_threshold(5 * MIB as u64).with_part_size(5 * MIB as u64),
    );
    let big = data(12 * MIB + 333, 2);
    let up = tm
        .upload_bytes(&b, "multi/ünï code.bin", big.clone())
        .content_type("application/x-cloudkit")
        .metadata("parts", "three")
        .send()
        .await
        .unwrap();
    assert_eq!(up.parts, 3);
    let dir = std::env::temp_dir().join(unique("ck-s3t-boto"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("f.bin");
    let from_file = data(6 * MIB, 3);
    std::fs::write(&file, &from_file).unwrap();
    tm.upload_file(&b, "file.bin", &file).content_type("image/png").send().await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();

    let seen = boto3(
        &b,
        r#"
out = {}
for key in ["dir/a b+c%.txt", "multi/ünï code.bin", "file.bin"]:
    o = s3.get_object(Bucket=bucket, Key=key)
    body = o["Body"].read()
    out[key] = {"sha256": hashlib.sha256(body).hexdigest(), "len": len(body),
                "content_type": o.get("ContentType"), "metadata": o.get("Metadata", {}),
                "cache_control": o.get("CacheControl"), "etag": o.get("ETag")}
print(json.dumps(out))
"#,
    );
    let small_seen = &seen["dir/a b+c%.txt"];
    assert_eq!(small_seen["sha256"], hex(&Sha256::digest(&small)));
    assert_eq!(small_seen["content_type"], "text/plain; charset=utf-8");
    assert_eq!(small_seen["cache_control"], "max-age=60");
    assert_eq!(small_seen["metadata"], serde_json::json!({"owner": "cloudkit", "note": "hello world"}));

    let big_seen = &seen["multi/ünï code.bin"];
    assert_eq!(big_seen["len"], big.len());
    assert_eq!(big_seen["sha256"], hex(&Sha256::digest(&big)));
    assert_eq!(big_seen["content_type"], "application/x-cloudkit");
    assert_eq!(big_seen["metadata"], serde_json::json!({"parts": "three"}));
    assert!(big_seen["etag"].as_str().unwrap().ends_with("-3\""), "{}", big_seen["etag"]);

    let file_seen = &seen["file.bin"];
    assert_eq!(file_seen["sha256"], hex(&Sha256::digest(&from_file)));
    assert_eq!(file_seen["content_type"], "image/png");
    cleanup(&s3, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_objects_written_by_boto3_download_with_cloudkit() {
    let s3 = client();
    let b = unique("ck-s3t-boto-w");
    s3.create_bucket(&b).send().await.unwrap_or_else(|e| panic!("moto is not up ({e}); run `scripts/testbed.sh up`"));
    let dir = std::env::temp_dir().join(unique("ck-s3t-boto-w"));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("boto-src.bin");
    std::fs::write(&src, data(13 * MIB + 7, 4)).unwrap();

    let written = boto3(
        &b,
        &format!(
            r#"
cfg = TransferConfig(multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=4)
s3.upload_file({src:?}, bucket, "boto/multi part.bin", Config=cfg,
               ExtraArgs={{"ContentType": "application/x-boto", "Metadata": {{"writer": "boto3"}}}})
s3.put_object(Bucket=bucket, Key="boto/small.txt", Body=b"small from boto3", ContentType="text/plain")
head = s3.head_object(Bucket=bucket, Key="boto/multi part.bin")
print(json.dumps({{"sha256": hashlib.sha256(open({src:?}, "rb").read()).hexdigest(), "etag": head["ETag"]}}))
"#,
            src = src.to_str().unwrap()
        ),
    );
    assert!(written["etag"].as_str().unwrap().ends_with("-3\""), "boto3 wrote a multipart object: {}", written["etag"]);

    // Small parts on our side too (parallel ranged GETs that do not line up with boto3's parts).
    let tm = TransferManager::with_config(
        s3.clone(),
        TransferConfig::default().with_multipart_threshold(6 * MIB as u64).with_part_size(6 * MIB as u64),
    );
    let dst = dir.join("ck-dst.bin");
    let out = tm.download_file(&b, "boto/multi part.bin", &dst).await.unwrap();
    assert_eq!(out.parts, 3);
    assert_eq!(out.metadata.content_type.as_deref(), Some("application/x-boto"));
    assert_eq!(out.metadata.metadata.get("writer").map(String::as_str), Some("boto3"));
    assert_eq!(Some(written["etag"].as_str().unwrap()), out.metadata.e_tag.as_deref());
    let bytes = std::fs::read(&dst).unwrap();
    assert_eq!(hex(&Sha256::digest(&bytes)), written["sha256"].as_str().unwrap());

    // Default settings, into memory and through a plain GetObject.
    let mem = TransferManager::new(s3.clone()).download(&b, "boto/multi part.bin").to_bytes().await.unwrap();
    assert_eq!(hex(&Sha256::digest(&mem)), written["sha256"].as_str().unwrap());
    let small = s3.get_object(&b, "boto/small.txt").send().await.unwrap();
    assert_eq!(small.metadata.content_type.as_deref(), Some("text/plain"));
    assert_eq!(&small.collect().await.unwrap()[..], b"small from boto3");

    std::fs::remove_dir_all(&dir).unwrap();
    cleanup(&s3, &b).await;
}
