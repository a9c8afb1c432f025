//! Shared helpers: a compact case builder and one-line policy probes.

use rpl::{Program, Verdict};
use serde_json::{Value, json};

/// A policy header: CNY, Asia/Shanghai, and a `default deny` so that a probe
/// rule that does not fire is told apart from one that does.
pub const HEAD: &str = r#"policy "Test" { currency "CNY" timezone "Asia/Shanghai" default deny "no rule fired" }"#;

/// Builds case JSON from a few parameters; everything else has a default:
/// order `O-1` in CNY, placed 1 Nov, delivered 3 Nov 15:20, one item `A`
/// (apparel, 100.00, quantity 1), returned in full on 9 Nov 20:00 (+08:00)
/// for `changed_mind`, no customer profile, no history.
#[derive(Clone)]
pub struct CaseB {
    pub v: Value,
}

pub fn case() -> CaseB {
    CaseB {
        v: json!({
            "order": {
                "id": "O-1", "customer_id": "C-1", "currency": "CNY",
                "placed_at": "2026-11-01T10:00:00+08:00",
                "delivered_at": "2026-11-03T15:20:00+08:00",
                "items": [{"sku": "A", "category": "apparel", "unit_price": "100.00", "quantity": 1}]
            },
            "return": {
                "id": "R-1", "requested_at": "2026-11-09T20:00:00+08:00",
                "type": "return_refund", "reason": "changed_mind",
                "items": [{"sku": "A", "quantity": 1}]
            },
            "history": {"orders": [], "returns": []}
        }),
    }
}

impl CaseB {
    /// Sets `value` at a dotted path (`order.shipping_fee`, `customer.vip`).
    pub fn set(mut self, path: &str, value: Value) -> Self {
        let mut at = &mut self.v;
        let parts: Vec<&str> = path.split('.').collect();
        for part in &parts[..parts.len() - 1] {
            at = at
                .as_object_mut()
                .unwrap()
                .entry(part.to_string())
                .or_insert_with(|| json!({}));
        }
        at.as_object_mut()
            .unwrap()
            .insert(parts[parts.len() - 1].to_string(), value);
        self
    }

    /// Removes the field at a dotted path.
    pub fn unset(mut self, path: &str) -> Self {
        let (parent, key) = path.rsplit_once('.').unwrap();
        let mut at = &mut self.v;
        for part in parent.split('.') {
            at = at.get_mut(part).unwrap();
        }
        at.as_object_mut().unwrap().remove(key);
        self
    }

    pub fn currency(self, c: &str) -> Self {
        self.set("order.currency", json!(c))
    }

    pub fn delivered(self, t: &str) -> Self {
        self.set("order.delivered_at", json!(t))
    }

    pub fn undelivered(self) -> Self {
        self.unset("order.delivered_at")
    }

    pub fn requested(self, t: &str) -> Self {
        self.set("return.requested_at", json!(t))
    }

    pub fn reason(self, r: &str) -> Self {
        self.set("return.reason", json!(r))
    }

    pub fn kind(self, t: &str) -> Self {
        self.set("return.type", json!(t))
    }

    /// The order's lines: `(sku, category, unit_price, ordered quantity)`.
    pub fn items(self, items: &[(&str, &str, &str, i64)]) -> Self {
        let items: Vec<Value> = items
            .iter()
            .map(|(sku, cat, price, qty)| json!({"sku": sku, "category": cat, "unit_price": price, "quantity": qty}))
            .collect();
        self.set("order.items", Value::Array(items))
    }

    /// The returned lines: `(sku, returned quantity)`.
    pub fn returns(self, lines: &[(&str, i64)]) -> Self {
        let lines: Vec<Value> = lines
            .iter()
            .map(|(sku, qty)| json!({"sku": sku, "quantity": qty}))
            .collect();
        self.set("return.items", Value::Array(lines))
    }

    /// Sets a field on the `i`-th returned line (`condition`, `tags`, `attrs`).
    pub fn line(mut self, i: usize, key: &str, value: Value) -> Self {
        self.v["return"]["items"][i]
            .as_object_mut()
            .unwrap()
            .insert(key.into(), value);
        self
    }

    /// Sets a field on the `i`-th order line.
    pub fn order_line(mut self, i: usize, key: &str, value: Value) -> Self {
        self.v["order"]["items"][i]
            .as_object_mut()
            .unwrap()
            .insert(key.into(), value);
        self
    }

    /// A past return: requested at `at`, of `type`, for `amount`, with `status`.
    pub fn past_return(mut self, at: &str, kind: &str, amount: &str, status: &str) -> Self {
        let list = self.v["history"]["returns"].as_array_mut().unwrap();
        let id = format!("PR-{}", list.len() + 1);
        list.push(json!({
            "id": id, "order_id": "O-0", "requested_at": at, "type": kind,
            "reason": "changed_mind", "amount": amount, "status": status
        }));
        self
    }

    /// A past order placed at `at` for `total`.
    pub fn past_order(mut self, at: &str, total: &str) -> Self {
        let list = self.v["history"]["orders"].as_array_mut().unwrap();
        let id = format!("PO-{}", list.len() + 1);
        list.push(json!({"id": id, "placed_at": at, "total": total}));
        self
    }

    pub fn json(&self) -> String {
        self.v.to_string()
    }

    pub fn parse(&self) -> rpl::Case {
        rpl::parse_case(&self.json()).unwrap_or_else(|e| panic!("invalid case: {e}"))
    }
}

pub fn compile(src: &str) -> Program {
    match rpl::compile(src) {
        Ok(c) => c.program,
        Err(diags) => panic!("policy does not compile: {diags:#?}\n{src}"),
    }
}

/// Judges `c` against `src`, by the compiled code and by the tree walk it
/// must agree with.
pub fn judge(src: &str, c: &CaseB) -> Verdict {
    let program = compile(src);
    let case = c.parse();
    let verdict = program.judge(&case).unwrap_or_else(|e| panic!("input error: {e}"));
    let reference = program
        .judge_reference(&case)
        .unwrap_or_else(|e| panic!("input error: {e}"));
    assert_eq!(verdict, reference, "compiled code and tree walk disagree on\n{src}");
    verdict
}

/// Judges `c` against [`HEAD`] followed by `items`.
pub fn run(items: &str, c: &CaseB) -> Verdict {
    judge(&format!("{HEAD}\n{items}"), c)
}

/// Whether `cond` holds on `c`, with no evaluation error.
pub fn holds_on(cond: &str, c: &CaseB) -> bool {
    let v = run(&format!("rule probe {{ when {cond} approve }}"), c);
    assert!(v.errors.is_empty(), "`{cond}` failed: {:#?}", v.errors);
    match v.lines[0].decision.as_ref() {
        "approve" => true,
        "deny" => false,
        other => panic!("`{cond}` decided {other}"),
    }
}

/// Whether `cond` holds on the default case.
pub fn holds(cond: &str) -> bool {
    holds_on(cond, &case())
}

/// Asserts every condition holds on the default case.
pub fn all_hold(conds: &[&str]) {
    for cond in conds {
        assert!(holds(cond), "expected `{cond}` to hold");
    }
}

/// Judges a probe rule whose `when` is `cond` and expects it to fail: the
/// error is listed and the line goes to review. Returns the verdict.
pub fn fails_on(cond: &str, c: &CaseB) -> Verdict {
    let v = run(&format!("rule probe {{ when {cond} approve }}"), c);
    assert_eq!(v.errors.len(), 1, "`{cond}`: {:#?}", v.errors);
    assert_eq!(v.errors[0].construct, "rule probe");
    assert_eq!(v.lines[0].decision, "review", "`{cond}`");
    v
}

/// The decisions of the lines, in order.
pub fn decisions(v: &Verdict) -> Vec<&str> {
    v.lines.iter().map(|l| l.decision.as_ref()).collect()
}

/// The names of the rules that fired on line `i`, in order.
pub fn fired(v: &Verdict, i: usize) -> Vec<&str> {
    v.lines[i].rules.iter().map(|r| r.rule.as_str()).collect()
}
