//! Judging's cost in time as the policy, the history and the lines grow
//! (docs/language.md §9: linear in each). The inputs are the ones `tests/hostile.rs`
//! counts evaluation steps on; this prints what they cost on this machine.
//!
//! `cargo bench --bench limits`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "../tests/hostile/stretch.rs"]
mod stretch;

/// The fastest of several timed batches, per judge: the least disturbed run.
fn per_judge(program: &rpl::Program, case: &rpl::Case) -> Duration {
    let mut batch = 1u32;
    loop {
        let start = Instant::now();
        for _ in 0..batch {
            black_box(program.judge(black_box(case)).unwrap());
        }
        if start.elapsed() > Duration::from_millis(20) {
            break;
        }
        batch *= 2;
    }
    (0..7)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..batch {
                black_box(program.judge(black_box(case)).unwrap());
            }
            start.elapsed() / batch
        })
        .min()
        .unwrap()
}

fn steps(program: &rpl::Program, case: &rpl::Case) -> u64 {
    let before = rpl::internals::steps();
    program.judge(case).unwrap();
    rpl::internals::steps() - before
}

fn case(lines: usize, history: usize) -> rpl::Case {
    rpl::parse_case(&stretch::case_json(lines, history, "0")).unwrap()
}

fn main() {
    println!("rules: one returned line, 100 past orders and returns");
    println!(
        "{:>8} {:>12} {:>12} {:>10} {:>10}",
        "rules", "compile ms", "judge µs", "ns/rule", "steps"
    );
    let one = case(1, 100);
    for n in [1_000, 10_000, 100_000] {
        let start = Instant::now();
        let program = rpl::compile(&stretch::rules_policy(n)).unwrap().program;
        let compile = start.elapsed();
        let t = per_judge(&program, &one);
        println!(
            "{n:>8} {:>12.1} {:>12.1} {:>10.1} {:>10}",
            compile.as_secs_f64() * 1e3,
            t.as_secs_f64() * 1e6,
            t.as_secs_f64() * 1e9 / n as f64,
            steps(&program, &one)
        );
    }

    let program = rpl::compile(&stretch::history_policy()).unwrap().program;
    println!("\nhistory: one returned line; past orders and past returns, each");
    println!("{:>8} {:>12} {:>10} {:>10}", "events", "judge µs", "ns/event", "steps");
    for h in [100, 1_000, rpl::limits::MAX_HISTORY] {
        let c = case(1, h);
        let t = per_judge(&program, &c);
        println!(
            "{h:>8} {:>12.1} {:>10.1} {:>10}",
            t.as_secs_f64() * 1e6,
            t.as_secs_f64() * 1e9 / (2 * h) as f64,
            steps(&program, &c)
        );
    }

    println!("\nlines: 100 past orders and returns, one aggregate per line");
    println!("{:>8} {:>12} {:>10} {:>10}", "lines", "judge µs", "µs/line", "steps");
    for l in [10, 100, rpl::limits::MAX_LINES] {
        let c = case(l, 100);
        let t = per_judge(&program, &c);
        println!(
            "{l:>8} {:>12.1} {:>10.2} {:>10}",
            t.as_secs_f64() * 1e6,
            t.as_secs_f64() * 1e6 / l as f64,
            steps(&program, &c)
        );
    }
}
