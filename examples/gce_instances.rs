//! The Python tutorial's Compute Engine snippet in Rust:
//!
//! ```python
//! from google.cloud import compute_v1
//! instances = compute_v1.InstancesClient()
//! for instance in instances.list(project="my-proj", zone="us-central1-a"):
//!     print(instance.name, instance.status)
//! ```
//!
//! then one instance's lifecycle through the provider-neutral `Compute`: create, wait until
//! running, stop, wait until stopped, delete, wait until gone.
//!
//! Credentials are Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud's ADC
//! file, the metadata server), the project `GOOGLE_CLOUD_PROJECT` (or the credentials'), the zone
//! `CLOUDKIT_GCE_ZONE` (default `us-central1-a`). Against a real project this creates and deletes
//! one `e2-micro`. The test command runs it against the project's fake Compute Engine (Google's
//! documented shapes, not a live service), whose endpoint comes from `CLOUDKIT_GCE_ENDPOINT`.
//!
//! ```text
//! GOOGLE_CLOUD_PROJECT=my-proj cargo run --example gce_instances
//! scripts/with-fake.sh gce cargo run --example gce_instances
//! ```
//!
//! Exits non-zero on failure.

use std::process::ExitCode;
use std::time::Duration;

use cloudkit::compute::{Compute, CreateInstances, InstanceState};
use cloudkit::session::Session;
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gce_instances failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let zone = std::env::var("CLOUDKIT_GCE_ZONE").unwrap_or_else(|_| "us-central1-a".to_owned());
    let session = Session::gcp().load().await?;
    println!("project {}", session.project_id().unwrap_or("(none: set GOOGLE_CLOUD_PROJECT)"));

    // instances = compute_v1.InstancesClient()
    // for instance in instances.list(project=..., zone=...): print(instance.name, instance.status)
    let client = session.compute_engine()?;
    let mut listed = client.instances().list(&zone).into_items(Default::default());
    while let Some(instance) = listed.try_next().await? {
        println!("{} {}", instance.name, instance.status);
    }

    // The same instance through the neutral Compute, as on EC2 and Azure.
    let compute = session.compute(Some(&zone))?.poll_interval(Duration::from_secs(2));
    let name = format!("cloudkit-example-{}", std::process::id());
    let request = CreateInstances::new("projects/debian-cloud/global/images/family/debian-12", "e2-micro")
        .tag("Name", &name)
        .tag("purpose", "cloudkit-example");
    let created = compute.create_instances(request).await?;
    let id = created.first().ok_or("insert created no instance")?.id.clone();
    println!("created {id}");
    let running = compute.wait_for_state(&id, InstanceState::Running, Duration::from_secs(300)).await?;
    println!("{id} is {} ({})", running.state, running.raw_state);
    compute.stop(&id).await?;
    let stopped = compute.wait_for_state(&id, InstanceState::Stopped, Duration::from_secs(300)).await?;
    println!("{id} is {} ({})", stopped.state, stopped.raw_state);
    compute.terminate(&id).await?;
    compute.wait_for_state(&id, InstanceState::Terminated, Duration::from_secs(300)).await?;
    println!("{id} is deleted");
    Ok(())
}
