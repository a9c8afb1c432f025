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
//! equal to pest's tree by the tests in `tests.rs` (and by the `parse` fuzz target
//! over its corpus).
//!
//! Rules of the reader, mirroring pest's: white space and `#` comments are
//! skipped *before* each token, never after, so a node's span ends where its
//! last token ends (what `parser::span_of` computes from pest's pairs); a
//! keyword is a maximal run of identifier characters equal to the word, as
//! `"word" ~ !ident_char` is; optional trailing parts restore the position
//! when absent.

mod expr;

use super::ast::*;
use super::parser::{KEYWORDS, unescape};
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

    /// `path`: a name and its fields, with nothing between them.
    fn path(&mut self) -> Option<Vec<Ident>> {
        let mut parts = vec![self.name()?];
        while self.peek() == b'.' && is_ident_start(self.at(self.pos + 1)) {
            self.pos += 1;
            parts.push(self.ident()?);
        }
        Some(parts)
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
            "values" => {
                self.pos += word.len();
                self.skip();
                let field = self.path()?;
                self.skip();
                self.expect(b'=')?;
                self.skip();
                let value = self.expr()?;
                Some(Item::Values(Vocabulary {
                    field,
                    value,
                    span: self.span_from(start),
                }))
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
                "review" => {
                    self.pos += word.len();
                    self.skip();
                    HeaderField::Review(self.deadline()?)
                }
                "refund" => HeaderField::Refund(self.refund_limit()?),
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
            restricts: Vec::new(),
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
                "restrict" => {
                    flag.restricts.push(self.restriction()?);
                    false
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
        let mut stage = None;
        if self.eat_kw("at") {
            self.skip();
            stage = Some(self.ident()?);
            self.skip();
        }
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
                    let deadline = self.opt_deadline()?;
                    effects.push(Effect::Decide {
                        decision,
                        message,
                        deadline,
                        span: self.span_from(clause_start),
                    });
                }
                "refund" => effects.push(Effect::Refund(self.refund_limit()?)),
                "restrict" => effects.push(Effect::Restrict(self.restriction()?)),
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
            stage,
            when,
            unless,
            effects,
            span: self.span_from(start),
        }))
    }

    /// `deadline`, which must be here: `within 48 hours, then approve`.
    fn deadline(&mut self) -> Option<Deadline> {
        let start = self.pos;
        if !self.eat_kw("within") {
            return None;
        }
        self.skip();
        let (amount, unit) = self.duration()?;
        self.skip();
        if self.peek() == b',' {
            self.pos += 1;
            self.skip();
        }
        if !self.eat_kw("then") {
            return None;
        }
        self.skip();
        let then = self.decision()?;
        Some(Deadline {
            amount,
            unit,
            then,
            span: self.span_from(start),
        })
    }

    /// `deadline?` after white space: `Some(None)` when none follows.
    fn opt_deadline(&mut self) -> Option<Option<Deadline>> {
        let save = self.pos;
        self.skip();
        if self.word() == "within" {
            self.deadline().map(Some)
        } else {
            self.pos = save;
            Some(None)
        }
    }

    /// `refund_limit`, which must be here: `refund at once`, `refund within … of WORD`.
    fn refund_limit(&mut self) -> Option<RefundLimit> {
        let start = self.pos;
        if !self.eat_kw("refund") {
            return None;
        }
        self.skip();
        if self.eat_kw("at") {
            self.skip();
            if !self.eat_kw("once") {
                return None;
            }
            return Some(RefundLimit {
                within: None,
                of: None,
                span: self.span_from(start),
            });
        }
        if !self.eat_kw("within") {
            return None;
        }
        self.skip();
        let within = self.duration()?;
        self.skip();
        if !self.eat_kw("of") {
            return None;
        }
        self.skip();
        let of = self.ident()?;
        Some(RefundLimit {
            within: Some(within),
            of: Some(of),
            span: self.span_from(start),
        })
    }

    /// `restrict_clause`, which must be here: `restrict KIND for DURATION "why"?`.
    fn restriction(&mut self) -> Option<Restriction> {
        let start = self.pos;
        if !self.eat_kw("restrict") {
            return None;
        }
        self.skip();
        let kind = self.ident()?;
        self.skip();
        if !self.eat_kw("for") {
            return None;
        }
        self.skip();
        let (amount, unit) = self.duration()?;
        let because = self.opt_string()?;
        Some(Restriction {
            kind,
            amount,
            unit,
            because,
            span: self.span_from(start),
        })
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
}

#[cfg(test)]
mod tests;
