//! The floor: the rule set written by hand in Rust over the engine-neutral
//! record (categories and reasons as small integers, sets as bitmasks, day
//! numbers precomputed).

use crate::records::{
    Aggs, CATEGORIES, CHANGED_MIND, MERCHANT_FAULT, NON_RETURNABLE, RATE_SCORE, REASONS, RISKY_AT, Record,
    SERIAL_RETURNS_30D, SERIAL_SCORE, aggregate,
};

/// What every engine must agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Answer {
    /// 0 approve, 1 deny, 2 review, 3 partial.
    pub decision: u8,
    /// 0 buyer, 1 merchant, 2 insurance.
    pub shipping: u8,
    /// Bit 0 serial_returner, bit 1 high_refund_rate.
    pub flags: u8,
}

pub const APPROVE: u8 = 0;
pub const DENY: u8 = 1;
pub const REVIEW: u8 = 2;
pub const PARTIAL: u8 = 3;

pub const BUYER: u8 = 0;
pub const MERCHANT: u8 = 1;
pub const INSURANCE: u8 = 2;

impl Answer {
    /// Folded into a checksum in the timed loops, so no answer is dead code.
    pub fn fold(self) -> u64 {
        u64::from(self.decision) | u64::from(self.shipping) << 2 | u64::from(self.flags) << 4
    }

    pub fn describe(self) -> String {
        format!(
            "decision {}, shipping {}, flags {:#04b}",
            ["approve", "deny", "review", "partial"][self.decision as usize & 3],
            ["buyer", "merchant", "insurance", "?"][self.shipping as usize & 3],
            self.flags
        )
    }
}

const fn mask<const N: usize, const M: usize>(all: [&str; N], members: [&str; M]) -> u32 {
    let mut bits = 0u32;
    let mut i = 0;
    while i < N {
        let mut j = 0;
        while j < M {
            if const_eq(all[i], members[j]) {
                bits |= 1 << i;
            }
            j += 1;
        }
        i += 1;
    }
    bits
}

const fn const_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const NON_RETURNABLE_MASK: u32 = mask(CATEGORIES, NON_RETURNABLE);
const MERCHANT_FAULT_MASK: u32 = mask(REASONS, MERCHANT_FAULT);

/// Native, aggregating the history itself (as rpl, CEL and zen do).
#[inline(never)]
pub fn judge(r: &Record) -> (Answer, i64) {
    decide(r, aggregate(r.now, &r.returns, &r.orders))
}

/// Native over the precomputed aggregates (as cedar gets them).
#[inline(never)]
pub fn judge_precomputed(r: &Record) -> (Answer, i64) {
    decide(r, r.aggs)
}

/// The answer and the refund in cents (the approved lines' amounts).
#[inline(always)]
fn decide(r: &Record, a: Aggs) -> (Answer, i64) {
    let mut flags = 0u8;
    let mut risk = 0i64;
    if a.returns_30d >= SERIAL_RETURNS_30D {
        flags |= 1;
        risk += SERIAL_SCORE;
    }
    // ratio(returns, orders) > 40%, without division; ratio is 0 when orders is 0.
    if a.orders_90d > 0 && a.returns_90d * 5 > a.orders_90d * 2 {
        flags |= 2;
        risk += RATE_SCORE;
    }
    let fault = MERCHANT_FAULT_MASK >> r.reason & 1 == 1;
    let shipping = if fault {
        MERCHANT
    } else if r.shipping_insurance {
        INSURANCE
    } else {
        BUYER
    };
    let changed_mind_delivered = r.reason == CHANGED_MIND && r.delivered_day.is_some();
    let days = r.now_day - r.delivered_day.unwrap_or(r.now_day);
    let (mut approved, mut denied, mut reviewed, mut refund) = (0, 0, 0, 0i64);
    for line in &r.lines {
        let deny = (NON_RETURNABLE_MASK >> line.category & 1 == 1 && !fault) || (changed_mind_delivered && days > 7);
        let approve = (changed_mind_delivered && days <= 7) || fault;
        if deny {
            denied += 1;
        } else if risk >= RISKY_AT || !approve {
            reviewed += 1;
        } else {
            approved += 1;
            refund += line.amount_cents;
        }
    }
    let n = r.lines.len();
    let decision = if approved == n {
        APPROVE
    } else if denied == n {
        DENY
    } else if reviewed > 0 {
        REVIEW
    } else {
        PARTIAL
    };
    (
        Answer {
            decision,
            shipping,
            flags,
        },
        refund,
    )
}
