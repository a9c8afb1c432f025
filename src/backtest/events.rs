//! One line of an event stream (SPEC §11) -> a typed event, or the reason it
//! cannot be one, with the JSON path of the problem.

use serde_json::Value;

use crate::data::json::{string, time};
use crate::data::{Customer, InputError, Order, Time, parse_customer, parse_order};

/// A return's own label, for precision and recall.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Abuse,
    Ok,
}

/// A return event, parsed as far as it can be without its order.
#[derive(Debug)]
pub struct ReturnEvent {
    pub order_id: String,
    pub at: Time,
    pub status: Option<String>,
    pub label: Option<Label>,
    /// The whole event: the return is validated against its order later.
    pub value: Value,
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

fn problem(e: InputError) -> String {
    if e.path.is_empty() {
        e.message
    } else {
        format!("{}: {}", e.path, e.message)
    }
}

/// Parses one line of the stream.
pub fn parse_event(line: &str) -> Result<Event, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Some(obj) = value.as_object() else {
        return Err("an event is a JSON object".into());
    };
    let kind = obj.get("event").ok_or("event: missing (customer, order or return)")?;
    match kind.as_str() {
        Some("customer") => Ok(Event::Customer(Box::new(
            parse_customer(&value, "", None).map_err(problem)?,
        ))),
        Some("order") => Ok(Event::Order(
            Box::new(parse_order(&value, "").map_err(problem)?),
            line.into(),
        )),
        Some("return") => {
            let field = |k: &str| obj.get(k).ok_or_else(|| format!("{k}: missing"));
            let order_id = string(field("order_id")?, "order_id").map_err(problem)?;
            let at = time(field("requested_at")?, "requested_at").map_err(problem)?;
            let status = match obj.get("status") {
                None | Some(Value::Null) => None,
                Some(v) => Some(string(v, "status").map_err(problem)?),
            };
            let label = match obj.get("label") {
                None | Some(Value::Null) => None,
                Some(v) => match v.as_str() {
                    Some("abuse") => Some(Label::Abuse),
                    Some("ok") => Some(Label::Ok),
                    _ => return Err(format!("label: expected \"abuse\" or \"ok\", found {v}")),
                },
            };
            Ok(Event::Return(Box::new(ReturnEvent {
                order_id,
                at,
                status,
                label,
                value,
            })))
        }
        _ => Err(format!(
            "event: expected \"customer\", \"order\" or \"return\", found {kind}"
        )),
    }
}
