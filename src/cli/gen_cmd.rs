//! `rpl gen`: writes a deterministic, realistic event stream (JSON Lines) for
//! backtests, tests and benchmarks; a one-line summary goes to standard error.

use std::io;
use std::path::PathBuf;
use std::time::Instant;

use chrono::NaiveDate;
use rpl::{GenOptions, generate};

use super::EXIT_INPUT;

#[derive(clap::Args)]
pub struct Args {
    /// The same seed and options always give the same bytes.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// How many customers (some signed up before the first day, the rest during).
    #[arg(long, default_value_t = 1000)]
    customers: usize,
    /// How many days to simulate.
    #[arg(long, default_value_t = 90)]
    days: u32,
    /// The first simulated day (midnight, UTC+08:00).
    #[arg(long, default_value = "2026-01-01")]
    start: NaiveDate,
    /// The share of customers planted as labelled abusers (0 to 1).
    #[arg(long, default_value_t = 0.02)]
    abusers: f64,
    /// The orders' currency.
    #[arg(long, default_value = "CNY")]
    currency: String,
    /// Write to this file instead of standard output.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write an `inspection` event per line sent back, with swaps planted on abusive returns.
    #[arg(long)]
    inspections: bool,
}

pub fn run(args: &Args) -> u8 {
    let mut opts = GenOptions::default();
    opts.seed = args.seed;
    opts.customers = args.customers;
    opts.days = args.days;
    opts.start = args.start;
    opts.abuser_share = args.abusers;
    opts.currency = args.currency.clone();
    opts.inspections = args.inspections;
    let began = Instant::now();
    let result = match &args.out {
        Some(path) => match std::fs::File::create(path) {
            Ok(mut file) => generate(&opts, &mut file),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                return EXIT_INPUT;
            }
        },
        None => generate(&opts, &mut io::stdout().lock()),
    };
    match result {
        Ok(stats) => {
            let secs = began.elapsed().as_secs_f64();
            let mb = stats.bytes as f64 / 1e6;
            eprintln!("generated {stats} ({mb:.1} MB in {secs:.2} s)");
            0
        }
        // `rpl gen | head`: the reader has what it wanted.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error: {e}");
            EXIT_INPUT
        }
    }
}
