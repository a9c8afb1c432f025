//! Run-time values and the operations on them. Values borrow from the program
//! and the case, so evaluating allocates nothing.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::ir::{Arith, Cmp, NodeId};

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Str(&'a str),
    /// A string read in lower case (`lower(s)`), compared without building it.
    Lower(&'a str),
    Time(DateTime<Utc>),
    /// Seconds.
    Dur(i64),
    /// A list is the node that yields it, walked in the current frame.
    List(NodeId),
}

impl Value<'_> {
    pub fn kind(&self) -> Kind {
        match self {
            Value::Bool(_) => Kind::Boolean,
            Value::Int(_) => Kind::WholeNumber,
            Value::Dec(_) => Kind::Decimal,
            Value::Str(_) | Value::Lower(_) => Kind::String,
            Value::Time(_) => Kind::Time,
            Value::Dur(_) => Kind::Duration,
            Value::List(_) => Kind::List,
        }
    }

    pub fn as_dec(&self) -> Option<Decimal> {
        match self {
            Value::Int(i) => Some(Decimal::from(*i)),
            Value::Dec(d) => Some(*d),
            _ => None,
        }
    }
}

/// A kind of value, as an error names it. One byte, so that a failed
/// evaluation's `Result` stays as small as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    WholeNumber,
    Decimal,
    Number,
    Amount,
    String,
    Time,
    Duration,
    List,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Boolean => "a boolean",
            Kind::WholeNumber => "a whole number",
            Kind::Decimal => "a decimal",
            Kind::Number => "a number",
            Kind::Amount => "an amount",
            Kind::String => "a string",
            Kind::Time => "a time",
            Kind::Duration => "a duration",
            Kind::List => "a list",
        }
    }
}

/// Why an evaluation failed. Small and `Copy`: messages are written only when
/// a verdict reports the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrKind {
    Missing,
    Type {
        wanted: Kind,
        found: Kind,
    },
    /// Two values of kinds that cannot be compared (`"no" == true`).
    Mismatch {
        left: Kind,
        right: Kind,
    },
    Overflow,
    DivByZero,
    NegativeDeduction,
    BadPlaces,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvalError {
    pub node: NodeId,
    pub kind: ErrKind,
}

pub type Eval<'a> = Result<Value<'a>, EvalError>;

pub fn type_error(node: NodeId, wanted: Kind, found: &Value<'_>) -> EvalError {
    EvalError {
        node,
        kind: ErrKind::Type {
            wanted,
            found: found.kind(),
        },
    }
}

fn mismatch(node: NodeId, a: &Value<'_>, b: &Value<'_>) -> EvalError {
    EvalError {
        node,
        kind: ErrKind::Mismatch {
            left: a.kind(),
            right: b.kind(),
        },
    }
}

fn err(node: NodeId, kind: ErrKind) -> EvalError {
    EvalError { node, kind }
}

/// String equality where either side may be a lower-case view.
pub fn str_eq(a: Value<'_>, b: Value<'_>) -> Option<bool> {
    Some(match (a, b) {
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Lower(x), Value::Str(y)) | (Value::Str(y), Value::Lower(x)) => {
            x.chars().flat_map(char::to_lowercase).eq(y.chars())
        }
        (Value::Lower(x), Value::Lower(y)) => x
            .chars()
            .flat_map(char::to_lowercase)
            .eq(y.chars().flat_map(char::to_lowercase)),
        _ => return None,
    })
}

/// Whether `s` equals `v` (a string value, perhaps a lower-case view).
pub fn str_matches(v: Value<'_>, s: &str) -> bool {
    match v {
        Value::Str(x) => x == s,
        Value::Lower(x) => x.chars().flat_map(char::to_lowercase).eq(s.chars()),
        _ => false,
    }
}

pub fn compare(node: NodeId, op: Cmp, a: Value<'_>, b: Value<'_>) -> Result<bool, EvalError> {
    let ord = match (a, b) {
        (Value::Int(x), Value::Int(y)) => x.cmp(&y),
        (Value::Time(x), Value::Time(y)) => x.cmp(&y),
        (Value::Dur(x), Value::Dur(y)) => x.cmp(&y),
        (Value::Bool(x), Value::Bool(y)) if matches!(op, Cmp::Eq | Cmp::Ne) => x.cmp(&y),
        (Value::Str(_) | Value::Lower(_), _) if matches!(op, Cmp::Eq | Cmp::Ne) => {
            let eq = str_eq(a, b).ok_or_else(|| mismatch(node, &a, &b))?;
            return Ok(eq == (op == Cmp::Eq));
        }
        _ => match (a.as_dec(), b.as_dec()) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => return Err(mismatch(node, &a, &b)),
        },
    };
    Ok(match op {
        Cmp::Eq => ord == Ordering::Equal,
        Cmp::Ne => ord != Ordering::Equal,
        Cmp::Lt => ord == Ordering::Less,
        Cmp::Le => ord != Ordering::Greater,
        Cmp::Gt => ord == Ordering::Greater,
        Cmp::Ge => ord != Ordering::Less,
    })
}

pub fn arith<'a>(node: NodeId, op: Arith, a: Value<'a>, b: Value<'a>) -> Eval<'a> {
    let overflow = || err(node, ErrKind::Overflow);
    let v = match (op, a, b) {
        (Arith::Add, Value::Int(x), Value::Int(y)) => Value::Int(x.checked_add(y).ok_or_else(overflow)?),
        (Arith::Sub, Value::Int(x), Value::Int(y)) => Value::Int(x.checked_sub(y).ok_or_else(overflow)?),
        (Arith::Mul, Value::Int(x), Value::Int(y)) => Value::Int(x.checked_mul(y).ok_or_else(overflow)?),
        (Arith::Add, Value::Time(t), Value::Dur(d)) | (Arith::Add, Value::Dur(d), Value::Time(t)) => Value::Time(
            t.checked_add_signed(chrono::Duration::try_seconds(d).ok_or_else(overflow)?)
                .ok_or_else(overflow)?,
        ),
        (Arith::Sub, Value::Time(t), Value::Dur(d)) => Value::Time(
            t.checked_sub_signed(chrono::Duration::try_seconds(d).ok_or_else(overflow)?)
                .ok_or_else(overflow)?,
        ),
        (Arith::Sub, Value::Time(x), Value::Time(y)) => Value::Dur((x - y).num_seconds()),
        (Arith::Add, Value::Dur(x), Value::Dur(y)) => Value::Dur(x.checked_add(y).ok_or_else(overflow)?),
        (Arith::Sub, Value::Dur(x), Value::Dur(y)) => Value::Dur(x.checked_sub(y).ok_or_else(overflow)?),
        (Arith::Mul, Value::Dur(d), Value::Int(n)) | (Arith::Mul, Value::Int(n), Value::Dur(d)) => {
            Value::Dur(d.checked_mul(n).ok_or_else(overflow)?)
        }
        _ => {
            let x = a.as_dec().ok_or_else(|| type_error(node, Kind::Number, &a))?;
            let y = b.as_dec().ok_or_else(|| type_error(node, Kind::Number, &b))?;
            Value::Dec(dec_arith(node, op, x, y)?)
        }
    };
    Ok(v)
}

/// Decimal arithmetic, checked: overflow and division by zero are errors at `node`.
pub fn dec_arith(node: NodeId, op: Arith, x: Decimal, y: Decimal) -> Result<Decimal, EvalError> {
    match op {
        Arith::Add => x.checked_add(y),
        Arith::Sub => x.checked_sub(y),
        Arith::Mul => x.checked_mul(y),
        Arith::Div => {
            if y.is_zero() {
                return Err(err(node, ErrKind::DivByZero));
            }
            x.checked_div(y)
        }
    }
    .ok_or(err(node, ErrKind::Overflow))
}

pub fn negate<'a>(node: NodeId, v: Value<'a>) -> Eval<'a> {
    let overflow = || err(node, ErrKind::Overflow);
    match v {
        Value::Int(i) => Ok(Value::Int(i.checked_neg().ok_or_else(overflow)?)),
        Value::Dec(d) => Ok(Value::Dec(-d)),
        Value::Dur(d) => Ok(Value::Dur(d.checked_neg().ok_or_else(overflow)?)),
        other => Err(type_error(node, Kind::Number, &other)),
    }
}

pub fn pick<'a>(node: NodeId, a: Value<'a>, b: Value<'a>, max: bool) -> Eval<'a> {
    let less = compare(node, Cmp::Lt, a, b)?;
    Ok(if less == max { b } else { a })
}

pub fn round<'a>(node: NodeId, x: Value<'a>, places: Value<'a>) -> Eval<'a> {
    let d = x.as_dec().ok_or_else(|| type_error(node, Kind::Number, &x))?;
    let p = match places {
        Value::Int(p) if (0..=28).contains(&p) => p as u32,
        Value::Int(_) => return Err(err(node, ErrKind::BadPlaces)),
        other => return Err(type_error(node, Kind::WholeNumber, &other)),
    };
    Ok(Value::Dec(d.round_dp_with_strategy(
        p,
        rust_decimal::RoundingStrategy::MidpointAwayFromZero,
    )))
}

pub fn abs<'a>(node: NodeId, v: Value<'a>) -> Eval<'a> {
    match v {
        Value::Int(i) => Ok(Value::Int(i.checked_abs().ok_or(err(node, ErrKind::Overflow))?)),
        Value::Dec(d) => Ok(Value::Dec(d.abs())),
        Value::Dur(d) => Ok(Value::Dur(d.checked_abs().ok_or(err(node, ErrKind::Overflow))?)),
        other => Err(type_error(node, Kind::Number, &other)),
    }
}

pub fn ratio<'a>(node: NodeId, a: Value<'a>, b: Value<'a>) -> Eval<'a> {
    let x = a.as_dec().ok_or_else(|| type_error(node, Kind::Number, &a))?;
    let y = b.as_dec().ok_or_else(|| type_error(node, Kind::Number, &b))?;
    if y.is_zero() {
        return Ok(Value::Dec(Decimal::ZERO));
    }
    x.checked_div(y).map(Value::Dec).ok_or(err(node, ErrKind::Overflow))
}
