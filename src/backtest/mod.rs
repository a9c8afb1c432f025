//! Backtests (SPEC §11): replay a JSON Lines stream of customers, orders and
//! returns, judging each return exactly as `rpl judge` would judge the case
//! built from the stream so far, and summarise what the policy would have done.
//!
//! The stream is read in chunks. Each chunk's lines are parsed on every core;
//! the events are then routed, in order, to the worker that owns their
//! customer (customers never share history), and the results are merged back
//! in line order — so the output is byte-identical whatever the thread count.

mod events;
mod state;
mod summary;

use std::collections::VecDeque;

use rustc_hash::FxHashMap as HashMap;
use std::io::{BufRead, Write};

pub use events::Label;
pub use summary::{Change, Comparison, Count, Invalid, Labels, Move, PolicySummary, Score, Summary};

use crate::Program;
use crate::data::Time;
use events::{Event, parse_event};
use state::{Plan, Shard};

/// How a backtest runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Workers; results do not depend on it.
    pub threads: usize,
    /// Count, list and skip bad lines instead of stopping at the first.
    pub skip_invalid: bool,
    /// How long an order is remembered for returns that refer to it.
    pub order_retention_days: i64,
    /// Lines read at a time.
    pub chunk_lines: usize,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threads: 1,
            skip_invalid: false,
            order_retention_days: 180,
            chunk_lines: 16_384,
        }
    }
}

/// A line that stopped the run (without `--skip-invalid`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct Stopped {
    pub line: u64,
    pub reason: String,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum BacktestError {
    #[error(transparent)]
    Stopped(#[from] Stopped),
    #[error("cannot read the stream: {0}")]
    Read(std::io::Error),
    #[error("cannot write verdicts: {0}")]
    Write(std::io::Error),
}

/// Progress, reported after each chunk.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub lines: u64,
    pub bytes: u64,
    pub returns: u64,
}

/// What one line came to, once its worker is done with it.
enum Outcome {
    Done,
    Judged(Vec<crate::eval::Verdict>, Option<Label>),
    Invalid(String),
}

/// Routes events to workers and checks what needs the whole stream: time
/// order, and which orders exist.
struct Router {
    last: Option<Time>,
    orders: HashMap<String, usize>,
    by_time: VecDeque<(Time, String)>,
    retention: i64,
    shards: usize,
}

impl Router {
    fn shard_of(&self, customer: &str) -> usize {
        // FNV-1a: stable across runs and platforms, so sharding is too.
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in customer.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        (h % self.shards as u64) as usize
    }

    fn route(&mut self, event: &Event) -> Result<usize, String> {
        if let Some(at) = event.at() {
            if let Some(last) = self.last
                && at < last
            {
                return Err(format!(
                    "time goes backwards: {} comes after {}",
                    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                    last.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
                ));
            }
            self.last = Some(at);
            self.forget_before(at);
        }
        match event {
            Event::Customer(c) => Ok(self.shard_of(&c.id)),
            Event::Order(o, _) => {
                if self.orders.contains_key(&o.id) {
                    return Err(format!("id: order \"{}\" appears twice", o.id));
                }
                let shard = self.shard_of(&o.customer_id);
                self.orders.insert(o.id.clone(), shard);
                self.by_time.push_back((o.placed_at, o.id.clone()));
                Ok(shard)
            }
            Event::Return(r) => self.orders.get(&r.order_id).copied().ok_or_else(|| {
                format!(
                    "order_id: order \"{}\" is unknown (never seen earlier in the stream, or placed more than {} days before)",
                    r.order_id,
                    self.retention / 86_400
                )
            }),
        }
    }

    fn forget_before(&mut self, now: Time) {
        let Some(cutoff) = chrono::Duration::try_seconds(self.retention).and_then(|r| now.checked_sub_signed(r)) else {
            return;
        };
        while self.by_time.front().is_some_and(|(t, _)| *t < cutoff) {
            if let Some((_, id)) = self.by_time.pop_front() {
                self.orders.remove(&id);
            }
        }
    }
}

/// Replays `input` against `programs` (the policy, and optionally one to
/// compare it with). Writes one verdict per return (by the first policy) to
/// `out` as JSON Lines.
pub fn run(
    programs: &[&Program],
    input: impl BufRead,
    mut out: Option<&mut dyn Write>,
    opts: &Options,
    mut progress: impl FnMut(Progress),
) -> Result<Summary, BacktestError> {
    let threads = opts.threads.max(1);
    let plan = Plan::new(programs);
    let retention = opts.order_retention_days.saturating_mul(86_400);
    let mut shards: Vec<Shard> = (0..threads).map(|_| Shard::new(retention)).collect();
    let mut router = Router {
        last: None,
        orders: HashMap::default(),
        by_time: VecDeque::new(),
        retention,
        shards: threads,
    };
    let mut summary = Summary::new(programs);
    (summary.incremental_aggregates, summary.rescanned_aggregates) = plan.counts();
    let mut bytes = 0u64;
    let mut lines = input.lines();
    let mut line_no = 0u64;
    loop {
        // Read a chunk.
        let mut chunk: Vec<(u64, String)> = Vec::with_capacity(opts.chunk_lines);
        for line in lines.by_ref() {
            let line = line.map_err(BacktestError::Read)?;
            line_no += 1;
            bytes += line.len() as u64 + 1;
            if !line.trim().is_empty() {
                chunk.push((line_no, line));
            }
            if chunk.len() == opts.chunk_lines {
                break;
            }
        }
        if chunk.is_empty() {
            break;
        }
        // Parse on every core.
        let parsed = parallel_map(&chunk, threads, |(_, text)| parse_event(text));
        // Route in order.
        let mut outcomes: Vec<Option<Outcome>> = (0..chunk.len()).map(|_| None).collect();
        let mut work: Vec<Vec<(usize, Event)>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, result) in parsed.into_iter().enumerate() {
            match result.and_then(|event| router.route(&event).map(|shard| (shard, event))) {
                Ok((shard, event)) => {
                    match &event {
                        Event::Customer(_) => summary.customers += 1,
                        Event::Order(..) => summary.orders += 1,
                        Event::Return(_) => {}
                    }
                    work[shard].push((i, event));
                }
                Err(reason) => outcomes[i] = Some(Outcome::Invalid(reason)),
            }
        }
        // Each worker replays its customers.
        let results = run_shards(&mut shards, work, &plan, programs);
        for (i, outcome) in results.into_iter().flatten() {
            outcomes[i] = Some(outcome);
        }
        // Merge in line order.
        for ((line, _), outcome) in chunk.iter().zip(outcomes) {
            match outcome {
                Some(Outcome::Judged(verdicts, label)) => {
                    if let (Some(w), Some(v)) = (out.as_deref_mut(), verdicts.first()) {
                        let json = serde_json::to_string(v).map_err(|e| BacktestError::Write(e.into()))?;
                        writeln!(w, "{json}").map_err(BacktestError::Write)?;
                    }
                    summary.add(*line, &verdicts, label);
                }
                Some(Outcome::Invalid(reason)) => {
                    if !opts.skip_invalid {
                        return Err(Stopped { line: *line, reason }.into());
                    }
                    summary.invalid.push(Invalid { line: *line, reason });
                }
                Some(Outcome::Done) | None => {}
            }
        }
        summary.lines = line_no;
        progress(Progress {
            lines: line_no,
            bytes,
            returns: summary.returns,
        });
    }
    summary.lines = line_no;
    summary.finish();
    Ok(summary)
}

/// Parses every line of a stream as a backtest would, on `threads` threads,
/// and does nothing else: the floor a backtest's throughput is measured against.
/// Returns the number of events.
pub fn parse_only(input: impl BufRead, threads: usize, chunk_lines: usize) -> Result<u64, BacktestError> {
    let mut lines = input.lines();
    let mut events = 0u64;
    loop {
        let chunk: Vec<String> = lines
            .by_ref()
            .take(chunk_lines.max(1))
            .collect::<Result<_, _>>()
            .map_err(BacktestError::Read)?;
        if chunk.is_empty() {
            return Ok(events);
        }
        let parsed = parallel_map(&chunk, threads.max(1), |line| parse_event(line).is_ok());
        events += parsed.into_iter().filter(|ok| *ok).count() as u64;
    }
}

fn handle(shard: &mut Shard, event: Event, plan: &Plan, programs: &[&Program]) -> Outcome {
    let result = match event {
        Event::Customer(c) => {
            shard.customer(*c, plan);
            Ok(Outcome::Done)
        }
        Event::Order(o, raw) => shard.order(*o, raw, plan, programs).map(|()| Outcome::Done),
        Event::Return(r) => shard
            .ret(&r, plan, programs)
            .map(|j| Outcome::Judged(j.verdicts, r.label)),
    };
    result.unwrap_or_else(Outcome::Invalid)
}

fn run_shards(
    shards: &mut [Shard],
    work: Vec<Vec<(usize, Event)>>,
    plan: &Plan,
    programs: &[&Program],
) -> Vec<Vec<(usize, Outcome)>> {
    let replay = |shard: &mut Shard, items: Vec<(usize, Event)>| {
        items
            .into_iter()
            .map(|(i, e)| (i, handle(shard, e, plan, programs)))
            .collect::<Vec<_>>()
    };
    if shards.len() == 1 {
        return shards.iter_mut().zip(work).map(|(s, w)| replay(s, w)).collect();
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = shards
            .iter_mut()
            .zip(work)
            .map(|(shard, items)| scope.spawn(move || replay(shard, items)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}

/// `f` over `items` on `threads` threads, results in order.
fn parallel_map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    if threads == 1 || items.len() < 64 {
        return items.iter().map(&f).collect();
    }
    let per = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(per)
            .map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    })
}
