//! Backtests judge each return exactly as `rpl judge` would judge the case
//! built from the stream so far. The property test below rebuilds every such
//! case from generated streams, on its own, as JSON, and compares verdicts.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::io::Cursor;

use serde_json::{Value, json};

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// A policy whose aggregates take every path: kept up to date (plain,
/// filtered on status, summed, without a window) and rescanned (a `where`
/// that reads the case).
const POLICY: &str = r#"
policy "Backtest paths" { currency "CNY" timezone "Asia/Shanghai" default approve }
let recent = count(returns in last 30 days)
flag busy { when recent >= 3 score 30 }
flag refund_only { when count(returns in last 10 days where type == "refund_only") >= 2 score 30 }
flag big_refunds { when sum(returns.amount in last 30 days where status == "refunded") > 500 score 20 }
flag lifetime { when count(returns) >= 6 score 10 }
flag many_orders { when count(orders in last 7 days where total >= 100) >= 2 score 5 }
flag promotions { when count(orders in last 30 days where "double11" in tags) >= 2 score 5 }
rule same_order_again {
  when   count(returns where order_id == order.id) >= 1
  review "Second return on one order"
}
rule risky { when risk >= 50 deny "Too risky" }
rule new_account {
  when   customer.created_at is present and days_since(customer.created_at) < 3
  review "New account"
}
"#;

/// Aggregates whose `where` fails on some events (a division by zero on
/// amounts of 100, totals of 240, amounts of 600), all kept as windows: with
/// and without a window, counted and summed. No raw history is kept for them.
const FAILING: &str = r#"
policy "Failing wheres" { currency "CNY" timezone "Asia/Shanghai" default approve }
flag odd { when count(returns in last 2 days where amount / (amount - 100) > 1) >= 1 score 50 }
flag big { when sum(returns.amount in last 3 days where amount / (amount - 600) >= 0) > 100 score 10 }
flag lifetime { when count(orders where total / (total - 240) > 0) >= 1 score 10 }
flag signed { when order.delivered_at is present and return.reason == "not_received" score 20 }
flag shipped { when order.shipped_at is present and hours_since(order.shipped_at) < 24 score 5 }
flag paid { when order.paid_at is missing score 5 }
rule hold { when risk >= 50 review "Held" }
"#;

/// The same, and an aggregate rescanned per return (its `where` reads the
/// case) over a shorter window than the others: raw history is kept for
/// one day only, and fails on its own events too.
fn failing_rescanned() -> String {
    FAILING.to_string()
        + "flag rescanned { when count(returns in last 1 days where amount / (order.total - 240) > 0) >= 1 score 10 }\n"
}

const HOUR: i64 = 3600;

/// Times on a 12-hour grid, so events tie and land exactly on window edges.
fn time(step: i64) -> String {
    let base = chrono::DateTime::parse_from_rfc3339("2026-10-01T00:00:00+08:00").unwrap();
    (base + chrono::Duration::seconds(step * 12 * HOUR)).to_rfc3339()
}

fn instant(text: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(text.as_str().unwrap()).unwrap()
}

/// A random stream: a few customers, orders, order updates, returns (some on
/// the same order, some with their own status), profile updates along the way.
fn stream(seed: u64) -> Vec<Value> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let size = 10 + rng.below(40);
    stream_of(&mut rng, size)
}

const TIMES: [&str; 4] = ["paid_at", "shipped_at", "delivered_at", "cancelled_at"];

/// An order as the generator below has set it: the step of each time.
struct Made {
    id: String,
    placed: i64,
    times: [Option<i64>; 4],
}

fn stream_of(rng: &mut Rng, size: u64) -> Vec<Value> {
    let mut events = Vec::new();
    let mut orders: Vec<Made> = Vec::new();
    let customers = 1 + rng.below(3);
    for c in 0..customers {
        let created = time(-(rng.below(8) as i64));
        events.push(json!({"event": "customer", "id": format!("C-{c}"), "created_at": created, "vip": false}));
    }
    let mut step = 0;
    for n in 0..size {
        step += rng.below(3) as i64; // 0: same instant as the event before
        match rng.below(13) {
            0 => {
                let (id, vip) = (format!("C-{}", rng.below(customers)), rng.below(2) == 0);
                events.push(json!({"event": "customer", "id": id, "created_at": time(step - 10), "vip": vip}));
            }
            1..=4 => {
                let id = format!("O-{n}");
                let price = [50, 120, 300][rng.below(3) as usize];
                let customer = format!("C-{}", rng.below(customers));
                let mut order = json!({
                    "event": "order", "id": id, "customer_id": customer, "currency": "CNY", "placed_at": time(step),
                    "items": [{"sku": "A", "category": "apparel", "unit_price": format!("{price}.00"), "quantity": 2}]
                });
                // Some orders come exported late, with times of their future.
                let mut times = [None; 4];
                if rng.below(3) > 0 {
                    times[0] = Some(step + rng.below(2) as i64);
                }
                if times[0].is_some() && rng.below(4) == 0 {
                    times[1] = times[0].map(|p| p + rng.below(3) as i64);
                    if rng.below(2) == 0 {
                        times[2] = times[1].map(|s| s + 1 + rng.below(3) as i64);
                    }
                } else if rng.below(12) == 0 {
                    times[3] = Some(step + rng.below(2) as i64);
                }
                for (key, t) in TIMES.iter().zip(times) {
                    if let Some(t) = t {
                        order[*key] = json!(time(t));
                    }
                }
                if rng.below(2) == 0 {
                    order["tags"] = json!(["double11"]);
                }
                events.push(order);
                orders.push(Made {
                    id,
                    placed: step,
                    times,
                });
            }
            5..=7 if !orders.is_empty() => {
                // An update to a recent order: the next of its times, at or a
                // step before now; now and then one it already has, sent again.
                let recent = orders.len().min(8);
                let k = orders.len() - recent + rng.below(recent as u64) as usize;
                let made = &mut orders[k];
                let next = (0..3).find(|&i| made.times[i].is_none());
                let resend = (0..4).find(|&i| made.times[i].is_some_and(|t| t <= step));
                let mut update = json!({"event": "order_update", "id": made.id, "at": time(step)});
                let cancellable = made.times[1].is_none() && made.times[3].is_none();
                match (next, resend) {
                    (_, Some(i)) if rng.below(6) == 0 => update[TIMES[i]] = json!(time(made.times[i].unwrap())),
                    _ if cancellable && rng.below(6) == 0 => {
                        made.times[3] = Some(step);
                        update["cancelled_at"] = json!(time(step));
                    }
                    (Some(i), _) if made.times[3].is_none() => {
                        let floor = made.times[..i].iter().flatten().copied().max().unwrap_or(made.placed);
                        let value = (step - rng.below(2) as i64).max(floor);
                        if value > step {
                            continue;
                        }
                        made.times[i] = Some(value);
                        update[TIMES[i]] = json!(time(value));
                        // Now and then two at once.
                        if i == 1 && rng.below(3) == 0 {
                            made.times[2] = Some(step);
                            update["delivered_at"] = json!(time(step));
                        }
                    }
                    _ => continue,
                }
                events.push(update);
            }
            _ if !orders.is_empty() => {
                // Returns follow recent orders, as they do in life (and within the retention).
                let recent = orders.len().min(40);
                let order_id = &orders[orders.len() - recent + rng.below(recent as u64) as usize].id;
                let kind = ["return_refund", "refund_only"][rng.below(2) as usize];
                let reason = ["changed_mind", "not_received"][rng.below(2) as usize];
                let label = ["ok", "abuse"][rng.below(2) as usize];
                let quantity = 1 + rng.below(2);
                let mut r = json!({
                    "event": "return", "id": format!("R-{n}"), "order_id": order_id, "requested_at": time(step),
                    "type": kind, "reason": reason,
                    "items": [{"sku": "A", "quantity": quantity, "condition": "unused"}],
                    "label": label
                });
                if rng.below(4) == 0 {
                    let status = ["refunded", "rejected", "cancelled"][rng.below(3) as usize];
                    r["status"] = json!(status);
                }
                events.push(r);
            }
            _ => {}
        }
    }
    events
}

fn without(v: &Value, keys: &[&str]) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        for k in keys {
            o.remove(*k);
        }
    }
    v
}

/// What a person knows of an order: what it was placed with, and each time
/// with the moment it became known (its own moment when the order gave it,
/// the update's `at` when an update did; a time is set once).
struct Known {
    base: Value,
    times: Vec<(&'static str, Value, chrono::DateTime<chrono::FixedOffset>)>,
}

impl Known {
    /// The order as it was known strictly before `now`.
    fn before(&self, now: chrono::DateTime<chrono::FixedOffset>) -> Value {
        let mut order = self.base.clone();
        for (key, value, since) in &self.times {
            if *since < now && *key != "cancelled_at" {
                order[*key] = value.clone();
            }
        }
        order
    }

    fn set(&mut self, key: &'static str, value: &Value, since: chrono::DateTime<chrono::FixedOffset>) {
        if !self.times.iter().any(|(k, ..)| *k == key) {
            self.times.push((key, value.clone(), since));
        }
    }
}

/// What `rpl judge` says of each return, with cases rebuilt from the stream
/// as a person would: the order as known before the request, the latest
/// profile, and every earlier order and return of the customer (with its
/// own status, or the one its verdict implies). Also: how many returns were
/// on orders known to be cancelled.
fn reference_verdicts(program: &rpl::Program, events: &[Value]) -> (Vec<String>, u64) {
    let mut profiles: HashMap<String, Value> = HashMap::new();
    let mut orders: HashMap<String, Known> = HashMap::new();
    let mut past_orders: HashMap<String, Vec<Value>> = HashMap::new();
    let mut past_returns: HashMap<String, Vec<Value>> = HashMap::new();
    // The restrictions earlier verdicts set on each customer.
    let mut restrictions: HashMap<String, Vec<Value>> = HashMap::new();
    let mut out = Vec::new();
    let mut cancelled = 0;
    for e in events {
        match e["event"].as_str().unwrap() {
            "customer" => {
                profiles.insert(e["id"].as_str().unwrap().to_string(), without(e, &["event"]));
            }
            "order" => {
                let mut known = Known {
                    base: without(e, &["event", "paid_at", "shipped_at", "delivered_at", "cancelled_at"]),
                    times: Vec::new(),
                };
                for key in TIMES {
                    if let Some(t) = e.get(key) {
                        known.set(key, t, instant(t));
                    }
                }
                let parsed = rpl::internals::parse_order(&known.base, "order").unwrap();
                past_orders.entry(parsed.customer_id.clone()).or_default().push(json!({
                    "id": parsed.id, "placed_at": e["placed_at"], "total": parsed.total.to_string(), "tags": parsed.tags
                }));
                orders.insert(parsed.id.clone(), known);
            }
            "order_update" => {
                let known = orders.get_mut(e["id"].as_str().unwrap()).unwrap();
                for key in TIMES {
                    if let Some(t) = e.get(key) {
                        known.set(key, t, instant(&e["at"]));
                    }
                }
            }
            _ => {
                let now = instant(&e["requested_at"]);
                let known = &orders[e["order_id"].as_str().unwrap()];
                cancelled += u64::from(
                    known
                        .times
                        .iter()
                        .any(|(k, _, since)| *k == "cancelled_at" && *since < now),
                );
                let order = known.before(now);
                let customer_id = order["customer_id"].as_str().unwrap().to_string();
                let mut case = json!({
                    "order": order,
                    "return": without(e, &["event", "order_id", "status", "label"]),
                    "history": {
                        "orders": past_orders.get(&customer_id).cloned().unwrap_or_default(),
                        "returns": past_returns.get(&customer_id).cloned().unwrap_or_default(),
                    }
                });
                if let Some(p) = profiles.get(&customer_id) {
                    case["customer"] = p.clone();
                }
                // Those set strictly before the request are known to it.
                let known: Vec<Value> = restrictions
                    .get(&customer_id)
                    .into_iter()
                    .flatten()
                    .filter(|r| instant(&r["since"]) < now)
                    .cloned()
                    .collect();
                if !known.is_empty() {
                    if case.get("customer").is_none() {
                        case["customer"] = json!({ "id": customer_id });
                    }
                    case["customer"]["restrictions"] = Value::Array(known);
                }
                let case = rpl::parse_case_value(&case).unwrap();
                let verdict = program.judge(&case).unwrap();
                for r in &verdict.restrictions {
                    restrictions.entry(customer_id.clone()).or_default().push(json!({
                        "kind": r.kind, "since": r.since, "until": r.until, "because": r.because
                    }));
                }
                let status = e["status"].as_str().map(str::to_string).unwrap_or_else(|| {
                    match verdict.decision.as_ref() {
                        "approve" => "refunded",
                        "deny" => "rejected",
                        _ => "pending",
                    }
                    .to_string()
                });
                past_returns.entry(customer_id).or_default().push(json!({
                    "id": e["id"], "order_id": e["order_id"], "requested_at": e["requested_at"], "type": e["type"],
                    "reason": e["reason"], "amount": case.ret.amount.to_string(), "status": status
                }));
                out.push(serde_json::to_value(&verdict).unwrap().to_string());
            }
        }
    }
    (out, cancelled)
}

/// The backtest's records, and its summary.
fn backtest(programs: &[&rpl::Program], events: &[Value], threads: usize) -> (Vec<Value>, rpl::BacktestSummary) {
    let text: String = events.iter().map(|e| e.to_string() + "\n").collect();
    let mut out = Vec::new();
    let mut opts = rpl::BacktestOptions::default();
    opts.threads = threads;
    opts.chunk_lines = 7;
    let summary = rpl::backtest(programs, Cursor::new(text), Some(&mut out), &opts, |_| {}).unwrap();
    let lines = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (lines, summary)
}

/// The verdicts of a backtest's records, as `judge` prints them.
fn verdicts(records: &[Value]) -> Vec<String> {
    records.iter().map(|r| r["verdict"].to_string()).collect()
}

#[test]
fn every_verdict_equals_judge_on_the_rebuilt_case() {
    let compiled = rpl::compile(POLICY).unwrap();
    let failing = rpl::compile(FAILING).unwrap();
    let rescanned = rpl::compile(&failing_rescanned()).unwrap();
    let risk = rpl::compile(&std::fs::read_to_string("policies/risk.rpl").unwrap()).unwrap();
    let mut judged = 0;
    let (mut updates, mut cancelled, mut with_errors) = (0, 0, 0);
    for seed in 0..300 {
        let events = stream(seed);
        for program in [&compiled.program, &failing.program, &rescanned.program, &risk.program] {
            let (expected, on_cancelled) = reference_verdicts(program, &events);
            for threads in [1, 3] {
                let (records, summary) = backtest(&[program], &events, threads);
                let actual = verdicts(&records);
                assert_eq!(summary.returns as usize, expected.len());
                assert_eq!(summary.cancelled_order_returns, on_cancelled, "seed {seed}");
                for (i, (a, e)) in actual.iter().zip(&expected).enumerate() {
                    assert_eq!(
                        a, e,
                        "seed {seed}, return #{i}, {threads} threads: the backtest and judge disagree"
                    );
                }
                judged += actual.len();
                updates += summary.order_updates;
                cancelled += on_cancelled;
                with_errors += summary.policy.with_errors;
            }
        }
    }
    assert!(
        judged > 15_000 && updates > 3_000 && cancelled > 50 && with_errors > 500,
        "only {judged} returns judged, {updates} updates, {cancelled} returns on cancelled orders, \
         {with_errors} with errors: the generator has drifted"
    );
}

#[test]
fn threads_do_not_change_the_output() {
    let compiled = rpl::compile(POLICY).unwrap();
    let risk = rpl::compile(&std::fs::read_to_string("policies/risk.rpl").unwrap()).unwrap();
    let programs = [&compiled.program, &risk.program];
    let events = stream_of(&mut Rng(42), 3000);
    assert!(events.iter().any(|e| e["event"] == "order_update"));
    let (one, s1) = backtest(&programs, &events, 1);
    for threads in [2, 4] {
        let (many, s) = backtest(&programs, &events, threads);
        assert_eq!(one, many);
        assert_eq!(serde_json::to_string(&s1).unwrap(), serde_json::to_string(&s).unwrap());
    }
}

#[test]
fn keys_given_twice_are_refused_with_their_path() {
    let risk = rpl::compile(&std::fs::read_to_string("policies/risk.rpl").unwrap()).unwrap();
    let text = std::fs::read_to_string("tests/backtest/duplicate_keys.jsonl").unwrap();
    let mut opts = rpl::BacktestOptions::default();
    opts.skip_invalid = true;
    let summary = rpl::backtest(&[&risk.program], Cursor::new(text), None, &opts, |_| {}).unwrap();
    let invalid: Vec<String> = summary
        .invalid
        .iter()
        .map(|i| format!("line {}: {}", i.line, i.reason))
        .collect();
    assert_eq!(
        invalid,
        [
            r#"line 1: vip: the key "vip" appears twice in one object"#,
            r#"line 2: items[0].unit_price: the key "unit_price" appears twice in one object"#,
            r#"line 3: attrs.channel: the key "channel" appears twice in one object"#,
            r#"line 4: note: the key "note" appears twice in one object"#,
            r#"line 5: items[1].attrs.a.b: the key "b" appears twice in one object"#,
            r#"line 6: event: the key "event" appears twice in one object"#,
        ]
    );
}

/// Bytes that are not UTF-8 stop the run where they are read, as before the
/// reading was batched: the chunks before theirs are replayed and written,
/// whatever the thread count, and a bad event earlier still comes first.
#[test]
fn a_read_error_waits_for_the_lines_before_it() {
    let risk = rpl::compile(&std::fs::read_to_string("policies/risk.rpl").unwrap()).unwrap();
    let events = stream_of(&mut Rng(7), 400);
    let lines: Vec<String> = events.iter().map(Value::to_string).collect();
    let run = |bytes: &[u8], threads: usize| {
        let mut out = Vec::new();
        let mut opts = rpl::BacktestOptions::default();
        opts.threads = threads;
        opts.chunk_lines = 7;
        let result = rpl::backtest(&[&risk.program], Cursor::new(bytes), Some(&mut out), &opts, |_| {});
        (result.map(|s| s.returns).map_err(|e| e.to_string()), out)
    };
    // Line 31 is in the fifth chunk of seven: four chunks are replayed.
    let mut bad = lines[..30].join("\n").into_bytes();
    bad.extend_from_slice(b"\n{\"event\": \"\xff\"}\n");
    bad.extend_from_slice(lines[30..].join("\n").as_bytes());
    let (_, expected) = run(lines[..28].join("\n").as_bytes(), 1);
    for threads in [1, 2, 3] {
        let (result, out) = run(&bad, threads);
        assert_eq!(
            result,
            Err("cannot read the stream: stream did not contain valid UTF-8".to_string())
        );
        assert_eq!(out, expected, "{threads} threads");
    }
    // A bad event in the fourth chunk stops the run before the read error.
    let mut worse = lines[..25].join("\n").into_bytes();
    worse.extend_from_slice(b"\n{}\n");
    worse.extend_from_slice(&bad[lines[..25].join("\n").len() + 1..]);
    for threads in [1, 2] {
        let (result, _) = run(&worse, threads);
        assert_eq!(
            result,
            Err(
                "line 26: event: missing (customer, order, order_update, return, review_decision or inspection)"
                    .to_string()
            )
        );
    }
}

/// `rpl::backtest_case` gives, for every return, a case that `judge` judges
/// exactly as the backtest did: the order as known at the request, the
/// profile, the history (statuses implied by earlier verdicts included),
/// whatever the thread count — read back through the strict case reader.
#[test]
fn every_rebuilt_case_is_judged_as_the_backtest_judged_it() {
    let failing = rpl::compile(FAILING).unwrap();
    let risk = rpl::compile(&std::fs::read_to_string("policies/risk.rpl").unwrap()).unwrap();
    let mut checked = 0;
    for seed in 0..40 {
        let events = stream(seed);
        let text: String = events.iter().map(|e| e.to_string() + "\n").collect();
        for program in [&failing.program, &risk.program] {
            let (records, _) = backtest(&[program], &events, 1);
            for (k, record) in records.iter().enumerate() {
                let id = record["return_id"].as_str().unwrap();
                let mut opts = rpl::BacktestOptions::default();
                opts.threads = 1 + k % 3;
                opts.chunk_lines = 5;
                let case = rpl::backtest_case(&[program], Cursor::new(&text), id, &opts).unwrap();
                let case = rpl::parse_case(&serde_json::to_string_pretty(&case).unwrap())
                    .unwrap_or_else(|e| panic!("seed {seed}, {id}: the rebuilt case is refused: {e}"));
                let verdict = serde_json::to_value(program.judge(&case).unwrap()).unwrap();
                assert_eq!(verdict, record["verdict"], "seed {seed}, {id}");
                checked += 1;
            }
        }
    }
    assert!(checked > 500, "only {checked} cases checked");
    let risk = &risk.program;
    let missing = rpl::backtest_case(&[risk], Cursor::new("\n"), "R-1", &rpl::BacktestOptions::default());
    assert_eq!(missing.unwrap_err().to_string(), r#"return "R-1" is not in the stream"#);
}

/// `Replay` is the backtest one event at a time: the same records, and an
/// error for a bad line that changes nothing after it.
#[test]
fn replay_applies_events_as_the_backtest_does() {
    let compiled = rpl::compile(POLICY).unwrap();
    let risk = rpl::compile(&std::fs::read_to_string("policies/risk.rpl").unwrap()).unwrap();
    let programs = [&compiled.program, &risk.program];
    for seed in 0..30 {
        let events = stream(seed);
        let (expected, _) = backtest(&programs, &events, 2);
        let mut replay = rpl::Replay::new(&programs, &rpl::BacktestOptions::default());
        let mut records = Vec::new();
        for (n, e) in events.iter().enumerate() {
            // A line the backtest would refuse, in between: refused, and harmless.
            assert!(replay.apply_line(r#"{"event": "order_update", "id": "O-none", "at": "2026-10-01T00:00:00+08:00", "paid_at": "2026-10-01T00:00:00+08:00"}"#).is_err());
            match replay.apply_line(&e.to_string()).unwrap() {
                rpl::Applied::Return(judged) => {
                    records.push(serde_json::from_str::<Value>(&judged.record(n as u64 + 1)).unwrap());
                    assert_eq!(judged.verdicts.len(), 2);
                    let implied = match judged.verdicts[0].decision.as_ref() {
                        "approve" => "refunded",
                        "deny" => "rejected",
                        _ => "pending",
                    };
                    assert_eq!(judged.status, e["status"].as_str().unwrap_or(implied));
                }
                other => assert_ne!(e["event"], "return", "{other:?}"),
            }
        }
        assert_eq!(records, expected, "seed {seed}");
    }
}

/// A `where` that fails on an event (here a division by zero on an order's
/// total of 240) used to stop the run; now the returns that read the
/// aggregate get its error and go to review, as `rpl judge` sends their
/// cases, and the run goes on. Once the event has left the window (whose
/// start is inclusive), it reads again.
#[test]
fn a_failing_where_sends_the_return_to_review() {
    let policy = r#"
policy "Failing" { currency "CNY" timezone "Asia/Shanghai" default approve }
flag busy { when count(orders in last 2 days where total / (total - 240) > 0) >= 1 score 10 }
"#;
    let program = rpl::compile(policy).unwrap().program;
    let order = |id: &str, at: i64, price: u32| {
        json!({"event": "order", "id": id, "customer_id": "C-1", "currency": "CNY", "placed_at": time(at),
               "items": [{"sku": "A", "category": "apparel", "unit_price": format!("{price}.00"), "quantity": 2}]})
    };
    let ret = |id: &str, order: &str, at: i64| {
        json!({"event": "return", "id": id, "order_id": order, "requested_at": time(at), "type": "return_refund",
               "reason": "changed_mind", "items": [{"sku": "A", "quantity": 1}]})
    };
    // Steps are 12 hours: the failing order at step 0 is in the 2-day window
    // of a request at step 4, not of one at step 5; at step 0 it is not yet before it.
    let events = [
        order("O-1", 0, 120),
        ret("R-1", "O-1", 0),
        ret("R-2", "O-1", 1),
        order("O-2", 2, 50),
        ret("R-3", "O-2", 4),
        ret("R-4", "O-2", 5),
    ];
    let (records, summary) = backtest(&[&program], &events, 1);
    let decisions: Vec<(&str, usize)> = records
        .iter()
        .map(|r| {
            let v = &r["verdict"];
            (v["decision"].as_str().unwrap(), v["errors"].as_array().unwrap().len())
        })
        .collect();
    assert_eq!(
        decisions,
        [("approve", 0), ("review", 1), ("review", 1), ("approve", 0)]
    );
    assert_eq!(summary.policy.with_errors, 2);
    let (expected, _) = reference_verdicts(&program, &events);
    assert_eq!(verdicts(&records), expected);
}

/// Hostile streams: lines dropped, repeated, moved, and keys set to odd
/// values (times out of order, updates of unknown orders, nulls, numbers
/// where times go). With `--skip-invalid` nothing panics, every line is
/// accounted for (replayed or listed), and 1 and 3 threads agree byte for byte.
#[test]
fn mutated_streams_are_replayed_or_refused_line_by_line() {
    let risk = rpl::compile(&std::fs::read_to_string("policies/risk.rpl").unwrap()).unwrap();
    let failing = rpl::compile(FAILING).unwrap();
    let odd = [
        json!(null),
        json!(5),
        json!("x"),
        json!(time(-400)),
        json!(time(3)),
        json!(time(400)),
        json!("2026-10-01T00:00:00"),
        json!("O-1"),
        json!([]),
    ];
    let keys = [
        "at",
        "shipped_at",
        "delivered_at",
        "paid_at",
        "cancelled_at",
        "placed_at",
        "requested_at",
        "id",
        "order_id",
        "status",
        "event",
        "label",
    ];
    let mut rng = Rng(0xDEAD_BEEF);
    let mut refused = 0;
    for _ in 0..150 {
        let mut events = stream_of(&mut rng, 60);
        for _ in 0..6 {
            let i = rng.below(events.len() as u64) as usize;
            match rng.below(4) {
                0 => {
                    events.remove(i);
                }
                1 => events.insert(i, events[rng.below(events.len() as u64) as usize].clone()),
                2 => {
                    let j = rng.below(events.len() as u64) as usize;
                    events.swap(i, j);
                }
                _ => {
                    let key = keys[rng.below(keys.len() as u64) as usize];
                    events[i][key] = odd[rng.below(odd.len() as u64) as usize].clone();
                }
            }
            if events.is_empty() {
                break;
            }
        }
        let text: String = events.iter().map(|e| e.to_string() + "\n").collect();
        let run = |program: &rpl::Program, threads: usize| {
            let mut out = Vec::new();
            let mut opts = rpl::BacktestOptions::default();
            opts.threads = threads;
            opts.skip_invalid = true;
            opts.chunk_lines = 9;
            let s = rpl::backtest(&[program], Cursor::new(&text), Some(&mut out), &opts, |_| {}).unwrap();
            (out, serde_json::to_string(&s).unwrap(), s)
        };
        for program in [&risk.program, &failing.program] {
            let (out, json, s) = run(program, 1);
            let (out3, json3, _) = run(program, 3);
            assert!(out == out3 && json == json3, "threads disagree on:\n{text}");
            let accounted = s.customers + s.orders + s.order_updates + s.returns + s.invalid.len() as u64;
            assert_eq!(accounted, events.len() as u64, "a line is unaccounted for:\n{text}");
            refused += s.invalid.len();
        }
    }
    assert!(
        refused > 300,
        "only {refused} lines refused: the mutations are too mild"
    );
}
