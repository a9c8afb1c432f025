//! The policy studio (issue 14): the page at `/` and its assets, embedded in
//! the binary, and the stateless helpers the page calls while a merchant
//! writes a policy — check, fmt, try, replay, test, and the shipped examples.
//!
//! None of them writes the store. Each parses its request, calls the library
//! exactly as the command line does (`rpl check --error-format json`, `rpl
//! fmt`, `rpl judge --explain`, `rpl backtest --json`, `rpl test`) and
//! answers JSON, every error with the service's stable codes. They are open,
//! like `/healthz`, within the service's limits (body size, in-flight
//! requests, time); only what reads the policy in force — a replay compared
//! with `"saved"` — takes the client token, as `/v1/judge` does.
//!
//! A replay can take a while, so it answers JSON Lines as it goes: progress
//! lines, then the summary (or the error that stopped it). It runs on a
//! blocking thread, at most one per core at once, and stops when the client
//! goes away or the request's time is up.

mod assets;

use std::convert::Infallible;
use std::io::{BufRead, Cursor, Read};
use std::path::{Component, Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{self, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::{Semaphore, mpsc};

use super::Shared;
use super::api::{Need, authorize, body_bytes, body_text, live, present};
use super::errors::ApiError;
use crate::{Compiled, Diagnostic, Program};
use assets::{ASSETS, Asset, INDEX, SHIPPED};

type S = State<Arc<Shared>>;

/// The studio's routes, merged into the service's router (under its limits).
pub(super) fn routes() -> Router<Arc<Shared>> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let replays = Arc::new(Semaphore::new(cores));
    Router::new()
        .route("/", get(index))
        .route("/studio/{file}", get(asset))
        .route("/v1/check", post(check))
        .route("/v1/fmt", post(fmt))
        .route("/v1/try", post(try_case))
        .route("/v1/test", post(test))
        .route(
            "/v1/replay",
            post(move |s: S, headers: HeaderMap, body: Body| replay(s, headers, body, replays.clone())),
        )
        .route("/v1/studio/examples", get(examples))
}

// -- the page ----------------------------------------------------------------

/// Where the page may load from and talk to: itself only.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; \
                   connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

async fn index(headers: HeaderMap) -> Response {
    let mut response = serve_asset(&INDEX, &headers);
    response
        .headers_mut()
        .insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    response
}

async fn asset(extract::Path(file): extract::Path<String>, headers: HeaderMap) -> Response {
    match ASSETS.iter().find(|a| a.name == file) {
        Some(a) => serve_asset(a, &headers),
        None => ApiError::not_found(format!("the studio has no file {file}")).into_response(),
    }
}

/// An asset with an ETag of its bytes, so a browser revalidates cheaply.
fn serve_asset(a: &'static Asset, headers: &HeaderMap) -> Response {
    static TAGS: OnceLock<Vec<(&'static str, String)>> = OnceLock::new();
    let tags = TAGS.get_or_init(|| {
        std::iter::once(&INDEX)
            .chain(ASSETS)
            .map(|a| {
                let hash = Sha256::digest(a.bytes);
                let hex: String = hash.iter().take(12).map(|b| format!("{b:02x}")).collect();
                (a.name, format!("\"{hex}\""))
            })
            .collect()
    });
    let tag = tags.iter().find(|(n, _)| *n == a.name).map_or("", |(_, t)| t.as_str());
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let mut response = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, a.bytes).into_response()
    };
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(a.content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if let Ok(v) = HeaderValue::from_str(tag) {
        h.insert(header::ETAG, v);
    }
    response
}

// -- requests ----------------------------------------------------------------

/// The body as the JSON an endpoint takes; anything else is 400.
async fn read<T: DeserializeOwned>(s: &Shared, body: Body) -> Result<T, ApiError> {
    let bytes = body_bytes(s, body).await?;
    let text = body_text(&bytes)?;
    serde_json::from_str(text)
        .map_err(|e| ApiError::bad_request(format!("the body is not the JSON this endpoint takes: {e}")))
}

/// A policy within the size a policy may have (as `PUT /v1/policy` holds it).
fn within_limit(source: &str) -> Result<(), ApiError> {
    let max = crate::limits::MAX_POLICY_BYTES;
    if source.len() > max {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("the policy is more than the {max} bytes a policy may hold"),
        ));
    }
    Ok(())
}

/// Runs `f` off the async threads: checking a large policy or judging takes
/// real time.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))
}

fn default_file() -> String {
    "policy.rpl".into()
}

/// Diagnostics as `rpl check --error-format json` prints them, `file` named.
fn diagnostics(file: &str, source: &str, diags: &[Diagnostic]) -> Vec<Value> {
    crate::render_diagnostics_json(file, source, diags)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A policy that does not check: 422 with its diagnostics; `which` says
/// which of the request's policies it is (`policy`, `compare`, `floor`).
fn policy_invalid(which: &'static str, file: &str, source: &str, diags: &[Diagnostic]) -> ApiError {
    let message = match which {
        "policy" => "the policy does not check",
        "compare" => "the policy to compare with does not check",
        _ => "the floor does not check",
    };
    let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "policy_invalid", message);
    err.extra = Some(json!({"which": which, "diagnostics": diagnostics(file, source, diags)}));
    err
}

fn compile(which: &'static str, file: &str, source: &str) -> Result<Compiled, ApiError> {
    crate::compile(source).map_err(|d| policy_invalid(which, file, source, &d))
}

fn ok(body: &impl serde::Serialize) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

// -- check and fmt -----------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckRequest {
    policy: String,
    /// The name diagnostics give the policy.
    #[serde(default = "default_file")]
    file: String,
}

/// `POST /v1/check`: every diagnostic of a policy, as `rpl check
/// --error-format json` prints them. A policy with errors is a 200 too: the
/// check ran; `ok` says whether the policy can run.
async fn check(State(s): S, body: Body) -> Result<Response, ApiError> {
    let req: CheckRequest = read(&s, body).await?;
    within_limit(&req.policy)?;
    #[derive(serde::Serialize)]
    struct Answer {
        ok: bool,
        errors: usize,
        warnings: usize,
        /// The policy's identity, when it checks.
        #[serde(skip_serializing_if = "Option::is_none")]
        policy: Option<crate::PolicyId>,
        /// The words its fields take, when it checks: what it declares
        /// (`values FIELD = […]`) and the closed sets.
        #[serde(skip_serializing_if = "Option::is_none")]
        values: Option<serde_json::Map<String, Value>>,
        /// Byte for byte the lines `rpl check --error-format json` prints.
        diagnostics: Vec<Box<RawValue>>,
    }
    let answer = blocking(move || {
        let (diags, id, values) = match crate::compile(&req.policy) {
            Ok(c) => (c.warnings, Some(c.program.id().clone()), Some(declared(&c.program))),
            Err(d) => (d, None, None),
        };
        let errors = diags.iter().filter(|d| d.is_error()).count();
        let diagnostics = crate::render_diagnostics_json(&req.file, &req.policy, &diags)
            .lines()
            .filter_map(|l| RawValue::from_string(l.to_string()).ok())
            .collect();
        Answer {
            ok: errors == 0,
            errors,
            warnings: diags.len() - errors,
            policy: id,
            values,
            diagnostics,
        }
    })
    .await?;
    Ok(ok(&answer))
}

/// The words a policy's fields take: the ones it declares, and the closed
/// set of return types.
fn declared(p: &Program) -> serde_json::Map<String, Value> {
    use crate::ir::schema::{DECLARABLE, RETURN_TYPES, field_info};
    let mut out = serde_json::Map::new();
    out.insert("return.type".into(), json!(RETURN_TYPES));
    for (field, _) in DECLARABLE {
        if let Some(v) = p.ir.vocabularies.get(*field) {
            let info = field_info(*field);
            let words: Vec<&str> = v.words().collect();
            out.insert(format!("{}.{}", info.root, info.name), json!(words));
        }
    }
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FmtRequest {
    policy: String,
    #[serde(default = "default_file")]
    file: String,
}

/// `POST /v1/fmt`: the policy in the canonical layout (`rpl fmt`), or, when
/// it cannot be read, its syntax errors (422, `policy_invalid`).
async fn fmt(State(s): S, body: Body) -> Result<Response, ApiError> {
    let req: FmtRequest = read(&s, body).await?;
    within_limit(&req.policy)?;
    let answer = blocking(move || match crate::format_policy(&req.policy) {
        Ok(formatted) => Ok(json!({"changed": formatted != req.policy, "policy": formatted})),
        Err(d) => {
            let mut err = policy_invalid("policy", &req.file, &req.policy, &d);
            err.message = "the policy cannot be read, so it cannot be formatted".into();
            Err(err)
        }
    })
    .await??;
    Ok(ok(&answer))
}

// -- try a case --------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TryRequest {
    policy: String,
    /// The case: its JSON text as a string (read exactly as `rpl judge`
    /// reads a file), or the case object itself.
    case: Box<RawValue>,
    /// A platform floor to judge on, as `rpl judge --floor`: its text.
    floor: Option<String>,
    #[serde(default = "default_file")]
    file: String,
}

/// The text of a case given as a string or as an object.
fn case_text(raw: &RawValue) -> Result<String, ApiError> {
    let text = raw.get();
    if text.starts_with('"') {
        serde_json::from_str(text).map_err(|e| ApiError::bad_request(format!("case: {e}")))
    } else {
        Ok(text.to_string())
    }
}

/// `POST /v1/try`: the verdict of a case under a policy (on a floor, if
/// given), with its explanation and the text `rpl judge --explain` prints.
async fn try_case(State(s): S, body: Body) -> Result<Response, ApiError> {
    let req: TryRequest = read(&s, body).await?;
    within_limit(&req.policy)?;
    if let Some(f) = &req.floor {
        within_limit(f)?;
    }
    #[derive(serde::Serialize)]
    struct Answer {
        verdict: crate::Verdict,
        explanation: crate::Explanation,
        explanation_text: String,
    }
    let answer = blocking(move || -> Result<Response, ApiError> {
        let program = compile("policy", &req.file, &req.policy)?.program;
        let floor = match &req.floor {
            Some(f) => Some(compile("floor", "floor.rpl", f)?.program),
            None => None,
        };
        if let Some(floor) = &floor {
            // Each checks alone, but the two cannot be layered (another currency, say).
            crate::floor::check_pair(floor, &program)
                .map_err(|reason| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "floor_mismatch", reason))?;
        }
        let text = case_text(&req.case)?;
        let value = crate::data::parse_json(&text).map_err(ApiError::input)?;
        let case = crate::data::parse_case_value(&value).map_err(ApiError::input)?;
        let (verdict, explanation) = match &floor {
            Some(floor) => crate::floor::judge_layered_explained(floor, &program, &case),
            None => program.judge_explained(&case),
        }
        .map_err(ApiError::input)?;
        let explanation_text = crate::render_explanation(&verdict, &explanation);
        // The verdict as `rpl judge` prints it, its fields in the same order.
        Ok(ok(&Answer {
            verdict,
            explanation,
            explanation_text,
        }))
    })
    .await??;
    Ok(answer)
}

// -- test --------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestRequest {
    policy: String,
    /// The suite's TOML text.
    suite: String,
    /// Where the suite would be: its `input = "…"` files, its floor and its
    /// snapshots are read relative to it, from the shipped files.
    #[serde(default = "default_suite_path")]
    path: String,
}

fn default_suite_path() -> String {
    "policies/studio.test.toml".into()
}

/// `POST /v1/test`: a suite run on the policy's text, as `rpl test` runs it,
/// each case passed or failed with expected and actual side by side.
async fn test(State(s): S, body: Body) -> Result<Response, ApiError> {
    let req: TestRequest = read(&s, body).await?;
    within_limit(&req.policy)?;
    let answer = blocking(move || -> Result<Value, ApiError> {
        let path = PathBuf::from(&req.path);
        let file = path.parent().unwrap_or(Path::new("")).join("policy.rpl");
        compile("policy", &file.display().to_string(), &req.policy)?;
        let result = crate::run_suite_text(&path, &req.suite, &req.policy, &shipped);
        if let Some(e) = &result.error {
            return Err(suite_error(e));
        }
        let cases: Vec<Value> = result.cases.iter().map(case_json).collect();
        let (passed, failed) = (result.passed(), result.failed());
        let report = format!("{}{passed} passed, {failed} failed\n", crate::render_suite(&result));
        Ok(json!({"passed": passed, "failed": failed, "cases": cases, "report": report}))
    })
    .await??;
    Ok(ok(&answer))
}

fn case_json(c: &crate::CaseResult) -> Value {
    use crate::Outcome;
    match &c.outcome {
        Outcome::Passed | Outcome::SnapshotWritten(_) => json!({"name": c.name, "outcome": "passed"}),
        Outcome::Failed(ms) => {
            let ms: Vec<Value> = ms
                .iter()
                .map(|m| json!({"key": m.key, "expected": m.expected, "actual": m.actual}))
                .collect();
            json!({"name": c.name, "outcome": "failed", "mismatches": ms})
        }
        Outcome::SnapshotDiffers { path, old, new } => json!({
            "name": c.name,
            "outcome": "snapshot_differs",
            "snapshot": {"path": path.display().to_string(), "expected": old, "actual": new},
        }),
        Outcome::Error(e) => json!({"name": c.name, "outcome": "error", "error": e.to_string()}),
    }
}

/// A suite that cannot run: 422 `suite_invalid`, with where, when known
/// (`suite`: its line and column, or the case, and the message).
fn suite_error(e: &crate::SuiteError) -> ApiError {
    use crate::SuiteError as E;
    let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "suite_invalid", e.to_string());
    let detail = match e {
        E::Toml { at, message, .. } => match at {
            Some((line, column)) => json!({"line": line, "column": column, "message": message}),
            None => json!({"message": message}),
        },
        E::Case { case, problem, .. } => json!({"case": case, "message": problem}),
        E::Read { reason, .. } | E::PolicyRead { reason, .. } => json!({"message": reason}),
        E::Policy { rendered, .. } => json!({"message": rendered}),
    };
    err.extra = Some(json!({"suite": detail}));
    err
}

/// A shipped file by its path in the repository (`.` and `..` resolved).
fn shipped(path: &Path) -> Result<String, String> {
    path.to_str()
        .and_then(|p| SHIPPED.binary_search_by(|(name, _)| (*name).cmp(p)).ok())
        .map(|i| SHIPPED[i].1.to_string())
        .ok_or_else(|| "not one of the shipped files the studio holds (under policies/ and examples/)".into())
}

/// `a/b/../c` as `a/c`, lexically.
fn normalize(path: &Path) -> String {
    let mut out: Vec<Component> = Vec::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out.iter().collect::<PathBuf>().display().to_string()
}

// -- the shipped examples ----------------------------------------------------

/// What the examples need of a suite: its floor and the cases it names.
#[derive(Deserialize)]
struct SuiteOutline {
    floor: Option<String>,
    #[serde(default)]
    case: Vec<CaseOutline>,
}

#[derive(Deserialize)]
struct CaseOutline {
    name: String,
    input: Option<String>,
}

/// `GET /v1/studio/examples`: every shipped policy with its text, its suite,
/// the floor its suite stands on, and its example cases — those its suite
/// names, then the rest of `examples/NAME/` — each with its text.
async fn examples() -> Response {
    static ANSWER: OnceLock<Value> = OnceLock::new();
    let answer = ANSWER.get_or_init(|| {
        let policies: Vec<Value> = SHIPPED
            .iter()
            .filter(|(p, _)| p.ends_with(".rpl"))
            .map(|(path, source)| example_policy(path, source))
            .collect();
        // What a policy can read, for the editor's completions.
        let fields: Vec<Value> = crate::ir::schema::FIELDS
            .iter()
            .map(
                |f| json!({"path": format!("{}.{}", f.root, f.name), "type": f.ty.to_string(), "optional": f.optional}),
            )
            .collect();
        json!({"policies": policies, "fields": fields})
    });
    ok(answer)
}

fn example_policy(path: &str, source: &str) -> Value {
    let stem = path.trim_end_matches(".rpl");
    let name = stem.rsplit('/').next().unwrap_or(stem);
    let suite_path = format!("{stem}.test.toml");
    let suite = SHIPPED.iter().find(|(p, _)| *p == suite_path).map(|(_, s)| *s);
    let outline: Option<SuiteOutline> = suite.and_then(|s| toml::from_str(s).ok());
    let base = Path::new(path).parent().unwrap_or(Path::new(""));
    let mut cases: Vec<Value> = Vec::new();
    let mut named = Vec::new();
    for c in outline.iter().flat_map(|o| &o.case) {
        let Some(input) = &c.input else { continue };
        let case_path = normalize(&base.join(input));
        if named.contains(&case_path) {
            continue;
        }
        if let Ok(text) = shipped(Path::new(&case_path)) {
            cases.push(json!({"path": case_path, "title": c.name, "source": text}));
            named.push(case_path);
        }
    }
    let folder = format!("examples/{name}/");
    for (p, text) in SHIPPED {
        if p.starts_with(&folder) && p.ends_with(".json") && !named.iter().any(|n| n == p) {
            let title = p[folder.len()..].trim_end_matches(".json").replace('_', " ");
            cases.push(json!({"path": p, "title": title, "source": text}));
        }
    }
    let title = crate::compile(source).map(|c| c.program.title().to_string()).ok();
    let mut v = json!({"name": name, "path": path, "title": title, "source": source, "cases": cases});
    if let Some(s) = suite {
        v["suite"] = json!({"path": suite_path, "source": s});
    }
    if let Some(f) = outline.as_ref().and_then(|o| o.floor.as_ref()) {
        v["floor"] = json!(normalize(&base.join(f)));
    }
    v
}

// -- replay ------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayRequest {
    policy: String,
    /// `"saved"` (the policy in force) or `{"policy": TEXT}`.
    compare: Option<Value>,
    /// The event stream, JSON Lines.
    events: Option<String>,
    /// Or a stream made by `rpl gen`'s generator.
    generate: Option<Generate>,
    /// Count, list and skip bad lines instead of stopping at the first.
    #[serde(default)]
    skip_invalid: bool,
    #[serde(default = "default_file")]
    file: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Generate {
    #[serde(default = "default_customers")]
    customers: usize,
    #[serde(default = "default_days")]
    days: u32,
    #[serde(default = "default_seed")]
    seed: u64,
    abusers: Option<f64>,
    /// The first day, `YYYY-MM-DD`.
    start: Option<String>,
    /// The orders' currency; the policy's when not given.
    currency: Option<String>,
}

fn default_customers() -> usize {
    500
}
fn default_days() -> u32 {
    60
}
fn default_seed() -> u64 {
    1
}

/// The most customers and days a generated replay may ask for; the stream
/// must also fit in a request body.
const MAX_GEN_CUSTOMERS: usize = 200_000;
const MAX_GEN_DAYS: u32 = 3650;

/// Progress lines are sent at most this often.
const PROGRESS_EVERY: Duration = Duration::from_millis(100);

/// What to replay with what.
struct Replay {
    programs: Vec<Arc<ProgramRef>>,
    events: Vec<u8>,
    generated: Option<crate::GenStats>,
    skip_invalid: bool,
}

/// A program of the replay: compiled here, or the one in force.
enum ProgramRef {
    Own(Box<Program>),
    Saved(Arc<super::live::Version>),
}

impl ProgramRef {
    fn program(&self) -> &Program {
        match self {
            ProgramRef::Own(p) => p,
            ProgramRef::Saved(l) => &l.program,
        }
    }
}

/// `POST /v1/replay`: replays an event stream (given, or generated) through
/// the policy, as `rpl backtest POLICY --compare OTHER --json`. Answers JSON
/// Lines: `{"progress": …}` lines, then `{"summary": …, "stream": …}`, or
/// `{"error": …}` if the replay stopped (a bad line, the time limit).
async fn replay(State(s): S, headers: HeaderMap, body: Body, replays: Arc<Semaphore>) -> Result<Response, ApiError> {
    let req: ReplayRequest = read(&s, body).await?;
    within_limit(&req.policy)?;
    let saved = match &req.compare {
        Some(Value::String(w)) if w == "saved" => {
            authorize(&s, &headers, Need::Client)?;
            let now = present(&s)?;
            let floor = live(&s)?.floor_at(now).cloned();
            Some(floor.ok_or_else(ApiError::no_policy)?)
        }
        Some(Value::Object(o)) if o.len() == 1 && o.get("policy").is_some_and(Value::is_string) => None,
        None => None,
        Some(_) => {
            return Err(ApiError::bad_request(
                "compare: expected \"saved\" (the policy in force) or {\"policy\": TEXT}",
            ));
        }
    };
    let permit = replays
        .try_acquire_owned()
        .map_err(|_| ApiError::overloaded("as many replays as the machine has cores are running; retry shortly"))?;
    let max_bytes = s.config.max_body_bytes;
    let prepared = blocking(move || prepare(req, saved, max_bytes)).await??;
    let total = prepared.events.len();
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let deadline = Instant::now() + s.config.request_timeout;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        run_replay(prepared, total, &tx, deadline);
    });
    let mut response = Response::new(Body::from_stream(Lines(rx)));
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/x-ndjson"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Compiles the policies and gets the events, answering what is wrong with
/// the request before any line is streamed.
fn prepare(req: ReplayRequest, saved: Option<Arc<super::live::Version>>, max_bytes: usize) -> Result<Replay, ApiError> {
    let program = compile("policy", &req.file, &req.policy)?.program;
    let mut programs = vec![Arc::new(ProgramRef::Own(Box::new(program)))];
    if let Some(loaded) = saved {
        programs.push(Arc::new(ProgramRef::Saved(loaded)));
    } else if let Some(text) = req
        .compare
        .as_ref()
        .and_then(|c| c.get("policy"))
        .and_then(Value::as_str)
    {
        within_limit(text)?;
        let other = compile("compare", "compare.rpl", text)?.program;
        programs.push(Arc::new(ProgramRef::Own(Box::new(other))));
    }
    let (events, generated) = match (req.events, req.generate) {
        (Some(events), None) => (events.into_bytes(), None),
        (None, Some(g)) => {
            let currency = programs[0].program().currency().to_string();
            let (bytes, stats) = generate(&g, currency, max_bytes)?;
            (bytes, Some(stats))
        }
        _ => {
            return Err(ApiError::bad_request(
                "give the stream as `events` (JSON Lines) or ask for one with `generate`, not both",
            ));
        }
    };
    Ok(Replay {
        programs,
        events,
        generated,
        skip_invalid: req.skip_invalid,
    })
}

fn generate(g: &Generate, currency: String, max_bytes: usize) -> Result<(Vec<u8>, crate::GenStats), ApiError> {
    if g.customers == 0 || g.customers > MAX_GEN_CUSTOMERS || g.days == 0 || g.days > MAX_GEN_DAYS {
        return Err(ApiError::bad_request(format!(
            "generate: customers from 1 to {MAX_GEN_CUSTOMERS} and days from 1 to {MAX_GEN_DAYS}"
        )));
    }
    let mut opts = crate::GenOptions {
        customers: g.customers,
        days: g.days,
        seed: g.seed,
        currency: g.currency.clone().unwrap_or(currency),
        ..Default::default()
    };
    if let Some(a) = g.abusers {
        if !(0.0..=1.0).contains(&a) {
            return Err(ApiError::bad_request(
                "generate.abusers: a share of the customers, from 0 to 1",
            ));
        }
        opts.abuser_share = a;
    }
    if let Some(start) = &g.start {
        opts.start = chrono::NaiveDate::parse_from_str(start, "%Y-%m-%d")
            .map_err(|_| ApiError::bad_request(format!("generate.start: {start:?} is not a date (YYYY-MM-DD)")))?;
    }
    let mut out = Capped {
        bytes: Vec::new(),
        max: max_bytes,
    };
    match crate::generate(&opts, &mut out) {
        Ok(stats) => Ok((out.bytes, stats)),
        Err(_) if out.bytes.len() >= max_bytes => Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!(
                "the stream would be more than the {max_bytes} bytes a request may hold: ask for fewer customers or days"
            ),
        )),
        Err(e) => Err(ApiError::bad_request(format!("generate: {e}"))),
    }
}

/// A buffer that refuses to grow past `max`.
struct Capped {
    bytes: Vec<u8>,
    max: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > self.max {
            self.bytes.resize(self.max, 0);
            return Err(std::io::Error::other("the stream is too large"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Why a watched replay stopped reading.
#[derive(Clone, Copy, PartialEq)]
enum Stop {
    Late,
    Gone,
}

/// The stream, read line by line by the backtest: stops when the request's
/// time is up or its client has gone.
struct Watched<'a> {
    inner: Cursor<Vec<u8>>,
    deadline: Instant,
    tx: &'a mpsc::Sender<Bytes>,
    stopped: Option<Stop>,
}

impl Watched<'_> {
    fn watch(&mut self) -> std::io::Result<()> {
        if self.tx.is_closed() {
            self.stopped = Some(Stop::Gone);
        } else if Instant::now() > self.deadline {
            self.stopped = Some(Stop::Late);
        }
        match self.stopped {
            Some(_) => Err(std::io::Error::other("the replay was stopped")),
            None => Ok(()),
        }
    }
}

impl Read for Watched<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.watch()?;
        self.inner.read(buf)
    }
}

impl BufRead for Watched<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.watch()?;
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.inner.consume(n);
    }
}

fn line(v: &Value) -> Bytes {
    let mut text = v.to_string();
    text.push('\n');
    Bytes::from(text)
}

fn run_replay(r: Replay, total: usize, tx: &mpsc::Sender<Bytes>, deadline: Instant) {
    let programs: Vec<&Program> = r.programs.iter().map(|p| p.program()).collect();
    let opts = crate::BacktestOptions {
        skip_invalid: r.skip_invalid,
        // Small chunks, so progress comes often; results do not depend on it.
        chunk_lines: 2048,
        ..Default::default()
    };
    let mut watched = Watched {
        inner: Cursor::new(r.events),
        deadline,
        tx,
        stopped: None,
    };
    // The first chunk's progress goes out at once, then at most one a PROGRESS_EVERY.
    let mut last: Option<Instant> = None;
    let progress = |p: crate::BacktestProgress| {
        if last.is_none_or(|l| l.elapsed() >= PROGRESS_EVERY) {
            last = Some(Instant::now());
            let v =
                json!({"progress": {"lines": p.lines, "bytes": p.bytes, "returns": p.returns, "total_bytes": total}});
            // Progress may be dropped when the client reads slowly; the result never is.
            let _ = tx.try_send(line(&v));
        }
    };
    let result = crate::backtest(&programs, &mut watched, None, &opts, progress);
    let last_line = match result {
        Ok(summary) => {
            let mut stream = json!({"bytes": total, "compare": compare_word(&r.programs)});
            if let Some(g) = &r.generated {
                stream["generated"] = json!({
                    "customers": g.customers, "abusers": g.abusers, "orders": g.orders,
                    "returns": g.returns, "abusive_returns": g.abusive_returns,
                });
            }
            #[derive(serde::Serialize)]
            struct Done<'a> {
                /// As `rpl backtest --json` prints it, its fields in the same order.
                summary: &'a crate::BacktestSummary,
                stream: Value,
            }
            let text = serde_json::to_string(&Done {
                summary: &summary,
                stream,
            })
            .unwrap_or_default();
            let _ = tx.blocking_send(Bytes::from(text + "\n"));
            return;
        }
        Err(crate::BacktestError::Stopped(s)) => json!({"error": ApiError::line(s.line as usize, s.error).body()}),
        Err(e) => {
            let err = match watched.stopped {
                Some(Stop::Late) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "timeout",
                    "the replay took longer than the service allows a request; replay a shorter stream",
                ),
                Some(Stop::Gone) => return,
                None => ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()),
            };
            json!({"error": err.body()})
        }
    };
    let _ = tx.blocking_send(line(&last_line));
}

/// What the summary's `compare` is against: `saved`, `policy` (a text
/// given), or nothing.
fn compare_word(programs: &[Arc<ProgramRef>]) -> Value {
    match programs.get(1).map(|p| p.as_ref()) {
        Some(ProgramRef::Saved(l)) => json!({"with": "saved", "version": l.version}),
        Some(ProgramRef::Own(_)) => json!({"with": "policy"}),
        None => Value::Null,
    }
}

/// The replay's lines, as a response body.
struct Lines(mpsc::Receiver<Bytes>);

impl futures_core::Stream for Lines {
    type Item = Result<Bytes, Infallible>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_recv(cx).map(|l| l.map(Ok))
    }
}
