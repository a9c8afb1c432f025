//! The backtest's state machine for one caller, one event at a time: what
//! `rpl backtest` does to each line of a stream, without the stream. A
//! service that applies event lines "exactly as `rpl backtest` would" feeds
//! them here; the backtest's driver runs the very same router and shard,
//! split over threads.

use serde::Serialize;

use super::Options;
use super::driver::{Kind, Outcome, handle};
use super::events::{Event, Label, Stamp, parse_event};
use super::router::Router;
use super::state::{Judged, Plan, Shard};
use crate::Program;
use crate::data::InputError;
use crate::eval::Verdict;

/// One line of an event stream, read (docs/language.md §11.1).
#[derive(Debug)]
pub struct StreamEvent(Event);

impl StreamEvent {
    /// Reads one line, with every check a backtest makes of it alone.
    pub fn parse(line: &str) -> Result<StreamEvent, InputError> {
        parse_event(line).map(StreamEvent)
    }

    /// `customer`, `order`, `order_update` or `return`.
    pub fn kind(&self) -> &'static str {
        match &self.0 {
            Event::Customer(..) => "customer",
            Event::Order(..) => "order",
            Event::OrderUpdate(..) => "order_update",
            Event::Return(..) => "return",
            Event::ReviewDecision(..) => "review_decision",
            Event::Inspection(..) => "inspection",
        }
    }

    /// Its place in the stream's time, as the line wrote it: an order's
    /// `placed_at`, an update's `at`, a return's `requested_at`; a customer
    /// has none.
    pub fn at(&self) -> Option<Stamp> {
        self.0.at()
    }
}

/// What applying an event did.
#[derive(Debug)]
#[non_exhaustive]
pub enum Applied {
    /// A customer's profile was replaced.
    Customer,
    /// An order was placed.
    Order,
    /// An order's times were updated.
    OrderUpdate,
    /// A return was judged, and joined its customer's history.
    Return(Box<Judged>),
    /// A review decision or an inspection: the return's verdicts after it.
    Life(Box<Judged>),
    /// A review decision or an inspection of a return with nothing left to decide.
    Settled,
}

/// Every customer's state, applying events in stream order. An event that is
/// refused leaves the state as it was, except that a line whose time was
/// accepted still moves the stream's clock (as in a backtest, §11.8).
pub struct Replay<'p> {
    programs: Vec<&'p Program>,
    plan: Plan,
    router: Router,
    shard: Shard,
}

impl<'p> Replay<'p> {
    /// An empty history, judged by `programs` (the policy, and optionally
    /// one to compare it with: the history's implied statuses are the
    /// first's). Of `opts`, only `order_retention_days` applies.
    pub fn new(programs: &[&'p Program], opts: &Options) -> Replay<'p> {
        let retention = opts.order_retention_days.saturating_mul(86_400);
        Replay {
            programs: programs.to_vec(),
            plan: Plan::new(programs, None, &opts.layers),
            router: Router::new(retention, 1),
            shard: Shard::new(retention),
        }
    }

    /// Applies one event.
    pub fn apply(&mut self, event: StreamEvent) -> Result<Applied, InputError> {
        let event = event.0;
        self.router.route(&event)?;
        match handle(&mut self.shard, event, 0, &self.plan, &self.programs) {
            Outcome::Done(Kind::Customer) => Ok(Applied::Customer),
            Outcome::Done(Kind::Order) => Ok(Applied::Order),
            Outcome::Done(Kind::OrderUpdate) => Ok(Applied::OrderUpdate),
            Outcome::Done(Kind::Settled) => Ok(Applied::Settled),
            Outcome::Judged(judged) => Ok(Applied::Return(judged)),
            Outcome::Life(judged, _) => Ok(Applied::Life(judged)),
            Outcome::Invalid(e, _) => Err(e),
        }
    }

    /// Reads and applies one line.
    pub fn apply_line(&mut self, line: &str) -> Result<Applied, InputError> {
        self.apply(StreamEvent::parse(line)?)
    }
}

/// One line of `--out` (docs/language.md §11.13).
#[derive(Serialize)]
struct Record<'a> {
    line: u64,
    return_id: &'a str,
    order_id: &'a str,
    customer_id: &'a str,
    label: Option<Label>,
    verdict: Option<&'a Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    compare: Option<&'a Verdict>,
}

impl Judged {
    /// The record `rpl backtest --out` writes for this return, found at
    /// `line` of the stream: one line of JSON, without its line ending.
    pub fn record(&self, line: u64) -> String {
        let record = Record {
            line,
            return_id: &self.return_id,
            order_id: &self.order_id,
            customer_id: &self.customer_id,
            label: self.label,
            verdict: self.verdicts.first(),
            compare: self.verdicts.get(1),
        };
        serde_json::to_string(&record).unwrap_or_default()
    }
}
