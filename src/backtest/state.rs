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
    CANCELLED, DELIVERED, InspectionEvent, Label, OrderEvent, OrderUpdate, PAID, ReturnEvent, ReviewEvent, SHIPPED,
    Stamp, UPDATE_TIMES, customer_part, not_before_placed, order_from_line, order_part, shown,
};
use super::window::{Failure, Past, Read, Window};
use crate::Program;
use crate::data::json::err;
use crate::data::{Case, Customer, History, InputError, PastOrder, PastReturn, Restriction, Time};
use crate::eval::Verdict;
use crate::eval::life::{self, InspectError, Layer};
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

    /// The reported verdicts as `(policy, floor)`: the layers, or each program alone.
    pub fn reported_layers(&self, programs: usize) -> Vec<(usize, Option<usize>)> {
        match self.layers.is_empty() {
            true => (0..programs).map(|p| (p, None)).collect(),
            false => self.layers.clone(),
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
/// of the retention: its times, which updates check against, parsed; the rest
/// as its line, read again only when a return needs the order (returns come
/// for a few orders in ten; the parsed order takes over twice the memory).
#[derive(Debug)]
struct OrderRecord {
    /// The order's line.
    line: Box<str>,
    /// `placed_at` as written.
    placed_at: Stamp,
    /// `paid_at`, `shipped_at`, `delivered_at`, `cancelled_at` as the line wrote them.
    carried: [Option<Stamp>; 4],
    /// The times updates set; none until one does.
    updated: Option<Box<[Option<Known>; 4]>>,
}

impl OrderRecord {
    /// Each time known strictly before `now`: an update's from its `at`, one
    /// the order's line carries from the moment it names.
    fn known_before(&self, now: Time) -> [Option<Stamp>; 4] {
        let mut known = self.carried.map(|t| t.filter(|t| t.to_utc() < now));
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
    /// Restrictions the first policy's verdicts set on the customer, still
    /// running (docs/language.md §16.5).
    restrictions: Vec<Restriction>,
}

/// A return whose life goes on after its request: what its review
/// decisions and inspections need (docs/language.md §11.17).
#[derive(Debug)]
struct Open {
    /// The stream line of its request.
    line: u64,
    order_id: String,
    label: Option<Label>,
    on_cancelled_order: bool,
    /// The case as judged at the request; inspections join its lines.
    case: Case,
    /// Per program, the aggregates as they were at the request.
    provided: Vec<Vec<Option<AggValue>>>,
    /// Per reported policy, the verdict as it stands.
    verdicts: Vec<Verdict>,
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
    /// What the event did to the first policy's verdict, for the summary.
    pub(super) delta: Delta,
}

/// What an event did to the first policy's verdict.
#[derive(Debug, Clone, Default)]
pub(super) struct Delta {
    /// Rules `at inspection` that fired on the return for the first time.
    pub inspection_rules: Vec<String>,
    /// Reviews it timed out.
    pub timeouts: u64,
    /// Whether an inspection changed its line's decision or refund.
    pub changed: bool,
    /// Restrictions it set.
    pub restrictions: u64,
}

impl Delta {
    fn between(before: Option<&Verdict>, after: Option<&Verdict>, sku: Option<&str>) -> Delta {
        let timed = |v: Option<&Verdict>| v.map_or(0, |v| v.reviews.iter().filter(|r| r.timed_out).count() as u64);
        let restricted = |v: Option<&Verdict>| v.map_or(0, |v| v.restrictions.len() as u64);
        let line = |v: Option<&Verdict>| {
            v.and_then(|v| v.lines.iter().find(|l| Some(l.sku.as_str()) == sku))
                .map(|l| (l.decision.clone(), l.refund.clone()))
        };
        let inspection_rules = |v: Option<&Verdict>| -> Vec<String> {
            let mut names: Vec<String> = v
                .iter()
                .flat_map(|v| &v.lines)
                .flat_map(|l| &l.rules)
                .filter(|r| r.stage.is_some() && r.layer.is_none())
                .map(|r| r.rule.clone())
                .collect();
            names.dedup();
            names
        };
        let earlier = inspection_rules(before);
        let mut fired = inspection_rules(after);
        fired.retain(|r| !earlier.contains(r));
        fired.sort();
        fired.dedup();
        Delta {
            inspection_rules: fired,
            timeouts: timed(after).saturating_sub(timed(before)),
            changed: sku.is_some() && line(before) != line(after),
            restrictions: restricted(after).saturating_sub(restricted(before)),
        }
    }
}

/// What an event of a return's life did: the verdicts after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LifeKind {
    ReviewDecision,
    Inspection,
    /// Reviews due before the stream's end, timed out at its end.
    Timeout,
}

/// The customers whose ids hash to one worker, and their orders.
pub struct Shard {
    customers: HashMap<String, CustomerState>,
    orders: HashMap<String, OrderRecord>,
    /// Orders by placement, for dropping those past the retention.
    order_queue: VecDeque<(Time, String)>,
    /// Returns whose life goes on, and by request time, for the retention.
    open: HashMap<String, Open>,
    open_queue: VecDeque<(Time, String)>,
    /// Every return judged within the retention, by request time: a life
    /// event of one no longer open changes nothing.
    judged: HashMap<String, Time>,
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
            open: HashMap::default(),
            open_queue: VecDeque::new(),
            judged: HashMap::default(),
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
        let record = OrderRecord {
            line,
            placed_at: placed,
            carried: times,
            updated: None,
        };
        self.orders.insert(order.id, record);
        Ok(())
    }

    /// Applies an `order_update`: each time it sets is known from its `at`.
    /// Nothing changes if any of them is refused.
    pub fn update(&mut self, u: &OrderUpdate) -> Result<(), InputError> {
        let record = self.orders.get_mut(&u.id).ok_or_else(|| unknown_order(&u.id, "id"))?;
        let carried = record.carried;
        let updated = record.updated.as_deref().copied().unwrap_or([None; 4]);
        let set = |i: usize| updated[i].map(|k| k.value).or(carried[i]);
        for (i, t) in u.times.iter().enumerate() {
            let Some(t) = *t else { continue };
            let key = UPDATE_TIMES[i];
            not_before_placed(t, record.placed_at, key)?;
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
    pub fn ret(
        &mut self,
        r: &ReturnEvent,
        line: u64,
        plan: &Plan,
        programs: &[&Program],
    ) -> Result<Judged, InputError> {
        self.forget_open_before(r.at.to_utc());
        let record = self
            .orders
            .get(&r.order_id)
            .ok_or_else(|| unknown_order(&r.order_id, "order_id"))?;
        let now = r.at.to_utc();
        // The line parsed when the order arrived; it parses the same way now.
        let mut order =
            order_from_line(&record.line).map_err(|e| err("order_id", format!("the order no longer parses: {e}")))?;
        let known = record.known_before(now);
        order.paid_at = known[PAID].map(|t| t.to_utc());
        order.shipped_at = known[SHIPPED].map(|t| t.to_utc());
        order.delivered_at = known[DELIVERED].map(|t| t.to_utc());
        let on_cancelled_order = known[CANCELLED].is_some();
        let ret = r.join(&order)?;
        let customer_id = order.customer_id.clone();
        let state = Self::state(&mut self.customers, &customer_id, plan);
        let mut customer = match &state.profile {
            Some(profile) => profile.clone(),
            None => Customer::unknown(&customer_id),
        };
        // What earlier verdicts set on the customer, as known strictly before the request.
        state.restrictions.retain(|x| x.until > now);
        customer.restrictions.extend(
            state
                .restrictions
                .iter()
                .filter(|x| x.since.is_none_or(|s| s < now))
                .cloned(),
        );
        customer.restrict_at(now);
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
                    Some(f) => crate::floor::layer(
                        programs[f],
                        programs[p],
                        &case,
                        verdicts[f].clone(),
                        verdicts[p].clone(),
                    ),
                    None => verdicts[p].clone(),
                })
                .collect();
        }
        let status = r
            .status
            .clone()
            .unwrap_or_else(|| implied_status(verdicts.first().map_or("review", |v| v.decision.as_ref())).to_string());
        let captured = match capture {
            true => Some(case_json(r, record, &known, state, &case.history, &case.customer)?),
            false => None,
        };
        if let Some(first) = verdicts.first() {
            state.restrictions.extend(life::restrictions_set(first));
        }
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
        self.judged.insert(case.ret.id.clone(), now);
        self.open_queue.push_back((now, case.ret.id.clone()));
        let inspects = programs.iter().any(|p| p.inspects());
        let lives = inspects || programs.iter().any(|p| p.times_refunds_from_inspection());
        if lives || verdicts.iter().any(|v| v.lines.iter().any(|l| l.decision == "review")) {
            let id = case.ret.id.clone();
            let mut case = case.clone();
            // Settling a review needs only the verdicts; the history is kept
            // for the rules `at inspection` alone, which may read it.
            if !inspects {
                case.history = History::default();
            }
            self.open.insert(
                id,
                Open {
                    line,
                    order_id: r.order_id.clone(),
                    label: r.label,
                    on_cancelled_order,
                    case,
                    provided,
                    verdicts: verdicts.clone(),
                },
            );
        }
        Ok(Judged {
            return_id: case.ret.id,
            order_id: r.order_id.clone(),
            customer_id,
            label: r.label,
            status,
            on_cancelled_order,
            delta: Delta {
                restrictions: verdicts.first().map_or(0, |v| v.restrictions.len() as u64),
                ..Delta::default()
            },
            verdicts,
            case: captured,
        })
    }
}

impl Shard {
    fn forget_open_before(&mut self, now: Time) {
        let Some(cutoff) = chrono::Duration::try_seconds(self.retention).and_then(|r| now.checked_sub_signed(r)) else {
            return;
        };
        while self.open_queue.front().is_some_and(|(t, _)| *t < cutoff) {
            // Unless a later return took the id.
            if let Some((t, id)) = self.open_queue.pop_front()
                && self.judged.get(&id) == Some(&t)
            {
                self.judged.remove(&id);
                self.open.remove(&id);
            }
        }
    }

    /// A person's decision on a return in review: every reported verdict
    /// with lines in review is settled by it, after the reviews due
    /// strictly before it timed out. A verdict with nothing in review (or
    /// whose review timed out first) stays as it was.
    ///
    /// `None` when the return has nothing left to decide (no line in
    /// review, no rule `at inspection`, no refund clock waiting for an
    /// inspection): the event changes nothing.
    pub fn review(
        &mut self,
        d: &ReviewEvent,
        plan: &Plan,
        programs: &[&Program],
    ) -> Result<Option<Judged>, InputError> {
        let now = d.at.to_utc();
        self.forget_open_before(now);
        if !self.open.contains_key(&d.return_id) {
            return match self.judged.contains_key(&d.return_id) {
                true => Ok(None),
                false => Err(never_judged(&d.return_id)),
            };
        }
        let Some(open) = self.open.get_mut(&d.return_id) else {
            return Ok(None);
        };
        if now < open.case.ret.requested_at {
            return Err(before_request(d.at, open));
        }
        let before = open.verdicts.first().cloned();
        for v in &mut open.verdicts {
            let timed = life::time_out_before(v.clone(), now);
            *v = life::settle_review(&timed, &d.decision).unwrap_or(timed);
        }
        let mut judged = life_record(open);
        judged.delta = Delta::between(before.as_ref(), open.verdicts.first(), None);
        self.after_life(&d.return_id, plan, programs);
        Ok(Some(judged))
    }

    /// One line's inspection: the reported verdicts, each through its
    /// policies' rules `at inspection`, as `rpl judge` folds it.
    pub fn inspection(
        &mut self,
        i: &InspectionEvent,
        plan: &Plan,
        programs: &[&Program],
    ) -> Result<Option<Judged>, InputError> {
        let now = i.at.to_utc();
        self.forget_open_before(now);
        if !self.open.contains_key(&i.return_id) {
            return match self.judged.contains_key(&i.return_id) {
                true => Ok(None),
                false => Err(never_judged(&i.return_id)),
            };
        }
        let Some(open) = self.open.get_mut(&i.return_id) else {
            return Ok(None);
        };
        if now < open.case.ret.requested_at {
            return Err(before_request(i.at, open));
        }
        let first = open.verdicts.first().cloned();
        let before = first.as_ref().map_or(0, |v| v.restrictions.len());
        let reported = plan.reported_layers(programs.len());
        let mut next = Vec::with_capacity(open.verdicts.len());
        for (k, &(p, floor)) in reported.iter().enumerate() {
            let Some(v) = open.verdicts.get(k) else { continue };
            let (Some(program), Some(provided)) = (programs.get(p), open.provided.get(p)) else {
                continue;
            };
            let layers: Vec<Layer<'_>> = match floor.and_then(|f| Some((programs.get(f)?, open.provided.get(f)?))) {
                Some((f, fp)) => crate::floor::layers(f, program, fp, provided).to_vec(),
                None => vec![Layer {
                    program,
                    provided,
                    floor: false,
                }],
            };
            let v = life::inspect_in(&mut open.case, v.clone(), &i.sku, i.found.clone(), &layers, true)
                .map_err(inspect_error)?;
            next.push(v);
        }
        open.verdicts = next;
        let mut judged = life_record(open);
        judged.delta = Delta::between(first.as_ref(), open.verdicts.first(), Some(&i.sku));
        // What the inspection itself changed, after the reviews it timed out.
        let timed = first.map(|v| life::time_out_before(v, now));
        judged.delta.changed = Delta::between(timed.as_ref(), open.verdicts.first(), Some(&i.sku)).changed;
        if let Some(first) = judged.verdicts.first() {
            let set = life::restrictions_set(first);
            let customer = judged.customer_id.clone();
            let state = Self::state(&mut self.customers, &customer, plan);
            state.restrictions.extend(set.into_iter().skip(before));
        }
        self.after_life(&i.return_id, plan, programs);
        Ok(Some(judged))
    }

    /// At the stream's end, `through` its last moment: each open return
    /// with reviews due by then, timed out; in the order of their requests.
    pub fn finish(&mut self, through: Time) -> Vec<(u64, Judged)> {
        let mut out = Vec::new();
        for open in self.open.values_mut() {
            let mut changed = false;
            let first = open.verdicts.first().cloned();
            for v in &mut open.verdicts {
                if let Some(next) = life::time_out_reviews(v, through) {
                    *v = next;
                    changed = true;
                }
            }
            if changed {
                let mut judged = life_record(open);
                judged.delta = Delta::between(first.as_ref(), open.verdicts.first(), None);
                out.push((open.line, judged));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.return_id.cmp(&b.1.return_id)));
        out
    }

    /// Forgets a return whose life is over: nothing in review, and nothing
    /// left to inspect (every line inspected, or nothing sent back). A
    /// denied line may still come back and be inspected; other returns are
    /// forgotten with the retention.
    fn after_life(&mut self, id: &str, _plan: &Plan, programs: &[&Program]) {
        let inspects = programs
            .iter()
            .any(|p| p.inspects() || p.times_refunds_from_inspection());
        let Some(open) = self.open.get(id) else { return };
        let over = open.verdicts.iter().all(|v| {
            let waiting_review = v.lines.iter().any(|l| l.decision == "review");
            let nothing_back = life::nothing_back(&open.case, &v.shipping);
            let waiting_goods = inspects && !nothing_back && v.lines.iter().any(|l| l.inspected_at.is_none());
            !waiting_review && !waiting_goods
        });
        if over {
            self.open.remove(id);
        }
    }
}

fn never_judged(id: &str) -> InputError {
    err(
        "return_id",
        format!("return \"{id}\" was never judged: its request was refused, or it is past the retention"),
    )
}

fn before_request(at: Stamp, open: &Open) -> InputError {
    err(
        "at",
        format!(
            "{} is before the return was requested ({})",
            shown(at),
            shown(open.case.ret.requested_at.with_timezone(at.offset()))
        ),
    )
}

fn inspect_error(e: InspectError) -> InputError {
    match e {
        InspectError::NoSuchLine(_) | InspectError::Again { .. } => err("sku", e.to_string()),
        InspectError::BeforeRequest => err("at", e.to_string()),
        InspectError::Input(e) => e,
    }
}

/// The record of an open return's verdicts as they stand.
fn life_record(open: &Open) -> Judged {
    let status = implied_status(open.verdicts.first().map_or("review", |v| v.decision.as_ref())).to_string();
    Judged {
        return_id: open.case.ret.id.clone(),
        order_id: open.order_id.clone(),
        customer_id: open.case.order.customer_id.clone(),
        label: open.label,
        status,
        on_cancelled_order: open.on_cancelled_order,
        verdicts: open.verdicts.clone(),
        case: None,
        delta: Delta::default(),
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
    customer: &Customer,
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
    // The restrictions earlier verdicts set, after the profile's own.
    let given = state.profile.as_ref().map_or(0, |p| p.restrictions.len());
    let set: Vec<Value> = customer
        .restrictions
        .iter()
        .skip(given)
        .map(|x| {
            let mut o = json!({"kind": x.kind, "until": time(x.until)});
            if let Some(since) = x.since {
                o["since"] = time(since);
            }
            if let Some(because) = &x.because {
                o["because"] = json!(because);
            }
            o
        })
        .collect();
    if !set.is_empty() {
        if case.get("customer").is_none() {
            case["customer"] = json!({"id": customer.id});
        }
        let list = case["customer"]
            .as_object_mut()
            .map(|c| c.entry("restrictions").or_insert_with(|| json!([])));
        if let Some(Value::Array(list)) = list {
            list.extend(set);
        }
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
