//! The EC2 lifecycle, end to end: load a session (profile from `AWS_PROFILE`), launch an instance,
//! wait until it is running, reload it, list running instances across pages with a state filter,
//! terminate it and wait until it is terminated.
//!
//! Everything comes from the environment, as with the AWS CLI: `AWS_PROFILE`, `AWS_REGION`,
//! credentials, and `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_EC2` for an emulator. The AMI is the newest
//! Amazon Linux 2 image unless `CLOUDKIT_EC2_AMI` names one.
//!
//! ```text
//! # against moto (what scripts/test.sh runs):
//! AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
//!     AWS_REGION=us-east-1 cargo run --example ec2_lifecycle
//! # against AWS (launches and terminates one t3.micro):
//! AWS_PROFILE=sandbox cargo run --example ec2_lifecycle
//! ```

use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use cloudkit::ec2::resource::Instance;
use cloudkit::ec2::{Ec2Client, Filter, InstanceStateName, PaginationConfig};
use cloudkit::session::Session;
use futures::TryStreamExt;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ec2_lifecycle failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    // 1. Session: profile, region, credentials and endpoint from the environment and ~/.aws.
    // session = boto3.session.Session(); ec2 = session.client("ec2")
    let session = Session::aws().load().await?;
    let config = session.config();
    let client = session.ec2()?;
    println!(
        "1. session: profile `{}`, region {}, endpoint {}",
        config.profile_name(),
        config.region(),
        client.endpoint()
    );
    // ec2 = session.resource("ec2")
    let ec2 = session.ec2_resource()?;

    // 2. Launch.
    let image_id = match std::env::var("CLOUDKIT_EC2_AMI") {
        Ok(ami) if !ami.trim().is_empty() => ami,
        _ => newest_amazon_linux(&client).await?,
    };
    let run_id = format!("ec2-lifecycle-{}", SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis());
    let mut launched = ec2
        .create_instances(&image_id)
        .instance_type("t3.micro")
        .tag("Name", "cloudkit-ec2-lifecycle")
        .tag("cloudkit-run", &run_id)
        .user_data("#!/bin/sh\necho 'hello from cloudkit'\n")
        .send()
        .await?;
    let Some(instance) = launched.first_mut() else {
        return Err("RunInstances returned no instance".into());
    };
    println!("2. launched {} from {image_id} ({})", instance.id(), state_name(instance));

    // 3. Wait until running.
    instance.wait_until_running().await?;
    println!("3. {} is {}", instance.id(), state_name(instance));

    // 4. Reload.
    instance.reload().await?;
    println!(
        "4. reloaded: type {}, private ip {}, public ip {}, launched {}, tags {:?}",
        instance.instance_type().unwrap_or("?"),
        instance.private_ip_address().unwrap_or("-"),
        instance.public_ip_address().unwrap_or("-"),
        instance.launch_time().map_or_else(
            || "at an unknown time".to_owned(),
            |t| format!("{} s ago", SystemTime::now().duration_since(t).unwrap_or_default().as_secs())
        ),
        instance.tags().iter().map(|t| format!("{}={}", t.key, t.value)).collect::<Vec<_>>(),
    );

    // 5. List running instances: every page of DescribeInstances with a state filter, 5 per page.
    let mut running = client
        .describe_instances()
        .filter(Filter::instance_state([InstanceStateName::Running]))
        .into_instances(PaginationConfig::default().page_size(5));
    let (mut count, mut ours) = (0usize, false);
    while let Some(i) = running.try_next().await? {
        count += 1;
        ours |= i.instance_id == instance.id();
    }
    println!("5. {count} running instance(s) in {}; ours is among them: {ours}", config.region());
    if !ours {
        return Err("the launched instance is missing from the running instances".into());
    }

    // 6. Terminate and wait until terminated.
    let change = instance.terminate().await?;
    println!("6. terminating {}: {} -> {}", instance.id(), change.previous_state.name, change.current_state.name);
    instance.wait_until_terminated().await?;
    println!("7. {} is {}", instance.id(), state_name(instance));
    Ok(())
}

fn state_name(instance: &Instance) -> String {
    instance.state().map_or_else(|| "unknown".to_owned(), |s| s.name.to_string())
}

/// The newest Amazon Linux 2 x86_64 AMI owned by Amazon.
async fn newest_amazon_linux(client: &Ec2Client) -> Result<String, Box<dyn std::error::Error>> {
    let images = client
        .describe_images()
        .owner("amazon")
        .filter(Filter::new("name", ["amzn2-ami-hvm-2.0.*-x86_64-gp2"]))
        .filter(Filter::new("state", ["available"]))
        .send()
        .await?;
    let newest =
        images.images.into_iter().max_by(|a, b| a.creation_date.cmp(&b.creation_date).then(a.name.cmp(&b.name)));
    newest.map(|i| i.image_id).ok_or_else(|| "no Amazon Linux 2 image found; set CLOUDKIT_EC2_AMI".into())
}
