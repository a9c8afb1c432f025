//! What a backtest reports: decisions, refunds, shipping payers, how often
//! each rule and flag fired, precision and recall against labels, and how a
//! second policy would have decided differently.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::Serialize;

use super::events::Label;
use crate::Program;
use crate::eval::Verdict;

const DECISIONS: [&str; 4] = ["approve", "partial", "review", "deny"];
const PAYERS: [&str; 5] = ["buyer", "merchant", "platform", "insurance", "none"];
/// How many changed returns a comparison lists.
const FIRST_CHANGES: usize = 20;

/// What a backtest found: counts, the policy's summary, and the comparison when there is one.
#[derive(Debug, Clone, Serialize, Default)]
#[non_exhaustive]
pub struct Summary {
    /// Lines read.
    pub lines: u64,
    /// Customer events.
    pub customers: u64,
    /// Order events.
    pub orders: u64,
    /// Order update events.
    pub order_updates: u64,
    /// Returns judged.
    pub returns: u64,
    /// Returns whose order was known to be cancelled before the request,
    /// judged as if it were not: a case has no `order.cancelled_at` yet.
    pub cancelled_order_returns: u64,
    /// Lines skipped with `--skip-invalid`, and why.
    pub invalid: Vec<Invalid>,
    /// Aggregates kept up to date as events arrive.
    pub incremental_aggregates: usize,
    /// Aggregates whose `where` reads the case, rescanned per return.
    pub rescanned_aggregates: usize,
    /// What the policy decided.
    pub policy: PolicySummary,
    /// What the other policy (`--compare`) decided differently.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compare: Option<Comparison>,
    /// What happened after the requests, by the first policy's verdicts:
    /// present when the stream has review decisions or inspections, or a
    /// review timed out (docs/language.md §11.17).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub life: Option<LifeSummary>,
}

/// The returns' lives after their requests, by the first policy's verdicts.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
#[non_exhaustive]
pub struct LifeSummary {
    /// `review_decision` events applied.
    pub review_decisions: u64,
    /// `inspection` events applied.
    pub inspections: u64,
    /// Inspections that changed their line's decision or refund.
    pub inspections_changed: u64,
    /// Reviews settled by their timeout (before a later event, or by the stream's end).
    pub timeouts: u64,
    /// Restrictions the verdicts set on customers (at requests and inspections).
    pub restrictions: u64,
    /// Review decisions and inspections of returns with nothing left to
    /// decide (no line in review, nothing the policies do at inspection):
    /// applied, changing nothing, with no record.
    pub without_effect: u64,
}

/// A line that was skipped.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[non_exhaustive]
pub struct Invalid {
    /// Its number, from 1.
    pub line: u64,
    /// What is wrong with it.
    pub reason: String,
}

/// What one policy decided over the stream.
#[derive(Debug, Clone, Serialize, Default)]
#[non_exhaustive]
pub struct PolicySummary {
    /// The policy's title.
    pub title: String,
    /// Its currency.
    pub currency: String,
    /// approve, partial, review, deny.
    pub decisions: BTreeMap<String, u64>,
    /// The sum of the refunds of every return, in the currency's minor unit.
    pub refund_total: String,
    /// Returns by who pays the return shipping.
    pub shipping: BTreeMap<String, u64>,
    /// Returns on which each rule fired on at least one line, in declaration order.
    pub rules: Vec<Count>,
    /// Returns on which each flag fired, in declaration order.
    pub flags: Vec<Count>,
    /// Returns with at least one evaluation error (all at least in review).
    pub with_errors: u64,
    /// Precision and recall, when returns carry labels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    #[serde(skip)]
    refund: Decimal,
    #[serde(skip)]
    minor_units: u32,
}

/// How many returns a rule or flag fired on.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[non_exhaustive]
pub struct Count {
    /// The rule's or flag's name.
    pub name: String,
    /// Returns it fired on.
    pub fired: u64,
}

/// Precision and recall against the returns' own labels.
#[derive(Debug, Clone, Serialize, Default)]
#[non_exhaustive]
pub struct Labels {
    /// Returns labelled `abuse`.
    pub abuse: u64,
    /// Returns labelled `ok`.
    pub ok: u64,
    /// Returns without a label.
    pub unlabelled: u64,
    /// Per flag, in declaration order.
    pub flags: Vec<Score>,
    /// Treating any decision but approve as "caught".
    pub not_approved: Score,
    /// Treating only a denial (of the whole request) as "caught".
    pub denied: Score,
}

/// Precision and recall of one signal.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
#[non_exhaustive]
pub struct Score {
    /// The flag, or `not approved` / `denied`.
    pub name: String,
    /// Abuse it caught.
    pub true_positives: u64,
    /// Fine returns it caught.
    pub false_positives: u64,
    /// Abuse it missed.
    pub false_negatives: u64,
    /// `None` when nothing was caught (precision) or nothing was abuse (recall).
    pub precision: Option<String>,
    /// Caught abuse over all abuse.
    pub recall: Option<String>,
}

impl Score {
    fn add(&mut self, caught: bool, label: Label) {
        match (caught, label) {
            (true, Label::Abuse) => self.true_positives += 1,
            (true, Label::Ok) => self.false_positives += 1,
            (false, Label::Abuse) => self.false_negatives += 1,
            (false, Label::Ok) => {}
        }
    }

    fn finish(&mut self) {
        let ratio = |a: u64, b: u64| (b > 0).then(|| money(Decimal::from(a) / Decimal::from(b), 3));
        self.precision = ratio(self.true_positives, self.true_positives + self.false_positives);
        self.recall = ratio(self.true_positives, self.true_positives + self.false_negatives);
    }
}

/// How a second policy would have decided the same returns.
#[derive(Debug, Clone, Serialize, Default)]
#[non_exhaustive]
pub struct Comparison {
    /// The other policy's title.
    pub title: String,
    /// Returns whose decision moved, `from -> to`, with their counts.
    pub moves: Vec<Move>,
    /// Returns whose decision or refund changed.
    pub changed: u64,
    /// Refunds under the first policy.
    pub refund_before: String,
    /// Refunds under the other.
    pub refund_after: String,
    /// After minus before.
    pub refund_delta: String,
    /// Returns on which each flag fires only under the other policy.
    pub flags_gained: Vec<Count>,
    /// Returns on which each flag fires only under the first.
    pub flags_lost: Vec<Count>,
    /// The first returns that changed, in stream order.
    pub first_changes: Vec<Change>,
    /// Precision and recall of the other policy, to set beside the first's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Labels>,
    #[serde(skip)]
    matrix: BTreeMap<(usize, usize), u64>,
    #[serde(skip)]
    after: PolicySummary,
}

/// Returns whose decision moved from one word to another.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[non_exhaustive]
pub struct Move {
    /// The first policy's decision.
    pub from: String,
    /// The other's.
    pub to: String,
    /// How many returns.
    pub returns: u64,
}

/// One return that changed.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[non_exhaustive]
pub struct Change {
    /// Its line in the stream.
    pub line: u64,
    /// Its id.
    pub return_id: String,
    /// The first policy's decision.
    pub from: String,
    /// The other's.
    pub to: String,
    /// The first policy's refund.
    pub refund_from: String,
    /// The other's.
    pub refund_to: String,
}

impl PolicySummary {
    pub(crate) fn new(program: &Program) -> PolicySummary {
        PolicySummary {
            title: program.title().to_string(),
            currency: program.currency().to_string(),
            decisions: DECISIONS.iter().map(|d| (d.to_string(), 0)).collect(),
            shipping: PAYERS.iter().map(|p| (p.to_string(), 0)).collect(),
            rules: program
                .rule_names()
                .map(|n| Count {
                    name: n.to_string(),
                    fired: 0,
                })
                .collect(),
            flags: program
                .flag_names()
                .map(|n| Count {
                    name: n.to_string(),
                    fired: 0,
                })
                .collect(),
            minor_units: program.minor_units(),
            ..PolicySummary::default()
        }
    }

    fn add(&mut self, v: &Verdict, label: Option<Label>) {
        *self.decisions.entry(v.decision.to_string()).or_default() += 1;
        *self.shipping.entry(v.shipping.to_string()).or_default() += 1;
        self.refund += v.refund.parse::<Decimal>().unwrap_or_default();
        for rule in &mut self.rules {
            if v.lines.iter().any(|l| l.rules.iter().any(|r| r.rule == rule.name)) {
                rule.fired += 1;
            }
        }
        for flag in &mut self.flags {
            if v.flags.iter().any(|f| f.name == flag.name) {
                flag.fired += 1;
            }
        }
        if !v.errors.is_empty() {
            self.with_errors += 1;
        }
        let labels = self.labels.get_or_insert_with(|| Labels {
            not_approved: Score {
                name: "not approved".into(),
                ..Score::default()
            },
            denied: Score {
                name: "denied".into(),
                ..Score::default()
            },
            ..Labels::default()
        });
        if labels.flags.is_empty() {
            labels.flags = self
                .flags
                .iter()
                .map(|f| Score {
                    name: f.name.clone(),
                    ..Score::default()
                })
                .collect();
        }
        match label {
            None => labels.unlabelled += 1,
            Some(l) => {
                match l {
                    Label::Abuse => labels.abuse += 1,
                    Label::Ok => labels.ok += 1,
                }
                for score in &mut labels.flags {
                    score.add(v.flags.iter().any(|f| f.name == score.name), l);
                }
                labels.not_approved.add(v.decision != "approve", l);
                labels.denied.add(v.decision == "deny", l);
            }
        }
    }

    fn finish(&mut self) {
        self.refund_total = money(self.refund, self.minor_units);
        if let Some(labels) = &mut self.labels {
            if labels.abuse + labels.ok == 0 {
                self.labels = None;
                return;
            }
            for s in &mut labels.flags {
                s.finish();
            }
            labels.not_approved.finish();
            labels.denied.finish();
        }
    }
}

fn money(d: Decimal, minor: u32) -> String {
    let mut d = d.round_dp_with_strategy(minor, RoundingStrategy::MidpointAwayFromZero);
    d.rescale(minor);
    d.to_string()
}

impl Comparison {
    pub(crate) fn new(other: &Program) -> Comparison {
        Comparison {
            title: other.title().to_string(),
            after: PolicySummary::new(other),
            ..Comparison::default()
        }
    }

    fn add(&mut self, line: u64, before: &Verdict, after: &Verdict, label: Option<Label>) {
        self.after.add(after, label);
        let index = |d: &str| DECISIONS.iter().position(|x| *x == d).unwrap_or(0);
        *self
            .matrix
            .entry((index(&before.decision), index(&after.decision)))
            .or_default() += 1;
        let moved = before.decision != after.decision || before.refund != after.refund;
        if moved {
            self.changed += 1;
            if self.first_changes.len() < FIRST_CHANGES {
                self.first_changes.push(Change {
                    line,
                    return_id: before.return_id.clone(),
                    from: before.decision.to_string(),
                    to: after.decision.to_string(),
                    refund_from: before.refund.clone(),
                    refund_to: after.refund.clone(),
                });
            }
        }
        let names = |v: &Verdict| v.flags.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
        let (b, a) = (names(before), names(after));
        for gained in a.iter().filter(|n| !b.contains(n)) {
            bump(&mut self.flags_gained, gained);
        }
        for lost in b.iter().filter(|n| !a.contains(n)) {
            bump(&mut self.flags_lost, lost);
        }
    }

    fn finish(&mut self, before: &PolicySummary) {
        self.after.finish();
        self.moves = self
            .matrix
            .iter()
            .filter(|((f, t), _)| f != t)
            .map(|((f, t), n)| Move {
                from: DECISIONS[*f].into(),
                to: DECISIONS[*t].into(),
                returns: *n,
            })
            .collect();
        self.refund_before = before.refund_total.clone();
        self.refund_after = self.after.refund_total.clone();
        let minor = before.minor_units.max(self.after.minor_units);
        self.refund_delta = money(self.after.refund - before.refund, minor);
        self.labels = self.after.labels.clone();
    }
}

fn bump(counts: &mut Vec<Count>, name: &str) {
    match counts.iter_mut().find(|c| c.name == name) {
        Some(c) => c.fired += 1,
        None => counts.push(Count {
            name: name.to_string(),
            fired: 1,
        }),
    }
}

impl Summary {
    pub(crate) fn new(programs: &[&Program]) -> Summary {
        Summary {
            policy: programs.first().map(|p| PolicySummary::new(p)).unwrap_or_default(),
            compare: programs.get(1).map(|p| Comparison::new(p)),
            ..Summary::default()
        }
    }

    pub(super) fn add(&mut self, line: u64, verdicts: &[Verdict], label: Option<Label>) {
        self.returns += 1;
        if let Some(v) = verdicts.first() {
            self.policy.add(v, label);
            if let (Some(c), Some(after)) = (&mut self.compare, verdicts.get(1)) {
                c.add(line, v, after, label);
            }
        }
    }

    /// A review decision, an inspection or the stream's end timing reviews
    /// out: what it did to the first policy's verdict.
    pub(super) fn add_life(&mut self, kind: super::state::LifeKind, delta: &super::state::Delta) {
        use super::state::LifeKind;
        let life = self.life.get_or_insert_with(LifeSummary::default);
        match kind {
            LifeKind::ReviewDecision => life.review_decisions += 1,
            LifeKind::Inspection => life.inspections += 1,
            LifeKind::Timeout => {}
        }
        for rule in &mut self.policy.rules {
            if delta.inspection_rules.contains(&rule.name) {
                rule.fired += 1;
            }
        }
        life.timeouts += delta.timeouts;
        life.inspections_changed += u64::from(delta.changed);
        life.restrictions += delta.restrictions;
    }

    /// A life event that changed nothing.
    pub(super) fn add_settled(&mut self) {
        self.life.get_or_insert_with(LifeSummary::default).without_effect += 1;
    }

    /// Restrictions a request's verdict set.
    pub(super) fn add_restrictions(&mut self, n: u64) {
        if n > 0 {
            self.life.get_or_insert_with(LifeSummary::default).restrictions += n;
        }
    }

    pub(super) fn finish(&mut self) {
        self.policy.finish();
        if let Some(c) = &mut self.compare {
            c.finish(&self.policy);
        }
    }

    /// The summary for people.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let p = &self.policy;
        let _ = writeln!(out, "policy    {}", p.title);
        let _ = writeln!(
            out,
            "read      {} lines: {} customers, {} orders, {} order updates, {} returns; {} invalid",
            self.lines,
            self.customers,
            self.orders,
            self.order_updates,
            self.returns,
            self.invalid.len()
        );
        for inv in self.invalid.iter().take(20) {
            let _ = writeln!(out, "          line {}: {}", inv.line, inv.reason);
        }
        if self.invalid.len() > 20 {
            let _ = writeln!(out, "          … and {} more (see --json)", self.invalid.len() - 20);
        }
        let pct = |n: u64| {
            if self.returns == 0 {
                0.0
            } else {
                n as f64 * 100.0 / self.returns as f64
            }
        };
        let decisions: Vec<String> = DECISIONS
            .iter()
            .map(|d| {
                let n = p.decisions.get(*d).copied().unwrap_or(0);
                format!("{d} {n} ({:.1}%)", pct(n))
            })
            .collect();
        let _ = writeln!(out, "decisions {}", decisions.join(", "));
        let _ = writeln!(out, "refunds   {} {}", p.refund_total, p.currency);
        let payers: Vec<String> = PAYERS
            .iter()
            .map(|d| format!("{d} {}", p.shipping.get(*d).copied().unwrap_or(0)))
            .collect();
        let _ = writeln!(out, "shipping  {}", payers.join(", "));
        if self.cancelled_order_returns > 0 {
            let _ = writeln!(
                out,
                "cancelled {} returns on orders cancelled before the request, judged as if not cancelled (a case has no order.cancelled_at yet)",
                self.cancelled_order_returns
            );
        }
        if p.with_errors > 0 {
            let _ = writeln!(
                out,
                "errors    {} returns could not be fully evaluated and went to review",
                p.with_errors
            );
        }
        if let Some(l) = &self.life {
            let _ = writeln!(
                out,
                "life      {} review decisions, {} reviews timed out, {} inspections ({} changed the refund or decision), {} restrictions set",
                l.review_decisions, l.timeouts, l.inspections, l.inspections_changed, l.restrictions
            );
            if l.without_effect > 0 {
                let _ = writeln!(
                    out,
                    "          {} review decisions and inspections of returns with nothing left to decide",
                    l.without_effect
                );
            }
        }
        table(&mut out, "rules", &p.rules);
        table(&mut out, "flags", &p.flags);
        if let Some(l) = &p.labels {
            let _ = writeln!(
                out,
                "\nlabels    {} abuse, {} ok, {} unlabelled",
                l.abuse, l.ok, l.unlabelled
            );
            label_table(&mut out, l);
        }
        if let Some(c) = &self.compare {
            let _ = writeln!(
                out,
                "\ncompared with {}: {} of {} returns changed",
                c.title, c.changed, self.returns
            );
            for m in &c.moves {
                let _ = writeln!(out, "  {:>7} -> {:<7} {}", m.from, m.to, m.returns);
            }
            let _ = writeln!(
                out,
                "  refunds {} -> {} {} ({})",
                c.refund_before, c.refund_after, p.currency, c.refund_delta
            );
            for (word, counts) in [("gained", &c.flags_gained), ("lost", &c.flags_lost)] {
                for f in counts {
                    let _ = writeln!(out, "  flag {} {word} on {} returns", f.name, f.fired);
                }
            }
            if let Some(l) = &c.labels {
                let _ = writeln!(out, "  with {}:", c.title);
                label_table(&mut out, l);
            }
            if !c.first_changes.is_empty() {
                let _ = writeln!(out, "  first changes:");
            }
            for ch in &c.first_changes {
                let _ = writeln!(
                    out,
                    "    line {:<8} {:<20} {} -> {}, refund {} -> {}",
                    ch.line, ch.return_id, ch.from, ch.to, ch.refund_from, ch.refund_to
                );
            }
        }
        out
    }
}

fn label_table(out: &mut String, l: &Labels) {
    let width = l.flags.iter().map(|s| s.name.len()).chain([12]).max().unwrap_or(12);
    let _ = writeln!(out, "  {:width$}  precision  recall  caught  false alarms  missed", "");
    for s in l.flags.iter().chain([&l.not_approved, &l.denied]) {
        let show = |r: &Option<String>| r.clone().unwrap_or_else(|| "-".into());
        let _ = writeln!(
            out,
            "  {:width$}  {:>9}  {:>6}  {:>6}  {:>12}  {:>6}",
            s.name,
            show(&s.precision),
            show(&s.recall),
            s.true_positives,
            s.false_positives,
            s.false_negatives
        );
    }
}

fn table(out: &mut String, head: &str, counts: &[Count]) {
    if counts.is_empty() {
        return;
    }
    let width = counts.iter().map(|c| c.name.len()).max().unwrap_or(0);
    let _ = writeln!(out, "{head}");
    for c in counts {
        let _ = writeln!(out, "  {:width$}  {}", c.name, c.fired);
    }
}
