//! Program + case -> verdict (SPEC §6). Flags once per request, then every rule
//! on every returned line; errors never approve.

mod explain;
mod frame;
mod value;
mod verdict;

pub use explain::{Explanation, FiredExplain, LineExplain, render_explanation};
pub use value::{ErrKind, EvalError, Value};
pub use verdict::{Deduction, ErrorEntry, FlagHit, LineVerdict, RuleHit, Verdict};

use rust_decimal::{Decimal, RoundingStrategy};

use crate::check::Program;
use crate::check::program::{AggDef, Payer, PolicyTz};
use crate::data::{Case, InputError};
use crate::history::{AggValue, Event};
use crate::syntax::ast::Decision;
use frame::Frame;

/// The message of a line decided review because something on it failed.
const FAILED_LINE: &str = "The policy could not be evaluated on this line; a person will look at it";

impl Program {
    /// Judges one case.
    pub fn judge(&self, case: &Case) -> Result<Verdict, InputError> {
        self.run(case, &[], false).map(|(v, _)| v)
    }

    /// Judges one case with some aggregates already known (by index into
    /// [`Program::aggregates`]); the rest are computed from the case's history.
    /// This is how a backtest uses the windows it keeps up to date.
    pub fn judge_with(&self, case: &Case, provided: &[Option<AggValue>]) -> Result<Verdict, InputError> {
        self.run(case, provided, false).map(|(v, _)| v)
    }

    /// The aggregates the policy reads, in the order `judge_with` takes them.
    pub fn aggregates(&self) -> &[AggDef] {
        &self.aggs
    }

    /// Whether `event` passes the `where` of aggregate `agg`. Only for
    /// aggregates whose filter reads nothing but the event (`event_only`).
    pub fn event_passes(&self, agg: usize, event: Event<'_>) -> Result<bool, EvalError> {
        match self.aggs.get(agg).and_then(|a| a.filter) {
            Some(filter) => Frame::for_event(self, event).test(filter),
            None => Ok(true),
        }
    }

    /// Judges one case and records, for each flag, rule and table row that
    /// applied, the values that made it apply.
    pub fn judge_explained(&self, case: &Case) -> Result<(Verdict, Explanation), InputError> {
        self.run(case, &[], true)
    }

    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    pub fn flag_names(&self) -> impl Iterator<Item = &str> {
        self.flags.iter().map(|f| f.name.as_str())
    }

    /// Digits after the decimal point of the policy's currency.
    pub fn minor_units(&self) -> u32 {
        self.header.minor_units
    }

    pub fn currency(&self) -> &str {
        &self.header.currency
    }

    pub fn title(&self) -> &str {
        &self.header.title
    }

    pub fn timezone(&self) -> PolicyTz {
        self.header.timezone
    }

    fn run(
        &self,
        case: &Case,
        provided: &[Option<AggValue>],
        explain: bool,
    ) -> Result<(Verdict, Explanation), InputError> {
        if case.order.currency != self.header.currency {
            return Err(InputError {
                path: "order.currency".into(),
                message: format!(
                    "\"{}\" is not the policy's currency \"{}\"",
                    case.order.currency, self.header.currency
                ),
            });
        }
        let mut f = Frame::new(self, case, provided, explain);
        let mut out = Explanation::default();
        let mut errors: Vec<ErrorEntry> = Vec::new();
        let mut request_failed = false;

        // Flags, once per request.
        let mut flags = Vec::new();
        let mut risk: i64 = 0;
        for flag in &self.flags {
            f.begin_construct();
            match f.holds(flag.when, flag.unless) {
                Ok(true) => {
                    if explain {
                        out.flags
                            .push(f.explain_fired(&flag.name, "flag", flag.when, flag.unless));
                    }
                    match risk.checked_add(flag.score) {
                        Some(r) => risk = r,
                        None => {
                            request_failed = true;
                            errors.push(self.error_entry(format!("flag {}", flag.name), None, None));
                        }
                    }
                    flags.push(FlagHit {
                        name: flag.name.clone(),
                        score: flag.score,
                        note: flag.note.clone(),
                    });
                }
                Ok(false) => {}
                Err(e) => {
                    request_failed = true;
                    errors.push(self.error_entry(format!("flag {}", flag.name), None, Some(e)));
                }
            }
        }
        f.set_risk(risk);

        // Shipping, once per request, after the flags.
        let mut shipping = Payer::Buyer;
        for (i, row) in self.shipping.iter().enumerate() {
            f.begin_construct();
            match f.holds(row.guard, None) {
                Ok(true) => {
                    shipping = row.value;
                    if explain {
                        out.shipping = Some(f.explain_row(i, row.value.as_str(), row.guard));
                    }
                    break;
                }
                Ok(false) => {}
                Err(e) => {
                    request_failed = true;
                    errors.push(self.error_entry("shipping".into(), None, Some(e)));
                }
            }
        }

        // Every rule on every line.
        let mut lines = Vec::with_capacity(case.ret.items.len());
        for line in &case.ret.items {
            f.begin_line(line);
            let mut line_failed = request_failed;
            let mut fired = Vec::new();
            let mut decided: Option<(Decision, Option<&str>)> = None;
            let mut deductions = Vec::new();
            let mut deducted = Decimal::ZERO;
            let mut line_explain = LineExplain {
                sku: line.sku.clone(),
                ..LineExplain::default()
            };
            for rule in &self.rules {
                f.begin_construct();
                let construct = || format!("rule {}", rule.name);
                match f.holds(rule.when, rule.unless) {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        line_failed = true;
                        errors.push(self.error_entry(construct(), Some(&line.sku), Some(e)));
                        continue;
                    }
                }
                if explain {
                    line_explain
                        .rules
                        .push(f.explain_fired(&rule.name, "rule", rule.when, rule.unless));
                }
                if let Some((d, msg)) = &rule.decision
                    && decided.is_none_or(|(cur, _)| *d > cur)
                {
                    decided = Some((*d, msg.as_deref()));
                }
                for (amount, label) in &rule.deducts {
                    match f.deduction(*amount).map(|a| self.round_minor(a)) {
                        Ok(a) => match deducted.checked_add(a) {
                            Some(sum) => {
                                deducted = sum;
                                deductions.push(Deduction {
                                    label: label.clone(),
                                    amount: self.money(a),
                                });
                            }
                            None => {
                                line_failed = true;
                                let e = EvalError {
                                    node: *amount,
                                    kind: ErrKind::Overflow,
                                };
                                errors.push(self.error_entry(construct(), Some(&line.sku), Some(e)));
                            }
                        },
                        Err(e) => {
                            line_failed = true;
                            errors.push(self.error_entry(construct(), Some(&line.sku), Some(e)));
                        }
                    }
                }
                fired.push(RuleHit {
                    rule: rule.name.clone(),
                    effect: rule.decision.as_ref().map_or("deduct", |(d, _)| d.as_str()).to_string(),
                    message: rule.decision.as_ref().and_then(|(_, m)| m.clone()),
                });
            }
            let (base, base_failed) = self.base_refund(&mut f, line, &mut errors, &mut line_explain);
            line_failed |= base_failed;
            let (mut decision, mut message) = match decided {
                Some((d, m)) => (d, m.map(str::to_string)),
                None => (self.header.default, self.header.default_message.clone()),
            };
            // A failed construct might have decided the line, so the default
            // no longer speaks for it: only a rule that fired may keep a deny.
            if line_failed && (decided.is_none() || decision < Decision::Review) {
                decision = Decision::Review;
                message = Some(FAILED_LINE.into());
            }
            let refund = if decision == Decision::Deny {
                Decimal::ZERO
            } else {
                (base - deducted).max(Decimal::ZERO)
            };
            lines.push((decision, refund, message, deductions, fired));
            out.lines.push(line_explain);
        }

        let mut total = Some(Decimal::ZERO);
        for (d, refund, ..) in &lines {
            if *d == Decision::Approve {
                total = total.and_then(|t| t.checked_add(*refund));
            }
        }
        // Refunds too large to add up are an overflow like any other: the
        // approved lines go to review and nothing is paid out.
        let total = total.unwrap_or_else(|| {
            errors.push(ErrorEntry {
                construct: "refund".into(),
                sku: None,
                message: "the sum of the approved lines' refunds overflowed".into(),
            });
            for line in lines.iter_mut().filter(|l| l.0 == Decision::Approve) {
                line.0 = Decision::Review;
                line.2 = Some(FAILED_LINE.into());
            }
            Decimal::ZERO
        });
        let decisions: Vec<Decision> = lines.iter().map(|l| l.0).collect();
        let decision = if decisions.iter().all(|d| *d == Decision::Approve) {
            "approve"
        } else if decisions.iter().all(|d| *d == Decision::Deny) {
            "deny"
        } else if decisions.contains(&Decision::Review) {
            "review"
        } else {
            "partial"
        };
        let verdict = Verdict {
            return_id: case.ret.id.clone(),
            decision: decision.to_string(),
            refund: self.money(total),
            currency: self.header.currency.clone(),
            shipping: shipping.as_str().to_string(),
            risk,
            flags,
            lines: case
                .ret
                .items
                .iter()
                .zip(lines)
                .map(|(line, (d, refund, message, deductions, rules))| LineVerdict {
                    sku: line.sku.clone(),
                    decision: d.as_str().to_string(),
                    refund: self.money(refund),
                    message,
                    deductions,
                    rules,
                })
                .collect(),
            errors,
        };
        Ok((verdict, out))
    }

    /// The line's refund before deductions: the first refund row that holds,
    /// or the item's amount. Rounded to the currency's minor unit.
    fn base_refund(
        &self,
        f: &mut Frame<'_>,
        line: &crate::data::ReturnLine,
        errors: &mut Vec<ErrorEntry>,
        explain: &mut LineExplain,
    ) -> (Decimal, bool) {
        let mut failed = false;
        for (i, row) in self.refund.iter().enumerate() {
            f.begin_construct();
            match f.holds(row.guard, None) {
                Ok(true) => {}
                Ok(false) => continue,
                Err(e) => {
                    failed = true;
                    errors.push(self.error_entry("refund".into(), Some(&line.sku), Some(e)));
                    continue;
                }
            }
            match f.deduction(row.value).map(|v| self.round_minor(v)) {
                Ok(v) => {
                    if f.explaining() {
                        explain.refund = Some(f.explain_row(i, &self.money(v), row.guard));
                    }
                    return (v, failed);
                }
                Err(e) => {
                    errors.push(self.error_entry("refund".into(), Some(&line.sku), Some(e)));
                    return (self.round_minor(line.amount), true);
                }
            }
        }
        (self.round_minor(line.amount), failed)
    }

    fn round_minor(&self, d: Decimal) -> Decimal {
        d.round_dp_with_strategy(self.header.minor_units, RoundingStrategy::MidpointAwayFromZero)
    }

    /// An amount as the verdict prints it: exactly the currency's minor digits
    /// (padded as text where `Decimal` cannot hold that scale), never `-0.00`.
    pub(crate) fn money(&self, d: Decimal) -> String {
        let d = self.round_minor(d);
        let d = if d.is_zero() { Decimal::ZERO } else { d };
        format!("{:.*}", self.header.minor_units as usize, d)
    }

    fn error_entry(&self, construct: String, sku: Option<&str>, e: Option<EvalError>) -> ErrorEntry {
        let message = match e {
            Some(e) => self.describe_error(e),
            None => "the sum of the flags' scores overflowed".into(),
        };
        ErrorEntry {
            construct,
            sku: sku.map(str::to_string),
            message,
        }
    }

    /// Says what failed, where, in words.
    pub(crate) fn describe_error(&self, e: EvalError) -> String {
        let span = self.spans.get(e.node as usize).copied().unwrap_or_default();
        let text = explain::one_line(self.source.get(span.range()).unwrap_or("?"));
        let (line, col) = crate::diag::line_col(&self.source, span.start as usize);
        let what = match e.kind {
            ErrKind::Missing => format!("`{text}` is missing"),
            ErrKind::Type { wanted, found } => {
                format!("`{text}` needs {wanted}, but the case holds {found}")
            }
            ErrKind::Mismatch { left, right } => format!("`{text}` compares {left} with {right}"),
            ErrKind::Overflow => format!("`{text}` overflowed"),
            ErrKind::DivByZero => format!("`{text}` divides by zero"),
            ErrKind::NegativeDeduction => format!("`{text}` is negative"),
            ErrKind::BadPlaces => format!("`{text}` rounds to a number of places outside 0..=28"),
        };
        format!("{what} (at {line}:{col})")
    }
}
