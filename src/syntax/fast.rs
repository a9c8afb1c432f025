//! A hand-written reader of the grammar for the common case, with pest as the
//! arbiter of everything else.
//!
//! pest spends about 2,000 instructions on each byte of a policy (ordered
//! choices retried at every token, a call tracker and a stack probe on every
//! rule), which made parsing most of compile time. This module reads the same
//! grammar (`grammar/rpl.pest`) straight from the bytes and builds the same
//! tree, spans included, in a small fraction of that.
//!
//! It is deliberately partial. Whenever it meets anything it is not sure of —
//! any syntax error, any error found while building the tree, a place where
//! pest would backtrack into another alternative (`count(` that turns out not
//! to be an aggregate), nesting deeper than [`MAX_DEPTH`], a byte-order mark
//! past the first byte — it gives up and returns `None`, and the caller has
//! pest read the text. So this reader decides nothing on its own: every error
//! and its message still comes from pest, and what it does accept is checked
//! equal to pest's tree by the tests below (and by the `differential` test
//! over the fuzz corpus).
//!
//! Rules of the reader, mirroring pest's: white space and `#` comments are
//! skipped *before* each token, never after, so a node's span ends where its
//! last token ends (what `parser::span_of` computes from pest's pairs); a
//! keyword is a maximal run of identifier characters equal to the word, as
//! `"word" ~ !ident_char` is; optional trailing parts restore the position
//! when absent.

use super::ast::*;
use super::expr::{Token, build_expr};
use super::parser::{KEYWORDS, duration_value, integer, number, percent, unescape};
use crate::diag::Span;

/// Expression nesting (brackets, calls, aggregates, `if` heads) the reader
/// follows before leaving the text to pest. Real policies nest a few levels;
/// the bound keeps the reader's recursion far from any thread's stack limit,
/// so it can run on the caller's thread.
const MAX_DEPTH: usize = 32;

/// Prefix operators and `if … else` heads in one flat expression before the
/// reader gives up: each is a level of recursion when precedence is applied.
const MAX_PREFIXES: usize = 32;

/// A byte-order mark in UTF-8. pest skips it as white space anywhere; the
/// span trimming of the pest path does not, so only a leading one is read here.
const BOM: &str = "\u{FEFF}";

/// Reads a policy the pre-scan has passed, or returns `None` to leave it to pest.
pub(super) fn parse_policy(src: &str) -> Option<Policy> {
    let body = src.strip_prefix(BOM).unwrap_or(src);
    if body.contains(BOM) {
        return None;
    }
    let mut r = Reader {
        src,
        b: src.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let mut items = Vec::new();
    r.skip();
    while r.pos < r.b.len() {
        items.push(r.item()?);
        r.skip();
    }
    Some(Policy { items })
}

fn is_ident_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_ident_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `keyword` in the grammar (the same words as `parser::KEYWORDS`).
fn is_keyword(word: &str) -> bool {
    KEYWORDS.contains(&word)
}

/// `unit` in the grammar.
fn is_unit(word: &str) -> bool {
    matches!(
        word,
        "minutes" | "minute" | "hours" | "hour" | "days" | "day" | "weeks" | "week"
    )
}

struct Reader<'a> {
    src: &'a str,
    b: &'a [u8],
    pos: usize,
    /// Expressions being read, innermost last.
    depth: usize,
}

impl<'a> Reader<'a> {
    /// The byte at `i`, or 0 past the end (the pre-scan refuses NUL bytes, and
    /// 0 matches nothing below).
    fn at(&self, i: usize) -> u8 {
        self.b.get(i).copied().unwrap_or(0)
    }

    fn peek(&self) -> u8 {
        self.at(self.pos)
    }

    fn span_from(&self, start: usize) -> Span {
        Span::new(start, self.pos)
    }

    /// pest's implicit `(WHITESPACE | COMMENT)*`.
    fn skip(&mut self) {
        loop {
            match self.peek() {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                b'#' => {
                    while self.pos < self.b.len() && self.b[self.pos] != b'\n' {
                        self.pos += 1;
                    }
                }
                0xEF if self.b[self.pos..].starts_with(BOM.as_bytes()) => self.pos += BOM.len(),
                _ => return,
            }
        }
    }

    /// Where the run of identifier characters from `i` ends.
    fn word_end(&self, mut i: usize) -> usize {
        while i < self.b.len() && is_ident_char(self.b[i]) {
            i += 1;
        }
        i
    }

    /// The run of identifier characters at the position (maybe empty).
    fn word(&self) -> &'a str {
        self.src.get(self.pos..self.word_end(self.pos)).unwrap_or("")
    }

    /// `kw_…`: the word `kw`, not followed by an identifier character.
    fn eat_kw(&mut self, kw: &str) -> bool {
        let found = self.word() == kw;
        if found {
            self.pos += kw.len();
        }
        found
    }

    fn expect(&mut self, b: u8) -> Option<()> {
        (self.peek() == b).then(|| self.pos += 1)
    }

    /// `ident_chars`: any identifier, reserved words included (fields, payers).
    fn ident(&mut self) -> Option<Ident> {
        if !is_ident_start(self.peek()) {
            return None;
        }
        let start = self.pos;
        self.pos = self.word_end(start);
        Some(Ident {
            name: self.src.get(start..self.pos)?.to_string(),
            span: self.span_from(start),
        })
    }

    /// `name`: an identifier that is not a reserved word.
    fn name(&mut self) -> Option<Ident> {
        if is_keyword(self.word()) {
            return None;
        }
        self.ident()
    }

    /// `string`, unescaped.
    fn string(&mut self) -> Option<Text> {
        let start = self.pos;
        if self.peek() != b'"' {
            return None;
        }
        let mut i = start + 1;
        loop {
            match *self.b.get(i)? {
                b'"' => break,
                b'\n' => return None,
                b'\\' => i += 1 + self.escape_len(i + 1)?,
                _ => i += 1,
            }
        }
        self.pos = i + 1;
        unescape(self.src.get(start..self.pos)?, self.span_from(start)).ok()
    }

    /// The length of the escape whose backslash is just before `i`: `escape`.
    fn escape_len(&self, i: usize) -> Option<usize> {
        match self.at(i) {
            b'"' | b'\\' | b'n' | b't' => Some(1),
            b'u' if self.at(i + 1) == b'{' => {
                let digits = i + 2;
                let mut j = digits;
                while j < digits + 6 && self.at(j).is_ascii_hexdigit() {
                    j += 1;
                }
                (j > digits && self.at(j) == b'}').then_some(j + 1 - i)
            }
            _ => None,
        }
    }

    /// `string?` after white space: `Some(None)` when no string follows.
    fn opt_string(&mut self) -> Option<Option<Text>> {
        let save = self.pos;
        self.skip();
        if self.peek() == b'"' {
            self.string().map(Some)
        } else {
            self.pos = save;
            Some(None)
        }
    }

    fn decision(&mut self) -> Option<Decision> {
        let d = match self.word() {
            "approve" => Decision::Approve,
            "deny" => Decision::Deny,
            "review" => Decision::Review,
            _ => return None,
        };
        self.pos += d.as_str().len();
        Some(d)
    }

    // ------------------------------------------------------------ items

    fn item(&mut self) -> Option<Item> {
        let start = self.pos;
        let word = self.word();
        match word {
            "policy" => self.header(start),
            "set" | "let" => {
                self.pos += word.len();
                self.skip();
                let name = self.name()?;
                self.skip();
                self.expect(b'=')?;
                self.skip();
                let value = self.expr()?;
                let binding = Binding {
                    name,
                    value,
                    span: self.span_from(start),
                };
                Some(if word == "set" {
                    Item::Set(binding)
                } else {
                    Item::Let(binding)
                })
            }
            "flag" => self.flag(start),
            "rule" => self.rule(start),
            // A shipping row starts with its payer's name; refund rows run to the `}`.
            "shipping" => self
                .table(start, word.len(), is_ident_start, Self::ident)
                .map(Item::Shipping),
            "refund" => self
                .table(start, word.len(), |b| b != b'}', Self::expr)
                .map(Item::Refund),
            _ => None,
        }
    }

    fn header(&mut self, start: usize) -> Option<Item> {
        self.pos += "policy".len();
        self.skip();
        let title = self.string()?;
        self.skip();
        self.expect(b'{')?;
        let mut fields = Vec::new();
        loop {
            self.skip();
            let word = self.word();
            let field = match word {
                "currency" | "timezone" | "version" => {
                    self.pos += word.len();
                    self.skip();
                    let value = self.string()?;
                    match word {
                        "currency" => HeaderField::Currency(value),
                        "timezone" => HeaderField::Timezone(value),
                        _ => HeaderField::Version(value),
                    }
                }
                "default" => {
                    self.pos += word.len();
                    self.skip();
                    let decision = self.decision()?;
                    HeaderField::Default(decision, self.opt_string()?)
                }
                _ => break,
            };
            fields.push(field);
        }
        self.expect(b'}')?;
        Some(Item::Header(Header {
            title,
            fields,
            span: self.span_from(start),
        }))
    }

    /// A `shipping` or `refund` table: rows of a value and a guard, while
    /// `row` says the next byte starts one.
    fn table<V>(
        &mut self,
        start: usize,
        keyword: usize,
        row: fn(u8) -> bool,
        value: fn(&mut Self) -> Option<V>,
    ) -> Option<Table<V>> {
        self.pos += keyword;
        self.skip();
        self.expect(b'{')?;
        let mut rows = Vec::new();
        loop {
            self.skip();
            if !row(self.peek()) {
                break;
            }
            let row_start = self.pos;
            let value = value(self)?;
            self.skip();
            let guard = self.row_guard()?;
            rows.push(Row {
                value,
                guard,
                span: self.span_from(row_start),
            });
        }
        self.expect(b'}')?;
        Some(Table {
            rows,
            span: self.span_from(start),
        })
    }

    fn flag(&mut self, start: usize) -> Option<Item> {
        self.pos += "flag".len();
        self.skip();
        let name = self.name()?;
        self.skip();
        self.expect(b'{')?;
        let mut flag = Flag {
            name,
            when: None,
            unless: None,
            score: None,
            note: None,
            span: Span::default(),
        };
        loop {
            self.skip();
            let word = self.word();
            let twice = match word {
                "when" | "unless" => {
                    self.pos += word.len();
                    self.skip();
                    let e = self.expr()?;
                    let slot = if word == "when" {
                        &mut flag.when
                    } else {
                        &mut flag.unless
                    };
                    slot.replace(e).is_some()
                }
                "score" => {
                    self.pos += word.len();
                    self.skip();
                    let value_start = self.pos;
                    if self.peek() == b'-' {
                        self.pos += 1;
                    }
                    let digits = self.pos;
                    while self.peek().is_ascii_digit() {
                        self.pos += 1;
                    }
                    if self.pos == digits {
                        return None;
                    }
                    let n = self.src.get(value_start..self.pos)?.parse::<i64>().ok()?;
                    flag.score.replace((n, self.span_from(value_start))).is_some()
                }
                "note" => {
                    self.pos += word.len();
                    self.skip();
                    let note = self.string()?;
                    flag.note.replace(note).is_some()
                }
                _ => break,
            };
            // A clause given twice is an error; pest's path reports it.
            if twice {
                return None;
            }
        }
        self.expect(b'}')?;
        flag.span = self.span_from(start);
        Some(Item::Flag(flag))
    }

    fn rule(&mut self, start: usize) -> Option<Item> {
        self.pos += "rule".len();
        self.skip();
        let name = self.name()?;
        self.skip();
        self.expect(b'{')?;
        let mut when = None;
        let mut unless = None;
        let mut effects = Vec::new();
        loop {
            self.skip();
            let clause_start = self.pos;
            let word = self.word();
            match word {
                "when" | "unless" => {
                    self.pos += word.len();
                    self.skip();
                    let e = self.expr()?;
                    let slot = if word == "when" { &mut when } else { &mut unless };
                    // A clause given twice is an error; pest's path reports it.
                    if slot.replace(e).is_some() {
                        return None;
                    }
                }
                "approve" | "deny" | "review" => {
                    let decision = self.decision()?;
                    let message = self.opt_string()?;
                    effects.push(Effect::Decide {
                        decision,
                        message,
                        span: self.span_from(clause_start),
                    });
                }
                "deduct" => {
                    self.pos += word.len();
                    self.skip();
                    let amount = self.expr()?;
                    self.skip();
                    if !self.eat_kw("as") {
                        return None;
                    }
                    self.skip();
                    let label = self.string()?;
                    effects.push(Effect::Deduct {
                        amount,
                        label,
                        span: self.span_from(clause_start),
                    });
                }
                _ => break,
            }
        }
        self.expect(b'}')?;
        Some(Item::Rule(Rule {
            name,
            when,
            unless,
            effects,
            span: self.span_from(start),
        }))
    }

    /// `row_guard`: `Some(None)` for `otherwise`.
    fn row_guard(&mut self) -> Option<Option<Expr>> {
        if self.eat_kw("otherwise") {
            return Some(None);
        }
        if !self.eat_kw("when") {
            return None;
        }
        self.skip();
        self.expr().map(Some)
    }

    // ------------------------------------------------------ expressions

    /// `expr`: operands and operators, flat, then arranged by precedence
    /// exactly as the pest path arranges them.
    fn expr(&mut self) -> Option<Expr> {
        if self.depth >= MAX_DEPTH {
            return None;
        }
        self.depth += 1;
        let start = self.pos;
        let mut tokens = Vec::new();
        let mut prefixes = 0;
        let mut read = self.term(&mut tokens, &mut prefixes);
        while read.is_some() {
            let save = self.pos;
            self.skip();
            let Some(op) = self.infix() else {
                self.pos = save;
                break;
            };
            tokens.push(op);
            self.skip();
            read = self.term(&mut tokens, &mut prefixes);
        }
        self.depth -= 1;
        read?;
        build_expr(tokens, self.span_from(start)).ok()
    }

    /// `prefix* ~ operand ~ postfix*`, pushed onto `tokens`.
    fn term(&mut self, tokens: &mut Vec<Token>, prefixes: &mut usize) -> Option<()> {
        loop {
            let start = self.pos;
            if self.peek() == b'-' {
                self.pos += 1;
                tokens.push(Token::Prefix(UnOp::Neg, self.span_from(start)));
            } else if self.eat_kw("not") {
                tokens.push(Token::Prefix(UnOp::Not, self.span_from(start)));
            } else if self.eat_kw("if") {
                self.skip();
                let cond = self.expr()?;
                self.skip();
                if !self.eat_kw("then") {
                    return None;
                }
                self.skip();
                let then = self.expr()?;
                self.skip();
                if !self.eat_kw("else") {
                    return None;
                }
                tokens.push(Token::If(cond, then, self.span_from(start)));
            } else {
                break;
            }
            *prefixes += 1;
            if *prefixes > MAX_PREFIXES {
                return None;
            }
            self.skip();
        }
        let operand = self.operand()?;
        tokens.push(Token::Operand(operand));
        loop {
            let save = self.pos;
            self.skip();
            let start = self.pos;
            let present = if self.eat_kw("is") {
                self.skip();
                if self.eat_kw("missing") {
                    Some(false)
                } else if self.eat_kw("present") {
                    Some(true)
                } else {
                    None
                }
            } else {
                None
            };
            match present {
                Some(present) => tokens.push(Token::Is(present, self.span_from(start))),
                None => {
                    self.pos = save;
                    return Some(());
                }
            }
        }
    }

    /// `infix`, or `None` (position unchanged) when no operator is here.
    fn infix(&mut self) -> Option<Token> {
        let start = self.pos;
        let next = self.at(start + 1);
        let (op, len) = match self.peek() {
            b'=' if next == b'=' => (BinOp::Eq, 2),
            b'!' if next == b'=' => (BinOp::Ne, 2),
            b'<' if next == b'=' => (BinOp::Le, 2),
            b'>' if next == b'=' => (BinOp::Ge, 2),
            b'<' => (BinOp::Lt, 1),
            b'>' => (BinOp::Gt, 1),
            b'+' => (BinOp::Add, 1),
            b'-' => (BinOp::Sub, 1),
            b'*' => (BinOp::Mul, 1),
            b'/' => (BinOp::Div, 1),
            _ => match self.word() {
                "or" => (BinOp::Or, 2),
                "and" => (BinOp::And, 3),
                "in" => (BinOp::In, 2),
                "of" => (BinOp::Of, 2),
                "not" => {
                    // `not in`, white space and comments allowed between.
                    self.pos += 3;
                    self.skip();
                    if self.eat_kw("in") {
                        return Some(Token::Infix(BinOp::NotIn, self.span_from(start)));
                    }
                    self.pos = start;
                    return None;
                }
                _ => return None,
            },
        };
        self.pos += len;
        Some(Token::Infix(op, self.span_from(start)))
    }

    /// `operand`.
    fn operand(&mut self) -> Option<Expr> {
        let start = self.pos;
        let first = self.peek();
        let kind = match first {
            b'(' => {
                self.pos += 1;
                self.skip();
                let inner = self.expr()?;
                self.skip();
                self.expect(b')')?;
                ExprKind::Paren(Box::new(inner))
            }
            b'[' => self.list()?,
            b'"' => ExprKind::Str(self.string()?.value),
            b'0'..=b'9' => self.numeric_literal()?,
            _ if is_ident_start(first) => self.word_operand()?,
            _ => return None,
        };
        Some(Expr {
            kind,
            span: self.span_from(start),
        })
    }

    /// `list`: `[a, b, c]`, a trailing comma allowed.
    fn list(&mut self) -> Option<ExprKind> {
        self.pos += 1;
        let mut items = Vec::new();
        loop {
            self.skip();
            if self.peek() == b']' {
                break;
            }
            items.push(self.expr()?);
            self.skip();
            if self.peek() != b',' {
                break;
            }
            self.pos += 1;
        }
        self.expect(b']')?;
        Some(ExprKind::List(items))
    }

    /// An operand that starts with a word: an aggregate, a call, `true`,
    /// `false` or a path, tried in the grammar's order.
    fn word_operand(&mut self) -> Option<ExprKind> {
        let word = self.word();
        match word {
            "true" | "false" => {
                self.pos += word.len();
                return Some(ExprKind::Bool(word == "true"));
            }
            "count" | "sum" => {
                let save = self.pos;
                self.pos += word.len();
                self.skip();
                if self.peek() == b'(' {
                    // Where this is not an aggregate pest goes on to try a
                    // call: rare enough to leave to it.
                    let func = if word == "sum" { AggFn::Sum } else { AggFn::Count };
                    return self.aggregate(func);
                }
                self.pos = save;
            }
            _ => {}
        }
        let name = self.name()?;
        let save = self.pos;
        self.skip();
        if self.peek() == b'(' {
            self.pos += 1;
            self.skip();
            let mut args = Vec::new();
            if self.peek() != b')' {
                loop {
                    args.push(self.expr()?);
                    self.skip();
                    if self.peek() != b',' {
                        break;
                    }
                    self.pos += 1;
                    self.skip();
                }
            }
            self.expect(b')')?;
            return Some(ExprKind::Call(name, args));
        }
        self.pos = save;
        let mut path = vec![name];
        while self.peek() == b'.' && is_ident_start(self.at(self.pos + 1)) {
            self.pos += 1;
            path.push(self.ident()?);
        }
        Some(ExprKind::Path(path))
    }

    /// `aggregate` from its `(`: a source, then `in last …` and `where …`, each optional.
    fn aggregate(&mut self, func: AggFn) -> Option<ExprKind> {
        self.pos += 1;
        self.skip();
        let source = self.name()?;
        let field = if self.peek() == b'.' && is_ident_start(self.at(self.pos + 1)) {
            self.pos += 1;
            Some(self.ident()?)
        } else {
            None
        };
        let save = self.pos;
        self.skip();
        let window_start = self.pos;
        let window = if self.eat_kw("in") {
            self.skip();
            if !self.eat_kw("last") {
                return None;
            }
            self.skip();
            let (amount, unit) = self.duration()?;
            Some(Window {
                amount,
                unit,
                span: self.span_from(window_start),
            })
        } else {
            self.pos = save;
            None
        };
        let save = self.pos;
        self.skip();
        let filter = if self.eat_kw("where") {
            self.skip();
            Some(Box::new(self.expr()?))
        } else {
            self.pos = save;
            None
        };
        self.skip();
        self.expect(b')')?;
        Some(ExprKind::Aggregate {
            func,
            source,
            field,
            window,
            filter,
        })
    }

    /// The end of the digits from `i`.
    fn digits_end(&self, mut i: usize) -> usize {
        while self.at(i).is_ascii_digit() {
            i += 1;
        }
        i
    }

    /// The unit of a `duration` whose digits end at `digits_end`: where it
    /// starts and ends, when spaces or tabs and a unit follow.
    fn unit_after(&self, digits_end: usize) -> Option<(usize, usize)> {
        let mut start = digits_end;
        while matches!(self.at(start), b' ' | b'\t') {
            start += 1;
        }
        let end = self.word_end(start);
        (start > digits_end && is_unit(self.src.get(start..end)?)).then_some((start, end))
    }

    /// `duration`, which must be here.
    fn duration(&mut self) -> Option<(i64, Unit)> {
        let start = self.pos;
        let digits_end = self.digits_end(start);
        if digits_end == start {
            return None;
        }
        let (unit_start, unit_end) = self.unit_after(digits_end)?;
        self.pos = unit_end;
        let amount = self.src.get(start..digits_end)?;
        let unit = self.src.get(unit_start..unit_end)?;
        duration_value(amount, unit, self.span_from(start)).ok()
    }

    /// The literals that start with a digit, in the grammar's order:
    /// `duration | percent | decimal | integer`.
    fn numeric_literal(&mut self) -> Option<ExprKind> {
        let start = self.pos;
        let digits_end = self.digits_end(start);
        if self.unit_after(digits_end).is_some() {
            let (amount, unit) = self.duration()?;
            return Some(ExprKind::Duration(amount, unit));
        }
        let fraction_end = (self.at(digits_end) == b'.' && self.at(digits_end + 1).is_ascii_digit())
            .then(|| self.digits_end(digits_end + 1));
        let number_end = fraction_end.unwrap_or(digits_end);
        if self.at(number_end) == b'%' {
            self.pos = number_end + 1;
            let text = self.src.get(start..self.pos)?;
            return percent(text, self.span_from(start)).ok().map(ExprKind::Percent);
        }
        self.pos = number_end;
        let text = self.src.get(start..self.pos)?;
        if fraction_end.is_some() {
            number(text, self.span_from(start)).ok().map(ExprKind::Dec)
        } else {
            integer(text, self.span_from(start)).ok().map(ExprKind::Int)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;
    use crate::support::rng::Rng;
    use crate::syntax::{parser, prescan};

    /// Reads `src` both ways. Panics when the fast reader accepts a text pest
    /// refuses, or builds a different tree (spans included, as `Debug` shows
    /// them); returns whether the fast reader took it.
    fn agree(src: &str) -> bool {
        if prescan::prescan(src).is_some() {
            return false;
        }
        let Some(fast) = parse_policy(src) else {
            return false;
        };
        match crate::support::with_stack(|| parser::parse_policy(src)) {
            Some(Ok(tree)) => assert_eq!(format!("{fast:?}"), format!("{tree:?}"), "the trees differ for:\n{src}"),
            other => panic!("the fast reader accepted what pest does not ({other:?}):\n{src}"),
        }
        true
    }

    fn rpl_files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                rpl_files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rpl") {
                out.push(path);
            }
        }
    }

    fn seeds() -> Vec<String> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in ["policies", "tests", "examples"] {
            rpl_files(&root.join(dir), &mut files);
        }
        files.sort();
        files
            .iter()
            .filter_map(|f| std::fs::read(f).ok())
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect()
    }

    #[test]
    fn shipped_policies_are_read_fast_and_alike() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        rpl_files(&root.join("policies"), &mut files);
        assert!(!files.is_empty());
        for f in files {
            let src = std::fs::read_to_string(&f).unwrap_or_default();
            assert!(agree(&src), "{} is left to pest", f.display());
        }
    }

    #[test]
    fn every_test_policy_is_read_alike() {
        let seeds = seeds();
        let taken = seeds.iter().filter(|s| agree(s)).count();
        assert!(taken > seeds.len() / 3, "only {taken} of {} taken", seeds.len());
    }

    #[test]
    fn tricky_texts_are_read_alike_or_left_to_pest() {
        let head = "policy \"P\" { currency \"CNY\" default review }\n";
        let bodies = [
            "let a = b.c.d is present is missing",
            "let a = not x in y",
            "let a = x not in y",
            "let a = x not # c\n in y",
            "let a = x not inx",
            "let a = - - 5 - -5",
            "let a = if a then b else if c then d else e + 1",
            "let a = 30 days + 1\tweek - 5 minutes",
            "let a = 30days",
            "let a = 30 daysx",
            "let a = 30\ndays",
            "let a = 1.5 + 2.5% * 3% of 7 / 1.",
            "let a = 1.5.5",
            "let a = f (x, y) + g() + h.i (j)",
            "let a = f(x,)",
            "let a = [1, 2,] + [] + [3]",
            "let a = [,]",
            "let a = count(returns in last 30 days where type == \"x\")",
            "let a = sum (returns.amount in last 2 weeks)",
            "let a = count(returns.amount.x)",
            "let a = count(x, y)",
            "let a = count + sum",
            "let a = count(returns in x)",
            "let a = \"a\\\"b\\\\c\\n\\t\\u{4E2D}\" == \"\\u{D800}\"",
            "let a = \"\\u{1234567}\"",
            "let a = \"\\x\"",
            "let a = x = y",
            "let a = x == y == z",
            "let a = true and false or notes",
            "let a = true(1)",
            "let a = b.in.is",
            "let a = b.",
            "let a = 99999999999999999999",
            "let a = 0.00000000000000000000000000001",
            "let a = 1000000 weeks",
            "flag f { when a score -5 note \"n\" }",
            "flag f { score 40when a }",
            "flag f { score - 5 }",
            "flag f { when a when b }",
            "flag f { score 99999999999999999999 }",
            "rule r { when a unless b deny \"x\" review approve \"y\" deduct 5% of item.amount as \"fee\" }",
            "rule r { when a when b }",
            "rule r { deduct 5 \"x\" }",
            "rule r { approve \"x\"\"y\" }",
            "shipping { merchant when a buyer otherwise when when x }",
            "refund { item.amount * 0.5 when a item.amount otherwise }",
            "refund { 5 when c - otherwise }",
            "set s = [\"a\", \"b\"] # trailing\n# more\n",
            "let a = (((((1)))))",
            "let policy = 1",
            "let é = 1",
        ];
        for body in bodies {
            agree(&format!("{head}{body}\n"));
            agree(&format!("\u{FEFF}{head}{body}"));
            agree(&format!("{head}\u{FEFF}{body}"));
        }
        for w in KEYWORDS.iter().chain(&["currency", "count", "days", "notes", "_x1"]) {
            agree(&format!("{head}let {w} = {w}\nlet x = a.{w}"));
        }
    }

    const FRAGMENTS: &[&str] = &[
        " ",
        "\n",
        "# c\n",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        ",",
        ".",
        "-",
        "%",
        "5",
        "0.5",
        "\"",
        "\"s\"",
        "not ",
        " not in ",
        "in ",
        "is ",
        " missing",
        "if a then b else ",
        "then",
        "else",
        "count(",
        "sum(",
        " days",
        "\t",
        "==",
        "=",
        "<",
        "<=",
        "!",
        "and ",
        "or ",
        "of ",
        "when ",
        "unless ",
        "otherwise",
        "approve",
        "deny \"x\"",
        "as \"l\"",
        "score 5",
        "note \"n\"",
        "x",
        "_",
        "a.b",
        ".c",
        "\\u{41}",
        "\\",
        "\\n",
        "rule r { approve }",
        "let z = 1\n",
        "true",
        "false",
        "where type == \"x\"",
        " last 7 days",
        "\u{FEFF}",
        "é",
        "1 week",
        "99999999999999999999",
        "set",
        "policy",
    ];

    fn mutate(src: &str, rng: &mut Rng) -> String {
        let boundary = |rng: &mut Rng| {
            let mut i = rng.index(src.len() + 1);
            while !src.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let at = boundary(rng);
        match rng.index(3) {
            0 => {
                let mut end = (at + 1 + rng.index(8)).min(src.len());
                while !src.is_char_boundary(end) {
                    end += 1;
                }
                format!("{}{}", &src[..at], &src[end..])
            }
            1 => format!("{}{}{}", &src[..at], FRAGMENTS[rng.index(FRAGMENTS.len())], &src[at..]),
            _ => {
                let from = boundary(rng);
                let mut to = (from + rng.index(40)).min(src.len());
                while !src.is_char_boundary(to) {
                    to += 1;
                }
                format!("{}{}{}", &src[..at], &src[from..to], &src[at..])
            }
        }
    }

    /// Mutants of every test policy: near misses of valid text are where a
    /// hand-written reader and a grammar part ways. `RPL_FAST_MUTANTS` sets
    /// how many per policy (default 24).
    #[test]
    fn mutants_are_read_alike_or_left_to_pest() {
        let per_seed = std::env::var("RPL_FAST_MUTANTS")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(24);
        let mut rng = Rng::new(0x5eed, 0);
        let (mut taken, mut total) = (0, 0);
        for seed in seeds() {
            for _ in 0..per_seed {
                // One or two changes: more leave almost nothing readable.
                let mut mutant = mutate(&seed, &mut rng);
                if rng.index(3) == 0 {
                    mutant = mutate(&mutant, &mut rng);
                }
                total += 1;
                taken += usize::from(agree(&mutant));
            }
        }
        eprintln!("{taken} of {total} mutants read by the fast reader");
    }

    /// Every file of a directory (the fuzz corpus), read both ways:
    /// `RPL_DIFF_CORPUS=fuzz/corpus/parse cargo test --release --lib fast -- --ignored`.
    #[test]
    #[ignore = "needs RPL_DIFF_CORPUS"]
    fn corpus_is_read_alike() {
        let Some(dir) = std::env::var_os("RPL_DIFF_CORPUS") else {
            return;
        };
        let mut taken = 0;
        let mut total = 0;
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                total += 1;
                taken += usize::from(agree(&text));
            }
        }
        eprintln!("{taken} of {total} read by the fast reader");
    }

    #[test]
    fn nesting_past_the_bound_is_left_to_pest() {
        let nested = |n: usize| format!("let a = {}1{}", "(".repeat(n), ")".repeat(n));
        assert!(agree(&nested(MAX_DEPTH - 1)));
        assert!(parse_policy(&nested(MAX_DEPTH)).is_none());
        let prefixed = |n: usize| format!("let a = {}1", "- ".repeat(n));
        assert!(agree(&prefixed(MAX_PREFIXES)));
        assert!(parse_policy(&prefixed(MAX_PREFIXES + 1)).is_none());
    }

    /// The reader runs on the caller's thread: at its deepest it must fit in
    /// a stack far smaller than any thread's (even unoptimised).
    #[test]
    fn the_deepest_read_fits_a_small_stack() {
        let n = MAX_DEPTH - 1;
        let deepest = format!(
            "let a = {}{}1{}",
            "f(count(r where [if ".repeat(n / 4),
            "- not ".repeat(MAX_PREFIXES / 2),
            " then 1 else 2]))".repeat(n / 4)
        );
        let read = std::thread::Builder::new()
            .stack_size(512 << 10)
            .spawn(move || parse_policy(&deepest).is_some())
            .map(|t| t.join().ok());
        assert_eq!(read.ok().flatten(), Some(true));
    }
}
