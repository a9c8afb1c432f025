//! Program + case -> verdict (docs/language.md §6). Flags once per request, then every rule
//! on every returned line; errors never approve.

pub(crate) mod compiled;
mod explain;
mod judge;
pub(crate) mod life;
mod value;
mod verdict;
mod walk;
mod words;

pub use explain::{Explanation, FiredExplain, LineExplain, render_explanation};
pub use judge::{Decided, RequestDecision};
pub use life::{
    InspectError, RefundDue, ReviewDue, SettleError, refunds_due, restrictions_set, review_due, settle_review,
    time_out_reviews,
};
pub(crate) use value::{ErrKind, EvalError};
pub use verdict::{
    Deduction, ErrorEntry, FlagHit, FloorPart, LineVerdict, Override, PolicyId, RefundClock, RequestPart,
    RestrictionHit, ReviewRecord, RuleHit, Verdict,
};
pub use walk::Scratch;
#[cfg(feature = "internals")]
pub use walk::steps;

use std::sync::Arc;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::data::{Case, InputError};
use crate::history::{AggValue, Event};
use crate::ir::{AggDef, Checked, Payer, PolicyTz, Stage};
use crate::syntax::ast::Decision;
use judge::{Because, Construct, Nothing, Sink};
use walk::Frame;

/// A policy ready to judge: the checked program and the code compiled from
/// it. The checked program alone is what explaining walks; the compiled code
/// is what judging runs.
#[derive(Debug, Clone)]
pub struct Program {
    pub(crate) ir: Checked,
    pub(crate) code: compiled::Code,
    /// Which policy this is, as every verdict names it.
    pub(crate) id: Arc<PolicyId>,
}

/// The message of a line decided review because something on it failed.
pub(crate) const FAILED_LINE: &str = "The policy could not be evaluated on this line; a person will look at it";

thread_local! {
    /// A frame's buffers, kept per thread between verdicts, as the
    /// decision-only path keeps them in its caller's scratch.
    static SCRATCH: std::cell::Cell<Scratch> = std::cell::Cell::new(Scratch::default());
}

impl Program {
    /// Compiles a checked program's expressions; the one place the two meet.
    pub(crate) fn new(ir: Checked) -> Program {
        let code = compiled::compile(&ir);
        let id = Arc::new(PolicyId::new(
            &ir.header.title,
            ir.header.version.as_deref(),
            &ir.source,
        ));
        Program { ir, code, id }
    }

    /// The policy's identity: title, version and the hash of its text.
    pub fn id(&self) -> &PolicyId {
        &self.id
    }

    /// Judges one case.
    pub fn judge(&self, case: &Case) -> Result<Verdict, InputError> {
        self.run(case, &[], false).map(|(v, _)| v)
    }

    /// The verdict by the tree walk alone, without the compiled code: the
    /// reference the tests hold the compiled code to.
    #[cfg(any(test, feature = "internals"))]
    pub fn judge_reference(&self, case: &Case) -> Result<Verdict, InputError> {
        self.run_in(case, &[], false, false, false).map(|(v, _, _)| v)
    }

    /// Judges one case with some aggregates already known (by index into
    /// [`Program::aggregates`]); the rest are computed from the case's history.
    /// This is how a backtest uses the windows it keeps up to date.
    pub fn judge_with(&self, case: &Case, provided: &[Option<AggValue>]) -> Result<Verdict, InputError> {
        self.run(case, provided, false).map(|(v, _)| v)
    }

    /// How far back the policy's aggregates look, in seconds: `None` when
    /// some aggregate has no window (it reads all history), else the longest
    /// window (0 when the policy reads no history).
    #[cfg(feature = "service")]
    pub(crate) fn history_needed(&self) -> Option<i64> {
        self.ir
            .aggs
            .iter()
            .try_fold(0, |longest, a| a.window.map(|w| longest.max(w)))
    }

    /// Whether some rule runs when the goods are inspected (`at inspection`).
    pub fn inspects(&self) -> bool {
        self.ir.rules.iter().any(|r| r.stage == Stage::Inspection)
    }

    /// Whether some refund's clock starts at the goods' inspection (`refund
    /// within … of inspection`, in the header or on a rule).
    pub fn times_refunds_from_inspection(&self) -> bool {
        let of_inspection =
            |l: &Option<crate::ir::RefundLimit>| l.is_some_and(|l| l.of == crate::ir::Anchor::Inspection);
        of_inspection(&self.ir.header.refund) || self.ir.rules.iter().any(|r| of_inspection(&r.refund))
    }

    /// The aggregates the policy reads, in the order `judge_with` takes them.
    pub fn aggregates(&self) -> &[AggDef] {
        &self.ir.aggs
    }

    /// Whether `event` passes the `where` of aggregate `agg`. Only for
    /// aggregates whose filter reads nothing but the event (`event_only`).
    pub fn event_passes(&self, agg: usize, event: Event<'_>) -> Result<bool, EvalError> {
        match self.ir.aggs.get(agg).and_then(|a| a.filter) {
            Some(filter) => Frame::for_event(self, event).test(filter),
            None => Ok(true),
        }
    }

    /// Judges one case and records, for each flag, rule and table row that
    /// applied, the values that made it apply.
    pub fn judge_explained(&self, case: &Case) -> Result<(Verdict, Explanation), InputError> {
        self.run(case, &[], true)
    }

    /// The rules' names, in declaration order.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.ir.rules.iter().map(|r| r.name.as_str())
    }

    /// The flags' names, in declaration order.
    pub fn flag_names(&self) -> impl Iterator<Item = &str> {
        self.ir.flags.iter().map(|f| f.name.as_str())
    }

    /// Digits after the decimal point of the policy's currency.
    pub fn minor_units(&self) -> u32 {
        self.ir.header.minor_units
    }

    /// The policy's currency (ISO 4217).
    pub fn currency(&self) -> &str {
        &self.ir.header.currency
    }

    /// The policy's text, as compiled.
    pub fn source(&self) -> &str {
        &self.ir.source
    }

    /// The policy's title, from its header.
    pub fn title(&self) -> &str {
        &self.ir.header.title
    }

    /// The header's `version`, when it gives one.
    pub fn version(&self) -> Option<&str> {
        self.ir.header.version.as_deref()
    }

    /// The policy's timezone.
    pub fn timezone(&self) -> PolicyTz {
        self.ir.header.timezone
    }

    fn run(
        &self,
        case: &Case,
        provided: &[Option<AggValue>],
        explain: bool,
    ) -> Result<(Verdict, Explanation), InputError> {
        self.run_in(case, provided, explain, true, false)
            .map(|(v, e, _)| (v, e))
    }

    /// Judges one case and says which table rows it took: the shipping row of
    /// the request and each line's refund row (for `rpl test --coverage`).
    pub(crate) fn judge_rows(&self, case: &Case) -> Result<(Verdict, Rows), InputError> {
        self.run_in(case, &[], false, true, true).map(|(v, _, rows)| (v, rows))
    }

    /// The request's verdict and then the return's life the case records
    /// (its inspections and review decisions, docs/language.md §16).
    fn run_in(
        &self,
        case: &Case,
        provided: &[Option<AggValue>],
        explain: bool,
        compiled: bool,
        rows: bool,
    ) -> Result<(Verdict, Explanation, Rows), InputError> {
        let (v, mut x, r) = self.request_in(case, provided, explain, compiled, rows)?;
        let layer = life::Layer {
            program: self,
            provided,
            floor: false,
        };
        let (v, inspected) = life::live(case, v, &[layer], compiled, explain)?;
        for (line, rules) in x.lines.iter_mut().zip(inspected) {
            line.inspection = rules;
        }
        Ok((v, x, r))
    }

    /// The request's verdict alone, before anything after it (for layering
    /// on a floor, which layers the request first and folds the life after).
    pub(crate) fn request_in(
        &self,
        case: &Case,
        provided: &[Option<AggValue>],
        explain: bool,
        compiled: bool,
        rows: bool,
    ) -> Result<(Verdict, Explanation, Rows), InputError> {
        self.check_currency(case)?;
        self.check_words(case)?;
        // The frame's buffers are kept per thread between verdicts, as the
        // decision-only path keeps them in its caller's scratch.
        let mut scratch = SCRATCH.take();
        let mut f = Frame::new(self, case, provided, explain, &mut scratch);
        if !compiled {
            f = f.without_code();
        }
        let mut sink = VerdictSink::new(self, case, explain, rows);
        let decided = self.evaluate(&mut f, &mut sink);
        f.return_scratch(&mut scratch);
        drop(f);
        SCRATCH.set(scratch);
        let requested_at = sink
            .has_times()
            .then(|| life::stamp(case.ret.requested_at, case.ret.offset));
        let mut verdict = Verdict {
            return_id: case.ret.id.clone(),
            stage: None,
            policy: self.id.clone(),
            floor: None,
            request: None,
            decision: decided.decision.as_str().into(),
            refund: self.money(decided.refund),
            currency: self.ir.header.currency.clone(),
            shipping: decided.shipping.as_str().into(),
            risk: decided.risk,
            flags: sink.flags,
            lines: sink.lines,
            errors: sink.errors,
            requested_at,
            review_due: None,
            reviews: Vec::new(),
            restrictions: sink.restrictions,
        };
        verdict.review_due = verdict
            .lines
            .iter()
            .filter(|l| l.decision == "review")
            .filter_map(|l| l.review_due.as_deref().and_then(|d| Some((life::read_time(d)?, d))))
            .min_by_key(|(t, _)| *t)
            .map(|(_, d)| d.to_string());
        Ok((verdict, sink.explanation, sink.rows))
    }

    /// What the rules `at inspection` come to on each inspected line of the
    /// case (`None` for a line not inspected), with the aggregates
    /// `provided`; `floor` marks the rules as a floor's.
    pub(crate) fn inspection_effects(
        &self,
        case: &Case,
        provided: &[Option<AggValue>],
        explain: bool,
        compiled: bool,
        floor: bool,
    ) -> Result<Vec<Option<life::LineEffects>>, InputError> {
        self.check_currency(case)?;
        self.check_words(case)?;
        let mut scratch = SCRATCH.take();
        let mut f = Frame::new(self, case, provided, explain, &mut scratch);
        if !compiled {
            f = f.without_code();
        }
        let mut sink = VerdictSink::new(self, case, explain, false);
        sink.stage = Stage::Inspection;
        self.inspect(&mut f, &mut sink);
        f.return_scratch(&mut scratch);
        drop(f);
        SCRATCH.set(scratch);
        let prefix = if floor { "floor " } else { "" };
        let mut out: Vec<Option<life::LineEffects>> = (0..case.ret.items.len()).map(|_| None).collect();
        let mut explained = std::mem::take(&mut sink.explanation.lines);
        for (l, found) in sink.inspected.iter().enumerate() {
            let Some((decided, deducted, failed)) = *found else {
                continue;
            };
            let line = std::mem::replace(&mut sink.lines[l], LineVerdict::empty(""));
            let decision = decided.map(|(d, r)| {
                let rule = &self.ir.rules[r];
                let message = rule.decision.as_ref().and_then(|(_, m)| m.clone());
                let deadline = if d == Decision::Review {
                    rule.deadline.or(self.ir.header.review)
                } else {
                    None
                };
                (d, message, deadline)
            });
            let errors = sink
                .errors
                .iter()
                .filter(|e| e.sku.as_deref() == Some(line.sku.as_str()))
                .cloned()
                .map(|mut e| {
                    e.construct = format!("{prefix}{}", e.construct);
                    e
                })
                .collect();
            let restricts = std::mem::take(&mut sink.inspection_restricts[l]);
            let mut rules = line.rules;
            for r in &mut rules {
                r.stage = Some("inspection".into());
                if floor {
                    r.layer = Some("floor".into());
                }
            }
            out[l] = Some(life::LineEffects {
                decision,
                failed,
                deducted,
                deductions: line.deductions,
                rules,
                errors,
                restricts,
                explained: explained
                    .get_mut(l)
                    .map(|x| {
                        std::mem::take(&mut x.rules)
                            .into_iter()
                            .map(|mut r| {
                                r.name = format!("{}at inspection: {}", if floor { "floor: " } else { "" }, r.name);
                                r
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            });
        }
        Ok(out)
    }

    /// The decision-only path: the decision, refund, shipping payer, risk and
    /// flags of a case, with no reasons kept and nothing allocated once
    /// `scratch` has grown to the policy's size.
    pub fn decide(&self, case: &Case, scratch: &mut Scratch) -> Result<Decided, InputError> {
        self.check_currency(case)?;
        self.check_words(case)?;
        let mut f = Frame::with_scratch(self, case, scratch);
        let decided = self.evaluate(&mut f, &mut Nothing);
        f.return_scratch(scratch);
        Ok(decided)
    }

    fn check_currency(&self, case: &Case) -> Result<(), InputError> {
        if case.order.currency == self.ir.header.currency {
            return Ok(());
        }
        Err(InputError {
            path: "order.currency".into(),
            message: format!(
                "\"{}\" is not the policy's currency \"{}\"",
                case.order.currency, self.ir.header.currency
            ),
        })
    }

    fn round_minor(&self, d: Decimal) -> Decimal {
        if d.scale() <= self.ir.header.minor_units {
            // Already in minor units: rounding would give it back unchanged.
            return d;
        }
        d.round_dp_with_strategy(self.ir.header.minor_units, RoundingStrategy::MidpointAwayFromZero)
    }

    /// An amount as the verdict prints it: exactly the currency's minor digits
    /// (padded as text where `Decimal` cannot hold that scale), never `-0.00`.
    pub(crate) fn money(&self, d: Decimal) -> String {
        format_money(self.round_minor(d), self.ir.header.minor_units)
    }

    /// Says what failed, where, in words.
    pub(crate) fn describe_error(&self, e: EvalError) -> String {
        let span = self.ir.spans.get(e.node as usize).copied().unwrap_or_default();
        let text = explain::one_line(self.ir.source.get(span.range()).unwrap_or("?"));
        let (line, col) = crate::diag::line_col(&self.ir.source, span.start as usize);
        let what = match e.kind {
            ErrKind::Missing => format!("`{text}` is missing"),
            ErrKind::Type { wanted, found } => {
                format!("`{text}` needs {}, but the case holds {}", wanted.name(), found.name())
            }
            ErrKind::Mismatch { left, right } => format!("`{text}` compares {} with {}", left.name(), right.name()),
            ErrKind::Overflow => format!("`{text}` overflowed"),
            ErrKind::DivByZero => format!("`{text}` divides by zero"),
            ErrKind::NegativeDeduction => format!("`{text}` is negative"),
            ErrKind::BadPlaces => format!("`{text}` rounds to a number of places outside 0..=28"),
        };
        format!("{what} (at {line}:{col})")
    }
}

/// Keeps everything: the verdict with its reasons, and the explanation when asked.
/// `d`, already rounded to `places` or fewer, written with exactly `places`
/// decimals and no sign on zero: what `format!("{:.places$}", d)` writes, by
/// hand, since a verdict writes several amounts and `Decimal`'s formatter
/// costs more than the rest of judging a line.
pub(crate) fn format_money(d: Decimal, places: u32) -> String {
    let d = if d.scale() > places {
        // Not reached: amounts are rounded to the currency's places first.
        d.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
    } else {
        d
    };
    let m = d.mantissa().unsigned_abs();
    let mut digits = [0u8; 64];
    let mut n = 0;
    // Digits from the least significant: the scale's, then the padding zeros.
    let scale = d.scale();
    let total_frac = places as usize;
    let pad = (places - scale) as usize;
    while n < pad {
        digits[n] = b'0';
        n += 1;
    }
    // In 64 bits when the mantissa fits (division by ten is then a multiply).
    match u64::try_from(m) {
        Ok(mut m) => loop {
            digits[n] = b'0' + (m % 10) as u8;
            m /= 10;
            n += 1;
            if m == 0 && n > total_frac {
                break;
            }
        },
        Err(_) => {
            let mut m = m;
            loop {
                digits[n] = b'0' + (m % 10) as u8;
                m /= 10;
                n += 1;
                if m == 0 && n > total_frac {
                    break;
                }
            }
        }
    }
    let mut out = String::with_capacity(n + 2);
    if d.is_sign_negative() && !d.is_zero() {
        out.push('-');
    }
    for (i, b) in digits[..n].iter().rev().enumerate() {
        if places > 0 && i == n - total_frac {
            out.push('.');
        }
        out.push(char::from(*b));
    }
    out
}

/// The table rows a verdict took, by index: the request's shipping row and
/// each line's refund row (`None` where no table, or an error).
#[derive(Debug, Clone, Default)]
pub(crate) struct Rows {
    pub(crate) shipping: Option<usize>,
    pub(crate) refund: Vec<Option<usize>>,
}

struct VerdictSink<'a> {
    p: &'a Program,
    case: &'a Case,
    flags: Vec<FlagHit>,
    errors: Vec<ErrorEntry>,
    lines: Vec<LineVerdict>,
    explanation: Explanation,
    explain: bool,
    rows: Rows,
    /// The stage being judged: the request, or an inspection's.
    stage: Stage,
    /// Whether nothing is sent back (refund only, or no parcel): a refund
    /// then counts from its approval.
    nothing_back: bool,
    restrictions: Vec<RestrictionHit>,
    /// Rules whose restrictions were set already (a rule firing on several lines sets them once).
    restricted_by: Vec<bool>,
    /// At inspection: each inspected line's decision, deductions and
    /// failure, and the restrictions its rules set.
    inspected: Vec<Option<Inspected>>,
    inspection_restricts: Vec<Vec<(crate::ir::RestrictDef, String, String)>>,
}

/// What the rules `at inspection` came to on a line: the decision and the
/// rule that made it, the deductions, whether something failed.
type Inspected = (Option<(Decision, usize)>, Decimal, bool);

impl LineVerdict {
    /// A line of `sku`, not yet decided.
    pub(crate) fn empty(sku: &str) -> LineVerdict {
        LineVerdict {
            sku: sku.to_string(),
            decision: Default::default(),
            refund: String::new(),
            message: None,
            review_due: None,
            on_timeout: None,
            refund_due: None,
            refund_limit: None,
            inspected_at: None,
            deductions: Vec::new(),
            rules: Vec::new(),
            overrides: Vec::new(),
        }
    }
}

impl<'a> VerdictSink<'a> {
    fn new(p: &'a Program, case: &'a Case, explain: bool, rows: bool) -> VerdictSink<'a> {
        let n = case.ret.items.len();
        VerdictSink {
            p,
            case,
            flags: Vec::new(),
            errors: Vec::new(),
            lines: case.ret.items.iter().map(|l| LineVerdict::empty(&l.sku)).collect(),
            explanation: Explanation {
                // Built only when explaining: the plain verdict pays nothing for it.
                lines: match explain {
                    true => case
                        .ret
                        .items
                        .iter()
                        .map(|l| LineExplain {
                            sku: l.sku.clone(),
                            ..LineExplain::default()
                        })
                        .collect(),
                    false => Vec::new(),
                },
                ..Explanation::default()
            },
            explain,
            // Kept only when asked for: the plain verdict pays nothing for it.
            rows: Rows {
                shipping: None,
                refund: if rows { vec![None; n] } else { Vec::new() },
            },
            stage: Stage::Request,
            nothing_back: case.ret.kind == "refund_only",
            restrictions: Vec::new(),
            restricted_by: Vec::new(),
            inspected: vec![None; n],
            inspection_restricts: vec![Vec::new(); n],
        }
    }

    /// Whether the verdict has times of its own, which count from the request.
    fn has_times(&self) -> bool {
        !self.restrictions.is_empty()
            || self
                .lines
                .iter()
                .any(|l| l.review_due.is_some() || l.refund_due.is_some() || l.refund_limit.is_some())
    }

    /// A restriction set at the request by `by`, whose text is `fallback` when it gives none.
    fn restrict(&mut self, r: &crate::ir::RestrictDef, fallback: String, by: String) {
        let now = self.case.ret.requested_at;
        let offset = self.case.ret.offset;
        self.restrictions.push(RestrictionHit {
            kind: r.kind.into(),
            since: life::stamp(now, offset),
            until: life::stamp(life::after(now, r.seconds), offset),
            because: r.because.clone().unwrap_or(fallback),
            by,
        });
    }
}

impl<'a> Sink<'a> for VerdictSink<'a> {
    fn flag(&mut self, f: &mut Frame<'a>, i: usize) {
        let flag = &self.p.ir.flags[i];
        if self.explain {
            self.explanation
                .flags
                .push(f.explain_fired(&flag.name, "flag", flag.when, flag.unless));
        }
        self.flags.push(FlagHit {
            name: flag.name.clone(),
            score: flag.score,
            note: flag.note.clone(),
        });
        for r in &flag.restricts {
            let fallback = flag.note.clone().unwrap_or_else(|| format!("flag {}", flag.name));
            self.restrict(r, fallback, format!("flag {}", flag.name));
        }
    }

    fn payer(&mut self, payer: Payer) {
        self.nothing_back |= payer == Payer::Nothing;
    }

    fn shipping_row(&mut self, f: &mut Frame<'a>, i: usize) {
        self.rows.shipping = Some(i);
        if self.explain {
            let row = &self.p.ir.shipping[i];
            self.explanation.shipping = Some(f.explain_row(i, row.value.as_str(), row.guard));
        }
    }

    fn error(&mut self, construct: Construct, line: Option<usize>, e: Option<EvalError>) {
        let construct = match construct {
            Construct::Flag(i) => format!("flag {}", self.p.ir.flags[i].name),
            Construct::Shipping => "shipping".into(),
            Construct::Rule(i) => format!("rule {}", self.p.ir.rules[i].name),
            Construct::Refund => "refund".into(),
        };
        let message = match e {
            Some(e) => self.p.describe_error(e),
            None => "the sum of the flags' scores overflowed".into(),
        };
        self.errors.push(ErrorEntry {
            construct,
            sku: line.map(|l| self.case.ret.items[l].sku.clone()),
            message,
        });
    }

    fn rule(&mut self, f: &mut Frame<'a>, line: usize, i: usize) {
        let rule = &self.p.ir.rules[i];
        if self.explain {
            self.explanation.lines[line]
                .rules
                .push(f.explain_fired(&rule.name, "rule", rule.when, rule.unless));
        }
        self.lines[line].rules.push(RuleHit {
            rule: rule.name.clone(),
            effect: rule.decision.as_ref().map_or("deduct", |(d, _)| d.as_str()).into(),
            message: rule.decision.as_ref().and_then(|(_, m)| m.clone()),
            layer: None,
            stage: None,
        });
        if !rule.restricts.is_empty() {
            let fallback = rule
                .decision
                .as_ref()
                .and_then(|(_, m)| m.clone())
                .unwrap_or_else(|| format!("rule {}", rule.name));
            let by = format!("rule {}", rule.name);
            if self.stage == Stage::Inspection {
                for r in &rule.restricts {
                    let because = r.because.clone().unwrap_or_else(|| fallback.clone());
                    self.inspection_restricts[line].push((r.clone(), because, by.clone()));
                }
            } else {
                self.restricted_by.resize(self.p.ir.rules.len(), false);
                if !std::mem::replace(&mut self.restricted_by[i], true) {
                    for r in &rule.restricts {
                        self.restrict(r, fallback.clone(), by.clone());
                    }
                }
            }
        }
    }

    fn inspected(&mut self, line: usize, decided: Option<(Decision, usize)>, deducted: Decimal, failed: bool) {
        if let Some(slot) = self.inspected.get_mut(line) {
            *slot = Some((decided, deducted, failed));
        }
    }

    fn deduction(&mut self, line: usize, label: &'a str, amount: Decimal) {
        self.lines[line].deductions.push(Deduction {
            label: label.to_string(),
            amount: self.p.money(amount),
        });
    }

    fn refund_row(&mut self, f: &mut Frame<'a>, line: usize, row: usize, value: Decimal) {
        if let Some(taken) = self.rows.refund.get_mut(line) {
            *taken = Some(row);
        }
        if self.explain {
            let guard = self.p.ir.refund[row].guard;
            self.explanation.lines[line].refund = Some(f.explain_row(row, &self.p.money(value), guard));
        }
    }

    fn line(&mut self, line: usize, decision: Decision, refund: Decimal, because: Because<'a>, failed: bool) {
        let header = &self.p.ir.header;
        let rule = match because {
            Because::Rule(r, _) => self.p.ir.rules.get(r),
            _ => None,
        };
        let now = self.case.ret.requested_at;
        let offset = self.case.ret.offset;
        let l = &mut self.lines[line];
        l.decision = decision.as_str().into();
        l.refund = self.p.money(refund);
        l.message = match because {
            Because::Rule(_, m) => m.map(str::to_string),
            Because::Default => header.default_message.clone(),
            Because::Failed => Some(FAILED_LINE.into()),
        };
        // The line's life (docs/language.md §16): a review's due time and
        // timeout, a refund's clock — the deciding rule's, else the header's.
        if decision == Decision::Review
            && let Some(d) = rule.and_then(|r| r.deadline).or(header.review)
        {
            l.review_due = Some(life::stamp(life::after(now, d.seconds), offset));
            // Errors never approve: a line the policy could not evaluate waits for a person.
            l.on_timeout = (!failed).then(|| d.then.as_str().into());
        }
        if decision != Decision::Deny
            && let Some(limit) = rule.and_then(|r| r.refund).or(header.refund)
        {
            let clock = life::clock(limit, self.nothing_back);
            if decision == Decision::Approve && clock.of == "approval" {
                l.refund_due = Some(life::stamp(life::after(now, limit.seconds), offset));
            }
            l.refund_limit = Some(clock);
        }
    }

    fn total_overflowed(&mut self) {
        self.errors.push(ErrorEntry {
            construct: "refund".into(),
            sku: None,
            message: "the sum of the approved lines' refunds overflowed".into(),
        });
        for line in self.lines.iter_mut().filter(|l| l.decision == "approve") {
            line.decision = "review".into();
            line.message = Some(FAILED_LINE.into());
            line.refund_due = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_money;
    use rust_decimal::Decimal;

    #[test]
    fn money_is_written_as_the_formatter_writes_it() {
        let values = [
            "0",
            "-0",
            "0.00",
            "5",
            "5.5",
            "5.50",
            "0.01",
            "-0.01",
            "199.00",
            "1234567.89",
            "-3",
            "0.1",
            "10",
            "79228162514264337593543950335",
            "-79228162514264337593543950335",
            "7.9228162514264337593543950335",
        ];
        for v in values {
            let d: Decimal = v.parse().unwrap();
            for places in [0u32, 1, 2, 3, 4] {
                let d = d.round_dp_with_strategy(places, rust_decimal::RoundingStrategy::MidpointAwayFromZero);
                let d0 = if d.is_zero() { Decimal::ZERO } else { d };
                // `{:.N}` itself panics on the widest values (rust_decimal's
                // buffer is too small), so the expectation pads `to_string`.
                let mut want = d0.to_string();
                let have = want.find('.').map_or(0, |dot| want.len() - dot - 1);
                if places > 0 && have == 0 {
                    want.push('.');
                }
                want.extend(std::iter::repeat_n('0', places as usize - have));
                assert_eq!(format_money(d, places), want, "{v} at {places}");
            }
        }
    }
}
