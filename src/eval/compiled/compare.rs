//! Compiled comparisons: `==`, `<` and the rest on values of a static type,
//! `ratio(a, b) <op> literal` by cross-multiplying where that is exact, and
//! membership in a list.

use super::*;

/// The longest list of strings a membership test compares item by item;
/// a longer one looks the needle up in the program's string table. On
/// rpl-bench's policy (lists of 4 and 5 strings) the lookup took 5% more
/// instructions per decision than comparing (callgrind); comparing costs a
/// few instructions per item, the lookup some sixty, shared by every list
/// the same text is tested against.
const SCAN_AT_MOST: usize = 16;

impl Compiler<'_> {
    pub(super) fn cmp(&mut self, op: Cmp, a: NodeId, b: NodeId, id: NodeId) -> Closure {
        let (ta, tb) = (self.ty(a), self.ty(b));
        let equality = matches!(op, Cmp::Eq | Cmp::Ne);
        match (ta, tb) {
            (Static::Int, Static::Int) | (Static::Dur, Static::Dur) => {
                let x = self.int(a);
                if let Some(Node::Lit(Lit::Int(lit) | Lit::Dur(lit))) = self.get(b) {
                    let lit = *lit;
                    return Closure::Bool(Box::new(move |f| {
                        f.steps += 1;
                        let x = x(f)?;
                        f.steps += 1;
                        Ok(holds(op, x.cmp(&lit)))
                    }));
                }
                let y = self.int(b);
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    Ok(holds(op, x.cmp(&y(f)?)))
                }))
            }
            (Static::Time, Static::Time) => {
                let (x, y) = (self.time(a), self.time(b));
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    Ok(holds(op, x.cmp(&y(f)?)))
                }))
            }
            (Static::Bool, Static::Bool) if equality => {
                let (x, y) = (self.bool(a), self.bool(b));
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    Ok((x == y(f)?) == (op == Cmp::Eq))
                }))
            }
            (Static::Str, Static::Str) if equality => {
                let eq = op == Cmp::Eq;
                let x = self.str(a);
                if let Some(Node::Lit(Lit::Str(lit))) = self.get(b) {
                    let lit = lit.clone();
                    return Closure::Bool(Box::new(move |f| {
                        f.steps += 1;
                        let x = x(f)?;
                        f.steps += 1;
                        Ok((x == lit) == eq)
                    }));
                }
                let y = self.str(b);
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    Ok((x == y(f)?) == eq)
                }))
            }
            (ta, tb) if ta.num() && tb.num() => {
                if let Some(code) = self.ratio_cmp(op, a, b) {
                    return code;
                }
                let x = self.dec(a);
                if let Some(Node::Lit(lit @ (Lit::Int(_) | Lit::Dec(_)))) = self.get(b) {
                    let lit = match lit {
                        Lit::Int(i) => Decimal::from(*i),
                        Lit::Dec(d) => *d,
                        _ => Decimal::ZERO,
                    };
                    return Closure::Bool(Box::new(move |f| {
                        f.steps += 1;
                        let x = x(f)?;
                        f.steps += 1;
                        Ok(holds(op, x.cmp(&lit)))
                    }));
                }
                let y = self.dec(b);
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    Ok(holds(op, x.cmp(&y(f)?)))
                }))
            }
            // Operands typed at run time: the tree walk's comparison.
            _ => {
                let (x, y) = (into_value(self.node(a)), into_value(self.node(b)));
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    let y = y(f)?;
                    value::compare(id, op, x, y)
                }))
            }
        }
    }

    /// `ratio(x, y) <op> literal` over whole numbers, compared without
    /// dividing: `x / y` against `m / 10^s` is `x * 10^s` against `m * y`
    /// (sides swapped when `y` is negative). Exact where it is used: with
    /// `|x|, |y| <= 10^6` and at most 6 places, two different values differ
    /// by at least 10^-12, far more than the 28-digit quotient's rounding, so
    /// the division the tree walk does orders them the same way. Outside
    /// those bounds it divides as the tree walk does.
    pub(super) fn ratio_cmp(&mut self, op: Cmp, a: NodeId, b: NodeId) -> Option<Closure> {
        const BOUND: i64 = 1_000_000;
        let Some(Node::Call(Func::Ratio, x, Some(y))) = self.get(a).cloned() else {
            return None;
        };
        let lit = match self.get(b) {
            Some(Node::Lit(Lit::Int(i))) => Decimal::from(*i),
            Some(Node::Lit(Lit::Dec(d))) => *d,
            _ => return None,
        };
        if self.ty(x) != Static::Int || self.ty(y) != Static::Int || lit.scale() > 6 || lit.abs() > Decimal::from(BOUND)
        {
            return None;
        }
        let (m, scale) = (lit.mantissa(), lit.scale());
        let pow = 10i128.pow(scale);
        let (x, y) = (self.int(x), self.int(y));
        let call = a;
        Some(Closure::Bool(Box::new(move |f| {
            f.steps += 2;
            let x = x(f)?;
            let y = y(f)?;
            f.steps += 1;
            let ord = if y == 0 {
                // ratio(x, 0) is 0.
                Decimal::ZERO.cmp(&lit)
            } else if x.abs() <= BOUND && y.abs() <= BOUND {
                let (left, right) = (i128::from(x) * pow, m * i128::from(y));
                if y > 0 { left.cmp(&right) } else { right.cmp(&left) }
            } else {
                let q = Decimal::from(x).checked_div(Decimal::from(y)).ok_or(overflow(call))?;
                q.cmp(&lit)
            };
            Ok(holds(op, ord))
        })))
    }

    pub(super) fn in_list(&mut self, needle: NodeId, list: NodeId, negated: bool, id: NodeId) -> Closure {
        let items = match self.get(list) {
            Some(Node::List(i)) => self.p.lists.get(*i as usize).cloned(),
            _ => None,
        };
        match (self.ty(needle), items) {
            // A long list: one lookup of the needle in the string table
            // (shared by every list the needle is tested against) and a bit
            // test, whatever the list's length.
            (Static::Str, Some(items)) if items.len() > SCAN_AT_MOST => {
                let set = self.symbol_set(&items);
                let needle = self.str(needle);
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let n = needle(f)?;
                    f.steps += 1;
                    Ok(f.symbol(n).is_some_and(|s| set.contains(s)) != negated)
                }))
            }
            // A short one: compared item by item, which costs less than the lookup.
            (Static::Str, Some(items)) => {
                let needle = self.str(needle);
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let n = needle(f)?;
                    f.steps += 1;
                    Ok(items.iter().any(|s| s == n) != negated)
                }))
            }
            // Any other needle or list (a case's tags, a joined list): the
            // tree walk's membership test, on the compiled needle.
            _ => {
                let needle = into_value(self.node(needle));
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let n = needle(f)?;
                    Ok(f.member(id, n, list)? != negated)
                }))
            }
        }
    }
}

pub(super) fn holds(op: Cmp, ord: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        Cmp::Eq => ord == Equal,
        Cmp::Ne => ord != Equal,
        Cmp::Lt => ord == Less,
        Cmp::Le => ord != Greater,
        Cmp::Gt => ord == Greater,
        Cmp::Ge => ord != Less,
    }
}
