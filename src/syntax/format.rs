//! `rpl fmt`: one canonical layout. Clause keywords are aligned as in docs/language.md §1,
//! long conditions break before `and`/`or`, runs of sets and lets align their
//! `=`, and every comment stays with the item and clause it was written at.
//! The layout depends only on the tree, the comments and where the source had
//! blank lines, so formatting formatted text changes nothing.

use std::fmt::Write as _;

use super::ast::*;
use crate::diag::Span;

/// Lines longer than this are broken where the language allows.
const WIDTH: usize = 80;

/// A `#` comment, and whether it stands on a line of its own.
#[derive(Debug, Clone)]
struct Comment {
    start: usize,
    text: String,
    own_line: bool,
}

/// Formats a parsed policy. `src` is the text it was parsed from: comments and
/// blank lines are read from it.
pub fn format(policy: &Policy, src: &str) -> String {
    let comments = scan_comments(src);
    let mut f = Formatter {
        src,
        comments,
        next: 0,
        out: String::new(),
    };
    f.policy(policy);
    f.out
}

fn scan_comments(src: &str) -> Vec<Comment> {
    let bytes = src.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line_start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => line_start = i + 1,
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'#' => {
                let end = src[i..].find('\n').map_or(src.len(), |n| i + n);
                let own_line = src[line_start..i].trim().trim_start_matches('\u{FEFF}').is_empty();
                out.push(Comment {
                    start: i,
                    text: src[i..end].trim_end().to_string(),
                    own_line,
                });
                i = end;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// One clause of an item: the keyword column, the text after it, and where
/// its content sits in the source (to place comments).
struct Clause {
    key: String,
    body: Vec<String>,
    span: Span,
}

struct Formatter<'s> {
    src: &'s str,
    comments: Vec<Comment>,
    /// The first comment not yet printed.
    next: usize,
    out: String,
}

impl Formatter<'_> {
    fn policy(&mut self, policy: &Policy) {
        let mut prev: Option<(&Item, Span)> = None;
        for item in &policy.items {
            let span = item.span();
            let gap_start = prev.map_or(0, |(_, s)| s.end as usize);
            let lead = self.comments_before(span.start as usize);
            if let Some((p, pspan)) = prev {
                let first = lead.first().map_or(span.start as usize, |c| c.start);
                let tight = same_kind(p, item) && !self.blank_between(pspan.end as usize, first);
                if !tight {
                    self.out.push('\n');
                }
            }
            self.leading(&lead, gap_start);
            self.item(item, span, policy);
            prev = Some((item, span));
        }
        let rest = self.comments_before(usize::MAX);
        if !rest.is_empty() {
            if !self.out.is_empty() {
                self.out.push('\n');
            }
            let from = prev.map_or(0, |(_, s)| s.end as usize);
            self.leading(&rest, from);
        }
    }

    /// Own-line comments before an item, in groups, keeping a blank line
    /// where the source had one between groups.
    fn leading(&mut self, comments: &[Comment], mut from: usize) {
        for (i, c) in comments.iter().enumerate() {
            if i > 0 && self.blank_between(from, c.start) {
                self.out.push('\n');
            }
            self.out.push_str(&c.text);
            self.out.push('\n');
            from = c.start + c.text.len();
        }
        if let Some(last) = comments.last() {
            let end = last.start + last.text.len();
            let next_code = self.src[end..].find(|c: char| !c.is_whitespace()).map(|n| end + n);
            if let Some(n) = next_code
                && self.blank_between(end, n)
                && !self.out.ends_with("\n\n")
            {
                self.out.push('\n');
            }
        }
    }

    fn blank_between(&self, from: usize, to: usize) -> bool {
        let gap = self.src.get(from.min(to)..to).unwrap_or("");
        let lines: Vec<&str> = gap.split('\n').collect();
        lines.len() >= 3 && lines[1..lines.len() - 1].iter().any(|l| l.trim().is_empty())
    }

    /// Takes the comments that start before `offset`.
    fn comments_before(&mut self, offset: usize) -> Vec<Comment> {
        let mut taken = Vec::new();
        while let Some(c) = self.comments.get(self.next) {
            if c.start >= offset {
                break;
            }
            taken.push(c.clone());
            self.next += 1;
        }
        taken
    }

    fn item(&mut self, item: &Item, span: Span, policy: &Policy) {
        match item {
            Item::Header(h) => {
                let clauses: Vec<Clause> = h
                    .fields
                    .iter()
                    .map(|field| {
                        let (key, body, span) = match field {
                            HeaderField::Currency(t) => ("currency", quote(&t.value), t.span),
                            HeaderField::Timezone(t) => ("timezone", quote(&t.value), t.span),
                            HeaderField::Version(t) => ("version", quote(&t.value), t.span),
                            HeaderField::Default(d, m) => {
                                let body = match m {
                                    Some(m) => format!("{} {}", d.as_str(), quote(&m.value)),
                                    None => d.as_str().to_string(),
                                };
                                ("default", body, m.as_ref().map_or(h.title.span, |m| m.span))
                            }
                            HeaderField::Review(d) => ("review", deadline(d), d.span),
                            HeaderField::Refund(r) => ("refund", refund_limit(r), r.span),
                        };
                        Clause {
                            key: key.into(),
                            body: vec![body],
                            span,
                        }
                    })
                    .collect();
                let head = format!("policy {} {{", quote(&h.title.value));
                self.block(&head, clauses, span, 8);
            }
            Item::Set(b) | Item::Let(b) => {
                let kw = if matches!(item, Item::Set(_)) { "set" } else { "let" };
                self.binding(kw, &b.name.name, &b.value, item, span, policy);
            }
            Item::Values(v) => self.binding("values", &v.field_name(), &v.value, item, span, policy),
            Item::Flag(flag) => {
                let mut clauses = Vec::new();
                cond_clauses(&mut clauses, flag.when.as_ref(), flag.unless.as_ref());
                if let Some((score, s)) = flag.score {
                    clauses.push(Clause {
                        key: "score".into(),
                        body: vec![score.to_string()],
                        span: s,
                    });
                }
                if let Some(note) = &flag.note {
                    clauses.push(Clause {
                        key: "note".into(),
                        body: vec![quote(&note.value)],
                        span: note.span,
                    });
                }
                for r in &flag.restricts {
                    clauses.push(restrict_clause(r));
                }
                let width = if flag.unless.is_some() { 6 } else { 5 };
                self.block(&format!("flag {} {{", flag.name.name), clauses, span, width);
            }
            Item::Rule(rule) => {
                let mut clauses = Vec::new();
                cond_clauses(&mut clauses, rule.when.as_ref(), rule.unless.as_ref());
                for effect in &rule.effects {
                    clauses.push(match effect {
                        Effect::Decide {
                            decision,
                            message,
                            deadline: limit,
                            span,
                        } => {
                            let mut body: Vec<String> = message.iter().map(|m| quote(&m.value)).collect();
                            if let Some(d) = limit {
                                match body.last_mut() {
                                    Some(last) => {
                                        let _ = write!(last, " {}", deadline(d));
                                    }
                                    None => body.push(deadline(d)),
                                }
                            }
                            Clause {
                                key: decision.as_str().into(),
                                body,
                                span: *span,
                            }
                        }
                        Effect::Refund(r) => Clause {
                            key: "refund".into(),
                            body: vec![refund_limit(r)],
                            span: r.span,
                        },
                        Effect::Restrict(r) => restrict_clause(r),
                        Effect::Deduct { amount, label, span } => {
                            let mut body = expr_lines(amount, 9);
                            if let Some(last) = body.last_mut() {
                                let _ = write!(last, " as {}", quote(&label.value));
                            }
                            Clause {
                                key: "deduct".into(),
                                body,
                                span: *span,
                            }
                        }
                    });
                }
                let head = match &rule.stage {
                    Some(stage) => format!("rule {} at {} {{", rule.name.name, stage.name),
                    None => format!("rule {} {{", rule.name.name),
                };
                self.block(&head, clauses, span, 6);
            }
            Item::Shipping(t) => {
                let width = t.rows.iter().map(|r| r.value.name.len()).max().unwrap_or(0);
                let clauses = rows(&t.rows, |v| v.name.clone());
                self.block("shipping {", clauses, span, width);
            }
            Item::Refund(t) => {
                let values: Vec<String> = t.rows.iter().map(|r| expr_lines(&r.value, 2).join(" ")).collect();
                let width = values.iter().map(|v| v.chars().count()).max().unwrap_or(0);
                let clauses = rows(&t.rows, |v| expr_lines(v, 2).join(" "));
                self.block("refund {", clauses, span, width);
            }
        }
    }

    /// `set`, `let` or `values`: `KW NAME = VALUE` on one line, or a long
    /// value continued under itself.
    fn binding(&mut self, kw: &str, name: &str, value: &Expr, item: &Item, span: Span, policy: &Policy) {
        let width = self.binding_width(item, policy);
        let head = format!("{kw} {name:width$} = ");
        let lines = expr_lines(value, head.chars().count());
        let mut text = head;
        text.push_str(&lines.join(&format!("\n{}", " ".repeat(width + kw.len() + 4))));
        let trailing = self.trailing_within(span);
        self.out.push_str(&text);
        self.out.push_str(&trailing);
        self.out.push('\n');
    }

    /// The width of the names in the run of sets or lets this one is part
    /// of, so that their `=` line up.
    fn binding_width(&self, item: &Item, policy: &Policy) -> usize {
        let items = &policy.items;
        let Some(at) = items.iter().position(|i| std::ptr::eq(i, item)) else {
            return 0;
        };
        // A run is broken by a blank line, not by the comments inside it.
        let joined =
            |a: &Item, b: &Item| same_kind(a, b) && !self.blank_between(a.span().end as usize, b.span().start as usize);
        let mut first = at;
        while first > 0 && joined(&items[first - 1], &items[first]) {
            first -= 1;
        }
        let mut last = at;
        while last + 1 < items.len() && joined(&items[last], &items[last + 1]) {
            last += 1;
        }
        items[first..=last]
            .iter()
            .filter_map(|i| match i {
                Item::Set(b) | Item::Let(b) => Some(b.name.name.len()),
                Item::Values(v) => Some(v.field_name().len()),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// Trailing comments inside a one-line item (`set`, `let`), joined.
    fn trailing_within(&mut self, span: Span) -> String {
        let end_of_line = self.src[span.end as usize..]
            .find('\n')
            .map_or(self.src.len(), |n| span.end as usize + n);
        let inside = self.comments_before(end_of_line);
        inside.iter().map(|c| format!("  {}", c.text)).collect()
    }

    /// `head {`, one line per clause with aligned keywords, `}`; comments
    /// go before the clause they precede or after the clause they follow.
    fn block(&mut self, head: &str, clauses: Vec<Clause>, span: Span, width: usize) {
        self.out.push_str(head);
        let close = span.end as usize;
        let head_line_end = self.src[span.start as usize..]
            .find('\n')
            .map_or(close, |n| span.start as usize + n);
        let first_start = clauses.first().map_or(close, |c| c.span.start as usize);
        let on_head: Vec<Comment> = self.comments_before(head_line_end.min(first_start));
        for c in &on_head {
            let _ = write!(self.out, "  {}", c.text);
        }
        self.out.push('\n');
        let indent = 2 + width + 1;
        // Gather first, so trailing comments can line up in one column.
        let mut rendered: Vec<(Vec<Comment>, String, Vec<Comment>)> = Vec::new();
        for (i, clause) in clauses.iter().enumerate() {
            let next_start = clauses.get(i + 1).map_or(close, |c| c.span.start as usize);
            let before = self.comments_before(clause.span.start as usize);
            let key = if clause.body.is_empty() {
                clause.key.clone()
            } else {
                format!("{:width$} ", clause.key)
            };
            let body = clause.body.join(&format!("\n{}", " ".repeat(indent)));
            // Comments up to the end of this clause's last line, or the next clause, trail it.
            let end = clause.span.end as usize;
            let line_end = self.src[end..].find('\n').map_or(close, |n| end + n);
            let trailing = self.comments_before(line_end.min(next_start).max(end));
            rendered.push((before, format!("  {key}{body}"), trailing));
        }
        let last_line = |text: &str| text.rsplit('\n').next().map_or(0, |l| l.chars().count());
        let column = rendered
            .iter()
            .filter(|r| !r.2.is_empty())
            .map(|r| last_line(&r.1))
            .max()
            .unwrap_or(0);
        for (before, text, trailing) in rendered {
            for c in before {
                let _ = writeln!(self.out, "  {}", c.text);
            }
            self.out.push_str(&text);
            if !trailing.is_empty() {
                let pad = column - last_line(&text) + 2;
                let joined: Vec<&str> = trailing.iter().map(|c| c.text.as_str()).collect();
                let _ = write!(self.out, "{}{}", " ".repeat(pad), joined.join(" "));
            }
            self.out.push('\n');
        }
        for c in self.comments_before(close) {
            let _ = writeln!(self.out, "  {}", c.text);
        }
        self.out.push('}');
        let line_end = self.src[close..].find('\n').map_or(self.src.len(), |n| close + n);
        let after: Vec<Comment> = self
            .comments
            .get(self.next..)
            .unwrap_or(&[])
            .iter()
            .take_while(|c| c.start < line_end && !c.own_line)
            .cloned()
            .collect();
        self.next += after.len();
        for c in after {
            let _ = write!(self.out, "  {}", c.text);
        }
        self.out.push('\n');
    }
}

/// `within 48 hours, then approve`.
fn deadline(d: &Deadline) -> String {
    format!(
        "within {} {}, then {}",
        d.amount,
        d.unit.word(d.amount),
        d.then.as_str()
    )
}

/// `at once`, `within 3 days of inspection` (after the word `refund`).
fn refund_limit(r: &RefundLimit) -> String {
    match (&r.within, &r.of) {
        (Some((n, unit)), Some(of)) => format!("within {n} {} of {}", unit.word(*n), of.name),
        (Some((n, unit)), None) => format!("within {n} {}", unit.word(*n)),
        (None, _) => "at once".into(),
    }
}

fn restrict_clause(r: &Restriction) -> Clause {
    let mut body = format!("{} for {} {}", r.kind.name, r.amount, r.unit.word(r.amount));
    if let Some(because) = &r.because {
        let _ = write!(body, " {}", quote(&because.value));
    }
    Clause {
        key: "restrict".into(),
        body: vec![body],
        span: r.span,
    }
}

fn same_kind(a: &Item, b: &Item) -> bool {
    matches!(
        (a, b),
        (Item::Set(_), Item::Set(_)) | (Item::Let(_), Item::Let(_)) | (Item::Values(_), Item::Values(_))
    )
}

fn cond_clauses(out: &mut Vec<Clause>, when: Option<&Expr>, unless: Option<&Expr>) {
    for (key, e) in [("when", when), ("unless", unless)] {
        if let Some(e) = e {
            out.push(Clause {
                key: key.into(),
                body: expr_lines(e, 9),
                span: e.span,
            });
        }
    }
}

fn rows<V>(rows: &[Row<V>], value: impl Fn(&V) -> String) -> Vec<Clause> {
    rows.iter()
        .map(|r| {
            let body = match &r.guard {
                Some(g) => expr_lines(g, 20)
                    .into_iter()
                    .enumerate()
                    .map(|(i, l)| {
                        if i == 0 {
                            format!("when {l}")
                        } else {
                            format!("     {l}")
                        }
                    })
                    .collect(),
                None => vec!["otherwise".to_string()],
            };
            Clause {
                key: value(&r.value),
                body,
                span: r.span,
            }
        })
        .collect()
}

/// An expression as lines: one if it fits after `column`, else broken
/// before the `and`/`or` of its outermost chain.
fn expr_lines(e: &Expr, column: usize) -> Vec<String> {
    let flat = expr(e);
    if column + flat.chars().count() <= WIDTH {
        return vec![flat];
    }
    // Each piece is its lines: one, or several for a parenthesised chain
    // that does not fit on a line of its own.
    let (pieces, lead): (Vec<Vec<String>>, usize) = match &e.kind {
        ExprKind::Binary(op @ (BinOp::And | BinOp::Or), _, _) => {
            let pieces = chain(e, *op)
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let prefix = if i == 0 {
                        String::new()
                    } else {
                        format!("{} ", op.symbol())
                    };
                    piece_lines(&prefix, p, column)
                })
                .collect();
            (pieces, 0)
        }
        // Lists joined with `+` (a set, declared values) break before a `+`,
        // and a list too long for its line fills the lines after it.
        ExprKind::Binary(BinOp::Add, _, _) => {
            let pieces = chain(e, BinOp::Add)
                .iter()
                .enumerate()
                .map(|(i, p)| list_piece_lines(if i == 0 { "" } else { "+ " }, p, column))
                .collect();
            (pieces, 0)
        }
        // A long list fills its lines, continuing under its first element.
        ExprKind::List(items) if !items.is_empty() => {
            let last = items.len() - 1;
            let pieces = items
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    let open = if i == 0 { "[" } else { "" };
                    let close = if i == last { "]" } else { "," };
                    vec![format!("{open}{}{close}", expr(x))]
                })
                .collect();
            (pieces, 1)
        }
        _ => return vec![flat],
    };
    let mut lines: Vec<String> = Vec::new();
    let mut current: Option<String> = None;
    for (i, piece) in pieces.into_iter().enumerate() {
        let single = piece.len() == 1;
        let Some(first) = piece.first() else { continue };
        match current.take() {
            Some(mut cur) if single && column + cur.chars().count() + 1 + first.chars().count() <= WIDTH => {
                cur.push(' ');
                cur.push_str(first);
                current = Some(cur);
                continue;
            }
            Some(cur) => lines.push(cur),
            None => {}
        }
        let indent = if i == 0 { String::new() } else { " ".repeat(lead) };
        let mut piece: Vec<String> = piece.into_iter().map(|l| format!("{indent}{l}")).collect();
        if single {
            current = piece.pop();
        } else {
            lines.append(&mut piece);
        }
    }
    lines.extend(current);
    lines
}

/// One operand of a chain after its operator: on one line, or, for a
/// parenthesised chain too long for one, broken inside its parentheses.
fn piece_lines(prefix: &str, part: &Expr, column: usize) -> Vec<String> {
    let flat = format!("{prefix}{}", expr(part));
    let ExprKind::Paren(inner) = &part.kind else {
        return vec![flat];
    };
    if column + flat.chars().count() <= WIDTH || !matches!(inner.kind, ExprKind::Binary(BinOp::And | BinOp::Or, _, _)) {
        return vec![flat];
    }
    let open = prefix.chars().count() + 1;
    let mut lines = expr_lines(inner, column + open);
    let last = lines.len() - 1;
    for (i, line) in lines.iter_mut().enumerate() {
        let lead = if i == 0 { format!("{prefix}(") } else { " ".repeat(open) };
        *line = format!("{lead}{line}{}", if i == last { ")" } else { "" });
    }
    lines
}

/// One operand of a `+` chain after its `+`: on one line, or, for a list too
/// long for one, the list's own lines.
fn list_piece_lines(prefix: &str, part: &Expr, column: usize) -> Vec<String> {
    let flat = format!("{prefix}{}", expr(part));
    let width = prefix.chars().count();
    if column + flat.chars().count() <= WIDTH || !matches!(part.kind, ExprKind::List(_)) {
        return vec![flat];
    }
    let mut lines = expr_lines(part, column + width);
    for (i, line) in lines.iter_mut().enumerate() {
        let lead = if i == 0 { prefix.to_string() } else { " ".repeat(width) };
        *line = format!("{lead}{line}");
    }
    lines
}

/// The operands of a left-leaning chain of one operator.
fn chain(e: &Expr, op: BinOp) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::Binary(o, a, b) if *o == op => {
            let mut parts = chain(a, op);
            parts.push(b);
            parts
        }
        _ => vec![e],
    }
}

/// An expression on one line, in canonical spacing.
pub fn expr(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Int(i) => i.to_string(),
        ExprKind::Dec(d) => d.to_string(),
        ExprKind::Percent(d) => format!("{}%", (*d * rust_decimal::Decimal::ONE_HUNDRED).normalize()),
        ExprKind::Str(s) => quote(s),
        ExprKind::Duration(n, u) => format!("{n} {}", u.word(*n)),
        ExprKind::Path(parts) => parts.iter().map(|p| p.name.as_str()).collect::<Vec<_>>().join("."),
        ExprKind::List(items) => format!("[{}]", items.iter().map(expr).collect::<Vec<_>>().join(", ")),
        ExprKind::Call(name, args) => format!(
            "{}({})",
            name.name,
            args.iter().map(expr).collect::<Vec<_>>().join(", ")
        ),
        ExprKind::Aggregate {
            func,
            source,
            field,
            window,
            filter,
        } => {
            let mut s = match func {
                AggFn::Count => "count(".to_string(),
                AggFn::Sum => "sum(".to_string(),
            };
            s.push_str(&source.name);
            if let Some(f) = field {
                let _ = write!(s, ".{}", f.name);
            }
            if let Some(w) = window {
                let _ = write!(s, " in last {} {}", w.amount, w.unit.word(w.amount));
            }
            if let Some(f) = filter {
                let _ = write!(s, " where {}", expr(f));
            }
            s.push(')');
            s
        }
        ExprKind::Unary(UnOp::Neg, x) => format!("-{}", expr(x)),
        ExprKind::Unary(UnOp::Not, x) => format!("not {}", expr(x)),
        ExprKind::Binary(op, a, b) => format!("{} {} {}", expr(a), op.symbol(), expr(b)),
        ExprKind::Is(x, present) => format!("{} is {}", expr(x), if *present { "present" } else { "missing" }),
        ExprKind::If(c, a, b) => format!("if {} then {} else {}", expr(c), expr(a), expr(b)),
        ExprKind::Paren(x) => format!("({})", expr(x)),
    }
}

/// A string literal, escaped so it reads back as the same string.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:X}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}
