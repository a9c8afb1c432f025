//! The stream, driven: read in chunks, each into one buffer; each chunk's
//! lines parsed on every worker; the events routed, in order, to the worker
//! that owns their customer (customers never share history); the outcomes
//! merged back in line order — so the output is byte-identical whatever the
//! thread count. Workers live for the whole run, each with its shard; while
//! they replay one chunk, the next is read and queued for them to parse.
//!
//! What each event does is the state machine's (`state.rs`, `router.rs`):
//! this file only moves events and outcomes between threads.

use std::io::{BufRead, Write};
use std::ops::Range;
use std::sync::{Arc, mpsc};

use serde_json::Value;

use super::events::{Event, parse_event};
use super::router::Router;
use super::state::{Judged, LifeKind, Plan, Shard};
use super::summary::{Invalid, Summary};
use super::{BacktestError, Options, Progress, Stopped};
use crate::Program;
use crate::data::InputError;

/// What one line came to, once its worker is done with it.
pub(super) enum Outcome {
    /// A customer, order or order update, applied.
    Done(Kind),
    Judged(Box<Judged>),
    /// An event of a return's life: its verdicts after it.
    Life(Box<Judged>, LifeKind),
    /// A bad line; `target` when it is the return `--case` asks for.
    Invalid(InputError, bool),
}

/// The events the summary counts as they are applied.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    /// A review decision or inspection of a return with nothing left to decide.
    Settled,
    Customer,
    Order,
    OrderUpdate,
}

/// What a run came to.
pub(super) struct Finished {
    pub summary: Summary,
    /// The case `--case` asked for, once its return was reached.
    pub case: Option<Value>,
}

/// Lines read at a time, in one buffer: no allocation per line.
struct Chunk {
    text: String,
    /// Each line that is not blank: its number in the stream and its place
    /// in `text`, without the line ending.
    lines: Vec<(u64, Range<usize>)>,
    /// Lines and bytes read up to the end of this chunk, for progress.
    end_line: u64,
    end_bytes: u64,
}

impl Chunk {
    fn line(&self, i: usize) -> &str {
        self.lines
            .get(i)
            .and_then(|(_, at)| self.text.get(at.clone()))
            .unwrap_or_default()
    }
}

/// Splits the stream into lines exactly as `BufRead::lines` does (`\n` or
/// `\r\n` ends one; invalid UTF-8 is a read error, at the line it is on).
struct Reader<R> {
    input: R,
    line_no: u64,
    bytes: u64,
    /// The size of the last chunk's text, to allocate the next at once.
    size_hint: usize,
}

impl<R: BufRead> Reader<R> {
    fn new(input: R) -> Self {
        Reader {
            input,
            line_no: 0,
            bytes: 0,
            size_hint: 0,
        }
    }

    /// Up to `max` lines that are not blank; none at the end of the stream.
    fn chunk(&mut self, max: usize) -> std::io::Result<Chunk> {
        // The last chunk's size, or a guess of 512 bytes a line for the first.
        let guess = if self.size_hint > 0 {
            self.size_hint
        } else {
            max.min(1 << 15) * 512
        };
        let mut text = String::with_capacity(guess);
        let mut lines = Vec::with_capacity(max.min(1 << 16));
        while lines.len() < max {
            let start = text.len();
            if self.input.read_line(&mut text)? == 0 {
                break;
            }
            let mut end = text.len();
            if text[start..end].ends_with('\n') {
                end -= 1;
                if text[start..end].ends_with('\r') {
                    end -= 1;
                }
            }
            self.line_no += 1;
            self.bytes += (end - start) as u64 + 1;
            if text[start..end].trim().is_empty() {
                text.truncate(start);
            } else {
                lines.push((self.line_no, start..end));
            }
        }
        self.size_hint = self.size_hint.max(text.len());
        Ok(Chunk {
            text,
            lines,
            end_line: self.line_no,
            end_bytes: self.bytes,
        })
    }
}

/// A worker's errand, and its answer. Each worker owns one shard for the
/// whole run, so its customers' state and its allocator's heap stay with it.
enum Job {
    Parse(Arc<Chunk>, Range<usize>),
    /// Events by their index in the chunk, with their line numbers.
    Replay(Vec<(usize, u64, Event)>),
    /// The stream's end: reviews due by then time out.
    Finish(crate::data::Time),
}

enum Reply {
    Parsed(Vec<Result<Event, InputError>>),
    Replayed(Vec<(usize, Outcome)>),
    Finished(Vec<(u64, Judged)>),
}

/// Parses lines and replays shards: inline on one thread, or on workers.
/// `parse` and `replay` start work; `parsed` and `replayed` wait for it,
/// so the caller can read ahead in between.
enum Engine<'a> {
    Inline {
        shard: Box<Shard>,
        chunk: Option<Arc<Chunk>>,
        work: Vec<(usize, u64, Event)>,
        plan: &'a Plan,
        programs: &'a [&'a Program],
    },
    Workers(Vec<(mpsc::Sender<Job>, mpsc::Receiver<Reply>)>),
}

/// A worker gave no answer: it panicked (the scope re-raises that) or left.
fn lost() -> BacktestError {
    BacktestError::Read(std::io::Error::other("a backtest worker stopped"))
}

impl Engine<'_> {
    fn parse(&mut self, chunk: Arc<Chunk>) -> Result<(), BacktestError> {
        match self {
            Engine::Inline { chunk: slot, .. } => *slot = Some(chunk),
            Engine::Workers(workers) => {
                let per = chunk.lines.len().div_ceil(workers.len());
                for (k, (jobs, _)) in workers.iter().enumerate() {
                    let range = (k * per).min(chunk.lines.len())..((k + 1) * per).min(chunk.lines.len());
                    jobs.send(Job::Parse(chunk.clone(), range)).map_err(|_| lost())?;
                }
            }
        }
        Ok(())
    }

    /// The events of the chunk given to `parse`, in line order.
    fn parsed(&mut self) -> Result<Vec<Result<Event, InputError>>, BacktestError> {
        match self {
            Engine::Inline { chunk, .. } => Ok(chunk
                .take()
                .map(|c| (0..c.lines.len()).map(|i| parse_event(c.line(i))).collect())
                .unwrap_or_default()),
            Engine::Workers(workers) => {
                let mut all = Vec::new();
                for (_, replies) in workers.iter() {
                    match replies.recv() {
                        Ok(Reply::Parsed(part)) => all.extend(part),
                        _ => return Err(lost()),
                    }
                }
                Ok(all)
            }
        }
    }

    /// `work[s]` goes to shard `s`.
    fn replay(&mut self, work: Vec<Vec<(usize, u64, Event)>>) -> Result<(), BacktestError> {
        match self {
            Engine::Inline { work: slot, .. } => *slot = work.into_iter().flatten().collect(),
            Engine::Workers(workers) => {
                for ((jobs, _), items) in workers.iter().zip(work) {
                    jobs.send(Job::Replay(items)).map_err(|_| lost())?;
                }
            }
        }
        Ok(())
    }

    fn replayed(&mut self) -> Result<Vec<(usize, Outcome)>, BacktestError> {
        match self {
            Engine::Inline {
                shard,
                work,
                plan,
                programs,
                ..
            } => Ok(std::mem::take(work)
                .into_iter()
                .map(|(i, line, e)| (i, handle(shard, e, line, plan, programs)))
                .collect()),
            Engine::Workers(workers) => {
                let mut all = Vec::new();
                for (_, replies) in workers.iter() {
                    match replies.recv() {
                        Ok(Reply::Replayed(part)) => all.extend(part),
                        _ => return Err(lost()),
                    }
                }
                Ok(all)
            }
        }
    }

    /// The timeouts due by `through` on every shard, in the order of the
    /// returns' requests.
    fn finish(&mut self, through: crate::data::Time) -> Result<Vec<(u64, Judged)>, BacktestError> {
        let mut all = match self {
            Engine::Inline { shard, .. } => shard.finish(through),
            Engine::Workers(workers) => {
                for (jobs, _) in workers.iter() {
                    jobs.send(Job::Finish(through)).map_err(|_| lost())?;
                }
                let mut all = Vec::new();
                for (_, replies) in workers.iter() {
                    match replies.recv() {
                        Ok(Reply::Finished(part)) => all.extend(part),
                        _ => return Err(lost()),
                    }
                }
                all
            }
        };
        all.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.return_id.cmp(&b.1.return_id)));
        Ok(all)
    }
}

/// One worker: parses and replays what it is sent, in order, until the
/// sender hangs up.
fn work(jobs: mpsc::Receiver<Job>, replies: mpsc::Sender<Reply>, retention: i64, plan: &Plan, programs: &[&Program]) {
    let mut shard = Shard::new(retention);
    for job in jobs {
        let reply = match job {
            Job::Parse(chunk, range) => Reply::Parsed(range.map(|i| parse_event(chunk.line(i))).collect()),
            Job::Replay(items) => Reply::Replayed(
                items
                    .into_iter()
                    .map(|(i, line, e)| (i, handle(&mut shard, e, line, plan, programs)))
                    .collect(),
            ),
            Job::Finish(through) => Reply::Finished(shard.finish(through)),
        };
        if replies.send(reply).is_err() {
            return;
        }
    }
}

/// Replays `input` against `programs` (the policy, and optionally one to
/// compare it with), writing one record per return to `out`, and stopping
/// at the return `capture` names, if any, with its case.
pub(super) fn start(
    programs: &[&Program],
    input: impl BufRead,
    out: Option<&mut dyn Write>,
    opts: &Options,
    capture: Option<&str>,
    progress: impl FnMut(Progress),
) -> Result<Finished, BacktestError> {
    let threads = opts.threads.max(1);
    let plan = Plan::new(programs, capture, &opts.layers);
    let retention = opts.order_retention_days.saturating_mul(86_400);
    if threads == 1 {
        let engine = Engine::Inline {
            shard: Box::new(Shard::new(retention)),
            chunk: None,
            work: Vec::new(),
            plan: &plan,
            programs,
        };
        return drive(engine, &plan, programs, input, out, opts, progress);
    }
    let plan = &plan;
    std::thread::scope(|scope| {
        let workers = (0..threads)
            .map(|_| {
                let (jobs, inbox) = mpsc::channel();
                let (outbox, replies) = mpsc::channel();
                scope.spawn(move || work(inbox, outbox, retention, plan, programs));
                (jobs, replies)
            })
            .collect();
        // Returning drops the senders, which lets the workers finish.
        drive(Engine::Workers(workers), plan, programs, input, out, opts, progress)
    })
}

/// Whether a bad line is the return `--case` asks for.
fn is_target(plan: &Plan, event: &Event) -> bool {
    matches!((plan.capture(), event), (Some(id), Event::Return(r)) if r.id() == id)
}

/// The run itself: read a chunk, parse it on every worker, route its events
/// in line order, replay them on the shards (reading the next chunk
/// meanwhile), and merge the outcomes in line order.
fn drive(
    mut engine: Engine<'_>,
    plan: &Plan,
    programs: &[&Program],
    input: impl BufRead,
    mut out: Option<&mut dyn Write>,
    opts: &Options,
    mut progress: impl FnMut(Progress),
) -> Result<Finished, BacktestError> {
    let shards = match &engine {
        Engine::Inline { .. } => 1,
        Engine::Workers(w) => w.len(),
    };
    let mut router = Router::new(opts.order_retention_days.saturating_mul(86_400), shards);
    let mut summary = Summary::new(&plan.reported(programs));
    (summary.incremental_aggregates, summary.rescanned_aggregates) = plan.counts();
    let chunk_lines = opts.chunk_lines.max(1);
    let mut reader = Reader::new(input);
    let mut chunk = Arc::new(reader.chunk(chunk_lines).map_err(BacktestError::Read)?);
    if !chunk.lines.is_empty() {
        engine.parse(chunk.clone())?;
    }
    while !chunk.lines.is_empty() {
        // Route in order.
        let parsed = engine.parsed()?;
        let mut outcomes: Vec<Option<Outcome>> = (0..chunk.lines.len()).map(|_| None).collect();
        let mut work: Vec<Vec<(usize, u64, Event)>> = (0..shards).map(|_| Vec::new()).collect();
        for (i, result) in parsed.into_iter().enumerate() {
            let routed = match result {
                Ok(event) => match router.route(&event) {
                    Ok(shard) => Ok((shard, event)),
                    Err(e) => Err((e, is_target(plan, &event))),
                },
                Err(e) => Err((e, false)),
            };
            match routed {
                Ok((shard, event)) => {
                    if let Some(w) = work.get_mut(shard) {
                        w.push((i, chunk.lines[i].0, event));
                    }
                }
                Err((reason, target)) => {
                    if let Some(o) = outcomes.get_mut(i) {
                        *o = Some(Outcome::Invalid(reason, target));
                    }
                }
            }
        }
        // Each worker replays its customers while the next chunk is read
        // and handed out for parsing. A read error waits its turn: the
        // lines before it are merged first, as if read one after the other.
        engine.replay(work)?;
        let next = reader.chunk(chunk_lines).map(Arc::new);
        if let Ok(next) = &next
            && !next.lines.is_empty()
        {
            // Parsed after the replay, in each worker's queue.
            engine.parse(next.clone())?;
        }
        for (i, outcome) in engine.replayed()? {
            if let Some(o) = outcomes.get_mut(i) {
                *o = Some(outcome);
            }
        }
        // Merge in line order.
        for ((line, _), outcome) in chunk.lines.iter().zip(outcomes) {
            match outcome {
                Some(Outcome::Judged(mut judged)) => {
                    if let Some(case) = judged.case.take() {
                        summary.lines = *line;
                        return Ok(Finished {
                            summary,
                            case: Some(case),
                        });
                    }
                    if let Some(w) = out.as_deref_mut() {
                        let record = judged.record(*line);
                        writeln!(w, "{record}").map_err(BacktestError::Write)?;
                    }
                    summary.cancelled_order_returns += u64::from(judged.on_cancelled_order);
                    summary.add(*line, &judged.verdicts, judged.label);
                    summary.add_restrictions(judged.delta.restrictions);
                }
                Some(Outcome::Life(judged, kind)) => {
                    if let Some(w) = out.as_deref_mut() {
                        let record = judged.record(*line);
                        writeln!(w, "{record}").map_err(BacktestError::Write)?;
                    }
                    summary.add_life(kind, &judged.delta);
                }
                Some(Outcome::Invalid(error, target)) => {
                    if !opts.skip_invalid || target {
                        return Err(Stopped { line: *line, error }.into());
                    }
                    summary.invalid.push(Invalid {
                        line: *line,
                        reason: error.to_string(),
                    });
                }
                Some(Outcome::Done(kind)) => match kind {
                    Kind::Customer => summary.customers += 1,
                    Kind::Order => summary.orders += 1,
                    Kind::OrderUpdate => summary.order_updates += 1,
                    Kind::Settled => summary.add_settled(),
                },
                None => {}
            }
        }
        summary.lines = chunk.end_line;
        progress(Progress {
            lines: chunk.end_line,
            bytes: chunk.end_bytes,
            returns: summary.returns,
        });
        chunk = next.map_err(BacktestError::Read)?;
    }
    summary.lines = reader.line_no;
    // Reviews nobody decided, due by the stream's last moment, time out.
    if let Some(through) = router.last_time().max(opts.until) {
        for (line, judged) in engine.finish(through)? {
            if let Some(w) = out.as_deref_mut() {
                let record = judged.record(line);
                writeln!(w, "{record}").map_err(BacktestError::Write)?;
            }
            summary.add_life(LifeKind::Timeout, &judged.delta);
        }
    }
    summary.finish();
    Ok(Finished { summary, case: None })
}

/// Parses every line of a stream as a backtest would, on `threads` threads,
/// and does nothing else: the floor a backtest's throughput is measured against.
/// Returns the number of events.
#[cfg(feature = "internals")]
pub fn parse_only(input: impl BufRead, threads: usize, chunk_lines: usize) -> Result<u64, BacktestError> {
    let mut reader = Reader::new(input);
    let mut events = 0u64;
    loop {
        let chunk = reader.chunk(chunk_lines.max(1)).map_err(BacktestError::Read)?;
        if chunk.lines.is_empty() {
            return Ok(events);
        }
        let indices: Vec<usize> = (0..chunk.lines.len()).collect();
        let parsed = parallel_map(&indices, threads.max(1), |&i| parse_event(chunk.line(i)).is_ok());
        events += parsed.into_iter().filter(|ok| *ok).count() as u64;
    }
}

/// What an event does to a shard.
pub(super) fn handle(shard: &mut Shard, event: Event, line: u64, plan: &Plan, programs: &[&Program]) -> Outcome {
    let result = match event {
        Event::Customer(c, line) => {
            shard.customer(*c, line, plan);
            Ok(Outcome::Done(Kind::Customer))
        }
        Event::Order(o) => shard.order(*o, plan, programs).map(|()| Outcome::Done(Kind::Order)),
        Event::OrderUpdate(u) => shard.update(&u).map(|()| Outcome::Done(Kind::OrderUpdate)),
        Event::Return(r) => match shard.ret(&r, line, plan, programs) {
            Ok(judged) => Ok(Outcome::Judged(Box::new(judged))),
            Err(e) => return Outcome::Invalid(e, plan.capture() == Some(r.id())),
        },
        Event::ReviewDecision(d) => shard.review(&d, plan, programs).map(|j| match j {
            Some(j) => Outcome::Life(Box::new(j), LifeKind::ReviewDecision),
            None => Outcome::Done(Kind::Settled),
        }),
        Event::Inspection(i) => shard.inspection(&i, plan, programs).map(|j| match j {
            Some(j) => Outcome::Life(Box::new(j), LifeKind::Inspection),
            None => Outcome::Done(Kind::Settled),
        }),
    };
    result.unwrap_or_else(|e| Outcome::Invalid(e, false))
}

/// `f` over `items` on `threads` threads, results in order.
#[cfg(feature = "internals")]
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
