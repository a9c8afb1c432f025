//! A platform floor under a merchant's policy (docs/language.md §14): both
//! judge the same case alone, and the floor's word stands where it speaks.
//!
//! - A line the floor **decides** (one of its approve, deny or review rules
//!   fired on it, or it could not be evaluated there) keeps the floor's
//!   decision: a floor `approve` is a guarantee no merchant deny or review
//!   takes away (the law's 7-day return); a floor `deny` or `review` (the
//!   abuse rules, buyer protections that want a person) stands over the
//!   merchant. A line the floor leaves undecided is the merchant's — the
//!   floor's `default` never decides a merchant's line.
//! - On a line the floor approves or sends to review, the refund is the
//!   merchant's when the merchant approves it too and gives at least as much,
//!   else the floor's: merchant deductions cannot take a guaranteed refund
//!   lower, and a merchant may always give more.
//! - The floor's shipping payer stands when it names anyone but the buyer
//!   (merchant-pays on merchant fault, `none` for refund-only); else the
//!   merchant's table decides.
//! - Each layer keeps its own flags and `risk`; the verdict is the
//!   merchant's policy's, with the floor's own part under `floor`, its rules
//!   on each line marked `"layer": "floor"`, and every line the floor changed
//!   listed in `overrides`.

mod witness;

pub use witness::{FloorOverride, floor_overrides, floor_warnings};

use rust_decimal::Decimal;

use crate::data::{Case, InputError};
use crate::eval::life::{self, Layer};
use crate::eval::{Explanation, FloorPart, LineVerdict, Override, Program, RuleHit, Verdict};

/// The failed-line message (an error sends a line to review); see `eval`.
fn failed_on(v: &Verdict, sku: &str) -> bool {
    v.errors.iter().any(|e| e.sku.as_deref().is_none_or(|s| s == sku))
}

/// The rule of `line` that decided it (the first with the line's decision),
/// if a rule did.
fn deciding_rule(line: &LineVerdict) -> Option<&RuleHit> {
    line.rules.iter().find(|r| r.effect == line.decision)
}

/// Whether the floor decided `line` of its verdict `v`.
fn floor_decides(v: &Verdict, line: &LineVerdict) -> bool {
    deciding_rule(line).is_some() || failed_on(v, &line.sku)
}

fn money(text: &str) -> Decimal {
    text.parse().unwrap_or(Decimal::ZERO)
}

/// Judges `case` by `merchant` on `floor`. Both must read the case (each
/// policy's declared words apply); the currencies are the same (checked when
/// the pair is loaded, see [`check_pair`]).
pub fn judge_layered(floor: &Program, merchant: &Program, case: &Case) -> Result<Verdict, InputError> {
    judge_layered_in(floor, merchant, case, true)
}

/// [`judge_layered`] by the tree walk alone: the reference the tests hold it to.
#[cfg(any(test, feature = "internals"))]
pub fn judge_layered_reference(floor: &Program, merchant: &Program, case: &Case) -> Result<Verdict, InputError> {
    judge_layered_in(floor, merchant, case, false)
}

fn judge_layered_in(floor: &Program, merchant: &Program, case: &Case, compiled: bool) -> Result<Verdict, InputError> {
    let (f, _, _) = floor.request_in(case, &[], false, compiled, false)?;
    let (m, _, _) = merchant.request_in(case, &[], false, compiled, false)?;
    let v = layer(floor, merchant, case, f, m);
    life::live(case, v, &layers(floor, merchant, &[], &[]), compiled, false).map(|(v, _)| v)
}

/// [`judge_layered`]'s fold of an inspection, for a service that stored a return's case and verdict:
/// the merchant's policy, and the floor it stands on if any. The case takes
/// the inspection, so that a second inspection of the same line is refused.
pub fn inspect(
    merchant: &Program,
    floor: Option<&Program>,
    case: &mut Case,
    verdict: Verdict,
    sku: &str,
    found: crate::data::Inspection,
) -> Result<Verdict, crate::eval::InspectError> {
    match floor {
        Some(f) => {
            let layers = layers(f, merchant, &[], &[]);
            life::inspect_in(case, verdict, sku, found, &layers, true)
        }
        None => {
            let layer = Layer {
                program: merchant,
                provided: &[],
                floor: false,
            };
            life::inspect_in(case, verdict, sku, found, &[layer], true)
        }
    }
}

/// The two policies a layered return's life runs through: the merchant's, then the floor's.
pub(crate) fn layers<'p>(
    floor: &'p Program,
    merchant: &'p Program,
    floor_provided: &'p [Option<crate::history::AggValue>],
    merchant_provided: &'p [Option<crate::history::AggValue>],
) -> [Layer<'p>; 2] {
    [
        Layer {
            program: merchant,
            provided: merchant_provided,
            floor: false,
        },
        Layer {
            program: floor,
            provided: floor_provided,
            floor: true,
        },
    ]
}

/// [`judge_layered`] with the merchant's table rows (for suite coverage).
pub(crate) fn judge_layered_rows(
    floor: &Program,
    merchant: &Program,
    case: &Case,
) -> Result<(Verdict, crate::eval::Rows), InputError> {
    let (f, _, _) = floor.request_in(case, &[], false, true, false)?;
    let (m, _, rows) = merchant.request_in(case, &[], false, true, true)?;
    let v = layer(floor, merchant, case, f, m);
    let (v, _) = life::live(case, v, &layers(floor, merchant, &[], &[]), true, false)?;
    Ok((v, rows))
}

/// [`judge_layered`] with both layers' explanations: the merchant's, then
/// the floor's, its constructs marked as the floor's.
pub fn judge_layered_explained(
    floor: &Program,
    merchant: &Program,
    case: &Case,
) -> Result<(Verdict, Explanation), InputError> {
    let (f, fx, _) = floor.request_in(case, &[], true, true, false)?;
    let (m, mut mx, _) = merchant.request_in(case, &[], true, true, false)?;
    let floor_ships = f.shipping != "buyer";
    let v = layer(floor, merchant, case, f, m);
    let (v, inspected) = life::live(case, v, &layers(floor, merchant, &[], &[]), true, true)?;
    for (line, rules) in mx.lines.iter_mut().zip(inspected) {
        line.inspection = rules;
    }
    for mut flag in fx.flags {
        flag.name = format!("floor: {}", flag.name);
        mx.flags.push(flag);
    }
    for (line, fl) in mx.lines.iter_mut().zip(fx.lines) {
        for mut rule in fl.rules {
            rule.name = format!("floor: {}", rule.name);
            line.rules.push(rule);
        }
    }
    // The floor's shipping row is the one that decided when it named anyone but the buyer.
    if let (Some(mut row), true) = (fx.shipping, floor_ships) {
        row.name = format!("floor: {}", row.name);
        mx.shipping = Some(row);
    }
    Ok((v, mx))
}

/// Checks that a floor and a merchant policy can stand together.
pub fn check_pair(floor: &Program, merchant: &Program) -> Result<(), String> {
    if floor.currency() != merchant.currency() {
        return Err(format!(
            "the floor is in {} and the merchant's policy in {}: they must share a currency",
            floor.currency(),
            merchant.currency()
        ));
    }
    Ok(())
}

/// The two verdicts made one.
pub(crate) fn layer(floor: &Program, merchant: &Program, case: &Case, f: Verdict, mut m: Verdict) -> Verdict {
    let floor_review = floor.ir.header.review.map(|d| {
        let due = life::after(case.ret.requested_at, d.seconds);
        (due, d.then)
    });
    let nothing_back = life::nothing_back(
        case,
        if f.shipping != "buyer" {
            &f.shipping
        } else {
            &m.shipping
        },
    );
    let floor_clock = floor.ir.header.refund.map(|l| life::clock(l, nothing_back));
    let merchant_clock = merchant.ir.header.refund.map(|l| life::clock(l, nothing_back));
    let merchant_failed: Vec<bool> = m.lines.iter().map(|l| failed_on(&m, &l.sku)).collect();
    for ((line, fl), merchant_failed) in m.lines.iter_mut().zip(&f.lines).zip(merchant_failed) {
        let failed = failed_on(&f, &fl.sku) || merchant_failed;
        if !floor_decides(&f, fl) {
            add_floor_rules(line, fl);
            floor_life(
                line,
                None,
                floor_review,
                floor_clock.as_ref(),
                merchant_clock.as_ref(),
                failed,
                case,
            );
            continue;
        }
        let from = line.decision.clone();
        let refund_from = line.refund.clone();
        let merchant_rule = deciding_rule(line).map(|r| r.rule.clone());
        let floor_rule = deciding_rule(fl).map(|r| r.rule.clone());
        let keep_merchant_refund = line.decision == "approve" && money(&line.refund) >= money(&fl.refund);
        match fl.decision.as_ref() {
            "deny" => {
                line.refund = merchant.money(Decimal::ZERO);
                line.deductions.clear();
            }
            _ if keep_merchant_refund => {}
            _ => {
                line.refund = fl.refund.clone();
                line.deductions = fl.deductions.clone();
            }
        }
        if line.decision != fl.decision {
            line.decision = fl.decision.clone();
            line.message = fl.message.clone();
        }
        add_floor_rules(line, fl);
        floor_life(
            line,
            Some(fl),
            floor_review,
            floor_clock.as_ref(),
            merchant_clock.as_ref(),
            failed,
            case,
        );
        if line.decision != from || line.refund != refund_from {
            let refund_changed = line.refund != refund_from;
            line.overrides.push(Override {
                merchant_rule,
                floor_rule,
                from,
                to: line.decision.clone(),
                refund_from: refund_changed.then_some(refund_from),
                refund_to: refund_changed.then(|| line.refund.clone()),
            });
        }
    }
    if f.shipping != "buyer" {
        m.shipping = f.shipping.clone();
    }
    // The request's decision and refund, from the lines that now stand.
    let (mut approved, mut denied, mut review, mut total) = (0, 0, 0, Decimal::ZERO);
    for line in &m.lines {
        match line.decision.as_ref() {
            "approve" => {
                approved += 1;
                total += money(&line.refund);
            }
            "deny" => denied += 1,
            _ => review += 1,
        }
    }
    let n = m.lines.len();
    m.decision = if review > 0 {
        "review"
    } else if approved == n {
        "approve"
    } else if denied == n {
        "deny"
    } else {
        "partial"
    }
    .into();
    m.refund = merchant.money(total);
    for mut e in f.errors {
        e.construct = format!("floor {}", e.construct);
        m.errors.push(e);
    }
    for mut r in f.restrictions {
        r.by = format!("floor {}", r.by);
        m.restrictions.push(r);
    }
    m.review_due = m
        .lines
        .iter()
        .filter(|l| l.decision == "review")
        .filter_map(|l| l.review_due.as_deref().and_then(|d| Some((life::read_time(d)?, d))))
        .min_by_key(|(t, _)| *t)
        .map(|(_, d)| d.to_string());
    let has_times = !m.restrictions.is_empty()
        || m.lines
            .iter()
            .any(|l| l.review_due.is_some() || l.refund_due.is_some() || l.refund_limit.is_some());
    m.requested_at = has_times.then(|| life::stamp(case.ret.requested_at, case.ret.offset));
    m.floor = Some(FloorPart {
        policy: floor.id.clone(),
        decision: f.decision,
        risk: f.risk,
        flags: f.flags,
    });
    m
}

/// A layered line's review deadline and refund clock: the deciding layer's
/// (`fl`, when the floor decided), and the floor's header's, which bounds
/// the merchant's: of two, the sooner review and the shorter refund limit win.
fn floor_life(
    line: &mut LineVerdict,
    fl: Option<&LineVerdict>,
    floor_review: Option<(crate::data::Time, crate::syntax::ast::Decision)>,
    floor_clock: Option<&crate::eval::RefundClock>,
    merchant_clock: Option<&crate::eval::RefundClock>,
    failed: bool,
    case: &Case,
) {
    let offset = case.ret.offset;
    let own_clock = line.refund_limit.take();
    if let Some(fl) = fl {
        line.review_due = fl.review_due.clone();
        line.on_timeout = fl.on_timeout.clone();
    }
    if line.decision != "review" {
        line.review_due = None;
        line.on_timeout = None;
    } else if fl.is_none()
        && let Some((due, then)) = floor_review
    {
        // The floor's header bounds the merchant's reviews; a review the
        // floor itself decided keeps its own rule's deadline.
        let own = line.review_due.as_deref().and_then(life::read_time).map(|t| t.to_utc());
        if own.is_none_or(|own| due < own) {
            line.review_due = Some(life::stamp(due, offset));
            line.on_timeout = (!failed).then(|| then.as_str().into());
        }
    }
    if failed {
        line.on_timeout = None;
    }
    if line.decision == "deny" {
        line.refund_due = None;
        line.refund_limit = None;
        return;
    }
    // The shortest of the limits that apply: the merchant's line's (or its
    // header's, when the floor decided a line the merchant denied), the
    // floor's line's, the floor's header's.
    let candidates = [
        own_clock,
        fl.and_then(|f| f.refund_limit.clone()),
        floor_clock.cloned(),
        merchant_clock.cloned(),
    ];
    let clock = candidates.into_iter().flatten().min_by_key(|c| c.seconds);
    line.refund_due = clock.as_ref().and_then(|c| {
        (line.decision == "approve" && c.of == "approval")
            .then(|| life::stamp(life::after(case.ret.requested_at, c.seconds), offset))
    });
    line.refund_limit = clock;
}

fn add_floor_rules(line: &mut LineVerdict, fl: &LineVerdict) {
    line.rules.extend(fl.rules.iter().cloned().map(|mut r| {
        r.layer = Some("floor".into());
        r
    }));
}
