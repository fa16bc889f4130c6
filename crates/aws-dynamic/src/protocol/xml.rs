//! XML bodies: written as botocore's ElementTree writes rest-xml requests, read as botocore's
//! XML parsers read query, ec2 and rest-xml answers (member names from the model, flattened and
//! wrapped lists and maps, attributes).

use cloudkit_core::internal::xml::{Element, escape_with};
use serde_json::{Map, Value};

use crate::shapes::{self, Member, Shape};

/// Writes a rest-xml body.
#[derive(Default)]
pub(crate) struct XmlWriter {
    out: String,
}

/// Element text as ElementTree escapes it: `&`, `<`, `>` only.
fn escape_text(text: &str, out: &mut String) {
    escape_with(text, out, |_| None);
}

/// An attribute value as ElementTree escapes it: also `"` and, as `&#13;`, `&#10;`, `&#09;`
/// (two digits, unlike [`escape`](cloudkit_core::internal::xml::escape)), CR, LF and tab.
fn escape_attr(text: &str, out: &mut String) {
    escape_with(text, out, |c| match c {
        '"' => Some("&quot;"),
        '\r' => Some("&#13;"),
        '\n' => Some("&#10;"),
        '\t' => Some("&#09;"),
        _ => None,
    });
}

/// The `xmlns` attribute of a shape or member reference, if it has an `xmlNamespace`.
fn namespace(shape: Shape<'_>, member: Option<Member<'_>>) -> Option<(String, String)> {
    let ns = member.and_then(|m| m.def.get("xmlNamespace")).or_else(|| shape.def.get("xmlNamespace"))?;
    let uri = ns.get("uri").and_then(Value::as_str)?;
    let name = match ns.get("prefix").and_then(Value::as_str) {
        Some(prefix) => format!("xmlns:{prefix}"),
        None => "xmlns".to_owned(),
    };
    Some((name, uri.to_owned()))
}

impl XmlWriter {
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.out.into_bytes()
    }

    fn open(&mut self, name: &str, attrs: &[(String, String)]) {
        self.out.push('<');
        self.out.push_str(name);
        for (k, v) in attrs {
            self.out.push(' ');
            self.out.push_str(k);
            self.out.push_str("=\"");
            escape_attr(v, &mut self.out);
            self.out.push('"');
        }
    }

    fn leaf(&mut self, name: &str, text: &str, attrs: &[(String, String)]) {
        self.open(name, attrs);
        if text.is_empty() {
            self.out.push_str(" />");
            return;
        }
        self.out.push('>');
        escape_text(text, &mut self.out);
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    /// `<name xmlns=…>members…</name>`.
    pub(crate) fn structure(
        &mut self,
        shape: Shape<'_>,
        member: Option<Member<'_>>,
        params: &Map<String, Value>,
        name: &str,
    ) {
        let mut attrs: Vec<(String, String)> = Vec::new();
        let mut children: Vec<(Member<'_>, &Value)> = Vec::new();
        for (key, value) in params {
            let Some(m) = shape.member(key) else { continue };
            if value.is_null() {
                continue;
            }
            if m.flag("xmlAttribute") {
                attrs.push((m.wire_name().to_owned(), shapes::scalar_text(value)));
            } else {
                children.push((m, value));
            }
        }
        if let Some(ns) = namespace(shape, member) {
            attrs.push(ns);
        }
        if children.is_empty() {
            self.open(name, &attrs);
            self.out.push_str(" />");
            return;
        }
        self.open(name, &attrs);
        self.out.push('>');
        for (m, value) in children {
            self.value(m, value, m.wire_name());
        }
        self.out.push_str("</");
        self.out.push_str(name);
        self.out.push('>');
    }

    fn value(&mut self, member: Member<'_>, value: &Value, name: &str) {
        let shape = member.shape;
        let ns: Vec<(String, String)> = namespace(shape, Some(member)).into_iter().collect();
        match (shape.kind(), value) {
            ("structure", Value::Object(map)) => self.structure(shape, Some(member), map, name),
            ("list", Value::Array(items)) => {
                let inner = shape.child("member");
                if member.flattened() {
                    for item in items {
                        self.value(inner, item, name);
                    }
                    return;
                }
                let item_name = inner.def.get("locationName").and_then(Value::as_str).unwrap_or("member");
                if items.is_empty() {
                    self.open(name, &ns);
                    self.out.push_str(" />");
                    return;
                }
                self.open(name, &ns);
                self.out.push('>');
                for item in items {
                    self.value(inner, item, item_name);
                }
                self.out.push_str("</");
                self.out.push_str(name);
                self.out.push('>');
            }
            ("map", Value::Object(map)) => {
                let (key, val) = (shape.child("key"), shape.child("value"));
                let key_name = key.def.get("locationName").and_then(Value::as_str).unwrap_or("key");
                let val_name = val.def.get("locationName").and_then(Value::as_str).unwrap_or("value");
                let flattened = member.flattened();
                if !flattened {
                    self.open(name, &ns);
                    self.out.push('>');
                }
                for (k, v) in map {
                    self.open(if flattened { name } else { "entry" }, &[]);
                    self.out.push('>');
                    self.value(key, &Value::String(k.clone()), key_name);
                    self.value(val, v, val_name);
                    self.out.push_str("</");
                    self.out.push_str(if flattened { name } else { "entry" });
                    self.out.push('>');
                }
                if !flattened {
                    self.out.push_str("</");
                    self.out.push_str(name);
                    self.out.push('>');
                }
            }
            ("timestamp", v) => {
                let text = match shapes::input_time(v) {
                    Ok(t) => match member.timestamp_format() {
                        Some("rfc822") => shapes::rfc822(t),
                        Some("unixTimestamp") => (shapes::epoch_seconds(t) as u64).to_string(),
                        _ => shapes::iso8601(t),
                    },
                    Err(_) => shapes::scalar_text(v),
                };
                self.leaf(name, &text, &ns);
            }
            ("blob", v) => {
                let bytes = shapes::input_blob(v).unwrap_or_default();
                self.leaf(name, &shapes::b64(&bytes), &ns);
            }
            (_, v) => self.leaf(name, &shapes::scalar_text(v), &ns),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// reading

/// The children of `node` by local name, in document order.
fn by_name<'e, 'a>(node: &'e Element<'a>) -> Vec<(&'e str, Vec<&'e Element<'a>>)> {
    let mut groups: Vec<(&str, Vec<&Element<'a>>)> = Vec::new();
    for child in node.children() {
        match groups.iter_mut().find(|(name, _)| *name == child.name()) {
            Some((_, nodes)) => nodes.push(child),
            None => groups.push((child.name(), vec![child])),
        }
    }
    groups
}

/// The element name of a structure member (botocore's `_member_key_name`).
fn member_key(member: Member<'_>) -> &str {
    if member.shape.kind() == "list" && member.flattened() {
        let inner = member.shape.child("member");
        if let Some(name) = inner.def.get("locationName").and_then(Value::as_str) {
            return name;
        }
    }
    member.wire_name()
}

/// Reads the structure `shape` from `node`'s children and attributes; members bound to HTTP
/// locations are left to the caller.
pub(crate) fn read_structure(shape: Shape<'_>, node: &Element<'_>) -> Result<Map<String, Value>, String> {
    let children = by_name(node);
    let mut out = Map::new();
    for member in shape.members() {
        if member.location().is_some() {
            continue;
        }
        if member.flag("xmlAttribute") {
            let name = member.wire_name();
            let local = name.rsplit(':').next().unwrap_or(name);
            if let Some(v) = node.attr(name).or_else(|| node.attr(local)) {
                out.insert(member.name.to_owned(), Value::String(v.to_owned()));
            }
            continue;
        }
        let key = member_key(member);
        let Some((_, nodes)) = children.iter().find(|(name, _)| *name == key) else { continue };
        let value = match member.shape.kind() {
            "list" if member.flattened() => read_list_items(member.shape, nodes)?,
            "map" if member.flattened() => read_map_entries(member.shape, nodes)?,
            _ => match nodes.first() {
                Some(first) => read_value(member, first)?,
                None => continue,
            },
        };
        out.insert(member.name.to_owned(), value);
    }
    Ok(out)
}

fn read_list_items(shape: Shape<'_>, items: &[&Element<'_>]) -> Result<Value, String> {
    let inner = shape.child("member");
    items.iter().map(|item| read_value(inner, item)).collect::<Result<Vec<_>, _>>().map(Value::Array)
}

fn read_map_entries(shape: Shape<'_>, entries: &[&Element<'_>]) -> Result<Value, String> {
    let (key, val) = (shape.child("key"), shape.child("value"));
    let key_name = key.def.get("locationName").and_then(Value::as_str).unwrap_or("key");
    let val_name = val.def.get("locationName").and_then(Value::as_str).unwrap_or("value");
    let mut out = Map::new();
    for entry in entries {
        let k = entry.child(key_name).map(|e| e.text().to_owned()).unwrap_or_default();
        let v = match entry.child(val_name) {
            Some(e) => read_value(val, e)?,
            None => Value::Null,
        };
        out.insert(k, v);
    }
    Ok(Value::Object(out))
}

/// Reads one value of `member`'s shape from `node`.
pub(crate) fn read_value(member: Member<'_>, node: &Element<'_>) -> Result<Value, String> {
    let shape = member.shape;
    let text = node.text();
    let bad = |what: &str| format!("<{}>: {text:?} is not {what}", node.name());
    Ok(match shape.kind() {
        "structure" => Value::Object(read_structure(shape, node)?),
        "list" => {
            let items: Vec<&Element<'_>> = node.children().iter().collect();
            read_list_items(shape, &items)?
        }
        "map" => {
            let entries: Vec<&Element<'_>> = node.children().iter().collect();
            read_map_entries(shape, &entries)?
        }
        "boolean" => Value::Bool(text.trim() == "true"),
        "integer" | "long" | "biginteger" => Value::from(text.trim().parse::<i64>().map_err(|_| bad("an integer"))?),
        "float" | "double" | "bigdecimal" => number_value(text).ok_or_else(|| bad("a number"))?,
        "timestamp" => shapes::output_time(shapes::parse_time(text).ok_or_else(|| bad("a timestamp"))?),
        "blob" => Value::String(text.trim().to_owned()),
        _ => Value::String(text.to_owned()),
    })
}

/// A float from text (`NaN`/`Infinity` as text, as JSON cannot hold them).
pub(crate) fn number_value(text: &str) -> Option<Value> {
    let text = text.trim();
    if matches!(text, "NaN" | "Infinity" | "-Infinity") {
        return Some(Value::String(text.to_owned()));
    }
    let f = text.parse::<f64>().ok()?;
    serde_json::Number::from_f64(f).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shapes() -> Map<String, Value> {
        json!({
            "Out": {"type": "structure", "members": {
                "Name": {"shape": "S"}, "Count": {"shape": "I"}, "On": {"shape": "B"},
                "Items": {"shape": "L"}, "Flat": {"shape": "FL", "locationName": "Flat"},
                "Tags": {"shape": "M"}, "When": {"shape": "T"}, "Kind": {"shape": "S", "xmlAttribute": true, "locationName": "xsi:type"}}},
            "S": {"type": "string"}, "I": {"type": "integer"}, "B": {"type": "boolean"}, "T": {"type": "timestamp"},
            "L": {"type": "list", "member": {"shape": "S", "locationName": "item"}},
            "FL": {"type": "list", "member": {"shape": "S"}, "flattened": true},
            "M": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "S"}}
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn reads_lists_maps_attributes_and_scalars() {
        let shapes = shapes();
        let body = br#"<Out xmlns:xsi="x" xsi:type="Group"><Name>a &amp; b</Name><Count>3</Count><On>true</On>
            <Items><item>x</item><item>y</item></Items><Flat>1</Flat><Flat>2</Flat>
            <Tags><entry><key>k</key><value>v</value></entry></Tags><When>2024-01-31T12:00:00.000Z</When><Extra>z</Extra></Out>"#;
        let root = Element::parse(body).unwrap();
        let out = read_structure(Shape::get(&shapes, "Out"), &root).unwrap();
        assert_eq!(
            Value::Object(out),
            json!({"Name": "a & b", "Count": 3, "On": true, "Items": ["x", "y"], "Flat": ["1", "2"],
                "Tags": {"k": "v"}, "When": "2024-01-31T12:00:00Z", "Kind": "Group"})
        );
        let bad = Element::parse(b"<Out><Count>many</Count></Out>").unwrap();
        assert_eq!(
            read_structure(Shape::get(&shapes, "Out"), &bad).unwrap_err(),
            "<Count>: \"many\" is not an integer"
        );
    }

    #[test]
    fn writes_as_element_tree_does() {
        let shapes = shapes();
        let mut w = XmlWriter::default();
        let params =
            json!({"Name": "a<b", "Items": ["x"], "Flat": ["1", "2"], "Tags": {"k": "v"}, "On": false, "Kind": "G\"q"});
        w.structure(Shape::get(&shapes, "Out"), None, params.as_object().unwrap(), "Out");
        assert_eq!(
            String::from_utf8(w.into_bytes()).unwrap(),
            "<Out xsi:type=\"G&quot;q\"><Flat>1</Flat><Flat>2</Flat><Items><item>x</item></Items><Name>a&lt;b</Name>\
             <On>false</On><Tags><entry><key>k</key><value>v</value></entry></Tags></Out>"
        );
    }
}
