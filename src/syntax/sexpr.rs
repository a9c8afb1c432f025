//! A compact S-expression view of the tree, which makes parser snapshots short
//! and shows precedence at a glance: `(and (== return.reason "x") (<= d 7))`.

use std::fmt::{self, Display, Formatter, Write as _};

use super::ast::*;

impl Display for Policy {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            writeln!(f, "{item}")?;
        }
        Ok(())
    }
}

impl Display for Item {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Item::Header(h) => {
                write!(f, "(policy {:?}", h.title.value)?;
                for field in &h.fields {
                    match field {
                        HeaderField::Currency(t) => write!(f, " (currency {:?})", t.value)?,
                        HeaderField::Timezone(t) => write!(f, " (timezone {:?})", t.value)?,
                        HeaderField::Version(t) => write!(f, " (version {:?})", t.value)?,
                        HeaderField::Default(d, m) => {
                            write!(f, " (default {}", d.as_str())?;
                            if let Some(m) = m {
                                write!(f, " {:?}", m.value)?;
                            }
                            f.write_char(')')?;
                        }
                        HeaderField::Review(d) => write!(f, " (review {d})")?,
                        HeaderField::Refund(r) => write!(f, " {r}")?,
                    }
                }
                f.write_char(')')
            }
            Item::Set(b) => write!(f, "(set {} {})", b.name.name, b.value),
            Item::Let(b) => write!(f, "(let {} {})", b.name.name, b.value),
            Item::Values(v) => write!(f, "(values {} {})", v.field_name(), v.value),
            Item::Flag(flag) => {
                write!(f, "(flag {}", flag.name.name)?;
                clauses(f, flag.when.as_ref(), flag.unless.as_ref())?;
                if let Some((s, _)) = flag.score {
                    write!(f, " (score {s})")?;
                }
                if let Some(n) = &flag.note {
                    write!(f, " (note {:?})", n.value)?;
                }
                for r in &flag.restricts {
                    write!(f, " {r}")?;
                }
                f.write_char(')')
            }
            Item::Rule(r) => {
                write!(f, "(rule {}", r.name.name)?;
                if let Some(stage) = &r.stage {
                    write!(f, " (at {})", stage.name)?;
                }
                clauses(f, r.when.as_ref(), r.unless.as_ref())?;
                for e in &r.effects {
                    match e {
                        Effect::Decide {
                            decision,
                            message,
                            deadline,
                            ..
                        } => {
                            write!(f, " ({}", decision.as_str())?;
                            if let Some(m) = message {
                                write!(f, " {:?}", m.value)?;
                            }
                            if let Some(d) = deadline {
                                write!(f, " {d}")?;
                            }
                            f.write_char(')')?;
                        }
                        Effect::Deduct { amount, label, .. } => write!(f, " (deduct {amount} {:?})", label.value)?,
                        Effect::Refund(limit) => write!(f, " {limit}")?,
                        Effect::Restrict(r) => write!(f, " {r}")?,
                    }
                }
                f.write_char(')')
            }
            Item::Shipping(t) => {
                f.write_str("(shipping")?;
                for row in &t.rows {
                    write!(f, " ({}", row.value.name)?;
                    guard(f, row.guard.as_ref())?;
                }
                f.write_char(')')
            }
            Item::Refund(t) => {
                f.write_str("(refund")?;
                for row in &t.rows {
                    write!(f, " ({}", row.value)?;
                    guard(f, row.guard.as_ref())?;
                }
                f.write_char(')')
            }
        }
    }
}

impl Display for Deadline {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let unit = self.unit.word(self.amount).chars().next().unwrap_or('?');
        write!(f, "(within {}{unit} {})", self.amount, self.then.as_str())
    }
}

impl Display for RefundLimit {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match (&self.within, &self.of) {
            (Some((n, u)), of) => {
                let unit = u.word(*n).chars().next().unwrap_or('?');
                let of = of.as_ref().map_or("?", |o| o.name.as_str());
                write!(f, "(refund within {n}{unit} of {of})")
            }
            (None, _) => f.write_str("(refund at once)"),
        }
    }
}

impl Display for Restriction {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let unit = self.unit.word(self.amount).chars().next().unwrap_or('?');
        write!(f, "(restrict {} {}{unit}", self.kind.name, self.amount)?;
        if let Some(b) = &self.because {
            write!(f, " {:?}", b.value)?;
        }
        f.write_char(')')
    }
}

fn clauses(f: &mut Formatter<'_>, when: Option<&Expr>, unless: Option<&Expr>) -> fmt::Result {
    if let Some(w) = when {
        write!(f, " (when {w})")?;
    }
    if let Some(u) = unless {
        write!(f, " (unless {u})")?;
    }
    Ok(())
}

fn guard(f: &mut Formatter<'_>, g: Option<&Expr>) -> fmt::Result {
    match g {
        Some(g) => write!(f, " when {g})"),
        None => f.write_str(" otherwise)"),
    }
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ExprKind::Bool(b) => write!(f, "{b}"),
            ExprKind::Int(i) => write!(f, "{i}"),
            ExprKind::Dec(d) => write!(f, "{d}"),
            ExprKind::Percent(d) => write!(f, "{}%", (*d * rust_decimal::Decimal::ONE_HUNDRED).normalize()),
            ExprKind::Str(s) => write!(f, "{s:?}"),
            ExprKind::Duration(n, u) => write!(f, "{n}{}", u.word(*n).chars().next().unwrap_or('?')),
            ExprKind::Path(parts) => {
                let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
                f.write_str(&names.join("."))
            }
            ExprKind::List(items) => {
                f.write_char('[')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(' ')?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char(']')
            }
            ExprKind::Call(name, args) => {
                write!(f, "({}", name.name)?;
                for a in args {
                    write!(f, " {a}")?;
                }
                f.write_char(')')
            }
            ExprKind::Aggregate {
                func,
                source,
                field,
                window,
                filter,
            } => {
                let func = match func {
                    AggFn::Count => "count",
                    AggFn::Sum => "sum",
                };
                write!(f, "({func} {}", source.name)?;
                if let Some(field) = field {
                    write!(f, ".{}", field.name)?;
                }
                if let Some(w) = window {
                    write!(
                        f,
                        " (last {}{})",
                        w.amount,
                        w.unit.word(w.amount).chars().next().unwrap_or('?')
                    )?;
                }
                if let Some(filter) = filter {
                    write!(f, " (where {filter})")?;
                }
                f.write_char(')')
            }
            ExprKind::Unary(UnOp::Neg, x) => write!(f, "(- {x})"),
            ExprKind::Unary(UnOp::Not, x) => write!(f, "(not {x})"),
            ExprKind::Binary(op, a, b) => write!(f, "({} {a} {b})", op.symbol()),
            ExprKind::Is(x, true) => write!(f, "(present {x})"),
            ExprKind::Is(x, false) => write!(f, "(missing {x})"),
            ExprKind::If(c, a, b) => write!(f, "(if {c} {a} {b})"),
            ExprKind::Paren(x) => write!(f, "{x}"),
        }
    }
}
