//! A small XML tree for decoding service responses (S3, EC2, STS and Azure Blob speak XML).
//!
//! [`Element::parse`] reads a whole response body into a tree of elements in one pass over the
//! bytes; element names and text borrow from the body (text is copied only when it holds entity
//! references or CDATA sections). Clients then pick the fields they need with [`Element::child`],
//! [`Element::children_named`], [`Element::child_text`] and friends, in plain non-generic code.
//!
//! Why not serde: a serde deserializer is instantiated again for every response type and every
//! nesting context, which made XML decoding one of the largest parts of every AWS client's build
//! and binary. This module is compiled once.
//!
//! Names are local names (a namespace prefix such as `xsi:` is dropped). Text is kept exactly as
//! sent (not trimmed: S3 keys may start or end with spaces), with XML line-end normalisation.
//! Text between child elements (indentation) is dropped: no AWS or Azure response mixes text and
//! elements.
//!
//! ```
//! use cloudkit_core::internal::xml::Element;
//! let body = br#"<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
//!   <Name>photos</Name><IsTruncated>false</IsTruncated>
//!   <Contents><Key>a&amp;b.jpg</Key><Size>42</Size></Contents>
//!   <Contents><Key>c.jpg</Key><Size>7</Size></Contents>
//! </ListBucketResult>"#;
//! let root = Element::parse(body)?;
//! assert_eq!(root.name(), "ListBucketResult");
//! assert_eq!(root.child_text("Name"), Some("photos"));
//! assert_eq!(root.child_parse::<bool>("IsTruncated")?, Some(false));
//! let keys: Vec<&str> = root.children_named("Contents").filter_map(|c| c.child_text("Key")).collect();
//! assert_eq!(keys, ["a&b.jpg", "c.jpg"]);
//! assert_eq!(root.children_named("Contents").next().unwrap().child_parse::<u64>("Size")?, Some(42));
//! # Ok::<(), cloudkit_core::internal::xml::XmlError>(())
//! ```

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// How deeply elements may nest. Service responses nest a handful of levels; the limit keeps a
/// hostile body from exhausting the stack when the tree is dropped.
pub const MAX_DEPTH: usize = 64;

/// A malformed body, or a field that is missing or does not parse. The message names the
/// element; it never contains more than a short excerpt of a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XmlError {
    message: String,
}

impl XmlError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for XmlError {}

/// One element: its local name, attributes, text and child elements.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Element<'a> {
    name: Cow<'a, str>,
    attributes: Vec<(String, String)>,
    text: Cow<'a, str>,
    children: Vec<Element<'a>>,
}

impl<'a> Element<'a> {
    /// Parses a whole document and returns its root element. The body must be UTF-8 (every
    /// service sends UTF-8), well formed, and nest at most [`MAX_DEPTH`] levels.
    pub fn parse(body: &'a [u8]) -> Result<Element<'a>, XmlError> {
        let text = std::str::from_utf8(body).map_err(|_| XmlError::new("the XML body is not UTF-8"))?;
        let mut reader = Reader::from_str(text);
        let mut stack: Vec<Element<'a>> = Vec::new();
        let mut root: Option<Element<'a>> = None;
        loop {
            let event = reader.read_event().map_err(|e| XmlError::new(format!("malformed XML: {e}")))?;
            match event {
                Event::Start(start) => {
                    if root.is_some() {
                        return Err(XmlError::new("malformed XML: content after the root element"));
                    }
                    if stack.len() >= MAX_DEPTH {
                        return Err(XmlError::new(format!(
                            "malformed XML: elements nest deeper than {MAX_DEPTH} levels"
                        )));
                    }
                    if let Some(parent) = stack.last_mut() {
                        // A container: whatever text came before its first child is layout.
                        parent.text = Cow::Borrowed("");
                    }
                    stack.push(Element::open(text, &start)?);
                }
                Event::Empty(start) => {
                    if root.is_some() {
                        return Err(XmlError::new("malformed XML: content after the root element"));
                    }
                    let element = Element::open(text, &start)?;
                    match stack.last_mut() {
                        Some(parent) => {
                            parent.text = Cow::Borrowed("");
                            parent.children.push(element);
                        }
                        None => root = Some(element),
                    }
                }
                Event::End(_) => {
                    // quick-xml checks that end tags match their start tags.
                    let Some(element) = stack.pop() else {
                        return Err(XmlError::new("malformed XML: unexpected end tag"));
                    };
                    match stack.last_mut() {
                        Some(parent) => parent.children.push(element),
                        None => root = Some(element),
                    }
                }
                Event::Text(t) => {
                    if let Some(current) = stack.last_mut()
                        && current.children.is_empty()
                    {
                        let piece = t.xml10_content().map_err(|e| XmlError::new(format!("malformed XML text: {e}")))?;
                        current.push_text(piece);
                    }
                }
                Event::CData(c) => {
                    if let Some(current) = stack.last_mut()
                        && current.children.is_empty()
                    {
                        let piece = c.decode().map_err(|e| XmlError::new(format!("malformed XML CDATA: {e}")))?;
                        current.push_text(piece);
                    }
                }
                Event::GeneralRef(r) => {
                    if let Some(current) = stack.last_mut()
                        && current.children.is_empty()
                    {
                        let name = r.decode().map_err(|e| XmlError::new(format!("malformed XML reference: {e}")))?;
                        let resolved = resolve_entity(&name)
                            .ok_or_else(|| XmlError::new(format!("unknown XML entity `&{}`", excerpt(&name))))?;
                        current.push_text(Cow::Owned(resolved));
                    }
                }
                Event::Eof => break,
                // Declarations, comments, processing instructions and doctypes carry no data.
                _ => {}
            }
        }
        if !stack.is_empty() {
            return Err(XmlError::new("malformed XML: the body ends inside an element"));
        }
        root.ok_or_else(|| XmlError::new("the XML body has no root element"))
    }

    fn open(body: &'a str, start: &BytesStart<'_>) -> Result<Element<'a>, XmlError> {
        let mut attributes = Vec::new();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| XmlError::new(format!("malformed XML attribute: {e}")))?;
            let key = String::from_utf8_lossy(attribute.key.local_name().as_ref()).into_owned();
            let value = attribute
                .unescape_value()
                .map_err(|e| XmlError::new(format!("malformed XML attribute `{}`: {e}", excerpt(&key))))?;
            attributes.push((key, value.into_owned()));
        }
        let qname = start.name();
        let name = local(str_of(qname.as_ref())?);
        // The reader borrows from the body, so the name is a slice of it: find it there and keep
        // the body's lifetime instead of copying (a copy only if it is not, which cannot happen).
        let offset = (name.as_ptr() as usize).wrapping_sub(body.as_ptr() as usize);
        let name = match body.get(offset..offset.wrapping_add(name.len())) {
            Some(in_body) if in_body.as_ptr() == name.as_ptr() => Cow::Borrowed(in_body),
            _ => Cow::Owned(name.to_owned()),
        };
        Ok(Element { name, attributes, text: Cow::Borrowed(""), children: Vec::new() })
    }

    fn push_text(&mut self, piece: Cow<'a, str>) {
        if self.text.is_empty() {
            self.text = piece;
        } else {
            self.text.to_mut().push_str(&piece);
        }
    }

    /// The local name (`Key` for `<Key>`, `type` for `<xsi:type>`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The text inside the element, exactly as sent (entities resolved); empty for containers.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The value of an attribute, by local name.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attributes.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// All child elements, in document order.
    pub fn children(&self) -> &[Element<'a>] {
        &self.children
    }

    /// The first child element with this name.
    pub fn child(&self, name: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The child elements with this name, in document order.
    pub fn children_named<'s, 'n>(&'s self, name: &'n str) -> impl Iterator<Item = &'s Element<'a>> + use<'s, 'n, 'a> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child with this name.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(Element::text)
    }

    /// The text of the first child with this name, owned.
    pub fn child_string(&self, name: &str) -> Option<String> {
        self.child_text(name).map(str::to_owned)
    }

    /// Like [`child_string`](Self::child_string), but an empty element (`<NextMarker/>`) counts as
    /// absent, as services use it to mean "not set".
    pub fn child_string_non_empty(&self, name: &str) -> Option<String> {
        self.child_text(name).filter(|t| !t.is_empty()).map(str::to_owned)
    }

    /// The children named `name` of the first child named `wrapper`
    /// (`<Buckets><Bucket>…</Bucket>…</Buckets>`, EC2's `<tagSet><item>…`); none when the
    /// wrapper is absent.
    pub fn children_in<'s, 'n>(
        &'s self,
        wrapper: &str,
        name: &'n str,
    ) -> impl Iterator<Item = &'s Element<'a>> + use<'s, 'n, 'a> {
        self.child(wrapper).into_iter().flat_map(move |w| w.children_named(name))
    }

    /// The first child with this name, or an error naming it.
    pub fn required(&self, name: &str) -> Result<&Element<'a>, XmlError> {
        self.child(name).ok_or_else(|| XmlError::new(format!("<{}> has no <{name}>", self.name)))
    }

    /// The text of the first child with this name, or an error naming it.
    pub fn required_text(&self, name: &str) -> Result<&str, XmlError> {
        self.required(name).map(Element::text)
    }

    /// The text of the first child with this name, owned, or an error naming it.
    pub fn required_string(&self, name: &str) -> Result<String, XmlError> {
        self.required_text(name).map(str::to_owned)
    }

    /// The text of the first child with this name parsed as a `T` (numbers; `true`/`false`,
    /// surrounding whitespace ignored). `Ok(None)` when the child is absent; an error naming the
    /// element when its text does not parse.
    pub fn child_parse<T: FromStr>(&self, name: &str) -> Result<Option<T>, XmlError> {
        match self.child(name) {
            None => Ok(None),
            Some(c) => c.parse_text().map(Some),
        }
    }

    /// The first child with this name as an XML Schema boolean (`true`, `false`, `1`, `0`;
    /// surrounding whitespace ignored). `Ok(None)` when absent; an error naming the element for
    /// anything else.
    pub fn child_bool(&self, name: &str) -> Result<Option<bool>, XmlError> {
        let Some(child) = self.child(name) else { return Ok(None) };
        match child.text.trim() {
            "true" | "1" => Ok(Some(true)),
            "false" | "0" => Ok(Some(false)),
            _ => {
                Err(XmlError::new(format!("<{}> holds `{}`, which is not a boolean", child.name, excerpt(&child.text))))
            }
        }
    }

    /// This element's text parsed as a `T` (surrounding whitespace ignored), or an error naming
    /// the element.
    pub fn parse_text<T: FromStr>(&self) -> Result<T, XmlError> {
        self.text.trim().parse().map_err(|_| {
            XmlError::new(format!(
                "<{}> holds `{}`, which is not a valid {}",
                self.name,
                excerpt(&self.text),
                short_type_name::<T>()
            ))
        })
    }
}

fn str_of(raw: &[u8]) -> Result<&str, XmlError> {
    std::str::from_utf8(raw).map_err(|_| XmlError::new("malformed XML: an element name is not UTF-8"))
}

/// The part of a qualified name after its prefix.
fn local(name: &str) -> &str {
    name.rsplit_once(':').map_or(name, |(_, l)| l)
}

/// At most 40 bytes of a value, for error messages, cut without cutting a word.
fn excerpt(text: &str) -> String {
    crate::error::excerpt(text, 40)
}

fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    full.rsplit("::").next().unwrap_or(full)
}

/// Escapes text for an XML element or attribute value in a request body: the five markup
/// characters, and carriage return, line feed and tab as character references so they survive
/// the receiver's line-end and attribute normalisation (S3 keys may contain any of them).
///
/// ```
/// assert_eq!(cloudkit_core::internal::xml::escape("a&b <c>\r\n"), "a&amp;b &lt;c&gt;&#13;&#10;");
/// ```
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_with(text, &mut out, |c| match c {
        '"' => Some("&quot;"),
        '\'' => Some("&apos;"),
        '\r' => Some("&#13;"),
        '\n' => Some("&#10;"),
        '\t' => Some("&#9;"),
        _ => None,
    });
    out
}

/// Appends `text` to `out` with `&`, `<` and `>` escaped (what every XML writer must), and any
/// other character for which `more` gives a replacement replaced by it: the one loop behind
/// [`escape`] and writers that must match another library's escaping byte for byte.
///
/// ```
/// let mut out = String::new();
/// cloudkit_core::internal::xml::escape_with("<a\"b>", &mut out, |c| (c == '"').then_some("&#34;"));
/// assert_eq!(out, "&lt;a&#34;b&gt;");
/// ```
pub fn escape_with(text: &str, out: &mut String, more: impl Fn(char) -> Option<&'static str>) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => match more(c) {
                Some(replacement) => out.push_str(replacement),
                None => out.push(c),
            },
        }
    }
}

/// The text of an XML entity reference (`lt`, `#x41`, …): the five predefined entities and
/// character references. `None` for anything else.
pub fn resolve_entity(name: &str) -> Option<String> {
    let c = match name {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "quot" => '"',
        "apos" => '\'',
        _ => {
            let code = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                u32::from_str_radix(hex, 16).ok()
            } else {
                name.strip_prefix('#').and_then(|d| d.parse::<u32>().ok())
            };
            code.and_then(char::from_u32)?
        }
    };
    Some(c.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_text_attributes_and_children() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment -->
<AccessControlPolicy xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <Owner><ID>abc</ID></Owner>
  <AccessControlList>
    <Grant><Grantee xsi:type="CanonicalUser"><ID>abc</ID></Grantee><Permission>FULL_CONTROL</Permission></Grant>
    <Grant><Grantee xsi:type="Group"><URI>http://acs/AllUsers</URI></Grantee><Permission>READ</Permission></Grant>
  </AccessControlList>
</AccessControlPolicy>"#;
        let root = Element::parse(body).unwrap();
        assert_eq!(root.name(), "AccessControlPolicy");
        assert_eq!(root.text(), "", "indentation between children is dropped");
        assert_eq!(root.required("Owner").unwrap().child_text("ID"), Some("abc"));
        let grants: Vec<_> = root.required("AccessControlList").unwrap().children_named("Grant").collect();
        assert_eq!(grants.len(), 2);
        assert_eq!(grants[1].required("Grantee").unwrap().attr("type"), Some("Group"));
        assert_eq!(grants[1].child_text("Permission"), Some("READ"));
        assert!(root.child("Missing").is_none());
        let permissions: Vec<_> =
            root.children_in("AccessControlList", "Grant").filter_map(|g| g.child_text("Permission")).collect();
        assert_eq!(permissions, ["FULL_CONTROL", "READ"]);
        assert_eq!(root.children_in("Missing", "Grant").count(), 0);
        assert_eq!(root.required("Owner").unwrap().required_string("ID").unwrap(), "abc");
        assert!(root.required_string("Missing").is_err());
        assert_eq!(root.required_text("Missing").unwrap_err().message(), "<AccessControlPolicy> has no <Missing>");
    }

    #[test]
    fn text_is_kept_exactly_with_entities_cdata_and_line_ends() {
        let root = Element::parse(
            b"<R><K>  two spaces  </K><E>a&amp;b&lt;c&#x41;&#66;</E><C><![CDATA[<raw> & ]]>tail</C><N>a\r\nb</N><Z/><Y></Y></R>",
        )
        .unwrap();
        assert_eq!(root.child_text("K"), Some("  two spaces  "));
        assert_eq!(root.child_text("E"), Some("a&b<cAB"));
        assert_eq!(root.child_text("C"), Some("<raw> & tail"));
        assert_eq!(root.child_text("N"), Some("a\nb"));
        assert_eq!(root.child_text("Z"), Some(""));
        assert_eq!(root.child_text("Y"), Some(""));
        assert_eq!(root.child_string_non_empty("Y"), None);
        assert_eq!(root.child_string_non_empty("Z"), None);
        assert_eq!(root.child_string_non_empty("K").as_deref(), Some("  two spaces  "));
        assert!(matches!(root.child("K").unwrap().text, Cow::Borrowed(_)), "plain text is not copied");
    }

    #[test]
    fn parsed_values_and_their_errors() {
        let root = Element::parse(b"<R><Size> 42 </Size><Truncated>true</Truncated><Bad>4x2</Bad></R>").unwrap();
        assert_eq!(root.child_parse::<u64>("Size").unwrap(), Some(42));
        assert_eq!(root.child_parse::<bool>("Truncated").unwrap(), Some(true));
        assert_eq!(root.child_parse::<u64>("Absent").unwrap(), None);
        assert_eq!(root.child_bool("Truncated").unwrap(), Some(true));
        assert_eq!(root.child_bool("Absent").unwrap(), None);
        assert_eq!(root.child_bool("Bad").unwrap_err().to_string(), "<Bad> holds `4x2`, which is not a boolean");
        let flags = Element::parse(b"<R><A> 1 </A><B>0</B><C>false</C></R>").unwrap();
        assert_eq!(
            (flags.child_bool("A"), flags.child_bool("B"), flags.child_bool("C")),
            (Ok(Some(true)), Ok(Some(false)), Ok(Some(false)))
        );
        let e = root.child_parse::<u64>("Bad").unwrap_err();
        assert_eq!(e.to_string(), "<Bad> holds `4x2`, which is not a valid u64");
    }

    #[test]
    fn namespaced_names_are_local() {
        let root = Element::parse(b"<s:Envelope xmlns:s='urn:x'><s:Body>hi</s:Body></s:Envelope>").unwrap();
        assert_eq!(root.name(), "Envelope");
        assert_eq!(root.child_text("Body"), Some("hi"));
    }

    #[test]
    fn malformed_bodies_are_errors_not_panics() {
        let deep = format!("{}{}", "<a>".repeat(MAX_DEPTH + 1), "</a>".repeat(MAX_DEPTH + 1));
        let cases: Vec<&[u8]> = vec![
            b"",
            b"   ",
            b"not xml",
            b"<a><b></a>",
            b"<a>",
            b"</a>",
            b"<a></a><b></b>",
            b"<a>&bogus;</a>",
            b"<a x='1></a>",
            &[0xff, 0xfe, b'<'],
            deep.as_bytes(),
        ];
        for body in cases {
            assert!(Element::parse(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
        let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
        assert!(Element::parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn error_messages_quote_at_most_a_short_excerpt() {
        let long = format!("<R><N>{}</N></R>", "9".repeat(500));
        let root = Element::parse(long.as_bytes()).unwrap();
        let e = root.child_parse::<u8>("N").unwrap_err();
        assert!(e.message().len() < 120, "{e}");
    }

    #[test]
    fn escaped_text_parses_back_to_itself() {
        let nasty = "  a&b<c>\"d'\r\n\te  ";
        let body = format!("<K a=\"{}\">{}</K>", escape(nasty), escape(nasty));
        let root = Element::parse(body.as_bytes()).unwrap();
        assert_eq!(root.text(), nasty);
        assert_eq!(root.attr("a"), Some(nasty));
    }

    #[test]
    fn entities() {
        assert_eq!(resolve_entity("amp").as_deref(), Some("&"));
        assert_eq!(resolve_entity("#x1F600").as_deref(), Some("😀"));
        assert_eq!(resolve_entity("#13").as_deref(), Some("\r"));
        assert_eq!(resolve_entity("#xD800"), None);
        assert_eq!(resolve_entity("nbsp"), None);
    }
}
