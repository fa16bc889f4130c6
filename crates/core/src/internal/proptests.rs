//! Property tests of the JSON reader ([`super::json`]) and the XML tree ([`super::xml`]).
//!
//! Two kinds of property, for each parser:
//! - hostile input: arbitrary bytes, token soups close to the format, and deeply nested documents up
//!   to 64 KiB never panic (no stack overflow either), finish within [`TIME_LIMIT`], and produce a tree
//!   no larger than the input (the memory bound: every node and every byte of text comes from at
//!   least one byte of input);
//! - oracles: generated documents parse to the same values as serde_json (JSON) or to the element tree
//!   quick-xml's writer was given (XML); for JSON token soups, whatever the reader accepts serde_json
//!   accepts with the same value, and whatever serde_json accepts the reader accepts unless it holds a
//!   duplicate member name (refused on purpose) or nests deeper than the limit.
//!
//! Run them with `cargo test -p cloudkit-core --all-features internal::proptests`. A failure prints
//! the minimal input proptest shrank it to; `PROPTEST_CASES=N` runs more cases.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use proptest::collection::{btree_map, vec};
use proptest::prelude::*;

use super::json::{self, Value};
use super::xml::{self, Element};

/// The largest generated input (the 64 KiB the hostile-input properties promise to handle).
const MAX_INPUT: usize = 64 * 1024;

/// How long one parse of at most [`MAX_INPUT`] bytes may take. Generous (debug build, a loaded
/// 2-core machine): a well-behaved parse takes a few milliseconds; the bound catches super-linear
/// behaviour and hangs, not slowness.
const TIME_LIMIT: Duration = Duration::from_secs(2);

fn config(cases: u32) -> ProptestConfig {
    // PROPTEST_CASES (read by ProptestConfig::default) overrides the per-test default.
    let default = ProptestConfig::default();
    let cases = if std::env::var_os("PROPTEST_CASES").is_some() { default.cases } else { cases };
    ProptestConfig { cases, failure_persistence: None, ..default }
}

/// Runs `parse` on `input`, failing the case when it takes longer than [`TIME_LIMIT`].
fn timed<'a, T>(what: &str, input: &'a [u8], parse: impl FnOnce(&'a [u8]) -> T) -> Result<T, TestCaseError> {
    let started = Instant::now();
    let out = parse(input);
    let took = started.elapsed();
    prop_assert!(took <= TIME_LIMIT, "{what} of {} bytes took {took:?} (limit {TIME_LIMIT:?})", input.len());
    Ok(out)
}

// ---------------------------------------------------------------------------------------------------
// JSON
// ---------------------------------------------------------------------------------------------------

/// Nodes and text bytes of a parsed JSON value (member names count as text).
fn json_size(v: &Value<'_>) -> (usize, usize) {
    match v {
        Value::Null | Value::Bool(_) => (1, 0),
        Value::Number(n) => (1, n.len()),
        Value::String(s) => (1, s.len()),
        Value::Array(items) => items.iter().map(json_size).fold((1, 0), |(n, t), (a, b)| (n + a, t + b)),
        Value::Object(members) => members.iter().fold((1, 0), |(n, t), (k, v)| {
            let (a, b) = json_size(v);
            (n + a, t + k.len() + b)
        }),
    }
}

fn json_depth(v: &Value<'_>) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(json_depth).max().unwrap_or(0),
        Value::Object(members) => 1 + members.iter().map(|(_, v)| json_depth(v)).max().unwrap_or(0),
        _ => 0,
    }
}

/// The reader's value as a serde_json value (numbers through serde_json's own number parser, so a
/// float reads exactly as the oracle reads it).
fn to_serde(v: &Value<'_>) -> serde_json::Value {
    match v {
        Value::Null => serde_json::Value::Null,
        Value::Bool(b) => serde_json::Value::Bool(*b),
        Value::Number(n) => serde_json::from_str(n).unwrap_or_else(|e| panic!("number {n:?} is not JSON: {e}")),
        Value::String(s) => serde_json::Value::String(s.to_string()),
        Value::Array(items) => serde_json::Value::Array(items.iter().map(to_serde).collect()),
        Value::Object(members) => {
            serde_json::Value::Object(members.iter().map(|(k, v)| (k.to_string(), to_serde(v))).collect())
        }
    }
}

/// The checks every JSON input gets: no panic (the test would fail), within the time limit, a tree no
/// larger than the input; and agreement with serde_json on what is a document and what it holds.
fn check_json_input(input: &[u8]) -> Result<(), TestCaseError> {
    let parsed = timed("json::Value::parse", input, Value::parse)?;
    let without_bom = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
    let oracle = serde_json::from_slice::<serde_json::Value>(without_bom);
    match (&parsed, &oracle) {
        (Ok(v), _) => {
            let (nodes, text) = json_size(v);
            prop_assert!(nodes <= input.len(), "{nodes} nodes from {} bytes", input.len());
            prop_assert!(text <= input.len(), "{text} text bytes from {} bytes", input.len());
            // serde_json stops at 127 levels, the reader at 128; and serde_json refuses numbers
            // beyond f64's range, which the reader keeps as text (callers read integers only).
            let out_of_range = matches!(&oracle, Err(e) if e.to_string().starts_with("number out of range"));
            if json_depth(v) < 127 && !out_of_range {
                let expected = oracle.as_ref().map_err(|e| {
                    TestCaseError::fail(format!("the reader accepted what serde_json refuses ({e}): {v:?}"))
                })?;
                prop_assert_eq!(&to_serde(v), expected);
            }
        }
        (Err(e), Ok(_)) => {
            let allowed = ["duplicate member name", "JSON nested too deeply"];
            prop_assert!(
                allowed.iter().any(|a| e.message().starts_with(a)),
                "serde_json accepts what the reader refuses with `{e}`: {:?}",
                String::from_utf8_lossy(input)
            );
        }
        (Err(e), Err(_)) => {
            prop_assert!(!e.message().is_empty());
            // Errors give an offset inside (or just past) the input.
            if let Some(at) = e.message().rsplit("at byte ").next().and_then(|n| n.parse::<usize>().ok()) {
                prop_assert!(at <= input.len(), "offset {at} past the end of {} bytes", input.len());
            }
        }
    }
    Ok(())
}

/// Pieces of JSON syntax (some of them broken), for token soups that get much further into the
/// reader than random bytes.
const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ":",
    ",",
    " ",
    "\n",
    "\t",
    "\r",
    "\"\"",
    "\"a\"",
    "\"b\"",
    "\"a",
    "\"\\\"\"",
    "\"\\\\\"",
    "\"\\u00e9\"",
    "\"\\ud83d\\ude00\"",
    "\"\\ud83d\"",
    "\"\\ude00\"",
    "\"\\u12\"",
    "\"\\x\"",
    "\"é€😀\"",
    "\"\u{1}\"",
    "\"\\/\\b\\f\\n\\r\\t\"",
    "0",
    "1",
    "-",
    "-0",
    "01",
    "1.5",
    "1.",
    ".5",
    "1e5",
    "1E+5",
    "1e-5",
    "1e",
    "-2.5e-3",
    "12345678901234567890",
    "1e400",
    "true",
    "false",
    "null",
    "tru",
    "nul",
    "NaN",
    "\u{feff}",
    "\\",
    "'a'",
    "/*c*/",
    "\u{0}",
    "\u{a0}",
];

fn json_token_soup() -> impl Strategy<Value = Vec<u8>> {
    vec(prop::sample::select(JSON_TOKENS), 0..400).prop_map(|tokens| tokens.concat().into_bytes())
}

/// Any JSON value serde_json can hold (finite numbers), nested a few levels.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<u64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter_map("finite", |f| serde_json::Number::from_f64(f).map(serde_json::Value::Number)),
        any::<String>().prop_map(serde_json::Value::String),
        "[a-zA-Z0-9 _-]{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(6, 200, 8, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..8).prop_map(serde_json::Value::Array),
            btree_map(prop_oneof![any::<String>(), "[a-z]{1,6}"], inner, 0..8)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

/// How a generated document is written: serde_json compact or pretty, or cloudkit's own string
/// writers (plain or with every non-ASCII character as `\u` escapes) with whitespace between tokens.
#[derive(Clone, Copy, Debug)]
enum JsonStyle {
    SerdeCompact,
    SerdePretty,
    Cloudkit { ascii_only: bool, spaces: &'static str },
}

fn json_style() -> impl Strategy<Value = JsonStyle> {
    prop_oneof![
        Just(JsonStyle::SerdeCompact),
        Just(JsonStyle::SerdePretty),
        (any::<bool>(), prop::sample::select(&["", " ", "\n\t", " \r\n "][..]))
            .prop_map(|(ascii_only, spaces)| JsonStyle::Cloudkit { ascii_only, spaces }),
    ]
}

fn write_json(out: &mut String, v: &serde_json::Value, ascii_only: bool, spaces: &str) {
    let string = |out: &mut String, s: &str| {
        if ascii_only { json::write_str_ascii(out, s) } else { json::write_str(out, s) }
    };
    match v {
        serde_json::Value::String(s) => string(out, s),
        serde_json::Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(spaces);
                write_json(out, item, ascii_only, spaces);
                out.push_str(spaces);
            }
            out.push(']');
        }
        serde_json::Value::Object(members) => {
            out.push('{');
            for (i, (k, item)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(spaces);
                string(out, k);
                out.push_str(spaces);
                out.push(':');
                out.push_str(spaces);
                write_json(out, item, ascii_only, spaces);
            }
            out.push_str(spaces);
            out.push('}');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

fn render_json(v: &serde_json::Value, style: JsonStyle) -> String {
    match style {
        JsonStyle::SerdeCompact => serde_json::to_string(v).unwrap(),
        JsonStyle::SerdePretty => serde_json::to_string_pretty(v).unwrap(),
        JsonStyle::Cloudkit { ascii_only, spaces } => {
            let mut out = String::from(spaces);
            write_json(&mut out, v, ascii_only, spaces);
            out.push_str(spaces);
            out
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn json_arbitrary_bytes_never_panic(input in vec(any::<u8>(), 0..MAX_INPUT)) {
        check_json_input(&input)?;
    }

    #[test]
    fn json_token_soups_agree_with_serde_json(input in json_token_soup()) {
        check_json_input(&input)?;
    }

    #[test]
    fn json_mutated_documents_agree_with_serde_json(
        v in json_value(),
        edits in vec((any::<prop::sample::Index>(), any::<u8>(), 0..3u8), 1..4),
    ) {
        // A valid document with a few bytes flipped, inserted or removed: mostly broken, sometimes not.
        let mut input = serde_json::to_vec(&v).unwrap();
        for (at, byte, op) in edits {
            let i = at.index(input.len() + 1);
            match op {
                0 if i < input.len() => input[i] = byte,
                1 => input.insert(i, byte),
                _ if i < input.len() => { input.remove(i); }
                _ => input.push(byte),
            }
        }
        check_json_input(&input)?;
    }

    #[test]
    fn json_deep_nesting_is_refused_without_overflow(
        depth in 0usize..MAX_INPUT / 2,
        opener in prop::sample::select(&["[", "{\"a\":", "[{\"a\":", " [ "][..]),
        closed in any::<bool>(),
    ) {
        let levels = depth / opener.len();
        let mut doc = opener.repeat(levels);
        doc.push('1');
        if closed {
            let closer: String =
                opener.chars().rev().filter_map(|c| match c { '[' => Some(']'), '{' => Some('}'), _ => None }).collect();
            doc.push_str(&closer.repeat(levels));
        }
        doc.truncate(MAX_INPUT);
        check_json_input(doc.as_bytes())?;
    }

    #[test]
    fn json_generated_documents_read_as_serde_json_reads_them(v in json_value(), style in json_style()) {
        let doc = render_json(&v, style);
        let ours = timed("json::Value::parse", doc.as_bytes(), Value::parse)?
            .map_err(|e| TestCaseError::fail(format!("a valid document was refused ({e}): {doc:?}")))?;
        let oracle: serde_json::Value = serde_json::from_str(&doc).unwrap();
        prop_assert_eq!(to_serde(&ours), oracle);
        // A byte-order mark in front changes nothing.
        let with_bom = format!("\u{feff}{doc}");
        prop_assert_eq!(Value::parse(with_bom.as_bytes()).ok().as_ref().map(to_serde), Some(to_serde(&ours)));
    }

    #[test]
    fn json_written_strings_read_back_in_both_readers(s in any::<String>(), ascii_only in any::<bool>()) {
        let mut out = String::new();
        if ascii_only { json::write_str_ascii(&mut out, &s) } else { json::write_str(&mut out, &s) }
        if ascii_only {
            prop_assert!(out.is_ascii(), "{out:?}");
        }
        let ours = Value::parse(out.as_bytes()).unwrap();
        prop_assert_eq!(ours.as_str(), Some(s.as_str()));
        prop_assert_eq!(serde_json::from_str::<String>(&out).unwrap(), s);
    }

    #[test]
    fn json_duplicate_member_names_are_refused_wherever_they_are(
        keys in btree_map("[a-z]{1,4}", Just(()), 1..40),
        dup in any::<prop::sample::Index>(),
        at in any::<prop::sample::Index>(),
    ) {
        let mut keys: Vec<String> = keys.into_keys().collect();
        let copy = keys[dup.index(keys.len())].clone();
        keys.insert(at.index(keys.len() + 1), copy);
        let members: Vec<String> = keys.iter().map(|k| format!("\"{k}\":0")).collect();
        let doc = format!("{{{}}}", members.join(","));
        let e = Value::parse(doc.as_bytes()).unwrap_err();
        prop_assert!(e.message().starts_with("duplicate member name"), "{e}: {doc}");
    }
}

/// An object with many members costs a bounded number of name checks per member: the
/// duplicate-name check must not compare every name with every other (issue 15, defect 13).
/// Counted, not timed, so that a loaded machine cannot fail it.
#[test]
fn json_objects_with_many_members_parse_in_linear_time() {
    for n in [0usize, 1, json::LINEAR_SCAN_MEMBERS, json::LINEAR_SCAN_MEMBERS + 1, 6_000] {
        let object = format!("{{{}}}", (0..n).map(|i| format!("\"k{i:05}\":1")).collect::<Vec<_>>().join(","));
        json::NAME_CHECKS.with(|c| c.set(0));
        let parsed = Value::parse(object.as_bytes()).unwrap();
        assert_eq!(parsed.as_object().map(<[_]>::len), Some(n));
        let checks = json::NAME_CHECKS.with(std::cell::Cell::get);
        // a linear check does at most LINEAR_SCAN_MEMBERS per member (the scan of a small object,
        // then one set insertion each); comparing with every earlier name would be n(n-1)/2
        assert!(
            checks <= json::LINEAR_SCAN_MEMBERS * n,
            "an object of {n} members took {checks} name checks (quadratic would be {})",
            n * n.saturating_sub(1) / 2
        );
    }
}

// ---------------------------------------------------------------------------------------------------
// XML
// ---------------------------------------------------------------------------------------------------

/// Elements, attributes and text bytes (names, attribute values, text) of a parsed tree.
fn xml_size(e: &Element<'_>) -> (usize, usize) {
    e.children().iter().map(xml_size).fold((1, e.name().len() + e.text().len()), |(n, t), (a, b)| (n + a, t + b))
}

fn check_xml_input(input: &[u8]) -> Result<(), TestCaseError> {
    let parsed = timed("xml::Element::parse", input, Element::parse)?;
    match parsed {
        Ok(root) => {
            let (nodes, text) = xml_size(&root);
            prop_assert!(nodes <= input.len(), "{nodes} elements from {} bytes", input.len());
            prop_assert!(text <= input.len(), "{text} text bytes from {} bytes", input.len());
            prop_assert!(xml_depth(&root) <= xml::MAX_DEPTH);
        }
        Err(e) => prop_assert!(!e.message().is_empty()),
    }
    Ok(())
}

fn xml_depth(e: &Element<'_>) -> usize {
    1 + e.children().iter().map(xml_depth).max().unwrap_or(0)
}

const XML_TOKENS: &[&str] = &[
    "<a>",
    "</a>",
    "<b>",
    "</b>",
    "<a/>",
    "<b x='1'/>",
    "<a x=\"1\" y='2'>",
    "<p:a xmlns:p='u'>",
    "</p:a>",
    "<a x='1' x='2'>",
    "<",
    ">",
    "/",
    "=",
    "'",
    "\"",
    "&amp;",
    "&lt;",
    "&#x41;",
    "&#65;",
    "&#xD800;",
    "&bogus;",
    "&",
    ";",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?xml version='1.0'?>",
    "<?pi x?>",
    "<!DOCTYPE a>",
    "<!DOCTYPE a [<!ENTITY e 'x'>]>",
    "&e;",
    "text",
    " ",
    "\n",
    "\r\n",
    "é😀",
    "\u{0}",
    "\u{feff}",
    "<a",
    "</",
    "<1>",
    "<:a>",
    "<a:>",
];

fn xml_token_soup() -> impl Strategy<Value = Vec<u8>> {
    vec(prop::sample::select(XML_TOKENS), 0..400).prop_map(|tokens| tokens.concat().into_bytes())
}

/// A generated element: a name (maybe with a namespace prefix), attributes with unique names, and
/// either text or children.
#[derive(Clone, Debug)]
struct Node {
    prefix: Option<String>,
    name: String,
    attributes: Vec<(String, String)>,
    content: Content,
}

#[derive(Clone, Debug)]
enum Content {
    Text(String),
    Children(Vec<Node>),
}

/// Characters XML 1.0 allows in a document.
fn xml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => any::<char>().prop_filter("an XML character", |&c| {
            matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
        }),
        1 => prop::sample::select(&['<', '>', '&', '"', '\'', ' ', '\r', '\n', '\t', ']'][..]),
    ]
}

fn xml_text() -> BoxedStrategy<String> {
    vec(xml_char(), 0..24).prop_map(|cs| cs.into_iter().collect()).boxed()
}

fn xml_name() -> BoxedStrategy<String> {
    "[A-Za-z_][A-Za-z0-9_.-]{0,10}".boxed()
}

fn xml_node() -> impl Strategy<Value = Node> {
    // Attribute names never clash with the local name of a namespace declaration (`xmlns:nsab`).
    let attributes = btree_map(
        xml_name().prop_filter("not ns or xmlns", |n| !n.starts_with("ns") && !n.starts_with("xmlns")),
        xml_text(),
        0..4,
    )
    .prop_map(|m| m.into_iter().collect::<Vec<_>>())
    .boxed();
    let head = (prop::option::weighted(0.2, "ns[a-z]{1,2}"), xml_name(), attributes);
    let leaf = (head.clone(), xml_text()).prop_map(|((prefix, name, attributes), text)| Node {
        prefix,
        name,
        attributes,
        content: Content::Text(text),
    });
    leaf.prop_recursive(6, 120, 6, move |inner| {
        (head.clone(), vec(inner, 1..6)).prop_map(|((prefix, name, attributes), children)| Node {
            prefix,
            name,
            attributes,
            content: Content::Children(children),
        })
    })
}

/// How a text is written: escaped by quick-xml's writer, by cloudkit's `xml::escape`, as character
/// references, as CDATA, or split in pieces with comments and processing instructions between them.
#[derive(Clone, Copy, Debug)]
enum TextStyle {
    QuickXml,
    Cloudkit,
    CharRefs,
    Cdata,
    Pieces,
}

fn text_style() -> impl Strategy<Value = TextStyle> {
    prop::sample::select(
        &[TextStyle::QuickXml, TextStyle::Cloudkit, TextStyle::CharRefs, TextStyle::Cdata, TextStyle::Pieces][..],
    )
}

fn write_text(out: &mut String, text: &str, style: TextStyle) {
    match style {
        TextStyle::QuickXml => {
            // quick-xml leaves `\r` alone, which a reader normalises to `\n`: write it as a reference.
            for (i, part) in text.split('\r').enumerate() {
                if i > 0 {
                    out.push_str("&#13;");
                }
                out.push_str(&quick_xml::escape::escape(part));
            }
        }
        TextStyle::Cloudkit => out.push_str(&xml::escape(text)),
        TextStyle::CharRefs => {
            for (i, c) in text.chars().enumerate() {
                if i % 2 == 0 {
                    out.push_str(&format!("&#x{:X};", u32::from(c)))
                } else {
                    out.push_str(&format!("&#{};", u32::from(c)))
                }
            }
        }
        TextStyle::Cdata => {
            // A CDATA section cannot hold `]]>` and its line ends are normalised: those parts escaped.
            for (i, part) in text.split("]]>").enumerate() {
                if i > 0 {
                    out.push_str("]]&gt;");
                }
                for (j, piece) in part.split('\r').enumerate() {
                    if j > 0 {
                        out.push_str("&#13;");
                    }
                    if !piece.is_empty() {
                        out.push_str("<![CDATA[");
                        out.push_str(piece);
                        out.push_str("]]>");
                    }
                }
            }
        }
        TextStyle::Pieces => {
            for (i, c) in text.chars().enumerate() {
                if i % 3 == 2 {
                    out.push_str(if i % 2 == 0 { "<!-- c -->" } else { "<?pi data?>" });
                }
                out.push_str(&xml::escape(c.encode_utf8(&mut [0; 4])));
            }
        }
    }
}

fn write_node(out: &mut String, node: &Node, style: TextStyle, layout: &str) {
    let qname = match &node.prefix {
        Some(p) => format!("{p}:{}", node.name),
        None => node.name.clone(),
    };
    out.push('<');
    out.push_str(&qname);
    if let Some(p) = &node.prefix {
        out.push_str(&format!(" xmlns:{p}=\"urn:{p}\""));
    }
    for (i, (k, v)) in node.attributes.iter().enumerate() {
        // Attribute values: cloudkit's escape (which keeps tabs and line ends as references) in double
        // or single quotes.
        let q = if i % 2 == 0 { '"' } else { '\'' };
        out.push_str(&format!(" {k}={q}{}{q}", xml::escape(v)));
    }
    match &node.content {
        Content::Text(t) if t.is_empty() && matches!(style, TextStyle::Pieces) => out.push_str("/>"),
        Content::Text(t) => {
            out.push('>');
            write_text(out, t, style);
            out.push_str(&format!("</{qname}>"));
        }
        Content::Children(children) => {
            out.push('>');
            for child in children {
                out.push_str(layout);
                write_node(out, child, style, layout);
            }
            out.push_str(layout);
            out.push_str(&format!("</{qname}>"));
        }
    }
}

fn assert_same_tree(parsed: &Element<'_>, node: &Node) -> Result<(), TestCaseError> {
    prop_assert_eq!(parsed.name(), node.name.as_str());
    for (k, v) in &node.attributes {
        prop_assert_eq!(parsed.attr(k), Some(v.as_str()), "attribute {} of <{}>", k, node.name);
    }
    match &node.content {
        Content::Text(t) => {
            prop_assert_eq!(parsed.text(), t.as_str(), "text of <{}>", node.name);
            prop_assert!(parsed.children().is_empty());
        }
        Content::Children(children) => {
            prop_assert_eq!(parsed.text(), "", "text of container <{}>", node.name);
            prop_assert_eq!(parsed.children().len(), children.len(), "children of <{}>", node.name);
            for (p, n) in parsed.children().iter().zip(children) {
                assert_same_tree(p, n)?;
            }
        }
    }
    Ok(())
}

/// The tree quick-xml's own reader sees in `doc` (the independent oracle for the entity, CDATA and
/// line-end handling): names, unescaped attribute values, and concatenated leaf text.
fn quick_xml_tree(doc: &str) -> Node {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(doc);
    let mut stack: Vec<Node> = Vec::new();
    let open = |start: &quick_xml::events::BytesStart<'_>| {
        let qname = String::from_utf8(start.name().as_ref().to_vec()).unwrap();
        let (prefix, name) = match qname.split_once(':') {
            Some((p, n)) => (Some(p.to_owned()), n.to_owned()),
            None => (None, qname),
        };
        let attributes = start
            .attributes()
            .map(|a| {
                let a = a.unwrap();
                (String::from_utf8(a.key.as_ref().to_vec()).unwrap(), a.unescape_value().unwrap().into_owned())
            })
            .filter(|(k, _)| !k.starts_with("xmlns"))
            .collect();
        Node { prefix, name, attributes, content: Content::Text(String::new()) }
    };
    let push_text = |stack: &mut Vec<Node>, piece: &str| {
        if let Some(Node { content: Content::Text(t), .. }) = stack.last_mut() {
            t.push_str(piece);
        }
    };
    let add_child = |stack: &mut Vec<Node>, child: Node| -> Option<Node> {
        match stack.last_mut() {
            Some(parent) => {
                if let Content::Text(_) = parent.content {
                    parent.content = Content::Children(Vec::new());
                }
                if let Content::Children(c) = &mut parent.content {
                    c.push(child);
                }
                None
            }
            None => Some(child),
        }
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(s) => {
                let node = open(&s);
                if let Some(parent) = stack.last_mut()
                    && let Content::Text(_) = parent.content
                {
                    parent.content = Content::Children(Vec::new());
                }
                stack.push(node);
            }
            Event::Empty(s) => {
                if let Some(root) = add_child(&mut stack, open(&s)) {
                    return root;
                }
            }
            Event::End(_) => {
                let node = stack.pop().unwrap();
                if let Some(root) = add_child(&mut stack, node) {
                    return root;
                }
            }
            Event::Text(t) => push_text(&mut stack, &t.xml10_content().unwrap()),
            Event::CData(c) => push_text(&mut stack, &c.decode().unwrap()),
            Event::GeneralRef(r) => {
                let name = r.decode().unwrap();
                let resolved = quick_xml::escape::resolve_predefined_entity(&name)
                    .map(str::to_owned)
                    .or_else(|| r.resolve_char_ref().unwrap().map(String::from));
                push_text(&mut stack, &resolved.unwrap());
            }
            Event::Eof => panic!("no root element in {doc:?}"),
            _ => {}
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn xml_arbitrary_bytes_never_panic(input in vec(any::<u8>(), 0..MAX_INPUT)) {
        check_xml_input(&input)?;
    }

    #[test]
    fn xml_token_soups_never_panic(input in xml_token_soup()) {
        check_xml_input(&input)?;
    }

    #[test]
    fn xml_deep_nesting_is_refused_without_overflow(
        depth in 0usize..MAX_INPUT / 3,
        opener in prop::sample::select(&["<a>", "<a x='1'>", "<p:a>", "<a><b/>"][..]),
        closed in any::<bool>(),
    ) {
        let levels = depth / opener.len();
        let mut doc = opener.repeat(levels);
        if closed {
            let closer = if opener.starts_with("<p:") { "</p:a>" } else { "</a>" };
            doc.push_str(&closer.repeat(levels));
        }
        doc.truncate(2 * MAX_INPUT);
        check_xml_input(doc.as_bytes())?;
        if levels > xml::MAX_DEPTH {
            prop_assert!(Element::parse(doc.as_bytes()).is_err());
        }
    }

    #[test]
    fn xml_generated_documents_parse_to_their_tree(
        root in xml_node(),
        style in text_style(),
        layout in prop::sample::select(&["", "\n  ", " ", "<!-- x -->", "\r\n\t"][..]),
        declaration in any::<bool>(),
    ) {
        let mut doc = String::new();
        if declaration {
            doc.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        }
        write_node(&mut doc, &root, style, layout);
        let parsed = timed("xml::Element::parse", doc.as_bytes(), Element::parse)?
            .map_err(|e| TestCaseError::fail(format!("a valid document was refused ({e}): {doc:?}")))?;
        assert_same_tree(&parsed, &root)?;
        // quick-xml's reader, driven directly, sees the same tree.
        let oracle = quick_xml_tree(&doc);
        assert_same_tree(&parsed, &oracle)?;
    }

    #[test]
    fn xml_escaped_text_reads_back(text in xml_text()) {
        for body in [format!("<K>{}</K>", xml::escape(&text)), format!("<K a=\"{}\"/>", xml::escape(&text))] {
            let root = Element::parse(body.as_bytes()).unwrap();
            let got = if body.starts_with("<K>") { root.text() } else { root.attr("a").unwrap() };
            prop_assert_eq!(got, text.as_str(), "{:?}", body);
        }
    }
}

#[test]
fn xml_elements_with_many_attributes_or_children_parse_within_the_limit() {
    let attributes: String = (0..5_000).map(|i| format!(" a{i}='{i}'")).collect();
    let wide = format!("<R{attributes}/>");
    let children: String = (0..5_000).map(|i| format!("<C>{i}</C>")).collect();
    let long = format!("<R>{children}</R>");
    for doc in [wide, long] {
        let started = Instant::now();
        let root = Element::parse(doc.as_bytes()).unwrap();
        let took = started.elapsed();
        assert!(took <= TIME_LIMIT, "{} bytes took {took:?}", doc.len());
        assert!(root.attr("a4999").is_some() || root.children().len() == 5_000);
    }
}

#[test]
fn borrowed_values_point_into_the_input() {
    // The trees borrow plain text from the input (a copy per node would double the memory).
    let doc = br#"{"name": "plain"}"#;
    let v = Value::parse(doc).unwrap();
    assert!(matches!(v.get("name"), Some(Value::String(Cow::Borrowed(_)))));
}

/// Service responses are XML 1.0, whose only line ends are CR LF and CR: NEL (U+0085) and LINE
/// SEPARATOR (U+2028) are ordinary characters there (XML 1.1 turns them into LF). An S3 key or
/// blob name holding one must read back unchanged, or a listing names another object. Found by
/// `xml_generated_documents_parse_to_their_tree`.
#[test]
fn xml_text_keeps_nel_and_line_separator() {
    let doc = "<R a=\"x\u{85}y\u{2028}z\"><Key>a\u{85}b\u{2028}c</Key></R>";
    let root = Element::parse(doc.as_bytes()).unwrap();
    assert_eq!(root.child_text("Key"), Some("a\u{85}b\u{2028}c"));
    assert_eq!(root.attr("a"), Some("x\u{85}y\u{2028}z"));
}
