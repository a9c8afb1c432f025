//! cedar-policy: every rule is a `permit` policy; one authorization request
//! per record, whose context carries the record's fields. Cedar has no
//! aggregation over sets (no size, count or filter), so the three history
//! counts are precomputed per record, untimed; the calendar day numbers are
//! precomputed too (Cedar's `datetime` extension has no time zones). Cedar
//! answers allow/deny and the set of policies that held; the few lines of
//! Rust glue that turn that set into a decision (deny over review over
//! approve per line, then the request) are timed with it.

use std::collections::HashMap;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Entities, EntityUid, Policy, PolicyId, PolicySet, Request, Response, RestrictedExpression,
};

use crate::native::{APPROVE, Answer, BUYER, DENY, INSURANCE, MERCHANT, PARTIAL, REVIEW};
use crate::records::{
    CATEGORIES, MERCHANT_FAULT, NON_RETURNABLE, RATE_SCORE, REASONS, RISKY_AT, Record, SERIAL_RETURNS_30D, SERIAL_SCORE,
};

const SERIAL: u32 = 1;
const RATE: u32 = 2;
const MERCHANT_FAULT_BIT: u32 = 4;
const SHIP_INSURANCE: u32 = 8;
const RISKY: u32 = 16;
const SEVEN_DAY: u32 = 32;
const TOO_LATE: u32 = 64;
const FINAL_SALE_0: u32 = 256;
const FINAL_SALE_1: u32 = 512;

fn set(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
    format!("[{}]", quoted.join(", "))
}

pub fn policies() -> Vec<(&'static str, u32, String)> {
    let mf = set(&MERCHANT_FAULT);
    let nr = set(&NON_RETURNABLE);
    let serial = format!("context.returns_30d >= {SERIAL_RETURNS_30D}");
    let rate = "context.orders_90d > 0 && context.returns_90d * 5 > context.orders_90d * 2".to_string();
    let delivered = "context has delivered_day";
    let days = "context.now_day - context.delivered_day";
    vec![
        ("serial_returner", SERIAL, serial.clone()),
        ("high_refund_rate", RATE, rate.clone()),
        // The shipping table's first row and the approving rule share their
        // condition: one policy serves both.
        (
            "merchant_fault",
            MERCHANT_FAULT_BIT,
            format!("{mf}.contains(context.reason)"),
        ),
        (
            "ship_insurance",
            SHIP_INSURANCE,
            format!("!({mf}.contains(context.reason)) && context.shipping_insurance"),
        ),
        (
            "risky",
            RISKY,
            format!("(if {serial} then {SERIAL_SCORE} else 0) + (if {rate} then {RATE_SCORE} else 0) >= {RISKY_AT}"),
        ),
        (
            "seven_day_no_reason",
            SEVEN_DAY,
            format!("context.reason == \"changed_mind\" && {delivered} && {days} <= 7"),
        ),
        (
            "too_late",
            TOO_LATE,
            format!("context.reason == \"changed_mind\" && {delivered} && {days} > 7"),
        ),
        (
            "final_sale_0",
            FINAL_SALE_0,
            format!("{nr}.contains(context.category_0) && !({mf}.contains(context.reason))"),
        ),
        (
            "final_sale_1",
            FINAL_SALE_1,
            format!("context has category_1 && {nr}.contains(context.category_1) && !({mf}.contains(context.reason))"),
        ),
    ]
}

pub struct Cedar {
    authorizer: Authorizer,
    policies: PolicySet,
    entities: Entities,
    bits: HashMap<PolicyId, u32>,
}

fn uid(s: &str) -> Result<EntityUid, String> {
    EntityUid::from_str(s).map_err(|e| e.to_string())
}

impl Cedar {
    pub fn new() -> Result<Cedar, String> {
        let mut policies = PolicySet::new();
        let mut bits = HashMap::new();
        for (name, bit, condition) in self::policies() {
            let id = PolicyId::new(name);
            let src = format!("permit(principal, action, resource) when {{ {condition} }};");
            let policy = Policy::parse(Some(id.clone()), &src).map_err(|e| format!("{name}: {e}"))?;
            policies.add(policy).map_err(|e| e.to_string())?;
            bits.insert(id, bit);
        }
        Ok(Cedar {
            authorizer: Authorizer::new(),
            policies,
            entities: Entities::empty(),
            bits,
        })
    }

    pub fn request(&self, r: &Record) -> Result<Request, String> {
        let long = |v: i64| RestrictedExpression::new_long(v);
        let mut pairs = vec![
            ("now_day".to_string(), long(r.now_day)),
            (
                "reason".to_string(),
                RestrictedExpression::new_string(REASONS[r.reason as usize].into()),
            ),
            (
                "shipping_insurance".to_string(),
                RestrictedExpression::new_bool(r.shipping_insurance),
            ),
            ("returns_30d".to_string(), long(i64::from(r.aggs.returns_30d))),
            ("returns_90d".to_string(), long(i64::from(r.aggs.returns_90d))),
            ("orders_90d".to_string(), long(i64::from(r.aggs.orders_90d))),
        ];
        if let Some(d) = r.delivered_day {
            pairs.push(("delivered_day".to_string(), long(d)));
        }
        for (k, line) in r.lines.iter().enumerate() {
            pairs.push((
                format!("category_{k}"),
                RestrictedExpression::new_string(CATEGORIES[line.category as usize].into()),
            ));
        }
        let context = Context::from_pairs(pairs).map_err(|e| e.to_string())?;
        Request::new(
            uid("Customer::\"c\"")?,
            uid("Action::\"return\"")?,
            uid("Return::\"r\"")?,
            context,
            None,
        )
        .map_err(|e| e.to_string())
    }

    #[inline]
    pub fn authorize(&self, request: &Request) -> Response {
        self.authorizer.is_authorized(request, &self.policies, &self.entities)
    }

    /// The glue: which policies held -> the answer.
    #[inline]
    pub fn answer(&self, response: &Response, lines: usize) -> Answer {
        let mut fired = 0u32;
        for id in response.diagnostics().reason() {
            fired |= self.bits.get(id).copied().unwrap_or(0);
        }
        let line = |final_sale: u32| {
            if fired & (final_sale | TOO_LATE) != 0 {
                DENY
            } else if fired & RISKY != 0 {
                REVIEW
            } else if fired & (SEVEN_DAY | MERCHANT_FAULT_BIT) != 0 {
                APPROVE
            } else {
                REVIEW
            }
        };
        let first = line(FINAL_SALE_0);
        let decision = if lines == 1 {
            first
        } else {
            let second = line(FINAL_SALE_1);
            if first == second {
                first
            } else if first == REVIEW || second == REVIEW {
                REVIEW
            } else {
                PARTIAL
            }
        };
        let shipping = if fired & MERCHANT_FAULT_BIT != 0 {
            MERCHANT
        } else if fired & SHIP_INSURANCE != 0 {
            INSURANCE
        } else {
            BUYER
        };
        Answer {
            decision,
            shipping,
            flags: (fired & (SERIAL | RATE)) as u8,
        }
    }
}
