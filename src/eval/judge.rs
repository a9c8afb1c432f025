//! docs/language.md §6 once: flags, shipping, every rule on every line, refunds and the
//! request's decision. What is kept of it is up to a [`Sink`]: the verdict
//! with its reasons, or nothing at all on the decision-only path.

use rust_decimal::Decimal;

use super::Program;
use super::value::{ErrKind, EvalError};
use super::walk::Frame;
use crate::ir::{Payer, Stage};
use crate::syntax::ast::Decision;

/// What failed, for the verdict's `errors`.
#[derive(Debug, Clone, Copy)]
pub(super) enum Construct {
    Flag(usize),
    Shipping,
    Rule(usize),
    Refund,
}

/// Why a line got its decision, for the text the customer is shown.
#[derive(Debug, Clone, Copy)]
pub(super) enum Because<'a> {
    /// The deciding rule (by index), and its message if it has one.
    Rule(usize, Option<&'a str>),
    /// No rule decided: the header's default.
    Default,
    /// Something failed: the line went to review.
    Failed,
}

/// Receives what the evaluation finds, in order. Every method does nothing
/// by default, so the decision-only path pays for nothing it does not keep.
pub(super) trait Sink<'a> {
    fn flag(&mut self, _f: &mut Frame<'a>, _flag: usize) {}
    fn shipping_row(&mut self, _f: &mut Frame<'a>, _row: usize) {}
    fn error(&mut self, _construct: Construct, _line: Option<usize>, _e: Option<EvalError>) {}
    fn rule(&mut self, _f: &mut Frame<'a>, _line: usize, _rule: usize) {}
    fn deduction(&mut self, _line: usize, _label: &'a str, _amount: Decimal) {}
    fn refund_row(&mut self, _f: &mut Frame<'a>, _line: usize, _row: usize, _value: Decimal) {}
    /// Who pays the return shipping, once decided (the buyer without a table).
    fn payer(&mut self, _payer: Payer) {}
    /// The line's decision; `failed` when something on it could not be evaluated.
    fn line(&mut self, _line: usize, _decision: Decision, _refund: Decimal, _because: Because<'a>, _failed: bool) {}
    /// At inspection: what the inspection rules decided on an inspected line
    /// (none decided when `decided` is `None`), what they deducted, and
    /// whether something failed.
    fn inspected(&mut self, _line: usize, _decided: Option<(Decision, usize)>, _deducted: Decimal, _failed: bool) {}
    /// The approved lines' refunds overflowed when added up: they went to review.
    fn total_overflowed(&mut self) {}
}

/// What the rules of one stage came to on a line.
struct LineRules<'a> {
    failed: bool,
    /// The most severe decision, its message, and the first rule that made it.
    decided: Option<(Decision, Option<&'a str>, usize)>,
    deducted: Decimal,
}

/// A sink that keeps nothing.
pub(super) struct Nothing;

impl Sink<'_> for Nothing {}

/// The decision on a request, without the reasons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RequestDecision {
    /// Every line is approved.
    Approve,
    /// Every line is denied.
    Deny,
    /// Some line is in review.
    Review,
    /// Some lines approved, some denied.
    Partial,
}

impl RequestDecision {
    /// The word the verdict uses for it.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestDecision::Approve => "approve",
            RequestDecision::Deny => "deny",
            RequestDecision::Review => "review",
            RequestDecision::Partial => "partial",
        }
    }
}

/// What the decision-only path returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Decided {
    /// The request's decision.
    pub decision: RequestDecision,
    /// The sum of the approved lines' refunds, rounded to the currency's minor unit.
    pub refund: Decimal,
    /// Who pays the return shipping.
    pub shipping: Payer,
    /// The sum of the fired flags' scores.
    pub risk: i64,
    /// Bit `i` is set when the `i`-th flag (in declaration order) fired; flags
    /// past the 64th are not recorded here (the verdict lists them all).
    pub flags: u64,
}

impl Program {
    /// Evaluates a case in `f`, telling `sink` what it finds.
    pub(super) fn evaluate<'a>(&'a self, f: &mut Frame<'a>, sink: &mut impl Sink<'a>) -> Decided {
        let mut request_failed = false;
        let mut risk: i64 = 0;
        let mut flags = 0u64;
        for (i, flag) in self.ir.flags.iter().enumerate() {
            f.begin_construct();
            match f.holds(flag.when, flag.unless) {
                Ok(true) => {
                    sink.flag(f, i);
                    f.set_fired(i);
                    if i < 64 {
                        flags |= 1 << i;
                    }
                    match risk.checked_add(flag.score) {
                        Some(r) => risk = r,
                        None => {
                            request_failed = true;
                            sink.error(Construct::Flag(i), None, None);
                        }
                    }
                }
                Ok(false) => {}
                Err(e) => {
                    request_failed = true;
                    sink.error(Construct::Flag(i), None, Some(e));
                }
            }
        }
        f.set_risk(risk);

        let mut shipping = Payer::Buyer;
        for (i, row) in self.ir.shipping.iter().enumerate() {
            f.begin_construct();
            match f.holds(row.guard, None) {
                Ok(true) => {
                    shipping = row.value;
                    sink.shipping_row(f, i);
                    break;
                }
                Ok(false) => {}
                Err(e) => {
                    request_failed = true;
                    sink.error(Construct::Shipping, None, Some(e));
                }
            }
        }

        sink.payer(shipping);

        let lines = f.lines();
        let (mut approved, mut denied, mut reviewed) = (0usize, 0usize, 0usize);
        let mut total = Some(Decimal::ZERO);
        for (l, line) in lines.iter().enumerate() {
            f.begin_line(line);
            let LineRules {
                mut failed,
                decided,
                deducted,
            } = self.line_rules(f, sink, l, Stage::Request, request_failed);
            let (base, base_failed) = self.base_refund(f, l, line.amount, sink);
            failed |= base_failed;
            let (mut decision, mut because) = match decided {
                Some((d, m, r)) => (d, Because::Rule(r, m)),
                None => (self.ir.header.default, Because::Default),
            };
            // A failed construct might have decided the line, so the default
            // no longer speaks for it: only a rule that fired may keep a deny.
            if failed && (decided.is_none() || decision < Decision::Review) {
                decision = Decision::Review;
                because = Because::Failed;
            }
            let refund = if decision == Decision::Deny {
                Decimal::ZERO
            } else {
                (base - deducted).max(Decimal::ZERO)
            };
            match decision {
                Decision::Approve => {
                    approved += 1;
                    total = total.and_then(|t| t.checked_add(refund));
                }
                Decision::Deny => denied += 1,
                Decision::Review => reviewed += 1,
            }
            sink.line(l, decision, refund, because, failed);
        }
        // Refunds too large to add up are an overflow like any other: the
        // approved lines go to review and nothing is paid out.
        let refund = match total {
            Some(t) => t,
            None => {
                sink.total_overflowed();
                reviewed += approved;
                approved = 0;
                Decimal::ZERO
            }
        };
        let n = lines.len();
        let decision = if approved == n {
            RequestDecision::Approve
        } else if denied == n {
            RequestDecision::Deny
        } else if reviewed > 0 {
            RequestDecision::Review
        } else {
            RequestDecision::Partial
        };
        Decided {
            decision,
            refund,
            shipping,
            risk,
            flags,
        }
    }

    /// The flags, for a stage after the request: `risk` and which fired, as
    /// the rules read them; whether one failed. Nothing is told to a sink:
    /// the request's verdict already lists them.
    fn flags_again(&self, f: &mut Frame<'_>) -> bool {
        let mut failed = false;
        let mut risk: i64 = 0;
        for (i, flag) in self.ir.flags.iter().enumerate() {
            f.begin_construct();
            match f.holds(flag.when, flag.unless) {
                Ok(true) => {
                    f.set_fired(i);
                    match risk.checked_add(flag.score) {
                        Some(r) => risk = r,
                        None => failed = true,
                    }
                }
                Ok(false) => {}
                Err(_) => failed = true,
            }
        }
        f.set_risk(risk);
        failed
    }

    /// The inspection stage: the rules `at inspection` on every inspected
    /// line (or only line `only`), each told to `sink` as the request's
    /// rules are, and then what they came to (`Sink::inspected`).
    pub(super) fn inspect<'a>(&'a self, f: &mut Frame<'a>, sink: &mut impl Sink<'a>) {
        let request_failed = self.flags_again(f);
        for (l, line) in f.lines().iter().enumerate() {
            if line.inspection.is_none() {
                continue;
            }
            f.begin_line(line);
            let r = self.line_rules(f, sink, l, Stage::Inspection, request_failed);
            sink.inspected(l, r.decided.map(|(d, _, i)| (d, i)), r.deducted, r.failed);
        }
    }

    /// Every rule of `stage` on line `l`: which fired (told to `sink`), the
    /// most severe decision among them and the first rule that made it, the
    /// deductions, and whether something failed (`failed` starts as given).
    fn line_rules<'a>(
        &'a self,
        f: &mut Frame<'a>,
        sink: &mut impl Sink<'a>,
        l: usize,
        stage: Stage,
        failed: bool,
    ) -> LineRules<'a> {
        let mut out = LineRules {
            failed,
            decided: None,
            deducted: Decimal::ZERO,
        };
        for (r, rule) in self.ir.rules.iter().enumerate() {
            if rule.stage != stage {
                continue;
            }
            f.begin_construct();
            match f.holds(rule.when, rule.unless) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    out.failed = true;
                    sink.error(Construct::Rule(r), Some(l), Some(e));
                    continue;
                }
            }
            sink.rule(f, l, r);
            if let Some((d, msg)) = &rule.decision
                && out.decided.is_none_or(|(cur, _, _)| *d > cur)
            {
                out.decided = Some((*d, msg.as_deref(), r));
            }
            for (amount, label) in &rule.deducts {
                let a = f.deduction(*amount).map(|a| self.round_minor(a)).and_then(|a| {
                    out.deducted.checked_add(a).map(|sum| (a, sum)).ok_or(EvalError {
                        node: *amount,
                        kind: ErrKind::Overflow,
                    })
                });
                match a {
                    Ok((a, sum)) => {
                        out.deducted = sum;
                        sink.deduction(l, label, a);
                    }
                    Err(e) => {
                        out.failed = true;
                        sink.error(Construct::Rule(r), Some(l), Some(e));
                    }
                }
            }
        }
        out
    }

    /// The line's refund before deductions: the first refund row that holds,
    /// or the item's amount, rounded to the currency's minor unit. Also
    /// whether something failed on the way.
    fn base_refund<'a>(
        &'a self,
        f: &mut Frame<'a>,
        line: usize,
        amount: Decimal,
        sink: &mut impl Sink<'a>,
    ) -> (Decimal, bool) {
        let mut failed = false;
        for (i, row) in self.ir.refund.iter().enumerate() {
            f.begin_construct();
            match f.holds(row.guard, None) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    failed = true;
                    sink.error(Construct::Refund, Some(line), Some(e));
                    continue;
                }
            }
            match f.deduction(row.value).map(|v| self.round_minor(v)) {
                Ok(v) => {
                    sink.refund_row(f, line, i, v);
                    return (v, failed);
                }
                Err(e) => {
                    sink.error(Construct::Refund, Some(line), Some(e));
                    return (self.round_minor(amount), true);
                }
            }
        }
        (self.round_minor(amount), failed)
    }
}
