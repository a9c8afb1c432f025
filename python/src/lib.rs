//! Python bindings for rpl: `rpl._rpl`, wrapped by the `rpl` package.
//!
//! A thin layer: Python objects become JSON values at the edge
//! (`convert`), the library compiles, judges and backtests, and its
//! errors become Python exceptions that carry the same diagnostics and
//! JSON paths as the CLI's (`errors`). No meaning lives here.

mod convert;
mod errors;
mod policy;
mod replay;

use pyo3::prelude::*;

/// Rust allocations of the extension (the backtest's workers allocate on
/// one thread and free on another, where glibc's allocator fragments).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[pymodule]
fn _rpl(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add_class::<policy::Policy>()?;
    m.add("PolicyError", py.get_type::<errors::PolicyError>())?;
    m.add("InputError", py.get_type::<errors::InputError>())?;
    m.add_function(wrap_pyfunction!(policy::format, m)?)?;
    m.add_function(wrap_pyfunction!(policy::generate, m)?)?;
    m.add_function(wrap_pyfunction!(replay::backtest, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
