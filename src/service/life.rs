//! A return's life in the service (docs/language.md §15.4): after the
//! request, a person's review decision, the warehouse's inspection of each
//! line and the timer's timeouts each fold the return's verdict forward with
//! the same functions a backtest and `rpl judge` use; every new verdict is a
//! new entry of the decision log, and the return's queues follow it — the
//! review queue (due first), the timers (reviews with a timeout outcome), the
//! refunds due, and the restrictions it set on the customer.

use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::errors::ApiError;
use super::ingest::{self, Judged, raw, record_decision};
use super::live::Policies;
use super::store::{Decision, StoredReturn, Tables, micros, storage};
use crate::data::{InputError, ReviewDecision, Time};
use crate::{Verdict, review_due};

/// An entry of the review queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct QueuedReview {
    pub return_id: String,
    pub customer_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
    /// The earliest due time of its lines in review (RFC 3339).
    pub due: String,
    /// What a timeout decides (`null`: it waits for a person).
    pub on_timeout: Option<String>,
    /// The lines in review due then.
    pub lines: Vec<String>,
}

/// An approved line's refund not yet paid.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct DueRefund {
    pub return_id: String,
    pub sku: String,
    pub refund: String,
    pub currency: String,
    pub due: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merchant_id: Option<String>,
}

/// A restriction kept on a customer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct StoredRestriction {
    pub kind: String,
    pub since: Option<String>,
    pub until: String,
    pub because: Option<String>,
    /// The return whose verdict set it.
    pub return_id: String,
    /// When an admin lifted it: later requests no longer see it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifted_at: Option<String>,
}

fn rfc3339(t: Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

fn time_of(text: &str) -> Option<Time> {
    chrono::DateTime::parse_from_rfc3339(text).ok().map(|t| t.to_utc())
}

/// The return's verdict as it stands (its latest decision).
pub(super) fn current(t: &Tables, stored: &StoredReturn) -> Result<(Verdict, Decision), ApiError> {
    let id = stored.trail.last().copied().unwrap_or(stored.decision_id);
    let Some(d) = t.log.decisions.get(id).map_err(storage)? else {
        return Err(ApiError::storage(format!("decision {id} is missing")));
    };
    let d: Decision = serde_json::from_slice(d.value()).map_err(storage)?;
    let v: Verdict = serde_json::from_str(d.verdict.get()).map_err(storage)?;
    Ok((v, d))
}

pub(super) fn stored_return(t: &Tables, id: &str) -> Result<Option<StoredReturn>, ApiError> {
    let v = t.returns.get(id).map_err(storage)?;
    v.map(|v| serde_json::from_slice(v.value()).map_err(storage))
        .transpose()
}

fn unknown_return(id: &str) -> InputError {
    InputError::new(
        "return_id",
        format!("return \"{id}\" is unknown (never sent to this service, or forgotten)"),
    )
}

/// Files the return's queues from its verdict: its review (and timer), its
/// refunds due, and the restrictions it set beyond the first `set_before`.
pub(super) fn track(
    t: &mut Tables,
    return_id: &str,
    stored: &StoredReturn,
    v: &Verdict,
    set_before: usize,
) -> Result<(), ApiError> {
    // The review queue and the timers: the old entry out, the new one in.
    let Tables {
        review_of: of,
        reviews,
        timers,
        refunds_of,
        refunds,
        restrictions: kept,
        ..
    } = t;
    if let Some(old) = of.remove(return_id).map_err(storage)?.map(|v| v.value()) {
        reviews.remove((old, return_id)).map_err(storage)?;
        timers.remove((old, return_id)).map_err(storage)?;
    }
    if let Some(due) = review_due(v) {
        let at = micros(due.at);
        let entry = QueuedReview {
            return_id: return_id.to_string(),
            customer_id: stored.customer_id.clone(),
            merchant_id: stored.merchant_id.clone(),
            due: rfc3339(due.at),
            on_timeout: due.on_timeout.map(|o| o.as_str().to_string()),
            lines: due.lines,
        };
        let bytes = serde_json::to_vec(&entry).map_err(storage)?;
        reviews.insert((at, return_id), bytes.as_slice()).map_err(storage)?;
        if due.on_timeout.is_some() {
            timers.insert((at, return_id), ()).map_err(storage)?;
        }
        of.insert(return_id, at).map_err(storage)?;
    }
    // Refunds due: the lines approved with a due time, unless paid.
    let old: Vec<(i64, String)> = match refunds_of.get(return_id).map_err(storage)? {
        Some(v) => serde_json::from_slice(v.value()).map_err(storage)?,
        None => Vec::new(),
    };
    for (at, sku) in &old {
        refunds.remove((*at, return_id, sku.as_str())).map_err(storage)?;
    }
    let mut filed = Vec::new();
    if !stored.paid {
        for r in crate::refunds_due(v) {
            let at = micros(r.due);
            let entry = DueRefund {
                return_id: return_id.to_string(),
                sku: r.sku.clone(),
                refund: r.refund,
                currency: v.currency.to_string(),
                due: rfc3339(r.due),
                merchant_id: stored.merchant_id.clone(),
            };
            let bytes = serde_json::to_vec(&entry).map_err(storage)?;
            refunds
                .insert((at, return_id, r.sku.as_str()), bytes.as_slice())
                .map_err(storage)?;
            filed.push((at, r.sku));
        }
    }
    if filed.is_empty() {
        refunds_of.remove(return_id).map_err(storage)?;
    } else {
        let bytes = serde_json::to_vec(&filed).map_err(storage)?;
        refunds_of.insert(return_id, bytes.as_slice()).map_err(storage)?;
    }
    // The restrictions the verdict set since.
    for (i, r) in crate::restrictions_set(v).into_iter().enumerate().skip(set_before) {
        let since = r.since.map_or(i64::MIN, micros);
        let key = format!("{return_id}#{i}");
        let entry = StoredRestriction {
            kind: r.kind.clone(),
            since: r.since.map(rfc3339),
            until: rfc3339(r.until),
            because: r.because.clone(),
            return_id: return_id.to_string(),
            lifted_at: None,
        };
        let bytes = serde_json::to_vec(&entry).map_err(storage)?;
        kept.insert((stored.customer_id.as_str(), since, key.as_str()), bytes.as_slice())
            .map_err(storage)?;
    }
    Ok(())
}

/// The restrictions kept on `customer` that a request at `t` sees: set
/// strictly before it, not ended, not lifted by then — as `customer.restrictions`.
pub(super) fn restrictions_at(tx: &impl ingest::Reads, customer: &str, t: Time) -> Result<Vec<Value>, ApiError> {
    let mut out = Vec::new();
    for r in tx.restrictions(customer, micros(t))? {
        let visible =
            time_of(&r.until).is_some_and(|u| u > t) && r.lifted_at.as_deref().and_then(time_of).is_none_or(|l| l > t);
        if !visible {
            continue;
        }
        let mut o = json!({"kind": r.kind, "until": r.until});
        if let Some(since) = &r.since {
            o["since"] = json!(since);
        }
        if let Some(because) = &r.because {
            o["because"] = json!(because);
        }
        out.push(o);
    }
    Ok(out)
}

/// Logs the return's new verdict (`source`: what moved it), makes it the
/// current one and files its queues.
#[allow(clippy::too_many_arguments)]
fn record(
    t: &mut Tables,
    mut stored: StoredReturn,
    return_id: &str,
    before: &Verdict,
    after: &Verdict,
    source: &str,
    input: Box<RawValue>,
    now: &str,
) -> Result<Judged, ApiError> {
    let verdict = raw(after)?;
    let versions = (
        stored.floor_version,
        stored.merchant_id.as_deref(),
        stored.merchant_version,
    );
    let id = record_decision(
        &mut t.log,
        source,
        return_id,
        &stored.customer_id,
        versions,
        input,
        verdict.clone(),
        now,
    )?;
    stored.trail.push(id);
    track(t, return_id, &stored, after, before.restrictions.len())?;
    save(t, return_id, &stored)?;
    Ok(Judged {
        verdict,
        decision_id: id,
        decision: after.decision.to_string(),
        fresh: true,
    })
}

pub(super) fn save(t: &mut Tables, id: &str, stored: &StoredReturn) -> Result<(), ApiError> {
    t.returns
        .insert(id, serde_json::to_vec(stored).map_err(storage)?.as_slice())
        .map_err(storage)?;
    Ok(())
}

/// The return's verdict as of `at`, the time of a life event: the timer
/// runs on the service's clock and may have timed out a review whose due
/// time is after the event (a stream replayed from the past); the event
/// comes first, so those timeouts are set aside — the timer applies them
/// again after it if they are still due. The log keeps them, superseded.
fn as_of(t: &Tables, stored: &mut StoredReturn, at: Time) -> Result<Verdict, ApiError> {
    loop {
        let (v, d) = current(t, stored)?;
        let timed_out_later = d.source == "timeout"
            && v.reviews
                .iter()
                .rev()
                .find(|r| r.timed_out)
                .and_then(|r| time_of(&r.at))
                .is_some_and(|due| due >= at);
        if !timed_out_later || stored.trail.pop().is_none() {
            return Ok(v);
        }
    }
}

/// The stored return a life event names, and whether this very event was
/// applied to it already (a re-send: its current verdict answers).
fn target(t: &Tables, id: &str, hash: &str) -> Result<(StoredReturn, bool), ApiError> {
    let stored = stored_return(t, id)?.ok_or_else(|| ApiError::input(unknown_return(id)))?;
    let again = stored.life.iter().any(|h| h == hash);
    Ok((stored, again))
}

fn resent(t: &Tables, stored: &StoredReturn) -> Result<Judged, ApiError> {
    let (v, d) = current(t, stored)?;
    Ok(Judged {
        verdict: d.verdict,
        decision_id: d.decision_id,
        decision: v.decision.to_string(),
        fresh: false,
    })
}

/// A `review_decision` line: reviews due strictly before it time out, then
/// the person's decision settles what is still in review — as a backtest
/// replays it (a decision on nothing in review, or after the timeout
/// decided, leaves the verdict as it was, and is logged all the same).
pub(super) fn review_line(t: &mut Tables, line: &Value, text: &str, now: &str) -> Result<Judged, ApiError> {
    let crate::backtest::Event::ReviewDecision(e) = crate::backtest::parse_event(text).map_err(ApiError::input)? else {
        return Err(ApiError::input(InputError::new("event", "expected a review_decision")));
    };
    let hash = super::store::content_hash(line);
    let (mut stored, again) = target(t, &e.return_id, &hash)?;
    if again {
        return resent(t, &stored);
    }
    let at = e.at.to_utc();
    let v = as_of(t, &mut stored, at)?;
    before_request(&v, at)?;
    let timed = crate::eval::life::time_out_before(v.clone(), at);
    let next = crate::settle_review(&timed, &e.decision).unwrap_or(timed);
    stored.life.push(hash);
    let input = RawValue::from_string(text.to_string()).map_err(storage)?;
    record(t, stored, &e.return_id, &v, &next, "review_decision", input, now)
}

fn before_request(v: &Verdict, at: Time) -> Result<(), ApiError> {
    let requested = v.requested_at.as_deref().and_then(time_of);
    if requested.is_some_and(|r| at < r) {
        return Err(ApiError::input(InputError::new(
            "at",
            "before the return was requested",
        )));
    }
    Ok(())
}

/// An `inspection` line: the line's findings through the rules `at
/// inspection` of the policies that judged the request (the merchant's
/// version and the floor's), on the case rebuilt from the store as it was
/// at the request.
pub(super) fn inspection_line(
    t: &mut Tables,
    live: &Policies,
    line: &Value,
    text: &str,
    now: &str,
) -> Result<Judged, ApiError> {
    let crate::backtest::Event::Inspection(e) = crate::backtest::parse_event(text).map_err(ApiError::input)? else {
        return Err(ApiError::input(InputError::new("event", "expected an inspection")));
    };
    let hash = super::store::content_hash(line);
    let (mut stored, again) = target(t, &e.return_id, &hash)?;
    if again {
        return resent(t, &stored);
    }
    let v = as_of(t, &mut stored, e.at.to_utc())?;
    let first = {
        let d = t
            .log
            .decisions
            .get(stored.decision_id)
            .map_err(storage)?
            .ok_or_else(|| ApiError::storage(format!("return {} has lost its request", e.return_id)))?;
        let d: Decision = serde_json::from_slice(d.value()).map_err(storage)?;
        d.input
    };
    let request: Value = serde_json::from_str(first.get()).map_err(storage)?;
    let (mut case, _, _) = ingest::case_for(&*t, &request, None)?;
    let floor = live
        .floor
        .iter()
        .find(|f| f.version == stored.floor_version)
        .or_else(|| live.floor_at(micros(case.ret.requested_at)))
        .ok_or_else(ApiError::no_policy)?;
    let merchant = stored.merchant_id.as_deref().and_then(|m| {
        let versions = &live.merchants.get(m)?.versions;
        versions.iter().find(|x| Some(x.version) == stored.merchant_version)
    });
    let result = match merchant {
        Some(m) => crate::inspect(&m.program, Some(&floor.program), &mut case, v.clone(), &e.sku, e.found),
        None => crate::inspect(&floor.program, None, &mut case, v.clone(), &e.sku, e.found),
    };
    let next = result.map_err(|err| {
        let path = match &err {
            crate::InspectError::NoSuchLine(_) => "sku",
            crate::InspectError::BeforeRequest => "at",
            _ => "",
        };
        match err {
            crate::InspectError::Input(i) => ApiError::input(i),
            other => ApiError::input(InputError::new(path, other.to_string())),
        }
    })?;
    stored.life.push(hash);
    let input = RawValue::from_string(text.to_string()).map_err(storage)?;
    record(t, stored, &e.return_id, &v, &next, "inspection", input, now)
}

/// A person's decision through `POST /v1/reviews/{id}`: as a
/// `review_decision` line, but refused when nothing is in review or the
/// review timed out (the timer may not have run yet: it is timed out here).
pub(super) fn review_by_person(
    t: &mut Tables,
    return_id: &str,
    scope: Option<&str>,
    decision: &ReviewDecision,
    body: Box<RawValue>,
    now: &str,
) -> Result<Judged, ApiError> {
    let stored = stored_return(t, return_id)?
        .filter(|s| scope.is_none_or(|m| s.merchant_id.as_deref() == Some(m)))
        .ok_or_else(|| ApiError::not_found("no such return"))?;
    let (v, _) = current(t, &stored)?;
    let timed = crate::eval::life::time_out_before(v.clone(), decision.at);
    let next = crate::settle_review(&timed, decision).map_err(|e| {
        let code = match e {
            crate::SettleError::NothingInReview => "not_in_review",
            _ => "review_timed_out",
        };
        ApiError::new(axum::http::StatusCode::CONFLICT, code, e.to_string())
    })?;
    if timed != v {
        // The timeout came first: it is logged as such, then the decision.
        let stored = stored.clone();
        let input = raw(&json!({"timeout": true}))?;
        record(t, stored, return_id, &v, &timed, "timeout", input, now)?;
    }
    let stored = stored_return(t, return_id)?.ok_or_else(|| ApiError::not_found("no such return"))?;
    record(t, stored, return_id, &timed, &next, "review", body, now)
}

/// Times out every review due by `through` (at most `max`): each at its due
/// time, by its policy's outcome. Says how many.
pub(super) fn time_out(t: &mut Tables, through: Time, now: &str, max: usize) -> Result<Vec<Judged>, ApiError> {
    let due: Vec<String> = {
        let mut ids = Vec::new();
        for entry in t
            .timers
            .range(..=(micros(through), "\u{10ffff}"))
            .map_err(storage)?
            .take(max)
        {
            let (k, _) = entry.map_err(storage)?;
            ids.push(k.value().1.to_string());
        }
        ids
    };
    let mut out = Vec::new();
    for id in due {
        let Some(stored) = stored_return(t, &id)? else {
            continue;
        };
        let (v, _) = current(t, &stored)?;
        match crate::time_out_reviews(&v, through) {
            Some(next) => {
                let input = raw(&json!({"timeout": true, "through": rfc3339(through)}))?;
                out.push(record(t, stored, &id, &v, &next, "timeout", input, now)?);
            }
            // Nothing it can decide: out of the timers (a person will).
            None => {
                if let Some(at) = t.review_of.get(id.as_str()).map_err(storage)?.map(|v| v.value()) {
                    t.timers.remove((at, id.as_str())).map_err(storage)?;
                }
            }
        }
    }
    Ok(out)
}

/// Marks a return's refunds paid: they leave the list of refunds due.
pub(super) fn paid(t: &mut Tables, return_id: &str, scope: Option<&str>) -> Result<usize, ApiError> {
    let mut stored = stored_return(t, return_id)?
        .filter(|s| scope.is_none_or(|m| s.merchant_id.as_deref() == Some(m)))
        .ok_or_else(|| ApiError::not_found("no such return"))?;
    let old: Vec<(i64, String)> = match t.refunds_of.remove(return_id).map_err(storage)? {
        Some(v) => serde_json::from_slice(v.value()).map_err(storage)?,
        None => Vec::new(),
    };
    for (at, sku) in &old {
        t.refunds.remove((*at, return_id, sku.as_str())).map_err(storage)?;
    }
    stored.paid = true;
    save(t, return_id, &stored)?;
    Ok(old.len())
}

/// Lifts a customer's restrictions of `kind` in force at `at`; says how many.
pub(super) fn lift(t: &mut Tables, customer: &str, kind: &str, at: Time) -> Result<usize, ApiError> {
    let kept = &mut t.restrictions;
    let mut lifted = Vec::new();
    for entry in kept
        .range((customer, i64::MIN, "")..=(customer, i64::MAX, "\u{10ffff}"))
        .map_err(storage)?
    {
        let (k, v) = entry.map_err(storage)?;
        let mut r: StoredRestriction = serde_json::from_slice(v.value()).map_err(storage)?;
        let live = r.lifted_at.is_none() && time_of(&r.until).is_some_and(|u| u > at);
        if r.kind == kind && live {
            r.lifted_at = Some(rfc3339(at));
            let (c, s, key) = k.value();
            lifted.push(((c.to_string(), s, key.to_string()), r));
        }
    }
    for ((c, s, key), r) in &lifted {
        let bytes = serde_json::to_vec(r).map_err(storage)?;
        kept.insert((c.as_str(), *s, key.as_str()), bytes.as_slice())
            .map_err(storage)?;
    }
    Ok(lifted.len())
}
