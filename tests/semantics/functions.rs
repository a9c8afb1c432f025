//! docs/language.md §5: functions.

use serde_json::json;

use crate::support::*;

/// A probe under a policy in `tz`.
fn holds_in(tz: &str, cond: &str, c: &CaseB) -> bool {
    let src = format!(
        "policy \"T\" {{ currency \"CNY\" timezone \"{tz}\" default deny }}\n\
         rule probe {{ when {cond} approve }}"
    );
    let v = judge(&src, c);
    assert!(v.errors.is_empty(), "{:?}", v.errors);
    v.decision == "approve"
}

#[test]
fn days_since_counts_calendar_days() {
    // Delivered 3 Nov 15:20, requested 10 Nov 09:00: under 7 × 24 hours, yet 7 days.
    let c = case()
        .delivered("2026-11-03T15:20:00+08:00")
        .requested("2026-11-10T09:00:00+08:00");
    assert!(holds_on(
        "order.delivered_at is present and days_since(order.delivered_at) == 7",
        &c
    ));
    assert!(holds_on("days_since(now) == 0", &c));
    assert!(holds_on(r#"days_since(time("2026-11-11T12:00:00+08:00")) == -1"#, &c));
}

#[test]
fn days_since_uses_the_policy_timezone_around_midnight() {
    let cond = "order.delivered_at is present and days_since(order.delivered_at) == ";
    // 23:59 and 00:01 in Shanghai: the next day there, the same day (15:59Z, 16:01Z) in UTC.
    let c = case()
        .delivered("2026-11-03T23:59:00+08:00")
        .requested("2026-11-04T00:01:00+08:00");
    assert!(holds_in("Asia/Shanghai", &format!("{cond}1"), &c));
    assert!(holds_in("UTC", &format!("{cond}0"), &c));
    assert!(holds_in("+08:00", &format!("{cond}1"), &c));
    // 23:59Z and 00:01Z: the next day in UTC, the same day (07:59, 08:01) in Shanghai.
    let c = case()
        .delivered("2026-11-03T23:59:00Z")
        .requested("2026-11-04T00:01:00Z");
    assert!(holds_in("UTC", &format!("{cond}1"), &c));
    assert!(holds_in("Asia/Shanghai", &format!("{cond}0"), &c));
    // Across a DST change a calendar day may last 25 hours.
    let c = case()
        .delivered("2026-10-31T23:30:00-04:00")
        .requested("2026-11-01T23:30:00-05:00");
    assert!(holds_in("America/New_York", &format!("{cond}1"), &c));
}

#[test]
fn hours_since_counts_whole_hours() {
    let c = case().requested("2026-11-09T20:00:00+08:00");
    let at = |t: &str| format!(r#"hours_since(time("{t}"))"#);
    assert!(holds_on(&format!("{} == 2", at("2026-11-09T17:00:01+08:00")), &c));
    assert!(holds_on(&format!("{} == 3", at("2026-11-09T17:00:00+08:00")), &c));
    assert!(holds_on(&format!("{} == 0", at("2026-11-09T19:00:01+08:00")), &c));
    assert!(holds_on(&format!("{} == 48", at("2026-11-07T20:00:00+08:00")), &c));
    assert!(holds_on("hours_since(order.placed_at) == 202", &c));
}

#[test]
fn min_and_max() {
    all_hold(&[
        "min(1, 2) == 1",
        "max(1, 2) == 2",
        "min(-1, -2) == -2",
        "min(2.5, 3) == 2.5",
        "max(2.5, 3) == 3",
        "min(1 day, 2 hours) == 2 hours",
        "max(order.placed_at, now) == now",
        "min(order.placed_at, now) == order.placed_at",
        "max(item.amount, 150) == 150",
    ]);
}

#[test]
fn round_is_half_away_from_zero() {
    all_hold(&[
        "round(2.5, 0) == 3",
        "round(-2.5, 0) == -3",
        "round(3.5, 0) == 4",
        "round(2.4, 0) == 2",
        "round(-2.4, 0) == -2",
        "round(2.345, 2) == 2.35",
        "round(-2.345, 2) == -2.35",
        "round(2.3449, 2) == 2.34",
        "round(0.125, 2) == 0.13",
        "round(7, 2) == 7",
        "round(1 / 3, 4) == 0.3333",
    ]);
}

#[test]
fn abs_of_numbers_and_durations() {
    all_hold(&[
        "abs(-3) == 3",
        "abs(3) == 3",
        "abs(-2.5) == 2.5",
        "abs(0) == 0",
        "abs(order.placed_at - now) == now - order.placed_at",
    ]);
}

#[test]
fn lower_case() {
    let c = case().reason("CHANGED_Mind");
    assert!(holds_on("lower(return.reason) == \"changed_mind\"", &c));
    assert!(holds_on("\"changed_mind\" == lower(return.reason)", &c));
    assert!(holds_on("lower(return.reason) in [\"x\", \"changed_mind\"]", &c));
    assert!(holds_on("lower(return.reason) != \"CHANGED_Mind\"", &c));
    assert!(holds_on("lower(return.reason) == lower(\"Changed_MIND\")", &c));
    assert!(!holds_on("return.reason == \"changed_mind\"", &c));
    all_hold(&["lower(\"ÀÉÎ Straße\") == \"àéî straße\""]);
}

#[test]
fn len_of_lists() {
    let c = case()
        .set("order.tags", json!(["a", "b", "c"]))
        .set("return.evidence", json!(["photo"]));
    assert!(holds_on("len(order.tags) == 3", &c));
    assert!(holds_on("len(return.evidence) == 1", &c));
    assert!(holds_on("len(customer.tags) == 0", &c));
    all_hold(&["len([]) == 0", "len([\"a\", \"b\"]) == 2"]);
}

#[test]
fn ratio_divides_and_is_zero_when_b_is_zero() {
    all_hold(&[
        "ratio(1, 4) == 0.25",
        "ratio(3, 2) == 1.5",
        "ratio(5, 0) == 0",
        "ratio(0, 0) == 0",
        "ratio(5, 0.0) == 0",
        "ratio(item.amount, order.shipping_fee) == 0",
        "ratio(return.amount, order.total) == 1",
    ]);
}
