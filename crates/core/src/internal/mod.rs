//! Helpers cloudkit's own crates share: a JSON reader and string writer, an XML element tree, date
//! formats, a blocking-pool file system, tasks cancelled with their owner ([`task::spawn`]),
//! Google's status-to-reason table and [`excerpt`], which cuts text quoted in error messages
//! without cutting a word. **Not part of the public API**: they change whenever the
//! crates that use them need it, without a note in the changelog. Applications should use serde,
//! quick-xml, `time` or `tokio::fs` directly.

pub mod blocking;
pub mod date;
pub mod google;
pub mod json;
pub mod task;
pub mod xml;

pub use crate::error::excerpt;

#[cfg(test)]
mod proptests;
