//! Backtest benchmark (issue 4): per-return cost as a customer's history grows
//! tenfold, throughput against parsing alone, and peak memory on a large stream.
//!
//! `cargo bench --bench backtest` (set `RPL_BENCH_MB` for the large stream's
//! size in MB; default 200).

#![allow(clippy::expect_used)]

use std::io::{BufReader, BufWriter, Cursor};
use std::time::Instant;

use rpl::{BacktestOptions as Options, backtest as run, internals::parse_only};
use rpl::{GenOptions, generate};

fn stream(customers: usize, days: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut opts = GenOptions::default();
    opts.customers = customers;
    opts.days = days;
    generate(&opts, &mut out).expect("generating into memory");
    out
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn main() {
    let policy = std::fs::read_to_string("policies/risk.rpl").expect("policies/risk.rpl");
    let program = rpl::compile(&policy).expect("the risk policy checks").program;
    println!("policy: policies/risk.rpl");
    println!(
        "{:<28} {:>9} {:>10} {:>12} {:>14} {:>12}",
        "stream", "lines", "returns", "µs/return", "lines/s", "parse lines/s"
    );
    for (label, customers, days) in [
        ("3000 customers × 90 days", 3000, 90),
        ("3000 customers × 900 days", 3000, 900),
    ] {
        let data = stream(customers, days);
        let lines = data.iter().filter(|b| **b == b'\n').count();
        let mut opts = Options::default();
        opts.threads = 1;
        let start = Instant::now();
        let summary = run(&[&program], Cursor::new(&data), None, &opts, |_| {}).expect("the stream replays");
        let took = start.elapsed().as_secs_f64();
        let start = Instant::now();
        parse_only(Cursor::new(&data), 1, opts.chunk_lines).expect("the stream parses");
        let parse = start.elapsed().as_secs_f64();
        println!(
            "{label:<28} {lines:>9} {:>10} {:>12.2} {:>14.0} {:>12.0}",
            summary.returns,
            took * 1e6 / summary.returns.max(1) as f64,
            lines as f64 / took,
            lines as f64 / parse
        );
    }
    // Peak memory on a large stream, generated to a file and replayed from it.
    let mb: u64 = std::env::var("RPL_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let path = std::env::temp_dir().join(format!("rpl-bench-{}.jsonl", std::process::id()));
    let days = 365;
    let customers = (mb as f64 * 1e6 / (18.5 * days as f64)) as usize;
    {
        let file = std::fs::File::create(&path).expect("a temporary file");
        let mut opts = GenOptions::default();
        opts.customers = customers;
        opts.days = days;
        generate(&opts, &mut BufWriter::new(file)).expect("generating to a file");
    }
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let before = peak_rss_mb();
    for threads in [1, 2] {
        let file = std::fs::File::open(&path).expect("the stream file");
        let mut opts = Options::default();
        opts.threads = threads;
        let start = Instant::now();
        let summary = run(
            &[&program],
            BufReader::with_capacity(1 << 20, file),
            None,
            &opts,
            |_| {},
        )
        .expect("replays");
        println!(
            "{:.0} MB stream, {} customers, {} threads: {} returns in {:.1} s ({:.1} MB/s), peak RSS {:.0} MB (before: {:.0} MB)",
            size as f64 / 1e6,
            customers,
            threads,
            summary.returns,
            start.elapsed().as_secs_f64(),
            size as f64 / 1e6 / start.elapsed().as_secs_f64(),
            peak_rss_mb().unwrap_or(0.0),
            before.unwrap_or(0.0)
        );
    }
    let _ = std::fs::remove_file(&path);
}
