//! The owned syntax tree. Every node carries its span; spans never take part in
//! equality, so two trees compare equal when they mean the same thing.

use rust_decimal::Decimal;

use crate::diag::Span;

/// A name as written, with where it was written.
#[derive(Debug, Clone, Eq)]
pub struct Ident {
    pub name: String,
    pub span: Span,
}

impl PartialEq for Ident {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

/// A string literal, already unescaped.
#[derive(Debug, Clone, Eq)]
pub struct Text {
    pub value: String,
    pub span: Span,
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Policy {
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Item {
    Header(Header),
    Set(Binding),
    Let(Binding),
    Values(Vocabulary),
    Flag(Flag),
    Rule(Rule),
    Shipping(Table<Ident>),
    Refund(Table<Expr>),
}

impl Item {
    /// Where the item was written.
    pub fn span(&self) -> Span {
        match self {
            Item::Header(h) => h.span,
            Item::Set(b) | Item::Let(b) => b.span,
            Item::Values(v) => v.span,
            Item::Flag(f) => f.span,
            Item::Rule(r) => r.span,
            Item::Shipping(t) => t.span,
            Item::Refund(t) => t.span,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Header {
    pub title: Text,
    pub fields: Vec<HeaderField>,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum HeaderField {
    Currency(Text),
    Timezone(Text),
    Version(Text),
    Default(Decision, Option<Text>),
    /// `review within 48 hours, then approve`: every review line's deadline.
    Review(Deadline),
    /// `refund within 3 days of inspection` or `refund at once`.
    Refund(RefundLimit),
}

/// `within 48 hours, then approve`: how long a review may take, and what
/// happens to the line when nobody decides in time.
#[derive(Debug, Clone)]
pub struct Deadline {
    pub amount: i64,
    pub unit: Unit,
    pub then: Decision,
    pub span: Span,
}

impl PartialEq for Deadline {
    fn eq(&self, o: &Self) -> bool {
        self.amount == o.amount && self.unit == o.unit && self.then == o.then
    }
}

/// `refund within 3 days of inspection` (the word after `of` as written,
/// checked by the checker), or `refund at once` (`within` is `None`).
#[derive(Debug, Clone)]
pub struct RefundLimit {
    pub within: Option<(i64, Unit)>,
    pub of: Option<Ident>,
    pub span: Span,
}

impl PartialEq for RefundLimit {
    fn eq(&self, o: &Self) -> bool {
        self.within == o.within && self.of == o.of
    }
}

/// `restrict refund_only for 90 days "why"`: a restriction set on the
/// customer when the flag or rule fires.
#[derive(Debug, Clone)]
pub struct Restriction {
    pub kind: Ident,
    pub amount: i64,
    pub unit: Unit,
    pub because: Option<Text>,
    pub span: Span,
}

impl PartialEq for Restriction {
    fn eq(&self, o: &Self) -> bool {
        self.kind == o.kind && self.amount == o.amount && self.unit == o.unit && self.because == o.because
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Decision {
    Approve,
    Review,
    Deny,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Review => "review",
            Decision::Deny => "deny",
        }
    }
}

/// `set NAME = …` or `let NAME = …`.
#[derive(Debug, Clone)]
pub struct Binding {
    pub name: Ident,
    pub value: Expr,
    pub span: Span,
}

/// `values FIELD = …`: the words an open field takes (docs/language.md §3.9).
#[derive(Debug, Clone)]
pub struct Vocabulary {
    /// The field as written, one name per part: `return`, `reason`.
    pub field: Vec<Ident>,
    /// A list of strings, or sets and lists joined with `+`, as a set's value.
    pub value: Expr,
    pub span: Span,
}

impl Vocabulary {
    /// The field as written, `return.reason`.
    pub fn field_name(&self) -> String {
        let parts: Vec<&str> = self.field.iter().map(|p| p.name.as_str()).collect();
        parts.join(".")
    }

    /// Where the field was written.
    pub fn field_span(&self) -> Span {
        match (self.field.first(), self.field.last()) {
            (Some(a), Some(b)) => a.span.to(b.span),
            _ => self.span,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Flag {
    pub name: Ident,
    pub when: Option<Expr>,
    pub unless: Option<Expr>,
    pub score: Option<(i64, Span)>,
    pub note: Option<Text>,
    pub restricts: Vec<Restriction>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub name: Ident,
    /// `at inspection`: the word after `at`, as written; none for the request.
    pub stage: Option<Ident>,
    pub when: Option<Expr>,
    pub unless: Option<Expr>,
    pub effects: Vec<Effect>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum Effect {
    Decide {
        decision: Decision,
        message: Option<Text>,
        /// `within 24 hours, then deny` after a review's message.
        deadline: Option<Deadline>,
        span: Span,
    },
    Deduct {
        amount: Expr,
        label: Text,
        span: Span,
    },
    /// `refund within … of …` / `refund at once`.
    Refund(RefundLimit),
    /// `restrict KIND for DURATION`.
    Restrict(Restriction),
}

/// A first-match table: `VALUE when COND` rows and an `otherwise` row.
#[derive(Debug, Clone)]
pub struct Table<V> {
    pub rows: Vec<Row<V>>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Row<V> {
    pub value: V,
    /// `None` is `otherwise`.
    pub guard: Option<Expr>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// Parentheses that were written do not change what an expression means.
impl PartialEq for Expr {
    fn eq(&self, other: &Self) -> bool {
        self.unparen().kind == other.unparen().kind
    }
}

impl Expr {
    pub fn unparen(&self) -> &Expr {
        match &self.kind {
            ExprKind::Paren(inner) => inner.unparen(),
            _ => self,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Minutes,
    Hours,
    Days,
    Weeks,
}

impl Unit {
    pub fn seconds(self) -> i64 {
        match self {
            Unit::Minutes => 60,
            Unit::Hours => 3_600,
            Unit::Days => 86_400,
            Unit::Weeks => 604_800,
        }
    }

    pub fn word(self, amount: i64) -> &'static str {
        match (self, amount == 1) {
            (Unit::Minutes, true) => "minute",
            (Unit::Minutes, false) => "minutes",
            (Unit::Hours, true) => "hour",
            (Unit::Hours, false) => "hours",
            (Unit::Days, true) => "day",
            (Unit::Days, false) => "days",
            (Unit::Weeks, true) => "week",
            (Unit::Weeks, false) => "weeks",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggFn {
    Count,
    Sum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnOp {
    Neg,
    Not,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    NotIn,
    Add,
    Sub,
    Mul,
    Div,
    Of,
}

impl BinOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Or => "or",
            BinOp::And => "and",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::In => "in",
            BinOp::NotIn => "not in",
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Of => "of",
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge | BinOp::In | BinOp::NotIn
        )
    }
}

/// `in last 30 days`
#[derive(Debug, Clone)]
pub struct Window {
    pub amount: i64,
    pub unit: Unit,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    Bool(bool),
    Int(i64),
    Dec(Decimal),
    /// `15%`, kept apart from decimals so it prints back as written.
    Percent(Decimal),
    Str(String),
    Duration(i64, Unit),
    /// `name` or `name.field.field`.
    Path(Vec<Ident>),
    List(Vec<Expr>),
    Call(Ident, Vec<Expr>),
    Aggregate {
        func: AggFn,
        source: Ident,
        field: Option<Ident>,
        window: Option<Window>,
        filter: Option<Box<Expr>>,
    },
    Unary(UnOp, Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `X is present` (true) or `X is missing` (false).
    Is(Box<Expr>, bool),
    If(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `( … )`, kept so the formatter can print it back.
    Paren(Box<Expr>),
}

// Spans record where a node was written, not what it means: equality of
// trees leaves them out, so `parse(fmt(x)) == parse(x)` can be asserted.

impl PartialEq for Header {
    fn eq(&self, o: &Self) -> bool {
        self.title == o.title && self.fields == o.fields
    }
}

impl PartialEq for Binding {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name && self.value == o.value
    }
}

impl PartialEq for Vocabulary {
    fn eq(&self, o: &Self) -> bool {
        self.field == o.field && self.value == o.value
    }
}

impl PartialEq for Flag {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name
            && self.when == o.when
            && self.unless == o.unless
            && self.score.map(|s| s.0) == o.score.map(|s| s.0)
            && self.note == o.note
            && self.restricts == o.restricts
    }
}

impl PartialEq for Rule {
    fn eq(&self, o: &Self) -> bool {
        self.name == o.name
            && self.stage == o.stage
            && self.when == o.when
            && self.unless == o.unless
            && self.effects == o.effects
    }
}

impl PartialEq for Effect {
    fn eq(&self, o: &Self) -> bool {
        match (self, o) {
            (
                Effect::Decide {
                    decision: a,
                    message: m,
                    deadline: x,
                    ..
                },
                Effect::Decide {
                    decision: b,
                    message: n,
                    deadline: y,
                    ..
                },
            ) => a == b && m == n && x == y,
            (
                Effect::Deduct {
                    amount: a, label: l, ..
                },
                Effect::Deduct {
                    amount: b, label: k, ..
                },
            ) => a == b && l == k,
            (Effect::Refund(a), Effect::Refund(b)) => a == b,
            (Effect::Restrict(a), Effect::Restrict(b)) => a == b,
            _ => false,
        }
    }
}

impl<V: PartialEq> PartialEq for Table<V> {
    fn eq(&self, o: &Self) -> bool {
        self.rows == o.rows
    }
}

impl<V: PartialEq> PartialEq for Row<V> {
    fn eq(&self, o: &Self) -> bool {
        self.value == o.value && self.guard == o.guard
    }
}

impl PartialEq for Window {
    fn eq(&self, o: &Self) -> bool {
        self.amount == o.amount && self.unit == o.unit
    }
}
