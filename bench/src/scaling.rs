//! How the cost of a case grows with the work (issue 15, point 4): with the
//! length of a customer's history — judged as one case, and replayed in a
//! backtest, whose aggregates are kept up to date as events arrive — and with
//! the number of rules in the policy.

use std::fmt::Write as _;
use std::hint::black_box;
use std::io::Cursor;
use std::time::Instant;

use crate::records::{self, Record};

/// Nanoseconds per call of `f`, the best of a few passes of about 0.2 s each.
fn ns_per_call(mut f: impl FnMut() -> Result<(), String>) -> Result<f64, String> {
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let (mut calls, start) = (0u64, Instant::now());
        while calls < 3 || start.elapsed().as_secs_f64() < 0.2 {
            f()?;
            calls += 1;
        }
        best = best.min(start.elapsed().as_secs_f64() * 1e9 / calls as f64);
    }
    Ok(best)
}

pub struct HistoryRow {
    pub events: usize,
    /// One case holding the history, judged (read untimed).
    pub judge_ns: f64,
    /// One return of a backtest whose customers each have this many events before it.
    pub backtest_ns_per_return: f64,
}

pub struct RulesRow {
    pub rules: usize,
    pub judge_ns: f64,
}

const HOUR: i64 = 3_600;

/// `r` with `events` earlier events, half orders and half returns, spread
/// over the 80 days before its request (inside both of the policy's windows).
fn with_history(r: &Record, events: usize) -> Record {
    let mut r = r.clone();
    let span = 80 * 24 * HOUR;
    let step = span / events.max(1) as i64;
    r.orders = (0..events / 2).map(|k| r.now - span + 2 * k as i64 * step).collect();
    r.returns = (0..events - events / 2)
        .map(|k| r.now - span + (2 * k as i64 + 1) * step)
        .collect();
    r
}

/// A stream of `customers` customers, each with `events` events (orders,
/// each followed by a return of it) before one last order and return.
fn stream(customers: usize, events: usize) -> (Vec<u8>, u64) {
    let mut out = String::new();
    let start = 1_767_225_600i64; // 2026-01-01T00:00:00Z
    let span = 80 * 24 * HOUR;
    let pairs = events / 2 + 1;
    let step = span / pairs as i64;
    for c in 0..customers {
        let _ = writeln!(
            out,
            r#"{{"event":"customer","id":"C-{c}","created_at":"2025-01-01T00:00:00+08:00"}}"#
        );
    }
    let mut returns = 0;
    // Time runs forward over the whole stream: every customer's k-th order,
    // then their k-th returns, then the next pair (customers < step / 2 seconds).
    for k in 0..pairs {
        let at = start + k as i64 * step;
        for c in 0..customers {
            let _ = writeln!(
                out,
                r#"{{"event":"order","id":"O-{c}-{k}","customer_id":"C-{c}","currency":"CNY","placed_at":"{}","items":[{{"sku":"A","category":"apparel","unit_price":"59.00","quantity":1}}]}}"#,
                records::rfc3339(at + c as i64)
            );
        }
        for c in 0..customers {
            let _ = writeln!(
                out,
                r#"{{"event":"return","id":"R-{c}-{k}","order_id":"O-{c}-{k}","requested_at":"{}","type":"return_refund","reason":"quality_defect","items":[{{"sku":"A","quantity":1}}]}}"#,
                records::rfc3339(at + step / 2 + c as i64)
            );
            returns += 1;
        }
    }
    (out.into_bytes(), returns)
}

pub fn history(program: &rpl::Program, base: &Record) -> Result<Vec<HistoryRow>, String> {
    let mut rows = Vec::new();
    for events in [10, 100, 1_000, 10_000] {
        let r = with_history(base, events);
        let text = records::case_json(0, &r).to_string();
        let case = rpl::parse_case(&text).map_err(|e| format!("the case with {events} events: {e}"))?;
        let judge_ns = ns_per_call(|| {
            black_box(program.judge(black_box(&case)).map_err(|e| e.message)?);
            Ok(())
        })?;
        // About 200,000 lines in all, whatever the history's length.
        let customers = (100_000 / (events + 2)).max(4);
        let (data, returns) = stream(customers, events);
        let mut opts = rpl::BacktestOptions::default();
        opts.threads = 1;
        let mut best = f64::INFINITY;
        for _ in 0..2 {
            let start = Instant::now();
            let summary = rpl::backtest(&[program], Cursor::new(&data), None, &opts, |_| {})
                .map_err(|e| format!("the stream with {events} events a customer: {e}"))?;
            if summary.returns != returns {
                return Err(format!("judged {} returns of {returns}", summary.returns));
            }
            best = best.min(start.elapsed().as_secs_f64());
        }
        rows.push(HistoryRow {
            events,
            judge_ns,
            backtest_ns_per_return: best * 1e9 / returns as f64,
        });
    }
    Ok(rows)
}

pub fn rules(records: &[Record]) -> Result<Vec<RulesRow>, String> {
    let texts: Vec<String> = records
        .iter()
        .enumerate()
        .map(|(i, r)| records::case_json(i, r).to_string())
        .collect();
    let cases = texts
        .iter()
        .map(|t| rpl::parse_case(t).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rows = Vec::new();
    for rules in [10, 100, 1_000] {
        let source = rpl::internals::generated_policy(rules);
        let program = rpl::compile(&source)
            .map_err(|d| format!("the generated {rules}-rule policy: {d:?}"))?
            .program;
        let ns = ns_per_call(|| {
            for case in &cases {
                black_box(program.judge(black_box(case)).map_err(|e| e.message)?);
            }
            Ok(())
        })?;
        rows.push(RulesRow {
            rules,
            judge_ns: ns / cases.len() as f64,
        });
    }
    Ok(rows)
}
