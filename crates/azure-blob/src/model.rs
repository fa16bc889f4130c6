//! The public listing types, and the functions that decode them (and user delegation keys) from
//! the service's XML with [`cloudkit_core::internal::xml`].

use std::collections::BTreeMap;
use std::ops::Range as StdRange;
use std::time::SystemTime;

use azure_core::credentials::Secret;
use base64::Engine as _;
use cloudkit_core::internal::date::parse_http_date;
use cloudkit_core::internal::xml::{Element, XmlError};
use cloudkit_paginate::Page;
use cloudkit_signer::azure::UserDelegationKey;

/// One container of a listing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContainerItem {
    /// The name.
    pub name: String,
    /// Last modification time.
    pub last_modified: Option<SystemTime>,
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
    /// Last modification time.
    pub last_modified: Option<SystemTime>,
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
        cloudkit_paginate::retain_range(&mut self.containers, range);
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
        cloudkit_paginate::retain_range(&mut self.entries, range);
    }
    fn into_items(self) -> Vec<BlobListEntry> {
        self.entries
    }
}

/// Decodes a List Containers body (`<EnumerationResults><Containers><Container>…`).
pub(crate) fn parse_container_list(body: &[u8]) -> Result<ListContainersPage, XmlError> {
    let root = Element::parse(body)?;
    let containers = root.children_in("Containers", "Container").map(container_item).collect::<Result<_, _>>()?;
    Ok(ListContainersPage { containers, next_marker: next_marker(&root) })
}

fn container_item(c: &Element<'_>) -> Result<ContainerItem, XmlError> {
    let properties = c.child("Properties");
    let property = |name: &str| properties.and_then(|p| p.child_string(name));
    Ok(ContainerItem {
        name: c.required_string("Name")?,
        last_modified: property("Last-Modified").as_deref().and_then(parse_http_date),
        etag: property("Etag"),
        public_access: properties.and_then(|p| p.child_string_non_empty("PublicAccess")),
        metadata: metadata(c),
    })
}

/// Decodes a List Blobs body, flat or hierarchical: `<Blob>` and `<BlobPrefix>` entries are kept
/// in the service's order.
pub(crate) fn parse_blob_list(body: &[u8]) -> Result<ListBlobsPage, XmlError> {
    let root = Element::parse(body)?;
    let mut entries = Vec::new();
    if let Some(blobs) = root.child("Blobs") {
        for entry in blobs.children() {
            match entry.name() {
                "Blob" => entries.push(BlobListEntry::Blob(blob_item(entry)?)),
                "BlobPrefix" => entries.push(BlobListEntry::Prefix(blob_name(entry)?)),
                // Nothing else is defined here; a future element type is skipped, not an error.
                _ => {}
            }
        }
    }
    Ok(ListBlobsPage { entries, next_marker: next_marker(&root) })
}

fn blob_item(b: &Element<'_>) -> Result<BlobItem, XmlError> {
    let properties = b.child("Properties");
    let property = |name: &str| properties.and_then(|p| p.child_string(name));
    let size = match properties {
        Some(p) => p.child_parse::<u64>("Content-Length")?.unwrap_or(0),
        None => 0,
    };
    Ok(BlobItem {
        name: blob_name(b)?,
        snapshot: b.child_string_non_empty("Snapshot"),
        size,
        last_modified: property("Last-Modified").as_deref().and_then(parse_http_date),
        etag: property("Etag"),
        content_type: properties.and_then(|p| p.child_string_non_empty("Content-Type")),
        content_md5: properties.and_then(|p| p.child_string_non_empty("Content-MD5")),
        blob_type: property("BlobType"),
        access_tier: property("AccessTier"),
        metadata: metadata(b),
    })
}

/// The `<Name>` of a blob or prefix, percent-decoded when the service marked it
/// `Encoded="true"` (names with characters XML cannot carry).
fn blob_name(parent: &Element<'_>) -> Result<String, XmlError> {
    let name = parent.required("Name")?;
    Ok(if name.attr("Encoded") == Some("true") {
        percent_encoding::percent_decode_str(name.text()).decode_utf8_lossy().into_owned()
    } else {
        name.text().to_owned()
    })
}

/// `<Metadata><key>value</key>…</Metadata>` (absent: empty).
fn metadata(parent: &Element<'_>) -> BTreeMap<String, String> {
    parent
        .child("Metadata")
        .map(|m| m.children().iter().map(|e| (e.name().to_owned(), e.text().to_owned())).collect())
        .unwrap_or_default()
}

/// `<NextMarker>`; empty or absent means the last page.
fn next_marker(root: &Element<'_>) -> Option<String> {
    root.child_string_non_empty("NextMarker")
}

/// Which blocks Get Block List returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BlockListType {
    /// The blocks of the committed blob.
    #[default]
    Committed,
    /// The blocks staged (Put Block) and not committed yet.
    Uncommitted,
    /// Both lists.
    All,
}

impl BlockListType {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            BlockListType::Committed => "committed",
            BlockListType::Uncommitted => "uncommitted",
            BlockListType::All => "all",
        }
    }
}

/// One block of a block list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The raw block id (base64-decoded, as given to [`BlobClient::put_block`](crate::BlobClient::put_block)).
    pub id: Vec<u8>,
    /// Its size in bytes.
    pub size: u64,
}

/// The answer of Get Block List ([`BlobClient::get_block_list`](crate::BlobClient::get_block_list)).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockList {
    /// The committed blocks, in the blob's order.
    pub committed: Vec<Block>,
    /// The uncommitted blocks.
    pub uncommitted: Vec<Block>,
}

/// Decodes a Get Block List body (`<BlockList><CommittedBlocks><Block><Name>…`).
pub(crate) fn parse_block_list(body: &[u8]) -> Result<BlockList, XmlError> {
    let root = Element::parse(body)?;
    let blocks = |list: &str| -> Result<Vec<Block>, XmlError> {
        root.children_in(list, "Block")
            .map(|b| {
                let name = b.required_text("Name")?;
                let id = base64::engine::general_purpose::STANDARD
                    .decode(name.trim())
                    .map_err(|_| XmlError::new(format!("the block id {name:?} is not base64")))?;
                Ok(Block { id, size: b.child_parse::<u64>("Size")?.unwrap_or(0) })
            })
            .collect()
    };
    Ok(BlockList { committed: blocks("CommittedBlocks")?, uncommitted: blocks("UncommittedBlocks")? })
}

/// Decodes a Get User Delegation Key body. Every field is required; the key value goes straight
/// into a [`Secret`] and never into an error message.
pub(crate) fn parse_user_delegation_key(body: &[u8]) -> Result<UserDelegationKey, XmlError> {
    let root = Element::parse(body)?;
    let field = |name: &str| root.required_string(name);
    Ok(UserDelegationKey {
        signed_oid: field("SignedOid")?,
        signed_tid: field("SignedTid")?,
        signed_start: field("SignedStart")?,
        signed_expiry: field("SignedExpiry")?,
        signed_service: field("SignedService")?,
        signed_version: field("SignedVersion")?,
        value: Secret::new(field("Value")?),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    /// `Tue, 02 Jan 2024 03:04:05 GMT`.
    fn jan_2_2024_030405() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_704_164_645)
    }

    #[test]
    fn parses_hierarchical_listing_with_interleaved_prefixes_and_entities() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://x/" ContainerName="c"><Prefix>p/</Prefix><Delimiter>/</Delimiter><Blobs><Blob><Name>p/a&amp;b</Name><Properties><Last-Modified>Mon, 01 Jan 2024 00:00:00 GMT</Last-Modified><Etag>0x8D</Etag><Content-Length>5</Content-Length><Content-Type>text/plain</Content-Type><Content-MD5>XUFAKrxLKna5cZ2REBfFkg==</Content-MD5><BlobType>BlockBlob</BlobType></Properties><Metadata><owner>me</owner></Metadata></Blob><BlobPrefix><Name>p/dir/</Name></BlobPrefix><Blob><Name Encoded="true">p/%EF%BF%BF</Name><Properties><Content-Length>0</Content-Length></Properties></Blob></Blobs><NextMarker>m2</NextMarker></EnumerationResults>"#;
        let page = parse_blob_list(xml.as_bytes()).unwrap();
        assert_eq!(page.entries.len(), 3);
        assert!(matches!(&page.entries[1], BlobListEntry::Prefix(p) if p == "p/dir/"), "service order is kept");
        let blobs: Vec<&BlobItem> = page.blobs().collect();
        assert_eq!(blobs[0].name, "p/a&b");
        assert_eq!(blobs[0].size, 5);
        assert_eq!(blobs[0].metadata["owner"], "me");
        assert_eq!(blobs[0].last_modified, Some(UNIX_EPOCH + Duration::from_secs(1_704_067_200)), "Mon, 01 Jan 2024");
        assert_eq!(blobs[1].name, "p/\u{ffff}");
        assert_eq!(page.prefixes().collect::<Vec<_>>(), ["p/dir/"]);
        assert_eq!(page.next_marker.as_deref(), Some("m2"));
        let empty = parse_blob_list(b"<EnumerationResults><Blobs /><NextMarker /></EnumerationResults>").unwrap();
        assert!(empty.entries.is_empty() && empty.next_marker.is_none());
    }

    #[test]
    fn parses_container_listing() {
        let xml = "<EnumerationResults><Containers><Container><Name>a</Name><Properties><Etag>e</Etag><PublicAccess>blob</PublicAccess></Properties></Container><Container><Name>b</Name><Properties/></Container></Containers><NextMarker/></EnumerationResults>";
        let page = parse_container_list(xml.as_bytes()).unwrap();
        assert_eq!(page.containers.len(), 2);
        assert_eq!(page.containers[0].public_access.as_deref(), Some("blob"));
        assert!(page.next_marker.is_none());
    }

    #[test]
    fn parses_container_listing_with_metadata() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://127.0.0.1:10000/devstoreaccount1">
  <Prefix>ph</Prefix>
  <MaxResults>2</MaxResults>
  <Containers>
    <Container>
      <Name>photos</Name>
      <Properties>
        <Last-Modified>Tue, 02 Jan 2024 03:04:05 GMT</Last-Modified>
        <Etag>"0x8DC0000000000A"</Etag>
        <LeaseStatus>unlocked</LeaseStatus>
        <PublicAccess>container</PublicAccess>
      </Properties>
      <Metadata><owner>ann &amp; bob</owner><Empty /></Metadata>
    </Container>
    <Container>
      <Name>phonebook</Name>
      <Properties><Etag>"0x2"</Etag><PublicAccess></PublicAccess></Properties>
    </Container>
  </Containers>
  <NextMarker>/devstoreaccount1/pia</NextMarker>
</EnumerationResults>"#;
        let page = parse_container_list(xml.as_bytes()).unwrap();
        assert_eq!(
            page.containers[0],
            ContainerItem {
                name: "photos".into(),
                last_modified: Some(jan_2_2024_030405()),
                etag: Some("\"0x8DC0000000000A\"".into()),
                public_access: Some("container".into()),
                metadata: [("Empty".to_owned(), String::new()), ("owner".to_owned(), "ann & bob".to_owned())]
                    .into_iter()
                    .collect(),
            }
        );
        let second = &page.containers[1];
        assert_eq!(second.name, "phonebook");
        assert_eq!(second.public_access, None, "empty PublicAccess means private");
        assert!(second.metadata.is_empty());
        assert_eq!(page.next_marker.as_deref(), Some("/devstoreaccount1/pia"));
    }

    #[test]
    fn parses_blob_listing_with_properties_and_entities() {
        let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<EnumerationResults ServiceEndpoint="http://x/" ContainerName="c">
  <Blobs>
    <Blob>
      <Name>  dir/&lt;a&gt; &quot;q&quot; &apos;s&apos; &#x263A;.txt </Name>
      <Snapshot>2024-01-02T03:04:05.0000000Z</Snapshot>
      <Properties>
        <Creation-Time>Mon, 01 Jan 2024 00:00:00 GMT</Creation-Time>
        <Last-Modified>Tue, 02 Jan 2024 03:04:05 GMT</Last-Modified>
        <Etag>0x8DC1</Etag>
        <Content-Length> 1048576 </Content-Length>
        <Content-Type>application/json; charset=&quot;utf-8&quot;</Content-Type>
        <Content-Encoding />
        <Content-MD5 />
        <BlobType>BlockBlob</BlobType>
        <AccessTier>Cool</AccessTier>
        <AccessTierInferred>true</AccessTierInferred>
      </Properties>
      <Metadata><k>v&amp;w</k></Metadata>
    </Blob>
    <Blob><Name>bare</Name></Blob>
  </Blobs>
  <NextMarker />
</EnumerationResults>"#;
        let page = parse_blob_list(xml.as_bytes()).unwrap();
        let blobs: Vec<&BlobItem> = page.blobs().collect();
        assert_eq!(
            *blobs[0],
            BlobItem {
                name: "  dir/<a> \"q\" 's' \u{263a}.txt ".into(),
                snapshot: Some("2024-01-02T03:04:05.0000000Z".into()),
                size: 1_048_576,
                last_modified: Some(jan_2_2024_030405()),
                etag: Some("0x8DC1".into()),
                content_type: Some("application/json; charset=\"utf-8\"".into()),
                content_md5: None,
                blob_type: Some("BlockBlob".into()),
                access_tier: Some("Cool".into()),
                metadata: [("k".to_owned(), "v&w".to_owned())].into_iter().collect(),
            },
            "names keep their spaces; empty optional properties are None"
        );
        assert_eq!(
            *blobs[1],
            BlobItem {
                name: "bare".into(),
                snapshot: None,
                size: 0,
                last_modified: None,
                etag: None,
                content_type: None,
                content_md5: None,
                blob_type: None,
                access_tier: None,
                metadata: BTreeMap::new(),
            }
        );
        assert_eq!(page.prefixes().count(), 0);
        assert!(page.next_marker.is_none());
    }

    #[test]
    fn parses_empty_listings() {
        for xml in [
            "<EnumerationResults />",
            "<EnumerationResults></EnumerationResults>",
            "<EnumerationResults ContainerName=\"c\">\n  <Blobs />\n  <NextMarker />\n</EnumerationResults>",
            "<EnumerationResults><Containers></Containers><NextMarker></NextMarker></EnumerationResults>",
            "<EnumerationResults><Blobs><FutureEntry><Name>x</Name></FutureEntry></Blobs></EnumerationResults>",
        ] {
            assert_eq!(parse_blob_list(xml.as_bytes()).unwrap(), ListBlobsPage::default(), "{xml}");
            assert_eq!(parse_container_list(xml.as_bytes()).unwrap(), ListContainersPage::default(), "{xml}");
        }
    }

    #[test]
    fn missing_required_fields_are_errors() {
        let cases: [(&[u8], &str); 3] = [
            (b"<EnumerationResults><Blobs><Blob><Properties /></Blob></Blobs></EnumerationResults>", "<Blob> has no <Name>"),
            (b"<EnumerationResults><Blobs><BlobPrefix /></Blobs></EnumerationResults>", "<BlobPrefix> has no <Name>"),
            (
                b"<EnumerationResults><Blobs><Blob><Name>a</Name><Properties><Content-Length>5x</Content-Length></Properties></Blob></Blobs></EnumerationResults>",
                "<Content-Length> holds `5x`, which is not a valid u64",
            ),
        ];
        for (xml, message) in cases {
            assert_eq!(parse_blob_list(xml).unwrap_err().message(), message);
        }
        let no_name =
            b"<EnumerationResults><Containers><Container><Properties /></Container></Containers></EnumerationResults>";
        assert_eq!(parse_container_list(no_name).unwrap_err().message(), "<Container> has no <Name>");
    }

    #[test]
    fn malformed_xml_is_an_error() {
        for body in
            [&b""[..], b"not xml", b"<EnumerationResults><Blobs>", b"<EnumerationResults></Blobs>", b"<a>&nbsp;</a>"]
        {
            assert!(parse_blob_list(body).is_err(), "{:?}", String::from_utf8_lossy(body));
            assert!(parse_container_list(body).is_err(), "{:?}", String::from_utf8_lossy(body));
            assert!(parse_user_delegation_key(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
    }

    pub(crate) const KEY_XML: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?><UserDelegationKey><SignedOid>oid-1</SignedOid><SignedTid>tid-2</SignedTid><SignedStart>2024-01-01T00:00:00Z</SignedStart><SignedExpiry>2024-01-02T00:00:00Z</SignedExpiry><SignedService>b</SignedService><SignedVersion>2025-01-05</SignedVersion><Value>c2VjcmV0LWtleQ==</Value></UserDelegationKey>";

    #[test]
    fn parses_user_delegation_key_and_keeps_the_value_secret() {
        let key = parse_user_delegation_key(KEY_XML.as_bytes()).unwrap();
        assert_eq!(key.signed_oid, "oid-1");
        assert_eq!(key.signed_tid, "tid-2");
        assert_eq!(key.signed_start, "2024-01-01T00:00:00Z");
        assert_eq!(key.signed_expiry, "2024-01-02T00:00:00Z");
        assert_eq!(key.signed_service, "b");
        assert_eq!(key.signed_version, "2025-01-05");
        assert_eq!(key.value.secret(), "c2VjcmV0LWtleQ==");
        assert!(!format!("{key:?}").contains("c2VjcmV0"), "the key value is redacted");

        let no_value = KEY_XML.replace("<Value>c2VjcmV0LWtleQ==</Value>", "");
        let e = parse_user_delegation_key(no_value.as_bytes()).unwrap_err();
        assert_eq!(e.message(), "<UserDelegationKey> has no <Value>");
        let no_oid = KEY_XML.replace("<SignedOid>oid-1</SignedOid>", "");
        let e = parse_user_delegation_key(no_oid.as_bytes()).unwrap_err();
        assert_eq!(e.message(), "<UserDelegationKey> has no <SignedOid>");
        assert!(!e.message().contains("c2VjcmV0"));
    }
}
