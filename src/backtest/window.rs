//! One aggregate over one customer's events, kept up to date as events
//! arrive: `[now - window, now)`, as `rpl judge` reads it from a case's
//! history (docs/language.md §5.9).
//!
//! `judge` reads an aggregate by visiting the window's events in history
//! order: a `where` that fails on one of them is the aggregate's error (and
//! a sum that overflows before it, the overflow). So a window also keeps the
//! events its `where` failed on, and a read that would meet one hands it
//! back: the return is then judged with that event in its history and the
//! aggregate computed from the history, and fails exactly as `judge` fails.

use std::collections::VecDeque;

use rust_decimal::Decimal;

use crate::data::{PastOrder, PastReturn, Time};
use crate::history::{AggValue, Event};
use crate::syntax::ast::AggFn;

/// A past event, owned.
#[derive(Debug, Clone)]
pub enum Past {
    Order(PastOrder),
    Return(PastReturn),
}

impl Past {
    pub fn of(event: Event<'_>) -> Past {
        match event {
            Event::Order(o) => Past::Order(o.clone()),
            Event::Return(r) => Past::Return(r.clone()),
        }
    }
}

/// An event the aggregate's `where` failed on.
#[derive(Debug, Clone)]
pub struct Failure {
    pub at: Time,
    /// The customer's event number: failures of several windows merge in
    /// stream order.
    pub seq: u64,
    /// Events the window had counted before it.
    pushed_before: u64,
    /// Without a window: the sum of those events (`None`: it overflowed).
    sum_before: Option<Decimal>,
    pub event: Past,
}

/// What reading a window gives.
pub enum Read<'w> {
    Value(AggValue),
    /// The read meets this failed event first: the aggregate must be computed
    /// from a history that holds it.
    Failed(&'w Failure),
}

#[derive(Debug, Clone, Default)]
pub struct Window {
    /// Events still inside the window (or, without a window, not yet
    /// strictly older than the latest event): time and summed amount.
    entries: VecDeque<(Time, Decimal)>,
    count: i64,
    sum: Decimal,
    /// An addition overflowed: with a window, the sum is computed again
    /// from the entries until it fits; without one, it never will.
    overflowed: bool,
    /// Events counted, ever: `entries[i]` is number `pushed - entries.len() + i`.
    pushed: u64,
    /// Failed events still inside the window; without a window, the first only
    /// (every later read meets it first). Boxed: most windows never have one,
    /// and a window is kept per customer and aggregate, so its size counts.
    #[allow(clippy::box_collection)]
    failures: Option<Box<VecDeque<Failure>>>,
}

impl Window {
    /// Adds an event at `at` (events come in time order), forgetting first
    /// what has left the window by then, so a customer who never returns
    /// anything does not pile up entries.
    pub fn push(&mut self, at: Time, amount: Decimal, window: Option<i64>) {
        self.forget(at, window);
        self.entries.push_back((at, amount));
        self.count += 1;
        self.pushed += 1;
        match self.sum.checked_add(amount) {
            Some(s) if !self.overflowed => self.sum = s,
            _ => self.overflowed = true,
        }
    }

    /// Records an event the `where` failed on.
    pub fn fail(&mut self, at: Time, seq: u64, event: Past, window: Option<i64>) {
        self.forget(at, window);
        let failures = self.failures.get_or_insert_with(Box::default);
        if window.is_none() && !failures.is_empty() {
            return;
        }
        failures.push_back(Failure {
            at,
            seq,
            pushed_before: self.pushed,
            sum_before: (!self.overflowed).then_some(self.sum),
            event,
        });
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
                    if !self.overflowed {
                        self.sum -= amount;
                    }
                }
                if let Some(failures) = &mut self.failures {
                    while failures.front().is_some_and(|f| f.at < start) {
                        failures.pop_front();
                    }
                    if failures.is_empty() {
                        self.failures = None;
                    }
                }
                if self.overflowed
                    && let Some(sum) = checked_sum(self.entries.iter().map(|e| e.1))
                {
                    self.sum = sum;
                    self.overflowed = false;
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
    pub fn value(&mut self, now: Time, window: Option<i64>, func: AggFn) -> Read<'_> {
        self.forget(now, window);
        let first = self.entries.len() as u64;
        let first = self.pushed - first;
        if let Some(f) = self.failures.as_ref().and_then(|f| f.front()).filter(|f| f.at < now) {
            // Summing the events before it may overflow first.
            let overflows = func == AggFn::Sum
                && match window {
                    None => f.sum_before.is_none(),
                    Some(_) => {
                        let before = f.pushed_before.saturating_sub(first) as usize;
                        checked_sum(self.entries.iter().take(before).map(|e| e.1)).is_none()
                    }
                };
            return match overflows {
                true => Read::Value(AggValue::Overflow),
                false => Read::Failed(f),
            };
        }
        let later = self.entries.iter().rev().take_while(|(t, _)| *t >= now);
        let (mut count, mut sum) = (self.count, self.sum);
        for &(_, amount) in later {
            count -= 1;
            if !self.overflowed {
                sum -= amount;
            }
        }
        Read::Value(match func {
            AggFn::Count => AggValue::Count(count),
            AggFn::Sum if self.overflowed => {
                // Only with a window (without one the sum never fits again):
                // what is before `now` may fit.
                let before = self.entries.iter().take_while(|(t, _)| *t < now).map(|e| e.1);
                match window.and(checked_sum(before)) {
                    Some(s) => AggValue::Sum(s),
                    None => AggValue::Overflow,
                }
            }
            AggFn::Sum => AggValue::Sum(sum),
        })
    }
}

fn checked_sum(amounts: impl Iterator<Item = Decimal>) -> Option<Decimal> {
    amounts.into_iter().try_fold(Decimal::ZERO, |s, a| s.checked_add(a))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn t(hours: i64) -> Time {
        chrono::DateTime::from_timestamp(1_790_000_000 + hours * 3600, 0).unwrap()
    }

    fn value(w: &mut Window, now: Time, window: Option<i64>, func: AggFn) -> Option<AggValue> {
        match w.value(now, window, func) {
            Read::Value(v) => Some(v),
            Read::Failed(_) => None,
        }
    }

    fn past(id: &str) -> Past {
        Past::Order(PastOrder {
            id: id.into(),
            placed_at: t(0),
            total: Decimal::ONE,
            tags: Vec::new(),
        })
    }

    #[test]
    fn a_failure_is_met_while_it_is_in_the_window() {
        let day = Some(24 * 3600);
        let mut w = Window::default();
        w.push(t(0), Decimal::ONE, day);
        w.fail(t(1), 7, past("bad"), day);
        w.push(t(2), Decimal::ONE, day);
        // At the failure's own instant it is not yet in the window.
        assert_eq!(value(&mut w, t(1), day, AggFn::Count), Some(AggValue::Count(1)));
        assert!(matches!(w.value(t(3), day, AggFn::Count), Read::Failed(f) if f.seq == 7));
        assert!(value(&mut w, t(25), day, AggFn::Count).is_none());
        // Once it has left the window, the aggregate reads again.
        assert_eq!(value(&mut w, t(26), day, AggFn::Count), Some(AggValue::Count(1)));
    }

    #[test]
    fn without_a_window_the_first_failure_stays() {
        let mut w = Window::default();
        w.fail(t(1), 1, past("first"), None);
        w.fail(t(2), 2, past("second"), None);
        assert!(matches!(w.value(t(3000), None, AggFn::Sum), Read::Failed(f) if f.seq == 1));
    }

    #[test]
    fn a_sum_that_overflows_before_the_failure_is_an_overflow() {
        let day = Some(24 * 3600);
        let mut w = Window::default();
        w.push(t(0), Decimal::MAX, day);
        w.push(t(1), Decimal::MAX, day);
        w.fail(t(2), 3, past("bad"), day);
        assert_eq!(value(&mut w, t(3), day, AggFn::Sum), Some(AggValue::Overflow));
        assert!(value(&mut w, t(3), day, AggFn::Count).is_none());
        // One of the two left: what is before the failure fits, so the failure is met.
        assert!(value(&mut w, t(24) + chrono::Duration::seconds(1), day, AggFn::Sum).is_none());
        let mut open = Window::default();
        open.push(t(0), Decimal::MAX, None);
        open.push(t(1), Decimal::MAX, None);
        open.fail(t(2), 3, past("bad"), None);
        assert_eq!(value(&mut open, t(3), None, AggFn::Sum), Some(AggValue::Overflow));
    }

    #[test]
    fn an_overflowed_window_sums_again_once_it_fits() {
        let day = Some(24 * 3600);
        let mut w = Window::default();
        w.push(t(0), Decimal::MAX, day);
        w.push(t(12), Decimal::MAX, day);
        assert_eq!(value(&mut w, t(13), day, AggFn::Sum), Some(AggValue::Overflow));
        // Before the second came in, the first alone fit.
        assert_eq!(value(&mut w, t(12), day, AggFn::Sum), Some(AggValue::Sum(Decimal::MAX)));
        assert_eq!(value(&mut w, t(25), day, AggFn::Sum), Some(AggValue::Sum(Decimal::MAX)));
        w.push(t(26), Decimal::ONE, day);
        assert_eq!(value(&mut w, t(27), day, AggFn::Sum), Some(AggValue::Overflow));
        assert_eq!(value(&mut w, t(37), day, AggFn::Sum), Some(AggValue::Sum(Decimal::ONE)));
    }
}
