//! `rpl backtest POLICY [EVENTS | -]`: replays an event stream (docs/language.md §11) and
//! summarises what the policy would have decided.

use std::io::{BufReader, BufWriter, IsTerminal as _, Write as _};

use super::{EXIT_INPUT, ErrorFormat, load_policy};
use rpl::{BacktestError, BacktestOptions as Options};

#[derive(clap::Args)]
pub struct Args {
    /// The policy to replay.
    policy: String,
    /// JSON Lines of customer, order, order_update and return events in time order; `-` or nothing reads standard input.
    #[arg(default_value = "-")]
    events: String,
    /// Judge every return with this policy too, and report what changed.
    #[arg(long, value_name = "OTHER.rpl")]
    compare: Option<String>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    /// Write one record per return (line, ids, label, verdict, and the compared verdict), as JSON Lines, to this file.
    #[arg(long, value_name = "FILE")]
    out: Option<String>,
    /// Print the case rebuilt for this return, as `rpl judge` takes it, and stop.
    #[arg(long, value_name = "RETURN_ID", conflicts_with_all = ["out", "json", "compare"])]
    case: Option<String>,
    /// Count, list and skip bad lines instead of stopping at the first.
    #[arg(long)]
    skip_invalid: bool,
    /// Worker threads (results are the same for any number); default: every core.
    #[arg(long)]
    threads: Option<usize>,
    /// Days an order is remembered for the returns that refer to it.
    #[arg(long, default_value_t = 180)]
    order_retention_days: i64,
    /// A platform floor the policy (and the compared one) stands on.
    #[arg(long, value_name = "FLOOR.rpl")]
    floor: Option<String>,
    /// Compare with the policy on this floor instead (with --compare, that policy on it).
    #[arg(long, value_name = "FLOOR.rpl", requires = "floor")]
    compare_floor: Option<String>,
}

pub fn run(args: &Args) -> u8 {
    // The programs: the policy, the compared one, then the floors.
    let paths: Vec<&String> = std::iter::once(&args.policy)
        .chain(&args.compare)
        .chain(&args.floor)
        .chain(&args.compare_floor)
        .collect();
    let mut programs = Vec::new();
    for path in paths {
        match load_policy(path, ErrorFormat::Human) {
            Ok(c) => programs.push(c.program),
            Err(code) => return code,
        }
    }
    let refs: Vec<&rpl::Program> = programs.iter().collect();
    let compared = usize::from(args.compare.is_some());
    let layers = match (&args.floor, &args.compare_floor) {
        (None, _) => Vec::new(),
        (Some(_), None) => {
            let floor = Some(1 + compared);
            let mut l = vec![(0, floor)];
            if compared == 1 {
                l.push((1, floor));
            }
            l
        }
        (Some(_), Some(_)) => vec![(0, Some(1 + compared)), (compared, Some(2 + compared))],
    };
    for &(p, f) in &layers {
        if let Some(f) = f
            && let Err(e) = rpl::check_floor_pair(refs[f], refs[p])
        {
            eprintln!("error: {e}");
            return super::EXIT_POLICY;
        }
    }
    let (input, total): (Box<dyn std::io::BufRead>, Option<u64>) = if args.events == "-" {
        (Box::new(BufReader::new(std::io::stdin().lock())), None)
    } else {
        match std::fs::File::open(&args.events) {
            Ok(f) => {
                let size = f.metadata().ok().map(|m| m.len());
                (Box::new(BufReader::with_capacity(1 << 20, f)), size)
            }
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", args.events);
                return EXIT_INPUT;
            }
        }
    };
    let mut opts = Options::default();
    opts.threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    opts.skip_invalid = args.skip_invalid;
    opts.order_retention_days = args.order_retention_days;
    opts.layers = layers;
    if let Some(id) = &args.case {
        return match rpl::backtest_case(&refs, input, id, &opts) {
            Ok(case) => {
                let text = serde_json::to_string_pretty(&case).unwrap_or_default() + "\n";
                let _ = std::io::stdout().lock().write_all(text.as_bytes());
                0
            }
            Err(e) => failed(&args.events, e),
        };
    }
    let mut out_file = match &args.out {
        None => None,
        Some(path) => match std::fs::File::create(path) {
            Ok(f) => Some(BufWriter::new(f)),
            Err(e) => {
                eprintln!("error: cannot write {path}: {e}");
                return EXIT_INPUT;
            }
        },
    };
    let tty = std::io::stderr().is_terminal();
    let started = std::time::Instant::now();
    let progress = |p: rpl::BacktestProgress| {
        if tty {
            let share = total
                .filter(|t| *t > 0)
                .map(|t| format!("{:>3}% ", p.bytes * 100 / t))
                .unwrap_or_default();
            let rate = p.lines as f64 / started.elapsed().as_secs_f64().max(1e-9);
            eprint!(
                "\r{share}{} lines, {} returns, {:.0} lines/s   ",
                p.lines, p.returns, rate
            );
        }
    };
    let out: Option<&mut dyn std::io::Write> = out_file.as_mut().map(|w| w as &mut dyn std::io::Write);
    let result = rpl::backtest(&refs, input, out, &opts, progress);
    if tty {
        eprint!("\r\x1b[2K");
    }
    if let Some(w) = out_file.as_mut()
        && let Err(e) = w.flush()
    {
        eprintln!("error: cannot write verdicts: {e}");
        return EXIT_INPUT;
    }
    match result {
        Ok(summary) => {
            let text = if args.json {
                serde_json::to_string_pretty(&summary).unwrap_or_default() + "\n"
            } else {
                summary.render()
            };
            let _ = std::io::stdout().lock().write_all(text.as_bytes());
            0
        }
        Err(e) => failed(&args.events, e),
    }
}

fn failed(events: &str, e: BacktestError) -> u8 {
    match e {
        BacktestError::Stopped(s) => {
            eprintln!("error: {events}:{}: {}", s.line, s.error);
            eprintln!("hint: fix the line, or pass --skip-invalid to count, list and skip bad lines");
        }
        e => eprintln!("error: {e}"),
    }
    EXIT_INPUT
}
