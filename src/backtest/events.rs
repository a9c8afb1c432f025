//! One line of an event stream (docs/language.md §11) -> a typed event, or the reason it
//! cannot be one, with the JSON path of the problem.
//!
//! Lines go first to the fast path (`typed_line.rs`), which reads clean lines
//! straight into typed structs; whatever it cannot vouch for comes to the
//! validating parser here, the reference, which words every error.

use serde_json::Value;

use super::typed_line::{self, RawReturn};
use crate::data::json::{err, string, time};
use crate::data::{
    Customer, InputError, Order, Return, Time, parse_customer_with, parse_order_with, parse_return_with,
};

/// The keys a line adds to the case object it carries.
const CUSTOMER_LINE: &[&str] = &["event"];
const ORDER_LINE: &[&str] = &["event"];
pub(super) const RETURN_LINE: &[&str] = &["event", "order_id", "status", "label"];

/// A return's own label, for precision and recall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Label {
    /// The return is known abuse.
    Abuse,
    /// The return is known to be fine.
    Ok,
}

/// A return event, parsed as far as it can be without its order.
#[derive(Debug)]
pub struct ReturnEvent {
    pub order_id: String,
    pub at: Time,
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
    /// The return, its lines joined with `order`'s, exactly as
    /// `data::parse_return` reads the event.
    pub fn join(&self, order: &Order) -> Result<Return, InputError> {
        match &self.body {
            ReturnBody::Value(value) => parse_return_with(value, "", order, RETURN_LINE),
            ReturnBody::Typed(raw, line) => match typed_line::join(raw, order) {
                Some(ret) => Ok(ret),
                // Something is wrong: the reference says what, and where.
                None => {
                    let value: Value = serde_json::from_str(line).map_err(not_json)?;
                    parse_return_with(&value, "", order, RETURN_LINE)
                }
            },
        }
    }
}

#[derive(Debug)]
pub enum Event {
    Customer(Box<Customer>),
    /// The order, and its line: kept as text until a return needs it,
    /// which takes a third of the memory of the parsed order.
    Order(Box<Order>, Box<str>),
    Return(Box<ReturnEvent>),
}

impl Event {
    /// When the event happens in the stream: an order at `placed_at`, a
    /// return at `requested_at`. A customer profile has no place in time.
    pub fn at(&self) -> Option<Time> {
        match self {
            Event::Customer(_) => None,
            Event::Order(o, _) => Some(o.placed_at),
            Event::Return(r) => Some(r.at),
        }
    }
}

fn not_json(e: serde_json::Error) -> InputError {
    err("", format!("not JSON: {e}"))
}

/// Parses one line of the stream.
pub fn parse_event(line: &str) -> Result<Event, InputError> {
    match typed_line::parse(line) {
        Some(typed_line::Read::Customer(c)) => Ok(Event::Customer(Box::new(c))),
        Some(typed_line::Read::Order(o)) => Ok(Event::Order(Box::new(o), line.into())),
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
    let kind = obj
        .get("event")
        .ok_or_else(|| err("event", "missing (customer, order or return)"))?;
    match kind.as_str() {
        Some("customer") => Ok(Event::Customer(Box::new(parse_customer_with(
            &value,
            "",
            None,
            CUSTOMER_LINE,
        )?))),
        Some("order") => Ok(Event::Order(
            Box::new(parse_order_with(&value, "", ORDER_LINE)?),
            line.into(),
        )),
        Some("return") => {
            let field = |k: &str| obj.get(k).ok_or_else(|| err(k, "missing"));
            let order_id = string(field("order_id")?, "order_id")?;
            let at = time(field("requested_at")?, "requested_at")?;
            let status = match obj.get("status") {
                None | Some(Value::Null) => None,
                Some(v) => Some(string(v, "status")?),
            };
            let label = match obj.get("label") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_str() {
                    Some("abuse") => Some(Label::Abuse),
                    Some("ok") => Some(Label::Ok),
                    _ => return Err(err("label", format!("expected \"abuse\" or \"ok\", found {v}"))),
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
        _ => Err(err(
            "event",
            format!("expected \"customer\", \"order\" or \"return\", found {kind}"),
        )),
    }
}
