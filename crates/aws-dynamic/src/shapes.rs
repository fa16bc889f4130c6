//! Read-only views of a model's shapes and member references, and the value conventions of the
//! dynamic client: timestamps are RFC 3339 text in outputs (RFC 3339 text or epoch seconds in
//! inputs), blobs are base64 text in outputs (text taken as its UTF-8 bytes, or a list of byte
//! values, in inputs).

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{Map, Value};

static EMPTY: LazyLock<Map<String, Value>> = LazyLock::new(Map::new);

/// A shape of the model.
#[derive(Clone, Copy)]
pub(crate) struct Shape<'a> {
    pub(crate) name: &'a str,
    pub(crate) def: &'a Map<String, Value>,
    shapes: &'a Map<String, Value>,
}

/// A reference to a shape from a structure member, list member or map key/value, with the
/// reference's own traits (`location`, `locationName`, `flattened`, …).
#[derive(Clone, Copy)]
pub(crate) struct Member<'a> {
    pub(crate) name: &'a str,
    pub(crate) def: &'a Map<String, Value>,
    pub(crate) shape: Shape<'a>,
}

impl<'a> Shape<'a> {
    /// The shape named `name` (an empty shape of no type when the model lacks it).
    #[inline(never)]
    pub(crate) fn get(shapes: &'a Map<String, Value>, name: &'a str) -> Self {
        let def = shapes.get(name).and_then(Value::as_object).unwrap_or(&EMPTY);
        Self { name, def, shapes }
    }

    /// The type (`structure`, `list`, `map`, `string`, `integer`, `long`, `float`, `double`,
    /// `boolean`, `blob`, `timestamp`, `bigdecimal`, `biginteger`); empty when unknown.
    #[inline(never)]
    pub(crate) fn kind(&self) -> &'a str {
        self.str("type").unwrap_or("")
    }

    #[inline(never)]
    pub(crate) fn str(&self, key: &str) -> Option<&'a str> {
        self.def.get(key).and_then(Value::as_str)
    }

    #[inline(never)]
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.def.get(key).and_then(Value::as_bool).unwrap_or(false)
    }

    #[inline(never)]
    pub(crate) fn number(&self, key: &str) -> Option<f64> {
        self.def.get(key).and_then(Value::as_f64)
    }

    #[inline(never)]
    fn member_ref(&self, name: &'a str, def: &'a Value) -> Member<'a> {
        let def = def.as_object().unwrap_or(&EMPTY);
        let target = def.get("shape").and_then(Value::as_str).unwrap_or("");
        Member { name, def, shape: Shape::get(self.shapes, target) }
    }

    /// The members of a structure, in model order.
    #[inline(never)]
    pub(crate) fn members(&self) -> Vec<Member<'a>> {
        let mut out = Vec::new();
        if let Some(members) = self.def.get("members").and_then(Value::as_object) {
            for (name, def) in members {
                out.push(self.member_ref(name, def));
            }
        }
        out
    }

    /// A structure member by name.
    #[inline(never)]
    pub(crate) fn member(&self, name: &str) -> Option<Member<'a>> {
        let (name, def) = self.def.get("members")?.as_object()?.get_key_value(name)?;
        Some(self.member_ref(name, def))
    }

    /// The required members of a structure.
    pub(crate) fn required(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.def.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str)
    }

    /// The member reference of a list, the key or value reference of a map.
    #[inline(never)]
    pub(crate) fn child(&self, key: &'static str) -> Member<'a> {
        match self.def.get_key_value(key) {
            Some((name, def)) => self.member_ref(name, def),
            None => Member { name: key, def: &EMPTY, shape: Shape::get(self.shapes, "") },
        }
    }

    /// The enum values, when the shape is an enum.
    pub(crate) fn enum_values(&self) -> Option<Vec<&'a str>> {
        Some(self.def.get("enum")?.as_array()?.iter().filter_map(Value::as_str).collect())
    }
}

impl<'a> Member<'a> {
    /// A trait of the reference, else of the target shape.
    #[inline(never)]
    pub(crate) fn str(&self, key: &str) -> Option<&'a str> {
        self.def.get(key).and_then(Value::as_str).or_else(|| self.shape.str(key))
    }

    #[inline(never)]
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.def.get(key).and_then(Value::as_bool).unwrap_or(false) || self.shape.flag(key)
    }

    #[inline(never)]
    pub(crate) fn location(&self) -> Option<&'a str> {
        self.def.get("location").and_then(Value::as_str)
    }

    /// The wire name: `locationName`, else the member name.
    #[inline(never)]
    pub(crate) fn wire_name(&self) -> &'a str {
        self.def.get("locationName").and_then(Value::as_str).unwrap_or(self.name)
    }

    #[inline(never)]
    pub(crate) fn flattened(&self) -> bool {
        self.flag("flattened")
    }

    #[inline(never)]
    pub(crate) fn timestamp_format(&self) -> Option<&'a str> {
        self.str("timestampFormat")
    }
}

/// An error in a value's conversion (the caller adds the path).
pub(crate) type Invalid = String;

/// A timestamp input: RFC 3339 text or epoch seconds (integer or fraction).
#[inline(never)]
pub(crate) fn input_time(value: &Value) -> Result<SystemTime, Invalid> {
    const EXPECTED: &str = "expected a timestamp (RFC 3339 text such as \"2024-01-31T12:00:00Z\", or epoch seconds)";
    match value {
        Value::String(text) => parse_time(text).ok_or_else(|| EXPECTED.to_owned()),
        Value::Number(n) => n.as_f64().and_then(from_epoch).ok_or_else(|| EXPECTED.to_owned()),
        _ => Err(EXPECTED.to_owned()),
    }
}

/// RFC 3339 / ISO 8601 text (`2024-01-31T12:00:00Z`, with or without fraction or offset), or
/// epoch seconds as text.
pub(crate) fn parse_time(text: &str) -> Option<SystemTime> {
    let text = text.trim();
    if let Some(t) = cloudkit_core::internal::date::parse_rfc3339(text) {
        return Some(t);
    }
    if let Ok(t) = time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc2822) {
        return from_nanos(t.unix_timestamp_nanos());
    }
    if let Some(t) = cloudkit_core::internal::date::parse_http_date(text) {
        return Some(t);
    }
    // ISO 8601 without a zone (`2024-01-31T12:00:00`) is UTC, as botocore reads it.
    if let Ok(t) = time::PrimitiveDateTime::parse(text, &time::format_description::well_known::Iso8601::DEFAULT) {
        return from_nanos(t.assume_utc().unix_timestamp_nanos());
    }
    text.parse::<f64>().ok().and_then(from_epoch)
}

fn from_nanos(nanos: i128) -> Option<SystemTime> {
    let nanos = u64::try_from(nanos).ok()?;
    UNIX_EPOCH.checked_add(Duration::from_nanos(nanos))
}

/// Epoch seconds to a time (before 1970 or non-finite: none).
pub(crate) fn from_epoch(secs: f64) -> Option<SystemTime> {
    if !secs.is_finite() || !(0.0..=253_402_300_799.0).contains(&secs) {
        return None;
    }
    // Rounded to microseconds, as Python's datetime reads epoch floats.
    UNIX_EPOCH.checked_add(Duration::from_micros((secs * 1e6).round() as u64))
}

/// Epoch seconds (with milliseconds).
pub(crate) fn epoch_seconds(t: SystemTime) -> f64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    d.as_secs() as f64 + f64::from(d.subsec_millis()) / 1000.0
}

/// Whether `t` has a sub-second part at millisecond precision.
fn has_millis(t: SystemTime) -> bool {
    t.duration_since(UNIX_EPOCH).unwrap_or_default().subsec_millis() != 0
}

/// `2024-01-31T12:00:00Z`, or `…12:00:00.250Z` with milliseconds (botocore's ISO 8601 form).
pub(crate) fn iso8601(t: SystemTime) -> String {
    let t = t.max(UNIX_EPOCH);
    let Some(whole) = cloudkit_core::internal::date::format_rfc3339(t) else {
        return "1970-01-01T00:00:00Z".to_owned();
    };
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) if has_millis(t) => format!("{}.{:03}Z", whole.trim_end_matches('Z'), d.subsec_millis()),
        _ => whole,
    }
}

/// `Wed, 31 Jan 2024 12:00:00 GMT`.
pub(crate) fn rfc822(t: SystemTime) -> String {
    cloudkit_core::internal::date::http_date(t).unwrap_or_else(|| "Thu, 01 Jan 1970 00:00:00 GMT".to_owned())
}

/// A timestamp as the output value: RFC 3339 text.
#[inline(never)]
pub(crate) fn output_time(t: SystemTime) -> Value {
    Value::String(iso8601(t))
}

/// A blob input: text (its UTF-8 bytes, as boto3 takes a `str`) or a list of byte values.
#[inline(never)]
pub(crate) fn input_blob(value: &Value) -> Result<Vec<u8>, Invalid> {
    const EXPECTED: &str = "expected a blob (text, or a list of byte values 0-255)";
    match value {
        Value::String(text) => Ok(text.as_bytes().to_vec()),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_u64().and_then(|n| u8::try_from(n).ok()).ok_or_else(|| EXPECTED.to_owned()))
            .collect(),
        _ => Err(EXPECTED.to_owned()),
    }
}

#[inline(never)]
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[inline(never)]
pub(crate) fn unb64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text.trim()).ok()
}

/// A blob as the output value: base64 text.
#[inline(never)]
pub(crate) fn output_blob(bytes: &[u8]) -> Value {
    Value::String(b64(bytes))
}

/// A new idempotency token (a random UUID v4, as botocore generates).
pub(crate) fn idempotency_token() -> String {
    let mut b = [0u8; 16];
    for x in &mut b {
        *x = fastrand::u8(..);
    }
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A scalar as text, for headers, query strings and XML/query bodies (`true`, `12`, `1.5`).
#[inline(never)]
pub(crate) fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => python_number(n),
        other => other.to_string(),
    }
}

/// A number as Python's `str()` writes it (botocore's serialisers use it): integers as they are,
/// floats with a `.0` when whole.
#[inline(never)]
pub(crate) fn python_number(n: &serde_json::Number) -> String {
    if n.is_f64() {
        let f = n.as_f64().unwrap_or_default();
        python_float(f)
    } else {
        n.to_string()
    }
}

/// Python's `repr(float)`.
pub(crate) fn python_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity".to_owned() } else { "-Infinity".to_owned() };
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-4..1e16).contains(&abs) {
        // Python: `1e+16`, `1.5e-05`.
        let s = format!("{f:e}");
        return match s.split_once('e') {
            Some((m, e)) => {
                let (sign, digits) = e.strip_prefix('-').map_or(("+", e), |d| ("-", d));
                format!("{m}e{sign}{digits:0>2}")
            }
            None => s,
        };
    }
    let s = format!("{f}");
    if s.contains('.') { s } else { format!("{s}.0") }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_read_and_write() {
        let t = parse_time("2024-01-31T12:00:00Z").unwrap();
        assert_eq!(iso8601(t), "2024-01-31T12:00:00Z");
        assert_eq!(iso8601(t + Duration::from_millis(250)), "2024-01-31T12:00:00.250Z");
        assert_eq!(parse_time("2024-01-31T12:00:00"), Some(t));
        assert_eq!(parse_time("Wed, 31 Jan 2024 12:00:00 GMT"), Some(t));
        assert_eq!(parse_time("1706702400"), Some(t));
        assert_eq!(input_time(&json!(1706702400)).unwrap(), t);
        assert!(input_time(&json!("yesterday")).unwrap_err().starts_with("expected a timestamp"));
        assert_eq!(rfc822(t), "Wed, 31 Jan 2024 12:00:00 GMT");
        assert_eq!(epoch_seconds(t + Duration::from_millis(500)), 1706702400.5);
        assert_eq!(from_epoch(-1.0), None);
        assert_eq!(from_epoch(f64::NAN), None);
        assert_eq!(parse_time(" 2024-01-31T13:30:00.250+01:30 "), Some(t + Duration::from_millis(250)));
        assert_eq!(parse_time("Wed, 31 Jan 2024 13:00:00 +0100"), Some(t));
        assert_eq!(iso8601(UNIX_EPOCH - Duration::from_secs(5)), "1970-01-01T00:00:00Z");
        assert_eq!(iso8601(from_epoch(253_402_300_798.5).unwrap()), "9999-12-31T23:59:58.500Z");
    }

    #[test]
    fn blobs_and_numbers() {
        assert_eq!(input_blob(&json!("hi")).unwrap(), b"hi");
        assert_eq!(input_blob(&json!([0, 255])).unwrap(), [0, 255]);
        assert!(input_blob(&json!([256])).is_err());
        assert_eq!(output_blob(b"hi"), json!("aGk="));
        assert_eq!(python_float(1.0), "1.0");
        assert_eq!(python_float(0.1), "0.1");
        assert_eq!(python_float(1e16), "1e+16");
        assert_eq!(python_float(1.5e-5), "1.5e-05");
        assert_eq!(scalar_text(&json!(12)), "12");
        assert_eq!(scalar_text(&json!(true)), "true");
        let token = idempotency_token();
        assert_eq!(token.len(), 36);
        assert_eq!(&token[14..15], "4");
    }
}
