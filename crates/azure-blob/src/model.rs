//! Wire types (XML) and the public types built from them.

use std::collections::BTreeMap;
use std::ops::Range as StdRange;

use cloudkit_paginate::Page;
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct NameXml {
    #[serde(rename = "@Encoded", default)]
    encoded: Option<String>,
    #[serde(rename = "$text", default)]
    value: String,
}

impl NameXml {
    pub(crate) fn into_string(self) -> String {
        if self.encoded.as_deref() == Some("true") {
            percent_encoding::percent_decode_str(&self.value).decode_utf8_lossy().into_owned()
        } else {
            self.value
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContainerListXml {
    #[serde(default)]
    pub(crate) containers: Option<ContainersXml>,
    #[serde(default)]
    pub(crate) next_marker: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ContainersXml {
    #[serde(rename = "Container", default)]
    pub(crate) items: Vec<ContainerXml>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct ContainerXml {
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) properties: PropertiesXml,
    #[serde(default)]
    pub(crate) metadata: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct PropertiesXml {
    #[serde(rename = "Last-Modified", default)]
    pub(crate) last_modified: Option<String>,
    #[serde(rename = "Etag", default)]
    pub(crate) etag: Option<String>,
    #[serde(rename = "Content-Length", default)]
    pub(crate) content_length: Option<u64>,
    #[serde(rename = "Content-Type", default)]
    pub(crate) content_type: Option<String>,
    #[serde(rename = "Content-MD5", default)]
    pub(crate) content_md5: Option<String>,
    #[serde(rename = "BlobType", default)]
    pub(crate) blob_type: Option<String>,
    #[serde(rename = "AccessTier", default)]
    pub(crate) access_tier: Option<String>,
    #[serde(rename = "PublicAccess", default)]
    pub(crate) public_access: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BlobListXml {
    #[serde(default)]
    pub(crate) blobs: Option<BlobsXml>,
    #[serde(default)]
    pub(crate) next_marker: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct BlobsXml {
    #[serde(rename = "$value", default)]
    pub(crate) items: Vec<BlobEntryXml>,
}

#[derive(Debug, Deserialize)]
pub(crate) enum BlobEntryXml {
    Blob(Box<BlobXml>),
    BlobPrefix(PrefixXml),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct BlobXml {
    pub(crate) name: NameXml,
    #[serde(default)]
    pub(crate) snapshot: Option<String>,
    #[serde(default)]
    pub(crate) properties: PropertiesXml,
    #[serde(default)]
    pub(crate) metadata: Option<BTreeMap<String, String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct PrefixXml {
    pub(crate) name: NameXml,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct UserDelegationKeyXml {
    pub(crate) signed_oid: String,
    pub(crate) signed_tid: String,
    pub(crate) signed_start: String,
    pub(crate) signed_expiry: String,
    pub(crate) signed_service: String,
    pub(crate) signed_version: String,
    pub(crate) value: String,
}

/// One container of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerItem {
    /// The name.
    pub name: String,
    /// Last modification time (RFC 1123 text as sent).
    pub last_modified: Option<String>,
    /// The entity tag.
    pub etag: Option<String>,
    /// `container` / `blob` when public.
    pub public_access: Option<String>,
    /// Metadata (with `include=metadata`).
    pub metadata: BTreeMap<String, String>,
}

/// One blob of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobItem {
    /// The name.
    pub name: String,
    /// The snapshot time, for snapshot entries.
    pub snapshot: Option<String>,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time (RFC 1123 text as sent).
    pub last_modified: Option<String>,
    /// The entity tag.
    pub etag: Option<String>,
    /// The content type.
    pub content_type: Option<String>,
    /// The stored Content-MD5 (base64).
    pub content_md5: Option<String>,
    /// `BlockBlob`, `AppendBlob`, `PageBlob`.
    pub blob_type: Option<String>,
    /// `Hot`, `Cool`, `Cold`, `Archive`.
    pub access_tier: Option<String>,
    /// Metadata (with `include=metadata`).
    pub metadata: BTreeMap<String, String>,
}

/// An entry of a hierarchical listing.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlobListEntry {
    /// A blob.
    Blob(BlobItem),
    /// A "directory": the names sharing this prefix up to the delimiter.
    Prefix(String),
}

/// One page of List Containers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListContainersPage {
    /// The containers.
    pub containers: Vec<ContainerItem>,
    /// The marker of the next page (`None` on the last).
    pub next_marker: Option<String>,
}

/// One page of List Blobs (flat: only blobs; hierarchical: blobs and prefixes).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListBlobsPage {
    /// Blobs and prefixes, in the service's order.
    pub entries: Vec<BlobListEntry>,
    /// The marker of the next page (`None` on the last).
    pub next_marker: Option<String>,
}

impl ListBlobsPage {
    /// The blobs of this page.
    pub fn blobs(&self) -> impl Iterator<Item = &BlobItem> {
        self.entries.iter().filter_map(|e| match e {
            BlobListEntry::Blob(b) => Some(b),
            BlobListEntry::Prefix(_) => None,
        })
    }

    /// The prefixes of this page.
    pub fn prefixes(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| match e {
            BlobListEntry::Prefix(p) => Some(p.as_str()),
            BlobListEntry::Blob(_) => None,
        })
    }
}

impl Page for ListContainersPage {
    type Item = ContainerItem;
    fn next_token(&self) -> Option<&str> {
        self.next_marker.as_deref()
    }
    fn item_count(&self) -> usize {
        self.containers.len()
    }
    fn retain_items(&mut self, range: StdRange<usize>) {
        self.containers = self.containers.drain(range).collect();
    }
    fn into_items(self) -> Vec<ContainerItem> {
        self.containers
    }
}

impl Page for ListBlobsPage {
    type Item = BlobListEntry;
    fn next_token(&self) -> Option<&str> {
        self.next_marker.as_deref()
    }
    fn item_count(&self) -> usize {
        self.entries.len()
    }
    fn retain_items(&mut self, range: StdRange<usize>) {
        self.entries = self.entries.drain(range).collect();
    }
    fn into_items(self) -> Vec<BlobListEntry> {
        self.entries
    }
}

pub(crate) fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

impl From<ContainerListXml> for ListContainersPage {
    fn from(x: ContainerListXml) -> Self {
        let containers = x
            .containers
            .map(|c| c.items)
            .unwrap_or_default()
            .into_iter()
            .map(|c| ContainerItem {
                name: c.name,
                last_modified: c.properties.last_modified,
                etag: c.properties.etag,
                public_access: non_empty(c.properties.public_access),
                metadata: c.metadata.unwrap_or_default(),
            })
            .collect();
        Self { containers, next_marker: non_empty(x.next_marker) }
    }
}

impl From<BlobListXml> for ListBlobsPage {
    fn from(x: BlobListXml) -> Self {
        let entries = x
            .blobs
            .map(|b| b.items)
            .unwrap_or_default()
            .into_iter()
            .map(|e| match e {
                BlobEntryXml::Blob(b) => BlobListEntry::Blob(BlobItem {
                    name: b.name.into_string(),
                    snapshot: non_empty(b.snapshot),
                    size: b.properties.content_length.unwrap_or(0),
                    last_modified: b.properties.last_modified,
                    etag: b.properties.etag,
                    content_type: non_empty(b.properties.content_type),
                    content_md5: non_empty(b.properties.content_md5),
                    blob_type: b.properties.blob_type,
                    access_tier: b.properties.access_tier,
                    metadata: b.metadata.unwrap_or_default(),
                }),
                BlobEntryXml::BlobPrefix(p) => BlobListEntry::Prefix(p.name.into_string()),
            })
            .collect();
        Self { entries, next_marker: non_empty(x.next_marker) }
    }
}

/// Escapes text for an XML element.
pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hierarchical_listing_with_interleaved_prefixes_and_entities() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://x/" ContainerName="c"><Prefix>p/</Prefix><Delimiter>/</Delimiter><Blobs><Blob><Name>p/a&amp;b</Name><Properties><Last-Modified>Mon, 01 Jan 2024 00:00:00 GMT</Last-Modified><Etag>0x8D</Etag><Content-Length>5</Content-Length><Content-Type>text/plain</Content-Type><Content-MD5>XUFAKrxLKna5cZ2REBfFkg==</Content-MD5><BlobType>BlockBlob</BlobType></Properties><Metadata><owner>me</owner></Metadata></Blob><BlobPrefix><Name>p/dir/</Name></BlobPrefix><Blob><Name Encoded="true">p/%EF%BF%BF</Name><Properties><Content-Length>0</Content-Length></Properties></Blob></Blobs><NextMarker>m2</NextMarker></EnumerationResults>"#;
        let page: ListBlobsPage = quick_xml::de::from_str::<BlobListXml>(xml).unwrap().into();
        assert_eq!(page.entries.len(), 3);
        let blobs: Vec<&BlobItem> = page.blobs().collect();
        assert_eq!(blobs[0].name, "p/a&b");
        assert_eq!(blobs[0].size, 5);
        assert_eq!(blobs[0].metadata["owner"], "me");
        assert_eq!(blobs[1].name, "p/\u{ffff}");
        assert_eq!(page.prefixes().collect::<Vec<_>>(), ["p/dir/"]);
        assert_eq!(page.next_marker.as_deref(), Some("m2"));
        let empty: ListBlobsPage =
            quick_xml::de::from_str::<BlobListXml>("<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>")
                .unwrap()
                .into();
        assert!(empty.entries.is_empty() && empty.next_marker.is_none());
    }

    #[test]
    fn parses_container_listing() {
        let xml = "<EnumerationResults><Containers><Container><Name>a</Name><Properties><Etag>e</Etag><PublicAccess>blob</PublicAccess></Properties></Container><Container><Name>b</Name><Properties/></Container></Containers><NextMarker/></EnumerationResults>";
        let page: ListContainersPage = quick_xml::de::from_str::<ContainerListXml>(xml).unwrap().into();
        assert_eq!(page.containers.len(), 2);
        assert_eq!(page.containers[0].public_access.as_deref(), Some("blob"));
        assert!(page.next_marker.is_none());
    }
}
