//! The validated shape of a case (docs/language.md §4). Every default has been applied and
//! every cross-reference checked, so evaluation can read fields without looking
//! anything up by name.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// A free-form scalar from an `attrs` object, typed at run time.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Scalar {
    /// `true` or `false`.
    Bool(bool),
    /// A whole number.
    Int(i64),
    /// A number with a fractional part, exact.
    Dec(Decimal),
    /// Text.
    Str(String),
    /// JSON `null`: present, but holding nothing.
    Null,
}

/// `attrs` keeps declaration order; lookups happen once per case when the
/// program binds its attribute slots, never during evaluation.
pub type Attrs = Vec<(String, Scalar)>;

/// An instant, in UTC; the offset the input gave is not kept.
pub type Time = DateTime<Utc>;

/// One return request with all it is judged on (docs/language.md §4).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Case {
    /// The order the return is about.
    pub order: Order,
    /// The return request itself (`return` in a policy).
    pub ret: Return,
    /// The customer who asks.
    pub customer: Customer,
    /// The customer's earlier orders and returns, for aggregates.
    pub history: History,
}

/// The order a return is about (`order` in a policy).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Order {
    /// The order's id.
    pub id: String,
    /// The customer who placed it.
    pub customer_id: String,
    /// The shop that sold it, on a marketplace (which shop's policy judges it).
    pub merchant_id: Option<String>,
    /// ISO 4217 code; must be the policy's.
    pub currency: String,
    /// When it was placed.
    pub placed_at: Time,
    /// When it was paid, if known.
    pub paid_at: Option<Time>,
    /// When it was shipped, if it was.
    pub shipped_at: Option<Time>,
    /// When the buyer signed for it, if they did.
    pub delivered_at: Option<Time>,
    /// The amount paid: given, or the lines' amounts plus the shipping fee.
    pub total: Decimal,
    /// The shipping fee the buyer paid (0 when not given).
    pub shipping_fee: Decimal,
    /// Whether the buyer bought return-shipping insurance.
    pub shipping_insurance: bool,
    /// Free-form tags (`"double11"`).
    pub tags: Vec<String>,
    /// Free-form values, read as `order.attrs.NAME`.
    pub attrs: Attrs,
    /// The order's lines, one per sku.
    pub items: Vec<OrderItem>,
}

/// One line of an order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct OrderItem {
    /// The line's stock-keeping unit, unique on the order.
    pub sku: String,
    /// The product category (`"apparel"`).
    pub category: String,
    /// The price of one unit.
    pub unit_price: Decimal,
    /// Units ordered.
    pub quantity: i64,
    /// Free-form tags of the line.
    pub tags: Vec<String>,
    /// Free-form values of the line.
    pub attrs: Attrs,
}

/// A return request (`return` in a policy).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Return {
    /// The return's id.
    pub id: String,
    /// When it was asked for: `now` in a policy.
    pub requested_at: Time,
    /// `return_refund`, `refund_only` or `exchange` (`return.type`).
    pub kind: String,
    /// Why the buyer returns it (`"changed_mind"`).
    pub reason: String,
    /// What the buyer sent with it (`"photo"`).
    pub evidence: Vec<String>,
    /// Free-form values, read as `return.attrs.NAME`.
    pub attrs: Attrs,
    /// The returned lines, each joined with its order line.
    pub items: Vec<ReturnLine>,
    /// Sum of the lines' amounts.
    pub amount: Decimal,
}

/// A returned line joined with its order line (`item` in a policy).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReturnLine {
    /// The returned sku.
    pub sku: String,
    /// The order line's category.
    pub category: String,
    /// The order line's unit price.
    pub unit_price: Decimal,
    /// Returned quantity.
    pub quantity: i64,
    /// Units on the order line.
    pub ordered_quantity: i64,
    /// `unit_price × quantity`.
    pub amount: Decimal,
    /// The condition the buyer states (`"unused"`; `"unknown"` when not given).
    pub condition: String,
    /// The order line's tags followed by the return line's.
    pub tags: Vec<String>,
    /// The return line's attrs, then the order line's; the first of a name wins.
    pub attrs: Attrs,
}

/// The customer who asks (`customer` in a policy).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Customer {
    /// The customer's id (the order's `customer_id` when not given).
    pub id: String,
    /// When the account was opened, if known.
    pub created_at: Option<Time>,
    /// Whether the customer is a VIP.
    pub vip: bool,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// Free-form values, read as `customer.attrs.NAME`.
    pub attrs: Attrs,
}

/// The customer's earlier orders and returns, strictly before the request.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct History {
    /// Earlier orders.
    pub orders: Vec<PastOrder>,
    /// Earlier return requests.
    pub returns: Vec<PastReturn>,
}

/// An earlier order, as aggregates see it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PastOrder {
    /// Its id.
    pub id: String,
    /// When it was placed.
    pub placed_at: Time,
    /// Its total.
    pub total: Decimal,
    /// Its tags.
    pub tags: Vec<String>,
}

/// An earlier return request, as aggregates see it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct PastReturn {
    /// Its id.
    pub id: String,
    /// The order it was about.
    pub order_id: String,
    /// When it was asked for.
    pub requested_at: Time,
    /// Its type (`type` inside `where`).
    pub kind: String,
    /// Its reason.
    pub reason: String,
    /// The amount asked for.
    pub amount: Decimal,
    /// What became of it (`refunded`, `rejected`, `pending`, …).
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
