//! The typed reader of event lines, the backtest's fast path: serde straight
//! into typed structs, with no `serde_json::Value` in between and no JSON
//! paths computed. It exists because validating every line through a
//! `Value` tree, with paths for errors no clean line has, was most of a
//! replay's cost.
//!
//! It only ever answers "here is the event" or "I cannot tell": every
//! problem, and anything unusual (a key it does not know, a key given twice,
//! a number where it expects text, an array where it expects an object, …),
//! makes it give up, and the line goes to the validating parser in
//! `events.rs`, which stays the reference and alone words errors. So a line
//! this path accepts must be one the reference accepts, read into exactly the
//! same event; the differential tests at the end hold it to that.

use std::borrow::Cow;
use std::fmt;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor, value::MapAccessDeserializer};
use serde_json::Value;

use super::events::Label;
use crate::data::json::{attrs, money, quantity};
use crate::data::{
    Attrs, Customer, Order, OrderItem, RETURN_TYPES, Return, ReturnLine, Time, is_currency_code, order_total,
    repeated_sku,
};
use crate::limits::MAX_LINES;

/// A JSON object, and only an object: serde's derived structs also accept an
/// array of their fields in order, which the reference refuses.
struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Obj<T>, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Obj)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// An RFC 3339 time with an offset, read as `data::json::time` reads it.
struct At(Time);

impl<'de> Deserialize<'de> for At {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = At;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an RFC 3339 time")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<At, E> {
                chrono::DateTime::parse_from_rfc3339(s)
                    .map(|t| At(t.to_utc()))
                    .map_err(|_| E::custom("not a time"))
            }
        }
        d.deserialize_str(V)
    }
}

/// An amount, read by the reference's own reader (`data::json::money`).
struct Money(Decimal);

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        money(&v, "").map(Money).map_err(|_| de::Error::custom("not an amount"))
    }
}

/// A quantity, read by the reference's own reader (`data::json::quantity`).
struct Quantity(i64);

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        quantity(&v, "")
            .map(Quantity)
            .map_err(|_| de::Error::custom("not a quantity"))
    }
}

/// An `attrs` object, refused if a name comes twice (which `Value` would
/// silently resolve), then read by the reference's own reader.
struct LineAttrs(Attrs);

impl<'de> Deserialize<'de> for LineAttrs {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = LineAttrs;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of scalars")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LineAttrs, A::Error> {
                let mut object = serde_json::Map::new();
                while let Some(name) = map.next_key::<String>()? {
                    let value: Value = map.next_value()?;
                    if object.insert(name, value).is_some() {
                        return Err(de::Error::custom("a name given twice"));
                    }
                }
                attrs(&Value::Object(object), "")
                    .map(LineAttrs)
                    .map_err(|_| de::Error::custom("not attrs"))
            }
        }
        d.deserialize_map(V)
    }
}

/// What the `event` key says.
#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum EventKind {
    Customer,
    Order,
    Return,
}

/// A field's value as given (`Some(None)` for `null`), and `None` when the
/// key is absent: a key of another kind of event is refused even as `null`,
/// as the reference refuses it.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// An order's line or a return's: the fields of both. Unknown keys, and
/// known keys given twice, are errors (serde's derive refuses the latter).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Item {
    #[serde(default, deserialize_with = "present")]
    sku: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    category: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    unit_price: Option<Option<Money>>,
    #[serde(default, deserialize_with = "present")]
    quantity: Option<Option<Quantity>>,
    #[serde(default, deserialize_with = "present")]
    condition: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    tags: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    attrs: Option<Option<LineAttrs>>,
}

/// Every field of the three events, flat, so `event` may come anywhere in
/// the line. `None` is "missing or null", as the reference's optional reads.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    event: EventKind,
    #[serde(default, deserialize_with = "present")]
    id: Option<Option<String>>,
    // customer
    #[serde(default, deserialize_with = "present")]
    created_at: Option<Option<At>>,
    #[serde(default, deserialize_with = "present")]
    vip: Option<Option<bool>>,
    // customer and order
    #[serde(default, deserialize_with = "present")]
    tags: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    attrs: Option<Option<LineAttrs>>,
    // order
    #[serde(default, deserialize_with = "present")]
    customer_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    placed_at: Option<Option<At>>,
    #[serde(default, deserialize_with = "present")]
    paid_at: Option<Option<At>>,
    #[serde(default, deserialize_with = "present")]
    shipped_at: Option<Option<At>>,
    #[serde(default, deserialize_with = "present")]
    delivered_at: Option<Option<At>>,
    #[serde(default, deserialize_with = "present")]
    shipping_fee: Option<Option<Money>>,
    #[serde(default, deserialize_with = "present")]
    shipping_insurance: Option<Option<bool>>,
    #[serde(default, deserialize_with = "present")]
    total: Option<Option<Money>>,
    #[serde(default, deserialize_with = "present")]
    items: Option<Option<Vec<Obj<Item>>>>,
    // return
    #[serde(default, deserialize_with = "present")]
    order_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    requested_at: Option<Option<At>>,
    #[serde(rename = "type")]
    #[serde(default, deserialize_with = "present")]
    kind: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    reason: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    evidence: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    status: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    label: Option<Option<Cow<'a, str>>>,
}

impl Line<'_> {
    /// Whether the line holds no field of another kind of event. (A field
    /// given as `null` reads as absent here; the differential tests hold
    /// the reference and this path to the same answers on such lines.)
    fn only_its_own_fields(&self) -> bool {
        let customer = self.created_at.is_some() || self.vip.is_some();
        let order = self.customer_id.is_some()
            || self.currency.is_some()
            || self.placed_at.is_some()
            || self.paid_at.is_some()
            || self.shipped_at.is_some()
            || self.delivered_at.is_some()
            || self.shipping_fee.is_some()
            || self.shipping_insurance.is_some()
            || self.total.is_some();
        let ret = self.order_id.is_some()
            || self.requested_at.is_some()
            || self.kind.is_some()
            || self.reason.is_some()
            || self.evidence.is_some()
            || self.status.is_some()
            || self.label.is_some();
        match self.event {
            EventKind::Customer => !order && !ret && self.items.is_none(),
            EventKind::Order => !customer && !ret,
            EventKind::Return => !customer && !order && self.tags.is_none(),
        }
    }
}

/// A return as far as it can be read without its order.
#[derive(Debug, Clone, PartialEq)]
pub struct RawReturn {
    pub id: String,
    pub order_id: String,
    pub requested_at: Time,
    pub kind: String,
    pub reason: String,
    pub evidence: Vec<String>,
    pub attrs: Attrs,
    pub items: Vec<RawLine>,
    pub status: Option<String>,
    pub label: Option<Label>,
}

/// A returned line as given: joined with its order line later.
#[derive(Debug, Clone, PartialEq)]
pub struct RawLine {
    pub sku: String,
    pub quantity: i64,
    pub condition: Option<String>,
    pub tags: Vec<String>,
    pub attrs: Attrs,
}

/// One line read by the fast path.
#[derive(Debug, PartialEq)]
pub enum Read {
    Customer(Customer),
    Order(Order),
    Return(RawReturn),
}

/// Reads one event line, or `None` where the reference must look at it.
pub fn parse(line: &str) -> Option<Read> {
    // The byte-order mark, leading blanks and such: the reference decides.
    if !line.starts_with('{') {
        return None;
    }
    let Obj(l) = serde_json::from_str::<Obj<Line<'_>>>(line).ok()?;
    // A key of another kind of event is unknown to this one: the reference refuses it.
    if !l.only_its_own_fields() {
        return None;
    }
    match l.event {
        EventKind::Customer => customer(l).map(Read::Customer),
        EventKind::Order => order(l).map(Read::Order),
        EventKind::Return => ret(l).map(Read::Return),
    }
}

/// An order line alone (as a shard reads one again for a return).
pub fn parse_order(line: &str) -> Option<Order> {
    match parse(line)? {
        Read::Order(o) => Some(o),
        _ => None,
    }
}

fn customer(l: Line<'_>) -> Option<Customer> {
    Some(Customer {
        id: l.id.flatten()?,
        created_at: l.created_at.flatten().map(|t| t.0),
        vip: l.vip.flatten().unwrap_or_default(),
        tags: l.tags.flatten().unwrap_or_default(),
        attrs: l.attrs.flatten().map(|a| a.0).unwrap_or_default(),
    })
}

fn order(l: Line<'_>) -> Option<Order> {
    let currency = l.currency.flatten()?;
    if !is_currency_code(&currency) {
        return None;
    }
    let raw = l.items.flatten()?;
    if raw.is_empty() || raw.len() > MAX_LINES {
        return None;
    }
    let items = raw
        .into_iter()
        .map(|Obj(i)| {
            // A returned line's own field is unknown to an order's line.
            if i.condition.is_some() {
                return None;
            }
            Some(OrderItem {
                sku: i.sku.flatten()?,
                category: i.category.flatten()?,
                unit_price: i.unit_price.flatten()?.0,
                quantity: i.quantity.flatten()?.0,
                tags: i.tags.flatten().unwrap_or_default(),
                attrs: i.attrs.flatten().map(|a| a.0).unwrap_or_default(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    if repeated_sku(items.len(), |i| items[i].sku.as_str()).is_some() {
        return None;
    }
    let shipping_fee = l.shipping_fee.flatten().map(|m| m.0).unwrap_or_default();
    let total = match l.total.flatten() {
        Some(t) => t.0,
        None => order_total(&items, shipping_fee).ok()?,
    };
    let order = Order {
        id: l.id.flatten()?,
        customer_id: l.customer_id.flatten()?,
        currency,
        placed_at: l.placed_at.flatten()?.0,
        paid_at: l.paid_at.flatten().map(|t| t.0),
        shipped_at: l.shipped_at.flatten().map(|t| t.0),
        delivered_at: l.delivered_at.flatten().map(|t| t.0),
        total,
        shipping_fee,
        shipping_insurance: l.shipping_insurance.flatten().unwrap_or_default(),
        tags: l.tags.flatten().unwrap_or_default(),
        attrs: l.attrs.flatten().map(|a| a.0).unwrap_or_default(),
        items,
    };
    // Times out of order, amounts finer than the currency: the reference words it.
    crate::data::order_holds(&order).then_some(order)
}

fn ret(l: Line<'_>) -> Option<RawReturn> {
    let kind = l.kind.flatten()?;
    if !RETURN_TYPES.contains(&kind.as_str()) {
        return None;
    }
    let label = match l.label.flatten().as_deref() {
        None => None,
        Some("abuse") => Some(Label::Abuse),
        Some("ok") => Some(Label::Ok),
        Some(_) => return None,
    };
    let raw = l.items.flatten()?;
    if raw.is_empty() || raw.len() > MAX_LINES {
        return None;
    }
    let items = raw
        .into_iter()
        .map(|Obj(i)| {
            // An order line's own fields are unknown to a returned line.
            if i.category.is_some() || i.unit_price.is_some() {
                return None;
            }
            Some(RawLine {
                sku: i.sku.flatten()?,
                quantity: i.quantity.flatten()?.0,
                condition: i.condition.flatten(),
                tags: i.tags.flatten().unwrap_or_default(),
                attrs: i.attrs.flatten().map(|a| a.0).unwrap_or_default(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    if repeated_sku(items.len(), |i| items[i].sku.as_str()).is_some() {
        return None;
    }
    Some(RawReturn {
        id: l.id.flatten()?,
        order_id: l.order_id.flatten()?,
        requested_at: l.requested_at.flatten()?.0,
        kind,
        reason: l.reason.flatten()?,
        evidence: l.evidence.flatten().unwrap_or_default(),
        attrs: l.attrs.flatten().map(|a| a.0).unwrap_or_default(),
        items,
        status: l.status.flatten(),
        label,
    })
}

/// Joins a return's lines with its order's, as `data::parse_return` does;
/// `None` on any problem (a sku not on the order, too many returned, an
/// overflow), which the reference then words.
pub fn join(r: &RawReturn, order: &Order) -> Option<Return> {
    if !crate::data::requested_in_time(order, r.requested_at) {
        return None;
    }
    let mut amount = Decimal::ZERO;
    let mut items = Vec::with_capacity(r.items.len());
    for raw in &r.items {
        // Skus on an order are distinct, so the first match is the one.
        let line = order.items.iter().find(|i| i.sku == raw.sku)?;
        if raw.quantity > line.quantity {
            return None;
        }
        let line_amount = line.unit_price.checked_mul(Decimal::from(raw.quantity))?;
        amount = amount.checked_add(line_amount)?;
        let mut tags = line.tags.clone();
        tags.extend(raw.tags.iter().cloned());
        let mut attrs = raw.attrs.clone();
        attrs.extend(
            line.attrs
                .iter()
                .filter(|(name, _)| !raw.attrs.iter().any(|(own, _)| own == name))
                .cloned(),
        );
        items.push(ReturnLine {
            sku: raw.sku.clone(),
            category: line.category.clone(),
            unit_price: line.unit_price,
            quantity: raw.quantity,
            ordered_quantity: line.quantity,
            amount: line_amount,
            condition: raw.condition.clone().unwrap_or_else(|| "unknown".into()),
            tags,
            attrs,
        });
    }
    Some(Return {
        id: r.id.clone(),
        requested_at: r.requested_at,
        kind: r.kind.clone(),
        reason: r.reason.clone(),
        evidence: r.evidence.clone(),
        attrs: r.attrs.clone(),
        items,
        amount,
    })
}

/// The fast path against the reference: on every line it accepts, the
/// reference accepts the same event; on the rest, the reference answers.
#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::backtest::events::{Event, ReturnBody, parse_event, parse_event_reference};
    use crate::data::parse_return_with;
    use crate::support::rng::Rng;

    /// Checks one line; says whether the fast path took it.
    fn same(line: &str, orders: &mut Vec<Order>) -> bool {
        let reference = parse_event_reference(line);
        let Some(fast) = parse(line) else {
            // Every error is the reference's own.
            let via = parse_event(line).map(|_| ()).map_err(|e| e.clone());
            assert_eq!(via, reference.map(|_| ()), "{line}");
            return false;
        };
        let reference =
            reference.unwrap_or_else(|e| panic!("the fast path took a line the reference refuses ({e}): {line}"));
        match (fast, reference) {
            (Read::Customer(f), Event::Customer(r)) => assert_eq!(f, *r, "{line}"),
            (Read::Order(f), Event::Order(r, raw)) => {
                assert_eq!(f, *r, "{line}");
                assert_eq!(&*raw, line);
                assert_eq!(parse_order(line).as_ref(), Some(&f));
                orders.push(f);
            }
            (Read::Return(f), Event::Return(r)) => {
                assert_eq!(
                    (&f.order_id, f.requested_at, &f.status, f.label),
                    (&r.order_id, r.at, &r.status, r.label),
                    "{line}"
                );
                let ReturnBody::Value(value) = &r.body else {
                    panic!("the reference keeps the value");
                };
                // Joined with its own order, and with others.
                let own = orders.iter().filter(|o| o.id == f.order_id);
                for order in own.chain(orders.iter().rev().take(3)) {
                    if let Some(joined) = join(&f, order) {
                        assert_eq!(
                            Ok(joined),
                            parse_return_with(value, "", order, super::super::events::RETURN_LINE),
                            "{line}"
                        );
                    }
                }
            }
            _ => panic!("the fast path and the reference read different kinds of event: {line}"),
        }
        true
    }

    fn generated(customers: usize, days: u32, seed: u64) -> String {
        let opts = crate::generator::GenOptions {
            customers,
            days,
            seed,
            ..Default::default()
        };
        let mut out = Vec::new();
        crate::generator::generate(&opts, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn generated_streams_and_the_test_files() {
        let mut orders = Vec::new();
        let (mut lines, mut fast) = (0, 0);
        let files = [
            "tests/backtest/stream.jsonl",
            "tests/backtest/bad.jsonl",
            "tests/backtest/duplicate_keys.jsonl",
        ]
        .map(|f| std::fs::read_to_string(f).unwrap());
        for text in files.iter().map(String::as_str).chain([generated(30, 60, 7).as_str()]) {
            for line in text.lines() {
                lines += 1;
                fast += usize::from(same(line, &mut orders));
            }
        }
        assert!(fast * 10 > lines * 9, "the fast path took only {fast} of {lines} lines");
    }

    const KEYS: &[&str] = &[
        "event",
        "id",
        "created_at",
        "vip",
        "tags",
        "attrs",
        "customer_id",
        "currency",
        "placed_at",
        "paid_at",
        "shipped_at",
        "delivered_at",
        "shipping_fee",
        "shipping_insurance",
        "total",
        "items",
        "order_id",
        "requested_at",
        "type",
        "reason",
        "evidence",
        "status",
        "label",
        "sku",
        "category",
        "unit_price",
        "quantity",
        "condition",
        "other",
        "\u{0}",
    ];

    const VALUES: &[&str] = &[
        "null",
        "true",
        "false",
        "\"x\"",
        "\"\"",
        "0",
        "-0",
        "-1",
        "1",
        "3",
        "2.0",
        "1e2",
        "1e400",
        "-1e-400",
        "99999999999999999999",
        "9223372036854775807",
        "\"2026-10-01T00:00:00+08:00\"",
        "\"2026-10-01T00:00:00\"",
        "\"99999-01-01T00:00:00Z\"",
        "\"12.50\"",
        "\"-1.00\"",
        "\"1e3\"",
        "12.5",
        "\"abc\"",
        "[]",
        "{}",
        "[\"a\"]",
        "[null]",
        "{\"k\":1}",
        "{\"k\":[1]}",
        "{\"k\":1.5,\"j\":null,\"i\":\"s\"}",
        "\"CNY\"",
        "\"cny\"",
        "\"abuse\"",
        "\"ok\"",
        "\"refund_only\"",
        "\"exchange\"",
        "\"customer\"",
        "\"order\"",
        "\"return\"",
        "\"A\"",
        "\"B\"",
        "\"C-000001\"",
        "\"\\u0041\"",
        "[{\"sku\":\"A\",\"quantity\":1}]",
        "[{\"sku\":\"A\",\"quantity\":1},{\"sku\":\"A\",\"quantity\":1}]",
        "[{\"sku\":\"A\",\"category\":\"c\",\"unit_price\":\"79228162514264337593543950335\",\"quantity\":2}]",
        "[[\"A\",\"c\",\"1.00\",1]]",
    ];

    /// A random change to one object of the event: a key set, removed, or
    /// given twice; or the line's text cut short or escaped.
    fn mutate(rng: &mut Rng, line: &str) -> String {
        let Ok(mut v) = serde_json::from_str::<Value>(line) else {
            return line.to_string();
        };
        let value = serde_json::from_str::<Value>(VALUES[rng.index(VALUES.len())]).unwrap();
        let key = KEYS[rng.index(KEYS.len())].to_string();
        // The object to change: the event, or one of its items.
        let items = v.get("items").and_then(Value::as_array).map_or(0, Vec::len);
        let item = (items > 0 && rng.index(3) == 0).then(|| rng.index(items));
        let target = match item {
            Some(i) => &mut v["items"][i],
            None => &mut v,
        };
        match rng.index(6) {
            0 => {
                if let Some(o) = target.as_object_mut() {
                    o.remove(&key);
                }
            }
            1 => {
                // The key again, in the text: serde_json's map would merge it.
                let text = v.to_string();
                let at = text.match_indices('{').map(|(i, _)| i).collect::<Vec<_>>();
                let i = at[rng.index(at.len())] + 1;
                return format!("{}\"{key}\":{value},{}", &text[..i], &text[i..]);
            }
            2 => {
                let text = v.to_string();
                let cut = rng.index(text.len());
                return text[..cut].to_string();
            }
            3 => {
                // A key spelled with an escape.
                let text = v.to_string();
                return text.replacen("\"id\"", "\"\\u0069d\"", 1);
            }
            _ => {
                if let Some(o) = target.as_object_mut() {
                    o.insert(key, value);
                }
            }
        }
        v.to_string()
    }

    #[test]
    fn mutated_lines() {
        let text = generated(20, 40, 11);
        let valid: Vec<&str> = text.lines().collect();
        let mut orders = Vec::new();
        // The stream's own orders first, so returns have theirs to join with.
        for line in &valid {
            same(line, &mut orders);
        }
        let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15, 0);
        let (mut fast, mut refused) = (0, 0);
        for _ in 0..10_000 {
            let pick = rng.index(valid.len());
            let line = mutate(&mut rng, valid[pick]);
            let line = if rng.index(4) == 0 {
                mutate(&mut rng, &line)
            } else {
                line
            };
            if same(&line, &mut orders) {
                fast += 1;
            } else {
                refused += 1;
            }
        }
        assert!(fast > 1_000 && refused > 1_000, "fast {fast}, refused {refused}");
    }
}
