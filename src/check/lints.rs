//! Lints on the syntax tree: conditions whose bounds contradict each other,
//! and table rows an earlier row always takes first (their guard implies
//! the earlier row's). Warnings, each with the
//! span to look at and what to do about it.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::diag::{Diagnostic, Span};
use crate::syntax::ast::{BinOp, Expr, ExprKind, Item, Policy, Row, UnOp};
use crate::syntax::format;

pub(super) fn lint(policy: &Policy, out: &mut Vec<Diagnostic>) {
    let sets = Sets::of(policy);
    for item in &policy.items {
        match item {
            Item::Rule(r) => contradictions(r.when.as_ref(), &r.name.name, "rule", out),
            Item::Flag(f) => contradictions(f.when.as_ref(), &f.name.name, "flag", out),
            Item::Shipping(t) => shadowed(&t.rows, &sets, out),
            Item::Refund(t) => shadowed(&t.rows, &sets, out),
            _ => {}
        }
    }
}

/// What one comparison says of a value: a bound, or that it equals a string.
#[derive(Clone, Copy)]
enum Fact<'a> {
    Lower(Decimal, bool, Span),
    Upper(Decimal, bool, Span),
    Equals(&'a str, Span),
}

/// `days > 7 and days < 3`: bounds on one value that no value meets.
fn contradictions(when: Option<&Expr>, name: &str, what: &str, out: &mut Vec<Diagnostic>) {
    let Some(when) = when else { return };
    let mut conjuncts = Vec::new();
    flatten_and(when, &mut conjuncts);
    let mut facts: HashMap<String, Vec<Fact<'_>>> = HashMap::new();
    // Conjuncts by span, printed only for a warning (most rules have none).
    let mut texts: HashMap<Span, &Expr> = HashMap::new();
    for c in conjuncts {
        if let Some((subject, found)) = fact_of(c) {
            texts.insert(c.span, c);
            facts.entry(subject).or_default().extend(found);
        }
    }
    let mut subjects: Vec<_> = facts.into_iter().collect();
    subjects.sort_by_key(|(_, f)| f.first().map(span_of).unwrap_or_default());
    for (subject, facts) in subjects {
        if let Some((a, b, strings)) = conflict(&facts) {
            let (first, second) = if a.start <= b.start { (a, b) } else { (b, a) };
            let first_text = texts.get(&first).map(|c| format::expr(c)).unwrap_or_default();
            out.push(
                Diagnostic::warning(
                    "never-fires",
                    second,
                    if strings {
                        format!("{what} `{name}` can never fire: `{subject}` cannot equal two different strings")
                    } else {
                        format!("{what} `{name}` can never fire: no value of `{subject}` meets both bounds")
                    },
                )
                .with_hint(format!(
                    "this contradicts `{first_text}`; did you mean `or`, or the other direction?"
                )),
            );
        }
    }
}

fn span_of(f: &Fact<'_>) -> Span {
    match f {
        Fact::Lower(_, _, s) | Fact::Upper(_, _, s) | Fact::Equals(_, s) => *s,
    }
}

fn flatten_and<'e>(e: &'e Expr, out: &mut Vec<&'e Expr>) {
    match &e.kind {
        ExprKind::Paren(x) => flatten_and(x, out),
        ExprKind::Binary(BinOp::And, a, b) => {
            flatten_and(a, out);
            flatten_and(b, out);
        }
        _ => out.push(e),
    }
}

fn number(e: &Expr) -> Option<Decimal> {
    match &e.unparen().kind {
        ExprKind::Int(i) => Some(Decimal::from(*i)),
        ExprKind::Dec(d) | ExprKind::Percent(d) => Some(*d),
        ExprKind::Duration(n, unit) => Some(Decimal::from(*n) * Decimal::from(unit.seconds())),
        ExprKind::Unary(UnOp::Neg, x) => number(x).map(|d| -d),
        _ => None,
    }
}

/// Anything but a literal can be the value a condition bounds.
fn is_subject(e: &Expr) -> bool {
    number(e).is_none() && !matches!(e.unparen().kind, ExprKind::Str(_) | ExprKind::Bool(_))
}

fn fact_of(e: &Expr) -> Option<(String, Vec<Fact<'_>>)> {
    let ExprKind::Binary(op, a, b) = &e.unparen().kind else {
        return None;
    };
    let span = e.span;
    // Put the subject on the left: `7 < days` is `days > 7`.
    let (subject, op, value) = if is_subject(a) {
        (a, *op, b)
    } else if is_subject(b) {
        let flipped = match op {
            BinOp::Lt => BinOp::Gt,
            BinOp::Le => BinOp::Ge,
            BinOp::Gt => BinOp::Lt,
            BinOp::Ge => BinOp::Le,
            other => *other,
        };
        (b, flipped, a)
    } else {
        return None;
    };
    let key = format::expr(subject.unparen());
    if let ExprKind::Str(s) = &value.unparen().kind {
        return (op == BinOp::Eq).then(|| (key, vec![Fact::Equals(s, span)]));
    }
    let v = number(value)?;
    let facts = match op {
        BinOp::Gt => vec![Fact::Lower(v, false, span)],
        BinOp::Ge => vec![Fact::Lower(v, true, span)],
        BinOp::Lt => vec![Fact::Upper(v, false, span)],
        BinOp::Le => vec![Fact::Upper(v, true, span)],
        BinOp::Eq => vec![Fact::Lower(v, true, span), Fact::Upper(v, true, span)],
        _ => return None,
    };
    Some((key, facts))
}

/// Two facts no single value satisfies, if there are such.
fn conflict(facts: &[Fact<'_>]) -> Option<(Span, Span, bool)> {
    for (i, a) in facts.iter().enumerate() {
        for b in &facts[i + 1..] {
            let clash = match (a, b) {
                (Fact::Lower(lo, li, _), Fact::Upper(hi, hi_inc, _))
                | (Fact::Upper(hi, hi_inc, _), Fact::Lower(lo, li, _)) => lo > hi || (lo == hi && !(*li && *hi_inc)),
                (Fact::Equals(x, _), Fact::Equals(y, _)) => x != y,
                _ => false,
            };
            if clash {
                return Some((span_of(a), span_of(b), matches!(a, Fact::Equals(..))));
            }
        }
    }
    None
}

/// A row the earlier rows always take first never applies: one whose guard
/// implies an earlier row's (`x == "a"` after `x in ["a", "b"]`, `A and B`
/// after `A`, anything after `when true`), or whose every `or` branch does.
/// Only implications that hold on every case are followed, so the warning
/// is never wrong: where the later guard holds, the earlier one is sure to
/// hold too, without an evaluation error that would make the table skip it.
fn shadowed<V>(rows: &[Row<V>], sets: &Sets<'_>, out: &mut Vec<Diagnostic>) {
    for (i, row) in rows.iter().enumerate() {
        let Some(guard) = &row.guard else { continue };
        let mut budget = IMPLICATION_BUDGET;
        let mut by = Vec::new();
        if !covered(guard, &rows[..i], sets, &mut budget, &mut by) {
            continue;
        }
        by.sort_unstable();
        by.dedup();
        let shown: Vec<String> = by
            .iter()
            .filter_map(|&k| rows[k].guard.as_ref())
            .map(|g| format!("`when {}`", format::expr(g)))
            .collect();
        let hint = match shown.as_slice() {
            [one] => format!("the row {one} comes first; remove this row or put it before that one"),
            many => format!(
                "the rows {} come first; remove this row or put it before them",
                many.join(" and ")
            ),
        };
        out.push(
            Diagnostic::warning(
                "shadowed-row",
                row.span,
                "this row never applies: an earlier row takes every case it would",
            )
            .with_hint(hint),
        );
    }
}

/// Whether one of `rows` is sure to hold wherever `guard` holds, noting in
/// `by` which rows take it.
fn covered<V>(guard: &Expr, rows: &[Row<V>], sets: &Sets<'_>, budget: &mut usize, by: &mut Vec<usize>) -> bool {
    // The same guard, or `true`, first: found however long the table, where
    // the search for implications below may run out of budget.
    let same = rows.iter().position(|r| {
        r.guard
            .as_ref()
            .is_some_and(|g| g == guard || matches!(g.unparen().kind, ExprKind::Bool(true)))
    });
    if let Some(k) = same {
        by.push(k);
        return true;
    }
    let single = rows.iter().position(|r| match &r.guard {
        Some(g) => implies(guard, g, sets, budget),
        None => false,
    });
    if let Some(k) = single {
        by.push(k);
        return true;
    }
    match &guard.unparen().kind {
        // Each branch taken by some row, maybe not the same one.
        ExprKind::Binary(BinOp::Or, a, b) => {
            let mark = by.len();
            let both = covered(a, rows, sets, budget, by) && covered(b, rows, sets, budget, by);
            if !both {
                by.truncate(mark);
            }
            both
        }
        ExprKind::Binary(BinOp::And, a, b) => covered(a, rows, sets, budget, by) || covered(b, rows, sets, budget, by),
        _ => false,
    }
}

/// Steps one comparison of two guards may take before the lint gives up
/// (and so does not warn): guards are small, but `and` and `or` nested in
/// both could otherwise multiply.
const IMPLICATION_BUDGET: usize = 4_096;

/// The sets of a policy by name, as the strings they hold, where that is
/// known from the text alone: list literals, and sets joined with `+`. A
/// name defined twice is left out (the checker reports it).
pub(super) struct Sets<'a>(HashMap<&'a str, Vec<&'a str>>);

impl<'a> Sets<'a> {
    pub(super) fn of(policy: &'a Policy) -> Sets<'a> {
        let mut defs: HashMap<&str, Option<&Expr>> = HashMap::new();
        let mut twice = Vec::new();
        for item in &policy.items {
            let (name, value) = match item {
                Item::Set(b) => (b.name.name.as_str(), Some(&b.value)),
                Item::Let(b) => (b.name.name.as_str(), None),
                Item::Flag(f) => (f.name.name.as_str(), None),
                Item::Rule(r) => (r.name.name.as_str(), None),
                _ => continue,
            };
            if defs.insert(name, value).is_some() {
                twice.push(name);
            }
        }
        for name in twice {
            defs.insert(name, None);
        }
        let mut sets = HashMap::new();
        for (name, value) in &defs {
            if let Some(value) = value
                && let Some(words) = strings(value, &defs, 0)
            {
                sets.insert(*name, words);
            }
        }
        Sets(sets)
    }

    /// The strings of a constant list as written: a list literal, a set, or
    /// such lists joined with `+`.
    fn list(&self, e: &'a Expr) -> Option<Vec<&'a str>> {
        match &e.unparen().kind {
            ExprKind::List(items) => items
                .iter()
                .map(|x| match &x.unparen().kind {
                    ExprKind::Str(s) => Some(s.as_str()),
                    _ => None,
                })
                .collect(),
            ExprKind::Path(parts) if parts.len() == 1 => self.0.get(parts[0].name.as_str()).cloned(),
            ExprKind::Binary(BinOp::Add, a, b) => {
                let mut l = self.list(a)?;
                l.extend(self.list(b)?);
                Some(l)
            }
            _ => None,
        }
    }
}

/// A set's strings from the text, following other sets (at most a few deep:
/// a cycle is the checker's to report).
fn strings<'a>(e: &'a Expr, defs: &HashMap<&'a str, Option<&'a Expr>>, depth: usize) -> Option<Vec<&'a str>> {
    if depth > 32 {
        return None;
    }
    match &e.unparen().kind {
        ExprKind::List(items) => items
            .iter()
            .map(|x| match &x.unparen().kind {
                ExprKind::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .collect(),
        ExprKind::Path(parts) if parts.len() == 1 => {
            let value = (*defs.get(parts[0].name.as_str())?)?;
            strings(value, defs, depth + 1)
        }
        ExprKind::Binary(BinOp::Add, a, b) => {
            let mut l = strings(a, defs, depth + 1)?;
            l.extend(strings(b, defs, depth + 1)?);
            Some(l)
        }
        _ => None,
    }
}

/// Whether, on every case where `j` holds, `i` holds too, and is evaluated
/// without an error: it reads nothing `j` did not read (and succeed on).
fn implies(j: &Expr, i: &Expr, sets: &Sets<'_>, budget: &mut usize) -> bool {
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    let (j, i) = (j.unparen(), i.unparen());
    if matches!(i.kind, ExprKind::Bool(true)) || j == i || matches!(j.kind, ExprKind::Bool(false)) {
        return true;
    }
    if let ExprKind::Binary(BinOp::And, a, b) = &i.kind {
        return implies(j, a, sets, budget) && implies(j, b, sets, budget);
    }
    if let ExprKind::Binary(BinOp::Or, a, b) = &j.kind {
        return implies(a, i, sets, budget) && implies(b, i, sets, budget);
    }
    if let ExprKind::Binary(BinOp::And, a, b) = &j.kind
        && (implies(a, i, sets, budget) || implies(b, i, sets, budget))
    {
        return true;
    }
    // Only the first branch of an `or`: a later one is reached after the
    // first was evaluated, which might fail where `j` holds.
    if let ExprKind::Binary(BinOp::Or, a, _) = &i.kind
        && implies(j, a, sets, budget)
    {
        return true;
    }
    match (atom(j, sets), atom(i, sets)) {
        (Some(a), Some(b)) => atom_implies(&a, &b),
        _ => false,
    }
}

/// What one comparison says of its subject.
enum Says<'a> {
    /// It is one of these strings (`==`, `in`), or none of them (`!=`, `not in`).
    Strings(Vec<&'a str>, bool),
    /// Bounds: the lower and upper, each with whether it is included.
    Bounds(Option<(Decimal, bool)>, Option<(Decimal, bool)>),
}

/// A comparison of a subject with constants: the subject's text and what it says.
fn atom<'a>(e: &'a Expr, sets: &Sets<'a>) -> Option<(String, Says<'a>)> {
    let ExprKind::Binary(op, a, b) = &e.unparen().kind else {
        return None;
    };
    match op {
        BinOp::In | BinOp::NotIn => {
            let list = sets.list(b)?;
            is_subject(a).then(|| (format::expr(a.unparen()), Says::Strings(list, *op == BinOp::NotIn)))
        }
        _ => {
            let (key, found) = fact_of(e)?;
            let mut lower = None;
            let mut upper = None;
            for f in found {
                match f {
                    Fact::Equals(s, _) => return Some((key, Says::Strings(vec![s], false))),
                    Fact::Lower(v, inc, _) => lower = Some((v, inc)),
                    Fact::Upper(v, inc, _) => upper = Some((v, inc)),
                }
            }
            if lower.is_none() && upper.is_none() {
                // `x != "a"`: fact_of keeps only `==` of strings.
                if let (BinOp::Ne, ExprKind::Str(s)) = (op, &b.unparen().kind) {
                    return is_subject(a).then(|| (format::expr(a.unparen()), Says::Strings(vec![s.as_str()], true)));
                }
                if let (BinOp::Ne, ExprKind::Str(s)) = (op, &a.unparen().kind) {
                    return is_subject(b).then(|| (format::expr(b.unparen()), Says::Strings(vec![s.as_str()], true)));
                }
                return None;
            }
            Some((key, Says::Bounds(lower, upper)))
        }
    }
}

fn atom_implies((sj, j): &(String, Says<'_>), (si, i): &(String, Says<'_>)) -> bool {
    if sj != si {
        return false;
    }
    match (j, i) {
        // One of `js` implies one of `is` when every one of `js` is among them;
        // none of them when none is.
        (Says::Strings(js, false), Says::Strings(is, negated)) => js.iter().all(|s| is.contains(s) != *negated),
        // None of `js` implies none of `is` when `is` is among `js`.
        (Says::Strings(js, true), Says::Strings(is, true)) => is.iter().all(|s| js.contains(s)),
        (Says::Bounds(jl, ju), Says::Bounds(il, iu)) => {
            let lower = match (jl, il) {
                (_, None) => true,
                (Some((vj, incj)), Some((vi, inci))) => vj > vi || (vj == vi && (*inci || !*incj)),
                (None, Some(_)) => false,
            };
            let upper = match (ju, iu) {
                (_, None) => true,
                (Some((vj, incj)), Some((vi, inci))) => vj < vi || (vj == vi && (*inci || !*incj)),
                (None, Some(_)) => false,
            };
            lower && upper
        }
        _ => false,
    }
}
