//! Expressions: names and fields resolved to slots, types checked, guards
//! followed, each expression lowered to nodes of the program arena.

use super::guards::{self, Key};
use super::{Checker, Props, Typed};
use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::ir::schema::{EVENT_FIELDS, FIELDS, ROOTS, Source};
use crate::ir::{AggDef, Arith, AttrSlot, Cmp, Func, Lit, Node, Ty};
use crate::syntax::ast::{AggFn, BinOp, Expr, ExprKind, Ident, UnOp, Window};

/// Names the language gives meaning to; a set or let may not take them.
pub(crate) const BUILTIN_NAMES: &[&str] = &[
    "order", "item", "return", "customer", "now", "risk", "orders", "returns",
];

const FUNCTIONS: &[&str] = &[
    "days_since",
    "hours_since",
    "min",
    "max",
    "round",
    "abs",
    "lower",
    "len",
    "ratio",
    "time",
    "date",
];

impl Checker<'_> {
    fn typed(&mut self, node: Node, span: Span, ty: Ty, props: Props) -> Typed {
        let node = self.push(node, span);
        Typed { node, ty, props }
    }

    /// Stands in for an expression that failed, so checking can go on.
    fn poison(&mut self, span: Span) -> Typed {
        self.typed(Node::Lit(Lit::Bool(false)), span, Ty::Error, Props::default())
    }

    fn fail(&mut self, d: Diagnostic) -> Typed {
        let span = d.span;
        self.error(d);
        self.poison(span)
    }

    pub(crate) fn expr(&mut self, e: &Expr) -> Typed {
        let span = e.span;
        let leaf = Props {
            depth: 1,
            ..Props::default()
        };
        match &e.kind {
            ExprKind::Bool(b) => self.typed(Node::Lit(Lit::Bool(*b)), span, Ty::Bool, leaf),
            ExprKind::Int(i) => self.typed(Node::Lit(Lit::Int(*i)), span, Ty::Int, leaf),
            ExprKind::Dec(d) | ExprKind::Percent(d) => self.typed(Node::Lit(Lit::Dec(*d)), span, Ty::Dec, leaf),
            ExprKind::Str(s) => self.typed(Node::Lit(Lit::Str(s.clone())), span, Ty::Str, leaf),
            ExprKind::Duration(n, unit) => self.typed(
                Node::Lit(Lit::Dur(n.saturating_mul(unit.seconds()))),
                span,
                Ty::Dur,
                leaf,
            ),
            ExprKind::Paren(x) => self.expr(x),
            ExprKind::Path(parts) => self.path(parts, span, false),
            ExprKind::List(items) => self.list(items, span),
            ExprKind::Call(name, args) => self.call(name, args, span),
            ExprKind::Aggregate {
                func,
                source,
                field,
                window,
                filter,
            } => self.aggregate(*func, source, field.as_ref(), window.as_ref(), filter.as_deref(), span),
            ExprKind::Unary(op, x) => self.unary(*op, x, span),
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, span),
            ExprKind::Is(x, present) => {
                let t = match &x.kind {
                    ExprKind::Path(parts) => self.path(parts, x.span, true),
                    _ => self.expr(x),
                };
                self.typed(Node::Is(t.node, *present), span, Ty::Bool, deeper(t.props))
            }
            ExprKind::If(c, a, b) => {
                let c_t = self.cond(c, "the condition of `if`");
                let mark = self.facts.len();
                guards::assume(self, c, true);
                let a_t = self.expr(a);
                self.facts.truncate(mark);
                guards::assume(self, c, false);
                let b_t = self.expr(b);
                self.facts.truncate(mark);
                let Some(ty) = a_t.ty.join(b_t.ty) else {
                    return self.fail(
                        Diagnostic::error(
                            "type",
                            span,
                            format!("the branches of this `if` differ: {} and {}", a_t.ty, b_t.ty),
                        )
                        .with_hint("both branches must give the same kind of value"),
                    );
                };
                let props = deeper(c_t.props.merge(a_t.props).merge(b_t.props));
                self.typed(Node::If(c_t.node, a_t.node, b_t.node), span, ty, props)
            }
        }
    }

    fn list(&mut self, items: &[Expr], span: Span) -> Typed {
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            match &item.kind {
                ExprKind::Str(s) => values.push(s.clone()),
                _ => {
                    self.error(
                        Diagnostic::error("type", item.span, "a list holds strings written in quotes").with_hint(
                            "write `[\"a\", \"b\"]`; to test a field against values use `field in [\"a\", \"b\"]`",
                        ),
                    );
                }
            }
        }
        self.const_list(values, span)
    }

    fn const_list(&mut self, values: Vec<String>, span: Span) -> Typed {
        let index = u32::try_from(self.ir.lists.len()).unwrap_or(u32::MAX);
        self.ir.lists.push(values);
        let leaf = Props {
            depth: 1,
            ..Props::default()
        };
        self.typed(Node::List(index), span, Ty::List, leaf)
    }

    pub(crate) fn path(&mut self, parts: &[Ident], span: Span, presence_test: bool) -> Typed {
        let Some(root) = parts.first() else {
            return self.poison(span);
        };
        let leaf = Props {
            depth: 1,
            ..Props::default()
        };
        if parts.len() == 1 {
            if let Some(source) = self.scope
                && let Some((_, _, field, ty)) = EVENT_FIELDS.iter().find(|e| e.0 == source && e.1 == root.name)
            {
                return self.typed(Node::Event(*field), span, *ty, leaf);
            }
            if let Some(i) = self.find_binding(&root.name) {
                self.mark_used(i);
                let Some((t, index)) = self.binding(i, span) else {
                    return self.poison(span);
                };
                if matches!(self.ir.nodes.get(t.node as usize), Some(Node::List(_))) && self.is_set(i) {
                    return Typed { props: leaf, ..t };
                }
                let props = Props {
                    item: t.props.item.map(|_| span),
                    risk: t.props.risk.map(|_| span),
                    flag: t.props.flag.map(|_| span),
                    inspection: t.props.inspection.map(|_| span),
                    depth: t.props.depth + 1,
                };
                return self.typed(Node::Let(index), span, t.ty, props);
            }
            if let Some(index) = self.find_flag(&root.name) {
                let props = Props {
                    flag: Some(span),
                    ..leaf
                };
                return self.typed(Node::Flag(index), span, Ty::Bool, props);
            }
            return match root.name.as_str() {
                "now" => self.typed(Node::Now, span, Ty::Time, leaf),
                "risk" => self.typed(
                    Node::Risk,
                    span,
                    Ty::Int,
                    Props {
                        risk: Some(span),
                        ..leaf
                    },
                ),
                name if ROOTS.contains(&name) => {
                    let fields: Vec<&str> = FIELDS.iter().filter(|f| f.root == name).map(|f| f.name).collect();
                    self.fail(
                        Diagnostic::error(
                            "unknown-field",
                            span,
                            format!("`{name}` is a record; name one of its fields"),
                        )
                        .with_hint(format!("its fields are {}, attrs.NAME", fields.join(", "))),
                    )
                }
                "orders" | "returns" => self.fail(
                    Diagnostic::error(
                        "history",
                        span,
                        format!("`{}` is the customer's history, read through an aggregate", root.name),
                    )
                    .with_hint(format!("e.g. `count({} in last 30 days)`", root.name)),
                ),
                _ => self.unknown_name(root),
            };
        }
        if !ROOTS.contains(&root.name.as_str()) {
            let what = if self.find_binding(&root.name).is_some() {
                "a value without fields"
            } else {
                "not a record"
            };
            let hint = match did_you_mean(&root.name, ROOTS) {
                Some(r) => format!("did you mean `{r}`?"),
                None => "records with fields are order, item, return and customer".into(),
            };
            return self.fail(
                Diagnostic::error("unknown-field", root.span, format!("`{}` is {what}", root.name)).with_hint(hint),
            );
        }
        let item = (root.name == "item").then_some(span);
        let props = Props { item, ..leaf };
        if let [_, inspection, finding] = parts
            && root.name == "item"
            && inspection.name == "inspection"
        {
            return self.inspection_field(finding, span, presence_test, props);
        }
        match parts {
            [_, field] if root.name == "item" && field.name == "inspection" => self.fail(
                Diagnostic::error(
                    "unknown-field",
                    span,
                    "`item.inspection` is a record; name one of its findings",
                )
                .with_hint("e.g. `item.inspection.condition`, `item.inspection.tags_attached`"),
            ),
            [_, field] => {
                let Some(info) = FIELDS.iter().find(|f| f.root == root.name && f.name == field.name) else {
                    let names = FIELDS
                        .iter()
                        .filter(|f| f.root == root.name)
                        .map(|f| f.name)
                        .chain(["attrs"]);
                    let hint = if field.name == "attrs" {
                        format!("name an attribute: `{}.attrs.NAME`", root.name)
                    } else {
                        match did_you_mean(&field.name, names) {
                            Some(s) => format!("did you mean `{}.{s}`?", root.name),
                            None => format!("free-form values are read as `{}.attrs.{}`", root.name, field.name),
                        }
                    };
                    return self.fail(
                        Diagnostic::error(
                            "unknown-field",
                            field.span,
                            format!("`{}` has no field `{}`", root.name, field.name),
                        )
                        .with_hint(hint),
                    );
                };
                if info.optional && !presence_test {
                    self.warn_unguarded(Key::Field(info.field), span, &format!("{}.{}", info.root, info.name));
                }
                self.typed(Node::Field(info.field), span, info.ty, props)
            }
            [_, attrs, name] if attrs.name == "attrs" => {
                let Some(object) = guards::attr_object(&root.name) else {
                    return self.poison(span);
                };
                if !presence_test {
                    self.warn_unguarded(
                        Key::Attr(object, name.name.clone()),
                        span,
                        &format!("{}.attrs.{}", root.name, name.name),
                    );
                }
                let slot = match self
                    .ir
                    .attrs
                    .iter()
                    .position(|a| a.object == object && a.name == name.name)
                {
                    Some(i) => i,
                    None => {
                        self.ir.attrs.push(AttrSlot {
                            object,
                            name: name.name.clone(),
                        });
                        self.ir.attrs.len() - 1
                    }
                };
                let slot = u32::try_from(slot).unwrap_or(u32::MAX);
                self.typed(Node::Attr(slot), span, Ty::Dyn, props)
            }
            _ => {
                let last = parts.last().map_or(span, |p| p.span);
                self.fail(
                    Diagnostic::error(
                        "unknown-field",
                        last,
                        format!(
                            "`{}` has no field `{}`",
                            parts[..parts.len() - 1]
                                .iter()
                                .map(|p| p.name.as_str())
                                .collect::<Vec<_>>()
                                .join("."),
                            parts[parts.len() - 1].name
                        ),
                    )
                    .with_hint("fields are one level deep, except `attrs.NAME` and `item.inspection.NAME`"),
                )
            }
        }
    }

    /// `item.inspection.NAME`: one of an inspection's findings.
    fn inspection_field(&mut self, finding: &Ident, span: Span, presence_test: bool, props: Props) -> Typed {
        let Some(info) = crate::ir::schema::find_field(&["item", "inspection", &finding.name]) else {
            let names = FIELDS
                .iter()
                .filter_map(|f| f.name.strip_prefix("inspection."))
                .collect::<Vec<_>>();
            let hint = match did_you_mean(&finding.name, names.iter().copied()) {
                Some(s) => format!("did you mean `item.inspection.{s}`?"),
                None => format!("an inspection finds {}", names.join(", ")),
            };
            return self.fail(
                Diagnostic::error(
                    "unknown-field",
                    finding.span,
                    format!("an inspection has no finding `{}`", finding.name),
                )
                .with_hint(hint),
            );
        };
        if info.optional && !presence_test {
            let text = format!("item.{}", info.name);
            self.warn_unguarded(Key::Field(info.field), span, &text);
        }
        let props = Props {
            inspection: Some(span),
            ..props
        };
        self.typed(Node::Field(info.field), span, info.ty, props)
    }

    fn is_set(&self, i: usize) -> bool {
        self.bindings.get(i).is_some_and(|b| b.is_set)
    }

    fn warn_unguarded(&mut self, key: Key, span: Span, text: &str) {
        if self.facts.contains(&key) {
            return;
        }
        self.error(
            Diagnostic::warning(
                "unguarded",
                span,
                format!("`{text}` may be missing, and nothing here checks it"),
            )
            .with_hint(format!(
                "guard it with `{text} is present and …`; a case without it goes to review"
            )),
        );
    }

    fn unknown_name(&mut self, name: &Ident) -> Typed {
        let mut candidates: Vec<&str> = self.binding_names();
        candidates.extend(BUILTIN_NAMES);
        if let Some(source) = self.scope {
            candidates.extend(EVENT_FIELDS.iter().filter(|e| e.0 == source).map(|e| e.1));
        }
        let hint = match did_you_mean(&name.name, candidates.iter().copied()) {
            Some(s) => format!("did you mean `{s}`?"),
            None if FIELDS.iter().any(|f| f.name == name.name) => {
                let roots: Vec<String> = FIELDS
                    .iter()
                    .filter(|f| f.name == name.name)
                    .map(|f| format!("`{}.{}`", f.root, f.name))
                    .collect();
                format!("did you mean {}?", roots.join(" or "))
            }
            None => "define it with `let` or `set`".to_string(),
        };
        self.fail(Diagnostic::error("unknown-name", name.span, format!("unknown name `{}`", name.name)).with_hint(hint))
    }

    fn unary(&mut self, op: UnOp, x: &Expr, span: Span) -> Typed {
        let t = self.expr(x);
        let props = deeper(t.props);
        match op {
            UnOp::Not => {
                if !t.ty.fits(Ty::Bool) {
                    return self.fail(Diagnostic::error(
                        "type",
                        x.span,
                        format!("`not` needs a condition, but this is {}", t.ty),
                    ));
                }
                self.typed(Node::Not(t.node), span, Ty::Bool, props)
            }
            UnOp::Neg => {
                if !(t.ty.is_num() || t.ty == Ty::Dur) {
                    return self.fail(Diagnostic::error("type", x.span, format!("cannot negate {}", t.ty)));
                }
                self.typed(Node::Neg(t.node), span, t.ty, props)
            }
        }
    }

    fn binary(&mut self, op: BinOp, a: &Expr, b: &Expr, span: Span) -> Typed {
        let l = match op {
            BinOp::And | BinOp::Or => self.cond(a, &format!("each side of `{}`", op.symbol())),
            _ => self.expr(a),
        };
        let r = match op {
            BinOp::And | BinOp::Or => {
                let mark = self.facts.len();
                guards::assume(self, a, op == BinOp::And);
                let r = self.cond(b, &format!("each side of `{}`", op.symbol()));
                self.facts.truncate(mark);
                r
            }
            _ => self.expr(b),
        };
        let props = deeper(l.props.merge(r.props));
        let (node, ty) = match op {
            BinOp::And => (Node::And(l.node, r.node), Ty::Bool),
            BinOp::Or => (Node::Or(l.node, r.node), Ty::Bool),
            BinOp::In | BinOp::NotIn => {
                if !l.ty.fits(Ty::Str) {
                    return self.fail(
                        Diagnostic::error(
                            "type",
                            a.span,
                            format!("`{}` looks for a string, but this is {}", op.symbol(), l.ty),
                        )
                        .with_hint("lists hold strings"),
                    );
                }
                if !r.ty.fits(Ty::List) {
                    return self.fail(
                        Diagnostic::error(
                            "type",
                            b.span,
                            format!("`{}` needs a list on its right, but this is {}", op.symbol(), r.ty),
                        )
                        .with_hint(
                            "e.g. `item.category in [\"a\", \"b\"]` or a set's name; to compare two values use `==`",
                        ),
                    );
                }
                self.check_words(op, a, l.node, b, r.node);
                (Node::In(l.node, r.node, op == BinOp::NotIn), Ty::Bool)
            }
            op if op.is_comparison() => {
                let cmp = match op {
                    BinOp::Eq => Cmp::Eq,
                    BinOp::Ne => Cmp::Ne,
                    BinOp::Lt => Cmp::Lt,
                    BinOp::Le => Cmp::Le,
                    BinOp::Gt => Cmp::Gt,
                    _ => Cmp::Ge,
                };
                let joined = l.ty.join(r.ty);
                let ordered = matches!(cmp, Cmp::Eq | Cmp::Ne)
                    || matches!(
                        joined,
                        Some(Ty::Int | Ty::Dec | Ty::Time | Ty::Dur | Ty::Dyn | Ty::Error)
                    );
                if joined.is_none() || joined == Some(Ty::List) || !ordered {
                    let counted = whole_units(a, b, op).or_else(|| whole_units(b, a, op));
                    let hint = match (l.ty, r.ty) {
                        (Ty::Int, Ty::Dur) | (Ty::Dur, Ty::Int) if counted.is_some() => {
                            counted.as_deref().unwrap_or("")
                        }
                        (Ty::Time, Ty::Int | Ty::Dec) | (Ty::Int | Ty::Dec, Ty::Time) => {
                            "turn a time into a number with `days_since(…)` or `hours_since(…)`"
                        }
                        (Ty::Time, Ty::Dur) | (Ty::Dur, Ty::Time) => {
                            "subtract two times to get a duration: `now - order.delivered_at`"
                        }
                        (Ty::List, _) | (_, Ty::List) => "to test membership use `in`",
                        _ => "both sides must be the same kind of value",
                    };
                    return self.fail(
                        Diagnostic::error(
                            "type",
                            span,
                            format!("cannot compare {} with {} using `{}`", l.ty, r.ty, op.symbol()),
                        )
                        .with_hint(hint),
                    );
                }
                if matches!(cmp, Cmp::Eq | Cmp::Ne) {
                    self.check_words(op, a, l.node, b, r.node);
                }
                (Node::Cmp(cmp, l.node, r.node), Ty::Bool)
            }
            _ => return self.arith(op, l, r, span, props),
        };
        self.typed(node, span, ty, props)
    }

    fn arith(&mut self, op: BinOp, l: Typed, r: Typed, span: Span, props: Props) -> Typed {
        use Ty::*;
        let arith = match op {
            BinOp::Add => Arith::Add,
            BinOp::Sub => Arith::Sub,
            BinOp::Div => Arith::Div,
            _ => Arith::Mul,
        };
        let ty = match (arith, l.ty, r.ty) {
            (_, Error, _) | (_, _, Error) => Some(Error),
            (Arith::Add, List, List) => {
                return self.concat(l, r, span, props);
            }
            (_, List | Str | Bool, _) | (_, _, List | Str | Bool) => None,
            (_, Dyn, _) | (_, _, Dyn) => Some(Dyn),
            (Arith::Div, a, b) if a.is_num() && b.is_num() => Some(Dec),
            (Arith::Add | Arith::Sub | Arith::Mul, Int, Int) => Some(Int),
            (Arith::Add | Arith::Sub | Arith::Mul, a, b) if a.is_num() && b.is_num() => Some(Dec),
            (Arith::Add, Time, Dur) | (Arith::Add, Dur, Time) | (Arith::Sub, Time, Dur) => Some(Time),
            (Arith::Sub, Time, Time) | (Arith::Add | Arith::Sub, Dur, Dur) => Some(Dur),
            (Arith::Mul, Dur, Int) | (Arith::Mul, Int, Dur) => Some(Dur),
            _ => None,
        };
        let Some(ty) = ty else {
            let hint = match (l.ty, r.ty) {
                (Time, Int | Dec) | (Int | Dec, Time) => "add a duration to a time: `order.delivered_at + 7 days`",
                (Str, Str) => "strings cannot be joined; compare them with `==`",
                (List, _) | (_, List) => "`+` joins two lists",
                _ => "check the kinds of value on each side",
            };
            return self.fail(
                Diagnostic::error(
                    "type",
                    span,
                    format!("cannot apply `{}` to {} and {}", op.symbol(), l.ty, r.ty),
                )
                .with_hint(hint),
            );
        };
        self.typed(Node::Arith(arith, l.node, r.node), span, ty, props)
    }

    /// `a + b` of lists: folded when both are constant.
    fn concat(&mut self, l: Typed, r: Typed, span: Span, props: Props) -> Typed {
        if let (Some(Node::List(a)), Some(Node::List(b))) =
            (self.ir.nodes.get(l.node as usize), self.ir.nodes.get(r.node as usize))
        {
            let mut values = self.ir.lists[*a as usize].clone();
            values.extend(self.ir.lists[*b as usize].iter().cloned());
            return self.const_list(values, span);
        }
        self.typed(Node::Concat(l.node, r.node), span, Ty::List, props)
    }

    fn call(&mut self, name: &Ident, args: &[Expr], span: Span) -> Typed {
        let f = name.name.as_str();
        if f == "time" || f == "date" {
            return self.time_literal(f, args, span);
        }
        let func = match f {
            "days_since" => Func::DaysSince,
            "hours_since" => Func::HoursSince,
            "min" => Func::Min,
            "max" => Func::Max,
            "round" => Func::Round,
            "abs" => Func::Abs,
            "lower" => Func::Lower,
            "len" => Func::Len,
            "ratio" => Func::Ratio,
            "count" | "sum" => {
                return self.fail(
                    Diagnostic::error("aggregate", span, format!("`{f}` reads the customer's history")).with_hint(
                        format!(
                            "write `{f}(returns in last 30 days where …)`{}",
                            if f == "sum" {
                                " with a field: `sum(returns.amount …)`"
                            } else {
                                ""
                            }
                        ),
                    ),
                );
            }
            _ => {
                let hint = match did_you_mean(f, FUNCTIONS.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("functions are {}", FUNCTIONS.join(", ")),
                };
                return self.fail(
                    Diagnostic::error("unknown-function", name.span, format!("unknown function `{f}`")).with_hint(hint),
                );
            }
        };
        let arity = match func {
            Func::Min | Func::Max | Func::Round | Func::Ratio => 2,
            _ => 1,
        };
        if args.len() != arity {
            return self.fail(
                Diagnostic::error(
                    "arity",
                    span,
                    format!(
                        "`{f}` takes {arity} argument{}, not {}",
                        if arity == 1 { "" } else { "s" },
                        args.len()
                    ),
                )
                .with_hint(signature(func)),
            );
        }
        let typed: Vec<Typed> = args.iter().map(|a| self.expr(a)).collect();
        let props = typed.iter().fold(Props::default(), |p, t| p.merge(t.props));
        let a = typed[0];
        let b = typed.get(1).copied();
        let bad = |c: &mut Self, at: &Expr, t: Typed| {
            c.fail(Diagnostic::error("type", at.span, format!("`{f}` cannot take {}", t.ty)).with_hint(signature(func)))
        };
        let ty = match func {
            Func::DaysSince | Func::HoursSince => {
                if !a.ty.fits(Ty::Time) {
                    return bad(self, &args[0], a);
                }
                Ty::Int
            }
            Func::Min | Func::Max => {
                let b = b.unwrap_or(a);
                match a.ty.join(b.ty) {
                    Some(t @ (Ty::Int | Ty::Dec | Ty::Time | Ty::Dur | Ty::Dyn | Ty::Error)) => t,
                    _ => return bad(self, &args[1], b),
                }
            }
            Func::Round => {
                if !a.ty.is_num() {
                    return bad(self, &args[0], a);
                }
                if let Some(b) = b
                    && !b.ty.fits(Ty::Int)
                {
                    return bad(self, &args[1], b);
                }
                Ty::Dec
            }
            Func::Abs => {
                if !(a.ty.is_num() || a.ty == Ty::Dur) {
                    return bad(self, &args[0], a);
                }
                a.ty
            }
            Func::Lower => {
                if !a.ty.fits(Ty::Str) {
                    return bad(self, &args[0], a);
                }
                Ty::Str
            }
            Func::Len => {
                if !a.ty.fits(Ty::List) {
                    return bad(self, &args[0], a);
                }
                Ty::Int
            }
            Func::Ratio => {
                let b = b.unwrap_or(a);
                if !a.ty.is_num() {
                    return bad(self, &args[0], a);
                }
                if !b.ty.is_num() {
                    return bad(self, &args[1], b);
                }
                Ty::Dec
            }
        };
        self.typed(Node::Call(func, a.node, b.map(|b| b.node)), span, ty, deeper(props))
    }

    fn time_literal(&mut self, f: &str, args: &[Expr], span: Span) -> Typed {
        let text = match args {
            [
                Expr {
                    kind: ExprKind::Str(s), ..
                },
            ] => s,
            _ => {
                return self.fail(
                    Diagnostic::error("bad-time", span, format!("`{f}` takes one string written in quotes")).with_hint(
                        if f == "date" {
                            "e.g. `date(\"2026-11-11\")`"
                        } else {
                            "e.g. `time(\"2026-11-11T00:00:00+08:00\")`"
                        },
                    ),
                );
            }
        };
        let parsed = if f == "date" {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .and_then(|d| self.ir.header.timezone.midnight(d))
        } else {
            chrono::DateTime::parse_from_rfc3339(text)
                .ok()
                .map(|t| t.with_timezone(&chrono::Utc))
        };
        let Some(t) = parsed else {
            let hint = if f == "date" {
                "write a calendar date as YYYY-MM-DD, e.g. `date(\"2026-11-11\")`"
            } else {
                "write an RFC 3339 time with its offset, e.g. `time(\"2026-11-11T00:00:00+08:00\")`"
            };
            return self
                .fail(Diagnostic::error("bad-time", span, format!("`{text}` is not a valid {f}")).with_hint(hint));
        };
        self.typed(
            Node::Lit(Lit::Time(t)),
            span,
            Ty::Time,
            Props {
                depth: 1,
                ..Props::default()
            },
        )
    }

    fn aggregate(
        &mut self,
        func: AggFn,
        source: &Ident,
        field: Option<&Ident>,
        window: Option<&Window>,
        filter: Option<&Expr>,
        span: Span,
    ) -> Typed {
        if self.scope.is_some() {
            return self.fail(
                Diagnostic::error("aggregate", span, "an aggregate cannot stand inside another's `where`")
                    .with_hint("compute it in a `let` and compare the two"),
            );
        }
        let src = match source.name.as_str() {
            "returns" => Source::Returns,
            "orders" => Source::Orders,
            other => {
                let hint = match did_you_mean(other, ["returns", "orders"]) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "aggregates read `returns` or `orders`".into(),
                };
                return self.fail(
                    Diagnostic::error("aggregate", source.span, format!("`{other}` is not a history")).with_hint(hint),
                );
            }
        };
        let summed = match (func, field) {
            (AggFn::Count, Some(f)) => {
                return self.fail(
                    Diagnostic::error("aggregate", f.span, "`count` counts events and takes no field")
                        .with_hint(format!("to add up a field use `sum({}.{} …)`", src.name(), f.name)),
                );
            }
            (AggFn::Sum, None) => {
                return self.fail(
                    Diagnostic::error("aggregate", source.span, "`sum` needs a field to add up").with_hint(format!(
                        "e.g. `sum({}.{} in last 90 days)`",
                        src.name(),
                        if src == Source::Returns { "amount" } else { "total" }
                    )),
                );
            }
            (AggFn::Sum, Some(f)) => match EVENT_FIELDS.iter().find(|e| e.0 == src && e.1 == f.name) {
                Some(e) if e.3 == Ty::Dec => Some(e.2),
                Some(_) => {
                    return self.fail(
                        Diagnostic::error(
                            "aggregate",
                            f.span,
                            format!("`{}.{}` is not an amount", src.name(), f.name),
                        )
                        .with_hint("`sum` adds up amounts: returns.amount or orders.total"),
                    );
                }
                None => {
                    let names = EVENT_FIELDS.iter().filter(|e| e.0 == src).map(|e| e.1);
                    let hint = match did_you_mean(&f.name, names) {
                        Some(s) => format!("did you mean `{}.{s}`?", src.name()),
                        None => "`sum` adds up amounts: returns.amount or orders.total".into(),
                    };
                    return self.fail(
                        Diagnostic::error(
                            "unknown-field",
                            f.span,
                            format!("`{}` has no field `{}`", src.name(), f.name),
                        )
                        .with_hint(hint),
                    );
                }
            },
            (AggFn::Count, None) => None,
        };
        let filter_t = filter.map(|f| {
            self.scope = Some(src);
            let t = self.cond(f, "`where`");
            self.scope = None;
            t
        });
        let props = filter_t.map_or(
            Props {
                depth: 1,
                ..Props::default()
            },
            |t| deeper(t.props),
        );
        let index = u32::try_from(self.ir.aggs.len()).unwrap_or(u32::MAX);
        self.ir.aggs.push(AggDef {
            func,
            source: src,
            field: summed,
            window: window.map(|w| w.amount.saturating_mul(w.unit.seconds())),
            filter: filter_t.map(|t| t.node),
            event_only: filter_t.is_none_or(|t| crate::ir::reads_only_event(&self.ir.nodes, t.node)),
        });
        self.agg_props.push(props);
        let ty = if func == AggFn::Count { Ty::Int } else { Ty::Dec };
        self.typed(Node::Agg(index), span, ty, props)
    }
}

fn deeper(p: Props) -> Props {
    Props {
        depth: p.depth + 1,
        ..p
    }
}

fn signature(f: Func) -> &'static str {
    match f {
        Func::DaysSince => {
            "days_since(time) is the calendar days from that time's date to today's, in the policy's timezone"
        }
        Func::HoursSince => "hours_since(time) is the whole hours from that time to now",
        Func::Min => "min(a, b) takes two numbers, times or durations",
        Func::Max => "max(a, b) takes two numbers, times or durations",
        Func::Round => "round(number, places) rounds half away from zero",
        Func::Abs => "abs(x) takes a number or a duration",
        Func::Lower => "lower(string) gives the string in lower case",
        Func::Len => "len(list) counts a list's strings",
        Func::Ratio => "ratio(a, b) is a / b, and 0 when b is 0",
    }
}

/// `days_since(x) <= 7 days`: a count of whole days or hours compared with
/// a duration. What to write instead, when `count` is such a count (or
/// another whole number) and `duration` a duration written in the policy.
fn whole_units(count: &Expr, duration: &Expr, op: BinOp) -> Option<String> {
    let ExprKind::Duration(n, unit) = duration.unparen().kind else {
        return None;
    };
    let written = crate::syntax::format::expr(duration.unparen());
    let seconds = n.checked_mul(unit.seconds())?;
    let in_units = |size: i64| (seconds % size == 0).then_some(seconds / size);
    let func = match &count.unparen().kind {
        ExprKind::Call(f, _) if f.name == "days_since" || f.name == "hours_since" => Some(f.name.as_str()),
        _ => None,
    };
    Some(match (func, in_units(86_400), in_units(3_600)) {
        (Some("days_since"), Some(days), _) => {
            format!("`days_since` counts whole days: compare it with `{days}`, not `{written}`")
        }
        (Some("days_since"), None, Some(hours)) => {
            format!("`days_since` counts whole days; to count hours write `hours_since(…)` and `{hours}`")
        }
        (Some("hours_since"), _, Some(hours)) => {
            format!("`hours_since` counts whole hours: compare it with `{hours}`, not `{written}`")
        }
        (Some(f), _, _) => format!(
            "`{f}` counts a whole number; compare times instead: `now - … {} {written}`",
            op.symbol()
        ),
        (None, Some(days), _) => format!(
            "a whole number is no duration: to count days compare with `{days}`, not `{written}`; \
             to compare times subtract them, `now - order.delivered_at {} {written}`",
            op.symbol()
        ),
        (None, None, _) => format!(
            "to compare times subtract them: `now - order.delivered_at {} {written}`",
            op.symbol()
        ),
    })
}
