//! The checked policy: the layer between the checker, which builds it, and
//! the evaluator, which runs it. Every name and field is resolved to a slot
//! and every expression is a node in one arena; nothing here knows how it is
//! evaluated. It depends only on the syntax tree (for its small enums) and
//! on spans.
//!
//! Three vocabularies of types meet around this layer, each for its own
//! reader: [`Ty`] is the language's, what the checker proves of an
//! expression (with `Dyn` for attributes, known only at run time, and
//! `Error` for what already failed); the evaluator's compiler narrows it to
//! the static types it can specialise a closure on; and a value's `Kind` is
//! the tag it carries at run time, which errors name.

mod defs;
mod header;
pub(crate) mod life;
mod node;
pub(crate) mod schema;
mod types;
mod vocab;

pub(crate) use defs::{AggDef, AttrObject, AttrSlot, FlagDef, LetDef, Row, RuleDef};
pub use header::{HeaderInfo, Payer, PolicyTz};
pub(crate) use life::{Anchor, RefundLimit, RestrictDef, ReviewDeadline, Stage};
pub(crate) use node::{Arith, Cmp, Func, Lit, Node, NodeId, reads_only_event};
pub(crate) use types::Ty;
pub(crate) use vocab::{Vocabularies, Vocabulary};

use crate::diag::Span;

/// A policy that passed its check, ready to be compiled and run.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub(crate) source: String,
    pub(crate) header: HeaderInfo,
    pub(crate) nodes: Vec<Node>,
    pub(crate) spans: Vec<Span>,
    pub(crate) lists: Vec<Vec<String>>,
    pub(crate) lets: Vec<LetDef>,
    pub(crate) aggs: Vec<AggDef>,
    pub(crate) attrs: Vec<AttrSlot>,
    pub(crate) flags: Vec<FlagDef>,
    pub(crate) rules: Vec<RuleDef>,
    pub(crate) shipping: Vec<Row<Payer>>,
    pub(crate) refund: Vec<Row<NodeId>>,
    /// The words declared for open fields (`values FIELD = […]`).
    pub(crate) vocabularies: Vocabularies,
    /// Lets and aggregates that read `item` and so are computed afresh per line.
    pub(crate) per_line_lets: Vec<u32>,
    pub(crate) per_line_aggs: Vec<u32>,
}

impl Checked {
    /// An empty program over `source`, for the checker to fill in.
    pub(crate) fn new(source: &str, header: HeaderInfo) -> Checked {
        Checked {
            source: source.to_string(),
            header,
            nodes: Vec::new(),
            spans: Vec::new(),
            lists: Vec::new(),
            lets: Vec::new(),
            aggs: Vec::new(),
            attrs: Vec::new(),
            flags: Vec::new(),
            rules: Vec::new(),
            shipping: Vec::new(),
            refund: Vec::new(),
            vocabularies: Vocabularies::default(),
            per_line_lets: Vec::new(),
            per_line_aggs: Vec::new(),
        }
    }

    /// Adds a node to the arena, returning its id.
    pub(crate) fn push(&mut self, node: Node, span: Span) -> NodeId {
        self.nodes.push(node);
        self.spans.push(span);
        u32::try_from(self.nodes.len() - 1).unwrap_or(u32::MAX)
    }
}
