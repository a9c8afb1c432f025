//! The policy studio's endpoints in process (tower's `oneshot` on the
//! service's router): the page and its assets from inside the binary, and
//! check, fmt, try, test, replay and the shipped examples, each held to what
//! the library (and so the command line) gives for the same input; every
//! error JSON with a stable code. The page itself is tested in a real
//! browser by `studio/test.sh`; the real binary on loopback in
//! `tests/service.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::field_reassign_with_default)]

use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt as _;

struct Harness {
    router: axum::Router,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

async fn harness(client: Option<&str>) -> Harness {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rpl-studio-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = rpl::ServiceConfig::new(&dir);
    config.policy = Some(read("policies/marketplace.rpl"));
    config.admin_token = Some("admin".into());
    config.client_token = client.map(str::to_string);
    let service = rpl::Service::open(config).await.unwrap();
    Harness {
        router: service.router(),
        _dir: TempDir(dir),
    }
}

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    #[track_caller]
    fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{}", self.text);
        self.json()
    }

    #[track_caller]
    fn error(self, status: StatusCode, code: &str) -> Value {
        let v = self.json();
        assert_eq!((self.status, v["code"].as_str()), (status, Some(code)), "{}", self.text);
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", self.text);
        v
    }
}

async fn call(h: &Harness, method: &str, uri: &str, headers: &[(&str, &str)], body: &str) -> Answer {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let response = h
        .router
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    Answer {
        status,
        headers,
        text: String::from_utf8(bytes.to_vec()).unwrap(),
    }
}

async fn post(h: &Harness, uri: &str, body: &Value) -> Answer {
    call(h, "POST", uri, &[], &body.to_string()).await
}

const TYPO: &str =
    "policy \"x\" {\n  currency \"CNY\"\n}\n\nrule a {\n  when return.reasn == \"changed_mind\"\n  approve\n}\n";

// -- the page ----------------------------------------------------------------

#[tokio::test]
async fn the_page_and_its_assets_come_from_the_binary() {
    let h = harness(None).await;
    let page = call(&h, "GET", "/", &[], "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    assert_eq!(page.text, read("studio/dist/index.html"));
    // It may load from itself only.
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && csp.contains("script-src 'self'"),
        "{csp}"
    );
    for (file, ctype) in [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ] {
        let a = call(&h, "GET", &format!("/studio/{file}"), &[], "").await;
        assert_eq!(a.status, StatusCode::OK, "{file}");
        assert_eq!(a.headers["content-type"], ctype, "{file}");
        assert_eq!(
            a.text,
            read(&format!("studio/dist/{file}")),
            "{file}: the embedded bytes are the committed ones"
        );
        // A browser that has it revalidates with its tag and gets no body.
        let tag = a.headers["etag"].to_str().unwrap().to_string();
        let again = call(&h, "GET", &format!("/studio/{file}"), &[("if-none-match", &tag)], "").await;
        assert_eq!(again.status, StatusCode::NOT_MODIFIED);
        assert!(again.text.is_empty());
    }
    // The bundle is the real one, not a placeholder.
    assert!(read("studio/dist/app.js").len() > 100_000);
    // Every asset the page names is served.
    for asset in ["studio/app.js", "studio/app.css", "studio/icon.svg"] {
        assert!(page.text.contains(asset), "{asset}");
    }
    call(&h, "GET", "/studio/nothing.js", &[], "")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    call(&h, "GET", "/studio/../Cargo.toml", &[], "")
        .await
        .error(StatusCode::NOT_FOUND, "not_found");
    call(&h, "POST", "/", &[], "")
        .await
        .error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
}

// -- check and fmt -----------------------------------------------------------

#[tokio::test]
async fn check_answers_the_diagnostics_rpl_check_prints() {
    let h = harness(None).await;
    let v = post(&h, "/v1/check", &json!({"policy": TYPO})).await.ok();
    assert_eq!((v["ok"].clone(), v["errors"].clone()), (json!(false), json!(1)));
    let diags = rpl::compile(TYPO).unwrap_err();
    let cli: Vec<Value> = rpl::render_diagnostics_json("policy.rpl", TYPO, &diags)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(v["diagnostics"], json!(cli));
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "unknown-field");
    assert_eq!(d["hint"], "did you mean `return.reason`?");
    assert_eq!((d["line"].clone(), d["column"].clone()), (json!(6), json!(15)));
    assert!(v.get("policy").is_none());

    // A policy that checks: its identity, its warnings, the words its fields take.
    let source = read("policies/marketplace.rpl");
    let v = post(&h, "/v1/check", &json!({"policy": source, "file": "m.rpl"}))
        .await
        .ok();
    let compiled = rpl::compile(&source).unwrap();
    assert_eq!(v["ok"], json!(true));
    assert_eq!(v["warnings"], json!(compiled.warnings.len()));
    assert_eq!(v["policy"]["hash"], json!(compiled.program.id().hash));
    assert!(
        v["values"]["return.reason"]
            .as_array()
            .unwrap()
            .contains(&json!("changed_mind"))
    );
    assert_eq!(
        v["values"]["return.type"],
        json!(["return_refund", "refund_only", "exchange"])
    );
}

#[tokio::test]
async fn fmt_lays_out_as_rpl_fmt_does() {
    let h = harness(None).await;
    let messy = "policy \"x\" {\ncurrency \"CNY\"\n}\nrule a {\nwhen return.reason == \"changed_mind\"\napprove\n}\n";
    let v = post(&h, "/v1/fmt", &json!({"policy": messy})).await.ok();
    assert_eq!(v["policy"], json!(rpl::format_policy(messy).unwrap()));
    assert_eq!(v["changed"], json!(true));
    let again = post(&h, "/v1/fmt", &json!({"policy": v["policy"]})).await.ok();
    assert_eq!(again["changed"], json!(false));
    // A policy that cannot be read cannot be formatted: its syntax errors.
    let v = post(&h, "/v1/fmt", &json!({"policy": "policy \"x\" { currency }"}))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "policy_invalid");
    assert_eq!(v["diagnostics"][0]["code"], "syntax");
}

// -- try ---------------------------------------------------------------------

#[tokio::test]
async fn try_judges_as_rpl_judge_explains() {
    let h = harness(None).await;
    let source = read("policies/marketplace.rpl");
    let case = read("examples/marketplace/day8_too_late_denied.json");
    let v = post(&h, "/v1/try", &json!({"policy": source, "case": case})).await.ok();
    let program = rpl::compile(&source).unwrap().program;
    let parsed = rpl::parse_case(&case).unwrap();
    let (verdict, explanation) = program.judge_explained(&parsed).unwrap();
    assert_eq!(v["verdict"], serde_json::to_value(&verdict).unwrap());
    assert_eq!(v["explanation"], serde_json::to_value(&explanation).unwrap());
    assert_eq!(
        v["explanation_text"],
        json!(rpl::render_explanation(&verdict, &explanation))
    );
    assert_eq!(v["verdict"]["decision"], "deny");
    assert!(
        v["explanation_text"]
            .as_str()
            .unwrap()
            .contains("days_since_sign = 8 > 7")
    );
    // The case may be the object itself.
    let object: Value = serde_json::from_str(&case).unwrap();
    let same = post(&h, "/v1/try", &json!({"policy": source, "case": object}))
        .await
        .ok();
    assert_eq!(same["verdict"], v["verdict"]);

    // On a floor, as `rpl judge --floor` judges.
    let floor = read("policies/platform_floor.rpl");
    let shop = read("policies/shops/linen_house.rpl");
    let case = read("policies/shops/cases/linen_day5_final_sale_size.json");
    let v = post(&h, "/v1/try", &json!({"policy": shop, "case": case, "floor": floor}))
        .await
        .ok();
    let (f, s) = (
        rpl::compile(&floor).unwrap().program,
        rpl::compile(&shop).unwrap().program,
    );
    let (verdict, _) = rpl::judge_layered_explained(&f, &s, &rpl::parse_case(&case).unwrap()).unwrap();
    assert_eq!(v["verdict"], serde_json::to_value(&verdict).unwrap());
    assert_eq!(v["verdict"]["decision"], "approve");
}

#[tokio::test]
async fn try_refuses_what_rpl_judge_refuses() {
    let h = harness(None).await;
    let source = read("policies/marketplace.rpl");
    let case = read("examples/marketplace/day8_too_late_denied.json").replace("changed_mind", "chaged_mind");
    let v = post(&h, "/v1/try", &json!({"policy": source, "case": case}))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    assert_eq!(v["error"]["path"], "return.reason");
    assert!(v["error"]["message"].as_str().unwrap().contains("did you mean"));
    post(&h, "/v1/try", &json!({"policy": source, "case": "{"}))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_input");
    let v = post(&h, "/v1/try", &json!({"policy": TYPO, "case": "{}"}))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "policy_invalid");
    assert_eq!(
        (v["which"].clone(), v["diagnostics"][0]["code"].clone()),
        (json!("policy"), json!("unknown-field"))
    );
    let v = post(&h, "/v1/try", &json!({"policy": source, "case": "{}", "floor": TYPO}))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "policy_invalid");
    assert_eq!(v["which"], "floor");
    // Not the body the endpoint takes.
    call(&h, "POST", "/v1/try", &[], "not json")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    post(&h, "/v1/try", &json!({"policy": source}))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    post(&h, "/v1/try", &json!({"policy": source, "case": "{}", "extra": 1}))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    call(&h, "POST", "/v1/check", &[], "\u{0}\u{ff}")
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    // A policy larger than a policy may be.
    let huge = "#".repeat(rpl_limits_policy() + 1);
    post(&h, "/v1/check", &json!({"policy": huge}))
        .await
        .error(StatusCode::PAYLOAD_TOO_LARGE, "too_large");
}

/// The most bytes a policy may hold (src/limits.rs), as the CLI and `PUT
/// /v1/policy` hold it.
fn rpl_limits_policy() -> usize {
    16 * 1024 * 1024
}

// -- test --------------------------------------------------------------------

#[tokio::test]
async fn every_shipped_suite_passes_as_rpl_test_runs_it() {
    let h = harness(None).await;
    let mut suites = rpl::find_suites(Path::new("policies"));
    suites.sort();
    assert!(suites.len() >= 6, "{suites:?}");
    for suite in suites {
        let path = suite.display().to_string();
        let text = read(&path);
        let policy_path = suite
            .parent()
            .unwrap()
            .join(toml::from_str::<Value>(&text).unwrap()["policy"].as_str().unwrap());
        let policy = read(&policy_path.display().to_string());
        let v = post(&h, "/v1/test", &json!({"policy": policy, "suite": text, "path": path}))
            .await
            .ok();
        let cli = rpl::run_suite(&suite, false);
        assert_eq!(
            (v["passed"].clone(), v["failed"].clone()),
            (json!(cli.passed()), json!(0)),
            "{path}: {}",
            v["report"]
        );
        assert_eq!(v["cases"].as_array().unwrap().len(), cli.cases.len(), "{path}");
    }
}

#[tokio::test]
async fn a_failing_suite_shows_expected_beside_actual() {
    let h = harness(None).await;
    let suite = read("policies/marketplace.test.toml");
    // The same policy with a 3-day window: no rule approves the day-7 case, the default reviews it.
    let policy = read("policies/marketplace.rpl").replace("days_since_sign <= 7", "days_since_sign <= 3");
    assert_ne!(policy, read("policies/marketplace.rpl"));
    let v = post(
        &h,
        "/v1/test",
        &json!({"policy": policy, "suite": suite, "path": "policies/marketplace.test.toml"}),
    )
    .await
    .ok();
    assert!(v["failed"].as_u64().unwrap() > 0, "{v}");
    let case = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "example: changed mind on day 7 is approved")
        .unwrap();
    assert_eq!(case["outcome"], "failed");
    let decision = case["mismatches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["key"] == "decision")
        .unwrap();
    assert_eq!(
        (decision["expected"].clone(), decision["actual"].clone()),
        (json!("approve"), json!("review"))
    );
    assert!(
        v["report"]
            .as_str()
            .unwrap()
            .ends_with(&format!("{} passed, {} failed\n", v["passed"], v["failed"]))
    );
    // A snapshot case shows both verdicts.
    let snap = v["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["outcome"] == "snapshot_differs");
    if let Some(s) = snap {
        assert!(s["snapshot"]["expected"].is_string() && s["snapshot"]["actual"].is_string());
    }
}

#[tokio::test]
async fn a_suite_that_cannot_run_says_where() {
    let h = harness(None).await;
    let policy = read("policies/marketplace.rpl");
    let v = post(
        &h,
        "/v1/test",
        &json!({"policy": policy, "suite": "policy = \"marketplace.rpl\"\n[[case]\n"}),
    )
    .await
    .error(StatusCode::UNPROCESSABLE_ENTITY, "suite_invalid");
    assert_eq!(v["suite"]["line"], json!(2));
    // A case file the studio does not hold.
    let suite = "policy = \"marketplace.rpl\"\n[[case]]\nname = \"x\"\ninput = \"/etc/passwd\"\nexpect = { decision = \"approve\" }\n";
    let v = post(&h, "/v1/test", &json!({"policy": policy, "suite": suite}))
        .await
        .ok();
    assert_eq!(v["cases"][0]["outcome"], "error");
    assert!(v["cases"][0]["error"].as_str().unwrap().contains("shipped files"));
    post(&h, "/v1/test", &json!({"policy": TYPO, "suite": suite}))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "policy_invalid");
}

// -- the shipped examples ----------------------------------------------------

#[tokio::test]
async fn the_examples_are_every_shipped_policy_with_its_cases() {
    let h = harness(None).await;
    let v = call(&h, "GET", "/v1/studio/examples", &[], "").await.ok();
    let policies = v["policies"].as_array().unwrap();
    let mut on_disk = Vec::new();
    for dir in ["policies", "policies/shops"] {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "rpl") {
                on_disk.push(p.display().to_string());
            }
        }
    }
    on_disk.sort();
    let mut listed: Vec<String> = policies
        .iter()
        .map(|p| p["path"].as_str().unwrap().to_string())
        .collect();
    listed.sort();
    assert_eq!(
        listed, on_disk,
        "a shipped policy is missing from src/service/studio/assets.rs"
    );
    for p in policies {
        let path = p["path"].as_str().unwrap();
        assert_eq!(p["source"], json!(read(path)), "{path}");
        // A suite beside the policy goes with it (its snapshots are held by the suites' run above).
        let suite_path = format!("{}.test.toml", path.trim_end_matches(".rpl"));
        match p.get("suite") {
            Some(s) => assert_eq!(s["source"], json!(read(&suite_path)), "{suite_path}"),
            None => assert!(
                !Path::new(&suite_path).exists(),
                "{suite_path} is not in the studio's shipped files"
            ),
        }
        for c in p["cases"].as_array().unwrap() {
            assert_eq!(c["source"], json!(read(c["path"].as_str().unwrap())));
        }
    }
    // Every example case on disk is offered with its policy.
    let offered: Vec<&str> = policies
        .iter()
        .flat_map(|p| p["cases"].as_array().unwrap())
        .map(|c| c["path"].as_str().unwrap())
        .collect();
    for dir in [
        "examples/marketplace",
        "examples/fashion",
        "examples/electronics",
        "examples/risk",
        "policies/shops/cases",
    ] {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path().display().to_string();
            if p.ends_with(".json") {
                assert!(offered.contains(&p.as_str()), "{p} is not offered");
            }
        }
    }
    let linen = policies.iter().find(|p| p["name"] == "linen_house").unwrap();
    assert_eq!(linen["floor"], "policies/platform_floor.rpl");
    assert!(
        v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "order.delivered_at" && f["optional"] == true)
    );
}

// -- replay ------------------------------------------------------------------

fn generated(customers: usize, days: u32, seed: u64) -> String {
    let mut opts = rpl::GenOptions::default();
    opts.customers = customers;
    opts.days = days;
    opts.seed = seed;
    let mut out = Vec::new();
    rpl::generate(&opts, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

#[tokio::test]
async fn replay_summarises_as_rpl_backtest_json() {
    let h = harness(None).await;
    let draft = read("policies/risk.rpl").replace(">= 80", ">= 60");
    let saved = read("policies/risk.rpl");
    let a = post(
        &h,
        "/v1/replay",
        &json!({"policy": draft, "compare": {"policy": saved}, "generate": {"customers": 400, "days": 60, "seed": 7}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers["content-type"], "application/x-ndjson");
    let got = lines(&a.text);
    let last = got.last().unwrap();
    // The same stream and the same policies through the library, as `rpl backtest --compare --json`.
    let events = generated(400, 60, 7);
    let (d, s) = (
        rpl::compile(&draft).unwrap().program,
        rpl::compile(&saved).unwrap().program,
    );
    let summary = rpl::backtest(
        &[&d, &s],
        events.as_bytes(),
        None,
        &rpl::BacktestOptions::default(),
        |_| {},
    )
    .unwrap();
    assert_eq!(last["summary"], serde_json::to_value(&summary).unwrap());
    assert_eq!(last["stream"]["bytes"], json!(events.len()));
    assert_eq!(last["stream"]["compare"], json!({"with": "policy"}));
    assert!(last["stream"]["generated"]["returns"].as_u64().unwrap() > 0);
    assert!(last["summary"]["compare"]["changed"].as_u64().unwrap() > 0);
    assert!(last["summary"]["policy"]["labels"]["flags"].as_array().unwrap().len() > 1);
    // Progress first: the stream is read in chunks and each is told.
    assert!(events.lines().count() > 2048);
    let progress: Vec<&Value> = got.iter().filter(|l| l.get("progress").is_some()).collect();
    assert!(!progress.is_empty(), "{}", a.text);
    assert_eq!(progress.len() + 1, got.len());
    let p = &progress[0]["progress"];
    assert!(p["lines"].as_u64().unwrap() > 0 && p["total_bytes"] == json!(events.len()));

    // The same stream uploaded gives the same summary.
    let b = post(
        &h,
        "/v1/replay",
        &json!({"policy": draft, "compare": {"policy": saved}, "events": events}),
    )
    .await;
    assert_eq!(lines(&b.text).last().unwrap()["summary"], last["summary"]);
}

#[tokio::test]
async fn replay_compares_with_the_saved_version_on_the_client_token() {
    let h = harness(Some("client")).await;
    let draft = read("policies/marketplace.rpl").replace("days_since_sign <= 7", "days_since_sign <= 3");
    let body =
        json!({"policy": draft, "compare": "saved", "generate": {"customers": 200, "days": 40}, "skip_invalid": true});
    call(&h, "POST", "/v1/replay", &[], &body.to_string())
        .await
        .error(StatusCode::UNAUTHORIZED, "unauthorized");
    let a = call(
        &h,
        "POST",
        "/v1/replay",
        &[("authorization", "Bearer client")],
        &body.to_string(),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    let last = lines(&a.text).pop().unwrap();
    assert_eq!(last["stream"]["compare"], json!({"with": "saved", "version": 1}));
    let events = generated(200, 40, 1);
    let d = rpl::compile(&draft).unwrap().program;
    let s = rpl::compile(&read("policies/marketplace.rpl")).unwrap().program;
    let mut opts = rpl::BacktestOptions::default();
    opts.skip_invalid = true;
    let summary = rpl::backtest(&[&d, &s], events.as_bytes(), None, &opts, |_| {}).unwrap();
    assert_eq!(last["summary"], serde_json::to_value(&summary).unwrap());
    // Without a compare, no token is needed: nothing of the store is read.
    let a = post(
        &h,
        "/v1/replay",
        &json!({"policy": draft, "generate": {"customers": 20, "days": 10}}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    assert!(lines(&a.text).pop().unwrap()["summary"].get("compare").is_none());
}

#[tokio::test]
async fn replay_errors_are_json_with_a_code() {
    let h = harness(None).await;
    let policy = read("policies/risk.rpl");
    // A bad line stops the replay: the last line names it.
    let mut events: Vec<String> = generated(30, 20, 1).lines().map(str::to_string).collect();
    events[3] = "{\"event\": \"order\", \"id\": 5}".into();
    let a = post(
        &h,
        "/v1/replay",
        &json!({"policy": policy, "events": events.join("\n")}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    let last = lines(&a.text).pop().unwrap();
    assert_eq!(last["error"]["code"], "invalid_line");
    assert_eq!(last["error"]["line"], json!(4));
    // Skipped, it is listed.
    let a = post(
        &h,
        "/v1/replay",
        &json!({"policy": policy, "events": events.join("\n"), "skip_invalid": true}),
    )
    .await;
    let last = lines(&a.text).pop().unwrap();
    assert_eq!(last["summary"]["invalid"][0]["line"], json!(4));
    // What is wrong with the request is answered before any line.
    post(&h, "/v1/replay", &json!({"policy": policy}))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    post(
        &h,
        "/v1/replay",
        &json!({"policy": policy, "events": "", "generate": {}}),
    )
    .await
    .error(StatusCode::BAD_REQUEST, "bad_request");
    post(&h, "/v1/replay", &json!({"policy": policy, "compare": 3, "events": ""}))
        .await
        .error(StatusCode::BAD_REQUEST, "bad_request");
    for g in [
        json!({"customers": 0}),
        json!({"days": 0}),
        json!({"customers": 10_000_000}),
        json!({"abusers": 2.0}),
        json!({"abusers": -0.5}),
        json!({"start": "yesterday"}),
        json!({"currency": "yuan"}),
        json!({"customers": "many"}),
    ] {
        post(&h, "/v1/replay", &json!({"policy": policy, "generate": g}))
            .await
            .error(StatusCode::BAD_REQUEST, "bad_request");
    }
    let v = post(
        &h,
        "/v1/replay",
        &json!({"policy": policy, "compare": {"policy": TYPO}, "events": ""}),
    )
    .await
    .error(StatusCode::UNPROCESSABLE_ENTITY, "policy_invalid");
    assert_eq!(v["which"], "compare");
    post(&h, "/v1/replay", &json!({"policy": TYPO, "events": ""}))
        .await
        .error(StatusCode::UNPROCESSABLE_ENTITY, "policy_invalid");
    // An empty stream is a replay of nothing.
    let a = post(&h, "/v1/replay", &json!({"policy": policy, "events": ""})).await;
    assert_eq!(lines(&a.text).pop().unwrap()["summary"]["returns"], json!(0));
}
