//! What a backtest remembers of each customer: the profile, the orders with
//! what is known of them and since when, and for every aggregate the
//! policies read, a window kept up to date as events arrive. Nothing older
//! than the longest window is kept, so memory grows with the customers, the
//! windows and the retained orders, not with the stream.
//!
//! A [`Shard`] holds some customers (the ones whose ids hash to it) and
//! applies their events in stream order; it knows nothing of threads or of
//! the stream's other customers. `Replay` is one shard for every customer.

use std::collections::VecDeque;

use rust_decimal::Decimal;
use rustc_hash::FxHashMap as HashMap;
use serde_json::{Value, json};

use super::events::{
    CANCELLED, DELIVERED, Label, OrderEvent, OrderUpdate, PAID, ReturnEvent, SHIPPED, Stamp, UPDATE_TIMES,
    customer_part, not_before_placed, order_from_line, order_part, order_times, shown,
};
use super::window::{Failure, Past, Read, Window};
use crate::Program;
use crate::data::json::err;
use crate::data::{Case, Customer, History, InputError, PastOrder, PastReturn, Time};
use crate::eval::Verdict;
use crate::history::{AggValue, Event};
use crate::ir::AggDef;
use crate::ir::schema::{EventField, Source};

/// How each policy's aggregates are served, worked out once per run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Per policy, per aggregate: the window slot that keeps it, if it is kept
    /// incrementally (its filter reads only the event).
    slots: Vec<Vec<Option<usize>>>,
    /// The aggregate each window slot keeps: (policy, aggregate).
    windows: Vec<(usize, usize)>,
    /// Raw past events the other aggregates rescan: `None` keeps none,
    /// `Some(None)` keeps all, `Some(Some(s))` keeps the last `s` seconds.
    raw: Option<Option<i64>>,
    /// The return whose case is wanted (`--case`): every aggregate's raw
    /// events are kept, so the case holds the history `judge` needs.
    capture: Option<String>,
    /// The verdicts reported: `(policy, floor)` by index; empty, each alone.
    layers: Vec<(usize, Option<usize>)>,
}

impl Plan {
    pub fn new(programs: &[&Program], capture: Option<&str>, layers: &[(usize, Option<usize>)]) -> Plan {
        let mut slots = Vec::new();
        let mut windows = Vec::new();
        let mut raw: Option<Option<i64>> = None;
        for (p, program) in programs.iter().enumerate() {
            let mut per = Vec::new();
            for (a, agg) in program.aggregates().iter().enumerate() {
                if agg.event_only {
                    per.push(Some(windows.len()));
                    windows.push((p, a));
                }
                if !agg.event_only || capture.is_some() {
                    raw = Some(match (raw, agg.window) {
                        (Some(None), _) | (_, None) => None,
                        (Some(Some(s)), Some(w)) => Some(s.max(w)),
                        (None, Some(w)) => Some(w),
                    });
                }
                if !agg.event_only {
                    per.push(None);
                }
            }
            slots.push(per);
        }
        Plan {
            slots,
            windows,
            raw,
            capture: capture.map(str::to_string),
            layers: layers
                .iter()
                .filter(|(p, f)| *p < programs.len() && f.is_none_or(|f| f < programs.len()))
                .copied()
                .collect(),
        }
    }

    /// The programs whose verdicts a run reports, in order.
    pub fn reported<'p>(&self, programs: &[&'p Program]) -> Vec<&'p Program> {
        match self.layers.is_empty() {
            true => programs.to_vec(),
            false => self.layers.iter().map(|(p, _)| programs[*p]).collect(),
        }
    }

    /// The return whose case is wanted, if any.
    pub fn capture(&self) -> Option<&str> {
        self.capture.as_deref()
    }

    /// Aggregates kept up to date as events arrive, and those rescanned per return.
    pub fn counts(&self) -> (usize, usize) {
        let all: usize = self.slots.iter().map(Vec::len).sum();
        (self.windows.len(), all - self.windows.len())
    }
}

/// A time an update set, and the moment it became known (the update's `at`).
#[derive(Debug, Clone, Copy)]
struct Known {
    value: Stamp,
    since: Time,
}

/// An order as the stream has told it so far. Kept small, for every order
/// of the retention: the times the order's line carries stay in the line.
#[derive(Debug)]
struct OrderRecord {
    /// The order's line, read again when a return needs the order.
    line: Box<str>,
    placed: Time,
    /// Which of `paid_at`, `shipped_at`, `delivered_at`, `cancelled_at` the
    /// line carries (bit `i` for `UPDATE_TIMES[i]`).
    carried: u8,
    /// The times updates set; none until one does.
    updated: Option<Box<[Option<Known>; 4]>>,
}

impl OrderRecord {
    /// Each time known strictly before `now`: an update's from its `at`, one
    /// the order carries (`carried`, read from its line) from the moment it names.
    fn known_before(&self, now: Time, carried: &[Option<Stamp>; 4]) -> [Option<Stamp>; 4] {
        let mut known = carried.map(|t| t.filter(|t| t.to_utc() < now));
        if let Some(updated) = &self.updated {
            for (slot, k) in known.iter_mut().zip(updated.iter()) {
                if let Some(k) = k.filter(|k| k.since < now) {
                    *slot = Some(k.value);
                }
            }
        }
        known
    }
}

/// What is remembered of one customer.
#[derive(Debug, Default)]
struct CustomerState {
    profile: Option<Customer>,
    /// The profile's line, kept only for `--case`.
    profile_line: Option<Box<str>>,
    windows: Vec<Window>,
    orders: VecDeque<PastOrder>,
    returns: VecDeque<PastReturn>,
    /// Events added to the history so far.
    seq: u64,
}

/// A judged return.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Judged {
    /// The return's id.
    pub return_id: String,
    /// Its order's id.
    pub order_id: String,
    /// Its order's customer.
    pub customer_id: String,
    /// Its label, if the event gave one.
    pub label: Option<Label>,
    /// The status it joins the history with: its own, or the one the first
    /// policy's verdict implies.
    pub status: String,
    /// Whether its order was known to be cancelled before the request (a case
    /// cannot say so yet: it has no `order.cancelled_at`).
    pub on_cancelled_order: bool,
    /// One verdict per policy, in the order they were given.
    pub verdicts: Vec<Verdict>,
    /// The case, when `--case` asked for this return.
    pub(super) case: Option<Value>,
}

/// The customers whose ids hash to one worker, and their orders.
pub struct Shard {
    customers: HashMap<String, CustomerState>,
    orders: HashMap<String, OrderRecord>,
    /// Orders by placement, for dropping those past the retention.
    order_queue: VecDeque<(Time, String)>,
    retention: i64,
}

fn unknown_order(id: &str, key: &str) -> InputError {
    err(
        key,
        format!("order \"{id}\" is unknown (never seen in the stream, or placed before the retention)"),
    )
}

impl Shard {
    pub fn new(retention_seconds: i64) -> Shard {
        Shard {
            customers: HashMap::default(),
            orders: HashMap::default(),
            order_queue: VecDeque::new(),
            retention: retention_seconds,
        }
    }

    fn state<'s>(customers: &'s mut HashMap<String, CustomerState>, id: &str, plan: &Plan) -> &'s mut CustomerState {
        customers.entry(id.to_string()).or_insert_with(|| CustomerState {
            windows: vec![Window::default(); plan.windows.len()],
            ..CustomerState::default()
        })
    }

    pub fn customer(&mut self, c: Customer, line: Box<str>, plan: &Plan) {
        let state = Self::state(&mut self.customers, &c.id, plan);
        if plan.capture.is_some() {
            state.profile_line = Some(line);
        }
        state.profile = Some(c);
    }

    pub fn order(&mut self, event: OrderEvent, plan: &Plan, programs: &[&Program]) -> Result<(), InputError> {
        let OrderEvent {
            order,
            line,
            placed,
            times,
        } = event;
        if self.orders.contains_key(&order.id) {
            return Err(err("id", format!("order \"{}\" appears twice", order.id)));
        }
        self.forget_orders_before(order.placed_at);
        let past = PastOrder {
            id: order.id.clone(),
            placed_at: order.placed_at,
            total: order.total,
            tags: order.tags,
        };
        let state = Self::state(&mut self.customers, &order.customer_id, plan);
        remember(state, plan, programs, Event::Order(&past), order.total);
        if plan.raw.is_some() {
            state.orders.push_back(past);
        }
        self.order_queue.push_back((order.placed_at, order.id.clone()));
        let carried = (0..4)
            .filter(|&i| times[i].is_some())
            .fold(0u8, |bits, i| bits | 1 << i);
        let record = OrderRecord {
            line,
            placed: placed.to_utc(),
            carried,
            updated: None,
        };
        self.orders.insert(order.id, record);
        Ok(())
    }

    /// Applies an `order_update`: each time it sets is known from its `at`.
    /// Nothing changes if any of them is refused.
    pub fn update(&mut self, u: &OrderUpdate) -> Result<(), InputError> {
        let record = self.orders.get_mut(&u.id).ok_or_else(|| unknown_order(&u.id, "id"))?;
        // The times the line carries, and as it wrote them, only where needed:
        // an order that carries none (orders as they are placed) is not read again.
        let carried = match record.carried {
            0 => [None; 4],
            _ => order_times(&record.line)?.1,
        };
        let updated = record.updated.as_deref().copied().unwrap_or([None; 4]);
        let set = |i: usize| updated[i].map(|k| k.value).or(carried[i]);
        for (i, t) in u.times.iter().enumerate() {
            let Some(t) = *t else { continue };
            let key = UPDATE_TIMES[i];
            if t.to_utc() < record.placed {
                let (placed, _) = order_times(&record.line)?;
                not_before_placed(t, placed, key)?;
            }
            if let Some(before) = set(i)
                && before != t
            {
                return Err(err(
                    key,
                    format!(
                        "{} again, but the order's {key} is {}: a time, once set, cannot change",
                        shown(t),
                        shown(before)
                    ),
                ));
            }
        }
        let current = |i: usize| u.times[i].or(set(i));
        if let (Some(shipped), Some(delivered)) = (current(SHIPPED), current(DELIVERED))
            && delivered < shipped
        {
            return Err(match u.times[DELIVERED] {
                Some(_) => err(
                    "delivered_at",
                    format!(
                        "{} is before the order was shipped ({})",
                        shown(delivered),
                        shown(shipped)
                    ),
                ),
                None => err(
                    "shipped_at",
                    format!(
                        "{} is after the order was delivered ({})",
                        shown(shipped),
                        shown(delivered)
                    ),
                ),
            });
        }
        // A time already set (by the line, or an update) keeps the moment it
        // was first known.
        let since = u.at.to_utc();
        let new: Vec<(usize, Stamp)> = (0..4)
            .filter_map(|i| u.times[i].filter(|_| set(i).is_none()).map(|t| (i, t)))
            .collect();
        if !new.is_empty() {
            let slots = record.updated.get_or_insert_with(|| Box::new([None; 4]));
            for (i, value) in new {
                slots[i] = Some(Known { value, since });
            }
        }
        Ok(())
    }

    fn forget_orders_before(&mut self, now: Time) {
        let Some(cutoff) = chrono::Duration::try_seconds(self.retention).and_then(|r| now.checked_sub_signed(r)) else {
            return;
        };
        while self.order_queue.front().is_some_and(|(t, _)| *t < cutoff) {
            if let Some((_, id)) = self.order_queue.pop_front() {
                self.orders.remove(&id);
            }
        }
    }

    /// Judges a return by every policy, then adds it to the customer's history.
    pub fn ret(&mut self, r: &ReturnEvent, plan: &Plan, programs: &[&Program]) -> Result<Judged, InputError> {
        let record = self
            .orders
            .get(&r.order_id)
            .ok_or_else(|| unknown_order(&r.order_id, "order_id"))?;
        let now = r.at.to_utc();
        // The line parsed when the order arrived; it parses the same way now.
        let (mut order, carried) =
            order_from_line(&record.line).map_err(|e| err("order_id", format!("the order no longer parses: {e}")))?;
        let known = record.known_before(now, &carried);
        order.paid_at = known[PAID].map(|t| t.to_utc());
        order.shipped_at = known[SHIPPED].map(|t| t.to_utc());
        order.delivered_at = known[DELIVERED].map(|t| t.to_utc());
        let on_cancelled_order = known[CANCELLED].is_some();
        let ret = r.join(&order)?;
        let customer_id = order.customer_id.clone();
        let state = Self::state(&mut self.customers, &customer_id, plan);
        let customer = match &state.profile {
            Some(profile) => profile.clone(),
            None => Customer {
                id: customer_id.clone(),
                created_at: None,
                vip: false,
                tags: Vec::new(),
                attrs: Vec::new(),
            },
        };
        // As a case's reader refuses it: the account must exist first.
        if let Some(created) = customer.created_at
            && created > now
        {
            return Err(err(
                "requested_at",
                format!(
                    "{} is before the customer's account was opened ({}): the account must exist first",
                    shown(r.at),
                    shown(created.with_timezone(r.at.offset()))
                ),
            ));
        }
        let capture = plan.capture.as_deref() == Some(r.id());
        let mut case = Case {
            order,
            ret,
            customer,
            history: History::default(),
        };
        let mut cutoff = None;
        if let Some(keep) = plan.raw {
            cutoff = trim(state, now, keep);
            case.history.orders = state.orders.iter().cloned().collect();
            case.history.returns = state.returns.iter().cloned().collect();
        }
        // The aggregates kept as windows, per policy; a window whose read
        // meets a failed `where` is computed from the history instead, with
        // the failed event in it.
        let mut failed: Vec<Failure> = Vec::new();
        let mut provided: Vec<Vec<Option<AggValue>>> = Vec::with_capacity(programs.len());
        for (p, program) in programs.iter().enumerate() {
            let values = plan.slots[p]
                .iter()
                .zip(program.aggregates())
                .map(|(slot, agg)| {
                    let w = (*slot)?;
                    match state.windows[w].value(now, agg.window, agg.func) {
                        Read::Value(v) => Some(v),
                        Read::Failed(f) => {
                            failed.push(f.clone());
                            None
                        }
                    }
                })
                .collect();
            provided.push(values);
        }
        if !failed.is_empty() {
            add_failed(&mut case.history, failed, plan.raw, cutoff);
        }
        let mut verdicts = Vec::with_capacity(programs.len());
        for (program, provided) in programs.iter().zip(&provided) {
            verdicts.push(program.judge_with(&case, provided)?);
        }
        if !plan.layers.is_empty() {
            // Each reported policy on its floor, as `rpl judge --floor` layers them.
            verdicts = plan
                .layers
                .iter()
                .map(|&(p, floor)| match floor {
                    Some(f) => crate::floor::layer(programs[f], programs[p], verdicts[f].clone(), verdicts[p].clone()),
                    None => verdicts[p].clone(),
                })
                .collect();
        }
        let status = r
            .status
            .clone()
            .unwrap_or_else(|| implied_status(verdicts.first().map_or("review", |v| v.decision.as_ref())).to_string());
        let captured = match capture {
            true => Some(case_json(r, record, &known, state, &case.history)?),
            false => None,
        };
        let past = PastReturn {
            id: case.ret.id.clone(),
            order_id: r.order_id.clone(),
            requested_at: now,
            kind: case.ret.kind.clone(),
            reason: case.ret.reason.clone(),
            amount: case.ret.amount,
            status: status.clone(),
        };
        remember(state, plan, programs, Event::Return(&past), past.amount);
        if plan.raw.is_some() {
            state.returns.push_back(past);
        }
        Ok(Judged {
            return_id: case.ret.id,
            order_id: r.order_id.clone(),
            customer_id,
            label: r.label,
            status,
            on_cancelled_order,
            verdicts,
            case: captured,
        })
    }
}

/// The status a return joins the history with when it gives none.
pub fn implied_status(decision: &str) -> &'static str {
    match decision {
        "approve" => "refunded",
        "deny" => "rejected",
        _ => "pending",
    }
}

/// Puts the failed events a read met into the history: those older than the
/// raw events kept (the raw events hold the rest), in stream order, first.
/// Every aggregate the history serves looks only at its own window, which
/// the kept raw events cover, so the older ones change none of them.
fn add_failed(history: &mut History, mut failed: Vec<Failure>, raw: Option<Option<i64>>, cutoff: Option<Time>) {
    failed.retain(|f| match (raw, cutoff) {
        (None, _) => true,
        (Some(None), _) => false,
        (Some(Some(_)), cutoff) => cutoff.is_some_and(|c| f.at < c),
    });
    failed.sort_by_key(|f| f.seq);
    failed.dedup_by_key(|f| f.seq);
    let (mut orders, mut returns) = (Vec::new(), Vec::new());
    for f in failed {
        match f.event {
            Past::Order(o) => orders.push(o),
            Past::Return(r) => returns.push(r),
        }
    }
    orders.append(&mut history.orders);
    returns.append(&mut history.returns);
    history.orders = orders;
    history.returns = returns;
}

/// The case `--case` prints: exactly what `rpl judge` takes, built from the
/// events' own text (so amounts, attrs and times read back as they were
/// given), with the order's times as known strictly before the request.
fn case_json(
    r: &ReturnEvent,
    record: &OrderRecord,
    known: &[Option<Stamp>; 4],
    state: &CustomerState,
    history: &History,
) -> Result<Value, InputError> {
    let mut order = order_part(&record.line)?;
    if let Value::Object(map) = &mut order {
        for (key, t) in UPDATE_TIMES.iter().zip(known).take(CANCELLED) {
            match t {
                Some(t) => map.insert((*key).to_string(), Value::String(shown(*t))),
                None => map.remove(*key),
            };
        }
    }
    // The history keeps instants; they are written in the request's offset.
    let offset = *r.at.offset();
    let time = |t: Time| Value::String(shown(t.with_timezone(&offset)));
    let orders: Vec<Value> = history
        .orders
        .iter()
        .map(|o| json!({"id": o.id, "placed_at": time(o.placed_at), "total": o.total.to_string(), "tags": o.tags}))
        .collect();
    let returns: Vec<Value> = history
        .returns
        .iter()
        .map(|p| {
            json!({
                "id": p.id, "order_id": p.order_id, "requested_at": time(p.requested_at), "type": p.kind,
                "reason": p.reason, "amount": p.amount.to_string(), "status": p.status,
            })
        })
        .collect();
    let mut case = json!({
        "order": order,
        "return": r.case_part()?,
        "history": {"orders": orders, "returns": returns},
    });
    if let Some(line) = &state.profile_line {
        case["customer"] = customer_part(line)?;
    }
    Ok(case)
}

/// Adds an event to every window whose aggregate counts it; a `where` that
/// fails on it is kept as the window's failure, for the reads that meet it.
fn remember(state: &mut CustomerState, plan: &Plan, programs: &[&Program], event: Event<'_>, amount: Decimal) {
    let at = event.at();
    let seq = state.seq;
    state.seq += 1;
    for (w, &(p, a)) in plan.windows.iter().enumerate() {
        let program = programs[p];
        let Some(agg) = program.aggregates().get(a) else {
            continue;
        };
        if !counts(agg, event) {
            continue;
        }
        match program.event_passes(a, event) {
            Ok(true) => {
                let summed = if agg.field.is_some() { amount } else { Decimal::ZERO };
                state.windows[w].push(at, summed, agg.window);
            }
            Ok(false) => {}
            Err(_) => state.windows[w].fail(at, seq, Past::of(event), agg.window),
        }
    }
}

fn counts(agg: &AggDef, event: Event<'_>) -> bool {
    let sums_right_field = match agg.field {
        None => true,
        Some(f) => matches!(
            (f, event),
            (EventField::ReturnAmount, Event::Return(_)) | (EventField::OrderTotal, Event::Order(_))
        ),
    };
    sums_right_field
        && matches!(
            (agg.source, event),
            (Source::Orders, Event::Order(_)) | (Source::Returns, Event::Return(_))
        )
}

/// Drops raw events older than the longest window that rescans them; says
/// from when on they are all kept.
fn trim(state: &mut CustomerState, now: Time, keep: Option<i64>) -> Option<Time> {
    let cutoff = keep
        .and_then(chrono::Duration::try_seconds)
        .and_then(|k| now.checked_sub_signed(k))?;
    while state.orders.front().is_some_and(|o| o.placed_at < cutoff) {
        state.orders.pop_front();
    }
    while state.returns.front().is_some_and(|r| r.requested_at < cutoff) {
        state.returns.pop_front();
    }
    Some(cutoff)
}
