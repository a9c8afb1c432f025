//! A policy and a case, split at the first NUL byte (which no policy may
//! hold). Without a NUL, the whole input is a case judged by every shipped
//! policy. Judges plainly and with explanations, and serializes the verdict;
//! the compiled code must give the tree walk's verdict after as many steps,
//! and the decision-only path the verdict's decision.

#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

const SHIPPED: [&str; 4] = [
    include_str!("../../policies/marketplace.rpl"),
    include_str!("../../policies/fashion.rpl"),
    include_str!("../../policies/electronics.rpl"),
    include_str!("../../policies/risk.rpl"),
];

fn shipped() -> &'static [rpl::Compiled] {
    static COMPILED: OnceLock<Vec<rpl::Compiled>> = OnceLock::new();
    COMPILED.get_or_init(|| SHIPPED.iter().filter_map(|s| rpl::compile(s).ok()).collect())
}

fn judge(compiled: &rpl::Compiled, case: &rpl::Case) {
    let program = &compiled.program;
    let before = rpl::internals::steps();
    let plain = program.judge(case);
    let middle = rpl::internals::steps();
    let reference = program.judge_reference(case);
    let after = rpl::internals::steps();
    assert_eq!(format!("{plain:?}"), format!("{reference:?}"), "compiled code and tree walk disagree");
    assert_eq!(middle - before, after - middle, "compiled code and tree walk take different steps");
    let mut scratch = rpl::Scratch::default();
    if let (Ok(verdict), Ok(decided)) = (&plain, program.decide(case, &mut scratch)) {
        assert_eq!(decided.decision.as_str(), verdict.decision, "decide and judge disagree");
        assert_eq!(decided.shipping.as_str(), verdict.shipping, "decide and judge disagree");
        assert_eq!(decided.risk, verdict.risk, "decide and judge disagree");
    }
    if let Ok(verdict) = plain {
        serde_json::to_string(&verdict).unwrap_or_else(|e| panic!("the verdict does not serialize: {e}"));
    }
    if let Ok((verdict, explanation)) = compiled.program.judge_explained(case) {
        rpl::render_explanation(&verdict, &explanation);
    }
}

fuzz_target!(|data: &[u8]| {
    let (policy, case) = match data.iter().position(|&b| b == 0) {
        Some(at) => (Some(&data[..at]), &data[at + 1..]),
        None => (None, data),
    };
    let Ok(case_text) = std::str::from_utf8(case) else {
        return;
    };
    let Ok(case) = rpl::parse_case(case_text) else {
        return;
    };
    match policy {
        None => shipped().iter().for_each(|c| judge(c, &case)),
        Some(policy) => {
            let Ok(source) = std::str::from_utf8(policy) else {
                return;
            };
            if let Ok(compiled) = rpl::compile(source) {
                judge(&compiled, &case);
            }
        }
    }
});
