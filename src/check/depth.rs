//! How deep checking a policy can recurse, measured without recursing, so the
//! checker can run on the caller's thread when the policy is shallow (nearly
//! always) and on a thread with a deep stack otherwise.

use crate::syntax::ast::{self, Expr, ExprKind, Item};

/// Expression levels up to which the checker runs on the caller's thread.
/// Past it — deep expressions, or long chains of lets, which the checker
/// follows as it meets them — it runs on [`crate::support::with_stack`]'s deep
/// stack. Real policies stay far below; the bound is low enough that an
/// unoptimised build fits in a fraction of a 2 MiB thread (see the test).
pub(super) const SHALLOW: usize = 48;

/// An upper bound on the expression levels checking `policy` recurses
/// through, or `None` once it is past `limit`. Checking follows a let where
/// it is read, and each let at most once on any path, so the bound is the
/// deepest item plus every binding. Iterative, so safe on any stack.
pub(super) fn recursion_bound(policy: &ast::Policy, limit: usize) -> Option<usize> {
    let mut bindings = 0usize;
    let mut deepest = 0usize;
    let mut exprs = Vec::new();
    for item in &policy.items {
        exprs.clear();
        item_exprs(item, &mut exprs);
        let mut depth = 0;
        for e in &exprs {
            depth = depth.max(expr_depth(e, limit)?);
        }
        match item {
            Item::Set(_) | Item::Let(_) => bindings += depth,
            _ => deepest = deepest.max(depth),
        }
        if bindings + deepest > limit {
            return None;
        }
    }
    Some(bindings + deepest)
}

/// The expressions an item holds.
fn item_exprs<'a>(item: &'a Item, out: &mut Vec<&'a Expr>) {
    match item {
        Item::Header(_) => {}
        Item::Set(b) | Item::Let(b) => out.push(&b.value),
        Item::Values(v) => out.push(&v.value),
        Item::Flag(f) => out.extend(f.when.iter().chain(&f.unless)),
        Item::Rule(r) => {
            out.extend(r.when.iter().chain(&r.unless));
            for effect in &r.effects {
                if let ast::Effect::Deduct { amount, .. } = effect {
                    out.push(amount);
                }
            }
        }
        Item::Shipping(t) => out.extend(t.rows.iter().filter_map(|r| r.guard.as_ref())),
        Item::Refund(t) => {
            for row in &t.rows {
                out.push(&row.value);
                out.extend(&row.guard);
            }
        }
    }
}

/// The depth of `e` (a leaf is 1), or `None` past `limit`.
fn expr_depth<'a>(e: &'a Expr, limit: usize) -> Option<usize> {
    let mut deepest = 0;
    let mut stack = vec![(e, 1usize)];
    while let Some((e, depth)) = stack.pop() {
        if depth > limit {
            return None;
        }
        deepest = deepest.max(depth);
        let mut push = |child: &'a Expr| stack.push((child, depth + 1));
        match &e.kind {
            ExprKind::Bool(_)
            | ExprKind::Int(_)
            | ExprKind::Dec(_)
            | ExprKind::Percent(_)
            | ExprKind::Str(_)
            | ExprKind::Duration(..)
            | ExprKind::Path(_) => {}
            ExprKind::List(xs) | ExprKind::Call(_, xs) => xs.iter().for_each(push),
            ExprKind::Aggregate { filter, .. } => filter.iter().for_each(|f| push(f)),
            ExprKind::Unary(_, x) | ExprKind::Is(x, _) | ExprKind::Paren(x) => push(x),
            ExprKind::Binary(_, a, b) => {
                push(a);
                push(b);
            }
            ExprKind::If(c, a, b) => {
                push(c);
                push(a);
                push(b);
            }
        }
    }
    Some(deepest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "policy \"P\" { currency \"CNY\" timezone \"Asia/Shanghai\" }\n";

    fn bound(src: &str) -> Option<usize> {
        let policy = crate::syntax::parse(src).ok()?;
        recursion_bound(&policy, SHALLOW)
    }

    #[test]
    fn the_bound_counts_items_and_let_chains() {
        assert_eq!(bound(&format!("{HEAD}rule r {{ when (a > 1) approve }}")), Some(3));
        // A chain of lets is followed through: every binding counts.
        let chain: String = (1..=10).map(|i| format!("let l{i} = l{} + 1\n", i - 1)).collect();
        assert_eq!(bound(&format!("{HEAD}let l0 = 1\n{chain}")), Some(21));
        let deep = format!("{HEAD}let x = {}1{}", "(".repeat(SHALLOW), ")".repeat(SHALLOW));
        assert_eq!(bound(&deep), None);
        let long: String = (1..=SHALLOW).map(|i| format!("let l{i} = l{} + 1\n", i - 1)).collect();
        assert_eq!(bound(&format!("{HEAD}let l0 = 1\n{long}")), None);
    }

    /// Policies at the bound, in the shapes that recurse the most, compile
    /// (check and program) on a thread with 1 MiB of stack, in any build.
    #[test]
    fn policies_at_the_bound_fit_a_small_stack() {
        // Each shape nests about 2n levels, just under the bound.
        let n = SHALLOW / 2 - 2;
        let shapes = [
            format!(
                "rule r {{ when {}days > 1{} approve }}",
                "(".repeat(n * 2),
                ")".repeat(n * 2)
            ),
            format!("rule r {{ when {}true approve }}", "not ".repeat(n * 2)),
            format!("let x = {}1\nrule r {{ when x > 1 approve }}", "- ".repeat(n * 2)),
            format!(
                "let x = {}0{}\nrule r {{ when x > 1 approve }}",
                "if days > 1 then 1 + (".repeat(n * 2 / 3),
                ") else 2".repeat(n * 2 / 3)
            ),
            format!(
                "rule r {{ when {}1{} > 1 approve }}",
                "count(returns where amount > round(".repeat(n * 2 / 3),
                ", 2))".repeat(n * 2 / 3)
            ),
            format!(
                "rule r {{ when item.category in [{}\"a\"{}] approve }}",
                "[".repeat(n * 2),
                "]".repeat(n * 2)
            ),
        ];
        for shape in shapes {
            let src = format!("{HEAD}let days = 3\n{shape}\n");
            let policy = crate::syntax::parse(&src);
            let Ok(policy) = policy else {
                panic!("{src}: {policy:?}");
            };
            assert!(recursion_bound(&policy, SHALLOW).is_some(), "{src}");
            let ran = std::thread::Builder::new()
                .stack_size(1 << 20)
                .spawn(move || super::super::check_here(&policy, &src).1.len())
                .map(|t| t.join().is_ok());
            assert_eq!(ran.ok(), Some(true));
        }
    }
}
