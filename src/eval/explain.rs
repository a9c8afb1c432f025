//! Explanations for people: for each flag, rule and table row that applied,
//! the values that made its conditions hold, and the past events each
//! aggregate counted — what a support agent needs to answer an appeal.

use std::fmt::Write as _;

use serde::Serialize;

use super::value::Value;
use super::verdict::Verdict;
use super::walk::Frame;
use crate::ir::{Cmp, Node, NodeId};
use crate::syntax::ast::AggFn;

/// Why a verdict is what it is: for each flag, rule and table row that applied, the values that made it apply.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[non_exhaustive]
pub struct Explanation {
    /// The flags that fired.
    pub flags: Vec<FiredExplain>,
    /// The shipping row that decided the payer.
    pub shipping: Option<FiredExplain>,
    /// Per line, the rules that fired and the refund row.
    pub lines: Vec<LineExplain>,
}

/// The explanation of one line.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[non_exhaustive]
pub struct LineExplain {
    /// The line's sku.
    pub sku: String,
    /// The rules that fired on it.
    pub rules: Vec<FiredExplain>,
    /// The refund row that gave the line's base refund.
    pub refund: Option<FiredExplain>,
    /// The rules that fired when the line was inspected.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inspection: Vec<FiredExplain>,
}

/// One construct that applied, with the facts that made it apply.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
#[non_exhaustive]
pub struct FiredExplain {
    /// The construct: a flag's or rule's name, or a table row.
    pub name: String,
    /// The values that made it apply, one per line (`days_since_sign = 9 > 7`).
    pub facts: Vec<String>,
}

/// How many lets deep an explanation opens boolean lets to show their parts.
const MAX_LET_EXPANSION: usize = 3;

/// Past events listed per aggregate before the list is cut short.
const MAX_EVIDENCE: usize = 20;

impl<'a> Frame<'a> {
    pub(super) fn explain_fired(
        &mut self,
        name: &str,
        _kind: &str,
        when: Option<NodeId>,
        unless: Option<NodeId>,
    ) -> FiredExplain {
        let mut facts = Vec::new();
        if let Some(w) = when {
            self.facts_of(w, "", &mut facts);
        }
        if let Some(u) = unless {
            self.facts_of(u, "unless ", &mut facts);
        }
        for root in [when, unless].into_iter().flatten() {
            self.evidence_of(root, &mut facts);
        }
        FiredExplain {
            name: name.to_string(),
            facts,
        }
    }

    pub(super) fn explain_row(&mut self, index: usize, value: &str, guard: Option<NodeId>) -> FiredExplain {
        let mut facts = Vec::new();
        match guard {
            Some(g) => {
                self.facts_of(g, "", &mut facts);
                self.evidence_of(g, &mut facts);
            }
            None => facts.push("otherwise".to_string()),
        }
        FiredExplain {
            name: format!("row {}: {value}", index + 1),
            facts,
        }
    }

    fn facts_of(&mut self, id: NodeId, prefix: &str, out: &mut Vec<String>) {
        self.atoms(id, prefix, 0, out);
    }

    /// The atoms of a condition that were evaluated, with their values. A
    /// condition's own atoms count only if this construct evaluated them; the
    /// body of a boolean let it reads is shown beneath it, a level deeper.
    fn atoms(&mut self, id: NodeId, prefix: &str, let_depth: usize, out: &mut Vec<String>) {
        let p = self.p;
        match p.ir.nodes.get(id as usize) {
            Some(Node::And(a, b) | Node::Or(a, b)) => {
                self.atoms(*a, prefix, let_depth, out);
                self.atoms(*b, prefix, let_depth, out);
            }
            Some(Node::Not(x)) => self.atoms(*x, prefix, let_depth, out),
            Some(Node::If(c, a, b)) => {
                self.atoms(*c, prefix, let_depth, out);
                self.atoms(*a, prefix, let_depth, out);
                self.atoms(*b, prefix, let_depth, out);
            }
            Some(Node::Lit(_)) | None => {}
            Some(node) => {
                let current = let_depth > 0 || self.traced_now(id);
                let Some(result) = self.traced(id).filter(|_| current) else {
                    return;
                };
                let text = match node {
                    Node::Cmp(op, a, b) => {
                        let op = match op {
                            Cmp::Eq => "==",
                            Cmp::Ne => "!=",
                            Cmp::Lt => "<",
                            Cmp::Le => "<=",
                            Cmp::Gt => ">",
                            Cmp::Ge => ">=",
                        };
                        format!("{} {op} {}", self.side(*a, true), self.side(*b, false))
                    }
                    Node::In(n, l, negated) => {
                        let op = if *negated { "not in" } else { "in" };
                        format!("{} {op} {}", self.side(*n, true), self.src(*l))
                    }
                    Node::Is(x, present) => {
                        let word = if *present { "present" } else { "missing" };
                        match self.traced(*x) {
                            Some(v) => format!("{} is {word} ({})", self.src(*x), self.show(v)),
                            None => format!("{} is {word}", self.src(*x)),
                        }
                    }
                    _ => format!("{} = {}", self.src(id), self.show_at(id, result)),
                };
                let held = !matches!(result, Value::Bool(false));
                let suffix = if held || matches!(node, Node::Let(_) | Node::Field(_) | Node::Attr(_) | Node::Flag(_)) {
                    ""
                } else {
                    " is false"
                };
                out.push(format!("{prefix}{text}{suffix}"));
                if let (Node::Let(i), Value::Bool(_)) = (node, result)
                    && let_depth < MAX_LET_EXPANSION
                    && let Some(body) = p.ir.lets.get(*i as usize).map(|l| l.body)
                {
                    let indent = " ".repeat(prefix.chars().count() + 2);
                    self.atoms(body, &indent, let_depth + 1, out);
                }
            }
        }
    }

    fn traced_now(&self, id: NodeId) -> bool {
        self.trace
            .as_ref()
            .is_some_and(|t| t.values.get(&id).is_some_and(|(_, c)| *c == t.construct))
    }

    /// Aggregates read by a condition, directly or through lets, with the events they counted.
    fn evidence_of(&mut self, root: NodeId, out: &mut Vec<String>) {
        let mut seen = Vec::new();
        let mut stack = vec![root];
        let p = self.p;
        while let Some(id) = stack.pop() {
            let Some(node) = p.ir.nodes.get(id as usize) else {
                continue;
            };
            match node {
                Node::Agg(i) => {
                    if seen.contains(i) {
                        continue;
                    }
                    seen.push(*i);
                    let Some((value, ids)) = self.trace.as_ref().and_then(|t| t.evidence.get(i)).cloned() else {
                        continue;
                    };
                    {
                        let verb = if matches!(value, Value::Int(_)) {
                            "counted"
                        } else {
                            "added up"
                        };
                        let mut line = format!(
                            "{} {verb} {}",
                            self.src(id),
                            if ids.is_empty() { "nothing" } else { "" }
                        );
                        if !ids.is_empty() {
                            let shown: Vec<&str> = ids.iter().take(MAX_EVIDENCE).copied().collect();
                            let _ = write!(line, "{}", shown.join(", "));
                            if ids.len() > MAX_EVIDENCE {
                                let _ = write!(line, " and {} more", ids.len() - MAX_EVIDENCE);
                            }
                        }
                        out.push(line);
                    }
                }
                Node::Let(i) => {
                    if let Some(l) = p.ir.lets.get(*i as usize) {
                        stack.push(l.body);
                    }
                }
                Node::Not(x) | Node::Neg(x) | Node::Is(x, _) => stack.push(*x),
                Node::And(a, b)
                | Node::Or(a, b)
                | Node::Cmp(_, a, b)
                | Node::In(a, b, _)
                | Node::Arith(_, a, b)
                | Node::Concat(a, b) => {
                    stack.push(*b);
                    stack.push(*a);
                }
                Node::If(c, a, b) => stack.extend([*b, *a, *c]),
                Node::Call(_, a, b) => {
                    stack.extend(b.iter().copied());
                    stack.push(*a);
                }
                _ => {}
            }
        }
    }

    fn traced(&self, id: NodeId) -> Option<Value<'a>> {
        self.trace.as_ref().and_then(|t| t.values.get(&id)).map(|(v, _)| *v)
    }

    /// The source of a node on one line: comments dropped, white space folded.
    fn src(&self, id: NodeId) -> String {
        let p = self.p;
        let text =
            p.ir.spans
                .get(id as usize)
                .and_then(|s| p.ir.source.get(s.range()))
                .unwrap_or("?");
        one_line(text)
    }

    /// One side of a comparison: literals as written, other values with what they were.
    fn side(&mut self, id: NodeId, left: bool) -> String {
        let src = self.src(id);
        if matches!(self.p.ir.nodes.get(id as usize), Some(Node::Lit(_) | Node::List(_))) {
            return src.to_string();
        }
        match self.traced(id) {
            Some(v) => {
                let shown = self.show_at(id, v);
                if shown == src {
                    shown
                } else if left {
                    format!("{src} = {shown}")
                } else {
                    format!("{src} ({shown})")
                }
            }
            None => src.to_string(),
        }
    }

    /// The value of the node at `id` as a person reads it: a sum of money
    /// (`sum(returns.amount …)`, or a let that is one) as money, with the
    /// currency's minor digits.
    fn show_at(&mut self, id: NodeId, v: Value<'a>) -> String {
        match v {
            Value::Dec(d) if self.is_money(id, 0) => self.p.money(d),
            _ => self.show(v),
        }
    }

    /// Whether the node at `id` is a sum of amounts, directly or as a let's body.
    fn is_money(&self, id: NodeId, depth: usize) -> bool {
        let p = self.p;
        match p.ir.nodes.get(id as usize) {
            Some(Node::Agg(i)) => p.ir.aggs.get(*i as usize).is_some_and(|a| a.func == AggFn::Sum),
            Some(Node::Let(i)) if depth < MAX_LET_EXPANSION => {
                p.ir.lets
                    .get(*i as usize)
                    .is_some_and(|l| self.is_money(l.body, depth + 1))
            }
            _ => false,
        }
    }

    /// A value as a person reads it.
    pub(super) fn show(&mut self, v: Value<'a>) -> String {
        match v {
            Value::Bool(b) => b.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Dec(d) => d.normalize().to_string(),
            Value::Str(s) => quote(s),
            Value::Lower(s) => quote(&s.to_lowercase()),
            Value::Time(t) => self.p.ir.header.timezone.format(t),
            Value::Dur(secs) => duration(secs),
            Value::List(node) => {
                let items = self.list_items(node);
                let quoted: Vec<String> = items.iter().map(|s| quote(s)).collect();
                format!("[{}]", quoted.join(", "))
            }
        }
    }

    fn list_items(&mut self, node: NodeId) -> Vec<&'a str> {
        let p = self.p;
        match p.ir.nodes.get(node as usize) {
            Some(Node::List(i)) => {
                p.ir.lists
                    .get(*i as usize)
                    .map_or(Vec::new(), |l| l.iter().map(String::as_str).collect())
            }
            Some(Node::Concat(a, b)) => {
                let (a, b) = (*a, *b);
                let mut items = Vec::new();
                for side in [a, b] {
                    if let Ok(Value::List(n)) = self.eval(side) {
                        items.extend(self.list_items(n));
                    }
                }
                items
            }
            _ => match self.list_slices(node) {
                Ok((x, y)) => x.iter().chain(y).map(String::as_str).collect(),
                Err(_) => Vec::new(),
            },
        }
    }
}

/// Source text on one line: `#` comments dropped (outside strings), runs of
/// white space folded to one space.
pub(super) fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => in_string = !in_string,
            '\\' if in_string => {
                out.push(c);
                if let Some(next) = chars.next() {
                    out.push(next);
                }
                continue;
            }
            '#' if !in_string => {
                for skipped in chars.by_ref() {
                    if skipped == '\n' {
                        break;
                    }
                }
                if !out.ends_with(' ') {
                    out.push(' ');
                }
                continue;
            }
            c if c.is_whitespace() && !in_string => {
                if !out.ends_with([' ', '[', '(']) {
                    out.push(' ');
                }
                continue;
            }
            ']' | ')' | ',' if !in_string && out.ends_with(' ') => {
                out.pop();
            }
            _ => {}
        }
        out.push(c);
    }
    out.trim().to_string()
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn duration(secs: i64) -> String {
    let units = [(604_800, "week"), (86_400, "day"), (3_600, "hour"), (60, "minute")];
    for (size, name) in units {
        if secs != 0 && secs % size == 0 {
            let n = secs / size;
            return format!("{n} {name}{}", if n.abs() == 1 { "" } else { "s" });
        }
    }
    format!("{secs} seconds")
}

/// The verdict and its explanation, as text for a support agent.
pub fn render_explanation(v: &Verdict, e: &Explanation) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "return {}: {}, refund {} {}",
        v.return_id, v.decision, v.refund, v.currency
    );
    let version = v
        .policy
        .version
        .as_deref()
        .map(|ver| format!(" version {ver}"))
        .unwrap_or_default();
    let _ = writeln!(out, "decided by \"{}\"{version} ({})", v.policy.title, v.policy.hash);
    if let Some(f) = &v.floor {
        let version = f
            .policy
            .version
            .as_deref()
            .map(|ver| format!(" version {ver}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "on the floor \"{}\"{version} ({}), which alone says {}, risk {}",
            f.policy.title, f.policy.hash, f.decision, f.risk
        );
    }
    if let Some(r) = &v.request {
        let stage = v.stage.as_deref().unwrap_or("request");
        let _ = writeln!(
            out,
            "after the {stage}; at the request it was {}, refund {}",
            r.decision, r.refund
        );
    }
    if v.shipping == "none" {
        let _ = writeln!(out, "shipping paid by none: nothing is sent back");
    } else {
        let _ = writeln!(out, "shipping paid by {}", v.shipping);
    }
    if let Some(row) = &e.shipping {
        write_facts(&mut out, "  ", &format!("shipping {}", row.name), &row.facts);
    }
    let _ = writeln!(out, "risk {}", v.risk);
    if e.flags.is_empty() {
        let _ = writeln!(out, "  no flag fired");
    }
    // On a floor, the explanation lists the floor's flags after the policy's.
    let floor_flags = v.floor.iter().flat_map(|f| &f.flags);
    for (flag, hit) in e.flags.iter().zip(v.flags.iter().chain(floor_flags)) {
        let note = hit.note.as_deref().map(|n| format!(" ({n})")).unwrap_or_default();
        write_facts(
            &mut out,
            "  ",
            &format!("flag {} {:+}{note}", flag.name, hit.score),
            &flag.facts,
        );
    }
    for (line, lx) in v.lines.iter().zip(&e.lines) {
        let _ = writeln!(out, "\nline {}: {}, refund {}", line.sku, line.decision, line.refund);
        if let Some(m) = &line.message {
            let _ = writeln!(out, "  says: {m}");
        }
        for o in &line.overrides {
            let merchant = o
                .merchant_rule
                .as_deref()
                .map_or("the default".to_string(), |r| format!("rule {r}"));
            let floor = o.floor_rule.as_deref().unwrap_or("an error");
            let refund = match (&o.refund_from, &o.refund_to) {
                (Some(a), Some(b)) => format!(", refund {a} -> {b}"),
                _ => String::new(),
            };
            let _ = writeln!(
                out,
                "  the floor's rule {floor} overrides {merchant}: {} -> {}{refund}",
                o.from, o.to
            );
        }
        if lx.rules.is_empty() {
            let failed = v.errors.iter().any(|e| e.sku.as_deref().is_none_or(|s| s == line.sku));
            let why = if failed {
                "an error sent the line to review"
            } else {
                "the policy's default applies"
            };
            let _ = writeln!(out, "  no rule fired: {why}");
        }
        for (rule, hit) in lx.rules.iter().zip(&line.rules) {
            write_facts(
                &mut out,
                "  ",
                &format!("rule {} -> {}", rule.name, hit.effect),
                &rule.facts,
            );
        }
        if let Some(row) = &lx.refund {
            write_facts(&mut out, "  ", &format!("refund {}", row.name), &row.facts);
        }
        if let Some(at) = &line.inspected_at {
            let _ = writeln!(out, "  inspected at {at}");
        }
        let inspection_hits = line.rules.iter().filter(|r| r.stage.is_some());
        for (rule, hit) in lx.inspection.iter().zip(inspection_hits) {
            write_facts(
                &mut out,
                "  ",
                &format!("rule {} -> {}", rule.name, hit.effect),
                &rule.facts,
            );
        }
        for d in &line.deductions {
            let _ = writeln!(out, "  deducted {} ({})", d.amount, d.label);
        }
        write_life(&mut out, line);
    }
    for r in &v.reviews {
        let lines = r.lines.join(", ");
        if r.timed_out {
            let _ = writeln!(
                out,
                "\nreview of {lines} timed out at {}: {} (nobody decided in time)",
                r.at, r.decision
            );
        } else {
            let by = r.by.as_deref().map(|b| format!(" by {b}")).unwrap_or_default();
            let why = r.reason.as_deref().map(|w| format!(": {w}")).unwrap_or_default();
            let _ = writeln!(out, "\nreview of {lines}: {}{by} at {}{why}", r.decision, r.at);
        }
    }
    for r in &v.restrictions {
        let _ = writeln!(
            out,
            "\nrestricts {} from {} until {} ({}): {}",
            r.kind, r.since, r.until, r.by, r.because
        );
    }
    if !v.errors.is_empty() {
        let _ = writeln!(out, "\nerrors (these lines were sent to review):");
        for err in &v.errors {
            let sku = err.sku.as_deref().map(|s| format!(" on {s}")).unwrap_or_default();
            let _ = writeln!(out, "  {}{sku}: {}", err.construct, err.message);
        }
    }
    out
}

/// A line's deadlines: its review's, its refund's.
fn write_life(out: &mut String, line: &super::verdict::LineVerdict) {
    if line.decision == "review"
        && let Some(due) = &line.review_due
    {
        match line.on_timeout.as_deref() {
            Some(then) => {
                let _ = writeln!(out, "  review due by {due}; if nobody decides by then: {then}");
            }
            None => {
                let _ = writeln!(out, "  review due by {due}; it waits for a person after that");
            }
        }
    }
    match (&line.refund_due, &line.refund_limit) {
        (Some(due), _) if line.decision == "approve" => {
            let _ = writeln!(out, "  refund due by {due}");
        }
        (_, Some(clock)) if line.decision != "deny" => {
            let _ = writeln!(out, "  refund due within {} of {}", span(clock.seconds), clock.of);
        }
        _ => {}
    }
}

/// `3 days`, `48 hours`, `at once`: a length of time as a policy writes it.
pub(crate) fn span(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match seconds {
        0 => "no time (at once)".into(),
        s if s % 86_400 == 0 => plural(s / 86_400, "day"),
        s if s % 3_600 == 0 => plural(s / 3_600, "hour"),
        s if s % 60 == 0 => plural(s / 60, "minute"),
        s => plural(s, "second"),
    }
}

fn write_facts(out: &mut String, indent: &str, head: &str, facts: &[String]) {
    let _ = writeln!(out, "{indent}{head}");
    for f in facts {
        let _ = writeln!(out, "{indent}    {f}");
    }
}
