//! The definitions of a checked policy: lets, aggregates, attributes, flags,
//! rules and table rows, each pointing into the node arena by [`NodeId`].

use super::life::{RefundLimit, RestrictDef, ReviewDeadline, Stage};
use super::node::NodeId;
use super::schema::{EventField, Source};
use crate::syntax::ast::{AggFn, Decision};

/// A row of the shipping or refund table: its value, taken when its guard
/// holds (always, for `otherwise`).
#[derive(Debug, Clone)]
pub struct Row<V> {
    pub value: V,
    pub guard: Option<NodeId>,
}

/// A `let`: its body, computed at most once per request or per line.
#[derive(Debug, Clone)]
pub struct LetDef {
    pub body: NodeId,
}

#[derive(Debug, Clone)]
pub struct AggDef {
    pub func: AggFn,
    pub source: Source,
    /// The summed field of `sum(returns.amount …)`.
    pub field: Option<EventField>,
    /// Window length in seconds; `None` looks at all earlier events.
    pub window: Option<i64>,
    pub filter: Option<NodeId>,
    /// Whether the filter reads nothing but the event (and constants): then
    /// its answer for an event never changes, and a backtest can keep the
    /// aggregate up to date as events arrive instead of rescanning history.
    pub event_only: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttrObject {
    Order,
    Item,
    Return,
    Customer,
}

#[derive(Debug, Clone)]
pub struct AttrSlot {
    pub object: AttrObject,
    pub name: String,
}

#[derive(Debug, Clone)]
pub struct FlagDef {
    pub name: String,
    pub when: Option<NodeId>,
    pub unless: Option<NodeId>,
    pub score: i64,
    pub note: Option<String>,
    /// Restrictions set on the customer when the flag fires.
    pub restricts: Vec<RestrictDef>,
}

#[derive(Debug, Clone)]
pub struct RuleDef {
    pub name: String,
    /// At the request, or when the goods are inspected.
    pub stage: Stage,
    pub when: Option<NodeId>,
    pub unless: Option<NodeId>,
    pub decision: Option<(Decision, Option<String>)>,
    pub deducts: Vec<(NodeId, String)>,
    /// A review's own deadline (`review "…" within 24 hours, then deny`).
    pub deadline: Option<ReviewDeadline>,
    /// When the refund of a line this rule decides is due.
    pub refund: Option<RefundLimit>,
    /// Restrictions set on the customer when the rule fires.
    pub restricts: Vec<RestrictDef>,
}
