//! CBOR for `smithy-rpc-v2-cbor`: requests written with botocore's encodings (definite lengths,
//! shortest integers, `float` as 32-bit and `double` as 64-bit floats, timestamps as tag 1 over
//! epoch seconds), so they match botocore byte for byte; answers decoded by a small
//! decoder of RFC 8949 (definite and indefinite lengths, half/single/double floats, tags) and read
//! back by the model's shapes.

use serde_json::{Map, Value};

use crate::shapes::{self, Member, Shape};

const UINT: u8 = 0;
const NINT: u8 = 1;
const BYTES: u8 = 2;
const TEXT: u8 = 3;
const ARRAY: u8 = 4;
const MAP: u8 = 5;
const TAG: u8 = 6;
const SIMPLE: u8 = 7;

/// Writes CBOR as botocore's `CBORSerializer`.
#[derive(Default)]
pub(crate) struct CborWriter {
    out: Vec<u8>,
}

impl CborWriter {
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.out
    }

    fn head(&mut self, major: u8, n: u64) {
        let m = major << 5;
        match n {
            0..=23 => self.out.push(m | n as u8),
            24..=0xff => self.out.extend([m | 24, n as u8]),
            0x100..=0xffff => {
                self.out.push(m | 25);
                self.out.extend((n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                self.out.push(m | 26);
                self.out.extend((n as u32).to_be_bytes());
            }
            _ => {
                self.out.push(m | 27);
                self.out.extend(n.to_be_bytes());
            }
        }
    }

    fn text(&mut self, s: &str) {
        self.head(TEXT, s.len() as u64);
        self.out.extend(s.as_bytes());
    }

    fn int(&mut self, n: i64) {
        if n >= 0 {
            self.head(UINT, n as u64);
        } else {
            self.head(NINT, (-1 - n) as u64);
        }
    }

    fn special(&mut self, f: f64) -> bool {
        let bits: u16 = if f.is_nan() {
            0x7e00
        } else if f == f64::INFINITY {
            0x7c00
        } else if f == f64::NEG_INFINITY {
            0xfc00
        } else {
            return false;
        };
        self.out.push((SIMPLE << 5) | 25);
        self.out.extend(bits.to_be_bytes());
        true
    }

    fn float(&mut self, f: f64, double: bool) {
        if self.special(f) {
            return;
        }
        if double {
            self.out.push((SIMPLE << 5) | 27);
            self.out.extend(f.to_be_bytes());
        } else {
            self.out.push((SIMPLE << 5) | 26);
            self.out.extend((f as f32).to_be_bytes());
        }
    }

    /// An untyped JSON value (documents).
    fn any(&mut self, value: &Value) {
        match value {
            Value::Null => self.out.push((SIMPLE << 5) | 22),
            Value::Bool(b) => self.out.push((SIMPLE << 5) | if *b { 21 } else { 20 }),
            Value::Number(n) => match n.as_i64() {
                Some(i) => self.int(i),
                None => match n.as_u64() {
                    Some(u) => self.head(UINT, u),
                    None => self.float(n.as_f64().unwrap_or_default(), true),
                },
            },
            Value::String(s) => self.text(s),
            Value::Array(items) => {
                self.head(ARRAY, items.len() as u64);
                items.iter().for_each(|v| self.any(v));
            }
            Value::Object(map) => {
                self.head(MAP, map.len() as u64);
                for (k, v) in map {
                    self.text(k);
                    self.any(v);
                }
            }
        }
    }

    pub(crate) fn structure(&mut self, shape: Shape<'_>, params: &Map<String, Value>) {
        let members: Vec<(Member<'_>, &Value)> =
            params.iter().filter(|(_, v)| !v.is_null()).filter_map(|(k, v)| shape.member(k).map(|m| (m, v))).collect();
        self.head(MAP, members.len() as u64);
        for (m, v) in members {
            self.text(m.wire_name());
            self.value(m, v);
        }
    }

    fn value(&mut self, member: Member<'_>, value: &Value) {
        let shape = member.shape;
        if shape.flag("document") {
            self.any(value);
            return;
        }
        match (shape.kind(), value) {
            ("structure", Value::Object(map)) => self.structure(shape, map),
            ("list", Value::Array(items)) => {
                let inner = shape.child("member");
                self.head(ARRAY, items.len() as u64);
                items.iter().for_each(|v| self.value(inner, v));
            }
            ("map", Value::Object(map)) => {
                let inner = shape.child("value");
                self.head(MAP, map.len() as u64);
                for (k, v) in map {
                    self.text(k);
                    self.value(inner, v);
                }
            }
            ("blob", v) => {
                let bytes = shapes::input_blob(v).unwrap_or_default();
                self.head(BYTES, bytes.len() as u64);
                self.out.extend(bytes);
            }
            ("timestamp", v) => {
                let secs = shapes::input_time(v).map(shapes::epoch_seconds).unwrap_or_default();
                self.head(TAG, 1);
                self.head(UINT, secs as u64);
            }
            ("float" | "double", Value::String(s)) => {
                let f = match s.as_str() {
                    "Infinity" => f64::INFINITY,
                    "-Infinity" => f64::NEG_INFINITY,
                    _ => f64::NAN,
                };
                self.float(f, true);
            }
            ("float", Value::Number(n)) => self.float(n.as_f64().unwrap_or_default(), false),
            ("double", Value::Number(n)) => self.float(n.as_f64().unwrap_or_default(), true),
            (_, v) => self.any(v),
        }
    }
}

/// A decoded CBOR data item.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cbor {
    Int(i128),
    Bytes(Vec<u8>),
    Text(String),
    Array(Vec<Cbor>),
    Map(Vec<(Cbor, Cbor)>),
    Tag(u64, Box<Cbor>),
    Bool(bool),
    /// `null` and `undefined`.
    Null,
    Float(f64),
    /// Other simple values.
    Simple(u8),
}

impl Cbor {
    fn as_text(&self) -> Option<&str> {
        match self {
            Cbor::Text(s) => Some(s),
            _ => None,
        }
    }

    fn is_null(&self) -> bool {
        matches!(self, Cbor::Null)
    }
}

/// How deeply arrays, maps and tags may nest in an answer.
const MAX_DEPTH: usize = 256;

/// A decoder of one data item (RFC 8949): definite and indefinite lengths, half, single and
/// double floats.
struct Decoder<'a> {
    rest: &'a [u8],
}

impl<'a> Decoder<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], String> {
        let n = usize::try_from(n).ok().filter(|&n| n <= self.rest.len()).ok_or("truncated")?;
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn uint(&mut self, n: u64) -> Result<u64, String> {
        Ok(self.take(n)?.iter().fold(0, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// The argument of an initial byte's additional information; `None` for indefinite.
    fn argument(&mut self, info: u8) -> Result<Option<u64>, String> {
        Ok(Some(match info {
            0..=23 => u64::from(info),
            24 => self.uint(1)?,
            25 => self.uint(2)?,
            26 => self.uint(4)?,
            27 => self.uint(8)?,
            31 => return Ok(None),
            _ => return Err(format!("reserved additional information {info}")),
        }))
    }

    /// Consumes a break (0xff) if one is next.
    fn at_break(&mut self) -> Result<bool, String> {
        match self.rest.first() {
            Some(0xff) => {
                self.rest = &self.rest[1..];
                Ok(true)
            }
            Some(_) => Ok(false),
            None => Err("truncated".into()),
        }
    }

    /// The bytes of a (possibly chunked) byte or text string.
    fn string(&mut self, major: u8, len: Option<u64>) -> Result<Vec<u8>, String> {
        if let Some(n) = len {
            return Ok(self.take(n)?.to_vec());
        }
        let mut out = Vec::new();
        while !self.at_break()? {
            let initial = self.take(1)?[0];
            let n = (initial >> 5 == major).then(|| self.argument(initial & 31)).transpose()?.flatten();
            out.extend_from_slice(self.take(n.ok_or("bad chunk in an indefinite-length string")?)?);
        }
        Ok(out)
    }

    fn items(&mut self, len: Option<u64>, depth: usize) -> Result<Vec<Cbor>, String> {
        let mut out = Vec::new();
        match len {
            Some(n) => {
                for _ in 0..n {
                    out.push(self.item(depth)?);
                }
            }
            None => {
                while !self.at_break()? {
                    out.push(self.item(depth)?);
                }
            }
        }
        Ok(out)
    }

    fn item(&mut self, depth: usize) -> Result<Cbor, String> {
        if depth > MAX_DEPTH {
            return Err("nested too deeply".into());
        }
        let initial = self.take(1)?[0];
        let (major, info) = (initial >> 5, initial & 31);
        if major == SIMPLE {
            return Ok(match info {
                20 | 21 => Cbor::Bool(info == 21),
                22 | 23 => Cbor::Null,
                24 => Cbor::Simple(self.take(1)?[0]),
                25 => Cbor::Float(half(self.uint(2)? as u16)),
                26 => Cbor::Float(f64::from(f32::from_bits(self.uint(4)? as u32))),
                27 => Cbor::Float(f64::from_bits(self.uint(8)?)),
                0..=19 => Cbor::Simple(info),
                _ => return Err(format!("unexpected simple value {info}")),
            });
        }
        let len = self.argument(info)?;
        let definite = || len.ok_or_else(|| format!("indefinite length on major type {major}"));
        Ok(match major {
            UINT => Cbor::Int(i128::from(definite()?)),
            NINT => Cbor::Int(-1 - i128::from(definite()?)),
            BYTES => Cbor::Bytes(self.string(major, len)?),
            TEXT => Cbor::Text(String::from_utf8(self.string(major, len)?).map_err(|_| "text is not UTF-8")?),
            ARRAY => Cbor::Array(self.items(len, depth + 1)?),
            MAP => {
                let n = len.map(|n| n.checked_mul(2).ok_or("map too long")).transpose()?;
                let mut flat = self.items(n, depth + 1)?.into_iter();
                let mut pairs = Vec::with_capacity(flat.len() / 2);
                while let Some(k) = flat.next() {
                    pairs.push((k, flat.next().ok_or("a map key without a value")?));
                }
                Cbor::Map(pairs)
            }
            _ => Cbor::Tag(definite()?, Box::new(self.item(depth + 1)?)),
        })
    }
}

/// An IEEE 754 half-precision float.
fn half(bits: u16) -> f64 {
    let (exp, mant) = (i32::from((bits >> 10) & 0x1f), f64::from(bits & 0x3ff));
    let magnitude = match exp {
        0 => mant * 2f64.powi(-24),
        31 if mant == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        _ => (mant + 1024.0) * 2f64.powi(exp - 25),
    };
    if bits & 0x8000 == 0 { magnitude } else { -magnitude }
}

/// Decodes a CBOR body into a value.
pub(crate) fn decode(body: &[u8]) -> Result<Cbor, String> {
    Decoder { rest: body }.item(0).map_err(|e| format!("malformed CBOR: {e}"))
}

/// A CBOR value without a shape, as JSON (documents, error bodies).
pub(crate) fn to_json(value: &Cbor) -> Value {
    match value {
        Cbor::Int(i) => i64::try_from(*i).map(Value::from).unwrap_or_else(|_| Value::from(*i as f64)),
        Cbor::Bytes(b) => shapes::output_blob(b),
        Cbor::Float(f) => serde_json::Number::from_f64(*f).map_or_else(|| Value::String(float_text(*f)), Value::Number),
        Cbor::Text(s) => Value::String(s.clone()),
        Cbor::Bool(b) => Value::Bool(*b),
        Cbor::Tag(_, inner) => to_json(inner),
        Cbor::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        Cbor::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                if let Some(k) = k.as_text() {
                    map.insert(k.to_owned(), to_json(v));
                }
            }
            Value::Object(map)
        }
        Cbor::Null | Cbor::Simple(_) => Value::Null,
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        "NaN".to_owned()
    } else if f > 0.0 {
        "Infinity".to_owned()
    } else {
        "-Infinity".to_owned()
    }
}

fn number(value: &Cbor) -> Option<f64> {
    match value {
        Cbor::Int(i) => Some(*i as f64),
        Cbor::Float(f) => Some(*f),
        Cbor::Tag(_, inner) => number(inner),
        _ => None,
    }
}

/// Reads a decoded CBOR value by `shape`.
pub(crate) fn read_structure(shape: Shape<'_>, value: &Cbor) -> Result<Map<String, Value>, String> {
    let Cbor::Map(entries) = value else {
        return Err(format!("expected a CBOR map for {}", shape.name));
    };
    let mut out = Map::new();
    for member in shape.members() {
        let wire = member.wire_name();
        let Some((_, v)) = entries.iter().find(|(k, _)| k.as_text() == Some(wire)) else { continue };
        if v.is_null() {
            continue;
        }
        out.insert(member.name.to_owned(), read_value(member, v)?);
    }
    Ok(out)
}

fn read_value(member: Member<'_>, value: &Cbor) -> Result<Value, String> {
    let shape = member.shape;
    if shape.flag("document") {
        return Ok(to_json(value));
    }
    let bad = |what: &str| format!("{}: expected {what} in the CBOR answer", member.name);
    Ok(match shape.kind() {
        "structure" => Value::Object(read_structure(shape, value)?),
        "list" => {
            let inner = shape.child("member");
            let Cbor::Array(items) = value else { return Err(bad("an array")) };
            Value::Array(items.iter().filter(|v| !v.is_null()).map(|v| read_value(inner, v)).collect::<Result<_, _>>()?)
        }
        "map" => {
            let inner = shape.child("value");
            let Cbor::Map(entries) = value else { return Err(bad("a map")) };
            let mut out = Map::new();
            for (k, v) in entries {
                let k = k.as_text().ok_or_else(|| bad("text map keys"))?;
                if !v.is_null() {
                    out.insert(k.to_owned(), read_value(inner, v)?);
                }
            }
            Value::Object(out)
        }
        "timestamp" => {
            let secs = number(value).ok_or_else(|| bad("a timestamp"))?;
            shapes::output_time(shapes::from_epoch(secs).ok_or_else(|| bad("a timestamp"))?)
        }
        "blob" => match value {
            Cbor::Bytes(b) => shapes::output_blob(b),
            _ => return Err(bad("bytes")),
        },
        _ => to_json(value),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shapes() -> Map<String, Value> {
        json!({
            "In": {"type": "structure", "members": {"N": {"shape": "S", "locationName": "Name"}, "V": {"shape": "D"},
                "F": {"shape": "F"}, "I": {"shape": "I"}, "T": {"shape": "T"}, "B": {"shape": "Bl"}, "L": {"shape": "L"}}},
            "S": {"type": "string"}, "D": {"type": "double"}, "F": {"type": "float"}, "I": {"type": "integer"},
            "T": {"type": "timestamp"}, "Bl": {"type": "blob"}, "L": {"type": "list", "member": {"shape": "S"}}
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    #[test]
    fn writes_botocore_encodings_and_reads_them_back() {
        let shapes = shapes();
        let params = json!({"N": "ns", "V": 1.0, "F": 0.5, "I": -500, "T": 1706702400, "B": "hi", "L": ["a"]});
        let mut w = CborWriter::default();
        w.structure(Shape::get(&shapes, "In"), params.as_object().unwrap());
        let bytes = w.into_bytes();
        assert_eq!(&bytes[..7], b"\xa7\x61B\x42hi\x61".as_slice());
        // `double` is 64-bit, `float` 32-bit, integers shortest, timestamps tag 1.
        assert!(bytes.windows(9).any(|w| w == b"\xfb\x3f\xf0\0\0\0\0\0\0"));
        assert!(bytes.windows(5).any(|w| w == b"\xfa\x3f\0\0\0"));
        assert!(bytes.windows(3).any(|w| w == b"\x39\x01\xf3"));
        assert!(bytes.windows(6).any(|w| w == b"\xc1\x1a\x65\xba\x36\x40"));
        let decoded = decode(&bytes).unwrap();
        let back = read_structure(Shape::get(&shapes, "In"), &decoded).unwrap();
        assert_eq!(
            Value::Object(back),
            json!({"N": "ns", "V": 1.0, "F": 0.5, "I": -500, "T": "2024-01-31T12:00:00Z", "B": "aGk=", "L": ["a"]})
        );
        assert!(decode(b"\xff\xff").is_err());
    }

    #[test]
    fn decodes_rfc_8949_examples() {
        let cases: &[(&[u8], Value)] = &[
            (b"\x00", json!(0)),
            (b"\x17", json!(23)),
            (b"\x18\x64", json!(100)),
            (b"\x1b\x00\x00\x00\xe8\xd4\xa5\x10\x00", json!(1_000_000_000_000_i64)),
            (b"\x1b\xff\xff\xff\xff\xff\xff\xff\xff", json!(18446744073709551615_f64)),
            (b"\x20", json!(-1)),
            (b"\x39\x03\xe7", json!(-1000)),
            (b"\xf9\x3c\x00", json!(1.0)),
            (b"\xf9\xc4\x00", json!(-4.0)),
            (b"\xf9\x00\x01", json!(5.960464477539063e-8)),
            (b"\xf9\x7c\x00", json!("Infinity")),
            (b"\xf9\x7e\x00", json!("NaN")),
            (b"\xfa\x47\xc3\x50\x00", json!(100000.0)),
            (b"\xfb\x3f\xf1\x99\x99\x99\x99\x99\x9a", json!(1.1)),
            (b"\xf4", json!(false)),
            (b"\xf5", json!(true)),
            (b"\xf6", json!(null)),
            (b"\xf7", json!(null)),
            (b"\xc1\x1a\x51\x4b\x67\xb0", json!(1363896240)),
            (b"\x44\x01\x02\x03\x04", json!("AQIDBA==")),
            (b"\x64\x49\x45\x54\x46", json!("IETF")),
            (b"\x62\xc3\xbc", json!("\u{fc}")),
            (b"\x83\x01\x82\x02\x03\x82\x04\x05", json!([1, [2, 3], [4, 5]])),
            (b"\xa2\x61\x61\x01\x61\x62\x82\x02\x03", json!({"a": 1, "b": [2, 3]})),
            (b"\x5f\x42\x01\x02\x43\x03\x04\x05\xff", json!("AQIDBAU=")),
            (b"\x7f\x65strea\x64ming\xff", json!("streaming")),
            (b"\x9f\x01\x82\x02\x03\x9f\x04\x05\xff\xff", json!([1, [2, 3], [4, 5]])),
            (b"\xbf\x63Fun\xf5\x63Amt\x21\xff", json!({"Fun": true, "Amt": -2})),
        ];
        for (bytes, want) in cases {
            assert_eq!(&to_json(&decode(bytes).unwrap()), want, "{bytes:02x?}");
        }
        let malformed: &[&[u8]] = &[
            b"",
            b"\x18",
            b"\x62a",
            b"\x82\x01",
            b"\x9f\x01",
            b"\x7f\x41a\xff",
            b"\x62\xff\xfe",
            b"\x1c",
            b"\xff",
            b"\xa1\x01",
        ];
        for bytes in malformed {
            assert!(decode(bytes).is_err(), "{bytes:02x?}");
        }
        let deep = [vec![0x81; MAX_DEPTH + 2], vec![0]].concat();
        assert!(decode(&deep).is_err());
    }
}

/// Property tests: the decoder reads untrusted answers, so any bytes give a value or an error,
/// never a panic, and what the writer writes reads back.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::collection::{btree_map, vec};
    use proptest::prelude::*;

    fn config() -> ProptestConfig {
        ProptestConfig { failure_persistence: None, ..ProptestConfig::default() }
    }

    /// JSON values the writer encodes exactly (no floats: `to_json` renders them its own way).
    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..8).prop_map(Value::Array),
                btree_map(".{0,6}", inner, 0..8).prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Initial bytes that reach every branch: all major types with 1–8 byte arguments, indefinite
    /// lengths, breaks, tags, simple values and floats.
    const HEADS: &[u8] = &[
        0x00, 0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1f, 0x20, 0x38, 0x3b, 0x40, 0x41, 0x58, 0x5b, 0x5f, 0x60, 0x61,
        0x62, 0x78, 0x7b, 0x7f, 0x80, 0x81, 0x82, 0x98, 0x9b, 0x9f, 0xa0, 0xa1, 0xa2, 0xb8, 0xbb, 0xbf, 0xc0, 0xc1,
        0xd8, 0xdb, 0xdf, 0xe0, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xff,
    ];

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..2048)) {
            if let Ok(value) = decode(&bytes) {
                let _ = to_json(&value);
            }
        }

        #[test]
        fn sequences_of_heads_never_panic(
            heads in vec((prop::sample::select(HEADS), vec(any::<u8>(), 0..3)), 0..200),
        ) {
            let bytes: Vec<u8> = heads.into_iter().flat_map(|(h, rest)| std::iter::once(h).chain(rest)).collect();
            if let Ok(value) = decode(&bytes) {
                let _ = to_json(&value);
                let shapes = serde_json::json!({
                    "Out": {"type": "structure", "members": {"S": {"shape": "S"}, "T": {"shape": "T"},
                        "B": {"shape": "B"}, "L": {"shape": "L"}, "M": {"shape": "M"}, "D": {"shape": "D"}}},
                    "S": {"type": "string"}, "T": {"type": "timestamp"}, "B": {"type": "blob"},
                    "L": {"type": "list", "member": {"shape": "T"}},
                    "M": {"type": "map", "key": {"shape": "S"}, "value": {"shape": "B"}},
                    "D": {"type": "structure", "members": {}, "document": true}
                });
                let _ = read_structure(Shape::get(shapes.as_object().unwrap(), "Out"), &value);
            }
        }

        #[test]
        fn written_values_read_back_and_every_truncation_is_an_error(
            value in json_value(),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut w = CborWriter::default();
            w.any(&value);
            let bytes = w.into_bytes();
            prop_assert_eq!(&to_json(&decode(&bytes).unwrap()), &value);
            let cut = cut.index(bytes.len());
            prop_assert!(decode(&bytes[..cut]).is_err(), "a prefix of {} of {} bytes decoded", cut, bytes.len());
        }
    }
}
