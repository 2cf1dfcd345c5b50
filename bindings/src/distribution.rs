//! `acdcore.Distributor`: percentage-based routing by smooth weighted round-robin.

use std::sync::Mutex;

use pyo3::prelude::*;

use crate::errors::{CoreError, Int};

#[pyclass(name = "Distributor", module = "acdcore._core", frozen)]
pub struct PyDistributor {
    inner: Mutex<acdcore::Distributor>,
}

#[pymethods]
impl PyDistributor {
    /// `targets`: (name, weight) pairs, in tie-break order.
    #[new]
    fn new(targets: Vec<(String, Int<u32>)>) -> PyResult<Self> {
        let targets = targets.into_iter().map(|(t, w)| (t, w.0)).collect();
        let d = acdcore::Distributor::new(targets).map_err(CoreError)?;
        Ok(PyDistributor {
            inner: Mutex::new(d),
        })
    }

    /// The next target.
    fn next(&self) -> String {
        self.inner
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .next_target()
            .to_owned()
    }

    /// The next `n` targets.
    fn next_many(&self, n: Int<u32>) -> Vec<String> {
        let mut d = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        (0..n.0).map(|_| d.next_target().to_owned()).collect()
    }

    fn targets(&self) -> Vec<(String, u32)> {
        let d = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        d.targets().map(|(t, w)| (t.to_owned(), w)).collect()
    }
}
