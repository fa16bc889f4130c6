//! `cloudkit`: one command for objects on S3, Azure Blob Storage, Google Cloud Storage and local
//! disks, built on cloudkit's provider-neutral `ObjectStore`, and for virtual machines on EC2, Azure
//! and Compute Engine through the neutral `Compute`.
//!
//! Exit codes: 0 success, 1 failure, 2 usage error, 3 some objects of a recursive operation (or some
//! instances of a multi-instance action) failed, 130 stopped by Ctrl-C.

mod buckets;
mod commands;
mod error;
mod glob;
mod instances;
mod interrupt;
mod location;
mod output;
mod progress;
mod sync;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use cloudkit::compute::InstanceState;

use crate::buckets::BucketAction;
use crate::glob::Filters;
use crate::location::AwsOptions;
use crate::output::{Format, Output};

const LOCATIONS: &str = "\
Locations are store URLs (s3://bucket/prefix, az://container/prefix, gs://bucket/prefix,
file:///dir/prefix, memory://) or local paths. Credentials, regions and endpoints come from the
usual environment and profile files (AWS_*, AZURE_STORAGE_*, Google ADC / STORAGE_EMULATOR_HOST).

Transfers show progress bars on a terminal and a progress line every 5 seconds otherwise (none with
-q; CLOUDKIT_PROGRESS_EVERY=<seconds> changes the interval). Ctrl-C stops a transfer cleanly: unfinished uploads are aborted, temporary files removed,
and a summary says what was and was not transferred; a second Ctrl-C exits at once.

Exit codes: 0 success, 1 failure, 2 usage error, 3 some objects of a recursive operation (or some
instances of a multi-instance action) failed, 130 stopped by Ctrl-C.";

/// List, copy, sync, move, remove, read and presign objects, and manage instances, on every cloud.
#[derive(Debug, Parser)]
#[command(name = "cloudkit", version, about, after_help = LOCATIONS)]
struct Cli {
    /// Print one JSON document instead of tables.
    #[arg(long, global = true, conflicts_with = "jsonl")]
    json: bool,
    /// Print one JSON document per line (one per object of a listing or transfer).
    #[arg(long, global = true)]
    jsonl: bool,
    /// No status lines (copy:, delete:, …); listings, object data, metadata, URLs and errors are
    /// still printed.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// More log output on stderr (-v info, -vv debug, -vvv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// AWS profile for s3:// locations (as the aws CLI's --profile).
    #[arg(long, global = true, value_name = "NAME")]
    profile: Option<String>,
    /// AWS region for s3:// locations and `instances ls --provider aws`.
    #[arg(long, global = true, value_name = "REGION")]
    region: Option<String>,
    /// Endpoint for s3:// locations and EC2 instances (an S3-compatible store or an emulator).
    #[arg(long, global = true, value_name = "URL")]
    endpoint_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

/// Each subcommand's examples, shown after its help (`sync` and `instances` have a longer text
/// of their own: [`SYNC`], [`INSTANCES`]).
const EXAMPLES: &[(&str, &[&str])] = &[
    (
        "ls",
        &[
            "cloudkit ls s3://bucket/logs/",
            "cloudkit ls -rl --human-readable --summarize gs://bucket",
            "cloudkit ls --jsonl -r az://container/data",
        ],
    ),
    (
        "cp",
        &[
            "cloudkit cp ./report.pdf s3://bucket/reports/",
            "cloudkit cp s3://bucket/data.csv .",
            "cloudkit cp -r ./site gs://bucket/site --exclude '*.tmp'",
            "cloudkit cp -r s3://bucket/logs az://container/logs --concurrency 16",
        ],
    ),
    (
        "mv",
        &["cloudkit mv s3://bucket/inbox/a.csv s3://bucket/done/", "cloudkit mv -r ./outgoing gs://bucket/incoming"],
    ),
    ("rm", &["cloudkit rm s3://bucket/old.csv", "cloudkit rm -r --yes gs://bucket/tmp/"]),
    ("cat", &["cloudkit cat s3://bucket/config.json | jq .", "cloudkit cat az://container/big.log.gz | gunzip | less"]),
    ("stat", &["cloudkit stat gs://bucket/image.png", "cloudkit stat --json s3://bucket/a.txt"]),
    (
        "presign",
        &[
            "cloudkit presign s3://bucket/report.pdf --expires 1h",
            "cloudkit presign gs://bucket/upload.bin --expires 15m --method put",
        ],
    ),
    (
        "mb",
        &[
            "cloudkit mb s3://my-new-bucket --region eu-west-1",
            "cloudkit mb az://my-container",
            "cloudkit mb gs://my-bucket",
        ],
    ),
    ("rb", &["cloudkit rb s3://old-bucket", "cloudkit rb --force gs://scratch-bucket"]),
    (
        "completions",
        &[
            "cloudkit completions bash > ~/.local/share/bash-completion/completions/cloudkit",
            "cloudkit completions zsh > \"${fpath[1]}/_cloudkit\"",
            "cloudkit completions fish > ~/.config/fish/completions/cloudkit.fish",
        ],
    ),
    (
        "instances ls",
        &[
            "cloudkit instances ls --provider aws --region us-east-1",
            "cloudkit instances ls --provider azure --resource-group my-rg --state running",
            "cloudkit instances ls --provider gcp --zone us-central1-a --tag env=prod --jsonl",
        ],
    ),
    ("instances start", &["cloudkit instances start --wait ec2:us-east-1:i-0abc123"]),
    ("instances stop", &["cloudkit instances stop gce:my-project/us-central1-a/web-1"]),
    ("instances reboot", &["cloudkit instances reboot azure:0000-1111/my-rg/web-1"]),
    ("instances terminate", &["cloudkit instances terminate --wait ec2:us-east-1:i-0abc123"]),
    ("instances wait", &["cloudkit instances wait ec2:us-east-1:i-0abc123 --state running --timeout 10m"]),
];

/// The command line: [`Cli`] with each subcommand's [`EXAMPLES`] after its help.
fn command() -> clap::Command {
    with_examples(Cli::command(), "")
}

/// `command`'s subcommands (their path starting with `parent`), each with its examples.
fn with_examples(command: clap::Command, parent: &str) -> clap::Command {
    command.mut_subcommands(|sub| {
        let path = format!("{parent}{}", sub.get_name());
        let sub = with_examples(sub, &format!("{path} "));
        match EXAMPLES.iter().find(|(p, _)| *p == path) {
            Some((_, examples)) => sub.after_help(format!("Examples:\n  {}", examples.join("\n  "))),
            None => sub,
        }
    })
}

#[derive(Debug, Subcommand)]
enum Command {
    /// List objects and prefixes.
    Ls(LsArgs),
    /// Copy objects or files; -r copies a prefix or directory tree.
    Cp(TransferArgs),
    /// Move objects or files (copy, then delete the source); -r moves a tree.
    Mv(TransferArgs),
    /// Copy what is missing at the destination or differs from the source; --delete removes
    /// extras.
    #[command(after_help = SYNC)]
    Sync(SyncArgs),
    /// Remove an object; -r removes everything under a prefix.
    Rm(RmArgs),
    /// Stream an object to stdout.
    Cat(UrlArg),
    /// Show all metadata of an object.
    Stat(UrlArg),
    /// Print a URL that allows one operation on an object without credentials.
    Presign(PresignArgs),
    /// Make a bucket (S3, GCS) or container (Azure).
    Mb(BucketArg),
    /// Remove a bucket or container (empty, or with --force everything in it first).
    Rb(RbArgs),
    /// List, start, stop, reboot, terminate and wait for virtual machines (EC2, Azure, Compute
    /// Engine).
    #[command(subcommand, after_help = INSTANCES)]
    Instances(InstancesCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ShellArg {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

#[derive(Debug, Args)]
struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum, ignore_case = true)]
    shell: ShellArg,
}

const INSTANCES: &str = "\
Instance ids are cloudkit's neutral ids: ec2:<region>:<instance-id>,
azure:<subscription>/<resource-group>/<vm-name>, gce:<project>/<zone>/<name>; the id picks the
provider, region, subscription, project and zone. Credentials come from the usual environment and
profile files (AWS_*, AZURE_* / az login, Google ADC). CLOUDKIT_AZURE_EMULATOR=1 allows plain http to
a loopback Azure Resource Manager emulator.

Examples:
  cloudkit instances ls --provider aws --region eu-west-1 --state running --tag env=prod
  cloudkit instances stop --wait ec2:us-east-1:i-0abc123 ec2:us-east-1:i-0def456
  cloudkit instances wait azure:0000-1111/my-rg/web-1 --state running --timeout 10m";

#[derive(Debug, Subcommand)]
enum InstancesCommand {
    /// List instances with their state, size, launch time, addresses and tags.
    Ls(InstancesLsArgs),
    /// Start instances.
    Start(InstanceActionArgs),
    /// Stop instances (EC2 stop, Azure deallocate, Compute Engine stop).
    Stop(InstanceActionArgs),
    /// Reboot instances.
    Reboot(InstanceActionArgs),
    /// Terminate (delete) instances.
    Terminate(InstanceActionArgs),
    /// Wait until an instance reaches a state.
    Wait(InstanceWaitArgs),
}

/// `--state`: one of the neutral states a wait or a filter can ask for, case ignored.
fn state_parser() -> impl clap::builder::TypedValueParser<Value = InstanceState> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(InstanceState::KNOWN.map(InstanceState::as_str))
        .try_map(|name| name.parse::<InstanceState>())
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ProviderArg {
    /// EC2 (--region, or the AWS configuration's region).
    Aws,
    /// Azure virtual machines (--subscription, --resource-group).
    Azure,
    /// Compute Engine (--project, --zone).
    Gcp,
}

#[derive(Debug, Args)]
struct InstancesLsArgs {
    /// The cloud.
    #[arg(long, value_enum, ignore_case = true)]
    provider: ProviderArg,
    /// Compute Engine zone (all zones without it).
    #[arg(long, value_name = "ZONE")]
    zone: Option<String>,
    /// Google Cloud project (default: GOOGLE_CLOUD_PROJECT or the credentials' project).
    #[arg(long, value_name = "PROJECT")]
    project: Option<String>,
    /// Azure resource group (all groups without it).
    #[arg(long, value_name = "GROUP")]
    resource_group: Option<String>,
    /// Azure subscription (default: AZURE_SUBSCRIPTION_ID).
    #[arg(long, value_name = "ID")]
    subscription: Option<String>,
    /// Only instances in this state (repeatable: any of them).
    #[arg(long, value_parser = state_parser(), ignore_case = true)]
    state: Vec<InstanceState>,
    /// Only instances carrying this tag or label (repeatable: all of them).
    #[arg(long, value_name = "KEY=VALUE", value_parser = instances::parse_tag)]
    tag: Vec<(String, String)>,
}

#[derive(Debug, Args)]
struct InstanceActionArgs {
    /// Instance ids (ec2:REGION:ID, azure:SUBSCRIPTION/GROUP/VM, gce:PROJECT/ZONE/NAME).
    #[arg(required = true, value_name = "ID")]
    ids: Vec<String>,
    /// Wait until each instance reaches the state the action leads to.
    #[arg(long)]
    wait: bool,
    /// How long --wait waits for each instance.
    #[arg(long, default_value = "10m", value_parser = parse_duration, requires = "wait")]
    timeout: std::time::Duration,
}

#[derive(Debug, Args)]
struct InstanceWaitArgs {
    /// The instance id.
    #[arg(value_name = "ID")]
    id: String,
    /// The state to wait for.
    #[arg(long, value_parser = state_parser(), ignore_case = true)]
    state: InstanceState,
    /// How long to wait: seconds, or a number with s, m, h or d.
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    timeout: std::time::Duration,
}

#[derive(Debug, Args)]
struct BucketArg {
    /// The bucket or container URL (s3://name, az://name, gs://name).
    url: String,
}

#[derive(Debug, Args)]
struct RbArgs {
    /// The bucket or container URL (s3://name, az://name, gs://name).
    url: String,
    /// Remove every object in it first (as `aws s3 rb --force`; no confirmation is asked).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
struct LsArgs {
    /// The location (a bucket, prefix or object).
    url: String,
    /// List everything under the prefix, not just one level.
    #[arg(short, long)]
    recursive: bool,
    /// Show the time, size and ETag of each object.
    #[arg(short, long)]
    long: bool,
    /// Sizes in KiB, MiB, GiB, ….
    #[arg(long)]
    human_readable: bool,
    /// Print the number of objects and their total size at the end.
    #[arg(long)]
    summarize: bool,
}

#[derive(Debug, Args)]
struct TransferArgs {
    /// Source location.
    src: String,
    /// Destination location (a trailing '/' or an existing directory keeps the source's name).
    dst: String,
    /// Copy everything under the source prefix or directory.
    #[arg(short, long)]
    recursive: bool,
    #[command(flatten)]
    how: TransferHow,
}

/// What cp, mv and sync transfer and how: --include/--exclude, --concurrency, --dry-run.
#[derive(Debug, Args)]
struct TransferHow {
    /// Transfer only keys matching this pattern (`*`, `?`, `**`; without '/', matched against the
    /// file name; with '/', against the path relative to the source). Everything is included to
    /// start with; the last matching --include/--exclude on the command line decides.
    #[arg(long, value_name = "GLOB")]
    include: Vec<String>,
    /// Skip keys matching this pattern (same syntax as --include; sync neither copies nor removes
    /// them).
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Objects transferred at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..=1024))]
    concurrency: u16,
    /// Print what would be done (sync: each copy with its reason, and the removals), without doing
    /// it.
    #[arg(long)]
    dry_run: bool,
}

const SYNC: &str = "\
An object is copied when the destination has none, when the sizes differ, when both sides are S3
and their (single-part) ETags differ, and otherwise when the source was modified after the
destination. --delete removes destination objects the source does not have (--include/--exclude
limit both the copies and the removals).

Examples:
  cloudkit sync ./site s3://bucket/site
  cloudkit sync --delete --dry-run s3://bucket/data gs://bucket/data
  cloudkit sync gs://bucket/backup ./restore --exclude '*.tmp'";

#[derive(Debug, Args)]
struct SyncArgs {
    /// Source directory or prefix.
    src: String,
    /// Destination directory or prefix.
    dst: String,
    /// Remove destination objects that the source does not have.
    #[arg(long)]
    delete: bool,
    #[command(flatten)]
    how: TransferHow,
}

#[derive(Debug, Args)]
struct RmArgs {
    /// The object (or, with -r, the prefix) to remove.
    url: String,
    /// Remove everything under the prefix.
    #[arg(short, long)]
    recursive: bool,
    /// Do not ask for confirmation (it is asked only when stdin is a terminal).
    #[arg(short, long)]
    yes: bool,
    /// Remove only keys matching this pattern (with -r).
    #[arg(long, value_name = "GLOB", requires = "recursive")]
    include: Vec<String>,
    /// Keep keys matching this pattern (with -r).
    #[arg(long, value_name = "GLOB", requires = "recursive")]
    exclude: Vec<String>,
    /// Print what would be removed, without removing it.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, Args)]
struct UrlArg {
    /// The object.
    url: String,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Method {
    /// Download.
    Get,
    /// Upload.
    Put,
    /// Metadata.
    Head,
    /// Delete.
    Delete,
}

#[derive(Debug, Args)]
struct PresignArgs {
    /// The object.
    url: String,
    /// How long the URL stays valid: seconds, or a number with s, m, h or d.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    expires: std::time::Duration,
    /// The operation the URL allows.
    #[arg(long, value_enum, ignore_case = true, default_value = "get")]
    method: Method,
}

/// `900`, `900s`, `15m`, `1h`, `7d`.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: u64 = number.parse().map_err(|_| format!("{text:?}: expected e.g. 900, 15m, 1h or 7d"))?;
    let seconds = match unit {
        "s" => Some(n),
        "m" => n.checked_mul(60),
        "h" => n.checked_mul(3600),
        "d" => n.checked_mul(86_400),
        _ => None,
    };
    match seconds {
        Some(0) => Err("the expiry must be at least one second".to_owned()),
        Some(s) => Ok(std::time::Duration::from_secs(s)),
        None => Err(format!("{text:?}: expected e.g. 900, 15m, 1h or 7d")),
    }
}

/// The `--include` / `--exclude` filters of a subcommand, in command-line order.
fn filters(matches: Option<&ArgMatches>) -> Filters {
    let mut rules = Vec::new();
    if let Some(m) = matches {
        for (id, include) in [("include", true), ("exclude", false)] {
            if let (Some(indices), Some(values)) = (m.indices_of(id), m.get_many::<String>(id)) {
                rules.extend(indices.zip(values).map(|(i, v)| (i, include, v.clone())));
            }
        }
    }
    Filters::new(rules)
}

fn init_tracing(verbose: u8, quiet: bool) {
    let level = match (quiet, verbose) {
        (true, _) => tracing::Level::ERROR,
        (false, 0) => tracing::Level::WARN,
        (false, 1) => tracing::Level::INFO,
        (false, 2) => tracing::Level::DEBUG,
        _ => tracing::Level::TRACE,
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(level)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(verbose > 1)
        .try_init();
}

async fn run(cli: Cli, matches: &ArgMatches) -> error::Result<()> {
    let format = match (cli.json, cli.jsonl) {
        (true, _) => Format::Json,
        (false, true) => Format::JsonLines,
        _ => Format::Human,
    };
    let out = Output { format, quiet: cli.quiet };
    let aws = AwsOptions { profile: cli.profile, region: cli.region, endpoint_url: cli.endpoint_url };
    let sub = matches.subcommand().map(|(_, m)| m);
    // Commands that write stop cleanly on Ctrl-C; the others keep its default effect.
    if matches!(cli.command, Command::Cp(_) | Command::Mv(_) | Command::Sync(_) | Command::Rm(_) | Command::Rb(_)) {
        interrupt::install();
    }
    match cli.command {
        Command::Ls(a) => {
            let options = commands::LsOptions {
                recursive: a.recursive,
                long: a.long,
                human_readable: a.human_readable,
                summarize: a.summarize,
            };
            commands::ls(&a.url, &aws, out, options).await
        }
        Command::Cp(a) | Command::Mv(a) => {
            let is_move = matches!(matches.subcommand_name(), Some("mv"));
            let plan = commands::TransferOptions {
                recursive: a.recursive,
                filters: filters(sub),
                concurrency: usize::from(a.how.concurrency),
                dry_run: a.how.dry_run,
                is_move,
            };
            commands::transfer(&a.src, &a.dst, &aws, out, plan).await
        }
        Command::Sync(a) => {
            let options = sync::SyncOptions {
                delete: a.delete,
                filters: filters(sub),
                concurrency: usize::from(a.how.concurrency),
                dry_run: a.how.dry_run,
            };
            sync::sync(&a.src, &a.dst, &aws, out, options).await
        }
        Command::Rm(a) => {
            let options =
                commands::RmOptions { recursive: a.recursive, yes: a.yes, filters: filters(sub), dry_run: a.dry_run };
            commands::rm(&a.url, &aws, out, options).await
        }
        Command::Mb(a) => buckets::bucket(&a.url, &aws, out, BucketAction::Make).await,
        Command::Rb(a) => {
            let action = if a.force { BucketAction::RemoveWithObjects } else { BucketAction::Remove };
            buckets::bucket(&a.url, &aws, out, action).await
        }
        Command::Cat(a) => commands::cat(&a.url, &aws).await,
        Command::Stat(a) => commands::stat(&a.url, &aws, out).await,
        Command::Presign(a) => {
            let method = match a.method {
                Method::Get => cloudkit::store::SignedMethod::Get,
                Method::Put => cloudkit::store::SignedMethod::Put,
                Method::Head => cloudkit::store::SignedMethod::Head,
                Method::Delete => cloudkit::store::SignedMethod::Delete,
            };
            commands::presign(&a.url, &aws, out, method, a.expires).await
        }
        Command::Instances(c) => instances_command(c, &aws, out).await,
        Command::Completions(a) => {
            let shell = match a.shell {
                ShellArg::Bash => clap_complete::Shell::Bash,
                ShellArg::Zsh => clap_complete::Shell::Zsh,
                ShellArg::Fish => clap_complete::Shell::Fish,
            };
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command(), "cloudkit", &mut script);
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(&script).and_then(|()| stdout.flush()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
        }
    }
}

async fn instances_command(command: InstancesCommand, aws: &AwsOptions, out: Output) -> error::Result<()> {
    use instances::{Action, Provider};
    let (action, a) = match command {
        InstancesCommand::Ls(a) => {
            let provider = match a.provider {
                ProviderArg::Aws => Provider::Aws,
                ProviderArg::Azure => Provider::Azure,
                ProviderArg::Gcp => Provider::Gcp,
            };
            let scope = instances::Scope {
                zone: a.zone,
                resource_group: a.resource_group,
                subscription: a.subscription,
                project: a.project,
            };
            let mut filter = cloudkit::compute::InstanceFilter::default();
            for state in a.state {
                filter = filter.state(state);
            }
            for (k, v) in a.tag {
                filter = filter.tag(k, v);
            }
            return instances::ls(provider, &scope, aws, out, filter).await;
        }
        InstancesCommand::Wait(a) => return instances::wait(&a.id, a.state, a.timeout, aws, out).await,
        InstancesCommand::Start(a) => (Action::Start, a),
        InstancesCommand::Stop(a) => (Action::Stop, a),
        InstancesCommand::Reboot(a) => (Action::Reboot, a),
        InstancesCommand::Terminate(a) => (Action::Terminate, a),
    };
    instances::act(action, &a.ids, a.wait.then_some(a.timeout), aws, out).await
}

fn main() -> ExitCode {
    // Usage errors end here with clap's message and exit code 2.
    let matches = command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    init_tracing(cli.verbose, cli.quiet);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cloudkit: error: could not start the async runtime: {e}");
            return ExitCode::from(error::EXIT_FAILURE);
        }
    };
    match runtime.block_on(run(cli, &matches)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cloudkit: error: {e}");
            ExitCode::from(e.code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_is_consistent() {
        command().debug_assert();
    }

    /// Every subcommand's help ends with examples, and every entry of [`EXAMPLES`] names one.
    #[test]
    fn every_subcommand_has_examples() {
        fn walk(command: &clap::Command, parent: &str, seen: &mut Vec<String>) {
            for sub in command.get_subcommands() {
                let path = format!("{parent}{}", sub.get_name());
                let help = sub.get_after_help().map(ToString::to_string).unwrap_or_default();
                assert!(help.contains("Examples:\n  cloudkit "), "{path}: {help:?}");
                walk(sub, &format!("{path} "), seen);
                seen.push(path);
            }
        }
        let mut seen = Vec::new();
        walk(&command(), "", &mut seen);
        for (path, _) in EXAMPLES {
            assert!(seen.iter().any(|s| s == path), "{path} is not a subcommand");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("900"), Ok(std::time::Duration::from_secs(900)));
        assert_eq!(parse_duration("15m"), Ok(std::time::Duration::from_secs(900)));
        assert_eq!(parse_duration("1h"), Ok(std::time::Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Ok(std::time::Duration::from_secs(604_800)));
        assert!(parse_duration("0").is_err());
        assert!(parse_duration("1w").is_err());
        assert!(parse_duration("h").is_err());
    }

    #[test]
    fn filters_keep_command_line_order() {
        let m = command()
            .try_get_matches_from(["cloudkit", "cp", "-r", "a", "b", "--exclude", "*", "--include", "*.txt"])
            .unwrap();
        let f = filters(m.subcommand().map(|(_, m)| m));
        assert!(f.selects("x.txt"));
        assert!(!f.selects("x.bin"));
    }
}
