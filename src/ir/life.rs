//! What a policy says of a return's life after the request
//! (docs/language.md §3.10): how long a review may take and what happens
//! when nobody decides in time, when an approved line's refund is due, the
//! restrictions a flag or rule sets on the customer, and which rules run
//! when the goods are inspected.

use crate::syntax::ast::Decision;

/// When a rule runs: at the request, or when the goods are inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Stage {
    #[default]
    Request,
    Inspection,
}

/// `review within 48 hours, then approve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewDeadline {
    pub seconds: i64,
    /// What a line becomes when nobody decides in time: approve or deny.
    pub then: Decision,
}

/// What a refund's clock starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The line's approval (at the request, or by a person).
    Approval,
    /// The goods' inspection (and the approval, if that comes later); a line
    /// of a request that sends nothing back counts from its approval.
    Inspection,
}

impl Anchor {
    /// The word a policy and a verdict use.
    pub fn as_str(self) -> &'static str {
        match self {
            Anchor::Approval => "approval",
            Anchor::Inspection => "inspection",
        }
    }
}

/// `refund within 3 days of inspection`; `refund at once` is 0 seconds of approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RefundLimit {
    pub seconds: i64,
    pub of: Anchor,
}

/// The words after `of` in a refund limit.
pub const ANCHORS: [(&str, Anchor); 2] = [("approval", Anchor::Approval), ("inspection", Anchor::Inspection)];

/// The restrictions a policy can set on a customer: a closed set, so that a
/// typo in a policy or a case is refused rather than never matching. What
/// each means is the platform's to enforce; a policy reads the kinds in
/// force as `customer.restrictions`.
pub const RESTRICTION_KINDS: &[&str] = &["refund_only", "no_reason_returns", "orders", "manual_review"];

/// `restrict refund_only for 90 days "why"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestrictDef {
    pub kind: &'static str,
    pub seconds: i64,
    /// The text given, if any (else the flag's note or the rule's message).
    pub because: Option<String>,
}
