//! A return's life in a backtest (docs/language.md §11.17, §16): review
//! decisions and timeouts, inspections, and restrictions kept on the
//! customer, visible to later requests point-in-time.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;

use serde_json::{Value, json};

fn policy() -> rpl::Program {
    let src = std::fs::read_to_string("tests/verdicts/life/policy.rpl").unwrap();
    rpl::compile(&src).unwrap().program
}

fn order(id: &str, at: &str) -> Value {
    json!({"event": "order", "id": id, "customer_id": "C-1", "currency": "CNY", "placed_at": at,
           "delivered_at": at,
           "items": [{"sku": "A", "category": "apparel", "unit_price": "100.00", "quantity": 1},
                     {"sku": "B", "category": "apparel", "unit_price": "50.00", "quantity": 2}]})
}

fn ret(id: &str, order: &str, at: &str, kind: &str, items: Value) -> Value {
    json!({"event": "return", "order_id": order, "id": id, "requested_at": at, "type": kind,
           "reason": "changed_mind", "items": items})
}

fn inspection(id: &str, sku: &str, at: &str, received: i64, sku_match: bool) -> Value {
    json!({"event": "inspection", "return_id": id, "sku": sku, "at": at, "quantity_received": received,
           "condition": "unused", "sku_match": sku_match, "photos": ["https://img.example/x.jpg"]})
}

fn stream() -> Vec<Value> {
    vec![
        json!({"event": "customer", "id": "C-1", "created_at": "2026-01-01T00:00:00+08:00"}),
        order("O-1", "2026-11-03T10:00:00+08:00"),
        // A approved; B worn: a person has 24 hours, then it is denied.
        ret(
            "R-1",
            "O-1",
            "2026-11-10T09:00:00+08:00",
            "return_refund",
            json!([{"sku": "A", "quantity": 1, "condition": "unused"}, {"sku": "B", "quantity": 2, "condition": "used"}]),
        ),
        json!({"event": "review_decision", "return_id": "R-1", "at": "2026-11-10T12:00:00+08:00",
               "decision": "approve", "by": "agent-7", "reason": "Worn once, fine"}),
        order("O-2", "2026-11-13T10:00:00+08:00"),
        // A different item came back: denied, refund-only off for 180 days from now.
        inspection("R-1", "A", "2026-11-14T10:00:00+08:00", 1, false),
        inspection("R-1", "B", "2026-11-14T10:00:00+08:00", 2, true),
        // At the very moment the restriction is set: not yet in force.
        ret(
            "R-2",
            "O-2",
            "2026-11-14T10:00:00+08:00",
            "refund_only",
            json!([{"sku": "A", "quantity": 1, "condition": "damaged"}]),
        ),
        // Later: in force, refund-only is refused.
        ret(
            "R-3",
            "O-2",
            "2026-11-20T09:00:00+08:00",
            "refund_only",
            json!([{"sku": "A", "quantity": 1, "condition": "damaged"}]),
        ),
        // Worn, and nobody decides: denied at its due time (the stream goes on past it).
        ret(
            "R-4",
            "O-2",
            "2026-11-20T10:00:00+08:00",
            "return_refund",
            json!([{"sku": "B", "quantity": 1, "condition": "used"}]),
        ),
        order("O-3", "2026-11-25T10:00:00+08:00"),
    ]
}

fn run(events: &[Value], threads: usize, skip_invalid: bool) -> (Vec<Value>, rpl::BacktestSummary) {
    let text: String = events.iter().map(|e| e.to_string() + "\n").collect();
    let program = policy();
    let mut out = Vec::new();
    let mut opts = rpl::BacktestOptions::default();
    opts.threads = threads;
    opts.skip_invalid = skip_invalid;
    opts.chunk_lines = 3;
    let summary = rpl::backtest(&[&program], Cursor::new(text), Some(&mut out), &opts, |_| {}).unwrap();
    let records = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (records, summary)
}

fn line<'a>(v: &'a Value, sku: &str) -> &'a Value {
    v["lines"].as_array().unwrap().iter().find(|l| l["sku"] == sku).unwrap()
}

#[test]
fn a_stream_replays_each_return_s_life() {
    let (records, summary) = run(&stream(), 1, false);
    let at = |n: u64| records.iter().find(|r| r["line"] == n).unwrap()["verdict"].clone();
    // The request: B in review, due in 24 hours, denied if nobody decides.
    let request = at(3);
    assert_eq!(request["decision"], "review");
    assert_eq!(line(&request, "B")["review_due"], "2026-11-11T09:00:00+08:00");
    assert_eq!(line(&request, "B")["on_timeout"], "deny");
    assert!(request.get("stage").is_none());
    // A person's decision settles it, with who and why.
    let reviewed = at(4);
    assert_eq!(reviewed["stage"], "review");
    assert_eq!(reviewed["decision"], "approve");
    assert_eq!(reviewed["reviews"][0]["by"], "agent-7");
    assert_eq!(reviewed["reviews"][0]["reason"], "Worn once, fine");
    assert_eq!(reviewed["request"]["decision"], "review");
    // The inspections: A swapped (denied, restricted), B all back (refund due 3 days on).
    let swapped = at(6);
    assert_eq!(swapped["stage"], "inspection");
    assert_eq!(line(&swapped, "A")["decision"], "deny");
    assert_eq!(swapped["restrictions"][0]["kind"], "refund_only");
    assert_eq!(swapped["restrictions"][0]["since"], "2026-11-14T10:00:00+08:00");
    let inspected = at(7);
    assert_eq!(inspected["decision"], "partial");
    assert_eq!(line(&inspected, "B")["refund_due"], "2026-11-17T10:00:00+08:00");
    // Point in time: the restriction set at 10:00 is not known to a request at 10:00 …
    assert_eq!(at(8)["decision"], "approve");
    // … and is to one after it.
    let later = at(9);
    assert_eq!(later["decision"], "deny");
    assert_eq!(line(&later, "A")["rules"][0]["rule"], "refund_only_off");
    // Nobody decided R-4: at the stream's end, it is denied at its due time.
    let last = records.last().unwrap();
    assert_eq!(last["return_id"], "R-4");
    assert_eq!(last["line"], 10);
    assert_eq!(last["verdict"]["decision"], "deny");
    assert_eq!(last["verdict"]["reviews"][0]["timed_out"], true);
    assert_eq!(last["verdict"]["reviews"][0]["at"], "2026-11-21T10:00:00+08:00");
    let life = summary.life.unwrap();
    assert_eq!(
        (
            life.review_decisions,
            life.inspections,
            life.inspections_changed,
            life.timeouts
        ),
        (1, 2, 1, 1)
    );
    assert_eq!(summary.returns, 4);
    // Rules `at inspection` count among the rules that fired.
    let fired = |name: &str| summary.policy.rules.iter().find(|r| r.name == name).unwrap().fired;
    assert_eq!(fired("swapped"), 1);
}

#[test]
fn threads_do_not_change_a_life() {
    let (one, s1) = run(&stream(), 1, false);
    let (three, s3) = run(&stream(), 3, false);
    assert_eq!(one, three);
    assert_eq!(s1.life, s3.life);
}

#[test]
fn a_review_due_before_the_decision_has_timed_out() {
    let mut events = stream();
    // The decision comes a day late: the timeout (deny) decided first.
    events[3]["at"] = json!("2026-11-12T12:00:00+08:00");
    let (records, _) = run(&events, 1, false);
    let v = &records.iter().find(|r| r["line"] == 4).unwrap()["verdict"];
    assert_eq!(line(v, "B")["decision"], "deny");
    assert_eq!(v["reviews"].as_array().unwrap().len(), 1);
    assert_eq!(v["reviews"][0]["timed_out"], true);
}

#[test]
fn bad_life_events_name_their_path() {
    let mut events = stream();
    events.insert(4, json!({"event": "review_decision", "return_id": "R-1", "at": "2026-11-10T13:00:00+08:00", "decision": "aprove"}));
    events.insert(
        5,
        json!({"event": "review_decision", "return_id": "R-9", "at": "2026-11-10T13:00:00+08:00", "decision": "deny"}),
    );
    events.insert(6, inspection("R-1", "Z", "2026-11-10T13:00:00+08:00", 1, true));
    events.insert(
        7,
        json!({"event": "inspection", "return_id": "R-1", "sku": "A", "at": "2026-11-10T13:00:00+08:00"}),
    );
    // The same line inspected twice.
    events.insert(10, inspection("R-1", "A", "2026-11-14T10:00:00+08:00", 1, true));
    events.insert(11, json!({"event": "inspection", "return_id": "R-1", "sku": "B", "at": "2026-11-14T10:00:00+08:00", "quantity_received": -1}));
    let (_, summary) = run(&events, 1, true);
    let reasons: Vec<String> = summary
        .invalid
        .iter()
        .map(|i| format!("{}: {}", i.line, i.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            "5: decision: \"aprove\" is not a review's decision; did you mean \"approve\"?",
            "6: return_id: return \"R-9\" is unknown (never seen earlier in the stream, or asked for more than 180 days before)",
            "7: sku: the return has no line \"Z\"",
            "8: quantity_received: missing",
            "11: sku: line \"A\" was inspected already, at 2026-11-14T10:00:00+08:00",
            "12: quantity_received: -1 is not a whole number, 0 or more",
        ],
        "{reasons:#?}"
    );
}
