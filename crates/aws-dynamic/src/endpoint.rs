//! The endpoint rules of botocore's `endpoint-rule-set-1.json` (Smithy rules engine): parameters
//! from built-ins (region, FIPS, dual-stack, the configured endpoint), the operation's context
//! parameters, conditions with the standard library (`isSet`, `not`, `booleanEquals`,
//! `stringEquals`, `getAttr`, `substring`, `uriEncode`, `parseURL`, `isValidHostLabel`,
//! `aws.partition`, `aws.parseArn`, `aws.isVirtualHostableS3Bucket`), and the endpoint's URL,
//! headers and auth schemes (signing name and region).

use serde_json::{Map, Value};

/// A resolved endpoint.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Endpoint {
    pub(crate) url: String,
    pub(crate) headers: Vec<(String, String)>,
    /// The SigV4 signing name from `authSchemes`, if the rules set one.
    pub(crate) signing_name: Option<String>,
    /// The SigV4 signing region from `authSchemes`, if the rules set one.
    pub(crate) signing_region: Option<String>,
}

/// How deep rule trees and function calls may nest (a bound against malformed models).
const MAX_DEPTH: usize = 64;

/// The rule set's variables (a `serde_json::Map`, whose code the crate has anyway).
type Scope = Map<String, Value>;

struct Engine<'a> {
    partitions: &'a Value,
}

/// Resolves `rules` with `params` (parameter name → value; defaults from the rule set fill the
/// rest). `Err` is the rule set's error message or what was malformed.
pub(crate) fn resolve(rules: &Value, partitions: &Value, params: &Map<String, Value>) -> Result<Endpoint, String> {
    let mut scope = Scope::new();
    if let Some(defs) = rules.get("parameters").and_then(Value::as_object) {
        for (name, def) in defs {
            match params.get(name).filter(|v| !v.is_null()) {
                Some(v) => {
                    scope.insert(name.clone(), v.clone());
                }
                None => {
                    if let Some(d) = def.get("default") {
                        scope.insert(name.clone(), d.clone());
                    } else if def.get("required").and_then(Value::as_bool) == Some(true) {
                        return Err(format!("the endpoint parameter {name} is required"));
                    }
                }
            }
        }
    }
    let list = rules.get("rules").and_then(Value::as_array).ok_or("the endpoint rule set has no rules")?;
    let engine = Engine { partitions };
    match engine.rules(list, &scope, 0)? {
        Some(endpoint) => Ok(endpoint),
        None => Err("no endpoint rule matched".to_owned()),
    }
}

impl Engine<'_> {
    fn rules(&self, rules: &[Value], scope: &Scope, depth: usize) -> Result<Option<Endpoint>, String> {
        if depth > MAX_DEPTH {
            return Err("the endpoint rules nest too deep".to_owned());
        }
        for rule in rules {
            let mut local = scope.clone();
            let conditions = rule.get("conditions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
            if !self.conditions(conditions, &mut local)? {
                continue;
            }
            match rule.get("type").and_then(Value::as_str) {
                Some("endpoint") => {
                    let e = rule.get("endpoint").ok_or("an endpoint rule without an endpoint")?;
                    return self.endpoint(e, &local).map(Some);
                }
                Some("error") => {
                    let message = self.expr(rule.get("error").unwrap_or(&Value::Null), &local, 0)?;
                    return Err(message.as_str().unwrap_or("endpoint rules error").to_owned());
                }
                Some("tree") => {
                    let inner = rule.get("rules").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
                    if let Some(e) = self.rules(inner, &local, depth + 1)? {
                        return Ok(Some(e));
                    }
                    // A tree whose conditions matched is final (Smithy), even if no leaf did.
                    return Err("no endpoint rule matched".to_owned());
                }
                other => return Err(format!("unknown endpoint rule type {other:?}")),
            }
        }
        Ok(None)
    }

    fn conditions(&self, conditions: &[Value], scope: &mut Scope) -> Result<bool, String> {
        for c in conditions {
            let v = self.call(c, scope, 0)?;
            let truthy = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                _ => true,
            };
            if !truthy {
                return Ok(false);
            }
            if let Some(name) = c.get("assign").and_then(Value::as_str) {
                scope.insert(name.to_owned(), v);
            }
        }
        Ok(true)
    }

    fn endpoint(&self, e: &Value, scope: &Scope) -> Result<Endpoint, String> {
        let url = self.expr(e.get("url").unwrap_or(&Value::Null), scope, 0)?;
        let url = url.as_str().ok_or("the endpoint URL is not text")?.to_owned();
        let mut headers = Vec::new();
        if let Some(h) = e.get("headers").and_then(Value::as_object) {
            for (name, values) in h {
                for v in values.as_array().into_iter().flatten() {
                    if let Value::String(s) = self.expr(v, scope, 0)? {
                        headers.push((name.clone(), s));
                    }
                }
            }
        }
        let mut endpoint = Endpoint { url, headers, signing_name: None, signing_region: None };
        let schemes = e.get("properties").and_then(|p| p.get("authSchemes")).and_then(Value::as_array);
        if let Some(scheme) =
            schemes.into_iter().flatten().find(|s| s.get("name").and_then(Value::as_str) == Some("sigv4"))
        {
            let text = |k: &str| -> Result<Option<String>, String> {
                match scheme.get(k) {
                    Some(v) => Ok(self.expr(v, scope, 0)?.as_str().map(str::to_owned)),
                    None => Ok(None),
                }
            };
            endpoint.signing_name = text("signingName")?;
            endpoint.signing_region = text("signingRegion")?;
        }
        Ok(endpoint)
    }

    /// A literal (with `{templates}`), a `{"ref": …}`, or a function call.
    fn expr(&self, e: &Value, scope: &Scope, depth: usize) -> Result<Value, String> {
        if depth > MAX_DEPTH {
            return Err("the endpoint expressions nest too deep".to_owned());
        }
        match e {
            Value::String(s) => template(s, scope).map(Value::String),
            Value::Object(o) if o.contains_key("ref") => {
                let name = o.get("ref").and_then(Value::as_str).unwrap_or_default();
                Ok(scope.get(name).cloned().unwrap_or(Value::Null))
            }
            Value::Object(o) if o.contains_key("fn") => self.call(e, scope, depth + 1),
            Value::Object(o) => {
                let mut out = Map::new();
                for (k, v) in o {
                    out.insert(k.clone(), self.expr(v, scope, depth + 1)?);
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                items.iter().map(|v| self.expr(v, scope, depth + 1)).collect::<Result<Vec<_>, _>>().map(Value::Array)
            }
            other => Ok(other.clone()),
        }
    }

    fn call(&self, c: &Value, scope: &Scope, depth: usize) -> Result<Value, String> {
        let name = c.get("fn").and_then(Value::as_str).ok_or("an endpoint condition without `fn`")?;
        let argv = c.get("argv").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let args: Vec<Value> = argv.iter().map(|a| self.expr(a, scope, depth + 1)).collect::<Result<_, _>>()?;
        let arg = |i: usize| args.get(i).unwrap_or(&Value::Null);
        let text = |i: usize| arg(i).as_str().unwrap_or_default();
        Ok(match name {
            "isSet" => Value::Bool(!arg(0).is_null()),
            "not" => Value::Bool(!arg(0).as_bool().unwrap_or(false)),
            "booleanEquals" => Value::Bool(arg(0).as_bool().is_some() && arg(0) == arg(1)),
            "stringEquals" => Value::Bool(arg(0).is_string() && arg(0) == arg(1)),
            "getAttr" => get_attr(arg(0), text(1)),
            "substring" => substring(text(0), arg(1), arg(2), arg(3)),
            "uriEncode" => Value::String(cloudkit_core::encode_unreserved(text(0))),
            "parseURL" => parse_url(text(0)),
            "isValidHostLabel" => Value::Bool(valid_host_label(text(0), arg(1).as_bool().unwrap_or(false))),
            "aws.partition" => self.partition(text(0)),
            "aws.parseArn" => parse_arn(text(0)),
            "aws.isVirtualHostableS3Bucket" => {
                Value::Bool(virtual_hostable_bucket(text(0), arg(1).as_bool().unwrap_or(false)))
            }
            other => return Err(format!("unknown endpoint rules function `{other}`")),
        })
    }

    fn partition(&self, region: &str) -> Value {
        let partitions =
            self.partitions.get("partitions").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let outputs = |p: &Value| {
            let mut out = p.get("outputs").and_then(Value::as_object).cloned().unwrap_or_default();
            if let Some(id) = p.get("id") {
                out.insert("name".to_owned(), id.clone());
            }
            Value::Object(out)
        };
        if let Some(p) = partitions.iter().find(|p| p.get("regions").and_then(|r| r.get(region)).is_some()) {
            return outputs(p);
        }
        if let Some(p) = partitions
            .iter()
            .find(|p| p.get("regionRegex").and_then(Value::as_str).is_some_and(|re| mini_regex(re, region)))
        {
            return outputs(p);
        }
        partitions.iter().find(|p| p.get("id").and_then(Value::as_str) == Some("aws")).map_or(Value::Null, outputs)
    }
}

/// `{Name}` and `{Name#path}` substituted; `{{` / `}}` are literal braces.
fn template(s: &str, scope: &Scope) -> Result<String, String> {
    let mut out = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let end = s[i..].find('}').map(|e| i + e).ok_or("an unclosed `{` in an endpoint template")?;
                let inner = &s[i + 1..end];
                let (name, path) = inner.split_once('#').map_or((inner, None), |(n, p)| (n, Some(p)));
                let mut v = scope.get(name).cloned().unwrap_or(Value::Null);
                if let Some(path) = path {
                    v = get_attr(&v, path);
                }
                match v {
                    Value::String(s) => out.push_str(&s),
                    Value::Null => return Err(format!("the endpoint template names {inner}, which is not set")),
                    other => out.push_str(&other.to_string()),
                }
                while chars.peek().is_some_and(|(j, _)| *j <= end) {
                    chars.next();
                }
            }
            c => out.push(c),
        }
    }
    Ok(out)
}

/// `a.b[2].c`.
fn get_attr(v: &Value, path: &str) -> Value {
    let mut cur = v.clone();
    for part in path.split('.') {
        let (name, index) = match part.split_once('[') {
            Some((n, i)) => (n, i.trim_end_matches(']').parse::<usize>().ok()),
            None => (part, None),
        };
        if !name.is_empty() {
            cur = cur.get(name).cloned().unwrap_or(Value::Null);
        }
        if let Some(i) = index {
            cur = cur.get(i).cloned().unwrap_or(Value::Null);
        }
    }
    cur
}

fn substring(s: &str, start: &Value, stop: &Value, reverse: &Value) -> Value {
    let (Some(start), Some(stop)) = (start.as_u64(), stop.as_u64()) else { return Value::Null };
    let (start, stop) = (start as usize, stop as usize);
    if !s.is_ascii() || start >= stop || stop > s.len() {
        return Value::Null;
    }
    let (a, b) = if reverse.as_bool() == Some(true) { (s.len() - stop, s.len() - start) } else { (start, stop) };
    Value::String(s[a..b].to_owned())
}

fn parse_url(s: &str) -> Value {
    let Ok(url) = url::Url::parse(s) else { return Value::Null };
    if url.query().is_some() || !matches!(url.scheme(), "http" | "https") {
        return Value::Null;
    }
    let host = url.host_str().unwrap_or_default();
    let is_ip = matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
    let authority = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_owned(),
    };
    let after = s.split_once("://").map(|(_, r)| r).unwrap_or_default();
    let path = if after.contains('/') { url.path().to_owned() } else { String::new() };
    let normalized = if path.ends_with('/') { path.clone() } else { format!("{path}/") };
    serde_json::json!({"scheme": url.scheme(), "authority": authority, "path": path,
        "normalizedPath": normalized, "isIp": is_ip})
}

fn valid_host_label(s: &str, allow_dots: bool) -> bool {
    let ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && label.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
    };
    if allow_dots { s.split('.').all(ok) } else { ok(s) }
}

fn virtual_hostable_bucket(s: &str, allow_dots: bool) -> bool {
    let ok_label = |label: &str| {
        !label.is_empty()
            && label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && label.bytes().next().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
            && label.bytes().last().is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    };
    if s.len() < 3 || s.len() > 63 {
        return false;
    }
    let looks_like_ip = s.split('.').count() == 4 && s.split('.').all(|p| p.parse::<u8>().is_ok());
    if looks_like_ip {
        return false;
    }
    if allow_dots { s.split('.').all(ok_label) } else { ok_label(s) }
}

fn parse_arn(s: &str) -> Value {
    let parts: Vec<&str> = s.splitn(6, ':').collect();
    if parts.len() != 6 || parts[0] != "arn" || parts[1].is_empty() || parts[2].is_empty() || parts[5].is_empty() {
        return Value::Null;
    }
    let resource: Vec<Value> = parts[5].split([':', '/']).map(|p| Value::String(p.to_owned())).collect();
    serde_json::json!({"partition": parts[1], "service": parts[2], "region": parts[3],
        "accountId": parts[4], "resourceId": resource})
}

/// Matches the region patterns of `partitions.json`: `^`, literals, `\-`, `(a|b)`, `\w+`,
/// `\d+`, `$`. Anything else does not match.
fn mini_regex(pattern: &str, text: &str) -> bool {
    let Some(p) = pattern.strip_prefix('^').and_then(|p| p.strip_suffix('$')) else { return false };
    matches_at(p, text)
}

fn matches_at(p: &str, t: &str) -> bool {
    if p.is_empty() {
        return t.is_empty();
    }
    if let Some(rest) = p.strip_prefix("\\w+").or_else(|| p.strip_prefix("\\d+")) {
        let class =
            |c: char| if p.starts_with("\\w") { c.is_ascii_alphanumeric() || c == '_' } else { c.is_ascii_digit() };
        let run = t.chars().take_while(|c| class(*c)).count();
        return (1..=run).rev().any(|n| matches_at(rest, &t[n..]));
    }
    if let Some(rest) = p.strip_prefix('\\') {
        let mut chars = rest.chars();
        let Some(c) = chars.next() else { return false };
        return t.starts_with(c) && matches_at(chars.as_str(), &t[c.len_utf8()..]);
    }
    if let Some(group) = p.strip_prefix('(') {
        let Some(end) = group.find(')') else { return false };
        let rest = &group[end + 1..];
        return group[..end].split('|').any(|alt| t.starts_with(alt) && matches_at(rest, &t[alt.len()..]));
    }
    let mut chars = p.chars();
    let Some(c) = chars.next() else { return false };
    if "[]*+?.{}|".contains(c) {
        return false;
    }
    t.starts_with(c) && matches_at(chars.as_str(), &t[c.len_utf8()..])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn region_patterns_match_as_regexes_would() {
        let aws = "^(us|eu|ap|sa|ca|me|af|il|mx)\\-\\w+\\-\\d+$";
        assert!(mini_regex(aws, "eu-west-1"));
        assert!(mini_regex(aws, "us-east-12"));
        assert!(!mini_regex(aws, "cn-north-1"));
        assert!(!mini_regex(aws, "eu-west-"));
        assert!(mini_regex("^us\\-gov\\-\\w+\\-\\d+$", "us-gov-west-1"));
        assert!(mini_regex("^eusc\\-(de)\\-\\w+\\-\\d+$", "eusc-de-east-1"));
        assert!(!mini_regex("^a.b$", "axb"), "unsupported syntax never matches");
    }

    #[test]
    fn templates_and_attributes() {
        let mut scope = Scope::new();
        scope.insert("Region".into(), json!("eu-west-1"));
        scope.insert("P".into(), json!({"dnsSuffix": "amazonaws.com", "list": [{"a": "x"}]}));
        assert_eq!(template("https://s.{Region}.{P#dnsSuffix}", &scope).unwrap(), "https://s.eu-west-1.amazonaws.com");
        assert_eq!(template("{{literal}}", &scope).unwrap(), "{literal}");
        assert_eq!(get_attr(&scope["P"], "list[0].a"), json!("x"));
        assert!(template("{Missing}", &scope).is_err());
        assert_eq!(substring("abcdef", &json!(0), &json!(2), &json!(false)), json!("ab"));
        assert_eq!(substring("abcdef", &json!(0), &json!(2), &json!(true)), json!("ef"));
        assert_eq!(substring("ab", &json!(0), &json!(4), &json!(false)), Value::Null);
    }

    #[test]
    fn urls_arns_and_buckets() {
        let u = parse_url("http://127.0.0.1:5000");
        assert_eq!(u["authority"], "127.0.0.1:5000");
        assert_eq!(u["isIp"], true);
        assert_eq!(u["path"], "");
        assert_eq!(u["normalizedPath"], "/");
        let u = parse_url("https://example.com/base");
        assert_eq!((u["path"].as_str(), u["isIp"].as_bool()), (Some("/base"), Some(false)));
        assert_eq!(parse_url("https://example.com/?x=1"), Value::Null);
        assert_eq!(parse_arn("arn:aws:s3:us-east-1:123:accesspoint/ap")["resourceId"], json!(["accesspoint", "ap"]));
        assert_eq!(parse_arn("not-an-arn"), Value::Null);
        assert!(virtual_hostable_bucket("my-bucket", false));
        assert!(!virtual_hostable_bucket("My_Bucket", false));
        assert!(!virtual_hostable_bucket("a.b", false));
        assert!(!virtual_hostable_bucket("192.168.1.1", true));
        assert!(valid_host_label("us-east-1", false));
        assert!(!valid_host_label("-x", false));
    }

    #[test]
    fn a_small_rule_set_resolves() {
        let rules = json!({"parameters": {"Region": {"type": "String", "builtIn": "AWS::Region"},
                "UseFIPS": {"type": "Boolean", "default": false}},
            "rules": [
                {"conditions": [{"fn": "aws.partition", "argv": [{"ref": "Region"}], "assign": "P"}], "type": "tree", "rules": [
                    {"conditions": [{"fn": "booleanEquals", "argv": [{"ref": "UseFIPS"}, true]}], "type": "endpoint",
                     "endpoint": {"url": "https://svc-fips.{Region}.{P#dnsSuffix}"}},
                    {"conditions": [{"fn": "stringEquals", "argv": [{"fn": "getAttr", "argv": [{"ref": "P"}, "name"]}, "aws"]}],
                     "type": "endpoint", "endpoint": {"url": "https://svc.amazonaws.com",
                        "properties": {"authSchemes": [{"name": "sigv4", "signingRegion": "us-east-1", "signingName": "svc"}]}}},
                    {"conditions": [], "type": "error", "error": "no {Region}"}]}]});
        let partitions = json!({"partitions": [{"id": "aws", "outputs": {"dnsSuffix": "amazonaws.com"}, "regions": {"eu-west-1": {}},
            "regionRegex": "^(us|eu)\\-\\w+\\-\\d+$"}, {"id": "aws-cn", "outputs": {"dnsSuffix": "amazonaws.com.cn"},
            "regionRegex": "^cn\\-\\w+\\-\\d+$"}]});
        let params = |v: Value| v.as_object().cloned().unwrap();
        let e = resolve(&rules, &partitions, &params(json!({"Region": "eu-west-1"}))).unwrap();
        assert_eq!(e.url, "https://svc.amazonaws.com");
        assert_eq!((e.signing_region.as_deref(), e.signing_name.as_deref()), (Some("us-east-1"), Some("svc")));
        let e = resolve(&rules, &partitions, &params(json!({"Region": "eu-west-1", "UseFIPS": true}))).unwrap();
        assert_eq!(e.url, "https://svc-fips.eu-west-1.amazonaws.com");
        assert_eq!(
            resolve(&rules, &partitions, &params(json!({"Region": "cn-north-1"}))).unwrap_err(),
            "no cn-north-1"
        );
    }
}
