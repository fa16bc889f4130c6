//! The commands.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use cloudkit::store::{
    DownloadOptions, ObjectKey, ObjectMeta, ObjectStoreExt, PutOptions, SignedMethod, UploadOptions, UploadSource,
};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::error::{CliError, Result};
use crate::glob::Filters;
use crate::interrupt;
use crate::location::{AwsOptions, Location, Mode, open};
use crate::output::{Output, format_time, meta_json, say, size_text};
use crate::progress::{FileProgress, Progress, Spinner};

/// Parts (or ranges) of one object in flight at once: 8 when objects go one at a time, fewer as
/// more objects run at once, never below 4. Each part of an upload holds the backend's part size
/// (8 MiB on S3 and GCS, 4 MiB on Azure) of memory at most.
fn parts_in_flight(run: &Run<'_>) -> usize {
    (32 / run.concurrency.max(1)).clamp(4, 10)
}

/// `ls` flags.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LsOptions {
    /// `-r`.
    pub(crate) recursive: bool,
    /// `-l`.
    pub(crate) long: bool,
    /// `--human-readable`.
    pub(crate) human_readable: bool,
    /// `--summarize`.
    pub(crate) summarize: bool,
}

/// The name an entry is shown under: relative to the listed prefix for one level, the whole key
/// for a recursive listing (as `aws s3 ls`).
fn entry_name(key: &ObjectKey, prefix: &ObjectKey, recursive: bool) -> String {
    if recursive {
        return key.as_str().to_owned();
    }
    key.strip_prefix(prefix).or(key.filename()).unwrap_or(key.as_str()).to_owned()
}

fn object_line(meta: &ObjectMeta, name: &str, options: LsOptions) -> String {
    if options.long {
        let time = meta.last_modified.map(format_time).unwrap_or_else(|| "-".to_owned());
        let etag = meta.etag.as_deref().unwrap_or("-");
        format!("{time:<20} {:>12} {etag:<36} {name}", size_text(meta.size, options.human_readable))
    } else if options.human_readable {
        format!("{:>12} {name}", size_text(meta.size, true))
    } else {
        name.to_owned()
    }
}

fn prefix_line(name: &str, options: LsOptions) -> String {
    if options.long { format!("{:>33} PRE {name}/", "") } else { format!("PRE {name}/") }
}

/// What a listing has shown so far.
struct Shown {
    /// The objects (kept for `--json` only).
    objects: Vec<ObjectMeta>,
    count: u64,
    total: u64,
}

/// `ls URL`.
pub(crate) async fn ls(url: &str, aws: &AwsOptions, out: Output, options: LsOptions) -> Result<()> {
    let loc = open(url, aws, Mode::Read).await?;
    let mut shown = Shown { objects: Vec::new(), count: 0, total: 0 };
    let mut prefixes: Vec<ObjectKey> = Vec::new();
    let show_object = |meta: &ObjectMeta, shown: &mut Shown| {
        shown.count += 1;
        shown.total += meta.size;
        let name = entry_name(&meta.key, &loc.key, options.recursive);
        match out.format {
            crate::output::Format::Human => say!("{}", object_line(meta, &name, options)),
            crate::output::Format::JsonLines => {
                let mut v = meta_json(meta, &loc.display_key(&meta.key));
                v["type"] = json!("object");
                out.print_json(&v);
            }
            crate::output::Format::Json => shown.objects.push(meta.clone()),
        }
    };
    if options.recursive {
        // A spinner with the count while nothing else shows progress: the objects are collected
        // for one JSON document, or the listing goes to a file or a pipe.
        let spinner = if out.format == crate::output::Format::Json || !std::io::stdout().is_terminal() {
            Spinner::new(out, format!("listing {}", loc.display()))
        } else {
            Spinner::new(Output { quiet: true, ..out }, "")
        };
        let mut listing = loc.store.list(&loc.key);
        while let Some(meta) = listing.try_next().await? {
            show_object(&meta, &mut shown);
            if shown.count.is_multiple_of(1000) {
                spinner.set_message(format!("listing {}: {} objects", loc.display(), shown.count));
            }
        }
        drop(spinner);
        if shown.count == 0 && !loc.key.is_root() {
            match loc.store.head(&loc.key).await {
                Ok(meta) => show_object(&meta, &mut shown),
                Err(e) if e.is_not_found() => {
                    return Err(CliError::failure(format!("nothing found at {}", loc.display())));
                }
                Err(e) => return Err(e.into()),
            }
        }
    } else {
        let listing = match loc.store.list_with_delimiter(&loc.key).await {
            Ok(listing) => listing,
            // A local file is not a directory: its listing fails; it is shown below.
            Err(_) if !loc.key.is_root() => Default::default(),
            Err(e) => return Err(e.into()),
        };
        if listing.objects.is_empty() && listing.common_prefixes.is_empty() && !loc.key.is_root() {
            match loc.store.head(&loc.key).await {
                Ok(meta) => show_object(&meta, &mut shown),
                Err(e) if e.is_not_found() => {
                    return Err(CliError::failure(format!("nothing found at {}", loc.display())));
                }
                Err(e) => return Err(e.into()),
            }
        }
        for prefix in &listing.common_prefixes {
            let name = entry_name(prefix, &loc.key, false);
            match out.format {
                crate::output::Format::Human => say!("{}", prefix_line(&name, options)),
                crate::output::Format::JsonLines => out.print_json(
                    &json!({"type": "prefix", "prefix": format!("{name}/"), "url": format!("{}/", loc.display_key(prefix))}),
                ),
                _ => {}
            }
        }
        prefixes = listing.common_prefixes.clone();
        for meta in &listing.objects {
            show_object(meta, &mut shown);
        }
    }
    let Shown { objects, count, total } = shown;
    let summary = json!({"total_objects": count, "total_size": total});
    match out.format {
        crate::output::Format::Json => {
            let objects: Vec<Value> = objects.iter().map(|m| meta_json(m, &loc.display_key(&m.key))).collect();
            let prefixes: Vec<Value> = prefixes
                .iter()
                .map(|p| json!({"prefix": format!("{}/", entry_name(p, &loc.key, false)), "url": format!("{}/", loc.display_key(p))}))
                .collect();
            out.print_json(&json!({
                "url": loc.display(),
                "prefixes": prefixes,
                "objects": objects,
                "total_objects": count,
                "total_size": total,
            }));
        }
        crate::output::Format::JsonLines if options.summarize => {
            let mut v = summary;
            v["type"] = json!("summary");
            out.print_json(&v);
        }
        crate::output::Format::Human if options.summarize => {
            say!("");
            say!("Total Objects: {count}");
            say!("   Total Size: {}", size_text(total, options.human_readable));
        }
        _ => {}
    }
    Ok(())
}

/// `cat URL`: streams the object to stdout.
pub(crate) async fn cat(url: &str, aws: &AwsOptions) -> Result<()> {
    let loc = open(url, aws, Mode::Read).await?;
    require_object(&loc)?;
    let got = loc.store.get(&loc.key).await?;
    let mut body = got.body;
    let mut stdout = tokio::io::stdout();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| CliError::from_error(&format!("reading {}", loc.display()), &e))?;
        match stdout.write_all(&chunk).await {
            Ok(()) => {}
            // `cloudkit cat … | head`: the reader is gone; that is not a failure.
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    match stdout.flush().await {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn require_object(loc: &Location) -> Result<()> {
    if loc.key.is_root() || loc.is_dir {
        return Err(CliError::failure(format!("{} is a directory or prefix, not an object", loc.display())));
    }
    Ok(())
}

/// `stat URL`.
pub(crate) async fn stat(url: &str, aws: &AwsOptions, out: Output) -> Result<()> {
    let loc = open(url, aws, Mode::Read).await?;
    require_object(&loc)?;
    let meta = loc.store.head(&loc.key).await?;
    if out.json() {
        let mut v = meta_json(&meta, &loc.display());
        v["backend"] = json!(loc.store.backend());
        out.print_json(&v);
    } else {
        say!("URL:           {}", loc.display());
        say!("Key:           {}", meta.key);
        say!("Backend:       {}", loc.store.backend());
        say!("Size:          {}", meta.size);
        say!("Last modified: {}", meta.last_modified.map(format_time).unwrap_or_else(|| "-".to_owned()));
        say!("ETag:          {}", meta.etag.as_deref().unwrap_or("-"));
        say!("Content type:  {}", meta.content_type.as_deref().unwrap_or("-"));
        if meta.metadata.is_empty() {
            say!("Metadata:      -");
        } else {
            say!("Metadata:");
            for (k, v) in &meta.metadata {
                say!("  {k}: {v}");
            }
        }
    }
    Ok(())
}

/// `presign URL`.
pub(crate) async fn presign(
    url: &str,
    aws: &AwsOptions,
    out: Output,
    method: SignedMethod,
    expires: Duration,
) -> Result<()> {
    let loc = open(url, aws, Mode::Read).await?;
    require_object(&loc)?;
    let signed = loc.store.signed_url(method, &loc.key, expires).await?;
    if out.json() {
        out.print_json(&json!({
            "url": signed.as_str(),
            "method": format!("{method:?}").to_ascii_uppercase(),
            "expires_in_seconds": expires.as_secs(),
        }));
    } else {
        // The URL is the command's data: printed even with -q.
        say!("{signed}");
    }
    Ok(())
}

/// `rm` flags.
#[derive(Clone, Debug)]
pub(crate) struct RmOptions {
    /// `-r`.
    pub(crate) recursive: bool,
    /// `--yes`.
    pub(crate) yes: bool,
    /// `--include` / `--exclude`.
    pub(crate) filters: Filters,
    /// `--dry-run`.
    pub(crate) dry_run: bool,
}

/// Asks on the terminal; anything but `y`/`yes` is no.
fn confirm(question: &str) -> Result<bool> {
    let mut stderr = std::io::stderr();
    write!(stderr, "{question} [y/N] ")?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes"))
}

/// `rm URL`.
pub(crate) async fn rm(url: &str, aws: &AwsOptions, out: Output, options: RmOptions) -> Result<()> {
    let loc = open(url, aws, Mode::Read).await?;
    if !options.recursive {
        require_object(&loc)?;
        // A delete of a missing key succeeds on every store; say so instead.
        loc.store.head(&loc.key).await?;
        if !options.dry_run {
            loc.store.delete(&loc.key).await?;
        }
        report_removed(&out, &loc.display(), options.dry_run);
        return Ok(());
    }
    let listing = loc
        .store
        .list(&loc.key)
        .try_filter(|meta| {
            let rel = meta.key.strip_prefix(&loc.key).unwrap_or(meta.key.as_str());
            futures::future::ready(options.filters.selects(rel))
        })
        .map_ok(|meta| meta.key)
        .try_collect::<Vec<ObjectKey>>();
    let keys = {
        let _spinner = Spinner::new(out, format!("listing {}", loc.display()));
        interrupt::or_interrupted("listing", async { Ok(listing.await?) }).await?
    };
    if options.dry_run {
        for key in &keys {
            report_removed(&out, &loc.display_key(key), true);
        }
        return Ok(());
    }
    if keys.is_empty() {
        return Ok(());
    }
    if !options.yes
        && std::io::stdin().is_terminal()
        && !confirm(&format!("Remove {} objects under {}?", keys.len(), loc.display()))?
    {
        return Err(CliError::failure("nothing removed"));
    }
    let total = keys.len();
    let mut failures = Vec::new();
    let mut removed = 0usize;
    let results = loc.store.delete_stream(futures::stream::iter(keys).boxed());
    let interrupted = interrupt::drain(results, |result| match result {
        Ok(key) => {
            removed += 1;
            report_removed(&out, &loc.display_key(&key), false);
        }
        Err(e) => failures.push(crate::error::chain(&e)),
    })
    .await;
    if interrupted {
        eprintln!(
            "Interrupted: {removed} of {total} objects under {} confirmed removed; a batch in flight may have removed some of the others",
            loc.display()
        );
        return Err(CliError::interrupted(format!("interrupted: removed {removed} of {total} objects")));
    }
    if failures.is_empty() {
        return Ok(());
    }
    eprintln!("Failed to remove {} of {total} objects:", failures.len());
    for f in &failures {
        eprintln!("  {f}");
    }
    Err(CliError::partial(failures.len(), total))
}

pub(crate) fn report_removed(out: &Output, url: &str, dry_run: bool) {
    if out.json() {
        out.print_json(&json!({"removed": url, "dry_run": dry_run}));
    } else if !out.quiet {
        let prefix = if dry_run { "(dry run) " } else { "" };
        say!("{prefix}delete: {url}");
    }
}

/// `cp` / `mv` flags.
#[derive(Clone, Debug)]
pub(crate) struct TransferOptions {
    /// `-r`.
    pub(crate) recursive: bool,
    /// `--include` / `--exclude`.
    pub(crate) filters: Filters,
    /// `--concurrency`.
    pub(crate) concurrency: usize,
    /// `--dry-run`.
    pub(crate) dry_run: bool,
    /// `mv` rather than `cp`.
    pub(crate) is_move: bool,
}

/// One object to transfer.
#[derive(Clone, Debug)]
pub(crate) struct Job {
    /// The source key.
    pub(crate) from: ObjectKey,
    /// The destination key.
    pub(crate) to: ObjectKey,
    /// The size, when a listing told it.
    pub(crate) size: Option<u64>,
}

/// `cp SRC DST` / `mv SRC DST`.
pub(crate) async fn transfer(
    src_arg: &str,
    dst_arg: &str,
    aws: &AwsOptions,
    out: Output,
    options: TransferOptions,
) -> Result<()> {
    let src = open(src_arg, aws, Mode::Read).await?;
    let dst_mode = if options.dry_run { Mode::Plan } else { Mode::Write };
    let mut dst = open(dst_arg, aws, dst_mode).await?;
    // One store on both sides: copies are server-side, and memory:// is one store, not two.
    let same_store = src.identity == dst.identity;
    if same_store {
        dst.store = Arc::clone(&src.store);
    }
    let jobs = {
        let _spinner = Spinner::new(out, format!("listing {}", src.display()));
        interrupt::or_interrupted("listing", plan(&src, &dst, &options)).await?
    };
    let verb = if options.is_move { "move" } else { "copy" };
    let total = jobs.len();

    if options.dry_run {
        let mut planned = Vec::new();
        for job in &jobs {
            let (from, to) = (src.display_key(&job.from), dst.display_key(&job.to));
            match out.format {
                crate::output::Format::Human if !out.quiet => say!("(dry run) {verb}: {from} to {to}"),
                crate::output::Format::JsonLines => {
                    out.print_json(&json!({"from": from, "to": to, "status": "planned"}))
                }
                _ => planned.push(json!({"from": from, "to": to, "size": job.size})),
            }
        }
        if out.format == crate::output::Format::Json {
            out.print_json(&json!({"operation": verb, "dry_run": true, "planned": planned}));
        }
        return Ok(());
    }

    let known: Option<u64> = jobs.iter().map(|j| j.size).sum();
    let mut progress = Progress::transfers(out, verb, total, known);
    let mut done = Vec::new();
    let mut failed = Vec::new();
    let mut bytes = 0u64;
    let items = jobs.into_iter().map(|job| (job, ())).collect();
    let run = Run { src: &src, dst: &dst, same_store, is_move: options.is_move, concurrency: options.concurrency };
    let unfinished = run
        .jobs(items, &progress, |outcome: Finished<()>| match &outcome.result {
            Ok(size) => {
                bytes += size;
                match out.format {
                    crate::output::Format::Human if !out.quiet => {
                        progress.say(|| say!("{verb}: {} to {}", outcome.from, outcome.to))
                    }
                    crate::output::Format::JsonLines => {
                        out.print_json(&json!({"from": outcome.from, "to": outcome.to, "size": size, "status": "ok"}))
                    }
                    _ => {}
                }
                done.push(outcome);
            }
            Err(error) => {
                if out.format == crate::output::Format::JsonLines {
                    out.print_json(
                        &json!({"from": outcome.from, "to": outcome.to, "status": "failed", "error": error}),
                    );
                }
                failed.push(outcome);
            }
        })
        .await;
    progress.finish();

    if out.format == crate::output::Format::Json {
        let ok: Vec<Value> =
            done.iter().map(|o| json!({"from": o.from, "to": o.to, "size": o.result.as_ref().ok()})).collect();
        let bad: Vec<Value> =
            failed.iter().map(|o| json!({"from": o.from, "to": o.to, "error": o.result.as_ref().err()})).collect();
        let mut doc = json!({
            "operation": verb,
            "dry_run": false,
            "transferred": ok,
            "failed": bad,
            "total_bytes": bytes,
        });
        if let Some(unfinished) = &unfinished {
            doc["interrupted"] = json!(true);
            doc["not_transferred"] = unfinished.iter().map(|(from, to)| json!({"from": from, "to": to})).collect();
        }
        out.print_json(&doc);
    }
    if let Some(unfinished) = unfinished {
        let past = if options.is_move { "moved" } else { "copied" };
        let failures: Vec<(String, String)> = failed
            .iter()
            .map(|o| (format!("{verb} {} to {}", o.from, o.to), o.result.as_ref().err().cloned().unwrap_or_default()))
            .collect();
        return Err(interrupted(out, &format!("{past} {} of {total} objects", done.len()), &failures, &unfinished));
    }
    if failed.is_empty() {
        return Ok(());
    }
    if !options.recursive {
        let message = failed.pop().and_then(|o| o.result.err()).unwrap_or_default();
        return Err(CliError::failure(message));
    }
    failed.sort_by(|a, b| a.from.cmp(&b.from));
    eprintln!("Failed to {verb} {} of {total} objects:", failed.len());
    for o in &failed {
        eprintln!("  {} to {}: {}", o.from, o.to, o.result.as_ref().err().map(String::as_str).unwrap_or_default());
    }
    Err(CliError::partial(failed.len(), total))
}

/// The objects a `cp`/`mv` transfers and where each goes.
async fn plan(src: &Location, dst: &Location, options: &TransferOptions) -> Result<Vec<Job>> {
    if !options.recursive {
        require_object(src).map_err(|_| {
            CliError::failure(format!("{} is a directory or prefix: use -r to copy what is under it", src.display()))
        })?;
        let to = if dst.is_dir {
            let name = src.key.filename().unwrap_or(src.key.as_str());
            dst.key.join(name)?
        } else {
            dst.key.clone()
        };
        if dst.key.is_root() && !dst.is_dir {
            return Err(CliError::failure(format!("{}: the destination needs a key", dst.display())));
        }
        return Ok(vec![Job { from: src.key.clone(), to, size: None }]);
    }
    let listed: Vec<ObjectMeta> = src.store.list(&src.key).try_collect().await?;
    if listed.is_empty() && !src.key.is_root() && src.store.exists(&src.key).await? {
        return Err(CliError::failure(format!(
            "{} is an object, not a prefix or directory: copy it without -r",
            src.display()
        )));
    }
    let mut jobs = Vec::with_capacity(listed.len());
    for meta in listed {
        let Some(rel) = meta.key.strip_prefix(&src.key) else { continue };
        if !options.filters.selects(rel) {
            continue;
        }
        let to = dst.key.join(rel)?;
        jobs.push(Job { from: meta.key.clone(), to, size: Some(meta.size) });
    }
    Ok(jobs)
}

/// The two ends of a set of transfers and how they run.
#[derive(Clone, Copy)]
pub(crate) struct Run<'a> {
    /// Where the objects come from.
    pub(crate) src: &'a Location,
    /// Where they go.
    pub(crate) dst: &'a Location,
    /// One store on both sides (server-side copies).
    pub(crate) same_store: bool,
    /// Delete each source after its copy.
    pub(crate) is_move: bool,
    /// Objects at once.
    pub(crate) concurrency: usize,
}

/// What happened to one job.
pub(crate) struct Finished<T> {
    /// What the caller attached to the job.
    pub(crate) tag: T,
    /// The source, as shown.
    pub(crate) from: String,
    /// The destination, as shown.
    pub(crate) to: String,
    /// The bytes transferred, or why not.
    pub(crate) result: std::result::Result<u64, String>,
}

impl Run<'_> {
    /// Runs `jobs`, `concurrency` at a time, with a bar each; `each` sees every finished job.
    /// When Ctrl-C stops the run, the transfers in flight are dropped (their uploads aborted,
    /// temporary files removed), their cleanup is waited for, and the jobs that did not finish
    /// are returned (`None`: the run went to the end).
    pub(crate) async fn jobs<T>(
        &self,
        jobs: Vec<(Job, T)>,
        progress: &Progress,
        mut each: impl FnMut(Finished<T>),
    ) -> Option<Vec<(String, String)>> {
        let names: Vec<(String, String)> =
            jobs.iter().map(|(j, _)| (self.src.display_key(&j.from), self.dst.display_key(&j.to))).collect();
        let mut finished = vec![false; jobs.len()];
        // What runs at once: the objects (at most as many as there are) share the part budget.
        let run = Run { concurrency: self.concurrency.min(jobs.len()).max(1), ..*self };
        let run = &run;
        let names_ref = &names;
        let transfers = futures::stream::iter(jobs.into_iter().enumerate())
            .map(|(i, (job, tag))| async move {
                let file = progress.file(&names_ref[i].0, job.size);
                let result = transfer_one(run, &job, &file).await.map_err(|e| e.message);
                drop(file);
                progress.object_done();
                (i, tag, result)
            })
            .buffer_unordered(run.concurrency);
        // The transfers still in flight when Ctrl-C comes are dropped in `drain`.
        let interrupted = interrupt::drain(transfers, |(i, tag, result)| {
            finished[i] = true;
            let (from, to) = names_ref[i].clone();
            each(Finished { tag, from, to, result });
        })
        .await;
        if !interrupted {
            return None;
        }
        interrupt::settle().await;
        Some(names.into_iter().zip(finished).filter(|(_, done)| !done).map(|(n, _)| n).collect())
    }
}

/// The error and the summary after Ctrl-C stopped a transfer: what was done, what failed, what
/// was not done (on stderr; `--jsonl` also gets one line per object not transferred).
pub(crate) fn interrupted(
    out: Output,
    done: &str,
    failed: &[(String, String)],
    unfinished: &[(String, String)],
) -> CliError {
    const SHOWN: usize = 20;
    if out.format == crate::output::Format::JsonLines {
        for (from, to) in unfinished {
            out.print_json(&json!({"from": from, "to": to, "status": "not_transferred"}));
        }
    }
    let failed_text = if failed.is_empty() { String::new() } else { format!(", {} failed", failed.len()) };
    eprintln!("Interrupted: {done}{failed_text}; not transferred ({}):", unfinished.len());
    for (from, to) in unfinished.iter().take(SHOWN) {
        eprintln!("  {from} to {to}");
    }
    if unfinished.len() > SHOWN {
        eprintln!("  … and {} more", unfinished.len() - SHOWN);
    }
    for (what, error) in failed {
        eprintln!("  failed: {what}: {error}");
    }
    CliError::interrupted(format!("interrupted: {done}"))
}

/// Transfers one object: server-side inside one store, else a streaming read into a streaming
/// upload (`part_size × UPLOAD_PART_CONCURRENCY` bytes of memory at most).
async fn transfer_one(run: &Run<'_>, job: &Job, file: &FileProgress) -> Result<u64> {
    let Run { src, dst, same_store, is_move, .. } = *run;
    if same_store {
        let size = match job.size {
            Some(size) => size,
            None => {
                let size = src.store.head(&job.from).await?.size;
                file.discovered_size(size);
                size
            }
        };
        if is_move {
            src.store.rename(&job.from, &job.to).await?;
        } else {
            src.store.copy(&job.from, &job.to).await?;
        }
        file.meter().add(size);
        return Ok(size);
    }
    if let Some(local) = dst.local.as_ref().filter(|_| dst.plain_local && src.local.is_none()) {
        // Cloud to a plain local path: the source's parallel download (S3, Azure), straight into
        // the local store's write path.
        let meter = file.meter();
        let sized = job.size.is_some();
        let (seen, told) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(sized)));
        let options = DownloadOptions {
            concurrency: parts_in_flight(run),
            progress: Some(Arc::new(move |p: cloudkit::store::Progress| {
                if let Some(total) = p.total
                    && !told.swap(true, Ordering::Relaxed)
                {
                    meter.discovered_size(total);
                }
                let before = seen.fetch_max(p.transferred, Ordering::Relaxed);
                meter.add(p.transferred.saturating_sub(before));
            })),
        };
        let size = local.download_from(&job.to, src.store.as_ref(), &job.from, PutOptions::default(), options).await?;
        if is_move {
            src.store.delete(&job.from).await?;
        }
        return Ok(size);
    }
    let got = src.store.get(&job.from).await?;
    let size = got.meta.size;
    if job.size.is_none() {
        file.discovered_size(size);
    }
    let mut put = PutOptions::default();
    if !dst.plain_local {
        put.content_type = got.meta.content_type.clone();
        put.metadata = got.meta.metadata.clone();
        if let Err(e) = put.validate() {
            tracing::warn!("{}: user metadata not copied: {e}", src.display_key(&job.from));
            put.metadata.clear();
        }
    }
    let meter = file.meter();
    let body: UploadSource =
        got.body.map_err(std::io::Error::other).inspect_ok(move |chunk| meter.add(chunk.len() as u64)).boxed();
    let upload = UploadOptions { put, concurrency: parts_in_flight(run), ..UploadOptions::default() };
    dst.store.upload(&job.to, body, upload).await?;
    if is_move {
        src.store.delete(&job.from).await?;
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let prefix = ObjectKey::parse("a/b").unwrap();
        let key = ObjectKey::parse("a/b/c.txt").unwrap();
        assert_eq!(entry_name(&key, &prefix, false), "c.txt");
        assert_eq!(entry_name(&key, &prefix, true), "a/b/c.txt");
        assert_eq!(entry_name(&key, &key, false), "c.txt");
    }
}
