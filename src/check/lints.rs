//! Lints on the syntax tree: conditions whose bounds contradict each other,
//! and table rows an earlier row always takes first. Warnings, each with the
//! span to look at and what to do about it.

use std::collections::HashMap;

use rust_decimal::Decimal;

use crate::diag::{Diagnostic, Span};
use crate::syntax::ast::{BinOp, Expr, ExprKind, Item, Policy, Row, UnOp};
use crate::syntax::format;

pub(super) fn lint(policy: &Policy, out: &mut Vec<Diagnostic>) {
    for item in &policy.items {
        match item {
            Item::Rule(r) => contradictions(r.when.as_ref(), &r.name.name, "rule", out),
            Item::Flag(f) => contradictions(f.when.as_ref(), &f.name.name, "flag", out),
            Item::Shipping(t) => shadowed(&t.rows, out),
            Item::Refund(t) => shadowed(&t.rows, out),
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

/// A row whose guard an earlier row already had (or that comes after a row
/// that always holds) never applies.
fn shadowed<V>(rows: &[Row<V>], out: &mut Vec<Diagnostic>) {
    for (i, row) in rows.iter().enumerate() {
        let Some(guard) = &row.guard else { continue };
        let earlier = rows[..i].iter().find(|r| match &r.guard {
            Some(g) => g == guard || matches!(g.unparen().kind, ExprKind::Bool(true)),
            None => false,
        });
        if let Some(first) = earlier {
            out.push(
                Diagnostic::warning(
                    "shadowed-row",
                    row.span,
                    "this row never applies: an earlier row takes every case it would",
                )
                .with_hint(format!(
                    "the row `{}` comes first; remove this row or put it before that one",
                    first
                        .guard
                        .as_ref()
                        .map_or_else(String::new, |g| format!("when {}", format::expr(g)))
                )),
            );
        }
    }
}
