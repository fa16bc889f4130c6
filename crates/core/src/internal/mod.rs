//! Helpers cloudkit's own crates share: a JSON reader and string writer, an XML element tree, date
//! formats and a blocking-pool file system. **Not part of the public API**: they change whenever the
//! crates that use them need it, without a note in the changelog. Applications should use serde,
//! quick-xml, `time` or `tokio::fs` directly.

pub mod blocking;
pub mod date;
pub mod json;
pub mod xml;

#[cfg(test)]
mod proptests;
