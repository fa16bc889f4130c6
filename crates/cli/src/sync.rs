//! `sync SRC DST`: copies what is missing at the destination or differs from the source, and with
//! `--delete` removes what the source does not have.

use std::collections::BTreeMap;
use std::sync::Arc;

use cloudkit::store::{ObjectKey, ObjectMeta, ObjectStoreExt};
use futures::{StreamExt, TryStreamExt};
use serde_json::{Value, json};

use crate::commands::{Finished, Job, Run, interrupted, report_removed};
use crate::error::{CliError, Result};
use crate::glob::Filters;
use crate::interrupt;
use crate::location::{AwsOptions, Location, Mode, open};
use crate::output::{Format, Output, say};
use crate::progress::{Progress, Spinner};

/// `sync` flags.
#[derive(Clone, Debug)]
pub(crate) struct SyncOptions {
    /// `--delete`.
    pub(crate) delete: bool,
    /// `--include` / `--exclude`.
    pub(crate) filters: Filters,
    /// `--concurrency`.
    pub(crate) concurrency: usize,
    /// `--dry-run`.
    pub(crate) dry_run: bool,
}

/// Why an object is copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The destination has no such object.
    Missing,
    /// The sizes differ.
    Size,
    /// Both sides have comparable ETags and they differ.
    Etag,
    /// The source was modified after the destination.
    Newer,
}

impl Reason {
    fn name(self) -> &'static str {
        match self {
            Reason::Missing => "missing",
            Reason::Size => "size differs",
            Reason::Etag => "etag differs",
            Reason::Newer => "source is newer",
        }
    }
}

/// Whether both ETags are content digests that can be compared: both stores are S3, and neither
/// ETag is a multipart one (`"…-N"`). Local, in-memory, Azure and GCS ETags are version markers
/// that differ between two copies of the same bytes.
fn comparable_etags<'a>(
    src_backend: &str,
    dst_backend: &str,
    src: Option<&'a str>,
    dst: Option<&'a str>,
) -> Option<(&'a str, &'a str)> {
    let (src, dst) = (src?, dst?);
    let digest = |etag: &str| !etag.trim_matches('"').contains('-');
    (src_backend == "s3" && dst_backend == "s3" && digest(src) && digest(dst)).then_some((src, dst))
}

/// Why `src` must be copied over `dst`, or `None` when the destination is up to date.
pub(crate) fn reason(
    src: &ObjectMeta,
    dst: Option<&ObjectMeta>,
    src_backend: &str,
    dst_backend: &str,
) -> Option<Reason> {
    let Some(dst) = dst else { return Some(Reason::Missing) };
    if src.size != dst.size {
        return Some(Reason::Size);
    }
    if let Some((a, b)) = comparable_etags(src_backend, dst_backend, src.etag.as_deref(), dst.etag.as_deref()) {
        return (a != b).then_some(Reason::Etag);
    }
    match (src.last_modified, dst.last_modified) {
        (Some(s), Some(d)) if s > d => Some(Reason::Newer),
        _ => None,
    }
}

/// Every object under `loc`'s key, by its path relative to the key, that the filters select. A
/// prefix that does not exist yet lists as empty.
async fn listing(loc: &Location, filters: &Filters) -> Result<BTreeMap<String, ObjectMeta>> {
    let listed: Vec<ObjectMeta> = match loc.store.list(&loc.key).try_collect().await {
        Ok(listed) => listed,
        Err(e) if e.is_not_found() => Vec::new(),
        Err(e) => return Err(e.into()),
    };
    Ok(listed
        .into_iter()
        .filter_map(|meta| {
            let rel = meta.key.strip_prefix(&loc.key)?.to_owned();
            filters.selects(&rel).then_some((rel, meta))
        })
        .collect())
}

/// Whether two locations of one store overlap (one is inside the other).
fn overlaps(a: &ObjectKey, b: &ObjectKey) -> bool {
    a.is_root() || b.is_root() || a == b || a.strip_prefix(b).is_some() || b.strip_prefix(a).is_some()
}

/// One planned step.
struct Step {
    job: Job,
    reason: Reason,
}

/// `sync SRC DST`.
pub(crate) async fn sync(
    src_arg: &str,
    dst_arg: &str,
    aws: &AwsOptions,
    out: Output,
    options: SyncOptions,
) -> Result<()> {
    let src = open(src_arg, aws, Mode::Read).await?;
    if src.identity.starts_with("file://") && !src.is_dir {
        return Err(CliError::failure(format!(
            "{}: not a directory (sync copies directories and prefixes)",
            src.display()
        )));
    }
    let mut dst = open(dst_arg, aws, if options.dry_run { Mode::Plan } else { Mode::Write }).await?;
    let same_store = src.identity == dst.identity;
    if same_store {
        if overlaps(&src.key, &dst.key) {
            return Err(CliError::failure(format!("{} and {} overlap", src.display(), dst.display())));
        }
        dst.store = Arc::clone(&src.store);
    }
    let spinner = Spinner::new(out, format!("listing {}", src.display()));
    let sources = interrupt::or_interrupted("listing", listing(&src, &options.filters)).await?;
    if sources.is_empty() && !src.key.is_root() && src.store.exists(&src.key).await? {
        return Err(CliError::failure(format!(
            "{} is an object, not a prefix or directory: use cp to copy it",
            src.display()
        )));
    }
    spinner.set_message(format!("listing {}", dst.display()));
    let targets = interrupt::or_interrupted("listing", listing(&dst, &options.filters)).await?;
    drop(spinner);
    let (src_backend, dst_backend) = (src.store.backend(), dst.store.backend());
    let mut steps = Vec::new();
    for (rel, meta) in &sources {
        if let Some(reason) = reason(meta, targets.get(rel), src_backend, dst_backend) {
            let job = Job { from: meta.key.clone(), to: dst.key.join(rel)?, size: Some(meta.size) };
            steps.push(Step { job, reason });
        }
    }
    let unchanged = sources.len() - steps.len();
    let extras: Vec<ObjectKey> = if options.delete {
        targets.iter().filter(|(rel, _)| !sources.contains_key(*rel)).map(|(_, m)| m.key.clone()).collect()
    } else {
        Vec::new()
    };

    if options.dry_run {
        let mut planned = Vec::new();
        for step in &steps {
            let (from, to) = (src.display_key(&step.job.from), dst.display_key(&step.job.to));
            let reason = step.reason.name();
            match out.format {
                Format::Human if !out.quiet => say!("(dry run) copy: {from} to {to} ({reason})"),
                Format::JsonLines => out.print_json(
                    &json!({"action": "copy", "from": from, "to": to, "reason": reason, "status": "planned"}),
                ),
                _ => planned.push(json!({"from": from, "to": to, "reason": reason, "size": step.job.size})),
            }
        }
        let mut deletes = Vec::new();
        for key in &extras {
            let url = dst.display_key(key);
            match out.format {
                Format::Json => deletes.push(json!(url)),
                Format::JsonLines => out.print_json(&json!({"action": "delete", "url": url, "status": "planned"})),
                Format::Human => report_removed(&out, &url, true),
            }
        }
        if out.format == Format::Json {
            out.print_json(&json!({
                "operation": "sync",
                "dry_run": true,
                "copy": planned,
                "delete": deletes,
                "unchanged": unchanged,
            }));
        }
        return Ok(());
    }

    let total = steps.len() + extras.len();
    let mut copied: Vec<Value> = Vec::new();
    let mut failed: Vec<(String, String)> = Vec::new();
    let known: Option<u64> = steps.iter().map(|s| s.job.size).sum();
    let mut progress = Progress::transfers(out, "sync", steps.len(), known);
    let items = steps.into_iter().map(|step| (step.job, step.reason)).collect();
    let run = Run { src: &src, dst: &dst, same_store, is_move: false, concurrency: options.concurrency };
    let unfinished = run
        .jobs(items, &progress, |Finished { tag: reason, from, to, result }| match result {
            Ok(size) => {
                match out.format {
                    Format::Human if !out.quiet => progress.say(|| say!("copy: {from} to {to} ({})", reason.name())),
                    Format::JsonLines => out.print_json(
                        &json!({"action": "copy", "from": from, "to": to, "reason": reason.name(), "size": size, "status": "ok"}),
                    ),
                    _ => {}
                }
                copied.push(json!({"from": from, "to": to, "reason": reason.name(), "size": size}));
            }
            Err(error) => {
                if out.format == Format::JsonLines {
                    out.print_json(
                        &json!({"action": "copy", "from": from, "to": to, "status": "failed", "error": error}),
                    );
                }
                failed.push((format!("copy {from} to {to}"), error));
            }
        })
        .await;
    progress.finish();
    if let Some(unfinished) = unfinished {
        let done = format!("copied {} of {} objects, removed none", copied.len(), copied.len() + unfinished.len());
        return Err(interrupted(out, &done, &failed, &unfinished));
    }

    let mut deleted: Vec<Value> = Vec::new();
    if !extras.is_empty() {
        let results: Vec<_> = interrupt::or_interrupted(
            "removing the extra objects",
            dst.store.delete_stream(futures::stream::iter(extras).boxed()).map(Ok).try_collect(),
        )
        .await?;
        for result in results {
            match result {
                Ok(key) => {
                    let url = dst.display_key(&key);
                    match out.format {
                        Format::Json => {}
                        Format::JsonLines => out.print_json(&json!({"action": "delete", "url": url, "status": "ok"})),
                        Format::Human => report_removed(&out, &url, false),
                    }
                    deleted.push(json!(url));
                }
                Err(e) => failed.push(("delete".to_owned(), crate::error::chain(&e))),
            }
        }
    }

    if out.format == Format::Json {
        let bad: Vec<Value> = failed.iter().map(|(what, error)| json!({"operation": what, "error": error})).collect();
        out.print_json(&json!({
            "operation": "sync",
            "dry_run": false,
            "copied": copied,
            "deleted": deleted,
            "unchanged": unchanged,
            "failed": bad,
        }));
    }
    if failed.is_empty() {
        return Ok(());
    }
    failed.sort();
    eprintln!("Failed {} of {total} sync operations:", failed.len());
    for (what, error) in &failed {
        eprintln!("  {what}: {error}");
    }
    Err(CliError::partial(failed.len(), total))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;

    fn meta(size: u64, etag: Option<&str>, secs: u64) -> ObjectMeta {
        let mut m = ObjectMeta::new(ObjectKey::parse("k").unwrap(), size);
        m.etag = etag.map(str::to_owned);
        m.last_modified = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(secs));
        m
    }

    #[test]
    fn reasons() {
        let a = meta(3, Some("\"abc\""), 10);
        assert_eq!(reason(&a, None, "s3", "s3"), Some(Reason::Missing));
        assert_eq!(reason(&a, Some(&meta(4, Some("\"abc\""), 5)), "s3", "s3"), Some(Reason::Size));
        // Equal S3 digests: up to date, however old the destination.
        assert_eq!(reason(&a, Some(&meta(3, Some("\"abc\""), 5)), "s3", "s3"), None);
        assert_eq!(reason(&a, Some(&meta(3, Some("\"abd\""), 50)), "s3", "s3"), Some(Reason::Etag));
        // Local (and multipart) ETags are not digests: the times decide.
        assert_eq!(reason(&a, Some(&meta(3, Some("\"x\""), 5)), "local", "local"), Some(Reason::Newer));
        assert_eq!(reason(&a, Some(&meta(3, Some("\"x\""), 50)), "local", "local"), None);
        assert_eq!(reason(&a, Some(&meta(3, Some("\"abc-2\""), 50)), "s3", "s3"), None);
        assert_eq!(reason(&a, Some(&meta(3, None, 5)), "s3", "s3"), Some(Reason::Newer));
        assert!(overlaps(&ObjectKey::parse("a").unwrap(), &ObjectKey::parse("a/b").unwrap()));
        assert!(!overlaps(&ObjectKey::parse("a").unwrap(), &ObjectKey::parse("ab").unwrap()));
    }
}
