//! `rpl judge POLICY [CASE | -]`: one verdict for a case, or one verdict line
//! per line of JSON Lines; a bad line gets an error object and the rest go on.
//!
//! JSON Lines are streamed: on one thread a line at a time is read, judged
//! and written; on `--threads N` batches of lines are read ahead, judged in
//! chunks by N threads and written in the order read (`judge_lines`). Memory
//! stays flat however long the input (a day of a platform's returns), and the
//! output is the same for any number of threads. A single document
//! (pretty-printed or not) is one case.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};

use serde::Serialize;

use super::{EXIT_INPUT, ErrorFormat, load_policy};
use rpl::limits::MAX_CASE_BYTES;
use rpl::{InputError, Program};

#[derive(clap::Args)]
pub struct Args {
    /// The policy file.
    policy: String,
    /// A case as JSON, or JSON Lines of cases; `-` or nothing reads standard input.
    #[arg(default_value = "-")]
    case: String,
    /// Print each verdict on one line.
    #[arg(long)]
    compact: bool,
    /// Print the verdict for people: each rule and flag that fired, with its values.
    #[arg(long)]
    explain: bool,
    /// How to print policy problems.
    #[arg(long, value_enum, default_value_t)]
    error_format: ErrorFormat,
    /// A platform floor the policy stands on: both judge, the floor's word stands where it speaks.
    #[arg(long, value_name = "FLOOR.rpl")]
    floor: Option<String>,
    /// Judge as of this moment (RFC 3339): reviews due by then that nobody
    /// decided are settled by their policy's timeout, at their due time.
    #[arg(long, value_name = "TIME")]
    now: Option<String>,
    /// Threads judging JSON Lines (the output is the same, in the same order,
    /// for any number); default: every core.
    #[arg(long)]
    threads: Option<usize>,
}

/// Lines judged per batch at most: enough to share among threads, little to hold.
const BATCH_LINES: usize = 2048;
/// Lines a thread takes at a time from a batch.
const CHUNK_LINES: usize = 32;
/// The input's buffer: a batch is what it holds (a thousand cases or so).
const READ_BUFFER: usize = 1 << 20;

/// The policy to judge by, on its floor if it has one.
struct Policies {
    program: Program,
    floor: Option<Program>,
    /// `--now`: the reviews due by then time out.
    now: Option<rpl::Time>,
}

impl Policies {
    fn judge(&self, case: &rpl::Case) -> Result<rpl::Verdict, InputError> {
        match &self.floor {
            Some(floor) => rpl::judge_layered(floor, &self.program, case),
            None => self.program.judge(case),
        }
        .map(|v| self.as_of_now(v))
    }

    fn judge_explained(&self, case: &rpl::Case) -> Result<(rpl::Verdict, rpl::Explanation), InputError> {
        match &self.floor {
            Some(floor) => rpl::judge_layered_explained(floor, &self.program, case),
            None => self.program.judge_explained(case),
        }
        .map(|(v, e)| (self.as_of_now(v), e))
    }

    fn as_of_now(&self, v: rpl::Verdict) -> rpl::Verdict {
        match self.now {
            Some(now) => rpl::time_out_reviews(&v, now).unwrap_or(v),
            None => v,
        }
    }
}

#[derive(Serialize)]
struct LineError<'a> {
    line: u64,
    error: &'a InputError,
}

pub fn run(args: &Args) -> u8 {
    let compiled = match load_policy(&args.policy, args.error_format) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let floor = match args
        .floor
        .as_deref()
        .map(|f| load_policy(f, args.error_format))
        .transpose()
    {
        Ok(f) => f.map(|c| c.program),
        Err(code) => return code,
    };
    if let Some(floor) = &floor
        && let Err(e) = rpl::check_floor_pair(floor, &compiled.program)
    {
        eprintln!("error: {e}");
        return super::EXIT_POLICY;
    }
    let now = match args
        .now
        .as_deref()
        .map(chrono::DateTime::parse_from_rfc3339)
        .transpose()
    {
        Ok(t) => t.map(|t| t.to_utc()),
        Err(e) => {
            eprintln!("error: --now: not an RFC 3339 time with an offset ({e}), e.g. 2026-11-12T09:00:00+08:00");
            return EXIT_INPUT;
        }
    };
    let policies = Policies {
        program: compiled.program,
        floor,
        now,
    };
    let input: Box<dyn Read + Send> = if args.case == "-" {
        Box::new(std::io::stdin())
    } else {
        match std::fs::File::open(&args.case) {
            Ok(f) => Box::new(f),
            Err(e) => {
                eprintln!("error: cannot read {}: {e}", args.case);
                return EXIT_INPUT;
            }
        }
    };
    let mut reader = Lines::new(BufReader::with_capacity(READ_BUFFER, input));
    match judge_input(&policies, &mut reader, args) {
        Ok(code) => code,
        Err(problem) => {
            eprintln!("error: {problem}");
            EXIT_INPUT
        }
    }
}

/// Tells one document from JSON Lines without reading the whole input: JSON
/// Lines begin with a line that is a whole JSON value by itself, followed by
/// another non-blank line. Anything else is one document. An `Err` is the
/// whole message, naming the input.
fn judge_input(program: &Policies, reader: &mut Input, args: &Args) -> Result<u8, String> {
    let file = args.case.as_str();
    let Some((first_no, first)) = reader
        .next_non_blank()
        .map_err(|e| format!("cannot read {file}: {e}"))?
    else {
        return Err(format!("{file}: no case in the input"));
    };
    let first = match first {
        Ok(text) => text,
        // Longer than a case may be, or not UTF-8: as one document, it is refused.
        Err(bad) => return Err(bad.in_document(file, first_no, reader.line_start)),
    };
    let ending = reader.ending;
    let start = reader.line_start;
    if rpl::parse_json(&first).is_ok() {
        let second = reader
            .next_non_blank()
            .map_err(|e| format!("cannot read {file}: {e}"))?;
        if let Some((number, line)) = second {
            let first = (first_no, Ok(first));
            let second = (number, line.map_err(|bad| bad.in_line()));
            return Ok(judge_lines(program, first, Some(second), reader, args));
        }
        return Ok(judge_one(program, &first, args));
    }
    // One document over several lines: the rest of it, within the case limit,
    // after the blank lines before it (so JSON errors name the file's lines).
    let mut text = "\n".repeat((first_no - 1) as usize);
    text.push_str(&first);
    text.push_str(ending);
    let prefix = (first_no - 1) as usize;
    reader
        .rest_into(&mut text)
        .map_err(|problem| problem.in_document(file, &text, start, prefix))?;
    Ok(judge_one(program, &text, args))
}

fn judge_one(program: &Policies, text: &str, args: &Args) -> u8 {
    let value = match rpl::parse_json(text) {
        Ok(value) => value,
        Err(e) => {
            eprintln!("error: {}: {}", args.case, e.message);
            return EXIT_INPUT;
        }
    };
    match judge_value(program, &value, args.explain) {
        Ok(rendered) => {
            let _ = writeln!(std::io::stdout(), "{}", render(rendered, args.compact).trim_end());
            0
        }
        Err(e) => {
            eprintln!("error: {}: {e}", args.case);
            EXIT_INPUT
        }
    }
}

/// A line of JSON Lines, by its number: its text, or why it cannot be a case.
type Line = (u64, Result<String, InputError>);
/// A line as read, before it is known to be part of JSON Lines.
type RawLine = (u64, Result<String, Bad>);

/// A line that cannot be a case whatever it holds.
enum Bad {
    /// Longer than a case may be.
    TooLong,
    /// Not UTF-8 from this byte of the line on; `column` counts the characters before it.
    Utf8 { byte: usize, column: usize },
}

impl Bad {
    /// As the error of one line of JSON Lines.
    fn in_line(self) -> InputError {
        InputError::new(
            "",
            match self {
                Bad::TooLong => format!("the line is more than the {MAX_CASE_BYTES} bytes a case may hold"),
                Bad::Utf8 { byte, column } => {
                    format!("the line is not valid UTF-8 (byte {byte} of the line, column {column})")
                }
            },
        )
    }

    /// As the error of a whole document, whose line `number` starts at byte `start`.
    fn in_document(self, file: &str, number: u64, start: u64) -> String {
        match self {
            Bad::TooLong => format!("{file}: the case is more than the {MAX_CASE_BYTES} bytes a case may hold"),
            Bad::Utf8 { byte, column } => {
                let at = start + byte as u64;
                format!("{file}:{number}:{column}: the file is not valid UTF-8 (byte {at})")
            }
        }
    }
}

/// One line's output: its verdict, or its error object; and whether it was judged.
fn judge_line(program: &Policies, number: u64, line: &Result<String, InputError>, explain: bool) -> (String, bool) {
    let result = match line {
        Ok(text) => judge_text(program, text, explain),
        Err(e) => Err(e.clone()),
    };
    match result {
        Ok(rendered) => (render(rendered, true), true),
        Err(e) => {
            let error = serde_json::to_string(&LineError {
                line: number,
                error: &e,
            })
            .unwrap_or_default();
            (error, false)
        }
    }
}

/// Judges a batch on `threads` threads, which take its chunks in turn, and
/// gives the outputs in the batch's order.
fn judge_batch(program: &Policies, batch: Vec<Line>, threads: usize, explain: bool) -> Vec<(String, bool)> {
    if threads <= 1 || batch.len() < 2 {
        return batch
            .iter()
            .map(|(n, line)| judge_line(program, *n, line, explain))
            .collect();
    }
    // Small chunks, taken in turn by whichever thread is free: none waits
    // long for another at the end of the batch.
    let chunks: Vec<&[Line]> = batch.chunks(CHUNK_LINES).collect();
    let done: Vec<std::sync::OnceLock<Vec<(String, bool)>>> = chunks.iter().map(|_| Default::default()).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let work = || {
        loop {
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let (Some(chunk), Some(slot)) = (chunks.get(i), done.get(i)) else {
                return;
            };
            let _ = slot.set(
                chunk
                    .iter()
                    .map(|(n, line)| judge_line(program, *n, line, explain))
                    .collect(),
            );
        }
    };
    std::thread::scope(|scope| {
        for _ in 1..threads {
            scope.spawn(work);
        }
        work();
    });
    let mut out = Vec::with_capacity(batch.len());
    for (chunk, slot) in chunks.iter().zip(done) {
        match slot.into_inner() {
            Some(results) => out.extend(results),
            // A worker that panicked lost its chunk: each of its lines gets an error, none is dropped.
            None => out.extend(chunk.iter().map(|(line, _)| {
                let e = InputError::new("", "internal error while judging this line's batch");
                (
                    serde_json::to_string(&LineError { line: *line, error: &e }).unwrap_or_default(),
                    false,
                )
            })),
        }
    }
    out
}

/// The input, as `run` opens it.
type Input = Lines<BufReader<Box<dyn Read + Send>>>;

/// How reading a batch ended: more to come, the end, or a read error.
enum End {
    More,
    Done,
    Failed(String),
}

/// The next batch: up to `max` lines, the first waited for, the rest only
/// those already read in (so a client that sends a case and waits is
/// answered), `pending` ones first.
fn read_batch(reader: &mut Input, pending: &mut Vec<Line>, max: usize) -> (Vec<Line>, End) {
    let mut batch: Vec<Line> = Vec::with_capacity(max.min(BATCH_LINES));
    while batch.len() < max && (batch.is_empty() || !pending.is_empty() || reader.has_line()) {
        if !pending.is_empty() {
            batch.push(pending.remove(0));
            continue;
        }
        match reader.next_non_blank() {
            Ok(Some((number, line))) => batch.push((number, line.map_err(Bad::in_line))),
            Ok(None) => return (batch, End::Done),
            Err(e) => return (batch, End::Failed(e)),
        }
    }
    (batch, End::More)
}

/// One verdict line per line of JSON Lines; a bad line gets an error object
/// at its place, and the count of bad lines is told on standard error.
///
/// On one thread, a line at a time: nothing is held. On more, a reader
/// thread reads the next batches and a writer thread writes the verdicts of
/// the last (two at most wait on each side, so memory stays flat), while the
/// judging threads have the current batch.
fn judge_lines(program: &Policies, first: Line, second: Option<Line>, reader: &mut Input, args: &Args) -> u8 {
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let pending: Vec<Line> = [Some(first), second].into_iter().flatten().collect();
    let outcome = if threads == 1 {
        judge_lines_here(program, pending, reader, args)
    } else {
        let input = std::mem::replace(reader, Lines::new(BufReader::new(Box::new(std::io::empty()))));
        judge_lines_threaded(program, pending, input, threads, args)
    };
    let Some((judged, rejected, read_error)) = outcome else {
        return EXIT_INPUT;
    };
    if let Some(e) = read_error {
        eprintln!("error: {}: {e}", args.case);
        return EXIT_INPUT;
    }
    if rejected > 0 {
        let total = judged + rejected;
        eprintln!("{rejected} of {total} lines rejected (their errors are in the output, at their line numbers)");
        return EXIT_INPUT;
    }
    0
}

/// What judging lines came to: lines judged, lines rejected, and the read
/// error that ended the input early; `None` when the output could not be written.
type Outcome = Option<(u64, u64, Option<String>)>;

/// Writes a batch's verdicts, counting them; false when the output fails.
fn write_results(out: &mut impl Write, results: Vec<(String, bool)>, judged: &mut u64, rejected: &mut u64) -> bool {
    for (written, ok) in results {
        if ok {
            *judged += 1;
        } else {
            *rejected += 1;
        }
        if writeln!(out, "{written}").is_err() {
            return false;
        }
    }
    true
}

fn judge_lines_here(program: &Policies, mut pending: Vec<Line>, reader: &mut Input, args: &Args) -> Outcome {
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let (mut judged, mut rejected) = (0u64, 0u64);
    loop {
        let (batch, end) = read_batch(reader, &mut pending, 1);
        if !write_results(
            &mut out,
            judge_batch(program, batch, 1, args.explain),
            &mut judged,
            &mut rejected,
        ) {
            return None;
        }
        match end {
            // The next line is not read in yet: what is written goes out before waiting for it.
            End::More if pending.is_empty() && !reader.has_line() => out.flush().ok()?,
            End::More => {}
            End::Done => break,
            End::Failed(e) => {
                out.flush().ok()?;
                return Some((judged, rejected, Some(e)));
            }
        }
    }
    out.flush().ok()?;
    Some((judged, rejected, None))
}

fn judge_lines_threaded(
    program: &Policies,
    mut pending: Vec<Line>,
    mut input: Input,
    threads: usize,
    args: &Args,
) -> Outcome {
    use std::sync::mpsc::{TryRecvError, sync_channel};
    // Both threads are detached: should writing fail, the process ends with them.
    let (batches, next) = sync_channel::<(Vec<Line>, End)>(2);
    std::thread::spawn(move || {
        loop {
            let (batch, end) = read_batch(&mut input, &mut pending, BATCH_LINES);
            let last = !matches!(end, End::More);
            if batches.send((batch, end)).is_err() || last {
                return;
            }
        }
    });
    let (results, written) = sync_channel::<Vec<(String, bool)>>(2);
    let writer = std::thread::spawn(move || -> Option<(u64, u64)> {
        let stdout = std::io::stdout();
        let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
        let (mut judged, mut rejected) = (0u64, 0u64);
        loop {
            let batch = match written.try_recv() {
                Ok(b) => b,
                Err(TryRecvError::Disconnected) => break,
                // Nothing judged yet: what is written so far goes out before waiting.
                Err(TryRecvError::Empty) => {
                    out.flush().ok()?;
                    match written.recv() {
                        Ok(b) => b,
                        Err(_) => break,
                    }
                }
            };
            if !write_results(&mut out, batch, &mut judged, &mut rejected) {
                return None;
            }
        }
        out.flush().ok()?;
        Some((judged, rejected))
    });
    let mut read_error = None;
    while let Ok((batch, end)) = next.recv() {
        if results
            .send(judge_batch(program, batch, threads, args.explain))
            .is_err()
        {
            break;
        }
        match end {
            End::More => {}
            End::Done => break,
            End::Failed(e) => {
                read_error = Some(e);
                break;
            }
        }
    }
    drop(results);
    let (judged, rejected) = writer.join().ok()??;
    Some((judged, rejected, read_error))
}

/// Lines of the input, each within [`MAX_CASE_BYTES`]: a longer line is an
/// error of its own (and is skipped to its end), never a reason to hold the
/// whole input in memory.
struct Lines<R> {
    reader: R,
    number: u64,
    /// The byte at which the last line read starts.
    line_start: u64,
    /// Bytes read so far.
    offset: u64,
    /// How the last line read ended: `"\n"`, `"\r\n"`, or `""` at the end.
    ending: &'static str,
}

impl<R: Read> Lines<BufReader<R>> {
    /// Whether a whole line is already read in: the next one can be had without waiting.
    fn has_line(&self) -> bool {
        self.reader.buffer().contains(&b'\n')
    }
}

impl<R: BufRead> Lines<R> {
    fn new(reader: R) -> Self {
        Lines {
            reader,
            number: 0,
            line_start: 0,
            offset: 0,
            ending: "",
        }
    }

    /// The next line that is not blank, with its number (from 1); `Err` only
    /// when the input cannot be read at all.
    fn next_non_blank(&mut self) -> Result<Option<RawLine>, String> {
        loop {
            let mut bytes = Vec::new();
            self.line_start = self.offset;
            let (read, whole) = self.read_line(&mut bytes)?;
            if read == 0 {
                return Ok(None);
            }
            self.offset += read as u64;
            self.number += 1;
            if !whole {
                return Ok(Some((self.number, Err(Bad::TooLong))));
            }
            self.ending = "";
            if bytes.last() == Some(&b'\n') {
                bytes.pop();
                self.ending = "\n";
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                    self.ending = "\r\n";
                }
            }
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let text = String::from_utf8(bytes).map_err(|e| {
                let byte = e.utf8_error().valid_up_to();
                let column = String::from_utf8_lossy(&e.as_bytes()[..byte]).chars().count() + 1;
                Bad::Utf8 { byte, column }
            });
            return Ok(Some((self.number, text)));
        }
    }

    /// Reads one line into `bytes`, keeping at most [`MAX_CASE_BYTES`] of it
    /// and skipping the rest; says how many bytes the line had and whether
    /// all of them were kept.
    fn read_line(&mut self, bytes: &mut Vec<u8>) -> Result<(usize, bool), String> {
        let mut total = 0;
        loop {
            let buf = self
                .reader
                .fill_buf()
                .map_err(|e| format!("cannot read the input: {e}"))?;
            if buf.is_empty() {
                return Ok((total, total <= MAX_CASE_BYTES));
            }
            let (chunk, done) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (&buf[..=i], true),
                None => (buf, false),
            };
            let room = (MAX_CASE_BYTES + 2).saturating_sub(bytes.len());
            bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let n = chunk.len();
            total += n;
            self.reader.consume(n);
            if done {
                let content = total - 1 - usize::from(bytes.len() >= 2 && bytes[bytes.len() - 2] == b'\r');
                return Ok((total, content <= MAX_CASE_BYTES));
            }
        }
    }

    /// The rest of the input, appended to `text`, refused past [`MAX_CASE_BYTES`].
    fn rest_into(&mut self, text: &mut String) -> Result<(), Rest> {
        let mut bytes = Vec::new();
        let limit = (MAX_CASE_BYTES + 1).saturating_sub(text.len()) as u64;
        (&mut self.reader)
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| Rest::Read(e.to_string()))?;
        if text.len() + bytes.len() > MAX_CASE_BYTES {
            return Err(Rest::TooLong);
        }
        match String::from_utf8(bytes) {
            Ok(rest) => {
                text.push_str(&rest);
                Ok(())
            }
            Err(e) => {
                let valid = e.utf8_error().valid_up_to();
                text.push_str(&String::from_utf8_lossy(&e.as_bytes()[..valid]));
                Err(Rest::Utf8)
            }
        }
    }
}

/// Why the rest of a document could not be read.
enum Rest {
    Read(String),
    TooLong,
    /// Not UTF-8 just past what was appended to the text.
    Utf8,
}

impl Rest {
    /// The message, for a document whose first line starts at byte `start` of
    /// the file and whose `text` begins with `prefix` blank lines added for it.
    fn in_document(self, file: &str, text: &str, start: u64, prefix: usize) -> String {
        match self {
            Rest::Read(e) => format!("cannot read {file}: {e}"),
            Rest::TooLong => format!("{file}: the case is more than the {MAX_CASE_BYTES} bytes a case may hold"),
            Rest::Utf8 => {
                let (line, column) = rpl::line_col(text, text.len());
                let at = start + (text.len() - prefix) as u64;
                format!("{file}:{line}:{column}: the file is not valid UTF-8 (byte {at})")
            }
        }
    }
}

enum Rendered {
    Plain(rpl::Verdict),
    Explained(rpl::Verdict, rpl::Explanation),
}

fn judge_value(program: &Policies, value: &serde_json::Value, explain: bool) -> Result<Rendered, InputError> {
    judge_case(program, rpl::parse_case_value(value)?, explain)
}

/// A line's case, read by `parse_case` (its typed reader first): the same
/// case, and the same error, as `parse_json` then `parse_case_value`.
fn judge_text(program: &Policies, text: &str, explain: bool) -> Result<Rendered, InputError> {
    judge_case(program, rpl::parse_case(text)?, explain)
}

fn judge_case(program: &Policies, case: rpl::Case, explain: bool) -> Result<Rendered, InputError> {
    Ok(if explain {
        let (v, e) = program.judge_explained(&case)?;
        Rendered::Explained(v, e)
    } else {
        Rendered::Plain(program.judge(&case)?)
    })
}

fn render(r: Rendered, compact: bool) -> String {
    match r {
        Rendered::Explained(v, e) => rpl::render_explanation(&v, &e),
        Rendered::Plain(v) if compact => serde_json::to_string(&v).unwrap_or_default(),
        Rendered::Plain(v) => serde_json::to_string_pretty(&v).unwrap_or_default(),
    }
}
