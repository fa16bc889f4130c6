//! Build-cost benchmark: the cloudkit quickstart (examples/quickstart.rs) on S3, built with every provider (`full`).
//!
//! `CLOUDKIT_STORE=s3://bucket/prefix` (default `s3://cloudkit-build-cost/quickstart`); credentials,
//! region and endpoint come from the AWS default chain. Put, get, list with delimiter, copy, list,
//! bulk delete, the same steps as every other program in benches/build-cost/.

use std::process::ExitCode;

use bytes::Bytes;
use cloudkit::store::{ObjectKey, ObjectStoreExt, PutOptions};
use futures::TryStreamExt;

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

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CLOUDKIT_STORE").unwrap_or_else(|_| "s3://cloudkit-build-cost/quickstart".to_owned());
    let (store, base) = cloudkit::store::from_url(&url).await?;
    println!("Using the {} store at {url}", store.backend());
    let prefix = base.join(&format!("quickstart-{}", std::process::id()))?;

    // put
    let report = prefix.join("reports/2026/summary.txt")?;
    let notes = prefix.join("reports/notes.md")?;
    let readme = prefix.join("README.txt")?;
    store
        .put_opts(&report, Bytes::from_static(b"Revenue up 12%.\n"), PutOptions::default().content_type("text/plain"))
        .await?;
    store.put(&notes, Bytes::from_static(b"# Notes\n")).await?;
    store.put(&readme, Bytes::from_static(b"cloudkit quickstart\n")).await?;
    println!("Wrote 3 objects under {prefix}/");

    // get
    let text = store.get(&report).await?.bytes().await?;
    println!("Read {report}: {:?}", String::from_utf8_lossy(&text).trim_end());

    // list with delimiter
    let level = store.list_with_delimiter(&prefix).await?;
    println!("Top level of {prefix}/:");
    for dir in &level.common_prefixes {
        println!("  {dir}/  (prefix)");
    }
    for object in &level.objects {
        println!("  {}  ({} bytes)", object.key, object.size);
    }

    // copy
    let backup = prefix.join("backup/summary.txt")?;
    store.copy(&report, &backup).await?;
    println!("Copied {report} to {backup}");

    // full listing
    let all: Vec<ObjectKey> = store.list(&prefix).map_ok(|m| m.key).try_collect().await?;
    println!("Everything under {prefix}/: {} objects", all.len());

    // delete
    let deleted = store.delete_all(all).await?;
    println!("Deleted {deleted} objects; {} left", store.list_all(&prefix).await?.len());
    println!("Quickstart finished.");
    Ok(())
}
