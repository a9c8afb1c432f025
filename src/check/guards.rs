//! Guards: which optional values are known present where an expression runs
//! (docs/language.md §8), and conditions whose value is known before any case arrives.

use super::Checker;
use crate::ir::schema::{FIELDS, Field};
use crate::ir::{AttrObject, Cmp, Lit, Node, NodeId};
use crate::syntax::ast::{BinOp, Expr, ExprKind, UnOp};

/// An optional value a guard can speak for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Key {
    Field(Field),
    Attr(AttrObject, String),
}

pub(crate) fn attr_object(root: &str) -> Option<AttrObject> {
    Some(match root {
        "order" => AttrObject::Order,
        "item" => AttrObject::Item,
        "return" => AttrObject::Return,
        "customer" => AttrObject::Customer,
        _ => return None,
    })
}

/// The optional value a path names, if it names one.
pub(crate) fn key_of(e: &Expr) -> Option<Key> {
    match &e.kind {
        ExprKind::Paren(x) => key_of(x),
        ExprKind::Path(parts) => match parts.as_slice() {
            [root, field] => FIELDS
                .iter()
                .find(|f| f.root == root.name && f.name == field.name)
                .map(|f| Key::Field(f.field)),
            [root, inspection, finding] if inspection.name == "inspection" => {
                crate::ir::schema::find_field(&[&root.name, "inspection", &finding.name]).map(|f| Key::Field(f.field))
            }
            [root, attrs, name] if attrs.name == "attrs" => {
                Some(Key::Attr(attr_object(&root.name)?, name.name.clone()))
            }
            _ => None,
        },
        _ => None,
    }
}

/// Records what holding (`positive`) or failing `e` proves present.
pub(crate) fn assume(c: &mut Checker<'_>, e: &Expr, positive: bool) {
    let mut keys = Vec::new();
    collect(c, e, positive, &mut keys);
    c.facts.extend(keys);
}

fn collect(c: &Checker<'_>, e: &Expr, positive: bool, out: &mut Vec<Key>) {
    match &e.kind {
        ExprKind::Paren(x) => collect(c, x, positive, out),
        ExprKind::Unary(UnOp::Not, x) => collect(c, x, !positive, out),
        ExprKind::Is(x, present) if *present == positive => out.extend(key_of(x)),
        ExprKind::Binary(BinOp::And, a, b) if positive => {
            collect(c, a, true, out);
            collect(c, b, true, out);
        }
        ExprKind::Binary(BinOp::Or, a, b) if !positive => {
            collect(c, a, false, out);
            collect(c, b, false, out);
        }
        ExprKind::Path(parts) if parts.len() == 1 => {
            if let Some(i) = c.find_binding(&parts[0].name)
                && let Some((key, present)) = c.binding_presence(i)
                && present == positive
            {
                out.push(key);
            }
        }
        _ => {}
    }
}

/// `Some((key, present))` when a let's body is exactly a presence test.
pub(crate) fn presence_test(c: &Checker<'_>, body: &Expr) -> Option<(Key, bool)> {
    match &body.kind {
        ExprKind::Paren(x) => presence_test(c, x),
        ExprKind::Is(x, present) => key_of(x).map(|k| (k, *present)),
        ExprKind::Unary(UnOp::Not, x) => presence_test(c, x).map(|(k, p)| (k, !p)),
        ExprKind::Path(parts) if parts.len() == 1 => c.binding_presence(c.find_binding(&parts[0].name)?),
        _ => None,
    }
}

/// The value of a condition that reads nothing from the case, if it is one.
pub(crate) fn constant_bool(nodes: &[Node], lists: &[Vec<String>], id: NodeId) -> Option<bool> {
    let node = nodes.get(id as usize)?;
    let lit = |id: NodeId| match nodes.get(id as usize) {
        Some(Node::Lit(l)) => Some(l),
        _ => None,
    };
    match node {
        Node::Lit(Lit::Bool(b)) => Some(*b),
        Node::Not(x) => constant_bool(nodes, lists, *x).map(|b| !b),
        Node::And(a, b) => match (constant_bool(nodes, lists, *a), constant_bool(nodes, lists, *b)) {
            (Some(false), _) | (_, Some(false)) => Some(false),
            (Some(true), Some(true)) => Some(true),
            _ => None,
        },
        Node::Or(a, b) => match (constant_bool(nodes, lists, *a), constant_bool(nodes, lists, *b)) {
            (Some(true), _) | (_, Some(true)) => Some(true),
            (Some(false), Some(false)) => Some(false),
            _ => None,
        },
        Node::In(needle, list, negated) => {
            let items = match nodes.get(*list as usize)? {
                Node::List(i) => lists.get(*i as usize)?,
                _ => return None,
            };
            if items.is_empty() {
                return Some(*negated);
            }
            match lit(*needle)? {
                Lit::Str(s) => Some(items.contains(s) != *negated),
                _ => None,
            }
        }
        Node::Cmp(op, a, b) => {
            let ord = match (lit(*a)?, lit(*b)?) {
                (Lit::Int(x), Lit::Int(y)) => x.cmp(y),
                (Lit::Dec(x), Lit::Dec(y)) => x.cmp(y),
                (Lit::Str(x), Lit::Str(y)) if matches!(op, Cmp::Eq | Cmp::Ne) => x.cmp(y),
                (Lit::Bool(x), Lit::Bool(y)) if matches!(op, Cmp::Eq | Cmp::Ne) => x.cmp(y),
                _ => return None,
            };
            Some(match op {
                Cmp::Eq => ord.is_eq(),
                Cmp::Ne => ord.is_ne(),
                Cmp::Lt => ord.is_lt(),
                Cmp::Le => ord.is_le(),
                Cmp::Gt => ord.is_gt(),
                Cmp::Ge => ord.is_ge(),
            })
        }
        _ => None,
    }
}
