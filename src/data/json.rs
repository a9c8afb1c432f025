//! Typed reads from `serde_json` values. Each reader takes the value and its JSON
//! path, and fails with an [`InputError`] at that path quoting the bad value.

use chrono::DateTime;
use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::model::{Attrs, Scalar, Time};
use super::parse::InputError;

pub fn err(path: &str, message: impl Into<String>) -> InputError {
    InputError {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// `parent.key`, or `key` at the root.
pub fn field_path(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

pub fn index_path(parent: &str, i: usize) -> String {
    format!("{parent}[{i}]")
}

/// A value as quoted in a message: its JSON text, shortened; containers by kind.
pub fn show(v: &Value) -> String {
    const MAX: usize = 60;
    match v {
        Value::Array(_) => "an array".into(),
        Value::Object(_) => "an object".into(),
        _ => {
            let text = v.to_string();
            match text.char_indices().nth(MAX) {
                Some((cut, _)) => format!("{}…", &text[..cut]),
                None => text,
            }
        }
    }
}

pub fn quote(s: &str) -> String {
    show(&Value::String(s.to_owned()))
}

fn expected(path: &str, what: &str, found: &Value) -> InputError {
    err(path, format!("expected {what}, found {}", show(found)))
}

/// A JSON object being read, with its path.
pub struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: &'a str,
}

impl<'a> Obj<'a> {
    pub fn new(v: &'a Value, path: &'a str) -> Result<Self, InputError> {
        match v {
            Value::Object(map) => Ok(Self { map, path }),
            _ => Err(expected(path, "an object", v)),
        }
    }

    /// Refuses a key that is neither in `known` nor in `also` (the keys a
    /// stream's line adds to a case's object), naming the nearest known one.
    pub fn known(&self, known: &[&str], also: &[&str]) -> Result<(), InputError> {
        super::contract::unknown_key(self.map, self.path, known, also)
    }

    /// A field's text as the input gave it, or `""` (for messages).
    pub fn text(&self, key: &str) -> &'a str {
        self.map.get(key).and_then(Value::as_str).unwrap_or("")
    }

    /// The path of one of this object's fields.
    pub fn at(&self, key: &str) -> String {
        field_path(self.path, key)
    }

    /// A required field (`null` is handed to `read`, which rejects it).
    pub fn req<T>(
        &self,
        key: &str,
        read: impl FnOnce(&'a Value, &str) -> Result<T, InputError>,
    ) -> Result<T, InputError> {
        let path = self.at(key);
        match self.map.get(key) {
            Some(v) => read(v, &path),
            None => Err(err(&path, "missing")),
        }
    }

    /// An optional field: missing or `null` is `None`.
    pub fn opt<T>(
        &self,
        key: &str,
        read: impl FnOnce(&'a Value, &str) -> Result<T, InputError>,
    ) -> Result<Option<T>, InputError> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => read(v, &self.at(key)).map(Some),
        }
    }
}

pub fn string(v: &Value, path: &str) -> Result<String, InputError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(expected(path, "a string", v)),
    }
}

pub fn boolean(v: &Value, path: &str) -> Result<bool, InputError> {
    match v {
        Value::Bool(b) => Ok(*b),
        _ => Err(expected(path, "a boolean", v)),
    }
}

/// An RFC 3339 time with an explicit offset, stored as UTC.
pub fn time(v: &Value, path: &str) -> Result<Time, InputError> {
    let Value::String(s) = v else {
        return Err(expected(path, "an RFC 3339 time", v));
    };
    DateTime::parse_from_rfc3339(s).map(|t| t.to_utc()).map_err(|_| {
        let why = if chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_ok() {
            "has no offset: add `Z` for UTC or the local offset, e.g. `+08:00`"
        } else if s
            .split(['-', '+'])
            .find(|part| !part.is_empty())
            .is_some_and(|year| year.len() > 4)
        {
            "is out of range: years run from 0000 to 9999"
        } else {
            "is not an RFC 3339 time with an offset"
        };
        err(path, format!("{} {why}", show(v)))
    })
}

/// An array, each element read by `read` at its own index path.
pub fn list<'v, T>(
    v: &'v Value,
    path: &str,
    read: impl Fn(&'v Value, &str) -> Result<T, InputError>,
) -> Result<Vec<T>, InputError> {
    let Value::Array(items) = v else {
        return Err(expected(path, "an array", v));
    };
    items
        .iter()
        .enumerate()
        .map(|(i, x)| read(x, &index_path(path, i)))
        .collect()
}

/// An array of strings (`tags`, `evidence`).
pub fn strings(v: &Value, path: &str) -> Result<Vec<String>, InputError> {
    list(v, path, string)
}

/// A non-negative amount of money: a string or number read exactly as decimal text.
pub fn money(v: &Value, path: &str) -> Result<Decimal, InputError> {
    let text = match v {
        Value::String(s) => s.as_str(),
        Value::Number(n) => n.as_str(),
        _ => return Err(expected(path, "an amount (string or number)", v)),
    };
    let d = decimal(text).map_err(|bad| {
        let why = match bad {
            Bad::Syntax => "is not a decimal amount",
            Bad::Range => "does not fit a decimal amount",
        };
        err(path, format!("{} {why}", show(v)))
    })?;
    if d.is_sign_negative() {
        return Err(err(path, format!("{} is negative", show(v))));
    }
    Ok(d)
}

/// A positive integer that fits `i64`, given as a JSON number.
pub fn quantity(v: &Value, path: &str) -> Result<i64, InputError> {
    let Value::Number(n) = v else {
        return Err(expected(path, "a positive integer", v));
    };
    match n.as_i64() {
        Some(q) if q > 0 => Ok(q),
        None if n.as_str().bytes().all(|b| b.is_ascii_digit()) => {
            Err(err(path, format!("{n} is too large for a quantity")))
        }
        _ => Err(err(path, format!("{n} is not a positive integer"))),
    }
}

/// An object of scalars; integers that fit `i64` become `Int`, other numbers `Dec`.
pub fn attrs(v: &Value, path: &str) -> Result<Attrs, InputError> {
    let Value::Object(map) = v else {
        return Err(expected(path, "an object of scalars", v));
    };
    map.iter()
        .map(|(name, x)| {
            let scalar = match x {
                Value::Null => Scalar::Null,
                Value::Bool(b) => Scalar::Bool(*b),
                Value::String(s) => Scalar::Str(s.clone()),
                Value::Number(n) => match n.as_i64() {
                    Some(i) => Scalar::Int(i),
                    None => Scalar::Dec(
                        decimal(n.as_str())
                            .map_err(|_| err(&field_path(path, name), format!("{n} does not fit a decimal")))?,
                    ),
                },
                _ => {
                    let what = "a scalar (string, number, boolean or null)";
                    return Err(expected(&field_path(path, name), what, x));
                }
            };
            Ok((name.clone(), scalar))
        })
        .collect()
}

#[derive(Debug, PartialEq)]
enum Bad {
    /// Not decimal text at all.
    Syntax,
    /// Decimal text that `Decimal` cannot hold exactly.
    Range,
}

/// Exact decimal from JSON-number-shaped text: `-12.50`, `007`, `1.5e2`.
/// Negative zero comes back as zero.
fn decimal(text: &str) -> Result<Decimal, Bad> {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exp) = match body.split_once(['e', 'E']) {
        Some((m, e)) => (m, Some(e)),
        None => (body, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !digits(int) || (mantissa.contains('.') && !digits(frac)) {
        return Err(Bad::Syntax);
    }
    let plain = match exp {
        None => mantissa.to_owned(),
        Some(e) => {
            if !digits(e.strip_prefix(['+', '-']).unwrap_or(e)) {
                return Err(Bad::Syntax);
            }
            let all = format!("{int}{frac}");
            if all.bytes().all(|b| b == b'0') {
                return Ok(Decimal::ZERO);
            }
            // Where the decimal point lands; far outside ±40 nothing fits anyway.
            let point = e
                .parse::<i64>()
                .ok()
                .and_then(|e| e.checked_add(i64::try_from(int.len()).ok()?))
                .filter(|p| (-40..=40).contains(p))
                .ok_or(Bad::Range)?;
            match usize::try_from(point) {
                Err(_) => format!("0.{}{all}", "0".repeat(point.unsigned_abs() as usize)),
                Ok(p) if p >= all.len() => format!("{all}{}", "0".repeat(p - all.len())),
                Ok(p) => format!("{}.{}", &all[..p], &all[p..]),
            }
        }
    };
    let d = Decimal::from_str_exact(&plain).map_err(|_| Bad::Range)?;
    Ok(if neg && !d.is_zero() { -d } else { d })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn dec(s: &str) -> Decimal {
        Decimal::from_str_exact(s).unwrap()
    }

    #[test]
    fn decimal_text() {
        assert_eq!(decimal("199.00"), Ok(dec("199.00")));
        assert_eq!(decimal("199.00").unwrap().to_string(), "199.00");
        assert_eq!(decimal("-0.50"), Ok(dec("-0.50")));
        assert_eq!(decimal("-0").map(|d| d.is_sign_negative()), Ok(false));
        assert_eq!(decimal("1.5e2"), Ok(dec("150")));
        assert_eq!(decimal("15E-1"), Ok(dec("1.5")));
        assert_eq!(decimal("1e+2"), Ok(dec("100")));
        assert_eq!(decimal("0e999999999999999999999"), Ok(Decimal::ZERO));
        assert_eq!(
            decimal("0.1000000000000000000000000001"),
            Ok(dec("0.1000000000000000000000000001"))
        );
        for bad in [
            "", "-", "12,00", "abc", "NaN", "inf", ".5", "5.", "1_000", "+1", " 1", "1e", "1e+", "0x10",
        ] {
            assert_eq!(decimal(bad), Err(Bad::Syntax), "{bad}");
        }
        for big in [
            "1e400",
            "1e-400",
            "1e99999999999999999999",
            "79228162514264337593543950336",
            "0.00000000000000000000000000001",
            "1e29",
        ] {
            assert_eq!(decimal(big), Err(Bad::Range), "{big}");
        }
    }

    #[test]
    fn shown_values_are_short() {
        let long = "x".repeat(500);
        assert_eq!(show(&Value::String(long)).chars().count(), 61);
        assert_eq!(show(&serde_json::json!({"a": 1})), "an object");
    }
}
