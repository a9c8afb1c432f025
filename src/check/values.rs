//! Words compared with fields whose values are known: the closed sets
//! (`return.type`, a past return's `type` and `status`) and the vocabularies
//! a policy declares (`values return.reason = […]`). A comparison with a word
//! outside them can never hold (`==`, `in`) or always holds (`!=`, `not
//! in`): an error, with the nearest word.

use std::collections::HashSet;

use super::Checker;
use crate::diag::{Diagnostic, Span, did_you_mean, line_col};
use crate::ir::schema::{
    DECLARABLE, FIELDS, Field, closed_event_values, closed_noun, closed_values, event_vocabulary_field,
};
use crate::ir::{Node, NodeId, Ty, Vocabulary};
use crate::syntax::ast::{self, BinOp, Expr, ExprKind, Item};
use crate::syntax::format::quote;

/// The words a field may be compared with.
#[derive(Clone, Copy)]
enum Words {
    /// A closed set the language fixes.
    Closed(&'static [&'static str]),
    /// The words this policy declares for the field.
    Declared(Field),
}

/// Sets followed through `+` and names when collecting a list's words; a
/// chain of sets deeper than this is a cycle, reported elsewhere.
const MAX_SET_CHAIN: usize = 64;

/// What the checker keeps while holding words to their sets.
#[derive(Default)]
pub(super) struct WordChecks {
    /// Where each field's values are declared, for hints.
    declared_at: Vec<(Field, Span)>,
    /// Words already reported, by place and text: a set compared with one
    /// field in many rules is reported once.
    reported: HashSet<(Span, String)>,
}

impl<'a> Checker<'a> {
    /// Reads every `values FIELD = …` item, before anything else is checked,
    /// so comparisons anywhere in the file are held to the words declared.
    pub(super) fn collect_vocabularies(&mut self, policy: &'a ast::Policy) {
        for item in &policy.items {
            let Item::Values(v) = item else { continue };
            let field = self.declarable(v);
            let t = self.expr(&v.value);
            let words = match self.ir.nodes.get(t.node as usize) {
                Some(Node::List(i)) => self.ir.lists.get(*i as usize).cloned(),
                _ => None,
            };
            let Some(words) = words else {
                if t.ty != Ty::Error {
                    self.error(
                        Diagnostic::error(
                            "type",
                            v.value.span,
                            "declared values are a list of strings known when the policy is written",
                        )
                        .with_hint("write `values FIELD = [\"a\", \"b\"]`, or name sets joined with `+`"),
                    );
                }
                continue;
            };
            let Some(field) = field else { continue };
            if let Some((_, first)) = self.words.declared_at.iter().find(|(f, _)| *f == field) {
                let (line, col) = line_col(self.src, first.start as usize);
                self.error(
                    Diagnostic::error(
                        "duplicate-values",
                        v.field_span(),
                        format!("the values of `{}` are declared twice", v.field_name()),
                    )
                    .with_hint(format!("the first declaration is at {line}:{col}; merge the two lists")),
                );
                continue;
            }
            self.words.declared_at.push((field, v.span));
            self.ir.vocabularies.insert(Vocabulary::new(field, words));
        }
    }

    /// The field a `values` item declares, if it may declare one; reports why not.
    fn declarable(&mut self, v: &ast::Vocabulary) -> Option<Field> {
        let name = v.field_name();
        let open: Vec<String> = DECLARABLE.iter().map(|(f, _)| field_text(*f)).collect();
        let list = open.join(", ");
        let info = match v.field.as_slice() {
            [root, field] => FIELDS.iter().find(|f| f.root == root.name && f.name == field.name),
            _ => None,
        };
        let Some(info) = info else {
            let hint = match did_you_mean(&name, open.iter().map(String::as_str)).or_else(|| {
                open.iter()
                    .map(String::as_str)
                    .find(|o| o.rsplit('.').next() == Some(name.as_str()))
            }) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the fields that take declared values are {list}"),
            };
            self.error(
                Diagnostic::error("unknown-field", v.field_span(), format!("`{name}` is not a field")).with_hint(hint),
            );
            return None;
        };
        if DECLARABLE.iter().any(|(f, _)| *f == info.field) {
            return Some(info.field);
        }
        let (message, hint) = match closed_values(info.field) {
            Some(fixed) => (
                format!("`{name}` takes a fixed set of values: {}", fixed.join(", ")),
                format!("rpl fixes these and refuses any other in input; `values` is for the open fields: {list}"),
            ),
            None => (
                format!("`{name}` is not a field of words a policy can declare"),
                format!("the fields that take declared values are {list}"),
            ),
        };
        self.error(Diagnostic::error("bad-values", v.field_span(), message).with_hint(hint));
        None
    }

    /// Holds the words of a comparison to the set its field takes: called
    /// for `==`, `!=`, `in` and `not in` whose operands checked.
    pub(super) fn check_words(&mut self, op: BinOp, a: &Expr, l: NodeId, b: &Expr, r: NodeId) {
        match op {
            BinOp::Eq | BinOp::Ne => {
                if let Some(words) = self.words_of(l) {
                    self.check_literal(words, b, l, false);
                }
                if let Some(words) = self.words_of(r) {
                    self.check_literal(words, a, r, false);
                }
            }
            BinOp::In | BinOp::NotIn => {
                // `return.reason in [...]`, `item.category in a_set`.
                if let Some(words) = self.words_of(l)
                    && matches!(self.ir.nodes.get(r as usize), Some(Node::List(_)))
                {
                    let mut found = Vec::new();
                    self.list_words(b, 0, &mut found);
                    for (word, span) in found {
                        // A word written in a set, away from this comparison.
                        let via_set = span.start < b.span.start || span.end > b.span.end;
                        self.report_word(words, &word, span, l, via_set);
                    }
                }
                // `"photo" in return.evidence`.
                if let Some(words) = self.words_of(r) {
                    self.check_literal(words, a, r, false);
                }
            }
            _ => {}
        }
    }

    fn check_literal(&mut self, words: Words, e: &Expr, field: NodeId, via_set: bool) {
        if let ExprKind::Str(s) = &e.unparen().kind {
            let span = e.span;
            self.report_word(words, s, span, field, via_set);
        }
    }

    /// The words of the field read at `node`, when they are known.
    fn words_of(&self, node: NodeId) -> Option<Words> {
        let vocab = &self.ir.vocabularies;
        match self.ir.nodes.get(node as usize)? {
            Node::Field(f) => closed_values(*f).map(Words::Closed).or_else(|| {
                let f = crate::ir::schema::vocabulary_field(*f);
                vocab.get(f).map(|_| Words::Declared(f))
            }),
            Node::Event(e) => closed_event_values(*e).map(Words::Closed).or_else(|| {
                event_vocabulary_field(*e)
                    .filter(|f| vocab.get(*f).is_some())
                    .map(Words::Declared)
            }),
            _ => None,
        }
    }

    /// The strings of a constant list as written, with where each was
    /// written: list literals, and sets followed through their names and `+`.
    fn list_words(&self, e: &Expr, depth: usize, out: &mut Vec<(String, Span)>) {
        if depth > MAX_SET_CHAIN {
            return;
        }
        match &e.kind {
            ExprKind::Paren(x) => self.list_words(x, depth + 1, out),
            ExprKind::List(items) => {
                for item in items {
                    if let ExprKind::Str(s) = &item.unparen().kind {
                        out.push((s.clone(), item.span));
                    }
                }
            }
            ExprKind::Binary(BinOp::Add, x, y) => {
                self.list_words(x, depth + 1, out);
                self.list_words(y, depth + 1, out);
            }
            ExprKind::Path(parts) if parts.len() == 1 => {
                if let Some(value) = self.set_source(&parts[0].name) {
                    self.list_words(value, depth + 1, out);
                }
            }
            _ => {}
        }
    }

    fn report_word(&mut self, words: Words, word: &str, span: Span, field: NodeId, via_set: bool) {
        let (message, hint) = match words {
            Words::Closed(fixed) => {
                if fixed.contains(&word) {
                    return;
                }
                let hint = match did_you_mean(word, fixed.iter().copied()) {
                    Some(s) => format!("did you mean {}?", quote(s)),
                    None => format!("{} are {}", closed_noun(fixed).1, fixed.join(", ")),
                };
                (format!("{} is not {}", quote(word), closed_noun(fixed).0), hint)
            }
            Words::Declared(f) => {
                let Some(v) = self.ir.vocabularies.get(f) else { return };
                if v.allows(word) {
                    return;
                }
                let declared = self
                    .words
                    .declared_at
                    .iter()
                    .find(|(g, _)| *g == f)
                    .map(|(_, s)| line_col(self.src, s.start as usize));
                let hint = match (did_you_mean(word, v.candidates()), declared) {
                    (Some(s), _) => format!("did you mean {}?", quote(s)),
                    (None, Some((line, col))) => format!(
                        "this policy's {} are declared at {line}:{col}; add {} there if it is one",
                        v.noun(),
                        quote(word)
                    ),
                    (None, None) => format!("this policy declares its {}", v.noun()),
                };
                (
                    format!("{} is not one of this policy's {}", quote(word), v.noun()),
                    hint,
                )
            }
        };
        let hint = if via_set {
            let text = self.ir.spans.get(field as usize).and_then(|s| self.src.get(s.range()));
            format!("{hint} (this list is compared with `{}`)", text.unwrap_or("the field"))
        } else {
            hint
        };
        if self.words.reported.insert((span, message.clone())) {
            self.error(Diagnostic::error("unknown-value", span, message).with_hint(hint));
        }
    }
}

/// `return.reason`, as a policy writes the field.
fn field_text(f: Field) -> String {
    let info = crate::ir::schema::field_info(f);
    format!("{}.{}", info.root, info.name)
}
