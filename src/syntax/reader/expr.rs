//! The reader's expressions: operands and operators read flat, then arranged
//! by precedence exactly as the pest path arranges them.

use super::{MAX_DEPTH, MAX_PREFIXES, Reader, is_ident_start, is_unit};
use crate::syntax::ast::*;
use crate::syntax::expr::{Token, build_expr};
use crate::syntax::parser::{duration_value, integer, number, percent};

impl Reader<'_> {
    /// `expr`: operands and operators, flat, then arranged by precedence
    /// exactly as the pest path arranges them.
    pub(super) fn expr(&mut self) -> Option<Expr> {
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
    pub(super) fn duration(&mut self) -> Option<(i64, Unit)> {
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
