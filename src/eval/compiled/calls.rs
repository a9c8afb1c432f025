//! Compiled arithmetic and function calls.

use super::*;

impl Compiler<'_> {
    pub(super) fn neg(&mut self, x: NodeId, id: NodeId, ty: Static) -> Closure {
        match ty {
            Static::Int | Static::Dur => {
                let x = self.int(x);
                let c: Fun<i64> = Box::new(move |f| {
                    f.steps += 1;
                    x(f)?.checked_neg().ok_or(overflow(id))
                });
                if ty == Static::Int {
                    Closure::Int(c)
                } else {
                    Closure::Dur(c)
                }
            }
            Static::Dec => {
                let x = self.dec(x);
                Closure::Dec(Box::new(move |f| {
                    f.steps += 1;
                    Ok(-x(f)?)
                }))
            }
            _ => {
                let x = into_value(self.node(x));
                Closure::Value(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    value::negate(id, x)
                }))
            }
        }
    }

    pub(super) fn arith(&mut self, op: Arith, a: NodeId, b: NodeId, id: NodeId, ty: Static) -> Closure {
        let (ta, tb) = (self.ty(a), self.ty(b));
        match (ty, ta, tb) {
            (Static::Int, Static::Int, Static::Int) => {
                let (x, y) = (self.int(a), self.int(b));
                let op: fn(i64, i64) -> Option<i64> = match op {
                    Arith::Add => i64::checked_add,
                    Arith::Sub => i64::checked_sub,
                    Arith::Mul => i64::checked_mul,
                    Arith::Div => return generic(id),
                };
                Closure::Int(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    op(x, y(f)?).ok_or(overflow(id))
                }))
            }
            (Static::Dec, _, _) if ta.num() && tb.num() => {
                let (x, y) = (self.dec(a), self.dec(b));
                Closure::Dec(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    let y = y(f)?;
                    value::dec_arith(id, op, x, y)
                }))
            }
            // Times and durations: the tree walk's own arithmetic, on typed operands.
            _ => {
                let (x, y) = (into_value(self.node(a)), into_value(self.node(b)));
                let value = val(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    value::arith(id, op, x, y(f)?)
                });
                typed_from_value(ty, id, value)
            }
        }
    }

    pub(super) fn call(&mut self, func: Func, a: NodeId, b: Option<NodeId>, id: NodeId, ty: Static) -> Closure {
        if ty == Static::Other {
            // Arguments typed at run time, lower() and len(): the tree walk's
            // function on the compiled arguments.
            let x = into_value(self.node(a));
            let y = b.map(|b| into_value(self.node(b)));
            return Closure::Value(Box::new(move |f| {
                f.steps += 1;
                let x = x(f)?;
                let y = match &y {
                    Some(y) => y(f)?,
                    None => x,
                };
                f.apply(id, func, a, x, y)
            }));
        }
        match func {
            Func::DaysSince => {
                let t = self.time(a);
                Closure::Int(Box::new(move |f| {
                    f.steps += 1;
                    let t = t(f)?;
                    Ok(f.days_since(t))
                }))
            }
            Func::HoursSince => {
                let t = self.time(a);
                Closure::Int(Box::new(move |f| {
                    f.steps += 1;
                    let t = t(f)?;
                    Ok((f.now - t).num_hours())
                }))
            }
            Func::Ratio => {
                let x = self.dec(a);
                let y = match b {
                    Some(b) => self.dec(b),
                    None => return generic(id),
                };
                Closure::Dec(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    let y = y(f)?;
                    if y.is_zero() {
                        return Ok(Decimal::ZERO);
                    }
                    x.checked_div(y).ok_or(overflow(id))
                }))
            }
            // min, max, round, abs: the tree walk's own operations on typed operands.
            Func::Min | Func::Max | Func::Round | Func::Abs => {
                let x = into_value(self.node(a));
                let y = b.map(|b| into_value(self.node(b)));
                let value = val(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    let y = match &y {
                        Some(y) => y(f)?,
                        None => x,
                    };
                    match func {
                        Func::Min => value::pick(id, x, y, false),
                        Func::Max => value::pick(id, x, y, true),
                        Func::Round => value::round(id, x, y),
                        _ => value::abs(id, x),
                    }
                });
                typed_from_value(ty, id, value)
            }
            Func::Lower | Func::Len => generic(id),
        }
    }
}

pub(super) fn arith_type(op: Arith, a: Static, b: Static) -> Static {
    match (op, a, b) {
        (Arith::Add | Arith::Sub | Arith::Mul, Static::Int, Static::Int) => Static::Int,
        (Arith::Add, Static::Time, Static::Dur)
        | (Arith::Add, Static::Dur, Static::Time)
        | (Arith::Sub, Static::Time, Static::Dur) => Static::Time,
        (Arith::Sub, Static::Time, Static::Time) => Static::Dur,
        (Arith::Add | Arith::Sub, Static::Dur, Static::Dur) => Static::Dur,
        (Arith::Mul, Static::Dur, Static::Int) | (Arith::Mul, Static::Int, Static::Dur) => Static::Dur,
        (_, a, b) if a.num() && b.num() => Static::Dec,
        _ => Static::Other,
    }
}
