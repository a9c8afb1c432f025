//! The typed reader of a case, `rpl judge`'s fast path: serde straight from
//! the text into typed values (`typed.rs`), no `serde_json::Value` tree and
//! no JSON path built, then the contract's checks on the typed values.
//!
//! It reads the common case — an order, a return, a customer profile and a
//! history — and answers `None` on anything else: any problem at all, and
//! the parts of a return's life (`return.reviews`, a line's `inspection`),
//! which the reference reads. [`parse_case`]
//! then asks the reference (`parse.rs`), which alone words errors, so an
//! error is the same, path and message, whichever reader met the input
//! first. The differential tests hold every case this path reads to the
//! reference's reading of it.
//!
//! [`parse_case`]: super::parse_case

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::IgnoredAny;

use super::contract::{self, requested_in_time};
use super::typed::{self, At, Item, LineAttrs, Money, Obj, Opt, OrderFields};
use super::{Case, Customer, History, Order, PastOrder, PastReturn, RETURN_TYPES, Return, repeated_sku};
use crate::ir::schema::RETURN_STATUSES;
use crate::limits::{MAX_CASE_BYTES, MAX_HISTORY, MAX_LINES};

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Doc {
    order: Opt<Obj<OrderFields>>,
    #[serde(rename = "return")]
    ret: Opt<Obj<ReturnDoc>>,
    customer: Opt<Obj<CustomerDoc>>,
    history: Opt<Obj<HistoryDoc>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct ReturnDoc {
    id: Opt<String>,
    requested_at: Opt<At>,
    #[serde(rename = "type")]
    kind: Opt<String>,
    reason: Opt<String>,
    evidence: Opt<Vec<String>>,
    attrs: Opt<LineAttrs>,
    items: Opt<Vec<Obj<Item>>>,
    /// Only an empty list is read here: decisions are the reference's.
    reviews: Opt<Vec<IgnoredAny>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct CustomerDoc {
    id: Opt<String>,
    created_at: Opt<At>,
    vip: Opt<bool>,
    tags: Opt<Vec<String>>,
    attrs: Opt<LineAttrs>,
    restrictions: Opt<Vec<Obj<RestrictionDoc>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct RestrictionDoc {
    kind: Opt<String>,
    since: Opt<At>,
    until: Opt<At>,
    because: Opt<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct HistoryDoc {
    orders: Opt<Vec<Obj<PastOrderDoc>>>,
    returns: Opt<Vec<Obj<PastReturnDoc>>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct PastOrderDoc {
    id: Opt<String>,
    placed_at: Opt<At>,
    total: Opt<Money>,
    tags: Opt<Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct PastReturnDoc {
    id: Opt<String>,
    order_id: Opt<String>,
    requested_at: Opt<At>,
    #[serde(rename = "type")]
    kind: Opt<String>,
    reason: Opt<String>,
    amount: Opt<Money>,
    status: Opt<String>,
}

/// Reads a case, or `None` where the reference must look at it.
pub(crate) fn parse(text: &str) -> Option<Case> {
    // A byte-order mark, leading blanks, an oversized text: the reference decides.
    if !text.starts_with('{') || text.len() > MAX_CASE_BYTES {
        return None;
    }
    let Obj(doc) = serde_json::from_str::<Obj<Doc>>(text).ok()?;
    let (order, ..) = typed::order(doc.order.get()?.0)?;
    let ret = ret(doc.ret.get()?.0, &order)?;
    let mut customer = customer(
        doc.customer.get().map(|c| c.0).unwrap_or_default(),
        &order,
        ret.requested_at,
    )?;
    if customer.created_at.is_some_and(|c| c > ret.requested_at) {
        return None;
    }
    customer.restrict_at(ret.requested_at);
    let history = match doc.history.get() {
        Some(Obj(h)) => history(h, &order.currency, ret.requested_at)?,
        None => History::default(),
    };
    Some(Case {
        order,
        ret,
        customer,
        history,
    })
}

fn ret(r: ReturnDoc, order: &Order) -> Option<Return> {
    if let Opt::Is(reviews) = &r.reviews
        && !reviews.is_empty()
    {
        return None;
    }
    let requested = r.requested_at.get()?.0;
    let requested_at = requested.to_utc();
    if !requested_in_time(order, requested_at) {
        return None;
    }
    let kind = r.kind.get()?;
    if !RETURN_TYPES.contains(&kind.as_str()) {
        return None;
    }
    let raw = r.items.get()?;
    if raw.is_empty() || raw.len() > MAX_LINES {
        return None;
    }
    let mut amount = Decimal::ZERO;
    let mut items = Vec::with_capacity(raw.len());
    for Obj(i) in raw {
        // An order line's keys: the return's reader refuses them.
        if i.category.given() || i.unit_price.given() {
            return None;
        }
        items.push(typed::return_line(
            order,
            i.sku.get()?,
            i.quantity.get()?.0,
            i.condition.get(),
            i.tags.get().unwrap_or_default(),
            i.attrs.get().map(|a| a.0).unwrap_or_default(),
        )?);
    }
    if repeated_sku(items.len(), |i| items[i].sku.as_str()).is_some() {
        return None;
    }
    for line in &items {
        amount = amount.checked_add(line.amount)?;
    }
    Some(Return {
        id: r.id.get()?,
        requested_at,
        kind,
        reason: r.reason.get()?,
        evidence: r.evidence.get().unwrap_or_default(),
        attrs: r.attrs.get().map(|a| a.0).unwrap_or_default(),
        items,
        amount,
        offset: *requested.offset(),
        reviews: Vec::new(),
    })
}

fn customer(c: CustomerDoc, order: &Order, requested_at: crate::data::Time) -> Option<Customer> {
    let restrictions = match c.restrictions {
        Opt::Is(list) if list.len() > MAX_HISTORY => return None,
        Opt::Is(list) => list
            .into_iter()
            .map(|Obj(r)| restriction(r, requested_at))
            .collect::<Option<Vec<_>>>()?,
        Opt::Absent | Opt::Null => Vec::new(),
    };
    let id = match c.id {
        Opt::Is(id) => id,
        // The order's customer, as the reference defaults it.
        Opt::Absent | Opt::Null => order.customer_id.clone(),
    };
    if id != order.customer_id {
        return None;
    }
    Some(Customer {
        id,
        created_at: c.created_at.get().map(|t| t.0.to_utc()),
        vip: c.vip.get().unwrap_or_default(),
        tags: c.tags.get().unwrap_or_default(),
        attrs: c.attrs.get().map(|a| a.0).unwrap_or_default(),
        restrictions,
        restricted: Vec::new(),
    })
}

/// A restriction the customer carries: of a kind rpl knows, ending no
/// earlier than it began, and set before the request (a case holds what was
/// known when the return was asked for).
fn restriction(r: RestrictionDoc, requested_at: crate::data::Time) -> Option<crate::data::Restriction> {
    let kind = r.kind.get()?;
    if !crate::ir::life::RESTRICTION_KINDS.contains(&kind.as_str()) {
        return None;
    }
    let since = r.since.get().map(|t| t.0.to_utc());
    let until = r.until.get()?.0.to_utc();
    if since.is_some_and(|s| until < s || s >= requested_at) {
        return None;
    }
    Some(crate::data::Restriction {
        kind,
        since,
        until,
        because: r.because.get(),
    })
}

fn history(h: HistoryDoc, currency: &str, now: crate::data::Time) -> Option<History> {
    let orders = h.orders.get().unwrap_or_default();
    let returns = h.returns.get().unwrap_or_default();
    if orders.len() > MAX_HISTORY || returns.len() > MAX_HISTORY {
        return None;
    }
    let places = crate::currency::minor_units(currency);
    let orders = orders
        .into_iter()
        .map(|Obj(o)| {
            let order = PastOrder {
                id: o.id.get()?,
                placed_at: o.placed_at.get()?.0.to_utc(),
                total: o.total.get()?.0,
                tags: o.tags.get().unwrap_or_default(),
            };
            (order.placed_at <= now && contract::fits(order.total, places)).then_some(order)
        })
        .collect::<Option<Vec<_>>>()?;
    let returns = returns
        .into_iter()
        .map(|Obj(r)| {
            let ret = PastReturn {
                id: r.id.get()?,
                order_id: r.order_id.get()?,
                requested_at: r.requested_at.get()?.0.to_utc(),
                kind: r.kind.get()?,
                reason: r.reason.get()?,
                amount: r.amount.get()?.0,
                status: r.status.get()?,
            };
            let holds = ret.requested_at <= now
                && RETURN_TYPES.contains(&ret.kind.as_str())
                && RETURN_STATUSES.contains(&ret.status.as_str())
                && contract::fits(ret.amount, places);
            holds.then_some(ret)
        })
        .collect::<Option<Vec<_>>>()?;
    Some(History { orders, returns })
}

#[cfg(test)]
#[path = "typed_case_tests.rs"]
mod tests;
