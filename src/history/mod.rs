//! The customer's past orders and returns, seen through a window that ends,
//! exclusive, at `now` (docs/language.md §5: `now - window <= t < now`).

use chrono::{DateTime, Duration, Utc};

use crate::data::{History, PastOrder, PastReturn};
use crate::ir::schema::Source;

/// An aggregate's value, kept by a backtest as events arrive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggValue {
    Count(i64),
    Sum(rust_decimal::Decimal),
    /// The sum no longer fits a decimal: reading it is an error.
    Overflow,
}

/// One past event, as a `where` clause sees it.
#[derive(Debug, Clone, Copy)]
pub enum Event<'a> {
    Order(&'a PastOrder),
    Return(&'a PastReturn),
}

impl<'a> Event<'a> {
    pub fn id(&self) -> &'a str {
        match self {
            Event::Order(o) => &o.id,
            Event::Return(r) => &r.id,
        }
    }

    pub fn at(&self) -> DateTime<Utc> {
        match self {
            Event::Order(o) => o.placed_at,
            Event::Return(r) => r.requested_at,
        }
    }
}

/// The window `[now - seconds, now)`, or everything before `now`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    start: Option<DateTime<Utc>>,
    end: DateTime<Utc>,
}

impl Window {
    pub fn new(now: DateTime<Utc>, seconds: Option<i64>) -> Window {
        let start = seconds
            .and_then(Duration::try_seconds)
            .and_then(|d| now.checked_sub_signed(d));
        Window { start, end: now }
    }

    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        t < self.end && self.start.is_none_or(|s| s <= t)
    }
}

/// The events of `source` inside `window`, in the order the history lists them.
pub fn events<'a>(history: &'a History, source: Source, window: Window) -> impl Iterator<Item = Event<'a>> + 'a {
    let orders = match source {
        Source::Orders => history.orders.as_slice(),
        Source::Returns => &[],
    };
    let returns = match source {
        Source::Returns => history.returns.as_slice(),
        Source::Orders => &[],
    };
    orders
        .iter()
        .map(Event::Order)
        .chain(returns.iter().map(Event::Return))
        .filter(move |e| window.contains(e.at()))
}

/// How many of `source`'s events fall in `window`: what `events(..).count()`
/// gives, without the iterator's chaining.
pub fn count(history: &History, source: Source, window: Window) -> usize {
    match source {
        Source::Returns => history
            .returns
            .iter()
            .filter(|r| window.contains(r.requested_at))
            .count(),
        Source::Orders => history.orders.iter().filter(|o| window.contains(o.placed_at)).count(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn window_includes_its_start_and_excludes_now() {
        let now = t("2026-11-30T12:00:00Z");
        let w = Window::new(now, Some(30 * 86_400));
        assert!(w.contains(t("2026-10-31T12:00:00Z")), "start is inclusive");
        assert!(!w.contains(t("2026-10-31T11:59:59Z")));
        assert!(w.contains(t("2026-11-30T11:59:59Z")));
        assert!(!w.contains(now), "now is exclusive");
        assert!(!Window::new(now, None).contains(now));
        assert!(Window::new(now, None).contains(t("2000-01-01T00:00:00Z")));
    }

    #[test]
    fn count_is_the_number_of_events_in_the_window() {
        let at = [
            "2026-10-01T00:00:00Z",
            "2026-10-31T12:00:00Z",
            "2026-11-15T00:00:00Z",
            "2026-11-30T12:00:00Z",
        ];
        let history = History {
            orders: at
                .iter()
                .map(|a| PastOrder {
                    id: (*a).into(),
                    placed_at: t(a),
                    total: rust_decimal::Decimal::ONE,
                    tags: Vec::new(),
                })
                .collect(),
            returns: at[1..]
                .iter()
                .map(|a| PastReturn {
                    id: (*a).into(),
                    order_id: "O".into(),
                    requested_at: t(a),
                    kind: "return_refund".into(),
                    reason: "other".into(),
                    amount: rust_decimal::Decimal::ONE,
                    status: "refunded".into(),
                })
                .collect(),
        };
        let now = t("2026-11-30T12:00:00Z");
        for seconds in [None, Some(30 * 86_400), Some(86_400)] {
            for source in [Source::Orders, Source::Returns] {
                let w = Window::new(now, seconds);
                assert_eq!(count(&history, source, w), events(&history, source, w).count());
            }
        }
        assert_eq!(count(&history, Source::Orders, Window::new(now, Some(30 * 86_400))), 2);
    }
}
