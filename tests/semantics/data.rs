//! docs/language.md §4: what a policy reads — joins and defaults.

use serde_json::json;

use crate::support::*;

#[test]
fn an_item_is_the_returned_line_joined_with_its_order_line() {
    let c = case()
        .items(&[("A", "apparel", "10.50", 3), ("B", "shoes", "7", 1)])
        .returns(&[("A", 2)]);
    for cond in [
        "item.sku == \"A\"",
        "item.category == \"apparel\"",
        "item.unit_price == 10.50",
        "item.quantity == 2",
        "item.ordered_quantity == 3",
        "item.amount == 21",
    ] {
        assert!(holds_on(cond, &c), "{cond}");
    }
    let v = run("rule a { approve }", &c);
    assert_eq!(v.refund, "21.00");
}

#[test]
fn the_return_amount_is_the_sum_of_its_lines() {
    let c = case()
        .items(&[("A", "apparel", "10.50", 3), ("B", "shoes", "7.25", 2)])
        .returns(&[("A", 2), ("B", 1)]);
    assert!(holds_on("return.amount == 28.25", &c));
    assert!(holds_on("return.item_count == 2", &c));
    assert!(holds_on(
        "return.id == \"R-1\" and return.type == \"return_refund\"",
        &c
    ));
}

#[test]
fn the_condition_defaults_to_unknown() {
    assert!(holds("item.condition == \"unknown\""));
    let c = case().line(0, "condition", json!("unopened"));
    assert!(holds_on("item.condition == \"unopened\"", &c));
}

#[test]
fn order_defaults() {
    // total = the items (all ordered quantities) + shipping_fee.
    let c = case()
        .items(&[("A", "apparel", "10.50", 3), ("B", "shoes", "7", 1)])
        .returns(&[("A", 1)])
        .set("order.shipping_fee", json!("5.00"));
    assert!(holds_on("order.total == 43.50", &c));
    assert!(holds_on("order.shipping_fee == 5", &c));
    let c = c.set("order.total", json!("40.00"));
    assert!(holds_on("order.total == 40", &c));
    assert!(holds(
        "order.total == 100 and order.shipping_fee == 0 \
         and order.shipping_insurance == false and len(order.tags) == 0"
    ));
}

#[test]
fn customer_defaults() {
    assert!(holds(
        "customer.id == \"C-1\" and customer.vip == false \
         and customer.created_at is missing and len(customer.tags) == 0"
    ));
    let c = case().set("customer", json!({"vip": true}));
    assert!(holds_on("customer.id == \"C-1\" and customer.vip", &c));
    let c = case().set("customer", json!({"id": "C-1", "created_at": "2025-01-01T00:00:00Z"}));
    assert!(holds_on(
        "customer.id == order.customer_id and customer.created_at is present",
        &c
    ));
}

#[test]
fn now_is_the_time_of_the_request() {
    let c = case().requested("2026-11-12T08:30:00-05:00");
    assert!(holds_on(
        "now == return.requested_at and now == time(\"2026-11-12T13:30:00Z\")",
        &c
    ));
}

#[test]
fn item_tags_are_the_order_lines_then_the_return_lines() {
    let c = case()
        .order_line(0, "tags", json!(["final_sale"]))
        .line(0, "tags", json!(["gift"]));
    assert!(holds_on(
        "\"final_sale\" in item.tags and \"gift\" in item.tags and len(item.tags) == 2",
        &c
    ));
}

#[test]
fn item_attrs_prefer_the_return_line() {
    let c = case()
        .order_line(0, "attrs", json!({"serial": "ORDER", "color": "red"}))
        .line(0, "attrs", json!({"serial": "RETURN"}));
    assert!(holds_on(
        "item.attrs.serial is present and item.attrs.serial == \"RETURN\" \
         and item.attrs.color is present and item.attrs.color == \"red\"",
        &c
    ));
}

#[test]
fn money_may_be_a_json_number_read_exactly() {
    let mut c = case();
    c.v["order"]["items"][0]["unit_price"] = serde_json::from_str("19.90").unwrap();
    c.v["order"]["items"][0]["quantity"] = json!(3);
    assert!(holds_on("item.unit_price == 19.9 and order.total == 59.70", &c));
}

#[test]
fn a_case_in_another_currency_is_an_input_error() {
    let program = compile(&format!("{HEAD}\nrule a {{ approve }}"));
    let err = program
        .judge(&case().currency("JPY").parse())
        .expect_err("JPY against a CNY policy");
    assert_eq!(err.path, "order.currency");
    assert!(err.message.contains("JPY") && err.message.contains("CNY"), "{err}");
    assert!(program.judge_explained(&case().currency("USD").parse()).is_err());
    assert!(program.judge(&case().parse()).is_ok());
}
