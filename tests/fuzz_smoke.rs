//! A smoke fuzz that runs in every `cargo test`: random token soups, mutated
//! shipped policies and mutated cases go through the whole pipeline. Any panic
//! fails the test; every outcome must be a value or a located error.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

/// xorshift64*: deterministic, so a failure reproduces from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const TOKENS: &[&str] = &[
    "policy",
    "\"P\"",
    "{",
    "}",
    "currency",
    "\"CNY\"",
    "timezone",
    "\"Asia/Shanghai\"",
    "default",
    "set",
    "let",
    "flag",
    "rule",
    "shipping",
    "refund",
    "when",
    "unless",
    "otherwise",
    "approve",
    "deny",
    "review",
    "deduct",
    "as",
    "score",
    "note",
    "and",
    "or",
    "not",
    "in",
    "is",
    "missing",
    "present",
    "if",
    "then",
    "else",
    "of",
    "last",
    "where",
    "true",
    "false",
    "=",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "(",
    ")",
    "[",
    "]",
    ",",
    "x",
    "y",
    "d",
    "order.delivered_at",
    "item.amount",
    "item.category",
    "return.reason",
    "customer.vip",
    "item.attrs.serial",
    "order.attrs.w",
    "risk",
    "now",
    "count(returns in last 30 days)",
    "sum(returns.amount in last 9 days)",
    "count(orders where total > 1)",
    "days_since(",
    "hours_since(",
    "ratio(",
    "round(",
    "min(",
    "max(",
    "lower(",
    "len(",
    "abs(",
    "time(\"2026-11-11T00:00:00+08:00\")",
    "date(\"2026-11-11\")",
    "0",
    "7",
    "15%",
    "199.00",
    "9223372036854775807",
    "79228162514264337593543950335",
    "7 days",
    "48 hours",
    "\"a\"",
    "\"超\"",
    "buyer",
    "merchant",
    "none",
    "values",
    "values return.reason = [\"changed_mind\"]\n",
    "flag hot { score 5 }\n",
    "hot",
    "# c\n",
    "\n",
    "\r\n",
    "\u{FEFF}",
    "\"\\u{1F600}\"",
];

fn cases() -> Vec<String> {
    let mut out = Vec::new();
    for dir in ["marketplace", "fashion", "electronics", "risk"] {
        let Ok(entries) = std::fs::read_dir(Path::new("examples").join(dir)) else {
            continue;
        };
        let mut paths: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        paths.sort();
        out.extend(paths.iter().filter_map(|p| std::fs::read_to_string(p).ok()));
    }
    out
}

fn policies() -> Vec<String> {
    let mut paths: Vec<_> = std::fs::read_dir("policies")
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rpl"))
        .collect();
    paths.sort();
    paths.iter().map(|p| std::fs::read_to_string(p).unwrap()).collect()
}

/// The decision-only path agrees with the verdict on everything it reports.
fn same_decision(program: &rpl::Program, case: &rpl::Case, v: &rpl::Verdict) {
    let mut scratch = rpl::Scratch::default();
    // Twice on one scratch: what the first call leaves behind must not leak.
    for _ in 0..2 {
        let d = program.decide(case, &mut scratch).unwrap();
        assert_eq!(d.decision.as_str(), v.decision);
        assert_eq!(program_money(program, d.refund), v.refund);
        assert_eq!(d.shipping.as_str(), v.shipping);
        assert_eq!(d.risk, v.risk);
        let names: Vec<&str> = program.flag_names().collect();
        let fired: Vec<String> = (0..names.len().min(64))
            .filter(|i| d.flags & (1 << i) != 0)
            .map(|i| names[i].to_string())
            .collect();
        let listed: Vec<String> = v
            .flags
            .iter()
            .map(|f| f.name.clone())
            .filter(|n| names.iter().position(|x| x == n).is_some_and(|i| i < 64))
            .collect();
        assert_eq!(fired, listed);
    }
}

/// The compiled code agrees with the tree walk: the same verdict (or the
/// same input error), after the same number of evaluation steps.
fn same_as_reference(program: &rpl::Program, case: &rpl::Case) {
    let before = rpl::internals::steps();
    let compiled = program.judge(case);
    let middle = rpl::internals::steps();
    let reference = program.judge_reference(case);
    let after = rpl::internals::steps();
    assert_eq!(
        format!("{compiled:?}"),
        format!("{reference:?}"),
        "compiled code and tree walk disagree on\n{}",
        program.source()
    );
    assert_eq!(middle - before, after - middle, "steps differ on\n{}", program.source());
}

fn program_money(program: &rpl::Program, d: rust_decimal::Decimal) -> String {
    format!("{:.*}", program.minor_units() as usize, d)
}

/// Compiles, and when that works, judges every case (with and without
/// explaining). Returns whether the source compiled.
fn run(source: &str, cases: &[rpl::Case]) -> bool {
    let Ok(compiled) = rpl::compile(source) else {
        return false;
    };
    {
        for case in cases {
            same_as_reference(&compiled.program, case);
            if let Ok(v) = compiled.program.judge(case) {
                serde_json::to_string(&v).unwrap();
                same_decision(&compiled.program, case, &v);
            }
            if let Ok((v, e)) = compiled.program.judge_explained(case) {
                rpl::render_explanation(&v, &e);
            }
        }
    }
    true
}

#[test]
fn token_soups_never_panic() {
    let cases: Vec<rpl::Case> = cases().iter().filter_map(|c| rpl::parse_case(c).ok()).collect();
    let mut rng = Rng(0x5EED_0001);
    let header = "policy \"Fuzz\" { currency \"CNY\" timezone \"Asia/Shanghai\" }\n";
    for _ in 0..3000 {
        let n = 1 + rng.below(30);
        let mut src = String::from(if rng.below(2) == 0 { header } else { "" });
        for _ in 0..n {
            src.push_str(rng.pick(TOKENS));
            src.push(' ');
        }
        run(&src, &cases);
    }
}

#[test]
fn well_formed_random_rules_never_panic() {
    let cases: Vec<rpl::Case> = cases().iter().filter_map(|c| rpl::parse_case(c).ok()).collect();
    let mut rng = Rng(0x5EED_0002);
    let atoms = [
        "item.amount",
        "order.total",
        "return.amount",
        "risk",
        "count(returns in last 30 days)",
        "7",
        "0",
        "15%",
        "199.00",
        "order.attrs.w",
        "item.attrs.serial",
        "days_since(order.delivered_at)",
        "hours_since(now)",
        "sum(returns.amount in last 90 days)",
        "ratio(item.amount, order.total)",
        "-3",
        "79228162514264337593543950335",
    ];
    let ops = ["+", "-", "*", "/", "of"];
    let mut compiled = 0;
    let cmps = ["==", "!=", "<", "<=", ">", ">="];
    for _ in 0..1500 {
        let mut src = String::from("policy \"Fuzz\" { currency \"CNY\" timezone \"+08:00\" }\n");
        // Flags the rules may name: whether one fired is a condition.
        src.push_str("flag hot { when count(returns in last 30 days) >= 1 score 10 }\n");
        src.push_str("flag cold { when order.attrs.w > 3 score 1 }\n");
        for r in 0..(1 + rng.below(4)) {
            let mut e = rng.pick(&atoms).to_string();
            for _ in 0..rng.below(4) {
                e = format!("({e} {} {})", rng.pick(&ops), rng.pick(&atoms));
            }
            let mut cond = format!("{e} {} {}", rng.pick(&cmps), rng.pick(&atoms));
            match rng.below(4) {
                0 => cond = format!("{cond} and hot"),
                1 => cond = format!("not cold or {cond}"),
                _ => {}
            }
            let effect = match rng.below(4) {
                0 => "approve".to_string(),
                1 => "deny \"no\"".to_string(),
                2 => "review \"look\"".to_string(),
                _ => format!("deduct {e} as \"fee\""),
            };
            src.push_str(&format!("rule r{r} {{ when {cond} {effect} }}\n"));
        }
        if rng.below(2) == 0 {
            src.push_str(&format!(
                "refund {{ {} when risk > 3 item.amount otherwise }}\n",
                rng.pick(&atoms)
            ));
        }
        if rng.below(2) == 0 {
            src.push_str(
                "shipping { none when hot and return.type == \"refund_only\" platform when cold buyer otherwise }\n",
            );
        }
        compiled += usize::from(run(&src, &cases));
    }
    assert!(
        compiled > 500,
        "only {compiled} of 1500 generated policies compiled: the generator has drifted"
    );
}

#[test]
fn mutated_policies_never_panic() {
    let cases: Vec<rpl::Case> = cases().iter().filter_map(|c| rpl::parse_case(c).ok()).collect();
    let mut rng = Rng(0x5EED_0003);
    for policy in policies() {
        let chars: Vec<char> = policy.chars().collect();
        for _ in 0..150 {
            let mut m = chars.clone();
            for _ in 0..(1 + rng.below(4)) {
                let at = rng.below(m.len().max(1));
                match rng.below(4) {
                    0 if !m.is_empty() => {
                        m.remove(at.min(m.len() - 1));
                    }
                    1 => m.insert(
                        at.min(m.len()),
                        ['(', '"', '}', '#', 'x', '9', '.', '\n', 'é'][rng.below(9)],
                    ),
                    2 if m.len() > 1 => {
                        let (a, b) = (at.min(m.len() - 1), rng.below(m.len()));
                        m.swap(a, b);
                    }
                    _ => m.truncate(at),
                }
            }
            run(&m.iter().collect::<String>(), &cases);
        }
    }
}

#[test]
fn mutated_cases_never_panic() {
    let compiled: Vec<rpl::Compiled> = policies().iter().map(|p| rpl::compile(p).unwrap()).collect();
    let mut rng = Rng(0x5EED_0004);
    let values = [
        "null",
        "0",
        "-1",
        "1.5",
        "1e400",
        "\"\"",
        "\"x\"",
        "[]",
        "{}",
        "true",
        "99999999999999999999999999999",
        "\"2026-13-40T99:00:00Z\"",
        "\"2026-11-10T20:00:00\"",
        "\"-0.00\"",
        "[1]",
    ];
    for case in cases() {
        for _ in 0..40 {
            let mut text = case.clone();
            // Replace the value after a random `": ` with a hostile one.
            let spots: Vec<usize> = text.match_indices("\": ").map(|(i, _)| i + 3).collect();
            if spots.is_empty() {
                continue;
            }
            let at = spots[rng.below(spots.len())];
            let end = text[at..].find([',', '}', '\n']).map_or(text.len(), |i| at + i);
            text.replace_range(at..end, rng.pick(&values));
            if let Ok(case) = rpl::parse_case(&text) {
                for c in &compiled {
                    same_as_reference(&c.program, &case);
                }
            }
        }
    }
}

#[test]
fn mutated_case_text_never_panics() {
    let compiled: Vec<rpl::Compiled> = policies().iter().map(|p| rpl::compile(p).unwrap()).collect();
    let mut rng = Rng(0x5EED_0005);
    let bits = [
        "[",
        "{",
        "]",
        "}",
        "\"",
        "\\",
        ",",
        ":",
        "\u{FEFF}",
        "é",
        "0",
        "e9",
        "\"sku\": \"A\", ",
    ];
    for case in cases() {
        for _ in 0..30 {
            let mut text = case.clone();
            for _ in 0..(1 + rng.below(3)) {
                let mut at = rng.below(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if rng.below(3) == 0 && at < text.len() {
                    let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                    text.replace_range(at..end, "");
                } else {
                    text.insert_str(at, rng.pick(&bits));
                }
            }
            if let Ok(case) = rpl::parse_case(&text) {
                for c in &compiled {
                    same_as_reference(&c.program, &case);
                }
            }
        }
    }
}

#[path = "hostile/stretch.rs"]
mod stretch;

/// `ratio(whole, whole) <op> literal` is compared without dividing (see
/// `eval/fast.rs`): over negative, zero and positive operands and literals
/// of several scales, it fires exactly the rules the tree walk's division does.
#[test]
fn ratio_comparisons_agree_with_the_division() {
    let lits = [
        "0",
        "40%",
        "0.4",
        "1",
        "1.5",
        "-0.25",
        "0.333333",
        "0.3333333",
        "2",
        "-3",
        "100%",
        "0.000001",
    ];
    let ops = ["==", "!=", "<", "<=", ">", ">="];
    let mut src = stretch::header();
    let mut n = 0;
    for a in [0, 3, 7] {
        for b in [0, 2, 5] {
            for lit in lits {
                for op in ops {
                    src.push_str(&format!(
                        "rule r{n} {{ when ratio(count(returns in last 30 days) - {a}, count(orders in last 90 days) - {b}) {op} {lit} review \"{n}\" }}\n"
                    ));
                    n += 1;
                }
            }
        }
    }
    let program = rpl::compile(&src).unwrap().program;
    let mut fired = 0;
    for history in 0..9 {
        let case = rpl::parse_case(&stretch::case_json(1, history, "0")).unwrap();
        same_as_reference(&program, &case);
        fired += program.judge(&case).unwrap().lines[0].rules.len();
    }
    assert!(
        fired > 100,
        "only {fired} rules fired: the comparisons are not exercised"
    );
}
