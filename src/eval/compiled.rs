//! The compiled form of a program's expressions: each root expression (a
//! condition, an amount, a let's body, an aggregate's filter) becomes a tree
//! of closures, one per node, each returning its value in its static type —
//! a `bool`, an `i64`, a `Decimal`, a `&str`, a time — instead of a tagged
//! [`Value`]. Evaluation then does no dispatch on node kinds or value tags.
//!
//! A node whose type is known only at run time (an attribute, or anything
//! computed from one) is compiled too, to a closure returning a [`Value`] and
//! applying the tree walk's own operation (`value::compare`, `value::arith`,
//! `Frame::apply`, `Frame::member`) to its compiled operands. Only list
//! values (constant lists, joined lists, a case's tags) are left to the tree
//! walk, which walks them in place.
//!
//! The tree walk in `frame.rs` stays the reference: explaining uses it (it
//! records every node's value). A compiled node does exactly what the tree
//! walk does — the same operations in the same order, the same errors on the
//! same nodes, the same step count — which `judge_reference` lets the tests
//! hold it to (the smoke fuzz, the semantics suite and the verdict snapshots
//! compare the two on every input they judge).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::frame::Frame;
use super::value::{self, ErrKind, EvalError, Kind, Value, type_error};
use crate::ir::schema::{EventField, Field};
use crate::ir::{Arith, Checked, Cmp, Func, Lit, Node, NodeId, Ty};
use crate::data::Case;
use crate::history::Event;
use crate::syntax::ast::AggFn;

type R<T> = Result<T, EvalError>;
type Time = DateTime<Utc>;

pub(super) type Fun<T> = Box<dyn for<'a> Fn(&mut Frame<'a>) -> R<T> + Send + Sync>;
pub(super) type StrFun = Box<dyn for<'a> Fn(&mut Frame<'a>) -> R<&'a str> + Send + Sync>;
pub(super) type ValFun = Box<dyn for<'a> Fn(&mut Frame<'a>) -> R<Value<'a>> + Send + Sync>;

/// A compiled node, by its static type.
pub(super) enum Typed {
    Bool(Fun<bool>),
    Int(Fun<i64>),
    Dec(Fun<Decimal>),
    Str(StrFun),
    Time(Fun<Time>),
    /// Seconds.
    Dur(Fun<i64>),
    /// A node typed only at run time: evaluated by the tree walk.
    Value(ValFun),
}

/// The compiled roots of a program, by node id, and the bodies of its lets.
#[derive(Clone, Default)]
pub struct Code {
    roots: Arc<[Option<Typed>]>,
    lets: Arc<[Typed]>,
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let roots = self.roots.iter().filter(|r| r.is_some()).count();
        write!(f, "Code {{ roots: {roots}, lets: {} }}", self.lets.len())
    }
}

impl Code {
    pub(super) fn root(&self, id: NodeId) -> Option<&Typed> {
        self.roots.get(id as usize)?.as_ref()
    }

    pub(super) fn let_body(&self, i: usize) -> Option<&Typed> {
        self.lets.get(i)
    }
}

pub(crate) fn compile(p: &Checked) -> Code {
    let mut c = Compiler {
        p,
        let_types: vec![None; p.lets.len()],
    };
    let mut roots: Vec<Option<Typed>> = Vec::new();
    roots.resize_with(p.nodes.len(), || None);
    let mut condition = |c: &mut Compiler, id: Option<NodeId>| {
        if let Some(id) = id
            && let Some(slot) = roots.get_mut(id as usize)
        {
            *slot = Some(Typed::Bool(c.bool(id)));
        }
    };
    for flag in &p.flags {
        condition(&mut c, flag.when);
        condition(&mut c, flag.unless);
    }
    for rule in &p.rules {
        condition(&mut c, rule.when);
        condition(&mut c, rule.unless);
    }
    for row in &p.shipping {
        condition(&mut c, row.guard);
    }
    for row in &p.refund {
        condition(&mut c, row.guard);
    }
    for agg in &p.aggs {
        condition(&mut c, agg.filter);
    }
    let amounts = p.rules.iter().flat_map(|r| r.deducts.iter().map(|(a, _)| *a));
    for id in amounts.chain(p.refund.iter().map(|r| r.value)) {
        let code = c.node(id);
        if let Some(slot) = roots.get_mut(id as usize) {
            *slot = Some(code);
        }
    }
    let lets = (0..p.lets.len()).map(|i| c.node(p.lets[i].body)).collect();
    Code {
        roots: roots.into(),
        lets,
    }
}

/// A static type, as far as the compiler can be sure of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Bool,
    Int,
    Dec,
    Str,
    Time,
    Dur,
    /// Known only at run time, or a list.
    Other,
}

impl T {
    fn of(ty: Ty) -> T {
        match ty {
            Ty::Bool => T::Bool,
            Ty::Int => T::Int,
            Ty::Dec => T::Dec,
            Ty::Str => T::Str,
            Ty::Time => T::Time,
            Ty::Dur => T::Dur,
            Ty::List | Ty::Dyn | Ty::Error => T::Other,
        }
    }

    fn num(self) -> bool {
        matches!(self, T::Int | T::Dec)
    }
}

fn missing(node: NodeId) -> EvalError {
    EvalError {
        node,
        kind: ErrKind::Missing,
    }
}

fn overflow(node: NodeId) -> EvalError {
    EvalError {
        node,
        kind: ErrKind::Overflow,
    }
}

struct Compiler<'p> {
    p: &'p Checked,
    let_types: Vec<Option<T>>,
}

impl Compiler<'_> {
    fn get(&self, id: NodeId) -> Option<&Node> {
        self.p.nodes.get(id as usize)
    }

    /// The static type of a node's value.
    fn ty(&mut self, id: NodeId) -> T {
        let Some(node) = self.get(id) else {
            return T::Other;
        };
        match node {
            Node::Lit(l) => match l {
                Lit::Bool(_) => T::Bool,
                Lit::Int(_) => T::Int,
                Lit::Dec(_) => T::Dec,
                Lit::Str(_) => T::Str,
                Lit::Time(_) => T::Time,
                Lit::Dur(_) => T::Dur,
            },
            Node::List(_) | Node::Concat(..) | Node::Attr(_) => T::Other,
            Node::Field(f) => T::of(crate::ir::schema::field_info(*f).ty),
            Node::Event(f) => event_type(*f),
            Node::Let(i) => {
                let i = *i as usize;
                if let Some(Some(t)) = self.let_types.get(i) {
                    return *t;
                }
                let t = match self.p.lets.get(i) {
                    Some(l) => self.ty(l.body),
                    None => T::Other,
                };
                if let Some(slot) = self.let_types.get_mut(i) {
                    *slot = Some(t);
                }
                t
            }
            Node::Agg(i) => match self.p.aggs.get(*i as usize).map(|a| a.func) {
                Some(AggFn::Count) => T::Int,
                Some(AggFn::Sum) => T::Dec,
                None => T::Other,
            },
            Node::Risk => T::Int,
            Node::Now => T::Time,
            Node::Not(_) | Node::And(..) | Node::Or(..) | Node::Cmp(..) | Node::In(..) | Node::Is(..) => T::Bool,
            Node::Neg(x) => match self.ty(*x) {
                t @ (T::Int | T::Dec | T::Dur) => t,
                _ => T::Other,
            },
            Node::If(_, a, b) => {
                let (a, b) = (*a, *b);
                let t = self.ty(a);
                if t == self.ty(b) { t } else { T::Other }
            }
            Node::Arith(op, a, b) => {
                let (op, a, b) = (*op, *a, *b);
                arith_type(op, self.ty(a), self.ty(b))
            }
            Node::Call(f, a, b) => {
                let (f, a, b) = (*f, *a, *b);
                let ta = self.ty(a);
                let tb = match b {
                    Some(b) => self.ty(b),
                    None => ta,
                };
                match f {
                    Func::DaysSince | Func::HoursSince if ta == T::Time => T::Int,
                    Func::Min | Func::Max if ta == tb && matches!(ta, T::Int | T::Dec | T::Time | T::Dur) => ta,
                    Func::Round if ta.num() && tb == T::Int && b.is_some() => T::Dec,
                    Func::Abs if matches!(ta, T::Int | T::Dec | T::Dur) => ta,
                    Func::Ratio if ta.num() && tb.num() => T::Dec,
                    _ => T::Other,
                }
            }
        }
    }

    /// Compiles a node in its static type, or as a call into the tree walk.
    fn node(&mut self, id: NodeId) -> Typed {
        let Some(node) = self.get(id).cloned() else {
            return generic(id);
        };
        let ty = self.ty(id);
        match node {
            Node::Lit(l) => match l {
                Lit::Bool(b) => Typed::Bool(Box::new(move |f| {
                    f.steps += 1;
                    Ok(b)
                })),
                Lit::Int(i) => Typed::Int(Box::new(move |f| {
                    f.steps += 1;
                    Ok(i)
                })),
                Lit::Dec(d) => Typed::Dec(Box::new(move |f| {
                    f.steps += 1;
                    Ok(d)
                })),
                Lit::Time(t) => Typed::Time(Box::new(move |f| {
                    f.steps += 1;
                    Ok(t)
                })),
                Lit::Dur(d) => Typed::Dur(Box::new(move |f| {
                    f.steps += 1;
                    Ok(d)
                })),
                Lit::Str(_) => Typed::Str(Box::new(move |f| {
                    f.steps += 1;
                    // The literal itself, borrowed from the program for the frame's lifetime.
                    match f.p.ir.nodes.get(id as usize) {
                        Some(Node::Lit(Lit::Str(s))) => Ok(s.as_str()),
                        _ => Err(missing(id)),
                    }
                })),
            },
            Node::Field(field) => field_code(field, id),
            Node::Attr(slot) => Typed::Value(Box::new(move |f| {
                f.steps += 1;
                f.attr(slot, id)
            })),
            Node::Event(field) => event_code(field, id),
            Node::Let(i) => self.let_code(i as usize, id, ty),
            Node::Agg(i) => self.agg_code(i as usize, id, ty),
            Node::Risk => Typed::Int(Box::new(|f| {
                f.steps += 1;
                Ok(f.risk)
            })),
            Node::Now => Typed::Time(Box::new(|f| {
                f.steps += 1;
                Ok(f.now)
            })),
            Node::Not(x) => {
                let x = self.bool(x);
                Typed::Bool(Box::new(move |f| {
                    f.steps += 1;
                    Ok(!x(f)?)
                }))
            }
            Node::And(a, b) => {
                let (a, b) = (self.bool(a), self.bool(b));
                Typed::Bool(Box::new(move |f| {
                    f.steps += 1;
                    Ok(a(f)? && b(f)?)
                }))
            }
            Node::Or(a, b) => {
                let (a, b) = (self.bool(a), self.bool(b));
                Typed::Bool(Box::new(move |f| {
                    f.steps += 1;
                    Ok(a(f)? || b(f)?)
                }))
            }
            Node::Neg(x) => self.neg(x, id, ty),
            Node::If(c, a, b) => {
                let c = self.bool(c);
                match (self.node(a), self.node(b)) {
                    (Typed::Bool(a), Typed::Bool(b)) => Typed::Bool(branch(c, a, b)),
                    (Typed::Int(a), Typed::Int(b)) => Typed::Int(branch(c, a, b)),
                    (Typed::Dec(a), Typed::Dec(b)) => Typed::Dec(branch(c, a, b)),
                    (Typed::Time(a), Typed::Time(b)) => Typed::Time(branch(c, a, b)),
                    (Typed::Dur(a), Typed::Dur(b)) => Typed::Dur(branch(c, a, b)),
                    (a, b) => {
                        let (a, b) = (into_value(a), into_value(b));
                        Typed::Value(Box::new(move |f| {
                            f.steps += 1;
                            if c(f)? { a(f) } else { b(f) }
                        }))
                    }
                }
            }
            Node::Cmp(op, a, b) => self.cmp(op, a, b, id),
            Node::In(needle, list, negated) => self.in_list(needle, list, negated, id),
            Node::Arith(op, a, b) => self.arith(op, a, b, id, ty),
            Node::Is(x, present) => {
                let x = self.unit(x);
                Typed::Bool(Box::new(move |f| {
                    f.steps += 1;
                    match x(f) {
                        Ok(()) => Ok(present),
                        Err(e) if e.kind == ErrKind::Missing => Ok(!present),
                        Err(e) => Err(e),
                    }
                }))
            }
            Node::Call(func, a, b) => self.call(func, a, b, id, ty),
            Node::List(_) | Node::Concat(..) => generic(id),
        }
    }

    fn bool(&mut self, id: NodeId) -> Fun<bool> {
        match self.node(id) {
            Typed::Bool(c) => c,
            other => {
                let v = into_value(other);
                Box::new(move |f| match v(f)? {
                    Value::Bool(b) => Ok(b),
                    other => Err(type_error(id, Kind::Boolean, &other)),
                })
            }
        }
    }

    /// A number as a decimal, as the tree walk's `as_dec` reads it.
    fn dec(&mut self, id: NodeId) -> Fun<Decimal> {
        match self.node(id) {
            Typed::Dec(c) => c,
            Typed::Int(c) => Box::new(move |f| Ok(Decimal::from(c(f)?))),
            other => {
                let v = into_value(other);
                Box::new(move |f| {
                    let v = v(f)?;
                    v.as_dec().ok_or_else(|| type_error(id, Kind::Number, &v))
                })
            }
        }
    }

    fn int(&mut self, id: NodeId) -> Fun<i64> {
        match self.node(id) {
            Typed::Int(c) | Typed::Dur(c) => c,
            other => {
                let v = into_value(other);
                Box::new(move |f| match v(f)? {
                    Value::Int(i) | Value::Dur(i) => Ok(i),
                    other => Err(type_error(id, Kind::WholeNumber, &other)),
                })
            }
        }
    }

    fn time(&mut self, id: NodeId) -> Fun<Time> {
        match self.node(id) {
            Typed::Time(c) => c,
            other => {
                let v = into_value(other);
                Box::new(move |f| match v(f)? {
                    Value::Time(t) => Ok(t),
                    other => Err(type_error(id, Kind::Time, &other)),
                })
            }
        }
    }

    fn str(&mut self, id: NodeId) -> StrFun {
        match self.node(id) {
            Typed::Str(c) => c,
            other => {
                let v = into_value(other);
                Box::new(move |f| match v(f)? {
                    Value::Str(s) => Ok(s),
                    other => Err(type_error(id, Kind::String, &other)),
                })
            }
        }
    }

    /// A node evaluated for whether it succeeds (`is present`).
    fn unit(&mut self, id: NodeId) -> Fun<()> {
        match self.node(id) {
            Typed::Bool(c) => Box::new(move |f| c(f).map(drop)),
            Typed::Int(c) | Typed::Dur(c) => Box::new(move |f| c(f).map(drop)),
            Typed::Dec(c) => Box::new(move |f| c(f).map(drop)),
            Typed::Time(c) => Box::new(move |f| c(f).map(drop)),
            Typed::Str(c) => Box::new(move |f| c(f).map(drop)),
            Typed::Value(c) => Box::new(move |f| c(f).map(drop)),
        }
    }

    fn let_code(&mut self, i: usize, id: NodeId, ty: T) -> Typed {
        // Reads the let's cached value, or computes it with the let's compiled
        // body and caches it, as the tree walk does.
        fn cached<'a>(f: &mut Frame<'a>, i: usize) -> Option<R<Value<'a>>> {
            f.lets.get(i).copied().flatten()
        }
        fn compute<'a>(f: &mut Frame<'a>, i: usize, id: NodeId) -> R<Value<'a>> {
            let p = f.p;
            let r = match p.code.let_body(i) {
                Some(body) => run(body, f),
                None => Err(missing(id)),
            };
            if let Some(slot) = f.lets.get_mut(i) {
                *slot = Some(r);
            }
            r
        }
        let value = val(move |f| {
            f.steps += 1;
            match cached(f, i) {
                Some(r) => r,
                None => compute(f, i, id),
            }
        });
        typed_from_value(ty, id, value)
    }

    fn agg_code(&mut self, i: usize, id: NodeId, ty: T) -> Typed {
        let value = val(move |f| {
            f.steps += 1;
            if let Some(cached) = f.aggs.get(i).copied().flatten() {
                return cached;
            }
            let r = f.aggregate(i, id);
            if let Some(slot) = f.aggs.get_mut(i) {
                *slot = Some(r);
            }
            r
        });
        typed_from_value(ty, id, value)
    }

    fn neg(&mut self, x: NodeId, id: NodeId, ty: T) -> Typed {
        match ty {
            T::Int | T::Dur => {
                let x = self.int(x);
                let c: Fun<i64> = Box::new(move |f| {
                    f.steps += 1;
                    x(f)?.checked_neg().ok_or(overflow(id))
                });
                if ty == T::Int { Typed::Int(c) } else { Typed::Dur(c) }
            }
            T::Dec => {
                let x = self.dec(x);
                Typed::Dec(Box::new(move |f| {
                    f.steps += 1;
                    Ok(-x(f)?)
                }))
            }
            _ => {
                let x = into_value(self.node(x));
                Typed::Value(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    value::negate(id, x)
                }))
            }
        }
    }

    fn cmp(&mut self, op: Cmp, a: NodeId, b: NodeId, id: NodeId) -> Typed {
        let (ta, tb) = (self.ty(a), self.ty(b));
        let equality = matches!(op, Cmp::Eq | Cmp::Ne);
        match (ta, tb) {
            (T::Int, T::Int) | (T::Dur, T::Dur) => {
                let x = self.int(a);
                if let Some(Node::Lit(Lit::Int(lit) | Lit::Dur(lit))) = self.get(b) {
                    let lit = *lit;
                    return Typed::Bool(Box::new(move |f| {
                        f.steps += 1;
                        let x = x(f)?;
                        f.steps += 1;
                        Ok(holds(op, x.cmp(&lit)))
                    }));
                }
                let y = self.int(b);
                Typed::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    Ok(holds(op, x.cmp(&y(f)?)))
                }))
            }
            (T::Time, T::Time) => {
                let (x, y) = (self.time(a), self.time(b));
                Typed::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    Ok(holds(op, x.cmp(&y(f)?)))
                }))
            }
            (T::Bool, T::Bool) if equality => {
                let (x, y) = (self.bool(a), self.bool(b));
                Typed::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    Ok((x == y(f)?) == (op == Cmp::Eq))
                }))
            }
            (T::Str, T::Str) if equality => {
                let eq = op == Cmp::Eq;
                let x = self.str(a);
                if let Some(Node::Lit(Lit::Str(lit))) = self.get(b) {
                    let lit = lit.clone();
                    return Typed::Bool(Box::new(move |f| {
                        f.steps += 1;
                        let x = x(f)?;
                        f.steps += 1;
                        Ok((x == lit) == eq)
                    }));
                }
                let y = self.str(b);
                Typed::Bool(Box::new(move |f| {
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
                    return Typed::Bool(Box::new(move |f| {
                        f.steps += 1;
                        let x = x(f)?;
                        f.steps += 1;
                        Ok(holds(op, x.cmp(&lit)))
                    }));
                }
                let y = self.dec(b);
                Typed::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    Ok(holds(op, x.cmp(&y(f)?)))
                }))
            }
            // Operands typed at run time: the tree walk's comparison.
            _ => {
                let (x, y) = (into_value(self.node(a)), into_value(self.node(b)));
                Typed::Bool(Box::new(move |f| {
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
    fn ratio_cmp(&mut self, op: Cmp, a: NodeId, b: NodeId) -> Option<Typed> {
        const BOUND: i64 = 1_000_000;
        let Some(Node::Call(Func::Ratio, x, Some(y))) = self.get(a).cloned() else {
            return None;
        };
        let lit = match self.get(b) {
            Some(Node::Lit(Lit::Int(i))) => Decimal::from(*i),
            Some(Node::Lit(Lit::Dec(d))) => *d,
            _ => return None,
        };
        if self.ty(x) != T::Int || self.ty(y) != T::Int || lit.scale() > 6 || lit.abs() > Decimal::from(BOUND) {
            return None;
        }
        let (m, scale) = (lit.mantissa(), lit.scale());
        let pow = 10i128.pow(scale);
        let (x, y) = (self.int(x), self.int(y));
        let call = a;
        Some(Typed::Bool(Box::new(move |f| {
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

    fn in_list(&mut self, needle: NodeId, list: NodeId, negated: bool, id: NodeId) -> Typed {
        let items = match self.get(list) {
            Some(Node::List(i)) => self.p.lists.get(*i as usize).cloned(),
            _ => None,
        };
        match (self.ty(needle), items) {
            (T::Str, Some(items)) => {
                let needle = self.str(needle);
                Typed::Bool(Box::new(move |f| {
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
                Typed::Bool(Box::new(move |f| {
                    f.steps += 1;
                    let n = needle(f)?;
                    Ok(f.member(id, n, list)? != negated)
                }))
            }
        }
    }

    fn arith(&mut self, op: Arith, a: NodeId, b: NodeId, id: NodeId, ty: T) -> Typed {
        let (ta, tb) = (self.ty(a), self.ty(b));
        match (ty, ta, tb) {
            (T::Int, T::Int, T::Int) => {
                let (x, y) = (self.int(a), self.int(b));
                let op: fn(i64, i64) -> Option<i64> = match op {
                    Arith::Add => i64::checked_add,
                    Arith::Sub => i64::checked_sub,
                    Arith::Mul => i64::checked_mul,
                    Arith::Div => return generic(id),
                };
                Typed::Int(Box::new(move |f| {
                    f.steps += 1;
                    let x = x(f)?;
                    op(x, y(f)?).ok_or(overflow(id))
                }))
            }
            (T::Dec, _, _) if ta.num() && tb.num() => {
                let (x, y) = (self.dec(a), self.dec(b));
                Typed::Dec(Box::new(move |f| {
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

    fn call(&mut self, func: Func, a: NodeId, b: Option<NodeId>, id: NodeId, ty: T) -> Typed {
        if ty == T::Other {
            // Arguments typed at run time, lower() and len(): the tree walk's
            // function on the compiled arguments.
            let x = into_value(self.node(a));
            let y = b.map(|b| into_value(self.node(b)));
            return Typed::Value(Box::new(move |f| {
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
                Typed::Int(Box::new(move |f| {
                    f.steps += 1;
                    let t = t(f)?;
                    Ok(f.days_since(t))
                }))
            }
            Func::HoursSince => {
                let t = self.time(a);
                Typed::Int(Box::new(move |f| {
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
                Typed::Dec(Box::new(move |f| {
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

fn event_type(f: EventField) -> T {
    match f {
        EventField::OrderId
        | EventField::ReturnId
        | EventField::ReturnOrderId
        | EventField::ReturnType
        | EventField::ReturnReason
        | EventField::ReturnStatus => T::Str,
        EventField::OrderPlacedAt | EventField::ReturnRequestedAt => T::Time,
        EventField::OrderTotal | EventField::ReturnAmount => T::Dec,
        EventField::OrderTags => T::Other,
    }
}

fn arith_type(op: Arith, a: T, b: T) -> T {
    match (op, a, b) {
        (Arith::Add | Arith::Sub | Arith::Mul, T::Int, T::Int) => T::Int,
        (Arith::Add, T::Time, T::Dur) | (Arith::Add, T::Dur, T::Time) | (Arith::Sub, T::Time, T::Dur) => T::Time,
        (Arith::Sub, T::Time, T::Time) => T::Dur,
        (Arith::Add | Arith::Sub, T::Dur, T::Dur) => T::Dur,
        (Arith::Mul, T::Dur, T::Int) | (Arith::Mul, T::Int, T::Dur) => T::Dur,
        (_, a, b) if a.num() && b.num() => T::Dec,
        _ => T::Other,
    }
}

fn holds(op: Cmp, ord: std::cmp::Ordering) -> bool {
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

fn branch<V: 'static>(c: Fun<bool>, a: Fun<V>, b: Fun<V>) -> Fun<V> {
    Box::new(move |f| {
        f.steps += 1;
        if c(f)? { a(f) } else { b(f) }
    })
}

/// The tree walk, for a node the compiler does not type.
fn generic(id: NodeId) -> Typed {
    Typed::Value(Box::new(move |f| f.eval(id)))
}

/// Runs compiled code for its value.
pub(super) fn run<'a>(code: &Typed, f: &mut Frame<'a>) -> R<Value<'a>> {
    Ok(match code {
        Typed::Bool(c) => Value::Bool(c(f)?),
        Typed::Int(c) => Value::Int(c(f)?),
        Typed::Dec(c) => Value::Dec(c(f)?),
        Typed::Str(c) => Value::Str(c(f)?),
        Typed::Time(c) => Value::Time(c(f)?),
        Typed::Dur(c) => Value::Dur(c(f)?),
        Typed::Value(c) => c(f)?,
    })
}

fn into_value(code: Typed) -> ValFun {
    match code {
        Typed::Value(c) => c,
        other => Box::new(move |f| run(&other, f)),
    }
}

/// Gives a closure that computes a [`Value`] its higher-ranked type.
fn val<G>(g: G) -> G
where
    G: for<'a> Fn(&mut Frame<'a>) -> R<Value<'a>> + Send + Sync + 'static,
{
    g
}

/// A node computed as a [`Value`], read in its static type.
fn typed_from_value<G>(ty: T, id: NodeId, g: G) -> Typed
where
    G: for<'a> Fn(&mut Frame<'a>) -> R<Value<'a>> + Send + Sync + 'static,
{
    let wrong = move |v: &Value<'_>, kind: Kind| type_error(id, kind, v);
    match ty {
        T::Bool => Typed::Bool(Box::new(move |f| match g(f)? {
            Value::Bool(b) => Ok(b),
            v => Err(wrong(&v, Kind::Boolean)),
        })),
        T::Int => Typed::Int(Box::new(move |f| match g(f)? {
            Value::Int(i) => Ok(i),
            v => Err(wrong(&v, Kind::WholeNumber)),
        })),
        T::Dec => Typed::Dec(Box::new(move |f| match g(f)? {
            Value::Dec(d) => Ok(d),
            v => Err(wrong(&v, Kind::Decimal)),
        })),
        T::Str => Typed::Str(Box::new(move |f| match g(f)? {
            Value::Str(s) => Ok(s),
            v => Err(wrong(&v, Kind::String)),
        })),
        T::Time => Typed::Time(Box::new(move |f| match g(f)? {
            Value::Time(t) => Ok(t),
            v => Err(wrong(&v, Kind::Time)),
        })),
        T::Dur => Typed::Dur(Box::new(move |f| match g(f)? {
            Value::Dur(d) => Ok(d),
            v => Err(wrong(&v, Kind::Duration)),
        })),
        T::Other => Typed::Value(Box::new(g)),
    }
}

fn case_str<G>(id: NodeId, get: G) -> Typed
where
    G: for<'a> Fn(&'a Case) -> &'a str + Send + Sync + 'static,
{
    Typed::Str(Box::new(move |f| {
        f.steps += 1;
        f.case.map(&get).ok_or(missing(id))
    }))
}

fn case_val<V, G>(id: NodeId, get: G, wrap: fn(Fun<V>) -> Typed) -> Typed
where
    V: 'static,
    G: Fn(&Case) -> Option<V> + Send + Sync + 'static,
{
    wrap(Box::new(move |f| {
        f.steps += 1;
        f.case.and_then(&get).ok_or(missing(id))
    }))
}

fn line_str<G>(id: NodeId, get: G) -> Typed
where
    G: for<'a> Fn(&'a crate::data::ReturnLine) -> &'a str + Send + Sync + 'static,
{
    Typed::Str(Box::new(move |f| {
        f.steps += 1;
        match (f.case, f.line) {
            (Some(_), Some(l)) => Ok(get(l)),
            _ => Err(missing(id)),
        }
    }))
}

fn line_val<V, G>(id: NodeId, get: G, wrap: fn(Fun<V>) -> Typed) -> Typed
where
    V: 'static,
    G: Fn(&crate::data::ReturnLine) -> V + Send + Sync + 'static,
{
    wrap(Box::new(move |f| {
        f.steps += 1;
        match (f.case, f.line) {
            (Some(_), Some(l)) => Ok(get(l)),
            _ => Err(missing(id)),
        }
    }))
}

fn field_code(field: Field, id: NodeId) -> Typed {
    match field {
        Field::OrderId => case_str(id, |c| c.order.id.as_str()),
        Field::OrderCustomerId => case_str(id, |c| c.order.customer_id.as_str()),
        Field::OrderCurrency => case_str(id, |c| c.order.currency.as_str()),
        Field::OrderPlacedAt => case_val(id, |c| Some(c.order.placed_at), Typed::Time),
        Field::OrderPaidAt => case_val(id, |c| c.order.paid_at, Typed::Time),
        Field::OrderShippedAt => case_val(id, |c| c.order.shipped_at, Typed::Time),
        Field::OrderDeliveredAt => case_val(id, |c| c.order.delivered_at, Typed::Time),
        Field::OrderTotal => case_val(id, |c| Some(c.order.total), Typed::Dec),
        Field::OrderShippingFee => case_val(id, |c| Some(c.order.shipping_fee), Typed::Dec),
        Field::OrderShippingInsurance => case_val(id, |c| Some(c.order.shipping_insurance), Typed::Bool),
        Field::ItemSku => line_str(id, |l| l.sku.as_str()),
        Field::ItemCategory => line_str(id, |l| l.category.as_str()),
        Field::ItemUnitPrice => line_val(id, |l| l.unit_price, Typed::Dec),
        Field::ItemQuantity => line_val(id, |l| l.quantity, Typed::Int),
        Field::ItemOrderedQuantity => line_val(id, |l| l.ordered_quantity, Typed::Int),
        Field::ItemAmount => line_val(id, |l| l.amount, Typed::Dec),
        Field::ItemCondition => line_str(id, |l| l.condition.as_str()),
        Field::ReturnId => case_str(id, |c| c.ret.id.as_str()),
        Field::ReturnRequestedAt => case_val(id, |c| Some(c.ret.requested_at), Typed::Time),
        Field::ReturnType => case_str(id, |c| c.ret.kind.as_str()),
        Field::ReturnReason => case_str(id, |c| c.ret.reason.as_str()),
        Field::ReturnAmount => case_val(id, |c| Some(c.ret.amount), Typed::Dec),
        Field::ReturnItemCount => case_val(id, |c| Some(c.ret.items.len() as i64), Typed::Int),
        Field::CustomerId => case_str(id, |c| c.customer.id.as_str()),
        Field::CustomerCreatedAt => case_val(id, |c| c.customer.created_at, Typed::Time),
        Field::CustomerVip => case_val(id, |c| Some(c.customer.vip), Typed::Bool),
        Field::OrderTags | Field::ItemTags | Field::ReturnEvidence | Field::CustomerTags => generic(id),
    }
}

fn event_str<G>(id: NodeId, get: G) -> Typed
where
    G: for<'a> Fn(Event<'a>) -> Option<&'a str> + Send + Sync + 'static,
{
    Typed::Str(Box::new(move |f| {
        f.steps += 1;
        f.event.and_then(&get).ok_or(missing(id))
    }))
}

fn event_val<V, G>(id: NodeId, get: G, wrap: fn(Fun<V>) -> Typed) -> Typed
where
    V: 'static,
    G: Fn(Event<'_>) -> Option<V> + Send + Sync + 'static,
{
    wrap(Box::new(move |f| {
        f.steps += 1;
        f.event.and_then(&get).ok_or(missing(id))
    }))
}

fn event_code(field: EventField, id: NodeId) -> Typed {
    use Event::{Order, Return};
    match field {
        EventField::OrderId => event_str(id, |e| if let Order(o) = e { Some(o.id.as_str()) } else { None }),
        EventField::OrderPlacedAt => event_val(
            id,
            |e| if let Order(o) = e { Some(o.placed_at) } else { None },
            Typed::Time,
        ),
        EventField::OrderTotal => event_val(id, |e| if let Order(o) = e { Some(o.total) } else { None }, Typed::Dec),
        EventField::ReturnId => event_str(id, |e| if let Return(r) = e { Some(r.id.as_str()) } else { None }),
        EventField::ReturnOrderId => event_str(id, |e| {
            if let Return(r) = e {
                Some(r.order_id.as_str())
            } else {
                None
            }
        }),
        EventField::ReturnRequestedAt => event_val(
            id,
            |e| if let Return(r) = e { Some(r.requested_at) } else { None },
            Typed::Time,
        ),
        EventField::ReturnType => event_str(id, |e| if let Return(r) = e { Some(r.kind.as_str()) } else { None }),
        EventField::ReturnReason => event_str(id, |e| {
            if let Return(r) = e {
                Some(r.reason.as_str())
            } else {
                None
            }
        }),
        EventField::ReturnAmount => event_val(
            id,
            |e| if let Return(r) = e { Some(r.amount) } else { None },
            Typed::Dec,
        ),
        EventField::ReturnStatus => event_str(id, |e| {
            if let Return(r) = e {
                Some(r.status.as_str())
            } else {
                None
            }
        }),
        EventField::OrderTags => generic(id),
    }
}
