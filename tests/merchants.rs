//! Many merchants in one `rpl serve` (issue 13, points 4–6): the real binary
//! on loopback, the shipped floor for the whole service and the shipped
//! shops' policies on it, every answer held to the OpenAPI document.
//!
//! - each return is judged by its order's merchant's policy on the floor,
//!   exactly as `rpl backtest --floor` judges that merchant's customers; an
//!   order without a merchant (or of one without a policy) gets the floor alone;
//! - versions in force: the merchant's at the order's placing, the floor's
//!   at the request, both in the decision log;
//! - tokens: issued once, kept as a hash, rotated, revoked, surviving a restart;
//! - isolation: another merchant's token learns nothing on any endpoint.

#[allow(dead_code)]
#[path = "service/harness.rs"]
mod harness;

use std::collections::HashMap;

use harness::{Client, Options, Scratch, Server, all_decisions, parse_stream, rpl};
use serde_json::{Value, json};

const FLOOR: &str = "policies/platform_floor.rpl";
const LINEN: &str = "policies/shops/linen_house.rpl";
const GADGET: &str = "policies/shops/gadget_store.rpl";
const ADMIN: &str = "adm-merchants-5e1f0c3b";
const CLIENT: &str = "cli-merchants-9a7d2e41";

fn read(path: &str) -> String {
    std::fs::read_to_string(harness::root().join(path)).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

fn start(scratch: &Scratch, data: &str) -> Server {
    let options = Options::policy(FLOOR)
        .env("RPL_ADMIN_TOKEN", ADMIN)
        .env("RPL_CLIENT_TOKEN", CLIENT);
    Server::start(&scratch.path(data), &options)
}

/// Creates merchant `id` and returns its token.
fn create(admin: &Client, id: &str) -> String {
    let reply = admin.put(&format!("/v1/merchants/{id}"), "").expect(201).json();
    assert_eq!(reply["id"], json!(id));
    let token = reply["token"].as_str().unwrap_or_default().to_string();
    assert!(token.starts_with(&format!("m.{id}.")), "{reply}");
    token
}

/// Which shop a generated customer buys from: a third each, the last third
/// from no merchant at all.
fn shop_of(customer: &str) -> Option<usize> {
    let n: usize = customer.trim_start_matches("C-").parse().unwrap_or(0);
    (n % 3 < 2).then_some(n % 3)
}

const SHOPS: [(&str, &str, &str); 2] = [("linen_house", LINEN, "apparel"), ("gadget_store", GADGET, "phones")];

/// A generated stream made the shops': each customer's orders name their
/// shop and hold what it sells; conditions and evidence in the shops' words.
/// Returns the whole stream and each shop's part (the last: no merchant).
fn shop_stream(scratch: &Scratch) -> (String, [String; 3]) {
    let path = scratch.path("generated.jsonl");
    let path = path.to_string_lossy();
    rpl(&[
        "gen",
        "--customers",
        "120",
        "--days",
        "60",
        "--seed",
        "13",
        "--abusers",
        "0.1",
        "--out",
        &path,
    ]);
    let text = std::fs::read_to_string(&*path).unwrap_or_else(|e| panic!("cannot read the stream: {e}"));
    let mut whole = String::new();
    let mut parts: [String; 3] = Default::default();
    for line in parse_stream(&text) {
        let mut v: Value = serde_json::from_str(&line.text).unwrap_or(Value::Null);
        let shop = shop_of(&line.customer);
        if let Some(s) = shop {
            let (merchant, _, category) = SHOPS[s];
            if line.kind == "order" {
                v["merchant_id"] = json!(merchant);
                for item in v["items"].as_array_mut().into_iter().flatten() {
                    item["category"] = json!(category);
                }
            }
            if line.kind == "return" {
                for item in v["items"].as_array_mut().into_iter().flatten() {
                    if merchant == "linen_house" && item["condition"] == json!("opened") {
                        item["condition"] = json!("used");
                    }
                }
                for e in v["evidence"].as_array_mut().into_iter().flatten() {
                    if e != "photo" && e != "video" {
                        *e = json!("photo");
                    }
                }
            }
        }
        let text = serde_json::to_string(&v).unwrap_or_default();
        whole.push_str(&text);
        whole.push('\n');
        let part = &mut parts[shop.unwrap_or(2)];
        part.push_str(&text);
        part.push('\n');
    }
    (whole, parts)
}

/// `rpl backtest [--floor FLOOR] POLICY` on `stream`: each verdict by return id.
fn backtest(scratch: &Scratch, name: &str, floor: Option<&str>, policy: &str, stream: &str) -> Vec<(String, String)> {
    let input = scratch.path(&format!("{name}.jsonl"));
    let out = scratch.path(&format!("{name}.out.jsonl"));
    std::fs::write(&input, stream).unwrap_or_else(|e| panic!("cannot write: {e}"));
    let (input, out_path) = (input.to_string_lossy(), out.to_string_lossy());
    let mut args = vec!["backtest"];
    if let Some(f) = floor {
        args.extend(["--floor", f]);
    }
    args.extend([policy, &input, "--out", &out_path]);
    rpl(&args);
    let text = std::fs::read_to_string(&out).unwrap_or_else(|e| panic!("cannot read --out: {e}"));
    harness::backtest_verdicts(&text)
}

#[test]
fn each_return_is_judged_by_its_merchants_policy_on_the_floor() {
    let scratch = Scratch::new("merchants-parity");
    let (whole, parts) = shop_stream(&scratch);
    let mut want: HashMap<String, String> = HashMap::new();
    for (i, (name, policy, _)) in SHOPS.iter().enumerate() {
        let verdicts = backtest(&scratch, name, Some(FLOOR), policy, &parts[i]);
        assert!(verdicts.len() >= 5, "{name}: too few returns to compare");
        want.extend(verdicts);
    }
    let alone = backtest(&scratch, "floor-alone", None, FLOOR, &parts[2]);
    assert!(alone.len() >= 5);
    want.extend(alone);

    let server = start(&scratch, "data");
    let open = Client::new(&server);
    let admin = open.with_token(ADMIN);
    let client = open.with_token(CLIENT);
    let mut tokens = Vec::new();
    for (name, policy, _) in SHOPS {
        let token = create(&admin, name);
        let stored = open
            .with_token(&token)
            .put(&format!("/v1/merchants/{name}/policy"), &read(policy))
            .expect(200)
            .json();
        assert_eq!(stored["version"], json!(1));
        assert_eq!(stored["merchant_id"], json!(name));
        tokens.push(token);
    }
    // A merchant without a policy: its returns get the floor alone.
    create(&admin, "empty_shop");

    let lines = parse_stream(&whole);
    let mut got: Vec<Value> = Vec::new();
    for chunk in lines.chunks(97) {
        let body: String = chunk.iter().map(|l| format!("{}\n", l.text)).collect();
        let reply = client.post("/v1/events", &body).expect(200);
        for v in harness::reply_verdicts(&reply.body) {
            got.push(serde_json::from_str(&v).unwrap_or(Value::Null));
        }
    }
    assert_eq!(got.len(), want.len(), "one verdict per return");
    let mut layered = 0;
    for v in &got {
        let id = v["return_id"].as_str().unwrap_or_default();
        let expected: Value = serde_json::from_str(&want[id]).unwrap_or(Value::Null);
        assert_eq!(v, &expected, "return {id}: the service and the backtest differ");
        layered += usize::from(v.get("floor").is_some());
    }
    assert!(
        layered > 0 && layered < got.len(),
        "both layered and floor-alone verdicts"
    );

    // The log says which versions decided.
    // Requests only: the timer adds the timeouts of reviews long due (the stream is in the past).
    let requests = |d: &Vec<Value>| {
        d.iter()
            .filter(|d| d["source"] == json!("events"))
            .cloned()
            .collect::<Vec<_>>()
    };
    let log = requests(&all_decisions(&admin, ""));
    assert_eq!(log.len(), got.len());
    let by_merchant = |m: Option<&str>| log.iter().filter(|d| d["merchant_id"].as_str() == m).count();
    for (i, (name, _, _)) in SHOPS.iter().enumerate() {
        let own = requests(&all_decisions(&admin, &format!("merchant_id={name}")));
        assert_eq!(own.len(), by_merchant(Some(name)));
        assert!(
            own.iter()
                .all(|d| d["merchant_version"] == json!(1) && d["policy_version"] == json!(1))
        );
        // A merchant's token reads exactly its own.
        let mine = requests(&all_decisions(&open.with_token(&tokens[i]), ""));
        assert_eq!(mine, own, "{name}'s token sees its own decisions");
    }
    assert!(
        log.iter()
            .filter(|d| d["merchant_id"].is_null())
            .all(|d| d.get("merchant_version").is_none())
    );
    assert_eq!(
        by_merchant(None),
        want.len() - by_merchant(Some("linen_house")) - by_merchant(Some("gadget_store"))
    );
    server.stop();
}

// -- versions in force -------------------------------------------------------------------

const CUSTOMER: &str = r#"{"event":"customer","id":"C-1","created_at":"2025-06-01T00:00:00+08:00"}"#;

fn order(id: &str, placed: &str) -> String {
    format!(
        r#"{{"event":"order","id":"{id}","customer_id":"C-1","merchant_id":"linen_house","currency":"CNY","placed_at":"{placed}","delivered_at":"{placed}","items":[{{"sku":"SHIRT","category":"apparel","unit_price":"199.00","quantity":1}}]}}"#
    )
}

fn ret(id: &str, order: &str, requested: &str) -> String {
    format!(
        r#"{{"event":"return","id":"{id}","order_id":"{order}","requested_at":"{requested}","type":"return_refund","reason":"changed_mind","items":[{{"sku":"SHIRT","quantity":1,"condition":"unused"}}]}}"#
    )
}

#[test]
fn versions_in_force_at_the_order_and_at_the_request() {
    let scratch = Scratch::new("merchants-versions");
    let server = start(&scratch, "data");
    let admin = Client::new(&server).with_token(ADMIN);
    let token = create(&admin, "linen_house");
    let linen = Client::new(&server).with_token(&token);
    linen.put("/v1/merchants/linen_house/policy", &read(LINEN)).expect(200);
    // From March, the shop gives 10 days instead of 30.
    let stricter = read(LINEN)
        .replace("version  \"2026.11\"", "version  \"2026.12\"")
        .replace("30", "10");
    let v2 = linen
        .put(
            "/v1/merchants/linen_house/policy?effective_at=2026-03-01T00:00:00%2B08:00",
            &stricter,
        )
        .expect(200)
        .json();
    assert_eq!(v2["version"], json!(2));
    assert_eq!(v2["effective_at"], json!("2026-02-28T16:00:00Z"));
    // The floor gets a second version from mid-March.
    let floor2 = read(FLOOR).replace("version  \"2026.12\"", "version  \"2026.12-b\"");
    assert_ne!(floor2, read(FLOOR));
    admin
        .put("/v1/policy?effective_at=2026-03-15T00:00:00Z", &floor2)
        .expect(200);

    let events = [
        CUSTOMER.to_string(),
        order("O-FEB", "2026-02-20T10:00:00+08:00"),
        order("O-MAR", "2026-03-05T10:00:00+08:00"),
        // Both 20 days after delivery, both after the stricter terms began.
        ret("R-FEB", "O-FEB", "2026-03-12T10:00:00+08:00"),
        ret("R-MAR", "O-MAR", "2026-03-25T10:00:00+08:00"),
    ];
    let reply = Client::new(&server)
        .with_token(CLIENT)
        .post("/v1/events", &(events.join("\n") + "\n"))
        .expect(200)
        .json();
    let verdicts = reply["verdicts"].as_array().cloned().unwrap_or_default();
    let decision = |i: usize| verdicts[i]["decision"].as_str().unwrap_or_default().to_string();
    // Bought under the 30-day terms: approved; under the 10-day ones: not.
    assert_eq!(decision(0), "approve", "{}", verdicts[0]);
    assert_ne!(decision(1), "approve", "{}", verdicts[1]);
    let log = all_decisions(&admin, "merchant_id=linen_house");
    let versions: Vec<_> = log
        .iter()
        .map(|d| {
            (
                d["return_id"].clone(),
                d["merchant_version"].clone(),
                d["policy_version"].clone(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        vec![
            (json!("R-FEB"), json!(1), json!(1)),
            (json!("R-MAR"), json!(2), json!(2)),
        ]
    );
    // The versions list says which is in force at the stream's present (25 March).
    let listed = linen
        .get("/v1/merchants/linen_house/policy/versions")
        .expect(200)
        .json();
    let in_force: Vec<_> = listed["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| v["in_force"].clone())
        .collect();
    assert_eq!(in_force, vec![json!(false), json!(true)]);
    assert_eq!(
        linen.get("/v1/merchants/linen_house/policy").expect(200).json()["source"],
        json!(stricter)
    );
    // A rollback withdraws the floor's last version: the request is judged on the first again.
    admin.post("/v1/policy/rollback", "").expect(200);
    let judged = Client::new(&server)
        .with_token(CLIENT)
        .post("/v1/judge", &ret("R-MAR2", "O-MAR", "2026-03-25T10:00:00+08:00"))
        .expect(200);
    assert_eq!(judged.json()["verdict"]["floor"]["policy"]["version"], json!("2026.12"));
    let last = all_decisions(&admin, "return_id=R-MAR2");
    assert_eq!(last[0]["policy_version"], json!(1));
    assert_eq!(last[0]["merchant_version"], json!(2));
    server.stop();

    // Everything survives a restart: versions, their times, the token.
    let server = start(&scratch, "data");
    let linen = Client::new(&server).with_token(&token);
    let listed = linen
        .get("/v1/merchants/linen_house/policy/versions")
        .expect(200)
        .json();
    assert_eq!(listed["versions"].as_array().map(Vec::len), Some(2));
    server.stop();
}

// -- isolation ---------------------------------------------------------------------------

/// The same answer, whatever the id in it: `unknown` stands for both.
fn same_answer(a: &harness::Reply, b: &harness::Reply, ids: [&str; 2]) {
    assert_eq!(a.status, b.status, "{} / {}", a.body, b.body);
    assert_eq!(a.body.replace(ids[0], "ID"), b.body.replace(ids[1], "ID"));
}

#[test]
fn another_merchants_token_learns_nothing() {
    let scratch = Scratch::new("merchants-isolation");
    let server = start(&scratch, "data");
    let open = Client::new(&server);
    let admin = open.with_token(ADMIN);
    let client = open.with_token(CLIENT);
    let linen_token = create(&admin, "linen_house");
    let gadget_token = create(&admin, "gadget_store");
    let linen = open.with_token(&linen_token);
    let gadget = open.with_token(&gadget_token);
    linen.put("/v1/merchants/linen_house/policy", &read(LINEN)).expect(200);
    gadget
        .put("/v1/merchants/gadget_store/policy", &read(GADGET))
        .expect(200);
    admin.put("/v1/merchants/linen_house", "").error(409, "merchant_exists");
    admin.put("/v1/merchants/bad.id", "").error(400, "bad_request");

    let gadget_order = order("O-G", "2026-02-20T10:00:00+08:00")
        .replace("linen_house", "gadget_store")
        .replace("apparel", "phones");
    let events = [
        CUSTOMER.to_string(),
        order("O-L", "2026-02-20T10:00:00+08:00"),
        gadget_order,
        ret("R-L", "O-L", "2026-02-22T10:00:00+08:00"),
        ret("R-G", "O-G", "2026-02-22T10:00:00+08:00"),
    ];
    client.post("/v1/events", &(events.join("\n") + "\n")).expect(200);

    // Paths of another merchant answer as those of a merchant that does not exist.
    for (method, path) in [
        ("GET", "/v1/merchants/{}"),
        ("GET", "/v1/merchants/{}/policy"),
        ("PUT", "/v1/merchants/{}/policy"),
        ("GET", "/v1/merchants/{}/policy/versions"),
    ] {
        let call = |c: &Client, id: &str| {
            let path = path.replace("{}", id);
            match method {
                "GET" => c.get(&path),
                _ => c.put(&path, &read(LINEN)),
            }
        };
        let foreign = call(&linen, "gadget_store");
        let unknown = call(&linen, "no_such_shop");
        assert_eq!(foreign.status, 404, "{method} {path}: {}", foreign.body);
        same_answer(&foreign, &unknown, ["gadget_store", "no_such_shop"]);
        call(&open, "linen_house").error(401, "unauthorized");
        call(&client, "linen_house").error(403, "forbidden");
        assert!(
            call(&linen, "linen_house").status < 300,
            "{method} {path} refused its own merchant"
        );
    }
    // Admin endpoints refuse a merchant's token.
    for (method, path) in [
        ("GET", "/v1/merchants"),
        ("PUT", "/v1/merchants/linen_house2"),
        ("POST", "/v1/merchants/gadget_store/token"),
        ("DELETE", "/v1/merchants/gadget_store/token"),
        ("POST", "/v1/merchants/linen_house/token"),
        ("GET", "/v1/policy"),
        ("PUT", "/v1/policy"),
        ("GET", "/v1/policy/versions"),
        ("POST", "/v1/policy/rollback"),
        ("POST", "/v1/events"),
    ] {
        let call = |c: &Client| match method {
            "GET" => c.get(path),
            "PUT" => c.put(path, &read(LINEN)),
            "DELETE" => c.delete(path),
            _ => c.post(path, &format!("{CUSTOMER}\n")),
        };
        call(&linen).error(403, "forbidden");
        call(&open).error(401, "unauthorized");
    }
    // Judging: another merchant's order is an unknown order.
    let foreign = linen.post("/v1/judge", &ret("R-X", "O-G", "2026-02-23T10:00:00+08:00"));
    let unknown = linen.post("/v1/judge", &ret("R-X", "O-NONE", "2026-02-23T10:00:00+08:00"));
    assert_eq!(foreign.status, 422, "{}", foreign.body);
    same_answer(&foreign, &unknown, ["O-G", "O-NONE"]);
    linen
        .post("/v1/judge", &ret("R-X", "O-L", "2026-02-23T10:00:00+08:00"))
        .expect(200);
    open.post("/v1/judge", &ret("R-X", "O-L", "2026-02-23T10:00:00+08:00"))
        .error(401, "unauthorized");
    // A whole case must be the merchant's own.
    let case = read("policies/shops/cases/gadget_day5_unused.json");
    linen.post("/v1/judge", &case).error(403, "forbidden");
    let with_merchant = |m: &str| {
        let mut v: Value = serde_json::from_str(&case).unwrap_or(Value::Null);
        v["order"]["merchant_id"] = json!(m);
        v.to_string()
    };
    let judged = gadget
        .post("/v1/judge", &with_merchant("gadget_store"))
        .expect(200)
        .json();
    assert_eq!(judged["verdict"]["policy"]["title"], json!("Gadget Store returns"));
    linen
        .post("/v1/judge", &with_merchant("gadget_store"))
        .error(403, "forbidden");

    // A return's life: another merchant's return is as unknown as none.
    for path in ["/v1/reviews/{}", "/v1/refunds/{}/paid"] {
        let body = r#"{"decision": "approve"}"#;
        let foreign = linen.post(&path.replace("{}", "R-G"), body);
        let unknown = linen.post(&path.replace("{}", "R-NONE"), body);
        assert_eq!(foreign.status, 404, "{path}: {}", foreign.body);
        same_answer(&foreign, &unknown, ["R-G", "R-NONE"]);
        open.post(&path.replace("{}", "R-G"), body).error(401, "unauthorized");
        client.post(&path.replace("{}", "R-G"), body).error(403, "forbidden");
    }
    // Its own: reached (nothing is in review there).
    gadget
        .post("/v1/reviews/R-G", r#"{"decision": "approve"}"#)
        .error(409, "not_in_review");
    for path in ["/v1/reviews", "/v1/refunds"] {
        assert_eq!(linen.get(&format!("{path}?merchant_id=gadget_store")).body, "");
        client.get(path).error(403, "forbidden");
    }
    linen.get("/v1/customers/C-1/restrictions").error(403, "forbidden");
    linen
        .delete("/v1/customers/C-1/restrictions/refund_only")
        .error(403, "forbidden");

    // Decisions: only one's own, and another's return is as unknown as none.
    let own = all_decisions(&linen, "");
    assert!(!own.is_empty() && own.iter().all(|d| d["merchant_id"] == json!("linen_house")));
    let foreign = linen.get("/v1/decisions?return_id=R-G");
    let unknown = linen.get("/v1/decisions?return_id=R-NONE");
    assert_eq!((foreign.status, foreign.body.as_str()), (200, ""));
    same_answer(&foreign, &unknown, ["R-G", "R-NONE"]);
    assert_eq!(linen.get("/v1/decisions?merchant_id=gadget_store").body, "");
    assert!(!all_decisions(&admin, "return_id=R-G").is_empty());
    client.get("/v1/decisions").error(403, "forbidden");

    // A merchant's upload changed neither the floor nor the other merchant.
    let floor = admin.get("/v1/policy").expect(200).json();
    assert_eq!(
        (floor["version"].clone(), floor["source"].clone()),
        (json!(1), json!(read(FLOOR)))
    );
    let gadget_policy = gadget.get("/v1/merchants/gadget_store/policy").expect(200).json();
    assert_eq!(gadget_policy["source"], json!(read(GADGET)));
    let linen_versions = linen
        .get("/v1/merchants/linen_house/policy/versions")
        .expect(200)
        .json();
    assert_eq!(
        linen_versions["versions"].as_array().map(Vec::len),
        Some(2),
        "its own PUT above stored one"
    );

    // A policy that does not check, or in another currency, is refused; the version in force stays.
    let broken = read(LINEN).replace("approve \"Returned within", "aprove \"Returned within");
    assert_ne!(broken, read(LINEN));
    let refused = linen
        .put("/v1/merchants/linen_house/policy", &broken)
        .error(422, "policy_invalid");
    assert!(refused.json()["diagnostics"][0]["line"].as_u64().is_some());
    let yen = read(LINEN).replace("currency \"CNY\"", "currency \"JPY\"");
    linen
        .put("/v1/merchants/linen_house/policy", &yen)
        .error(422, "policy_incompatible");
    assert_eq!(
        linen.get("/v1/merchants/linen_house/policy").expect(200).json()["version"],
        json!(2)
    );

    // Rotation: the old token stops, the new one works; revocation stops it.
    let rotated = admin.post("/v1/merchants/linen_house/token", "").expect(200).json();
    let new_token = rotated["token"].as_str().unwrap_or_default().to_string();
    assert_ne!(new_token, linen_token);
    linen.get("/v1/merchants/linen_house").error(401, "unauthorized");
    let linen = open.with_token(&new_token);
    assert_eq!(
        linen.get("/v1/merchants/linen_house").expect(200).json()["token"],
        json!("active")
    );
    let revoked = admin.delete("/v1/merchants/linen_house/token").expect(200).json();
    assert_eq!(revoked["token"], json!("revoked"));
    linen.get("/v1/merchants/linen_house").error(401, "unauthorized");
    // Its returns are still judged by its policy.
    let judged = client
        .post("/v1/judge", &ret("R-Y", "O-L", "2026-02-23T10:00:00+08:00"))
        .expect(200)
        .json();
    assert_eq!(judged["verdict"]["policy"]["title"], json!("Linen House returns"));
    let listed = admin.get("/v1/merchants").expect(200).json();
    let ids: Vec<_> = listed["merchants"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| m["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("gadget_store"), json!("linen_house")]);
    let (stdout, stderr) = server.stop();
    for t in [&linen_token, &gadget_token, &new_token] {
        assert!(
            !stdout.contains(t.as_str()) && !stderr.contains(t.as_str()),
            "a token in the logs"
        );
    }
    // The store keeps hashes only.
    let store = std::fs::read(scratch.path("data").join("rpl.redb")).unwrap_or_default();
    let held = |t: &str| store.windows(t.len()).any(|w| w == t.as_bytes());
    assert!(!held(&gadget_token) && !held(&new_token), "a token in the store");

    // After a restart: the gadget token still works, the revoked one does not.
    let server = start(&scratch, "data");
    let open = Client::new(&server);
    open.with_token(&gadget_token)
        .get("/v1/merchants/gadget_store")
        .expect(200);
    open.with_token(&new_token)
        .get("/v1/merchants/linen_house")
        .error(401, "unauthorized");
    server.stop();
}
