//! Syntax tree -> checked, slot-resolved program ([`Checked`]). The checker
//! reports every problem it finds, not the first; a program is produced only
//! when there are no errors. It builds the program in place and knows nothing
//! of how it will be run.

mod depth;
mod expr;
mod guards;
mod header;
mod lints;
mod values;

use std::collections::HashMap;

use crate::ir::life::RESTRICTION_KINDS;
use crate::ir::{
    Checked, FlagDef, HeaderInfo, LetDef, Node, NodeId, Payer, PolicyTz, RestrictDef, Row, RuleDef, Stage, Ty,
};

use crate::diag::{Diagnostic, Span, did_you_mean};
use crate::syntax::ast::{self, Effect, Item};

/// Deepest nesting, counted through the lets an expression reads, that
/// evaluation will recurse through (docs/language.md §9's 256 levels, which a chain of
/// lets must not get around).
pub const MAX_EVAL_DEPTH: usize = crate::limits::MAX_NESTING;

/// Checks a parsed policy. Returns the program when there is no error, and
/// every diagnostic (errors and warnings) in source order.
pub(crate) fn check(policy: &ast::Policy, source: &str) -> (Option<Checked>, Vec<Diagnostic>) {
    // A shallow policy is checked here; a thread of its own (a deep stack,
    // but tens of microseconds to start) only for deep nesting or long let chains.
    if depth::recursion_bound(policy, depth::SHALLOW).is_some() {
        return check_here(policy, source);
    }
    crate::support::with_stack(|| check_here(policy, source)).unwrap_or_else(|| {
        let d = Diagnostic::error("internal", Span::default(), "the checker could not start");
        (None, vec![d])
    })
}

fn check_here(policy: &ast::Policy, source: &str) -> (Option<Checked>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let header = header::check_header(policy, &mut diags);
    let header_ok = header.is_some();
    // Without a header the items are still checked, against a stand-in.
    let mut c = Checker::new(source, header.unwrap_or_else(stand_in_header), diags);
    c.collect_names(policy);
    c.collect_vocabularies(policy);
    c.check_items(policy);
    c.warn_unused();
    lints::lint(policy, &mut c.diags);
    c.diags.sort_by_key(|d| (d.span.start, d.severity));
    c.diags.dedup();
    let failed = c.diags.iter().any(Diagnostic::is_error);
    let diags = std::mem::take(&mut c.diags);
    let program = (!failed && header_ok).then(|| c.finish());
    (program, diags)
}

/// The header items are checked against when the policy's own failed.
fn stand_in_header() -> HeaderInfo {
    use chrono::Offset as _;
    HeaderInfo {
        title: String::new(),
        version: None,
        currency: String::new(),
        minor_units: 2,
        timezone: PolicyTz::Fixed(chrono::Utc.fix()),
        default: ast::Decision::Review,
        default_message: None,
        review: None,
        refund: None,
    }
}

/// What a checked expression knows of itself.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Typed {
    pub node: NodeId,
    pub ty: Ty,
    pub props: Props,
}

/// Where an expression reaches, carried up so items can refuse what they may not read.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Props {
    /// The first place it reads `item` (directly or through a let).
    pub item: Option<Span>,
    /// The first place it reads `risk`.
    pub risk: Option<Span>,
    /// The first place it reads whether a flag fired.
    pub flag: Option<Span>,
    /// The first place it reads an inspection's findings (`item.inspection.*`).
    pub inspection: Option<Span>,
    /// Depth of evaluation, through lets.
    pub depth: usize,
}

impl Props {
    fn merge(self, other: Props) -> Props {
        Props {
            item: self.item.or(other.item),
            risk: self.risk.or(other.risk),
            flag: self.flag.or(other.flag),
            inspection: self.inspection.or(other.inspection),
            depth: self.depth.max(other.depth),
        }
    }
}

/// A `set` or `let`, checked on first use so they may come in any order.
struct Binding<'a> {
    ast: &'a ast::Binding,
    is_set: bool,
    state: BindState,
    index: u32,
    used: bool,
}

#[derive(Clone)]
enum BindState {
    Unchecked,
    Checking,
    Done(Typed, Option<(guards::Key, bool)>),
    Failed,
}

pub(crate) struct Checker<'a> {
    src: &'a str,
    diags: Vec<Diagnostic>,
    /// The program being built.
    ir: Checked,
    bindings: Vec<Binding<'a>>,
    by_name: HashMap<&'a str, usize>,
    /// Flags by name, with their index in the program.
    flags_by_name: HashMap<&'a str, u32>,
    /// What each let and aggregate reads, by index, for the items that use them.
    let_props: Vec<Props>,
    agg_props: Vec<Props>,
    /// Optional values known to be present where the expression being checked runs.
    facts: Vec<guards::Key>,
    /// The history source of the `where` being checked, if any.
    scope: Option<crate::ir::schema::Source>,
    /// The chain of lets being checked, for cycle messages.
    stack: Vec<usize>,
    /// Declared vocabularies and the words already reported against them.
    words: values::WordChecks,
}

impl<'a> Checker<'a> {
    fn new(src: &'a str, header: HeaderInfo, diags: Vec<Diagnostic>) -> Checker<'a> {
        Checker {
            src,
            diags,
            ir: Checked::new(src, header),
            bindings: Vec::new(),
            by_name: HashMap::new(),
            flags_by_name: HashMap::new(),
            let_props: Vec::new(),
            agg_props: Vec::new(),
            facts: Vec::new(),
            scope: None,
            stack: Vec::new(),
            words: values::WordChecks::default(),
        }
    }

    pub(crate) fn push(&mut self, node: Node, span: Span) -> NodeId {
        self.ir.push(node, span)
    }

    pub(crate) fn error(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// Names first, so lets and sets may be used before they are written.
    fn collect_names(&mut self, policy: &'a ast::Policy) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for item in &policy.items {
            let name = match item {
                Item::Set(b) | Item::Let(b) => &b.name,
                Item::Flag(f) => &f.name,
                Item::Rule(r) => &r.name,
                _ => continue,
            };
            if let Some(first) = seen.get(name.name.as_str()) {
                let (line, col) = crate::diag::line_col(self.src, first.start as usize);
                self.error(
                    Diagnostic::error("duplicate-name", name.span, format!("`{}` is defined twice", name.name))
                        .with_hint(format!(
                            "the first definition is at {line}:{col}; names are unique in a policy"
                        )),
                );
                continue;
            }
            if expr::BUILTIN_NAMES.contains(&name.name.as_str()) {
                self.error(
                    Diagnostic::error(
                        "reserved-name",
                        name.span,
                        format!("`{}` is a built-in name", name.name),
                    )
                    .with_hint("pick another name"),
                );
            }
            seen.insert(&name.name, name.span);
            if let Item::Flag(f) = item {
                let index = u32::try_from(self.flags_by_name.len()).unwrap_or(u32::MAX);
                self.flags_by_name.insert(&f.name.name, index);
            }
            if let Item::Set(b) | Item::Let(b) = item {
                self.by_name.insert(&b.name.name, self.bindings.len());
                self.bindings.push(Binding {
                    ast: b,
                    is_set: matches!(item, Item::Set(_)),
                    state: BindState::Unchecked,
                    index: 0,
                    used: false,
                });
            }
        }
    }

    fn check_items(&mut self, policy: &'a ast::Policy) {
        let mut shipping_seen = false;
        let mut refund_seen = false;
        for item in &policy.items {
            match item {
                Item::Header(_) | Item::Values(_) => {}
                Item::Set(b) | Item::Let(b) => {
                    if let Some(&i) = self.by_name.get(b.name.name.as_str())
                        && std::ptr::eq(self.bindings[i].ast, b)
                    {
                        self.binding(i, b.name.span);
                    }
                }
                Item::Flag(f) => self.flag(f),
                Item::Rule(r) => self.rule(r),
                Item::Shipping(t) => {
                    if std::mem::replace(&mut shipping_seen, true) {
                        self.error(
                            Diagnostic::error("duplicate-table", t.span, "a second `shipping` table")
                                .with_hint("a policy has at most one shipping table; merge the rows"),
                        );
                    } else {
                        self.shipping_table(t);
                    }
                }
                Item::Refund(t) => {
                    if std::mem::replace(&mut refund_seen, true) {
                        self.error(
                            Diagnostic::error("duplicate-table", t.span, "a second `refund` table")
                                .with_hint("a policy has at most one refund table; merge the rows"),
                        );
                    } else {
                        self.refund_table(t);
                    }
                }
            }
        }
    }

    /// Checks set or let `i` (once), returning its type.
    pub(crate) fn binding(&mut self, i: usize, used_at: Span) -> Option<(Typed, u32)> {
        match &self.bindings[i].state {
            BindState::Done(t, _) => return Some((*t, self.bindings[i].index)),
            BindState::Failed => return None,
            BindState::Checking => {
                let start = self.stack.iter().position(|&j| j == i).unwrap_or(0);
                let chain: Vec<&str> = self.stack[start..]
                    .iter()
                    .chain(std::iter::once(&i))
                    .map(|&j| self.bindings[j].ast.name.name.as_str())
                    .collect();
                let msg = format!(
                    "`{}` depends on itself: {}",
                    self.bindings[i].ast.name.name,
                    chain.join(" -> ")
                );
                self.error(
                    Diagnostic::error("let-cycle", used_at, msg)
                        .with_hint("break the cycle; lets are computed, not solved"),
                );
                self.bindings[i].state = BindState::Failed;
                return None;
            }
            BindState::Unchecked => {}
        }
        self.bindings[i].state = BindState::Checking;
        self.stack.push(i);
        let b = self.bindings[i].ast;
        // A let's body starts from nothing: guards where it is used do not reach inside.
        let facts = std::mem::take(&mut self.facts);
        let scope = self.scope.take();
        let result = self.expr(&b.value);
        self.facts = facts;
        self.scope = scope;
        self.stack.pop();
        let presence = guards::presence_test(self, &b.value);
        let typed = if self.bindings[i].is_set {
            self.set_value(b, result)
        } else {
            let index = u32::try_from(self.ir.lets.len()).unwrap_or(u32::MAX);
            self.ir.lets.push(LetDef { body: result.node });
            self.let_props.push(result.props);
            self.bindings[i].index = index;
            Some(result)
        };
        let typed = typed.filter(|t| {
            let ok = t.props.depth <= MAX_EVAL_DEPTH;
            if !ok {
                // Reported once, here; lets built on this one fail quietly.
                let msg = format!(
                    "`{}` nests deeper than {MAX_EVAL_DEPTH} levels, counted through the lets it reads",
                    b.name.name
                );
                self.error(Diagnostic::error("too-deep", b.name.span, msg).with_hint("flatten the chain of lets"));
            }
            ok
        });
        self.bindings[i].state = match typed {
            Some(t) => BindState::Done(t, presence),
            None => BindState::Failed,
        };
        typed.map(|t| (t, self.bindings[i].index))
    }

    fn set_value(&mut self, b: &ast::Binding, t: Typed) -> Option<Typed> {
        if t.ty == Ty::Error {
            return None;
        }
        match self.ir.nodes.get(t.node as usize) {
            Some(Node::List(_)) => Some(t),
            _ => {
                self.error(
                    Diagnostic::error(
                        "type",
                        b.value.span,
                        "a set holds a list of strings known when the policy is written",
                    )
                    .with_hint("write `set NAME = [\"a\", \"b\"]`; use `let` for computed values"),
                );
                None
            }
        }
    }

    pub(crate) fn binding_presence(&self, i: usize) -> Option<(guards::Key, bool)> {
        match &self.bindings[i].state {
            BindState::Done(_, p) => p.clone(),
            _ => None,
        }
    }

    pub(crate) fn mark_used(&mut self, i: usize) {
        self.bindings[i].used = true;
    }

    pub(crate) fn find_binding(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The value of the set called `name`, as written.
    pub(crate) fn set_source(&self, name: &str) -> Option<&'a ast::Expr> {
        let b = self.bindings.get(self.find_binding(name)?)?;
        b.is_set.then_some(&b.ast.value)
    }

    pub(crate) fn binding_names(&self) -> Vec<&'a str> {
        let mut names: Vec<&'a str> = self.bindings.iter().map(|b| b.ast.name.name.as_str()).collect();
        names.extend(self.flags_by_name.keys());
        names
    }

    /// The index of the flag called `name`, if there is one.
    pub(crate) fn find_flag(&self, name: &str) -> Option<u32> {
        self.flags_by_name.get(name).copied()
    }

    fn cond(&mut self, e: &ast::Expr, what: &str) -> Typed {
        let t = self.expr(e);
        if !t.ty.fits(Ty::Bool) {
            self.error(
                Diagnostic::error(
                    "type",
                    e.span,
                    format!("{what} must be a condition, but this is {}", t.ty),
                )
                .with_hint("compare it with something, e.g. `… > 0` or `… == \"value\"`"),
            );
        }
        t
    }

    /// Checks `when` and `unless`; guards of `when` hold inside `unless` and the effects.
    fn conditions(
        &mut self,
        when: Option<&ast::Expr>,
        unless: Option<&ast::Expr>,
    ) -> (Option<Typed>, Option<Typed>, usize) {
        let mark = self.facts.len();
        let w = when.map(|e| self.cond(e, "`when`"));
        if let Some(e) = when {
            guards::assume(self, e, true);
        }
        let u = unless.map(|e| self.cond(e, "`unless`"));
        if let Some(e) = unless {
            guards::assume(self, e, false);
        }
        (w, u, mark)
    }

    fn flag(&mut self, f: &'a ast::Flag) {
        let errors_before = self.error_count();
        let (w, u, mark) = self.conditions(f.when.as_ref(), f.unless.as_ref());
        self.facts.truncate(mark);
        for t in [w, u].into_iter().flatten() {
            self.refuse(t.props, "a flag", "flags judge the whole request, before any line");
        }
        let Some((score, _)) = f.score else {
            self.error(
                Diagnostic::error(
                    "missing-score",
                    f.name.span,
                    format!("flag `{}` has no score", f.name.name),
                )
                .with_hint("add `score N`: the number added to `risk` when the flag fires"),
            );
            return;
        };
        self.warn_never(w, &f.name, "flag", errors_before);
        let restricts = f.restricts.iter().filter_map(|r| self.restriction(r)).collect();
        self.ir.flags.push(FlagDef {
            name: f.name.name.clone(),
            when: w.map(|t| t.node),
            unless: u.map(|t| t.node),
            score,
            note: f.note.as_ref().map(|n| n.value.clone()),
            restricts,
        });
    }

    /// Reports a read of `item` (and, for flags, `risk`) where it is not allowed.
    fn refuse(&mut self, props: Props, place: &str, why: &str) {
        if let Some(span) = props.item {
            self.error(
                Diagnostic::error("item-in-request", span, format!("{place} cannot read `item`"))
                    .with_hint(why.to_string()),
            );
        }
        if place == "a flag"
            && let Some(span) = props.risk
        {
            self.error(
                Diagnostic::error("risk-in-flag", span, "a flag cannot read `risk`")
                    .with_hint("`risk` is the sum of the flags' scores, known only after every flag"),
            );
        }
        if place == "a flag"
            && let Some(span) = props.flag
        {
            let name = self.src.get(span.range()).unwrap_or("");
            let message = if self.find_flag(name).is_some() {
                format!("a flag cannot read whether `{name}` fired")
            } else {
                format!("a flag cannot read `{name}`: it reads whether a flag fired")
            };
            self.error(
                Diagnostic::error("flag-in-flag", span, message)
                    .with_hint("flags are evaluated together, before any is known: read it in a rule or a table, or repeat its condition here"),
            );
        }
    }

    fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }

    /// Warns of a condition that is always false; not when the item had
    /// errors, whose stand-in values would make it look so.
    fn warn_never(&mut self, when: Option<Typed>, name: &ast::Ident, what: &str, errors_before: usize) {
        if self.error_count() > errors_before {
            return;
        }
        if let Some(t) = when
            && guards::constant_bool(&self.ir.nodes, &self.ir.lists, t.node) == Some(false)
        {
            self.error(
                Diagnostic::warning(
                    "never-fires",
                    self.ir.spans[t.node as usize],
                    format!("{what} `{}` can never fire: its condition is always false", name.name),
                )
                .with_hint("remove it, or fix the condition"),
            );
        }
    }

    /// `restrict KIND for DURATION`: a kind rpl knows, for some time.
    fn restriction(&mut self, r: &ast::Restriction) -> Option<RestrictDef> {
        let Some(kind) = RESTRICTION_KINDS.iter().find(|k| **k == r.kind.name) else {
            let hint = match did_you_mean(&r.kind.name, RESTRICTION_KINDS.iter().copied()) {
                Some(s) => format!("did you mean `{s}`?"),
                None => format!("the kinds of restriction are {}", RESTRICTION_KINDS.join(", ")),
            };
            self.error(
                Diagnostic::error(
                    "unknown-restriction",
                    r.kind.span,
                    format!("`{}` is not a kind of restriction", r.kind.name),
                )
                .with_hint(hint),
            );
            return None;
        };
        let seconds = r.amount.saturating_mul(r.unit.seconds());
        if seconds <= 0 {
            self.error(
                Diagnostic::error("bad-restriction", r.span, "a restriction for no time at all")
                    .with_hint("say how long it lasts, e.g. `restrict refund_only for 90 days`"),
            );
            return None;
        }
        Some(RestrictDef {
            kind,
            seconds,
            because: r.because.as_ref().map(|b| b.value.clone()),
        })
    }

    /// The stage a rule runs at: the request, or `at inspection`.
    fn stage(&mut self, r: &ast::Rule) -> Stage {
        let Some(word) = &r.stage else {
            return Stage::Request;
        };
        match word.name.as_str() {
            "inspection" => Stage::Inspection,
            "request" => Stage::Request,
            other => {
                let hint = match did_you_mean(other, ["inspection", "request"]) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => {
                        "a rule runs at the `request` (the default) or `at inspection`, when the goods are inspected"
                            .into()
                    }
                };
                self.error(
                    Diagnostic::error("unknown-stage", word.span, format!("a rule cannot run at `{other}`"))
                        .with_hint(hint),
                );
                Stage::Request
            }
        }
    }

    /// A rule at the request cannot read what an inspection finds.
    fn refuse_inspection(&mut self, props: Props, place: &str) {
        if let Some(span) = props.inspection {
            self.error(
                Diagnostic::error(
                    "inspection-at-request",
                    span,
                    format!("{place} runs at the request, before anything is inspected"),
                )
                .with_hint("read an inspection's findings in a rule that runs when the goods are inspected: `rule NAME at inspection { … }`"),
            );
        }
    }

    fn rule(&mut self, r: &'a ast::Rule) {
        let errors_before = self.error_count();
        let errors_at_stage = self.error_count();
        let stage = self.stage(r);
        // An unknown stage is reported once, not again for each finding read.
        let known_stage = self.error_count() == errors_at_stage;
        let (w, u, mark) = self.conditions(r.when.as_ref(), r.unless.as_ref());
        if stage == Stage::Request && known_stage {
            for t in [w, u].into_iter().flatten() {
                self.refuse_inspection(t.props, &format!("rule `{}`", r.name.name));
            }
        }
        let mut decision: Option<(ast::Decision, Option<String>, Span)> = None;
        let mut deducts = Vec::new();
        let mut deadline = None;
        let mut refund: Option<(crate::ir::RefundLimit, Span)> = None;
        let mut restricts = Vec::new();
        for effect in &r.effects {
            match effect {
                Effect::Refund(limit) => {
                    if let Some((_, first)) = refund {
                        let (line, col) = crate::diag::line_col(self.src, first.start as usize);
                        self.error(
                            Diagnostic::error(
                                "two-refund-limits",
                                limit.span,
                                format!("rule `{}` gives two refund limits", r.name.name),
                            )
                            .with_hint(format!("the first is at {line}:{col}; keep one")),
                        );
                        continue;
                    }
                    if let Some(l) = header::check_refund_limit(limit, &mut self.diags) {
                        refund = Some((l, limit.span));
                    }
                }
                Effect::Restrict(res) => restricts.extend(self.restriction(res)),
                Effect::Decide {
                    decision: d,
                    message,
                    deadline: limit,
                    span,
                } => {
                    if let Some(limit) = limit {
                        if *d == ast::Decision::Review {
                            deadline = header::check_deadline(limit, &mut self.diags);
                        } else {
                            self.error(
                                Diagnostic::error("bad-deadline", limit.span, format!("only a review has a deadline, not `{}`", d.as_str()))
                                    .with_hint("a deadline says how long a person may take: `review \"…\" within 24 hours, then deny`"),
                            );
                        }
                    }
                    if stage == Stage::Inspection && *d == ast::Decision::Approve {
                        self.error(
                            Diagnostic::error("approve-at-inspection", *span, format!("rule `{}` approves at inspection", r.name.name))
                                .with_hint("at inspection a line's decision stands unless a rule finds a reason to deny it, review it or deduct; approve at the request"),
                        );
                    }
                    if let Some((_, _, first)) = decision {
                        let (line, col) = crate::diag::line_col(self.src, first.start as usize);
                        self.error(Diagnostic::error("two-decisions", *span, format!("rule `{}` decides twice", r.name.name))
                            .with_hint(format!("a rule has at most one of approve, deny and review (the first is at {line}:{col}); split it into two rules")));
                        continue;
                    }
                    if *d != ast::Decision::Approve && message.is_none() {
                        self.error(
                            Diagnostic::error("missing-message", *span, format!("`{}` needs a message", d.as_str()))
                                .with_hint(format!(
                                    "say why, for the customer and the agent: `{} \"…\"`",
                                    d.as_str()
                                )),
                        );
                    }
                    decision = Some((*d, message.as_ref().map(|m| m.value.clone()), *span));
                }
                Effect::Deduct { amount, label, .. } => {
                    let t = self.expr(amount);
                    if stage == Stage::Request && known_stage {
                        self.refuse_inspection(t.props, &format!("rule `{}`", r.name.name));
                    }
                    if !t.ty.fits(Ty::Dec) {
                        self.error(
                            Diagnostic::error(
                                "type",
                                amount.span,
                                format!("a deduction is an amount of money, but this is {}", t.ty),
                            )
                            .with_hint("e.g. `deduct 10% of item.amount as \"Restocking fee\"`"),
                        );
                    }
                    deducts.push((t.node, label.value.clone()));
                }
            }
        }
        self.facts.truncate(mark);
        if r.effects.is_empty() {
            self.error(
                Diagnostic::error(
                    "no-effect",
                    r.name.span,
                    format!("rule `{}` has no effect", r.name.name),
                )
                .with_hint("add `approve`, `deny \"…\"`, `review \"…\"` or `deduct … as \"…\"`"),
            );
        }
        if let Some((_, at)) = refund {
            let problem = match (stage, &decision) {
                (Stage::Inspection, _) => Some("a rule at inspection does not approve, so it has no refund to time"),
                (_, None) => Some("a rule that only deducts does not decide when a refund is due"),
                (_, Some((ast::Decision::Deny, _, _))) => Some("a denied line has no refund to time"),
                _ => None,
            };
            if let Some(problem) = problem {
                self.error(
                    Diagnostic::error("bad-refund-limit", at, format!("rule `{}`: {problem}", r.name.name))
                        .with_hint("put a refund limit on a rule that approves (or reviews), or in the header"),
                );
            }
        }
        self.warn_never(w, &r.name, "rule", errors_before);
        self.ir.rules.push(RuleDef {
            name: r.name.name.clone(),
            stage,
            when: w.map(|t| t.node),
            unless: u.map(|t| t.node),
            decision: decision.map(|(d, m, _)| (d, m)),
            deducts,
            deadline,
            refund: refund.map(|(l, _)| l),
            restricts,
        });
    }

    /// The rows of a table; the guards of earlier rows are known false in later ones.
    fn rows<V, O>(
        &mut self,
        table_span: Span,
        rows: &'a [ast::Row<V>],
        what: &str,
        mut value: impl FnMut(&mut Self, &'a ast::Row<V>) -> Option<(O, Props)>,
    ) -> Vec<Row<O>> {
        let mark = self.facts.len();
        let mut out = Vec::new();
        let mut ended = false;
        for row in rows {
            if ended {
                self.error(
                    Diagnostic::error(
                        "unreachable-row",
                        row.span,
                        "this row comes after `otherwise` and never applies",
                    )
                    .with_hint("`otherwise` must be the last row"),
                );
                continue;
            }
            let guard = row.guard.as_ref().map(|g| self.cond(g, "a table row's guard"));
            let inner = self.facts.len();
            if let Some(g) = &row.guard {
                guards::assume(self, g, true);
            }
            let v = value(self, row);
            self.facts.truncate(inner);
            if let Some(g) = &row.guard {
                guards::assume(self, g, false);
            }
            ended = row.guard.is_none();
            let props = guard.map(|g| g.props).unwrap_or_default();
            if let Some((v, vprops)) = v {
                self.check_table_props(props.merge(vprops), what);
                out.push(Row {
                    value: v,
                    guard: guard.map(|g| g.node),
                });
            }
        }
        self.facts.truncate(mark);
        if !ended {
            let at = rows.last().map_or(table_span, |r| r.span);
            self.error(
                Diagnostic::error("no-otherwise", at, format!("the {what} table has no `otherwise` row")).with_hint(
                    format!(
                        "end it with a row that always applies, e.g. `{}`",
                        if what == "shipping" {
                            "buyer otherwise"
                        } else {
                            "item.amount otherwise"
                        }
                    ),
                ),
            );
        }
        out
    }

    fn check_table_props(&mut self, props: Props, what: &str) {
        if what == "refund" {
            self.refuse_inspection(props, "the refund table");
        }
        if what == "shipping" {
            self.refuse(
                props,
                "the shipping table",
                "shipping is decided once per request, not per line",
            );
        }
    }

    fn shipping_table(&mut self, t: &'a ast::Table<ast::Ident>) {
        let rows = self.rows(t.span, &t.rows, "shipping", |c, row| {
            let payer = Payer::ALL.iter().find(|(n, _)| *n == row.value.name).map(|(_, p)| *p);
            if payer.is_none() {
                let hint = match did_you_mean(&row.value.name, Payer::ALL.iter().map(|(n, _)| *n)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => "payers are buyer, merchant, platform, insurance and none".into(),
                };
                c.error(
                    Diagnostic::error(
                        "unknown-payer",
                        row.value.span,
                        format!("unknown payer `{}`", row.value.name),
                    )
                    .with_hint(hint),
                );
            }
            payer.map(|p| (p, Props::default()))
        });
        self.ir.shipping = rows;
    }

    fn refund_table(&mut self, t: &'a ast::Table<ast::Expr>) {
        let rows = self.rows(t.span, &t.rows, "refund", |c, row| {
            let v = c.expr(&row.value);
            if !v.ty.fits(Ty::Dec) {
                c.error(
                    Diagnostic::error(
                        "type",
                        row.value.span,
                        format!("a refund is an amount of money, but this is {}", v.ty),
                    )
                    .with_hint("e.g. `item.amount * 50% when …`"),
                );
            }
            Some((v.node, v.props))
        });
        self.ir.refund = rows;
    }

    fn warn_unused(&mut self) {
        for b in &self.bindings {
            if !b.used {
                let what = if b.is_set { "set" } else { "let" };
                self.diags.push(
                    Diagnostic::warning(
                        "unused",
                        b.ast.name.span,
                        format!("{what} `{}` is never used", b.ast.name.name),
                    )
                    .with_hint("remove it, or use it in a rule"),
                );
            }
        }
    }

    fn finish(mut self) -> Checked {
        let per_line = |props: &[Props]| {
            props
                .iter()
                .enumerate()
                .filter(|(_, p)| p.item.is_some())
                .map(|(i, _)| i as u32)
                .collect()
        };
        self.ir.per_line_lets = per_line(&self.let_props);
        self.ir.per_line_aggs = per_line(&self.agg_props);
        self.ir
    }
}
