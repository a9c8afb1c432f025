//! One evaluation: the case, the line being judged, the event a `where` is
//! looking at, and the caches of lets and aggregates.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::Program;
use super::compiled::{self, Closure};
use super::value::{self, ErrKind, Eval, EvalError, Kind, Value, str_matches, type_error};
use crate::data::{Case, ReturnLine, Scalar};
use crate::history::{self, AggValue, Event};
use crate::ir::schema::{EventField, Field};
use crate::ir::{AttrObject, Func, Lit, Node, NodeId};
use crate::syntax::ast::AggFn;

type Slot<'a> = Option<Result<Value<'a>, EvalError>>;

pub(super) struct Frame<'a> {
    pub(super) p: &'a Program,
    /// `None` while a backtest evaluates an aggregate's filter on an event alone.
    pub(super) case: Option<&'a Case>,
    /// Aggregates a backtest keeps up to date itself, by index.
    provided: &'a [Option<AggValue>],
    pub(super) line: Option<&'a ReturnLine>,
    pub(super) event: Option<Event<'a>>,
    pub(super) risk: i64,
    pub(super) now: DateTime<Utc>,
    /// Today's date in the policy's zone as an epoch day, once asked for.
    today: Option<i64>,
    /// The last time whose date was asked for, and its date: `days_since`
    /// of one field in several rules looks the zone up once.
    last_day: Option<(DateTime<Utc>, i64)>,
    /// The last window an aggregate looked through, by its length.
    last_window: Option<(Option<i64>, history::Window)>,
    pub(super) lets: Vec<Slot<'a>>,
    pub(super) aggs: Vec<Slot<'a>>,
    attrs: Vec<Option<&'a Scalar>>,
    /// Which flags fired, by index: known once the flags ran, read by rules and tables.
    fired: Vec<bool>,
    pub(super) trace: Option<Trace<'a>>,
    /// Whether roots run their compiled code (see `compiled`): not while
    /// explaining, which records every node's value, nor on the reference path.
    compiled: bool,
    /// Nodes evaluated and events visited, added to [`steps`] when the frame ends.
    pub(super) steps: u64,
    /// The texts last looked up in the program's string table, by address
    /// and length, with their numbers (`NOT_A_SYMBOL`: not in it): a field
    /// tested against several lists (`return.reason`) is looked up once.
    symbols: [(usize, usize, u32); SYMBOL_CACHE],
    next_symbol: usize,
}

const SYMBOL_CACHE: usize = 8;
const NOT_A_SYMBOL: u32 = u32::MAX;
const NO_SYMBOLS: [(usize, usize, u32); SYMBOL_CACHE] = [(0, usize::MAX, NOT_A_SYMBOL); SYMBOL_CACHE];

thread_local! {
    static STEPS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// How many evaluation steps (nodes evaluated, history events visited) this
/// thread has taken so far. A deterministic measure of judging's cost, for
/// tests that show it grows linearly (docs/language.md §9).
#[cfg(feature = "internals")]
pub fn steps() -> u64 {
    STEPS.with(std::cell::Cell::get)
}

impl Drop for Frame<'_> {
    fn drop(&mut self) {
        STEPS.with(|s| s.set(s.get().wrapping_add(self.steps)));
    }
}

/// What explaining records: the value of each node evaluated for the
/// construct at hand, and the events each aggregate counted.
#[derive(Default)]
pub(super) struct Trace<'a> {
    /// Each node's latest value, with the construct that computed it.
    pub values: HashMap<NodeId, (Value<'a>, u32)>,
    pub construct: u32,
    pub evidence: HashMap<u32, (Value<'a>, Vec<&'a str>)>,
}

/// The buffers of a frame, kept between cases so that judging allocates
/// nothing once they have grown to the policy's size.
#[derive(Default)]
pub struct Scratch {
    lets: Vec<Slot<'static>>,
    aggs: Vec<Slot<'static>>,
    attrs: Vec<Option<&'static Scalar>>,
    fired: Vec<bool>,
}

/// An empty vector on the allocation of `v`: the two element types differ
/// only in lifetimes, so collecting in place reuses the memory.
fn recycle<Static, U>(v: Vec<Static>) -> Vec<U> {
    v.into_iter().filter_map(|_| None).collect()
}

/// The line's inspection, missing before there is one.
fn inspected(line: &ReturnLine, id: NodeId) -> Result<&crate::data::Inspection, EvalError> {
    line.inspection.as_ref().ok_or(EvalError {
        node: id,
        kind: ErrKind::Missing,
    })
}

fn find<'a>(attrs: &'a [(String, Scalar)], name: &str) -> Option<&'a Scalar> {
    attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

impl<'a> Frame<'a> {
    /// A frame over the buffers of `scratch`, for a verdict: with the
    /// aggregates a backtest provides, and explaining or not.
    pub(super) fn new(
        p: &'a Program,
        case: &'a Case,
        provided: &'a [Option<AggValue>],
        explain: bool,
        scratch: &mut Scratch,
    ) -> Frame<'a> {
        Frame::build(p, case, provided, explain, std::mem::take(scratch))
    }

    /// A frame over the buffers of `scratch` (see [`Frame::return_scratch`]).
    pub(super) fn with_scratch(p: &'a Program, case: &'a Case, scratch: &mut Scratch) -> Frame<'a> {
        Frame::build(p, case, &[], false, std::mem::take(scratch))
    }

    /// Hands the frame's buffers back for the next case.
    pub(super) fn return_scratch(&mut self, scratch: &mut Scratch) {
        scratch.lets = recycle(std::mem::take(&mut self.lets));
        scratch.aggs = recycle(std::mem::take(&mut self.aggs));
        scratch.attrs = recycle(std::mem::take(&mut self.attrs));
        scratch.fired = std::mem::take(&mut self.fired);
    }

    fn build(
        p: &'a Program,
        case: &'a Case,
        provided: &'a [Option<AggValue>],
        explain: bool,
        scratch: Scratch,
    ) -> Frame<'a> {
        let now = case.ret.requested_at;
        let mut lets: Vec<Slot<'a>> = recycle(scratch.lets);
        lets.clear();
        lets.resize(p.ir.lets.len(), None);
        let mut aggs: Vec<Slot<'a>> = recycle(scratch.aggs);
        aggs.clear();
        aggs.resize(p.ir.aggs.len(), None);
        let mut attrs: Vec<Option<&'a Scalar>> = recycle(scratch.attrs);
        attrs.clear();
        attrs.extend(p.ir.attrs.iter().map(|slot| match slot.object {
            AttrObject::Order => find(&case.order.attrs, &slot.name),
            AttrObject::Return => find(&case.ret.attrs, &slot.name),
            AttrObject::Customer => find(&case.customer.attrs, &slot.name),
            AttrObject::Item => None,
        }));
        let mut fired = scratch.fired;
        fired.clear();
        fired.resize(p.ir.flags.len(), false);
        Frame {
            p,
            case: Some(case),
            provided,
            line: None,
            event: None,
            risk: 0,
            now,
            today: None,
            last_day: None,
            last_window: None,
            lets,
            aggs,
            attrs,
            fired,
            trace: explain.then(Trace::default),
            compiled: !explain,
            steps: 0,
            symbols: NO_SYMBOLS,
            next_symbol: 0,
        }
    }

    /// The returned lines of the case.
    pub(super) fn lines(&self) -> &'a [ReturnLine] {
        self.case.map_or(&[], |c| c.ret.items.as_slice())
    }

    /// A frame with no case, in which an aggregate's event-only filter is
    /// evaluated on one event.
    pub(super) fn for_event(p: &'a Program, event: Event<'a>) -> Frame<'a> {
        let now = event.at();
        Frame {
            p,
            case: None,
            provided: &[],
            line: None,
            event: Some(event),
            risk: 0,
            now,
            today: None,
            last_day: None,
            last_window: None,
            lets: Vec::new(),
            aggs: Vec::new(),
            attrs: Vec::new(),
            fired: Vec::new(),
            trace: None,
            compiled: true,
            steps: 0,
            symbols: NO_SYMBOLS,
            next_symbol: 0,
        }
    }

    /// Evaluates a condition in this frame: its compiled code, or the tree walk.
    pub(super) fn test(&mut self, node: NodeId) -> Result<bool, EvalError> {
        let p = self.p;
        if self.compiled
            && let Some(Closure::Bool(code)) = p.code.root(node)
        {
            return code(self);
        }
        self.bool(node)
    }

    /// Evaluates with the tree walk only, for the reference path.
    pub(super) fn without_code(mut self) -> Self {
        self.compiled = false;
        self
    }

    /// The number of `s` in the program's string table. A text the frame
    /// hands out lives as long as the frame, so its address and length name
    /// it while the frame lasts.
    pub(super) fn symbol(&mut self, s: &'a str) -> Option<u32> {
        let key = (s.as_ptr() as usize, s.len());
        let symbol = match self.symbols.iter().find(|(p, l, _)| (*p, *l) == key) {
            Some(&(_, _, symbol)) => symbol,
            None => {
                let symbol = self.p.code.symbol(s).unwrap_or(NOT_A_SYMBOL);
                self.symbols[self.next_symbol] = (key.0, key.1, symbol);
                self.next_symbol = (self.next_symbol + 1) % SYMBOL_CACHE;
                symbol
            }
        };
        (symbol != NOT_A_SYMBOL).then_some(symbol)
    }

    /// Calendar days from `t` to now in the policy's zone.
    pub(super) fn days_since(&mut self, t: DateTime<Utc>) -> i64 {
        let tz = self.p.ir.header.timezone;
        let now = self.now;
        let today = *self.today.get_or_insert_with(|| tz.epoch_day(now));
        let day = match self.last_day {
            Some((last, day)) if last == t => day,
            _ => {
                let day = tz.epoch_day(t);
                self.last_day = Some((t, day));
                day
            }
        };
        today - day
    }

    /// Records that flag `i` fired, for the rules and tables that name it.
    pub(super) fn set_fired(&mut self, i: usize) {
        if let Some(slot) = self.fired.get_mut(i) {
            *slot = true;
        }
    }

    /// Whether flag `i` fired (the node at `id` asks). Only rules and tables
    /// ask, after every flag ran.
    pub(super) fn fired(&self, i: u32, id: NodeId) -> Result<bool, EvalError> {
        self.fired.get(i as usize).copied().ok_or_else(|| Self::missing(id))
    }

    pub(super) fn set_risk(&mut self, risk: i64) {
        self.risk = risk;
        // Lets that read `risk` may have been cached before it was known; only
        // rules and tables read it, and they run from here on.
        for slot in &mut self.lets {
            *slot = None;
        }
    }

    pub(super) fn begin_line(&mut self, line: &'a ReturnLine) {
        self.line = Some(line);
        for &i in &self.p.ir.per_line_lets {
            self.lets[i as usize] = None;
        }
        for &i in &self.p.ir.per_line_aggs {
            self.aggs[i as usize] = None;
            if let Some(t) = &mut self.trace {
                t.evidence.remove(&i);
            }
        }
        for (slot, bound) in self.p.ir.attrs.iter().zip(self.attrs.iter_mut()) {
            if slot.object == AttrObject::Item {
                *bound = find(&line.attrs, &slot.name);
            }
        }
    }

    pub(super) fn begin_construct(&mut self) {
        // Values are kept across constructs: a let's body is evaluated once
        // and explained wherever the let is used.
        if let Some(t) = &mut self.trace {
            t.construct += 1;
        }
    }

    /// Whether `when` holds and `unless` does not (a missing `when` holds).
    pub(super) fn holds(&mut self, when: Option<NodeId>, unless: Option<NodeId>) -> Result<bool, EvalError> {
        if let Some(w) = when
            && !self.test(w)?
        {
            return Ok(false);
        }
        match unless {
            Some(u) => Ok(!self.test(u)?),
            None => Ok(true),
        }
    }

    /// An amount of money that must not be negative.
    pub(super) fn deduction(&mut self, node: NodeId) -> Result<Decimal, EvalError> {
        let p = self.p;
        let v = match p.code.root(node) {
            Some(code) if self.compiled => compiled::run(code, self)?,
            _ => self.eval(node)?,
        };
        let d = v.as_dec().ok_or_else(|| type_error(node, Kind::Amount, &v))?;
        if d.is_sign_negative() && !d.is_zero() {
            return Err(EvalError {
                node,
                kind: ErrKind::NegativeDeduction,
            });
        }
        Ok(d)
    }

    fn bool(&mut self, node: NodeId) -> Result<bool, EvalError> {
        match self.eval(node)? {
            Value::Bool(b) => Ok(b),
            other => Err(type_error(node, Kind::Boolean, &other)),
        }
    }

    fn missing(node: NodeId) -> EvalError {
        EvalError {
            node,
            kind: ErrKind::Missing,
        }
    }

    pub(super) fn eval(&mut self, id: NodeId) -> Eval<'a> {
        self.steps += 1;
        let v = self.eval_inner(id)?;
        if let Some(t) = &mut self.trace {
            t.values.insert(id, (v, t.construct));
        }
        Ok(v)
    }

    fn eval_inner(&mut self, id: NodeId) -> Eval<'a> {
        let p = self.p;
        let Some(node) = p.ir.nodes.get(id as usize) else {
            return Err(Self::missing(id));
        };
        Ok(match node {
            Node::Lit(l) => match l {
                Lit::Bool(b) => Value::Bool(*b),
                Lit::Int(i) => Value::Int(*i),
                Lit::Dec(d) => Value::Dec(*d),
                Lit::Str(s) => Value::Str(s),
                Lit::Time(t) => Value::Time(*t),
                Lit::Dur(d) => Value::Dur(*d),
            },
            Node::List(_) | Node::Concat(..) => Value::List(id),
            Node::Field(f) => self.field(*f, id)?,
            Node::Event(f) => self.event_field(*f, id)?,
            Node::Attr(slot) => self.attr(*slot, id)?,
            Node::Let(i) => {
                let i = *i as usize;
                if let Some(cached) = self.lets.get(i).copied().flatten() {
                    return cached;
                }
                let body = p.ir.lets.get(i).map_or(id, |l| l.body);
                let r = self.eval(body);
                if let Some(slot) = self.lets.get_mut(i) {
                    *slot = Some(r);
                }
                r?
            }
            Node::Agg(i) => {
                let i = *i as usize;
                if let Some(cached) = self.aggs.get(i).copied().flatten() {
                    return cached;
                }
                let r = self.aggregate(i, id);
                if let Some(slot) = self.aggs.get_mut(i) {
                    *slot = Some(r);
                }
                r?
            }
            Node::Risk => Value::Int(self.risk),
            Node::Flag(i) => Value::Bool(self.fired(*i, id)?),
            Node::Now => Value::Time(self.now),
            Node::Not(x) => Value::Bool(!self.bool(*x)?),
            Node::Neg(x) => {
                let v = self.eval(*x)?;
                value::negate(id, v)?
            }
            Node::And(a, b) => Value::Bool(self.bool(*a)? && self.bool(*b)?),
            Node::Or(a, b) => Value::Bool(self.bool(*a)? || self.bool(*b)?),
            Node::If(c, a, b) => {
                let branch = if self.bool(*c)? { *a } else { *b };
                self.eval(branch)?
            }
            Node::Cmp(op, a, b) => {
                let x = self.eval(*a)?;
                let y = self.eval(*b)?;
                Value::Bool(value::compare(id, *op, x, y)?)
            }
            Node::In(needle, list, negated) => {
                let n = self.eval(*needle)?;
                Value::Bool(self.member(id, n, *list)? != *negated)
            }
            Node::Arith(op, a, b) => {
                let x = self.eval(*a)?;
                let y = self.eval(*b)?;
                value::arith(id, *op, x, y)?
            }
            Node::Is(x, present) => match self.eval(*x) {
                Ok(_) => Value::Bool(*present),
                Err(e) if e.kind == ErrKind::Missing => Value::Bool(!*present),
                Err(e) => return Err(e),
            },
            Node::Call(f, a, b) => self.call(id, *f, *a, *b)?,
        })
    }

    /// An attribute's value, typed as the case gives it.
    pub(super) fn attr(&self, slot: u32, id: NodeId) -> Eval<'a> {
        Ok(match self.attrs.get(slot as usize).copied().flatten() {
            Some(Scalar::Bool(b)) => Value::Bool(*b),
            Some(Scalar::Int(i)) => Value::Int(*i),
            Some(Scalar::Dec(d)) => Value::Dec(*d),
            Some(Scalar::Str(s)) => Value::Str(s),
            Some(Scalar::Null) | None => return Err(Self::missing(id)),
        })
    }

    fn call(&mut self, id: NodeId, f: Func, a: NodeId, b: Option<NodeId>) -> Eval<'a> {
        let x = self.eval(a)?;
        let y = match b {
            Some(b) => Some(self.eval(b)?),
            None => None,
        };
        self.apply(id, f, a, x, y.unwrap_or(x))
    }

    /// A built-in function on its evaluated arguments (`a` is the first
    /// argument's node, which `len` walks).
    pub(super) fn apply(&mut self, id: NodeId, f: Func, a: NodeId, x: Value<'a>, y: Value<'a>) -> Eval<'a> {
        Ok(match f {
            Func::DaysSince => match x {
                Value::Time(t) => Value::Int(self.days_since(t)),
                other => return Err(type_error(id, Kind::Time, &other)),
            },
            Func::HoursSince => match x {
                Value::Time(t) => Value::Int((self.now - t).num_hours()),
                other => return Err(type_error(id, Kind::Time, &other)),
            },
            Func::Min => value::pick(id, x, y, false)?,
            Func::Max => value::pick(id, x, y, true)?,
            Func::Round => value::round(id, x, y)?,
            Func::Abs => value::abs(id, x)?,
            Func::Lower => match x {
                Value::Str(s) | Value::Lower(s) => Value::Lower(s),
                other => return Err(type_error(id, Kind::String, &other)),
            },
            Func::Len => Value::Int(self.list_len(a, x)?),
            Func::Ratio => value::ratio(id, x, y)?,
        })
    }

    /// Whether the string `n` is in the list at `list` (the `in` at `id`).
    pub(super) fn member(&mut self, id: NodeId, n: Value<'a>, list: NodeId) -> Result<bool, EvalError> {
        if !matches!(n, Value::Str(_) | Value::Lower(_)) {
            return Err(type_error(id, Kind::String, &n));
        }
        self.contains(list, n)
    }

    /// Walks a list value without building it.
    fn contains(&mut self, list: NodeId, needle: Value<'a>) -> Result<bool, EvalError> {
        let v = self.eval(list)?;
        let Value::List(node) = v else {
            return Err(type_error(list, Kind::List, &v));
        };
        let p = self.p;
        match p.ir.nodes.get(node as usize) {
            Some(Node::List(i)) => Ok(p
                .ir
                .lists
                .get(*i as usize)
                .is_some_and(|l| l.iter().any(|s| str_matches(needle, s)))),
            Some(Node::Concat(a, b)) => Ok(self.contains(*a, needle)? || self.contains(*b, needle)?),
            _ => {
                let (first, second) = self.list_slices(node)?;
                Ok(first.iter().chain(second).any(|s| str_matches(needle, s)))
            }
        }
    }

    fn list_len(&mut self, at: NodeId, v: Value<'a>) -> Result<i64, EvalError> {
        let Value::List(node) = v else {
            return Err(type_error(at, Kind::List, &v));
        };
        let p = self.p;
        let n = match p.ir.nodes.get(node as usize) {
            Some(Node::List(i)) => p.ir.lists.get(*i as usize).map_or(0, Vec::len),
            Some(Node::Concat(a, b)) => {
                let (a, b) = (*a, *b);
                let x = self.eval(a)?;
                let y = self.eval(b)?;
                return Ok(self.list_len(a, x)? + self.list_len(b, y)?);
            }
            _ => {
                let (first, second) = self.list_slices(node)?;
                first.len() + second.len()
            }
        };
        Ok(n as i64)
    }

    /// A list read from the case: at most two slices (an item's tags are its
    /// order line's, then its return line's).
    pub(super) fn list_slices(&mut self, node: NodeId) -> Result<(&'a [String], &'a [String]), EvalError> {
        let none: &'a [String] = &[];
        // A backtest tests a `where` on an event alone, with no case.
        let case = || self.case.ok_or_else(|| Self::missing(node));
        match self.p.ir.nodes.get(node as usize) {
            Some(Node::Field(Field::OrderTags)) => Ok((&case()?.order.tags, none)),
            Some(Node::Field(Field::ReturnEvidence)) => Ok((&case()?.ret.evidence, none)),
            Some(Node::Field(Field::CustomerTags)) => Ok((&case()?.customer.tags, none)),
            Some(Node::Field(Field::CustomerRestrictions)) => Ok((&case()?.customer.restricted, none)),
            Some(Node::Field(Field::InspectedPhotos)) => {
                let line = self.line.ok_or_else(|| Self::missing(node))?;
                let found = line.inspection.as_ref().ok_or_else(|| Self::missing(node))?;
                Ok((&found.photos, none))
            }
            Some(Node::Field(Field::ItemTags)) => {
                let line = self.line.ok_or_else(|| Self::missing(node))?;
                Ok((&line.tags, none))
            }
            Some(Node::Event(EventField::OrderTags)) => match self.event {
                Some(Event::Order(o)) => Ok((&o.tags, none)),
                _ => Err(Self::missing(node)),
            },
            _ => Err(Self::missing(node)),
        }
    }

    fn field(&mut self, f: Field, id: NodeId) -> Eval<'a> {
        let case = self.case.ok_or_else(|| Self::missing(id))?;
        let o = &case.order;
        let r = &case.ret;
        let c = &case.customer;
        let time = |t: Option<DateTime<Utc>>| t.map(Value::Time).ok_or_else(|| Self::missing(id));
        let line = || self.line.ok_or_else(|| Self::missing(id));
        Ok(match f {
            Field::OrderId => Value::Str(&o.id),
            Field::OrderCustomerId => Value::Str(&o.customer_id),
            Field::OrderCurrency => Value::Str(&o.currency),
            Field::OrderPlacedAt => Value::Time(o.placed_at),
            Field::OrderPaidAt => time(o.paid_at)?,
            Field::OrderShippedAt => time(o.shipped_at)?,
            Field::OrderDeliveredAt => time(o.delivered_at)?,
            Field::OrderTotal => Value::Dec(o.total),
            Field::OrderShippingFee => Value::Dec(o.shipping_fee),
            Field::OrderShippingInsurance => Value::Bool(o.shipping_insurance),
            Field::ItemSku => Value::Str(&line()?.sku),
            Field::ItemCategory => Value::Str(&line()?.category),
            Field::ItemUnitPrice => Value::Dec(line()?.unit_price),
            Field::ItemQuantity => Value::Int(line()?.quantity),
            Field::ItemOrderedQuantity => Value::Int(line()?.ordered_quantity),
            Field::ItemAmount => Value::Dec(line()?.amount),
            Field::ItemCondition => Value::Str(&line()?.condition),
            Field::ReturnId => Value::Str(&r.id),
            Field::ReturnRequestedAt => Value::Time(r.requested_at),
            Field::ReturnType => Value::Str(&r.kind),
            Field::ReturnReason => Value::Str(&r.reason),
            Field::ReturnAmount => Value::Dec(r.amount),
            Field::ReturnItemCount => Value::Int(r.items.len() as i64),
            Field::CustomerId => Value::Str(&c.id),
            Field::CustomerCreatedAt => time(c.created_at)?,
            Field::CustomerVip => Value::Bool(c.vip),
            Field::InspectedAt => Value::Time(inspected(line()?, id)?.at),
            Field::InspectedCondition => Value::Str(&inspected(line()?, id)?.condition),
            Field::InspectedQuantity => Value::Int(inspected(line()?, id)?.quantity_received),
            Field::InspectedTagsAttached => {
                Value::Bool(inspected(line()?, id)?.tags_attached.ok_or(Self::missing(id))?)
            }
            Field::InspectedPackagingIntact => {
                Value::Bool(inspected(line()?, id)?.packaging_intact.ok_or(Self::missing(id))?)
            }
            Field::InspectedSerial => Value::Str(inspected(line()?, id)?.serial.as_deref().ok_or(Self::missing(id))?),
            Field::InspectedSkuMatch => Value::Bool(inspected(line()?, id)?.sku_match.ok_or(Self::missing(id))?),
            Field::OrderTags
            | Field::ItemTags
            | Field::ReturnEvidence
            | Field::CustomerTags
            | Field::InspectedPhotos
            | Field::CustomerRestrictions => {
                // A list the case may not have: an inspection's photos, before it.
                if f == Field::InspectedPhotos {
                    inspected(line()?, id)?;
                }
                Value::List(id)
            }
        })
    }

    fn event_field(&mut self, f: EventField, id: NodeId) -> Eval<'a> {
        Ok(match (self.event, f) {
            (Some(Event::Order(o)), EventField::OrderId) => Value::Str(&o.id),
            (Some(Event::Order(o)), EventField::OrderPlacedAt) => Value::Time(o.placed_at),
            (Some(Event::Order(o)), EventField::OrderTotal) => Value::Dec(o.total),
            (Some(Event::Order(_)), EventField::OrderTags) => Value::List(id),
            (Some(Event::Return(r)), EventField::ReturnId) => Value::Str(&r.id),
            (Some(Event::Return(r)), EventField::ReturnOrderId) => Value::Str(&r.order_id),
            (Some(Event::Return(r)), EventField::ReturnRequestedAt) => Value::Time(r.requested_at),
            (Some(Event::Return(r)), EventField::ReturnType) => Value::Str(&r.kind),
            (Some(Event::Return(r)), EventField::ReturnReason) => Value::Str(&r.reason),
            (Some(Event::Return(r)), EventField::ReturnAmount) => Value::Dec(r.amount),
            (Some(Event::Return(r)), EventField::ReturnStatus) => Value::Str(&r.status),
            _ => return Err(Self::missing(id)),
        })
    }

    pub(super) fn aggregate(&mut self, i: usize, id: NodeId) -> Eval<'a> {
        let p = self.p;
        let Some(agg) = p.ir.aggs.get(i) else {
            return Err(Self::missing(id));
        };
        if let Some(Some(v)) = self.provided.get(i) {
            return match *v {
                AggValue::Count(n) => Ok(Value::Int(n)),
                AggValue::Sum(d) => Ok(Value::Dec(d)),
                AggValue::Overflow => Err(EvalError {
                    node: id,
                    kind: ErrKind::Overflow,
                }),
            };
        }
        let Some(case) = self.case else {
            return Err(Self::missing(id));
        };
        let window = match self.last_window {
            Some((seconds, w)) if seconds == agg.window => w,
            _ => {
                let w = history::Window::new(self.now, agg.window);
                self.last_window = Some((agg.window, w));
                w
            }
        };
        if agg.filter.is_none() && agg.func == AggFn::Count && self.trace.is_none() {
            // A plain count: the events in the window, visited one by one.
            let n = history::count(&case.history, agg.source, window);
            self.steps += n as u64;
            return Ok(Value::Int(n as i64));
        }
        let mut count: i64 = 0;
        let mut sum = Decimal::ZERO;
        let mut ids = Vec::new();
        let outer = self.event;
        for event in history::events(&case.history, agg.source, window) {
            self.steps += 1;
            if let Some(filter) = agg.filter {
                self.event = Some(event);
                let keep = self.test(filter);
                self.event = outer;
                if !keep? {
                    continue;
                }
            }
            count += 1;
            if let Some(field) = agg.field {
                let amount = match (event, field) {
                    (Event::Return(r), EventField::ReturnAmount) => r.amount,
                    (Event::Order(o), EventField::OrderTotal) => o.total,
                    _ => Decimal::ZERO,
                };
                sum = sum.checked_add(amount).ok_or(EvalError {
                    node: id,
                    kind: ErrKind::Overflow,
                })?;
            }
            if self.trace.is_some() {
                ids.push(event.id());
            }
        }
        let value = match agg.func {
            AggFn::Count => Value::Int(count),
            AggFn::Sum => Value::Dec(sum),
        };
        if let Some(t) = &mut self.trace {
            t.evidence.insert(i as u32, (value, ids));
        }
        Ok(value)
    }
}
