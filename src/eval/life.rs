//! A return's life after the request (docs/language.md §16): reviews that a
//! person settles or that time out, the inspection of each line when the
//! goods come back, the refund's due time and the restrictions verdicts set.
//!
//! A verdict is folded forward, one event at a time, in time order: before
//! each event every review due strictly before it times out (at its due
//! time, by the policy's `then`); a person's decision settles every line in
//! review; an inspection runs the rules `at inspection` on its line and
//! keeps the most severe of the standing decision and theirs, less their
//! deductions. `rpl judge` folds the events a case carries, a backtest the
//! events of its stream, a service those it is sent — all with these
//! functions, so they agree.
//!
//! Settling a review needs only the verdict (it carries each line's due
//! time, timeout and refund limit), so a service can settle one it stored
//! without the policy; an inspection needs the policies, which run its rules.

use chrono::{DateTime, Datelike, FixedOffset, Utc};
use rust_decimal::Decimal;

use super::explain::FiredExplain;
use super::verdict::{Deduction, ErrorEntry, RefundClock, RequestPart, RestrictionHit, ReviewRecord, RuleHit, Verdict};
use super::{FAILED_LINE, Program, format_money};
use crate::data::{Case, InputError, ReviewDecision, ReviewOutcome, Time};
use crate::history::AggValue;
use crate::ir::{Anchor, RefundLimit, RestrictDef, ReviewDeadline};
use crate::syntax::ast::Decision;

/// `t` as RFC 3339 in `offset` (`Z` for UTC), as verdicts write times.
pub(crate) fn stamp(t: Time, offset: FixedOffset) -> String {
    t.with_timezone(&offset)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// `seconds` after `t`: a due time. Past the last instant RFC 3339 can
/// write (the end of 9999), the last instant: a due time is always written.
pub(crate) fn after(t: Time, seconds: i64) -> Time {
    let last = DateTime::<Utc>::from_naive_utc_and_offset(
        chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .unwrap_or_default(),
        Utc,
    ) - chrono::Duration::hours(14);
    chrono::Duration::try_seconds(seconds)
        .and_then(|d| t.checked_add_signed(d))
        .filter(|d| d.year() <= 9999 && *d <= last)
        .unwrap_or(last.max(t))
}

/// A time a verdict wrote, read back; `None` if it is not one.
pub(crate) fn read_time(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text).ok()
}

/// The offset the verdict's times are written in: the request's.
fn offset_of(v: &Verdict) -> FixedOffset {
    v.requested_at
        .as_deref()
        .and_then(read_time)
        .map_or_else(|| Utc.fix(), |t| *t.offset())
}

use chrono::Offset as _;

fn decision_of(word: &str) -> Decision {
    match word {
        "approve" => Decision::Approve,
        "deny" => Decision::Deny,
        _ => Decision::Review,
    }
}

/// The number of decimals a money string has.
fn digits(money: &str) -> u32 {
    money.split_once('.').map_or(0, |(_, f)| f.len() as u32)
}

fn parse_money(text: &str) -> Decimal {
    text.parse().unwrap_or(Decimal::ZERO)
}

/// The request's decision and refund, again, from the lines as they stand
/// now (docs/language.md §6.4). Approved refunds too large to add up go to
/// review, as at the request.
pub(crate) fn totals(v: &mut Verdict) {
    let places = digits(&v.refund);
    let mut total = Some(Decimal::ZERO);
    for line in v.lines.iter().filter(|l| l.decision == "approve") {
        total = total.and_then(|t| t.checked_add(parse_money(&line.refund)));
    }
    if total.is_none() {
        for line in v.lines.iter_mut().filter(|l| l.decision == "approve") {
            line.decision = "review".into();
            line.message = Some(FAILED_LINE.into());
            line.refund_due = None;
        }
        v.errors.push(ErrorEntry {
            construct: "refund".into(),
            sku: None,
            message: "the sum of the approved lines' refunds overflowed".into(),
        });
    }
    let n = v.lines.len();
    let count = |d: &str| v.lines.iter().filter(|l| l.decision == d).count();
    let (approved, denied, review) = (count("approve"), count("deny"), count("review"));
    v.decision = if review > 0 {
        "review"
    } else if approved == n {
        "approve"
    } else if denied == n {
        "deny"
    } else {
        "partial"
    }
    .into();
    v.refund = format_money(total.unwrap_or(Decimal::ZERO), places);
    v.review_due = earliest_due(v);
}

/// The earliest due time of a line in review.
fn earliest_due(v: &Verdict) -> Option<String> {
    v.lines
        .iter()
        .filter(|l| l.decision == "review")
        .filter_map(|l| l.review_due.as_deref().and_then(|d| Some((read_time(d)?, d))))
        .min_by_key(|(t, _)| *t)
        .map(|(_, d)| d.to_string())
}

/// Marks a verdict as following a later stage, linked to the request's.
fn next_stage(v: &mut Verdict, stage: &'static str) {
    if v.request.is_none() {
        v.request = Some(RequestPart {
            decision: v.decision.clone(),
            refund: v.refund.clone(),
        });
    }
    v.stage = Some(stage.into());
}

/// Why a review could not be settled.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettleError {
    /// No line of the verdict is in review.
    #[error("nothing is in review: the return's lines are decided")]
    NothingInReview,
    /// A line in review was due before the decision, and its timeout has decided it.
    #[error("the review was due at {due} and has timed out: its timeout decides it")]
    Overdue {
        /// The line's due time.
        due: String,
    },
}

/// Settles every line in review with a person's decision (docs/language.md
/// §16.2): approved lines keep the refund they showed and their refund
/// clock starts; denied lines refund nothing; the request's decision and
/// refund follow. The decision is recorded in `reviews`, with who made it
/// and why (the reason becomes the lines' message). A line whose due time
/// passed before the decision has timed out first (see [`time_out_reviews`]).
pub fn settle_review(v: &Verdict, d: &ReviewDecision) -> Result<Verdict, SettleError> {
    let open: Vec<usize> = (0..v.lines.len())
        .filter(|&i| v.lines[i].decision == "review")
        .collect();
    if open.is_empty() {
        return Err(SettleError::NothingInReview);
    }
    for &i in &open {
        let line = &v.lines[i];
        if line.on_timeout.is_some()
            && let Some(due) = line.review_due.as_deref()
            && read_time(due).is_some_and(|t| t < d.at)
        {
            return Err(SettleError::Overdue { due: due.to_string() });
        }
    }
    let mut v = v.clone();
    settle(&mut v, &open, d.decision, d.at, d.by.clone(), d.reason.clone(), false);
    Ok(v)
}

/// Every review due at or before `through` whose policy says what a
/// timeout decides, settled at its due time by that decision, earliest
/// first (docs/language.md §16.2); `None` when none is. A line the policy
/// could not evaluate has no timeout: it waits for a person.
pub fn time_out_reviews(v: &Verdict, through: Time) -> Option<Verdict> {
    let mut out = None;
    while let Some(next) = time_out_once(out.as_ref().unwrap_or(v), |due| due <= through) {
        out = Some(next);
    }
    out
}

/// The reviews due strictly before `t` timed out: what every event at `t` sees.
pub(crate) fn time_out_before(v: Verdict, t: Time) -> Verdict {
    let mut v = v;
    while let Some(next) = time_out_once(&v, |due| due < t) {
        v = next;
    }
    v
}

/// The earliest group of lines (same due time, same outcome) that timed out, settled.
fn time_out_once(v: &Verdict, due_by: impl Fn(Time) -> bool) -> Option<Verdict> {
    let due_of = |i: usize| {
        let line = &v.lines[i];
        let outcome = match line.on_timeout.as_deref()? {
            "approve" => ReviewOutcome::Approve,
            "deny" => ReviewOutcome::Deny,
            _ => return None,
        };
        let due = read_time(line.review_due.as_deref()?)?.to_utc();
        (line.decision == "review" && due_by(due)).then_some((due, outcome))
    };
    let (due, outcome) = (0..v.lines.len())
        .filter_map(due_of)
        .min_by_key(|(d, o)| (*d, o.as_str()))?;
    let lines: Vec<usize> = (0..v.lines.len())
        .filter(|&i| due_of(i) == Some((due, outcome)))
        .collect();
    let mut v = v.clone();
    settle(&mut v, &lines, outcome, due, None, None, true);
    Some(v)
}

/// Settles `lines` (in review) with `decision` at `at`.
fn settle(
    v: &mut Verdict,
    lines: &[usize],
    decision: ReviewOutcome,
    at: Time,
    by: Option<String>,
    reason: Option<String>,
    timed_out: bool,
) {
    next_stage(v, "review");
    let offset = offset_of(v);
    let mut skus = Vec::with_capacity(lines.len());
    for &i in lines {
        let line = &mut v.lines[i];
        skus.push(line.sku.clone());
        line.review_due = None;
        line.on_timeout = None;
        line.decision = decision.as_str().into();
        if let Some(reason) = &reason {
            line.message = Some(reason.clone());
        }
        match decision {
            ReviewOutcome::Approve => {
                line.refund_due = line.refund_limit.as_ref().and_then(|clock| {
                    let from = match clock.of.as_ref() {
                        "inspection" => {
                            let inspected = read_time(line.inspected_at.as_deref()?)?.to_utc();
                            inspected.max(at)
                        }
                        _ => at,
                    };
                    Some(stamp(after(from, clock.seconds), offset))
                });
            }
            ReviewOutcome::Deny => {
                line.refund = format_money(Decimal::ZERO, digits(&line.refund));
                line.refund_due = None;
                line.refund_limit = None;
            }
        }
    }
    v.reviews.push(ReviewRecord {
        at: stamp(at, offset),
        decision: decision.as_str().into(),
        by,
        reason,
        timed_out,
        lines: skus,
    });
    totals(v);
}

/// A policy the return's life runs through: the merchant's, or the floor's
/// beneath it, with the aggregates a backtest already knew at the request.
#[derive(Clone, Copy)]
pub(crate) struct Layer<'p> {
    pub program: &'p Program,
    pub provided: &'p [Option<AggValue>],
    pub floor: bool,
}

/// What one policy's rules `at inspection` came to on one inspected line.
#[derive(Debug, Clone, Default)]
pub(crate) struct LineEffects {
    /// The most severe decision among them, its message, and its deadline
    /// when it is a review (the rule's, else the header's).
    pub decision: Option<(Decision, Option<String>, Option<ReviewDeadline>)>,
    /// Something on the line could not be evaluated: it is never approved.
    pub failed: bool,
    pub deducted: Decimal,
    pub deductions: Vec<Deduction>,
    pub rules: Vec<RuleHit>,
    pub errors: Vec<ErrorEntry>,
    /// Restrictions the fired rules set: what, for how long, why, by what.
    pub restricts: Vec<(RestrictDef, String, String)>,
    /// The explanation of each rule that fired, when asked for.
    pub explained: Vec<FiredExplain>,
}

/// The review deadline that wins between two: the shorter (on a floor, the
/// floor's deadline applies to every line, and the shorter of the two wins).
pub(crate) fn shorter(a: Option<ReviewDeadline>, b: Option<ReviewDeadline>) -> Option<ReviewDeadline> {
    match (a, b) {
        (Some(a), Some(b)) => Some(if b.seconds < a.seconds { b } else { a }),
        (a, b) => a.or(b),
    }
}

/// Folds the case's life events (its inspections and the review decisions
/// it records, in time order) into `v`, the request's verdict, through
/// `layers` (the merchant's policy first). Also the explanation of the
/// inspection rules that fired, per line, when `explain`.
pub(crate) fn live(
    case: &Case,
    mut v: Verdict,
    layers: &[Layer<'_>],
    compiled: bool,
    explain: bool,
) -> Result<(Verdict, Vec<Vec<FiredExplain>>), InputError> {
    let mut explained = Vec::new();
    let inspected = case.ret.items.iter().any(|l| l.inspection.is_some());
    if !inspected && case.ret.reviews.is_empty() {
        return Ok((v, explained));
    }
    let mut effects = Vec::with_capacity(layers.len());
    if inspected {
        for layer in layers {
            effects.push(
                layer
                    .program
                    .inspection_effects(case, layer.provided, explain, compiled, layer.floor)?,
            );
        }
    }
    // In time order; at one instant, inspections first: a person who decides
    // at the moment the goods are inspected has seen them.
    let mut events: Vec<(Time, u8, usize)> = Vec::new();
    for (l, line) in case.ret.items.iter().enumerate() {
        if let Some(found) = &line.inspection {
            events.push((found.at, 0, l));
        }
    }
    for (i, r) in case.ret.reviews.iter().enumerate() {
        events.push((r.at, 1, i));
    }
    events.sort_by_key(|e| (e.0, e.1));
    for (at, kind, i) in events {
        v = time_out_before(v, at);
        if kind == 1 {
            let d = &case.ret.reviews[i];
            v = settle_review(&v, d).map_err(|e| InputError::new(format!("return.reviews[{i}]"), e.to_string()))?;
        } else {
            let per_layer: Vec<&LineEffects> = effects.iter().filter_map(|e| e.get(i)?.as_ref()).collect();
            v = inspect_line(v, case, i, at, &per_layer, layers);
        }
    }
    if explain {
        explained = (0..case.ret.items.len())
            .map(|l| {
                effects
                    .iter()
                    .filter_map(|e| e.get(l)?.as_ref())
                    .flat_map(|e| e.explained.iter().cloned())
                    .collect()
            })
            .collect();
    }
    Ok((v, explained))
}

/// Whether the request sends nothing back (refund only, or nobody pays a
/// parcel): then nothing is inspected, and a refund counts from its approval.
pub(crate) fn nothing_back(case: &Case, shipping: &str) -> bool {
    case.ret.kind == "refund_only" || shipping == "none"
}

/// The refund clock of an approved or reviewed line under `limit`.
pub(crate) fn clock(limit: RefundLimit, nothing_back: bool) -> RefundClock {
    let of = match (limit.of, nothing_back) {
        (Anchor::Inspection, false) => Anchor::Inspection,
        _ => Anchor::Approval,
    };
    RefundClock {
        seconds: limit.seconds,
        of: of.as_str().into(),
    }
}

/// Line `l` inspected at `at`: the effects of each layer's rules `at
/// inspection` on the line as it stands.
fn inspect_line(
    mut v: Verdict,
    case: &Case,
    l: usize,
    at: Time,
    effects: &[&LineEffects],
    layers: &[Layer<'_>],
) -> Verdict {
    let offset = case.ret.offset;
    next_stage(&mut v, "inspection");
    let Some(line) = v.lines.get_mut(l) else {
        return v;
    };
    line.inspected_at = Some(stamp(at, offset));
    let standing = decision_of(&line.decision);
    let mut failed = false;
    let mut deducted = Decimal::ZERO;
    let mut decided: Option<(Decision, Option<String>, Option<ReviewDeadline>)> = None;
    for e in effects {
        line.rules.extend(e.rules.iter().cloned());
        line.deductions.extend(e.deductions.iter().cloned());
        v.errors.extend(e.errors.iter().cloned());
        failed |= e.failed;
        deducted = deducted.checked_add(e.deducted).unwrap_or(Decimal::MAX);
        if let Some((d, m, dl)) = &e.decision
            && decided.as_ref().is_none_or(|(cur, _, _)| d > cur)
        {
            decided = Some((*d, m.clone(), *dl));
        }
        for (r, because, by) in &e.restricts {
            v.restrictions.push(RestrictionHit {
                kind: r.kind.into(),
                since: stamp(at, offset),
                until: stamp(after(at, r.seconds), offset),
                because: because.clone(),
                by: by.clone(),
            });
        }
    }
    let line = &mut v.lines[l];
    let mut decision = standing.max(decided.as_ref().map_or(Decision::Approve, |d| d.0));
    let mut message = decided.as_ref().and_then(|d| d.1.clone());
    if failed && decision < Decision::Review {
        decision = Decision::Review;
        message = Some(FAILED_LINE.into());
    }
    let places = digits(&line.refund);
    let refund = if decision == Decision::Deny {
        Decimal::ZERO
    } else {
        (parse_money(&line.refund) - deducted).max(Decimal::ZERO)
    };
    line.refund = format_money(refund, places);
    if decision != standing {
        line.decision = decision.as_str().into();
        line.message = message;
        line.refund_due = None;
        match decision {
            Decision::Deny => {
                line.review_due = None;
                line.on_timeout = None;
                line.refund_limit = None;
            }
            _ => {
                // Sent to review by this inspection: its clock starts now.
                let merchant = layers.first().and_then(|m| m.program.ir.header.review);
                let floor = layers.iter().find(|x| x.floor).and_then(|f| f.program.ir.header.review);
                let own = decided.as_ref().and_then(|d| d.2).or(merchant);
                if let Some(dl) = shorter(own, floor) {
                    line.review_due = Some(stamp(after(at, dl.seconds), offset));
                    line.on_timeout = (!failed).then(|| dl.then.as_str().into());
                }
            }
        }
    } else if decision == Decision::Approve
        && let Some(clock) = &line.refund_limit
        && clock.of == "inspection"
    {
        line.refund_due = Some(stamp(after(at, clock.seconds), offset));
    }
    totals(&mut v);
    v
}

/// Why an inspection could not be applied to a verdict.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The return has no line of that sku.
    #[error("the return has no line \"{0}\"")]
    NoSuchLine(String),
    /// The line was inspected already.
    #[error("line \"{sku}\" was inspected already, at {at}")]
    Again {
        /// The line's sku.
        sku: String,
        /// When it was inspected.
        at: String,
    },
    /// The inspection is dated before the return was asked for.
    #[error("the inspection is before the return was requested")]
    BeforeRequest,
    /// The case breaks what a policy's words allow (a condition no `values` declares).
    #[error(transparent)]
    Input(#[from] InputError),
}

/// Applies one line's inspection to `v` (the return's verdict as it stands):
/// reviews due strictly before it time out first, then the rules `at
/// inspection` of each layer run on the line, as `rpl judge` folds an
/// inspection the case carries (docs/language.md §16.3). `case` is the case
/// as judged at the request; it takes the inspection on its line.
pub(crate) fn inspect_in(
    case: &mut Case,
    v: Verdict,
    sku: &str,
    found: crate::data::Inspection,
    layers: &[Layer<'_>],
    compiled: bool,
) -> Result<Verdict, InspectError> {
    let l = case
        .ret
        .items
        .iter()
        .position(|line| line.sku == sku)
        .ok_or_else(|| InspectError::NoSuchLine(sku.to_string()))?;
    if found.at < case.ret.requested_at {
        return Err(InspectError::BeforeRequest);
    }
    if let Some(before) = v.lines.get(l).and_then(|line| line.inspected_at.clone()) {
        return Err(InspectError::Again {
            sku: sku.to_string(),
            at: before,
        });
    }
    let at = found.at;
    let v = time_out_before(v, at);
    let previous = case.ret.items[l].inspection.replace(found);
    let mut effects = Vec::with_capacity(layers.len());
    for layer in layers {
        match layer
            .program
            .inspection_effects(case, layer.provided, false, compiled, layer.floor)
        {
            Ok(mut e) => effects.push(e.get_mut(l).and_then(Option::take)),
            Err(e) => {
                case.ret.items[l].inspection = previous;
                return Err(e.into());
            }
        }
    }
    let per_layer: Vec<&LineEffects> = effects.iter().flatten().collect();
    Ok(inspect_line(v, case, l, at, &per_layer, layers))
}

/// When the earliest line in review is due, and what the policy says a
/// timeout decides on it: what a review queue sorts by and a timer acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReviewDue {
    /// The due time.
    pub at: Time,
    /// What the lines due then become if nobody decides (`None`: a line
    /// the policy could not evaluate waits for a person).
    pub on_timeout: Option<ReviewOutcome>,
    /// The skus of the lines in review due then.
    pub lines: Vec<String>,
}

/// The verdict's next review deadline, if a line is in review and has one.
pub fn review_due(v: &Verdict) -> Option<ReviewDue> {
    let due: Vec<(Time, Option<ReviewOutcome>, &str)> = v
        .lines
        .iter()
        .filter(|l| l.decision == "review")
        .filter_map(|l| {
            let at = read_time(l.review_due.as_deref()?)?.to_utc();
            let outcome = match l.on_timeout.as_deref() {
                Some("approve") => Some(ReviewOutcome::Approve),
                Some("deny") => Some(ReviewOutcome::Deny),
                _ => None,
            };
            Some((at, outcome, l.sku.as_str()))
        })
        .collect();
    let (at, on_timeout, _) = *due.iter().min_by_key(|(t, o, _)| (*t, o.map(ReviewOutcome::as_str)))?;
    Some(ReviewDue {
        at,
        on_timeout,
        lines: due
            .iter()
            .filter(|(t, o, _)| *t == at && *o == on_timeout)
            .map(|(_, _, s)| s.to_string())
            .collect(),
    })
}

/// An approved line's refund, and when it is due.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundDue {
    /// The line's sku.
    pub sku: String,
    /// Its refund, in the verdict's currency.
    pub refund: String,
    /// When it is due.
    pub due: Time,
}

/// Every approved line whose refund's due time is known, soonest first.
pub fn refunds_due(v: &Verdict) -> Vec<RefundDue> {
    let mut out: Vec<RefundDue> = v
        .lines
        .iter()
        .filter(|l| l.decision == "approve")
        .filter_map(|l| {
            Some(RefundDue {
                sku: l.sku.clone(),
                refund: l.refund.clone(),
                due: read_time(l.refund_due.as_deref()?)?.to_utc(),
            })
        })
        .collect();
    out.sort_by_key(|r| r.due);
    out
}

/// The restrictions a verdict sets, as records to keep on the customer
/// (`customer.restrictions` of the customer's later cases).
pub fn restrictions_set(v: &Verdict) -> Vec<crate::data::Restriction> {
    v.restrictions
        .iter()
        .filter_map(|r| {
            Some(crate::data::Restriction::new(
                &r.kind,
                read_time(&r.since).map(|t| t.to_utc()),
                read_time(&r.until)?.to_utc(),
                Some(r.because.clone()),
            ))
        })
        .collect()
}
