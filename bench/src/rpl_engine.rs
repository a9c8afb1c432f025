//! rpl: the compiled policy `bench/policy.rpl`, over cases parsed once from
//! each record's JSON (docs/language.md §4). rpl reads RFC 3339 times and does its own
//! time-zone arithmetic and history aggregation.

use rpl::Payer;
use rpl::{Decided, RequestDecision, Verdict};
use rust_decimal::Decimal;

use crate::native::{APPROVE, Answer, BUYER, DENY, INSURANCE, MERCHANT, PARTIAL, REVIEW};
use crate::records::{Record, case_json, money};

pub const POLICY: &str = include_str!("../policy.rpl");

pub fn compile() -> Result<rpl::Program, String> {
    let compiled =
        rpl::compile(POLICY).map_err(|diags| diags.iter().map(|d| format!("{d:?}")).collect::<Vec<_>>().join("\n"))?;
    if !compiled.warnings.is_empty() {
        return Err(format!("bench/policy.rpl has warnings: {:?}", compiled.warnings));
    }
    let flags: Vec<&str> = compiled.program.flag_names().collect();
    if flags != ["serial_returner", "high_refund_rate"] {
        return Err(format!(
            "bench/policy.rpl: flags {flags:?}, expected serial_returner, high_refund_rate"
        ));
    }
    Ok(compiled.program)
}

pub fn cases(records: &[Record]) -> Result<Vec<rpl::Case>, String> {
    records
        .iter()
        .enumerate()
        .map(|(i, r)| {
            rpl::parse_case_value(&case_json(i, r)).map_err(|e| format!("record {i}: {}: {}", e.path, e.message))
        })
        .collect()
}

/// The decision-only path's answer, and its refund.
#[inline]
pub fn decided(d: &Decided) -> (Answer, Decimal) {
    let decision = match d.decision {
        RequestDecision::Approve => APPROVE,
        RequestDecision::Deny => DENY,
        RequestDecision::Review => REVIEW,
        RequestDecision::Partial => PARTIAL,
        _ => u8::MAX,
    };
    let shipping = match d.shipping {
        Payer::Buyer => BUYER,
        Payer::Merchant => MERCHANT,
        Payer::Insurance => INSURANCE,
        _ => u8::MAX,
    };
    (
        Answer {
            decision,
            shipping,
            flags: d.flags as u8,
        },
        d.refund,
    )
}

/// The full verdict's answer.
#[inline]
pub fn verdict(v: &Verdict) -> Answer {
    let decision = match v.decision.as_ref() {
        "approve" => APPROVE,
        "deny" => DENY,
        "review" => REVIEW,
        "partial" => PARTIAL,
        _ => u8::MAX,
    };
    let shipping = match v.shipping.as_ref() {
        "buyer" => BUYER,
        "merchant" => MERCHANT,
        "insurance" => INSURANCE,
        _ => u8::MAX,
    };
    let mut flags = 0;
    for f in &v.flags {
        flags |= match f.name.as_str() {
            "serial_returner" => 1,
            "high_refund_rate" => 2,
            _ => 0x80,
        };
    }
    Answer {
        decision,
        shipping,
        flags,
    }
}

/// Checks the refund too: rpl computes it exactly, and so does native.
pub fn refund_matches(refund: Decimal, cents: i64) -> bool {
    refund == Decimal::new(cents, 2)
}

pub fn verdict_refund_matches(v: &Verdict, cents: i64) -> bool {
    v.refund == money(cents)
}
