//! `rpl.Policy`: holds the compiled program; judging converts the case at the
//! edge and hands it to the library, which does all the judging.

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyString};
use serde_json::Value;

use crate::convert::{ConvError, GcPause, loads, to_value};
use crate::errors::{diagnostics, input_error, policy_error};

/// A checked, compiled policy, ready to judge. Immutable and safe to share
/// between threads.
#[pyclass(module = "rpl", name = "Policy", frozen)]
pub struct Policy {
    pub program: rpl::Program,
    warnings: Vec<rpl::Diagnostic>,
    file: String,
}

/// A case as given: text to parse, or a value converted from Python objects.
enum Given {
    Text(String),
    Value(Value),
    Bad(ConvError),
}

fn given(obj: &Bound<'_, PyAny>) -> PyResult<Given> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Given::Text(s.to_cow()?.into_owned()));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return match std::str::from_utf8(b.as_bytes()) {
            Ok(s) => Ok(Given::Text(s.to_owned())),
            Err(e) => Ok(Given::Bad(ConvError {
                path: String::new(),
                message: format!("not valid UTF-8 (byte {})", e.valid_up_to()),
            })),
        };
    }
    if !obj.is_instance_of::<PyDict>() {
        let name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
        return Ok(Given::Bad(ConvError {
            path: String::new(),
            message: format!("a case is a dict or JSON text, found a {name}"),
        }));
    }
    let mut path = String::new();
    Ok(match to_value(obj, &mut path) {
        Ok(v) => Given::Value(v),
        Err(e) => Given::Bad(e),
    })
}

type Judged = Result<(rpl::Verdict, Option<rpl::Explanation>), ConvError>;

fn judge_given(program: &rpl::Program, g: Given, explain: bool) -> Judged {
    // JSON text is read by `parse_case` (its typed reader first); a dict, converted, by the reference.
    let case = match g {
        Given::Text(t) => rpl::parse_case(&t)?,
        Given::Value(v) => rpl::parse_case_value(&v)?,
        Given::Bad(e) => return Err(e),
    };
    if explain {
        let (v, e) = program.judge_explained(&case)?;
        Ok((v, Some(e)))
    } else {
        Ok((program.judge(&case)?, None))
    }
}

/// A verdict with its explanation, as one JSON object.
#[derive(serde::Serialize)]
struct WithExplanation<'a> {
    #[serde(flatten)]
    verdict: &'a rpl::Verdict,
    explanation: &'a rpl::Explanation,
}

/// A batch entry that could not be judged, as `rpl judge` words a bad line.
#[derive(serde::Serialize)]
struct Failed<'a> {
    index: usize,
    error: Problem<'a>,
}

#[derive(serde::Serialize)]
struct Problem<'a> {
    path: &'a str,
    message: &'a str,
}

/// Appends a verdict's JSON (with its explanation, when there is one) to `out`.
fn push_verdict(out: &mut String, verdict: &rpl::Verdict, explanation: Option<&rpl::Explanation>) -> PyResult<()> {
    let json = match explanation {
        Some(explanation) => serde_json::to_string(&WithExplanation { verdict, explanation }),
        None => serde_json::to_string(verdict),
    };
    out.push_str(&json.map_err(|e| PyRuntimeError::new_err(format!("cannot serialize: {e}")))?);
    Ok(())
}

fn verdict_to_py<'py>(
    py: Python<'py>,
    verdict: &rpl::Verdict,
    explanation: Option<&rpl::Explanation>,
) -> PyResult<Bound<'py, PyAny>> {
    let mut text = String::new();
    push_verdict(&mut text, verdict, explanation)?;
    loads(py, &text)
}

impl Policy {
    fn compile(py: Python<'_>, text: &str, file: String) -> PyResult<Policy> {
        match rpl::compile(text) {
            Ok(c) => Ok(Policy {
                program: c.program,
                warnings: c.warnings,
                file,
            }),
            Err(diags) => Err(policy_error(py, &file, text, &diags)),
        }
    }
}

#[pymethods]
impl Policy {
    /// Checks and compiles a policy's text; raises PolicyError with every
    /// diagnostic when it has errors. `file` names it in diagnostics.
    #[new]
    #[pyo3(signature = (text, *, file = None))]
    fn new(py: Python<'_>, text: &str, file: Option<String>) -> PyResult<Policy> {
        if text.len() > rpl::limits::MAX_POLICY_BYTES {
            return Err(PyValueError::new_err(format!(
                "the policy is {} bytes, more than the {} a policy may hold",
                text.len(),
                rpl::limits::MAX_POLICY_BYTES
            )));
        }
        Policy::compile(py, text, file.unwrap_or_else(|| "<policy>".to_owned()))
    }

    /// Reads a policy file (UTF-8) and compiles it; diagnostics name the file.
    #[staticmethod]
    fn from_file(py: Python<'_>, path: std::path::PathBuf) -> PyResult<Policy> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(&path).map_err(|e| PyOSError::new_err(format!("cannot read {shown}: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            let text = String::from_utf8_lossy(&e.as_bytes()[..at]);
            let (line, col) = rpl::line_col(&text, at);
            PyValueError::new_err(format!("{shown}:{line}:{col}: the file is not valid UTF-8 (byte {at})"))
        })?;
        Policy::new(py, &text, Some(shown))
    }

    /// The header's title.
    #[getter]
    fn title(&self) -> &str {
        self.program.title()
    }

    /// The header's version, or None.
    #[getter]
    fn version(&self) -> Option<&str> {
        self.program.version()
    }

    /// The policy's currency (ISO 4217).
    #[getter]
    fn currency(&self) -> &str {
        self.program.currency()
    }

    /// Digits after the decimal point of the currency: refunds are rounded to them.
    #[getter]
    fn minor_units(&self) -> u32 {
        self.program.minor_units()
    }

    /// The policy's timezone: an IANA name or a fixed offset.
    #[getter]
    fn timezone(&self) -> String {
        match self.program.timezone() {
            rpl::PolicyTz::Named(tz) => tz.to_string(),
            rpl::PolicyTz::Fixed(offset) => offset.to_string(),
            other => format!("{other:?}"),
        }
    }

    /// The rules' names, in declaration order.
    #[getter]
    fn rules(&self) -> Vec<String> {
        self.program.rule_names().map(str::to_owned).collect()
    }

    /// The flags' names, in declaration order.
    #[getter]
    fn flags(&self) -> Vec<String> {
        self.program.flag_names().map(str::to_owned).collect()
    }

    /// The policy's text.
    #[getter]
    fn source(&self) -> &str {
        self.program.source()
    }

    /// The name diagnostics give the policy.
    #[getter]
    fn file(&self) -> &str {
        &self.file
    }

    /// The warnings the check raised (the policy works, probably not as
    /// meant), as diagnostic dicts; `rpl check --deny-warnings` fails on them.
    fn check<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        diagnostics(py, &self.file, self.program.source(), &self.warnings)
    }

    /// Judges one case (a dict, or JSON text) and returns the verdict as a
    /// dict, exactly what `rpl judge` prints. `explain=True` adds an
    /// `explanation` key: for each flag, rule and table row that applied,
    /// the values that made it apply. Raises InputError with the JSON path.
    #[pyo3(signature = (case, *, explain = false))]
    fn judge<'py>(&self, py: Python<'py>, case: &Bound<'py, PyAny>, explain: bool) -> PyResult<Bound<'py, PyAny>> {
        match judge_given(&self.program, given(case)?, explain) {
            Ok((v, e)) => verdict_to_py(py, &v, e.as_ref()),
            Err(e) => Err(input_error(py, &e.path, &e.message, None, None)),
        }
    }

    /// The verdict explained for people, as `rpl judge --explain` prints it.
    fn explain(&self, py: Python<'_>, case: &Bound<'_, PyAny>) -> PyResult<String> {
        match judge_given(&self.program, given(case)?, true) {
            Ok((v, Some(e))) => Ok(rpl::render_explanation(&v, &e)),
            Ok((_, None)) => Err(PyRuntimeError::new_err("no explanation")),
            Err(e) => Err(input_error(py, &e.path, &e.message, None, None)),
        }
    }

    /// Judges many cases (dicts or JSON texts, any iterable) and returns
    /// their verdicts in order. The cases are converted first; judging runs
    /// with the GIL released.
    ///
    /// A bad case: with errors="raise" (the default) the first one, by
    /// position, raises InputError with its `index` and JSON `path`, and no
    /// verdict is returned. With errors="return" its place in the list holds
    /// `{"index": i, "error": {"path": …, "message": …}}` (what `rpl judge`
    /// prints for a bad JSON Lines line) and the others are judged.
    #[pyo3(signature = (cases, *, explain = false, errors = "raise"))]
    fn judge_batch<'py>(
        &self,
        py: Python<'py>,
        cases: &Bound<'py, PyAny>,
        explain: bool,
        errors: &str,
    ) -> PyResult<Bound<'py, PyList>> {
        let in_place = match errors {
            "raise" => false,
            "return" => true,
            other => {
                return Err(PyValueError::new_err(format!(
                    "errors must be \"raise\" or \"return\", not {other:?}"
                )));
            }
        };
        if cases.is_instance_of::<PyString>() || cases.is_instance_of::<PyBytes>() || cases.is_instance_of::<PyDict>() {
            return Err(PyValueError::new_err(
                "judge_batch takes an iterable of cases (dicts or JSON texts); for one case use judge()",
            ));
        }
        let mut all = Vec::new();
        for case in cases.try_iter()? {
            all.push(given(&case?)?);
        }
        let program = &self.program;
        let results: Vec<Judged> = py.detach(|| all.into_iter().map(|g| judge_given(program, g, explain)).collect());
        // One JSON array, read by Python's json in one call.
        let mut text = String::from("[");
        for (i, r) in results.iter().enumerate() {
            if i > 0 {
                text.push(',');
            }
            match r {
                Ok((v, e)) => push_verdict(&mut text, v, e.as_ref())?,
                Err(e) if in_place => {
                    let failed = Failed {
                        index: i,
                        error: Problem {
                            path: &e.path,
                            message: &e.message,
                        },
                    };
                    text.push_str(&serde_json::to_string(&failed).map_err(|e| PyRuntimeError::new_err(e.to_string()))?);
                }
                Err(e) => return Err(input_error(py, &e.path, &e.message, None, Some(i))),
            }
        }
        text.push(']');
        let _paused = GcPause::new(py);
        Ok(loads(py, &text)?.cast_into::<PyList>()?)
    }

    fn __repr__(&self) -> String {
        match self.program.version() {
            Some(v) => format!("<rpl.Policy {:?} version {:?}>", self.program.title(), v),
            None => format!("<rpl.Policy {:?}>", self.program.title()),
        }
    }
}

/// Formats a policy in the canonical layout (`rpl fmt`); raises PolicyError
/// when it does not parse.
#[pyfunction]
#[pyo3(signature = (text, *, file = None))]
pub fn format(py: Python<'_>, text: &str, file: Option<String>) -> PyResult<String> {
    rpl::format_policy(text).map_err(|d| policy_error(py, file.as_deref().unwrap_or("<policy>"), text, &d))
}

/// Writes a generated event stream to `path` (`rpl gen`); returns its counts.
#[pyfunction]
// Each argument is one of the Python function's keyword arguments.
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (path, *, customers = 1000, days = 90, seed = 1, abusers = 0.02, currency = "CNY", inspections = false))]
pub fn generate<'py>(
    py: Python<'py>,
    path: std::path::PathBuf,
    customers: usize,
    days: u32,
    seed: u64,
    abusers: f64,
    currency: &str,
    inspections: bool,
) -> PyResult<Bound<'py, PyDict>> {
    let mut opts = rpl::GenOptions::default();
    opts.inspections = inspections;
    opts.customers = customers;
    opts.days = days;
    opts.seed = seed;
    opts.abuser_share = abusers;
    opts.currency = currency.to_owned();
    let stats = py.detach(|| {
        let file = std::fs::File::create(&path)?;
        let mut out = std::io::BufWriter::new(file);
        let stats = rpl::generate(&opts, &mut out)?;
        std::io::Write::flush(&mut out)?;
        Ok::<_, std::io::Error>(stats)
    });
    let stats = stats.map_err(|e| PyOSError::new_err(format!("cannot generate {}: {e}", path.display())))?;
    let d = PyDict::new(py);
    d.set_item("customers", stats.customers)?;
    d.set_item("abusers", stats.abusers)?;
    d.set_item("orders", stats.orders)?;
    d.set_item("returns", stats.returns)?;
    d.set_item("abusive_returns", stats.abusive_returns)?;
    d.set_item("inspections", stats.inspections)?;
    d.set_item("swaps", stats.swaps)?;
    d.set_item("bytes", stats.bytes)?;
    Ok(d)
}
