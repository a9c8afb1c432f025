//! What a backtest remembers of each customer: the profile, and for every
//! aggregate the policies read, a window kept up to date as events arrive.
//! Nothing older than the longest window is kept, so memory grows with the
//! customers and the windows, not with the stream.

use std::collections::VecDeque;

use rustc_hash::FxHashMap as HashMap;

use rust_decimal::Decimal;

use super::events::ReturnEvent;
use super::typed_line;
use crate::Program;
use crate::data::json::err;
use crate::data::{Case, Customer, History, InputError, Order, PastOrder, PastReturn, Time, parse_order_with};
use crate::eval::Verdict;
use crate::history::{AggValue, Event};
use crate::ir::schema::{EventField, Source};
use crate::ir::{AggDef, NodeId};
use crate::syntax::ast::AggFn;

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
}

impl Plan {
    pub fn new(programs: &[&Program]) -> Plan {
        let mut slots = Vec::new();
        let mut windows = Vec::new();
        let mut raw: Option<Option<i64>> = None;
        for (p, program) in programs.iter().enumerate() {
            let mut per = Vec::new();
            for (a, agg) in program.aggregates().iter().enumerate() {
                if agg.event_only {
                    per.push(Some(windows.len()));
                    windows.push((p, a));
                } else {
                    per.push(None);
                    raw = Some(match (raw, agg.window) {
                        (Some(None), _) | (_, None) => None,
                        (Some(Some(s)), Some(w)) => Some(s.max(w)),
                        (None, Some(w)) => Some(w),
                    });
                }
            }
            slots.push(per);
        }
        Plan { slots, windows, raw }
    }

    /// Aggregates kept up to date as events arrive, and those rescanned per return.
    pub fn counts(&self) -> (usize, usize) {
        let all: usize = self.slots.iter().map(Vec::len).sum();
        (self.windows.len(), all - self.windows.len())
    }
}

/// One aggregate over one customer's events: `[now - window, now)`.
#[derive(Debug, Clone, Default)]
struct Window {
    /// Events still inside the window (or, without a window, not yet
    /// strictly older than the latest event): time and summed amount.
    entries: VecDeque<(Time, Decimal)>,
    count: i64,
    sum: Decimal,
    /// An addition overflowed: the aggregate is an error from here on.
    overflowed: bool,
}

impl Window {
    /// Adds an event at `at` (events come in time order), forgetting first
    /// what has left the window by then, so a customer who never returns
    /// anything does not pile up entries.
    fn push(&mut self, at: Time, amount: Decimal, window: Option<i64>) {
        self.forget(at, window);
        self.entries.push_back((at, amount));
        self.count += 1;
        match self.sum.checked_add(amount) {
            Some(s) => self.sum = s,
            None => self.overflowed = true,
        }
    }

    /// Drops what no query from `now` on can see.
    fn forget(&mut self, now: Time, window: Option<i64>) {
        match window
            .and_then(chrono::Duration::try_seconds)
            .and_then(|w| now.checked_sub_signed(w))
        {
            Some(start) => {
                while let Some(&(t, amount)) = self.entries.front() {
                    if t >= start {
                        break;
                    }
                    self.entries.pop_front();
                    self.count -= 1;
                    self.sum -= amount;
                }
            }
            // No window: events before `now` are settled for good (times only
            // move forward), so only the latest instant stays queued.
            None => {
                while self.entries.front().is_some_and(|(t, _)| *t < now) {
                    self.entries.pop_front();
                }
            }
        }
    }

    /// The aggregate at `now`, over events strictly before it.
    fn value(&mut self, now: Time, window: Option<i64>, func: AggFn) -> AggValue {
        self.forget(now, window);
        let (mut count, mut sum) = (self.count, self.sum);
        for &(t, amount) in self.entries.iter().rev() {
            if t < now {
                break;
            }
            count -= 1;
            sum -= amount;
        }
        match func {
            _ if self.overflowed => AggValue::Overflow,
            AggFn::Count => AggValue::Count(count),
            AggFn::Sum => AggValue::Sum(sum),
        }
    }
}

/// What is remembered of one customer.
#[derive(Debug, Default)]
struct CustomerState {
    profile: Option<Customer>,
    windows: Vec<Window>,
    orders: VecDeque<PastOrder>,
    returns: VecDeque<PastReturn>,
}

/// A judged return, as a shard hands it back.
pub struct Judged {
    pub verdicts: Vec<Verdict>,
}

/// The customers whose ids hash to one worker, and their orders.
pub struct Shard {
    customers: HashMap<String, CustomerState>,
    /// Orders as their event lines, parsed again when a return needs one.
    orders: HashMap<String, Box<str>>,
    /// Orders by placement, for dropping those past the retention.
    order_queue: VecDeque<(Time, String)>,
    retention: i64,
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

    fn state(&mut self, id: &str, plan: &Plan) -> &mut CustomerState {
        self.customers.entry(id.to_string()).or_insert_with(|| CustomerState {
            windows: vec![Window::default(); plan.windows.len()],
            ..CustomerState::default()
        })
    }

    pub fn customer(&mut self, c: Customer, plan: &Plan) {
        let id = c.id.clone();
        self.state(&id, plan).profile = Some(c);
    }

    pub fn order(&mut self, order: Order, raw: Box<str>, plan: &Plan, programs: &[&Program]) -> Result<(), InputError> {
        if self.orders.contains_key(&order.id) {
            return Err(err("id", format!("order \"{}\" appears twice", order.id)));
        }
        self.forget_orders_before(order.placed_at);
        let past = PastOrder {
            id: order.id.clone(),
            placed_at: order.placed_at,
            total: order.total,
            tags: order.tags.clone(),
        };
        let state = self.state(&order.customer_id, plan);
        remember(state, plan, programs, Event::Order(&past), order.total)?;
        if plan.raw.is_some() {
            state.orders.push_back(past);
        }
        self.order_queue.push_back((order.placed_at, order.id.clone()));
        self.orders.insert(order.id, raw);
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
        let Some(raw) = self.orders.get(&r.order_id) else {
            return Err(err(
                "order_id",
                format!(
                    "order \"{}\" is unknown (never seen in the stream, or placed before the retention)",
                    r.order_id
                ),
            ));
        };
        // The line parsed when the order arrived; it parses the same way now.
        let order = match typed_line::parse_order(raw) {
            Some(order) => order,
            None => {
                let value: serde_json::Value = serde_json::from_str(raw)
                    .map_err(|e| err("order_id", format!("the order's line no longer parses: {e}")))?;
                parse_order_with(&value, "", &["event"])
                    .map_err(|e| err("order_id", format!("the order no longer parses: {}", e.message)))?
            }
        };
        // What was known at the request: a time the order names at or after
        // it had not happened yet (the stream exported the order as it ended).
        let mut order = order;
        for t in [&mut order.paid_at, &mut order.shipped_at, &mut order.delivered_at] {
            if t.is_some_and(|t| t >= r.at) {
                *t = None;
            }
        }
        let ret = r.join(&order)?;
        let customer_id = order.customer_id.clone();
        let mut case = Case {
            order,
            ret,
            customer: Customer {
                id: customer_id.clone(),
                created_at: None,
                vip: false,
                tags: Vec::new(),
                attrs: Vec::new(),
            },
            history: History::default(),
        };
        let state = self.state(&customer_id, plan);
        if let Some(profile) = &state.profile {
            case.customer = profile.clone();
        }
        if let Some(keep) = plan.raw {
            trim(state, r.at, keep);
            case.history.orders = state.orders.iter().cloned().collect();
            case.history.returns = state.returns.iter().cloned().collect();
        }
        let mut verdicts = Vec::with_capacity(programs.len());
        for (p, program) in programs.iter().enumerate() {
            let provided: Vec<Option<AggValue>> = plan.slots[p]
                .iter()
                .zip(program.aggregates())
                .map(|(slot, agg)| slot.map(|w| state.windows[w].value(r.at, agg.window, agg.func)))
                .collect();
            let verdict = program.judge_with(&case, &provided)?;
            verdicts.push(verdict);
        }
        let status = r.status.clone().unwrap_or_else(|| {
            match verdicts.first().map(|v| v.decision.as_ref()) {
                Some("approve") => "refunded",
                Some("deny") => "rejected",
                _ => "pending",
            }
            .to_string()
        });
        let past = PastReturn {
            id: case.ret.id.clone(),
            order_id: r.order_id.clone(),
            requested_at: r.at,
            kind: case.ret.kind.clone(),
            reason: case.ret.reason.clone(),
            amount: case.ret.amount,
            status,
        };
        remember(state, plan, programs, Event::Return(&past), past.amount)?;
        if plan.raw.is_some() {
            state.returns.push_back(past);
        }
        Ok(Judged { verdicts })
    }
}

/// Adds an event to every window whose aggregate counts it.
fn remember(
    state: &mut CustomerState,
    plan: &Plan,
    programs: &[&Program],
    event: Event<'_>,
    amount: Decimal,
) -> Result<(), InputError> {
    let at = event.at();
    for (w, &(p, a)) in plan.windows.iter().enumerate() {
        let program = programs[p];
        let Some(agg) = program.aggregates().get(a) else {
            continue;
        };
        if !counts(agg, event) {
            continue;
        }
        let passes = program
            .event_passes(a, event)
            .map_err(|e| program_error(program, agg.filter, e))?;
        if passes {
            let summed = if agg.field.is_some() { amount } else { Decimal::ZERO };
            state.windows[w].push(at, summed, agg.window);
        }
    }
    Ok(())
}

fn program_error(program: &Program, _filter: Option<NodeId>, e: crate::eval::EvalError) -> InputError {
    err(
        "",
        format!(
            "a `where` of the policy failed on this event: {}",
            program.describe_error(e)
        ),
    )
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

/// Drops raw events older than the longest window that rescans them.
fn trim(state: &mut CustomerState, now: Time, keep: Option<i64>) {
    let Some(cutoff) = keep
        .and_then(chrono::Duration::try_seconds)
        .and_then(|k| now.checked_sub_signed(k))
    else {
        return;
    };
    while state.orders.front().is_some_and(|o| o.placed_at < cutoff) {
        state.orders.pop_front();
    }
    while state.returns.front().is_some_and(|r| r.requested_at < cutoff) {
        state.returns.pop_front();
    }
}
