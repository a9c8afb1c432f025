//! The HTTP API: routes, bearer tokens, limits, and the handlers, each of
//! which parses its request, calls the library or the writer, and answers
//! JSON (every error too, with a stable code).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use redb::{ReadableDatabase, ReadableTable};
use serde_json::value::RawValue;
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tower::ServiceBuilder;
use tower::limit::GlobalConcurrencyLimitLayer;

use super::Shared;
use super::errors::ApiError;
use super::index::{self, By};
use super::ingest::{self, Batch};
use super::live::{Policies, new_token, sha256, valid_merchant_id};
use super::metrics::ENDPOINTS;
use super::store::{DECISIONS, DECISIONS_BY_MERCHANT, Decision, StoredMerchant, StoredPolicy, storage};
use super::writer::{Job, MerchantChange, NewDecision};
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
        .route("/v1/reviews", get(reviews))
        .route("/v1/reviews/{return_id}", post(review))
        .route("/v1/refunds", get(refunds))
        .route("/v1/refunds/{return_id}/paid", post(refund_paid))
        .route("/v1/customers/{id}/restrictions", get(restrictions))
        .route(
            "/v1/customers/{id}/restrictions/{kind}",
            axum::routing::delete(lift_restriction),
        )
        .route("/v1/merchants", get(list_merchants))
        .route("/v1/merchants/{id}", put(create_merchant).get(get_merchant))
        .route("/v1/merchants/{id}/token", post(rotate_token).delete(revoke_token))
        .route(
            "/v1/merchants/{id}/policy",
            get(get_merchant_policy).put(put_merchant_policy),
        )
        .route("/v1/merchants/{id}/policy/versions", get(merchant_policy_versions))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .route("/v1/openapi.json", get(openapi))
        .merge(super::studio::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(shared.clone(), read_body))
        .layer(limits)
        .layer(middleware::from_fn_with_state(shared.clone(), measure))
        .with_state(shared)
}

/// Reads the whole body (within `--max-body-bytes`) before any handler
/// answers: an answer given with the body unread (a missing token, no
/// policy yet) made the connection close under the client, which could see
/// a reset instead of the answer. Inside the concurrency limit, so at most
/// `--max-in-flight` bodies are held.
async fn read_body(State(s): S, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    match body_bytes(&s, body).await {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(e) => e.into_response(),
    }
}

/// Counts and times every request (shed and timed-out ones too).
async fn measure(State(s): S, request: Request, next: Next) -> Response {
    let endpoint = match request.uri().path() {
        "/v1/events" => 0,
        "/v1/judge" => 1,
        "/v1/decisions" => 2,
        p if p.starts_with("/v1/policy") => 3,
        p if p.starts_with("/v1/merchants") => 4,
        p if p.starts_with("/v1/reviews") || p.starts_with("/v1/refunds") || p.starts_with("/v1/customers") => 5,
        "/healthz" => 6,
        "/metrics" => 7,
        "/v1/openapi.json" => 8,
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

/// Who may call an endpoint.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum Need<'a> {
    /// The client token (events).
    Client,
    /// The client token, or a merchant's for its own orders (judge).
    ClientOrMerchant,
    /// The admin token (the floor, merchants).
    Admin,
    /// The admin token, or a merchant's for its own decisions.
    AdminOrMerchant,
    /// The admin token, or this merchant's own.
    Merchant(&'a str),
}

/// What a caller may see.
#[derive(Clone, PartialEq)]
pub(super) enum Access {
    /// Everything.
    All,
    /// What concerns this merchant only.
    Merchant(String),
}

impl Access {
    pub(super) fn scope(&self) -> Option<&str> {
        match self {
            Access::All => None,
            Access::Merchant(m) => Some(m),
        }
    }
}

/// Checks the bearer token for an endpoint. The admin token opens every
/// endpoint, the client token the client ones; a merchant's token opens what
/// concerns that merchant, and another merchant's paths answer exactly as an
/// unknown merchant's. Where the token guarding an endpoint is not set, the
/// endpoint is open (a merchant's token still sees only its own).
pub(super) fn authorize(s: &Shared, headers: &HeaderMap, need: Need<'_>) -> Result<Access, ApiError> {
    let admin = s.config.admin_token.as_deref();
    let client = s.config.client_token.as_deref();
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    if let Some(given) = given {
        if admin.is_some_and(|a| same(given, a)) {
            return Ok(Access::All);
        }
        if client.is_some_and(|c| same(given, c)) {
            return match need {
                Need::Client | Need::ClientOrMerchant => Ok(Access::All),
                _ => Err(ApiError::forbidden()),
            };
        }
        if let Some(m) = s.live.load().merchant_of(given) {
            return match need {
                Need::ClientOrMerchant | Need::AdminOrMerchant => Ok(Access::Merchant(m.to_string())),
                Need::Merchant(id) if id == m => Ok(Access::Merchant(m.to_string())),
                Need::Merchant(_) => Err(ApiError::no_merchant()),
                Need::Client | Need::Admin => Err(ApiError::forbidden()),
            };
        }
    }
    let guard = match need {
        Need::Client | Need::ClientOrMerchant => client,
        _ => admin,
    };
    match (guard, given) {
        (None, _) => Ok(Access::All),
        (Some(_), None) => Err(ApiError::unauthorized()),
        (Some(_), Some(_)) => Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "the token is not valid",
        )),
    }
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

pub(super) fn live(s: &Shared) -> Result<Arc<Policies>, ApiError> {
    let live = s.live.load_full();
    if live.ready() {
        Ok(live)
    } else {
        Err(ApiError::no_policy())
    }
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

/// Lines a batch may hold to be read on the request's own thread; a larger
/// one is read on a blocking thread (reading is a few µs a line).
const PREPARE_INLINE: usize = 64;

async fn events(State(s): S, headers: HeaderMap, body: Body) -> Result<Response, ApiError> {
    authorize(&s, &headers, Need::Client)?;
    let live = live(&s)?;
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
    // Each line is read, checked and serialised here, on the runtime's
    // threads, leaving the writer only what needs the store; a large batch
    // is read on a blocking thread so that it holds up no other request.
    let lines = if lines.len() > PREPARE_INLINE {
        tokio::task::spawn_blocking(move || Batch::prepare(lines))
            .await
            .map_err(|_| ApiError::storage("a batch could not be read".into()))?
    } else {
        Batch::prepare(lines)
    };
    let (reply, answer) = oneshot::channel();
    let applied = ask(&s, Job::Events { live, lines, reply }, answer).await?;
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
    let access = authorize(&s, &headers, Need::ClientOrMerchant)?;
    let live = live(&s)?;
    let explain = flag(&q, "explain")?;
    let bytes = body_bytes(&s, body).await?;
    let text = json_text(&bytes)?;
    let text_input = ingest::one_line(text);
    // A whole case, read straight from the text (it has no `event` key);
    // anything else is read as JSON first, and a return event is judged on
    // the history the store holds.
    let (case, event) = match crate::data::parse_case_typed(text) {
        Some(case) => (case, false),
        None => {
            let input = crate::data::parse_json(text).map_err(ApiError::input)?;
            if input.get("event").and_then(Value::as_str) == Some("return") {
                let tx = s.store.db.begin_read().map_err(storage)?;
                (ingest::case_for(&tx, &input, access.scope())?.0, true)
            } else {
                (crate::data::parse_case_value(&input).map_err(ApiError::input)?, false)
            }
        }
    };
    // Paths point into the body sent: an event's `items[0]`, not the built case's `return.items[0]`.
    let bad = |e: InputError| ApiError::input(if event { ingest::relative_to_line(e) } else { e });
    if let Some(m) = access.scope()
        && case.order.merchant_id.as_deref() != Some(m)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!("a merchant's token judges its own orders only: the case's order.merchant_id must be \"{m}\""),
        ));
    }
    let judged = live.judge(&case, explain).map_err(bad)?;
    let (verdict, explanation) = (judged.verdict, judged.explanation);
    s.metrics.decision(&verdict.decision);
    let text = explanation.as_ref().map(|e| crate::render_explanation(&verdict, e));
    let verdict_json = ingest::raw(&verdict)?;
    let entry = NewDecision {
        return_id: case.ret.id.clone(),
        customer_id: case.customer.id.clone(),
        version: judged.floor_version,
        merchant_id: judged.merchant_id,
        merchant_version: judged.merchant_version,
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
    let access = authorize(&s, &headers, Need::AdminOrMerchant)?;
    let known = [
        "return_id",
        "customer_id",
        "merchant_id",
        "from",
        "to",
        "after",
        "limit",
    ];
    if let Some(k) = q.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown parameter {k}; the filters are {}",
            known.join(", ")
        )));
    }
    let time = |key: &str| -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
        q.get(key).map(|t| parse_time(key, t)).transpose()
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
    let by_merchant = |m: &str| -> Result<Vec<u64>, ApiError> {
        let index = tx.open_table(DECISIONS_BY_MERCHANT).map_err(storage)?;
        index
            .range((m, after.saturating_add(1))..=(m, u64::MAX))
            .map_err(storage)?
            .map(|e| e.map(|(k, _)| k.value().1).map_err(storage))
            .collect()
    };
    let by_key = |by: By, key: &str| index::candidates(&tx, by, key, after);
    // The ids to look at, in order: a merchant's token reads its own index
    // only, so what others hold changes neither its answer nor its work.
    let scope = access.scope();
    let ids: Vec<u64> = if let Some(m) = scope {
        by_merchant(m)?
    } else if let Some(r) = q.get("return_id") {
        by_key(By::Return, r)?
    } else if let Some(c) = q.get("customer_id") {
        by_key(By::Customer, c)?
    } else if let Some(m) = q.get("merchant_id") {
        by_merchant(m)?
    } else {
        table
            .range(after.saturating_add(1)..)
            .map_err(storage)?
            .map(|e| e.map(|(k, _)| k.value()).map_err(storage))
            .collect::<Result<_, _>>()?
    };
    let mut out = String::new();
    let mut n = 0;
    for id in ids {
        if n == limit {
            break;
        }
        let Some(raw) = table.get(id).map_err(storage)? else {
            continue;
        };
        let d: Decision = serde_json::from_slice(raw.value()).map_err(storage)?;
        let differs = |key: &str, value: Option<&str>| q.get(key).is_some_and(|want| value != Some(want.as_str()));
        if differs("return_id", Some(&d.return_id))
            || differs("customer_id", Some(&d.customer_id))
            || differs("merchant_id", d.merchant_id.as_deref())
            || scope.is_some_and(|m| d.merchant_id.as_deref() != Some(m))
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

/// An RFC 3339 time from a query; a `+` sent unescaped arrives as a space.
fn parse_time(key: &str, t: &str) -> Result<chrono::DateTime<chrono::Utc>, ApiError> {
    chrono::DateTime::parse_from_rfc3339(&t.replace(' ', "+"))
        .map(|t| t.to_utc())
        .map_err(|_| ApiError::bad_request(format!("{key}={t}: expected an RFC 3339 time")))
}

// -- policies ----------------------------------------------------------------

fn policy_json(p: &StoredPolicy, with_source: bool) -> Value {
    let mut v = json!({
        "version": p.version,
        "policy": {"title": p.title, "version": p.label, "hash": p.hash},
        "stored_at": p.stored_at,
        "effective_at": p.effective_at,
    });
    if p.label.is_none() {
        v["policy"].as_object_mut().map(|o| o.remove("version"));
    }
    if with_source {
        v["source"] = json!(p.source);
    }
    v
}

/// The present in the stream's time: its clock, or the service's before any event.
pub(super) fn present(s: &Shared) -> Result<i64, ApiError> {
    Ok(s.store
        .stream_clock()?
        .unwrap_or_else(|| chrono::Utc::now().timestamp_micros()))
}

/// `?effective_at=` of a policy upload, checked; the only parameter it takes.
fn effective_at(q: &HashMap<String, String>) -> Result<Option<String>, ApiError> {
    if let Some(k) = q.keys().find(|k| k.as_str() != "effective_at") {
        return Err(ApiError::bad_request(format!(
            "unknown parameter {k}; the one parameter is effective_at"
        )));
    }
    q.get("effective_at")
        .map(|t| parse_time("effective_at", t).map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)))
        .transpose()
}

fn too_large_policy(source: &str) -> Result<(), ApiError> {
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
    Ok(())
}

/// Checks an uploaded policy: its program and warnings, or the 422 with its diagnostics.
fn checked(source: &str, keeps: &str) -> Result<crate::Compiled, ApiError> {
    too_large_policy(source)?;
    crate::compile(source).map_err(|diags| {
        let mut err = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "policy_invalid",
            format!("the policy does not check; {keeps}"),
        );
        err.extra = Some(json!({"diagnostics": diagnostics_json(source, &diags)}));
        err
    })
}

async fn get_policy(State(s): S, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Need::Admin)?;
    let current = s.store.current_policy()?.ok_or_else(ApiError::no_policy)?;
    Ok(json_response(StatusCode::OK, &policy_json(&current, true)))
}

async fn policy_versions(State(s): S, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Need::Admin)?;
    let now = present(&s)?;
    let current = s.live.load().floor_at(now).map(|v| v.version);
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

async fn put_policy(
    State(s): S,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Need::Admin)?;
    let effective_at = effective_at(&q)?;
    let bytes = body_bytes(&s, body).await?;
    let source = body_text(&bytes)?.to_string();
    let compiled = checked(&source, "the one in force keeps serving")?;
    let warnings = diagnostics_json(&source, &compiled.warnings);
    let (reply, answer) = oneshot::channel();
    let job = Job::Policy {
        merchant: None,
        source,
        program: Box::new(compiled.program),
        effective_at,
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
    authorize(&s, &headers, Need::Admin)?;
    let (reply, answer) = oneshot::channel();
    let stored = ask(&s, Job::Rollback { reply }, answer).await?;
    Ok(json_response(StatusCode::OK, &policy_json(&stored, false)))
}

// -- merchants ---------------------------------------------------------------

fn merchant_json(s: &Shared, m: &StoredMerchant, now: i64) -> Value {
    let live = s.live.load();
    let versions = live.merchants.get(&m.id).map_or(0, |x| x.versions.len());
    json!({
        "id": m.id,
        "created_at": m.created_at,
        "token": if m.token_sha256.is_some() { "active" } else { "revoked" },
        "token_issued_at": m.token_issued_at,
        "policy_versions": versions,
        "policy_in_force": live.merchant_at(&m.id, now).map(|v| v.version),
    })
}

/// The merchant of a path, for a caller who may see it (404 otherwise).
fn path_merchant(s: &Shared, headers: &HeaderMap, id: &str) -> Result<StoredMerchant, ApiError> {
    authorize(s, headers, Need::Merchant(id))?;
    s.store.merchant(id)?.ok_or_else(ApiError::no_merchant)
}

async fn list_merchants(State(s): S, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Need::Admin)?;
    let now = present(&s)?;
    let merchants: Vec<Value> = s.store.merchants()?.iter().map(|m| merchant_json(&s, m, now)).collect();
    Ok(json_response(StatusCode::OK, &json!({"merchants": merchants})))
}

async fn create_merchant(State(s): S, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Need::Admin)?;
    if !valid_merchant_id(&id) {
        return Err(ApiError::bad_request(format!(
            "{id:?}: a merchant id is 1 to 64 letters, digits, _ or -"
        )));
    }
    let token = new_token(&id).map_err(ApiError::storage)?;
    let change = MerchantChange::Create(sha256(token.as_bytes()));
    let (reply, answer) = oneshot::channel();
    let stored = ask(&s, Job::Merchant { id, change, reply }, answer).await?;
    let mut body = merchant_json(&s, &stored, present(&s)?);
    body["token"] = json!(token);
    Ok(json_response(StatusCode::CREATED, &body))
}

async fn get_merchant(State(s): S, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let m = path_merchant(&s, &headers, &id)?;
    Ok(json_response(StatusCode::OK, &merchant_json(&s, &m, present(&s)?)))
}

async fn rotate_token(State(s): S, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Need::Admin)?;
    let token = new_token(&id).map_err(ApiError::storage)?;
    let change = MerchantChange::Token(Some(sha256(token.as_bytes())));
    let (reply, answer) = oneshot::channel();
    let stored = ask(&s, Job::Merchant { id, change, reply }, answer).await?;
    let mut body = merchant_json(&s, &stored, present(&s)?);
    body["token"] = json!(token);
    Ok(json_response(StatusCode::OK, &body))
}

async fn revoke_token(State(s): S, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Need::Admin)?;
    let (reply, answer) = oneshot::channel();
    let change = MerchantChange::Token(None);
    let stored = ask(&s, Job::Merchant { id, change, reply }, answer).await?;
    Ok(json_response(StatusCode::OK, &merchant_json(&s, &stored, present(&s)?)))
}

fn merchant_policy_json(id: &str, p: &StoredPolicy, with_source: bool) -> Value {
    let mut v = policy_json(p, with_source);
    v["merchant_id"] = json!(id);
    v
}

async fn get_merchant_policy(State(s): S, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    path_merchant(&s, &headers, &id)?;
    let now = present(&s)?;
    let in_force = s.live.load().merchant_at(&id, now).map(|v| v.version);
    let versions = s.store.merchant_policies(&id, true)?;
    let p = versions
        .iter()
        .find(|p| Some(p.version) == in_force)
        .ok_or_else(|| ApiError::not_found("the merchant has no policy: the floor alone judges its returns"))?;
    Ok(json_response(StatusCode::OK, &merchant_policy_json(&id, p, true)))
}

async fn merchant_policy_versions(
    State(s): S,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    path_merchant(&s, &headers, &id)?;
    let now = present(&s)?;
    let in_force = s.live.load().merchant_at(&id, now).map(|v| v.version);
    let versions: Vec<Value> = s
        .store
        .merchant_policies(&id, false)?
        .iter()
        .map(|p| {
            let mut v = merchant_policy_json(&id, p, false);
            v["in_force"] = json!(Some(p.version) == in_force);
            v
        })
        .collect();
    Ok(json_response(StatusCode::OK, &json!({"versions": versions})))
}

/// A merchant's new policy version: checked alone, then against the floor
/// in force (the currency they share, and — as warnings, with witness cases —
/// the rules and rows of it the floor overrides).
async fn put_merchant_policy(
    State(s): S,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    path_merchant(&s, &headers, &id)?;
    let effective_at = effective_at(&q)?;
    let bytes = body_bytes(&s, body).await?;
    let source = body_text(&bytes)?.to_string();
    let compiled = checked(&source, "the merchant's version in force keeps serving")?;
    let mut warnings = compiled.warnings.clone();
    let live = s.live.load_full();
    if let Some(floor) = live.floor_at(present(&s)?) {
        if let Err(message) = crate::check_floor_pair(&floor.program, &compiled.program) {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "policy_incompatible",
                message,
            ));
        }
        let program = compiled.program.clone();
        let floor = floor.clone();
        let found = tokio::task::spawn_blocking(move || crate::floor_warnings(&floor.program, &program))
            .await
            .map_err(|e| ApiError::storage(e.to_string()))?;
        warnings.extend(found);
    }
    let warnings = diagnostics_json(&source, &warnings);
    let (reply, answer) = oneshot::channel();
    let job = Job::Policy {
        merchant: Some(id.clone()),
        source,
        program: Box::new(compiled.program),
        effective_at,
        reply,
    };
    let stored = ask(&s, job, answer).await?;
    let mut body = merchant_policy_json(&id, &stored, false);
    body["warnings"] = json!(warnings);
    Ok(json_response(StatusCode::OK, &body))
}

// -- a return's life ----------------------------------------------------------

/// The filters of a queue: the merchant (a merchant's token: its own,
/// whatever it asks), overdue only, at most `limit`.
struct QueueFilter {
    merchant: Option<String>,
    overdue: bool,
    limit: usize,
}

fn queue_filter(q: &HashMap<String, String>, access: &Access) -> Result<QueueFilter, ApiError> {
    let known = ["merchant_id", "overdue", "limit"];
    if let Some(k) = q.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(ApiError::bad_request(format!(
            "unknown parameter {k}; the filters are {}",
            known.join(", ")
        )));
    }
    let limit = match q.get("limit") {
        None => 1000,
        Some(n) => n
            .parse::<usize>()
            .map_err(|_| ApiError::bad_request(format!("limit={n}: expected a whole number")))?,
    }
    .min(MAX_DECISIONS);
    let merchant = match access.scope() {
        // Another merchant's filter finds nothing, as a merchant with nothing due would.
        Some(m) => Some(q.get("merchant_id").cloned().unwrap_or_else(|| m.to_string())).filter(|x| x == m),
        None => q.get("merchant_id").cloned(),
    };
    if access.scope().is_some() && merchant.is_none() {
        return Ok(QueueFilter {
            merchant: None,
            overdue: true,
            limit: 0,
        });
    }
    Ok(QueueFilter {
        merchant,
        overdue: flag(q, "overdue")?,
        limit,
    })
}

fn lines_response(out: String) -> Response {
    let mut response = (StatusCode::OK, out).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    response
}

/// `GET /v1/reviews`: the returns in review, due first, as JSON Lines.
async fn reviews(
    State(s): S,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let access = authorize(&s, &headers, Need::AdminOrMerchant)?;
    let f = queue_filter(&q, &access)?;
    let now = chrono::Utc::now();
    let tx = s.store.db.begin_read().map_err(storage)?;
    let table = tx.open_table(super::store::REVIEWS).map_err(storage)?;
    let mut out = String::new();
    let mut n = 0;
    for entry in table.iter().map_err(storage)? {
        if n >= f.limit {
            break;
        }
        let (k, v) = entry.map_err(storage)?;
        let due = k.value().0;
        if f.overdue && due >= now.timestamp_micros() {
            break;
        }
        let r: super::life::QueuedReview = serde_json::from_slice(v.value()).map_err(storage)?;
        if f.merchant.is_some() && r.merchant_id != f.merchant {
            continue;
        }
        let mut line = serde_json::to_value(&r).map_err(storage)?;
        line["overdue"] = json!(due < now.timestamp_micros());
        out.push_str(&line.to_string());
        out.push('\n');
        n += 1;
    }
    Ok(lines_response(out))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    decision: String,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /v1/reviews/{return_id}`: a person's decision, now.
async fn review(
    State(s): S,
    Path(return_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let access = authorize(&s, &headers, Need::AdminOrMerchant)?;
    let bytes = body_bytes(&s, body).await?;
    let text = json_text(&bytes)?;
    let b: ReviewBody = serde_json::from_str(text).map_err(|e| {
        ApiError::input(InputError::new(
            "",
            format!("expected {{\"decision\": \"approve\" | \"deny\", \"by\", \"reason\"}}: {e}"),
        ))
    })?;
    let outcome = match b.decision.as_str() {
        "approve" => crate::data::ReviewOutcome::Approve,
        "deny" => crate::data::ReviewOutcome::Deny,
        other => {
            return Err(ApiError::input(InputError::new(
                "decision",
                format!("{other:?}: expected \"approve\" or \"deny\""),
            )));
        }
    };
    let by =
        b.by.or_else(|| Some(access.scope().map_or("admin".to_string(), |m| format!("merchant {m}"))));
    let at = chrono::Utc::now();
    let decision = crate::data::ReviewDecision::new(outcome, at, by.clone(), b.reason.clone());
    let logged = json!({"decision": b.decision, "by": by, "reason": b.reason, "at": at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)});
    let (reply, answer) = oneshot::channel();
    let job = super::writer::LifeJob::Review {
        return_id,
        scope: access.scope().map(str::to_string),
        decision,
        body: ingest::raw(&logged)?,
    };
    let done = ask(&s, Job::Life { job, reply }, answer).await?;
    let super::writer::LifeDone::Judged(judged) = done else {
        return Err(ApiError::storage("the writer answered another job".into()));
    };
    #[derive(serde::Serialize)]
    struct Reply<'a> {
        decision_id: u64,
        verdict: &'a RawValue,
    }
    Ok(json_response(
        StatusCode::OK,
        &Reply {
            decision_id: judged.decision_id,
            verdict: &judged.verdict,
        },
    ))
}

/// `GET /v1/refunds`: approved refunds not yet paid, soonest due first.
async fn refunds(
    State(s): S,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let access = authorize(&s, &headers, Need::AdminOrMerchant)?;
    let f = queue_filter(&q, &access)?;
    let now = chrono::Utc::now().timestamp_micros();
    let tx = s.store.db.begin_read().map_err(storage)?;
    let table = tx.open_table(super::store::REFUNDS).map_err(storage)?;
    let mut out = String::new();
    let mut n = 0;
    for entry in table.iter().map_err(storage)? {
        if n >= f.limit {
            break;
        }
        let (k, v) = entry.map_err(storage)?;
        let due = k.value().0;
        if f.overdue && due >= now {
            break;
        }
        let r: super::life::DueRefund = serde_json::from_slice(v.value()).map_err(storage)?;
        if f.merchant.is_some() && r.merchant_id != f.merchant {
            continue;
        }
        let mut line = serde_json::to_value(&r).map_err(storage)?;
        line["overdue"] = json!(due < now);
        out.push_str(&line.to_string());
        out.push('\n');
        n += 1;
    }
    Ok(lines_response(out))
}

/// `POST /v1/refunds/{return_id}/paid`: the return's refunds were paid.
async fn refund_paid(State(s): S, Path(return_id): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    let access = authorize(&s, &headers, Need::AdminOrMerchant)?;
    let (reply, answer) = oneshot::channel();
    let job = super::writer::LifeJob::Paid {
        return_id: return_id.clone(),
        scope: access.scope().map(str::to_string),
    };
    let done = ask(&s, Job::Life { job, reply }, answer).await?;
    let super::writer::LifeDone::Count(n) = done else {
        return Err(ApiError::storage("the writer answered another job".into()));
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({"return_id": return_id, "paid": n}),
    ))
}

/// `GET /v1/customers/{id}/restrictions`: every restriction kept on the customer.
async fn restrictions(State(s): S, Path(id): Path<String>, headers: HeaderMap) -> Result<Response, ApiError> {
    authorize(&s, &headers, Need::Admin)?;
    let tx = s.store.db.begin_read().map_err(storage)?;
    let kept = ingest::Reads::restrictions(&tx, &id, i64::MAX)?;
    Ok(json_response(
        StatusCode::OK,
        &json!({"customer_id": id, "restrictions": kept}),
    ))
}

/// `DELETE /v1/customers/{id}/restrictions/{kind}`: an admin lifts them,
/// from the stream's present on.
async fn lift_restriction(
    State(s): S,
    Path((id, kind)): Path<(String, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    authorize(&s, &headers, Need::Admin)?;
    let (reply, answer) = oneshot::channel();
    let job = super::writer::LifeJob::Lift {
        customer: id.clone(),
        kind: kind.clone(),
    };
    let done = ask(&s, Job::Life { job, reply }, answer).await?;
    let super::writer::LifeDone::Count(n) = done else {
        return Err(ApiError::storage("the writer answered another job".into()));
    };
    Ok(json_response(
        StatusCode::OK,
        &json!({"customer_id": id, "kind": kind, "lifted": n}),
    ))
}

// -- operations --------------------------------------------------------------

async fn healthz(State(s): S) -> Response {
    let live = s.live.load();
    let now = match present(&s) {
        Ok(t) => t,
        Err(e) => return e.into_response(),
    };
    match live.floor_at(now) {
        Some(l) => json_response(
            StatusCode::OK,
            &json!({"status": "ready", "policy_version": l.version, "merchants": live.merchants.len()}),
        ),
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
