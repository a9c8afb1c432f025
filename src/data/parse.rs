//! JSON -> Case with validation (docs/language.md §4). The pieces (`parse_order`,
//! `parse_return`, …) are public so other inputs, such as a backtest's event
//! stream, build cases with exactly the same rules.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::contract::{self, not_before, one_of};
use super::json::{
    Obj, attrs, boolean, err, field_path, index_path, list, money, quantity, quote, string, strings, time,
};
use super::model::{
    Case, Customer, History, Inspection, Order, OrderItem, PastOrder, PastReturn, Restriction, Return, ReturnLine,
    ReviewDecision, ReviewOutcome, is_currency_code, order_total, repeated_sku,
};
#[cfg(doc)]
use crate::limits::MAX_JSON_DEPTH;
use crate::limits::{MAX_CASE_BYTES, MAX_HISTORY, MAX_LINES};

/// A case that breaks the data contract, with the JSON path of the problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error, serde::Serialize)]
#[error("{}{message}", if path.is_empty() { String::new() } else { format!("{path}: ") })]
#[non_exhaustive]
pub struct InputError {
    /// Where in the input: a JSON path (`return.items[0].sku`), empty for the whole input.
    pub path: String,
    /// What is wrong.
    pub message: String,
}

use crate::ir::schema::RETURN_STATUSES;
impl InputError {
    /// An error at `path` (a JSON path; empty for the input as a whole).
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError {
            path: path.into(),
            message: message.into(),
        }
    }
}

pub use crate::ir::schema::RETURN_TYPES;

/// Parses a case from JSON text; a syntax error is reported at the root path `""`.
///
/// The common case is read by a typed reader straight from the text
/// (`typed_case.rs`); anything it does not read, and every error, is this
/// file's: the result is the same either way.
pub fn parse_case(text: &str) -> Result<Case, InputError> {
    if let Some(case) = super::typed_case::parse(text) {
        return Ok(case);
    }
    parse_case_value(&parse_json(text)?)
}

/// Reads the JSON text of one case, within [`MAX_CASE_BYTES`] and
/// [`MAX_JSON_DEPTH`], with no key given twice in one object. Its errors are
/// at the root path `""` and name the line and column, as serde_json's do.
pub fn parse_json(text: &str) -> Result<Value, InputError> {
    // RFC 8259 lets a parser ignore a byte-order mark; editors on Windows write one.
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    if text.len() > MAX_CASE_BYTES {
        let msg = format!(
            "the case is {} bytes, more than the {MAX_CASE_BYTES} a case may hold",
            text.len()
        );
        return Err(err("", msg));
    }
    if let Some(problem) = super::text::scan(text) {
        let (line, column) = crate::diag::line_col(text, problem.at);
        let message = format!("{} at line {line} column {column}", problem.message);
        return Err(err(&problem.path, message));
    }
    serde_json::from_str(text).map_err(|e| err("", format!("not JSON: {e}")))
}

/// Validates an already parsed JSON value as a case (see [`parse_case`]).
pub fn parse_case_value(v: &Value) -> Result<Case, InputError> {
    let root = Obj::new(v, "")?;
    root.known(contract::CASE_KEYS, &[])?;
    let order = root.req("order", parse_order)?;
    let ret = root.req("return", |v, p| parse_return(v, p, &order))?;
    let id = Some(order.customer_id.as_str());
    let mut customer = match root.opt("customer", |v, p| parse_customer(v, p, id))? {
        Some(customer) => customer,
        None => parse_customer(&Value::Object(Map::new()), "customer", id)?,
    };
    // A restriction the case holds was set before the request (a case holds
    // what was known then); those still running are the ones in force.
    for (i, r) in customer.restrictions.iter().enumerate() {
        if let Some(since) = r.since
            && since >= ret.requested_at
        {
            let path = format!("customer.restrictions[{i}].since");
            let text = v["customer"]["restrictions"][i]["since"].as_str().unwrap_or("");
            let msg = format!(
                "{} is not before the return was requested ({}): a case holds what was known when the return was asked for",
                quote(text),
                contract::in_offset_of(ret.requested_at, text)
            );
            return Err(err(&path, msg));
        }
    }
    customer.restrict_at(ret.requested_at);
    if customer.id != order.customer_id {
        let msg = format!(
            "{} is not the order's customer {}",
            quote(&customer.id),
            quote(&order.customer_id)
        );
        return Err(err("customer.id", msg));
    }
    if let Some(created) = customer.created_at
        && created > ret.requested_at
    {
        let text = v["customer"]["created_at"].as_str().unwrap_or("");
        let msg = format!(
            "{} is after the return was requested ({}): the account must exist first",
            quote(text),
            contract::in_offset_of(ret.requested_at, text)
        );
        return Err(err("customer.created_at", msg));
    }
    let history = root
        .opt("history", |v, p| {
            parse_history_of(v, p, &order.currency, ret.requested_at)
        })?
        .unwrap_or_default();
    Ok(Case {
        order,
        ret,
        customer,
        history,
    })
}

/// An order with its items; `total` defaults to the items' sum plus `shipping_fee`.
pub fn parse_order(v: &Value, path: &str) -> Result<Order, InputError> {
    parse_order_with(v, path, &[])
}

/// An order whose object may also hold the keys `also` (an event line's own).
pub fn parse_order_with(v: &Value, path: &str, also: &[&str]) -> Result<Order, InputError> {
    let o = Obj::new(v, path)?;
    o.known(contract::ORDER_KEYS, also)?;
    let id = o.req("id", string)?;
    let customer_id = o.req("customer_id", string)?;
    let merchant_id = o.opt("merchant_id", string)?;
    let currency = o.req("currency", string)?;
    if !is_currency_code(&currency) {
        let msg = format!("{} is not a three-letter uppercase currency code", quote(&currency));
        return Err(err(&o.at("currency"), msg));
    }
    let placed_at = o.req("placed_at", time)?;
    let paid_at = o.opt("paid_at", time)?;
    let shipped_at = o.opt("shipped_at", time)?;
    let delivered_at = o.opt("delivered_at", time)?;
    let shipping_fee = o.opt("shipping_fee", money)?.unwrap_or_default();
    let shipping_insurance = o.opt("shipping_insurance", boolean)?.unwrap_or_default();
    let tags = o.opt("tags", strings)?.unwrap_or_default();
    let attrs = o.opt("attrs", attrs)?.unwrap_or_default();

    let items_path = o.at("items");
    let items = o.req("items", |v, p| bounded_list(v, p, MAX_LINES, "items", parse_order_item))?;
    if items.is_empty() {
        return Err(err(&items_path, "an order has no items"));
    }
    unique_skus(items.len(), |i| items[i].sku.as_str(), &items_path, "order")?;

    let total = match o.opt("total", money)? {
        Some(total) => total,
        None => order_total(&items, shipping_fee).map_err(|at| {
            let path = match at {
                Some(i) => index_path(&items_path, i),
                None => o.at("shipping_fee"),
            };
            err(&path, "the order total overflows")
        })?,
    };
    let order = Order {
        id,
        customer_id,
        merchant_id,
        currency,
        placed_at,
        paid_at,
        shipped_at,
        delivered_at,
        total,
        shipping_fee,
        shipping_insurance,
        tags,
        attrs,
        items,
    };
    contract::order_times(&order, path, |key| o.text(key))?;
    contract::order_amounts(&order, path)?;
    Ok(order)
}

pub fn parse_order_item(v: &Value, path: &str) -> Result<OrderItem, InputError> {
    let o = Obj::new(v, path)?;
    o.known(contract::ORDER_ITEM_KEYS, &[])?;
    Ok(OrderItem {
        sku: o.req("sku", string)?,
        category: o.req("category", string)?,
        unit_price: o.req("unit_price", money)?,
        quantity: o.req("quantity", quantity)?,
        tags: o.opt("tags", strings)?.unwrap_or_default(),
        attrs: o.opt("attrs", attrs)?.unwrap_or_default(),
    })
}

/// A return request, its lines joined with `order`'s lines.
pub fn parse_return(v: &Value, path: &str, order: &Order) -> Result<Return, InputError> {
    parse_return_with(v, path, order, &[])
}

/// A return whose object may also hold the keys `also` (an event line's own).
/// It cannot be asked for before its order was placed, nor before a delivery
/// the case records: a case holds what was known at the request.
pub fn parse_return_with(v: &Value, path: &str, order: &Order, also: &[&str]) -> Result<Return, InputError> {
    let o = Obj::new(v, path)?;
    o.known(contract::RETURN_KEYS, also)?;
    let id = o.req("id", string)?;
    let requested_at = o.req("requested_at", time)?;
    let at = o.at("requested_at");
    not_before(
        requested_at,
        o.text("requested_at"),
        order.placed_at,
        &at,
        "the order's placed_at",
    )?;
    if let Some(delivered) = order.delivered_at
        && requested_at < delivered
    {
        let msg = format!(
            "{} is before the order's delivered_at {}: a case holds what was known when the return was asked for, so leave delivered_at out if the parcel had not arrived",
            quote(o.text("requested_at")),
            contract::in_offset_of(delivered, o.text("requested_at"))
        );
        return Err(err(&at, msg));
    }
    let offset = *chrono::DateTime::parse_from_rfc3339(o.text("requested_at"))
        .map_err(|_| err(&at, "is not an RFC 3339 time with an offset"))?
        .offset();
    let kind = o.req("type", string)?;
    one_of(&kind, RETURN_TYPES, &o.at("type"), "a return type")?;
    let reason = o.req("reason", string)?;
    let evidence = o.opt("evidence", strings)?.unwrap_or_default();
    let attrs = o.opt("attrs", attrs)?.unwrap_or_default();

    let lines: HashMap<&str, &OrderItem> = order.items.iter().map(|i| (i.sku.as_str(), i)).collect();
    let items_path = o.at("items");
    let items = o.req("items", |v, p| {
        bounded_list(v, p, MAX_LINES, "lines", |v, p| {
            parse_return_line(v, p, order, &lines, requested_at)
        })
    })?;
    if items.is_empty() {
        return Err(err(&items_path, "a return has no items"));
    }
    unique_skus(items.len(), |i| items[i].sku.as_str(), &items_path, "return")?;
    let mut amount = Decimal::ZERO;
    for (i, line) in items.iter().enumerate() {
        amount = amount
            .checked_add(line.amount)
            .ok_or_else(|| err(&index_path(&items_path, i), "the return amount overflows"))?;
    }
    let reviews = o
        .opt("reviews", |v, p| {
            bounded_list(v, p, MAX_LINES, "reviews", |v, p| parse_review(v, p, requested_at))
        })?
        .unwrap_or_default();
    let reviews_path = o.at("reviews");
    for i in 1..reviews.len() {
        if reviews[i].at < reviews[i - 1].at {
            let path = field_path(&index_path(&reviews_path, i), "at");
            return Err(err(
                &path,
                "is before the review decision listed before it: list them in time order",
            ));
        }
    }
    Ok(Return {
        id,
        requested_at,
        kind,
        reason,
        evidence,
        attrs,
        items,
        amount,
        offset,
        reviews,
    })
}

/// A time of the return's life, which cannot come before the request.
fn after_request(o: &Obj<'_>, key: &str, requested_at: crate::data::Time) -> Result<crate::data::Time, InputError> {
    let t = o.req(key, time)?;
    not_before(t, o.text(key), requested_at, &o.at(key), "the return's requested_at")?;
    Ok(t)
}

/// A person's decision on the return's review: `{"at", "decision", "by", "reason"}`.
pub(crate) fn parse_review(
    v: &Value,
    path: &str,
    requested_at: crate::data::Time,
) -> Result<ReviewDecision, InputError> {
    parse_review_with(v, path, requested_at, &[])
}

/// [`parse_review`], allowing the keys `also` beside a decision's own (an
/// event's `event` and `return_id`).
pub(crate) fn parse_review_with(
    v: &Value,
    path: &str,
    requested_at: crate::data::Time,
    also: &[&str],
) -> Result<ReviewDecision, InputError> {
    let o = Obj::new(v, path)?;
    o.known(contract::REVIEW_KEYS, also)?;
    let at = after_request(&o, "at", requested_at)?;
    let decision = review_outcome(&o)?;
    Ok(ReviewDecision {
        decision,
        at,
        by: o.opt("by", string)?,
        reason: o.opt("reason", string)?,
    })
}

/// `"decision": "approve" | "deny"`.
pub(crate) fn review_outcome(o: &Obj<'_>) -> Result<ReviewOutcome, InputError> {
    let word = o.req("decision", string)?;
    match word.as_str() {
        "approve" => Ok(ReviewOutcome::Approve),
        "deny" => Ok(ReviewOutcome::Deny),
        other => {
            let near = crate::diag::did_you_mean(other, ["approve", "deny"]);
            let msg = match near {
                Some(n) => format!(
                    "{} is not a review's decision; did you mean {}?",
                    quote(other),
                    quote(n)
                ),
                None => format!("{} is not a review's decision (approve or deny)", quote(other)),
            };
            Err(err(&o.at("decision"), msg))
        }
    }
}

/// What an inspection found on a returned line, no earlier than the request.
pub(crate) fn parse_inspection(
    v: &Value,
    path: &str,
    requested_at: crate::data::Time,
    also: &[&str],
) -> Result<Inspection, InputError> {
    let o = Obj::new(v, path)?;
    o.known(contract::INSPECTION_KEYS, also)?;
    let at = after_request(&o, "at", requested_at)?;
    let quantity_received = o.req("quantity_received", count)?;
    Ok(Inspection {
        at,
        condition: o.opt("condition", string)?.unwrap_or_else(|| "unknown".into()),
        quantity_received,
        tags_attached: o.opt("tags_attached", boolean)?,
        packaging_intact: o.opt("packaging_intact", boolean)?,
        serial: o.opt("serial", string)?,
        sku_match: o.opt("sku_match", boolean)?,
        photos: o
            .opt("photos", |v, p| bounded_list(v, p, MAX_LINES, "photos", string))?
            .unwrap_or_default(),
        by: o.opt("by", string)?,
        note: o.opt("note", string)?,
    })
}

/// A whole number of pieces, 0 or more.
fn count(v: &Value, path: &str) -> Result<i64, InputError> {
    match v {
        Value::Number(n) if n.as_i64() == Some(0) => Ok(0),
        _ => quantity(v, path).map_err(|e| InputError {
            message: e.message.replace("a positive integer", "a whole number, 0 or more"),
            ..e
        }),
    }
}

/// A restriction on the customer: `{"kind", "until", "since"?, "because"?}`.
fn parse_restriction(v: &Value, path: &str) -> Result<Restriction, InputError> {
    let o = Obj::new(v, path)?;
    o.known(contract::RESTRICTION_KEYS, &[])?;
    let kind = o.req("kind", string)?;
    one_of(
        &kind,
        crate::ir::life::RESTRICTION_KINDS,
        &o.at("kind"),
        "a kind of restriction",
    )?;
    let since = o.opt("since", time)?;
    let until = o.req("until", time)?;
    if let Some(since) = since {
        not_before(until, o.text("until"), since, &o.at("until"), "its since")?;
    }
    Ok(Restriction {
        kind,
        since,
        until,
        because: o.opt("because", string)?,
    })
}

fn parse_return_line(
    v: &Value,
    path: &str,
    order: &Order,
    lines: &HashMap<&str, &OrderItem>,
    requested_at: crate::data::Time,
) -> Result<ReturnLine, InputError> {
    let o = Obj::new(v, path)?;
    o.known(contract::RETURN_LINE_KEYS, &[])?;
    let sku = o.req("sku", string)?;
    let Some(line) = lines.get(sku.as_str()) else {
        let msg = format!("{} is not on order {}", quote(&sku), order.id);
        return Err(err(&o.at("sku"), msg));
    };
    let quantity = o.req("quantity", quantity)?;
    if quantity > line.quantity {
        let msg = format!("{quantity} exceeds the ordered quantity {}", line.quantity);
        return Err(err(&o.at("quantity"), msg));
    }
    let amount = line
        .unit_price
        .checked_mul(Decimal::from(quantity))
        .ok_or_else(|| err(path, "unit_price × quantity overflows"))?;
    let condition = o.opt("condition", string)?.unwrap_or_else(|| "unknown".into());
    let mut tags = line.tags.clone();
    tags.extend(o.opt("tags", strings)?.unwrap_or_default());
    let mut attrs = o.opt("attrs", attrs)?.unwrap_or_default();
    let own: HashSet<String> = attrs.iter().map(|(name, _)| name.clone()).collect();
    attrs.extend(line.attrs.iter().filter(|(name, _)| !own.contains(name)).cloned());
    let inspection = o.opt("inspection", |v, p| parse_inspection(v, p, requested_at, &[]))?;
    Ok(ReturnLine {
        sku,
        category: line.category.clone(),
        unit_price: line.unit_price,
        quantity,
        ordered_quantity: line.quantity,
        amount,
        condition,
        tags,
        attrs,
        inspection,
    })
}

/// A customer profile. `id` defaults to `default_id` (the order's `customer_id`);
/// without a default it is required.
pub fn parse_customer(v: &Value, path: &str, default_id: Option<&str>) -> Result<Customer, InputError> {
    parse_customer_with(v, path, default_id, &[])
}

/// A customer profile whose object may also hold the keys `also`.
pub fn parse_customer_with(
    v: &Value,
    path: &str,
    default_id: Option<&str>,
    also: &[&str],
) -> Result<Customer, InputError> {
    let o = Obj::new(v, path)?;
    o.known(contract::CUSTOMER_KEYS, also)?;
    let id = match (o.opt("id", string)?, default_id) {
        (Some(id), _) => id,
        (None, Some(id)) => id.to_owned(),
        (None, None) => return Err(err(&o.at("id"), "missing")),
    };
    Ok(Customer {
        id,
        created_at: o.opt("created_at", time)?,
        vip: o.opt("vip", boolean)?.unwrap_or_default(),
        tags: o.opt("tags", strings)?.unwrap_or_default(),
        attrs: o.opt("attrs", attrs)?.unwrap_or_default(),
        restrictions: o
            .opt("restrictions", |v, p| {
                bounded_list(v, p, MAX_HISTORY, "restrictions", parse_restriction)
            })?
            .unwrap_or_default(),
        restricted: Vec::new(),
    })
}

/// The customer's earlier orders and returns, in the case's `currency`, none
/// after the request (`now`).
fn parse_history_of(v: &Value, path: &str, currency: &str, now: crate::data::Time) -> Result<History, InputError> {
    let o = Obj::new(v, path)?;
    o.known(contract::HISTORY_KEYS, &[])?;
    let earlier = |t: crate::data::Time, o: &Obj<'_>, key: &str| {
        if t <= now {
            return Ok(());
        }
        let msg = format!(
            "{} is after the return being judged ({}): history holds what came before it",
            quote(o.text(key)),
            contract::in_offset_of(now, o.text(key))
        );
        Err(err(&o.at(key), msg))
    };
    let past_order = |v: &Value, p: &str| {
        let o = Obj::new(v, p)?;
        o.known(contract::PAST_ORDER_KEYS, &[])?;
        let order = PastOrder {
            id: o.req("id", string)?,
            placed_at: o.req("placed_at", time)?,
            total: o.req("total", money)?,
            tags: o.opt("tags", strings)?.unwrap_or_default(),
        };
        earlier(order.placed_at, &o, "placed_at")?;
        contract::minor_units(order.total, currency, &o.at("total"))?;
        Ok(order)
    };
    let past_return = |v: &Value, p: &str| {
        let o = Obj::new(v, p)?;
        o.known(contract::PAST_RETURN_KEYS, &[])?;
        let ret = PastReturn {
            id: o.req("id", string)?,
            order_id: o.req("order_id", string)?,
            requested_at: o.req("requested_at", time)?,
            kind: o.req("type", string)?,
            reason: o.req("reason", string)?,
            amount: o.req("amount", money)?,
            status: o.req("status", string)?,
        };
        earlier(ret.requested_at, &o, "requested_at")?;
        one_of(&ret.kind, RETURN_TYPES, &o.at("type"), "a return type")?;
        one_of(&ret.status, RETURN_STATUSES, &o.at("status"), "a return status")?;
        contract::minor_units(ret.amount, currency, &o.at("amount"))?;
        Ok(ret)
    };
    Ok(History {
        orders: o
            .opt("orders", |v, p| {
                bounded_list(v, p, MAX_HISTORY, "past orders", past_order)
            })?
            .unwrap_or_default(),
        returns: o
            .opt("returns", |v, p| {
                bounded_list(v, p, MAX_HISTORY, "past returns", past_return)
            })?
            .unwrap_or_default(),
    })
}

/// An array of at most `max` elements, each read by `read`; the first one
/// past the limit is where the error is.
fn bounded_list<'v, T>(
    v: &'v Value,
    path: &str,
    max: usize,
    what: &str,
    read: impl Fn(&'v Value, &str) -> Result<T, InputError>,
) -> Result<Vec<T>, InputError> {
    if let Value::Array(items) = v
        && items.len() > max
    {
        let msg = format!("{} {what}, more than the {max} a case may hold", items.len());
        return Err(err(&index_path(path, max), msg));
    }
    list(v, path, read)
}

/// Rejects the second occurrence of a sku, at `items[i].sku`.
fn unique_skus<'s>(n: usize, sku: impl Fn(usize) -> &'s str, items_path: &str, on: &str) -> Result<(), InputError> {
    match repeated_sku(n, &sku) {
        Some(i) => {
            let path = field_path(&index_path(items_path, i), "sku");
            Err(err(&path, format!("{} appears twice on the {on}", quote(sku(i)))))
        }
        None => Ok(()),
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
