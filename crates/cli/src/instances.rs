//! `instances`: list, start, stop, reboot, terminate and wait for virtual machines on EC2, Azure and
//! Compute Engine through cloudkit's neutral `Compute`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cloudkit::compute::{Compute, Instance, InstanceFilter, InstanceId, InstanceState};
use cloudkit::session::Session;
use futures::TryStreamExt;
use serde_json::{Value, json};

use crate::error::{CliError, EXIT_PARTIAL, Result};
use crate::location::{AwsOptions, aws_session};
use crate::output::{Format, Output, format_time, say};
use crate::progress::Spinner;

/// Which provider's instances `instances ls` lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Provider {
    /// EC2.
    Aws,
    /// Azure virtual machines.
    Azure,
    /// Compute Engine.
    Gcp,
}

/// Where `instances ls` looks (`--region` for EC2 comes from the global flag).
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    /// `--zone` (Compute Engine; all zones without it).
    pub(crate) zone: Option<String>,
    /// `--resource-group` (Azure; all groups without it).
    pub(crate) resource_group: Option<String>,
    /// `--subscription` (Azure; default `AZURE_SUBSCRIPTION_ID`).
    pub(crate) subscription: Option<String>,
    /// `--project` (Compute Engine; default `GOOGLE_CLOUD_PROJECT` and the credentials).
    pub(crate) project: Option<String>,
}

/// An action on instances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    /// Start.
    Start,
    /// Stop (EC2 stop, Azure deallocate, Compute Engine stop).
    Stop,
    /// Reboot.
    Reboot,
    /// Terminate (delete).
    Terminate,
}

impl Action {
    fn name(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Reboot => "reboot",
            Action::Terminate => "terminate",
        }
    }

    /// The state `--wait` waits for.
    fn target(self) -> InstanceState {
        match self {
            Action::Start | Action::Reboot => InstanceState::Running,
            Action::Stop => InstanceState::Stopped,
            Action::Terminate => InstanceState::Terminated,
        }
    }
}

fn compute_error(context: &str, e: &cloudkit::compute::Error) -> CliError {
    CliError::from_error(context, e)
}

/// The error of waiting for `id` to be `target`: a timeout or failed wait already names both (and
/// the last error); anything else gets that context.
fn wait_error(id: &InstanceId, target: InstanceState, e: &cloudkit::compute::Error) -> CliError {
    use cloudkit::compute::Error;
    match e {
        Error::Timeout { .. } | Error::WaitFailed { .. } => CliError::failure(crate::error::chain(e)),
        _ => compute_error(&format!("waiting for {id} to be {target}"), e),
    }
}

/// Whether plain http to a loopback Azure endpoint (an emulator or fake) is allowed.
fn azure_emulator() -> bool {
    std::env::var_os("CLOUDKIT_AZURE_EMULATOR").is_some_and(|v| !v.is_empty() && v != "0")
}

async fn aws_backend(aws: &AwsOptions) -> Result<Arc<dyn Compute>> {
    let session = aws_session(aws).await?;
    let compute = session.compute().map_err(|e| CliError::from_error("could not create the EC2 client", &e))?;
    Ok(Arc::new(compute))
}

async fn azure_backend(subscription: Option<&str>, resource_group: Option<&str>) -> Result<Arc<dyn Compute>> {
    let session = Session::azure()
        .emulator(azure_emulator())
        .load()
        .await
        .map_err(|e| CliError::from_error("could not load the Azure configuration", &e))?;
    let subscription = match subscription {
        Some(s) => s.to_owned(),
        None => session.config().subscription_id().map(str::to_owned).ok_or_else(|| {
            CliError::failure("no Azure subscription: pass --subscription or set AZURE_SUBSCRIPTION_ID")
        })?,
    };
    let compute = session
        .compute(subscription, resource_group)
        .map_err(|e| CliError::from_error("could not create the Azure Resource Manager client", &e))?;
    Ok(Arc::new(compute))
}

async fn gcp_backend(project: Option<&str>, zone: Option<&str>) -> Result<Arc<dyn Compute>> {
    let mut builder = Session::gcp();
    if let Some(project) = project {
        builder = builder.project(project);
    }
    let session =
        builder.load().await.map_err(|e| CliError::from_error("could not load the Google Cloud configuration", &e))?;
    let compute = session.compute(zone).map_err(|e| compute_error("could not create the Compute Engine client", &e))?;
    Ok(Arc::new(compute))
}

/// The backend that owns `id`: its provider picks the cloud, its location the region, the
/// subscription and resource group, or the project and zone.
async fn backend_for(id: &InstanceId, aws: &AwsOptions) -> Result<Arc<dyn Compute>> {
    match id.provider.as_str() {
        "ec2" => {
            let aws = AwsOptions { region: Some(id.location.clone()), ..aws.clone() };
            aws_backend(&aws).await
        }
        "azure" => {
            let (subscription, group) = id.location.split_once('/').ok_or_else(|| {
                CliError::failure(format!("{id}: an Azure id is azure:<subscription>/<resource-group>/<vm>"))
            })?;
            azure_backend(Some(subscription), Some(group)).await
        }
        "gce" => {
            let (project, zone) = id.location.split_once('/').ok_or_else(|| {
                CliError::failure(format!("{id}: a Compute Engine id is gce:<project>/<zone>/<name>"))
            })?;
            gcp_backend(Some(project), Some(zone)).await
        }
        other => Err(CliError::failure(format!(
            "{id}: cloudkit has no compute backend for provider {other:?} (ec2, azure and gce have one)"
        ))),
    }
}

/// Parses instance ids (all of them before anything is done).
pub(crate) fn parse_ids(ids: &[String]) -> Result<Vec<InstanceId>> {
    ids.iter().map(|s| s.parse::<InstanceId>().map_err(|e| compute_error("invalid instance id", &e))).collect()
}

/// `instances ls`.
pub(crate) async fn ls(
    provider: Provider,
    scope: &Scope,
    aws: &AwsOptions,
    out: Output,
    filter: InstanceFilter,
) -> Result<()> {
    let compute = match provider {
        Provider::Aws => aws_backend(aws).await?,
        Provider::Azure => azure_backend(scope.subscription.as_deref(), scope.resource_group.as_deref()).await?,
        Provider::Gcp => gcp_backend(scope.project.as_deref(), scope.zone.as_deref()).await?,
    };
    let mut listing = compute.list_instances(filter);
    let mut instances = Vec::new();
    let spinner = Spinner::new(out, format!("listing {} instances", compute.provider()));
    let mut count = 0usize;
    while let Some(instance) =
        listing.try_next().await.map_err(|e| compute_error("could not list the instances", &e))?
    {
        count += 1;
        spinner.set_message(format!("listing {} instances: {count}", compute.provider()));
        if out.format == Format::JsonLines {
            spinner.say(|| out.print_json(&instance_json(&instance)));
        } else {
            instances.push(instance);
        }
    }
    drop(spinner);
    match out.format {
        Format::Json => {
            let list: Vec<Value> = instances.iter().map(instance_json).collect();
            out.print_json(&json!({"provider": compute.provider(), "instances": list}));
        }
        Format::Human => {
            for line in table(&instances) {
                say!("{line}");
            }
        }
        Format::JsonLines => {}
    }
    Ok(())
}

/// `instances start|stop|reboot|terminate ID…`.
pub(crate) async fn act(
    action: Action,
    ids: &[String],
    wait: Option<Duration>,
    aws: &AwsOptions,
    out: Output,
) -> Result<()> {
    let ids = parse_ids(ids)?;
    let mut results = Vec::new();
    let mut failures = Vec::new();
    for id in &ids {
        match act_one(action, id, wait, aws, out).await {
            Ok(state) => {
                match out.format {
                    Format::Human if !out.quiet => match &state {
                        Some(state) => say!("{}: {id} ({state})", action.name()),
                        None => say!("{}: {id}", action.name()),
                    },
                    Format::JsonLines => out.print_json(&action_json(action, id, state.clone(), None)),
                    _ => {}
                }
                results.push(action_json(action, id, state, None));
            }
            Err(e) => {
                if out.format == Format::JsonLines {
                    out.print_json(&action_json(action, id, None, Some(&e.message)));
                }
                results.push(action_json(action, id, None, Some(&e.message)));
                failures.push((id.clone(), e));
            }
        }
    }
    if out.format == Format::Json {
        out.print_json(&json!({"action": action.name(), "instances": results}));
    }
    match failures.len() {
        0 => Ok(()),
        1 if ids.len() == 1 => Err(failures.remove(0).1),
        n => {
            eprintln!("Failed to {} {n} of {} instances:", action.name(), ids.len());
            for (id, e) in &failures {
                eprintln!("  {id}: {e}");
            }
            Err(CliError { message: format!("{n} of {} instances failed", ids.len()), code: EXIT_PARTIAL })
        }
    }
}

async fn act_one(
    action: Action,
    id: &InstanceId,
    wait: Option<Duration>,
    aws: &AwsOptions,
    out: Output,
) -> Result<Option<String>> {
    let compute = backend_for(id, aws).await?;
    let done = match action {
        Action::Start => compute.start(id).await,
        Action::Stop => compute.stop(id).await,
        Action::Reboot => compute.reboot(id).await,
        Action::Terminate => compute.terminate(id).await,
    };
    done.map_err(|e| compute_error(&format!("could not {} {id}", action.name()), &e))?;
    let Some(max_wait) = wait else { return Ok(None) };
    let instance = wait_showing_state(compute.as_ref(), id, action.target(), max_wait, out)
        .await
        .map_err(|e| wait_error(id, action.target(), &e))?;
    Ok(Some(instance.state.to_string()))
}

/// How often the spinner of a wait asks for the instance's current state.
const STATE_EVERY: Duration = Duration::from_secs(5);

/// `wait_for_state` with a spinner on a terminal that shows the instance's current state (read
/// every few seconds, besides the wait's own polling).
async fn wait_showing_state(
    compute: &dyn Compute,
    id: &InstanceId,
    target: InstanceState,
    max_wait: Duration,
    out: Output,
) -> cloudkit::compute::Result<Instance> {
    let waiting_for = format!("waiting for {id} to be {target}");
    let spinner = Spinner::new(out, waiting_for.clone());
    let waiting = compute.wait_for_state(id, target, max_wait);
    if !spinner.visible() {
        return waiting.await;
    }
    let mut waiting = std::pin::pin!(waiting);
    let mut every = tokio::time::interval(STATE_EVERY);
    loop {
        tokio::select! {
            result = &mut waiting => return result,
            _ = every.tick() => {
                if let Ok(now) = compute.get_instance(id).await {
                    spinner.set_message(format!("{waiting_for} (now {})", now.state));
                }
            }
        }
    }
}

fn action_json(action: Action, id: &InstanceId, state: Option<String>, error: Option<&str>) -> Value {
    json!({
        "id": id.to_string(),
        "action": action.name(),
        "status": if error.is_some() { "failed" } else { "ok" },
        "state": state,
        "error": error,
    })
}

/// `instances wait ID --state S`.
pub(crate) async fn wait(
    id: &str,
    target: InstanceState,
    timeout: Duration,
    aws: &AwsOptions,
    out: Output,
) -> Result<()> {
    let id = parse_ids(&[id.to_owned()])?.remove(0);
    let compute = backend_for(&id, aws).await?;
    let instance = wait_showing_state(compute.as_ref(), &id, target, timeout, out)
        .await
        .map_err(|e| wait_error(&id, target, &e))?;
    if out.json() {
        out.print_json(&instance_json(&instance));
    } else if !out.quiet {
        say!("{id}: {}", instance.state);
    }
    Ok(())
}

/// Everything known about an instance, as JSON.
pub(crate) fn instance_json(i: &Instance) -> Value {
    json!({
        "id": i.id.to_string(),
        "provider": i.id.provider,
        "location": i.id.location,
        "instance_id": i.id.id,
        "state": i.state.to_string(),
        "provider_state": i.raw_state,
        "size": i.size,
        "image": i.image,
        "private_ip": i.private_ip,
        "public_ip": i.public_ip,
        "launch_time": i.launch_time.map(format_time),
        "tags": i.tags,
    })
}

fn tags_text(tags: &BTreeMap<String, String>) -> String {
    if tags.is_empty() {
        return "-".to_owned();
    }
    tags.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// The human table: a header and one aligned row per instance (the tags last, unpadded).
fn table(instances: &[Instance]) -> Vec<String> {
    let dash = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".to_owned());
    let mut rows = vec![[
        "ID".to_owned(),
        "STATE".to_owned(),
        "PROVIDER STATE".to_owned(),
        "SIZE".to_owned(),
        "LAUNCHED".to_owned(),
        "PRIVATE IP".to_owned(),
        "PUBLIC IP".to_owned(),
        "TAGS".to_owned(),
    ]];
    for i in instances {
        rows.push([
            i.id.to_string(),
            i.state.to_string(),
            i.raw_state.clone(),
            dash(&i.size),
            i.launch_time.map(format_time).unwrap_or_else(|| "-".to_owned()),
            dash(&i.private_ip),
            dash(&i.public_ip),
            tags_text(&i.tags),
        ]);
    }
    let mut widths = [0usize; 8];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let mut line = String::new();
            for (n, (cell, w)) in row.iter().zip(widths).enumerate() {
                if n + 1 == row.len() {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<w$}  "));
                }
            }
            line
        })
        .collect()
}

/// `k=v` of `--tag`.
pub(crate) fn parse_tag(text: &str) -> std::result::Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("{text:?}: expected KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A wait error that names the instance and the state says so once; others get the context.
    #[test]
    fn wait_errors_say_what_was_waited_for_once() {
        use cloudkit::compute::Error;
        let id = InstanceId::new("ec2", "us-east-1", "i-1");
        let timeout = Error::Timeout {
            id: id.to_string(),
            target: InstanceState::Running,
            last: InstanceState::Pending,
            waited: Duration::from_secs(600),
            last_error: None,
        };
        let shown = wait_error(&id, InstanceState::Running, &timeout).message;
        assert_eq!(
            shown,
            "waiting for instance ec2:us-east-1:i-1 to be running timed out after 600s; it is still pending"
        );
        let gone = Error::NotFound { id: id.to_string(), source: None };
        let shown = wait_error(&id, InstanceState::Running, &gone).message;
        assert_eq!(shown, "waiting for ec2:us-east-1:i-1 to be running: instance not found: ec2:us-east-1:i-1");
    }

    #[test]
    fn tags_and_table() {
        assert_eq!(parse_tag("env=prod"), Ok(("env".to_owned(), "prod".to_owned())));
        assert_eq!(parse_tag("empty="), Ok(("empty".to_owned(), String::new())));
        assert!(parse_tag("=x").is_err());
        assert!(parse_tag("novalue").is_err());
        let instance = Instance {
            id: InstanceId::new("ec2", "us-east-1", "i-1"),
            state: InstanceState::Running,
            raw_state: "running".to_owned(),
            size: Some("t3.micro".to_owned()),
            image: None,
            private_ip: Some("10.0.0.1".to_owned()),
            public_ip: None,
            launch_time: None,
            tags: BTreeMap::from([("env".to_owned(), "prod".to_owned())]),
        };
        let lines = table(&[instance]);
        assert!(lines[0].starts_with("ID "), "{lines:?}");
        assert!(lines[1].starts_with("ec2:us-east-1:i-1  running"), "{lines:?}");
        assert!(lines[1].ends_with("env=prod"), "{lines:?}");
    }
}
