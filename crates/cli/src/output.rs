//! Human and JSON output.

use std::fmt;
use std::io::Write;
use std::time::SystemTime;

use cloudkit::store::ObjectMeta;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Prints a line on stdout. Write errors are ignored: `cloudkit ls | head` closes the pipe early,
/// and that is not a failure (nor a panic, as `println!` would make it).
pub(crate) fn write_line(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_fmt(args).and_then(|()| out.write_all(b"\n"));
}

/// `println!` without the panic on a closed stdout (see [`write_line`]).
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}
pub(crate) use say;

/// How results are printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Format {
    /// Tables and lines for people.
    #[default]
    Human,
    /// One JSON document.
    Json,
    /// One JSON document per line (listings; other commands print one line).
    JsonLines,
}

/// Output settings shared by every command.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Output {
    /// The format.
    pub(crate) format: Format,
    /// `-q`: no status lines (`copy: …`, `delete: …`); data (listings, `cat`, `stat`, URLs) and
    /// errors are still printed.
    pub(crate) quiet: bool,
}

impl Output {
    /// Whether JSON is printed.
    pub(crate) fn json(&self) -> bool {
        self.format != Format::Human
    }

    /// Prints one JSON document (pretty with `--json`, one line with `--jsonl`).
    pub(crate) fn print_json(&self, value: &Value) {
        let text = if self.format == Format::Json {
            serde_json::to_string_pretty(value)
        } else {
            serde_json::to_string(value)
        };
        // Serializing a `Value` cannot fail (string keys only).
        if let Ok(text) = text {
            say!("{text}");
        }
    }
}

/// RFC 3339 time in UTC, whole seconds.
pub(crate) fn format_time(t: SystemTime) -> String {
    let t = OffsetDateTime::from(t);
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `1.5 KiB`-style sizes.
pub(crate) fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} Bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A size as a table shows it.
pub(crate) fn size_text(bytes: u64, human: bool) -> String {
    if human { human_size(bytes) } else { bytes.to_string() }
}

/// Everything known about an object, as JSON.
pub(crate) fn meta_json(meta: &ObjectMeta, url: &str) -> Value {
    json!({
        "key": meta.key.as_str(),
        "url": url,
        "size": meta.size,
        "last_modified": meta.last_modified.map(format_time),
        "etag": meta.etag,
        "content_type": meta.content_type,
        "metadata": meta.metadata,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(human_size(0), "0 Bytes");
        assert_eq!(human_size(1023), "1023 Bytes");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(16 * 1024 * 1024), "16.0 MiB");
        assert_eq!(size_text(5, false), "5");
    }

    #[test]
    fn times() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_500);
        assert_eq!(format_time(t), "1970-01-01T00:00:01Z");
    }
}
