//! The validated shape of a case (SPEC §4). Every default has been applied and
//! every cross-reference checked, so evaluation can read fields without looking
//! anything up by name.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// A free-form scalar from an `attrs` object, typed at run time.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    Str(String),
    Null,
}

/// `attrs` keeps declaration order; lookups happen once per case when the
/// program binds its attribute slots, never during evaluation.
pub type Attrs = Vec<(String, Scalar)>;

pub type Time = DateTime<Utc>;

#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    pub order: Order,
    pub ret: Return,
    pub customer: Customer,
    pub history: History,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    pub id: String,
    pub customer_id: String,
    pub currency: String,
    pub placed_at: Time,
    pub paid_at: Option<Time>,
    pub shipped_at: Option<Time>,
    pub delivered_at: Option<Time>,
    pub total: Decimal,
    pub shipping_fee: Decimal,
    pub shipping_insurance: bool,
    pub tags: Vec<String>,
    pub attrs: Attrs,
    pub items: Vec<OrderItem>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OrderItem {
    pub sku: String,
    pub category: String,
    pub unit_price: Decimal,
    pub quantity: i64,
    pub tags: Vec<String>,
    pub attrs: Attrs,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Return {
    pub id: String,
    pub requested_at: Time,
    pub kind: String,
    pub reason: String,
    pub evidence: Vec<String>,
    pub attrs: Attrs,
    pub items: Vec<ReturnLine>,
    /// Sum of the lines' amounts.
    pub amount: Decimal,
}

/// A returned line joined with its order line (`item` in a policy).
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnLine {
    pub sku: String,
    pub category: String,
    pub unit_price: Decimal,
    /// Returned quantity.
    pub quantity: i64,
    pub ordered_quantity: i64,
    /// `unit_price × quantity`.
    pub amount: Decimal,
    pub condition: String,
    /// The order line's tags followed by the return line's.
    pub tags: Vec<String>,
    /// The return line's attrs, then the order line's; the first of a name wins.
    pub attrs: Attrs,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Customer {
    pub id: String,
    pub created_at: Option<Time>,
    pub vip: bool,
    pub tags: Vec<String>,
    pub attrs: Attrs,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct History {
    pub orders: Vec<PastOrder>,
    pub returns: Vec<PastReturn>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PastOrder {
    pub id: String,
    pub placed_at: Time,
    pub total: Decimal,
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PastReturn {
    pub id: String,
    pub order_id: String,
    pub requested_at: Time,
    pub kind: String,
    pub reason: String,
    pub amount: Decimal,
    pub status: String,
}
