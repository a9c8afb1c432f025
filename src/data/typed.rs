//! Typed readers' pieces: serde straight into typed values, with no
//! `serde_json::Value` tree in between and no JSON paths computed, for the
//! fast paths that read a backtest's event lines (`backtest::typed_line`)
//! and a case (`typed_case`). A fast path only ever answers "here it is" or
//! "I cannot tell": every problem, and anything unusual (a key it does not
//! know, a key given twice, a number where it expects text, …) makes it give
//! up, and the validating reader, which stays the reference and alone words
//! errors, reads the input instead.

use std::fmt;

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor, value::MapAccessDeserializer};
use serde_json::Value;

use super::json::{attrs, money, quantity};
use super::{Attrs, Order, OrderItem, ReturnLine, is_currency_code, order_holds, order_total, repeated_sku};
use crate::limits::MAX_LINES;

/// A time as written: its instant and its offset.
pub(crate) type Stamp = DateTime<FixedOffset>;

/// A JSON object, and only an object: serde's derived structs also accept an
/// array of their fields in order, which the reference refuses.
pub(crate) struct Obj<T>(pub T);

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

/// A key as the line gives it: absent, `null`, or a value. Optional fields
/// read "absent or null" as not given, as the reference does; a key of
/// another kind of event makes the fast path give up even when it is `null`,
/// since the case readers refuse keys they do not know.
#[derive(Default)]
pub(crate) enum Opt<T> {
    #[default]
    Absent,
    Null,
    Is(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Opt<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Option::<T>::deserialize(d).map(|v| v.map_or(Opt::Null, Opt::Is))
    }
}

impl<T> Opt<T> {
    pub fn get(self) -> Option<T> {
        match self {
            Opt::Is(v) => Some(v),
            _ => None,
        }
    }

    pub fn given(&self) -> bool {
        !matches!(self, Opt::Absent)
    }
}

/// An RFC 3339 time with an offset, read as `data::json::time` reads it,
/// keeping the offset for messages.
pub(crate) struct At(pub Stamp);

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
                    .map(At)
                    .map_err(|_| E::custom("not a time"))
            }
        }
        d.deserialize_str(V)
    }
}

/// An amount, read by the reference's own reader (`data::json::money`).
pub(crate) struct Money(pub Decimal);

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        money(&v, "").map(Money).map_err(|_| de::Error::custom("not an amount"))
    }
}

/// A quantity, read by the reference's own reader (`data::json::quantity`).
pub(crate) struct Quantity(pub i64);

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
pub(crate) struct LineAttrs(pub Attrs);

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

/// An order's line or a return's: the fields of both. Unknown keys, and
/// known keys given twice, are errors (serde's derive refuses the latter).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct Item {
    pub sku: Opt<String>,
    pub category: Opt<String>,
    pub unit_price: Opt<Money>,
    pub quantity: Opt<Quantity>,
    pub condition: Opt<String>,
    pub tags: Opt<Vec<String>>,
    pub attrs: Opt<LineAttrs>,
}

/// An order's fields as given, in a case's `order` or an `order` event.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct OrderFields {
    pub id: Opt<String>,
    pub customer_id: Opt<String>,
    pub merchant_id: Opt<String>,
    pub currency: Opt<String>,
    pub placed_at: Opt<At>,
    pub paid_at: Opt<At>,
    pub shipped_at: Opt<At>,
    pub delivered_at: Opt<At>,
    pub total: Opt<Money>,
    pub shipping_fee: Opt<Money>,
    pub shipping_insurance: Opt<bool>,
    pub tags: Opt<Vec<String>>,
    pub attrs: Opt<LineAttrs>,
    pub items: Opt<Vec<Obj<Item>>>,
}

/// The order, its `placed_at` as written and its `paid_at`, `shipped_at`
/// and `delivered_at` as written; `None` on anything the validating reader
/// (`parse_order_with`) would refuse.
pub(crate) fn order(o: OrderFields) -> Option<(Order, Stamp, [Option<Stamp>; 3])> {
    let currency = o.currency.get()?;
    if !is_currency_code(&currency) {
        return None;
    }
    let raw = o.items.get()?;
    if raw.is_empty() || raw.len() > MAX_LINES {
        return None;
    }
    let items = raw
        .into_iter()
        .map(|Obj(i)| {
            // A returned line's key: the order's reader refuses it.
            if i.condition.given() {
                return None;
            }
            Some(OrderItem {
                sku: i.sku.get()?,
                category: i.category.get()?,
                unit_price: i.unit_price.get()?.0,
                quantity: i.quantity.get()?.0,
                tags: i.tags.get().unwrap_or_default(),
                attrs: i.attrs.get().map(|a| a.0).unwrap_or_default(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    if repeated_sku(items.len(), |i| items[i].sku.as_str()).is_some() {
        return None;
    }
    let shipping_fee = o.shipping_fee.get().map(|m| m.0).unwrap_or_default();
    let total = match o.total.get() {
        Some(t) => t.0,
        None => order_total(&items, shipping_fee).ok()?,
    };
    let placed = o.placed_at.get()?.0;
    let times = [
        o.paid_at.get().map(|t| t.0),
        o.shipped_at.get().map(|t| t.0),
        o.delivered_at.get().map(|t| t.0),
    ];
    let order = Order {
        id: o.id.get()?,
        customer_id: o.customer_id.get()?,
        merchant_id: o.merchant_id.get(),
        currency,
        placed_at: placed.to_utc(),
        paid_at: times[0].map(|t| t.to_utc()),
        shipped_at: times[1].map(|t| t.to_utc()),
        delivered_at: times[2].map(|t| t.to_utc()),
        total,
        shipping_fee,
        shipping_insurance: o.shipping_insurance.get().unwrap_or_default(),
        tags: o.tags.get().unwrap_or_default(),
        attrs: o.attrs.get().map(|a| a.0).unwrap_or_default(),
        items,
    };
    // Times out of order, amounts finer than the currency: the reference words it.
    order_holds(&order).then_some((order, placed, times))
}

/// A returned line joined with its order's line, as `parse_return_line`
/// joins it: the order line's category, price and tags, the returned
/// line's own attributes over the order line's; `None` on a sku not on the
/// order, more returned than ordered, or an overflow, which the validating
/// reader words.
pub(crate) fn return_line(
    order: &Order,
    sku: String,
    quantity: i64,
    condition: Option<String>,
    own_tags: Vec<String>,
    mut attrs: Attrs,
) -> Option<ReturnLine> {
    // Skus on an order are distinct, so the first match is the one.
    let line = order.items.iter().find(|l| l.sku == sku)?;
    if quantity > line.quantity {
        return None;
    }
    let amount = line.unit_price.checked_mul(Decimal::from(quantity))?;
    let mut tags = line.tags.clone();
    tags.extend(own_tags);
    let own = attrs.len();
    for (name, value) in &line.attrs {
        if !attrs[..own].iter().any(|(mine, _)| mine == name) {
            attrs.push((name.clone(), value.clone()));
        }
    }
    Some(ReturnLine {
        sku,
        category: line.category.clone(),
        unit_price: line.unit_price,
        quantity,
        ordered_quantity: line.quantity,
        amount,
        condition: condition.unwrap_or_else(|| "unknown".into()),
        tags,
        attrs,
        inspection: None,
    })
}
