//! Applying a batch of event lines to the store, in one write transaction,
//! exactly as `rpl backtest` replays them (docs/language.md §11): a customer
//! event replaces the profile, an order joins the customer's history, a
//! return is judged on the case built from what is stored — its order as it
//! was known at the request, the profile, every earlier order and return —
//! and then joins the history with its own status or the one its verdict
//! implies. Re-sending an order or a return already stored is accepted and
//! changes nothing; the same id with other content is a conflict.

use std::borrow::Cow;
use std::collections::BTreeMap;

use redb::{ReadableTable, WriteTransaction};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::errors::ApiError;
use super::live::Policies;
use super::store::{
    BY_TIME, CUSTOMER_ORDERS, CUSTOMER_RETURNS, CUSTOMERS, Decision, LATEST, Log, META, NEXT_DECISION, ORDERS,
    RESTRICTIONS, RETURNS, StoredOrder, StoredReturn, Tables, content_hash, micros, range_json, storage, without,
};
use crate::data::{Case, InputError, parse_case_value, parse_customer_with, parse_order_with};

/// The keys an event line adds to the object of its kind.
const CUSTOMER_LINE: &[&str] = &["event"];
const ORDER_LINE: &[&str] = &["event", "cancelled_at"];
const RETURN_LINE: &[&str] = &["event", "order_id", "status", "label"];

/// A verdict given while applying a batch, with its decision.
pub(super) struct Judged {
    /// The verdict as it is written everywhere: the same bytes as `rpl judge --compact`.
    pub verdict: Box<RawValue>,
    pub decision_id: u64,
    /// Its decision word, for the metrics.
    pub decision: String,
    /// A new decision, not a re-sent return's first one (the metrics count only these).
    pub fresh: bool,
}

/// What a batch came to.
pub(super) struct Applied {
    /// Lines accepted (re-sends included).
    pub accepted: usize,
    /// One per return line, in order.
    pub verdicts: Vec<Judged>,
    /// Events by kind, for the metrics.
    pub kinds: [u64; 3],
}

/// An event line made ready off the writer's thread: read, checked and
/// serialised as far as that needs no store, so that the one writer does
/// only what does.
pub(super) enum Ready {
    /// A profile, stored as sent (without `event`).
    Customer {
        id: String,
        profile: Vec<u8>,
    },
    Order(Box<ReadyOrder>),
    Update(Box<crate::backtest::OrderUpdate>),
    /// A return: its line, its text (the decision's input), id and content hash.
    Return {
        line: Value,
        text: String,
        id: String,
        hash: String,
    },
    Review {
        line: Value,
        text: String,
    },
    Inspection {
        line: Value,
        text: String,
    },
}

/// An order as it is stored, and as its customer's history lists it.
pub(super) struct ReadyOrder {
    id: String,
    customer_id: String,
    /// `placed_at`, in µs.
    at: i64,
    hash: String,
    /// The [`StoredOrder`]'s bytes.
    stored: Vec<u8>,
    /// The history's entry.
    past: Vec<u8>,
}

/// A batch made ready: its lines up to the first that is not, and that
/// line's error. Applying it applies the lines before the error first, so
/// that an earlier line's conflict is still the answer, as when each line
/// was read in turn.
pub(super) struct Batch {
    lines: Vec<(usize, Ready)>,
    error: Option<ApiError>,
}

impl Batch {
    /// Reads `lines` (numbered from 1 in the request) until one is bad.
    pub(super) fn prepare(lines: Vec<(usize, String)>) -> Batch {
        let mut ready = Vec::with_capacity(lines.len());
        for (number, text) in lines {
            match prepare(text) {
                Ok(line) => ready.push((number, line)),
                Err(e) => {
                    return Batch {
                        lines: ready,
                        error: Some(e.at_line(number)),
                    };
                }
            }
        }
        Batch {
            lines: ready,
            error: None,
        }
    }
}

fn prepare(text: String) -> Result<Ready, ApiError> {
    // The most common line, an order update, is read straight into its
    // type; one that does not read so (or only mentions an update) takes
    // the general path, which gives its errors.
    if text.len() <= crate::limits::MAX_CASE_BYTES
        && text.contains("\"order_update\"")
        && let Ok(crate::backtest::Event::OrderUpdate(u)) = crate::backtest::parse_event(&text)
    {
        return Ok(Ready::Update(u));
    }
    let line = crate::data::parse_json(&text).map_err(ApiError::input)?;
    let kind = line.get("event").and_then(Value::as_str).unwrap_or_default();
    match kind {
        "customer" => {
            let c = parse_customer_with(&line, "", None, CUSTOMER_LINE).map_err(ApiError::input)?;
            let profile = serde_json::to_vec(&without(&line, CUSTOMER_LINE)).map_err(storage)?;
            Ok(Ready::Customer { id: c.id, profile })
        }
        "order" => Ok(Ready::Order(Box::new(ready_order(&line)?))),
        "order_update" => match crate::backtest::parse_event(&text).map_err(ApiError::input)? {
            crate::backtest::Event::OrderUpdate(u) => Ok(Ready::Update(u)),
            _ => Err(ApiError::input(InputError::new("event", "expected an order_update"))),
        },
        "return" => {
            let id = match line.get("id").and_then(Value::as_str) {
                Some(id) => id.to_string(),
                None => return Err(ApiError::input(InputError::new("id", "missing, or not a string"))),
            };
            let hash = content_hash(&without(&line, &["event"]));
            Ok(Ready::Return { line, text, id, hash })
        }
        "review_decision" => Ok(Ready::Review { line, text }),
        "inspection" => Ok(Ready::Inspection { line, text }),
        _ => {
            // The reference reader words it (a missing or unknown kind, with did-you-mean).
            let e = match crate::backtest::word_event_error(&text) {
                Some(e) => e,
                None => InputError::new("event", "expected \"customer\", \"order\" or \"return\""),
            };
            Err(ApiError::input(e))
        }
    }
}

fn ready_order(line: &Value) -> Result<ReadyOrder, ApiError> {
    let o = parse_order_with(line, "", ORDER_LINE).map_err(ApiError::input)?;
    let body = without(line, ORDER_LINE);
    let hash = content_hash(&body);
    let stored = StoredOrder {
        customer_id: o.customer_id.clone(),
        hash: hash.clone(),
        order: body,
        updates: Default::default(),
    };
    let past = json!({
        "id": o.id,
        "placed_at": line.get("placed_at"),
        "total": o.total.to_string(),
        "tags": o.tags,
    });
    Ok(ReadyOrder {
        at: micros(o.placed_at),
        stored: serde_json::to_vec(&stored).map_err(storage)?,
        past: serde_json::to_vec(&past).map_err(storage)?,
        id: o.id,
        customer_id: o.customer_id,
        hash,
    })
}

/// Applies a prepared batch with the policies in force `live`; any error
/// leaves the transaction to be dropped.
pub(super) fn apply(t: &mut Tables, live: &Policies, batch: Batch, now: &str) -> Result<Applied, ApiError> {
    let mut applied = Applied {
        accepted: 0,
        verdicts: Vec::new(),
        kinds: [0; 3],
    };
    for (number, line) in batch.lines {
        let at = |e: ApiError| e.at_line(number);
        match line {
            Ready::Customer { id, profile } => {
                t.customers.insert(id.as_str(), profile.as_slice()).map_err(storage)?;
                applied.kinds[0] += 1;
            }
            Ready::Order(o) => {
                order(t, &o).map_err(at)?;
                applied.kinds[1] += 1;
            }
            Ready::Update(u) => {
                update(t, &u).map_err(at)?;
                applied.kinds[1] += 1;
            }
            Ready::Return { line, text, id, hash } => {
                let judged = ret(t, live, &line, &text, id, hash, now).map_err(at)?;
                applied.verdicts.push(judged);
                applied.kinds[2] += 1;
            }
            Ready::Review { line, text } => {
                let judged = super::life::review_line(t, &line, &text, now).map_err(at)?;
                applied.verdicts.push(judged);
                applied.kinds[2] += 1;
            }
            Ready::Inspection { line, text } => {
                let judged = super::life::inspection_line(t, live, &line, &text, now).map_err(at)?;
                applied.verdicts.push(judged);
                applied.kinds[2] += 1;
            }
        }
        applied.accepted += 1;
    }
    match batch.error {
        Some(e) => Err(e),
        None => Ok(applied),
    }
}

fn order(t: &mut Tables, o: &ReadyOrder) -> Result<(), ApiError> {
    if let Some(stored) = t.orders.get(o.id.as_str()).map_err(storage)? {
        let stored: StoredOrderText = serde_json::from_slice(stored.value()).map_err(storage)?;
        if stored.hash == o.hash {
            return Ok(());
        }
        return Err(ApiError::conflict("order", &o.id));
    }
    t.orders.insert(o.id.as_str(), o.stored.as_slice()).map_err(storage)?;
    let key = (o.customer_id.as_str(), o.at, o.id.as_str());
    t.customer_orders.insert(key, o.past.as_slice()).map_err(storage)?;
    remember(t, o.at, "o", &o.customer_id, &o.id)
}

/// A stored order as an update reads and rewrites it: the same JSON as
/// [`StoredOrder`], with the order's own text kept as it is (an update
/// changes only `updates`, and reads four times from the order).
#[derive(serde::Serialize, serde::Deserialize)]
struct StoredOrderText<'a> {
    #[serde(borrow)]
    customer_id: Cow<'a, str>,
    #[serde(borrow)]
    hash: Cow<'a, str>,
    #[serde(borrow)]
    order: &'a RawValue,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    updates: BTreeMap<String, (String, String)>,
}

/// The times an update is held to, as the stored order has them (any other
/// key is skipped, not read).
#[derive(serde::Deserialize)]
struct OrderTimes<'a> {
    #[serde(borrow)]
    placed_at: Option<&'a RawValue>,
    #[serde(borrow)]
    paid_at: Option<&'a RawValue>,
    #[serde(borrow)]
    shipped_at: Option<&'a RawValue>,
    #[serde(borrow)]
    delivered_at: Option<&'a RawValue>,
    #[serde(borrow)]
    cancelled_at: Option<&'a RawValue>,
}

impl OrderTimes<'_> {
    /// The order's own time under `key` (`placed_at` or one of `UPDATE_TIMES`), if it holds a valid one.
    fn own(&self, key: &str) -> Option<chrono::DateTime<chrono::FixedOffset>> {
        let raw = match key {
            "placed_at" => self.placed_at,
            "paid_at" => self.paid_at,
            "shipped_at" => self.shipped_at,
            "delivered_at" => self.delivered_at,
            "cancelled_at" => self.cancelled_at,
            _ => None,
        }?;
        let text: Cow<str> = serde_json::from_str(raw.get()).ok()?;
        chrono::DateTime::parse_from_rfc3339(&text).ok()
    }
}

/// An `order_update`: the times it sets join the order, each known from the
/// update's `at`, exactly as a backtest keeps them (docs/language.md §11): a
/// time once set cannot change (the same time again changes nothing), none is
/// before the order was placed, and a delivery is not before the shipping.
fn update(t: &mut Tables, u: &crate::backtest::OrderUpdate) -> Result<(), ApiError> {
    use crate::backtest::{UPDATE_TIMES, shown};
    let bytes = match t.orders.get(u.id.as_str()).map_err(storage)? {
        Some(v) => v.value().to_vec(),
        None => {
            let msg = format!(
                "order \"{}\" is unknown (never sent to this service, or forgotten)",
                u.id
            );
            return Err(ApiError::input(InputError::new("id", msg)));
        }
    };
    let mut stored: StoredOrderText = serde_json::from_slice(&bytes).map_err(storage)?;
    let own: OrderTimes = serde_json::from_str(stored.order.get()).map_err(storage)?;
    let placed = own
        .own("placed_at")
        .ok_or_else(|| ApiError::storage(format!("order {} has lost its placed_at", u.id)))?;
    let current = |stored: &StoredOrderText, key: &str| -> Option<chrono::DateTime<chrono::FixedOffset>> {
        match stored.updates.get(key) {
            Some((t, _)) => chrono::DateTime::parse_from_rfc3339(t).ok(),
            None => own.own(key),
        }
    };
    for (key, t) in UPDATE_TIMES.iter().zip(u.times) {
        let Some(t) = t else { continue };
        if t < placed {
            let msg = format!(
                "{} is before the order was placed ({})",
                shown(t),
                shown(placed.with_timezone(t.offset()))
            );
            return Err(ApiError::input(InputError::new(*key, msg)));
        }
        if let Some(before) = current(&stored, key)
            && before != t
        {
            let msg = format!(
                "{} again, but the order's {key} is {}: a time, once set, cannot change",
                shown(t),
                shown(before)
            );
            return Err(ApiError::input(InputError::new(*key, msg)));
        }
    }
    let after = |key: &str, i: usize| u.times[i].or_else(|| current(&stored, key));
    if let (Some(shipped), Some(delivered)) = (after("shipped_at", 1), after("delivered_at", 2))
        && delivered < shipped
    {
        let msg = format!(
            "{} is before the order was shipped ({})",
            shown(delivered),
            shown(shipped)
        );
        return Err(ApiError::input(InputError::new("delivered_at", msg)));
    }
    let since = shown(u.at);
    for (key, t) in UPDATE_TIMES.iter().zip(u.times) {
        if let Some(t) = t
            && current(&stored, key).is_none()
        {
            stored.updates.insert((*key).to_string(), (shown(t), since.clone()));
        }
    }
    t.orders
        .insert(u.id.as_str(), serde_json::to_vec(&stored).map_err(storage)?.as_slice())
        .map_err(storage)?;
    t.advance_clock(micros(u.at.to_utc()))
}

/// Files an order or a return under its time, for retention, and moves the
/// stream's clock on.
fn remember(t: &mut Tables, at: i64, kind: &str, customer: &str, id: &str) -> Result<(), ApiError> {
    t.by_time.insert((at, kind, customer, id), ()).map_err(storage)?;
    t.advance_clock(at)
}

/// Forgets orders and returns older than `keep` seconds before the latest
/// event time, at most `max` of them; says how many went. Decisions stay.
pub(super) fn forget(tx: &WriteTransaction, keep: i64, max: usize) -> Result<usize, ApiError> {
    let latest = {
        let meta = tx.open_table(META).map_err(storage)?;
        meta.get(LATEST).map_err(storage)?.map_or(0, |v| v.value() as i64)
    };
    let cutoff = latest.saturating_sub(keep.saturating_mul(1_000_000));
    let mut by_time = tx.open_table(BY_TIME).map_err(storage)?;
    let mut old: Vec<(i64, String, String, String)> = Vec::new();
    for entry in by_time.range(..(cutoff, "", "", "")).map_err(storage)?.take(max) {
        let (k, _) = entry.map_err(storage)?;
        let (at, kind, customer, id) = k.value();
        old.push((at, kind.to_string(), customer.to_string(), id.to_string()));
    }
    if old.is_empty() {
        // Most commits: nothing has aged out, and no other table is opened.
        return Ok(0);
    }
    let mut orders = tx.open_table(ORDERS).map_err(storage)?;
    let mut returns = tx.open_table(RETURNS).map_err(storage)?;
    let mut customer_orders = tx.open_table(CUSTOMER_ORDERS).map_err(storage)?;
    let mut customer_returns = tx.open_table(CUSTOMER_RETURNS).map_err(storage)?;
    for (at, kind, customer, id) in &old {
        by_time
            .remove((*at, kind.as_str(), customer.as_str(), id.as_str()))
            .map_err(storage)?;
        if kind == "o" {
            orders.remove(id.as_str()).map_err(storage)?;
            customer_orders
                .remove((customer.as_str(), *at, id.as_str()))
                .map_err(storage)?;
        } else {
            returns.remove(id.as_str()).map_err(storage)?;
            customer_returns
                .remove((customer.as_str(), *at, id.as_str()))
                .map_err(storage)?;
        }
    }
    Ok(old.len())
}

/// The case a return is judged on, from what `tx` holds: its order as known
/// strictly before the request (times the order names from then on had not
/// happened), the customer's profile, and their orders and returns before it.
/// Its errors are the line's (`items[0]`, not the case's `return.items[0]`).
///
/// The case is put together as JSON text from the bytes the store holds (the
/// history's entries, the profile and each of the order's fields are copied,
/// never parsed into a tree) and read by the typed case reader; whatever that reader leaves to the
/// reference is read as `rpl judge` reads it, so the case and every error are
/// the same either way.
///
/// `scope`, a merchant's: an order of another merchant is unknown to it,
/// answered exactly as an order never sent.
pub(super) fn case_for(
    tx: &impl Reads,
    line: &Value,
    scope: Option<&str>,
) -> Result<(Case, String, chrono::DateTime<chrono::Utc>), ApiError> {
    let order_id = line
        .get("order_id")
        .ok_or_else(|| ApiError::input(InputError::new("order_id", "missing")))?;
    let Some(order_id) = order_id.as_str() else {
        return Err(ApiError::input(InputError::new("order_id", "expected a string")));
    };
    let requested = line
        .get("requested_at")
        .ok_or_else(|| ApiError::input(InputError::new("requested_at", "missing")))?;
    let requested_at = crate::data::json::time(requested, "requested_at").map_err(ApiError::input)?;
    let bytes = tx.order(order_id)?;
    let stored = bytes
        .as_deref()
        .map(serde_json::from_slice::<StoredOrderText>)
        .transpose()
        .map_err(storage)?;
    // The order's fields, each kept as its stored text (in the stored
    // order: by key).
    let fields = stored
        .as_ref()
        .map(|s| serde_json::from_str::<BTreeMap<Cow<str>, &RawValue>>(s.order.get()))
        .transpose()
        .map_err(storage)?;
    let string = |raw: Option<&&RawValue>| raw.and_then(|r| serde_json::from_str::<Cow<str>>(r.get()).ok());
    let found = stored
        .zip(fields)
        .filter(|(_, fields)| scope.is_none_or(|m| string(fields.get("merchant_id")).as_deref() == Some(m)));
    let Some((stored, mut fields)) = found else {
        let msg = format!("order \"{order_id}\" is unknown (never sent to this service, or forgotten)");
        return Err(ApiError::input(InputError::new("order_id", msg)));
    };
    let before = |t: &str| chrono::DateTime::parse_from_rfc3339(t).is_ok_and(|t| t < requested_at);
    // A time the order carries is known from the moment it names; one an
    // update set, from the update's `at`; at the request itself, not yet.
    const KNOWN_LATER: [&str; 3] = ["paid_at", "shipped_at", "delivered_at"];
    let mut set = Vec::new();
    for key in KNOWN_LATER {
        if let Some((t, since)) = stored.updates.get(key)
            && before(since)
        {
            set.push((key, serde_json::value::to_raw_value(t).map_err(storage)?));
        }
    }
    for key in KNOWN_LATER {
        if !string(fields.get(key)).is_some_and(|t| before(&t)) {
            fields.remove(key);
        }
    }
    for (key, t) in &set {
        fields.insert(Cow::Borrowed(*key), t);
    }
    // The case schema has no cancellation: it is kept, not judged on.
    fields.remove("cancelled_at");
    let customer = &stored.customer_id;
    let mut text = Vec::with_capacity(4096);
    text.extend_from_slice(b"{\"order\":");
    serde_json::to_writer(&mut text, &fields).map_err(storage)?;
    text.extend_from_slice(b",\"return\":");
    serde_json::to_writer(&mut text, &without(line, RETURN_LINE)).map_err(storage)?;
    text.extend_from_slice(b",\"history\":");
    tx.history(customer, micros(requested_at), &mut text)?;
    // What earlier verdicts set on the customer, as known at the request,
    // joins the profile's own restrictions.
    let set = super::life::restrictions_at(tx, customer, requested_at)?;
    let profile = tx.profile(customer)?;
    if set.is_empty() {
        if let Some(profile) = profile {
            text.extend_from_slice(b",\"customer\":");
            text.extend_from_slice(&profile);
        }
    } else {
        let mut profile = match profile {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(storage)?,
            None => json!({"id": customer}),
        };
        let list = profile
            .as_object_mut()
            .map(|c| c.entry("restrictions").or_insert_with(|| json!([])));
        if let Some(Value::Array(list)) = list {
            list.extend(set);
        }
        text.extend_from_slice(b",\"customer\":");
        serde_json::to_writer(&mut text, &profile).map_err(storage)?;
    }
    text.push(b'}');
    let text = std::str::from_utf8(&text).map_err(storage)?;
    let case = match crate::data::parse_case_typed(text) {
        Some(case) => case,
        None => {
            // No size limit here: a case built from the store is read whole,
            // as the tree it stands for.
            let value: Value = serde_json::from_str(text).map_err(storage)?;
            parse_case_value(&value).map_err(|e| ApiError::input(relative_to_line(e)))?
        }
    };
    Ok((case, stored.customer_id.into_owned(), requested_at))
}

/// What a case is read from: a write transaction's open tables while a batch
/// applies, a read transaction for `POST /v1/judge`.
pub(super) trait Reads {
    /// The stored order (a [`StoredOrder`]), as the JSON text stored.
    fn order(&self, id: &str) -> Result<Option<Vec<u8>>, ApiError>;
    /// The customer's profile, as the JSON text stored.
    fn profile(&self, id: &str) -> Result<Option<Vec<u8>>, ApiError>;
    /// Appends the customer's orders and returns before `now` (µs) to `out`,
    /// as a case's `history` object (JSON text).
    fn history(&self, customer: &str, now: i64, out: &mut Vec<u8>) -> Result<(), ApiError>;
    /// The restrictions kept on `customer` set before `now` (µs).
    fn restrictions(&self, customer: &str, now: i64) -> Result<Vec<super::life::StoredRestriction>, ApiError>;
}

type Bytes = &'static [u8];
type HistoryKey = (&'static str, i64, &'static str);

fn bytes_in(t: &impl ReadableTable<&'static str, Bytes>, id: &str) -> Result<Option<Vec<u8>>, ApiError> {
    Ok(t.get(id).map_err(storage)?.map(|v| v.value().to_vec()))
}

fn history_in(
    orders: &impl ReadableTable<HistoryKey, Bytes>,
    returns: &impl ReadableTable<HistoryKey, Bytes>,
    customer: &str,
    now: i64,
    out: &mut Vec<u8>,
) -> Result<(), ApiError> {
    out.extend_from_slice(b"{\"orders\":");
    range_json(orders, customer, now, out)?;
    out.extend_from_slice(b",\"returns\":");
    range_json(returns, customer, now, out)?;
    out.push(b'}');
    Ok(())
}

fn restrictions_in(
    t: &impl ReadableTable<HistoryKey, Bytes>,
    customer: &str,
    now: i64,
) -> Result<Vec<super::life::StoredRestriction>, ApiError> {
    let mut out = Vec::new();
    for entry in t
        .range((customer, i64::MIN, "")..(customer, now, ""))
        .map_err(storage)?
    {
        let (_, v) = entry.map_err(storage)?;
        out.push(serde_json::from_slice(v.value()).map_err(storage)?);
    }
    Ok(out)
}

impl Reads for Tables<'_> {
    fn order(&self, id: &str) -> Result<Option<Vec<u8>>, ApiError> {
        bytes_in(&self.orders, id)
    }
    fn profile(&self, id: &str) -> Result<Option<Vec<u8>>, ApiError> {
        bytes_in(&self.customers, id)
    }
    fn history(&self, customer: &str, now: i64, out: &mut Vec<u8>) -> Result<(), ApiError> {
        history_in(&self.customer_orders, &self.customer_returns, customer, now, out)
    }
    fn restrictions(&self, customer: &str, now: i64) -> Result<Vec<super::life::StoredRestriction>, ApiError> {
        restrictions_in(&self.restrictions, customer, now)
    }
}

impl Reads for redb::ReadTransaction {
    fn order(&self, id: &str) -> Result<Option<Vec<u8>>, ApiError> {
        bytes_in(&self.open_table(ORDERS).map_err(storage)?, id)
    }
    fn profile(&self, id: &str) -> Result<Option<Vec<u8>>, ApiError> {
        bytes_in(&self.open_table(CUSTOMERS).map_err(storage)?, id)
    }
    fn history(&self, customer: &str, now: i64, out: &mut Vec<u8>) -> Result<(), ApiError> {
        let orders = self.open_table(CUSTOMER_ORDERS).map_err(storage)?;
        let returns = self.open_table(CUSTOMER_RETURNS).map_err(storage)?;
        history_in(&orders, &returns, customer, now, out)
    }
    fn restrictions(&self, customer: &str, now: i64) -> Result<Vec<super::life::StoredRestriction>, ApiError> {
        restrictions_in(&self.open_table(RESTRICTIONS).map_err(storage)?, customer, now)
    }
}

fn ret(
    t: &mut Tables,
    live: &Policies,
    line: &Value,
    text: &str,
    id: String,
    hash: String,
    now: &str,
) -> Result<Judged, ApiError> {
    let stored = super::life::stored_return(t, &id)?;
    if let Some(stored) = stored {
        if stored.hash != hash {
            return Err(ApiError::conflict("return", &id));
        }
        // A retry: the verdict it was given the first time.
        let Some(d) = t.log.decisions.get(stored.decision_id).map_err(storage)? else {
            return Err(ApiError::storage(format!("return {id} has lost its decision")));
        };
        let d: Decision = serde_json::from_slice(d.value()).map_err(storage)?;
        let decision = serde_json::from_str::<Value>(d.verdict.get())
            .ok()
            .and_then(|v| v.get("decision").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        return Ok(Judged {
            verdict: d.verdict,
            decision_id: d.decision_id,
            decision,
            fresh: false,
        });
    }
    let (case, customer_id, requested_at) = case_for(&*t, line, None)?;
    let judged = live
        .judge(&case, false)
        .map_err(|e| ApiError::input(relative_to_line(e)))?;
    let verdict = judged.verdict;
    let status = match line.get("status") {
        None | Some(Value::Null) => match verdict.decision.as_ref() {
            "approve" => "refunded",
            "deny" => "rejected",
            _ => "pending",
        }
        .to_string(),
        Some(s) => crate::data::json::string(s, "status").map_err(ApiError::input)?,
    };
    let decision = verdict.decision.to_string();
    let verdict_value = verdict;
    let verdict = raw(&verdict_value)?;
    let input = RawValue::from_string(text.to_string()).map_err(storage)?;
    let versions = (
        judged.floor_version,
        judged.merchant_id.as_deref(),
        judged.merchant_version,
    );
    let decision_id = record_decision(
        &mut t.log,
        "events",
        &id,
        &customer_id,
        versions,
        input,
        verdict.clone(),
        now,
    )?;

    let past = json!({
        "id": id,
        "order_id": line.get("order_id"),
        "requested_at": line.get("requested_at"),
        "type": case.ret.kind,
        "reason": case.ret.reason,
        "amount": case.ret.amount.to_string(),
        "status": status,
    });
    let key = (customer_id.as_str(), micros(requested_at), id.as_str());
    t.customer_returns
        .insert(key, serde_json::to_vec(&past).map_err(storage)?.as_slice())
        .map_err(storage)?;
    remember(t, micros(requested_at), "r", &customer_id, &id)?;
    let stored = StoredReturn {
        customer_id,
        order_id: case.order.id.clone(),
        hash,
        decision_id,
        trail: Vec::new(),
        life: Vec::new(),
        merchant_id: judged.merchant_id.clone(),
        floor_version: judged.floor_version,
        merchant_version: judged.merchant_version,
        paid: false,
    };
    super::life::track(t, &id, &stored, &verdict_value, 0)?;
    super::life::save(t, &id, &stored)?;
    Ok(Judged {
        verdict,
        decision_id,
        decision,
        fresh: true,
    })
}

/// A case's error as the event line's: `return.items[0].sku` is the line's
/// `items[0].sku`; the order's and the history's keep their place in the case.
pub(super) fn relative_to_line(mut e: InputError) -> InputError {
    if let Some(rest) = e.path.strip_prefix("return.") {
        e.path = rest.to_string();
    } else if e.path == "return" {
        e.path.clear();
    }
    e
}

/// Appends one entry to the decision log, returning its id; `versions`:
/// the floor's, the order's merchant and its version.
#[allow(clippy::too_many_arguments)]
pub(super) fn record_decision(
    log: &mut Log,
    source: &str,
    return_id: &str,
    customer_id: &str,
    versions: (u64, Option<&str>, Option<u64>),
    input: Box<RawValue>,
    verdict: Box<RawValue>,
    now: &str,
) -> Result<u64, ApiError> {
    let id = log.meta.get(NEXT_DECISION).map_err(storage)?.map_or(1, |v| v.value());
    log.meta.insert(NEXT_DECISION, id + 1).map_err(storage)?;
    let entry = Decision {
        decision_id: id,
        at: now.to_string(),
        source: source.to_string(),
        return_id: return_id.to_string(),
        customer_id: customer_id.to_string(),
        policy_version: versions.0,
        merchant_id: versions.1.map(str::to_string),
        merchant_version: versions.2,
        input,
        verdict,
    };
    log.decisions
        .insert(id, serde_json::to_vec(&entry).map_err(storage)?.as_slice())
        .map_err(storage)?;
    if let Some(m) = versions.1 {
        log.by_merchant.insert((m, id), ()).map_err(storage)?;
    }
    // Returns and customers are indexed from the log, in runs (`index.rs`).
    Ok(id)
}

/// A value serialized once, kept as its JSON text.
pub(super) fn raw(v: &impl serde::Serialize) -> Result<Box<RawValue>, ApiError> {
    serde_json::value::to_raw_value(v).map_err(storage)
}

/// Valid JSON text without the white space outside its strings, so it fits
/// one line of the decision log; keys stay in the order they were sent.
pub(super) fn one_line(json: &str) -> String {
    let mut out = String::with_capacity(json.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_line_keeps_strings_and_order() {
        let text = "{\n  \"b\": \"a \\\" b\",\n  \"a\": [1, 2]\n}";
        assert_eq!(super::one_line(text), r#"{"b":"a \" b","a":[1,2]}"#);
    }
}
