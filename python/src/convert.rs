//! Python objects <-> JSON values, at the edge: everything past here is the
//! library's. Money stays exact both ways: `str`, `int` and `decimal.Decimal`
//! go in as their exact decimal text; a float that is not a whole number is
//! refused (its binary value is not the decimal the user meant); numbers come
//! back as `int` or `decimal.Decimal`, never `float`.

use std::str::FromStr as _;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBool, PyDict, PyFloat, PyInt, PyList, PyModule, PyString, PyTuple, PyType};
use serde_json::{Map, Number, Value};

/// What cannot be sent as JSON, and where: a JSON path in the library's syntax.
#[derive(Debug)]
pub struct ConvError {
    pub path: String,
    pub message: String,
}

impl From<rpl::InputError> for ConvError {
    fn from(e: rpl::InputError) -> ConvError {
        ConvError {
            path: e.path,
            message: e.message,
        }
    }
}

static DECIMAL: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATETIME: PyOnceLock<Py<PyType>> = PyOnceLock::new();
static DATE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

fn cached_type<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    module: &str,
    name: &str,
) -> PyResult<&'py Bound<'py, PyType>> {
    cell.get_or_try_init(py, || {
        py.import(module)?
            .getattr(name)?
            .cast_into::<PyType>()
            .map(Bound::unbind)
            .map_err(PyErr::from)
    })
    .map(|t| t.bind(py))
}

/// The largest integer every float below it represents exactly.
const EXACT_FLOAT_INT: f64 = 9_007_199_254_740_992.0;

fn fail(path: &str, message: impl Into<String>) -> ConvError {
    ConvError {
        path: path.to_owned(),
        message: message.into(),
    }
}

fn read_err(path: &str, e: PyErr) -> ConvError {
    fail(path, format!("cannot be read: {e}"))
}

fn number(text: &str, path: &str) -> Result<Value, ConvError> {
    Number::from_str(text)
        .map(Value::Number)
        .map_err(|_| fail(path, format!("{text} is not a JSON number")))
}

/// A Python object as a JSON value. `path` is where it sits (`""` at the root).
pub fn to_value(obj: &Bound<'_, PyAny>, path: &mut String) -> Result<Value, ConvError> {
    to_value_at(obj, path, 0)
}

fn to_value_at(obj: &Bound<'_, PyAny>, path: &mut String, depth: usize) -> Result<Value, ConvError> {
    if depth > rpl::limits::MAX_JSON_DEPTH {
        return Err(fail(
            path,
            format!(
                "nested more than {} levels deep (or it contains itself)",
                rpl::limits::MAX_JSON_DEPTH
            ),
        ));
    }
    let py = obj.py();
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_cow().map_err(|e| read_err(path, e))?.into_owned()));
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::Number(v.into()));
        }
        let text = i.str().map_err(|e| read_err(path, e))?;
        return number(&text.to_cow().map_err(|e| read_err(path, e))?, path);
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        if v.is_finite() && v.fract() == 0.0 && v.abs() <= EXACT_FLOAT_INT {
            // A whole float is exact (pandas turns integer columns with gaps into floats).
            return Ok(Value::Number((v as i64).into()));
        }
        let shown = f.repr().map(|r| r.to_string()).unwrap_or_else(|_| v.to_string());
        return Err(fail(
            path,
            format!(
                "{shown} is a float, which cannot hold most decimal amounts exactly: \
                 pass money and other decimals as str or decimal.Decimal (\"19.99\")"
            ),
        ));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        let mark = path.len();
        for (k, v) in d.iter() {
            let Ok(key) = k.cast::<PyString>() else {
                let shown = k.repr().map(|r| r.to_string()).unwrap_or_default();
                return Err(fail(path, format!("a key must be a str, found {shown}")));
            };
            let key = key.to_cow().map_err(|e| read_err(path, e))?;
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key);
            let value = to_value_at(&v, path, depth + 1)?;
            path.truncate(mark);
            map.insert(key.into_owned(), value);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>() || obj.is_instance_of::<PyTuple>() {
        let mut items = Vec::new();
        let mark = path.len();
        for (i, item) in obj.try_iter().map_err(|e| read_err(path, e))?.enumerate() {
            let item = item.map_err(|e| read_err(path, e))?;
            path.push_str(&format!("[{i}]"));
            items.push(to_value_at(&item, path, depth + 1)?);
            path.truncate(mark);
        }
        return Ok(Value::Array(items));
    }
    if obj
        .is_instance(cached_type(py, &DECIMAL, "decimal", "Decimal").map_err(|e| read_err(path, e))?)
        .map_err(|e| read_err(path, e))?
    {
        let finite: bool = obj
            .call_method0("is_finite")
            .and_then(|b| b.extract())
            .map_err(|e| read_err(path, e))?;
        if !finite {
            return Err(fail(path, format!("{obj} is not a finite amount")));
        }
        // Plain notation, never an exponent: Decimal("1E+2") is "100".
        let text: String = obj
            .call_method1("__format__", ("f",))
            .and_then(|t| t.extract())
            .map_err(|e| read_err(path, e))?;
        return number(&text, path);
    }
    if obj
        .is_instance(cached_type(py, &DATETIME, "datetime", "datetime").map_err(|e| read_err(path, e))?)
        .map_err(|e| read_err(path, e))?
    {
        if obj.call_method0("utcoffset").map_err(|e| read_err(path, e))?.is_none() {
            return Err(fail(
                path,
                format!("{obj} has no offset: give the datetime a tzinfo (or pass an RFC 3339 str)"),
            ));
        }
        let text: String = obj
            .call_method0("isoformat")
            .and_then(|t| t.extract())
            .map_err(|e| read_err(path, e))?;
        return Ok(Value::String(text));
    }
    if obj
        .is_instance(cached_type(py, &DATE, "datetime", "date").map_err(|e| read_err(path, e))?)
        .map_err(|e| read_err(path, e))?
    {
        return Err(fail(
            path,
            format!("{obj} is a date: times are RFC 3339 with an offset (a datetime with tzinfo, or a str)"),
        ));
    }
    // numpy and other integer-likes (`__index__`), and numpy's bool_.
    let type_name = obj.get_type().name().map(|n| n.to_string()).unwrap_or_default();
    if type_name == "bool_" || type_name == "bool" {
        return Ok(Value::Bool(obj.is_truthy().map_err(|e| read_err(path, e))?));
    }
    if let Ok(index) = obj.call_method0("__index__")
        && let Ok(i) = index.cast::<PyInt>()
    {
        return to_value_at(i.as_any(), path, depth);
    }
    Err(fail(
        path,
        format!("a {type_name} cannot be sent as JSON (use dict, list, str, int, bool, None or decimal.Decimal)"),
    ))
}

static DECIMAL_FROM: PyOnceLock<Py<PyAny>> = PyOnceLock::new();
static LOADS: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Python's cyclic collector, paused while many result objects are made.
///
/// Building a hundred thousand verdict dicts triggers collection after
/// collection, each walking every young object, and doubles the time of a
/// batch; these objects form no cycles. The GIL is held throughout, so no
/// other Python code runs while the collector is off.
pub struct GcPause<'py> {
    gc: Option<Bound<'py, PyModule>>,
}

impl<'py> GcPause<'py> {
    pub fn new(py: Python<'py>) -> GcPause<'py> {
        let gc = py.import("gc").ok().filter(|gc| {
            gc.call_method0("isenabled")
                .and_then(|b| b.extract::<bool>())
                .unwrap_or(false)
                && gc.call_method0("disable").is_ok()
        });
        GcPause { gc }
    }
}

impl Drop for GcPause<'_> {
    fn drop(&mut self) {
        if let Some(gc) = &self.gc {
            let _ = gc.call_method0("enable");
        }
    }
}

/// JSON text as Python objects, keys in the order the text gives them (a
/// verdict's fields in the order `rpl judge` prints them); numbers that are
/// not whole become `decimal.Decimal`.
pub fn loads<'py>(py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyAny>> {
    let loads = LOADS.get_or_try_init(py, || {
        let decimal = py.import("decimal")?.getattr("Decimal")?;
        let functools = py.import("functools")?;
        let json_loads = py.import("json")?.getattr("loads")?;
        let kwargs = PyDict::new(py);
        kwargs.set_item("parse_float", decimal)?;
        functools
            .getattr("partial")?
            .call((json_loads,), Some(&kwargs))
            .map(Bound::unbind)
    })?;
    loads.bind(py).call1((text,))
}

/// A serializable value (a verdict, a summary) as Python objects, its
/// fields in declaration order.
pub fn to_py_ordered<'py>(py: Python<'py>, v: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    let text = serde_json::to_string(v)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot serialize: {e}")))?;
    loads(py, &text)
}

/// A JSON value as Python: objects are dicts, arrays lists, whole numbers
/// `int`, other numbers `decimal.Decimal`.
pub fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                let text = n.as_str();
                if text.bytes().all(|b| b.is_ascii_digit() || b == b'-') {
                    py.get_type::<PyInt>().call1((text,))?
                } else {
                    let decimal = DECIMAL_FROM
                        .get_or_try_init(py, || py.import("decimal")?.getattr("Decimal").map(Bound::unbind))?;
                    decimal.bind(py).call1((text,))?
                }
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, item) in map {
                dict.set_item(k, to_py(py, item)?)?;
            }
            dict.into_any()
        }
    })
}
