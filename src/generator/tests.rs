use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use serde_json::Value;

use super::json::{civil, push_id, push_money, push_time};
use super::*;
use crate::data::{Order as CaseOrder, Time, parse_order_with, parse_return_with};

fn small(seed: u64) -> GenOptions {
    GenOptions {
        seed,
        customers: 400,
        days: 120,
        ..GenOptions::default()
    }
}

fn run(opts: &GenOptions) -> (Vec<u8>, GenStats) {
    let mut out = Vec::new();
    let stats = generate(opts, &mut out).expect("writing to a Vec cannot fail");
    (out, stats)
}

fn time(v: &Value, key: &str) -> Time {
    let text = v[key].as_str().unwrap_or_else(|| panic!("{key} missing in {v}"));
    assert!(text.ends_with("+08:00"), "{text}");
    chrono::DateTime::parse_from_rfc3339(text)
        .unwrap_or_else(|e| panic!("{text}: {e}"))
        .to_utc()
}

/// What the checks below need of a parsed stream.
#[derive(Default)]
struct Stream {
    customers: HashMap<String, (Time, bool)>,
    orders: HashMap<String, CaseOrder>,
    /// (return, its order, customer created_at, label)
    returns: Vec<(crate::data::Return, String, Time, String)>,
}

/// Parses and validates every line: shapes, order, references, ids.
fn check(text: &[u8], stats: &GenStats) -> Stream {
    let text = std::str::from_utf8(text).expect("UTF-8");
    assert!(text.ends_with('\n'));
    let mut s = Stream::default();
    let mut ids = HashSet::new();
    let mut last: Option<Time> = None;
    let mut abusive = 0;
    for (n, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}: {line}", n + 1));
        let id = v["id"].as_str().expect("id").to_owned();
        assert!(ids.insert(id.clone()), "duplicate id {id}");
        let at = match v["event"].as_str() {
            Some("customer") => {
                let at = time(&v, "created_at");
                assert!(id.starts_with("C-"));
                assert_eq!(v["tags"], Value::Array(vec![]));
                let vip = v["vip"].as_bool().expect("vip");
                s.customers.insert(id, (at, vip));
                at
            }
            Some("order") => {
                let order = parse_order_with(&v, "order", &["event"]).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
                let (joined, _) = s.customers[&order.customer_id];
                assert!(joined < order.placed_at, "line {}: order before sign-up", n + 1);
                assert_eq!(order.currency, "CNY");
                let paid = order.paid_at.expect("paid_at");
                assert!(order.placed_at < paid);
                if let Some(shipped) = order.shipped_at {
                    assert!(paid < shipped);
                    if let Some(delivered) = order.delivered_at {
                        assert!(shipped < delivered);
                    }
                } else {
                    assert!(order.delivered_at.is_none());
                }
                assert!((1..=3).contains(&order.items.len()));
                for item in &order.items {
                    assert_eq!(item.unit_price.scale(), 2, "{line}");
                    assert!(item.unit_price > Decimal::ZERO);
                }
                let at = order.placed_at;
                s.orders.insert(id, order);
                at
            }
            Some("return") => {
                let order_id = v["order_id"].as_str().expect("order_id");
                let order = s
                    .orders
                    .get(order_id)
                    .unwrap_or_else(|| panic!("line {}: order {order_id} not seen yet", n + 1));
                let ret = parse_return_with(&v, "return", order, &["event", "order_id", "status", "label"])
                    .unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
                assert!(order.placed_at < ret.requested_at);
                if let Some(delivered) = order.delivered_at {
                    assert!(delivered < ret.requested_at, "line {}", n + 1);
                }
                assert!(v.get("status").is_none());
                let label = v["label"].as_str().expect("label").to_owned();
                assert!(label == "ok" || label == "abuse", "{label}");
                abusive += usize::from(label == "abuse");
                let (joined, _) = s.customers[&order.customer_id];
                let at = ret.requested_at;
                s.returns.push((ret, order_id.to_owned(), joined, label));
                at
            }
            other => panic!("line {}: event {other:?}", n + 1),
        };
        if let Some(before) = last {
            assert!(before <= at, "line {}: time goes backwards", n + 1);
        }
        last = Some(at);
    }
    assert_eq!(s.customers.len() as u64, stats.customers);
    assert_eq!(s.orders.len() as u64, stats.orders);
    assert_eq!(s.returns.len() as u64, stats.returns);
    assert_eq!(abusive as u64, stats.abusive_returns);
    assert_eq!(text.len() as u64, stats.bytes);
    s
}

#[test]
fn same_seed_gives_the_same_bytes() {
    let (a, sa) = run(&small(7));
    let (b, sb) = run(&small(7));
    assert_eq!(sa, sb);
    assert!(a == b, "two runs with seed 7 differ");
    assert!(sa.orders > 500 && sa.returns > 50, "{sa}");
}

#[test]
fn different_seeds_differ() {
    let (a, _) = run(&small(1));
    let (b, _) = run(&small(2));
    assert_ne!(a, b);
}

#[test]
fn the_stream_is_valid_and_realistic() {
    let opts = small(11);
    let (out, stats) = run(&opts);
    let s = check(&out, &stats);
    assert_eq!(stats.customers, 400);
    assert_eq!(stats.abusers, 8);

    let honest: Vec<_> = s.returns.iter().filter(|r| r.3 == "ok").collect();
    let refund_only = honest.iter().filter(|r| r.0.kind == "refund_only").count();
    let share = refund_only as f64 / honest.len() as f64;
    assert!(
        (0.08..0.30).contains(&share),
        "refund-only share of honest returns {share}"
    );
    let late = honest
        .iter()
        .filter(|r| {
            let delivered = s.orders[&r.1].delivered_at;
            delivered.is_some_and(|d| (r.0.requested_at - d).num_days() > 7)
        })
        .count();
    assert!(late > 0, "no request after day 7");
    let undelivered = s.orders.values().filter(|o| o.delivered_at.is_none()).count();
    assert!(undelivered > 0, "every order was delivered");
    let vips = s.customers.values().filter(|c| c.1).count();
    assert!((1..40).contains(&vips), "{vips} VIPs");
    let categories: HashSet<&str> = s
        .orders
        .values()
        .flat_map(|o| o.items.iter().map(|i| i.category.as_str()))
        .collect();
    assert!(categories.len() >= 12, "{categories:?}");
}

#[test]
fn honest_customers_return_a_realistic_share() {
    let opts = GenOptions {
        abuser_share: 0.0,
        ..small(5)
    };
    let (out, stats) = run(&opts);
    let s = check(&out, &stats);
    assert_eq!(stats.abusive_returns, 0);
    let rate = stats.returns as f64 / stats.orders as f64;
    assert!((0.08..=0.15).contains(&rate), "return rate {rate}");
    assert!(s.returns.iter().all(|r| r.3 == "ok"));
}

#[test]
fn abusers_are_planted_and_labelled() {
    let opts = GenOptions {
        customers: 500,
        ..small(3)
    };
    let (out, stats) = run(&opts);
    let s = check(&out, &stats);
    assert_eq!(stats.abusers, 10);
    let abuse: Vec<_> = s.returns.iter().filter(|r| r.3 == "abuse").collect();
    assert!(abuse.len() as u64 == stats.abusive_returns && !abuse.is_empty());

    // Only planted abusers are labelled.
    let owners: HashSet<&str> = abuse.iter().map(|r| s.orders[&r.1].customer_id.as_str()).collect();
    assert!(owners.len() as u64 <= stats.abusers, "{owners:?}");

    // Not-received claims on delivered orders.
    assert!(
        abuse
            .iter()
            .any(|r| r.0.reason == "not_received" && s.orders[&r.1].delivered_at.is_some())
    );
    // Refund-only repeaters: 3 or more refund-only requests by one customer.
    let mut refund_only: HashMap<&str, usize> = HashMap::new();
    for r in abuse
        .iter()
        .filter(|r| r.0.kind == "refund_only" && r.0.reason != "not_received")
    {
        *refund_only.entry(s.orders[&r.1].customer_id.as_str()).or_default() += 1;
    }
    assert!(refund_only.values().any(|&n| n >= 3), "{refund_only:?}");
    // Serial returners: 5 returns within 30 days.
    let mut by_customer: HashMap<&str, Vec<Time>> = HashMap::new();
    for r in &abuse {
        by_customer
            .entry(s.orders[&r.1].customer_id.as_str())
            .or_default()
            .push(r.0.requested_at);
    }
    let serial = by_customer
        .values()
        .any(|times| times.windows(5).any(|w| (w[4] - w[0]).num_days() < 30));
    assert!(serial, "no serial returner");
    // New accounts returning a high-value item hours after delivery.
    let wardrobe = abuse.iter().any(|r| {
        let order = &s.orders[&r.1];
        order
            .delivered_at
            .is_some_and(|d| (r.0.requested_at - d).num_hours() < 24)
            && r.0.amount >= Decimal::from(2000)
            && (r.0.requested_at - r.2).num_days() < 7
    });
    assert!(wardrobe, "no new-account wardrobing");
    // And honest mistakes that look like abuse: not-received on undelivered orders.
    assert!(s.returns.iter().any(|r| r.3 == "ok" && r.0.reason == "not_received"));
}

#[test]
fn options_are_checked_before_writing() {
    for bad in [
        GenOptions {
            currency: "cny".into(),
            ..GenOptions::default()
        },
        GenOptions {
            abuser_share: 1.5,
            ..GenOptions::default()
        },
        GenOptions {
            abuser_share: f64::NAN,
            ..GenOptions::default()
        },
        GenOptions {
            start: NaiveDate::from_ymd_opt(1900, 1, 1).expect("a date"),
            ..GenOptions::default()
        },
    ] {
        let mut out = Vec::new();
        let e = generate(&bad, &mut out).expect_err("invalid options");
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
        assert!(out.is_empty());
    }
}

#[test]
fn edge_sizes_work() {
    let (out, stats) = run(&GenOptions {
        customers: 0,
        ..small(1)
    });
    assert!(out.is_empty() && stats == GenStats::default());
    let opts = GenOptions {
        days: 0,
        customers: 10,
        ..small(1)
    };
    let (out, stats) = run(&opts);
    check(&out, &stats);
    assert_eq!(stats.orders, 0);
    let opts = GenOptions {
        currency: "JPY".into(),
        customers: 30,
        abuser_share: 1.0,
        days: 40,
        ..small(9)
    };
    let (out, _) = run(&opts);
    assert!(std::str::from_utf8(&out).is_ok_and(|t| t.contains(r#""currency":"JPY""#)));
}

#[test]
fn formatting_helpers() {
    assert_eq!(civil(0), (1970, 1, 1));
    assert_eq!(civil(20_454), (2026, 1, 1));
    assert_eq!(civil(11_016), (2000, 2, 29));
    assert_eq!(civil(-1), (1969, 12, 31));
    let mut b = Vec::new();
    push_time(&mut b, 20_454 * DAY + 10 * 3600 + 42 * 60 + 7);
    b.push(b' ');
    push_id(&mut b, b"C-", 42, 6);
    push_id(&mut b, b"O-", 123_456_789, 8);
    push_money(&mut b, 19_905);
    push_money(&mut b, 0);
    assert_eq!(
        String::from_utf8_lossy(&b),
        r#""2026-01-01T10:42:07+08:00" "C-000042""O-123456789""199.05""0.00""#
    );
}
