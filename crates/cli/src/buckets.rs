//! `mb` / `rb`: buckets and containers, through each provider's client (the neutral `ObjectStore`
//! works inside one bucket and has no bucket calls).

use cloudkit::session::Session;
use cloudkit::store::{ObjectStoreExt, parse_url};
use futures::TryStreamExt;
use serde_json::json;

use crate::commands::RmOptions;
use crate::error::{CliError, Result};
use crate::glob::Filters;
use crate::location::{AwsOptions, Mode, aws_session, open};
use crate::output::{Output, say};

/// What `mb` / `rb` do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BucketAction {
    /// `mb`.
    Make,
    /// `rb`.
    Remove,
    /// `rb --force`: every object first (as `aws s3 rb --force`), then the bucket.
    RemoveWithObjects,
}

/// Make or remove a bucket.
pub(crate) async fn bucket(url: &str, aws: &AwsOptions, out: Output, action: BucketAction) -> Result<()> {
    let parsed = parse_url(url)?;
    if !parsed.prefix.is_root() {
        return Err(CliError::failure(format!("{url}: name only the bucket (no key or prefix after it)")));
    }
    let cloud = matches!(parsed.scheme.as_str(), "s3" | "az" | "gs");
    if action == BucketAction::RemoveWithObjects && cloud {
        let everything = RmOptions { recursive: true, yes: true, filters: Filters::default(), dry_run: false };
        crate::commands::rm(url, aws, out, everything).await?;
    } else if action == BucketAction::Remove && cloud {
        // Delete Container removes a container with everything in it (and some S3-compatible
        // stores delete non-empty buckets too): refuse, as S3 does, unless --force says so.
        let loc = open(url, aws, Mode::Read).await?;
        if loc.store.list(&loc.key).try_next().await?.is_some() {
            return Err(CliError::failure(format!(
                "{url} is not empty: remove its objects first, or use rb --force to remove them with it"
            )));
        }
    }
    let create = action == BucketAction::Make;
    let name = parsed.bucket.clone();
    match parsed.scheme.as_str() {
        "s3" => {
            let client =
                aws_session(aws).await?.s3().map_err(|e| CliError::from_error("could not create the S3 client", &e))?;
            let result = if create {
                client.create_bucket(name.clone()).send().await.map(drop)
            } else {
                client.delete_bucket(&name).await
            };
            result.map_err(|e| CliError::from_error(&format!("s3://{name}"), &e))?;
        }
        "az" => {
            let session =
                Session::azure().load().await.map_err(|e| CliError::from_error("could not set up Azure", &e))?;
            let container = session
                .blob_service()
                .map_err(|e| CliError::from_error("could not create the Blob client", &e))?
                .container_client(name.clone());
            let result = if create { container.create().send().await } else { container.delete().await };
            result.map_err(|e| CliError::from_error(&format!("az://{name}"), &e))?;
        }
        "gs" => {
            let session = Session::gcp()
                .load()
                .await
                .map_err(|e| CliError::from_error("could not load the Google Cloud configuration", &e))?;
            let client =
                session.storage().map_err(|e| CliError::from_error("could not create the Storage client", &e))?;
            let result = if create {
                client.insert_bucket(name.clone()).send().await.map(drop)
            } else {
                client.delete_bucket(&name).await
            };
            result.map_err(|e| CliError::from_error(&format!("gs://{name}"), &e))?;
        }
        other => {
            return Err(CliError::failure(format!(
                "{url}: {other}:// has no buckets; mb and rb take s3://, az:// or gs:// bucket URLs"
            )));
        }
    }
    let verb = if create { "make_bucket" } else { "remove_bucket" };
    let shown = format!("{}://{name}", parsed.scheme);
    if out.json() {
        out.print_json(&json!({"operation": verb, "bucket": shown}));
    } else if !out.quiet {
        say!("{verb}: {shown}");
    }
    Ok(())
}
