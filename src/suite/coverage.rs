//! What a policy's suites exercised (`rpl test --coverage`): how often each
//! rule and flag fired and each table row was taken, over every case judged,
//! and which never were — a rule no case fires is a rule no test pins.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::eval::{Program, Rows, Verdict};
use crate::syntax::ast::{Item, Policy};

/// What the cases of one suite exercised of its policy.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Coverage {
    /// The policy file.
    pub policy: PathBuf,
    source: String,
    cases: usize,
    rules: Vec<u64>,
    flags: Vec<u64>,
    shipping: Vec<u64>,
    refund: Vec<u64>,
    rule_index: HashMap<String, usize>,
    flag_index: HashMap<String, usize>,
}

impl Coverage {
    pub(crate) fn new(policy: &Path, program: &Program) -> Coverage {
        let ir = &program.ir;
        Coverage {
            policy: policy.to_path_buf(),
            source: ir.source.clone(),
            cases: 0,
            rules: vec![0; ir.rules.len()],
            flags: vec![0; ir.flags.len()],
            shipping: vec![0; ir.shipping.len()],
            refund: vec![0; ir.refund.len()],
            rule_index: ir.rules.iter().enumerate().map(|(i, r)| (r.name.clone(), i)).collect(),
            flag_index: ir.flags.iter().enumerate().map(|(i, f)| (f.name.clone(), i)).collect(),
        }
    }

    /// Counts what one verdict exercised.
    pub(crate) fn add(&mut self, verdict: &Verdict, rows: &Rows) {
        self.cases += 1;
        let mut fired = vec![false; self.rules.len()];
        for hit in verdict.lines.iter().flat_map(|l| &l.rules) {
            if let Some(&i) = self.rule_index.get(&hit.rule) {
                fired[i] = true;
            }
        }
        for (count, fired) in self.rules.iter_mut().zip(fired) {
            *count += u64::from(fired);
        }
        for flag in &verdict.flags {
            if let Some(&i) = self.flag_index.get(&flag.name) {
                self.flags[i] += 1;
            }
        }
        if let Some(count) = rows.shipping.and_then(|i| self.shipping.get_mut(i)) {
            *count += 1;
        }
        for row in rows.refund.iter().flatten() {
            if let Some(count) = self.refund.get_mut(*row) {
                *count += 1;
            }
        }
    }

    /// Another suite's counts over the same policy text.
    fn merge(&mut self, other: &Coverage) {
        let same_shape = self.rules.len() == other.rules.len()
            && self.flags.len() == other.flags.len()
            && self.shipping.len() == other.shipping.len()
            && self.refund.len() == other.refund.len();
        if !same_shape {
            return;
        }
        self.cases += other.cases;
        let add = |a: &mut Vec<u64>, b: &[u64]| a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
        add(&mut self.rules, &other.rules);
        add(&mut self.flags, &other.flags);
        add(&mut self.shipping, &other.shipping);
        add(&mut self.refund, &other.refund);
    }
}

/// The coverage of every policy the suites test, one block per policy
/// (suites of the same policy file added together).
pub fn render_coverage<'a>(all: impl IntoIterator<Item = &'a Coverage>) -> String {
    let mut by_policy: BTreeMap<PathBuf, (Coverage, usize)> = BTreeMap::new();
    for c in all {
        let key = std::fs::canonicalize(&c.policy).unwrap_or_else(|_| c.policy.clone());
        match by_policy.get_mut(&key) {
            Some((merged, suites)) if merged.source == c.source => {
                merged.merge(c);
                *suites += 1;
            }
            Some(_) => {}
            None => {
                by_policy.insert(key, (c.clone(), 1));
            }
        }
    }
    let mut out = String::new();
    for (c, suites) in by_policy.values() {
        render_one(&mut out, c, *suites);
    }
    out
}

fn render_one(out: &mut String, c: &Coverage, suites: usize) {
    let file = c.policy.display().to_string();
    let plural = |n: usize, one: &str, many: &str| if n == 1 { one.to_string() } else { many.to_string() };
    let _ = writeln!(
        out,
        "coverage of {file} ({} {}, {suites} {})",
        c.cases,
        plural(c.cases, "case", "cases"),
        plural(suites, "suite", "suites")
    );
    // The policy checked when the suite ran, so it parses now.
    let tree = crate::syntax::parse(&c.source).ok();
    let at = |start: u32| {
        let (line, col) = crate::diag::line_col(&c.source, start as usize);
        format!("{file}:{line}:{col}")
    };
    let mut section = |what: &str, unit: &str, counts: &[u64], never: Vec<(String, u32)>| {
        let done = counts.iter().filter(|n| **n > 0).count();
        if counts.is_empty() {
            let _ = writeln!(out, "  {what:<9} none in the policy");
            return;
        }
        let _ = writeln!(out, "  {what:<9} {done} of {} {unit}", counts.len());
        let width = never.iter().map(|(n, _)| n.chars().count()).max().unwrap_or(0);
        for (name, start) in never {
            let _ = writeln!(out, "    never  {name:<width$}  {}", at(start));
        }
    };
    let (rules, flags, shipping, refund) = tree.as_ref().map(|t| spans(t, &c.source)).unwrap_or_default();
    let never = |counts: &[u64], places: &[(String, u32)]| -> Vec<(String, u32)> {
        counts
            .iter()
            .zip(places)
            .filter(|(n, _)| **n == 0)
            .map(|(_, p)| p.clone())
            .collect()
    };
    section("rules", "fired", &c.rules, never(&c.rules, &rules));
    section("flags", "fired", &c.flags, never(&c.flags, &flags));
    section("shipping", "rows taken", &c.shipping, never(&c.shipping, &shipping));
    section("refund", "rows taken", &c.refund, never(&c.refund, &refund));
}

type Places = Vec<(String, u32)>;

/// The names (or, for table rows, the text) and start of every rule, flag
/// and table row, in the order the checked program numbers them.
fn spans(tree: &Policy, source: &str) -> (Places, Places, Places, Places) {
    let (mut rules, mut flags, mut shipping, mut refund) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let text = |span: crate::diag::Span| -> String {
        let raw = source.get(span.range()).unwrap_or("");
        raw.split_whitespace().collect::<Vec<_>>().join(" ")
    };
    let (mut shipping_seen, mut refund_seen) = (false, false);
    for item in &tree.items {
        match item {
            Item::Rule(r) => rules.push((r.name.name.clone(), r.name.span.start)),
            Item::Flag(f) if f.score.is_some() => flags.push((f.name.name.clone(), f.name.span.start)),
            // Only the first table of each kind is the program's (a second is an error).
            Item::Shipping(t) if !std::mem::replace(&mut shipping_seen, true) => {
                shipping.extend(t.rows.iter().map(|r| (text(r.span), r.span.start)));
            }
            Item::Refund(t) if !std::mem::replace(&mut refund_seen, true) => {
                refund.extend(t.rows.iter().map(|r| (text(r.span), r.span.start)));
            }
            _ => {}
        }
    }
    (rules, flags, shipping, refund)
}
