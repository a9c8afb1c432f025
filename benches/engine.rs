//! Criterion benches of the engine, fed by the same inputs as the tests:
//! parse+check of every shipped policy and of generated 50- and 1,000-rule
//! policies; judge (full verdict) and decide (decision only) on every example
//! case. `cargo bench --bench engine`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};

/// The allocator the `rpl` binary ships with, so verdicts (which allocate
/// their strings) are timed as `rpl judge` builds them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn shipped() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("policies").unwrap().flatten() {
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "rpl") {
            let name = p.file_stem().unwrap().to_string_lossy().to_string();
            out.push((name, std::fs::read_to_string(&p).unwrap()));
        }
    }
    out.sort();
    out
}

fn parse_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("parse+check");
    for (name, source) in shipped() {
        group.bench_function(&name, |b| b.iter(|| rpl::compile(black_box(&source)).unwrap()));
    }
    for rules in [50, 1000] {
        let source = rpl::internals::generated_policy(rules);
        group.bench_function(format!("generated {rules} rules"), |b| {
            b.iter(|| rpl::compile(black_box(&source)).unwrap())
        });
    }
    group.finish();
}

fn cases(policy: &str) -> Vec<(String, rpl::Case)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(Path::new("examples").join(policy)).unwrap().flatten() {
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "json") {
            let case = rpl::parse_case(&std::fs::read_to_string(&p).unwrap()).unwrap();
            out.push((p.file_stem().unwrap().to_string_lossy().to_string(), case));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn judge(c: &mut Criterion) {
    let mut full = c.benchmark_group("judge");
    for (name, source) in shipped() {
        let program = rpl::compile(&source).unwrap().program;
        for (case_name, case) in cases(&name) {
            full.bench_function(format!("{name}/{case_name}"), |b| {
                b.iter(|| program.judge(black_box(&case)).unwrap())
            });
        }
    }
    full.finish();
    let mut decide = c.benchmark_group("decide");
    for (name, source) in shipped() {
        let program = rpl::compile(&source).unwrap().program;
        let mut scratch = rpl::Scratch::default();
        for (case_name, case) in cases(&name) {
            decide.bench_function(format!("{name}/{case_name}"), |b| {
                b.iter(|| program.decide(black_box(&case), &mut scratch).unwrap())
            });
        }
    }
    decide.finish();
}

criterion_group!(benches, parse_check, judge);
criterion_main!(benches);
