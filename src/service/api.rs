//! The HTTP API: routes, bearer tokens, limits, and the handlers, each of
//! which parses its request, calls the library or the writer, and answers
//! JSON (every error too, with a stable code).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use redb::ReadableDatabase;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;

use super::errors::ApiError;
use super::ingest;
use super::metrics::ENDPOINTS;
use super::store::{DECISIONS, DECISIONS_BY_CUSTOMER, DECISIONS_BY_RETURN, Decision, storage};
use super::writer::{Job, NewDecision};
use super::{Loaded, Shared};
use crate::data::InputError;

type S = State<Arc<Shared>>;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    // `Router::layer` wraps every route (and method) apart: the limit must be
    // one semaphore for them all, or `--max-in-flight` holds per endpoint.
    let limits = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(overloaded_or_late))
        .load_shed()
        .layer(GlobalConcurrencyLimitLayer::new(shared.config.max_in_flight))
        .timeout(shared.config.request_timeout);
    Router::new()
        .route("/v1/events", post(events))
        .route("/v1/judge", post(judge))
        .route("/v1/decisions", get(decisions))
        .route("/v1/policy", get(get_policy).put(put_policy))
        .route("/v1/policy/rollback", post(rollback))
        .route("/v1/policy/versions", get(policy_versions))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .merge(super::studio::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(limits)
        .layer(middleware::from_fn_with_state(shared.clone(), measure))
        .with_state(shared)
}

/// Counts and times every request (shed and timed-out ones too).
async fn measure(State(s): S, request: Request, next: Next) -> Response {
    let endpoint = match request.uri().path() {
        "/v1/events" => 0,
        "/v1/judge" => 1,
        "/v1/decisions" => 2,
        p if p.starts_with("/v1/policy") => 3,
        "/healthz" => 4,
        "/metrics" => 5,
        "/v1/openapi.json" => 6,
        _ => ENDPOINTS.len() - 1,
    };
    let started = Instant::now();
    let response = next.run(request).await;
    s.metrics
        .request(endpoint, response.status().as_u16(), started.elapsed().as_secs_f64());
    response
}

async fn overloaded_or_late(e: tower::BoxError) -> ApiError {
    if e.is::<tower::timeout::error::Elapsed>() {
        let mut err = ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took longer than the service allows",
        );
        err.retry_after = Some(1);
        return err;
    }
    if e.is::<tower::load_shed::error::Overloaded>() {
        return ApiError::overloaded("too many requests at once; retry shortly");
    }
    ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string())
}

async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint (GET /v1/openapi.json lists them)")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method",
    )
}

// -- tokens ------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Client,
    Admin,
}

/// Checks the bearer token for an endpoint of `kind`. Where the token of that
/// kind is not set, the endpoint is open. The admin token also opens the
/// client endpoints; a client token on an admin endpoint is 403.
pub(super) fn authorize(s: &Shared, headers: &HeaderMap, kind: Kind) -> Result<(), ApiError> {
    let needed = match kind {
        Kind::Client => s.config.client_token.as_deref(),
        Kind::Admin => s.config.admin_token.as_deref(),
    };
    let Some(needed) = needed else {
        return Ok(());
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(given) = given else {
        return Err(ApiError::unauthorized());
    };
    if same(given, needed) {
        return Ok(());
    }
    let admin = s.config.admin_token.as_deref();
    if kind == Kind::Client && admin.is_some_and(|a| same(given, a)) {
        return Ok(());
    }
    let other = match kind {
        Kind::Client => admin,
        Kind::Admin => s.config.client_token.as_deref(),
    };
    if other.is_some_and(|o| same(given, o)) {
        return Err(ApiError::forbidden());
    }
    Err(ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "the token is not valid",
    ))
}

/// Compares two tokens in time that depends on their lengths only.
fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

// -- bodies ------------------------------------------------------------------

pub(super) async fn body_bytes(s: &Shared, body: Body) -> Result<Bytes, ApiError> {
    let limit = s.config.max_body_bytes;
    axum::body::to_bytes(body, limit).await.map_err(|_| {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the body is larger than the {limit} bytes a request may hold"),
        )
    })
}

pub(super) fn body_text(bytes: &Bytes) -> Result<&str, ApiError> {
    std::str::from_utf8(bytes).map_err(|e| {
        ApiError::input(InputError::new(
            "",
            format!("the body is not valid UTF-8 (byte {})", e.valid_up_to()),
        ))
    })
}

/// A JSON body without the byte-order mark it may start with: the case
/// reader skips one, but the decision log keeps the text as JSON, which may not hold one.
fn json_text(bytes: &Bytes) -> Result<&str, ApiError> {
    let text = body_text(bytes)?;
    Ok(text.strip_prefix('\u{feff}').unwrap_or(text))
}

pub(super) fn live(s: &Shared) -> Result<Arc<Loaded>, ApiError> {
    s.live.load_full().ok_or_else(ApiError::no_policy)
}

async fn ask<T>(s: &Shared, job: Job, answer: oneshot::Receiver<Result<T, ApiError>>) -> Result<T, ApiError> {
    s.jobs
        .try_send(job)
        .map_err(|_| ApiError::overloaded("the store's queue is full; retry shortly"))?;
    answer
        .await
        .map_err(|_| ApiError::storage("the writer stopped before answering".into()))?
}

fn json_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    (status, axum::Json(body)).into_response()
}

// -- events ------------------------------------------------------------------

async fn events(State(s): S, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    authorize(&s, &headers, Kind::Client)?;
    let loaded = live(&s)?;
    let bytes = body_bytes(&s, body).await?;
    let text = json_text(&bytes)?;
    let mut lines = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        if lines.len() == s.config.max_lines {
            let msg = format!("more than the {} lines a batch may hold", s.config.max_lines);
            return Err(ApiError::line(i + 1, InputError::new("", msg)));
        }
        lines.push((i + 1, line.to_string()));
    }
    if lines.is_empty() {
        return Err(ApiError::input(InputError::new("", "no event in the body")));
    }
    let (reply, answer) = oneshot::channel();
    let applied = ask(&s, Job::Events { loaded, lines, reply }, answer).await?;
    #[derive(serde::Serialize)]
    struct Reply<'a> {
        accepted: usize,
        verdicts: Vec<&'a RawValue>,
        decision_ids: Vec<u64>,
    }
    let reply = Reply {
        accepted: applied.accepted,
        verdicts: applied.verdicts.iter().map(|j| j.verdict.as_ref()).collect(),
        decision_ids: applied.verdicts.iter().map(|j| j.decision_id).collect(),
    };
    Ok(json_response(StatusCode::OK, &reply))
}

// -- judge -------------------------------------------------------------------

async fn judge(
    State(s): S,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Kind::Client)?;
    let loaded = live(&s)?;
    let explain = flag(&q, "explain")?;
    let bytes = body_bytes(&s, body).await?;
    let text = json_text(&bytes)?;
    let input = crate::data::parse_json(text).map_err(ApiError::input)?;
    let text_input = ingest::one_line(text);
    // A return event is judged on the history the store holds; anything else is a whole case.
    let event = input.get("event").and_then(Value::as_str) == Some("return");
    let case_json = if event {
        let tx = s.store.db.begin_read().map_err(storage)?;
        ingest::case_for(&tx, &input)?.0
    } else {
        input.clone()
    };
    // Paths point into the body sent: an event's `items[0]`, not the built case's `return.items[0]`.
    let bad = |e: InputError| ApiError::input(if event { ingest::relative_to_line(e) } else { e });
    let case = crate::data::parse_case_value(&case_json).map_err(bad)?;
    let (verdict, explanation) = if explain {
        let (v, e) = loaded.program.judge_explained(&case).map_err(bad)?;
        (v, Some(e))
    } else {
        (loaded.program.judge(&case).map_err(bad)?, None)
    };
    s.metrics.decision(&verdict.decision);
    let text = explanation.as_ref().map(|e| crate::render_explanation(&verdict, e));
    let verdict_json = ingest::raw(&verdict)?;
    let entry = NewDecision {
        return_id: case.ret.id.clone(),
        customer_id: case.customer.id.clone(),
        version: loaded.version,
        input: RawValue::from_string(text_input).map_err(storage)?,
        verdict: verdict_json.clone(),
    };
    let (reply, answer) = oneshot::channel();
    let decision_id = ask(&s, Job::Decision { entry, reply }, answer).await?;
    #[derive(serde::Serialize)]
    struct Reply<'a> {
        decision_id: u64,
        verdict: &'a RawValue,
        #[serde(skip_serializing_if = "Option::is_none")]
        explanation: Option<crate::Explanation>,
        #[serde(skip_serializing_if = "Option::is_none")]
        explanation_text: Option<String>,
    }
    let reply = Reply {
        decision_id,
        verdict: &verdict_json,
        explanation,
        explanation_text: text,
    };
    Ok(json_response(StatusCode::OK, &reply))
}

fn flag(q: &HashMap<String, String>, name: &str) -> Result<bool, ApiError> {
    match q.get(name).map(String::as_str) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") | Some("") => Ok(true),
        Some(other) => Err(ApiError::bad_request(format!("{name}={other}: expected true or false"))),
    }
}

// -- decisions ---------------------------------------------------------------

/// At most this many decisions per answer; `after` continues.
const MAX_DECISIONS: usize = 10_000;

async fn decisions(
    State(s): S,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Kind::Admin)?;
    let known = ["return_id", "customer_id", "from", "to", "after", "limit"];
    if let Some(k) = q.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown parameter {k}; the filters are {}",
            known.join(", ")
        )));
    }
    let time = |key: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
        q.get(key)
            .map(|t| {
                chrono::DateTime::parse_from_rfc3339(t)
                    .map(|t| t.to_utc())
                    .map_err(|_| ApiError::bad_request(format!("{key}={t}: expected an RFC 3339 time")))
            })
            .transpose()
    };
    let (from, to) = (time("from")?, time("to")?);
    let number = |key: &str, default: u64| -> Result<u64, ApiError> {
        q.get(key).map_or(Ok(default), |n| {
            n.parse()
                .map_err(|_| ApiError::bad_request(format!("{key}={n}: expected a whole number")))
        })
    };
    let after = number("after", 0)?;
    let limit = (number("limit", 1000)? as usize).min(MAX_DECISIONS);
    let tx = s.store.db.begin_read().map_err(storage)?;
    let table = tx.open_table(DECISIONS).map_err(storage)?;
    // The ids to look at, in order: from an index when filtering by id.
    let ids: Box<dyn Iterator<Item = Result<u64, ApiError>>> = if let Some(r) = q.get("return_id") {
        let index = tx.open_table(DECISIONS_BY_RETURN).map_err(storage)?;
        let keys: Vec<_> = index
            .range((r.as_str(), after.saturating_add(1))..=(r.as_str(), u64::MAX))
            .map_err(storage)?
            .map(|e| e.map(|(k, _)| k.value().1).map_err(storage))
            .collect();
        Box::new(keys.into_iter())
    } else if let Some(c) = q.get("customer_id") {
        let index = tx.open_table(DECISIONS_BY_CUSTOMER).map_err(storage)?;
        let keys: Vec<_> = index
            .range((c.as_str(), after.saturating_add(1))..=(c.as_str(), u64::MAX))
            .map_err(storage)?
            .map(|e| e.map(|(k, _)| k.value().1).map_err(storage))
            .collect();
        Box::new(keys.into_iter())
    } else {
        let keys: Vec<_> = table
            .range(after.saturating_add(1)..)
            .map_err(storage)?
            .map(|e| e.map(|(k, _)| k.value()).map_err(storage))
            .collect();
        Box::new(keys.into_iter())
    };
    let mut out = String::new();
    let mut n = 0;
    for id in ids {
        if n == limit {
            break;
        }
        let Some(raw) = table.get(id?).map_err(storage)? else {
            continue;
        };
        let d: Decision = serde_json::from_slice(raw.value()).map_err(storage)?;
        if let Some(c) = q.get("customer_id")
            && &d.customer_id != c
        {
            continue;
        }
        let at = chrono::DateTime::parse_from_rfc3339(&d.at).map_err(storage)?.to_utc();
        if from.is_some_and(|f| at < f) || to.is_some_and(|t| at >= t) {
            continue;
        }
        out.push_str(&serde_json::to_string(&d).map_err(storage)?);
        out.push('\n');
        n += 1;
    }
    let mut response = (StatusCode::OK, out).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    Ok(response)
}

// -- policies ----------------------------------------------------------------

fn policy_json(p: &super::store::StoredPolicy, with_source: bool) -> Value {
    let mut v = json!({
        "version": p.version,
        "policy": {"title": p.title, "version": p.label, "hash": p.hash},
        "stored_at": p.stored_at,
    });
    if p.label.is_none() {
        v["policy"].as_object_mut().map(|o| o.remove("version"));
    }
    if with_source {
        v["source"] = json!(p.source);
    }
    v
}

async fn get_policy(State(s): S, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Kind::Admin)?;
    let current = s.store.current_policy()?.ok_or_else(ApiError::no_policy)?;
    Ok(json_response(StatusCode::OK, &policy_json(&current, true)))
}

async fn policy_versions(State(s): S, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Kind::Admin)?;
    let current = s.live.load().as_ref().map(|l| l.version);
    let versions: Vec<Value> = s
        .store
        .policy_versions()?
        .iter()
        .map(|p| {
            let mut v = policy_json(p, false);
            v["in_force"] = json!(Some(p.version) == current);
            v
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({"versions": versions})))
}

async fn put_policy(State(s): S, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    authorize(&s, &headers, Kind::Admin)?;
    let bytes = body_bytes(&s, body).await?;
    let source = body_text(&bytes)?.to_string();
    if source.len() > crate::limits::MAX_POLICY_BYTES {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the policy is more than the {} bytes a policy may hold",
                crate::limits::MAX_POLICY_BYTES
            ),
        ));
    }
    let compiled = match crate::compile(&source) {
        Ok(c) => c,
        Err(diags) => {
            let mut err = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "policy_invalid",
                "the policy does not check; the one in force keeps serving",
            );
            err.extra = Some(json!({"diagnostics": diagnostics_json(&source, &diags)}));
            return Err(err);
        }
    };
    let warnings = diagnostics_json(&source, &compiled.warnings);
    let (reply, answer) = oneshot::channel();
    let job = Job::Policy {
        source,
        program: Box::new(compiled.program),
        reply,
    };
    let stored = ask(&s, job, answer).await?;
    let mut body = policy_json(&stored, false);
    body["warnings"] = json!(warnings);
    Ok(json_response(StatusCode::OK, &body))
}

/// Diagnostics as `rpl check --error-format json` prints them.
fn diagnostics_json(source: &str, diags: &[crate::Diagnostic]) -> Vec<Value> {
    crate::render_diagnostics_json("policy.rpl", source, diags)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

async fn rollback(State(s): S, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Kind::Admin)?;
    let (reply, answer) = oneshot::channel();
    let stored = ask(&s, Job::Rollback { reply }, answer).await?;
    Ok(json_response(StatusCode::OK, &policy_json(&stored, false)))
}

// -- operations --------------------------------------------------------------

async fn healthz(State(s): S) -> Response {
    match s.live.load().as_ref() {
        Some(l) => json_response(StatusCode::OK, &json!({"status": "ready", "policy_version": l.version})),
        None => {
            let mut e = ApiError::no_policy();
            e.extra = Some(json!({"status": "not_ready"}));
            e.into_response()
        }
    }
}

async fn metrics(State(s): S) -> Response {
    let bytes = std::fs::metadata(s.config.data.join("rpl.redb")).map_or(0, |m| m.len());
    let mut response = (StatusCode::OK, s.metrics.render(bytes)).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

async fn openapi() -> Response {
    let mut response = (StatusCode::OK, super::OPENAPI).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
