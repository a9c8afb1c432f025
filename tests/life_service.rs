//! A return's life in `rpl serve` (issue 17): the real binary on loopback,
//! the shipped floor with its 48-hour review, every answer held to the
//! OpenAPI document.
//!
//! - the timer applies a review's timeout at its due time, while running and
//!   across a restart (a review due while the service was down is resolved on
//!   start), logged as a `timeout` decision;
//! - a person's decision through `POST /v1/reviews/{id}`, with who and why;
//! - an inspection settles the refund and starts its clock: `GET /v1/refunds`
//!   lists it, overdue once late, until it is paid;
//! - a restriction set at inspection is kept on the customer, seen by later
//!   requests, and lifted by an admin.

#[allow(dead_code)]
#[path = "service/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use chrono::{SecondsFormat, Utc};
use harness::{Client, Options, Scratch, Server, all_decisions};
use serde_json::{Value, json};

const FLOOR: &str = "policies/platform_floor.rpl";
const GADGET: &str = "policies/shops/gadget_store.rpl";
const ADMIN: &str = "adm-life-3c9a41e0";
const CLIENT: &str = "cli-life-77b0d2f5";

fn start(scratch: &Scratch) -> Server {
    let options = Options::policy(FLOOR)
        .arg("--review-tick-ms")
        .arg("200")
        .env("RPL_ADMIN_TOKEN", ADMIN)
        .env("RPL_CLIENT_TOKEN", CLIENT);
    Server::start(&scratch.path("data"), &options)
}

/// `seconds` from now (negative: ago), as RFC 3339 in China's offset.
fn at(seconds: i64) -> String {
    let t = Utc::now() + chrono::Duration::seconds(seconds);
    t.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap_or(Utc.fix()))
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

use chrono::Offset as _;

const DAY: i64 = 86_400;

fn order(id: &str, merchant: Option<&str>, category: &str, delivered_days_ago: i64) -> String {
    let merchant = merchant.map_or(String::new(), |m| format!(r#""merchant_id":"{m}","#));
    format!(
        r#"{{"event":"order","id":"{id}","customer_id":"C-1",{merchant}"currency":"CNY","placed_at":"{}","delivered_at":"{}","items":[{{"sku":"SKU-1","category":"{category}","unit_price":"399.00","quantity":1,"attrs":{{"serial":"SN-1"}}}}]}}"#,
        at(-(delivered_days_ago + 2) * DAY),
        at(-delivered_days_ago * DAY),
    )
}

fn ret(id: &str, order: &str, kind: &str, reason: &str, requested: &str) -> String {
    format!(
        r#"{{"event":"return","id":"{id}","order_id":"{order}","requested_at":"{requested}","type":"{kind}","reason":"{reason}","items":[{{"sku":"SKU-1","quantity":1,"condition":"unused"}}],"evidence":["photo"]}}"#
    )
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect()
}

/// Waits (at most 10 s) until `f` holds.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < until, "never: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn decisions_of(admin: &Client, id: &str) -> Vec<Value> {
    all_decisions(admin, &format!("return_id={id}"))
}

#[test]
fn reviews_time_out_at_their_due_time_even_across_a_restart() {
    let scratch = Scratch::new("life-timer");
    let server = start(&scratch);
    let open = Client::new(&server);
    let admin = open.with_token(ADMIN);
    let client = open.with_token(CLIENT);
    // Day 18 after signing, changed mind: the floor leaves it to a review,
    // 48 hours, then approved. R-1 falls due in 3 s, R-2 in 48 hours.
    let events = [
        r#"{"event":"customer","id":"C-1","created_at":"2024-01-01T00:00:00+08:00"}"#.to_string(),
        order("O-1", None, "apparel", 20),
        order("O-2", None, "apparel", 20),
        ret("R-1", "O-1", "return_refund", "changed_mind", &at(-2 * DAY + 3)),
        ret("R-2", "O-2", "return_refund", "changed_mind", &at(-60)),
    ];
    let reply = client
        .post("/v1/events", &(events.join("\n") + "\n"))
        .expect(200)
        .json();
    let first = &reply["verdicts"][0];
    assert_eq!(first["decision"], json!("review"), "{first}");
    assert!(first["review_due"].is_string(), "{first}");
    let queue = lines(&admin.get("/v1/reviews").expect(200).body);
    let ids: Vec<_> = queue.iter().map(|r| r["return_id"].clone()).collect();
    assert_eq!(ids, vec![json!("R-1"), json!("R-2")], "due first");
    assert_eq!(queue[0]["on_timeout"], json!("approve"));
    assert!(lines(&admin.get("/v1/reviews?overdue=true").expect(200).body).is_empty());
    // Stopped before R-1 falls due; started after.
    server.stop();
    std::thread::sleep(Duration::from_secs(4));
    let server = start(&scratch);
    let admin = Client::new(&server).with_token(ADMIN);
    eventually("R-1 timed out on start", || decisions_of(&admin, "R-1").len() == 2);
    let log = decisions_of(&admin, "R-1");
    assert_eq!(log[1]["source"], json!("timeout"));
    let verdict = &log[1]["verdict"];
    assert_eq!(verdict["decision"], json!("approve"), "{verdict}");
    assert_eq!(verdict["reviews"][0]["timed_out"], json!(true), "{verdict}");
    assert_eq!(verdict["reviews"][0]["decision"], json!("approve"), "{verdict}");
    assert_eq!(
        verdict["reviews"][0]["at"], first["review_due"],
        "decided at its due time"
    );
    let queue = lines(&admin.get("/v1/reviews").expect(200).body);
    assert_eq!(queue.len(), 1, "R-1 left the queue: {queue:?}");

    // A person's decision, with who and why; a second one finds nothing in review.
    let decided = admin
        .post(
            "/v1/reviews/R-2",
            r#"{"decision": "deny", "by": "agent 7", "reason": "worn, photos show use"}"#,
        )
        .expect(200)
        .json();
    assert_eq!(decided["verdict"]["decision"], json!("deny"));
    assert_eq!(decided["verdict"]["reviews"][0]["by"], json!("agent 7"));
    admin
        .post("/v1/reviews/R-2", r#"{"decision": "approve"}"#)
        .error(409, "not_in_review");
    admin
        .post("/v1/reviews/R-404", r#"{"decision": "approve"}"#)
        .error(404, "not_found");
    Client::new(&server)
        .with_token(CLIENT)
        .post("/v1/reviews/R-2", r#"{"decision": "approve"}"#)
        .error(403, "forbidden");
    let log = decisions_of(&admin, "R-2");
    assert_eq!(log.last().map(|d| d["source"].clone()), Some(json!("review")));
    assert!(lines(&admin.get("/v1/reviews").expect(200).body).is_empty());

    // A review falling due while the service runs.
    let client = Client::new(&server).with_token(CLIENT);
    let events = [
        order("O-3", None, "apparel", 20),
        ret("R-3", "O-3", "return_refund", "changed_mind", &at(-2 * DAY + 2)),
    ];
    client.post("/v1/events", &(events.join("\n") + "\n")).expect(200);
    eventually("R-3 timed out while running", || decisions_of(&admin, "R-3").len() == 2);
    server.stop();
}

#[test]
fn inspections_refund_clocks_and_restrictions() {
    let scratch = Scratch::new("life-inspection");
    let server = start(&scratch);
    let open = Client::new(&server);
    let admin = open.with_token(ADMIN);
    let client = open.with_token(CLIENT);
    let token = admin.put("/v1/merchants/gadget_store", "").expect(201).json()["token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let gadget = open.with_token(&token);
    let policy = std::fs::read_to_string(harness::root().join(GADGET)).unwrap_or_default();
    gadget.put("/v1/merchants/gadget_store/policy", &policy).expect(200);

    // Two phones, both returned on day 2; one comes back with another serial.
    let events = [
        r#"{"event":"customer","id":"C-1","created_at":"2024-01-01T00:00:00+08:00"}"#.to_string(),
        order("O-1", Some("gadget_store"), "phones", 6),
        order("O-2", Some("gadget_store"), "phones", 6),
        ret("R-1", "O-1", "return_refund", "changed_mind", &at(-4 * DAY)),
        ret("R-2", "O-2", "return_refund", "changed_mind", &at(-4 * DAY)),
    ];
    let reply = client
        .post("/v1/events", &(events.join("\n") + "\n"))
        .expect(200)
        .json();
    assert_eq!(
        reply["verdicts"][0]["decision"],
        json!("approve"),
        "{}",
        reply["verdicts"][0]
    );
    let inspection = |id: &str, serial: &str, days_ago: i64| {
        format!(
            r#"{{"event":"inspection","return_id":"{id}","sku":"SKU-1","at":"{}","condition":"unused","quantity_received":1,"serial":"{serial}","packaging_intact":true}}"#,
            at(-days_ago * DAY)
        )
    };
    // R-1 inspected 4 days ago, serial as sold: its refund was due a day ago.
    let good = inspection("R-1", "SN-1", 4) + "\n";
    let reply = client.post("/v1/events", &good).expect(200).json();
    let v = &reply["verdicts"][0];
    assert_eq!(v["stage"], json!("inspection"), "{v}");
    assert!(v["lines"][0]["refund_due"].is_string(), "{v}");
    // A re-sent inspection changes nothing.
    let again = client.post("/v1/events", &good).expect(200).json();
    assert_eq!(again["verdicts"][0], *v);
    assert_eq!(again["decision_ids"], reply["decision_ids"]);
    let due = lines(&admin.get("/v1/refunds?overdue=true").expect(200).body);
    assert_eq!(due.len(), 1, "{due:?}");
    assert_eq!(
        (due[0]["return_id"].clone(), due[0]["overdue"].clone()),
        (json!("R-1"), json!(true))
    );
    assert_eq!(
        lines(&gadget.get("/v1/refunds").expect(200).body).len(),
        1,
        "the merchant sees its own"
    );
    assert!(lines(&gadget.get("/v1/refunds?merchant_id=other").expect(200).body).is_empty());
    gadget.post("/v1/refunds/R-1/paid", "").expect(200);
    assert!(lines(&admin.get("/v1/refunds").expect(200).body).is_empty());

    // R-2: another serial at inspection: refused, and refund-only turned off.
    let swapped = inspection("R-2", "SN-9", 3) + "\n";
    let reply = client.post("/v1/events", &swapped).expect(200).json();
    let v = &reply["verdicts"][0];
    assert_eq!(v["decision"], json!("deny"), "{v}");
    assert_eq!(v["restrictions"][0]["kind"], json!("refund_only"), "{v}");
    let kept = admin.get("/v1/customers/C-1/restrictions").expect(200).json();
    assert_eq!(kept["restrictions"][0]["kind"], json!("refund_only"), "{kept}");
    assert_eq!(kept["restrictions"][0]["return_id"], json!("R-2"));

    // A later refund-only claim sees the restriction (the floor's rule refuses it) ...
    let later = [
        order("O-3", Some("gadget_store"), "phones", 1),
        ret("R-3", "O-3", "refund_only", "not_received", &at(-DAY / 2)),
    ];
    let reply = client.post("/v1/events", &(later.join("\n") + "\n")).expect(200).json();
    let v = &reply["verdicts"][0];
    let fired: Vec<_> = v["lines"][0]["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["rule"].as_str())
        .collect();
    assert!(fired.iter().any(|r| r.contains("refund_only_turned_off")), "{v}");
    // ... until an admin lifts it.
    let lifted = admin.call_bytes("DELETE", "/v1/customers/C-1/restrictions/refund_only", b"");
    assert_eq!(lifted.expect(200).json()["lifted"], json!(1));
    let judged = client
        .post(
            "/v1/judge",
            &ret("R-4", "O-3", "refund_only", "not_received", &at(-DAY / 4)),
        )
        .expect(200)
        .json();
    let fired = judged["verdict"]["lines"][0]["rules"].to_string();
    assert!(!fired.contains("refund_only_turned_off"), "{judged}");
    server.stop();
}
