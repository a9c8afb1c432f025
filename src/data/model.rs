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

/// Whether `code` has the shape of a currency code: three uppercase letters.
pub(crate) fn is_currency_code(code: &str) -> bool {
    code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase())
}

/// An order's total when it gives none: its lines' prices times quantities,
/// plus the shipping fee. On overflow, the line that overflowed, or `None`
/// when adding the fee did.
pub(crate) fn order_total(items: &[OrderItem], shipping_fee: Decimal) -> Result<Decimal, Option<usize>> {
    let mut sum = Decimal::ZERO;
    for (i, item) in items.iter().enumerate() {
        sum = Decimal::from(item.quantity)
            .checked_mul(item.unit_price)
            .and_then(|amount| sum.checked_add(amount))
            .ok_or(Some(i))?;
    }
    sum.checked_add(shipping_fee).ok_or(None)
}

/// The index of the first of `n` skus (the `i`-th is `sku(i)`) that was seen
/// before: compared in pairs on the few lines an order has, through a set on
/// long ones.
pub(crate) fn repeated_sku<'s>(n: usize, sku: impl Fn(usize) -> &'s str) -> Option<usize> {
    if n <= 16 {
        return (0..n).find(|&i| (0..i).any(|j| sku(j) == sku(i)));
    }
    let mut seen = std::collections::HashSet::new();
    (0..n).position(|i| !seen.insert(sku(i)))
}
