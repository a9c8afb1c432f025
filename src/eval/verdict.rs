//! The verdict of SPEC §7: what was decided, how much is refunded, who pays the
//! return shipping, and why.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// A word from a fixed vocabulary (`approve`, `buyer`, `deduct`, …): borrowed
/// when rpl writes it, so a verdict does not allocate its decisions; owned
/// when read back from JSON.
pub type Word = Cow<'static, str>;

/// The decision on one request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Verdict {
    pub return_id: String,
    /// `approve`, `deny`, `review` or `partial`.
    pub decision: Word,
    /// The sum of the approved lines' refunds, in the currency's minor unit.
    pub refund: String,
    pub currency: String,
    /// `buyer`, `merchant`, `platform` or `insurance`.
    pub shipping: Word,
    pub risk: i64,
    pub flags: Vec<FlagHit>,
    pub lines: Vec<LineVerdict>,
    pub errors: Vec<ErrorEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FlagHit {
    pub name: String,
    pub score: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LineVerdict {
    pub sku: String,
    pub decision: Word,
    pub refund: String,
    /// What the customer is told: the deciding rule's message, or the default's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    pub deductions: Vec<Deduction>,
    pub rules: Vec<RuleHit>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Deduction {
    pub label: String,
    pub amount: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RuleHit {
    pub rule: String,
    /// `approve`, `deny`, `review` or `deduct`.
    pub effect: Word,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// A construct that could not be evaluated on this case (SPEC §6.5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ErrorEntry {
    /// `rule NAME`, `flag NAME`, `shipping` or `refund`.
    pub construct: String,
    /// The line it touched, when it was evaluated for one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    pub message: String,
}
