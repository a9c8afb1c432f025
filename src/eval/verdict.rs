//! The verdict of docs/language.md §7: what was decided, how much is refunded, who pays the
//! return shipping, and why.

use std::borrow::Cow;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A word from a fixed vocabulary (`approve`, `buyer`, `deduct`, …): borrowed
/// when rpl writes it, so a verdict does not allocate its decisions; owned
/// when read back from JSON.
pub type Word = Cow<'static, str>;

/// The decision on one request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Verdict {
    /// The return it judges.
    pub return_id: String,
    /// The stage of the return's life this verdict follows: absent for the
    /// request, `review` after a review was settled (by a person or a
    /// timeout), `inspection` after a line was inspected (docs/language.md §16).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Word>,
    /// The policy that decided: its title, version and a hash of its text.
    pub policy: Arc<PolicyId>,
    /// When judged on a platform floor: what the floor said, by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor: Option<FloorPart>,
    /// After the request: what the request's own verdict decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request: Option<RequestPart>,
    /// `approve`, `deny`, `review` or `partial`.
    pub decision: Word,
    /// The sum of the approved lines' refunds, in the currency's minor unit.
    pub refund: String,
    /// The policy's currency (ISO 4217).
    pub currency: String,
    /// `buyer`, `merchant`, `platform` or `insurance`.
    pub shipping: Word,
    /// The sum of the scores of the flags that fired.
    pub risk: i64,
    /// The flags that fired, in declaration order.
    pub flags: Vec<FlagHit>,
    /// One entry per returned line, in the request's order.
    pub lines: Vec<LineVerdict>,
    /// Constructs that could not be evaluated (each line they touched went to review).
    pub errors: Vec<ErrorEntry>,
    /// When the return was asked for, as the case wrote it: present when the
    /// verdict has times of its own (due times, restrictions), which count from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<String>,
    /// The earliest time a line in review is due to be decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_due: Option<String>,
    /// How the return's reviews ended so far, in order: who decided, when, why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reviews: Vec<ReviewRecord>,
    /// Restrictions the verdict sets on the customer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<RestrictionHit>,
}

/// What the request's own verdict decided, on a verdict of a later stage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct RequestPart {
    /// The request's decision.
    pub decision: Word,
    /// The request's refund.
    pub refund: String,
}

/// How a review ended: a person's decision, or the deadline passing.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct ReviewRecord {
    /// When: the decision's time, or the due time of a review that timed out.
    pub at: String,
    /// `approve` or `deny`.
    pub decision: Word,
    /// Who decided; absent for a timeout.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Why, as the person wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// True when nobody decided in time and the policy's timeout decided.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// The lines it settled.
    pub lines: Vec<String>,
}

/// A restriction a verdict sets on the customer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct RestrictionHit {
    /// `refund_only`, `no_reason_returns`, `orders` or `manual_review`.
    pub kind: Word,
    /// When it starts: the moment of the verdict that set it.
    pub since: String,
    /// When it ends.
    pub until: String,
    /// Why, for support to tell the customer.
    pub because: String,
    /// What set it: `flag NAME` or `rule NAME` (prefixed `floor` on a floor).
    pub by: String,
}

/// When an approved line's refund is due, while the clock has not started:
/// within `seconds` of its approval or its inspection.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundClock {
    /// How long after the clock starts.
    pub seconds: i64,
    /// `approval` or `inspection`.
    pub of: Word,
}

/// A flag that fired.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct FlagHit {
    /// The flag's name.
    pub name: String,
    /// What it added to `risk`.
    pub score: i64,
    /// Its `note`, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// The decision on one returned line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct LineVerdict {
    /// The line's sku.
    pub sku: String,
    /// `approve`, `deny` or `review`.
    pub decision: Word,
    /// What is refunded for the line, after deductions (0 unless approved).
    pub refund: String,
    /// What the customer is told: the deciding rule's message, or the default's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// A line in review: when it is due to be decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_due: Option<String>,
    /// A line in review: what it becomes if nobody decides by then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<Word>,
    /// An approved line: when its refund is due.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_due: Option<String>,
    /// A line whose refund clock has not started yet (it waits for its
    /// approval or its inspection): how long it will have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_limit: Option<RefundClock>,
    /// When the line was inspected, once it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inspected_at: Option<String>,
    /// The deductions of the rules that fired, each rounded to the minor unit.
    pub deductions: Vec<Deduction>,
    /// Every rule that fired on the line, in declaration order (on a floor:
    /// the merchant's, then the floor's).
    pub rules: Vec<RuleHit>,
    /// Where the platform floor changed what the merchant's policy decided.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
}

/// What a platform floor said of a request, by itself.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct FloorPart {
    /// The floor policy.
    pub policy: Arc<PolicyId>,
    /// The floor's own decision on the request.
    pub decision: Word,
    /// The sum of the floor's fired flags' scores.
    pub risk: i64,
    /// The floor's flags that fired.
    pub flags: Vec<FlagHit>,
}

/// A line where the floor overrode the merchant's policy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Override {
    /// The merchant rule that had decided the line (`None`: its default).
    pub merchant_rule: Option<String>,
    /// The floor rule that decided it.
    pub floor_rule: Option<String>,
    /// The merchant's decision.
    pub from: Word,
    /// The decision that stands.
    pub to: Word,
    /// The merchant's refund, where the floor changed the refund.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_from: Option<String>,
    /// The refund that stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_to: Option<String>,
}

/// An amount taken off a line's refund.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Deduction {
    /// The rule's `as "…"` label.
    pub label: String,
    /// The amount, in the currency's minor unit.
    pub amount: String,
}

/// A rule that fired on a line.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct RuleHit {
    /// The rule's name.
    pub rule: String,
    /// `approve`, `deny`, `review` or `deduct`.
    pub effect: Word,
    /// The rule's message, if its decision has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// `floor` for a rule of the platform floor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layer: Option<Word>,
    /// `inspection` for a rule that fired when the line was inspected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage: Option<Word>,
}

/// A construct that could not be evaluated on this case (docs/language.md §6.5).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct ErrorEntry {
    /// `rule NAME`, `flag NAME`, `shipping` or `refund`.
    pub construct: String,
    /// The line it touched, when it was evaluated for one line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sku: Option<String>,
    /// What failed and where in the policy, in words.
    pub message: String,
}

/// Which policy decided: enough to find the exact text again when a refund
/// is disputed.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PolicyId {
    /// The header's title.
    pub title: String,
    /// The header's `version`, when it gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// `sha256:` and the SHA-256 of the policy's text, in hex: two texts
    /// with the same hash are the same policy, byte for byte.
    pub hash: String,
}

impl PolicyId {
    /// The identity of a policy with this title, version and source text.
    pub(crate) fn new(title: &str, version: Option<&str>, source: &str) -> PolicyId {
        use sha2::Digest as _;
        use std::fmt::Write as _;
        let digest = sha2::Sha256::digest(source.as_bytes());
        let mut hash = String::with_capacity(7 + 64);
        hash.push_str("sha256:");
        for b in digest {
            let _ = write!(hash, "{b:02x}");
        }
        PolicyId {
            title: title.to_string(),
            version: version.map(str::to_string),
            hash,
        }
    }
}
