//! Public resource types of the GCS JSON API (`storage#bucket`, `storage#object`, …), decoded
//! straight from the response bytes. GCS sends 64-bit numbers as JSON strings; both forms are
//! accepted.

use std::collections::BTreeMap;
use std::time::SystemTime;

use cloudkit_core::internal::date::parse_rfc3339;
use serde::{Deserialize, Deserializer, Serialize};

/// A bucket (`storage#bucket`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Bucket {
    /// The name.
    pub name: String,
    /// The id (usually the name).
    #[serde(default)]
    pub id: Option<String>,
    /// The location (`US`, `EUROPE-WEST1`, …).
    #[serde(default)]
    pub location: Option<String>,
    /// `region`, `dual-region` or `multi-region`.
    #[serde(default)]
    pub location_type: Option<String>,
    /// The default storage class (`STANDARD`, `NEARLINE`, …).
    #[serde(default)]
    pub storage_class: Option<String>,
    /// Labels.
    #[serde(default, deserialize_with = "de_metadata")]
    pub labels: BTreeMap<String, String>,
    /// The metadata generation.
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub metageneration: Option<i64>,
    /// The project number.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub project_number: Option<u64>,
    /// The entity tag.
    #[serde(default)]
    pub etag: Option<String>,
    /// Creation time.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub time_created: Option<SystemTime>,
    /// Last update (of the data or the metadata).
    #[serde(default, deserialize_with = "de_opt_time")]
    pub updated: Option<SystemTime>,
}

/// An object (`storage#object`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Object {
    /// The object name.
    pub name: String,
    /// The bucket.
    #[serde(default)]
    pub bucket: String,
    /// The id (`bucket/name/generation`).
    #[serde(default)]
    pub id: Option<String>,
    /// The content generation (changes on every write).
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub generation: Option<i64>,
    /// The metadata generation (changes on every metadata update).
    #[serde(default, deserialize_with = "de_opt_i64")]
    pub metageneration: Option<i64>,
    /// The size in bytes.
    #[serde(default, deserialize_with = "de_opt_u64")]
    pub size: Option<u64>,
    /// The content type.
    #[serde(default)]
    pub content_type: Option<String>,
    /// The content encoding.
    #[serde(default)]
    pub content_encoding: Option<String>,
    /// The content disposition.
    #[serde(default)]
    pub content_disposition: Option<String>,
    /// The content language.
    #[serde(default)]
    pub content_language: Option<String>,
    /// Cache-Control.
    #[serde(default)]
    pub cache_control: Option<String>,
    /// The CRC32C of the data (base64 of the big-endian value).
    #[serde(default)]
    pub crc32c: Option<String>,
    /// The MD5 of the data (base64; absent for composite objects).
    #[serde(default)]
    pub md5_hash: Option<String>,
    /// The entity tag.
    #[serde(default)]
    pub etag: Option<String>,
    /// The storage class.
    #[serde(default)]
    pub storage_class: Option<String>,
    /// User metadata.
    #[serde(default, deserialize_with = "de_metadata")]
    pub metadata: BTreeMap<String, String>,
    /// How many objects were composed into this one.
    #[serde(default)]
    pub component_count: Option<u32>,
    /// Creation time.
    #[serde(default, deserialize_with = "de_opt_time")]
    pub time_created: Option<SystemTime>,
    /// Last update (of the data or the metadata).
    #[serde(default, deserialize_with = "de_opt_time")]
    pub updated: Option<SystemTime>,
    /// The download link.
    #[serde(default)]
    pub media_link: Option<String>,
}

/// Setters `field(value)` for `Option<String>` fields.
macro_rules! text_setters {
    ($($(#[$doc:meta])* $field:ident,)*) => {
        $(
            $(#[$doc])*
            pub fn $field(mut self, value: impl Into<String>) -> Self {
                self.$field = Some(value.into());
                self
            }
        )*
    };
}

/// Writable object metadata: used by uploads (the JSON part / resumable session body), patch,
/// rewrite and compose. Fields left `None` are not sent.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectMetadata {
    /// Content type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Content encoding.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_encoding: Option<String>,
    /// Content disposition.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_disposition: Option<String>,
    /// Content language.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_language: Option<String>,
    /// Cache-Control.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<String>,
    /// Storage class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
    /// User metadata; a `None` value removes the key (patch).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metadata: BTreeMap<String, Option<String>>,
}

impl ObjectMetadata {
    /// Empty metadata.
    pub fn new() -> Self {
        Self::default()
    }

    text_setters! {
        /// Sets the content type.
        content_type,
        /// Sets Cache-Control.
        cache_control,
        /// Sets the content disposition.
        content_disposition,
        /// Sets the content encoding.
        content_encoding,
        /// Sets the content language.
        content_language,
        /// Sets the storage class.
        storage_class,
    }

    /// Sets a user metadata entry.
    pub fn metadata(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), Some(value.into()));
        self
    }

    /// Removes a user metadata entry (patch only).
    pub fn remove_metadata(mut self, key: impl Into<String>) -> Self {
        self.metadata.insert(key.into(), None);
        self
    }

    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// Generation and metageneration preconditions (the `if*Match` query parameters).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Preconditions {
    /// Only if the live generation is this one (`0`: only if the object does not exist).
    pub if_generation_match: Option<i64>,
    /// Only if the live generation is not this one.
    pub if_generation_not_match: Option<i64>,
    /// Only if the metageneration is this one.
    pub if_metageneration_match: Option<i64>,
    /// Only if the metageneration is not this one.
    pub if_metageneration_not_match: Option<i64>,
}

impl Preconditions {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        if let Some(g) = self.if_generation_match {
            out.push(("ifGenerationMatch", g.to_string()));
        }
        if let Some(g) = self.if_generation_not_match {
            out.push(("ifGenerationNotMatch", g.to_string()));
        }
        if let Some(g) = self.if_metageneration_match {
            out.push(("ifMetagenerationMatch", g.to_string()));
        }
        if let Some(g) = self.if_metageneration_not_match {
            out.push(("ifMetagenerationNotMatch", g.to_string()));
        }
        out
    }

    /// Whether a resend after a timeout or a 5xx is safe: a write pinned to a generation cannot
    /// write twice (a 412 after a resend may be the first send's own success; uploads check it).
    pub(crate) fn makes_write_idempotent(&self) -> bool {
        self.if_generation_match.is_some()
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum NumOrString {
    Num(serde_json::Number),
    Str(String),
}

fn de_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<NumOrString>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrString::Num(n)) => n.as_i64().map(Some).ok_or_else(|| serde::de::Error::custom("not an i64")),
        Some(NumOrString::Str(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

fn de_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match Option::<NumOrString>::deserialize(d)? {
        None => Ok(None),
        Some(NumOrString::Num(n)) => n.as_u64().map(Some).ok_or_else(|| serde::de::Error::custom("not a u64")),
        Some(NumOrString::Str(s)) => s.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// An RFC 3339 timestamp (`2024-04-05T06:07:08.123Z`); a malformed one is a decoding error.
fn de_opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SystemTime>, D::Error> {
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(text) => parse_rfc3339(&text)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("not an RFC 3339 timestamp: {text:?}"))),
    }
}

fn de_metadata<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw = Option::<BTreeMap<String, serde_json::Value>>::deserialize(d)?.unwrap_or_default();
    Ok(raw
        .into_iter()
        .filter_map(|(k, v)| match v {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect())
}
