//! One line of an event stream (docs/language.md §11) -> a typed event, or the reason it
//! cannot be one, with the JSON path of the problem.
//!
//! Lines go first to the fast path (`typed_line.rs`), which reads clean lines
//! straight into typed structs; whatever it cannot vouch for comes to the
//! validating parser here, the reference, which words every error.
//!
//! An event's own keys (`event`, a return's `order_id`, `status` and `label`,
//! an order's `cancelled_at`, every key of an `order_update`) are read here;
//! the rest of the line goes to the case readers (`data::parse_order`,
//! `parse_return`, `parse_customer`), which hold it to what a case is.

use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

use super::typed_line::{self, RawReturn};
use crate::data::json::{err, quote, show, string, time};
use crate::data::{
    Customer, InputError, Inspection, Order, Return, ReviewDecision, parse_customer_with, parse_inspection,
    parse_order_with, parse_return_with, parse_review_with,
};
use crate::ir::schema::RETURN_STATUSES;

/// A time as the input gave it: the instant, and the offset it was written
/// in, so that messages quote it as the input did.
pub type Stamp = DateTime<FixedOffset>;

/// `2026-11-11T09:00:00+08:00`, or `…Z` for UTC: a time as messages quote it.
pub fn shown(t: Stamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// The kinds of event, as the `event` key names them.
pub const KINDS: [&str; 6] = [
    "customer",
    "order",
    "order_update",
    "return",
    "review_decision",
    "inspection",
];

/// The times an `order_update` may set, in this order everywhere
/// ([`OrderUpdate::times`], the shard's known times).
pub const UPDATE_TIMES: [&str; 4] = ["paid_at", "shipped_at", "delivered_at", "cancelled_at"];
pub const PAID: usize = 0;
pub const SHIPPED: usize = 1;
pub const DELIVERED: usize = 2;
pub const CANCELLED: usize = 3;

/// A return's own label, for precision and recall.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Label {
    /// The return is known abuse.
    Abuse,
    /// The return is known to be fine.
    Ok,
}

/// An order event: the order as a case reads it, and what only the stream has.
#[derive(Debug)]
pub struct OrderEvent {
    pub order: Order,
    /// The line, kept as text until a return needs the order, which takes
    /// well under half the memory of the parsed order.
    pub line: Box<str>,
    /// `placed_at` as written: the event's place in time.
    pub placed: Stamp,
    /// `paid_at`, `shipped_at`, `delivered_at` as written, and `cancelled_at`
    /// (which a case has no field for yet).
    pub times: [Option<Stamp>; 4],
}

/// A change to an order after it was placed: times it sets, known from `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderUpdate {
    /// The order's id.
    pub id: String,
    /// When the platform learned of the change: the event's place in time.
    pub at: Stamp,
    /// The times it sets, as [`UPDATE_TIMES`] names them; at least one.
    pub times: [Option<Stamp>; 4],
}

/// A return event, parsed as far as it can be without its order.
#[derive(Debug)]
pub struct ReturnEvent {
    pub order_id: String,
    /// `requested_at` as written.
    pub at: Stamp,
    pub status: Option<String>,
    pub label: Option<Label>,
    /// The rest, validated against its order later.
    pub body: ReturnBody,
}

/// A return's fields beyond those the stream itself needs.
#[derive(Debug)]
pub enum ReturnBody {
    /// Read by the fast path, with the line for the reference to word any
    /// problem found when joining it with its order.
    Typed(Box<RawReturn>, Box<str>),
    /// The whole event, as the reference read it.
    Value(Value),
}

impl ReturnEvent {
    /// The return's id (`""` where the line gives none a case would take:
    /// its reader words that).
    pub fn id(&self) -> &str {
        match &self.body {
            ReturnBody::Typed(raw, _) => &raw.id,
            ReturnBody::Value(value) => value.get("id").and_then(Value::as_str).unwrap_or_default(),
        }
    }

    /// The return, its lines joined with `order`'s, exactly as
    /// `data::parse_return` reads the event.
    pub fn join(&self, order: &Order) -> Result<Return, InputError> {
        match &self.body {
            ReturnBody::Value(value) => parse_return_with(value, "", order, &RETURN_OWN),
            ReturnBody::Typed(raw, line) => match typed_line::join(raw, order) {
                Some(ret) => Ok(ret),
                // Something is wrong: the reference says what, and where.
                None => {
                    let value: Value = serde_json::from_str(line).map_err(not_json)?;
                    parse_return_with(&value, "", order, &RETURN_OWN)
                }
            },
        }
    }

    /// The return as a case gives it (`return` in a case): the event
    /// without the stream's own keys.
    pub fn case_part(&self) -> Result<Value, InputError> {
        match &self.body {
            ReturnBody::Value(value) => Ok(without(value, &RETURN_OWN)),
            ReturnBody::Typed(_, line) => return_part(line),
        }
    }
}

/// A person's decision on a return in review (docs/language.md §11.17).
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewEvent {
    /// The return's id.
    pub return_id: String,
    /// `at` as written: the event's place in time.
    pub at: Stamp,
    /// The decision, who made it and why.
    pub decision: ReviewDecision,
}

/// What the warehouse found on one returned line (docs/language.md §11.17).
#[derive(Debug, Clone, PartialEq)]
pub struct InspectionEvent {
    /// The return's id.
    pub return_id: String,
    /// The line's sku.
    pub sku: String,
    /// `at` as written: the event's place in time.
    pub at: Stamp,
    /// The findings.
    pub found: Inspection,
}

#[derive(Debug)]
pub enum Event {
    /// The profile, and its line (what `--case` prints of the customer).
    Customer(Box<Customer>, Box<str>),
    Order(Box<OrderEvent>),
    OrderUpdate(Box<OrderUpdate>),
    Return(Box<ReturnEvent>),
    ReviewDecision(Box<ReviewEvent>),
    Inspection(Box<InspectionEvent>),
}

impl Event {
    /// When the event happens in the stream: an order at `placed_at`, an
    /// update, a review decision and an inspection at `at`, a return at `requested_at`. A customer profile has no
    /// place in time.
    pub fn at(&self) -> Option<Stamp> {
        match self {
            Event::Customer(..) => None,
            Event::Order(o) => Some(o.placed),
            Event::OrderUpdate(u) => Some(u.at),
            Event::Return(r) => Some(r.at),
            Event::ReviewDecision(d) => Some(d.at),
            Event::Inspection(i) => Some(i.at),
        }
    }
}

fn not_json(e: serde_json::Error) -> InputError {
    err("", format!("not JSON: {e}"))
}

/// Parses one line of the stream.
pub fn parse_event(line: &str) -> Result<Event, InputError> {
    match typed_line::parse(line) {
        Some(typed_line::Read::Customer(c)) => Ok(Event::Customer(Box::new(c), line.into())),
        Some(typed_line::Read::Order(order, placed, times)) => Ok(Event::Order(Box::new(OrderEvent {
            order,
            line: line.into(),
            placed,
            times,
        }))),
        Some(typed_line::Read::OrderUpdate(u)) => Ok(Event::OrderUpdate(Box::new(u))),
        Some(typed_line::Read::Return(r)) => Ok(Event::Return(Box::new(ReturnEvent {
            order_id: r.order_id.clone(),
            at: r.requested_at,
            status: r.status.clone(),
            label: r.label,
            body: ReturnBody::Typed(Box::new(r), line.into()),
        }))),
        None => parse_event_reference(line),
    }
}

/// The keys of each kind of event that are the stream's, not the case's.
const ORDER_OWN: [&str; 2] = ["event", "cancelled_at"];
const RETURN_OWN: [&str; 4] = ["event", "order_id", "status", "label"];
const CUSTOMER_OWN: [&str; 1] = ["event"];
const LIFE_OWN: [&str; 2] = ["event", "return_id"];
const INSPECTION_OWN: [&str; 3] = ["event", "return_id", "sku"];

/// Before any time an event may carry: a life event's times are held to its
/// return's request by the shard, which knows the return.
const EARLIEST: crate::data::Time = chrono::DateTime::<chrono::Utc>::MIN_UTC;

/// `value` (an object) without the keys in `own`.
fn without(value: &Value, own: &[&str]) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !own.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect::<Map<String, Value>>(),
        ),
        other => other.clone(),
    }
}

/// The text of a time the reference has accepted, with its offset.
fn stamp(v: &Value, path: &str) -> Result<Stamp, InputError> {
    time(v, path)?;
    v.as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .ok_or_else(|| err(path, format!("{} is not an RFC 3339 time with an offset", show(v))))
}

/// An optional time: missing or `null` is `None`, as in a case.
fn opt_stamp(obj: &Map<String, Value>, key: &str) -> Result<Option<Stamp>, InputError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => stamp(v, key).map(Some),
    }
}

/// A return line's `return` part, read again from its text.
fn return_part(line: &str) -> Result<Value, InputError> {
    let value: Value = serde_json::from_str(line).map_err(not_json)?;
    Ok(without(&value, &RETURN_OWN))
}

/// An order line's `order` part, as a case gives it.
pub fn order_part(line: &str) -> Result<Value, InputError> {
    let value: Value = serde_json::from_str(line).map_err(not_json)?;
    Ok(without(&value, &ORDER_OWN))
}

/// A customer line's `customer` part, as a case gives it.
pub fn customer_part(line: &str) -> Result<Value, InputError> {
    let value: Value = serde_json::from_str(line).map_err(not_json)?;
    Ok(without(&value, &CUSTOMER_OWN))
}

/// An order as a shard reads its stored line again, for a return.
pub fn order_from_line(line: &str) -> Result<Order, InputError> {
    if let Some(typed_line::Read::Order(order, _, _)) = typed_line::parse(line) {
        return Ok(order);
    }
    let value: Value = serde_json::from_str(line).map_err(not_json)?;
    parse_order_with(&value, "", &ORDER_OWN)
}

fn line_times(value: &Value) -> Result<(Stamp, [Option<Stamp>; 4]), InputError> {
    let obj = value.as_object().ok_or_else(|| err("", "an event is a JSON object"))?;
    let placed = stamp(obj.get("placed_at").unwrap_or(&Value::Null), "placed_at")?;
    let mut times = [None; 4];
    for (slot, key) in times.iter_mut().zip(UPDATE_TIMES) {
        *slot = opt_stamp(obj, key)?;
    }
    Ok((placed, times))
}

/// Parses one line of the stream with every check, and words what is wrong.
pub fn parse_event_reference(line: &str) -> Result<Event, InputError> {
    let value: Value = serde_json::from_str(line).map_err(not_json)?;
    // serde_json keeps the last of a key given twice; another reader of the
    // same stream might keep the first, so the line is refused, as a case is.
    // The case parser's own check, so a line is held to what a case is.
    if let Some(problem) = crate::data::text::scan(line) {
        return Err(err(&problem.path, problem.message));
    }
    let Some(obj) = value.as_object() else {
        return Err(err("", "an event is a JSON object"));
    };
    let kind = obj.get("event").ok_or_else(|| {
        err(
            "event",
            "missing (customer, order, order_update, return, review_decision or inspection)",
        )
    })?;
    match kind.as_str() {
        Some("customer") => Ok(Event::Customer(
            Box::new(parse_customer_with(&value, "", None, &CUSTOMER_OWN)?),
            line.into(),
        )),
        Some("order") => {
            let order = parse_order_with(&value, "", &ORDER_OWN)?;
            let (placed, times) = line_times(&value)?;
            if let Some(cancelled) = times[CANCELLED] {
                not_before_placed(cancelled, placed, "cancelled_at")?;
            }
            Ok(Event::Order(Box::new(OrderEvent {
                order,
                line: line.into(),
                placed,
                times,
            })))
        }
        Some("order_update") => parse_update(obj).map(|u| Event::OrderUpdate(Box::new(u))),
        Some("return") => {
            let field = |k: &str| obj.get(k).ok_or_else(|| err(k, "missing"));
            let order_id = string(field("order_id")?, "order_id")?;
            let at = stamp(field("requested_at")?, "requested_at")?;
            let status = match obj.get("status") {
                None | Some(Value::Null) => None,
                Some(v) => Some(status(string(v, "status")?)?),
            };
            let label = match obj.get("label") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_str() {
                    Some("abuse") => Some(Label::Abuse),
                    Some("ok") => Some(Label::Ok),
                    _ => return Err(err("label", format!("expected \"abuse\" or \"ok\", found {}", show(v)))),
                },
            };
            Ok(Event::Return(Box::new(ReturnEvent {
                order_id,
                at,
                status,
                label,
                body: ReturnBody::Value(value),
            })))
        }
        Some("review_decision") => {
            let return_id = string(
                obj.get("return_id").ok_or_else(|| err("return_id", "missing"))?,
                "return_id",
            )?;
            let at = stamp(obj.get("at").ok_or_else(|| err("at", "missing"))?, "at")?;
            // Whether it comes after the request is the shard's to say: it knows the return.
            let decision = parse_review_with(&value, "", EARLIEST, &LIFE_OWN)?;
            Ok(Event::ReviewDecision(Box::new(ReviewEvent {
                return_id,
                at,
                decision,
            })))
        }
        Some("inspection") => {
            let return_id = string(
                obj.get("return_id").ok_or_else(|| err("return_id", "missing"))?,
                "return_id",
            )?;
            let sku = string(obj.get("sku").ok_or_else(|| err("sku", "missing"))?, "sku")?;
            let at = stamp(obj.get("at").ok_or_else(|| err("at", "missing"))?, "at")?;
            let found = parse_inspection(&value, "", EARLIEST, &INSPECTION_OWN)?;
            Ok(Event::Inspection(Box::new(InspectionEvent {
                return_id,
                sku,
                at,
                found,
            })))
        }
        _ => {
            let mut message = format!(
                "expected \"customer\", \"order\", \"order_update\", \"return\", \"review_decision\" or \"inspection\", found {}",
                show(kind)
            );
            if let Some(near) = kind.as_str().and_then(|k| crate::diag::did_you_mean(k, KINDS)) {
                message.push_str(&format!("; did you mean {}?", quote(near)));
            }
            Err(err("event", message))
        }
    }
}

/// A return's own status: what later cases' history holds, so one of the
/// closed set a case's history takes.
fn status(word: String) -> Result<String, InputError> {
    if RETURN_STATUSES.contains(&word.as_str()) {
        return Ok(word);
    }
    let message = match crate::diag::did_you_mean(&word, RETURN_STATUSES.iter().copied()) {
        Some(near) => format!("{} is not a return status; did you mean {}?", quote(&word), quote(near)),
        None => format!(
            "{} is not a return status ({})",
            quote(&word),
            RETURN_STATUSES.join(", ")
        ),
    };
    Err(err("status", message))
}

/// The keys an `order_update` takes.
const UPDATE_KEYS: [&str; 7] = [
    "event",
    "id",
    "at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "cancelled_at",
];

/// An `order_update`: its own event, read strictly (every key known, each
/// time set no later than the update's `at`).
fn parse_update(obj: &Map<String, Value>) -> Result<OrderUpdate, InputError> {
    for key in obj.keys() {
        if !UPDATE_KEYS.contains(&key.as_str()) {
            let mut message = "unknown field".to_string();
            match crate::diag::did_you_mean(key, UPDATE_KEYS) {
                Some(near) => message.push_str(&format!("; did you mean {near}?")),
                None => message.push_str(&format!(
                    " (an order_update takes id, at and {})",
                    UPDATE_TIMES.join(", ")
                )),
            }
            return Err(err(key, message));
        }
    }
    let id = string(obj.get("id").ok_or_else(|| err("id", "missing"))?, "id")?;
    let at = stamp(obj.get("at").ok_or_else(|| err("at", "missing"))?, "at")?;
    let mut times = [None; 4];
    for (slot, key) in times.iter_mut().zip(UPDATE_TIMES) {
        match obj.get(key) {
            None => {}
            Some(Value::Null) => {
                return Err(err(
                    key,
                    "expected an RFC 3339 time, found null: an update sets times, it cannot clear one",
                ));
            }
            Some(v) => {
                let t = stamp(v, key)?;
                if t > at {
                    return Err(err(
                        key,
                        format!(
                            "{} is after the update's at ({}): an update reports what has happened",
                            shown(t),
                            shown(at)
                        ),
                    ));
                }
                *slot = Some(t);
            }
        }
    }
    if times.iter().all(Option::is_none) {
        return Err(err(
            "",
            format!("an order_update sets at least one of {}", UPDATE_TIMES.join(", ")),
        ));
    }
    Ok(OrderUpdate { id, at, times })
}

/// A time of an order may not come before the order was placed.
pub fn not_before_placed(t: Stamp, placed: Stamp, key: &str) -> Result<(), InputError> {
    if t < placed {
        return Err(err(
            key,
            format!("{} is before the order was placed ({})", shown(t), shown(placed)),
        ));
    }
    Ok(())
}
