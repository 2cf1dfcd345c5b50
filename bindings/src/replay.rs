//! Trace replay without the GIL: bytes or a file in, the output lines and the error (if any)
//! out, so the CLI can print what was produced before a bad line.

use std::fs::File;
use std::io::BufReader;

use pyo3::exceptions::PyOSError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

fn finish<'py>(
    py: Python<'py>,
    out: Vec<u8>,
    r: Result<(), acdcore::replay::ReplayError>,
) -> (Bound<'py, PyBytes>, Option<String>) {
    (PyBytes::new(py, &out), r.err().map(|e| e.to_string()))
}

/// Replays a trace given as bytes; returns (output, error message or None).
#[pyfunction]
pub fn replay_bytes<'py>(py: Python<'py>, data: &[u8]) -> (Bound<'py, PyBytes>, Option<String>) {
    let (out, r) = py.detach(|| {
        let mut out = Vec::new();
        let r = acdcore::replay::run(data, &mut out);
        (out, r)
    });
    finish(py, out, r)
}

/// Replays the trace file at `path`; returns (output, error message or None).
#[pyfunction]
pub fn replay_file<'py>(
    py: Python<'py>,
    path: &str,
) -> PyResult<(Bound<'py, PyBytes>, Option<String>)> {
    let file =
        File::open(path).map_err(|e| PyOSError::new_err(format!("cannot open {path:?}: {e}")))?;
    let (out, r) = py.detach(|| {
        let mut out = Vec::new();
        let r = acdcore::replay::run(BufReader::with_capacity(1 << 16, file), &mut out);
        (out, r)
    });
    Ok(finish(py, out, r))
}
