//! Precedence for the flat operator sequences of the grammar. Loosest first:
//! `if … else` · `or` · `and` · `not` · comparisons and `is` · `+ -` · `* / of`
//! · unary `-`. Every tree it builds is at most [`MAX_NESTING`] deep.

use super::ast::{BinOp, Expr, ExprKind, UnOp};
use crate::diag::{Diagnostic, Span};
use crate::limits::MAX_NESTING;

pub(super) enum Token {
    Operand(Expr),
    Prefix(UnOp, Span),
    /// `if C then A else`, waiting for its else-branch.
    If(Expr, Expr, Span),
    Infix(BinOp, Span),
    /// `is present` (true) / `is missing` (false).
    Is(bool, Span),
}

const COMPARE: u8 = 7;

fn infix_power(op: BinOp) -> (u8, u8) {
    match op {
        BinOp::Or => (1, 2),
        BinOp::And => (3, 4),
        op if op.is_comparison() => (COMPARE, COMPARE + 1),
        BinOp::Add | BinOp::Sub => (9, 10),
        _ => (11, 12),
    }
}

fn prefix_power(op: UnOp) -> u8 {
    match op {
        UnOp::Not => 5,
        UnOp::Neg => 13,
    }
}

pub(super) fn build_expr(tokens: Vec<Token>, span: Span) -> Result<Expr, Diagnostic> {
    let mut b = Builder {
        tokens: tokens.into_iter().peekable(),
        span,
    };
    let (e, _) = b.expr(0, 1)?;
    Ok(e)
}

struct Builder {
    tokens: std::iter::Peekable<std::vec::IntoIter<Token>>,
    span: Span,
}

/// A tree and its depth.
type Built = (Expr, usize);

impl Builder {
    fn expr(&mut self, min_power: u8, depth: usize) -> Result<Built, Diagnostic> {
        let (mut lhs, mut lhs_depth) = self.prefix_or_operand(depth)?;
        let mut compared = false;
        loop {
            let (power, is) = match self.tokens.peek() {
                Some(Token::Infix(op, _)) => (infix_power(*op).0, false),
                Some(Token::Is(..)) => (COMPARE, true),
                _ => break,
            };
            if power < min_power {
                break;
            }
            let next = self.tokens.next();
            if power == COMPARE {
                if compared {
                    let at = match &next {
                        Some(Token::Infix(_, s) | Token::Is(_, s)) => *s,
                        _ => lhs.span,
                    };
                    return Err(Diagnostic::error("syntax", at, "comparisons cannot be chained")
                        .with_hint("join the two comparisons with `and`"));
                }
                compared = true;
            }
            let (kind, span, d) = match next {
                Some(Token::Is(present, s)) if is => {
                    let span = lhs.span.to(s);
                    (ExprKind::Is(Box::new(lhs), present), span, lhs_depth + 1)
                }
                Some(Token::Infix(op, _)) => {
                    let (rhs, rhs_depth) = self.expr(infix_power(op).1, depth + 1)?;
                    let span = lhs.span.to(rhs.span);
                    (
                        ExprKind::Binary(op, Box::new(lhs), Box::new(rhs)),
                        span,
                        lhs_depth.max(rhs_depth) + 1,
                    )
                }
                _ => return Err(self.incomplete()),
            };
            check_depth(d, span)?;
            lhs = Expr { kind, span };
            lhs_depth = d;
        }
        Ok((lhs, lhs_depth))
    }

    fn prefix_or_operand(&mut self, depth: usize) -> Result<Built, Diagnostic> {
        if depth > MAX_NESTING {
            return Err(too_deep(self.span));
        }
        match self.tokens.next() {
            Some(Token::Operand(e)) => {
                let d = expr_depth(&e);
                check_depth(d, e.span)?;
                Ok((e, d))
            }
            Some(Token::Prefix(op, s)) => {
                let (e, d) = self.expr(prefix_power(op), depth + 1)?;
                let span = s.to(e.span);
                check_depth(d + 1, span)?;
                Ok((
                    Expr {
                        kind: ExprKind::Unary(op, Box::new(e)),
                        span,
                    },
                    d + 1,
                ))
            }
            Some(Token::If(c, a, s)) => {
                let (b, d) = self.expr(0, depth + 1)?;
                let d = d.max(expr_depth(&c)).max(expr_depth(&a)) + 1;
                let span = s.to(b.span);
                check_depth(d, span)?;
                let kind = ExprKind::If(Box::new(c), Box::new(a), Box::new(b));
                Ok((Expr { kind, span }, d))
            }
            _ => Err(self.incomplete()),
        }
    }

    fn incomplete(&self) -> Diagnostic {
        Diagnostic::error("internal", self.span, "an expression the parser could not arrange")
    }
}

fn check_depth(depth: usize, span: Span) -> Result<(), Diagnostic> {
    if depth > MAX_NESTING {
        Err(too_deep(span))
    } else {
        Ok(())
    }
}

fn too_deep(span: Span) -> Diagnostic {
    Diagnostic::error(
        "too-deep",
        span,
        format!("this expression nests deeper than {MAX_NESTING} levels"),
    )
    .with_hint("name parts of it with `let`, or put long lists of values in a `set`")
}

/// Depth of a tree built by this module (so already bounded).
pub(crate) fn expr_depth(e: &Expr) -> usize {
    let children: Vec<&Expr> = match &e.kind {
        ExprKind::Paren(x) | ExprKind::Unary(_, x) | ExprKind::Is(x, _) => vec![x],
        ExprKind::Binary(_, a, b) => vec![a, b],
        ExprKind::If(a, b, c) => vec![a, b, c],
        ExprKind::List(xs) | ExprKind::Call(_, xs) => xs.iter().collect(),
        ExprKind::Aggregate { filter: Some(f), .. } => vec![f],
        _ => vec![],
    };
    1 + children.into_iter().map(expr_depth).max().unwrap_or(0)
}
