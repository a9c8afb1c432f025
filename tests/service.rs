//! `rpl serve` end to end: the real binary on loopback, driven over HTTP as a
//! platform would (issue 12). Every answer of every test is held to the
//! OpenAPI document's schema for its path, method and status
//! (`harness::check_reply`), and every error must be JSON with a stable code.
//!
//! - verdicts equal `rpl backtest --out`'s, byte for byte, in any batching;
//! - `kill -9` in the middle of ingestion loses nothing acknowledged and
//!   half-applies nothing;
//! - idempotent re-sends, 409s, a bad line refusing its whole batch, tokens,
//!   limits, overload, timeouts, policies (broken, rollback, restart), health,
//!   metrics, graceful shutdown, the decision log's filters.

#[path = "service/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use harness::{Client, Line, Options, Scratch, Server, Slow, all_decisions, parse_stream, rpl};
use serde_json::{Value, json};

const RISK: &str = "policies/risk.rpl";
const MARKETPLACE: &str = "policies/marketplace.rpl";
/// The platform floor: it declares only reason codes, so every generated stream reads.
const FLOOR: &str = "policies/platform_floor.rpl";

/// A generated stream: a few hundred customers over two months, a tenth of
/// them planted abusers, so that most of the policies' flags fire.
fn generated(scratch: &Scratch, customers: usize, seed: u64) -> String {
    let path = scratch.path("events.jsonl");
    let path = path.to_string_lossy();
    rpl(&[
        "gen",
        "--customers",
        &customers.to_string(),
        "--days",
        "60",
        "--seed",
        &seed.to_string(),
        "--abusers",
        "0.1",
        "--out",
        &path,
    ]);
    std::fs::read_to_string(&*path).unwrap_or_else(|e| panic!("cannot read the stream: {e}"))
}

/// What `rpl backtest POLICY STREAM --out` wrote: each verdict's raw text.
fn backtest(scratch: &Scratch, policy: &str, stream: &str) -> Vec<(String, String)> {
    let input = scratch.path("backtest-in.jsonl");
    let out = scratch.path("backtest-out.jsonl");
    std::fs::write(&input, stream).unwrap_or_else(|e| panic!("cannot write: {e}"));
    rpl(&[
        "backtest",
        policy,
        &input.to_string_lossy(),
        "--out",
        &out.to_string_lossy(),
    ]);
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("cannot read --out: {e}"));
    harness::backtest_verdicts(&text)
}

fn batch(lines: &[Line]) -> String {
    let mut body = String::new();
    for l in lines {
        body.push_str(&l.text);
        body.push('\n');
    }
    body
}

/// Sends `lines` in batches of the sizes in `sizes` (taken in turn) and
/// returns every verdict's raw text, in order.
fn ingest(client: &Client, lines: &[Line], sizes: &[usize]) -> Vec<String> {
    let mut verdicts = Vec::new();
    let mut at = 0;
    for size in sizes.iter().cycle() {
        if at == lines.len() {
            break;
        }
        let end = (at + size).min(lines.len());
        let reply = client.post("/v1/events", &batch(&lines[at..end])).expect(200);
        assert_eq!(reply.json()["accepted"], json!(end - at));
        verdicts.extend(harness::reply_verdicts(&reply.body));
        at = end;
    }
    verdicts
}

fn assert_same_verdicts(got: &[String], want: &[(String, String)], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: one verdict per return");
    for (i, (g, (id, w))) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{what}: verdict {i} (return {id}) differs from the backtest's");
    }
}

// -- point 7: the same answers as a backtest -------------------------------------------------

/// Streams `stream` through the service with `policy` in several batchings
/// (from one line per request to the whole stream in one, many of them
/// splitting a customer's history across requests) and compares every
/// verdict with the backtest's, byte for byte; re-sending it all again gives
/// every verdict a second time and changes nothing.
fn same_as_backtest(policy: &str, stream: &str, scratch: &Scratch) {
    let want = backtest(scratch, policy, stream);
    assert!(!want.is_empty());
    let lines = parse_stream(stream);
    let options = Options::policy(policy);

    let server = Server::start(&scratch.path("small"), &options);
    let client = Client::new(&server);
    let got = ingest(&client, &lines, &[1, 2, 5, 37, 3, 113, 1, 256]);
    assert_same_verdicts(&got, &want, "batches of 1 to 256");
    // Retries, in another batching: every return gets its first verdict again.
    let again = ingest(&client, &lines, &[500, 7]);
    assert_same_verdicts(&again, &want, "re-sent");
    // The timer times out the reviews long due (the stream is in the past): those are decisions of their own.
    let log = all_decisions(&client, "");
    let requests = log.iter().filter(|d| d["source"] == json!("events")).count();
    assert_eq!(requests, want.len(), "one decision per return, re-sends add none");
    assert!(
        log.iter()
            .all(|d| d["source"] == json!("events") || d["source"] == json!("timeout"))
    );
    server.stop();

    let server = Server::start(&scratch.path("whole"), &options);
    let got = ingest(&Client::new(&server), &lines, &[lines.len()]);
    assert_same_verdicts(&got, &want, "the whole stream in one batch");
    server.stop();
}

#[test]
fn verdicts_equal_the_backtests_risk() {
    let scratch = Scratch::new("parity-risk");
    let stream = generated(&scratch, 300, 7);
    same_as_backtest(RISK, &stream, &scratch);
    // The flags the comparison covered: most of the policy's fire.
    let fired: std::collections::BTreeSet<String> = backtest(&scratch, RISK, &stream)
        .iter()
        .flat_map(|(_, v)| {
            let v: Value = serde_json::from_str(v).unwrap_or(Value::Null);
            let names: Vec<String> = v["flags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|f| f["name"].as_str().map(str::to_string))
                .collect();
            names
        })
        .collect();
    assert!(fired.len() >= 6, "too few flags fired to compare much: {fired:?}");
}

#[test]
fn verdicts_equal_the_backtests_floor() {
    let scratch = Scratch::new("parity-floor");
    let stream = generated(&scratch, 300, 8);
    same_as_backtest(FLOOR, &stream, &scratch);
}

/// A stream with inspections (swaps planted on abusive returns) on the floor
/// with its 48-hour reviews: the service's verdict for every return and every
/// inspection line is the backtest's record for that line, in any batching;
/// and each review the backtest timed out at the stream's end, the service's
/// timer timed out alike.
#[test]
fn verdicts_equal_the_backtests_life() {
    let scratch = Scratch::new("parity-life");
    let path = scratch.path("events.jsonl");
    let path_text = path.to_string_lossy();
    rpl(&[
        "gen",
        "--customers",
        "200",
        "--days",
        "60",
        "--seed",
        "17",
        "--abusers",
        "0.15",
        "--inspections",
        "--out",
        &path_text,
    ]);
    let stream = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read the stream: {e}"));
    let out = scratch.path("out.jsonl");
    rpl(&["backtest", FLOOR, &path_text, "--out", &out.to_string_lossy()]);
    let records = harness::backtest_records(&std::fs::read_to_string(&out).unwrap_or_default());
    let lines = parse_stream(&stream);
    let judged = lines
        .iter()
        .filter(|l| matches!(l.kind.as_str(), "return" | "inspection" | "review_decision"))
        .count();
    assert!(
        lines.iter().filter(|l| l.kind == "inspection").count() >= 10,
        "too few inspections"
    );
    let (during, at_end) = records.split_at(judged);
    let want: Vec<(String, String)> = during.iter().map(|(n, v)| (n.to_string(), v.clone())).collect();
    let server = Server::start(
        &scratch.path("data"),
        &Options::policy(FLOOR).arg("--review-tick-ms").arg("50"),
    );
    let client = Client::new(&server);
    let got = ingest(&client, &lines, &[1, 7, 64, 3, 250]);
    assert_same_verdicts(&got, &want, "a return's life in batches");
    // The timeouts at the stream's end: the timer's last word on each of those returns.
    assert!(!at_end.is_empty(), "no review timed out at the stream's end");
    for (_, raw) in at_end {
        let want: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
        let id = want["return_id"].as_str().unwrap_or_default().to_string();
        let mut last = Value::Null;
        let until = Instant::now() + Duration::from_secs(10);
        while Instant::now() < until {
            let log = all_decisions(&client, &format!("return_id={id}"));
            last = log.last().map(|d| d["verdict"].clone()).unwrap_or(Value::Null);
            if last == want {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(
            last, want,
            "return {id}: the timer's timeout differs from the backtest's"
        );
    }
    server.stop();
}

/// Returns at the very same second (a history looks strictly before the
/// request), an order placed at that second, a stated status: the same as the
/// backtest too.
#[test]
fn verdicts_equal_the_backtests_on_ties() {
    let stream = std::fs::read_to_string(harness::root().join("tests/service/same_second.jsonl"))
        .unwrap_or_else(|e| panic!("cannot read the fixture: {e}"));
    for policy in [RISK, MARKETPLACE] {
        let scratch = Scratch::new("parity-ties");
        same_as_backtest(policy, &stream, &scratch);
    }
}

// -- point 8: kill -9 ----------------------------------------------------------------------------

/// One client's part of the stream (whole customers), in batches.
struct Part {
    batches: Vec<Vec<Line>>,
    /// The next batch to send.
    next: usize,
    /// The verdicts each acknowledged batch was answered with.
    acked: HashMap<usize, Vec<String>>,
    /// The batch in flight when the service was killed, if any.
    in_flight: Option<usize>,
}

fn returns_of(batch: &[Line]) -> Vec<String> {
    batch
        .iter()
        .filter(|l| l.kind == "return")
        .map(|l| l.id.clone())
        .collect()
}

/// Sends `part`'s batches in order until they are done or the service is
/// gone; `acks` counts acknowledgements across every part.
fn drive(client: &Client, part: &Mutex<Part>, acks: &AtomicUsize) {
    loop {
        let (index, body) = {
            let p = part.lock().unwrap_or_else(|e| e.into_inner());
            if p.next == p.batches.len() {
                return;
            }
            (p.next, batch(&p.batches[p.next]))
        };
        match client.try_call("POST", "/v1/events", Some(&body)) {
            Ok(reply) => {
                let reply = reply.expect(200);
                let mut p = part.lock().unwrap_or_else(|e| e.into_inner());
                p.acked.insert(index, harness::reply_verdicts(&reply.body));
                p.next += 1;
                p.in_flight = None;
                acks.fetch_add(1, Ordering::SeqCst);
            }
            Err(_) => {
                // No answer: the service died with this batch in flight.
                part.lock().unwrap_or_else(|e| e.into_inner()).in_flight = Some(index);
                return;
            }
        }
    }
}

/// After a restart: every acknowledged batch is there exactly once, and the
/// batch each client had in flight is there wholly or not at all. Returns how
/// many decisions the log holds.
fn verify_after_crash(client: &Client, parts: &[Arc<Mutex<Part>>]) -> usize {
    let log = all_decisions(client, "");
    let mut per_return: HashMap<String, usize> = HashMap::new();
    for d in &log {
        *per_return
            .entry(d["return_id"].as_str().unwrap_or_default().to_string())
            .or_default() += 1;
    }
    assert!(
        per_return.values().all(|&n| n == 1),
        "a return with more than one decision"
    );
    let mut expected = 0;
    for part in parts {
        let p = part.lock().unwrap_or_else(|e| e.into_inner());
        for (index, verdicts) in &p.acked {
            let ids = returns_of(&p.batches[*index]);
            assert_eq!(ids.len(), verdicts.len());
            for id in &ids {
                assert_eq!(per_return.get(id), Some(&1), "acknowledged return {id} is missing");
            }
            expected += ids.len();
        }
        if let Some(index) = p.in_flight {
            let ids = returns_of(&p.batches[index]);
            let present = ids.iter().filter(|id| per_return.contains_key(*id)).count();
            assert!(
                present == 0 || present == ids.len(),
                "batch in flight half-applied: {present} of {} returns stored",
                ids.len()
            );
            expected += present;
        }
    }
    assert_eq!(
        log.len(),
        expected,
        "decisions beyond the acknowledged and the in-flight ones"
    );

    // Re-sending every acknowledged batch: accepted, the first verdicts, nothing changed.
    for part in parts {
        let p = part.lock().unwrap_or_else(|e| e.into_inner());
        let mut acked: Vec<_> = p.acked.iter().collect();
        acked.sort_by_key(|(i, _)| **i);
        for (index, verdicts) in acked {
            let reply = client.post("/v1/events", &batch(&p.batches[*index])).expect(200);
            assert_eq!(
                &harness::reply_verdicts(&reply.body),
                verdicts,
                "a re-sent batch got other verdicts"
            );
        }
    }
    assert_eq!(all_decisions(client, "").len(), log.len(), "re-sends added decisions");
    assert_index_agrees(client, &log);
    log.len()
}

#[test]
fn kill_9_loses_nothing_acknowledged() {
    let scratch = Scratch::new("crash");
    let stream = generated(&scratch, 240, 11);
    let want: HashMap<String, String> = backtest(&scratch, RISK, &stream).into_iter().collect();
    let lines = parse_stream(&stream);

    // Three clients, each with whole customers (a customer's events stay in
    // order), so their verdicts must still be the backtest's.
    const CLIENTS: usize = 3;
    let mut owner: HashMap<String, usize> = HashMap::new();
    let mut split: Vec<Vec<Line>> = (0..CLIENTS).map(|_| Vec::new()).collect();
    for line in lines {
        let n = owner.len();
        let part = *owner.entry(line.customer.clone()).or_insert(n % CLIENTS);
        split[part].push(line);
    }
    let parts: Vec<Arc<Mutex<Part>>> = split
        .into_iter()
        .map(|lines| {
            let mut batches = Vec::new();
            let mut lines = lines.into_iter().peekable();
            while lines.peek().is_some() {
                batches.push(lines.by_ref().take(12).collect());
            }
            Arc::new(Mutex::new(Part {
                batches,
                next: 0,
                acked: HashMap::new(),
                in_flight: None,
            }))
        })
        .collect();
    let total_batches: usize = parts
        .iter()
        .map(|p| p.lock().unwrap_or_else(|e| e.into_inner()).batches.len())
        .sum();

    let data = scratch.path("data");
    // Short runs of the decision log's index, so that kills land while runs are written.
    let options = Options::policy(RISK).arg("--decision-index-run").arg("5");
    let acks = Arc::new(AtomicUsize::new(0));
    let mut killed_in_flight = 0;
    // Kill after this many acknowledged batches (at different moments), then once more to the end.
    for kill_after in [
        3,
        total_batches / 4,
        total_batches / 2,
        total_batches * 3 / 4,
        usize::MAX,
    ] {
        let mut server = Server::start(&data, &options);
        let client = Client::new(&server);
        if kill_after != 3 {
            verify_after_crash(&client, &parts);
        }
        let threads: Vec<_> = parts
            .iter()
            .map(|part| {
                let (client, part, acks) = (Client::new(&server), part.clone(), acks.clone());
                std::thread::spawn(move || drive(&client, &part, &acks))
            })
            .collect();
        if kill_after == usize::MAX {
            for t in threads {
                t.join().unwrap_or_else(|_| panic!("a client panicked"));
            }
            let n = verify_after_crash(&client, &parts);
            assert_eq!(n, want.len(), "every return decided once");
            server.stop();
            break;
        }
        let started = Instant::now();
        while acks.load(Ordering::SeqCst) < kill_after && started.elapsed() < Duration::from_secs(60) {
            std::thread::sleep(Duration::from_micros(200));
        }
        server.kill9();
        for t in threads {
            t.join().unwrap_or_else(|_| panic!("a client panicked"));
        }
        killed_in_flight += parts
            .iter()
            .filter(|p| p.lock().unwrap_or_else(|e| e.into_inner()).in_flight.is_some())
            .count();
    }
    assert!(
        killed_in_flight >= 3,
        "the kills hit too few requests in flight ({killed_in_flight})"
    );

    // And every verdict, across four crashes, is the backtest's.
    for part in &parts {
        let p = part.lock().unwrap_or_else(|e| e.into_inner());
        assert_eq!(p.acked.len(), p.batches.len());
        for (index, verdicts) in &p.acked {
            for (id, got) in returns_of(&p.batches[*index]).iter().zip(verdicts) {
                assert_eq!(Some(got), want.get(id), "return {id}: not the backtest's verdict");
            }
        }
    }
}

// -- batches: idempotency, conflicts, bad lines ----------------------------------------------

const CUSTOMER: &str = r#"{"event":"customer","id":"C-1","created_at":"2025-01-01T00:00:00+08:00"}"#;
const ORDER: &str = r#"{"event":"order","id":"O-1","customer_id":"C-1","currency":"CNY","placed_at":"2026-01-01T00:00:00+08:00","delivered_at":"2026-01-02T00:00:00+08:00","items":[{"sku":"A","category":"apparel","unit_price":"100.00","quantity":2}]}"#;
const RETURN: &str = r#"{"event":"return","id":"R-1","order_id":"O-1","requested_at":"2026-01-03T00:00:00+08:00","type":"return_refund","reason":"changed_mind","items":[{"sku":"A","quantity":1,"condition":"unused"}]}"#;

fn order2() -> String {
    ORDER.replace("O-1", "O-2")
}

fn return_on(order: &str, id: &str) -> String {
    RETURN.replace("O-1", order).replace("R-1", id)
}

/// A store with a customer, an order and a return (its verdict's raw text).
fn seeded(scratch: &Scratch) -> (Server, Client, String) {
    let server = Server::start(&scratch.path("data"), &Options::policy(RISK));
    let client = Client::new(&server);
    let reply = client
        .post("/v1/events", &format!("{CUSTOMER}\n{ORDER}\n{RETURN}\n"))
        .expect(200);
    let verdicts = harness::reply_verdicts(&reply.body);
    assert_eq!(verdicts.len(), 1);
    (server, client, verdicts[0].clone())
}

#[test]
fn resends_are_idempotent_and_other_content_is_a_conflict() {
    let scratch = Scratch::new("idempotent");
    let (server, client, verdict) = seeded(&scratch);
    let first = all_decisions(&client, "");
    assert_eq!(first.len(), 1);

    // The same order with its keys in another order and other spacing: the same content.
    let reordered = r#"{ "items": [ {"quantity": 2, "unit_price": "100.00", "category": "apparel", "sku": "A"} ],
        "delivered_at": "2026-01-02T00:00:00+08:00", "placed_at": "2026-01-01T00:00:00+08:00",
        "currency": "CNY", "customer_id": "C-1", "id": "O-1", "event": "order" }"#
        .replace('\n', " ");
    let reply = client
        .post("/v1/events", &format!("{reordered}\n{RETURN}\n"))
        .expect(200);
    assert_eq!(reply.json()["accepted"], json!(2));
    assert_eq!(harness::reply_verdicts(&reply.body), vec![verdict]);
    assert_eq!(reply.json()["decision_ids"], json!([first[0]["decision_id"]]));

    // Other content under a stored id: 409, and nothing of the batch applied.
    let other_order = ORDER.replace("\"quantity\":2", "\"quantity\":3");
    let conflict = client
        .post("/v1/events", &format!("{}\n{other_order}\n", order2()))
        .error(409, "conflict");
    assert_eq!(conflict.json()["id"], json!("O-1"));
    assert_eq!(conflict.json()["kind"], json!("order"));
    assert_eq!(conflict.json()["line"], json!(2));
    let unknown = client
        .post("/v1/judge", &return_on("O-2", "R-9"))
        .error(422, "invalid_input");
    assert_eq!(unknown.json()["error"]["path"], json!("order_id"), "O-2 was applied");

    let other_return = RETURN.replace("changed_mind", "size_fit");
    let conflict = client
        .post("/v1/events", &format!("{}\n{other_return}\n", return_on("O-1", "R-2")))
        .error(409, "conflict");
    assert_eq!(conflict.json()["kind"], json!("return"));
    assert_eq!(all_decisions(&client, "").len(), 1, "R-2 was applied");
    assert_eq!(all_decisions(&client, "return_id=R-2").len(), 0);

    // Lines are answered in their order: a conflict before a line that does
    // not read is the answer, in a small batch and in a large one (read on
    // another thread before the writer applies it).
    for before in [0, 100] {
        let orders: String = (0..before)
            .map(|i| ORDER.replace("O-1", &format!("O-B{i}")) + "\n")
            .collect();
        let conflict = client
            .post("/v1/events", &format!("{orders}{other_order}\nnot json\n"))
            .error(409, "conflict");
        assert_eq!(conflict.json()["line"], json!(before + 1));
        let reply = client
            .post("/v1/events", &format!("{orders}{ORDER}\nnot json\n"))
            .error(422, "invalid_line");
        assert_eq!(reply.json()["line"], json!(before + 2));
    }
    client
        .post("/v1/judge", &return_on("O-B0", "R-9"))
        .error(422, "invalid_input");
    server.stop();
}

#[test]
fn a_bad_line_refuses_its_whole_batch() {
    let scratch = Scratch::new("bad-line");
    let (server, client, _) = seeded(&scratch);
    let bad_return = return_on("O-2", "R-2").replace("\"quantity\":1", "\"quantity\":0");
    // Blank lines count in the line numbers.
    let body = format!("{}\n\n{}\n{bad_return}\n", CUSTOMER.replace("C-1", "C-2"), order2());
    let reply = client.post("/v1/events", &body).error(422, "invalid_line");
    let e = reply.json();
    assert_eq!(e["line"], json!(4));
    assert_eq!(e["error"]["path"], json!("items[0].quantity"));
    assert!(e["error"]["message"].as_str().unwrap_or_default().contains("positive"));
    // Nothing of it: O-2 is unknown, no decision was logged.
    client
        .post("/v1/judge", &return_on("O-2", "R-9"))
        .error(422, "invalid_input");
    assert_eq!(all_decisions(&client, "").len(), 1);

    for (line, path) in [
        ("not json", ""),
        (r#"{"event":"ordr","id":"O-3"}"#, "event"),
        (r#"{"id":"O-3"}"#, "event"),
        (
            r#"{"event":"return","id":"R-3","order_id":"O-404","requested_at":"2026-01-05T00:00:00Z","type":"return_refund","items":[{"sku":"A","quantity":1}]}"#,
            "order_id",
        ),
    ] {
        let reply = client
            .post("/v1/events", &format!("{}\n{line}\n", order2()))
            .error(422, "invalid_line");
        assert_eq!(reply.json()["line"], json!(2), "{line}");
        assert_eq!(reply.json()["error"]["path"], json!(path), "{line}");
    }
    client.post("/v1/events", "").error(422, "invalid_input");
    client.post("/v1/events", "\n  \n").error(422, "invalid_input");
    client
        .call_bytes("POST", "/v1/events", b"{\"event\":\"customer\",\"id\":\"\xff\"}\n")
        .error(422, "invalid_input");
    assert_eq!(all_decisions(&client, "").len(), 1);
    server.stop();
}

fn order_update(id: &str, at: &str, key: &str, time: &str) -> String {
    format!(r#"{{"event":"order_update","id":"{id}","at":"{at}","{key}":"{time}"}}"#)
}

#[test]
fn order_updates_are_held_to_the_order() {
    let scratch = Scratch::new("updates");
    // O-1 was placed on 2026-01-01 and delivered on 2026-01-02 (+08:00), its own times.
    let (server, client, _) = seeded(&scratch);
    let refused = |line: &str, path: &str, words: &str| {
        // After an order that would be new: nothing of the batch applies.
        let reply = client
            .post("/v1/events", &format!("{}\n{line}\n", order2()))
            .error(422, "invalid_line");
        let e = reply.json();
        assert_eq!(e["line"], json!(2), "{line}");
        assert_eq!(e["error"]["path"], json!(path), "{line}");
        let message = e["error"]["message"].as_str().unwrap_or_default();
        assert!(message.contains(words), "{line}: {message}");
        client
            .post("/v1/judge", &return_on("O-2", "R-9"))
            .error(422, "invalid_input");
    };
    let at = "2026-01-04T00:00:00+08:00";
    for (order, key, time, path, words) in [
        (
            "O-1",
            "shipped_at",
            "2025-12-31T00:00:00+08:00",
            "shipped_at",
            "before the order was placed",
        ),
        (
            "O-1",
            "delivered_at",
            "2026-01-02T09:00:00+08:00",
            "delivered_at",
            "cannot change",
        ),
        (
            "O-1",
            "shipped_at",
            "2026-01-03T00:00:00+08:00",
            "delivered_at",
            "before the order was shipped",
        ),
        ("O-404", "shipped_at", "2026-01-03T00:00:00+08:00", "id", "unknown"),
        ("O-1", "shipped_at", "soon", "shipped_at", ""),
    ] {
        refused(&order_update(order, at, key, time), path, words);
    }

    // The order's own time again changes nothing; a new one joins it, in
    // another writing of the line too, and is then as fixed as its own.
    let same = order_update("O-1", at, "delivered_at", "2026-01-02T00:00:00+08:00");
    client.post("/v1/events", &format!("{same}\n")).expect(200);
    let spaced = r#"{ "at": "2026-01-01T12:00:00+08:00", "shipped_at": "2026-01-01T11:00:00+08:00", "id": "O-1", "event": "order_update" }"#;
    let reply = client.post("/v1/events", &format!("{spaced}\n{same}\n")).expect(200);
    assert_eq!(reply.json()["accepted"], json!(2));
    refused(
        &order_update("O-1", at, "shipped_at", "2026-01-01T11:30:00+08:00"),
        "shipped_at",
        "cannot change",
    );
    client
        .post(
            "/v1/events",
            &order_update("O-1", at, "shipped_at", "2026-01-01T11:00:00+08:00"),
        )
        .expect(200);
    server.stop();
}

/// History is kept as long as the policy's longest window (risk.rpl: 90
/// days) or the order retention, whichever is longer, in the stream's time.
#[test]
fn history_older_than_the_retention_is_forgotten() {
    let scratch = Scratch::new("retention");
    let server = Server::start(
        &scratch.path("data"),
        &Options::policy(RISK).arg("--order-retention-days").arg("30"),
    );
    let client = Client::new(&server);
    let placed = |id: &str, at: &str| {
        ORDER
            .replace("O-1", id)
            .replace(r#","delivered_at":"2026-01-02T00:00:00+08:00""#, "")
            .replace("2026-01-01T00:00:00+08:00", at)
    };
    let on = |order: &str, at: &str| return_on(order, "R-9").replace("2026-01-03T00:00:00+08:00", at);
    client
        .post(
            "/v1/events",
            &format!(
                "{CUSTOMER}\n{}\n{}\n",
                placed("O-1", "2026-01-01T00:00:00+08:00"),
                placed("O-2", "2026-03-01T00:00:00+08:00")
            ),
        )
        .expect(200);
    // Two months on, both are kept (the window is 90 days, longer than 30).
    client
        .post("/v1/judge", &on("O-1", "2026-03-02T00:00:00+08:00"))
        .expect(200);
    // An order placed on 2026-05-01 moves the stream's clock past 90 days after O-1.
    client
        .post(
            "/v1/events",
            &format!("{}\n", placed("O-3", "2026-05-01T00:00:00+08:00")),
        )
        .expect(200);
    let gone = client
        .post("/v1/judge", &on("O-1", "2026-05-02T00:00:00+08:00"))
        .error(422, "invalid_input");
    assert_eq!(gone.json()["error"]["path"], json!("order_id"));
    assert!(gone.body.contains("forgotten"), "{}", gone.body);
    client
        .post("/v1/judge", &on("O-2", "2026-05-02T00:00:00+08:00"))
        .expect(200);
    // An update of a forgotten order names it unknown too.
    let update = r#"{"event":"order_update","id":"O-1","at":"2026-05-03T00:00:00+08:00","shipped_at":"2026-01-01T12:00:00+08:00"}"#;
    let reply = client.post("/v1/events", update).error(422, "invalid_line");
    assert_eq!(reply.json()["error"]["path"], json!("id"));
    server.stop();
}

// -- tokens ------------------------------------------------------------------------------------

const ADMIN_TOKEN: &str = "adm-7f3c9e1d5b2a48c6";
const CLIENT_TOKEN: &str = "cli-2b8d4f6a0c1e3957";

fn check_tokens(server: &Server) {
    let open = Client::new(server);
    let admin = open.with_token(ADMIN_TOKEN);
    let client = open.with_token(CLIENT_TOKEN);
    let wrong = open.with_token("not-a-token");
    // Client endpoints: the client token or the admin token.
    open.post("/v1/events", &format!("{CUSTOMER}\n"))
        .error(401, "unauthorized");
    wrong
        .post("/v1/events", &format!("{CUSTOMER}\n"))
        .error(401, "unauthorized");
    // A refusal is an answer the client gets whatever the body's size: the
    // service reads the body first, never closing the connection under it.
    let large = format!("{CUSTOMER}\n").repeat(60_000);
    assert!(large.len() > 4 << 20);
    open.post("/v1/events", &large).error(401, "unauthorized");
    client.post("/v1/events", &format!("{CUSTOMER}\n{ORDER}\n")).expect(200);
    admin.post("/v1/events", &format!("{RETURN}\n")).expect(200);
    open.post("/v1/judge", RETURN).error(401, "unauthorized");
    client.post("/v1/judge", RETURN).expect(200);
    // Admin endpoints: the admin token only.
    for (method, path) in [
        ("GET", "/v1/decisions"),
        ("GET", "/v1/policy"),
        ("GET", "/v1/policy/versions"),
        ("POST", "/v1/policy/rollback"),
        ("PUT", "/v1/policy"),
    ] {
        let call = |c: &Client| match method {
            "GET" => c.get(path),
            "PUT" => c.put(path, "not a policy"),
            _ => c.post(path, ""),
        };
        call(&open).error(401, "unauthorized");
        call(&wrong).error(401, "unauthorized");
        call(&client).error(403, "forbidden");
        let status = call(&admin).status;
        assert!(
            status != 401 && status != 403,
            "{method} {path} refused the admin token"
        );
    }
    // Operations are open.
    for path in ["/healthz", "/metrics", "/v1/openapi.json"] {
        open.get(path).expect(200);
    }
}

fn assert_no_token(stdout: &str, stderr: &str) {
    for t in [ADMIN_TOKEN, CLIENT_TOKEN] {
        assert!(
            !stdout.contains(t) && !stderr.contains(t),
            "a token was printed:\n{stdout}\n{stderr}"
        );
    }
}

#[test]
fn tokens_from_the_environment() {
    let scratch = Scratch::new("tokens-env");
    let options = Options::policy(RISK)
        .env("RPL_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("RPL_CLIENT_TOKEN", CLIENT_TOKEN);
    let server = Server::start(&scratch.path("data"), &options);
    check_tokens(&server);
    let (stdout, stderr) = server.stop();
    assert_no_token(&stdout, &stderr);

    // Only an admin token: the client endpoints are open, the admin ones not.
    let options = Options::default().env("RPL_ADMIN_TOKEN", ADMIN_TOKEN);
    let server = Server::start(&scratch.path("data"), &options);
    let open = Client::new(&server);
    open.post("/v1/judge", RETURN).expect(200);
    open.get("/v1/decisions").error(401, "unauthorized");
    open.with_token(ADMIN_TOKEN).get("/v1/decisions").expect(200);
    let (stdout, stderr) = server.stop();
    assert_no_token(&stdout, &stderr);
}

#[test]
fn tokens_from_files() {
    let scratch = Scratch::new("tokens-files");
    let (admin, client) = (scratch.path("admin.token"), scratch.path("client.token"));
    // Trimmed: a file ending in a newline holds the token before it.
    std::fs::write(&admin, format!("{ADMIN_TOKEN}\n")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&client, format!("  {CLIENT_TOKEN}\n")).unwrap_or_else(|e| panic!("{e}"));
    let options = Options::policy(RISK)
        .arg("--admin-token-file")
        .arg(&admin.to_string_lossy())
        .arg("--client-token-file")
        .arg(&client.to_string_lossy())
        // A file wins over the environment.
        .env("RPL_ADMIN_TOKEN", "from-the-environment");
    let server = Server::start(&scratch.path("data"), &options);
    check_tokens(&server);
    Client::new(&server)
        .with_token("from-the-environment")
        .get("/v1/policy")
        .error(401, "unauthorized");
    let (stdout, stderr) = server.stop();
    assert_no_token(&stdout, &stderr);
}

// -- limits, overload, timeouts --------------------------------------------------------------

#[test]
fn body_and_line_limits() {
    let scratch = Scratch::new("limits");
    let options = Options::policy(RISK)
        .arg("--max-body-bytes")
        .arg("2000")
        .arg("--max-lines")
        .arg("3");
    let server = Server::start(&scratch.path("data"), &options);
    let client = Client::new(&server);
    let big = format!("{CUSTOMER}\n").repeat(30);
    assert!(big.len() > 2000);
    client.post("/v1/events", &big).error(413, "too_large");
    client.post("/v1/judge", &" ".repeat(2001)).error(413, "too_large");
    client.put("/v1/policy", &"#".repeat(2001)).error(413, "too_large");
    let four = format!("{CUSTOMER}\n{ORDER}\n{RETURN}\n{}\n", order2());
    let reply = client.post("/v1/events", &four).error(422, "invalid_line");
    assert_eq!(reply.json()["line"], json!(4));
    assert_eq!(all_decisions(&client, "").len(), 0, "a refused batch was applied");
    client
        .post("/v1/events", &format!("{CUSTOMER}\n{ORDER}\n{RETURN}\n"))
        .expect(200);
    server.stop();
}

/// `--max-in-flight 1`: while one request is in flight (its body still
/// coming), any other, on any endpoint, is answered 503 with `Retry-After`;
/// once it is done, the service serves again.
#[test]
fn overload_is_503_with_retry_after() {
    let scratch = Scratch::new("overload");
    let options = Options::policy(RISK).arg("--max-in-flight").arg("1");
    let server = Server::start(&scratch.path("data"), &options);
    let client = Client::new(&server);
    client.get("/healthz").expect(200);
    let body = format!("{CUSTOMER}\n{ORDER}\n{RETURN}\n");
    let slow = Slow::start(&server, "POST", "/v1/events", body.as_bytes(), 10);
    std::thread::sleep(Duration::from_millis(300));
    for path in ["/v1/events", "/v1/judge"] {
        client.post(path, &body).error(503, "overloaded");
    }
    client.get("/healthz").error(503, "overloaded");
    client.get("/v1/decisions").error(503, "overloaded");
    slow.finish().expect(200);
    client.get("/healthz").expect(200);
    client.post("/v1/judge", RETURN).expect(200);
    server.stop();
}

#[test]
fn a_slow_request_times_out_with_503() {
    let scratch = Scratch::new("timeout");
    let options = Options::policy(RISK).arg("--request-timeout-ms").arg("300");
    let server = Server::start(&scratch.path("data"), &options);
    let body = format!("{CUSTOMER}\n");
    let started = Instant::now();
    let reply = Slow::start(&server, "POST", "/v1/events", body.as_bytes(), 5).answer();
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (503, "timeout"),
        "{}",
        reply.body
    );
    assert!(started.elapsed() >= Duration::from_millis(300));
    Client::new(&server).get("/healthz").expect(200);
    server.stop();
}

// -- policies ------------------------------------------------------------------------------------

fn read(path: &str) -> String {
    std::fs::read_to_string(harness::root().join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn judged_by(client: &Client) -> String {
    let reply = client.post("/v1/judge", RETURN).expect(200);
    reply.json()["verdict"]["policy"]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn policies_put_broken_rollback_and_restart() {
    let scratch = Scratch::new("policies");
    let (server, client, _) = seeded(&scratch);
    let risk_title = judged_by(&client);
    assert_eq!(risk_title, "Platform refund-abuse screen");

    // A policy that does not check: its diagnostics, and the old one still serving.
    let broken = read(MARKETPLACE).replacen("when", "whem", 1);
    let reply = client.put("/v1/policy", &broken).error(422, "policy_invalid");
    let diagnostics = reply.json()["diagnostics"].clone();
    assert!(diagnostics[0]["line"].as_u64().is_some_and(|l| l > 1), "{diagnostics}");
    assert_eq!(diagnostics[0]["severity"], json!("error"));
    assert_eq!(judged_by(&client), risk_title);
    assert_eq!(client.get("/v1/policy").expect(200).json()["version"], json!(1));

    let stored = client.put("/v1/policy", &read(MARKETPLACE)).expect(200).json();
    assert_eq!(stored["version"], json!(2));
    assert_eq!(judged_by(&client), "Marketplace: 7-day no-reason returns");
    let current = client.get("/v1/policy").expect(200).json();
    assert_eq!(current["source"], json!(read(MARKETPLACE)));
    let versions = client.get("/v1/policy/versions").expect(200).json();
    let in_force: Vec<_> = versions["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (v["version"].clone(), v["in_force"].clone()))
        .collect();
    assert_eq!(in_force, vec![(json!(1), json!(false)), (json!(2), json!(true))]);

    let back = client.post("/v1/policy/rollback", "").expect(200).json();
    assert_eq!(back["version"], json!(1));
    assert_eq!(judged_by(&client), risk_title);
    client
        .post("/v1/policy/rollback", "")
        .error(409, "nothing_to_roll_back");
    let (_, stderr) = server.stop();
    assert!(stderr.contains("loaded --policy as version 1"), "{stderr}");

    // A restart starts with the stored policy; a different --policy is noted, not loaded.
    let server = Server::start(&scratch.path("data"), &Options::policy(MARKETPLACE));
    let client = Client::new(&server);
    assert_eq!(judged_by(&client), risk_title);
    assert_eq!(client.get("/v1/policy").expect(200).json()["version"], json!(1));
    let (_, stderr) = server.stop();
    assert!(
        stderr.contains("note: the store's policy version 1 (sha256:") && stderr.contains("--policy is used only"),
        "{stderr}"
    );
    let server = Server::start(&scratch.path("data"), &Options::policy(RISK));
    assert_eq!(judged_by(&Client::new(&server)), risk_title);
    let (_, stderr) = server.stop();
    assert!(!stderr.contains("note:"), "{stderr}");
}

#[test]
fn health_waits_for_a_policy() {
    let scratch = Scratch::new("health");
    let server = Server::start(&scratch.path("data"), &Options::default());
    let client = Client::new(&server);
    let reply = client.get("/healthz").error(503, "no_policy");
    assert_eq!(reply.json()["status"], json!("not_ready"));
    client
        .post("/v1/events", &format!("{CUSTOMER}\n"))
        .error(503, "no_policy");
    client.post("/v1/judge", RETURN).error(503, "no_policy");
    client.get("/v1/policy").error(503, "no_policy");
    client.put("/v1/policy", &read(RISK)).expect(200);
    let health = client.get("/healthz").expect(200).json();
    assert_eq!(health, json!({"status": "ready", "policy_version": 1, "merchants": 0}));
    client
        .post("/v1/events", &format!("{CUSTOMER}\n{ORDER}\n{RETURN}\n"))
        .expect(200);
    server.stop();
}

// -- operations --------------------------------------------------------------------------------

fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
}

#[test]
fn metrics_count_requests_decisions_and_events() {
    let scratch = Scratch::new("metrics");
    let (server, client, _) = seeded(&scratch);
    // A re-send and a judge: one more decision (the judge's), not two.
    client.post("/v1/events", &format!("{ORDER}\n{RETURN}\n")).expect(200);
    client.post("/v1/judge", RETURN).expect(200);
    client.post("/v1/events", "nope\n").error(422, "invalid_line");
    client.get("/v1/decisions?nope=1").error(400, "bad_request");
    client.get("/nowhere").error(404, "not_found");
    let text = client.get("/metrics").expect(200).body;
    for (name, want) in [
        ("rpl_requests_total{endpoint=\"events\",status=\"2xx\"}", 2.0),
        ("rpl_requests_total{endpoint=\"events\",status=\"4xx\"}", 1.0),
        ("rpl_requests_total{endpoint=\"judge\",status=\"2xx\"}", 1.0),
        ("rpl_requests_total{endpoint=\"decisions\",status=\"4xx\"}", 1.0),
        ("rpl_requests_total{endpoint=\"other\",status=\"4xx\"}", 1.0),
        ("rpl_request_duration_seconds_count{endpoint=\"events\"}", 3.0),
        (
            "rpl_request_duration_seconds_bucket{endpoint=\"judge\",le=\"+Inf\"}",
            1.0,
        ),
        ("rpl_events_total{kind=\"customer\"}", 1.0),
    ] {
        assert_eq!(metric(&text, name), want, "{name}");
    }
    let decisions: f64 = ["approve", "partial", "review", "deny"]
        .iter()
        .map(|d| metric(&text, &format!("rpl_decisions_total{{decision=\"{d}\"}}")))
        .sum();
    assert_eq!(
        decisions as usize,
        all_decisions(&client, "").len(),
        "rpl_decisions_total and the decision log disagree"
    );
    assert!(metric(&text, "rpl_commits_total") >= 2.0);
    assert!(metric(&text, "rpl_committed_requests_total") >= metric(&text, "rpl_commits_total"));
    assert!(metric(&text, "rpl_store_bytes") > 0.0);
    for family in [
        "rpl_requests_total counter",
        "rpl_request_duration_seconds histogram",
        "rpl_decisions_total counter",
        "rpl_events_total counter",
        "rpl_store_bytes gauge",
    ] {
        assert!(text.contains(&format!("# TYPE {family}")), "{family}");
    }
    server.stop();
}

/// SIGTERM with a request in flight: the request is finished and answered,
/// the process exits 0, and the store opens again with the batch in it.
#[test]
fn sigterm_finishes_requests_in_flight() {
    let scratch = Scratch::new("sigterm");
    let server = Server::start(&scratch.path("data"), &Options::policy(RISK));
    let body = format!("{CUSTOMER}\n{ORDER}\n{RETURN}\n");
    let slow = Slow::start(&server, "POST", "/v1/events", body.as_bytes(), 20);
    std::thread::sleep(Duration::from_millis(200));
    server.term();
    std::thread::sleep(Duration::from_millis(200));
    let reply = slow.finish().expect(200);
    let verdicts = harness::reply_verdicts(&reply.body);
    server.stop();

    let server = Server::start(&scratch.path("data"), &Options::policy(RISK));
    let client = Client::new(&server);
    client.get("/healthz").expect(200);
    let again = client.post("/v1/events", &body).expect(200);
    assert_eq!(harness::reply_verdicts(&again.body), verdicts);
    assert_eq!(all_decisions(&client, "").len(), 1);
    server.stop();
}

#[test]
fn decision_log_filters() {
    decision_log_filters_with(Options::policy(RISK), "decisions");
}

/// The same filters when the index is written in runs of 2 decisions: the
/// answers come from complete runs, the run being written and the log's tail
/// at once, and again after a restart.
#[test]
fn decision_log_filters_over_index_runs() {
    let options = Options::policy(RISK).arg("--decision-index-run").arg("2");
    let (scratch, log) = decision_log_filters_with(options.clone(), "decisions-runs");
    let server = Server::start(&scratch.path("data"), &options);
    let client = Client::new(&server);
    assert_eq!(all_decisions(&client, ""), log, "the log changed over a restart");
    assert_index_agrees(&client, &log);
    server.stop();
}

/// Every return's and customer's decisions, asked by filter (and a page at
/// a time), are the log's own in order.
fn assert_index_agrees(client: &Client, log: &[Value]) {
    for key in ["return_id", "customer_id"] {
        let mut values: Vec<&str> = log.iter().filter_map(|d| d[key].as_str()).collect();
        values.sort_unstable();
        values.dedup();
        for v in values {
            let want: Vec<&Value> = log.iter().filter(|d| d[key] == json!(v)).collect();
            let got = all_decisions(client, &format!("{key}={v}"));
            assert_eq!(got.iter().collect::<Vec<_>>(), want, "{key}={v}");
            // One at a time, each page after the last.
            let mut after = 0;
            for d in &want {
                let body = client
                    .get(&format!("/v1/decisions?{key}={v}&after={after}&limit=1"))
                    .expect(200)
                    .body;
                let page: Value = serde_json::from_str(body.trim_end()).unwrap_or(Value::Null);
                assert_eq!(&&page, d, "{key}={v} after {after}");
                after = page["decision_id"].as_u64().unwrap_or(u64::MAX);
            }
        }
    }
}

/// Runs the filter checks on a fresh store; returns its scratch and the log.
fn decision_log_filters_with(options: Options, name: &str) -> (Scratch, Vec<Value>) {
    let scratch = Scratch::new(name);
    let server = Server::start(&scratch.path("data"), &options);
    let client = Client::new(&server);
    let stream = read("tests/service/same_second.jsonl");
    let lines = parse_stream(&stream);
    // Two requests, so that the decisions have two times.
    let half = lines.len() - 3;
    let mut verdicts = ingest(&client, &lines[..half], &[half]);
    std::thread::sleep(Duration::from_millis(5));
    verdicts.extend(ingest(&client, &lines[half..], &[3]));
    let judged = lines[lines.len() - 1].text.replace("R-TIE-9", "R-JUDGED");
    client.post("/v1/judge", &judged).expect(200);

    let reply = client.get("/v1/decisions").expect(200);
    assert!(reply.content_type.starts_with("application/x-ndjson"));
    let log: Vec<Value> = reply
        .body
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
        .collect();
    let returns: Vec<&Line> = lines.iter().filter(|l| l.kind == "return").collect();
    assert_eq!(log.len(), returns.len() + 1);
    assert_eq!(log.last().map(|d| d["source"].clone()), Some(json!("judge")));
    let ids = |log: &[Value]| -> Vec<String> {
        log.iter()
            .map(|d| d["return_id"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    for (r, verdict) in returns.iter().zip(&verdicts) {
        let one = client
            .get(&format!("/v1/decisions?return_id={}", r.id))
            .expect(200)
            .body;
        assert_eq!(one.lines().count(), 1);
        let d: Value = serde_json::from_str(&one).unwrap_or(Value::Null);
        assert_eq!(d["return_id"], json!(r.id));
        assert_eq!(d["source"], json!("events"));
        assert_eq!(
            d["input"],
            serde_json::from_str::<Value>(&r.text).unwrap_or(Value::Null)
        );
        // The log keeps the verdict's very bytes.
        assert_eq!(&harness::raw_field(one.trim_end(), "verdict"), verdict);
    }
    let of = |customer: &str| -> Vec<String> {
        returns
            .iter()
            .filter(|r| r.customer == customer)
            .map(|r| r.id.clone())
            .collect()
    };
    let mut tie1 = of("C-TIE-1");
    tie1.push("R-JUDGED".into());
    assert_eq!(ids(&all_decisions(&client, "customer_id=C-TIE-1")), tie1);
    assert_eq!(ids(&all_decisions(&client, "customer_id=C-TIE-2")), of("C-TIE-2"));
    assert_eq!(
        ids(&all_decisions(&client, "customer_id=C-TIE-2&return_id=R-TIE-1")),
        Vec::<String>::new()
    );

    // limit and after: pages that add up to the whole log.
    let page = |q: &str| -> Vec<Value> {
        let body = client.get(&format!("/v1/decisions?{q}")).expect(200).body;
        body.lines()
            .map(|l| serde_json::from_str(l).unwrap_or(Value::Null))
            .collect()
    };
    let first = page("limit=4");
    assert_eq!(ids(&first), ids(&log[..4]));
    let after = first[3]["decision_id"].clone();
    assert_eq!(ids(&page(&format!("after={after}&limit=4"))), ids(&log[4..8]));
    assert_eq!(page("limit=0").len(), 0);

    // from (inclusive) and to (exclusive), on the service's clock.
    let split = log.iter().position(|d| d["at"] != log[0]["at"]).unwrap_or(log.len());
    assert!(split > 0 && split < log.len(), "the two requests share a time");
    let at = log[split]["at"].as_str().unwrap_or_default().replace('+', "%2B");
    assert_eq!(ids(&page(&format!("from={at}"))), ids(&log[split..]));
    assert_eq!(ids(&page(&format!("to={at}"))), ids(&log[..split]));
    assert_eq!(
        ids(&page(&format!("from={at}&customer_id=C-TIE-1"))),
        ids(&log[split..]
            .iter()
            .filter(|d| d["customer_id"] == json!("C-TIE-1"))
            .cloned()
            .collect::<Vec<_>>())
    );

    for bad in [
        "from=yesterday",
        "to=2026-01-01",
        "limit=-1",
        "after=x",
        "status=approve",
    ] {
        client.get(&format!("/v1/decisions?{bad}")).error(400, "bad_request");
    }
    assert_index_agrees(&client, &log);
    server.stop();
    (scratch, log)
}

#[test]
fn judge_and_errors_are_json() {
    let scratch = Scratch::new("judge");
    let (server, client, first) = seeded(&scratch);
    let first: Value = serde_json::from_str(&first).unwrap_or(Value::Null);
    let status = match first["decision"].as_str() {
        Some("approve") => "refunded",
        Some("deny") => "rejected",
        _ => "pending",
    };
    // A return on the stored history, and a whole case: the same verdict as `rpl judge`.
    let on_history = client.post("/v1/judge", &return_on("O-1", "R-5")).expect(200);
    let case = json!({
        "order": serde_json::from_str::<Value>(&ORDER.replace("\"event\":\"order\",", "")).unwrap_or(Value::Null),
        "return": serde_json::from_str::<Value>(
            &return_on("O-1", "R-5").replace("\"event\":\"return\",", "").replace("\"order_id\":\"O-1\",", "")
        ).unwrap_or(Value::Null),
        "customer": serde_json::from_str::<Value>(&CUSTOMER.replace("\"event\":\"customer\",", "")).unwrap_or(Value::Null),
        "history": {"orders": [{"id": "O-1", "placed_at": "2026-01-01T00:00:00+08:00", "total": "200.00", "tags": []}],
                    "returns": [{"id": "R-1", "order_id": "O-1", "requested_at": "2026-01-03T00:00:00+08:00",
                                 "type": "return_refund", "reason": "changed_mind", "amount": "100.00", "status": status}]}
    });
    let whole = client.post("/v1/judge", &case.to_string()).expect(200);
    let case_file = scratch.path("case.json");
    std::fs::write(&case_file, case.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let cli = rpl(&["judge", RISK, &case_file.to_string_lossy(), "--compact"]);
    let raw = |r: &harness::Reply| harness::raw_field(&r.body, "verdict");
    assert_eq!(raw(&whole), cli.trim_end());
    assert_eq!(raw(&on_history), cli.trim_end());

    let explained = client.post("/v1/judge?explain=true", RETURN).expect(200).json();
    assert!(
        explained["explanation_text"]
            .as_str()
            .unwrap_or_default()
            .starts_with("return R-1:")
    );
    client.post("/v1/judge?explain=maybe", RETURN).error(400, "bad_request");
    let bad = client
        .post("/v1/judge", &RETURN.replace("\"quantity\":1", "\"quantity\":\"1\""))
        .error(422, "invalid_input");
    // The path is in the body sent: the event's own, not the case built from it.
    assert_eq!(bad.json()["error"]["path"], json!("items[0].quantity"));
    client.post("/v1/judge", "{").error(422, "invalid_input");
    client.get("/v1/nothing").error(404, "not_found");
    client
        .call_bytes("DELETE", "/v1/events", b"")
        .error(405, "method_not_allowed");
    client.get("/v1/events").error(405, "method_not_allowed");
    // The document served is the one these tests hold answers to.
    let served = client.get("/v1/openapi.json").expect(200).json();
    assert_eq!(served, harness::spec().doc);
    server.stop();
}

/// A body may start with a byte-order mark, as a case file may (`rpl judge`
/// skips it): the same verdict as without, not a storage error.
#[test]
fn a_byte_order_mark_is_skipped() {
    let scratch = Scratch::new("bom");
    let (server, client, verdict) = seeded(&scratch);
    let plain = client.post("/v1/judge", RETURN).expect(200);
    let marked = client.post("/v1/judge", &format!("\u{feff}{RETURN}")).expect(200);
    assert_eq!(
        harness::raw_field(&marked.body, "verdict"),
        harness::raw_field(&plain.body, "verdict")
    );
    let reply = client.post("/v1/events", &format!("\u{feff}{RETURN}\n")).expect(200);
    assert_eq!(harness::reply_verdicts(&reply.body), vec![verdict]);
    let logged = all_decisions(&client, "");
    assert_eq!(logged.len(), 3, "the two judges and the return");
    server.stop();
}
