//! The compiled program: every name and field resolved to a slot, every
//! expression a node in one arena. Evaluation reads this and nothing else.

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use chrono_tz::Tz;
use rust_decimal::Decimal;

use super::schema::{EventField, Field, Source};
use crate::diag::Span;
use crate::syntax::ast::{AggFn, Decision};

pub type NodeId = u32;

#[derive(Debug, Clone)]
pub struct Program {
    pub(crate) source: String,
    pub(crate) header: HeaderInfo,
    pub(crate) nodes: Vec<Node>,
    pub(crate) spans: Vec<Span>,
    pub(crate) lists: Vec<Vec<String>>,
    pub(crate) lets: Vec<LetDef>,
    pub(crate) aggs: Vec<AggDef>,
    pub(crate) attrs: Vec<AttrSlot>,
    pub(crate) flags: Vec<FlagDef>,
    pub(crate) rules: Vec<RuleDef>,
    pub(crate) shipping: Vec<Row<Payer>>,
    pub(crate) refund: Vec<Row<NodeId>>,
    /// Lets and aggregates that read `item` and so are computed afresh per line.
    pub(crate) per_line_lets: Vec<u32>,
    pub(crate) per_line_aggs: Vec<u32>,
    /// The expressions compiled to closures (see `eval::fast`).
    pub(crate) code: crate::eval::fast::Code,
}

#[derive(Debug, Clone)]
pub struct HeaderInfo {
    pub title: String,
    pub version: Option<String>,
    pub currency: String,
    pub minor_units: u32,
    pub timezone: PolicyTz,
    pub default: Decision,
    pub default_message: Option<String>,
}

/// The policy's timezone: an IANA zone or a fixed offset.
#[derive(Debug, Clone, Copy)]
pub enum PolicyTz {
    Named(Tz),
    Fixed(FixedOffset),
}

impl PolicyTz {
    /// The calendar date of `t` in this zone, as days since 1970-01-01.
    pub fn epoch_day(self, t: DateTime<Utc>) -> i64 {
        use chrono::Offset as _;
        // The offset in force at `t`, added to its seconds: no calendar
        // arithmetic, which costs more than the zone lookup itself.
        let offset = match self {
            PolicyTz::Named(tz) => tz.offset_from_utc_datetime(&t.naive_utc()).fix().local_minus_utc(),
            PolicyTz::Fixed(off) => off.local_minus_utc(),
        };
        (t.timestamp() + i64::from(offset)).div_euclid(86_400)
    }

    /// Midnight at the start of `date` in this zone (the earliest instant of
    /// that date where a DST gap swallows midnight).
    pub fn midnight(self, date: chrono::NaiveDate) -> Option<DateTime<Utc>> {
        let naive = date.and_hms_opt(0, 0, 0)?;
        let mut probe = naive;
        // A gap may swallow midnight (e.g. America/Santiago): walk forward to the first valid minute.
        for _ in 0..(24 * 60) {
            let found = match self {
                PolicyTz::Named(tz) => tz.from_local_datetime(&probe).earliest().map(|t| t.with_timezone(&Utc)),
                PolicyTz::Fixed(off) => off
                    .from_local_datetime(&probe)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc)),
            };
            if found.is_some() {
                return found;
            }
            probe += chrono::Duration::minutes(1);
        }
        None
    }

    pub fn format(self, t: DateTime<Utc>) -> String {
        match self {
            PolicyTz::Named(tz) => t.with_timezone(&tz).to_rfc3339(),
            PolicyTz::Fixed(off) => t.with_timezone(&off).to_rfc3339(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payer {
    Buyer,
    Merchant,
    Platform,
    Insurance,
}

impl Payer {
    pub const ALL: [(&'static str, Payer); 4] = [
        ("buyer", Payer::Buyer),
        ("merchant", Payer::Merchant),
        ("platform", Payer::Platform),
        ("insurance", Payer::Insurance),
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Payer::Buyer => "buyer",
            Payer::Merchant => "merchant",
            Payer::Platform => "platform",
            Payer::Insurance => "insurance",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Row<V> {
    pub value: V,
    pub guard: Option<NodeId>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct LetDef {
    pub name: String,
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
}

#[derive(Debug, Clone)]
pub struct RuleDef {
    pub name: String,
    pub when: Option<NodeId>,
    pub unless: Option<NodeId>,
    pub decision: Option<(Decision, Option<String>)>,
    pub deducts: Vec<(NodeId, String)>,
}

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
        Some(Node::Field(_) | Node::Attr(_) | Node::Let(_) | Node::Agg(_) | Node::Risk | Node::Now) | None => false,
    }
}
