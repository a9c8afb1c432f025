#![allow(clippy::unwrap_used)]

use super::*;
use crate::data::Scalar;
use serde_json::json;

/// The example case of docs/language.md §4.
const EXAMPLE: &str = r#"{
  "order": {
    "id": "O-1001", "customer_id": "C-42", "currency": "CNY",
    "placed_at": "2026-11-01T10:00:00+08:00",
    "paid_at": "2026-11-01T10:01:00+08:00",
    "shipped_at": "2026-11-02T09:00:00+08:00",
    "delivered_at": "2026-11-03T15:20:00+08:00",
    "shipping_fee": "0.00", "shipping_insurance": true, "tags": ["double11"],
    "items": [
      {"sku": "TEE-1", "category": "apparel",   "unit_price": "199.00", "quantity": 2},
      {"sku": "BRA-7", "category": "underwear", "unit_price": "59.00",  "quantity": 1}
    ]
  },
  "return": {
    "id": "R-77", "requested_at": "2026-11-09T20:00:00+08:00",
    "type": "return_refund", "reason": "changed_mind",
    "items": [{"sku": "TEE-1", "quantity": 1, "condition": "unused"}],
    "evidence": ["photo"]
  },
  "customer": {"id": "C-42", "created_at": "2025-01-01T00:00:00+08:00", "vip": false, "tags": []},
  "history": {
    "orders":  [{"id": "O-900", "placed_at": "2026-10-20T09:00:00+08:00", "total": "120.00"}],
    "returns": [{"id": "R-12", "order_id": "O-900", "requested_at": "2026-10-25T09:00:00+08:00",
                 "type": "refund_only", "reason": "not_received", "amount": "120.00",
                 "status": "refunded"}]
  }
}"#;

fn example() -> Value {
    serde_json::from_str(EXAMPLE).unwrap()
}

/// A JSON value from its text, keeping a number's exact text.
fn raw(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn dec(s: &str) -> Decimal {
    Decimal::from_str_exact(s).unwrap()
}

/// Sets (or with `None` removes) the value at a JSON pointer of the example.
fn edit(v: &mut Value, pointer: &str, new: Option<Value>) {
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    let parent = v.pointer_mut(parent).unwrap();
    match (parent, new) {
        (Value::Object(m), Some(x)) => drop(m.insert(key.into(), x)),
        (Value::Object(m), None) => drop(m.remove(key)),
        (Value::Array(a), Some(x)) => a[key.parse::<usize>().unwrap()] = x,
        _ => panic!("bad pointer {pointer}"),
    }
}

fn parse_with(edits: &[(&str, Option<Value>)]) -> Result<Case, InputError> {
    let mut v = example();
    for (pointer, new) in edits {
        edit(&mut v, pointer, new.clone());
    }
    parse_case_value(&v)
}

#[track_caller]
fn rejects(edits: &[(&str, Option<Value>)], path: &str, message: &str) {
    let e = parse_with(edits).unwrap_err();
    assert_eq!(e.path, path, "{e}");
    assert!(e.message.contains(message), "{e:?} lacks {message:?}");
}

#[track_caller]
fn rejects_one(pointer: &str, new: Value, path: &str, message: &str) {
    rejects(&[(pointer, Some(new))], path, message);
}

#[test]
fn spec_example() {
    let case = parse_case(EXAMPLE).unwrap();
    let o = &case.order;
    assert_eq!(
        (o.id.as_str(), o.customer_id.as_str(), o.currency.as_str()),
        ("O-1001", "C-42", "CNY")
    );
    assert_eq!(o.placed_at.to_rfc3339(), "2026-11-01T02:00:00+00:00");
    assert_eq!(o.delivered_at.unwrap().to_rfc3339(), "2026-11-03T07:20:00+00:00");
    assert_eq!(o.total, dec("457.00"));
    assert_eq!(o.total.to_string(), "457.00");
    assert!(o.shipping_insurance);
    assert_eq!(o.tags, ["double11"]);
    assert_eq!(o.items[1].unit_price.to_string(), "59.00");

    let r = &case.ret;
    assert_eq!((r.kind.as_str(), r.reason.as_str()), ("return_refund", "changed_mind"));
    assert_eq!(r.evidence, ["photo"]);
    assert_eq!(r.amount, dec("199"));
    let line = &r.items[0];
    assert_eq!((line.sku.as_str(), line.category.as_str()), ("TEE-1", "apparel"));
    assert_eq!((line.quantity, line.ordered_quantity), (1, 2));
    assert_eq!((line.unit_price, line.amount), (dec("199"), dec("199")));
    assert_eq!(line.condition, "unused");

    assert_eq!(case.customer.id, "C-42");
    assert!(case.customer.created_at.is_some() && !case.customer.vip);
    assert_eq!(case.history.orders[0].total, dec("120"));
    assert_eq!(case.history.returns[0].status, "refunded");
    assert_eq!(case.history.returns[0].kind, "refund_only");
}

#[test]
fn defaults() {
    let case = parse_with(&[
        ("/order/paid_at", Some(Value::Null)),
        ("/order/shipped_at", None),
        ("/order/shipping_fee", None),
        ("/order/shipping_insurance", None),
        ("/order/tags", None),
        ("/return/items/0/condition", None),
        ("/return/evidence", None),
        ("/customer", None),
        ("/history", None),
    ])
    .unwrap();
    let o = &case.order;
    assert_eq!((o.paid_at, o.shipped_at), (None, None));
    assert_eq!((o.shipping_fee, o.shipping_insurance), (Decimal::ZERO, false));
    assert!(o.tags.is_empty() && o.attrs.is_empty());
    assert_eq!(case.ret.items[0].condition, "unknown");
    assert!(case.ret.evidence.is_empty());
    let c = &case.customer;
    assert_eq!((c.id.as_str(), c.created_at, c.vip), ("C-42", None, false));
    assert_eq!(case.history, History::default());

    let no_id = parse_with(&[("/customer/id", None)]).unwrap();
    assert_eq!(no_id.customer.id, "C-42");
}

#[test]
fn total_given_or_summed_with_shipping() {
    let case = parse_with(&[("/order/shipping_fee", Some(json!(12.5)))]).unwrap();
    assert_eq!(case.order.total, dec("469.50"));
    let case = parse_with(&[("/order/total", Some(raw("400.10")))]).unwrap();
    assert_eq!(case.order.total.to_string(), "400.10");
}

#[test]
fn money_is_exact_text() {
    let case = parse_with(&[
        ("/order/items/0/unit_price", Some(raw("0.1000000000000000000000000000"))),
        ("/order/items/1/unit_price", Some(raw("2.5e1"))),
    ])
    .unwrap();
    assert_eq!(case.order.items[0].unit_price, dec("0.1000000000000000000000000000"));
    assert_eq!(case.order.items[1].unit_price, dec("25"));
    let attrs = parse_with(&[(
        "/return/attrs",
        Some(json!({"weight": raw("0.1000000000000000000000000001")})),
    )]);
    assert_eq!(
        attrs.unwrap().ret.attrs[0].1,
        Scalar::Dec(dec("0.1000000000000000000000000001"))
    );
}

#[test]
fn amounts_are_no_finer_than_the_currency() {
    rejects_one(
        "/order/items/1/unit_price",
        json!("59.005"),
        "order.items[1].unit_price",
        r#""59.005" is finer than the currency allows: CNY amounts have 2 decimal places"#,
    );
    rejects_one(
        "/order/shipping_fee",
        json!(0.001),
        "order.shipping_fee",
        "CNY amounts have 2 decimal places",
    );
    rejects_one("/order/total", json!("1.999"), "order.total", "finer");
    rejects_one(
        "/history/orders/0/total",
        json!("120.001"),
        "history.orders[0].total",
        "finer",
    );
    rejects_one(
        "/history/returns/0/amount",
        json!("1.005"),
        "history.returns[0].amount",
        "finer",
    );
    // Trailing zeros say nothing: 59.000 is a CNY amount.
    assert!(parse_with(&[("/order/items/1/unit_price", Some(json!("59.000")))]).is_ok());
    // Yen have no minor unit; Kuwaiti dinars have three.
    let yen = |price: &str| {
        parse_with(&[
            ("/order/currency", Some(json!("JPY"))),
            ("/order/items/0/unit_price", Some(json!(price))),
            ("/order/items/1/unit_price", Some(json!("59"))),
            ("/history", None),
        ])
    };
    assert!(yen("999").is_ok());
    let e = yen("999.5").unwrap_err();
    assert_eq!(e.path, "order.items[0].unit_price");
    assert!(e.message.contains("JPY has no minor unit: amounts are whole"), "{e}");
    let kwd = parse_with(&[
        ("/order/currency", Some(json!("KWD"))),
        ("/order/items/0/unit_price", Some(json!("1.250"))),
        ("/history", None),
    ]);
    assert!(kwd.is_ok());
}

#[test]
fn joins_tags_and_attrs() {
    let case = parse_with(&[
        ("/order/items/0/tags", Some(json!(["clearance"]))),
        ("/order/items/0/attrs", Some(json!({"size": "L", "final_sale": true}))),
        ("/return/items/0/tags", Some(json!(["worn"]))),
        (
            "/return/items/0/attrs",
            Some(json!({"size": "M", "weight": raw("1.50")})),
        ),
    ])
    .unwrap();
    let line = &case.ret.items[0];
    assert_eq!(line.tags, ["clearance", "worn"]);
    assert_eq!(
        line.attrs,
        [
            ("size".into(), Scalar::Str("M".into())),
            ("weight".into(), Scalar::Dec(dec("1.50"))),
            ("final_sale".into(), Scalar::Bool(true)),
        ]
    );
}

#[test]
fn attr_scalars() {
    let attrs = json!({"n": 7, "big": raw("99999999999999999999"), "d": raw("0.25"), "s": "x", "b": false, "z": null});
    let case = parse_with(&[("/order/attrs", Some(attrs))]).unwrap();
    let get = |k: &str| {
        case.order
            .attrs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(get("n"), Scalar::Int(7));
    assert_eq!(get("big"), Scalar::Dec(dec("99999999999999999999")));
    assert_eq!(get("d"), Scalar::Dec(dec("0.25")));
    assert_eq!(get("s"), Scalar::Str("x".into()));
    assert_eq!(get("b"), Scalar::Bool(false));
    assert_eq!(get("z"), Scalar::Null);
}

#[test]
fn syntax_and_shape() {
    let e = parse_case(r#"{"order": NaN}"#).unwrap_err();
    assert_eq!(e.path, "");
    assert!(e.message.contains("line 1 column"), "{e}");
    let e = parse_case("[1]").unwrap_err();
    assert_eq!(
        (e.path.as_str(), e.message.as_str()),
        ("", "expected an object, found an array")
    );
    rejects(&[("/order", None)], "order", "missing");
    rejects_one("/return", json!("R-1"), "return", r#"expected an object, found "R-1""#);
    rejects_one(
        "/order/items/1",
        json!(3),
        "order.items[1]",
        "expected an object, found 3",
    );
}

#[test]
fn required_fields_and_types() {
    rejects(&[("/order/id", None)], "order.id", "missing");
    rejects_one("/order/id", Value::Null, "order.id", "expected a string, found null");
    rejects(&[("/return/reason", None)], "return.reason", "missing");
    rejects(
        &[("/order/items/1/category", None)],
        "order.items[1].category",
        "missing",
    );
    rejects(
        &[("/history/orders/0/total", None)],
        "history.orders[0].total",
        "missing",
    );
    rejects(
        &[("/history/returns/0/status", None)],
        "history.returns[0].status",
        "missing",
    );
    rejects_one(
        "/order/shipping_insurance",
        json!("yes"),
        "order.shipping_insurance",
        r#"expected a boolean, found "yes""#,
    );
    rejects_one("/customer/vip", json!(1), "customer.vip", "expected a boolean, found 1");
    rejects_one("/order/tags", json!("double11"), "order.tags", "expected an array");
    rejects_one(
        "/return/evidence/0",
        json!(5),
        "return.evidence[0]",
        "expected a string, found 5",
    );
    rejects_one(
        "/customer/tags",
        json!([true]),
        "customer.tags[0]",
        "expected a string, found true",
    );
    rejects_one(
        "/order/items/0/unit_price",
        json!(true),
        "order.items[0].unit_price",
        "expected an amount",
    );
}

#[test]
fn unknown_keys_are_refused_with_the_nearest_name() {
    rejects_one(
        "/order/shiping_insurance",
        json!(true),
        "order.shiping_insurance",
        "unknown field; did you mean shipping_insurance?",
    );
    rejects_one(
        "/order/coupon",
        json!({"any": [1]}),
        "order.coupon",
        "unknown field; free-form values belong in `attrs`",
    );
    rejects_one(
        "/extra",
        json!(1),
        "extra",
        "unknown field; the fields here are order, return, customer, history",
    );
    rejects_one(
        "/history/retruns",
        json!([]),
        "history.retruns",
        "did you mean returns?",
    );
    rejects_one(
        "/order/items/0/colour",
        json!("red"),
        "order.items[0].colour",
        "`attrs`",
    );
    rejects_one(
        "/return/items/0/conditon",
        json!("used"),
        "return.items[0].conditon",
        "did you mean condition?",
    );
    rejects_one("/return/reasons", json!("x"), "return.reasons", "did you mean reason?");
    rejects_one("/customer/vips", json!(true), "customer.vips", "did you mean vip?");
    rejects_one(
        "/history/orders/0/tag",
        json!([]),
        "history.orders[0].tag",
        "did you mean tags?",
    );
    rejects_one(
        "/history/returns/0/statuss",
        json!("x"),
        "history.returns[0].statuss",
        "did you mean status?",
    );
    // Free-form values are welcome where they belong.
    assert!(parse_with(&[("/order/attrs", Some(json!({"coupon": "X1"})))]).is_ok());
}

#[test]
fn closed_value_sets_name_the_nearest_value() {
    rejects_one(
        "/return/type",
        json!("refundonly"),
        "return.type",
        r#""refundonly" is not a return type; did you mean "refund_only"?"#,
    );
    rejects_one(
        "/history/returns/0/status",
        json!("refnded"),
        "history.returns[0].status",
        r#""refnded" is not a return status; did you mean "refunded"?"#,
    );
    rejects_one(
        "/history/returns/0/status",
        json!("done"),
        "history.returns[0].status",
        "(pending, approved, refunded, exchanged, rejected, cancelled)",
    );
    rejects_one(
        "/history/returns/0/type",
        json!("swap"),
        "history.returns[0].type",
        "is not a return type",
    );
}

#[test]
fn the_customer_is_the_orders() {
    rejects_one(
        "/customer/id",
        json!("C-43"),
        "customer.id",
        r#""C-43" is not the order's customer "C-42""#,
    );
}

#[test]
fn times_come_in_the_order_they_happen() {
    rejects_one(
        "/order/paid_at",
        json!("2026-11-01T09:59:00+08:00"),
        "order.paid_at",
        r#""2026-11-01T09:59:00+08:00" is before placed_at 2026-11-01T10:00:00+08:00"#,
    );
    rejects_one(
        "/order/shipped_at",
        json!("2026-10-31T10:00:00Z"),
        "order.shipped_at",
        "is before placed_at",
    );
    // Shown in the offset the input used for the later time.
    rejects_one(
        "/order/delivered_at",
        json!("2026-11-02T00:00:00Z"),
        "order.delivered_at",
        r#""2026-11-02T00:00:00Z" is before shipped_at 2026-11-02T01:00:00Z"#,
    );
    // Cash on delivery ships before it is paid.
    assert!(parse_with(&[("/order/paid_at", Some(json!("2026-11-03T15:20:00+08:00")))]).is_ok());
    rejects_one(
        "/return/requested_at",
        json!("2026-10-31T10:00:00+08:00"),
        "return.requested_at",
        "is before the order's placed_at",
    );
    rejects_one(
        "/return/requested_at",
        json!("2026-11-03T15:00:00+08:00"),
        "return.requested_at",
        r#""2026-11-03T15:00:00+08:00" is before the order's delivered_at 2026-11-03T15:20:00+08:00: a case holds what was known"#,
    );
    // Not yet delivered: a not-received claim in transit is a fine case.
    assert!(
        parse_with(&[
            ("/order/delivered_at", None),
            ("/return/requested_at", Some(json!("2026-11-03T15:00:00+08:00")))
        ])
        .is_ok()
    );
    rejects_one(
        "/customer/created_at",
        json!("2026-11-10T00:00:00+08:00"),
        "customer.created_at",
        "is after the return was requested (2026-11-09T20:00:00+08:00)",
    );
    rejects_one(
        "/history/returns/0/requested_at",
        json!("2026-11-09T20:00:01+08:00"),
        "history.returns[0].requested_at",
        "is after the return being judged (2026-11-09T20:00:00+08:00): history holds what came before it",
    );
    // At the same instant is still history (a backtest's ties).
    assert!(parse_with(&[("/history/orders/0/placed_at", Some(json!("2026-11-09T20:00:00+08:00")))]).is_ok());
}

#[test]
fn times() {
    let p = "/order/placed_at";
    rejects_one(
        p,
        json!("2026-13-01"),
        "order.placed_at",
        r#""2026-13-01" is not an RFC 3339 time with an offset"#,
    );
    rejects_one(
        p,
        json!("2026-11-01T10:00:00"),
        "order.placed_at",
        "has no offset: add `Z` for UTC",
    );
    rejects_one(
        p,
        json!("10000-01-01T00:00:00Z"),
        "order.placed_at",
        "years run from 0000 to 9999",
    );
    rejects_one(
        p,
        json!(1_700_000_000),
        "order.placed_at",
        "expected an RFC 3339 time, found 1700000000",
    );
    rejects_one(
        "/history/returns/0/requested_at",
        json!("yesterday"),
        "history.returns[0].requested_at",
        "\"yesterday\"",
    );
    let case = parse_with(&[(p, Some(json!("2026-11-01T02:00:00Z")))]).unwrap();
    assert_eq!(case.order.placed_at, parse_case(EXAMPLE).unwrap().order.placed_at);
}

#[test]
fn amounts() {
    let price = "/order/items/0/unit_price";
    let path = "order.items[0].unit_price";
    rejects_one(price, json!("-5"), path, r#""-5" is negative"#);
    rejects_one(price, raw("-0.01"), path, "-0.01 is negative");
    rejects_one(price, json!("12,00"), path, r#""12,00" is not a decimal amount"#);
    rejects_one(price, json!("abc"), path, "is not a decimal amount");
    rejects_one(price, json!("NaN"), path, r#""NaN" is not a decimal amount"#);
    rejects_one(price, raw("1e400"), path, "1e+400 does not fit a decimal amount");
    rejects_one(price, json!("79228162514264337593543950336"), path, "does not fit");
    rejects_one(price, json!("0.00000000000000000000000000001"), path, "does not fit");
    rejects_one(
        "/order/shipping_fee",
        json!("-1.00"),
        "order.shipping_fee",
        "is negative",
    );
    rejects_one(
        "/history/returns/0/amount",
        json!("12,00"),
        "history.returns[0].amount",
        "not a decimal",
    );
    assert!(parse_with(&[(price, Some(json!("-0.00")))]).is_ok());
}

#[test]
fn quantities() {
    let q = "/order/items/0/quantity";
    let path = "order.items[0].quantity";
    rejects_one(q, json!(0), path, "0 is not a positive integer");
    rejects_one(q, json!(-1), path, "-1 is not a positive integer");
    rejects_one(q, raw("1.5"), path, "1.5 is not a positive integer");
    rejects_one(q, raw("1e3"), path, "1e+3 is not a positive integer");
    rejects_one(q, json!("2"), path, r#"expected a positive integer, found "2""#);
    rejects_one(
        q,
        raw("99999999999999999999"),
        path,
        "99999999999999999999 is too large",
    );
    rejects_one(
        "/return/items/0/quantity",
        json!(0),
        "return.items[0].quantity",
        "not a positive integer",
    );
}

#[test]
fn order_items() {
    rejects_one("/order/items", json!([]), "order.items", "an order has no items");
    rejects_one(
        "/order/items/1/sku",
        json!("TEE-1"),
        "order.items[1].sku",
        r#""TEE-1" appears twice on the order"#,
    );
    rejects_one(
        "/order/currency",
        json!("cny"),
        "order.currency",
        r#""cny" is not a three-letter uppercase currency code"#,
    );
    rejects_one("/order/currency", json!("YUAN"), "order.currency", "three-letter");
}

#[test]
fn return_items() {
    rejects_one("/return/items", json!([]), "return.items", "a return has no items");
    rejects(&[("/return/items", None)], "return.items", "missing");
    let sku = json!([{"sku": "X-9", "quantity": 1}]);
    rejects_one(
        "/return/items",
        sku,
        "return.items[0].sku",
        r#""X-9" is not on order O-1001"#,
    );
    let twice = json!([{"sku": "TEE-1", "quantity": 1}, {"sku": "TEE-1", "quantity": 1}]);
    rejects_one(
        "/return/items",
        twice,
        "return.items[1].sku",
        r#""TEE-1" appears twice on the return"#,
    );
    rejects_one(
        "/return/items/0/quantity",
        json!(3),
        "return.items[0].quantity",
        "3 exceeds the ordered quantity 2",
    );
    rejects_one(
        "/return/type",
        json!("swap"),
        "return.type",
        r#""swap" is not a return type (return_refund, refund_only, exchange)"#,
    );
}

#[test]
fn attrs_must_be_scalars() {
    rejects_one(
        "/order/attrs",
        json!({"box": {"w": 1}}),
        "order.attrs.box",
        "expected a scalar",
    );
    rejects_one(
        "/customer/attrs",
        json!({"l": [1]}),
        "customer.attrs.l",
        "found an array",
    );
    rejects_one(
        "/order/attrs",
        json!({"weight": raw("1e400")}),
        "order.attrs.weight",
        "1e+400 does not fit a decimal",
    );
    rejects_one(
        "/return/attrs",
        json!([]),
        "return.attrs",
        "expected an object of scalars",
    );
}

#[test]
fn overflow_is_an_error() {
    let max = "79228162514264337593543950335";
    rejects_one(
        "/order/items/0/unit_price",
        json!(max),
        "order.items[0]",
        "the order total overflows",
    );
    let half = "50000000000000000000000000000";
    let case = [
        ("/order/items/0/unit_price", Some(json!(half))),
        ("/order/items/0/quantity", Some(json!(1))),
    ];
    rejects(
        &[
            case[0].clone(),
            case[1].clone(),
            ("/order/items/1/unit_price", Some(json!(half))),
        ],
        "order.items[1]",
        "overflows",
    );
    let fee = [
        case[0].clone(),
        case[1].clone(),
        ("/order/shipping_fee", Some(json!(half))),
    ];
    rejects(&fee, "order.shipping_fee", "the order total overflows");
    // With a given total, the returned line's amount still has to fit.
    rejects(
        &[
            ("/order/total", Some(json!("1"))),
            ("/order/items/0/unit_price", Some(json!(max))),
            ("/return/items/0/quantity", Some(json!(2))),
        ],
        "return.items[0]",
        "overflows",
    );
    let lines = json!([{"sku": "TEE-1", "quantity": 1}, {"sku": "BRA-7", "quantity": 1}]);
    rejects(
        &[
            ("/order/total", Some(json!("1"))),
            ("/order/items/0/unit_price", Some(json!(half))),
            ("/order/items/1/unit_price", Some(json!(half))),
            ("/return/items", Some(lines)),
        ],
        "return.items[1]",
        "the return amount overflows",
    );
}

#[test]
fn pieces_for_event_streams() {
    let v = example();
    let order = parse_order(&v["order"], "order").unwrap();
    assert!(parse_return(&v["return"], "return", &order).is_ok());
    let e = parse_customer(&json!({"vip": true}), "", None).unwrap_err();
    assert_eq!((e.path.as_str(), e.message.as_str()), ("id", "missing"));
    let c = parse_customer(&json!({"id": "C-1", "vip": true}), "", None).unwrap();
    assert!(c.vip);
}

#[test]
fn never_panics_on_odd_values() {
    let odd = [
        json!(null),
        json!(true),
        json!(-0),
        raw("1e-400"),
        raw("-1e400"),
        json!(""),
        json!([]),
        json!({}),
        json!("\u{0}"),
        json!("9".repeat(5000)),
    ];
    let v = example();
    let mut leaves = Vec::new();
    collect_pointers(&v, String::new(), &mut leaves);
    for pointer in &leaves {
        for x in &odd {
            let _ = parse_with(&[(pointer, Some(x.clone()))]);
        }
    }
}

fn collect_pointers(v: &Value, at: String, out: &mut Vec<String>) {
    let children: Vec<(String, &Value)> = match v {
        Value::Object(m) => m.iter().map(|(k, x)| (k.clone(), x)).collect(),
        Value::Array(a) => a.iter().enumerate().map(|(i, x)| (i.to_string(), x)).collect(),
        _ => Vec::new(),
    };
    for (k, x) in children {
        let p = format!("{at}/{k}");
        out.push(p.clone());
        collect_pointers(x, p, out);
    }
}
