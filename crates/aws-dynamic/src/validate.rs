//! Input validation against the model (before anything is sent): unknown and missing members,
//! types, enum values, numeric ranges, lengths; idempotency tokens filled in when absent.
//! Errors name the path of the offending value: `Item.pk.S: expected text`.

use serde_json::{Map, Value};

use crate::shapes::{self, Member, Shape};

/// Every problem found, one per line (at most `MAX_PROBLEMS`).
const MAX_PROBLEMS: usize = 20;

/// Checks `input` against the structure `shape` and fills idempotency tokens; `Err` holds the
/// problems found, each prefixed with its path.
pub(crate) fn validate(shape: Option<Shape<'_>>, input: &mut Value) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    match shape {
        None => {
            let empty = input.is_null() || input.as_object().is_some_and(Map::is_empty);
            if !empty {
                problems.push("the operation takes no input".to_owned());
            }
        }
        Some(shape) => {
            if input.is_null() {
                *input = Value::Object(Map::new());
            }
            fill_tokens(shape, input);
            check(shape, input, "", &mut problems);
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

fn fill_tokens(shape: Shape<'_>, input: &mut Value) {
    let Some(obj) = input.as_object_mut() else { return };
    for member in shape.members() {
        if member.flag("idempotencyToken") && !obj.contains_key(member.name) {
            obj.insert(member.name.to_owned(), Value::String(shapes::idempotency_token()));
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() { name.to_owned() } else { format!("{path}.{name}") }
}

fn push(problems: &mut Vec<String>, path: &str, message: impl AsRef<str>) {
    if problems.len() < MAX_PROBLEMS {
        let at = if path.is_empty() { "input" } else { path };
        problems.push(format!("{at}: {}", message.as_ref()));
    }
}

fn check(shape: Shape<'_>, value: &Value, path: &str, problems: &mut Vec<String>) {
    if shape.flag("document") {
        return;
    }
    match shape.kind() {
        "structure" => check_structure(shape, value, path, problems),
        "list" => match value {
            Value::Array(items) => {
                check_length(shape, items.len(), "items", path, problems);
                let member = shape.child("member");
                for (i, item) in items.iter().enumerate() {
                    check(member.shape, item, &format!("{path}[{i}]"), problems);
                }
            }
            _ => push(problems, path, "expected a list"),
        },
        "map" => match value {
            Value::Object(entries) => {
                check_length(shape, entries.len(), "entries", path, problems);
                let (key, val) = (shape.child("key"), shape.child("value"));
                for (k, v) in entries {
                    let at = join(path, k);
                    check(key.shape, &Value::String(k.clone()), &format!("{at} (key)"), problems);
                    check(val.shape, v, &at, problems);
                }
            }
            _ => push(problems, path, "expected an object"),
        },
        "string" => match value {
            Value::String(text) => {
                if let Some(values) = shape.enum_values().filter(|v| !v.is_empty())
                    && !values.contains(&text.as_str())
                {
                    push(problems, path, format!("{text:?} is not one of {}", values.join(", ")));
                }
                check_length(shape, text.chars().count(), "characters", path, problems);
            }
            // A `jsonvalue` header or query string takes any JSON value.
            _ if shape.flag("jsonvalue") => {}
            _ => push(problems, path, "expected text"),
        },
        "integer" | "long" | "biginteger" => {
            match value.as_i64().map(|n| n as f64).or_else(|| value.as_u64().map(|n| n as f64)) {
                Some(n) => {
                    let max = if shape.kind() == "integer" { f64::from(i32::MAX) } else { f64::MAX };
                    let min = if shape.kind() == "integer" { f64::from(i32::MIN) } else { f64::MIN };
                    if n > max || n < min {
                        push(problems, path, format!("{n} does not fit a 32-bit integer"));
                    }
                    check_range(shape, n, path, problems);
                }
                None => push(problems, path, "expected an integer"),
            }
        }
        "float" | "double" | "bigdecimal" => match value {
            Value::Number(n) => check_range(shape, n.as_f64().unwrap_or_default(), path, problems),
            Value::String(s) if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") => {}
            _ => push(problems, path, "expected a number"),
        },
        "boolean" if !value.is_boolean() => push(problems, path, "expected true or false"),
        "timestamp" => {
            if let Err(e) = shapes::input_time(value) {
                push(problems, path, e);
            }
        }
        "blob" => match shapes::input_blob(value) {
            Ok(bytes) => check_length(shape, bytes.len(), "bytes", path, problems),
            Err(e) => push(problems, path, e),
        },
        _ => {}
    }
}

fn check_structure(shape: Shape<'_>, value: &Value, path: &str, problems: &mut Vec<String>) {
    let Value::Object(obj) = value else {
        push(problems, path, "expected an object");
        return;
    };
    for name in shape.required() {
        if obj.get(name).is_none_or(Value::is_null) {
            push(problems, &join(path, name), "missing required member");
        }
    }
    let mut set = 0;
    for (name, v) in obj {
        let at = join(path, name);
        let Some(member): Option<Member<'_>> = shape.member(name) else {
            let known: Vec<&str> = shape.members().iter().map(|m| m.name).collect();
            let mut listed = known.iter().take(30).copied().collect::<Vec<_>>().join(", ");
            if known.len() > 30 {
                listed.push_str(&format!(" … and {} more", known.len() - 30));
            }
            push(problems, &at, format!("unknown member; expected one of: {listed}"));
            continue;
        };
        if v.is_null() {
            continue;
        }
        set += 1;
        check(member.shape, v, &at, problems);
    }
    if shape.flag("union") && set != 1 {
        push(problems, path, format!("exactly one member must be set, found {set}"));
    }
}

fn check_length(shape: Shape<'_>, len: usize, unit: &str, path: &str, problems: &mut Vec<String>) {
    let len_f = len as f64;
    if let Some(min) = shape.number("min")
        && len_f < min
    {
        push(problems, path, format!("{len} {unit}, fewer than the minimum {min}"));
    }
    if let Some(max) = shape.number("max")
        && len_f > max
    {
        push(problems, path, format!("{len} {unit}, more than the maximum {max}"));
    }
}

fn check_range(shape: Shape<'_>, n: f64, path: &str, problems: &mut Vec<String>) {
    if let Some(min) = shape.number("min")
        && n < min
    {
        push(problems, path, format!("{n} is below the minimum {min}"));
    }
    if let Some(max) = shape.number("max")
        && n > max
    {
        push(problems, path, format!("{n} is above the maximum {max}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shapes() -> Map<String, Value> {
        json!({
            "In": {"type": "structure", "required": ["Name", "Item"], "members": {
                "Name": {"shape": "Name"}, "Item": {"shape": "Item"}, "Limit": {"shape": "Limit"},
                "Mode": {"shape": "Mode"}, "Tags": {"shape": "Tags"}, "Token": {"shape": "Key", "idempotencyToken": true},
                "When": {"shape": "When"}, "Data": {"shape": "Data"}, "Choice": {"shape": "Choice"}}},
            "Name": {"type": "string", "min": 3, "max": 5},
            "Limit": {"type": "integer", "min": 1, "max": 10},
            "Mode": {"type": "string", "enum": ["A", "B"]},
            "Tags": {"type": "list", "member": {"shape": "Name"}, "max": 2},
            "Item": {"type": "map", "key": {"shape": "Key"}, "value": {"shape": "Attr"}},
            "Key": {"type": "string"},
            "Attr": {"type": "structure", "members": {"S": {"shape": "Key"}, "N": {"shape": "Key"}}},
            "When": {"type": "timestamp"},
            "Data": {"type": "blob"},
            "Choice": {"type": "structure", "union": true, "members": {"X": {"shape": "Key"}, "Y": {"shape": "Key"}}}
        })
        .as_object()
        .cloned()
        .unwrap()
    }

    fn run(input: Value) -> Result<Value, Vec<String>> {
        let shapes = shapes();
        let mut input = input;
        validate(Some(Shape::get(&shapes, "In")), &mut input).map(|()| input)
    }

    #[test]
    fn good_input_passes_and_gets_a_token() {
        let out = run(json!({"Name": "abcd", "Item": {"pk": {"S": "x"}}, "Limit": 3, "Mode": "A",
            "Tags": ["abc"], "When": "2024-01-01T00:00:00Z", "Data": "hi", "Choice": {"X": "1"}}))
        .unwrap();
        assert_eq!(out["Token"].as_str().unwrap().len(), 36);
        let out = run(json!({"Name": "abcd", "Item": {}, "Token": "mine"})).unwrap();
        assert_eq!(out["Token"], "mine");
    }

    #[test]
    fn problems_name_their_path() {
        let problems = run(json!({"Item": {"pk": {"S": 1, "Q": "x"}}, "Limit": 0, "Mode": "C",
            "Tags": ["a", "abc", "abc"], "When": "soon", "Data": 5, "Choice": {"X": "1", "Y": "2"}, "Bogus": 1}))
        .unwrap_err();
        let expected = [
            "Name: missing required member",
            "Bogus: unknown member; expected one of: Choice, Data, Item, Limit, Mode, Name, Tags, Token, When",
            "Choice: exactly one member must be set, found 2",
            "Data: expected a blob (text, or a list of byte values 0-255)",
            "Item.pk.Q: unknown member; expected one of: N, S",
            "Item.pk.S: expected text",
            "Limit: 0 is below the minimum 1",
            "Mode: \"C\" is not one of A, B",
            "Tags: 3 items, more than the maximum 2",
            "Tags[0]: 1 characters, fewer than the minimum 3",
            "When: expected a timestamp (RFC 3339 text such as \"2024-01-31T12:00:00Z\", or epoch seconds)",
        ];
        for e in expected {
            assert!(problems.contains(&e.to_owned()), "missing {e:?} in {problems:#?}");
        }
        assert_eq!(problems.len(), expected.len(), "{problems:#?}");
        assert_eq!(run(json!([1])).unwrap_err(), ["input: expected an object"]);
    }

    #[test]
    fn no_input_shape_takes_nothing() {
        assert!(validate(None, &mut json!({})).is_ok());
        assert!(validate(None, &mut Value::Null).is_ok());
        assert_eq!(validate(None, &mut json!({"a": 1})).unwrap_err(), ["the operation takes no input"]);
    }
}
