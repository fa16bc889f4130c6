//! Progress on stderr: bars (indicatif) when stderr is a terminal, a plain line every few seconds
//! when it is not (logs, CI), nothing with `-q`. Lines for stdout (`copy: …`) go through
//! [`Progress::say`], which prints them above the bars instead of through them.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::output::{Output, human_size};

/// How often the plain progress line is printed when stderr is not a terminal, unless
/// `CLOUDKIT_PROGRESS_EVERY` (seconds, fractions allowed) says otherwise.
const LINE_EVERY: Duration = Duration::from_secs(5);

/// [`LINE_EVERY`] or `CLOUDKIT_PROGRESS_EVERY`.
fn line_every() -> Duration {
    let Ok(text) = std::env::var("CLOUDKIT_PROGRESS_EVERY") else { return LINE_EVERY };
    let every = text
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| s.is_finite() && *s >= 0.001)
        .and_then(|s| Duration::try_from_secs_f64(s).ok());
    every.unwrap_or_else(|| {
        tracing::warn!(
            "CLOUDKIT_PROGRESS_EVERY={text:?} is not a number of seconds (at least 0.001); using {}s",
            LINE_EVERY.as_secs()
        );
        LINE_EVERY
    })
}
/// How often spinners and bars redraw by themselves (for rates and elapsed times).
const TICK: Duration = Duration::from_millis(120);
/// Bars for files at most; further files in flight are counted in the total only.
const MAX_FILE_BARS: usize = 8;

/// Where progress goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Bars on a terminal.
    Bars,
    /// A periodic line on stderr.
    Lines,
    /// Nothing (`-q`).
    Off,
}

impl Mode {
    /// The mode for these output settings and this process's stderr.
    pub(crate) fn detect(out: Output) -> Self {
        if out.quiet {
            Mode::Off
        } else if std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

/// Counters shared by the bars, the periodic line and the transfers.
#[derive(Debug, Default)]
struct Counts {
    bytes: AtomicU64,
    total_bytes: AtomicU64,
    objects: AtomicU64,
    total_objects: AtomicU64,
}

/// Progress of a set of transfers.
pub(crate) struct Progress {
    verb: &'static str,
    counts: Arc<Counts>,
    multi: Option<MultiProgress>,
    total: Option<ProgressBar>,
    line: Option<tokio::task::JoinHandle<()>>,
    file_bars: Arc<AtomicU64>,
}

impl Progress {
    /// Progress of `objects` transfers of `bytes` bytes in all (`None`: not known yet, for a
    /// single object before its size is read).
    pub(crate) fn transfers(out: Output, verb: &'static str, objects: usize, bytes: Option<u64>) -> Self {
        let mode = Mode::detect(out);
        let counts = Arc::new(Counts::default());
        counts.total_objects.store(objects as u64, Ordering::Relaxed);
        counts.total_bytes.store(bytes.unwrap_or(0), Ordering::Relaxed);
        let mut progress = Progress { verb, counts, multi: None, total: None, line: None, file_bars: Arc::default() };
        match mode {
            Mode::Bars => {
                let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
                let total = multi.add(ProgressBar::new(bytes.unwrap_or(0)));
                total.set_style(total_style());
                total.set_prefix(format!("{verb} 0/{objects}"));
                total.enable_steady_tick(TICK);
                progress.multi = Some(multi);
                progress.total = Some(total);
            }
            Mode::Lines => {
                let counts = progress.counts.clone();
                let started = Instant::now();
                let period = line_every();
                progress.line = Some(tokio::spawn(async move {
                    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
                    loop {
                        every.tick().await;
                        eprintln!("{}", progress_line(verb, &counts, started.elapsed()));
                    }
                }));
            }
            Mode::Off => {}
        }
        progress
    }

    /// A bar for one object in flight (`size` when known).
    pub(crate) fn file(&self, name: &str, size: Option<u64>) -> FileProgress {
        let bar = match (&self.multi, &self.total) {
            (Some(multi), Some(total)) if self.file_bars.load(Ordering::Relaxed) < MAX_FILE_BARS as u64 => {
                self.file_bars.fetch_add(1, Ordering::Relaxed);
                let bar = multi.insert_before(total, ProgressBar::new(size.unwrap_or(0)));
                bar.set_style(file_style());
                bar.set_message(name.to_owned());
                Some(bar)
            }
            _ => None,
        };
        FileProgress {
            counts: self.counts.clone(),
            total: self.total.clone(),
            bar,
            multi: self.multi.clone(),
            file_bars: self.file_bars.clone(),
        }
    }

    /// One object finished (whatever its outcome).
    pub(crate) fn object_done(&self) {
        let done = self.counts.objects.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.total {
            bar.set_prefix(format!("{} {done}/{}", self.verb, self.counts.total_objects.load(Ordering::Relaxed)));
        }
    }

    /// Runs `print` (which writes to stdout or stderr) without tearing the bars.
    pub(crate) fn say(&self, print: impl FnOnce()) {
        match &self.multi {
            Some(multi) => multi.suspend(print),
            None => print(),
        }
    }

    /// Removes the bars and stops the periodic line.
    pub(crate) fn finish(&mut self) {
        if let Some(line) = self.line.take() {
            line.abort();
        }
        if let Some(total) = self.total.take() {
            total.finish_and_clear();
        }
        if let Some(multi) = self.multi.take() {
            let _ = multi.clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The plain progress line.
fn progress_line(verb: &str, counts: &Counts, elapsed: Duration) -> String {
    let bytes = counts.bytes.load(Ordering::Relaxed);
    let total = counts.total_bytes.load(Ordering::Relaxed);
    let (done, objects) = (counts.objects.load(Ordering::Relaxed), counts.total_objects.load(Ordering::Relaxed));
    let rate = bytes as f64 / elapsed.as_secs_f64().max(0.001);
    let mut line = format!("progress: {verb} {done}/{objects} objects, {}", human_size(bytes));
    if total > 0 {
        let percent = (bytes as f64 * 100.0 / total as f64).min(100.0);
        line.push_str(&format!(" of {} ({percent:.0}%)", human_size(total)));
    }
    line.push_str(&format!(", {}/s", human_size(rate as u64)));
    if total > bytes && rate >= 1.0 {
        let eta = ((total - bytes) as f64 / rate).ceil() as u64;
        line.push_str(&format!(", ETA {}", clock(eta)));
    }
    line
}

/// `1:05:03`, `4:07`, `0:09`.
fn clock(seconds: u64) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if h > 0 { format!("{h}:{m:02}:{s:02}") } else { format!("{m}:{s:02}") }
}

// The templates are constants: a bad one is a programming error caught by the unit test below,
// and falls back to indicatif's default style rather than failing a transfer.
const TOTAL_TEMPLATE: &str =
    "{prefix:.bold} [{bar:30.cyan/blue}] {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} ETA {eta}";
const FILE_TEMPLATE: &str = "  [{bar:30}] {binary_bytes:>10}/{binary_total_bytes:<10} {wide_msg}";
const SPINNER_TEMPLATE: &str = "{spinner} {wide_msg} ({elapsed})";

fn total_style() -> ProgressStyle {
    ProgressStyle::with_template(TOTAL_TEMPLATE)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn file_style() -> ProgressStyle {
    ProgressStyle::with_template(FILE_TEMPLATE)
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn spinner_style() -> ProgressStyle {
    ProgressStyle::with_template(SPINNER_TEMPLATE).unwrap_or_else(|_| ProgressStyle::default_spinner())
}

/// The progress of one object in flight; its bar goes away when it is dropped.
pub(crate) struct FileProgress {
    counts: Arc<Counts>,
    total: Option<ProgressBar>,
    bar: Option<ProgressBar>,
    multi: Option<MultiProgress>,
    file_bars: Arc<AtomicU64>,
}

impl FileProgress {
    /// The object's size became known (it was not in a listing): its bar and the total grow.
    pub(crate) fn discovered_size(&self, size: u64) {
        self.meter().discovered_size(size);
    }

    /// A counter for the bytes of this object, to move into a stream.
    pub(crate) fn meter(&self) -> Meter {
        Meter { counts: self.counts.clone(), bar: self.bar.clone(), total: self.total.clone() }
    }
}

/// Counts the bytes of one object (see [`FileProgress::meter`]).
#[derive(Clone)]
pub(crate) struct Meter {
    counts: Arc<Counts>,
    bar: Option<ProgressBar>,
    total: Option<ProgressBar>,
}

impl Meter {
    /// See [`FileProgress::discovered_size`].
    pub(crate) fn discovered_size(&self, size: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(size);
        }
        let total = self.counts.total_bytes.fetch_add(size, Ordering::Relaxed) + size;
        if let Some(bar) = &self.total {
            bar.set_length(total);
        }
    }

    /// `n` more bytes went through.
    pub(crate) fn add(&self, n: u64) {
        self.counts.bytes.fetch_add(n, Ordering::Relaxed);
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
        if let Some(total) = &self.total {
            total.inc(n);
        }
    }
}

impl Drop for FileProgress {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
            if let Some(multi) = &self.multi {
                multi.remove(&bar);
            }
            self.file_bars.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

/// A spinner on stderr for a listing or a wait, on a terminal only (and not with `-q`).
pub(crate) struct Spinner {
    bar: Option<ProgressBar>,
}

impl Spinner {
    /// A spinner showing `message`.
    pub(crate) fn new(out: Output, message: impl Into<String>) -> Self {
        let bar = (Mode::detect(out) == Mode::Bars).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(spinner_style());
            bar.set_message(message.into());
            bar.enable_steady_tick(TICK);
            bar
        });
        Spinner { bar }
    }

    /// Changes the message (a count, the current state).
    pub(crate) fn set_message(&self, message: impl Into<String>) {
        if let Some(bar) = &self.bar {
            bar.set_message(message.into());
        }
    }

    /// Runs `print` without tearing the spinner.
    pub(crate) fn say(&self, print: impl FnOnce()) {
        match &self.bar {
            Some(bar) => bar.suspend(print),
            None => print(),
        }
    }

    /// Whether a spinner is drawn.
    pub(crate) fn visible(&self) -> bool {
        self.bar.is_some()
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse() {
        for template in [TOTAL_TEMPLATE, FILE_TEMPLATE, SPINNER_TEMPLATE] {
            ProgressStyle::with_template(template).unwrap();
        }
    }

    #[test]
    fn lines() {
        let counts = Counts::default();
        counts.bytes.store(10 * 1024 * 1024, Ordering::Relaxed);
        counts.total_bytes.store(40 * 1024 * 1024, Ordering::Relaxed);
        counts.objects.store(1, Ordering::Relaxed);
        counts.total_objects.store(4, Ordering::Relaxed);
        assert_eq!(
            progress_line("copy", &counts, Duration::from_secs(2)),
            "progress: copy 1/4 objects, 10.0 MiB of 40.0 MiB (25%), 5.0 MiB/s, ETA 0:06"
        );
        assert_eq!(clock(3903), "1:05:03");
    }
}
