//! A small JSON reader and writer for the few short JSON documents on the AWS path: the container,
//! IMDS, `credential_process` and SSO credential documents, the SSO token cache, and the local
//! store's metadata side files.
//!
//! [`Value::parse`] reads a whole document into a tree in one pass; strings borrow from the input
//! unless they hold escapes. Callers pick fields with [`Value::get`], [`Value::str_field`] and
//! [`Value::i64_field`] in plain non-generic code. [`write_str`] writes a quoted, escaped string.
//!
//! Why not serde: these documents have two to five fields, and serde's derive macro, serde_json
//! and the per-type deserializers they instantiate were about 5% of the CPU time of an S3-only
//! build (see the README's build-cost section). This module is compiled once. The Azure and
//! Google crates, whose REST APIs speak JSON throughout, use serde.
//!
//! Errors name the problem, the byte offset and the field, never a value: the documents carry
//! secrets.
//!
//! ```
//! use cloudkit_core::internal::json::Value;
//! let doc = Value::parse(br#"{"Version": 1, "AccessKeyId": "AKID", "Token": null, "Tags": ["a\u00e9"]}"#)?;
//! assert_eq!(doc.i64_field("Version")?, Some(1));
//! assert_eq!(doc.str_field("AccessKeyId")?, Some("AKID"));
//! assert_eq!(doc.str_field("Token")?, None); // null reads as absent
//! assert_eq!(doc.get("Tags").and_then(|t| t.as_array()).map(|a| a[0].as_str()), Some(Some("aé")));
//! assert!(doc.str_field("Version").is_err()); // present, but not a string
//! # Ok::<(), cloudkit_core::internal::json::JsonError>(())
//! ```

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::fmt::Write as _;

/// Objects up to this many members check for duplicate names by scanning; larger ones use a set.
pub(crate) const LINEAR_SCAN_MEMBERS: usize = 16;

#[cfg(test)]
thread_local! {
    /// Member names compared or hashed by this thread's duplicate-name checks (tests count the
    /// work instead of timing it).
    pub(crate) static NAME_CHECKS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Counts `n` name checks (tests only).
#[inline]
fn count_name_checks(_n: usize) {
    #[cfg(test)]
    NAME_CHECKS.with(|c| c.set(c.get() + _n));
}

/// How deeply arrays and objects may nest (serde_json's default limit).
pub const MAX_DEPTH: usize = 128;

/// A document that is not JSON, or a field that is missing or of the wrong type. The message
/// never contains a value from the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    message: String,
}

impl JsonError {
    /// An error with this message (for callers' own checks on a parsed document).
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }

    fn at(what: &str, offset: usize) -> Self {
        Self { message: format!("{what} at byte {offset}") }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for JsonError {}

/// One JSON value. Numbers keep their text (read them with [`Value::as_i64`]); object members keep
/// their order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<'a> {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A number, as written.
    Number(&'a str),
    /// A string, unescaped.
    String(Cow<'a, str>),
    /// An array.
    Array(Vec<Value<'a>>),
    /// An object's members in document order (names are unique: duplicates are refused).
    Object(Vec<(Cow<'a, str>, Value<'a>)>),
}

impl<'a> Value<'a> {
    /// Parses a whole document (UTF-8, optionally with a byte-order mark; whitespace around the
    /// value is allowed, anything else after it is an error).
    pub fn parse(input: &'a [u8]) -> Result<Value<'a>, JsonError> {
        let input = input.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(input);
        let text =
            std::str::from_utf8(input).map_err(|e| JsonError::at("the document is not UTF-8", e.valid_up_to()))?;
        let mut parser = Parser { text, pos: 0 };
        let value = parser.value(0)?;
        parser.skip_whitespace();
        if parser.pos != text.len() {
            return Err(JsonError::at("unexpected characters after the JSON value", parser.pos));
        }
        Ok(value)
    }

    /// The member `name` of an object (`None` if absent or if this is not an object).
    pub fn get(&self, name: &str) -> Option<&Value<'a>> {
        match self {
            Value::Object(members) => members.iter().find(|(k, _)| k == name).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number as an `i64`, if this is an integer that fits.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Number(n) => n.parse().ok(),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&[Value<'a>]> {
        match self {
            Value::Array(items) => Some(items),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&[(Cow<'a, str>, Value<'a>)]> {
        match self {
            Value::Object(members) => Some(members),
            _ => None,
        }
    }

    /// The string member `name`: `Ok(None)` when absent or `null`, an error naming the field when
    /// it is another type or when this is not an object.
    pub fn str_field(&self, name: &str) -> Result<Option<&str>, JsonError> {
        match self.field(name)? {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(_) => Err(wrong_type(name, "a string")),
        }
    }

    /// [`Value::str_field`], copied.
    pub fn string_field(&self, name: &str) -> Result<Option<String>, JsonError> {
        Ok(self.str_field(name)?.map(str::to_owned))
    }

    /// Like [`Value::str_field`], but absent or `null` is an error too.
    pub fn required_str(&self, name: &str) -> Result<&str, JsonError> {
        self.str_field(name)?.ok_or_else(|| missing(name))
    }

    /// The integer member `name`: `Ok(None)` when absent or `null`, an error naming the field when
    /// it is not an integer that fits an `i64`.
    pub fn i64_field(&self, name: &str) -> Result<Option<i64>, JsonError> {
        match self.field(name)? {
            None => Ok(None),
            Some(v) => v.as_i64().map(Some).ok_or_else(|| wrong_type(name, "an integer")),
        }
    }

    /// Like [`Value::i64_field`], but absent or `null` is an error too.
    pub fn required_i64(&self, name: &str) -> Result<i64, JsonError> {
        self.i64_field(name)?.ok_or_else(|| missing(name))
    }

    /// The object member `name` (`Ok(None)` when absent or `null`).
    pub fn object_field(&self, name: &str) -> Result<Option<&Value<'a>>, JsonError> {
        match self.field(name)? {
            None => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v)),
            Some(_) => Err(wrong_type(name, "an object")),
        }
    }

    /// Like [`Value::object_field`], but absent or `null` is an error too.
    pub fn required_object(&self, name: &str) -> Result<&Value<'a>, JsonError> {
        self.object_field(name)?.ok_or_else(|| missing(name))
    }

    fn field(&self, name: &str) -> Result<Option<&Value<'a>>, JsonError> {
        match self {
            Value::Object(_) => Ok(self.get(name).filter(|v| !matches!(v, Value::Null))),
            _ => Err(JsonError { message: format!("expected a JSON object with field `{name}`") }),
        }
    }
}

fn wrong_type(name: &str, what: &str) -> JsonError {
    JsonError { message: format!("field `{name}` is not {what}") }
}

fn missing(name: &str) -> JsonError {
    JsonError { message: format!("field `{name}` is missing") }
}

struct Parser<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn skip_whitespace(&mut self) {
        let rest = &self.text.as_bytes()[self.pos..];
        self.pos += rest.iter().take_while(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')).count();
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn truncated(&self) -> JsonError {
        JsonError::at("truncated JSON", self.pos)
    }

    fn expect(&mut self, byte: u8, what: &str) -> Result<(), JsonError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b) if b == byte => {
                self.pos += 1;
                Ok(())
            }
            Some(_) => Err(JsonError::at(what, self.pos)),
            None => Err(self.truncated()),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        self.skip_whitespace();
        let Some(first) = self.peek() else { return Err(self.truncated()) };
        match first {
            b'{' | b'[' if depth >= MAX_DEPTH => Err(JsonError::at("JSON nested too deeply", self.pos)),
            b'{' => self.object(depth + 1),
            b'[' => self.array(depth + 1),
            b'"' => self.string().map(Value::String),
            b't' => self.literal("true", Value::Bool(true)),
            b'f' => self.literal("false", Value::Bool(false)),
            b'n' => self.literal("null", Value::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(JsonError::at("expected a JSON value", self.pos)),
        }
    }

    fn literal(&mut self, word: &str, value: Value<'a>) -> Result<Value<'a>, JsonError> {
        let rest = &self.text[self.pos..];
        if rest.starts_with(word) {
            self.pos += word.len();
            Ok(value)
        } else if word.starts_with(rest) {
            Err(self.truncated())
        } else {
            Err(JsonError::at("expected a JSON value", self.pos))
        }
    }

    fn number(&mut self) -> Result<Value<'a>, JsonError> {
        let start = self.pos;
        let bytes = self.text.as_bytes();
        let digits = |pos: usize| bytes[pos..].iter().take_while(|b| b.is_ascii_digit()).count();
        let mut pos = start + usize::from(bytes[start] == b'-');
        let int = digits(pos);
        // RFC 8259: at least one digit, and no leading zeros.
        if int == 0 || (int > 1 && bytes[pos] == b'0') {
            return Err(JsonError::at("malformed number", start));
        }
        pos += int;
        if bytes.get(pos) == Some(&b'.') {
            let frac = digits(pos + 1);
            if frac == 0 {
                return Err(JsonError::at("malformed number", start));
            }
            pos += 1 + frac;
        }
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            if matches!(bytes.get(pos), Some(b'+' | b'-')) {
                pos += 1;
            }
            let exp = digits(pos);
            if exp == 0 {
                return Err(JsonError::at("malformed number", start));
            }
            pos += exp;
        }
        self.pos = pos;
        Ok(Value::Number(&self.text[start..pos]))
    }

    /// A string starting at the opening quote.
    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.pos += 1;
        let start = self.pos;
        let bytes = self.text.as_bytes();
        // Fast path: no escapes, borrow.
        let plain = bytes[start..].iter().take_while(|&&b| b != b'"' && b != b'\\' && b >= 0x20).count();
        let mut pos = start + plain;
        match bytes.get(pos) {
            Some(b'"') => {
                self.pos = pos + 1;
                return Ok(Cow::Borrowed(&self.text[start..pos]));
            }
            None => {
                self.pos = pos;
                return Err(self.truncated());
            }
            _ => {}
        }
        let mut out = String::with_capacity(plain + 16);
        out.push_str(&self.text[start..pos]);
        loop {
            let Some(&b) = bytes.get(pos) else {
                self.pos = pos;
                return Err(self.truncated());
            };
            match b {
                b'"' => {
                    self.pos = pos + 1;
                    return Ok(Cow::Owned(out));
                }
                b'\\' => {
                    let Some(&e) = bytes.get(pos + 1) else {
                        self.pos = pos + 1;
                        return Err(self.truncated());
                    };
                    pos += 2;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'b' => out.push('\u{8}'),
                        b'f' => out.push('\u{c}'),
                        b'n' => out.push('\n'),
                        b'r' => out.push('\r'),
                        b't' => out.push('\t'),
                        b'u' => {
                            let (c, next) = self.unicode_escape(pos)?;
                            out.push(c);
                            pos = next;
                        }
                        _ => return Err(JsonError::at("invalid escape in a string", pos - 2)),
                    }
                }
                0x00..=0x1f => return Err(JsonError::at("control character in a string", pos)),
                _ => {
                    // Copy the run up to the next quote, backslash or control character.
                    let run = bytes[pos..].iter().take_while(|&&b| b != b'"' && b != b'\\' && b >= 0x20).count();
                    out.push_str(&self.text[pos..pos + run]);
                    pos += run;
                }
            }
        }
    }

    /// The four hex digits after `\u` at `pos` (and a low surrogate's escape after a high one).
    fn unicode_escape(&self, pos: usize) -> Result<(char, usize), JsonError> {
        let hex = |at: usize| -> Result<u32, JsonError> {
            let digits = self.text.get(at..at + 4).ok_or_else(|| JsonError::at("truncated JSON", at))?;
            if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(JsonError::at("invalid \\u escape in a string", at));
            }
            u32::from_str_radix(digits, 16).map_err(|_| JsonError::at("invalid \\u escape in a string", at))
        };
        let first = hex(pos)?;
        let bad_surrogate = || JsonError::at("unpaired surrogate in a \\u escape", pos);
        match first {
            0xD800..=0xDBFF => {
                if self.text.as_bytes().get(pos + 4..pos + 6) != Some(b"\\u") {
                    return Err(bad_surrogate());
                }
                let second = hex(pos + 6)?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(bad_surrogate());
                }
                let c =
                    char::from_u32(0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)).ok_or_else(bad_surrogate)?;
                Ok((c, pos + 10))
            }
            0xDC00..=0xDFFF => Err(bad_surrogate()),
            _ => Ok((char::from_u32(first).ok_or_else(bad_surrogate)?, pos + 4)),
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            items.push(self.value(depth)?);
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                Some(_) => return Err(JsonError::at("expected `,` or `]`", self.pos)),
                None => return Err(self.truncated()),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        self.pos += 1;
        let mut members: Vec<(Cow<'a, str>, Value<'a>)> = Vec::new();
        // Duplicate names are found by a linear scan while the object is small and through a set
        // once it is not, so a hostile document cannot make parsing quadratic.
        let mut names: Option<HashSet<Cow<'a, str>>> = None;
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_whitespace();
            let key_at = self.pos;
            match self.peek() {
                Some(b'"') => {}
                Some(_) => return Err(JsonError::at("expected a member name", self.pos)),
                None => return Err(self.truncated()),
            }
            let key = self.string()?;
            let duplicate = match &mut names {
                Some(names) => {
                    count_name_checks(1);
                    !names.insert(key.clone())
                }
                None if members.len() < LINEAR_SCAN_MEMBERS => {
                    count_name_checks(members.len());
                    members.iter().any(|(k, _)| *k == key)
                }
                None => {
                    count_name_checks(members.len() + 1);
                    let set = names.insert(members.iter().map(|(k, _)| k.clone()).collect());
                    !set.insert(key.clone())
                }
            };
            if duplicate {
                // Two readers could otherwise disagree on which one counts.
                return Err(JsonError::at("duplicate member name", key_at));
            }
            self.expect(b':', "expected `:`")?;
            let value = self.value(depth)?;
            members.push((key, value));
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                Some(_) => return Err(JsonError::at("expected `,` or `}`", self.pos)),
                None => return Err(self.truncated()),
            }
        }
    }
}

/// Appends `text` to `out` as a JSON string: quoted, with `"`, `\` and control characters escaped.
pub fn write_str(out: &mut String, text: &str) {
    write_escaped(out, text, false);
}

/// [`write_str`], with every non-ASCII character escaped as `\uXXXX` too (UTF-16 units), the way
/// Google's libraries write POST policy documents.
pub fn write_str_ascii(out: &mut String, text: &str) {
    write_escaped(out, text, true);
}

fn write_escaped(out: &mut String, text: &str, ascii_only: bool) {
    out.reserve(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || (ascii_only && !c.is_ascii()) => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    let _ = write!(out, "\\u{unit:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(input: &str) -> String {
        Value::parse(input.as_bytes()).unwrap_err().to_string()
    }

    #[test]
    fn parses_every_kind_of_value() {
        let v = Value::parse(br#" {"a": [1, -2.5e3, 0, true, false, null], "b": {"c": "d"}, "e": ""} "#).unwrap();
        let a = v.get("a").unwrap().as_array().unwrap();
        assert_eq!(a[0], Value::Number("1"));
        assert_eq!(a[1], Value::Number("-2.5e3"));
        assert_eq!(a[0].as_i64(), Some(1));
        assert_eq!(a[1].as_i64(), None);
        assert_eq!(a[3..], [Value::Bool(true), Value::Bool(false), Value::Null]);
        assert_eq!(v.object_field("b").unwrap().unwrap().str_field("c").unwrap(), Some("d"));
        assert_eq!(v.str_field("e").unwrap(), Some(""));
        assert_eq!(v.as_object().unwrap().iter().map(|(k, _)| k.as_ref()).collect::<Vec<_>>(), ["a", "b", "e"]);
        assert_eq!(Value::parse(b"[]").unwrap(), Value::Array(vec![]));
        assert_eq!(Value::parse(b"{}").unwrap(), Value::Object(vec![]));
        assert_eq!(Value::parse(b"\xEF\xBB\xBF\"x\"").unwrap().as_str(), Some("x"));
    }

    #[test]
    fn strings_borrow_unless_escaped() {
        let v =
            Value::parse(br#"["plain", "a\"b\\c\/d\b\f\n\r\t", "\u00e9\u20AC\ud83d\ude00", "caf\u00e9 ok"]"#).unwrap();
        let a = v.as_array().unwrap();
        assert!(matches!(&a[0], Value::String(Cow::Borrowed("plain"))));
        assert_eq!(a[1].as_str(), Some("a\"b\\c/d\u{8}\u{c}\n\r\t"));
        assert_eq!(a[2].as_str(), Some("é€😀"));
        assert_eq!(a[3].as_str(), Some("café ok"));
        assert_eq!(Value::parse("\"ünïcödé\"".as_bytes()).unwrap().as_str(), Some("ünïcödé"));
    }

    #[test]
    fn malformed_documents_are_errors_with_offsets() {
        assert_eq!(err(""), "truncated JSON at byte 0");
        assert_eq!(err("{\"a\": 1"), "truncated JSON at byte 7");
        assert_eq!(err("{\"a\": 1}x"), "unexpected characters after the JSON value at byte 8");
        assert_eq!(err("{\"a\" 1}"), "expected `:` at byte 5");
        assert_eq!(err("{a: 1}"), "expected a member name at byte 1");
        assert_eq!(err("[1 2]"), "expected `,` or `]` at byte 3");
        assert_eq!(err("[1,]"), "expected a JSON value at byte 3");
        assert_eq!(err("{\"a\":1,}"), "expected a member name at byte 7");
        assert_eq!(err("{\"a\":1,\"a\":2}"), "duplicate member name at byte 7");
        // Past the linear-scan size the set finds duplicates too, escaped names included.
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let late_duplicate = format!("{{{},\"k\\u0031\":0}}", many.join(","));
        assert!(err(&late_duplicate).starts_with("duplicate member name at byte"), "{}", err(&late_duplicate));
        assert_eq!(err("tru"), "truncated JSON at byte 0");
        assert_eq!(err("nul!"), "expected a JSON value at byte 0");
        assert_eq!(err("01"), "malformed number at byte 0");
        assert_eq!(err("-"), "malformed number at byte 0");
        assert_eq!(err("1."), "malformed number at byte 0");
        assert_eq!(err("1e"), "malformed number at byte 0");
        assert_eq!(err("\"a\nb\""), "control character in a string at byte 2");
        assert_eq!(err("\"\\x\""), "invalid escape in a string at byte 1");
        assert_eq!(err("\"\\u12zz\""), "invalid \\u escape in a string at byte 3");
        assert_eq!(err("\"\\u12"), "truncated JSON at byte 3");
        assert_eq!(err("\"\\ud83d\""), "unpaired surrogate in a \\u escape at byte 3");
        assert_eq!(err("\"\\ude00\""), "unpaired surrogate in a \\u escape at byte 3");
        assert_eq!(err("\"abc"), "truncated JSON at byte 4");
        assert_eq!(err("\"ab\\"), "truncated JSON at byte 4");
        assert_eq!(Value::parse(b"\"\xff\"").unwrap_err().to_string(), "the document is not UTF-8 at byte 1");
    }

    /// Issue 15, defect 13: duplicate detection scanned every earlier member, so an object with n
    /// members cost n²/2 comparisons (200,000 members: about 2·10¹⁰, minutes). It is linear now.
    #[test]
    fn huge_objects_parse_in_linear_time() {
        let members: Vec<String> = (0..200_000).map(|i| format!("\"member-{i}\":{i}")).collect();
        let doc = format!("{{{}}}", members.join(","));
        let started = std::time::Instant::now();
        let value = Value::parse(doc.as_bytes()).unwrap();
        assert_eq!(value.as_object().map(<[_]>::len), Some(200_000));
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    }

    #[test]
    fn nesting_is_limited() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(Value::parse(ok.as_bytes()).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(err(&deep), format!("JSON nested too deeply at byte {MAX_DEPTH}"));
        // A hostile document cannot exhaust the stack.
        assert!(Value::parse("[".repeat(1_000_000).as_bytes()).is_err());
    }

    #[test]
    fn typed_fields_name_the_field_never_the_value() {
        let v = Value::parse(br#"{"Secret": 12345, "Version": "s3cr3t", "Null": null, "Big": 99999999999999999999}"#)
            .unwrap();
        assert_eq!(v.str_field("Secret").unwrap_err().to_string(), "field `Secret` is not a string");
        let e = v.i64_field("Version").unwrap_err().to_string();
        assert_eq!(e, "field `Version` is not an integer");
        assert!(!e.contains("s3cr3t"));
        assert_eq!(v.str_field("Null").unwrap(), None);
        assert_eq!(v.str_field("Absent").unwrap(), None);
        assert_eq!(v.string_field("Null").unwrap(), None);
        assert_eq!(v.required_str("Absent").unwrap_err().to_string(), "field `Absent` is missing");
        assert_eq!(v.required_i64("Null").unwrap_err().to_string(), "field `Null` is missing");
        assert_eq!(v.i64_field("Big").unwrap_err().to_string(), "field `Big` is not an integer");
        assert_eq!(v.object_field("Secret").unwrap_err().to_string(), "field `Secret` is not an object");
        assert_eq!(v.required_object("Absent").unwrap_err().to_string(), "field `Absent` is missing");
        let not_object = Value::parse(b"[1]").unwrap();
        assert_eq!(not_object.str_field("A").unwrap_err().to_string(), "expected a JSON object with field `A`");
    }

    #[test]
    fn written_strings_read_back() {
        let samples = ["", "plain", "quote \" backslash \\ slash /", "lines\n\r\ttab", "\u{0}\u{1f}\u{7f}", "é€😀"];
        for s in samples {
            let mut out = String::new();
            write_str(&mut out, s);
            assert!(!out[1..out.len() - 1].contains(|c: char| u32::from(c) < 0x20), "{out:?}");
            assert_eq!(Value::parse(out.as_bytes()).unwrap().as_str(), Some(s), "{out:?}");
        }
        let mut out = String::new();
        write_str(&mut out, "a\"b\u{1}é");
        assert_eq!(out, r#""a\"b\u0001é""#);
        let mut out = String::new();
        write_str_ascii(&mut out, "a\"é😀");
        assert_eq!(out, r#""a\"\u00e9\ud83d\ude00""#);
        assert_eq!(Value::parse(out.as_bytes()).unwrap().as_str(), Some("a\"é😀"));
    }
}
