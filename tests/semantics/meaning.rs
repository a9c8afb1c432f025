//! docs/language.md §6: flags and risk, per-line rules, severity, defaults, refunds,
//! the request's decision, shipping and determinism.

use serde_json::json;

use crate::support::*;

/// Two lines: A (apparel, 100.00) and B (shoes, 50.00), both returned.
fn two_lines() -> CaseB {
    case()
        .items(&[("A", "apparel", "100.00", 1), ("B", "shoes", "50.00", 1)])
        .returns(&[("A", 1), ("B", 1)])
}

fn header(currency: &str, default: &str) -> String {
    format!("policy \"T\" {{ currency \"{currency}\" timezone \"UTC\" {default} }}\n")
}

#[test]
fn risk_is_the_sum_of_the_fired_flags_scores() {
    let c = two_lines()
        .past_return("2026-11-01T00:00:00+08:00", "refund_only", "10", "refunded")
        .past_return("2026-11-02T00:00:00+08:00", "refund_only", "10", "refunded");
    let v = run(
        "flag returner { when count(returns in last 30 days) >= 2 score 40 note \"frequent\" }\n\
         flag quiet { when count(returns) > 10 score 100 }\n\
         flag always { score 15 }\n\
         flag excused { score 1000 unless false == false }\n\
         rule probe { when risk == 55 approve }",
        &c,
    );
    assert_eq!(v.risk, 55);
    let flags: Vec<(&str, i64, Option<&str>)> = v
        .flags
        .iter()
        .map(|f| (f.name.as_str(), f.score, f.note.as_deref()))
        .collect();
    // Each flag once per request (not once per line), in declaration order.
    assert_eq!(flags, [("returner", 40, Some("frequent")), ("always", 15, None)]);
    assert_eq!(decisions(&v), ["approve", "approve"]);
}

#[test]
fn no_flag_means_zero_risk() {
    let v = run(
        "flag never { when false score 40 }\nrule probe { when risk == 0 approve }",
        &case(),
    );
    assert_eq!(v.risk, 0);
    assert!(v.flags.is_empty());
    assert_eq!(v.decision, "approve");
}

#[test]
fn negative_scores_lower_the_risk() {
    let v = run(
        "flag a { score 40 }\nflag b { when customer.vip score -30 }\n\
         rule probe { when risk == 10 approve }",
        &case().set("customer.vip", json!(true)),
    );
    assert_eq!(v.risk, 10);
    assert_eq!(v.decision, "approve");
}

#[test]
fn lets_that_read_risk_see_the_final_risk() {
    let v = run(
        "let calm = risk < 50\n\
         flag a { score 30 }\nflag b { score 30 }\n\
         rule probe { when not calm approve }",
        &case(),
    );
    assert_eq!(v.decision, "approve");
}

#[test]
fn rules_judge_each_line() {
    let v = run(
        "rule shoes { when item.category == \"shoes\" deny \"no shoes\" }\n\
         rule rest { when item.category != \"shoes\" approve }",
        &two_lines(),
    );
    assert_eq!(decisions(&v), ["approve", "deny"]);
    assert_eq!(fired(&v, 0), ["rest"]);
    assert_eq!(fired(&v, 1), ["shoes"]);
    assert_eq!(v.lines[1].message.as_deref(), Some("no shoes"));
    assert_eq!(v.decision, "partial");
    assert_eq!(v.refund, "100.00");
}

#[test]
fn lets_that_read_the_item_are_per_line() {
    let v = run(
        "let pricey = item.amount > 60\nrule probe { when pricey approve }",
        &two_lines(),
    );
    assert_eq!(decisions(&v), ["approve", "deny"]);
}

#[test]
fn deny_beats_review_beats_approve() {
    for order in [["a", "r", "d"], ["d", "r", "a"], ["r", "d", "a"]] {
        let rules: String = order
            .iter()
            .map(|k| match *k {
                "a" => "rule a { approve \"ok\" }\n",
                "r" => "rule r { review \"look\" }\n",
                _ => "rule d { deny \"no\" }\n",
            })
            .collect();
        let v = run(&rules, &case());
        assert_eq!(v.lines[0].decision, "deny", "{order:?}");
        assert_eq!(v.lines[0].message.as_deref(), Some("no"));
        assert_eq!(fired(&v, 0), order, "every fired rule, in declaration order");
        let effects: Vec<&str> = v.lines[0].rules.iter().map(|r| r.effect.as_ref()).collect();
        let expected: Vec<&str> = order
            .iter()
            .map(|k| match *k {
                "a" => "approve",
                "r" => "review",
                _ => "deny",
            })
            .collect();
        assert_eq!(effects, expected);
    }
    let v = run("rule a { approve }\nrule r { review \"look\" }", &case());
    assert_eq!(v.lines[0].decision, "review");
    assert_eq!(v.lines[0].message.as_deref(), Some("look"));
    let v = run("rule r { review \"look\" }\nrule a { approve }", &case());
    assert_eq!(v.lines[0].decision, "review");
}

#[test]
fn unless_vetoes_when() {
    let v = run(
        "rule a { when true unless return.reason == \"changed_mind\" approve }",
        &case(),
    );
    assert_eq!(v.decision, "deny");
    assert!(v.lines[0].rules.is_empty());
    let v = run("rule a { unless false approve }", &case());
    assert_eq!(v.decision, "approve");
}

#[test]
fn the_header_default_decides_when_no_rule_fired() {
    let src = header("CNY", "default approve") + "rule r { when false deny \"no\" }";
    let v = judge(&src, &case());
    assert_eq!(v.decision, "approve");
    assert!(v.lines[0].rules.is_empty());
    let src = header("CNY", "default deny \"closed\"");
    let v = judge(&src, &case());
    assert_eq!(v.decision, "deny");
    assert_eq!(v.lines[0].message.as_deref(), Some("closed"));
    // A deduct-only rule decides nothing: the default still applies.
    let src = header("CNY", "default approve") + "rule fee { deduct 5 as \"fee\" }";
    let v = judge(&src, &case());
    assert_eq!(v.decision, "approve");
    assert_eq!(v.lines[0].rules[0].effect, "deduct");
    assert_eq!(v.refund, "95.00");
}

#[test]
fn the_default_default_is_review() {
    let src = header("CNY", "") + "rule r { when false approve }";
    let v = judge(&src, &case());
    assert_eq!(v.decision, "review");
    assert_eq!(v.lines[0].decision, "review");
}

#[test]
fn without_a_refund_table_the_base_is_the_item_amount() {
    let c = case().items(&[("A", "apparel", "19.90", 3)]).returns(&[("A", 2)]);
    let v = run("rule a { approve }", &c);
    assert_eq!(v.lines[0].refund, "39.80");
    assert_eq!(v.refund, "39.80");
}

#[test]
fn the_refund_table_first_matching_row_wins() {
    let table = "refund {\n\
                   item.amount * 0.5 when item.category == \"shoes\"\n\
                   item.amount * 0.8 when item.amount >= 50\n\
                   item.amount * 0.1 when true\n\
                   item.amount otherwise\n\
                 }\nrule a { approve }";
    let v = run(table, &two_lines());
    assert_eq!(v.lines[0].refund, "80.00"); // apparel 100: second row
    assert_eq!(v.lines[1].refund, "25.00"); // shoes 50: first row, though the second holds too
    assert_eq!(v.refund, "105.00");
    let v = run("refund { 1 when false\n 7 otherwise }\nrule a { approve }", &case());
    assert_eq!(v.refund, "7.00");
}

#[test]
fn deductions_are_subtracted_and_listed() {
    let v = run(
        "rule a { approve }\n\
         rule fee { deduct 10% of item.amount as \"restocking\" deduct 5 as \"label\" }\n\
         rule never { when false deduct 50 as \"never\" }",
        &case(),
    );
    assert_eq!(v.lines[0].refund, "85.00");
    let d: Vec<(&str, &str)> = v.lines[0]
        .deductions
        .iter()
        .map(|d| (d.label.as_str(), d.amount.as_str()))
        .collect();
    assert_eq!(d, [("restocking", "10.00"), ("label", "5.00")]);
    assert_eq!(v.refund, "85.00");
}

#[test]
fn the_refund_is_floored_at_zero() {
    let v = run(
        "rule a { approve }\nrule fee { deduct 60 as \"a\" deduct 60 as \"b\" }",
        &case(),
    );
    assert_eq!(v.lines[0].refund, "0.00");
    assert_eq!(v.refund, "0.00");
    assert_eq!(v.lines[0].decision, "approve");
}

#[test]
fn refunds_round_half_away_from_zero_to_the_minor_unit() {
    // CNY: 2 digits.
    let v = judge(
        &(header("CNY", "default approve") + "refund { item.amount / 3 otherwise }"),
        &case(),
    );
    assert_eq!(v.refund, "33.33");
    let c = case().items(&[("A", "apparel", "201.00", 1)]);
    let v = judge(
        &(header("CNY", "default approve") + "refund { item.amount / 200 otherwise }"),
        &c,
    );
    assert_eq!(v.refund, "1.01");
    let v = judge(
        &(header("CNY", "default approve") + "refund { item.amount * 2 / 3 otherwise }"),
        &case(),
    );
    assert_eq!(v.refund, "66.67");
    // JPY: no minor digits. 10% of 1005 is 100.5, deducted as 101.
    let c = case().currency("JPY").items(&[("A", "apparel", "1005", 1)]);
    let v = judge(
        &(header("JPY", "default approve") + "rule fee { deduct 10% of item.amount as \"fee\" }"),
        &c,
    );
    assert_eq!(v.lines[0].deductions[0].amount, "101");
    assert_eq!(v.lines[0].refund, "904");
    assert_eq!(v.refund, "904");
    let c = case().currency("JPY").items(&[("A", "apparel", "5", 1)]);
    let halves = header("JPY", "default approve") + "refund { item.amount / 2 otherwise }";
    assert_eq!(judge(&halves, &c).refund, "3");
    // KWD: 3 digits.
    let c = case().currency("KWD").items(&[("A", "apparel", "1", 1)]);
    let v = judge(
        &(header("KWD", "default approve") + "refund { item.amount + 0.0005 otherwise }"),
        &c,
    );
    assert_eq!(v.refund, "1.001");
    let v = judge(&header("KWD", "default approve"), &c);
    assert_eq!(v.refund, "1.000");
}

#[test]
fn the_base_and_each_deduction_are_rounded_so_the_verdict_adds_up() {
    // Ambiguity pinned: rounding happens on the base and on each listed
    // deduction, so refund == base - the deductions as printed.
    let c = case().items(&[("A", "apparel", "10.00", 1)]);
    let v = run(
        "rule a { approve }\nrule f { deduct 0.005 as \"x\" deduct 0.005 as \"y\" }",
        &c,
    );
    let d: Vec<&str> = v.lines[0].deductions.iter().map(|d| d.amount.as_str()).collect();
    assert_eq!(d, ["0.01", "0.01"]);
    assert_eq!(v.refund, "9.98");
    let v = run(
        "refund { item.amount + 0.005 otherwise }\nrule a { approve }\nrule f { deduct 0.004 as \"x\" }",
        &c,
    );
    assert_eq!(v.lines[0].deductions[0].amount, "0.00");
    assert_eq!(v.refund, "10.01");
}

#[test]
fn amounts_print_with_exactly_the_minor_digits() {
    let c = case().items(&[("A", "apparel", "100", 1)]);
    let v = run("rule a { approve }\nrule f { deduct 1 as \"f\" }", &c);
    assert_eq!(v.refund, "99.00");
    assert_eq!(v.lines[0].deductions[0].amount, "1.00");
    let v = run("rule d { deny \"no\" }", &c);
    assert_eq!(v.refund, "0.00");
    assert_eq!(v.lines[0].refund, "0.00");
    // Never a negative zero.
    let v = run("rule a { approve }\nrule f { deduct -0.00 as \"z\" }", &c);
    assert_eq!(v.lines[0].deductions[0].amount, "0.00");
    assert_eq!(v.refund, "100.00");
    // Digits are kept even where the amount is too large for Decimal to scale.
    let c = case()
        .items(&[("A", "apparel", "79228162514264337593543950335", 1)])
        .set("order.total", json!("1"));
    let v = run("rule a { approve }", &c);
    assert_eq!(v.refund, "79228162514264337593543950335.00");
}

#[test]
fn a_denied_line_refunds_nothing() {
    let v = run(
        "refund { item.amount otherwise }\nrule d { deny \"no\" }\nrule a { approve }",
        &case(),
    );
    assert_eq!(v.lines[0].refund, "0.00");
    assert_eq!(v.refund, "0.00");
    assert_eq!(v.decision, "deny");
}

#[test]
fn the_request_decision_and_refund() {
    let cases = [
        ("rule x { approve }", "approve", "150.00"),
        ("rule x { deny \"no\" }", "deny", "0.00"),
        ("rule x { review \"look\" }", "review", "0.00"),
        // approve + deny -> partial, refund of the approved line only
        ("rule x { when item.sku == \"A\" approve }", "partial", "100.00"),
        // approve + review -> review, refund of the approved line only
        (
            "rule x { approve }\nrule y { when item.sku == \"B\" review \"look\" }",
            "review",
            "100.00",
        ),
        // deny + review -> review
        ("rule x { when item.sku == \"B\" review \"look\" }", "review", "0.00"),
    ];
    for (rules, decision, refund) in cases {
        let v = run(rules, &two_lines());
        assert_eq!(v.decision, decision, "{rules}");
        assert_eq!(v.refund, refund, "{rules}");
    }
}

#[test]
fn review_lines_keep_their_refund_but_the_request_does_not_pay_it() {
    let v = run("rule x { review \"look\" }", &case());
    assert_eq!(v.lines[0].refund, "100.00");
    assert_eq!(v.refund, "0.00");
}

#[test]
fn lines_follow_the_returns_order() {
    let c = two_lines().returns(&[("B", 1), ("A", 1)]);
    let v = run("rule a { approve }", &c);
    let skus: Vec<&str> = v.lines.iter().map(|l| l.sku.as_str()).collect();
    assert_eq!(skus, ["B", "A"]);
}

#[test]
fn shipping_first_matching_row_wins() {
    let table = "shipping {\n\
                   merchant when return.reason in [\"wrong_item\"]\n\
                   insurance when order.shipping_insurance\n\
                   platform when risk > 10\n\
                   buyer otherwise\n\
                 }\nrule a { approve }";
    let ins = case().set("order.shipping_insurance", json!(true));
    assert_eq!(run(table, &case()).shipping, "buyer");
    assert_eq!(run(table, &ins).shipping, "insurance");
    assert_eq!(run(table, &ins.clone().reason("wrong_item")).shipping, "merchant");
    // The table runs after the flags and sees the risk.
    let flagged = format!("flag f {{ score 20 }}\n{table}");
    assert_eq!(run(&flagged, &case()).shipping, "platform");
    assert_eq!(run(&flagged, &ins).shipping, "insurance");
}

#[test]
fn without_a_shipping_table_the_buyer_pays() {
    let c = case().reason("wrong_item").set("order.shipping_insurance", json!(true));
    assert_eq!(run("rule a { approve }", &c).shipping, "buyer");
    assert_eq!(run("rule d { deny \"no\" }", &c).shipping, "buyer");
}

#[test]
fn the_verdict_names_the_request_and_currency() {
    let v = run("rule a { approve }", &case());
    assert_eq!(v.return_id, "R-1");
    assert_eq!(v.currency, "CNY");
    assert!(v.errors.is_empty());
}

#[test]
fn same_input_gives_byte_identical_output() {
    let src = format!(
        "{HEAD}\n\
         set faults = [\"wrong_item\"]\n\
         let days = if order.delivered_at is present then days_since(order.delivered_at) else 0\n\
         flag busy {{ when count(returns in last 30 days) >= 1 score 30 note \"busy\" }}\n\
         flag odd {{ when order.attrs.x > 1 score 5 }}\n\
         rule ok {{ when days <= 7 approve \"fine\" }}\n\
         rule fee {{ when item.category == \"shoes\" deduct 12.5% of item.amount as \"fee\" }}\n\
         rule bad {{ when item.amount / order.shipping_fee > 1 deny \"x\" }}\n\
         shipping {{ merchant when return.reason in faults\n buyer otherwise }}"
    );
    let c = two_lines().set("order.attrs", json!({"x": "text"})).past_return(
        "2026-11-05T00:00:00+08:00",
        "return_refund",
        "10",
        "refunded",
    );
    let program = compile(&src);
    let first = serde_json::to_string(&program.judge(&c.parse()).unwrap()).unwrap();
    for _ in 0..3 {
        let again = serde_json::to_string(&program.judge(&c.parse()).unwrap()).unwrap();
        assert_eq!(first, again);
        // A fresh compile of the same text too.
        let fresh = serde_json::to_string(&compile(&src).judge(&c.parse()).unwrap()).unwrap();
        assert_eq!(first, fresh);
    }
    // Explaining does not change the verdict.
    let (explained, _) = program.judge_explained(&c.parse()).unwrap();
    assert_eq!(first, serde_json::to_string(&explained).unwrap());
}
