//! `rpl.backtest`'s core: feeds a stream (a file, or Python objects pulled
//! one at a time) to the library's backtest with the GIL released, and turns
//! the verdicts it writes into columns.
//!
//! The library writes one JSON line per judged return. Today that line is
//! the bare verdict of the first policy; the data-contract issue makes it a
//! record `{"line", "return_id", "customer_id", "label", "verdict", "compare"}`.
//! Both are read. A bare verdict does not say which line it judged or whose
//! return it was, so the feed notes, for each line it hands over, the few
//! keys that say so (`event`, `id`, `order_id`, `customer_id`, `label`):
//! the k-th verdict is the k-th return the library did not skip, and its
//! `return_id` is checked against that line's `id` — a mismatch is an
//! error, never a silently mislabelled row. The verdicts, the history and
//! every check are the library's; the notes only label rows.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyIterator, PyList, PyString};
use serde::Deserialize;
use serde_json::Value;

use crate::convert::{ConvError, GcPause, to_py, to_py_ordered, to_value};
use crate::errors::input_error;
use crate::policy::Policy;

pub enum Source {
    File(BufReader<File>),
    Iter(Py<PyIterator>),
}

/// The keys of an event line that say what it is and whose.
#[derive(Deserialize, Default)]
struct Keys {
    event: Option<String>,
    id: Option<String>,
    customer_id: Option<String>,
    order_id: Option<String>,
    label: Option<String>,
    status: Option<Value>,
}

/// A return line as the feed saw it.
struct Seen {
    line: u64,
    id: Option<String>,
    order_id: Option<String>,
    label: Option<String>,
}

enum Failure {
    Input { line: u64, path: String, message: String },
    Python(PyErr),
}

/// The stream as the library reads it: one line at a time, noted on the way.
struct Feed {
    source: Source,
    buf: Vec<u8>,
    pos: usize,
    line: u64,
    done: bool,
    returns: Vec<Seen>,
    /// Order id -> customer id, for rows of bare verdicts.
    owners: HashMap<String, String>,
    /// Statuses to write into return lines that have none, by line (see `pin` in `backtest`).
    pin: Option<HashMap<u64, String>>,
    failure: Option<Failure>,
}

fn stop(message: &str) -> io::Error {
    io::Error::other(message.to_owned())
}

impl Feed {
    /// The next line's text, without its line ending; None at the end.
    fn next_text(&mut self) -> io::Result<Option<String>> {
        let line = self.line + 1;
        match &mut self.source {
            Source::File(reader) => {
                let mut raw = Vec::new();
                if reader.read_until(b'\n', &mut raw)? == 0 {
                    return Ok(None);
                }
                if raw.last() == Some(&b'\n') {
                    raw.pop();
                    if raw.last() == Some(&b'\r') {
                        raw.pop();
                    }
                }
                match String::from_utf8(raw) {
                    Ok(text) => Ok(Some(text)),
                    Err(e) => {
                        self.failure = Some(Failure::Input {
                            line,
                            path: String::new(),
                            message: format!("not valid UTF-8 (byte {} of the line)", e.utf8_error().valid_up_to()),
                        });
                        Err(stop("invalid UTF-8"))
                    }
                }
            }
            Source::Iter(iter) => Python::attach(|py| {
                let mut iter = iter.bind(py).clone();
                let item = match iter.next() {
                    None => return Ok(None),
                    Some(Err(e)) => {
                        self.failure = Some(Failure::Python(e));
                        return Err(stop("the events raised"));
                    }
                    Some(Ok(item)) => item,
                };
                if let Ok(s) = item.cast::<PyString>() {
                    let text = s.to_cow().map_err(|e| {
                        let msg = e.to_string();
                        self.failure = Some(Failure::Python(e));
                        stop(&msg)
                    })?;
                    if text.contains(['\n', '\r']) {
                        self.failure = Some(Failure::Input {
                            line,
                            path: String::new(),
                            message: "an event given as text must be one line of JSON".into(),
                        });
                        return Err(stop("multi-line text"));
                    }
                    return Ok(Some(text.into_owned()));
                }
                let mut path = String::new();
                match to_value(&item, &mut path) {
                    Ok(v) => Ok(Some(v.to_string())),
                    Err(ConvError { path, message }) => {
                        self.failure = Some(Failure::Input { line, path, message });
                        Err(stop("cannot convert"))
                    }
                }
            }),
        }
    }

    fn advance(&mut self) -> io::Result<()> {
        let Some(mut text) = self.next_text()? else {
            self.done = true;
            return Ok(());
        };
        self.line += 1;
        let keys: Keys = serde_json::from_str(&text).unwrap_or_default();
        match keys.event.as_deref() {
            Some("order") => {
                if let (Some(id), Some(customer)) = (keys.id, keys.customer_id) {
                    self.owners.entry(id).or_insert(customer);
                }
            }
            Some("return") => {
                let unset = matches!(keys.status, None | Some(Value::Null));
                if let Some(status) = self.pin.as_ref().and_then(|p| p.get(&self.line))
                    && unset
                    && let Ok(Value::Object(mut map)) = serde_json::from_str::<Value>(&text)
                {
                    map.insert("status".into(), Value::String(status.clone()));
                    text = Value::Object(map).to_string();
                }
                self.returns.push(Seen {
                    line: self.line,
                    id: keys.id,
                    order_id: keys.order_id,
                    label: keys.label,
                });
            }
            _ => {}
        }
        self.buf = text.into_bytes();
        self.buf.push(b'\n');
        self.pos = 0;
        Ok(())
    }
}

impl Read for Feed {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for Feed {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.buf.len() && !self.done {
            self.advance()?;
        }
        if self.done {
            return Ok(&[]);
        }
        Ok(&self.buf[self.pos..])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.buf.len());
    }
}

/// The verdict lines the library writes, parsed as they come.
#[derive(Default)]
struct Collect {
    partial: Vec<u8>,
    rows: Vec<Value>,
}

impl Write for Collect {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.partial.extend_from_slice(data);
        while let Some(end) = self.partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.partial.drain(..=end).collect();
            let value: Value = serde_json::from_slice(&line[..end]).map_err(io::Error::other)?;
            self.rows.push(value);
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One verdict's columns.
struct Cols<'py> {
    decision: Bound<'py, PyList>,
    refund: Bound<'py, PyList>,
    shipping: Bound<'py, PyList>,
    risk: Bound<'py, PyList>,
    flags: Bound<'py, PyList>,
    rules: Bound<'py, PyList>,
    errors: Bound<'py, PyList>,
    /// Where the return's life left it: `request`, `review` or `inspection`.
    stage: Bound<'py, PyList>,
    /// The decision and refund as the stream left them (after reviews,
    /// their timeouts and inspections); the request's when nothing followed.
    final_decision: Bound<'py, PyList>,
    final_refund: Bound<'py, PyList>,
}

impl<'py> Cols<'py> {
    fn new(py: Python<'py>) -> Cols<'py> {
        Cols {
            decision: PyList::empty(py),
            refund: PyList::empty(py),
            shipping: PyList::empty(py),
            risk: PyList::empty(py),
            flags: PyList::empty(py),
            rules: PyList::empty(py),
            errors: PyList::empty(py),
            stage: PyList::empty(py),
            final_decision: PyList::empty(py),
            final_refund: PyList::empty(py),
        }
    }

    /// A later verdict of the return in row `row` (docs/language.md §11.17):
    /// its stage, decision and refund are where the return now stands.
    fn settle(&self, py: Python<'py>, row: usize, v: &Value) -> PyResult<()> {
        let field = |k: &str| {
            v.get(k)
                .ok_or_else(|| PyRuntimeError::new_err(format!("a verdict without `{k}`: {v}")))
        };
        self.stage.set_item(row, stage_of(v))?;
        self.final_decision.set_item(row, to_py(py, field("decision")?)?)?;
        self.final_refund.set_item(row, to_py(py, field("refund")?)?)?;
        Ok(())
    }

    fn push(&self, py: Python<'py>, v: &Value, rule_order: &HashMap<&str, usize>) -> PyResult<()> {
        let field = |k: &str| {
            v.get(k)
                .ok_or_else(|| PyRuntimeError::new_err(format!("a verdict without `{k}`: {v}")))
        };
        self.decision.append(to_py(py, field("decision")?)?)?;
        self.refund.append(to_py(py, field("refund")?)?)?;
        self.shipping.append(to_py(py, field("shipping")?)?)?;
        self.risk.append(to_py(py, field("risk")?)?)?;
        let flags: Vec<&str> = field("flags")?
            .as_array()
            .map(|a| a.iter().filter_map(|f| f.get("name").and_then(Value::as_str)).collect())
            .unwrap_or_default();
        self.flags.append(flags)?;
        let mut rules: Vec<&str> = field("lines")?
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.get("rules").and_then(Value::as_array))
            .flatten()
            .filter_map(|r| r.get("rule").and_then(Value::as_str))
            .collect::<HashSet<&str>>()
            .into_iter()
            .collect();
        rules.sort_by_key(|r| rule_order.get(r).copied().unwrap_or(usize::MAX));
        self.rules.append(rules)?;
        self.errors.append(field("errors")?.as_array().map_or(0, Vec::len))?;
        self.stage.append(stage_of(v))?;
        self.final_decision.append(to_py(py, field("decision")?)?)?;
        self.final_refund.append(to_py(py, field("refund")?)?)?;
        Ok(())
    }

    fn into_dict(self, d: &Bound<'py, PyDict>, prefix: &str) -> PyResult<()> {
        d.set_item(format!("{prefix}decision"), self.decision)?;
        d.set_item(format!("{prefix}refund"), self.refund)?;
        d.set_item(format!("{prefix}shipping"), self.shipping)?;
        d.set_item(format!("{prefix}risk"), self.risk)?;
        d.set_item(format!("{prefix}flags"), self.flags)?;
        d.set_item(format!("{prefix}rules"), self.rules)?;
        d.set_item(format!("{prefix}errors"), self.errors)?;
        d.set_item(format!("{prefix}stage"), self.stage)?;
        d.set_item(format!("{prefix}final_decision"), self.final_decision)?;
        d.set_item(format!("{prefix}final_refund"), self.final_refund)?;
        Ok(())
    }
}

/// A verdict's stage: absent at the request.
fn stage_of(v: &Value) -> &str {
    v.get("stage").and_then(Value::as_str).unwrap_or("request")
}

/// Replays `events` (a path, or an iterator of event dicts or JSON lines)
/// against `policies` (the policy, and optionally one to compare), and
/// returns `(summary, columns, compared)`: the library's summary as a dict,
/// one list per column with a row per judged return, and whether the
/// columns include the second policy's verdicts (`compare_*`).
///
/// `pin` maps a return's line to the status its history entry takes when
/// the line gives none: how the second policy's verdicts are replayed
/// alone exactly as they are beside the first (whose verdicts otherwise
/// decide those statuses), while the library writes only the first's.
#[pyfunction]
// Each argument is one of the Python function's keyword arguments.
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (policies, events, *, threads = 1, skip_invalid = false, order_retention_days = 180, pin = None, until = None))]
pub fn backtest<'py>(
    py: Python<'py>,
    policies: Vec<Py<Policy>>,
    events: &Bound<'py, PyAny>,
    threads: usize,
    skip_invalid: bool,
    order_retention_days: i64,
    pin: Option<HashMap<u64, String>>,
    until: Option<String>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyDict>, bool)> {
    let source = if let Ok(path) = events.extract::<std::path::PathBuf>() {
        let file = File::open(&path).map_err(|e| PyOSError::new_err(format!("cannot read {}: {e}", path.display())))?;
        Source::File(BufReader::with_capacity(1 << 20, file))
    } else {
        Source::Iter(events.try_iter()?.unbind())
    };
    let mut feed = Feed {
        source,
        buf: Vec::new(),
        pos: 0,
        line: 0,
        done: false,
        returns: Vec::new(),
        owners: HashMap::new(),
        pin,
        failure: None,
    };
    let mut opts = rpl::BacktestOptions::default();
    opts.threads = threads.max(1);
    opts.skip_invalid = skip_invalid;
    opts.order_retention_days = order_retention_days;
    if let Some(text) = until {
        let at = chrono::DateTime::parse_from_rfc3339(&text)
            .map_err(|e| PyValueError::new_err(format!("until: {text:?} is not an RFC 3339 time ({e})")))?;
        opts.until = Some(at.with_timezone(&chrono::Utc));
    }
    let mut collect = Collect::default();
    let result = {
        let programs: Vec<&rpl::Program> = policies.iter().map(|p| &p.get().program).collect();
        let (feed, collect) = (&mut feed, &mut collect);
        py.detach(move || {
            let out: &mut dyn Write = collect;
            rpl::backtest(&programs, feed, Some(out), &opts, |_| {})
        })
    };
    let summary = match result {
        Ok(s) => s,
        Err(e) => {
            return Err(match (e, feed.failure.take()) {
                (_, Some(Failure::Python(e))) => e,
                (_, Some(Failure::Input { line, path, message })) => input_error(py, &path, &message, Some(line), None),
                (rpl::BacktestError::Stopped(s), None) => {
                    input_error(py, &s.error.path, &s.error.message, Some(s.line), None)
                }
                (e, None) => PyRuntimeError::new_err(e.to_string()),
            });
        }
    };
    let skipped: HashSet<u64> = summary.invalid.iter().map(|i| i.line).collect();
    let rule_order = |p: usize| -> HashMap<&str, usize> {
        policies
            .get(p)
            .map(|p| p.get().program.rule_names().enumerate().map(|(i, r)| (r, i)).collect())
            .unwrap_or_default()
    };
    let (first_rules, second_rules) = (rule_order(0), rule_order(1));

    let _paused = GcPause::new(py);
    let line_col = PyList::empty(py);
    let return_id = PyList::empty(py);
    let customer_id = PyList::empty(py);
    let order_id = PyList::empty(py);
    let label = PyList::empty(py);
    let first = Cols::new(py);
    let second = Cols::new(py);
    let mut compared = false;
    let mut seen = feed.returns.iter().filter(|s| !skipped.contains(&s.line)).peekable();
    // Each return's row, by id: a return's later records (its review
    // decisions, inspections and timeouts, §11.17) settle its final columns.
    let mut rows_of: HashMap<String, usize> = HashMap::new();
    for row in &collect.rows {
        // The record form names its line; the bare verdict is the next return not skipped.
        let (verdict, record_line) = match row.get("verdict") {
            Some(v) => (v, row.get("line").and_then(Value::as_u64)),
            None => (row, None),
        };
        let id = verdict.get("return_id").and_then(Value::as_str);
        let first_record = match (record_line, seen.peek()) {
            (Some(l), Some(next)) => l >= next.line && !id.is_some_and(|id| rows_of.contains_key(id)),
            (Some(_), None) => false,
            (None, _) => true,
        };
        if !first_record {
            let Some(&at) = id.and_then(|id| rows_of.get(id)) else {
                return Err(PyRuntimeError::new_err(format!(
                    "a record of line {record_line:?} for return {id:?} follows no judged return"
                )));
            };
            first.settle(py, at, verdict)?;
            if let Some(other) = row.get("compare").filter(|c| c.get("decision").is_some()) {
                second.settle(py, at, other)?;
            }
            continue;
        }
        let s = match record_line {
            Some(l) => seen.find(|s| s.line == l),
            None => seen.next(),
        };
        let Some(s) = s.filter(|s| s.id.as_deref() == id) else {
            return Err(PyRuntimeError::new_err(format!(
                "a verdict for return {id:?} does not match the returns read from the stream"
            )));
        };
        if let Some(id) = id {
            rows_of.insert(id.to_owned(), line_col.len());
        }
        line_col.append(s.line)?;
        return_id.append(id)?;
        let customer = match row.get("customer_id").and_then(Value::as_str) {
            Some(c) => Some(c.to_owned()),
            None => s.order_id.as_ref().and_then(|o| feed.owners.get(o)).cloned(),
        };
        let Some(customer) = customer else {
            return Err(PyRuntimeError::new_err(format!(
                "the customer of return {id:?} (line {}) is not known",
                s.line
            )));
        };
        customer_id.append(customer)?;
        order_id.append(&s.order_id)?;
        label.append(match row.get("label") {
            Some(l) => to_py(py, l)?,
            None => s.label.clone().into_pyobject(py)?.into_any(),
        })?;
        first.push(py, verdict, &first_rules)?;
        if let Some(other) = row.get("compare").filter(|c| c.get("decision").is_some()) {
            compared = true;
            second.push(py, other, &second_rules)?;
        }
    }
    if compared && second.decision.len() != first.decision.len() {
        return Err(PyRuntimeError::new_err(
            "some verdict records lack the compared verdict",
        ));
    }
    let columns = PyDict::new(py);
    columns.set_item("line", line_col)?;
    columns.set_item("return_id", return_id)?;
    columns.set_item("customer_id", customer_id)?;
    columns.set_item("order_id", order_id)?;
    columns.set_item("label", label)?;
    first.into_dict(&columns, "")?;
    if compared {
        second.into_dict(&columns, "compare_")?;
    }
    Ok((to_py_ordered(py, &summary)?, columns, compared))
}
