//! Build-cost benchmark: the cloudkit quickstart written with the official AWS SDK for Rust.
//!
//! `CLOUDKIT_STORE=s3://bucket/prefix` (default `s3://cloudkit-build-cost/quickstart`); credentials,
//! region and endpoint from the AWS default chain (`aws_config::load_from_env`). Put, get, list with
//! delimiter, copy, list, bulk delete, the same steps as every other program in benches/build-cost/.

use std::process::ExitCode;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("quickstart failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Every key under `prefix/` (recursively), across pages.
async fn list_keys(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let mut keys = Vec::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).prefix(format!("{prefix}/")).into_paginator().send();
    while let Some(page) = pages.next().await {
        keys.extend(page?.contents().iter().filter_map(|o| o.key().map(str::to_owned)));
    }
    Ok(keys)
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CLOUDKIT_STORE").unwrap_or_else(|_| "s3://cloudkit-build-cost/quickstart".to_owned());
    let rest = url.strip_prefix("s3://").ok_or_else(|| format!("{url:?} is not an s3:// URL"))?;
    let (bucket, base) = rest.split_once('/').unwrap_or((rest, ""));
    let base = base.trim_matches('/');
    let config = aws_config::load_from_env().await;
    let s3 = aws_sdk_s3::Client::new(&config);
    println!("Using the S3 store at {url}");
    let pid = std::process::id();
    let prefix = if base.is_empty() { format!("quickstart-{pid}") } else { format!("{base}/quickstart-{pid}") };

    // put
    let report = format!("{prefix}/reports/2026/summary.txt");
    let notes = format!("{prefix}/reports/notes.md");
    let readme = format!("{prefix}/README.txt");
    s3.put_object()
        .bucket(bucket)
        .key(&report)
        .content_type("text/plain")
        .body(ByteStream::from_static(b"Revenue up 12%.\n"))
        .send()
        .await?;
    s3.put_object().bucket(bucket).key(&notes).body(ByteStream::from_static(b"# Notes\n")).send().await?;
    s3.put_object().bucket(bucket).key(&readme).body(ByteStream::from_static(b"cloudkit quickstart\n")).send().await?;
    println!("Wrote 3 objects under {prefix}/");

    // get
    let text = s3.get_object().bucket(bucket).key(&report).send().await?.body.collect().await?.into_bytes();
    println!("Read {report}: {:?}", String::from_utf8_lossy(&text).trim_end());

    // list with delimiter
    println!("Top level of {prefix}/:");
    let mut pages =
        s3.list_objects_v2().bucket(bucket).prefix(format!("{prefix}/")).delimiter("/").into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page?;
        for dir in page.common_prefixes() {
            println!("  {}  (prefix)", dir.prefix().unwrap_or_default());
        }
        for object in page.contents() {
            println!("  {}  ({} bytes)", object.key().unwrap_or_default(), object.size().unwrap_or_default());
        }
    }

    // copy
    let backup = format!("{prefix}/backup/summary.txt");
    s3.copy_object().bucket(bucket).key(&backup).copy_source(format!("{bucket}/{report}")).send().await?;
    println!("Copied {report} to {backup}");

    // full listing
    let all = list_keys(&s3, bucket, &prefix).await?;
    println!("Everything under {prefix}/: {} objects", all.len());

    // delete (DeleteObjects takes at most 1000 keys a request)
    let mut deleted = 0;
    for batch in all.chunks(1000) {
        let objects =
            batch.iter().map(|k| ObjectIdentifier::builder().key(k).build()).collect::<Result<Vec<_>, _>>()?;
        let out = s3
            .delete_objects()
            .bucket(bucket)
            .delete(Delete::builder().set_objects(Some(objects)).build()?)
            .send()
            .await?;
        if let Some(e) = out.errors().first() {
            return Err(format!("deleting {}: {}", e.key().unwrap_or_default(), e.message().unwrap_or_default()).into());
        }
        deleted += out.deleted().len();
    }
    println!("Deleted {deleted} objects; {} left", list_keys(&s3, bucket, &prefix).await?.len());
    println!("Quickstart finished.");
    Ok(())
}
