//! The typed case reader against the reference: on every case it reads, the
//! reference reads the same case; on every other input, the reference
//! answers; and `parse_case` always answers as the reference does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::Value;

use super::parse;
use crate::data::{Case, InputError, parse_case, parse_case_value, parse_json};
use crate::support::rng::Rng;

fn reference(text: &str) -> Result<Case, InputError> {
    parse_json(text).and_then(|v| parse_case_value(&v))
}

/// Checks one text; says whether the fast path read it.
fn same(text: &str) -> bool {
    let want = reference(text);
    assert_eq!(
        parse_case(text),
        want,
        "parse_case differs from the reference on {text}"
    );
    let Some(fast) = parse(text) else {
        return false;
    };
    match want {
        Ok(case) => assert_eq!(fast, case, "{text}"),
        Err(e) => panic!("the fast path read a case the reference refuses ({e}): {text}"),
    }
    true
}

/// Every case in the repository: the examples, the test inputs, the suites' snapshots' cases.
fn repository_cases() -> Vec<String> {
    fn walk(dir: &std::path::Path, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "json" || e == "jsonl") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let is_case = |v: &Value| v.get("order").is_some() || v.get("return").is_some();
                match serde_json::from_str::<Value>(&text) {
                    Ok(v) if is_case(&v) => {
                        out.push(text.clone());
                        // The same case on one line, as JSON Lines carry it.
                        out.push(v.to_string());
                    }
                    _ => out.extend(
                        text.lines()
                            .filter(|l| serde_json::from_str::<Value>(l).is_ok_and(|v| is_case(&v)))
                            .map(str::to_owned),
                    ),
                }
            }
        }
    }
    let mut out = Vec::new();
    for dir in ["examples", "tests", "policies"] {
        walk(std::path::Path::new(dir), &mut out);
    }
    out
}

#[test]
fn every_case_of_the_repository() {
    let cases = repository_cases();
    assert!(cases.len() > 100, "only {} cases found", cases.len());
    let fast = cases.iter().filter(|c| same(c)).count();
    // Pretty-printed files start with `{` too; only the life's parts go to the reference.
    assert!(
        fast * 2 > cases.len(),
        "the fast path read only {fast} of {} cases",
        cases.len()
    );
}

/// The keys a mutation sets: every key of the case's objects (the
/// contract's own lists), and some of none.
fn keys() -> Vec<&'static str> {
    use crate::data::contract::*;
    let mut keys: Vec<&str> = [
        CASE_KEYS,
        ORDER_KEYS,
        ORDER_ITEM_KEYS,
        RETURN_KEYS,
        RETURN_LINE_KEYS,
        CUSTOMER_KEYS,
        HISTORY_KEYS,
        PAST_ORDER_KEYS,
        PAST_RETURN_KEYS,
        RESTRICTION_KEYS,
    ]
    .concat();
    keys.extend(["event", "other", "\u{0}"]);
    keys
}

const VALUES: &[&str] = &[
    "null",
    "true",
    "false",
    "\"x\"",
    "\"\"",
    "0",
    "-1",
    "1",
    "3",
    "2.0",
    "1e2",
    "1e400",
    "99999999999999999999",
    "\"2026-10-01T00:00:00+08:00\"",
    "\"2026-11-20T00:00:00Z\"",
    "\"2027-01-01T00:00:00-05:00\"",
    "\"2020-01-01T00:00:00+08:00\"",
    "\"2026-10-01T00:00:00\"",
    "\"12.50\"",
    "\"12.505\"",
    "\"-1.00\"",
    "12.5",
    "[]",
    "{}",
    "[\"a\"]",
    "[null]",
    "{\"k\":1}",
    "{\"k\":[1]}",
    "\"CNY\"",
    "\"JPY\"",
    "\"cny\"",
    "\"refund_only\"",
    "\"return_refund\"",
    "\"refunded\"",
    "\"refnded\"",
    "\"changed_mind\"",
    "[{\"sku\":\"A\",\"quantity\":1}]",
    "[{\"at\":\"2026-11-20T00:00:00Z\",\"decision\":\"approve\"}]",
    "[{\"kind\":\"refund_only\",\"until\":\"2027-01-01T00:00:00Z\"}]",
    "[{\"kind\":\"orders\",\"since\":\"2026-01-01T00:00:00Z\",\"until\":\"2026-06-01T00:00:00+08:00\",\"because\":\"abuse\"}]",
    "[{\"kind\":\"manual_review\",\"since\":\"2027-01-01T00:00:00Z\",\"until\":\"2026-01-01T00:00:00Z\"}]",
    "[{\"kind\":\"refund_only\",\"since\":\"2030-01-01T00:00:00Z\",\"until\":\"2031-01-01T00:00:00Z\"}]",
    "[{\"kind\":\"refund_onl\",\"until\":\"2027-01-01T00:00:00Z\"}]",
    "\"no_reason_returns\"",
    "{\"at\":\"2026-11-20T00:00:00Z\",\"quantity_received\":1}",
    "[{\"id\":\"H\",\"placed_at\":\"2026-01-01T00:00:00Z\",\"total\":\"1.00\"}]",
];

/// The objects of a case, as JSON pointers: where a mutation may land.
fn objects(v: &Value, at: String, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            out.push(at.clone());
            for (k, x) in map {
                objects(x, format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                objects(x, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// A random change to one object of the case: a key set, removed, or given
/// twice; or the text cut short or a key escaped.
fn mutate(rng: &mut Rng, text: &str) -> String {
    let Ok(mut v) = serde_json::from_str::<Value>(text) else {
        return text.to_string();
    };
    let value = serde_json::from_str::<Value>(VALUES[rng.index(VALUES.len())]).unwrap();
    let keys = keys();
    let key = keys[rng.index(keys.len())].to_string();
    let mut at = Vec::new();
    objects(&v, String::new(), &mut at);
    let pointer = at[rng.index(at.len())].clone();
    match rng.index(7) {
        0 => {
            if let Some(o) = v.pointer_mut(&pointer).and_then(Value::as_object_mut) {
                o.remove(&key);
            }
        }
        1 => {
            // The key again, in the text: serde_json's map would merge it.
            let text = v.to_string();
            let at = text.match_indices('{').map(|(i, _)| i).collect::<Vec<_>>();
            let i = at[rng.index(at.len())] + 1;
            return format!("{}\"{key}\":{value},{}", &text[..i], &text[i..]);
        }
        2 => {
            let text = v.to_string();
            let cut = rng.index(text.len());
            return text.get(..cut).unwrap_or_default().to_string();
        }
        3 => {
            // A key spelled with an escape.
            let text = v.to_string();
            return text.replacen("\"sku\"", "\"\\u0073ku\"", 1);
        }
        4 => {
            // An existing key's value replaced.
            if let Some(o) = v.pointer_mut(&pointer).and_then(Value::as_object_mut) {
                let keys: Vec<String> = o.keys().cloned().collect();
                if !keys.is_empty() {
                    o.insert(keys[rng.index(keys.len())].clone(), value);
                }
            }
        }
        _ => {
            if let Some(o) = v.pointer_mut(&pointer).and_then(Value::as_object_mut) {
                o.insert(key, value);
            }
        }
    }
    v.to_string()
}

#[test]
fn mutated_cases() {
    let cases: Vec<String> = repository_cases().into_iter().filter(|c| !c.contains('\n')).collect();
    let mut rng = Rng::new(0x2545_F491_4F6C_DD1D, 0);
    let (mut fast, mut other) = (0, 0);
    for _ in 0..20_000 {
        let pick = rng.index(cases.len());
        let text = mutate(&mut rng, &cases[pick]);
        let text = if rng.index(3) == 0 {
            mutate(&mut rng, &text)
        } else {
            text
        };
        if same(&text) {
            fast += 1;
        } else {
            other += 1;
        }
    }
    assert!(fast > 2_000 && other > 2_000, "fast {fast}, other {other}");
}

/// A customer's restrictions, each way the contract holds them: the fast
/// path reads the ones the reference reads, the same, and leaves the rest.
#[test]
fn restrictions() {
    let case = |restrictions: &str| {
        format!(
            r#"{{"order":{{"id":"O-1","customer_id":"C-1","currency":"CNY","placed_at":"2026-11-01T10:00:00+08:00","delivered_at":"2026-11-03T15:20:00+08:00","items":[{{"sku":"A","category":"apparel","unit_price":"100.00","quantity":1}}]}},"return":{{"id":"R-1","requested_at":"2026-11-10T09:00:00+08:00","type":"refund_only","reason":"changed_mind","items":[{{"sku":"A","quantity":1}}]}},"customer":{{"id":"C-1","restrictions":{restrictions}}}}}"#
        )
    };
    let read = [
        "[]",
        "null",
        r#"[{"kind":"refund_only","until":"2026-12-01T00:00:00Z"}]"#,
        r#"[{"kind":"orders","since":"2026-11-01T00:00:00+08:00","until":"2026-11-05T00:00:00Z","because":"abuse"}]"#,
        r#"[{"kind":"manual_review","since":null,"until":"2027-01-01T00:00:00Z","because":null},{"kind":"no_reason_returns","until":"2026-11-10T09:00:00+08:00"}]"#,
        r#"[{"kind":"refund_only","since":"2026-11-10T08:59:59+08:00","until":"2026-11-10T08:59:59+08:00"}]"#,
    ];
    for r in read {
        assert!(same(&case(r)), "the fast path left {r}");
    }
    let left = [
        // Set at the request or after it: not known then.
        r#"[{"kind":"refund_only","since":"2026-11-10T09:00:00+08:00","until":"2027-01-01T00:00:00Z"}]"#,
        r#"[{"kind":"refund_only","since":"2030-01-01T00:00:00Z","until":"2031-01-01T00:00:00Z"}]"#,
        // Ending before it began.
        r#"[{"kind":"refund_only","since":"2026-11-02T00:00:00Z","until":"2026-11-01T00:00:00Z"}]"#,
        r#"[{"kind":"refund_onl","until":"2027-01-01T00:00:00Z"}]"#,
        r#"[{"kind":"refund_only"}]"#,
        r#"[{"until":"2027-01-01T00:00:00Z"}]"#,
        r#"[{"kind":"refund_only","until":"2027-01-01T00:00:00Z","because":1}]"#,
        r#"[{"kind":"refund_only","until":"2027-01-01T00:00:00Z","other":1}]"#,
        r#"[{"kind":"refund_only","until":"soon"}]"#,
        r#"["refund_only"]"#,
        r#"{"kind":"refund_only"}"#,
    ];
    for r in left {
        assert!(!same(&case(r)), "the fast path read {r}");
        assert!(reference(&case(r)).is_err(), "{r}");
    }
    let many = format!(
        "[{}]",
        vec![r#"{"kind":"orders","until":"2027-01-01T00:00:00Z"}"#; crate::limits::MAX_HISTORY + 1].join(",")
    );
    assert!(!same(&case(&many)));
}
