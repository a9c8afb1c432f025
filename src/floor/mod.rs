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
    let f = floor.judge(case)?;
    let m = merchant.judge(case)?;
    Ok(layer(floor, merchant, f, m))
}

/// [`judge_layered`] with the merchant's table rows (for suite coverage).
pub(crate) fn judge_layered_rows(
    floor: &Program,
    merchant: &Program,
    case: &Case,
) -> Result<(Verdict, crate::eval::Rows), InputError> {
    let f = floor.judge(case)?;
    let (m, rows) = merchant.judge_rows(case)?;
    Ok((layer(floor, merchant, f, m), rows))
}

/// [`judge_layered`] with both layers' explanations: the merchant's, then
/// the floor's, its constructs marked as the floor's.
pub fn judge_layered_explained(
    floor: &Program,
    merchant: &Program,
    case: &Case,
) -> Result<(Verdict, Explanation), InputError> {
    let (f, fx) = floor.judge_explained(case)?;
    let (m, mut mx) = merchant.judge_explained(case)?;
    let floor_ships = f.shipping != "buyer";
    let v = layer(floor, merchant, f, m);
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
pub(crate) fn layer(floor: &Program, merchant: &Program, f: Verdict, mut m: Verdict) -> Verdict {
    for (line, fl) in m.lines.iter_mut().zip(&f.lines) {
        if !floor_decides(&f, fl) {
            add_floor_rules(line, fl);
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
    m.floor = Some(FloorPart {
        policy: floor.id.clone(),
        decision: f.decision,
        risk: f.risk,
        flags: f.flags,
    });
    m
}

fn add_floor_rules(line: &mut LineVerdict, fl: &LineVerdict) {
    line.rules.extend(fl.rules.iter().cloned().map(|mut r| {
        r.layer = Some("floor".into());
        r
    }));
}
