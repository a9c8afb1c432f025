//! The data contract beyond types (docs/language.md §4.12): the keys each
//! object may hold, the closed sets of values, amounts no finer than the
//! currency's minor unit, and times in the order they happen. A case that
//! breaks it would be judged on something other than what happened — an
//! ignored typo, a status no `where` matches, a refund computed from a price
//! no one paid — so it is refused, with the path of the problem.

use rust_decimal::Decimal;

use super::json::{err, field_path, index_path, quote};
use super::model::{Order, Time};
use super::parse::InputError;
use crate::diag::did_you_mean;

/// The keys of each object a case holds.
pub(crate) const CASE_KEYS: &[&str] = &["order", "return", "customer", "history"];
pub(crate) const ORDER_KEYS: &[&str] = &[
    "id",
    "customer_id",
    "merchant_id",
    "currency",
    "placed_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "total",
    "shipping_fee",
    "shipping_insurance",
    "tags",
    "attrs",
    "items",
];
pub(crate) const ORDER_ITEM_KEYS: &[&str] = &["sku", "category", "unit_price", "quantity", "tags", "attrs"];
pub(crate) const RETURN_KEYS: &[&str] = &[
    "id",
    "requested_at",
    "type",
    "reason",
    "evidence",
    "attrs",
    "items",
    "reviews",
];
pub(crate) const RETURN_LINE_KEYS: &[&str] = &["sku", "quantity", "condition", "tags", "attrs", "inspection"];
pub(crate) const CUSTOMER_KEYS: &[&str] = &["id", "created_at", "vip", "tags", "attrs", "restrictions"];
/// What an inspection finds (`return.items[i].inspection`, and an `inspection` event's own keys).
pub(crate) const INSPECTION_KEYS: &[&str] = &[
    "at",
    "condition",
    "quantity_received",
    "tags_attached",
    "packaging_intact",
    "serial",
    "sku_match",
    "photos",
    "by",
    "note",
];
pub(crate) const REVIEW_KEYS: &[&str] = &["at", "decision", "by", "reason"];
pub(crate) const RESTRICTION_KEYS: &[&str] = &["kind", "since", "until", "because"];
pub(crate) const HISTORY_KEYS: &[&str] = &["orders", "returns"];
pub(crate) const PAST_ORDER_KEYS: &[&str] = &["id", "placed_at", "total", "tags"];
pub(crate) const PAST_RETURN_KEYS: &[&str] = &["id", "order_id", "requested_at", "type", "reason", "amount", "status"];

/// The first key of `map` that is neither in `known` nor in `also`, as an
/// error at its path with the nearest known key, if one is close.
pub(crate) fn unknown_key(
    map: &serde_json::Map<String, serde_json::Value>,
    path: &str,
    known: &[&str],
    also: &[&str],
) -> Result<(), InputError> {
    let Some(key) = map
        .keys()
        .find(|k| !known.contains(&k.as_str()) && !also.contains(&k.as_str()))
    else {
        return Ok(());
    };
    let near = did_you_mean(key, known.iter().chain(also).copied());
    let message = match near {
        Some(near) => format!("unknown field; did you mean {near}?"),
        None if known.contains(&"attrs") => "unknown field; free-form values belong in `attrs`".to_string(),
        None => format!("unknown field; the fields here are {}", known.join(", ")),
    };
    Err(err(&field_path(path, key), message))
}

/// `value` must be one of `set`, which `what` names in the message.
pub(crate) fn one_of(value: &str, set: &[&str], path: &str, what: &str) -> Result<(), InputError> {
    if set.contains(&value) {
        return Ok(());
    }
    let message = match did_you_mean(value, set.iter().copied()) {
        Some(near) => format!("{} is not {what}; did you mean {}?", quote(value), quote(near)),
        None => format!("{} is not {what} ({})", quote(value), set.join(", ")),
    };
    Err(err(path, message))
}

/// An amount must not be finer than the currency's minor unit: `59.005`
/// is not a CNY amount (`59.000` is: trailing zeros say nothing). An
/// unknown code is left to the policy's currency check.
pub(crate) fn minor_units(amount: Decimal, currency: &str, path: &str) -> Result<(), InputError> {
    let Some(places) = crate::currency::minor_units(currency) else {
        return Ok(());
    };
    if fits(amount, Some(places)) {
        return Ok(());
    }
    let unit = match places {
        0 => format!("{currency} has no minor unit: amounts are whole"),
        1 => format!("{currency} amounts have 1 decimal place"),
        n => format!("{currency} amounts have {n} decimal places"),
    };
    Err(err(
        path,
        format!("\"{amount}\" is finer than the currency allows: {unit}"),
    ))
}

/// Whether `amount` has no more decimal places than `places` (a currency's
/// minor unit; `None`, an unknown currency, takes any): [`minor_units`]
/// without the error, for the typed readers.
pub(crate) fn fits(amount: Decimal, places: Option<u32>) -> bool {
    places.is_none_or(|places| amount.scale() <= places || amount.normalize().scale() <= places)
}

/// `t` written in the offset `text` (an RFC 3339 time of the same input)
/// uses, so a message shows both times as the input wrote them.
pub(crate) fn in_offset_of(t: Time, text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(other) => t
            .with_timezone(other.offset())
            .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        Err(_) => t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    }
}

/// `later` (at `path`, written `text` in the input) must not come before
/// `earlier`, which `what` names.
pub(crate) fn not_before(later: Time, text: &str, earlier: Time, path: &str, what: &str) -> Result<(), InputError> {
    if later >= earlier {
        return Ok(());
    }
    let earlier = in_offset_of(earlier, text);
    Err(err(path, format!("{} is before {what} {earlier}", quote(text))))
}

/// The order's own times in the order they happen: paid, shipped and
/// delivered no earlier than placed, and delivered no earlier than shipped.
/// Shipping before payment is allowed: cash on delivery ships first.
/// `text(key)` is the time as the input wrote it.
pub(crate) fn order_times<'t>(order: &Order, path: &str, text: impl Fn(&str) -> &'t str) -> Result<(), InputError> {
    for (key, t) in [
        ("paid_at", order.paid_at),
        ("shipped_at", order.shipped_at),
        ("delivered_at", order.delivered_at),
    ] {
        // Paths are built only for the error.
        if let Some(t) = t
            && t < order.placed_at
        {
            not_before(t, text(key), order.placed_at, &field_path(path, key), "placed_at")?;
        }
    }
    if let (Some(delivered), Some(shipped)) = (order.delivered_at, order.shipped_at)
        && delivered < shipped
    {
        let path = field_path(path, "delivered_at");
        not_before(delivered, text("delivered_at"), shipped, &path, "shipped_at")?;
    }
    Ok(())
}

/// Every amount of an order in its currency's minor unit.
pub(crate) fn order_amounts(order: &Order, path: &str) -> Result<(), InputError> {
    let c = order.currency.as_str();
    let places = crate::currency::minor_units(c);
    // Paths are built only for the error.
    for (i, item) in order.items.iter().enumerate() {
        if !fits(item.unit_price, places) {
            let items = field_path(path, "items");
            minor_units(item.unit_price, c, &field_path(&index_path(&items, i), "unit_price"))?;
        }
    }
    for (key, amount) in [("shipping_fee", order.shipping_fee), ("total", order.total)] {
        if !fits(amount, places) {
            minor_units(amount, c, &field_path(path, key))?;
        }
    }
    Ok(())
}

/// Whether an order already built (by a backtest's typed reader) keeps the
/// contract the validating reader holds it to; the reader words the error.
pub(crate) fn order_holds(order: &Order) -> bool {
    order_times(order, "", |_| "").is_ok() && order_amounts(order, "").is_ok()
}

/// Whether a return asked for at `requested_at` fits its order's times.
pub(crate) fn requested_in_time(order: &Order, requested_at: Time) -> bool {
    requested_at >= order.placed_at && order.delivered_at.is_none_or(|d| requested_at >= d)
}
