use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use serde_json::Value;

use super::json::{civil, push_id, push_money, push_time};
use super::*;
use crate::data::{Order as CaseOrder, Time, parse_order, parse_return};

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
    /// Each order with the times its updates set (what it finally came to).
    orders: HashMap<String, CaseOrder>,
    /// When the platform heard of each order's shipping, delivery and cancellation.
    heard: HashMap<String, Heard>,
    /// (return, its order, customer created_at, label)
    returns: Vec<(crate::data::Return, String, Time, String)>,
}

#[derive(Default, Clone, Copy)]
struct Heard {
    shipped: Option<Time>,
    delivered: Option<Time>,
    cancelled: Option<Time>,
}

impl Stream {
    /// Whether the platform knew the order was delivered strictly before `at`.
    fn delivered_before(&self, order: &str, at: Time) -> bool {
        self.heard[order].delivered.is_some_and(|t| t < at)
    }

    fn shipped_before(&self, order: &str, at: Time) -> bool {
        self.heard[order].shipped.is_some_and(|t| t < at)
    }
}

/// The event's `order` or `return` part, as a case gives it.
fn case_part(v: &Value, own: &[&str]) -> Value {
    let mut v = v.clone();
    for key in own {
        v.as_object_mut().expect("an object").remove(*key);
    }
    v
}

/// Parses and validates every line: shapes, order, references, ids.
fn check(text: &[u8], stats: &GenStats) -> Stream {
    let text = std::str::from_utf8(text).expect("UTF-8");
    assert!(text.ends_with('\n'));
    let mut s = Stream::default();
    let mut ids = HashSet::new();
    let mut last: Option<Time> = None;
    let (mut abusive, mut updates, mut cancelled) = (0, 0, 0);
    for (n, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}: {line}", n + 1));
        let id = v["id"].as_str().expect("id").to_owned();
        let kind = v["event"].as_str();
        if kind != Some("order_update") {
            assert!(ids.insert(id.clone()), "duplicate id {id}");
        }
        let at = match kind {
            Some("customer") => {
                let at = time(&v, "created_at");
                assert!(id.starts_with("C-"));
                assert_eq!(v["tags"], Value::Array(vec![]));
                let vip = v["vip"].as_bool().expect("vip");
                s.customers.insert(id, (at, vip));
                at
            }
            Some("order") => {
                // Placed and paid: what happens next comes in updates.
                for later in ["shipped_at", "delivered_at", "cancelled_at"] {
                    assert!(v.get(later).is_none(), "line {}: an order placed with {later}", n + 1);
                }
                let order =
                    parse_order(&case_part(&v, &["event"]), "order").unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
                let (joined, _) = s.customers[&order.customer_id];
                assert!(joined < order.placed_at, "line {}: order before sign-up", n + 1);
                assert_eq!(order.currency, "CNY");
                let paid = order.paid_at.expect("paid_at");
                assert!(order.placed_at < paid);
                assert!((1..=3).contains(&order.items.len()));
                for item in &order.items {
                    assert_eq!(item.unit_price.scale(), 2, "{line}");
                    assert!(item.unit_price > Decimal::ZERO);
                }
                let at = order.placed_at;
                s.heard.insert(id.clone(), Heard::default());
                s.orders.insert(id, order);
                at
            }
            Some("order_update") => {
                updates += 1;
                let at = time(&v, "at");
                let keys: Vec<&String> = v.as_object().expect("an object").keys().collect();
                assert_eq!(keys.len(), 4, "line {}: one time per update: {line}", n + 1);
                let order = s
                    .orders
                    .get_mut(&id)
                    .unwrap_or_else(|| panic!("line {}: order {id} not seen yet", n + 1));
                let heard = s.heard.get_mut(&id).expect("heard of");
                let paid = order.paid_at.expect("paid");
                assert!(heard.cancelled.is_none(), "line {}: an update after cancelling", n + 1);
                if v.get("shipped_at").is_some() {
                    let t = time(&v, "shipped_at");
                    assert!(paid < t && t <= at && order.shipped_at.is_none(), "line {}", n + 1);
                    order.shipped_at = Some(t);
                    heard.shipped = Some(at);
                } else if v.get("delivered_at").is_some() {
                    let t = time(&v, "delivered_at");
                    let shipped = order.shipped_at.expect("shipped before delivered");
                    assert!(shipped < t && t <= at && order.delivered_at.is_none(), "line {}", n + 1);
                    order.delivered_at = Some(t);
                    heard.delivered = Some(at);
                } else {
                    let t = time(&v, "cancelled_at");
                    assert!(paid < t && t == at && order.shipped_at.is_none(), "line {}", n + 1);
                    heard.cancelled = Some(at);
                    cancelled += 1;
                }
                at
            }
            Some("return") => {
                let order_id = v["order_id"].as_str().expect("order_id").to_owned();
                let order = s
                    .orders
                    .get(&order_id)
                    .unwrap_or_else(|| panic!("line {}: order {order_id} not seen yet", n + 1));
                let part = case_part(&v, &["event", "order_id", "label"]);
                let ret = parse_return(&part, "return", order).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
                assert!(order.placed_at < ret.requested_at);
                assert!(
                    s.heard[&order_id].cancelled.is_none(),
                    "line {}: a cancelled order returned",
                    n + 1
                );
                assert!(v.get("status").is_none());
                let label = v["label"].as_str().expect("label").to_owned();
                assert!(label == "ok" || label == "abuse", "{label}");
                abusive += usize::from(label == "abuse");
                let (joined, _) = s.customers[&order.customer_id];
                let at = ret.requested_at;
                s.returns.push((ret, order_id, joined, label));
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
    assert_eq!(updates as u64, stats.order_updates);
    assert_eq!(cancelled as u64, stats.cancelled);
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
    // A request before the platform heard of the delivery is a "where is my
    // parcel?", never anything else.
    for r in &s.returns {
        if s.orders[&r.1].delivered_at.is_some() && !s.delivered_before(&r.1, r.0.requested_at) {
            assert_eq!(
                (r.0.reason.as_str(), r.3.as_str()),
                ("not_received", "ok"),
                "{}",
                r.0.id
            );
        }
    }
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

    // Not-received claims on orders the platform knew were delivered.
    assert!(
        abuse
            .iter()
            .any(|r| r.0.reason == "not_received" && s.delivered_before(&r.1, r.0.requested_at))
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

/// Orders are placed without shipping times; each shipping, delivery and
/// cancellation comes as its own update, at its own time, reported no earlier
/// than it happened; some orders are cancelled and never ship or come back.
#[test]
fn orders_change_by_updates_as_on_a_platform() {
    let (out, stats) = run(&small(13));
    let s = check(&out, &stats);
    let text = std::str::from_utf8(&out).expect("UTF-8");
    let late = text
        .lines()
        .filter(|l| l.contains(r#""event":"order_update""#))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| {
            let set = ["shipped_at", "delivered_at"].into_iter().find(|k| v.get(*k).is_some());
            set.is_some_and(|k| time(v, k) < time(v, "at"))
        })
        .count();
    assert!(
        late * 2 > stats.order_updates as usize,
        "most updates come minutes after the fact"
    );
    let shipped = s.orders.values().filter(|o| o.shipped_at.is_some()).count();
    let delivered = s.orders.values().filter(|o| o.delivered_at.is_some()).count();
    assert_eq!((shipped + delivered) as u64 + stats.cancelled, stats.order_updates);
    let share = stats.cancelled as f64 / stats.orders as f64;
    assert!((0.01..0.05).contains(&share), "cancelled share {share}");
    // Updates interleave with other events: fresh food ships the day it is ordered.
    let same_day = s
        .orders
        .values()
        .filter(|o| o.shipped_at.is_some_and(|t| (t - o.placed_at).num_hours() < 12))
        .count();
    assert!(same_day > 0, "no order ships within hours");
}

/// Not-received claims come both on parcels still in transit (the platform
/// has heard of the shipping, not of a delivery: honest, labelled "ok") and
/// on parcels signed for (the planted abuse), so a policy that treats every
/// not-received claim on an order with a `delivered_at` as "signed for but
/// not received" is wrong only when the backtest leaks the future.
#[test]
fn not_received_claims_in_transit_and_after_delivery() {
    let opts = GenOptions {
        customers: 1500,
        ..small(17)
    };
    let (out, stats) = run(&opts);
    let s = check(&out, &stats);
    let claims: Vec<_> = s.returns.iter().filter(|r| r.0.reason == "not_received").collect();
    let in_transit: Vec<_> = claims
        .iter()
        .filter(|r| s.shipped_before(&r.1, r.0.requested_at) && !s.delivered_before(&r.1, r.0.requested_at))
        .filter(|r| s.orders[&r.1].delivered_at.is_some())
        .collect();
    assert!(in_transit.len() >= 5, "{} claims in transit", in_transit.len());
    assert!(
        in_transit.iter().all(|r| r.3 == "ok"),
        "a claim in transit labelled abuse"
    );
    let signed_abuse = claims
        .iter()
        .filter(|r| r.3 == "abuse")
        .inspect(|r| {
            assert!(
                s.delivered_before(&r.1, r.0.requested_at),
                "abuse on a parcel not delivered"
            )
        })
        .count();
    assert!(signed_abuse >= 5, "{signed_abuse} abusive claims on delivered parcels");
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

#[test]
fn inspections_follow_their_returns_with_swaps_planted_on_abuse() {
    let (plain, plain_stats) = run(&small(5));
    let opts = GenOptions {
        inspections: true,
        ..small(5)
    };
    let (text, stats) = run(&opts);
    // The rest of the stream is untouched by the inspections it gains.
    let without: Vec<&[u8]> = text
        .split(|b| *b == b'\n')
        .filter(|l| !l.starts_with(br#"{"event":"inspection""#))
        .collect();
    let plain_lines: Vec<&[u8]> = plain.split(|b| *b == b'\n').collect();
    assert_eq!(without, plain_lines);
    assert_eq!(plain_stats.inspections, 0);
    assert!(stats.inspections > 50 && stats.swaps > 0, "{stats}");
    // Every inspection is of a return already written, after it, and a swap
    // only of one labelled abuse; every line reads as a backtest reads it.
    let mut returns: HashMap<String, (Time, String, String)> = HashMap::new();
    let mut last = None;
    for line in std::str::from_utf8(&text).unwrap().lines() {
        crate::backtest::StreamEvent::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        let v: Value = serde_json::from_str(line).unwrap();
        match v["event"].as_str().unwrap() {
            "return" => {
                let label = v["label"].as_str().unwrap().to_string();
                returns.insert(
                    v["id"].as_str().unwrap().into(),
                    (time(&v, "requested_at"), label, v["type"].as_str().unwrap().into()),
                );
            }
            "inspection" => {
                let (requested, label, kind) = &returns[v["return_id"].as_str().unwrap()];
                let at = time(&v, "at");
                assert!(at > *requested, "{line}");
                assert_ne!(kind, "refund_only", "{line}");
                if v["sku_match"] == false {
                    assert_eq!(label, "abuse", "{line}");
                }
                if let Some(l) = last {
                    assert!(at >= l, "{line}: out of time order");
                }
                last = Some(at);
            }
            _ => {}
        }
    }
}
