//! Backtests (docs/language.md §11): replay a JSON Lines stream of customers, orders,
//! order updates and returns, judging each return exactly as `rpl judge` would
//! judge the case built from what the stream had said strictly before the
//! request, and summarise what the policy would have done.
//!
//! Two layers:
//! - the state machine: `events.rs` (and its fast path `typed_line.rs`)
//!   reads a line into an event; `router.rs` checks what needs the whole
//!   stream (time order, which orders exist); `state.rs` applies an event to
//!   the customers it holds, with each aggregate kept as a `window.rs`.
//!   [`Replay`] is that machine for one caller, one event at a time;
//! - the driver (`driver.rs`), which feeds a stream through it on many
//!   threads, byte-identically for any number of them.

mod driver;
mod events;
mod replay;
mod router;
mod state;
mod summary;
mod typed_line;
mod window;

use std::io::{BufRead, Write};

pub use events::Label;
#[cfg(feature = "service")]
pub(crate) use events::{Event, OrderUpdate, UPDATE_TIMES, parse_event, shown};
pub use replay::{Applied, Replay, StreamEvent};
pub use state::Judged;
pub use summary::{Change, Comparison, Count, Invalid, Labels, LifeSummary, Move, PolicySummary, Score, Summary};

use crate::Program;
use crate::data::InputError;

#[cfg(feature = "internals")]
pub use driver::parse_only;

/// What the validating reader says is wrong with an event line, if anything
/// (for the service, which words event errors as a backtest does).
#[cfg(feature = "service")]
pub(crate) fn word_event_error(line: &str) -> Option<InputError> {
    events::parse_event_reference(line).err()
}

/// How a backtest runs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Options {
    /// Workers; results do not depend on it.
    pub threads: usize,
    /// Count, list and skip bad lines instead of stopping at the first.
    pub skip_invalid: bool,
    /// How long an order is remembered for returns and updates that refer to it.
    pub order_retention_days: i64,
    /// Lines read at a time.
    pub chunk_lines: usize,
    /// The verdicts a run reports, in order: `(policy, floor)` as indexes
    /// into the programs, the floor (if any) the policy stands on
    /// (docs/language.md §14). Empty: every program alone, in order.
    pub layers: Vec<(usize, Option<usize>)>,
    /// The stream's last moment, when it is later than this input's own
    /// last event: the reviews due by then that nobody decided time out at
    /// the end (docs/language.md §11.17). A part of a larger stream (one
    /// customer's events, on Spark) is given the whole stream's.
    pub until: Option<crate::data::Time>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            threads: 1,
            skip_invalid: false,
            order_retention_days: 180,
            chunk_lines: 16_384,
            layers: Vec::new(),
            until: None,
        }
    }
}

/// A line that stopped the run (without `--skip-invalid`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}: {error}")]
#[non_exhaustive]
pub struct Stopped {
    /// The line's number, from 1.
    pub line: u64,
    /// What is wrong with it, and where in the line's JSON.
    pub error: InputError,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BacktestError {
    /// A bad line stopped the run.
    #[error(transparent)]
    Stopped(#[from] Stopped),
    /// The stream could not be read.
    #[error("cannot read the stream: {0}")]
    Read(std::io::Error),
    /// The verdicts could not be written.
    #[error("cannot write verdicts: {0}")]
    Write(std::io::Error),
    /// [`case`] was asked for a return the stream does not have.
    #[error("return \"{0}\" is not in the stream")]
    NoSuchReturn(String),
}

/// Progress, reported after each chunk.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Progress {
    /// Lines read so far.
    pub lines: u64,
    /// Bytes read so far.
    pub bytes: u64,
    /// Returns judged so far.
    pub returns: u64,
}

/// Replays `input` against `programs` (the policy, and optionally one to
/// compare it with). Writes one record per return to `out`, as JSON Lines
/// (docs/language.md §11.13): `{"line", "return_id", "order_id",
/// "customer_id", "label", "verdict"}`, and `"compare"` with a second policy.
pub fn run(
    programs: &[&Program],
    input: impl BufRead,
    out: Option<&mut dyn Write>,
    opts: &Options,
    progress: impl FnMut(Progress),
) -> Result<Summary, BacktestError> {
    driver::start(programs, input, out, opts, None, progress).map(|f| f.summary)
}

/// The case the backtest builds for the return `return_id` (its first
/// occurrence), as JSON that `rpl judge` takes and judges as the backtest
/// did. Reads the stream up to that return and no further; lines before it
/// are replayed as [`run`] replays them (a bad one stops it unless
/// `skip_invalid`, and a bad target always does).
pub fn case(
    programs: &[&Program],
    input: impl BufRead,
    return_id: &str,
    opts: &Options,
) -> Result<serde_json::Value, BacktestError> {
    driver::start(programs, input, None, opts, Some(return_id), |_| {})?
        .case
        .ok_or_else(|| BacktestError::NoSuchReturn(return_id.to_string()))
}
