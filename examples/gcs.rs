//! Google Cloud Storage, the seeds' Python snippet in Rust:
//!
//! ```python
//! from google.cloud import storage
//! client = storage.Client()
//! bucket = client.bucket("my-bucket")
//! blob = bucket.blob("hello.txt")
//! blob.upload_from_string("Hello, World!")
//! print(blob.download_as_text())
//! ```
//!
//! Runs against the emulator when `STORAGE_EMULATOR_HOST` is set (anonymous access, the bucket is
//! created if missing), or against a real project with Application Default Credentials
//! (`GOOGLE_APPLICATION_CREDENTIALS`, `gcloud auth application-default login`, the metadata
//! server). The bucket is `GCS_EXAMPLE_BUCKET` (default `cloudkit-example`).
//!
//! ```sh
//! STORAGE_EMULATOR_HOST=http://127.0.0.1:9023 cargo run --example gcs
//! ```

use cloudkit::gcs::GcsError;
use cloudkit::session::Session;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // client = storage.Client()
    let session = Session::gcp().load().await?;
    let config = session.config();
    println!("credentials: {}; project: {:?}", config.credential_source(), config.project_id());
    let client = session.storage()?;

    let bucket_name = std::env::var("GCS_EXAMPLE_BUCKET").unwrap_or_else(|_| "cloudkit-example".to_owned());
    // bucket = client.bucket("my-bucket")
    let mut bucket = client.bucket(&bucket_name);
    if client.is_emulator() && !bucket.exists().await? {
        match bucket.create(None).await {
            Ok(_) | Err(GcsError::Conflict(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }

    // blob = bucket.blob("hello.txt"); blob.upload_from_string("Hello, World!")
    let mut blob = bucket.blob("hello.txt");
    blob.upload_from_string("Hello, World!").await?;
    // print(blob.download_as_text())
    let text = blob.download_as_text().await?;
    println!("{text}");
    assert_eq!(text, "Hello, World!");

    blob.reload().await?;
    println!("gs://{}/{}: {:?} bytes, generation {:?}", bucket_name, blob.name(), blob.size(), blob.generation());
    Ok(())
}
