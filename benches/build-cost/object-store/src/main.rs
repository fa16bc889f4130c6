//! Build-cost benchmark: the cloudkit quickstart written with object_store (`aws`).
//!
//! `CLOUDKIT_STORE=s3://bucket/prefix` (default `s3://cloudkit-build-cost/quickstart`); credentials,
//! region and endpoint from the `AWS_*` environment (object_store's `from_env`). Put, get, list with
//! delimiter, copy, list, bulk delete, the same steps as every other program in benches/build-cost/.

use std::process::ExitCode;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{Attribute, Attributes, ObjectStore, ObjectStoreExt, PutOptions};

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

fn child(parent: &Path, relative: &str) -> Path {
    relative.split('/').fold(parent.clone(), |p, part| p.join(part))
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CLOUDKIT_STORE").unwrap_or_else(|_| "s3://cloudkit-build-cost/quickstart".to_owned());
    let rest = url.strip_prefix("s3://").ok_or_else(|| format!("{url:?} is not an s3:// URL"))?;
    let (bucket, base) = rest.split_once('/').unwrap_or((rest, ""));
    let store = AmazonS3Builder::from_env().with_bucket_name(bucket).build()?;
    println!("Using the S3 store at {url}");
    let prefix = child(&Path::parse(base)?, &format!("quickstart-{}", std::process::id()));

    // put
    let report = child(&prefix, "reports/2026/summary.txt");
    let notes = child(&prefix, "reports/notes.md");
    let readme = child(&prefix, "README.txt");
    let mut attributes = Attributes::new();
    attributes.insert(Attribute::ContentType, "text/plain".into());
    let options = PutOptions { attributes, ..PutOptions::default() };
    store.put_opts(&report, Bytes::from_static(b"Revenue up 12%.\n").into(), options).await?;
    store.put(&notes, Bytes::from_static(b"# Notes\n").into()).await?;
    store.put(&readme, Bytes::from_static(b"cloudkit quickstart\n").into()).await?;
    println!("Wrote 3 objects under {prefix}/");

    // get
    let text = store.get(&report).await?.bytes().await?;
    println!("Read {report}: {:?}", String::from_utf8_lossy(&text).trim_end());

    // list with delimiter
    let level = store.list_with_delimiter(Some(&prefix)).await?;
    println!("Top level of {prefix}/:");
    for dir in &level.common_prefixes {
        println!("  {dir}/  (prefix)");
    }
    for object in &level.objects {
        println!("  {}  ({} bytes)", object.location, object.size);
    }

    // copy
    let backup = child(&prefix, "backup/summary.txt");
    store.copy(&report, &backup).await?;
    println!("Copied {report} to {backup}");

    // full listing
    let all: Vec<Path> = store.list(Some(&prefix)).map_ok(|m| m.location).try_collect().await?;
    println!("Everything under {prefix}/: {} objects", all.len());

    // delete
    let deleted: Vec<Path> = store.delete_stream(futures::stream::iter(all).map(Ok).boxed()).try_collect().await?;
    let left: Vec<_> = store.list(Some(&prefix)).try_collect().await?;
    println!("Deleted {} objects; {} left", deleted.len(), left.len());
    println!("Quickstart finished.");
    Ok(())
}
