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

use rust_decimal::Decimal;
use serde::Deserialize;

use super::events::{CANCELLED, DELIVERED, Label, OrderUpdate, PAID, SHIPPED, Stamp};
use crate::data::typed::{At, Item, LineAttrs, Money, Obj, Opt, OrderFields};
use crate::data::{Attrs, Customer, Order, RETURN_TYPES, Return, repeated_sku};
use crate::ir::schema::RETURN_STATUSES;
use crate::limits::MAX_LINES;

/// What the `event` key says.
#[derive(Deserialize, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum EventKind {
    Customer,
    Order,
    OrderUpdate,
    Return,
}

/// A return's label: anything else is for the reference to word.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum LabelWord {
    Abuse,
    Ok,
}

/// Every field of the four events, flat, so `event` may come anywhere in
/// the line.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
struct Line {
    event: Opt<EventKind>,
    id: Opt<String>,
    // customer
    created_at: Opt<At>,
    vip: Opt<bool>,
    // customer and order
    tags: Opt<Vec<String>>,
    attrs: Opt<LineAttrs>,
    // order
    customer_id: Opt<String>,
    merchant_id: Opt<String>,
    currency: Opt<String>,
    placed_at: Opt<At>,
    paid_at: Opt<At>,
    shipped_at: Opt<At>,
    delivered_at: Opt<At>,
    shipping_fee: Opt<Money>,
    shipping_insurance: Opt<bool>,
    total: Opt<Money>,
    items: Opt<Vec<Obj<Item>>>,
    // order and order_update
    cancelled_at: Opt<At>,
    // order_update
    at: Opt<At>,
    // return
    order_id: Opt<String>,
    requested_at: Opt<At>,
    #[serde(rename = "type")]
    kind: Opt<String>,
    reason: Opt<String>,
    evidence: Opt<Vec<String>>,
    status: Opt<String>,
    label: Opt<LabelWord>,
}

impl Line {
    /// Whether the line has a key (even `null`) no event of `kind` takes.
    fn foreign(&self, kind: EventKind) -> bool {
        let customer = self.created_at.given() || self.vip.given();
        let order = self.customer_id.given()
            || self.merchant_id.given()
            || self.currency.given()
            || self.placed_at.given()
            || self.shipping_fee.given()
            || self.shipping_insurance.given()
            || self.total.given();
        let times = self.paid_at.given() || self.shipped_at.given() || self.delivered_at.given();
        let update = self.at.given();
        let ret = self.order_id.given()
            || self.requested_at.given()
            || self.kind.given()
            || self.reason.given()
            || self.evidence.given()
            || self.status.given()
            || self.label.given();
        let described = self.tags.given() || self.attrs.given();
        let items = self.items.given();
        let cancelled = self.cancelled_at.given();
        match kind {
            EventKind::Customer => order || times || update || ret || items || cancelled,
            EventKind::Order => customer || update || ret,
            EventKind::OrderUpdate => customer || order || ret || described || items,
            EventKind::Return => customer || order || times || update || cancelled || self.tags.given(),
        }
    }
}

/// A return as far as it can be read without its order.
#[derive(Debug, Clone, PartialEq)]
pub struct RawReturn {
    pub id: String,
    pub order_id: String,
    pub requested_at: Stamp,
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
    /// The order, its `placed_at` as written, and its `paid_at`,
    /// `shipped_at`, `delivered_at` and `cancelled_at` as written.
    Order(Order, Stamp, [Option<Stamp>; 4]),
    OrderUpdate(OrderUpdate),
    Return(RawReturn),
}

/// Reads one event line, or `None` where the reference must look at it.
pub fn parse(line: &str) -> Option<Read> {
    // The byte-order mark, leading blanks and such: the reference decides.
    if !line.starts_with('{') {
        return None;
    }
    let Obj(l) = serde_json::from_str::<Obj<Line>>(line).ok()?;
    let kind = match l.event {
        Opt::Is(kind) => kind,
        _ => return None,
    };
    if l.foreign(kind) {
        return None;
    }
    match kind {
        EventKind::Customer => customer(l).map(Read::Customer),
        EventKind::Order => order(l),
        EventKind::OrderUpdate => update(l).map(Read::OrderUpdate),
        EventKind::Return => ret(l).map(Read::Return),
    }
}

fn customer(l: Line) -> Option<Customer> {
    Some(Customer {
        id: l.id.get()?,
        created_at: l.created_at.get().map(|t| t.0.to_utc()),
        vip: l.vip.get().unwrap_or_default(),
        tags: l.tags.get().unwrap_or_default(),
        attrs: l.attrs.get().map(|a| a.0).unwrap_or_default(),
        restrictions: Vec::new(),
        restricted: Vec::new(),
    })
}

fn order(l: Line) -> Option<Read> {
    let cancelled = l.cancelled_at.get().map(|t| t.0);
    let fields = OrderFields {
        id: l.id,
        customer_id: l.customer_id,
        merchant_id: l.merchant_id,
        currency: l.currency,
        placed_at: l.placed_at,
        paid_at: l.paid_at,
        shipped_at: l.shipped_at,
        delivered_at: l.delivered_at,
        total: l.total,
        shipping_fee: l.shipping_fee,
        shipping_insurance: l.shipping_insurance,
        tags: l.tags,
        attrs: l.attrs,
        items: l.items,
    };
    let (order, placed, [paid, shipped, delivered]) = crate::data::typed::order(fields)?;
    if cancelled.is_some_and(|c| c < placed) {
        return None;
    }
    let mut times = [None; 4];
    times[PAID] = paid;
    times[SHIPPED] = shipped;
    times[DELIVERED] = delivered;
    times[CANCELLED] = cancelled;
    Some(Read::Order(order, placed, times))
}

fn update(l: Line) -> Option<OrderUpdate> {
    let at = l.at.get()?.0;
    let mut times = [None; 4];
    for (slot, given) in times
        .iter_mut()
        .zip([l.paid_at, l.shipped_at, l.delivered_at, l.cancelled_at])
    {
        match given {
            Opt::Absent => {}
            Opt::Null => return None,
            Opt::Is(t) if t.0 > at => return None,
            Opt::Is(t) => *slot = Some(t.0),
        }
    }
    if times.iter().all(Option::is_none) {
        return None;
    }
    Some(OrderUpdate {
        id: l.id.get()?,
        at,
        times,
    })
}

fn ret(l: Line) -> Option<RawReturn> {
    let kind = l.kind.get()?;
    if !RETURN_TYPES.contains(&kind.as_str()) {
        return None;
    }
    let status = l.status.get();
    if status.as_ref().is_some_and(|s| !RETURN_STATUSES.contains(&s.as_str())) {
        return None;
    }
    let label = l.label.get().map(|w| match w {
        LabelWord::Abuse => Label::Abuse,
        LabelWord::Ok => Label::Ok,
    });
    let raw = l.items.get()?;
    if raw.is_empty() || raw.len() > MAX_LINES {
        return None;
    }
    let items = raw
        .into_iter()
        .map(|Obj(i)| {
            // An order line's keys: the return's reader would refuse them.
            if i.category.given() || i.unit_price.given() {
                return None;
            }
            Some(RawLine {
                sku: i.sku.get()?,
                quantity: i.quantity.get()?.0,
                condition: i.condition.get(),
                tags: i.tags.get().unwrap_or_default(),
                attrs: i.attrs.get().map(|a| a.0).unwrap_or_default(),
            })
        })
        .collect::<Option<Vec<_>>>()?;
    if repeated_sku(items.len(), |i| items[i].sku.as_str()).is_some() {
        return None;
    }
    Some(RawReturn {
        id: l.id.get()?,
        order_id: l.order_id.get()?,
        requested_at: l.requested_at.get()?.0,
        kind,
        reason: l.reason.get()?,
        evidence: l.evidence.get().unwrap_or_default(),
        attrs: l.attrs.get().map(|a| a.0).unwrap_or_default(),
        items,
        status,
        label,
    })
}

/// Joins a return's lines with its order's, as `data::parse_return` does;
/// `None` on any problem (a sku not on the order, too many returned, an
/// overflow), which the reference then words.
pub fn join(r: &RawReturn, order: &Order) -> Option<Return> {
    if !crate::data::requested_in_time(order, r.requested_at.to_utc()) {
        return None;
    }
    let mut amount = Decimal::ZERO;
    let mut items = Vec::with_capacity(r.items.len());
    for raw in &r.items {
        let line = crate::data::typed::return_line(
            order,
            raw.sku.clone(),
            raw.quantity,
            raw.condition.clone(),
            raw.tags.clone(),
            raw.attrs.clone(),
        )?;
        amount = amount.checked_add(line.amount)?;
        items.push(line);
    }
    Some(Return {
        id: r.id.clone(),
        requested_at: r.requested_at.to_utc(),
        kind: r.kind.clone(),
        reason: r.reason.clone(),
        evidence: r.evidence.clone(),
        attrs: r.attrs.clone(),
        items,
        amount,
        offset: *r.requested_at.offset(),
        reviews: Vec::new(),
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
            (Read::Customer(f), Event::Customer(r, raw)) => {
                assert_eq!(f, *r, "{line}");
                assert_eq!(&*raw, line);
            }
            (Read::Order(f, placed, times), Event::Order(r)) => {
                assert_eq!(f, r.order, "{line}");
                assert_eq!((placed, times), (r.placed, r.times), "{line}");
                // Offsets too, for messages.
                assert_eq!(placed.offset(), r.placed.offset(), "{line}");
                assert_eq!(&*r.line, line);
                assert_eq!(crate::backtest::events::order_from_line(line).as_ref(), Ok(&f));
                orders.push(f);
            }
            (Read::OrderUpdate(f), Event::OrderUpdate(r)) => {
                assert_eq!(f, *r, "{line}");
                assert_eq!(f.at.offset(), r.at.offset(), "{line}");
            }
            (Read::Return(f), Event::Return(r)) => {
                assert_eq!(
                    (r.id(), &f.order_id, f.requested_at, &f.status, f.label),
                    (f.id.as_str(), &r.order_id, r.at, &r.status, r.label),
                    "{line}"
                );
                assert_eq!(f.requested_at.offset(), r.at.offset(), "{line}");
                let ReturnBody::Value(value) = &r.body else {
                    panic!("the reference keeps the value");
                };
                // Joined with its own order, and with others.
                let own = orders.iter().filter(|o| o.id == f.order_id);
                for order in own.chain(orders.iter().rev().take(3)) {
                    if let Some(joined) = join(&f, order) {
                        let own = ["event", "order_id", "status", "label"];
                        assert_eq!(Ok(joined), parse_return_with(value, "", order, &own), "{line}");
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
            "tests/backtest/updates.jsonl",
            "tests/backtest/bad_events.jsonl",
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
        "merchant_id",
        "currency",
        "placed_at",
        "paid_at",
        "shipped_at",
        "delivered_at",
        "shipping_fee",
        "shipping_insurance",
        "total",
        "cancelled_at",
        "at",
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
        "\"2026-09-01T00:00:00Z\"",
        "\"2027-01-01T00:00:00-05:00\"",
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
        "\"order_update\"",
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
