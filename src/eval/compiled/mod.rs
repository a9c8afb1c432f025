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
//! The tree walk in `walk.rs` stays the reference: explaining uses it (it
//! records every node's value). A compiled node does exactly what the tree
//! walk does — the same operations in the same order, the same errors on the
//! same nodes, the same step count — which `judge_reference` lets the tests
//! hold it to (the smoke fuzz, the semantics suite and the verdict snapshots
//! compare the two on every input they judge).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

mod calls;
mod compare;
mod fields;

use calls::arith_type;
use fields::{event_code, event_type, field_code};

use super::value::{self, ErrKind, EvalError, Kind, Value, type_error};
use super::walk::Frame;
use crate::data::Case;
use crate::history::Event;
use crate::ir::schema::{EventField, Field};
use crate::ir::{Arith, Checked, Cmp, Func, Lit, Node, NodeId, Ty};
use crate::syntax::ast::AggFn;

type R<T> = Result<T, EvalError>;
type Time = DateTime<Utc>;

pub(super) type Fun<T> = Box<dyn for<'a> Fn(&mut Frame<'a>) -> R<T> + Send + Sync>;
pub(super) type StrFun = Box<dyn for<'a> Fn(&mut Frame<'a>) -> R<&'a str> + Send + Sync>;
pub(super) type ValFun = Box<dyn for<'a> Fn(&mut Frame<'a>) -> R<Value<'a>> + Send + Sync>;

/// A compiled node, by its static type.
pub(super) enum Closure {
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
    roots: Arc<[Option<Closure>]>,
    lets: Arc<[Closure]>,
    /// The program's string table: every string of a constant list long
    /// enough to be looked up in (see `compare::SCAN_AT_MOST`), numbered. Such
    /// a list compiles to the set of its strings' numbers, and `x in list` to
    /// one lookup of `x` (once per evaluation, see `Frame::symbol`) and a bit test.
    symbols: Arc<rustc_hash::FxHashMap<Box<str>, u32>>,
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let roots = self.roots.iter().filter(|r| r.is_some()).count();
        write!(f, "Code {{ roots: {roots}, lets: {} }}", self.lets.len())
    }
}

impl Code {
    pub(super) fn root(&self, id: NodeId) -> Option<&Closure> {
        self.roots.get(id as usize)?.as_ref()
    }

    pub(super) fn let_body(&self, i: usize) -> Option<&Closure> {
        self.lets.get(i)
    }

    /// The number of `s` in the program's string table.
    pub(super) fn symbol(&self, s: &str) -> Option<u32> {
        self.symbols.get(s).copied()
    }
}

/// A set of the program's strings, by their numbers.
pub(super) struct SymbolSet(Box<[u64]>);

impl SymbolSet {
    fn of(symbols: impl Iterator<Item = u32>) -> SymbolSet {
        let mut words: Vec<u64> = Vec::new();
        for symbol in symbols {
            let (word, bit) = Self::place(symbol);
            if words.len() <= word {
                words.resize(word + 1, 0);
            }
            words[word] |= 1 << bit;
        }
        SymbolSet(words.into())
    }

    pub(super) fn contains(&self, symbol: u32) -> bool {
        let (word, bit) = Self::place(symbol);
        self.0.get(word).is_some_and(|w| w >> bit & 1 == 1)
    }

    /// A symbol's word, and its bit in the word.
    fn place(symbol: u32) -> (usize, u32) {
        ((symbol / 64) as usize, symbol % 64)
    }
}

pub(crate) fn compile(p: &Checked) -> Code {
    let mut c = Compiler {
        p,
        let_types: vec![None; p.lets.len()],
        symbols: rustc_hash::FxHashMap::default(),
    };
    let mut roots: Vec<Option<Closure>> = Vec::new();
    roots.resize_with(p.nodes.len(), || None);
    let mut condition = |c: &mut Compiler, id: Option<NodeId>| {
        if let Some(id) = id
            && let Some(slot) = roots.get_mut(id as usize)
        {
            *slot = Some(Closure::Bool(c.bool(id)));
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
        symbols: Arc::new(c.symbols),
    }
}

/// A static type, as far as the compiler can be sure of it: the checker's
/// [`Ty`] narrowed to what a closure can be specialised on (`crate::ir` says
/// why there are three vocabularies of types).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Static {
    Bool,
    Int,
    Dec,
    Str,
    Time,
    Dur,
    /// Known only at run time, or a list.
    Other,
}

impl Static {
    fn of(ty: Ty) -> Static {
        match ty {
            Ty::Bool => Static::Bool,
            Ty::Int => Static::Int,
            Ty::Dec => Static::Dec,
            Ty::Str => Static::Str,
            Ty::Time => Static::Time,
            Ty::Dur => Static::Dur,
            Ty::List | Ty::Dyn | Ty::Error => Static::Other,
        }
    }

    fn num(self) -> bool {
        matches!(self, Static::Int | Static::Dec)
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
    let_types: Vec<Option<Static>>,
    symbols: rustc_hash::FxHashMap<Box<str>, u32>,
}

impl Compiler<'_> {
    /// The set of `items`' numbers in the string table, numbering the new ones.
    fn symbol_set(&mut self, items: &[String]) -> SymbolSet {
        let symbols = &mut self.symbols;
        SymbolSet::of(items.iter().map(|item| {
            let next = symbols.len() as u32;
            *symbols.entry(item.as_str().into()).or_insert(next)
        }))
    }

    fn get(&self, id: NodeId) -> Option<&Node> {
        self.p.nodes.get(id as usize)
    }

    /// The static type of a node's value.
    fn ty(&mut self, id: NodeId) -> Static {
        let Some(node) = self.get(id) else {
            return Static::Other;
        };
        match node {
            Node::Lit(l) => match l {
                Lit::Bool(_) => Static::Bool,
                Lit::Int(_) => Static::Int,
                Lit::Dec(_) => Static::Dec,
                Lit::Str(_) => Static::Str,
                Lit::Time(_) => Static::Time,
                Lit::Dur(_) => Static::Dur,
            },
            Node::List(_) | Node::Concat(..) | Node::Attr(_) => Static::Other,
            Node::Field(f) => Static::of(crate::ir::schema::field_info(*f).ty),
            Node::Event(f) => event_type(*f),
            Node::Let(i) => {
                let i = *i as usize;
                if let Some(Some(t)) = self.let_types.get(i) {
                    return *t;
                }
                let t = match self.p.lets.get(i) {
                    Some(l) => self.ty(l.body),
                    None => Static::Other,
                };
                if let Some(slot) = self.let_types.get_mut(i) {
                    *slot = Some(t);
                }
                t
            }
            Node::Agg(i) => match self.p.aggs.get(*i as usize).map(|a| a.func) {
                Some(AggFn::Count) => Static::Int,
                Some(AggFn::Sum) => Static::Dec,
                None => Static::Other,
            },
            Node::Risk => Static::Int,
            Node::Flag(_) => Static::Bool,
            Node::Now => Static::Time,
            Node::Not(_) | Node::And(..) | Node::Or(..) | Node::Cmp(..) | Node::In(..) | Node::Is(..) => Static::Bool,
            Node::Neg(x) => match self.ty(*x) {
                t @ (Static::Int | Static::Dec | Static::Dur) => t,
                _ => Static::Other,
            },
            Node::If(_, a, b) => {
                let (a, b) = (*a, *b);
                let t = self.ty(a);
                if t == self.ty(b) { t } else { Static::Other }
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
                    Func::DaysSince | Func::HoursSince if ta == Static::Time => Static::Int,
                    Func::Min | Func::Max
                        if ta == tb && matches!(ta, Static::Int | Static::Dec | Static::Time | Static::Dur) =>
                    {
                        ta
                    }
                    Func::Round if ta.num() && tb == Static::Int && b.is_some() => Static::Dec,
                    Func::Abs if matches!(ta, Static::Int | Static::Dec | Static::Dur) => ta,
                    Func::Ratio if ta.num() && tb.num() => Static::Dec,
                    _ => Static::Other,
                }
            }
        }
    }

    /// Compiles a node in its static type, or as a call into the tree walk.
    fn node(&mut self, id: NodeId) -> Closure {
        let Some(node) = self.get(id).cloned() else {
            return generic(id);
        };
        let ty = self.ty(id);
        match node {
            Node::Lit(l) => match l {
                Lit::Bool(b) => Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    Ok(b)
                })),
                Lit::Int(i) => Closure::Int(Box::new(move |f| {
                    f.steps += 1;
                    Ok(i)
                })),
                Lit::Dec(d) => Closure::Dec(Box::new(move |f| {
                    f.steps += 1;
                    Ok(d)
                })),
                Lit::Time(t) => Closure::Time(Box::new(move |f| {
                    f.steps += 1;
                    Ok(t)
                })),
                Lit::Dur(d) => Closure::Dur(Box::new(move |f| {
                    f.steps += 1;
                    Ok(d)
                })),
                Lit::Str(_) => Closure::Str(Box::new(move |f| {
                    f.steps += 1;
                    // The literal itself, borrowed from the program for the frame's lifetime.
                    match f.p.ir.nodes.get(id as usize) {
                        Some(Node::Lit(Lit::Str(s))) => Ok(s.as_str()),
                        _ => Err(missing(id)),
                    }
                })),
            },
            Node::Field(field) => field_code(field, id),
            Node::Attr(slot) => Closure::Value(Box::new(move |f| {
                f.steps += 1;
                f.attr(slot, id)
            })),
            Node::Event(field) => event_code(field, id),
            Node::Let(i) => self.let_code(i as usize, id, ty),
            Node::Agg(i) => self.agg_code(i as usize, id, ty),
            Node::Risk => Closure::Int(Box::new(|f| {
                f.steps += 1;
                Ok(f.risk)
            })),
            Node::Flag(i) => Closure::Bool(Box::new(move |f| {
                f.steps += 1;
                f.fired(i, id)
            })),
            Node::Now => Closure::Time(Box::new(|f| {
                f.steps += 1;
                Ok(f.now)
            })),
            Node::Not(x) => {
                let x = self.bool(x);
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    Ok(!x(f)?)
                }))
            }
            Node::And(a, b) => {
                let (a, b) = (self.bool(a), self.bool(b));
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    Ok(a(f)? && b(f)?)
                }))
            }
            Node::Or(a, b) => {
                let (a, b) = (self.bool(a), self.bool(b));
                Closure::Bool(Box::new(move |f| {
                    f.steps += 1;
                    Ok(a(f)? || b(f)?)
                }))
            }
            Node::Neg(x) => self.neg(x, id, ty),
            Node::If(c, a, b) => {
                let c = self.bool(c);
                match (self.node(a), self.node(b)) {
                    (Closure::Bool(a), Closure::Bool(b)) => Closure::Bool(branch(c, a, b)),
                    (Closure::Int(a), Closure::Int(b)) => Closure::Int(branch(c, a, b)),
                    (Closure::Dec(a), Closure::Dec(b)) => Closure::Dec(branch(c, a, b)),
                    (Closure::Time(a), Closure::Time(b)) => Closure::Time(branch(c, a, b)),
                    (Closure::Dur(a), Closure::Dur(b)) => Closure::Dur(branch(c, a, b)),
                    (a, b) => {
                        let (a, b) = (into_value(a), into_value(b));
                        Closure::Value(Box::new(move |f| {
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
                Closure::Bool(Box::new(move |f| {
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
            Closure::Bool(c) => c,
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
            Closure::Dec(c) => c,
            Closure::Int(c) => Box::new(move |f| Ok(Decimal::from(c(f)?))),
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
            Closure::Int(c) | Closure::Dur(c) => c,
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
            Closure::Time(c) => c,
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
            Closure::Str(c) => c,
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
            Closure::Bool(c) => Box::new(move |f| c(f).map(drop)),
            Closure::Int(c) | Closure::Dur(c) => Box::new(move |f| c(f).map(drop)),
            Closure::Dec(c) => Box::new(move |f| c(f).map(drop)),
            Closure::Time(c) => Box::new(move |f| c(f).map(drop)),
            Closure::Str(c) => Box::new(move |f| c(f).map(drop)),
            Closure::Value(c) => Box::new(move |f| c(f).map(drop)),
        }
    }

    fn let_code(&mut self, i: usize, id: NodeId, ty: Static) -> Closure {
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

    fn agg_code(&mut self, i: usize, id: NodeId, ty: Static) -> Closure {
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
}

fn branch<V: 'static>(c: Fun<bool>, a: Fun<V>, b: Fun<V>) -> Fun<V> {
    Box::new(move |f| {
        f.steps += 1;
        if c(f)? { a(f) } else { b(f) }
    })
}

/// The tree walk, for a node the compiler does not type.
fn generic(id: NodeId) -> Closure {
    Closure::Value(Box::new(move |f| f.eval(id)))
}

/// Runs compiled code for its value.
pub(super) fn run<'a>(code: &Closure, f: &mut Frame<'a>) -> R<Value<'a>> {
    Ok(match code {
        Closure::Bool(c) => Value::Bool(c(f)?),
        Closure::Int(c) => Value::Int(c(f)?),
        Closure::Dec(c) => Value::Dec(c(f)?),
        Closure::Str(c) => Value::Str(c(f)?),
        Closure::Time(c) => Value::Time(c(f)?),
        Closure::Dur(c) => Value::Dur(c(f)?),
        Closure::Value(c) => c(f)?,
    })
}

fn into_value(code: Closure) -> ValFun {
    match code {
        Closure::Value(c) => c,
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
fn typed_from_value<G>(ty: Static, id: NodeId, g: G) -> Closure
where
    G: for<'a> Fn(&mut Frame<'a>) -> R<Value<'a>> + Send + Sync + 'static,
{
    let wrong = move |v: &Value<'_>, kind: Kind| type_error(id, kind, v);
    match ty {
        Static::Bool => Closure::Bool(Box::new(move |f| match g(f)? {
            Value::Bool(b) => Ok(b),
            v => Err(wrong(&v, Kind::Boolean)),
        })),
        Static::Int => Closure::Int(Box::new(move |f| match g(f)? {
            Value::Int(i) => Ok(i),
            v => Err(wrong(&v, Kind::WholeNumber)),
        })),
        Static::Dec => Closure::Dec(Box::new(move |f| match g(f)? {
            Value::Dec(d) => Ok(d),
            v => Err(wrong(&v, Kind::Decimal)),
        })),
        Static::Str => Closure::Str(Box::new(move |f| match g(f)? {
            Value::Str(s) => Ok(s),
            v => Err(wrong(&v, Kind::String)),
        })),
        Static::Time => Closure::Time(Box::new(move |f| match g(f)? {
            Value::Time(t) => Ok(t),
            v => Err(wrong(&v, Kind::Time)),
        })),
        Static::Dur => Closure::Dur(Box::new(move |f| match g(f)? {
            Value::Dur(d) => Ok(d),
            v => Err(wrong(&v, Kind::Duration)),
        })),
        Static::Other => Closure::Value(Box::new(g)),
    }
}
