//! JSON -> Case with validation (docs/language.md §4). The pieces (`parse_order`,
//! `parse_return`, …) are public so other inputs, such as a backtest's event
//! stream, build cases with exactly the same rules.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use serde_json::{Map, Value};

use super::json::{
    Obj, attrs, boolean, err, field_path, index_path, list, money, quantity, quote, string, strings, time,
};
use super::model::{
    Case, Customer, History, Order, OrderItem, PastOrder, PastReturn, Return, ReturnLine, is_currency_code,
    order_total, repeated_sku,
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

pub use crate::ir::schema::RETURN_TYPES;

/// Parses a case from JSON text; a syntax error is reported at the root path `""`.
pub fn parse_case(text: &str) -> Result<Case, InputError> {
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
    let order = root.req("order", parse_order)?;
    let ret = root.req("return", |v, p| parse_return(v, p, &order))?;
    let id = Some(order.customer_id.as_str());
    let customer = match root.opt("customer", |v, p| parse_customer(v, p, id))? {
        Some(customer) => customer,
        None => parse_customer(&Value::Object(Map::new()), "customer", id)?,
    };
    let history = root.opt("history", parse_history)?.unwrap_or_default();
    Ok(Case {
        order,
        ret,
        customer,
        history,
    })
}

/// An order with its items; `total` defaults to the items' sum plus `shipping_fee`.
pub fn parse_order(v: &Value, path: &str) -> Result<Order, InputError> {
    let o = Obj::new(v, path)?;
    let id = o.req("id", string)?;
    let customer_id = o.req("customer_id", string)?;
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
    Ok(Order {
        id,
        customer_id,
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
    })
}

pub fn parse_order_item(v: &Value, path: &str) -> Result<OrderItem, InputError> {
    let o = Obj::new(v, path)?;
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
    let o = Obj::new(v, path)?;
    let id = o.req("id", string)?;
    let requested_at = o.req("requested_at", time)?;
    let kind = o.req("type", string)?;
    if !RETURN_TYPES.contains(&kind.as_str()) {
        let msg = format!("{} is not one of {}", quote(&kind), RETURN_TYPES.join(", "));
        return Err(err(&o.at("type"), msg));
    }
    let reason = o.req("reason", string)?;
    let evidence = o.opt("evidence", strings)?.unwrap_or_default();
    let attrs = o.opt("attrs", attrs)?.unwrap_or_default();

    let lines: HashMap<&str, &OrderItem> = order.items.iter().map(|i| (i.sku.as_str(), i)).collect();
    let items_path = o.at("items");
    let items = o.req("items", |v, p| {
        bounded_list(v, p, MAX_LINES, "lines", |v, p| parse_return_line(v, p, order, &lines))
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
    Ok(Return {
        id,
        requested_at,
        kind,
        reason,
        evidence,
        attrs,
        items,
        amount,
    })
}

fn parse_return_line(
    v: &Value,
    path: &str,
    order: &Order,
    lines: &HashMap<&str, &OrderItem>,
) -> Result<ReturnLine, InputError> {
    let o = Obj::new(v, path)?;
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
    })
}

/// A customer profile. `id` defaults to `default_id` (the order's `customer_id`);
/// without a default it is required.
pub fn parse_customer(v: &Value, path: &str, default_id: Option<&str>) -> Result<Customer, InputError> {
    let o = Obj::new(v, path)?;
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
    })
}

pub fn parse_history(v: &Value, path: &str) -> Result<History, InputError> {
    let o = Obj::new(v, path)?;
    Ok(History {
        orders: o
            .opt("orders", |v, p| {
                bounded_list(v, p, MAX_HISTORY, "past orders", parse_past_order)
            })?
            .unwrap_or_default(),
        returns: o
            .opt("returns", |v, p| {
                bounded_list(v, p, MAX_HISTORY, "past returns", parse_past_return)
            })?
            .unwrap_or_default(),
    })
}

pub fn parse_past_order(v: &Value, path: &str) -> Result<PastOrder, InputError> {
    let o = Obj::new(v, path)?;
    Ok(PastOrder {
        id: o.req("id", string)?,
        placed_at: o.req("placed_at", time)?,
        total: o.req("total", money)?,
        tags: o.opt("tags", strings)?.unwrap_or_default(),
    })
}

pub fn parse_past_return(v: &Value, path: &str) -> Result<PastReturn, InputError> {
    let o = Obj::new(v, path)?;
    Ok(PastReturn {
        id: o.req("id", string)?,
        order_id: o.req("order_id", string)?,
        requested_at: o.req("requested_at", time)?,
        kind: o.req("type", string)?,
        reason: o.req("reason", string)?,
        amount: o.req("amount", money)?,
        status: o.req("status", string)?,
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
