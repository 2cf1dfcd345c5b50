//! Core errors become specific Python exceptions: an unknown id is a `KeyError`, a bad argument
//! a `ValueError`, a request the current state forbids an `acdcore.StateError`.

use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyError, PyOverflowError, PyValueError};
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

/// An integer argument. Out of its native range it is a `ValueError` naming the value (not
/// PyO3's `OverflowError`), like every other bad value.
pub struct Int<T>(pub T);

impl<'a, 'py, T> FromPyObject<'a, 'py> for Int<T>
where
    T: TryFrom<i128> + std::fmt::Display + Bounded,
{
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let range = || format!("{}..={}", T::MIN, T::MAX);
        let wide: i128 = obj.extract().map_err(|e: PyErr| {
            if e.is_instance_of::<PyOverflowError>(obj.py()) {
                let shown = obj.repr().map(|r| r.to_string()).unwrap_or_default();
                PyValueError::new_err(format!("integer {shown} is out of range ({})", range()))
            } else {
                e
            }
        })?;
        T::try_from(wide).map(Int).map_err(|_| {
            PyValueError::new_err(format!("integer {wide} is out of range ({})", range()))
        })
    }
}

/// The range of an integer type, for messages.
pub trait Bounded {
    const MIN: Self;
    const MAX: Self;
}

macro_rules! bounded {
    ($($t:ty),*) => {$(impl Bounded for $t { const MIN: Self = <$t>::MIN; const MAX: Self = <$t>::MAX; })*};
}
bounded!(u8, u16, u32, u64, i32, i64);
