//! Inputs stretched to a size, shared by `tests/hostile.rs` (limits, and
//! judging's cost in evaluation steps) and `benches/limits.rs` (its cost in
//! time), so the benchmark measures exactly what the tests count.

#![allow(dead_code)]

pub fn header() -> String {
    "policy \"P\" { currency \"CNY\" timezone \"Asia/Shanghai\" }\n".to_string()
}

/// `n` rules of one shape, all reading one shared aggregate.
pub fn rules_policy(n: usize) -> String {
    let mut src = header();
    src.push_str("let returned = count(returns in last 30 days where amount > 10)\n");
    for i in 0..n {
        src.push_str(&format!(
            "rule r{i} {{ when item.amount > {i} and returned < 100 and return.reason in [\"a\", \"b\"] review \"r{i}\" }}\n"
        ));
    }
    src
}

/// A policy that walks the history in every way: windows, filters, a sum,
/// and an aggregate whose filter reads the line (so it runs once per line).
pub fn history_policy() -> String {
    format!(
        "{}let recent = count(returns in last 30 days where reason == \"changed_mind\" and amount > 5)
let spent = sum(orders.total in last 90 days)
let same_sku = count(returns in last 90 days where order_id == item.sku)
flag heavy {{ when recent > 3 and spent > 100 score 10 }}
rule r1 {{ when recent > 20 or same_sku > 0 review \"look\" }}
rule r2 {{ when risk > 5 deduct 10% of item.amount as \"fee\" }}\n",
        header()
    )
}

/// A valid case whose JSON text the tests stretch: `lines` returned lines,
/// `history` past orders and as many past returns, all alike and all inside
/// any window, and `extra`, a field no policy reads.
pub fn case_json(lines: usize, history: usize, extra: &str) -> String {
    let items: Vec<String> = (0..lines)
        .map(|i| format!(r#"{{"sku": "S{i}", "category": "apparel", "unit_price": "10.00", "quantity": 1}}"#))
        .collect();
    let returned: Vec<String> = (0..lines)
        .map(|i| format!(r#"{{"sku": "S{i}", "quantity": 1}}"#))
        .collect();
    let orders: Vec<String> = (0..history)
        .map(|i| format!(r#"{{"id": "O-{i}", "placed_at": "2026-11-01T10:00:00+08:00", "total": "50.00"}}"#))
        .collect();
    let returns: Vec<String> = (0..history)
        .map(|i| {
            format!(
                r#"{{"id": "P{i}", "order_id": "O-{i}", "requested_at": "2026-11-02T10:00:00+08:00", "type": "return_refund", "reason": "changed_mind", "amount": "20.00", "status": "refunded"}}"#
            )
        })
        .collect();
    format!(
        r#"{{"order": {{"id": "O-1", "customer_id": "C-1", "currency": "CNY", "placed_at": "2026-11-01T10:00:00+08:00",
 "delivered_at": "2026-11-03T10:00:00+08:00", "attrs": {{"extra": {extra}}}, "items": [{}]}},
 "return": {{"id": "R-1", "requested_at": "2026-11-09T20:00:00+08:00", "type": "return_refund", "reason": "changed_mind",
 "items": [{}]}},
 "history": {{"orders": [{}], "returns": [{}]}}}}"#,
        items.join(","),
        returned.join(","),
        orders.join(","),
        returns.join(",")
    )
}
