//! Core errors become specific Python exceptions: an unknown id is a `KeyError`, a bad argument
//! a `ValueError`, a request the current state forbids an `acdcore.StateError`.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyError, PyValueError};
use pyo3::prelude::*;

create_exception!(
    acdcore,
    StateError,
    PyException,
    "The request is valid but the engine's current state forbids it (e.g. logging in an agent that is logged in)."
);

pub struct CoreError(pub acdcore::Error);

impl From<acdcore::Error> for CoreError {
    fn from(e: acdcore::Error) -> Self {
        CoreError(e)
    }
}

impl From<CoreError> for PyErr {
    fn from(e: CoreError) -> PyErr {
        let msg = e.0.to_string();
        match e.0 {
            acdcore::Error::Unknown { .. } => PyKeyError::new_err(msg),
            acdcore::Error::Invalid(_) => PyValueError::new_err(msg),
            acdcore::Error::State(_) => StateError::new_err(msg),
        }
    }
}

pub type CoreResult<T> = Result<T, CoreError>;
