//! docs/language.md §6.5: an error while evaluating never approves; the construct is
//! listed in `errors` and the line it touches goes at least to review.

use serde_json::json;

use crate::support::*;

const REVIEW_MESSAGE: &str = "The policy could not be evaluated on this line; a person will look at it";

#[test]
fn a_missing_field_used_without_a_guard() {
    let c = case().undelivered();
    let v = fails_on("days_since(order.delivered_at) <= 7", &c);
    assert!(
        v.errors[0].message.contains("`order.delivered_at` is missing"),
        "{}",
        v.errors[0].message
    );
    assert_eq!(v.errors[0].sku.as_deref(), Some("A"));
    assert_eq!(v.lines[0].message.as_deref(), Some(REVIEW_MESSAGE));
    assert_eq!(v.decision, "review");
    assert_eq!(v.refund, "0.00");
    // The same policy approves when the field is there.
    assert!(holds("days_since(order.delivered_at) <= 7"));
}

#[test]
fn a_failed_rule_blocks_another_rules_approval() {
    let c = case().undelivered();
    let v = run(
        "rule ok { approve }\nrule late { when days_since(order.delivered_at) > 7 deny \"late\" }",
        &c,
    );
    assert_eq!(v.lines[0].decision, "review");
    assert_eq!(v.errors.len(), 1);
    assert_eq!(v.errors[0].construct, "rule late");
    assert_eq!(fired(&v, 0), ["ok"], "the failed rule did not fire");
    assert_eq!(v.refund, "0.00");
}

#[test]
fn a_denied_line_stays_denied_when_something_else_fails() {
    let c = case().undelivered();
    let v = run(
        "rule no { deny \"no\" }\nrule late { when days_since(order.delivered_at) > 7 approve }",
        &c,
    );
    assert_eq!(v.lines[0].decision, "deny");
    assert_eq!(v.lines[0].message.as_deref(), Some("no"));
    assert_eq!(v.errors.len(), 1);
}

#[test]
fn an_error_under_a_default_deny_goes_to_review() {
    // The failed rule might have approved: the default no longer decides.
    let src = "policy \"T\" { currency \"CNY\" default deny \"no rule fired\" }\n\
               rule ok { when days_since(order.delivered_at) <= 7 approve }";
    let v = judge(src, &case().undelivered());
    assert_eq!(v.lines[0].decision, "review");
    assert_eq!(v.lines[0].message.as_deref(), Some(REVIEW_MESSAGE));
    // A deduct-only rule failing, too (conservative: it is still an error on the line).
    let src = "policy \"T\" { currency \"CNY\" default deny }\n\
               rule fee { deduct item.amount / order.shipping_fee as \"fee\" }";
    assert_eq!(judge(src, &case()).lines[0].decision, "review");
}

#[test]
fn missing_attrs_used_without_a_guard() {
    fails_on("order.attrs.level > 1", &case());
    fails_on("item.attrs.serial == \"X\"", &case());
    let c = case().set("order.attrs", json!({"level": null}));
    fails_on("order.attrs.level > 1", &c);
}

#[test]
fn an_attrs_type_mismatch() {
    let c = case()
        .set("order.attrs", json!({"score": "high", "n": 3, "b": true}))
        .line(0, "attrs", json!({"serial": 12}));
    for cond in [
        "order.attrs.score > 5",
        "order.attrs.score + 1 > 5",
        "order.attrs.n == \"3\"",
        "order.attrs.n",
        "order.attrs.b > 0",
        "not order.attrs.score",
        "item.attrs.serial in [\"12\"]",
        "lower(item.attrs.serial) == \"12\"",
        "days_since(order.attrs.score) > 1",
    ] {
        let v = fails_on(cond, &c);
        assert!(v.errors[0].message.contains("attrs"), "{cond}: {}", v.errors[0].message);
    }
}

#[test]
fn a_decimal_overflow() {
    // Near Decimal::MAX (about 7.9e28).
    let big = "7922816251426433759354395033.5";
    let v = fails_on(&format!("item.amount * {big} > 1"), &case());
    assert!(v.errors[0].message.contains("overflowed"), "{}", v.errors[0].message);
    fails_on(&format!("{big} * 10 + item.amount > 1"), &case());
    fails_on(&format!("-{big} * 10 - item.amount < 1"), &case());
    fails_on(
        &format!("sum(returns.amount) + {big} * 10 > 1"),
        &case().past_return("2026-11-01T00:00:00+08:00", "return_refund", "100", "refunded"),
    );
    // Whole numbers overflow too, rather than wrap.
    fails_on("9223372036854775807 + item.quantity > 0", &case());
    fails_on("now + 5000 weeks * 1000000 > now", &case());
    fails_on("now - 5000 weeks * 1000000000000 < now", &case());
}

#[test]
fn deductions_that_overflow_when_added_up() {
    let big = "7922816251426433759354395033.5 * 5"; // over half of Decimal::MAX
    let v = run(
        &format!("rule ok {{ approve }}\nrule f {{ deduct {big} as \"a\" deduct {big} as \"b\" }}"),
        &case(),
    );
    assert_eq!(v.errors.len(), 1, "{:#?}", v.errors);
    assert_eq!(v.errors[0].construct, "rule f");
    assert!(v.errors[0].message.contains("overflowed"));
    assert_eq!(v.lines[0].decision, "review");
    assert_eq!(v.refund, "0.00");
}

#[test]
fn refunds_that_overflow_when_added_up() {
    let c = case()
        .items(&[("A", "a", "1", 1), ("B", "b", "1", 1)])
        .returns(&[("A", 1), ("B", 1)]);
    let v = run(
        "refund { 7922816251426433759354395033.5 * 5 otherwise }\nrule ok { approve }",
        &c,
    );
    assert_eq!(v.errors.len(), 1, "{:#?}", v.errors);
    assert_eq!(v.errors[0].construct, "refund");
    assert_eq!(decisions(&v), ["review", "review"]);
    assert_eq!(v.decision, "review");
    assert_eq!(v.refund, "0.00");
}

#[test]
fn a_division_by_zero() {
    let v = fails_on("item.amount / order.shipping_fee > 1", &case());
    assert!(
        v.errors[0].message.contains("divides by zero"),
        "{}",
        v.errors[0].message
    );
    fails_on("1 / 0 > 1", &case());
    fails_on("item.amount / (item.quantity - 1) > 1", &case());
}

#[test]
fn rounding_to_a_bad_number_of_places() {
    fails_on("round(item.amount, 29) > 1", &case());
    fails_on("round(item.amount, -1) > 1", &case());
}

#[test]
fn errors_in_unless_and_in_lets() {
    let c = case().undelivered();
    fails_on("true unless days_since(order.delivered_at) > 7", &c);
    let v = run(
        "let late = days_since(order.delivered_at) > 7\nrule probe { when not late approve }",
        &c,
    );
    assert_eq!(v.lines[0].decision, "review");
    assert_eq!(v.errors[0].construct, "rule probe");
}

#[test]
fn errors_inside_where() {
    let c = case().past_return("2026-11-01T00:00:00+08:00", "return_refund", "10", "refunded");
    fails_on("count(returns where amount / 0 > 1) == 0", &c);
    // No event, nothing evaluated, no error.
    assert!(holds("count(returns where amount / 0 > 1) == 0"));
}

#[test]
fn a_failed_deduction_sends_the_line_to_review() {
    let v = run(
        "rule ok { approve }\nrule fee { deduct item.amount / order.shipping_fee as \"fee\" }",
        &case(),
    );
    assert_eq!(v.lines[0].decision, "review");
    assert_eq!(v.errors[0].construct, "rule fee");
    assert!(v.lines[0].deductions.is_empty());
}

#[test]
fn a_negative_deduction_is_an_error_not_a_bonus() {
    let v = run("rule ok { approve }\nrule fee { deduct -5 as \"bonus\" }", &case());
    assert_eq!(v.lines[0].decision, "review");
    assert_eq!(v.errors[0].construct, "rule fee");
    assert_eq!(v.refund, "0.00");
}

#[test]
fn a_failed_refund_row_sends_the_line_to_review() {
    for table in [
        "refund { 1 when item.amount / order.shipping_fee > 1\n item.amount otherwise }",
        "refund { item.amount / order.shipping_fee otherwise }",
        "refund { item.amount - 200 otherwise }",
    ] {
        let v = run(&format!("{table}\nrule ok {{ approve }}"), &case());
        assert_eq!(v.lines[0].decision, "review", "{table}");
        assert_eq!(v.errors.len(), 1, "{table}");
        assert_eq!(v.errors[0].construct, "refund");
        assert_eq!(v.refund, "0.00");
    }
}

#[test]
fn a_failed_flag_sends_every_line_to_review() {
    let v = run(
        "flag odd { when order.attrs.x > 1 score 10 }\nflag fine { score 5 }\nrule ok { approve }",
        &case()
            .items(&[("A", "a", "1", 1), ("B", "b", "1", 1)])
            .returns(&[("A", 1), ("B", 1)]),
    );
    assert_eq!(v.errors.len(), 1);
    assert_eq!(v.errors[0].construct, "flag odd");
    assert_eq!(v.errors[0].sku, None);
    assert_eq!(v.risk, 5, "the failed flag does not fire");
    assert_eq!(decisions(&v), ["review", "review"]);
    assert_eq!(v.decision, "review");
}

#[test]
fn a_failed_shipping_row_sends_the_request_to_review() {
    let v = run(
        "shipping { merchant when order.attrs.x > 1\n buyer otherwise }\nrule ok { approve }",
        &case(),
    );
    assert_eq!(v.errors[0].construct, "shipping");
    assert_eq!(v.lines[0].decision, "review");
    assert_eq!(v.shipping, "buyer");
}

#[test]
fn an_error_touches_only_its_own_line() {
    let c = case()
        .items(&[("A", "a", "1", 1), ("B", "b", "1", 1)])
        .returns(&[("A", 1), ("B", 1)])
        .line(0, "attrs", json!({"n": "text"}))
        .line(1, "attrs", json!({"n": 5}));
    let v = run("rule probe { when item.attrs.n > 1 approve }", &c);
    assert_eq!(decisions(&v), ["review", "approve"]);
    assert_eq!(v.errors.len(), 1);
    assert_eq!(v.errors[0].sku.as_deref(), Some("A"));
    assert_eq!(v.decision, "review");
    assert_eq!(v.refund, "1.00");
}

#[test]
fn every_failure_is_listed_in_declaration_order() {
    let c = case().undelivered();
    let v = run(
        "flag f { when order.attrs.a > 1 score 1 }\n\
         rule r1 { when days_since(order.delivered_at) > 1 approve }\n\
         rule r2 { when 1 / 0 > 1 approve }",
        &c,
    );
    let constructs: Vec<&str> = v.errors.iter().map(|e| e.construct.as_str()).collect();
    assert_eq!(constructs, ["flag f", "rule r1", "rule r2"]);
}
