//! Planning returns: when an order is written, whether and how it will come
//! back — the type, the reason, the condition, the evidence and the label —
//! for every kind of customer the simulation holds.

use super::*;

pub(super) const TYPES: [&str; 3] = ["return_refund", "refund_only", "exchange"];
pub(super) const RETURN_REFUND: u8 = 0;
pub(super) const REFUND_ONLY: u8 = 1;
pub(super) const EXCHANGE: u8 = 2;

pub(super) const REASONS: [&str; 9] = [
    "changed_mind",
    "size_fit",
    "quality_defect",
    "wrong_item",
    "not_as_described",
    "damaged_in_transit",
    "not_received",
    "missing_parts",
    "spoiled",
];
pub(super) const CHANGED_MIND: u8 = 0;
pub(super) const SIZE_FIT: u8 = 1;
pub(super) const QUALITY_DEFECT: u8 = 2;
pub(super) const WRONG_ITEM: u8 = 3;
pub(super) const NOT_AS_DESCRIBED: u8 = 4;
pub(super) const DAMAGED: u8 = 5;
pub(super) const NOT_RECEIVED: u8 = 6;
pub(super) const MISSING_PARTS: u8 = 7;
pub(super) const SPOILED: u8 = 8;

/// Index 0 means "not given".
pub(super) const CONDITIONS: [&str; 5] = ["", "unused", "unopened", "opened", "used"];
pub(super) const UNUSED: u8 = 1;
pub(super) const UNOPENED: u8 = 2;
pub(super) const OPENED: u8 = 3;
pub(super) const USED: u8 = 4;

/// Index 0 means "not given".
pub(super) const EVIDENCE: [&str; 4] = ["", r#"["photo"]"#, r#"["photo","video"]"#, r#"["chat_log"]"#];
pub(super) const CHAT_LOG: u8 = 3;

/// Delivered orders whose buyer asks after the parcel while it is in
/// transit, in thousandths (those that spend long enough on the way).
const IN_TRANSIT_PM: u64 = 12;

#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ReturnLine {
    pub(super) product: u32,
    pub(super) quantity: u8,
    pub(super) condition: u8,
}

/// A return waiting for its day.
#[derive(Debug, Clone)]
pub(super) struct Pending {
    pub(super) time: i64,
    pub(super) order_no: u64,
    pub(super) kind: u8,
    pub(super) reason: u8,
    pub(super) evidence: u8,
    pub(super) abuse: bool,
    pub(super) n: u8,
    pub(super) lines: [ReturnLine; 3],
}

/// A request at a Beijing-time hour `lo..=hi` calendar days after `from`, and after it.
pub(super) fn days_after(rng: &mut Rng, from: i64, lo: i64, hi: i64) -> i64 {
    let days = rng.range(lo, hi);
    let at = (from.div_euclid(DAY) + days) * DAY + time_of_day(rng);
    if at <= from + 600 {
        from + rng.range(1200, 4 * 3600)
    } else {
        at
    }
}

pub(super) fn pick(rng: &mut Rng, table: &[(u8, u32)]) -> u8 {
    let mut weights = [0u32; 8];
    for (w, &(_, weight)) in weights.iter_mut().zip(table) {
        *w = weight;
    }
    table[rng.weighted(&weights[..table.len()])].0
}

pub(super) struct Plan {
    pub(super) time: i64,
    pub(super) kind: u8,
    pub(super) reason: u8,
    pub(super) evidence: u8,
    pub(super) abuse: bool,
}

/// Returns these of the order's lines (indices), each with its condition.
pub(super) fn pending(order: &Order, plan: Plan, chosen: &[(usize, u8, u8)]) -> Pending {
    let mut lines = [ReturnLine::default(); 3];
    for (slot, &(i, quantity, condition)) in lines.iter_mut().zip(chosen) {
        *slot = ReturnLine {
            product: order.lines[i].product,
            quantity,
            condition,
        };
    }
    Pending {
        time: plan.time,
        order_no: 0,
        kind: plan.kind,
        reason: plan.reason,
        evidence: plan.evidence,
        abuse: plan.abuse,
        n: chosen.len() as u8,
        lines,
    }
}

/// Every line, all of it.
pub(super) fn whole(order: &Order, plan: Plan, condition: u8) -> Pending {
    let mut chosen = [(0, 0, 0); 3];
    for (i, slot) in chosen.iter_mut().enumerate().take(usize::from(order.n)) {
        *slot = (i, order.lines[i].quantity, condition);
    }
    pending(order, plan, &chosen[..usize::from(order.n)])
}

pub(super) fn condition_for(rng: &mut Rng, reason: u8, category: u8) -> u8 {
    match reason {
        CHANGED_MIND if category == ELECTRONICS => pick(rng, &[(UNOPENED, 35), (UNUSED, 30), (OPENED, 35)]),
        CHANGED_MIND => pick(rng, &[(UNOPENED, 40), (UNUSED, 50), (OPENED, 10)]),
        SIZE_FIT => pick(rng, &[(UNUSED, 85), (USED, 15)]),
        WRONG_ITEM => pick(rng, &[(UNOPENED, 50), (OPENED, 50)]),
        DAMAGED => pick(rng, &[(OPENED, 80), (UNOPENED, 20)]),
        SPOILED => OPENED,
        NOT_RECEIVED => 0,
        _ => pick(rng, &[(OPENED, 60), (USED, 40)]),
    }
}

pub(super) fn evidence_for(rng: &mut Rng, reason: u8) -> u8 {
    match reason {
        CHANGED_MIND | SIZE_FIT => 0,
        NOT_RECEIVED => pick(rng, &[(0, 70), (CHAT_LOG, 30)]),
        _ => pick(rng, &[(0, 25), (1, 60), (2, 15)]),
    }
}

/// The return (if any) the customer will ask for on this order.
pub(super) fn plan_return(rng: &mut Rng, catalog: &Catalog, c: &Customer, order: &Order) -> Option<Pending> {
    if order.cancelled.is_some() {
        return None;
    }
    let delivered = order.delivered;
    match (c.role, delivered) {
        (Role::Serial, Some(at)) if rng.chance(800) => Some(serial_return(rng, order, at)),
        (Role::RefundOnly, Some(at)) if rng.chance(650) => Some(refund_only_return(rng, order, at)),
        (Role::NotReceived, Some(at)) if rng.chance(550) => Some(not_received_claim(rng, order, at)),
        (Role::Wardrober, Some(at)) if order.high_value && rng.chance(900) => {
            let reason = pick(rng, &[(CHANGED_MIND, 60), (NOT_AS_DESCRIBED, 40)]);
            let plan = Plan {
                time: at + rng.range(2 * 3600, 20 * 3600),
                kind: RETURN_REFUND,
                reason,
                evidence: if reason == CHANGED_MIND { 0 } else { 1 },
                abuse: true,
            };
            let condition = pick(rng, &[(UNUSED, 60), (OPENED, 40)]);
            Some(whole(order, plan, condition))
        }
        _ => honest_return(rng, catalog, c, order),
    }
}

pub(super) fn serial_return(rng: &mut Rng, order: &Order, delivered: i64) -> Pending {
    let reason = pick(rng, &[(CHANGED_MIND, 55), (SIZE_FIT, 25), (NOT_AS_DESCRIBED, 20)]);
    let plan = Plan {
        time: days_after(rng, delivered, 0, 3),
        kind: RETURN_REFUND,
        reason,
        evidence: evidence_for(rng, reason),
        abuse: true,
    };
    let condition = pick(rng, &[(UNUSED, 60), (USED, 30), (OPENED, 10)]);
    if order.n > 1 && rng.chance(600) {
        return whole(order, plan, condition);
    }
    let i = rng.below(u64::from(order.n)) as usize;
    pending(order, plan, &[(i, order.lines[i].quantity, condition)])
}

pub(super) fn refund_only_return(rng: &mut Rng, order: &Order, delivered: i64) -> Pending {
    let reason = pick(
        rng,
        &[
            (QUALITY_DEFECT, 35),
            (NOT_AS_DESCRIBED, 25),
            (MISSING_PARTS, 20),
            (DAMAGED, 20),
        ],
    );
    let plan = Plan {
        time: days_after(rng, delivered, 0, 4),
        kind: REFUND_ONLY,
        reason,
        evidence: pick(rng, &[(0, 40), (1, 60)]),
        abuse: true,
    };
    let i = rng.below(u64::from(order.n)) as usize;
    let condition = pick(rng, &[(OPENED, 50), (USED, 50)]);
    pending(order, plan, &[(i, order.lines[i].quantity, condition)])
}

pub(super) fn not_received_claim(rng: &mut Rng, order: &Order, delivered: i64) -> Pending {
    let plan = Plan {
        time: days_after(rng, delivered, 0, 3),
        kind: if rng.chance(900) { REFUND_ONLY } else { RETURN_REFUND },
        reason: NOT_RECEIVED,
        evidence: evidence_for(rng, NOT_RECEIVED),
        abuse: true,
    };
    whole(order, plan, 0)
}

pub(super) fn honest_return(rng: &mut Rng, catalog: &Catalog, c: &Customer, order: &Order) -> Option<Pending> {
    let Some(delivered) = order.delivered else {
        // Lost or never shipped: most buyers ask for their money after a week or two.
        if !rng.chance(600) {
            return None;
        }
        let from = order.shipped.unwrap_or(order.paid);
        let plan = Plan {
            time: days_after(rng, from, 5, 14),
            kind: REFUND_ONLY,
            reason: NOT_RECEIVED,
            evidence: evidence_for(rng, NOT_RECEIVED),
            abuse: false,
        };
        return Some(whole(order, plan, 0));
    };
    if let Some(shipped) = order.shipped
        && rng.chance(IN_TRANSIT_PM)
    {
        // A slow parcel: "where is it?" asked while it is still on its way,
        // from a day and a half after shipping to two hours before it arrives.
        let (lo, hi) = (shipped + 36 * 3600, delivered - 2 * 3600);
        if lo < hi {
            let plan = Plan {
                time: rng.range(lo, hi),
                kind: REFUND_ONLY,
                reason: NOT_RECEIVED,
                evidence: evidence_for(rng, NOT_RECEIVED),
                abuse: false,
            };
            return Some(whole(order, plan, 0));
        }
    }
    if rng.chance_ppm(2500) {
        // Left with a neighbour or a parcel locker: signed for, honestly missed.
        let plan = Plan {
            time: days_after(rng, delivered, 0, 3),
            kind: REFUND_ONLY,
            reason: NOT_RECEIVED,
            evidence: evidence_for(rng, NOT_RECEIVED),
            abuse: false,
        };
        return Some(whole(order, plan, 0));
    }
    let mut factors = [0u32; 3];
    for (f, line) in factors.iter_mut().zip(order.lines()) {
        *f = RETURN_FACTOR[usize::from(catalog.product(line.product).category)] as u32;
    }
    let factors = &factors[..usize::from(order.n)];
    let top = u64::from(factors.iter().copied().max().unwrap_or(0));
    let several = if order.n > 1 { 115 } else { 100 };
    let chance = (u64::from(c.return_pm) * top / 100 * several / 100).min(900);
    if !rng.chance(chance) {
        return None;
    }
    let i = rng.weighted(factors);
    let category = catalog.product(order.lines[i].product).category;
    let g = group(category);
    let kind = match g {
        Group::Perishable if rng.chance(850) => REFUND_ONLY,
        Group::Perishable => RETURN_REFUND,
        _ => match rng.below(1000) {
            0..40 => REFUND_ONLY,
            40..130 if g == Group::Fit => EXCHANGE,
            _ => RETURN_REFUND,
        },
    };
    let reason = match (kind, g) {
        (REFUND_ONLY, Group::Perishable) => pick(
            rng,
            &[(QUALITY_DEFECT, 30), (DAMAGED, 35), (SPOILED, 30), (WRONG_ITEM, 5)],
        ),
        (REFUND_ONLY, _) => pick(
            rng,
            &[
                (QUALITY_DEFECT, 30),
                (DAMAGED, 25),
                (MISSING_PARTS, 20),
                (WRONG_ITEM, 15),
                (NOT_AS_DESCRIBED, 10),
            ],
        ),
        (EXCHANGE, _) => pick(rng, &[(SIZE_FIT, 75), (QUALITY_DEFECT, 25)]),
        (_, Group::Fit) => pick(
            rng,
            &[
                (CHANGED_MIND, 30),
                (SIZE_FIT, 40),
                (QUALITY_DEFECT, 10),
                (NOT_AS_DESCRIBED, 12),
                (WRONG_ITEM, 5),
                (DAMAGED, 3),
            ],
        ),
        (_, Group::Durable) => pick(
            rng,
            &[
                (CHANGED_MIND, 35),
                (QUALITY_DEFECT, 25),
                (NOT_AS_DESCRIBED, 15),
                (WRONG_ITEM, 6),
                (DAMAGED, 10),
                (MISSING_PARTS, 9),
            ],
        ),
        (_, Group::Perishable) => pick(rng, &[(QUALITY_DEFECT, 40), (DAMAGED, 40), (WRONG_ITEM, 20)]),
        (_, Group::Other) => pick(
            rng,
            &[
                (CHANGED_MIND, 25),
                (QUALITY_DEFECT, 25),
                (NOT_AS_DESCRIBED, 20),
                (WRONG_ITEM, 15),
                (DAMAGED, 15),
            ],
        ),
    };
    // Days after delivery: most within the week, some well after it.
    let days = if g == Group::Perishable || reason == DAMAGED {
        span(rng, &[60, 35, 5], &[(0, 1), (2, 3), (4, 7)])
    } else {
        span(rng, &[30, 40, 17, 9, 4], &[(0, 1), (2, 4), (5, 7), (8, 14), (15, 30)])
    };
    let plan = Plan {
        time: days_after(rng, delivered, days, days),
        kind,
        reason,
        evidence: evidence_for(rng, reason),
        abuse: false,
    };
    let some = |rng: &mut Rng, i: usize| {
        let ordered = order.lines[i].quantity;
        let quantity = if ordered > 1 && rng.chance(700) { 1 } else { ordered };
        let condition = condition_for(rng, reason, catalog.product(order.lines[i].product).category);
        (i, quantity, condition)
    };
    let first = some(rng, i);
    if order.n > 1 && rng.chance(150) {
        let j = (i + 1 + rng.below(u64::from(order.n) - 1) as usize) % usize::from(order.n);
        let second = some(rng, j);
        return Some(pending(order, plan, &[first, second]));
    }
    Some(pending(order, plan, &[first]))
}

// -- Writing ----------------------------------------------------------------------
