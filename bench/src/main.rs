//! rpl against native Rust and its peers (issue 5): one rule set, the same
//! pre-built records, every engine's answers checked equal to native's on
//! every record before any time is reported.
//!
//! `cargo run --release -p rpl-bench -- --records 1000000 --out bench.json`

mod backtest;
mod cedar_engine;
mod cel_engine;
mod judge_jsonl;
mod native;
mod records;
mod rpl_engine;
mod scaling;
mod zen_engine;

use std::hint::black_box;
use std::process::ExitCode;
use std::time::Instant;

use native::Answer;
use records::Record;

/// The rpl binary's allocator (see its main.rs), used by every engine alike.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Args {
    records: usize,
    out: Option<String>,
    seed: u64,
    runs: usize,
    customers: usize,
    days: u32,
    backtest_runs: usize,
    backtest_policy: Option<String>,
    only: Option<Vec<String>>,
    judge_cases: usize,
}

impl Args {
    fn wants(&self, engine: &str) -> bool {
        self.only.as_ref().is_none_or(|only| only.iter().any(|e| e == engine))
    }
}

const USAGE: &str = "usage: rpl-bench [--records N] [--out FILE.json] [--seed S] [--runs R]
                 [--customers C] [--days D] [--backtest-runs R] [--backtest-policy FILE.rpl]
  --records N          records judged by every engine (default 1000000)
  --out FILE           the JSON summary
  --seed S             the records' seed (default 5)
  --runs R             timed passes over the records per engine, the best is kept (default 3;
                       fast engines run more passes, until a second has passed)
  --customers C        the backtest stream's customers (default 20000; 0 skips the backtest)
  --days D             the backtest stream's days (default 180)
  --backtest-runs R    timed runs per backtest measure (default 3)
  --backtest-policy F  the policy the backtest replays (default bench/policy.rpl)
  --only E,E…          time only these of rpl, cedar, cel, zen (native always runs: it is the reference)
  --judge-cases N      cases (the first N records) judged end to end by the rpl binary as JSON Lines
                       (default 100000; 0 skips)";

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        records: 1_000_000,
        out: None,
        seed: 5,
        runs: 3,
        customers: 20_000,
        days: 180,
        backtest_runs: 3,
        backtest_policy: None,
        only: None,
        judge_cases: 100_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |e: std::num::ParseIntError| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--records" => args.records = value.parse().map_err(bad)?,
            "--out" => args.out = Some(value),
            "--seed" => args.seed = value.parse().map_err(bad)?,
            "--runs" => args.runs = value.parse().map_err(bad)?,
            "--customers" => args.customers = value.parse().map_err(bad)?,
            "--days" => args.days = value.parse().map_err(bad)?,
            "--backtest-runs" => args.backtest_runs = value.parse().map_err(bad)?,
            "--backtest-policy" => args.backtest_policy = Some(value),
            "--only" => args.only = Some(value.split(',').map(|e| e.trim().to_string()).collect()),
            "--judge-cases" => args.judge_cases = value.parse().map_err(bad)?,
            _ => return Err(format!("unknown option {flag}")),
        }
    }
    if args.records == 0 {
        return Err("--records must be at least 1".into());
    }
    Ok(args)
}

/// One row of the table.
struct Row {
    engine: &'static str,
    key: Option<&'static str>,
    ns: f64,
    note: &'static str,
}

/// Nanoseconds per record: the best of `runs` timed passes over all inputs
/// (more passes for fast engines, until about a second has been spent).
/// `f` is handed each input through `black_box` and its answer is folded
/// into a checksum that is itself black-boxed.
fn time_passes<T>(inputs: &[T], runs: usize, mut f: impl FnMut(&T) -> Answer) -> f64 {
    let mut best = f64::INFINITY;
    let mut spent = 0.0;
    let mut passes = 0;
    while passes < runs.max(1) || (spent < 1.0 && passes < 100) {
        let start = Instant::now();
        let mut sum = 0u64;
        for input in inputs {
            sum = sum.wrapping_add(f(black_box(input)).fold());
        }
        black_box(sum);
        let took = start.elapsed().as_secs_f64();
        spent += took;
        passes += 1;
        best = best.min(took);
    }
    best * 1e9 / inputs.len() as f64
}

/// Runs `f` on every input (this is also the warm-up) and stops at the first
/// record whose answer differs from native's.
fn check<T>(
    engine: &str,
    inputs: &[T],
    expected: &[Answer],
    records: &[Record],
    mut f: impl FnMut(usize, &T) -> Result<Answer, String>,
) -> Result<(), String> {
    for (i, input) in inputs.iter().enumerate() {
        let got = f(i, input).map_err(|e| format!("{engine}: record {i}: {e}"))?;
        if got != expected[i] {
            return Err(format!(
                "{engine}: record {i}: {} but native says {}\nthe record: {:?}\nas an rpl case: {}",
                got.describe(),
                expected[i].describe(),
                records[i],
                records::case_json(i, &records[i])
            ));
        }
    }
    Ok(())
}

fn step(what: &str) -> Instant {
    eprintln!("… {what}");
    Instant::now()
}

fn done(start: Instant) {
    eprintln!("  ({:.1} s)", start.elapsed().as_secs_f64());
}

fn machine() -> (usize, String) {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    (cores, model)
}

fn run(args: &Args) -> Result<(), String> {
    let (cores, model) = machine();
    let allocator = if cfg!(feature = "mimalloc") {
        "mimalloc"
    } else {
        "system"
    };
    println!("machine: {cores} cores, {model}; allocator: {allocator}");
    let t = step(&format!("building {} records (seed {})", args.records, args.seed));
    let records = records::generate(args.records, args.seed);
    done(t);

    let mut rows: Vec<Row> = Vec::new();

    // Native, both ways; its answers are the reference.
    let t = step("native");
    let reference: Vec<(Answer, i64)> = records.iter().map(native::judge).collect();
    let expected: Vec<Answer> = reference.iter().map(|(a, _)| *a).collect();
    check(
        "native (precomputed aggregates)",
        &records,
        &expected,
        &records,
        |_, r| Ok(native::judge_precomputed(r).0),
    )?;
    print_mix(&expected, &records);
    let ns = time_passes(&records, args.runs, |r| native::judge(r).0);
    rows.push(Row {
        engine: "native",
        key: Some("native"),
        ns,
        note: "aggregates the history itself; day numbers precomputed",
    });
    let ns = time_passes(&records, args.runs, |r| native::judge_precomputed(r).0);
    rows.push(Row {
        engine: "native (precomputed)",
        key: None,
        ns,
        note: "history counts precomputed, as cedar gets them",
    });
    done(t);

    // rpl.
    let program = rpl_engine::compile()?;
    if args.wants("rpl") {
        rpl_rows(args, &program, &records, &expected, &reference, &mut rows)?;
    }
    if args.wants("cedar") {
        cedar_rows(args, &records, &expected, &mut rows)?;
    }
    for precomputed in [false, true] {
        if args.wants("cel") {
            cel_rows(args, precomputed, &records, &expected, &mut rows)?;
        }
    }
    for precomputed in [false, true] {
        if args.wants("zen") {
            zen_rows(args, precomputed, &records, &expected, &mut rows)?;
        }
    }
    print_table(&rows);

    // End to end: JSON Lines in, verdict lines out, by the binary.
    let mut judged: Option<judge_jsonl::Measured> = None;
    if args.judge_cases > 0 {
        let n = args.judge_cases.min(records.len());
        let t = step(&format!("judge_jsonl: {n} cases through rpl judge, 1 and 2 threads"));
        let m = judge_jsonl::measure(&records[..n], args.runs)?;
        done(t);
        println!(
            "
end to end: {} cases as JSON Lines ({:.1} MB), best of {} runs each",
            m.cases,
            m.bytes as f64 / 1e6,
            args.runs
        );
        println!("{:<42} {:>12} {:>14}", "", "cases/s", "vs serde typed");
        for (label, v) in [
            ("serde_json → typed structs, 1 thread", m.serde_typed_per_s),
            ("rpl judge (read, check, judge, write), 1", m.rpl_per_s),
            ("rpl judge --threads 2", m.rpl_2_threads_per_s),
        ] {
            println!("{label:<42} {v:>12.0} {:>13.2}×", v / m.serde_typed_per_s);
        }
        println!(
            "rpl judge peak memory (its own, max of its runs): {:.1} MB",
            m.peak_rss_mb
        );
        judged = Some(m);
    }

    // How a case's cost grows with its history and with the policy.
    let t = step("scaling: history 10 → 10,000 events, policies of 10 → 1,000 rules");
    let history = scaling::history(&program, &records[0])?;
    let rules = scaling::rules(&records[..records.len().min(2_000)])?;
    done(t);
    println!(
        "
scaling with the history (bench policy; the case read untimed, the stream's lines all timed):"
    );
    println!(
        "{:>16} {:>16} {:>22}",
        "history events", "judge one case", "backtest, per return"
    );
    for r in &history {
        println!(
            "{:>16} {:>13.2} µs {:>19.2} µs",
            r.events,
            r.judge_ns / 1e3,
            r.backtest_ns_per_return / 1e3
        );
    }
    println!(
        "
scaling with the policy (generated rules, full verdict, 2,000 cases):"
    );
    println!("{:>8} {:>14} {:>14}", "rules", "per case", "per rule");
    for r in &rules {
        println!(
            "{:>8} {:>11.2} µs {:>11.1} ns",
            r.rules,
            r.judge_ns / 1e3,
            r.judge_ns / r.rules as f64
        );
    }
    drop(records);

    // Backtest.
    let mut bt: Vec<(&str, f64)> = Vec::new();
    if args.customers > 0 {
        let t = step(&format!(
            "backtest: generating {} customers × {} days",
            args.customers, args.days
        ));
        let s = backtest::stream(args.customers, args.days)?;
        done(t);
        println!(
            "\nbacktest stream: {} ({} events, {:.1} MB); best of {} runs each",
            s.stats,
            s.events,
            s.data.len() as f64 / 1e6,
            args.backtest_runs
        );
        let bt_program = match &args.backtest_policy {
            None => program.clone(),
            Some(path) => {
                let src = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
                rpl::compile(&src).map_err(|d| format!("{path}: {d:?}"))?.program
            }
        };
        let runs = args.backtest_runs;
        let t = step("backtest: timing");
        bt.push((
            "serde_typed_per_s",
            backtest::best(runs, s.events, || backtest::serde_typed(&s.data))?,
        ));
        bt.push((
            "parse_only_per_s",
            backtest::best(runs, s.events, || backtest::parse_only(&s.data, 1))?,
        ));
        let parse2 = backtest::best(runs, s.events, || backtest::parse_only(&s.data, 2))?;
        bt.push((
            "rpl_per_s",
            backtest::best(runs, s.events, || backtest::run(&bt_program, &s.data, 1))?,
        ));
        bt.push((
            "rpl_2_threads_per_s",
            backtest::best(runs, s.events, || backtest::run(&bt_program, &s.data, 2))?,
        ));
        done(t);
        let get = |k: &str| bt.iter().find(|(n, _)| *n == k).map(|(_, v)| *v).unwrap_or(0.0);
        println!("{:<34} {:>14} {:>14}", "", "events/s", "vs parse-only");
        for (label, v) in [
            ("serde_json → typed structs, 1 thread", get("serde_typed_per_s")),
            ("rpl parse-only, 1 thread", get("parse_only_per_s")),
            ("rpl parse-only, 2 threads", parse2),
            ("rpl backtest, 1 thread", get("rpl_per_s")),
            ("rpl backtest, 2 threads", get("rpl_2_threads_per_s")),
        ] {
            println!("{label:<34} {v:>14.0} {:>13.2}×", v / get("parse_only_per_s"));
        }
    }

    if let Some(mb) = peak_rss_mb() {
        println!("\npeak memory (VmHWM): {mb:.0} MB");
    }

    if let Some(out) = &args.out {
        let mut ns = serde_json::Map::new();
        for row in &rows {
            if let Some(key) = row.key {
                ns.insert(key.into(), serde_json::json!(round(row.ns, 1)));
            }
        }
        let mut backtest = serde_json::Map::new();
        for key in [
            "parse_only_per_s",
            "serde_typed_per_s",
            "rpl_per_s",
            "rpl_2_threads_per_s",
        ] {
            if let Some((_, v)) = bt.iter().find(|(k, _)| *k == key) {
                backtest.insert(key.into(), serde_json::json!(v.round() as u64));
            }
        }
        let mut json = serde_json::json!({
            "records": args.records,
            "ns_per_record": ns,
            "backtest": backtest,
        });
        json["scaling"] = serde_json::json!({
            "history": history.iter().map(|r| serde_json::json!({
                "events": r.events,
                "judge_ns": round(r.judge_ns, 0),
                "backtest_ns_per_return": round(r.backtest_ns_per_return, 0),
            })).collect::<Vec<_>>(),
            "rules": rules.iter().map(|r| serde_json::json!({
                "rules": r.rules,
                "judge_ns": round(r.judge_ns, 0),
            })).collect::<Vec<_>>(),
        });
        if let Some(m) = &judged {
            json["judge_jsonl"] = serde_json::json!({
                "cases": m.cases,
                "serde_typed_per_s": m.serde_typed_per_s.round() as u64,
                "rpl_per_s": m.rpl_per_s.round() as u64,
                "rpl_2_threads_per_s": m.rpl_2_threads_per_s.round() as u64,
                "peak_rss_mb": round(m.peak_rss_mb, 1),
            });
        }
        let text = serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?;
        std::fs::write(out, text + "\n").map_err(|e| format!("{out}: {e}"))?;
        println!("\nwrote {out}");
    }
    Ok(())
}

type Rows = Vec<Row>;

fn rpl_rows(
    args: &Args,
    program: &rpl::Program,
    records: &[Record],
    expected: &[Answer],
    reference: &[(Answer, i64)],
    rows: &mut Rows,
) -> Result<(), String> {
    let t = step("rpl: parsing the cases (untimed)");
    let cases = rpl_engine::cases(records)?;
    done(t);
    let t = step("rpl: checking and timing");
    let mut scratch = rpl::Scratch::default();
    check("rpl (decide)", &cases, expected, records, |i, case| {
        let d = program.decide(case, &mut scratch).map_err(|e| e.message)?;
        let (answer, refund) = rpl_engine::decided(&d);
        if !rpl_engine::refund_matches(refund, reference[i].1) {
            return Err(format!(
                "refund {refund} but native says {}",
                records::money(reference[i].1)
            ));
        }
        Ok(answer)
    })?;
    check("rpl (judge)", &cases, expected, records, |i, case| {
        let v = program.judge(case).map_err(|e| e.message)?;
        if !rpl_engine::verdict_refund_matches(&v, reference[i].1) {
            return Err(format!(
                "refund {} but native says {}",
                v.refund,
                records::money(reference[i].1)
            ));
        }
        if !v.errors.is_empty() {
            return Err(format!("evaluation errors: {:?}", v.errors));
        }
        Ok(rpl_engine::verdict(&v))
    })?;
    let ns = time_passes(&cases, args.runs, |case| match program.decide(case, &mut scratch) {
        Ok(d) => rpl_engine::decided(&d).0,
        Err(_) => Answer::default(),
    });
    rows.push(Row {
        engine: "rpl (decide)",
        key: Some("rpl"),
        ns,
        note: "decision-only path; reads RFC 3339 times, does the time zone and the aggregates",
    });
    let ns = time_passes(&cases, args.runs, |case| match program.judge(case) {
        Ok(v) => rpl_engine::verdict(&v),
        Err(_) => Answer::default(),
    });
    rows.push(Row {
        engine: "rpl (judge)",
        key: Some("rpl_full"),
        ns,
        note: "full verdict with reasons",
    });
    done(t);
    Ok(())
}

fn cedar_rows(args: &Args, records: &[Record], expected: &[Answer], rows: &mut Rows) -> Result<(), String> {
    let t = step("cedar: building one request per record (untimed)");
    let cedar = cedar_engine::Cedar::new()?;
    let requests: Vec<(cedar_policy::Request, usize)> = records
        .iter()
        .map(|r| cedar.request(r).map(|q| (q, r.lines.len())))
        .collect::<Result<_, _>>()?;
    done(t);
    let t = step("cedar: checking and timing");
    check("cedar", &requests, expected, records, |_, (q, lines)| {
        let response = cedar.authorize(q);
        if let Some(e) = response.diagnostics().errors().next() {
            return Err(e.to_string());
        }
        Ok(cedar.answer(&response, *lines))
    })?;
    let ns = time_passes(&requests, args.runs, |(q, lines)| {
        cedar.answer(&cedar.authorize(q), *lines)
    });
    rows.push(Row {
        engine: "cedar",
        key: Some("cedar"),
        ns,
        note: "history counts and day numbers precomputed; decision glue in Rust, timed",
    });
    done(t);
    Ok(())
}

fn cel_rows(
    args: &Args,
    precomputed: bool,
    records: &[Record],
    expected: &[Answer],
    rows: &mut Rows,
) -> Result<(), String> {
    let t = step(&format!(
        "cel (precomputed counts: {precomputed}): building the variables (untimed)"
    ));
    let cel = cel_engine::Cel::new(precomputed)?;
    let inputs: Vec<cel_engine::Input> = records
        .iter()
        .map(|r| cel_engine::input(r, precomputed))
        .collect::<Result<_, _>>()?;
    done(t);
    let t = step("cel: checking and timing");
    check("cel", &inputs, expected, records, |_, input| {
        Ok(cel_engine::answer(&cel.eval(input)?))
    })?;
    let ns = time_passes(&inputs, args.runs, |input| match cel.eval(input) {
        Ok(v) => cel_engine::answer(&v),
        Err(_) => Answer::default(),
    });
    rows.push(if precomputed {
        Row {
            engine: "cel (precomputed)",
            key: None,
            ns,
            note: "history counts precomputed too",
        }
    } else {
        Row {
            engine: "cel",
            key: Some("cel"),
            ns,
            note: "aggregates with filter().size(); day numbers precomputed",
        }
    });
    done(t);
    Ok(())
}

fn zen_rows(
    args: &Args,
    precomputed: bool,
    records: &[Record],
    expected: &[Answer],
    rows: &mut Rows,
) -> Result<(), String> {
    let t = step(&format!(
        "zen (precomputed counts: {precomputed}): building the variables (untimed)"
    ));
    let mut zen = zen_engine::Zen::new(precomputed)?;
    let inputs: Vec<zen_expression::variable::Variable> =
        records.iter().map(|r| zen_engine::input(r, precomputed)).collect();
    done(t);
    let t = step("zen: checking and timing");
    check("zen", &inputs, expected, records, |_, input| {
        Ok(zen_engine::answer(&zen.eval(input)?))
    })?;
    let ns = time_passes(&inputs, args.runs, |input| match zen.eval(input) {
        Ok(v) => zen_engine::answer(&v),
        Err(_) => Answer::default(),
    });
    rows.push(if precomputed {
        Row {
            engine: "zen (precomputed)",
            key: None,
            ns,
            note: "history counts precomputed too",
        }
    } else {
        Row {
            engine: "zen",
            key: Some("zen"),
            ns,
            note: "aggregates with count(); day numbers precomputed",
        }
    });
    done(t);
    Ok(())
}

fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn round(x: f64, places: i32) -> f64 {
    let p = 10f64.powi(places);
    (x * p).round() / p
}

/// What the records decide, so a reader sees the rules are exercised.
fn print_mix(expected: &[Answer], records: &[Record]) {
    let n = expected.len() as f64;
    let share = |f: &dyn Fn(&Answer) -> bool| 100.0 * expected.iter().filter(|a| f(a)).count() as f64 / n;
    let two = 100.0 * records.iter().filter(|r| r.lines.len() == 2).count() as f64 / n;
    let hist = records.iter().map(|r| r.returns.len() + r.orders.len()).sum::<usize>() as f64 / n;
    println!(
        "records: approve {:.1}%, deny {:.1}%, review {:.1}%, partial {:.1}% · shipping merchant {:.1}%, insurance {:.1}% · \
         serial_returner {:.1}%, high_refund_rate {:.1}% · two lines {two:.1}% · {hist:.1} history events on average",
        share(&|a| a.decision == native::APPROVE),
        share(&|a| a.decision == native::DENY),
        share(&|a| a.decision == native::REVIEW),
        share(&|a| a.decision == native::PARTIAL),
        share(&|a| a.shipping == native::MERCHANT),
        share(&|a| a.shipping == native::INSURANCE),
        share(&|a| a.flags & 1 != 0),
        share(&|a| a.flags & 2 != 0),
    );
}

fn print_table(rows: &[Row]) {
    let native = rows
        .iter()
        .find(|r| r.key == Some("native"))
        .map(|r| r.ns)
        .unwrap_or(f64::NAN);
    println!(
        "\nevery engine's decision, shipping payer and flags equal native's on every record (rpl's refunds too)\n"
    );
    println!(
        "{:<22} {:>10} {:>14} {:>10}  notes",
        "engine", "ns/record", "records/s", "× native"
    );
    for row in rows {
        println!(
            "{:<22} {:>10.1} {:>14.0} {:>10.1}  {}",
            row.engine,
            row.ns,
            1e9 / row.ns,
            row.ns / native,
            row.note
        );
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("rpl-bench: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rpl-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
