//! Cross-checks with boto3 against moto (`scripts/testbed.sh up`; boto3 is installed with moto):
//! objects written by cloudkit (single PutObject and multipart transfers) read back identically
//! with boto3 — bytes, user metadata, content type — and multipart objects written by boto3's
//! `upload_file` download correctly with cloudkit's transfer manager.
//!
//! The Python interpreter is chosen by `cloudkit_tests::python` (`CLOUDKIT_TEST_PYTHON` if set).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use cloudkit_aws_s3::{TransferConfig, TransferManager};
use cloudkit_tests::aws;
use cloudkit_tests::python::run_python;
use cloudkit_tests::testbed::{self, Emulator};
use cloudkit_tests::{XorShift32, sha256_hex, unique_name};
use serde_json::Value;

const MIB: usize = 1024 * 1024;

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
    let endpoint = testbed::endpoint(Emulator::Moto);
    let out = run_python(&format!("{PRELUDE}\n{script}"), &[], &[("ENDPOINT", &endpoint), ("BUCKET", bucket)]);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

fn data(len: usize, seed: u32) -> Vec<u8> {
    XorShift32::new(seed.wrapping_mul(2_654_435_761) | 1).bytes(len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn objects_written_by_cloudkit_read_back_identically_with_boto3() {
    let s3 = aws::moto_s3_client().await;
    let b = aws::create_bucket(&s3, "ck-s3t-boto-r").await;

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
    let dir = std::env::temp_dir().join(unique_name("ck-s3t-boto"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("f.bin");
    let from_file = data(6 * MIB, 3);
    std::fs::write(&file, &from_file).unwrap();
    tm.upload_file(&file, &b, "file.bin").content_type("image/png").send().await.unwrap();
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
    assert_eq!(small_seen["sha256"], sha256_hex(&small));
    assert_eq!(small_seen["content_type"], "text/plain; charset=utf-8");
    assert_eq!(small_seen["cache_control"], "max-age=60");
    assert_eq!(small_seen["metadata"], serde_json::json!({"owner": "cloudkit", "note": "hello world"}));

    let big_seen = &seen["multi/ünï code.bin"];
    assert_eq!(big_seen["len"], big.len());
    assert_eq!(big_seen["sha256"], sha256_hex(&big));
    assert_eq!(big_seen["content_type"], "application/x-cloudkit");
    // The TransferManager records its part size (documented: lets downloads check the multipart
    // ETag on stores without checksums); other SDKs see it as one more metadata entry.
    assert_eq!(big_seen["metadata"], serde_json::json!({"parts": "three", "cloudkit-part-size": "5242880"}));
    assert!(big_seen["etag"].as_str().unwrap().ends_with("-3\""), "{}", big_seen["etag"]);

    let file_seen = &seen["file.bin"];
    assert_eq!(file_seen["sha256"], sha256_hex(&from_file));
    assert_eq!(file_seen["content_type"], "image/png");
    aws::delete_bucket_with_objects(&s3, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_objects_written_by_boto3_download_with_cloudkit() {
    let s3 = aws::moto_s3_client().await;
    let b = aws::create_bucket(&s3, "ck-s3t-boto-w").await;
    let dir = std::env::temp_dir().join(unique_name("ck-s3t-boto-w"));
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
    assert_eq!(sha256_hex(&bytes), written["sha256"].as_str().unwrap());

    // Default settings, into memory and through a plain GetObject.
    let mem = TransferManager::new(s3.clone()).download(&b, "boto/multi part.bin").to_bytes().await.unwrap();
    assert_eq!(sha256_hex(&mem), written["sha256"].as_str().unwrap());
    let small = s3.get_object(&b, "boto/small.txt").send().await.unwrap();
    assert_eq!(small.metadata.content_type.as_deref(), Some("text/plain"));
    assert_eq!(&small.collect().await.unwrap()[..], b"small from boto3");

    std::fs::remove_dir_all(&dir).unwrap();
    aws::delete_bucket_with_objects(&s3, &b).await;
}
