//! pest pairs -> owned AST. Nothing of pest leaves this file.

use pest::Parser as _;
use pest::iterators::Pair;
use rust_decimal::Decimal;

use super::ast::*;
use super::expr::{Token, build_expr};
use crate::diag::{Diagnostic, Span};
use crate::limits::MAX_DURATION_SECONDS;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/rpl.pest"]
struct RplParser;

pub(super) type Result<T> = std::result::Result<T, Diagnostic>;

/// A pair's span without the white space and comments pest lets trail it.
pub(super) fn span_of(pair: &Pair<'_, Rule>) -> Span {
    let s = pair.as_span();
    Span::new(s.start(), s.start() + code_len(s.as_str()))
}

/// The length of `text` up to the end of its last token: trailing white
/// space and `#` comments cut off. Strings never span lines, so a `#` outside
/// quotes on the last line starts a comment.
fn code_len(text: &str) -> usize {
    let mut end = text.trim_end().len();
    loop {
        let line_start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        let mut in_string = false;
        let mut escaped = false;
        let mut comment = None;
        for (i, c) in text[line_start..end].char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if in_string => escaped = true,
                '"' => in_string = !in_string,
                '#' if !in_string => {
                    comment = Some(line_start + i);
                    break;
                }
                _ => {}
            }
        }
        match comment {
            Some(at) => end = text[..at].trim_end().len(),
            None => return end,
        }
    }
}

/// A syntax error, and whether pest would have taken a `}` where it was found
/// (recovery names an unclosed `{` by it).
#[derive(Debug, Clone)]
pub(super) struct Failure {
    pub diag: Diagnostic,
    pub wants_brace: bool,
}

impl From<Diagnostic> for Failure {
    fn from(diag: Diagnostic) -> Failure {
        Failure {
            diag,
            wants_brace: false,
        }
    }
}

/// The whole text by pest alone: the reference the hand-written reader is held to.
#[cfg(any(test, feature = "internals"))]
pub fn parse_policy(src: &str) -> Result<Policy> {
    parse_range(src, 0, src.len()).map_err(|f| f.diag)
}

/// Reads `src[start..end]` as a policy of its own. Errors are placed in
/// `src` (and name what follows the piece in `src` as what was found at its
/// end); the tree's spans are relative to `start`.
pub(super) fn parse_range(src: &str, start: usize, end: usize) -> std::result::Result<Policy, Failure> {
    let piece = src.get(start..end).unwrap_or("");
    let mut pairs = RplParser::parse(Rule::file, piece).map_err(|e| syntax_error(src, start, e))?;
    let file = pairs
        .next()
        .ok_or_else(|| Diagnostic::error("syntax", Span::new(start, start), "empty parse"))?;
    let mut items = Vec::new();
    for pair in file.into_inner() {
        if pair.as_rule() == Rule::EOI {
            break;
        }
        items.push(item(pair).map_err(|mut d| {
            d.span = Span::new(d.span.start as usize + start, d.span.end as usize + start);
            d
        })?);
    }
    Ok(Policy { items })
}

fn item(pair: Pair<'_, Rule>) -> Result<Item> {
    let span = span_of(&pair);
    let rule = pair.as_rule();
    let mut inner = pair.into_inner();
    let mut next = || inner.next().ok_or_else(|| internal(span));
    Ok(match rule {
        Rule::header => {
            next()?;
            let title = text(next()?)?;
            let mut fields = Vec::new();
            for f in inner.filter(|p| !matches!(p.as_rule(), Rule::lbrace | Rule::rbrace)) {
                fields.push(match f.as_rule() {
                    Rule::refund_limit => HeaderField::Refund(refund_limit(f)?),
                    _ => header_field(f)?,
                });
            }
            Item::Header(Header { title, fields, span })
        }
        Rule::set_def | Rule::let_def => {
            next()?;
            let name = ident(next()?);
            next()?;
            let value = expr(next()?)?;
            let binding = Binding { name, value, span };
            if rule == Rule::set_def {
                Item::Set(binding)
            } else {
                Item::Let(binding)
            }
        }
        Rule::values_def => {
            next()?;
            let field = next()?.into_inner().map(ident).collect();
            next()?;
            let value = expr(next()?)?;
            Item::Values(Vocabulary { field, value, span })
        }
        Rule::flag_def => flag(inner, span)?,
        Rule::rule_def => rule_def(inner, span)?,
        Rule::shipping_table => {
            let rows = rows(inner, |p| Ok(ident(p)))?;
            Item::Shipping(Table { rows, span })
        }
        Rule::refund_table => {
            let rows = rows(inner, expr)?;
            Item::Refund(Table { rows, span })
        }
        _ => return Err(internal(span)),
    })
}

fn header_field(pair: Pair<'_, Rule>) -> Result<HeaderField> {
    let span = span_of(&pair);
    let rule = pair.as_rule();
    let mut inner = pair.into_inner().skip(1);
    let mut next = || inner.next().ok_or_else(|| internal(span));
    Ok(match rule {
        Rule::currency_field => HeaderField::Currency(text(next()?)?),
        Rule::timezone_field => HeaderField::Timezone(text(next()?)?),
        Rule::version_field => HeaderField::Version(text(next()?)?),
        Rule::default_field => {
            let d = decision(next()?);
            let message = inner.next().map(text).transpose()?;
            HeaderField::Default(d, message)
        }
        Rule::review_field => HeaderField::Review(deadline(next()?)?),
        _ => return Err(internal(span)),
    })
}

/// `within 48 hours, then approve`.
fn deadline(pair: Pair<'_, Rule>) -> Result<Deadline> {
    let span = span_of(&pair);
    let mut parts = pair
        .into_inner()
        .filter(|p| p.as_rule() != Rule::kw_within && p.as_rule() != Rule::kw_then);
    let (amount, unit) = duration(parts.next().ok_or_else(|| internal(span))?)?;
    let then = decision(parts.next().ok_or_else(|| internal(span))?);
    Ok(Deadline {
        amount,
        unit,
        then,
        span,
    })
}

/// `refund at once` or `refund within 3 days of inspection`.
fn refund_limit(pair: Pair<'_, Rule>) -> Result<RefundLimit> {
    let span = span_of(&pair);
    let form = pair.into_inner().nth(1).ok_or_else(|| internal(span))?;
    if form.as_rule() == Rule::at_once {
        return Ok(RefundLimit {
            within: None,
            of: None,
            span,
        });
    }
    let mut parts = form
        .into_inner()
        .filter(|p| p.as_rule() == Rule::duration || p.as_rule() == Rule::word);
    let within = duration(parts.next().ok_or_else(|| internal(span))?)?;
    let of = parts.next().map(ident);
    Ok(RefundLimit {
        within: Some(within),
        of,
        span,
    })
}

/// `restrict KIND for DURATION "why"`.
fn restriction(pair: Pair<'_, Rule>) -> Result<Restriction> {
    let span = span_of(&pair);
    let mut parts = pair.into_inner();
    let mut next = || parts.next().ok_or_else(|| internal(span));
    next()?;
    let kind = ident(next()?);
    next()?;
    let (amount, unit) = duration(next()?)?;
    let because = parts.next().map(text).transpose()?;
    Ok(Restriction {
        kind,
        amount,
        unit,
        because,
        span,
    })
}

fn flag(mut inner: pest::iterators::Pairs<'_, Rule>, span: Span) -> Result<Item> {
    inner.next();
    let name = ident(inner.next().ok_or_else(|| internal(span))?);
    let mut flag = Flag {
        name,
        when: None,
        unless: None,
        score: None,
        note: None,
        restricts: Vec::new(),
        span,
    };
    for clause in inner.filter(|p| !matches!(p.as_rule(), Rule::lbrace | Rule::rbrace)) {
        let cspan = span_of(&clause);
        let rule = clause.as_rule();
        if rule == Rule::restrict_clause {
            flag.restricts.push(restriction(clause)?);
            continue;
        }
        let value = clause.into_inner().nth(1).ok_or_else(|| internal(cspan))?;
        let dup = match rule {
            Rule::when_clause => flag.when.replace(expr(value)?).is_some(),
            Rule::unless_clause => flag.unless.replace(expr(value)?).is_some(),
            Rule::score_clause => {
                let n = value.as_str().parse::<i64>().map_err(|_| {
                    Diagnostic::error("syntax", cspan, "this score is too large")
                        .with_hint("scores are whole numbers that fit in 64 bits")
                })?;
                flag.score.replace((n, span_of(&value))).is_some()
            }
            Rule::note_clause => flag.note.replace(text(value)?).is_some(),
            _ => return Err(internal(cspan)),
        };
        if dup {
            return Err(duplicate_clause(cspan));
        }
    }
    Ok(Item::Flag(flag))
}

fn rule_def(mut inner: pest::iterators::Pairs<'_, Rule>, span: Span) -> Result<Item> {
    inner.next();
    let name = ident(inner.next().ok_or_else(|| internal(span))?);
    let mut rule = Rule_ {
        stage: None,
        when: None,
        unless: None,
        effects: Vec::new(),
    };
    for clause in inner.filter(|p| !matches!(p.as_rule(), Rule::lbrace | Rule::rbrace)) {
        let cspan = span_of(&clause);
        let kind = clause.as_rule();
        match kind {
            Rule::refund_limit => {
                rule.effects.push(Effect::Refund(refund_limit(clause)?));
                continue;
            }
            Rule::restrict_clause => {
                rule.effects.push(Effect::Restrict(restriction(clause)?));
                continue;
            }
            _ => {}
        }
        let mut parts = clause.into_inner();
        let mut next = || parts.next().ok_or_else(|| internal(cspan));
        match kind {
            Rule::when_clause | Rule::unless_clause => {
                next()?;
                let e = expr(next()?)?;
                let slot = if kind == Rule::when_clause {
                    &mut rule.when
                } else {
                    &mut rule.unless
                };
                if slot.replace(e).is_some() {
                    return Err(duplicate_clause(cspan));
                }
            }
            Rule::rule_stage => {
                next()?;
                rule.stage = Some(ident(next()?));
            }
            Rule::decision_clause => {
                let decision = decision(next()?);
                let mut message = None;
                let mut limit = None;
                for p in parts {
                    match p.as_rule() {
                        Rule::string => message = Some(text(p)?),
                        _ => limit = Some(deadline(p)?),
                    }
                }
                rule.effects.push(Effect::Decide {
                    decision,
                    message,
                    deadline: limit,
                    span: cspan,
                });
            }
            Rule::deduct_clause => {
                next()?;
                let amount = expr(next()?)?;
                next()?;
                let label = text(next()?)?;
                rule.effects.push(Effect::Deduct {
                    amount,
                    label,
                    span: cspan,
                });
            }
            _ => return Err(internal(cspan)),
        }
    }
    Ok(Item::Rule(super::ast::Rule {
        name,
        stage: rule.stage,
        when: rule.when,
        unless: rule.unless,
        effects: rule.effects,
        span,
    }))
}

/// The clauses of a rule while they are being collected.
struct Rule_ {
    stage: Option<Ident>,
    when: Option<Expr>,
    unless: Option<Expr>,
    effects: Vec<Effect>,
}

fn rows<V>(
    inner: pest::iterators::Pairs<'_, Rule>,
    value: impl Fn(Pair<'_, Rule>) -> Result<V>,
) -> Result<Vec<Row<V>>> {
    let mut rows = Vec::new();
    for row in inner.filter(|p| matches!(p.as_rule(), Rule::shipping_row | Rule::refund_row)) {
        let span = span_of(&row);
        let mut parts = row.into_inner();
        let v = value(parts.next().ok_or_else(|| internal(span))?)?;
        let guard_pair = parts.next().ok_or_else(|| internal(span))?;
        let mut g = guard_pair.into_inner();
        let first = g.next().ok_or_else(|| internal(span))?;
        let guard = match first.as_rule() {
            Rule::otherwise => None,
            _ => Some(expr(g.next().ok_or_else(|| internal(span))?)?),
        };
        rows.push(Row { value: v, guard, span });
    }
    Ok(rows)
}

fn duplicate_clause(span: Span) -> Diagnostic {
    Diagnostic::error("syntax", span, "this clause is given twice").with_hint("join the conditions with `and`")
}

fn internal(span: Span) -> Diagnostic {
    Diagnostic::error(
        "internal",
        span,
        "the parser met a shape it does not know; please report this policy",
    )
}

pub(super) fn ident(pair: Pair<'_, Rule>) -> Ident {
    Ident {
        name: pair.as_str().to_string(),
        span: span_of(&pair),
    }
}

fn decision(pair: Pair<'_, Rule>) -> Decision {
    match pair.into_inner().next().map(|p| p.as_rule()) {
        Some(Rule::kw_deny) => Decision::Deny,
        Some(Rule::kw_review) => Decision::Review,
        _ => Decision::Approve,
    }
}

/// Unescapes a string literal.
pub(super) fn text(pair: Pair<'_, Rule>) -> Result<Text> {
    unescape(pair.as_str(), span_of(&pair))
}

/// Unescapes the string literal `raw` (quotes included) written at `span`.
pub(super) fn unescape(raw: &str, span: Span) -> Result<Text> {
    let body = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    let mut value = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            value.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => value.push('\n'),
            Some('t') => value.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().skip(1).take_while(|c| *c != '}').collect();
                let c = u32::from_str_radix(&hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or_else(|| {
                        Diagnostic::error("syntax", span, format!("`\\u{{{hex}}}` is not a Unicode character"))
                            .with_hint("use a scalar value such as \\u{4E2D}")
                    })?;
                value.push(c);
            }
            Some(other) => value.push(other),
            None => {}
        }
    }
    Ok(Text { value, span })
}

pub(super) fn expr(pair: Pair<'_, Rule>) -> Result<Expr> {
    let span = span_of(&pair);
    let mut tokens = Vec::new();
    for p in pair.into_inner() {
        tokens.push(token(p)?);
    }
    build_expr(tokens, span)
}

fn token(pair: Pair<'_, Rule>) -> Result<Token> {
    let span = span_of(&pair);
    let bin = |op| Ok(Token::Infix(op, span));
    match pair.as_rule() {
        Rule::neg => Ok(Token::Prefix(UnOp::Neg, span)),
        Rule::not_op => Ok(Token::Prefix(UnOp::Not, span)),
        Rule::if_head => {
            let mut parts = pair.into_inner();
            parts.next();
            let c = expr(parts.next().ok_or_else(|| internal(span))?)?;
            parts.next();
            let a = expr(parts.next().ok_or_else(|| internal(span))?)?;
            Ok(Token::If(c, a, span))
        }
        Rule::is_missing => Ok(Token::Is(false, span)),
        Rule::is_present => Ok(Token::Is(true, span)),
        Rule::or_op => bin(BinOp::Or),
        Rule::and_op => bin(BinOp::And),
        Rule::not_in => bin(BinOp::NotIn),
        Rule::in_op => bin(BinOp::In),
        Rule::eq => bin(BinOp::Eq),
        Rule::ne => bin(BinOp::Ne),
        Rule::le => bin(BinOp::Le),
        Rule::ge => bin(BinOp::Ge),
        Rule::lt => bin(BinOp::Lt),
        Rule::gt => bin(BinOp::Gt),
        Rule::add => bin(BinOp::Add),
        Rule::sub => bin(BinOp::Sub),
        Rule::mul => bin(BinOp::Mul),
        Rule::div => bin(BinOp::Div),
        Rule::of_op => bin(BinOp::Of),
        _ => Ok(Token::Operand(operand(pair)?)),
    }
}

fn operand(pair: Pair<'_, Rule>) -> Result<Expr> {
    let span = span_of(&pair);
    let kind = match pair.as_rule() {
        Rule::paren => {
            let inner = expr(pair.into_inner().next().ok_or_else(|| internal(span))?)?;
            ExprKind::Paren(Box::new(inner))
        }
        Rule::list => ExprKind::List(pair.into_inner().map(expr).collect::<Result<_>>()?),
        Rule::call => {
            let mut parts = pair.into_inner();
            let name = ident(parts.next().ok_or_else(|| internal(span))?);
            ExprKind::Call(name, parts.map(expr).collect::<Result<_>>()?)
        }
        Rule::aggregate => aggregate(pair)?,
        Rule::path => ExprKind::Path(pair.into_inner().map(ident).collect()),
        Rule::duration => {
            let (amount, unit) = duration(pair)?;
            ExprKind::Duration(amount, unit)
        }
        Rule::percent => ExprKind::Percent(percent(pair.as_str(), span)?),
        Rule::decimal => ExprKind::Dec(number(pair.as_str(), span)?),
        Rule::integer => ExprKind::Int(integer(pair.as_str(), span)?),
        Rule::string => ExprKind::Str(text(pair)?.value),
        Rule::kw_true => ExprKind::Bool(true),
        Rule::kw_false => ExprKind::Bool(false),
        _ => return Err(internal(span)),
    };
    Ok(Expr { kind, span })
}

fn aggregate(pair: Pair<'_, Rule>) -> Result<ExprKind> {
    let span = span_of(&pair);
    let mut parts = pair.into_inner();
    let func = match parts.next().map(|p| p.as_str().to_string()).as_deref() {
        Some("sum") => AggFn::Sum,
        _ => AggFn::Count,
    };
    let mut source_parts = parts.next().ok_or_else(|| internal(span))?.into_inner();
    let source = ident(source_parts.next().ok_or_else(|| internal(span))?);
    let field = source_parts.next().map(ident);
    let mut window = None;
    let mut filter = None;
    for p in parts {
        let pspan = span_of(&p);
        match p.as_rule() {
            Rule::window => {
                let d = p.into_inner().nth(2).ok_or_else(|| internal(pspan))?;
                let (amount, unit) = duration(d)?;
                window = Some(Window {
                    amount,
                    unit,
                    span: pspan,
                });
            }
            Rule::agg_where => {
                let e = p.into_inner().nth(1).ok_or_else(|| internal(pspan))?;
                filter = Some(Box::new(expr(e)?));
            }
            _ => return Err(internal(pspan)),
        }
    }
    Ok(ExprKind::Aggregate {
        func,
        source,
        field,
        window,
        filter,
    })
}

fn duration(pair: Pair<'_, Rule>) -> Result<(i64, Unit)> {
    let span = span_of(&pair);
    let mut parts = pair.into_inner();
    let amount = parts.next().ok_or_else(|| internal(span))?.as_str();
    let unit = parts.next().map_or("", |p| p.as_str());
    duration_value(amount, unit, span)
}

/// The amount and unit of a duration written `amount unit` at `span`, within
/// the limit on durations.
pub(super) fn duration_value(amount: &str, unit: &str, span: Span) -> Result<(i64, Unit)> {
    let amount = integer(amount, span)?;
    let unit = match unit.trim_end_matches('s') {
        "minute" => Unit::Minutes,
        "hour" => Unit::Hours,
        "week" => Unit::Weeks,
        _ => Unit::Days,
    };
    if amount
        .checked_mul(unit.seconds())
        .is_none_or(|s| s > MAX_DURATION_SECONDS)
    {
        return Err(
            Diagnostic::error("syntax", span, "this duration is too long").with_hint("durations are at most 100 years")
        );
    }
    Ok((amount, unit))
}

pub(super) fn integer(text: &str, span: Span) -> Result<i64> {
    text.parse::<i64>().map_err(|_| {
        Diagnostic::error("syntax", span, format!("the number {text} is too large"))
            .with_hint("whole numbers are at most 9223372036854775807")
    })
}

/// A decimal read exactly: digits a decimal cannot hold are an error, never rounded away.
pub(super) fn number(text: &str, span: Span) -> Result<Decimal> {
    Decimal::from_str_exact(text).map_err(|_| inexact(text, span))
}

/// A percentage written `raw` (`15%`, `2.5%`) as the exact fraction it stands for.
pub(super) fn percent(raw: &str, span: Span) -> Result<Decimal> {
    let d = number(raw.trim_end_matches('%'), span)?;
    // Exact, or an error: a hundredth may need two more places than a decimal holds.
    d.checked_div(Decimal::ONE_HUNDRED)
        .filter(|p| p.checked_mul(Decimal::ONE_HUNDRED) == Some(d))
        .ok_or_else(|| inexact(raw, span))
}

fn inexact(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("syntax", span, format!("the number {text} cannot be held exactly"))
        .with_hint("decimals have at most 28 significant digits, and 28 after the point")
}

/// Turns pest's error on the piece of `src` at `base` into one located
/// diagnostic that names what was expected in words.
fn syntax_error(src: &str, base: usize, e: pest::error::Error<Rule>) -> Failure {
    use pest::error::{ErrorVariant, InputLocation};
    let pos = base
        + match e.location {
            InputLocation::Pos(p) => p,
            InputLocation::Span((s, _)) => s,
        };
    let found = found_at(src, pos);
    let end = pos + found.map_or(1, |f| f.len()).max(1);
    let span = Span::new(pos, end.min(src.len().max(pos)));
    let (expected, wants_brace) = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => (describe(positives), positives.contains(&Rule::rbrace)),
        ErrorVariant::CustomError { message } => (message.clone(), false),
    };
    if let Some(d) = fractional_score(src, pos) {
        return d.into();
    }
    let found = match found {
        Some(f) => format!("`{f}`"),
        None => "the end of the file".to_string(),
    };
    let diag = Diagnostic::error("syntax", span, format!("expected {expected}, found {found}"))
        .with_hint(hint_for(&expected, src, pos));
    Failure { diag, wants_brace }
}

/// `score 10.5`: pest stops at the `.` (a score is `-`? digits); say what a
/// score is instead.
fn fractional_score(src: &str, pos: usize) -> Option<Diagnostic> {
    let bytes = src.as_bytes();
    if bytes.get(pos) != Some(&b'.') || !bytes.get(pos + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let mut start = pos;
    while start > 0 && bytes[start - 1].is_ascii_digit() {
        start -= 1;
    }
    if start == pos {
        return None;
    }
    if start > 0 && bytes[start - 1] == b'-' {
        start -= 1;
    }
    let mut k = start;
    while k > 0 && matches!(bytes[k - 1], b' ' | b'\t' | b'\r' | b'\n') {
        k -= 1;
    }
    let word = k.checked_sub(5)?;
    if k == start || src.get(word..k) != Some("score") {
        return None;
    }
    if word > 0 && (bytes[word - 1].is_ascii_alphanumeric() || bytes[word - 1] == b'_') {
        return None;
    }
    let mut end = pos + 1;
    while bytes.get(end).is_some_and(u8::is_ascii_digit) {
        end += 1;
    }
    let written = src.get(start..end)?;
    let value = Decimal::from_str_exact(written).ok()?;
    Some(
        Diagnostic::error(
            "syntax",
            Span::new(start, end),
            format!("a score is a whole number, not {written}"),
        )
        .with_hint(format!(
            "scores are whole points added to `risk`: write `score {}` or `score {}`",
            value.floor(),
            value.ceil()
        )),
    )
}

fn found_at(src: &str, pos: usize) -> Option<&str> {
    let tail = src.get(pos..)?;
    let first = tail.chars().next()?;
    if first.is_ascii_alphanumeric() || first == '_' {
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        Some(&tail[..end])
    } else {
        Some(&tail[..first.len_utf8()])
    }
}

fn hint_for(expected: &str, src: &str, pos: usize) -> String {
    let word = found_at(src, pos).unwrap_or("");
    if KEYWORDS.contains(&word) && expected.contains("a name") {
        return format!("`{word}` is a reserved word; pick another name");
    }
    if KEYWORDS.contains(&word) && expected.contains("an expression") {
        return format!("`{word}` cannot start a value: the expression before it is unfinished");
    }
    if word == "=" && expected.contains("an operator") {
        return "to compare two values, write `==`".into();
    }
    if super::prescan::ITEM_WORDS.contains(&word) && expected.contains("`}`") {
        return format!("`{word}` starts an item: end the one before it with `}}`");
    }
    let words = KEYWORDS
        .iter()
        .copied()
        .chain(["currency", "timezone", "version", "default", "within", "restrict"]);
    if word.len() > 2
        && let Some(w) = crate::diag::did_you_mean(word, words).filter(|w| *w != word)
    {
        return format!("did you mean `{w}`?");
    }
    // The clauses of a return's life, by what the line holds before the error.
    let line_start = src[..pos.min(src.len())].rfind('\n').map_or(0, |i| i + 1);
    let before = &src[line_start..pos.min(src.len())];
    let has = |w: &str| {
        before
            .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .any(|x| x == w)
    };
    if has("restrict") {
        return "a restriction reads `restrict refund_only for 90 days \"why\"`".into();
    }
    if has("refund") && has("within") {
        return "a refund limit reads `refund within 3 days of inspection` (or `of approval`), or `refund at once`"
            .into();
    }
    if has("within") {
        return "a review deadline reads `within 48 hours, then approve` (or `then deny`)".into();
    }
    if has("rule") && has("at") {
        return "`rule NAME at inspection { … }` runs when the goods are inspected".into();
    }
    if expected.contains("an expression") {
        return "an expression is a value such as `item.amount`, `7 days`, `\"text\"` or `(a + b)`".into();
    }
    if expected.contains("a clause") {
        return "rules hold `when`, `unless`, `approve`, `deny \"…\"`, `review \"…\"`, `deduct … as \"…\"`, `refund within …` and `restrict …`".into();
    }
    "check the line against the language tour in README.md".into()
}

pub(super) const KEYWORDS: &[&str] = &[
    "policy",
    "set",
    "let",
    "flag",
    "rule",
    "shipping",
    "refund",
    "when",
    "unless",
    "otherwise",
    "approve",
    "deny",
    "review",
    "deduct",
    "as",
    "score",
    "note",
    "and",
    "or",
    "not",
    "in",
    "is",
    "missing",
    "present",
    "if",
    "then",
    "else",
    "of",
    "last",
    "true",
    "false",
    "where",
    "values",
];

/// Names a set of grammar rules in words, the way a person would list them.
fn describe(rules: &[Rule]) -> String {
    let mut words: Vec<&str> = Vec::new();
    let mut push = |w: &'static str| {
        if !w.is_empty() && !words.contains(&w) {
            words.push(w);
        }
    };
    for r in rules {
        push(match r {
            Rule::header | Rule::kw_policy => "an item (policy, set, let, values, flag, rule, shipping, refund)",
            Rule::set_def | Rule::kw_set | Rule::let_def | Rule::kw_let | Rule::flag_def | Rule::kw_flag => {
                "an item (policy, set, let, values, flag, rule, shipping, refund)"
            }
            Rule::rule_def | Rule::kw_rule | Rule::shipping_table | Rule::kw_shipping => {
                "an item (policy, set, let, values, flag, rule, shipping, refund)"
            }
            Rule::refund_table | Rule::kw_refund | Rule::values_def | Rule::kw_values => {
                "an item (policy, set, let, values, flag, rule, shipping, refund)"
            }
            Rule::EOI => "the end of the file",
            Rule::currency_field
            | Rule::timezone_field
            | Rule::version_field
            | Rule::default_field
            | Rule::review_field => "a header field (currency, timezone, version, default, review, refund)",
            Rule::kw_currency | Rule::kw_timezone | Rule::kw_version | Rule::kw_default => {
                "a header field (currency, timezone, version, default, review, refund)"
            }
            Rule::when_clause | Rule::unless_clause | Rule::decision_clause | Rule::deduct_clause => {
                "a clause (when, unless, approve, deny, review, deduct, refund, restrict)"
            }
            // A refund limit and a restriction stand in the header, rules and
            // flags alike: the clauses beside them say which list to name.
            Rule::refund_limit | Rule::restrict_clause | Rule::kw_restrict | Rule::deadline | Rule::rule_stage => "",
            // `at` after a rule's name (`at inspection`) goes unnamed beside its `{`.
            Rule::kw_at if rules.contains(&Rule::lbrace) => "",
            Rule::at_once | Rule::kw_once => "`at once`",
            Rule::kw_at => "`at`",
            Rule::refund_within | Rule::kw_within => "`within`",
            Rule::kw_for => "`for`",
            Rule::word => "a word",
            Rule::kw_when | Rule::kw_unless | Rule::kw_deduct => {
                "a clause (when, unless, approve, deny, review, deduct, refund, restrict)"
            }
            Rule::score_clause | Rule::note_clause | Rule::kw_score | Rule::kw_note => {
                "a flag clause (when, unless, score, note, restrict)"
            }
            Rule::decision | Rule::kw_approve | Rule::kw_deny | Rule::kw_review => "a decision (approve, deny, review)",
            Rule::score_value => "a whole number",
            Rule::shipping_row | Rule::payer => "a payer (buyer, merchant, platform, insurance, none)",
            Rule::refund_row => "a refund amount",
            Rule::row_guard | Rule::otherwise | Rule::kw_otherwise => "`when` or `otherwise`",
            Rule::expr | Rule::neg | Rule::not_op | Rule::if_head | Rule::kw_if => "an expression",
            // `not` starts both `not x` and `not in`; the rules around it say which was meant.
            Rule::kw_not => "",
            Rule::paren | Rule::list | Rule::aggregate | Rule::call | Rule::path | Rule::agg_fn => "an expression",
            Rule::duration => "a duration such as `30 days`",
            Rule::percent | Rule::decimal | Rule::integer | Rule::kw_true | Rule::kw_false => "an expression",
            Rule::is_missing | Rule::is_present | Rule::kw_is => "an operator",
            Rule::or_op | Rule::and_op | Rule::not_in | Rule::in_op | Rule::eq | Rule::ne => "an operator",
            Rule::le | Rule::ge | Rule::lt | Rule::gt | Rule::add | Rule::sub | Rule::mul | Rule::div | Rule::of_op => {
                "an operator"
            }
            Rule::kw_and | Rule::kw_or | Rule::kw_of => "an operator",
            Rule::string | Rule::inner => "a string in \"quotes\"",
            Rule::escape => "an escape (\\\" \\\\ \\n \\t \\u{…})",
            Rule::name | Rule::field | Rule::agg_source => "a name",
            Rule::unit => "a unit (minutes, hours, days, weeks)",
            Rule::window => "`in last …`",
            Rule::kw_in => "an operator",
            Rule::kw_last => "`last`",
            Rule::agg_where | Rule::kw_where => "`where`",
            Rule::kw_then => "`then`",
            Rule::kw_else => "`else`",
            Rule::kw_as => "`as`",
            Rule::kw_missing | Rule::kw_present => "`missing` or `present`",
            Rule::lbrace => "`{`",
            Rule::rbrace => "`}`",
            Rule::equals => "`=`",
            Rule::file | Rule::keyword | Rule::header_field | Rule::flag_clause | Rule::rule_clause => "more input",
            Rule::WHITESPACE | Rule::COMMENT | Rule::item | Rule::prefix | Rule::postfix | Rule::infix => "more input",
            Rule::operand | Rule::literal | Rule::ident_char | Rule::ident_chars => "more input",
        });
    }
    let has = |w: &str, words: &[&str]| words.contains(&w);
    if has("an expression", &words) {
        words.retain(|w| !matches!(*w, "a string in \"quotes\"" | "a name" | "a duration such as `30 days`"));
    }
    // A flag's clauses include `when` and `unless`, which are named as a rule's too.
    if has("a flag clause (when, unless, score, note, restrict)", &words) {
        words.retain(|w| *w != "a clause (when, unless, approve, deny, review, deduct, refund, restrict)");
    }
    if has(
        "a clause (when, unless, approve, deny, review, deduct, refund, restrict)",
        &words,
    ) {
        words.retain(|w| *w != "a decision (approve, deny, review)");
    }
    // `review` opens the header's review deadline too.
    if words.iter().any(|w| w.starts_with("a header field (")) {
        words.retain(|w| *w != "a decision (approve, deny, review)");
    }
    // `refund` opens a refund table, and a refund limit inside a rule or the header.
    let inside = ["a clause (", "a flag clause (", "a header field ("];
    if words.iter().any(|w| inside.iter().any(|i| w.starts_with(i))) {
        words.retain(|w| !w.starts_with("an item ("));
    }
    match words.as_slice() {
        [] if rules.contains(&Rule::deadline) => "`within`".into(),
        [] => "something else".into(),
        [one] => (*one).into(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}
