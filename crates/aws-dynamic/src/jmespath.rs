//! The JMESPath that botocore's `paginators-1.json` (output tokens, result keys, `more_results`)
//! and `waiters-2.json` (acceptor arguments) use, evaluated over `serde_json::Value` with the
//! JMESPath specification's semantics (a Pratt parser with the reference implementation's
//! binding powers, so projections stop and nest as in jmespath.py).
//!
//! Supported: identifiers (bare and `"quoted"`), `@`, sub-expressions `a.b`, indexes `[0]` /
//! `[-1]`, flatten `[]`, list projections `[*]`, object projections `*` / `.*`, filters
//! `[?expr]`, pipes `|`, `||`, `&&`, `!`, parentheses, the comparators `==` `!=` `<` `<=` `>`
//! `>=`, JSON literals `` `...` ``, raw strings `'...'`, and the functions `length`, `contains`,
//! `starts_with`, `ends_with` and `not_null`. Anything else (slices, multi-selects, other
//! functions, `&expr`) is a parse error; `every_botocore_expression_parses` in the tests proves
//! every expression of the installed botocore is within the subset.

use serde_json::Value;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    /// `@`, and the implicit left side of a leading `[*]`, `[]`, `[?..]`, `[0]`.
    Current,
    Field(String),
    /// `left.right`, and `left | right` (the same evaluation; the parse differs).
    Sub(Box<Expr>, Box<Expr>),
    Index(Box<Expr>, i64),
    /// Over the list `left` evaluates to: `right` of each element, nulls dropped.
    Project(Box<Expr>, Box<Expr>),
    /// Over the values of the object `left` evaluates to.
    ProjectValues(Box<Expr>, Box<Expr>),
    /// `left[?cond]` then `right` of each kept element.
    Filter(Box<Expr>, Box<Expr>, Box<Expr>),
    Flatten(Box<Expr>),
    Literal(Value),
    Not(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Compare(Cmp, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    Length,
    Contains,
    StartsWith,
    EndsWith,
    NotNull,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Quoted(String),
    Literal(Value),
    Number(i64),
    Dot,
    Star,
    Flatten,
    Filter,
    LBracket,
    RBracket,
    LParen,
    RParen,
    Comma,
    Or,
    And,
    Not,
    Pipe,
    Cmp(Cmp),
    At,
    Eof,
}

/// The reference implementation's binding powers.
fn power(tok: &Tok) -> u8 {
    match tok {
        Tok::Pipe => 1,
        Tok::Or => 2,
        Tok::And => 3,
        Tok::Cmp(_) => 5,
        Tok::Flatten => 9,
        Tok::Star => 20,
        Tok::Filter => 21,
        Tok::Dot => 40,
        Tok::Not => 45,
        Tok::LBracket => 55,
        Tok::LParen => 60,
        _ => 0,
    }
}

/// Projections take everything that binds at least this tightly on their right.
const PROJECTION_STOP: u8 = 10;

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    // The text up to the closing `end` (a backslash escapes it), and the index after it.
    let delimited = |start: usize, end: u8| -> Result<(String, usize), String> {
        let mut j = start;
        let mut text = Vec::new();
        while j < bytes.len() {
            match bytes[j] {
                b'\\' if bytes.get(j + 1) == Some(&end) => {
                    text.push(end);
                    j += 2;
                }
                b'\\' if end == b'"' && j + 1 < bytes.len() => {
                    text.extend_from_slice(&bytes[j..j + 2]);
                    j += 2;
                }
                c if c == end => return String::from_utf8(text).map(|t| (t, j + 1)).map_err(|e| e.to_string()),
                c => {
                    text.push(c);
                    j += 1;
                }
            }
        }
        Err(format!("unterminated {} in {src:?}", end as char))
    };
    // The end of the run of bytes from `from` that `keep` accepts.
    let run = |from: usize, keep: fn(&u8) -> bool| {
        bytes[from..].iter().position(|b| !keep(b)).map_or(bytes.len(), |n| from + n)
    };
    while i < bytes.len() {
        let c = bytes[i];
        let next = bytes.get(i + 1).copied();
        let (tok, len) = match c {
            b' ' | b'\t' | b'\n' | b'\r' => {
                i += 1;
                continue;
            }
            b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                let end = run(i, |b| b.is_ascii_alphanumeric() || *b == b'_');
                out.push(Tok::Ident(src[i..end].to_owned()));
                i = end;
                continue;
            }
            b'-' | b'0'..=b'9' => {
                let end = run(i + 1, u8::is_ascii_digit);
                let text = &src[i..end];
                out.push(Tok::Number(text.parse().map_err(|_| format!("bad number {text:?} in {src:?}"))?));
                i = end;
                continue;
            }
            b'"' | b'\'' | b'`' => {
                let (text, end) = delimited(i + 1, c)?;
                out.push(match c {
                    b'"' => match serde_json::from_slice(format!("\"{text}\"").as_bytes()) {
                        Ok(Value::String(name)) => Tok::Quoted(name),
                        _ => return Err(format!("bad identifier \"{text}\"")),
                    },
                    b'\'' => Tok::Literal(Value::String(text)),
                    _ => Tok::Literal(
                        serde_json::from_slice(text.trim().as_bytes())
                            .map_err(|e| format!("bad literal `{text}`: {e}"))?,
                    ),
                });
                i = end;
                continue;
            }
            b'.' => (Tok::Dot, 1),
            b'*' => (Tok::Star, 1),
            b'@' => (Tok::At, 1),
            b',' => (Tok::Comma, 1),
            b'(' => (Tok::LParen, 1),
            b')' => (Tok::RParen, 1),
            b']' => (Tok::RBracket, 1),
            b'[' if next == Some(b']') => (Tok::Flatten, 2),
            b'[' if next == Some(b'?') => (Tok::Filter, 2),
            b'[' => (Tok::LBracket, 1),
            b'|' if next == Some(b'|') => (Tok::Or, 2),
            b'|' => (Tok::Pipe, 1),
            b'&' if next == Some(b'&') => (Tok::And, 2),
            b'!' if next == Some(b'=') => (Tok::Cmp(Cmp::Ne), 2),
            b'!' => (Tok::Not, 1),
            b'=' if next == Some(b'=') => (Tok::Cmp(Cmp::Eq), 2),
            b'<' if next == Some(b'=') => (Tok::Cmp(Cmp::Le), 2),
            b'<' => (Tok::Cmp(Cmp::Lt), 1),
            b'>' if next == Some(b'=') => (Tok::Cmp(Cmp::Ge), 2),
            b'>' => (Tok::Cmp(Cmp::Gt), 1),
            _ => return Err(format!("unsupported character at {i} in {src:?}")),
        };
        out.push(tok);
        i += len;
    }
    out.push(Tok::Eof);
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self, ahead: usize) -> &Tok {
        self.toks.get(self.pos + ahead).unwrap_or(&Tok::Eof)
    }

    fn next(&mut self) -> Tok {
        let tok = self.peek(0).clone();
        self.pos += 1;
        tok
    }

    fn expect(&mut self, tok: &Tok) -> Result<(), String> {
        match self.next() {
            t if &t == tok => Ok(()),
            t => Err(format!("expected {tok:?}, found {t:?}")),
        }
    }

    fn expression(&mut self, rbp: u8) -> Result<Expr, String> {
        let tok = self.next();
        let mut left = self.nud(tok)?;
        while rbp < power(self.peek(0)) {
            let tok = self.next();
            left = self.led(tok, left)?;
        }
        Ok(left)
    }

    fn nud(&mut self, tok: Tok) -> Result<Expr, String> {
        Ok(match tok {
            Tok::Literal(v) => Expr::Literal(v),
            Tok::Ident(name) => Expr::Field(name),
            Tok::Quoted(name) if self.peek(0) != &Tok::LParen => Expr::Field(name),
            Tok::At => Expr::Current,
            Tok::Star => {
                let right = if self.peek(0) == &Tok::RBracket {
                    Expr::Current
                } else {
                    self.projection_rhs(power(&Tok::Star))?
                };
                Expr::ProjectValues(Box::new(Expr::Current), Box::new(right))
            }
            Tok::Filter => self.filter(Expr::Current)?,
            Tok::Flatten => self.flatten(Expr::Current)?,
            Tok::LParen => {
                let inner = self.expression(0)?;
                self.expect(&Tok::RParen)?;
                inner
            }
            Tok::Not => Expr::Not(Box::new(self.expression(power(&Tok::Not))?)),
            Tok::LBracket => self.bracket(Expr::Current)?,
            other => return Err(format!("unexpected {other:?}")),
        })
    }

    fn led(&mut self, tok: Tok, left: Expr) -> Result<Expr, String> {
        let boxed = Box::new(left);
        Ok(match tok {
            Tok::Dot if self.peek(0) == &Tok::Star => {
                self.pos += 1;
                Expr::ProjectValues(boxed, Box::new(self.projection_rhs(power(&Tok::Dot))?))
            }
            Tok::Dot => Expr::Sub(boxed, Box::new(self.dot_rhs(power(&Tok::Dot))?)),
            Tok::Pipe => Expr::Sub(boxed, Box::new(self.expression(power(&Tok::Pipe))?)),
            Tok::Or => Expr::Or(boxed, Box::new(self.expression(power(&Tok::Or))?)),
            Tok::And => Expr::And(boxed, Box::new(self.expression(power(&Tok::And))?)),
            Tok::Cmp(op) => Expr::Compare(op, boxed, Box::new(self.expression(power(&Tok::Cmp(op)))?)),
            Tok::Filter => self.filter(*boxed)?,
            Tok::Flatten => self.flatten(*boxed)?,
            Tok::LBracket => self.bracket(*boxed)?,
            Tok::LParen => {
                let Expr::Field(name) = *boxed else { return Err("only a name can be called".into()) };
                let mut args = Vec::new();
                while self.peek(0) != &Tok::RParen {
                    args.push(self.expression(0)?);
                    if self.peek(0) == &Tok::Comma {
                        self.pos += 1;
                    } else {
                        break;
                    }
                }
                self.expect(&Tok::RParen)?;
                let (func, arity) = match name.as_str() {
                    "length" => (Func::Length, 1),
                    "contains" => (Func::Contains, 2),
                    "starts_with" => (Func::StartsWith, 2),
                    "ends_with" => (Func::EndsWith, 2),
                    "not_null" if !args.is_empty() => (Func::NotNull, args.len()),
                    other => return Err(format!("unsupported function {other}()")),
                };
                if args.len() != arity {
                    return Err(format!("{name}() takes {arity} arguments"));
                }
                Expr::Call(func, args)
            }
            other => return Err(format!("unexpected {other:?}")),
        })
    }

    /// After `[`: an index, or `*]` (a list projection).
    fn bracket(&mut self, left: Expr) -> Result<Expr, String> {
        if let Tok::Number(n) = *self.peek(0) {
            self.pos += 1;
            self.expect(&Tok::RBracket)?;
            return Ok(Expr::Index(Box::new(left), n));
        }
        self.expect(&Tok::Star)?;
        self.expect(&Tok::RBracket)?;
        Ok(Expr::Project(Box::new(left), Box::new(self.projection_rhs(power(&Tok::Star))?)))
    }

    fn filter(&mut self, left: Expr) -> Result<Expr, String> {
        let condition = self.expression(0)?;
        self.expect(&Tok::RBracket)?;
        let right =
            if self.peek(0) == &Tok::Flatten { Expr::Current } else { self.projection_rhs(power(&Tok::Filter))? };
        Ok(Expr::Filter(Box::new(left), Box::new(condition), Box::new(right)))
    }

    fn flatten(&mut self, left: Expr) -> Result<Expr, String> {
        let right = self.projection_rhs(power(&Tok::Flatten))?;
        Ok(Expr::Project(Box::new(Expr::Flatten(Box::new(left))), Box::new(right)))
    }

    fn projection_rhs(&mut self, rbp: u8) -> Result<Expr, String> {
        match self.peek(0) {
            t if power(t) < PROJECTION_STOP => Ok(Expr::Current),
            Tok::LBracket | Tok::Filter => self.expression(rbp),
            Tok::Dot => {
                self.pos += 1;
                self.dot_rhs(rbp)
            }
            other => Err(format!("unexpected {other:?} after a projection")),
        }
    }

    fn dot_rhs(&mut self, rbp: u8) -> Result<Expr, String> {
        match self.peek(0) {
            Tok::Ident(_) | Tok::Quoted(_) | Tok::Star => self.expression(rbp),
            other => Err(format!("unsupported {other:?} after `.`")),
        }
    }
}

/// Parses `src`; an error for anything outside the subset.
pub(crate) fn compile(src: &str) -> Result<Expr, String> {
    let mut parser = Parser { toks: lex(src)?, pos: 0 };
    let expr = parser.expression(0)?;
    match parser.peek(0) {
        Tok::Eof => Ok(expr),
        other => Err(format!("unexpected {other:?} in {src:?}")),
    }
}

/// JMESPath truthiness: false, null, and empty text, lists and objects are false.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null | Value::Bool(false) => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Equality with numbers compared by value (`1 == 1.0`).
fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(x, y)| equal(x, y)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| equal(v, w)))
        }
        _ => a == b,
    }
}

/// A type error of a function argument: the whole search is null.
struct TypeError;

impl Expr {
    /// Evaluates the expression on `value`; null where JMESPath raises an error.
    pub(crate) fn search(&self, value: &Value) -> Value {
        self.eval(value).unwrap_or(Value::Null)
    }

    fn eval(&self, value: &Value) -> Result<Value, TypeError> {
        let project = |base: Value, right: &Expr, cond: Option<&Expr>| -> Result<Value, TypeError> {
            let items: Vec<Value> = match base {
                Value::Array(items) => items,
                Value::Object(map) if cond.is_none() => map.into_iter().map(|(_, v)| v).collect(),
                _ => return Ok(Value::Null),
            };
            let mut out = Vec::new();
            for item in &items {
                if let Some(cond) = cond
                    && !truthy(&cond.eval(item)?)
                {
                    continue;
                }
                let r = right.eval(item)?;
                if !r.is_null() {
                    out.push(r);
                }
            }
            Ok(Value::Array(out))
        };
        Ok(match self {
            Expr::Current => value.clone(),
            Expr::Field(name) => value.get(name).cloned().unwrap_or(Value::Null),
            Expr::Sub(left, right) => right.eval(&left.eval(value)?)?,
            Expr::Index(left, i) => match left.eval(value)? {
                Value::Array(mut items) => {
                    let i = if *i < 0 { items.len() as i64 + i } else { *i };
                    if (0..items.len() as i64).contains(&i) { items.swap_remove(i as usize) } else { Value::Null }
                }
                _ => Value::Null,
            },
            Expr::Project(left, right) => match left.eval(value)? {
                base @ Value::Array(_) => project(base, right, None)?,
                _ => Value::Null,
            },
            Expr::ProjectValues(left, right) => match left.eval(value)? {
                base @ Value::Object(_) => project(base, right, None)?,
                _ => Value::Null,
            },
            Expr::Filter(left, cond, right) => match left.eval(value)? {
                base @ Value::Array(_) => project(base, right, Some(cond))?,
                _ => Value::Null,
            },
            Expr::Flatten(inner) => match inner.eval(value)? {
                Value::Array(items) => {
                    let mut out = Vec::with_capacity(items.len());
                    for item in items {
                        match item {
                            Value::Array(inner) => out.extend(inner),
                            other => out.push(other),
                        }
                    }
                    Value::Array(out)
                }
                _ => Value::Null,
            },
            Expr::Literal(v) => v.clone(),
            Expr::Not(inner) => Value::Bool(!truthy(&inner.eval(value)?)),
            Expr::And(left, right) => {
                let l = left.eval(value)?;
                if truthy(&l) { right.eval(value)? } else { l }
            }
            Expr::Or(left, right) => {
                let l = left.eval(value)?;
                if truthy(&l) { l } else { right.eval(value)? }
            }
            Expr::Compare(op, left, right) => {
                let (l, r) = (left.eval(value)?, right.eval(value)?);
                match op {
                    Cmp::Eq => Value::Bool(equal(&l, &r)),
                    Cmp::Ne => Value::Bool(!equal(&l, &r)),
                    _ => match (l.as_f64(), r.as_f64()) {
                        (Some(l), Some(r)) => Value::Bool(match op {
                            Cmp::Lt => l < r,
                            Cmp::Le => l <= r,
                            Cmp::Gt => l > r,
                            _ => l >= r,
                        }),
                        _ => Value::Null,
                    },
                }
            }
            Expr::Call(func, args) => {
                let args = args.iter().map(|a| a.eval(value)).collect::<Result<Vec<_>, _>>()?;
                call(*func, args)?
            }
        })
    }
}

fn call(func: Func, args: Vec<Value>) -> Result<Value, TypeError> {
    let text = |v: &Value| v.as_str().map(str::to_owned).ok_or(TypeError);
    Ok(match func {
        Func::Length => Value::from(match &args[0] {
            Value::String(s) => s.chars().count(),
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            _ => return Err(TypeError),
        }),
        Func::Contains => Value::Bool(match (&args[0], &args[1]) {
            (Value::Array(items), needle) => items.iter().any(|v| equal(v, needle)),
            (Value::String(s), Value::String(needle)) => s.contains(needle.as_str()),
            _ => return Err(TypeError),
        }),
        Func::StartsWith => Value::Bool(text(&args[0])?.starts_with(&text(&args[1])?)),
        Func::EndsWith => Value::Bool(text(&args[0])?.ends_with(&text(&args[1])?)),
        Func::NotNull => args.into_iter().find(|v| !v.is_null()).unwrap_or(Value::Null),
    })
}

/// Evaluates `expression` on `value`: null when it does not parse or fails.
pub(crate) fn search(value: &Value, expression: &str) -> Value {
    compile(expression).map_or(Value::Null, |e| e.search(value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn known_results() {
        let v = json!({
            "a": {"b": {"c": 1}}, "n": null, "e": "", "k": "x",
            "r": [{"i": [{"s": "running", "n": 1}, {"s": "stopped"}]}, {"i": [{"s": "running", "n": 3}]}],
            "m": {"x": {"v": 1}, "y": {"v": 2}, "z": {}},
            "l": [[1, 2], 3, [4, [5]]],
            "d": [{"st": "DISABLED"}, {"st": "ENABLE_FAILED"}, {"st": "ACTIVE"}],
            "svc": [{"deployments": [1], "runningCount": 2, "desiredCount": 2},
                    {"deployments": [1, 2], "runningCount": 1, "desiredCount": 2}]
        });
        let cases = [
            ("a.b.c", json!(1)),
            ("a.x.c", json!(null)),
            ("\"a\".b", json!({"c": 1})),
            ("r[].i[].s", json!(["running", "stopped", "running"])),
            ("r[*].i[*].s", json!([["running", "stopped"], ["running"]])),
            ("r[].i[].n", json!([1, 3])),
            ("r[0].i[-1].s", json!("stopped")),
            ("r[5]", json!(null)),
            ("r[-1].i[0].n", json!(3)),
            ("l[]", json!([1, 2, 3, 4, [5]])),
            ("l[][]", json!([1, 2, 3, 4, 5])),
            ("m.*.v", json!([1, 2])),
            ("length(r[].i[]) > `2`", json!(true)),
            ("length(r) == `2`", json!(true)),
            ("length(k)", json!(1)),
            ("length(n)", json!(null)),
            ("n || k", json!("x")),
            ("e || 'fallback'", json!("fallback")),
            ("length(n || '') > `0`", json!(false)),
            ("k && n", json!(null)),
            ("a && k", json!("x")),
            ("k != 'x' && k != 'y'", json!(false)),
            ("k != 'y'", json!(true)),
            ("!k", json!(false)),
            ("d[?st == 'DISABLED' || st == 'ENABLE_FAILED'].st", json!(["DISABLED", "ENABLE_FAILED"])),
            ("length(d) > `0` && length(d[?st == 'DISABLED' || st == 'ENABLE_FAILED']) == length(d)", json!(false)),
            ("length(svc[?!(length(deployments) == `1` && runningCount == desiredCount)]) == `0`", json!(false)),
            ("svc[?length(deployments) == `1`].runningCount", json!([2])),
            ("contains(r[].i[].s, 'stopped')", json!(true)),
            ("contains(k, 'y')", json!(false)),
            ("r[].i[] | [0].s", json!("running")),
            ("r[].i[].s | length(@)", json!(3)),
            ("k < `1`", json!(null)),
            ("`1` < `2.5`", json!(true)),
            ("`1` == `1.0`", json!(true)),
            ("not_null(n, e, k)", json!("")),
            ("starts_with(k, 'x')", json!(true)),
            ("\"k\" == 'x'", json!(true)),
            ("'it\\'s'", json!("it's")),
            ("'héllo'", json!("héllo")),
            ("`\"l\\u00e9t\"`", json!("lét")),
            ("`[1, {\"a\": 2}]`[1].a", json!(2)),
        ];
        for (expr, want) in cases {
            assert_eq!(search(&v, expr), want, "{expr}");
        }
        for bad in [
            "a[-]",
            "a = b",
            "\"a",
            "a.`1`",
            "a[1:2]",
            "{a: b}",
            "a.[b, c]",
            "sort(a)",
            "&a",
            "a.",
            "a[",
            "'x",
            "length(a, b)",
        ] {
            assert!(compile(bad).is_err(), "{bad} should not parse");
        }
    }

    /// Every expression in every `paginators-1.json` and `waiters-2.json` of the installed
    /// botocore is within the subset (skipped without botocore).
    #[test]
    fn every_botocore_expression_parses() {
        let Ok(models) = crate::Models::discover() else {
            eprintln!("no botocore models installed: skipped");
            return;
        };
        let (mut files, mut checked, mut failures) = (0, 0, Vec::new());
        let mut check = |file: &str, expr: &str| {
            checked += 1;
            if let Err(e) = compile(expr) {
                failures.push(format!("{file}: {expr:?}: {e}"));
            }
        };
        for service in models.services() {
            for version in models.versions(&service) {
                let dir = models.dir().join(&service).join(&version);
                for name in ["paginators-1.json", "waiters-2.json"] {
                    let Some(path) = crate::models::find_file(&dir, name) else { continue };
                    files += 1;
                    let doc = crate::models::read_json(&path).unwrap();
                    let file = path.display().to_string();
                    for p in doc["pagination"].as_object().into_iter().flat_map(|m| m.values()) {
                        for key in ["output_token", "result_key", "more_results", "non_aggregate_keys"] {
                            match &p[key] {
                                Value::String(s) => check(&file, s),
                                Value::Array(items) => {
                                    items.iter().filter_map(Value::as_str).for_each(|s| check(&file, s))
                                }
                                _ => {}
                            }
                        }
                    }
                    for w in doc["waiters"].as_object().into_iter().flat_map(|m| m.values()) {
                        for a in w["acceptors"].as_array().into_iter().flatten() {
                            if let Some(arg) = a["argument"].as_str() {
                                check(&file, arg);
                            }
                        }
                    }
                }
            }
        }
        assert!(
            failures.is_empty(),
            "{} of {checked} expressions outside the subset:\n{}",
            failures.len(),
            failures.join("\n")
        );
        assert!(files > 100 && checked > 1000, "only {files} files, {checked} expressions found");
        eprintln!("{checked} expressions in {files} files parse");
    }
}
