//! rpl's errors as Python exceptions, carrying what the CLI prints: a policy's
//! diagnostics (file, line, column, message, hint, severity, code) and an
//! input's JSON path (and its line in a stream, or its index in a batch).

use pyo3::create_exception;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use crate::convert::loads;

create_exception!(
    rpl,
    PolicyError,
    PyValueError,
    "A policy that does not check. `diagnostics` lists every problem found (errors and warnings, in \
     source order) as dicts with file, line, column, end_line, end_column, severity, code, message \
     and hint; str() is the rustc-style rendering `rpl check` prints."
);

create_exception!(
    rpl,
    InputError,
    PyValueError,
    "Input that breaks the data contract. `path` is the JSON path of the problem (\"\" for the \
     whole input), `message` what is wrong; `line` is the line of an event stream (from 1) and \
     `index` the position of a case in a batch (from 0), when they apply."
);

/// The diagnostics as dicts, read from the library's own JSON rendering.
pub fn diagnostics<'py>(
    py: Python<'py>,
    file: &str,
    source: &str,
    diags: &[rpl::Diagnostic],
) -> PyResult<Bound<'py, PyAny>> {
    let list = pyo3::types::PyList::empty(py);
    for line in rpl::render_diagnostics_json(file, source, diags).lines() {
        list.append(loads(py, line)?)?;
    }
    Ok(list.into_any())
}

pub fn policy_error(py: Python<'_>, file: &str, source: &str, diags: &[rpl::Diagnostic]) -> PyErr {
    let text = rpl::render_diagnostics(file, source, diags);
    let err = PolicyError::new_err(text.trim_end().to_owned());
    let attached = diagnostics(py, file, source, diags).and_then(|d| err.value(py).setattr("diagnostics", d));
    match attached {
        Ok(()) => err,
        Err(e) => e,
    }
}

/// An input error; `line` or `index` say where in a stream or batch.
pub fn input_error(py: Python<'_>, path: &str, message: &str, line: Option<u64>, index: Option<usize>) -> PyErr {
    let mut text = String::new();
    if let Some(line) = line {
        text.push_str(&format!("line {line}: "));
    }
    if let Some(index) = index {
        text.push_str(&format!("case {index}: "));
    }
    if !path.is_empty() {
        text.push_str(path);
        text.push_str(": ");
    }
    text.push_str(message);
    let err = InputError::new_err(text);
    let value = err.value(py);
    let attached = value
        .setattr("path", path)
        .and_then(|()| value.setattr("message", message))
        .and_then(|()| value.setattr("line", line))
        .and_then(|()| value.setattr("index", index));
    match attached {
        Ok(()) => err,
        Err(e) => e,
    }
}
