//! The service's handlers in process (tower's `oneshot` on the router, a
//! store in a temporary folder): every answer is JSON with a stable code,
//! tokens gate what they should, a bad line refuses its whole batch, a
//! re-send changes nothing, and a broken policy never replaces a good one.
//! The real binary on loopback is tested in `tests/service.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::body::Body;
use axum::http::{Request, StatusCode};
use serde_json::Value;
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

async fn harness(policy: Option<&str>, admin: Option<&str>, client: Option<&str>) -> Harness {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("rpl-handlers-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = rpl::ServiceConfig::new(&dir);
    config.policy = policy.map(|p| std::fs::read_to_string(p).unwrap());
    config.admin_token = admin.map(str::to_string);
    config.client_token = client.map(str::to_string);
    let service = rpl::Service::open(config).await.unwrap();
    Harness {
        router: service.router(),
        _dir: TempDir(dir),
    }
}

async fn call(h: &Harness, method: &str, uri: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let response = h
        .router
        .clone()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let ndjson = response
        .headers()
        .get("content-type")
        .is_some_and(|t| t == "application/x-ndjson");
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    // JSON Lines stay text; anything else is one JSON value.
    let value = match ndjson {
        true => Value::String(text),
        false => serde_json::from_str(&text).unwrap_or(Value::String(text)),
    };
    (status, value)
}

const ORDER: &str = r#"{"event": "order", "id": "O-1", "customer_id": "C-1", "currency": "CNY", "placed_at": "2026-11-01T10:00:00+08:00", "delivered_at": "2026-11-03T15:20:00+08:00", "items": [{"sku": "TEE-1", "category": "apparel", "unit_price": "199.00", "quantity": 2}]}"#;
const RETURN: &str = r#"{"event": "return", "id": "R-1", "order_id": "O-1", "requested_at": "2026-11-08T20:00:00+08:00", "type": "return_refund", "reason": "changed_mind", "items": [{"sku": "TEE-1", "quantity": 1, "condition": "unused"}]}"#;

#[tokio::test]
async fn errors_are_json_with_a_stable_code() {
    let h = harness(Some("policies/marketplace.rpl"), None, None).await;
    let (status, body) = call(&h, "GET", "/v1/nowhere", None, "").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    let (status, body) = call(&h, "DELETE", "/v1/events", None, "").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed"))
    );
    let (status, body) = call(&h, "POST", "/v1/judge", None, "{not json").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "invalid_input");
    assert!(
        body["error"]["message"].as_str().unwrap().starts_with("not JSON"),
        "{body}"
    );
}

#[tokio::test]
async fn tokens_gate_their_endpoints() {
    let h = harness(Some("policies/marketplace.rpl"), Some("adm"), Some("cli")).await;
    let (status, body) = call(&h, "POST", "/v1/events", None, ORDER).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized"))
    );
    let (status, _) = call(&h, "POST", "/v1/events", Some("nope"), ORDER).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = call(&h, "POST", "/v1/events", Some("cli"), ORDER).await;
    assert_eq!(status, StatusCode::OK);
    // A client token on an admin endpoint is the wrong kind.
    let (status, body) = call(&h, "GET", "/v1/policy", Some("cli"), "").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("forbidden"))
    );
    let (status, body) = call(&h, "GET", "/v1/policy", Some("adm"), "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["version"], 1);
    // Health and metrics need no token.
    assert_eq!(call(&h, "GET", "/healthz", None, "").await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_bad_line_refuses_its_whole_batch() {
    let h = harness(Some("policies/marketplace.rpl"), None, None).await;
    let bad = RETURN.replace("\"unused\"", "\"unused\", \"colour\": \"red\"");
    let batch = format!("{ORDER}\n{bad}\n");
    let (status, body) = call(&h, "POST", "/v1/events", None, &batch).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "invalid_line");
    assert_eq!(body["line"], 2);
    assert_eq!(body["error"]["path"], "items[0].colour");
    // Nothing of it was applied: the order is unknown to a return alone.
    let (status, body) = call(&h, "POST", "/v1/events", None, RETURN).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["error"]["path"], "order_id");
}

#[tokio::test]
async fn a_resend_changes_nothing_and_other_content_conflicts() {
    let h = harness(Some("policies/marketplace.rpl"), None, None).await;
    let batch = format!("{ORDER}\n{RETURN}\n");
    let (status, first) = call(&h, "POST", "/v1/events", None, &batch).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["verdicts"][0]["decision"], "approve");
    let (status, again) = call(&h, "POST", "/v1/events", None, &batch).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["verdicts"], first["verdicts"]);
    assert_eq!(again["decision_ids"], first["decision_ids"]);
    let (_, log) = call(&h, "GET", "/v1/decisions?return_id=R-1", None, "").await;
    assert_eq!(log.as_str().unwrap().lines().count(), 1, "{log}");
    let other = RETURN.replace("changed_mind", "size_fit");
    let (status, body) = call(&h, "POST", "/v1/events", None, &other).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("conflict"))
    );
}

#[tokio::test]
async fn a_broken_policy_never_replaces_a_good_one() {
    let h = harness(None, None, None).await;
    let (status, body) = call(&h, "GET", "/healthz", None, "").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("no_policy"))
    );
    let good = std::fs::read_to_string("policies/marketplace.rpl").unwrap();
    assert_eq!(call(&h, "PUT", "/v1/policy", None, &good).await.0, StatusCode::OK);
    let broken = good.replace("order.delivered_at", "order.deliverd_at");
    let (status, body) = call(&h, "PUT", "/v1/policy", None, &broken).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["code"], "policy_invalid");
    let first = &body["diagnostics"][0];
    assert_eq!(first["severity"], "error");
    assert!(first["hint"].as_str().unwrap().contains("delivered_at"), "{first}");
    let (_, now) = call(&h, "GET", "/v1/policy", None, "").await;
    assert_eq!(now["version"], 1);
    // A second good version, then back to the first.
    let second = good.replace("version  \"2026.11\"", "version  \"2026.12\"");
    let (_, v2) = call(&h, "PUT", "/v1/policy", None, &second).await;
    assert_eq!(v2["version"], 2);
    let (status, back) = call(&h, "POST", "/v1/policy/rollback", None, "").await;
    assert_eq!((status, back["version"].as_u64()), (StatusCode::OK, Some(1)));
    let (status, body) = call(&h, "POST", "/v1/policy/rollback", None, "").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("nothing_to_roll_back"))
    );
}

#[tokio::test]
async fn judge_takes_a_return_on_stored_history_or_a_whole_case() {
    let h = harness(Some("policies/marketplace.rpl"), None, None).await;
    call(&h, "POST", "/v1/events", None, ORDER).await;
    let (status, body) = call(&h, "POST", "/v1/judge?explain=true", None, RETURN).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["verdict"]["decision"], "approve");
    assert!(
        body["explanation_text"]
            .as_str()
            .unwrap()
            .contains("seven_day_no_reason")
    );
    // Judged, not recorded: the same return can still be sent as an event.
    let (status, _) = call(&h, "POST", "/v1/events", None, RETURN).await;
    assert_eq!(status, StatusCode::OK);
    let case = std::fs::read_to_string("examples/marketplace/day8_too_late_denied.json").unwrap();
    let (status, body) = call(&h, "POST", "/v1/judge", None, &case).await;
    assert_eq!(
        (status, body["verdict"]["decision"].as_str()),
        (StatusCode::OK, Some("deny"))
    );
    let (_, log) = call(&h, "GET", "/v1/decisions", None, "").await;
    let sources: Vec<String> = log
        .as_str()
        .unwrap()
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["source"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(sources, ["judge", "events", "judge"]);
}
