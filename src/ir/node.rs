//! The nodes of the expression arena: every name and field already resolved
//! to a slot, every operator to an enum.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::schema::{EventField, Field};

/// An index into the program's node arena.
pub type NodeId = u32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    DaysSince,
    HoursSince,
    Min,
    Max,
    Round,
    Abs,
    Lower,
    Len,
    Ratio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arith {
    Add,
    Sub,
    Mul,
    Div,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// A constant known at compile time.
#[derive(Debug, Clone, PartialEq)]
pub enum Lit {
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Str(String),
    Time(DateTime<Utc>),
    /// Seconds.
    Dur(i64),
}

#[derive(Debug, Clone)]
pub enum Node {
    Lit(Lit),
    /// A constant list (`lists[i]`).
    List(u32),
    Field(Field),
    Event(EventField),
    Attr(u32),
    Let(u32),
    Agg(u32),
    Risk,
    /// Whether the flag with this index fired on the request.
    Flag(u32),
    Now,
    Not(NodeId),
    Neg(NodeId),
    And(NodeId, NodeId),
    Or(NodeId, NodeId),
    If(NodeId, NodeId, NodeId),
    Cmp(Cmp, NodeId, NodeId),
    /// `needle in list` (or `not in` when the flag is set).
    In(NodeId, NodeId, bool),
    /// A list joined from two lists.
    Concat(NodeId, NodeId),
    Arith(Arith, NodeId, NodeId),
    /// `x is present` (true) / `x is missing` (false).
    Is(NodeId, bool),
    Call(Func, NodeId, Option<NodeId>),
}

/// Whether the expression at `id` reads only the event a `where` looks at,
/// and constants: no case field, let, `now`, `risk` or attribute.
pub(crate) fn reads_only_event(nodes: &[Node], id: NodeId) -> bool {
    let only = |x: &NodeId| reads_only_event(nodes, *x);
    match nodes.get(id as usize) {
        Some(Node::Lit(_) | Node::List(_) | Node::Event(_)) => true,
        Some(Node::Not(x) | Node::Neg(x) | Node::Is(x, _)) => only(x),
        Some(Node::And(a, b) | Node::Or(a, b) | Node::Cmp(_, a, b) | Node::In(a, b, _) | Node::Concat(a, b)) => {
            only(a) && only(b)
        }
        Some(Node::Arith(_, a, b)) => only(a) && only(b),
        Some(Node::If(c, a, b)) => only(c) && only(a) && only(b),
        Some(Node::Call(f, a, b)) => {
            !matches!(f, Func::DaysSince | Func::HoursSince) && only(a) && b.as_ref().is_none_or(only)
        }
        Some(Node::Field(_) | Node::Attr(_) | Node::Let(_) | Node::Agg(_) | Node::Risk | Node::Flag(_) | Node::Now)
        | None => false,
    }
}
