//! The shadowed-row lint is never wrong: random shipping tables are checked,
//! and on every case of a grid none of the rows it calls shadowed is the
//! row that decides the payer — also where an earlier row's guard fails.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }

    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const ATOMS: &[&str] = &[
    "return.reason == \"wrong_item\"",
    "return.reason == \"changed_mind\"",
    "return.reason != \"size_fit\"",
    "return.reason in faults",
    "return.reason in [\"wrong_item\"]",
    "return.reason in [\"changed_mind\", \"size_fit\"]",
    "return.reason not in faults",
    "return.amount > 100",
    "return.amount >= 100",
    "return.amount > 200",
    "return.amount <= 150",
    "return.amount == 150",
    "customer.vip",
    "order.shipping_insurance",
    "not customer.vip",
    "true",
    // Fails on a case whose attribute is missing or a string.
    "order.attrs.w > 3",
    "order.attrs.w > 1",
];

fn guard(rng: &mut Rng, depth: usize) -> String {
    if depth > 1 || rng.below(3) == 0 {
        return rng.pick(ATOMS).to_string();
    }
    let op = if rng.below(2) == 0 { "and" } else { "or" };
    format!("({} {op} {})", guard(rng, depth + 1), guard(rng, depth + 1))
}

fn cases() -> Vec<rpl::Case> {
    let mut out = Vec::new();
    for reason in ["changed_mind", "wrong_item", "quality_defect", "size_fit"] {
        for price in ["50.00", "100.00", "150.00", "300.00"] {
            for (vip, insured) in [(false, false), (true, false), (false, true), (true, true)] {
                for w in [json!(null), json!(1), json!(5), json!("x")] {
                    let case = json!({
                        "order": {"id": "O-1", "customer_id": "C-1", "currency": "CNY",
                                  "placed_at": "2026-11-01T10:00:00+08:00", "shipping_insurance": insured,
                                  "attrs": {"w": w},
                                  "items": [{"sku": "A", "category": "x", "unit_price": price, "quantity": 1}]},
                        "return": {"id": "R-1", "requested_at": "2026-11-05T10:00:00+08:00",
                                   "type": "return_refund", "reason": reason, "items": [{"sku": "A", "quantity": 1}]},
                        "customer": {"vip": vip}
                    });
                    out.push(rpl::parse_case(&case.to_string()).unwrap());
                }
            }
        }
    }
    out
}

#[test]
fn a_shadowed_row_never_decides() {
    let cases = cases();
    let mut rng = Rng(0x5EED_1175);
    let mut warned = 0;
    let payers = ["buyer", "merchant", "platform", "insurance", "none"];
    for _ in 0..400 {
        let mut src = String::from(
            "policy \"Lint\" { currency \"CNY\" }\nset faults = [\"wrong_item\", \"quality_defect\"]\nshipping {\n",
        );
        let rows = 2 + rng.below(5);
        let mut starts = Vec::new();
        for _ in 0..rows {
            starts.push(src.len() + 2);
            src.push_str(&format!("  {} when {}\n", rng.pick(&payers), guard(&mut rng, 0)));
        }
        src.push_str("  buyer otherwise\n}\n");
        let Ok(compiled) = rpl::compile(&src) else {
            panic!("a generated table does not check:\n{src}");
        };
        let shadowed: Vec<usize> = compiled
            .warnings
            .iter()
            .filter(|d| d.code == "shadowed-row")
            .filter_map(|d| starts.iter().position(|&s| s == d.span.start as usize))
            .collect();
        warned += shadowed.len();
        for case in &cases {
            let (_, explained) = compiled.program.judge_explained(case).unwrap();
            let Some(row) = explained.shipping else { continue };
            let n: usize = row.name["row ".len()..].split(':').next().unwrap().parse().unwrap();
            assert!(
                !shadowed.contains(&(n - 1)),
                "row {n} was called shadowed, but decided a case:\n{src}"
            );
        }
    }
    assert!(
        warned > 50,
        "only {warned} rows were called shadowed: the generator has drifted"
    );
}
