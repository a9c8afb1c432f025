//! The validated shape of a case (docs/language.md §4). Every default has been applied and
//! every cross-reference checked, so evaluation can read fields without looking
//! anything up by name.

use chrono::{DateTime, FixedOffset, Utc};
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
    /// The offset `requested_at` was written in: the times a verdict computes
    /// (a review's due time, a refund's) are written in it.
    pub offset: FixedOffset,
    /// The decisions people made on the return's reviews so far, in time order.
    pub reviews: Vec<ReviewDecision>,
}

/// A person's decision on a return's review (`return.reviews[i]`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ReviewDecision {
    /// Approve or deny every line in review.
    pub decision: ReviewOutcome,
    /// When it was made.
    pub at: Time,
    /// Who made it: a merchant's agent, an admin.
    pub by: Option<String>,
    /// Why, in words the customer may be shown.
    pub reason: Option<String>,
}

impl ReviewDecision {
    /// A decision made at `at`.
    pub fn new(decision: ReviewOutcome, at: Time, by: Option<String>, reason: Option<String>) -> ReviewDecision {
        ReviewDecision {
            decision,
            at,
            by,
            reason,
        }
    }
}

/// What a review ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReviewOutcome {
    /// The lines in review are approved.
    Approve,
    /// The lines in review are denied.
    Deny,
}

impl ReviewOutcome {
    /// The word a verdict and a case use.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewOutcome::Approve => "approve",
            ReviewOutcome::Deny => "deny",
        }
    }
}

/// What the warehouse found when a returned line came back
/// (`return.items[i].inspection`; `item.inspection.*` in a policy).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Inspection {
    /// When the line was inspected.
    pub at: Time,
    /// The condition found (`"unknown"` when not given).
    pub condition: String,
    /// How many pieces came back.
    pub quantity_received: i64,
    /// Whether the tags were still attached, if checked.
    pub tags_attached: Option<bool>,
    /// Whether the packaging was intact, if checked.
    pub packaging_intact: Option<bool>,
    /// The serial number found, if read.
    pub serial: Option<String>,
    /// Whether the item is the one shipped (sku, model, brand), if checked.
    pub sku_match: Option<bool>,
    /// Photos taken as evidence (their addresses).
    pub photos: Vec<String>,
    /// Who inspected it.
    pub by: Option<String>,
    /// What the inspector wrote.
    pub note: Option<String>,
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
    /// What the warehouse found, once the line came back and was inspected.
    pub inspection: Option<Inspection>,
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
    /// Restrictions set on the customer (by policies, or by the platform).
    pub restrictions: Vec<Restriction>,
    /// The kinds of restriction in force when the return was asked for, in
    /// the order first given (`customer.restrictions` in a policy).
    pub restricted: Vec<String>,
}

impl Customer {
    /// A customer known only by id: no profile, no restrictions.
    pub fn unknown(id: &str) -> Customer {
        Customer {
            id: id.to_string(),
            created_at: None,
            vip: false,
            tags: Vec::new(),
            attrs: Vec::new(),
            restrictions: Vec::new(),
            restricted: Vec::new(),
        }
    }

    /// Sets `restricted` to the kinds of the restrictions in force at `now`:
    /// set strictly before it, and not yet over.
    pub fn restrict_at(&mut self, now: Time) {
        let mut kinds: Vec<String> = Vec::new();
        for r in &self.restrictions {
            if r.in_force(now) && !kinds.contains(&r.kind) {
                kinds.push(r.kind.clone());
            }
        }
        self.restricted = kinds;
    }
}

/// A restriction on a customer (`customer.restrictions[i]`): refund-only
/// turned off, orders limited, … until a time.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Restriction {
    /// One of the kinds rpl knows (`refund_only`, `no_reason_returns`, `orders`, `manual_review`).
    pub kind: String,
    /// When it was set, if known.
    pub since: Option<Time>,
    /// When it ends.
    pub until: Time,
    /// Why, for support to tell the customer.
    pub because: Option<String>,
}

impl Restriction {
    /// A restriction of `kind` from `since` (if known) until `until`.
    pub fn new(kind: &str, since: Option<Time>, until: Time, because: Option<String>) -> Restriction {
        Restriction {
            kind: kind.to_string(),
            since,
            until,
            because,
        }
    }

    /// Whether it is in force at `now`: set before it, not yet over.
    pub fn in_force(&self, now: Time) -> bool {
        self.since.is_none_or(|s| s < now) && now < self.until
    }
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
