//! The platform floor (docs/language.md §14): layered verdicts keep the
//! floor's promises on every case tried, and `rpl judge --floor` and `rpl
//! check --floor` show it from the command line.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use rust_decimal::Decimal;

fn compile(path: &str) -> rpl::Program {
    rpl::compile(&std::fs::read_to_string(path).unwrap()).unwrap().program
}

fn cases() -> Vec<(String, rpl::Case)> {
    let mut out = Vec::new();
    for dir in [
        "policies/shops/cases",
        "examples/marketplace",
        "examples/risk",
        "tests/contract",
    ] {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "json")
                && let Ok(case) = rpl::parse_case(&std::fs::read_to_string(&path).unwrap())
            {
                out.push((path.display().to_string(), case));
            }
        }
    }
    out
}

fn money(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// Whatever the merchant's policy, on every case both read: a line the floor
/// decides keeps the floor's decision; on a line the floor approves, the
/// refund is at least the floor's; a line the floor leaves is exactly the
/// merchant's; a floor payer other than the buyer stands; every change is
/// listed as an override.
#[test]
fn the_floor_keeps_its_promises_on_every_case() {
    let floor = compile("policies/platform_floor.rpl");
    let merchants = [
        "policies/marketplace.rpl",
        "policies/shops/linen_house.rpl",
        "policies/shops/gadget_store.rpl",
    ];
    let mut layered_lines = 0;
    let mut overridden = 0;
    for m in merchants {
        let merchant = compile(m);
        for (name, case) in cases() {
            let (Ok(f), Ok(v)) = (floor.judge(&case), merchant.judge(&case)) else {
                continue;
            };
            // The promises are the request's: what an inspection finds later
            // (a different item) may still deny a line the floor approved.
            // The life of a return on a floor is pinned by `a_return_s_life_on_the_floor`.
            if case.ret.items.iter().any(|l| l.inspection.is_some()) || !case.ret.reviews.is_empty() {
                continue;
            }
            let both = rpl::judge_layered(&floor, &merchant, &case).unwrap();
            assert_eq!(both.floor.as_ref().unwrap().decision, f.decision, "{m} {name}");
            for ((line, fl), ml) in both.lines.iter().zip(&f.lines).zip(&v.lines) {
                layered_lines += 1;
                let floor_decided = fl.rules.iter().any(|r| r.effect == fl.decision) || !f.errors.is_empty();
                if floor_decided {
                    assert_eq!(line.decision, fl.decision, "{m} {name}: the floor's decision stands");
                    if fl.decision == "approve" {
                        assert!(
                            money(&line.refund) >= money(&fl.refund),
                            "{m} {name}: refund below the floor's"
                        );
                    }
                } else {
                    assert_eq!(
                        line.decision, ml.decision,
                        "{m} {name}: an undecided line is the merchant's"
                    );
                    assert_eq!(line.refund, ml.refund, "{m} {name}");
                    assert!(line.overrides.is_empty(), "{m} {name}");
                }
                let changed = line.decision != ml.decision || line.refund != ml.refund;
                assert_eq!(changed, !line.overrides.is_empty(), "{m} {name}: a change is listed");
                overridden += usize::from(changed);
            }
            if f.shipping != "buyer" {
                assert_eq!(both.shipping, f.shipping, "{m} {name}: the floor's payer stands");
            } else {
                assert_eq!(both.shipping, v.shipping, "{m} {name}");
            }
        }
    }
    assert!(
        layered_lines > 30 && overridden > 3,
        "{layered_lines} lines, {overridden} overridden"
    );
}

fn rpl(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_rpl"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")))
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    format!(
        "$ rpl {}\nexit: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn judge_on_a_floor() {
    let out = rpl(&[
        "judge",
        "--floor",
        "policies/platform_floor.rpl",
        "policies/shops/gadget_store.rpl",
        "policies/shops/cases/gadget_day5_unused.json",
        "--explain",
    ]);
    assert!(out.contains("exit: 0"), "{out}");
    insta::assert_snapshot!(out);
}

/// The check finds, with a witness, the merchant rules the floor overrides.
#[test]
fn check_on_a_floor_finds_what_it_overrides() {
    let out = rpl(&[
        "check",
        "--floor",
        "policies/platform_floor.rpl",
        "policies/shops/gadget_store.rpl",
        "policies/shops/linen_house.rpl",
    ]);
    assert!(
        out.contains("the floor's rule `seven_day_no_reason` overrides rule `too_late`"),
        "{out}"
    );
    assert!(out.contains("overrides rule `final_sale`"), "{out}");
    insta::assert_snapshot!(out);
}

#[test]
fn a_floor_in_another_currency_is_refused() {
    let out = rpl(&[
        "judge",
        "--floor",
        "policies/platform_floor.rpl",
        "policies/fashion.rpl",
        "examples/fashion/day30_unused_approved.json",
    ]);
    assert!(
        out.contains("exit: 1") && out.contains("must share a currency"),
        "{out}"
    );
}

/// A backtest on a floor judges each return exactly as `judge --floor` judges
/// the case the backtest rebuilds for it; `--compare-floor` likewise with the
/// other floor.
#[test]
fn a_backtest_on_a_floor_judges_as_judge_does() {
    let floor = compile("policies/platform_floor.rpl");
    let strict_source = std::fs::read_to_string("policies/platform_floor.rpl")
        .unwrap()
        .replace("approve \"七日无理由退货", "review  \"七日无理由退货");
    assert!(strict_source.contains("review  \"七日"), "the floor's 7-day rule moved");
    let strict = rpl::compile(&strict_source).unwrap().program;
    let merchant = compile("policies/risk.rpl");
    let mut options = rpl::GenOptions::default();
    options.customers = 300;
    options.days = 60;
    options.seed = 9;
    let mut stream = Vec::new();
    rpl::generate(&options, &mut stream).unwrap();
    let programs = [&merchant, &floor, &strict];
    let mut opts = rpl::BacktestOptions::default();
    opts.layers = vec![(0, Some(1)), (0, Some(2))];
    opts.threads = 2;
    let mut out = Vec::new();
    let summary = rpl::backtest(&programs, std::io::Cursor::new(&stream), Some(&mut out), &opts, |_| {}).unwrap();
    assert!(
        summary.compare.as_ref().unwrap().changed > 0,
        "the stricter floor changes nothing"
    );
    let records: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records.len() > 20, "{} returns", records.len());
    let mut overridden = 0;
    for record in records.iter().take(40) {
        let id = record["return_id"].as_str().unwrap();
        let case = rpl::backtest_case(&programs, std::io::Cursor::new(&stream), id, &opts).unwrap();
        let case = rpl::parse_case_value(&case).unwrap();
        let main = rpl::judge_layered(&floor, &merchant, &case).unwrap();
        let other = rpl::judge_layered(&strict, &merchant, &case).unwrap();
        assert_eq!(serde_json::to_value(&main).unwrap(), record["verdict"], "{id}");
        assert_eq!(serde_json::to_value(&other).unwrap(), record["compare"], "{id}");
        overridden += main.lines.iter().filter(|l| !l.overrides.is_empty()).count();
    }
    assert!(overridden > 0, "the floor overrode nothing on these returns");
}

/// A return's life on a floor (docs/language.md §16.6): the floor's 48-hour
/// review bounds the merchant's reviews (the sooner of two deadlines wins), a
/// review the floor itself decided keeps its own rule's deadline, and the
/// shorter refund limit of the two policies applies.
#[test]
fn a_return_s_life_on_the_floor() {
    let floor = compile("policies/platform_floor.rpl");
    let merchant = |header: &str, review: &str| {
        let src = format!(
            "policy \"m\" {{ currency \"CNY\" timezone \"Asia/Shanghai\" {header} }}\n\
             rule look {{ when item.condition == \"used\" review \"a person looks\" {review} }}\n\
             rule fine {{ when item.condition == \"unused\" approve }}\n"
        );
        rpl::compile(&src).unwrap().program
    };
    let case = |condition: &str| {
        rpl::parse_case(&format!(
            r#"{{"order": {{"id": "O-1", "customer_id": "C-1", "currency": "CNY", "placed_at": "2026-11-01T10:00:00+08:00",
                 "delivered_at": "2026-11-03T15:20:00+08:00",
                 "items": [{{"sku": "A", "category": "apparel", "unit_price": "99.00", "quantity": 1}}]}},
               "return": {{"id": "R-1", "requested_at": "2026-11-20T09:00:00+08:00", "type": "return_refund",
                 "reason": "changed_mind", "items": [{{"sku": "A", "quantity": 1, "condition": "{condition}"}}]}}}}"#
        ))
        .unwrap()
    };
    let line = |m: &rpl::Program, condition: &str| {
        let v = rpl::judge_layered(&floor, m, &case(condition)).unwrap();
        v.lines[0].clone()
    };
    // No deadline of the merchant's: the floor's 48 hours, then approve.
    let l = line(&merchant("", ""), "used");
    assert_eq!(l.review_due.as_deref(), Some("2026-11-22T09:00:00+08:00"));
    assert_eq!(l.on_timeout.as_deref(), Some("approve"));
    // The merchant's own 24 hours come sooner: they stand, with their timeout.
    let l = line(&merchant("", "within 24 hours, then deny"), "used");
    assert_eq!(l.review_due.as_deref(), Some("2026-11-21T09:00:00+08:00"));
    assert_eq!(l.on_timeout.as_deref(), Some("deny"));
    // 72 hours are more than the floor allows: the floor's 48 hours win.
    let l = line(&merchant("review within 72 hours, then deny", ""), "used");
    assert_eq!(l.review_due.as_deref(), Some("2026-11-22T09:00:00+08:00"));
    assert_eq!(l.on_timeout.as_deref(), Some("approve"));
    // Refund limits: the shorter of the two.
    let clock = |header: &str| line(&merchant(header, ""), "unused").refund_limit.unwrap();
    assert_eq!(clock("refund within 2 days of inspection").seconds, 2 * 86_400);
    assert_eq!(clock("refund within 5 days of inspection").seconds, 3 * 86_400);
    let l = line(&merchant("refund at once", ""), "unused");
    assert_eq!(l.refund_due.as_deref(), Some("2026-11-20T09:00:00+08:00"));
    // The floor's own hold keeps its rule's deadline: unanswered, refused.
    let abuser =
        rpl::parse_case(&std::fs::read_to_string("policies/shops/cases/linen_abuser_day5.json").unwrap()).unwrap();
    let v = rpl::judge_layered(&floor, &merchant("", ""), &abuser).unwrap();
    assert_eq!(v.lines[0].decision, "review");
    assert_eq!(v.lines[0].on_timeout.as_deref(), Some("deny"));
    let due = rpl::review_due(&v).unwrap();
    let settled = rpl::time_out_reviews(&v, due.at).unwrap();
    assert_eq!(settled.decision, "deny");
    assert!(settled.reviews[0].timed_out);
    assert!(rpl::time_out_reviews(&v, due.at - chrono::Duration::seconds(1)).is_none());
}
