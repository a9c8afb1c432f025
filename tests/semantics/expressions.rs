//! docs/language.md §5: operators, precedence, types, short-circuits.

use serde_json::json;

use crate::support::*;

#[test]
fn or_is_looser_than_and() {
    // (true or false) and false would be false.
    assert!(holds("true or false and false"));
    assert!(!holds("false and false or false"));
    assert!(holds("false and true or true"));
}

#[test]
fn and_is_looser_than_not() {
    // not (false and false) would be true.
    assert!(!holds("not false and false"));
    assert!(holds("not true or true"));
}

#[test]
fn not_is_looser_than_comparison() {
    // (not 1) == 2 would not even type-check.
    assert!(holds("not 1 == 2"));
    assert!(holds("not \"a\" in [\"b\"]"));
    assert!(holds("not order.delivered_at is missing"));
}

#[test]
fn comparison_is_looser_than_addition() {
    all_hold(&[
        "1 + 2 == 3",
        "3 == 1 + 2",
        "2 - 1 < 1 + 1",
        "1 + 1 >= 2",
        r#""b" in ["a"] + ["b"]"#,
    ]);
}

#[test]
fn addition_is_looser_than_multiplication_and_of() {
    all_hold(&[
        "1 + 2 * 3 == 7",
        "2 * 3 + 1 == 7",
        "10 - 6 / 2 == 7",
        "10% of 200 + 1 == 21",
        "1 + 10% of 200 == 21",
    ]);
}

#[test]
fn of_is_multiplication_at_the_same_level_as_star_and_slash() {
    all_hold(&[
        "15% of 200 == 30",
        "15% of 200 == 15% * 200",
        "2 of 3 == 6",
        // Same level, left to right: (1 / 3) of 3, not 1 / (3 of 3).
        "1 / 3 of 3 > 0.9",
        "1 / 3 of 3 < 1",
        "1 / 3 * 3 == 1 / 3 of 3",
    ]);
}

#[test]
fn binary_operators_associate_to_the_left() {
    all_hold(&["10 - 3 - 2 == 5", "8 / 4 / 2 == 1", "2 * 3 / 4 == 1.5"]);
}

#[test]
fn unary_minus_is_tightest() {
    all_hold(&[
        "-2 + 3 == 1",
        "2 * -3 == -6",
        "-2 * 3 == -6",
        "5 - -3 == 8",
        "--4 == 4",
        "-10% of 200 == -20",
        "-1 < 0",
    ]);
    // (-2^62) * 2 is i64::MIN and fits; -(2^62 * 2) would overflow first.
    assert!(holds("-4611686018427387904 * 2 < 0"));
}

#[test]
fn parentheses_override_precedence() {
    all_hold(&["(1 + 2) * 3 == 9", "not (false and false)", "(true or false) and true"]);
    assert!(!holds("(true or false) and false"));
}

#[test]
fn an_int_meets_a_decimal_as_a_decimal() {
    all_hold(&[
        "2 == 2.0",
        "3 > 2.5",
        "1 + 0.5 == 1.5",
        "7 / 2 == 3.5",
        "1 / 4 == 0.25",
        "2 * 1.25 == 2.5",
        "max(1, 1.5) == 1.5",
        "item.quantity * item.unit_price == item.amount",
    ]);
}

#[test]
fn time_minus_time_is_a_duration() {
    all_hold(&[
        r#"time("2026-11-03T00:00:00+08:00") - time("2026-11-01T00:00:00+08:00") == 2 days"#,
        r#"time("2026-11-01T00:00:00Z") - time("2026-11-01T00:30:00Z") == -30 minutes"#,
        "now - order.placed_at > 8 days",
        "now - order.placed_at < 9 days",
        "order.delivered_at is present and now - order.delivered_at > 6 days",
    ]);
}

#[test]
fn time_plus_or_minus_a_duration_is_a_time() {
    all_hold(&[
        r#"time("2026-11-01T00:00:00Z") + 36 hours == time("2026-11-02T12:00:00Z")"#,
        r#"36 hours + time("2026-11-01T00:00:00Z") == time("2026-11-02T12:00:00Z")"#,
        r#"time("2026-11-01T00:00:00Z") - 1 week == time("2026-10-25T00:00:00Z")"#,
        "order.placed_at + 30 days > now",
        "now - 2 weeks < order.placed_at",
        "2 * 1 day == 48 hours",
    ]);
}

#[test]
fn durations_are_fixed_lengths_even_across_dst() {
    // New York leaves DST on 1 Nov 2026: that day lasts 25 hours.
    let src = "policy \"T\" { currency \"CNY\" timezone \"America/New_York\" default deny }\n\
               rule probe { when date(\"2026-11-01\") + 1 day == time(\"2026-11-01T23:00:00-05:00\") \
               and date(\"2026-11-02\") - date(\"2026-11-01\") == 25 hours approve }";
    assert_eq!(judge(src, &case()).decision, "approve");
}

#[test]
fn and_short_circuits() {
    // The case has no delivered_at: the guard keeps days_since from failing.
    let c = case().undelivered();
    assert!(!holds_on(
        "order.delivered_at is present and days_since(order.delivered_at) > 7",
        &c
    ));
    // Not just missing fields: the right side is not evaluated at all.
    assert!(!holds("false and 1 / 0 > 1"));
    assert!(!holds("false and item.amount / order.shipping_fee > 1"));
}

#[test]
fn or_short_circuits() {
    let c = case().undelivered();
    assert!(holds_on(
        "order.delivered_at is missing or days_since(order.delivered_at) > 7",
        &c
    ));
    assert!(holds("true or 1 / 0 > 1"));
}

#[test]
fn if_then_else_picks_one_branch_and_evaluates_only_it() {
    all_hold(&[
        "(if return.reason == \"changed_mind\" then 1 else 2) == 1",
        "(if return.reason == \"other\" then 1 else 2) == 2",
        "(if false then 1 / 0 else 2) == 2",
        "(if true then 2 else 1 / 0) == 2",
        // else takes everything after it
        "if false then false else 1 + 1 == 2",
    ]);
    let c = case().undelivered();
    assert!(holds_on(
        "(if order.delivered_at is present then days_since(order.delivered_at) else 0) == 0",
        &c
    ));
    // Through a let that is exactly a presence test (docs/language.md §1's days_since_sign).
    let v = run(
        "let delivered = order.delivered_at is present\n\
         let days = if delivered then days_since(order.delivered_at) else -1\n\
         rule probe { when days == -1 approve }",
        &c,
    );
    assert!(v.errors.is_empty(), "{:?}", v.errors);
    assert_eq!(v.decision, "approve");
}

#[test]
fn lists_join_with_plus() {
    all_hold(&[
        r#""b" in ["a"] + ["b"]"#,
        r#"len(["a"] + ["b", "c"]) == 3"#,
        r#"len(["a"] + ["a"]) == 2"#,
        r#""double11" in order.tags + ["double11"]"#,
    ]);
    let v = run(
        "set one = [\"x\"]\nset two = [\"apparel\"]\n\
         rule probe { when item.category in one + two approve }",
        &case(),
    );
    assert_eq!(v.decision, "approve");
    let c = case()
        .set("order.tags", json!(["a", "b"]))
        .line(0, "tags", json!(["c"]));
    assert!(holds_on("len(order.tags + item.tags + [\"d\"]) == 4", &c));
    assert!(holds_on("\"c\" in order.tags + item.tags", &c));
}

#[test]
fn in_and_not_in() {
    all_hold(&[
        r#""a" in ["a", "b"]"#,
        r#""c" not in ["a", "b"]"#,
        r#"not "a" not in ["a"]"#,
        r#"item.category in ["shoes", "apparel"]"#,
        r#"item.category not in ["shoes"]"#,
        r#""x" not in []"#,
    ]);
    // Exact, case-sensitive match.
    assert!(!holds(r#""A" in ["a"]"#));
    assert!(!holds(r#""a" in ["ab", " a"]"#));
    let c = case().set("return.evidence", json!(["photo", "video"]));
    assert!(holds_on("\"video\" in return.evidence", &c));
    assert!(holds_on("\"receipt\" not in return.evidence", &c));
}

/// A constant list compiles to a set of numbers in the program's string
/// table, a needle to its number (looked up once per evaluation): long lists
/// (past one 64-bit word), lists sharing strings, one field tested against
/// several lists, and a text in no list, all as the tree walk has them.
#[test]
fn membership_in_long_and_shared_lists() {
    let many: Vec<String> = (0..150).map(|i| format!("\"cat-{i}\"")).collect();
    let (head, tail) = (many[..70].join(", "), many[70..].join(", "));
    let policy = format!(
        r#"set first = [{head}, "apparel", "cat-75"]
set rest = [{tail}]
set reasons = ["cat-3", "changed_mind", "damaged"]
set fault = ["damaged", "wrong_item"]
rule probe {{
  when item.category in first and item.category not in rest
       and return.reason in reasons and return.reason not in fault
       and "cat-149" in rest and "cat-149" not in first
       and "cat-69" in first and "cat-70" in rest and "nowhere" not in rest
       and "cat-75" in first and "cat-75" in rest
  approve
}}"#
    );
    let v = run(&policy, &case());
    assert_eq!(v.lines[0].decision.as_ref(), "approve", "{:#?}", v.errors);
    // A category of the second word, and a reason in both reason lists.
    for c in [
        case().order_line(0, "category", json!("cat-140")),
        case().set("return.reason", json!("damaged")),
    ] {
        let v = run(&policy, &c);
        assert_eq!(v.lines[0].decision.as_ref(), "deny", "{:#?}", v.errors);
    }
}

#[test]
fn is_missing_and_is_present() {
    let c = case().undelivered();
    assert!(holds_on("order.delivered_at is missing", &c));
    assert!(!holds_on("order.delivered_at is present", &c));
    assert!(holds("order.delivered_at is present"));
    assert!(!holds("order.delivered_at is missing"));
    assert!(holds("customer.created_at is missing"));
    assert!(holds("order.paid_at is missing and order.shipped_at is missing"));
    let c = case().set("customer.created_at", json!("2025-01-01T00:00:00Z"));
    assert!(holds_on("customer.created_at is present", &c));
    // attrs: absent or null is missing; any scalar is present.
    let c = case().set("order.attrs", json!({"a": 1, "b": null, "c": false}));
    assert!(holds_on(
        "order.attrs.a is present and order.attrs.b is missing \
         and order.attrs.c is present and order.attrs.z is missing",
        &c
    ));
}

#[test]
fn equality_on_strings_booleans_times_and_durations() {
    all_hold(&[
        r#"return.reason == "changed_mind""#,
        r#"return.reason != "Changed_mind""#,
        "order.shipping_insurance == false",
        "order.placed_at == order.placed_at",
        "order.placed_at < now",
        "1 day != 2 days",
    ]);
}

#[test]
fn lets_and_sets_are_names_for_their_values() {
    let v = run(
        "set kinds = [\"apparel\"]\n\
         let cheap = item.amount < 150\n\
         let both = cheap and item.category in kinds\n\
         rule probe { when both approve }",
        &case(),
    );
    assert_eq!(v.decision, "approve");
}

#[test]
fn attrs_are_typed_at_run_time() {
    let c = case()
        .set("order.attrs", json!({"n": 3, "d": 2.5, "s": "gold", "b": true}))
        .set("return.attrs", json!({"channel": "app"}))
        .set("customer.attrs", json!({"tier": "vip"}))
        .line(0, "attrs", json!({"serial": "X1"}));
    assert!(holds_on("order.attrs.n is present and order.attrs.n + 1 == 4", &c));
    assert!(holds_on("order.attrs.d is present and order.attrs.d * 2 == 5", &c));
    assert!(holds_on("order.attrs.s is present and order.attrs.s == \"gold\"", &c));
    assert!(holds_on("order.attrs.b is present and order.attrs.b", &c));
    assert!(holds_on(
        "return.attrs.channel is present and return.attrs.channel == \"app\"",
        &c
    ));
    assert!(holds_on(
        "customer.attrs.tier is present and customer.attrs.tier in [\"vip\"]",
        &c
    ));
    assert!(holds_on(
        "item.attrs.serial is present and item.attrs.serial == \"X1\"",
        &c
    ));
}
