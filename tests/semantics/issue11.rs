//! docs/language.md §3.3 (declared values), §3.6 and §6.1 (rules and tables
//! that name a flag; the `none` payer): what they mean when a case is judged,
//! by the compiled code and the tree walk alike.

use serde_json::json;

use crate::support::*;

// ---------------------------------------------------------------- flags by name

const FLAGS: &str = "flag returner { when count(returns in last 30 days) >= 2 score 40 }\n\
                     flag quiet { when count(returns) > 10 score 5 }\n";

fn returner() -> CaseB {
    case()
        .past_return("2026-11-01T00:00:00+08:00", "refund_only", "10", "refunded")
        .past_return("2026-11-02T00:00:00+08:00", "refund_only", "10", "refunded")
}

#[test]
fn a_rule_may_name_a_flag_as_a_condition() {
    let policy = format!("{FLAGS}rule probe {{ when returner approve }}");
    assert_eq!(run(&policy, &returner()).decision, "approve");
    assert_eq!(run(&policy, &case()).decision, "deny");
    // A flag that did not fire reads false, not missing.
    let quiet = format!("{FLAGS}rule probe {{ unless quiet approve }}");
    assert_eq!(run(&quiet, &returner()).decision, "approve");
}

#[test]
fn a_flag_is_read_through_lets_and_in_both_tables() {
    let policy = format!(
        "{FLAGS}let watched = returner and not quiet\n\
         rule probe {{ when watched approve }}\n\
         shipping {{ platform when returner buyer otherwise }}\n\
         refund {{ 50% of item.amount when watched item.amount otherwise }}"
    );
    let v = run(&policy, &returner());
    assert_eq!(
        (&*v.decision, &*v.shipping, v.refund.as_str()),
        ("approve", "platform", "50.00")
    );
    let v = run(&policy, &case());
    assert_eq!((&*v.decision, &*v.shipping), ("deny", "buyer"));
}

#[test]
fn a_flag_that_failed_did_not_fire() {
    let policy = "flag broken { when order.attrs.x > 1 score 10 }\n\
                  rule probe { unless broken approve }";
    let v = run(policy, &case().set("order.attrs", json!({"x": "text"})));
    // The rule saw `broken` as not fired, but the flag's error sends the line to review.
    assert_eq!(fired(&v, 0), ["probe"]);
    assert_eq!(v.lines[0].decision, "review");
}

#[test]
fn explaining_shows_the_flag_as_a_fact() {
    let program = compile(&format!("{HEAD}\n{FLAGS}rule probe {{ when returner approve }}"));
    let (v, e) = program.judge_explained(&returner().parse()).unwrap();
    let text = rpl::render_explanation(&v, &e);
    assert!(
        text.contains("rule probe -> approve\n      returner = true\n"),
        "{text}"
    );
}

#[test]
fn the_decision_only_path_reads_flags_too() {
    let program = compile(&format!(
        "{HEAD}\n{FLAGS}rule probe {{ when returner approve }}\nshipping {{ none when returner buyer otherwise }}"
    ));
    let mut scratch = rpl::Scratch::default();
    for (c, decision, payer) in [(returner(), "approve", "none"), (case(), "deny", "buyer")] {
        let d = program.decide(&c.parse(), &mut scratch).unwrap();
        assert_eq!((d.decision.as_str(), d.shipping.as_str()), (decision, payer));
    }
}

// ---------------------------------------------------------------- none

#[test]
fn none_pays_when_nothing_is_sent_back() {
    let table = "shipping {\n  none when return.type == \"refund_only\"\n  buyer otherwise\n}";
    assert_eq!(run(table, &case().kind("refund_only")).shipping, "none");
    assert_eq!(run(table, &case()).shipping, "buyer");
    assert_eq!(rpl::Payer::Nothing.as_str(), "none");
}

// ---------------------------------------------------------------- declared values

const WORDS: &str = "values return.reason = [\"changed_mind\", \"wrong_item\"]\n\
                     values item.category = [\"apparel\", \"shoes\"]\n\
                     values item.condition = [\"unused\", \"used\"]\n\
                     values return.evidence = [\"photo\"]\n\
                     rule probe { approve }";

/// The input error judging `c` gives, by every path that judges.
fn refused(c: &CaseB) -> String {
    let program = compile(&format!("{HEAD}\n{WORDS}"));
    let case = c.parse();
    let judged = program.judge(&case).err().map(|e| e.to_string());
    let reference = program.judge_reference(&case).err().map(|e| e.to_string());
    let decided = program
        .decide(&case, &mut rpl::Scratch::default())
        .err()
        .map(|e| e.to_string());
    assert_eq!(judged, reference);
    assert_eq!(judged, decided);
    judged.unwrap_or_else(|| "accepted".into())
}

#[test]
fn words_inside_the_vocabulary_are_judged() {
    let c = case()
        .items(&[("A", "apparel", "100.00", 1), ("B", "shoes", "50.00", 1)])
        .returns(&[("A", 1), ("B", 1)])
        .line(0, "condition", json!("used"))
        .set("return.evidence", json!(["photo"]));
    assert_eq!(refused(&c), "accepted");
}

#[test]
fn unknown_is_always_a_condition() {
    // No condition given: rpl says "unknown", which no vocabulary refuses.
    assert_eq!(refused(&case()), "accepted");
    assert_eq!(refused(&case().line(0, "condition", json!("unknown"))), "accepted");
}

#[test]
fn a_word_outside_the_vocabulary_is_an_input_error_at_its_path() {
    assert_eq!(
        refused(&case().reason("chaged_mind")),
        "return.reason: \"chaged_mind\" is not one of this policy's reasons; did you mean \"changed_mind\"?"
    );
    let two = case()
        .items(&[("A", "apparel", "100.00", 1), ("B", "shose", "50.00", 1)])
        .returns(&[("A", 1)]);
    assert_eq!(
        refused(&two),
        "order.items[1].category: \"shose\" is not one of this policy's categories; did you mean \"shoes\"?"
    );
    assert_eq!(
        refused(&case().line(0, "condition", json!("brand_new"))),
        "return.items[0].condition: \"brand_new\" is not one of this policy's conditions; they are \"unused\", \"used\""
    );
    assert_eq!(
        refused(&case().set("return.evidence", json!(["photo", "vidoe"]))),
        "return.evidence[1]: \"vidoe\" is not one of this policy's kinds of evidence; they are \"photo\""
    );
    let mut history = returner().past_return("2026-11-03T00:00:00+08:00", "exchange", "5", "pending");
    history.v["history"]["returns"][2]["reason"] = json!("wrong_itme");
    assert_eq!(
        refused(&history),
        "history.returns[2].reason: \"wrong_itme\" is not one of this policy's reasons; did you mean \"wrong_item\"?"
    );
}

#[test]
fn a_policy_without_vocabularies_takes_any_word() {
    let v = run(
        "rule probe { approve }",
        &case().reason("anything").line(0, "condition", json!("x")),
    );
    assert_eq!(v.decision, "approve");
}
