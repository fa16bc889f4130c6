//! The S3 quickstart, mirroring boto3's S3 snippet: create a bucket if needed, upload a file,
//! download it, get an object into memory, list with a paginator, and print a presigned URL.
//!
//! Endpoint, credentials and region come from the environment / profile (`Session::aws()`),
//! exactly like boto3; the bucket from `S3_QUICKSTART_BUCKET` (default `cloudkit-quickstart`).
//!
//! ```text
//! AWS_ENDPOINT_URL=http://127.0.0.1:9000 AWS_ACCESS_KEY_ID=… AWS_SECRET_ACCESS_KEY=… AWS_REGION=us-east-1 \
//!     cargo run --example s3_quickstart
//! ```
//!
//! Exits non-zero on failure.

use std::process::ExitCode;
use std::time::Duration;

use cloudkit::s3::PaginationConfig;
use cloudkit::session::Session;
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("s3_quickstart failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // session = boto3.session.Session(); s3 = session.client("s3")
    let session = Session::aws().load().await?;
    let s3 = session.s3()?;
    let name = std::env::var("S3_QUICKSTART_BUCKET").unwrap_or_else(|_| "cloudkit-quickstart".to_owned());
    let bucket = s3.bucket(&name);

    // s3.create_bucket(Bucket=...) unless it exists
    if !bucket.exists().await? {
        bucket.create().send().await?;
        bucket.wait_until_exists().wait().await?;
        println!("created bucket {name}");
    }

    // s3.upload_file("hello.txt", bucket, "hello.txt")
    let dir = std::env::temp_dir().join(format!("cloudkit-s3-quickstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let local = dir.join("hello.txt");
    let text = "Hello from cloudkit!\n".repeat(1000);
    std::fs::write(&local, &text)?;
    let up = s3.upload_file(&local, &name, "quickstart/hello.txt").content_type("text/plain").send().await?;
    println!("uploaded quickstart/hello.txt ({} bytes, ETag {})", up.size, up.e_tag.as_deref().unwrap_or("?"));

    // s3.download_file(bucket, "hello.txt", "hello-copy.txt")
    let copy = dir.join("hello-copy.txt");
    s3.download_file(&name, "quickstart/hello.txt", &copy).await?;
    if std::fs::read_to_string(&copy)? != text {
        return Err("the downloaded file differs from the uploaded one".into());
    }
    println!("downloaded it again to {}", copy.display());

    // s3.get_object(Bucket=..., Key=...)["Body"].read()
    let body = s3.get_object(&name, "quickstart/hello.txt").send().await?.collect().await?;
    println!("got {} bytes into memory: {:?}…", body.len(), String::from_utf8_lossy(&body[..20]));

    // paginator = s3.get_paginator("list_objects_v2"); for page in paginator.paginate(...)
    let mut pages =
        s3.list_objects_v2(&name).prefix("quickstart/").into_pages(PaginationConfig::default().page_size(100));
    while let Some(page) = pages.try_next().await? {
        for object in &page.contents {
            println!("  {} ({} bytes)", object.key, object.size);
        }
    }

    // s3.generate_presigned_url("get_object", Params=..., ExpiresIn=3600)
    let url = s3.presign_get_object(&name, "quickstart/hello.txt", Duration::from_secs(3600)).presign().await?.url;
    println!("{url}");

    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
