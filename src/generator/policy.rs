//! Policies of any size, for measuring how the engine scales with the work
//! (`benches/engine.rs`, `rpl-bench`): the same shapes, repeated.

/// A policy of `rules` rules in the shapes merchants write: windows, category
/// sets, reasons, amounts, history, deductions; a few lets and flags.
pub fn generated_policy(rules: usize) -> String {
    let mut s = String::from("policy \"Generated\" { currency \"CNY\" timezone \"Asia/Shanghai\" }\n");
    s.push_str("set cats = [\"custom\", \"engraved\", \"fresh_food\", \"flowers\", \"software\"]\n");
    s.push_str("set faults = [\"quality_defect\", \"wrong_item\", \"not_as_described\"]\n");
    s.push_str("let delivered = order.delivered_at is present\n");
    s.push_str("let days = if delivered then days_since(order.delivered_at) else 0\n");
    s.push_str("flag busy { when count(returns in last 30 days) >= 5 score 40 }\n");
    s.push_str(
        "flag refund_only { when count(returns in last 90 days where type == \"refund_only\") >= 3 score 30 }\n",
    );
    for i in 0..rules {
        let n = i % 97;
        let body = match i % 6 {
            0 => format!(
                "when delivered and days > {n} and item.category in cats unless return.reason in faults deny \"late {i}\""
            ),
            1 => format!(
                "when return.reason == \"changed_mind\" and days <= {} and item.condition == \"unused\" approve",
                n % 15
            ),
            2 => format!(
                "when item.amount > {n}00 and item.category == \"electronics\" deduct {}% of item.amount as \"fee {i}\"",
                n % 20
            ),
            3 => format!("when risk >= {n} review \"risk {i}\""),
            4 => format!("when \"gift\" in item.tags or customer.vip and return.amount < {n}0 approve"),
            _ => {
                format!("when sum(returns.amount in last 30 days) > {n}000 and not customer.vip review \"volume {i}\"")
            }
        };
        s.push_str(&format!("rule r{i} {{ {body} }}\n"));
    }
    s
}
