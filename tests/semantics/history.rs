//! docs/language.md §5: history aggregates, windows and `where`.

use crate::support::*;

/// now = 2026-11-30T12:00:00+08:00.
const NOW: &str = "2026-11-30T12:00:00+08:00";

fn at_now() -> CaseB {
    case().delivered("2026-11-28T12:00:00+08:00").requested(NOW)
}

#[test]
fn a_window_includes_its_start_and_excludes_now() {
    let c = at_now()
        .past_return("2026-10-31T12:00:00+08:00", "return_refund", "1", "refunded") // now - 30 days: in
        .past_return("2026-10-31T11:59:59+08:00", "return_refund", "1", "refunded") // 1 s earlier: out
        .past_return("2026-11-30T11:59:59+08:00", "return_refund", "1", "refunded") // 1 s before now: in
        .past_return(NOW, "return_refund", "1", "refunded"); // at now: out (after now is an input error)
    assert!(holds_on("count(returns in last 30 days) == 2", &c));
    // Without a window: every event strictly before now.
    assert!(holds_on("count(returns) == 3", &c));
}

#[test]
fn a_window_is_a_duration_not_calendar_days() {
    // New York leaves DST on 1 Nov 2026: the same wall-clock time 30 calendar
    // days earlier is 30 × 24 hours + 1 hour back, outside the window.
    let src = "policy \"T\" { currency \"CNY\" timezone \"America/New_York\" default deny }\n\
               rule probe { when count(returns in last 30 days) == 1 approve }";
    let c = case()
        .requested("2026-11-20T12:00:00-05:00")
        .past_return("2026-10-21T12:00:00-04:00", "return_refund", "1", "refunded") // 721 h: out
        .past_return("2026-10-21T13:00:00-04:00", "return_refund", "1", "refunded"); // 720 h: in
    let v = judge(src, &c);
    assert_eq!(v.decision, "approve", "{v:#?}");
}

#[test]
fn windows_in_every_unit() {
    let c = at_now()
        .past_return("2026-11-30T11:30:00+08:00", "return_refund", "1", "refunded") // 30 min
        .past_return("2026-11-30T10:00:00+08:00", "return_refund", "1", "refunded") // 2 h
        .past_return("2026-11-28T12:00:00+08:00", "return_refund", "1", "refunded") // 2 days
        .past_return("2026-11-20T12:00:00+08:00", "return_refund", "1", "refunded"); // 10 days
    for (window, n) in [
        ("30 minutes", 1),
        ("1 hour", 1),
        ("2 hours", 2),
        ("48 hours", 3),
        ("2 days", 3),
        ("1 week", 3),
        ("2 weeks", 4),
    ] {
        assert!(
            holds_on(&format!("count(returns in last {window}) == {n}"), &c),
            "{window}"
        );
    }
}

#[test]
fn where_sees_the_events_fields_by_bare_name() {
    let c = at_now()
        .past_return("2026-11-01T00:00:00+08:00", "refund_only", "50.00", "refunded")
        .past_return("2026-11-02T00:00:00+08:00", "refund_only", "70.00", "rejected")
        .past_return("2026-11-03T00:00:00+08:00", "return_refund", "30.00", "refunded")
        .past_return("2026-06-01T00:00:00+08:00", "refund_only", "999.00", "refunded");
    for cond in [
        "count(returns in last 90 days where type == \"refund_only\") == 2",
        "count(returns where type == \"refund_only\") == 3",
        "count(returns in last 90 days where status == \"refunded\") == 2",
        "count(returns in last 90 days where amount > 40) == 2",
        "count(returns in last 90 days where reason == \"changed_mind\" and order_id == \"O-0\") == 3",
        "count(returns in last 90 days where id == \"PR-2\") == 1",
        "count(returns in last 90 days where requested_at >= date(\"2026-11-02\")) == 2",
        // A bare name means the event's field, the same name outside means the request's.
        "count(returns in last 90 days where type == return.type) == 1",
        "count(returns where amount > item.amount) == 1",
    ] {
        assert!(holds_on(cond, &c), "{cond}");
    }
    let c = c.kind("refund_only");
    assert!(holds_on(
        "count(returns in last 90 days where type == return.type) == 2",
        &c
    ));
}

#[test]
fn sum_adds_up_amounts() {
    let c = at_now()
        .past_return("2026-11-01T00:00:00+08:00", "refund_only", "50.10", "refunded")
        .past_return("2026-11-02T00:00:00+08:00", "refund_only", "70.00", "rejected")
        .past_return("2026-11-03T00:00:00+08:00", "return_refund", "30.20", "refunded")
        .past_return("2026-06-01T00:00:00+08:00", "refund_only", "999.00", "refunded");
    for cond in [
        "sum(returns.amount in last 90 days where status == \"refunded\") == 80.30",
        "sum(returns.amount in last 90 days) == 150.30",
        "sum(returns.amount) == 1149.30",
        "sum(returns.amount in last 1 hour) == 0",
    ] {
        assert!(holds_on(cond, &c), "{cond}");
    }
}

#[test]
fn orders_in_the_history() {
    let c = at_now()
        .past_order("2026-09-01T12:00:00+08:00", "120.00") // 90 days before now: in
        .past_order("2026-09-01T11:59:59+08:00", "80.00") // out
        .past_order("2026-11-29T00:00:00+08:00", "15.50")
        .past_order(NOW, "1000.00"); // at now: out
    for cond in [
        "count(orders in last 90 days) == 2",
        "count(orders) == 3",
        "sum(orders.total in last 90 days) == 135.50",
        "count(orders in last 90 days where total > 100) == 1",
        "count(orders where placed_at < date(\"2026-10-01\")) == 2",
    ] {
        assert!(holds_on(cond, &c), "{cond}");
    }
    let c = c.set(
        "history.orders",
        serde_json::json!([
            {"id": "P1", "placed_at": "2026-11-01T00:00:00Z", "total": "1", "tags": ["double11"]},
            {"id": "P2", "placed_at": "2026-11-02T00:00:00Z", "total": "1"}
        ]),
    );
    assert!(holds_on(
        "count(orders where \"double11\" in tags) == 1 and count(orders where id == \"P2\") == 1",
        &c
    ));
}

#[test]
fn an_empty_history_counts_zero() {
    all_hold(&[
        "count(returns) == 0",
        "count(orders in last 30 days) == 0",
        "sum(returns.amount) == 0",
    ]);
}

#[test]
fn aggregates_that_read_the_item_are_per_line() {
    let c = at_now()
        .items(&[("A", "apparel", "50.00", 1), ("B", "apparel", "200.00", 1)])
        .returns(&[("A", 1), ("B", 1)])
        .past_return("2026-11-01T00:00:00+08:00", "return_refund", "100.00", "refunded");
    let v = run(
        "rule probe { when count(returns where amount > item.amount) == 1 approve }",
        &c,
    );
    assert_eq!(decisions(&v), ["approve", "deny"]);
    assert_eq!(v.decision, "partial");
}

#[test]
fn lets_over_per_line_aggregates_are_per_line() {
    let c = at_now()
        .items(&[("A", "apparel", "50.00", 1), ("B", "apparel", "200.00", 1)])
        .returns(&[("A", 1), ("B", 1)])
        .past_return("2026-11-01T00:00:00+08:00", "return_refund", "100.00", "refunded");
    let v = run(
        "let bigger = count(returns where amount > item.amount)\n\
         let flagged = bigger >= 1\n\
         rule probe { when flagged approve }",
        &c,
    );
    assert_eq!(decisions(&v), ["approve", "deny"]);
    // And the other way round, so a value cached from the first line would show.
    let v = run(
        "let bigger = count(returns where amount > item.amount)\n\
         rule probe { when bigger == 0 approve }",
        &c,
    );
    assert_eq!(decisions(&v), ["deny", "approve"]);
}
