//! The seeds' Azure snippet with cloudkit: list containers, upload and download blobs.
//!
//! Uses `AZURE_STORAGE_CONNECTION_STRING` (Azurite: `UseDevelopmentStorage=true` or the test bed's
//! string), else `AZURE_STORAGE_ACCOUNT` with `AZURE_STORAGE_KEY`, `AZURE_STORAGE_SAS_TOKEN` or the
//! DefaultAzureCredential chain (all resolved by `Session::azure()`). Exits non-zero when the
//! service refuses it.
//!
//! ```sh
//! AZURE_STORAGE_CONNECTION_STRING="UseDevelopmentStorage=true" cargo run --example azure_blob
//! ```

use std::process::ExitCode;

use cloudkit::azure_blob::DownloadOptions;
use cloudkit::session::Session;
use futures::TryStreamExt;

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // service = BlobServiceClient.from_connection_string(...) / BlobServiceClient(url, DefaultAzureCredential())
    let session = Session::azure().load().await?;
    let config = session.config();
    println!("account {:?} ({} from {})", config.account(), config.auth().kind(), config.auth_source());
    let service = session.blob_service()?;
    let name = format!("cloudkit-example-{}", std::process::id());
    let container = service.container_client(&name);
    container.create().send().await?;
    println!("created container {name}");

    let blob = container.blob_client("hello.txt");
    blob.put("Hello, Azure Blob!").content_type("text/plain").send().await?;
    println!("uploaded hello.txt");

    let containers: Vec<String> =
        service.list_containers().into_items(Default::default()).map_ok(|c| c.name).try_collect().await?;
    println!("containers: {containers:?}");

    let text = blob.download_to_bytes(DownloadOptions::default()).await?;
    println!("downloaded: {}", String::from_utf8_lossy(&text));
    if &text[..] != b"Hello, Azure Blob!" {
        return Err("downloaded text differs".into());
    }
    blob.delete(Default::default(), &Default::default()).await?;
    container.delete().await?;
    println!("cleaned up");
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("azure_blob example failed: {e}");
            ExitCode::FAILURE
        }
    }
}
